"""Figures of one pair's model: Fig. 1d–e (labels), Fig. 2b–p (split, accuracy, scores), k tuning curve.

Every function only reads the tables the workflow wrote. Descriptive numbers drawn here (counts, Pearson r
of two plotted columns, medians) are computed for display; group tests are read from ``score_group_tests``
except the one Fig. 1e test (IC50 by dependency group), which no table holds and which is therefore
computed here with :func:`scipy.stats.mannwhitneyu` and named in the panel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from forge.figures import style
from forge.figures.inputs import has_columns
from forge.figures.registry import FigureSubject

#: DepMap calls a cell line dependent on a gene when its CRISPR dependency probability is ≥ 0.5.
DEPENDENCY_CUTOFF = 0.5
#: Accuracy models drawn beside FORGE, in this order.
BASELINES = ("ridge", "elastic_net", "lineage_mean")
_JITTER_SEED = 7
#: Characters per line of a panel's no-data note.
NOTE_WIDTH = 30


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def output_label(output: str, short: bool = False) -> str:
    """Axis label of an output: 'EGFR dependency probability', 'erlotinib IC50 (CREAMMIST log scale)'."""
    if output.endswith("_dependency"):
        gene = output.removesuffix("_dependency")
        return f"{gene} dependency" if short else f"{gene} dependency probability"
    if output.endswith("_ic50"):
        drug = output.removesuffix("_ic50").lower()
        return f"{drug} IC50" if short else f"{drug} IC50 (CREAMMIST log scale)"
    return output


def _label2(prefix: str, output: str) -> str:
    """Two-line axis label with units: 'observed EGFR dependency\nprobability'."""
    label = f"{prefix} {output_label(output)}"
    return label.replace(" (", "\n(").replace(" probability", "\nprobability")


def pearson(x, y) -> tuple[float, int]:
    """Pearson r of the finite pairs, and their number (NaN below 3 pairs or for a constant column)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    n = int(keep.sum())
    if n < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return float("nan"), n
    return float(np.corrcoef(x[keep], y[keep])[0, 1]), n


def _fmt_r(r: float) -> str:
    return "n/a" if not np.isfinite(r) else f"{r:.2f}"


def _comparison_row(comparison: pd.DataFrame, model: str, output: str, split: str) -> pd.Series | None:
    if not has_columns(comparison, "model", "output", "split", "pearson_mean"):
        return None
    rows = comparison[(comparison["model"] == model) & (comparison["output"] == output)
                      & (comparison["split"] == split)]
    if rows.empty or not np.isfinite(rows["pearson_mean"].iloc[0]):
        return None
    return rows.iloc[0]


def _mean_sd(row: pd.Series) -> tuple[float, float]:
    sd = float(row["pearson_std"]) if "pearson_std" in row.index else float("nan")
    return float(row["pearson_mean"]), (sd if np.isfinite(sd) else 0.0)


def _box_strip(ax, groups: list[np.ndarray], colours: list[str], point_colours: list | None = None,
               rng: np.random.Generator | None = None) -> None:
    """Boxes without fliers and the points jittered over them (x positions 0..n-1)."""
    rng = rng or np.random.default_rng(_JITTER_SEED)
    positions = np.arange(len(groups))
    nonempty = [i for i, g in enumerate(groups) if len(g)]
    if nonempty:
        boxes = ax.boxplot([groups[i] for i in nonempty], positions=positions[nonempty], widths=0.55,
                           showfliers=False, patch_artist=True, medianprops=dict(color="black", linewidth=1.0),
                           whiskerprops=dict(linewidth=0.6), capprops=dict(linewidth=0.6),
                           boxprops=dict(linewidth=0.6))
        for patch, i in zip(boxes["boxes"], nonempty):
            patch.set_facecolor(colours[i])
            patch.set_alpha(0.35)
    for i, values in enumerate(groups):
        if not len(values):
            continue
        colour = point_colours[i] if point_colours is not None else colours[i]
        ax.scatter(i + style.jitter(rng, len(values), 0.18), values, s=3, c=colour, alpha=0.7, linewidths=0, zorder=3)
    ax.set_xticks(positions)
    ax.set_xlim(-0.6, len(groups) - 0.4)


