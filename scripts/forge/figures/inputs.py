"""The tables a figure reads: looking one up, checking its columns, reading a true/false column.

The figure rule hands a drawing function every table its spec names; a table of a skipped step is
empty (no columns). These helpers turn that into "not drawn" decisions the same way in every figure.
"""

from __future__ import annotations

import pandas as pd


def table_or_empty(tables: dict, key: str) -> pd.DataFrame:
    """The table ``key``, or an empty DataFrame when the figure was not given one."""
    frame = tables.get(key)
    return frame if isinstance(frame, pd.DataFrame) else pd.DataFrame()


def table_or_none(tables: dict, key: str, columns: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """The table ``key``, or None when it is absent, skipped (no columns) or lacks one of ``columns``."""
    frame = tables.get(key)
    if frame is None or not isinstance(frame, pd.DataFrame) or len(frame.columns) == 0:
        return None
    if any(c not in frame.columns for c in columns):
        return None
    return frame


def has_columns(frame: pd.DataFrame | None, *columns: str) -> bool:
    """Whether ``frame`` is a table with rows and every one of ``columns``."""
    return frame is not None and not frame.empty and all(c in frame.columns for c in columns)


def as_bool(values: pd.Series) -> pd.Series:
    """A true/false column as read from a TSV (bool, or the strings 'True'/'False', '1', 'yes')."""
    if values.dtype == bool:
        return values
    return values.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
