"""Single cells of the best-responding Tahoe-100M lines and their UMAP (preprint Fig. 5b).

The lines are those with the largest mean response strength over doses (the pair's
``response_strength.tsv`` of the Tahoe validation). Their cells (control and each dose of the
drug, on every plate) are taken from the plate ``.h5ad`` files with the pseudo-bulk's own cell
selection (:func:`forge.external.tahoe._cell_groups`: ``pass_filter``, the optional MAD QC, the
same drug parsing), so the single cells are exactly the cells the pseudo-bulk summed, optionally
subsampled to at most ``max_cells_per_group`` per (plate, line, treatment) with a seeded
generator. Only those rows of the CSR matrix are read, chunk by chunk with h5py
(:func:`forge.external.tahoe._read_rows`): memory is bounded by the selected cells (plus a few
per-cell obs vectors of the plate, as in the pseudo-bulk), not by the matrix.

The embedding is scanpy's standard recipe: ``normalize_total``, ``log1p``,
``highly_variable_genes``, ``pca``, ``neighbors``, ``umap``, each seeded, with numba and BLAS held
to one thread so that the same configuration gives the same coordinates and the same bytes. By
default each line gets its own UMAP (the preprint's "UMAP plots ... for the best responding cell
lines"): in one joint embedding the differences between lines take the highly variable genes and
the first components, and each line's treatment response is squeezed into a small island.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
from scipy import sparse

from forge.external.tahoe import (QCSettings, _CHUNK_CACHE_BYTES, _CHUNK_CACHE_SLOTS, _cell_groups, _csr_datasets,
                                  _read_rows, read_var_names)
from forge.io import InputFormatError, atomic_write, compression_of, read_tsv_or_empty, write_tsv

__all__ = [
    "CELL_COLUMNS",
    "LINE_COLUMNS",
    "SingleCellSettings",
    "embed_cells",
    "read_obs_names",
    "read_selected_cells",
    "select_lines",
    "single_cells_to_files",
    "treatment_label",
    "write_h5ad",
]

log = logging.getLogger(__name__)

#: Columns of single_cells.tsv, in order.
CELL_COLUMNS: list[str] = ["cell_id", "plate", "cell_line", "cell_name", "line_rank", "drug", "dose", "unit",
                           "treatment", "embedding", "UMAP1", "UMAP2"]
#: Columns of single_cell_lines.tsv (one row per selected line, plate and treatment).
LINE_COLUMNS: list[str] = ["rank", "cell_line", "cell_name", "mean_response_strength", "plate", "drug", "dose",
                           "unit", "treatment", "n_cells_kept", "n_cells_used", "n_cells_subsampled_out"]


@dataclass(frozen=True)
class SingleCellSettings:
    """Settings of the single-cell panel (config ``tahoe.single_cells``).

    Attributes
    ----------
    n_lines
        Lines with the largest mean response strength over doses.
    max_cells_per_group
        At most this many cells per (plate, line, treatment), drawn without replacement with
        ``seed``; 0 keeps every cell.
    n_top_genes
        Highly variable genes (scanpy ``flavor="seurat"`` on log1p data); capped at the genes.
    n_pcs
        Principal components (capped at cells − 1 and genes − 1).
    n_neighbors
        Neighbours of the kNN graph.
    min_dist
        UMAP ``min_dist`` (scanpy's default 0.5).
    target_sum
        ``normalize_total`` counts per cell after scaling.
    seed
        Seed of the subsampling, the PCA, the neighbour search and the UMAP.
    embedding
        ``"per_line"``: one UMAP per line (its own highly variable genes and PCA); ``"joint"``:
        one UMAP of all the lines' cells.
    """

    n_lines: int = 4
    max_cells_per_group: int = 500
    n_top_genes: int = 2000
    n_pcs: int = 50
    n_neighbors: int = 15
    min_dist: float = 0.5
    target_sum: float = 1e4
    seed: int = 0
    embedding: str = "per_line"

    def __post_init__(self) -> None:
        for name in ("n_lines", "n_top_genes", "n_pcs"):
            if getattr(self, name) < 1:
                raise ValueError(f"tahoe.single_cells.{name} must be at least 1, got {getattr(self, name)}")
        if self.n_neighbors < 2:
            raise ValueError(f"tahoe.single_cells.n_neighbors must be at least 2, got {self.n_neighbors}")
        if self.embedding not in ("per_line", "joint"):
            raise ValueError(f"tahoe.single_cells.embedding must be per_line or joint, got {self.embedding!r}")
        if self.max_cells_per_group < 0:
            raise ValueError("tahoe.single_cells.max_cells_per_group must be 0 (all) or positive")


def treatment_label(drug: str, dose: float, unit: str, control: str) -> str:
    """What a cell got: the control's name (``"DMSO_TF"``) or ``"Erlotinib 0.05 uM"``."""
    if str(drug).casefold() == control.casefold():
        return str(drug)
    return f"{drug} {float(dose):g} {unit}"


def select_lines(strength: pd.DataFrame, n_lines: int, path: str | os.PathLike[str] = "response_strength.tsv"
                 ) -> pd.DataFrame:
    """The ``n_lines`` lines with the largest mean response strength over doses.

    Ties are broken by the table's order (stable sort), as
    :func:`forge.validation.tahoe.strongest_lines` does for the DESeq2 subset.

    Parameters
    ----------
    strength
        The Tahoe validation's ``response_strength.tsv`` (``cell_line``, ``response_strength``;
        ``cell_name`` optional).
    n_lines
        Lines wanted (fewer are returned when the table has fewer).
    path
        File name, for error messages.

    Returns
    -------
    DataFrame
        ``rank`` (1 = strongest), ``cell_line``, ``cell_name``, ``mean_response_strength``; empty
        when ``strength`` is (the pair's Tahoe validation could not be computed).
    """
    missing = [c for c in ("cell_line", "response_strength") if c not in strength.columns]
    if missing:
        raise InputFormatError(f"{path}: lacks column(s) {', '.join(missing)}; found {', '.join(strength.columns)}")
    values = pd.to_numeric(strength["response_strength"], errors="coerce")
    if values.isna().any():
        raise InputFormatError(f"{path}: column 'response_strength' has missing or non-numeric values")
    table = strength.assign(response_strength=values, cell_line=strength["cell_line"].astype(str))
    mean = table.groupby("cell_line", sort=False)["response_strength"].mean()
    mean = mean.sort_values(ascending=False, kind="mergesort").iloc[:n_lines]
    names = (table.drop_duplicates("cell_line").set_index("cell_line")["cell_name"].astype(str)
             if "cell_name" in table.columns else pd.Series("", index=mean.index))
    return pd.DataFrame({"rank": np.arange(1, len(mean) + 1), "cell_line": mean.index,
                         "cell_name": names.reindex(mean.index).fillna("").to_numpy(),
                         "mean_response_strength": mean.to_numpy()})


def read_obs_names(h5: h5py.File, path: str | os.PathLike[str], rows: np.ndarray | None = None,
                   chunk: int = 1_000_000, n_rows: int | None = None) -> np.ndarray:
    """Cell identifiers of an h5ad file (the obs index), as strings.

    Parameters
    ----------
    h5
        The open file.
    path
        File name, for error messages.
    rows
        Sorted row numbers to return (default: all). The index is then read in chunks of
        ``chunk`` rows and only the wanted names are kept, so a plate's millions of names are
        never held at once.
    chunk
        Rows per read.
    n_rows
        Rows the index must have (the matrix's), checked when given.
    """
    obs = h5["obs"]
    index_key = obs.attrs.get("_index", "_index")
    if isinstance(index_key, bytes):
        index_key = index_key.decode()
    if index_key not in obs:
        raise InputFormatError(f"{path}: obs index {index_key!r} not found")
    dataset = obs[index_key]
    if n_rows is not None and dataset.shape[0] != n_rows:
        raise InputFormatError(f"{path}: obs index has {dataset.shape[0]} rows, X has {n_rows}")
    if rows is None:
        rows = np.arange(dataset.shape[0])
    names = []
    for start in range(0, dataset.shape[0], chunk):
        lo, hi = np.searchsorted(rows, [start, start + chunk])
        if lo < hi:
            values = dataset[start:min(start + chunk, dataset.shape[0])][rows[lo:hi] - start]
            names.extend(v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values)
    return np.array(names, dtype=object)


def _subsample(cells: np.ndarray, groups: np.ndarray, n_groups: int, max_cells: int, seed: int
               ) -> np.ndarray:
    """Cells (sorted) keeping at most ``max_cells`` per group; the draw depends only on the seed
    and the group's cells, so adding a line does not change another line's cells."""
    if max_cells == 0:
        return cells
    keep = []
    for g in range(n_groups):
        members = cells[groups == g]
        if members.size > max_cells:
            rng = np.random.default_rng([seed, g])
            members = np.sort(rng.choice(members, size=max_cells, replace=False))
        keep.append(members)
    return np.sort(np.concatenate(keep)) if keep else cells[:0]


def read_selected_cells(path: str | os.PathLike[str], lines: Sequence[str], drugs: Sequence[str], control: str,
                        pass_filter: str = "full", qc: QCSettings | None = None, max_cells_per_group: int = 0,
                        seed: int = 0, chunk_rows: int = 20_000
                        ) -> tuple[sparse.csr_matrix, pd.DataFrame, list[str], pd.DataFrame]:
    """Raw counts and labels of the chosen lines' cells of one plate, read row by row.

    Parameters
    ----------
    path
        Plate ``.h5ad`` (CSR ``X``, cells × genes, raw counts).
    lines
        Cell-line ids (obs ``cell_line``) to keep.
    drugs
        Drug names kept (treated and control), case-insensitive.
    control
        The control's drug name (for the ``treatment`` label).
    pass_filter, qc
        The pseudo-bulk's cell selection (:func:`forge.external.tahoe.aggregate_plate`).
    max_cells_per_group
        At most this many cells per (plate, line, treatment); 0 keeps all.
    seed
        Seed of the subsampling (combined with the group's number on the plate).
    chunk_rows
        Rows per read of the CSR matrix.

    Returns
    -------
    counts
        Selected cells × genes, float32 (integer-valued), rows in file order.
    cells
        One row per selected cell: ``cell_id, plate, cell_line, cell_name, drug, dose, unit,
        treatment``.
    genes
        The file's gene symbols.
    groups
        One row per (plate, line, treatment) of the chosen lines: ``n_cells_kept`` (the
        pseudo-bulk's cells) and ``n_cells_used``.
    """
    qc = qc or QCSettings()
    wanted = {str(line) for line in lines}
    try:
        with h5py.File(path, "r", rdcc_nbytes=_CHUNK_CACHE_BYTES, rdcc_nslots=_CHUNK_CACHE_SLOTS) as h5:
            if "obs" not in h5:
                raise InputFormatError(f"{path}: no 'obs' group; not an h5ad file?")
            data, indices, indptr, (n_cells, n_genes) = _csr_datasets(h5, path)
            genes = read_var_names(h5, path)
            if len(genes) != n_genes:
                raise InputFormatError(f"{path}: var has {len(genes)} genes but X has {n_genes} columns")
            cell_group, samples, _ = _cell_groups(h5["obs"], path, n_cells, drugs, pass_filter, qc)
            chosen_group = samples["cell_line"].astype(str).isin(wanted).to_numpy()
            candidates = np.flatnonzero((cell_group >= 0) & chosen_group[np.maximum(cell_group, 0)])
            cells = _subsample(candidates, cell_group[candidates], len(samples), max_cells_per_group, seed)
            names = read_obs_names(h5, path, cells, n_rows=n_cells)
            counts = _read_cell_rows(data, indices, indptr, cells, n_genes, chunk_rows, path)
    except FileNotFoundError:
        raise
    except OSError as err:  # h5py: not HDF5, truncated download, unreadable chunk
        kind = compression_of(path) if Path(path).is_file() else None
        hint = f"; the file is {kind}-compressed: decompress it" if kind else ""
        raise InputFormatError(f"{path}: not a readable h5ad (HDF5) file, truncated or corrupt ({err}){hint}") from err

    group_of = cell_group[cells]
    labels = samples.iloc[group_of].reset_index(drop=True)
    table = pd.DataFrame({"cell_id": names, "plate": labels["plate"].astype(str),
                          "cell_line": labels["cell_line"].astype(str), "cell_name": labels["cell_name"].astype(str),
                          "drug": labels["drug"].astype(str), "dose": labels["dose"].astype(float),
                          "unit": labels["unit"].astype(str)})
    table["treatment"] = [treatment_label(d, x, u, control) for d, x, u in
                          zip(table["drug"], table["dose"], table["unit"])]
    groups = samples.loc[chosen_group, ["plate", "cell_line", "cell_name", "drug", "dose", "unit", "n_cells"]]
    groups = groups.rename(columns={"n_cells": "n_cells_kept"}).reset_index(drop=True)
    used = np.bincount(group_of, minlength=len(samples))[chosen_group]
    groups["n_cells_used"] = used
    return counts, table, genes, groups


def _read_cell_rows(data: h5py.Dataset, indices: h5py.Dataset, indptr: h5py.Dataset, cells: np.ndarray,
                    n_genes: int, chunk_rows: int, path: str | os.PathLike[str]) -> sparse.csr_matrix:
    """The rows ``cells`` (sorted) of the CSR datasets, reading only chunks that hold one."""
    parts = []
    n_cells = indptr.shape[0] - 1
    for start in range(0, n_cells, chunk_rows):
        stop = min(start + chunk_rows, n_cells)
        lo, hi = np.searchsorted(cells, [start, stop])
        if lo == hi:
            continue
        rows = cells[lo:hi] - start
        chunk_indptr = indptr[start:stop + 1].astype(np.int64)
        values, columns, local_indptr = _read_rows(data, indices, chunk_indptr, rows)
        if values.size and (int(columns.max()) >= n_genes or int(columns.min()) < 0):
            raise InputFormatError(f"{path}: X/indices out of range [0, {n_genes})")
        chunk = sparse.csr_matrix((values, columns, local_indptr), shape=(stop - start, n_genes))[rows]
        parts.append(chunk.astype(np.float32))
    if not parts:
        return sparse.csr_matrix((0, n_genes), dtype=np.float32)
    counts = sparse.vstack(parts, format="csr")
    if counts.nnz and ((counts.data < 0).any() or not np.array_equal(counts.data, np.round(counts.data))):
        raise InputFormatError(f"{path}: X does not hold non-negative integer raw counts")
    return counts


def _standard_steps(adata: Any, settings: SingleCellSettings) -> dict[str, int]:
    """HVG, PCA, neighbours and UMAP of log1p-normalised cells (in place), seeded."""
    import scanpy as sc

    n_cells, n_genes = adata.shape
    sc.pp.highly_variable_genes(adata, n_top_genes=min(settings.n_top_genes, n_genes), flavor="seurat")
    n_hvg = int(adata.var["highly_variable"].sum())
    n_pcs = max(1, min(settings.n_pcs, n_cells - 1, n_hvg - 1))
    # arpack: deterministic given its seeded start vector
    sc.pp.pca(adata, n_comps=n_pcs, mask_var="highly_variable", svd_solver="arpack", random_state=settings.seed)
    _fix_pca_signs(adata)
    sc.pp.neighbors(adata, n_neighbors=min(settings.n_neighbors, n_cells - 1), n_pcs=n_pcs,
                    random_state=settings.seed)
    sc.tl.umap(adata, min_dist=settings.min_dist, random_state=settings.seed)
    return {"n_highly_variable": n_hvg, "n_pcs": n_pcs}


def embed_cells(counts: sparse.csr_matrix, cells: pd.DataFrame, genes: Sequence[str],
                settings: SingleCellSettings) -> Any:
    """scanpy's standard UMAP of the cells: normalise, log1p, HVG, PCA, neighbours, UMAP.

    With ``settings.embedding == "per_line"`` the steps after log1p run on each line's cells
    alone (its own highly variable genes, so the treatment response is not drowned by the
    differences between lines); with ``"joint"`` once on all cells.

    Parameters
    ----------
    counts
        Cells × genes raw counts.
    cells
        One row per cell (becomes ``obs``; ``cell_id`` its index).
    genes
        Gene symbols (``var`` index).
    settings
        :class:`SingleCellSettings`.

    Returns
    -------
    AnnData
        ``X`` the log1p-normalised values, ``layers["counts"]`` the raw counts, ``obsm["X_umap"]``,
        ``obs`` gains ``UMAP1``, ``UMAP2`` and ``embedding``; ``uns["forge_single_cells"]`` the
        settings. Joint: also ``var`` HVG statistics, ``obsm["X_pca"]``, ``obsp`` kNN graph.
        Per line: ``var["highly_variable_<line>"]`` and ``obsp`` the lines' graphs (block
        diagonal; no edge between lines).
    """
    import anndata as ad
    import numba
    from threadpoolctl import threadpool_limits

    from forge.analysis.embedding import import_umap

    # umap-learn's numba functions from numba's on-disk cache instead of compiled in every job
    # (before scanpy imports umap; the coordinates are the same)
    import_umap(numba_cache=True)
    import scanpy as sc

    n_cells, n_genes = counts.shape
    obs = cells.set_index("cell_id", drop=True)
    obs.index = obs.index.astype(str)
    if obs.index.duplicated().any():
        raise InputFormatError(f"cell ids repeated across plates: {obs.index[obs.index.duplicated()][:5].tolist()}")
    per_line = settings.embedding == "per_line"
    groups = obs["cell_line"].astype(str).to_numpy() if per_line else np.zeros(n_cells, dtype=object)
    sizes = pd.Series(groups).value_counts()
    if sizes.empty or sizes.min() < 3:
        raise ValueError(f"the single-cell UMAP needs at least 3 cells per embedding; cells: {sizes.to_dict()}")
    for column in ("plate", "cell_line", "cell_name", "drug", "unit", "treatment"):
        obs[column] = pd.Categorical(obs[column].astype(str))
    obs["embedding"] = pd.Categorical(groups if per_line else np.full(n_cells, "joint", dtype=object))
    var = pd.DataFrame(index=pd.Index([str(g) for g in genes]))
    adata = ad.AnnData(X=counts.astype(np.float32), obs=obs, var=var)
    adata.layers["counts"] = adata.X.copy()
    info: dict[str, Any] = {}
    # numba (UMAP, neighbours) and BLAS (PCA) on one thread: results then do not depend on the
    # machine's cores or on thread scheduling
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            sc.pp.normalize_total(adata, target_sum=settings.target_sum)
            sc.pp.log1p(adata)
            if not per_line:
                info["joint"] = _standard_steps(adata, settings)
            else:
                umap = np.zeros((n_cells, 2))
                graphs = {"connectivities": [], "distances": []}
                for line in pd.unique(groups):
                    rows = np.flatnonzero(groups == line)
                    part = adata[rows].copy()
                    info[str(line)] = _standard_steps(part, settings)
                    umap[rows] = part.obsm["X_umap"]
                    adata.var[f"highly_variable_{line}"] = part.var["highly_variable"].to_numpy()
                    for key in graphs:
                        block = part.obsp[key].tocoo()
                        graphs[key].append((rows[block.row], rows[block.col], block.data))
                adata.obsm["X_umap"] = umap
                for key, blocks in graphs.items():
                    r, c, v = (np.concatenate(x) for x in zip(*blocks))
                    adata.obsp[key] = sparse.csr_matrix((v, (r, c)), shape=(n_cells, n_cells))
                adata.uns["neighbors"] = {"connectivities_key": "connectivities", "distances_key": "distances",
                                          "params": {"n_neighbors": settings.n_neighbors, "method": "umap",
                                                     "random_state": settings.seed, "per_line": True}}
    finally:
        numba.set_num_threads(previous)
    adata.obs["UMAP1"] = adata.obsm["X_umap"][:, 0].astype(np.float64)
    adata.obs["UMAP2"] = adata.obsm["X_umap"][:, 1].astype(np.float64)
    adata.uns["forge_single_cells"] = {
        "embedding": settings.embedding, "n_lines": settings.n_lines,
        "max_cells_per_group": settings.max_cells_per_group, "n_top_genes": settings.n_top_genes,
        "n_pcs": settings.n_pcs, "n_neighbors": settings.n_neighbors, "min_dist": settings.min_dist,
        "target_sum": settings.target_sum, "seed": settings.seed, "per_embedding": info,
        "steps": "normalize_total, log1p, highly_variable_genes (seurat), pca (arpack), neighbors, umap",
    }
    return adata


def _fix_pca_signs(adata: Any) -> None:
    """Orient each component so its largest-magnitude loading is positive (a solver may return
    either sign; the UMAP starts from a spectral layout of the graph, which does not see signs,
    but the stored X_pca then does not depend on the solver's choice)."""
    loadings = adata.varm["PCs"]
    signs = np.sign(loadings[np.abs(loadings).argmax(axis=0), np.arange(loadings.shape[1])])
    signs[signs == 0] = 1
    adata.varm["PCs"] = loadings * signs
    adata.obsm["X_pca"] = adata.obsm["X_pca"] * signs


def write_h5ad(adata: Any, path: str | os.PathLike[str]) -> None:
    """Write an AnnData atomically, gzip-compressed. h5py stores no creation times by default
    (``track_times`` off), so the same object gives the same bytes."""
    with atomic_write(path) as tmp:
        adata.write_h5ad(tmp, compression="gzip")


def single_cells_to_files(plates: Sequence[str | os.PathLike[str]], strength_path: str | os.PathLike[str],
                          outputs: dict[str, str | os.PathLike[str]], drug: str, control: str,
                          settings: SingleCellSettings, pass_filter: str = "full", qc: dict | None = None,
                          chunk_rows: int = 20_000) -> Any:
    """Select the strongest lines, read their cells from every plate, embed, write three files.

    Parameters
    ----------
    plates
        Plate ``.h5ad`` files, in the configured order.
    strength_path
        The pair's Tahoe ``response_strength.tsv``.
    outputs
        Paths under ``cells`` (TSV, :data:`CELL_COLUMNS`), ``h5ad`` and ``lines``
        (TSV, :data:`LINE_COLUMNS`).
    drug, control
        Treated and control drug names (``tahoe.drug``, ``tahoe.control``).
    settings
        :class:`SingleCellSettings`.
    pass_filter, qc, chunk_rows
        The pseudo-bulk's settings (``tahoe.pass_filter``, ``tahoe.qc``, ``tahoe.chunk_rows``).

    Returns
    -------
    AnnData
        What was written to ``outputs["h5ad"]``.
    """
    strength = read_tsv_or_empty(strength_path, dtype={"cell_line": str, "plate": str})
    if strength.empty:  # the pair's validation wrote no strength (e.g. its scoring failed)
        strength = pd.DataFrame(columns=["cell_line", "cell_name", "response_strength"])
    chosen = select_lines(strength, settings.n_lines, strength_path)
    if chosen.empty:
        log.warning("%s holds no response strength: no line to draw, empty outputs written", strength_path)
        write_tsv(pd.DataFrame(columns=CELL_COLUMNS), outputs["cells"])
        write_tsv(pd.DataFrame(columns=LINE_COLUMNS), outputs["lines"])
        import anndata as ad
        adata = ad.AnnData(obs=pd.DataFrame(columns=CELL_COLUMNS[1:], index=pd.Index([], dtype=str)))
        write_h5ad(adata, outputs["h5ad"])
        return adata
    log.info("lines by mean response strength: %s", ", ".join(
        f"{r.cell_line} ({r.cell_name}, {r.mean_response_strength:.3g})" for r in chosen.itertuples()))
    qc_settings = QCSettings(**(qc or {}))
    parts, cell_tables, group_tables, gene_lists = [], [], [], []
    for path in plates:
        counts, cells, genes, groups = read_selected_cells(
            path, chosen["cell_line"].tolist(), [drug, control], control, pass_filter, qc_settings,
            settings.max_cells_per_group, settings.seed, chunk_rows)
        log.info("%s: %d cells of %d groups read", path, counts.shape[0], len(groups))
        parts.append(counts)
        cell_tables.append(cells)
        group_tables.append(groups)
        gene_lists.append(genes)
    # genes every plate has, in the first plate's order (as the pseudo-bulk combines plates)
    others = [set(genes) for genes in gene_lists[1:]]
    common = [g for g in dict.fromkeys(gene_lists[0]) if all(g in other for other in others)]
    dropped = sorted(set().union(*map(set, gene_lists)) - set(common))
    if dropped:
        log.warning("%d genes absent from some plate are left out of the single-cell matrix: %s", len(dropped),
                    ", ".join(dropped[:20]))
    matrices = []
    for matrix, genes in zip(parts, gene_lists):
        position = {}
        for i, gene in enumerate(genes):
            position.setdefault(gene, i)  # a repeated symbol: its first column, as list.index would
        matrices.append(matrix[:, [position[g] for g in common]])
    counts = sparse.vstack(matrices, format="csr")
    cells = pd.concat(cell_tables, ignore_index=True)
    cells.insert(cells.columns.get_loc("cell_name") + 1, "line_rank",
                 cells["cell_line"].map(chosen.set_index("cell_line")["rank"]).astype(int))
    adata = embed_cells(counts, cells, common, settings)
    table = adata.obs.reset_index(names="cell_id")
    for column in ("plate", "cell_line", "cell_name", "drug", "unit", "treatment", "embedding"):
        table[column] = table[column].astype(str)
    groups = pd.concat(group_tables, ignore_index=True).merge(
        chosen[["rank", "cell_line", "mean_response_strength"]], on="cell_line", how="left")
    groups["treatment"] = [treatment_label(d, x, u, control) for d, x, u in
                           zip(groups["drug"], groups["dose"], groups["unit"])]
    groups["n_cells_subsampled_out"] = groups["n_cells_kept"] - groups["n_cells_used"]
    groups = groups.sort_values(["rank", "plate", "dose"], kind="mergesort")[LINE_COLUMNS]
    missing = chosen.loc[~chosen["cell_line"].isin(groups["cell_line"]), "cell_line"].tolist()
    if missing:
        log.warning("lines without a kept cell on any plate: %s", ", ".join(missing))
    write_tsv(table[CELL_COLUMNS], outputs["cells"])
    write_tsv(groups.reset_index(drop=True), outputs["lines"])
    write_h5ad(adata, outputs["h5ad"])
    return adata
