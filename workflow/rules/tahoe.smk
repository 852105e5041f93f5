# Tahoe-100M pseudo-bulk (FORGE_METHOD section 5): one streaming job per plate, a combine
# step (alias mapping, samples, QC), then voom of DMSO and treated samples separately.
TAHOE = config["tahoe"]
TAHOE_OUT = f"{PROCESSED}/tahoe"
TAHOE_PLATE_FILE = (
    "tahoe/plate{plate}_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad"
)
TAHOE_PLATE_OUT = f"{TAHOE_OUT}/plates/plate{{plate}}"
# Inputs of the combine step: every plate's tables, the synonyms, optionally the cohort
# counts whose genes are the reference of the gene-mapping report.
TAHOE_COMBINE_INPUTS = {
    kind: expand(f"{TAHOE_PLATE_OUT}.{suffix}", plate=TAHOE["plates"])
    for kind, suffix in [
        ("counts", "counts.parquet"),
        ("samples", "samples.tsv"),
        ("qc", "qc.tsv"),
    ]
}
TAHOE_COMBINE_INPUTS["synonyms"] = raw_file("symbol_synonyms.csv")
if TAHOE["gene_reference"] == "cohort":
    TAHOE_COMBINE_INPUTS["reference"] = f"{PROCESSED}/counts.parquet"


rule tahoe_pseudobulk_plate:
    input:
        h5ad=lambda wildcards: raw_file(TAHOE_PLATE_FILE.format(plate=wildcards.plate)),
    output:
        counts=f"{TAHOE_PLATE_OUT}.counts.parquet",
        samples=f"{TAHOE_PLATE_OUT}.samples.tsv",
        qc=f"{TAHOE_PLATE_OUT}.qc.tsv",
    log:
        f"{LOGS}/tahoe/pseudobulk_plate{{plate}}.log",
    benchmark:
        f"{BENCH}/tahoe/pseudobulk_plate{{plate}}.tsv"
    wildcard_constraints:
        plate=r"\d+",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=memory(3000),
        runtime=minutes(180),
    params:
        drug=TAHOE["drug"],
        control=TAHOE["control"],
        pass_filter=TAHOE["pass_filter"],
        chunk_rows=TAHOE["chunk_rows"],
        qc=TAHOE["qc"],
    script:
        "../scripts/tahoe_pseudobulk_plate.py"


rule tahoe_combine:
    input:
        unpack(lambda wildcards: TAHOE_COMBINE_INPUTS),
    output:
        counts=f"{TAHOE_OUT}/pseudobulk_counts.parquet",
        samples=f"{TAHOE_OUT}/samples.tsv",
        gene_mapping=f"{TAHOE_OUT}/gene_mapping.tsv",
        qc=f"{TAHOE_OUT}/qc.tsv",
    log:
        f"{LOGS}/tahoe/combine.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000, per_input_mb=4),
        runtime=minutes(10),
    params:
        min_cells=TAHOE["min_cells"],
    script:
        "../scripts/tahoe_combine.py"


rule tahoe_voom:
    input:
        counts=f"{TAHOE_OUT}/pseudobulk_counts.parquet",
        samples=f"{TAHOE_OUT}/samples.tsv",
    output:
        dmso=f"{TAHOE_OUT}/expression_dmso.parquet",
        treated=f"{TAHOE_OUT}/expression_treated.parquet",
    log:
        f"{LOGS}/tahoe/voom.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=6),
        runtime=minutes(30),
    params:
        control=TAHOE["control"],
    script:
        "../scripts/tahoe_voom.py"


# Fig. 5b: the single cells of each Tahoe-validated pair's best-responding lines (by the pair's
# response strength), read row by row from the plates, and their scanpy UMAP.
rule tahoe_single_cells:
    input:
        plates=[
            raw_file(TAHOE_PLATE_FILE.format(plate=plate)) for plate in TAHOE["plates"]
        ],
        strength=f"{RESULTS}/validation/tahoe/{{pair}}/response_strength.tsv",
    output:
        cells=f"{RESULTS}/validation/tahoe/{{pair}}/single_cells.tsv",
        lines=f"{RESULTS}/validation/tahoe/{{pair}}/single_cell_lines.tsv",
        h5ad=f"{RESULTS}/validation/tahoe/{{pair}}/single_cells.h5ad",
    log:
        f"{LOGS}/tahoe_single_cells/{{pair}}.log",
    benchmark:
        f"{BENCH}/tahoe_single_cells/{{pair}}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        # the plates' per-cell obs vectors and the selected cells, not the plates' matrices
        mem_mb=memory(3000),
        runtime=minutes(60),
    params:
        settings=TAHOE["single_cells"],
        drug=TAHOE["drug"],
        control=TAHOE["control"],
        pass_filter=TAHOE["pass_filter"],
        qc=TAHOE["qc"],
        chunk_rows=TAHOE["chunk_rows"],
    script:
        "../scripts/tahoe_single_cells.py"


if config["stages"]["tahoe"]:
    STAGE_TARGETS.extend(
        [
            f"{TAHOE_OUT}/pseudobulk_counts.parquet",
            f"{TAHOE_OUT}/samples.tsv",
            f"{TAHOE_OUT}/gene_mapping.tsv",
            f"{TAHOE_OUT}/qc.tsv",
            f"{TAHOE_OUT}/expression_dmso.parquet",
            f"{TAHOE_OUT}/expression_treated.parquet",
        ]
    )
