"""The download registry: ``MANIFEST.tsv`` (one row per raw file) and ``CHECKSUMS.tsv``.

``MANIFEST.tsv`` (:data:`MANIFEST_COLUMNS`) says where each raw file came from, its size, md5 and
sha256 and what it was verified against. ``CHECKSUMS.tsv`` (:data:`CHECKSUM_COLUMNS`) holds the
sha256 of the first download of each file from each URL; a re-download of the same file from the
same URL must match it (delete the row to accept a new upstream version).

Concurrent rule jobs update both tables through :func:`upsert_row`, which holds an exclusive POSIX
lock (``fcntl.lockf``) on ``<table>.lock`` while it reads the table, replaces the file's row and
writes the table back atomically (temporary file + rename). Readers therefore never see a
half-written table, and concurrent writers serialise. POSIX record locks also work on NFS
(lockd); the download rules are ``localrule`` s, so they all run on the submitting host anyway.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import fcntl
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from forge.io import atomic_write

__all__ = [
    "CHECKSUM_COLUMNS",
    "MANIFEST_COLUMNS",
    "manifest_row",
    "record_sha256",
    "recorded_sha256",
    "upsert_row",
    "utc_timestamp",
]

MANIFEST_COLUMNS = ["source", "release", "file", "url", "bytes", "md5", "sha256", "verified_against", "date"]
CHECKSUM_COLUMNS = ["file", "url", "sha256", "recorded"]


def utc_timestamp() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ`` (the tables' ``date``/``recorded``)."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def record_sha256(registry: str | os.PathLike[str], file: str, url: str, sha256: str) -> None:
    """Record the sha256 of the first download of ``file`` from ``url`` (one row per file)."""
    upsert_row(registry, {"file": file, "url": url, "sha256": sha256, "recorded": utc_timestamp()}, CHECKSUM_COLUMNS)


def manifest_row(
    manifest: str | os.PathLike[str],
    file: str,
    *,
    source: str,
    release: str,
    url: str,
    digests: Mapping[str, str],
    verified_against: str,
) -> dict[str, Any]:
    """Write (insert or replace) the manifest row of ``file`` and return it.

    ``digests`` holds the file's ``md5`` and ``sha256`` (computed while it was verified, so that a
    file of tens of GB is not read again); its size is taken from the file.
    """
    row = {
        "source": source,
        "release": release,
        "file": file,
        "url": url,
        "bytes": Path(file).stat().st_size,
        "md5": digests["md5"],
        "sha256": digests["sha256"],
        "verified_against": verified_against,
        "date": utc_timestamp(),
    }
    upsert_row(manifest, row, MANIFEST_COLUMNS)
    return row
