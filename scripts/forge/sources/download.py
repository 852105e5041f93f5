"""Acquisition of the raw public sources: robust HTTP downloads, checksums, manifest, CREAMMIST crawl.

Everything here uses the standard library for HTTP (``urllib``) and is called by the thin
``scripts/fetch_*.py`` rule adapters (``workflow/rules/download.smk``).

Downloads (:func:`download_file`, :func:`fetch`)
    * written to ``<file>.part`` and renamed to ``<file>`` only after the checksum is verified;
    * retried with exponential backoff on network errors, timeouts and HTTP 408/425/429/5xx
      (``Retry-After`` honoured); other HTTP errors (404, 403, ...) fail at once with the URL;
    * a dropped connection keeps the ``.part`` file and the next attempt (or the next run)
      resumes from its size with an HTTP ``Range`` request; a server that ignores ``Range``
      (answers 200) restarts the file from byte 0;
    * checksums: the source's published md5 where there is one (figshare API, a release's
      ``MD5SUMS`` file, the ``x-goog-hash`` header of Google Cloud Storage) and/or a configured
      md5/sha256; otherwise the sha256 of the first download is recorded in ``CHECKSUMS.tsv`` and
      every re-download of the same file from the same URL must match it. A mismatch deletes the
      ``.part`` file and raises :class:`ChecksumError` (nothing is left on disk);
    * each file gets one row (upserted, keyed by path) in ``MANIFEST.tsv``.

Concurrent rule jobs update ``MANIFEST.tsv`` and ``CHECKSUMS.tsv`` through :func:`upsert_row`,
which holds an exclusive POSIX lock (``fcntl.lockf``) on ``<table>.lock`` while it reads the table,
replaces the file's row and writes the table back atomically (temporary file + rename). Readers
therefore never see a half-written table, and concurrent writers serialise. POSIX record locks
also work on NFS (lockd); the download rules are ``localrule`` s, so they all run on the
submitting host anyway.

CREAMMIST crawl (:func:`crawl_creammist`, :func:`creammist_tables`)
    Every API response is cached on disk, keyed by its URL (:class:`ApiCache`); a rerun only
    requests what is not cached yet (resumable), and with ``cache_only`` the crawl is rebuilt
    from the cache alone without any network access. The JSON → table conversion is isolated in
    :func:`creammist_tables`; the assumed API schema is documented there.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime as _dt
import fcntl
import hashlib
import http.client
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forge.io import InputFormatError, atomic_write

__all__ = [
    "ApiCache",
    "CHECKSUM_COLUMNS",
    "CacheMiss",
    "ChecksumError",
    "DownloadError",
    "ExpectedChecksum",
    "FetchSpec",
    "FetchSettings",
    "MANIFEST_COLUMNS",
    "OfflineError",
    "PlannedFile",
    "RateLimiter",
    "RetryPolicy",
    "crawl_creammist",
    "creammist_tables",
    "download_file",
    "fetch",
    "figshare_file_spec",
    "figshare_files",
    "file_digests",
    "get_bytes",
    "get_json",
    "get_text",
    "alternation",
    "planned_downloads",
    "record_product",
    "recorded_sha256",
    "tahoe_url",
    "url_basename",
    "missing_offline",
    "offline_message",
    "parse_md5sums",
    "upsert_row",
    "validate_drug_targets",
    "validate_gmt",
]

LOG = logging.getLogger("download")
USER_AGENT = "FORGE-workflow/1.0 (+urllib)"
MANIFEST_COLUMNS = ["source", "release", "file", "url", "bytes", "md5", "sha256", "verified_against", "date"]
CHECKSUM_COLUMNS = ["file", "url", "sha256", "recorded"]
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download failed; the message names the URL and what went wrong."""


class ChecksumError(DownloadError):
    """Downloaded bytes do not match the expected checksum (the partial file was deleted)."""


class OfflineError(DownloadError):
    """A download was requested while ``download.offline`` is true."""


