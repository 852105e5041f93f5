# Tahoe-100M pseudo-bulk (docs/METHOD.md §5): one streaming job per plate, a combine
# step (alias mapping, samples, QC), then voom of DMSO and treated samples separately.
TAHOE = config["tahoe"]


rule tahoe_pseudobulk_plate:
    input:
        h5ad=lambda wildcards: raw_file(tahoe_plate_file(wildcards.plate)),
    output:
        counts=f"{PROCESSED}/tahoe/plates/plate{{plate}}.counts.parquet",
        samples=f"{PROCESSED}/tahoe/plates/plate{{plate}}.samples.tsv",
        qc=f"{PROCESSED}/tahoe/plates/plate{{plate}}.qc.tsv",
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
        code=code_version("tahoe_pseudobulk_plate.py"),
        drug=TAHOE["drug"],
        control=TAHOE["control"],
        pass_filter=TAHOE["pass_filter"],
        chunk_rows=TAHOE["chunk_rows"],
        qc=TAHOE["qc"],
    script:
        "../scripts/tahoe_pseudobulk_plate.py"


rule tahoe_combine:
    input:
        # every plate's tables, the synonyms, optionally the cohort counts whose genes are the
        # reference of the gene-mapping report
        **{
            kind: expand(path, plate=TAHOE["plates"])
            for kind, path in rules.tahoe_pseudobulk_plate.output.items()
        },
        **(
            dict(reference=COHORT_FILES["counts"])
            if TAHOE["gene_reference"] == "cohort"
            else {}
        ),
        synonyms=raw_file("symbol_synonyms.csv"),
    output:
        counts=f"{PROCESSED}/tahoe/pseudobulk_counts.parquet",
        samples=f"{PROCESSED}/tahoe/samples.tsv",
        gene_mapping=f"{PROCESSED}/tahoe/gene_mapping.tsv",
        qc=f"{PROCESSED}/tahoe/qc.tsv",
    log:
        f"{LOGS}/tahoe/combine.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000, per_input_mb=4),
        runtime=minutes(10),
    params:
        code=code_version("tahoe_combine.py"),
        min_cells=TAHOE["min_cells"],
    script:
        "../scripts/tahoe_combine.py"


rule tahoe_voom:
    input:
        counts=rules.tahoe_combine.output.counts,
        samples=rules.tahoe_combine.output.samples,
    output:
        dmso=f"{PROCESSED}/tahoe/expression_dmso.parquet",
        treated=f"{PROCESSED}/tahoe/expression_treated.parquet",
    log:
        f"{LOGS}/tahoe/voom.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=6),
        runtime=minutes(30),
    params:
        code=code_version("tahoe_voom.py"),
        control=TAHOE["control"],
    script:
        "../scripts/tahoe_voom.py"
