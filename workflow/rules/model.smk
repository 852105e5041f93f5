rule prepare_pair:
    input:
        expression=f"{PROCESSED}/expression.parquet",
        dependency=f"{PROCESSED}/dependency.parquet",
        response=f"{PROCESSED}/response.parquet",
        samples=f"{PROCESSED}/samples.tsv",
    output:
        split="results/pairs/{pair}/split.tsv",
        genes="results/pairs/{pair}/genes.tsv",
        dropped="results/pairs/{pair}/dropped.tsv",
    log:
        "logs/prepare_pair/{pair}.log",
    conda:
        "../../envs/model.yaml"
    params:
        pair=pair_config,
        split=config["split"],
        genes=config["genes"],
    script:
        "../../scripts/prepare_pair.py"


rule train_pair:
    input:
        expression=f"{PROCESSED}/expression.parquet",
        dependency=f"{PROCESSED}/dependency.parquet",
        response=f"{PROCESSED}/response.parquet",
        split="results/pairs/{pair}/split.tsv",
        genes="results/pairs/{pair}/genes.tsv",
    output:
        model=multiext("results/models/{pair}/joint/model", ".npz", ".json"),
    log:
        "logs/train_pair/{pair}.log",
    benchmark:
        "benchmarks/runs/train_pair/{pair}.tsv"
    conda:
        "../../envs/model.yaml"
    threads: 2
    params:
        pair=pair_config,
        model=config["model"],
    script:
        "../../scripts/train_pair.py"


rule evaluate_pair:
    input:
        expression=f"{PROCESSED}/expression.parquet",
        dependency=f"{PROCESSED}/dependency.parquet",
        response=f"{PROCESSED}/response.parquet",
        samples=f"{PROCESSED}/samples.tsv",
        split="results/pairs/{pair}/split.tsv",
        model=multiext("results/models/{pair}/joint/model", ".npz", ".json"),
    output:
        metrics="results/pairs/{pair}/metrics.tsv",
        scores="results/pairs/{pair}/benefit_scores.tsv",
        effects="results/pairs/{pair}/gene_effects.tsv",
        missing="results/pairs/{pair}/missing_genes.tsv",
    log:
        "logs/evaluate_pair/{pair}.log",
    conda:
        "../../envs/model.yaml"
    params:
        pair=pair_config,
        max_missing_fraction=config["scoring"]["max_missing_fraction"],
    script:
        "../../scripts/evaluate_pair.py"


rule collect_metrics:
    input:
        expand("results/pairs/{pair}/metrics.tsv", pair=PAIRS),
    output:
        report(
            "results/metrics.tsv",
            caption="../report/metrics.rst",
            category="Model performance",
        ),
    log:
        "logs/collect_metrics.log",
    conda:
        "../../envs/model.yaml"
    params:
        pairs=list(PAIRS),
    script:
        "../../scripts/collect_metrics.py"
