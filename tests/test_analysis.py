"""Analysis stage: embeddings, latent clusters (R dynamicTreeCut fixture), limma DE (R limma
fixture), enrichment (scipy / statsmodels oracles), and the planted signal of the demo run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import pdist
from sklearn.metrics import adjusted_rand_score
from statsmodels.stats.multitest import multipletests

from conftest import SMALL_CONFIG
from forge.analysis import clustering, differential, embedding, enrichment
from forge.analysis.pair import analysis_samples, de_contrasts
from forge.io import InputFormatError
from forge.modelling.model import ForgeModel

FIXTURES = Path(__file__).parent / "fixtures"
PLANTED_PAIRS = {"EGFR_ERLOTINIB": 0}  # the small demo's planted pair (index in planted_truth.json)
CONTROL_PAIR = "A1CF_VORINOSTAT"


def relabel_like_r(labels: np.ndarray) -> np.ndarray:
    """Canonical numbering (1 = largest cluster, ties by first occurrence; 0 kept), for comparisons."""
    labels = np.asarray(labels)
    assigned = [lab for lab in pd.unique(labels) if lab != clustering.UNASSIGNED]
    sizes = {lab: int((labels == lab).sum()) for lab in assigned}
    order = sorted(assigned, key=lambda lab: (-sizes[lab], int(np.argmax(labels == lab))))
    mapping = {lab: i + 1 for i, lab in enumerate(order)}
    mapping[clustering.UNASSIGNED] = clustering.UNASSIGNED
    return np.array([mapping[lab] for lab in labels], dtype=int)


def relative_difference(ours: pd.Series, reference: pd.Series) -> float:
    return float(np.max(np.abs(ours.to_numpy() - reference.to_numpy()) / np.maximum(np.abs(reference.to_numpy()), 1e-12)))


# ------------------------------------------------------------------ limma against R


@pytest.fixture(scope="module")
def limma_fixture():
    folder = FIXTURES / "limma"
    expression = pd.read_csv(folder / "expression.csv", index_col="gene").T  # samples × genes
    weights = pd.read_csv(folder / "weights.csv", index_col="gene").T
    samples = pd.read_csv(folder / "samples.csv", index_col="sample")
    return expression, weights, samples, folder


@pytest.mark.parametrize("weighted", [True, False])
def test_limma_top_table_equals_r(limma_fixture, weighted: bool) -> None:
    expression, weights, samples, folder = limma_fixture
    reference = pd.read_csv(folder / ("toptable.csv" if weighted else "toptable_unweighted.csv"), index_col="gene")
    design = differential.group_design(samples["group"] == "high", samples["lineage"])
    # same columns as R's model.matrix(~ group + lineage): L1 (largest) is the reference level
    r_design = pd.read_csv(folder / "design.csv", index_col="sample")
    np.testing.assert_array_equal(design.matrix.to_numpy(), r_design.to_numpy())
    table = differential.limma_top_table(expression, design, weights if weighted else None)
    assert list(table.index) == list(reference.index)
    for column in differential.TOPTABLE_COLUMNS:
        assert relative_difference(table[column], reference[column]) < 1e-8, column


@pytest.mark.parametrize("min_lineage_size, reference_file", [(3, "toptable_pooled.csv"), (1, "toptable_unpooled.csv")])
def test_limma_with_rare_lineages_pooled_equals_r(min_lineage_size: int, reference_file: str) -> None:
    """Lineages of fewer than 3 samples pooled into "Other" (R: ifelse(table(x)[x] < 3, "Other", x))."""
    folder = FIXTURES / "limma_pooled"
    expression = pd.read_csv(folder / "expression.csv", index_col="gene").T
    weights = pd.read_csv(folder / "weights.csv", index_col="gene").T
    samples = pd.read_csv(folder / "samples.csv", index_col="sample")
    design = differential.group_design(samples["group"] == "high", samples["lineage"], min_lineage_size)
    if min_lineage_size == 3:
        assert design.pooled_levels == {"L6": 2, "L7": 2, "L8": 1, "L9": 1}
        r_design = pd.read_csv(folder / "design_pooled.csv", index_col="sample")
        np.testing.assert_array_equal(design.matrix.to_numpy(), r_design.to_numpy())
        assert design.covariate_levels == ["L1", "L2", "L3", "L4", "Other", "L5"]
    else:
        assert design.pooled_levels == {} and len(design.covariate_levels) == 9
    table = differential.limma_top_table(expression, design, weights)
    reference = pd.read_csv(folder / reference_file, index_col="gene")
    for column in differential.TOPTABLE_COLUMNS:
        assert relative_difference(table[column], reference[column]) < 1e-8, column


def test_pooling_rare_lineages_changes_the_fit_and_is_reported() -> None:
    folder = FIXTURES / "limma_pooled"
    pooled = pd.read_csv(folder / "toptable_pooled.csv", index_col="gene")
    unpooled = pd.read_csv(folder / "toptable_unpooled.csv", index_col="gene")
    assert relative_difference(pooled["t"], unpooled["t"]) > 0.05  # the two designs are not the same fit
    expression = pd.read_csv(folder / "expression.csv", index_col="gene").T
    samples = pd.read_csv(folder / "samples.csv", index_col="sample")
    contrast = differential.Contrast("score_groups", samples["group"] == "high", "high vs low")
    thresholds = dict(log2fc=1.0, adj_p=0.05, top_n=200, min_lineage_size=3)
    table, summary = differential.run_contrast(contrast, expression, None, samples["lineage"], thresholds)
    assert summary["pooled_lineages"] == "L6 (2); L7 (2); L8 (1); L9 (1)" and summary["min_lineage_size"] == 3
    assert summary["lineage_levels"] == 6 and len(table) == expression.shape[1]
    # a lineage already called "Other" is joined by the pooled ones; the pool is a level like any other
    lineage = pd.Series(["A"] * 5 + ["Other"] * 3 + ["B", "C"], index=[f"S{i}" for i in range(10)])
    pooled_lineage, rare = differential.pool_rare_levels(lineage, 3)
    assert rare == {"B": 1, "C": 1} and pooled_lineage.value_counts().to_dict() == {"A": 5, "Other": 5}
    _, skipped = differential.skipped_contrast("x", "y", "why")
    assert skipped["pooled_lineages"] == ""


def test_vectorised_weighted_fit_equals_pylimma_loop() -> None:
    from pylimma.lmfit import lm_series

    rng = np.random.default_rng(np.random.SeedSequence(11))
    n, genes = 90, 40
    design = np.column_stack([np.ones(n), rng.integers(0, 2, n), rng.normal(size=(n, 3))])
    M = rng.normal(5, 2, size=(genes, n))
    W = rng.uniform(0.1, 4, size=(genes, n))
    ours = differential.weighted_lm_series(M, design, W, chunk=7)  # several chunks
    theirs = lm_series(M, design, weights=W)
    for key in ("coefficients", "stdev_unscaled", "sigma", "df_residual"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-10, atol=1e-12, err_msg=key)


def test_reduced_qr_fit_equals_pylimma_without_weights() -> None:
    from pylimma.lmfit import lm_series

    rng = np.random.default_rng(np.random.SeedSequence(12))
    n, genes = 120, 50
    design = np.column_stack([np.ones(n), rng.integers(0, 2, n), rng.integers(0, 2, (n, 3))])
    M = rng.normal(5, 2, size=(genes, n))
    ours = differential.ols_lm_series(M, design, chunk=7)  # several chunks
    theirs = lm_series(M, design)  # pylimma's own fast path (complete Q)
    for key in ("coefficients", "stdev_unscaled", "sigma", "df_residual", "cov_coefficients"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-10, atol=1e-12, err_msg=key)


def test_design_drops_a_lineage_collinear_with_the_group() -> None:
    index = pd.Index([f"S{i}" for i in range(8)])
    case = pd.Series([True] * 4 + [False] * 4, index=index)
    lineage = pd.Series(["A"] * 4 + ["B", "B", "C", "C"], index=index)
    design = differential.group_design(case, lineage)
    # A is collinear with the group and B is the reference of the largest-first order (A, B, C
    # tie at ... A=4): A reference, B kept, C would make the matrix rank-deficient
    assert np.linalg.matrix_rank(design.matrix.to_numpy()) == design.matrix.shape[1]
    assert "group" in design.matrix.columns
    assert design.notes and "collinear" in design.notes[0]
    with pytest.raises(ValueError, match="both groups"):
        differential.group_design(pd.Series([True] * 3, index=index[:3]), None)


def test_mark_significant_thresholds_and_top_n() -> None:
    table = pd.DataFrame({"logFC": [2.0, -3.0, 0.5, 1.5, -1.2], "adj.P.Val": [0.01, 0.001, 0.001, 0.2, 0.04]},
                         index=pd.Index(list("abcde"), name="gene"))
    marked = differential.mark_significant(table, log2fc=1.0, adj_p=0.05, top_n=2)
    assert marked["direction"].tolist() == ["up", "down", "none", "none", "down"]
    assert marked.index[marked["top"]].tolist() == ["a", "b"]  # |logFC| 3 and 2


# ------------------------------------------------------------------ clustering against R


@pytest.fixture(scope="module")
def cutree_fixture():
    folder = FIXTURES / "dynamictreecut"
    Z = pd.read_csv(folder / "embedding.csv", index_col="sample")
    labels = pd.read_csv(folder / "labels.csv", index_col="sample")
    return Z, labels, folder


def test_ward_linkage_heights_equal_r_hclust(cutree_fixture) -> None:
    Z, _, folder = cutree_fixture
    heights = pd.read_csv(folder / "hclust_height.csv")["height"].to_numpy()
    np.testing.assert_allclose(clustering.ward_linkage(Z.to_numpy())[:, 2], heights, rtol=1e-12)


def test_ward_linkage_from_given_distances_is_scipys_tree_bit_for_bit() -> None:
    """cut_tree_hybrid computes pdist once and gives it to the linkage: the same tree, to the bit,
    as SciPy's own linkage of the observations (which computes those distances itself)."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import pdist

    Z = np.random.default_rng(np.random.SeedSequence(11)).normal(size=(300, 12))
    reference = linkage(Z, method="ward", metric="euclidean")
    assert clustering.ward_linkage(Z, pdist(Z)).tobytes() == reference.tobytes()
    assert clustering.ward_linkage(Z).tobytes() == reference.tobytes()


