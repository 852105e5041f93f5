"""Rule adapter: k tuning curve and optional training-set cross-validation for one pair."""

import json
from pathlib import Path


import pandas as pd

from forge.io import atomic_write, write_tsv
from forge.modelling.pair_data import read_pair_inputs
from forge.rules import setup_rule_logging, snakemake_job
from forge.modelling.training import cross_validate, solver_options, tuning_curve


def main(smk) -> None:
    log = setup_rule_logging(smk, "tune_pair")
    pair, data, genes = read_pair_inputs(dict(smk.input.items()), smk.wildcards.pair, dict(smk.params.items()))
    model, tuning = smk.params.model, smk.params.tuning
    options = solver_options(model)

    curve = tuning_curve(data, genes, tuning["k_grid"], tuning["n_init"], model["seed"], options)
    summary = curve.groupby(["split", "output", "n_components"])["pearson"].mean().unstack("n_components")
    log.info("mean Pearson r by k:\n%s", summary.round(3).to_string())
    write_tsv(curve, smk.output.curve)

    chosen = {key: model[key] for key in ("n_components", "learning_rate", "l1_penalty", "max_iter")}
    source = "config"
    cv_settings = tuning["cv"]
    if cv_settings["enabled"]:
        grid = {key: cv_settings[key] for key in ("n_components", "learning_rate", "l1_penalty", "max_iter")}
        table, chosen = cross_validate(data, genes, grid, cv_settings["folds"], cv_settings["seed"], options)
        source = f"{cv_settings['folds']}-fold cross-validation on training samples"
        log.info("cross-validation chose %s", chosen)
    else:
        table = pd.DataFrame(columns=["n_components", "learning_rate", "l1_penalty", "max_iter", "fold",
                                      "validation_error"])
    write_tsv(table, smk.output.cv)
    with atomic_write(smk.output.chosen) as tmp:
        Path(tmp).write_text(json.dumps(dict(chosen, source=source), indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(snakemake_job())
