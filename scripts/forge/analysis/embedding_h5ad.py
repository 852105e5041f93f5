"""A pair's latent embedding as AnnData (``embedding.h5ad`` beside ``embedding.tsv``), for scanpy users.

``obsm["X_forge"]`` holds Z (the reported model's latent columns ``Z1 … Zk``), ``obsm["X_forge_pca"]``
its first two principal components (``PC1``, ``PC2`` of the table), ``obs`` the sample annotations of
the table (split, lineage, Benefit Score and its groups, observed dependency and IC50). ``X`` is empty
(no genes): ``sc.pp.neighbors(adata, use_rep="X_forge")`` then ``sc.tl.umap`` or ``sc.tl.leiden``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from forge.analysis.embedding import latent_columns
from forge.io import atomic_write

__all__ = ["PCA_COLUMNS", "embedding_anndata", "embedding_table", "write_embedding_h5ad"]

#: The table's 2-D drawing coordinates, kept as ``obsm["X_forge_pca"]``.
PCA_COLUMNS = ["PC1", "PC2"]


def embedding_anndata(table: pd.DataFrame, pair: str = "") -> Any:
    """AnnData of an embedding table (index = sample, as ``embedding.tsv`` with ``sample`` as index).

    Parameters
    ----------
    table
        Annotation columns, latent columns ``Z*`` and optionally ``PC1``, ``PC2``.
    pair
        Pair name, kept in ``uns["forge"]``.

    Returns
    -------
    AnnData
        n samples × 0 genes; the column order of the table is kept in ``uns["forge"]["columns"]``
        so :func:`embedding_table` gives the table back.
    """
    import anndata as ad

    latent = latent_columns(table)
    if not latent:
        raise ValueError(f"embedding table has no latent column (Z1 …); columns: {', '.join(table.columns)}")
    pcs = [c for c in PCA_COLUMNS if c in table.columns]
    annotations = table.drop(columns=latent + pcs)
    obs = annotations.copy()
    obs.index = pd.Index(table.index.astype(str), name=table.index.name or "sample")
    adata = ad.AnnData(obs=obs)
    adata.obsm["X_forge"] = table[latent].to_numpy(dtype=np.float64)
    if pcs:
        adata.obsm["X_forge_pca"] = table[pcs].to_numpy(dtype=np.float64)
    adata.uns["forge"] = {"pair": pair, "latent_columns": latent, "pca_columns": pcs,
                          "columns": [str(c) for c in table.columns],
                          "note": "obsm['X_forge'] is Z = G W of the pair's reported FORGE model"}
    return adata


def embedding_table(adata: Any) -> pd.DataFrame:
    """The embedding table back from :func:`embedding_anndata`'s AnnData (columns in the TSV's order)."""
    info = adata.uns["forge"]
    latent = [str(c) for c in info["latent_columns"]]
    pcs = [str(c) for c in info["pca_columns"]]
    obs = adata.obs.copy()
    for column in obs.columns:
        if isinstance(obs[column].dtype, pd.CategoricalDtype):
            obs[column] = obs[column].astype(object).where(obs[column].notna(), np.nan)
    parts = [obs, pd.DataFrame(adata.obsm["X_forge"], index=obs.index, columns=latent)]
    if pcs:
        parts.append(pd.DataFrame(adata.obsm["X_forge_pca"], index=obs.index, columns=pcs))
    return pd.concat(parts, axis=1)[[str(c) for c in info["columns"]]]


def write_embedding_h5ad(table: pd.DataFrame, path: str | os.PathLike[str], pair: str = "") -> None:
    """Write :func:`embedding_anndata` atomically (gzip; h5py stores no times, so the bytes repeat)."""
    adata = embedding_anndata(table, pair)
    with atomic_write(path) as tmp:
        adata.write_h5ad(tmp, compression="gzip")
