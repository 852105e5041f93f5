"""How the PDX response window and day bins are closed, and how that is written into column names.

Kept apart from :mod:`forge.external.pdx` (which reads workbooks) so that the figures can parse the
column names without importing the processing stack.
"""

from __future__ import annotations


def _day_label(day: float) -> str:
    return f"{day:g}"


#: How the response window and the day bins are closed (``pdx.response.closed``).
#: ``right``: the paper's 5-day bins (a, a + w]: the "day 15" value is the mean over days in (10, 15],
#: a day-10 measurement belongs to (5, 10], day 0 to no bin. ``both``: the window [start, end] closed on
#: both sides and bins [a, a + w) (day 0 in the first bin), this workflow's earlier convention.
INTERVAL_CONVENTIONS = ("right", "both")


def interval_label(start: float, end: float, closed: str, *, window: bool) -> str:
    """The bounds part of a response column name, e.g. ``gt10_le15`` for (10, 15].

    The convention is in the name so that nobody confuses a right-closed bin with a closed window.
    """
    if closed == "right":
        return f"gt{_day_label(start)}_le{_day_label(end)}"
    if closed == "both":
        return f"ge{_day_label(start)}_{'le' if window else 'lt'}{_day_label(end)}"
    raise ValueError(f"pdx.response.closed must be one of {INTERVAL_CONVENTIONS}; got {closed!r}")


def parse_interval_label(label: str) -> tuple[float, float, str]:
    """``(start, end, text)`` of a bounds label: ``gt10_le15`` → (10, 15, "(10, 15]")."""
    low, _, high = label.partition("_")
    if low[:2] not in ("gt", "ge") or high[:2] not in ("lt", "le"):
        raise ValueError(f"not an interval label: {label!r}")
    start, end = float(low[2:]), float(high[2:])
    left = "(" if low[:2] == "gt" else "["
    right = "]" if high[:2] == "le" else ")"
    return start, end, f"{left}{_day_label(start)}, {_day_label(end)}{right}"
