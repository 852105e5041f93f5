"""Shared I/O helpers: atomic writes, matrix parquet round-trips, input validation errors."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "InputFormatError",
    "MatrixArray",
    "atomic_write",
    "read_parquet_matrix",
    "require_columns",
    "write_matrix_array",
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


def read_parquet_matrix(path: str | os.PathLike[str], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a matrix written by :func:`write_parquet_matrix`.

    Parameters
    ----------
    path
        Parquet file.
    columns
        Read only these data columns (Parquet column projection: at DepMap size 200 of 54,000
        gene columns read in a tenth of the time and memory of the whole file), in this order.
        A name the file lacks is refused, naming the file and the first missing names.

    Returns
    -------
    pandas.DataFrame
        Matrix with its original index name and string column labels.
    """
    import pyarrow.parquet as pq

    try:
        if columns is None:
            table = pq.read_table(path)
        else:
            names = pq.read_schema(path).names
            names = [n for n in names if n != "__index_level_0__"]
            available = set(names[1:])
            missing = [c for c in columns if c not in available]
            if missing:
                raise InputFormatError(
                    f"{path}: {len(missing)} requested columns are not in the matrix, e.g. {missing[:5]}"
                )
            table = pq.read_table(path, columns=[names[0], *columns])
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise InputFormatError(f"{path}: not a readable Parquet matrix, truncated or corrupt ({err})") from err
    if table.num_columns == 0:
        raise InputFormatError(f"{path}: expected an index column followed by data columns, found none")
    return _matrix_from_table(table)


# Gene columns per read batch of read_parquet_matrix_batched (~55 MB of float64 at 1,700 samples).
READ_BATCH_COLUMNS = 4096


def read_parquet_matrix_batched(path: str | os.PathLike[str], batch_columns: int = READ_BATCH_COLUMNS) -> pd.DataFrame:
    """:func:`read_parquet_matrix` of a float64 matrix, read in column batches.

    For a matrix too large to hold several copies of (rule voom_expression reads the cohort's
    counts with it: at DepMap size reading the whole file at once peaks at 3-4 GB).

    Returns the same frame (index, labels, values) as ``read_parquet_matrix(path)``, with the
    data in one preallocated float64 block (each gene's column contiguous), so the peak is the
    matrix plus one batch instead of several copies of the matrix. Files this cannot read
    identically (non-float64 or repeated columns, a stored pandas index, few columns, or an
    unreadable schema) go through ``read_parquet_matrix`` whole, with its errors.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, ValueError):
        return read_parquet_matrix(path)  # raises its FileNotFoundError / InputFormatError
    names = [n for n in schema.names if n != "__index_level_0__"]
    genes = names[1:]
    pandas_index = (schema.pandas_metadata or {}).get("index_columns", [])
    if (
        len(genes) <= batch_columns
        or len(names) != len(schema.names)
        or pandas_index
        or len(set(names)) != len(names)
        or any(field.type != pa.float64() for field in list(schema)[1:])  # fields 1: are genes
    ):
        return read_parquet_matrix(path)
    # the index exactly as read_parquet_matrix builds it (one data column read with it)
    index = read_parquet_matrix(path, columns=genes[:1]).index
    parquet = pq.ParquetFile(path)
    if parquet.metadata.num_rows != len(index):  # cannot happen for one file; guard anyway
        raise RuntimeError(f"{path}: {parquet.metadata.num_rows} rows but an index of {len(index)}")
    block = np.empty((len(genes), len(index)), dtype=np.float64)
    for start in range(0, len(genes), batch_columns):
        batch = genes[start : start + batch_columns]
        table = parquet.read(columns=batch)
        if table.column_names != batch:
            raise RuntimeError(f"{path}: columns read differ from those asked for")
        for offset, column in enumerate(table.itercolumns()):
            block[start + offset] = column.to_numpy()  # nulls → NaN, as pandas' to_pandas
        del table
    pa.default_memory_pool().release_unused()  # Arrow keeps freed read buffers otherwise
    return pd.DataFrame(block.T, index=index, columns=[str(g) for g in genes], copy=False)


def write_parquet_matrix_nocopy(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """:func:`write_parquet_matrix` of a float64 matrix with a string index, copy-free.

    ``write_parquet_matrix`` copies the frame, resets its index (another copy) and converts it
    with ``pyarrow.Table.from_pandas`` (a third); here the Arrow table is built directly on the
    frame's column buffers, with the schema (pandas metadata included) that ``from_pandas``
    gives for the same frame, and written by the same ``pyarrow.parquet.write_table`` call as
    ``DataFrame.to_parquet``, so the file is byte-identical. Other frames are handed to
    ``write_parquet_matrix``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = [str(c) for c in df.columns]
    index_name = df.index.name if df.index.name is not None else "index"
    if (
        len(df) == 0
        or df.attrs
        or index_name in columns
        or not all(dtype == np.float64 for dtype in df.dtypes)
        or pd.api.types.infer_dtype(df.index, skipna=False) != "string"
    ):
        write_parquet_matrix(df, path)
        return
    # The schema write_parquet_matrix's table gets: from_pandas of its frame's first row.
    head = df.iloc[:1].copy()
    head.columns = columns
    head.index = head.index.rename(index_name)
    schema = pa.Schema.from_pandas(head.reset_index(), preserve_index=False)
    values = df.to_numpy(dtype=np.float64)  # one float block: a view, columns contiguous
    arrays = [pa.array(np.asarray(df.index, dtype=object), type=schema.field(0).type, from_pandas=True)]
    arrays += [pa.array(values[:, j], type=pa.float64(), from_pandas=True) for j in range(values.shape[1])]
    table = pa.Table.from_arrays(arrays, schema=schema)
    del arrays
    with atomic_write(path) as tmp:
        pq.write_table(table, str(tmp), compression="snappy")


