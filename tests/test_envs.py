"""The conda environments (envs/*.yaml) hold what their rules import, at the pinned versions.

Each rule's adapter (workflow/scripts/<rule>.py) is walked statically with ast, following the
library modules it imports (forge.*, forge_core, forge_score, and the package __init__ files an
import runs), so a library module that starts importing a new package fails here until the
environments of the rules that reach it list it. Conda itself cannot be reached from this machine;
the README's `--sdm conda` command is checked to parse up to the point where Snakemake calls conda.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO, copy_workflow

LIBRARY = REPO / "scripts"
LOCAL_TOP_LEVEL = {"forge", "forge_core", "forge_score"}
# pandas loads these by name when asked for an engine (engine="openpyxl"), not by an import
ENGINE_KEYWORD = "engine"


def module_file(name: str) -> Path | None:
    """The file of library module ``name`` (``forge.io`` → scripts/forge/io.py), if it is one."""
    base = LIBRARY.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def package_modules(prefix: str) -> list[str]:
    """Every library module under the package ``prefix`` (``forge.figures.`` → forge.figures.*)."""
    package = LIBRARY.joinpath(*prefix.rstrip(".").split("."))
    return [f"{prefix}{path.stem}" for path in sorted(package.glob("*.py")) if path.stem != "__init__"]


def module_name(path: Path) -> str:
    """Dotted module name of a library file; ``__main__`` for a script outside the library."""
    if not path.is_relative_to(LIBRARY):
        return "__main__"
    return ".".join(path.relative_to(LIBRARY).with_suffix("").parts).removesuffix(".__init__")


def imported_names(path: Path, module: str) -> set[str]:
    """Dotted names ``path`` imports (module ``module``): import statements anywhere in the file
    (also inside functions), ``importlib.import_module(f"forge.x.{...}")`` (every module of
    forge.x) and pandas engines named as strings (``engine="openpyxl"``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(parts + ([node.module] if node.module else []))
            else:
                source = node.module
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)  # submodules
        elif isinstance(node, ast.Call):
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if called == "import_module" and node.args:
                argument = node.args[0]
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    names.add(argument.value)
                elif isinstance(argument, ast.JoinedStr) and isinstance(argument.values[0], ast.Constant):
                    names.update(package_modules(argument.values[0].value))
            for keyword in node.keywords:
                if keyword.arg == ENGINE_KEYWORD and isinstance(keyword.value, ast.Constant):
                    names.add(str(keyword.value.value))
    return names


@cache
def distribution_of() -> dict[str, list[str]]:
    """Import name → distributions providing it, from this environment's installed metadata."""
    return importlib.metadata.packages_distributions()


def imported_distributions(script: Path) -> set[str]:
    """Canonical names of the third-party distributions ``script`` imports, directly or through
    the library. A name that is neither the standard library, the library nor an installed
    distribution fails: the check would otherwise miss it."""
    found: set[str] = set()
    seen: set[Path] = set()
    todo = [(script, module_name(script))]
    while todo:
        path, module = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_names(path, module):
            top = name.split(".")[0]
            if top in LOCAL_TOP_LEVEL:
                parts = name.split(".")
                for end in range(1, len(parts) + 1):  # importing forge.a.b runs forge and forge.a too
                    prefix = ".".join(parts[:end])
                    if (file := module_file(prefix)) is not None:
                        todo.append((file, prefix))
            elif top in sys.stdlib_module_names or top == "snakemake":
                continue  # snakemake: the injected object and its preamble come from Snakemake's host
            elif top in distribution_of():
                found.update(canonicalize_name(d) for d in distribution_of()[top])
            elif top in {"c", "python", "python_fwf"}:  # pandas' built-in parser engines
                continue
            else:
                raise AssertionError(f"{path}: imports {name!r}, which no installed distribution provides")
    return found


