rule demo_raw_data:
    output:
        [f"{RAW_DEMO}/{name}" for name in DEMO_FILES],
    log:
        f"{LOGS}/demo_raw_data.log",
    benchmark:
        f"{BENCH}/demo_raw_data.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000),
        runtime=minutes(10),
    params:
        code=code_version("demo_raw_data.py"),
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
            expression=COHORT_FILES["expression"],
            dependency=COHORT_FILES["dependency"],
            response=COHORT_FILES["response"],
            samples=COHORT_FILES["samples"],
            drug_targets=COHORT_FILES["drug_targets"],
            dropped=COHORT_FILES["dropped"],
        log:
            f"{LOGS}/import_prepared.log",
        conda:
            "../../envs/data.yaml"
        threads: 1
        resources:
            mem_mb=memory(4000, per_input_mb=4),
            runtime=minutes(30),
        params:
            code=code_version("import_prepared.py"),
        script:
            "../scripts/import_prepared.py"

else:

    rule build_cohort:
        input:
            unpack(cohort_raw_inputs),
        output:
            counts=COHORT_FILES["counts"],
            dependency=COHORT_FILES["dependency"],
            response=COHORT_FILES["response"],
            drug_targets=COHORT_FILES["drug_targets"],
            samples=COHORT_FILES["samples"],
            id_mapping=f"{PROCESSED}/id_mapping.tsv",
            dropped=COHORT_FILES["dropped"],
            gene_mapping=f"{PROCESSED}/gene_mapping.tsv",
        log:
            f"{LOGS}/build_cohort.log",
        benchmark:
            f"{BENCH}/build_cohort.tsv"
        conda:
            "../../envs/data.yaml"
        threads: 1
        resources:
            mem_mb=memory(8000, per_input_mb=3),
            runtime=minutes(60),
        params:
            code=code_version("build_cohort.py"),
            non_integer_counts=config["data"]["non_integer_counts"],
        script:
            "../scripts/build_cohort.py"

    rule voom_expression:
        input:
            counts=rules.build_cohort.output.counts,
        output:
            expression=COHORT_FILES["expression"],
            weights=f"{PROCESSED}/voom_weights.parquet",
            dropped_genes=f"{PROCESSED}/voom_dropped_genes.tsv",
        log:
            f"{LOGS}/voom_expression.log",
        benchmark:
            f"{BENCH}/voom_expression.tsv"
        conda:
            "../../envs/data.yaml"
        threads: 1
        resources:
            mem_mb=memory(4000, per_input_mb=6),
            runtime=minutes(60),
        params:
            code=code_version("voom_expression.py"),
            gene_universe=config["normalisation"]["gene_universe"],
        script:
            "../scripts/voom_expression.py"


rule expression_array:
    input:
        expression=COHORT_FILES["expression"],
    output:
        **EXPRESSION_ARRAY,
    log:
        f"{LOGS}/expression_array.log",
    benchmark:
        f"{BENCH}/expression_array.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=6),
        runtime=minutes(20),
    params:
        code=code_version("expression_array.py"),
    script:
        "../scripts/expression_array.py"
