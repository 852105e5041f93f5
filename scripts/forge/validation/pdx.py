"""PDX validation of one pair (Gao et al. 2015; docs/METHOD.md §5; preprint Fig. 5f, Supplementary Fig. 7).

Every model of the processed arm (NSCLC, erlotinib) is scored from its voom logCPM with the
pair's model genes and training z-scoring. Tests, for every score variant:

* %TV change by score group (median split; tertiles and quartiles where every group has at least
  ``min_group`` models), highest vs lowest group, one-sided Mann–Whitney (high score → lower %TV
  change), with the rank-biserial effect size: the day 10–15 mean (paper Fig. 5f), each 5-day bin
  and BestAvgResponse;
* mRECIST class by median score group: contingency table, χ², Fisher's exact test, Cramér's V;
* robustness: the pseudo-count grid (mapped fragments × read length) re-scored; per setting the
  day 10–15 test and the Spearman correlation of its scores with the default setting's.
"""

from __future__ import annotations

import pandas as pd
# heavy packages (scipy.stats, scipy.interpolate, statsmodels, scikit-learn) are imported in the functions that
# use them: a job importing this module for something else does not pay their start-up (tests/test_imports.py)

from forge.modelling.interpretation import group_labels
from forge.modelling.transfer import TRAINING_RAW, Recipe
from forge.validation import stats as vstats
from forge.validation.scores import SCORE_VARIANTS, PairScorer

GROUPINGS = ("median", "tertile", "quartile")
WINDOW_COLUMN_PREFIX = "tv_change_days_"
BIN_COLUMN_PREFIX = "tv_change_bin_"


def response_variables(response: pd.DataFrame) -> list[str]:
    """Response columns tested: the window mean, each bin, BestAvgResponse (in that order)."""
    window = [c for c in response.columns if c.startswith(WINDOW_COLUMN_PREFIX)]
    bins = [c for c in response.columns if c.startswith(BIN_COLUMN_PREFIX)]
    return window + bins + (["BestAvgResponse"] if "BestAvgResponse" in response.columns else [])


def with_response(scores: pd.DataFrame, response: pd.DataFrame,
                  variants: tuple[str, ...] = SCORE_VARIANTS) -> pd.DataFrame:
    """Score table (index = Model) with each variant's median group and the response columns."""
    scores = scores.copy()
    scores.index.name = "Model"
    for variant in variants:
        scores[f"{variant}_group"] = group_labels(scores[variant], "median")
    return scores.join(response.set_index("Model"), how="left").reset_index()


def pdx_scores(scorer: PairScorer, expression: pd.DataFrame, response: pd.DataFrame,
               max_missing_fraction: float, recipe: Recipe = TRAINING_RAW) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores of every model with expression, its response columns and median groups."""
    scores, missing = scorer.score(expression, max_missing_fraction, recipe)
    return with_response(scores, response), missing


def pdx_tests(table: pd.DataFrame, min_group: int, seed: int, variants: tuple[str, ...] = SCORE_VARIANTS,
              n_resamples: int = 100_000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every %TV test and the mRECIST tests for every score variant; and the mRECIST tables.

    A median split whose smaller group has fewer than ``min_group`` models (counting models with an
    mRECIST class) gets not-computed contingency rows, never a χ² on groups of two.
    """
    indexed = table.set_index("Model")
    rows, contingency = [], []
    variables = response_variables(indexed)
    for variant in variants:
        for grouping in GROUPINGS:
            groups = group_labels(indexed[variant], grouping)
            high, low = vstats.extreme_groups(grouping)
            n_smallest = int(groups.value_counts().min())
            for variable in variables:
                fields = dict(score=variant, grouping=grouping, higher_group=high, lower_group=low, variable=variable,
                              expected="lower %TV change (or response) in the high-score group")
                if n_smallest < min_group:
                    rows.append(vstats.not_computed(
                        f"{grouping} groups of {len(indexed)} models: the smallest has {n_smallest}, "
                        f"fewer than {min_group}", test="mann_whitney_one_sided", **fields))
                    continue
                values = indexed[variable]
                rows.append(vstats.mann_whitney_row(values[groups == high], values[groups == low], "less",
                                                min_group=min_group, **fields))
        if "mRECIST" in indexed.columns:
            groups = group_labels(indexed[variant], "median")
            counts, tests = vstats.contingency_tests(
                groups, indexed["mRECIST"], seed, n_resamples=n_resamples, min_group=min_group, grouping="median",
                variable="mRECIST", expected="score group and mRECIST class associated")
            rows += [dict(t, score=variant) for t in tests]
            long = counts.stack().rename("n").reset_index().rename(columns={"class": "mRECIST"})
            long.insert(0, "score", variant)
            contingency.append(long)
    tests = pd.DataFrame(rows)[["score"] + vstats.TEST_COLUMNS]
    tables = pd.concat(contingency, ignore_index=True) if contingency else pd.DataFrame(
        columns=["score", "group", "mRECIST", "n"])
    return tests, tables


def sensitivity_scores(scorer: PairScorer, settings_expression: pd.DataFrame, response: pd.DataFrame,
                       max_missing_fraction: float, min_group: int, default: tuple[float, float],
                       recipe: Recipe = TRAINING_RAW) -> pd.DataFrame:
    """The pseudo-count grid re-scored: one row per (fragments, read length) setting.

    ``settings_expression`` has columns ``fragments``, ``read_length``, ``Model`` and one per gene
    (NaN where a setting's filter removed the gene).
    """
    from scipy import stats

    window = [c for c in response.columns if c.startswith(WINDOW_COLUMN_PREFIX)][0]
    outcome = response.set_index("Model")[window]
    rows, reference = [], None
    keys = settings_expression[["fragments", "read_length"]].drop_duplicates()
    keys = sorted(map(tuple, keys.to_numpy()), key=lambda k: (k != tuple(map(float, default)), k))
    for fragments, read_length in keys:
        part = settings_expression[(settings_expression["fragments"] == fragments)
                                   & (settings_expression["read_length"] == read_length)]
        expression = part.drop(columns=["fragments", "read_length"]).set_index("Model").dropna(axis=1, how="all")
        scores, missing = scorer.score(expression, max_missing_fraction, recipe)
        if reference is None:
            reference = scores["forge"]
        groups = group_labels(scores["forge"], "median")
        test = vstats.mann_whitney_row(outcome.reindex(groups.index)[groups == "high"],
                                   outcome.reindex(groups.index)[groups == "low"], "less", min_group=min_group)
        rows.append({"scaling": recipe.scaling, "weights": recipe.weights, "fragments": fragments,
                     "read_length": read_length,
                     "is_default": (fragments, read_length) == tuple(map(float, default)),
                     "n_models": len(scores), "n_missing_genes": len(missing),
                     "spearman_vs_default": float(stats.spearmanr(scores["forge"], reference.reindex(scores.index)).statistic),
                     "median_high": test["median_higher"], "median_low": test["median_lower"],
                     "p_value": test["p_value"], "rank_biserial": test["effect_size"], "status": test["status"],
                     "reason": test["reason"]})
    return pd.DataFrame(rows)
