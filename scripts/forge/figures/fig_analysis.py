"""Figures of the latent analysis of one pair: clusters of Z, sensitive clusters, DE and enrichment.

* ``fig3`` — paper Fig. 3 (and Fig. 6d–n, the same figure for NAMPT–daporinad): Z heatmap with
  annotation strips, per-cluster strip plots, sensitive vs other clusters, volcanoes of both DE
  contrasts, enrichment bars.
* ``supp_lineage`` — Supplementary: lineage composition of the latent clusters.

Everything is read from the tables of the analysis stage. The only statistic computed here is the
one-sided Mann–Whitney P of the pooled sensitive clusters against the rest (panels c–d), which no
table holds; it is labelled as computed for display.
"""

from __future__ import annotations

import math
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib.lines import Line2D
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch, Rectangle
from matplotlib.textpath import TextPath
from matplotlib.transforms import blended_transform_factory
from scipy import stats

from forge.figures import style
from forge.figures.inputs import as_bool, table_or_none
from forge.figures.registry import FigureSubject
from forge.modelling.pairs import Pair

SEED = 20240601
#: Significance thresholds of the DE and enrichment steps (paper: |log2FC| > 1, adj. P < 0.05, FDR q < 0.05).
LOG2FC = 1.0
ADJ_P = 0.05
FDR = 0.05
N_LABELLED = 10  # genes labelled per direction in a volcano
N_TERMS = 10  # enrichment terms shown
TERM_CHARS = 45
#: Conservative size (inches) of each volcano's axes in fig3, for placing gene labels without a layout pass.
VOLCANO_AXES_SIZE = (2.8, 1.6)
#: Conservative width (inches) of the enrichment bars' axes in fig3.
ENRICHMENT_AXES_WIDTH = 1.3

SENSITIVE_COLOUR = style.GROUP_COLOURS["high"]
OTHER_COLOUR = "#7f8c8d"
UP_COLOUR = style.GROUP_COLOURS["high"]
DOWN_COLOUR = style.GROUP_COLOURS["low"]
NONE_COLOUR = "#bfc9ca"
MISSING_COLOUR = "#e5e7e9"
IC50_CMAP = "cividis"
UNASSIGNED = 0

#: Enrichment lists in display order: name → (label, colour).
ENRICHMENT_LISTS = {
    "sensitive_clusters_up": ("sensitive DE up", "#c0392b"),
    "sensitive_clusters_down": ("sensitive DE down", "#2e86c1"),
    "score_groups_up": ("score DE up", "#e67e22"),
    "score_groups_down": ("score DE down", "#17a589"),
    "influence_top": ("influence top", "#884ea0"),
    "influence_bottom": ("influence bottom", "#566573"),
}
LIBRARY_ABBREVIATIONS = (("GO_Biological_Process", "GO BP"), ("GO_Molecular_Function", "GO MF"),
                         ("GO_Cellular_Component", "GO CC"), ("WikiPathways", "WP"), ("WikiPathway", "WP"),
                         ("MSigDB_Hallmark", "Hallmark"), ("KEGG", "KEGG"), ("Reactome", "Reactome"),
                         ("DisGeNET", "DisGeNET"))


# ------------------------------------------------------------------ helpers


def _names(pair: Pair) -> tuple[str, str]:
    """The pair's target and drug as axis labels name them ('EGFR', 'erlotinib')."""
    return pair.target, pair.drug.lower()


def _labels(pair: Pair) -> dict[str, str]:
    """Axis labels of the three sample variables (one-line and two-line versions)."""
    target, drug = _names(pair)
    return {
        "benefit_score": "Benefit Score (a.u.)",
        "observed_dependency": f"{target} dependency probability",
        "observed_ic50": f"{drug} IC50 (CREAMMIST log scale)",
        "benefit_score_short": "Benefit\nScore (a.u.)",
        "observed_dependency_short": f"{target} dep.\nprobability",
        "observed_ic50_short": f"{drug}\nlog IC50",
    }


def cluster_order(clusters: pd.DataFrame, summary: pd.DataFrame | None) -> list[int]:
    """Clusters by median Benefit Score, highest first (ties by cluster id); unassigned (0) last.

    Medians come from ``cluster_summary`` when it has them, else from the sample table.
    """
    medians = clusters.groupby("cluster")["benefit_score"].median()
    if summary is not None and {"cluster", "median_score"} <= set(summary.columns):
        from_table = summary.set_index("cluster")["median_score"]
        medians = from_table.reindex(medians.index).fillna(medians)
    frame = pd.DataFrame({"cluster": medians.index.astype(int), "median": medians.to_numpy()})
    frame["unassigned"] = frame["cluster"] == UNASSIGNED
    frame = frame.sort_values(["unassigned", "median", "cluster"], ascending=[True, False, True])
    return frame["cluster"].tolist()


def _sensitive_clusters(clusters: pd.DataFrame, summary: pd.DataFrame | None) -> set[int]:
    if summary is not None and {"cluster", "sensitive"} <= set(summary.columns):
        return set(summary.loc[as_bool(summary["sensitive"]), "cluster"].astype(int))
    return set(clusters.loc[as_bool(clusters["sensitive"]), "cluster"].astype(int))


def _cluster_name(cluster: int) -> str:
    return "unass." if cluster == UNASSIGNED else str(cluster)


def _rgb_column(values, colours: dict, default: str = MISSING_COLOUR) -> np.ndarray:
    return np.array([mcolors.to_rgb(colours.get(v, default)) for v in values])[:, None, :]


