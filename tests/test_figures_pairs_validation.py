"""Figures of gene effects, pairs and validation (fig4, fig4c, fig6, fig5_tahoe, fig5_pdx, supp_pdx).

Small hand-made tables go in; the tests check what is drawn: the plotted columns, the printed r and P,
heatmap cells, bar heights, and that a missing optional table gives a "not drawn" status, not an error.
"""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from forge.figures import style
from forge.figures.registry import FIGURES, TABLES, figure_subject, table_paths, validation_cohorts
from forge.modelling.pairs import pairs_from_frame

matplotlib.use("Agg")

PAIR = "EGFR_ERLOTINIB"


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
COHORTS = validation_cohorts("Erlotinib", "erlotinib", "NSCLC")


def draw(figure: str, tables: dict, name: str, pairs: pd.DataFrame | None = None):
    """Draw ``figure`` for ``name`` with the pairs of ``tables["pairs"]`` (else ``pairs_table()``)."""
    spec = FIGURES[figure]
    if pairs is None:
        pairs = tables["pairs"] if "pairs" in tables else pairs_table()
    subject = figure_subject(spec, name, pairs_from_frame(pairs), COHORTS)
    fig, status = spec.draw(tables, subject)
    assert set(status) == set(spec.panels), f"{figure}: every declared panel needs a status"
    for value in status.values():
        assert value == "drawn" or value.startswith("not drawn: ")
    return fig, status


def panel(fig, letter: str):
    """The axes that carries the bold panel letter."""
    for ax in fig.axes:
        if any(t.get_text() == letter and t.get_fontweight() == "bold" for t in ax.texts):
            return ax
    raise AssertionError(f"no panel {letter}")


def scatters(ax) -> list[PathCollection]:
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def texts(ax) -> str:
    return "\n".join([t.get_text() for t in ax.texts] + [ax.get_title(loc) for loc in ("left", "center", "right")])


def close(fig):
    matplotlib.pyplot.close(fig)


# --------------------------------------------------------------------------------------------------
# Fig. 4a-b
# --------------------------------------------------------------------------------------------------
def gene_effect_tables(n_genes: int = 30, individual: bool = True, seed: int = 1):
    rng = np.random.default_rng(seed)
    genes = [f"G{i:03d}" for i in range(n_genes)]
    rows = []
    for replicate in (0, 1):
        dep = rng.normal(size=n_genes)
        ic50 = 0.6 * dep + rng.normal(scale=0.5, size=n_genes)
        rows.append(pd.DataFrame({"gene": genes, "Effect": np.nan, "model": "forge_joint", "replicate": replicate,
                                  "DependencyEffect": dep, "IC50Effect": ic50, "TotalInfluence": dep + ic50,
                                  "BenefitWeight": 0.1 * (dep + ic50)}))
        if individual:
            rows.append(pd.DataFrame({"gene": genes, "Effect": rng.normal(size=n_genes),
                                      "model": "forge_dependency_only", "replicate": replicate}))
            rows.append(pd.DataFrame({"gene": genes, "Effect": rng.normal(size=n_genes),
                                      "model": "forge_ic50_only", "replicate": replicate}))
    effects = pd.concat(rows, ignore_index=True)
    joint = effects[effects["model"] == "forge_joint"].groupby("gene")["TotalInfluence"].mean().sort_values()
    top = pd.DataFrame({"pair": PAIR, "gene": list(joint.index[::-1][:8]), "group": "top", "rank": range(1, 9)})
    bottom = pd.DataFrame({"pair": PAIR, "gene": list(joint.index[:8]), "group": "bottom", "rank": range(1, 9)})
    concordance = pd.DataFrame({"pair": PAIR, "replicate": [0, 1], "seed": [42, 43], "joint_r": [0.7, 0.5],
                                "individual_r": [0.1, 0.3]})
    return {"gene_effects": effects, "top_genes": pd.concat([top, bottom], ignore_index=True),
            "effect_concordance": concordance}


