# External validation (FORGE_METHOD §5): Tahoe-100M and PDX scored with each pair's reported
# model; the paper's tests for the paper's, a balanced and the ridge baseline's score; one
# summary across cohorts and pairs. Library: scripts/forge/validation/ (run.py drives the rules).
VALIDATION_OUT = f"{RESULTS}/validation"
# robustness tables of each cohort and pair (scripts/forge/validation/robustness.py)
ROBUSTNESS_TABLES = ("robustness", "gene_dropout", "gene_weights", "weight_tests")
TAHOE_VALIDATION_TABLES = (
    "scores",
    "missing_genes",
    "response_strength",
    "unmatched",
    "tests",
    "de",
    "de_summary",
    "enrichment",
    "platform_shift",
) + ROBUSTNESS_TABLES
PDX_VALIDATION_TABLES = (
    "scores",
    "missing_genes",
    "tests",
    "mrecist",
    "sensitivity",
    "platform_shift",
) + ROBUSTNESS_TABLES


rule validate_tahoe_pair:
    input:
        unpack(validation_enrichment_inputs),
        dmso=f"{TAHOE_OUT}/expression_dmso.parquet",
        treated=f"{TAHOE_OUT}/expression_treated.parquet",
        counts=f"{TAHOE_OUT}/pseudobulk_counts.parquet",
        samples=f"{TAHOE_OUT}/samples.tsv",
        pairs=f"{RESULTS}/pairs.tsv",
        models=f"{RESULTS}/models/{{pair}}",
        models_k=validated_k_dirs,
        pair_expression=PAIR_SLICES["expression"],
        split=f"{RESULTS}/pairs/{{pair}}/split.tsv",
        ridge=f"{RESULTS}/pairs/{{pair}}/ridge_model.json",
    output:
        **{
            name: f"{VALIDATION_OUT}/tahoe/{{pair}}/{name}.tsv"
            for name in TAHOE_VALIDATION_TABLES
        },
    log:
        f"{LOGS}/validate_tahoe_pair/{{pair}}.log",
    benchmark:
        f"{BENCH}/validate_tahoe_pair/{{pair}}.tsv"
    group:
        "pair_validation"
    conda:
        "../../envs/validation.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=8),
        runtime=minutes(30),
    params:
        settings=validation_settings("tahoe"),
        control=config["tahoe"]["control"],
        enrichment=config["analysis"]["enrichment"],
    script:
        "../scripts/validate_tahoe_pair.py"


rule validate_pdx_pair:
    input:
        expression=f"{PDX_PROCESSED}/expression.parquet",
        response=f"{PDX_PROCESSED}/response.tsv",
        grid=f"{PDX_PROCESSED}/sensitivity_expression.parquet",
        pairs=f"{RESULTS}/pairs.tsv",
        models=f"{RESULTS}/models/{{pair}}",
        models_k=validated_k_dirs,
        pair_expression=PAIR_SLICES["expression"],
        split=f"{RESULTS}/pairs/{{pair}}/split.tsv",
        ridge=f"{RESULTS}/pairs/{{pair}}/ridge_model.json",
    output:
        **{
            name: f"{VALIDATION_OUT}/pdx/{{pair}}/{name}.tsv"
            for name in PDX_VALIDATION_TABLES
        },
    log:
        f"{LOGS}/validate_pdx_pair/{{pair}}.log",
    group:
        "pair_validation"
    conda:
        "../../envs/validation.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000, per_input_mb=8),
        runtime=minutes(20),
    params:
        settings=validation_settings("pdx"),
        default=(
            config["pdx"]["pseudocounts"]["fragments"],
            config["pdx"]["pseudocounts"]["read_length"],
        ),
    script:
        "../scripts/validate_pdx_pair.py"


rule summarise_validation:
    input:
        unpack(validation_tables),
    output:
        # shown in the report as a table by rule report_table (REPORT_TABLES, common.smk)
        summary=f"{VALIDATION_OUT}/summary.tsv",
        composition=f"{VALIDATION_OUT}/score_composition.tsv",
        robustness=f"{VALIDATION_OUT}/robustness.tsv",
        # in the report as a table page (REPORT_TABLES in common.smk)
        robustness_summary=f"{VALIDATION_OUT}/robustness_summary.tsv",
    log:
        f"{LOGS}/summarise_validation.log",
    conda:
        "../../envs/validation.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=minutes(10),
    script:
        "../scripts/summarise_validation.py"
