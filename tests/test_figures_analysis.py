"""Figures of the latent analysis (fig3, supp_lineage) drawn from small hand-made tables: what is drawn
must be the tables' columns (points, medians, bars, P-values, labels), and missing tables must give
"not drawn: ..." statuses, never an exception."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.layout_engine import PlaceHolderLayoutEngine  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from scipy import stats  # noqa: E402

from forge.figures import fig_analysis as fa  # noqa: E402
from forge.figures import style  # noqa: E402
from forge.figures.registry import FIGURES, FigureSubject  # noqa: E402
from forge.modelling.pairs import Pair  # noqa: E402

SUBJECT = FigureSubject("EGFR_ERLOTINIB", Pair("EGFR_ERLOTINIB", "EGFR", "ERLOTINIB"),
                     (Pair("EGFR_ERLOTINIB", "EGFR", "ERLOTINIB"),))


# ------------------------------------------------------------------ hand-made tables


def make_clusters() -> pd.DataFrame:
    """15 clustered samples in 3 clusters (cluster 2 sensitive) plus 2 unassigned (cluster 0)."""
    rows = []
    spec = {1: (5, 0.5, 0.10, 3.0, "Lung"), 2: (6, 2.0, 0.70, 1.0, "Skin"), 3: (4, -1.0, 0.05, 5.0, "Breast"),
            0: (2, 0.0, 0.20, 2.0, "Lung")}
    k = 0
    for cluster, (n, score, dep, ic50, lineage) in spec.items():
        for i in range(n):
            k += 1
            rows.append({
                "sample": f"S{k:02d}",
                "split": ["train", "test", "unlabelled"][k % 3],
                "lineage": lineage if i % 2 == 0 else "Bowel",
                "benefit_score": score + 0.1 * i,
                "observed_dependency": dep + 0.02 * i,
                "observed_ic50": np.nan if (k % 3 == 2) else ic50 - 0.1 * i,
                "cluster": cluster,
                "other_view_cluster": cluster,
                "sensitive": cluster == 2,
            })
    return pd.DataFrame(rows)


def make_summary(clusters: pd.DataFrame) -> pd.DataFrame:
    """Medians offset from the sample medians by +0.01 (so a test can tell the table was read);
    cluster 1's score test and cluster 2's dependency and score tests significant."""
    rows = []
    for cluster, members in clusters.groupby("cluster"):
        rows.append({
            "cluster": cluster, "n": len(members), "lineages": "",
            "median_score": members["benefit_score"].median() + 0.01,
            "median_dependency": members["observed_dependency"].median() + 0.01,
            "median_ic50": members["observed_ic50"].median() + 0.01,
            "p_score": 0.01, "fdr_score": {1: 0.03, 2: 0.001}.get(cluster, 0.5 if cluster else np.nan),
            "p_dependency": 0.01, "fdr_dependency": {2: 0.002}.get(cluster, 0.4 if cluster else np.nan),
            "p_ic50": 0.2, "fdr_ic50": np.nan if cluster == 0 else 0.3,
            "sensitive": cluster == 2,
        })
    return pd.DataFrame(rows)


def make_embedding(clusters: pd.DataFrame) -> pd.DataFrame:
    samples = list(clusters["sample"]) + ["X01", "X02"]  # two embedded samples that were not clustered
    n = len(samples)
    frame = pd.DataFrame({"sample": samples, "split": "train", "lineage": "Lung", "benefit_score": 0.0})
    for j in range(1, 4):
        frame[f"Z{j}"] = np.arange(n) * j - 7.0
    frame["PC1"] = 0.0
    return frame


def make_de(n_up: int = 12, n_down: int = 3) -> pd.DataFrame:
    rows = []
    for i in range(n_up):
        rows.append((f"UP{i:02d}", 1.5 + 0.1 * i, 10.0 ** -(2 + i)))
    for i in range(n_down):
        rows.append((f"DN{i:02d}", -1.5 - 0.2 * i, 10.0 ** -(3 + i)))
    for i in range(20):
        rows.append((f"NS{i:02d}", -0.9 + 0.09 * i, 0.3 + 0.02 * i))
    rows.append(("BIGNS", 2.5, 0.2))  # large fold change, not significant
    de = pd.DataFrame(rows, columns=["gene", "logFC", "adj.P.Val"])
    de["P.Value"] = de["adj.P.Val"] / 10
    de["AveExpr"], de["t"], de["B"] = 5.0, 0.0, 0.0
    significant = (de["logFC"].abs() > 1) & (de["adj.P.Val"] < 0.05)
    de["significant"] = significant
    de["direction"] = np.where(significant, np.where(de["logFC"] > 0, "up", "down"), "none")
    de["top"] = significant
    return de


LONG_TERM = "regulation of a very long biological process name that goes on and on (GO:0000001)"


def make_enrichment() -> pd.DataFrame:
    rows = [
        ("sensitive_clusters_up", "GO_Biological_Process_2021", LONG_TERM, 12, 80, 1e-8, 1e-6, True),
        ("sensitive_clusters_up", "GO_Biological_Process_2021", "term B", 3, 50, 1e-3, 0.2, False),
        ("sensitive_clusters_up", "KEGG_2021_Human", "term C", 2, 40, 1e-2, 0.3, False),
        ("score_groups_up", "Reactome_2022", "term D", 9, 100, 1e-5, 1e-3, True),
        ("score_groups_down", "Reactome_2022", "term E", 4, 100, 0.02, 0.4, False),
        ("influence_top", "WikiPathways_2021_Human", "term F", 3, 30, 1e-4, 0.01, True),
        ("unrelated_list", "Reactome_2022", "term G", 3, 30, 1e-30, 1e-28, True),
    ]
    frame = pd.DataFrame(rows, columns=["list", "library", "term", "overlap", "set_size", "p_value", "fdr",
                                        "significant"])
    frame["list_size"], frame["background_size"], frame["odds_ratio"], frame["combined_score"] = 50, 2000, 5.0, 10.0
    frame["genes"] = "A;B"
    return frame


def make_lineages(clusters: pd.DataFrame) -> pd.DataFrame:
    counts = clusters.value_counts(["cluster", "lineage"]).rename("n").reset_index()
    counts["fraction_of_cluster"] = counts["n"] / counts.groupby("cluster")["n"].transform("sum")
    counts["fraction_of_lineage"] = counts["n"] / counts.groupby("lineage")["n"].transform("sum")
    return counts


def make_tables() -> dict[str, pd.DataFrame]:
    clusters = make_clusters()
    summary = make_summary(clusters)
    sensitive = pd.DataFrame({"cluster": [2, 1, 3], "score_rank": [1, 2, 3], "sensitive": [True, False, False],
                              "cohort_median_dependency": 0.123, "cohort_median_ic50": 2.5})
    return {"clusters": clusters, "embedding": make_embedding(clusters), "cluster_summary": summary,
            "sensitive_clusters": sensitive, "de_sensitive_clusters": make_de(),
            "de_score_groups": make_de(n_up=2, n_down=1), "enrichment": make_enrichment(),
            "cluster_lineages": make_lineages(clusters)}


# ------------------------------------------------------------------ finding what was drawn


def panel_axes(fig, letter: str):
    found = [ax for ax in fig.get_axes()
             if any(t.get_text() == letter and t.get_fontweight() == "bold" for t in ax.texts)]
    assert len(found) == 1, f"panel {letter}: {len(found)} axes carry the label"
    return found[0]


def axes_by_title(fig, start: str):
    found = [ax for ax in fig.get_axes() if ax.get_title().startswith(start)]
    assert len(found) == 1, start
    return found[0]


def axes_by_ylabel(fig, label: str):
    found = [ax for ax in fig.get_axes() if ax.get_ylabel() == label]
    assert len(found) == 1, label
    return found[0]


def scatters(ax) -> list[PathCollection]:
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


@pytest.fixture(scope="module")
def drawn_fig3():
    tables = make_tables()
    fig, status = FIGURES["fig3"].draw(tables, SUBJECT)
    yield tables, fig, status
    plt.close(fig)


# ------------------------------------------------------------------ fig3


def test_fig3_registered_with_every_panel_drawn(drawn_fig3):
    _, fig, status = drawn_fig3
    spec = FIGURES["fig3"]
    assert spec.scope == "pair"
    assert set(spec.panels) == set("abcdef")
    assert status == {letter: "drawn" for letter in "abcdef"}
    for letter in "abcdef":
        panel_axes(fig, letter)
    assert "{pair}" in spec.caption


def test_fig3_heatmap_rows_are_clustered_samples_ordered_by_cluster_then_score(drawn_fig3):
    tables, fig, _ = drawn_fig3
    heat = axes_by_title(fig, "latent embedding Z")
    Z = np.asarray(heat.images[0].get_array())
    clusters, summary = tables["clusters"], tables["cluster_summary"]
    # cluster order from the table's median_score (2, 1, 3), unassigned last; within: score, highest first
    rank = {2: 0, 1: 1, 3: 2, 0: 3}
    expected = clusters.assign(r=clusters["cluster"].map(rank)).sort_values(["r", "benefit_score"],
                                                                            ascending=[True, False])
    embedding = tables["embedding"].set_index("sample")
    assert Z.shape == (len(clusters), 3)  # the two unclustered embedded samples are not drawn
    np.testing.assert_allclose(Z, embedding.loc[expected["sample"], ["Z1", "Z2", "Z3"]].to_numpy())
    assert fa.cluster_order(clusters, summary) == [2, 1, 3, 0]
    # diverging map centred at 0, clipped at the 99th percentile of |Z|
    vmin, vmax = heat.images[0].get_clim()
    assert vmin == -vmax and vmax == pytest.approx(np.percentile(np.abs(Z), 99))
    # no row label per sample
    first = panel_axes(fig, "a")
    assert len(first.get_yticklabels()) <= 4
    assert heat.get_xlabel().startswith("latent dimension")


def test_fig3_cluster_strips_plot_the_columns_and_table_medians(drawn_fig3):
    tables, fig, _ = drawn_fig3
    clusters, summary = tables["clusters"], tables["cluster_summary"].set_index("cluster")
    order = [2, 1, 3, 0]
    for column, key, label in (("benefit_score", "score", "Benefit\nScore (a.u.)"),
                               ("observed_dependency", "dependency", "EGFR dep.\nprobability"),
                               ("observed_ic50", "ic50", "erlotinib\nlog IC50")):
        ax = axes_by_ylabel(fig, label)
        other, sensitive = scatters(ax)
        values = clusters[column]
        is_sensitive = clusters["sensitive"]
        np.testing.assert_allclose(np.sort(sensitive.get_offsets()[:, 1]), np.sort(values[is_sensitive].dropna()))
        np.testing.assert_allclose(np.sort(other.get_offsets()[:, 1]), np.sort(values[~is_sensitive].dropna()))
        # points sit at their cluster's position
        x_expected = clusters.loc[is_sensitive & values.notna(), "cluster"].map({c: i for i, c in enumerate(order)})
        assert np.all(np.abs(sensitive.get_offsets()[:, 0] - x_expected.to_numpy()) < 0.3)
        # median bars: the table's medians (offset +0.01 from the sample medians)
        bars = [c for c in ax.collections if isinstance(c, LineCollection)][0]
        heights = sorted(seg[0][1] for seg in bars.get_segments())
        np.testing.assert_allclose(heights, sorted(summary[f"median_{key}"].to_numpy()))
        # one star per cluster with FDR < 0.05
        n_stars = texts(ax).count("*")
        assert n_stars == int((summary[f"fdr_{key}"] < 0.05).sum())
    bottom = axes_by_ylabel(fig, "erlotinib\nlog IC50")
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["2", "1", "3", "unass."]
    top = axes_by_ylabel(fig, "Benefit\nScore (a.u.)")
    sizes = clusters.groupby("cluster").size()
    assert [int(t) for t in texts(top) if t.isdigit()] == [sizes[c] for c in sorted(sizes.index)]
    # cohort medians of the selection rule, from sensitive_clusters.tsv
    dep_ax = axes_by_ylabel(fig, "EGFR dep.\nprobability")
    assert any(np.allclose(line.get_ydata(), 0.123) for line in dep_ax.get_lines())


def test_fig3_sensitive_vs_other_panels_use_the_right_columns_and_show_p(drawn_fig3):
    tables, fig, _ = drawn_fig3
    clusters = tables["clusters"]
    sensitive = clusters["sensitive"]
    for letter, column, alternative in (("c", "observed_dependency", "greater"), ("d", "observed_ic50", "less")):
        ax = panel_axes(fig, letter)
        a = clusters.loc[sensitive, column].dropna()
        b = clusters.loc[~sensitive, column].dropna()
        points_a, points_b = scatters(ax)
        np.testing.assert_allclose(np.sort(points_a.get_offsets()[:, 1]), np.sort(a))
        np.testing.assert_allclose(np.sort(points_b.get_offsets()[:, 1]), np.sort(b))
        p = stats.mannwhitneyu(a, b, alternative=alternative).pvalue
        assert style.format_p(p) in ax.get_title()
        assert "one-sided Mann–Whitney" in ax.get_title()
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert f"n = {len(a)}" in labels[0] and f"n = {len(b)}" in labels[1]
    assert panel_axes(fig, "c").get_ylabel() == "EGFR dependency probability"
    assert panel_axes(fig, "d").get_ylabel() == "erlotinib IC50 (CREAMMIST log scale)"


def test_fig3_volcano_points_thresholds_and_labels(drawn_fig3):
    tables, fig, _ = drawn_fig3
    de = tables["de_sensitive_clusters"]
    ax = panel_axes(fig, "e")
    none, up, down = scatters(ax)
    assert len(none.get_offsets()) + len(up.get_offsets()) + len(down.get_offsets()) == len(de)
    ups = de[de["direction"] == "up"]
    np.testing.assert_allclose(np.sort(up.get_offsets()[:, 0]), np.sort(ups["logFC"]))
    np.testing.assert_allclose(np.sort(up.get_offsets()[:, 1]), np.sort(-np.log10(ups["adj.P.Val"])))
    assert "12 up, 3 down" in ax.get_title()
    assert ax.get_xlabel() == "log2 fold change" and "adjusted P" in ax.get_ylabel()
    xs = {tuple(line.get_xdata()) for line in ax.get_lines()}
    ys = {tuple(line.get_ydata()) for line in ax.get_lines()}
    assert (-1.0, -1.0) in xs and (1.0, 1.0) in xs and (-math.log10(0.05),) * 2 in ys
    # the 10 most significant up genes and all 3 down genes are labelled, nothing else
    labelled = {t for t in texts(ax) if t.startswith(("UP", "DN", "NS", "BIG"))}
    expected = set(ups.sort_values("adj.P.Val")["gene"].head(10)) | set(de.loc[de["direction"] == "down", "gene"])
    assert labelled == expected
    # labels fit the axes and do not overlap
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text() in expected]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), "volcano labels overlap"
    frame = ax.get_window_extent(renderer)
    assert all(frame.x0 - 1 <= b.x0 and b.x1 <= frame.x1 + 1 for b in boxes)
    second = axes_by_title(fig, "high vs low Benefit Score")
    assert "2 up, 1 down" in second.get_title()


def test_fig3_enrichment_bars_are_minus_log10_fdr_of_the_chosen_terms(drawn_fig3):
    tables, fig, _ = drawn_fig3
    ax = panel_axes(fig, "f")
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    shown = fa.enrichment_terms(tables["enrichment"])
    assert "unrelated_list" not in set(shown["list"])
    assert len(bars) == len(shown) == 6
    widths = sorted(b.get_width() for b in bars)
    np.testing.assert_allclose(widths, sorted(-np.log10(shown["fdr"])))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert fa.truncate(LONG_TERM) in labels and len(fa.truncate(LONG_TERM)) == fa.TERM_CHARS
    assert any(line.get_xdata()[0] == pytest.approx(-math.log10(0.05)) for line in ax.get_lines())
    assert "3 significant" in ax.get_legend().get_title().get_text()
    assert "12/80 · GO BP 2021" in texts(ax)


def test_enrichment_terms_significant_first_and_capped():
    frame = make_enrichment()
    shown = fa.enrichment_terms(frame, n=3)
    assert len(shown) == 3 and shown["_sig"].all()
    assert set(shown["term"]) == {LONG_TERM, "term D", "term F"}
    none = frame.assign(significant=False)
    fig, status = FIGURES["fig3"].draw(dict(make_tables(), enrichment=none), SUBJECT)
    assert status["f"] == "drawn"
    assert "none significant" in panel_axes(fig, "f").get_legend().get_title().get_text()
    plt.close(fig)


def test_label_slots_keep_spacing():
    slots = fa.label_slots(np.array([10.0, 9.9, 9.8, 2.0, 1.95]), step=0.5, y_low=0.0, y_high=12.0)
    assert np.all(np.diff(slots) <= -0.5 + 1e-12)
    assert slots[0] == 10.0 and slots[3] == 2.0
    crowded = fa.label_slots(np.full(5, 0.1), step=0.5, y_low=0.0, y_high=12.0)
    assert crowded.min() >= 0.3 - 1e-12 and np.all(np.diff(crowded) <= -0.5 + 1e-12)


def test_fig3_skipped_contrast_and_no_sensitive_cluster():
    tables = make_tables()
    clusters = tables["clusters"].assign(sensitive=False)
    tables.update(clusters=clusters, cluster_summary=tables["cluster_summary"].assign(sensitive=False),
                  de_sensitive_clusters=make_de().iloc[0:0])  # a skipped contrast: columns, no rows
    fig, status = FIGURES["fig3"].draw(tables, SUBJECT)
    assert status["c"] == status["d"] == "not drawn: no cluster qualifies as sensitive"
    assert status["e"] == "drawn"  # the score contrast is still drawn
    e1 = panel_axes(fig, "e")
    assert any("no cluster qualifies as sensitive" in t for t in texts(e1))
    assert status["a"] == status["b"] == status["f"] == "drawn"
    plt.close(fig)


def test_fig3_missing_or_skipped_tables_give_reasons_not_errors():
    spec = FIGURES["fig3"]
    for tables in ({}, {key: pd.DataFrame() for key in spec.tables}):
        fig, status = spec.draw(tables, SUBJECT)
        assert set(status) == set(spec.panels)
        assert all(s.startswith("not drawn: ") for s in status.values())
        plt.close(fig)
    only_clusters = {"clusters": make_clusters()}
    fig, status = spec.draw(only_clusters, SUBJECT)
    assert status["a"].startswith("not drawn") and "embedding" in status["a"]
    assert status["b"] == status["c"] == status["d"] == "drawn"
    assert status["e"].startswith("not drawn") and status["f"].startswith("not drawn")
    plt.close(fig)


# ------------------------------------------------------------------ supp_lineage


def test_supp_lineage_stacked_fractions_counts_and_pooled_panel():
    tables = make_tables()
    spec = FIGURES["supp_lineage"]
    assert spec.scope == "pair" and set(spec.panels) == {"a", "b"}
    fig, status = spec.draw({k: tables[k] for k in spec.tables}, SUBJECT)
    assert status == {"a": "drawn", "b": "drawn"}
    lineages = tables["cluster_lineages"]
    order = [2, 1, 3, 0]
    ax = panel_axes(fig, "a")
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_fill()]
    fractions = lineages.pivot_table(index="cluster", columns="lineage", values="fraction_of_cluster",
                                     fill_value=0.0).reindex(order)
    assert {c.get_label() for c in ax.containers} == set(lineages["lineage"])
    for container in ax.containers:  # one stack layer per lineage, a bar per cluster in display order
        np.testing.assert_allclose([b.get_height() for b in container], fractions[container.get_label()])
    tops = {}
    for bar in bars:
        x = int(round(bar.get_x() + bar.get_width() / 2))
        tops[x] = max(tops.get(x, 0.0), bar.get_y() + bar.get_height())
    assert all(v == pytest.approx(1.0) for v in tops.values())
    sizes = lineages.groupby("cluster")["n"].sum()
    assert [t for t in texts(ax) if t.isdigit()] == [str(sizes[c]) for c in order]
    outlines = [p for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert len(outlines) == 1 and abs(outlines[0].get_x() + outlines[0].get_width() / 2 - 0) < 1e-9
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "1", "3", "unass."]
    # b: pooled sensitive (cluster 2) vs all others
    bx = panel_axes(fig, "b")
    clusters = tables["clusters"]
    in_sensitive = clusters["cluster"] == 2
    expected_s = clusters.loc[in_sensitive, "lineage"].value_counts(normalize=True)
    expected_o = clusters.loc[~in_sensitive, "lineage"].value_counts(normalize=True)
    names = [t.get_text() for t in bx.get_xticklabels()]
    red = sorted((p for p in bx.patches if p.get_facecolor()[:3] == matplotlib.colors.to_rgb(fa.SENSITIVE_COLOUR)),
                 key=lambda p: p.get_x())
    grey = sorted((p for p in bx.patches if p.get_facecolor()[:3] == matplotlib.colors.to_rgb(fa.OTHER_COLOUR)),
                  key=lambda p: p.get_x())
    np.testing.assert_allclose([p.get_height() for p in red], [expected_s.get(n, 0.0) for n in names])
    np.testing.assert_allclose([p.get_height() for p in grey], [expected_o.get(n, 0.0) for n in names])
    legend = [t.get_text() for t in bx.get_legend().get_texts()]
    assert f"(n = {int(in_sensitive.sum())})" in legend[0] and f"(n = {int((~in_sensitive).sum())})" in legend[1]
    plt.close(fig)


def test_supp_lineage_without_sensitive_cluster_or_tables():
    tables = make_tables()
    spec = FIGURES["supp_lineage"]
    fig, status = spec.draw({"cluster_lineages": tables["cluster_lineages"],
                             "cluster_summary": tables["cluster_summary"].assign(sensitive=False)}, SUBJECT)
    assert status == {"a": "drawn", "b": "not drawn: no cluster qualifies as sensitive"}
    plt.close(fig)
    fig, status = spec.draw({"cluster_lineages": pd.DataFrame(), "cluster_summary": pd.DataFrame()}, SUBJECT)
    assert set(status) == {"a", "b"} and all(s.startswith("not drawn: ") for s in status.values())
    plt.close(fig)


# ------------------------------------------------------------------ frozen layout (every figure)


def layout_test_figure() -> plt.Figure:
    """A constrained-layout figure with nested subfigures, a heatmap with a colour bar and titles."""
    fig = style.new_figure(height=4.0)
    fig.suptitle("a figure")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.4, 1.0])
    left, right = top.subfigures(1, 2, width_ratios=[1.0, 1.3])
    heatmap = left.add_subplot()
    image = heatmap.imshow(np.arange(20.0).reshape(4, 5))
    left.colorbar(image, ax=heatmap, label="value (a.u.)")
    for ax in right.subplots(2, 1):
        ax.plot([0, 1], [0, 2])
        ax.set_title("a title that takes room")
    for ax in bottom.subplots(1, 3):
        ax.scatter([1, 2, 3], [3, 1, 2])
        ax.set_xlabel("x (units)")
    return fig


def frozen_positions(fig: plt.Figure) -> list[tuple[float, ...]]:
    boxes = [tuple(sub.bbox_relative.get_points().ravel()) for sub in style._subfigures(fig)]
    return boxes + [tuple(ax.get_position(original=True).get_points().ravel()) for ax in fig.get_axes()]


def drawn_positions(fig: plt.Figure) -> np.ndarray:
    """Where the axes are drawn (fixed-aspect axes shrink their original box at each draw)."""
    return np.array([ax.get_position().bounds for ax in fig.get_axes()])


def test_freeze_layout_keeps_the_constrained_layout_rounded_and_switched_off():
    reference = layout_test_figure()
    reference.set_dpi(plt.rcParams["savefig.dpi"])
    reference.draw_without_rendering()  # constrained layout, as savefig would do it
    fig = layout_test_figure()
    style.freeze_layout(fig)
    assert isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine)  # what "none" leaves
    expected, frozen = frozen_positions(reference), frozen_positions(fig)
    # the same layout to 1e-7 of the figure (rounding), 1e-6 where a fixed aspect re-derives the box
    np.testing.assert_allclose(np.array(frozen), np.array(expected), rtol=0, atol=1e-7)
    np.testing.assert_allclose(drawn_positions(fig), drawn_positions(reference), rtol=0, atol=1e-6)
    assert np.array_equal(np.round(np.array(frozen), style.LAYOUT_DECIMALS), np.array(frozen))
    fig.draw_without_rendering()
    drawn = drawn_positions(fig)
    fig.draw_without_rendering()  # each draw (as the PNG's and the PDF's savefig) moves nothing
    assert frozen_positions(fig) == frozen and np.array_equal(drawn_positions(fig), drawn)
    draws = []
    fig.draw_without_rendering = lambda: draws.append(1)
    style.freeze_layout(fig)  # as save_figure does after a caller froze it: nothing laid out again
    assert draws == [] and frozen_positions(fig) == frozen
    plt.close(reference)
    plt.close(fig)


def test_freeze_layout_absorbs_the_layout_solvers_round_off(monkeypatch, tmp_path):
    """kiwisolver's round-off differs between processes (~1e-15); the saved bytes must not."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    solve = ConstrainedLayoutEngine.execute
    outputs = []
    for shift in (0.0, 3e-15, -3e-15):
        def perturbed(self, fig, shift=shift):
            solve(self, fig)
            for sub in style._subfigures(fig):
                sub.bbox_relative.p0 = sub.bbox_relative.p0 + shift
            for ax in fig.get_axes():
                ax._set_position(np.array(ax.get_position().bounds) + shift, which="both")

        monkeypatch.setattr(ConstrainedLayoutEngine, "execute", perturbed)
        fig = layout_test_figure()
        style.freeze_layout(fig)
        outputs.append((frozen_positions(fig), drawn_positions(fig).tolist()))
        style.save_figure(fig, tmp_path / f"{len(outputs)}.png", tmp_path / f"{len(outputs)}.pdf")
    assert outputs[0] == outputs[1] == outputs[2]
    for suffix in ("png", "pdf"):
        first = (tmp_path / f"1.{suffix}").read_bytes()
        assert all((tmp_path / f"{i}.{suffix}").read_bytes() == first for i in (2, 3)), suffix