def test_fig4_plots_replicate_0_effects_and_their_r():
    tables = gene_effect_tables()
    effects = tables["gene_effects"]
    fig, status = draw("fig4", tables, PAIR)
    assert status == {"a": "drawn", "b": "drawn"}
    rep0 = effects[effects["replicate"] == 0]
    joint = rep0[rep0["model"] == "forge_joint"]
    ax_a, ax_b = panel(fig, "a"), panel(fig, "b")
    # panel a: every gene of the joint model, at (DependencyEffect, IC50Effect) of replicate 0
    points = scatters(ax_a)[0].get_offsets()
    np.testing.assert_allclose(points, joint[["DependencyEffect", "IC50Effect"]].to_numpy())
    r_joint = np.corrcoef(joint["DependencyEffect"], joint["IC50Effect"])[0, 1]
    assert f"Pearson r = {r_joint:.2f}" in texts(ax_a)
    assert "mean r over 2 replicates = 0.60" in texts(ax_a)
    # panel b: the individual IC50Effect is minus the IC50-only head's Effect
    dep = rep0[rep0["model"] == "forge_dependency_only"].set_index("gene")["Effect"]
    ic50 = -rep0[rep0["model"] == "forge_ic50_only"].set_index("gene")["Effect"]
    points = scatters(ax_b)[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], dep.to_numpy())
    np.testing.assert_allclose(points[:, 1], ic50.reindex(dep.index).to_numpy())
    r_individual = np.corrcoef(dep, ic50.reindex(dep.index))[0, 1]
    assert f"Pearson r = {r_individual:.2f}" in texts(ax_b)
    assert "mean r over 2 replicates = 0.20" in texts(ax_b)
    # top/bottom genes marked (8 each), 5 of each named
    assert [len(c.get_offsets()) for c in scatters(ax_a)[1:]] == [8, 8]
    top = tables["top_genes"]
    named = {t.get_text() for t in ax_a.texts}
    assert set(top.loc[top["rank"] <= 5, "gene"]) <= named
    assert not set(top.loc[top["rank"] > 5, "gene"]) & named
    assert "DependencyEffect" in ax_a.get_xlabel() and "EGFR" in ax_a.get_xlabel()
    assert "IC50Effect" in ax_a.get_ylabel() and "erlotinib" in ax_a.get_ylabel()
    close(fig)


def test_fig4_without_individual_models_reports_panel_b():
    tables = gene_effect_tables(individual=False)
    fig, status = draw("fig4", tables, PAIR)
    assert status["a"] == "drawn"
    assert status["b"].startswith("not drawn:") and "individual" in status["b"]
    close(fig)
    fig, status = draw("fig4", {"gene_effects": pd.DataFrame(), "top_genes": pd.DataFrame(),
                                "effect_concordance": pd.DataFrame()}, PAIR)
    assert all(v.startswith("not drawn") for v in status.values())
    close(fig)


# --------------------------------------------------------------------------------------------------
# Fig. 4c
# --------------------------------------------------------------------------------------------------
def pairs_table():
    return pd.DataFrame({"name": ["EGFR_ERLOTINIB", "NAMPT_DAPORINAD", "A1CF_VORINOSTAT"],
                         "target": ["EGFR", "NAMPT", "A1CF"], "drug": ["ERLOTINIB", "DAPORINAD", "VORINOSTAT"],
                         "extra_drugs": ["GEFITINIB", "", ""], "control": [False, False, True]})


