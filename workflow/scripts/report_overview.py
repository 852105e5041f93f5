"""Adapter of rule report_overview: the report's first page (what ran, key numbers, where to look, method)."""

from pathlib import Path

import pandas as pd

from forge.figures.report_html import key_numbers, overview_page
from forge.io import atomic_write
from forge.modelling.pairs import read_selected_pairs
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "report_overview")
    pairs = read_selected_pairs(smk.input.pairs)
    counts = pd.read_csv(smk.input.pairs, sep="\t", dtype={"name": str})
    comparison = pd.read_csv(smk.input.comparison, sep="\t", dtype={"pair": str})
    # who_benefits.tsv sits in results/<run>/pairs/<pair>/: the input list follows the pairs' order
    who_benefits = {name: pd.read_csv(path, sep="\t", nrows=3, dtype={"sample": str, "CellLineName": str})
                    for name, path in zip(pairs, smk.input.who_benefits)}
    validation = pd.read_csv(smk.input.validation, sep="\t", dtype={"pair": str}) if "validation" in smk.input.keys() else None
    numbers = key_numbers(pairs, counts, comparison, who_benefits, validation)
    method = Path(smk.input.method).read_text(encoding="utf-8")
    html = overview_page(smk.params.run, [tuple(row) for row in smk.params.settings], numbers,
                         [tuple(row) for row in smk.params.categories], method, smk.params.method_path)
    with atomic_write(smk.output[0]) as tmp:
        tmp.write_text(html, encoding="utf-8")
    log.info("overview of %d pairs", len(pairs))


if __name__ == "__main__":
    main(snakemake_job())
