"""What a run produces once its pairs are known: the pairs each validation cohort checks and the
figure files drawn for them.

Pure functions of the validated configuration and the selected pairs' records
(:func:`forge.modelling.pairs.read_selected_pairs`), called by the workflow's input functions
(``workflow/rules/common.smk``) after the ``select_pairs`` checkpoint; tested without Snakemake.
Figure metadata comes from :mod:`forge.figures.registry` (no drawing code is imported).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

if TYPE_CHECKING:  # annotations only
    from forge.figures.registry import FigureSpec
    from forge.modelling.pairs import Pair

#: The external validation cohorts, in the order the summary and the figures list them.
VALIDATION_COHORTS = ("tahoe", "pdx")

#: Result tables of the analysis stage (keys of :data:`forge.layout.RESULT_TABLES`): a figure
#: that reads one of them is drawn only with ``stages.analysis`` on.
ANALYSIS_TABLES = frozenset({
    "embedding",
    "clusters",
    "cluster_summary",
    "cluster_lineages",
    "sensitive_clusters",
    "de_score_groups",
    "de_sensitive_clusters",
    "enrichment",
    "umap",
})


def cohort_drug(config: Mapping, cohort: str) -> str:
    """The drug a validation cohort was treated with (``tahoe.drug`` or ``pdx.treatment``)."""
    if cohort == "tahoe":
        return config["tahoe"]["drug"]
    if cohort == "pdx":
        return config["pdx"]["treatment"]
    raise ValueError(f"unknown validation cohort {cohort!r} (expected one of {VALIDATION_COHORTS})")


def validation_pairs(config: Mapping, cohort: str, pairs: Mapping[str, "Pair"]) -> list[str]:
    """Names of the pairs validated on ``cohort``, in the pairs table's order.

    Parameters
    ----------
    config : mapping
        The validated configuration (``stages``, ``validation``, ``tahoe``/``pdx``).
    cohort : {"tahoe", "pdx"}
        The validation cohort.
    pairs : mapping of str to Pair
        The selected pairs by name.

    Returns
    -------
    list of str
        Empty when ``stages.<cohort>`` is off; the listed ``validation.<cohort>.pairs`` when given
        (every one must be a selected pair); otherwise every pair one of whose drugs (drug or extra
        drugs, compared without case and surrounding spaces) is the cohort's drug, and with
        ``validation.include_controls`` every control pair too (negative controls).

    Raises
    ------
    ValueError
        A listed pair is not a selected pair (the message names the key and the selected pairs).
    """
    if not config["stages"][cohort]:
        return []
    listed = config["validation"][cohort]["pairs"]
    if listed:
        unknown = sorted(set(listed) - set(pairs))
        if unknown:
            raise ValueError(
                f"validation.{cohort}.pairs: {unknown} are not modelled pairs (pairs: {', '.join(pairs)})"
            )
        return list(listed)
    drug = cohort_drug(config, cohort).strip().casefold()
    include_controls = config["validation"]["include_controls"]
    chosen = []
    for pair in pairs.values():
        drugs = {d.strip().casefold() for d in (pair.drug, *pair.extra_drugs)}
        if drug in drugs or (pair.control and include_controls):
            chosen.append(pair.name)
    return chosen


def all_validation_pairs(config: Mapping, pairs: Mapping[str, "Pair"]) -> dict[str, list[str]]:
    """:func:`validation_pairs` of every cohort, by cohort."""
    return {cohort: validation_pairs(config, cohort, pairs) for cohort in VALIDATION_COHORTS}


def needs_analysis(spec: "FigureSpec") -> bool:
    """Whether a figure reads a table of the analysis stage (``@pairs``: every pair's table)."""
    return any(key.removesuffix("@pairs") in ANALYSIS_TABLES for key in spec.tables)


def figure_files(specs: Mapping[str, "FigureSpec"], pairs: Iterable[str], validated: Mapping[str, list[str]],
                 analysis: bool, results: str, suffix: str) -> list[str]:
    """Every figure file of the run: ``<results>/figures/<figure>/<name>.<suffix>``.

    Parameters
    ----------
    specs : mapping of str to FigureSpec
        The figures (:func:`forge.figures.registry.load_all`).
    pairs : iterable of str
        The selected pairs' names.
    validated : mapping of str to list of str
        The validated pairs by cohort (:func:`all_validation_pairs`).
    analysis : bool
        ``stages.analysis``: figures of analysis tables are left out without it.
    results : str
        The run's results directory.
    suffix : str
        ``png`` (the figures) or ``index.tsv`` (their panel index rows).
    """
    from forge.figures.registry import figure_names

    pairs = list(pairs)
    return [
        f"{results}/figures/{figure}/{name}.{suffix}"
        for figure, spec in specs.items()
        if analysis or not needs_analysis(spec)
        for name in figure_names(spec, pairs, validated)
    ]
