"""Rule adapter: the pairs to model (configured table or automatic listing) with their counts."""

from pathlib import Path

import pandas as pd

from forge.io import MatrixArray, read_parquet_matrix, write_tsv
from forge.modelling.pairs import auto_pairs, count_pairs, read_pairs_table
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "select_pairs")
    expression = MatrixArray(Path(smk.input.expression_index).parent).frame()  # mapped, not read
    dependency = read_parquet_matrix(smk.input.dependency)
    response = read_parquet_matrix(smk.input.response)
    if smk.params.auto:
        drug_targets = pd.read_csv(smk.input.drug_targets, sep="\t")
        pairs = auto_pairs(drug_targets, expression, dependency, response, smk.params.min_cell_lines)
        log.info("auto mode: %d annotated pairs with >= %d complete cell lines",
                 len(pairs), smk.params.min_cell_lines)
        if pairs.empty:
            raise ValueError(
                f"no drug-target pair has >= {smk.params.min_cell_lines} cell lines with expression, "
                "dependency and IC50; lower pairs.min_cell_lines"
            )
    else:
        pairs = count_pairs(read_pairs_table(smk.input.table), expression, dependency, response)
        problems = pairs[~pairs["target_in_dependency"] | ~pairs["drug_in_response"] | (pairs["n_cell_lines"] < 20)]
        if len(problems):
            raise ValueError(
                f"{smk.input.table}: pairs without usable data (target not in the dependency matrix, "
                f"drug not in the response matrix, or < 20 complete cell lines):\n"
                + problems[["name", "target_in_dependency", "drug_in_response", "n_cell_lines"]].to_string(index=False)
            )
    for row in pairs.itertuples():
        log.info("%s: %d cell lines (%d with every drug of the multi-drug model)",
                 row.name, row.n_cell_lines, row.n_cell_lines_multi)
    write_tsv(pairs, smk.output[0])


if __name__ == "__main__":
    main(snakemake_job())
