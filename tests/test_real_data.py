"""Reproduction of the published EGFR-erlotinib model on the authors' real data subset.

Authors' 526/132 split, the 200 genes of their k = 40, seed-42 model, training-set
z-scoring, k = 40, lambda = 1e-3, eta = 1e-3, 500 epochs, published (reference) update.
Published test Pearson r: 0.585 (dependency), 0.342 (IC50).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forge_core import regression_metrics
from forge.modelling.model import PairData, fit_pair_models
from shared_data import REAL, requires_real_data

PUBLISHED_TEST_R = {"EGFR_dependency": 0.585, "ERLOTINIB_ic50": 0.342}


@requires_real_data
def test_published_egfr_erlotinib_model_is_reproduced() -> None:
    folder = REAL / "forge_erlotinib_egfr"
    expression = pd.read_csv(folder / "expression_voom.csv", index_col=0)
    samples = pd.read_csv(folder / "samples.csv", index_col=0)
    genes = [g.strip() for g in (folder / "genes_published_model.txt").read_text().split() if g.strip()]
    assert len(genes) == 200 and (samples["split"] == "train").sum() == 526
    outputs = samples[["EGFR_dependency", "ERLOTINIB_ic50"]]
    data = PairData(expression.loc[samples.index], outputs, samples["split"])

    options = dict(l1_penalty=1e-3, learning_rate=1e-3, max_iter=500, update="reference")
    models = fit_pair_models(data, genes, list(range(42, 52)), 40, options)
    test_r = {name: [] for name in PUBLISHED_TEST_R}
    for model in models:
        predicted = model.predict(expression.loc[data.test])
        for name in test_r:
            test_r[name].append(regression_metrics(outputs.loc[data.test, name], predicted[name])["pearson"])
    for name, published in PUBLISHED_TEST_R.items():
        mean_r = float(np.mean(test_r[name]))
        assert abs(mean_r - published) <= 0.05, (name, mean_r, published)
