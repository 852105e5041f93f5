"""Adapter of rule validate_tahoe_pair: one pair's Tahoe-100M scores, response strength, tests, DESeq2, enrichment."""

import pandas as pd

from forge.analysis.pair import read_libraries
from forge.io import read_parquet_matrix, write_tsv
from forge.rules import blas_threads, setup_rule_logging
from forge.validation.run import load_scorer, validate_tahoe

smk = snakemake  # noqa: F821
setup_rule_logging(smk, "validate_tahoe_pair")
with blas_threads(smk):
    scorer = load_scorer(smk.input.models, smk.input.scores, smk.input.ridge)
    samples = pd.read_csv(smk.input.samples, sep="\t", dtype={"cell_line": str, "plate": str, "sample": str})
    tables = validate_tahoe(
        scorer, read_parquet_matrix(smk.input.dmso), read_parquet_matrix(smk.input.treated),
        read_parquet_matrix(smk.input.counts), samples, smk.params.settings, smk.params.control,
        read_libraries(list(smk.input.libraries)), smk.params.enrichment,
    )
for name, table in tables.items():
    write_tsv(table, smk.output[name])
