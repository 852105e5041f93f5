"""Gao et al. 2015 PDX data: workbook parsing, FPKM → pseudo-counts, voom, response tables.

Pure library (no Snakemake): readers validate what they use and raise
:class:`forge.io.InputFormatError` naming the file and the sheet or column; the processing
functions take and return tables. The rule adapter is ``workflow/scripts/pdx_process.py``.

Sources
-------
Supplementary table ``nm.3954-S2.xlsx`` of Gao et al. (2015) Nat Med 21:1318, sheets
``RNAseq_fpkm`` (genes × models, first column ``Sample`` holds the gene symbol),
``PCT raw data`` (one row per tumour measurement) and ``PCT curve metrics`` (one row per
model and treatment), or the same sheets saved as CSV files.

FPKM → pseudo-counts (docs/METHOD.md §5)
----------------------------------------
FPKM_g = c_g · 10⁹ / (ℓ̃_g · N), with ℓ̃_g = L_g − ℓ + 1 the effective length: the number of
start positions of a sequenced unit of ℓ bases in a gene of L bases. Inverting it gives
c_g = FPKM_g · (L_g − ℓ + 1) · N / 10⁹. The published constant 199 is ℓ = 200 (a 200-bp
fragment, e.g. 2 × 100-bp paired reads), which is the default here; ``read_length`` = 75 or 100
(single-end reads of that length) are the alternatives of the sensitivity table. L_g is the
GRCh37 (GENCODE v19) genomic span of the gene, as in the paper's annotation; genes with
L_g ≤ ℓ − 1 have no positive effective length and get no count (reported).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forge.external.intervals import INTERVAL_CONVENTIONS, interval_label
from forge.sources import harmonise
from forge import normalise as normalize
from forge.io import (InputFormatError, atomic_write, read_text_csv, require_columns, write_parquet_matrix,
                      write_tsv)
from forge.sources import parsers

log = logging.getLogger(__name__)

__all__ = [
    "DROPPED_COLUMNS",
    "GENE_MAPPING_COLUMNS",
    "MRECIST_CLASSES",
    "SHEETS",
    "PdxResult",
    "PdxTables",
    "base_response_category",
    "bin_tv_change",
    "config_settings",
    "dropped_models",
    "fpkm_matrix",
    "fpkm_to_counts",
    "lengths_from_mapping",
    "map_fpkm_genes",
    "mrecist_class",
    "process_pdx",
    "pseudocount_expression",
    "read_gene_spans",
    "read_pdx_csvs",
    "read_pdx_workbook",
    "renamed_fpkm",
    "response_table",
    "select_arm",
    "sensitivity_table",
    "summarise_mapping",
]

PathLike = str | os.PathLike[str]

#: Sheet key → sheet name in the workbook.
SHEETS: dict[str, str] = {
    "fpkm": "RNAseq_fpkm",
    "raw": "PCT raw data",
    "metrics": "PCT curve metrics",
}
#: Columns each sheet must have (the FPKM sheet also needs at least one model column).
REQUIRED_COLUMNS: dict[str, list[str]] = {
    "fpkm": ["Sample"],
    "raw": ["Model", "Tumor Type", "Treatment", "Days Post T0", "%TVol Difference"],
    "metrics": ["Model", "Treatment", "BestResponse", "BestAvgResponse", "ResponseCategory"],
}
NUMERIC_COLUMNS: dict[str, list[str]] = {
    "raw": ["Days Post T0", "%TVol Difference"],
    "metrics": ["BestResponse", "BestAvgResponse"],
}
#: mRECIST classes as the sheet's ResponseCategory names them (mCR = "CR", ...).
MRECIST_CLASSES = ("CR", "PR", "SD", "PD")
DROPPED_COLUMNS = ["source", "item", "reason", "detail"]
GENE_MAPPING_COLUMNS = [
    "source_symbol",
    "symbol",
    "symbol_mapping",
    "span_length",
    "length_source",
    "n_loci",
    "status",
    "detail",
]


@dataclass
class PdxTables:
    """The three sheets of the workbook, validated.

    Attributes
    ----------
    fpkm
        The ``RNAseq_fpkm`` sheet as read: column ``Sample`` (gene symbol) and one column per model.
    raw
        ``PCT raw data`` with numeric ``Days Post T0`` and ``%TVol Difference``.
    metrics
        ``PCT curve metrics`` with numeric ``BestResponse`` and ``BestAvgResponse``.
    sources
        Sheet key → human-readable origin used in messages (file and sheet).
    """

    fpkm: pd.DataFrame
    raw: pd.DataFrame
    metrics: pd.DataFrame
    sources: dict[str, str]


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def _validate_sheet(frame: pd.DataFrame, key: str, where: str) -> pd.DataFrame:
    """Check required columns and numeric content of one sheet; strip text columns."""
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    require_columns(frame, REQUIRED_COLUMNS[key], where)
    if frame.empty:
        raise InputFormatError(f"{where}: the sheet has a header but no data rows")
    for column in NUMERIC_COLUMNS.get(key, []):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna() & (frame[column].astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFormatError(
                f"{where}: column {column!r} must be numeric; found {frame[column].iloc[row]!r} "
                f"in data row {row + 1}"
            )
        frame[column] = values.astype(np.float64)
    for column in ("Model", "Tumor Type", "Treatment", "ResponseCategory", "Sample"):
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v: v.strip() if isinstance(v, str) else v)
    if key == "fpkm":
        if frame.shape[1] < 2:
            raise InputFormatError(f"{where}: expected column 'Sample' followed by one column per model; found none")
        values = frame.drop(columns="Sample").apply(pd.to_numeric, errors="coerce")
        raw_values = frame.drop(columns="Sample")
        bad = values.isna() & raw_values.notna()
        if bad.to_numpy().any():
            row, col = (int(i[0]) for i in np.nonzero(bad.to_numpy()))
            raise InputFormatError(
                f"{where}: FPKM column {raw_values.columns[col]!r} must be numeric; found "
                f"{raw_values.iat[row, col]!r} in data row {row + 1}"
            )
        if (values.to_numpy() < 0).any():
            col = int(np.nonzero((values.to_numpy() < 0).any(axis=0))[0][0])
            raise InputFormatError(f"{where}: FPKM column {values.columns[col]!r} has negative values")
        frame = pd.concat([frame[["Sample"]], values.astype(np.float64)], axis=1)
    return frame


def read_pdx_workbook(path: PathLike) -> PdxTables:
    """Read and validate the three sheets of ``nm.3954-S2.xlsx``.

    Parameters
    ----------
    path
        The workbook.

    Returns
    -------
    PdxTables
        Validated sheets.

    Raises
    ------
    InputFormatError
        If the file is not a readable workbook, a required sheet is missing (message names
        the file, the missing sheet and the sheets found) or a sheet lacks a required column.
    """
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except FileNotFoundError:
        raise
    except Exception as err:  # zipfile.BadZipFile, openpyxl errors, ...
        raise InputFormatError(f"{path}: not a readable xlsx workbook ({err})") from err
    with book:
        # Sheet names match ignoring case and surrounding spaces ("PCT Raw Data " is accepted).
        found = {str(name).strip().casefold(): name for name in book.sheet_names}
        actual = {key: found.get(name.casefold()) for key, name in SHEETS.items()}
        missing = [SHEETS[key] for key, name in actual.items() if name is None]
        if missing:
            raise InputFormatError(
                f"{path}: missing required sheet(s) {', '.join(repr(s) for s in missing)}; "
                f"found sheets: {', '.join(repr(s) for s in book.sheet_names)}"
            )
        sources = {key: f"{path} (sheet {name!r})" for key, name in SHEETS.items()}
        for key in SHEETS:  # pandas would rename a repeated column ("X-1", "X-1.1") and keep both
            header = [str(c).strip() for c in book.parse(actual[key], header=None, nrows=1).iloc[0].tolist()]
            repeated = sorted({c for c in header if header.count(c) > 1})
            if repeated:
                raise InputFormatError(f"{sources[key]}: column(s) {repeated[:5]} appear more than once in the header; "
                                       "expected unique column names")
        frames = {key: _validate_sheet(book.parse(actual[key]), key, sources[key]) for key in SHEETS}
    return PdxTables(frames["fpkm"], frames["raw"], frames["metrics"], sources)


def read_pdx_csvs(fpkm: PathLike, raw: PathLike, metrics: PathLike) -> PdxTables:
    """Read and validate the three sheets saved as CSV files.

    Parameters
    ----------
    fpkm, raw, metrics
        CSV versions of the ``RNAseq_fpkm``, ``PCT raw data`` and ``PCT curve metrics`` sheets
        (optionally gzip-compressed).

    Returns
    -------
    PdxTables
        Validated sheets.
    """
    paths = {"fpkm": fpkm, "raw": raw, "metrics": metrics}
    sources = {key: f"{p} (sheet {SHEETS[key]!r} as CSV)" for key, p in paths.items()}
    frames = {}
    for key, p in paths.items():
        # the text input policy: compression, truncation, repeated columns, ragged rows, UTF-8
        frame = read_text_csv(p, dtype={"Sample": object, "Model": object})
        frames[key] = _validate_sheet(frame, key, sources[key])
    return PdxTables(frames["fpkm"], frames["raw"], frames["metrics"], sources)


def read_gene_spans(path: PathLike) -> pd.DataFrame:
    """Read GENCODE gene spans (``gene_name``, ``span_length``, optional ``gene_type``).

    Parameters
    ----------
    path
        CSV (optionally gzip) as ``gencode_v19_gene_spans.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``gene_name``, ``gene_type`` (empty string when absent), ``span_length``
        (float); one row per locus (names may repeat).
    """
    frame = read_text_csv(path, dtype={"gene_name": object, "gene_type": object})
    require_columns(frame, ["gene_name", "span_length"], path)
    if frame.empty:
        raise InputFormatError(f"{path}: the gene-span table has a header but no rows; expected one row per locus")
    lengths = pd.to_numeric(frame["span_length"], errors="coerce")
    bad = lengths.isna() | (lengths <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFormatError(
            f"{path}: column 'span_length' must hold positive numbers; found "
            f"{str(frame['span_length'].iloc[row])!r} in data row {row + 1}"
        )
    gene_type = frame["gene_type"].fillna("") if "gene_type" in frame.columns else ""
    out = pd.DataFrame(
        {"gene_name": frame["gene_name"].astype(str).str.strip(), "gene_type": gene_type, "span_length": lengths}
    )
    return out[out["gene_name"] != ""].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Expression: gene mapping, FPKM → counts, voom
# --------------------------------------------------------------------------------------


def fpkm_matrix(fpkm_sheet: pd.DataFrame, models: Iterable[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Models × genes FPKM from the sheet (first occurrence of a repeated symbol kept).

    Parameters
    ----------
    fpkm_sheet
        ``PdxTables.fpkm``.
    models
        Optional models to keep (in this order; those absent from the sheet are skipped).

    Returns
    -------
    fpkm
        Models × genes (index name ``Model``).
    repeated
        Gene symbols that occurred more than once (later rows dropped) or were empty.
    """
    symbols = fpkm_sheet["Sample"]
    empty = symbols.isna() | (symbols.astype(str) == "")
    repeated_mask = symbols.duplicated(keep="first") & ~empty
    repeated = sorted(set(symbols[repeated_mask].astype(str))) + (["<empty>"] if empty.any() else [])
    table = fpkm_sheet.loc[~repeated_mask & ~empty].set_index("Sample")
    matrix = table.T
    matrix.index = matrix.index.astype(str)
    matrix.columns = matrix.columns.astype(str)
    if models is not None:
        matrix = matrix.loc[[m for m in models if m in matrix.index]]
    matrix.index.name = "Model"
    matrix.columns.name = None
    return matrix, repeated


