"""Adapter of rule summarise_validation: every validation test in one table (BH) and the score composition."""

from pathlib import Path

import pandas as pd

from forge.io import read_tsv_or_empty, write_tsv
from forge.rules import setup_rule_logging
from forge.validation.run import composition_row, summarise, training_cohort_composition

smk = snakemake  # noqa: F821
log = setup_rule_logging(smk, "summarise_validation")
tests, composition = [], []
for cohort in ("tahoe", "pdx"):
    for path in smk.input[f"{cohort}_tests"]:
        tests.append((cohort, Path(path).parent.name, read_tsv_or_empty(path)))
    for path in smk.input[f"{cohort}_scores"]:
        composition.append(composition_row(cohort, Path(path).parent.name, read_tsv_or_empty(path)))
for path in smk.input.cohort_scores:
    composition.append(training_cohort_composition(Path(path).parent.name, read_tsv_or_empty(path)))
summary = summarise(tests)
log.info("%d tests across %d cohort-pair combinations", len(summary), len(tests))
write_tsv(summary, smk.output.summary)
write_tsv(pd.DataFrame(composition), smk.output.composition)
