"""Snakemake adapter: one DepMap file, URL and md5 resolved through the figshare API.

Params: release, figshare_api, figshare_article. Wildcard: depmap_file (file name in the
article). Output: output[0]. Log: log[0]. Download settings come from config["download"].
"""

import forge.sources.download as dl
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, smk.rule)
    settings = dl.FetchSettings.from_config(smk.config["download"])
    params = smk.params
    name = smk.wildcards.depmap_file
    listing_url = f"{params.figshare_api.rstrip('/')}/articles/{params.figshare_article}/files"
    entries = dl.figshare_files(
        params.figshare_api, params.figshare_article, settings.policy, offline=settings.offline, log=log
    )
    spec = dl.figshare_file_spec(
        entries,
        name,
        source="depmap",
        release=f"{params.release} (figshare {params.figshare_article})",
        dest=smk.output[0],
        listing_url=listing_url,
    )
    row = dl.fetch(spec, settings, log)
    log.info("manifest row: %s", row)


if __name__ == "__main__":
    main(snakemake_job())
