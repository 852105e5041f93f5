"""Statistics of the validation stage, each returning one documented row.

A test that cannot be computed (too few samples in a group, a missing normal line, ...) returns a
row with ``status = "not computed"`` and the reason, never a crash or a silent NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
# heavy packages (scipy.stats, scipy.interpolate, statsmodels, scikit-learn) are imported in the functions that
# use them: a job importing this module for something else does not pay their start-up (tests/test_imports.py)

from forge.modelling.interpretation import mann_whitney_statistics

#: Columns of every test row.
TEST_COLUMNS = ["test", "grouping", "higher_group", "lower_group", "variable", "alternative", "expected",
                "n_higher", "n_lower", "median_higher", "median_lower", "statistic", "effect_size",
                "effect_name", "p_value", "status", "reason"]


def not_computed(reason: str, **fields) -> dict:
    """A test row that says why the test was not run."""
    row = {column: np.nan for column in TEST_COLUMNS}
    row.update(fields)
    row.update(status="not computed", reason=reason)
    return row


def mann_whitney_row(
    higher: pd.Series, lower: pd.Series, alternative: str, *, min_group: int = 3, **fields
) -> dict:
    """One-sided Mann–Whitney U of ``higher`` vs ``lower`` with the rank-biserial effect size.

    ``alternative`` is scipy's (``"greater"``: values of ``higher`` tend to be larger). The effect
    size 2U/(n₁n₂) − 1 is positive when ``higher``'s values are larger. Groups smaller than
    ``min_group`` (after dropping missing values) give a not-computed row.
    """
    a, b = higher.dropna().to_numpy(dtype=float), lower.dropna().to_numpy(dtype=float)
    base = dict(fields, alternative=alternative, n_higher=len(a), n_lower=len(b), effect_name="rank_biserial",
                test="mann_whitney_one_sided")
    if len(a) < min_group or len(b) < min_group:
        return not_computed(f"groups of {len(a)} and {len(b)} samples; at least {min_group} each are needed", **base)
    u, p, effect = mann_whitney_statistics(a, b, alternative)
    return dict(base, median_higher=float(np.median(a)), median_lower=float(np.median(b)),
                statistic=u, effect_size=effect, p_value=p, status="computed", reason="")


def extreme_groups(scheme: str) -> tuple[str, str]:
    """(highest, lowest) group labels of a grouping scheme."""
    return {"median": ("high", "low"), "tertile": ("T3", "T1"), "quartile": ("Q4", "Q1")}[scheme]


def contingency_tests(groups: pd.Series, classes: pd.Series, seed: int, *, n_resamples: int = 100_000,
                      min_group: int = 1, **fields) -> tuple[pd.DataFrame, list[dict]]:
    """Score group × class table, χ² test, Fisher's exact test (r × c) and Cramér's V.

    A score group with fewer than ``min_group`` samples gives not-computed rows.
    Fisher's test of an r × c table is scipy's Monte Carlo version with a seeded generator (an exact
    enumeration for 2 × 2); it is the one to read when expected counts are small (they are with
    ~25 PDX models), and the row says how many expected counts are below 5.
    """
    from scipy import stats
    from scipy.stats.contingency import association

    frame = pd.DataFrame({"group": groups, "class": classes}).dropna()
    table = pd.crosstab(frame["group"], frame["class"])
    base = dict(fields, n_higher=int(table.to_numpy().sum()), effect_name="cramers_v")
    if table.shape[0] < 2 or table.shape[1] < 2:
        reason = f"the table has {table.shape[0]} group(s) and {table.shape[1]} class(es); 2 of each are needed"
        return table, [not_computed(reason, test="chi_square", **base), not_computed(reason, test="fisher_exact", **base)]
    smallest = int(table.sum(axis=1).min())
    if smallest < min_group:
        reason = (f"score groups of {table.sum(axis=1).to_dict()} samples with a class; at least {min_group} each "
                  "are needed")
        return table, [not_computed(reason, test="chi_square", **base), not_computed(reason, test="fisher_exact", **base)]
    observed = table.to_numpy()
    chi2 = stats.chi2_contingency(observed, correction=False)
    cramers_v = float(association(observed, method="cramer", correction=False))
    small = int((chi2.expected_freq < 5).sum())
    note = f"{small} of {observed.size} expected counts below 5" if small else ""
    rows = [dict(base, test="chi_square", statistic=float(chi2.statistic), effect_size=cramers_v,
                 p_value=float(chi2.pvalue), status="computed", reason=note, alternative="two-sided")]
    if observed.shape == (2, 2):
        fisher = stats.fisher_exact(observed)
        fisher_note = "exact"
    else:
        method = stats.MonteCarloMethod(n_resamples=n_resamples, rng=np.random.default_rng(seed))
        fisher = stats.fisher_exact(observed, method=method)
        fisher_note = f"Monte Carlo, {n_resamples} tables, seed {seed}"
    # the Monte Carlo version returns 1-element arrays
    rows.append(dict(base, test="fisher_exact", statistic=float(np.ravel(fisher.statistic)[0]), effect_size=cramers_v,
                     p_value=float(np.ravel(fisher.pvalue)[0]), status="computed", reason=fisher_note,
                     alternative="two-sided"))
    return table, rows


def dose_trend(strength: pd.DataFrame) -> dict:
    """Page's trend test of response strength increasing with dose, cell lines as blocks.

    ``strength`` is cell lines × doses (columns in increasing dose). Lines missing a dose are left
    out. The effect size is the mean Spearman correlation of strength with dose within lines.
    """
    from scipy import stats

    complete = strength.dropna()
    base = dict(test="page_trend", variable="response_strength", alternative="increasing with dose",
                expected="higher at higher doses", n_higher=len(complete), effect_name="mean_within_line_spearman")
    if len(complete) < 2 or strength.shape[1] < 3:
        return not_computed(f"{len(complete)} lines with every dose and {strength.shape[1]} doses; "
                            "Page's test needs at least 2 lines and 3 doses", **base)
    result = stats.page_trend_test(complete.to_numpy())
    doses = np.arange(complete.shape[1])
    rho = [stats.spearmanr(doses, row).statistic for row in complete.to_numpy()]
    return dict(base, statistic=float(result.statistic), effect_size=float(np.nanmean(rho)),
                p_value=float(result.pvalue), status="computed", reason=result.method)


def score_composition(predicted_dependency: pd.Series, predicted_ic50: pd.Series) -> dict:
    """How much of the score D̂ − Î each half carries, and how close it is to −Î.

    The shares are Cov(D̂, S)/Var(S) and Cov(−Î, S)/Var(S) (they add up to 1); Spearman(S, −Î)
    near 1 means the score ranks samples as the negated IC50 prediction alone.
    """
    from scipy import stats

    d = predicted_dependency.to_numpy(dtype=float)
    i = predicted_ic50.to_numpy(dtype=float)
    s = d - i
    var = float(np.var(s, ddof=1))
    return {
        "sd_predicted_dependency": float(np.std(d, ddof=1)),
        "sd_predicted_ic50": float(np.std(i, ddof=1)),
        "dependency_share": float(np.cov(d, s)[0, 1] / var),
        "ic50_share": float(np.cov(-i, s)[0, 1] / var),
        "spearman_score_vs_minus_ic50": float(stats.spearmanr(s, -i).statistic),
    }
