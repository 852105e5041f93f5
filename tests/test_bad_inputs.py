"""Bad inputs: every malformed input ends in a clear error or a reported drop, never a silent change.

The input policy (``forge.io``), applied by every text reader:

* text is UTF-8; a UTF-8 byte-order mark is dropped and CRLF line ends read like LF (identical results);
* gzip is read under a ``.gz`` name; gzip data under another name, a ``.gz`` name over plain text and
  other compressions are refused;
* an empty file, a file whose last line is cut (no final newline), a table row with another number of
  fields than its header, and a table with a header but no rows are refused;
* repeated column names are refused; repeated row ids are dropped and reported (DepMap matrices,
  Model.csv, IC50 drugs) or refused (profiles, prepared cohorts, scored cohorts, split files, pairs);
* non-numeric, infinite and out-of-range values are refused naming the file, column and row;
* an unknown drug or target name is refused with the naming convention and the nearest names.

Every case below builds its malformed file from the demo files and runs the real reader (or the
scoring CLI), so each test fails if the reader accepts the file or changes the numbers.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from forge.analysis.enrichment import read_gmt
from forge.external import pdx, tahoe
from forge.io import InputFormatError, UTF8_BOM, first_invalid_utf8, write_parquet_matrix
from forge.modelling.baselines import LinearBaseline
from forge.modelling.model import (ForgeModel, SplitTooSmallError, check_split_sizes, read_fixed_split,
                                   split_by_lineage, split_requirements, split_samples)
from forge.modelling.pair_data import assemble_outputs, load_pair, read_pair_inputs
from forge.modelling.pairs import count_pairs, read_pairs_table
from forge.modelling.scoring import read_expression
from forge.normalise import read_gene_universe
from forge.sources import parsers
from forge.sources.cohort import build_cohort
from forge.sources.demo_data import write_demo_dataset
from forge.sources.prepared import read_prepared
from forge.validation import tahoe as vtahoe
from forge.validation.scores import PairScorer

REPO = Path(__file__).resolve().parents[1]
LATIN1 = "é".encode("latin-1")  # b"\xe9": valid Latin-1, invalid UTF-8
PLATE = "tahoe/{}_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad"


# ============================================================================ non-UTF-8 text

def latin1_file(path: Path, lines: list[str], bad_line: int) -> Path:
    data = [line.encode("utf-8") for line in lines]
    data[bad_line - 1] = data[bad_line - 1].replace(b"X", LATIN1, 1)
    path.write_bytes(b"\n".join(data) + b"\n")
    return path


CASES = {
    "pairs table": (["drug\ttarget", "ERLOTINIB\tEGFR", "DABRAFENIB\tBRAX"], lambda p: read_pairs_table(p), ".tsv"),
    "GMT": (["SET A\t\tG1\tG2", "SET B\t\tG3\tG4", "SET X\t\tG5"], lambda p: read_gmt(p), ".gmt"),
    "scoring expression": (["sample,G1,G2", "S1,1,2", "SX,3,4"], lambda p: read_expression(p), ".csv"),
    "prepared expression": (["sample,G1,G2", "S1,1,2", "SX,3,4"],
                            lambda p: read_prepared(p, p), ".csv"),
    "gene universe": (["G1", "G2", "GX"], lambda p: read_gene_universe(p), ".txt"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_non_utf8_text_inputs_name_file_and_line(tmp_path: Path, case: str) -> None:
    lines, reader, suffix = CASES[case]
    path = latin1_file(tmp_path / f"bad{suffix}", lines, bad_line=3)
    with pytest.raises(InputFormatError, match=r"bad\.\w+: line 3, byte \d+: not valid UTF-8"):
        reader(path)


def test_first_invalid_utf8_counts_lines_across_blocks_and_in_gzip(tmp_path: Path) -> None:
    body = ("x" * 99 + "\n") * 20_000  # 2 MB: the reader goes through several 1 MB blocks
    data = body.encode() + b"abc" + LATIN1 + b"def\n"
    plain = tmp_path / "big.txt"
    plain.write_bytes(data)
    assert first_invalid_utf8(plain) == (20_001, 4)
    packed = tmp_path / "big.txt.gz"
    packed.write_bytes(gzip.compress(data))
    assert first_invalid_utf8(packed) == (20_001, 4)
    good = tmp_path / "good.txt"
    good.write_text("G1,É\n", encoding="utf-8")
    assert first_invalid_utf8(good) is None


# ============================================================================ the demo files

@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The small demo dataset and the derived inputs of the other stages (prepared, scored, split, PDX CSV)."""
    root = tmp_path_factory.mktemp("bad_inputs")
    raw = root / "raw"
    write_demo_dataset(raw, seed=7, n_cell_lines=60, n_genes=400, cells_per_condition=2)
    cohort = build_cohort(*(raw / name for name in (
        "OmicsExpressionRNASeQCGeneCountProfile.csv", "OmicsProfiles.csv", "Model.csv", "CRISPRGeneDependency.csv",
        "creammist_ic50.csv", "drug_targets.csv", "creammist_cell_lines.csv", "symbol_synonyms.csv")))
    files = root / "derived"
    files.mkdir()
    samples = cohort.counts.index.intersection(cohort.dependency.index).intersection(cohort.response.index)
    expression = np.log2(cohort.counts.loc[samples].iloc[:, :60] + 1).round(6)
    expression.index.name = "sample"
    expression.to_csv(files / "expression.csv")
    outputs = pd.DataFrame({"EGFR_dependency": cohort.dependency.loc[samples, "EGFR"],
                            "ERLOTINIB_ic50": cohort.response.loc[samples, "ERLOTINIB"],
                            "GEFITINIB_ic50": cohort.response.loc[samples, "GEFITINIB"]}, index=expression.index)
    outputs.to_csv(files / "outputs.csv")
    shutil.copy(REPO / "config" / "pairs.tsv", files / "pairs.tsv")
    split = split_samples(samples, 0.25, seed=1).rename_axis("sample").reset_index()
    split.to_csv(files / "split.tsv", sep="\t", index=False)
    (files / "universe.txt").write_text("".join(f"{g}\n" for g in expression.columns), encoding="utf-8")
    with pd.ExcelFile(raw / "nm.3954-S2.xlsx") as book:
        for key, sheet in pdx.SHEETS.items():
            book.parse(sheet).to_csv(files / f"pdx_{key}.csv", index=False)
    return SimpleNamespace(raw=raw, files=files, cohort=cohort, samples=samples, expression=expression, outputs=outputs)


# Every text reader: (file, reader, whether the file starts with a header row).
def _readers(demo: SimpleNamespace) -> dict:
    raw, files = demo.raw, demo.files
    return {
        "Model.csv": (raw / "Model.csv", parsers.read_models, True),
        "OmicsProfiles.csv": (raw / "OmicsProfiles.csv", parsers.read_profiles, True),
        "count matrix": (raw / "OmicsExpressionRNASeQCGeneCountProfile.csv", parsers.read_counts_matrix, True),
        "CRISPRGeneDependency.csv": (raw / "CRISPRGeneDependency.csv", parsers.read_dependency, True),
        "CREAMMIST IC50": (raw / "creammist_ic50.csv", parsers.read_ic50, True),
        "CREAMMIST cell lines": (raw / "creammist_cell_lines.csv", parsers.read_creammist_cell_lines, True),
        "drug targets": (raw / "drug_targets.csv", parsers.read_drug_targets, True),
        "symbol synonyms": (raw / "symbol_synonyms.csv", parsers.read_symbol_synonyms, True),
        "GENCODE spans": (raw / "gencode_v19_gene_spans.csv", pdx.read_gene_spans, True),
        "PDX raw data CSV": (files / "pdx_raw.csv",
                             lambda p: pdx.read_pdx_csvs(files / "pdx_fpkm.csv", p, files / "pdx_metrics.csv"), True),
        "GMT": (raw / "genesets.gmt", read_gmt, False),
        "gene universe": (files / "universe.txt", read_gene_universe, False),
        "pairs table": (files / "pairs.tsv", read_pairs_table, True),
        "fixed split": (files / "split.tsv", lambda p: read_fixed_split(p, demo.samples), True),
        "prepared expression": (files / "expression.csv", lambda p: read_prepared(p, files / "outputs.csv"), True),
        "prepared outputs": (files / "outputs.csv", lambda p: read_prepared(files / "expression.csv", p), True),
        "prepared models": (raw / "Model.csv",
                            lambda p: read_prepared(files / "expression.csv", files / "outputs.csv", p), True),
        "scored cohort": (files / "expression.csv", read_expression, True),
    }


READER_NAMES = ["Model.csv", "OmicsProfiles.csv", "count matrix", "CRISPRGeneDependency.csv", "CREAMMIST IC50",
                "CREAMMIST cell lines", "drug targets", "symbol synonyms", "GENCODE spans", "PDX raw data CSV", "GMT",
                "gene universe", "pairs table", "fixed split", "prepared expression", "prepared outputs",
                "prepared models", "scored cohort"]


def assert_same(a, b) -> None:
    """Equal results: tables (values, index, columns, dtypes), series, dicts, lists, tuples, dataclasses."""
    if isinstance(a, pd.DataFrame):
        if "source" in a.columns and "source" in b.columns:  # drop reports name the file: x.csv.gz is x.csv
            a, b = (t.assign(source=t["source"].astype(str).str.removesuffix(".gz")) for t in (a, b))
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif hasattr(a, "__dataclass_fields__"):
        for key in a.__dataclass_fields__:
            if key != "sources":  # the file names they came from
                assert_same(getattr(a, key), getattr(b, key))
    else:
        assert a == b


