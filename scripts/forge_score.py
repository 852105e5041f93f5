#!/usr/bin/env python3
"""Score a cohort with a trained FORGE model, outside Snakemake.

    python scripts/forge_score.py --model results/demo/models/EGFR_ERLOTINIB --expression cohort.csv --out scores.tsv

``--model`` is a model directory (model.json + model.npz) or a pair's models directory
(its reported model, joint/rep00, is used). ``--expression`` is samples x genes (CSV,
TSV or Parquet; first column sample ids), normalised expression by default or raw counts
with ``--counts`` (voom logCPM, per sample). Model genes missing from the file are set to
their training mean and listed in ``<out>.missing_genes.tsv``.
"""

from __future__ import annotations

import argparse
import sys


def fraction(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value:g} is outside [0, 1] (a fraction of the model's genes)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="forge-score", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="model directory or a pair's models directory")
    parser.add_argument("--expression", required=True, help="samples x genes file (CSV, TSV or Parquet)")
    parser.add_argument("--out", required=True, help="output TSV of scores")
    parser.add_argument("--counts", action="store_true", help="the file holds raw counts (voom first)")
    parser.add_argument("--max-missing-fraction", type=fraction, default=0.5,
                        help="largest fraction of the model's genes a sample may lack (0 to 1; default 0.5)")
    args = parser.parse_args(argv)
    # the numerical stack is imported after the arguments are parsed: --help and usage errors are instant
    from forge.io import InputFormatError, write_tsv
    from forge.modelling.scoring import score_file

    try:
        table, missing = score_file(
            args.model, args.expression, "counts" if args.counts else "normalised", args.max_missing_fraction
        )
    except (FileNotFoundError, InputFormatError) as err:
        print(f"forge_score: error: {err}", file=sys.stderr)
        return 2
    write_tsv(table, args.out)
    write_tsv(missing, f"{args.out}.missing_genes.tsv")
    print(f"scored {len(table)} samples; {len(missing)} model genes missing -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
