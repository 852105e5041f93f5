"""Adapter of rule who_benefits: a pair's samples ranked by Benefit Score, with names and lineages."""

import pandas as pd

from forge.modelling.interpretation import who_benefits
from forge.io import write_tsv
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    setup_rule_logging(smk, "who_benefits")
    scores = pd.read_csv(smk.input.scores, sep="\t", dtype={"sample": str})
    samples = pd.read_csv(smk.input.samples, sep="\t", dtype={"ModelID": str})
    write_tsv(who_benefits(scores, samples), smk.output[0])


if __name__ == "__main__":
    main(snakemake_job())