def requirements_closure(distributions: set[str]) -> set[str]:
    """``distributions`` and everything they require (installed metadata, extras left out)."""
    closure, todo = set(), list(distributions)
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return closure


def rules_of_workflow() -> dict[str, dict[str, str | None]]:
    """Every rule and checkpoint of the workflow's rule files: its conda env and its script
    (paths as written, relative to the rule file), read from the snakefmt-formatted text."""
    rules = {}
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]:
        blocks = re.split(r"(?m)^[ \t]*(?:rule|checkpoint)[ \t]+(\w+)[ \t]*:", path.read_text())
        for name, body in zip(blocks[1::2], blocks[2::2]):
            conda = re.search(r"\n[ \t]+conda:[ \t]*\n[ \t]+\"([^\"]+)\"", body)
            script = re.search(r"\n[ \t]+script:[ \t]*\n[ \t]+\"([^\"]+)\"", body)
            rules[name] = dict(
                file=path,
                conda=(path.parent / conda.group(1)).resolve() if conda else None,
                script=(path.parent / script.group(1)).resolve() if script else None,
            )
    return rules


def read_env(path: Path) -> dict[str, str]:
    """Canonical package name → pinned version of a conda env file (conda and pip entries)."""
    env = yaml.safe_load(path.read_text())
    pins = {}
    for entry in env["dependencies"]:
        entries = entry["pip"] if isinstance(entry, dict) else [entry]
        for item in entries:
            item = str(item)
            if item == "pip":
                continue
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(==|=)\s*([0-9][0-9A-Za-z.+-]*)", item)
            assert match, f"{path.name}: {item!r} is not an exact pin (name=version or name==version)"
            pins[canonicalize_name(match.group(1))] = match.group(3)
    return pins


def requirement_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{path.name}: {line!r} is not an exact pin"
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
RUNTIME_PINS = requirement_pins(REPO / "envs/requirements.txt")


def rules_by_env() -> dict[Path, list[str]]:
    grouped: dict[Path, list[str]] = {}
    for name, rule in rules_of_workflow().items():
        if rule["conda"] is not None:
            grouped.setdefault(rule["conda"], []).append(name)
    return grouped


def test_the_rule_reader_finds_every_rule_snakemake_lists(tmp_path: Path) -> None:
    workdir = copy_workflow(tmp_path / "workflow")
    listed = subprocess.run([sys.executable, "-m", "snakemake", "--list-rules"], cwd=workdir,
                            capture_output=True, text=True, check=True).stdout.split()
    found = rules_of_workflow()
    assert set(listed) <= set(found), sorted(set(listed) - set(found))
    for name in set(found) - set(listed):  # defined only for another data source (under an `if`)
        assert re.search(rf"(?m)^[ \t]+(?:rule|checkpoint) {name}:", found[name]["file"].read_text()), name


def test_every_script_rule_has_an_env_file_that_exists() -> None:
    for name, rule in rules_of_workflow().items():
        if rule["script"] is not None:
            assert rule["script"].is_file(), (name, rule["script"])
            assert rule["conda"] is not None, f"rule {name} runs a script but has no conda: env"
            assert rule["conda"] in ENV_FILES, f"rule {name}: {rule['conda']} is not one of envs/*.yaml"
    assert set(rules_by_env()) == set(ENV_FILES), "an env file no rule uses"


