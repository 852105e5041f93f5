"""Rule adapter: cell-line split and training-only gene selection for one pair."""

from pathlib import Path

import pandas as pd

from forge.io import InputFormatError, MatrixArray, read_parquet_matrix, write_tsv
from forge.modelling.model import (
    check_split_sizes,
    read_fixed_split,
    select_correlated_genes,
    split_by_lineage,
    split_requirements,
    split_samples,
    subset_average_ranks,
)
from forge.modelling.pair_data import assemble_outputs, check_outputs_vary, write_pair_slices
from forge.modelling.pairs import pair_record
from forge.normalise import read_gene_universe
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "prepare_pair")
    pair = pair_record(smk.input.pairs, smk.wildcards.pair)
    cohort = MatrixArray(Path(smk.input.expression_index).parent)
    expression = cohort.frame()  # backed by the read-only map: no copy of the whole matrix
    dependency = read_parquet_matrix(smk.input.dependency)
    response = read_parquet_matrix(smk.input.response)
    sources = dict(dependency=smk.input.dependency, response=smk.input.response)
    outputs, dropped = assemble_outputs(expression, dependency, response, pair, sources)
    log.info("pair %s: %d samples with complete data, %d dropped", pair["name"], len(outputs), len(dropped))

    settings = smk.params.split
    if "split_file" in smk.input.keys():
        split, not_in_file = read_fixed_split(smk.input.split_file, outputs.index)
        dropped = pd.concat([dropped, not_in_file], ignore_index=True)
        log.info("fixed split from %s", smk.input.split_file)
    elif settings["scheme"] == "lineage":
        samples = pd.read_csv(smk.input.samples, sep="\t", index_col="ModelID")
        lineage = samples["OncotreeLineage"].reindex(outputs.index)
        split = split_by_lineage(lineage, settings["test_fraction"], settings["seed"], pair=pair["name"])
        held_out = sorted(lineage[split == "test"].fillna("(missing lineage)").unique())
        log.info("lineage-blind split; held-out lineages: %s", ", ".join(held_out))
    else:
        split = split_samples(outputs.index, settings["test_fraction"], settings["seed"], pair=pair["name"])
    # refuse here, before any fitting, a split too small for what the configuration runs on it
    counted = outputs.loc[split.index]
    if pair.get("extra_drugs") and "multi_drug" in smk.params.kinds:
        complete = counted.notna().all(axis=1)
        counted = counted.assign(**{"every drug (multi_drug model)": complete.where(complete)})
    key = "split.file" if "split_file" in smk.input.keys() else "split.test_fraction"
    check_split_sizes(split, pair["name"], counted, split_requirements(smk.params.requirements), key=key,
                      value=None if key == "split.file" else settings["test_fraction"])
    train = split.index[split == "train"]
    check_outputs_vary(outputs, train, pair["name"], sources)  # a constant output: refused, not modelled

    if "genes_file" in smk.input.keys():
        # one or more symbols per line, read under the text input policy (BOM, CRLF, gzip)
        listed = [g for line in read_gene_universe(smk.input.genes_file) for g in line.split()]
        absent = [g for g in listed if g not in expression.columns]
        if absent:
            raise InputFormatError(f"{smk.input.genes_file}: {len(absent)} genes have no expression column, e.g. {absent[:5]}")
        genes = pd.DataFrame({"gene": listed, "selected_for": "genes.file"}).set_index("gene")
    else:
        forced = [pair["target"]] if smk.params.genes["include_target"] else []
        if forced and pair["target"] not in expression.columns:
            log.warning("target gene %s has no expression column; not forced into the gene set", pair["target"])
        columns = outputs.columns[:2]
        # the training samples' ranks from the cohort's per-gene sort orders (equal to ranking them)
        ranks = subset_average_ranks(cohort.values, cohort.rank_order, expression.index.get_indexer(train))
        genes = select_correlated_genes(
            expression.loc[train], outputs.loc[train, columns], smk.params.genes["n_per_target"], forced,
            ranks=ranks,
        )
    log.info("%d train / %d test samples, %d genes", len(train), (split == "test").sum(), len(genes))
    write_pair_slices(expression, dependency, response, pair, genes.index.tolist(), smk.output.expression,
                      smk.output.outputs)
    write_tsv(split.reset_index(), smk.output.split)
    write_tsv(genes.reset_index(), smk.output.genes)
    write_tsv(dropped, smk.output.dropped)


if __name__ == "__main__":
    main(snakemake_job())
