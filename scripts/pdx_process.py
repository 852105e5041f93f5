"""Snakemake adapter: Gao 2015 PDX workbook → resources/processed/pdx/.

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
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import parsers  # noqa: E402
import pdx  # noqa: E402
from io_utils import write_parquet_matrix, write_tsv  # noqa: E402
from rule_utils import setup_rule_logging  # noqa: E402

log = logging.getLogger("pdx_process")


def run(inputs: dict[str, str], outputs: dict[str, str], settings: dict) -> pdx.PdxResult:
    """Read the inputs, process the arm and write every output.

    Parameters
    ----------
    inputs
        Keys ``workbook`` or ``fpkm``/``raw_data``/``curve_metrics``, ``gene_spans`` and
        optionally ``synonyms``.
    outputs
        Keys ``pseudocounts, expression, response, sensitivity, gene_mapping, dropped``.
    settings
        The ``pdx`` config section (defaults filled).

    Returns
    -------
    pdx.PdxResult
        What was written.
    """
    if inputs.get("workbook"):
        tables = pdx.read_pdx_workbook(inputs["workbook"])
    else:
        tables = pdx.read_pdx_csvs(inputs["fpkm"], inputs["raw_data"], inputs["curve_metrics"])
    spans = pdx.read_gene_spans(inputs["gene_spans"])
    synonyms = parsers.read_symbol_synonyms(inputs["synonyms"]) if inputs.get("synonyms") else None
    options = pdx.config_settings(settings)
    log.info("arm and settings: %s", options)
    result = pdx.process_pdx(tables, spans, synonyms, **options)
    for key, value in result.summary.items():
        log.info("%s: %s", key, value)
    for row in result.dropped.itertuples(index=False):
        log.info("dropped %s (%s): %s", row.item, row.reason, row.detail)
    write_parquet_matrix(result.pseudocounts, outputs["pseudocounts"])
    write_parquet_matrix(result.expression, outputs["expression"])
    write_tsv(result.response, outputs["response"])
    write_tsv(result.sensitivity, outputs["sensitivity"])
    write_tsv(result.gene_mapping, outputs["gene_mapping"])
    write_tsv(result.dropped, outputs["dropped"])
    return result


def main(smk) -> None:
    """Run the rule with Snakemake's named inputs, outputs and params."""
    setup_rule_logging(smk, "pdx_process")
    run(dict(smk.input.items()), dict(smk.output.items()), smk.params.settings)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # type: ignore[name-defined]  # noqa: F821