def _bracket(ax, x1: float, x2: float, y: float, text: str, height: float) -> None:
    ax.plot([x1, x1, x2, x2], [y, y + height, y + height, y], color="black", linewidth=0.5, clip_on=False)
    ax.text((x1 + x2) / 2, y + height, text, ha="center", va="bottom", fontsize=style.FONT_SIZE - 1.5)


def _test_p(tests: pd.DataFrame, grouping: str, higher: str, lower: str, output: str) -> float | None:
    if not has_columns(tests, "grouping", "higher_group", "lower_group", "output", "p_value"):
        return None
    rows = tests[(tests["grouping"] == grouping) & (tests["higher_group"] == higher)
                 & (tests["lower_group"] == lower) & (tests["output"] == f"observed_{output}")]
    return None if rows.empty else float(rows["p_value"].iloc[0])


# ---------------------------------------------------------------------------
# Fig. 1d–e
# ---------------------------------------------------------------------------
def draw_fig1(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``fig1`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    target = subject.pair.target
    dep_out, ic50_out = subject.pair.dependency_output, subject.pair.ic50_output
    embedding = tables.get("embedding", pd.DataFrame())
    fig = style.new_figure(style.FULL_WIDTH, 2.6)
    ax_d, ax_e = fig.subplots(1, 2, width_ratios=[1.4, 1])
    fig.suptitle(subject.title, fontsize=style.FONT_SIZE + 1)
    status = {}

    # d: dependency distribution
    style.panel_label(ax_d, "d")
    if has_columns(embedding, "observed_dependency") and embedding["observed_dependency"].notna().any():
        values = embedding["observed_dependency"].dropna().to_numpy(dtype=float)
        n_dep = int((values >= DEPENDENCY_CUTOFF).sum())
        bins = np.linspace(0, 1, 41)
        ax_d.hist([values[values < DEPENDENCY_CUTOFF], values[values >= DEPENDENCY_CUTOFF]], bins=bins,
                  color=[style.GROUP_COLOURS["low"], style.GROUP_COLOURS["high"]], edgecolor="white",
                  linewidth=0.3, stacked=True, label=["not dependent", "dependent"])
        ax_d.set_yscale("log")
        ax_d.set_ylim(0.7, None)
        ax_d.axvline(DEPENDENCY_CUTOFF, color="black", linestyle="--", linewidth=0.8)
        ax_d.text(DEPENDENCY_CUTOFF - 0.01, 0.97, f"cutoff {DEPENDENCY_CUTOFF:g}\n(dependent ≥ {DEPENDENCY_CUTOFF:g})",
                  transform=ax_d.get_xaxis_transform(), ha="right", va="top", fontsize=style.FONT_SIZE - 1)
        ax_d.set_xlim(0, 1)
        ax_d.set_xlabel(output_label(dep_out))
        ax_d.set_ylabel("cell lines (n, log scale)")
        style.annotate(ax_d, f"n = {len(values)} cell lines\ndependent: {n_dep} ({100 * n_dep / len(values):.1f}%)",
                       loc="upper right")
        status["d"] = "drawn"
    else:
        reason = "not drawn: no dependency probabilities (embedding table empty or without observed_dependency)"
        style.no_data(ax_d, reason, NOTE_WIDTH)
        status["d"] = reason

    # e: IC50 by dependency group
    style.panel_label(ax_e, "e")
    if has_columns(embedding, "observed_dependency", "observed_ic50"):
        both = embedding[["observed_dependency", "observed_ic50"]].dropna()
        dependent = both.loc[both["observed_dependency"] >= DEPENDENCY_CUTOFF, "observed_ic50"].to_numpy(float)
        other = both.loc[both["observed_dependency"] < DEPENDENCY_CUTOFF, "observed_ic50"].to_numpy(float)
    else:
        dependent = other = np.array([])
    if len(dependent) and len(other):
        _box_strip(ax_e, [dependent, other], [style.GROUP_COLOURS["high"], style.GROUP_COLOURS["low"]])
        ax_e.set_xticklabels([f"dependent\n(≥ {DEPENDENCY_CUTOFF:g})\nn = {len(dependent)}",
                              f"not dependent\n(< {DEPENDENCY_CUTOFF:g})\nn = {len(other)}"])
        ax_e.set_xlabel(f"{target} dependency group")
        ax_e.set_ylabel(output_label(ic50_out))
        p = stats.mannwhitneyu(dependent, other, alternative="less").pvalue
        style.annotate(ax_e, f"one-sided Mann–Whitney\n(dependent lower): {style.format_p(float(p))}",
                       loc="upper left")
        top = max(dependent.max(), other.max())
        bottom = min(dependent.min(), other.min())
        ax_e.set_ylim(bottom - 0.05 * (top - bottom), top + 0.30 * (top - bottom))
        status["e"] = "drawn"
    else:
        if not has_columns(embedding, "observed_dependency", "observed_ic50"):
            reason = "not drawn: no cell lines with both labels (embedding table empty)"
        elif not len(dependent):
            reason = f"not drawn: no cell line with {target} dependency ≥ {DEPENDENCY_CUTOFF:g} and an IC50"
        else:
            reason = f"not drawn: every cell line with an IC50 is {target}-dependent"
        style.no_data(ax_e, reason, NOTE_WIDTH)
        status["e"] = reason
    return fig, status


# ---------------------------------------------------------------------------
# Fig. 2b–p
# ---------------------------------------------------------------------------
def draw_fig2(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``fig2`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    dep_out, ic50_out = subject.pair.dependency_output, subject.pair.ic50_output
    get = lambda key: tables.get(key, pd.DataFrame())  # noqa: E731
    fig = style.new_figure(style.FULL_WIDTH, 10.0)
    fig.suptitle(subject.title, fontsize=style.FONT_SIZE + 1)
    rows = fig.subfigures(4, 1, height_ratios=[1.0, 0.95, 1.3, 1.05])
    ax_b, ax_c1, ax_c2, ax_p = rows[0].subplots(1, 4, width_ratios=[0.65, 1, 1, 1.6])
    emb_axes = rows[1].subplots(1, 4)
    acc_axes = rows[2].subplots(1, 4)
    grp_axes = rows[3].subplots(1, 4, width_ratios=[1.25, 1.25, 0.75, 0.75])
    status = {}
    status["b"] = _fig2_split(ax_b, get("split"), get("embedding"))
    status["c"] = _fig2_scores(ax_c1, ax_c2, get("predictions"), dep_out, ic50_out)
    status.update(_fig2_embedding(rows[1], emb_axes, get("embedding"), dep_out, ic50_out))
    status.update(_fig2_accuracy(acc_axes, get("benefit_scores"), get("comparison"), dep_out, ic50_out))
    status.update(_fig2_groups(grp_axes, get("benefit_scores"), get("score_group_tests"), dep_out, ic50_out))
    status["p"] = _fig2_multi_drug(ax_p, get("comparison"), dep_out, ic50_out)
    return fig, status


def _fig2_split(ax, split: pd.DataFrame, embedding: pd.DataFrame) -> str:
    style.panel_label(ax, "b")
    if not has_columns(split, "split"):
        reason = "not drawn: split table empty"
        style.no_data(ax, reason, NOTE_WIDTH)
        return reason
    counts = {s: int((split["split"] == s).sum()) for s in ("train", "test")}
    if has_columns(embedding, "split"):
        counts["unlabelled"] = int((embedding["split"] == "unlabelled").sum())
    names = list(counts)
    bars = ax.bar(range(len(names)), [counts[s] for s in names], color=[style.SPLIT_COLOURS[s] for s in names],
                  width=0.7)
    for bar, s in zip(bars, names):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), str(counts[s]), ha="center", va="bottom",
                fontsize=style.FONT_SIZE - 1)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax.set_ylabel("cell lines (n)")
    ax.set_ylim(0, max(counts.values()) * 1.15 + 1)
    ax.set_title("split", fontsize=style.FONT_SIZE)
    return "drawn"


