"""voom against R limma fixtures, and z-scoring against an explicit reference set.

The fixtures in tests/fixtures/voom/ were made by make_voom_fixture.R with R limma
(see R_VERSION.txt); CI has no R, so this test only reads the CSVs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


from forge import normalise as normalize
from forge.normalise import voom_with_filters

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "voom"


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
