"""A cohort given as prepared tables (normalised expression and outputs), e.g. the authors' subset.

The expression is used as it is (no voom). Outputs come from one table with a sample-id
first column and ``<TARGET>_dependency`` / ``<DRUG>_ic50`` columns; other columns are
ignored (a ``split`` column, for instance, is read by the fixed-split option instead).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forge.sources.harmonise import normalise_cell_line_name
from forge.io import InputFormatError, read_text_csv, require_columns
from forge.normalise import looks_like_counts

DEPENDENCY_SUFFIX = "_dependency"
IC50_SUFFIX = "_ic50"


def read_prepared(
    expression_path: str | Path, outputs_path: str | Path, models_path: str | Path | None = None
) -> dict[str, pd.DataFrame]:
    """Expression, dependency, response and samples tables of a prepared cohort.

    With ``models_path`` (a DepMap Model.csv), samples are matched to models by their
    normalised StrippedCellLineName to fill the lineage; unmatched samples keep an empty
    lineage and are listed in ``dropped`` (nothing else is dropped).

    Refused with :class:`InputFormatError` naming the file, column and sample: the input policy of
    :func:`forge.io.read_text_csv` (truncated, repeated columns, ...), tables without sample rows,
    missing or repeated sample ids, non-numeric, missing or infinite expression, non-numeric or
    infinite outputs, dependency outside [0, 1], columns that look like outputs but do not
    follow the ``<TARGET>_dependency`` / ``<DRUG>_ic50`` convention exactly, and expression that
    looks like raw counts (:func:`forge.normalise.looks_like_counts`: it would be used unnormalised).
    """
    expression = read_text_csv(expression_path, index_col=0, column_kind="gene")
    outputs = read_text_csv(outputs_path, index_col=0)
    for name, frame, path in (("expression", expression, expression_path), ("outputs", outputs, outputs_path)):
        if frame.empty:
            raise InputFormatError(f"{path}: the {name} table has a header but no sample rows (or no column after "
                                   "the sample ids); expected one row per sample")
        if frame.index.isna().any():
            row = int(np.flatnonzero(frame.index.isna())[0]) + 2
            raise InputFormatError(f"{path}: line {row}: missing sample id in the first column")
        if frame.index.duplicated().any():
            raise InputFormatError(f"{path}: duplicated sample ids in the first column, e.g. "
                                   f"{frame.index[frame.index.duplicated()][:3].tolist()}")
    _check_numbers(expression, expression_path, "gene", allow_missing=False)
    if looks_like_counts(expression):  # used as it is (no voom): counts would be modelled on their raw scale
        raise InputFormatError(
            f"{expression_path}: the expression looks like raw counts (whole numbers >= 0 up to "
            f"{expression.to_numpy(dtype=np.float64).max():.0f}); a prepared cohort is used without voom, so give "
            "normalised log-scale expression (e.g. voom log2-CPM), or the DepMap count matrix with data.source: files"
        )
    _check_output_names(outputs.columns, outputs_path)
    dependency_cols = [c for c in outputs.columns if c.endswith(DEPENDENCY_SUFFIX)]
    ic50_cols = [c for c in outputs.columns if c.endswith(IC50_SUFFIX)]
    if not dependency_cols or not ic50_cols:
        raise InputFormatError(
            f"{outputs_path}: expected columns named <TARGET>{DEPENDENCY_SUFFIX} and <DRUG>{IC50_SUFFIX} "
            f"(e.g. EGFR{DEPENDENCY_SUFFIX}, ERLOTINIB{IC50_SUFFIX}); found {list(outputs.columns)}"
        )
    _check_numbers(outputs[dependency_cols], outputs_path, "dependency", allow_missing=True, minimum=0.0, maximum=1.0)
    _check_numbers(outputs[ic50_cols], outputs_path, "IC50", allow_missing=True)
    dependency = outputs[dependency_cols].rename(columns=lambda c: c[: -len(DEPENDENCY_SUFFIX)])
    response = outputs[ic50_cols].rename(columns=lambda c: c[: -len(IC50_SUFFIX)])
    index_name = "ModelID"  # the cohort format's sample key; here the given sample ids
    for frame in (expression, dependency, response):
        frame.index = frame.index.astype(str)
        frame.index.name = index_name
    samples = pd.DataFrame(index=expression.index.union(outputs.index.astype(str)))
    samples.index.name = index_name
    samples["StrippedCellLineName"] = samples.index
    samples["OncotreeLineage"] = pd.NA
    dropped = pd.DataFrame(columns=["source", "item", "reason", "detail"])
    if models_path:
        models = read_text_csv(models_path, dtype=str)
        require_columns(models, ["StrippedCellLineName", "OncotreeLineage"], models_path)
        if models.empty:
            raise InputFormatError(f"{models_path}: the model table has a header but no rows; expected one row per model")
        key = models["StrippedCellLineName"].map(normalise_cell_line_name)
        unique = models[~key.duplicated(keep=False)].assign(key=key[~key.duplicated(keep=False)])
        lineage = unique.set_index("key")["OncotreeLineage"]
        samples["OncotreeLineage"] = [lineage.get(normalise_cell_line_name(s), pd.NA) for s in samples.index]
        unmatched = samples.index[samples["OncotreeLineage"].isna()]
        dropped = pd.DataFrame(
            {"source": Path(models_path).name, "item": unmatched, "reason": "no_lineage",
             "detail": "no unique model with this StrippedCellLineName; lineage left empty"}
        )
    samples["has_expression"] = samples.index.isin(expression.index)
    samples["has_dependency"] = samples.index.isin(dependency.index)
    samples["has_response"] = samples.index.isin(response.index)
    return dict(
        expression=expression, dependency=dependency, response=response,
        samples=samples.reset_index(), dropped=dropped,
    )


def output_column_convention() -> str:
    """How the outputs table of a prepared cohort names its columns (quoted in error messages)."""
    return (f"prepared outputs columns are <TARGET>{DEPENDENCY_SUFFIX} and <DRUG>{IC50_SUFFIX}, with the target "
            "gene symbol and the drug name exactly as in the pairs table (drug names are upper-case by convention)")


def _check_output_names(columns: pd.Index, path: str | Path) -> None:
    """Refuse a column that looks like an output but misses the exact suffix (it would be ignored silently)."""
    for column in map(str, columns):
        for suffix in (DEPENDENCY_SUFFIX, IC50_SUFFIX):
            if column.lower().endswith(suffix) and not column.endswith(suffix):
                raise InputFormatError(
                    f"{path}: column {column!r}: the suffix must be exactly {suffix!r} (lower case); "
                    f"{output_column_convention()}; rename it to {column[: -len(suffix)] + suffix!r}"
                )
            if column == suffix:
                raise InputFormatError(f"{path}: column {column!r} has no name before {suffix!r}; "
                                       f"{output_column_convention()}")


def _check_numbers(frame: pd.DataFrame, path: str | Path, what: str, *, allow_missing: bool,
                   minimum: float | None = None, maximum: float | None = None) -> None:
    """Refuse, naming column and sample, a non-numeric, infinite, missing or out-of-range value."""
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        text = numbers.isna() & values.notna()
        if text.any():
            sample = values.index[text.to_numpy()][0]
            raise InputFormatError(f"{path}: column {column!r}, sample {sample!r}: non-numeric value "
                                   f"{values[text].iloc[0]!r}; expected a number ({what})")
    array = frame.to_numpy(dtype=np.float64)
    problems = [(np.isinf(array), "infinite value; expected a finite number")]
    if not allow_missing:
        problems.append((np.isnan(array), "missing value; expected a number in every cell"))
    if minimum is not None:
        problems.append((array < minimum, f"value below {minimum:g}; expected {what} in [{minimum:g}, {maximum:g}]"))
    if maximum is not None:
        problems.append((array > maximum, f"value above {maximum:g}; expected {what} in [{minimum:g}, {maximum:g}]"))
    for mask, message in problems:
        if mask.any():
            row, col = np.argwhere(mask)[0]
            raise InputFormatError(f"{path}: column {frame.columns[col]!r}, sample {frame.index[row]!r}: {message} "
                                   f"(found {float(array[row, col])!r})")


def check_prepared_columns(outputs_path: str | Path, pairs: pd.DataFrame) -> None:
    """Parse-time check that the prepared outputs table has every listed pair's columns.

    Reads only the header. Each pair needs ``<TARGET>_dependency`` and ``<DRUG>_ic50`` (and
    ``<EXTRA>_ic50`` for its extra drugs); a missing one is refused naming the file, the pair,
    the convention and the nearest existing columns, before any job runs.
    """
    from forge.io import not_found_message, read_text_lines

    lines = read_text_lines(outputs_path)
    header = next((line for line in lines if line.strip()), "")
    columns = [c.strip().strip('"') for c in header.rstrip("\r\n").split("\t" if "\t" in header else ",")][1:]
    problems = []
    for row in pairs.itertuples():
        extra = [d.strip() for d in str(row.extra_drugs).split(",") if d.strip()]
        wanted = [f"{row.target}{DEPENDENCY_SUFFIX}"] + [f"{drug}{IC50_SUFFIX}" for drug in [row.drug, *extra]]
        for column in wanted:
            if column not in columns:
                problems.append(f"pair {row.name}: " + not_found_message(
                    "column", column, columns,
                    f"a prepared cohort's outputs are named <TARGET>{DEPENDENCY_SUFFIX} and <DRUG>{IC50_SUFFIX}, "
                    "case-sensitive (drug names upper-case)"))
    if problems:
        raise InputFormatError(f"{outputs_path}: " + "\n  ".join(problems))
