"""Tests for forge.sources.harmonise, including a check on real CREAMMIST and DepMap names."""

from __future__ import annotations


import pandas as pd


from forge.sources import harmonise
from forge.sources import parsers
from shared_data import REAL, requires_real_data


def models_table(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["ModelID", "CellLineName", "StrippedCellLineName", "RRID"])


def test_normalise_cell_line_name() -> None:
    assert harmonise.normalise_cell_line_name("NCI-H1975") == "NCIH1975"
    assert harmonise.normalise_cell_line_name(" a-549 ") == "A549"
    assert harmonise.normalise_cell_line_name("T.T") == "TT"
    assert harmonise.normalise_cell_line_name(float("nan")) == ""


def test_rrid_beats_name() -> None:
    models = models_table([
        ("ACH-1", "ABC-1", "ABC1", "CVCL_AAAA"),
        ("ACH-2", "ABC-1 clone", "ABC1CLONE", "CVCL_BBBB"),
    ])
    mapping, dropped = harmonise.map_cell_lines(["ABC-1"], models, {"ABC-1": "CVCL_BBBB"})
    assert mapping.values.tolist() == [["ABC-1", "ACH-2", "rrid"]]
    assert dropped.empty


def test_unknown_rrid_falls_back_to_name() -> None:
    models = models_table([("ACH-1", "ABC-1", "ABC1", "")])
    mapping, _ = harmonise.map_cell_lines(["ABC-1"], models, {"ABC-1": "CVCL_ZZZZ"})
    assert mapping.values.tolist() == [["ABC-1", "ACH-1", "name"]]


def test_collisions_are_ambiguous_unless_rrid_resolves() -> None:
    # DepMap spells colliding stripped names out (KMHDASH2), so the CellLineName reveals them.
    models = models_table([
        ("ACH-815", "KM-H2", "KMH2", "CVCL_1330"),
        ("ACH-2397", "KMH-2", "KMHDASH2", "CVCL_S641"),
    ])
    mapping, dropped = harmonise.map_cell_lines(["KM-H2", "KMH-2"], models)
    assert mapping.empty
    assert dropped["reason"].tolist() == ["ambiguous_name", "ambiguous_name"]
    assert all("ACH-2397" in d and "ACH-815" in d for d in dropped["detail"])

    mapping, dropped = harmonise.map_cell_lines(["KM-H2", "KMH-2"], models, {"KMH-2": "CVCL_S641"})
    assert mapping.values.tolist() == [["KMH-2", "ACH-2397", "rrid"]]
    assert dropped[["source_name", "reason"]].values.tolist() == [["KM-H2", "ambiguous_name"]]


def test_shared_rrid_is_resolved_by_name_or_reported() -> None:
    models = models_table([("ACH-1", "X-1", "X1", "CVCL_0001"), ("ACH-2", "X-1R", "X1R", "CVCL_0001")])
    mapping, dropped = harmonise.map_cell_lines(["X-1R", "Y"], models, {"X-1R": "CVCL_0001", "Y": "CVCL_0001"})
    assert mapping.values.tolist() == [["X-1R", "ACH-2", "rrid+name"]]
    assert dropped[["source_name", "reason"]].values.tolist() == [["Y", "ambiguous_rrid"]]


def test_unmapped_reported() -> None:
    models = models_table([("ACH-1", "A-549", "A549", "CVCL_0023")])
    mapping, dropped = harmonise.map_cell_lines(["A-549", "NOPE-1", ""], models)
    assert mapping["source_name"].tolist() == ["A-549"]
    assert dropped[["source_name", "reason"]].values.tolist() == [["NOPE-1", "no_match"], ["", "no_match"]]


def test_resolve_duplicate_models_keeps_first_by_sort_order() -> None:
    mapping = pd.DataFrame(
        [("NCIH1975", "ACH-2", "name"), ("NCI-H1975", "ACH-2", "name"), ("A-549", "ACH-1", "rrid")],
        columns=harmonise.MAPPING_COLUMNS,
    )
    kept, dropped = harmonise.resolve_duplicate_models(mapping)
    assert kept["source_name"].tolist() == ["NCI-H1975", "A-549"]
    assert dropped[["source_name", "reason"]].values.tolist() == [["NCIH1975", "duplicate_model"]]


def test_map_gene_symbols() -> None:
    synonyms = pd.DataFrame(
        {"alias": ["CTGF", "TMEM8A", "AMBIG", "AMBIG", "ERBB1"], "official_symbol": ["CCN2", "PGAP6", "G1", "G2", "EGFR"]}
    )
    mapped, report = harmonise.map_gene_symbols(["CTGF", "EGFR", "TMEM8A", "AMBIG", "FOO", "ERBB1"], synonyms,
                                                reference=["CCN2", "EGFR", "PGAP6"])
    assert mapped == ["CCN2", "EGFR", "PGAP6", "AMBIG", "FOO", "EGFR"]
    reasons = dict(zip(report["symbol"], report["reason"]))
    assert reasons == {"AMBIG": "ambiguous_alias", "FOO": "not_in_reference", "ERBB1": "collides_with_existing"}


def test_rename_gene_columns_keeps_current_symbol_on_collision() -> None:
    synonyms = pd.DataFrame({"alias": ["ERBB1"], "official_symbol": ["EGFR"]})
    matrix = pd.DataFrame([[1, 2, 3]], columns=["ERBB1", "EGFR", "CTGF"])
    renamed, report = harmonise.rename_gene_columns(matrix, synonyms)
    assert list(renamed.columns) == ["EGFR", "CTGF"] and renamed.iloc[0].tolist() == [2, 3]
    assert report["reason"].tolist() == ["collides_with_existing"]


# ---------------------------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------------------------


@requires_real_data
def test_real_creammist_names_map_to_depmap_models() -> None:
    assert REAL is not None
    ic50, _ = parsers.read_ic50(REAL / "creammist" / "creammist_ic50_184drugs.csv")
    models, _ = parsers.read_models(REAL / "depmap" / "Model_24Q2.csv")
    mapping, dropped = harmonise.map_cell_lines(list(ic50.index), models)
    kept, duplicates = harmonise.resolve_duplicate_models(mapping)
    assert len(kept) >= 1150, f"only {len(kept)} CREAMMIST cell lines mapped to distinct models"
    assert kept["ModelID"].is_unique
    # Every source name is accounted for exactly once.
    assert len(mapping) + len(dropped) == ic50.shape[0]
    assert set(mapping["source_name"]).isdisjoint(dropped["source_name"])

    # Every CREAMMIST name whose normalised form belongs to two or more models must be reported as
    # ambiguous, never mapped (e.g. T.T vs TT, KMH-2 vs KM-H2, MS-1 vs MS1).
    owners: dict[str, set[str]] = {}
    for column in ("StrippedCellLineName", "CellLineName"):
        for model_id, name in zip(models["ModelID"], models[column]):
            if key := harmonise.normalise_cell_line_name(name):
                owners.setdefault(key, set()).add(model_id)
    colliding = {n for n in ic50.index if len(owners.get(harmonise.normalise_cell_line_name(n), ())) > 1}
    assert colliding, "expected some name collisions in the real data"
    ambiguous = set(dropped.loc[dropped["reason"] == "ambiguous_name", "source_name"])
    assert colliding == ambiguous
    assert {"T.T", "TT", "KMH-2", "KM-H2"} <= ambiguous
