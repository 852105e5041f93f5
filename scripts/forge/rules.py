"""Helpers shared by the thin Snakemake rule adapters."""

from __future__ import annotations

import logging
import sys
from typing import Any


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
    return log


def limit_threads_to_rule(smk: Any) -> None:
    """Hold BLAS/OpenMP to the rule's ``threads:`` for the rest of the job's process.

    Results must not depend on the machine: a product's last bits, and so e.g. a heatmap's
    layout, can change with the BLAS thread count, and a SLURM job with one CPU would otherwise
    compute differently from a workstation's job. scipy's own BLAS is loaded first so that it
    is limited too.
    """
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS, so the limit reaches it)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=max(1, int(getattr(smk, "threads", 1) or 1)))


def blas_threads(smk: Any):
    """Limit BLAS/OpenMP threads to the rule's ``threads:`` (context manager).

    Oversubscribed BLAS threads spin and can slow the many small products of the
    batched solver by an order of magnitude, so each job uses exactly what it asked for.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=max(1, int(smk.threads)))


def optional_input(inputs: Any, name: str) -> str | None:
    """Path of an optional named input, or None when the rule did not get it (or got "")."""
    value = getattr(inputs, name, None)
    return str(value) if value else None