@dataclass(frozen=True)
class RetryPolicy:
    """Retries with exponential backoff.

    Attempt ``i`` (0-based) that fails waits ``min(backoff_seconds * 2**i, max_backoff_seconds)``
    (or the server's ``Retry-After``, capped the same way) before attempt ``i + 1``.
    """

    retries: int = 5
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 120.0
    timeout_seconds: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based)."""
        base = retry_after if retry_after is not None else self.backoff_seconds * (2**attempt)
        return float(min(max(base, 0.0), self.max_backoff_seconds))


@dataclass(frozen=True)
class ExpectedChecksum:
    """A checksum the downloaded bytes must match, with where it comes from (for messages)."""

    algorithm: str  # "md5" or "sha256"
    value: str
    origin: str


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
    manifest: str = "resources/raw/MANIFEST.tsv"
    checksums: str = "resources/raw/CHECKSUMS.tsv"

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


class _Retryable(Exception):
    """Internal: a failure worth another attempt."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# --------------------------------------------------------------------------- small helpers


def _today() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mb(n: float) -> str:
    return f"{n / (1 << 20):.1f} MB"


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _open(url: str, headers: dict[str, str], timeout: float) -> http.client.HTTPResponse:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (URLs come from the config)


def _http_error(url: str, error: urllib.error.HTTPError) -> Exception:
    """Classify an HTTP error: retryable (``_Retryable``) or final (``DownloadError``)."""
    if error.code in RETRYABLE_STATUS:
        return _Retryable(f"HTTP {error.code} {error.reason}", _retry_after(error.headers))
    return DownloadError(f"{url}: HTTP {error.code} {error.reason}")


def file_digests(path: str | os.PathLike[str]) -> dict[str, str]:
    """md5 and sha256 of a file, read once in 1 MiB chunks."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()  # noqa: S324 (md5 = publisher checksum)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            md5.update(chunk)
            sha256.update(chunk)
    return {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def _goog_md5(headers: Any) -> str | None:
    """The md5 of a Google Cloud Storage object from its ``x-goog-hash`` header (hex), if any."""
    for value in headers.get_all("x-goog-hash") or []:
        for part in value.split(","):
            key, _, encoded = part.strip().partition("=")
            if key == "md5" and encoded:
                return base64.b64decode(encoded).hex()
    return None


# --------------------------------------------------------------------------- download


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    *,
    checksums: Sequence[ExpectedChecksum] = (),
    size: int | None = None,
    policy: RetryPolicy = RetryPolicy(),
    progress_every_bytes: int = 64 << 20,
    offline: bool = False,
    log: logging.Logger = LOG,
    sleep: Callable[[float], None] = time.sleep,
    validator: Callable[[Path], object] | None = None,
) -> tuple[dict[str, str], list[ExpectedChecksum]]:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming and verifying.

    Parameters
    ----------
    url
        Source URL (http or https).
    dest
        Final path; it appears only after all checksums matched.
    checksums
        Checksums the bytes must match (md5 or sha256).
    size
        Expected size in bytes, if known.
    policy
        Retries, backoff and timeout.
    progress_every_bytes
        Log a progress line every this many bytes.
    offline
        Refuse to download (raise :class:`OfflineError`).
    log
        Logger for progress and retries.
    sleep
        Sleep function (tests pass a no-op).
    validator
        Optional check of the complete, verified ``.part`` file (e.g. that a text library is not
        an HTML error page); if it raises, the ``.part`` file is deleted and the error propagates.

    Returns
    -------
    digests
        ``{"md5": ..., "sha256": ...}`` of the final file.
    verified
        The checksums that were verified (including an md5 announced by the server).

    Raises
    ------
    OfflineError
        ``offline`` is true.
    DownloadError
        HTTP error other than a transient one (message names URL and status), or all attempts
        failed (the ``.part`` file is kept for the next run to resume).
    ChecksumError
        Size or checksum mismatch; the ``.part`` file is deleted.
    """
    dest = Path(dest)
    if offline:
        raise OfflineError(f"offline mode: not downloading {url}; put the file at {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    expected = list(checksums)
    for attempt in range(policy.retries + 1):
        try:
            complete = _attempt(url, part, size, policy, progress_every_bytes, log, expected)
            if complete:
                break
        except _Retryable as problem:
            if attempt == policy.retries:
                kept = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"{url}: failed after {policy.retries + 1} attempts ({problem}); "
                    f"{kept} bytes kept in {part}, rerun to resume"
                ) from None
            delay = policy.delay(attempt, problem.retry_after)
            log.warning("%s: %s; retry %d/%d in %.2f s", url, problem, attempt + 1, policy.retries, delay)
            sleep(delay)
    digests = file_digests(part)
    received = part.stat().st_size
    problems = []
    if size is not None and received != size:
        problems.append(f"size {received} bytes, expected {size}")
    for check in expected:
        actual = digests[check.algorithm]
        if actual.lower() != check.value.lower():
            problems.append(f"{check.algorithm} {actual}, expected {check.value} ({check.origin})")
    if problems:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"{url}: checksum verification failed for {dest}: {'; '.join(problems)}. "
            "The partial file was deleted; if the source legitimately changed, update the "
            "configured/recorded checksum and rerun."
        )
    if validator is not None:
        try:
            validator(part)
        except Exception:
            part.unlink(missing_ok=True)
            raise
    os.replace(part, dest)
    log.info("%s: complete, %s, md5 %s, sha256 %s", dest, _mb(received), digests["md5"], digests["sha256"])
    return digests, expected


