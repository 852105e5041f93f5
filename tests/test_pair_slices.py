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
    from_cohort = load_pair(SimpleNamespace(expression=cohort.expression, dependency=cohort.dependency,
                                            response=cohort.response), PAIR)
    slices = SimpleNamespace(expression=cohort.tmp / "pair_expression.parquet",
                             outputs=cohort.tmp / "pair_observed.parquet")
    write_pair_slices(expression, dependency, response, PAIR, genes, slices.expression, slices.outputs)
    from_slices = load_pair(slices, PAIR)

    pd.testing.assert_frame_equal(from_slices.outputs, from_cohort.outputs, check_exact=True)
    pd.testing.assert_series_equal(from_slices.split, from_cohort.split)
    pd.testing.assert_frame_equal(from_slices.expression, from_cohort.expression[genes], check_exact=True)
    assert len(from_cohort.outputs) > 20 and from_cohort.outputs["GEFITINIB_ic50"].isna().any()

    # the observed slice keeps every measured sample (the analysis stage uses lines with a
    # dependency but no IC50) and the expression slice every sample with expression
    observed = read_parquet_matrix(slices.outputs)
    measured = dependency["EGFR"].dropna().index
    assert set(measured) <= set(observed.index)
    assert set(observed["EGFR_dependency"].dropna().index) == set(measured)
    assert len(set(measured) - set(from_cohort.outputs.index)) > 0
    assert read_parquet_matrix(slices.expression).index.equals(expression.index)


def test_column_projection_reads_the_same_values(cohort) -> None:
    full = read_parquet_matrix(cohort.expression)
    projected = read_parquet_matrix(cohort.expression, columns=["G5", "EGFR", "G1"])
    pd.testing.assert_frame_equal(projected, full[["G5", "EGFR", "G1"]], check_exact=True)
    assert projected.index.name == "ModelID"
    with pytest.raises(InputFormatError, match=r"expression.parquet: 1 requested columns are not in the matrix.*NOPE"):
        read_parquet_matrix(cohort.expression, columns=["G1", "NOPE"])
