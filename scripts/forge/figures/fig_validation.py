"""Figures of the external validation (paper Fig. 5 and the PDX pseudo-count supplement).

Each figure reads only the tables of its own cohort (Tahoe-100M or the Gao 2015 PDX arm). Every claim
shows the test the validation stage computed (``tests.tsv``), its n per group and P (and the
Benjamini–Hochberg P over all validation tests from ``summary.tsv``); nothing is re-tested here.
"""

from __future__ import annotations

import matplotlib
import matplotlib.colors as mcolors
import matplotlib.transforms as mtransforms
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from forge.figures import style
from forge.figures.fig_pairs import JITTER_SEED, NOTE_WIDTH, stacked_labels
from forge.figures.inputs import as_bool, has_columns
from forge.figures.registry import FigureSubject

#: The Benefit Scores the validation stage tests: the paper's, the balanced variant, the ridge baseline.
SCORE_LABELS = {"forge": "FORGE", "forge_balanced": "balanced", "ridge": "ridge"}
MRECIST_ORDER = ("CR", "PR", "SD", "PD")
#: Genes named per direction in the volcano.
N_VOLCANO_LABELS = 3


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def primary_recipe_table(tables: dict, key: str) -> pd.DataFrame:
    """A table of the figure, restricted to the reported model's rows under the primary recipe.

    The validation stage writes scores and tests for every transfer recipe (``validation.recipes``,
    columns ``scaling`` and ``weights``; the first listed is the primary one) and appends robustness
    rows to ``summary.tsv`` (``claim``); Fig. 5 shows the primary recipe's claims.
    """
    frame = tables.get(key)
    if not isinstance(frame, pd.DataFrame):
        return pd.DataFrame()
    if "claim" in frame.columns:
        frame = frame[frame["claim"].astype(str) == "reported model"]
    if len(frame) and {"scaling", "weights"} <= set(frame.columns):
        first = frame.iloc[0]
        frame = frame[(frame["scaling"] == first["scaling"]) & (frame["weights"] == first["weights"])]
    return frame.reset_index(drop=True)


def window_column(scores: pd.DataFrame) -> str | None:
    """The main %TV response column (``tv_change_days_<bounds>``), None if absent."""
    return next((c for c in scores.columns if c.startswith("tv_change_days_")), None)


def interval_text(column: str) -> str:
    """'(10, 15]' from a response column's bounds (``gt10_le15``); the column itself otherwise."""
    from forge.external.intervals import parse_interval_label

    label = column.removeprefix("tv_change_days_").removeprefix("tv_change_bin_")
    try:
        return parse_interval_label(label)[2]
    except ValueError:
        return label


def not_scored(tests: pd.DataFrame) -> str | None:
    """The reason the cohort has no results, or None when it was scored."""
    if tests.empty or "status" not in tests.columns:
        return "no validation tests (tests.tsv empty: the validation step was skipped)"
    if "test" in tests.columns:
        failed = tests[(tests["test"].astype(str) == "all") & (tests["status"].astype(str) == "not computed")]
        if len(failed):
            reason = failed["reason"].iloc[0] if "reason" in failed.columns else ""
            return str(reason) if pd.notna(reason) and str(reason) else "cohort not scored"
    return None


def test_row(tests: pd.DataFrame, score: str = "forge", **match) -> pd.Series | None:
    """The one row of ``tests`` with this score and these column values (None if absent)."""
    if tests.empty or "score" not in tests.columns:
        return None
    keep = tests["score"].astype(str) == score
    for column, value in match.items():
        if column not in tests.columns:
            return None
        keep &= tests[column].astype(str) == str(value)
    rows = tests[keep]
    return rows.iloc[0] if len(rows) else None


def p_text(row: pd.Series | None, prefix: str = "") -> str:
    """'P = 0.012', the not-computed reason, or 'not in tests.tsv'."""
    if row is None:
        return f"{prefix}test not in tests.tsv"
    if str(row.get("status", "computed")) != "computed":
        reason = row.get("reason", "")
        return f"{prefix}not computed" + (f" ({reason})" if pd.notna(reason) and str(reason) else "")
    return prefix + style.format_p(float(row["p_value"]))


