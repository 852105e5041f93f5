# Figures (FORGE_METHOD §6) and the report. One job per figure and pair (or cohort): each reads
# only tables the workflow wrote (scripts/forge/figures/registry.py says which), so changing a
# colour reruns nothing upstream. Library: scripts/forge/figures/ (style.py, fig_*.py).
rule figure:
    input:
        unpack(figure_inputs),
        pairs=f"{RESULTS}/pairs.tsv",
    output:
        png=report(
            f"{RESULTS}/figures/{{figure}}/{{name}}.png",
            caption="../report/figure.rst",
            category=lambda wildcards: paper_figure(FIGURE_SPECS[wildcards.figure]),
            subcategory=lambda wildcards: wildcards.name.replace("__", " / "),
            labels=figure_labels,
        ),
        pdf=f"{RESULTS}/figures/{{figure}}/{{name}}.pdf",
        index=f"{RESULTS}/figures/{{figure}}/{{name}}.index.tsv",
    log:
        f"{LOGS}/figure/{{figure}}/{{name}}.log",
    wildcard_constraints:
        figure="|".join(FIGURE_SPECS),
    group:
        "figures"
    conda:
        "../../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=memory(2000),
        runtime=minutes(10),
    params:
        caption=lambda wildcards: figure_caption(wildcards),
        results=lambda wildcards, output: output.png.split("/figures/")[0],
    script:
        "../scripts/figure.py"


rule figure_index:
    input:
        figures=lambda wildcards: figure_targets("index.tsv"),
        pairs=f"{RESULTS}/pairs.tsv",
    output:
        report(
            f"{RESULTS}/figures/index.tsv",
            caption="../report/figure_index.rst",
            category="Figures index",
        ),
    log:
        f"{LOGS}/figure_index.log",
    conda:
        "../../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=minutes(5),
    script:
        "../scripts/figure_index.py"


rule who_benefits:
    input:
        scores=f"{RESULTS}/pairs/{{pair}}/benefit_scores.tsv",
        samples=f"{PROCESSED}/samples.tsv",
    output:
        report(
            f"{RESULTS}/pairs/{{pair}}/who_benefits.tsv",
            caption="../report/who_benefits.rst",
            category="Who benefits",
            subcategory="{pair}",
        ),
    log:
        f"{LOGS}/who_benefits/{{pair}}.log",
    group:
        "pair_downstream"
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=minutes(5),
    script:
        "../scripts/who_benefits.py"


rule provenance:
    input:
        unpack(provenance_inputs),
    output:
        versions=report(
            f"{RESULTS}/provenance/versions.tsv",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
        inputs=report(
            f"{RESULTS}/provenance/inputs.tsv",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
        config=report(
            f"{RESULTS}/provenance/config.yaml",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        f"{LOGS}/provenance.log",
    conda:
        "../../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=minutes(10),
    params:
        config=config,
    script:
        "../scripts/provenance.py"
