"""Adapter of rule gencode_gene_spans: GENCODE GTF → gene spans CSV (name, type, chrom, span)."""

from forge.io import write_csv
from forge.rules import setup_rule_logging
from forge.sources.annotation import gtf_gene_spans

log = setup_rule_logging(snakemake, "gencode_gene_spans")  # noqa: F821
table = gtf_gene_spans(snakemake.input[0])  # noqa: F821
write_csv(table, snakemake.output[0])  # noqa: F821
log.info("%s: %d genes from %s", snakemake.output[0], len(table), snakemake.input[0])  # noqa: F821
