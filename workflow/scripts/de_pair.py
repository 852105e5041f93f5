"""Adapter of rule de_pair: limma DE (sensitive clusters vs rest; high vs low Benefit Score) on every gene."""

from pathlib import Path

import pandas as pd

from forge.analysis.pair import de_pair
from forge.io import MatrixArray, read_parquet_matrix, read_tsv_indexed, write_tsv
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "de_pair")
    settings = smk.params.de
    clusters = pd.read_csv(smk.input.clusters, sep="\t", dtype={"sample": str})
    scores = read_tsv_indexed(smk.input.scores, "sample")[settings["score"]]
    expression = MatrixArray(Path(smk.input.expression_index).parent).frame()
    weights = read_parquet_matrix(smk.input.weights) if "weights" in smk.input.keys() else None
    if weights is None:
        log.info("no voom weights (prepared cohort or analysis.de.weights false): unweighted limma")
    tables, summary = de_pair(clusters, scores, settings["score"], expression, weights, settings)
    write_tsv(tables["sensitive_clusters"], smk.output.sensitive)
    write_tsv(tables["score_groups"], smk.output.score_groups)
    write_tsv(summary, smk.output.summary)


if __name__ == "__main__":
    main(snakemake_job())
