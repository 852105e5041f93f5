"""Benchmark: the modelling and analysis stages at paper scale, run through Snakemake as a user would.

Generates a DepMap-sized prepared cohort (default 1,700 samples x 20,000 genes) with 50
drug-target pairs, each with planted signal: a latent activity per pair drives a module of
25 genes (the target among them), the target's CRISPR dependency rises and the drug's IC50
falls with it. The inputs are written in the prepared-cohort layout (data.source "prepared",
see scripts/forge/sources/prepared.py): a normalised expression CSV, an outputs CSV with
<TARGET>_dependency and <DRUG>_ic50 columns, a Model.csv for lineages, a pairs table and a
small GMT library for the enrichment. The workflow (Snakefile, workflow, scripts, config,
envs, profiles) is copied into a scratch directory, which gets a config with run_name
"paper_scale" (default k grid 10..150, 10 replicates, baselines, analysis on; tahoe, pdx and
figures off), and ``snakemake --cores 2 --configfile paper_scale.yaml`` runs its default
target there.

One JSON line is printed (progress goes to stderr): wall time of the Snakemake run, peak RSS
of the largest job (Snakemake's benchmark files, column max_rss, and a psutil sampler of the
job processes, which also covers the rules without a benchmark directive), the number of jobs,
and per stage (data: import_prepared, expression_array; modelling: select/prepare/tune/train/baselines/evaluate
and compare; analysis: embed/cluster/de/enrich/umap) the summed job time (benchmark s where
the rule has one, else the job's span in the Snakemake log) and the stage's wall span (first
job start to last job end, from the log's 1-second timestamps). Targets on 2 cores (issue 28):
<= 8 minutes and <= 4 GB peak. It also prints the jobs' summed start-up (each job logs its CPU and
wall seconds before its work, forge.rules.log_startup), the CPU of Snakemake's own process, and a
lower bound from arithmetic alone: the solver's counted FLOPs (bench_solver.batched_epoch_flops
over every tuning fit and trained model) at a one-thread DGEMM rate measured after the run, on
every core. The machine's load average is recorded during the run, and the jobs'
CPU seconds (benchmark cpu_time, else the sampler's): on a shared machine the wall times grow
with the other work, and cpu_share_of_cores / wall_min_if_cpu_bound say by how much.

    .venv/bin/python benchmarks/bench_paper_scale.py            # full size (tens of minutes)
    .venv/bin/python benchmarks/bench_paper_scale.py --small    # 300 x 2,000, 4 pairs: a few minutes
    .venv/bin/python benchmarks/bench_paper_scale.py --workdir /tmp/ps --keep   # keep the run
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
# What a user's checkout contains that a workflow run needs (as tests/conftest.py copies it).
WORKFLOW_PARTS = ("Snakefile", "workflow", "scripts", "config", "envs", "profiles", "docs")
RUN = "paper_scale"
FULL_K_GRID = list(range(10, 151, 10))
GENES_PER_MODULE = 25
LINEAGES = {  # name: relative size
    "Lung": 0.16, "Skin": 0.08, "Breast": 0.08, "Bowel": 0.09, "CNS/Brain": 0.08,
    "Pancreas": 0.06, "Myeloid": 0.06, "Ovary/Fallopian Tube": 0.06, "Lymphoid": 0.12,
    "Esophagus/Stomach": 0.08, "Kidney": 0.05, "Bone": 0.04, "Other": 0.04,
}
# Stage of each rule (rules not listed are counted under "other").
STAGES = {
    "data": ("import_prepared", "expression_array"),
    "modelling": ("select_pairs", "prepare_pair", "tune_pair", "train_pair", "baselines_pair",
                  "evaluate_pair", "compare_pairs", "score_cohort"),
    "analysis": ("embed_pair", "cluster_pair", "de_pair", "enrich_pair", "embedding_umap"),
}
# issue 28's goals (issue 12's were 20 minutes and 8 GB)
TARGET_WALL_MIN = 8.0
TARGET_PEAK_GB = 4.0


def log(message: str) -> None:
    print(f"[bench_paper_scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def write_matrix_csv(path: Path, index: list[str], columns: list[str], values: np.ndarray, fmt: str) -> None:
    """A samples x genes CSV (sample ids first), written row by row (fast, bounded memory)."""
    row_format = ",".join([fmt] * values.shape[1])
    with open(path, "w", newline="\n") as handle:
        handle.write("ModelID," + ",".join(columns) + "\n")
        for sample, row in zip(index, values):
            handle.write(sample + "," + row_format % tuple(row.tolist()) + "\n")


def generate_cohort(inputs: Path, n_samples: int, n_genes: int, n_pairs: int, missing: float,
                    seed: int) -> dict:
    """Write the prepared cohort (expression, outputs, models, pairs table, GMT) into ``inputs``.

    Expression (log-scale, like voom logCPM): gene means, 20 shared background factors,
    lineage shifts on 5 % of genes, unit noise, and per pair a module of 25 genes loading on
    the pair's activity a ~ N(0, 1) (shifted up in one lineage). Dependency of the target
    = sigmoid(1.2 a - 0.3 + N(0, 0.6)) in [0, 1]; IC50 of the drug = 2 - 1.3 a + N(0, 1.2).
    With ``missing`` > 0 that fraction of samples lacks each output (drawn per column).
    """
    need = n_pairs * GENES_PER_MODULE
    if need > n_genes // 2:
        raise SystemExit(f"--genes {n_genes} is too small for {n_pairs} pairs x {GENES_PER_MODULE} module genes "
                         f"(need at least {2 * need})")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    inputs.mkdir(parents=True, exist_ok=True)
    samples = [f"PS{i:05d}" for i in range(n_samples)]
    genes = [f"G{j:05d}" for j in range(n_genes)]
    names = list(LINEAGES)
    weights = np.array(list(LINEAGES.values()))
    lineage = rng.choice(len(names), size=n_samples, p=weights / weights.sum())

    n_factors = 20
    expression = rng.uniform(2.0, 10.0, n_genes)[None, :] + rng.standard_normal((n_samples, n_genes))
    expression += (rng.standard_normal((n_samples, n_factors)) @ (0.4 * rng.standard_normal((n_factors, n_genes))))
    shifts = np.zeros((len(names), n_genes))
    shifted = rng.random((len(names), n_genes)) < 0.05
    shifts[shifted] = rng.normal(0.0, 1.0, shifted.sum())
    expression += shifts[lineage]

    module_genes = rng.permutation(n_genes)[:need].reshape(n_pairs, GENES_PER_MODULE)
    activity = rng.standard_normal((n_samples, n_pairs))
    favoured = rng.integers(0, len(names), n_pairs)  # one lineage per pair with higher activity
    activity += 0.8 * (lineage[:, None] == favoured[None, :])
    activity = (activity - activity.mean(axis=0)) / activity.std(axis=0)
    loadings = rng.uniform(0.6, 1.2, (n_pairs, GENES_PER_MODULE)) * rng.choice([-1.0, 1.0], (n_pairs, GENES_PER_MODULE))
    loadings[:, 0] = np.abs(loadings[:, 0])  # the target rises with its module
    for j in range(n_pairs):
        expression[:, module_genes[j]] += activity[:, [j]] * loadings[j][None, :]

    targets = [genes[module_genes[j, 0]] for j in range(n_pairs)]
    drugs = [f"DRUG{j + 1:03d}" for j in range(n_pairs)]
    dependency = 1.0 / (1.0 + np.exp(-(1.2 * activity - 0.3 + rng.normal(0.0, 0.6, activity.shape))))
    ic50 = 2.0 - 1.3 * activity + rng.normal(0.0, 1.2, activity.shape)
    if missing > 0:
        dependency[rng.random(dependency.shape) < missing] = np.nan
        ic50[rng.random(ic50.shape) < missing] = np.nan
    outputs = pd.DataFrame(index=pd.Index(samples, name="ModelID"))
    for j in range(n_pairs):
        outputs[f"{targets[j]}_dependency"] = np.round(dependency[:, j], 5)
        outputs[f"{drugs[j]}_ic50"] = np.round(ic50[:, j], 4)

    files = dict(expression=inputs / "expression.csv", outputs=inputs / "outputs.csv",
                 models=inputs / "Model.csv", pairs=inputs / "pairs.tsv", gmt=inputs / "genesets.gmt")
    write_matrix_csv(files["expression"], samples, genes, expression, "%.3f")
    outputs.to_csv(files["outputs"])
    pd.DataFrame({"ModelID": samples, "StrippedCellLineName": samples,
                  "OncotreeLineage": [names[i] for i in lineage]}).to_csv(files["models"], index=False)
    pd.DataFrame({"drug": drugs, "target": targets, "extra_drugs": "", "control": "false"}).to_csv(
        files["pairs"], sep="\t", index=False)
    # Gene sets: each module with 15 random genes (so the enrichment has something to find),
    # and random sets of 15 to 250 genes.
    with open(files["gmt"], "w") as handle:
        for j in range(n_pairs):
            members = [genes[g] for g in module_genes[j]] + [genes[g] for g in rng.choice(n_genes, 15, replace=False)]
            handle.write(f"MODULE_{drugs[j]}\tplanted module of {targets[j]}\t" + "\t".join(dict.fromkeys(members)) + "\n")
        for s in range(max(50, min(400, n_genes // 50))):
            size = int(rng.integers(15, 251))
            members = [genes[g] for g in rng.choice(n_genes, size, replace=False)]
            handle.write(f"RANDOM_SET_{s:04d}\trandom\t" + "\t".join(members) + "\n")
    return {key: str(path) for key, path in files.items()}


def write_config(workdir: Path, files: dict, replicates: int, k_grid: list[int], n_init: int) -> Path:
    import yaml

    rel = {key: os.path.relpath(path, workdir) for key, path in files.items()}
    config = {
        "cohort": RUN,
        "run_name": RUN,
        "data": {"source": "prepared",
                 "prepared": {"expression": rel["expression"], "outputs": rel["outputs"], "models": rel["models"]}},
        "stages": {"tahoe": False, "pdx": False, "analysis": True, "figures": False},
        "pairs": {"table": rel["pairs"]},
        "model": {"replicates": replicates},
        "tuning": {"k_grid": k_grid, "n_init": n_init},
        "analysis": {"enrichment": {"libraries": [rel["gmt"]]}},
    }
    path = workdir / f"{RUN}.yaml"
    path.write_text("# generated by benchmarks/bench_paper_scale.py\n" + yaml.safe_dump(config, sort_keys=False))
    return path


def copy_workflow(destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, destination / part,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, destination / part)


# --------------------------------------------------------------------------------------
# Running and measuring
# --------------------------------------------------------------------------------------

SCRIPT_NAME = re.compile(r"\.snakemake/scripts/tmp[^/.]*\.([A-Za-z0-9_]+)\.py")


class Sampler(threading.Thread):
    """Samples the RSS of Snakemake's job processes (and their sum) and the load average."""

    def __init__(self, pid: int, interval: float = 0.5):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.interval = interval
        self.stop = threading.Event()
        self.per_process: dict[tuple[int, float], dict] = {}  # (pid, create_time) -> {rule, rss}
        self.peak_total = 0
        self.loads: list[float] = []
        self.snakemake_cpu = 0.0  # Snakemake's own process (scheduler, job preparation), as last sampled

    def run(self) -> None:
        psutil = self.psutil
        last_load = 0.0
        while not self.stop.is_set():
            total = 0
            try:
                processes = [self.root] + self.root.children(recursive=True)
            except psutil.Error:
                break
            for proc in processes:
                try:
                    key = (proc.pid, proc.create_time())
                    rss = proc.memory_info().rss
                    entry = self.per_process.get(key)
                    if entry is None:
                        match = SCRIPT_NAME.search(" ".join(proc.cmdline()))
                        entry = self.per_process[key] = {"rule": match.group(1) if match else None,
                                                         "rss": 0, "cpu": 0.0}
                    entry["rss"] = max(entry["rss"], rss)
                    times = proc.cpu_times()
                    entry["cpu"] = times.user + times.system
                    if proc is self.root:
                        self.snakemake_cpu = entry["cpu"]
                    total += rss
                except psutil.Error:
                    continue
            self.peak_total = max(self.peak_total, total)
            if time.monotonic() - last_load >= 5:
                self.loads.append(os.getloadavg()[0])
                last_load = time.monotonic()
            self.stop.wait(self.interval)

    def rule_peaks(self) -> dict[str, float]:
        """Largest sampled RSS (MB) of a job process per rule (script name)."""
        peaks: dict[str, float] = {}
        for entry in self.per_process.values():
            if entry["rule"]:
                peaks[entry["rule"]] = max(peaks.get(entry["rule"], 0.0), entry["rss"] / 2**20)
        return peaks

    def rule_cpu(self) -> dict[str, float]:
        """CPU seconds (user + system, as last sampled) of the job processes per rule."""
        cpu: dict[str, float] = {}
        for entry in self.per_process.values():
            if entry["rule"]:
                cpu[entry["rule"]] = cpu.get(entry["rule"], 0.0) + entry["cpu"]
        return cpu


TIMESTAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]\s*$")
JOB_HEAD = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):\s*$")
JOB_ID = re.compile(r"^\s+jobid: (\d+)\s*$")
FINISHED = re.compile(r"^Finished job(?:id)?:? (\d+)")


def parse_log(text: str) -> dict[int, dict]:
    """Jobs of a Snakemake log: jobid -> rule, start and end (epoch seconds, 1-s resolution)."""
    jobs: dict[int, dict] = {}
    now = None
    pending_rule = None
    for line in text.splitlines():
        if m := TIMESTAMP.match(line):
            now = datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y").timestamp()
        elif m := JOB_HEAD.match(line):
            pending_rule = m.group(1)
        elif pending_rule and (m := JOB_ID.match(line)):
            jobs[int(m.group(1))] = {"rule": pending_rule, "start": now, "end": None}
            pending_rule = None
        elif m := FINISHED.match(line):
            job = jobs.get(int(m.group(1)))
            if job is not None:
                job["end"] = now
    return jobs


def read_benchmarks(root: Path) -> list[dict]:
    """Rows of Snakemake's benchmark files under benchmarks/runs/<run>/ (rule = first path part)."""
    rows = []
    for path in sorted(root.rglob("*.tsv")):
        rule = path.relative_to(root).parts[0].removesuffix(".tsv")
        table = pd.read_csv(path, sep="\t")
        for record in table.to_dict("records"):
            rows.append({"rule": rule, "job": str(path.relative_to(root)), "s": float(record["s"]),
                         "max_rss": pd.to_numeric(record.get("max_rss"), errors="coerce"),
                         "cpu_time": pd.to_numeric(record.get("cpu_time"), errors="coerce")})
    return rows


