"""Supplementary figures of the validation's robustness (docs/METHOD.md §5; paper Supp. Fig. 7c–d).

* ``supp_robustness``: for the cohort's main claims, every replicate's P under every validated k ×
  transfer recipe × score (``robustness.tsv``), the replicate-mean score's P, 0.05 and the paper's P.
* ``supp_weights``: the gene weights of the model genes the cohort lacks against those it has (one-sided
  test, Supp. Fig. 7c) and the weights of two validated k against each other with Pearson r (Supp. Fig. 7d),
  from ``gene_weights.tsv`` and ``weight_tests.tsv``.

Nothing is re-tested here: every P is the validation stage's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forge.figures import style
from forge.figures.fig_pairs import JITTER_SEED, NOTE_WIDTH
from forge.figures.fig_validation import SCORE_LABELS, primary_recipe_table
from forge.figures.inputs import has_columns
from forge.figures.registry import FigureSubject

SCORE_COLOURS = {"forge": "#c0392b", "forge_balanced": "#8e44ad", "ridge": "#7f8c8d"}
RECIPE_LABELS = {("training", "raw"): "training z, raw w", ("cohort", "standardised"): "cohort z, std. w (paper)",
                 ("cohort", "raw"): "cohort z, raw w", ("training", "standardised"): "training z, std. w"}
P_FLOOR = 1e-6


def claims(cohort: str, rows: pd.DataFrame) -> list[tuple[str, dict, str]]:
    """(panel title, row filter, x label) of the cohort's main claims, in panel order."""
    if cohort == "pdx":
        window = next((v for v in rows["variable"].astype(str).unique() if v.startswith("tv_change_days_")), None)
        return [("%TV change over the response window, high < low",
                 dict(test="mann_whitney_one_sided", grouping="median", variable=window), "one-sided MWU P"),
                ("BestAvgResponse, high < low", dict(test="mann_whitney_one_sided", grouping="median",
                                                     variable="BestAvgResponse"), "one-sided MWU P"),
                ("mRECIST class by score group", dict(test="chi_square", grouping="median", variable="mRECIST"),
                 "χ² P")]
    doses = sorted({g for g in rows["grouping"].astype(str).unique() if g.startswith("median_split_dose_")},
                   key=lambda g: float(g.removeprefix("median_split_dose_")))
    panels = []
    if doses:
        panels.append((f"response strength at the highest dose ({doses[-1].removeprefix('median_split_dose_')}), "
                       "high > low", dict(test="mann_whitney_one_sided", grouping=doses[-1],
                                          variable="response_strength"), "one-sided MWU P"))
    panels.append(("Benefit Score, cancer > normal lines", dict(test="mann_whitney_one_sided",
                                                               grouping="cancer_vs_normal"), "one-sided MWU P"))
    if len(doses) > 1:
        panels.append((f"response strength at the lowest dose ({doses[0].removeprefix('median_split_dose_')})",
                       dict(test="mann_whitney_one_sided", grouping=doses[0], variable="response_strength"),
                       "one-sided MWU P"))
    return panels


def _select(rows: pd.DataFrame, match: dict) -> pd.DataFrame:
    keep = pd.Series(True, index=rows.index)
    for column, value in match.items():
        keep &= rows[column].astype(str) == str(value)
    return rows[keep]


def _setting_label(row: pd.Series) -> str:
    recipe = RECIPE_LABELS.get((row["scaling"], row["weights"]), f"{row['scaling']}/{row['weights']}")
    if row["score"] == "ridge":
        return f"ridge baseline · {recipe}"
    return f"{SCORE_LABELS.get(row['score'], row['score'])} · k={int(float(row['k']))} · {recipe}"


