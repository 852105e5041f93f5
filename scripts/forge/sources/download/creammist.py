"""The CREAMMIST crawl: drugs, cell lines and IC50s from its REST API, cached and resumable.

Every API response is cached on disk, keyed by its URL (:class:`ApiCache`); a rerun only requests
what is not cached yet (resumable), and with ``cache_only`` the crawl is rebuilt from the cache
alone without any network access (:class:`CacheMiss` lists what is missing). Requests are
rate-limited (:class:`RateLimiter`) and retried like every download
(:func:`~forge.sources.download.http.get_bytes`). The JSON → table conversion is isolated in
:func:`creammist_tables`; the assumed API schema is documented there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forge.io import InputFormatError, atomic_write
from forge.sources.download.http import LOG, DownloadError, RetryPolicy, get_bytes
from forge.sources.download.manifest import utc_timestamp

__all__ = ["ApiCache", "CacheMiss", "RateLimiter", "crawl_creammist", "creammist_tables"]


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
        entry = {"url": url, "status": status, "retrieved": utc_timestamp(), "body": body}
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
