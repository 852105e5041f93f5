"""Which figures exist, which tables each reads, and which paper panels it draws.

The figures themselves, with their tables, panels and captions, are declared in
:mod:`forge.figures.specs` (metadata only: importing this module imports neither matplotlib nor pandas,
so that parsing the workflow stays light). This module adds the table files (:data:`TABLES`), what one
figure job draws (:class:`FigureSubject`), its caption (:func:`caption_text`) and its rows of the
figure index.

The figure rules write ``results/<run>/figures/<figure>/<name>.{png,pdf}`` and one index row per panel;
``results/<run>/figures/index.tsv`` maps paper figure and panel → file → the tables it was drawn from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from forge.figures.specs import FIGURES, SCOPES, FigureSpec
from forge.layout import RESULT_TABLES

if TYPE_CHECKING:  # pandas is imported by the functions that read tables, not at parse time
    import pandas as pd

    from forge.modelling.pairs import Pair

__all__ = ["FIGURES", "SCOPES", "TABLES", "COHORT_TITLES", "FigureSpec", "FigureSubject", "caption_text",
           "figure_names", "figure_subject", "index_rows", "load_all", "paper_figure", "read_tables",
           "rst_escaped", "table_paths", "validation_cohorts"]

#: Table key → path pattern ({pair}, {cohort}) under the run's results: the tables the workflow wrote,
#: named once in :mod:`forge.layout`.
TABLES: dict[str, str] = RESULT_TABLES


def check_specs(specs: dict[str, FigureSpec]) -> None:
    """Refuse a figure that reads a table :data:`TABLES` does not know (a typo would otherwise surface
    only as a missing input when the figure is drawn)."""
    for spec in specs.values():
        unknown = [t for t in spec.tables if t.removesuffix("@pairs") not in TABLES]
        if unknown:
            raise ValueError(f"figure {spec.name}: unknown tables {unknown}")


check_specs(FIGURES)


#: Validation cohorts as captions and titles name them.
COHORT_TITLES = {"tahoe": "Tahoe-100M", "pdx": "PDX (Gao 2015)"}


@dataclass(frozen=True)
class FigureSubject:
    """What one figure job draws.

    Attributes
    ----------
    name : str
        The ``name`` wildcard: the pair's name, ``all_pairs``, or ``<cohort>__<pair>``.
    pair : Pair or None
        The pair drawn (scopes ``pair`` and ``validation``); None for ``all_pairs``.
    pairs : tuple of Pair
        Every selected pair, in the order of the pairs table.
    cohort : str
        The validation cohort (``tahoe``, ``pdx``), else ``""``.
    cohort_drug : str
        The drug the validation cohort was treated with (``tahoe.drug``, ``pdx.treatment``), else ``""``.
    cohort_models : str
        What the validation cohort's samples are ('Gao et al. 2015 NSCLC PDX models'), else ``""``.
    """

    name: str
    pair: Pair | None = None
    pairs: tuple[Pair, ...] = ()
    cohort: str = ""
    cohort_drug: str = ""
    cohort_models: str = ""

    @property
    def title(self) -> str:
        """The pair's title ('EGFR–erlotinib'), or the name when no pair is drawn."""
        return self.pair.title if self.pair is not None else self.name

    def pair_named(self, name: str) -> Pair | None:
        """The record of the selected pair ``name`` (None for a name not in the pairs table)."""
        return next((p for p in self.pairs if p.name == name), None)

    def title_of(self, name: str) -> str:
        """Title of the pair ``name`` (the name itself if it is not a selected pair)."""
        pair = self.pair_named(name)
        return pair.title if pair is not None else name

    @property
    def controls(self) -> set[str]:
        """Names of the negative-control pairs."""
        return {p.name for p in self.pairs if p.control}


def validation_cohorts(tahoe_drug: str, pdx_treatment: str, pdx_tumour_type: str) -> dict[str, dict[str, str]]:
    """The validation cohorts' drug and models, from the configuration (``tahoe.drug``,
    ``pdx.treatment``, ``pdx.tumour_type``), as :func:`figure_subject` takes them."""
    return {"tahoe": {"drug": tahoe_drug, "models": "Tahoe-100M cell lines"},
            "pdx": {"drug": pdx_treatment, "models": f"Gao et al. 2015 {pdx_tumour_type} PDX models"}}


