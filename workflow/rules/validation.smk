# External validation (docs/METHOD.md §5): Tahoe-100M and PDX scored with each pair's reported
# model; the paper's tests for the paper's, a balanced and the ridge baseline's score; one
# summary across cohorts and pairs. Library: scripts/forge/validation/ (run.py drives the rules).
rule validate_tahoe_pair:
    input:
        unpack(validation_enrichment_inputs),
        dmso=rules.tahoe_voom.output.dmso,
        treated=rules.tahoe_voom.output.treated,
        counts=rules.tahoe_combine.output.counts,
        samples=rules.tahoe_combine.output.samples,
        pairs=rules.select_pairs.output[0],
        models=rules.train_pair.output.models,
        models_k=validated_k_dirs,
        pair_expression=PAIR_SLICES["expression"],
        split=rules.prepare_pair.output.split,
        ridge=rules.baselines_pair.output.ridge,
    output:
        **{
            name: LAYOUT.validation_table("tahoe", name)
            for name in VALIDATION_TABLES["tahoe"]
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
        code=code_version("validate_tahoe_pair.py"),
        settings=validation_settings("tahoe"),
        control=config["tahoe"]["control"],
        enrichment=config["analysis"]["enrichment"],
    script:
        "../scripts/validate_tahoe_pair.py"


rule validate_pdx_pair:
    input:
        expression=rules.pdx_process.output.expression,
        response=rules.pdx_process.output.response,
        grid=rules.pdx_process.output.sensitivity_expression,
        pairs=rules.select_pairs.output[0],
        models=rules.train_pair.output.models,
        models_k=validated_k_dirs,
        pair_expression=PAIR_SLICES["expression"],
        split=rules.prepare_pair.output.split,
        ridge=rules.baselines_pair.output.ridge,
    output:
        **{
            name: LAYOUT.validation_table("pdx", name)
            for name in VALIDATION_TABLES["pdx"]
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
        code=code_version("validate_pdx_pair.py"),
        settings=validation_settings("pdx"),
        default=(
            config["pdx"]["pseudocounts"]["fragments"],
            config["pdx"]["pseudocounts"]["read_length"],
        ),
    script:
        "../scripts/validate_pdx_pair.py"


# Fig. 5b: the single cells of each Tahoe-validated pair's best-responding lines (by the pair's
# response strength), read row by row from the plates, and their scanpy UMAP.
rule tahoe_single_cells:
    input:
        plates=[
            raw_file(tahoe_plate_file(plate)) for plate in config["tahoe"]["plates"]
        ],
        strength=rules.validate_tahoe_pair.output.response_strength,
    output:
        cells=LAYOUT.table("tahoe_single_cells"),
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
        code=code_version("tahoe_single_cells.py"),
        settings=config["tahoe"]["single_cells"],
        drug=config["tahoe"]["drug"],
        control=config["tahoe"]["control"],
        pass_filter=config["tahoe"]["pass_filter"],
        qc=config["tahoe"]["qc"],
        chunk_rows=config["tahoe"]["chunk_rows"],
    script:
        "../scripts/tahoe_single_cells.py"


rule summarise_validation:
    input:
        unpack(validation_tables),
    output:
        # shown in the report as a table by rule report_table (REPORT_TABLES, common.smk)
        summary=LAYOUT.table("validation_summary"),
        composition=f"{RESULTS}/validation/score_composition.tsv",
        robustness=f"{RESULTS}/validation/robustness.tsv",
        # in the report as a table page (REPORT_TABLES in common.smk)
        robustness_summary=LAYOUT.table("robustness_summary"),
    log:
        f"{LOGS}/summarise_validation.log",
    conda:
        "../../envs/validation.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=minutes(10),
    params:
        code=code_version("summarise_validation.py"),
    script:
        "../scripts/summarise_validation.py"
