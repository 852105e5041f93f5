"""Identifier harmonisation: cell-line names → DepMap ModelIDs, gene aliases → official symbols.

Pure functions: no file access, every unmatched or ambiguous item is returned in a report table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

__all__ = [
    "CELL_LINE_DROP_COLUMNS",
    "MAPPING_COLUMNS",
    "map_cell_lines",
    "map_gene_symbols",
    "normalise_cell_line_name",
    "rename_gene_columns",
    "resolve_duplicate_models",
]

MAPPING_COLUMNS = ["source_name", "ModelID", "method"]
CELL_LINE_DROP_COLUMNS = ["source_name", "reason", "detail"]
SYMBOL_REPORT_COLUMNS = ["symbol", "reason", "detail"]

_NON_ALPHANUMERIC = re.compile(r"[^A-Z0-9]")


def normalise_cell_line_name(name: object) -> str:
    """Upper-case a cell-line name and drop every character that is not A–Z or 0–9.

    ``"NCI-H1975"`` → ``"NCIH1975"``, ``"A-549"`` → ``"A549"``; missing values give ``""``.

    Parameters
    ----------
    name
        Cell-line name (any type; missing values allowed).

    Returns
    -------
    str
        Normalised name, possibly empty.
    """
    if name is None or (isinstance(name, float) and name != name):
        return ""
    return _NON_ALPHANUMERIC.sub("", str(name).upper())


def _clean_rrid(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def map_cell_lines(
    source_names: Sequence[str],
    models: pd.DataFrame,
    source_rrids: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map source cell-line names to DepMap ModelIDs.

    Matching order, per distinct source name:

    1. RRID, when the source name has one and it occurs in ``models["RRID"]``. If that RRID
       belongs to several models, the normalised name is used to choose among them only
       (method ``"rrid+name"``); if that does not single one out → ``"ambiguous_rrid"``.
    2. Normalised name against the normalised ``StrippedCellLineName`` and ``CellLineName``
       (if present) of every model (method ``"name"``). A normalised name shared by two or
       more models is ambiguous and excluded (``"ambiguous_name"``; the detail lists the
       candidate ModelIDs), e.g. CREAMMIST "T.T" and "TT" both normalise to "TT", which is
       the esophageal line T.T (ACH-000561) and the thyroid line TT (ACH-001321).
    3. Otherwise ``"no_match"``.

    Several source names may map to the same ModelID; see :func:`resolve_duplicate_models`.

    Parameters
    ----------
    source_names
        Names as spelled by the source (duplicates are processed once).
    models
        DepMap model table with ``ModelID``, ``StrippedCellLineName``, ``RRID`` and
        optionally ``CellLineName``.
    source_rrids
        Optional source name → RRID (Cellosaurus accession); empty values are ignored.

    Returns
    -------
    mapping
        Columns :data:`MAPPING_COLUMNS`, one row per mapped source name, in input order.
    dropped
        Columns :data:`CELL_LINE_DROP_COLUMNS`, one row per unmapped source name.
    """
    for column in ("ModelID", "StrippedCellLineName", "RRID"):
        if column not in models.columns:
            raise KeyError(f"models table lacks column {column!r}; expected ModelID, StrippedCellLineName, RRID")
    source_rrids = dict(source_rrids) if source_rrids is not None else {}

    model_ids = models["ModelID"].astype(str).tolist()
    model_rrids = [_clean_rrid(r) for r in models["RRID"]]
    # Each model is reachable under the normalised form of its StrippedCellLineName and of its
    # CellLineName. DepMap spells colliding stripped names out ("KMHDASH2" for KMH-2, "TDOTT" for
    # T.T), so the stripped names alone hide collisions such as KMH-2 vs KM-H2 or T.T vs TT.
    name_columns = ["StrippedCellLineName"] + (["CellLineName"] if "CellLineName" in models.columns else [])
    names_of_model: dict[str, set[str]] = {m: set() for m in model_ids}
    for column in name_columns:
        for model_id, name in zip(model_ids, models[column]):
            if normalised := normalise_cell_line_name(name):
                names_of_model[model_id].add(normalised)
    models_by_name: dict[str, list[str]] = {}
    models_by_rrid: dict[str, list[str]] = {}
    for model_id, rrid in zip(model_ids, model_rrids):
        for name in sorted(names_of_model[model_id]):
            models_by_name.setdefault(name, []).append(model_id)
        if rrid:
            models_by_rrid.setdefault(rrid, []).append(model_id)

    mapped_rows: list[tuple[str, str, str]] = []
    dropped_rows: list[tuple[str, str, str]] = []
    for source_name in dict.fromkeys(str(n) for n in source_names):
        normalised = normalise_cell_line_name(source_name)
        rrid = _clean_rrid(source_rrids.get(source_name))
        rrid_candidates = models_by_rrid.get(rrid, []) if rrid else []
        if len(rrid_candidates) == 1:
            mapped_rows.append((source_name, rrid_candidates[0], "rrid"))
            continue
        if len(rrid_candidates) > 1:
            by_name = [m for m in rrid_candidates if normalised in names_of_model[m]]
            if len(by_name) == 1:
                mapped_rows.append((source_name, by_name[0], "rrid+name"))
            else:
                dropped_rows.append(
                    (source_name, "ambiguous_rrid", f"RRID {rrid} belongs to {', '.join(sorted(rrid_candidates))}")
                )
            continue
        name_candidates = models_by_name.get(normalised, []) if normalised else []
        if len(name_candidates) == 1:
            mapped_rows.append((source_name, name_candidates[0], "name"))
        elif len(name_candidates) > 1:
            dropped_rows.append(
                (source_name, "ambiguous_name", f"normalised name {normalised} matches {', '.join(sorted(name_candidates))}")
            )
        else:
            detail = f"normalised name {normalised!r} not among model names"
            if rrid:
                detail += f"; RRID {rrid} not among model RRIDs"
            dropped_rows.append((source_name, "no_match", detail))

    mapping = pd.DataFrame(mapped_rows, columns=MAPPING_COLUMNS)
    dropped = pd.DataFrame(dropped_rows, columns=CELL_LINE_DROP_COLUMNS)
    return mapping, dropped


