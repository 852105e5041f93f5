"""Adapter of rule symbol_synonyms: NCBI gene_info → alias,official_symbol CSV of one taxon."""

from forge.io import write_csv
from forge.rules import setup_rule_logging, snakemake_job
from forge.sources.annotation import ncbi_symbol_synonyms


def main(smk) -> None:
    log = setup_rule_logging(smk, "symbol_synonyms")
    table = ncbi_symbol_synonyms(smk.input[0], tax_id=str(smk.params.tax_id))
    write_csv(table, smk.output[0])
    log.info("%s: %d aliases from %s", smk.output[0], len(table), smk.input[0])


if __name__ == "__main__":
    main(snakemake_job())
