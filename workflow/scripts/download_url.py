"""Snakemake adapter of the download rules that fetch one configured URL.

Rules download_drug_targets, download_tahoe_plate, download_tahoe_metadata, download_pdx_workbook,
download_gencode_gtf, download_ncbi_gene_info and download_enrichr. Params: source, release, url
and optionally sha256, md5sums_url, validate (see forge.sources.download.fetch_url). Output:
output[0]. Log: log[0] (the logger is named after the rule). Retries and offline mode come from
config["download"].
"""

import forge.sources.download as dl
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, smk.rule)
    params = smk.params
    dl.fetch_url(
        params.url,
        smk.output[0],
        source=params.source,
        release=params.release,
        settings=dl.FetchSettings.from_config(smk.config["download"]),
        sha256=params.get("sha256", ""),
        md5sums_url=params.get("md5sums_url", ""),
        validate=params.get("validate", ""),
        log=log,
    )


if __name__ == "__main__":
    main(snakemake_job())
