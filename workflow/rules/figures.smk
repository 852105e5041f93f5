# Figures (docs/METHOD.md §6) and the report. One job per figure and pair (or cohort): each reads
# only tables the workflow wrote (scripts/forge/figures/registry.py says which), so changing a
# colour reruns nothing upstream. Library: scripts/forge/figures/ (style.py, fig_*.py).
rule figure:
    input:
        unpack(figure_inputs),
        pairs=rules.select_pairs.output[0],
    output:
        png=report(
            f"{RESULTS}/figures/{{figure}}/{{name}}.png",
            caption="../report/figure.rst",
            category=lambda wildcards: paper_figure(FIGURE_SPECS[wildcards.figure]),
            subcategory=figure_drawn_for,
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
        code=code_version("figure.py"),
        caption=lambda wildcards: figure_caption(wildcards),
        results=lambda wildcards, output: output.png.split("/figures/")[0],
        cohorts=FIGURE_COHORTS,
    script:
        "../scripts/figure.py"


rule figure_index:
    input:
        figures=lambda wildcards: figure_targets("index.tsv"),
        pairs=rules.select_pairs.output[0],
    output:
        LAYOUT.table("figure_index"),
    log:
        f"{LOGS}/figure_index.log",
    conda:
        "../../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=minutes(5),
    params:
        code=code_version("figure_index.py"),
    script:
        "../scripts/figure_index.py"


rule who_benefits:
    input:
        scores=rules.evaluate_pair.output.scores,
        samples=COHORT_FILES["samples"],
    output:
        LAYOUT.table("who_benefits"),
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
    params:
        code=code_version("who_benefits.py"),
    script:
        "../scripts/who_benefits.py"


rule provenance:
    input:
        unpack(provenance_inputs),
    output:
        versions=LAYOUT.table("versions"),
        inputs=LAYOUT.table("inputs"),
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
        code=code_version("provenance.py"),
        config=config,
    script:
        "../scripts/provenance.py"


# The report's tables as sortable, searchable HTML pages (REPORT_TABLES in common.smk; the
# Snakemake report shows an HTML result in place, any other table only as a download link).
rule report_table:
    input:
        table=report_page_table,
    output:
        report(
            f"{REPORT_PAGES}/{{page}}.html",
            caption="../report/table.rst",
            category=lambda wildcards: report_page_of(wildcards)[0]["category"],
            subcategory=report_page_subcategory,
            labels=lambda wildcards: {"table": report_page_title(wildcards)},
        ),
    log:
        f"{LOGS}/report_table/{{page}}.log",
    wildcard_constraints:
        page="(" + "|".join(REPORT_TABLES) + ")(/[A-Za-z0-9_.-]+)?",
    conda:
        "../../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=minutes(5),
    params:
        code=code_version("report_table.py"),
        title=report_page_title,
        caption=report_page_caption,
    script:
        "../scripts/report_table.py"


# The report's first page: what ran, key numbers per pair, where to look, the method.
rule report_overview:
    input:
        unpack(report_overview_inputs),
    output:
        report(
            f"{REPORT_PAGES}/overview.html",
            caption="../report/overview.rst",
            category="1 Overview",
        ),
    log:
        f"{LOGS}/report_overview.log",
    conda:
        "../../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=memory(1000),
        runtime=minutes(5),
    params:
        code=code_version("report_overview.py"),
        run=RUN,
        settings=lambda wildcards: report_run_settings(),
        categories=lambda wildcards: report_categories(),
        method_path="docs/METHOD.md",
    script:
        "../scripts/report_overview.py"