@pytest.mark.parametrize("pam_stage,column", [(True, "label_pam"), (False, "label_nopam")])
def test_cutree_hybrid_equals_r(cutree_fixture, pam_stage: bool, column: str) -> None:
    Z, labels, _ = cutree_fixture
    ours = clustering.cut_tree_hybrid(Z.to_numpy(), deep_split=4, min_cluster_size=13, pam_stage=pam_stage)
    reference = labels[column].to_numpy()
    assert adjusted_rand_score(reference, ours) == 1.0
    # the same numbering, not only the same partition
    np.testing.assert_array_equal(relabel_like_r(ours), relabel_like_r(reference))
    np.testing.assert_array_equal(ours, reference)


def test_planted_groups_are_recovered_and_a_shuffled_embedding_is_not() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(5))
    sizes = [60, 45, 35, 30]
    centres = rng.normal(0, 4, size=(len(sizes), 10))
    Z = np.vstack([c + rng.normal(size=(s, 10)) for c, s in zip(centres, sizes)])
    truth = np.repeat(np.arange(len(sizes)), sizes)
    shuffled = np.column_stack([rng.permutation(column) for column in Z.T])  # same marginals, no groups
    # the paper's deepSplit 4 splits large groups into sub-clusters but never mixes two groups
    labels = clustering.cut_tree_hybrid(Z, deep_split=4, min_cluster_size=13)
    purity = pd.crosstab(labels, truth).gt(0).sum(axis=1)
    assert (purity == 1).all()
    assert adjusted_rand_score(truth, labels) > 0.5
    assert adjusted_rand_score(truth, clustering.cut_tree_hybrid(shuffled)) < 0.05
    # a gentler split recovers the planted groups exactly
    assert adjusted_rand_score(truth, clustering.cut_tree_hybrid(Z, deep_split=2)) == 1.0


