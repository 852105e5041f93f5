"""Tahoe-100M pseudo-bulk: streaming aggregation of plate ``.h5ad`` files (docs/METHOD.md §5).

Raw counts are summed per (cell line, drug, dose, unit, plate) directly from the HDF5 file:
the CSR matrix (``X/data``, ``X/indices``, ``X/indptr``) is read in row chunks with h5py and
never loaded whole, so memory is bounded by groups × genes (plus a few small per-cell
vectors of obs), not by the size of the matrix. obs is read column by column; anndata
stores categoricals as ``codes`` + ``categories`` (legacy files: a codes dataset whose
``categories`` attribute references the category array), and grouping is done on the codes.

Pure library: functions take paths and settings and return arrays / tables; the rule adapters
(``workflow/scripts/tahoe_pseudobulk_plate.py``, ``tahoe_combine.py``, ``tahoe_voom.py``) do the writing.
"""

from __future__ import annotations

import ast
import logging
import math
import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
from scipy import sparse

from forge.io import (InputFormatError, compression_of, matrix_columns, read_parquet_matrix, write_parquet_matrix,
                      write_tsv)
from forge.sources.parsers import read_symbol_synonyms

__all__ = [
    "GROUP_COLUMNS",
    "PLATE_QC_COLUMNS",
    "REQUIRED_OBS",
    "SAMPLE_COLUMNS",
    "PlateAggregate",
    "QCSettings",
    "aggregate_plate",
    "combine_plates",
    "mad_outliers",
    "map_genes",
    "parse_drugconc",
    "read_obs_column",
    "read_var_names",
    "sample_id",
    "split_voom",
]

log = logging.getLogger(__name__)

#: obs columns every plate must have (QC additionally needs ``tscp_count`` and ``gene_count``).
REQUIRED_OBS: tuple[str, ...] = ("cell_line", "cell_name", "drugname_drugconc", "plate", "pass_filter")
QC_OBS: tuple[str, ...] = ("tscp_count", "gene_count")

#: What defines one pseudo-bulk sample.
GROUP_COLUMNS: list[str] = ["cell_line", "cell_name", "drug", "dose", "unit", "plate"]
#: Columns of samples.tsv (after the sample id).
SAMPLE_COLUMNS: list[str] = ["sample", *GROUP_COLUMNS, "n_cells", "n_dropped_filter", "n_dropped_qc"]
#: Columns of the per-plate QC table.
PLATE_QC_COLUMNS: list[str] = [
    "plate", "file", "n_cells_file", "n_cells_selected", "n_dropped_filter", "n_dropped_qc",
    "n_cells_kept", "n_groups", "qc_enabled",
    "log_counts_median", "log_counts_mad", "log_counts_low", "log_counts_high",
    "log_genes_median", "log_genes_mad", "log_genes_low", "log_genes_high",
]

_MAD_SCALE = 1.4826  # MAD → sd of a normal distribution (R's mad(), scater)
_FLOAT32_EXACT = 2.0**24  # float32 sums of non-negative integers are exact below this
_CHUNK_CACHE_BYTES = 64 * 1024**2
_CHUNK_CACHE_SLOTS = 10_007  # a prime, ~100 × the chunks that fit in the cache
# Read only the selected rows' runs when they hold less than this share of a chunk's entries.
_SPARSE_READ_SHARE = 0.25


@dataclass(frozen=True)
class QCSettings:
    """MAD-based cell QC on log1p total counts and log1p detected genes, per plate.

    Attributes
    ----------
    enabled
        Apply the QC (off: only ``pass_filter`` selects cells).
    n_mads_counts, n_mads_genes
        Cells further than this many scaled MADs (1.4826 · MAD) from the plate median are
        dropped; the median and MAD are taken over the plate's cells that pass the filter.
    tails
        ``"both"`` drops low and high outliers, ``"lower"`` only low ones.
    """

    enabled: bool = False
    n_mads_counts: float = 5.0
    n_mads_genes: float = 5.0
    tails: str = "both"

    def __post_init__(self) -> None:
        if self.tails not in ("both", "lower"):
            raise ValueError(f"QC tails must be 'both' or 'lower', got {self.tails!r}")
        if self.n_mads_counts <= 0 or self.n_mads_genes <= 0:
            raise ValueError("QC n_mads must be positive")


@dataclass
class PlateAggregate:
    """Pseudo-bulk counts of one plate file.

    Attributes
    ----------
    counts
        Summed raw counts, groups × genes, int64.
    samples
        One row per group (same order as ``counts``), columns :data:`SAMPLE_COLUMNS`.
    genes
        Gene symbols of the file (var index), in file order.
    qc
        One row per plate value in the file, columns :data:`PLATE_QC_COLUMNS`.
    stats
        Counters of the streaming pass (chunks, entries read, seconds).
    """

    counts: np.ndarray
    samples: pd.DataFrame
    genes: list[str]
    qc: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# parsing


