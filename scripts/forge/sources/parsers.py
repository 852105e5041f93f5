"""Readers for the raw source files (DepMap, CREAMMIST, drug targets, symbol synonyms).

Each reader validates the columns and numeric content it relies on and raises
:class:`forge.io.InputFormatError` naming the file and the column when something is wrong.
Readers that drop anything return ``(data, dropped)`` where ``dropped`` is a table with the
columns of :data:`DROPPED_COLUMNS` (``source, item, reason, detail``), so that the caller can
report every removed row or column; nothing is dropped silently.

The same readers serve the demo files of :mod:`forge.sources.demo_data` and the real downloads.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from forge.io import InputFormatError, check_text_input, require_columns, utf8_error

__all__ = [
    "DROPPED_COLUMNS",
    "MODEL_COLUMNS",
    "empty_dropped",
    "key_counts_by_model",
    "read_counts",
    "read_counts_matrix",
    "read_creammist_cell_lines",
    "read_dependency",
    "read_drug_targets",
    "read_ic50",
    "read_models",
    "read_profiles",
    "read_symbol_synonyms",
    "select_rna_profiles",
    "strip_gene_suffixes",
]

DROPPED_COLUMNS = ["source", "item", "reason", "detail"]
MODEL_COLUMNS = [
    "ModelID",
    "CellLineName",
    "StrippedCellLineName",
    "OncotreeLineage",
    "OncotreePrimaryDisease",
    "RRID",
]
PROFILE_COLUMNS = ["ProfileID", "ModelID", "Datatype", "IsDefaultEntryForModel"]

PathLike = str | os.PathLike[str]

# "SYMBOL (ENSG00000123456)" or "SYMBOL (1956)": the symbol is everything before the last
# parenthesised identifier.
_GENE_SUFFIX = re.compile(r"^(?P<symbol>.*?)\s*\((?P<identifier>[^()]*)\)\s*$")


def empty_dropped() -> pd.DataFrame:
    """Return an empty report table with the :data:`DROPPED_COLUMNS` columns."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in DROPPED_COLUMNS})


def _dropped(source: str, items: Iterable[str], reason: str, details: Iterable[str] | str) -> pd.DataFrame:
    items = [str(i) for i in items]
    if isinstance(details, str):
        details = [details] * len(items)
    frame = pd.DataFrame({"source": source, "item": items, "reason": reason, "detail": list(details)})
    return frame if len(frame) else empty_dropped()


