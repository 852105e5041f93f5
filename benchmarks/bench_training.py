"""Benchmark: the whole training stage at paper scale, batched solver vs the published loop.

Synthetic data of real size: 10 pairs, n = 650 cell lines (80/20 split), p = 200 genes.
Per pair, as the workflow's tune_pair and train_pair jobs do it: the k tuning curve
(k = 10, 20, ..., 150 x 5 initialisations, joint model) and 10 replicates of the joint,
dependency-only and IC50-only models at k = 40; 500 epochs, reference rule.

The batched stage runs as the workflow runs it: one job per pair, as many jobs at a time as
cores, each limited to one BLAS thread (it is also timed in one process with default
threads). The same work done one model at a time with the published loop takes long, so it
is timed on a sample (every k of the grid and each model kind once, for a few epochs) and
extrapolated per epoch; the printed figure says so. The script also counts the Snakemake
jobs of the training stage with a dry run of the workflow on 10 pairs (unless
--skip-dag), and prints one JSON line.

    python benchmarks/bench_training.py            # full size, a few minutes on 2 cores
    python benchmarks/bench_training.py --quick    # seconds; for the smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_solver import naive_fit  # noqa: E402  (the published loop, in its order of operations)
from forge.modelling.model import PairData, split_samples  # noqa: E402
from forge.modelling.training import fit_replicates, tuning_curve  # noqa: E402


def synthetic_pair(n: int, p: int, seed: int) -> PairData:
    """Correlated z-scorable expression with a planted linear signal in both outputs."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    factors = rng.standard_normal((n, max(2, p // 20)))
    expression = factors @ rng.standard_normal((factors.shape[1], p)) + rng.standard_normal((n, p)) + 5
    signal = expression[:, :10].sum(axis=1)
    signal = (signal - signal.mean()) / signal.std()
    samples = pd.Index([f"S{i:04d}" for i in range(n)])
    outputs = pd.DataFrame(
        {"T_dependency": 0.2 * signal + rng.normal(0, 0.2, n), "D_ic50": -1.0 * signal + rng.normal(0, 1.5, n)},
        index=samples,
    )
    frame = pd.DataFrame(expression, index=samples, columns=[f"G{j:03d}" for j in range(p)])
    return PairData(frame, outputs, split_samples(samples, 0.2, seed=42))


def fit_pair_stage(data: PairData, k_grid, n_init, replicates, epochs) -> None:
    """One pair's tune_pair + train_pair work."""
    options = dict(max_iter=epochs, learning_rate=1e-3, l1_penalty=1e-3, update="reference")
    genes = list(data.expression.columns)
    tuning_curve(data, genes, k_grid, n_init, 42, options)
    fit_replicates(data, genes, ["joint", "dependency_only", "ic50_only"], list(range(42, 42 + replicates)), 40, options)


def _worker_init() -> None:
    from threadpoolctl import threadpool_limits

    global _LIMITS  # keep the limit alive for the worker's life
    _LIMITS = threadpool_limits(limits=1)


def batched_stage(pairs: list[PairData], k_grid, n_init, replicates, epochs, workers: int) -> float:
    """Wall time of the training stage as the workflow runs it: one job per pair,
    ``workers`` jobs at a time with one BLAS thread each (``threads: 1`` on ``--cores``)."""
    start = time.perf_counter()
    if workers <= 1:
        for data in pairs:
            fit_pair_stage(data, k_grid, n_init, replicates, epochs)
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init) as pool:
            futures = [pool.submit(fit_pair_stage, data, k_grid, n_init, replicates, epochs) for data in pairs]
            for future in futures:
                future.result()
    return time.perf_counter() - start


def naive_seconds_per_epoch(data: PairData, k: int, columns: list[str], sample_epochs: int) -> float:
    """Per-epoch time of the published loop for one model (z-scored training data)."""
    train = data.expression.loc[data.train].to_numpy()
    G = (train - train.mean(axis=0)) / train.std(axis=0, ddof=1)
    Y = data.outputs.loc[data.train, columns].to_numpy()
    Y = Y - Y.mean(axis=0)
    weights = np.ones(len(columns))
    start = time.perf_counter()
    naive_fit(G, Y, k, 42, 1e-3, 1e-3, sample_epochs, weights)
    return (time.perf_counter() - start) / sample_epochs


