"""HTTP transfer of one file or one small document: retries, resume with Range, checksums.

:func:`download_file` (one file, possibly tens of GB)
    * written to ``<file>.part`` and renamed to ``<file>`` only after the checksums matched;
    * retried with exponential backoff on network errors, timeouts and HTTP 408/425/429/5xx
      (``Retry-After`` honoured, capped); other HTTP errors (404, 403, ...) fail at once with the URL;
    * a dropped connection keeps the ``.part`` file and the next attempt (or the next run)
      resumes from its size with an HTTP ``Range`` request; a server that ignores ``Range``
      (answers 200) restarts the file from byte 0;
    * every expected md5/sha256 is verified (several may apply: a publisher's md5, a configured
      sha256, the one recorded on the first download); the md5 announced by Google Cloud
      Storage's ``x-goog-hash`` header is added to them. A mismatch deletes the ``.part`` file and
      raises :class:`ChecksumError` (nothing is left on disk).

:func:`get_bytes`, :func:`get_text`, :func:`get_json` (API listings, md5 lists, crawl responses)
    the same retry rules; 404 is returned by :func:`get_bytes` so that callers may cache it.

Only the standard library's ``urllib`` is used (see the README, "Real data", for why neither pooch
nor Snakemake's HTTP storage plugin replaces this module).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ChecksumError",
    "DownloadError",
    "ExpectedChecksum",
    "OfflineError",
    "RetryPolicy",
    "download_file",
    "file_digests",
    "get_bytes",
    "get_json",
    "get_text",
]

LOG = logging.getLogger("download")
USER_AGENT = "FORGE-workflow/1.0 (+urllib)"

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


class _Retryable(Exception):
    """Internal: a failure worth another attempt."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


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

