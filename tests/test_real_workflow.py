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

    # validation on the real Gao 2015 NSCLC/erlotinib arm (README table; reported, not tuned)
    scores = pd.read_csv(workdir / "results/real_egfr_erlotinib/validation/pdx/EGFR_ERLOTINIB/scores.tsv", sep="\t")
    assert len(scores) == 25  # the arm's 29 models, 25 with FPKM
    assert scores["tv_change_days_10_15"].notna().sum() == 22
    summary = pd.read_csv(workdir / "results/real_egfr_erlotinib/validation/summary.tsv", sep="\t")
    day15 = summary[(summary["cohort"] == "pdx") & (summary["score"] == "forge") & (summary["grouping"] == "median")
                    & (summary["variable"] == "tv_change_days_10_15")].iloc[0]
    assert day15["status"] == "computed" and day15["n_higher"] + day15["n_lower"] == 22
    assert abs(day15["p_value"] - 0.2049) < 0.005  # the README figure (paper: 1.36e-3); deterministic model
    mrecist = summary[(summary["cohort"] == "pdx") & (summary["variable"] == "mRECIST")]
    assert set(mrecist["test"]) == {"chi_square", "fisher_exact"} and (mrecist["status"] == "computed").all()
