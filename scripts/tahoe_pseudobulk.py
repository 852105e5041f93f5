"""Snakemake adapter: one Tahoe plate ``.h5ad`` → pseudo-bulk counts of the selected drugs.

Named input: h5ad (plate file). Named outputs: counts (samples × genes parquet, raw symbols),
samples (tsv, :data:`tahoe.SAMPLE_COLUMNS`), qc (tsv, :data:`tahoe.PLATE_QC_COLUMNS`).
Params: drug, control, pass_filter, chunk_rows, qc (dict: enabled, n_mads_counts,
n_mads_genes, tails). Log: snakemake.log[0].
"""

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pandas as pd  # noqa: E402

import tahoe  # noqa: E402
from io_utils import write_parquet_matrix, write_tsv  # noqa: E402
from rule_utils import setup_rule_logging  # noqa: E402

log = logging.getLogger("tahoe_pseudobulk")


def run(h5ad: str | Path, outputs: dict[str, str | Path], drug: str, control: str,
        pass_filter: str = "full", chunk_rows: int = 20_000, qc: dict | None = None) -> tahoe.PlateAggregate:
    """Aggregate one plate and write its three outputs (nothing is written on error).

    Parameters
    ----------
    h5ad
        Plate file.
    outputs
        Paths under the keys ``counts``, ``samples``, ``qc``.
    drug, control
        Drug names kept (treated and control).
    pass_filter, chunk_rows, qc
        See :func:`tahoe.aggregate_plate` and :class:`tahoe.QCSettings`.

    Returns
    -------
    tahoe.PlateAggregate
    """
    settings = tahoe.QCSettings(**(qc or {}))
    result = tahoe.aggregate_plate(h5ad, drugs=[drug, control], pass_filter=pass_filter,
                                   qc=settings, chunk_rows=chunk_rows)
    log.info("%s: %d cells, %d groups × %d genes, %d entries read in %.1f s (%d of %d chunks)",
             h5ad, result.stats["n_cells"], *result.counts.shape, result.stats["entries_read"],
             result.stats["seconds"], result.stats["chunks_read"], result.stats["chunks"])
    if result.counts.shape[0] == 0:
        log.warning("%s: no cell of %s or %s found", h5ad, drug, control)
    counts = pd.DataFrame(result.counts, index=pd.Index(result.samples["sample"], name="sample"),
                          columns=result.genes)
    write_parquet_matrix(counts, outputs["counts"])
    write_tsv(result.samples, outputs["samples"])
    write_tsv(result.qc, outputs["qc"])
    return result


def main(smk) -> None:
    """Run the rule."""
    setup_rule_logging(smk, "tahoe_pseudobulk")
    run(smk.input.h5ad, {k: smk.output[k] for k in ("counts", "samples", "qc")},
        drug=smk.params.drug, control=smk.params.control, pass_filter=smk.params.pass_filter,
        chunk_rows=int(smk.params.chunk_rows), qc=dict(smk.params.qc))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # type: ignore[name-defined]  # noqa: F821
