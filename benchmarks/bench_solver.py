"""Benchmark: naive published FORGE loop vs the batched sufficient-statistics solver.

For each sample size n, both solvers fit the same models (one per seed, all on
the same synthetic training set) with the published "reference" update rule:

  (a) naive: the published loop, one model at a time, in the authors' order of
      operations: every epoch Z = G W, the projector pinv(Z'Z) Z', one head,
      error and MSE per task, and per task the gradient term G' (e_j h_j')
      (an n x k outer product times G'), then
      W <- W - eta (4 sum_j w_j G'e_j h_j' + lambda sign(W)) -- O(n p k) per epoch;
  (b) batched: ``forge_core.fit_forge_batch`` with all models in one call.

One JSON line is printed per size. Example:

    python benchmarks/bench_solver.py                 # n = 526 and 5000, 50 models, 500 epochs
    python benchmarks/bench_solver.py --quick         # seconds-long smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import forge_core


def synthetic_problem(n: int, p: int, n_targets: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """z-scored expression with correlated genes (low-rank factors + noise) and centred targets."""
    rng = np.random.default_rng(seed)
    n_factors = max(2, p // 20)
    factors = rng.standard_normal((n, n_factors))
    loadings = rng.standard_normal((n_factors, p))
    G = factors @ loadings + rng.standard_normal((n, p))
    G = (G - G.mean(axis=0)) / G.std(axis=0)
    beta = rng.standard_normal((p, n_targets)) * (rng.random((p, n_targets)) < 0.1)
    Y = G @ beta + 2.0 * rng.standard_normal((n, n_targets))
    return G, Y - Y.mean(axis=0)


def naive_fit(G, Y, k, seed, eta, lam, epochs, task_weights, init_scale=1.0):
    """The published training loop for one model, in its order of operations.

    Per epoch, as the authors' code does it: Z = G W; the projector
    pinv(Z'Z) Z' (k x n); one head per task; the training loss; and one
    gradient term per task formed as G' (e_j h_j'), an (n x k) outer product
    multiplied by G' -- so an epoch costs about (1 + t) n p k multiply-adds.
    """
    p = G.shape[1]
    W = init_scale * np.random.default_rng(np.random.SeedSequence(seed)).standard_normal((p, k))
    for _ in range(epochs):
        Z = G @ W
        projector = np.linalg.pinv(Z.T @ Z) @ Z.T
        data_term = np.zeros_like(W)
        losses = []
        for j in range(Y.shape[1]):
            head = projector @ Y[:, [j]]
            error = Z @ head - Y[:, [j]]
            losses.append(np.mean(error**2))  # the published loop logs the MSE every epoch
            data_term += task_weights[j] * 2.0 * (G.T @ (error @ head.T))
        W = W - eta * (2.0 * data_term + lam * np.sign(W))
    return W


def thread_setting() -> str:
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if os.environ.get(name):
            return f"{name}={os.environ[name]}"
    return f"cpu_count={os.cpu_count()}"


def run_size(n, p, k, epochs, n_models, n_targets, lam, eta_scale):
    G, Y = synthetic_problem(n, p, n_targets)
    eta = eta_scale / n  # the gradient scales with n (summed squared error)
    seeds = list(range(42, 42 + n_models))
    weights = forge_core.task_weight_vector(n_targets, "mean")

    start = time.perf_counter()
    naive_W = [naive_fit(G, Y, k, s, eta, lam, epochs, weights) for s in seeds]
    naive_seconds = time.perf_counter() - start

    start = time.perf_counter()
    stats = forge_core.sufficient_statistics(G, Y)  # counted in the batched time
    results = forge_core.fit_forge_batch(
        [stats],
        [forge_core.ModelSpec(k, s) for s in seeds],
        l1_penalty=lam,
        learning_rate=eta,
        max_iter=epochs,
        update="reference",
    )
    batched_seconds = time.perf_counter() - start

    max_rel_diff = max(
        float(np.abs(res.W - W).max() / np.abs(W).max()) for res, W in zip(results, naive_W)
    )
    return dict(
        n=n,
        p=p,
        k=k,
        epochs=epochs,
        models=n_models,
        naive_seconds=round(naive_seconds, 3),
        batched_seconds=round(batched_seconds, 3),
        ratio=round(naive_seconds / batched_seconds, 2),
        max_rel_diff_W=max_rel_diff,
        threads=thread_setting(),
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50, help="number of models (seeds 42, 43, ...)")
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--sizes", default="526,5000", help="comma-separated sample sizes n")
    parser.add_argument("--genes", type=int, default=200, help="p")
    parser.add_argument("--components", type=int, default=40, help="k")
    parser.add_argument("--targets", type=int, default=2, help="t (2 = joint model)")
    parser.add_argument("--l1", type=float, default=1e-3, help="lambda")
    parser.add_argument("--eta-scale", type=float, default=1e-3, help="learning rate = eta_scale / n")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.epochs, args.sizes = 4, 40, "60,300"
        args.genes, args.components = 20, 5
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        line = run_size(
            n, args.genes, args.components, args.epochs, args.models, args.targets,
            args.l1, args.eta_scale,
        )
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
