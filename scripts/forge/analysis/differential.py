"""Differential expression of cell lines with limma (lmFit + eBayes + topTable), as in the paper.

The paper ran limma on DepMap's normalised expression with the Benefit Score group (or the pooled
sensitive clusters) as the contrast and cancer type as a covariate. Here: design ``~ group +
lineage`` on the voom logCPM with its precision weights (the cohort's ``voom_weights``; a prepared
cohort without weights is fitted unweighted and the summary says so). Lineages with fewer than
``analysis.de.min_lineage_size`` samples (default 3) are pooled into one level "Other", as R users
do: a lineage of one or two lines costs a residual degree of freedom for an estimate of nothing
(on real data the t of low-signal genes moved up to 5-fold between the 27-level and the pooled
24-level design, issue 26); the pooled lineages are listed in ``de_summary.tsv``. The port is pylimma, which
matches R limma 3.54 to ~1e-12 (tests/fixtures/limma); its calls are wrapped here so that the
settings of R's defaults are explicit.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from unittest import mock

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: topTable columns, R names (pylimma's snake_case names are renamed to these).
TOPTABLE_COLUMNS = ["logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B"]
_PYLIMMA_NAMES = {"log_fc": "logFC", "ave_expr": "AveExpr", "t": "t", "p_value": "P.Value",
                  "adj_p_value": "adj.P.Val", "b": "B"}
GROUP_COEF = "group"
#: The covariate level of the pooled rare lineages.
POOLED_LEVEL = "Other"


@dataclass
class Design:
    """A limma design: the model matrix and what was done to build it.

    Attributes
    ----------
    matrix : DataFrame
        Samples × (Intercept, group, lineage dummies); ``group`` is 1 for the case group.
    covariate_levels : list of str
        Lineage levels kept as dummy columns (the reference level is the largest lineage).
    pooled_levels : dict of str to int
        Lineages with fewer samples than the minimum, pooled into :data:`POOLED_LEVEL`, with their sizes.
    notes : list of str
        Anything the design had to change (lineages dropped for rank), for the summary table.
    """

    matrix: pd.DataFrame
    covariate_levels: list[str] = field(default_factory=list)
    pooled_levels: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def pool_rare_levels(lineage: pd.Series, min_size: int) -> tuple[pd.Series, dict[str, int]]:
    """Levels with fewer than ``min_size`` samples renamed :data:`POOLED_LEVEL` (R users'
    ``ifelse(table(x)[x] < 3, "Other", x)``); returns the pooled series and the pooled levels with
    their sizes. A lineage already named "Other" is kept and joined by the pooled ones."""
    counts = lineage.value_counts()
    rare = {str(level): int(n) for level, n in sorted(counts.items()) if n < min_size and level != POOLED_LEVEL}
    return lineage.where(~lineage.isin(list(rare)), POOLED_LEVEL), rare


def group_design(case: pd.Series, lineage: pd.Series | None, min_lineage_size: int = 1) -> Design:
    """Model matrix ``~ group + lineage`` for a two-group contrast.

    Parameters
    ----------
    case
        Boolean per sample: True = case group (e.g. high score), False = reference group.
    lineage
        Lineage per sample (same index), or None for no covariate. Missing lineages form their own
        level "(missing)". Lineage columns that would make the group coefficient non-estimable, or
        the matrix rank-deficient, are dropped (largest-first order decides which stay) and listed
        in ``notes``.
    min_lineage_size
        Lineages with fewer samples (among those of ``case``) are pooled into one level
        :data:`POOLED_LEVEL` before the design is built (1 = no pooling).

    Raises
    ------
    ValueError
        When either group is empty.
    """
    case = case.astype(bool)
    n_case, n_reference = int(case.sum()), int((~case).sum())
    if n_case == 0 or n_reference == 0:
        raise ValueError(f"a DE contrast needs samples in both groups (case {n_case}, reference {n_reference})")
    matrix = pd.DataFrame({"(Intercept)": 1.0, GROUP_COEF: case.astype(float)}, index=case.index)
    design = Design(matrix)
    if lineage is None:
        return design
    lineage = lineage.reindex(case.index).fillna("(missing)").astype(str)
    lineage, design.pooled_levels = pool_rare_levels(lineage, min_lineage_size)
    if design.pooled_levels:
        log.info("%d lineages with fewer than %d samples pooled into %r: %s", len(design.pooled_levels),
                 min_lineage_size, POOLED_LEVEL, ", ".join(design.pooled_levels))
    counts = lineage.value_counts()
    levels = sorted(counts.index, key=lambda name: (-counts[name], name))
    reference, others = levels[0], levels[1:]
    kept = []
    for level in others:
        trial = pd.concat([matrix, pd.DataFrame({f"lineage[{level}]": (lineage == level).astype(float)})], axis=1)
        if np.linalg.matrix_rank(trial.to_numpy()) == trial.shape[1]:
            matrix = trial
            kept.append(level)
        else:
            design.notes.append(f"lineage {level!r} dropped from the design (collinear with the group)")
    design.matrix = matrix
    design.covariate_levels = [reference] + kept
    return design


def weighted_lm_series(M: np.ndarray, design: np.ndarray, weights: np.ndarray, chunk: int = 2048) -> dict:
    """Gene-wise weighted least squares, vectorised: what limma's ``lm.series`` returns.

    pylimma's weighted ``lm_series`` loops over genes with a full (n × n) QR each, ~20 ms a gene
    at n = 800 (minutes per contrast at DepMap size). For the case that matters here (every value
    finite, every weight positive, full-rank design) the same quantities come from the normal
    equations of each gene, batched: coefficients, ``stdev_unscaled`` = sqrt(diag((XᵀWX)⁻¹)),
    ``sigma`` = sqrt(RSS_w / (n − p)) and ``df_residual`` = n − p. Checked against R limma
    (tests/fixtures/limma) and against pylimma's own loop.
    """
    M = np.asarray(M, dtype=np.float64)
    X = np.asarray(design, dtype=np.float64)
    W = np.asarray(weights, dtype=np.float64)
    n_genes, n_samples = M.shape
    n_coefs = X.shape[1]
    coefficients = np.empty((n_genes, n_coefs))
    stdev_unscaled = np.empty((n_genes, n_coefs))
    sigma = np.empty(n_genes)
    for start in range(0, n_genes, chunk):
        w = W[start:start + chunk]  # (g, n)
        y = M[start:start + chunk]
        XtW = X.T[None, :, :] * w[:, None, :]  # (g, p, n)
        A = XtW @ X  # (g, p, p)
        b = np.einsum("gpn,gn->gp", XtW, y)
        beta = np.linalg.solve(A, b[..., None])[..., 0]
        inverse = np.linalg.inv(A)
        coefficients[start:start + chunk] = beta
        stdev_unscaled[start:start + chunk] = np.sqrt(np.einsum("gii->gi", inverse))
        residual = y - beta @ X.T
        sigma[start:start + chunk] = np.sqrt((w * residual**2).sum(axis=1) / (n_samples - n_coefs))
    # R: cov.coefficients from the unweighted design (chol2inv of its QR)
    cov_coefficients = np.linalg.inv(X.T @ X)
    return {
        "coefficients": coefficients,
        "stdev_unscaled": stdev_unscaled,
        "sigma": sigma,
        "df_residual": np.full(n_genes, float(n_samples - n_coefs)),
        "cov_coefficients": cov_coefficients,
        "pivot": np.arange(n_coefs),
        "rank": n_coefs,
    }


def ols_lm_series(M: np.ndarray, design: np.ndarray, chunk: int = 4096) -> dict:
    """Gene-wise ordinary least squares through the reduced QR of the design: what limma's
    ``lm.series`` returns without weights.

    pylimma's unweighted fast path multiplies the data by the complete n × n Q of the design
    (2 n² G flops: 7.6 s for 1,700 samples × 20,000 genes); the coefficients and the residual
    sd need only the n × p factor (2 n p G). For a full-rank design (the only case routed here)
    R's pivoted QR does not pivot, so the numbers are R's up to rounding; the residual sd comes
    from the residuals themselves. Checked against R limma (tests/fixtures/limma).
    """
    from scipy.linalg import solve_triangular

    M = np.asarray(M, dtype=np.float64)
    X = np.asarray(design, dtype=np.float64)
    n_genes, n_samples = M.shape
    n_coefs = X.shape[1]
    q, r = np.linalg.qr(X, mode="reduced")
    coefficients = np.empty((n_genes, n_coefs))
    sigma = np.empty(n_genes)
    for start in range(0, n_genes, chunk):
        y = M[start:start + chunk]  # (g, n)
        beta = solve_triangular(r, q.T @ y.T)  # (p, g)
        coefficients[start:start + chunk] = beta.T
        residual = y - beta.T @ X.T
        sigma[start:start + chunk] = np.sqrt((residual**2).sum(axis=1) / (n_samples - n_coefs))
    r_inverse = solve_triangular(r, np.eye(n_coefs))
    cov_coefficients = r_inverse @ r_inverse.T
    return {
        "coefficients": coefficients,
        "stdev_unscaled": np.broadcast_to(np.sqrt(np.diag(cov_coefficients)), (n_genes, n_coefs)).copy(),
        "sigma": sigma,
        "df_residual": np.full(n_genes, float(n_samples - n_coefs)),
        "cov_coefficients": cov_coefficients,
        "pivot": np.arange(n_coefs),
        "rank": n_coefs,
    }


@contextlib.contextmanager
def _fast_weighted_fits():
    """Route pylimma's ``lm_series`` to :func:`weighted_lm_series` (voom weights) or
    :func:`ols_lm_series` (no weights) when their conditions hold: every value finite, every
    weight positive, a full-rank design."""
    import pylimma.lmfit as lmfit

    original = lmfit.lm_series

    def lm_series(M, design, weights=None):
        M_arr, X = np.asarray(M, dtype=np.float64), np.asarray(design, dtype=np.float64)
        if not (np.isfinite(M_arr).all() and np.linalg.matrix_rank(X) == X.shape[1]):
            return original(M, design, weights=weights)
        if weights is None:
            return ols_lm_series(M_arr, X)
        if np.ndim(weights) == 2 and np.shape(weights) == M_arr.shape and (np.asarray(weights) > 0).all():
            return weighted_lm_series(M_arr, X, np.asarray(weights, dtype=np.float64))
        return original(M, design, weights=weights)

    with mock.patch.object(lmfit, "lm_series", lm_series):
        yield


def limma_top_table(
    expression: pd.DataFrame, design: Design, weights: pd.DataFrame | None = None
) -> pd.DataFrame:
    """lmFit + eBayes + topTable of the group coefficient for every gene (R's defaults).

    Parameters
    ----------
    expression
        Samples × genes (log scale), rows matching ``design.matrix``.
    design
        From :func:`group_design`.
    weights
        Optional precision weights of the same shape (voom).

    Returns
    -------
    DataFrame
        Indexed by gene in the input order: logFC, AveExpr, t, P.Value, adj.P.Val (BH), B.
    """
    from pylimma import e_bayes, lm_fit, top_table

    samples = design.matrix.index
    values = expression.loc[samples]
    if not np.isfinite(values.to_numpy()).all():
        raise ValueError("expression for DE contains NaN or infinite values")
    w = None
    if weights is not None:
        w = weights.loc[samples, values.columns].to_numpy(dtype=np.float64).T
    with _fast_weighted_fits():
        fit = lm_fit(values.T, design=design.matrix, weights=w)  # pylimma takes genes × samples, as R
    # R limma 3.54 defaults, spelt out: pylimma also has newer limma's `legacy` switch, which
    # equals the 3.54 method whenever residual df are equal across genes (always the case here).
    fit = e_bayes(fit, proportion=0.01, stdev_coef_lim=(0.1, 4.0), trend=False, robust=False)
    table = top_table(fit, coef=GROUP_COEF, number=np.inf, sort_by="none", adjust_method="BH")
    table = table.rename(columns=_PYLIMMA_NAMES)[TOPTABLE_COLUMNS]
    table.index = pd.Index(values.columns, name="gene")
    return table


def mark_significant(table: pd.DataFrame, log2fc: float = 1.0, adj_p: float = 0.05, top_n: int = 200) -> pd.DataFrame:
    """Add ``direction`` (up/down/none) and ``significant`` (|logFC| > log2fc and adj.P < adj_p),
    and ``top`` for the ``top_n`` significant genes with the largest |logFC| (paper: top 200 DEGs).
    """
    table = table.copy()
    significant = (table["logFC"].abs() > log2fc) & (table["adj.P.Val"] < adj_p)
    table["significant"] = significant
    table["direction"] = np.where(significant, np.where(table["logFC"] > 0, "up", "down"), "none")
    order = table.loc[significant, "logFC"].abs().sort_values(ascending=False, kind="mergesort")
    table["top"] = table.index.isin(order.index[:top_n])
    return table


@dataclass
class Contrast:
    """One DE contrast of a pair: which samples are the case and which the reference."""

    name: str
    case: pd.Series  # bool per analysed sample; samples not in the contrast are absent
    description: str


def run_contrast(
    contrast: Contrast, expression: pd.DataFrame, weights: pd.DataFrame | None, lineage: pd.Series | None,
    thresholds: dict,
) -> tuple[pd.DataFrame, dict]:
    """Fit one contrast; return the full table (every gene) and one summary row."""
    design = group_design(contrast.case, lineage, thresholds["min_lineage_size"])
    table = mark_significant(limma_top_table(expression, design, weights), thresholds["log2fc"],
                             thresholds["adj_p"], thresholds["top_n"])
    summary = {
        "contrast": contrast.name,
        "description": contrast.description,
        "n_case": int(contrast.case.sum()),
        "n_reference": int((~contrast.case).sum()),
        "n_genes": len(table),
        "design": " + ".join(["group"] + (["lineage"] if lineage is not None else [])),
        "lineage_levels": len(design.covariate_levels),
        "min_lineage_size": thresholds["min_lineage_size"] if lineage is not None else "",
        "pooled_lineages": "; ".join(f"{name} ({n})" for name, n in design.pooled_levels.items()),
        "weights": "voom" if weights is not None else "none",
        "n_up": int((table["direction"] == "up").sum()),
        "n_down": int((table["direction"] == "down").sum()),
        "notes": "; ".join(design.notes),
        "status": "fitted",
    }
    log.info("%s: %d vs %d samples, %d up, %d down", contrast.name, summary["n_case"], summary["n_reference"],
             summary["n_up"], summary["n_down"])
    return table.reset_index(), summary


def skipped_contrast(name: str, description: str, reason: str) -> tuple[pd.DataFrame, dict]:
    """An empty table and a summary row saying why the contrast was not fitted."""
    columns = ["gene"] + TOPTABLE_COLUMNS + ["significant", "direction", "top"]
    summary = {"contrast": name, "description": description, "n_case": 0, "n_reference": 0, "n_genes": 0,
               "design": "", "lineage_levels": 0, "min_lineage_size": "", "pooled_lineages": "", "weights": "", "n_up": 0, "n_down": 0, "notes": reason,
               "status": "skipped"}
    log.warning("%s not fitted: %s", name, reason)
    return pd.DataFrame(columns=columns), summary
