# Figures (FORGE_METHOD §6) and the report. One job per figure and pair (or cohort): each reads
# only tables the workflow wrote (scripts/forge/figures/registry.py says which), so changing a
# colour reruns nothing upstream. Library: scripts/forge/figures/ (style.py, fig_*.py).
rule figure:
    input:
        unpack(figure_inputs),
        pairs="results/pairs.tsv",
    output:
        png=report(
            "results/figures/{figure}/{name}.png",
            caption="../report/figure.rst",
            category=lambda wildcards: paper_figure(FIGURE_SPECS[wildcards.figure]),
            subcategory=lambda wildcards: wildcards.name.replace("__", " / "),
            labels=figure_labels,
        ),
        pdf="results/figures/{figure}/{name}.pdf",
        index="results/figures/{figure}/{name}.index.tsv",
    log:
        "logs/figure/{figure}/{name}.log",
    wildcard_constraints:
        figure="|".join(FIGURE_SPECS),
    conda:
        "../../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: attempt * 2000,
        runtime=lambda wildcards, attempt: attempt * 10,
    params:
        caption=lambda wildcards: figure_caption(wildcards),
    script:
        "../scripts/figure.py"


rule figure_index:
    input:
        figures=lambda wildcards: figure_targets("index.tsv"),
        pairs="results/pairs.tsv",
    output:
        report(
            "results/figures/index.tsv",
            caption="../report/figure_index.rst",
            category="Figures index",
        ),
    log:
        "logs/figure_index.log",
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure_index.py"


rule who_benefits:
    input:
        scores="results/pairs/{pair}/benefit_scores.tsv",
        samples=f"{PROCESSED}/samples.tsv",
    output:
        report(
            "results/pairs/{pair}/who_benefits.tsv",
            caption="../report/who_benefits.rst",
            category="Who benefits",
            subcategory="{pair}",
        ),
    log:
        "logs/who_benefits/{pair}.log",
    conda:
        "../../envs/model.yaml"
    script:
        "../scripts/who_benefits.py"


rule provenance:
    input:
        unpack(provenance_inputs),
    output:
        versions=report(
            "results/provenance/versions.tsv",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
        inputs=report(
            "results/provenance/inputs.tsv",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
        config=report(
            "results/provenance/config.yaml",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        "logs/provenance.log",
    conda:
        "../../envs/figures.yaml"
    params:
        config=config,
    script:
        "../scripts/provenance.py"