def resolve_duplicate_models(mapping: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep one source name per ModelID: the first by sort order; report the others.

    Two source names resolving to one model (e.g. a renamed cell line measured twice) are
    treated as ambiguous duplicates rather than averaged, so values are never silently merged.

    Parameters
    ----------
    mapping
        Output of :func:`map_cell_lines`.

    Returns
    -------
    mapping
        At most one row per ModelID (order of the input preserved).
    dropped
        Columns :data:`CELL_LINE_DROP_COLUMNS`, reason ``"duplicate_model"``.
    """
    ordered = mapping.sort_values("source_name", kind="stable")
    is_repeat = ordered["ModelID"].duplicated(keep="first")
    kept_name = ordered.loc[~is_repeat].set_index("ModelID")["source_name"]
    repeats = ordered.loc[is_repeat]
    dropped = pd.DataFrame(
        {
            "source_name": repeats["source_name"].to_numpy(),
            "reason": "duplicate_model",
            "detail": [
                f"also maps to {model_id} (via {method}); kept {kept_name[model_id]!r}"
                for model_id, method in zip(repeats["ModelID"], repeats["method"])
            ],
        },
        columns=CELL_LINE_DROP_COLUMNS,
    )
    kept = mapping.loc[~mapping.index.isin(repeats.index)]
    return kept.reset_index(drop=True), dropped


def map_gene_symbols(
    symbols: Sequence[str],
    synonyms: pd.DataFrame,
    reference: Iterable[str] | None = None,
) -> tuple[list[str], pd.DataFrame]:
    """Replace alias / previous gene symbols by their official symbol.

    A symbol is left untouched when it is itself current (an official symbol in
    ``synonyms`` or a member of ``reference``). Otherwise it is replaced when its alias has
    exactly one official symbol; aliases pointing to several official symbols are left as
    they are and reported (``"ambiguous_alias"``).

    Parameters
    ----------
    symbols
        Symbols to map (e.g. columns of an expression matrix).
    synonyms
        Table with ``alias`` and ``official_symbol``.
    reference
        Optional list of symbols that count as known (e.g. the training gene set or a gene
        universe). When given, symbols that are neither in it nor mappable into it are
        reported (``"not_in_reference"``).

    Returns
    -------
    mapped
        Same length and order as ``symbols``.
    report
        Columns ``symbol, reason, detail`` for ambiguous, unmapped and colliding symbols
        (``"collides_with_existing"``: the mapped symbol is already present in ``symbols``).
    """
    reference_set = set(reference) if reference is not None else None
    official = set(synonyms["official_symbol"])
    targets = synonyms.groupby("alias", sort=False)["official_symbol"].agg(lambda s: sorted(set(s)))
    alias_to_official: dict[str, list[str]] = targets.to_dict()
    present = set(symbols)

    mapped: list[str] = []
    report: list[tuple[str, str, str]] = []
    for symbol in symbols:
        is_current = symbol in official or (reference_set is not None and symbol in reference_set)
        candidates = alias_to_official.get(symbol, [])
        if reference_set is not None and len(candidates) > 1:
            # A reference list can disambiguate an alias with several official symbols.
            in_reference = [c for c in candidates if c in reference_set]
            candidates = in_reference if len(in_reference) == 1 else candidates
        if is_current or not candidates:
            mapped.append(symbol)
            if not is_current and reference_set is not None:
                report.append((symbol, "not_in_reference", "no official symbol or alias in the reference list"))
            continue
        if len(candidates) > 1:
            mapped.append(symbol)
            report.append((symbol, "ambiguous_alias", f"alias of {', '.join(candidates)}; left unchanged"))
            continue
        new_symbol = candidates[0]
        mapped.append(new_symbol)
        if new_symbol in present:
            report.append((symbol, "collides_with_existing", f"maps to {new_symbol}, which is already present"))
        if reference_set is not None and new_symbol not in reference_set:
            report.append((symbol, "not_in_reference", f"maps to {new_symbol}, which is not in the reference list"))
    return mapped, pd.DataFrame(report, columns=SYMBOL_REPORT_COLUMNS)


def rename_gene_columns(
    matrix: pd.DataFrame,
    synonyms: pd.DataFrame,
    reference: Iterable[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply :func:`map_gene_symbols` to the columns of a samples × genes matrix.

    When an alias maps onto a symbol that is already a column, the existing (current)
    column is kept and the alias column is dropped (reported as ``"collides_with_existing"``).

    Parameters
    ----------
    matrix
        Samples × genes.
    synonyms, reference
        As in :func:`map_gene_symbols`.

    Returns
    -------
    matrix
        Renamed matrix with unique columns.
    report
        Report of :func:`map_gene_symbols`.
    """
    original = [str(c) for c in matrix.columns]
    mapped, report = map_gene_symbols(original, synonyms, reference)
    current = set(original)
    keep = [not (new != old and new in current) for old, new in zip(original, mapped)]
    renamed = matrix.loc[:, keep].copy()
    renamed.columns = [m for m, k in zip(mapped, keep) if k]
    # Two different aliases of one official symbol: keep the first, report the rest.
    repeated = renamed.columns.duplicated(keep="first")
    if repeated.any():
        extra = pd.DataFrame(
            {"symbol": [o for o, k in zip(original, keep) if k][i], "reason": "collides_with_existing",
             "detail": f"maps to {renamed.columns[i]}, already taken by another alias"}
            for i in map(int, repeated.nonzero()[0])
        )
        report = pd.concat([report, extra], ignore_index=True)
        renamed = renamed.loc[:, ~repeated]
    return renamed, report
