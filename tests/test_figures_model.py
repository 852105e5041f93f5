"""Figures of one pair's model (forge.figures.fig_model) on small hand-made tables."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from scipy import stats  # noqa: E402

from forge.figures import style  # noqa: E402
from forge.figures.registry import FIGURES, FigureSubject  # noqa: E402
from forge.modelling.pairs import Pair  # noqa: E402

PAIR = "EGFR_ERLOTINIB"
DEP, IC50 = "EGFR_dependency", "ERLOTINIB_ic50"


# ---------------------------------------------------------------------------
# hand-made tables
# ---------------------------------------------------------------------------
def _tables(multi_drug: bool = True) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(3)
    n_train, n_test, n_unlabelled = 16, 8, 5
    samples = [f"S{i:02d}" for i in range(n_train + n_test + n_unlabelled)]
    split = ["train"] * n_train + ["test"] * n_test + ["unlabelled"] * n_unlabelled
    labelled = n_train + n_test
    dep = np.concatenate([rng.uniform(0, 1, labelled), rng.uniform(0, 1, n_unlabelled)])
    ic50 = np.concatenate([5 - 4 * dep[:labelled] + rng.normal(0, 0.5, labelled), np.full(n_unlabelled, np.nan)])
    pred_dep = dep + rng.normal(0, 0.2, len(samples))
    pred_ic50 = np.where(np.isnan(ic50), rng.normal(3, 1, len(samples)), ic50 + rng.normal(0, 0.7, len(samples)))
    score = pred_dep - pred_ic50
    lab = pd.Series(score[:labelled])
    quartile = pd.qcut(lab.rank(method="first"), 4, labels=["Q1", "Q2", "Q3", "Q4"]).astype(str).tolist()
    median_group = np.where(lab > lab.median(), "high", "low").tolist()
    quartile += [np.nan] * n_unlabelled
    median_group += ["low"] * n_unlabelled
    embedding = pd.DataFrame({
        "sample": samples, "split": split, "lineage": "Lung", "benefit_score": score,
        "median_group": median_group, "quartile": quartile, "observed_dependency": dep, "observed_ic50": ic50,
        "Z1": rng.normal(size=len(samples)), "PC1": rng.normal(size=len(samples)),
        "PC2": rng.normal(size=len(samples)),
    })
    observed_dep = np.where(np.arange(len(samples)) < labelled, dep, np.nan)
    benefit = pd.DataFrame({
        "sample": samples, "benefit_score": score, f"predicted_{DEP}": pred_dep, f"predicted_{IC50}": pred_ic50,
        f"observed_{DEP}": observed_dep, f"observed_{IC50}": ic50, "split": split, "lineage": "Lung",
        "median_group": median_group, "quartile": quartile,
    })
    pred_rows = []
    for i in range(labelled):
        s, sp = samples[i], split[i]
        pred_rows += [(s, sp, "forge_joint", DEP, pred_dep[i], dep[i]),
                      (s, sp, "forge_joint", IC50, pred_ic50[i], ic50[i]),
                      (s, sp, "forge_dependency_only", DEP, pred_dep[i] + 0.1 * (i % 3), dep[i]),
                      (s, sp, "forge_ic50_only", IC50, pred_ic50[i] - 0.2 * (i % 2), ic50[i])]
    predictions = pd.DataFrame(pred_rows, columns=["sample", "split", "model", "output", "predicted", "observed"])
    comp_rows = []
    models = {"forge_joint": 0.71, "ridge": 0.64, "elastic_net": 0.62, "lineage_mean": 0.21, "training_mean": np.nan}
    for model, base in models.items():
        for j, output in enumerate((DEP, IC50)):
            for split_name, shift in (("train", 0.1), ("test", 0.0)):
                comp_rows.append((PAIR, False, model, output, split_name, base + shift - 0.05 * j, 0.01 * (j + 1), 5))
    if multi_drug:
        for output, r in ((DEP, 0.66), (IC50, 0.59), ("GEFITINIB_ic50", 0.61)):
            comp_rows.append((PAIR, False, "forge_multi_drug", output, "test", r, 0.03, 5))
            comp_rows.append((PAIR, False, "forge_multi_drug", output, "train", r + 0.1, 0.01, 5))
        comp_rows.append((PAIR, False, "ridge", "GEFITINIB_ic50", "test", 0.68, 0.0, 5))
    comparison = pd.DataFrame(comp_rows, columns=["pair", "control", "model", "output", "split", "pearson_mean",
                                                  "pearson_std", "n_replicates"])
    tests = pd.DataFrame([
        (PAIR, "quartile", "Q2", "Q1", f"observed_{DEP}", "greater", 6, 6, 0.2, 0.1, 20.0, 0.0123, 0.1),
        (PAIR, "quartile", "Q2", "Q1", f"observed_{IC50}", "less", 6, 6, 3.0, 4.0, 10.0, 0.000456, -0.4),
        (PAIR, "quartile", "Q3", "Q2", f"observed_{DEP}", "greater", 6, 6, 0.3, 0.2, 20.0, 0.0789, 0.1),
        (PAIR, "quartile", "Q3", "Q2", f"observed_{IC50}", "less", 6, 6, 2.0, 3.0, 10.0, 0.0222, -0.4),
        (PAIR, "quartile", "Q4", "Q3", f"observed_{DEP}", "greater", 6, 6, 0.6, 0.3, 20.0, 0.0333, 0.1),
        (PAIR, "quartile", "Q4", "Q3", f"observed_{IC50}", "less", 6, 6, 1.0, 2.0, 10.0, 0.0444, -0.4),
        (PAIR, "median_group", "high", "low", f"observed_{DEP}", "greater", 12, 12, 0.6, 0.2, 90.0, 0.0055, 0.3),
        (PAIR, "median_group", "high", "low", f"observed_{IC50}", "less", 12, 12, 1.0, 4.0, 9.0, 0.00066, -0.6),
    ], columns=["pair", "grouping", "higher_group", "lower_group", "output", "alternative", "n_higher", "n_lower",
                "median_higher", "median_lower", "U", "p_value", "rank_biserial"])
    tuning = pd.DataFrame(
        [(k, seed, sp, output, 0.5 + 0.01 * k + (0.1 if sp == "train" else 0.0) + 0.02 * seed - 0.1 * j)
         for k in (5, 10, 20) for seed in (1, 2, 3) for sp in ("train", "test") for j, output in enumerate((DEP, IC50))],
        columns=["n_components", "seed", "split", "output", "pearson"])
    return {
        "embedding": embedding, "split": embedding.loc[embedding["split"] != "unlabelled", ["sample", "split"]],
        "predictions": predictions, "benefit_scores": benefit, "comparison": comparison,
        "score_group_tests": tests, "tuning_curve": tuning,
    }


def _panel_axes(fig) -> dict[str, Axes]:
    """Axes by their bold panel letter (searching subfigures too)."""
    found = {}
    for ax in fig.findobj(Axes):
        for text in ax.texts:
            if text.get_fontweight() == "bold" and re.fullmatch(r"[a-z]", text.get_text()):
                found[text.get_text()] = ax
    return found


def _texts(ax) -> str:
    return "\n".join(t.get_text() for t in ax.texts)


RECORD = Pair(PAIR, "EGFR", "ERLOTINIB", ("GEFITINIB",), False)


def _draw(figure: str, tables: dict[str, pd.DataFrame], pair: Pair = RECORD):
    spec = FIGURES[figure]
    subject = FigureSubject(pair.name, pair, (pair,))
    fig, status = spec.draw({key: tables.get(key, pd.DataFrame()) for key in spec.tables}, subject)
    assert set(status) == set(spec.panels), "every declared panel needs a status"
    return fig, status


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------
def test_figures_are_registered_with_pair_scope():
    for name, letters in (("fig1", "de"), ("fig2", "bcdefghijklmnop"), ("supp_tuning", "ab")):
        spec = FIGURES[name]
        assert spec.scope == "pair"
        assert set(spec.panels) == set(letters)
        assert "{pair}" in spec.caption and len(spec.caption) > 200


# ---------------------------------------------------------------------------
# fig1
# ---------------------------------------------------------------------------
def test_fig1_histogram_cutoff_and_one_sided_test():
    tables = _tables()
    fig, status = _draw("fig1", tables)
    assert status == {"d": "drawn", "e": "drawn"}
    axes = _panel_axes(fig)
    ax_d, ax_e = axes["d"], axes["e"]
    heights = sum(p.get_height() for p in ax_d.patches)
    emb = tables["embedding"]
    assert heights == emb["observed_dependency"].notna().sum()  # all cohort lines, unlabelled included
    assert ax_d.get_xlabel() == "EGFR dependency probability"
    assert any(np.allclose(line.get_xdata(), 0.5) for line in ax_d.get_lines())
    assert "cutoff 0.5" in _texts(ax_d)
    both = emb.dropna(subset=["observed_dependency", "observed_ic50"])
    dep = both.loc[both["observed_dependency"] >= 0.5, "observed_ic50"]
    other = both.loc[both["observed_dependency"] < 0.5, "observed_ic50"]
    p = stats.mannwhitneyu(dep, other, alternative="less").pvalue
    assert "one-sided Mann–Whitney" in _texts(ax_e)
    assert style.format_p(p) in _texts(ax_e)
    ticks = [t.get_text() for t in ax_e.get_xticklabels()]
    assert f"n = {len(dep)}" in ticks[0] and f"n = {len(other)}" in ticks[1]
    points = [c.get_offsets() for c in ax_e.collections if len(c.get_offsets())]
    assert sorted(np.concatenate([o[:, 1] for o in points])) == pytest.approx(sorted(both["observed_ic50"]))
    assert "erlotinib IC50" in ax_e.get_ylabel()


def test_fig1_without_dependent_lines_or_table():
    tables = _tables()
    tables["embedding"]["observed_dependency"] *= 0.4  # nobody reaches 0.5
    fig, status = _draw("fig1", tables)
    assert status["d"] == "drawn"
    assert status["e"].startswith("not drawn:") and "0.5" in status["e"]
    fig, status = _draw("fig1", {})
    assert all(s.startswith("not drawn:") for s in status.values())


# ---------------------------------------------------------------------------
# fig2
# ---------------------------------------------------------------------------
def test_fig2_all_panels_drawn():
    fig, status = _draw("fig2", _tables())
    assert all(s == "drawn" for s in status.values()), status
    assert set(_panel_axes(fig)) == set(FIGURES["fig2"].panels)


def test_fig2b_split_sizes():
    tables = _tables()
    fig, _ = _draw("fig2", tables)
    ax = _panel_axes(fig)["b"]
    assert [p.get_height() for p in ax.patches] == [16, 8, 5]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["train", "test", "unlabelled"]


def test_fig2c_scores_of_joint_and_individual_models():
    tables = _tables()
    fig, status = _draw("fig2", tables)
    pred = tables["predictions"]
    test = pred[pred["split"] == "test"]

    def pick(model, output):
        return test[(test["model"] == model) & (test["output"] == output)].set_index("sample")

    joint = pick("forge_joint", DEP)["predicted"] - pick("forge_joint", IC50)["predicted"]
    individual = pick("forge_dependency_only", DEP)["predicted"] - pick("forge_ic50_only", IC50)["predicted"]
    observed_dep = pick("forge_joint", DEP)["observed"]
    ax = _panel_axes(fig)["c"]
    assert ax.get_xlabel() == "Benefit Score (a.u.)" and "EGFR dependency" in ax.get_ylabel()
    offsets = [c.get_offsets() for c in ax.collections]
    assert len(offsets) == 2 and all(len(o) == len(joint) for o in offsets)
    np.testing.assert_allclose(offsets[0][:, 0], joint.to_numpy())
    np.testing.assert_allclose(offsets[0][:, 1], observed_dep.to_numpy())
    np.testing.assert_allclose(offsets[1][:, 0], individual.to_numpy())
    r_joint = np.corrcoef(joint, observed_dep)[0, 1]
    r_ind = np.corrcoef(individual, observed_dep)[0, 1]
    assert f"joint r = {r_joint:.3f}" in _texts(ax) and f"individual r = {r_ind:.3f}" in _texts(ax)
    ic50_axes = [a for a in fig.findobj(Axes) if a.get_xlabel() == "Benefit Score (a.u.)" and "IC50" in a.get_ylabel()]
    assert len(ic50_axes) == 1
    observed_ic50 = pick("forge_joint", IC50)["observed"]
    np.testing.assert_allclose(ic50_axes[0].collections[0].get_offsets()[:, 1], observed_ic50.to_numpy())
    assert f"joint r = {np.corrcoef(joint, observed_ic50)[0, 1]:.3f}" in _texts(ic50_axes[0])


def test_fig2d_to_g_embedding_points_and_colours():
    tables = _tables()
    fig, _ = _draw("fig2", tables)
    axes = _panel_axes(fig)
    emb = tables["embedding"]
    for letter, split, column in (("d", "train", "observed_dependency"), ("e", "test", "observed_dependency"),
                                  ("f", "train", "observed_ic50"), ("g", "test", "observed_ic50")):
        rows = emb[emb["split"] == split].sort_values(column)
        scatter = axes[letter].collections[0]
        assert len(scatter.get_offsets()) == len(rows)
        np.testing.assert_allclose(scatter.get_offsets()[:, 0], rows["PC1"].to_numpy())
        np.testing.assert_allclose(np.asarray(scatter.get_array()), rows[column].to_numpy())
        assert axes[letter].get_xlabel() == "PC1 of Z"


def test_fig2h_to_k_predicted_vs_observed_with_baselines():
    tables = _tables()
    fig, _ = _draw("fig2", tables)
    axes = _panel_axes(fig)
    bs, comp = tables["benefit_scores"], tables["comparison"]
    for letter, split, output in (("h", "train", DEP), ("i", "test", DEP), ("j", "train", IC50), ("k", "test", IC50)):
        ax = axes[letter]
        rows = bs[bs["split"] == split]
        offsets = ax.collections[0].get_offsets()
        np.testing.assert_allclose(offsets[:, 0], rows[f"observed_{output}"].to_numpy())
        np.testing.assert_allclose(offsets[:, 1], rows[f"predicted_{output}"].to_numpy())
        r = np.corrcoef(rows[f"observed_{output}"], rows[f"predicted_{output}"])[0, 1]
        text = _texts(ax)
        assert re.search(rf"^r = {r:.2f}$", text, re.M), text
        assert ax.get_xlabel().startswith("observed") and ax.get_ylabel().startswith("predicted")
        for model, label in (("ridge", "ridge"), ("elastic_net", "elastic net"), ("lineage_mean", "lineage mean")):
            row = comp[(comp["model"] == model) & (comp["output"] == output) & (comp["split"] == split)].iloc[0]
            assert f"{label} {row['pearson_mean']:.2f} ± {row['pearson_std']:.2f}" in text
        assert "training mean" not in text  # NaN r is not listed


def test_fig2l_to_o_groups_show_workflow_p_values():
    tables = _tables()
    fig, _ = _draw("fig2", tables)
    axes = _panel_axes(fig)
    bs = tables["benefit_scores"]
    labelled = bs[bs["split"] != "unlabelled"]
    expected = {"l": (["0.012", "0.079", "0.033"], "quartile", DEP), "m": (["4.6e-04", "0.022", "0.044"], "quartile", IC50),
                "n": (["0.0055"], "median_group", DEP), "o": (["6.6e-04"], "median_group", IC50)}
    for letter, (ps, grouping, output) in expected.items():
        text = _texts(axes[letter])
        for p in ps:
            assert f"P = {p}" in text, (letter, text)
        ticks = [t.get_text() for t in axes[letter].get_xticklabels()]
        groups = ["Q1", "Q2", "Q3", "Q4"] if grouping == "quartile" else ["low", "high"]
        for tick, group in zip(ticks, groups):
            assert tick == f"{group}\nn={(labelled[grouping] == group).sum()}"
        points = np.concatenate([c.get_offsets()[:, 1] for c in axes[letter].collections if len(c.get_offsets())])
        assert sorted(points) == pytest.approx(sorted(labelled[f"observed_{output}"]))


def test_fig2p_multi_drug_bars_equal_comparison():
    tables = _tables()
    fig, status = _draw("fig2", tables)
    ax = _panel_axes(fig)["p"]
    comp = tables["comparison"]
    test = comp[comp["split"] == "test"]
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    expected = []
    for output in (DEP, IC50, "GEFITINIB_ic50"):
        for model in ("forge_multi_drug", "forge_joint", "ridge", "elastic_net", "lineage_mean"):
            row = test[(test["model"] == model) & (test["output"] == output)]
            expected += [round(float(v), 6) for v in row["pearson_mean"]]
    assert heights == sorted(expected)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["EGFR\ndependency", "erlotinib\nIC50", "gefitinib\nIC50"]
    assert "test Pearson r" in ax.get_ylabel()


def test_fig2_without_multi_drug_or_optional_tables():
    tables = _tables(multi_drug=False)
    tables["predictions"] = pd.DataFrame()
    tables["embedding"] = tables["embedding"].drop(columns=["PC1", "PC2"])
    fig, status = _draw("fig2", tables)
    assert status["p"] == "not drawn: no multi-drug model for this pair"
    assert status["c"].startswith("not drawn:")
    assert all(status[x].startswith("not drawn:") and "PC1" in status[x] for x in "defg")
    assert all(status[x] == "drawn" for x in "bhijklmno")


def test_fig2_all_tables_empty():
    fig, status = _draw("fig2", {})
    assert all(s.startswith("not drawn:") for s in status.values()), status


# ---------------------------------------------------------------------------
# supp_tuning
# ---------------------------------------------------------------------------
def test_supp_tuning_mean_over_seeds_and_baseline_lines():
    tables = _tables()
    fig, status = _draw("supp_tuning", tables)
    assert status == {"a": "drawn", "b": "drawn"}
    axes = _panel_axes(fig)
    curve, comp = tables["tuning_curve"], tables["comparison"]
    for letter, output in (("a", DEP), ("b", IC50)):
        ax = axes[letter]
        assert ax.get_xlabel() == "latent dimensions k"
        lines = {line.get_label(): line for line in ax.get_lines()}
        for split in ("train", "test"):
            mean = curve[(curve["output"] == output) & (curve["split"] == split)].groupby("n_components")["pearson"].mean()
            line = lines[f"FORGE {split}"]
            assert list(line.get_xdata()) == list(mean.index)
            np.testing.assert_allclose(line.get_ydata(), mean.to_numpy())
        for model, label in (("ridge", "ridge test"), ("elastic_net", "elastic net test")):
            r = comp[(comp["model"] == model) & (comp["output"] == output) & (comp["split"] == "test")]["pearson_mean"]
            assert lines[label].get_ydata()[0] == pytest.approx(float(r.iloc[0]))


def test_supp_tuning_empty_table():
    fig, status = _draw("supp_tuning", {"comparison": _tables()["comparison"]})
    assert all(s.startswith("not drawn:") for s in status.values())
