"""Snakemake adapter: per-plate pseudo-bulk tables → one count matrix with official symbols.

Named inputs: counts, samples, qc (lists, one per plate), synonyms (alias table),
optional reference (a samples × genes parquet whose columns are the known genes, e.g. the
cohort counts). Named outputs: counts (pseudobulk_counts.parquet), samples (samples.tsv),
gene_mapping (gene_mapping.tsv), qc (qc.tsv). Params: min_cells. Log: snakemake.log[0].
"""

import logging


from forge.rules import setup_rule_logging, snakemake_job
from forge.external.tahoe import combine_plate_files

log = logging.getLogger("tahoe_combine")


def main(smk) -> None:
    """Run the rule."""
    setup_rule_logging(smk, "tahoe_combine")
    reference = smk.input.get("reference")  # present when tahoe.gene_reference is "cohort"
    combine_plate_files(list(smk.input.counts), list(smk.input.samples), list(smk.input.qc), smk.input.synonyms,
        {k: smk.output[k] for k in ("counts", "samples", "gene_mapping", "qc")},
        min_cells=int(smk.params.min_cells), reference_path=reference or None)


if __name__ == "__main__":
    main(snakemake_job())
