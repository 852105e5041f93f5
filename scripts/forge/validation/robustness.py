"""How robust each validation claim is: the same tests for every validated k × replicate × recipe × score.

The paper reports one P per claim, from one model (k = 30, seed 42) under one transfer recipe. Here
every score-group test of the validation stage is repeated

* for every validated k (``validation.k`` plus the reported model's k) and every replicate b of it
  (seed 42 + b), and for the replicate-mean score;
* under every transfer recipe (``validation.recipes``: training or within-cohort scaling, raw or
  standardised weights, :mod:`forge.modelling.transfer`);
* for each score variant (the paper's Benefit Score, the balanced score; the ridge baseline's score,
  which has no k or replicate, once per recipe).

The result is a distribution of P per claim (:func:`summarise_robustness`), not additional claims: the
BH adjustment of the stage stays over the reported model's tests. Two checks go with it: how far the
model genes a cohort lacks could move the ranking (:func:`gene_dropout`, on the pair's own test cell
lines), and how the gene weights of the validated k compare and whether the missing genes carry larger
weights (:func:`gene_weight_tables`; paper Supp. Fig. 7c–d).
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np
import pandas as pd
# heavy packages (scipy.stats, scipy.interpolate, statsmodels, scikit-learn) are imported in the functions that
# use them: a job importing this module for something else does not pay their start-up (tests/test_imports.py)

from forge.io import InputFormatError
from forge.modelling.transfer import Recipe, benefit_score_of, platform_shift, transfer_score
from forge.validation import stats as vstats
from forge.validation.stats import TEST_COLUMNS, not_computed

log = logging.getLogger(__name__)

#: Score variants that depend on the model (k, replicate); the ridge score does not.
MODEL_VARIANTS = ("forge", "forge_balanced")
#: Columns in front of the test columns of a robustness row.
KEY_COLUMNS = ["target", "drug", "scaling", "weights", "k", "replicate", "model", "reported", "score"]
P_THRESHOLD = 0.05

#: P-values the preprint reports for a validation claim (the EGFR–erlotinib model, k = 30):
#: (cohort, target, drug, test, grouping, variable prefix) → P. Fig. 5f: day-15 %TV change, high vs
#: low Benefit Score, one-sided Mann–Whitney P = 1.36e-3 (medians −29.9 vs 158.3 %); Table 1: mRECIST
#: by score group, χ² P = 0.1 (Cramér's V 0.429).
PAPER_P_VALUES = {
    ("pdx", "EGFR", "ERLOTINIB", "mann_whitney_one_sided", "median", "tv_change_days_"): 1.36e-3,
    ("pdx", "EGFR", "ERLOTINIB", "chi_square", "median", "mRECIST"): 0.1,
}
#: k of the model behind the paper's P-values ("L30").
PAPER_K = 30

RunTests = Callable[[pd.DataFrame, tuple[str, ...]], pd.DataFrame]


def _rows(tests: pd.DataFrame, **keys) -> pd.DataFrame:
    tests = tests[tests["score"].astype(str) != "none"].copy()
    for column, value in keys.items():
        tests[column] = value
    return tests


def _failed(reason: str, variants: tuple[str, ...], **keys) -> pd.DataFrame:
    return pd.DataFrame([dict(not_computed(reason, test="all"), score=v, **keys) for v in variants])


def robustness_rows(models, expression: pd.DataFrame, recipes: list[Recipe], run_tests: RunTests,
                    max_missing_fraction: float) -> pd.DataFrame:
    """Every score-group test for every recipe × validated k × replicate (and replicate mean) × variant.

    ``run_tests(scores, variants)`` runs the cohort's tests on a score table (index = sample, one column
    per variant) and returns test rows (``score`` + :data:`TEST_COLUMNS`).
    """
    meta = models.reported.model.metadata
    base = dict(target=str(meta.get("target", "")), drug=str(meta.get("drug", "")))
    parts = []
    for recipe in recipes:
        keys = dict(base, scaling=recipe.scaling, weights=recipe.weights)
        for k, scorers in models.by_k.items():
            tables = []
            for b, scorer in enumerate(scorers):
                row_keys = dict(keys, k=k, replicate=b, model="replicate", reported=k == models.reported_k and b == 0)
                try:
                    table = scorer.score(expression, max_missing_fraction, recipe)[0]
                except InputFormatError as error:
                    parts.append(_failed(f"cohort not scored: {error}", MODEL_VARIANTS, **row_keys))
                    continue
                tables.append(table[list(MODEL_VARIANTS)])
                parts.append(_rows(run_tests(tables[-1], MODEL_VARIANTS), **row_keys))
            if tables:
                mean = sum(tables[1:], tables[0].copy()) / len(tables)
                parts.append(_rows(run_tests(mean, MODEL_VARIANTS),
                                   **dict(keys, k=k, replicate=np.nan, model="replicate_mean", reported=False)))
        ridge_keys = dict(keys, k=np.nan, replicate=np.nan, model="ridge", reported=False)
        try:
            table = models.reported.score(expression, max_missing_fraction, recipe)[0]
            parts.append(_rows(run_tests(table[["ridge"]], ("ridge",)), **ridge_keys))
        except InputFormatError as error:
            parts.append(_failed(f"cohort not scored: {error}", ("ridge",), **ridge_keys))
    table = pd.concat(parts, ignore_index=True)
    table["replicate"] = table["replicate"].astype("Int64")
    table["k"] = table["k"].astype("Int64")
    return table.reindex(columns=KEY_COLUMNS + TEST_COLUMNS)


def gene_dropout(models, cohort_genes: pd.Index, recipes: list[Recipe]) -> pd.DataFrame:
    """How far the model genes a cohort lacks could move the ranking, on the pair's own test cell lines.

    For every recipe × validated k × replicate: Spearman correlation between the Benefit Score of the
    pair's test lines computed with every model gene and computed without exactly the genes the cohort
    lacks (scored as the cohort is: those genes dropped).
    """
    from scipy import stats

    test = models.test_expression
    rows = []
    for recipe in recipes:
        for k, scorers in models.by_k.items():
            for b, scorer in enumerate(scorers):
                score = benefit_score_of(scorer.model)
                missing = [g for g in score.genes if g not in cohort_genes]
                row = dict(scaling=recipe.scaling, weights=recipe.weights, k=k, replicate=b, n_test_samples=len(test),
                           n_model_genes=len(score.genes), n_missing=len(missing))
                if not missing:
                    rows.append(dict(row, spearman_full_vs_without_missing=1.0, status="computed",
                                     reason="no model gene missing from the cohort"))
                    continue
                try:
                    full = transfer_score(score, test, recipe)[0]
                    reduced = transfer_score(score, test.drop(columns=missing, errors="ignore"), recipe, 1.0)[0]
                except InputFormatError as error:
                    rows.append(dict(row, spearman_full_vs_without_missing=np.nan, status="not computed",
                                     reason=str(error)))
                    continue
                rho = stats.spearmanr(full, reduced).statistic
                rows.append(dict(row, spearman_full_vs_without_missing=float(rho), status="computed", reason=""))
    return pd.DataFrame(rows)


def gene_weight_tables(models, cohort_genes: pd.Index, min_group: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gene weights of every validated k, and the tests on them.

    Returns
    -------
    weights : one row per gene × k: the reported replicate's Benefit-Score weight, its standardised
        value (mean 0, sd 1 over the model's genes), the replicates' mean and sd, and whether the cohort
        has the gene.
    tests : per k, one-sided Mann–Whitney of |weight| of the genes the cohort lacks against those it has
        (Supp. Fig. 7c: do the missing genes carry larger weights?); per pair of k, Pearson r of the
        reported replicates' weights and of the replicate means (Supp. Fig. 7d).
    """
    from scipy import stats

    frames, rows = [], []
    for k, scorers in models.by_k.items():
        stack = np.array([s.model.benefit_weights() for s in scorers])
        genes = list(scorers[0].model.genes)
        first = stack[0]
        present = np.array([g in cohort_genes for g in genes])
        frames.append(pd.DataFrame({
            "gene": genes, "k": k, "weight_rep00": first,
            "standardised_rep00": (first - first.mean()) / first.std(ddof=1),
            "weight_replicate_mean": stack.mean(axis=0),
            "weight_replicate_sd": stack.std(axis=0, ddof=1) if len(stack) > 1 else np.nan,
            "n_replicates": len(stack), "present_in_cohort": present, "reported_k": models.reported_k}))
        magnitude = pd.Series(np.abs(first), index=genes)
        rows.append(dict(vstats.mann_whitney_row(magnitude[~present], magnitude[present], "greater", min_group=min_group,
                                             grouping=f"k{k}", higher_group="missing from the cohort",
                                             lower_group="present in the cohort", variable="abs_weight_rep00",
                                             expected="missing genes carry larger |weight|"), k_a=k, k_b=np.nan))
    weights = pd.concat(frames, ignore_index=True)
    ks = list(models.by_k)
    for i, a in enumerate(ks):
        for b in ks[i + 1:]:
            left = weights[weights["k"] == a].set_index("gene")
            right = weights[weights["k"] == b].set_index("gene").reindex(left.index)
            for column in ("weight_rep00", "weight_replicate_mean"):
                result = stats.pearsonr(left[column], right[column])
                rows.append(dict(not_computed("", test="pearson"), grouping=f"k{a}_vs_k{b}", variable=column,
                                 alternative="two-sided", expected="weights of the two k agree", n_higher=len(left),
                                 statistic=float(result.statistic), effect_size=float(result.statistic),
                                 effect_name="pearson_r", p_value=float(result.pvalue), status="computed", reason="",
                                 k_a=a, k_b=b))
    tests = pd.DataFrame(rows)
    return weights, tests[["k_a", "k_b"] + TEST_COLUMNS]


