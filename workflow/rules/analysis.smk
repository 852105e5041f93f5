# Analysis stage (docs/METHOD.md §4): per pair, latent embeddings, Ward + cutreeHybrid clusters
# with the sensitive-cluster rule, limma DE and offline enrichment. Library:
# scripts/forge/analysis/ (pair.py drives one step per rule). Switch: stages.analysis.
ANALYSIS = config["analysis"]


rule embed_pair:
    input:
        **PAIR_SLICES,
        scores=rules.evaluate_pair.output.scores,
        pairs=rules.select_pairs.output[0],
        models=rules.train_pair.output.models,
    output:
        embedding=LAYOUT.table("embedding"),
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
        code=code_version("embed_pair.py"),
        max_missing_fraction=ANALYSIS["max_missing_fraction"],
    script:
        "../scripts/embed_pair.py"


rule cluster_pair:
    input:
        embedding=rules.embed_pair.output.embedding,
        consensus=rules.embed_pair.output.consensus,
    output:
        clusters=LAYOUT.table("clusters"),
        summary=LAYOUT.table("cluster_summary"),
        lineages=LAYOUT.table("cluster_lineages"),
        sensitive=LAYOUT.table("sensitive_clusters"),
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
        code=code_version("cluster_pair.py"),
        samples=ANALYSIS["samples"],
        clustering=ANALYSIS["clustering"],
    script:
        "../scripts/cluster_pair.py"


rule de_pair:
    input:
        unpack(de_pair_inputs),
        clusters=rules.cluster_pair.output.clusters,
        scores=rules.evaluate_pair.output.scores,
    output:
        sensitive=LAYOUT.table("de_sensitive_clusters"),
        score_groups=LAYOUT.table("de_score_groups"),
        summary=LAYOUT.table("de_summary"),
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
        code=code_version("de_pair.py"),
        de=ANALYSIS["de"],
    script:
        "../scripts/de_pair.py"


rule enrich_pair:
    input:
        unpack(enrichment_inputs),
        sensitive=rules.de_pair.output.sensitive,
        score_groups=rules.de_pair.output.score_groups,
        effects=rules.evaluate_pair.output.effects,
        # the tested genes' names only
        expression_index=EXPRESSION_ARRAY["index"],
    output:
        enrichment=LAYOUT.table("enrichment"),
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
        code=code_version("enrich_pair.py"),
        enrichment=ANALYSIS["enrichment"],
    script:
        "../scripts/enrich_pair.py"


rule embedding_umap:
    input:
        embeddings=per_pair(rules.embed_pair.output.embedding),
    output:
        umap=LAYOUT.table("umap"),
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
        code=code_version("embedding_umap.py"),
        umap=ANALYSIS["umap"],
    script:
        "../scripts/embedding_umap.py"
