"""Shared I/O helpers: atomic writes, matrix parquet round-trips, input validation errors."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

__all__ = [
    "InputFormatError",
    "atomic_write",
    "read_parquet_matrix",
    "require_columns",
    "write_parquet_matrix",
    "write_tsv",
]


class InputFormatError(ValueError):
    """An input file does not have the expected format.

    Messages always name the file, the offending column or key, and what was expected,
    so that a failing workflow rule points at the exact problem.
    """


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` only if the block succeeds.

    The temporary file lives in the same directory (``.<name>.tmp-<pid>``) so that the
    final ``os.replace`` is an atomic rename on the same filesystem; a crash or exception
    never leaves a half-written output that Snakemake could mistake for a finished one.

    Parameters
    ----------
    path
        Final destination. Parent directories are created if missing.

    Yields
    ------
    pathlib.Path
        Temporary path to write to.
    """
    final_path = Path(path)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = final_path.with_name(f".{final_path.name}.tmp-{os.getpid()}")
    try:
        yield tmp_path
        os.replace(tmp_path, final_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_parquet_matrix(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a samples × features matrix to parquet atomically.

    Column labels are converted to strings (parquet requires string column names) and
    the index is stored as a regular column named after the index (default ``"index"``),
    so :func:`read_parquet_matrix` restores it exactly.

    Parameters
    ----------
    df
        Matrix to write; the index holds row identifiers.
    path
        Destination ``.parquet`` file.
    """
    out = df.copy()
    out.columns = [str(c) for c in out.columns]
    index_name = df.index.name if df.index.name is not None else "index"
    if index_name in out.columns:
        raise ValueError(f"cannot write {path}: index name {index_name!r} is also a column label")
    out.index = out.index.rename(index_name)
    with atomic_write(path) as tmp:
        out.reset_index().to_parquet(tmp, index=False)


def read_parquet_matrix(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a matrix written by :func:`write_parquet_matrix`.

    Parameters
    ----------
    path
        Parquet file.

    Returns
    -------
    pandas.DataFrame
        Matrix with its original index name and string column labels.
    """
    table = pd.read_parquet(path)
    if table.shape[1] == 0:
        raise InputFormatError(f"{path}: expected an index column followed by data columns, found none")
    index_col = table.columns[0]
    out = table.set_index(index_col)
    if index_col == "index":
        out.index.name = None
    out.columns = [str(c) for c in out.columns]
    return out


def write_tsv(df: pd.DataFrame, path: str | os.PathLike[str], index: bool = False) -> None:
    """Write a table as tab-separated text atomically.

    Parameters
    ----------
    df
        Table to write.
    path
        Destination file.
    index
        Whether to write the index as the first column.
    """
    with atomic_write(path) as tmp:
        df.to_csv(tmp, sep="\t", index=index, lineterminator="\n")


def require_columns(df: pd.DataFrame, required: Iterable[str], path: str | os.PathLike[str]) -> None:
    """Raise :class:`InputFormatError` if ``df`` lacks any of ``required`` columns.

    Parameters
    ----------
    df
        Table read from ``path``.
    required
        Column names that must be present.
    path
        File the table came from (named in the error message).
    """
    missing = [c for c in required if c not in df.columns]
    if missing:
        shown = ", ".join(map(str, list(df.columns)[:10]))
        more = "" if df.shape[1] <= 10 else f", … ({df.shape[1]} columns)"
        raise InputFormatError(
            f"{path}: missing required column(s) {', '.join(repr(c) for c in missing)}; "
            f"found columns: {shown}{more}"
        )


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str], index: bool = False) -> None:
    """Write a table as comma-separated text (Unix line ends) atomically."""
    with atomic_write(path) as tmp:
        df.to_csv(tmp, index=index, lineterminator="\n")


def matrix_columns(path: str | os.PathLike[str]) -> list[str]:
    """Column labels of a matrix written by :func:`write_parquet_matrix`, from its schema alone."""
    import pyarrow.parquet as pq

    return [str(name) for name in pq.read_schema(path).names[1:]]  # the first column is the index


def read_tsv_indexed(path: str | os.PathLike[str], index: str) -> pd.DataFrame:
    """A tab-separated table indexed by its ``index`` column (read as text)."""
    table = pd.read_csv(path, sep="\t", dtype={index: str})
    if index not in table.columns:
        raise InputFormatError(f"{path}: missing column {index!r}")
    return table.set_index(index)


def read_tsv_or_empty(path: str | os.PathLike[str], **kwargs) -> pd.DataFrame:
    """A tab-separated table, or an empty table when the file holds no column (a skipped step)."""
    try:
        return pd.read_csv(path, sep="\t", **kwargs)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def first_invalid_utf8(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(line, byte column), 1-based, of the first byte that is not valid UTF-8; None if the file is UTF-8.

    Gzip files (``.gz``) are read decompressed.
    """
    import codecs
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, column = 1, 0
    with opener(path, "rb") as handle:
        while block := handle.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as err:
                before = block[: err.start]
                line += before.count(b"\n")
                column = (len(before) - before.rfind(b"\n") - 1 if b"\n" in before else column + len(before)) + 1
                return line, column
            line += block.count(b"\n")
            column = len(block) - block.rfind(b"\n") - 1 if b"\n" in block else column + len(block)
    return None


def utf8_error(path: str | os.PathLike[str], error: UnicodeDecodeError) -> InputFormatError:
    """The error every text reader raises for a file that is not UTF-8 (the policy for all text inputs)."""
    where = first_invalid_utf8(path)
    position = f"line {where[0]}, byte {where[1]}" if where else f"byte {error.start}"
    return InputFormatError(f"{path}: {position}: not valid UTF-8 ({error.reason}); every text input is read as "
                            "UTF-8: re-save the file as UTF-8")


def read_text_csv(path: str | os.PathLike[str], **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` for user text tables, with a non-UTF-8 file reported as :func:`utf8_error`."""
    try:
        return pd.read_csv(path, **kwargs)
    except UnicodeDecodeError as err:
        raise utf8_error(path, err) from err
