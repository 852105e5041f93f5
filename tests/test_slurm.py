"""Cluster execution: profiles/slurm on a real one-node SLURM, results equal to a local run's.

SLURM (Debian's slurm-wlm) and munge are installed with apt when missing; the daemons run as this
test's own processes with a configuration in a temporary directory (tests/slurm_cluster.py) and
are stopped by their PIDs. The test skips only where SLURM is missing and cannot be installed
(not root, no apt-get); a cluster that is installed but does not start is a failure.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import REPO, copy_workflow
from slurm_cluster import MIN_JOB_AGE_SECONDS, LocalSlurm, SlurmUnavailable, ensure_installed

RULE_FILES = sorted((REPO / "workflow/rules").glob("*.smk"))


def rule_blocks() -> dict[str, str]:
    """Rule name → the text of its definition, from every rule file."""
    blocks = {}
    for path in RULE_FILES:
        text = path.read_text()
        starts = [(m.start(), m.group(2)) for m in re.finditer(r"^\s*(rule|checkpoint) (\w+):", text, re.M)]
        for (start, name), (end, _) in zip(starts, starts[1:] + [(len(text), "")]):
            blocks[name] = text[start:end]
    return blocks


def local_rules() -> set[str]:
    names = set()
    for path in RULE_FILES:
        for block in re.findall(r"^localrules:\n((?:\s+\w+,?\n)+)", path.read_text(), re.M):
            names |= set(re.findall(r"\w+", block))
    return names


def test_every_job_rule_declares_threads_memory_and_runtime() -> None:
    blocks, local = rule_blocks(), local_rules()
    assert {"download_depmap", "download_all"} <= local  # downloads stay on the submitting host
    jobs = {name: block for name, block in blocks.items() if name not in local and name != "all"}
    assert len(jobs) >= 30
    for name, block in jobs.items():
        for directive in (r"threads:", r"mem_mb=", r"runtime="):
            assert re.search(directive, block), f"rule {name} does not declare {directive.rstrip(':=')}"
    grouped = {name for name, block in jobs.items() if re.search(r"\bgroup:", block)}
    assert {"embed_pair", "cluster_pair", "de_pair", "enrich_pair", "evaluate_pair"} <= grouped


def test_slurm_profile_settings() -> None:
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert profile["slurm-status-command"] == "squeue"  # works without accounting (slurmdbd)
    assert profile["retries"] >= 1 and profile["latency-wait"] >= 30
    components = dict(item.split("=") for item in profile["group-components"])
    groups = {m for block in rule_blocks().values() for m in re.findall(r'group:\s*"(\w+)"', block)}
    assert set(components) == groups
    requirements = (REPO / "envs/requirements.txt").read_text()
    assert re.search(r"^snakemake-executor-plugin-slurm==\d", requirements, re.M)


@pytest.fixture(scope="session")
def slurm_small_run(tmp_path_factory: pytest.TempPathFactory):
    """A one-node SLURM cluster, and config/small.yaml submitted to it through profiles/slurm.

    Session-scoped and requested before ``small_run``: the SLURM run is started first and goes on
    (mostly waiting for the queue) while the local run it is compared with is made.
    """
    try:
        ensure_installed()
    except SlurmUnavailable as why:
        pytest.skip(f"no SLURM here: {why}")
    # 8 CPUs declared on the 2-core test machine: independent SLURM jobs (figure groups, the pairs'
    # validation) then run side by side as on a cluster's many nodes, and the test does not wait
    # for the queue's status polls one job at a time; the jobs share the two real cores
    slurm = LocalSlurm(tmp_path_factory.mktemp("slurm"), cpus=8)
    try:
        slurm.start()
    except SlurmUnavailable:
        slurm.stop()
        raise
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm_workflow"))
    command = [
        sys.executable, "-m", "snakemake", "--profile", "profiles/slurm", "--configfile", "config/small.yaml",
        # the one-node test cluster has no accounting: no account to give or guess
        "--slurm-no-account", "--slurm-init-seconds-before-status-checks", "2",
    ]
    log = open(workdir / "snakemake_slurm.log", "w+")
    process = subprocess.Popen(command, cwd=workdir, env=slurm.environment(), stdout=log, stderr=subprocess.STDOUT,
                               text=True)
    yield SimpleNamespace(cluster=slurm, process=process, workdir=workdir, log=log)
    if process.poll() is None:
        process.kill()
        process.wait()
    log.close()
    slurm.stop()


def output_files(run: Path, name: str) -> dict[str, bytes]:
    """Every output of the run (results and processed data), not logs or benchmarks."""
    files = {}
    for root in (run / "results" / name, run / "resources" / "processed" / name):
        for path in sorted(root.rglob("*")):
            if path.is_file():
                files[str(path.relative_to(run))] = path.read_bytes()
    return files


# provenance/config.yaml and inputs.tsv name the run's paths and checksums only; versions.tsv
# records the executor and the host's package versions: equal here, but not a result.
NOT_RESULTS = ("results/small/provenance/",)


def test_demo_on_slurm_equals_local_run(slurm_small_run: SimpleNamespace, small_run: Path) -> None:
    cluster, workdir = slurm_small_run.cluster, slurm_small_run.workdir
    try:
        returncode = slurm_small_run.process.wait(timeout=1800)
    except subprocess.TimeoutExpired:
        returncode = None
    slurm_small_run.log.seek(0)
    output = slurm_small_run.log.read()
    assert returncode == 0, f"{output[-4000:]}\n{cluster.logs()}"
    assert "submitted with SLURM jobid" in output

    local, on_slurm = output_files(small_run, "small"), output_files(workdir, "small")
    assert len(local) > 100 and set(local) == set(on_slurm)
    differ = sorted(f for f in local if local[f] != on_slurm[f] and not f.startswith(NOT_RESULTS))
    # Every figure too: fig3 used to come out in one of two versions (constrained layout's solver
    # round-off, which differs between processes) until save_figure froze the layout, rounded.
    assert not differ, f"{len(differ)} files differ between the local and the SLURM run: {differ[:10]}"

    # every job was a SLURM job with its own memory request, not the whole node: each job id that
    # Snakemake's log names is looked up (sacct needs slurmdbd, which the test cluster does not
    # run; squeue keeps finished jobs for MinJobAge, set far beyond any run in slurm_cluster.py)
    submitted = submitted_slurm_job_ids(output)
    assert len(submitted) >= 15, f"only {len(submitted)} SLURM job ids in Snakemake's log"
    jobs = slurm_jobs(cluster, submitted)
    assert set(jobs) == set(submitted), f"jobs unknown to slurmctld: {sorted(set(submitted) - set(jobs))}"
    assert {state for state, _ in jobs.values()} == {"COMPLETED"}, jobs
    node_memory = int(re.search(r"RealMemory=(\d+)", cluster.conf.read_text()).group(1))
    requested = [memory_mb(memory) for _, memory in jobs.values()]
    assert max(requested) < node_memory / 2, requested


def submitted_slurm_job_ids(log: str) -> list[str]:
    """The SLURM job ids Snakemake's slurm executor reports ("... submitted with SLURM jobid 42 ...")."""
    return re.findall(r"submitted with SLURM jobid (\d+)", log)


