#!/usr/bin/env python3
"""Score a cohort with a trained FORGE model, outside Snakemake.

    python scripts/forge_score.py --model results/demo/models/EGFR_ERLOTINIB --expression cohort.csv --out scores.tsv

``--model`` is a model directory (model.json + model.npz) or a pair's models directory
(its reported model, joint/rep00, is used); or, with no trained model, ``--weights`` a gene-weight
table (columns gene, weight; optional training_mean, training_sd), e.g. a published signature.
``--expression`` is samples x genes (CSV, TSV or Parquet; first column sample ids; DepMap's
"SYMBOL (ID)" headers are read as symbols), normalised expression by default or raw counts with
``--counts`` (voom logCPM, per sample). Model genes missing from the file are named in a warning
and listed in ``<out>.missing_genes.tsv``; more than ``--max-missing-fraction`` of them missing is
refused. Any error exits with status 2 and a one-line message.

How the score reaches the cohort (docs/METHOD.md §5):
  --scaling training      z-score with the training mean and sd (default; a sample's score never
                          depends on the other samples; missing genes count at their training mean)
  --scaling cohort        z-score every model gene within the scored cohort (the paper's transfer to
                          Tahoe and PDX; needs --min-cohort-size samples)
  --weight-scale raw      the model's weights W(h_D - h_I) (default)
  --weight-scale standardised
                          weights standardised (mean 0, sd 1) over the genes the cohort has (the paper's)
The paper's recipe is ``--scaling cohort --weight-scale standardised``. ``--write-weights FILE``
writes the model's weight table (readable by ``--weights``) and exits.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# the package default, repeated here so that --help does not import the numerical stack
DEFAULT_MAX_MISSING_FRACTION = 0.05


def fraction(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value:g} is outside [0, 1] (a fraction of the model's genes)")
    return value


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="forge-score", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="model directory or a pair's models directory")
    source.add_argument("--weights", help="gene-weight table (gene, weight[, training_mean, training_sd])")
    parser.add_argument("--expression", help="samples x genes file (CSV, TSV or Parquet)")
    parser.add_argument("--out", help="output TSV of scores")
    parser.add_argument("--scaling", choices=("training", "cohort"), default="training",
                        help="z-score with the training mean/sd (default) or within the scored cohort (the paper's)")
    parser.add_argument("--weight-scale", choices=("raw", "standardised"), default="raw",
                        help="the model's raw gene weights (default) or weights standardised over the genes used")
    parser.add_argument("--min-cohort-size", type=int, default=10,
                        help="fewest samples --scaling cohort accepts (default 10)")
    parser.add_argument("--write-weights", metavar="FILE",
                        help="write the model's gene-weight table (for --weights) and exit")
    parser.add_argument("--counts", action="store_true", help="the file holds raw counts (voom first)")
    parser.add_argument(
        "--max-missing-fraction", type=fraction, default=DEFAULT_MAX_MISSING_FRACTION,
        help=f"largest fraction of the model's genes a cohort may lack (0 to 1; default {DEFAULT_MAX_MISSING_FRACTION:g}: "
             "with 5%% missing, scores keep a rank correlation of about 0.9 with the complete profile)",
    )
    args = parser.parse_args(argv)  # usage errors exit 2 with argparse's message
    if args.write_weights:
        if not args.model:
            parser.error("--write-weights needs --model")
    elif not (args.expression and args.out):
        parser.error("--expression and --out are required to score")
    if args.min_cohort_size < 2:
        parser.error("--min-cohort-size must be at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    # warnings of the library (missing genes, unusual scale) on the terminal, one line each
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("forge_score: warning: %(message)s"))
    scoring_log = logging.getLogger("forge.scoring")
    scoring_log.addHandler(handler)
    scoring_log.setLevel(logging.WARNING)
    try:
        # the numerical stack is imported after the arguments are parsed: --help and usage errors are instant
        from forge.io import InputFormatError, write_tsv
        from forge.modelling.model import load_model
        from forge.modelling.scoring import resolve_model_dir, score_file
        from forge.modelling.transfer import Recipe, model_weight_table
    except ImportError as err:
        print(f"forge_score: error: the FORGE library cannot be imported ({err}); install it (pip install -e scripts) "
              "or set PYTHONPATH to the checkout's scripts/ directory", file=sys.stderr)
        return 2
    try:
        if args.write_weights:
            write_tsv(model_weight_table(load_model(resolve_model_dir(args.model))), args.write_weights)
            print(f"gene weights -> {args.write_weights}")
            return 0
        out = Path(args.out)
        if out.is_dir():
            raise InputFormatError(f"--out {out} is a directory; expected a file name for the scores table")
        if not out.parent.is_dir():
            raise InputFormatError(f"--out {out}: the directory {out.parent} does not exist")
        recipe = Recipe(args.scaling, args.weight_scale, args.min_cohort_size)
        table, missing = score_file(
            args.model, args.expression, "counts" if args.counts else "normalised", args.max_missing_fraction,
            recipe, args.weights,
        )
        write_tsv(table, out)
        write_tsv(missing, f"{out}.missing_genes.tsv")
    except KeyboardInterrupt:
        print("forge_score: interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, InputFormatError) as err:
        print(f"forge_score: error: {err}", file=sys.stderr)
        return 2
    except (OSError, ValueError, MemoryError) as err:  # unreadable or unwritable files, values no check names
        print(f"forge_score: error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 -- a user command ends with a message, never a traceback
        print(f"forge_score: error: unexpected {type(err).__name__}: {err} (please report it with the command line)",
              file=sys.stderr)
        return 2
    print(f"scored {len(table)} samples ({args.scaling} scaling, {args.weight_scale} weights); "
          f"{len(missing)} model genes missing -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
