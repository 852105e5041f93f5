"""Rule adapter: every model kind x replicate of one pair, on its training samples.

Writes ``<models>/<kind>/rep<b>/model.{npz,json}``; replicate 0 of the joint model is
the pair's reported model.
"""

import json
from pathlib import Path


from forge.modelling.pair_data import read_pair_inputs
from forge.rules import setup_rule_logging, snakemake_job
from forge.modelling.training import fit_replicates, replicate_seeds, save_replicates, solver_options
from forge.modelling.training import model_kinds


def main(smk) -> None:
    log = setup_rule_logging(smk, "train_pair")
    log.info("job threads (BLAS limit): %d", smk.threads)
    pair, data, genes = read_pair_inputs(dict(smk.input.items()), smk.wildcards.pair, dict(smk.params.items()))
    model = dict(smk.params.model)
    source = "config"
    if "chosen" in smk.input.keys():  # tuning.cv chose the hyper-parameters
        chosen = json.loads(Path(smk.input.chosen).read_text())
        source = chosen.pop("source")
        model.update(chosen)
    seeds = replicate_seeds(model["seed"], model["replicates"])
    kinds = model_kinds(model["kinds"], pair)
    log.info("pair %s: %d train samples, %d genes, k=%d, %s rule, kinds %s, seeds %s (hyper-parameters from %s)",
             pair["name"], len(data.train), len(genes), model["n_components"], model["update"], kinds, seeds, source)
    metadata = dict(pair=pair["name"], target=pair["target"], drug=pair["drug"], control=pair["control"],
                    hyperparameter_source=source)
    fitted = fit_replicates(data, genes, kinds, seeds, model["n_components"], solver_options(model), metadata)

    for kind, models in fitted.items():
        log.info("%s: %d replicates, final objective %s", kind, len(models),
                 [round(m.metadata["final_loss"], 4) for m in models])
    save_replicates(fitted, smk.output.models)


if __name__ == "__main__":
    main(snakemake_job())