def test_too_few_samples_for_the_cluster_size_is_refused() -> None:
    with pytest.raises(ValueError, match="min_cluster_size"):
        clustering.cut_tree_hybrid(np.zeros((20, 3)), min_cluster_size=13)


def cluster_table() -> tuple[pd.DataFrame, pd.Series]:
    """Four clusters of 20 with hand-set outputs: 1 and 2 sensitive, 3 high score but high IC50."""
    rows = []
    spec = {1: (2.0, 0.8, 1.0), 2: (1.0, 0.6, 1.5), 3: (3.0, 0.1, 5.0), 4: (-2.0, 0.1, 6.0)}
    rng = np.random.default_rng(0)
    for cluster, (score, dependency, ic50) in spec.items():
        for i in range(20):
            rows.append((f"{cluster}_{i}", cluster, score + rng.normal(0, 0.1), dependency + rng.normal(0, 0.01),
                         ic50 + rng.normal(0, 0.1), "Lung" if i % 2 else "Skin"))
    table = pd.DataFrame(rows, columns=["sample", "cluster", "benefit_score", "observed_dependency",
                                        "observed_ic50", "lineage"]).set_index("sample")
    return table, table["cluster"]


def test_sensitive_cluster_rule() -> None:
    samples, labels = cluster_table()
    summary = clustering.cluster_summary(samples, labels)
    assert summary.set_index("cluster")["n"].to_dict() == {1: 20, 2: 20, 3: 20, 4: 20}
    assert summary.loc[summary["cluster"] == 1, "lineages"].item() == "Lung:10; Skin:10"
    # cluster 1: score and dependency higher, IC50 lower than the rest (one-sided tests)
    row = summary.set_index("cluster").loc[1]
    assert row["p_dependency"] < 1e-6 and row["p_ic50"] < 1e-6 and row["rank_biserial_dependency"] == 1.0
    choice = clustering.select_sensitive_clusters(summary, samples, max_clusters=3)
    # ranked by median score: 3, 1, 2, 4; 3 fails on IC50 and dependency, 4 on both
    assert choice.clusters == [1, 2]
    reasons = choice.table.set_index("cluster")["reason"]
    assert "IC50" in reasons[3] and "dependency" in reasons[3]
    assert clustering.select_sensitive_clusters(summary, samples, max_clusters=1).clusters == [1]
    composition = clustering.lineage_composition(samples, labels)
    assert composition["fraction_of_cluster"].groupby(composition["cluster"]).sum().round(12).eq(1).all()


