"""Smoke test of benchmarks/bench_solver.py (correctness of its output only, no timings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_solver.py"


def test_bench_solver_quick_runs_and_agrees():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 2
    expected_keys = {"n", "p", "k", "epochs", "models", "naive_seconds", "batched_seconds",
                     "ratio", "max_rel_diff_W", "threads"}
    for line in lines:
        assert expected_keys <= set(line)
        assert 0 <= line["max_rel_diff_W"] <= 1e-10


def test_bench_io_small_file(tmp_path):
    bench = BENCH.with_name("bench_io.py")
    csv_path = tmp_path / "counts.csv"
    proc = subprocess.run(
        [sys.executable, str(bench), "--rows", "120", "--genes", "300", "--path", str(csv_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    assert line["shape"] == [120, 300] and line["bytes"] == csv_path.stat().st_size
    assert "load_seconds" in line and "peak_rss_gb" in line  # figures, printed; not asserted on


def test_bench_training_quick_counts_jobs():
    bench = BENCH.with_name("bench_training.py")
    proc = subprocess.run([sys.executable, str(bench), "--quick"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    assert line["models"] == 2 * (2 * 2 + 3 * 2)
    # one tune and one train job per pair: jobs grow with pairs, not with models
    assert line["snakemake_jobs"]["tune_pair"] == 2 and line["snakemake_jobs"]["train_pair"] == 2
    assert line["training_jobs"] == 4