def _rgb_continuous(values: np.ndarray, cmap, norm) -> np.ndarray:
    rgb = np.array(plt.get_cmap(cmap)(norm(np.nan_to_num(values, nan=0.0))))[:, :3]
    rgb[~np.isfinite(values)] = mcolors.to_rgb(MISSING_COLOUR)
    return rgb[:, None, :]


def _range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def _symmetric_limit(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    limit = float(np.percentile(finite, 99)) if len(finite) else 1.0
    return limit if limit > 0 else 1.0


def reported_latent_columns(frame: pd.DataFrame) -> list[str]:
    """The reported model's latent columns Z1, Z2, ... of an embedding table, in numeric order (the
    consensus columns r??_Z* left out)."""
    columns = [c for c in frame.columns if re.fullmatch(r"Z\d+", str(c))]
    return sorted(columns, key=lambda c: int(c[1:]))


# ------------------------------------------------------------------ fig3 a: heatmap of Z


def _heatmap_rows(clusters: pd.DataFrame, embedding: pd.DataFrame, order: list[int]) -> pd.DataFrame:
    """The clustered samples with their Z, ordered by cluster (``order``) then by Benefit Score (high first)."""
    zcols = reported_latent_columns(embedding)
    rows = clusters.merge(embedding[["sample"] + zcols], on="sample", how="inner")
    rank = {c: i for i, c in enumerate(order)}
    rows["_position"] = rows["cluster"].map(rank)
    rows = rows.sort_values(["_position", "benefit_score", "sample"], ascending=[True, False, True],
                            kind="mergesort")
    return rows.drop(columns="_position").reset_index(drop=True)


def _panel_heatmap(sub, clusters, embedding, summary, order, pair: Pair) -> str:
    zcols = reported_latent_columns(embedding) if embedding is not None else []
    rows = _heatmap_rows(clusters, embedding, order) if zcols else pd.DataFrame()
    if rows.empty:
        ax = sub.subplots()
        reason = ("no latent embedding (Z1..Zk) for the clustered samples" if not zcols
                  else "no clustered sample is in the embedding table")
        style.no_data(ax, reason)
        style.panel_label(ax, "a")
        return f"not drawn: {reason}"

    n = len(rows)
    sensitive = _sensitive_clusters(clusters, summary)
    strips = ["cluster", "sensitive", "split", "dependency", "IC50", "Benefit Score"]
    grid = sub.add_gridspec(1, len(strips) + 2, width_ratios=[1.0] * len(strips) + [12.0, 9.0], wspace=0.0)
    heat = sub.add_subplot(grid[0, len(strips)])
    axes = [sub.add_subplot(grid[0, i], sharey=heat) for i in range(len(strips))]
    Z = rows[zcols].to_numpy(dtype=float)
    zlim = _symmetric_limit(Z)
    image = heat.imshow(Z, aspect="auto", interpolation="nearest", cmap=style.DIVERGING, vmin=-zlim, vmax=zlim)
    shown = [i for i in range(len(zcols)) if i == 0 or (i + 1) % 5 == 0]
    heat.set_xticks(shown)
    heat.set_xticklabels([zcols[i] for i in shown], fontsize=5)
    heat.set_xlabel(f"latent dimension (k = {len(zcols)})")
    heat.set_title(f"latent embedding Z, {n} clustered cell lines", fontsize=6)
    heat.tick_params(axis="y", left=False, labelleft=False)

    # annotation strips
    positions = {c: i for i, c in enumerate(order)}
    palette = list(plt.get_cmap("tab20").colors)
    cluster_colours = {c: palette[positions[c] % len(palette)] for c in order}
    cluster_colours[UNASSIGNED] = mcolors.to_rgb(NONE_COLOUR)
    dependency = rows["observed_dependency"].to_numpy(dtype=float)
    ic50 = rows["observed_ic50"].to_numpy(dtype=float)
    score = rows["benefit_score"].to_numpy(dtype=float)
    dep_norm = mcolors.Normalize(*_range(dependency))
    ic50_norm = mcolors.Normalize(*_range(ic50))
    score_lim = _symmetric_limit(score)
    score_norm = mcolors.Normalize(-score_lim, score_lim)
    is_sensitive = rows["cluster"].isin(sensitive).to_numpy()
    images = [
        np.array([cluster_colours[c] for c in rows["cluster"]])[:, None, :],
        _rgb_column(np.where(is_sensitive, "yes", "no"), {"yes": SENSITIVE_COLOUR, "no": "#f2f3f4"}),
        _rgb_column(rows["split"].astype(str), style.SPLIT_COLOURS),
        _rgb_continuous(dependency, style.SEQUENTIAL, dep_norm),
        _rgb_continuous(ic50, IC50_CMAP, ic50_norm),
        _rgb_continuous(score, style.DIVERGING, score_norm),
    ]
    for ax, rgb, title in zip(axes, images, strips):
        ax.imshow(rgb, aspect="auto", interpolation="nearest")
        ax.set_xticks([0])
        ax.set_xticklabels([title], rotation=90, fontsize=5)
        ax.tick_params(axis="x", length=0, pad=2)
        ax.tick_params(axis="y", left=False, labelleft=False)
        for spine in ax.spines.values():
            spine.set_visible(False)

    # cluster boundaries and cluster ids (only where there is room; sensitive clusters first)
    cluster_values = rows["cluster"].to_numpy()
    starts = np.flatnonzero(np.r_[True, cluster_values[1:] != cluster_values[:-1]])
    ends = np.r_[starts[1:], n]
    for start in starts[1:]:
        heat.axhline(start - 0.5, color="black", lw=0.25, alpha=0.7)
    centres = {int(cluster_values[s]): (s + e - 1) / 2 for s, e in zip(starts, ends)}
    min_gap = n * 5.0 / (72 * 3.2)  # rows per label at ~5 pt on an axis about 3.2 in tall
    kept: list[float] = []
    chosen = []
    for cluster in sorted(centres, key=lambda c: (c not in sensitive, positions.get(c, 0))):
        if all(abs(centres[cluster] - k) >= min_gap for k in kept):
            kept.append(centres[cluster])
            chosen.append(cluster)
    chosen.sort(key=lambda c: centres[c])
    first = axes[0]
    first.set_yticks([centres[c] for c in chosen])
    first.set_yticklabels([_cluster_name(c) for c in chosen])
    first.tick_params(axis="y", left=True, labelleft=True, length=1.5, pad=1, labelsize=4.5)
    for tick, cluster in zip(first.get_yticklabels(), chosen):
        if cluster in sensitive:
            tick.set_color(SENSITIVE_COLOUR)
            tick.set_fontweight("bold")
    first.set_ylabel("cell lines, by cluster (ids at left; clusters by median Benefit Score, highest at top)",
                     fontsize=5.5)
    style.panel_label(first, "a")

    # colour bars and the legend of the categorical strips, in the last column
    keys = grid[0, len(strips) + 1].subgridspec(10, 1, height_ratios=[0.55, 0.16, 0.6, 0.16, 0.6, 0.16, 0.6, 0.16,
                                                                       0.25, 4.0], hspace=0.0)
    target, drug = _names(pair)
    bars = [(image, "Z (clipped)", 0),
            (plt.cm.ScalarMappable(norm=dep_norm, cmap=style.SEQUENTIAL), f"{target} dependency", 2),
            (plt.cm.ScalarMappable(norm=ic50_norm, cmap=IC50_CMAP), f"{drug} log IC50", 4),
            (plt.cm.ScalarMappable(norm=score_norm, cmap=style.DIVERGING), "Benefit Score", 6)]
    for mappable, label, row in bars:
        cax = sub.add_subplot(keys[row + 1, 0])
        bar = sub.colorbar(mappable, cax=cax, orientation="horizontal")
        bar.locator = matplotlib.ticker.MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10])
        bar.update_ticks()
        bar.ax.tick_params(labelsize=4.5, length=1.5, pad=1)
        bar.outline.set_linewidth(0.3)
        cax.set_title(label, fontsize=5, pad=2)
    legend_ax = sub.add_subplot(keys[9, 0])
    legend_ax.set_axis_off()
    splits = [s for s in ("train", "test", "unlabelled") if s in set(rows["split"].astype(str))]
    handles = ([Patch(facecolor=SENSITIVE_COLOUR, label=f"sensitive ({int(is_sensitive.sum())})")]
               + [Patch(facecolor=style.SPLIT_COLOURS[s], label=f"{s} ({int((rows['split'] == s).sum())})")
                  for s in splits]
               + [Patch(facecolor=MISSING_COLOUR, label="not measured")])
    legend_ax.legend(handles=handles, loc="upper left", fontsize=5, handlelength=1.0, handleheight=0.8,
                     borderaxespad=0.0, title="strips (n lines)", title_fontsize=5, alignment="left")
    return "drawn"


