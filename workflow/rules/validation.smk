# External validation (FORGE_METHOD §5): Tahoe-100M and PDX scored with each pair's reported
# model; the paper's tests for the paper's, a balanced and the ridge baseline's score; one
# summary across cohorts and pairs. Library: scripts/forge/validation/ (run.py drives the rules).
VALIDATION = config["validation"]
VALIDATION_OUT = "results/validation"
TAHOE_VALIDATION_TABLES = (
    "scores",
    "missing_genes",
    "response_strength",
    "unmatched",
    "tests",
    "de",
    "de_summary",
    "enrichment",
)
PDX_VALIDATION_TABLES = ("scores", "missing_genes", "tests", "mrecist", "sensitivity")


rule validate_tahoe_pair:
    input:
        unpack(validation_enrichment_inputs),
        dmso=f"{TAHOE_OUT}/expression_dmso.parquet",
        treated=f"{TAHOE_OUT}/expression_treated.parquet",
        counts=f"{TAHOE_OUT}/pseudobulk_counts.parquet",
        samples=f"{TAHOE_OUT}/samples.tsv",
        pairs="results/pairs.tsv",
        models="results/models/{pair}",
        scores="results/pairs/{pair}/benefit_scores.tsv",
        ridge="results/pairs/{pair}/ridge_model.json",
    output:
        **{
            name: f"{VALIDATION_OUT}/tahoe/{{pair}}/{name}.tsv"
            for name in TAHOE_VALIDATION_TABLES
        },
    log:
        "logs/validate_tahoe_pair/{pair}.log",
    benchmark:
        "benchmarks/runs/validate_tahoe_pair/{pair}.tsv"
    conda:
        "../../envs/validation.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(2000, 8 * input.size_mb),
        runtime=lambda wildcards, attempt: attempt * 30,
    params:
        settings=VALIDATION["tahoe"],
        control=config["tahoe"]["control"],
        enrichment=config["analysis"]["enrichment"],
    script:
        "../scripts/validate_tahoe_pair.py"


rule validate_pdx_pair:
    input:
        expression=f"{PDX_PROCESSED}/expression.parquet",
        response=f"{PDX_PROCESSED}/response.tsv",
        grid=f"{PDX_PROCESSED}/sensitivity_expression.parquet",
        pairs="results/pairs.tsv",
        models="results/models/{pair}",
        scores="results/pairs/{pair}/benefit_scores.tsv",
        ridge="results/pairs/{pair}/ridge_model.json",
    output:
        **{
            name: f"{VALIDATION_OUT}/pdx/{{pair}}/{name}.tsv"
            for name in PDX_VALIDATION_TABLES
        },
    log:
        "logs/validate_pdx_pair/{pair}.log",
    conda:
        "../../envs/validation.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(1000, 8 * input.size_mb),
        runtime=lambda wildcards, attempt: attempt * 20,
    params:
        settings=VALIDATION["pdx"],
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
        summary=report(
            f"{VALIDATION_OUT}/summary.tsv",
            caption="../report/validation_summary.rst",
            category="Validation",
        ),
        composition=f"{VALIDATION_OUT}/score_composition.tsv",
    log:
        "logs/summarise_validation.log",
    conda:
        "../../envs/validation.yaml"
    script:
        "../scripts/summarise_validation.py"
