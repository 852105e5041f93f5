"""How a linear score is transferred to a cohort: the one place scaling and gene weights are chosen.

Every score of the workflow (the Benefit Score D̂ − Î of a FORGE model, its balanced variant, the
ridge baseline's difference, a published gene-weight table) is linear in the z-scored expression of
its genes: ``score = Σ_g z_g · w_g (+ offset)``. Two choices decide how it is carried to a new cohort
(docs/METHOD.md §5, transfer of a score to a cohort):

* **scaling** of the expression:
  - ``training`` (the workflow's default): ``z = (x − training mean) / training sd``. A sample's score
    depends only on its own profile; genes the cohort lacks count at their training mean (z = 0).
  - ``cohort`` (the paper's): every model gene z-scored within the scored cohort (mean and sd over its
    samples, ddof = 1). It removes platform shifts (single-cell pseudo-bulk, FPKM pseudo-counts) that
    the training mean and sd do not describe; the price is that a sample's score depends on the
    cohort it is scored with, so a cohort smaller than ``min_cohort_size`` is refused.
* **weights**:
  - ``raw``: the model's own per-gene weights (W(h_D − h_I) for the Benefit Score), with its offset.
  - ``standardised`` (the paper's): the weights of the genes the cohort has, standardised to mean 0 and
    sd 1 (ddof = 1) across those genes; genes the cohort lacks are dropped, the offset too.

With ``training`` + ``raw`` a Benefit Score equals :meth:`ForgeModel.benefit_score` bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forge.io import InputFormatError

SCALINGS = ("training", "cohort")
WEIGHT_SCALES = ("raw", "standardised")
#: Smallest cohort a within-cohort z-score accepts by default (a z-score over 3 samples means nothing).
DEFAULT_MIN_COHORT_SIZE = 10


class CohortTooSmallError(InputFormatError):
    """``cohort`` scaling asked for a cohort with fewer samples than the configured minimum."""


@dataclass(frozen=True)
class Recipe:
    """A transfer recipe: how the expression is scaled and how the gene weights are scaled.

    Attributes
    ----------
    scaling : {"training", "cohort"}
    weights : {"raw", "standardised"}
    min_cohort_size : int
        Fewest samples ``cohort`` scaling accepts.
    """

    scaling: str = "training"
    weights: str = "raw"
    min_cohort_size: int = DEFAULT_MIN_COHORT_SIZE

    def __post_init__(self) -> None:
        if self.scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}; got {self.scaling!r}")
        if self.weights not in WEIGHT_SCALES:
            raise ValueError(f"weights must be one of {WEIGHT_SCALES}; got {self.weights!r}")
        if self.min_cohort_size < 2:
            raise ValueError(f"min_cohort_size must be at least 2 (an sd); got {self.min_cohort_size}")

    @property
    def label(self) -> str:
        """``<scaling>/<weights>``, as written in output tables."""
        return f"{self.scaling}/{self.weights}"


#: The workflow's default: per-sample scores (the paper's published transfer is
#: ``Recipe("cohort", "standardised")``).
TRAINING_RAW = Recipe("training", "raw")


@dataclass
class LinearScore:
    """A score linear in the z-scored expression of ``genes``.

    Attributes
    ----------
    genes : list of str
    weights : ndarray (p,)
        Weight of each gene on the z-scored scale.
    gene_mean, gene_sd : ndarray (p,) or None
        Training scaling; None for a weight table without it (only ``cohort`` scaling then).
    offset : float
        Constant added with ``raw`` weights (e.g. the ridge intercepts' difference).
    name : str
    """

    genes: list[str]
    weights: np.ndarray
    gene_mean: np.ndarray | None = None
    gene_sd: np.ndarray | None = None
    offset: float = 0.0
    name: str = "score"
    #: how error messages name the gene list's owner ("the model's 143 genes")
    owner: str = "the model's"

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=np.float64)
        if self.weights.shape != (len(self.genes),):
            raise ValueError(f"{len(self.genes)} genes but weights of shape {self.weights.shape}")
        if len(set(self.genes)) != len(self.genes):
            raise InputFormatError(f"{self.name}: genes listed twice, e.g. "
                                   f"{pd.Index(self.genes)[pd.Index(self.genes).duplicated()][:3].tolist()}")


@dataclass
class CohortScaling:
    """The z-scored expression of a cohort over a score's genes, and how it was obtained.

    Attributes
    ----------
    Z : ndarray (n, p)
        z-scored expression in the gene order of the score; genes the cohort lacks (and, with
        ``cohort`` scaling, genes constant in the cohort) are 0.
    present : ndarray of bool (p,)
        Genes the cohort has.
    constant : list of str
        Genes constant in the cohort (``cohort`` scaling only; they count as z = 0).
    cohort_mean, cohort_sd : ndarray (p,)
        Mean and sd (ddof = 1) of each gene over the cohort (NaN where absent).
    recipe : Recipe
    """

    Z: np.ndarray
    present: np.ndarray
    constant: list[str]
    cohort_mean: np.ndarray
    cohort_sd: np.ndarray
    recipe: Recipe


def aligned_expression(expression: pd.DataFrame, genes: list[str], max_missing_fraction: float,
                       owner: str = "the model's") -> tuple[np.ndarray, np.ndarray]:
    """The expression of ``genes`` (NaN columns where absent) and which genes are present.

    Raises a clear :class:`InputFormatError` for duplicated or non-numeric gene columns, no gene in
    common, too many genes missing, or non-finite values of present genes (the rules of
    :meth:`ForgeModel.scaled_expression`).
    """
    if expression.columns.duplicated().any():
        dup = expression.columns[expression.columns.duplicated()].tolist()[:5]
        raise InputFormatError(f"expression has duplicated gene columns, e.g. {dup}")
    # from the dtypes, not column by column: expression[c] builds a Series per gene (most of a
    # validation job's time when it scores 20,000-gene cohorts a hundred times)
    non_numeric = [c for c, dtype in expression.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
    if non_numeric:
        raise InputFormatError(f"expression has non-numeric values in gene column(s) {non_numeric[:5]}; "
                               "expected numbers (normalised expression)")
    columns = set(expression.columns)
    present = np.array([g in columns for g in genes], dtype=bool)
    if not present.any():
        raise InputFormatError(f"no gene of {owner} {len(genes)} genes (e.g. {genes[:3]}) is among the expression "
                               f"columns (e.g. {list(expression.columns[:3])})")
    missing = [g for g, here in zip(genes, present) if not here]
    if len(missing) > max_missing_fraction * len(genes):
        raise InputFormatError(f"{len(missing)} of {owner} {len(genes)} genes are missing from the expression "
                               f"(more than {max_missing_fraction:.0%}), e.g. {missing[:5]}")
    aligned = np.ascontiguousarray(expression.reindex(columns=genes).to_numpy(dtype=np.float64))
    if not np.isfinite(aligned[:, present]).all():
        raise InputFormatError("expression contains NaN or infinite values in model genes")
    return aligned, present


def scale_cohort(score: LinearScore, expression: pd.DataFrame, recipe: Recipe,
                 max_missing_fraction: float = 0.5) -> CohortScaling:
    """z-score ``expression`` over the score's genes as ``recipe.scaling`` says.

    Raises
    ------
    CohortTooSmallError
        ``cohort`` scaling of fewer than ``recipe.min_cohort_size`` samples.
    InputFormatError
        ``training`` scaling of a score without training mean and sd, or unusable expression.
    """
    aligned, present = aligned_expression(expression, score.genes, max_missing_fraction, score.owner)
    n = aligned.shape[0]
    with np.errstate(invalid="ignore"):
        cohort_mean = aligned.mean(axis=0) if n else np.full(len(score.genes), np.nan)
        cohort_sd = aligned.std(axis=0, ddof=1) if n > 1 else np.full(len(score.genes), np.nan)
    constant: list[str] = []
    if recipe.scaling == "training":
        if score.gene_mean is None or score.gene_sd is None:
            raise InputFormatError(f"{score.name}: 'training' scaling needs the training mean and sd of every gene "
                                   "(columns training_mean and training_sd of a weight table); use 'cohort' scaling")
        Z = (aligned - score.gene_mean) / score.gene_sd
        Z[:, ~present] = 0.0  # genes the cohort lacks: training mean (z = 0), as ForgeModel does
    else:
        if n < recipe.min_cohort_size:
            raise CohortTooSmallError(
                f"'cohort' scaling z-scores every gene within the scored cohort, which has {n} sample(s); at least "
                f"{recipe.min_cohort_size} are needed (min_cohort_size); score one sample at a time with 'training' scaling")
        usable = present & np.isfinite(cohort_sd) & (cohort_sd > 0)
        constant = [g for g, here, use in zip(score.genes, present, usable) if here and not use]
        Z = np.zeros_like(aligned)
        Z[:, usable] = (aligned[:, usable] - cohort_mean[usable]) / cohort_sd[usable]
    return CohortScaling(Z, present, constant, cohort_mean, cohort_sd, recipe)


def effective_weights(score: LinearScore, present: np.ndarray, weights: str) -> np.ndarray:
    """The weights applied to the z-scored genes: raw, or standardised over the genes present.

    Absent genes get weight 0 under ``standardised`` (they are dropped); under ``raw`` they keep
    their weight but their z is 0, so they contribute nothing either way.
    """
    if weights == "raw":
        return score.weights
    used = score.weights[present]
    if used.size < 2:
        raise InputFormatError(f"{score.name}: 'standardised' weights need at least 2 genes in the cohort; "
                               f"{used.size} present")
    sd = used.std(ddof=1)
    if not sd > 0:
        raise InputFormatError(f"{score.name}: the weights of the {used.size} genes present are all equal; "
                               "they cannot be standardised")
    out = np.zeros_like(score.weights)
    out[present] = (used - used.mean()) / sd
    return out


def apply_score(score: LinearScore, scaled: CohortScaling) -> np.ndarray:
    """The score of every sample of a scaled cohort."""
    w = effective_weights(score, scaled.present, scaled.recipe.weights)
    values = scaled.Z @ w
    if scaled.recipe.weights == "raw" and score.offset:
        values = values + score.offset
    return values


def predicted_outputs(model, scaled: CohortScaling) -> np.ndarray:
    """A model's predictions (original scale) from a scaled cohort: ``Z W H + training means``.

    The scaling's weights setting does not apply (predictions have no gene weights to standardise);
    with ``training`` scaling this equals :meth:`ForgeModel.predict` bit for bit.
    """
    return scaled.Z @ model.W @ model.heads + model.target_mean


def transfer_score(score: LinearScore, expression: pd.DataFrame, recipe: Recipe = TRAINING_RAW,
                   max_missing_fraction: float = 0.5) -> tuple[pd.Series, pd.DataFrame]:
    """Score every sample (rows of ``expression``) and list the score's genes the cohort lacks.

    Returns
    -------
    scores : Series indexed like ``expression``
    missing : DataFrame (gene, weight): genes absent from the cohort and their raw weight.
    """
    scaled = scale_cohort(score, expression, recipe, max_missing_fraction)
    values = apply_score(score, scaled)
    missing = pd.DataFrame({"gene": [g for g, here in zip(score.genes, scaled.present) if not here],
                            "weight": score.weights[~scaled.present]})
    return pd.Series(values, index=expression.index, name=score.name), missing


# ---------------------------------------------------------------------------
# Scores of a model, a ridge baseline, a weight table
# ---------------------------------------------------------------------------
def benefit_score_of(model, name: str = "forge") -> LinearScore:
    """The Benefit Score D̂ − Î of a joint :class:`ForgeModel` as a linear score."""
    return LinearScore(list(model.genes), model.benefit_weights(), model.gene_mean, model.gene_sd, 0.0, name)


def balanced_score_of(model, training_sd: tuple[float, float], name: str = "forge_balanced") -> LinearScore:
    """D̂/sd(D̂) − Î/sd(Î), the sds taken over the pair's training samples."""
    weights = model.W @ (model.heads[:, 0] / training_sd[0] - model.heads[:, 1] / training_sd[1])
    return LinearScore(list(model.genes), weights, model.gene_mean, model.gene_sd, 0.0, name)


def ridge_score_of(ridge, name: str = "ridge") -> LinearScore:
    """Predicted dependency − predicted IC50 of the pair's ridge baselines."""
    weights = ridge.coef[:, 0] - ridge.coef[:, 1]
    return LinearScore(list(ridge.genes), weights, ridge.gene_mean, ridge.gene_sd,
                       float(ridge.intercept[0] - ridge.intercept[1]), name)


WEIGHT_TABLE_COLUMNS = ("gene", "weight")
WEIGHT_TABLE_SCALING = ("training_mean", "training_sd")


def model_weight_table(model) -> pd.DataFrame:
    """A model's Benefit-Score weights with its training scaling: what ``forge-score --weights`` reads."""
    return pd.DataFrame({"gene": list(model.genes), "weight": model.benefit_weights(),
                         "training_mean": model.gene_mean, "training_sd": model.gene_sd})


def read_weight_table(path) -> LinearScore:
    """A gene-weight table (columns gene, weight; optional training_mean, training_sd) as a score.

    Tab-separated when the header holds a tab, else comma-separated. A gene listed twice, a
    missing or non-numeric weight, or a non-positive training sd is refused naming the file.
    """
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weight table {path} not found")
    with open(path, encoding="utf-8", errors="replace") as handle:
        header = handle.readline()
    try:
        table = pd.read_csv(path, sep="\t" if "\t" in header else ",", dtype={"gene": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputFormatError(f"{path}: not a readable gene-weight table ({err})") from err
    absent = [c for c in WEIGHT_TABLE_COLUMNS if c not in table.columns]
    if absent:
        raise InputFormatError(f"{path}: missing column(s) {absent}; expected columns gene and weight "
                               f"(optional: {', '.join(WEIGHT_TABLE_SCALING)}); found {list(table.columns)[:6]}")
    if table.empty:
        raise InputFormatError(f"{path}: no genes (a header without rows)")
    if table["gene"].isna().any():
        raise InputFormatError(f"{path}: line {int(np.flatnonzero(table['gene'].isna())[0]) + 2}: missing gene name")
    repeated = table["gene"][table["gene"].duplicated()]
    if len(repeated):
        raise InputFormatError(f"{path}: gene(s) listed more than once: {sorted(set(repeated))[:5]}")
    numeric = {}
    for column in ("weight",) + tuple(c for c in WEIGHT_TABLE_SCALING if c in table.columns):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = table["gene"][values.isna() | ~np.isfinite(values.fillna(0))]
        if len(bad):
            raise InputFormatError(f"{path}: column {column!r} is not a finite number for gene(s) {bad.tolist()[:5]}")
        numeric[column] = values.to_numpy(dtype=np.float64)
    has_scaling = all(c in numeric for c in WEIGHT_TABLE_SCALING)
    if has_scaling and (numeric["training_sd"] <= 0).any():
        bad = table["gene"][numeric["training_sd"] <= 0].tolist()[:5]
        raise InputFormatError(f"{path}: column 'training_sd' must be positive; not for {bad}")
    return LinearScore(table["gene"].tolist(), numeric["weight"],
                       numeric.get("training_mean") if has_scaling else None,
                       numeric.get("training_sd") if has_scaling else None, 0.0, path.name,
                       owner=f"the weight table {path.name}'s")


# ---------------------------------------------------------------------------
# The platform shift between the training cohort and a scored cohort
# ---------------------------------------------------------------------------
def platform_shift(score: LinearScore, expression: pd.DataFrame, max_missing_fraction: float = 0.5,
                   min_cohort_size: int = 2) -> pd.DataFrame:
    """Each gene's cohort mean and sd beside its training mean and sd, and what that does to its weight.

    On the expression scale a gene's weight is w/sd_training under ``training`` scaling and
    w/sd_cohort under ``cohort`` scaling (a mean shift only adds a constant to every score, which
    does not change the ranking; an sd ratio does). Both weight vectors are normalised to unit
    length over the genes present so that they compare; ``weight_change`` is their difference and
    the table is ranked by its absolute value: the top genes drive the difference between the two
    scalings.
    """
    aligned, present = aligned_expression(expression, score.genes, max_missing_fraction, score.owner)
    if score.gene_mean is None or score.gene_sd is None:
        raise InputFormatError(f"{score.name}: the platform shift needs the training mean and sd of every gene")
    if aligned.shape[0] < min_cohort_size:
        raise CohortTooSmallError(f"platform shift: {aligned.shape[0]} sample(s), at least {min_cohort_size} needed")
    cohort_mean = np.where(present, np.nanmean(np.where(present, aligned, 0.0), axis=0), np.nan)
    cohort_sd = np.where(present, np.std(np.where(present, aligned, 0.0), axis=0, ddof=1), np.nan)
    usable = present & (cohort_sd > 0)
    per_unit_training = np.where(present, score.weights / score.gene_sd, 0.0)
    per_unit_cohort = np.where(usable, score.weights / np.where(usable, cohort_sd, 1.0), 0.0)

    def unit(v: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(v)
        return v / norm if norm > 0 else v

    a, b = unit(per_unit_training), unit(per_unit_cohort)
    table = pd.DataFrame({
        "gene": score.genes, "present": present, "weight": score.weights,
        "training_mean": score.gene_mean, "training_sd": score.gene_sd,
        "cohort_mean": cohort_mean, "cohort_sd": cohort_sd,
        "mean_shift_in_training_sd": (cohort_mean - score.gene_mean) / score.gene_sd,
        "sd_ratio_cohort_to_training": cohort_sd / score.gene_sd,
        "unit_weight_training_scaling": np.where(present, a, np.nan),
        "unit_weight_cohort_scaling": np.where(present, b, np.nan),
    })
    table["weight_change"] = table["unit_weight_cohort_scaling"] - table["unit_weight_training_scaling"]
    # genes the cohort lacks (no weight change to rank) go last
    key = np.nan_to_num(np.abs(table["weight_change"].to_numpy()), nan=-1.0)
    order = np.argsort(-key, kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table.loc[~table["present"], "rank"] = np.nan
    return table
