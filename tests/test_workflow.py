"""Integration: the default target on the small demo (config/small.yaml), run by Snakemake, and
what it produced.

Also the planted-signal recovery checks, which use the run's processed cohort and outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from conftest import SMALL_CONFIG, copy_workflow, run_snakemake

from forge.modelling import pair_data
import forge_core
from forge.modelling.model import ForgeModel, PairData, fit_pair_models, load_model
from forge.io import read_parquet_matrix

PLANTED = ["EGFR_ERLOTINIB"]  # config/pairs_small.tsv: one planted pair (two drugs) and the control
CONTROL = "A1CF_VORINOSTAT"
PAIRS = PLANTED + [CONTROL]


def evaluate_model(model: ForgeModel, data: PairData) -> pd.DataFrame:
    """Metrics per output and split (long table: split, output, metric columns)."""
    rows = []
    for split_name, index in (("train", data.train), ("test", data.test)):
        pred = model.predict(data.expression.loc[index])
        for name in model.targets:
            observed = data.outputs.loc[index, name]
            row = dict(split=split_name, output=name)
            row.update(forge_core.regression_metrics(observed.to_numpy(), pred[name].to_numpy()))
            rows.append(row)
    return pd.DataFrame(rows)


def read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def truth(run: Path) -> dict:
    return json.loads((run / "resources/raw/demo/small/planted_truth.json").read_text())


def cohort_inputs(run: Path) -> dict[str, Path]:
    processed = run / "resources/processed/small"
    return dict(
        expression=processed / "expression.parquet",
        dependency=processed / "dependency.parquet",
        response=processed / "response.parquet",
    )


def pair_of(name: str) -> dict:
    target, drug = name.split("_")
    return dict(name=name, target=target, drug=drug, extra_drugs=[], control=name == CONTROL)


def test_outputs_and_logs(small_run: Path) -> None:
    selected = read_tsv(small_run / "results/small/pairs.tsv")
    assert selected["name"].tolist() == PAIRS
    assert selected.set_index("name").loc["EGFR_ERLOTINIB", "extra_drugs"] == "GEFITINIB"
    assert (selected["n_cell_lines"] > 250).all()  # of 400 lines
    metrics = read_tsv(small_run / "results/small/metrics.tsv")
    assert set(metrics["pair"]) == set(PAIRS)
    assert metrics.loc[metrics["pair"] == CONTROL, "control"].all()
    expected_models = {"forge_joint", "forge_dependency_only", "forge_ic50_only", "training_mean",
                       "lineage_mean", "ridge", "elastic_net"}
    for pair in PAIRS:
        assert expected_models <= set(metrics.loc[metrics["pair"] == pair, "model"])
    assert "forge_multi_drug" in set(metrics.loc[metrics["pair"] == "EGFR_ERLOTINIB", "model"])
    forge = metrics[metrics["model"].str.startswith("forge_")]
    assert set(forge.groupby(["pair", "model"])["replicate"].nunique()) == {SMALL_CONFIG["model"]["replicates"]}
    for column in ("pearson", "spearman", "r2", "mae", "mse", "c_index"):
        assert forge[column].notna().all(), column
    for rule in ("demo_raw_data", "select_pairs", "compare_pairs"):
        assert (small_run / f"logs/small/{rule}.log").is_file()
    for rule in ("prepare_pair", "tune_pair", "train_pair", "baselines_pair", "evaluate_pair"):
        for pair in PAIRS:
            assert (small_run / f"logs/small/{rule}/{pair}.log").is_file()
    # nothing left to do: outputs are complete and up to date
    dry = run_snakemake(small_run, "-n", "--configfile", "config/small.yaml")
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_split_is_disjoint_and_scores_cover_the_cohort(small_run: Path) -> None:
    samples = read_tsv(small_run / "resources/processed/small/samples.tsv")
    expression = read_parquet_matrix(small_run / "resources/processed/small/expression.parquet")
    for pair in PAIRS:
        split = read_tsv(small_run / f"results/small/pairs/{pair}/split.tsv")
        assert split["sample"].is_unique
        n_test = (split["split"] == "test").sum()
        assert n_test == int(0.2 * len(split))
        scores = read_tsv(small_run / f"results/small/pairs/{pair}/benefit_scores.tsv").set_index("sample")
        assert set(scores.index) == set(expression.index)
        labelled = scores.loc[scores["split"] != "unlabelled", "split"]
        assert labelled.sort_index().equals(split.set_index("sample")["split"].sort_index())
        assert set(scores.loc[labelled.index, "median_group"]) == {"high", "low"}
        assert set(scores.loc[labelled.index, "quartile"]) == {"Q1", "Q2", "Q3", "Q4"}
        # the score is D_hat - I_hat on the centred scale
        model = load_model(small_run / f"results/small/models/{pair}/joint/rep00")
        centred = scores[f"predicted_{pair_of(pair)['target']}_dependency"] - model.target_mean[0]
        centred -= scores[f"predicted_{pair_of(pair)['drug']}_ic50"] - model.target_mean[1]
        np.testing.assert_allclose(scores["benefit_score"], centred, rtol=1e-9, atol=1e-9)
    assert set(samples["ModelID"]) >= set(expression.index)


def test_model_metadata(small_run: Path) -> None:
    meta = json.loads((small_run / "results/small/models/EGFR_ERLOTINIB/joint/rep00/model.json").read_text())
    genes = read_tsv(small_run / "results/small/pairs/EGFR_ERLOTINIB/genes.tsv")["gene"].tolist()
    assert meta["genes"] == genes
    assert "EGFR" in genes  # the target gene is always included
    k = SMALL_CONFIG["model"]["n_components"]
    assert meta["seed"] == 42 and meta["hyperparameters"]["n_components"] == k
    assert meta["hyperparameters"]["update"] == "reference"
    assert {"numpy", "scipy", "pandas", "python"} <= set(meta["versions"])
    with np.load(small_run / "results/small/models/EGFR_ERLOTINIB/joint/rep00/model.npz", allow_pickle=False) as z:
        assert z["W"].shape == (len(genes), k)


def test_planted_pairs_beat_control_and_shuffled_labels(small_run: Path) -> None:
    comparison = read_tsv(small_run / "results/small/comparison.tsv")
    joint = comparison[(comparison["split"] == "test") & (comparison["model"] == "forge_joint")]
    test = joint.set_index(["pair", "output"])["pearson_mean"]
    control_best = max(abs(test[CONTROL].to_numpy()))
    for pair in PLANTED:
        target, drug = pair.split("_")
        assert test[(pair, f"{target}_dependency")] > 0.55, pair
        assert test[(pair, f"{drug}_ic50")] > 0.45, pair
        assert test[pair].min() > control_best + 0.2, pair

    # Label-shuffled fit on the same split and genes: the signal disappears.
    pair = pair_of("EGFR_ERLOTINIB")
    data = pair_data.load_pair(
        cohort_inputs(small_run), pair, small_run / "results/small/pairs/EGFR_ERLOTINIB/split.tsv"
    )
    rng = np.random.default_rng(np.random.SeedSequence(7))
    shuffled = data.outputs.copy()
    train = data.train
    shuffled.loc[train] = data.outputs.loc[train].to_numpy()[rng.permutation(len(train))]
    genes = read_tsv(small_run / "results/small/pairs/EGFR_ERLOTINIB/genes.tsv")["gene"].tolist()
    columns = pair_data.output_columns(pair)
    model = fit_pair_models(
        PairData(data.expression, shuffled, data.split), genes, [42], 40, dict(max_iter=500), columns
    )[0]
    shuffled_test = evaluate_model(model, data).query("split == 'test'")["pearson"]
    n_test = int((data.split == "test").sum())
    assert shuffled_test.abs().max() < 3 / np.sqrt(n_test)  # null |r| has sd 1/sqrt(n)
    assert test["EGFR_ERLOTINIB"].min() > shuffled_test.abs().max() + 0.25


@pytest.mark.parametrize("pair", PLANTED)
def test_planted_module_genes_rank_top_of_total_influence(small_run: Path, pair: str) -> None:
    planted = next(p for p in truth(small_run)["planted_pairs"] if f"{p['target']}_{p['drugs'][0]}" == pair)
    module = planted["module_genes"]  # gene -> loading; positive loading raises the module
    effects = read_tsv(small_run / f"results/small/pairs/{pair}/gene_effects.tsv")
    effects = effects[(effects["model"] == "forge_joint") & (effects["replicate"] == 0)].set_index("gene")
    in_model = [g for g in module if g in effects.index]
    assert len(in_model) >= 20  # training-only selection found the module
    ranking = effects["TotalInfluence"].abs().sort_values(ascending=False)
    top20 = ranking.index[:20]
    hits = [g for g in top20 if g in module]
    # hypergeometric tail: module genes are over-represented among the top 20
    p_value = stats.hypergeom.sf(len(hits) - 1, len(effects), len(in_model), 20)
    assert len(hits) >= 8 and p_value < 0.01, (hits, p_value)
    # module genes rank above the rest of the selected genes
    ranks = ranking.rank(ascending=False)
    rest = ranks.drop(in_model)
    assert stats.mannwhitneyu(ranks[in_model], rest, alternative="less").pvalue < 1e-3
    # higher module activity means more dependent and more sensitive: sign follows the loading
    signs = np.sign(effects.loc[hits, "TotalInfluence"]) == np.sign(pd.Series(module)[hits])
    assert signs.mean() >= 0.8


def test_cross_validation_lineage_split_and_cohort_scoring(tmp_path: Path) -> None:
    """The optional paths of the modelling stage, run by Snakemake on the demo."""
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "options.yaml").write_text(
        "stages: {tahoe: false, pdx: false, analysis: false, figures: false}\n"
        # a smaller demo: these paths need no planted-signal strength
        "data: {demo: {n_cell_lines: 400, n_genes: 1200, cells_per_condition: 20}}\n"
        "pairs: {table: config/pairs_small.tsv}\n"
        "split: {scheme: lineage}\n"
        "model: {replicates: 2, kinds: [joint, dependency_only, ic50_only]}\n"
        "tuning:\n  k_grid: [10, 40]\n  n_init: 2\n"
        "  cv: {enabled: true, folds: 3, n_components: [10, 40], learning_rate: [0.001],"
        " l1_penalty: [0.001, 0.01], max_iter: [100]}\n"
        "scoring:\n  cohorts:\n    mine: {path: cohort_counts.csv, kind: counts}\n"
    )
    rng = np.random.default_rng(0)
    genes = ["EGFR", "NAMPT", "BRAF"] + [f"DG{i:05d}" for i in range(200, 2400)]  # some model genes missing
    counts = pd.DataFrame(rng.poisson(30, (4, len(genes))), columns=genes, index=[f"P{i}" for i in range(4)])
    counts.rename_axis("sample").to_csv(workdir / "cohort_counts.csv")
    run_snakemake(workdir, "--configfile", "options.yaml")

    # the stage switches: nothing of the analysis, validation or figure stages was built
    assert not (workdir / "results/demo/figures").exists() and not (workdir / "results/demo/validation").exists()
    assert not list((workdir / "results/demo/pairs").glob("*/embedding.tsv"))
    samples = read_tsv(workdir / "resources/processed/demo/samples.tsv").set_index("ModelID")
    for pair in PAIRS:
        split = read_tsv(workdir / f"results/demo/pairs/{pair}/split.tsv").set_index("sample")["split"]
        lineage = samples["OncotreeLineage"].reindex(split.index)
        assert (split.groupby(lineage).nunique() == 1).all(), pair  # whole lineages held out
        chosen = json.loads((workdir / f"results/demo/pairs/{pair}/hyperparameters.json").read_text())
        cv = read_tsv(workdir / f"results/demo/pairs/{pair}/cross_validation.tsv")
        best = cv.groupby(["n_components", "l1_penalty"])["validation_error"].mean().idxmin()
        assert (chosen["n_components"], chosen["l1_penalty"]) == best and "cross-validation" in chosen["source"]
        meta = json.loads((workdir / f"results/demo/models/{pair}/joint/rep01/model.json").read_text())
        assert meta["hyperparameters"]["n_components"] == chosen["n_components"] and meta["seed"] == 43
        scores = read_tsv(workdir / f"results/demo/scores/{pair}/mine.tsv")
        assert scores["sample"].tolist() == ["P0", "P1", "P2", "P3"] and scores["benefit_score"].notna().all()
        missing = read_tsv(workdir / f"results/demo/scores/{pair}/mine.missing_genes.tsv")
        model_genes = read_tsv(workdir / f"results/demo/pairs/{pair}/genes.tsv")["gene"]
        assert set(missing["gene"]) == set(model_genes) - set(genes)
        shift = read_tsv(workdir / f"results/demo/scores/{pair}/mine.platform_shift.tsv")
        present = shift["present"].astype(str) == "True"
        assert set(shift["gene"]) == set(model_genes) and set(shift.loc[~present, "gene"]) == set(missing["gene"])
        assert shift.loc[present, "rank"].tolist() == list(range(1, int(present.sum()) + 1))


def test_another_config_writes_under_its_own_run_name(small_run: Path) -> None:
    """Runs are kept apart: the default demo config, dry-run in the small demo's directory, would
    write only under its own roots and reuses none of the small demo's outputs."""
    dry = run_snakemake(small_run, "-n")
    text = dry.stdout + dry.stderr
    outputs = [path for line in text.splitlines() if line.strip().startswith(("output:", "log:"))
               for path in line.split(":", 1)[1].replace(",", " ").split()]
    assert len(outputs) > 20
    roots = ("results/demo/", "resources/processed/demo/", "resources/raw/demo/demo/", "logs/demo/")
    assert [p for p in outputs if not p.startswith(roots)] == []
    assert "demo_raw_data" in text  # the demo's data are generated, not the small demo's reused
    assert (small_run / "results/small/metrics.tsv").is_file()


