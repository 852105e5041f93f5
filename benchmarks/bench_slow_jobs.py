"""Benchmark: where the demo's two slowest single jobs spend their time (issue 28).

Run from the repository root on a finished demo run (``make demo``, or ``snakemake --cores 2`` in
a copy of the repository; ``--run`` is that directory)::

    .venv/bin/python benchmarks/bench_slow_jobs.py --run . [--pair A1CF_VORINOSTAT]
        [--before-library /path/to/old/scripts] [--skip-umap] [--skip-validation]

Every measurement is a fresh Python process (imports and numba compilation included, as in a
Snakemake job); its CPU is the process's and its reaped children's (pydeseq2's joblib workers).

* ``validate_tahoe``: the library call of rule ``validate_tahoe_pair`` on the run's inputs, with
  pydeseq2's default worker processes (``n_cpus=None``: one loky worker per CPU) and with the
  fits in the job's process (``n_cpus=1``, what the rule passes: its threads); with
  ``--before-library`` also the same call from an older library (its own defaults). Prints wall
  and CPU seconds per variant and whether the tables are byte-identical (SHA-256 of their TSV).
* ``umap``: the UMAP of every pair's embedding (rule ``embedding_umap``) with a plain
  ``import umap`` (numba compiles umap-learn's functions in every process), and through
  :func:`forge.analysis.embedding.import_umap` with an empty numba cache directory (first run),
  the same directory again (second run), and numba's own location as the rule uses it (next to
  umap-learn's package: compiled by the first run on an installation, read afterwards). Prints import, first-pair and other-pairs
  seconds (wall and CPU) and whether the coordinates are byte-identical.

The machine's load average is printed at the start and end of each section: on a shared machine
wall times move with it, CPU seconds much less.
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

REPO = Path(__file__).resolve().parents[1]

VALIDATE = r"""
import glob, hashlib, inspect, json, os, resource, sys, time
t0 = time.perf_counter()
run, pair, n_cpus = sys.argv[1], sys.argv[2], sys.argv[3]
os.chdir(run)
import pandas as pd
import yaml
from threadpoolctl import threadpool_limits
from forge.analysis.pair import read_libraries
from forge.config import validate_config
from forge.io import read_parquet_matrix
from forge.validation.run import load_pair_models, validate_tahoe
imported = time.perf_counter() - t0
config = validate_config(yaml.safe_load(open("config/config.yaml")), "workflow/schemas/config.schema.yaml")
name = config["run_name"] or config["cohort"]
results, tahoe = f"results/{name}", f"resources/processed/{name}/tahoe"
shared = config["validation"]
settings = dict(shared["tahoe"], recipes=shared["recipes"], min_cohort_size=shared["min_cohort_size"],
                robustness_fisher_resamples=shared["robustness"]["fisher_resamples"])
libraries = config["analysis"]["enrichment"]["libraries"] or sorted(glob.glob(f"resources/raw/demo/{name}/genesets.gmt"))
with threadpool_limits(limits=1):  # the rule's threads: 1
    models = load_pair_models(f"{results}/models/{pair}", sorted(glob.glob(f"{results}/models_k/{pair}/k*")),
                              f"{results}/pairs/{pair}/expression.parquet", f"{results}/pairs/{pair}/split.tsv",
                              f"{results}/pairs/{pair}/ridge_model.json")
    samples = pd.read_csv(f"{tahoe}/samples.tsv", sep="\t", dtype={"cell_line": str, "plate": str, "sample": str})
    args = (models, read_parquet_matrix(f"{tahoe}/expression_dmso.parquet"),
            read_parquet_matrix(f"{tahoe}/expression_treated.parquet"),
            read_parquet_matrix(f"{tahoe}/pseudobulk_counts.parquet"), samples, settings, config["tahoe"]["control"],
            read_libraries(libraries), config["analysis"]["enrichment"])
    kwargs = {}
    if n_cpus != "library":
        kwargs["n_cpus"] = None if n_cpus == "none" else int(n_cpus)
    start = time.perf_counter()
    tables = validate_tahoe(*args, **kwargs)
    call = time.perf_counter() - start
digest = hashlib.sha256()
for table_name in sorted(tables):
    digest.update(table_name.encode())
    digest.update(tables[table_name].to_csv(sep="\t").encode())