def test_de_contrasts_skip_when_no_cluster_is_sensitive() -> None:
    clusters = pd.DataFrame({"sample": list("abcdef"), "sensitive": [False] * 6})
    contrasts = de_contrasts(clusters, "benefit_score", pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], index=list("abcdef")))
    assert isinstance(contrasts[0], tuple) and "no cluster" in contrasts[0][2]
    assert contrasts[1].case.tolist() == [False, False, False, True, True, True]
    # a median split into 2 and 2 is below the smallest DE group (3): skipped with the reason
    four = de_contrasts(clusters.iloc[:4], "benefit_score", pd.Series([1.0, 2.0, 3.0, 4.0], index=list("abcd")))
    assert isinstance(four[1], tuple) and "leaves 2 high and 2 low" in four[1][2]


# ------------------------------------------------------------------ embeddings


def small_model(rng: np.random.Generator, genes: list[str], k: int = 3) -> ForgeModel:
    p = len(genes)
    return ForgeModel(genes=genes, gene_mean=rng.normal(size=p), gene_sd=rng.uniform(0.5, 2, p),
                      targets=["T_dependency", "D_ic50"], target_mean=np.zeros(2),
                      W=rng.normal(size=(p, k)), heads=rng.normal(size=(k, 2)))


def test_embeddings_equal_scaled_expression_times_w() -> None:
    rng = np.random.default_rng(1)
    genes = [f"G{i}" for i in range(6)]
    models = [small_model(rng, genes) for _ in range(4)]
    expression = pd.DataFrame(rng.normal(size=(12, 8)), columns=genes + ["X1", "X2"],
                              index=[f"S{i}" for i in range(12)])
    G = (expression[genes].to_numpy() - models[0].gene_mean) / models[0].gene_sd
    Z = embedding.reported_embedding(models[0], expression)
    np.testing.assert_allclose(Z.to_numpy(), G @ models[0].W, rtol=1e-12)
    consensus = embedding.consensus_embedding(models, expression)
    mean_sq = np.mean([pdist(embedding.reported_embedding(m, expression).to_numpy(), "sqeuclidean") for m in models], axis=0)
    np.testing.assert_allclose(pdist(consensus.to_numpy(), "sqeuclidean"), mean_sq, rtol=1e-10)
    # a sample's embedding does not depend on the other samples embedded with it
    np.testing.assert_allclose(embedding.reported_embedding(models[0], expression.iloc[[3]]).to_numpy(),
                               Z.iloc[[3]].to_numpy(), rtol=1e-14)


def test_analysis_samples_rules() -> None:
    table = pd.DataFrame({"split": ["train", "test", "unlabelled", "unlabelled"],
                          "observed_dependency": [0.1, 0.2, 0.3, np.nan]}, index=list("abcd"))
    assert list(analysis_samples(table, "with_dependency").index) == ["a", "b", "c"]
    assert list(analysis_samples(table, "labelled").index) == ["a", "b"]
    assert list(analysis_samples(table, "all").index) == list("abcd")
    with pytest.raises(ValueError, match="analysis.samples"):
        analysis_samples(table, "some")