# ------------------------------------------------------------------ fig3 b: per-cluster strips


STRIP_VARIABLES = (("benefit_score", "score"), ("observed_dependency", "dependency"), ("observed_ic50", "ic50"))


def _cohort_medians(clusters: pd.DataFrame, sensitive_table: pd.DataFrame | None) -> dict[str, float]:
    """Medians of all clustered samples (the reference of the sensitive-cluster rule)."""
    medians = {column: float(clusters[column].median()) for column, _ in STRIP_VARIABLES}
    if sensitive_table is not None and len(sensitive_table):
        for column, key in (("observed_dependency", "cohort_median_dependency"),
                            ("observed_ic50", "cohort_median_ic50")):
            if key in sensitive_table.columns and np.isfinite(sensitive_table[key].iloc[0]):
                medians[column] = float(sensitive_table[key].iloc[0])
    return medians


def _panel_cluster_strips(sub, clusters, summary, sensitive_table, order, pair: Pair) -> str:
    labels = _labels(pair)
    axes = sub.subplots(3, 1, sharex=True)
    sensitive = _sensitive_clusters(clusters, summary)
    positions = {c: i for i, c in enumerate(order)}
    x_of = clusters["cluster"].map(positions).to_numpy(dtype=float)
    in_sensitive = clusters["cluster"].isin(sensitive).to_numpy()
    indexed = summary.set_index("cluster") if summary is not None and "cluster" in summary.columns else None
    cohort = _cohort_medians(clusters, sensitive_table)
    for ax, (column, key) in zip(axes, STRIP_VARIABLES):
        rng = np.random.default_rng(SEED)
        values = clusters[column].to_numpy(dtype=float)
        ok = np.isfinite(values)
        jitter = style.jitter(rng, len(values), 0.28)
        for mask, colour, size in ((ok & ~in_sensitive, OTHER_COLOUR, 1.5), (ok & in_sensitive, SENSITIVE_COLOUR, 2.0)):
            ax.scatter(x_of[mask] + jitter[mask], values[mask], s=size, color=colour, alpha=0.55, linewidths=0,
                       )
        for cluster in sensitive & set(positions):
            ax.axvspan(positions[cluster] - 0.5, positions[cluster] + 0.5, color=SENSITIVE_COLOUR, alpha=0.08, lw=0)
        medians = clusters.groupby("cluster")[column].median()
        if indexed is not None and f"median_{key}" in indexed.columns:
            medians = indexed[f"median_{key}"].reindex(medians.index).fillna(medians)
        xs = np.array([positions[c] for c in medians.index])
        ax.hlines(medians.to_numpy(), xs - 0.38, xs + 0.38, colors="black", lw=0.9, zorder=3)
        ax.axhline(cohort[column], color="#566573", lw=0.6, ls="--", zorder=1)
        low, high = _range(values)
        ax.set_ylim(low - 0.04 * (high - low), high + 0.17 * (high - low))
        if indexed is not None and f"fdr_{key}" in indexed.columns:
            fdr = indexed[f"fdr_{key}"]
            transform = blended_transform_factory(ax.transData, ax.transAxes)
            for cluster, q in fdr.items():
                if cluster in positions and np.isfinite(q) and q < FDR:
                    ax.text(positions[cluster], 0.985, "*", transform=transform, ha="center", va="top",
                            fontsize=6, fontweight="bold")
        ax.set_ylabel(labels[f"{column}_short"], fontsize=6)
    top = axes[0]
    transform = blended_transform_factory(top.transData, top.transAxes)
    sizes = clusters.groupby("cluster").size()
    for cluster, count in sizes.items():
        top.text(positions[cluster], 1.02, str(int(count)), transform=transform, ha="center", va="bottom",
                 fontsize=4.5)
    top.text(-0.9, 1.02, "n", transform=transform, ha="right", va="bottom", fontsize=4.5, fontstyle="italic")
    bottom = axes[-1]
    bottom.set_xticks(range(len(order)))
    bottom.set_xticklabels([_cluster_name(c) for c in order], fontsize=5, rotation=90 if len(order) > 45 else 0)
    for tick, cluster in zip(bottom.get_xticklabels(), order):
        if cluster in sensitive:
            tick.set_color(SENSITIVE_COLOUR)
            tick.set_fontweight("bold")
    bottom.set_xlim(-0.6, len(order) - 0.4)
    bottom.set_xlabel("latent cluster (ordered by median Benefit Score, highest first; red = sensitive)")
    handles = [Line2D([], [], marker="o", ls="", color=SENSITIVE_COLOUR, markersize=2.5, label="sensitive cluster"),
               Line2D([], [], marker="o", ls="", color=OTHER_COLOUR, markersize=2.5, label="other cluster"),
               Line2D([], [], color="black", lw=0.9, label="cluster median"),
               Line2D([], [], color="#566573", lw=0.6, ls="--", label="median of all clustered lines"),
               Line2D([], [], marker="$*$", ls="", color="black", markersize=4,
                      label="one-sided Mann–Whitney vs rest, BH FDR < 0.05")]
    sub.legend(handles=handles, loc="outside upper center", ncol=5, fontsize=5, handlelength=1.5,
               columnspacing=1.2)
    style.panel_label(top, "b")
    return "drawn"


