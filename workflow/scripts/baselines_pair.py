"""Rule adapter: baseline predictions of one pair (same split and genes as FORGE)."""

from pathlib import Path

import pandas as pd

from forge.modelling.baselines import fit_predict_baselines
from forge.io import atomic_write, write_tsv
from forge.modelling.pair_data import output_columns, read_pair_inputs
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "baselines_pair")
    pair, data, genes = read_pair_inputs(dict(smk.input.items()), smk.wildcards.pair, dict(smk.params.items()))
    samples = pd.read_csv(smk.input.samples, sep="\t", index_col="ModelID")
    settings = smk.params.baselines
    predictions, chosen, ridge = fit_predict_baselines(
        data, genes, samples["OncotreeLineage"], output_columns(pair, multi_drug=True),
        seed=settings["seed"], n_folds=settings["cv_folds"],
    )
    for row in chosen.itertuples():
        log.info("%s %s: %s", row.model, row.output, row.setting)
    write_tsv(predictions, smk.output.predictions)
    write_tsv(chosen, smk.output.settings)
    with atomic_write(smk.output.ridge) as tmp:
        Path(tmp).write_text(ridge.to_json())


if __name__ == "__main__":
    main(snakemake_job())
