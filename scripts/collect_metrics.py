"""Rule adapter: one metrics table across pairs."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pandas as pd  # noqa: E402

from io_utils import write_tsv  # noqa: E402
from rule_utils import setup_rule_logging  # noqa: E402


def main(smk) -> None:
    log = setup_rule_logging(smk, "collect_metrics")
    table = pd.concat([pd.read_csv(path, sep="\t") for path in smk.input], ignore_index=True)
    log.info("collected %d metric rows over %d pairs", len(table), table["pair"].nunique())
    write_tsv(table, smk.output[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
