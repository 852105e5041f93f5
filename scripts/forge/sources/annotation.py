"""Conversions of downloaded annotation files into the workflow's annotation tables.

* :func:`gtf_gene_spans` — GENCODE GTF (v19 = GRCh37) → one row per ``gene`` feature:
  ``gene_name, gene_type, chrom, start, end, Strand, span_length`` (1-based inclusive
  coordinates as in the GTF; ``span_length = end - start + 1``), in file order. Gene names are
  not unique in GENCODE (e.g. ``Y_RNA``); all rows are kept, as in the reference table.
* :func:`ncbi_symbol_synonyms` — NCBI ``Homo_sapiens.gene_info(.gz)`` → ``alias, official_symbol``
  from the ``Synonyms`` column (which includes previous symbols, e.g. CTGF → CCN2,
  TMEM8A → PGAP6). Aliases shared by several genes are kept as several rows; deciding what to do
  with them is left to :func:`harmonise.map_gene_symbols`, which reports them as ambiguous.

NCBI gene_info was chosen over the HGNC complete set because it is one stable URL without an
API, covers the same previous symbols in ``Synonyms`` and is what the reference table in
``../shared/data/real/annotation/ncbi_symbol_synonyms.csv.gz`` was built from.
"""

from __future__ import annotations

import gzip
import io
import os
import re
from pathlib import Path

import pandas as pd

from forge.io import InputFormatError

__all__ = ["GENE_SPAN_COLUMNS", "SYNONYM_COLUMNS", "gtf_gene_spans", "ncbi_symbol_synonyms"]

GENE_SPAN_COLUMNS = ["gene_name", "gene_type", "chrom", "start", "end", "Strand", "span_length"]
SYNONYM_COLUMNS = ["alias", "official_symbol"]
_ATTRIBUTE = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s+"([^"]*)"\s*;?')


def _open_text(path: str | os.PathLike[str]) -> io.TextIOBase:
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def _attributes(text: str) -> dict[str, str]:
    return {match.group(1): match.group(2) for match in _ATTRIBUTE.finditer(text)}


def gtf_gene_spans(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Gene spans from a GENCODE GTF (plain or gzip).

    Parameters
    ----------
    path
        GTF file; only ``gene`` features are read.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GENE_SPAN_COLUMNS`, one row per gene, file order.

    Raises
    ------
    forge.io.InputFormatError
        A gene line with fewer than 9 fields, non-integer coordinates, or missing
        ``gene_name``/``gene_type`` (message names the file and line); no gene lines at all.
    """
    rows = []
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 9:
                if line.strip():
                    raise InputFormatError(
                        f"{path}, line {number}: expected 9 tab-separated GTF fields, found {len(fields)}"
                    )
                continue
            if fields[2] != "gene":
                continue
            attributes = _attributes(fields[8])
            missing = [k for k in ("gene_name", "gene_type") if k not in attributes]
            if missing:
                raise InputFormatError(f"{path}, line {number}: gene without attribute(s) {', '.join(missing)}")
            try:
                start, end = int(fields[3]), int(fields[4])
            except ValueError:
                raise InputFormatError(
                    f"{path}, line {number}: non-integer start/end {fields[3]!r}, {fields[4]!r}"
                ) from None
            rows.append((attributes["gene_name"], attributes["gene_type"], fields[0], start, end, fields[6],
                         end - start + 1))
    if not rows:
        raise InputFormatError(f"{path}: no 'gene' features found; is this a GENCODE GTF?")
    return pd.DataFrame(rows, columns=GENE_SPAN_COLUMNS)


def ncbi_symbol_synonyms(path: str | os.PathLike[str], tax_id: str = "9606") -> pd.DataFrame:
    """Alias → official symbol pairs from an NCBI ``gene_info`` file (plain or gzip).

    Parameters
    ----------
    path
        NCBI gene_info table (header line starting with ``#tax_id``).
    tax_id
        Organism to keep (human by default).

    Returns
    -------
    pandas.DataFrame
        Columns ``alias, official_symbol``; one row per (alias, symbol) pair, sorted; an alias
        equal to its own symbol, ``-`` (no synonyms) and empty aliases are dropped.

    Raises
    ------
    forge.io.InputFormatError
        Missing ``#tax_id``, ``Symbol`` or ``Synonyms`` column, or no rows for ``tax_id``.
    """
    with _open_text(path) as handle:
        table = pd.read_csv(handle, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    table.columns = [c.lstrip("#") for c in table.columns]
    missing = [c for c in ("tax_id", "Symbol", "Synonyms") if c not in table.columns]
    if missing:
        raise InputFormatError(
            f"{Path(path)}: missing column(s) {', '.join(missing)}; expected an NCBI gene_info table "
            f"(found {', '.join(table.columns[:8])})"
        )
    table = table.loc[table["tax_id"] == tax_id, ["Symbol", "Synonyms"]]
    if table.empty:
        raise InputFormatError(f"{Path(path)}: no genes with tax_id {tax_id}")
    pairs = table.assign(alias=table["Synonyms"].str.split("|")).explode("alias")
    pairs["alias"] = pairs["alias"].str.strip()
    pairs = pairs.rename(columns={"Symbol": "official_symbol"})
    keep = pairs["alias"].ne("") & pairs["alias"].ne("-") & pairs["alias"].ne(pairs["official_symbol"])
    result = pairs.loc[keep, SYNONYM_COLUMNS].drop_duplicates()
    return result.sort_values(SYNONYM_COLUMNS, kind="stable").reset_index(drop=True)
