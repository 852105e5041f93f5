"""A cohort given as prepared tables (normalised expression and outputs), e.g. the authors' subset.

The expression is used as it is (no voom). Outputs come from one table with a sample-id
first column and ``<TARGET>_dependency`` / ``<DRUG>_ic50`` columns; other columns are
ignored (a ``split`` column, for instance, is read by the fixed-split option instead).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forge.sources.harmonise import normalise_cell_line_name
from forge.io import InputFormatError, read_text_csv

DEPENDENCY_SUFFIX = "_dependency"
IC50_SUFFIX = "_ic50"


def read_prepared(
    expression_path: str | Path, outputs_path: str | Path, models_path: str | Path | None = None
) -> dict[str, pd.DataFrame]:
    """Expression, dependency, response and samples tables of a prepared cohort.

    With ``models_path`` (a DepMap Model.csv), samples are matched to models by their
    normalised StrippedCellLineName to fill the lineage; unmatched samples keep an empty
    lineage and are listed in ``dropped`` (nothing else is dropped).
    """
    expression = read_text_csv(expression_path, index_col=0)
    outputs = read_text_csv(outputs_path, index_col=0)
    for name, frame, path in (("expression", expression, expression_path), ("outputs", outputs, outputs_path)):
        if frame.index.duplicated().any():
            raise InputFormatError(f"{path}: duplicated sample ids in the first column, e.g. "
                                   f"{frame.index[frame.index.duplicated()][:3].tolist()}")
    non_numeric = [c for c in expression.columns if not pd.api.types.is_numeric_dtype(expression[c])]
    if non_numeric:
        raise InputFormatError(f"{expression_path}: non-numeric gene column(s) {non_numeric[:5]}")
    dependency_cols = [c for c in outputs.columns if c.endswith(DEPENDENCY_SUFFIX)]
    ic50_cols = [c for c in outputs.columns if c.endswith(IC50_SUFFIX)]
    if not dependency_cols or not ic50_cols:
        raise InputFormatError(
            f"{outputs_path}: expected columns named <TARGET>{DEPENDENCY_SUFFIX} and <DRUG>{IC50_SUFFIX}; "
            f"found {list(outputs.columns)}"
        )
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
