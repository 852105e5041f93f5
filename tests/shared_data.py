"""Locate ../shared/data/real (the real public data subsets) for tests that need it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """``../shared/data/real`` beside the checkout, or ``$FORGE_SHARED/data/real``."""
    candidates = [REPO.parent / "shared"]
    if os.environ.get("FORGE_SHARED"):
        candidates.insert(0, Path(os.environ["FORGE_SHARED"]))
    for candidate in candidates:
        if (candidate / "data" / "real").is_dir():
            return candidate / "data" / "real"
    return None


REAL = shared_data_dir()

requires_real_data = pytest.mark.skipif(
    REAL is None,
    reason="real data subsets not found: expected ../shared/data/real beside the repository "
    "or $FORGE_SHARED/data/real",
)
