"""Expression normalisation: voom logCPM and z-scoring against an explicit reference set."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
# heavy packages (scipy.stats, scipy.interpolate, statsmodels, scikit-learn) are imported in the functions that
# use them: a job importing this module for something else does not pay their start-up (tests/test_imports.py)

from forge.io import InputFormatError, read_text_lines

__all__ = [
    "filter_genes",
    "filter_low_expression",
    "fit_scaling",
    "looks_like_counts",
    "voom_intercept_arrays",
    "voom_logcpm",
    "zero_sd_genes",
    "zscore",
]

log = logging.getLogger(__name__)


# Elements (genes × samples) per block of the chunked voom: ~16 MB of float64 per temporary.
_VOOM_BLOCK_ELEMENTS = 2**21


def voom_logcpm(
    counts: pd.DataFrame, library_size: pd.Series | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """limma-voom log2-CPM and precision weights with an intercept-only design.

    Library size is the sum of each sample's counts; no further normalisation (no TMM).
    Matches R ``limma::voom(counts, design = NULL)``.

    Parameters
    ----------
    counts
        Raw counts, samples × genes (rows = samples), non-negative and finite.
    library_size
        Optional per-sample library sizes indexed like ``counts`` (e.g. column sums taken
        before a gene filter, as ``voom(counts[keep, ], lib.size = colSums(counts))`` in R);
        default: the sums of ``counts``.

    Returns
    -------
    expression
        log2-CPM, samples × genes, same labels as ``counts``.
    weights
        voom precision weights, samples × genes.

    Notes
    -----
    Computed by :func:`voom_intercept_arrays` gene block by gene block (memory: the two
    outputs plus a few blocks, instead of a dozen full-size temporaries); the result agrees
    with pylimma's ``voom(counts.T, design=None, lib_size=..., adaptive_span=False)`` to
    rounding (~1e-13 relative). Both outputs are views of genes × samples C-ordered arrays,
    so each gene's column is contiguous.
    """
    values = counts.to_numpy(dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 2 or values.shape[1] < 2:
        raise ValueError(f"voom needs at least 2 samples and 2 genes; got {counts.shape} (samples × genes)")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("voom needs finite, non-negative counts")
    if library_size is None:
        library_size = values.sum(axis=1)
    else:
        library_size = library_size.reindex(counts.index).to_numpy(dtype=np.float64)
        if np.isnan(library_size).any():
            raise ValueError("library_size lacks some samples of counts")
    empty = counts.index[library_size <= 0]
    if len(empty):
        raise ValueError(f"samples with zero total counts cannot be voom-normalised: {list(empty)[:10]}")
    expression, weights = voom_intercept_arrays(values, library_size)
    # genes × samples C-order → samples × genes views: pandas keeps them as its block, no copy
    return (
        pd.DataFrame(expression.T, index=counts.index, columns=counts.columns, copy=False),
        pd.DataFrame(weights.T, index=counts.index, columns=counts.columns, copy=False),
    )


def voom_intercept_arrays(
    counts: np.ndarray, library_size: np.ndarray, span: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """limma voom with an intercept-only design on a samples × genes array, block by block.

    The special case of pylimma's / R limma's ``voom`` that the workflow uses: design
    ``NULL`` (intercept only), no prior weights, no offsets, ``normalize.method = "none"``,
    fixed lowess ``span`` (R's ``adaptive.span = FALSE``, its default; pylimma defaults to
    ``adaptive_span=True``, which changes the span and gives weights ~20% off R's while E is
    unaffected, which hides the difference). The steps and their floating-point operations follow pylimma's
    ``voom`` (see ``pylimma/voom.py``), with genes processed in blocks:

    1. per block: ``y = log2((counts + 0.5) / (lib.size + 1) * 1e6)``, its per-gene mean
       (``Amean``, which for an intercept-only design is also the fitted coefficient) and
       residual sd ``sigma = sqrt(sum((y - mean)^2) / (n - 1))`` (pylimma takes the same sd
       from the QR effects; the two agree to rounding);
    2. over all genes: ``sx = Amean + mean(log2(lib.size + 1)) - log2(1e6)``,
       ``sy = sqrt(sigma)``; all-zero genes are left out of the trend; statsmodels ``lowess``
       (``frac=span, it=3, delta=0.01 * range(sx)``) and a linear ``interp1d`` that extends
       the end values, exactly as pylimma calls them;
    3. per block (genes in order of Amean): ``fitted.count = 1e-6 * 2^Amean * (lib.size + 1)``,
       ``weights = 1 / trend(log2(fitted.count))^4``.

    With fewer than 2 samples (no residual degrees of freedom) the weights are 1, with
    pylimma's warning. Input validation is the caller's (:func:`voom_logcpm`).

    Parameters
    ----------
    counts
        Samples × genes, float64, finite and non-negative (any memory layout; a gene's column
        contiguous, as in a pandas float block, is fastest).
    library_size
        Per-sample library sizes, positive.
    span
        Lowess span of the mean-variance trend.

    Returns
    -------
    expression, weights
        log2-CPM and precision weights, genes × samples, C-ordered float64.
    """
    from scipy import interpolate
    from statsmodels.nonparametric.smoothers_lowess import lowess as sm_lowess

    n_samples, n_genes = counts.shape
    library_size = np.asarray(library_size, dtype=np.float64)
    lib_plus_one = library_size + 1  # pylimma: lib_size_matrix + 1, the same value in every row
    block = max(1, _VOOM_BLOCK_ELEMENTS // max(n_samples, 1))
    expression = np.empty((n_genes, n_samples), dtype=np.float64)
    amean = np.empty(n_genes, dtype=np.float64)
    sigma = np.empty(n_genes, dtype=np.float64)
    all_zero = np.empty(n_genes, dtype=bool)
    df_residual = n_samples - 1
    for start in range(0, n_genes, block):
        stop = min(n_genes, start + block)
        raw = counts[:, start:stop].T  # genes × samples view
        all_zero[start:stop] = np.sum(raw, axis=1) == 0
        y = expression[start:stop]
        # y = log2((counts + 0.5) / (lib.size.matrix + 1) * 1e6), in place in the output
        np.add(raw, 0.5, out=y)
        np.divide(y, lib_plus_one, out=y)
        np.multiply(y, 1e6, out=y)
        np.log2(y, out=y)
        mean = np.sum(y, axis=1) / n_samples  # nanmean: y is finite
        amean[start:stop] = mean
        if df_residual > 0:
            centred = y - mean[:, None]
            np.square(centred, out=centred)
            sigma[start:stop] = np.sqrt(np.sum(centred, axis=1) / df_residual)
            del centred

    if df_residual < 1:  # every gene lacks replication (pylimma: n_with_reps == 0)
        warnings.warn("The experimental design has no replication. Setting weights to 1.", stacklevel=2)
        return expression, np.ones_like(expression)

    # Mean-variance trend over all genes (not all-zero), as pylimma.
    sx = amean + np.mean(np.log2(library_size + 1)) - np.log2(1e6)
    sy = np.sqrt(sigma)
    if np.any(all_zero):
        sx_fit = sx[~all_zero]
        sy_fit = sy[~all_zero]
    else:
        sx_fit = sx
        sy_fit = sy
    x_range = sx_fit.max() - sx_fit.min()
    lowess_result = sm_lowess(sy_fit, sx_fit, frac=span, it=3, delta=0.01 * x_range, return_sorted=True)
    x_sorted = lowess_result[:, 0]
    y_sorted = lowess_result[:, 1]
    trend = interpolate.interp1d(
        x_sorted,
        y_sorted,
        kind="linear",
        bounds_error=False,
        fill_value=(y_sorted[0], y_sorted[-1]),
    )
    del sx, sy, sx_fit, sy_fit, lowess_result

    # fitted.values = Amean (intercept-only); fitted.cpm = 2^fitted.values;
    # fitted.count = 1e-6 * fitted.cpm * (lib.size.matrix + 1); w = 1 / f(log2(fitted.count))^4
    # Genes are taken in order of Amean and laid out sample by sample, so that within a
    # sample the trend is evaluated at increasing x: np.interp (under interp1d) then finds
    # each interval next to the previous one instead of by a full binary search (~5× faster;
    # the values are the same, elementwise).
    scaled_cpm = 1e-6 * 2**amean
    order = np.argsort(amean, kind="stable")
    weights = np.empty((n_genes, n_samples), dtype=np.float64)
    for start in range(0, n_genes, block):
        genes = order[start : start + block]
        w = np.multiply(scaled_cpm[genes], lib_plus_one[:, None])  # samples × block
        np.log2(w, out=w)
        fitted = trend(w)
        del w
        np.power(fitted, 4, out=fitted)
        np.divide(1, fitted, out=fitted)
        weights[genes] = fitted.T
        del fitted
    return expression, weights


def filter_low_expression(
    counts: pd.DataFrame, min_count: float = 0, min_samples: int = 1
) -> tuple[pd.DataFrame, list[str]]:
    """Drop genes without at least ``min_count`` reads in at least ``min_samples`` samples.

    With the default ``min_count=0`` every gene is kept (filter off).

    Parameters
    ----------
    counts
        Raw counts, samples × genes.
    min_count
        Minimum raw count; 0 disables the filter.
    min_samples
        Number of samples that must reach ``min_count``.

    Returns
    -------
    counts
        Filtered matrix.
    dropped_genes
        Genes removed, in column order.
    """
    if min_count <= 0:
        return counts, []
    keep = (counts.to_numpy() >= min_count).sum(axis=0) >= min_samples
    return counts.loc[:, keep], [str(g) for g in counts.columns[~keep]]


def filter_genes(matrix: pd.DataFrame, universe: Iterable[str]) -> tuple[pd.DataFrame, list[str]]:
    """Keep only the columns of ``matrix`` that are in ``universe`` (column order preserved).

    Parameters
    ----------
    matrix
        Samples × genes.
    universe
        Allowed gene symbols.

    Returns
    -------
    matrix
        Filtered matrix.
    dropped_genes
        Columns not in the universe, in column order.
    """
    allowed = set(universe)
    keep = np.array([str(g) in allowed for g in matrix.columns], dtype=bool)
    return matrix.loc[:, keep], [str(g) for g in matrix.columns[~keep]]


def _is_zero_sd(mean: pd.Series, sd: pd.Series) -> pd.Series:
    # Relative tolerance: a gene whose values differ only by float rounding counts as constant.
    tolerance = 1e-12 * np.maximum(1.0, mean.abs())
    return sd.isna() | (sd <= tolerance)


def zero_sd_genes(reference: pd.DataFrame, ddof: int = 1) -> list[str]:
    """Genes that are constant (or have fewer than ``ddof + 1`` values) in ``reference``.

    Parameters
    ----------
    reference
        Reference samples × genes (normally the training samples).
    ddof
        Delta degrees of freedom of the standard deviation.

    Returns
    -------
    list of str
        Gene labels, in column order.
    """
    mean = reference.mean(axis=0)
    sd = reference.std(axis=0, ddof=ddof)
    return [str(g) for g in reference.columns[_is_zero_sd(mean, sd).to_numpy()]]


def fit_scaling(train_df: pd.DataFrame, ddof: int = 1) -> tuple[pd.Series, pd.Series]:
    """Per-gene mean and standard deviation from the given reference (training) samples only.

    Rule for genes with zero standard deviation in the reference (constant, or a single
    value): their sd is set to 1, so z-scoring only centres them; they keep their place in
    the gene set so that train and test matrices stay aligned. Their labels are logged as a
    warning and stored in ``sd.attrs["zero_sd_genes"]`` (also available via
    :func:`zero_sd_genes`).

    Parameters
    ----------
    train_df
        Reference samples × genes. Pass the training samples; never the full cohort
        (that leaks test information into the scaling).
    ddof
        Delta degrees of freedom of the sd (1 = sample sd, as pandas/R; 0 = population sd,
        as scikit-learn's StandardScaler).

    Returns
    -------
    mean, sd
        Series indexed by gene.
    """
    mean = train_df.mean(axis=0)
    sd = train_df.std(axis=0, ddof=ddof)
    zero = _is_zero_sd(mean, sd)
    constant = [str(g) for g in sd.index[zero.to_numpy()]]
    if constant:
        log.warning("%d gene(s) with zero sd in the reference set; sd set to 1: %s", len(constant), ", ".join(constant[:20]))
    sd = sd.where(~zero, 1.0)
    sd.attrs["zero_sd_genes"] = constant
    return mean, sd


def zscore(values: pd.DataFrame, reference_mean: pd.Series, reference_sd: pd.Series) -> pd.DataFrame:
    """Z-score ``values`` gene-wise with statistics taken from a reference set.

    Parameters
    ----------
    values
        Samples × genes to transform; must contain every gene of ``reference_mean``.
    reference_mean, reference_sd
        Output of :func:`fit_scaling` on the reference (training) samples.

    Returns
    -------
    pandas.DataFrame
        Samples × genes in the order of ``reference_mean``.
    """
    if not reference_mean.index.equals(reference_sd.index):
        raise ValueError("reference_mean and reference_sd must have the same genes in the same order")
    missing = reference_mean.index.difference(values.columns)
    if len(missing):
        raise KeyError(f"{len(missing)} reference gene(s) absent from the values: {list(missing[:10])}")
    if (reference_sd <= 0).any() or reference_sd.isna().any():
        raise ValueError("reference_sd has zero or missing entries; build it with fit_scaling")
    subset = values.loc[:, reference_mean.index]
    return (subset - reference_mean) / reference_sd


# Whole numbers >= 0 reaching above this look like raw counts, not log-scale expression
# (voom log2-CPM stays below ~20; a gene with 100 reads in a 20M library is at log2-CPM 2.3).
COUNT_LIKE_MAXIMUM = 100.0


def looks_like_counts(matrix: pd.DataFrame) -> bool:
    """Whether a matrix given as normalised expression looks like raw counts.

    True when every finite value is a whole number >= 0 and some exceed
    :data:`COUNT_LIKE_MAXIMUM` (log-scale expression has fractional values and stays far below).
    """
    values = matrix.to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values)]
    return bool(finite.size and finite.max() > COUNT_LIKE_MAXIMUM and (finite >= 0).all()
                and (finite == np.rint(finite)).all())


def read_gene_universe(path: str | Path) -> list[str]:
    """Read one gene symbol per line (blank lines and ``#`` comments ignored).

    Read under the text input policy (:func:`forge.io.read_text_lines`); a file listing no gene
    is refused (it would remove every gene).
    """
    genes = [s.strip() for s in read_text_lines(path) if s.strip() and not s.strip().startswith("#")]
    if not genes:
        raise InputFormatError(f"{path}: no gene symbol listed; expected one symbol per line")
    return genes


# voom needs two samples and two genes (a residual sd per gene and a mean-variance trend).
MIN_VOOM_SAMPLES = 2
MIN_VOOM_GENES = 2


def voom_with_filters(
    counts: pd.DataFrame,
    gene_universe: list[str] | None = None,
    min_count: float = 0,
    min_samples: int = 1,
    *,
    counts_source: str = "the counts",
    universe_source: str = "the gene universe (normalisation.gene_universe)",
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """Filter genes, then voom with library sizes from the unfiltered counts.

    A filter that leaves fewer than :data:`MIN_VOOM_GENES` genes, or counts with fewer than
    :data:`MIN_VOOM_SAMPLES` samples, is refused with :class:`InputFormatError` naming the
    input and the configuration key (instead of voom's shape error, which names neither).

    Parameters
    ----------
    counts
        Raw counts, samples × genes.
    gene_universe
        Optional allowed symbols.
    min_count, min_samples
        Low-expression filter (see :func:`filter_low_expression`); off by default.
    counts_source, universe_source
        How the counts and the gene universe are named in errors (file and configuration key).

    Returns
    -------
    expression, weights
        Samples × kept genes.
    dropped
        ``{"not_in_universe": [...], "low_expression": [...]}``.
    """
    if counts.shape[0] < MIN_VOOM_SAMPLES or counts.shape[1] < MIN_VOOM_GENES:
        raise InputFormatError(
            f"{counts_source}: {counts.shape[0]} sample(s) × {counts.shape[1]} gene(s); voom needs at least "
            f"{MIN_VOOM_SAMPLES} samples and {MIN_VOOM_GENES} genes"
        )
    library_size = counts.sum(axis=1)
    dropped: dict[str, list[str]] = {"not_in_universe": [], "low_expression": []}
    kept = counts
    if gene_universe is not None:
        kept, dropped["not_in_universe"] = filter_genes(kept, gene_universe)
        if kept.shape[1] < MIN_VOOM_GENES:
            raise InputFormatError(_universe_overlap_message(counts, gene_universe, kept.shape[1], counts_source,
                                                             universe_source))
    before = kept.shape[1]
    kept, dropped["low_expression"] = filter_low_expression(kept, min_count, min_samples)
    if kept.shape[1] < MIN_VOOM_GENES:
        raise InputFormatError(
            f"{counts_source}: the low-expression filter (min_count = {min_count:g} reads in min_samples = "
            f"{min_samples} samples) keeps {kept.shape[1]} of {before} genes; voom needs at least {MIN_VOOM_GENES}. "
            "Lower min_count or min_samples"
        )
    expression, weights = voom_logcpm(kept, library_size=library_size)
    return expression, weights, dropped


def _universe_overlap_message(counts: pd.DataFrame, universe: list[str], n_kept: int, counts_source: str,
                              universe_source: str) -> str:
    """Why a gene universe left (almost) no gene: the sizes, examples of both and a case mismatch if any."""
    genes = [str(g) for g in counts.columns]
    folded = {g.casefold() for g in genes}
    same_but_case = sum(1 for g in set(universe) if g.casefold() in folded) - n_kept
    hint = (f"; {same_but_case} of its symbols match a gene in another letter case (symbols are case-sensitive: "
            "HGNC symbols are upper-case)") if same_but_case > 0 else ""
    return (
        f"{universe_source}: its {len(set(universe))} symbols (e.g. {list(universe[:3])}) share {n_kept} gene(s) "
        f"with the {len(genes)} genes of {counts_source} (e.g. {genes[:3]}); voom needs at least {MIN_VOOM_GENES}"
        f"{hint}. Expected gene symbols as in the count matrix; leave normalisation.gene_universe empty for no "
        "restriction"
    )
