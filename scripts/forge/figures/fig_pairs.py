"""Figures of gene effects and of the comparison across pairs (paper Fig. 4 and Fig. 6a–c).

Every figure only reads the tables the workflow wrote. The only statistics computed here are
descriptive ones for display: the Pearson r of the two plotted columns, medians, counts, means over
replicates. Tests (the paired concordance t-test) are read from the tables.
"""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from forge.figures import style
from forge.figures.inputs import has_columns, table_or_empty
from forge.figures.registry import FigureSubject

#: Genes labelled by name in each group of the top/bottom 20 (the others are only marked).
N_LABELLED = 5
#: Lineages need this many labelled samples in a pair for a heatmap cell.
MIN_LINEAGE_SAMPLES = 5
#: Baselines drawn beside FORGE in accuracy panels, in this order, with their markers.
BASELINES = (("ridge", "D"), ("elastic_net", "s"), ("lineage_mean", "^"), ("training_mean", "v"))
JITTER_SEED = 20251125
#: Characters per line of a panel's no-data note.
NOTE_WIDTH = 40


# --------------------------------------------------------------------------------------------------
# helpers shared with fig_validation
# --------------------------------------------------------------------------------------------------
def stacked_labels(ax, xs, ys, texts, corner: str, colour: str, start: float | None = None,
                   step: float = 0.07, fontsize: float = style.FONT_SIZE - 1.5) -> None:
    """Label points with names stacked in a column at a corner of the axes, with thin leader lines.

    The labels sit at fixed steps (axes fraction), so they never overlap each other whatever the
    positions of the points; points are matched to labels in the order of their y, which keeps the
    leader lines from crossing within a stack.
    """
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if not len(xs):
        return
    x0, y0, ha, direction = {
        "upper left": (0.03, 0.95, "left", -1.0), "upper right": (0.97, 0.95, "right", -1.0),
        "lower left": (0.03, 0.05, "left", 1.0), "lower right": (0.97, 0.05, "right", 1.0),
    }[corner]
    if start is not None:
        y0 = start
    order = np.argsort(ys)[::-1] if direction < 0 else np.argsort(ys)
    for k, i in enumerate(order):
        ax.annotate(str(texts[i]), xy=(xs[i], ys[i]), xycoords="data", xytext=(x0, y0 + direction * k * step),
                    textcoords="axes fraction", ha=ha, va="center", fontsize=fontsize, color=colour,
                    arrowprops=dict(arrowstyle="-", lw=0.4, color=colour, shrinkA=1, shrinkB=2),
                    bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.7))


