"""Plain baselines evaluated on the same split and genes as FORGE.

Training-mean and lineage-mean predictors, ridge and elastic net per output. The
regularisation of ridge and elastic net is chosen by cross-validation inside the
training samples only (scikit-learn's RidgeCV / ElasticNetCV), on expression scaled
with the training means and sds, exactly as FORGE sees it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import ElasticNetCV, RidgeCV
from sklearn.model_selection import KFold

from forge.modelling.model import PairData
from forge.normalise import fit_scaling

BASELINES = ("training_mean", "lineage_mean", "ridge", "elastic_net")
RIDGE_ALPHAS = np.logspace(-2, 5, 36)
ELASTIC_NET_L1_RATIOS = (0.1, 0.5, 0.9, 1.0)


def lineage_mean_predictor(
    train_values: pd.Series, train_lineage: pd.Series, lineage: pd.Series
) -> np.ndarray:
    """Mean of the training samples of the same lineage; unseen or missing lineage → training mean."""
    means = train_values.groupby(train_lineage.fillna("__missing__")).mean()
    overall = float(train_values.mean())
    return lineage.fillna("__missing__").map(means).fillna(overall).to_numpy(dtype=np.float64)


def fit_predict_baselines(
    data: PairData,
    genes: Sequence[str],
    lineage: pd.Series,
    outputs: Sequence[str],
    seed: int,
    n_folds: int = 5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions of every baseline for every sample of the pair, and the chosen settings.

    Returns
    -------
    predictions : long table (sample, split, model, output, predicted)
    settings : one row per (model, output) with the regularisation chosen on training samples
    """
    train, samples = data.train, data.split.index
    values = np.ascontiguousarray(data.expression.loc[samples, list(genes)].to_numpy(dtype=np.float64))
    frame = pd.DataFrame(values, index=samples, columns=list(genes))
    mean, sd = fit_scaling(frame.loc[train])
    X = (values - mean.to_numpy()) / sd.to_numpy()
    train_mask = data.split.to_numpy() == "train"
    sample_lineage = lineage.reindex(samples)
    folds = KFold(n_splits=n_folds, shuffle=True, random_state=seed)

    rows, settings = [], []
    for name in outputs:
        y = data.outputs.loc[samples, name].to_numpy(dtype=np.float64)
        has = ~np.isnan(y)
        fit = train_mask & has
        predicted = {
            "training_mean": np.full(len(samples), y[fit].mean()),
            "lineage_mean": lineage_mean_predictor(
                pd.Series(y[fit]), sample_lineage[fit].reset_index(drop=True), sample_lineage
            ),
        }
        ridge = RidgeCV(alphas=RIDGE_ALPHAS).fit(X[fit], y[fit])  # efficient leave-one-out CV
        predicted["ridge"] = ridge.predict(X)
        elastic = ElasticNetCV(
            l1_ratio=list(ELASTIC_NET_L1_RATIOS), alphas=30, cv=folds, max_iter=5000, tol=1e-4
        ).fit(X[fit], y[fit])
        predicted["elastic_net"] = elastic.predict(X)
        settings += [
            ("ridge", name, f"alpha={ridge.alpha_:.6g}"),
            ("elastic_net", name, f"alpha={elastic.alpha_:.6g}, l1_ratio={elastic.l1_ratio_:g}, "
             f"nonzero={int((elastic.coef_ != 0).sum())}"),
        ]
        for model, prediction in predicted.items():
            rows.append(
                pd.DataFrame(
                    {
                        "sample": samples[has],
                        "split": data.split.to_numpy()[has],
                        "model": model,
                        "output": name,
                        "predicted": prediction[has],
                    }
                )
            )
    return pd.concat(rows, ignore_index=True), pd.DataFrame(settings, columns=["model", "output", "setting"])
