"""Adapter of rule embedding_umap: a seeded 2-D UMAP of every pair's latent embedding (Fig. 6b)."""

from pathlib import Path

import pandas as pd

from forge.analysis.embedding import latent_columns, umap_coordinates
from forge.io import read_tsv_indexed, write_tsv
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "embedding_umap")
    settings = smk.params.umap
    parts = []
    for path in smk.input.embeddings:
        table = read_tsv_indexed(path, "sample")
        coordinates = umap_coordinates(table[latent_columns(table)], settings["seed"], settings["n_neighbors"],
                                       settings["min_dist"], numba_cache=True)
        part = table[["split", "lineage", "benefit_score", "observed_dependency", "observed_ic50"]].join(coordinates)
        part.insert(0, "pair", Path(path).parent.name)
        parts.append(part.reset_index())
        log.info("%s: UMAP of %d samples", Path(path).parent.name, len(part))
    write_tsv(pd.concat(parts, ignore_index=True), smk.output.umap)


if __name__ == "__main__":
    main(snakemake_job())