def test_fig4c_pairs_joint_vs_individual_with_test_and_control():
    per_rep = pd.DataFrame({"pair": ["EGFR_ERLOTINIB"] * 2 + ["NAMPT_DAPORINAD"] * 2 + ["A1CF_VORINOSTAT"] * 2,
                            "replicate": [0, 1] * 3, "seed": [42, 43] * 3,
                            "joint_r": [0.7, 0.8, 0.6, 0.6, 0.05, 0.15],
                            "individual_r": [0.2, 0.4, 0.3, 0.1, 0.0, 0.1]})
    tested = pd.DataFrame({"pair": ["EGFR_ERLOTINIB", "NAMPT_DAPORINAD"], "joint_r": [0.75, 0.6],
                           "individual_r": [0.3, 0.2]})
    test = pd.DataFrame({"n_pairs": [2], "mean_joint_r": [0.675], "mean_individual_r": [0.25],
                         "t_statistic": [5.67], "p_value_one_sided": [0.0123], "alternative": ["joint > individual"]})
    fig, status = draw("fig4c", {"all_concordance": tested, "concordance_test": test, "pairs": pairs_table(),
                                 "effect_concordance@pairs": per_rep}, "all_pairs")
    assert status == {"c": "drawn"}
    ax = panel(fig, "c")
    ys = sorted(float(c.get_offsets()[0, 1]) for c in scatters(ax))
    # two points per pair: the tested pairs' values, and the control's mean over replicates
    assert ys == pytest.approx(sorted([0.75, 0.3, 0.6, 0.2, 0.1, 0.05]))
    text = texts(ax)
    assert "t = 5.67" in text and style.format_p(0.0123) in text and "n = 2 pairs" in text
    assert re.search(r"A1CF–vorinostat \(control", text)
    close(fig)


def test_fig4c_without_concordance_is_not_drawn():
    fig, status = draw("fig4c", {"all_concordance": pd.DataFrame(), "concordance_test": pd.DataFrame(),
                                 "pairs": pairs_table(), "effect_concordance@pairs": pd.DataFrame()}, "all_pairs")
    assert status["c"].startswith("not drawn:")
    close(fig)


# --------------------------------------------------------------------------------------------------
# Fig. 6
# --------------------------------------------------------------------------------------------------
def fig6_tables():
    rng = np.random.default_rng(3)
    scores = []
    for pair, shift in (("EGFR_ERLOTINIB", 1.0), ("A1CF_VORINOSTAT", 0.0)):
        lineage = ["Lung"] * 6 + ["Skin"] * 3 + ["Bowel"] * 5 + ["Lung"] * 2
        split = ["train"] * 14 + ["unlabelled"] * 2
        scores.append(pd.DataFrame({"pair": pair, "sample": [f"S{i}" for i in range(16)],
                                    "benefit_score": rng.normal(shift, 1, 16), "lineage": lineage, "split": split}))
    scores = pd.concat(scores, ignore_index=True)
    umap = pd.DataFrame({"sample": [f"S{i}" for i in range(10)] * 2,
                         "pair": ["EGFR_ERLOTINIB"] * 10 + ["A1CF_VORINOSTAT"] * 10,
                         "split": "train", "lineage": "Lung", "benefit_score": rng.normal(size=20),
                         "umap_1": rng.normal(size=20), "umap_2": rng.normal(size=20)})
    metrics = []
    for pair, target, drug in (("EGFR_ERLOTINIB", "EGFR", "ERLOTINIB"), ("A1CF_VORINOSTAT", "A1CF", "VORINOSTAT")):
        for output in (f"{target}_dependency", f"{drug}_ic50"):
            for replicate in range(4):
                metrics.append(dict(pair=pair, model="forge_joint", replicate=replicate, output=output,
                                    split="test", pearson=0.5 + 0.01 * replicate))
                metrics.append(dict(pair=pair, model="forge_joint", replicate=replicate, output=output,
                                    split="train", pearson=0.9))
            for model, value in (("ridge", 0.41), ("elastic_net", 0.42), ("lineage_mean", 0.1),
                                 ("training_mean", np.nan)):
                metrics.append(dict(pair=pair, model=model, replicate=0, output=output, split="test", pearson=value))
    return {"benefit_scores@pairs": scores, "umap": umap, "all_metrics": pd.DataFrame(metrics),
            "pairs": pairs_table().iloc[[0, 2]].reset_index(drop=True)}


