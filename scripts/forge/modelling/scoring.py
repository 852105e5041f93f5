"""Scoring expression matrices with a trained model (used by the rule and by forge_score.py).

Reading and checking come before any score: the matrix is samples x genes (a matrix with the
genes as rows is recognised and refused), DepMap's ``"SYMBOL (ID)"`` gene headers are read as
symbols (the cohort parser's :func:`forge.sources.parsers.strip_gene_suffixes`), raw counts are
whole numbers, and normalised expression must sit on the scale of the model's training
expression (raw counts given as normalised would score at about +-1e6). Warnings (missing model
genes, an unusual scale) go to the ``forge.scoring`` logger: the rule's log, forge-score's terminal.
"""

from __future__ import annotations

import logging
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
from forge.normalise import looks_like_counts, voom_logcpm
from forge.sources.parsers import strip_gene_suffixes

log = logging.getLogger("forge.scoring")

REPORTED_MODEL = Path("joint") / "rep00"

# Default largest fraction of a model's genes a scored matrix may lack (forge-score
# --max-missing-fraction). Measured on the real EGFR-erlotinib model (200 genes, k = 40;
# benchmarks/bench_missing_genes.py, README "Scoring new cohorts"): with 5 % of the genes
# missing at random, the samples' scores keep a median rank correlation of 0.92 with the
# complete profile (13 % of the samples change sign); with 10 % 0.85, with 50 % (the former
# default) 0.47, and a third of the samples change sign.
DEFAULT_MAX_MISSING_FRACTION = 0.05

# Normalised expression is z-scored with the model's training means and sds. Over the model
# genes, the median |z| of a profile on the training scale is about 0.67 (half-normal; 0.76 for
# the real EGFR-erlotinib cohort under its own model). Raw counts or linear TPM given as
# normalised expression reach hundreds to thousands (refused above MAX_MEDIAN_ABS_Z); an
# already z-scored matrix gives 3.6 (a warning above WARN_MEDIAN_ABS_Z: a cohort from another
# platform can sit there too). Subtler errors pass: log2(count + 1) instead of log2-CPM gives
# 1.96 on that model, a uniform shift of +5 gives 2.2.
MAX_MEDIAN_ABS_Z = 10.0
WARN_MEDIAN_ABS_Z = 2.0
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
    """Samples x genes from CSV, TSV or Parquet; the first column (or the index) holds sample ids.

    Gene headers in DepMap's ``"SYMBOL (ENSG…)"`` / ``"SYMBOL (Entrez)"`` form are read as their
    symbols, as the cohort builder reads them; two headers with one symbol are refused (which
    column to score would be a guess), a header without a symbol is ignored like any gene the
    model does not use.
    """
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
    return symbol_columns(frame, path)


def symbol_columns(frame: pd.DataFrame, source: str | Path) -> pd.DataFrame:
    """Gene columns named ``"SYMBOL (ID)"`` (DepMap) renamed to their symbols, as the cohort parser does."""
    symbols, dropped = strip_gene_suffixes(list(frame.columns), Path(source).name)
    repeated = dropped[dropped["reason"] == "duplicate_symbol"]
    if len(repeated):
        raise InputFormatError(
            f"{source}: gene column {repeated['item'].iloc[0]!r}: {repeated['detail'].iloc[0].split(';')[0]}; "
            "expected one column per gene symbol"
        )
    if symbols == list(frame.columns):
        return frame
    keep = [s is not None for s in symbols]
    frame = frame.loc[:, keep]
    frame.columns = [s for s in symbols if s is not None]
    return frame


def _symbols(labels) -> set[str]:
    """Labels as gene symbols (a ``"SYMBOL (ID)"`` label counts as SYMBOL)."""
    symbols, _ = strip_gene_suffixes([str(label) for label in labels], "")
    return {s for s in symbols if s is not None}


def check_orientation(frame: pd.DataFrame, model_genes: list[str], source: str | Path) -> None:
    """Refuse a matrix with the genes as rows (the model's genes among the row ids, not the columns)."""
    genes = set(model_genes)
    in_columns = len(genes & set(frame.columns))
    in_rows = len(genes & _symbols(frame.index))
    if in_rows > in_columns:
        raise InputFormatError(
            f"{source}: the matrix looks transposed: {in_rows} of the model's {len(genes)} genes are row ids "
            f"(first column, e.g. {list(frame.index[:3])}) and {in_columns} are column names; expected samples as "
            "rows and genes as columns (transpose the file: one row per sample, first column the sample ids)"
        )


