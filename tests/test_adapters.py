"""Every rule adapter has one shape, and one adapter runs outside Snakemake as the README says.

The shape: a ``main(smk)`` and one guard, ``if __name__ == "__main__": main(snakemake_job())``.
Outside Snakemake, ``python -m forge.rules run <script> <job.json>`` runs an adapter on a job file,
and ``python -m forge.rules job <kept script>`` writes the job file of a job Snakemake ran with
``--skip-script-cleanup``: rerunning that job outside Snakemake writes the same bytes.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from conftest import REPO

SCRIPTS = REPO / "workflow" / "scripts"
ADAPTERS = sorted(SCRIPTS.glob("*.py"))
GUARD = 'if __name__ == "__main__":\n    main(snakemake_job())'
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "scripts"), os.environ.get("PYTHONPATH", "")]))


@pytest.mark.parametrize("script", ADAPTERS, ids=lambda path: path.stem)
def test_adapter_has_main_and_the_one_guard(script: Path) -> None:
    tree = ast.parse(script.read_text())
    top = [node for node in tree.body if not isinstance(node, (ast.Import, ast.ImportFrom))]
    if isinstance(top[0], ast.Expr) and isinstance(top[0].value, ast.Constant):
        top = top[1:]  # the docstring
    functions = [node.name for node in top if isinstance(node, ast.FunctionDef)]
    assert "main" in functions, f"{script.name}: no main(smk)"
    main = next(node for node in top if isinstance(node, ast.FunctionDef) and node.name == "main")
    assert [arg.arg for arg in main.args.args] == ["smk"], f"{script.name}: main takes ({ast.unparse(main.args)})"
    guards = [node for node in top if isinstance(node, ast.If)]
    source = script.read_text()
    assert len(guards) == 1 and ast.get_source_segment(source, guards[0]) == GUARD, f"{script.name}: the guard differs"
    # nothing else runs at import: only constants (a logger, a number) besides functions and the guard
    others = [node for node in top if not isinstance(node, (ast.FunctionDef, ast.If))]
    assert all(isinstance(node, ast.Assign) for node in others), (script.name, [ast.unparse(n) for n in others])
    assert "snakemake." not in script.read_text().split('"""', 2)[-1], f"{script.name}: reads the global snakemake"


def compare_pairs_inputs(root: Path) -> dict:
    """Per-pair tables of three pairs (one a control) as rule compare_pairs reads them."""
    root.mkdir(parents=True)
    pairs = pd.DataFrame({"name": ["A_X", "B_Y", "C_Z"], "target": ["A", "B", "C"], "drug": ["X", "Y", "Z"],
                          "control": [False, False, True]})
    pairs.to_csv(root / "pairs.tsv", sep="\t", index=False)
    concordance_r = {"A_X": ([0.9, 0.7], [0.5, 0.4]), "B_Y": ([0.6, 0.8], [0.55, 0.2]), "C_Z": ([0.1, 0.0], [0.3, 0.2])}
    job = {"input": {"pairs": str(root / "pairs.tsv"), "metrics": [], "comparison": [], "concordance": []}}
    for name, (joint, individual) in concordance_r.items():
        folder = root / name
        folder.mkdir()
        pd.DataFrame({"pair": [name], "model": ["forge_joint"], "pearson": [0.5]}).to_csv(
            folder / "metrics.tsv", sep="\t", index=False)
        pd.DataFrame({"pair": [name], "model": ["forge_joint"], "pearson_mean": [0.5]}).to_csv(
            folder / "comparison.tsv", sep="\t", index=False)
        pd.DataFrame({"pair": name, "replicate": [0, 1], "joint_r": joint, "individual_r": individual}).to_csv(
            folder / "concordance.tsv", sep="\t", index=False)
        for key in ("metrics", "comparison", "concordance"):
            job["input"][key].append(str(folder / f"{key}.tsv"))
    return job