def _concat_dropped(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_dropped()
    return pd.concat(frames, ignore_index=True)[DROPPED_COLUMNS]


# --------------------------------------------------------------------------------------------
# Low-level CSV reading and validation
# --------------------------------------------------------------------------------------------


def _read_header(path: PathLike) -> list[str]:
    """Read only the header row (cheap even for 60,000-column files), after the input-policy checks.

    :func:`forge.io.check_text_input` refuses a mis-named compressed file, an empty file and a
    file whose last line is cut; a UTF-8 byte-order mark is dropped (as pyarrow does), so that it
    cannot rename the first column.
    """
    check_text_input(path)
    opener = gzip.open if str(path).lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            first = handle.readline()
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise utf8_error(path, err) from err
    except (OSError, EOFError) as err:
        raise InputFormatError(f"{path}: cannot read the header row ({err})") from err
    row = next(csv.reader([text]), None)
    if not row:
        raise InputFormatError(f"{path}: file is empty; expected a CSV header row")
    return row


def _read_csv(path: PathLike, *, all_strings: bool = False) -> pd.DataFrame:
    """Read a CSV with the pyarrow engine, turning parser failures into clear errors.

    The pyarrow engine is much faster on the wide DepMap matrices and, unlike the C engine,
    rejects rows with too few fields, which is how a truncated download shows up.
    """
    header = _read_header(path)
    _check_unique_header([name.strip() for name in header], path, "")
    options: dict = {"engine": "pyarrow"}
    if all_strings:
        # dtype=str would turn nulls into the literal string "None" with this engine;
        # object keeps them as missing and still prevents "0012" from becoming 12.
        options["dtype"] = object
    try:
        frame = pd.read_csv(path, **options)
    except FileNotFoundError:
        raise
    except pd.errors.EmptyDataError as err:
        raise InputFormatError(f"{path}: file is empty; expected a CSV header and rows") from err
    except (pd.errors.ParserError, ValueError, OSError, EOFError) as err:
        # Covers ArrowInvalid (short/long rows, unterminated quotes) and broken gzip streams.
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputFormatError(
            f"{path}: truncated or corrupt CSV (expected every row to have as many fields as "
            f"the header): {message}"
        ) from err
    if frame.shape[0] == 0:
        raise InputFormatError(f"{path}: the table has a header but no data rows; expected one row per entry")
    if all_strings:
        _refuse_non_utf8(frame, path)
        # Strip whitespace and treat empty strings as missing, whatever the column content.
        frame = frame.apply(
            lambda column: column.map(lambda v: (v.strip() or np.nan) if isinstance(v, str) else np.nan)
        ).astype(object)
    return frame


def _is_invalid_utf8(value) -> bool:
    if not isinstance(value, bytes):
        return False
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _refuse_non_utf8(frame: pd.DataFrame, path: PathLike) -> None:
    """Every text table is read as UTF-8 (the policy for all readers). The pyarrow reader returns a
    column holding one invalid byte as bytes, all of it, which would otherwise become missing values."""
    for column in frame.columns:
        invalid = frame[column].map(_is_invalid_utf8).to_numpy(dtype=bool)
        if invalid.any():
            row = int(np.flatnonzero(invalid)[0])
            raise InputFormatError(
                f"{path}: line {row + 2}, column {column!r}: {frame[column].iloc[row]!r} is not valid UTF-8 "
                f"({int(invalid.sum())} such cell(s) in that column); every text table is read as UTF-8: "
                "re-save the file as UTF-8"
            )


def _check_unique_header(header: Sequence[str], path: PathLike, what: str) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            kind = f"{what} " if what else ""
            raise InputFormatError(f"{path}: duplicate {kind}column {name!r}; expected unique column names")
        seen.add(name)


def _read_numeric_csv(path: PathLike, header: Sequence[str], row_label: str) -> pd.DataFrame:
    """Read a wide CSV whose first column holds identifiers and all others numbers.

    pyarrow parses straight into float64 columns (the pandas route is several times slower
    on the 60,000-column DepMap matrices). Declaring every data column float64 up front also
    avoids per-block type inference, which can reject a valid ``1.5`` after a block of integers.

    Returns a float64 frame indexed by the identifiers (as strings, missing kept as ``None``),
    columns in header order. Non-numeric values raise :class:`InputFormatError` naming the
    file, column and row.
    """
    id_label, data_labels = header[0], list(header[1:])
    column_types = {label: pa.float64() for label in data_labels}
    column_types[id_label] = pa.string()
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=1 << 26),
            convert_options=pa_csv.ConvertOptions(column_types=column_types, strings_can_be_null=True),
        )
    except pa.ArrowInvalid as err:
        message = str(err).splitlines()[0]
        conversion = re.search(r"In CSV column #(\d+): .*invalid value '(.*)'", message)
        if conversion:
            _raise_non_numeric(path, header, int(conversion.group(1)), conversion.group(2), row_label)
        raise InputFormatError(
            f"{path}: truncated or corrupt CSV (expected every row to have as many fields as the "
            f"header, {len(header)}): {message}"
        ) from err
    except (OSError, EOFError) as err:
        raise InputFormatError(f"{path}: cannot read the file, truncated or corrupt ({err})") from err
    if table.num_columns != len(header):
        raise InputFormatError(f"{path}: expected {len(header)} columns from the header, parsed {table.num_columns}")
    ids = table.column(0).to_pylist()
    values = np.empty((table.num_rows, len(data_labels)), dtype=np.float64)
    for j in range(len(data_labels)):
        # Nulls (empty fields, "NA") become NaN.
        values[:, j] = table.column(j + 1).to_numpy(zero_copy_only=False)
    del table
    return pd.DataFrame(values, index=pd.Index(ids, dtype=object), columns=data_labels)