def benefit_scores_from_predictions(predictions: pd.DataFrame, dep_out: str, ic50_out: str,
                                    split: str = "test") -> dict[str, pd.DataFrame]:
    """Joint and individual Benefit Scores of the ``split`` samples (predicted dependency − predicted IC50).

    Returns ``{"joint": frame, "individual": frame}`` with columns score, observed_dependency,
    observed_ic50 (indexed by sample); a model missing from the table gives no entry.
    """
    if not has_columns(predictions, "sample", "split", "model", "output", "predicted", "observed"):
        return {}
    rows = predictions[predictions["split"] == split]

    def one(model_dep: str, model_ic50: str) -> pd.DataFrame | None:
        dep = rows[(rows["model"] == model_dep) & (rows["output"] == dep_out)].set_index("sample")
        ic50 = rows[(rows["model"] == model_ic50) & (rows["output"] == ic50_out)].set_index("sample")
        if dep.empty or ic50.empty:
            return None
        joined = dep[["predicted", "observed"]].join(ic50[["predicted", "observed"]], how="inner",
                                                      lsuffix="_dep", rsuffix="_ic50")
        if joined.empty:
            return None
        return pd.DataFrame({"score": joined["predicted_dep"] - joined["predicted_ic50"],
                             "observed_dependency": joined["observed_dep"],
                             "observed_ic50": joined["observed_ic50"]})

    scores = {"joint": one("forge_joint", "forge_joint"),
              "individual": one("forge_dependency_only", "forge_ic50_only")}
    return {k: v for k, v in scores.items() if v is not None}