def test_fig6_heatmap_umap_and_accuracy():
    tables = fig6_tables()
    fig, status = draw("fig6", tables, "all_pairs")
    assert status == {"a": "drawn", "b": "drawn", "c": "drawn"}
    # a: median over labelled samples, lineages with >= 5 samples (Skin has 3: left out)
    ax = panel(fig, "a")
    image = ax.images[0].get_array()
    labelled = tables["benefit_scores@pairs"].query("split != 'unlabelled'")
    expected = labelled.groupby(["lineage", "pair"])["benefit_score"].median().unstack()
    rows = [t.get_text().split(" (")[0] for t in ax.get_yticklabels()]
    assert sorted(rows) == ["Bowel", "Lung"]
    columns = ["EGFR_ERLOTINIB", "A1CF_VORINOSTAT"]  # the order of the pairs table, control last
    np.testing.assert_allclose(np.asarray(image), expected.loc[rows, columns].to_numpy())
    assert "control" in ax.get_xticklabels()[1].get_text()
    # b: one small multiple per pair, all its samples
    umap_axes = [a for a in fig.axes if a.get_xlabel() == "UMAP 1 (a.u.)"]
    assert len(umap_axes) == 2
    assert [len(scatters(a)[0].get_offsets()) for a in umap_axes] == [10, 10]
    assert umap_axes[0].get_ylabel() == "UMAP 2 (a.u.)"
    # c: FORGE joint test r per replicate and the baselines beside it
    ax_dep = panel(fig, "c")
    offsets = [c.get_offsets() for c in scatters(ax_dep)]
    forge_points = [o for o in offsets if len(o) == 4]
    assert len(forge_points) == 2
    np.testing.assert_allclose(sorted(forge_points[0][:, 1]), [0.5, 0.51, 0.52, 0.53])
    singles = sorted(round(float(o[0, 1]), 2) for o in offsets if len(o) == 1)
    assert singles == [0.1, 0.1, 0.41, 0.41, 0.42, 0.42]  # ridge, elastic net, lineage mean per pair
    assert "Pearson r" in ax_dep.get_ylabel()
    close(fig)


def test_fig6_without_umap_reports_b():
    tables = fig6_tables()
    tables["umap"] = pd.DataFrame()
    fig, status = draw("fig6", tables, "all_pairs")
    assert status["a"] == "drawn" and status["c"] == "drawn"
    assert status["b"].startswith("not drawn:")
    close(fig)


# --------------------------------------------------------------------------------------------------
# Fig. 5 (Tahoe)
# --------------------------------------------------------------------------------------------------
TEST_COLUMNS = ["score", "test", "grouping", "higher_group", "lower_group", "variable", "alternative", "expected",
                "n_higher", "n_lower", "median_higher", "median_lower", "statistic", "effect_size", "effect_name",
                "p_value", "status", "reason"]


def make_tests(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{c: r.get(c, np.nan) for c in TEST_COLUMNS} for r in rows])


def tahoe_tables():
    lines = [f"CVCL_{i}" for i in range(7)]
    scores = pd.DataFrame({"cell_line": lines, "cell_name": [f"line {i}" for i in range(6)] + ["hTERT-HPNE"],
                           "is_normal": [False] * 6 + [True], "forge": [3.0, 2.5, 2.0, 1.0, 0.5, -1.0, -2.0],
                           "forge_balanced": np.arange(7.0), "ridge": np.arange(7.0),
                           "forge_group": ["high"] * 3 + ["low"] * 4})
    strength = []
    for plate, dose in (("plate7", 0.05), ("plate9", 5.0)):
        for i, line in enumerate(lines):
            strength.append(dict(cell_line=line, plate=plate, dose=dose, unit="uM", response_strength=40.0 + i + dose,
                                 n_genes=100, cell_name=scores["cell_name"][i], is_normal=scores["is_normal"][i],
                                 forge=scores["forge"][i], forge_group=scores["forge_group"][i]))
    rows = [dict(score="forge", test="mann_whitney_one_sided", grouping="cancer_vs_normal", n_higher=6, n_lower=1,
                 median_higher=1.5, median_lower=-2.0, p_value=0.1428, status="computed")]
    for score, p in (("forge", 0.0312), ("forge_balanced", 0.5), ("ridge", 0.77)):
        for dose, factor in (("0.05", 1), ("5", 2)):
            rows.append(dict(score=score, test="mann_whitney_one_sided", grouping=f"median_split_dose_{dose}",
                             n_higher=3, n_lower=4, p_value=p * factor, status="computed"))
    for score in ("forge_balanced", "ridge"):
        rows.append(dict(score=score, test="mann_whitney_one_sided", grouping="cancer_vs_normal", p_value=0.25,
                         status="computed"))
    de = pd.DataFrame({"gene": [f"G{i}" for i in range(10)],
                       "log2FoldChange": [3, 2.5, -2, -3, 0.1, 0.2, -0.1, 0.3, 1.5, -1.2],
                       "pvalue": [1e-8, 1e-6, 1e-7, 1e-5, 0.5, 0.4, 0.9, 0.3, 0.01, 0.02],
                       "padj": [1e-6, 1e-4, 1e-5, 1e-3, 0.9, 0.9, 0.9, 0.9, 0.2, 0.2],
                       "significant": [True] * 4 + [False] * 6,
                       "direction": ["up", "up", "down", "down"] + ["none"] * 6})
    return {"validation_scores": scores, "validation_tests": make_tests(rows), "tahoe_strength": pd.DataFrame(strength),
            "tahoe_de": de, "validation_summary": pd.DataFrame()}


