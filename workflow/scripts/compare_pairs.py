"""Rule adapter: tables across pairs and the joint-vs-individual concordance test."""

import pandas as pd

from forge.modelling.interpretation import paired_concordance_test
from forge.io import write_tsv
from forge.rules import setup_rule_logging, snakemake_job


def concat(paths) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p, sep="\t") for p in paths], ignore_index=True)


def main(smk) -> None:
    log = setup_rule_logging(smk, "compare_pairs")
    metrics = concat(smk.input.metrics)
    comparison = concat(smk.input.comparison)
    concordance = concat(smk.input.concordance)
    pairs = pd.read_csv(smk.input.pairs, sep="\t").set_index("name")
    # controls are reported but kept out of the test: they carry no biology to align
    per_pair = concordance.groupby("pair")[["joint_r", "individual_r"]].mean()
    per_pair = per_pair[~pairs["control"].reindex(per_pair.index).fillna(False).astype(bool)]
    test = paired_concordance_test(per_pair)
    log.info("concordance over %d pairs: joint %.3f vs individual %.3f, one-sided P = %.3g",
             test.loc[0, "n_pairs"], test.loc[0, "mean_joint_r"], test.loc[0, "mean_individual_r"],
             test.loc[0, "p_value_one_sided"])
    write_tsv(metrics, smk.output.metrics)
    write_tsv(comparison, smk.output.comparison)
    write_tsv(per_pair.reset_index(), smk.output.concordance)
    write_tsv(test, smk.output.concordance_test)


if __name__ == "__main__":
    main(snakemake_job())
