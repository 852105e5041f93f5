"""Snakemake adapter: per-plate pseudo-bulk tables → one count matrix with official symbols.

Named inputs: counts, samples, qc (lists, one per plate), synonyms (alias table),
optional reference (a samples × genes parquet whose columns are the known genes, e.g. the
cohort counts). Named outputs: counts (pseudobulk_counts.parquet), samples (samples.tsv),
gene_mapping (gene_mapping.tsv), qc (qc.tsv). Params: min_cells. Log: snakemake.log[0].
"""

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import tahoe  # noqa: E402
from io_utils import read_parquet_matrix, write_parquet_matrix, write_tsv  # noqa: E402
from parsers import read_symbol_synonyms  # noqa: E402
from rule_utils import setup_rule_logging  # noqa: E402

log = logging.getLogger("tahoe_combine")


def reference_genes(path: str | Path) -> list[str]:
    """Gene columns of a matrix parquet, read from its schema only (no data)."""
    names = pq.read_schema(path).names
    return [str(n) for n in names[1:]]  # the first column holds the sample index


def run(counts_paths: list, samples_paths: list, qc_paths: list, synonyms_path: str | Path,
        outputs: dict[str, str | Path], min_cells: int = 1, reference_path: str | Path | None = None) -> None:
    """Combine plates, map gene symbols, write the four outputs."""
    plates = []
    for counts_path, samples_path in zip(counts_paths, samples_paths):
        counts = read_parquet_matrix(counts_path)
        samples = pd.read_csv(samples_path, sep="\t", dtype={"cell_line": str, "plate": str})
        plates.append((counts, samples))
    counts, samples, missing, excluded = tahoe.combine_plates(plates, min_cells=min_cells)
    if missing:
        log.warning("%d genes absent from some plate are left out: %s", len(missing), ", ".join(missing[:20]))
    for row in excluded.itertuples(index=False):
        log.info("sample %s excluded: %d kept cells < min_cells %d", row.sample, row.n_cells, min_cells)
    reference = reference_genes(reference_path) if reference_path else None
    mapped, mapping = tahoe.map_genes(counts, read_symbol_synonyms(synonyms_path), reference, missing)
    log.info("genes: %d in the plates, %d in the matrix; %s", len(counts.columns), mapped.shape[1],
             mapping["status"].value_counts().to_dict())
    qc = pd.concat([pd.read_csv(p, sep="\t", dtype={"plate": str}) for p in qc_paths], ignore_index=True)
    qc["n_samples"] = [int((samples["plate"] == p).sum()) for p in qc["plate"]]
    qc["n_samples_below_min_cells"] = [int((excluded["plate"] == p).sum()) for p in qc["plate"]]
    mapped.index.name = "sample"
    write_parquet_matrix(mapped, outputs["counts"])
    write_tsv(samples, outputs["samples"])
    write_tsv(mapping, outputs["gene_mapping"])
    write_tsv(qc, outputs["qc"])


def main(smk) -> None:
    """Run the rule."""
    setup_rule_logging(smk, "tahoe_combine")
    reference = smk.input.get("reference")  # present when tahoe.gene_reference is "cohort"
    run(list(smk.input.counts), list(smk.input.samples), list(smk.input.qc), smk.input.synonyms,
        {k: smk.output[k] for k in ("counts", "samples", "gene_mapping", "qc")},
        min_cells=int(smk.params.min_cells), reference_path=reference or None)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # type: ignore[name-defined]  # noqa: F821
