"""Tests of the FORGE numerical core (scripts/forge_core.py).

The batched solver is checked against an independent, naive implementation of the
published update written here (one model at a time, from G directly, with
np.linalg.pinv every epoch), plus finite differences, the proximal rule's
monotonicity and sparsity, rank deficiency, early stopping, determinism and metrics.
"""

from __future__ import annotations


import numpy as np
import pytest
from scipy import stats

import forge_core as fc

# (n, p, k): small, medium, and more genes than samples.
SHAPES = [(60, 15, 3), (200, 40, 8), (30, 50, 5)]
LAM = 1e-3


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def make_problem(n, p, t, seed=0, noise=1.0):
    """z-scored G with correlated genes; centred targets = G beta + noise."""
    rng = np.random.default_rng(seed)
    mixing = np.eye(p) + 0.3 * rng.standard_normal((p, p))
    G = rng.standard_normal((n, p)) @ mixing
    G = (G - G.mean(axis=0)) / G.std(axis=0)
    beta = rng.standard_normal((p, t)) * (rng.random((p, t)) < 0.3)
    Y = G @ beta + noise * rng.standard_normal((n, t))
    return G, Y - Y.mean(axis=0)


def stable_eta(n):
    # The data gradient grows with n (summed squared error); 1e-2 / n is stable here.
    return 1e-2 / n


def oracle_weights(t, task_weights="mean"):
    """Task weights written out independently of forge_core."""
    if t >= 3 and task_weights == "mean":
        return np.array([1.0] + [1.0 / (t - 1)] * (t - 1))
    return np.ones(t)


def oracle_fit(G, Y, k, seed, eta, lam, epochs, w, init_scale=1.0):
    """Naive published loop for one model. Returns W, heads and the objective per epoch."""
    p = G.shape[1]
    W = init_scale * np.random.default_rng(np.random.SeedSequence(seed)).standard_normal((p, k))
    history = []
    for epoch in range(epochs + 1):
        Z = G @ W
        H = np.linalg.pinv(Z.T @ Z) @ Z.T @ Y
        E = Z @ H - Y
        history.append(float(sum(w[j] * np.sum((Y[:, j] - Z @ H[:, j]) ** 2) for j in range(Y.shape[1]))
                             + lam * np.abs(W).sum()))
        if epoch == epochs:
            break
        W = W - eta * (4.0 * G.T @ E @ np.diag(w) @ H.T + lam * np.sign(W))
    return W, H, np.array(history)


