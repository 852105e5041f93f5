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

Memory (DepMap size, 1,700 × 54,000: 0.73 GB per float64 matrix): the counts are read in
column batches into one float64 block (:func:`read_counts`; reading the whole file at once
peaks at 3-4 GB), voom works gene block by gene block, the counts are freed before writing,
and each output is written from its own buffer without pandas/Arrow copies
(:func:`write_matrix`, byte-identical to :func:`forge.io.write_parquet_matrix`). Peak ≈ counts
+ expression + weights.
"""

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from forge.rules import setup_rule_logging
from forge.io import atomic_write, read_parquet_matrix, write_parquet_matrix, write_tsv
from forge.normalise import read_gene_universe, voom_with_filters

log = logging.getLogger("voom_expression")

# Gene columns per read batch (~55 MB of float64 at 1,700 samples).
READ_BATCH_COLUMNS = 4096


def read_counts(path, batch_columns: int = READ_BATCH_COLUMNS) -> pd.DataFrame:
    """:func:`forge.io.read_parquet_matrix` of a float64 matrix, read in column batches.

    Returns the same frame (index, labels, values) as ``read_parquet_matrix(path)``, with the
    data in one preallocated float64 block (each gene's column contiguous), so the peak is the
    matrix plus one batch instead of several copies of the matrix. Files this cannot read
    identically (non-float64 or repeated columns, a stored pandas index, few columns, or an
    unreadable schema) go through ``read_parquet_matrix`` whole, with its errors.
    """
    try:
        schema = pq.read_schema(path)
    except (OSError, ValueError):
        return read_parquet_matrix(path)  # raises its FileNotFoundError / InputFormatError
    names = [n for n in schema.names if n != "__index_level_0__"]
    genes = names[1:]
    pandas_index = (schema.pandas_metadata or {}).get("index_columns", [])
    if (
        len(genes) <= batch_columns
        or len(names) != len(schema.names)
        or pandas_index
        or len(set(names)) != len(names)
        or any(field.type != pa.float64() for field in list(schema)[1:])  # fields 1: are genes
    ):
        return read_parquet_matrix(path)
    # the index exactly as read_parquet_matrix builds it (one data column read with it)
    index = read_parquet_matrix(path, columns=genes[:1]).index
    parquet = pq.ParquetFile(path)
    if parquet.metadata.num_rows != len(index):  # cannot happen for one file; guard anyway
        raise RuntimeError(f"{path}: {parquet.metadata.num_rows} rows but an index of {len(index)}")
    block = np.empty((len(genes), len(index)), dtype=np.float64)
    for start in range(0, len(genes), batch_columns):
        batch = genes[start : start + batch_columns]
        table = parquet.read(columns=batch)
        if table.column_names != batch:
            raise RuntimeError(f"{path}: columns read differ from those asked for")
        for offset, column in enumerate(table.itercolumns()):
            block[start + offset] = column.to_numpy()  # nulls → NaN, as pandas' to_pandas
        del table
    pa.default_memory_pool().release_unused()  # Arrow keeps freed read buffers otherwise
    return pd.DataFrame(block.T, index=index, columns=[str(g) for g in genes], copy=False)


def write_matrix(df: pd.DataFrame, path) -> None:
    """:func:`forge.io.write_parquet_matrix` of a float64 matrix with a string index, copy-free.

    ``write_parquet_matrix`` copies the frame, resets its index (another copy) and converts it
    with ``pyarrow.Table.from_pandas`` (a third); here the Arrow table is built directly on the
    frame's column buffers, with the schema (pandas metadata included) that ``from_pandas``
    gives for the same frame, and written by the same ``pyarrow.parquet.write_table`` call as
    ``DataFrame.to_parquet``, so the file is byte-identical. Other frames are handed to
    ``write_parquet_matrix``.
    """
    columns = [str(c) for c in df.columns]
    index_name = df.index.name if df.index.name is not None else "index"
    if (
        len(df) == 0
        or df.attrs
        or index_name in columns
        or not all(dtype == np.float64 for dtype in df.dtypes)
        or pd.api.types.infer_dtype(df.index, skipna=False) != "string"
    ):
        write_parquet_matrix(df, path)
        return
    # The schema write_parquet_matrix's table gets: from_pandas of its frame's first row.
    head = df.iloc[:1].copy()
    head.columns = columns
    head.index = head.index.rename(index_name)
    schema = pa.Schema.from_pandas(head.reset_index(), preserve_index=False)
    values = df.to_numpy(dtype=np.float64)  # one float block: a view, columns contiguous
    arrays = [pa.array(np.asarray(df.index, dtype=object), type=schema.field(0).type, from_pandas=True)]
    arrays += [pa.array(values[:, j], type=pa.float64(), from_pandas=True) for j in range(values.shape[1])]
    table = pa.Table.from_arrays(arrays, schema=schema)
    del arrays
    with atomic_write(path) as tmp:
        pq.write_table(table, str(tmp), compression="snappy")


def main(smk) -> None:
    """Run the rule: read ``smk.input.counts``, write ``smk.output.expression`` / ``weights``."""
    setup_rule_logging(smk, "voom_expression")
    params = smk.params
    universe_path = getattr(params, "gene_universe", "") or ""
    universe = read_gene_universe(universe_path) if universe_path else None
    counts = read_counts(smk.input.counts)
    log.info("counts: %d samples × %d genes from %s", *counts.shape, smk.input.counts)
    expression, weights, dropped = voom_with_filters(
        counts,
        gene_universe=universe,
        min_count=float(getattr(params, "min_count", 0) or 0),
        min_samples=int(getattr(params, "min_samples", 1) or 1),
        counts_source=str(smk.input.counts),
        universe_source=f"{universe_path} (normalisation.gene_universe)",
    )
    del counts
    for reason, genes in dropped.items():
        log.info("dropped %d genes (%s): %s", len(genes), reason, ", ".join(genes))
    log.info("voom: %d samples × %d genes", *expression.shape)
    write_matrix(expression, smk.output.expression)
    del expression
    write_matrix(weights, smk.output.weights)
    del weights
    dropped_table = pd.DataFrame(
        [(gene, reason) for reason, genes in dropped.items() for gene in genes],
        columns=["gene", "reason"],
    )
    write_tsv(dropped_table, smk.output.dropped_genes)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # type: ignore[name-defined]  # noqa: F821
