"""The workflow used the way the Snakemake community uses workflows: as a module of another project
(`module forge: snakefile: ".../workflow/Snakefile"`, `use rule * from forge`), run end to end
from that project's directory by a Python that has the pinned dependencies but NOT the library,
and deployed with snakedeploy from a local clone.

The Python without the library: a fresh venv (no pip) whose site-packages holds one .pth file
naming this environment's site-packages directory. Python adds that directory to sys.path but does
not process the .pth files inside it (only those of its own site directories), so the editable
install of the library (`__editable__.forge_workflow-*.pth`, which `make` puts there) is not
applied, while every pinned package is found. PYTHONPATH is removed from the jobs' environment.
The test checks that `import forge` fails in it before using it.
"""

from __future__ import annotations

import filecmp
import os
import re
import shlex
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from conftest import REPO, copy_workflow

# What the small demo's run writes (results, processed cohort, generated raw data): compared byte for byte.
RUN_TREES = ("results/small", "resources/processed/small", "resources/raw/demo/small")


def python_without_library(root: Path) -> Path:
    """A Python with this environment's packages but not the FORGE library (see the module doc)."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    python = root / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "pinned-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


def environment_without_library(python: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def merged(base: dict, update: dict) -> dict:
    result = dict(base)
    for key, value in update.items():
        result[key] = merged(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) else value
    return result


MODULE_SNAKEFILE = """\
configfile: "config/config.yaml"


