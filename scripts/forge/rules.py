"""Helpers shared by the thin Snakemake rule adapters, and running one adapter outside Snakemake.

Every ``workflow/scripts/<rule>.py`` has the same shape: a ``main(smk)`` that reads the job's
``smk.input``, ``smk.output``, ``smk.params``, ``smk.wildcards``, ``smk.threads`` and ``smk.log``,
and one guard, identical in every adapter::

    if __name__ == "__main__":
        main(snakemake_job())

Inside Snakemake the job object is the ``snakemake`` global that Snakemake's preamble defines.
Outside it, for debugging, this module's command line builds the same object (Snakemake's own
:class:`snakemake.iocontainers.Snakemake`) from a job file and runs the adapter::

    python -m forge.rules run workflow/scripts/who_benefits.py job.json
    python -m forge.rules job .snakemake/scripts/tmpab12cd34.who_benefits.py > job.json

A job file is JSON with the keys ``input``, ``output``, ``params``, ``wildcards`` (each a mapping
of names to values, or for ``input``/``output``/``log`` a list), ``threads`` and ``log``; or the
script Snakemake kept for a real job (``snakemake --skip-script-cleanup``), which holds the job's
object, pickled.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import logging
import os
import pickle
import runpy
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The keys of a job file (:func:`job_from_file`).
JOB_KEYS = ("input", "output", "params", "wildcards", "threads", "log", "resources", "config", "rule")


def setup_rule_logging(smk: Any, name: str) -> logging.Logger:
    """Send all logging, warnings and an uncaught exception of a rule to its ``log:`` file.

    The exception hook means adapters need no try/except of their own: whatever makes
    a job fail is written, with its traceback, to the job's log (and still to stderr).
    """
    logging.basicConfig(
        filename=smk.log[0] if smk.log else None,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    log = logging.getLogger(name)
    previous_hook = sys.excepthook

    def log_uncaught(kind, error, traceback) -> None:
        log.error("%s failed: %s", name, error, exc_info=(kind, error, traceback))
        previous_hook(kind, error, traceback)

    sys.excepthook = log_uncaught
    limit_threads_to_rule(smk)
    log_startup(log)
    return log


#: The start-up line every job's log begins with (benchmarks/bench_paper_scale.py sums it).
STARTUP_MESSAGE = "start-up before the rule's work: %.3f s CPU, %.3f s since the process started"


def process_age_seconds() -> float | None:
    """Seconds since this process started (Linux ``/proc``), or None where that is unknown."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            # field 22 (starttime, clock ticks after boot); split after the command name, which may hold spaces
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            return float(uptime.read().split()[0]) - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def log_startup(log: logging.Logger) -> None:
    """Log what the job cost before its first line of work.

    CPU seconds of the process so far (interpreter, Snakemake's preamble, which unpickles the job,
    the adapter's imports and the thread limit) and the wall time since the process started
    (``/proc``'s 10-ms clock ticks); the paper-scale benchmark sums these over all jobs.
    """
    age = process_age_seconds()
    log.info(STARTUP_MESSAGE, time.process_time(), float("nan") if age is None else age)


def limit_threads_to_rule(smk: Any) -> None:
    """Hold BLAS/OpenMP to the rule's ``threads:`` for the rest of the job's process.

    Results must not depend on the machine: a product's last bits, and so e.g. a heatmap's
    layout, can change with the BLAS thread count, and a SLURM job with one CPU would otherwise
    compute differently from a workstation's job. scipy's own BLAS is loaded first so that it
    is limited too. Every adapter calls this once, through :func:`setup_rule_logging`, before its
    work. A thread pool that a package brings when it is first imported later (inside the
    function that uses it, e.g. scikit-learn's OpenMP, unused by the estimators the workflow
    fits) is not covered; numpy's and scipy's BLAS, which the results depend on, are.
    """
    importlib.import_module("scipy.linalg")  # loads scipy's BLAS, so the limit reaches it
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=max(1, int(getattr(smk, "threads", 1) or 1)))


def optional_input(inputs: Any, name: str) -> str | None:
    """Path of an optional named input, or None when the rule did not get it (or got "")."""
    value = getattr(inputs, name, None)
    return str(value) if value else None


def snakemake_job() -> Any:
    """The running job's Snakemake object: the ``snakemake`` global of the adapter run as ``__main__``.

    Snakemake defines it in the preamble it prepends to the adapter; :func:`run_adapter` (``python
    -m forge.rules run``) defines it from a job file. Run any other way, the adapter stops here with
    what to do instead.
    """
    job = getattr(sys.modules.get("__main__"), "snakemake", None)
    if job is None:
        raise SystemExit(
            "this script is a Snakemake rule's adapter: it runs inside Snakemake, or outside it with "
            "`python -m forge.rules run <script> <job.json>` (README: Running one rule's script outside Snakemake)"
        )
    return job


