"""Which figures exist, which tables each reads, and which paper panels it draws.

A figure is a function ``draw(tables, name) -> (Figure, panels)`` registered with :func:`register`:

* ``tables``: a dict of the DataFrames named in the figure's ``tables`` (keys of :data:`TABLES`),
  read from the files the workflow wrote. Keys ending in ``@pairs`` are the per-pair table of every
  pair, concatenated, with a ``pair`` column first.
* ``name``: the pair (scope ``pair``), ``all_pairs`` (scope ``pairs``), or ``<cohort>__<pair>``
  (scope ``validation``).
* ``panels``: for every panel letter of the spec, ``"drawn"`` or the reason it could not be drawn.

The figure rules write ``results/<run>/figures/<figure>/<name>.{png,pdf}`` and one index row per panel;
``results/<run>/figures/index.tsv`` maps paper figure and panel → file → the tables it was drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from forge.io import read_tsv_or_empty

#: Table key → path pattern ({pair}, {cohort}); every table is a TSV the workflow wrote.
TABLES: dict[str, str] = {
    # per pair (modelling)
    "benefit_scores": "pairs/{pair}/benefit_scores.tsv",
    "metrics": "pairs/{pair}/metrics.tsv",
    "comparison": "pairs/{pair}/comparison.tsv",
    "split": "pairs/{pair}/split.tsv",
    "tuning_curve": "pairs/{pair}/tuning_curve.tsv",
    "gene_effects": "pairs/{pair}/gene_effects.tsv",
    "top_genes": "pairs/{pair}/top_genes.tsv",
    "effect_concordance": "pairs/{pair}/effect_concordance.tsv",
    "score_group_tests": "pairs/{pair}/score_group_tests.tsv",
    "baseline_predictions": "pairs/{pair}/baseline_predictions.tsv",
    "predictions": "pairs/{pair}/predictions.tsv",
    # per pair (analysis)
    "embedding": "pairs/{pair}/embedding.tsv",
    "clusters": "pairs/{pair}/clusters.tsv",
    "cluster_summary": "pairs/{pair}/cluster_summary.tsv",
    "cluster_lineages": "pairs/{pair}/cluster_lineages.tsv",
    "sensitive_clusters": "pairs/{pair}/sensitive_clusters.tsv",
    "de_score_groups": "pairs/{pair}/de_score_groups.tsv",
    "de_sensitive_clusters": "pairs/{pair}/de_sensitive_clusters.tsv",
    "enrichment": "pairs/{pair}/enrichment.tsv",
    # across pairs
    "pairs": "pairs.tsv",
    "all_comparison": "comparison.tsv",
    "all_metrics": "metrics.tsv",
    "all_concordance": "effect_concordance.tsv",
    "concordance_test": "effect_concordance_test.tsv",
    "umap": "embedding_umap.tsv",
    # validation, per cohort and pair
    "validation_scores": "validation/{cohort}/{pair}/scores.tsv",
    "validation_tests": "validation/{cohort}/{pair}/tests.tsv",
    "tahoe_strength": "validation/tahoe/{pair}/response_strength.tsv",
    "tahoe_de": "validation/tahoe/{pair}/de.tsv",
    "tahoe_single_cells": "validation/tahoe/{pair}/single_cells.tsv",
    "pdx_mrecist": "validation/pdx/{pair}/mrecist.tsv",
    "pdx_sensitivity": "validation/pdx/{pair}/sensitivity.tsv",
    "validation_summary": "validation/summary.tsv",
    # robustness of the validation (forge.validation.robustness)
    "validation_robustness": "validation/{cohort}/{pair}/robustness.tsv",
    "gene_weights": "validation/{cohort}/{pair}/gene_weights.tsv",
    "weight_tests": "validation/{cohort}/{pair}/weight_tests.tsv",
    "robustness_summary": "validation/robustness_summary.tsv",
}

#: Figure scopes and the ``name`` wildcard they take.
SCOPES = ("pair", "pairs", "validation")


@dataclass
class FigureSpec:
    """One registered figure.

    Attributes
    ----------
    name : str
        File stem of the figure folder (``fig2``, ``supp_tuning`` ...).
    scope : str
        ``pair``, ``pairs`` or ``validation``.
    tables : tuple of str
        Keys of :data:`TABLES` (optionally with ``@pairs``).
    panels : dict
        Panel letter → (paper figure and panel, what it shows), e.g. ``{"b": ("Fig. 2b", "split sizes")}``.
    caption : str
        Report caption (reStructuredText); ``{name}`` is replaced by the pair or cohort.
    draw : callable
    cohorts : tuple of str
        Validation figures only: the cohorts they are drawn for.
    """

    name: str
    scope: str
    tables: tuple[str, ...]
    panels: dict[str, tuple[str, str]]
    caption: str
    draw: Callable = field(repr=False)
    cohorts: tuple[str, ...] = ()


FIGURES: dict[str, FigureSpec] = {}


def register(name: str, scope: str, tables: tuple[str, ...], panels: dict[str, tuple[str, str]], caption: str,
             cohorts: tuple[str, ...] = ()):
    """Decorator: add a drawing function to :data:`FIGURES`."""
    if scope not in SCOPES:
        raise ValueError(f"figure {name}: unknown scope {scope!r}")
    unknown = [t for t in tables if t.removesuffix("@pairs") not in TABLES]
    if unknown:
        raise ValueError(f"figure {name}: unknown tables {unknown}")

    def decorate(draw: Callable) -> Callable:
        FIGURES[name] = FigureSpec(name, scope, tuple(tables), dict(panels), caption, draw, tuple(cohorts))
        return draw

    return decorate


def table_paths(spec: FigureSpec, name: str, pairs: list[str], root: str = "results") -> dict[str, list[str]]:
    """Files of every table the figure reads, for the figure named ``name``, under the run's
    results directory ``root`` (``results/<run_name>`` in the workflow)."""
    cohort, pair = (name.split("__", 1) if spec.scope == "validation" else ("", name))
    paths = {}
    for key in spec.tables:
        pattern = TABLES[key.removesuffix("@pairs")]
        if key.endswith("@pairs"):
            paths[key] = [f"{root}/" + pattern.format(pair=p, cohort=cohort) for p in pairs]
        else:
            paths[key] = [f"{root}/" + pattern.format(pair=pair, cohort=cohort)]
    return paths


def read_tables(paths: dict[str, list[str]]) -> dict[str, pd.DataFrame]:
    """The DataFrames of :func:`table_paths` (``@pairs`` tables concatenated with a ``pair`` column)."""
    tables = {}
    for key, files in paths.items():
        if key.endswith("@pairs"):
            parts = []
            for path in files:
                frame = _read(path)
                if "pair" in frame.columns:
                    frame = frame.drop(columns="pair")
                frame.insert(0, "pair", Path(path).parent.name)
                parts.append(frame)
            tables[key] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        else:
            tables[key] = _read(files[0])
    return tables


def _read(path: str) -> pd.DataFrame:
    return read_tsv_or_empty(path, dtype={"sample": str, "gene": str, "cell_line": str, "Model": str})


def index_rows(spec: FigureSpec, name: str, png: str, pdf: str, panels: dict[str, str],
               paths: dict[str, list[str]]) -> pd.DataFrame:
    """One row per panel: paper figure and panel, what it shows, files, tables read, status."""
    sources = "; ".join(sorted({p for files in paths.values() for p in files}))
    rows = []
    for letter, (paper, what) in spec.panels.items():
        status = panels.get(letter, "not drawn: the figure function did not report this panel")
        rows.append({"figure": spec.name, "name": name, "panel": letter, "paper_panel": paper, "shows": what,
                     "png": png, "pdf": pdf, "tables": sources, "status": status})
    return pd.DataFrame(rows)


def load_all() -> dict[str, FigureSpec]:
    """Import every figure module (``forge/figures/fig_*.py``; they register themselves), sorted by name."""
    import importlib
    import pkgutil

    import forge.figures

    for module in sorted(m.name for m in pkgutil.iter_modules(forge.figures.__path__) if m.name.startswith("fig_")):
        importlib.import_module(f"forge.figures.{module}")
    return dict(sorted(FIGURES.items()))


def figure_names(spec: FigureSpec, pairs: list[str], validation_pairs: dict[str, list[str]]) -> list[str]:
    """The ``name`` wildcards a figure is drawn for."""
    if spec.scope == "pair":
        return list(pairs)
    if spec.scope == "pairs":
        return ["all_pairs"]
    return [f"{cohort}__{pair}" for cohort in spec.cohorts for pair in validation_pairs.get(cohort, [])]


def paper_figure(spec: FigureSpec) -> str:
    """Report category of a figure: its paper figure ('Fig. 2', 'Supplementary')."""
    first = next(iter(spec.panels.values()))[0]
    return "Supplementary" if first.lower().startswith("supp") else first.split(" ")[0] + " " + first.split(" ")[1].rstrip("abcdefghijklmnop,–-")
