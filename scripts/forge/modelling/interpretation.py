"""Interpretation of fitted pairs: effect concordance, top genes, Benefit Score groups and tests."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
# heavy packages (scipy.stats, scipy.interpolate, statsmodels, scikit-learn) are imported in the functions that
# use them: a job importing this module for something else does not pay their start-up (tests/test_imports.py)

from forge_core import output_effect
from forge.modelling.model import ForgeModel


def individual_effects(dependency_model: ForgeModel, ic50_model: ForgeModel) -> pd.DataFrame:
    """DependencyEffect and IC50Effect from the two individual models (same genes).

    ``W_D h_D / |h_D|`` and ``-W_I h_I / |h_I|``, the individual counterparts of
    :meth:`ForgeModel.gene_effects`.
    """
    if dependency_model.genes != ic50_model.genes:
        raise ValueError("individual models must share their genes")
    dependency_effect = output_effect(dependency_model.W, dependency_model.heads[:, 0])
    ic50_effect = -output_effect(ic50_model.W, ic50_model.heads[:, 0])
    return pd.DataFrame(
        {
            "DependencyEffect": dependency_effect,
            "IC50Effect": ic50_effect,
            "TotalInfluence": dependency_effect + ic50_effect,
        },
        index=pd.Index(dependency_model.genes, name="gene"),
    )


def effect_concordance(
    joint: Sequence[ForgeModel], dependency_only: Sequence[ForgeModel], ic50_only: Sequence[ForgeModel]
) -> pd.DataFrame:
    """Per replicate: Pearson r between DependencyEffect and IC50Effect, joint vs individual."""
    from scipy import stats

    rows = []
    for b, (j, d, i) in enumerate(zip(joint, dependency_only, ic50_only)):
        joint_effects = j.gene_effects()
        individual = individual_effects(d, i)
        rows.append(
            (
                b,
                j.metadata.get("seed"),
                float(stats.pearsonr(joint_effects["DependencyEffect"], joint_effects["IC50Effect"])[0]),
                float(stats.pearsonr(individual["DependencyEffect"], individual["IC50Effect"])[0]),
            )
        )
    return pd.DataFrame(rows, columns=["replicate", "seed", "joint_r", "individual_r"])


def paired_concordance_test(per_pair: pd.DataFrame) -> pd.DataFrame:
    """Across pairs: one-sided paired t-test that joint concordance exceeds individual.

    ``per_pair`` has one row per pair with ``joint_r`` and ``individual_r`` (e.g. means
    over replicates). Needs at least two pairs; otherwise the statistic is NaN.
    """
    from scipy import stats

    n = len(per_pair)
    if n >= 2:
        result = stats.ttest_rel(per_pair["joint_r"], per_pair["individual_r"], alternative="greater")
        statistic, p_value = float(result.statistic), float(result.pvalue)
    else:
        statistic = p_value = float("nan")
    return pd.DataFrame(
        [
            dict(
                n_pairs=n,
                mean_joint_r=float(per_pair["joint_r"].mean()),
                mean_individual_r=float(per_pair["individual_r"].mean()),
                t_statistic=statistic,
                p_value_one_sided=p_value,
                alternative="joint > individual",
            )
        ]
    )


def top_bottom_genes(effects: pd.DataFrame, n: int = 20, column: str = "TotalInfluence") -> pd.DataFrame:
    """The ``n`` genes with the highest and the ``n`` with the lowest ``column``."""
    ordered = effects.sort_values(column, ascending=False)
    top = ordered.head(n).assign(group="top", rank=np.arange(1, min(n, len(ordered)) + 1))
    bottom = ordered.tail(n).iloc[::-1].assign(group="bottom", rank=np.arange(1, min(n, len(ordered)) + 1))
    return pd.concat([top, bottom]).reset_index()


def group_labels(scores: pd.Series, scheme: str) -> pd.Series:
    """Group labels by score: ``median`` (low/high; ties at the median go low), ``tertile``
    (T1 lowest .. T3) or ``quartile`` (Q1 .. Q4), by rank so that ties cannot empty a group."""
    scores = scores.dropna()
    if scheme == "median":
        return pd.Series(np.where(scores > scores.median(), "high", "low"), index=scores.index, name="group")
    n_groups = {"tertile": 3, "quartile": 4}[scheme]
    prefix = "T" if scheme == "tertile" else "Q"
    labels = [f"{prefix}{i + 1}" for i in range(n_groups)]
    grouped = pd.qcut(scores.rank(method="first"), n_groups, labels=labels)
    return pd.Series(grouped.astype(str), index=scores.index, name="group")


def median_and_quartile_groups(scores: pd.Series) -> pd.DataFrame:
    """Median (high/low) and quartile (Q1 lowest .. Q4 highest) groups of Benefit Scores."""
    return pd.DataFrame({"median_group": group_labels(scores, "median"), "quartile": group_labels(scores, "quartile")})


def mann_whitney_statistics(higher: np.ndarray, lower: np.ndarray, alternative: str) -> tuple[float, float, float]:
    """U of ``higher`` vs ``lower``, one-sided P, and the rank-biserial effect size 2U/(n1 n2) - 1."""
    from scipy import stats

    result = stats.mannwhitneyu(higher, lower, alternative=alternative)
    effect = 2.0 * result.statistic / (len(higher) * len(lower)) - 1.0
    return float(result.statistic), float(result.pvalue), float(effect)


def group_tests(table: pd.DataFrame, dependency: str, ic50: str) -> pd.DataFrame:
    """One-sided Mann-Whitney tests between adjacent quartiles and between median groups.

    Expected direction in the higher-score group: dependency higher (``alternative =
    "greater"``), IC50 lower (``"less"``). The effect size is the rank-biserial
    correlation of the higher group against the lower one (positive = higher values in
    the higher-score group).
    """
    comparisons = [("quartile", "Q2", "Q1"), ("quartile", "Q3", "Q2"), ("quartile", "Q4", "Q3"),
                   ("median_group", "high", "low")]
    rows = []
    for column, higher_group, lower_group in comparisons:
        higher = table[table[column] == higher_group]
        lower = table[table[column] == lower_group]
        for output, alternative in ((dependency, "greater"), (ic50, "less")):
            a, b = higher[output].dropna().to_numpy(), lower[output].dropna().to_numpy()
            if len(a) == 0 or len(b) == 0:
                continue
            u, p, effect = mann_whitney_statistics(a, b, alternative)
            rows.append((column, higher_group, lower_group, output, alternative, len(a), len(b),
                         float(np.median(a)), float(np.median(b)), u, p, effect))
    return pd.DataFrame(
        rows,
        columns=["grouping", "higher_group", "lower_group", "output", "alternative", "n_higher", "n_lower",
                 "median_higher", "median_lower", "U", "p_value", "rank_biserial"],
    )


def who_benefits(scores: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """Every scored sample, best Benefit Score first, with cell-line name, lineage and replicate spread.

    ``scores`` is the pair's benefit_scores table, ``samples`` the cohort's samples table (ModelID,
    CellLineName, OncotreeLineage, OncotreePrimaryDisease). Ties keep ModelID order.
    """
    names = samples.set_index("ModelID")
    table = scores.sort_values(["benefit_score", "sample"], ascending=[False, True], kind="mergesort").copy()
    table.insert(0, "rank", range(1, len(table) + 1))
    for column in ("CellLineName", "OncotreePrimaryDisease"):
        if column in names.columns:
            table.insert(2, column, names[column].reindex(table["sample"]).to_numpy())
    keep = ["rank", "sample", "CellLineName", "OncotreePrimaryDisease", "lineage", "benefit_score",
            "benefit_score_replicate_mean", "benefit_score_replicate_sd", "split", "median_group", "quartile"]
    keep += [c for c in table.columns if c.startswith(("predicted_", "observed_"))]
    return table[[c for c in keep if c in table.columns]].reset_index(drop=True)
