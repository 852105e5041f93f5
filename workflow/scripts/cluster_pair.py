"""Adapter of rule cluster_pair: Ward + cutreeHybrid clusters of the embedding, the sensitive-cluster rule, stability."""

from forge.analysis.pair import cluster_pair
from forge.io import read_tsv_indexed, write_tsv
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    setup_rule_logging(smk, "cluster_pair")
    tables = cluster_pair(read_tsv_indexed(smk.input.embedding, "sample"), read_tsv_indexed(smk.input.consensus, "sample"),
                          smk.params.samples, smk.params.clustering)
    for name, table in tables.items():
        write_tsv(table, smk.output[name])


if __name__ == "__main__":
    main(snakemake_job())