def _matrix_from_table(table) -> pd.DataFrame:
    """The DataFrame of an Arrow table whose first column is the index.

    A matrix of float64 columns is copied once, column by column, into one 2-D array (pandas'
    conversion and set_index copy it twice more: at DepMap size that took 2 s and 0.5 GB
    more); other column types go through pandas' own conversion.
    """
    import pyarrow as pa

    index_col = table.column_names[0]
    data = table.drop_columns([index_col])
    if data.num_columns and all(field.type == pa.float64() for field in data.schema):
        matrix = np.empty((table.num_rows, data.num_columns), dtype=np.float64, order="F")
        for j, column in enumerate(data.columns):
            matrix[:, j] = column.to_numpy()
        index = pd.Index(table.select([0]).to_pandas()[index_col], name=index_col)
        out = pd.DataFrame(matrix, index=index, columns=[str(c) for c in data.column_names], copy=False)
    else:
        out = table.to_pandas().set_index(index_col)
        out.columns = [str(c) for c in out.columns]
    if index_col == "index":
        out.index.name = None
    return out


# ---------------------------------------------------------------------------
# Memory-mappable matrix arrays (the cohort expression read by every pair's jobs)
# ---------------------------------------------------------------------------
MATRIX_ARRAY_FORMAT = "forge-matrix-array/1"
MATRIX_ARRAY_FILES = {"index": "index.json", "values": "values.npy", "rank_order": "rank_order.npy"}


def rank_order_dtype(n_samples: int) -> np.dtype:
    """The smallest integer type that holds positions 0 … n_samples − 1 (and n_samples)."""
    return np.dtype(np.int16) if n_samples < 2**15 - 1 else np.dtype(np.int32)


