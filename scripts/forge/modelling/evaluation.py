"""Evaluation of one pair: metrics of every model and baseline, Benefit Scores, gene effects, tests."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from forge_core import regression_metrics
from forge.io import read_parquet_matrix
from forge.modelling.interpretation import effect_concordance, group_tests, median_and_quartile_groups, top_bottom_genes
from forge.modelling.model import ForgeModel, load_model
from forge.modelling.pair_data import load_pair
from forge.modelling.training import restrict_to_complete

log = logging.getLogger(__name__)

METRICS = ["pearson", "spearman", "r2", "mae", "mse", "c_index"]


def load_replicates(models_dir: str) -> dict[str, list[ForgeModel]]:
    """Models by kind, replicates in order."""
    kinds = {}
    for kind_dir in sorted(Path(models_dir).iterdir()):
        if kind_dir.is_dir():
            kinds[kind_dir.name] = [load_model(d) for d in sorted(kind_dir.iterdir()) if d.is_dir()]
    return kinds


def metric_rows(model: str, replicate: int, predicted: pd.Series, observed: pd.Series, split: pd.Series) -> list[dict]:
    rows = []
    for split_name in ("train", "test"):
        index = split.index[split == split_name]
        index = index[observed.loc[index].notna().to_numpy()]
        row = dict(model=model, replicate=replicate, output=observed.name, split=split_name)
        row.update(regression_metrics(observed.loc[index].to_numpy(), predicted.loc[index].to_numpy()))
        rows.append(row)
    return rows


def evaluate_pair(paths: Mapping[str, str | Path], pair: dict, max_missing_fraction: float) -> dict[str, pd.DataFrame]:
    """Metrics of every model and baseline, Benefit Scores, gene effects and tests of one pair.

    Parameters
    ----------
    paths
        ``expression``, ``dependency``, ``response``, ``samples``, ``split``,
        ``models`` (the pair's model directory) and ``baselines`` (baseline predictions).
    pair
        The pair's row of the pairs table (:func:`forge.modelling.pairs.pair_record`).
    max_missing_fraction
        Largest fraction of model genes a scored sample may lack.

    Returns
    -------
    dict
        Tables keyed as the rule's outputs: ``metrics``, ``comparison``, ``scores``, ``effects``, ``predictions``
        (per sample, replicate 0 of every model kind),
        ``top_genes``, ``concordance``, ``group_tests``, ``missing``.
    """
    expression = read_parquet_matrix(paths["expression"])  # the whole cohort is scored below
    data = load_pair(paths, pair, paths["split"], expression=expression)
    kinds = load_replicates(paths["models"])

    rows, sample_predictions = [], []
    for kind, models in kinds.items():
        kind_data = restrict_to_complete(data, models[0].targets)
        for b, model in enumerate(models):
            predicted = model.predict(kind_data.expression)
            for name in model.targets:
                rows += metric_rows(f"forge_{kind}", b, predicted[name], kind_data.outputs[name], kind_data.split)
                if b == 0:  # per-sample predictions of each kind's first replicate (figures)
                    sample_predictions.append(pd.DataFrame({
                        "sample": predicted.index, "split": kind_data.split.reindex(predicted.index).to_numpy(),
                        "model": f"forge_{kind}", "output": name, "predicted": predicted[name].to_numpy(),
                        "observed": kind_data.outputs[name].reindex(predicted.index).to_numpy()}))
    baselines = pd.read_csv(paths["baselines"], sep="\t")
    for (model_name, output), group in baselines.groupby(["model", "output"], sort=False):
        predicted = group.set_index("sample")["predicted"]
        observed = data.outputs.loc[predicted.index, output]
        rows += metric_rows(model_name, 0, predicted, observed, data.split.loc[predicted.index])
    metrics = pd.DataFrame(rows)
    metrics.insert(0, "pair", pair["name"])
    metrics.insert(1, "control", pair["control"])
    comparison = metrics.groupby(["pair", "control", "model", "output", "split"], sort=False)[METRICS].agg(["mean", "std"])
    comparison.columns = [f"{metric}_{stat}" for metric, stat in comparison.columns]
    comparison["n_replicates"] = metrics.groupby(["pair", "control", "model", "output", "split"], sort=False).size()
    comparison = comparison.reset_index()
    for row in comparison[comparison["split"] == "test"].itertuples():
        log.info("%-22s %-24s test r %.3f ± %.3f", row.model, row.output, row.pearson_mean,
                 0.0 if np.isnan(row.pearson_std) else row.pearson_std)

    # Benefit Scores of every cohort sample with expression: the reported model
    # (joint replicate 0) and the mean over the joint replicates.
    joint = kinds["joint"]
    reported = joint[0]
    limit = max_missing_fraction
    score, missing = reported.benefit_score(expression, max_missing_fraction=limit)
    replicate_scores = np.column_stack(
        [score] + [m.benefit_score(expression, max_missing_fraction=limit)[0] for m in joint[1:]]
    )
    predicted = reported.predict(expression, max_missing_fraction=limit)
    samples = pd.read_csv(paths["samples"], sep="\t", index_col="ModelID")
    table = pd.concat([score, predicted.add_prefix("predicted_")], axis=1)
    table["benefit_score_replicate_mean"] = replicate_scores.mean(axis=1)
    table["benefit_score_replicate_sd"] = replicate_scores.std(axis=1, ddof=1) if len(joint) > 1 else 0.0
    table = table.join(data.outputs.add_prefix("observed_"))
    table["split"] = data.split.reindex(table.index).fillna("unlabelled")
    table["lineage"] = samples["OncotreeLineage"].reindex(table.index)
    labelled = table["split"] != "unlabelled"
    groups = median_and_quartile_groups(table.loc[labelled, "benefit_score"])
    table = table.join(groups)
    table.index.name = "sample"
    dependency_col, ic50_col = (f"observed_{c}" for c in reported.targets[:2])
    tests = group_tests(table[labelled], dependency_col, ic50_col)
    tests.insert(0, "pair", pair["name"])

    # Gene effects of every model, the joint-vs-individual concordance and top genes.
    effects = []
    for kind, models in kinds.items():
        for b, model in enumerate(models):
            effects.append(model.gene_effects().reset_index().assign(model=f"forge_{kind}", replicate=b))
    effects = pd.concat(effects, ignore_index=True)
    if "dependency_only" in kinds and "ic50_only" in kinds:
        concordance = effect_concordance(joint, kinds["dependency_only"], kinds["ic50_only"])
    else:
        concordance = pd.DataFrame(columns=["replicate", "seed", "joint_r", "individual_r"])
    concordance.insert(0, "pair", pair["name"])
    joint_effects = effects[effects["model"] == "forge_joint"].groupby("gene")[
        ["DependencyEffect", "IC50Effect", "TotalInfluence"]
    ].mean()
    top = top_bottom_genes(joint_effects)
    top.insert(0, "pair", pair["name"])
    log.info("effect concordance (mean over replicates): joint %.3f, individual %.3f",
             concordance["joint_r"].mean(), concordance["individual_r"].mean())

    predictions = pd.concat(sample_predictions, ignore_index=True)
    return dict(metrics=metrics, comparison=comparison, scores=table.reset_index(), effects=effects,
                predictions=predictions,
                top_genes=top, concordance=concordance, group_tests=tests, missing=missing)
