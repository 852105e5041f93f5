"""One raw file from its source: resolve the checksums, download, record it in the registry.

:func:`fetch` downloads one :class:`FetchSpec` (URL, destination, published checksums) with
:func:`~forge.sources.download.http.download_file`, adds the sha256 recorded on an earlier download
of the same file from the same URL (or records it now), and writes the file's manifest row.
Where the checksums come from:

* DepMap on figshare: the article's file listing (:func:`figshare_files`) gives each file's URL,
  size and md5 (:func:`figshare_file_spec`);
* GENCODE: the release's ``MD5SUMS`` list (:func:`parse_md5sums`), named by ``md5sums_url``;
* Tahoe-100M on Google Cloud Storage: the ``x-goog-hash`` header (read while downloading);
* a ``sha256`` in the configuration; otherwise the one recorded on the first download.

:func:`fetch_url` is the download of one configured URL (every download rule but DepMap's and
CREAMMIST's); :func:`record_product` lists a file built from downloaded content.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from forge.io import InputFormatError
from forge.layout import DOWNLOAD_CHECKSUMS, DOWNLOAD_MANIFEST
from forge.sources.download.http import (
    LOG,
    DownloadError,
    ExpectedChecksum,
    OfflineError,
    RetryPolicy,
    download_file,
    file_digests,
    get_json,
    get_text,
)
from forge.sources.download.manifest import manifest_row, record_sha256, recorded_sha256
from forge.sources.download.plan import url_basename

__all__ = [
    "FetchSettings",
    "FetchSpec",
    "fetch",
    "fetch_url",
    "figshare_file_spec",
    "figshare_files",
    "parse_md5sums",
    "record_product",
    "validate_drug_targets",
    "validate_gmt",
]


@dataclass(frozen=True)
class FetchSpec:
    """One file to download.

    Parameters
    ----------
    source, release
        Source name (manifest ``source``) and release label (manifest ``release``).
    url
        Where to get it.
    dest
        Final path (``resources/raw/<source>/<name>``).
    checksums
        Published or configured checksums to verify.
    size
        Expected size in bytes, when the source publishes it.
    """

    source: str
    release: str
    url: str
    dest: str
    checksums: tuple[ExpectedChecksum, ...] = ()
    size: int | None = None


@dataclass(frozen=True)
class FetchSettings:
    """Download behaviour shared by all sources (the ``download`` config section)."""

    offline: bool = False
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    progress_every_bytes: int = 64 << 20
    manifest: str = DOWNLOAD_MANIFEST
    checksums: str = DOWNLOAD_CHECKSUMS

    @classmethod
    def from_config(cls, cfg: dict) -> FetchSettings:
        """Build from the validated ``download`` config section."""
        return cls(
            offline=bool(cfg["offline"]),
            policy=RetryPolicy(
                retries=int(cfg["retries"]),
                backoff_seconds=float(cfg["backoff_seconds"]),
                max_backoff_seconds=float(cfg["max_backoff_seconds"]),
                timeout_seconds=float(cfg["timeout_seconds"]),
            ),
            progress_every_bytes=int(float(cfg["progress_every_mb"]) * (1 << 20)),
            manifest=cfg["manifest"],
            checksums=cfg["checksums_file"],
        )


def fetch(
    spec: FetchSpec,
    settings: FetchSettings,
    log: logging.Logger = LOG,
    validator: Callable[[Path], object] | None = None,
) -> dict[str, Any]:
    """Download one file with all checks, record its checksum and its manifest row.

    Verification uses the spec's checksums, the server's md5 header and the sha256 recorded in
    ``settings.checksums`` for the same file and URL (first download: recorded now).

    Returns
    -------
    dict
        The manifest row.
    """
    checks = list(spec.checksums)
    recorded = recorded_sha256(settings.checksums, spec.dest, spec.url)
    if recorded:
        checks.append(ExpectedChecksum("sha256", recorded, f"recorded in {settings.checksums}"))
    digests, verified = download_file(
        spec.url,
        spec.dest,
        checksums=checks,
        size=spec.size,
        policy=settings.policy,
        progress_every_bytes=settings.progress_every_bytes,
        offline=settings.offline,
        log=log,
        validator=validator,
    )
    if not recorded:
        record_sha256(settings.checksums, spec.dest, spec.url, digests["sha256"])
    origins = [c.origin for c in verified] or [f"none published; sha256 recorded in {settings.checksums}"]
    return manifest_row(
        settings.manifest, spec.dest, source=spec.source, release=spec.release, url=spec.url,
        digests=digests, verified_against="; ".join(origins),
    )


def record_product(
    path: str, *, source: str, release: str, url: str, settings: FetchSettings, how: str
) -> dict[str, Any]:
    """Manifest row for a file built from downloaded content (e.g. the CREAMMIST crawl tables)."""
    return manifest_row(
        settings.manifest, path, source=source, release=release, url=url, digests=file_digests(path),
        verified_against=how,
    )


def figshare_files(api: str, article_id: int, policy: RetryPolicy, *, offline: bool = False,
                   page_size: int = 100, log: logging.Logger = LOG) -> list[dict]:
    """All file entries of a public figshare article (``GET {api}/articles/{id}/files``, paginated)."""
    entries: list[dict] = []
    page = 1
    while True:
        url = f"{api.rstrip('/')}/articles/{article_id}/files?page={page}&page_size={page_size}"
        batch = get_json(url, policy, offline=offline, log=log)
        if not isinstance(batch, list):
            raise DownloadError(f"{url}: expected a JSON list of files, got {type(batch).__name__}")
        entries.extend(batch)
        if len(batch) < page_size:
            return entries
        page += 1


def figshare_file_spec(entries: Sequence[dict], name: str, *, source: str, release: str, dest: str,
                       listing_url: str) -> FetchSpec:
    """The download URL, md5 and size of file ``name`` from a figshare file listing.

    ``supplied_md5`` (the depositor's) is preferred, ``computed_md5`` (figshare's) is verified too
    when both are present.
    """
    matches = [e for e in entries if e.get("name") == name]
    if not matches:
        names = ", ".join(sorted(str(e.get("name")) for e in entries)[:30])
        raise DownloadError(f"{listing_url}: no file named {name!r} in the article (files: {names})")
    entry = matches[0]
    if not entry.get("download_url"):
        raise DownloadError(f"{listing_url}: file {name!r} has no download_url")
    checks = []
    for key in ("supplied_md5", "computed_md5"):
        value = (entry.get(key) or "").strip()
        if value and all(value.lower() != c.value.lower() for c in checks):
            checks.append(ExpectedChecksum("md5", value, f"figshare {key}"))
    size = entry.get("size")
    return FetchSpec(source, release, entry["download_url"], dest, tuple(checks), int(size) if size else None)


def parse_md5sums(text: str) -> dict[str, str]:
    """Parse an ``md5sum``-format listing (``<md5>  <name>``) into ``{name: md5}``."""
    table = {}
    for line in text.splitlines():
        match = re.match(r"^([0-9a-fA-F]{32})\s+\*?(.+?)\s*$", line)
        if match:
            table[Path(match.group(2)).name] = match.group(1).lower()
    return table


def validate_gmt(path: str | os.PathLike[str], url: str) -> int:
    """Check an Enrichr text library (``name<TAB>description<TAB>gene...``); returns the set count."""
    count = 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3 or not fields[0]:
                raise InputFormatError(
                    f"{path} (from {url}), line {number}: expected 'name<TAB>description<TAB>genes...', "
                    f"found {line[:80]!r}"
                )
            count += 1
    if count == 0:
        raise InputFormatError(f"{path} (from {url}): no gene sets")
    return count


def validate_drug_targets(path: str | os.PathLike[str], url: str) -> int:
    """Check the Drug,Target CSV layout; returns the number of drugs."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(table.columns[:2]) != ["Drug", "Target"]:
        raise InputFormatError(f"{path} (from {url}): columns {list(table.columns)}; expected 'Drug,Target'")
    if table.empty:
        raise InputFormatError(f"{path} (from {url}): no rows")
    return len(table)


