"""Where every file of FORGE lives: raw inputs, the processed cohort, a run's results and tables.

One module, read by the workflow's rules (``workflow/rules/common.smk``), the download plan
(:mod:`forge.sources.download`), the demo generator, the figure registry and the validation stage,
so that a file name is written down once. Paths are relative to the working directory of the run
(the directory ``snakemake`` runs in); nothing here touches the file system.

Layout of a run ``<run>`` (``run_name`` in the configuration, default the cohort name)::

    resources/raw/<source>/<file>           downloaded inputs, shared by every run
    resources/raw/demo/<run>/<file>         the demo generator's files (same names)
    resources/processed/<run>/...           the cohort built from the raw inputs
    results/<run>/...                       tables, models, figures, report pages
    logs/<run>/..., benchmarks/runs/<run>/  per-job logs and benchmark tables
"""

from __future__ import annotations

from dataclasses import dataclass

#: Root of the downloaded raw inputs.
RAW = "resources/raw"

#: File name of a Tahoe-100M plate (``plate`` is its number), under ``<raw>/tahoe/`` in both the
#: downloaded and the demo layout, and in the release's ``h5ad/`` folder online.
TAHOE_PLATE = "plate{plate}_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad"

#: The Gao 2015 PDX supplementary workbook.
PDX_WORKBOOK = "nm.3954-S2.xlsx"

#: Gene spans (GENCODE v19) of the PDX pseudo-counts, converted from the downloaded GTF.
GENE_SPANS = "gencode_v19_gene_spans.csv"

#: Raw file name → its source directory under ``resources/raw/`` when downloaded (the demo
#: generator writes the same names into ``resources/raw/demo/<run>/``). Tahoe plates and Enrichr
#: libraries are named by :func:`tahoe_plate_file` and :func:`enrichr_library_file`.
RAW_SOURCE_OF: dict[str, str] = {
    "OmicsExpressionRNASeQCGeneCountProfile.csv": "depmap",
    "OmicsProfiles.csv": "depmap",
    "Model.csv": "depmap",
    "CRISPRGeneDependency.csv": "depmap",
    "creammist_ic50.csv": "creammist",
    "creammist_cell_lines.csv": "creammist",
    "drug_targets.csv": "annotation",
    "symbol_synonyms.csv": "annotation",
    GENE_SPANS: "annotation",
    PDX_WORKBOOK: "pdx",
}

#: The raw DepMap/CREAMMIST/annotation files of a cohort, keyed as the build_cohort rule's inputs.
COHORT_RAW_FILES: dict[str, str] = {
    "counts": "OmicsExpressionRNASeQCGeneCountProfile.csv",
    "profiles": "OmicsProfiles.csv",
    "models": "Model.csv",
    "dependency": "CRISPRGeneDependency.csv",
    "ic50": "creammist_ic50.csv",
    "creammist_cell_lines": "creammist_cell_lines.csv",
    "drug_targets": "drug_targets.csv",
    "synonyms": "symbol_synonyms.csv",
}

#: The CREAMMIST crawl's response cache (downloaded layout).
CREAMMIST_CACHE = f"{RAW}/creammist/cache"

#: The download manifest (one row per downloaded file, with checksums).
DOWNLOAD_MANIFEST = f"{RAW}/MANIFEST.tsv"

#: The sha256 of each file's first download (re-downloads must match it).
DOWNLOAD_CHECKSUMS = f"{RAW}/CHECKSUMS.tsv"


def tahoe_plate_file(plate: int | str) -> str:
    """Raw name of a Tahoe plate (``tahoe/<file>``), as :func:`RunLayout.raw_file` takes it."""
    return f"tahoe/{TAHOE_PLATE.format(plate=plate)}"


def tahoe_metadata_file(name: str) -> str:
    """Raw name of a Tahoe-100M metadata file (``tahoe/metadata/<name>``; downloaded, read by no rule)."""
    return f"tahoe/metadata/{name}"


