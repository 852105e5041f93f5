"""Helpers every figure uses to read its tables (forge.figures.inputs) and to mark empty panels
(forge.figures.style)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from forge.figures import style  # noqa: E402
from forge.figures.inputs import as_bool, has_columns, table_or_empty, table_or_none  # noqa: E402


def test_a_missing_skipped_or_incomplete_table_is_none() -> None:
    frame = pd.DataFrame({"a": [1], "b": [2]})
    tables = {"t": frame, "skipped": pd.DataFrame(), "not_a_frame": "x"}
    assert table_or_none(tables, "t", ("a", "b")) is frame
    assert table_or_none(tables, "t", ("a", "c")) is None
    assert table_or_none(tables, "skipped") is None
    assert table_or_none(tables, "not_a_frame") is None
    assert table_or_none(tables, "absent") is None
    # a table with columns and no rows is still a table (the figure decides what an empty one means)
    assert table_or_none({"t": frame.iloc[:0]}, "t", ("a",)) is not None


def test_a_missing_table_is_an_empty_frame() -> None:
    frame = pd.DataFrame({"a": [1]})
    assert table_or_empty({"t": frame}, "t") is frame
    assert table_or_empty({}, "t").empty and table_or_empty({"t": None}, "t").empty


def test_has_columns_needs_rows_and_every_column() -> None:
    frame = pd.DataFrame({"a": [1], "b": [2]})
    assert has_columns(frame, "a", "b") and has_columns(frame)
    assert not has_columns(frame, "a", "c")
    assert not has_columns(frame.iloc[:0], "a")
    assert not has_columns(None, "a")


def test_true_false_columns_as_the_tsv_reader_returns_them() -> None:
    expected = [True, False, True, False, True, False]
    as_read = pd.Series(["True", "False", " yes", "no", "1", "nan"])
    assert as_bool(as_read).tolist() == expected
    assert as_bool(pd.Series(expected)).tolist() == expected
    assert as_bool(pd.Series([1, 0, 1, 0, 1, 0])).tolist() == expected
    assert as_bool(pd.Series([True, False, True, False, True, None], dtype=object)).tolist() == expected


def test_wrap_keeps_the_line_breaks_and_the_width() -> None:
    text = "first line that is rather long for a panel\n\nsecond"
    wrapped = style.wrap(text, 12)
    assert wrapped.split("\n")[-2:] == ["", "second"]
    assert all(len(line) <= 12 for line in wrapped.split("\n"))
    assert wrapped.replace("\n", " ").split() == text.split()


def test_no_data_says_why_wrapped_to_the_width() -> None:
    fig, (plain, wrapped) = plt.subplots(1, 2)
    reason = "not drawn: the comparison table has no rows for this pair"
    style.no_data(plain, reason)
    style.no_data(wrapped, reason, 20)
    assert [t.get_text() for t in plain.texts] == [reason]
    assert [t.get_text() for t in wrapped.texts] == [style.wrap(reason, 20)]
    assert not plain.axison and not wrapped.axison
    plt.close(fig)


def test_jitter_is_the_seeded_uniform_offsets() -> None:
    offsets = style.jitter(np.random.default_rng(7), 1000, 0.18)
    assert np.array_equal(offsets, np.random.default_rng(7).uniform(-0.18, 0.18, 1000))
    assert offsets.min() >= -0.18 and offsets.max() < 0.18