print(json.dumps(dict(import_seconds=round(imported, 2), call_seconds=round(call, 2), sha256=digest.hexdigest())))
"""

UMAP = r"""
import hashlib, json, resource, sys, time
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
t0, c0 = time.perf_counter(), cpu()
import numpy as np
from forge.analysis.embedding import import_umap, latent_columns, umap_coordinates
from forge.io import read_tsv_indexed
cache = {"": False, "default": True}.get(sys.argv[1], sys.argv[1])
seed, n_neighbors, min_dist = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
import_umap(cache)
figures = dict(import_seconds=time.perf_counter() - t0, import_cpu=cpu() - c0)
digest, calls = hashlib.sha256(), []
for path in sys.argv[5:]:
    table = read_tsv_indexed(path, "sample")
    t, c = time.perf_counter(), cpu()
    coordinates = umap_coordinates(table[latent_columns(table)], seed, n_neighbors, min_dist, numba_cache=cache)
    calls.append((time.perf_counter() - t, cpu() - c))
    digest.update(coordinates.to_numpy().tobytes())
figures.update(first_pair_seconds=calls[0][0], first_pair_cpu=calls[0][1],
               other_pairs_seconds=sum(w for w, _ in calls[1:]), other_pairs_cpu=sum(c for _, c in calls[1:]))
print(json.dumps(dict({k: round(v, 2) for k, v in figures.items()}, sha256=digest.hexdigest())))
"""


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def child(code: str, args: list[str], library: Path, env_extra: dict | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; its JSON line plus wall and CPU (self and reaped children)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(library), PYTHONWARNINGS="ignore", **(env_extra or {}))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return dict(result, process_seconds=round(wall, 2), process_cpu=round(cpu, 2))


def bench_validation(run: Path, pair: str, before_library: Path | None) -> dict:
    variants = [("pydeseq2_default_workers", REPO / "scripts", "none"), ("in_process", REPO / "scripts", "1")]
    if before_library is not None:
        variants.insert(0, ("before_library", before_library, "library"))
    out = dict(load_start=load(), pair=pair)
    for name, library, n_cpus in variants:
        out[name] = child(VALIDATE, [str(run), pair, n_cpus], library)
    out["load_end"] = load()
    out["identical"] = len({out[name]["sha256"] for name, _, _ in variants}) == 1
    return out


def bench_umap(run: Path) -> dict:
    import yaml

    sys.path.insert(0, str(REPO / "scripts"))
    from forge.config import validate_config

    config = validate_config(yaml.safe_load((run / "config/config.yaml").read_text()),
                             run / "workflow/schemas/config.schema.yaml", base_dir=run)
    name = config["run_name"] or config["cohort"]
    settings = config["analysis"]["umap"]
    embeddings = sorted(str(p) for p in (run / f"results/{name}/pairs").glob("*/embedding.tsv"))
    if not embeddings:
        raise SystemExit(f"{run}/results/{name}/pairs/*/embedding.tsv: none; run the demo first")
    args = [str(settings["seed"]), str(settings["n_neighbors"]), str(settings["min_dist"]), *embeddings]
    out = dict(load_start=load(), pairs=len(embeddings))
    with tempfile.TemporaryDirectory() as cache:
        out["plain_import"] = child(UMAP, ["", *args], REPO / "scripts")
        out["cached_first_run"] = child(UMAP, [cache, *args], REPO / "scripts")
        out["cached_second_run"] = child(UMAP, [cache, *args], REPO / "scripts")
        # what the rule does: numba's own location (next to umap-learn's package); compiled by
        # the first run on this installation, read by every later one
        out["numba_default_location"] = child(UMAP, ["default", *args], REPO / "scripts")
    out["load_end"] = load()
    out["identical"] = len({out[k]["sha256"] for k in ("plain_import", "cached_first_run", "cached_second_run",
                                                         "numba_default_location")}) == 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a finished demo run (its working directory)")
    parser.add_argument("--pair", default="A1CF_VORINOSTAT", help="pair of the validate_tahoe_pair measurement")
    parser.add_argument("--before-library", type=Path, help="an older scripts/ directory to compare with")
    parser.add_argument("--skip-validation", action="store_true")
    parser.add_argument("--skip-umap", action="store_true")
    options = parser.parse_args()
    run = options.run.resolve()
    figures: dict = dict(cpus=os.cpu_count())
    if not options.skip_validation:
        figures["validate_tahoe"] = bench_validation(run, options.pair, options.before_library)
    if not options.skip_umap:
        figures["umap"] = bench_umap(run)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