def spread(values, min_gap: float) -> np.ndarray:
    """1-D positions close to ``values`` but at least ``min_gap`` apart (order kept): label de-overlap."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values)
    placed = values[order].copy()
    for k in range(1, len(placed)):
        placed[k] = max(placed[k], placed[k - 1] + min_gap)
    # centre the shift so the labels stay around their points
    shift = np.mean(placed - values[order])
    placed -= shift
    for k in range(1, len(placed)):  # re-impose the gap after centring
        placed[k] = max(placed[k], placed[k - 1] + min_gap)
    out = np.empty_like(placed)
    out[order] = placed
    return out


def pair_order(subject: FigureSubject, present) -> list[str]:
    """Pairs in the order of the pairs table (controls last), restricted to ``present``."""
    present = [str(p) for p in dict.fromkeys(present)]
    listed = [p.name for p in subject.pairs]
    ordered = [p for p in listed if p in present] + [p for p in present if p not in listed]
    controls = subject.controls
    return [p for p in ordered if p not in controls] + [p for p in ordered if p in controls]


def pair_label(subject: FigureSubject, pair: str, one_line: bool = False) -> str:
    """Tick label of a pair; controls say so (on a second line unless the ticks are rotated)."""
    control = pair in subject.controls
    return subject.title_of(pair) + ((" (control)" if one_line else "\n(control)") if control else "")


# --------------------------------------------------------------------------------------------------
# Fig. 4a-b
# --------------------------------------------------------------------------------------------------
def _effects(gene_effects: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int | None]:
    """Joint and individual (DependencyEffect, IC50Effect) per gene, at the first replicate."""
    empty = pd.DataFrame(columns=["gene", "DependencyEffect", "IC50Effect"])
    if not has_columns(gene_effects, "gene", "model", "replicate"):
        return empty, empty, None
    replicate = int(gene_effects["replicate"].min())
    rep = gene_effects[gene_effects["replicate"] == replicate]
    joint = empty
    if {"DependencyEffect", "IC50Effect"} <= set(rep.columns):
        joint = rep.loc[rep["model"] == "forge_joint", ["gene", "DependencyEffect", "IC50Effect"]].dropna()
    individual = empty
    if "Effect" in rep.columns:
        dep = rep.loc[rep["model"] == "forge_dependency_only", ["gene", "Effect"]].dropna()
        ic50 = rep.loc[rep["model"] == "forge_ic50_only", ["gene", "Effect"]].dropna()
        if len(dep) and len(ic50):
            # the IC50 head's effect is W h_I; IC50Effect = -W h_I (positive = sensitising)
            individual = dep.rename(columns={"Effect": "DependencyEffect"}).merge(
                ic50.assign(IC50Effect=-ic50["Effect"])[["gene", "IC50Effect"]], on="gene")
    return joint, individual, replicate


def _effect_panel(ax, effects: pd.DataFrame, top_genes: pd.DataFrame, title: str, r_column: str,
                  concordance: pd.DataFrame, replicate: int, target: str, drug: str) -> None:
    x, y = effects["DependencyEffect"].to_numpy(float), effects["IC50Effect"].to_numpy(float)
    ax.axhline(0, color="#bfc9ca", lw=0.5, zorder=0)
    ax.axvline(0, color="#bfc9ca", lw=0.5, zorder=0)
    ax.scatter(x, y, s=4, color="#aab7b8", alpha=0.6, linewidths=0, label="model genes",
               rasterized=len(effects) > 5000)
    r = float(np.corrcoef(x, y)[0, 1]) if len(effects) > 2 else float("nan")
    text = f"Pearson r = {r:.2f} (replicate {replicate}, n = {len(effects)} genes)"
    if has_columns(concordance, r_column) and concordance[r_column].notna().any():
        values = concordance[r_column].dropna()
        text += f"\nmean r over {len(values)} replicates = {values.mean():.2f}"
    placement = {"top": ("upper left", style.GROUP_COLOURS["high"]),
                 "bottom": ("lower right", style.GROUP_COLOURS["low"])}
    if has_columns(top_genes, "gene", "group"):
        indexed = effects.set_index("gene")
        for group, (corner, colour) in placement.items():
            chosen = top_genes[top_genes["group"] == group]
            if "rank" in chosen:
                chosen = chosen.sort_values("rank")
            genes = [g for g in chosen["gene"].astype(str) if g in indexed.index]
            if not genes:
                continue
            points = indexed.loc[genes]
            ax.scatter(points["DependencyEffect"], points["IC50Effect"], s=10, color=colour, linewidths=0.3,
                       edgecolors="white", zorder=3,
                       label=f"{group} {len(genes)} genes by TotalInfluence (joint, mean over replicates)")
            shown = points.iloc[:N_LABELLED]
            stacked_labels(ax, shown["DependencyEffect"], shown["IC50Effect"], list(shown.index), corner, colour)
    ax.set_xlabel(f"DependencyEffect ({target} dependency, a.u.)")
    ax.set_ylabel(f"IC50Effect ({drug} sensitivity, a.u.)")
    ax.set_title(title, fontsize=style.FONT_SIZE + 1, pad=19)
    # the r of the plotted points, as text in the panel (just under the title, above the data)
    ax.text(0.5, 1.01, text, transform=ax.transAxes, ha="center", va="bottom", fontsize=style.FONT_SIZE - 1)


def draw_fig4(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``fig4`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    fig = style.new_figure(style.FULL_WIDTH, 3.5)
    ax_a, ax_b = fig.subplots(1, 2)
    target, drug = subject.pair.target, subject.pair.drug.lower()
    gene_effects = table_or_empty(tables, "gene_effects")
    top_genes = table_or_empty(tables, "top_genes")
    concordance = table_or_empty(tables, "effect_concordance")
    joint, individual, replicate = _effects(gene_effects)
    status = {}
    for letter, ax, effects, title, column, missing in (
        ("a", ax_a, joint, "FORGE joint model", "joint_r",
         "no joint-model gene effects (DependencyEffect/IC50Effect) in gene_effects.tsv"),
        ("b", ax_b, individual, "individual models (dependency-only, IC50-only)", "individual_r",
         "no individual models (forge_dependency_only and forge_ic50_only) in gene_effects.tsv"),
    ):
        style.panel_label(ax, letter)
        if len(effects) < 3:
            style.no_data(ax, missing, NOTE_WIDTH)
            status[letter] = f"not drawn: {missing}"
            continue
        _effect_panel(ax, effects, top_genes, title, column, concordance, replicate, target, drug)
        status[letter] = "drawn"
    if status.get("a") == "drawn" and status.get("b") == "drawn":
        # same axis range in both panels so the spread of the effects compares directly
        lo = min(ax_a.get_xlim()[0], ax_b.get_xlim()[0]), min(ax_a.get_ylim()[0], ax_b.get_ylim()[0])
        hi = max(ax_a.get_xlim()[1], ax_b.get_xlim()[1]), max(ax_a.get_ylim()[1], ax_b.get_ylim()[1])
        for ax in (ax_a, ax_b):
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
    drawn = [ax for ax, letter in ((ax_a, "a"), (ax_b, "b")) if status[letter] == "drawn"]
    if drawn:
        handles, labels = drawn[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), markerscale=1.5,
                   fontsize=style.FONT_SIZE - 1)
    fig.suptitle(f"{subject.title}: gene effects", fontsize=style.FONT_SIZE + 1)
    return fig, status


# --------------------------------------------------------------------------------------------------
# Fig. 4c
# --------------------------------------------------------------------------------------------------
def draw_fig4c(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``fig4c`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    fig = style.new_figure(style.HALF_WIDTH, 3.2)
    ax = fig.subplots()
    style.panel_label(ax, "c")
    controls = subject.controls
    tested = table_or_empty(tables, "all_concordance")
    per_rep = table_or_empty(tables, "effect_concordance@pairs")
    rows = {}
    if has_columns(per_rep, "pair", "joint_r", "individual_r"):
        for pair, part in per_rep.groupby("pair", sort=False):
            part = part[["joint_r", "individual_r"]].dropna()
            if len(part):
                rows[str(pair)] = dict(joint=part["joint_r"].mean(), individual=part["individual_r"].mean(),
                                       joint_sd=part["joint_r"].std(ddof=1) if len(part) > 1 else 0.0,
                                       individual_sd=part["individual_r"].std(ddof=1) if len(part) > 1 else 0.0,
                                       n=len(part))
    if has_columns(tested, "pair", "joint_r", "individual_r"):
        for _, row in tested.iterrows():  # the values the test used take precedence
            entry = rows.setdefault(str(row["pair"]), dict(joint_sd=0.0, individual_sd=0.0, n=np.nan))
            entry.update(joint=float(row["joint_r"]), individual=float(row["individual_r"]))
    rows = {p: v for p, v in rows.items() if np.isfinite(v.get("joint", np.nan))
            and np.isfinite(v.get("individual", np.nan))}
    if not rows:
        reason = "no joint-vs-individual concordance (no pair has both individual models)"
        style.no_data(ax, reason, NOTE_WIDTH)
        return fig, {"c": f"not drawn: {reason}"}
    order = pair_order(subject, rows)
    in_test = set(tested["pair"].astype(str)) if has_columns(tested, "pair") else set()
    colours = {"individual": style.MODEL_COLOURS["forge_dependency_only"], "joint": style.MODEL_COLOURS["forge_joint"]}
    label_y = []
    offsets = (np.arange(len(order)) - (len(order) - 1) / 2) * min(0.05, 0.3 / max(len(order), 1))
    for pair, dx in zip(order, offsets):
        v = rows[pair]
        control = pair in controls
        ax.plot([dx, 1 + dx], [v["individual"], v["joint"]], color="#7f8c8d" if not control else "#b2babb",
                lw=0.8, ls="--" if control else "-", zorder=1)
        for x, key in ((dx, "individual"), (1 + dx, "joint")):
            ax.errorbar(x, v[key], yerr=v[f"{key}_sd"] if np.isfinite(v[f"{key}_sd"]) else 0, fmt="none",
                        ecolor=colours[key], elinewidth=0.6, capsize=1.5, zorder=2)
            ax.scatter([x], [v[key]], s=22, zorder=3, marker="o",
                       facecolors="white" if control else colours[key], edgecolors=colours[key], linewidths=0.9)
        label_y.append(v["joint"])
    ylim = ax.get_ylim()
    gap = 0.055 * (ylim[1] - ylim[0])
    for pair, y_text, y_point in zip(order, spread(label_y, gap), label_y):
        text = subject.title_of(pair) + (" (control, not tested)" if pair in controls or
                                         (in_test and pair not in in_test) else "")
        ax.annotate(text, xy=(1.04, y_point), xytext=(1.12, y_text), textcoords="data", va="center", ha="left",
                    fontsize=style.FONT_SIZE - 1.5, color="#566573" if pair in controls else "black",
                    arrowprops=dict(arrowstyle="-", lw=0.3, color="#b2babb", shrinkA=0, shrinkB=0))
    ax.set_xticks([0, 1], ["individual\nmodels", "FORGE\njoint"])
    ax.set_xlim(-0.35, 2.3)
    ax.spines["bottom"].set_bounds(-0.35, 1.35)
    ax.set_ylabel("Pearson r, DependencyEffect vs IC50Effect\n(across genes)")
    test = table_or_empty(tables, "concordance_test")
    if has_columns(test, "p_value_one_sided"):
        t_row = test.iloc[0]
        t_col = "t_statistic" if "t_statistic" in test.columns else ("t" if "t" in test.columns else None)
        t_value = float(t_row[t_col]) if t_col else float("nan")
        n_pairs = int(t_row["n_pairs"]) if "n_pairs" in test.columns and pd.notna(t_row["n_pairs"]) else len(in_test)
        text = f"paired one-sided t-test (joint > individual)\nn = {n_pairs} pair{'s' if n_pairs != 1 else ''}"
        if np.isfinite(t_value):
            text += f", t = {t_value:.2f}, {style.format_p(float(t_row['p_value_one_sided']))}"
        else:
            text += ": not computed (needs ≥ 2 pairs)"
        if {"mean_joint_r", "mean_individual_r"} <= set(test.columns):
            text += f"\nmean r: joint {t_row['mean_joint_r']:.2f}, individual {t_row['mean_individual_r']:.2f}"
    else:
        text = "paired t-test: table not available"
    ax.set_title(text, fontsize=style.FONT_SIZE - 1, loc="left")
    return fig, {"c": "drawn"}


# --------------------------------------------------------------------------------------------------
# Fig. 6a-c
# --------------------------------------------------------------------------------------------------
def _lineage_heatmap(ax, fig, scores: pd.DataFrame, order: list[str], subject: FigureSubject) -> str:
    controls = subject.controls
    if not has_columns(scores, "pair", "benefit_score", "lineage"):
        reason = "no Benefit Scores with lineages (benefit_scores.tsv of the pairs)"
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    labelled = scores[scores["split"].astype(str) != "unlabelled"] if "split" in scores else scores
    labelled = labelled.dropna(subset=["benefit_score", "lineage"])
    grouped = labelled.groupby(["lineage", "pair"])["benefit_score"]
    median = grouped.median().unstack()
    count = grouped.size().unstack().fillna(0)
    median = median.where(count >= MIN_LINEAGE_SAMPLES)
    median = median.dropna(how="all")
    columns = [p for p in order if p in median.columns]
    if median.empty or not columns:
        reason = f"no lineage has ≥ {MIN_LINEAGE_SAMPLES} labelled samples in any pair"
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    median = median[columns]
    # lineages ordered by their mean median over the non-control pairs (controls do not drive the order)
    key = median[[c for c in columns if c not in controls] or columns].mean(axis=1)
    median = median.loc[key.sort_values(ascending=False).index]
    count = count.reindex(index=median.index, columns=columns)
    limit = float(np.nanmax(np.abs(median.to_numpy()))) or 1.0
    image = ax.imshow(np.ma.masked_invalid(median.to_numpy(float)), aspect="auto", cmap=style.DIVERGING,
                      norm=mcolors.TwoSlopeNorm(0.0, -limit, limit), interpolation="nearest")
    ax.set_facecolor("#eaeded")
    n_rows, n_cols = median.shape
    if n_rows <= 30 and n_cols <= 6:
        for i in range(n_rows):
            for j in range(n_cols):
                value = median.iat[i, j]
                if np.isfinite(value):
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=style.FONT_SIZE - 2.5,
                            color="white" if abs(value) > 0.6 * limit else "black")
    rotate = n_cols > 2
    ax.set_xticks(range(n_cols), [pair_label(subject, p, one_line=rotate) for p in columns],
                  rotation=30 if rotate else 0, ha="right" if rotate else "center", rotation_mode="anchor")
    for tick, pair in zip(ax.get_xticklabels(), columns):
        if pair in controls:
            tick.set_color("#7f8c8d")
    lineages = [str(x) if len(str(x)) <= 28 else str(x)[:27] + "…" for x in median.index]
    n_lineage = count.max(axis=1).astype(int)
    ax.set_yticks(range(n_rows), [f"{lin} ({n})" for lin, n in zip(lineages, n_lineage)])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title("median Benefit Score per lineage\n(labelled lines, train + test)", fontsize=style.FONT_SIZE,
                 loc="left")
    bar = fig.colorbar(image, ax=ax, shrink=0.6, pad=0.02, aspect=20)
    bar.set_label("median Benefit Score (a.u.)")
    bar.ax.tick_params(labelsize=style.FONT_SIZE - 2)
    return "drawn"


def _accuracy_panel(axes, metrics: pd.DataFrame, order: list[str], subject: FigureSubject) -> str:
    controls = subject.controls
    if not has_columns(metrics, "pair", "model", "output", "split", "pearson"):
        reason = "no test metrics (metrics.tsv across pairs)"
        for ax in axes:
            style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    test = metrics[metrics["split"] == "test"]
    rng = np.random.default_rng(JITTER_SEED)
    pairs = [p for p in order if p in set(test["pair"].astype(str))]
    drawn_any = False
    used_baselines = []
    for ax, suffix, title in ((axes[0], "_dependency", "dependency"), (axes[1], "_ic50", "IC50")):
        for i, pair in enumerate(pairs):
            rows = test[test["pair"].astype(str) == pair]
            joint_rows = rows[rows["model"] == "forge_joint"]
            outputs = [o for o in dict.fromkeys(joint_rows["output"].astype(str)) if o.endswith(suffix)]
            if not outputs:
                outputs = [o for o in dict.fromkeys(rows["output"].astype(str)) if o.endswith(suffix)]
            if not outputs:
                continue
            output = outputs[0]
            rows = rows[rows["output"].astype(str) == output]
            joint = rows.loc[rows["model"] == "forge_joint", "pearson"].dropna().to_numpy(float)
            if len(joint):
                drawn_any = True
                box = ax.boxplot([joint], positions=[i - 0.17], widths=0.26, showfliers=False, patch_artist=True,
                                 medianprops=dict(color="black", lw=0.8), whiskerprops=dict(lw=0.6),
                                 capprops=dict(lw=0.6), boxprops=dict(lw=0.6))
                box["boxes"][0].set_facecolor(mcolors.to_rgba(style.MODEL_COLOURS["forge_joint"], 0.25))
                ax.scatter(i - 0.17 + style.jitter(rng, len(joint), 0.08), joint, s=5, zorder=3,
                           color=style.MODEL_COLOURS["forge_joint"], linewidths=0)
            for k, (model, marker) in enumerate(BASELINES):
                value = rows.loc[rows["model"] == model, "pearson"].dropna()
                if len(value):
                    drawn_any = True
                    if model not in used_baselines:
                        used_baselines.append(model)
                    ax.scatter([i + 0.05 + 0.09 * k], [value.iloc[0]], marker=marker, s=12, zorder=3,
                               color=style.MODEL_COLOURS[model], edgecolors="black", linewidths=0.3)
        ax.axhline(0, color="#bfc9ca", lw=0.5, zorder=0)
        rotate = len(pairs) > 2
        ax.set_xticks(range(len(pairs)), [pair_label(subject, p, one_line=rotate) for p in pairs],
                      rotation=30 if rotate else 0, ha="right" if rotate else "center", rotation_mode="anchor")
        for tick, pair in zip(ax.get_xticklabels(), pairs):
            if pair in controls:
                tick.set_color("#7f8c8d")
        ax.set_xlim(-0.6, len(pairs) - 0.4)
        ax.set_ylabel(f"test Pearson r ({title})")
        ax.set_title(f"predicted vs observed {title}, test set", fontsize=style.FONT_SIZE, loc="left")
    if not drawn_any:
        reason = "no test Pearson r of FORGE or the baselines"
        for ax in axes:
            ax.cla()
            style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    n_rep = test[test["model"] == "forge_joint"].groupby(["pair", "output"]).size()
    handles = [Patch(facecolor=mcolors.to_rgba(style.MODEL_COLOURS["forge_joint"], 0.25),
                     edgecolor=style.MODEL_COLOURS["forge_joint"],
                     label=f"FORGE joint ({int(n_rep.max()) if len(n_rep) else 0} replicates)")]
    handles += [Line2D([], [], ls="", marker=dict(BASELINES)[m], color=style.MODEL_COLOURS[m], markeredgecolor="black",
                       markeredgewidth=0.3, label=style.MODEL_LABELS[m]) for m in used_baselines]
    axes[1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=style.FONT_SIZE - 1.5)
    return "drawn"


def _umap_panels(subfig, umap: pd.DataFrame, order: list[str], subject: FigureSubject) -> str:
    controls = subject.controls
    if not has_columns(umap, "pair", "umap_1", "umap_2", "benefit_score"):
        ax = subfig.subplots()
        style.panel_label(ax, "b")
        reason = "no UMAP of the embeddings (embedding_umap.tsv not available)"
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    pairs = [p for p in order if p in set(umap["pair"].astype(str))]
    n_cols = min(len(pairs), 5)
    n_rows = int(np.ceil(len(pairs) / n_cols))
    axes = np.atleast_1d(subfig.subplots(n_rows, n_cols, squeeze=False).ravel())
    for k, (ax, pair) in enumerate(zip(axes, pairs)):
        part = umap[umap["pair"].astype(str) == pair].dropna(subset=["umap_1", "umap_2", "benefit_score"])
        score = part["benefit_score"].to_numpy(float)
        limit = float(np.nanpercentile(np.abs(score), 98)) if len(score) else 1.0
        limit = limit or 1.0
        order_idx = np.argsort(np.abs(score))  # extreme scores drawn last, on top
        points = ax.scatter(part["umap_1"].to_numpy(float)[order_idx], part["umap_2"].to_numpy(float)[order_idx],
                            c=score[order_idx], s=2.5, cmap=style.DIVERGING, linewidths=0,
                            norm=mcolors.TwoSlopeNorm(0.0, -limit, limit), rasterized=len(part) > 3000)
        ax.set_title(subject.title_of(pair) + (" (control)" if pair in controls else "") + f"\nn = {len(part)} lines",
                     fontsize=style.FONT_SIZE - 0.5, color="#7f8c8d" if pair in controls else "black")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("UMAP 1 (a.u.)")
        if k % n_cols == 0:
            ax.set_ylabel("UMAP 2 (a.u.)")
        bar = subfig.colorbar(points, ax=ax, shrink=0.7, pad=0.02, aspect=30, fraction=0.06)
        bar.ax.tick_params(labelsize=style.FONT_SIZE - 2.5)
        if k % n_cols == n_cols - 1 or k == len(pairs) - 1:
            bar.set_label("Benefit Score (a.u.)", fontsize=style.FONT_SIZE - 1.5)
        if k == 0:
            style.panel_label(ax, "b")
    for ax in axes[len(pairs):]:
        ax.set_axis_off()
    return "drawn"


def draw_fig6(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``fig6`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    fig = style.new_figure(style.FULL_WIDTH, 7.0)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.45, 1.0])
    left, right = top.subfigures(1, 2, width_ratios=[1.0, 1.15])
    scores = table_or_empty(tables, "benefit_scores@pairs")
    umap = table_or_empty(tables, "umap")
    metrics = table_or_empty(tables, "all_metrics")
    present = [p.name for p in subject.pairs]
    for frame in (scores, umap, metrics):
        if has_columns(frame, "pair"):
            present += list(frame["pair"].astype(str))
    order = pair_order(subject, present)
    status = {}
    ax_a = left.subplots()
    style.panel_label(ax_a, "a")
    status["a"] = _lineage_heatmap(ax_a, left, scores, order, subject)
    axes_c = right.subplots(2, 1, sharex=True)
    style.panel_label(axes_c[0], "c")
    status["c"] = _accuracy_panel(axes_c, metrics, order, subject)
    if status["c"] == "drawn":
        axes_c[0].tick_params(labelbottom=False)
    status["b"] = _umap_panels(bottom, umap, order, subject)
    return fig, {k: status[k] for k in ("a", "b", "c")}
