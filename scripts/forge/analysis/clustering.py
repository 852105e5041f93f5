"""Latent clustering of a pair's embedding and the stated rule that picks the "sensitive" clusters.

Paper (methods): Ward hierarchical clustering on Euclidean distances of Z, clusters resolved with
``cutreeHybrid`` (dynamicTreeCut) with ``deepSplit = 4`` and ``minClusterSize = 13``; the top three
clusters with high Benefit Score and dependency and low IC50 were pooled as "sensitive". The paper
chose them by eye; :func:`select_sensitive_clusters` states the rule.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
# heavy packages (scipy.stats, scipy.interpolate, statsmodels, scikit-learn) are imported in the functions that
# use them: a job importing this module for something else does not pay their start-up (tests/test_imports.py)

from forge.modelling.interpretation import mann_whitney_statistics

#: Label of samples that the tree cut leaves unassigned (dynamicTreeCut's 0).
UNASSIGNED = 0


def _cutree_hybrid():
    """dynamicTreeCut's ``cutreeHybrid``, importable under numpy >= 2.4.

    dynamicTreeCut 0.1.1 calls ``np.in1d``, which numpy 2.4 removed; ``np.isin`` is its documented
    replacement with the same result for 1-D inputs, so it is aliased before the import.
    """
    if not hasattr(np, "in1d"):
        np.in1d = np.isin  # type: ignore[attr-defined]
    from dynamicTreeCut import cutreeHybrid

    return cutreeHybrid


def ward_linkage(Z: np.ndarray, distances: np.ndarray | None = None) -> np.ndarray:
    """SciPy Ward linkage on Euclidean distances (the same merges and heights as R's ``ward.D2``).

    ``distances``: the condensed Euclidean distances of ``Z`` when the caller has them already
    (``pdist(Z)``); SciPy computes exactly these from ``Z`` otherwise, so the tree is the same.
    """
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import pdist

    if distances is None:
        distances = pdist(np.asarray(Z, dtype=np.float64), metric="euclidean")
    return linkage(distances, method="ward")


def cut_tree_hybrid(
    Z: np.ndarray, deep_split: int = 4, min_cluster_size: int = 13, pam_stage: bool = True
) -> np.ndarray:
    """Cluster labels of ``Z`` (samples × dims): Ward tree cut by ``cutreeHybrid``.

    Labels are 1, 2, ... by decreasing cluster size as dynamicTreeCut numbers them (R's
    ``cutreeHybrid`` gives the same numbers); 0 marks unassigned samples (only with
    ``pam_stage=False``).
    """
    from scipy.spatial.distance import pdist

    Z = np.asarray(Z, dtype=np.float64)
    if Z.shape[0] < 2 * min_cluster_size:
        raise ValueError(
            f"{Z.shape[0]} samples cannot form clusters of at least {min_cluster_size} "
            "(analysis.clustering.min_cluster_size); at least twice that many are needed"
        )
    cutree = _cutree_hybrid()
    distances = pdist(Z)  # once: the tree and the cut's PAM stage both use them
    with contextlib.redirect_stdout(io.StringIO()):  # the port prints progress whatever verbose says
        result = cutree(ward_linkage(Z, distances), distances, deepSplit=deep_split,
                        minClusterSize=min_cluster_size, pamStage=pam_stage, verbose=0)
    return np.asarray(result["labels"], dtype=int)


#: (column of the sample table, alternative of the one-sided test inside vs rest, short name)
CLUSTER_TESTS = (
    ("benefit_score", "greater", "score"),
    ("observed_dependency", "greater", "dependency"),
    ("observed_ic50", "less", "ic50"),
)


def cluster_summary(samples: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Per cluster: size, lineage composition, medians and one-sided tests against the rest.

    Parameters
    ----------
    samples
        Indexed by sample, with ``benefit_score``, ``observed_dependency``, ``observed_ic50`` and
        ``lineage``.
    labels
        Cluster of each sample (same index).

    Returns
    -------
    DataFrame
        One row per cluster (unassigned samples, label 0, get a row but no tests): ``n``,
        ``n_dependency``, ``n_ic50``, ``lineages`` ("Lung:12; Skin:3", largest first),
        ``median_<score|dependency|ic50>``, ``p_<...>`` (one-sided Mann–Whitney, cluster vs all
        other samples: score and dependency higher, IC50 lower), ``rank_biserial_<...>`` and
        ``fdr_<...>`` (Benjamini–Hochberg over the clusters, per variable).
    """
    from statsmodels.stats.multitest import multipletests

    labels = labels.reindex(samples.index)
    rows = []
    for cluster in sorted(labels.unique()):
        inside = (labels == cluster).to_numpy()
        members = samples[inside]
        lineages = members["lineage"].fillna("(missing)").value_counts()
        lineages = lineages.sort_index().sort_values(ascending=False, kind="mergesort")  # ties by name
        row = {
            "cluster": int(cluster),
            "n": int(inside.sum()),
            "n_dependency": int(members["observed_dependency"].notna().sum()),
            "n_ic50": int(members["observed_ic50"].notna().sum()),
            "lineages": "; ".join(f"{name}:{count}" for name, count in lineages.items()),
        }
        for column, alternative, name in CLUSTER_TESTS:
            row[f"median_{name}"] = float(members[column].median()) if members[column].notna().any() else np.nan
            if cluster == UNASSIGNED:
                p, effect = np.nan, np.nan
            else:
                a = samples.loc[inside, column].dropna().to_numpy()
                b = samples.loc[~inside, column].dropna().to_numpy()
                p, effect = (mann_whitney_statistics(a, b, alternative)[1:] if len(a) and len(b) else (np.nan, np.nan))
            row[f"p_{name}"] = p
            row[f"rank_biserial_{name}"] = effect
        rows.append(row)
    table = pd.DataFrame(rows)
    for _, _, name in CLUSTER_TESTS:
        p = table[f"p_{name}"].to_numpy()
        fdr = np.full(len(p), np.nan)
        ok = np.isfinite(p)
        if ok.any():
            fdr[ok] = multipletests(p[ok], method="fdr_bh")[1]
        table[f"fdr_{name}"] = fdr
    return table


def lineage_composition(samples: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Long table: cluster, lineage, n, fraction of the cluster, fraction of the lineage."""
    frame = pd.DataFrame(
        {"cluster": labels.reindex(samples.index).astype(int), "lineage": samples["lineage"].fillna("(missing)")}
    )
    counts = frame.value_counts(["cluster", "lineage"]).rename("n").reset_index()
    counts["fraction_of_cluster"] = counts["n"] / counts.groupby("cluster")["n"].transform("sum")
    counts["fraction_of_lineage"] = counts["n"] / counts.groupby("lineage")["n"].transform("sum")
    return counts.sort_values(["cluster", "n", "lineage"], ascending=[True, False, True]).reset_index(drop=True)


@dataclass
class SensitiveChoice:
    """Result of :func:`select_sensitive_clusters`.

    Attributes
    ----------
    clusters : list of int
        The chosen clusters, best first.
    table : DataFrame
        Every cluster with its rank by median Benefit Score, whether it qualifies, and why.
    """

    clusters: list[int]
    table: pd.DataFrame


def select_sensitive_clusters(
    summary: pd.DataFrame, samples: pd.DataFrame, max_clusters: int = 3, require_tests: bool = False,
    alpha: float = 0.05,
) -> SensitiveChoice:
    """The stated rule for "sensitive" clusters (the paper chose three by eye).

    Clusters are ranked by median Benefit Score (highest first). A cluster qualifies when its
    median dependency is above, and its median IC50 below, the medians of all analysed samples
    (and, with ``require_tests``, when its one-sided score, dependency and IC50 tests all have
    FDR < ``alpha``). The first ``max_clusters`` qualifying clusters are chosen; unassigned
    samples (label 0) never are. Fewer, or none, may qualify: the table says why for each.
    """
    cohort_dependency = float(samples["observed_dependency"].median())
    cohort_ic50 = float(samples["observed_ic50"].median())
    table = summary[summary["cluster"] != UNASSIGNED].sort_values(
        ["median_score", "cluster"], ascending=[False, True]
    ).reset_index(drop=True)
    table.insert(1, "score_rank", np.arange(1, len(table) + 1))
    chosen: list[int] = []
    qualifies, reasons = [], []
    for row in table.itertuples(index=False):
        why = []
        if not row.median_dependency > cohort_dependency:
            why.append(f"median dependency {row.median_dependency:.3g} not above cohort median {cohort_dependency:.3g}")
        if not row.median_ic50 < cohort_ic50:
            why.append(f"median IC50 {row.median_ic50:.3g} not below cohort median {cohort_ic50:.3g}")
        if require_tests:
            for name in ("score", "dependency", "ic50"):
                fdr = getattr(row, f"fdr_{name}")
                if not fdr < alpha:
                    why.append(f"{name} test FDR {fdr:.3g} not below {alpha}")
        ok = not why
        qualifies.append(ok)
        if ok and len(chosen) < max_clusters:
            chosen.append(int(row.cluster))
            reasons.append(f"chosen: rank {row.score_rank} by median Benefit Score, dependency above and IC50 below the cohort medians")
        elif ok:
            reasons.append(f"qualifies but {max_clusters} better-ranked clusters were already chosen")
        else:
            reasons.append("; ".join(why))
    table["qualifies"] = qualifies
    table["sensitive"] = table["cluster"].isin(chosen)
    table["reason"] = reasons
    table["cohort_median_dependency"] = cohort_dependency
    table["cohort_median_ic50"] = cohort_ic50
    columns = ["cluster", "score_rank", "n", "median_score", "median_dependency", "median_ic50",
               "qualifies", "sensitive", "reason", "cohort_median_dependency", "cohort_median_ic50"]
    return SensitiveChoice(chosen, table[columns])
