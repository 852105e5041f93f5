"""The analysis stage of one pair, step by step (one function per rule).

Every function takes tables (or paths) and returns tables; the rule adapters only read and
write. Which samples are analysed is one setting for the whole stage (``analysis.samples``):

* ``with_dependency`` (default, the paper's choice: the 1,034 DepMap lines with EGFR dependency
  and expression): every cohort sample with expression and a measured target dependency;
* ``labelled``: the pair's train and test samples (expression, dependency and IC50);
* ``all``: every cohort sample with expression.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
# heavy packages (scipy.stats, scipy.interpolate, statsmodels, scikit-learn) are imported in the functions that
# use them: a job importing this module for something else does not pay their start-up (tests/test_imports.py)

from forge.analysis import clustering, differential, embedding, enrichment
from forge.modelling.model import ForgeModel, load_model
from forge.normalise import read_gene_universe

log = logging.getLogger(__name__)


def joint_replicates(models_dir: str | Path) -> list[ForgeModel]:
    """The pair's joint-model replicates in order (rep00 = the reported model)."""
    root = Path(models_dir) / "joint"
    replicates = sorted(d for d in root.iterdir() if d.is_dir())
    if not replicates:
        raise FileNotFoundError(f"{root}: no joint-model replicate found")
    return [load_model(d) for d in replicates]


