"""Adapter of rule evaluate_pair: metrics of every model and baseline, scores, gene effects and tests."""

from forge.io import write_tsv
from forge.modelling.evaluation import evaluate_pair
from forge.modelling.pairs import pair_record
from forge.rules import blas_threads, setup_rule_logging

setup_rule_logging(snakemake, "evaluate_pair")  # noqa: F821
with blas_threads(snakemake):  # noqa: F821
    pair = pair_record(snakemake.input.pairs, snakemake.wildcards.pair)  # noqa: F821
    tables = evaluate_pair(snakemake.input, pair, snakemake.params.max_missing_fraction)  # noqa: F821
for name, table in tables.items():
    write_tsv(table, snakemake.output[name])  # noqa: F821
