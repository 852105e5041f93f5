"""Offline over-representation analysis of a pair's gene lists against GMT libraries.

The paper used Enrichr-KG on the web (GO Biological Process 2021, WikiPathways 2021, KEGG 2021
Human, Reactome 2022, DisGeNET; gene sets of 10–500 genes, at least 10 input genes mapped, FDR
q < 0.05). Here the test is gseapy's offline ``enrich`` (one-sided hypergeometric test, Benjamini–
Hochberg within each list × library), with two things gseapy leaves to its caller made explicit:

* the background: by default the genes that were tested (for DE lists, every gene in the DE
  table; for influence lists, every gene of the cohort expression, i.e. every gene the model
  could have selected), or a universe file (the Enrichr-KG universe of the paper);
* gene-set sizes are counted within the background, and sets outside [min_size, max_size] are
  left out before the test (so they do not enter the BH correction);
* the multiple-testing family: gseapy tests (and adjusts over) only the sets that share at least
  one gene with the list, fewer tests than R's ``p.adjust`` over every set in the size range (the
  paper's Enrichr-KG); with a large universe as background most sets share no gene with a short
  list and gseapy's q-values are too small (26 % on real data, issue 26). gseapy's P-values are
  kept and BH is applied here over every set in the size range, those without overlap at P = 1
  (``n_sets_tested`` is that family's size). A term is significant only when it also has at least
  ``min_overlap`` list genes and FDR < ``fdr``.

A list × library that cannot be tested (an empty list, no list gene in the background, a library
sharing no gene with the background or no set in the size range) is a ``not tested`` row with the
reason; one whose sets all miss the list is a ``no overlap`` row: the table never reads as "no
enrichment" when nothing was tested.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from forge.io import InputFormatError, read_text_lines

log = logging.getLogger(__name__)

ENRICHMENT_COLUMNS = ["list", "library", "term", "overlap", "set_size", "list_size", "background_size",
                      "n_sets_tested", "p_value", "fdr", "odds_ratio", "combined_score", "significant", "genes",
                      "status", "reason"]
#: Columns of :func:`over_representation` (one list against one library).
TERM_COLUMNS = ["term", "overlap", "set_size", "list_size", "background_size", "n_sets_tested", "p_value", "fdr",
                "odds_ratio", "combined_score", "genes"]


def read_gmt(path: str | Path) -> dict[str, list[str]]:
    """Gene sets of a GMT file (Enrichr text format: name, description, genes; tab-separated).

    Read under the text input policy (:func:`forge.io.read_text_lines`: UTF-8 with an optional
    byte-order mark, LF or CRLF, ``.gz`` decompressed, a cut last line refused). A set without a
    name, a set listing no gene and a set name given twice are refused naming the line: a
    repeated name would otherwise silently replace the first set.
    """
    sets: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(read_text_lines(path), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise InputFormatError(f"{path}: line {number}: expected name, description and genes separated by tabs")
        name = fields[0].strip()
        if not name:
            raise InputFormatError(f"{path}: line {number}: the gene set has no name (first field empty)")
        genes = [g.strip() for g in fields[2:] if g.strip()]
        if not genes:
            raise InputFormatError(f"{path}: line {number}: gene set {name!r} lists no gene; expected at least one "
                                   "gene symbol after the description")
        if name in sets:
            raise InputFormatError(f"{path}: line {number}: gene set {name!r} is already defined on line "
                                   f"{first_line[name]}; expected each set name once")
        sets[name] = sorted({_gmt_gene(path, number, name, field) for field in genes})
        first_line[name] = number
    if not sets:
        raise InputFormatError(f"{path}: no gene set found")
    return sets


def _gmt_gene(path: str | Path, number: int, name: str, field: str) -> str:
    """The gene of one GMT field: ``GENE`` or Enrichr's weighted ``GENE,1.0``; anything else refused."""
    gene, comma, weight = field.partition(",")
    if comma:
        try:
            float(weight)
        except ValueError:
            raise InputFormatError(
                f"{path}: line {number}: gene set {name!r} has the field {field!r}; expected one gene per "
                "tab-separated field (optionally 'GENE,weight'), not a comma-separated list") from None
    if any(character.isspace() for character in gene):
        raise InputFormatError(
            f"{path}: line {number}: gene set {name!r} has the field {field!r} with white space; expected one "
            "gene per tab-separated field")
    return gene


def library_name(path: str | Path) -> str:
    """Library name of a GMT file: its file name without ``.gmt``."""
    return Path(path).name.removesuffix(".gmt")