DATE_LINE = re.compile(r"^\s+Date: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


def segment_from_log(path: Path) -> dict:
    """A run segment known only by its log (no record): start from the banner's Date, end from the last timestamp."""
    started = ended = None
    for line in path.read_text(errors="replace").splitlines():
        if started is None and (m := DATE_LINE.match(line)):
            started = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp()
        elif m := TIMESTAMP.match(line):
            ended = datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y").timestamp()
    started = started if started is not None else ended
    return {"log": path.name, "started": started, "ended": ended,
            "wall_s": (ended - started) if started is not None else 0.0, "returncode": None,
            "estimated": True, "rule_peaks_mb": {}, "rule_cpu_s": {}, "peak_total": 0, "loads": []}


def summarise(workdir: Path, segments: list[dict]) -> dict:
    """Rules and stages over the run's segments (one, or more when the run was resumed).

    Job times from each segment's log, shifted so that the pauses between segments do not count
    in the stages' spans; benchmark files (the last run of each job) from benchmarks/runs/<run>/.
    """
    ran, offset, previous_end = [], 0.0, None
    for segment in segments:
        if previous_end is not None and segment["started"] is not None:
            offset += max(0.0, segment["started"] - previous_end)
        previous_end = segment["ended"]
        for job in parse_log((workdir / segment["log"]).read_text(errors="replace")).values():
            if job["rule"] != "all" and job["end"] is not None:
                ran.append({"rule": job["rule"], "start": job["start"] - offset, "end": job["end"] - offset})
    bench_by_rule: dict[str, list[dict]] = {}
    for row in read_benchmarks(workdir / "benchmarks" / "runs" / RUN):
        bench_by_rule.setdefault(row["rule"], []).append(row)
    sampled: dict[str, float] = {}
    sampled_cpu: dict[str, float] = {}
    for segment in segments:
        for rule, value in segment["rule_peaks_mb"].items():
            sampled[rule] = max(sampled.get(rule, 0.0), value)
        for rule, value in segment["rule_cpu_s"].items():
            sampled_cpu[rule] = sampled_cpu.get(rule, 0.0) + value
    rules: dict[str, dict] = {}
    for rule in sorted({job["rule"] for job in ran}):
        mine = [job for job in ran if job["rule"] == rule]
        spans = [job["end"] - job["start"] for job in mine]
        bench = bench_by_rule.get(rule, [])
        rss = [row["max_rss"] for row in bench if row["max_rss"] == row["max_rss"]]
        cpu = [row["cpu_time"] for row in bench if row["cpu_time"] == row["cpu_time"]]
        rules[rule] = {
            "jobs": len(mine),
            "s": round(sum(row["s"] for row in bench), 1) if bench else float(sum(spans)),
            "time_from": "benchmark" if bench else "log",
            "max_s": round(max(row["s"] for row in bench), 1) if bench else float(max(spans)),
            "log_span_s": float(sum(spans)),
            # CPU seconds: the benchmark's cpu_time where the rule has one, else the sampler's
            "cpu_s": round(sum(cpu), 1) if bench and len(cpu) == len(bench) else round(sampled_cpu.get(rule, 0.0), 1),
            "max_rss_mb_benchmark": round(max(rss), 1) if rss else None,
            "max_rss_mb_sampled": round(sampled[rule], 1) if rule in sampled else None,
            "first_start": min(job["start"] for job in mine),
            "last_end": max(job["end"] for job in mine),
        }
    stage_of = {rule: stage for stage, names in STAGES.items() for rule in names}
    stages: dict[str, dict] = {}
    for stage in (*STAGES, "other"):
        members = {r: v for r, v in rules.items() if stage_of.get(r, "other") == stage}
        if not members:
            continue
        stages[stage] = {
            "jobs": sum(v["jobs"] for v in members.values()),
            "job_s": round(sum(v["s"] for v in members.values()), 1),
            "cpu_s": round(sum(v["cpu_s"] for v in members.values()), 1),
            "span_s": max(v["last_end"] for v in members.values()) - min(v["first_start"] for v in members.values()),
            "rules": {r: {"jobs": v["jobs"], "s": v["s"], "cpu_s": v["cpu_s"]} for r, v in members.items()},
        }
    # Largest job by peak RSS, from either source.
    peak_mb, peak_rule, peak_source = 0.0, None, None
    for rule, values in rules.items():
        for source in ("benchmark", "sampled"):
            value = values[f"max_rss_mb_{source}"]
            if value is not None and value > peak_mb:
                peak_mb, peak_rule, peak_source = value, rule, source
    # Per-job overhead: the log span (Snakemake's view) minus the benchmark's s (the script's).
    overheads = []
    for rule, bench in bench_by_rule.items():
        if rule in rules and rules[rule]["jobs"] == len(bench):
            overheads.append((rules[rule]["log_span_s"] - sum(row["s"] for row in bench)) / len(bench))
    for values in rules.values():
        del values["first_start"], values["last_end"]
    return dict(rules=rules, stages=stages, peak_mb=peak_mb, peak_rule=peak_rule, peak_source=peak_source,
                overhead=round(statistics.median(overheads), 2) if overheads else None,
                jobs=len(ran), first_start=min((job["start"] for job in ran), default=None))


STARTUP_LINE = re.compile(r"start-up before the rule's work: ([0-9.]+) s CPU, ([0-9.]+|nan) s since the process started")


def startup_from_logs(root: Path) -> dict:
    """Start-up of every job, from the line its adapter logs before its work (forge.rules.log_startup).

    Per rule: jobs, summed CPU seconds and summed wall seconds from process start to the first
    line of work (interpreter, Snakemake's preamble, the adapter's imports). The last such line of
    a log counts (a job that ran again appends to its log).
    """
    rules: dict[str, dict] = {}
    for path in sorted(root.rglob("*.log")):
        matches = STARTUP_LINE.findall(path.read_text(errors="replace"))
        if not matches:
            continue
        rule = path.relative_to(root).parts[0].removesuffix(".log")
        cpu, age = (float(x) for x in matches[-1])
        entry = rules.setdefault(rule, {"jobs": 0, "cpu_s": 0.0, "wall_s": 0.0})
        entry["jobs"] += 1
        entry["cpu_s"] += cpu
        entry["wall_s"] += age if age == age else 0.0
    for entry in rules.values():
        entry["cpu_s"], entry["wall_s"] = round(entry["cpu_s"], 1), round(entry["wall_s"], 1)
    return {"jobs": sum(e["jobs"] for e in rules.values()),
            "cpu_s": round(sum(e["cpu_s"] for e in rules.values()), 1),
            "wall_s": round(sum(e["wall_s"] for e in rules.values()), 1), "rules": rules}


def solver_flops(results: Path) -> dict:
    """Floating-point operations of every solver fit of the run, counted as bench_solver counts them.

    Per pair: the tuning curve's fits (one per k and initialisation in tuning_curve.tsv, each run
    for the model's max_iter epochs: the paper-scale config sets no tolerance) and every trained
    model (models/<pair>/<kind>/repNN/model.json: genes, k, targets, n_iter), each epoch costing
    :func:`bench_solver.batched_epoch_flops`. Baselines, DE, clustering and UMAP are not counted.
    """
    from bench_solver import batched_epoch_flops

    tuning = trained = 0.0
    fits = 0
    for model_json in sorted((results / "models").glob("*/*/rep*/model.json")):
        model = json.loads(model_json.read_text())
        p, k, t = len(model["genes"]), int(model["hyperparameters"]["n_components"]), len(model["targets"])
        trained += batched_epoch_flops(p, k, t) * int(model["n_iter"])
        fits += 1
        if model["kind"] == "joint" and model["replicate"] == 0:
            curve_path = results / "pairs" / model["pair"] / "tuning_curve.tsv"
            if curve_path.is_file():
                if model["hyperparameters"].get("tol") is not None:
                    raise ValueError(f"{model_json}: a tolerance is set, so the tuning fits' epochs are unknown")
                curve = pd.read_csv(curve_path, sep="\t")
                n_outputs = curve["output"].nunique()
                for k_curve in curve.drop_duplicates(["n_components", "seed"])["n_components"]:
                    tuning += batched_epoch_flops(p, int(k_curve), n_outputs) * int(model["hyperparameters"]["max_iter"])
                    fits += 1
    return {"fits": fits, "tuning_gflop": round(tuning / 1e9, 1), "training_gflop": round(trained / 1e9, 1),
            "total_gflop": round((tuning + trained) / 1e9, 1)}


def solver_lower_bound(results: Path, cores: int) -> dict:
    """Wall seconds the run's solver arithmetic alone needs at this machine's DGEMM rate on every core.

    The DGEMM rate is measured here, after the run, with one BLAS thread (as the workflow's jobs
    run); the bound assumes every core does nothing but the solver's products at that rate, so the
    real run, which also starts processes, reads and writes tables and runs DE, clustering and
    UMAP, cannot be faster.
    """
    from bench_solver import dgemm_gflops
    from threadpoolctl import threadpool_limits

    counted = solver_flops(results)
    with threadpool_limits(limits=1):
        rate = dgemm_gflops()
    return {**counted, "dgemm_gflops_one_thread": round(rate, 2),
            "lower_bound_s": round(counted["total_gflop"] / rate / cores, 1)}


SETTINGS = ("samples", "genes", "pairs", "replicates", "k_grid", "n_init", "missing", "seed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1700)
    parser.add_argument("--genes", type=int, default=20000)
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--k-grid", default=",".join(map(str, FULL_K_GRID)), help="comma-separated k values")
    parser.add_argument("--n-init", type=int, default=5, help="initialisations per k of the tuning curve")
    parser.add_argument("--missing", type=float, default=0.0,
                        help="fraction of samples without each output (default 0: every sample labelled)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20251126)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="scratch directory (must be empty or absent; default a fresh temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (a given --workdir is always kept)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run in --workdir (its inputs and finished jobs are kept); "
                             "the JSON then covers every segment of the run, pauses left out")
    parser.add_argument("--small", action="store_true",
                        help="quick check: 300 samples x 2,000 genes, 4 pairs, 2 replicates, k grid [10, 20]")
    args = parser.parse_args()
    if args.small:
        args.samples, args.genes, args.pairs, args.replicates, args.k_grid = 300, 2000, 4, 2, "10,20"
    args.k_grid = [int(k) for k in str(args.k_grid).split(",") if k.strip()]

    if args.resume:
        if args.workdir is None or not (args.workdir / f"{RUN}.yaml").is_file():
            raise SystemExit("--resume needs --workdir with a previous run (its paper_scale.yaml)")
        workdir, remove = args.workdir.resolve(), False
    elif args.workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="forge_paper_scale_"))
        remove = not args.keep
    else:
        workdir = args.workdir.resolve()
        if workdir.exists() and any(workdir.iterdir()):
            raise SystemExit(f"{workdir}: not empty; give a new or empty --workdir (or --resume)")
        remove = False
    load_start = os.getloadavg()
    log(f"working directory {workdir}; load average {load_start[0]:.2f} {load_start[1]:.2f} "
        f"{load_start[2]:.2f} on {os.cpu_count()} CPUs")

    settings_path, segments_path = workdir / "bench_settings.json", workdir / "bench_segments.json"
    configfile = workdir / f"{RUN}.yaml"
    if args.resume:
        if settings_path.is_file():
            settings = json.loads(settings_path.read_text())
            for key in SETTINGS:
                setattr(args, key, settings[key])
        else:
            log("no bench_settings.json: sizes as given on the command line")
            settings = {"generate_s": None}
        input_mb = sum(p.stat().st_size for p in (workdir / "inputs").iterdir()) / 2**20
        segments = json.loads(segments_path.read_text()) if segments_path.is_file() else []
        recorded = {segment["log"] for segment in segments}
        for path in sorted(workdir.glob("snakemake*.log"), key=lambda p: p.stat().st_mtime):
            if path.name not in recorded:  # a segment whose benchmark process did not record it
                segments.append(segment_from_log(path))
        segments.sort(key=lambda segment: segment["started"] or 0)
        log_path = workdir / f"snakemake.{len(segments) + 1}.log"
        generate_s = settings["generate_s"]
    else:
        t0 = time.perf_counter()
        copy_workflow(workdir)
        files = generate_cohort(workdir / "inputs", args.samples, args.genes, args.pairs, args.missing, args.seed)
        write_config(workdir, files, args.replicates, args.k_grid, args.n_init)
        generate_s = time.perf_counter() - t0
        input_mb = sum(Path(p).stat().st_size for p in files.values()) / 2**20
        settings_path.write_text(json.dumps({**{key: getattr(args, key) for key in SETTINGS},
                                             "generate_s": round(generate_s, 1)}))
        log(f"inputs written in {generate_s:.1f} s ({input_mb:.0f} MB): {args.samples} samples x {args.genes} genes, "
            f"{args.pairs} pairs")
        segments, log_path = [], workdir / "snakemake.log"

    command = [sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--configfile", configfile.name]
    log(f"running: (cd {workdir} && {' '.join(command)})  > {log_path}")
    started = time.time()
    t1 = time.perf_counter()
    with open(log_path, "w") as out:
        process = subprocess.Popen(command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        sampler = Sampler(process.pid)
        sampler.start()
        try:
            returncode = process.wait()
        except KeyboardInterrupt:
            os.killpg(process.pid, 15)
            process.wait()
            raise
        finally:
            sampler.stop.set()
            sampler.join()
    wall_s = time.perf_counter() - t1
    load_end = os.getloadavg()
    log(f"snakemake exited {returncode} after {wall_s:.1f} s")
    segments.append({"log": log_path.name, "started": started, "ended": time.time(), "wall_s": wall_s,
                     "returncode": returncode, "estimated": False, "rule_peaks_mb": sampler.rule_peaks(),
                     "rule_cpu_s": sampler.rule_cpu(), "peak_total": sampler.peak_total, "loads": sampler.loads,
                     "snakemake_cpu_s": sampler.snakemake_cpu,
                     "load_start": load_start, "load_end": load_end})
    segments_path.write_text(json.dumps(segments))

    summary = summarise(workdir, segments)
    startup = startup_from_logs(workdir / "logs" / RUN)
    total_wall = sum(segment["wall_s"] for segment in segments)
    loads = [x for segment in segments for x in segment["loads"]]
    ok = returncode == 0
    bound = solver_lower_bound(workdir / "results" / RUN, args.cores) if ok else None
    peak_gb = summary["peak_mb"] / 1024
    cpu_total = sum(v["cpu_s"] for v in summary["rules"].values())
    result = {
        "benchmark": "paper_scale",
        "ok": ok,
        "samples": args.samples, "genes": args.genes, "pairs": args.pairs, "replicates": args.replicates,
        "k_grid": args.k_grid, "n_init": args.n_init, "missing": args.missing, "cores": args.cores,
        "generate_s": generate_s if generate_s is None else round(generate_s, 1), "input_mb": round(input_mb, 1),
        "wall_s": round(total_wall, 1), "wall_min": round(total_wall / 60, 2),
        "target_wall_min": TARGET_WALL_MIN, "meets_wall_target": total_wall / 60 <= TARGET_WALL_MIN if ok else None,
        "peak_rss_gb": round(peak_gb, 3), "peak_rss_job": summary["peak_rule"], "peak_rss_from": summary["peak_source"],
        "target_peak_gb": TARGET_PEAK_GB, "meets_rss_target": peak_gb <= TARGET_PEAK_GB if ok else None,
        "peak_rss_all_jobs_gb": round(max(segment["peak_total"] for segment in segments) / 2**30, 3),
        "jobs": summary["jobs"],
        "snakemake_startup_s": (round(summary["first_start"] - segments[0]["started"], 1)
                                if summary["first_start"] and segments[0]["started"] else None),
        # median per job of Snakemake's log span minus the benchmark's s (scheduling, not imports:
        # the benchmark's s includes the script's interpreter start and library imports)
        "snakemake_overhead_per_job_s": summary["overhead"],
        # CPU seconds of all jobs, the share of the cores they got during the run, and that CPU
        # time spread over the cores: a rough wall time for an otherwise idle machine
        "cpu_s_jobs": round(cpu_total, 1),
        "cpu_share_of_cores": round(cpu_total / (total_wall * args.cores), 3) if total_wall else None,
        "wall_min_if_cpu_bound": round(cpu_total / args.cores / 60, 2),
        # Snakemake's own process: CPU seconds (as last sampled), and its share of one core
        "snakemake_cpu_s": round(sum(segment.get("snakemake_cpu_s", 0.0) for segment in segments), 1),
        # start-up of the jobs (before their first line of work), from their logs, and its share of the jobs' CPU
        "startup_cpu_s": startup["cpu_s"], "startup_wall_s": startup["wall_s"], "startup_jobs": startup["jobs"],
        "startup_share_of_job_cpu": round(startup["cpu_s"] / cpu_total, 3) if cpu_total else None,
        # the solver's counted arithmetic at the measured DGEMM rate on every core: no run can be faster
        "solver_bound": bound,
        "wall_over_solver_bound": round(total_wall / bound["lower_bound_s"], 1) if bound and bound["lower_bound_s"] else None,
        "stages": summary["stages"],
        "rules": summary["rules"],
        "startup_by_rule": startup["rules"],
        "load": {"cpus": os.cpu_count(), "start": [round(x, 2) for x in segments[0].get("load_start", load_start)],
                 "mean_1min": round(statistics.fmean(loads), 2) if loads else None,
                 "max_1min": round(max(loads), 2) if loads else None,
                 "end": [round(x, 2) for x in load_end]},
        "segments": [{"log": segment["log"], "wall_s": round(segment["wall_s"], 1), "returncode": segment["returncode"],
                      "estimated": segment["estimated"]} for segment in segments],
        "workdir": None if remove else str(workdir),
    }
    if not ok:
        result["error_tail"] = log_path.read_text(errors="replace")[-3000:]
    print(json.dumps(result), flush=True)
    if remove:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