def enrichr_library_file(library: str) -> str:
    """Raw name of an Enrichr gene-set library (``<library>.gmt``)."""
    return f"{library}.gmt"


def downloaded_path(name: str, raw: str = RAW) -> str:
    """Where the download rules put the raw file ``name`` (``resources/raw/<source>/<name>``).

    ``name`` is a key of :data:`RAW_SOURCE_OF`, a :func:`tahoe_plate_file` name (``tahoe/…``) or
    an Enrichr library file (``*.gmt``).
    """
    if name.startswith("tahoe/"):
        return f"{raw}/{name}"
    if name.endswith(".gmt"):
        return f"{raw}/enrichr/{name}"
    try:
        return f"{raw}/{RAW_SOURCE_OF[name]}/{name}"
    except KeyError:
        raise KeyError(f"{name!r} is not a raw file of FORGE (known: {', '.join(RAW_SOURCE_OF)})") from None


def downloaded_in(directory: str, name: str, raw: str = RAW) -> str:
    """Where a download rule puts a file the configuration names (``resources/raw/<directory>/<name>``).

    For the DepMap files (``depmap``) and the GENCODE GTF and NCBI gene_info the annotation
    tables are converted from (``annotation``); ``directory`` is a source directory of
    :data:`RAW_SOURCE_OF`.
    """
    if directory not in set(RAW_SOURCE_OF.values()):
        raise KeyError(f"{directory!r} is not a raw source directory ({', '.join(sorted(set(RAW_SOURCE_OF.values())))})")
    return f"{raw}/{directory}/{name}"


#: Result tables read across stages (figures, report, validation summary): key → path under
#: ``results/<run>/`` (``{pair}``: the pair's name, ``{cohort}``: tahoe or pdx).
RESULT_TABLES: dict[str, str] = {
    # per pair (modelling)
    "benefit_scores": "pairs/{pair}/benefit_scores.tsv",
    "metrics": "pairs/{pair}/metrics.tsv",
    "comparison": "pairs/{pair}/comparison.tsv",
    "split": "pairs/{pair}/split.tsv",
    "tuning_curve": "pairs/{pair}/tuning_curve.tsv",
    "gene_effects": "pairs/{pair}/gene_effects.tsv",
    "top_genes": "pairs/{pair}/top_genes.tsv",
    "effect_concordance": "pairs/{pair}/effect_concordance.tsv",
    "score_group_tests": "pairs/{pair}/score_group_tests.tsv",
    "baseline_predictions": "pairs/{pair}/baseline_predictions.tsv",
    "predictions": "pairs/{pair}/predictions.tsv",
    "who_benefits": "pairs/{pair}/who_benefits.tsv",
    # per pair (analysis)
    "embedding": "pairs/{pair}/embedding.tsv",
    "clusters": "pairs/{pair}/clusters.tsv",
    "cluster_summary": "pairs/{pair}/cluster_summary.tsv",
    "cluster_lineages": "pairs/{pair}/cluster_lineages.tsv",
    "sensitive_clusters": "pairs/{pair}/sensitive_clusters.tsv",
    "de_summary": "pairs/{pair}/de_summary.tsv",
    "de_score_groups": "pairs/{pair}/de_score_groups.tsv",
    "de_sensitive_clusters": "pairs/{pair}/de_sensitive_clusters.tsv",
    "enrichment": "pairs/{pair}/enrichment.tsv",
    # across pairs
    "pairs": "pairs.tsv",
    "all_comparison": "comparison.tsv",
    "all_metrics": "metrics.tsv",
    "all_concordance": "effect_concordance.tsv",
    "concordance_test": "effect_concordance_test.tsv",
    "umap": "embedding_umap.tsv",
    # validation, per cohort and pair
    "validation_scores": "validation/{cohort}/{pair}/scores.tsv",
    "validation_tests": "validation/{cohort}/{pair}/tests.tsv",
    "tahoe_strength": "validation/tahoe/{pair}/response_strength.tsv",
    "tahoe_de": "validation/tahoe/{pair}/de.tsv",
    "tahoe_single_cells": "validation/tahoe/{pair}/single_cells.tsv",
    "pdx_mrecist": "validation/pdx/{pair}/mrecist.tsv",
    "pdx_sensitivity": "validation/pdx/{pair}/sensitivity.tsv",
    "validation_summary": "validation/summary.tsv",
    # robustness of the validation (forge.validation.robustness)
    "validation_robustness": "validation/{cohort}/{pair}/robustness.tsv",
    "gene_weights": "validation/{cohort}/{pair}/gene_weights.tsv",
    "weight_tests": "validation/{cohort}/{pair}/weight_tests.tsv",
    "robustness_summary": "validation/robustness_summary.tsv",
    # provenance and figure index
    "versions": "provenance/versions.tsv",
    "inputs": "provenance/inputs.tsv",
    "figure_index": "figures/index.tsv",
}

