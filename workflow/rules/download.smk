# Download rules for the real sources (config section `download`, schema in
# workflow/schemas/sections/download.schema.yaml).
# Library code: scripts/forge/sources/download/ (HTTP, registry, CREAMMIST crawl, plan) and
# scripts/forge/sources/annotation.py (GTF and gene_info conversions). File names and
# directories come from scripts/forge/layout.py, as for the rules that read these files.
from forge.layout import (
    COHORT_RAW_FILES,
    CREAMMIST_CACHE,
    GENE_SPANS,
    PDX_WORKBOOK,
    RAW,
    downloaded_in,
    downloaded_path,
    enrichr_library_file,
    tahoe_metadata_file,
    tahoe_plate_file,
)
import forge.sources.download as dl

DL = config["download"]
DL_PLAN = dl.planned_downloads(DL)
DL_GTF = dl.gencode_gtf_path(DL)
DL_GENE_INFO = dl.gene_info_path(DL)

# The default target fetches every file of the enabled sources (rule download_all's inputs,
# common.smk: stage_outputs).
if config["data"]["source"] == "download":
    if DL["offline"]:
        # Air-gapped: fail at parse time, naming every missing file and where to put it.
        _dl_missing = dl.missing_offline(p for s in DL["sources"] for p in DL_PLAN[s])
        if _dl_missing:
            raise dl.OfflineError(dl.offline_message(_dl_missing))


# Downloads run on the submitting host (network access); conversions may run anywhere.
localrules:
    download_all,
    download_depmap,
    download_creammist,
    download_drug_targets,
    download_tahoe_plate,
    download_tahoe_metadata,
    download_pdx_workbook,
    download_gencode_gtf,
    download_ncbi_gene_info,
    download_enrichr,


wildcard_constraints:
    depmap_file=dl.alternation(DL["depmap"]["files"]),
    tahoe_plate=r"\d+",
    tahoe_metadata=dl.alternation(DL["tahoe"]["metadata"]),
    enrichr_library=r"[A-Za-z0-9_.-]+",


rule download_all:
    input:
        [p.path for s in DL["sources"] for p in DL_PLAN[s]],
    output:
        touch(f"{RAW}/.download_all.done"),
    log:
        "logs/download/download_all.log",


rule download_depmap:
    output:
        downloaded_in("depmap", "{depmap_file}"),
    log:
        "logs/download/depmap/{depmap_file}.log",
    conda:
        "../../envs/data.yaml"
    params:
        release=DL["depmap"]["release"],
        figshare_api=DL["depmap"]["figshare_api"],
        figshare_article=DL["depmap"]["figshare_article"],
    script:
        "../scripts/download_depmap.py"


rule download_creammist:
    output:
        ic50=downloaded_path(COHORT_RAW_FILES["ic50"]),
        cell_lines=downloaded_path(COHORT_RAW_FILES["creammist_cell_lines"]),
    log:
        "logs/download/creammist.log",
    conda:
        "../../envs/data.yaml"
    params:
        api=DL["creammist"]["api"],
        release=DL["creammist"]["release"],
        drugs=DL["creammist"]["drugs"],
        dataset=DL["creammist"]["dataset"],
        ic50_field=DL["creammist"]["ic50_field"],
        cell_lines_endpoint=DL["creammist"]["cell_lines_endpoint"],
        cache=CREAMMIST_CACHE,
    script:
        "../scripts/download_creammist.py"


rule download_drug_targets:
    output:
        downloaded_path(COHORT_RAW_FILES["drug_targets"]),
    log:
        "logs/download/drug_targets.log",
    conda:
        "../../envs/data.yaml"
    params:
        source="drug_targets",
        release=DL["drug_targets"]["release"],
        url=DL["drug_targets"]["url"],
        sha256=DL["drug_targets"]["sha256"],
        validate="drug_targets",
    script:
        "../scripts/download_url.py"


rule download_tahoe_plate:
    output:
        downloaded_path(tahoe_plate_file("{tahoe_plate}")),
    log:
        "logs/download/tahoe/plate{tahoe_plate}.log",
    conda:
        "../../envs/data.yaml"
    params:
        source="tahoe",
        release=DL["tahoe"]["release"],
        url=lambda wildcards: dl.tahoe_url(DL["tahoe"], plate=wildcards.tahoe_plate),
    script:
        "../scripts/download_url.py"


rule download_tahoe_metadata:
    output:
        downloaded_path(tahoe_metadata_file("{tahoe_metadata}")),
    log:
        "logs/download/tahoe/metadata/{tahoe_metadata}.log",
    conda:
        "../../envs/data.yaml"
    params:
        source="tahoe",
        release=DL["tahoe"]["release"],
        url=lambda wildcards: dl.tahoe_url(
            DL["tahoe"], metadata=wildcards.tahoe_metadata
        ),
    script:
        "../scripts/download_url.py"


rule download_pdx_workbook:
    output:
        downloaded_path(PDX_WORKBOOK),
    log:
        "logs/download/pdx_workbook.log",
    conda:
        "../../envs/data.yaml"
    params:
        source="pdx",
        release=DL["pdx"]["release"],
        url=DL["pdx"]["url"],
        sha256=DL["pdx"]["sha256"],
    script:
        "../scripts/download_url.py"


rule download_gencode_gtf:
    output:
        DL_GTF,
    log:
        "logs/download/gencode_gtf.log",
    conda:
        "../../envs/data.yaml"
    params:
        source="gencode",
        release=DL["gencode"]["release"],
        url=DL["gencode"]["url"],
        md5sums_url=DL["gencode"]["md5sums_url"],
    script:
        "../scripts/download_url.py"


rule gencode_gene_spans:
    input:
        DL_GTF,
    output:
        downloaded_path(GENE_SPANS),
    log:
        "logs/download/gencode_gene_spans.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=memory(4000),
        runtime=minutes(30),
    params:
        code=code_version("gencode_gene_spans.py"),
    script:
        "../scripts/gencode_gene_spans.py"


rule download_ncbi_gene_info:
    output:
        DL_GENE_INFO,
    log:
        "logs/download/ncbi_gene_info.log",
    conda:
        "../../envs/data.yaml"
    params:
        source="synonyms",
        release=DL["synonyms"]["release"],
        url=DL["synonyms"]["url"],
    script:
        "../scripts/download_url.py"


rule symbol_synonyms:
    input:
        DL_GENE_INFO,
    output:
        downloaded_path(COHORT_RAW_FILES["synonyms"]),
    log:
        "logs/download/symbol_synonyms.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000),
        runtime=minutes(10),
    params:
        code=code_version("symbol_synonyms.py"),
        tax_id=DL["synonyms"]["tax_id"],
    script:
        "../scripts/symbol_synonyms.py"


rule download_enrichr:
    output:
        downloaded_path(enrichr_library_file("{enrichr_library}")),
    log:
        "logs/download/enrichr/{enrichr_library}.log",
    conda:
        "../../envs/data.yaml"
    params:
        source="enrichr",
        release=DL["enrichr"]["release"],
        url=lambda wildcards: DL["enrichr"]["url"].format(
            library=wildcards.enrichr_library
        ),
        validate="gmt",
    script:
        "../scripts/download_url.py"
