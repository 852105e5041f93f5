"""Adapter of rule build_cohort: raw DepMap + CREAMMIST + annotation files → one processed cohort.

Named inputs: counts, profiles, models, dependency, ic50, drug_targets, and optionally
creammist_cell_lines and synonyms. Params: non_integer_counts (data.non_integer_counts:
refuse or round). Named outputs: counts, dependency, response, drug_targets,
samples, id_mapping, dropped, gene_mapping. Library: :mod:`forge.sources.cohort`.
"""

from forge.rules import optional_input, setup_rule_logging, snakemake_job
from forge.sources.cohort import build_cohort, write_cohort


def main(smk) -> None:
    setup_rule_logging(smk, "build_cohort")
    inputs = smk.input
    cohort = build_cohort(
        counts_path=inputs.counts,
        profiles_path=inputs.profiles,
        models_path=inputs.models,
        dependency_path=inputs.dependency,
        ic50_path=inputs.ic50,
        drug_targets_path=inputs.drug_targets,
        creammist_cell_lines_path=optional_input(inputs, "creammist_cell_lines"),
        synonyms_path=optional_input(inputs, "synonyms"),
        non_integer_counts=getattr(smk.params, "non_integer_counts", "refuse"),
    )
    write_cohort(cohort, dict(smk.output.items()))


if __name__ == "__main__":
    main(snakemake_job())
