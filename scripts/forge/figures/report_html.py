"""Pages of the Snakemake report: tables as sortable, searchable HTML, and the run's overview.

Snakemake's report shows an HTML result in a frame and every other table as a download link only.
Each page written here is one self-contained file (inline style and script, no network, no
external library), so it opens the same inside the report, from the report's zip, or on its own.
The script is small on purpose: a click on a column header sorts by it (numbers as numbers), the
search box keeps the rows that contain the text, and a button downloads the table as the TSV the
workflow wrote. (A DataTables-based package such as itables embeds ~600 kB of script in every
table; with one "who benefits" table per pair that is tens of MB at paper scale.)

The same table gives the same bytes: nothing here writes a date or a random id.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

from forge.modelling.pairs import Pair

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 13px; margin: 12px; color: #1c2833; }
h1 { font-size: 17px; margin: 0 0 6px 0; }
h2 { font-size: 15px; margin: 18px 0 6px 0; }
p.note { max-width: 70em; margin: 0 0 8px 0; color: #34495e; }
.controls { display: flex; gap: 10px; align-items: center; margin: 6px 0; }
.controls input { font-size: 13px; padding: 3px 6px; width: 22em; }
.controls button { font-size: 12px; padding: 3px 8px; }
.count { color: #566573; }
.scroll { max-height: 78vh; overflow: auto; border: 1px solid #d5d8dc; }
table.forge-table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.forge-table th, table.forge-table td { padding: 3px 8px; border-bottom: 1px solid #eaeded; white-space: nowrap; }
table.forge-table th { position: sticky; top: 0; background: #f4f6f7; cursor: pointer; text-align: left;
  border-bottom: 1px solid #aab7b8; user-select: none; }
table.forge-table th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: 9px; }
table.forge-table th[aria-sort="descending"]::after { content: " \\25BC"; font-size: 9px; }
table.forge-table td.num { text-align: right; }
table.forge-table tr:hover td { background: #fbeee6; }
pre.text { white-space: pre-wrap; max-width: 80em; font-size: 12.5px; line-height: 1.45; }
"""

# Sorting, search and download of every table on the page (no library; see the module docstring).
_SCRIPT = """
(function () {
  function cellKey(cell) {
    var v = cell.getAttribute("data-sort");
    return v === null ? cell.textContent : v;
  }
  function sortBy(table, column, th) {
    var body = table.tBodies[0];
    var descending = th.getAttribute("aria-sort") === "ascending";
    var numeric = th.getAttribute("data-type") === "number";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a.cells[column]), y = cellKey(b.cells[column]);
      if (x === "" || y === "") { return x === y ? 0 : (x === "" ? 1 : -1); }  // empty cells last
      var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, undefined, {numeric: true});
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }
  function filter(table, text, counter) {
    var needle = text.trim().toLowerCase(), shown = 0, rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var keep = needle === "" || rows[i].textContent.toLowerCase().indexOf(needle) >= 0;
      rows[i].style.display = keep ? "" : "none";
      if (keep) { shown++; }
    }
    counter.textContent = shown + " of " + rows.length + " rows";
  }
  function download(block) {
    var text = document.getElementById(block.getAttribute("data-tsv")).textContent;
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], {type: "text/tab-separated-values"}));
    link.download = block.getAttribute("data-file");
    document.body.appendChild(link);
    link.click();
    link.remove();
  }
  Array.prototype.forEach.call(document.querySelectorAll("div.forge-block"), function (block) {
    var table = block.querySelector("table.forge-table");
    var counter = block.querySelector(".count");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.addEventListener("click", function () { sortBy(table, column, th); });
    });
    block.querySelector("input").addEventListener("input", function (event) {
      filter(table, event.target.value, counter);
    });
    block.querySelector("button").addEventListener("click", function () { download(block); });
    filter(table, "", counter);
  });
})();
"""


def format_cell(value: object) -> tuple[str, str | None]:
    """Display text and numeric sort key of one cell: numbers with 4 significant digits (small
    P-values in scientific notation), missing values empty (sorted last)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "", ""
    if isinstance(value, bool):
        return str(value), None
    if isinstance(value, int):
        return str(value), repr(value)
    if isinstance(value, float):
        if math.isinf(value):
            return ("inf" if value > 0 else "-inf"), ("1e308" if value > 0 else "-1e308")
        text = f"{value:.3g}" if value != 0 and abs(value) < 1e-3 else f"{value:.4g}"
        return text, repr(value)
    return str(value), None


def _column_is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def table_block(table: pd.DataFrame, block_id: str, tsv_name: str, tsv_text: str) -> str:
    """One table with its search box, row count and TSV download, as an HTML fragment."""
    numeric = {c: _column_is_numeric(table[c]) for c in table.columns}
    head = "".join(f'<th data-type="{"number" if numeric[c] else "text"}" title="sort by {html.escape(str(c))}">'
                   f"{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for values in table.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(table.columns, values):
            text, key = format_cell(value.item() if hasattr(value, "item") else value)
            if numeric[column]:
                cells.append(f'<td class="num" data-sort="{key}">{html.escape(text)}</td>')
            else:
                cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    # the TSV inside a non-executed script block; "</" is escaped so no cell can close it
    tsv = tsv_text.replace("</", "<\\/")
    return (f'<div class="forge-block" data-tsv="{block_id}-tsv" data-file="{html.escape(tsv_name)}">\n'
            f'<div class="controls"><input type="search" placeholder="search rows" aria-label="search rows">'
            f'<span class="count"></span><button type="button">download {html.escape(tsv_name)}</button></div>\n'
            f'<div class="scroll"><table class="forge-table" id="{block_id}"><thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>\n"
            f'<script type="text/tab-separated-values" id="{block_id}-tsv">{tsv}</script>\n</div>')


def page(title: str, body: str) -> str:
    """A self-contained HTML page (inline style and script)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n{body}\n<script>{_SCRIPT}</script>\n</body>\n</html>\n")