def rel_diff(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def fold_split(G, Y):
    half = G.shape[0] // 2
    return [(G[:half], Y[:half]), (G[half:], Y[half:])]


# ---------------------------------------------------------------------------
# Oracle comparison (reference rule)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("t,task_weights", [(2, "mean"), (1, "mean"), (3, "mean"), (3, "sum")])
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_matches_naive_oracle(shape, t, task_weights):
    n, p, k = shape
    G, Y = make_problem(2 * n, p, t, seed=n + p + t)
    folds = fold_split(G, Y)
    stats_list = [fc.sufficient_statistics(Gf, Yf) for Gf, Yf in folds]
    seeds, ks = [42, 43, 7], [k, k + 2]
    specs = [fc.ModelSpec(kk, s, f) for f in range(2) for kk in ks for s in seeds]
    eta, epochs = stable_eta(n), 120
    results = fc.fit_forge_batch(stats_list, specs, l1_penalty=LAM, learning_rate=eta,
                                 max_iter=epochs, task_weights=task_weights)
    w = oracle_weights(t, task_weights)
    for spec, res in zip(specs, results):
        Gf, Yf = folds[spec.stats_index]
        W, H, history = oracle_fit(Gf, Yf, spec.n_components, spec.seed, eta, LAM, epochs, w)
        assert rel_diff(res.W, W) < 1e-10
        assert rel_diff(res.heads, H) < 1e-10
        # Loss history = the objective computed directly from G at every epoch.
        assert res.loss_history.shape == (epochs + 1,)
        assert rel_diff(res.loss_history, history) < 1e-10
        assert res.n_iter == epochs and not res.converged and res.rank == spec.n_components
        # Training actually moved W and decreased the objective.
        assert history[-1] < 0.99 * history[0]


def test_oracle_comparison_can_fail():
    """Sanity check of the harness: a wrong task weighting is detected."""
    n, p, k = SHAPES[0]
    G, Y = make_problem(n, p, 3, seed=1)
    res = fc.fit_forge_batch([fc.sufficient_statistics(G, Y)], [fc.ModelSpec(k, 42)],
                             learning_rate=stable_eta(n), max_iter=50, task_weights="mean")[0]
    W, _, _ = oracle_fit(G, Y, k, 42, stable_eta(n), LAM, 50, np.ones(3))
    assert rel_diff(res.W, W) > 1e-6


def test_task_weight_vector():
    np.testing.assert_array_equal(fc.task_weight_vector(1), [1.0])
    np.testing.assert_array_equal(fc.task_weight_vector(2), [1.0, 1.0])
    np.testing.assert_allclose(fc.task_weight_vector(4, "mean"), [1, 1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_array_equal(fc.task_weight_vector(4, "sum"), np.ones(4))
    with pytest.raises(ValueError):
        fc.task_weight_vector(3, "median")


# ---------------------------------------------------------------------------
# Gradient
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("t", [1, 2, 3])
def test_data_gradient_finite_differences_and_reference_step(t):
    n, p, k = 50, 8, 3
    G, Y = make_problem(n, p, t, seed=3)
    w = oracle_weights(t)
    W = np.random.default_rng(np.random.SeedSequence(11)).standard_normal((p, k))
    Z = G @ W
    H = np.linalg.pinv(Z.T @ Z) @ Z.T @ Y  # heads held fixed below

    def data_term(W_):
        R = Y - G @ W_ @ H
        return float((R**2).sum(axis=0) @ w)

    C, B = G.T @ G, G.T @ Y
    analytic = 2.0 * (C @ W @ H - B) @ np.diag(w) @ H.T
    step = 1e-5
    numeric = np.zeros_like(W)
    for i in range(p):
        for j in range(k):
            E_ij = np.zeros_like(W)
            E_ij[i, j] = step
            numeric[i, j] = (data_term(W + E_ij) - data_term(W - E_ij)) / (2 * step)
    assert rel_diff(numeric, analytic) < 1e-6

    # One epoch of the solver's reference rule with lambda = 0: the data term of the
    # step is exactly twice the gradient (4 G'E diag(w) H').
    eta = 1e-6
    res = fc.fit_forge_batch([fc.sufficient_statistics(G, Y)], [fc.ModelSpec(k, 11)],
                             l1_penalty=0.0, learning_rate=eta, max_iter=1)[0]
    solver_direction = (W - res.W) / eta
    assert rel_diff(solver_direction, 2.0 * analytic) < 1e-6
    assert rel_diff(solver_direction, analytic) > 0.4


# ---------------------------------------------------------------------------
# Proximal rule
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape,t", [((60, 15, 3), 2), ((30, 50, 5), 3), ((200, 40, 8), 1)])
def test_proximal_objective_never_increases(shape, t, seed):
    n, p, k = shape
    G, Y = make_problem(n, p, t, seed=seed)
    res = fc.fit_forge_batch([fc.sufficient_statistics(G, Y)], [fc.ModelSpec(k, 100 + seed)],
                             update="proximal", max_iter=100, l1_penalty=1.0)[0]
    loss = res.loss_history
    assert loss.shape == (101,) and np.isfinite(loss).all()
    assert np.all(np.diff(loss) <= 1e-12 * np.abs(loss[:-1]))
    assert loss[-1] < loss[0]
    # The recorded objective is the true one at the returned state.
    direct = fc.objective_value(fc.sufficient_statistics(G, Y), res.W, l1_penalty=1.0)
    assert abs(direct - loss[-1]) <= 1e-10 * abs(direct)


def test_proximal_exact_zeros_versus_reference():
    n, p, k = 100, 30, 4
    G, Y = make_problem(n, p, 2, seed=5)
    stats_ = fc.sufficient_statistics(G, Y)
    spec = [fc.ModelSpec(k, 42)]
    lam = 20.0
    prox = fc.fit_forge_batch([stats_], spec, update="proximal", max_iter=100, l1_penalty=lam)[0]
    ref = fc.fit_forge_batch([stats_], spec, update="reference", max_iter=100, l1_penalty=lam,
                             learning_rate=stable_eta(n))[0]
    n_zero_prox = int((prox.W == 0.0).sum())
    assert 0 < n_zero_prox < prox.W.size
    assert int((ref.W == 0.0).sum()) == 0  # sign(W) subgradient: no exact zeros


def test_proximal_huge_penalty_gives_zero_model():
    n, p, k = 60, 15, 3
    G, Y = make_problem(n, p, 2, seed=6)
    stats_ = fc.sufficient_statistics(G, Y)
    res = fc.fit_forge_batch([stats_], [fc.ModelSpec(k, 42)], update="proximal",
                             max_iter=20, l1_penalty=1e6)[0]
    assert np.all(res.W == 0.0)
    assert res.rank == 0
    assert np.all(res.heads == 0.0)
    assert np.isfinite(res.loss_history).all()
    # With W = 0 the objective is the total sum of squares.
    assert res.fun == pytest.approx(float(stats_.target_sq.sum()), rel=1e-12)


def test_zero_model_does_not_change_batch_mates():
    """A rank-0 model in the batch must not change how the others are solved."""
    G, Y = make_problem(60, 15, 2, seed=7)
    G2, Y2 = make_problem(60, 15, 2, seed=8)
    stats_list = [fc.sufficient_statistics(G, Y), fc.sufficient_statistics(G2, 1e-6 * Y2)]
    specs = [fc.ModelSpec(4, 1, 0), fc.ModelSpec(4, 2, 1)]
    options = dict(update="proximal", l1_penalty=5.0, max_iter=30)
    together = fc.fit_forge_batch(stats_list, specs, **options)
    alone = fc.fit_forge_batch(stats_list[:1], specs[:1], **options)[0]
    assert together[1].rank == 0  # tiny targets: W shrinks to exactly zero
    assert np.array_equal(together[0].W, alone.W)
    assert np.array_equal(together[0].heads, alone.heads)


# ---------------------------------------------------------------------------
# Rank deficiency
# ---------------------------------------------------------------------------
def _heads_inputs(G, Y, W):
    C, B = G.T @ G, G.T @ Y
    return W[None], (C @ W)[None], B[None]


@pytest.mark.parametrize("case", ["duplicate", "zero", "k_gt_p"])
def test_solve_heads_minimum_norm_when_rank_deficient(case):
    n, p = 40, 6
    G, Y = make_problem(n, p, 2, seed=9)
    rng = np.random.default_rng(10)
    if case == "k_gt_p":
        W, expected_rank = rng.standard_normal((p, p + 3)), p
    else:
        W = rng.standard_normal((p, 4))
        W[:, 2] = W[:, 0] if case == "duplicate" else 0.0
        expected_rank = 3
    heads, rank = fc.solve_heads(*_heads_inputs(G, Y, W))
    Z = G @ W
    ZtZ = Z.T @ Z
    pinv_heads = np.linalg.pinv(ZtZ, rtol=1e-10) @ Z.T @ Y
    lstsq_heads = np.linalg.lstsq(Z, Y, rcond=None)[0]  # minimum-norm least squares
    assert rank[0] == expected_rank
    assert np.isfinite(heads).all()
    assert rel_diff(heads[0], pinv_heads) < 1e-10
    assert rel_diff(heads[0], lstsq_heads) < 1e-8
    if case == "duplicate":
        np.testing.assert_allclose(heads[0][0], heads[0][2], rtol=1e-8)  # split evenly


def test_fit_with_more_components_than_genes_reports_rank():
    G, Y = make_problem(50, 5, 2, seed=12)
    res = fc.fit_forge_batch([fc.sufficient_statistics(G, Y)], [fc.ModelSpec(8, 42)],
                             learning_rate=stable_eta(50), max_iter=20)[0]
    assert res.rank == 5
    assert np.isfinite(res.W).all() and np.isfinite(res.heads).all()
    # Fitted values equal ordinary least squares of Y on G (k >= p spans everything).
    ols = np.linalg.lstsq(G, Y, rcond=None)[0]
    assert rel_diff(G @ res.W @ res.heads, G @ ols) < 1e-8


def test_solve_heads_full_rank_matches_pinv():
    G, Y = make_problem(80, 20, 3, seed=13)
    W = np.random.default_rng(14).standard_normal((20, 6))
    heads, rank = fc.solve_heads(*_heads_inputs(G, Y, W))
    Z = G @ W
    assert rank[0] == 6
    assert rel_diff(heads[0], np.linalg.pinv(Z.T @ Z) @ Z.T @ Y) < 1e-10


# ---------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------
def _tol_problem():
    G, Y = make_problem(120, 20, 2, seed=15)
    folds = fold_split(G, Y)
    stats_list = [fc.sufficient_statistics(Gf, Yf) for Gf, Yf in folds]
    specs = [fc.ModelSpec(kk, s, f) for f in range(2) for kk in (3, 5) for s in (42, 43, 44)]
    return stats_list, specs


@pytest.mark.parametrize("update,options", [
    ("reference", dict(learning_rate=0.1 / 60, tol=1e-3, max_iter=400)),
    ("proximal", dict(tol=1e-4, max_iter=300, l1_penalty=0.05)),
])
def test_tolerance_stops_early_and_is_batch_invariant(update, options):
    stats_list, specs = _tol_problem()
    batch = fc.fit_forge_batch(stats_list, specs, update=update, **options)
    n_iters = [r.n_iter for r in batch]
    assert len(set(n_iters)) > 1  # models stop at different epochs
    for spec, res in zip(specs, batch):
        assert res.converged and res.n_iter < options["max_iter"]
        assert res.loss_history.shape == (res.n_iter + 1,)
        assert np.isfinite(res.loss_history).all()
        last, before = res.loss_history[-1], res.loss_history[-2]
        assert abs(before - last) <= options["tol"] * abs(before)
        alone = fc.fit_forge_batch([stats_list[spec.stats_index]],
                                   [fc.ModelSpec(spec.n_components, spec.seed)],
                                   update=update, **options)[0]
        assert alone.n_iter == res.n_iter
        assert np.array_equal(alone.W, res.W)
        assert np.array_equal(alone.heads, res.heads)
        assert np.array_equal(alone.loss_history, res.loss_history)


def test_no_tolerance_runs_all_iterations():
    stats_list, specs = _tol_problem()
    res = fc.fit_forge_batch(stats_list, specs[:2], max_iter=30, learning_rate=stable_eta(60))
    assert all(r.n_iter == 30 and not r.converged and r.loss_history.size == 31 for r in res)


# ---------------------------------------------------------------------------
# Determinism and the estimator
# ---------------------------------------------------------------------------
def test_same_seed_identical_bits_and_seed_matters():
    G, Y = make_problem(60, 15, 2, seed=16)
    stats_ = fc.sufficient_statistics(G, Y)
    opts = dict(learning_rate=stable_eta(60), max_iter=50)
    a = fc.fit_forge_batch([stats_], [fc.ModelSpec(4, 42)], **opts)[0]
    b = fc.fit_forge_batch([stats_], [fc.ModelSpec(4, 42)], **opts)[0]
    c = fc.fit_forge_batch([stats_], [fc.ModelSpec(4, 43)], **opts)[0]
    assert np.array_equal(a.W, b.W) and np.array_equal(a.heads, b.heads)
    assert np.array_equal(a.loss_history, b.loss_history)
    assert not np.allclose(a.W, c.W)


@pytest.mark.parametrize("update", ["reference", "proximal"])
def test_batch_composition_and_order_do_not_matter(update):
    G, Y = make_problem(80, 15, 3, seed=17)
    folds = fold_split(G, Y)
    stats_list = [fc.sufficient_statistics(Gf, Yf) for Gf, Yf in folds]
    specs = [fc.ModelSpec(kk, s, f) for f in range(2) for kk in (3, 4) for s in (42, 50)]
    opts = dict(learning_rate=stable_eta(40), max_iter=60, update=update)
    full = fc.fit_forge_batch(stats_list, specs, **opts)
    order = np.random.default_rng(0).permutation(len(specs))
    shuffled = fc.fit_forge_batch(stats_list, [specs[i] for i in order], **opts)
    subset = fc.fit_forge_batch(stats_list, specs[::3], **opts)
    for pos, i in enumerate(order):
        assert np.array_equal(shuffled[pos].W, full[i].W)
        assert np.array_equal(shuffled[pos].heads, full[i].heads)
    for res, ref in zip(subset, full[::3]):
        assert np.array_equal(res.W, ref.W)
        assert np.array_equal(res.loss_history, ref.loss_history)


# Batch sizes of the bit-identity checks (issue 12): alone (a data step narrower than
# one BLAS column tile), a pair, an odd size (a partial last tile), a wide batch.
BATCH_SIZES = (1, 2, 7, 30)


@pytest.mark.parametrize("t", [1, 2, 3])
@pytest.mark.parametrize("p", [15, 40, 143])
def test_wide_gram_product_equals_each_model_alone(p, t):
    """One wide C @ [M_1 ... M_n] gives every model the bits of its product alone,
    for the data step (t columns a model) and the C W refresh (k columns)."""
    rng = np.random.default_rng(p + t)
    C = rng.standard_normal((p + 5, p))
    C = C.T @ C
    for c in (t, 5, 40):
        M = rng.standard_normal((max(BATCH_SIZES), p, c))
        alone = np.stack([fc._gram_products([C], [(0, 0, 1)], M[i : i + 1])[0] for i in range(len(M))])
        np.testing.assert_allclose(alone, np.matmul(C, M), rtol=1e-12, atol=1e-9 * np.abs(C).max())
        for size in BATCH_SIZES:
            batch = fc._gram_products([C], [(0, 0, size)], M[:size])
            assert batch.flags.c_contiguous
            assert np.array_equal(batch, alone[:size]), (p, c, size)
        # Two training sets in one batch: each run of models uses its own C.
        C2 = C + np.eye(p)
        mixed = fc._gram_products([C, C2], [(0, 0, 3), (1, 3, 10)], M[:10])
        assert np.array_equal(mixed[:3], alone[:3])
        alone2 = np.stack([fc._gram_products([C2], [(0, 0, 1)], M[i : i + 1])[0] for i in range(3, 10)])
        assert np.array_equal(mixed[3:], alone2)
        only_second = fc._gram_products([C, C2], [(1, 0, 7)], M[3:10])  # e.g. after retirements
        assert np.array_equal(only_second, alone2)


def test_wide_gram_product_in_blocks(monkeypatch):
    """Batches wider than _WIDE_MAX_COLUMNS are split into several wide GEMMs, with
    the same bits."""
    rng = np.random.default_rng(38)
    C = rng.standard_normal((30, 30))
    M = rng.standard_normal((30, 30, 5))
    alone = np.stack([fc._gram_products([C], [(0, 0, 1)], M[i : i + 1])[0] for i in range(30)])
    monkeypatch.setattr(fc, "_WIDE_MAX_COLUMNS", 16)  # 3 models of 5 columns per GEMM
    assert np.array_equal(fc._gram_products([C], [(0, 0, 30)], M), alone)
    assert np.array_equal(fc._gram_products([C, C], [(0, 0, 7), (1, 7, 30)], M), alone)


@pytest.mark.parametrize("update", ["reference", "proximal"])
@pytest.mark.parametrize("t", [1, 2, 3])
def test_model_bits_do_not_depend_on_batch_size(update, t):
    """A model fitted alone equals the same model in batches of 1, 2, 7 and 30, for
    every k value of the batch (k = 5: C W padded to a whole kernel tile; k = 16: a
    whole number of tiles; k = 40 > p: the row-space solve), with one training set or
    two (folds); the reference rule runs past an exact refresh of C W (epoch 25)."""
    G, Y = make_problem(120, 30, t, seed=30 + t)
    folds = fold_split(G, Y)
    shared = [fc.sufficient_statistics(G, Y)]
    per_fold = [fc.sufficient_statistics(Gf, Yf) for Gf, Yf in folds]
    opts = dict(learning_rate=stable_eta(120), max_iter=30 if update == "reference" else 6,
                update=update, l1_penalty=0.5)
    ks = (5, 16, 40)
    for stats_list in (shared, per_fold):
        n_sets = len(stats_list)
        alone = {}
        for size in BATCH_SIZES:
            specs = [fc.ModelSpec(k, 100 + i, i % n_sets) for i in range(size) for k in ks]
            batch = fc.fit_forge_batch(stats_list, specs, **opts)
            for spec, res in zip(specs, batch):
                key = (spec.n_components, spec.seed, spec.stats_index)
                if key not in alone:
                    alone[key] = fc.fit_forge_batch(stats_list, [spec], **opts)[0]
                ref = alone[key]
                assert np.array_equal(res.W, ref.W), (size, key)
                assert np.array_equal(res.heads, ref.heads), (size, key)
                assert np.array_equal(res.loss_history, ref.loss_history), (size, key)


def test_unchecked_wide_shape_falls_back_to_the_same_bits(monkeypatch):
    """Where the wide GEMM is not known to be batch-free, models are multiplied one by
    one, with the same bits as the wide product wherever that one is batch-free."""
    G, Y = make_problem(80, 30, 2, seed=33)
    stats_list = [fc.sufficient_statistics(G, Y)]
    specs = [fc.ModelSpec(6, s) for s in range(9)]
    opts = dict(learning_rate=stable_eta(80), max_iter=30)
    wide = fc.fit_forge_batch(stats_list, specs, **opts)
    monkeypatch.setattr(fc, "_wide_is_batch_free", lambda p, n_models, n_columns: False)
    one_by_one = fc.fit_forge_batch(stats_list, specs, **opts)
    for a, b in zip(wide, one_by_one):
        assert np.array_equal(a.W, b.W) and np.array_equal(a.loss_history, b.loss_history)


# ---------------------------------------------------------------------------
# Rank rule: k above the rank of C
# ---------------------------------------------------------------------------
def _count_cholesky_attempts(monkeypatch):
    calls = []
    posv = fc._POSV

    def counting(a, b, **kwargs):
        calls.append(a.shape[0])
        return posv(a, b, **kwargs)

    monkeypatch.setattr(fc, "_POSV", counting)
    return calls


def test_k_above_gene_count_skips_cholesky_every_epoch(monkeypatch):
    """k > p: Z'Z is singular at every epoch, so such models are never given to a
    k x k Cholesky; they are solved in the row space of W (a p x p Cholesky), and
    models of another k in the same call are untouched."""
    G, Y = make_problem(50, 6, 2, seed=34)
    stats_list = [fc.sufficient_statistics(G, Y)]
    calls = _count_cholesky_attempts(monkeypatch)
    epochs = 20
    specs = [fc.ModelSpec(9, s) for s in range(3)] + [fc.ModelSpec(4, s) for s in range(2)]
    results = fc.fit_forge_batch(stats_list, specs, learning_rate=stable_eta(50), max_iter=epochs)
    assert 9 not in calls  # never a Cholesky attempt on a 9 x 9 Z'Z of rank 6
    # C^{-1} G'Y once (6 x 6), then one 6 x 6 row-space solve per model-epoch
    assert calls.count(6) == 1 + 3 * (epochs + 1)
    assert calls.count(4) == 2 * (epochs + 1)  # the k = 4 models are solved by Cholesky
    ols = np.linalg.lstsq(G, Y, rcond=None)[0]
    for res in results[:3]:
        assert res.rank == 6
        assert rel_diff(G @ res.W @ res.heads, G @ ols) < 1e-8
        # minimum-norm heads, as the pseudo-inverse gives them
        Z = G @ res.W
        assert rel_diff(res.heads, np.linalg.pinv(Z.T @ Z) @ Z.T @ Y) < 1e-8
    assert all(res.rank == 4 for res in results[3:])


def test_rank_rule_when_c_is_singular(monkeypatch):
    """k > p but C singular (fewer samples than genes, or duplicated genes): the one
    Cholesky attempt is on C itself, once; then the pseudo-inverse every epoch, with
    no further attempt. A model with n < k <= p is tried once, then stays on it."""
    epochs = 15
    G, Y = make_problem(12, 20, 2, seed=36)  # n = 12 < p = 20
    calls = _count_cholesky_attempts(monkeypatch)
    res = fc.fit_forge_batch([fc.sufficient_statistics(G, Y)], [fc.ModelSpec(24, 1)],
                             learning_rate=stable_eta(12), max_iter=epochs)[0]
    assert calls == [20] and res.rank <= 12
    Z = G @ res.W
    assert rel_diff(res.heads, np.linalg.pinv(Z.T @ Z) @ Z.T @ Y) < 1e-8
    calls.clear()
    res = fc.fit_forge_batch([fc.sufficient_statistics(G, Y)], [fc.ModelSpec(14, 1)],
                             learning_rate=stable_eta(12), max_iter=epochs)[0]
    assert calls == [14] and res.rank <= 12
    Z = G @ res.W
    assert rel_diff(res.heads, np.linalg.pinv(Z.T @ Z) @ Z.T @ Y) < 1e-8

    G, Y = make_problem(60, 6, 2, seed=37)
    G[:, 3:] = G[:, :3]  # rank(C) = 3
    calls.clear()
    res = fc.fit_forge_batch([fc.sufficient_statistics(G, Y)], [fc.ModelSpec(8, 2)],
                             learning_rate=stable_eta(60), max_iter=epochs)[0]
    assert calls == [6] and res.rank == 3
    Z = G @ res.W
    assert rel_diff(res.heads, np.linalg.pinv(Z.T @ Z) @ Z.T @ Y) < 1e-6


def test_rank_deficient_model_keeps_its_fallback_and_spares_batch_mates(monkeypatch):
    """A model whose Z'Z fails Cholesky (k <= p, but C has lower rank) is tried once,
    then stays on the pseudo-inverse; a full-rank batch mate is unaffected."""
    G, Y = make_problem(60, 8, 2, seed=35)
    G_dup = G.copy()
    G_dup[:, 4:] = G_dup[:, :4]  # rank(C) = 4 < k = 5 <= p = 8
    stats_list = [fc.sufficient_statistics(G, Y), fc.sufficient_statistics(G_dup, Y)]
    specs = [fc.ModelSpec(5, 1, 0), fc.ModelSpec(5, 2, 1)]
    opts = dict(learning_rate=stable_eta(60), max_iter=30)
    calls = _count_cholesky_attempts(monkeypatch)
    together = fc.fit_forge_batch(stats_list, specs, **opts)
    assert len(calls) == (opts["max_iter"] + 1) + 1  # full-rank model every epoch, the other once
    assert together[0].rank == 5 and together[1].rank == 4
    alone = fc.fit_forge_batch(stats_list[:1], specs[:1], **opts)[0]
    assert np.array_equal(together[0].W, alone.W)
    assert np.array_equal(together[0].loss_history, alone.loss_history)
    # The deficient model is still the minimum-norm least-squares fit at its own W.
    res = together[1]
    Z = G_dup @ res.W
    assert rel_diff(res.heads, np.linalg.lstsq(Z, Y, rcond=None)[0]) < 1e-6


@pytest.mark.parametrize("t", [1, 2, 3])
def test_estimator_equals_batch_driver(t):
    G, Y = make_problem(70, 12, t, seed=18)
    Y_fit = Y[:, 0] if t == 1 else Y  # an individual model may be fitted on a 1-D target
    opts = dict(l1_penalty=LAM, learning_rate=stable_eta(70), max_iter=40)
    model = fc.FORGE(n_components=4, random_state=45, **opts).fit(G, Y_fit)
    ref = fc.fit_forge_batch([fc.sufficient_statistics(G, Y)], [fc.ModelSpec(4, 45)], **opts)[0]
    assert np.array_equal(model.components_, ref.W)
    assert np.array_equal(model.heads_, ref.heads)
    assert np.array_equal(model.loss_history_, ref.loss_history)
    assert model.n_iter_ == 40 and model.converged_ is False
    np.testing.assert_allclose(model.transform(G), G @ ref.W, rtol=1e-12)
    np.testing.assert_allclose(model.predict(G), G @ ref.W @ ref.heads, rtol=1e-12, atol=1e-12)


def test_invalid_inputs_raise():
    G, Y = make_problem(20, 5, 2)
    with pytest.raises(ValueError):
        fc.sufficient_statistics(G, Y[:10])
    G_bad = G.copy()
    G_bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        fc.sufficient_statistics(G_bad, Y)
    with pytest.raises(ValueError):
        fc.fit_forge_batch([fc.sufficient_statistics(G, Y)], [fc.ModelSpec(2, 0)], update="adam")


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------
def naive_c_index(y, f):
    concordant, comparable = 0.0, 0
    for i in range(len(y)):
        for j in range(len(y)):
            if y[i] > y[j]:
                comparable += 1
                if f[i] > f[j]:
                    concordant += 1.0
                elif f[i] == f[j]:
                    concordant += 0.5
    return concordant / comparable


def test_regression_metrics_against_scipy_and_formulas():
    rng = np.random.default_rng(19)
    y = rng.standard_normal(150)
    f = 0.6 * y + 0.5 * rng.standard_normal(150)
    m = fc.regression_metrics(y, f)
    assert m["pearson"] == pytest.approx(stats.pearsonr(y, f)[0], rel=1e-12)
    assert m["spearman"] == pytest.approx(stats.spearmanr(y, f)[0], rel=1e-12)
    yc, fc_ = y - y.mean(), f - f.mean()
    assert m["pearson"] == pytest.approx(yc @ fc_ / np.sqrt((yc @ yc) * (fc_ @ fc_)), rel=1e-12)
    assert m["r2"] == pytest.approx(1 - np.sum((y - f) ** 2) / np.sum(yc**2), rel=1e-12)
    assert m["mae"] == pytest.approx(np.mean(np.abs(y - f)), rel=1e-12)
    assert m["mse"] == pytest.approx(np.mean((y - f) ** 2), rel=1e-12)
    assert m["c_index"] == pytest.approx(naive_c_index(y, f), rel=1e-12)
    assert m["n"] == 150


def test_regression_metrics_constant_prediction_and_length_mismatch():
    y = np.arange(10.0)
    m = fc.regression_metrics(y, np.zeros(10))
    assert np.isnan(m["pearson"]) and np.isnan(m["spearman"])
    assert m["c_index"] == 0.5
    with pytest.raises(ValueError):
        fc.regression_metrics(y, np.zeros(9))


def test_concordance_index_with_ties():
    rng = np.random.default_rng(20)
    y = rng.integers(0, 5, size=200).astype(float)  # many tied observations
    f = np.round(y + rng.standard_normal(200), 0)  # many tied predictions
    assert fc.concordance_index(y, f) == pytest.approx(naive_c_index(y, f), rel=1e-12)
    # Perfect, reversed and constant predictions.
    assert fc.concordance_index(y, y) == 1.0
    assert fc.concordance_index(y, -y) == 0.0
    assert fc.concordance_index(y, np.ones_like(y)) == 0.5
    # Larger than one 1024-row block.
    y2 = rng.integers(0, 50, size=2100).astype(float)
    f2 = np.round(y2 + 5 * rng.standard_normal(2100))
    d_y = y2[:, None] - y2[None, :]
    d_f = f2[:, None] - f2[None, :]
    mask = d_y > 0
    expected = ((d_f[mask] > 0).sum() + 0.5 * (d_f[mask] == 0).sum()) / mask.sum()
    assert fc.concordance_index(y2, f2) == expected  # exact counts: the same double


# ---------------------------------------------------------------------------
# Interpretation
# ---------------------------------------------------------------------------
def test_gene_effects_hand_built():
    W = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, -1.0]])
    heads = np.array([[3.0, 0.0], [4.0, -2.0]])  # h_D = (3, 4), |h_D| = 5; h_I = (0, -2)
    eff = fc.gene_effects(W, heads)
    np.testing.assert_allclose(eff["dependency_effect"], W @ np.array([0.6, 0.8]))
    np.testing.assert_allclose(eff["dependency_effect"], [0.6, 1.6, -0.2])
    # IC50 effect: minus W times the unit IC50 head (0, -1), so +W[:, 1].
    np.testing.assert_allclose(eff["ic50_effect"], [0.0, 2.0, -1.0])
    np.testing.assert_allclose(eff["total_influence"], [0.6, 3.6, -1.2])
    # Scaling a head does not change the effects (L2 normalisation).
    eff_scaled = fc.gene_effects(W, heads * np.array([10.0, 0.1]))
    for key in eff:
        np.testing.assert_allclose(eff_scaled[key], eff[key])