URL_VALIDATORS = {"gmt": validate_gmt, "drug_targets": validate_drug_targets}


def fetch_url(
    url: str,
    dest: str,
    *,
    source: str,
    release: str,
    settings: FetchSettings,
    sha256: str = "",
    md5sums_url: str = "",
    validate: str = "",
    log: logging.Logger = LOG,
) -> dict[str, Any]:
    """Download one configured URL to ``dest`` (a download rule's ``params`` and output).

    Parameters
    ----------
    url, dest
        Where from and where to.
    source, release
        The manifest's ``source`` and ``release``.
    settings
        Retries, offline mode, registry paths (:meth:`FetchSettings.from_config`).
    sha256
        A known checksum ("" = none).
    md5sums_url
        An md5sum-format listing of the release that names the file ("" = none); when it cannot be
        read or does not name the file, the recorded sha256 is the check (with a warning).
    validate
        Content check of the complete file: "gmt", "drug_targets" or "" (none).
    log
        The rule's logger.

    Returns
    -------
    dict
        The manifest row.
    """
    checks = []
    if sha256:
        checks.append(ExpectedChecksum("sha256", sha256, "download config sha256"))
    if md5sums_url:
        try:
            listing = parse_md5sums(get_text(md5sums_url, settings.policy, offline=settings.offline, log=log))
        except OfflineError:
            raise
        except DownloadError as error:
            log.warning("cannot read the md5 list (%s); falling back to the recorded sha256", error)
            listing = {}
        name = url_basename(url)
        if name in listing:
            checks.append(ExpectedChecksum("md5", listing[name], f"md5 list {md5sums_url}"))
        elif listing:
            log.warning("%s does not list %s; falling back to the recorded sha256", md5sums_url, name)
    if validate and validate not in URL_VALIDATORS:
        raise ValueError(f"validate={validate!r}: expected one of {', '.join(URL_VALIDATORS)} or ''")
    validator = (lambda path: URL_VALIDATORS[validate](path, url)) if validate else None
    spec = FetchSpec(source, release, url, dest, tuple(checks))
    row = fetch(spec, settings, log, validator=validator)
    log.info("manifest row: %s", row)
    return row
