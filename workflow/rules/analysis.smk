# Analysis stage (FORGE_METHOD §4): per pair, latent embeddings, Ward + cutreeHybrid clusters
# with the sensitive-cluster rule, limma DE and offline enrichment. Library:
# scripts/forge/analysis/ (pair.py drives one step per rule). Switch: stages.analysis.
ANALYSIS = config["analysis"]


rule embed_pair:
    input:
        **PAIR_SLICES,
        scores=f"{RESULTS}/pairs/{{pair}}/benefit_scores.tsv",
        pairs=f"{RESULTS}/pairs.tsv",
        models=f"{RESULTS}/models/{{pair}}",
    output:
        embedding=f"{RESULTS}/pairs/{{pair}}/embedding.tsv",
        consensus=f"{RESULTS}/pairs/{{pair}}/embedding_consensus.tsv",
        # the same embedding as AnnData (Z in obsm["X_forge"]) for scanpy users
        h5ad=f"{RESULTS}/pairs/{{pair}}/embedding.h5ad",
    log:
        f"{LOGS}/embed_pair/{{pair}}.log",
    priority: MODELLING_FIRST
    group:
        "pair_downstream"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000, per_input_mb=6),
        runtime=minutes(10),
    params:
        max_missing_fraction=ANALYSIS["max_missing_fraction"],
    script:
        "../scripts/embed_pair.py"


rule cluster_pair:
    input:
        embedding=f"{RESULTS}/pairs/{{pair}}/embedding.tsv",
        consensus=f"{RESULTS}/pairs/{{pair}}/embedding_consensus.tsv",
    output:
        clusters=f"{RESULTS}/pairs/{{pair}}/clusters.tsv",
        summary=f"{RESULTS}/pairs/{{pair}}/cluster_summary.tsv",
        lineages=f"{RESULTS}/pairs/{{pair}}/cluster_lineages.tsv",
        sensitive=f"{RESULTS}/pairs/{{pair}}/sensitive_clusters.tsv",
        stability=f"{RESULTS}/pairs/{{pair}}/cluster_stability.tsv",
    log:
        f"{LOGS}/cluster_pair/{{pair}}.log",
    benchmark:
        f"{BENCH}/cluster_pair/{{pair}}.tsv"
    group:
        "pair_downstream"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000, per_input_mb=10),
        runtime=minutes(20),
    params:
        samples=ANALYSIS["samples"],
        clustering=ANALYSIS["clustering"],
    script:
        "../scripts/cluster_pair.py"


rule de_pair:
    input:
        unpack(de_pair_inputs),
        clusters=f"{RESULTS}/pairs/{{pair}}/clusters.tsv",
        scores=f"{RESULTS}/pairs/{{pair}}/benefit_scores.tsv",
    output:
        sensitive=f"{RESULTS}/pairs/{{pair}}/de_sensitive_clusters.tsv",
        score_groups=f"{RESULTS}/pairs/{{pair}}/de_score_groups.tsv",
        summary=f"{RESULTS}/pairs/{{pair}}/de_summary.tsv",
    log:
        f"{LOGS}/de_pair/{{pair}}.log",
    benchmark:
        f"{BENCH}/de_pair/{{pair}}.tsv"
    group:
        "pair_downstream"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=8),
        runtime=minutes(30),
    params:
        de=ANALYSIS["de"],
    script:
        "../scripts/de_pair.py"


rule enrich_pair:
    input:
        unpack(enrichment_inputs),
        sensitive=f"{RESULTS}/pairs/{{pair}}/de_sensitive_clusters.tsv",
        score_groups=f"{RESULTS}/pairs/{{pair}}/de_score_groups.tsv",
        effects=f"{RESULTS}/pairs/{{pair}}/gene_effects.tsv",
        # the tested genes' names only
        expression_index=EXPRESSION_ARRAY["index"],
    output:
        enrichment=f"{RESULTS}/pairs/{{pair}}/enrichment.tsv",
        lists=f"{RESULTS}/pairs/{{pair}}/enrichment_lists.tsv",
    log:
        f"{LOGS}/enrich_pair/{{pair}}.log",
    benchmark:
        f"{BENCH}/enrich_pair/{{pair}}.tsv"
    group:
        "pair_downstream"
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000, per_input_mb=4),
        runtime=minutes(10),
    params:
        enrichment=ANALYSIS["enrichment"],
    script:
        "../scripts/enrich_pair.py"


rule embedding_umap:
    input:
        embeddings=per_pair(f"{RESULTS}/pairs/{{pair}}/embedding.tsv"),
    output:
        umap=f"{RESULTS}/embedding_umap.tsv",
    log:
        f"{LOGS}/embedding_umap.log",
    benchmark:
        f"{BENCH}/embedding_umap.tsv"
    priority: MODELLING_FIRST
    conda:
        "../../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000, per_input_mb=10),
        runtime=minutes(20),
    params:
        umap=ANALYSIS["umap"],
    script:
        "../scripts/embedding_umap.py"