def bh_text(summary: pd.DataFrame, cohort: str, pair: str, row: pd.Series | None) -> str:
    """', BH-adj. P = …' for the summary row matching ``row`` (empty when not found)."""
    if row is None or not has_columns(summary, "cohort", "pair", "score", "test", "p_adjusted_bh"):
        return ""
    keep = (summary["cohort"].astype(str) == cohort) & (summary["pair"].astype(str) == pair)
    for column in ("score", "test", "grouping", "variable"):
        if column in summary.columns and column in row.index:
            value = row[column]
            keep &= (summary[column].astype(str) == str(value)) if pd.notna(value) else summary[column].isna()
    rows = summary[keep]
    if not len(rows) or not np.isfinite(float(rows["p_adjusted_bh"].iloc[0])):
        return ""
    return ", BH-adj. " + style.format_p(float(rows["p_adjusted_bh"].iloc[0]))


def _box(ax, values, position: float, colour: str, width: float = 0.3) -> None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return
    box = ax.boxplot([values], positions=[position], widths=width, showfliers=False, patch_artist=True,
                     medianprops=dict(color="black", lw=0.9), whiskerprops=dict(lw=0.6), capprops=dict(lw=0.6),
                     boxprops=dict(lw=0.6), manage_ticks=False)
    box["boxes"][0].set_facecolor(mcolors.to_rgba(colour, 0.25))
    box["boxes"][0].set_edgecolor(colour)


def _headroom(ax, fraction: float = 0.3) -> None:
    """Extend the y axis upward so that text at the top of the axes sits above the data."""
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + fraction * (high - low))


def _all_no_data(axes: dict, reason: str) -> dict[str, str]:
    for letter, ax in axes.items():
        style.panel_label(ax, letter)
        style.no_data(ax, reason, NOTE_WIDTH)
    return {letter: f"not drawn: {reason}" for letter in axes}


# --------------------------------------------------------------------------------------------------
# Fig. 5 (Tahoe): a score distribution, c volcano, d response strength
# --------------------------------------------------------------------------------------------------
def _tahoe_scores(ax, scores: pd.DataFrame, tests: pd.DataFrame, summary: pd.DataFrame, cohort: str,
                  pair: str) -> str:
    if not has_columns(scores, "forge", "is_normal"):
        reason = "no Tahoe scores (scores.tsv empty)"
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    normal = as_bool(scores["is_normal"])
    values = scores["forge"].astype(float)
    cancer, normals = values[~normal].dropna(), values[normal].dropna()
    rng = np.random.default_rng(JITTER_SEED)
    _box(ax, cancer, 0, style.GROUP_COLOURS["high"], width=0.45)
    ax.scatter(style.jitter(rng, len(cancer), 0.12), cancer, s=9, color=style.GROUP_COLOURS["high"], linewidths=0.3,
               edgecolors="white", zorder=3)
    if len(normals):
        ax.scatter(np.ones(len(normals)), normals, s=26, marker="D", color=style.NORMAL_COLOUR, edgecolors="black",
                   linewidths=0.4, zorder=3)
        names = scores.loc[normal, "cell_name"] if "cell_name" in scores else scores.loc[normal, "cell_line"]
        for y, label in zip(normals, names.astype(str)):
            ax.annotate(label, (1, y), xytext=(7, 0), textcoords="offset points", va="center",
                        fontsize=style.FONT_SIZE - 1.5, color=style.NORMAL_COLOUR)
        if len(normals) > 1:
            ax.hlines(normals.median(), 0.8, 1.2, color="black", lw=0.9)
    ax.set_xticks([0, 1], [f"cancer\n(n = {len(cancer)})", f"normal\n(n = {len(normals)})"])
    ax.set_xlim(-0.5, 1.8)
    ax.set_ylabel("Benefit Score (a.u.), DMSO baseline")
    row = test_row(tests, "forge", grouping="cancer_vs_normal")
    lines = ["one-sided MWU, cancer > normal"]
    if row is not None and str(row.get("status")) == "computed":
        lines.append(f"medians {row['median_higher']:.2f} vs {row['median_lower']:.2f}")
    lines.append(p_text(row, "FORGE ") + bh_text(summary, cohort, pair, row))
    others = [p_text(test_row(tests, s, grouping="cancer_vs_normal"), f"{SCORE_LABELS[s]} ")
              for s in ("forge_balanced", "ridge")]
    lines += others
    ax.set_title(style.wrap("\n".join(lines), 44), fontsize=style.FONT_SIZE - 1.5, loc="left")
    return "drawn"


