"""One function per validation rule: Tahoe and PDX of one pair, and the summary across them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
# heavy packages (scipy.stats, scipy.interpolate, statsmodels, scikit-learn) are imported in the functions that
# use them: a job importing this module for something else does not pay their start-up (tests/test_imports.py)

from forge.analysis.enrichment import run_enrichment
from forge.io import InputFormatError, read_parquet_matrix
from forge.layout import VALIDATION_TABLES
from forge.modelling.baselines import LinearBaseline
from forge.modelling.model import load_model
from forge.modelling.transfer import DEFAULT_MIN_COHORT_SIZE, TRAINING_RAW, Recipe
from forge.validation import pdx as vpdx
from forge.validation import robustness
from forge.validation import tahoe as vtahoe
from forge.validation.scores import PairScorer
from forge.validation.stats import TEST_COLUMNS, not_computed, score_composition

log = logging.getLogger(__name__)


@dataclass
class PairModels:
    """The models a pair is validated with.

    Attributes
    ----------
    reported_k : int
        k of the reported model (joint replicate 0 of the training stage).
    by_k : dict of int to list of PairScorer
        Every validated k with all its replicates (seed + b, in order); ``by_k[reported_k][0]``
        is the reported model.
    ridge : LinearBaseline
    test_expression : DataFrame
        The pair's own test cell lines (for the gene-dropout check).
    """

    reported_k: int
    by_k: dict[int, list[PairScorer]]
    ridge: LinearBaseline
    test_expression: pd.DataFrame

    @property
    def reported(self) -> PairScorer:
        return self.by_k[self.reported_k][0]


def _replicate_dirs(folder: Path) -> list[Path]:
    dirs = sorted(p for p in folder.glob("rep*") if (p / "model.json").is_file())
    if not dirs:
        raise FileNotFoundError(f"no model replicates (rep*/model.json) in {folder}")
    return dirs


def load_pair_models(models_dir: str | Path, k_dirs: list[str | Path], expression: str | Path, split: str | Path,
                     ridge: str | Path) -> PairModels:
    """The reported joint models, the models of every other validated k, the ridge baseline.

    ``k_dirs`` are the training stage's extra-k folders (``models_k/<pair>/k<k>``); a k equal to the
    reported model's is served by the reported replicates. The training sds of the balanced score
    come from the pair's training expression (``expression``, ``split``).
    """
    frame = read_parquet_matrix(expression)
    labels = pd.read_csv(split, sep="\t", dtype={"sample": str}).set_index("sample")["split"]
    train = frame.loc[frame.index.intersection(labels.index[labels == "train"])]
    test = frame.loc[frame.index.intersection(labels.index[labels == "test"])]
    baseline = LinearBaseline.from_json(Path(ridge).read_text())
    folders = [Path(models_dir) / "joint"] + [Path(d) for d in k_dirs]
    by_k: dict[int, list[PairScorer]] = {}
    reported_k = None
    for folder in folders:
        models = [load_model(d) for d in _replicate_dirs(folder)]
        k = int(models[0].W.shape[1])
        reported_k = k if reported_k is None else reported_k
        if k in by_k:
            continue
        by_k[k] = [PairScorer.from_training(m, train, baseline) for m in models]
    return PairModels(reported_k, dict(sorted(by_k.items())), baseline, test)


def recipes_of(settings: dict) -> list[Recipe]:
    """The configured transfer recipes (``validation.recipes``), the primary one first."""
    minimum = int(settings.get("min_cohort_size", DEFAULT_MIN_COHORT_SIZE))
    return [Recipe(r["scaling"], r["weights"], minimum) for r in settings.get("recipes", [])] or [TRAINING_RAW]


def failed_tests(reason: str, recipe: Recipe | None = None) -> pd.DataFrame:
    """One not-computed row for a cohort the model cannot score (under ``recipe``)."""
    row = dict(not_computed(f"cohort not scored: {reason}", test="all"), score="all")
    frame = pd.DataFrame([row])[["score"] + TEST_COLUMNS]
    return tag(frame, recipe) if recipe is not None else frame


def tag(table: pd.DataFrame, recipe: Recipe, **extra) -> pd.DataFrame:
    """``table`` with the recipe's scaling and weights (and ``extra`` columns) in front."""
    table = table.copy()
    for position, (column, value) in enumerate({"scaling": recipe.scaling, "weights": recipe.weights,
                                                 **extra}.items()):
        table.insert(position, column, value)
    return table