def _named(cls: type, values: Any, flatten: bool) -> Any:
    """A Snakemake named list of ``cls`` from a mapping (names kept) or a list; with ``flatten`` a
    list value becomes several items under one name, as Snakemake does for inputs and outputs."""
    named = cls()
    if values is None:
        return named
    if not isinstance(values, Mapping):
        named.extend(values if isinstance(values, list) else [values])
        return named
    for name, value in values.items():
        start = len(named)
        if flatten and isinstance(value, list):
            named.extend(str(v) for v in value)
        else:
            named.append(str(value) if flatten else value)
        named._set_name(str(name), start, end=len(named) if flatten and isinstance(value, list) else None)
    return named


def job_from_mapping(job: Mapping[str, Any], rule: str = "") -> Any:
    """Snakemake's job object (:class:`snakemake.iocontainers.Snakemake`) from a job description.

    Parameters
    ----------
    job
        ``input``, ``output``, ``log`` (mappings of names to paths or lists of paths, or lists),
        ``params``, ``wildcards``, ``resources`` (mappings), ``threads`` (default 1), ``config``.
    rule
        The rule's name, when the job does not give one (``rule``).
    """
    from snakemake.iocontainers import InputFiles, Log, OutputFiles, Params, ResourceList, Snakemake, Wildcards

    unknown = sorted(set(job) - set(JOB_KEYS))
    if unknown:
        raise ValueError(f"job: unknown keys {unknown}; expected some of {list(JOB_KEYS)}")
    return Snakemake(
        _named(InputFiles, job.get("input"), flatten=True),
        _named(OutputFiles, job.get("output"), flatten=True),
        _named(Params, job.get("params"), flatten=False),
        _named(Wildcards, {k: str(v) for k, v in (job.get("wildcards") or {}).items()}, flatten=False),
        int(job.get("threads", 1)),
        _named(ResourceList, job.get("resources"), flatten=False),
        _named(Log, job.get("log"), flatten=True),
        dict(job.get("config") or {}),
        str(job.get("rule") or rule),
        None,
    )


def job_from_kept_script(path: str | Path) -> Any:
    """The job object pickled in a script Snakemake kept (``snakemake --skip-script-cleanup``)."""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if "pickle.loads(" not in line:
            continue
        for node in ast.walk(ast.parse(line)):
            if (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["snakemake"]
                    and isinstance(node.value, ast.Call)):
                return pickle.loads(ast.literal_eval(node.value.args[0]))
    raise ValueError(f"{path}: no pickled Snakemake object; expected a script kept by snakemake --skip-script-cleanup")


def job_from_file(path: str | Path, rule: str = "") -> Any:
    """The job object from a JSON job file or from a script Snakemake kept (see the module docstring)."""
    text = Path(path).read_text(encoding="utf-8")
    if "snakemake preamble start" in text:
        return job_from_kept_script(path)
    try:
        job = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not a JSON job file ({error}) nor a script Snakemake kept") from error
    if not isinstance(job, Mapping):
        raise ValueError(f"{path}: a job file is a JSON object with keys among {list(JOB_KEYS)}")
    return job_from_mapping(job, rule)


def job_as_mapping(job: Any) -> dict[str, Any]:
    """A job object as the mapping a job file holds (for ``python -m forge.rules job``)."""
    def named(values: Any) -> Any:
        names = dict(values.items())
        if not names:
            return list(values)
        return {name: list(value) if isinstance(value, list) else value for name, value in names.items()}

    return {"rule": job.rule, "input": named(job.input), "output": named(job.output), "params": named(job.params),
            "wildcards": dict(job.wildcards.items()), "threads": job.threads, "log": named(job.log)}


def run_adapter(script: str | Path, job: Any) -> None:
    """Run a rule's adapter as Snakemake would, with ``job`` as its ``snakemake`` object
    (the folders of its outputs and logs made first, as Snakemake makes them)."""
    script = Path(script)
    for path in [*job.output, *job.log]:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(script.parent))
    try:
        runpy.run_path(str(script), init_globals={"snakemake": job}, run_name="__main__")
    finally:
        sys.path.remove(str(script.parent))


def main(argv: list[str] | None = None) -> None:
    """``python -m forge.rules run SCRIPT JOB`` and ``python -m forge.rules job KEPT_SCRIPT``."""
    parser = argparse.ArgumentParser(prog="python -m forge.rules", description="Run one rule's adapter outside Snakemake.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run workflow/scripts/<rule>.py on the job described in JOB")
    run.add_argument("script", help="the rule's adapter, workflow/scripts/<rule>.py")
    run.add_argument("job", help="a JSON job file, or a script Snakemake kept (--skip-script-cleanup)")
    show = commands.add_parser("job", help="print the job file of a script Snakemake kept (--skip-script-cleanup)")
    show.add_argument("kept_script")
    args = parser.parse_args(argv)
    if args.command == "run":
        run_adapter(args.script, job_from_file(args.job, rule=Path(args.script).stem))
    else:
        print(json.dumps(job_as_mapping(job_from_kept_script(args.kept_script)), indent=2, default=str))


if __name__ == "__main__":
    main()
