"""Assemble the inputs of one drug-target pair from a processed cohort."""

from __future__ import annotations

from typing import Any

import pandas as pd

from forge.modelling.model import PairData
from forge.io import InputFormatError, read_parquet_matrix
from forge.modelling.pairs import pair_record


def output_columns(pair: dict[str, Any], multi_drug: bool = False) -> list[str]:
    """Names of the pair's outputs: dependency first, then IC50 column(s)."""
    drugs = [pair["drug"]] + (list(pair.get("extra_drugs", [])) if multi_drug else [])
    return [f"{pair['target']}_dependency"] + [f"{drug}_ic50" for drug in drugs]


def assemble_outputs(
    expression: pd.DataFrame,
    dependency: pd.DataFrame,
    response: pd.DataFrame,
    pair: dict[str, Any],
    sources: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Samples with expression, target dependency and drug IC50, and what was dropped.

    Returns
    -------
    outputs : DataFrame (samples x [dependency, IC50, extra drugs' IC50 (may be NaN)]), sorted
    dropped : DataFrame (sample, reason) for every sample with some but not all data
    """
    sources = sources or {}
    target, drug = pair["target"], pair["drug"]
    if target not in dependency.columns:
        raise InputFormatError(
            f"{sources.get('dependency', 'dependency matrix')}: target gene column '{target}' "
            f"of pair {pair['name']} not found"
        )
    if drug not in response.columns:
        raise InputFormatError(
            f"{sources.get('response', 'response matrix')}: drug column '{drug}' "
            f"of pair {pair['name']} not found"
        )
    samples = expression.index.union(dependency.index).union(response.index)
    has = pd.DataFrame(
        {
            "expression": samples.isin(expression.index),
            "dependency": dependency[target].notna().reindex(samples, fill_value=False).to_numpy(),
            "ic50": response[drug].notna().reindex(samples, fill_value=False).to_numpy(),
        },
        index=samples,
    )
    complete = has.index[has.all(axis=1)]
    columns = output_columns(pair, multi_drug=True)
    outputs = pd.DataFrame(
        {columns[0]: dependency.loc[complete, target], columns[1]: response.loc[complete, drug]}
    )
    # extra drugs of the multi-drug model: kept where measured (NaN elsewhere)
    for extra, column in zip(pair.get("extra_drugs", []), columns[2:]):
        if extra not in response.columns:
            raise InputFormatError(
                f"{sources.get('response', 'response matrix')}: extra drug column '{extra}' "
                f"of pair {pair['name']} not found"
            )
        outputs[column] = response[extra].reindex(complete)
    outputs = outputs.sort_index()
    outputs.index.name = "sample"
    incomplete = has.loc[~has.all(axis=1)]
    dropped = pd.DataFrame(
        {
            "sample": incomplete.index,
            "reason": [
                "missing " + ", ".join(col for col in has.columns if not row[col])
                for _, row in incomplete.iterrows()
            ],
        }
    ).sort_values("sample")
    return outputs, dropped


def load_pair(
    inputs: Any, pair: dict[str, Any], split_path: str | None = None, expression: pd.DataFrame | None = None
) -> PairData:
    """Read a processed cohort's matrices and build the pair's :class:`PairData`.

    ``inputs`` has attributes ``expression``, ``dependency`` and ``response`` (paths);
    pass ``expression`` when the caller already read it. Without ``split_path`` every
    sample is labelled "train".
    """
    if expression is None:
        expression = read_parquet_matrix(inputs.expression)
    dependency = read_parquet_matrix(inputs.dependency)
    response = read_parquet_matrix(inputs.response)
    sources = dict(dependency=str(inputs.dependency), response=str(inputs.response))
    outputs, _ = assemble_outputs(expression, dependency, response, pair, sources)
    if split_path is None:
        split = pd.Series("train", index=outputs.index, name="split")
    else:
        split = pd.read_csv(split_path, sep="\t", index_col="sample")["split"]
        unknown = split.index.difference(outputs.index)
        if len(unknown):
            raise InputFormatError(
                f"{split_path}: {len(unknown)} samples lack complete data for pair "
                f"{pair['name']}, e.g. {list(unknown[:3])}"
            )
    return PairData(expression=expression.loc[split.index], outputs=outputs.loc[split.index], split=split)


def rule_pair_inputs(smk: Any) -> tuple[dict[str, Any], PairData, list[str]]:
    """The pair record, its data with the split, and its genes, from a per-pair rule's inputs."""
    pair = pair_record(smk.input.pairs, smk.wildcards.pair)
    data = load_pair(smk.input, pair, smk.input.split)
    genes = pd.read_csv(smk.input.genes, sep="\t")["gene"].tolist()
    return pair, data, genes
