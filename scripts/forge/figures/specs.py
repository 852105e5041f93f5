"""Every figure of the workflow: its scope, the tables it reads, the paper panels it draws, its caption,
and the function that draws it.

Metadata only, so that parsing the workflow (which needs every figure's name, tables and caption) imports
neither matplotlib nor a drawing module: a spec names its drawing function as ``"<module>:<function>"``
(a module of ``forge.figures``), and :attr:`FigureSpec.draw` imports it when a figure is drawn.

A drawing function ``draw(tables, subject) -> (Figure, panels)`` takes

* ``tables``: a dict of the DataFrames named in the spec's ``tables`` (keys of
  :data:`forge.figures.registry.TABLES`), read from the files the workflow wrote. Keys ending in
  ``@pairs`` are the per-pair table of every pair, concatenated, with a ``pair`` column first;
* ``subject``: what the figure is drawn for (:class:`forge.figures.registry.FigureSubject`),

and returns the figure and, for every panel letter of the spec, ``"drawn"`` or the reason it could not be
drawn. Captions are templates filled from the subject by :func:`forge.figures.registry.caption_text`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

#: Figure scopes and the ``name`` wildcard they take.
SCOPES = ("pair", "pairs", "validation")


@dataclass
class FigureSpec:
    """One figure.

    Attributes
    ----------
    name : str
        File stem of the figure folder (``fig2``, ``supp_tuning`` ...).
    scope : str
        ``pair``, ``pairs`` or ``validation``.
    tables : tuple of str
        Keys of :data:`forge.figures.registry.TABLES` (optionally with ``@pairs``).
    panels : dict
        Panel letter → (paper figure and panel, what it shows), e.g. ``{"b": ("Fig. 2b", "split sizes")}``.
    caption : str
        Report caption (reStructuredText), a template of :func:`forge.figures.registry.caption_text`:
        ``{pair}``, ``{target}``, ``{drug}``, ``{cohort_drug}``, ``{cohort_models}``, ``{cohort_note}``.
    drawn_by : str
        The drawing function, ``"<module>:<function>"`` with ``<module>`` a module of ``forge.figures``
        (``"fig_model:draw_fig2"``).
    cohorts : tuple of str
        Validation figures only: the cohorts they are drawn for.
    """

    name: str
    scope: str
    tables: tuple[str, ...]
    panels: dict[str, tuple[str, str]]
    caption: str
    drawn_by: str
    cohorts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"figure {self.name}: unknown scope {self.scope!r}")

    @property
    def draw(self) -> Callable:
        """The drawing function, imported now (with its module, matplotlib and the plotting style)."""
        module, function = self.drawn_by.split(":")
        return getattr(importlib.import_module(f"forge.figures.{module}"), function)


FIG2_PANELS = {
    "b": ("Fig. 2b", "train/test split sizes and unlabelled (scored only) cell lines"),
    "c": ("Fig. 2c", "Benefit Score vs observed dependency and IC50 (test), joint vs individual models"),
    "d": ("Fig. 2d", "latent embedding (PC1/PC2 of Z), train samples, coloured by observed dependency"),
    "e": ("Fig. 2e", "latent embedding (PC1/PC2 of Z), test samples, coloured by observed dependency"),
    "f": ("Fig. 2f", "latent embedding (PC1/PC2 of Z), train samples, coloured by observed IC50"),
    "g": ("Fig. 2g", "latent embedding (PC1/PC2 of Z), test samples, coloured by observed IC50"),
    "h": ("Fig. 2h", "predicted vs observed dependency, train, with baselines' train r"),
    "i": ("Fig. 2i", "predicted vs observed dependency, test, with baselines' test r"),
    "j": ("Fig. 2j", "predicted vs observed IC50, train, with baselines' train r"),
    "k": ("Fig. 2k", "predicted vs observed IC50, test, with baselines' test r"),
    "l": ("Fig. 2l", "observed dependency by Benefit Score quartile, adjacent-quartile one-sided Mann–Whitney"),
    "m": ("Fig. 2m", "observed IC50 by Benefit Score quartile, adjacent-quartile one-sided Mann–Whitney"),
    "n": ("Fig. 2n", "observed dependency by Benefit Score median group (high vs low), one-sided Mann–Whitney"),
    "o": ("Fig. 2o", "observed IC50 by Benefit Score median group (high vs low), one-sided Mann–Whitney"),
    "p": ("Fig. 2p", "multi-drug model test Pearson r per output vs joint model and baselines"),
}

FIG3_CAPTION = """\
Latent clusters, sensitive clusters and differential expression of {pair} (paper Fig. 3; Fig. 6d–n draws the
same figure for NAMPT–daporinad). **a**, Latent embedding Z of the reported joint model for every clustered cell
line (rows; not labelled individually), Ward hierarchical clustering of Z (Euclidean) cut by the dynamic tree
cut; rows are ordered by cluster (clusters by median Benefit Score, highest at the top; cluster ids at the left,
sensitive ones in red) and within a cluster by Benefit Score; columns are the latent dimensions; the diverging
colour scale is centred at 0 and clipped at the 99th percentile of |Z|. Strips: cluster, sensitive-cluster
membership, train/test/unlabelled split, observed {target} dependency probability, observed {drug} IC50 (CREAMMIST log scale;
grey = not measured) and Benefit Score. **b**, Benefit Score, dependency and IC50 of each cluster's cell lines
(jittered points) with the cluster median (black bar, ``cluster_summary.tsv``) and the median of all clustered
lines (dashed); n per cluster above; * marks a one-sided Mann–Whitney test of the cluster against all other
clustered lines (Benefit Score and dependency higher, IC50 lower) with Benjamini–Hochberg FDR < 0.05 over the
clusters. Sensitive clusters (red) follow the workflow's stated rule (the paper chose three by eye): clusters
ranked by median Benefit Score, the first ones (at most ``max_clusters``, default 3) whose median dependency is
above and median IC50 below the medians of all clustered lines (optionally also requiring the three tests).
**c–d**, dependency and IC50 of the pooled sensitive clusters against all other clustered lines (box: quartiles,
whiskers 1.5 IQR); the one-sided Mann–Whitney P is computed for display only, since no workflow table holds the
pooled test. **e**, limma differential expression (lineage as covariate) of the pooled sensitive clusters
against all other clustered lines, and of high vs low Benefit Score (median split): log2 fold change against
−log10 Benjamini–Hochberg adjusted P; dashed lines at |log2FC| = 1 and adjusted P = 0.05; significant genes up
(red) and down (blue) and the 10 most significant of each labelled. A contrast that was not fitted says why.
**f**, over-representation of the up/down DE genes of both contrasts and of the top/bottom TotalInfluence
genes: the most significant terms (at most 10; significant ones first, then by P, a few per list), bar =
−log10 FDR (solid: significant, i.e. FDR < 0.05 with enough list genes in the set; pale: not), dashed line at
FDR = 0.05, list genes in the term / term size and the library at the bar end.
"""

SUPP_LINEAGE_CAPTION = """\
Lineage composition of the latent clusters of {pair} (Supplementary; clusters of paper Fig. 3). **a**, fraction
of each cluster's cell lines per lineage (``cluster_lineages.tsv``), clusters ordered by median Benefit Score
(highest first, as in Fig. 3b); sensitive clusters outlined in black, ids in red; n cell lines per cluster on top.
**b**, lineage fractions of the pooled sensitive clusters against all other clustered lines (sums of the
per-cluster counts), lineages ordered by their share of the sensitive clusters; n per group in the legend. A
sensitive group dominated by one lineage means the clusters, and the DE of Fig. 3e, partly reflect lineage
(the DE uses lineage as a covariate).
"""

#: Every figure, in the order of the drawing modules.
SPECS: tuple[FigureSpec, ...] = (
    FigureSpec(
        "fig1", scope="pair", tables=("embedding",),
        panels={"d": ("Fig. 1d", "target CRISPR dependency probability over the pair's cell lines, cutoff 0.5"),
                "e": ("Fig. 1e", "drug IC50 by dependency group (dependent ≥ 0.5 vs not), one-sided Mann–Whitney")},
        caption=(
            "Labels of {pair}. **d** Distribution of the {target} CRISPR dependency probability over every cell "
            "line of the pair's cohort that has one (labelled and unlabelled lines of ``embedding.tsv``); the "
            "dashed line is DepMap's cutoff for calling a line dependent (probability ≥ 0.5). **e** The {drug} "
            "IC50 (CREAMMIST log scale) of the lines that have both labels, dependent (≥ 0.5) vs not dependent; "
            "boxes show median and quartiles, points the cell lines, n per group under the boxes. The P-value is "
            "a one-sided Mann–Whitney U test (alternative: lower IC50 in dependent lines) computed in the figure "
            "— the only test not read from a workflow table."
        ),
        drawn_by="fig_model:draw_fig1",
    ),
    FigureSpec(
        "fig2", scope="pair",
        tables=("split", "embedding", "predictions", "benefit_scores", "comparison", "score_group_tests"),
        panels=FIG2_PANELS,
        caption=(
            "Model of {pair}. **b** Cell lines per split: train and test (both labels; ``split.tsv``) and "
            "unlabelled lines (expression but a missing label; scored only). **c** Benefit Score (predicted "
            "dependency − predicted IC50, a.u.) of the test lines against their observed dependency and IC50, "
            "for the joint model and for the two individual models (dependency-only minus IC50-only "
            "predictions); Pearson r of the plotted points. **d–g** The latent embedding Z of the joint model "
            "(first two principal components), train and test lines coloured by observed dependency (d, e) and "
            "IC50 (f, g); one colour scale per output. **h–k** Predicted vs observed outputs of the reported "
            "joint model (replicate 0) for train and test lines, with the Pearson r of the plotted points; the "
            "box lists the mean ± sd Pearson r over the training replicates of FORGE and the baselines (ridge, "
            "elastic net, lineage mean) on the same split (``comparison.tsv``). Dashed line: identity. "
            "**l–m** Observed outputs of the labelled lines (train grey, test orange) by Benefit Score "
            "quartile (Q1 lowest; quartiles over all labelled lines); brackets give the workflow's one-sided "
            "Mann–Whitney P of adjacent quartiles (``score_group_tests.tsv``; alternative: higher dependency, "
            "lower IC50 in the higher quartile), n per group under the boxes. **n–o** The same for the median "
            "split (high vs low score). These groups include the training lines, so their P-values are not "
            "held-out evidence; panels i and k are. **p** Test Pearson r (mean ± sd over replicates) of the multi-drug model for each output, "
            "beside the single-drug joint model and the baselines for the same output."
        ),
        drawn_by="fig_model:draw_fig2",
    ),
    FigureSpec(
        "supp_tuning", scope="pair", tables=("tuning_curve", "comparison"),
        panels={"a": ("Supp. tuning curve a", "train and test Pearson r vs k, dependency output"),
                "b": ("Supp. tuning curve b", "train and test Pearson r vs k, IC50 output")},
        caption=(
            "Choice of the latent dimension k for {pair}. Pearson r between observed and predicted outputs of "
            "joint models fitted on the training lines for each k, on the training lines and on the held-out test "
            "lines; lines and bands are the mean ± sd over initialisation seeds (``tuning_curve.tsv``). The "
            "workflow chooses k by cross-validation within the training lines; the test curve is shown only for "
            "information. Horizontal lines: test r of the ridge, elastic net and lineage-mean baselines (mean "
            "over replicates, ``comparison.tsv``). **a** dependency, **b** IC50."
        ),
        drawn_by="fig_model:draw_supp_tuning",
    ),
    FigureSpec(
        "fig3", scope="pair",
        tables=("clusters", "embedding", "cluster_summary", "sensitive_clusters", "de_sensitive_clusters",
                "de_score_groups", "enrichment"),
        panels={
            "a": ("Fig. 3a (Fig. 6d for NAMPT–daporinad)",
                  "heatmap of the latent embedding Z with cluster, sensitive, split, dependency, IC50 and score strips"),
            "b": ("Fig. 3b (Fig. 6 for NAMPT–daporinad)", "Benefit Score, dependency and IC50 per latent cluster"),
            "c": ("Fig. 3c (Fig. 6 for NAMPT–daporinad)", "dependency of the sensitive clusters vs all other lines"),
            "d": ("Fig. 3d (Fig. 6 for NAMPT–daporinad)", "IC50 of the sensitive clusters vs all other lines"),
            "e": ("Fig. 3e (Fig. 6 volcano for NAMPT–daporinad)",
                  "volcanoes: sensitive clusters vs rest, high vs low Benefit Score"),
            "f": ("Fig. 3f (Fig. 6n for NAMPT–daporinad)", "enrichment of the DE and influence gene lists"),
        },
        caption=FIG3_CAPTION,
        drawn_by="fig_analysis:draw_fig3",
    ),
    FigureSpec(
        "supp_lineage", scope="pair", tables=("cluster_lineages", "cluster_summary"),
        panels={"a": ("Supp. (lineage composition of clusters)", "lineage fractions per latent cluster"),
                "b": ("Supp. (lineage composition of clusters)", "lineage fractions: sensitive clusters vs all other")},
        caption=SUPP_LINEAGE_CAPTION,
        drawn_by="fig_analysis:draw_supp_lineage",
    ),
    FigureSpec(
        "fig4", scope="pair", tables=("gene_effects", "top_genes", "effect_concordance"),
        panels={"a": ("Fig. 4a", "DependencyEffect vs IC50Effect per gene, joint model, top/bottom 20 genes"),
                "b": ("Fig. 4b", "DependencyEffect vs IC50Effect per gene, individual models, same genes marked")},
        caption=(
            "Gene effects of {pair}. Each point is a model gene: its effect on the dependency output "
            "(DependencyEffect = W h_D, L2-normalised head) against its effect on drug sensitivity (IC50Effect = "
            "−W h_I: positive = the gene's expression predicts a lower IC50, i.e. sensitising). **a** FORGE joint "
            "model (both outputs share one embedding); **b** the two individual models (dependency-only and "
            "IC50-only; the IC50Effect is minus the IC50 head's effect), joined by gene. Both panels show "
            "replicate 0 (the reported model); the Pearson r printed is the r of the plotted points and equals "
            "the replicate-0 row of ``effect_concordance.tsv``; the mean r over all replicates is given below it. "
            "Red/blue: the 20 genes with the highest/lowest TotalInfluence (DependencyEffect + IC50Effect of the "
            "joint model, mean over replicates; ``top_genes.tsv``), marked at their position in each panel; "
            "the 5 most extreme of each group are named. A joint model aligning the two effects (higher r than "
            "the individual models) is the paper's Fig. 4 claim; the test across pairs is Fig. 4c."
        ),
        drawn_by="fig_pairs:draw_fig4",
    ),
    FigureSpec(
        "fig4c", scope="pairs", tables=("all_concordance", "concordance_test", "pairs", "effect_concordance@pairs"),
        panels={"c": ("Fig. 4c", "effect concordance r per pair, joint vs individual, paired one-sided t-test")},
        caption=(
            "Joint vs individual gene-effect concordance across pairs. For each pair, the Pearson r between "
            "DependencyEffect and IC50Effect across genes (mean over replicates, error bars ± 1 SD over "
            "replicates from ``effect_concordance.tsv`` of each pair) for the individual models (left) and the "
            "FORGE joint model (right); a line joins the two values of a pair. The test is the workflow's "
            "paired one-sided t-test over pairs (joint > individual; ``effect_concordance_test.tsv``); negative "
            "control pairs (open symbols, dashed lines) are shown but kept out of the test."
        ),
        drawn_by="fig_pairs:draw_fig4c",
    ),
    FigureSpec(
        "fig6", scope="pairs", tables=("benefit_scores@pairs", "umap", "all_metrics", "pairs"),
        panels={"a": ("Fig. 6a", "median Benefit Score per lineage and pair"),
                "b": ("Fig. 6b", "UMAP of each pair's embedding coloured by Benefit Score"),
                "c": ("Fig. 6c", "test Pearson r per pair over replicates, FORGE joint and baselines")},
        caption=(
            "FORGE across drug–target pairs. **a** Median Benefit Score (D̂ − Î, a.u.; high = dependent on the "
            "target and sensitive to the drug) of the labelled cell lines (train and test) of each lineage, per "
            "pair; cells with fewer than 5 labelled lines of that lineage are blank, lineages with none are left "
            "out; the number in brackets is the largest lineage size over the pairs. Scores are on each pair's "
            "own scale (IC50s of different drugs differ in range). **b** UMAP (seeded, from the workflow's "
            "``embedding_umap.tsv``) of each pair's latent embedding Z of all cell lines, coloured by the "
            "pair's Benefit Score (colour limits: 98th percentile of |score| per pair). **c** Pearson r of "
            "predicted vs observed on the held-out test lines: the FORGE joint model per replicate (box and "
            "points) for the dependency (top) and the drug IC50 (bottom) output, with the baselines fitted on "
            "the same split beside it (ridge, elastic net, lineage mean; one fit each; the training mean "
            "predicts a constant and has no r). The negative-control pair (grey labels) should show no "
            "structure and no accuracy."
        ),
        drawn_by="fig_pairs:draw_fig6",
    ),
    FigureSpec(
        "fig5b_tahoe_cells", scope="validation", cohorts=("tahoe",), tables=("tahoe_single_cells",),
        panels={"b": ("Fig. 5b", "UMAP of the single cells of the best-responding Tahoe lines, control and each dose")},
        caption=(
            "Tahoe-100M single cells of the lines with the strongest response for {pair} ({cohort_drug}). The lines are those "
            "with the largest mean response strength over doses (``response_strength.tsv``); their cells (DMSO "
            "control and each {cohort_drug} dose, one dose per plate, the pseudo-bulk's cell filter, at most "
            "``tahoe.single_cells.max_cells_per_group`` per plate, line and treatment) were embedded "
            "with scanpy (normalize_total, log1p, highly variable genes, PCA, kNN graph, UMAP; seeded), by "
            "default one UMAP per line (``tahoe.single_cells.embedding``; joint: one UMAP of all the lines, the "
            "other lines' cells in light grey). One facet per line, ordered by response strength; colour: "
            "treatment (grey DMSO, light to dark: increasing dose). Titles give the line and its cell count. "
            "Coordinates and labels: ``single_cells.tsv``; the AnnData: ``single_cells.h5ad``."
        ),
        drawn_by="fig_tahoe_cells:draw_fig5b_tahoe_cells",
    ),
    FigureSpec(
        "fig5_tahoe", scope="validation", cohorts=("tahoe",),
        tables=("validation_scores", "validation_tests", "tahoe_strength", "tahoe_de", "validation_summary"),
        panels={"a": ("Fig. 5a", "Tahoe Benefit Score of cancer lines vs the normal line"),
                "c": ("Fig. 5c", "Tahoe DESeq2 volcano, high vs low Benefit Score"),
                "d": ("Fig. 5d", "Tahoe response strength by dose and score group")},
        caption=(
            "Tahoe-100M validation of {pair} on the {cohort_models} treated with {cohort_drug}.{cohort_note} **a** Benefit Score (the pair's joint model applied to each line's "
            "DMSO pseudo-bulk profile) of the cancer lines (box and points) and the normal line(s) (green "
            "diamond, named); the test is the workflow's one-sided Mann–Whitney U (cancer > normal) for the "
            "paper's score, with the balanced score and the ridge baseline's P below (``tests.tsv``; BH: "
            "Benjamini–Hochberg over all validation tests, ``summary.tsv``). With one normal line the smallest "
            "attainable P is 1/(n+1). **c** DESeq2 (poscounts size factors) of the DMSO pseudo-bulk of the lines "
            "with the most extreme response strength, high vs low Benefit Score; red/blue: the workflow's "
            "significant genes (default adj. P < 0.05 and |log2FC| > 1) up/down in the high-score group; the "
            "three most significant of each direction are named. **d** Response strength (Euclidean norm of the "
            "treated minus DMSO normalised expression) per line and dose, split at the median Benefit Score; "
            "above each dose the one-sided Mann–Whitney P (high > low) of the paper's score, of the balanced "
            "score and of the ridge baseline (each split at its own median)."
        ),
        drawn_by="fig_validation:draw_fig5_tahoe",
    ),
    FigureSpec(
        "fig5_pdx", scope="validation", cohorts=("pdx",),
        tables=("validation_scores", "validation_tests", "pdx_mrecist", "validation_summary"),
        panels={"f": ("Fig. 5f", "PDX %TV change over days (10, 15] by Benefit Score group"),
                "g": ("Fig. 5f (time course)", "PDX %TV change in 5-day bins by score group, median ± IQR"),
                "h": ("Fig. 5 (mRECIST)", "PDX mRECIST classes by score group, χ² and Cramér's V")},
        caption=(
            "PDX validation of {pair} on the {cohort_models} treated with {cohort_drug} that have RNA-seq.{cohort_note} "
            "Models are split at the median Benefit Score of the pair's joint model. **f** Tumour-volume change "
            "(%TV) averaged per model over the response window (default days (10, 15], the paper's right-closed "
            "5-day bin; the axis label gives the window), with the workflow's one-sided Mann–Whitney U (lower %TV in "
            "the high-score group; ``tests.tsv``) for the paper's score, and the P of the balanced score and of "
            "the ridge baseline (each split at its own median) below; BH: Benjamini–Hochberg over all validation "
            "tests (``summary.tsv``). Scores and tests are the primary transfer recipe's (``validation.recipes``; "
            "the others and every replicate are in ``robustness_summary.tsv``). **g** %TV change in 5-day bins (median ± interquartile range per group; "
            "points offset for legibility); above each bin the one-sided P and the number of high/low models "
            "with a value in that bin (n/c: not computed, fewer than 3 per group). **h** mRECIST classes "
            "(from best response and best average response) per score group, with the χ² test of "
            "independence, its Cramér's V and the Monte Carlo Fisher exact P."
        ),
        drawn_by="fig_validation:draw_fig5_pdx",
    ),
    FigureSpec(
        "supp_pdx", scope="validation", cohorts=("pdx",), tables=("pdx_sensitivity", "validation_tests"),
        panels={"a": ("Supp. Fig. 7a", "PDX score rank agreement with the default pseudo-counts over N × read length"),
                "b": ("Supp. Fig. 7a", "PDX day 10–15 one-sided P over N × read length")},
        caption=(
            "Sensitivity of the PDX validation of {pair} to the FPKM → pseudo-count conversion "
            "(counts = FPKM · (L − ℓ + 1) · N / 1e9 with L the gene length, then voom and scoring; ℓ = 200 "
            "reproduces the published L − 199). Each cell is one setting of mapped fragments N and read length "
            "ℓ; the framed cell is the default. **a** Spearman correlation "
            "of the models' Benefit Scores with those of the default setting. **b** One-sided Mann–Whitney P "
            "(lower %TV change at days 10–15 in the high-score group, median split; colour −log10 P) with the "
            "medians of the high and low group below it. Grey cells: setting not in the grid."
        ),
        drawn_by="fig_validation:draw_supp_pdx",
    ),
    FigureSpec(
        "supp_robustness", scope="validation", cohorts=("tahoe", "pdx"),
        tables=("validation_robustness", "robustness_summary"),
        panels={"a": ("Supp. robustness a", "P of the cohort's main claim over every k × replicate × recipe × score"),
                "b": ("Supp. robustness b", "P of the second claim over every setting"),
                "c": ("Supp. robustness c", "P of the third claim over every setting")},
        caption=(
            "How robust the validation of {pair} on the {cohort_models} is.{cohort_note} Each row is a setting: the score (FORGE Benefit Score, the "
            "balanced score, the ridge baseline's), the model's latent dimension k and the transfer recipe (training "
            "or within-cohort z-scoring of the genes, raw or standardised gene weights; the paper's is within-cohort "
            "z and standardised weights). Dots: the P of each replicate model (seeds 42 + b; the ridge baseline has one); "
            "open diamond: the P of the replicate-mean score; dashed line 0.05; orange line: the P the preprint reports "
            "for this claim (k = 30), where it gives one; right: the share of replicates with P < 0.05 and their "
            "number. PDX: one-sided Mann–Whitney U of %TV change and BestAvgResponse (high < low score, median split) "
            "and the χ² test of mRECIST class by score group; Tahoe: one-sided Mann–Whitney U of response strength "
            "(high > low) and of the score (cancer > normal lines). These are robustness checks, not additional "
            "claims (``robustness.tsv``, ``robustness_summary.tsv``)."
        ),
        drawn_by="fig_robustness:draw_supp_robustness",
    ),
    FigureSpec(
        "supp_weights", scope="validation", cohorts=("tahoe", "pdx"),
        tables=("gene_weights", "weight_tests"),
        panels={"c": ("Supp. Fig. 7c", "|weight| of model genes missing from the cohort vs present, one-sided MWU"),
                "d": ("Supp. Fig. 7d", "gene weights of two validated k, Pearson r")},
        caption=(
            "Gene weights behind the validation of {pair} on the {cohort_models}. **c** Absolute Benefit-Score weight W(h_D − h_I) of the "
            "reported model's genes (replicate 0 of the reported k) that the cohort lacks against those it has, with "
            "the one-sided Mann–Whitney U that the missing genes carry larger weights (``weight_tests.tsv``). **d** The "
            "weights of the smallest and largest validated k against each other (replicate 0 of each; red: genes the "
            "cohort lacks) with their Pearson r (the preprint reports r = 0.74 between its k = 30 and k = 40 models)."
        ),
        drawn_by="fig_robustness:draw_supp_weights",
    ),
)


#: Every figure, by name.
FIGURES: dict[str, FigureSpec] = {spec.name: spec for spec in SPECS}
