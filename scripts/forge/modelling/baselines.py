"""Plain baselines evaluated on the same split and genes as FORGE.

Training-mean and lineage-mean predictors, ridge and elastic net per output. The
regularisation of ridge and elastic net is chosen by cross-validation inside the
training samples only (scikit-learn's RidgeCV / ElasticNetCV), on expression scaled
with the training means and sds, exactly as FORGE sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
# heavy packages (scipy.stats, scipy.interpolate, statsmodels, scikit-learn) are imported in the functions that
# use them: a job importing this module for something else does not pay their start-up (tests/test_imports.py)

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


@dataclass
class LinearBaseline:
    """A fitted linear baseline (ridge) that can score new cohorts like a FORGE model.

    Attributes
    ----------
    genes : list of str
    gene_mean, gene_sd : ndarray (p,)
        Training-set scaling (the same as FORGE's).
    outputs : list of str
        Output names (dependency first).
    coef : ndarray (p, t)
    intercept : ndarray (t,)
    """

    genes: list[str]
    gene_mean: np.ndarray
    gene_sd: np.ndarray
    outputs: list[str]
    coef: np.ndarray
    intercept: np.ndarray

    def predict(self, expression: pd.DataFrame) -> pd.DataFrame:
        """Predictions; genes absent from ``expression`` count at their training mean (z = 0), as in FORGE."""
        aligned = expression.reindex(columns=self.genes).to_numpy(dtype=np.float64)
        X = (aligned - self.gene_mean) / self.gene_sd
        X[np.isnan(X)] = 0.0
        return pd.DataFrame(X @ self.coef + self.intercept, index=expression.index, columns=self.outputs)

    def to_json(self) -> str:
        return json.dumps({"genes": self.genes, "gene_mean": self.gene_mean.tolist(), "gene_sd": self.gene_sd.tolist(),
                           "outputs": self.outputs, "coef": self.coef.tolist(), "intercept": self.intercept.tolist()})

    @classmethod
    def from_json(cls, text: str) -> "LinearBaseline":
        data = json.loads(text)
        return cls(data["genes"], np.asarray(data["gene_mean"]), np.asarray(data["gene_sd"]), data["outputs"],
                   np.asarray(data["coef"], dtype=np.float64).reshape(len(data["genes"]), len(data["outputs"])),
                   np.asarray(data["intercept"], dtype=np.float64))


def fit_predict_baselines(
    data: PairData,
    genes: Sequence[str],
    lineage: pd.Series,
    outputs: Sequence[str],
    seed: int,
    n_folds: int = 5,
) -> tuple[pd.DataFrame, pd.DataFrame, LinearBaseline]:
    """Predictions of every baseline for every sample of the pair, and the chosen settings.

    Returns
    -------
    predictions : long table (sample, split, model, output, predicted)
    settings : one row per (model, output) with the regularisation chosen on training samples
    ridge : the fitted ridge models of every output, to score other cohorts
    """
    from sklearn.linear_model import ElasticNetCV, RidgeCV
    from sklearn.model_selection import KFold

    train, samples = data.train, data.split.index
    values = np.ascontiguousarray(data.expression.loc[samples, list(genes)].to_numpy(dtype=np.float64))
    frame = pd.DataFrame(values, index=samples, columns=list(genes))
    mean, sd = fit_scaling(frame.loc[train])
    X = (values - mean.to_numpy()) / sd.to_numpy()
    train_mask = data.split.to_numpy() == "train"
    sample_lineage = lineage.reindex(samples)
    folds = KFold(n_splits=n_folds, shuffle=True, random_state=seed)

    rows, settings, ridge_coef, ridge_intercept = [], [], [], []
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
        ridge_coef.append(ridge.coef_)
        ridge_intercept.append(ridge.intercept_)
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
    ridge = LinearBaseline(list(genes), mean.to_numpy(), sd.to_numpy(), list(outputs),
                           np.column_stack(ridge_coef), np.asarray(ridge_intercept, dtype=np.float64))
    return (pd.concat(rows, ignore_index=True), pd.DataFrame(settings, columns=["model", "output", "setting"]),
            ridge)
