"""Benchmark: what each rule adapter's process pays to import its library before any work.

For every ``workflow/scripts/<rule>.py`` (the download adapters excepted: they import only the
download module), the adapter's module-level import statements are read with :mod:`ast` and run
in a fresh interpreter, which reports the seconds they took (interpreter start-up excluded) and
which heavy packages they left in ``sys.modules``. The minimum over ``--repeats`` runs is
printed (warm file cache), wall and CPU seconds (CPU time is the steadier figure on a loaded
machine), one row per adapter, then the totals over the adapters.

    python benchmarks/bench_imports.py                        # table
    python benchmarks/bench_imports.py --json                 # one JSON line per adapter
    python benchmarks/bench_imports.py --repo /path/to/other  # another checkout's adapters and library

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

# Packages whose import costs a second or more, or compiles (numba): a job should import them
# only when its rule uses them.
HEAVY = ("sklearn", "gseapy", "pydeseq2", "matplotlib", "numba", "umap", "scanpy", "anndata",
         "statsmodels", "scipy.stats")


def adapter_scripts(repo: Path = REPO) -> list[Path]:
    """The rule adapters measured: every workflow script except the download adapters."""
    return sorted(p for p in (repo / "workflow" / "scripts").glob("*.py") if not p.name.startswith("download_"))


def module_imports(script: Path) -> str:
    """The adapter's module-level import statements (those run when its process starts), as code."""
    tree = ast.parse(script.read_text(), filename=str(script))
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                     and getattr(node, "module", None) != "__future__")


def measure_imports(code: str, repo: Path = REPO) -> dict:
    """Run ``code`` in a fresh interpreter with ``repo``'s library first on the path: its wall and
    CPU seconds and the heavy packages it imported."""
    probe = (
        "import sys, time, json\n"
        "started, cpu = time.perf_counter(), time.process_time()\n"
        f"exec(compile({code!r}, 'imports', 'exec'), {{}})\n"
        "seconds, cpu = time.perf_counter() - started, time.process_time() - cpu\n"
        f"heavy = [name for name in {HEAVY!r} if name in sys.modules]\n"
        "print(json.dumps({'seconds': seconds, 'cpu_seconds': cpu, 'heavy': heavy}))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(repo / "scripts"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=repo)
    if result.returncode != 0:
        raise RuntimeError(f"importing failed:\n{code}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per adapter; the minimum is printed")
    parser.add_argument("--json", action="store_true", help="one JSON line per adapter instead of a table")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to measure (default: this one)")
    args = parser.parse_args()
    total = total_cpu = 0.0
    if not args.json:
        print(f"{'adapter':<26} {'wall s':>7} {'CPU s':>7}  heavy packages imported")
    for script in adapter_scripts(args.repo):
        runs = [measure_imports(module_imports(script), args.repo) for _ in range(args.repeats)]
        seconds = min(run["seconds"] for run in runs)
        cpu = min(run["cpu_seconds"] for run in runs)
        total, total_cpu = total + seconds, total_cpu + cpu
        row = {"adapter": script.stem, "import_seconds": round(seconds, 3), "import_cpu_seconds": round(cpu, 3),
               "heavy": runs[0]["heavy"]}
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{script.stem:<26} {seconds:7.2f} {cpu:7.2f}  {', '.join(row['heavy']) or '-'}")
    if not args.json:
        print(f"{'total':<26} {total:7.2f} {total_cpu:7.2f}")


if __name__ == "__main__":
    main()
