"""The real-data check config (benchmarks/real_egfr_erlotinib.yaml) run by Snakemake."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from conftest import REPO, copy_workflow, run_snakemake
from shared_data import REAL, requires_real_data


@requires_real_data
def test_real_egfr_erlotinib_check(tmp_path: Path) -> None:
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "benchmarks").mkdir()
    text = (REPO / "benchmarks/real_egfr_erlotinib.yaml").read_text()
    config = yaml.safe_load(text.replace("../shared/data/real", str(REAL)))
    config["pairs"]["table"] = str(REPO / "benchmarks/real_egfr_erlotinib_pairs.tsv")
    config["model"]["replicates"] = 3  # the README table uses 10; 3 keep the test short
    config["tuning"] = {"k_grid": [20, 40], "n_init": 2}
    (workdir / "real.yaml").write_text(yaml.safe_dump(config))
    run_snakemake(workdir, "--configfile", "real.yaml")

    pair = workdir / "results/real_egfr_erlotinib/pairs/EGFR_ERLOTINIB"
    split = pd.read_csv(pair / "split.tsv", sep="\t")
    assert (split["split"] == "train").sum() == 526 and (split["split"] == "test").sum() == 132
    genes = pd.read_csv(pair / "genes.tsv", sep="\t")["gene"]
    assert len(genes) == 200
    test_samples = set(split.loc[split["split"] == "test", "sample"])

    # baselines and FORGE are evaluated on exactly the same held-out cell lines
    baselines = pd.read_csv(pair / "baseline_predictions.tsv", sep="\t")
    for (model, output), group in baselines[baselines["split"] == "test"].groupby(["model", "output"]):
        assert set(group["sample"]) == test_samples, (model, output)
    metrics = pd.read_csv(workdir / "results/real_egfr_erlotinib/metrics.tsv", sep="\t")
    test_metrics = metrics[metrics["split"] == "test"]
    assert set(test_metrics["n"]) == {132}
    assert {"forge_joint", "forge_dependency_only", "forge_ic50_only", "ridge", "elastic_net",
            "training_mean", "lineage_mean"} <= set(test_metrics["model"])
    joint = test_metrics[test_metrics["model"] == "forge_joint"].groupby("output")["pearson"].mean()
    assert abs(joint["EGFR_dependency"] - 0.585) <= 0.06 and abs(joint["ERLOTINIB_ic50"] - 0.342) <= 0.05

    # analysis stage with the paper's GO BP library and the Enrichr-KG universe as background
    clusters = pd.read_csv(pair / "clusters.tsv", sep="\t")
    assert len(clusters) == 658 and clusters["sensitive"].any()
    de = pd.read_csv(pair / "de_summary.tsv", sep="\t").set_index("contrast")
    assert (de["status"] == "fitted").all() and (de["weights"] == "none").all()  # prepared: no voom weights
    enrichment = pd.read_csv(pair / "enrichment.tsv", sep="\t")
    assert enrichment["background_size"].eq(26518).all()
    assert {"influence_top", "influence_bottom"} <= set(enrichment["list"])
    assert set(enrichment["library"]) == {"GO_Biological_Process_2021", "KEGG_2016", "MSigDB_Hallmark_v7.0"}
    # epithelial programmes of EGFR-dependent lines (README table): present and significant
    best = enrichment[enrichment["list"] == "sensitive_clusters_up"].sort_values("p_value")
    assert best["significant"].sum() >= 3
    assert best["term"].head(5).str.contains("epidermis|junction|skin|epithel", case=False).sum() >= 3

    # validation on the real Gao 2015 NSCLC/erlotinib arm: the table's structure and its invariances (the README
    # gives the P-values; nothing here is tuned to the paper's figure)
    validation = workdir / "results/real_egfr_erlotinib/validation"
    scores = pd.read_csv(validation / "pdx/EGFR_ERLOTINIB/scores.tsv", sep="\t")
    recipes = {("training", "raw"), ("cohort", "standardised")}
    assert set(map(tuple, scores[["scaling", "weights"]].drop_duplicates().to_numpy())) == recipes
    assert (scores.groupby(["scaling", "weights"]).size() == 25).all()  # the arm's 29 models, 25 with FPKM
    window = "tv_change_days_gt10_le15"  # the paper's right-closed day-15 bin
    assert scores.groupby("scaling")[window].apply(lambda v: v.notna().sum()).nunique() == 1
    tests = pd.read_csv(validation / "pdx/EGFR_ERLOTINIB/tests.tsv", sep="\t")
    robustness = pd.read_csv(validation / "pdx/EGFR_ERLOTINIB/robustness.tsv", sep="\t")
    summary = pd.read_csv(validation / "robustness_summary.tsv", sep="\t")
    day15 = summary[(summary["cohort"] == "pdx") & (summary["grouping"] == "median") & (summary["variable"] == window)]
    # k 30 and 40 (the reported model) × both recipes × (FORGE, balanced) + ridge per recipe
    assert len(day15) == 2 * 2 * 2 + 2
    assert set(day15["k"].dropna().astype(int)) == {30, 40}
    model_rows = day15[day15["score"] != "ridge"]
    assert (model_rows["n_replicates"] == 3).all() and model_rows["p_replicate_mean"].notna().all()
    assert (day15.loc[day15["score"] == "forge", "paper_p"] == 1.36e-3).all()
    for scaling, weights in recipes:
        # invariance: replicate 0 of the reported k in the robustness rows is the reported model's test
        reported = tests[(tests["scaling"] == scaling) & (tests["weights"] == weights) & (tests["score"] == "forge")
                         & (tests["grouping"] == "median") & (tests["variable"] == window)].iloc[0]
        again = robustness[(robustness["scaling"] == scaling) & (robustness["weights"] == weights)
                           & robustness["reported"] & (robustness["score"] == "forge")
                           & (robustness["grouping"] == "median") & (robustness["variable"] == window)].iloc[0]
        assert reported["status"] == "computed" and again["p_value"] == reported["p_value"]
        assert again["k"] == 40 and again["replicate"] == 0
    # the cohort lacks some model genes: how far they could move the ranking, and their weights
    dropout = pd.read_csv(validation / "pdx/EGFR_ERLOTINIB/gene_dropout.tsv", sep="\t")
    assert (dropout["n_missing"] > 0).all() and dropout["spearman_full_vs_without_missing"].between(-1, 1).all()
    weight_tests = pd.read_csv(validation / "pdx/EGFR_ERLOTINIB/weight_tests.tsv", sep="\t")
    assert ((weight_tests["test"] == "pearson") & (weight_tests["grouping"] == "k30_vs_k40")).sum() == 2
    mrecist = tests[(tests["variable"] == "mRECIST") & (tests["scaling"] == "training")]
    assert set(mrecist["test"]) == {"chi_square", "fisher_exact"} and (mrecist["status"] == "computed").all()