def _attempt(
    url: str,
    part: Path,
    size: int | None,
    policy: RetryPolicy,
    progress_every: int,
    log: logging.Logger,
    expected: list[ExpectedChecksum],
) -> bool:
    """One HTTP request appending to ``part``; True when the file is complete."""
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        log.warning("%s is larger than the expected %d bytes; restarting", part, size)
        part.unlink()
        offset = 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = _open(url, headers, policy.timeout_seconds)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            if size is None or offset == size:
                log.info("%s: server has no bytes after %d; treating %s as complete", url, offset, part)
                return True
            part.unlink()
            raise _Retryable("HTTP 416 for the resumed range; restarting from byte 0") from None
        raise _http_error(url, error) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise _Retryable(f"{type(error).__name__}: {getattr(error, 'reason', error)}") from None
    with response:
        goog = _goog_md5(response.headers)
        if goog and not any(c.algorithm == "md5" and c.origin.startswith("x-goog-hash") for c in expected):
            expected.append(ExpectedChecksum("md5", goog, "x-goog-hash md5 header"))
        length = response.headers.get("Content-Length")
        if offset and response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                part.unlink()
                raise _Retryable(f"unexpected Content-Range {content_range!r}; restarting from byte 0")
            log.info("%s: resuming at byte %d (%s)", url, offset, _mb(offset))
            mode = "ab"
        else:
            if offset:
                log.info("%s: server ignored the Range request; restarting from byte 0", url)
            offset, mode = 0, "wb"
        total = offset + int(length) if length is not None else size
        log.info("%s: downloading to %s (%s)", url, part, _mb(total) if total else "size unknown")
        received = offset
        next_report = offset + progress_every
        started = time.monotonic()
        try:
            with open(part, mode) as handle:
                while chunk := response.read(_CHUNK):
                    handle.write(chunk)
                    received += len(chunk)
                    if received >= next_report:
                        rate = (received - offset) / max(time.monotonic() - started, 1e-9)
                        share = f" ({100 * received / total:.1f}%)" if total else ""
                        log.info("%s: %s%s, %s/s", part.name, _mb(received), share, _mb(rate))
                        next_report = received + progress_every
        except (OSError, http.client.HTTPException) as error:
            raise _Retryable(f"connection dropped after {received} bytes ({type(error).__name__}); .part kept")
    if total is not None and received < total:
        raise _Retryable(f"connection dropped after {received} of {total} bytes; .part kept")
    return True