def _fig2_scores(ax1, ax2, predictions: pd.DataFrame, dep_out: str, ic50_out: str) -> str:
    style.panel_label(ax1, "c")
    scores = benefit_scores_from_predictions(predictions, dep_out, ic50_out)
    if not scores:
        reason = ("not drawn: no predictions table" if predictions is None or predictions.empty
                  else "not drawn: predictions table lacks the joint and individual test predictions")
        style.no_data(ax1, reason, NOTE_WIDTH)
        style.no_data(ax2, "", NOTE_WIDTH)
        return reason
    colours = {"joint": style.MODEL_COLOURS["forge_joint"], "individual": style.MODEL_COLOURS["forge_dependency_only"]}
    labels = {"joint": "joint", "individual": "individual"}
    for ax, column, output in ((ax1, "observed_dependency", dep_out), (ax2, "observed_ic50", ic50_out)):
        lines = []
        for kind, frame in scores.items():
            if kind == "joint":
                ax.scatter(frame["score"], frame[column], s=5, c=colours[kind], alpha=0.7, linewidths=0,
                           label=labels[kind])
            else:
                ax.scatter(frame["score"], frame[column], s=9, facecolors="none", edgecolors=colours[kind],
                           linewidths=0.5, alpha=0.9, label=labels[kind], marker="^")
            r, n = pearson(frame["score"], frame[column])
            lines.append(f"{labels[kind]} r = {r:.3f}" if np.isfinite(r) else f"{labels[kind]} r = n/a")
        n = max(len(f) for f in scores.values())
        lines.append(f"n = {n} test lines")
        style.annotate(ax, "\n".join(lines), loc="upper left" if column == "observed_dependency" else "upper right")
        ax.set_xlabel("Benefit Score (a.u.)")
        ax.set_ylabel(_label2("observed", output))
        observed = pd.concat([f[column] for f in scores.values()]).dropna()
        if len(observed):
            lo, hi = float(observed.min()), float(observed.max())
            span = (hi - lo) or 1.0
            ax.set_ylim(lo - 0.05 * span, hi + 0.40 * span)
    ax1.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), markerscale=1.5, handletextpad=0.2, ncol=2,
               borderaxespad=0.1, columnspacing=0.8, title="Benefit Score of the model(s)",
               title_fontsize=style.FONT_SIZE - 1)
    return "drawn"


