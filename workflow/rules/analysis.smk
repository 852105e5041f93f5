# Analysis stage (FORGE_METHOD §4): per pair, latent embeddings, Ward + cutreeHybrid clusters
# with the sensitive-cluster rule, limma DE and offline enrichment. Library:
# scripts/forge/analysis/ (pair.py drives one step per rule). Switch: stages.analysis.
ANALYSIS = config["analysis"]


rule embed_pair:
    input:
        **COHORT_MATRICES,
        scores="results/pairs/{pair}/benefit_scores.tsv",
        pairs="results/pairs.tsv",
        models="results/models/{pair}",
    output:
        embedding="results/pairs/{pair}/embedding.tsv",
        consensus="results/pairs/{pair}/embedding_consensus.tsv",
    log:
        "logs/embed_pair/{pair}.log",
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(1000, 6 * input.size_mb),
        runtime=lambda wildcards, attempt: attempt * 10,
    params:
        max_missing_fraction=ANALYSIS["max_missing_fraction"],
    script:
        "../scripts/embed_pair.py"


rule cluster_pair:
    input:
        embedding="results/pairs/{pair}/embedding.tsv",
        consensus="results/pairs/{pair}/embedding_consensus.tsv",
    output:
        clusters="results/pairs/{pair}/clusters.tsv",
        summary="results/pairs/{pair}/cluster_summary.tsv",
        lineages="results/pairs/{pair}/cluster_lineages.tsv",
        sensitive="results/pairs/{pair}/sensitive_clusters.tsv",
        stability="results/pairs/{pair}/cluster_stability.tsv",
    log:
        "logs/cluster_pair/{pair}.log",
    benchmark:
        "benchmarks/runs/cluster_pair/{pair}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(1000, 10 * input.size_mb),
        runtime=lambda wildcards, attempt: attempt * 20,
    params:
        samples=ANALYSIS["samples"],
        clustering=ANALYSIS["clustering"],
    script:
        "../scripts/cluster_pair.py"


rule de_pair:
    input:
        unpack(de_pair_inputs),
        clusters="results/pairs/{pair}/clusters.tsv",
        scores="results/pairs/{pair}/benefit_scores.tsv",
    output:
        sensitive="results/pairs/{pair}/de_sensitive_clusters.tsv",
        score_groups="results/pairs/{pair}/de_score_groups.tsv",
        summary="results/pairs/{pair}/de_summary.tsv",
    log:
        "logs/de_pair/{pair}.log",
    benchmark:
        "benchmarks/runs/de_pair/{pair}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(2000, 8 * input.size_mb),
        runtime=lambda wildcards, attempt: attempt * 30,
    params:
        de=ANALYSIS["de"],
    script:
        "../scripts/de_pair.py"


rule enrich_pair:
    input:
        unpack(enrichment_inputs),
        sensitive="results/pairs/{pair}/de_sensitive_clusters.tsv",
        score_groups="results/pairs/{pair}/de_score_groups.tsv",
        effects="results/pairs/{pair}/gene_effects.tsv",
        expression=COHORT_MATRICES["expression"],
    output:
        enrichment="results/pairs/{pair}/enrichment.tsv",
        lists="results/pairs/{pair}/enrichment_lists.tsv",
    log:
        "logs/enrich_pair/{pair}.log",
    benchmark:
        "benchmarks/runs/enrich_pair/{pair}.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 2000,
        runtime=lambda wildcards, attempt: attempt * 20,
    params:
        enrichment=ANALYSIS["enrichment"],
    script:
        "../scripts/enrich_pair.py"


rule embedding_umap:
    input:
        embeddings=per_pair("results/pairs/{pair}/embedding.tsv"),
    output:
        umap="results/embedding_umap.tsv",
    log:
        "logs/embedding_umap.log",
    benchmark:
        "benchmarks/runs/embedding_umap.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(2000, 4 * input.size_mb),
        runtime=lambda wildcards, attempt: attempt * 30,
    params:
        umap=ANALYSIS["umap"],
    script:
        "../scripts/embedding_umap.py"