def count_training_jobs(n_pairs: int) -> dict[str, int]:
    """Dry-run the workflow (demo cohort) with ``n_pairs`` pairs and count jobs per rule."""
    work = Path(tempfile.mkdtemp(prefix="forge_bench_dag_"))
    try:
        for part in ("Snakefile", "workflow", "scripts", "config", "envs", "profiles", "docs"):
            source = REPO / part
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, work / part)
        drugs = ["ERLOTINIB", "GEFITINIB", "DAPORINAD", "DABRAFENIB", "VORINOSTAT"]
        targets = ["EGFR", "NAMPT", "BRAF"]
        rows = [(d, t) for t in targets for d in drugs][:n_pairs]
        pd.DataFrame(rows, columns=["drug", "target"]).to_csv(work / "config/pairs.tsv", sep="\t", index=False)
        (work / "bench.yaml").write_text("stages:\n  tahoe: false\n  pdx: false\n")
        smk = [sys.executable, "-m", "snakemake", "--cores", "2"]
        for extra in (["results/demo/pairs.tsv"], ["-n"]):  # run_name defaults to the cohort, demo
            # --configfile takes several values: keep it last so it does not swallow targets
            dry = subprocess.run(smk + extra + ["--configfile", "bench.yaml"], cwd=work, capture_output=True, text=True)
            if dry.returncode != 0:
                raise RuntimeError(f"snakemake {' '.join(extra)} failed:\n{dry.stderr[-3000:]}")
        counts: dict[str, int] = {}
        in_stats = False
        for line in dry.stdout.splitlines():
            if line.startswith("job "):
                in_stats = True
                continue
            if in_stats:
                parts = line.split()
                if len(parts) == 2 and parts[1].isdigit():
                    counts[parts[0]] = int(parts[1])
                elif counts:
                    break
        return counts
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=650)
    parser.add_argument("--genes", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--n-init", type=int, default=5)
    parser.add_argument("--k-grid", default=",".join(str(k) for k in range(10, 151, 10)))
    parser.add_argument("--sample-epochs", type=int, default=20, help="epochs timed per naive sample model")
    parser.add_argument("--skip-dag", action="store_true", help="do not dry-run the workflow for the job count")
    parser.add_argument("--workers", type=int, default=0, help="parallel pair jobs (default: all cores)")
    parser.add_argument("--no-sequential", action="store_true", help="skip the one-process timing")
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.pairs, args.samples, args.genes, args.epochs, args.replicates = 2, 120, 30, 20, 2
        args.n_init, args.k_grid, args.sample_epochs = 2, "5,10", 5

    k_grid = [int(k) for k in args.k_grid.split(",")]
    pairs = [synthetic_pair(args.samples, args.genes, seed) for seed in range(args.pairs)]
    workers = args.workers or os.cpu_count() or 1
    batched = batched_stage(pairs, k_grid, args.n_init, args.replicates, args.epochs, workers)
    sequential = None if args.no_sequential else batched_stage(pairs, k_grid, args.n_init, args.replicates,
                                                              args.epochs, workers=1)

    # Naive: every epoch of every model, extrapolated from timed samples.
    per_epoch = {k: naive_seconds_per_epoch(pairs[0], k, ["T_dependency", "D_ic50"], args.sample_epochs) for k in k_grid}
    single = naive_seconds_per_epoch(pairs[0], 40, ["T_dependency"], args.sample_epochs)
    joint40 = naive_seconds_per_epoch(pairs[0], 40, ["T_dependency", "D_ic50"], args.sample_epochs)
    per_pair = args.epochs * (args.n_init * sum(per_epoch.values()) + args.replicates * (joint40 + 2 * single))
    naive = args.pairs * per_pair
    n_models = args.pairs * (len(k_grid) * args.n_init + 3 * args.replicates)

    jobs = None if args.skip_dag else count_training_jobs(args.pairs)
    print(json.dumps(dict(
        pairs=args.pairs, n=args.samples, p=args.genes, k_grid=k_grid, n_init=args.n_init,
        replicates=args.replicates, epochs=args.epochs, models=n_models,
        batched_seconds=round(batched, 1),
        batched_note=f"{workers} pair jobs at a time, 1 BLAS thread each, as Snakemake runs the stage",
        batched_seconds_one_process=None if sequential is None else round(sequential, 1),
        naive_seconds_extrapolated=round(naive, 1),
        naive_note=f"published loop timed for {args.sample_epochs} epochs per sampled model "
                   "(each k, each kind) and extrapolated to every model and epoch",
        ratio=round(naive / batched, 1),
        peak_rss_gb=round(max(resource.getrusage(who).ru_maxrss for who in
                              (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024**2, 2),
        snakemake_jobs=jobs,
        training_jobs=None if jobs is None else jobs.get("tune_pair", 0) + jobs.get("train_pair", 0),
        targets=dict(ratio=10, batched_seconds=600),
        cores=os.cpu_count(),
    )))


if __name__ == "__main__":
    main()
