"""Snakemake adapter: write the embedded demo dataset (raw-format files + planted truth).

Params: seed, n_cell_lines, n_genes, cells_per_condition.
Outputs: files inside one directory (e.g. resources/raw/demo/); the directory written is the
parent of ``snakemake.output[0]``. Log: ``snakemake.log[0]``.
The work is done by :func:`demo_data.write_demo_dataset`, which can be called without Snakemake.
"""

import time
from pathlib import Path


from forge.sources.demo_data import write_demo_dataset
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    """Run the generator with the rule's params and log a short summary."""
    log = setup_rule_logging(smk, "demo_raw_data")
    outdir = Path(smk.output[0]).parent
    params = {"seed": int(smk.params.seed),
              "n_cell_lines": int(smk.params.n_cell_lines),
              "n_genes": int(smk.params.n_genes),
              "cells_per_condition": int(smk.params.cells_per_condition)}
    log.info("writing demo dataset to %s with %s", outdir, params)
    started = time.perf_counter()
    truth = write_demo_dataset(outdir, **params)
    log.info("wrote %d files in %.1f s", len(truth["files"]), time.perf_counter() - started)
    for name in truth["files"]:
        log.info("  %s (%d bytes)", name, (outdir / name).stat().st_size)
    missing = [str(p) for p in smk.output if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"declared outputs not written by the generator: {missing}")


if __name__ == "__main__":
    main(snakemake_job())