def _span_per_name(spans: pd.DataFrame) -> pd.DataFrame:
    """One span per gene name: protein-coding loci first, then the longest span."""
    ranked = spans.assign(_coding=(spans["gene_type"] == "protein_coding").astype(int))
    ranked = ranked.sort_values(["gene_name", "_coding", "span_length"], ascending=[True, False, False], kind="stable")
    n_loci = spans.groupby("gene_name").size()
    first = ranked.drop_duplicates("gene_name", keep="first").set_index("gene_name")
    return pd.DataFrame({"span_length": first["span_length"], "n_loci": n_loci.reindex(first.index)})


def map_fpkm_genes(
    symbols: Sequence[str], spans: pd.DataFrame, synonyms: pd.DataFrame | None
) -> pd.DataFrame:
    """Official symbols and GRCh37 span lengths for the FPKM sheet's gene symbols.

    Symbols are mapped with :func:`harmonise.map_gene_symbols` (aliases with one official
    symbol are replaced; current, unknown and ambiguous symbols are kept). The length is looked
    up, in this order, under the sheet's own symbol (GRCh37-era, like the GENCODE v19 names),
    under its official symbol, and under a GENCODE name that the synonyms map to that official
    symbol. A name with several loci uses the longest protein-coding locus (the longest locus
    when none is protein coding).

    Parameters
    ----------
    symbols
        Gene symbols of the ``Sample`` column (unique).
    spans
        Output of :func:`read_gene_spans`.
    synonyms
        ``alias, official_symbol`` table, or None (no renaming).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GENE_MAPPING_COLUMNS`, one row per input symbol, in input order.
        ``symbol_mapping``: ``current`` (official symbol), ``alias`` (renamed),
        ``ambiguous_alias``, ``not_in_synonyms`` (neither an official symbol nor an alias
        there) or ``unchecked`` (no synonyms table); the last three are kept as is.
        ``length_source``: ``symbol``, ``official_symbol``, ``gencode_alias`` or ``none``.
        ``status``: ``ok``, ``no_length`` or ``collides_with_existing`` (an alias whose
        official symbol is also a row of the sheet, or that another alias already took; the
        first is kept). :func:`process_pdx` adds ``too_short`` (L − ℓ + 1 ≤ 0),
        ``repeated_symbol`` and the column ``passes_filter``.
    """
    symbols = [str(s) for s in symbols]
    if synonyms is None:
        synonyms = pd.DataFrame({"alias": pd.Series(dtype=object), "official_symbol": pd.Series(dtype=object)})
    mapped, report = harmonise.map_gene_symbols(symbols, synonyms)
    reasons = report.groupby("symbol")["reason"].agg(set).to_dict() if len(report) else {}
    official = set(synonyms["official_symbol"])
    per_name = _span_per_name(spans)
    # GENCODE names reachable from an official symbol through the synonyms table.
    gencode_by_official: dict[str, list[str]] = {}
    if len(synonyms):
        gencode_aliases = synonyms[synonyms["alias"].isin(per_name.index)]
        for alias, target in zip(gencode_aliases["alias"], gencode_aliases["official_symbol"]):
            gencode_by_official.setdefault(target, []).append(alias)

    rows = []
    present = set(symbols)
    for source, symbol in zip(symbols, mapped):
        if source != symbol:
            how = "alias"
        elif "ambiguous_alias" in reasons.get(source, set()):
            how = "ambiguous_alias"
        elif source in official:
            how = "current"
        elif not len(synonyms):
            how = "unchecked"
        else:
            how = "not_in_synonyms"
        length, where, n_loci, detail = np.nan, "none", 0, ""
        if source in per_name.index:
            length, n_loci, where = per_name.at[source, "span_length"], per_name.at[source, "n_loci"], "symbol"
        elif symbol in per_name.index:
            length, n_loci, where = per_name.at[symbol, "span_length"], per_name.at[symbol, "n_loci"], "official_symbol"
        else:
            candidates = sorted(set(gencode_by_official.get(symbol, [])))
            if len(candidates) == 1:
                name = candidates[0]
                length, n_loci, where = per_name.at[name, "span_length"], per_name.at[name, "n_loci"], "gencode_alias"
                detail = f"length of GENCODE {name}"
            elif len(candidates) > 1:
                detail = f"several GENCODE names map to {symbol}: {', '.join(candidates)}"
        if n_loci > 1:
            detail = (detail + "; " if detail else "") + f"{n_loci} GENCODE loci, longest protein-coding used"
        if source != symbol and symbol in present:
            status = "collides_with_existing"
            detail = (detail + "; " if detail else "") + f"maps to {symbol}, which is also in the sheet (kept)"
        elif np.isnan(length):
            status = "no_length"
        else:
            status = "ok"
        rows.append((source, symbol, how, length, where, int(n_loci), status, detail))
    table = pd.DataFrame(rows, columns=GENE_MAPPING_COLUMNS)
    # Two aliases of one official symbol: keep the first, report the rest.
    repeat = table["symbol"].duplicated(keep="first") & (table["status"] == "ok")
    repeat &= table["symbol"].isin(table.loc[~repeat & (table["status"] == "ok"), "symbol"])
    table.loc[repeat, "status"] = "collides_with_existing"
    table.loc[repeat, "detail"] = [f"{d + '; ' if d else ''}another symbol already maps to {s}" for d, s in
                                   zip(table.loc[repeat, "detail"], table.loc[repeat, "symbol"])]
    return table


