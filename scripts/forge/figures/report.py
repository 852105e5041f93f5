"""Tables made for the report: the ranked "who benefits" table of a pair and the run's provenance."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from pathlib import Path

import pandas as pd

from forge.modelling.pairs import Pair

#: Packages whose versions the provenance table lists.
PACKAGES = ("snakemake", "numpy", "scipy", "pandas", "pyarrow", "anndata", "scikit-learn", "pylimma",
            "pydeseq2", "statsmodels", "dynamicTreeCut", "gseapy", "matplotlib", "seaborn", "umap-learn",
            "threadpoolctl", "forge-workflow")


def who_benefits(scores: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """Every scored sample, best Benefit Score first, with cell-line name, lineage and replicate spread.

    ``scores`` is the pair's benefit_scores table, ``samples`` the cohort's samples table (ModelID,
    CellLineName, OncotreeLineage, OncotreePrimaryDisease). Ties keep ModelID order.
    """
    names = samples.set_index("ModelID")
    table = scores.sort_values(["benefit_score", "sample"], ascending=[False, True], kind="mergesort").copy()
    table.insert(0, "rank", range(1, len(table) + 1))
    for column in ("CellLineName", "OncotreePrimaryDisease"):
        if column in names.columns:
            table.insert(2, column, names[column].reindex(table["sample"]).to_numpy())
    keep = ["rank", "sample", "CellLineName", "OncotreePrimaryDisease", "lineage", "benefit_score",
            "benefit_score_replicate_mean", "benefit_score_replicate_sd", "split", "median_group", "quartile"]
    keep += [c for c in table.columns if c.startswith(("predicted_", "observed_"))]
    return table[[c for c in keep if c in table.columns]].reset_index(drop=True)


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


def paper_context(pair: Pair | None) -> str:
    """Where the paper shows a per-pair figure of this pair (the same panels, another pair); empty for
    figures across pairs (``pair`` None) and pairs the paper does not show."""
    if pair is None:
        return ""
    if pair.control:
        return "Supplementary: negative-control panels"
    return {"NAMPT": "Fig. 6d–n (NAMPT–daporinad panel set)", "BRAF": "Supplementary: BRAF–dabrafenib panels",
            "EGFR": "main figures (EGFR–erlotinib)"}.get(pair.target, "")