def parse_drugconc(value: str) -> tuple[str, float, str]:
    """Parse a Tahoe ``drugname_drugconc`` entry into drug, dose and unit.

    ``"[('Erlotinib', 0.05, 'uM')]"`` → ``("Erlotinib", 0.05, "uM")``. A bare tuple without the
    list brackets is accepted too.

    Parameters
    ----------
    value
        The string as stored in obs.

    Returns
    -------
    drug, dose, unit

    Raises
    ------
    ValueError
        Not a literal of one (name, number, unit) tuple (combinations are not supported).
    """
    try:
        parsed = ast.literal_eval(str(value).strip())
    except (ValueError, SyntaxError) as error:
        raise ValueError(f"cannot parse drugname_drugconc {value!r}: {error}") from None
    if isinstance(parsed, list):
        if len(parsed) != 1:
            raise ValueError(f"drugname_drugconc {value!r}: expected exactly one (drug, dose, unit) entry")
        parsed = parsed[0]
    if not (isinstance(parsed, tuple) and len(parsed) == 3):
        raise ValueError(f"drugname_drugconc {value!r}: expected a (drug, dose, unit) tuple")
    drug, dose, unit = parsed
    if not isinstance(drug, str) or not isinstance(unit, str) or isinstance(dose, bool) \
            or not isinstance(dose, (int, float)) or not math.isfinite(dose) or dose < 0:
        raise ValueError(f"drugname_drugconc {value!r}: expected (str, non-negative number, str)")
    return drug.strip(), float(dose), unit.strip()


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def sample_id(plate: str, cell_line: str, drug: str, dose: float, unit: str) -> str:
    """Stable, file-name-safe pseudo-bulk sample identifier.

    ``sample_id("plate7", "CVCL_0023", "Erlotinib", 0.05, "uM")`` →
    ``"plate7_CVCL_0023_Erlotinib_0.05uM"``.
    """
    parts = [plate, cell_line, drug, f"{dose:g}{unit}"]
    return "_".join(_UNSAFE.sub("-", str(p)) for p in parts)


# ---------------------------------------------------------------------------------------------
# h5ad access


