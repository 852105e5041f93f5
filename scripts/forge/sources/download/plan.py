"""The download plan: every raw file the download rules produce, where it goes and where it comes from.

The paths come from :mod:`forge.layout` (the names the rest of the workflow reads with
``data.source: download``), the URLs from the ``download`` configuration section. The plan
feeds the default target and ``download_all``, the offline check (:func:`missing_offline`,
:func:`offline_message`: with ``download.offline`` the parse fails naming every missing file)
and the download rules' wildcard constraints (:func:`alternation`).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from forge.layout import (
    COHORT_RAW_FILES,
    CREAMMIST_CACHE,
    GENE_SPANS,
    PDX_WORKBOOK,
    RAW_SOURCE_OF,
    TAHOE_PLATE,
    downloaded_in,
    downloaded_path,
    enrichr_library_file,
    tahoe_metadata_file,
    tahoe_plate_file,
)

__all__ = [
    "PlannedFile",
    "alternation",
    "gencode_gtf_path",
    "gene_info_path",
    "missing_offline",
    "offline_message",
    "planned_downloads",
    "tahoe_url",
    "url_basename",
]


@dataclass(frozen=True)
class PlannedFile:
    """A raw file the workflow obtains by download (for offline checks and targets)."""

    path: str
    url: str
    note: str = ""
    alternatives: tuple[str, ...] = ()  # any of these present also satisfies the need


def url_basename(url: str) -> str:
    """Last path component of a URL (query ignored), e.g. the GTF's file name."""
    name = Path(urllib.parse.urlparse(url).path).name
    if not name:
        raise ValueError(f"cannot derive a file name from URL {url!r}")
    return name


def alternation(names: Iterable[str]) -> str:
    """Regular expression matching exactly one of ``names`` (for wildcard constraints)."""
    return "|".join(re.escape(str(n)) for n in names)


def tahoe_url(cfg: dict, *, plate: int | str | None = None, metadata: str | None = None) -> str:
    """URL of a Tahoe-100M plate ``.h5ad`` or metadata file from the ``download.tahoe`` config."""
    root = f"{cfg['base_url'].rstrip('/')}/{cfg['release']}"
    if plate is not None:
        return f"{root}/h5ad/{TAHOE_PLATE.format(plate=plate)}"
    if metadata is not None:
        return f"{root}/metadata/{metadata}"
    raise ValueError("give plate or metadata")


def gencode_gtf_path(cfg: dict) -> str:
    """Where the GENCODE GTF is downloaded (its URL's file name, next to the gene spans)."""
    return downloaded_in(RAW_SOURCE_OF[GENE_SPANS], url_basename(cfg["gencode"]["url"]))


def gene_info_path(cfg: dict) -> str:
    """Where NCBI gene_info is downloaded (its URL's file name, next to the symbol synonyms)."""
    synonyms = COHORT_RAW_FILES["synonyms"]
    return downloaded_in(RAW_SOURCE_OF[synonyms], url_basename(cfg["synonyms"]["url"]))


def planned_downloads(cfg: dict) -> dict[str, list[PlannedFile]]:
    """Every file the download rules produce, per source, with its URL (from the ``download`` config).

    The paths are :func:`forge.layout.downloaded_path` of the raw files the workflow reads
    (those of ``workflow/rules/download.smk``).
    """
    depmap = cfg["depmap"]
    article = f"{depmap['figshare_api'].rstrip('/')}/articles/{depmap['figshare_article']}/files"
    tahoe = cfg["tahoe"]
    gtf = gencode_gtf_path(cfg)
    gene_info = gene_info_path(cfg)
    cache = CREAMMIST_CACHE
    creammist_files = (COHORT_RAW_FILES["ic50"], COHORT_RAW_FILES["creammist_cell_lines"])
    return {
        "depmap": [PlannedFile(downloaded_in("depmap", name), article, f"file {name} of the figshare article")
                   for name in depmap["files"]],
        "creammist": [
            PlannedFile(downloaded_path(name), cfg["creammist"]["api"],
                        f"built by the crawl; or copy a complete response cache to {cache}/", (cache,))
            for name in creammist_files
        ],
        "drug_targets": [PlannedFile(downloaded_path(COHORT_RAW_FILES["drug_targets"]), cfg["drug_targets"]["url"])],
        "tahoe": [PlannedFile(downloaded_path(tahoe_plate_file(p)), tahoe_url(tahoe, plate=p))
                  for p in tahoe["plates"]]
        + [PlannedFile(downloaded_path(tahoe_metadata_file(name)), tahoe_url(tahoe, metadata=name))
           for name in tahoe["metadata"]],
        "pdx": [PlannedFile(downloaded_path(PDX_WORKBOOK), cfg["pdx"]["url"])],
        "gencode": [PlannedFile(downloaded_path(GENE_SPANS), cfg["gencode"]["url"],
                                f"converted from the GTF; or put the GTF at {gtf}", (gtf,))],
        "synonyms": [PlannedFile(downloaded_path(COHORT_RAW_FILES["synonyms"]), cfg["synonyms"]["url"],
                                 f"converted from gene_info; or put that file at {gene_info}", (gene_info,))],
        "enrichr": [PlannedFile(downloaded_path(enrichr_library_file(name)), cfg["enrichr"]["url"].format(library=name))
                    for name in cfg["enrichr"]["libraries"]],
    }


def missing_offline(planned: Iterable[PlannedFile], base_dir: str | os.PathLike[str] = ".") -> list[PlannedFile]:
    """Planned files absent from disk (neither the file nor any of its alternatives exists)."""
    base = Path(base_dir)
    return [p for p in planned if not any((base / q).exists() for q in (p.path, *p.alternatives))]


def offline_message(missing: Sequence[PlannedFile]) -> str:
    """One line per missing file: where to put it and where it comes from."""
    lines = [
        f"download.offline is true and {len(missing)} raw file(s) are missing; nothing will be "
        "downloaded. Copy each file to the path shown (obtained elsewhere from the URL shown), "
        "or set download.offline: false:"
    ]
    for item in missing:
        extra = f" ({item.note})" if item.note else ""
        lines.append(f"  {item.path}  <-  {item.url}{extra}")
    return "\n".join(lines)
