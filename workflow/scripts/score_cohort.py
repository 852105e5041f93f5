"""Rule adapter: score a configured cohort with a pair's reported model, under the cohort's recipe."""

from forge.io import write_tsv
from forge.modelling.scoring import cohort_platform_shift, score_file
from forge.modelling.transfer import Recipe
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "score_cohort")
    recipe = Recipe(smk.params.scaling, smk.params.weights, smk.params.min_cohort_size)
    table, missing = score_file(smk.input.models, smk.input.expression, smk.params.kind,
                                smk.params.max_missing_fraction, recipe)
    log.info("%s: %d samples scored (%s), %d model genes missing", smk.wildcards.cohort, len(table), recipe.label,
             len(missing))
    shift = cohort_platform_shift(smk.input.models, smk.input.expression, smk.params.kind,
                                  smk.params.max_missing_fraction)
    write_tsv(table, smk.output.scores)
    write_tsv(missing, smk.output.missing)
    write_tsv(shift, smk.output.shift)


if __name__ == "__main__":
    main(snakemake_job())
