"""Benchmark: streaming Tahoe pseudo-bulk aggregation vs scanpy's in-memory aggregation.

Run from the repository root::

    .venv/bin/python benchmarks/bench_tahoe.py            # 2,000,000 cells × 20,000 genes
    .venv/bin/python benchmarks/bench_tahoe.py --cells 300000 --scanpy-cells 50000   # quick

Steps (each heavy step in its own child process, so the peak RSS it reports is its own):

1. generate a synthetic plate with h5py directly, in chunks: CSR ``X`` (float32 integer counts,
   int32 indices, int64 indptr; ~2,000 UMIs and ~950 detected genes per cell, gene abundances
   log-normal), obs with anndata's categorical encoding (50 cell lines × 4 treatments,
   ``drugname_drugconc`` as in Tahoe, 90 % ``pass_filter == "full"``), in a temporary directory;
2. stream it with :func:`tahoe.aggregate_plate` (every drug kept, so every cell is read) and
   report cells/s and peak RSS (``ru_maxrss``);
3. on a smaller plate, time ``scanpy.get.aggregate(adata, by=[...], func="sum")`` after
   ``anndata.read_h5ad`` (read time reported separately), check that both give identical
   counts, and print the ratio of the streaming rate to scanpy's rate.

Prints one JSON object. Targets: ≥ 50,000 cells/s and ≤ 3 GB peak RSS (2 cores).
The big plate (~15 GB) is deleted at the end; the page cache may hold part of it while it
is read back (the figure is then closer to a warm-cache read than to a cold disk).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

N_LINES = 50
TREATMENTS = ["[('DMSO_TF', 0.0, 'uM')]", "[('Erlotinib', 0.05, 'uM')]",
              "[('Gefitinib', 0.05, 'uM')]", "[('Afatinib', 0.05, 'uM')]"]
POOL = 4096  # distinct cell profiles; cells draw one at random (keeps generation fast)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def generate_plate(path: Path, n_cells: int, n_genes: int, seed: int, umis: float = 2000.0,
                   write_rows: int = 100_000) -> dict:
    """Write a Tahoe-like plate h5ad with h5py (matrix) and anndata's element writer (obs, var)."""
    import h5py
    import pandas as pd
    from anndata.io import write_elem

    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0.0, 2.5, n_genes)
    pvals = weights / weights.sum()
    pool_data, pool_indices, pool_len = [], [], []
    for start in range(0, POOL, 512):
        size = min(512, POOL - start)
        library = np.round(np.exp(rng.normal(np.log(umis), 0.4, size))).astype(np.int64)
        dense = rng.multinomial(library, pvals)
        for row in dense:
            nz = np.flatnonzero(row)
            pool_indices.append(nz.astype(np.int32))
            pool_data.append(row[nz].astype(np.float32))
            pool_len.append(nz.size)
    pool_len = np.asarray(pool_len, dtype=np.int64)
    pool_ptr = np.concatenate([[0], np.cumsum(pool_len)])
    pool_data = np.concatenate(pool_data)
    pool_indices = np.concatenate(pool_indices)
    pool_totals = np.add.reduceat(pool_data, pool_ptr[:-1]).astype(np.int64)

    profile = rng.integers(0, POOL, n_cells)
    lengths = pool_len[profile]
    nnz = int(lengths.sum())
    with h5py.File(path, "w") as h5:
        h5.attrs["encoding-type"] = "anndata"
        h5.attrs["encoding-version"] = "0.1.0"
        x = h5.create_group("X")
        x.attrs["encoding-type"] = "csr_matrix"
        x.attrs["encoding-version"] = "0.1.0"
        x.attrs["shape"] = np.array([n_cells, n_genes])
        data = x.create_dataset("data", shape=(nnz,), dtype=np.float32, chunks=(262_144,))
        indices = x.create_dataset("indices", shape=(nnz,), dtype=np.int32, chunks=(262_144,))
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        x.create_dataset("indptr", data=indptr)
        for start in range(0, n_cells, write_rows):
            stop = min(start + write_rows, n_cells)
            chosen = profile[start:stop]
            # positions of the chosen profiles' entries in the pool, concatenated
            lens = pool_len[chosen]
            offsets = np.repeat(pool_ptr[chosen] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
            positions = offsets + np.arange(int(lens.sum()))
            lo, hi = int(indptr[start]), int(indptr[stop])
            data[lo:hi] = pool_data[positions]
            indices[lo:hi] = pool_indices[positions]
        line_names = [f"CVCL_{i:04d}" for i in range(N_LINES)]
        obs = pd.DataFrame({
            "cell_line": pd.Categorical.from_codes(rng.integers(0, N_LINES, n_cells), line_names),
            "drugname_drugconc": pd.Categorical.from_codes(rng.integers(0, len(TREATMENTS), n_cells), TREATMENTS),
            "pass_filter": pd.Categorical.from_codes((rng.random(n_cells) < 0.1).astype(np.int8), ["full", "minimal"]),
            "tscp_count": pool_totals[profile],
            "gene_count": lengths,
        }, index=pd.Index([f"c{i}" for i in range(n_cells)]))
        obs["cell_name"] = pd.Categorical.from_codes(obs["cell_line"].cat.codes, [f"LINE-{i}" for i in range(N_LINES)])
        obs["plate"] = pd.Categorical.from_codes(np.zeros(n_cells, dtype=np.int8), ["plate7"])
        var = pd.DataFrame(index=pd.Index([f"G{i:05d}" for i in range(n_genes)]))
        write_elem(h5, "obs", obs)
        write_elem(h5, "var", var)
        for key in ("layers", "obsm", "obsp", "varm", "varp", "uns"):
            write_elem(h5, key, {})
    return {"cells": n_cells, "genes": n_genes, "nnz": nnz, "nnz_per_cell": nnz / n_cells,
            "umis_per_cell": float(pool_totals[profile].mean()), "file_gb": path.stat().st_size / 1e9}


def stream(path: Path, chunk_rows: int, out: Path | None) -> dict:
    """Streaming aggregation of every drug; optionally saves the counts for the comparison."""
    from forge.external import tahoe

    started = time.perf_counter()
    result = tahoe.aggregate_plate(path, drugs=None, chunk_rows=chunk_rows)
    seconds = time.perf_counter() - started
    if out is not None:
        np.save(out, result.counts)
        result.samples.to_csv(out.with_suffix(".tsv"), sep="\t", index=False)
    n_cells = result.stats["n_cells"]
    return {"cells": n_cells, "seconds": seconds, "cells_per_s": n_cells / seconds,
            "groups": int(result.counts.shape[0]), "peak_rss_mb": _peak_rss_mb(),
            "entries_read": result.stats["entries_read"]}


def scanpy_aggregate(path: Path, streamed: Path) -> dict:
    """scanpy in-memory aggregation of the same plate, checked against the streamed counts."""
    import anndata as ad
    import pandas as pd
    import scanpy as sc

    from forge.external import tahoe

    started = time.perf_counter()
    adata = ad.read_h5ad(path)
    read_seconds = time.perf_counter() - started
    n_cells = adata.n_obs
    started = time.perf_counter()
    adata = adata[(adata.obs["pass_filter"] == "full").to_numpy()]
    aggregated = sc.get.aggregate(adata, by=["plate", "cell_line", "drugname_drugconc"], func="sum")
    seconds = time.perf_counter() - started
    peak = _peak_rss_mb()
    # compare with the streamed counts (sample ids rebuilt from the scanpy groups)
    obs = aggregated.obs
    ids = [tahoe.sample_id(str(p), str(c), *tahoe.parse_drugconc(str(d)))
           for p, c, d in zip(obs["plate"], obs["cell_line"], obs["drugname_drugconc"])]
    in_memory = pd.DataFrame(np.asarray(aggregated.layers["sum"]), index=ids)
    samples = pd.read_csv(streamed.with_suffix(".tsv"), sep="\t")
    mine = pd.DataFrame(np.load(streamed), index=samples["sample"])
    identical = bool(np.array_equal(mine.loc[in_memory.index].to_numpy(), in_memory.to_numpy())
                     and len(mine) == len(in_memory))
    return {"cells": n_cells, "read_seconds": read_seconds, "aggregate_seconds": seconds,
            "cells_per_s": n_cells / seconds, "cells_per_s_with_read": n_cells / (seconds + read_seconds),
            "peak_rss_mb": peak, "identical_to_streaming": identical}


def _child(*args: str) -> dict:
    result = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=2_000_000)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--scanpy-cells", type=int, default=200_000)
    parser.add_argument("--chunk-rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tmpdir", default=None, help="where to write the plates (default: system temp)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "generate":
            out = generate_plate(Path(rest[0]), int(rest[1]), int(rest[2]), int(rest[3]))
        elif kind == "stream":
            out = stream(Path(rest[0]), int(rest[1]), Path(rest[2]) if len(rest) > 2 else None)
        else:
            out = scanpy_aggregate(Path(rest[0]), Path(rest[1]))
        print(json.dumps(out))
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench_tahoe_", dir=args.tmpdir))
    report: dict = {"cpu_count": os.cpu_count(), "chunk_rows": args.chunk_rows}
    try:
        big = tmp / "big_plate.h5ad"
        started = time.perf_counter()
        report["big_plate"] = _child("--child", "generate", str(big), str(args.cells), str(args.genes), str(args.seed))
        report["big_plate"]["generate_seconds"] = time.perf_counter() - started
        report["streaming"] = _child("--child", "stream", str(big), str(args.chunk_rows))
        big.unlink()

        small = tmp / "small_plate.h5ad"
        report["small_plate"] = _child("--child", "generate", str(small), str(args.scanpy_cells), str(args.genes),
                                       str(args.seed + 1))
        report["streaming_small"] = _child("--child", "stream", str(small), str(args.chunk_rows),
                                           str(tmp / "small.npy"))
        if importlib.util.find_spec("scanpy") is None:
            report["scanpy"] = "not installed"
        else:
            report["scanpy"] = _child("--child", "scanpy", str(small), str(tmp / "small.npy"))
            report["scanpy_version"] = importlib.metadata.version("scanpy")
            report["ratio_streaming_vs_scanpy_cells_per_s"] = (
                report["streaming"]["cells_per_s"] / report["scanpy"]["cells_per_s"])
            report["ratio_same_plate"] = (
                report["streaming_small"]["cells_per_s"] / report["scanpy"]["cells_per_s"])
        report["targets"] = {
            "cells_per_s>=50000": report["streaming"]["cells_per_s"] >= 50_000,
            "peak_rss<=3GB": report["streaming"]["peak_rss_mb"] <= 3 * 1024,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
