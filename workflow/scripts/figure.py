"""Adapter of rule figure: draw one registered figure for one pair, all pairs, or a cohort and a pair.

Reads only the tables the figure's spec names (forge.figures.registry) and the selected pairs' records,
writes PNG, PDF and the figure's rows of results/<run>/figures/index.tsv (paper panel → file → tables,
and whether it was drawn).
"""

from forge.figures.numbers import key_numbers
from forge.figures.registry import figure_subject, index_rows, load_all, read_tables, table_paths
from forge.figures.style import save_figure
from forge.io import write_tsv
from forge.modelling.pairs import read_selected_pairs
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, f"figure {smk.wildcards.figure}")
    spec = load_all()[smk.wildcards.figure]
    pairs = read_selected_pairs(smk.input.pairs)
    subject = figure_subject(spec, smk.wildcards.name, pairs, smk.params.cohorts)
    paths = table_paths(spec, smk.wildcards.name, list(pairs), root=smk.params.results)
    tables = read_tables(paths)
    fig, panels = spec.draw(tables, subject)
    save_figure(fig, smk.output.png, smk.output.pdf)
    index = index_rows(spec, smk.wildcards.name, smk.output.png, smk.output.pdf, panels, paths)
    index["key_numbers"] = key_numbers(spec.name, tables)
    write_tsv(index, smk.output.index)
    for row in index.itertuples():
        log.info("%s %s (%s): %s", spec.name, row.panel, row.paper_panel, row.status)


if __name__ == "__main__":
    main(snakemake_job())