def filter_gene_sets(gene_sets: dict[str, list[str]], background: set[str], min_size: int, max_size: int) -> dict[str, list[str]]:
    """Sets restricted to the background, kept when their size there is within [min_size, max_size]."""
    kept = {}
    for name, genes in gene_sets.items():
        inside = sorted(set(genes) & background)
        if min_size <= len(inside) <= max_size:
            kept[name] = inside
    return kept


def benjamini_hochberg(p_values: np.ndarray, n_tests: int) -> np.ndarray:
    """BH q-values of ``p_values`` in a family of ``n_tests`` tests, the others having P = 1.

    The sets that share no gene with the list are such tests (P = 1): appending them and running
    scipy's BH gives every given P the rank and the family size R's ``p.adjust`` gives it.
    """
    from scipy.stats import false_discovery_control

    p_values = np.asarray(p_values, dtype=float)
    if len(p_values) == 0:
        return p_values
    if n_tests < len(p_values):
        raise ValueError(f"BH over {n_tests} tests but {len(p_values)} P-values given")
    padded = np.concatenate([p_values, np.ones(n_tests - len(p_values))])
    return false_discovery_control(padded, method="bh")[: len(p_values)]


def over_representation(
    genes: list[str], gene_sets: dict[str, list[str]], background: list[str], min_size: int = 10,
    max_size: int = 500,
) -> pd.DataFrame:
    """Hypergeometric over-representation of ``genes`` in each gene set (gseapy ``enrich``).

    Returns one row per set sharing at least one list gene with the list: term, overlap, set_size
    (within the background), list_size (list genes in the background), background_size,
    n_sets_tested (sets of the library in the size range within the background: the BH family),
    p_value (gseapy), fdr (BH over all ``n_sets_tested`` sets, those without overlap at P = 1, as
    R's ``p.adjust`` over every set), odds_ratio, combined_score, genes (overlap, ``;``-separated).
    Empty when no set shares a gene with the list or nothing can be tested
    (:func:`untestable_reason` says why).
    """
    import gseapy

    universe = set(background)
    query = sorted(set(genes) & universe)
    sets = filter_gene_sets(gene_sets, universe, min_size, max_size)
    if not query or not sets:
        return pd.DataFrame(columns=TERM_COLUMNS)
    result = gseapy.enrich(gene_list=query, gene_sets=sets, background=sorted(universe), outdir=None,
                           cutoff=1.0, no_plot=True, verbose=False).results
    if result is None or len(result) == 0:
        return pd.DataFrame(columns=TERM_COLUMNS)
    overlap = result["Overlap"].str.split("/", expand=True).astype(int)
    p_values = result["P-value"].to_numpy(dtype=float)
    table = pd.DataFrame({
        "term": result["Term"].to_numpy(),
        "overlap": overlap[0].to_numpy(),
        "set_size": overlap[1].to_numpy(),
        "list_size": len(query),
        "background_size": len(universe),
        "n_sets_tested": len(sets),
        "p_value": p_values,
        # gseapy's "Adjusted P-value" adjusts over the overlapping sets only (see the module docstring)
        "fdr": benjamini_hochberg(p_values, len(sets)),
        "odds_ratio": result["Odds Ratio"].to_numpy(dtype=float),
        "combined_score": result["Combined Score"].to_numpy(dtype=float),
        # gseapy lists the overlap in set-iteration order, which Python's string hashing makes
        # differ from process to process: sorted, the table is the same bytes on every run
        "genes": [";".join(sorted(str(g).split(";"))) for g in result["Genes"]],
    })
    return table.sort_values(["p_value", "term"], kind="mergesort").reset_index(drop=True)


def untestable_reason(
    genes: list[str], gene_sets: dict[str, list[str]], background: list[str], min_size: int, max_size: int,
) -> str | None:
    """Why a list cannot be tested against a library (None when it can)."""
    universe = set(background)
    in_background = set(genes) & universe
    library_genes = set().union(*gene_sets.values()) if gene_sets else set()
    if not universe:
        return "the background is empty (no gene was tested)"
    if not library_genes & universe:
        return (f"the library shares no gene with the background of {len(universe)} genes (other gene "
                "identifiers or another species?)")
    if not filter_gene_sets(gene_sets, universe, min_size, max_size):
        largest = max(len(set(g) & universe) for g in gene_sets.values())
        return (f"no gene set of the library has {min_size}-{max_size} genes in the background of {len(universe)} "
                f"genes (largest: {largest})")
    if not genes:
        return "the list is empty"
    if not in_background:
        return f"none of the list's {len(set(genes))} genes is in the background of {len(universe)} genes"
    return None