def validate_tahoe(models: PairModels, dmso: pd.DataFrame, treated: pd.DataFrame, counts: pd.DataFrame,
                   samples: pd.DataFrame, settings: dict, control: str, libraries: dict | None,
                   enrichment_settings: dict | None, n_cpus: int = 1) -> dict[str, pd.DataFrame]:
    """Scores, response strength, tests, DESeq2 and its enrichment for one pair (``validation.tahoe``).

    Scores and tests are written for every recipe of ``settings["recipes"]`` (the primary one first);
    DESeq2 and its enrichment use the reported model under the primary recipe. The robustness tables
    repeat the score-group tests for every validated k × replicate × recipe. ``n_cpus``: processes
    of the DESeq2 fits (the job's threads; :func:`forge.validation.tahoe.deseq2`).
    """
    recipes = recipes_of(settings)
    scorer = models.reported
    profiles = vtahoe.baseline_profiles(dmso, samples, settings["baseline_plate"], control)
    genes = scorer.model.genes if settings["response_genes"] == "model" else None
    strength, unmatched = vtahoe.response_strength(dmso, treated, samples, control, genes)
    if len(unmatched):
        log.warning("%d treated samples have no DMSO profile on their plate and are left out", len(unmatched))
    score_tables, test_tables, missing = [], [], pd.DataFrame()
    for recipe in recipes:
        try:
            scores, missing = vtahoe.tahoe_scores(scorer, profiles, samples, settings["normal_lines"],
                                                  settings["max_missing_fraction"], recipe)
        except InputFormatError as error:
            reason = f"Tahoe DMSO profiles of plate {settings['baseline_plate']} ({recipe.label}): {error}"
            log.error("cohort not scored: %s", reason)
            test_tables.append(failed_tests(reason, recipe))
            continue
        log.info("%s: %d lines scored from plate %s DMSO (%d normal); %d model genes missing", recipe.label,
                 len(scores), settings["baseline_plate"], int(scores["is_normal"].sum()), len(missing))
        score_tables.append(tag(scores, recipe))
        test_tables.append(tag(vtahoe.tahoe_tests(scores, strength, settings["min_group"]), recipe))
    tests = pd.concat(test_tables, ignore_index=True)
    if not score_tables:
        tables = {name: pd.DataFrame() for name in VALIDATION_TABLES["tahoe"]}
        tables.update(tests=tests, response_strength=strength, unmatched=unmatched)
        return tables
    all_scores = pd.concat(score_tables, ignore_index=True)
    primary = score_tables[0].drop(columns=["scaling", "weights"])
    de, de_summary = vtahoe.tahoe_de(counts, samples, primary, strength, control, settings["de"],
                                       n_cpus=n_cpus)
    de_summary = pd.DataFrame([dict(de_summary, scaling=score_tables[0]["scaling"].iloc[0],
                                    weights=score_tables[0]["weights"].iloc[0])])
    enrichment = pd.DataFrame()
    if libraries and len(de):
        lists = {f"tahoe_de_{d}": (de.loc[de["direction"] == d, "gene"].astype(str).tolist(), de["gene"].astype(str).tolist())
                 for d in ("up", "down")}
        enrichment = run_enrichment(lists, libraries, enrichment_settings)
    strength = strength.merge(primary[["cell_line", "cell_name", "is_normal", "forge", "forge_group"]], on="cell_line",
                              how="left")

    def line_tests(table: pd.DataFrame, variants: tuple[str, ...]) -> pd.DataFrame:
        annotated = vtahoe.annotate_lines(table, samples, settings["normal_lines"], variants)
        return vtahoe.tahoe_tests(annotated, strength, settings["min_group"], variants, trend=False)

    robust = robustness.validate(models, profiles, recipes, line_tests, settings)
    return dict(scores=all_scores, missing_genes=missing, response_strength=strength, unmatched=unmatched, tests=tests,
                de=de, de_summary=de_summary, enrichment=enrichment,
                platform_shift=robustness.shift_table(models, profiles, settings), **robust)