def slurm_jobs(cluster: LocalSlurm, ids: list[str]) -> dict[str, tuple[str, str]]:
    """Job id → (state, requested memory) of those of ``ids`` slurmctld still knows (``squeue --states=all``).

    Every job is listed and then picked by id: ``squeue --jobs`` fails as a whole on one unknown id.
    """
    queue = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T|%m"],
                           env=cluster.environment(), capture_output=True, text=True, check=True)
    rows = [line.split("|") for line in queue.stdout.split()]
    return {job: (state, memory) for job, state, memory in rows if job in set(ids)}


def memory_mb(text: str) -> float:
    """squeue's memory field (e.g. ``2000M``, ``1.5G``) in MB."""
    match = re.fullmatch(r"([\d.]+)([KMGT])", text)
    assert match, f"unexpected squeue memory field {text!r}"
    return float(match.group(1)) * {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 ** 2}[match.group(2)]


def test_job_ids_are_read_from_the_snakemake_log_and_memory_fields_parsed() -> None:
    log = ("Job 3 has been submitted with SLURM jobid 18 (log: /x/18.log).\n"
           "Job 0 has been submitted with SLURM jobid 104 (log: /x/104.log).\nsubmitted with SLURM jobid\n")
    assert submitted_slurm_job_ids(log) == ["18", "104"]
    assert [memory_mb(m) for m in ("2000M", "1.5G", "512K")] == [2000.0, 1536.0, 0.5]
    # finished jobs must outlive any test run (a day; the SLURM run takes minutes)
    assert MIN_JOB_AGE_SECONDS >= 86_400
    assert "MinJobAge={MIN_JOB_AGE_SECONDS}" in inspect.getsource(LocalSlurm.write_config)