def _raise_non_numeric(path: PathLike, header: Sequence[str], column_number: int, value: str, row_label: str) -> None:
    """Locate the row of a non-numeric value reported by pyarrow and raise a clear error."""
    column = header[column_number]
    row = "?"
    try:
        both = pa_csv.read_csv(
            path,
            convert_options=pa_csv.ConvertOptions(
                include_columns=[header[0], column], column_types={header[0]: pa.string(), column: pa.string()}
            ),
        )
        texts = both.column(1).to_pylist()
        row = both.column(0)[texts.index(value)].as_py()
    except (pa.ArrowInvalid, ValueError, OSError):
        pass  # the column/value are already enough to find the problem
    raise InputFormatError(f"{path}: column {column!r}, {row_label} {row!r}: non-numeric value {value!r}; expected a number")


def _check_values(
    matrix: pd.DataFrame,
    path: PathLike,
    row_label: str,
    *,
    allow_missing: bool,
    minimum: float | None = None,
    maximum: float | None = None,
) -> None:
    """Raise :class:`InputFormatError` on the first infinite, missing or out-of-range value."""
    array = matrix.to_numpy()
    problems = [(np.isinf(array), "infinite value; expected a finite number")]
    if not allow_missing:
        problems.append((np.isnan(array), "missing value; expected a number"))
    if minimum is not None:
        problems.append((array < minimum, f"value below {minimum}; expected values >= {minimum}"))
    if maximum is not None:
        problems.append((array > maximum, f"value above {maximum}; expected values <= {maximum}"))
    for mask, message in problems:
        if mask.any():
            r, c = np.argwhere(mask)[0]
            raise InputFormatError(
                f"{path}: column {matrix.columns[c]!r}, {row_label} {matrix.index[r]!r}: "
                f"{message} (found {float(array[r, c])!r})"
            )


def strip_gene_suffixes(labels: Sequence[str], source: str) -> tuple[list[str | None], pd.DataFrame]:
    """Turn ``"SYMBOL (ENSG…)"`` / ``"SYMBOL (Entrez)"`` labels into symbols.

    Parameters
    ----------
    labels
        Column labels of a gene matrix.
    source
        Source name used in the report (usually the file name).

    Returns
    -------
    symbols
        One entry per label: the symbol to keep, or ``None`` if the column is dropped
        (no symbol before the identifier, or a symbol already taken by an earlier column;
        the first occurrence is kept).
    dropped
        Report of dropped columns (reasons ``no_symbol`` and ``duplicate_symbol``).
    """
    symbols: list[str | None] = []
    first_label: dict[str, str] = {}
    reports = []
    for label in labels:
        match = _GENE_SUFFIX.match(label)
        symbol = (match.group("symbol") if match else label).strip()
        if not symbol:
            symbols.append(None)
            reports.append(_dropped(source, [label], "no_symbol", "gene column has no symbol before its identifier"))
        elif symbol in first_label:
            symbols.append(None)
            reports.append(
                _dropped(source, [label], "duplicate_symbol", f"symbol {symbol} already taken by column {first_label[symbol]!r}; first kept")
            )
        else:
            first_label[symbol] = label
            symbols.append(symbol)
    return symbols, _concat_dropped(reports)


