"""Adapter of rule expression_array: the cohort expression as a memory-mappable array with
per-gene sort orders (read by prepare_pair and de_pair instead of the whole Parquet matrix)."""

from pathlib import Path

from forge.io import read_parquet_matrix, write_matrix_array
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "expression_array")
    expression = read_parquet_matrix(smk.input.expression)
    write_matrix_array(expression, Path(smk.output.index).parent)
    log.info("%d samples x %d genes written to %s", *expression.shape, Path(smk.output.index).parent)


if __name__ == "__main__":
    main(snakemake_job())
