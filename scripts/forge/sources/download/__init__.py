"""Acquisition of the raw public sources (the library of ``workflow/rules/download.smk``).

Five modules, by what they hold:

:mod:`~forge.sources.download.http`
    HTTP transfer: retries with backoff (``Retry-After`` honoured), resume with ``Range``,
    md5/sha256 verification, ``.part`` file renamed only when verified.
:mod:`~forge.sources.download.manifest`
    The registry: ``MANIFEST.tsv`` rows and the sha256 recorded on a file's first download,
    updated under a file lock by concurrent jobs.
:mod:`~forge.sources.download.retrieval`
    One raw file from its source: the published checksums (figshare listing, ``MD5SUMS`` list,
    configured sha256), the download, its registry rows.
:mod:`~forge.sources.download.creammist`
    The CREAMMIST crawl (response cache, rate limiter) and its conversion to the IC50 tables.
:mod:`~forge.sources.download.plan`
    Every file the download rules produce (paths from :mod:`forge.layout`, URLs from the
    configuration) and the offline check.

The public names of all five are re-exported here (``import forge.sources.download as dl``).
"""

from forge.sources.download.creammist import ApiCache, CacheMiss, RateLimiter, crawl_creammist, creammist_tables
from forge.sources.download.http import (
    ChecksumError,
    DownloadError,
    ExpectedChecksum,
    OfflineError,
    RetryPolicy,
    download_file,
    file_digests,
    get_bytes,
    get_json,
    get_text,
)
from forge.sources.download.manifest import (
    CHECKSUM_COLUMNS,
    MANIFEST_COLUMNS,
    manifest_row,
    record_sha256,
    recorded_sha256,
    upsert_row,
    utc_timestamp,
)
from forge.sources.download.plan import (
    PlannedFile,
    alternation,
    gencode_gtf_path,
    gene_info_path,
    missing_offline,
    offline_message,
    planned_downloads,
    tahoe_url,
    url_basename,
)
from forge.sources.download.retrieval import (
    FetchSettings,
    FetchSpec,
    fetch,
    fetch_url,
    figshare_file_spec,
    figshare_files,
    parse_md5sums,
    record_product,
    validate_drug_targets,
    validate_gmt,
)

__all__ = [
    "ApiCache",
    "CHECKSUM_COLUMNS",
    "CacheMiss",
    "ChecksumError",
    "DownloadError",
    "ExpectedChecksum",
    "FetchSettings",
    "FetchSpec",
    "MANIFEST_COLUMNS",
    "OfflineError",
    "PlannedFile",
    "RateLimiter",
    "RetryPolicy",
    "alternation",
    "crawl_creammist",
    "creammist_tables",
    "download_file",
    "fetch",
    "fetch_url",
    "figshare_file_spec",
    "figshare_files",
    "file_digests",
    "gencode_gtf_path",
    "gene_info_path",
    "get_bytes",
    "get_json",
    "get_text",
    "manifest_row",
    "missing_offline",
    "offline_message",
    "parse_md5sums",
    "planned_downloads",
    "record_product",
    "record_sha256",
    "recorded_sha256",
    "tahoe_url",
    "upsert_row",
    "url_basename",
    "utc_timestamp",
    "validate_drug_targets",
    "validate_gmt",
]