# ------------------------------------------------------------------ enrichment


def test_gseapy_enrich_equals_scipy_hypergeometric_and_statsmodels_bh() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(3))
    background = [f"G{i:04d}" for i in range(1500)]
    sets = {f"SET{j:02d}": sorted(rng.choice(background + ["NOT_IN_BACKGROUND"], size=int(rng.integers(5, 120)),
                                             replace=False).tolist()) for j in range(40)}
    query = sorted(set(rng.choice(background, 80, replace=False)) | set(sets["SET03"][:15]))
    table = enrichment.over_representation(query, sets, background, min_size=10, max_size=100).set_index("term")
    universe = set(background)
    kept = {name: set(genes) & universe for name, genes in sets.items() if 10 <= len(set(genes) & universe) <= 100}
    expected_terms = sorted(name for name, genes in kept.items() if genes & set(query))
    assert sorted(table.index) == expected_terms  # sizes within the background decide what is tested
    for name in expected_terms:
        x, m = len(kept[name] & set(query)), len(kept[name])
        assert table.loc[name, "overlap"] == x and table.loc[name, "set_size"] == m
        expected = stats.hypergeom.sf(x - 1, len(universe), m, len(set(query)))
        assert table.loc[name, "p_value"] == pytest.approx(expected, rel=1e-10)
    # BH over every set in the size range, the sets without overlap at P = 1
    all_p = np.concatenate([table["p_value"].to_numpy(), np.ones(len(kept) - len(table))])
    bh = multipletests(all_p, method="fdr_bh")[1][: len(table)]
    np.testing.assert_allclose(table["fdr"].to_numpy(), bh, rtol=1e-10)
    assert (table["n_sets_tested"] == len(kept)).all()
    assert table.index[0] == "SET03"  # the planted overlap is the best term


def test_enrichment_fdr_adjusts_over_every_set_in_the_size_range() -> None:
    """A short list against many sets: most sets share no gene with it, and BH must still count them
    (R's p.adjust over every eligible set; gseapy's own adjustment counts only the overlapping ones)."""
    rng = np.random.default_rng(np.random.SeedSequence(31))
    background = [f"G{i:04d}" for i in range(3000)]
    outside = [f"X{i}" for i in range(500)]
    sets = {f"S{j:03d}": sorted(rng.choice(background + outside, size=int(rng.integers(2, 60)), replace=False).tolist())
            for j in range(400)}
    query = sorted(set(rng.choice(background, 25, replace=False)) | set(sets["S010"][:6]) - set(outside))
    table = enrichment.over_representation(query, sets, background, min_size=3, max_size=500).set_index("term")
    universe, hits = set(background), set(query)
    eligible = {n: set(g) & universe for n, g in sets.items() if 3 <= len(set(g) & universe) <= 500}
    p = pd.Series({n: stats.hypergeom.sf(len(g & hits) - 1, len(universe), len(g), len(hits)) if g & hits else 1.0
                   for n, g in eligible.items()})
    q = pd.Series(multipletests(p.to_numpy(), method="fdr_bh")[1], index=p.index)
    overlapping = [n for n, g in eligible.items() if g & hits]
    assert sorted(table.index) == sorted(overlapping) and len(overlapping) < 0.7 * len(eligible)
    assert (table["n_sets_tested"] == len(eligible)).all()
    np.testing.assert_allclose(table["p_value"], p[table.index], rtol=1e-10)
    np.testing.assert_allclose(table["fdr"], q[table.index], rtol=1e-10)
    # the adjustment over the overlapping sets only (gseapy's) would be smaller
    narrow = multipletests(p[overlapping].to_numpy(), method="fdr_bh")[1]
    assert (pd.Series(narrow, index=overlapping)[table.index] < table["fdr"] - 1e-12).any()


