"""Adapter of rule tahoe_single_cells: the single cells of one pair's best-responding Tahoe lines and
their scanpy UMAP (preprint Fig. 5b).

Named inputs: plates (plate .h5ad files), strength (the pair's response_strength.tsv). Named outputs:
cells (tsv, :data:`forge.external.tahoe_cells.CELL_COLUMNS`), lines (tsv, one row per line, plate and
treatment), h5ad (AnnData). Params: settings (config tahoe.single_cells), drug, control, pass_filter,
qc, chunk_rows. Log: snakemake.log[0].
"""

from forge.external.tahoe_cells import SingleCellSettings, single_cells_to_files
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "tahoe_single_cells")
    adata = single_cells_to_files(
        list(smk.input.plates), smk.input.strength,
        {key: smk.output[key] for key in ("cells", "lines", "h5ad")},
        drug=smk.params.drug, control=smk.params.control, settings=SingleCellSettings(**dict(smk.params.settings)),
        pass_filter=smk.params.pass_filter, qc=dict(smk.params.qc), chunk_rows=int(smk.params.chunk_rows),
    )
    log.info("UMAP (%s) of %d cells × %d genes written", smk.params.settings["embedding"], adata.n_obs, adata.n_vars)


if __name__ == "__main__":
    main(snakemake_job())
