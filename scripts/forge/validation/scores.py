"""The three scores every validation test is run on, side by side.

* ``forge``: the paper's Benefit Score D̂ − Î of the reported model (centred outputs, the default).
* ``forge_balanced``: D̂/sd(D̂) − Î/sd(Î), each prediction divided by its sd over the pair's
  training samples. On the real pairs IC50 (CREAMMIST log scale) varies ~10× more than a
  dependency probability, so the paper's score ranks samples almost exactly as −Î; the balanced
  variant gives both halves the same weight.
* ``ridge``: the same difference from the ridge baselines of the pair (predicted dependency −
  predicted IC50), to show whether FORGE's score validates better than a plain baseline's.

Every score uses the model's genes and training z-scoring; a sample's score never depends on
which other samples are scored with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forge.modelling.baselines import LinearBaseline
from forge.modelling.model import ForgeModel

SCORE_VARIANTS = ("forge", "forge_balanced", "ridge")


@dataclass
class PairScorer:
    """What scores one pair's samples in any cohort.

    Attributes
    ----------
    model : ForgeModel
        The reported model (joint replicate 0).
    training_sd : tuple of float
        sd of the predicted dependency and IC50 over the pair's training samples.
    ridge : LinearBaseline
    """

    model: ForgeModel
    training_sd: tuple[float, float]
    ridge: LinearBaseline

    @classmethod
    def from_pair_tables(cls, model: ForgeModel, benefit_scores: pd.DataFrame, ridge: LinearBaseline) -> "PairScorer":
        """Training sds from the pair's benefit_scores table (predicted_* columns, split == train)."""
        train = benefit_scores[benefit_scores["split"] == "train"]
        dependency, ic50 = model.targets[:2]
        sds = (float(train[f"predicted_{dependency}"].std(ddof=1)), float(train[f"predicted_{ic50}"].std(ddof=1)))
        return cls(model, sds, ridge)

    def score(self, expression: pd.DataFrame, max_missing_fraction: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Scores of every sample (rows of ``expression``) and the model genes the cohort lacks."""
        forge, missing = self.model.benefit_score(expression, max_missing_fraction=max_missing_fraction)
        predicted = self.model.predict(expression, max_missing_fraction=max_missing_fraction)
        dependency, ic50 = self.model.targets[:2]
        centred = predicted - self.model.target_mean
        ridge = self.ridge.predict(expression)
        table = pd.DataFrame({
            "forge": forge,
            "forge_balanced": centred[dependency] / self.training_sd[0] - centred[ic50] / self.training_sd[1],
            "ridge": ridge[self.ridge.outputs[0]] - ridge[self.ridge.outputs[1]],
            "predicted_dependency": predicted[dependency],
            "predicted_ic50": predicted[ic50],
        }, index=expression.index)
        if not np.allclose(table["forge"], centred[dependency] - centred[ic50], rtol=1e-9, atol=1e-9):
            raise AssertionError("Benefit Score is not D_hat - I_hat on the centred scale")
        return table, missing
