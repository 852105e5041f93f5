"""Each job imports only what its rule uses (issue 28: start-up, not arithmetic, dominated a run).

For every rule adapter, its module-level import statements (read with ast: what its process runs
before ``main``) are run in a fresh interpreter; none of the heavy packages may end up in
``sys.modules`` unless the adapter's entry in ALLOWED says why its rule needs it at import. The
packages a rule uses are imported inside the library functions that use them.
``benchmarks/bench_imports.py`` prints what the imports cost.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

SCRIPTS = REPO / "workflow" / "scripts"
ADAPTERS = sorted(SCRIPTS.glob("*.py"))

# seconds-long imports (issue 28's measurements), or compilers (numba)
HEAVY = ("sklearn", "gseapy", "pydeseq2", "matplotlib", "numba", "umap", "scanpy", "anndata", "statsmodels",
         "scipy.stats")

# adapter → {package: why the rule needs it as soon as it starts}
ALLOWED = {
    "figure": {"matplotlib": "the rule draws a figure: the figure modules import pyplot and the style"},
}


def module_imports(script: Path) -> str:
    tree = ast.parse(script.read_text(), filename=str(script))
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                     and getattr(node, "module", None) != "__future__")


def heavy_after(code: str) -> list[str]:
    probe = (f"import sys, json\nexec(compile({code!r}, 'imports', 'exec'), {{}})\n"
             f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "scripts"), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("script", ADAPTERS, ids=lambda path: path.stem)
def test_adapter_imports_no_heavy_package_its_rule_does_not_use(script: Path) -> None:
    code = module_imports(script)
    assert "forge" in code, f"{script.name}: no library import found (the check would prove nothing)"
    unexpected = sorted(set(heavy_after(code)) - set(ALLOWED.get(script.stem, {})))
    assert not unexpected, f"{script.name} imports {unexpected} at start-up; import them where they are used"


def test_the_check_sees_a_heavy_import() -> None:
    """The probe itself: a module that imports scipy.stats at its top is caught."""
    assert heavy_after("import forge.io\nfrom scipy import stats") == ["scipy.stats"]
    assert "matplotlib" in heavy_after(module_imports(SCRIPTS / "figure.py"))  # ALLOWED's entry is still needed


def test_allowed_entries_name_adapters_and_heavy_packages() -> None:
    assert set(ALLOWED) <= {p.stem for p in ADAPTERS}
    assert all(set(packages) <= set(HEAVY) and all(packages.values()) for packages in ALLOWED.values())
