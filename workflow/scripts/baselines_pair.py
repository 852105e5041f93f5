"""Rule adapter: baseline predictions of one pair (same split and genes as FORGE)."""

from pathlib import Path

import pandas as pd

from forge.modelling.baselines import fit_predict_baselines
from forge.io import atomic_write, write_tsv
from forge.modelling.pair_data import output_columns, rule_pair_inputs
from forge.rules import blas_threads, setup_rule_logging


def main(smk) -> None:
    log = setup_rule_logging(smk, "baselines_pair")
    pair, data, genes = rule_pair_inputs(smk)
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
    with blas_threads(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