def _fig2_embedding(subfig, axes, embedding: pd.DataFrame, dep_out: str, ic50_out: str) -> dict[str, str]:
    letters = ("d", "e", "f", "g")
    panels = [("train", "observed_dependency", dep_out), ("test", "observed_dependency", dep_out),
              ("train", "observed_ic50", ic50_out), ("test", "observed_ic50", ic50_out)]
    for ax, letter in zip(axes, letters):
        style.panel_label(ax, letter)
    if not has_columns(embedding, "PC1", "PC2", "split"):
        reason = ("not drawn: embedding table empty" if embedding is None or embedding.empty
                  else "not drawn: embedding table has no PC1/PC2 columns")
        for ax in axes:
            style.no_data(ax, reason, NOTE_WIDTH)
        return {letter: reason for letter in letters}
    status = {}
    labelled = embedding[embedding["split"].isin(["train", "test"])]
    if labelled.empty:
        reason = "not drawn: no train or test samples in the embedding"
        for ax in axes:
            style.no_data(ax, reason, NOTE_WIDTH)
        return {letter: reason for letter in letters}
    pad = lambda lo, hi: (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))  # noqa: E731
    xlim = pad(labelled["PC1"].min(), labelled["PC1"].max())
    ylim = pad(labelled["PC2"].min(), labelled["PC2"].max())
    mappables = {}
    for ax, letter, (split, column, output) in zip(axes, letters, panels):
        if column not in embedding.columns:
            reason = f"not drawn: embedding table has no {column}"
            style.no_data(ax, reason, NOTE_WIDTH)
            status[letter] = reason
            continue
        rows = labelled[(labelled["split"] == split) & labelled[column].notna()].sort_values(column)
        if rows.empty:
            reason = f"not drawn: no {split} samples with {column}"
            style.no_data(ax, reason, NOTE_WIDTH)
            status[letter] = reason
            continue
        vmin, vmax = float(labelled[column].min()), float(labelled[column].max())
        mappables[column] = ax.scatter(rows["PC1"], rows["PC2"], c=rows[column], cmap=style.SEQUENTIAL,
                                       vmin=vmin, vmax=vmax, s=4, linewidths=0)
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_xlabel("PC1 of Z")
        ax.set_ylabel("PC2 of Z")
        ax.set_title(f"{split} (n = {len(rows)})", fontsize=style.FONT_SIZE)
        status[letter] = "drawn"
    for column, output, pair_axes in (("observed_dependency", dep_out, axes[:2]), ("observed_ic50", ic50_out, axes[2:])):
        if column in mappables:
            bar = subfig.colorbar(mappables[column], ax=list(pair_axes), location="bottom", shrink=0.7,
                                  aspect=30, pad=0.02)
            bar.set_label(f"observed {output_label(output)}")
            bar.ax.tick_params(labelsize=style.FONT_SIZE - 1)
    return status


def _baseline_lines(comparison: pd.DataFrame, output: str, split: str) -> list[str]:
    lines = []
    for model in ("forge_joint", *BASELINES):
        row = _comparison_row(comparison, model, output, split)
        if row is not None:
            mean, sd = _mean_sd(row)
            lines.append(f"{style.MODEL_LABELS[model]} {mean:.2f} ± {sd:.2f}")
    return lines


def _fig2_accuracy(axes, benefit_scores: pd.DataFrame, comparison: pd.DataFrame, dep_out: str,
                   ic50_out: str) -> dict[str, str]:
    letters = ("h", "i", "j", "k")
    panels = [("train", dep_out), ("test", dep_out), ("train", ic50_out), ("test", ic50_out)]
    status = {}
    for ax, letter, (split, output) in zip(axes, letters, panels):
        style.panel_label(ax, letter)
        columns = ("split", f"predicted_{output}", f"observed_{output}")
        if not has_columns(benefit_scores, *columns):
            reason = ("not drawn: benefit_scores table empty" if benefit_scores is None or benefit_scores.empty
                      else f"not drawn: benefit_scores has no predicted/observed {output}")
            style.no_data(ax, reason, NOTE_WIDTH)
            status[letter] = reason
            continue
        rows = benefit_scores[benefit_scores["split"] == split].dropna(subset=list(columns[1:]))
        if rows.empty:
            reason = f"not drawn: no {split} samples"
            style.no_data(ax, reason, NOTE_WIDTH)
            status[letter] = reason
            continue
        observed, predicted = rows[f"observed_{output}"], rows[f"predicted_{output}"]
        ax.scatter(observed, predicted, s=4, c=style.SPLIT_COLOURS[split], alpha=0.7, linewidths=0)
        lo = min(observed.min(), predicted.min())
        hi = max(observed.max(), predicted.max())
        ax.plot([lo, hi], [lo, hi], color="#566573", linestyle="--", linewidth=0.6)
        r, n = pearson(observed, predicted)
        style.annotate(ax, f"r = {_fmt_r(r)}\nn = {n}", loc="upper left")
        lines = _baseline_lines(comparison, output, split)
        if lines:
            ax.text(0.5, -0.30, f"{split} r, mean ± sd over replicates\n" + "\n".join(lines),
                    transform=ax.transAxes, ha="center", va="top", fontsize=style.FONT_SIZE - 1.5,
                    bbox=dict(boxstyle="round,pad=0.25", facecolor="#f8f9f9", edgecolor="#d5d8dc"))
        ax.set_xlabel(_label2("observed", output))
        ax.set_ylabel(_label2("predicted", output))
        ax.set_title(f"{split} lines", fontsize=style.FONT_SIZE)
        status[letter] = "drawn"
    return status


