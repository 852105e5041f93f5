"""Every command the README shows works as written: Snakemake commands in their dry-run form (the
same arguments with -n inserted after `snakemake`), the scoring command for real on the demo model.

A new command in the README fails `test_every_readme_command_is_covered` until it is covered here.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, copy_workflow
from test_module import readme_deploy_commands

README = (REPO / "README.md").read_text()
SHARED = REPO.parent / "shared" / "data"


def readme_commands() -> list[str]:
    """Commands of the README's bash blocks (continuations joined, comments dropped) and its inline
    `.venv/bin/...` commands."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                commands.append(" ".join(line.split()))
    commands += [" ".join(c.split()) for c in re.findall(r"`(\.venv/bin/[^`]+)`", README)]
    return list(dict.fromkeys(commands))


def snakemake_commands() -> list[str]:
    return [c for c in readme_commands() if c.startswith(".venv/bin/snakemake")]


def test_every_readme_command_is_covered() -> None:
    commands = readme_commands()
    covered = set(snakemake_commands()) | {c for c in commands if "forge_score.py" in c}
    covered |= set(readme_deploy_commands())  # tests/test_module.py runs the snakedeploy block
    covered |= {c for c in commands if " -m forge.rules " in c}  # tests/test_adapters.py runs job and run
    # `make` targets are what CI itself runs; pyflakes is a lint command
    rest = [c for c in commands if c not in covered and not c.startswith(("make ", ".venv/bin/python -m pyflakes"))]
    assert not rest, f"README commands no test runs: {rest}"
    assert len(snakemake_commands()) >= 5


def as_dry_run(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[0] == ".venv/bin/snakemake"
    if "--report" in words:  # a report needs a finished run: check the arguments parse instead
        return [sys.executable, "-m", "snakemake", "-n", *[w for w in words[1:] if w != "--report" and
                                                          not w.endswith((".html", ".zip"))]]
    return [sys.executable, "-m", "snakemake", "-n", *words[1:]]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout (with benchmarks/), beside the shared data as the README assumes."""
    root = tmp_path_factory.mktemp("readme")
    workdir = copy_workflow(root / "main")
    shutil.copytree(REPO / "benchmarks", workdir / "benchmarks", ignore=shutil.ignore_patterns("runs", "__pycache__"))
    if SHARED.is_dir():
        (root / "shared").mkdir()
        (root / "shared" / "data").symlink_to(SHARED)
    return workdir


@pytest.mark.parametrize("command", snakemake_commands())
def test_readme_snakemake_command_dry_run(command: str, checkout: Path) -> None:
    if "real_egfr_erlotinib" in command and not SHARED.is_dir():
        pytest.skip(f"{command}: needs the shared real data at {SHARED}")
    if "--sdm conda" in command and not shutil.which("conda"):
        pytest.skip(f"{command}: conda is not installed (tests/test_envs.py checks that it parses up to conda)")
    if "profiles/slurm" in command and not shutil.which("sbatch"):
        pytest.skip(f"{command}: the SLURM executor needs sbatch (tests/test_slurm.py installs it)")
    done = subprocess.run(as_dry_run(command), cwd=checkout, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{command}:\n{output[-3000:]}"
    assert "This was a dry-run" in output or "Nothing to be done" in output, output[-2000:]
    if "download_all" in command:
        assert "download_depmap" in output  # the target was taken as a target, not a config file


def test_readme_scoring_command(small_run: Path, tmp_path: Path) -> None:
    commands = [c for c in readme_commands() if "forge_score.py" in c]
    assert len(commands) == 3  # a model; a model's weight table written; a cohort scored from that table
    cohort = pd.read_parquet(small_run / "resources/processed/small/expression.parquet").iloc[:20]
    cohort.to_csv(small_run / "my_cohort.csv", index=False)
    for command in commands:  # in the README's order: the weight table is written before it is used
        command = re.sub(r"\[[^\]]*\]", "", command)  # optional arguments in brackets
        command = command.replace("results/demo/", "results/small/")  # the shared run is the small demo's
        words = [sys.executable if w == ".venv/bin/python" else w for w in shlex.split(command)]
        done = subprocess.run(words, cwd=small_run, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}: {done.stderr[-2000:]}"
    scores = pd.read_csv(small_run / "my_scores.tsv", sep="\t")
    assert len(scores) == 20 and set(scores["scaling"]) == {"training"}
    signature = pd.read_csv(small_run / "my_signature_scores.tsv", sep="\t")
    assert len(signature) == 20 and set(signature["scaling"]) == {"cohort"}


def test_scoring_help_describes_the_command_without_loading_the_numerical_stack() -> None:
    probe = (
        "import sys, contextlib, io\n"
        "import forge_score\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "    forge_score.main(['--help'])\n"
        "print(out.getvalue())\n"
        "print('LOADED', sorted(m for m in ('pandas', 'numpy', 'scipy') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "Score a cohort with a trained FORGE model" in done.stdout and "--max-missing-fraction" in done.stdout
    assert "LOADED []" in done.stdout
