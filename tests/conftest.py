"""Shared fixtures: the library path and one real Snakemake run of the demo workflow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# What a user's checkout contains that a workflow run needs.
WORKFLOW_PARTS = ("Snakefile", "workflow", "scripts", "config", "envs", "profiles")


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
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default target run once on the demo config in a fresh directory."""
    workdir = copy_workflow(tmp_path_factory.mktemp("demo_workflow"))
    run_snakemake(workdir)
    return workdir


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default target run once on config/small.yaml (outputs under results/small/)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("small_workflow"))
    run_snakemake(workdir, "--configfile", "config/small.yaml")
    return workdir