# --------------------------------------------------------------------------- registry and manifest


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(lock, fcntl.LOCK_UN)


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def upsert_row(path: str | os.PathLike[str], row: dict[str, Any], columns: Sequence[str], key: str = "file") -> None:
    """Insert or replace (by ``key``) one row of a TSV table, under an exclusive lock.

    The table is rewritten atomically, rows sorted by ``key``; several processes may call this
    at the same time on the same table.
    """
    path = Path(path)
    with _locked(path):
        rows = [r for r in _read_rows(path) if r.get(key) != str(row[key])]
        rows.append({c: "" if row.get(c) is None else str(row[c]) for c in columns})
        rows.sort(key=lambda r: r[key])
        with atomic_write(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns), delimiter="\t", lineterminator="\n")
            writer.writeheader()
            writer.writerows({c: r.get(c, "") for c in columns} for r in rows)


def recorded_sha256(registry: str | os.PathLike[str], file: str, url: str) -> str | None:
    """The sha256 recorded for ``file`` downloaded from ``url``, if any."""
    for row in _read_rows(Path(registry)):
        if row["file"] == file and row["url"] == url:
            return row["sha256"]
    return None


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
        upsert_row(
            settings.checksums,
            {"file": spec.dest, "url": spec.url, "sha256": digests["sha256"], "recorded": _today()},
            CHECKSUM_COLUMNS,
        )
    origins = [c.origin for c in verified] or [f"none published; sha256 recorded in {settings.checksums}"]
    row = {
        "source": spec.source,
        "release": spec.release,
        "file": spec.dest,
        "url": spec.url,
        "bytes": Path(spec.dest).stat().st_size,
        "md5": digests["md5"],
        "sha256": digests["sha256"],
        "verified_against": "; ".join(origins),
        "date": _today(),
    }
    upsert_row(settings.manifest, row, MANIFEST_COLUMNS)
    return row


def record_product(
    path: str, *, source: str, release: str, url: str, settings: FetchSettings, how: str
) -> dict[str, Any]:
    """Manifest row for a file built from downloaded content (e.g. the CREAMMIST crawl tables)."""
    digests = file_digests(path)
    row = {
        "source": source,
        "release": release,
        "file": path,
        "url": url,
        "bytes": Path(path).stat().st_size,
        "md5": digests["md5"],
        "sha256": digests["sha256"],
        "verified_against": how,
        "date": _today(),
    }
    upsert_row(settings.manifest, row, MANIFEST_COLUMNS)
    return row


# --------------------------------------------------------------------------- small GETs


