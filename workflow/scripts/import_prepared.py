"""Rule adapter: a prepared cohort (data.source = prepared) into the processed cohort format."""

import pandas as pd

from forge.io import write_parquet_matrix, write_tsv
from forge.sources.prepared import read_prepared
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "import_prepared")
    models = smk.input.get("models") if hasattr(smk.input, "get") else getattr(smk.input, "models", None)
    tables = read_prepared(smk.input.expression, smk.input.outputs, models or None)
    log.info("prepared cohort: %d samples x %d genes; targets %s; drugs %s; %d samples without lineage",
             *tables["expression"].shape, list(tables["dependency"].columns), list(tables["response"].columns),
             len(tables["dropped"]))
    write_parquet_matrix(tables["expression"], smk.output.expression)
    write_parquet_matrix(tables["dependency"], smk.output.dependency)
    write_parquet_matrix(tables["response"], smk.output.response)
    write_tsv(tables["samples"], smk.output.samples)
    write_tsv(tables["dropped"], smk.output.dropped)
    # no drug annotation in a prepared cohort: pairs come from the pairs table
    write_tsv(pd.DataFrame(columns=["drug", "target"]), smk.output.drug_targets)


if __name__ == "__main__":
    main(snakemake_job())