def check_numeric(frame: pd.DataFrame, source: str | Path, expected: str) -> None:
    """Refuse text in a gene column, naming the column, the sample and the value."""
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]):
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce")
        text = numbers.isna() & frame[column].notna()
        sample = frame.index[text.to_numpy()][0] if text.any() else frame.index[0]
        value = frame[column][text].iloc[0] if text.any() else frame[column].iloc[0]
        raise InputFormatError(f"{source}: gene column {column!r}, sample {sample!r}: non-numeric value {value!r}; "
                               f"expected numbers ({expected})")


def prepare_expression(frame: pd.DataFrame, kind: str, source: str) -> pd.DataFrame:
    """Counts go through voom (intercept-only logCPM: per sample, so scores stay per sample).

    Counts must be whole numbers >= 0 (normalised expression given with ``kind="counts"`` is
    refused); normalised expression that looks like raw counts is refused too.
    """
    if kind not in ("counts", "normalised"):
        raise ValueError(f"kind must be 'counts' or 'normalised'; got {kind!r}")
    check_numeric(frame, source, "raw counts" if kind == "counts" else "normalised expression")
    if kind == "normalised":
        if looks_like_counts(frame):
            raise InputFormatError(
                f"{source}: the values look like raw counts (whole numbers >= 0 up to "
                f"{frame.to_numpy(dtype=np.float64).max():.0f}), not normalised (log-scale) expression; "
                "score raw counts with --counts (forge-score) or kind: counts (scoring.cohorts)"
            )
        return frame
    values = frame.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputFormatError(f"{source}: gene column {frame.columns[c]!r}, sample {frame.index[r]!r}: missing or "
                               f"infinite count; expected raw counts in every cell")
    if (values < 0).any():
        r, c = np.argwhere(values < 0)[0]
        raise InputFormatError(f"{source}: gene column {frame.columns[c]!r}, sample {frame.index[r]!r}: negative "
                               f"count {float(values[r, c])!r}; expected raw counts (kind: counts). Negative values are "
                               "normalised expression: score it without --counts")
    fractional = values != np.rint(values)
    if fractional.any():
        r, c = np.argwhere(fractional)[0]
        raise InputFormatError(
            f"{source}: gene column {frame.columns[c]!r}, sample {frame.index[r]!r}: non-integer count "
            f"{float(values[r, c])!r} ({int(fractional.sum())} such values); raw counts are whole numbers. Normalised "
            "expression is scored without --counts (kind: normalised)"
        )
    empty = frame.index[values.sum(axis=1) <= 0]
    if len(empty):
        raise InputFormatError(f"{source}: sample(s) {list(empty[:5])} have no counts at all (library size 0); "
                               "voom cannot normalise them: remove them")
    expression, _ = voom_logcpm(frame)
    return expression


def check_scale(model_genes: list[str], gene_mean: np.ndarray, gene_sd: np.ndarray, expression: pd.DataFrame,
                source: str | Path) -> float:
    """The median |z| of the model genes under the model's training scaling; refused far off that scale.

    ``gene_mean`` and ``gene_sd`` are the training scaling of ``model_genes`` (a model's, or a
    weight table's training_mean / training_sd). Returns the median |z| (about 0.67 for profiles
    like the training ones). Above :data:`MAX_MEDIAN_ABS_Z` the matrix is refused (raw counts or
    linear values given as normalised expression); above :data:`WARN_MEDIAN_ABS_Z` a warning is
    logged. Only meaningful for training scaling (a cohort z-scored within itself has no such scale).
    """
    present = [g for g in model_genes if g in expression.columns]
    if not present:
        return float("nan")  # no gene in common: refused, with the names, by the model
    index = [model_genes.index(g) for g in present]
    gene_mean, gene_sd = np.asarray(gene_mean)[index], np.asarray(gene_sd)[index]
    values = expression[present].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        z = np.abs((values - gene_mean) / gene_sd)
    median = float(np.nanmedian(z)) if np.isfinite(z).any() else float("nan")
    training_range = (f"the model's training expression has gene means {np.min(gene_mean):.3g} to "
                      f"{np.max(gene_mean):.3g}; this file's values span "
                      f"{np.nanmin(values):.3g} to {np.nanmax(values):.3g}")
    if median > MAX_MEDIAN_ABS_Z:
        raise InputFormatError(
            f"{source}: the expression is not on the scale of the model's training data: the median |z| of the "
            f"model genes is {median:.3g} (about 0.7 expected, refused above {MAX_MEDIAN_ABS_Z:g}); {training_range}. "
            "Give voom log2-CPM (or comparable log-scale) expression, or raw counts with --counts (kind: counts)"
        )
    if median > WARN_MEDIAN_ABS_Z:
        log.warning("%s: the expression sits far from the model's training scale (median |z| of the model genes "
                    "%.3g; about 0.7 expected); %s. Check that it is log-scale normalised expression like the "
                    "training data", source, median, training_range)
    return median


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


