"""Helpers shared by the thin Snakemake rule adapters."""

from __future__ import annotations

import logging
from typing import Any


def setup_rule_logging(smk: Any, name: str) -> logging.Logger:
    """Send all logging (and warnings) of a rule to its ``log:`` file."""
    logging.basicConfig(
        filename=smk.log[0] if smk.log else None,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    return logging.getLogger(name)


def blas_threads(smk: Any):
    """Limit BLAS/OpenMP threads to the rule's ``threads:`` (context manager).

    Oversubscribed BLAS threads spin and can slow the many small products of the
    batched solver by an order of magnitude, so each job uses exactly what it asked for.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=max(1, int(smk.threads)))
