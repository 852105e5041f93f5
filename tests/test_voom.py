"""voom against R limma fixtures and pylimma, the voom rule's low-copy parquet I/O, and
z-scoring against an explicit reference set.

The fixtures in tests/fixtures/voom/ were made by make_voom_fixture.R with R limma
(see R_VERSION.txt); CI has no R, so this test only reads the CSVs. pylimma's ``voom`` (not
used by forge.normalise any more) is the independent oracle of the blockwise implementation.
"""

from __future__ import annotations

import runpy
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pylimma import voom as pylimma_voom

from forge import io as forge_io
from forge import normalise as normalize
from forge.io import read_parquet_matrix, write_parquet_matrix
from forge.normalise import voom_with_filters

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "voom"
ADAPTER = Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "voom_expression.py"


def simulated_counts(samples: int = 40, genes: int = 700, seed: int = 1) -> pd.DataFrame:
    """Negative-binomial counts with gene means over ~6 orders of magnitude, some genes all zero."""
    rng = np.random.default_rng(seed)
    mean = np.exp(rng.normal(0.0, 2.5, genes))
    mean[rng.random(genes) < 0.1] = 0.0
    library = rng.lognormal(0.0, 0.3, (samples, 1))
    rate = mean * library * rng.gamma(3.0, 1 / 3.0, (samples, genes))
    counts = rng.poisson(rate).astype(np.float64)
    return pd.DataFrame(
        counts,
        index=pd.Index([f"ACH-{i:06d}" for i in range(samples)], name="ModelID"),
        columns=[f"G{j:04d}" for j in range(genes)],
    )


def pylimma_reference(counts: pd.DataFrame, library_size=None) -> tuple[np.ndarray, np.ndarray]:
    """pylimma's voom as forge called it before (samples × genes E and weights)."""
    lib = None if library_size is None else np.asarray(library_size, dtype=np.float64)
    result = pylimma_voom(counts.to_numpy(dtype=np.float64).T, design=None, lib_size=lib, adaptive_span=False)
    return result["E"].T, result["weights"].T


