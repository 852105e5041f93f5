"""Snakemake adapter: Gao 2015 PDX workbook → resources/processed/<run>/pdx/.

Named inputs: either ``workbook`` (nm.3954-S2.xlsx) or ``fpkm``, ``raw_data`` and
``curve_metrics`` (the three sheets as CSV); ``gene_spans``; optional ``synonyms``.
Named outputs: pseudocounts, expression (parquet, models × genes), response, sensitivity,
gene_mapping, dropped (TSV).
Params: ``settings``, the validated ``pdx`` config section.
Log: snakemake.log[0].

Everything is computed before the first output is written, so an input error (missing sheet
or column, non-numeric values) leaves no output behind. The work is done by
:func:`pdx.process_pdx`.
"""

import logging


from forge.rules import setup_rule_logging, snakemake_job
from forge.external.pdx import process_pdx_files

log = logging.getLogger("pdx_process")


def main(smk) -> None:
    """Run the rule with Snakemake's named inputs, outputs and params."""
    setup_rule_logging(smk, "pdx_process")
    process_pdx_files(dict(smk.input.items()), dict(smk.output.items()), smk.params.settings)


if __name__ == "__main__":
    main(snakemake_job())
