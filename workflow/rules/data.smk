rule demo_raw_data:
    output:
        [f"{RAW_DEMO}/{name}" for name in DEMO_FILES],
    log:
        "logs/demo_raw_data.log",
    benchmark:
        "benchmarks/runs/demo_raw_data.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        seed=config["data"]["demo"]["seed"],
        n_cell_lines=config["data"]["demo"]["n_cell_lines"],
        n_genes=config["data"]["demo"]["n_genes"],
        cells_per_condition=config["data"]["demo"]["cells_per_condition"],
    script:
        "../scripts/demo_raw_data.py"


if config["data"]["source"] == "prepared":

    rule import_prepared:
        input:
            **prepared_inputs(),
        output:
            expression=f"{PROCESSED}/expression.parquet",
            dependency=f"{PROCESSED}/dependency.parquet",
            response=f"{PROCESSED}/response.parquet",
            samples=f"{PROCESSED}/samples.tsv",
            drug_targets=f"{PROCESSED}/drug_targets.tsv",
            dropped=f"{PROCESSED}/dropped.tsv",
        log:
            f"logs/import_prepared/{COHORT}.log",
        conda:
            "../../envs/data.yaml"
        script:
            "../scripts/import_prepared.py"

else:

    rule build_cohort:
        input:
            unpack(cohort_raw_inputs),
        output:
            counts=f"{PROCESSED}/counts.parquet",
            dependency=f"{PROCESSED}/dependency.parquet",
            response=f"{PROCESSED}/response.parquet",
            drug_targets=f"{PROCESSED}/drug_targets.tsv",
            samples=f"{PROCESSED}/samples.tsv",
            id_mapping=f"{PROCESSED}/id_mapping.tsv",
            dropped=f"{PROCESSED}/dropped.tsv",
            gene_mapping=f"{PROCESSED}/gene_mapping.tsv",
        log:
            f"logs/build_cohort/{COHORT}.log",
        benchmark:
            f"benchmarks/runs/build_cohort/{COHORT}.tsv"
        conda:
            "../../envs/data.yaml"
        resources:
            mem_mb=8000,
        script:
            "../scripts/build_cohort.py"

    rule voom_expression:
        input:
            counts=f"{PROCESSED}/counts.parquet",
        output:
            expression=f"{PROCESSED}/expression.parquet",
            weights=f"{PROCESSED}/voom_weights.parquet",
            dropped_genes=f"{PROCESSED}/voom_dropped_genes.tsv",
        log:
            f"logs/voom_expression/{COHORT}.log",
        benchmark:
            f"benchmarks/runs/voom_expression/{COHORT}.tsv"
        conda:
            "../../envs/data.yaml"
        resources:
            mem_mb=8000,
        params:
            gene_universe=config["normalisation"]["gene_universe"],
        script:
            "../scripts/voom_expression.py"
