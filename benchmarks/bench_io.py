"""Benchmark: loading a DepMap-sized raw count matrix with ``parsers.read_counts_matrix``.

Generates (once, cached) a CSV in the layout of ``OmicsExpressionRNASeQCGeneCountProfile.csv``
at the real size (default 1,700 profiles x 54,000 genes, ~0.5 GB), then loads it in a fresh
child process and prints one JSON line with the wall time and the child's peak RSS.
Targets on 2 cores: <= 60 s and <= 6 GB.

    python benchmarks/bench_io.py                      # real size, file in $TMPDIR
    python benchmarks/bench_io.py --rows 200 --genes 5000 --path /tmp/small.csv
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def write_counts_csv(path: Path, rows: int, genes: int, seed: int = 0) -> None:
    """Write a count matrix with DepMap's header layout, in row blocks to bound memory.

    Counts follow a log-normal gene mean with Poisson noise and carry three decimals where
    non-zero, so the file has the real mix of zeros and multi-digit values and about the
    real file size (~0.5 GB at 1,700 x 54,000).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    gene_mean = np.exp(rng.normal(0.5, 2.5, genes))
    names = [""] + [f"GENE{j} (ENSG{j:011d})" for j in range(genes)]
    tmp = path.with_name(path.name + ".part")
    with pa.OSFile(str(tmp), "wb") as sink:
        writer = None
        for start in range(0, rows, 100):
            block = min(100, rows - start)
            library = rng.lognormal(0.0, 0.3, (block, 1))
            counts = rng.poisson(gene_mean[None, :] * library).astype(np.float64)
            # expected-count style decimals on non-zero entries, as in the DepMap release
            counts = np.round(counts * rng.uniform(0.95, 1.05, counts.shape), 3)
            arrays = [pa.array([f"PR-{i:06d}" for i in range(start, start + block)])]
            arrays += [pa.array(counts[:, j]) for j in range(genes)]
            table = pa.Table.from_arrays(arrays, names=names)
            if writer is None:
                writer = pacsv.CSVWriter(sink, table.schema)
            writer.write_table(table)
        writer.close()
    os.replace(tmp, path)


LOADER = """
import sys, time, json
sys.path.insert(0, {scripts!r})
from forge.sources import parsers
start = time.perf_counter()
# the file carries expected-count decimals (see write_counts_csv): round them, as data.non_integer_counts: round does
counts, dropped = parsers.read_counts_matrix({path!r}, non_integer="round")
seconds = time.perf_counter() - start
print(json.dumps(dict(seconds=seconds, shape=list(counts.shape), dropped=len(dropped))))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1700)
    parser.add_argument("--genes", type=int, default=54000)
    parser.add_argument("--path", type=Path, default=Path(tempfile.gettempdir()) / "forge_bench_counts.csv")
    args = parser.parse_args()

    if not args.path.exists():
        start = time.perf_counter()
        write_counts_csv(args.path, args.rows, args.genes)
        print(f"# wrote {args.path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    code = LOADER.format(scripts=str(SCRIPTS), path=str(args.path))
    start = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(child.stderr)
    loaded = json.loads(child.stdout.strip().splitlines()[-1])
    peak_rss_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2  # KiB on Linux
    print(
        json.dumps(
            dict(
                file=str(args.path),
                bytes=args.path.stat().st_size,
                shape=loaded["shape"],
                load_seconds=round(loaded["seconds"], 2),
                process_seconds=round(wall, 2),
                peak_rss_gb=round(peak_rss_gb, 2),
                target_seconds=60,
                target_rss_gb=6,
                cores=os.cpu_count(),
            )
        )
    )


if __name__ == "__main__":
    main()
