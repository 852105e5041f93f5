"""Cohort building: gene symbols mapped to current ones, with a per-dataset report."""

from __future__ import annotations

import pandas as pd

from forge.sources.cohort import map_matrix_symbols


def test_matrix_symbols_are_mapped_and_reported() -> None:
    synonyms = pd.DataFrame(
        {"alias": ["CTGF", "TMEM8A", "OLD1"], "official_symbol": ["CCN2", "PGAP6", "EGFR"]}
    )
    matrix = pd.DataFrame([[1.0, 2.0, 3.0, 4.0, 5.0]], columns=["CTGF", "TMEM8A", "EGFR", "OLD1", "MYSTERY"])
    renamed, table = map_matrix_symbols(matrix, synonyms, "counts.csv")
    assert list(renamed.columns) == ["CCN2", "PGAP6", "EGFR", "MYSTERY"]
    assert renamed.iloc[0].tolist() == [1.0, 2.0, 3.0, 5.0]  # the current EGFR column is kept
    status = table.set_index("symbol")["status"].to_dict()
    assert status == {
        "CTGF": "renamed",
        "TMEM8A": "renamed",
        "MYSTERY": "not_in_synonym_table",
        "OLD1": "collides_with_existing",
    }
    assert set(table["dataset"]) == {"counts.csv"}
    assert table.set_index("symbol").loc["CTGF", "mapped_to"] == "CCN2"
