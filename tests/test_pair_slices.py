"""Per-pair slices of the cohort (issue 12): a pair's jobs read its slices, not the cohort's
matrices, with the same data to the bit; Parquet column projection reads only what is asked."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from forge.io import InputFormatError, read_parquet_matrix, write_parquet_matrix
from forge.modelling.pair_data import load_pair, write_pair_slices

PAIR = {"name": "EGFR_ERLOTINIB", "target": "EGFR", "drug": "ERLOTINIB", "extra_drugs": ["GEFITINIB"],
        "control": False}


@pytest.fixture()
def cohort(tmp_path):
    rng = np.random.default_rng(7)
    samples = [f"ACH-{i:06d}" for i in range(60)]
    genes = [f"G{i}" for i in range(40)] + ["EGFR"]
    expression = pd.DataFrame(rng.normal(size=(55, len(genes))), index=samples[:55], columns=genes)
    dependency = pd.DataFrame(rng.uniform(size=(55, 3)), index=samples[5:], columns=["EGFR", "BRAF", "KRAS"])
    dependency.iloc[::7, 0] = np.nan  # some lines unmeasured for the target
    response = pd.DataFrame(rng.normal(size=(45, 3)), index=samples[::-1][:45],
                            columns=["ERLOTINIB", "GEFITINIB", "DABRAFENIB"])
    response.iloc[::5, 1] = np.nan  # the extra drug measured on fewer lines
    for frame in (expression, dependency, response):
        frame.index.name = "ModelID"
    paths = {}
    for name, frame in dict(expression=expression, dependency=dependency, response=response).items():
        paths[name] = tmp_path / f"{name}.parquet"
        write_parquet_matrix(frame, paths[name])
    return SimpleNamespace(**paths, frames=(expression, dependency, response), tmp=tmp_path)


def test_pair_from_slices_equals_pair_from_the_cohort(cohort) -> None:
    expression, dependency, response = cohort.frames
    genes = ["G3", "EGFR", "G17", "G0"]
    from_cohort = load_pair(dict(expression=cohort.expression, dependency=cohort.dependency,
                                 response=cohort.response), PAIR)
    slices = dict(expression=cohort.tmp / "pair_expression.parquet", outputs=cohort.tmp / "pair_observed.parquet")
    write_pair_slices(expression, dependency, response, PAIR, genes, slices["expression"], slices["outputs"])
    from_slices = load_pair(slices, PAIR)

    pd.testing.assert_frame_equal(from_slices.outputs, from_cohort.outputs, check_exact=True)
    pd.testing.assert_series_equal(from_slices.split, from_cohort.split)
    pd.testing.assert_frame_equal(from_slices.expression, from_cohort.expression[genes], check_exact=True)
    assert len(from_cohort.outputs) > 20 and from_cohort.outputs["GEFITINIB_ic50"].isna().any()

    # the observed slice keeps every measured sample (the analysis stage uses lines with a
    # dependency but no IC50) and the expression slice every sample with expression
    observed = read_parquet_matrix(slices["outputs"])
    measured = dependency["EGFR"].dropna().index
    assert set(measured) <= set(observed.index)
    assert set(observed["EGFR_dependency"].dropna().index) == set(measured)
    assert len(set(measured) - set(from_cohort.outputs.index)) > 0
    assert read_parquet_matrix(slices["expression"]).index.equals(expression.index)


def test_column_projection_reads_the_same_values(cohort) -> None:
    full = read_parquet_matrix(cohort.expression)
    projected = read_parquet_matrix(cohort.expression, columns=["G5", "EGFR", "G1"])
    pd.testing.assert_frame_equal(projected, full[["G5", "EGFR", "G1"]], check_exact=True)
    assert projected.index.name == "ModelID"
    with pytest.raises(InputFormatError, match=r"expression.parquet: 1 requested columns are not in the matrix.*NOPE"):
        read_parquet_matrix(cohort.expression, columns=["G1", "NOPE"])


# --- the cohort expression as a memory-mapped array with per-gene sort orders ---------------
def _tied_matrix(rng, n=120, genes=30):
    """Columns with many ties (rounded values, repeated zeros like unexpressed genes), a few
    NaN, a constant column and an all-NaN column."""
    values = np.round(rng.normal(size=(n, genes)), 1)
    values[rng.random((n, genes)) < 0.3] = 0.0
    values[rng.random((n, genes)) < 0.03] = np.nan
    values[:, 3] = 2.5
    values[:, 4] = np.nan
    values[5, 6] = -0.0  # equal to 0.0: one tie group
    return values


@pytest.mark.parametrize("n_rows", [1, 2, 37, 119, 120])
def test_subset_average_ranks_equal_pandas_rank(n_rows) -> None:
    from forge.modelling.model import subset_average_ranks

    rng = np.random.default_rng(n_rows)
    values = _tied_matrix(rng)
    order = np.argsort(values, axis=0, kind="stable").astype(np.int16).T
    rows = rng.choice(values.shape[0], n_rows, replace=False)  # any order, not sorted
    expected = pd.DataFrame(values[rows]).rank(axis=0).to_numpy()
    for block in (1, 7, 512):
        got = subset_average_ranks(np.asfortranarray(values), order, rows, block=block)
        np.testing.assert_array_equal(got, expected)
    # a C-ordered matrix and a wider position type give the same ranks
    np.testing.assert_array_equal(subset_average_ranks(values, order.astype(np.int64), rows), expected)


def test_subset_average_ranks_refuse_a_foreign_order() -> None:
    from forge.modelling.model import subset_average_ranks

    values = np.zeros((5, 3))
    with pytest.raises(ValueError, match=r"rank_order has shape \(5, 3\), expected \(3, 5\)"):
        subset_average_ranks(values, np.zeros((5, 3), dtype=np.int16), np.arange(3))


def test_gene_selection_from_the_cohort_orders_is_bit_identical() -> None:
    from forge.modelling.model import select_correlated_genes, subset_average_ranks

    rng = np.random.default_rng(3)
    values = _tied_matrix(rng, n=200, genes=60)
    values[:, 4] = rng.normal(size=200)  # keep NaN in a few genes only
    expression = pd.DataFrame(values, index=[f"S{i}" for i in range(200)], columns=[f"G{i}" for i in range(60)])
    train = expression.index[rng.random(200) < 0.8]
    targets = pd.DataFrame({"dependency": rng.normal(size=len(train)), "ic50": rng.normal(size=len(train))},
                           index=train)
    order = np.argsort(values, axis=0, kind="stable").astype(np.int16).T
    ranks = subset_average_ranks(np.asfortranarray(values), order, expression.index.get_indexer(train))
    plain = select_correlated_genes(expression.loc[train], targets, 10, ["G5"])
    fast = select_correlated_genes(expression.loc[train], targets, 10, ["G5"], ranks=ranks)
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    with pytest.raises(ValueError, match="ranks have shape"):
        select_correlated_genes(expression.loc[train], targets, 10, ranks=ranks[1:])


def test_matrix_array_round_trip_equals_the_parquet_matrix(cohort) -> None:
    from forge.io import MatrixArray, write_matrix_array

    expression = cohort.frames[0].copy()
    expression.iloc[3, 2] = np.nan
    write_parquet_matrix(expression, cohort.expression)
    write_matrix_array(read_parquet_matrix(cohort.expression), cohort.tmp / "array")
    array = MatrixArray(cohort.tmp / "array")
    from_parquet = read_parquet_matrix(cohort.expression)
    pd.testing.assert_frame_equal(array.frame(), from_parquet, check_exact=True)
    pd.testing.assert_frame_equal(array.frame(["G7", "EGFR"]), read_parquet_matrix(cohort.expression, ["G7", "EGFR"]),
                                  check_exact=True)
    assert array.values.flags.f_contiguous and not array.values.flags.writeable
    # sort orders: ascending per gene, NaN last
    column = array.values[:, 2]
    ordered = column[array.rank_order[2]]
    assert np.isnan(ordered[-1]) and np.all(np.diff(ordered[:-1]) >= 0)
    # the whole-matrix frame is a view of the map, not a copy
    assert np.shares_memory(array.frame().to_numpy(), array.values)
    with pytest.raises(InputFormatError, match=r"array.*2 requested columns are not in the matrix.*'NOPE'"):
        array.frame(["G1", "NOPE", "NOPE2"])
    assert not list((cohort.tmp / "array").glob(".*tmp*"))


def test_matrix_array_refuses_damaged_files(cohort) -> None:
    import json

    from forge.io import MatrixArray, write_matrix_array

    directory = cohort.tmp / "array"
    write_matrix_array(cohort.frames[0], directory)
    index_path = directory / "index.json"
    index = json.loads(index_path.read_text())
    index["shape"] = [54, 41]
    index_path.write_text(json.dumps(index))
    with pytest.raises(InputFormatError, match=r"index.json: 'shape' \[54, 41\] does not match 55 samples × 41"):
        MatrixArray(directory)
    index["shape"] = [55, 41]
    index.pop("format")
    index_path.write_text(json.dumps(index))
    with pytest.raises(InputFormatError, match=r"index.json: key 'format' is None, expected 'forge-matrix-array/1'"):
        MatrixArray(directory)
    write_matrix_array(cohort.frames[0], directory)
    values = directory / "values.npy"
    values.write_bytes(values.read_bytes()[:200])  # truncated
    with pytest.raises(InputFormatError, match=r"values.npy: not a readable .npy array"):
        MatrixArray(directory)
    np.save(values, np.zeros((55, 40)))
    with pytest.raises(InputFormatError, match=r"values.npy: array of shape \(55, 40\).*expected \(55, 41\)"):
        MatrixArray(directory)