def test_the_import_walk_follows_the_library() -> None:
    """The walk itself: packages reached only through the library, a string-named pandas engine and
    the figure specs' import_module (a drawing module is imported when drawn) are found (otherwise
    the env checks below prove nothing)."""
    scripts = REPO / "workflow/scripts"
    assert "statsmodels" in imported_distributions(scripts / "prepare_pair.py")  # forge.normalise
    assert "openpyxl" in imported_distributions(scripts / "pdx_process.py")  # pd.ExcelFile(engine=...)
    assert "matplotlib" in imported_distributions(scripts / "figure.py")  # specs: FigureSpec.draw imports it
    assert "umap-learn" in imported_distributions(scripts / "embedding_umap.py")
    assert "matplotlib" not in imported_distributions(scripts / "train_pair.py")


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda path: path.name)
def test_env_lists_every_package_its_rules_import(env_file: Path) -> None:
    pins = read_env(env_file)
    for rule in rules_by_env()[env_file]:
        imported = imported_distributions(rules_of_workflow()[rule]["script"])
        missing = sorted(imported - set(pins))
        assert not missing, f"{env_file.name}: rule {rule} imports {missing}, which the env does not list"


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda path: path.name)
def test_env_lists_nothing_its_rules_do_not_need(env_file: Path) -> None:
    """Every listed package is imported by one of the env's rules or required by one that is."""
    imported = set().union(*(imported_distributions(rules_of_workflow()[rule]["script"])
                             for rule in rules_by_env()[env_file]))
    unused = sorted(set(read_env(env_file)) - {"python"} - requirements_closure(imported))
    assert not unused, f"{env_file.name}: {unused} are listed but no rule of this env needs them"


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda path: path.name)
def test_env_pins_are_the_requirements_pins(env_file: Path) -> None:
    text = env_file.read_text()
    assert "--editable" not in text and ".." not in text, f"{env_file.name}: a relative path breaks once Snakemake copies the file"
    pins = read_env(env_file)
    python = pins.pop("python")
    assert tuple(map(int, python.split("."))) >= (3, 11), f"{env_file.name}: python={python}"
    for package, version in pins.items():
        assert package in RUNTIME_PINS, f"{env_file.name}: {package} is not pinned in envs/requirements.txt"
        assert version == RUNTIME_PINS[package], f"{env_file.name}: {package} {version} != {RUNTIME_PINS[package]}"


def test_requirements_pin_what_the_code_imports_and_dev_packages_stay_out() -> None:
    """envs/requirements.txt (what every user installs) pins every package the library and the
    adapters import; the test, lint and deployment tools are only in envs/requirements-dev.txt."""
    imported = set()
    for path in [*LIBRARY.rglob("*.py"), *(REPO / "workflow/scripts").glob("*.py")]:
        imported |= imported_distributions(path)
    assert {"jsonschema", "pyyaml", "matplotlib", "statsmodels"} <= imported  # the walk reached them
    assert not sorted(imported - set(RUNTIME_PINS)), "imported but not pinned for users"
    dev = requirement_pins(REPO / "envs/requirements-dev.txt")
    assert not set(dev) & set(RUNTIME_PINS), "a package pinned in both files"
    assert {"pytest", "pytest-xdist", "snakefmt", "pyflakes", "snakedeploy"} <= set(dev)


def readme_conda_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", readme, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip()
            if "--sdm conda" in line:
                commands.append(line)
    return commands


@pytest.mark.parametrize("command", readme_conda_commands())
def test_readme_conda_command_parses(command: str, tmp_path: Path) -> None:
    """The README's `--sdm conda` command, in dry-run form, on a copy of the workflow: with conda
    it must dry-run; without it (as here) it must get as far as asking conda for its info, after
    parsing the workflow, building the DAG and finding every env file."""
    workdir = copy_workflow(tmp_path / "workflow")
    words = shlex.split(command)
    assert words[0] == ".venv/bin/snakemake"
    done = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", *words[1:]], cwd=workdir,
                          capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    if shutil.which("conda"):
        assert done.returncode == 0 and "This was a dry-run" in output, output[-3000:]
        return
    assert "Building DAG of jobs" in output and "Error running conda info" in output, output[-3000:]
    errors = [line for line in output.splitlines() if "rror" in line and line.strip() != "WorkflowError:"]
    assert all("conda info" in line for line in errors), errors  # conda's absence, nothing else
    pytest.skip("conda is not installed here: the command parsed and built the DAG up to Snakemake's conda check")