def figure_subject(spec: FigureSpec, name: str, pairs: dict[str, Pair],
                   cohorts: dict[str, dict[str, str]] | None = None) -> FigureSubject:
    """The subject of the figure ``spec`` drawn for the wildcard ``name``, from the selected pairs
    (:func:`forge.modelling.pairs.read_selected_pairs`) and the validation cohorts
    (:func:`validation_cohorts`)."""
    cohort, pair_name = (name.split("__", 1) if spec.scope == "validation" else ("", name))
    pair = None
    if spec.scope != "pairs":
        if pair_name not in pairs:
            raise ValueError(f"figure {spec.name}: {pair_name!r} is not a selected pair ({', '.join(pairs)})")
        pair = pairs[pair_name]
    settings = (cohorts or {}).get(cohort, {})
    return FigureSubject(name, pair, tuple(pairs.values()), cohort, settings.get("drug", ""),
                         settings.get("models", ""))


def rst_escaped(text: str) -> str:
    """``text`` as reStructuredText shows it literally (a pair named ``X_`` is not a link target)."""
    return re.sub(r"([\\`*_])", r"\\\1", text)


def caption_text(spec: FigureSpec, subject: FigureSubject, rst: bool = False) -> str:
    """The figure's caption for this subject (reStructuredText): the template's fields filled from the
    pair record and the cohort, so a caption never names another pair's target, drug or treatment.

    ``{pair}`` the pair's title (with "negative control" for a control), ``{target}``, ``{drug}``
    (lower case), ``{cohort_drug}`` the validation cohort's treatment (lower case), ``{cohort_models}``
    what its samples are, ``{cohort_note}`` a sentence
    when that treatment is not the pair's drug (the pair is then scored on another drug's cohort).
    With ``rst``, the filled-in values are escaped for reStructuredText.
    """
    pair = subject.pair
    fields = dict(pair=subject.title, target="the target", drug="the drug", cohort_drug=subject.cohort_drug.lower() or "the drug",
                  cohort_models=subject.cohort_models or "the cohort's samples", cohort_note="")
    if pair is not None:
        fields.update(pair=pair.title + (" (negative control)" if pair.control else ""), target=pair.target,
                      drug=pair.drug.lower())
        drugs = {d.casefold() for d in (pair.drug, *pair.extra_drugs)}
        if subject.cohort_drug and subject.cohort_drug.casefold() not in drugs:
            fields["cohort_note"] = (f" The cohort was treated with {subject.cohort_drug.lower()}, not with "
                                     f"{pair.drug.lower()}: the pair is scored here as a comparison, and its "
                                     "tests are not evidence for its own drug.")
    if rst:  # names from the user's tables, escaped where the caption is rendered as rst
        fields = {key: rst_escaped(value) for key, value in fields.items()}
    return spec.caption.format(**fields)


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
    import pandas as pd

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
    from forge.io import read_tsv_or_empty

    return read_tsv_or_empty(path, dtype={"sample": str, "gene": str, "cell_line": str, "Model": str})


def index_rows(spec: FigureSpec, name: str, png: str, pdf: str, panels: dict[str, str],
               paths: dict[str, list[str]]) -> pd.DataFrame:
    """One row per panel: paper figure and panel, what it shows, files, tables read, status."""
    import pandas as pd

    sources = "; ".join(sorted({p for files in paths.values() for p in files}))
    rows = []
    for letter, (paper, what) in spec.panels.items():
        status = panels.get(letter, "not drawn: the figure function did not report this panel")
        rows.append({"figure": spec.name, "name": name, "panel": letter, "paper_panel": paper, "shows": what,
                     "png": png, "pdf": pdf, "tables": sources, "status": status})
    return pd.DataFrame(rows)


def load_all() -> dict[str, FigureSpec]:
    """Every figure (:mod:`forge.figures.specs`), sorted by name. No drawing module is imported: a
    spec's drawing function is imported when the figure is drawn (:attr:`FigureSpec.draw`)."""
    return dict(sorted(FIGURES.items()))


def figure_names(spec: FigureSpec, pairs: list[str], validation_pairs: dict[str, list[str]]) -> list[str]:
    """The ``name`` wildcards a figure is drawn for."""
    if spec.scope == "pair":
        return list(pairs)
    if spec.scope == "pairs":
        return ["all_pairs"]
    return [f"{cohort}__{pair}" for cohort in spec.cohorts for pair in validation_pairs.get(cohort, [])]


def paper_figure(spec: FigureSpec) -> str:
    """Report category of a figure: its paper figure ('Fig. 2', 'Fig. S (supplementary)')."""
    first = next(iter(spec.panels.values()))[0]
    # 'Fig. S' sorts after 'Fig. 6' in the report's menu (categories are sorted by name)
    return "Fig. S (supplementary)" if first.lower().startswith("supp") else first.split(" ")[0] + " " + first.split(" ")[1].rstrip("abcdefghijklmnop,–-")
