"""Adapter of rule evaluate_pair: metrics of every model and baseline, scores, gene effects and tests."""

from forge.io import write_tsv
from forge.modelling.evaluation import evaluate_pair
from forge.modelling.pairs import pair_record
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    setup_rule_logging(smk, "evaluate_pair")
    pair = pair_record(smk.input.pairs, smk.wildcards.pair)
    tables = evaluate_pair(dict(smk.input.items()), pair, smk.params.max_missing_fraction)
    for name, table in tables.items():
        write_tsv(table, smk.output[name])


if __name__ == "__main__":
    main(snakemake_job())
