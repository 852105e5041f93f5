"""Rule adapter: metrics of every model and baseline, scores, gene effects and tests of one pair."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from forge_core import regression_metrics  # noqa: E402
from forge_model import ForgeModel, load_model  # noqa: E402
from interpretation import (  # noqa: E402
    effect_concordance,
    group_tests,
    score_groups,
    top_bottom_genes,
)
from io_utils import read_parquet_matrix, write_tsv  # noqa: E402
from pair_data import load_pair  # noqa: E402
from pairs import pair_record  # noqa: E402
from rule_utils import blas_threads, setup_rule_logging  # noqa: E402
from training import restrict_to_complete  # noqa: E402

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


def main(smk) -> None:
    log = setup_rule_logging(smk, "evaluate_pair")
    pair = pair_record(smk.input.pairs, smk.wildcards.pair)
    expression = read_parquet_matrix(smk.input.expression)  # the whole cohort is scored below
    data = load_pair(smk.input, pair, smk.input.split, expression=expression)
    kinds = load_replicates(smk.input.models)

    rows = []
    for kind, models in kinds.items():
        kind_data = restrict_to_complete(data, models[0].targets)
        for b, model in enumerate(models):
            predicted = model.predict(kind_data.expression)
            for name in model.targets:
                rows += metric_rows(f"forge_{kind}", b, predicted[name], kind_data.outputs[name], kind_data.split)
    baselines = pd.read_csv(smk.input.baselines, sep="\t")
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
    limit = smk.params.max_missing_fraction
    score, missing = reported.benefit_score(expression, max_missing_fraction=limit)
    replicate_scores = np.column_stack(
        [score] + [m.benefit_score(expression, max_missing_fraction=limit)[0] for m in joint[1:]]
    )
    predicted = reported.predict(expression, max_missing_fraction=limit)
    samples = pd.read_csv(smk.input.samples, sep="\t", index_col="ModelID")
    table = pd.concat([score, predicted.add_prefix("predicted_")], axis=1)
    table["benefit_score_replicate_mean"] = replicate_scores.mean(axis=1)
    table["benefit_score_replicate_sd"] = replicate_scores.std(axis=1, ddof=1) if len(joint) > 1 else 0.0
    table = table.join(data.outputs.add_prefix("observed_"))
    table["split"] = data.split.reindex(table.index).fillna("unlabelled")
    table["lineage"] = samples["OncotreeLineage"].reindex(table.index)
    labelled = table["split"] != "unlabelled"
    groups = score_groups(table.loc[labelled, "benefit_score"])
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

    write_tsv(metrics, smk.output.metrics)
    write_tsv(comparison, smk.output.comparison)
    write_tsv(table.reset_index(), smk.output.scores)
    write_tsv(effects, smk.output.effects)
    write_tsv(top, smk.output.top_genes)
    write_tsv(concordance, smk.output.concordance)
    write_tsv(tests, smk.output.group_tests)
    write_tsv(missing, smk.output.missing)


if __name__ == "__main__":
    with blas_threads(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
