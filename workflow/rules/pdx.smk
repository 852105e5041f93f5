# PDX validation data (Gao et al. 2015; docs/METHOD.md §5): workbook → pseudo-counts, voom
# logCPM and response tables of one tumour type and treatment (config section `pdx`).
PDX = config["pdx"]
PDX_SHEET_CSVS = {
    "fpkm": PDX["files"]["fpkm_csv"],
    "raw_data": PDX["files"]["raw_data_csv"],
    "curve_metrics": PDX["files"]["curve_metrics_csv"],
}
if any(PDX_SHEET_CSVS.values()) and not all(PDX_SHEET_CSVS.values()):
    raise ValueError(
        "invalid configuration:\n  pdx.files: fpkm_csv, raw_data_csv and curve_metrics_csv "
        "must be given together"
    )
if any(PDX_SHEET_CSVS.values()) and PDX["files"]["workbook"]:
    raise ValueError(
        "invalid configuration:\n  pdx.files: give either workbook or the three sheet CSVs"
    )

# Inputs depend on the configuration only: the three sheet CSVs or the workbook, plus the
# gene spans and synonyms (default: the demo or downloaded raw files).
PDX_INPUTS = (
    dict(PDX_SHEET_CSVS)
    if all(PDX_SHEET_CSVS.values())
    else {"workbook": PDX["files"]["workbook"] or raw_file(PDX_WORKBOOK)}
)
PDX_INPUTS["gene_spans"] = PDX["files"]["gene_spans"] or raw_file(
    "gencode_v19_gene_spans.csv"
)
PDX_INPUTS["synonyms"] = PDX["files"]["synonyms"] or raw_file("symbol_synonyms.csv")


rule pdx_process:
    input:
        **PDX_INPUTS,
    output:
        pseudocounts=f"{PROCESSED}/pdx/pseudocounts.parquet",
        expression=f"{PROCESSED}/pdx/expression.parquet",
        response=f"{PROCESSED}/pdx/response.tsv",
        sensitivity=f"{PROCESSED}/pdx/sensitivity.tsv",
        sensitivity_expression=f"{PROCESSED}/pdx/sensitivity_expression.parquet",
        gene_mapping=f"{PROCESSED}/pdx/gene_mapping.tsv",
        dropped=f"{PROCESSED}/pdx/dropped.tsv",
    log:
        f"{LOGS}/pdx_process.log",
    benchmark:
        f"{BENCH}/pdx_process.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=memory(4000),
        runtime=minutes(30),
    params:
        code=code_version("pdx_process.py"),
        settings=PDX,
    script:
        "../scripts/pdx_process.py"
