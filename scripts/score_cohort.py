"""Rule adapter: score a configured cohort with a pair's reported model."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from io_utils import write_tsv  # noqa: E402
from rule_utils import setup_rule_logging  # noqa: E402
from scoring import score_file  # noqa: E402


def main(smk) -> None:
    log = setup_rule_logging(smk, "score_cohort")
    table, missing = score_file(smk.input.models, smk.input.expression, smk.params.kind,
                                smk.params.max_missing_fraction)
    log.info("%s: %d samples scored, %d model genes missing", smk.wildcards.cohort, len(table), len(missing))
    write_tsv(table, smk.output.scores)
    write_tsv(missing, smk.output.missing)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