def validate(models, expression: pd.DataFrame, recipes: list[Recipe], run_tests: RunTests,
             settings: dict) -> dict[str, pd.DataFrame]:
    """The robustness tables of one cohort and pair: robustness, gene_dropout, gene_weights, weight_tests."""
    mmf = settings["max_missing_fraction"]
    table = robustness_rows(models, expression, recipes, run_tests, mmf)
    n_models = sum(len(s) for s in models.by_k.values())
    log.info("robustness: %d test rows over %d recipes x %d models (k = %s) + replicate means + ridge", len(table),
             len(recipes), n_models, list(models.by_k))
    weights, weight_tests = gene_weight_tables(models, expression.columns, settings.get("min_group", 3))
    return dict(robustness=table, gene_dropout=gene_dropout(models, expression.columns, recipes),
                gene_weights=weights, weight_tests=weight_tests)


def shift_table(models, expression: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """The platform shift of the reported model's Benefit Score in this cohort (or why it is missing)."""
    try:
        return platform_shift(benefit_score_of(models.reported.model), expression, settings["max_missing_fraction"])
    except InputFormatError as error:
        log.warning("platform shift not computed: %s", error)
        return pd.DataFrame({"status": ["not computed"], "reason": [str(error)]})


# ---------------------------------------------------------------------------
# Summary across replicates
# ---------------------------------------------------------------------------
SUMMARY_KEYS = ["cohort", "pair", "target", "drug", "test", "grouping", "variable", "k", "scaling", "weights", "score"]


def paper_p_value(row: pd.Series) -> float:
    """The preprint's P for this claim (NaN where the paper gives none)."""
    for (cohort, target, drug, test, grouping, prefix), p in PAPER_P_VALUES.items():
        if (row["cohort"] == cohort and str(row["target"]).upper() == target and drug in str(row["drug"]).upper()
                and row["test"] == test and row["grouping"] == grouping and str(row["variable"]).startswith(prefix)):
            return p
    return np.nan


def summarise_robustness(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (cohort, pair, test, k, recipe, score): the distribution of P over replicates.

    ``n_replicates`` tests computed, median and interquartile range of P, the fraction with
    P < 0.05, the median effect size, the P of the replicate-mean score and of the reported replicate
    (replicate 0), and the paper's P where it gives one. Ridge rows (no k, no replicate) have one test.
    """
    if rows.empty:
        return pd.DataFrame(columns=SUMMARY_KEYS)
    rows = rows.copy()
    rows["k"] = rows["k"].astype("Int64").astype(str).replace("<NA>", "")
    out = []
    for key, group in rows.groupby(SUMMARY_KEYS, sort=False, dropna=False):
        replicates = group[group["model"].isin(["replicate", "ridge"])]
        computed = replicates[(replicates["status"] == "computed") & replicates["p_value"].notna()]
        p = computed["p_value"].astype(float)
        mean_row = group[group["model"] == "replicate_mean"]
        first = group[(group["model"] == "ridge") | (group["replicate"] == 0)]
        record = dict(zip(SUMMARY_KEYS, key))
        record.update(
            n_replicates=len(replicates), n_computed=len(computed),
            p_median=float(p.median()) if len(p) else np.nan,
            p_q25=float(p.quantile(0.25)) if len(p) else np.nan,
            p_q75=float(p.quantile(0.75)) if len(p) else np.nan,
            fraction_p_below_0_05=float((p < P_THRESHOLD).mean()) if len(p) else np.nan,
            effect_name=str(group["effect_name"].dropna().iloc[0]) if group["effect_name"].notna().any() else "",
            effect_median=float(computed["effect_size"].astype(float).median()) if len(computed) else np.nan,
            p_replicate_mean=float(mean_row["p_value"].iloc[0]) if len(mean_row) else np.nan,
            p_replicate_0=float(first["p_value"].iloc[0]) if len(first) else np.nan,
            reported_model=bool(group["reported"].any()),
        )
        record["paper_p"] = paper_p_value(pd.Series(record))
        record["paper_k"] = PAPER_K if np.isfinite(record["paper_p"]) else np.nan
        if not len(computed):
            reasons = replicates["reason"].dropna().astype(str)
            record["reason"] = reasons.iloc[0] if len(reasons) else ""
        else:
            record["reason"] = ""
        out.append(record)
    summary = pd.DataFrame(out)
    summary["claim"] = "robustness: a distribution over replicates, not an additional claim"
    return summary