def check_finite(model_genes: list[str], expression: pd.DataFrame, source: str | Path) -> None:
    """Refuse a missing or infinite value in a model gene, naming the sample and the gene."""
    present = [g for g in model_genes if g in expression.columns]
    values = expression[present].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputFormatError(
            f"{source}: gene column {present[c]!r}, sample {expression.index[r]!r}: {float(values[r, c])!r} "
            f"({int(bad.sum())} missing or infinite value(s) in model genes); expected a number in every cell of "
            "the model's genes (a gene missing for every sample can be left out of the file instead)"
        )


def warn_missing_genes(missing: pd.DataFrame, gene_weights: np.ndarray, max_missing_fraction: float,
                       source: str | Path, shown: int = 30) -> None:
    """Log (forge-score: on the terminal) how many and which model genes a scored file lacks.

    ``missing`` has columns gene and benefit_weight; ``gene_weights`` are every model gene's
    weights, for the share of the model's total |weight| the missing genes carry.
    """
    total = float(np.abs(gene_weights).sum())
    share = float(np.abs(missing["benefit_weight"]).sum()) / total if total > 0 else float("nan")
    names = ", ".join(missing["gene"].astype(str).head(shown))
    more = f" and {len(missing) - shown} more" if len(missing) > shown else ""
    n_genes = len(gene_weights)
    log.warning("%s: %d of the model's %d genes are missing (%.1f%%; limit %.0f%%), set to their training mean "
                "(z = 0); they carry %.1f%% of the model's total |benefit weight|: %s%s", source, len(missing),
                n_genes, 100 * len(missing) / n_genes, 100 * max_missing_fraction, 100 * share, names, more)


def score_file(
    model_path: str | Path | None, expression_path: str | Path, kind: str = "normalised",
    max_missing_fraction: float = DEFAULT_MAX_MISSING_FRACTION, recipe: Recipe = TRAINING_RAW,
    weights_path: str | Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load a model (or a gene-weight table, ``weights_path``) and an expression file, check the file,
    and score it under ``recipe`` (:mod:`forge.modelling.transfer`).

    Refused with :class:`InputFormatError` naming the file: a transposed matrix, text values,
    counts that are not whole numbers, normalised expression that looks like counts or (with
    training scaling) is far off the model's training scale, more than ``max_missing_fraction``
    of the model's genes missing, missing or infinite values. Missing model genes (within the
    limit) are logged as a warning with their names and the share of the model's |benefit weight|
    they carry.
    """
    weights = read_weight_table(weights_path) if weights_path is not None else None
    model = load_model(resolve_model_dir(model_path)) if weights is None else None
    score = weights if weights is not None else benefit_score_of(model)
    frame = read_expression(expression_path)
    check_orientation(frame, score.genes, expression_path)
    expression = prepare_expression(frame, kind, str(expression_path))
    if recipe.scaling == "training" and score.gene_mean is not None:  # a cohort z-scored in itself has no such scale
        check_scale(score.genes, score.gene_mean, score.gene_sd, expression, expression_path)
    check_finite(score.genes, expression, expression_path)
    try:
        if weights is not None:
            table, missing = score_with_weights(weights, expression, max_missing_fraction, recipe)
        else:
            table, missing = score_expression(model, expression, max_missing_fraction, recipe)
    except InputFormatError as err:
        hint = ""
        if "are missing from the expression" in str(err):
            hint = ("; to score it anyway, raise --max-missing-fraction (forge-score) or "
                    "scoring.max_missing_fraction (the README states how far scores move)")
        raise InputFormatError(f"{expression_path}: {err}{hint}") from err
    if not np.isfinite(table["benefit_score"]).all():
        raise InputFormatError(f"{expression_path}: scores are not finite; check the values")
    if len(missing):
        warn_missing_genes(missing, score.weights, max_missing_fraction, expression_path)
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
