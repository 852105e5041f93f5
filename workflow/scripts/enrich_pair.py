"""Adapter of rule enrich_pair: over-representation of DE and TotalInfluence gene lists in the GMT libraries."""

import pandas as pd

from forge.analysis.pair import enrich_pair, read_libraries, read_universe
from forge.io import read_matrix_array_index, write_tsv
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "enrich_pair")
    settings = smk.params.enrichment
    de_tables = {name: pd.read_csv(smk.input[key], sep="\t", dtype={"gene": str})
                 for name, key in (("sensitive_clusters", "sensitive"), ("score_groups", "score_groups"))}
    effects = pd.read_csv(smk.input.effects, sep="\t", dtype={"gene": str})
    libraries = read_libraries(list(smk.input.libraries))
    universe = read_universe(smk.input.universe) if "universe" in smk.input.keys() else None
    log.info("libraries: %s; background: %s", {k: len(v) for k, v in libraries.items()},
             f"universe of {len(universe)} genes" if universe else "the tested genes")
    table, lists = enrich_pair(de_tables, effects, read_matrix_array_index(smk.input.expression_index)["features"], libraries, settings, universe)
    write_tsv(table, smk.output.enrichment)
    write_tsv(lists, smk.output.lists)


if __name__ == "__main__":
    main(snakemake_job())