# ------------------------------------------------------------------ fig3 c–d: sensitive vs others


def sensitive_vs_other(clusters: pd.DataFrame, column: str, alternative: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Values of the pooled sensitive clusters and of all other clustered samples, and the one-sided
    Mann–Whitney P (sensitive ``alternative`` other), computed for display."""
    sensitive = as_bool(clusters["sensitive"]).to_numpy()
    values = clusters[column].to_numpy(dtype=float)
    a = values[sensitive & np.isfinite(values)]
    b = values[~sensitive & np.isfinite(values)]
    p = float(stats.mannwhitneyu(a, b, alternative=alternative).pvalue) if len(a) and len(b) else float("nan")
    return a, b, p


def _panel_group(ax, clusters, column, alternative, ylabel, letter) -> str:
    style.panel_label(ax, letter)
    if clusters is None:
        style.no_data(ax, "no cluster table (clustering was skipped)")
        return "not drawn: no cluster table"
    a, b, p = sensitive_vs_other(clusters, column, alternative)
    if len(a) == 0 or len(b) == 0:
        reason = ("no cluster qualifies as sensitive" if not as_bool(clusters["sensitive"]).any()
                  else "no measured values in one of the groups")
        style.no_data(ax, reason)
        return f"not drawn: {reason}"
    rng = np.random.default_rng(SEED)
    ax.boxplot([a, b], positions=[0, 1], widths=0.5, showfliers=False, patch_artist=True,
               medianprops=dict(color="black", lw=1.0), whiskerprops=dict(lw=0.6), capprops=dict(lw=0.6),
               boxprops=dict(facecolor="white", lw=0.6))
    for x, values, colour in ((0, a, SENSITIVE_COLOUR), (1, b, OTHER_COLOUR)):
        ax.scatter(x + style.jitter(rng, len(values), 0.18), values, s=1.5, color=colour, alpha=0.5,
                   linewidths=0, zorder=3)
    ax.set_xticks([0, 1])
    ax.set_xticklabels([f"sensitive\nclusters\nn = {len(a)}", f"all other\nclustered lines\nn = {len(b)}"],
                       fontsize=5.5)
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylabel(ylabel)
    sign = ">" if alternative == "greater" else "<"
    ax.set_title(f"one-sided Mann–Whitney,\nsensitive {sign} other:\n{style.format_p(p)}", fontsize=5.5)
    return "drawn"


# ------------------------------------------------------------------ fig3 e: volcanoes


def volcano_labels(de: pd.DataFrame, n: int = N_LABELLED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` most significant up and down genes (by adjusted P, then |logFC|)."""
    direction = _direction(de)
    frame = de.assign(_abs=de["logFC"].abs(), _dir=direction)
    ranked = frame.sort_values(["adj.P.Val", "_abs", "gene"], ascending=[True, False, True], kind="mergesort")
    up = ranked[ranked["_dir"] == "up"].head(n)
    down = ranked[ranked["_dir"] == "down"].head(n)
    return up.drop(columns=["_abs", "_dir"]), down.drop(columns=["_abs", "_dir"])


def _direction(de: pd.DataFrame) -> pd.Series:
    if "direction" in de.columns:
        return de["direction"].astype(str)
    significant = (de["logFC"].abs() > LOG2FC) & (de["adj.P.Val"] < ADJ_P)
    return pd.Series(np.where(significant, np.where(de["logFC"] > 0, "up", "down"), "none"), index=de.index)


def _neglog(p) -> np.ndarray:
    return -np.log10(np.clip(np.asarray(p, dtype=float), 1e-300, 1.0))


def _panel_volcano(ax, de, title, skipped_reason) -> tuple[str, dict | None]:
    if de is None or len(de) == 0:
        reason = f"{title}: {skipped_reason}"
        style.no_data(ax, reason)
        return f"not drawn: {reason}", None
    de = de[np.isfinite(de["logFC"].astype(float)) & np.isfinite(de["adj.P.Val"].astype(float))]
    direction = _direction(de)
    x = de["logFC"].to_numpy(dtype=float)
    y = _neglog(de["adj.P.Val"])
    for value, colour, size in (("none", NONE_COLOUR, 1.5), ("up", UP_COLOUR, 3.0), ("down", DOWN_COLOUR, 3.0)):
        mask = (direction == value).to_numpy() if value != "none" else ~direction.isin(["up", "down"]).to_numpy()
        ax.scatter(x[mask], y[mask], s=size, color=colour, linewidths=0, alpha=0.8,
                   label=value)
    ax.axvline(-LOG2FC, color="#566573", lw=0.5, ls="--")
    ax.axvline(LOG2FC, color="#566573", lw=0.5, ls="--")
    ax.axhline(-math.log10(ADJ_P), color="#566573", lw=0.5, ls="--")
    n_up, n_down = int((direction == "up").sum()), int((direction == "down").sum())
    ax.set_title(f"{title}\n{n_up} up, {n_down} down of {len(de)} genes "
                 f"(|log2FC| > {LOG2FC:g}, adj. P < {ADJ_P:g})", fontsize=6)
    ax.set_xlabel("log2 fold change")
    ax.set_ylabel("−log10 adjusted P (limma, BH)")
    ymax = max(float(np.max(y)) if len(y) else 1.0, -math.log10(ADJ_P))
    ax.set_ylim(0, ymax * 1.06 + 0.2)
    xmax = max(float(np.max(np.abs(x))) if len(x) else 1.0, LOG2FC * 1.2)
    ax.set_xlim(-xmax * 1.05, xmax * 1.05)
    up, down = volcano_labels(de)
    return "drawn", dict(ax=ax, up=up, down=down, right=max(float(x.max()), LOG2FC), left=max(float(-x.min()), LOG2FC),
                         xmax=xmax)


def _text_width_pt(text: str, fontsize: float) -> float:
    """Width of a one-line text in points (no renderer needed)."""
    return float(TextPath((0, 0), text, size=fontsize, prop=FontProperties(family=style.RC["font.family"]))
                 .get_extents().width)


def _place_volcano_labels(job: dict, axes_size: tuple[float, float], fontsize: float = 4.5) -> None:
    """Label the chosen genes in a column beyond the outermost point on each side, spread vertically
    so that no two labels overlap (a simple offset scheme; adjustText is not used).

    ``axes_size`` is a conservative estimate (inches) of the axes' size in the laid-out figure, so
    that the placement needs no layout pass.
    """
    ax = job["ax"]
    width, height = axes_size[0] * 72.0, axes_size[1] * 72.0  # points
    gap = 5.0
    limit = job["xmax"] * 1.05
    for side, reach in (("up", job["right"]), ("down", job["left"])):
        if not len(job[side]):
            continue
        label_width = max(_text_width_pt(str(g), fontsize) for g in job[side]["gene"])
        room = max(1.0 - (label_width + gap) / width - 0.02, 0.62)
        limit = max(limit, reach / (2 * room - 1))
    ax.set_xlim(-limit, limit)
    y_low, y_high = ax.get_ylim()
    step = fontsize * 1.3 / height * (y_high - y_low)
    gap_data = gap / width * 2 * limit
    for side, sign, reach in (("up", 1, job["right"]), ("down", -1, job["left"])):
        genes = job[side]
        if not len(genes):
            continue
        xs = genes["logFC"].to_numpy(dtype=float)
        ys = _neglog(genes["adj.P.Val"])
        order = np.argsort(-ys, kind="mergesort")
        slots = label_slots(ys[order], step, y_low, y_high)
        column = sign * (reach + gap_data)
        for k, i in enumerate(order):
            ax.plot([xs[i], column - sign * gap_data * 0.25], [ys[i], slots[k]], color="#7f8c8d", lw=0.3, zorder=1)
            text = ax.text(column, slots[k], str(genes["gene"].iloc[i]), fontsize=fontsize,
                           ha="left" if sign > 0 else "right", va="center",
                           color=UP_COLOUR if sign > 0 else DOWN_COLOUR)
            text.set_in_layout(False)


def label_slots(ys: np.ndarray, step: float, y_low: float, y_high: float) -> np.ndarray:
    """Label heights for points at ``ys`` (sorted high to low): as close to the point as possible,
    at least ``step`` apart, inside (y_low, y_high) when they fit."""
    slots = np.empty(len(ys))
    previous = y_high - 0.6 * step + step
    for k, y in enumerate(ys):
        slots[k] = min(y, previous - step)
        previous = slots[k]
    if len(slots) and slots[-1] < y_low + 0.6 * step:
        slots += (y_low + 0.6 * step) - slots[-1]
    return slots


# ------------------------------------------------------------------ fig3 f: enrichment


def library_label(library: str) -> str:
    text = str(library)
    for long, short in LIBRARY_ABBREVIATIONS:
        if text.startswith(long):
            rest = text[len(long):].strip("_ ")
            rest = rest.replace("_Human", "").replace("Human", "").strip("_ ")
            return f"{short} {rest}".strip()
    return text.replace("_", " ")


def truncate(text: str, n: int = TERM_CHARS) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def enrichment_terms(enrichment: pd.DataFrame, n: int = N_TERMS) -> pd.DataFrame:
    """The terms shown: significant first, then by P; at most ceil(n / lists) (≥ 2) per list so that every
    list is seen, filled up to ``n`` with the next best. Rows in display order (by list, then P)."""
    frame = enrichment[enrichment["list"].isin(ENRICHMENT_LISTS)].copy()
    if "status" in frame.columns:  # "not tested" / "no overlap" rows name no term (issue 26)
        frame = frame[frame["status"] == "tested"]
    if frame.empty:
        return frame
    frame["_sig"] = as_bool(frame["significant"]) if "significant" in frame.columns else frame["fdr"] < FDR
    ranked = frame.sort_values(["_sig", "p_value", "list", "term"], ascending=[False, True, True, True],
                               kind="mergesort")
    cap = max(2, math.ceil(n / ranked["list"].nunique()))
    picked, counts = [], {}
    for index, row in ranked.iterrows():
        if len(picked) >= n:
            break
        if counts.get(row["list"], 0) < cap:
            picked.append(index)
            counts[row["list"]] = counts.get(row["list"], 0) + 1
    for index in ranked.index:
        if len(picked) >= n:
            break
        if index not in picked:
            picked.append(index)
    shown = ranked.loc[picked]
    shown["_list_rank"] = shown["list"].map({k: i for i, k in enumerate(ENRICHMENT_LISTS)})
    shown = shown.sort_values(["_list_rank", "p_value", "term"], kind="mergesort")
    return shown.drop(columns=["_list_rank"]).reset_index(drop=True)


def _panel_enrichment(ax, enrichment) -> str:
    style.panel_label(ax, "f")
    if enrichment is None or len(enrichment) == 0:
        style.no_data(ax, "no enrichment results (no gene list reached the enrichment step)")
        return "not drawn: enrichment table empty"
    shown = enrichment_terms(enrichment)
    if shown.empty:
        style.no_data(ax, "no enrichment result for the DE or influence gene lists")
        return "not drawn: no enrichment result for the DE or influence gene lists"
    heights = np.nan_to_num(_neglog(shown["fdr"]), nan=0.0)
    y = np.arange(len(shown))[::-1]
    colours = [ENRICHMENT_LISTS[name][1] for name in shown["list"]]
    significant = shown["_sig"].to_numpy(dtype=bool)
    ax.barh(y, heights, height=0.7, linewidth=0.6, edgecolor=colours,
            color=[mcolors.to_rgba(c, 1.0 if s else 0.2) for c, s in zip(colours, significant)])
    ax.axvline(-math.log10(FDR), color="#566573", lw=0.6, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels([truncate(t) for t in shown["term"]], fontsize=5)
    xmax = max(float(heights.max()), -math.log10(FDR))
    texts = []
    for row in shown.itertuples(index=False):
        text = library_label(row.library)
        if "overlap" in shown.columns and "set_size" in shown.columns:
            text = f"{int(row.overlap)}/{int(row.set_size)} · {text}"
        texts.append(text)
    # room for the bar-end texts: R ≥ (h + pad) / (1 − text width / axes width), axes width estimated
    width_pt = ENRICHMENT_AXES_WIDTH * 72.0
    right = xmax * 1.05
    for h, text in zip(heights, texts):
        share = min((_text_width_pt(text, 4.5) + 3.0) / width_pt, 0.7)
        right = max(right, h / (0.98 - share))
    for yi, h, text in zip(y, heights, texts):
        ax.text(h + right * 0.01, yi, text, va="center", ha="left", fontsize=4.5, color="#424949")
    ax.set_xlim(0, right)
    ax.set_ylim(-0.6, len(shown) - 0.4)
    n_sig = int(significant.sum())
    considered = enrichment[enrichment["list"].isin(ENRICHMENT_LISTS)]
    total_sig = int((as_bool(considered["significant"]) if "significant" in considered.columns
                     else considered["fdr"] < FDR).sum())
    if total_sig == 0:
        note = "none significant (FDR < 0.05): best by P"
    else:
        note = f"{total_sig} significant (FDR < 0.05), {n_sig} shown"
    ax.set_xlabel("−log10 FDR (BH)")
    present = [k for k in ENRICHMENT_LISTS if k in set(shown["list"])]
    handles = [Patch(facecolor=ENRICHMENT_LISTS[k][1], label=ENRICHMENT_LISTS[k][0]) for k in present]
    ax.legend(handles=handles, loc="upper right", bbox_to_anchor=(1.0, -0.22), ncol=min(3, len(handles)),
              fontsize=5, handlelength=1.0, columnspacing=1.0,
              title=f"gene list; {note} (solid bars; pale = not significant)", title_fontsize=5, alignment="right")
    return "drawn"


# ------------------------------------------------------------------ fig3


def draw_fig3(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``fig3`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    labels = _labels(subject.pair)
    clusters = table_or_none(tables, "clusters", ("sample", "cluster", "sensitive", "benefit_score", "observed_dependency",
                                           "observed_ic50"))
    if clusters is not None and clusters.empty:
        clusters = None
    if clusters is not None:
        clusters = clusters.copy()
        clusters["cluster"] = clusters["cluster"].astype(int)
        if "split" not in clusters.columns:
            clusters["split"] = "unknown"
    embedding = table_or_none(tables, "embedding", ("sample",))
    summary = table_or_none(tables, "cluster_summary", ("cluster",))
    sensitive_table = table_or_none(tables, "sensitive_clusters")
    de_columns = ("gene", "logFC", "adj.P.Val")
    de_sensitive = table_or_none(tables, "de_sensitive_clusters", de_columns)
    de_score = table_or_none(tables, "de_score_groups", de_columns)
    enrichment = table_or_none(tables, "enrichment", ("list", "term", "library", "p_value", "fdr"))

    fig = style.new_figure(style.FULL_WIDTH, 9.7)
    fig.suptitle(f"{subject.title}: latent clusters, sensitive clusters and differential expression",
                 fontsize=style.FONT_SIZE + 1)
    top, middle, bottom = fig.subfigures(3, 1, height_ratios=[4.2, 2.9, 2.5], hspace=0.0)
    top_left, top_right = top.subfigures(1, 2, width_ratios=[1.1, 1.0], wspace=0.0)
    status: dict[str, str] = {}

    if clusters is None:
        reason = "no clustered samples (clustering skipped or table empty)"
        ax = top_left.subplots()
        style.no_data(ax, reason)
        style.panel_label(ax, "a")
        status["a"] = f"not drawn: {reason}"
        order: list[int] = []
    else:
        order = cluster_order(clusters, summary)
        status["a"] = _panel_heatmap(top_left, clusters, embedding, summary, order, subject.pair)

    upper, lower = top_right.subfigures(2, 1, height_ratios=[1.0, 1.1], hspace=0.0)
    ax_c, ax_d = upper.subplots(1, 2)
    status["c"] = _panel_group(ax_c, clusters, "observed_dependency", "greater", labels["observed_dependency"], "c")
    status["d"] = _panel_group(ax_d, clusters, "observed_ic50", "less", labels["observed_ic50"], "d")
    status["f"] = _panel_enrichment(lower.subplots(), enrichment)

    if clusters is None:
        ax = middle.subplots()
        style.no_data(ax, "no clustered samples (clustering skipped or table empty)")
        style.panel_label(ax, "b")
        status["b"] = "not drawn: no clustered samples"
    else:
        status["b"] = _panel_cluster_strips(middle, clusters, summary, sensitive_table, order, subject.pair)

    ax_e1, ax_e2 = bottom.subplots(1, 2)
    style.panel_label(ax_e1, "e")
    no_sensitive = clusters is not None and not as_bool(clusters["sensitive"]).any()
    reason_sensitive = ("not fitted: no cluster qualifies as sensitive" if no_sensitive
                        else "contrast not fitted (empty table)")
    status_1, job_1 = _panel_volcano(ax_e1, de_sensitive, "sensitive clusters vs all other lines", reason_sensitive)
    status_2, job_2 = _panel_volcano(ax_e2, de_score, "high vs low Benefit Score (median split)",
                                     "contrast not fitted (empty table)")
    if status_1 == "drawn" or status_2 == "drawn":
        status["e"] = "drawn"
    else:
        status["e"] = f"not drawn: neither DE contrast was fitted ({status_1[11:]}; {status_2[11:]})"
    for job in (job_1, job_2):
        if job is not None:
            _place_volcano_labels(job, VOLCANO_AXES_SIZE)
    return fig, status


# ------------------------------------------------------------------ supp_lineage


def lineage_fractions(lineages: pd.DataFrame, sensitive: set[int]) -> pd.DataFrame:
    """Lineage fractions of the pooled sensitive clusters and of all other clustered samples.

    Columns lineage, n_sensitive, n_other, fraction_sensitive, fraction_other (sums of ``n``)."""
    frame = lineages.assign(group=np.where(lineages["cluster"].astype(int).isin(sensitive), "sensitive", "other"))
    counts = frame.pivot_table(index="lineage", columns="group", values="n", aggfunc="sum", fill_value=0)
    counts = counts.reindex(columns=["sensitive", "other"], fill_value=0)
    out = pd.DataFrame({"lineage": counts.index, "n_sensitive": counts["sensitive"].to_numpy(),
                        "n_other": counts["other"].to_numpy()})
    for group in ("sensitive", "other"):
        total = out[f"n_{group}"].sum()
        out[f"fraction_{group}"] = out[f"n_{group}"] / total if total else np.nan
    return out.sort_values(["fraction_sensitive", "fraction_other", "lineage"], ascending=[False, False, True],
                           kind="mergesort").reset_index(drop=True)


def draw_supp_lineage(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``supp_lineage`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    lineages = table_or_none(tables, "cluster_lineages", ("cluster", "lineage", "n", "fraction_of_cluster"))
    if lineages is not None and lineages.empty:
        lineages = None
    summary = table_or_none(tables, "cluster_summary", ("cluster",))
    fig = style.new_figure(style.FULL_WIDTH, 6.2)
    fig.suptitle(f"{subject.title}: lineage composition of the latent clusters", fontsize=style.FONT_SIZE + 1)
    top, bottom = fig.subfigures(2, 1, height_ratios=[3.3, 2.9], hspace=0.0)
    ax_a = top.subplots()
    ax_b = bottom.subplots()
    style.panel_label(ax_a, "a")
    style.panel_label(ax_b, "b")
    status: dict[str, str] = {}
    if lineages is None:
        for ax in (ax_a, ax_b):
            style.no_data(ax, "no cluster lineage table (clustering skipped)")
        return fig, {"a": "not drawn: no cluster lineage table", "b": "not drawn: no cluster lineage table"}
    lineages = lineages.assign(cluster=lineages["cluster"].astype(int), lineage=lineages["lineage"].fillna("(missing)"))
    sizes = lineages.groupby("cluster")["n"].sum()
    sensitive = set()
    if summary is not None and "sensitive" in summary.columns:
        sensitive = set(summary.loc[as_bool(summary["sensitive"]), "cluster"].astype(int))
    pseudo = pd.DataFrame({"cluster": sizes.index, "benefit_score": 0.0})
    if summary is not None and "median_score" in summary.columns:
        order = cluster_order(pseudo, summary)
    else:
        order = sorted(sizes.index, key=lambda c: (c == UNASSIGNED, c))
    colours = style.lineage_colours(lineages["lineage"])
    totals = lineages.groupby("lineage")["n"].sum()
    totals = totals.sort_index().sort_values(ascending=False, kind="mergesort")
    fractions = lineages.pivot_table(index="cluster", columns="lineage", values="fraction_of_cluster",
                                     aggfunc="sum", fill_value=0.0).reindex(index=order, columns=totals.index,
                                                                            fill_value=0.0)
    x = np.arange(len(order))
    bottom_values = np.zeros(len(order))
    for lineage in totals.index:
        heights = fractions[lineage].to_numpy()
        ax_a.bar(x, heights, bottom=bottom_values, width=0.8, color=colours[lineage], label=lineage, lw=0)
        bottom_values += heights
    for i, cluster in enumerate(order):
        ax_a.text(i, 1.01, str(int(sizes[cluster])), ha="center", va="bottom", fontsize=4.5)
        if cluster in sensitive:
            ax_a.add_patch(Rectangle((i - 0.44, 0.002), 0.88, 0.996, fill=False, edgecolor="black", lw=1.3,
                                     zorder=4))
    ax_a.text(-0.9, 1.01, "n", ha="right", va="bottom", fontsize=4.5, fontstyle="italic")
    ax_a.set_xticks(x)
    ax_a.set_xticklabels([_cluster_name(c) for c in order], fontsize=5)
    for tick, cluster in zip(ax_a.get_xticklabels(), order):
        if cluster in sensitive:
            tick.set_color(SENSITIVE_COLOUR)
            tick.set_fontweight("bold")
    ax_a.set_xlim(-0.6, len(order) - 0.4)
    ax_a.set_ylim(0, 1.07)
    ax_a.set_ylabel("fraction of the cluster's cell lines")
    ax_a.set_xlabel("latent cluster (ordered by median Benefit Score, highest first; outlined, red id = sensitive)"
                    if summary is not None and "median_score" in summary.columns else "latent cluster")
    handles = [Patch(facecolor=colours[l], label=l) for l in totals.index]
    handles.append(Patch(facecolor="none", edgecolor="black", lw=1.3, label="sensitive cluster"))
    ncol = 1 if len(handles) <= 17 else 2
    ax_a.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=5, ncol=ncol,
                handlelength=1.0, handleheight=0.8, columnspacing=0.8, title="lineage", title_fontsize=5.5)
    status["a"] = "drawn"

    if summary is None or "sensitive" not in summary.columns:
        style.no_data(ax_b, "no cluster summary table: sensitive clusters unknown")
        status["b"] = "not drawn: no cluster summary (sensitive flags)"
    elif not sensitive:
        style.no_data(ax_b, "no cluster qualifies as sensitive")
        status["b"] = "not drawn: no cluster qualifies as sensitive"
    else:
        pooled = lineage_fractions(lineages, sensitive)
        xb = np.arange(len(pooled))
        n_s, n_o = int(pooled["n_sensitive"].sum()), int(pooled["n_other"].sum())
        ax_b.bar(xb - 0.2, pooled["fraction_sensitive"], width=0.4, color=SENSITIVE_COLOUR,
                 label=f"sensitive clusters {sorted(sensitive)} (n = {n_s})")
        ax_b.bar(xb + 0.2, pooled["fraction_other"], width=0.4, color=OTHER_COLOUR,
                 label=f"all other clustered lines (n = {n_o})")
        ax_b.set_xticks(xb)
        ax_b.set_xticklabels([truncate(l, 28) for l in pooled["lineage"]], rotation=60, ha="right",
                             rotation_mode="anchor", fontsize=5.5)
        ax_b.set_xlim(-0.6, len(pooled) - 0.4)
        ax_b.set_ylabel("fraction of the group's cell lines")
        ax_b.set_xlabel("lineage")
        ax_b.legend(loc="upper right", fontsize=5.5)
        status["b"] = "drawn"
    return fig, status
