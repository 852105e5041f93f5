"""Adapter of rule figure_index: every figure's panel rows in one table (results/<run>/figures/index.tsv)."""

import pandas as pd

from forge.figures.registry import figure_subject, load_all
from forge.figures.report import paper_context
from forge.io import write_tsv
from forge.modelling.pairs import read_selected_pairs
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "figure_index")
    index = pd.concat([pd.read_csv(path, sep="\t", keep_default_na=False) for path in smk.input.figures],
                      ignore_index=True)
    specs = load_all()
    pairs = read_selected_pairs(smk.input.pairs)
    index.insert(4, "paper_context", [paper_context(figure_subject(specs[figure], name, pairs).pair)
                                      for figure, name in zip(index["figure"], index["name"])])
    log.info("%d panels in %d figures; %d not drawn", len(index), index[["figure", "name"]].drop_duplicates().shape[0],
             int((index["status"] != "drawn").sum()))
    write_tsv(index, smk.output[0])


if __name__ == "__main__":
    main(snakemake_job())
