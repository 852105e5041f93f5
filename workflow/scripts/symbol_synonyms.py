"""Adapter of rule symbol_synonyms: NCBI gene_info → alias,official_symbol CSV of one taxon."""

from forge.io import write_csv
from forge.rules import setup_rule_logging
from forge.sources.annotation import ncbi_symbol_synonyms

log = setup_rule_logging(snakemake, "symbol_synonyms")  # noqa: F821
table = ncbi_symbol_synonyms(snakemake.input[0], tax_id=str(snakemake.params.tax_id))  # noqa: F821
write_csv(table, snakemake.output[0])  # noqa: F821
log.info("%s: %d aliases from %s", snakemake.output[0], len(table), snakemake.input[0])  # noqa: F821
