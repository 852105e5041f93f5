"""One function per validation rule: Tahoe and PDX of one pair, and the summary across them."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from forge.analysis.enrichment import run_enrichment
from forge.io import InputFormatError
from forge.modelling.baselines import LinearBaseline
from forge.modelling.model import load_model
from forge.validation import pdx as vpdx
from forge.validation import tahoe as vtahoe
from forge.validation.scores import PairScorer
from forge.validation.stats import TEST_COLUMNS, not_computed, score_composition

log = logging.getLogger(__name__)


def load_scorer(models_dir: str | Path, benefit_scores: str | Path, ridge: str | Path) -> PairScorer:
    """The pair's reported model, its training prediction sds and its ridge baseline."""
    model = load_model(Path(models_dir) / "joint" / "rep00")
    scores = pd.read_csv(benefit_scores, sep="\t", dtype={"sample": str})
    return PairScorer.from_pair_tables(model, scores, LinearBaseline.from_json(Path(ridge).read_text()))


def scoring_failed(reason: str, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Tables of a pair whose model cannot score the cohort: every test not computed, with the reason."""
    log.error("cohort not scored: %s", reason)
    tables = {name: pd.DataFrame() for name in names}
    tables["tests"] = pd.DataFrame([dict(not_computed(f"cohort not scored: {reason}", test="all"), score="all")])[
        ["score"] + TEST_COLUMNS]
    return tables


TAHOE_TABLES = ("scores", "missing_genes", "response_strength", "unmatched", "tests", "de", "de_summary", "enrichment")
PDX_TABLES = ("scores", "missing_genes", "tests", "mrecist", "sensitivity")


def validate_tahoe(scorer: PairScorer, dmso: pd.DataFrame, treated: pd.DataFrame, counts: pd.DataFrame,
                   samples: pd.DataFrame, settings: dict, control: str, libraries: dict | None,
                   enrichment_settings: dict | None) -> dict[str, pd.DataFrame]:
    """Scores, response strength, tests, DESeq2 and its enrichment for one pair (``validation.tahoe``)."""
    profiles = vtahoe.baseline_profiles(dmso, samples, settings["baseline_plate"], control)
    try:
        scores, missing = vtahoe.tahoe_scores(scorer, profiles, samples, settings["normal_lines"],
                                              settings["max_missing_fraction"])
    except InputFormatError as error:
        return scoring_failed(f"Tahoe DMSO profiles of plate {settings['baseline_plate']}: {error}", TAHOE_TABLES)
    n_normal = int(scores["is_normal"].sum())
    log.info("%d lines scored from plate %s DMSO (%d normal); %d model genes missing", len(scores),
             settings["baseline_plate"], n_normal, len(missing))
    genes = scorer.model.genes if settings["response_genes"] == "model" else None
    strength, unmatched = vtahoe.response_strength(dmso, treated, samples, control, genes)
    if len(unmatched):
        log.warning("%d treated samples have no DMSO profile on their plate and are left out", len(unmatched))
    tests = vtahoe.tahoe_tests(scores, strength, settings["min_group"])
    de, de_summary = vtahoe.tahoe_de(counts, samples, scores, strength, control, settings["de"])
    de_summary = pd.DataFrame([de_summary])
    enrichment = pd.DataFrame()
    if libraries and len(de):
        lists = {f"tahoe_de_{d}": (de.loc[de["direction"] == d, "gene"].astype(str).tolist(), de["gene"].astype(str).tolist())
                 for d in ("up", "down")}
        enrichment = run_enrichment(lists, libraries, enrichment_settings)
    strength = strength.merge(scores[["cell_line", "cell_name", "is_normal", "forge", "forge_group"]], on="cell_line",
                              how="left")
    return dict(scores=scores, missing_genes=missing, response_strength=strength, unmatched=unmatched, tests=tests, de=de,
                de_summary=de_summary, enrichment=enrichment)


def validate_pdx(scorer: PairScorer, expression: pd.DataFrame, response: pd.DataFrame,
                 settings_expression: pd.DataFrame, settings: dict, default: tuple[float, float]) -> dict[str, pd.DataFrame]:
    """Scores, %TV and mRECIST tests and the pseudo-count grid for one pair (``validation.pdx``)."""
    try:
        table, missing = vpdx.pdx_scores(scorer, expression, response, settings["max_missing_fraction"])
    except InputFormatError as error:
        return scoring_failed(f"PDX expression: {error}", PDX_TABLES)
    log.info("%d PDX models scored; %d of %d model genes missing", len(table), len(missing), len(scorer.model.genes))
    tests, mrecist = vpdx.pdx_tests(table, settings["min_group"], settings["seed"])
    sensitivity = vpdx.sensitivity_scores(scorer, settings_expression, response, settings["max_missing_fraction"],
                                          settings["min_group"], default)
    return dict(scores=table, missing_genes=missing, tests=tests, mrecist=mrecist, sensitivity=sensitivity)


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


def summarise(tests: list[tuple[str, str, pd.DataFrame]]) -> pd.DataFrame:
    """All tests of the stage in one table, BH-adjusted over every computed test."""
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
    return summary