def _status_row(list_name: str, library: str, list_size: int, background_size: int, n_sets: int, status: str,
                reason: str) -> pd.DataFrame:
    """One row standing for a list × library without term rows."""
    return pd.DataFrame([dict(list=list_name, library=library, term="", overlap=0, set_size=0, list_size=list_size,
                              background_size=background_size, n_sets_tested=n_sets, p_value=np.nan, fdr=np.nan,
                              odds_ratio=np.nan, combined_score=np.nan, significant=False, genes="", status=status,
                              reason=reason)])


def run_enrichment(
    lists: dict[str, tuple[list[str], list[str]]], libraries: dict[str, dict[str, list[str]]],
    settings: dict, universe: list[str] | None = None,
) -> pd.DataFrame:
    """Every list against every library.

    Parameters
    ----------
    lists
        ``name -> (genes, tested genes)``; the tested genes are the background unless
        ``universe`` is given.
    libraries
        ``library name -> gene sets``.
    settings
        ``min_size``, ``max_size``, ``min_overlap``, ``fdr``.
    universe
        Optional fixed background for every list.

    Returns
    -------
    DataFrame
        :data:`ENRICHMENT_COLUMNS`: a ``tested`` row per term sharing a gene with the list; a
        ``no overlap`` row for a list × library whose sets all miss the list; a ``not tested`` row
        with the reason for one that cannot be tested (:func:`untestable_reason`).
    """
    parts = []
    for list_name, (genes, tested) in lists.items():
        background = universe if universe is not None else tested
        universe_set = set(background)
        list_size = len(set(genes) & universe_set)
        for library, gene_sets in libraries.items():
            reason = untestable_reason(genes, gene_sets, background, settings["min_size"], settings["max_size"])
            if reason is not None:
                (log.info if reason == "the list is empty" else log.warning)("%s × %s not tested: %s", list_name,
                                                                             library, reason)
                parts.append(_status_row(list_name, library, list_size, len(universe_set), 0, "not tested", reason))
                continue
            table = over_representation(genes, gene_sets, background, settings["min_size"], settings["max_size"])
            n_sets = len(filter_gene_sets(gene_sets, universe_set, settings["min_size"], settings["max_size"]))
            if len(table) == 0:
                parts.append(_status_row(list_name, library, list_size, len(universe_set), n_sets, "no overlap",
                                         f"none of the {n_sets} gene sets in the size range shares a gene with the "
                                         f"list's {list_size} genes (every P = 1)"))
                continue
            table.insert(0, "library", library)
            table.insert(0, "list", list_name)
            table["significant"] = (table["fdr"] < settings["fdr"]) & (table["overlap"] >= settings["min_overlap"])
            table["status"] = "tested"
            table["reason"] = ""
            parts.append(table[ENRICHMENT_COLUMNS])
    if not parts:
        return pd.DataFrame(columns=ENRICHMENT_COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    table["significant"] = table["significant"].astype(bool)
    return table[ENRICHMENT_COLUMNS]


def gene_lists(
    de_tables: dict[str, pd.DataFrame], influence: pd.Series, n_influence: int, expression_genes: list[str]
) -> tuple[dict[str, tuple[list[str], list[str]]], pd.DataFrame]:
    """The lists to test and a long table of their members.

    * ``<contrast>_up`` / ``<contrast>_down``: the contrast's top significant genes (the
      ``top`` flag of :func:`forge.analysis.differential.mark_significant`) by direction; tested
      genes = the DE table's genes.
    * ``influence_top`` / ``influence_bottom``: the ``n_influence`` genes with the highest and
      lowest TotalInfluence (joint model, mean over replicates); tested genes = the cohort's genes.
    """
    lists: dict[str, tuple[list[str], list[str]]] = {}
    for contrast, table in de_tables.items():
        tested = table["gene"].astype(str).tolist()
        for direction in ("up", "down"):
            members = table.loc[table["top"].astype(bool) & (table["direction"] == direction), "gene"]
            lists[f"{contrast}_{direction}"] = (members.astype(str).tolist(), tested)
    ordered = influence.sort_values(ascending=False, kind="mergesort")
    lists["influence_top"] = (ordered.index[:n_influence].tolist(), expression_genes)
    lists["influence_bottom"] = (ordered.index[::-1][:n_influence].tolist(), expression_genes)
    members = pd.DataFrame(
        [(name, gene) for name, (genes, _) in lists.items() for gene in genes], columns=["list", "gene"]
    )
    sizes = pd.DataFrame(
        [(name, len(genes), len(tested)) for name, (genes, tested) in lists.items()],
        columns=["list", "n_genes", "n_tested"],
    )
    return lists, members.merge(sizes, on="list", how="left")