def test_fig5_tahoe_panels_show_the_tables_tests():
    tables = tahoe_tables()
    fig, status = draw("fig5_tahoe", tables, f"tahoe__{PAIR}")
    assert status == {"a": "drawn", "c": "drawn", "d": "drawn"}
    ax = panel(fig, "a")
    cancer, normal = scatters(ax)[:2]
    np.testing.assert_allclose(sorted(cancer.get_offsets()[:, 1]), sorted([3.0, 2.5, 2.0, 1.0, 0.5, -1.0]))
    np.testing.assert_allclose(normal.get_offsets()[:, 1], [-2.0])
    assert "FORGE " + style.format_p(0.1428) in texts(ax)
    assert "hTERT-HPNE" in texts(ax)
    assert "n = 6" in ax.get_xticklabels()[0].get_text()
    # c: the volcano's points are log2FC vs -log10 P, coloured by the workflow's direction
    ax = panel(fig, "c")
    offsets = {len(c.get_offsets()): c.get_offsets() for c in scatters(ax)}
    assert sorted(offsets) == [2, 6]
    all_points = np.vstack([c.get_offsets() for c in scatters(ax)])
    np.testing.assert_allclose(sorted(all_points[:, 1]), sorted(-np.log10(tables["tahoe_de"]["pvalue"])))
    assert "2 up, 2 down" in texts(ax)
    assert "log2 fold change" in ax.get_xlabel()
    # d: per dose, the P of each score from tests.tsv
    ax = panel(fig, "d")
    text = texts(ax)
    assert "FORGE 0.031" in text and "FORGE 0.062" in text and "ridge 0.77" in text and "bal. 1" in text
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.05 µM", "5 µM"]
    assert "response strength" in ax.get_ylabel()
    close(fig)


def test_fig5_tahoe_unscored_cohort_and_missing_tables():
    failed = make_tests([dict(score="all", test="all", status="not computed",
                             reason="cohort not scored: 80% of the model genes are missing")])
    empty = {k: pd.DataFrame() for k in ("validation_scores", "tahoe_strength", "tahoe_de", "validation_summary")}
    fig, status = draw("fig5_tahoe", {**empty, "validation_tests": failed}, f"tahoe__{PAIR}")
    assert all(v == "not drawn: cohort not scored: 80% of the model genes are missing" for v in status.values())
    close(fig)
    tables = tahoe_tables()
    tables["tahoe_de"] = pd.DataFrame()
    fig, status = draw("fig5_tahoe", tables, f"tahoe__{PAIR}")
    assert status["a"] == "drawn" and status["d"] == "drawn" and status["c"].startswith("not drawn:")
    close(fig)


