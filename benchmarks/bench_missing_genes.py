#!/usr/bin/env python3
"""How far Benefit Scores move when model genes are missing from a scored cohort (forge-score).

Missing genes are set to their training mean (z = 0, no contribution; MISSING_GENE_RULE). For each
fraction of the model's genes removed at random (``--draws`` draws each), the scores of every
sample are compared with the scores of the complete profile:

* ``spearman``: rank correlation of the samples' scores, median over draws (and the 5th percentile);
* ``abs_change_sd``: median |score change| in units of the sd of the complete scores;
* ``sign_flips``: share of samples whose score changes sign (median over draws);
* ``top_quartile_kept``: share of the complete top quartile still in the top quartile.

Default: the real EGFR–erlotinib subset in ../shared/data/real (the authors' split, their 200
genes, k = 40, the paper's solver settings, seed 42), trained here. ``--model DIR --expression
FILE`` measures a trained model (e.g. results/small/models/EGFR_ERLOTINIB) on a normalised matrix.
Prints one JSON line per fraction; figures, not a test.

    .venv/bin/python benchmarks/bench_missing_genes.py [--draws 200]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from forge.io import read_text_csv
from forge.modelling.model import ForgeModel, PairData, fit_pair_models
from forge.modelling.scoring import read_expression, resolve_model_dir
from forge.modelling.model import load_model

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "forge_erlotinib_egfr"
FRACTIONS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def real_model() -> tuple[ForgeModel, pd.DataFrame]:
    """The EGFR–erlotinib joint model of the paper's settings on the real subset, and its expression."""
    expression = read_text_csv(REAL / "expression_voom.csv", index_col=0)
    samples = read_text_csv(REAL / "samples.csv", index_col=0)
    genes = [g.strip() for g in (REAL / "genes_published_model.txt").read_text().split() if g.strip()]
    samples = samples.loc[samples.index.intersection(expression.index)].dropna(subset=["EGFR_dependency",
                                                                                        "ERLOTINIB_ic50"])
    data = PairData(expression.loc[samples.index], samples[["EGFR_dependency", "ERLOTINIB_ic50"]],
                    samples["split"])
    options = dict(l1_penalty=0.001, learning_rate=0.001, max_iter=500, update="reference")
    model = fit_pair_models(data, genes, [42], 40, options)[0]
    return model, expression


def measure(model: ForgeModel, expression: pd.DataFrame, draws: int, seed: int) -> list[dict]:
    weights = model.benefit_weights()
    G, _ = model.scaled_expression(expression)
    full = G @ weights
    sd = full.std(ddof=1)
    top = full >= np.quantile(full, 0.75)
    rng = np.random.default_rng(seed)
    p = len(model.genes)
    rows = []
    for fraction in FRACTIONS:
        n_missing = max(1, round(fraction * p))
        rho, change, flips, kept = [], [], [], []
        for _ in range(draws):
            missing = rng.choice(p, n_missing, replace=False)
            partial = full - G[:, missing] @ weights[missing]  # z = 0 for the missing genes
            rho.append(stats.spearmanr(full, partial)[0])
            change.append(np.median(np.abs(partial - full)) / sd)
            flips.append(np.mean(np.sign(partial) != np.sign(full)))
            kept.append(np.mean(partial[top] >= np.quantile(partial, 0.75)))
        rows.append(dict(fraction=fraction, n_missing=n_missing, n_genes=p, draws=draws, samples=len(full),
                         spearman=round(float(np.median(rho)), 3), spearman_p05=round(float(np.quantile(rho, 0.05)), 3),
                         abs_change_sd=round(float(np.median(change)), 3),
                         sign_flips=round(float(np.median(flips)), 3),
                         top_quartile_kept=round(float(np.median(kept)), 3)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a trained model (default: train the real EGFR–erlotinib model)")
    parser.add_argument("--expression", help="normalised samples x genes matrix scored with --model")
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.model:
        model = load_model(resolve_model_dir(args.model))
        expression = read_expression(args.expression)
        source = str(args.model)
    else:
        model, expression = real_model()
        source = "real EGFR-ERLOTINIB (k=40, 200 genes, seed 42)"
    for row in measure(model, expression, args.draws, args.seed):
        print(json.dumps(dict(model=source, **row)))


if __name__ == "__main__":
    main()