def validate_pdx(models: PairModels, expression: pd.DataFrame, response: pd.DataFrame,
                 settings_expression: pd.DataFrame, settings: dict, default: tuple[float, float]) -> dict[str, pd.DataFrame]:
    """Scores, %TV and mRECIST tests and the pseudo-count grid for one pair (``validation.pdx``).

    Every recipe of ``settings["recipes"]`` (the primary one first) is scored and tested with the
    reported model; the robustness tables repeat the tests for every validated k × replicate × recipe.
    """
    recipes = recipes_of(settings)
    scorer = models.reported
    score_tables, test_tables, mrecist_tables, sensitivity_tables, missing = [], [], [], [], pd.DataFrame()
    for recipe in recipes:
        try:
            table, missing = vpdx.pdx_scores(scorer, expression, response, settings["max_missing_fraction"], recipe)
        except InputFormatError as error:
            reason = f"PDX expression ({recipe.label}): {error}"
            log.error("cohort not scored: %s", reason)
            test_tables.append(failed_tests(reason, recipe))
            continue
        log.info("%s: %d PDX models scored; %d of %d model genes missing", recipe.label, len(table), len(missing),
                 len(scorer.model.genes))
        tests, mrecist = vpdx.pdx_tests(table, settings["min_group"], settings["seed"])
        score_tables.append(tag(table, recipe))
        test_tables.append(tag(tests, recipe))
        mrecist_tables.append(tag(mrecist, recipe))
        try:
            sensitivity_tables.append(vpdx.sensitivity_scores(scorer, settings_expression, response,
                                                              settings["max_missing_fraction"], settings["min_group"],
                                                              default, recipe))
        except InputFormatError as error:
            log.warning("pseudo-count grid not scored under %s: %s", recipe.label, error)
    tests = pd.concat(test_tables, ignore_index=True)
    if not score_tables:
        tables = {name: pd.DataFrame() for name in VALIDATION_TABLES["pdx"]}
        tables["tests"] = tests
        return tables

    def model_tests(table: pd.DataFrame, variants: tuple[str, ...]) -> pd.DataFrame:
        joined = vpdx.with_response(table, response, variants)
        return vpdx.pdx_tests(joined, settings["min_group"], settings["seed"], variants,
                              n_resamples=int(settings.get("robustness_fisher_resamples", 10_000)))[0]

    robust = robustness.validate(models, expression, recipes, model_tests, settings)
    return dict(scores=pd.concat(score_tables, ignore_index=True), missing_genes=missing, tests=tests,
                mrecist=pd.concat(mrecist_tables, ignore_index=True),
                sensitivity=pd.concat(sensitivity_tables, ignore_index=True) if sensitivity_tables else pd.DataFrame(),
                platform_shift=robustness.shift_table(models, expression, settings), **robust)


def composition_row(cohort: str, pair: str, scores: pd.DataFrame) -> dict:
    """Each half's share of the cohort's score variance, and Spearman(score, −Î)."""
    row = {"cohort": cohort, "pair": pair, "n": len(scores)}
    if len(scores) < 3:
        return row
    row.update(score_composition(scores["predicted_dependency"], scores["predicted_ic50"]))
    return row


def training_cohort_composition(pair: str, benefit_scores: pd.DataFrame) -> dict:
    """:func:`composition_row` over the pair's own cohort (every sample with expression)."""
    dependency = next(c for c in benefit_scores.columns if c.startswith("predicted_") and c.endswith("_dependency"))
    ic50 = next(c for c in benefit_scores.columns if c.startswith("predicted_") and c.endswith("_ic50"))
    scores = benefit_scores.rename(columns={dependency: "predicted_dependency", ic50: "predicted_ic50"})
    return composition_row("training_cohort", pair, scores)


def primary_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a per-recipe table (scores, tests) under its primary recipe (the first one listed)."""
    if table.empty or "scaling" not in table.columns:
        return table
    first = table.iloc[0]
    keep = (table["scaling"] == first["scaling"]) & (table["weights"] == first["weights"])
    return table[keep].reset_index(drop=True)


CLAIM = "reported model"


def summarise(tests: list[tuple[str, str, pd.DataFrame]], robustness_summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """All tests of the stage in one table, BH-adjusted over every computed test of the reported model.

    The robustness summary rows (:func:`forge.validation.robustness.summarise_robustness`) are appended
    below with ``claim`` saying they are not additional claims; they take no part in the adjustment.
    """
    from statsmodels.stats.multitest import multipletests

    parts = []
    for cohort, pair, table in tests:
        part = table.copy()
        part.insert(0, "pair", pair)
        part.insert(0, "cohort", cohort)
        parts.append(part)
    summary = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if summary.empty:
        return summary
    # tests that do not involve a score (the dose trend) are the same for every pair: keep one
    cohort_level = summary["score"] == "none"
    first = ~summary[cohort_level].duplicated(["cohort", "test", "grouping", "variable"])
    summary.loc[cohort_level, "pair"] = "(all pairs)"
    summary = pd.concat([summary[~cohort_level], summary[cohort_level][first]], ignore_index=True)
    computed = (summary["status"] == "computed") & summary["p_value"].notna()
    summary["p_adjusted_bh"] = np.nan
    if computed.any():
        summary.loc[computed, "p_adjusted_bh"] = multipletests(summary.loc[computed, "p_value"], method="fdr_bh")[1]
    summary["claim"] = CLAIM
    if robustness_summary is not None and len(robustness_summary):
        extra = robustness_summary.copy()
        extra["status"] = "robustness summary"
        summary = pd.concat([summary, extra], ignore_index=True)
    return summary
