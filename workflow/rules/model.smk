checkpoint select_pairs:
    input:
        unpack(pair_selection_inputs),
    output:
        "results/pairs.tsv",
    log:
        "logs/select_pairs.log",
    conda:
        "../../envs/model.yaml"
    params:
        auto=config["pairs"]["auto"],
        min_cell_lines=config["pairs"]["min_cell_lines"],
    script:
        "../scripts/select_pairs.py"


rule prepare_pair:
    input:
        unpack(prepare_pair_inputs),
    output:
        split="results/pairs/{pair}/split.tsv",
        genes="results/pairs/{pair}/genes.tsv",
        dropped="results/pairs/{pair}/dropped.tsv",
    log:
        "logs/prepare_pair/{pair}.log",
    conda:
        "../../envs/model.yaml"
    params:
        split=config["split"],
        genes=config["genes"],
    script:
        "../scripts/prepare_pair.py"


rule tune_pair:
    input:
        **COHORT_MATRICES,
        pairs="results/pairs.tsv",
        split="results/pairs/{pair}/split.tsv",
        genes="results/pairs/{pair}/genes.tsv",
    output:
        curve="results/pairs/{pair}/tuning_curve.tsv",
        cv="results/pairs/{pair}/cross_validation.tsv",
        chosen="results/pairs/{pair}/hyperparameters.json",
    log:
        "logs/tune_pair/{pair}.log",
    benchmark:
        "benchmarks/runs/tune_pair/{pair}.tsv"
    conda:
        "../../envs/model.yaml"
    threads: 1
    params:
        model=config["model"],
        tuning=config["tuning"],
    script:
        "../scripts/tune_pair.py"


rule train_pair:
    input:
        **COHORT_MATRICES,
        pairs="results/pairs.tsv",
        split="results/pairs/{pair}/split.tsv",
        genes="results/pairs/{pair}/genes.tsv",
        chosen="results/pairs/{pair}/hyperparameters.json",
    output:
        models=directory("results/models/{pair}"),
    log:
        "logs/train_pair/{pair}.log",
    benchmark:
        "benchmarks/runs/train_pair/{pair}.tsv"
    conda:
        "../../envs/model.yaml"
    threads: 1
    params:
        model=config["model"],
    script:
        "../scripts/train_pair.py"


rule baselines_pair:
    input:
        **COHORT_MATRICES,
        samples=f"{PROCESSED}/samples.tsv",
        pairs="results/pairs.tsv",
        split="results/pairs/{pair}/split.tsv",
        genes="results/pairs/{pair}/genes.tsv",
    output:
        predictions="results/pairs/{pair}/baseline_predictions.tsv",
        settings="results/pairs/{pair}/baseline_settings.tsv",
        ridge="results/pairs/{pair}/ridge_model.json",
    log:
        "logs/baselines_pair/{pair}.log",
    benchmark:
        "benchmarks/runs/baselines_pair/{pair}.tsv"
    conda:
        "../../envs/model.yaml"
    threads: 1
    params:
        baselines=config["baselines"],
    script:
        "../scripts/baselines_pair.py"


rule evaluate_pair:
    input:
        **COHORT_MATRICES,
        samples=f"{PROCESSED}/samples.tsv",
        pairs="results/pairs.tsv",
        split="results/pairs/{pair}/split.tsv",
        models="results/models/{pair}",
        baselines="results/pairs/{pair}/baseline_predictions.tsv",
    output:
        metrics="results/pairs/{pair}/metrics.tsv",
        comparison="results/pairs/{pair}/comparison.tsv",
        scores="results/pairs/{pair}/benefit_scores.tsv",
        effects="results/pairs/{pair}/gene_effects.tsv",
        top_genes="results/pairs/{pair}/top_genes.tsv",
        concordance="results/pairs/{pair}/effect_concordance.tsv",
        group_tests="results/pairs/{pair}/score_group_tests.tsv",
        missing="results/pairs/{pair}/missing_genes.tsv",
        predictions="results/pairs/{pair}/predictions.tsv",
    log:
        "logs/evaluate_pair/{pair}.log",
    conda:
        "../../envs/model.yaml"
    params:
        max_missing_fraction=config["scoring"]["max_missing_fraction"],
    script:
        "../scripts/evaluate_pair.py"


rule compare_pairs:
    input:
        pairs="results/pairs.tsv",
        metrics=per_pair("results/pairs/{pair}/metrics.tsv"),
        comparison=per_pair("results/pairs/{pair}/comparison.tsv"),
        concordance=per_pair("results/pairs/{pair}/effect_concordance.tsv"),
    output:
        metrics=report(
            "results/metrics.tsv",
            caption="../report/metrics.rst",
            category="Model performance",
        ),
        comparison=report(
            "results/comparison.tsv",
            caption="../report/comparison.rst",
            category="Model performance",
        ),
        concordance="results/effect_concordance.tsv",
        concordance_test="results/effect_concordance_test.tsv",
    log:
        "logs/compare_pairs.log",
    conda:
        "../../envs/model.yaml"
    script:
        "../scripts/compare_pairs.py"


rule score_cohort:
    input:
        models="results/models/{pair}",
        expression=cohort_to_score,
    output:
        scores="results/scores/{pair}/{cohort}.tsv",
        missing="results/scores/{pair}/{cohort}.missing_genes.tsv",
    log:
        "logs/score_cohort/{pair}/{cohort}.log",
    conda:
        "../../envs/model.yaml"
    params:
        kind=lambda wildcards: config["scoring"]["cohorts"][wildcards.cohort]["kind"],
        max_missing_fraction=config["scoring"]["max_missing_fraction"],
    script:
        "../scripts/score_cohort.py"
