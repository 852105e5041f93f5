"""Latent embeddings Z = G W of cohort samples, from the reported model and across replicates.

Two views are written per pair:

* the **reported** view: Z of the reported model (joint replicate 0, seed 42), k columns. This is
  the embedding the paper clusters and draws (Fig. 3a heatmap, Fig. 6b UMAP), so every downstream
  step uses it by default.
* the **consensus** view: the replicates' embeddings side by side, each divided by sqrt(B). The
  latent axes of two replicates are not comparable (any rotation of W with the matching heads gives
  the same fit), so Z cannot be averaged across replicates; but squared Euclidean distances in the
  concatenated view are exactly the mean over replicates of each replicate's squared distances.
  Ward clustering of the consensus view therefore clusters the replicate-averaged geometry, and is
  used to report how stable the reported model's clusters are (``analysis.clustering.embedding``
  can make it the clustered view instead).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from forge.modelling.model import ForgeModel

#: Sample annotations carried next to Z (from the pair's benefit_scores.tsv).
ANNOTATION_COLUMNS = ["split", "lineage", "benefit_score", "median_group", "quartile"]


def reported_embedding(model: ForgeModel, expression: pd.DataFrame, max_missing_fraction: float = 0.5) -> pd.DataFrame:
    """Z = G W of every sample of ``expression`` with the model's training z-scoring (columns Z1..Zk)."""
    return model.embed(expression, max_missing_fraction=max_missing_fraction)


def consensus_embedding(
    models: list[ForgeModel], expression: pd.DataFrame, max_missing_fraction: float = 0.5
) -> pd.DataFrame:
    """Replicate embeddings side by side, each scaled by 1/sqrt(B) (columns ``r00_Z1`` ...).

    Squared Euclidean distances between two samples in this view equal the mean, over the B
    replicates, of their squared distances in each replicate's own embedding.
    """
    if not models:
        raise ValueError("consensus_embedding needs at least one model")
    scale = 1.0 / np.sqrt(len(models))
    parts = []
    for b, model in enumerate(models):
        Z = model.embed(expression, max_missing_fraction=max_missing_fraction) * scale
        parts.append(Z.add_prefix(f"r{b:02d}_"))
    return pd.concat(parts, axis=1)


def annotate_embedding(
    Z: pd.DataFrame, scores: pd.DataFrame, dependency: pd.Series, response: pd.Series
) -> pd.DataFrame:
    """Z with the sample's split, lineage, Benefit Score groups and observed outputs.

    Parameters
    ----------
    Z
        Samples × latent columns.
    scores
        The pair's benefit_scores table indexed by sample (split, lineage, benefit_score, groups).
    dependency, response
        Observed target dependency and IC50 of the cohort (NaN where not measured); named by
        their cohort column.
    """
    annotations = scores.reindex(Z.index)[ANNOTATION_COLUMNS].copy()
    annotations["split"] = annotations["split"].fillna("unlabelled")
    annotations["observed_dependency"] = dependency.reindex(Z.index).to_numpy()
    annotations["observed_ic50"] = response.reindex(Z.index).to_numpy()
    table = pd.concat([annotations, Z], axis=1)
    table.index.name = "sample"
    return table


def principal_components(Z: pd.DataFrame, n: int = 2) -> pd.DataFrame:
    """The first ``n`` principal components of Z (columns PC1..PCn), for 2-D drawings.

    Signs are fixed so that the largest-magnitude loading of each component is positive, so the
    same Z always gives the same picture.
    """
    centred = Z.to_numpy() - Z.to_numpy().mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    vt = vt[:n] * np.sign(vt[:n][np.arange(n), np.abs(vt[:n]).argmax(axis=1)])[:, None]
    return pd.DataFrame(centred @ vt.T, index=Z.index, columns=[f"PC{i + 1}" for i in range(n)])


