"""Transfer recipes (scaling × gene weights) against independent pandas computations, their invariances,
weight tables, the platform shift, the paper's right-closed %TV bins and the robustness tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forge.external.intervals import interval_label, parse_interval_label
from forge.external.pdx import bin_tv_change
from forge.io import InputFormatError
from forge.modelling.baselines import LinearBaseline
from forge.modelling.model import ForgeModel
from forge.modelling.scoring import score_expression
from forge.modelling.transfer import (
    TRAINING_RAW,
    CohortTooSmallError,
    Recipe,
    benefit_score_of,
    effective_weights,
    model_weight_table,
    platform_shift,
    read_weight_table,
    scale_cohort,
    transfer_score,
)
from forge.validation import robustness
from forge.validation.run import PairModels
from forge.validation.scores import PairScorer

REPO = Path(__file__).resolve().parents[1]
#: The paper's published transfer: genes z-scored within the cohort, standardised weights.
PAPER_RECIPE = Recipe("cohort", "standardised")


def make_model(rng: np.random.Generator, genes: list[str], k: int = 3, seed: int = 0) -> ForgeModel:
    p = len(genes)
    return ForgeModel(genes=genes, gene_mean=rng.normal(5, 1, p), gene_sd=rng.uniform(0.5, 2, p),
                      targets=["EGFR_dependency", "ERLOTINIB_ic50"], target_mean=np.array([0.3, 2.0]),
                      W=rng.normal(0, 0.5, (p, k)), heads=rng.normal(0, 1, (k, 2)),
                      metadata={"seed": seed, "target": "EGFR", "drug": "ERLOTINIB"})


@pytest.fixture
def model() -> ForgeModel:
    return make_model(np.random.default_rng(3), [f"G{i}" for i in range(8)])


@pytest.fixture
def cohort() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    # a platform shift: another mean and a gene-specific sd
    values = rng.normal(9, 1, (15, 8)) * rng.uniform(0.2, 3, 8)
    return pd.DataFrame(values, index=[f"S{i:02d}" for i in range(15)], columns=[f"G{i}" for i in range(8)])


# ------------------------------------------------------------------ recipes vs independent computations


def test_training_raw_equals_the_models_own_benefit_score_bit_for_bit(model, cohort) -> None:
    expected, _ = model.benefit_score(cohort.drop(columns=["G2"]))
    scores, missing = transfer_score(benefit_score_of(model), cohort.drop(columns=["G2"]), TRAINING_RAW)
    assert np.array_equal(scores.to_numpy(), expected.to_numpy())
    assert missing["gene"].tolist() == ["G2"]
    table, _ = score_expression(model, cohort, 0.5)
    predicted = model.predict(cohort)
    assert np.array_equal(table["predicted_EGFR_dependency"].to_numpy(), predicted["EGFR_dependency"].to_numpy())
    assert set(table["scaling"]) == {"training"} and set(table["weights"]) == {"raw"}


def test_training_scores_of_a_sample_do_not_depend_on_the_other_samples(model, cohort) -> None:
    full, _ = transfer_score(benefit_score_of(model), cohort, TRAINING_RAW)
    for rows in (cohort.iloc[:1], cohort.iloc[[3, 7]], cohort.iloc[::-1]):
        part, _ = transfer_score(benefit_score_of(model), rows, TRAINING_RAW)
        # equal up to the BLAS kernel (a matrix-vector product of 1 row rounds differently from 15)
        np.testing.assert_allclose(part.to_numpy(), full.loc[rows.index].to_numpy(), rtol=1e-13, atol=1e-13)
    standardised, _ = transfer_score(benefit_score_of(model), cohort, Recipe("training", "standardised"))
    alone, _ = transfer_score(benefit_score_of(model), cohort.iloc[[5]], Recipe("training", "standardised"))
    assert alone.iloc[0] == pytest.approx(standardised.iloc[5], rel=1e-13)
    # within-cohort scaling is the opposite by design: adding samples changes a sample's score
    with_all, _ = transfer_score(benefit_score_of(model), cohort, PAPER_RECIPE)
    fewer, _ = transfer_score(benefit_score_of(model), cohort.iloc[:12], PAPER_RECIPE)
    assert not np.allclose(with_all.iloc[:12].to_numpy(), fewer.to_numpy())


def test_cohort_scaling_and_standardised_weights_equal_a_pandas_computation(model, cohort) -> None:
    lacking = cohort.drop(columns=["G1", "G6"])
    scores, missing = transfer_score(benefit_score_of(model), lacking, PAPER_RECIPE)
    # independent: z-score each present gene over the cohort (pandas, ddof 1), standardise the
    # weights of the present genes (ddof 1), dot product
    weights = pd.Series(model.W @ (model.heads[:, 0] - model.heads[:, 1]), index=model.genes)
    present = [g for g in model.genes if g in lacking.columns]
    z = (lacking[present] - lacking[present].mean()) / lacking[present].std()
    w = (weights[present] - weights[present].mean()) / weights[present].std()
    np.testing.assert_allclose(scores.to_numpy(), (z * w).sum(axis=1).to_numpy(), rtol=1e-12, atol=1e-12)
    assert missing["gene"].tolist() == ["G1", "G6"]
    raw_cohort, _ = transfer_score(benefit_score_of(model), lacking, Recipe("cohort", "raw"))
    np.testing.assert_allclose(raw_cohort.to_numpy(), (z * weights[present]).sum(axis=1).to_numpy(), rtol=1e-12)


def test_standardised_weights_have_mean_0_and_sd_1_over_the_genes_used(model) -> None:
    present = np.array([True, True, False, True, True, True, False, True])
    w = effective_weights(benefit_score_of(model), present, "standardised")
    assert w[~present].tolist() == [0.0, 0.0]
    assert w[present].mean() == pytest.approx(0.0, abs=1e-12)
    assert w[present].std(ddof=1) == pytest.approx(1.0, rel=1e-12)


def test_cohort_scaling_refuses_a_small_cohort_with_a_clear_message(model, cohort) -> None:
    with pytest.raises(CohortTooSmallError, match=r"has 3 sample\(s\); at least 10 are needed \(min_cohort_size\)"):
        transfer_score(benefit_score_of(model), cohort.iloc[:3], PAPER_RECIPE)
    scores, _ = transfer_score(benefit_score_of(model), cohort.iloc[:3], Recipe("cohort", "raw", min_cohort_size=3))
    assert len(scores) == 3
    with pytest.raises(ValueError, match="min_cohort_size must be at least 2"):
        Recipe("cohort", "raw", min_cohort_size=1)


def test_cohort_scaling_counts_a_constant_gene_as_zero_and_says_so(model, cohort) -> None:
    constant = cohort.copy()
    constant["G0"] = 4.0
    scaled = scale_cohort(benefit_score_of(model), constant, PAPER_RECIPE)
    assert scaled.constant == ["G0"] and (scaled.Z[:, 0] == 0).all()


# ------------------------------------------------------------------ weight tables


def test_a_models_weight_table_scores_as_the_model_under_every_recipe(tmp_path, model, cohort) -> None:
    path = tmp_path / "weights.tsv"
    model_weight_table(model).to_csv(path, sep="\t", index=False, float_format="%.17g")
    table = read_weight_table(path)
    for recipe in (TRAINING_RAW, PAPER_RECIPE, Recipe("cohort", "raw"), Recipe("training", "standardised")):
        expected, _ = transfer_score(benefit_score_of(model), cohort, recipe)
        scores, _ = transfer_score(table, cohort, recipe)
        np.testing.assert_allclose(scores.to_numpy(), expected.to_numpy(), rtol=1e-12, atol=1e-12)
    # without the training scaling only cohort scaling can be used
    model_weight_table(model)[["gene", "weight"]].to_csv(path, sep="\t", index=False)
    with pytest.raises(InputFormatError, match="'training' scaling needs the training mean and sd"):
        transfer_score(read_weight_table(path), cohort, TRAINING_RAW)


@pytest.mark.parametrize("content, message", [
    ("gene\tscore\nA\t1\n", r"missing column\(s\) \['weight'\]"),
    ("gene\tweight\nA\t1\nA\t2\n", r"listed more than once: \['A'\]"),
    ("gene\tweight\nA\tx\nB\t2\n", r"column 'weight' is not a finite number for gene\(s\) \['A'\]"),
    ("gene\tweight\n", "no genes"),
    ("gene\tweight\ttraining_mean\ttraining_sd\nA\t1\t0\t0\n", "'training_sd' must be positive"),
])
def test_a_bad_weight_table_is_refused_naming_the_file(tmp_path, content, message) -> None:
    path = tmp_path / "signature.tsv"
    path.write_text(content)
    with pytest.raises(InputFormatError, match=message) as error:
        read_weight_table(path)
    assert "signature.tsv" in str(error.value)


def test_forge_score_cli_scores_with_weights_as_with_the_model(tmp_path, model, cohort) -> None:
    model.save(tmp_path / "model")
    cohort.to_csv(tmp_path / "cohort.csv")
    cli = [sys.executable, str(REPO / "scripts/forge_score.py")]
    run = subprocess.run(cli + ["--model", str(tmp_path / "model"), "--write-weights", str(tmp_path / "w.tsv")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    outputs = {}
    for source in (["--model", str(tmp_path / "model")], ["--weights", str(tmp_path / "w.tsv")]):
        out = tmp_path / f"scores_{source[0][2:]}.tsv"
        run = subprocess.run(cli + source + ["--expression", str(tmp_path / "cohort.csv"), "--out", str(out),
                                             "--scaling", "cohort", "--weight-scale", "standardised"],
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        outputs[source[0]] = pd.read_csv(out, sep="\t")
    np.testing.assert_allclose(outputs["--weights"]["benefit_score"], outputs["--model"]["benefit_score"], rtol=1e-9)
    assert set(outputs["--model"]["scaling"]) == {"cohort"} and set(outputs["--model"]["weights"]) == {"standardised"}
    small = subprocess.run(cli + ["--model", str(tmp_path / "model"), "--expression", str(tmp_path / "cohort.csv"),
                                  "--out", str(tmp_path / "x.tsv"), "--scaling", "cohort", "--min-cohort-size", "20"],
                           capture_output=True, text=True)
    assert small.returncode == 2 and "at least 20 are needed" in small.stderr and "Traceback" not in small.stderr


# ------------------------------------------------------------------ platform shift


def test_platform_shift_ranks_the_gene_whose_sd_changed_most(model, cohort) -> None:
    shifted = pd.DataFrame(np.random.default_rng(5).normal(model.gene_mean, model.gene_sd, (40, 8)),
                           columns=model.genes)
    shifted["G4"] = shifted["G4"] * 10  # only G4's spread differs from training
    table = platform_shift(benefit_score_of(model), shifted.drop(columns=["G7"]))
    assert table.iloc[0]["gene"] == "G4" and table.iloc[0]["rank"] == 1
    assert table.iloc[-1]["gene"] == "G7" and np.isnan(table.iloc[-1]["rank"])  # absent: listed last, unranked
    row = table.set_index("gene").loc["G4"]
    assert row["cohort_sd"] == pytest.approx(shifted["G4"].std())
    assert row["sd_ratio_cohort_to_training"] == pytest.approx(shifted["G4"].std() / model.gene_sd[4])
    for column in ("unit_weight_training_scaling", "unit_weight_cohort_scaling"):
        assert np.linalg.norm(table[column].dropna()) == pytest.approx(1.0)


# ------------------------------------------------------------------ PDX bins


def test_right_closed_bins_on_a_hand_made_series() -> None:
    days = [0, 3, 7, 10, 13, 17]
    tv = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    raw = pd.DataFrame({"Model": "X-1", "Days Post T0": days, "%TVol Difference": tv})
    right = bin_tv_change(raw, window=(10, 15), bin_width=5, bin_max_day=20).loc["X-1"]
    # (10, 15] holds day 13 only; (5, 10] days 7 and 10; (0, 5] day 3; day 0 is in no bin
    assert right["tv_change_days_gt10_le15"] == 40.0 and right["n_obs_days_gt10_le15"] == 1
    assert right["tv_change_bin_gt0_le5"] == 10.0
    assert right["tv_change_bin_gt5_le10"] == (20.0 + 30.0) / 2
    assert right["tv_change_bin_gt10_le15"] == 40.0
    assert right["tv_change_bin_gt15_le20"] == 50.0
    both = bin_tv_change(raw, window=(10, 15), bin_width=5, bin_max_day=20, closed="both").loc["X-1"]
    # [10, 15] holds days 10 and 13; [0, 5) days 0 and 3; [5, 10) day 7; [10, 15) days 10 and 13
    assert both["tv_change_days_ge10_le15"] == (30.0 + 40.0) / 2 and both["n_obs_days_ge10_le15"] == 2
    assert both["tv_change_bin_ge0_lt5"] == (0.0 + 10.0) / 2
    assert both["tv_change_bin_ge5_lt10"] == 20.0
    assert both["tv_change_bin_ge10_lt15"] == (30.0 + 40.0) / 2
    assert parse_interval_label(interval_label(10, 15, "right", window=True)) == (10.0, 15.0, "(10, 15]")
    assert parse_interval_label("ge10_lt15")[2] == "[10, 15)"
    with pytest.raises(ValueError, match="closed must be one of"):
        bin_tv_change(raw, closed="left")


# ------------------------------------------------------------------ robustness tables


def pair_models(rng: np.random.Generator, genes: list[str], n_replicates: int = 4) -> PairModels:
    ridge = LinearBaseline(genes, np.full(len(genes), 5.0), np.ones(len(genes)), ["EGFR_dependency", "ERLOTINIB_ic50"],
                           rng.normal(size=(len(genes), 2)), np.array([0.1, 2.0]))
    by_k = {k: [PairScorer(make_model(rng, genes, k, b), (0.5, 4.0), ridge) for b in range(n_replicates)]
            for k in (2, 3)}
    test = pd.DataFrame(rng.normal(5, 1, (30, len(genes))), columns=genes, index=[f"T{i}" for i in range(30)])
    return PairModels(3, by_k, ridge, test)


def test_robustness_rows_equal_scipy_on_the_same_vectors() -> None:
    rng = np.random.default_rng(11)
    genes = [f"G{i}" for i in range(10)]
    models = pair_models(rng, genes)
    expression = pd.DataFrame(rng.normal(5, 1, (20, 10)), columns=genes, index=[f"X-{i}" for i in range(20)])
    outcome = pd.Series(rng.normal(0, 50, 20), index=expression.index)

    def run_tests(scores: pd.DataFrame, variants: tuple[str, ...]) -> pd.DataFrame:
        rows = []
        for variant in variants:
            high = scores[variant] > scores[variant].median()
            rows.append(dict(robustness.vstats.mann_whitney_row(outcome[high], outcome[~high], "less"), score=variant,
                             grouping="median", variable="tv"))
        return pd.DataFrame(rows)

    recipes = [TRAINING_RAW, PAPER_RECIPE]
    table = robustness.robustness_rows(models, expression, recipes, run_tests, 0.5)
    # 2 recipes × (2 k × (4 replicates + mean) × 2 variants + ridge)
    assert len(table) == 2 * (2 * 5 * 2 + 1)
    assert table["reported"].sum() == 2 * 2  # k = 3, replicate 0, both variants, both recipes
    for _, row in table.sample(6, random_state=1).iterrows():
        recipe = Recipe(row["scaling"], row["weights"])
        if row["model"] == "ridge":
            scores = models.reported.score(expression, 0.5, recipe)[0]["ridge"]
        elif row["model"] == "replicate_mean":
            scores = sum(s.score(expression, 0.5, recipe)[0][row["score"]] for s in models.by_k[row["k"]]) / 4
        else:
            scores = models.by_k[row["k"]][row["replicate"]].score(expression, 0.5, recipe)[0][row["score"]]
        high = scores > scores.median()
        expected = stats.mannwhitneyu(outcome[high], outcome[~high], alternative="less").pvalue
        assert row["p_value"] == pytest.approx(expected, rel=1e-12)
    summary = robustness.summarise_robustness(table.assign(cohort="pdx", pair="EGFR_ERLOTINIB", test="mann_whitney_one_sided"))
    one = summary[(summary["k"] == "3") & (summary["scaling"] == "cohort") & (summary["score"] == "forge")].iloc[0]
    reps = table[(table["k"] == 3) & (table["scaling"] == "cohort") & (table["score"] == "forge")
                 & (table["model"] == "replicate")]["p_value"]
    assert one["p_median"] == pytest.approx(reps.median()) and one["n_replicates"] == 4
    assert one["fraction_p_below_0_05"] == pytest.approx((reps < 0.05).mean())
    assert summary["claim"].str.contains("not an additional claim").all()


def test_gene_dropout_is_one_without_missing_genes_and_measures_the_ranking_otherwise() -> None:
    rng = np.random.default_rng(12)
    genes = [f"G{i}" for i in range(10)]
    models = pair_models(rng, genes, 2)
    table = robustness.gene_dropout(models, pd.Index(genes), [TRAINING_RAW])
    assert (table["spearman_full_vs_without_missing"] == 1.0).all()
    lacking = robustness.gene_dropout(models, pd.Index(genes[2:]), [TRAINING_RAW])
    scorer = models.by_k[3][1]
    full = scorer.model.benefit_score(models.test_expression)[0]
    reduced = scorer.model.benefit_score(models.test_expression.drop(columns=genes[:2]))[0]
    row = lacking[(lacking["k"] == 3) & (lacking["replicate"] == 1)].iloc[0]
    assert row["n_missing"] == 2
    assert row["spearman_full_vs_without_missing"] == pytest.approx(stats.spearmanr(full, reduced).statistic)


def test_weight_tables_pearson_between_k_and_missing_genes_test() -> None:
    rng = np.random.default_rng(13)
    genes = [f"G{i}" for i in range(12)]
    models = pair_models(rng, genes, 3)
    weights, tests = robustness.gene_weight_tables(models, pd.Index(genes[4:]))
    pearson = tests[tests["test"] == "pearson"].set_index("variable")
    a = weights[weights["k"] == 2].set_index("gene")["weight_rep00"]
    b = weights[weights["k"] == 3].set_index("gene")["weight_rep00"]
    assert pearson.loc["weight_rep00", "statistic"] == pytest.approx(stats.pearsonr(a, b).statistic)
    mwu = tests[(tests["test"] == "mann_whitney_one_sided") & (tests["k_a"] == 3)].iloc[0]
    magnitude = b.abs()
    assert mwu["p_value"] == pytest.approx(stats.mannwhitneyu(magnitude[genes[:4]], magnitude[genes[4:]],
                                                              alternative="greater").pvalue)
    standardised = weights[weights["k"] == 3]["standardised_rep00"]
    assert standardised.mean() == pytest.approx(0, abs=1e-12) and standardised.std() == pytest.approx(1)


def test_save_replicates_writes_every_replicate_or_nothing(tmp_path, model) -> None:
    from forge.modelling.model import load_model
    from forge.modelling.training import save_replicates

    out = tmp_path / "models"
    save_replicates({"joint": [model, make_model(np.random.default_rng(9), model.genes)]}, out)
    assert sorted(p.name for p in (out / "joint").iterdir()) == ["rep00", "rep01"]
    assert load_model(out / "joint" / "rep01").metadata["replicate"] == 1
    broken = make_model(np.random.default_rng(10), model.genes)
    broken.metadata["unserialisable"] = object()  # model.json cannot be written: the earlier directory stays
    with pytest.raises(TypeError):
        save_replicates({"": [model, broken]}, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]
    assert (out / "joint" / "rep01" / "model.npz").is_file()
