"""Rule adapter: fit the joint FORGE model of one pair on its training samples."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pandas as pd  # noqa: E402

from forge_model import fit_pair_models  # noqa: E402
from pair_data import load_pair, output_columns  # noqa: E402
from rule_utils import setup_rule_logging  # noqa: E402


def main(smk) -> None:
    log = setup_rule_logging(smk, "train_pair")
    pair, settings = smk.params.pair, dict(smk.params.model)
    data = load_pair(smk.input, pair, smk.input.split)
    genes = pd.read_csv(smk.input.genes, sep="\t")["gene"].tolist()
    n_components, seed = settings.pop("n_components"), settings.pop("seed")
    log.info("pair %s: %d train samples, %d genes, k=%d, seed=%d, %s rule",
             pair["name"], len(data.train), len(genes), n_components, seed, settings["update"])
    model = fit_pair_models(
        data, genes, [seed], n_components, settings, output_columns(pair),
        metadata=dict(pair=pair["name"], target=pair["target"], drug=pair["drug"], kind="joint",
                      control=pair["control"]),
    )[0]
    log.info("fitted: %d iterations, converged=%s, rank=%d, final objective %.6g",
             model.metadata["n_iter"], model.metadata["converged"], model.metadata["rank"],
             model.metadata["final_loss"])
    model.save(Path(smk.output.model[0]).parent)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
