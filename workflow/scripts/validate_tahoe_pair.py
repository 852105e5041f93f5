"""Adapter of rule validate_tahoe_pair: one pair's Tahoe-100M scores (every recipe), response strength,
tests, DESeq2, enrichment, platform shift and the robustness tables (every validated k × replicate)."""

import pandas as pd

from forge.analysis.pair import read_libraries
from forge.io import read_parquet_matrix, write_tsv
from forge.rules import setup_rule_logging, snakemake_job
from forge.validation.run import load_pair_models, validate_tahoe


def main(smk) -> None:
    setup_rule_logging(smk, "validate_tahoe_pair")
    models = load_pair_models(smk.input.models, list(smk.input.models_k), smk.input.pair_expression, smk.input.split,
                              smk.input.ridge)
    samples = pd.read_csv(smk.input.samples, sep="\t", dtype={"cell_line": str, "plate": str, "sample": str})
    tables = validate_tahoe(
        models, read_parquet_matrix(smk.input.dmso), read_parquet_matrix(smk.input.treated),
        read_parquet_matrix(smk.input.counts), samples, smk.params.settings, smk.params.control,
        read_libraries(list(smk.input.libraries)), smk.params.enrichment, n_cpus=smk.threads,
    )
    for name, table in tables.items():
        write_tsv(table, smk.output[name])


if __name__ == "__main__":
    main(snakemake_job())