def write_matrix_array(df: pd.DataFrame, directory: str | os.PathLike[str]) -> None:
    """Write a float samples × features matrix as a memory-mappable array with its sort orders.

    Files (each written atomically): ``values.npy`` (float64, Fortran order, so each feature's
    column is contiguous), ``rank_order.npy`` (features × samples, row ``g`` the stable ascending
    sort order of feature ``g`` with NaN last: what :func:`forge.modelling.model.subset_average_ranks`
    needs to rank any subset of samples in O(n)) and ``index.json`` (sample and feature labels).
    A whole-matrix read takes a fraction of a second instead of seconds for the Parquet file
    (1,700 × 20,000: 0.2 s against 3 s), and a job maps only the pages it touches.
    """
    directory = Path(directory)
    values = np.asfortranarray(df.to_numpy(dtype=np.float64))
    order = np.argsort(values, axis=0, kind="stable").astype(rank_order_dtype(values.shape[0])).T
    index = {
        "format": MATRIX_ARRAY_FORMAT,
        "index_name": df.index.name,
        "shape": list(values.shape),
        "samples": [str(s) for s in df.index],
        "features": [str(c) for c in df.columns],
        "files": {k: v for k, v in MATRIX_ARRAY_FILES.items() if k != "index"},
    }
    for key, array in (("values", values), ("rank_order", np.ascontiguousarray(order))):
        with atomic_write(directory / MATRIX_ARRAY_FILES[key]) as tmp, open(tmp, "wb") as handle:
            np.save(handle, array)  # a file handle: np.save would append .npy to the temporary name
    with atomic_write(directory / MATRIX_ARRAY_FILES["index"]) as tmp:
        tmp.write_text(json.dumps(index) + "\n")


def read_matrix_array_index(path: str | os.PathLike[str]) -> dict:
    """The ``index.json`` of a matrix array (labels and shape), checked; the arrays are not opened."""
    path = Path(path)
    try:
        index = json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:
        raise InputFormatError(f"{path}: not a readable matrix-array index ({err})") from err
    if not isinstance(index, dict) or index.get("format") != MATRIX_ARRAY_FORMAT:
        found = index.get("format") if isinstance(index, dict) else type(index).__name__
        raise InputFormatError(f"{path}: key 'format' is {found!r}, expected {MATRIX_ARRAY_FORMAT!r}")
    for key in ("shape", "samples", "features"):
        if key not in index:
            raise InputFormatError(f"{path}: missing key {key!r}")
    shape = tuple(index["shape"])
    if shape != (len(index["samples"]), len(index["features"])):
        raise InputFormatError(f"{path}: 'shape' {list(shape)} does not match "
                               f"{len(index['samples'])} samples × {len(index['features'])} features")
    return index


class MatrixArray:
    """A matrix written by :func:`write_matrix_array`, memory-mapped read-only.

    Attributes
    ----------
    samples, features : pandas.Index
        Row and column labels (``samples.name`` is the index name of the written frame).
    values : numpy.memmap (n_samples, n_features)
        Float64, Fortran order.
    rank_order : numpy.memmap (n_features, n_samples)
        Per feature, the stable ascending sort order of its values, NaN last.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        directory = Path(directory)
        index = read_matrix_array_index(directory / MATRIX_ARRAY_FILES["index"])
        shape = tuple(index["shape"])
        self.directory = directory
        self.samples = pd.Index(index["samples"], name=index.get("index_name"))
        self.features = pd.Index(index["features"])
        self.values = self._load("values", shape, np.float64)
        self.rank_order = self._load("rank_order", shape[::-1], rank_order_dtype(shape[0]))

    def _load(self, key: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        path = self.directory / MATRIX_ARRAY_FILES[key]
        try:
            array = np.load(path, mmap_mode="r")
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as err:
            raise InputFormatError(f"{path}: not a readable .npy array, truncated or corrupt ({err})") from err
        if array.shape != shape or array.dtype != np.dtype(dtype):
            raise InputFormatError(f"{path}: array of shape {array.shape} and type {array.dtype}, expected "
                                   f"{shape} and {np.dtype(dtype)} (from {MATRIX_ARRAY_FILES['index']})")
        return array

    def frame(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The matrix as a DataFrame like :func:`read_parquet_matrix` returns: the whole matrix
        backed by the read-only map (no copy), or the named columns copied, in that order."""
        if columns is None:
            return pd.DataFrame(self.values, index=self.samples.copy(), columns=self.features.copy(), copy=False)
        positions = self.features.get_indexer(columns)
        if (positions < 0).any():
            missing = [c for c, i in zip(columns, positions) if i < 0]
            raise InputFormatError(f"{self.directory}: {len(missing)} requested columns are not in the matrix, "
                                   f"e.g. {missing[:5]}")
        block = np.asfortranarray(self.values[:, positions])
        return pd.DataFrame(block, index=self.samples.copy(), columns=pd.Index(list(columns)), copy=False)


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