def _fig2_groups(axes, benefit_scores: pd.DataFrame, tests: pd.DataFrame, dep_out: str,
                 ic50_out: str) -> dict[str, str]:
    letters = ("l", "m", "n", "o")
    panels = [("quartile", ["Q1", "Q2", "Q3", "Q4"], dep_out), ("quartile", ["Q1", "Q2", "Q3", "Q4"], ic50_out),
              ("median_group", ["low", "high"], dep_out), ("median_group", ["low", "high"], ic50_out)]
    status = {}
    rng = np.random.default_rng(_JITTER_SEED)
    split_legend = False
    for ax, letter, (grouping, groups, output) in zip(axes, letters, panels):
        style.panel_label(ax, letter)
        column = f"observed_{output}"
        if not has_columns(benefit_scores, grouping, column):
            reason = ("not drawn: benefit_scores table empty" if benefit_scores is None or benefit_scores.empty
                      else f"not drawn: benefit_scores has no {grouping} or {column}")
            style.no_data(ax, reason, NOTE_WIDTH)
            status[letter] = reason
            continue
        rows = benefit_scores.dropna(subset=[column])
        if "split" in rows.columns:
            rows = rows[rows["split"] != "unlabelled"]
        values = [rows.loc[rows[grouping] == g, column].to_numpy(float) for g in groups]
        if not any(len(v) for v in values):
            reason = f"not drawn: no labelled samples with {grouping} groups"
            style.no_data(ax, reason, NOTE_WIDTH)
            status[letter] = reason
            continue
        point_colours = None
        if "split" in rows.columns:
            split_legend = True
            point_colours = [[style.SPLIT_COLOURS.get(s, "#7f8c8d") for s in rows.loc[rows[grouping] == g, "split"]]
                             for g in groups]
        _box_strip(ax, values, [style.GROUP_COLOURS[g] for g in groups], point_colours, rng)
        ax.set_xticklabels([f"{g}\nn={len(v)}" for g, v in zip(groups, values)])
        ax.set_xlabel("Benefit Score quartile\n(one-sided Mann–Whitney P)" if grouping == "quartile"
                      else "Benefit Score group\n(one-sided\nMann–Whitney P)")
        ax.set_ylabel(_label2("observed", output))
        # brackets with the workflow's P-values
        finite = np.concatenate([v for v in values if len(v)])
        top, bottom = float(finite.max()), float(finite.min())
        span = (top - bottom) or 1.0
        step = 0.09 * span
        comparisons = ([(0, 1, 0), (2, 3, 0), (1, 2, 1)] if grouping == "quartile" else [(0, 1, 0)])
        for low_i, high_i, level in comparisons:
            p = _test_p(tests, grouping, groups[high_i], groups[low_i], output)
            if p is None:
                continue
            _bracket(ax, low_i, high_i, top + step * (0.4 + 1.6 * level), style.format_p(p), 0.25 * step)
        ax.set_ylim(bottom - 0.04 * span, top + step * 4.0)
        status[letter] = "drawn"
    if split_legend:
        handles = [axes[-1].scatter([], [], s=6, c=style.SPLIT_COLOURS[s], label=s) for s in ("train", "test")]
        axes[-1].legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), handletextpad=0.1,
                        borderaxespad=0.2, title="points", title_fontsize=style.FONT_SIZE - 1)
    return status


