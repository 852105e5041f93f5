checkpoint select_pairs:
    input:
        unpack(pair_selection_inputs),
    output:
        LAYOUT.table("pairs"),
    log:
        f"{LOGS}/select_pairs.log",
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=5),
        runtime=minutes(10),
    params:
        code=code_version("select_pairs.py"),
        auto=config["pairs"]["auto"],
        min_cell_lines=config["pairs"]["min_cell_lines"],
    script:
        "../scripts/select_pairs.py"


rule prepare_pair:
    input:
        unpack(prepare_pair_inputs),
    output:
        **PAIR_SLICES,
        split=LAYOUT.table("split"),
        genes=f"{RESULTS}/pairs/{{pair}}/genes.tsv",
        dropped=f"{RESULTS}/pairs/{{pair}}/dropped.tsv",
        # the pair's slices of the cohort, read by the later per-pair jobs
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
        code=code_version("prepare_pair.py"),
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
        pairs=rules.select_pairs.output[0],
        split=rules.prepare_pair.output.split,
        genes=rules.prepare_pair.output.genes,
    output:
        curve=LAYOUT.table("tuning_curve"),
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
        code=code_version("tune_pair.py"),
        # the solver settings and seed (not replicates or kinds, which only training reads)
        model=MODEL_FIT_SETTINGS,
        tuning=config["tuning"],
    script:
        "../scripts/tune_pair.py"


rule train_pair:
    input:
        **PAIR_SLICES,
        # the tuning stage's choice, only when cross-validation makes it (else training does not wait for the curve)
        **cross_validated_choice(),
        pairs=LAYOUT.table("pairs"),
        split=LAYOUT.table("split"),
        genes=f"{RESULTS}/pairs/{{pair}}/genes.tsv",
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
        code=code_version("train_pair.py"),
        model=config["model"],
    script:
        "../scripts/train_pair.py"


# Joint models of the further latent dimensions that the validation stage checks (validation.k),
# with every replicate (seed + b): trained here, in the training stage, not inside validation.
rule train_pair_k:
    input:
        **cross_validated_choice(),
        **PAIR_SLICES,
        pairs=rules.select_pairs.output[0],
        split=rules.prepare_pair.output.split,
        genes=rules.prepare_pair.output.genes,
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
        code=code_version("train_pair_k.py"),
        model=VALIDATION_K_MODEL_SETTINGS,
    script:
        "../scripts/train_pair_k.py"


rule baselines_pair:
    input:
        **PAIR_SLICES,
        samples=COHORT_FILES["samples"],
        pairs=rules.select_pairs.output[0],
        split=rules.prepare_pair.output.split,
        genes=rules.prepare_pair.output.genes,
    output:
        predictions=LAYOUT.table("baseline_predictions"),
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
        code=code_version("baselines_pair.py"),
        baselines=config["baselines"],
    script:
        "../scripts/baselines_pair.py"


rule evaluate_pair:
    input:
        **PAIR_SLICES,
        samples=COHORT_FILES["samples"],
        pairs=rules.select_pairs.output[0],
        split=rules.prepare_pair.output.split,
        models=rules.train_pair.output.models,
        baselines=rules.baselines_pair.output.predictions,
    output:
        metrics=LAYOUT.table("metrics"),
        comparison=LAYOUT.table("comparison"),
        scores=LAYOUT.table("benefit_scores"),
        effects=LAYOUT.table("gene_effects"),
        top_genes=LAYOUT.table("top_genes"),
        concordance=LAYOUT.table("effect_concordance"),
        group_tests=LAYOUT.table("score_group_tests"),
        missing=f"{RESULTS}/pairs/{{pair}}/missing_genes.tsv",
        predictions=LAYOUT.table("predictions"),
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
        code=code_version("evaluate_pair.py"),
        max_missing_fraction=config["scoring"]["max_missing_fraction"],
    script:
        "../scripts/evaluate_pair.py"


rule compare_pairs:
    input:
        pairs=rules.select_pairs.output[0],
        metrics=per_pair(rules.evaluate_pair.output.metrics),
        comparison=per_pair(rules.evaluate_pair.output.comparison),
        concordance=per_pair(rules.evaluate_pair.output.concordance),
    output:
        # shown in the report as tables by rule report_table (REPORT_TABLES, common.smk)
        metrics=LAYOUT.table("all_metrics"),
        comparison=LAYOUT.table("all_comparison"),
        concordance=LAYOUT.table("all_concordance"),
        concordance_test=LAYOUT.table("concordance_test"),
    log:
        f"{LOGS}/compare_pairs.log",
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=minutes(10),
    params:
        code=code_version("compare_pairs.py"),
    script:
        "../scripts/compare_pairs.py"


rule score_cohort:
    input:
        models=rules.train_pair.output.models,
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
        code=code_version("score_cohort.py"),
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
