"""Adapter of rule download_enrichr: download one Enrichr gene-set library (URL, checksums, validator in params)."""

from forge.rules import setup_rule_logging
from forge.sources.download import fetch_configured_url

log = setup_rule_logging(snakemake, "download_enrichr")  # noqa: F821
fetch_configured_url(snakemake.params, snakemake.config["download"], snakemake.output[0], log)  # noqa: F821
