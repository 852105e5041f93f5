"""Offline over-representation analysis of a pair's gene lists against GMT libraries.

The paper used Enrichr-KG on the web (GO Biological Process 2021, WikiPathways 2021, KEGG 2021
Human, Reactome 2022, DisGeNET; gene sets of 10–500 genes, at least 10 input genes mapped, FDR
q < 0.05). Here the test is gseapy's offline ``enrich`` (one-sided hypergeometric test, Benjamini–
Hochberg within each list × library), with two things gseapy leaves to its caller made explicit:

* the background: by default the genes that were tested (for DE lists, every gene in the DE
  table; for influence lists, every gene of the cohort expression, i.e. every gene the model
  could have selected), or a universe file (the Enrichr-KG universe of the paper);
* gene-set sizes are counted within the background, and sets outside [min_size, max_size] are
  left out before the test (so they do not enter the BH correction). gseapy tests every set that
  shares at least one gene with the list; a term is reported as significant only when it also
  has at least ``min_overlap`` list genes and FDR < ``fdr``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from forge.io import InputFormatError, read_text_lines

log = logging.getLogger(__name__)

ENRICHMENT_COLUMNS = ["list", "library", "term", "overlap", "set_size", "list_size", "background_size",
                      "p_value", "fdr", "odds_ratio", "combined_score", "significant", "genes"]


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
        # Enrichr exports may carry weights as "GENE,1.0"
        sets[name] = sorted({g.split(",")[0] for g in genes})
        first_line[name] = number
    if not sets:
        raise InputFormatError(f"{path}: no gene set found")
    return sets


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


def over_representation(
    genes: list[str], gene_sets: dict[str, list[str]], background: list[str], min_size: int = 10,
    max_size: int = 500,
) -> pd.DataFrame:
    """Hypergeometric over-representation of ``genes`` in each gene set (gseapy ``enrich``).

    Returns one row per tested set (at least one list gene in it): term, overlap, set_size (within
    the background), list_size (list genes in the background), background_size, p_value, fdr
    (BH over the tested sets), odds_ratio, combined_score, genes (overlap, ``;``-separated).
    """
    import gseapy

    universe = set(background)
    query = sorted(set(genes) & universe)
    sets = filter_gene_sets(gene_sets, universe, min_size, max_size)
    columns = ENRICHMENT_COLUMNS[2:-2] + ["genes"]
    if not query or not sets:
        return pd.DataFrame(columns=columns)
    result = gseapy.enrich(gene_list=query, gene_sets=sets, background=sorted(universe), outdir=None,
                           cutoff=1.0, no_plot=True, verbose=False).results
    if result is None or len(result) == 0:
        return pd.DataFrame(columns=columns)
    overlap = result["Overlap"].str.split("/", expand=True).astype(int)
    table = pd.DataFrame({
        "term": result["Term"].to_numpy(),
        "overlap": overlap[0].to_numpy(),
        "set_size": overlap[1].to_numpy(),
        "list_size": len(query),
        "background_size": len(universe),
        "p_value": result["P-value"].to_numpy(dtype=float),
        "fdr": result["Adjusted P-value"].to_numpy(dtype=float),
        "odds_ratio": result["Odds Ratio"].to_numpy(dtype=float),
        "combined_score": result["Combined Score"].to_numpy(dtype=float),
        # gseapy lists the overlap in set-iteration order, which Python's string hashing makes
        # differ from process to process: sorted, the table is the same bytes on every run
        "genes": [";".join(sorted(str(g).split(";"))) for g in result["Genes"]],
    })
    return table.sort_values(["p_value", "term"], kind="mergesort").reset_index(drop=True)


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
    """
    parts = []
    for list_name, (genes, tested) in lists.items():
        background = universe if universe is not None else tested
        for library, gene_sets in libraries.items():
            table = over_representation(genes, gene_sets, background, settings["min_size"], settings["max_size"])
            table.insert(0, "library", library)
            table.insert(0, "list", list_name)
            parts.append(table)
    if not parts:
        return pd.DataFrame(columns=ENRICHMENT_COLUMNS)
    table = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=ENRICHMENT_COLUMNS[:-2] + ["genes"])],
                      ignore_index=True)
    table["significant"] = (table["fdr"] < settings["fdr"]) & (table["overlap"] >= settings["min_overlap"])
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


def top_terms(table: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` best terms (lowest P) of each list × library, significant or not."""
    if len(table) == 0:
        return table
    return table.sort_values("p_value", kind="mergesort").groupby(["list", "library"], sort=False).head(n)

