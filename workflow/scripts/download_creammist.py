"""Snakemake adapter: CREAMMIST crawl (cached, resumable) → IC50 table and cell-line table.

Params: api, release, drugs, dataset, ic50_field, cell_lines_endpoint, cache (directory).
Outputs: ic50 (creammist_ic50.csv), cell_lines (creammist_cell_lines.csv). Log: log[0].
Rate limit, retries and offline/cache_only come from config["download"].
"""

import forge.sources.download as dl
from forge.io import atomic_write
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, smk.rule)
    cfg = smk.config["download"]
    settings = dl.FetchSettings.from_config(cfg)
    params = smk.params
    cache_only = bool(cfg["offline"] or cfg["creammist"]["cache_only"])
    experiments, cell_lines = dl.crawl_creammist(
        params.api,
        dl.ApiCache(params.cache),
        drugs=list(params.drugs),
        cell_lines_endpoint=params.cell_lines_endpoint,
        keep_fields=("cellosaurus_id", "standard_drug_name", "dataset", params.ic50_field),
        limiter=dl.RateLimiter(float(cfg["creammist"]["requests_per_second"])),
        policy=settings.policy,
        cache_only=cache_only,
        log=log,
    )
    ic50, lines = dl.creammist_tables(
        experiments, cell_lines, dataset=params.dataset, ic50_field=params.ic50_field, log=log
    )
    for table, path in ((ic50, smk.output.ic50), (lines, smk.output.cell_lines)):
        with atomic_write(path) as tmp:
            table.to_csv(tmp, index=False, lineterminator="\n")
        dl.record_product(
            path,
            source="creammist",
            release=params.release,
            url=params.api,
            settings=settings,
            how=f"built from cached API responses in {params.cache}",
        )
    log.info("wrote %s (%d drugs x %d cell lines) and %s", smk.output.ic50, len(ic50), ic50.shape[1] - 1,
             smk.output.cell_lines)


if __name__ == "__main__":
    main(snakemake_job())
