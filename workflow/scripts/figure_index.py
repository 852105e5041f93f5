"""Adapter of rule figure_index: every figure's panel rows in one table (results/<run>/figures/index.tsv)."""

import pandas as pd

from forge.figures.report import paper_context
from forge.io import write_tsv
from forge.rules import setup_rule_logging

smk = snakemake  # noqa: F821
log = setup_rule_logging(smk, "figure_index")
index = pd.concat([pd.read_csv(path, sep="\t", keep_default_na=False) for path in smk.input.figures],
                  ignore_index=True)
pairs = pd.read_csv(smk.input.pairs, sep="\t", keep_default_na=False)
index.insert(4, "paper_context", [paper_context(name, pairs) for name in index["name"]])
log.info("%d panels in %d figures; %d not drawn", len(index), index[["figure", "name"]].drop_duplicates().shape[0],
         int((index["status"] != "drawn").sum()))
write_tsv(index, smk.output[0])