def _volcano(ax, de: pd.DataFrame) -> str:
    if not has_columns(de, "log2FoldChange", "pvalue"):
        reason = "no DESeq2 result (de.tsv empty: too few lines per score group, or the step was skipped)"
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    de = de.dropna(subset=["log2FoldChange", "pvalue"]).copy()
    de["y"] = -np.log10(de["pvalue"].clip(lower=1e-300))
    direction = de["direction"].astype(str) if "direction" in de else pd.Series("none", index=de.index)
    if "direction" not in de and "significant" in de:
        significant = as_bool(de["significant"])
        direction = np.where(significant & (de["log2FoldChange"] > 0), "up",
                             np.where(significant, "down", "none"))
        direction = pd.Series(direction, index=de.index)
    colours = {"up": style.GROUP_COLOURS["high"], "down": style.GROUP_COLOURS["low"], "none": "#bfc9ca"}
    counts = direction.value_counts()
    for kind in ("none", "down", "up"):
        part = de[direction == kind]
        label = {"none": "n.s.", "up": "up in high score", "down": "down in high score"}[kind]
        ax.scatter(part["log2FoldChange"], part["y"], s=4 if kind == "none" else 7, color=colours[kind],
                   linewidths=0, alpha=0.6 if kind == "none" else 0.9, label=label, rasterized=len(part) > 5000)
    ax.axvline(0, color="#bfc9ca", lw=0.5, zorder=0)
    _headroom(ax, 0.35)
    for kind, corner in (("up", "upper right"), ("down", "upper left")):
        part = de[direction == kind]
        if "padj" in part:
            part = part.sort_values(["padj", "pvalue"])
        else:
            part = part.sort_values("pvalue")
        part = part.head(N_VOLCANO_LABELS)
        stacked_labels(ax, part["log2FoldChange"], part["y"], list(part["gene"].astype(str)) if "gene" in part
                       else [""] * len(part), corner, colours[kind], step=0.06)
    ax.set_xlabel("log2 fold change, high vs low Benefit Score")
    ax.set_ylabel("−log10 P (DESeq2 Wald test)")
    ax.set_title(f"DESeq2 (poscounts) on DMSO pseudo-bulk, {len(de)} genes\n"
                 f"significant: {counts.get('up', 0)} up, {counts.get('down', 0)} down",
                 fontsize=style.FONT_SIZE - 1.5, loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3, fontsize=style.FONT_SIZE - 2,
              handletextpad=0.05, columnspacing=0.6, markerscale=1.5)
    return "drawn"


def _short_p(row: pd.Series | None) -> str:
    """A P value for a crowded panel: '0.04', '2e-04', 'n/c' (not computed), 'n/a' (no row)."""
    if row is None:
        return "n/a"
    if str(row.get("status", "computed")) != "computed" or not np.isfinite(float(row["p_value"])):
        return "n/c"
    p = float(row["p_value"])
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.0e}"


