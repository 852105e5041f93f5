"""Benchmark: the ``voom_expression`` rule (voom logCPM + weights) on a DepMap-sized count matrix.

Generates (once, cached) a seeded counts parquet in the layout ``build_cohort`` writes
(``forge.io.write_parquet_matrix``: a ``ModelID`` column, then one float64 column per gene) at
the real size (default 1,700 models x 54,000 genes), then runs the rule adapter
``workflow/scripts/voom_expression.py`` (read counts, ``voom_with_filters``, write expression and
weights parquet, dropped-genes TSV) in a fresh child process and prints one JSON line with the
wall time and the child's peak RSS (``ru_maxrss`` of that child alone, via ``os.wait4``).
Target: peak RSS <= 4 GB at the real size.

Counts are gamma-Poisson (negative-binomial) with log-normal gene means spanning ~6 orders of
magnitude, a 10% share of genes that are zero in every sample, per-gene dispersions around 0.3
and log-normal library-size factors, so many genes are low or mostly zero, as in DepMap.

    python benchmarks/bench_voom.py                                  # real size, file in $TMPDIR
    python benchmarks/bench_voom.py --samples 200 --genes 5000 --compare-pylimma
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ADAPTER = ROOT / "workflow" / "scripts" / "voom_expression.py"


def simulate_counts(samples: int, genes: int, seed: int = 0) -> np.ndarray:
    """Samples x genes float64 negative-binomial counts, generated in sample blocks."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    gene_mean = np.exp(rng.normal(0.0, 2.5, genes))  # median ~1 read, upper tail ~10^4
    gene_mean[rng.random(genes) < 0.10] = 0.0  # unexpressed genes: zero in every sample
    shape = 1.0 / np.exp(rng.normal(np.log(0.3), 0.5, genes))  # 1 / dispersion
    counts = np.empty((samples, genes), dtype=np.float64)
    for start in range(0, samples, 100):
        stop = min(samples, start + 100)
        library = rng.lognormal(0.0, 0.3, (stop - start, 1))
        rate = gene_mean[None, :] * library * rng.gamma(shape[None, :], 1.0 / shape[None, :], (stop - start, genes))
        counts[start:stop] = rng.poisson(rate)
    return counts


def write_counts(path: Path, samples: int, genes: int, seed: int) -> None:
    """Write the simulated matrix with forge.io.write_parquet_matrix, as build_cohort does."""
    import pandas as pd

    from forge.io import write_parquet_matrix

    counts = simulate_counts(samples, genes, seed)
    frame = pd.DataFrame(
        counts,
        index=pd.Index([f"ACH-{i:06d}" for i in range(samples)], name="ModelID"),
        columns=[f"G{j:05d}" for j in range(genes)],
    )
    del counts
    write_parquet_matrix(frame, path)
    del frame
    gc.collect()


CHILD = """
import json, sys, threading, time, runpy
from types import SimpleNamespace
import psutil
out = {out!r}
smk = SimpleNamespace(
    input=SimpleNamespace(counts={counts!r}),
    output=SimpleNamespace(expression=out + "/expression.parquet", weights=out + "/voom_weights.parquet",
                           dropped_genes=out + "/voom_dropped_genes.tsv"),
    params=SimpleNamespace(gene_universe="", min_count=0, min_samples=1),
    log=[out + "/voom_expression.log"],
    threads=1,
)
adapter = runpy.run_path({adapter!r}, run_name="bench_voom")
namespace = adapter["main"].__globals__

# Per-phase wall time and sampled peak RSS (every 20 ms; the exact peak is ru_maxrss) of the
# adapter's top-level calls (calls nested in another timed one are not separate phases).
process, phases, current = psutil.Process(), [], {{"peak": 0, "depth": 0}}
def sample():
    while True:
        current["peak"] = max(current["peak"], process.memory_info().rss)
        time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
def timed(name, function):
    def wrapper(*args, **kwargs):
        if current["depth"]:
            return function(*args, **kwargs)
        current["peak"], current["depth"], start = process.memory_info().rss, 1, time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            current["depth"] = 0
            peak = max(current["peak"], process.memory_info().rss)
            seconds = round(time.perf_counter() - start, 2)
            phases.append(dict(phase=name, seconds=seconds, peak_rss_gb=round(peak / 1024**3, 3)))
    return wrapper
for name in ("read_parquet_matrix_batched", "voom_with_filters", "write_parquet_matrix_nocopy"):
    if name in namespace and callable(namespace[name]):
        namespace[name] = timed(name, namespace[name])

start = time.perf_counter()
adapter["main"](smk)
print(json.dumps(dict(seconds=time.perf_counter() - start, phases=phases)))
"""