module forge:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from forge
"""


@pytest.fixture(scope="module")
def clean_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = python_without_library(tmp_path_factory.mktemp("python_without_forge"))
    probe = subprocess.run([python, "-c", "import snakemake, numpy, pandas\nimport forge"], capture_output=True,
                           text=True, env=environment_without_library(python))
    assert "No module named 'forge'" in probe.stderr, probe.stderr  # the dependencies are there, the library not
    return python


def test_module_run_from_another_project_equals_the_checkout_run(small_run: Path, clean_python: Path,
                                                                  tmp_path: Path) -> None:
    """A project with only a config (the small demo's, with its pairs table) and a workflow/Snakefile
    using FORGE as a module, run from its own directory: every table, model and figure has the bytes
    of the checkout's run (the shared small_run)."""
    clone = copy_workflow(tmp_path / "forge")  # the user's clone, elsewhere than the project
    project = tmp_path / "project"
    (project / "workflow").mkdir(parents=True)
    (project / "config").mkdir()
    # the checkout's run reads config/config.yaml and then config/small.yaml; the project has their merge
    config = merged(yaml.safe_load((REPO / "config/config.yaml").read_text()),
                    yaml.safe_load((REPO / "config/small.yaml").read_text()))
    shutil.copy2(REPO / config["pairs"]["table"], project / config["pairs"]["table"])  # config/pairs_small.tsv
    (project / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (project / "workflow/Snakefile").write_text(MODULE_SNAKEFILE.format(snakefile=clone / "workflow/Snakefile"))

    done = subprocess.run([clean_python, "-m", "snakemake", "--cores", "2"], cwd=project, capture_output=True,
                          text=True, env=environment_without_library(clean_python))
    assert done.returncode == 0, done.stderr[-4000:]
    assert not (clone / "results").exists() and not (clone / "resources").exists()  # outputs go to the project

    for tree in RUN_TREES:
        # the Snakemake report another test may have built in the shared run is not a workflow output
        expected = sorted(p.relative_to(small_run) for p in (small_run / tree).rglob("*")
                          if p.is_file() and p.name not in ("report.zip", "report.html"))
        produced = sorted(p.relative_to(project) for p in (project / tree).rglob("*") if p.is_file())
        assert expected and produced == expected, (tree, sorted(set(produced) ^ set(expected))[:20])
        differing = [str(p) for p in expected if not filecmp.cmp(small_run / p, project / p, shallow=False)]
        assert not differing, f"files whose bytes differ from the checkout's run: {differing}"


def test_workflow_without_the_library_on_disk_names_the_problem(tmp_path: Path, clean_python: Path) -> None:
    """A tree without scripts/ (e.g. only workflow/ copied) stops at parse with the reason, not an
    ImportError from deep inside."""
    clone = copy_workflow(tmp_path / "forge")
    shutil.rmtree(clone / "scripts")
    done = subprocess.run([clean_python, "-m", "snakemake", "-n", "--cores", "1"], cwd=clone, capture_output=True,
                          text=True, env=environment_without_library(clean_python))
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"FORGE's library (forge/__init__.py) is not in {clone / 'scripts'}" in output, output[-2000:]


def readme_deploy_commands() -> list[str]:
    """The README's snakedeploy block: deploy from a local clone, point the module at it."""
    readme = (REPO / "README.md").read_text()
    for block in re.findall(r"```bash\n(.*?)```", readme, re.S):
        if "snakedeploy deploy-workflow" in block:
            return [line.split("#", 1)[0].strip() for line in block.replace("\\\n", " ").splitlines()
                    if line.split("#", 1)[0].strip()]
    raise AssertionError("README.md shows no snakedeploy command")


def test_snakedeploy_from_a_local_clone_as_the_readme_says(tmp_path: Path, clean_python: Path) -> None:
    """The README's commands: snakedeploy deploy-workflow from a local clone, the module pointed at
    the clone, then a dry run of the default target from the deployed project."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    snakedeploy = shutil.which("snakedeploy", path=search)
    if snakedeploy is None:
        pytest.skip("snakedeploy is not installed (envs/requirements-dev.txt pins it; `make test` installs it)")
    clone = copy_workflow(tmp_path / "forge")
    shutil.copy2(REPO / "LICENSE", clone / "LICENSE")
    env = environment_without_library(clean_python)
    cwd = tmp_path
    for command in readme_deploy_commands():
        command = command.replace("/path/to/forge", str(clone)).replace("my-project", str(tmp_path / "my-project"))
        if command.startswith("cd "):  # `cd <dir> && <command>`
            directory, command = command.removeprefix("cd ").split("&&", 1)
            cwd = tmp_path / directory.strip()
        words = shlex.split(command)
        if words[0] == "snakedeploy":
            words[0] = snakedeploy
        elif words[0] == "snakemake":
            words = [str(clean_python), "-m", "snakemake", *words[1:]]
        done = subprocess.run(words, capture_output=True, text=True, env=env, cwd=cwd, timeout=600)
        assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
    project = tmp_path / "my-project"
    assert (project / "config/config.yaml").is_file() and (project / "profiles/default").is_dir()
    assert f'"{clone}/workflow/Snakefile"' in (project / "workflow/Snakefile").read_text()
    output = done.stdout + done.stderr
    assert "This was a dry-run" in output and "demo_raw_data" in output, output[-2000:]


def test_release_metadata_agrees_on_the_version_and_the_preprint() -> None:
    """pyproject.toml takes its version from the library; CITATION.cff, the newest CHANGELOG entry
    and the README's citation repeat it; the preprint's DOI is the same everywhere; the catalog file
    has the keys the workflow catalog reads."""
    import tomllib

    from forge import __version__

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "forge.__version__"}
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["version"] == __version__
    newest = re.search(r"^## (\S+) ", (REPO / "CHANGELOG.md").read_text(), re.M).group(1)
    assert newest == __version__
    readme = (REPO / "README.md").read_text()
    cite = readme.split("## How to cite", 1)[1].split("\n## ", 1)[0]
    assert f"version {__version__}" in cite
    doi = citation["preferred-citation"]["doi"]
    assert doi == "10.1101/2025.09.04.674143" and f"doi:{doi}" in cite
    preprint = REPO.parent / "shared/paper/forge_preprint.txt"  # beside the checkout, as in CI
    if preprint.is_file():
        assert citation["preferred-citation"]["title"] in preprint.read_text()
    catalog = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert set(catalog) == {"mandatory-flags", "software-stack-deployment", "report"}
    assert catalog["software-stack-deployment"]["conda"] is True
    assert (REPO / "workflow/Snakefile").is_file() and (REPO / "config/README.md").is_file()