def latent_columns(table: pd.DataFrame) -> list[str]:
    """The latent columns of an embedding table (reported ``Z*`` or consensus ``r??_Z*``)."""
    return [c for c in table.columns if c.startswith("Z") or (c.startswith("r") and "_Z" in c)]


def _with_cache(decorator: Any) -> Any:
    """``decorator`` (numba.njit or numba.jit) with ``cache=True`` unless the call says otherwise.

    Where numba finds no writable cache location it refuses ``cache=True`` (RuntimeError); the
    function is then compiled as its package declared it.
    """
    from numba.core.dispatcher import Dispatcher

    def cached(*args: Any, **kwargs: Any) -> Any:
        if "cache" in kwargs:
            return decorator(*args, **kwargs)
        try:
            made = decorator(*args, cache=True, **kwargs)
        except RuntimeError:  # numba.njit(function, ...): no cache location
            return decorator(*args, **kwargs)
        if isinstance(made, Dispatcher):
            return made

        def apply(function: Any) -> Any:
            try:
                return made(function)
            except RuntimeError:
                return decorator(*args, **kwargs)(function)

        return apply

    return cached


@contextlib.contextmanager
def _numba_cache_by_default():
    """numba.njit and numba.jit with ``cache=True`` unless the decorator says otherwise."""
    import numba

    njit, jit = numba.njit, numba.jit
    numba.njit, numba.jit = _with_cache(njit), _with_cache(jit)
    try:
        yield
    finally:
        numba.njit, numba.jit = njit, jit


def import_umap(numba_cache: bool | str | Path = False) -> ModuleType:
    """umap-learn, with its numba functions compiled once and then read from numba's on-disk cache.

    umap-learn 0.5 declares its numba functions without ``cache=True``, so every process compiles
    them again on its first UMAP (about 15 s of CPU, against about 2 s for the UMAP of a demo pair).
    When this function makes the first import of umap and ``numba_cache`` is not False, umap's
    decorators get ``cache=True`` (numba stores the machine code it compiles and reads it back;
    the coordinates are byte-identical). ``numba_cache``:

    * True: numba's own cache location, where pynndescent (which umap imports) caches its
      functions already: ``__pycache__`` next to the package, else the user's cache directory
      (``~/.cache/numba``), else no caching; ``NUMBA_CACHE_DIR`` overrides it.
    * a directory: that one, unless the environment sets ``NUMBA_CACHE_DIR``. A new directory
      also compiles pynndescent's functions once more (measured: 26 s of CPU on the first run).

    numba checks each cached function against its source file, so a new umap-learn compiles
    afresh. Functions umap-learn compiles at run time (custom metrics) are not cached. With False,
    or when umap is imported already, this is a plain ``import umap``.
    """
    if numba_cache is False or "umap" in sys.modules:
        import umap

        return umap
    if numba_cache is not True and not os.environ.get("NUMBA_CACHE_DIR"):
        Path(numba_cache).mkdir(parents=True, exist_ok=True)
        os.environ["NUMBA_CACHE_DIR"] = str(Path(numba_cache).resolve())
        from numba.core import config

        config.reload_config()  # numba reads NUMBA_CACHE_DIR when it is first imported
    with _numba_cache_by_default():
        import umap
    return umap


def umap_coordinates(Z: pd.DataFrame, seed: int, n_neighbors: int = 15, min_dist: float = 0.1,
                     numba_cache: bool | str | Path = False) -> pd.DataFrame:
    """2-D UMAP of one pair's embedding (columns umap_1, umap_2), seeded and single-threaded.

    With ``random_state`` set umap-learn runs one thread, so the coordinates are reproducible.
    ``numba_cache``: where umap-learn's compiled functions are cached (:func:`import_umap`).
    """
    umap = import_umap(numba_cache)

    reducer = umap.UMAP(n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, metric="euclidean",
                        random_state=seed, n_jobs=1)
    coordinates = reducer.fit_transform(Z.to_numpy(dtype=np.float64))
    return pd.DataFrame(coordinates, index=Z.index, columns=["umap_1", "umap_2"])