# --------------------------------------------------------------------------------------------------
# Fig. 5 (PDX) and the pseudo-count supplement
# --------------------------------------------------------------------------------------------------
def pdx_tables():
    scores = pd.DataFrame({"Model": [f"X-{i}" for i in range(8)], "forge": np.arange(8.0)[::-1],
                           "forge_group": ["high"] * 4 + ["low"] * 4,
                           "tv_change_days_gt10_le15": [-80, -60, -50, 10, 20, 40, 90, np.nan],
                           "tv_change_bin_gt0_le5": [-10, -5, 0, 2, 3, 5, 8, 9],
                           "tv_change_bin_gt5_le10": [-40, -30, -20, 5, 10, 30, 50, 60]})
    rows = [dict(score="forge", test="mann_whitney_one_sided", grouping="median", variable="tv_change_days_gt10_le15",
                 n_higher=4, n_lower=3, median_higher=-55, median_lower=40, p_value=0.0286, status="computed"),
            dict(score="forge_balanced", test="mann_whitney_one_sided", grouping="median",
                 variable="tv_change_days_gt10_le15", p_value=0.05, status="computed"),
            dict(score="ridge", test="mann_whitney_one_sided", grouping="median", variable="tv_change_days_gt10_le15",
                 p_value=0.6, status="computed"),
            dict(score="forge", test="mann_whitney_one_sided", grouping="median", variable="tv_change_bin_gt0_le5",
                 n_higher=4, n_lower=4, p_value=0.0143, status="computed"),
            dict(score="forge", test="mann_whitney_one_sided", grouping="median", variable="tv_change_bin_gt5_le10",
                 n_higher=4, n_lower=4, status="not computed", reason="too few"),
            dict(score="forge", test="chi_square", grouping="median", variable="mRECIST", statistic=6.0,
                 effect_size=0.71, p_value=0.0498, status="computed", reason=""),
            dict(score="forge", test="fisher_exact", grouping="median", variable="mRECIST", p_value=0.07,
                 status="computed")]
    mrecist = pd.DataFrame({"score": "forge", "group": ["high"] * 3 + ["low"] * 3, "mRECIST": ["PR", "SD", "PD"] * 2,
                            "n": [3, 1, 0, 0, 1, 3]})
    return {"validation_scores": scores, "validation_tests": make_tests(rows), "pdx_mrecist": mrecist,
            "validation_summary": pd.DataFrame()}


def test_fig5_pdx_tv_change_bins_and_mrecist():
    tables = pdx_tables()
    fig, status = draw("fig5_pdx", tables, f"pdx__{PAIR}")
    assert status == {"f": "drawn", "g": "drawn", "h": "drawn"}
    ax = panel(fig, "f")
    high, low = scatters(ax)[:2]
    np.testing.assert_allclose(sorted(high.get_offsets()[:, 1]), [-80, -60, -50, 10])
    np.testing.assert_allclose(sorted(low.get_offsets()[:, 1]), [20, 40, 90])  # NaN left out
    assert ["n = 4" in t.get_text() for t in ax.get_xticklabels()] == [True, False]
    text = texts(ax)
    assert "FORGE " + style.format_p(0.0286) in text and "balanced P = 0.05" in text and "ridge P = 0.6" in text
    assert "%TV change" in ax.get_ylabel()
    ax = panel(fig, "g")
    assert "0.01\n4/4" in texts(ax) and "n/c\n4/4" in texts(ax)
    medians = [line.get_ydata() for line in ax.lines if len(line.get_ydata()) == 2]
    assert any(np.allclose(m, [-2.5, -25.0]) for m in medians)  # high group, bins 0-5 and 5-10
    ax = panel(fig, "h")
    # stacked bars: one per mRECIST class and group, heights = the counts of mrecist.tsv
    bars = {(round(p.get_x() + p.get_width() / 2), container.get_label()): p.get_height()
            for container in ax.containers for p in container.patches}
    assert bars == {(0, "mPR"): 3, (0, "mSD"): 1, (0, "mPD"): 0, (1, "mPR"): 0, (1, "mSD"): 1, (1, "mPD"): 3}
    text = texts(ax)
    assert "χ² = 6.0" in text and style.format_p(0.0498) in text and "Cramér's V = 0.71" in text
    close(fig)


