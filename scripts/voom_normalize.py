"""Snakemake adapter: raw counts parquet → voom logCPM and weights parquet.

Named input: counts (ModelID/sample × symbol parquet from build_cohort).
Named outputs: expression (voom log2-CPM), weights (voom precision weights), same shape;
dropped_genes (gene, reason: not_in_universe / low_expression).
Params (all optional):
  gene_universe  path to a text file with one symbol per line, or "" for no restriction;
  min_count      low-expression filter: minimum raw count (0 = filter off, the default);
  min_samples    samples that must reach min_count (default 1).
Log: snakemake.log[0].

Library sizes are always the column sums over *all* genes of the input, taken before any gene
filter, so that restricting the gene set does not rescale a sample's CPM values.
"""


import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pandas as pd  # noqa: E402

import normalize  # noqa: E402
from rule_utils import setup_rule_logging  # noqa: E402
from io_utils import read_parquet_matrix, write_parquet_matrix, write_tsv  # noqa: E402

log = logging.getLogger("voom_normalize")


def read_gene_universe(path: str | Path) -> list[str]:
    """Read one gene symbol per line (blank lines and ``#`` comments ignored)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [s.strip() for s in lines if s.strip() and not s.startswith("#")]


def voom_with_filters(
    counts: pd.DataFrame,
    gene_universe: list[str] | None = None,
    min_count: float = 0,
    min_samples: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """Filter genes, then voom with library sizes from the unfiltered counts.

    Parameters
    ----------
    counts
        Raw counts, samples × genes.
    gene_universe
        Optional allowed symbols.
    min_count, min_samples
        Low-expression filter (see :func:`normalize.filter_low_expression`); off by default.

    Returns
    -------
    expression, weights
        Samples × kept genes.
    dropped
        ``{"not_in_universe": [...], "low_expression": [...]}``.
    """
    library_size = counts.sum(axis=1)
    dropped: dict[str, list[str]] = {"not_in_universe": [], "low_expression": []}
    kept = counts
    if gene_universe is not None:
        kept, dropped["not_in_universe"] = normalize.filter_genes(kept, gene_universe)
    kept, dropped["low_expression"] = normalize.filter_low_expression(kept, min_count, min_samples)
    expression, weights = normalize.voom_logcpm(kept, library_size=library_size)
    return expression, weights, dropped


def main(smk) -> None:
    """Run the rule: read ``smk.input.counts``, write ``smk.output.expression`` / ``weights``."""
    setup_rule_logging(smk, "voom_normalize")
    params = smk.params
    universe_path = getattr(params, "gene_universe", "") or ""
    universe = read_gene_universe(universe_path) if universe_path else None
    counts = read_parquet_matrix(smk.input.counts)
    log.info("counts: %d samples × %d genes from %s", *counts.shape, smk.input.counts)
    expression, weights, dropped = voom_with_filters(
        counts,
        gene_universe=universe,
        min_count=float(getattr(params, "min_count", 0) or 0),
        min_samples=int(getattr(params, "min_samples", 1) or 1),
    )
    for reason, genes in dropped.items():
        log.info("dropped %d genes (%s): %s", len(genes), reason, ", ".join(genes))
    log.info("voom: %d samples × %d genes", *expression.shape)
    write_parquet_matrix(expression, smk.output.expression)
    write_parquet_matrix(weights, smk.output.weights)
    dropped_table = pd.DataFrame(
        [(gene, reason) for reason, genes in dropped.items() for gene in genes],
        columns=["gene", "reason"],
    )
    write_tsv(dropped_table, smk.output.dropped_genes)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # type: ignore[name-defined]  # noqa: F821
