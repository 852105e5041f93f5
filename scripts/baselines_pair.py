"""Rule adapter: baseline predictions of one pair (same split and genes as FORGE)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pandas as pd  # noqa: E402

from baselines import fit_predict_baselines  # noqa: E402
from io_utils import write_tsv  # noqa: E402
from pair_data import output_columns, rule_pair_inputs  # noqa: E402
from rule_utils import blas_threads, setup_rule_logging  # noqa: E402


def main(smk) -> None:
    log = setup_rule_logging(smk, "baselines_pair")
    pair, data, genes = rule_pair_inputs(smk)
    samples = pd.read_csv(smk.input.samples, sep="\t", index_col="ModelID")
    settings = smk.params.baselines
    predictions, chosen = fit_predict_baselines(
        data, genes, samples["OncotreeLineage"], output_columns(pair, multi_drug=True),
        seed=settings["seed"], n_folds=settings["cv_folds"],
    )
    for row in chosen.itertuples():
        log.info("%s %s: %s", row.model, row.output, row.setting)
    write_tsv(predictions, smk.output.predictions)
    write_tsv(chosen, smk.output.settings)


if __name__ == "__main__":
    with blas_threads(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