def embed_pair(
    models: list[ForgeModel], expression: pd.DataFrame, scores: pd.DataFrame, dependency: pd.Series,
    response: pd.Series, max_missing_fraction: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reported and consensus embeddings of every cohort sample, annotated."""
    reported = embedding.reported_embedding(models[0], expression, max_missing_fraction)
    consensus = embedding.consensus_embedding(models, expression, max_missing_fraction)
    annotated = embedding.annotate_embedding(reported, scores, dependency, response)
    annotated = pd.concat([annotated, embedding.principal_components(reported)], axis=1)
    annotated.index.name = "sample"
    return (annotated,
            embedding.annotate_embedding(consensus, scores, dependency, response))


def analysis_samples(table: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Rows of an annotated embedding table that the stage analyses (see the module docstring)."""
    if rule == "with_dependency":
        selected = table[table["observed_dependency"].notna()]
    elif rule == "labelled":
        selected = table[table["split"].isin(["train", "test"])]
    elif rule == "all":
        selected = table
    else:
        raise ValueError(f"analysis.samples: unknown rule {rule!r} (expected with_dependency, labelled or all)")
    return selected


def cluster_pair(reported: pd.DataFrame, consensus: pd.DataFrame, samples_rule: str, settings: dict) -> dict[str, pd.DataFrame]:
    """Latent clusters, per-cluster tests, lineage composition, the sensitive-cluster choice and stability.

    ``settings`` is the ``analysis.clustering`` section. The clustered view is the reported model's
    Z (default) or the consensus view; the other view, and each replicate's own Z, are clustered the
    same way and compared to it by the adjusted Rand index (``stability``).
    """
    from sklearn.metrics import adjusted_rand_score

    samples = analysis_samples(reported, samples_rule)
    index = samples.index
    cut = dict(deep_split=settings["deep_split"], min_cluster_size=settings["min_cluster_size"],
               pam_stage=settings["pam_stage"])
    views = {"reported": reported.loc[index, embedding.latent_columns(reported)],
             "consensus": consensus.loc[index, embedding.latent_columns(consensus)]}
    labels = {name: clustering.cut_tree_hybrid(view.to_numpy(), **cut) for name, view in views.items()}
    chosen_view = settings["embedding"]
    cluster = pd.Series(labels[chosen_view], index=index, name="cluster")
    log.info("%d samples (%s) in %d clusters of the %s embedding", len(index), samples_rule,
             len(set(cluster) - {clustering.UNASSIGNED}), chosen_view)

    summary = clustering.cluster_summary(samples, cluster)
    sensitive = settings["sensitive"]
    choice = clustering.select_sensitive_clusters(summary, samples, sensitive["max_clusters"],
                                                  sensitive["require_tests"], sensitive["alpha"])
    summary["sensitive"] = summary["cluster"].isin(choice.clusters)
    log.info("sensitive clusters: %s", choice.clusters or "none qualifies")

    stability = []
    other = "consensus" if chosen_view == "reported" else "reported"
    stability.append((other, adjusted_rand_score(cluster, labels[other]), len(set(labels[other]) - {0})))
    replicate_blocks = sorted({c.split("_")[0] for c in views["consensus"].columns})
    for block in replicate_blocks[1:]:
        columns = [c for c in views["consensus"].columns if c.startswith(block + "_")]
        own = clustering.cut_tree_hybrid(views["consensus"][columns].to_numpy(), **cut)
        stability.append((f"replicate {block[1:]}", adjusted_rand_score(cluster, own), len(set(own) - {0})))
    stability = pd.DataFrame(stability, columns=["compared_with", "adjusted_rand_index", "n_clusters"])
    stability.insert(0, "clustered_view", chosen_view)

    table = samples[["split", "lineage", "benefit_score", "observed_dependency", "observed_ic50"]].copy()
    table["cluster"] = cluster
    table["other_view_cluster"] = labels[other]
    table["sensitive"] = cluster.isin(choice.clusters)
    return dict(clusters=table.reset_index(), summary=summary, lineages=clustering.lineage_composition(samples, cluster),
                sensitive=choice.table, stability=stability)


#: Smallest group a DE contrast is fitted on (fewer: written as skipped, with the reason).
MIN_DE_GROUP = 3


def de_contrasts(clusters: pd.DataFrame, score_column: str, scores: pd.Series) -> list:
    """(a) sensitive clusters vs all other analysed samples; (b) high vs low Benefit Score (median split).

    A contrast that cannot be fitted is a ``(name, description, reason)`` tuple instead.
    """
    index = pd.Index(clusters["sample"])
    sensitive = pd.Series(clusters["sensitive"].astype(bool).to_numpy(), index=index)
    contrasts: list = []
    description = "pooled sensitive clusters vs all other analysed samples"
    if sensitive.all():
        contrasts.append(("sensitive_clusters", description, "every analysed sample is in a sensitive cluster"))
    elif sensitive.any() and min(int(sensitive.sum()), int((~sensitive).sum())) < MIN_DE_GROUP:
        contrasts.append(("sensitive_clusters", description,
                          f"{int(sensitive.sum())} sample(s) in sensitive clusters and {int((~sensitive).sum())} "
                          f"other(s); at least {MIN_DE_GROUP} per group are needed"))
    elif sensitive.any():
        contrasts.append(differential.Contrast("sensitive_clusters", sensitive, description))
    else:
        contrasts.append(("sensitive_clusters", description, "no cluster qualifies as sensitive"))
    score = scores.reindex(index)
    high = score > score.median()
    description = (f"high vs low {score_column} (median split of the analysed samples, "
                   f"median {score.median():.4g})")
    if score.isna().any():
        contrasts.append(("score_groups", description, f"{int(score.isna().sum())} analysed sample(s) have no "
                                                       f"{score_column}"))
    elif min(int(high.sum()), int((~high).sum())) < MIN_DE_GROUP:
        # ties at the median (a constant score: a model whose weights are all zero) leave one side
        # (nearly) empty; limma would fail, or compare a handful of samples with the rest
        contrasts.append(("score_groups", description,
                          f"the median split leaves {int(high.sum())} high and {int((~high).sum())} low sample(s) "
                          f"({score.nunique()} distinct {score_column} value(s)); at least {MIN_DE_GROUP} per group "
                          "are needed"))
    else:
        contrasts.append(differential.Contrast("score_groups", high, description))
    return contrasts


def de_pair(
    clusters: pd.DataFrame, scores: pd.Series, score_column: str, expression: pd.DataFrame,
    weights: pd.DataFrame | None, settings: dict,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """limma DE of both contrasts on every gene; ``settings`` is the ``analysis.de`` section."""
    lineage = clusters.set_index("sample")["lineage"] if settings["lineage_covariate"] else None
    tables, rows = {}, []
    for contrast in de_contrasts(clusters, score_column, scores):
        if isinstance(contrast, tuple):
            table, summary = differential.skipped_contrast(*contrast)
            name = contrast[0]
        else:
            table, summary = differential.run_contrast(contrast, expression, weights, lineage, settings)
            name = contrast.name
        tables[name] = table
        rows.append(summary)
    summary = pd.DataFrame(rows)
    summary["log2fc_threshold"] = settings["log2fc"]
    summary["adj_p_threshold"] = settings["adj_p"]
    summary["top_n"] = settings["top_n"]
    return tables, summary


def influence_ranking(effects: pd.DataFrame) -> pd.Series:
    """TotalInfluence of each gene: the joint model's, mean over replicates."""
    joint = effects[effects["model"] == "forge_joint"]
    return joint.groupby("gene")["TotalInfluence"].mean()


def enrich_pair(
    de_tables: dict[str, pd.DataFrame], effects: pd.DataFrame, expression_genes: list[str],
    libraries: dict[str, dict[str, list[str]]], settings: dict, universe: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Enrichment of the DE lists and the influence lists; ``settings`` is ``analysis.enrichment``.

    Influence lists (20 genes by default) are judged with ``min_overlap_influence`` (the paper's
    permissive variant, 3) instead of ``min_overlap`` (10), which a 20-gene list can rarely reach.
    """
    lists, members = enrichment.gene_lists(de_tables, influence_ranking(effects), settings["n_influence_genes"],
                                           expression_genes)
    de_lists = {k: v for k, v in lists.items() if not k.startswith("influence_")}
    influence_lists = {k: v for k, v in lists.items() if k.startswith("influence_")}
    parts = [
        enrichment.run_enrichment(de_lists, libraries, settings, universe),
        enrichment.run_enrichment(influence_lists, libraries, dict(settings, min_overlap=settings["min_overlap_influence"]),
                                  universe),
    ]
    table = pd.concat([p for p in parts if len(p)] or [parts[0]], ignore_index=True)
    for name, count in table[table["significant"]].groupby("list").size().items():
        log.info("%s: %d significant terms", name, count)
    return table, members


def read_libraries(paths: list[str]) -> dict[str, dict[str, list[str]]]:
    """GMT libraries by name (file name without .gmt)."""
    libraries = {}
    for path in paths:
        name = enrichment.library_name(path)
        if name in libraries:
            raise ValueError(f"analysis.enrichment.libraries: two files are named {name}.gmt")
        libraries[name] = enrichment.read_gmt(path)
    return libraries


def read_universe(path: str | Path) -> list[str]:
    """A gene universe file (:func:`forge.normalise.read_gene_universe`), duplicates removed; empty is an error."""
    genes = list(dict.fromkeys(read_gene_universe(path)))
    if not genes:
        raise ValueError(f"{path}: the gene universe is empty")
    return genes
