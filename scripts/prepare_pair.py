"""Rule adapter: cell-line split and training-only gene selection for one pair."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from forge_model import select_correlated_genes, split_samples  # noqa: E402
from io_utils import read_parquet_matrix, write_tsv  # noqa: E402
from pair_data import assemble_outputs  # noqa: E402
from rule_utils import setup_rule_logging  # noqa: E402


def main(smk) -> None:
    log = setup_rule_logging(smk, "prepare_pair")
    pair = smk.params.pair
    expression = read_parquet_matrix(smk.input.expression)
    dependency = read_parquet_matrix(smk.input.dependency)
    response = read_parquet_matrix(smk.input.response)
    sources = dict(dependency=smk.input.dependency, response=smk.input.response)
    outputs, dropped = assemble_outputs(expression, dependency, response, pair, sources)
    log.info("pair %s: %d samples with complete data, %d dropped", pair["name"], len(outputs), len(dropped))
    if len(outputs) < 20:
        raise ValueError(f"pair {pair['name']}: only {len(outputs)} samples have expression, dependency and IC50")

    split = split_samples(outputs.index, smk.params.split["test_fraction"], smk.params.split["seed"])
    train = split.index[split == "train"]
    forced = [pair["target"]] if smk.params.genes["include_target"] else []
    if forced and pair["target"] not in expression.columns:
        log.warning("target gene %s has no expression column; not forced into the gene set", pair["target"])
    genes = select_correlated_genes(
        expression.loc[train], outputs.loc[train], smk.params.genes["n_per_target"], forced
    )
    log.info("%d train / %d test samples, %d genes selected on training samples",
             len(train), (split == "test").sum(), len(genes))
    write_tsv(split.reset_index(), smk.output.split)
    write_tsv(genes.reset_index(), smk.output.genes)
    write_tsv(dropped, smk.output.dropped)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