# --------------------------------------------------------------------------------------------
# The input policy of every text reader (one place): UTF-8, an optional byte-order mark, LF or
# CRLF line ends, gzip only under a .gz name, a newline after the last line, and tables whose
# rows all have as many fields as their header and whose column names are unique.
# --------------------------------------------------------------------------------------------

UTF8_BOM = b"\xef\xbb\xbf"
_COMPRESSION_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_COMPRESSED_SUFFIXES = {".zip": "zip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}


def compression_of(path: str | os.PathLike[str]) -> str | None:
    """Compression of a file from its first bytes (``"gzip"``, ``"zip"``, …), or None."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    return next((kind for magic, kind in _COMPRESSION_MAGIC if head.startswith(magic)), None)


def _is_gz_name(path: str | os.PathLike[str]) -> bool:
    return str(path).lower().endswith(".gz")


def check_text_input(path: str | os.PathLike[str]) -> None:
    """Refuse a text input that breaks the input policy before it is parsed.

    * compression: a ``.gz`` name must hold gzip data and gzip data must have a ``.gz`` name
      (it is then read decompressed); other compressions (zip, bzip2, xz, zstd) are refused;
    * a file (after decompression) with no byte is refused as empty;
    * the last line must end with a newline (LF or CRLF): a file cut mid-row is refused as
      truncated (a truncated gzip stream likewise).

    Encoding (UTF-8, with or without a byte-order mark) is checked by the readers as they decode.
    """
    import gzip
    import zlib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    kind = compression_of(path)
    named_gz = _is_gz_name(path)
    if named_gz and kind != "gzip":
        found = "not compressed" if kind is None else f"{kind}-compressed"
        raise InputFormatError(f"{path}: named .gz but {found}; a .gz input must be gzip-compressed "
                               f"(rename it without .gz if it is plain text)")
    if kind == "gzip" and not named_gz:
        raise InputFormatError(f"{path}: gzip-compressed, but its name does not end in .gz; compressed inputs are "
                               f"recognised by their name: rename it to {path.name}.gz (or decompress it)")
    suffix_kind = _COMPRESSED_SUFFIXES.get(path.suffix.lower())
    if kind not in (None, "gzip") or suffix_kind:
        raise InputFormatError(f"{path}: {kind or suffix_kind}-compressed; only gzip (.gz) compressed text inputs "
                               "are read: decompress it (or gzip it as .gz)")
    tail = b""
    if named_gz:
        try:
            with gzip.open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    tail = (tail + block)[-200:]
        except (EOFError, OSError, zlib.error) as err:
            raise InputFormatError(f"{path}: truncated or corrupt gzip stream ({err}); download or compress it again") from err
    else:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 200))
            tail = handle.read()
    if not tail or tail == UTF8_BOM:
        raise InputFormatError(f"{path}: the file is empty")
    if not tail.endswith(b"\n"):
        last = tail.rsplit(b"\n", 1)[-1][-60:].decode("utf-8", "replace")
        raise InputFormatError(f"{path}: the last line does not end with a newline (it ends {last!r}): the file looks "
                               "truncated (cut mid-row); if it is complete, end it with a newline")


def open_text(path: str | os.PathLike[str]):
    """A text handle on a checked input: decompressed if .gz, UTF-8 with an optional BOM, any line end."""
    import gzip

    if _is_gz_name(path):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def read_text_lines(path: str | os.PathLike[str]) -> list[str]:
    """The lines of a line-oriented text input (GMT, gene lists) under the input policy.

    A byte-order mark is dropped and CRLF line ends give the same lines as LF.
    """
    check_text_input(path)
    try:
        with open_text(path) as handle:
            text = handle.read()
    except UnicodeDecodeError as err:
        raise utf8_error(path, err) from err
    return text.splitlines()


def check_table_rows(path: str | os.PathLike[str], sep: str = ",", comment: str | None = None,
                     column_kind: str = "") -> list[str]:
    """Header of a delimited text table whose rows all have the header's number of fields.

    Refuses, naming the file and line: a repeated column name (pandas would rename the copy
    and a reader would silently use one of them), a row with fewer fields than the header
    (an incomplete row: truncation or a missing separator) or with more. A header one field
    shorter than every row (R's ``write.table`` without a row-name column) is accepted.
    Blank lines are skipped; with ``comment``, text after it on a line is ignored.
    """
    import csv

    with open_text(path) as handle:
        lines = handle if comment is None else (line.split(comment, 1)[0] + ("\n" if comment in line else "")
                                                for line in handle)
        reader = csv.reader(lines, delimiter=sep)
        try:
            header = next((row for row in reader if row), None)
            if header is None:
                raise InputFormatError(f"{path}: no header row")
            _refuse_repeated_columns(header, path, column_kind)
            expected = None
            for row in reader:
                if not row:
                    continue
                if expected is None:
                    expected = len(header) + 1 if len(row) == len(header) + 1 else len(header)
                if len(row) != expected:
                    problem = "fewer" if len(row) < expected else "more"
                    hint = ("an incomplete row (a truncated file or a missing separator)" if problem == "fewer"
                            else "an extra separator, or a value containing the separator without quotes")
                    raise InputFormatError(f"{path}: line {reader.line_num} has {len(row)} fields, {problem} than the "
                                           f"{expected} of the header: {hint}")
        except UnicodeDecodeError as err:
            raise utf8_error(path, err) from err
        except csv.Error as err:
            raise InputFormatError(f"{path}: line {reader.line_num}: malformed CSV ({err})") from err
    return header


def _refuse_repeated_columns(header: list[str], path: str | os.PathLike[str], column_kind: str = "") -> None:
    names = [name.strip() for name in header]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        kind = f"{column_kind} " if column_kind else ""
        raise InputFormatError(f"{path}: {kind}column(s) {repeated[:5]} appear more than once in the header; "
                               "expected unique column names")


def read_text_csv(path: str | os.PathLike[str], *, column_kind: str = "", **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` of a user text table under the input policy.

    :func:`check_text_input` and :func:`check_table_rows` first (compression, empty, truncated,
    repeated columns, ragged rows), then pandas (which drops a byte-order mark and reads CRLF
    like LF); a non-UTF-8 file is reported as :func:`utf8_error`. A file with a header and no
    data row is returned as an empty table: the caller says whether that is acceptable.
    """
    check_text_input(path)
    check_table_rows(path, kwargs.get("sep", ","), kwargs.get("comment"), column_kind)
    try:
        return pd.read_csv(path, **kwargs)
    except UnicodeDecodeError as err:
        raise utf8_error(path, err) from err
    except pd.errors.EmptyDataError as err:
        raise InputFormatError(f"{path}: no columns (the file holds only blank lines)") from err
    except (pd.errors.ParserError, ValueError) as err:
        raise InputFormatError(f"{path}: cannot read the table ({str(err).splitlines()[0]})") from err


def closest_names(name: str, candidates, n: int = 5) -> list[str]:
    """Existing names nearest to ``name``: the same name in another case first, then difflib's."""
    import difflib

    candidates = [str(c) for c in candidates]
    folded = name.casefold()
    same_case = [c for c in candidates if c.casefold() == folded]
    by_upper = {}
    for c in candidates:
        by_upper.setdefault(c.upper(), c)
    similar = [by_upper[m] for m in difflib.get_close_matches(name.upper(), list(by_upper), n=n, cutoff=0.6)]
    return list(dict.fromkeys(same_case + similar))[:n]


def not_found_message(what: str, name: str, candidates, convention: str, where: str = "") -> str:
    """``<what> '<name>' not found <where>; <convention>; nearest existing names: …`` for an unknown name."""
    nearest = closest_names(name, candidates)
    shown = ", ".join(repr(c) for c in nearest) if nearest else "none"
    place = f" {where}" if where else ""
    return f"{what} {name!r} not found{place}; {convention}; nearest existing names: {shown}"
