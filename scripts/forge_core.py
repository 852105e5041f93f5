"""FORGE numerical core: the joint dependency/IC50 factorisation solver.

Pure numpy/scipy. No file I/O and no Snakemake here; the rule adapters and
``forge_model.py`` handle data frames, gene names and persistence.

Model (FORGE_METHOD.md §1). For one drug-target pair with ``n`` training samples,
``G`` (n x p) is z-scored expression, ``Y`` (n x t) holds the centred targets as
columns (dependency first, then one IC50 column per drug). The shared encoder
``W`` (p x k) gives the embedding ``Z = G W``; the heads ``H`` (k x t) are the
least-squares solution given ``W``. The objective is

    L(W) = sum_j w_j ||y_j - G W h_j||^2 + lambda ||W||_1

with task weights ``w`` (1 for the joint model; ``1/d`` on each drug column of
the multi-drug model when the per-drug errors are averaged).

Everything is computed from the sufficient statistics ``C = G'G``,
``B = G'Y`` and ``y'y``, so an epoch costs O(p^2 k) whatever ``n`` is, and many
models (seeds x k values x folds) are advanced together by batched matrix
products (:func:`fit_forge_batch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy import stats

__all__ = [
    "SufficientStats",
    "ForgeResult",
    "ModelSpec",
    "FORGE",
    "sufficient_statistics",
    "solve_heads",
    "task_weight_vector",
    "fit_forge_batch",
    "objective_value",
    "gene_effects",
    "output_effect",
    "benefit_weights",
    "regression_metrics",
    "concordance_index",
]

UPDATE_RULES = ("reference", "proximal")

# Below this reciprocal condition number (estimated from the Cholesky factor) the
# Gram matrix Z'Z is treated as rank deficient and the heads come from a
# pseudo-inverse instead of a Cholesky solve.
_RCOND_CHOLESKY = 1e-10


# ---------------------------------------------------------------------------
# Data containers
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SufficientStats:
    """Sufficient statistics of one training set.

    Attributes
    ----------
    gram : ndarray (p, p)
        ``G'G``.
    cross : ndarray (p, t)
        ``G'Y``.
    target_sq : ndarray (t,)
        ``diag(Y'Y)``, used only for the loss value.
    n_samples : int
    """

    gram: np.ndarray
    cross: np.ndarray
    target_sq: np.ndarray
    n_samples: int

    @property
    def n_genes(self) -> int:
        return self.gram.shape[0]

    @property
    def n_tasks(self) -> int:
        return self.cross.shape[1]


@dataclass(frozen=True)
class ModelSpec:
    """One model of a batch: which training set, how many components, which seed.

    Attributes
    ----------
    n_components : int
        Latent dimension ``k``.
    seed : int or sequence of int
        Entropy for ``numpy.random.SeedSequence``; the initial ``W`` depends only
        on this value, never on the batch the model is fitted in.
    stats_index : int
        Index into the list of :class:`SufficientStats` passed to the driver
        (e.g. the cross-validation fold).
    """

    n_components: int
    seed: int | Sequence[int]
    stats_index: int = 0


@dataclass
class ForgeResult:
    """Result of fitting one FORGE model (in the spirit of ``scipy.optimize.OptimizeResult``).

    Attributes
    ----------
    W : ndarray (p, k)
        Shared gene encoder.
    heads : ndarray (k, t)
        Output heads (dependency first, then IC50 columns), least squares given ``W``
        at the returned state.
    loss_history : ndarray (n_iter + 1,)
        Objective ``L(W)`` (weighted summed squared error plus ``lambda ||W||_1``),
        at initialisation and after every epoch (reference rule) or outer
        iteration (proximal rule).
    n_iter : int
        Epochs (reference) or outer iterations (proximal) performed.
    converged : bool
        True when the tolerance criterion stopped the fit before ``max_iter``;
        always False when no tolerance was given.
    rank : int
        Numerical rank of ``Z'Z`` at the returned state.
    settings : dict
        Hyper-parameters, seed and update rule used.
    """

    W: np.ndarray
    heads: np.ndarray
    loss_history: np.ndarray
    n_iter: int
    converged: bool
    rank: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def fun(self) -> float:
        """Final objective value."""
        return float(self.loss_history[-1])


# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------
def sufficient_statistics(G: np.ndarray, Y: np.ndarray) -> SufficientStats:
    """Compute ``G'G``, ``G'Y`` and ``diag(Y'Y)``.

    Parameters
    ----------
    G : ndarray (n, p)
        Scaled expression of the training samples.
    Y : ndarray (n,) or (n, t)
        Centred targets.
    """
    G = np.asarray(G, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if G.ndim != 2 or Y.shape[0] != G.shape[0]:
        raise ValueError(
            f"G must be (n, p) and Y (n, t) with the same n; got {G.shape} and {Y.shape}"
        )
    if not (np.isfinite(G).all() and np.isfinite(Y).all()):
        raise ValueError("G and Y must be finite (no NaN or inf)")
    return SufficientStats(
        gram=G.T @ G,
        cross=G.T @ Y,
        target_sq=np.einsum("ij,ij->j", Y, Y),
        n_samples=G.shape[0],
    )


def task_weight_vector(n_tasks: int, task_weights: str | Sequence[float] = "mean") -> np.ndarray:
    """Per-task loss weights.

    ``"mean"`` averages the per-drug errors of a multi-drug model (weight ``1/d`` on
    each of the ``d = t - 1`` IC50 columns, FORGE_METHOD §1); ``"sum"`` reproduces
    the published code, which sums them. For ``t <= 2`` both give ones.
    """
    if isinstance(task_weights, str):
        if task_weights == "sum" or n_tasks <= 2:
            return np.ones(n_tasks)
        if task_weights == "mean":
            weights = np.full(n_tasks, 1.0 / (n_tasks - 1))
            weights[0] = 1.0
            return weights
        raise ValueError(f"task_weights must be 'mean', 'sum' or a sequence; got {task_weights!r}")
    weights = np.asarray(task_weights, dtype=np.float64)
    if weights.shape != (n_tasks,) or (weights < 0).any():
        raise ValueError(f"task_weights must be {n_tasks} non-negative numbers; got {weights}")
    return weights


def _pinv_sym_batch(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-inverse of a batch of symmetric PSD matrices, and their ranks.

    Uses the same relative cutoff as ``numpy.linalg.pinv`` (``max(k) * eps`` times
    the largest eigenvalue).
    """
    eigval, eigvec = np.linalg.eigh(A)
    cutoff = A.shape[-1] * np.finfo(np.float64).eps * np.abs(eigval).max(axis=-1, keepdims=True)
    keep = eigval > cutoff
    inv_val = np.where(keep, 1.0 / np.where(keep, eigval, 1.0), 0.0)
    pinv = (eigvec * inv_val[..., None, :]) @ np.swapaxes(eigvec, -1, -2)
    return pinv, keep.sum(axis=-1)


def solve_heads(
    W: np.ndarray, gram_W: np.ndarray, cross: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares heads ``H = (Z'Z)^+ Z'Y`` for a batch of encoders.

    Parameters
    ----------
    W : ndarray (m, p, k)
    gram_W : ndarray (m, p, k)
        ``C W`` for each model.
    cross : ndarray (m, p, t)
        ``G'Y`` for each model.

    Returns
    -------
    heads : ndarray (m, k, t)
    rank : ndarray (m,)
        Numerical rank of ``Z'Z``.

    Notes
    -----
    Well-conditioned Gram matrices are solved directly. A model whose Gram
    matrix is not positive definite, or whose reciprocal condition number
    (estimated from the Cholesky diagonal) falls below ``1e-10``, is solved
    with an eigenvalue pseudo-inverse instead, which gives the minimum-norm
    solution when ``Z`` is rank deficient (e.g. zero columns of ``W``).
    """
    WT = np.swapaxes(W, -1, -2)
    ztz = WT @ gram_W
    ztz = 0.5 * (ztz + np.swapaxes(ztz, -1, -2))  # exact symmetry for the factorisations
    zty = WT @ cross
    m, k, _ = ztz.shape
    heads = np.empty(zty.shape)
    rank = np.full(m, k)
    fallback = np.ones(m, dtype=bool)

    def needs_fallback(A: np.ndarray) -> np.ndarray:
        diag = np.diagonal(np.linalg.cholesky(A), axis1=-2, axis2=-1)
        rcond_estimate = (diag.min(axis=-1) / diag.max(axis=-1)) ** 2
        return ~(np.isfinite(rcond_estimate) & (rcond_estimate > _RCOND_CHOLESKY))

    try:
        # Cholesky only certifies positive definiteness and estimates conditioning;
        # the solve itself is one batched LU call (cheaper than two triangular solves).
        fallback = needs_fallback(ztz)
    except np.linalg.LinAlgError:
        # At least one model is not positive definite: decide model by model, so
        # that a well-conditioned model is solved the same way whatever its batch.
        for i in range(m):
            try:
                fallback[i] = needs_fallback(ztz[i : i + 1])[0]
            except np.linalg.LinAlgError:
                pass
    if not fallback.any():
        return np.linalg.solve(ztz, zty), rank
    ok = ~fallback
    if ok.any():
        heads[ok] = np.linalg.solve(ztz[ok], zty[ok])
    pinv, rank_fb = _pinv_sym_batch(ztz[fallback])
    heads[fallback] = pinv @ zty[fallback]
    rank[fallback] = rank_fb
    return heads, rank


def _objective_from_state(
    W: np.ndarray,
    heads: np.ndarray,
    fitted_cross: np.ndarray,
    cross: np.ndarray,
    target_sq: np.ndarray,
    task_weights: np.ndarray,
    l1_penalty: float,
    l1_norm: np.ndarray | None = None,
) -> np.ndarray:
    """Objective of a batch from ``fitted_cross = C W H`` (no extra O(p^2) work).

    Uses ``||y - G b||^2 = y'y - 2 b'G'y + b'C b`` with ``b = W h``.
    ``l1_norm`` (``||W||_1`` per model) may be passed when already known.
    """
    coef = W @ heads  # (m, p, t)
    sse = target_sq - 2.0 * (coef * cross).sum(axis=1) + (coef * fitted_cross).sum(axis=1)
    sse = np.maximum(sse, 0.0)  # rounding can push a perfect fit slightly below zero
    if l1_norm is None:
        l1_norm = np.abs(W).sum(axis=(1, 2))
    return sse @ task_weights + l1_penalty * l1_norm


def objective_value(
    stats_: SufficientStats,
    W: np.ndarray,
    heads: np.ndarray | None = None,
    task_weights: str | Sequence[float] = "mean",
    l1_penalty: float = 1e-3,
) -> float:
    """Objective ``L(W) = sum_j w_j ||y_j - G W h_j||^2 + lambda ||W||_1`` of one model.

    With ``heads=None`` the heads are the least-squares solution given ``W``.
    """
    W = np.asarray(W, dtype=np.float64)[None]
    gram_W = stats_.gram @ W[0]
    gram_W = gram_W[None]
    cross = stats_.cross[None]
    if heads is None:
        heads = solve_heads(W, gram_W, cross)[0][0]
    heads = np.asarray(heads, dtype=np.float64)[None]
    weights = task_weight_vector(stats_.n_tasks, task_weights)
    value = _objective_from_state(
        W, heads, gram_W @ heads, cross, stats_.target_sq[None], weights, l1_penalty
    )
    return float(value[0])


def _gram_times(gram: np.ndarray, M: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``C @ M`` for a batch (``C`` shared (p, p) or per model (m, p, p)).

    ``np.matmul`` runs one BLAS product per model, so a model's numbers are the
    same bits whatever else shares the batch (a single wide GEMM over all models
    would be no faster here and could round differently).
    """
    return np.matmul(gram, M, out=out)


# Epochs between exact recomputations of C W and C sign(W) in the reference rule;
# in between they are updated, and rounding can only drift that long.
_REFRESH_EVERY = 25


def _track_sign_flips(
    gram: np.ndarray, W: np.ndarray, sign_W: np.ndarray, gram_sign: np.ndarray, shared: bool, refresh: bool
) -> None:
    """Update ``sign_W`` to ``sign(W)`` and ``gram_sign`` to ``C sign(W)``, in place.

    Only entries whose sign changed touch ``gram_sign`` (one column of ``C`` each), so
    the cost follows the number of sign flips, usually a few per epoch. A model with
    many flips, and every model on a refresh epoch, is recomputed in full. Each model's
    update depends on its own flips only, so batching does not change its numbers.
    """
    if refresh:
        np.sign(W, out=sign_W)
        _gram_times(gram, sign_W, out=gram_sign)
        return
    # W * sign_W <= 0 exactly where the sign changed (or an entry is zero)
    changed = np.flatnonzero(np.multiply(W, sign_W).ravel() <= 0)
    if changed.size == 0:
        return
    new_sign = np.sign(W.ravel()[changed])
    sign_delta = new_sign - sign_W.ravel()[changed]
    keep = sign_delta != 0
    changed, new_sign, sign_delta = changed[keep], new_sign[keep], sign_delta[keep]
    sign_W.ravel()[changed] = new_sign
    m, p, k = W.shape
    model_idx, rest = np.divmod(changed, p * k)
    gene_idx, comp_idx = np.divmod(rest, k)
    heavy = np.bincount(model_idx, minlength=m) > p * k // 8
    if heavy.any():
        gram_sign[heavy] = _gram_times(gram if shared else gram[heavy], sign_W[heavy])
        light = ~heavy[model_idx]
        model_idx, gene_idx, comp_idx, sign_delta = (
            model_idx[light], gene_idx[light], comp_idx[light], sign_delta[light]
        )
    if model_idx.size:
        columns = gram[:, gene_idx].T if shared else gram[model_idx, :, gene_idx]
        np.add.at(gram_sign, (model_idx, slice(None), comp_idx), columns * sign_delta[:, None])


def initial_encoder(n_genes: int, n_components: int, seed: int | Sequence[int], scale: float) -> np.ndarray:
    """Random normal initial ``W`` drawn from ``SeedSequence(seed)`` only."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return scale * rng.standard_normal((n_genes, n_components))


def _soft_threshold(X: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    return np.sign(X) * np.maximum(np.abs(X) - threshold, 0.0)


# ---------------------------------------------------------------------------
# Batched driver
# ---------------------------------------------------------------------------
def fit_forge_batch(
    stats_list: Sequence[SufficientStats],
    specs: Sequence[ModelSpec],
    *,
    l1_penalty: float = 1e-3,
    learning_rate: float = 1e-3,
    max_iter: int = 500,
    update: str = "reference",
    inner_steps: int = 10,
    step_size: str = "lipschitz",
    tol: float | None = None,
    task_weights: str | Sequence[float] = "mean",
    init_scale: float = 1.0,
) -> list[ForgeResult]:
    """Fit many FORGE models together; each result equals fitting it alone.

    Models are grouped by ``k``; within a group all encoders advance together
    with batched products (one GEMM when they share their training set).
    Converged models are frozen, so their numbers do not depend on the rest of
    the batch.

    Parameters
    ----------
    stats_list : sequence of SufficientStats
        Training sets (e.g. one per fold); all with the same ``p`` and ``t``.
    specs : sequence of ModelSpec
        The models to fit.
    l1_penalty : float
        ``lambda``.
    learning_rate : float
        ``eta`` of the reference rule (ignored by the proximal rule unless
        ``step_size="fixed"``).
    max_iter : int
        Epochs (reference) or outer iterations ``T`` (proximal).
    update : {"reference", "proximal"}
        ``"reference"`` is the published rule ``W <- W - eta (4 G'E diag(w) H' +
        lambda sign(W))`` with heads recomputed every epoch. ``"proximal"``
        runs ``inner_steps`` proximal-gradient steps on ``W`` per outer
        iteration with the heads fixed, then re-solves the heads; it gives
        exact zeros and a non-increasing objective.
    inner_steps : int
        ``S`` of the proximal rule.
    step_size : {"lipschitz", "fixed"}
        Proximal step: ``1 / L`` with ``L = 2 lambda_max(C) lambda_max(H w H')``
        (a bound of the smooth part's Lipschitz constant), or ``learning_rate``.
    tol : float or None
        Stop a model when the relative decrease of its objective over one
        iteration is below ``tol`` (``converged=True``). ``None`` runs
        ``max_iter`` iterations, as the published code does.
    task_weights : "mean", "sum" or sequence
        See :func:`task_weight_vector`.
    init_scale : float
        Standard deviation of the random normal initial ``W``.

    Returns
    -------
    list of ForgeResult, in the order of ``specs``.
    """
    if update not in UPDATE_RULES:
        raise ValueError(f"update must be one of {UPDATE_RULES}; got {update!r}")
    if step_size not in ("lipschitz", "fixed"):
        raise ValueError(f"step_size must be 'lipschitz' or 'fixed'; got {step_size!r}")
    if not stats_list:
        raise ValueError("stats_list is empty")
    p, t = stats_list[0].n_genes, stats_list[0].n_tasks
    for s in stats_list:
        if (s.n_genes, s.n_tasks) != (p, t):
            raise ValueError("all training sets of a batch must have the same genes and tasks")
    weights = task_weight_vector(t, task_weights)
    settings = dict(
        l1_penalty=l1_penalty,
        learning_rate=learning_rate,
        max_iter=max_iter,
        update=update,
        inner_steps=inner_steps,
        step_size=step_size,
        tol=tol,
        task_weights=weights.tolist(),
        init_scale=init_scale,
    )
    results: list[ForgeResult | None] = [None] * len(specs)
    by_k: dict[int, list[int]] = {}
    for i, spec in enumerate(specs):
        if spec.n_components < 1:
            raise ValueError(f"n_components must be >= 1; got {spec.n_components}")
        by_k.setdefault(int(spec.n_components), []).append(i)
    for k, members in by_k.items():
        group = _fit_group(
            [stats_list[specs[i].stats_index] for i in members],
            [specs[i] for i in members],
            k,
            weights,
            settings,
        )
        for i, res in zip(members, group):
            results[i] = res
    return results  # type: ignore[return-value]


def _fit_group(
    stats_group: list[SufficientStats],
    specs: list[ModelSpec],
    k: int,
    weights: np.ndarray,
    settings: dict[str, Any],
) -> list[ForgeResult]:
    """Advance the models of one ``k`` together (the inner loop of the driver).

    The working arrays hold only the models still running: a model that meets
    the tolerance is written out and dropped, so no frozen model costs work and
    nothing about a model depends on its batch mates.
    """
    m = len(specs)
    shared = all(s is stats_group[0] for s in stats_group)
    gram = stats_group[0].gram if shared else np.stack([s.gram for s in stats_group])
    cross = np.stack([s.cross for s in stats_group])
    target_sq = np.stack([s.target_sq for s in stats_group])
    p = cross.shape[1]
    W = np.stack([initial_encoder(p, k, spec.seed, settings["init_scale"]) for spec in specs])

    lam = settings["l1_penalty"]
    eta = settings["learning_rate"]
    tol = settings["tol"]
    max_iter = settings["max_iter"]
    proximal = settings["update"] == "proximal"
    # published data term 2 * (2 G'e h') per task weight, with eta folded into the small factor
    eta_weights4 = 4.0 * settings["learning_rate"] * weights
    if proximal and settings["step_size"] == "lipschitz":
        gram_top_eig = np.broadcast_to(np.linalg.eigvalsh(gram)[..., -1], (m,)).copy()

    ids = np.arange(m)
    gram_W = _gram_times(gram, W)
    sign_W = np.sign(W)
    step_buf = np.empty_like(W)
    # Reference rule: C W and C sign(W) are carried along instead of recomputed (see
    # _track_sign_flips); both are recomputed exactly every _REFRESH_EVERY epochs.
    gram_sign = _gram_times(gram, sign_W) if not proximal else None
    heads, rank = solve_heads(W, gram_W, cross)
    fitted_cross = gram_W @ heads  # G'Z H = C W H
    loss = _objective_from_state(W, heads, fitted_cross, cross, target_sq, weights, lam)
    history = np.full((max_iter + 1, m), np.nan)
    history[0] = loss
    final: dict[int, tuple] = {}
    n_done_iter = 0

    def retire(keep: np.ndarray, n_iter: int, converged: bool) -> None:
        for j in np.flatnonzero(~keep):
            final[int(ids[j])] = (W[j].copy(), heads[j].copy(), n_iter, converged, int(rank[j]))

    for it in range(1, max_iter + 1):
        if proximal:
            weighted_heads = (heads * weights) @ np.swapaxes(heads, -1, -2)  # H diag(w) H'
            if settings["step_size"] == "lipschitz":
                top = np.linalg.eigvalsh(weighted_heads)[:, -1]
                lipschitz = 2.0 * gram_top_eig[ids] * top
                step = np.where(lipschitz > 0, 1.0 / np.maximum(lipschitz, 1e-300), 0.0)
            else:
                step = np.full(ids.size, eta)
            step = step[:, None, None]
            for inner in range(settings["inner_steps"]):
                if inner:
                    fitted_cross = gram_W @ heads
                smooth_grad = ((fitted_cross - cross) * (2.0 * weights)) @ np.swapaxes(heads, -1, -2)
                W = _soft_threshold(W - step * smooth_grad, step * lam)
                gram_W = _gram_times(gram, W)
        else:
            # W <- W - eta * (4 G'E diag(w) H' + lambda sign(W)), with G'E = C W H - G'Y.
            # In place: temporaries of size m*p*k dominate the cost otherwise.
            # In place: temporaries of size m*p*k dominate the cost otherwise. The image
            # under C of the rank-t data step is (C R) H', so C W costs O(p^2 t), not O(p^2 k).
            heads_t = np.swapaxes(heads, -1, -2)
            scaled_residual = (fitted_cross - cross) * eta_weights4
            np.matmul(scaled_residual, heads_t, out=step_buf)
            W -= step_buf
            np.matmul(_gram_times(gram, scaled_residual), heads_t, out=step_buf)
            gram_W -= step_buf
            np.multiply(sign_W, eta * lam, out=step_buf)
            W -= step_buf
            np.multiply(gram_sign, eta * lam, out=step_buf)
            gram_W -= step_buf
            if it % _REFRESH_EVERY == 0:
                _gram_times(gram, W, out=gram_W)
        heads, rank = solve_heads(W, gram_W, cross)
        fitted_cross = gram_W @ heads
        if proximal:
            np.sign(W, out=sign_W)
        else:
            _track_sign_flips(gram, W, sign_W, gram_sign, shared, refresh=it % _REFRESH_EVERY == 0)
        l1_norm = np.einsum("mi,mi->m", sign_W.reshape(ids.size, -1), W.reshape(ids.size, -1))
        new_loss = _objective_from_state(
            W, heads, fitted_cross, cross, target_sq, weights, lam, l1_norm
        )
        history[it, ids] = new_loss
        n_done_iter = it
        if tol is not None:
            keep = np.abs(loss - new_loss) > tol * np.maximum(np.abs(loss), np.finfo(float).tiny)
            if not keep.all():
                retire(keep, it, True)
                ids, W, gram_W, heads, rank = ids[keep], W[keep], gram_W[keep], heads[keep], rank[keep]
                fitted_cross, cross, new_loss = fitted_cross[keep], cross[keep], new_loss[keep]
                sign_W, step_buf = sign_W[keep], step_buf[keep]
                if gram_sign is not None:
                    gram_sign = gram_sign[keep]
                target_sq = target_sq[keep]
                if not shared:
                    gram = gram[keep]
                if ids.size == 0:
                    break
        loss = new_loss
    retire(np.zeros(ids.size, dtype=bool), n_done_iter, False)

    out = []
    for j, spec in enumerate(specs):
        W_j, heads_j, n_iter_j, converged_j, rank_j = final[j]
        out.append(
            ForgeResult(
                W=W_j,
                heads=heads_j,
                loss_history=history[: n_iter_j + 1, j].copy(),
                n_iter=n_iter_j,
                converged=converged_j,
                rank=rank_j,
                settings=dict(settings, n_components=k, seed=spec.seed, stats_index=spec.stats_index),
            )
        )
    return out


# ---------------------------------------------------------------------------
# Estimator
# ---------------------------------------------------------------------------
class FORGE:
    """FORGE estimator (scikit-learn style).

    Parameters
    ----------
    n_components : int
        Latent dimension ``k`` (paper default 40).
    l1_penalty : float
        ``lambda`` (paper default 1e-3).
    learning_rate : float
        ``eta`` of the reference rule (1e-3).
    max_iter : int
        Epochs or outer iterations (500).
    update : {"reference", "proximal"}
    inner_steps : int
    step_size : {"lipschitz", "fixed"}
    tol : float or None
    task_weights : "mean", "sum" or sequence
    init_scale : float
    random_state : int or sequence of int
        Entropy for ``SeedSequence`` (paper: 42 + replicate).

    Attributes
    ----------
    components_ : ndarray (p, k)
        ``W``.
    heads_ : ndarray (k, t)
    loss_history_ : ndarray
    n_iter_ : int
    converged_ : bool
    result_ : ForgeResult

    Notes
    -----
    ``fit`` expects scaled ``G`` and centred ``Y``: scaling and centring are fitted
    on training samples by the caller (see ``forge_model.py``), never here.
    An individual model is the same estimator fitted on one target column.
    """

    def __init__(
        self,
        n_components: int = 40,
        l1_penalty: float = 1e-3,
        learning_rate: float = 1e-3,
        max_iter: int = 500,
        update: str = "reference",
        inner_steps: int = 10,
        step_size: str = "lipschitz",
        tol: float | None = None,
        task_weights: str | Sequence[float] = "mean",
        init_scale: float = 1.0,
        random_state: int | Sequence[int] = 42,
    ) -> None:
        self.n_components = n_components
        self.l1_penalty = l1_penalty
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.update = update
        self.inner_steps = inner_steps
        self.step_size = step_size
        self.tol = tol
        self.task_weights = task_weights
        self.init_scale = init_scale
        self.random_state = random_state

    def solver_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`fit_forge_batch` for this estimator."""
        return dict(
            l1_penalty=self.l1_penalty,
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            update=self.update,
            inner_steps=self.inner_steps,
            step_size=self.step_size,
            tol=self.tol,
            task_weights=self.task_weights,
            init_scale=self.init_scale,
        )

    def fit(self, G: np.ndarray, Y: np.ndarray) -> "FORGE":
        """Fit on scaled expression ``G`` (n, p) and centred targets ``Y`` (n, t)."""
        stats_ = sufficient_statistics(G, Y)
        spec = ModelSpec(self.n_components, self.random_state)
        self._set_result(fit_forge_batch([stats_], [spec], **self.solver_options())[0])
        return self

    def _set_result(self, result: ForgeResult) -> None:
        self.result_ = result
        self.components_ = result.W
        self.heads_ = result.heads
        self.loss_history_ = result.loss_history
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged

    def transform(self, G: np.ndarray) -> np.ndarray:
        """Latent embedding ``Z = G W``."""
        return np.asarray(G, dtype=np.float64) @ self.components_

    def predict(self, G: np.ndarray) -> np.ndarray:
        """Centred predictions ``Z H`` (n, t)."""
        return self.transform(G) @ self.heads_


# ---------------------------------------------------------------------------
# Interpretation
# ---------------------------------------------------------------------------
def output_effect(W: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Per-gene effect ``W h / |h|`` of one output head (zero head: zero effect)."""
    norm = np.linalg.norm(head)
    return W @ (head / norm if norm > 0 else head)


def gene_effects(W: np.ndarray, heads: np.ndarray, ic50_column: int = 1) -> dict[str, np.ndarray]:
    """Gene effects with L2-normalised heads (FORGE_METHOD §3).

    Returns ``dependency_effect = W h_D/|h_D|``, ``ic50_effect = -W h_I/|h_I|``
    (positive = sensitising) and ``total_influence`` (their sum).
    """
    dependency_effect = output_effect(W, heads[:, 0])
    ic50_effect = -output_effect(W, heads[:, ic50_column])
    return dict(
        dependency_effect=dependency_effect,
        ic50_effect=ic50_effect,
        total_influence=dependency_effect + ic50_effect,
    )


def benefit_weights(W: np.ndarray, heads: np.ndarray, ic50_column: int = 1) -> np.ndarray:
    """Gene weights ``W (h_D - h_I)``: the Benefit Score of a scaled profile ``g`` is ``g @ weights``.

    ``BS = D_hat - I_hat`` on the centred scale of the training targets.
    """
    return W @ (heads[:, 0] - heads[:, ic50_column])


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------
def concordance_index(observed: np.ndarray, predicted: np.ndarray) -> float:
    """Harrell's concordance index over all pairs with different observed values.

    Ties in the prediction count one half. O(n log n) via ranks would be possible;
    O(n^2) with vectorised blocks is exact and fast enough for n in the thousands.
    """
    y = np.asarray(observed, dtype=np.float64)
    f = np.asarray(predicted, dtype=np.float64)
    concordant = 0.0
    comparable = 0
    for start in range(0, y.size, 1024):
        dy = y[start : start + 1024, None] - y[None, :]
        df = f[start : start + 1024, None] - f[None, :]
        mask = dy > 0
        comparable += int(mask.sum())
        concordant += float((df[mask] > 0).sum()) + 0.5 * float((df[mask] == 0).sum())
    return concordant / comparable if comparable else float("nan")


def regression_metrics(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Pearson r, Spearman rho, R^2, MAE, MSE and concordance index."""
    y = np.asarray(observed, dtype=np.float64).ravel()
    f = np.asarray(predicted, dtype=np.float64).ravel()
    if y.shape != f.shape:
        raise ValueError(f"observed and predicted differ in length: {y.size} vs {f.size}")
    residual = y - f
    sst = float(((y - y.mean()) ** 2).sum())
    constant = np.ptp(y) == 0 or np.ptp(f) == 0
    return dict(
        pearson=float("nan") if constant else float(stats.pearsonr(y, f)[0]),
        spearman=float("nan") if constant else float(stats.spearmanr(y, f)[0]),
        r2=1.0 - float((residual**2).sum()) / sst if sst > 0 else float("nan"),
        mae=float(np.abs(residual).mean()),
        mse=float((residual**2).mean()),
        c_index=concordance_index(y, f),
        n=int(y.size),
    )
