"""Adapter of rule summarise_validation: every validation test in one table (BH over the reported model's
tests), the score composition, and the robustness rows of every cohort and pair with their summary."""

from pathlib import Path

import pandas as pd

from forge.io import read_tsv_or_empty, write_tsv
from forge.rules import setup_rule_logging, snakemake_job
from forge.validation.robustness import summarise_robustness
from forge.validation.run import composition_row, primary_rows, summarise, training_cohort_composition


def main(smk) -> None:
    log = setup_rule_logging(smk, "summarise_validation")
    tests, composition, robustness = [], [], []
    for cohort in ("tahoe", "pdx"):
        for path in smk.input[f"{cohort}_tests"]:
            tests.append((cohort, Path(path).parent.name, read_tsv_or_empty(path)))
        for path in smk.input[f"{cohort}_scores"]:
            composition.append(composition_row(cohort, Path(path).parent.name, primary_rows(read_tsv_or_empty(path))))
        for path in smk.input[f"{cohort}_robustness"]:
            table = read_tsv_or_empty(path)
            if len(table):
                table.insert(0, "pair", Path(path).parent.name)
                table.insert(0, "cohort", cohort)
                robustness.append(table)
    for path in smk.input.cohort_scores:
        composition.append(training_cohort_composition(Path(path).parent.name, read_tsv_or_empty(path)))
    rows = pd.concat(robustness, ignore_index=True) if robustness else pd.DataFrame()
    robustness_summary = summarise_robustness(rows)
    summary = summarise(tests, robustness_summary)
    log.info("%d tests across %d cohort-pair combinations; %d robustness rows summarised in %d settings", len(summary),
             len(tests), len(rows), len(robustness_summary))
    write_tsv(summary, smk.output.summary)
    write_tsv(pd.DataFrame(composition), smk.output.composition)
    write_tsv(rows, smk.output.robustness)
    write_tsv(robustness_summary, smk.output.robustness_summary)


if __name__ == "__main__":
    main(snakemake_job())
