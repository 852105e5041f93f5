"""Scoring expression matrices with a trained model (used by the rule and by forge_score.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forge.modelling.model import ForgeModel, load_model
from forge.modelling.transfer import (
    TRAINING_RAW,
    LinearScore,
    Recipe,
    apply_score,
    benefit_score_of,
    platform_shift,
    predicted_outputs,
    read_weight_table,
    scale_cohort,
    transfer_score,
)
from forge.io import InputFormatError, read_text_csv
from forge.normalise import voom_logcpm

REPORTED_MODEL = Path("joint") / "rep00"


def resolve_model_dir(path: str | Path) -> Path:
    """A model directory, or a pair's models directory (its reported joint replicate 0)."""
    path = Path(path)
    if (path / "model.json").is_file():
        return path
    if (path / REPORTED_MODEL / "model.json").is_file():
        return path / REPORTED_MODEL
    raise FileNotFoundError(
        f"no model at {path}: expected model.json/model.npz there or in {path / REPORTED_MODEL}"
    )


def read_expression(path: str | Path) -> pd.DataFrame:
    """Samples x genes from CSV, TSV or Parquet; the first column (or the index) holds sample ids."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"expression file {path} not found")
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith(".parquet"):
        try:
            frame = pd.read_parquet(path)
        except (ValueError, OSError) as err:
            raise InputFormatError(f"{path}: cannot read an expression matrix (truncated or not Parquet: {err})") from err
        if isinstance(frame.index, pd.RangeIndex):
            frame = frame.set_index(frame.columns[0])
    else:
        # the input policy (forge.io.read_text_csv) also refuses a gene column given twice: pandas
        # would rename the second copy and the first would silently win
        sep = "\t" if ".tsv" in suffixes or ".txt" in suffixes else ","
        frame = read_text_csv(path, sep=sep, index_col=0, column_kind="gene")
    if frame.empty or frame.shape[1] == 0:
        raise InputFormatError(f"{path}: no samples or no gene columns")
    frame.columns = [str(c) for c in frame.columns]
    frame.index = frame.index.astype(str)
    if frame.index.duplicated().any():
        raise InputFormatError(f"{path}: duplicated sample ids, e.g. {frame.index[frame.index.duplicated()][:3].tolist()}")
    return frame


def prepare_expression(frame: pd.DataFrame, kind: str, source: str) -> pd.DataFrame:
    """Counts go through voom (intercept-only logCPM: per sample, so scores stay per sample)."""
    if kind == "normalised":
        return frame
    if kind != "counts":
        raise ValueError(f"kind must be 'counts' or 'normalised'; got {kind!r}")
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise InputFormatError(f"{source}: non-numeric values in gene column(s) {non_numeric[:5]}")
    if (frame.to_numpy() < 0).any():
        raise InputFormatError(f"{source}: negative counts; expected raw counts (kind: counts)")
    expression, _ = voom_logcpm(frame)
    return expression


def score_expression(model: ForgeModel, expression: pd.DataFrame, max_missing_fraction: float,
                     recipe: Recipe = TRAINING_RAW) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Benefit Score and predicted outputs of every sample, and the model genes that were missing.

    ``recipe`` says how the expression is scaled and the gene weights are scaled
    (:mod:`forge.modelling.transfer`); the table records it in columns ``scaling`` and ``weights``.
    Predictions use the recipe's scaling (they have no gene weights to standardise).
    """
    score = benefit_score_of(model)
    scaled = scale_cohort(score, expression, recipe, max_missing_fraction)
    table = pd.DataFrame({"benefit_score": apply_score(score, scaled)}, index=expression.index)
    predicted = pd.DataFrame(predicted_outputs(model, scaled), index=expression.index, columns=model.targets)
    table = pd.concat([table, predicted.add_prefix("predicted_")], axis=1)
    table.index.name = "sample"
    missing = pd.DataFrame({"gene": [g for g, here in zip(score.genes, scaled.present) if not here],
                            "benefit_weight": score.weights[~scaled.present]})
    table["n_model_genes_missing"] = len(missing)
    table["scaling"], table["weights"] = recipe.scaling, recipe.weights
    return table.reset_index(), missing


def score_with_weights(weights: LinearScore, expression: pd.DataFrame, max_missing_fraction: float,
                       recipe: Recipe) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every sample with a gene-weight table (no trained model): the same recipes as a model."""
    scores, missing = transfer_score(weights, expression, recipe, max_missing_fraction)
    table = pd.DataFrame({"benefit_score": scores.to_numpy()}, index=expression.index)
    table.index.name = "sample"
    table["n_model_genes_missing"] = len(missing)
    table["scaling"], table["weights"] = recipe.scaling, recipe.weights
    return table.reset_index(), missing.rename(columns={"weight": "benefit_weight"})


def score_file(
    model_path: str | Path | None, expression_path: str | Path, kind: str = "normalised",
    max_missing_fraction: float = 0.5, recipe: Recipe = TRAINING_RAW, weights_path: str | Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load a model (or a gene-weight table, ``weights_path``) and an expression file, and score it."""
    weights = read_weight_table(weights_path) if weights_path is not None else None
    model = load_model(resolve_model_dir(model_path)) if weights is None else None
    frame = read_expression(expression_path)
    expression = prepare_expression(frame, kind, str(expression_path))
    try:
        if weights is not None:
            table, missing = score_with_weights(weights, expression, max_missing_fraction, recipe)
        else:
            table, missing = score_expression(model, expression, max_missing_fraction, recipe)
    except InputFormatError as err:
        raise InputFormatError(f"{expression_path}: {err}") from err
    if not np.isfinite(table["benefit_score"]).all():
        raise InputFormatError(f"{expression_path}: scores are not finite; check the values")
    return table, missing


def cohort_platform_shift(model_path: str | Path, expression_path: str | Path, kind: str = "normalised",
                          max_missing_fraction: float = 0.5) -> pd.DataFrame:
    """The platform shift of a cohort against a model's training scaling (:func:`transfer.platform_shift`)."""
    model = load_model(resolve_model_dir(model_path))
    expression = prepare_expression(read_expression(expression_path), kind, str(expression_path))
    try:
        return platform_shift(benefit_score_of(model), expression, max_missing_fraction)
    except InputFormatError as err:
        raise InputFormatError(f"{expression_path}: {err}") from err
