"""Adapter of rule validate_pdx_pair: one pair's PDX scores (every recipe), %TV and mRECIST tests,
pseudo-count grid, platform shift and the robustness tables (every validated k × replicate)."""

import pandas as pd

from forge.io import read_parquet_matrix, write_tsv
from forge.rules import setup_rule_logging, snakemake_job
from forge.validation.run import load_pair_models, validate_pdx


def main(smk) -> None:
    setup_rule_logging(smk, "validate_pdx_pair")
    models = load_pair_models(smk.input.models, list(smk.input.models_k), smk.input.pair_expression, smk.input.split,
                              smk.input.ridge)
    tables = validate_pdx(
        models, read_parquet_matrix(smk.input.expression), pd.read_csv(smk.input.response, sep="\t", dtype={"Model": str}),
        pd.read_parquet(smk.input.grid), smk.params.settings, tuple(map(float, smk.params.default)),
    )
    for name, table in tables.items():
        write_tsv(table, smk.output[name])


if __name__ == "__main__":
    main(snakemake_job())