def test_fig5_pdx_missing_mrecist_is_reported():
    tables = pdx_tables()
    tables["pdx_mrecist"] = pd.DataFrame()
    fig, status = draw("fig5_pdx", tables, f"pdx__{PAIR}")
    assert status["f"] == "drawn" and status["h"].startswith("not drawn:")
    close(fig)


def test_supp_pdx_grid_cells_and_default():
    grid = pd.DataFrame({"fragments": [35e6, 20e6, 20e6, 35e6], "read_length": [200.0, 75.0, 100.0, 75.0],
                         "is_default": [True, False, False, False], "n_models": 8, "n_missing_genes": 1,
                         "spearman_vs_default": [1.0, 0.95, 0.97, 0.99], "median_high": -50.0, "median_low": 30.0,
                         "p_value": [0.01, 0.02, 0.03, 0.04], "rank_biserial": -0.5, "status": "computed",
                         "reason": ""})
    fig, status = draw("supp_pdx", {"pdx_sensitivity": grid, "validation_tests": pdx_tables()["validation_tests"]},
                       f"pdx__{PAIR}")
    assert status == {"a": "drawn", "b": "drawn"}
    ax = panel(fig, "a")
    cells = np.ma.filled(ax.images[0].get_array().astype(float), np.nan)
    # rows 20 M, 35 M; columns 75, 100, 200 bp; (20 M, 200 bp) and (35 M, 100 bp) not in the grid
    np.testing.assert_allclose(cells, [[0.95, 0.97, np.nan], [0.99, np.nan, 1.0]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["20 M", "35 M"]
    frames = [p for p in ax.patches if not p.get_fill()]
    assert len(frames) == 1 and frames[0].get_xy() == pytest.approx((2 - 0.48, 1 - 0.48))
    ax = panel(fig, "b")
    cells = np.ma.filled(ax.images[0].get_array().astype(float), np.nan)
    np.testing.assert_allclose(cells, -np.log10([[0.02, 0.03, np.nan], [0.04, np.nan, 0.01]]))
    assert "P = 0.01" in texts(ax)
    close(fig)
    fig, status = draw("supp_pdx", {"pdx_sensitivity": pd.DataFrame(), "validation_tests": pd.DataFrame()},
                       f"pdx__{PAIR}")
    assert all(v.startswith("not drawn:") for v in status.values())
    close(fig)


# --------------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------------
def test_registered_specs_read_only_their_cohort():
    for name in ("fig4", "fig4c", "fig6", "fig5_tahoe", "fig5_pdx", "supp_pdx"):
        spec = FIGURES[name]
        assert spec.caption and all(len(v) == 2 for v in spec.panels.values())
        assert all(t.removesuffix("@pairs") in TABLES for t in spec.tables)
    for name, cohort, other in (("fig5_tahoe", "tahoe", "pdx"), ("fig5_pdx", "pdx", "tahoe"),
                                ("supp_pdx", "pdx", "tahoe")):
        spec = FIGURES[name]
        assert spec.cohorts == (cohort,)
        files = [f for files in table_paths(spec, f"{cohort}__{PAIR}", [PAIR]).values() for f in files]
        assert not any(f"/{other}/" in f for f in files)


def test_supp_weights_without_weight_tests_draws_and_says_so():
    """gene_weights.tsv with rows but an empty weight_tests.tsv (no test could be made): both panels
    are drawn and name the missing test; this raised KeyError 'test' before."""
    rng = np.random.default_rng(np.random.SeedSequence(3))
    genes = [f"G{i:03d}" for i in range(30)]
    weights = pd.concat([pd.DataFrame({"gene": genes, "k": k, "reported_k": 30, "weight_rep00": rng.normal(size=30),
                                       "present_in_cohort": [i % 5 != 0 for i in range(30)]}) for k in (30, 40)])
    fig, status = draw("supp_weights", {"gene_weights": weights, "weight_tests": pd.DataFrame()}, f"pdx__{PAIR}")
    assert status == {"c": "drawn", "d": "drawn"}
    assert "test not in weight_tests.tsv" in texts(panel(fig, "c"))
    assert "Pearson r not in weight_tests.tsv" in texts(panel(fig, "d"))
    matplotlib.pyplot.close(fig)