def _gene_matrix(
    path: PathLike, index_name: str, *, allow_missing: bool, minimum: float | None, maximum: float | None,
    what: str = "matrix", row_noun: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a DepMap-style matrix: unnamed id column, then ``"SYMBOL (ID)"`` gene columns."""
    header = _read_header(path)
    if len(header) < 2:
        raise InputFormatError(f"{path}: expected an identifier column followed by gene columns, found {len(header)} column(s)")
    if header[0] not in ("", index_name, "Unnamed: 0"):
        raise InputFormatError(
            f"{path}: first column is {header[0]!r}; expected an unnamed (or {index_name!r}) identifier column"
        )
    _check_unique_header(header, path, "gene")
    frame = _read_numeric_csv(path, header, index_name)
    if frame.shape[0] == 0:  # a header without rows would otherwise build a zero-sample cohort
        raise InputFormatError(f"{path}: the {what} has a header but no {row_noun or index_name} rows; "
                              f"expected one row per {index_name}")
    ids = pd.Series(frame.index, dtype=object)
    if ids.isna().any():
        row = int(np.argmax(ids.isna().to_numpy())) + 2
        raise InputFormatError(f"{path}: column {index_name!r} (first column), line {row}: missing identifier")

    source = Path(path).name
    reports = []
    duplicated = ids.duplicated(keep="first").to_numpy()
    if duplicated.any():
        reports.append(_dropped(source, ids[duplicated], f"duplicate_{index_name}", "row identifier repeated; first row kept"))
        frame = frame.loc[~duplicated]
    frame.index.name = index_name

    symbols, gene_report = strip_gene_suffixes([str(c) for c in frame.columns], source)
    reports.append(gene_report)
    keep = np.array([s is not None for s in symbols], dtype=bool)
    matrix = frame.loc[:, keep] if not keep.all() else frame
    matrix.columns = pd.Index([s for s in symbols if s is not None], dtype=object)
    _check_values(matrix, path, index_name, allow_missing=allow_missing, minimum=minimum, maximum=maximum)
    return matrix, _concat_dropped(reports)


# --------------------------------------------------------------------------------------------
# DepMap
# --------------------------------------------------------------------------------------------


def read_models(path: PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read DepMap ``Model.csv``.

    Parameters
    ----------
    path
        Model table with at least the columns of :data:`MODEL_COLUMNS`.

    Returns
    -------
    models
        All columns as strings (missing values as ``NaN``), indexed by nothing (``ModelID``
        is a column), one row per ModelID.
    dropped
        Rows without a ModelID or with a repeated ModelID (first kept).
    """
    models = _read_csv(path, all_strings=True)
    require_columns(models, MODEL_COLUMNS, path)
    source = Path(path).name
    reports = []
    no_id = models["ModelID"].isna()
    if no_id.any():
        reports.append(_dropped(source, [f"row {i + 2}" for i in np.flatnonzero(no_id)], "missing_ModelID", "row has no ModelID"))
        models = models.loc[~no_id]
    duplicated = models["ModelID"].duplicated(keep="first")
    if duplicated.any():
        reports.append(_dropped(source, models.loc[duplicated, "ModelID"], "duplicate_ModelID", "ModelID repeated; first row kept"))
        models = models.loc[~duplicated]
    return models.reset_index(drop=True), _concat_dropped(reports)


def read_profiles(path: PathLike) -> pd.DataFrame:
    """Read DepMap ``OmicsProfiles.csv``.

    Parameters
    ----------
    path
        Profile table with ProfileID, ModelID, Datatype and IsDefaultEntryForModel.

    Returns
    -------
    pandas.DataFrame
        All columns as stripped strings; ``Datatype`` lower-cased.
    """
    profiles = _read_csv(path, all_strings=True)
    require_columns(profiles, PROFILE_COLUMNS, path)
    if profiles["ProfileID"].isna().any():
        row = int(np.argmax(profiles["ProfileID"].isna().to_numpy())) + 2
        raise InputFormatError(f"{path}: column 'ProfileID', line {row}: missing ProfileID; expected an identifier")
    duplicated = profiles["ProfileID"].duplicated()
    if duplicated.any():
        raise InputFormatError(
            f"{path}: column 'ProfileID': {profiles.loc[duplicated, 'ProfileID'].iloc[0]!r} appears more than once; "
            "expected one row per ProfileID"
        )
    flags = profiles["IsDefaultEntryForModel"].fillna("No")
    unexpected = ~flags.str.lower().isin(["yes", "no", "true", "false"])
    if unexpected.any():
        raise InputFormatError(
            f"{path}: column 'IsDefaultEntryForModel': value {flags[unexpected].iloc[0]!r}; expected 'Yes' or 'No'"
        )
    profiles["IsDefaultEntryForModel"] = flags.str.lower().isin(["yes", "true"])
    profiles["Datatype"] = profiles["Datatype"].map(lambda v: v.lower() if isinstance(v, str) else v)
    return profiles


def select_rna_profiles(
    profiles: pd.DataFrame, available_profile_ids: Iterable[str], source: str = "OmicsProfiles.csv"
) -> tuple[pd.Series, pd.DataFrame]:
    """Choose one RNA profile per model among the profiles present in the count matrix.

    Rule, per ModelID, over its ``Datatype == "rna"`` profiles that have counts:
    one candidate → use it; otherwise the single default entry
    (``IsDefaultEntryForModel``); no default (or several) → the first by ProfileID, reported.

    Parameters
    ----------
    profiles
        Output of :func:`read_profiles`.
    available_profile_ids
        ProfileIDs present in the count matrix.
    source
        Name used in the report.

    Returns
    -------
    profile_to_model
        Series indexed by the chosen ProfileID with the ModelID as value.
    dropped
        Every available profile not used, and every model whose choice needed the fallback.
    """
    available = pd.Index(pd.unique(pd.Series(list(available_profile_ids), dtype=str)))
    known = profiles.set_index("ProfileID")
    reports = []

    unknown = available.difference(known.index, sort=False)
    if len(unknown):
        reports.append(_dropped(source, unknown, "profile_without_model", "ProfileID of the count matrix is not in the profile table"))
    present = known.loc[available.intersection(known.index, sort=False)].rename_axis("ProfileID").reset_index()

    no_model = present["ModelID"].isna()
    if no_model.any():
        reports.append(_dropped(source, present.loc[no_model, "ProfileID"], "profile_without_model", "profile has no ModelID"))
    not_rna = present["Datatype"].ne("rna") & ~no_model
    if not_rna.any():
        reports.append(
            _dropped(source, present.loc[not_rna, "ProfileID"], "not_rna_profile", [f"Datatype {d!r}" for d in present.loc[not_rna, "Datatype"]])
        )
    candidates = present.loc[~no_model & ~not_rna].sort_values(["ModelID", "ProfileID"])

    chosen: dict[str, str] = {}
    for model_id, group in candidates.groupby("ModelID", sort=True):
        ids = group["ProfileID"].tolist()
        if len(ids) == 1:
            chosen[ids[0]] = model_id
            continue
        defaults = group.loc[group["IsDefaultEntryForModel"], "ProfileID"].tolist()
        if len(defaults) == 1:
            pick = defaults[0]
        else:
            pick = ids[0]
            reason = "no_default_profile" if not defaults else "multiple_default_profiles"
            reports.append(
                _dropped(source, [model_id], reason, f"{len(ids)} rna profiles ({', '.join(ids)}); took first by ProfileID: {pick}")
            )
        chosen[pick] = model_id
        others = [p for p in ids if p != pick]
        reports.append(_dropped(source, others, "non_selected_profile", f"model {model_id} uses profile {pick}"))

    profile_to_model = pd.Series(chosen, name="ModelID", dtype=str)
    profile_to_model.index.name = "ProfileID"
    return profile_to_model, _concat_dropped(reports)


# What to do with a count that is not a whole number (config data.non_integer_counts).
NON_INTEGER_COUNTS = ("refuse", "round")

# Gene columns per block of the whole-number check (bounds its temporaries on DepMap-size matrices).
_INTEGER_CHECK_COLUMNS = 2048


def check_integer_counts(
    counts: pd.DataFrame, path: PathLike, row_label: str, non_integer: str = "refuse"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refuse (or, with ``non_integer="round"``, round and report) counts that are not whole numbers.

    Raw read counts are whole numbers; a fractional value means the file holds something else
    (expected counts, TPM, normalised values) or was altered, and voom would take it as it is.

    Parameters
    ----------
    counts
        Samples × genes, finite and non-negative (checked before).
    path
        The file, named in the error and the report.
    row_label
        What a row is (``ProfileID``), named in the error.
    non_integer
        ``"refuse"`` (default): raise :class:`InputFormatError` naming the file, the sample, the
        gene and the value; ``"round"``: round to the nearest whole number (half to even, as R's
        ``round``) and report every gene with rounded values.

    Returns
    -------
    counts
        The counts (a rounded copy when asked).
    report
        One row per gene with rounded values (reason ``non_integer_count_rounded``): how many
        values and the first sample; empty when every count is whole.
    """
    if non_integer not in NON_INTEGER_COUNTS:
        raise ValueError(f"non_integer must be one of {NON_INTEGER_COUNTS}; got {non_integer!r}")
    values = counts.to_numpy()
    fractional_counts = np.zeros(values.shape[1], dtype=np.int64)  # per gene
    for start in range(0, values.shape[1], _INTEGER_CHECK_COLUMNS):
        block = values[:, start : start + _INTEGER_CHECK_COLUMNS]
        fractional_counts[start : start + block.shape[1]] = (block != np.rint(block)).sum(axis=0)
    genes = np.flatnonzero(fractional_counts)
    if not len(genes):
        return counts, empty_dropped()
    rows = []
    for c in genes:
        r = int(np.flatnonzero(values[:, c] != np.rint(values[:, c]))[0])
        rows.append((str(counts.columns[c]), int(fractional_counts[c]), str(counts.index[r]), float(values[r, c])))
    if non_integer == "refuse":
        gene, _, sample, value = rows[0]
        raise InputFormatError(
            f"{path}: column {gene!r}, {row_label} {sample!r}: non-integer count {value!r} "
            f"({int(fractional_counts.sum())} non-integer value(s) in {len(genes)} gene(s)); expected raw read counts "
            "(whole numbers), not expected counts, TPM or normalised values. Set data.non_integer_counts: round to "
            "round them (each rounded gene is then reported in dropped.tsv)"
        )
    counts = counts.copy()
    counts.iloc[:, genes] = np.rint(values[:, genes])
    report = _dropped(
        Path(path).name, [gene for gene, *_ in rows], "non_integer_count_rounded",
        [f"{n} value(s) rounded to the nearest whole number (data.non_integer_counts: round), e.g. {row_label} "
         f"{sample}: {value!r}" for _, n, sample, value in rows],
    )
    return counts, report


def read_counts_matrix(path: PathLike, non_integer: str = "refuse") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the DepMap profile-level raw count matrix.

    Parameters
    ----------
    path
        ``OmicsExpressionRNASeQCGeneCountProfile.csv``: unnamed ProfileID column, then
        ``"SYMBOL (ENSG…)"`` columns with non-negative whole-number counts (written as
        integers or as integer-valued floats, ``12.0``).
    non_integer
        A count that is not a whole number is refused naming the file, ProfileID and gene
        (``"refuse"``, the default), or rounded and reported (``"round"``); see
        :func:`check_integer_counts`.

    Returns
    -------
    counts
        float64 matrix indexed by ProfileID, columns gene symbols.
    dropped
        Duplicate profiles, columns without a symbol and duplicate symbols (first kept), and
        genes with rounded counts.
    """
    matrix, report = _gene_matrix(path, "ProfileID", allow_missing=False, minimum=0.0, maximum=None,
                                  what="count matrix", row_noun="profile")
    matrix, rounded = check_integer_counts(matrix, path, "ProfileID", non_integer)
    return matrix, _concat_dropped([report, rounded])


def read_counts(counts_path: PathLike, profiles_path: PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read raw counts and key them by ModelID using one RNA profile per model.

    Parameters
    ----------
    counts_path
        Profile-level count matrix (see :func:`read_counts_matrix`).
    profiles_path
        ``OmicsProfiles.csv`` (see :func:`read_profiles`).

    Returns
    -------
    counts
        float64 matrix indexed by ModelID (sorted), columns gene symbols.
    dropped
        Combined report of both files (see :func:`select_rna_profiles`).
    """
    matrix, matrix_report = read_counts_matrix(counts_path)
    profiles = read_profiles(profiles_path)
    profile_to_model, profile_report = select_rna_profiles(profiles, matrix.index, source=Path(profiles_path).name)
    return key_counts_by_model(matrix, profile_to_model), _concat_dropped([matrix_report, profile_report])


def key_counts_by_model(matrix: pd.DataFrame, profile_to_model: pd.Series) -> pd.DataFrame:
    """Keep the chosen profiles of a ProfileID-indexed matrix and re-key it by ModelID.

    Parameters
    ----------
    matrix
        Output of :func:`read_counts_matrix`.
    profile_to_model
        Output of :func:`select_rna_profiles`.

    Returns
    -------
    pandas.DataFrame
        Matrix indexed by ModelID (sorted).
    """
    counts = matrix.loc[profile_to_model.index]
    counts.index = pd.Index(profile_to_model.to_numpy(), name="ModelID")
    return counts.sort_index()


def read_dependency(path: PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read DepMap ``CRISPRGeneDependency.csv``.

    Parameters
    ----------
    path
        Unnamed ModelID column, then ``"SYMBOL (Entrez)"`` columns with probabilities in
        [0, 1]; missing values allowed.

    Returns
    -------
    dependency
        float64 matrix indexed by ModelID, columns gene symbols.
    dropped
        Duplicate models and gene columns dropped (first kept).
    """
    return _gene_matrix(path, "ModelID", allow_missing=True, minimum=0.0, maximum=1.0, what="dependency matrix", row_noun="model")


# --------------------------------------------------------------------------------------------
# CREAMMIST and annotation
# --------------------------------------------------------------------------------------------


def read_ic50(path: PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the CREAMMIST IC50 table (drugs × cell lines) as cell lines × drugs.

    Parameters
    ----------
    path
        CSV with a ``drug`` column then one column per CREAMMIST cell-line name; log-scale
        IC50, empty = not measured.

    Returns
    -------
    ic50
        float64 matrix indexed by CREAMMIST cell-line name (index name ``cell_line_name``),
        columns upper-case drug names.
    dropped
        Repeated drugs (first kept).
    """
    header = _read_header(path)
    if not header or header[0].strip().lower() != "drug":
        raise InputFormatError(f"{path}: first column is {header[0]!r}; expected 'drug'")
    _check_unique_header(header, path, "cell-line")
    frame = _read_numeric_csv(path, header, "drug")
    if frame.shape[0] == 0:
        raise InputFormatError(f"{path}: the IC50 table has a header but no drug rows; expected one row per drug")
    if frame.shape[1] == 0:
        raise InputFormatError(f"{path}: the IC50 table has no cell-line column; expected 'drug' then one column per cell line")
    drugs = pd.Series(frame.index, dtype=object)
    if drugs.isna().any():
        row = int(np.argmax(drugs.isna().to_numpy())) + 2
        raise InputFormatError(f"{path}: column 'drug', line {row}: missing drug name")
    drugs = drugs.str.strip().str.upper()
    source = Path(path).name
    duplicated = drugs.duplicated(keep="first").to_numpy()
    report = _dropped(source, drugs[duplicated], "duplicate_drug", "drug repeated (after upper-casing); first row kept")
    matrix = frame.loc[~duplicated]
    matrix.index = pd.Index(drugs[~duplicated].to_numpy(), name="drug")
    matrix.columns = [str(c).strip() for c in matrix.columns]
    _check_values(matrix, path, "drug", allow_missing=True)
    ic50 = matrix.T
    ic50.index.name = "cell_line_name"
    ic50.columns.name = None
    return ic50, report


def read_creammist_cell_lines(path: PathLike) -> pd.Series:
    """Read the CREAMMIST cell-line table (name → RRID).

    Parameters
    ----------
    path
        CSV with ``cell_line_name`` and ``cellosaurus_index`` (RRID, may be empty).

    Returns
    -------
    pandas.Series
        RRID indexed by cell-line name; names without an RRID are omitted.
    """
    table = _read_csv(path, all_strings=True)
    require_columns(table, ["cell_line_name", "cellosaurus_index"], path)
    names = table["cell_line_name"]
    rrids = table["cellosaurus_index"]
    bad = rrids.notna() & ~rrids.fillna("").str.match(r"^CVCL_[A-Z0-9]{4}$")
    if bad.any():
        raise InputFormatError(
            f"{path}: column 'cellosaurus_index', cell line {names[bad].iloc[0]!r}: value {rrids[bad].iloc[0]!r}; "
            "expected a Cellosaurus RRID like 'CVCL_0023' or empty"
        )
    keep = names.notna() & rrids.notna()
    series = pd.Series(rrids[keep].to_numpy(), index=names[keep].to_numpy(), name="RRID")
    series.index.name = "cell_line_name"
    conflicting = series.groupby(level=0).nunique() > 1
    if conflicting.any():
        name = conflicting.index[conflicting][0]
        raise InputFormatError(
            f"{path}: column 'cell_line_name': {name!r} is listed with different RRIDs "
            f"{sorted(series[series.index == name].unique())}; expected one RRID per cell line"
        )
    return series[~series.index.duplicated(keep="first")]  # repeats with the same RRID are the same entry


def read_drug_targets(path: PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the drug → target annotation as a long table.

    Parameters
    ----------
    path
        CSV with ``Drug`` and ``Target`` (comma-separated symbols in one field).

    Returns
    -------
    targets
        Long table with columns ``drug`` (upper-case) and ``target``, unique pairs, in file order.
    dropped
        Drugs without any target (``no_target``), and drugs listed on several rows
        (``repeated_drug``: nothing is dropped, their targets are merged, but it is reported).
    """
    table = _read_csv(path, all_strings=True)
    require_columns(table, ["Drug", "Target"], path)
    drugs = table["Drug"]
    if drugs.isna().any():
        row = int(np.argmax(drugs.isna().to_numpy())) + 2
        raise InputFormatError(f"{path}: column 'Drug', line {row}: missing drug name")
    drugs = drugs.str.upper()
    source = Path(path).name
    repeated = drugs[drugs.duplicated(keep=False)]
    merged = _dropped(
        source, sorted(set(repeated)), "repeated_drug",
        [f"rows {', '.join(str(i + 2) for i in np.flatnonzero(drugs.eq(d).to_numpy()))} (after upper-casing); "
         "the targets of every row are kept" for d in sorted(set(repeated))],
    )
    long = pd.DataFrame({"drug": drugs, "target": table["Target"].fillna("").str.split(",")}).explode("target")
    long["target"] = long["target"].str.strip()
    has_target = long["target"].notna() & long["target"].ne("")
    without = sorted(set(drugs) - set(long.loc[has_target, "drug"]))
    report = _concat_dropped([_dropped(source, without, "no_target", "drug has no target symbol"), merged])
    long = long.loc[has_target].drop_duplicates().reset_index(drop=True)
    return long, report


def read_symbol_synonyms(path: PathLike) -> pd.DataFrame:
    """Read alias → official symbol pairs.

    Parameters
    ----------
    path
        CSV (optionally gzip) with ``alias`` and ``official_symbol``.

    Returns
    -------
    pandas.DataFrame
        Columns ``alias`` and ``official_symbol``, stripped, rows with empty fields removed.
    """
    table = _read_csv(path, all_strings=True)
    require_columns(table, ["alias", "official_symbol"], path)
    return table[["alias", "official_symbol"]].dropna().reset_index(drop=True)