def fpkm_to_counts(
    fpkm: pd.DataFrame, lengths: pd.Series, fragments: float, read_length: float
) -> tuple[pd.DataFrame, list[str]]:
    """Pseudo-counts c = FPKM · (L − ℓ + 1) · N / 10⁹ (see the module docstring).

    Parameters
    ----------
    fpkm
        Models × genes FPKM.
    lengths
        Gene length L per column of ``fpkm`` (GRCh37 span); genes without a length are skipped.
    fragments
        N, mapped fragments per library.
    read_length
        ℓ; 200 reproduces the published ``L − 199``.

    Returns
    -------
    counts
        Models × genes with a positive effective length (column order kept).
    too_short
        Genes dropped because L − ℓ + 1 ≤ 0.
    """
    if fragments <= 0 or read_length < 1:
        raise ValueError(f"fragments must be > 0 and read_length ≥ 1; got {fragments}, {read_length}")
    lengths = lengths.reindex(fpkm.columns).astype(np.float64)
    effective = lengths - read_length + 1.0
    has_length = effective.notna()
    keep = has_length & (effective > 0)
    too_short = [str(g) for g in fpkm.columns[has_length & ~keep]]
    counts = fpkm.loc[:, keep.to_numpy()] * (effective[keep].to_numpy() * fragments / 1e9)[None, :]
    return counts, too_short


