"""Assemble the inputs of one drug-target pair from a processed cohort."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from forge.modelling.model import PairData, check_split_sizes, split_requirements
from forge.io import InputFormatError, not_found_message, read_parquet_matrix, write_parquet_matrix
from forge.modelling.pairs import DRUG_CONVENTION, TARGET_CONVENTION, pair_record


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
        raise InputFormatError(f"{sources.get('dependency', 'dependency matrix')}: pair {pair['name']}: " + not_found_message(
            "target gene column", target, dependency.columns, TARGET_CONVENTION))
    if drug not in response.columns:
        raise InputFormatError(f"{sources.get('response', 'response matrix')}: pair {pair['name']}: " + not_found_message(
            "drug column", drug, response.columns, DRUG_CONVENTION))
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
            raise InputFormatError(f"{sources.get('response', 'response matrix')}: pair {pair['name']}: " + not_found_message(
                "extra drug column", extra, response.columns, DRUG_CONVENTION))
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


def check_outputs_vary(outputs: pd.DataFrame, train: pd.Index, pair_name: str,
                       sources: dict[str, str] | None = None) -> None:
    """Refuse a pair whose dependency or IC50 is constant on its training samples.

    A constant output has no gene correlated with it (every Spearman rho is 0, so the gene
    selection would take the first genes in column order) and nothing for a model to learn;
    the run would go on and report plausible-looking metrics of a meaningless model.
    """
    sources = sources or {}
    for column in outputs.columns[:2]:  # dependency and the pair's drug; extra drugs may be sparse
        values = outputs.loc[train, column].dropna()
        if len(values) and values.nunique() < 2:
            which = "dependency" if column.endswith("_dependency") else "response"
            raise InputFormatError(
                f"{sources.get(which, which + ' matrix')}: pair {pair_name}: output {column} has the single value "
                f"{float(values.iloc[0])!r} on all {len(values)} training samples; nothing to model (every gene's "
                "correlation with it is 0). Expected a varying dependency and IC50: check the source data or "
                "remove the pair"
            )


def load_pair(
    paths: Mapping[str, str | Path], pair: dict[str, Any], split_path: str | Path | None = None,
    expression: pd.DataFrame | None = None, requirements: list[tuple[str, int, str]] | None = None,
    multi_drug: bool = False,
) -> PairData:
    """Read a pair's data and build its :class:`PairData`.

    ``paths`` maps ``expression`` and either ``outputs`` (the pair's slices written
    by rule prepare_pair: :func:`write_pair_slices`) or ``dependency`` and ``response`` (the
    processed cohort's matrices, from which the outputs are assembled); pass ``expression``
    when the caller already read it. Without ``split_path`` every
    sample is labelled "train". With a split, every output must keep enough train and test
    samples for ``requirements`` (default: what every run needs; see
    :func:`forge.modelling.model.split_requirements`), and with ``multi_drug`` also the samples
    that have every drug; otherwise :class:`~forge.modelling.model.SplitTooSmallError` names the
    pair, the outputs, the counts and the configuration key.
    """
    if expression is None:
        expression = read_parquet_matrix(paths["expression"])
    if paths.get("outputs"):
        outputs = outputs_from_slice(read_parquet_matrix(paths["outputs"]), expression, pair)
    else:
        dependency = read_parquet_matrix(paths["dependency"])
        response = read_parquet_matrix(paths["response"])
        sources = dict(dependency=str(paths["dependency"]), response=str(paths["response"]))
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
        counted = outputs.loc[split.index]
        if multi_drug and pair.get("extra_drugs"):
            complete = counted.notna().all(axis=1)
            counted = counted.assign(**{"every drug (multi_drug model)": complete.where(complete)})
        check_split_sizes(split, pair["name"], counted, requirements, key="split.test_fraction (or split.file)")
    return PairData(expression=expression.loc[split.index], outputs=outputs.loc[split.index], split=split)


def write_pair_slices(expression: pd.DataFrame, dependency: pd.DataFrame, response: pd.DataFrame,
                      pair: dict[str, Any], genes: list[str], expression_path: str, outputs_path: str) -> None:
    """Write the pair's slices of the cohort, read by every later per-pair job instead of the
    cohort's matrices (:func:`load_pair`, rule embed_pair).

    The expression of the pair's genes for every cohort sample (the models score the whole
    cohort), and the observed outputs (target dependency, drug IC50, extra drugs' IC50) of every
    sample measured for any of them, NaN where not measured: the analysis stage also uses
    samples with a dependency but no IC50. Values are written unchanged (float64 Parquet), so no
    result depends on reading a slice instead of the cohort.
    """
    assemble_outputs(expression, dependency, response, pair)  # the same checks of names
    columns = output_columns(pair, multi_drug=True)
    samples = dependency.index.union(response.index)
    observed = pd.DataFrame(
        {columns[0]: dependency[pair["target"]].reindex(samples)}
        | {column: response[drug].reindex(samples)
           for column, drug in zip(columns[1:], [pair["drug"], *pair.get("extra_drugs", [])])},
        index=samples,
    )
    observed.index.name = "sample"
    write_parquet_matrix(expression.loc[:, genes], expression_path)
    write_parquet_matrix(observed, outputs_path)


def outputs_from_slice(observed: pd.DataFrame, expression: pd.DataFrame, pair: dict[str, Any]) -> pd.DataFrame:
    """The pair's outputs (as :func:`assemble_outputs`) from its observed-outputs slice: samples
    with expression, dependency and IC50, sorted."""
    dependency_column, ic50_column = output_columns(pair)[:2]
    complete = observed[dependency_column].notna() & observed[ic50_column].notna() & observed.index.isin(expression.index)
    outputs = observed.loc[complete].sort_index()
    outputs.index.name = "sample"
    return outputs


def read_pair_inputs(paths: Mapping[str, str | Path], pair_name: str,
                     sections: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], PairData, list[str]]:
    """The pair record, its data with the split, and its genes, for a per-pair rule.

    Parameters
    ----------
    paths
        ``pairs`` (the selected pairs table), ``split``, ``genes``, ``expression`` and ``outputs``
        (the pair's slices; or ``dependency`` and ``response``, the cohort's matrices).
    pair_name
        The pair's name in the pairs table.
    sections
        The configuration sections the rule runs, any of ``model`` (its ``kinds``), ``baselines``
        and ``tuning``: the split is checked against what they need
        (:func:`forge.modelling.model.split_requirements`).
    """
    sections = sections or {}
    pair = pair_record(paths["pairs"], pair_name)
    model = sections.get("model") or {}
    multi_drug = "multi_drug" in (model.get("kinds") or [])
    data = load_pair(paths, pair, paths["split"], requirements=split_requirements(dict(sections)),
                     multi_drug=multi_drug)
    genes = pd.read_csv(paths["genes"], sep="\t")["gene"].tolist()
    return pair, data, genes