@pytest.fixture(scope="module")
def r_voom() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Counts, E and weights as samples × genes (the R files are genes × samples)."""
    counts = pd.read_csv(FIXTURES / "counts.csv", index_col=0).T
    expression = pd.read_csv(FIXTURES / "voom_E.csv", index_col=0, float_precision="round_trip").T
    weights = pd.read_csv(FIXTURES / "voom_weights.csv", index_col=0, float_precision="round_trip").T
    return counts, expression, weights


def test_voom_matches_r_limma(r_voom) -> None:
    counts, r_expression, r_weights = r_voom
    assert counts.shape == (12, 300)
    expression, weights = normalize.voom_logcpm(counts)
    assert expression.index.equals(counts.index) and expression.columns.equals(counts.columns)
    np.testing.assert_allclose(expression.to_numpy(), r_expression.to_numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(weights.to_numpy(), r_weights.to_numpy(), rtol=1e-6, atol=0)


@pytest.mark.parametrize("block_elements", [None, 3 * 40 + 7])  # default, and many ragged blocks
def test_voom_matches_pylimma(monkeypatch, block_elements) -> None:
    counts = simulated_counts()
    assert (counts.sum(axis=0) == 0).any()  # all-zero genes, left out of the trend fit
    if block_elements is not None:
        monkeypatch.setattr(normalize, "_VOOM_BLOCK_ELEMENTS", block_elements)
    expression, weights = normalize.voom_logcpm(counts)
    reference_e, reference_w = pylimma_reference(counts)
    # the same elementwise operations: equal bits here; a tolerance for other CPUs' log2 loops
    np.testing.assert_allclose(expression.to_numpy(), reference_e, rtol=1e-15, atol=0)
    np.testing.assert_allclose(weights.to_numpy(), reference_w, rtol=1e-11, atol=0)


def test_voom_matches_pylimma_with_library_sizes_and_r_fixture_counts(r_voom) -> None:
    counts, _, _ = r_voom
    library = counts.sum(axis=1) * 1.7 + 11  # library sizes not those of the matrix
    expression, weights = normalize.voom_logcpm(counts, library_size=library)
    reference_e, reference_w = pylimma_reference(counts, library)
    np.testing.assert_allclose(expression.to_numpy(), reference_e, rtol=1e-14, atol=0)
    np.testing.assert_allclose(weights.to_numpy(), reference_w, rtol=1e-11, atol=0)


def test_voom_arrays_edge_cases_as_pylimma() -> None:
    counts = simulated_counts(samples=1, genes=50)
    counts.iloc[0, :3] = 5.0
    with pytest.warns(UserWarning, match="no replication"):
        expression, weights = normalize.voom_intercept_arrays(counts.to_numpy(), counts.sum(axis=1).to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference_e, reference_w = pylimma_reference(counts)
    np.testing.assert_allclose(expression.T, reference_e, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(weights.T, reference_w)
    assert (weights == 1).all()
    # every gene all zero (library sizes from elsewhere): no trend can be fitted, both refuse
    zeros = np.zeros((4, 3))
    with pytest.raises(ValueError):
        normalize.voom_intercept_arrays(zeros, np.full(4, 100.0))
    with pytest.raises(ValueError):
        pylimma_voom(zeros.T, lib_size=np.full(4, 100.0), adaptive_span=False)


@pytest.mark.parametrize(
    "counts, message",
    [
        (pd.DataFrame([[1.0, 2.0]]), "at least 2 samples and 2 genes"),
        (pd.DataFrame([[1.0, np.nan], [2.0, 3.0]]), "finite, non-negative"),
        (pd.DataFrame([[1.0, np.inf], [2.0, 3.0]]), "finite, non-negative"),
        (pd.DataFrame([[0.0, 0.0], [2.0, 3.0]], index=["empty", "full"]), r"zero total counts.*'empty'"),
    ],
)
def test_voom_validation_errors(counts, message) -> None:
    with pytest.raises(ValueError, match=message):
        normalize.voom_logcpm(counts)


def test_voom_library_size_must_cover_samples() -> None:
    counts = simulated_counts(samples=4, genes=10)
    with pytest.raises(ValueError, match="lacks some samples"):
        normalize.voom_logcpm(counts, library_size=counts.sum(axis=1).iloc[1:])


@pytest.fixture(scope="module")
def adapter() -> dict:
    return runpy.run_path(str(ADAPTER), run_name="voom_expression_adapter")


def test_batched_read_equals_read_parquet_matrix(tmp_path) -> None:
    counts = simulated_counts(samples=30, genes=230)
    counts.iloc[3, 5] = np.nan  # a null cell reads back as NaN both ways
    path = tmp_path / "counts.parquet"
    write_parquet_matrix(counts, path)
    expected = read_parquet_matrix(path)
    for batch in (1, 7, 100, 229, 230):  # 230: one batch, read whole by read_parquet_matrix
        got = forge_io.read_parquet_matrix_batched(path, batch_columns=batch)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert got.index.name == "ModelID" and got.columns.dtype == expected.columns.dtype
    # a default index (no name) and integer counts take read_parquet_matrix's own path
    write_parquet_matrix(counts.reset_index(drop=True).fillna(0).astype(np.int64), path)
    pd.testing.assert_frame_equal(forge_io.read_parquet_matrix_batched(path, batch_columns=7), read_parquet_matrix(path))


def test_nocopy_write_is_byte_identical_to_write_parquet_matrix(tmp_path, monkeypatch) -> None:
    expression, weights = normalize.voom_logcpm(simulated_counts(samples=30, genes=230))
    for frame in (expression, weights, expression.rename(index=str.lower).rename_axis(None)):
        reference, fast = tmp_path / "reference.parquet", tmp_path / "fast.parquet"
        write_parquet_matrix(frame, reference)
        with monkeypatch.context() as patch:  # the copy-free path, not the fallback
            patch.setattr(forge_io, "write_parquet_matrix", None)
            forge_io.write_parquet_matrix_nocopy(frame, fast)
        assert fast.read_bytes() == reference.read_bytes()
    # other frames are written by write_parquet_matrix itself
    mixed = expression.iloc[:, :3].assign(label="x")
    forge_io.write_parquet_matrix_nocopy(mixed, fast)
    write_parquet_matrix(mixed, reference)
    assert fast.read_bytes() == reference.read_bytes()


def test_rule_outputs_equal_voom_written_by_write_parquet_matrix(adapter, tmp_path, monkeypatch) -> None:
    counts = simulated_counts(samples=25, genes=300)
    write_parquet_matrix(counts, tmp_path / "counts.parquet")
    monkeypatch.setattr(forge_io.read_parquet_matrix_batched, "__defaults__", (64,))  # batched read, 5 batches
    smk = SimpleNamespace(
        input=SimpleNamespace(counts=str(tmp_path / "counts.parquet")),
        output=SimpleNamespace(
            expression=str(tmp_path / "expression.parquet"),
            weights=str(tmp_path / "weights.parquet"),
            dropped_genes=str(tmp_path / "dropped.tsv"),
        ),
        params=SimpleNamespace(gene_universe=""),
        log=[str(tmp_path / "voom.log")],
    )
    adapter["main"](smk)
    expression, weights = normalize.voom_logcpm(read_parquet_matrix(tmp_path / "counts.parquet"))
    write_parquet_matrix(expression, tmp_path / "expected_expression.parquet")
    write_parquet_matrix(weights, tmp_path / "expected_weights.parquet")
    for name in ("expression", "weights"):
        assert (tmp_path / f"{name}.parquet").read_bytes() == (tmp_path / f"expected_{name}.parquet").read_bytes()
    reference_e, reference_w = pylimma_reference(counts)
    np.testing.assert_allclose(read_parquet_matrix(smk.output.expression).to_numpy(), reference_e, rtol=1e-15)
    np.testing.assert_allclose(read_parquet_matrix(smk.output.weights).to_numpy(), reference_w, rtol=1e-11)


def test_adaptive_span_would_not_match_r(r_voom) -> None:
    """Documents the trap: pylimma's default adaptive_span=True gives different weights."""
    from pylimma import voom

    counts, _, r_weights = r_voom
    default = voom(counts.to_numpy(dtype=float).T)
    assert np.max(np.abs(default["weights"].T / r_weights.to_numpy() - 1)) > 1e-3


