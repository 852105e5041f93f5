"""Rule adapter: score a configured cohort with a pair's reported model."""

from forge.io import write_tsv
from forge.rules import setup_rule_logging
from forge.modelling.scoring import score_file


def main(smk) -> None:
    log = setup_rule_logging(smk, "score_cohort")
    table, missing = score_file(smk.input.models, smk.input.expression, smk.params.kind,
                                smk.params.max_missing_fraction)
    log.info("%s: %d samples scored, %d model genes missing", smk.wildcards.cohort, len(table), len(missing))
    write_tsv(table, smk.output.scores)
    write_tsv(missing, smk.output.missing)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