def test_enrichment_equals_r_phyper_and_p_adjust() -> None:
    folder = FIXTURES / "enrichment"
    settings = pd.read_csv(folder / "settings.csv").iloc[0]
    reference = pd.read_csv(folder / "results.csv", index_col="term")
    sets = enrichment.read_gmt(folder / "library.gmt")
    background = (folder / "background.txt").read_text().split()
    genes = (folder / "list.txt").read_text().split()
    table = enrichment.over_representation(genes, sets, background, int(settings["min_size"]),
                                           int(settings["max_size"])).set_index("term")
    # the fixture is one where the two families differ: 300 sets, fewer with an overlap
    assert settings["n_sets_with_overlap"] < settings["n_sets_tested"]
    assert sorted(table.index) == sorted(reference.index[reference["overlap"] > 0])
    assert (table["n_sets_tested"] == settings["n_sets_tested"]).all()
    expected = reference.loc[table.index]
    np.testing.assert_array_equal(table["overlap"], expected["overlap"])
    np.testing.assert_array_equal(table["set_size"], expected["set_size"])
    np.testing.assert_allclose(table["p_value"], expected["p_value"], rtol=1e-10)
    np.testing.assert_allclose(table["fdr"], expected["fdr"], rtol=1e-10)
    assert table.index[0] == "SET007"  # the planted overlap


def test_enrichment_rows_say_what_was_not_tested() -> None:
    background = [f"G{i}" for i in range(300)]
    sets = {"A": background[:40], "B": background[100:140]}
    lists = {"hits": (background[:15], background), "empty": ([], background),
             "elsewhere": (background[200:215], background), "outside": (["Z1", "Z2"], background)}
    libraries = {"lib": sets, "mouse": {"M": ["Egfr", "Kras", "Trp53"] * 1}, "tiny": {"T": background[:2]}}
    table = enrichment.run_enrichment(lists, libraries, dict(min_size=3, max_size=500, min_overlap=3, fdr=0.05))
    status = table.groupby(["list", "library"])["status"].agg(lambda s: ",".join(sorted(set(s))))
    assert status[("hits", "lib")] == "tested" and status[("elsewhere", "lib")] == "no overlap"
    assert status[("empty", "lib")] == "not tested" and status[("outside", "lib")] == "not tested"
    assert (status.xs("mouse", level="library") == "not tested").all()
    assert (status.xs("tiny", level="library") == "not tested").all()
    reasons = table.set_index(["list", "library"])["reason"]
    assert "shares no gene with the background" in reasons[("hits", "mouse")]
    assert "no gene set of the library has 3-500 genes" in reasons[("hits", "tiny")]
    assert reasons[("empty", "lib")] == "the list is empty"
    assert "none of the list's 2 genes is in the background" in reasons[("outside", "lib")]
    assert not table.loc[table["status"] != "tested", "significant"].any()
    assert list(table.columns) == enrichment.ENRICHMENT_COLUMNS


def test_significance_needs_fdr_and_overlap() -> None:
    background = [f"G{i}" for i in range(400)]
    sets = {"BIG": background[:40], "OTHER": background[200:240]}
    lists = {"l": (background[:12], background)}
    strict = enrichment.run_enrichment(lists, {"lib": sets}, dict(min_size=10, max_size=500, min_overlap=13, fdr=0.05))
    loose = enrichment.run_enrichment(lists, {"lib": sets}, dict(min_size=10, max_size=500, min_overlap=10, fdr=0.05))
    assert not strict["significant"].any()
    assert loose.set_index("term").loc["BIG", "significant"]