def _decode(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in ("S", "O"):
        return np.array([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values], dtype=object)
    return values


def read_obs_column(obs: h5py.Group, name: str, path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """Read one obs column of an h5ad file.

    Parameters
    ----------
    obs
        The ``obs`` group.
    name
        Column name.
    path
        File name, for error messages.

    Returns
    -------
    codes, categories
        For a categorical column: integer codes (−1 = missing) and the category values.
        For a plain column: the values and ``None``.

    Raises
    ------
    InputFormatError
        The column is absent or has an unknown encoding.
    """
    if name not in obs:
        present = sorted(k for k in obs.keys() if k != "__categories")
        raise InputFormatError(
            f"{path}: obs lacks required column {name!r}; found columns: {', '.join(present)}"
        )
    node = obs[name]
    if isinstance(node, h5py.Group):
        if node.attrs.get("encoding-type") == "categorical" or {"codes", "categories"} <= set(node.keys()):
            codes = node["codes"][()].astype(np.int64)
            return codes, _decode(node["categories"][()])
        raise InputFormatError(f"{path}: obs column {name!r} has unsupported encoding {dict(node.attrs)}")
    if "categories" in node.attrs:  # legacy anndata (< 0.8): categories held by reference
        categories = _decode(obs.file[node.attrs["categories"]][()])
        return node[()].astype(np.int64), categories
    return _decode(node[()]), None


def _as_codes(values: np.ndarray, categories: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Codes and categories of a column, factorising plain string columns."""
    if categories is not None:
        return values, categories
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def read_var_names(h5: h5py.File, path: str | os.PathLike[str]) -> list[str]:
    """Gene symbols of an h5ad file (the var index)."""
    if "var" not in h5:
        raise InputFormatError(f"{path}: no 'var' group; not an h5ad file?")
    var = h5["var"]
    index_key = var.attrs.get("_index", "_index")
    if isinstance(index_key, bytes):
        index_key = index_key.decode()
    if index_key not in var:
        raise InputFormatError(f"{path}: var index {index_key!r} not found")
    return [str(v) for v in _decode(var[index_key][()])]


def _csr_datasets(h5: h5py.File, path: str | os.PathLike[str]
                  ) -> tuple[h5py.Dataset, h5py.Dataset, h5py.Dataset, tuple[int, int]]:
    if "X" not in h5 or not isinstance(h5["X"], h5py.Group):
        raise InputFormatError(f"{path}: X must be a sparse CSR group (X/data, X/indices, X/indptr)")
    x = h5["X"]
    encoding = x.attrs.get("encoding-type", x.attrs.get("h5sparse_format", ""))
    if isinstance(encoding, bytes):
        encoding = encoding.decode()
    if encoding not in ("csr_matrix", "csr"):
        raise InputFormatError(f"{path}: X has encoding {encoding!r}; expected csr_matrix (cells are rows)")
    missing = [k for k in ("data", "indices", "indptr") if k not in x]
    if missing:
        raise InputFormatError(f"{path}: X lacks {', '.join(missing)}")
    shape = tuple(int(s) for s in x.attrs.get("shape", x.attrs.get("h5sparse_shape", (0, 0))))
    if x["indptr"].shape[0] != shape[0] + 1:
        raise InputFormatError(f"{path}: X/indptr has {x['indptr'].shape[0]} entries for {shape[0]} rows")
    return x["data"], x["indices"], x["indptr"], (shape[0], shape[1])


# ---------------------------------------------------------------------------------------------
# QC


def mad_outliers(values: np.ndarray, n_mads: float, tails: str = "both") -> tuple[np.ndarray, dict[str, float]]:
    """Flag values further than ``n_mads`` scaled MADs from their median.

    Parameters
    ----------
    values
        Metric (already on log scale).
    n_mads
        Threshold in units of 1.4826 · MAD.
    tails
        ``"both"`` or ``"lower"``.

    Returns
    -------
    outlier
        Boolean mask. A metric with MAD 0 flags nothing (a degenerate distribution gives no
        usable threshold).
    summary
        ``median``, ``mad`` (scaled) and the ``low`` / ``high`` thresholds (NaN if unused).
    """
    if values.size == 0:
        return np.zeros(0, dtype=bool), {"median": np.nan, "mad": np.nan, "low": np.nan, "high": np.nan}
    median = float(np.median(values))
    mad = _MAD_SCALE * float(np.median(np.abs(values - median)))
    if mad == 0:
        return np.zeros(values.shape, dtype=bool), {"median": median, "mad": 0.0, "low": np.nan, "high": np.nan}
    low = median - n_mads * mad
    high = median + n_mads * mad if tails == "both" else np.inf
    outlier = (values < low) | (values > high)
    return outlier, {"median": median, "mad": mad, "low": low, "high": high if np.isfinite(high) else np.nan}


# ---------------------------------------------------------------------------------------------
# streaming aggregation


def _read_rows(data: h5py.Dataset, indices: h5py.Dataset, indptr: np.ndarray, rows: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read the entries of a chunk that hold ``rows`` (sorted, chunk-local).

    When the selected rows hold at least a quarter of the chunk's entries, the whole entry
    range is read in one go (unselected rows are then skipped by the group indicator, not
    copied out); otherwise only the runs of consecutive selected rows are read.

    Returns
    -------
    data, indices
        Entries read.
    local_indptr
        Row pointers into them; rows that were not read are empty.
    """
    lengths = np.diff(indptr)
    first, last = int(indptr[0]), int(indptr[-1])
    if lengths[rows].sum() >= _SPARSE_READ_SHARE * (last - first):
        return data[first:last], indices[first:last], indptr - first
    selected_lengths = np.zeros_like(lengths)
    selected_lengths[rows] = lengths[rows]
    local_indptr = np.zeros_like(indptr)
    np.cumsum(selected_lengths, out=local_indptr[1:])
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    run_starts = np.concatenate([[0], breaks])
    run_ends = np.concatenate([breaks, [rows.size]])
    data_parts, index_parts = [], []
    for a, b in zip(run_starts, run_ends):
        lo, hi = int(indptr[rows[a]]), int(indptr[rows[b - 1] + 1])
        data_parts.append(data[lo:hi])
        index_parts.append(indices[lo:hi])
    return np.concatenate(data_parts), np.concatenate(index_parts), local_indptr


def aggregate_plate(
    path: str | os.PathLike[str],
    drugs: Sequence[str] | None = None,
    pass_filter: str = "full",
    qc: QCSettings | None = None,
    chunk_rows: int = 20_000,
) -> PlateAggregate:
    """Sum raw counts per (cell line, drug, dose, unit, plate) by streaming an h5ad file.

    Cells are kept when ``pass_filter`` equals the given value, their drug is in ``drugs``
    and (if QC is enabled) they are not MAD outliers of their plate. The matrix is read in
    chunks of ``chunk_rows`` rows; chunks without a selected cell are not read at all, and
    when few cells of a chunk are selected only their rows are read.

    Parameters
    ----------
    path
        Plate ``.h5ad`` with CSR ``X`` (cells × genes, raw integer counts, any numeric dtype).
    drugs
        Drug names to keep (case-insensitive match on the name parsed from
        ``drugname_drugconc``); ``None`` keeps every drug.
    pass_filter
        Value of obs ``pass_filter`` that keeps a cell.
    qc
        MAD QC settings; ``None`` or disabled = no QC.
    chunk_rows
        Rows per read. Peak memory is about 2 × ``chunk_rows`` × entries per cell × 8 bytes
        (one chunk being summed, one read ahead), the groups × genes float64 accumulator,
        and a few int64 vectors per cell of obs; it does not grow with the matrix.

    Returns
    -------
    PlateAggregate
        Groups with at least one selected cell (kept or dropped), sorted by plate, cell line
        and treatment.

    Raises
    ------
    InputFormatError
        Missing obs column, non-CSR ``X``, unparseable ``drugname_drugconc``, non-integer or
        negative counts. The message names the file.
    """
    qc = qc or QCSettings()
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    started = time.perf_counter()
    # A 64 MiB chunk cache: when only scattered rows are read from a chunked (possibly
    # compressed) file, each HDF5 chunk is then decompressed once, not once per row run.
    try:
        with h5py.File(path, "r", rdcc_nbytes=_CHUNK_CACHE_BYTES, rdcc_nslots=_CHUNK_CACHE_SLOTS) as h5:
            if "obs" not in h5:
                raise InputFormatError(f"{path}: no 'obs' group; not an h5ad file?")
            data, indices, indptr, (n_cells, n_genes) = _csr_datasets(h5, path)
            genes = read_var_names(h5, path)
            if len(genes) != n_genes:
                raise InputFormatError(f"{path}: var has {len(genes)} genes but X has {n_genes} columns")
            cell_group, samples, qc_table = _cell_groups(h5["obs"], path, n_cells, drugs, pass_filter, qc)
            accumulator, stats = _stream_counts(data, indices, indptr, cell_group, len(samples), n_genes,
                                                chunk_rows, path)
    except FileNotFoundError:
        raise
    except OSError as err:  # h5py: not HDF5, truncated download, unreadable chunk
        kind = compression_of(path) if Path(path).is_file() else None
        hint = f"; the file is {kind}-compressed: decompress it" if kind else ""
        raise InputFormatError(f"{path}: not a readable h5ad (HDF5) file, truncated or corrupt ({err}){hint}") from err
    if not np.all(np.isfinite(accumulator)) or not np.array_equal(accumulator, np.round(accumulator)):
        raise InputFormatError(f"{path}: X does not hold non-negative integer raw counts")
    stats["seconds"] = time.perf_counter() - started
    stats["n_cells"] = n_cells
    return PlateAggregate(counts=accumulator.astype(np.int64), samples=samples, genes=genes,
                          qc=qc_table, stats=stats)


def _factorise_keys(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique keys and the position of each key among them (dense table if small)."""
    if n_keys <= max(10 * keys.size, 1_000_000):
        present = np.zeros(n_keys, dtype=bool)
        present[keys] = True
        return np.flatnonzero(present), (np.cumsum(present) - 1)[keys]
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, inverse


def _cell_groups(obs: h5py.Group, path: str | os.PathLike[str], n_cells: int, drugs: Sequence[str] | None,
                 pass_filter: str, qc: QCSettings) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """From obs alone: the group of every counted cell (−1 = not counted), samples and plate QC."""
    required = REQUIRED_OBS + (QC_OBS if qc.enabled else ())
    missing = [name for name in required if name not in obs]
    if missing:
        present = sorted(k for k in obs.keys() if k != "__categories")
        raise InputFormatError(f"{path}: obs lacks required column(s) {', '.join(map(repr, missing))}; "
                               f"found columns: {', '.join(present)}")
    columns = {name: read_obs_column(obs, name, path) for name in required}
    for name, (values, _) in columns.items():
        if values.shape[0] != n_cells:
            raise InputFormatError(f"{path}: obs column {name!r} has {values.shape[0]} rows, X has {n_cells}")
    line_codes, line_cats = _as_codes(*columns["cell_line"])
    name_codes, name_cats = _as_codes(*columns["cell_name"])
    conc_codes, conc_cats = _as_codes(*columns["drugname_drugconc"])
    plate_codes, plate_cats = _as_codes(*columns["plate"])
    filter_codes, filter_cats = _as_codes(*columns["pass_filter"])

    # treatments: parse each category once, then merge equal (drug, dose, unit)
    treatments: list[tuple[str, float, str]] = []
    for value in conc_cats:
        try:
            treatments.append(parse_drugconc(value))
        except ValueError as error:
            raise InputFormatError(f"{path}: obs column 'drugname_drugconc': {error}") from None
    unique_treatments = list(dict.fromkeys(treatments))
    treat_of_cat = np.array([unique_treatments.index(t) for t in treatments] + [-1], dtype=np.int64)
    wanted = {d.casefold() for d in drugs} if drugs is not None else None
    treat_selected = np.array([wanted is None or t[0].casefold() in wanted for t in unique_treatments] + [False])
    cell_treat = treat_of_cat[conc_codes]  # code −1 (missing) picks the trailing −1
    selected = treat_selected[cell_treat] & (line_codes >= 0) & (plate_codes >= 0)
    passes = np.isin(filter_codes, np.flatnonzero(filter_cats == pass_filter))
    qc_out, qc_rows = _plate_qc(columns, plate_codes, plate_cats, passes, qc, path)
    kept = passes & ~qc_out

    # group of every selected cell (kept or not), in (plate, line, treatment) order
    sel_idx = np.flatnonzero(selected)
    n_treat, n_lines = max(len(unique_treatments), 1), max(len(line_cats), 1)
    raw_key = (plate_codes[sel_idx] * n_lines + line_codes[sel_idx]) * n_treat + cell_treat[sel_idx]
    group_keys, sel_group = _factorise_keys(raw_key, len(plate_cats) * n_lines * n_treat)
    n_groups = group_keys.size
    cell_group = np.full(n_cells, -1, dtype=np.int64)
    cell_group[sel_idx[kept[sel_idx]]] = sel_group[kept[sel_idx]]

    # cell names: one per cell line (joined, with a warning, if the file disagrees with itself)
    names_of_line: dict[int, list[str]] = {}
    if sel_idx.size:
        for lc, nc in np.unique(np.stack([line_codes[sel_idx], name_codes[sel_idx]]), axis=1).T:
            names_of_line.setdefault(int(lc), []).append(str(name_cats[nc]) if nc >= 0 else "")
    rows = []
    for key in group_keys:
        treat, line = int(key % n_treat), int(key // n_treat % n_lines)
        plate = str(plate_cats[key // n_treat // n_lines])
        drug, dose, unit = unique_treatments[treat]
        names = names_of_line.get(line, [""])
        if len(names) > 1:
            log.warning("%s: cell line %s has several cell_name values %s", path, line_cats[line], names)
        rows.append([sample_id(plate, str(line_cats[line]), drug, dose, unit), str(line_cats[line]),
                     ";".join(names), drug, dose, unit, plate])
    samples = pd.DataFrame(rows, columns=SAMPLE_COLUMNS[:7])
    samples["n_cells"] = np.bincount(sel_group[kept[sel_idx]], minlength=n_groups)
    samples["n_dropped_filter"] = np.bincount(sel_group[~passes[sel_idx]], minlength=n_groups)
    samples["n_dropped_qc"] = np.bincount(sel_group[(passes & qc_out)[sel_idx]], minlength=n_groups)

    for p, row in enumerate(qc_rows):
        in_plate = selected & (plate_codes == p)
        row["n_cells_selected"] = int(in_plate.sum())
        row["n_dropped_filter"] = int((in_plate & ~passes).sum())
        row["n_dropped_qc"] = int((in_plate & passes & qc_out).sum())
        row["n_cells_kept"] = int((in_plate & kept).sum())
        row["n_groups"] = int((samples["plate"] == row["plate"]).sum())
    return cell_group, samples, pd.DataFrame(qc_rows, columns=PLATE_QC_COLUMNS)


def _plate_qc(columns: dict[str, tuple[np.ndarray, np.ndarray | None]], plate_codes: np.ndarray,
              plate_cats: np.ndarray, passes: np.ndarray, qc: QCSettings, path: str | os.PathLike[str]
              ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """MAD outliers per plate among the cells that pass the filter (all drugs of the plate)."""
    qc_out = np.zeros(plate_codes.shape[0], dtype=bool)
    rows: list[dict[str, Any]] = []
    for p, plate in enumerate(plate_cats):
        in_plate = plate_codes == p
        row: dict[str, Any] = {"plate": str(plate), "file": os.path.basename(path),
                               "n_cells_file": int(in_plate.sum()), "qc_enabled": qc.enabled}
        for metric in ("counts", "genes"):
            row.update({f"log_{metric}_{k}": np.nan for k in ("median", "mad", "low", "high")})
        if qc.enabled:
            base = np.flatnonzero(in_plate & passes)
            for metric, column, n_mads in (("counts", "tscp_count", qc.n_mads_counts),
                                           ("genes", "gene_count", qc.n_mads_genes)):
                values = np.asarray(columns[column][0][base], dtype=np.float64)
                if np.isnan(values).any() or (values < 0).any():
                    raise InputFormatError(f"{path}: obs column {column!r} has missing or negative values")
                outlier, summary = mad_outliers(np.log1p(values), n_mads, qc.tails)
                qc_out[base[outlier]] = True
                row.update({f"log_{metric}_{k}": v for k, v in summary.items()})
        rows.append(row)
    return qc_out, rows


def _stream_counts(data: h5py.Dataset, indices: h5py.Dataset, indptr: h5py.Dataset, cell_group: np.ndarray,
                   n_groups: int, n_genes: int, chunk_rows: int, path: str | os.PathLike[str]
                   ) -> tuple[np.ndarray, dict[str, int]]:
    """Sum the rows of the CSR datasets into groups, chunk by chunk.

    A reader thread fetches chunk i + 1 while chunk i is summed (h5py's reads and scipy's
    sparse product run largely outside the GIL).
    """
    n_cells = cell_group.size
    accumulator = np.zeros((n_groups, n_genes), dtype=np.float64)
    stats = {"chunks": 0, "chunks_read": 0, "entries_read": 0, "float64_chunks": 0}

    def fetch(start: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
        stop = min(start + chunk_rows, n_cells)
        groups = cell_group[start:stop]
        rows = np.flatnonzero(groups >= 0)
        if rows.size == 0:
            return groups, None
        return groups, _read_rows(data, indices, indptr[start:stop + 1].astype(np.int64), rows)

    starts = list(range(0, n_cells, chunk_rows))
    if not starts:
        return accumulator, stats
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(fetch, starts[0])
        for i, start in enumerate(starts):
            groups, chunk = pending.result()
            if i + 1 < len(starts):
                pending = reader.submit(fetch, starts[i + 1])
            stats["chunks"] += 1
            if chunk is None:
                continue
            stats["chunks_read"] += 1
            stats["entries_read"] += int(chunk[0].size)
            stats["float64_chunks"] += _accumulate(accumulator, *chunk, groups, n_genes, path)
            del chunk
            if stats["chunks"] % 50 == 0:
                log.info("%s: %d / %d cells streamed", path, min(start + chunk_rows, n_cells), n_cells)
    return accumulator, stats


def _accumulate(accumulator: np.ndarray, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                groups: np.ndarray, n_genes: int, path: str | os.PathLike[str]) -> bool:
    """Add a chunk's rows to their groups: indicator (groups × rows) @ chunk (rows × genes).

    ``groups`` holds the group of every row of the chunk, −1 for rows that are not counted
    (their entries are never touched). The product is computed in float32 when that is
    exact and repeated in float64 otherwise: float32 sums of non-negative integers are exact
    while every partial sum stays below 2**24, and partial sums of non-negative values never
    exceed the final sum, so a largest result entry below 2**24 proves exactness.

    Returns
    -------
    bool
        Whether the chunk needed the float64 product.
    """
    if data.size == 0:
        return False
    if int(indices.max()) >= n_genes or int(indices.min()) < 0:
        raise InputFormatError(f"{path}: X/indices out of range [0, {n_genes})")
    if (data < 0).any():
        raise InputFormatError(f"{path}: X holds negative values; expected raw counts")
    n_rows = indptr.size - 1
    rows = np.flatnonzero(groups >= 0)
    n_groups = accumulator.shape[0]
    # float32 holds every stored value exactly: float32 data, or integers below 2**24
    float32_ok = data.dtype == np.float32 or (data.dtype.kind in "iu" and int(data.max()) < _FLOAT32_EXACT)
    for dtype in (np.float32, np.float64):
        if dtype is np.float32 and not float32_ok:
            continue
        matrix = sparse.csr_matrix((data.astype(dtype, copy=False), indices, indptr), shape=(n_rows, n_genes))
        indicator = sparse.csr_matrix((np.ones(rows.size, dtype=dtype), (groups[rows], rows)),
                                      shape=(n_groups, n_rows))
        product = indicator @ matrix
        if dtype is np.float64 or product.nnz == 0 or float(product.data.max()) < _FLOAT32_EXACT:
            if product.nnz > accumulator.size // 4:  # dense enough: one dense add
                accumulator += product.toarray()
            else:  # many groups: touch only the product's entries (unique positions)
                coo = product.tocoo()
                accumulator.reshape(-1)[coo.row.astype(np.int64) * n_genes + coo.col] += coo.data
            return dtype is np.float64
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# combining plates, gene mapping, voom


def combine_plates(aggregates: Sequence[tuple[pd.DataFrame, pd.DataFrame]], min_cells: int = 1
                   ) -> tuple[pd.DataFrame, pd.DataFrame, list[str], pd.DataFrame]:
    """Stack per-plate pseudo-bulk tables into one samples × genes matrix.

    Parameters
    ----------
    aggregates
        ``(counts, samples)`` per plate: counts indexed by sample id (genes as columns),
        samples with :data:`SAMPLE_COLUMNS`.
    min_cells
        Samples with fewer kept cells are left out (and returned in ``excluded``).

    Returns
    -------
    counts
        Samples × genes (genes common to all plates, in the first plate's order).
    samples
        Rows of ``counts``, columns :data:`SAMPLE_COLUMNS`.
    missing_genes
        Genes absent from at least one plate (left out).
    excluded
        Samples below ``min_cells``.
    """
    if not aggregates:
        raise ValueError("no plates to combine")
    common = list(aggregates[0][0].columns)
    all_genes = set(common)
    for counts, _ in aggregates[1:]:
        present = set(counts.columns)
        all_genes |= present
        common = [g for g in common if g in present]
    missing = sorted(all_genes - set(common))
    counts = pd.concat([c.loc[:, common] for c, _ in aggregates], axis=0)
    samples = pd.concat([s for _, s in aggregates], ignore_index=True)
    if counts.index.duplicated().any():
        dup = counts.index[counts.index.duplicated()].unique().tolist()
        raise ValueError(f"sample ids repeated across plates: {dup[:10]}")
    samples = samples.set_index("sample").loc[counts.index].rename_axis("sample").reset_index()
    keep = (samples["n_cells"] >= min_cells).to_numpy()
    excluded = samples.loc[~keep].reset_index(drop=True)
    return counts.loc[keep], samples.loc[keep].reset_index(drop=True), missing, excluded


def map_genes(counts: pd.DataFrame, synonyms: pd.DataFrame, reference: Sequence[str] | None = None,
              missing_in_plates: Sequence[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map the gene columns of pseudo-bulk counts to official symbols and report every gene.

    Repeated source symbols are summed first. Aliases are renamed with
    :func:`harmonise.rename_gene_columns`: an alias whose official symbol is already a column,
    or is taken by another alias, is dropped (its counts are not merged).

    Parameters
    ----------
    counts
        Samples × source symbols.
    synonyms
        ``alias, official_symbol`` table.
    reference
        Optional symbols counted as known (e.g. the cohort's genes); genes outside it stay in
        the matrix but are reported ``not_in_reference``.
    missing_in_plates
        Symbols that were left out because some plate lacks them (reported only).

    Returns
    -------
    counts
        Samples × official symbols (unique).
    mapping
        One row per source symbol: ``source_symbol, symbol, status, in_matrix, detail``;
        status ``kept`` / ``renamed`` / ``dropped_collision`` / ``missing_in_some_plates``;
        ``detail`` lists the harmonise report (``ambiguous_alias``, ``not_in_reference``,
        ``collides_with_existing``, ``duplicate_symbol_summed``).
    """
    from forge.sources.harmonise import map_gene_symbols, rename_gene_columns

    notes: dict[str, list[str]] = {}
    columns = pd.Index([str(c) for c in counts.columns])
    if columns.duplicated().any():
        for symbol in columns[columns.duplicated()].unique():
            notes.setdefault(symbol, []).append(
                f"duplicate_symbol_summed: {int((columns == symbol).sum())} columns")
        counts = counts.T.groupby(level=0, sort=False).sum().T
    else:
        counts = counts.set_axis(columns, axis=1)
    source = [str(c) for c in counts.columns]
    mapped, _ = map_gene_symbols(source, synonyms, reference)
    renamed, report = rename_gene_columns(counts, synonyms, reference)
    for symbol, reason, detail in report.itertuples(index=False):
        notes.setdefault(str(symbol), []).append(f"{reason}: {detail}")
    final = set(renamed.columns)
    present = set(source)
    taken: set[str] = set()
    rows = []
    for old, new in zip(source, mapped):
        dropped = (new != old and new in present) or new in taken or new not in final
        if not dropped:
            taken.add(new)
        status = "dropped_collision" if dropped else ("renamed" if new != old else "kept")
        rows.append([old, "" if dropped else new, status, not dropped, "; ".join(notes.get(old, []))])
    for symbol in missing_in_plates:
        rows.append([symbol, "", "missing_in_some_plates", False, "absent from at least one plate"])
    mapping = pd.DataFrame(rows, columns=["source_symbol", "symbol", "status", "in_matrix", "detail"])
    return renamed, mapping


def split_voom(counts: pd.DataFrame, samples: pd.DataFrame, control: str
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """voom logCPM (intercept-only) of control and treated samples, normalised separately.

    Parameters
    ----------
    counts
        Pseudo-bulk counts, samples × genes.
    samples
        Table with ``sample`` and ``drug`` for every row of ``counts``.
    control
        Drug name of the control (case-insensitive), e.g. ``"DMSO_TF"``.

    Returns
    -------
    control_expression, treated_expression
        log2-CPM matrices (samples × genes) of the two sets, each from its own voom fit.
    """
    from forge.normalise import voom_logcpm

    drug = samples.set_index("sample").loc[counts.index, "drug"].astype(str)
    is_control = (drug.str.casefold() == control.casefold()).to_numpy()
    if is_control.sum() < 2 or (~is_control).sum() < 2:
        raise ValueError(
            f"voom needs at least 2 control ({control}) and 2 treated samples; "
            f"got {int(is_control.sum())} and {int((~is_control).sum())}")
    control_expression, _ = voom_logcpm(counts.loc[is_control])
    treated_expression, _ = voom_logcpm(counts.loc[~is_control])
    return control_expression, treated_expression


def pseudobulk_plate_to_files(h5ad: str | Path, outputs: dict[str, str | Path], drug: str, control: str,
        pass_filter: str = "full", chunk_rows: int = 20_000, qc: dict | None = None) -> PlateAggregate:
    """Aggregate one plate and write its three outputs (nothing is written on error).

    Parameters
    ----------
    h5ad
        Plate file.
    outputs
        Paths under the keys ``counts``, ``samples``, ``qc``.
    drug, control
        Drug names kept (treated and control).
    pass_filter, chunk_rows, qc
        See :func:`aggregate_plate` and :class:`QCSettings`.

    Returns
    -------
    PlateAggregate
    """
    settings = QCSettings(**(qc or {}))
    result = aggregate_plate(h5ad, drugs=[drug, control], pass_filter=pass_filter,
                                   qc=settings, chunk_rows=chunk_rows)
    log.info("%s: %d cells, %d groups × %d genes, %d entries read in %.1f s (%d of %d chunks)",
             h5ad, result.stats["n_cells"], *result.counts.shape, result.stats["entries_read"],
             result.stats["seconds"], result.stats["chunks_read"], result.stats["chunks"])
    if result.counts.shape[0] == 0:
        log.warning("%s: no cell of %s or %s found", h5ad, drug, control)
    counts = pd.DataFrame(result.counts, index=pd.Index(result.samples["sample"], name="sample"),
                          columns=result.genes)
    write_parquet_matrix(counts, outputs["counts"])
    write_tsv(result.samples, outputs["samples"])
    write_tsv(result.qc, outputs["qc"])
    return result


def combine_plate_files(counts_paths: list, samples_paths: list, qc_paths: list, synonyms_path: str | Path,
        outputs: dict[str, str | Path], min_cells: int = 1, reference_path: str | Path | None = None) -> None:
    """Combine plates, map gene symbols, write the four outputs."""
    plates = []
    for counts_path, samples_path in zip(counts_paths, samples_paths):
        counts = read_parquet_matrix(counts_path)
        samples = pd.read_csv(samples_path, sep="\t", dtype={"cell_line": str, "plate": str})
        plates.append((counts, samples))
    counts, samples, missing, excluded = combine_plates(plates, min_cells=min_cells)
    if missing:
        log.warning("%d genes absent from some plate are left out: %s", len(missing), ", ".join(missing[:20]))
    for row in excluded.itertuples(index=False):
        log.info("sample %s excluded: %d kept cells < min_cells %d", row.sample, row.n_cells, min_cells)
    reference = matrix_columns(reference_path) if reference_path else None
    mapped, mapping = map_genes(counts, read_symbol_synonyms(synonyms_path), reference, missing)
    log.info("genes: %d in the plates, %d in the matrix; %s", len(counts.columns), mapped.shape[1],
             mapping["status"].value_counts().to_dict())
    qc = pd.concat([pd.read_csv(p, sep="\t", dtype={"plate": str}) for p in qc_paths], ignore_index=True)
    qc["n_samples"] = [int((samples["plate"] == p).sum()) for p in qc["plate"]]
    qc["n_samples_below_min_cells"] = [int((excluded["plate"] == p).sum()) for p in qc["plate"]]
    mapped.index.name = "sample"
    write_parquet_matrix(mapped, outputs["counts"])
    write_tsv(samples, outputs["samples"])
    write_tsv(mapping, outputs["gene_mapping"])
    write_tsv(qc, outputs["qc"])