def test_voom_with_filters_keeps_library_size_of_all_genes(r_voom) -> None:
    counts, r_expression, _ = r_voom
    universe = list(counts.columns[:200])
    expression, weights, dropped = voom_with_filters(counts, gene_universe=universe)
    assert list(expression.columns) == universe and dropped["not_in_universe"] == list(counts.columns[200:])
    # log-CPM uses the unfiltered library sizes, so E equals R's E on the kept genes.
    np.testing.assert_allclose(expression.to_numpy(), r_expression[universe].to_numpy(), atol=1e-8)
    _, _, dropped = voom_with_filters(counts, min_count=10, min_samples=3)
    assert "GENE031" in dropped["low_expression"]  # the all-zero gene


def test_voom_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        normalize.voom_logcpm(pd.DataFrame([[1, -1], [2, 3]]))


def test_scaling_uses_reference_only_and_handles_zero_sd() -> None:
    train = pd.DataFrame({"A": [1.0, 2.0, 3.0], "B": [5.0, 5.0, 5.0]}, index=["t1", "t2", "t3"])
    test = pd.DataFrame({"B": [6.0], "A": [4.0], "C": [0.0]}, index=["x1"])
    mean, sd = normalize.fit_scaling(train)
    assert mean.to_dict() == {"A": 2.0, "B": 5.0}
    assert sd["A"] == pytest.approx(1.0) and sd["B"] == 1.0  # zero sd → 1
    assert sd.attrs["zero_sd_genes"] == ["B"] == normalize.zero_sd_genes(train)
    scaled = normalize.zscore(test, mean, sd)
    assert list(scaled.columns) == ["A", "B"]
    assert scaled.loc["x1"].tolist() == pytest.approx([2.0, 1.0])
    with pytest.raises(KeyError):
        normalize.zscore(test.drop(columns="A"), mean, sd)


def test_filter_genes() -> None:
    matrix = pd.DataFrame([[1, 2, 3]], columns=["A", "B", "C"])
    kept, dropped = normalize.filter_genes(matrix, {"C", "A", "Z"})
    assert list(kept.columns) == ["A", "C"] and dropped == ["B"]