def _dose_row(tests: pd.DataFrame, score: str, dose: float) -> pd.Series | None:
    """The median-split test of one dose (the grouping is ``median_split_dose_<dose>``, e.g. 0.05, 5)."""
    labels = [f"{dose:g}", f"{dose}", f"{dose:.1f}"] + ([str(int(dose))] if float(dose).is_integer() else [])
    labels = dict.fromkeys(labels)
    for label in labels:
        row = test_row(tests, score, grouping=f"median_split_dose_{label}")
        if row is not None:
            return row
    return None


def _response_strength(ax, strength: pd.DataFrame, tests: pd.DataFrame, summary: pd.DataFrame, cohort: str,
                       pair: str, cohort_drug: str) -> str:
    if not has_columns(strength, "dose", "response_strength", "forge_group"):
        reason = "no response strength (response_strength.tsv empty)"
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    strength = strength.dropna(subset=["dose", "response_strength"])
    doses = sorted(strength["dose"].astype(float).unique())
    unit = str(strength["unit"].dropna().iloc[0]) if "unit" in strength and strength["unit"].notna().any() else ""
    unit = {"uM": "µM", "um": "µM", "nM": "nM"}.get(unit, unit)
    rng = np.random.default_rng(JITTER_SEED)
    normal = as_bool(strength["is_normal"]) if "is_normal" in strength else pd.Series(False, index=strength.index)
    n_lines = {}
    for i, dose in enumerate(doses):
        at_dose = strength[strength["dose"].astype(float) == dose]
        for group, dx in (("high", -0.2), ("low", 0.2)):
            part = at_dose[at_dose["forge_group"].astype(str) == group]
            n_group = part["cell_line"].nunique() if "cell_line" in part else len(part)
            n_lines[group] = max(n_lines.get(group, 0), n_group)
            _box(ax, part["response_strength"], i + dx, style.GROUP_COLOURS[group], width=0.32)
            is_normal = normal.reindex(part.index).to_numpy()
            ax.scatter(i + dx + style.jitter(rng, int((~is_normal).sum()), 0.07), part.loc[~is_normal, "response_strength"],
                       s=6, color=style.GROUP_COLOURS[group], linewidths=0, zorder=3)
            if is_normal.any():
                ax.scatter(np.full(int(is_normal.sum()), i + dx), part.loc[is_normal, "response_strength"], s=18,
                           marker="D", color=style.NORMAL_COLOUR, edgecolors="black", linewidths=0.4, zorder=4)
    _headroom(ax, 0.4)
    transform = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    for i, dose in enumerate(doses):
        lines = []
        for score in SCORE_LABELS:
            row = _dose_row(tests, score, dose)
            lines.append(f"{SCORE_LABELS[score] if score != 'forge_balanced' else 'bal.'} {_short_p(row)}")
            if score == "forge":
                bh = bh_text(summary, cohort, pair, row)
                if bh:
                    lines.append(f"(BH {float(bh.rsplit('= ', 1)[1]):.2g})")
        ax.text(i, 0.98, "\n".join(lines), transform=transform, ha="center", va="top", fontsize=style.FONT_SIZE - 2.5)
    ax.set_xticks(range(len(doses)), [f"{d:g} {unit}".strip() for d in doses])
    ax.set_xlim(-0.6, len(doses) - 0.4)
    ax.set_xlabel(f"{cohort_drug.lower() or 'drug'} dose")
    ax.set_ylabel("response strength (‖treated − DMSO‖, a.u.)")
    handles = [Patch(facecolor=mcolors.to_rgba(style.GROUP_COLOURS[g], 0.25), edgecolor=style.GROUP_COLOURS[g],
                     label=f"{g} score ({n_lines.get(g, 0)} lines)") for g in ("high", "low")]
    if normal.any():
        handles.append(Line2D([], [], ls="", marker="D", color=style.NORMAL_COLOUR, markeredgecolor="black",
                              markeredgewidth=0.4, label="normal line"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3,
              fontsize=style.FONT_SIZE - 2, handletextpad=0.3, columnspacing=0.6, handlelength=1.2)
    ax.set_title("one-sided MWU P per dose, high > low score\n(each score split at its median)",
                 fontsize=style.FONT_SIZE - 1.5, loc="left")
    return "drawn"


def draw_fig5_tahoe(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``fig5_tahoe`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    cohort, pair = subject.cohort, subject.pair.name
    fig = style.new_figure(style.FULL_WIDTH, 3.2)
    axes = dict(zip("acd", fig.subplots(1, 3, width_ratios=[0.8, 1.1, 1.2])))
    tests = primary_recipe_table(tables, "validation_tests")
    reason = not_scored(tests)
    if reason:
        status = _all_no_data(axes, reason)
    else:
        summary = primary_recipe_table(tables, "validation_summary")
        for letter, ax in axes.items():
            style.panel_label(ax, letter)
        status = {
            "a": _tahoe_scores(axes["a"], primary_recipe_table(tables, "validation_scores"), tests, summary, cohort, pair),
            "c": _volcano(axes["c"], primary_recipe_table(tables, "tahoe_de")),
            "d": _response_strength(axes["d"], primary_recipe_table(tables, "tahoe_strength"), tests, summary, cohort, pair,
                                    subject.cohort_drug),
        }
    fig.suptitle(f"Tahoe-100M: {subject.title}", fontsize=style.FONT_SIZE + 1)
    return fig, status


# --------------------------------------------------------------------------------------------------
# Fig. 5 (PDX): f %TV change day 10-15, g 5-day bins, h mRECIST
# --------------------------------------------------------------------------------------------------
def _bins(scores: pd.DataFrame) -> list[tuple[str, float, float]]:
    from forge.external.intervals import parse_interval_label

    bins = []
    for column in scores.columns:
        if column.startswith("tv_change_bin_"):
            try:
                start, end, _ = parse_interval_label(column.removeprefix("tv_change_bin_"))
            except ValueError:
                continue
            bins.append((column, start, end))
    return sorted(bins, key=lambda b: b[1])


def _tv_change(ax, scores: pd.DataFrame, tests: pd.DataFrame, summary: pd.DataFrame, cohort: str, pair: str) -> str:
    window = window_column(scores)
    if window is None or not has_columns(scores, "forge_group", window):
        reason = "no PDX scores with %TV change (scores.tsv empty)"
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    rng = np.random.default_rng(JITTER_SEED)
    ticks = []
    for i, group in enumerate(("high", "low")):
        values = scores.loc[scores["forge_group"].astype(str) == group, window].astype(float).dropna()
        _box(ax, values, i, style.GROUP_COLOURS[group], width=0.5)
        ax.scatter(i + style.jitter(rng, len(values), 0.13), values, s=9, color=style.GROUP_COLOURS[group],
                   linewidths=0.3, edgecolors="white", zorder=3)
        ticks.append(f"{group} score\n(n = {len(values)})")
    ax.axhline(0, color="#bfc9ca", lw=0.5, zorder=0)
    ax.set_xticks([0, 1], ticks)
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylabel(f"%TV change, mean over days {interval_text(window)} (%)")
    row = test_row(tests, "forge", grouping="median", variable=window, test="mann_whitney_one_sided")
    lines = ["one-sided MWU, high < low (median split)"]
    if row is not None and str(row.get("status")) == "computed":
        lines.append(f"medians {row['median_higher']:.1f} vs {row['median_lower']:.1f}%")
    lines.append(p_text(row, "FORGE ") + bh_text(summary, cohort, pair, row))
    others = [p_text(test_row(tests, s, grouping="median", variable=window,
                              test="mann_whitney_one_sided"), f"{SCORE_LABELS[s]} ")
              for s in ("forge_balanced", "ridge")]
    lines.append("; ".join(others))
    ax.set_title(style.wrap("\n".join(lines), 44), fontsize=style.FONT_SIZE - 1.5, loc="left")
    return "drawn"


def _tv_bins(ax, scores: pd.DataFrame, tests: pd.DataFrame) -> str:
    bins = _bins(scores) if has_columns(scores, "forge_group") else []
    if not bins:
        reason = "no 5-day %TV bins in scores.tsv"
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    centres = np.array([(start + end) / 2 for _, start, end in bins])
    drawn = False
    for group, dx in (("high", -0.4), ("low", 0.4)):
        part = scores[scores["forge_group"].astype(str) == group]
        stats = []
        for column, _, _ in bins:
            values = part[column].astype(float).dropna()
            stats.append((values.median(), values.quantile(0.25), values.quantile(0.75), len(values))
                         if len(values) else (np.nan, np.nan, np.nan, 0))
        median, q1, q3, n = (np.array(x, dtype=float) for x in zip(*stats))
        keep = n > 0
        if not keep.any():
            continue
        drawn = True
        colour = style.GROUP_COLOURS[group]
        ax.errorbar(centres[keep] + dx, median[keep], yerr=[median[keep] - q1[keep], q3[keep] - median[keep]],
                    color=colour, marker="o", ms=3, lw=1.0, elinewidth=0.6, capsize=1.5,
                    label=f"{group} score (n ≤ {int(n.max())})")
    if not drawn:
        reason = "no %TV values in the 5-day bins"
        ax.cla()
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    ax.axhline(0, color="#bfc9ca", lw=0.5, zorder=0)
    _headroom(ax, 0.3)
    transform = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    for (column, _, _), x in zip(bins, centres):
        row = test_row(tests, "forge", grouping="median", variable=column, test="mann_whitney_one_sided")
        if row is None:
            text = "n/a"
        elif str(row.get("status")) != "computed":
            text = f"n/c\n{int(row['n_higher']) if pd.notna(row['n_higher']) else 0}/" \
                   f"{int(row['n_lower']) if pd.notna(row['n_lower']) else 0}"
        else:
            text = f"{float(row['p_value']):.1g}\n{int(row['n_higher'])}/{int(row['n_lower'])}"
        ax.text(x, 0.98, text, transform=transform, ha="center", va="top", fontsize=style.FONT_SIZE - 2.5)
    ax.set_xticks(centres, [interval_text(column) for column, _, _ in bins])
    ax.set_xlabel("days after treatment start (5-day bins)")
    ax.set_ylabel("%TV change (%), median ± IQR")
    ax.set_title("per bin: one-sided MWU P (high < low), n high/low", fontsize=style.FONT_SIZE - 1.5, loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, fontsize=style.FONT_SIZE - 2)
    return "drawn"


def _mrecist(ax, mrecist: pd.DataFrame, tests: pd.DataFrame, summary: pd.DataFrame, cohort: str, pair: str) -> str:
    if not has_columns(mrecist, "score", "group", "mRECIST", "n"):
        reason = "no mRECIST counts (mrecist.tsv empty)"
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    counts = mrecist[mrecist["score"].astype(str) == "forge"].pivot_table(index="group", columns="mRECIST",
                                                                           values="n", aggfunc="sum", fill_value=0)
    if counts.empty:
        reason = "no mRECIST counts for the FORGE score"
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    groups = [g for g in ("high", "low") if g in counts.index] + [g for g in counts.index if g not in ("high", "low")]
    classes = [c for c in MRECIST_ORDER if c in counts.columns] + [c for c in counts.columns if c not in MRECIST_ORDER]
    cmap = matplotlib.colormaps[style.DIVERGING]
    colours = {c: cmap(v) for c, v in zip(MRECIST_ORDER, (0.08, 0.3, 0.55, 0.9))}
    bottom = np.zeros(len(groups))
    for cls in classes:
        heights = counts.reindex(groups)[cls].to_numpy(float)
        bars = ax.bar(range(len(groups)), heights, bottom=bottom, width=0.6, color=colours.get(cls, "#bfc9ca"),
                      edgecolor="white", linewidth=0.5, label=f"m{cls}")
        for bar, h, b in zip(bars, heights, bottom):
            if h > 0:
                ax.text(bar.get_x() + bar.get_width() / 2, b + h / 2, f"{int(h)}", ha="center", va="center",
                        fontsize=style.FONT_SIZE - 1.5, color="white" if cls in ("CR", "PD") else "black")
        bottom += heights
    totals = counts.reindex(groups).sum(axis=1).astype(int)
    ax.set_xticks(range(len(groups)), [f"{g} score\n(n = {totals[g]})" for g in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4 + 0.9)
    ax.set_ylabel("PDX models (n)")
    ax.legend(loc="center right", fontsize=style.FONT_SIZE - 1.5, title="mRECIST", title_fontsize=style.FONT_SIZE - 1.5,
              handlelength=1.0, reverse=True)
    chi = test_row(tests, "forge", test="chi_square", variable="mRECIST")
    fisher = test_row(tests, "forge", test="fisher_exact", variable="mRECIST")
    lines = []
    if chi is not None and str(chi.get("status")) == "computed":
        lines.append(f"χ² = {float(chi['statistic']):.1f}, " + p_text(chi) + bh_text(summary, cohort, pair, chi))
        if pd.notna(chi.get("effect_size")):
            lines.append(f"Cramér's V = {float(chi['effect_size']):.2f}")
        if pd.notna(chi.get("reason")) and str(chi.get("reason")):
            lines.append(f"({chi['reason']})")
    else:
        lines.append(p_text(chi, "χ²: "))
    lines.append(p_text(fisher, "Fisher (Monte Carlo) "))
    ax.set_title(style.wrap("\n".join(lines), 44), fontsize=style.FONT_SIZE - 1.5, loc="left")
    return "drawn"


def draw_fig5_pdx(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``fig5_pdx`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    cohort, pair = subject.cohort, subject.pair.name
    fig = style.new_figure(style.FULL_WIDTH, 3.2)
    axes = dict(zip("fgh", fig.subplots(1, 3, width_ratios=[0.85, 1.3, 0.95])))
    tests = primary_recipe_table(tables, "validation_tests")
    reason = not_scored(tests)
    if reason:
        status = _all_no_data(axes, reason)
    else:
        summary = primary_recipe_table(tables, "validation_summary")
        scores = primary_recipe_table(tables, "validation_scores")
        for letter, ax in axes.items():
            style.panel_label(ax, letter)
        status = {
            "f": _tv_change(axes["f"], scores, tests, summary, cohort, pair),
            "g": _tv_bins(axes["g"], scores, tests),
            "h": _mrecist(axes["h"], primary_recipe_table(tables, "pdx_mrecist"), tests, summary, cohort, pair),
        }
    fig.suptitle(f"PDX (Gao 2015): {subject.title}", fontsize=style.FONT_SIZE + 1)
    return fig, status


# --------------------------------------------------------------------------------------------------
# Supplementary: PDX pseudo-count sensitivity
# --------------------------------------------------------------------------------------------------
def _grid(ax, fig, grid: pd.DataFrame, column: str, label: str, cmap: str, transform, annotate, norm=None) -> None:
    fragments = sorted(grid["fragments"].astype(float).unique())
    lengths = sorted(grid["read_length"].astype(float).unique())
    values = np.full((len(fragments), len(lengths)), np.nan)
    for _, row in grid.iterrows():
        i, j = fragments.index(float(row["fragments"])), lengths.index(float(row["read_length"]))
        if str(row.get("status", "computed")) == "computed" and pd.notna(row[column]):
            values[i, j] = transform(float(row[column]))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto", norm=norm, interpolation="nearest")
    ax.set_facecolor("#eaeded")
    for _, row in grid.iterrows():
        i, j = fragments.index(float(row["fragments"])), lengths.index(float(row["read_length"]))
        computed = str(row.get("status", "computed")) == "computed" and pd.notna(row[column])
        text = annotate(row) if computed else "not computed"
        value = values[i, j]
        dark = computed and np.isfinite(value) and image.norm(value) < 0.45
        ax.text(j, i, text, ha="center", va="center", fontsize=style.FONT_SIZE - 2,
                color="white" if dark else "black")
        if as_bool(pd.Series([row.get("is_default", False)])).iloc[0]:
            ax.add_patch(Rectangle((j - 0.48, i - 0.48), 0.96, 0.96, fill=False, edgecolor="black", lw=1.4))
    settings = set(zip(grid["fragments"].astype(float), grid["read_length"].astype(float)))
    for i in range(len(fragments)):
        for j in range(len(lengths)):
            if (fragments[i], lengths[j]) not in settings:
                ax.text(j, i, "not in grid", ha="center", va="center", fontsize=style.FONT_SIZE - 2.5, color="#7f8c8d")
    ax.set_xticks(range(len(lengths)), [f"{x:g}" for x in lengths])
    ax.set_yticks(range(len(fragments)), [f"{x / 1e6:g} M" for x in fragments])
    ax.set_xlabel("read length (bp)")
    ax.set_ylabel("mapped fragments N")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(image, ax=ax, shrink=0.85, pad=0.03)
    bar.set_label(label, fontsize=style.FONT_SIZE - 1)
    bar.ax.tick_params(labelsize=style.FONT_SIZE - 2)


def draw_supp_pdx(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``supp_pdx`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    fig = style.new_figure(style.FULL_WIDTH, 2.6)
    axes = dict(zip("ab", fig.subplots(1, 2)))
    reason = not_scored(primary_recipe_table(tables, "validation_tests"))
    grid = primary_recipe_table(tables, "pdx_sensitivity")
    if reason is None and not has_columns(grid, "fragments", "read_length", "spearman_vs_default", "p_value"):
        reason = "no pseudo-count grid (sensitivity.tsv empty)"
    if reason:
        status = _all_no_data(axes, reason)
    else:
        for letter, ax in axes.items():
            style.panel_label(ax, letter)
        grid = grid.dropna(subset=["fragments", "read_length"])
        spearman = grid["spearman_vs_default"].astype(float)
        low = float(np.nanmin(spearman)) if spearman.notna().any() else 0.0
        p_values = grid["p_value"].astype(float)
        top = float(np.nanmax(-np.log10(p_values.clip(lower=1e-300)))) if p_values.notna().any() else 0.0
        default = grid[as_bool(grid["is_default"])] if "is_default" in grid else grid.iloc[:0]
        framed = (f"; framed: default ({float(default['fragments'].iloc[0]) / 1e6:g} M, "
                  f"{float(default['read_length'].iloc[0]):g} bp)" if len(default) else "")
        _grid(axes["a"], fig, grid, "spearman_vs_default", "Spearman ρ vs default", style.SEQUENTIAL,
              lambda v: v, lambda row: f"{float(row['spearman_vs_default']):.3f}",
              norm=mcolors.Normalize(min(low, 0.9), 1.0))
        n_models = f" (n = {int(grid['n_models'].max())} models)" if "n_models" in grid else ""
        axes["a"].set_title(f"Benefit Score agreement with the default{n_models}\nSpearman ρ{framed}",
                            fontsize=style.FONT_SIZE - 1, loc="left")
        _grid(axes["b"], fig, grid, "p_value", "−log10 P (days 10–15, one-sided MWU)", style.SEQUENTIAL,
              lambda v: -np.log10(max(v, 1e-300)),
              lambda row: f"P = {float(row['p_value']):.2g}\n{float(row['median_high']):.0f} vs "
                          f"{float(row['median_low']):.0f}%" if {"median_high", "median_low"} <= set(row.index)
              else f"P = {float(row['p_value']):.2g}",
              norm=mcolors.Normalize(0.0, max(3.0, top)))
        axes["b"].set_title("%TV change days 10–15, high < low score\nP and median %TV high vs low",
                            fontsize=style.FONT_SIZE - 1, loc="left")
        status = {"a": "drawn", "b": "drawn"}
    fig.suptitle(f"PDX pseudo-count sensitivity: {subject.title}", fontsize=style.FONT_SIZE + 1)
    return fig, status
