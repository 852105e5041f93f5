"""Shared fixtures: copying the workflow, running Snakemake, and one real run of the small demo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # two workers share the two cores: one BLAS thread each for the tests' own numerical work
    # (Snakemake's jobs set their own, from each rule's threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)

# The small demo's configuration, which the shared run (small_run) uses.
SMALL_CONFIG = yaml.safe_load((REPO / "config/small.yaml").read_text())

# What a user's checkout contains that a workflow run needs.
WORKFLOW_PARTS = ("Snakefile", "workflow", "scripts", "config", "envs", "profiles", "docs")


def copy_workflow(destination: Path) -> Path:
    """Copy the workflow (not its outputs) into ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / part)
    return destination


def run_snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run this environment's Snakemake in ``workdir``."""
    command = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default target run once on config/small.yaml (outputs under results/small/).

    The one workflow run shared by every integration test that reads a finished run: the
    small demo has every stage and both kinds of pair (planted, control) at a size where the
    planted signal is still recovered; the default demo's size adds nothing to these checks
    (its configuration is dry-run by test_readme_commands and test_workflow).
    """
    workdir = copy_workflow(tmp_path_factory.mktemp("small_workflow"))
    run_snakemake(workdir, "--configfile", "config/small.yaml")
    return workdir


# tryfirst: pytest-xdist's worker reads the xdist_group marks in its own hook of this name
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses the shared run goes to one pytest-xdist worker (``-n 2 --dist
    loadgroup``: the run is made once), and the SLURM test comes first there: its cluster run
    then waits on the queue while the shared local run is made, instead of after it."""
    for item in items:
        if "small_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("small_run"))
    items.sort(key=lambda item: "slurm_small_run" not in getattr(item, "fixturenames", ()))
