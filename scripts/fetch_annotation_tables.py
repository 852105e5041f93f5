"""Snakemake adapter: convert a downloaded annotation file into a workflow table.

Params: kind ("gene_spans": GENCODE GTF → gene spans CSV; "synonyms": NCBI gene_info →
alias,official_symbol CSV), tax_id (synonyms only). Input: input[0]. Output: output[0].
Log: log[0].
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import annotation  # noqa: E402
from io_utils import atomic_write  # noqa: E402
from rule_utils import setup_rule_logging  # noqa: E402


def main(smk) -> None:
    log = setup_rule_logging(smk, "fetch_annotation_tables")
    kind = smk.params.kind
    if kind == "gene_spans":
        table = annotation.gtf_gene_spans(smk.input[0])
    elif kind == "synonyms":
        table = annotation.ncbi_symbol_synonyms(smk.input[0], tax_id=str(smk.params.tax_id))
    else:
        raise ValueError(f"unknown conversion kind {kind!r}")
    with atomic_write(smk.output[0]) as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")
    log.info("%s: %d rows from %s", smk.output[0], len(table), smk.input[0])


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # type: ignore[name-defined]  # noqa: F821