def _p_panel(ax, rows: pd.DataFrame, title: str, xlabel: str, paper: float | None) -> str:
    rows = rows[rows["status"].astype(str) == "computed"].copy()
    if rows.empty:
        style.no_data(ax, "no computed test for this claim (robustness.tsv)", NOTE_WIDTH)
        return "not drawn: no computed test for this claim"
    rows["setting"] = rows.apply(_setting_label, axis=1)
    rows["k_sort"] = pd.to_numeric(rows["k"], errors="coerce").fillna(1e9)
    order = (rows.sort_values(["score", "k_sort", "scaling", "weights"], kind="mergesort")["setting"]
             .drop_duplicates().tolist())
    rng = np.random.default_rng(JITTER_SEED)
    for y, setting in enumerate(order):
        part = rows[rows["setting"] == setting]
        colour = SCORE_COLOURS.get(str(part["score"].iloc[0]), "black")
        replicates = part[part["model"].isin(["replicate", "ridge"])]
        p = np.clip(replicates["p_value"].astype(float).to_numpy(), P_FLOOR, 1)
        ax.scatter(p, y + style.jitter(rng, len(p), 0.18), s=8, color=colour, alpha=0.75, linewidths=0)
        mean = part[part["model"] == "replicate_mean"]
        if len(mean):
            ax.scatter(np.clip(mean["p_value"].astype(float), P_FLOOR, 1), [y], marker="D", s=16, facecolor="white",
                       edgecolor=colour, linewidths=0.9, zorder=3)
        below = float((replicates["p_value"].astype(float) < 0.05).mean())
        ax.text(1.01, y, f"{below:.0%} (n={len(replicates)})", va="center", fontsize=style.FONT_SIZE - 2.5,
                transform=ax.get_yaxis_transform())
    ax.set_xscale("log")
    ax.set_xlim(P_FLOOR * 0.5 if rows["p_value"].astype(float).min() < 1e-4 else 1e-4, 1.0)
    ax.axvline(0.05, color="black", lw=0.6, ls="--")
    if paper is not None and np.isfinite(paper):
        ax.axvline(paper, color="#e67e22", lw=1.0)
        ax.text(paper, len(order) - 0.4, f" paper P = {paper:.3g} (k = 30)", color="#e67e22",
                fontsize=style.FONT_SIZE - 2, va="bottom")
    ax.set_yticks(range(len(order)), order, fontsize=style.FONT_SIZE - 2)
    ax.set_ylim(-0.6, len(order) - 0.1)
    ax.invert_yaxis()
    ax.set_xlabel(f"{xlabel} (log scale; dashed: 0.05)")
    ax.set_title(style.wrap(f"{title}\ndots: replicates (seed 42 + b); ◇: replicate-mean score; right: share P < 0.05", 60),
                 fontsize=style.FONT_SIZE - 1.5, loc="left")
    return "drawn"


def _paper_p(summary: pd.DataFrame, cohort: str, pair: str, match: dict) -> float | None:
    if not has_columns(summary, "paper_p", "cohort", "pair"):
        return None
    rows = _select(summary[(summary["cohort"].astype(str) == cohort) & (summary["pair"].astype(str) == pair)],
                   {k: v for k, v in match.items() if k in summary.columns})
    values = rows["paper_p"].astype(float).dropna()
    return float(values.iloc[0]) if len(values) else None


