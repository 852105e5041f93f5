"""Adapter of rule gencode_gene_spans: GENCODE GTF → gene spans CSV (name, type, chrom, span)."""

from forge.io import write_csv
from forge.rules import setup_rule_logging, snakemake_job
from forge.sources.annotation import gtf_gene_spans


def main(smk) -> None:
    log = setup_rule_logging(smk, "gencode_gene_spans")
    table = gtf_gene_spans(smk.input[0])
    write_csv(table, smk.output[0])
    log.info("%s: %d genes from %s", smk.output[0], len(table), smk.input[0])


if __name__ == "__main__":
    main(snakemake_job())
