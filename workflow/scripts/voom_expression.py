"""Snakemake adapter: raw counts parquet → voom logCPM and weights parquet.

Named input: counts (ModelID/sample × symbol parquet from build_cohort).
Named outputs: expression (voom log2-CPM), weights (voom precision weights), same shape;
dropped_genes (gene, reason: not_in_universe / low_expression).
Params (all optional):
  gene_universe  path to a text file with one symbol per line, or "" for no restriction;
  min_count      low-expression filter: minimum raw count (0 = filter off, the default);
  min_samples    samples that must reach min_count (default 1).
Log: snakemake.log[0].

Library sizes are always the column sums over *all* genes of the input, taken before any gene
filter, so that restricting the gene set does not rescale a sample's CPM values.

Memory (DepMap size, 1,700 × 54,000: 0.73 GB per float64 matrix): the counts are read in
column batches into one float64 block (:func:`forge.io.read_parquet_matrix_batched`; reading the whole file at once
peaks at 3-4 GB), voom works gene block by gene block, the counts are freed before writing,
and each output is written from its own buffer without pandas/Arrow copies
(:func:`forge.io.write_parquet_matrix_nocopy`, byte-identical to :func:`forge.io.write_parquet_matrix`). Peak ≈ counts
+ expression + weights.
"""

import logging

import pandas as pd

from forge.io import read_parquet_matrix_batched, write_parquet_matrix_nocopy, write_tsv
from forge.rules import setup_rule_logging, snakemake_job
from forge.normalise import read_gene_universe, voom_with_filters

log = logging.getLogger("voom_expression")


def main(smk) -> None:
    """Run the rule: read ``smk.input.counts``, write ``smk.output.expression`` / ``weights``."""
    setup_rule_logging(smk, "voom_expression")
    params = smk.params
    universe_path = getattr(params, "gene_universe", "") or ""
    universe = read_gene_universe(universe_path) if universe_path else None
    counts = read_parquet_matrix_batched(smk.input.counts)
    log.info("counts: %d samples × %d genes from %s", *counts.shape, smk.input.counts)
    expression, weights, dropped = voom_with_filters(
        counts,
        gene_universe=universe,
        min_count=float(getattr(params, "min_count", 0) or 0),
        min_samples=int(getattr(params, "min_samples", 1) or 1),
        counts_source=str(smk.input.counts),
        universe_source=f"{universe_path} (normalisation.gene_universe)",
    )
    del counts
    for reason, genes in dropped.items():
        log.info("dropped %d genes (%s): %s", len(genes), reason, ", ".join(genes))
    log.info("voom: %d samples × %d genes", *expression.shape)
    write_parquet_matrix_nocopy(expression, smk.output.expression)
    del expression
    write_parquet_matrix_nocopy(weights, smk.output.weights)
    del weights
    dropped_table = pd.DataFrame(
        [(gene, reason) for reason, genes in dropped.items() for gene in genes],
        columns=["gene", "reason"],
    )
    write_tsv(dropped_table, smk.output.dropped_genes)


if __name__ == "__main__":
    main(snakemake_job())
