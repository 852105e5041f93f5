"""Snakemake adapter: Tahoe pseudo-bulk counts → voom logCPM, DMSO and treated separately.

Named inputs: counts (pseudobulk_counts.parquet), samples (samples.tsv).
Named outputs: dmso, treated (samples × genes voom log2-CPM parquet; each set normalised with
its own intercept-only voom, as in the paper). Params: control. Log: snakemake.log[0].
"""

import logging


import pandas as pd

from forge.external import tahoe
from forge.io import read_parquet_matrix, write_parquet_matrix
from forge.rules import setup_rule_logging, snakemake_job

log = logging.getLogger("tahoe_voom")


def main(smk) -> None:
    """Run the rule."""
    setup_rule_logging(smk, "tahoe_voom")
    counts = read_parquet_matrix(smk.input.counts)
    samples = pd.read_csv(smk.input.samples, sep="\t", dtype={"cell_line": str, "plate": str})
    dmso, treated = tahoe.split_voom(counts, samples, smk.params.control)
    log.info("voom: %d control and %d treated samples × %d genes", len(dmso), len(treated), counts.shape[1])
    write_parquet_matrix(dmso, smk.output.dmso)
    write_parquet_matrix(treated, smk.output.treated)


if __name__ == "__main__":
    main(snakemake_job())
