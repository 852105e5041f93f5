checkpoint select_pairs:
    input:
        unpack(pair_selection_inputs),
    output:
        f"{RESULTS}/pairs.tsv",
    log:
        f"{LOGS}/select_pairs.log",
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=5),
        runtime=minutes(10),
    params:
        auto=config["pairs"]["auto"],
        min_cell_lines=config["pairs"]["min_cell_lines"],
    script:
        "../scripts/select_pairs.py"


rule prepare_pair:
    input:
        unpack(prepare_pair_inputs),
    output:
        split=f"{RESULTS}/pairs/{{pair}}/split.tsv",
        genes=f"{RESULTS}/pairs/{{pair}}/genes.tsv",
        dropped=f"{RESULTS}/pairs/{{pair}}/dropped.tsv",
        # the pair's slices of the cohort, read by the later per-pair jobs
        expression=f"{RESULTS}/pairs/{{pair}}/expression.parquet",
        outputs=f"{RESULTS}/pairs/{{pair}}/observed_outputs.parquet",
    log:
        f"{LOGS}/prepare_pair/{{pair}}.log",
    priority: MODELLING_FIRST
    group:
        "pair_prepare"
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=5),
        runtime=minutes(10),
    params:
        split=config["split"],
        genes=config["genes"],
        # what runs on the split later, so a too small split is refused here: only the values
        # that decide it (a change of k_grid or of the baselines' seed does not rerun this rule)
        requirements=SPLIT_REQUIREMENT_SETTINGS,
        kinds=config["model"]["kinds"],
    script:
        "../scripts/prepare_pair.py"


rule tune_pair:
    input:
        **PAIR_SLICES,
        pairs=f"{RESULTS}/pairs.tsv",
        split=f"{RESULTS}/pairs/{{pair}}/split.tsv",
        genes=f"{RESULTS}/pairs/{{pair}}/genes.tsv",
    output:
        curve=f"{RESULTS}/pairs/{{pair}}/tuning_curve.tsv",
        cv=f"{RESULTS}/pairs/{{pair}}/cross_validation.tsv",
        chosen=f"{RESULTS}/pairs/{{pair}}/hyperparameters.json",
    log:
        f"{LOGS}/tune_pair/{{pair}}.log",
    benchmark:
        f"{BENCH}/tune_pair/{{pair}}.tsv"
    priority: MODELLING_FIRST
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=5),
        runtime=minutes(120),
    params:
        # the solver settings and seed (not replicates or kinds, which only training reads)
        model=MODEL_FIT_SETTINGS,
        tuning=config["tuning"],
    script:
        "../scripts/tune_pair.py"


rule train_pair:
    input:
        **PAIR_SLICES,
        **cross_validated_choice(),
        pairs=f"{RESULTS}/pairs.tsv",
        split=f"{RESULTS}/pairs/{{pair}}/split.tsv",
        genes=f"{RESULTS}/pairs/{{pair}}/genes.tsv",
        # the tuning stage's choice, only when cross-validation makes it (else training does not wait for the curve)
    output:
        models=directory(f"{RESULTS}/models/{{pair}}"),
    log:
        f"{LOGS}/train_pair/{{pair}}.log",
    benchmark:
        f"{BENCH}/train_pair/{{pair}}.tsv"
    priority: MODELLING_FIRST
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=5),
        runtime=minutes(120),
    params:
        model=config["model"],
    script:
        "../scripts/train_pair.py"


# Joint models of the further latent dimensions that the validation stage checks (validation.k),
# with every replicate (seed + b): trained here, in the training stage, not inside validation.
rule train_pair_k:
    input:
        **cross_validated_choice(),
        **PAIR_SLICES,
        pairs=f"{RESULTS}/pairs.tsv",
        split=f"{RESULTS}/pairs/{{pair}}/split.tsv",
        genes=f"{RESULTS}/pairs/{{pair}}/genes.tsv",
    output:
        models=directory(f"{RESULTS}/models_k/{{pair}}/k{{k}}"),
    log:
        f"{LOGS}/train_pair_k/{{pair}}_k{{k}}.log",
    benchmark:
        f"{BENCH}/train_pair_k/{{pair}}_k{{k}}.tsv"
    wildcard_constraints:
        k=r"\d+",
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=5),
        runtime=minutes(120),
    params:
        model=config["model"],
    script:
        "../scripts/train_pair_k.py"