def _min_samples(n_models: int, min_fraction: float) -> int:
    return max(1, math.ceil(min_fraction * n_models - 1e-9))


def pseudocount_expression(
    fpkm: pd.DataFrame,
    lengths: pd.Series,
    fragments: float,
    read_length: float,
    min_count: float,
    min_fraction: float,
) -> dict:
    """FPKM → pseudo-counts → low-expression filter → voom logCPM (intercept-only).

    Library sizes are the sums of each model's pseudo-counts over all genes with a length,
    taken before the filter (as in :func:`forge.normalise.voom_with_filters`).

    Parameters
    ----------
    fpkm
        Models × genes FPKM (official symbols).
    lengths
        Gene length per column.
    fragments, read_length
        N and ℓ of :func:`fpkm_to_counts`.
    min_count, min_fraction
        Keep genes with a pseudo-count ≥ ``min_count`` in at least ``ceil(min_fraction · n)``
        models (``min_count`` 0 = no filter).

    Returns
    -------
    dict
        ``counts`` (all genes with a length), ``expression`` (voom logCPM of the kept genes),
        ``library_size`` (Series), ``too_short`` and ``low_expression`` (gene lists),
        ``min_samples`` (int).
    """
    counts, too_short = fpkm_to_counts(fpkm, lengths, fragments, read_length)
    library_size = counts.sum(axis=1)
    min_samples = _min_samples(len(counts), min_fraction)
    kept, low = normalize.filter_low_expression(counts, min_count, min_samples)
    expression, _ = normalize.voom_logcpm(kept, library_size=library_size)
    return {
        "counts": counts,
        "expression": expression,
        "library_size": library_size,
        "too_short": too_short,
        "low_expression": low,
        "min_samples": min_samples,
    }


def grid_settings(default: tuple[float, float], fragments_grid: Sequence[float],
                  read_length_grid: Sequence[float]) -> list[tuple[float, float]]:
    """(N, ℓ) settings of the sensitivity grid: the default first, then the grid without it."""
    settings = [tuple(map(float, default))]
    settings += [(float(n), float(r)) for n in fragments_grid for r in read_length_grid
                 if (float(n), float(r)) != settings[0]]
    return settings