def planned_rules(workdir: Path, config: dict) -> dict[str, int]:
    """Rule -> number of jobs a dry run plans with ``config`` (written to edited.yaml) in ``workdir``."""
    # key order kept: Snakemake compares params (dicts of the config) with their order
    (workdir / "edited.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    text = run_snakemake(workdir, "-n", "--configfile", "edited.yaml").stdout
    stats = text.split("Job stats:", 1)[1].split("total", 1)[0] if "Job stats:" in text else ""
    rows = [line.split() for line in stats.splitlines() if len(line.split()) == 2 and line.split()[1].isdigit()]
    return {rule: int(count) for rule, count in rows}


@pytest.mark.parametrize("edit, expected, never", [
    # the tuning curve alone: training, the split and everything after it stay
    (lambda c: c["tuning"].update(k_grid=[10, 20]), {"tune_pair", "figure"},
     {"prepare_pair", "train_pair", "train_pair_k", "baselines_pair"}),
    # the baselines' seed: baselines and what reads them, not the split, the tuning or the models
    (lambda c: c.setdefault("baselines", {}).update(seed=7), {"baselines_pair"},
     {"prepare_pair", "tune_pair", "train_pair", "train_pair_k"}),
    # the number of replicates: training, not the split or the tuning curve
    (lambda c: c["model"].update(replicates=2), {"train_pair", "train_pair_k"}, {"prepare_pair", "tune_pair"}),
])
def test_a_config_edit_reruns_the_jobs_that_read_it(small_run: Path, edit, expected, never) -> None:
    config = yaml.safe_load((small_run / "config/small.yaml").read_text())
    assert planned_rules(small_run, config) == {}  # the finished run: nothing to do
    edit(config)
    planned = planned_rules(small_run, config)
    assert expected <= set(planned), planned
    assert not never & set(planned), planned


def test_a_library_edit_reruns_the_jobs_whose_code_uses_it(small_run: Path) -> None:
    """Each rule carries the digest of the library code its script uses (params: code): an edit of
    the enrichment module plans the enrichment jobs (the pairs' and the Tahoe validation's, which
    runs enrichment too) and what reads their outputs, and no modelling job."""
    module = small_run / "scripts/forge/analysis/enrichment.py"
    config = yaml.safe_load((small_run / "config/small.yaml").read_text())
    original = module.read_text()
    try:
        module.write_text(original + "\n# an edit\n")
        planned = planned_rules(small_run, config)
    finally:
        module.write_text(original)
    assert {"enrich_pair", "validate_tahoe_pair"} <= set(planned), planned
    assert not {"prepare_pair", "tune_pair", "train_pair", "train_pair_k", "baselines_pair",
                "evaluate_pair", "build_cohort"} & set(planned), planned
    # restored, and a script whose file time changed without a byte (a checkout): nothing to do
    (small_run / "workflow/scripts/who_benefits.py").touch()
    assert planned_rules(small_run, config) == {}


def test_snakemake_lint_finds_nothing(tmp_path: Path) -> None:
    """`snakemake --lint` (the style guide the README promises) stays clean: its checks are text
    patterns, e.g. a docstring saying "rule all:" in common.smk counted as a rule beside functions."""
    workdir = copy_workflow(tmp_path / "workflow_copy")
    result = run_snakemake(workdir, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr, (
        result.stdout[-3000:] + result.stderr[-3000:])