#: Robustness tables of each validated cohort and pair (forge.validation.robustness).
ROBUSTNESS_TABLES: tuple[str, ...] = ("robustness", "gene_dropout", "gene_weights", "weight_tests")
#: Tables of one pair's Tahoe validation (``validation/tahoe/<pair>/<name>.tsv``).
TAHOE_VALIDATION_TABLES: tuple[str, ...] = (
    "scores", "missing_genes", "response_strength", "unmatched", "tests", "de", "de_summary",
    "enrichment", "platform_shift",
) + ROBUSTNESS_TABLES
#: Tables of one pair's PDX validation (``validation/pdx/<pair>/<name>.tsv``).
PDX_VALIDATION_TABLES: tuple[str, ...] = (
    "scores", "missing_genes", "tests", "mrecist", "sensitivity", "platform_shift",
) + ROBUSTNESS_TABLES
#: Validation tables per cohort.
VALIDATION_TABLES: dict[str, tuple[str, ...]] = {"tahoe": TAHOE_VALIDATION_TABLES, "pdx": PDX_VALIDATION_TABLES}


@dataclass(frozen=True)
class RunLayout:
    """The roots of one run (``run`` is the configuration's run name)."""

    run: str

    @property
    def results(self) -> str:
        return f"results/{self.run}"

    @property
    def processed(self) -> str:
        return f"resources/processed/{self.run}"

    @property
    def logs(self) -> str:
        return f"logs/{self.run}"

    @property
    def benchmarks(self) -> str:
        return f"benchmarks/runs/{self.run}"

    @property
    def raw_demo(self) -> str:
        """Where the demo generator writes this run's raw files."""
        return f"{RAW}/demo/{self.run}"

    def raw_file(self, name: str, source: str) -> str:
        """Path of the raw file ``name`` when the cohort comes from ``source`` (``data.source``:
        demo → the run's generated files, otherwise the downloaded layout)."""
        if source == "demo":
            return f"{self.raw_demo}/{name}"
        return downloaded_path(name)

    def table(self, key: str, **fields: str) -> str:
        """Path of the result table ``key`` (:data:`RESULT_TABLES`); unfilled fields stay
        ``{pair}``/``{cohort}`` patterns for Snakemake's wildcards."""
        pattern = RESULT_TABLES[key]
        return f"{self.results}/" + pattern.format(**{"pair": "{pair}", "cohort": "{cohort}", **fields})

    def validation_table(self, cohort: str, name: str, pair: str = "{pair}") -> str:
        """Path of one table of a pair's validation on ``cohort``."""
        if name not in VALIDATION_TABLES[cohort]:
            raise KeyError(f"{name!r} is not a {cohort} validation table ({', '.join(VALIDATION_TABLES[cohort])})")
        return f"{self.results}/validation/{cohort}/{pair}/{name}.tsv"