def test_gene_effects_multi_drug_column_and_zero_head():
    W = np.eye(2)
    heads = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 5.0]])  # first drug head is zero
    eff = fc.gene_effects(W, heads, ic50_column=2)
    np.testing.assert_allclose(eff["ic50_effect"], [0.0, -1.0])
    eff0 = fc.gene_effects(W, heads, ic50_column=1)
    assert np.isfinite(eff0["ic50_effect"]).all() and np.all(eff0["ic50_effect"] == 0)


def test_benefit_weights_give_benefit_score():
    W = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, -1.0]])
    heads = np.array([[3.0, 0.0], [4.0, -2.0]])
    weights = fc.benefit_weights(W, heads)
    np.testing.assert_allclose(weights, W @ np.array([3.0, 6.0]))
    G, Y = make_problem(40, 3, 2, seed=21)
    predicted = G @ W @ heads  # centred: G is centred per gene
    np.testing.assert_allclose(G @ weights, predicted[:, 0] - predicted[:, 1], rtol=1e-12, atol=1e-12)
    # Same identity on a fitted model.
    model = fc.FORGE(n_components=2, max_iter=20, learning_rate=stable_eta(40)).fit(G, Y)
    pred = model.predict(G)
    np.testing.assert_allclose(G @ fc.benefit_weights(model.components_, model.heads_),
                               pred[:, 0] - pred[:, 1], rtol=1e-10, atol=1e-12)
    assert abs(pred.mean(axis=0)).max() < 1e-10
