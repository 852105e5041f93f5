"""Rule adapter: baseline predictions of one pair (same split and genes as FORGE)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pandas as pd  # noqa: E402

from baselines import fit_predict_baselines  # noqa: E402
from io_utils import write_tsv  # noqa: E402
from pair_data import load_pair, output_columns  # noqa: E402
from pairs import pair_record  # noqa: E402
from rule_utils import blas_threads, setup_rule_logging  # noqa: E402


def main(smk) -> None:
    log = setup_rule_logging(smk, "baselines_pair")
    pair = pair_record(smk.input.pairs, smk.wildcards.pair)
    data = load_pair(smk.input, pair, smk.input.split)
    genes = pd.read_csv(smk.input.genes, sep="\t")["gene"].tolist()
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
