"""Adapter of rule download_ncbi_gene_info: download NCBI gene_info (URL, checksums, validator in params)."""

from forge.rules import setup_rule_logging
from forge.sources.download import fetch_configured_url

log = setup_rule_logging(snakemake, "download_ncbi_gene_info")  # noqa: F821
fetch_configured_url(snakemake.params, snakemake.config["download"], snakemake.output[0], log)  # noqa: F821