def test_read_gmt(tmp_path: Path) -> None:
    good = tmp_path / "lib.gmt"
    good.write_text("SET A\t\tG1\tG2\tG2\nSET B\tdesc\tG3,1.0\tG4\n", encoding="utf-8")
    assert enrichment.read_gmt(good) == {"SET A": ["G1", "G2"], "SET B": ["G3", "G4"]}
    assert enrichment.library_name(good) == "lib"
    bad = tmp_path / "bad.gmt"
    bad.write_text("SET A G1 G2\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="bad.gmt: line 1"):
        enrichment.read_gmt(bad)


# ------------------------------------------------------------------ the shared run of the small demo (config/small.yaml)


SMALL_DEMO, SMALL_K, SMALL_REPLICATES = (SMALL_CONFIG["data"]["demo"], SMALL_CONFIG["model"]["n_components"],
                                         SMALL_CONFIG["model"]["replicates"])


def read(run: Path, pair: str, name: str) -> pd.DataFrame:
    return pd.read_csv(run / "results/small/pairs" / pair / name, sep="\t")


def test_small_run_writes_the_analysis_tables(small_run: Path) -> None:
    for pair in [*PLANTED_PAIRS, CONTROL_PAIR]:
        emb = read(small_run, pair, "embedding.tsv")
        assert len(emb) == SMALL_DEMO["n_cell_lines"] and {"split", "lineage", "Z1", f"Z{SMALL_K}"} <= set(emb.columns)
        assert set(emb["split"]) == {"train", "test", "unlabelled"}
        clusters = read(small_run, pair, "clusters.tsv")
        assert clusters["observed_dependency"].notna().all()  # analysis.samples: with_dependency
        summary = read(small_run, pair, "cluster_summary.tsv")
        assert summary["n"].sum() == len(clusters) and (summary["n"] >= 13).all()
        # consensus + every replicate but the first
        assert len(read(small_run, pair, "cluster_stability.tsv")) == SMALL_REPLICATES
        for name in ("de_sensitive_clusters.tsv", "de_score_groups.tsv"):
            assert len(read(small_run, pair, name)) == SMALL_DEMO["n_genes"]  # every gene
        for name in ("sensitive_clusters.tsv", "cluster_lineages.tsv", "enrichment_lists.tsv", "enrichment.tsv"):
            assert (small_run / "results/small/pairs" / pair / name).is_file()


def test_demo_sensitive_clusters_follow_the_rule(small_run: Path) -> None:
    for pair in PLANTED_PAIRS:
        choice = read(small_run, pair, "sensitive_clusters.tsv")
        chosen = choice[choice["sensitive"]]
        assert 1 <= len(chosen) <= 3
        assert (chosen["median_dependency"] > chosen["cohort_median_dependency"]).all()
        assert (chosen["median_ic50"] < chosen["cohort_median_ic50"]).all()
        # the best-ranked qualifying clusters are the chosen ones
        qualifying = choice[choice["qualifies"]].sort_values("score_rank")
        assert chosen["cluster"].tolist() == qualifying["cluster"].head(3).tolist()


def test_demo_planted_module_genes_are_de_in_the_right_direction(small_run: Path) -> None:
    truth = json.loads((small_run / "resources/raw/demo/small/planted_truth.json").read_text())
    for pair, k in PLANTED_PAIRS.items():
        loadings = pd.Series(truth["planted_pairs"][k]["module_genes"])
        table = read(small_run, pair, "de_score_groups.tsv").set_index("gene")
        module = table.loc[loadings.index]
        assert module["significant"].mean() >= 0.8, pair
        significant = module[module["significant"]]
        # high-score samples have high module activity: each gene moves with its loading's sign
        assert (np.sign(significant["logFC"]) == np.sign(loadings[significant.index])).all(), pair
        # few false calls outside the module (about 1 expected at 5 % FDR among ~25 calls)
        assert (~table.index[table["significant"]].isin(loadings.index)).sum() <= 4, pair
    control = read(small_run, CONTROL_PAIR, "de_score_groups.tsv")
    assert control["significant"].sum() <= 2  # a null pair: at most a stray call among 1,200 genes


def test_demo_planted_pathway_is_the_top_term(small_run: Path) -> None:
    truth = json.loads((small_run / "resources/raw/demo/small/planted_truth.json").read_text())
    for pair, k in PLANTED_PAIRS.items():
        module = truth["planted_pairs"][k]["module"]
        planted = truth["planted_gmt_sets"][module]
        table = read(small_run, pair, "enrichment.tsv")
        for gene_list in ("score_groups_up", "influence_top"):
            rows = table[table["list"] == gene_list].sort_values("p_value")
            top = rows.iloc[0]
            assert top["term"] == planted and top["fdr"] < 1e-4, (pair, gene_list)
            # significance also needs enough of the list's genes in the set: 10 for DE lists (the
            # paper's rule; the small demo's up-regulated half of a 25-gene module can fall short
            # of it), 3 for the 20-gene influence lists (the permissive variant)
            needed = 3 if gene_list.startswith("influence") else 10
            assert top["significant"] == (top["overlap"] >= needed), (pair, gene_list)
            assert not rows.iloc[1:]["significant"].any(), (pair, gene_list)
    control = read(small_run, CONTROL_PAIR, "enrichment.tsv")
    assert control["significant"].sum() == 0


def test_enrichment_table_is_the_same_whatever_the_string_hash_seed() -> None:
    """gseapy reports the overlap genes in set order; the table must not depend on the process."""
    import os
    import subprocess
    import sys

    probe = (
        "from forge.analysis import enrichment\n"
        "genes = [f'G{i}' for i in range(200)]\n"
        "sets = {'A': genes[:40], 'B': genes[20:80], 'C': genes[150:190]}\n"
        "table = enrichment.over_representation(genes[:60], sets, genes, min_size=10, max_size=100)\n"
        "print(table.to_csv(sep='\\t', index=False))\n"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                              env=dict(os.environ, PYTHONHASHSEED=seed))
        outputs.add(done.stdout)
    assert len(outputs) == 1 and "G0;G1;G10;G11" in next(iter(outputs))


def test_fig3f_shows_only_tested_terms() -> None:
    """The not-tested / no-overlap rows name no term: fig. 3f draws none of them (issue 26)."""
    from forge.figures.fig_analysis import enrichment_terms

    background = [f"G{i}" for i in range(300)]
    lists = {"score_groups_up": (background[:15], background), "sensitive_clusters_up": ([], background),
             "influence_top": (background[250:260], background)}
    table = enrichment.run_enrichment(lists, {"lib": {"A": background[:40], "B": background[100:140]}},
                                      dict(min_size=3, max_size=500, min_overlap=3, fdr=0.05))
    assert set(table["status"]) == {"tested", "not tested", "no overlap"}
    shown = enrichment_terms(table)
    assert len(shown) == 1 and shown["term"].tolist() == ["A"]


UMAP_IN_A_PROCESS = """
import sys
import numpy as np
import pandas as pd
from forge.analysis.embedding import umap_coordinates
Z = pd.read_csv(sys.argv[1], sep="\\t", index_col=0)
cache = {"plain": False, "default": True}.get(sys.argv[3], sys.argv[3])
coordinates = umap_coordinates(Z, 7, n_neighbors=10, numba_cache=cache)
np.save(sys.argv[2], coordinates.to_numpy())
import umap.layouts
stats = umap.layouts._nb_optimize_layout_euclidean_single_epoch.stats
print(int(stats.cache_path is not None), sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def test_umap_with_cached_numba_functions_gives_the_same_coordinates(tmp_path: Path) -> None:
    """umap-learn's numba functions, cached by import_umap: compiled and stored by the first
    process (numba's location, here NUMBA_CACHE_DIR), read by the next (the same directory given
    as numba_cache), according to numba's cache statistics of umap's layout optimiser; the
    coordinates byte-identical to a plain import of umap that compiles them."""
    import os
    import subprocess
    import sys

    rng = np.random.default_rng(11)
    Z = pd.DataFrame(rng.normal(size=(60, 5)), index=[f"s{i}" for i in range(60)])
    Z.to_csv(tmp_path / "z.tsv", sep="\t")
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    cache = tmp_path / "numba_cache"

    def run(name: str, mode: str, **extra_env: str) -> tuple[np.ndarray, list[int]]:
        proc = subprocess.run([sys.executable, "-c", UMAP_IN_A_PROCESS, str(tmp_path / "z.tsv"),
                               str(tmp_path / f"{name}.npy"), mode],
                              capture_output=True, text=True, env=dict(env, **extra_env), timeout=900)
        assert proc.returncode == 0, proc.stderr
        return np.load(tmp_path / f"{name}.npy"), [int(n) for n in proc.stdout.split()]

    plain, plain_stats = run("plain", "plain")
    first, first_stats = run("first", "default", NUMBA_CACHE_DIR=str(cache))
    second, second_stats = run("second", str(cache))
    assert plain_stats[:2] == [0, 0]  # a plain import: no cache
    assert first_stats[:2] == [1, 0] and first_stats[2] >= 1  # compiled and stored
    assert second_stats[:2] == [1, 1] and second_stats[2] == 0  # read from the cache
    assert any(cache.rglob("layouts*.nbi"))
    assert plain.tobytes() == first.tobytes() == second.tobytes()


def test_numba_decorators_fall_back_to_no_cache_where_numba_cannot_cache() -> None:
    """cache=True is added unless given; where numba refuses it (RuntimeError: no cache location),
    the function is decorated as declared, in both decorator forms."""
    calls = []

    def decorator(*args, cache=False, **kwargs):
        calls.append(cache)
        if args and callable(args[0]):
            if cache:
                raise RuntimeError("cannot cache function: no locator available")
            return ("compiled", args[0], kwargs)

        def apply(function):
            if cache:
                raise RuntimeError("cannot cache function: no locator available")
            return ("compiled", function, kwargs)
        return apply

    def function():
        return None

    cached = embedding._with_cache(decorator)
    assert cached(function, fastmath=True) == ("compiled", function, {"fastmath": True})
    assert cached(fastmath=True)(function) == ("compiled", function, {"fastmath": True})
    assert calls == [True, False, True, False]
    assert cached(function, cache=False) == ("compiled", function, {}) and calls[-1] is False