def table_page(tsv_path: str | Path, title: str, note: str = "") -> str:
    """The TSV the workflow wrote as a sortable, searchable page (the file itself is the download)."""
    path = Path(tsv_path)
    tsv_text = path.read_text(encoding="utf-8")
    try:
        table = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        table = pd.DataFrame()
    intro = f'<p class="note">{html.escape(note)}</p>\n' if note else ""
    return page(title, intro + table_block(table, "table", path.name, tsv_text))


# ------------------------------------------------------------------------------------------ overview
def _test_r(comparison: pd.DataFrame, pair: str, model: str, output: str) -> float:
    rows = comparison[(comparison["pair"] == pair) & (comparison["model"] == model)
                      & (comparison["output"] == output) & (comparison["split"] == "test")]
    return float(rows["pearson_mean"].iloc[0]) if len(rows) else float("nan")


def key_numbers(pairs: dict[str, Pair], counts: pd.DataFrame, comparison: pd.DataFrame,
                who_benefits: dict[str, pd.DataFrame], validation: pd.DataFrame | None) -> pd.DataFrame:
    """One row per pair: cell lines, held-out accuracy of FORGE next to ridge, the best-scoring lines,
    and the validation tests of the paper's score that reach P < 0.05 (of those computed)."""
    rows = []
    for pair in pairs.values():
        count = counts[counts["name"] == pair.name]
        top = who_benefits.get(pair.name, pd.DataFrame())
        names = top["CellLineName"] if "CellLineName" in top else top.get("sample", pd.Series(dtype=str))
        row = {
            "pair": pair.title,
            "target": pair.target,
            "drug": pair.drug,
            "control": pair.control,
            "cell lines": int(count["n_cell_lines"].iloc[0]) if len(count) else float("nan"),
            "test r dependency, FORGE": round(_test_r(comparison, pair.name, "forge_joint", pair.dependency_output), 2),
            "test r dependency, ridge": round(_test_r(comparison, pair.name, "ridge", pair.dependency_output), 2),
            "test r IC50, FORGE": round(_test_r(comparison, pair.name, "forge_joint", pair.ic50_output), 2),
            "test r IC50, ridge": round(_test_r(comparison, pair.name, "ridge", pair.ic50_output), 2),
            "highest Benefit Score": ", ".join(str(n) for n in names.head(3)),
        }
        if validation is not None:
            tests = validation[(validation["pair"] == pair.name) & (validation["score"] == "forge")]
            computed = tests[tests["status"] == "computed"] if "status" in tests else tests
            p = pd.to_numeric(computed.get("p_value", pd.Series(dtype=float)), errors="coerce")
            row["validation tests, P < 0.05"] = f"{int((p < 0.05).sum())} of {int(p.notna().sum())}"
        rows.append(row)
    return pd.DataFrame(rows)


def overview_page(run: str, settings: list[tuple[str, str]], numbers: pd.DataFrame, categories: list[tuple[str, str]],
                  method_text: str, method_path: str) -> str:
    """The report's first page: what ran, key numbers per pair, where to look, and the method."""
    what = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in settings)
    where = "".join(f"<li><b>{html.escape(name)}</b>: {html.escape(text)}</li>" for name, text in categories)
    tsv_text = numbers.to_csv(sep="\t", index=False)
    body = (
        f'<p class="note">Run <b>{html.escape(run)}</b> of the FORGE workflow (Factorization Of Response and Gene '
        "Essentiality). Every number below is read from a table the workflow wrote; the report's other "
        "categories hold the tables and figures themselves.</p>\n"
        f'<h2>What ran</h2>\n<table class="forge-table">{what}</table>\n'
        "<h2>Key numbers per pair</h2>\n"
        '<p class="note">Pearson r of predicted vs observed on the held-out test lines, mean over the training '
        "replicates, for the FORGE joint model next to the ridge baseline on the same split and genes; the three "
        "cell lines with the highest Benefit Score (predicted dependency − predicted IC50); and how many of the "
        "computed validation tests of the paper's score reach P &lt; 0.05 (uncorrected; see the validation "
        "summary for Benjamini–Hochberg).</p>\n"
        + table_block(numbers, "numbers", "key_numbers.tsv", tsv_text)
        + f"\n<h2>Where to look</h2>\n<ul>{where}</ul>\n"
        f"<h2>The method</h2>\n<p class=\"note\">From <code>{html.escape(method_path)}</code> in the workflow's "
        "repository (the preprint: doi 10.1101/2025.09.04.674143).</p>\n"
        f'<pre class="text">{html.escape(method_text)}</pre>'
    )
    return page("FORGE: overview of this run", body)
