"""Cohort building: raw DepMap + CREAMMIST + annotation files → one cohort keyed by ModelID.

Every source is parsed, harmonised and keyed by DepMap ModelID; everything removed on the way
is listed in ``Cohort.dropped`` and every gene symbol that changed in ``Cohort.gene_mapping``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forge.io import InputFormatError, write_parquet_matrix, write_tsv
from forge.sources import harmonise, parsers

log = logging.getLogger("forge.cohort")

SAMPLE_COLUMNS = parsers.MODEL_COLUMNS + ["has_expression", "has_dependency", "has_response"]
ID_MAPPING_COLUMNS = ["source", "source_name", "ModelID", "method"]


@dataclass
class Cohort:
    """Processed cohort tables (all keyed by DepMap ModelID)."""

    counts: pd.DataFrame
    dependency: pd.DataFrame
    response: pd.DataFrame
    drug_targets: pd.DataFrame
    samples: pd.DataFrame
    id_mapping: pd.DataFrame
    dropped: pd.DataFrame
    gene_mapping: pd.DataFrame


def _report(source: str, items, reason: str, detail) -> pd.DataFrame:
    items = [str(i) for i in items]
    if not items:
        return parsers.empty_dropped()
    return pd.DataFrame({"source": source, "item": items, "reason": reason, "detail": detail})


def _restrict_to_models(
    matrix: pd.DataFrame, known_models: set[str], source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    unknown = [m for m in matrix.index if m not in known_models]
    report = _report(source, unknown, "model_not_in_model_table", "ModelID absent from Model.csv")
    return matrix.loc[[m for m in matrix.index if m in known_models]], report


def build_cohort(
    counts_path: str | Path,
    profiles_path: str | Path,
    models_path: str | Path,
    dependency_path: str | Path,
    ic50_path: str | Path,
    drug_targets_path: str | Path,
    creammist_cell_lines_path: str | Path | None = None,
    synonyms_path: str | Path | None = None,
    non_integer_counts: str = "refuse",
) -> Cohort:
    """Parse, harmonise and key every source by ModelID.

    Parameters
    ----------
    counts_path, profiles_path, models_path, dependency_path
        DepMap OmicsExpressionRNASeQCGeneCountProfile.csv, OmicsProfiles.csv, Model.csv,
        CRISPRGeneDependency.csv.
    ic50_path
        CREAMMIST IC50 table (drugs × cell-line names).
    drug_targets_path
        Drug → comma-separated targets.
    creammist_cell_lines_path
        Optional CREAMMIST name → RRID table; without it, cell lines are matched by name only.
    synonyms_path
        Optional alias → official symbol table; gene columns of the counts and dependency
        matrices are mapped to current symbols and every non-trivial case is reported in
        ``gene_mapping``.
    non_integer_counts
        ``"refuse"`` (default) a count that is not a whole number, naming the file, ProfileID
        and gene; or ``"round"`` it and report each rounded gene in ``dropped``
        (config ``data.non_integer_counts``).

    Returns
    -------
    Cohort
        Tables described in the module docstring; ``dropped`` lists everything removed.
    """
    reports: list[pd.DataFrame] = []
    mappings: list[pd.DataFrame] = []

    models, report = parsers.read_models(models_path)
    reports.append(report)
    known_models = set(models["ModelID"])
    log.info("models: %d from %s", len(models), models_path)

    matrix, report = parsers.read_counts_matrix(counts_path, non_integer_counts)
    reports.append(report)
    profiles = parsers.read_profiles(profiles_path)
    profile_to_model, report = parsers.select_rna_profiles(profiles, matrix.index, source=Path(profiles_path).name)
    reports.append(report)
    counts = parsers.key_counts_by_model(matrix, profile_to_model)
    del matrix
    counts, report = _restrict_to_models(counts, known_models, Path(counts_path).name)
    reports.append(report)
    profile_to_model = profile_to_model[profile_to_model.isin(counts.index)]
    mappings.append(
        pd.DataFrame(
            {
                "source": Path(counts_path).name,
                "source_name": profile_to_model.index,
                "ModelID": profile_to_model.to_numpy(),
                "method": "profile",
            }
        )
    )
    if counts.empty:  # every later stage would run on an empty matrix
        raise InputFormatError(
            f"{counts_path}: no count profile is left after keying by ModelID ({len(profile_to_model)} profile(s) "
            f"chosen in {profiles_path}, none of a model in {models_path}); expected RNA profiles of the models "
            "(see dropped reasons profile_without_model / model_not_in_model_table)"
        )
    log.info("counts: %d models × %d genes", *counts.shape)

    dependency, report = parsers.read_dependency(dependency_path)
    reports.append(report)
    dependency, report = _restrict_to_models(dependency, known_models, Path(dependency_path).name)
    reports.append(report)
    dependency = dependency.sort_index()
    log.info("dependency: %d models × %d genes", *dependency.shape)

    gene_mapping = [GENE_MAPPING_EMPTY]
    if synonyms_path:
        synonyms = parsers.read_symbol_synonyms(synonyms_path)
        counts, table = map_matrix_symbols(counts, synonyms, Path(counts_path).name)
        gene_mapping.append(table)
        dependency, table = map_matrix_symbols(dependency, synonyms, Path(dependency_path).name)
        gene_mapping.append(table)

    ic50, report = parsers.read_ic50(ic50_path)
    reports.append(report)
    rrids = None
    if creammist_cell_lines_path:
        rrids = parsers.read_creammist_cell_lines(creammist_cell_lines_path)
        log.info("CREAMMIST RRIDs: %d from %s", len(rrids), creammist_cell_lines_path)
    mapping, unmapped = harmonise.map_cell_lines(list(ic50.index), models, rrids)
    mapping, duplicates = harmonise.resolve_duplicate_models(mapping)
    ic50_source = Path(ic50_path).name
    for table in (unmapped, duplicates):
        reports.append(
            pd.DataFrame({"source": ic50_source, "item": table["source_name"], "reason": table["reason"], "detail": table["detail"]})
        )
    response = ic50.loc[mapping["source_name"]]
    response.index = pd.Index(mapping["ModelID"].to_numpy(), name="ModelID")
    response = response.sort_index()
    mappings.append(mapping.assign(source=ic50_source)[ID_MAPPING_COLUMNS])
    log.info(
        "response: %d of %d CREAMMIST cell lines mapped (%s); %d drugs",
        len(mapping), len(ic50), mapping["method"].value_counts().to_dict(), response.shape[1],
    )

    if response.empty:
        raise InputFormatError(
            f"{ic50_path}: none of its {len(ic50)} cell lines maps to a DepMap model of {models_path} "
            f"(by RRID{' from ' + str(creammist_cell_lines_path) if creammist_cell_lines_path else ''} or by "
            "stripped name); expected CREAMMIST cell-line names such as 'A-549'"
        )
    complete = counts.index.intersection(dependency.index).intersection(response.index)
    if complete.empty:
        raise InputFormatError(
            f"no cell line has expression ({counts_path}: {len(counts)}), dependency ({dependency_path}: "
            f"{len(dependency)}) and IC50 ({ic50_path}: {len(response)} mapped) together; nothing could be modelled. "
            "Check that the files come from the same DepMap release and that the cell lines map (id_mapping.tsv)"
        )
    log.info("cell lines with expression, dependency and IC50: %d", len(complete))

    drug_targets, report = parsers.read_drug_targets(drug_targets_path)
    reports.append(report)

    counts.index.name = dependency.index.name = response.index.name = "ModelID"
    with_data = set(counts.index) | set(dependency.index) | set(response.index)
    samples = models.loc[models["ModelID"].isin(with_data), parsers.MODEL_COLUMNS].copy()
    samples["has_expression"] = samples["ModelID"].isin(counts.index)
    samples["has_dependency"] = samples["ModelID"].isin(dependency.index)
    samples["has_response"] = samples["ModelID"].isin(response.index)
    samples = samples.sort_values("ModelID").reset_index(drop=True)

    dropped = pd.concat([r for r in reports if len(r)] or [parsers.empty_dropped()], ignore_index=True)
    dropped = dropped[parsers.DROPPED_COLUMNS]
    id_mapping = pd.concat(mappings, ignore_index=True)[ID_MAPPING_COLUMNS]
    for reason, n in dropped["reason"].value_counts().items():
        log.info("dropped: %s × %d", reason, n)
    gene_mapping = pd.concat([t for t in gene_mapping if len(t)] or [GENE_MAPPING_EMPTY], ignore_index=True)
    return Cohort(counts, dependency, response, drug_targets, samples, id_mapping, dropped, gene_mapping)


GENE_MAPPING_EMPTY = pd.DataFrame(columns=["dataset", "symbol", "mapped_to", "status", "detail"])


def map_matrix_symbols(
    matrix: pd.DataFrame, synonyms: pd.DataFrame, dataset: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map a matrix's gene columns to current symbols and describe every non-trivial case.

    Status: ``renamed`` (alias or previous symbol replaced), ``not_in_synonym_table``
    (neither an official symbol nor a known alias: kept as it is, cannot be checked),
    and the reasons of :func:`harmonise.map_gene_symbols` (``ambiguous_alias``,
    ``collides_with_existing``: that column is dropped, the current one kept).
    """
    renamed, report = harmonise.rename_gene_columns(matrix, synonyms)
    original = [str(c) for c in matrix.columns]
    mapped, _ = harmonise.map_gene_symbols(original, synonyms)
    known = set(synonyms["official_symbol"]) | set(synonyms["alias"])
    rows = [
        (dataset, old, new, "renamed", "")
        for old, new in zip(original, mapped)
        if old != new and new in renamed.columns and old not in set(report["symbol"])
    ]
    rows += [(dataset, g, g, "not_in_synonym_table", "") for g in original if g not in known]
    rows += [
        (dataset, r.symbol, "", r.reason, r.detail) for r in report.itertuples()
    ]
    table = pd.DataFrame(rows, columns=GENE_MAPPING_EMPTY.columns)
    log.info("%s: %d gene symbols renamed, %d not in the synonym table, %d other cases",
             dataset, (table["status"] == "renamed").sum(),
             (table["status"] == "not_in_synonym_table").sum(), len(report))
    return renamed, table


def write_cohort(cohort: Cohort, paths: Mapping[str, str | Path]) -> None:
    """Write every table of ``cohort`` to its path in ``paths`` (keys as :class:`Cohort`'s fields; atomically)."""
    write_parquet_matrix(cohort.counts, paths["counts"])
    write_parquet_matrix(cohort.dependency, paths["dependency"])
    write_parquet_matrix(cohort.response, paths["response"])
    write_tsv(cohort.drug_targets, paths["drug_targets"])
    write_tsv(cohort.samples, paths["samples"])
    write_tsv(cohort.id_mapping, paths["id_mapping"])
    write_tsv(cohort.dropped, paths["dropped"])
    write_tsv(cohort.gene_mapping, paths["gene_mapping"])