def draw_supp_robustness(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``supp_robustness`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    cohort, pair = subject.cohort, subject.pair.name
    rows = tables.get("validation_robustness", pd.DataFrame())
    summary = tables.get("robustness_summary", pd.DataFrame())
    fig = style.new_figure(style.FULL_WIDTH, 7.8)
    axes = dict(zip("abc", fig.subplots(3, 1)))
    if not has_columns(rows, "score", "p_value", "model", "test", "grouping"):
        for ax in axes.values():
            style.no_data(ax, "no robustness rows (robustness.tsv empty)", NOTE_WIDTH)
        return fig, {k: "not drawn: robustness.tsv empty" for k in axes}
    status = {}
    panels = claims(cohort, rows)
    for letter, ax in axes.items():
        index = "abc".index(letter)
        if index >= len(panels):
            style.no_data(ax, "no further claim for this cohort", NOTE_WIDTH)
            status[letter] = "not drawn: no further claim for this cohort"
            continue
        title, match, xlabel = panels[index]
        style.panel_label(ax, letter)
        status[letter] = _p_panel(ax, _select(rows, match), title, xlabel, _paper_p(summary, cohort, pair, match))
    fig.suptitle(f"Robustness of the {cohort.upper() if cohort == 'pdx' else 'Tahoe-100M'} validation: "
                 f"{subject.title}", fontsize=style.FONT_SIZE + 1)
    return fig, status


def _missing_vs_present(ax, weights: pd.DataFrame, tests: pd.DataFrame, k: int) -> str:
    part = weights[weights["k"].astype(int) == k]
    present = part["present_in_cohort"].astype(str).str.lower().isin(("true", "1"))
    magnitude = part["weight_rep00"].astype(float).abs()
    groups = [("present", magnitude[present], "#2e86c1"), ("missing", magnitude[~present], "#c0392b")]
    rng = np.random.default_rng(JITTER_SEED)
    for x, (label, values, colour) in enumerate(groups):
        if len(values):
            ax.boxplot([values], positions=[x], widths=0.5, showfliers=False, medianprops={"color": "black"})
            ax.scatter(x + style.jitter(rng, len(values), 0.15), values, s=6, color=colour, alpha=0.7, linewidths=0)
    ax.set_xticks([0, 1], [f"{label} in cohort\n(n = {len(values)} genes)" for label, values, _ in groups])
    ax.set_ylabel(f"|Benefit-Score weight| of the gene (k = {k}, replicate 0)")
    test = (tests[(tests["test"].astype(str) == "mann_whitney_one_sided") & (tests["k_a"].astype(float) == k)]
            if has_columns(tests, "test", "k_a", "status") else pd.DataFrame())  # no tests written: say so
    if len(test) and str(test["status"].iloc[0]) == "computed":
        note = f"one-sided MWU, missing > present: {style.format_p(float(test['p_value'].iloc[0]))}"
    elif len(test):
        note = f"test not computed: {test['reason'].iloc[0]}"
    else:
        note = "test not in weight_tests.tsv"
    ax.set_title(style.wrap(f"weights of the model genes the cohort lacks vs has\n{note}", 48),
                 fontsize=style.FONT_SIZE - 1.5, loc="left")
    return "drawn"


def _k_vs_k(ax, weights: pd.DataFrame, tests: pd.DataFrame) -> str:
    ks = sorted(weights["k"].astype(int).unique())
    if len(ks) < 2:
        reason = f"one validated k ({ks[0] if ks else 'none'}); set validation.k to compare two"
        style.no_data(ax, reason, NOTE_WIDTH)
        return f"not drawn: {reason}"
    a, b = ks[0], ks[-1]
    left = weights[weights["k"].astype(int) == a].set_index("gene")
    right = weights[weights["k"].astype(int) == b].set_index("gene").reindex(left.index)
    present = left["present_in_cohort"].astype(str).str.lower().isin(("true", "1"))
    for mask, colour, label in ((present, "#2e86c1", "present in cohort"), (~present, "#c0392b", "missing")):
        ax.scatter(left.loc[mask, "weight_rep00"], right.loc[mask, "weight_rep00"], s=7, color=colour, alpha=0.75,
                   linewidths=0, label=f"{label} (n = {int(mask.sum())})")
    lims = np.nanmax(np.abs(np.r_[left["weight_rep00"], right["weight_rep00"]])) * 1.05
    ax.plot([-lims, lims], [-lims, lims], color="#bfc9ca", lw=0.6, zorder=0)
    ax.set_xlabel(f"Benefit-Score weight, k = {a} (replicate 0)")
    ax.set_ylabel(f"Benefit-Score weight, k = {b} (replicate 0)")
    test = (tests[(tests["test"].astype(str) == "pearson") & (tests["variable"].astype(str) == "weight_rep00")
                  & (tests["k_a"].astype(float) == a) & (tests["k_b"].astype(float) == b)]
            if has_columns(tests, "test", "variable", "k_a", "k_b") else pd.DataFrame())
    note = (f"Pearson r = {float(test['statistic'].iloc[0]):.2f}, {style.format_p(float(test['p_value'].iloc[0]))} "
            f"(n = {len(left)} genes; paper, k 30 vs 40: r = 0.74)" if len(test) else "Pearson r not in weight_tests.tsv")
    ax.set_title(style.wrap(f"gene weights of two validated k\n{note}", 52), fontsize=style.FONT_SIZE - 1.5, loc="left")
    ax.legend(fontsize=style.FONT_SIZE - 2, loc="upper left")
    return "drawn"


def draw_supp_weights(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``supp_weights`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    weights = primary_recipe_table(tables, "gene_weights")
    tests = primary_recipe_table(tables, "weight_tests")
    fig = style.new_figure(style.FULL_WIDTH, 3.2)
    axes = dict(zip("cd", fig.subplots(1, 2, width_ratios=[0.8, 1.2])))
    if not has_columns(weights, "gene", "k", "weight_rep00", "present_in_cohort"):
        for ax in axes.values():
            style.no_data(ax, "no gene weights (gene_weights.tsv empty)", NOTE_WIDTH)
        return fig, {k: "not drawn: gene_weights.tsv empty" for k in axes}
    for letter, ax in axes.items():
        style.panel_label(ax, letter)
    reported_k = int(weights["reported_k"].iloc[0]) if "reported_k" in weights else int(weights["k"].iloc[0])
    status = {"c": _missing_vs_present(axes["c"], weights, tests, reported_k), "d": _k_vs_k(axes["d"], weights, tests)}
    fig.suptitle(f"Gene weights: {subject.title}", fontsize=style.FONT_SIZE + 1)
    return fig, status
