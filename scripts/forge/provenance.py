"""The run's provenance: checksums of the raw inputs and the versions of the software that ran."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from pathlib import Path

import pandas as pd

#: Packages whose versions the provenance table lists.
PACKAGES = ("snakemake", "numpy", "scipy", "pandas", "pyarrow", "anndata", "scikit-learn", "pylimma",
            "pydeseq2", "statsmodels", "dynamicTreeCut", "gseapy", "matplotlib", "seaborn", "umap-learn",
            "threadpoolctl", "forge-workflow")


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_checksums(paths: list[str], manifest: str | None = None) -> pd.DataFrame:
    """sha256 and size of every raw input; the download manifest's rows (source, URL, release) joined."""
    rows = [{"path": str(p), "bytes": Path(p).stat().st_size, "sha256": sha256(p)} for p in paths]
    table = pd.DataFrame(rows, columns=["path", "bytes", "sha256"])
    if manifest:
        listed = pd.read_csv(manifest, sep="\t", dtype=str)
        key = next((c for c in ("path", "dest", "file") if c in listed.columns), None)
        if key:
            table = table.merge(listed.drop(columns=[c for c in ("bytes", "sha256") if c in listed.columns]),
                                left_on="path", right_on=key, how="left")
    return table


def versions() -> pd.DataFrame:
    """Python and the package versions of the environment that ran the job."""
    rows = [("python", platform.python_version()), ("platform", platform.platform())]
    for package in PACKAGES:
        if package == "forge-workflow":  # the library itself, installed or not (read from its tree)
            from forge import __version__

            rows.append((package, __version__))
            continue
        try:
            rows.append((package, importlib.metadata.version(package)))
        except importlib.metadata.PackageNotFoundError:
            rows.append((package, "not installed"))
    return pd.DataFrame(rows, columns=["component", "version"])
