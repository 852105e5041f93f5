"""Rule adapter: joint models of one further validated k (validation.k) of a pair, every replicate.

Writes ``<models>/rep<b>/model.{npz,json}`` with the reported model's seeds (seed + b) and solver
settings; only the number of latent dimensions differs.
"""

import json
from pathlib import Path

from forge.modelling.pair_data import read_pair_inputs
from forge.modelling.training import fit_replicates, replicate_seeds, save_replicates, solver_options
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "train_pair_k")
    pair, data, genes = read_pair_inputs(dict(smk.input.items()), smk.wildcards.pair, dict(smk.params.items()))
    model = dict(smk.params.model)
    source = "config"
    if "chosen" in smk.input.keys():  # the cross-validated learning rate, l1 penalty and epochs; k is this rule's
        chosen = json.loads(Path(smk.input.chosen).read_text())
        source = chosen.pop("source")
        model.update({key: value for key, value in chosen.items() if key != "n_components"})
    k = int(smk.wildcards.k)
    seeds = replicate_seeds(model["seed"], model["replicates"])
    log.info("pair %s: %d train samples, %d genes, k=%d (validation), seeds %s (other hyper-parameters from %s)",
             pair["name"], len(data.train), len(genes), k, seeds, source)
    metadata = dict(pair=pair["name"], target=pair["target"], drug=pair["drug"], control=pair["control"],
                    hyperparameter_source=source, purpose="validation.k")
    fitted = fit_replicates(data, genes, ["joint"], seeds, k, solver_options(model), metadata)["joint"]

    log.info("k=%d: %d replicates, final objective %s", k, len(fitted),
             [round(m.metadata["final_loss"], 4) for m in fitted])
    save_replicates({"": fitted}, smk.output.models)


if __name__ == "__main__":
    main(snakemake_job())