rule baselines_pair:
    input:
        **PAIR_SLICES,
        samples=f"{PROCESSED}/samples.tsv",
        pairs=f"{RESULTS}/pairs.tsv",
        split=f"{RESULTS}/pairs/{{pair}}/split.tsv",
        genes=f"{RESULTS}/pairs/{{pair}}/genes.tsv",
    output:
        predictions=f"{RESULTS}/pairs/{{pair}}/baseline_predictions.tsv",
        settings=f"{RESULTS}/pairs/{{pair}}/baseline_settings.tsv",
        ridge=f"{RESULTS}/pairs/{{pair}}/ridge_model.json",
    log:
        f"{LOGS}/baselines_pair/{{pair}}.log",
    benchmark:
        f"{BENCH}/baselines_pair/{{pair}}.tsv"
    priority: MODELLING_FIRST
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=5),
        runtime=minutes(60),
    params:
        baselines=config["baselines"],
    script:
        "../scripts/baselines_pair.py"


rule evaluate_pair:
    input:
        **PAIR_SLICES,
        samples=f"{PROCESSED}/samples.tsv",
        pairs=f"{RESULTS}/pairs.tsv",
        split=f"{RESULTS}/pairs/{{pair}}/split.tsv",
        models=f"{RESULTS}/models/{{pair}}",
        baselines=f"{RESULTS}/pairs/{{pair}}/baseline_predictions.tsv",
    output:
        metrics=f"{RESULTS}/pairs/{{pair}}/metrics.tsv",
        comparison=f"{RESULTS}/pairs/{{pair}}/comparison.tsv",
        scores=f"{RESULTS}/pairs/{{pair}}/benefit_scores.tsv",
        effects=f"{RESULTS}/pairs/{{pair}}/gene_effects.tsv",
        top_genes=f"{RESULTS}/pairs/{{pair}}/top_genes.tsv",
        concordance=f"{RESULTS}/pairs/{{pair}}/effect_concordance.tsv",
        group_tests=f"{RESULTS}/pairs/{{pair}}/score_group_tests.tsv",
        missing=f"{RESULTS}/pairs/{{pair}}/missing_genes.tsv",
        predictions=f"{RESULTS}/pairs/{{pair}}/predictions.tsv",
    log:
        f"{LOGS}/evaluate_pair/{{pair}}.log",
    priority: MODELLING_FIRST
    group:
        "pair_downstream"
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=5),
        runtime=minutes(30),
    params:
        max_missing_fraction=config["scoring"]["max_missing_fraction"],
    script:
        "../scripts/evaluate_pair.py"


rule compare_pairs:
    input:
        pairs=f"{RESULTS}/pairs.tsv",
        metrics=per_pair(f"{RESULTS}/pairs/{{pair}}/metrics.tsv"),
        comparison=per_pair(f"{RESULTS}/pairs/{{pair}}/comparison.tsv"),
        concordance=per_pair(f"{RESULTS}/pairs/{{pair}}/effect_concordance.tsv"),
    output:
        # shown in the report as tables by rule report_table (REPORT_TABLES, common.smk)
        metrics=f"{RESULTS}/metrics.tsv",
        comparison=f"{RESULTS}/comparison.tsv",
        concordance=f"{RESULTS}/effect_concordance.tsv",
        concordance_test=f"{RESULTS}/effect_concordance_test.tsv",
    log:
        f"{LOGS}/compare_pairs.log",
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=minutes(10),
    script:
        "../scripts/compare_pairs.py"


rule score_cohort:
    input:
        models=f"{RESULTS}/models/{{pair}}",
        expression=cohort_to_score,
    output:
        scores=f"{RESULTS}/scores/{{pair}}/{{cohort}}.tsv",
        missing=f"{RESULTS}/scores/{{pair}}/{{cohort}}.missing_genes.tsv",
        # each model gene's cohort mean and sd beside the training ones (what cohort scaling changes)
        shift=f"{RESULTS}/scores/{{pair}}/{{cohort}}.platform_shift.tsv",
    log:
        f"{LOGS}/score_cohort/{{pair}}/{{cohort}}.log",
    group:
        "pair_downstream"
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000, per_input_mb=5),
        runtime=minutes(10),
    params:
        kind=lambda wildcards: config["scoring"]["cohorts"][wildcards.cohort]["kind"],
        scaling=lambda wildcards: config["scoring"]["cohorts"][wildcards.cohort][
            "scaling"
        ],
        weights=lambda wildcards: config["scoring"]["cohorts"][wildcards.cohort][
            "weights"
        ],
        min_cohort_size=config["scoring"]["min_cohort_size"],
        max_missing_fraction=config["scoring"]["max_missing_fraction"],
    script:
        "../scripts/score_cohort.py"