def get_bytes(url: str, policy: RetryPolicy, *, offline: bool = False, log: logging.Logger = LOG,
              sleep: Callable[[float], None] = time.sleep) -> tuple[int, bytes]:
    """GET a small document with retries; returns ``(status, body)``.

    404 is returned (not raised) so that callers can cache "not found"; other non-transient
    HTTP errors raise :class:`DownloadError` naming the URL.
    """
    if offline:
        raise OfflineError(f"offline mode: not requesting {url}")
    for attempt in range(policy.retries + 1):
        try:
            try:
                with _open(url, {"Accept": "application/json, text/plain, */*"}, policy.timeout_seconds) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    return 404, error.read()
                raise _http_error(url, error) from None
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                raise _Retryable(f"{type(error).__name__}: {getattr(error, 'reason', error)}") from None
        except _Retryable as problem:
            if attempt == policy.retries:
                raise DownloadError(f"{url}: failed after {policy.retries + 1} attempts ({problem})") from None
            delay = policy.delay(attempt, problem.retry_after)
            log.warning("%s: %s; retry %d/%d in %.2f s", url, problem, attempt + 1, policy.retries, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def get_text(url: str, policy: RetryPolicy, *, offline: bool = False, log: logging.Logger = LOG) -> str:
    """GET a text document; 404 raises :class:`DownloadError` naming the URL."""
    status, body = get_bytes(url, policy, offline=offline, log=log)
    if status == 404:
        raise DownloadError(f"{url}: HTTP 404 Not Found")
    return body.decode("utf-8")


def get_json(url: str, policy: RetryPolicy, *, offline: bool = False, log: logging.Logger = LOG) -> Any:
    """GET and parse a JSON document; 404 or invalid JSON raise errors naming the URL."""
    text = get_text(url, policy, offline=offline, log=log)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DownloadError(f"{url}: response is not JSON ({error}); starts with {text[:80]!r}") from None


# --------------------------------------------------------------------------- source-specific resolution


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


# --------------------------------------------------------------------------- offline mode


@dataclass(frozen=True)
class PlannedFile:
    """A raw file the workflow obtains by download (for offline checks and targets)."""

    path: str
    url: str
    note: str = ""
    alternatives: tuple[str, ...] = ()  # any of these present also satisfies the need


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


# --------------------------------------------------------------------------- CREAMMIST


class ApiCache:
    """On-disk cache of API responses, one JSON file per URL.

    The file is ``<dir>/<h[:2]>/<h>.json`` with ``h`` the sha256 of the URL, holding
    ``{"url", "status", "retrieved", "body"}`` (``body`` is the parsed JSON, or null for 404).
    Entries are written atomically, so an interrupted crawl never leaves a broken entry.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def path_for(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.directory / digest[:2] / f"{digest}.json"

    def get(self, url: str) -> dict | None:
        path = self.path_for(url)
        if not path.is_file():
            return None
        entry = json.loads(path.read_text(encoding="utf-8"))
        if entry.get("url") != url:
            raise InputFormatError(f"{path}: cache entry is for {entry.get('url')!r}, not {url!r}")
        return entry

    def put(self, url: str, status: int, body: Any) -> dict:
        entry = {"url": url, "status": status, "retrieved": _today(), "body": body}
        with atomic_write(self.path_for(url)) as tmp:
            tmp.write_text(json.dumps(entry, sort_keys=True), encoding="utf-8")
        return entry

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*/*.json")) if self.directory.is_dir() else 0


class RateLimiter:
    """At most ``per_second`` requests per second (a minimum interval between requests)."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self._last: float | None = None

    def wait(self) -> None:
        if self._last is not None:
            remaining = self.interval - (self.clock() - self._last)
            if remaining > 0:
                self.sleep(remaining)
        self._last = self.clock()


class CacheMiss(DownloadError):
    """``cache_only`` crawl needs responses that are not cached (the message lists them)."""


@dataclass
class _Crawler:
    api: str
    cache: ApiCache
    limiter: RateLimiter
    policy: RetryPolicy
    cache_only: bool
    log: logging.Logger
    fetched: int = 0
    hits: int = 0
    missing: list[str] = field(default_factory=list)

    def url(self, *parts: str) -> str:
        return self.api.rstrip("/") + "/" + "/".join(urllib.parse.quote(p, safe="") for p in parts)

    def get(self, url: str) -> Any:
        """Parsed body (None for 404); None and remembered when cache-only and not cached."""
        entry = self.cache.get(url)
        if entry is not None:
            self.hits += 1
            return entry["body"]
        if self.cache_only:
            self.missing.append(url)
            return None
        self.limiter.wait()
        status, raw = get_bytes(url, self.policy, log=self.log)
        body = None
        if status != 404:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise DownloadError(f"{url}: response is not JSON ({error})") from None
        self.cache.put(url, status, body)
        self.fetched += 1
        if self.fetched % 500 == 0:
            self.log.info("crawl: %d responses fetched, %d from cache", self.fetched, self.hits)
        return body


def _records(body: Any, url: str) -> list[dict]:
    """A JSON list of objects (the API's ``orient="records"``); None (404) → empty list."""
    if body is None:
        return []
    if isinstance(body, dict) and set(body) == {"message"}:
        return []
    if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
        raise InputFormatError(f"{url}: expected a JSON list of objects, got {type(body).__name__}")
    return body


def crawl_creammist(
    api: str,
    cache: ApiCache,
    *,
    drugs: Sequence[str] = (),
    cell_lines_endpoint: str = "celllines",
    keep_fields: Sequence[str] = ("cellosaurus_id", "standard_drug_name", "dataset", "IC50"),
    limiter: RateLimiter | None = None,
    policy: RetryPolicy = RetryPolicy(),
    cache_only: bool = False,
    log: logging.Logger = LOG,
) -> tuple[list[dict], list[dict]]:
    """Crawl CREAMMIST: drugs → cell lines tested per drug → experiments per (cell line, drug).

    Requests, in a fixed order: ``GET {api}/drugs``; for each selected drug (sorted)
    ``GET {api}/drugs/{drug}``; for each cell line in its records (sorted)
    ``GET {api}/experiments/{cell}/{drug}``; finally ``GET {api}/{cell_lines_endpoint}``
    (skipped when empty). Path parts are percent-encoded. Every response, including 404
    ("no data"), is cached; cached URLs are not requested again.

    Parameters
    ----------
    api
        Base URL, e.g. ``https://creammist.mtms.dev/api``.
    cache
        Response cache.
    drugs
        Drugs to crawl (matched case-insensitively to ``standard_drug_name``); empty = all.
    cell_lines_endpoint
        Endpoint listing cell lines with ``cellosaurus_index``; empty string to skip.
    keep_fields
        Fields of each experiment record kept in memory (the rest stays in the cache).
    limiter
        Rate limiter (default 4 requests/s).
    policy
        Retries/backoff for each request.
    cache_only
        Never use the network; raise :class:`CacheMiss` listing the URLs not cached.
    log
        Progress logger.

    Returns
    -------
    experiments
        Experiment records (subset of fields), in crawl order.
    cell_lines
        Records of the cell-line endpoint (empty if skipped or 404).
    """
    crawler = _Crawler(api, cache, limiter or RateLimiter(4.0), policy, cache_only, log)
    drugs_url = crawler.url("drugs")
    listed = _records(crawler.get(drugs_url), drugs_url)
    if crawler.missing:
        raise CacheMiss(f"cache-only crawl: {drugs_url} is not in the cache {cache.directory}")
    available = {str(r["standard_drug_name"]).upper(): str(r["standard_drug_name"]) for r in listed
                 if r.get("standard_drug_name")}
    if drugs:
        unknown = [d for d in drugs if d.upper() not in available]
        if unknown:
            raise DownloadError(f"{drugs_url}: drug(s) not in CREAMMIST: {', '.join(unknown)}")
        selected = sorted(available[d.upper()] for d in drugs)
    else:
        selected = sorted(available.values())
    log.info("crawl: %d drug(s) selected of %d listed", len(selected), len(available))
    experiments: list[dict] = []
    for number, drug in enumerate(selected, start=1):
        drug_url = crawler.url("drugs", drug)
        cells = sorted({str(r["cellosaurus_id"]) for r in _records(crawler.get(drug_url), drug_url)
                        if r.get("cellosaurus_id")})
        for cell in cells:
            url = crawler.url("experiments", cell, drug)
            for record in _records(crawler.get(url), url):
                experiments.append({k: record.get(k) for k in keep_fields})
        log.info("crawl: drug %d/%d %s: %d cell lines (%d fetched, %d cached so far)",
                 number, len(selected), drug, len(cells), crawler.fetched, crawler.hits)
    cell_lines: list[dict] = []
    if cell_lines_endpoint:
        url = crawler.url(*cell_lines_endpoint.strip("/").split("/"))
        cell_lines = _records(crawler.get(url), url)
    if crawler.missing:
        shown = "\n  ".join(crawler.missing[:20])
        more = f"\n  ... and {len(crawler.missing) - 20} more" if len(crawler.missing) > 20 else ""
        raise CacheMiss(
            f"cache-only crawl: {len(crawler.missing)} response(s) not in the cache {cache.directory} "
            f"(run once with network access to fill it):\n  {shown}{more}"
        )
    log.info("crawl finished: %d experiment records, %d fetched, %d from cache",
             len(experiments), crawler.fetched, crawler.hits)
    return experiments, cell_lines


_RRID = re.compile(r"^CVCL_[A-Z0-9]{4}$")


def creammist_tables(
    experiments: Sequence[dict],
    cell_lines: Sequence[dict],
    *,
    dataset: str = "All",
    ic50_field: str = "IC50",
    log: logging.Logger = LOG,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert CREAMMIST experiment and cell-line records to the workflow's two tables.

    Assumed schema (CREAMMIST REST API; not checkable offline, so isolated here):

    * experiment record (``/experiments/{cell}/{drug}``, one per dataset): ``cellosaurus_id`` —
      despite its name, the cell-line *name* (e.g. ``"A-549"``); ``standard_drug_name``;
      ``dataset`` — ``"CCLE"``, ``"CTRP1"``, ``"CTRP2"``, ``"GDSC1"``, ``"GDSC2"`` or ``"All"``
      (the Bayesian harmonisation over all datasets); ``IC50`` — posterior mode of the IC50 on
      the API's log concentration scale (the scale of the FORGE authors' table: negative values
      occur, lower = more sensitive), null when not estimable;
    * cell-line record (``/celllines``): ``cellosaurus_id`` (name) and ``cellosaurus_index``
      (the Cellosaurus RRID, ``CVCL_xxxx``).

    Units: values are kept as delivered (no transformation). As a guard against a linear scale
    (which would silently change the meaning of every downstream IC50), a table whose values are
    all positive with a median above 100 is rejected.

    Parameters
    ----------
    experiments
        Experiment records (any extra keys ignored).
    cell_lines
        Cell-line records; may be empty (then RRIDs are left empty).
    dataset
        Which dataset's IC50 to use.
    ic50_field
        Field holding the IC50.
    log
        Logger for the summary and for dropped records.

    Returns
    -------
    ic50
        Drugs × cell lines: first column ``drug`` (upper case), then one column per cell-line
        name (sorted); rows sorted by drug; empty = not measured.
    lines
        ``cell_line_name, cellosaurus_index`` for every cell line of ``ic50`` (RRID empty if unknown).
    """
    values: dict[tuple[str, str], float] = {}
    duplicates = 0
    for record in experiments:
        missing = [k for k in ("cellosaurus_id", "standard_drug_name", "dataset") if k not in record]
        if missing or ic50_field not in record:
            raise InputFormatError(
                f"CREAMMIST experiment record lacks {missing + ([ic50_field] if ic50_field not in record else [])}: "
                f"{json.dumps(record)[:200]}"
            )
        if record["dataset"] != dataset:
            continue
        value = record[ic50_field]
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputFormatError(
                f"CREAMMIST {record['standard_drug_name']} / {record['cellosaurus_id']}: "
                f"{ic50_field} {value!r} is not a number"
            ) from None
        if not np.isfinite(number):
            continue
        key = (str(record["standard_drug_name"]).strip().upper(), str(record["cellosaurus_id"]).strip())
        if key in values:
            duplicates += 1
            continue
        values[key] = number
    if duplicates:
        log.warning("CREAMMIST: %d repeated (drug, cell line) records for dataset %s; first kept", duplicates, dataset)
    if not values:
        raise InputFormatError(f"CREAMMIST: no {ic50_field} values for dataset {dataset!r}")
    series = pd.Series(values)
    numbers = series.to_numpy()
    if (numbers > 0).all() and np.median(numbers) > 100:
        raise InputFormatError(
            f"CREAMMIST {ic50_field}: all values positive with median {np.median(numbers):.3g}; this looks like a "
            "linear concentration, not the log scale the workflow expects. Check the API's units."
        )
    log.info("CREAMMIST %s (%s): %d values, min %.3g, median %.3g, max %.3g",
             ic50_field, dataset, numbers.size, numbers.min(), np.median(numbers), numbers.max())
    matrix = series.unstack()
    matrix = matrix.sort_index().reindex(sorted(matrix.columns), axis=1)
    ic50 = matrix.reset_index(names="drug")
    ic50.columns.name = None
    rrid: dict[str, str] = {}
    for record in cell_lines:
        name, index = record.get("cellosaurus_id"), record.get("cellosaurus_index")
        if name is None or name in rrid:
            continue
        index = "" if index is None else str(index).strip()
        if index and not _RRID.match(index):
            log.warning("CREAMMIST cell line %r: cellosaurus_index %r is not an RRID; left empty", name, index)
            index = ""
        rrid[str(name).strip()] = index
    names = [str(c) for c in matrix.columns]
    lines = pd.DataFrame({"cell_line_name": names, "cellosaurus_index": [rrid.get(n, "") for n in names]})
    without = int((lines["cellosaurus_index"] == "").sum())
    if without:
        log.warning("CREAMMIST: %d of %d cell lines without an RRID", without, len(lines))
    return ic50, lines


# --------------------------------------------------------------------------- layout of the downloaded files

RAW = "resources/raw"
TAHOE_PLATE = "plate{plate}_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad"
SOURCES = ("depmap", "creammist", "drug_targets", "tahoe", "pdx", "gencode", "synonyms", "enrichr")


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


def planned_downloads(cfg: dict, raw: str = RAW) -> dict[str, list[PlannedFile]]:
    """Every file the download rules produce, per source, with its URL (from the ``download`` config).

    The paths are those of ``workflow/rules/download.smk`` and equal ``raw_file(name)`` of
    ``common.smk`` when ``data.source`` is ``download``.
    """
    depmap = cfg["depmap"]
    article = f"{depmap['figshare_api'].rstrip('/')}/articles/{depmap['figshare_article']}/files"
    tahoe = cfg["tahoe"]
    gtf = f"{raw}/annotation/{url_basename(cfg['gencode']['url'])}"
    gene_info = f"{raw}/annotation/{url_basename(cfg['synonyms']['url'])}"
    cache = f"{raw}/creammist/cache"
    return {
        "depmap": [PlannedFile(f"{raw}/depmap/{name}", article, f"file {name} of the figshare article")
                   for name in depmap["files"]],
        "creammist": [
            PlannedFile(f"{raw}/creammist/{name}", cfg["creammist"]["api"],
                        f"built by the crawl; or copy a complete response cache to {cache}/", (cache,))
            for name in ("creammist_ic50.csv", "creammist_cell_lines.csv")
        ],
        "drug_targets": [PlannedFile(f"{raw}/annotation/drug_targets.csv", cfg["drug_targets"]["url"])],
        "tahoe": [PlannedFile(f"{raw}/tahoe/{TAHOE_PLATE.format(plate=p)}", tahoe_url(tahoe, plate=p))
                  for p in tahoe["plates"]]
        + [PlannedFile(f"{raw}/tahoe/metadata/{name}", tahoe_url(tahoe, metadata=name)) for name in tahoe["metadata"]],
        "pdx": [PlannedFile(f"{raw}/pdx/nm.3954-S2.xlsx", cfg["pdx"]["url"])],
        "gencode": [PlannedFile(f"{raw}/annotation/gencode_v19_gene_spans.csv", cfg["gencode"]["url"],
                                f"converted from the GTF; or put the GTF at {gtf}", (gtf,))],
        "synonyms": [PlannedFile(f"{raw}/annotation/symbol_synonyms.csv", cfg["synonyms"]["url"],
                                 f"converted from gene_info; or put that file at {gene_info}", (gene_info,))],
        "enrichr": [PlannedFile(f"{raw}/enrichr/{name}.gmt", cfg["enrichr"]["url"].format(library=name))
                    for name in cfg["enrichr"]["libraries"]],
    }


URL_VALIDATORS = {"gmt": validate_gmt, "drug_targets": validate_drug_targets}


def fetch_configured_url(params: Any, download_config: dict, dest: str, log: logging.Logger) -> dict:
    """Download one file of a download rule: its URL, checksums and validator from ``params``.

    ``params`` has ``source``, ``release`` and ``url``, and optionally ``sha256`` (known checksum,
    "" = none), ``md5sums_url`` (an md5sum-format listing of the release that names the file,
    "" = none) and ``validate`` ("gmt", "drug_targets" or "" for none). Returns the manifest row.
    """
    settings = FetchSettings.from_config(download_config)
    url = params.url
    checks = []
    if getattr(params, "sha256", ""):
        checks.append(ExpectedChecksum("sha256", params.sha256, "download config sha256"))
    md5sums_url = getattr(params, "md5sums_url", "")
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
    kind = getattr(params, "validate", "")
    validator = (lambda path: URL_VALIDATORS[kind](path, url)) if kind else None
    spec = FetchSpec(params.source, params.release, url, dest, tuple(checks))
    row = fetch(spec, settings, log, validator=validator)
    log.info("manifest row: %s", row)
    return row