COMPARE = """
import json, sys
import numpy as np
from pylimma import voom
from forge.io import read_parquet_matrix
counts = read_parquet_matrix({counts!r})
expression = read_parquet_matrix({out!r} + "/expression.parquet").to_numpy()
weights = read_parquet_matrix({out!r} + "/voom_weights.parquet").to_numpy()
reference = voom(counts.to_numpy(dtype=np.float64).T, lib_size=counts.sum(axis=1).to_numpy(), adaptive_span=False)
diff = {{}}
for name, ours, theirs in (("E", expression, reference["E"].T), ("weights", weights, reference["weights"].T)):
    delta = np.abs(ours - theirs)
    diff["max_abs_diff_" + name] = float(delta.max())
    diff["max_rel_diff_" + name] = float((delta / np.abs(theirs)).max())
print(json.dumps(diff))
"""


def run_measured(code: str) -> tuple[dict, float, float]:
    """Run ``code`` in a fresh interpreter; return its last JSON line, wall seconds, its peak RSS (GB)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise SystemExit(err.read())
        lines = [line for line in out.read().splitlines() if line.strip()]
    result = json.loads(lines[-1])
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    return result, wall, usage.ru_maxrss / 1024**2  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1700)
    parser.add_argument("--genes", type=int, default=54000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--counts", type=Path, default=None, help="counts parquet (default: cached in $TMPDIR)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--adapter", type=Path, default=ADAPTER, help="rule adapter to run (default: the workflow's)")
    parser.add_argument(
        "--compare-pylimma",
        action="store_true",
        help="also run pylimma's voom on the same counts (in another child) and report max differences",
    )
    args = parser.parse_args()

    counts_path = args.counts or Path(tempfile.gettempdir()) / (
        f"forge_bench_voom_counts_{args.samples}x{args.genes}_seed{args.seed}.parquet"
    )
    if not counts_path.exists():
        start = time.perf_counter()
        write_counts(counts_path, args.samples, args.genes, args.seed)
        print(f"# wrote {counts_path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="forge_bench_voom_") as scratch:
        out = args.out or Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        code = CHILD.format(counts=str(counts_path), out=str(out), adapter=str(args.adapter))
        child, wall, peak_rss_gb = run_measured(code)
        result = dict(
            counts=str(counts_path),
            samples=args.samples,
            genes=args.genes,
            seed=args.seed,
            rule_seconds=round(child["seconds"], 2),
            process_seconds=round(wall, 2),
            cpu_seconds=round(child["cpu_seconds"], 2),
            phases=child["phases"],
            peak_rss_gb=round(peak_rss_gb, 3),
            target_rss_gb=4,
            expression_bytes=(out / "expression.parquet").stat().st_size,
            weights_bytes=(out / "voom_weights.parquet").stat().st_size,
            load_average=[round(x, 2) for x in os.getloadavg()],
            cores=os.cpu_count(),
        )
        if args.compare_pylimma:
            compare = COMPARE.format(counts=str(counts_path), out=str(out))
            diff, _, reference_rss = run_measured(compare)
            result.update(diff)
            result["compare_peak_rss_gb"] = round(reference_rss, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