def sensitivity_grid(
    fpkm: pd.DataFrame,
    lengths: pd.Series,
    default: tuple[float, float],
    fragments_grid: Sequence[float],
    read_length_grid: Sequence[float],
    min_count: float,
    min_fraction: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Effect of N and ℓ on library sizes, the filter and voom logCPM, and every setting's logCPM.

    Each setting (the default first, then the grid N × ℓ) is processed once with
    :func:`pseudocount_expression`; its logCPM is compared with the default's per model by the
    Pearson correlation over the genes kept in both.

    Parameters
    ----------
    fpkm, lengths
        As in :func:`pseudocount_expression`.
    default
        (N, ℓ) of the main output.
    fragments_grid, read_length_grid
        Settings to compare.
    min_count, min_fraction
        Low-expression filter.

    Returns
    -------
    table : pandas.DataFrame
        One row per setting and model: ``fragments, read_length, is_default, Model,
        library_size, n_genes_with_length, n_genes_passing_filter, n_genes_compared,
        pearson_r_vs_default, max_abs_diff_vs_default``.
    stacked : pandas.DataFrame
        Columns ``fragments``, ``read_length``, ``Model`` and one per gene kept by any setting (NaN
        where a setting's filter removed the gene), the default setting first: for re-scoring.
    """
    settings = grid_settings(default, fragments_grid, read_length_grid)
    reference = None
    rows, parts = [], []
    for fragments, read_length in settings:
        result = pseudocount_expression(fpkm, lengths, fragments, read_length, min_count, min_fraction)
        expression = result["expression"]
        if reference is None:
            reference = expression
        common = reference.columns.intersection(expression.columns)
        a = reference.loc[expression.index, common].to_numpy()
        b = expression.loc[:, common].to_numpy()
        for i, model in enumerate(expression.index):
            r = np.corrcoef(a[i], b[i])[0, 1] if len(common) > 1 else np.nan
            rows.append({
                "fragments": fragments,
                "read_length": read_length,
                "is_default": (fragments, read_length) == settings[0],
                "Model": model,
                "library_size": float(result["library_size"].loc[model]),
                "n_genes_with_length": result["counts"].shape[1],
                "n_genes_passing_filter": expression.shape[1],
                "n_genes_compared": len(common),
                "pearson_r_vs_default": float(r),
                "max_abs_diff_vs_default": float(np.max(np.abs(a[i] - b[i]))) if len(common) else np.nan,
            })
        frame = expression.copy()
        frame.insert(0, "Model", expression.index.astype(str))
        frame.insert(0, "read_length", read_length)
        frame.insert(0, "fragments", fragments)
        parts.append(frame.reset_index(drop=True))
    return pd.DataFrame(rows), pd.concat(parts, ignore_index=True)


def sensitivity_table(*args, **kwargs) -> pd.DataFrame:
    """The comparison table of :func:`sensitivity_grid` alone (same arguments)."""
    return sensitivity_grid(*args, **kwargs)[0]


# --------------------------------------------------------------------------------------
# Response
# --------------------------------------------------------------------------------------


def mrecist_class(best_response: Sequence[float], best_avg_response: Sequence[float]) -> np.ndarray:
    """mRECIST class from BestResponse (BR) and BestAvgResponse (BAR), as in Gao et al. 2015.

    CR (mCR): BR < −95 and BAR < −40; PR (mPR): BR < −50 and BAR < −20; SD (mSD): BR < 35 and
    BAR < 30; otherwise PD (mPD). Classes are named as in the sheet's ResponseCategory; a
    missing BR or BAR gives an empty string.

    Parameters
    ----------
    best_response, best_avg_response
        Percent tumour-volume change values.

    Returns
    -------
    numpy.ndarray
        Object array of "CR", "PR", "SD", "PD" or "".
    """
    br = np.asarray(best_response, dtype=np.float64)
    bar = np.asarray(best_avg_response, dtype=np.float64)
    classes = np.select(
        [(br < -95) & (bar < -40), (br < -50) & (bar < -20), (br < 35) & (bar < 30)],
        list(MRECIST_CLASSES[:3]),
        MRECIST_CLASSES[3],
    ).astype(object)
    classes[np.isnan(br) | np.isnan(bar)] = ""
    return classes


def base_response_category(categories: Sequence[str]) -> pd.Series:
    """The part of ResponseCategory before the first ``-->`` (``"SD-->-->PD"`` → ``"SD"``).

    Parameters
    ----------
    categories
        ResponseCategory values of the curve-metrics sheet.

    Returns
    -------
    pandas.Series
        Stripped base classes.
    """
    return pd.Series(categories, dtype=object).astype(str).str.split("-->", n=1).str[0].str.strip()


def select_arm(tables: PdxTables, tumour_type: str, treatment: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Rows of one tumour type and treatment (treatment matched case-insensitively).

    A model's tumour type comes from its ``Tumor Type`` entries in the raw-data sheet (any
    treatment; the curve-metrics sheet has none).

    Parameters
    ----------
    tables
        Validated sheets.
    tumour_type
        E.g. ``"NSCLC"`` (exact match).
    treatment
        E.g. ``"erlotinib"``.

    Returns
    -------
    raw, metrics
        Rows of the arm from each sheet.
    tumour_types
        Model → tumour type of the arm's models (sorted by model).
    """
    types = tables.raw.dropna(subset=["Tumor Type"]).groupby("Model")["Tumor Type"].agg(lambda s: sorted(set(s)))
    conflicting = types[types.map(len) > 1]
    if len(conflicting):
        model = conflicting.index[0]
        raise InputFormatError(
            f"{tables.sources['raw']}: model {model} has several values in column 'Tumor Type': "
            f"{', '.join(conflicting.iloc[0])}"
        )
    model_type = types.map(lambda s: s[0])
    wanted = treatment.strip().casefold()
    raw = tables.raw[tables.raw["Treatment"].astype(str).str.casefold() == wanted]
    raw = raw[raw["Model"].map(model_type) == tumour_type]
    metrics = tables.metrics[tables.metrics["Treatment"].astype(str).str.casefold() == wanted]
    metrics = metrics[metrics["Model"].map(model_type) == tumour_type]
    models = sorted(set(raw["Model"]) | set(metrics["Model"]))
    return raw.reset_index(drop=True), metrics.reset_index(drop=True), model_type.reindex(models).rename("tumour_type")


def _day_label(day: float) -> str:
    return f"{day:g}"


def _in_interval(days: np.ndarray, start: float, end: float, closed: str, window: bool) -> np.ndarray:
    if closed == "right":
        return (days > start) & (days <= end)
    return (days >= start) & ((days <= end) if window else (days < end))


def bin_tv_change(
    raw: pd.DataFrame,
    window: tuple[float, float] = (10.0, 15.0),
    bin_width: float = 5.0,
    bin_max_day: float = 30.0,
    closed: str = "right",
) -> pd.DataFrame:
    """Mean %TVol Difference per model over a day window and over fixed-width day bins.

    ``closed = "right"`` (default, the paper's): window (start, end], bins (a, a + w] for
    a = 0, w, 2w, … < ``bin_max_day``; day 0 falls in no bin. ``closed = "both"``: window
    [start, end], bins [a, a + w) (day 0 in the first). Either way a measurement is in at most one
    bin. Models without a measurement in a window or bin get NaN there.

    Parameters
    ----------
    raw
        Raw-data rows (``Model``, ``Days Post T0``, ``%TVol Difference``).
    window
        (start, end) day of the main response window.
    bin_width, bin_max_day
        Bin width and the end of the last bin (days).
    closed
        ``right`` or ``both`` (:data:`INTERVAL_CONVENTIONS`).

    Returns
    -------
    pandas.DataFrame
        Indexed by model: ``tv_change_days_<bounds>``, ``n_obs_days_<bounds>`` and
        ``tv_change_bin_<bounds>`` for each bin, the bounds written as :func:`interval_label`
        (``gt10_le15`` = (10, 15], ``ge10_le15`` = [10, 15], ``ge10_lt15`` = [10, 15)).
    """
    if closed not in INTERVAL_CONVENTIONS:
        raise ValueError(f"pdx.response.closed must be one of {INTERVAL_CONVENTIONS}; got {closed!r}")
    if bin_width <= 0 or bin_max_day <= 0 or window[1] < window[0]:
        raise ValueError(f"invalid window {window} or bins (width {bin_width}, until day {bin_max_day})")
    days = raw["Days Post T0"].to_numpy(dtype=np.float64)
    tv = raw["%TVol Difference"].to_numpy(dtype=np.float64)
    models = pd.Index(sorted(set(raw["Model"])), name="Model")
    label = f"days_{interval_label(window[0], window[1], closed, window=True)}"
    in_window = _in_interval(days, window[0], window[1], closed, True) & ~np.isnan(tv)
    grouped = pd.Series(tv[in_window]).groupby(raw["Model"].to_numpy()[in_window])
    out = pd.DataFrame(index=models)
    out[f"tv_change_{label}"] = grouped.mean().reindex(models)
    out[f"n_obs_{label}"] = grouped.size().reindex(models).fillna(0).astype(int)
    starts = np.arange(0.0, bin_max_day, bin_width)
    for start in starts:
        end = start + bin_width
        mask = _in_interval(days, start, end, closed, False) & ~np.isnan(tv)
        means = pd.Series(tv[mask]).groupby(raw["Model"].to_numpy()[mask]).mean()
        out[f"tv_change_bin_{interval_label(start, end, closed, window=False)}"] = means.reindex(models)
    return out


def response_table(
    raw: pd.DataFrame,
    metrics: pd.DataFrame,
    tumour_types: pd.Series,
    models_with_expression: Iterable[str],
    window: tuple[float, float] = (10.0, 15.0),
    bin_width: float = 5.0,
    bin_max_day: float = 30.0,
    closed: str = "right",
) -> pd.DataFrame:
    """Per-model response table of one arm.

    Parameters
    ----------
    raw, metrics, tumour_types
        Output of :func:`select_arm`.
    models_with_expression
        Models that have FPKM.
    window, bin_width, bin_max_day, closed
        As in :func:`bin_tv_change`.

    Returns
    -------
    pandas.DataFrame
        One row per model (sorted): ``Model, tumour_type, treatment``, the binned %TV change
        columns, ``BestResponse, BestAvgResponse, mRECIST`` (recomputed), ``ResponseCategory``
        (as in the sheet) and ``has_expression``.
    """
    models = pd.Index(tumour_types.index, name="Model")
    binned = bin_tv_change(raw, window, bin_width, bin_max_day, closed).reindex(models)
    binned[binned.columns[binned.columns.str.startswith("n_obs_")]] = (
        binned.filter(like="n_obs_").fillna(0).astype(int)
    )
    first_metrics = metrics.drop_duplicates("Model", keep="first").set_index("Model").reindex(models)
    treatment_names = pd.concat([metrics[["Model", "Treatment"]], raw[["Model", "Treatment"]]])
    treatment = treatment_names.drop_duplicates("Model").set_index("Model")["Treatment"].reindex(models)
    table = pd.DataFrame(index=models)
    table["tumour_type"] = tumour_types.reindex(models)
    table["treatment"] = treatment
    table = table.join(binned)
    table["BestResponse"] = first_metrics["BestResponse"]
    table["BestAvgResponse"] = first_metrics["BestAvgResponse"]
    table["mRECIST"] = mrecist_class(table["BestResponse"], table["BestAvgResponse"])
    table["ResponseCategory"] = first_metrics["ResponseCategory"]
    with_expression = set(models_with_expression)
    table["has_expression"] = [m in with_expression for m in models]
    return table.reset_index()


def dropped_models(
    tables: PdxTables,
    raw: pd.DataFrame,
    metrics: pd.DataFrame,
    response: pd.DataFrame,
    window_column: str,
) -> pd.DataFrame:
    """Models of the arm missing from an output or an analysis, and why.

    Parameters
    ----------
    tables
        Validated sheets (for the file names).
    raw, metrics
        Arm rows of :func:`select_arm`.
    response
        Output of :func:`response_table`.
    window_column
        Name of the main window column of ``response``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DROPPED_COLUMNS`.
    """
    rows = []
    for model in response.loc[~response["has_expression"], "Model"]:
        rows.append((tables.sources["fpkm"], model, "no_fpkm",
                     "model of the arm has no FPKM column; not in expression"))
    for model in sorted(set(raw["Model"]) - set(metrics["Model"])):
        rows.append((tables.sources["metrics"], model, "no_curve_metrics",
                     "no BestResponse/BestAvgResponse row for the treatment; mRECIST empty"))
    for model in sorted(set(metrics["Model"]) - set(raw["Model"])):
        rows.append((tables.sources["raw"], model, "no_raw_data", "no tumour measurements; %TV change columns empty"))
    repeated = metrics.loc[metrics["Model"].duplicated(), "Model"]
    for model in sorted(set(repeated)):
        rows.append((tables.sources["metrics"], model, "repeated_curve_metrics", "several rows; the first is used"))
    for model in response.loc[response[window_column].isna() & response["Model"].isin(raw["Model"]), "Model"]:
        rows.append((tables.sources["raw"], model, "no_measurement_in_window",
                     f"no measurement in the window; {window_column} empty"))
    return pd.DataFrame(rows, columns=DROPPED_COLUMNS)


def lengths_from_mapping(mapping: pd.DataFrame) -> pd.Series:
    """Official symbol → span length of the genes with status ``ok``.

    Parameters
    ----------
    mapping
        Output of :func:`map_fpkm_genes`.

    Returns
    -------
    pandas.Series
        Indexed by official symbol.
    """
    ok = mapping[mapping["status"] == "ok"]
    return pd.Series(ok["span_length"].to_numpy(dtype=np.float64), index=ok["symbol"].to_numpy(), name="span_length")


def renamed_fpkm(fpkm: pd.DataFrame, mapping: pd.DataFrame) -> pd.DataFrame:
    """FPKM columns with status ``ok``, renamed to official symbols.

    Parameters
    ----------
    fpkm
        Models × source symbols.
    mapping
        Output of :func:`map_fpkm_genes` for ``fpkm.columns``.

    Returns
    -------
    pandas.DataFrame
        Models × official symbols.
    """
    ok = mapping[mapping["status"] == "ok"]
    out = fpkm.loc[:, ok["source_symbol"].to_numpy()].copy()
    out.columns = ok["symbol"].to_numpy()
    return out


def summarise_mapping(mapping: pd.DataFrame) -> dict[str, int]:
    """Counts of genes by status and symbol mapping (for logs and reports).

    Parameters
    ----------
    mapping
        Output of :func:`map_fpkm_genes` (possibly with a ``passes_filter`` column).

    Returns
    -------
    dict
        E.g. ``{"genes": 22665, "status.ok": 21900, "symbol_mapping.alias": 1500, ...}``.
    """
    summary = {"genes": len(mapping)}
    for column in ("status", "symbol_mapping", "length_source"):
        for value, n in mapping[column].value_counts().sort_index().items():
            summary[f"{column}.{value}"] = int(n)
    return summary


def config_settings(config: Mapping) -> dict:
    """Flatten the ``pdx`` config section into the keyword arguments of the processing.

    Parameters
    ----------
    config
        The validated ``pdx`` section.

    Returns
    -------
    dict
        tumour_type, treatment, fragments, read_length, fragments_grid, read_length_grid,
        min_count, min_fraction, window, bin_width, bin_max_day, closed.
    """
    response = config["response"]
    return {
        "tumour_type": config["tumour_type"],
        "treatment": config["treatment"],
        "fragments": float(config["pseudocounts"]["fragments"]),
        "read_length": float(config["pseudocounts"]["read_length"]),
        "fragments_grid": [float(v) for v in config["sensitivity"]["fragments"]],
        "read_length_grid": [float(v) for v in config["sensitivity"]["read_lengths"]],
        "min_count": float(config["filter"]["min_count"]),
        "min_fraction": float(config["filter"]["min_fraction"]),
        "window": (float(response["window_start_day"]), float(response["window_end_day"])),
        "bin_width": float(response["bin_width"]),
        "bin_max_day": float(response["bin_max_day"]),
        "closed": str(response["closed"]),
    }


@dataclass
class PdxResult:
    """All outputs of :func:`process_pdx`.

    Attributes
    ----------
    pseudocounts
        Models × genes pseudo-counts (all genes with a length; official symbols).
    expression
        Models × genes voom logCPM after the low-expression filter.
    response, sensitivity, gene_mapping, dropped
        The tables written as TSV.
    summary
        Numbers for the log (genes by status, models, filter).
    """

    pseudocounts: pd.DataFrame
    expression: pd.DataFrame
    response: pd.DataFrame
    sensitivity: pd.DataFrame
    gene_mapping: pd.DataFrame
    dropped: pd.DataFrame
    summary: dict
    sensitivity_expression: pd.DataFrame | None = None


def process_pdx(
    tables: PdxTables,
    spans: pd.DataFrame,
    synonyms: pd.DataFrame | None,
    *,
    tumour_type: str = "NSCLC",
    treatment: str = "erlotinib",
    fragments: float = 35e6,
    read_length: float = 200.0,
    fragments_grid: Sequence[float] = (20e6, 35e6, 50e6),
    read_length_grid: Sequence[float] = (75.0, 100.0),
    min_count: float = 10.0,
    min_fraction: float = 0.2,
    window: tuple[float, float] = (10.0, 15.0),
    bin_width: float = 5.0,
    bin_max_day: float = 30.0,
    closed: str = "right",
) -> PdxResult:
    """Select the arm, convert its models' FPKM to pseudo-counts and voom, tabulate response.

    Parameters
    ----------
    tables
        Validated sheets (:func:`read_pdx_workbook` or :func:`read_pdx_csvs`).
    spans
        :func:`read_gene_spans` output.
    synonyms
        ``alias, official_symbol`` table or None.
    tumour_type, treatment
        The arm (treatment matched case-insensitively).
    fragments, read_length
        N and ℓ of the main pseudo-counts.
    fragments_grid, read_length_grid
        Settings of the sensitivity table.
    min_count, min_fraction
        Low-expression filter on pseudo-counts.
    window, bin_width, bin_max_day, closed
        Response binning (:func:`bin_tv_change`).

    Returns
    -------
    PdxResult
        Everything the rule writes.

    Raises
    ------
    InputFormatError
        If the arm is empty or fewer than 2 of its models have FPKM.
    """
    raw, metrics, tumour_types = select_arm(tables, tumour_type, treatment)
    if not len(tumour_types):
        treatments = sorted(set(tables.metrics["Treatment"].astype(str)))
        raise InputFormatError(
            f"{tables.sources['raw']}: no model of tumour type {tumour_type!r} treated with {treatment!r}; "
            f"treatments in {tables.sources['metrics']}: {', '.join(treatments[:30])}"
        )
    fpkm, repeated = fpkm_matrix(tables.fpkm, tumour_types.index)
    if len(fpkm) < 2:
        raise InputFormatError(
            f"{tables.sources['fpkm']}: {len(fpkm)} of the {len(tumour_types)} {tumour_type}/{treatment} "
            "models have an FPKM column; voom needs at least 2"
        )
    mapping = map_fpkm_genes(list(fpkm.columns), spans, synonyms)
    official_fpkm = renamed_fpkm(fpkm, mapping)
    lengths = lengths_from_mapping(mapping)
    main = pseudocount_expression(official_fpkm, lengths, fragments, read_length, min_count, min_fraction)
    too_short = set(main["too_short"])
    mapping.loc[mapping["symbol"].isin(too_short) & (mapping["status"] == "ok"), "status"] = "too_short"
    mapping["passes_filter"] = mapping["symbol"].isin(main["expression"].columns) & (mapping["status"] == "ok")
    if repeated:
        extra = pd.DataFrame({"source_symbol": repeated, "symbol": repeated, "symbol_mapping": "",
                              "span_length": np.nan, "length_source": "none", "n_loci": 0,
                              "status": "repeated_symbol", "detail": "repeated or empty symbol; first row used",
                              "passes_filter": False})
        mapping = pd.concat([mapping, extra], ignore_index=True)
    sensitivity, grid_expression = sensitivity_grid(official_fpkm, lengths, (fragments, read_length), fragments_grid,
                                                     read_length_grid, min_count, min_fraction)
    response = response_table(raw, metrics, tumour_types, fpkm.index, window, bin_width, bin_max_day, closed)
    window_column = f"tv_change_days_{interval_label(window[0], window[1], closed, window=True)}"
    dropped = dropped_models(tables, raw, metrics, response, window_column)
    summary = {
        "arm_models": len(tumour_types),
        "arm_models_with_fpkm": len(fpkm),
        **summarise_mapping(mapping),
        "genes_too_short": len(too_short),
        "genes_with_pseudocounts": main["counts"].shape[1],
        "genes_passing_filter": main["expression"].shape[1],
        "filter_min_samples": main["min_samples"],
    }
    return PdxResult(main["counts"], main["expression"], response, sensitivity, mapping, dropped, summary,
                     grid_expression)


def process_pdx_files(inputs: dict[str, str], outputs: dict[str, str], settings: dict) -> PdxResult:
    """Read the inputs, process the arm and write every output.

    Parameters
    ----------
    inputs
        Keys ``workbook`` or ``fpkm``/``raw_data``/``curve_metrics``, ``gene_spans`` and
        optionally ``synonyms``.
    outputs
        Keys ``pseudocounts, expression, response, sensitivity, gene_mapping, dropped``.
    settings
        The ``pdx`` config section (defaults filled).

    Returns
    -------
    PdxResult
        What was written.
    """
    if inputs.get("workbook"):
        tables = read_pdx_workbook(inputs["workbook"])
    else:
        tables = read_pdx_csvs(inputs["fpkm"], inputs["raw_data"], inputs["curve_metrics"])
    spans = read_gene_spans(inputs["gene_spans"])
    synonyms = parsers.read_symbol_synonyms(inputs["synonyms"]) if inputs.get("synonyms") else None
    options = config_settings(settings)
    log.info("arm and settings: %s", options)
    result = process_pdx(tables, spans, synonyms, **options)
    for key, value in result.summary.items():
        log.info("%s: %s", key, value)
    for row in result.dropped.itertuples(index=False):
        log.info("dropped %s (%s): %s", row.item, row.reason, row.detail)
    write_parquet_matrix(result.pseudocounts, outputs["pseudocounts"])
    write_parquet_matrix(result.expression, outputs["expression"])
    write_tsv(result.response, outputs["response"])
    write_tsv(result.sensitivity, outputs["sensitivity"])
    write_tsv(result.gene_mapping, outputs["gene_mapping"])
    write_tsv(result.dropped, outputs["dropped"])
    if outputs.get("sensitivity_expression"):
        with atomic_write(outputs["sensitivity_expression"]) as tmp:
            result.sensitivity_expression.to_parquet(tmp, index=False)
    return result
