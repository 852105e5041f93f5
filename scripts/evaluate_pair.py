"""Rule adapter: metrics, Benefit Scores and gene effects of a pair's joint model."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pandas as pd  # noqa: E402

from forge_model import evaluate_model, load_model  # noqa: E402
from io_utils import read_parquet_matrix, write_tsv  # noqa: E402
from pair_data import load_pair  # noqa: E402
from rule_utils import setup_rule_logging  # noqa: E402


def main(smk) -> None:
    log = setup_rule_logging(smk, "evaluate_pair")
    pair = smk.params.pair
    model = load_model(Path(smk.input.model[0]).parent)
    data = load_pair(smk.input, pair, smk.input.split)

    metrics = evaluate_model(model, data)
    metrics.insert(0, "pair", pair["name"])
    metrics.insert(1, "control", pair["control"])
    for row in metrics.itertuples():
        log.info("%s %s %s: pearson %.3f", row.pair, row.split, row.output, row.pearson)

    # Score every sample of the cohort with expression; the split column says which
    # ones the model saw (train), held out (test) or never had outputs for (unlabelled).
    expression = read_parquet_matrix(smk.input.expression)
    scores, missing = model.benefit_score(
        expression, max_missing_fraction=smk.params.max_missing_fraction
    )
    predicted = model.predict(expression, max_missing_fraction=smk.params.max_missing_fraction)
    samples = pd.read_csv(smk.input.samples, sep="\t", index_col="ModelID")
    table = pd.concat([scores, predicted.add_prefix("predicted_")], axis=1)
    table = table.join(data.outputs.add_prefix("observed_"))
    table["split"] = data.split.reindex(table.index).fillna("unlabelled")
    table["lineage"] = samples["OncotreeLineage"].reindex(table.index)
    median = table.loc[table["split"] != "unlabelled", "benefit_score"].median()
    table["score_group"] = (table["benefit_score"] > median).map({True: "high", False: "low"})
    table.index.name = "sample"

    write_tsv(metrics, smk.output.metrics)
    write_tsv(table.reset_index(), smk.output.scores)
    write_tsv(model.gene_effects().reset_index(), smk.output.effects)
    write_tsv(missing, smk.output.missing)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