def test_an_adapter_runs_outside_snakemake_on_a_job_file(tmp_path: Path) -> None:
    job = compare_pairs_inputs(tmp_path / "in")
    out = tmp_path / "out"
    job["output"] = {name: str(out / f"{name}.tsv") for name in ("metrics", "comparison", "concordance",
                                                                 "concordance_test")}
    job["log"] = [str(tmp_path / "compare_pairs.log")]
    (tmp_path / "job.json").write_text(json.dumps(job))
    done = subprocess.run([sys.executable, "-m", "forge.rules", "run", str(SCRIPTS / "compare_pairs.py"),
                           str(tmp_path / "job.json")], capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    per_pair = pd.read_csv(out / "concordance.tsv", sep="\t").set_index("pair")
    assert list(per_pair.index) == ["A_X", "B_Y"]  # the control is kept out of the test
    assert per_pair.loc["A_X", "joint_r"] == pytest.approx(0.8)
    test = pd.read_csv(out / "concordance_test.tsv", sep="\t").iloc[0]
    oracle = stats.ttest_rel([0.8, 0.7], [0.45, 0.375], alternative="greater")
    assert test["n_pairs"] == 2 and test["p_value_one_sided"] == pytest.approx(oracle.pvalue, rel=1e-12)
    assert len(pd.read_csv(out / "metrics.tsv", sep="\t")) == 3  # every pair's rows, the control's too
    assert "concordance over 2 pairs" in (tmp_path / "compare_pairs.log").read_text()


def test_an_adapter_run_directly_says_how_to_run_it(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPTS / "who_benefits.py")], capture_output=True, text=True,
                          env=ENV, cwd=tmp_path)
    assert done.returncode != 0
    assert "python -m forge.rules run" in done.stderr and "outside Snakemake" in done.stderr


def test_a_job_snakemake_ran_reruns_outside_it_with_the_same_bytes(tmp_path: Path) -> None:
    """`snakemake --skip-script-cleanup` keeps the job's script; `python -m forge.rules job` turns it
    into a job file, which, pointed at other outputs, writes what Snakemake's job wrote."""
    job = compare_pairs_inputs(tmp_path / "in")
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(
        "rule compare_pairs:\n"
        f"    input:\n        pairs={job['input']['pairs']!r},\n"
        + "".join(f"        {key}={job['input'][key]!r},\n" for key in ("metrics", "comparison", "concordance"))
        + "    output:\n"
        + "".join(f"        {name}='snakemake/{name}.tsv',\n"
                  for name in ("metrics", "comparison", "concordance", "concordance_test"))
        + "    log:\n        'snakemake/compare_pairs.log',\n"
        f"    script:\n        {str(SCRIPTS / 'compare_pairs.py')!r}\n"
    )
    ran = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--skip-script-cleanup", "--snakefile",
                          str(snakefile)], capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    kept = sorted((tmp_path / ".snakemake" / "scripts").glob("*compare_pairs.py"))
    assert len(kept) == 1, kept

    shown = subprocess.run([sys.executable, "-m", "forge.rules", "job", str(kept[0])], capture_output=True,
                           text=True, env=ENV, cwd=tmp_path, check=True)
    rerun = json.loads(shown.stdout)
    assert rerun["rule"] == "compare_pairs" and rerun["input"]["metrics"] == job["input"]["metrics"]
    rerun["output"] = {name: path.replace("snakemake/", "rerun/") for name, path in rerun["output"].items()}
    rerun["log"] = ["rerun/compare_pairs.log"]
    (tmp_path / "job.json").write_text(json.dumps(rerun))
    done = subprocess.run([sys.executable, "-m", "forge.rules", "run", str(SCRIPTS / "compare_pairs.py"), "job.json"],
                          capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("metrics", "comparison", "concordance", "concordance_test"):
        assert (tmp_path / f"rerun/{name}.tsv").read_bytes() == (tmp_path / f"snakemake/{name}.tsv").read_bytes()
    # the kept script itself is a job file too
    again = subprocess.run([sys.executable, "-m", "forge.rules", "run", str(SCRIPTS / "compare_pairs.py"),
                            str(kept[0])], capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_a_job_file_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text(json.dumps({"inputs": {"pairs": "pairs.tsv"}}))
    done = subprocess.run([sys.executable, "-m", "forge.rules", "run", str(SCRIPTS / "compare_pairs.py"),
                           str(tmp_path / "job.json")], capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert done.returncode != 0 and "unknown keys ['inputs']" in done.stderr
