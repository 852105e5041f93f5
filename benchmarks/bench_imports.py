"""Benchmark: what each rule adapter's process pays to import its library before any work.

For every ``workflow/scripts/<rule>.py`` (the download adapters excepted: they import only the
download module), the adapter's module-level import statements are read with :mod:`ast` and run
in a fresh interpreter, which reports the seconds they took (interpreter start-up excluded) and
which heavy packages they left in ``sys.modules``. The minimum over ``--repeats`` runs is
printed (warm file cache), one row per adapter, then the total over the adapters.

    python benchmarks/bench_imports.py               # table
    python benchmarks/bench_imports.py --json        # one JSON line per adapter

Run it from the repository root with the library on the path (``PYTHONPATH=scripts``).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"

# Packages whose import costs a second or more, or compiles (numba): a job should import them
# only when its rule uses them.
HEAVY = ("sklearn", "gseapy", "pydeseq2", "matplotlib", "numba", "umap", "scanpy", "anndata",
         "statsmodels", "scipy.stats")


def adapter_scripts() -> list[Path]:
    """The rule adapters measured: every workflow script except the download adapters."""
    return sorted(p for p in SCRIPTS.glob("*.py") if not p.name.startswith("download_"))


def module_imports(script: Path) -> str:
    """The adapter's module-level import statements (those run when its process starts), as code."""
    tree = ast.parse(script.read_text(), filename=str(script))
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                     and getattr(node, "module", None) != "__future__")


def measure_imports(code: str) -> dict:
    """Run ``code`` in a fresh interpreter: its seconds and the heavy packages it imported."""
    probe = (
        "import sys, time, json\n"
        "started = time.perf_counter()\n"
        f"exec(compile({code!r}, 'imports', 'exec'), {{}})\n"
        "seconds = time.perf_counter() - started\n"
        f"heavy = [name for name in {HEAVY!r} if name in sys.modules]\n"
        "print(json.dumps({'seconds': seconds, 'heavy': heavy}))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "scripts"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError(f"importing failed:\n{code}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per adapter; the minimum is printed")
    parser.add_argument("--json", action="store_true", help="one JSON line per adapter instead of a table")
    args = parser.parse_args()
    total = 0.0
    if not args.json:
        print(f"{'adapter':<26} {'import s':>9}  heavy packages imported")
    for script in adapter_scripts():
        runs = [measure_imports(module_imports(script)) for _ in range(args.repeats)]
        seconds = min(run["seconds"] for run in runs)
        total += seconds
        row = {"adapter": script.stem, "import_seconds": round(seconds, 3), "heavy": runs[0]["heavy"]}
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{script.stem:<26} {seconds:9.2f}  {', '.join(row['heavy']) or '-'}")
    if not args.json:
        print(f"{'total':<26} {total:9.2f}")


if __name__ == "__main__":
    main()
