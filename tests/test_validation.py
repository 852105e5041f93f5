"""Validation stage: statistics against independent computations, DESeq2 against the R fixture,
bad inputs reported as not computed, and the demo's planted pair validating where the control does not."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forge.io import InputFormatError
from forge.modelling.baselines import LinearBaseline
from forge.modelling.interpretation import group_labels
from forge.modelling.model import ForgeModel
from forge.validation import stats as vstats
from forge.validation import tahoe as vtahoe
from forge.validation.run import PairModels, summarise, validate_pdx
from forge.validation.scores import PairScorer

FIXTURES = Path(__file__).parent / "fixtures"


def row_of(table: pd.DataFrame, key: tuple) -> pd.Series:
    """The one row of a MultiIndex table at ``key``."""
    rows = table.loc[[key]]
    assert len(rows) == 1, key
    return rows.iloc[0]


# ------------------------------------------------------------------ statistics vs hand computations


def test_mann_whitney_row_equals_scipy_and_a_pair_count() -> None:
    rng = np.random.default_rng(2)
    a, b = pd.Series(rng.normal(1, 1, 9)), pd.Series(rng.normal(0, 1, 11))
    row = vstats.mann_whitney_row(a, b, "greater")
    assert row["p_value"] == pytest.approx(stats.mannwhitneyu(a, b, alternative="greater").pvalue, rel=1e-12)
    wins = sum((x > y) + 0.5 * (x == y) for x, y in itertools.product(a, b))  # U by counting pairs
    assert row["statistic"] == wins
    assert row["effect_size"] == pytest.approx(2 * wins / (9 * 11) - 1)
    assert row["median_higher"] == pytest.approx(np.median(a)) and row["n_lower"] == 11
    small = vstats.mann_whitney_row(a[:2], b, "greater", min_group=3)
    assert small["status"] == "not computed" and "at least 3" in small["reason"] and np.isnan(small["p_value"])


def test_contingency_tests_equal_hand_formulas() -> None:
    groups = pd.Series(["high"] * 10 + ["low"] * 10)
    classes = pd.Series(["CR"] * 3 + ["PR"] * 4 + ["SD"] * 3 + ["PR"] * 2 + ["SD"] * 3 + ["PD"] * 5)
    table, rows = vstats.contingency_tests(groups, classes, seed=1)
    observed = table.to_numpy()
    expected = observed.sum(1, keepdims=True) * observed.sum(0, keepdims=True) / observed.sum()
    chi2 = ((observed - expected) ** 2 / expected).sum()
    chi_row, fisher_row = rows
    assert chi_row["statistic"] == pytest.approx(chi2)
    assert chi_row["p_value"] == pytest.approx(stats.chi2.sf(chi2, (2 - 1) * (4 - 1)))
    assert chi_row["effect_size"] == pytest.approx(np.sqrt(chi2 / (observed.sum() * 1)))  # Cramér's V
    assert "expected counts below 5" in chi_row["reason"]
    # the Monte Carlo Fisher test is seeded: the same P twice
    assert vstats.contingency_tests(groups, classes, seed=1)[1][1]["p_value"] == fisher_row["p_value"]
    two_by_two = vstats.contingency_tests(groups, pd.Series(["R"] * 8 + ["N"] * 2 + ["R"] * 2 + ["N"] * 8), seed=1)[1][1]
    assert two_by_two["p_value"] == pytest.approx(stats.fisher_exact([[2, 8], [8, 2]]).pvalue)
    one_class = vstats.contingency_tests(groups, pd.Series(["PD"] * 20), seed=1)[1]
    assert all(r["status"] == "not computed" for r in one_class)


def test_page_trend_statistic_by_hand() -> None:
    rng = np.random.default_rng(4)
    strength = pd.DataFrame(rng.normal(size=(7, 3)) + np.array([0, 1, 2]), columns=[0.05, 0.5, 5.0])
    row = vstats.dose_trend(strength)
    ranks = strength.rank(axis=1).to_numpy()
    assert row["statistic"] == pytest.approx((ranks.sum(axis=0) * np.array([1, 2, 3])).sum())
    assert row["p_value"] < 0.01 and row["status"] == "computed"
    assert vstats.dose_trend(strength.iloc[:, :2])["status"] == "not computed"


def test_group_labels_and_composition() -> None:
    scores = pd.Series(np.arange(12, dtype=float))
    assert group_labels(scores, "median").value_counts().to_dict() == {"low": 6, "high": 6}
    assert group_labels(scores, "tertile").tolist() == ["T1"] * 4 + ["T2"] * 4 + ["T3"] * 4
    rng = np.random.default_rng(0)
    dependency, ic50 = pd.Series(rng.normal(0, 0.1, 50)), pd.Series(rng.normal(0, 2, 50))
    composition = vstats.score_composition(dependency, ic50)
    assert composition["dependency_share"] + composition["ic50_share"] == pytest.approx(1.0)
    assert composition["ic50_share"] > 0.9 and composition["spearman_score_vs_minus_ic50"] > 0.95


# ------------------------------------------------------------------ scores


def scorer(rng: np.random.Generator, genes: list[str]) -> PairScorer:
    p, k = len(genes), 3
    model = ForgeModel(genes=genes, gene_mean=rng.normal(size=p), gene_sd=rng.uniform(0.5, 2, p),
                       targets=["T_dependency", "D_ic50"], target_mean=np.array([0.2, 3.0]),
                       W=rng.normal(size=(p, k)), heads=rng.normal(size=(k, 2)))
    ridge = LinearBaseline(genes, model.gene_mean, model.gene_sd, ["T_dependency", "D_ic50"],
                           rng.normal(size=(p, 2)), np.array([0.1, 2.0]))
    return PairScorer(model, (0.5, 4.0), ridge)


def test_scores_balanced_and_ridge_variants_by_hand() -> None:
    rng = np.random.default_rng(8)
    genes = [f"G{i}" for i in range(5)]
    pair = scorer(rng, genes)
    expression = pd.DataFrame(rng.normal(size=(6, 5)), columns=genes, index=[f"L{i}" for i in range(6)])
    table, missing = pair.score(expression)
    G = (expression.to_numpy() - pair.model.gene_mean) / pair.model.gene_sd
    d, i = (G @ pair.model.W @ pair.model.heads).T
    np.testing.assert_allclose(table["forge"], d - i, rtol=1e-12)
    np.testing.assert_allclose(table["forge_balanced"], d / 0.5 - i / 4.0, rtol=1e-12)
    ridge = G @ pair.ridge.coef + pair.ridge.intercept
    np.testing.assert_allclose(table["ridge"], ridge[:, 0] - ridge[:, 1], rtol=1e-12)
    # one line's score does not depend on the others scored with it
    alone, _ = pair.score(expression.iloc[[2]])
    np.testing.assert_allclose(alone.to_numpy(), table.iloc[[2]].to_numpy(), rtol=1e-12)
    assert missing.empty
    with pytest.raises(InputFormatError, match="genes are missing"):
        pair.score(expression[genes[:1]])


# ------------------------------------------------------------------ Tahoe


def tahoe_inputs(rng: np.random.Generator, genes: list[str], with_dmso_on_plate8: bool = True):
    lines = [f"CVCL_{i}" for i in range(8)]
    plates = {"plate7": 0.05, "plate8": 0.5, "plate9": 5.0}
    rows, dmso, treated = [], {}, {}
    for line, (plate, dose) in itertools.product(lines, plates.items()):
        base = rng.normal(5, 1, len(genes))
        if with_dmso_on_plate8 or plate != "plate8":
            rows.append((f"{plate}_{line}_DMSO", line, f"name {line}", "DMSO_TF", 0.0, "uM", plate))
            dmso[rows[-1][0]] = base
        rows.append((f"{plate}_{line}_E", line, f"name {line}", "Erlotinib", dose, "uM", plate))
        treated[rows[-1][0]] = base + rng.normal(0, dose, len(genes))
    samples = pd.DataFrame(rows, columns=["sample", "cell_line", "cell_name", "drug", "dose", "unit", "plate"])
    samples.loc[samples["cell_line"] == "CVCL_0", "cell_name"] = "hTERT-HPNE"
    to_frame = lambda d: pd.DataFrame(d, index=genes).T  # noqa: E731
    return samples, to_frame(dmso), to_frame(treated)


def test_response_strength_equals_a_naive_norm_and_reports_unmatched() -> None:
    rng = np.random.default_rng(3)
    genes = [f"G{i}" for i in range(20)]
    samples, dmso, treated = tahoe_inputs(rng, genes, with_dmso_on_plate8=False)
    strength, unmatched = vtahoe.response_strength(dmso, treated.drop(columns=["G0"]), samples, "DMSO_TF")
    row = strength[(strength["cell_line"] == "CVCL_3") & (strength["plate"] == "plate9")].iloc[0]
    naive = np.sqrt(sum((treated.loc["plate9_CVCL_3_E", g] - dmso.loc["plate9_CVCL_3_DMSO", g]) ** 2 for g in genes[1:]))
    assert row["response_strength"] == pytest.approx(naive) and row["n_genes"] == 19
    # a dose without DMSO on its plate is left out and reported, not silently compared to another plate
    assert set(unmatched["plate"]) == {"plate8"} and len(unmatched) == 8
    assert "no DMSO_TF profile" in unmatched["reason"].iloc[0]
    model_genes = vtahoe.response_strength(dmso, treated, samples, "DMSO_TF", genes=genes[:5])[0]
    assert set(model_genes["n_genes"]) == {5}


def test_tahoe_tests_without_normal_line_and_baseline_plate_errors() -> None:
    rng = np.random.default_rng(5)
    genes = [f"G{i}" for i in range(6)]
    samples, dmso, treated = tahoe_inputs(rng, genes)
    pair = scorer(rng, genes)
    profiles = vtahoe.baseline_profiles(dmso, samples, 9, "DMSO_TF")
    assert list(profiles.index) == [f"CVCL_{i}" for i in range(8)]
    with pytest.raises(ValueError, match="no DMSO_TF sample on plate4"):
        vtahoe.baseline_profiles(dmso, samples, 4, "DMSO_TF")
    strength, _ = vtahoe.response_strength(dmso, treated, samples, "DMSO_TF")
    scores, _ = vtahoe.tahoe_scores(pair, profiles, samples, ["hTERT-HPNE"], 0.5)
    assert scores.set_index("cell_line").loc["CVCL_0", "is_normal"] and scores["is_normal"].sum() == 1
    tests = vtahoe.tahoe_tests(scores, strength, min_group=3)
    normal = tests[(tests["grouping"] == "cancer_vs_normal") & (tests["score"] == "forge")].iloc[0]
    cancer = scores[~scores["is_normal"]]["forge"]
    assert normal["p_value"] == pytest.approx(
        stats.mannwhitneyu(cancer, scores[scores["is_normal"]]["forge"], alternative="greater").pvalue)
    no_normal, _ = vtahoe.tahoe_scores(pair, profiles, samples, ["some other line"], 0.5)
    row = vtahoe.tahoe_tests(no_normal, strength, 3).query("grouping == 'cancer_vs_normal'").iloc[0]
    assert row["status"] == "not computed" and "no normal line" in row["reason"]


def test_deseq2_size_factors_equal_r_and_results_agree_within_documented_bounds() -> None:
    folder = FIXTURES / "deseq2"
    counts = pd.read_csv(folder / "counts.csv", index_col="gene").T
    meta = pd.read_csv(folder / "samples.csv", index_col="sample")
    reference_sf = pd.read_csv(folder / "size_factors.csv", index_col="sample")["sizeFactor"]
    factors = vtahoe.deseq2_poscounts_size_factors(counts)
    np.testing.assert_allclose(factors, reference_sf.loc[counts.index].to_numpy(), rtol=1e-12)
    metadata = pd.DataFrame({"concentration": pd.Categorical(meta["concentration"], ["c01", "c10"]),
                             "group": pd.Categorical(meta["group"], ["low", "high"])}, index=meta.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results, _ = vtahoe.deseq2(counts, metadata, "~concentration + group", ["group", "high", "low"], alpha=0.1)
    reference = pd.read_csv(folder / "results.csv", index_col="gene")
    np.testing.assert_allclose(results["baseMean"], reference["baseMean"], rtol=1e-12)
    both = results["pvalue"].notna() & reference["pvalue"].notna()
    assert (results["pvalue"].isna() == reference["pvalue"].isna()).all()
    # pydeseq2's dispersion fits differ from DESeq2's (README): log2FC within 1.5e-3 relative at the
    # median and rank-identical, P-values within 2 % at the median; no gene is called that R does not call
    lfc_rel = ((results["log2FoldChange"] - reference["log2FoldChange"]).abs() / reference["log2FoldChange"].abs())[both]
    p_rel = ((results["pvalue"] - reference["pvalue"]).abs() / reference["pvalue"])[both]
    assert lfc_rel.median() < 1.5e-3 and p_rel.median() < 0.02
    assert stats.spearmanr(results["log2FoldChange"][both], reference["log2FoldChange"][both]).statistic > 0.9999
    assert stats.spearmanr(results["pvalue"][both], reference["pvalue"][both]).statistic > 0.999
    called, r_called = results["padj"] < 0.1, reference["padj"] < 0.1
    assert not (called & ~r_called).any() and (called & r_called).sum() >= 0.8 * r_called.sum()


# ------------------------------------------------------------------ PDX


def pdx_inputs(rng: np.random.Generator, genes: list[str], n: int):
    models = [f"X-{i}" for i in range(n)]
    expression = pd.DataFrame(rng.normal(5, 1, (n, len(genes))), index=models, columns=genes)
    response = pd.DataFrame({"Model": models, "tv_change_days_10_15": rng.normal(0, 50, n),
                             "tv_change_bin_0_5": rng.normal(0, 10, n), "BestAvgResponse": rng.normal(0, 30, n),
                             "mRECIST": rng.choice(["PD", "SD", "PR"], n)})
    grid = pd.concat([expression.reset_index(names="Model").assign(fragments=f, read_length=200.0)
                      for f in (35e6, 20e6)], ignore_index=True)
    return expression, response, grid


def single_model(pair: PairScorer, genes: list[str]) -> PairModels:
    """The pair's one model as the validation stage's set of models (one k, one replicate)."""
    test = pd.DataFrame(np.zeros((3, len(genes))) + pair.model.gene_mean, columns=genes)
    return PairModels(pair.model.W.shape[1], {pair.model.W.shape[1]: [pair]}, pair.ridge, test)


#: The training recipe alone (the validation stage's settings carry the list).
TRAINING_ONLY = [dict(scaling="training", weights="raw")]


def test_pdx_tests_equal_scipy_and_small_arms_are_not_computed() -> None:
    rng = np.random.default_rng(6)
    genes = [f"G{i}" for i in range(6)]
    pair = scorer(rng, genes)
    expression, response, grid = pdx_inputs(rng, genes, 12)
    settings = dict(max_missing_fraction=0.5, min_group=3, seed=1, recipes=TRAINING_ONLY)
    tables = validate_pdx(single_model(pair, genes), expression, response, grid, settings, (35e6, 200.0))
    tests = tables["tests"].set_index(["score", "grouping", "variable"]).sort_index()
    scores = tables["scores"].set_index("Model")
    high = scores["forge_group"] == "high"
    expected = stats.mannwhitneyu(scores.loc[high, "tv_change_days_10_15"], scores.loc[~high, "tv_change_days_10_15"],
                                  alternative="less").pvalue
    assert row_of(tests, ("forge", "median", "tv_change_days_10_15"))["p_value"] == pytest.approx(expected)
    assert row_of(tests, ("forge", "tertile", "BestAvgResponse"))["status"] == "computed"  # 4 per tertile
    assert row_of(tests, ("forge", "quartile", "BestAvgResponse"))["status"] == "computed"  # 3 per quartile
    assert set(tables["sensitivity"]["spearman_vs_default"].round(12)) == {1.0}  # the same profiles
    # an arm of 5 models: quartiles of 1–2 models cannot be tested, and say so
    small = validate_pdx(single_model(pair, genes), *pdx_inputs(rng, genes, 5), settings, (35e6, 200.0))["tests"]
    quartile = small[small["grouping"] == "quartile"]
    assert (quartile["status"] == "not computed").all() and quartile["reason"].str.contains("smallest has 1").all()
    # median groups of 2 and 3 models: no χ² or Fisher test on groups below min_group
    contingency = small[small["variable"] == "mRECIST"]
    assert len(contingency) == 6 and (contingency["status"] == "not computed").all()
    assert contingency["reason"].str.contains("at least 3 each").all()
    # the paper's recipe refuses an arm of 5 (min_cohort_size 10) and says so; the training recipe still runs
    both = dict(settings, recipes=TRAINING_ONLY + [dict(scaling="cohort", weights="standardised")])
    tables = validate_pdx(single_model(pair, genes), *pdx_inputs(rng, genes, 5), both, (35e6, 200.0))
    cohort = tables["tests"][tables["tests"]["scaling"] == "cohort"]
    assert len(cohort) == 1 and "at least 10 are needed" in cohort["reason"].item()
    assert set(tables["scores"]["scaling"]) == {"training"}


def test_a_cohort_without_the_models_genes_is_reported_not_crashed() -> None:
    rng = np.random.default_rng(7)
    pair = scorer(rng, [f"G{i}" for i in range(6)])
    expression, response, grid = pdx_inputs(rng, ["OTHER1", "OTHER2", "G0"], 10)
    tables = validate_pdx(single_model(pair, [f"G{i}" for i in range(6)]), expression, response, grid,
                          dict(max_missing_fraction=0.5, min_group=3, seed=1), (35e6, 200.0))
    row = tables["tests"].iloc[0]
    assert row["status"] == "not computed" and "5 of the model's 6 genes are missing" in row["reason"]
    summary = summarise([("pdx", "P", tables["tests"])])
    assert summary["p_adjusted_bh"].isna().all()


def test_summary_adjusts_computed_tests_once() -> None:
    rows = pd.DataFrame([dict(vstats.mann_whitney_row(pd.Series([1.0, 2, 3, 4]), pd.Series([0.0, 0, 1, 1]), "greater"),
                              score="forge"),
                         dict(vstats.not_computed("x", test="t"), score="forge"),
                         dict(vstats.dose_trend(pd.DataFrame([[1, 2, 3], [1, 3, 2]])), score="none")])
    summary = summarise([("tahoe", "A", rows), ("tahoe", "B", rows)])
    assert (summary["score"] == "none").sum() == 1 and summary.loc[summary["score"] == "none", "pair"].item() == "(all pairs)"
    computed = summary["status"] == "computed"
    from statsmodels.stats.multitest import multipletests
    np.testing.assert_allclose(summary.loc[computed, "p_adjusted_bh"],
                               multipletests(summary.loc[computed, "p_value"], method="fdr_bh")[1])


# ------------------------------------------------------------------ the demo run


def test_demo_planted_pair_validates_and_the_control_does_not(small_run: Path) -> None:
    every = pd.read_csv(small_run / "results/small/validation/summary.tsv", sep="\t")
    reported = every[every["claim"] == "reported model"]
    summary = reported[reported["scaling"] == "training"]  # the primary recipe's claims
    forge = summary[summary["score"] == "forge"].set_index(["cohort", "pair", "grouping", "variable"]).sort_index()
    pdx = row_of(forge, ("pdx", "EGFR_ERLOTINIB", "median", "tv_change_days_gt10_le15"))
    assert pdx["p_value"] < 0.01 and pdx["effect_size"] < 0 and pdx["median_higher"] < pdx["median_lower"]
    tahoe = row_of(forge, ("tahoe", "EGFR_ERLOTINIB", "median_split_dose_5", "response_strength"))
    assert tahoe["p_value"] < 0.05 and tahoe["effect_size"] > 0
    cancer = row_of(forge, ("tahoe", "EGFR_ERLOTINIB", "cancer_vs_normal", "benefit_score"))
    assert cancer["median_higher"] > cancer["median_lower"]  # one normal line: direction only (P ≥ 1/16)
    control = summary[(summary["pair"] == "A1CF_VORINOSTAT") & (summary["status"] == "computed")]
    # a null pair: its primary endpoints are not significant, and about 5 % of its many tests
    # fall under 0.05 by chance (25 PDX models, 50 Tahoe lines)
    assert len(control) > 20 and (control["p_value"] < 0.05).mean() <= 0.1
    primary = control.set_index(["score", "grouping", "variable"])
    assert primary.loc[("forge", "median", "tv_change_days_gt10_le15"), "p_value"].min() > 0.05
    assert primary.loc[("forge", "median_split_dose_5", "response_strength"), "p_value"].min() > 0.05
    trend = summary[summary["test"] == "page_trend"]
    assert len(trend) == 1 and trend["p_value"].item() < 1e-4  # response grows with dose
    composition = pd.read_csv(small_run / "results/small/validation/score_composition.tsv", sep="\t")
    shares = composition["dependency_share"] + composition["ic50_share"]
    np.testing.assert_allclose(shares, 1.0)
    training = composition[composition["cohort"] == "training_cohort"].set_index("pair")
    assert len(training) == 2 and (training["n"] == 400).all()  # the small demo: 2 pairs, 400 lines
    for cohort, pair in (("tahoe", "EGFR_ERLOTINIB"), ("pdx", "EGFR_ERLOTINIB")):
        folder = small_run / "results/small/validation" / cohort / pair
        assert (folder / "scores.tsv").is_file() and (folder / "tests.tsv").is_file()
    # the paper's recipe (within-cohort z-scoring, standardised weights): the planted pair validates, the control not
    paper = reported[(reported["scaling"] == "cohort") & (reported["weights"] == "standardised")]
    paper = paper[paper["score"] == "forge"].set_index(["cohort", "pair", "grouping", "variable"]).sort_index()
    assert row_of(paper, ("pdx", "EGFR_ERLOTINIB", "median", "tv_change_days_gt10_le15"))["p_value"] < 0.01
    assert row_of(paper, ("tahoe", "EGFR_ERLOTINIB", "median_split_dose_5", "response_strength"))["p_value"] < 0.05
    assert row_of(paper, ("pdx", "A1CF_VORINOSTAT", "median", "tv_change_days_gt10_le15"))["p_value"] > 0.05
    assert row_of(paper, ("tahoe", "A1CF_VORINOSTAT", "median_split_dose_5", "response_strength"))["p_value"] > 0.05
    # robustness: every replicate of both validated k (10 and the reported 20) validates the planted pair's PDX
    # claim under both recipes, the replicate-mean score too; and the robustness rows are not claims (no BH)
    robust = pd.read_csv(small_run / "results/small/validation/robustness_summary.tsv", sep="\t")
    planted = robust[(robust["cohort"] == "pdx") & (robust["pair"] == "EGFR_ERLOTINIB") & (robust["score"] == "forge")
                     & (robust["grouping"] == "median") & (robust["variable"] == "tv_change_days_gt10_le15")]
    assert len(planted) == 4 and set(planted["k"].astype(int)) == {10, 20}
    assert (planted["fraction_p_below_0_05"] == 1.0).all() and (planted["p_replicate_mean"] < 0.05).all()
    assert every.loc[every["claim"] != "reported model", "p_adjusted_bh"].isna().all()
    control = robust[(robust["pair"] == "A1CF_VORINOSTAT") & (robust["score"] == "forge") & (robust["n_computed"] > 0)]
    assert control["p_median"].min() > 0.05
    de = pd.read_csv(small_run / "results/small/validation/tahoe/EGFR_ERLOTINIB/de_summary.tsv", sep="\t").iloc[0]
    assert de["status"] == "fitted" and de["n_lines"] == 8 and de["design"].startswith("~plate + group")
