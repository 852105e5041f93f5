"""The three scores every validation test is run on, side by side, under a transfer recipe.

* ``forge``: the paper's Benefit Score D̂ − Î of a joint model (centred outputs, the default).
* ``forge_balanced``: D̂/sd(D̂) − Î/sd(Î), each prediction divided by its sd over the pair's
  training samples. On the real pairs IC50 (CREAMMIST log scale) varies ~10× more than a
  dependency probability, so the paper's score ranks samples almost exactly as −Î; the balanced
  variant gives both halves the same weight.
* ``ridge``: the same difference from the ridge baselines of the pair (predicted dependency −
  predicted IC50), to show whether FORGE's score validates better than a plain baseline's.

How a score reaches the cohort (training or within-cohort z-scoring, raw or standardised gene
weights) is a :class:`forge.modelling.transfer.Recipe`; every variant is scored with the same one.
With the default ``training``/``raw`` recipe a sample's score never depends on which other samples
are scored with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forge.modelling.baselines import LinearBaseline
from forge.modelling.model import ForgeModel
from forge.modelling.transfer import (
    TRAINING_RAW,
    Recipe,
    apply_score,
    balanced_score_of,
    benefit_score_of,
    predicted_outputs,
    ridge_score_of,
    scale_cohort,
)

SCORE_VARIANTS = ("forge", "forge_balanced", "ridge")


def training_prediction_sd(model: ForgeModel, training_expression: pd.DataFrame) -> tuple[float, float]:
    """sd (ddof = 1) of the predicted dependency and IC50 over the pair's training samples."""
    predicted = model.predict(training_expression)
    dependency, ic50 = model.targets[:2]
    return float(predicted[dependency].std(ddof=1)), float(predicted[ic50].std(ddof=1))


@dataclass
class PairScorer:
    """What scores one pair's samples in any cohort: a joint model and the pair's ridge baseline.

    Attributes
    ----------
    model : ForgeModel
        A joint model (the reported one, or any validated k × replicate).
    training_sd : tuple of float
        sd of the predicted dependency and IC50 over the pair's training samples.
    ridge : LinearBaseline
    """

    model: ForgeModel
    training_sd: tuple[float, float]
    ridge: LinearBaseline

    @classmethod
    def from_training(cls, model: ForgeModel, training_expression: pd.DataFrame, ridge: LinearBaseline) -> "PairScorer":
        """Training sds computed from the pair's training expression."""
        return cls(model, training_prediction_sd(model, training_expression), ridge)

    def score(self, expression: pd.DataFrame, max_missing_fraction: float = 0.5,
              recipe: Recipe = TRAINING_RAW) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Every variant's score of every sample (rows of ``expression``) and the model genes the cohort lacks.

        ``predicted_dependency`` and ``predicted_ic50`` are the model's predictions on their original
        scale from the recipe's scaling (raw weights).
        """
        forge = benefit_score_of(self.model)
        scaled = scale_cohort(forge, expression, recipe, max_missing_fraction)
        predicted = predicted_outputs(self.model, scaled)
        ridge = ridge_score_of(self.ridge)
        table = pd.DataFrame({
            "forge": apply_score(forge, scaled),
            "forge_balanced": apply_score(balanced_score_of(self.model, self.training_sd), scaled),
            "ridge": apply_score(ridge, scale_cohort(ridge, expression, recipe, max_missing_fraction)),
            "predicted_dependency": predicted[:, 0],
            "predicted_ic50": predicted[:, 1],
        }, index=expression.index)
        if recipe == TRAINING_RAW and not np.allclose(
                table["forge"], table["predicted_dependency"] - table["predicted_ic50"]
                - (self.model.target_mean[0] - self.model.target_mean[1]), rtol=1e-9, atol=1e-9):
            raise AssertionError("Benefit Score is not D_hat - I_hat on the centred scale")
        present = scaled.present
        missing = pd.DataFrame({"gene": [g for g, here in zip(forge.genes, present) if not here],
                                "benefit_weight": forge.weights[~present]})
        return table, missing
