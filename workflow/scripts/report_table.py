"""Adapter of rule report_table: a table the workflow wrote as a sortable, searchable HTML page."""

import re

from forge.figures.report_html import table_page
from forge.io import atomic_write
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "report_table")
    # the caption's rst (``literals``, backslash escapes) read as plain text on the page
    note = re.sub(r"\\(.)", r"\1", " ".join(smk.params.caption.replace("``", "").split()))
    with atomic_write(smk.output[0]) as tmp:
        tmp.write_text(table_page(smk.input.table, smk.params.title, note), encoding="utf-8")
    log.info("%s: page of %s", smk.output[0], smk.input.table)


if __name__ == "__main__":
    main(snakemake_job())
