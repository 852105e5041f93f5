"""Modelling stage: pairs, splits, tuning/CV, replicates, baselines, interpretation, scoring."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forge.modelling.baselines import fit_predict_baselines, lineage_mean_predictor
from conftest import REPO
from forge.modelling.model import PairData, fit_pair_models, split_by_lineage, split_samples
from forge.modelling.interpretation import group_tests, median_and_quartile_groups, paired_concordance_test
from forge.io import InputFormatError
from forge.modelling.pairs import auto_pairs, count_pairs, read_pairs_table
from forge.modelling.training import cross_validate, fit_replicates, tuning_curve

OPTIONS = dict(max_iter=40, learning_rate=1e-3, l1_penalty=1e-3)


def planted(n: int = 160, p: int = 25, seed: int = 0, extra_drug: bool = True) -> tuple[PairData, pd.Series]:
    rng = np.random.default_rng(seed)
    samples = pd.Index([f"S{i:04d}" for i in range(n)], name="sample")
    expression = pd.DataFrame(rng.normal(5, 2, (n, p)), index=samples, columns=[f"G{j:02d}" for j in range(p)])
    signal = expression.iloc[:, :4].sum(axis=1).to_numpy()
    outputs = pd.DataFrame(
        {"T_dependency": 0.1 * signal + rng.normal(0, 0.5, n), "D_ic50": -0.2 * signal + rng.normal(0, 1, n)},
        index=samples,
    )
    if extra_drug:
        extra = -0.15 * signal + rng.normal(0, 1, n)
        extra[rng.random(n) < 0.2] = np.nan  # not measured everywhere
        outputs["E_ic50"] = extra
    lineage = pd.Series(rng.choice(["Lung", "Skin", "Breast", "Bowel", "CNS"], n), index=samples)
    return PairData(expression, outputs, split_samples(samples, 0.2, seed=42)), lineage


# -- pairs ----------------------------------------------------------------------------------
def test_pairs_table_defaults_and_errors(tmp_path: Path) -> None:
    table = tmp_path / "pairs.tsv"
    table.write_text("drug\ttarget\textra_drugs\tcontrol\nERLOTINIB\tEGFR\tGEFITINIB, AFATINIB\t\nX\tA1CF\t\tTRUE\n")
    pairs = read_pairs_table(table)
    assert pairs["name"].tolist() == ["EGFR_ERLOTINIB", "A1CF_X"]
    assert pairs["extra_drugs"].tolist() == ["GEFITINIB,AFATINIB", ""] and pairs["control"].tolist() == [False, True]
    table.write_text("drug\ttarget\tcontrol\nX\tA1CF\tmaybe\n")
    with pytest.raises(InputFormatError, match=r"row 2, column 'control': 'maybe'"):
        read_pairs_table(table)
    table.write_text("drug\ttarget\tcolour\nX\tA1CF\tred\n")
    with pytest.raises(InputFormatError, match=r"unknown column\(s\) \['colour'\]"):
        read_pairs_table(table)


def test_auto_pairs_counts_complete_cell_lines() -> None:
    samples = [f"S{i}" for i in range(10)]
    expression = pd.DataFrame(np.ones((10, 2)), index=samples, columns=["G1", "G2"])
    dependency = pd.DataFrame({"EGFR": [0.1] * 10, "BRAF": [0.2] * 8 + [np.nan] * 2}, index=samples)
    response = pd.DataFrame(
        {"ERLOTINIB": [1.0] * 9 + [np.nan], "GEFITINIB": [1.0] * 10, "DABRAFENIB": [1.0] * 10}, index=samples
    )
    drug_targets = pd.DataFrame(
        {"drug": ["ERLOTINIB", "GEFITINIB", "DABRAFENIB", "DABRAFENIB", "NOPE"],
         "target": ["EGFR", "EGFR", "BRAF", "RAF1", "EGFR"]}
    )
    listed = auto_pairs(drug_targets, expression, dependency, response, min_cell_lines=9)
    assert listed["name"].tolist() == ["EGFR_ERLOTINIB", "EGFR_GEFITINIB"]  # BRAF has 8 lines, RAF1 none
    assert listed["n_cell_lines"].tolist() == [9, 10]
    assert listed["extra_drugs"].tolist() == ["GEFITINIB", "ERLOTINIB"]
    assert listed["n_cell_lines_multi"].tolist() == [9, 9]
    counted = count_pairs(listed[["name", "target", "drug", "extra_drugs", "control"]].iloc[:1], expression,
                          dependency.iloc[:5], response)
    assert counted["n_cell_lines"].tolist() == [5]


# -- splits ---------------------------------------------------------------------------------
def test_lineage_blind_split_holds_out_whole_lineages() -> None:
    data, lineage = planted()
    split = split_by_lineage(lineage, 0.2, seed=3)
    assert split.index.is_unique and set(split.index) == set(lineage.index)
    for name, group in lineage.groupby(lineage):
        assert split[group.index].nunique() == 1, name  # no lineage on both sides
    assert (split == "test").sum() >= int(0.2 * len(split))
    assert split.equals(split_by_lineage(lineage.sample(frac=1, random_state=1), 0.2, seed=3))


# -- batching and replicates ----------------------------------------------------------------
def test_replicates_equal_single_fits_and_tuning_curve_is_batch_free() -> None:
    data, _ = planted()
    genes = list(data.expression.columns)
    fitted = fit_replicates(data, genes, ["joint", "dependency_only", "multi_drug"], [42, 43, 44], 3, OPTIONS)
    alone = fit_pair_models(data, genes, [43], 3, OPTIONS, ["T_dependency", "D_ic50"])[0]
    assert np.array_equal(fitted["joint"][1].W, alone.W) and np.array_equal(fitted["joint"][1].heads, alone.heads)
    assert fitted["dependency_only"][0].targets == ["T_dependency"]
    multi = fitted["multi_drug"][0]
    assert multi.targets == ["T_dependency", "D_ic50", "E_ic50"]
    assert multi.metadata["n_train"] == int(data.outputs.loc[data.train, "E_ic50"].notna().sum())

    curve = tuning_curve(data, genes, [2, 3], 2, 42, OPTIONS)
    assert len(curve) == 2 * 2 * 2 * 2  # k x init x split x output
    single = fit_pair_models(data, genes, [43], 3, OPTIONS, ["T_dependency", "D_ic50"])[0]
    predicted = single.predict(data.expression.loc[data.test])["D_ic50"]
    expected = np.corrcoef(predicted, data.outputs.loc[data.test, "D_ic50"])[0, 1]
    row = curve.query("n_components == 3 and seed == 43 and split == 'test' and output == 'D_ic50'")
    assert row["pearson"].iloc[0] == pytest.approx(expected, abs=1e-12)


def test_cross_validation_never_sees_the_test_set() -> None:
    data, _ = planted()
    genes = list(data.expression.columns)
    grid = dict(n_components=[2, 4], learning_rate=[1e-3], l1_penalty=[1e-3, 1e-1], max_iter=[30])
    table, chosen = cross_validate(data, genes, grid, 3, 7, OPTIONS)
    tampered = data.outputs.copy()
    tampered.loc[data.test] = 99.0
    tampered_expression = data.expression.copy()
    tampered_expression.loc[data.test] = -5.0
    table2, chosen2 = cross_validate(PairData(tampered_expression, tampered, data.split), genes, grid, 3, 7, OPTIONS)
    pd.testing.assert_frame_equal(table, table2)
    assert chosen == chosen2
    mean = table.groupby(["n_components", "learning_rate", "l1_penalty", "max_iter"])["validation_error"].mean()
    assert (chosen["n_components"], chosen["l1_penalty"]) == (mean.idxmin()[0], mean.idxmin()[2])
    assert len(table) == 2 * 2 * 3


# -- baselines ------------------------------------------------------------------------------
def test_baselines_use_training_samples_only() -> None:
    data, lineage = planted()
    genes = list(data.expression.columns)
    outputs = ["T_dependency", "D_ic50", "E_ic50"]
    predictions, settings, ridge = fit_predict_baselines(data, genes, lineage, outputs, seed=1, n_folds=3)
    tampered = data.outputs.copy()
    test_values = tampered.loc[data.test]
    tampered.loc[data.test] = test_values.where(test_values.isna(), 1e6)  # same missingness
    again, _, _ = fit_predict_baselines(PairData(data.expression, tampered, data.split), genes, lineage, outputs, 1, 3)
    pd.testing.assert_frame_equal(predictions, again)
    test = predictions[(predictions["split"] == "test") & (predictions["output"] == "D_ic50")].set_index(["model", "sample"])
    observed = data.outputs.loc[data.test, "D_ic50"]
    r_ridge = np.corrcoef(test.loc["ridge"].loc[observed.index, "predicted"], observed)[0, 1]
    assert r_ridge > 0.6  # the planted signal is linear
    assert set(settings["model"]) == {"ridge", "elastic_net"}
    # samples without a measured extra drug are not predicted for it
    n_measured = int(data.outputs["E_ic50"].notna().sum())
    assert (predictions.query("output == 'E_ic50' and model == 'ridge'").shape[0]) == n_measured
    # the persisted ridge scores any cohort exactly as it predicted the pair's samples
    restored = type(ridge).from_json(ridge.to_json())
    rescored = restored.predict(data.expression.loc[data.test])
    expected = test.loc["ridge"].loc[data.test, "predicted"]
    np.testing.assert_allclose(rescored.loc[data.test, "D_ic50"], expected, rtol=1e-10)
    # one sample's prediction does not depend on the others scored with it, and a missing gene counts as z = 0
    one = restored.predict(data.expression.loc[data.test[:1]])
    np.testing.assert_allclose(one.to_numpy(), rescored.iloc[:1].to_numpy(), rtol=1e-12)
    dropped = restored.predict(data.expression.loc[data.test[:1]].drop(columns=genes[0]))
    z0 = data.expression.loc[data.test[:1]].copy()
    z0[genes[0]] = restored.gene_mean[0]
    np.testing.assert_allclose(dropped.to_numpy(), restored.predict(z0).to_numpy(), rtol=1e-12)


def test_lineage_mean_predictor() -> None:
    values = pd.Series([1.0, 3.0, 10.0])
    train_lineage = pd.Series(["A", "A", "B"])
    predicted = lineage_mean_predictor(values, train_lineage, pd.Series(["B", "A", "C", None]))
    assert predicted.tolist() == [10.0, 2.0, pytest.approx(14 / 3), pytest.approx(14 / 3)]


# -- interpretation -------------------------------------------------------------------------
def test_median_and_quartile_groups_and_directional_tests() -> None:
    rng = np.random.default_rng(0)
    score = pd.Series(rng.normal(size=400))
    table = median_and_quartile_groups(score)
    assert table["quartile"].value_counts().tolist() == [100] * 4
    assert (score[table["median_group"] == "high"].min() > score[table["median_group"] == "low"].max())
    table["dep"] = score + rng.normal(0, 0.5, 400)
    table["ic50"] = -score + rng.normal(0, 0.5, 400)
    tests = group_tests(table, "dep", "ic50").set_index(["grouping", "higher_group", "output"])
    assert (tests["p_value"] < 1e-3).all()
    assert (tests.xs("dep", level="output")["rank_biserial"] > 0).all()
    assert (tests.xs("ic50", level="output")["rank_biserial"] < 0).all()
    reversed_tests = group_tests(table.assign(dep=-table["dep"]), "dep", "ic50")
    assert (reversed_tests.query("output == 'dep'")["p_value"] > 0.5).all()


def test_paired_concordance_test() -> None:
    per_pair = pd.DataFrame({"joint_r": [0.3, 0.25, 0.4, 0.2], "individual_r": [0.1, 0.05, 0.2, 0.15]})
    result = paired_concordance_test(per_pair).iloc[0]
    assert result["n_pairs"] == 4 and result["p_value_one_sided"] < 0.05
    single = paired_concordance_test(per_pair.iloc[:1]).iloc[0]
    assert np.isnan(single["p_value_one_sided"])


# -- scoring CLI ------------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "scripts/forge_score.py"), *args], capture_output=True, text=True)


def test_score_cli(tmp_path: Path) -> None:
    data, _ = planted(extra_drug=False)
    model = fit_pair_models(data, list(data.expression.columns), [42], 3, OPTIONS)[0]
    model.save(tmp_path / "models" / "joint" / "rep00")
    cohort = data.expression.iloc[:20].drop(columns=["G03"])
    cohort.index.name = "sample"
    cohort.to_csv(tmp_path / "cohort.csv")
    out = tmp_path / "scores.tsv"
    result = run_cli("--model", str(tmp_path / "models"), "--expression", str(tmp_path / "cohort.csv"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    scores = pd.read_csv(out, sep="\t", index_col="sample")
    expected, _ = model.benefit_score(cohort)
    np.testing.assert_allclose(scores["benefit_score"], expected.to_numpy(), rtol=1e-12)
    assert pd.read_csv(f"{out}.missing_genes.tsv", sep="\t")["gene"].tolist() == ["G03"]

    # raw counts: voom logCPM is per sample, so a sample's score ignores the others
    counts = pd.DataFrame(np.random.default_rng(1).poisson(50, (6, 25)), columns=data.expression.columns,
                          index=[f"c{i}" for i in range(6)])
    counts.to_csv(tmp_path / "counts.csv")
    counts.iloc[:2].to_csv(tmp_path / "counts_two.csv")
    run_cli("--model", str(tmp_path / "models"), "--expression", str(tmp_path / "counts.csv"), "--out",
            str(tmp_path / "all.tsv"), "--counts")
    run_cli("--model", str(tmp_path / "models"), "--expression", str(tmp_path / "counts_two.csv"), "--out",
            str(tmp_path / "two.tsv"), "--counts")
    all_scores = pd.read_csv(tmp_path / "all.tsv", sep="\t", index_col="sample")["benefit_score"]
    two = pd.read_csv(tmp_path / "two.tsv", sep="\t", index_col="sample")["benefit_score"]
    np.testing.assert_allclose(two, all_scores.loc[two.index], rtol=1e-12)


def test_score_cli_bad_input(tmp_path: Path) -> None:
    data, _ = planted(extra_drug=False)
    model = fit_pair_models(data, list(data.expression.columns), [42], 3, OPTIONS)[0]
    model.save(tmp_path / "m")
    result = run_cli("--model", str(tmp_path / "nothing"), "--expression", "x.csv", "--out", str(tmp_path / "o.tsv"))
    assert result.returncode == 2 and "no model at" in result.stderr
    other = data.expression.rename(columns=lambda g: "X" + g)
    other.to_csv(tmp_path / "other.csv")
    result = run_cli("--model", str(tmp_path / "m"), "--expression", str(tmp_path / "other.csv"), "--out", str(tmp_path / "o.tsv"))
    assert result.returncode == 2 and "no gene of the model" in result.stderr
    text = data.expression.astype(object)
    text.iloc[3, 2] = "high"
    text.to_csv(tmp_path / "text.csv")
    result = run_cli("--model", str(tmp_path / "m"), "--expression", str(tmp_path / "text.csv"), "--out", str(tmp_path / "o.tsv"))
    assert result.returncode == 2 and "text.csv: " in result.stderr
    assert "gene column 'G02', sample " in result.stderr and "non-numeric value 'high'" in result.stderr
    assert not (tmp_path / "o.tsv").exists()

    def score(*extra: str, expression: Path | None = None, model_dir: Path | None = None):
        data.expression.to_csv(tmp_path / "good.csv")
        return run_cli("--model", str(model_dir or tmp_path / "m"), "--expression", str(expression or tmp_path / "good.csv"),
                       "--out", str(tmp_path / "o.tsv"), *extra)

    # a gene column given twice: refused (pandas would rename the copy and the first would win)
    duplicated = data.expression.copy()
    duplicated.insert(3, "G01_copy", duplicated["G01"] + 5)
    duplicated.rename(columns={"G01_copy": "G01"}).to_csv(tmp_path / "dup.csv")
    result = score(expression=tmp_path / "dup.csv")
    assert result.returncode == 2 and "dup.csv: gene column(s) ['G01'] appear more than once" in result.stderr
    # the fraction must be a fraction
    for bad in ("1.5", "-0.1", "half"):
        result = score("--max-missing-fraction", bad)
        assert result.returncode == 2 and "--max-missing-fraction" in result.stderr, bad
    # truncated model files: a message and exit 2, no traceback
    for name in ("model.json", "model.npz"):
        broken = tmp_path / f"broken_{name}"
        import shutil
        shutil.copytree(tmp_path / "m", broken)
        content = (broken / name).read_bytes()
        (broken / name).write_bytes(content[: len(content) // 2])
        result = score(model_dir=broken)
        assert result.returncode == 2 and f"{name}: " in result.stderr and "Traceback" not in result.stderr, name
    assert not (tmp_path / "o.tsv").exists()


def test_individual_effects_and_concordance_by_hand() -> None:
    from forge.modelling.model import ForgeModel
    from forge.modelling.interpretation import effect_concordance, individual_effects

    genes = ["A", "B", "C"]
    W = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])

    def model(heads: np.ndarray) -> ForgeModel:
        t = heads.shape[1]
        return ForgeModel(genes, np.zeros(3), np.ones(3), [f"o{i}" for i in range(t)], np.zeros(t), W, heads,
                          {"seed": 42})

    dep, ic50 = model(np.array([[3.0], [4.0]])), model(np.array([[0.0], [-2.0]]))
    effects = individual_effects(dep, ic50)
    np.testing.assert_allclose(effects["DependencyEffect"], W @ [0.6, 0.8])
    np.testing.assert_allclose(effects["IC50Effect"], W @ [0.0, 1.0])  # -W h/|h|: sensitising positive
    joint = model(np.array([[3.0, 0.0], [4.0, -2.0]]))
    table = effect_concordance([joint], [dep], [ic50])
    expected = np.corrcoef(W @ [0.6, 0.8], W @ [0.0, 1.0])[0, 1]
    assert table.loc[0, "joint_r"] == pytest.approx(expected) and table.loc[0, "individual_r"] == pytest.approx(expected)
