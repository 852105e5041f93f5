"""Pair-level library: split, training-only gene selection and scaling, persistence, scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forge.modelling.model import (
    ForgeModel,
    PairData,
    fit_pair_models,
    load_model,
    select_correlated_genes,
    split_samples,
)
from forge.io import InputFormatError

OPTIONS = dict(max_iter=60, learning_rate=1e-3, l1_penalty=1e-3)


def planted_pair(n: int = 150, p: int = 30, seed: int = 0) -> PairData:
    """Expression with a signal in the first 5 genes; dependency and IC50 driven by it."""
    rng = np.random.default_rng(seed)
    samples = [f"S{i:04d}" for i in range(n)]
    genes = [f"G{j:03d}" for j in range(p)]
    expression = pd.DataFrame(rng.normal(5, 2, (n, p)), index=samples, columns=genes)
    signal = expression.iloc[:, :5].sum(axis=1).to_numpy()
    outputs = pd.DataFrame(
        {
            "T_dependency": 0.1 * signal + rng.normal(0, 0.5, n),
            "D_ic50": -0.2 * signal + rng.normal(0, 1.0, n),
        },
        index=samples,
    )
    return PairData(expression, outputs, split_samples(samples, 0.2, seed=42))


@pytest.fixture(scope="module")
def pair() -> PairData:
    return planted_pair()


@pytest.fixture(scope="module")
def model(pair: PairData) -> ForgeModel:
    return fit_pair_models(pair, list(pair.expression.columns), [42], 4, OPTIONS)[0]


def test_split_is_disjoint_seeded_and_order_free() -> None:
    samples = [f"S{i}" for i in range(101)]
    split = split_samples(samples, 0.2, seed=42)
    assert (split == "test").sum() == 20 and (split == "train").sum() == 81
    assert split.index.is_unique and set(split.index) == set(samples)
    assert split.equals(split_samples(samples[::-1], 0.2, seed=42))
    assert not split.equals(split_samples(samples, 0.2, seed=43))
    with pytest.raises(ValueError, match="unique"):
        split_samples(["a", "a", "b"], 0.2, seed=1)


def test_correlated_genes_match_scipy_spearman(pair: PairData) -> None:
    train = pair.train
    table = select_correlated_genes(pair.expression.loc[train], pair.outputs.loc[train], 8, ["G029"])
    for gene in pair.expression.columns[:6]:
        rho = stats.spearmanr(pair.expression.loc[train, gene], pair.outputs.loc[train, "D_ic50"])[0]
        if gene in table.index:
            assert table.loc[gene, "rho_D_ic50"] == pytest.approx(rho, abs=1e-12)
    # the five planted genes are found on training samples; the forced gene is appended
    assert set(pair.expression.columns[:5]) <= set(table.index)
    assert table.index[-1] == "G029" and "forced" in table.loc["G029", "selected_for"]
    assert len(table) <= 2 * 8 + 1


def test_test_set_values_cannot_change_the_model(pair: PairData, model: ForgeModel) -> None:
    """Gene selection, scaling, centring and fitting see training samples only."""
    tampered_expression = pair.expression.copy()
    tampered_outputs = pair.outputs.copy()
    rng = np.random.default_rng(3)
    tampered_expression.loc[pair.test] = rng.normal(100, 50, (len(pair.test), pair.expression.shape[1]))
    tampered_outputs.loc[pair.test] = rng.normal(-9, 9, (len(pair.test), 2))
    tampered = PairData(tampered_expression, tampered_outputs, pair.split)

    def selected(data: PairData) -> list[str]:
        return select_correlated_genes(data.expression.loc[data.train], data.outputs.loc[data.train], 8).index.tolist()

    assert selected(tampered) == selected(pair)
    refit = fit_pair_models(tampered, list(pair.expression.columns), [42], 4, OPTIONS)[0]
    for name in ("W", "heads", "gene_mean", "gene_sd", "target_mean"):
        assert np.array_equal(getattr(refit, name), getattr(model, name)), name


def test_save_load_round_trip(tmp_path: Path, model: ForgeModel, pair: PairData) -> None:
    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "model.npz"]
    loaded = load_model(tmp_path / "m")
    for name in ("W", "heads", "gene_mean", "gene_sd", "target_mean"):
        assert np.array_equal(getattr(loaded, name), getattr(model, name)), name
    assert loaded.genes == model.genes and loaded.targets == model.targets
    assert loaded.metadata["seed"] == 42
    assert loaded.predict(pair.expression).equals(model.predict(pair.expression))
    with pytest.raises(FileNotFoundError, match="model.npz"):
        load_model(tmp_path / "nothing")


def test_benefit_score_is_column_order_free_and_per_sample(model: ForgeModel, pair: PairData) -> None:
    expression = pair.expression
    score, missing = model.benefit_score(expression)
    assert missing.empty
    shuffled = expression[expression.columns[::-1]]
    assert np.array_equal(model.benefit_score(shuffled)[0].to_numpy(), score.to_numpy())
    # a sample's score does not depend on which other samples are scored with it
    alone = model.benefit_score(expression.iloc[[7]])[0]
    assert alone.iloc[0] == pytest.approx(score.iloc[7], rel=1e-12)
    # and it is D_hat - I_hat on the centred scale
    predicted = model.predict(expression) - model.target_mean
    np.testing.assert_allclose(score, predicted.iloc[:, 0] - predicted.iloc[:, 1], rtol=1e-10, atol=1e-12)


def test_missing_genes_contribute_zero_and_are_reported(model: ForgeModel, pair: PairData) -> None:
    dropped = ["G001", "G017"]
    score, missing = model.benefit_score(pair.expression.drop(columns=dropped))
    assert missing["gene"].tolist() == dropped
    # oracle: z-score by hand, missing genes at z = 0
    z = (pair.expression[model.genes] - model.gene_mean) / model.gene_sd
    z[dropped] = 0.0
    np.testing.assert_allclose(score, z.to_numpy() @ model.benefit_weights(), rtol=1e-12)
    assert np.allclose(missing["benefit_weight"], model.benefit_weights()[[1, 17]])


def test_scoring_errors(model: ForgeModel, pair: PairData) -> None:
    with pytest.raises(InputFormatError, match="no gene of the model"):
        model.benefit_score(pair.expression.rename(columns=lambda g: g.lower()))
    with pytest.raises(InputFormatError, match=r"16 of the model's 30 genes are missing"):
        model.benefit_score(pair.expression.iloc[:, :14])
    text = pair.expression.copy()
    text["G003"] = text["G003"].astype(object)
    text.iloc[0, 3] = "high"
    with pytest.raises(InputFormatError, match=r"non-numeric values in gene column\(s\) \['G003'\]"):
        model.benefit_score(text)
    with_nan = pair.expression.copy()
    with_nan.iloc[2, 2] = np.nan
    with pytest.raises(InputFormatError, match="NaN"):
        model.benefit_score(with_nan)


def test_seeds_give_distinct_models_but_same_bits_when_repeated(pair: PairData) -> None:
    genes = list(pair.expression.columns)
    a, b = fit_pair_models(pair, genes, [1, 2], 4, OPTIONS)
    again = fit_pair_models(pair, genes, [2], 4, OPTIONS)[0]
    assert not np.array_equal(a.W, b.W)
    assert np.array_equal(b.W, again.W)  # batch composition does not change a model