def _fig2_multi_drug(ax, comparison: pd.DataFrame, dep_out: str, ic50_out: str) -> str:
    style.panel_label(ax, "p")
    if not has_columns(comparison, "model", "output", "split", "pearson_mean"):
        reason = "not drawn: comparison table empty"
        style.no_data(ax, reason, NOTE_WIDTH)
        return reason
    multi = comparison[(comparison["model"] == "forge_multi_drug") & (comparison["split"] == "test")]
    if multi.empty:
        reason = "not drawn: no multi-drug model for this pair"
        style.no_data(ax, reason, NOTE_WIDTH)
        return reason
    outputs = list(dict.fromkeys(multi["output"]))
    outputs.sort(key=lambda o: (o != dep_out, o != ic50_out))
    models = [m for m in ("forge_multi_drug", "forge_joint", *BASELINES)
              if any(_comparison_row(comparison, m, o, "test") is not None for o in outputs)]
    width = 0.8 / len(models)
    for j, model in enumerate(models):
        xs, means, sds = [], [], []
        for i, output in enumerate(outputs):
            row = _comparison_row(comparison, model, output, "test")
            if row is None:
                continue
            mean, sd = _mean_sd(row)
            xs.append(i - 0.4 + width * (j + 0.5))
            means.append(mean)
            sds.append(sd)
        ax.bar(xs, means, width=width * 0.95, yerr=sds, color=style.MODEL_COLOURS[model],
               label=style.MODEL_LABELS[model], error_kw=dict(linewidth=0.5, capsize=1.2))
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xticks(range(len(outputs)))
    ax.set_xticklabels([output_label(o, short=True).replace(" ", "\n", 1) for o in outputs])
    ax.set_ylabel("test Pearson r (mean ± sd)")
    ax.set_title("multi-drug model", fontsize=style.FONT_SIZE)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), handlelength=1.0, borderaxespad=0.0)
    return "drawn"


# ---------------------------------------------------------------------------
# Supplementary: k tuning curve
# ---------------------------------------------------------------------------
def draw_supp_tuning(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``supp_tuning`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    dep_out, ic50_out = subject.pair.dependency_output, subject.pair.ic50_output
    curve = tables.get("tuning_curve", pd.DataFrame())
    comparison = tables.get("comparison", pd.DataFrame())
    fig = style.new_figure(style.FULL_WIDTH, 2.6)
    fig.suptitle(subject.title, fontsize=style.FONT_SIZE + 1)
    axes = fig.subplots(1, 2)
    status = {}
    line_styles = {"ridge": "--", "elastic_net": ":", "lineage_mean": "-."}
    for ax, letter, output in zip(axes, ("a", "b"), (dep_out, ic50_out)):
        style.panel_label(ax, letter)
        if not has_columns(curve, "n_components", "seed", "split", "output", "pearson"):
            reason = "not drawn: tuning curve table empty (step skipped)"
            style.no_data(ax, reason, NOTE_WIDTH)
            status[letter] = reason
            continue
        rows = curve[curve["output"] == output]
        if rows.empty:
            reason = f"not drawn: no tuning curve rows for {output}"
            style.no_data(ax, reason, NOTE_WIDTH)
            status[letter] = reason
            continue
        n_seeds = rows["seed"].nunique()
        for split in ("train", "test"):
            summary = (rows[rows["split"] == split].groupby("n_components")["pearson"]
                       .agg(["mean", "std"]).sort_index())
            if summary.empty:
                continue
            sd = summary["std"].fillna(0.0)
            colour = style.SPLIT_COLOURS[split]
            ax.plot(summary.index, summary["mean"], marker="o", markersize=2.5, color=colour, label=f"FORGE {split}")
            ax.fill_between(summary.index, summary["mean"] - sd, summary["mean"] + sd, color=colour, alpha=0.25,
                            linewidth=0)
        for model in BASELINES:
            row = _comparison_row(comparison, model, output, "test")
            if row is not None:
                ax.update_datalim([(float(rows["n_components"].min()), float(row["pearson_mean"]))])
                ax.axhline(float(row["pearson_mean"]), color=style.MODEL_COLOURS[model],
                           linestyle=line_styles[model], linewidth=0.9, label=f"{style.MODEL_LABELS[model]} test")
        ax.autoscale_view()
        ax.set_xlabel("latent dimensions k")
        ax.set_ylabel(f"Pearson r, {output_label(output, short=True)}\n(mean ± sd over {n_seeds} seeds)")
        status[letter] = "drawn"
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside right center", handlelength=2.0)
    return fig, status