def _lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def _short_row(data: bytes) -> bytes:
    """The second data row loses its last field (the newline is kept): an incomplete row."""
    lines = _lines(data)
    text = lines[2].decode()
    delimiter = "\t" if "\t" in lines[0].decode() else ","
    fields = next(csv.reader([text], delimiter=delimiter))
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(fields[:-1])
    lines[2] = out.getvalue().encode()
    return b"\n".join(lines) + b"\n"


SAME = "same result"
VARIANTS = {
    # name: (transform of the bytes, suffix added to the file name, expected: SAME or a message regex)
    "utf8_bom": (lambda b: UTF8_BOM + b, "", SAME),
    "crlf": (lambda b: b.replace(b"\n", b"\r\n"), "", SAME),
    "bom_and_crlf": (lambda b: UTF8_BOM + b.replace(b"\n", b"\r\n"), "", SAME),
    "gzip_named_gz": (gzip.compress, ".gz", SAME),
    "gzip_without_gz_name": (gzip.compress, "", r"gzip-compressed, but its name does not end in \.gz; .*rename it"),
    "plain_text_named_gz": (lambda b: b, ".gz", r"named \.gz but not compressed"),
    "truncated_gzip": (lambda b: gzip.compress(b)[:-12], ".gz", r"truncated or corrupt gzip stream"),
    "cut_mid_row": (lambda b: b[: len(b) - len(_lines(b)[-1]) // 2 - 1], "",
                    r"last line does not end with a newline .*looks truncated"),
    "empty": (lambda b: b"", "", r"the file is empty"),
    "only_a_bom": (lambda b: UTF8_BOM, "", r"the file is empty"),
    "header_only": (lambda b: _lines(b)[0] + b"\n", "",
                    r"header but no .*rows|no pairs listed|no samples or no gene columns"),
    "incomplete_row": (_short_row, "", r"line \d+ has \d+ fields, fewer than|truncated or corrupt CSV"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("reader_name", READER_NAMES)
def test_file_level_variants(demo: SimpleNamespace, tmp_path: Path, reader_name: str, variant: str) -> None:
    """Byte-order marks, line ends, compression, truncation, empty and header-only files, for every text reader."""
    source, reader, has_header = _readers(demo)[reader_name]
    transform, suffix, expected = VARIANTS[variant]
    if not has_header and variant in ("header_only", "incomplete_row"):
        pytest.skip("a line-oriented file has no header and no fixed number of fields")
    path = tmp_path / f"{source.name}{suffix}"  # the same name: drop reports name the file
    path.write_bytes(transform(source.read_bytes()))
    if expected == SAME:
        assert_same(reader(path), reader(source))
    else:
        with pytest.raises(InputFormatError, match=re.escape(path.name) + ".*" + expected):
            reader(path)


def test_bom_and_crlf_everywhere_build_the_identical_cohort(demo: SimpleNamespace, tmp_path: Path) -> None:
    names = ("OmicsExpressionRNASeQCGeneCountProfile.csv", "OmicsProfiles.csv", "Model.csv", "CRISPRGeneDependency.csv",
             "creammist_ic50.csv", "drug_targets.csv", "creammist_cell_lines.csv", "symbol_synonyms.csv")
    for i, name in enumerate(names):  # every other file also gzip-compressed
        data = UTF8_BOM + (demo.raw / name).read_bytes().replace(b"\n", b"\r\n")
        target = tmp_path / (name + (".gz" if i % 2 else ""))
        target.write_bytes(gzip.compress(data) if i % 2 else data)
    paths = [tmp_path / (name + (".gz" if i % 2 else "")) for i, name in enumerate(names)]
    cohort = build_cohort(*paths)
    for table in ("counts", "dependency", "response", "drug_targets", "samples"):
        assert_same(getattr(cohort, table), getattr(demo.cohort, table))
    # the reports name the source files, whose names differ here (.gz)
    for table, name_column in (("dropped", "source"), ("id_mapping", "source"), ("gene_mapping", "dataset")):
        assert_same(getattr(cohort, table).drop(columns=name_column), getattr(demo.cohort, table).drop(columns=name_column))


# ============================================================================ content: values, ids, columns

def _edit_csv(source: Path, target: Path, edit, delimiter: str = ",") -> Path:
    """Rewrite a CSV with ``edit(rows)`` (a list of field lists, header first)."""
    with open(source, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    rows = edit(rows)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return target


def _set(row: int, column: int, value: str):
    def edit(rows):
        rows[row][column] = value
        return rows
    return edit


def _repeat_row(row: int, change: dict[int, str] | None = None):
    def edit(rows):
        copy = list(rows[row])
        for column, value in (change or {}).items():
            copy[column] = value
        return rows[: row + 1] + [copy] + rows[row + 1:]
    return edit


def _repeat_column(column: int, name: str | None = None):
    def edit(rows):
        out = [row[: column + 1] + [row[column]] + row[column + 1:] for row in rows]
        if name is not None:
            out[0][column + 1] = name
        return out
    return edit


def _rename_column(column: int, name: str):
    def edit(rows):
        rows[0][column] = name
        return rows
    return edit


# name: (demo file, reader, edit, expected error regex)
REFUSED = {
    "count matrix: repeated gene column": (
        "OmicsExpressionRNASeQCGeneCountProfile.csv", parsers.read_counts_matrix, _repeat_column(3),
        r"duplicate gene column 'DG\d+ \(ENSG\d+\)'; expected unique column names"),
    "count matrix: text in a count": (
        "OmicsExpressionRNASeQCGeneCountProfile.csv", parsers.read_counts_matrix, _set(4, 2, "many"),
        r"column 'DG\d+ \(ENSG\d+\)', ProfileID 'PR-\w+': non-numeric value 'many'; expected a number"),
    "count matrix: negative count": (
        "OmicsExpressionRNASeQCGeneCountProfile.csv", parsers.read_counts_matrix, _set(4, 2, "-3"),
        r"column 'DG\d+', ProfileID 'PR-\w+': value below 0.0; expected values >= 0.0 \(found -3.0\)"),
    "count matrix: missing ProfileID": (
        "OmicsExpressionRNASeQCGeneCountProfile.csv", parsers.read_counts_matrix, _set(4, 0, ""),
        r"column 'ProfileID' \(first column\), line 5: missing identifier"),
    "dependency above 1": (
        "CRISPRGeneDependency.csv", parsers.read_dependency, _set(3, 5, "1.5"),
        r"column 'DG\d+', ModelID 'ACH-\d+': value above 1.0; expected values <= 1.0 \(found 1.5\)"),
    "dependency below 0": (
        "CRISPRGeneDependency.csv", parsers.read_dependency, _set(3, 5, "-0.2"),
        r"value below 0.0; expected values >= 0.0 \(found -0.2\)"),
    "dependency as text": (
        "CRISPRGeneDependency.csv", parsers.read_dependency, _set(3, 5, "high"),
        r"ModelID 'ACH-\d+': non-numeric value 'high'; expected a number"),
    "IC50 as text": (
        "creammist_ic50.csv", parsers.read_ic50, _set(2, 4, ">10"),
        r"column '[^']+', drug 'DAPORINAD': non-numeric value '>10'; expected a number"),
    "IC50 infinite": (
        "creammist_ic50.csv", parsers.read_ic50, _set(2, 4, "inf"),
        r"drug 'DAPORINAD': infinite value; expected a finite number"),
    "IC50: repeated cell-line column": (
        "creammist_ic50.csv", parsers.read_ic50, _repeat_column(2),
        r"duplicate cell-line column '[^']+'"),
    "IC50: first column not drug": (
        "creammist_ic50.csv", parsers.read_ic50, _rename_column(0, "compound"),
        r"first column is 'compound'; expected 'drug'"),
    "Model.csv: repeated column": (
        "Model.csv", parsers.read_models, _rename_column(8, "OncotreeLineage"),
        r"duplicate column 'OncotreeLineage'; expected unique column names"),
    "Model.csv: required column missing": (
        "Model.csv", parsers.read_models, _rename_column(5, "Lineage"),
        r"missing required column\(s\) 'OncotreeLineage'"),
    "profiles: repeated ProfileID": (
        "OmicsProfiles.csv", parsers.read_profiles, _repeat_row(2),
        r"column 'ProfileID': 'PR-\w+' appears more than once; expected one row per ProfileID"),
    "profiles: default flag not yes/no": (
        "OmicsProfiles.csv", parsers.read_profiles, _set(2, 4, "maybe"),
        r"column 'IsDefaultEntryForModel': value 'maybe'; expected 'Yes' or 'No'"),
    "CREAMMIST cell line with two RRIDs": (
        "creammist_cell_lines.csv", parsers.read_creammist_cell_lines, lambda rows: _repeat_row(
            next(i for i, row in enumerate(rows) if i and row[1]), {1: "CVCL_0001"})(rows),
        r"column 'cell_line_name': '[^']+' is listed with different RRIDs \['CVCL_0001', 'CVCL_\w+'\]"),
    "CREAMMIST RRID malformed": (
        "creammist_cell_lines.csv", parsers.read_creammist_cell_lines, _set(2, 1, "CVCL-12"),
        r"column 'cellosaurus_index', cell line '[^']+': value 'CVCL-12'; expected a Cellosaurus RRID"),
    "drug targets: missing drug name": (
        "drug_targets.csv", parsers.read_drug_targets, _set(2, 0, ""),
        r"column 'Drug', line 3: missing drug name"),
    "synonyms: required column missing": (
        "symbol_synonyms.csv", parsers.read_symbol_synonyms, _rename_column(1, "symbol"),
        r"missing required column\(s\) 'official_symbol'"),
    "GENCODE span not positive": (
        "gencode_v19_gene_spans.csv", pdx.read_gene_spans, _set(3, 6, "0"),
        r"column 'span_length' must hold positive numbers; found '0'"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_values_ids_and_columns_are_refused(demo: SimpleNamespace, tmp_path: Path, case: str) -> None:
    name, reader, edit, expected = REFUSED[case]
    path = _edit_csv(demo.raw / name, tmp_path / f"bad_{name}", edit)
    with pytest.raises(InputFormatError, match=re.escape(path.name) + ".*" + expected):
        reader(path)


# name: (demo file, reader, edit, reason in the drop report, item dropped (None: from the edit))
DROPPED = {
    "count matrix: repeated ProfileID": (
        "OmicsExpressionRNASeQCGeneCountProfile.csv", parsers.read_counts_matrix, _repeat_row(3, {1: "999999"}),
        "duplicate_ProfileID", 3),
    "dependency: repeated ModelID": (
        "CRISPRGeneDependency.csv", parsers.read_dependency, _repeat_row(3, {1: "0.999"}), "duplicate_ModelID", 3),
    "IC50: a drug repeated in another case": (
        "creammist_ic50.csv", parsers.read_ic50, _repeat_row(2, {0: "daporinad", 1: "9.5"}), "duplicate_drug", 2),
    "Model.csv: repeated ModelID": (
        "Model.csv", parsers.read_models, _repeat_row(4, {5: "Other lineage"}), "duplicate_ModelID", 4),
    "drug targets: a drug on two rows": (
        "drug_targets.csv", parsers.read_drug_targets, _repeat_row(2, {0: "daporinad", 1: "EGFR"}), "repeated_drug", 2),
}


@pytest.mark.parametrize("case", list(DROPPED))
def test_repeated_ids_are_reported_and_leave_the_rest_unchanged(demo: SimpleNamespace, tmp_path: Path,
                                                                 case: str) -> None:
    name, reader, edit, reason, row = DROPPED[case]
    source = demo.raw / name
    path = _edit_csv(source, tmp_path / name, edit)
    original, original_report = reader(source)
    table, report = reader(path)
    item = next(csv.reader(io.StringIO(source.read_text().splitlines()[row])))[0].upper()
    dropped = report[report["reason"] == reason]
    assert dropped["item"].str.upper().tolist() == [item] and (dropped["source"] == path.name).all()
    if reason == "repeated_drug":  # nothing dropped: the targets are merged, and that is reported
        extra = table.merge(original, how="left", indicator=True)
        assert extra.loc[extra["_merge"] == "left_only", ["drug", "target"]].values.tolist() == [[item, "EGFR"]]
    else:  # the first row is kept: the table is unchanged (the changed copy is not used)
        assert_same(table, original)
    pd.testing.assert_frame_equal(report[report["reason"] != reason].reset_index(drop=True),
                                  original_report.assign(source=path.name).reset_index(drop=True))


def test_a_profile_of_an_unknown_model_is_dropped_and_reported(demo: SimpleNamespace, tmp_path: Path) -> None:
    """Inconsistent tables: a count-matrix profile whose ModelID is not in Model.csv, another not in the profiles."""
    raw = demo.raw
    profiles = pd.read_csv(raw / "OmicsProfiles.csv")
    chosen = demo.cohort.id_mapping
    chosen = chosen[chosen["method"] == "profile"].iloc[0]
    profiles.loc[profiles["ProfileID"] == chosen["source_name"], "ModelID"] = "ACH-999999"
    profiles.to_csv(tmp_path / "OmicsProfiles.csv", index=False)
    counts = (raw / "OmicsExpressionRNASeQCGeneCountProfile.csv").read_text().splitlines()
    counts.append("PR-NOTLISTED" + counts[1][counts[1].index(","):])
    (tmp_path / "counts.csv").write_text("\n".join(counts) + "\n")
    cohort = build_cohort(tmp_path / "counts.csv", tmp_path / "OmicsProfiles.csv", raw / "Model.csv",
                          raw / "CRISPRGeneDependency.csv", raw / "creammist_ic50.csv", raw / "drug_targets.csv",
                          raw / "creammist_cell_lines.csv", raw / "symbol_synonyms.csv")
    dropped = cohort.dropped.set_index("item")["reason"]
    assert dropped["ACH-999999"] == "model_not_in_model_table" and dropped["PR-NOTLISTED"] == "profile_without_model"
    kept = cohort.counts.index
    assert chosen["ModelID"] not in kept and len(kept) == len(demo.cohort.counts) - 1
    pd.testing.assert_frame_equal(cohort.counts, demo.cohort.counts.loc[kept])


# ============================================================================ prepared cohorts

def _cell(frame: pd.DataFrame, row: int, column: int, value) -> pd.DataFrame:
    frame = frame.astype(object) if isinstance(value, str) else frame.copy()
    frame.iloc[row, column] = value
    return frame


PREPARED_REFUSED = {
    # name: (which file, edit of that table, expected)
    "expression as text": ("expression", lambda e: _cell(e, 3, 2, "n.d."),
                           r"column 'DG\d+', sample 'ACH-\d+': non-numeric value 'n.d.'; expected a number \(gene\)"),
    "expression missing value": ("expression", lambda e: _cell(e, 3, 2, np.nan),
                                 r"sample 'ACH-\d+': missing value; expected a number in every cell"),
    "expression infinite": ("expression", lambda e: _cell(e, 2, 2, np.inf), r"infinite value; expected a finite number"),
    "expression repeated gene column": ("expression", lambda e: e.rename(columns={e.columns[2]: e.columns[1]}),
                                        r"gene column\(s\) \['DG\d+'\] appear more than once in the header"),
    "expression repeated sample": ("expression", lambda e: pd.concat([e, e.iloc[[4]]]),
                                   r"duplicated sample ids in the first column, e.g. \['ACH-\d+'\]"),
    "dependency above 1": ("outputs", lambda o: _cell(o, 5, 0, 1.7),
                           r"column 'EGFR_dependency', sample 'ACH-\d+': value above 1; expected dependency in "
                           r"\[0, 1\] \(found 1.7\)"),
    "IC50 as text": ("outputs", lambda o: _cell(o, 5, 1, "resistant"),
                     r"column 'ERLOTINIB_ic50', sample 'ACH-\d+': non-numeric value 'resistant'; expected a number "
                     r"\(IC50\)"),
    "suffix in the wrong case": ("outputs", lambda o: o.rename(columns={"EGFR_dependency": "EGFR_Dependency"}),
                                 r"column 'EGFR_Dependency': the suffix must be exactly '_dependency' \(lower case\); "
                                 r"prepared outputs columns are <TARGET>_dependency and <DRUG>_ic50.*rename it to "
                                 r"'EGFR_dependency'"),
    "IC50 suffix upper case": ("outputs", lambda o: o.rename(columns={"ERLOTINIB_ic50": "ERLOTINIB_IC50"}),
                               r"column 'ERLOTINIB_IC50': the suffix must be exactly '_ic50'"),
    "no output column": ("outputs", lambda o: o.rename(columns=lambda c: c.replace("_", "-")),
                         r"expected columns named <TARGET>_dependency and <DRUG>_ic50"),
    "outputs repeated sample": ("outputs", lambda o: pd.concat([o, o.iloc[[1]]]), r"duplicated sample ids"),
}


@pytest.mark.parametrize("case", list(PREPARED_REFUSED))
def test_prepared_cohort_refuses_bad_tables(demo: SimpleNamespace, tmp_path: Path, case: str) -> None:
    which, edit, expected = PREPARED_REFUSED[case]
    tables = {"expression": demo.expression, "outputs": demo.outputs}
    tables[which] = edit(tables[which])
    for name, table in tables.items():
        table.to_csv(tmp_path / f"{name}.csv")
    with pytest.raises(InputFormatError, match=re.escape(f"{which}.csv") + ".*" + expected):
        read_prepared(tmp_path / "expression.csv", tmp_path / "outputs.csv")


def test_prepared_samples_without_lineage_are_reported(demo: SimpleNamespace, tmp_path: Path) -> None:
    models = pd.read_csv(demo.raw / "Model.csv")
    models = models[models["ModelID"] != demo.samples[0]]
    models.to_csv(tmp_path / "Model.csv", index=False)
    full = read_prepared(demo.files / "expression.csv", demo.files / "outputs.csv", demo.raw / "Model.csv")
    table = read_prepared(demo.files / "expression.csv", demo.files / "outputs.csv", tmp_path / "Model.csv")
    # the ids are ModelIDs here, so no sample matches a StrippedCellLineName: all are reported, none dropped
    assert set(table["dropped"]["item"]) == set(full["samples"]["ModelID"])
    assert (table["dropped"]["reason"] == "no_lineage").all()
    for key in ("expression", "dependency", "response"):
        assert_same(table[key], full[key])


# ============================================================================ names and conventions

@pytest.fixture(scope="module")
def matrices(demo: SimpleNamespace) -> SimpleNamespace:
    cohort = demo.cohort
    return SimpleNamespace(expression=np.log2(cohort.counts + 1), dependency=cohort.dependency,
                           response=cohort.response)


NAMES = {
    # name: (drug, target, extra drugs, expected)
    "drug in lower case": ("erlotinib", "EGFR", "", r"pair EGFR_erlotinib: drug 'erlotinib' not found in the response "
                           r"matrix; drug names are upper-case .*; nearest existing names: 'ERLOTINIB'"),
    "drug misspelt": ("ERLOTINIBE", "EGFR", "", r"pair EGFR_ERLOTINIBE: drug 'ERLOTINIBE' not found .*nearest "
                      r"existing names: 'ERLOTINIB'"),
    "target in lower case": ("ERLOTINIB", "egfr", "", r"pair egfr_ERLOTINIB: target 'egfr' not found in the "
                             r"dependency matrix; targets are gene symbols .*nearest existing names: 'EGFR'"),
    "extra drug in mixed case": ("ERLOTINIB", "EGFR", "Gefitinib", r"pair EGFR_ERLOTINIB: extra drug 'Gefitinib' not "
                                 r"found .*upper-case"
                                 r".*nearest existing names: 'GEFITINIB'"),
}


@pytest.mark.parametrize("case", list(NAMES))
def test_unknown_pair_names_say_the_convention_and_the_nearest_names(matrices: SimpleNamespace, tmp_path: Path,
                                                                       case: str) -> None:
    drug, target, extra, expected = NAMES[case]
    table = tmp_path / "pairs.tsv"
    table.write_text(f"drug\ttarget\textra_drugs\n{drug}\t{target}\t{extra}\n")
    pairs = read_pairs_table(table)
    with pytest.raises(InputFormatError, match="pairs.table: " + expected):
        count_pairs(pairs, matrices.expression, matrices.dependency, matrices.response)
    pair = dict(pairs.iloc[0], extra_drugs=[d for d in extra.split(",") if d])
    with pytest.raises(InputFormatError, match=r"response.parquet: pair |dependency.parquet: pair "):
        assemble_outputs(matrices.expression, matrices.dependency, matrices.response, pair,
                         dict(dependency="dependency.parquet", response="response.parquet"))


def test_a_prepared_drug_in_another_case_is_named_by_the_nearest_column(demo: SimpleNamespace, tmp_path: Path) -> None:
    outputs = demo.outputs.rename(columns={"ERLOTINIB_ic50": "Erlotinib_ic50"})
    outputs.to_csv(tmp_path / "outputs.csv")
    tables = read_prepared(demo.files / "expression.csv", tmp_path / "outputs.csv")
    pairs = read_pairs_table(demo.files / "pairs.tsv").iloc[:1]
    with pytest.raises(InputFormatError, match=r"drug 'ERLOTINIB' not found .*<DRUG>_ic50 columns\).*nearest existing "
                                               r"names: 'Erlotinib'"):
        count_pairs(pairs, tables["expression"], tables["dependency"], tables["response"])


# ============================================================================ splits

@pytest.mark.parametrize("fraction, short, count", [(0.001, "test", 0), (0.01, "test", 1), (0.999, "train", 1)])
def test_a_split_too_small_is_refused_at_the_split(fraction: float, short: str, count: int) -> None:
    samples = [f"ACH-{i:06d}" for i in range(120)]
    with pytest.raises(SplitTooSmallError, match=rf"pair EGFR_ERLOTINIB: the train/test split \(split.test_fraction = "
                                                  rf"{fraction}\) leaves .* {count} {short} sample\(s\), needs >= 2.*"
                                                  rf"Change split.test_fraction"):
        split_samples(samples, fraction, seed=42, pair="EGFR_ERLOTINIB")
    lineage = pd.Series(["Lung", "Skin", "CNS", "Bowel"] * 30, index=samples)
    if short == "train":
        with pytest.raises(SplitTooSmallError, match="lower split.test_fraction|too few"):
            split_by_lineage(lineage, fraction, seed=1, pair="EGFR_ERLOTINIB")
    split = split_samples(samples, 0.2, seed=42)  # the default: accepted
    assert (split == "test").sum() == 24


def _pair_inputs(demo: SimpleNamespace, root: Path, split: pd.Series) -> SimpleNamespace:
    cohort = demo.cohort
    root.mkdir(parents=True, exist_ok=True)
    paths = SimpleNamespace(expression=root / "expression.parquet", dependency=root / "dependency.parquet",
                            response=root / "response.parquet", split=root / "split.tsv", pairs=root / "pairs.tsv",
                            genes=root / "genes.tsv")
    write_parquet_matrix(np.log2(cohort.counts + 1), paths.expression)
    write_parquet_matrix(cohort.dependency, paths.dependency)
    write_parquet_matrix(cohort.response, paths.response)
    split.rename_axis("sample").rename("split").reset_index().to_csv(paths.split, sep="\t", index=False)
    pd.DataFrame({"name": ["EGFR_ERLOTINIB"], "target": ["EGFR"], "drug": ["ERLOTINIB"], "extra_drugs": ["GEFITINIB"],
                  "control": [False]}).to_csv(paths.pairs, sep="\t", index=False)
    pd.DataFrame({"gene": ["EGFR"]}).to_csv(paths.genes, sep="\t", index=False)
    return paths


def _complete(demo: SimpleNamespace) -> pd.Index:
    cohort = demo.cohort
    ok = cohort.dependency["EGFR"].notna() & cohort.response["ERLOTINIB"].reindex(cohort.dependency.index).notna()
    return cohort.counts.index.intersection(ok.index[ok]).sort_values()


SPLIT_CONFIG = {
    # name: (params of the rule, test samples, expected)
    "baselines need cv_folds training samples": (
        dict(baselines={"cv_folds": 10}), None, 6,
        r"output EGFR_dependency: \d train sample\(s\), needs >= 10 \(baselines.cv_folds = 10: the elastic net's "
        r"10-fold cross-validation"),
    "tuning cross-validation folds": (
        dict(model={"kinds": ["joint"]}, tuning={"cv": {"enabled": True, "folds": 8}}), None, 6,
        r"needs >= 8 \(tuning.cv.folds = 8"),
    "an extra drug measured on one test sample": (
        dict(model={"kinds": ["joint", "multi_drug"]}), "extra", None,
        r"output GEFITINIB_ic50: 1 test sample\(s\), needs >= 2 \(test metrics"),
}


@pytest.mark.parametrize("case", list(SPLIT_CONFIG))
def test_a_split_too_small_for_the_configuration_is_refused_naming_pair_counts_and_key(
        demo: SimpleNamespace, tmp_path: Path, case: str) -> None:
    params, which, n_train, expected = SPLIT_CONFIG[case]
    samples = _complete(demo)
    if which == "extra":  # GEFITINIB measured on a single test sample
        gefitinib = demo.cohort.response["GEFITINIB"].reindex(samples).notna()
        with_drug = samples[gefitinib.to_numpy()]
        test = list(with_drug[:1]) + list(samples[~gefitinib.to_numpy()][:3])
    else:
        test = list(samples[n_train:])
    split = pd.Series(np.where(samples.isin(test), "test", "train"), index=samples)
    paths = _pair_inputs(demo, tmp_path / "pair", split)
    with pytest.raises(SplitTooSmallError, match=r"pair EGFR_ERLOTINIB: the train/test split .* leaves \d+ train and "
                                                  r"\d+ test samples .*" + expected):
        read_pair_inputs(vars(paths), "EGFR_ERLOTINIB", params)
    # the same split passes what every run needs when the configuration asks for nothing more
    if which is None:
        pair, data, genes = read_pair_inputs(vars(paths), "EGFR_ERLOTINIB")
        assert len(data.train) == n_train and genes == ["EGFR"]


def test_default_split_requirements_and_evaluation_floor(demo: SimpleNamespace, tmp_path: Path) -> None:
    assert [r[:2] for r in split_requirements()] == [("train", 2), ("test", 2)]
    assert [r[:2] for r in split_requirements(dict(baselines={"cv_folds": 5}))][-1] == ("train", 5)
    samples = _complete(demo)
    split = pd.Series(np.where(np.arange(len(samples)) < 1, "test", "train"), index=samples)  # one test sample
    paths = _pair_inputs(demo, tmp_path / "pair", split)
    pair = dict(name="EGFR_ERLOTINIB", target="EGFR", drug="ERLOTINIB", extra_drugs=[], control=False)
    with pytest.raises(SplitTooSmallError, match=r"1 test sample\(s\), needs >= 2"):
        load_pair(vars(paths), pair, paths.split)  # what evaluate_pair reads: no zero-size metric crash later
    check_split_sizes(pd.Series(["train", "train", "test", "test"]), "P")  # 2 and 2: enough


def test_a_fixed_split_file_is_checked(demo: SimpleNamespace, tmp_path: Path) -> None:
    samples = demo.samples
    good = pd.DataFrame({"sample": samples, "split": np.where(np.arange(len(samples)) % 4 == 0, "test", "train")})
    good.iloc[:-3].to_csv(tmp_path / "split.tsv", sep="\t", index=False)
    split, dropped = read_fixed_split(tmp_path / "split.tsv", samples)
    assert dropped["sample"].tolist() == sorted(samples[-3:]) and len(split) == len(samples) - 3  # reported drop
    bad = {
        "repeated.tsv": (pd.concat([good, good.iloc[[2]]]), r"sample\(s\) \['ACH-\d+'\] listed more than once"),
        "labels.tsv": (good.assign(split=good["split"].str.capitalize()), r"column 'split' has values \['Test', "
                                                                          r"'Train'\]; expected train or test"),
        "one_test.tsv": (good.assign(split=["test"] + ["train"] * (len(good) - 1)),
                         r"split \(split.file\) leaves .* 1 test sample\(s\), needs >= 2.*Change split.file"),
    }
    for name, (table, expected) in bad.items():
        table.to_csv(tmp_path / name, sep="\t", index=False)
        with pytest.raises((InputFormatError, SplitTooSmallError), match=expected):
            read_fixed_split(tmp_path / name, samples)


# ============================================================================ GMT, gene lists

GMT = {
    "a set without genes": ("SET A\t\tG1\tG2\nSET B\tdesc\t\t\n", r"line 2: gene set 'SET B' lists no gene"),
    "a set name twice": ("SET A\t\tG1\tG2\nSET B\t\tG3\nSET A\t\tG4\n",
                         r"line 3: gene set 'SET A' is already defined on line 1; expected each set name once"),
    "a set without a name": ("SET A\t\tG1\n\tdesc\tG2\n", r"line 2: the gene set has no name"),
    "no tabs": ("SET A G1 G2\n", r"line 1: expected name, description and genes separated by tabs"),
    "only blank lines": ("\n\n", r"no gene set found"),
}


@pytest.mark.parametrize("case", list(GMT))
def test_gmt_with_empty_or_repeated_sets_is_refused(tmp_path: Path, case: str) -> None:
    text, expected = GMT[case]
    path = tmp_path / "library.gmt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFormatError, match="library.gmt: " + expected):
        read_gmt(path)


def test_gmt_repeated_genes_and_weights_are_merged_and_a_universe_of_comments_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "library.gmt"
    path.write_text("SET A\t\tG2\tG1,1.0\tG2\r\n", encoding="utf-8")
    assert read_gmt(path) == {"SET A": ["G1", "G2"]}
    universe = tmp_path / "universe.txt"
    universe.write_text("# genes\n\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="universe.txt: no gene symbol listed"):
        read_gene_universe(universe)


# ============================================================================ PDX

def test_pdx_sheets_as_csv_and_workbook_refuse_bad_values_and_repeated_models(demo: SimpleNamespace,
                                                                               tmp_path: Path) -> None:
    files = demo.files
    fpkm = pd.read_csv(files / "pdx_fpkm.csv")
    model = fpkm.columns[1]
    cases = {
        "negative.csv": (fpkm.assign(**{model: -fpkm[model]}), rf"FPKM column '{model}' has negative values"),
        "text.csv": (fpkm.astype(object).assign(**{model: ["low"] + fpkm[model].tolist()[1:]}),
                     rf"FPKM column '{model}' must be numeric; found 'low' in data row 1"),
    }
    for name, (table, expected) in cases.items():
        table.to_csv(tmp_path / name, index=False)
        with pytest.raises(InputFormatError, match=name + ".*" + expected):
            pdx.read_pdx_csvs(tmp_path / name, files / "pdx_raw.csv", files / "pdx_metrics.csv")
    repeated = fpkm.columns.tolist()
    repeated[2] = model
    header = ",".join(repeated)
    body = (files / "pdx_fpkm.csv").read_text().split("\n", 1)[1]
    (tmp_path / "repeated.csv").write_text(header + "\n" + body)
    with pytest.raises(InputFormatError, match=rf"repeated.csv: column\(s\) \['{model}'\] appear more than once"):
        pdx.read_pdx_csvs(tmp_path / "repeated.csv", files / "pdx_raw.csv", files / "pdx_metrics.csv")
    with pd.ExcelFile(demo.raw / "nm.3954-S2.xlsx") as book:
        sheets = {name: book.parse(name) for name in book.sheet_names}
    sheets["RNAseq_fpkm"].columns = repeated
    with pd.ExcelWriter(tmp_path / "repeated.xlsx") as writer:
        for name, table in sheets.items():
            table.to_excel(writer, sheet_name=name, index=False)
    with pytest.raises(InputFormatError, match=rf"repeated.xlsx \(sheet 'RNAseq_fpkm'\): column\(s\) \['{model}'\] "
                                               "appear more than once"):
        pdx.read_pdx_workbook(tmp_path / "repeated.xlsx")
    (tmp_path / "cut.xlsx").write_bytes((demo.raw / "nm.3954-S2.xlsx").read_bytes()[:5000])
    with pytest.raises(InputFormatError, match="cut.xlsx: not a readable xlsx workbook"):
        pdx.read_pdx_workbook(tmp_path / "cut.xlsx")


# ============================================================================ Tahoe plates

def _plate(demo: SimpleNamespace, plate: str, tmp_path: Path, without_dmso: bool = False) -> Path:
    import anndata as ad

    path = demo.raw / PLATE.format(plate)
    if not without_dmso:
        return path
    adata = ad.read_h5ad(path)
    adata = adata[~adata.obs["drugname_drugconc"].astype(str).str.contains("DMSO")].copy()
    target = tmp_path / f"{plate}_no_dmso.h5ad"
    adata.write_h5ad(target)
    return target


def _pseudobulk(paths: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    plates = []
    for path in paths:
        result = tahoe.aggregate_plate(path, drugs=["Erlotinib", "DMSO_TF"])
        plates.append((pd.DataFrame(result.counts, index=pd.Index(result.samples["sample"], name="sample"),
                                    columns=result.genes), result.samples))
    counts, samples, _, _ = tahoe.combine_plates(plates)
    return counts, samples


def test_tahoe_plate_without_dmso_is_reported_and_other_plates_unchanged(demo: SimpleNamespace, tmp_path: Path) -> None:
    full_counts, full_samples = _pseudobulk([_plate(demo, "plate7", tmp_path), _plate(demo, "plate9", tmp_path)])
    counts, samples = _pseudobulk([_plate(demo, "plate7", tmp_path, without_dmso=True), _plate(demo, "plate9", tmp_path)])
    strengths = []
    for c, s in ((full_counts, full_samples), (counts, samples)):
        dmso, treated = tahoe.split_voom(c, s, "DMSO_TF")
        strengths.append(vtahoe.response_strength(dmso, treated, s, "DMSO_TF"))
    (full, full_unmatched), (strength, unmatched) = strengths
    assert full_unmatched.empty
    plate7_treated = samples[(samples["plate"] == "plate7") & (samples["drug"] != "DMSO_TF")]["sample"]
    assert sorted(unmatched["sample"]) == sorted(plate7_treated) and len(unmatched) > 0
    assert unmatched["reason"].str.contains("no DMSO_TF profile of this line on plate7").all()
    pd.testing.assert_frame_equal(strength.reset_index(drop=True),
                                  full[full["plate"] == "plate9"].reset_index(drop=True))
    with pytest.raises(ValueError, match=r"validation.tahoe.baseline_plate: no DMSO_TF sample on plate7 \(plates with "
                                         r"DMSO_TF: plate9\)"):
        vtahoe.baseline_profiles(*tahoe.split_voom(counts, samples, "DMSO_TF")[:1], samples, 7, "DMSO_TF")
    only_treated, treated_samples = _pseudobulk([_plate(demo, "plate7", tmp_path, without_dmso=True)])
    with pytest.raises(ValueError, match=r"voom needs at least 2 control \(DMSO_TF\) and 2 treated samples; got 0"):
        tahoe.split_voom(only_treated, treated_samples, "DMSO_TF")


@pytest.mark.parametrize("variant", ["cut", "gzip", "empty"])
def test_a_broken_tahoe_plate_names_the_file(demo: SimpleNamespace, tmp_path: Path, variant: str) -> None:
    data = _plate(demo, "plate9", tmp_path).read_bytes()
    broken = {"cut": data[: len(data) // 2], "gzip": gzip.compress(data), "empty": b""}[variant]
    path = tmp_path / "plate.h5ad"
    path.write_bytes(broken)
    expected = r"plate.h5ad: not a readable h5ad \(HDF5\) file, truncated or corrupt"
    with pytest.raises(InputFormatError, match=expected + (".*gzip-compressed: decompress it" if variant == "gzip" else "")):
        tahoe.aggregate_plate(path, drugs=["Erlotinib", "DMSO_TF"])


# ============================================================================ scored cohorts

def _model(genes: list[str], seed: int = 3) -> ForgeModel:
    rng = np.random.default_rng(seed)
    p = len(genes)
    return ForgeModel(genes=genes, gene_mean=rng.normal(8, 1, p), gene_sd=rng.uniform(0.5, 2, p),
                      targets=["EGFR_dependency", "ERLOTINIB_ic50"], target_mean=np.array([0.3, 2.0]),
                      W=rng.normal(0, 0.3, (p, 3)), heads=rng.normal(0, 1, (3, 2)), metadata={"seed": seed})


def test_a_validation_cohort_missing_model_genes_reports_them(demo: SimpleNamespace) -> None:
    genes = list(demo.expression.columns[:12])
    model = _model(genes)
    ridge = LinearBaseline(genes, model.gene_mean, model.gene_sd, model.targets, np.ones((12, 2)) * 0.01, np.zeros(2))
    scorer = PairScorer(model, (0.1, 1.0), ridge)
    lacking = demo.expression.drop(columns=genes[:3])
    table, missing = scorer.score(lacking, max_missing_fraction=0.5)
    assert missing["gene"].tolist() == genes[:3]  # the reported drop
    filled = demo.expression.copy()
    filled[genes[:3]] = model.gene_mean[:3]  # missing genes count at their training mean (z = 0)
    expected, _ = scorer.score(filled)
    pd.testing.assert_frame_equal(table, expected)
    with pytest.raises(InputFormatError, match=r"7 of the model's 12 genes are missing from the expression \(more than "
                                               r"50%\)"):
        scorer.score(demo.expression.drop(columns=genes[:7]), max_missing_fraction=0.5)


def run_score_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "scripts/forge_score.py"), *args], capture_output=True, text=True)


def test_score_cli_reads_a_bom_crlf_gzip_file_like_the_plain_one_and_refuses_broken_ones(demo: SimpleNamespace,
                                                                                         tmp_path: Path) -> None:
    genes = list(demo.expression.columns[:12])
    _model(genes).save(tmp_path / "model")
    plain = demo.files / "expression.csv"
    variant = tmp_path / "cohort.csv.gz"
    variant.write_bytes(gzip.compress(UTF8_BOM + plain.read_bytes().replace(b"\n", b"\r\n")))
    outputs = {}
    for name, path in (("plain", plain), ("variant", variant)):
        result = run_score_cli("--model", str(tmp_path / "model"), "--expression", str(path),
                               "--out", str(tmp_path / f"{name}.tsv"))
        assert result.returncode == 0, result.stderr
        outputs[name] = pd.read_csv(tmp_path / f"{name}.tsv", sep="\t")
    pd.testing.assert_frame_equal(outputs["plain"], outputs["variant"])
    assert outputs["plain"]["sample"].tolist() == [str(s) for s in demo.expression.index]
    cut = tmp_path / "cut.csv"
    cut.write_bytes(plain.read_bytes()[:-25])
    result = run_score_cli("--model", str(tmp_path / "model"), "--expression", str(cut), "--out", str(tmp_path / "o.tsv"))
    assert result.returncode == 2 and "cut.csv: the last line does not end with a newline" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o.tsv").exists()


@pytest.mark.parametrize("variant", ["cut", "empty", "text"])
def test_a_broken_parquet_matrix_names_the_file(tmp_path: Path, variant: str) -> None:
    from forge.io import read_parquet_matrix

    good = tmp_path / "good.parquet"
    write_parquet_matrix(pd.DataFrame({"G1": [1.0, 2.0]}, index=pd.Index(["S1", "S2"], name="sample")), good)
    data = good.read_bytes()
    path = tmp_path / "matrix.parquet"
    path.write_bytes({"cut": data[: len(data) // 2], "empty": b"", "text": b"sample,G1\nS1,1\n"}[variant])
    with pytest.raises(InputFormatError, match=r"matrix.parquet: not a readable Parquet matrix, truncated or corrupt"):
        read_parquet_matrix(path)
    assert read_parquet_matrix(good)["G1"].tolist() == [1.0, 2.0]


# ============================================================================ gene-set libraries that cannot be used
# (issue 26, item 6: an unusable library is an error naming the file or a "not tested" row with the reason,
# never an empty table that reads like "no enrichment")

UNUSABLE_GMT_REFUSED = {
    "genes in one comma-separated field": ("SET A\tdesc\tG1,G2,G3\n",
                                           r"line 1: gene set 'SET A' has the field 'G1,G2,G3'; expected one gene per "
                                           r"tab-separated field"),
    "genes in one space-separated field": ("SET A\tdesc\tG1\tG2\nSET B\tdesc\tG3 G4 G5\n",
                                           r"line 2: gene set 'SET B' has the field 'G3 G4 G5' with white space"),
}


@pytest.mark.parametrize("case", list(UNUSABLE_GMT_REFUSED))
def test_a_badly_formed_gene_set_library_is_refused_naming_file_and_line(tmp_path: Path, case: str) -> None:
    text, expected = UNUSABLE_GMT_REFUSED[case]
    path = tmp_path / "library.gmt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFormatError, match="library.gmt: " + expected):
        read_gmt(path)


def _library_cases(genes: list[str]) -> dict:
    """(GMT text, list, expected status, reason pattern) for libraries and lists that cannot be tested."""
    usable = "".join(f"SET{i}\t\t" + "\t".join(genes[i * 10:(i + 1) * 10]) + "\n" for i in range(4))  # 40 of 60 genes
    return {
        "no gene in common with the data": (
            "".join(f"MOUSE{i}\t\tEgfr\tKras\tTrp53\tMyc\tPten\tAkt{i}\n" for i in range(5)), genes[:20], "not tested",
            r"the library shares no gene with the background of 60 genes"),
        "Ensembl ids instead of symbols": (
            "".join(f"SET{i}\t\t" + "\t".join(f"ENSG{i:06d}{j:05d}" for j in range(12)) + "\n" for i in range(3)),
            genes[:20], "not tested", r"shares no gene with the background"),
        "every set below the size range": ("SMALL\t\t" + "\t".join(genes[:2]) + "\n", genes[:20], "not tested",
                                           r"no gene set of the library has 3-500 genes in the background .*largest: 2"),
        "a list outside the background": (usable, ["NOT_A_GENE1", "NOT_A_GENE2"], "not tested",
                                          r"none of the list's 2 genes is in the background"),
        "a list missing every set": (usable, genes[-3:], "no overlap",
                                     r"none of the 4 gene sets in the size range shares a gene with the list"),
    }


@pytest.mark.parametrize("case", list(_library_cases([f"G{i}" for i in range(60)])))
def test_an_unusable_library_or_list_gives_a_not_tested_row_with_the_reason(demo: SimpleNamespace, tmp_path: Path,
                                                                             case: str) -> None:
    from forge.analysis.enrichment import ENRICHMENT_COLUMNS, run_enrichment

    genes = demo.expression.columns.tolist()  # the data: 60 demo genes (the background)
    text, gene_list, status, reason = _library_cases(genes)[case]
    path = tmp_path / "library.gmt"
    path.write_text(text, encoding="utf-8")
    table = run_enrichment({"l": (gene_list, genes)}, {"library": read_gmt(path)},
                           dict(min_size=3, max_size=500, min_overlap=1, fdr=0.05))
    assert list(table.columns) == ENRICHMENT_COLUMNS and len(table) == 1  # one row, never an empty table
    row = table.iloc[0]
    assert row["status"] == status and re.search(reason, row["reason"]), row["reason"]
    assert not row["significant"] and np.isnan(row["p_value"])


# ============================================================================ issue 26: wrong kinds and degenerate results
# (non-integer counts, filters that leave no gene, counts given as expression and the reverse, the
# scoring command as a new user meets it, and stages that would otherwise write a plausible-looking
# empty or degenerate result)

def _voom_rule(tmp_path: Path, counts: pd.DataFrame, universe: list[str] | None) -> SimpleNamespace:
    import runpy

    write_parquet_matrix(counts, tmp_path / "counts.parquet")
    universe_path = ""
    if universe is not None:
        universe_path = str(tmp_path / "universe.txt")
        Path(universe_path).write_text("".join(f"{g}\n" for g in universe), encoding="utf-8")
    smk = SimpleNamespace(
        input=SimpleNamespace(counts=str(tmp_path / "counts.parquet")),
        output=SimpleNamespace(expression=str(tmp_path / "expression.parquet"),
                               weights=str(tmp_path / "weights.parquet"), dropped_genes=str(tmp_path / "dropped.tsv")),
        params=SimpleNamespace(gene_universe=universe_path), log=[str(tmp_path / "voom.log")])
    adapter = runpy.run_path(str(REPO / "workflow/scripts/voom_expression.py"), run_name="voom_expression_adapter")
    return SimpleNamespace(smk=smk, main=adapter["main"])


VOOM_FILTERS = {
    # name: (universe from the counts' genes, expected message)
    "a universe sharing no gene": (lambda genes: [f"NOT{g}" for g in genes[:50]],
                                   r"universe.txt \(normalisation.gene_universe\): its 50 symbols .* share 0 gene\(s\) "
                                   r"with the \d+ genes of .*counts.parquet .*voom needs at least 2.*leave "
                                   r"normalisation.gene_universe empty"),
    "a universe in lower case": (lambda genes: [g.lower() for g in genes[:50]],
                                 r"share 0 gene\(s\) .*50 of its symbols match a gene in another letter case"),
    "a universe sharing one gene": (lambda genes: genes[:1] + ["NOTAGENE"],
                                    r"its 2 symbols .* share 1 gene\(s\)"),
}


@pytest.mark.parametrize("case", list(VOOM_FILTERS))
def test_a_gene_filter_that_leaves_no_gene_fails_at_voom_naming_file_and_key(demo: SimpleNamespace, tmp_path: Path,
                                                                              case: str) -> None:
    make_universe, expected = VOOM_FILTERS[case]
    counts = demo.cohort.counts
    rule = _voom_rule(tmp_path, counts, make_universe([str(g) for g in counts.columns]))
    with pytest.raises(InputFormatError, match=expected):
        rule.main(rule.smk)
    assert not any(Path(p).exists() for p in vars(rule.smk.output).values())  # nothing written
    # the same counts with a universe of half the genes: voom runs, the rest reported as dropped
    half = [str(g) for g in counts.columns[::2]]
    rule = _voom_rule(tmp_path / "half", counts, half)
    rule.main(rule.smk)
    dropped = pd.read_csv(rule.smk.output.dropped_genes, sep="\t")
    assert sorted(dropped["gene"]) == sorted(str(g) for g in counts.columns[1::2])


def test_voom_low_expression_filter_and_too_few_samples_name_the_setting() -> None:
    from forge.normalise import voom_with_filters

    counts = pd.DataFrame(np.arange(1, 41, dtype=float).reshape(4, 10), index=[f"S{i}" for i in range(4)],
                          columns=[f"G{j}" for j in range(10)])
    with pytest.raises(InputFormatError, match=r"counts.parquet: the low-expression filter \(min_count = 1000 reads in "
                                               r"min_samples = 2 samples\) keeps 0 of 10 genes"):
        voom_with_filters(counts, min_count=1000, min_samples=2, counts_source="counts.parquet")
    with pytest.raises(InputFormatError, match=r"counts.parquet: 1 sample\(s\) × 10 gene\(s\); voom needs at least 2 "
                                               "samples"):
        voom_with_filters(counts.iloc[:1], counts_source="counts.parquet")


def test_a_non_integer_count_is_rounded_only_when_asked_and_reported(demo: SimpleNamespace, tmp_path: Path) -> None:
    name = "OmicsExpressionRNASeQCGeneCountProfile.csv"
    path = _edit_csv(demo.raw / name, tmp_path / name, _set(4, 2, "1307.5"))
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    profile, gene = rows[4][0], rows[0][2].split(" (")[0]
    # refused by default (the REFUSED table has the message); rounded (half to even) and reported when asked
    counts, report = parsers.read_counts_matrix(path, non_integer="round")
    original, _ = parsers.read_counts_matrix(demo.raw / name)
    assert counts.loc[profile, gene] == 1308.0
    pd.testing.assert_frame_equal(counts.drop(columns=gene), original.drop(columns=gene))
    rounded = report[report["reason"] == "non_integer_count_rounded"]
    assert rounded["item"].tolist() == [gene] and rounded["source"].tolist() == [name]
    assert "1 value(s) rounded" in rounded["detail"].iloc[0] and f"ProfileID {profile}: 1307.5" in rounded["detail"].iloc[0]
    inputs = [tmp_path / name] + [demo.raw / n for n in ("OmicsProfiles.csv", "Model.csv", "CRISPRGeneDependency.csv",
                                                       "creammist_ic50.csv", "drug_targets.csv",
                                                       "creammist_cell_lines.csv", "symbol_synonyms.csv")]
    with pytest.raises(InputFormatError, match=rf"{name}: column '{gene}', ProfileID '{profile}': non-integer count "
                                               r"1307.5 \(1 non-integer value\(s\) in 1 gene\(s\)\).*"
                                               r"data.non_integer_counts: round"):
        build_cohort(*inputs)
    cohort = build_cohort(*inputs, non_integer_counts="round")
    assert "non_integer_count_rounded" in set(cohort.dropped["reason"])
    with pytest.raises(ValueError, match="non_integer must be one of"):
        parsers.read_counts_matrix(path, non_integer="truncate")


REFUSED["count matrix: a non-integer count"] = (
    "OmicsExpressionRNASeQCGeneCountProfile.csv", parsers.read_counts_matrix, _set(4, 2, "1307.5"),
    r"column 'DG\d+', ProfileID 'PR-\w+': non-integer count 1307.5 .*expected raw read counts \(whole numbers\)")
PREPARED_REFUSED["expression that is raw counts"] = (
    "expression", lambda e: np.rint(2 ** e).astype(np.int64),
    r"the expression looks like raw counts \(whole numbers >= 0 up to \d+\); a prepared cohort is used without voom")


def _cohort_inputs(demo: SimpleNamespace, tmp_path: Path, **replaced: Path) -> list[Path]:
    names = dict(counts="OmicsExpressionRNASeQCGeneCountProfile.csv", profiles="OmicsProfiles.csv", models="Model.csv",
                 dependency="CRISPRGeneDependency.csv", ic50="creammist_ic50.csv", drug_targets="drug_targets.csv",
                 creammist="creammist_cell_lines.csv", synonyms="symbol_synonyms.csv")
    return [replaced.get(key, demo.raw / name) for key, name in names.items()]


def _rename_cell_lines(demo: SimpleNamespace, tmp_path: Path) -> dict:
    ic50 = pd.read_csv(demo.raw / "creammist_ic50.csv")
    ic50.columns = [ic50.columns[0]] + [f"UNKNOWN-{i}" for i in range(ic50.shape[1] - 1)]
    ic50.to_csv(tmp_path / "ic50.csv", index=False)
    return dict(ic50=tmp_path / "ic50.csv")


def _dependency_of_other_models(demo: SimpleNamespace, tmp_path: Path) -> dict:
    """Dependency only for models without an IC50: no cell line has all three."""
    dependency = pd.read_csv(demo.raw / "CRISPRGeneDependency.csv", index_col=0)
    dependency = dependency.loc[~dependency.index.isin(demo.cohort.response.index)]
    assert len(dependency) > 0
    dependency.to_csv(tmp_path / "dependency.csv")
    return dict(dependency=tmp_path / "dependency.csv")


def _profiles_of_unknown_models(demo: SimpleNamespace, tmp_path: Path) -> dict:
    profiles = pd.read_csv(demo.raw / "OmicsProfiles.csv")
    profiles["ModelID"] = [f"ACH-9{i:05d}" for i in range(len(profiles))]
    profiles.to_csv(tmp_path / "profiles.csv", index=False)
    return dict(profiles=tmp_path / "profiles.csv")


DEGENERATE_COHORTS = {
    # name: (replaced inputs, expected)
    "no IC50 cell line maps to a model": (_rename_cell_lines, r"ic50.csv: none of its \d+ cell lines maps to a DepMap "
                                                              r"model of .*Model.csv"),
    "no cell line has all three": (_dependency_of_other_models, r"no cell line has expression \(.*: \d+\), dependency "
                                                                r"\(.*dependency.csv: \d+\) and IC50 .* together"),
    "no count profile of a known model": (_profiles_of_unknown_models, r"no count profile is left after keying by "
                                                                       r"ModelID"),
}


@pytest.mark.parametrize("case", list(DEGENERATE_COHORTS))
def test_a_cohort_with_nothing_to_model_is_refused(demo: SimpleNamespace, tmp_path: Path, case: str) -> None:
    replace, expected = DEGENERATE_COHORTS[case]
    with pytest.raises(InputFormatError, match=expected):
        build_cohort(*_cohort_inputs(demo, tmp_path, **replace(demo, tmp_path)))


# ---------------------------------------------------------------------------- forge-score as a new user meets it

@pytest.fixture(scope="module")
def scoring(demo: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A model trained on the demo's log2-CPM scale (means and sds of the cohort), its genes and files."""
    root = tmp_path_factory.mktemp("scoring")
    counts = demo.cohort.counts.loc[demo.samples]
    counts.index.name = "sample"
    expression = np.log2((counts + 0.5).div(counts.sum(axis=1) + 1, axis=0) * 1e6)  # voom's logCPM
    genes = list(expression.columns[:40])
    rng = np.random.default_rng(5)
    model = ForgeModel(genes=genes, gene_mean=expression[genes].mean().to_numpy(),
                       gene_sd=expression[genes].std().to_numpy(), targets=["EGFR_dependency", "ERLOTINIB_ic50"],
                       target_mean=np.array([0.3, 2.0]), W=rng.normal(0, 0.3, (40, 3)), heads=rng.normal(0, 1, (3, 2)))
    model.save(root / "model")
    expression.round(6).to_csv(root / "expression.csv")
    counts.astype(np.int64).to_csv(root / "counts.csv")
    return SimpleNamespace(root=root, model=root / "model", genes=genes, expression=expression.round(6),
                           counts=counts.astype(np.int64))


def _depmap_headers(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={g: f"{g} (ENSG{i:011d})" for i, g in enumerate(frame.columns)}).rename_axis(None)


SCORE_CLI = {
    # name: (file from the scoring fixture, extra arguments, exit status, message regex on stderr)
    "counts with genes as rows": (lambda s: s.counts.T, ["--counts"], 2,
                                  r"the matrix looks transposed: 40 of the model's 40 genes are row ids .*expected "
                                  r"samples as rows and genes as columns"),
    "expression with genes as rows": (lambda s: s.expression.T, [], 2, r"looks transposed"),
    "raw counts given as expression": (lambda s: s.counts, [], 2,
                                       r"the values look like raw counts \(whole numbers >= 0 up to \d+\), not "
                                       r"normalised .*with --counts"),
    "linear values given as expression": (lambda s: (2 ** s.expression).round(3), [], 2,
                                          r"not on the scale of the model's training data: the median \|z\| of the "
                                          r"model genes is [\d.e+]+ \(about 0.7 expected, refused above 10\)"),
    "expression given as counts": (lambda s: s.expression, ["--counts"], 2,
                                   r"gene column '\w+', sample '[\w-]+': (negative|non-integer) count .*without "
                                   r"--counts"),
    "fractional counts": (lambda s: s.counts + 0.25, ["--counts"], 2,
                          r"non-integer count \d+\.25 \(\d+ such values\); raw counts are whole numbers"),
    "a missing value in a model gene": (lambda s: _cell(s.expression, 2, 3, np.nan), [], 2,
                                        r"gene column '\w+', sample '[\w-]+': nan \(1 missing or infinite value"),
    "text in a gene column": (lambda s: _cell(s.expression, 2, 3, "high"), [], 2,
                              r"gene column '\w+', sample '[\w-]+': non-numeric value 'high'"),
    "a third of the model genes missing": (lambda s: s.expression.drop(columns=s.genes[:14]), [], 2,
                                           r"14 of the model's 40 genes are missing from the expression \(more than "
                                           r"5%\).*raise --max-missing-fraction"),
    "two genes missing": (lambda s: s.expression.drop(columns=s.genes[3:5]), ["--max-missing-fraction", "0.1"], 0,
                          r"warning: .*2 of the model's 40 genes are missing \(5.0%; limit 10%\), set to their training "
                          r"mean \(z = 0\); they carry [\d.]+% of the model's total \|benefit weight\|: \w+, \w+\n"),
    "DepMap SYMBOL (ENSG) headers": (lambda s: _depmap_headers(s.expression), [], 0, r"^scored \d+ samples"),
    "two headers with one symbol": (lambda s: _depmap_headers(s.expression).rename(
        columns=lambda c: c.replace(s.genes[1] + " ", s.genes[0] + " ")), [], 2,
        r"gene column '\w+ \(ENSG\d+\)': symbol \w+ already taken by column '\w+ \(ENSG\d+\)'"),
    "an already z-scored matrix": (lambda s: ((s.expression - s.expression.mean()) / s.expression.std()).round(6), [], 0,
                                   r"warning: .*sits far from the model's training scale"),
}


@pytest.mark.parametrize("case", list(SCORE_CLI))
def test_score_cli_recognises_wrong_kinds_and_layouts(scoring: SimpleNamespace, tmp_path: Path, case: str) -> None:
    make, extra, status, expected = SCORE_CLI[case]
    path = tmp_path / "cohort.csv"
    make(scoring).to_csv(path)
    out = tmp_path / "scores.tsv"
    result = run_score_cli("--model", str(scoring.model), "--expression", str(path), "--out", str(out), *extra)
    assert result.returncode == status, result.stderr
    assert re.search(expected, result.stderr + result.stdout, re.S), result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert out.exists() == (status == 0)


def test_score_cli_reads_depmap_headers_as_the_plain_file_and_warns_by_name(scoring: SimpleNamespace,
                                                                           tmp_path: Path) -> None:
    tables = {}
    for name, frame in (("plain", scoring.expression), ("depmap", _depmap_headers(scoring.expression))):
        frame.to_csv(tmp_path / f"{name}.csv")
        result = run_score_cli("--model", str(scoring.model), "--expression", str(tmp_path / f"{name}.csv"),
                               "--out", str(tmp_path / f"{name}.tsv"))
        assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
        tables[name] = pd.read_csv(tmp_path / f"{name}.tsv", sep="\t")
    pd.testing.assert_frame_equal(tables["plain"], tables["depmap"])
    # the counts of the same cohort, with --counts, score like its voom logCPM
    result = run_score_cli("--model", str(scoring.model), "--expression", str(scoring.root / "counts.csv"),
                           "--out", str(tmp_path / "counts.tsv"), "--counts")
    assert result.returncode == 0, result.stderr
    from_counts = pd.read_csv(tmp_path / "counts.tsv", sep="\t")
    np.testing.assert_allclose(from_counts["benefit_score"], tables["plain"]["benefit_score"], atol=1e-4)


SCORE_CLI_FAILURES = {
    # name: (arguments after the model, expected on stderr)
    "no such expression file": (["--expression", "{tmp}/absent.csv", "--out", "{tmp}/o.tsv"],
                                r"expression file .*absent.csv not found"),
    "no such model": (["--expression", "{root}/expression.csv", "--out", "{tmp}/o.tsv", "--model", "{tmp}/nomodel"],
                      r"no model at .*nomodel"),
    "output directory missing": (["--expression", "{root}/expression.csv", "--out", "{tmp}/no/dir/o.tsv"],
                                 r"--out .*o.tsv: the directory .*no/dir does not exist"),
    "output is a directory": (["--expression", "{root}/expression.csv", "--out", "{tmp}"], r"is a directory"),
    "fraction out of range": (["--expression", "{root}/expression.csv", "--out", "{tmp}/o.tsv",
                               "--max-missing-fraction", "5"], r"5 is outside \[0, 1\]"),
    "a directory as expression": (["--expression", "{tmp}", "--out", "{tmp}/o.tsv"], r"not found"),
}


@pytest.mark.parametrize("case", list(SCORE_CLI_FAILURES))
def test_every_score_cli_failure_exits_2_with_a_message(scoring: SimpleNamespace, tmp_path: Path, case: str) -> None:
    arguments, expected = SCORE_CLI_FAILURES[case]
    arguments = [a.format(tmp=tmp_path, root=scoring.root) for a in arguments]
    if "--model" not in arguments:
        arguments = ["--model", str(scoring.model), *arguments]
    result = run_score_cli(*arguments)
    assert result.returncode == 2 and re.search(expected, result.stderr), result.stderr
    # one error line (argparse's usage errors come after the usage text), no traceback
    assert "Traceback" not in result.stderr
    assert re.match(r"forge[-_]score: error: ", result.stderr.strip().splitlines()[-1]), result.stderr


def test_score_cli_default_missing_fraction_is_the_librarys() -> None:
    import forge_score
    from forge.modelling.scoring import DEFAULT_MAX_MISSING_FRACTION

    assert forge_score.DEFAULT_MAX_MISSING_FRACTION == DEFAULT_MAX_MISSING_FRACTION == 0.05
    assert forge_score.parse_arguments(["--model", "m", "--expression", "e", "--out", "o"]).max_missing_fraction == 0.05


# ---------------------------------------------------------------------------- stages that would say nothing

def test_a_constant_output_is_refused_at_pair_preparation(demo: SimpleNamespace) -> None:
    from forge.modelling.pair_data import check_outputs_vary

    outputs = demo.outputs.copy()
    train = outputs.index[: len(outputs) // 2]
    check_outputs_vary(outputs, train, "EGFR_ERLOTINIB")  # varying: accepted
    outputs.loc[train, "EGFR_dependency"] = 0.0
    with pytest.raises(InputFormatError, match=r"dependency.parquet: pair EGFR_ERLOTINIB: output EGFR_dependency has "
                                               rf"the single value 0.0 on all {len(train)} training samples; nothing "
                                               "to model"):
        check_outputs_vary(outputs, train, "EGFR_ERLOTINIB", dict(dependency="dependency.parquet"))


DE_GROUPS = {
    # name: (scores of the analysed samples, sensitive flags, which contrast is skipped, reason)
    "a constant score": (lambda n: np.zeros(n), lambda n: np.arange(n) < n // 3, "score_groups",
                         r"the median split leaves 0 high and \d+ low sample\(s\) \(1 distinct benefit_score value"),
    "a score tied but for two samples": (lambda n: np.r_[np.zeros(n - 2), 1.0, 2.0], lambda n: np.arange(n) < n // 3,
                                         "score_groups", r"leaves 2 high and \d+ low"),
    "two samples in sensitive clusters": (lambda n: np.arange(n, dtype=float), lambda n: np.arange(n) < 2,
                                          "sensitive_clusters", r"2 sample\(s\) in sensitive clusters and \d+ "
                                                                r"other\(s\); at least 3 per group"),
}


@pytest.mark.parametrize("case", list(DE_GROUPS))
def test_de_with_too_small_groups_is_written_as_skipped_with_the_reason(case: str) -> None:
    from forge.analysis.pair import de_pair

    make_scores, make_sensitive, skipped, reason = DE_GROUPS[case]
    n = 30
    samples = [f"S{i:02d}" for i in range(n)]
    rng = np.random.default_rng(0)
    expression = pd.DataFrame(rng.normal(5, 1, (n, 20)), index=samples, columns=[f"G{j}" for j in range(20)])
    clusters = pd.DataFrame({"sample": samples, "sensitive": make_sensitive(n), "lineage": ["A", "B"] * (n // 2)})
    scores = pd.Series(make_scores(n), index=samples)
    settings = dict(lineage_covariate=False, min_lineage_size=3, log2fc=1.0, adj_p=0.05, top_n=200)
    tables, summary = de_pair(clusters, scores, "benefit_score", expression, None, settings)
    row = summary.set_index("contrast").loc[skipped]
    assert row["status"] == "skipped" and re.search(reason, row["notes"]), row["notes"]
    assert tables[skipped].empty
    fitted = summary[summary["contrast"] != skipped]
    assert (fitted["status"] == "fitted").all() and len(tables[fitted["contrast"].iloc[0]]) == 20
