"""Snakemake adapter: one Tahoe plate ``.h5ad`` → pseudo-bulk counts of the selected drugs.

Named input: h5ad (plate file). Named outputs: counts (samples × genes parquet, raw symbols),
samples (tsv, :data:`tahoe.SAMPLE_COLUMNS`), qc (tsv, :data:`tahoe.PLATE_QC_COLUMNS`).
Params: drug, control, pass_filter, chunk_rows, qc (dict: enabled, n_mads_counts,
n_mads_genes, tails). Log: snakemake.log[0].
"""

import logging


from forge.rules import setup_rule_logging, snakemake_job
from forge.external.tahoe import pseudobulk_plate_to_files

log = logging.getLogger("tahoe_pseudobulk_plate")


def main(smk) -> None:
    """Run the rule."""
    setup_rule_logging(smk, "tahoe_pseudobulk_plate")
    pseudobulk_plate_to_files(smk.input.h5ad, {k: smk.output[k] for k in ("counts", "samples", "qc")},
        drug=smk.params.drug, control=smk.params.control, pass_filter=smk.params.pass_filter,
        chunk_rows=int(smk.params.chunk_rows), qc=dict(smk.params.qc))


if __name__ == "__main__":
    main(snakemake_job())
