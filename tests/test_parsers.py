"""Tests for forge.sources.parsers, forge.io and the build_cohort library function."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest


from forge.sources import parsers
from forge.sources.cohort import build_cohort, write_cohort
from forge.io import (
    InputFormatError,
    atomic_write,
    read_parquet_matrix,
    require_columns,
    write_parquet_matrix,
    write_tsv,
)

MODEL_HEADER = "ModelID,PatientID,CellLineName,StrippedCellLineName,OncotreeLineage,OncotreePrimaryDisease,RRID\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def raw_files(tmp_path: Path) -> dict[str, Path]:
    """A tiny but complete set of raw inputs in the real formats."""
    files = {
        "counts": write(
            tmp_path / "OmicsExpressionRNASeQCGeneCountProfile.csv",
            ",EGFR (ENSG00000146648),TP53 (ENSG00000141510),EGFR (ENSG99999999999),KRAS (ENSG00000133703)\n"
            "PR-001,10,20,1,30\n"
            "PR-002,11,21,2,31\n"
            "PR-003,12,22,3,32\n"
            "PR-004,13.0,23.0,4.0,33.0\n"
            "PR-005,14,24,5,34\n"
            "PR-006,15,25,6,35\n"
            "PR-999,16,26,7,36\n",
        ),
        "profiles": write(
            tmp_path / "OmicsProfiles.csv",
            "ProfileID,ModelConditionID,ModelID,Datatype,IsDefaultEntryForModel,Source\n"
            "PR-001,MC-1,ACH-000001,rna,Yes,Broad\n"
            "PR-002,MC-1,ACH-000001,rna,No,Broad\n"  # non-default duplicate
            "PR-004,MC-2,ACH-000002,rna,No,Broad\n"
            "PR-003,MC-2,ACH-000002,rna,No,Sanger\n"  # no default: first by ProfileID (PR-003)
            "PR-005,MC-3,ACH-000003,wgs,Yes,Broad\n"  # not RNA
            "PR-006,MC-4,ACH-000004,rna,Yes,Broad\n",
        ),
        "models": write(
            tmp_path / "Model.csv",
            MODEL_HEADER
            + "ACH-000001,PT-1,A-549,A549,Lung,NSCLC,CVCL_0023\n"
            + "ACH-000002,PT-2,NCI-H1975,NCIH1975,Lung,NSCLC,CVCL_1511\n"
            + "ACH-000003,PT-3,HCC827,HCC827,Lung,NSCLC,CVCL_2063\n"
            + "ACH-000004,PT-4,PC-9,PC9,Lung,NSCLC,\n",
        ),
        "dependency": write(
            tmp_path / "CRISPRGeneDependency.csv",
            ",EGFR (1956),TP53 (7157)\n"
            "ACH-000001,0.1,0.5\n"
            "ACH-000002,0.9,\n"
            "ACH-000003,0.95,0.2\n"
            "ACH-009999,0.3,0.3\n",
        ),
        "ic50": write(
            tmp_path / "creammist_ic50.csv",
            "drug,A-549,NCI-H1975,NCIH1975,HCC-827,UNKNOWN-1\n"
            "ERLOTINIB,2.5,1.0,1.1,-1.5,3\n"
            "gefitinib,2.4,,0.9,-1.2,\n",
        ),
        "drug_targets": write(
            tmp_path / "drug_targets.csv",
            'Drug,Target\nERLOTINIB,EGFR\nGefitinib,"EGFR, ERBB2"\nNOTARGET,\n',
        ),
        "creammist_cell_lines": write(
            tmp_path / "creammist_cell_lines.csv",
            "cell_line_name,cellosaurus_index\nA-549,CVCL_0023\nNCI-H1975,\nHCC-827,CVCL_2063\n",
        ),
    }
    return files


# ---------------------------------------------------------------------------------------------
# Gene suffixes and matrices
# ---------------------------------------------------------------------------------------------


def test_strip_gene_suffixes_keeps_first_duplicate_and_reports() -> None:
    labels = ["EGFR (ENSG00000146648)", "TP53 (7157)", "EGFR (ENSG99999999999)", "PLAIN", " (ENSG00000000001)"]
    symbols, dropped = parsers.strip_gene_suffixes(labels, "x.csv")
    assert symbols == ["EGFR", "TP53", None, "PLAIN", None]
    assert dropped["reason"].tolist() == ["duplicate_symbol", "no_symbol"]
    assert dropped["item"].tolist() == ["EGFR (ENSG99999999999)", " (ENSG00000000001)"]
    assert "EGFR (ENSG00000146648)" in dropped["detail"].iloc[0]


def test_counts_matrix_strips_suffixes_and_keeps_first_duplicate(raw_files: dict[str, Path]) -> None:
    counts, dropped = parsers.read_counts_matrix(raw_files["counts"])
    assert list(counts.columns) == ["EGFR", "TP53", "KRAS"]
    assert counts.index.name == "ProfileID"
    assert counts.loc["PR-001", "EGFR"] == 10  # first EGFR column, not the duplicate
    assert counts.dtypes.eq(np.float64).all()
    assert dropped["reason"].tolist() == ["duplicate_symbol"]


def test_dependency_reader(raw_files: dict[str, Path]) -> None:
    dependency, dropped = parsers.read_dependency(raw_files["dependency"])
    assert dependency.index.name == "ModelID"
    assert list(dependency.columns) == ["EGFR", "TP53"]
    assert np.isnan(dependency.loc["ACH-000002", "TP53"])
    assert dropped.empty


# ---------------------------------------------------------------------------------------------
# Profiles → models
# ---------------------------------------------------------------------------------------------


def test_default_profile_mapping(raw_files: dict[str, Path]) -> None:
    counts, dropped = parsers.read_counts(raw_files["counts"], raw_files["profiles"])
    assert counts.index.name == "ModelID"
    assert list(counts.index) == ["ACH-000001", "ACH-000002", "ACH-000004"]
    assert counts.loc["ACH-000001", "TP53"] == 20  # default profile PR-001
    assert counts.loc["ACH-000002", "TP53"] == 22  # no default: first by ProfileID = PR-003
    by_reason = dropped.groupby("reason")["item"].apply(sorted).to_dict()
    assert by_reason["no_default_profile"] == ["ACH-000002"]
    assert "PR-003" in dropped.loc[dropped["reason"] == "no_default_profile", "detail"].iloc[0]
    assert by_reason["non_selected_profile"] == ["PR-002", "PR-004"]
    assert by_reason["not_rna_profile"] == ["PR-005"]
    assert by_reason["profile_without_model"] == ["PR-999"]


# ---------------------------------------------------------------------------------------------
# Clear errors
# ---------------------------------------------------------------------------------------------


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "Model.csv", "ModelID,CellLineName,OncotreeLineage,OncotreePrimaryDisease,RRID\nACH-1,A,B,C,\n")
    with pytest.raises(InputFormatError) as err:
        parsers.read_models(path)
    assert "Model.csv" in str(err.value) and "StrippedCellLineName" in str(err.value)


def test_non_numeric_value_names_file_column_and_row(tmp_path: Path) -> None:
    path = write(tmp_path / "counts.csv", ",EGFR (ENSG1),TP53 (ENSG2)\nPR-1,1,2\nPR-2,abc,3\n")
    with pytest.raises(InputFormatError) as err:
        parsers.read_counts_matrix(path)
    message = str(err.value)
    assert "counts.csv" in message and "'EGFR (ENSG1)'" in message and "PR-2" in message and "abc" in message


def test_out_of_range_dependency_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "dep.csv", ",EGFR (1956)\nACH-1,1.5\n")
    with pytest.raises(InputFormatError, match=r"dep\.csv.*'EGFR'.*ACH-1"):
        parsers.read_dependency(path)


def test_non_numeric_ic50_names_drug_and_cell_line(tmp_path: Path) -> None:
    path = write(tmp_path / "ic50.csv", "drug,A-549,PC-9\nERLOTINIB,1.0,n.d.\n")
    with pytest.raises(InputFormatError, match=r"ic50\.csv.*'PC-9'.*ERLOTINIB.*n\.d\."):
        parsers.read_ic50(path)


def test_truncated_file_names_the_file(raw_files: dict[str, Path], tmp_path: Path) -> None:
    text = raw_files["counts"].read_text()
    truncated = write(tmp_path / "truncated_counts.csv", text[: len(text) // 2])  # cut mid-row
    with pytest.raises(InputFormatError, match="truncated_counts.csv"):
        parsers.read_counts_matrix(truncated)


def test_empty_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="empty.csv"):
        parsers.read_ic50(write(tmp_path / "empty.csv", ""))


def test_count_matrix_without_rows_is_refused(raw_files: dict[str, Path], tmp_path: Path) -> None:
    header = raw_files["counts"].read_text().splitlines()[0]
    with pytest.raises(InputFormatError, match="header_only.csv: the count matrix has a header but no profile rows"):
        parsers.read_counts_matrix(write(tmp_path / "header_only.csv", header + "\n"))


@pytest.mark.parametrize("key, reader, target", [
    ("models", "read_models", b"Lung"),
    ("profiles", "read_profiles", b"Broad"),
    ("drug_targets", "read_drug_targets", None),
])
def test_a_non_utf8_byte_in_a_text_table_is_refused(raw_files: dict[str, Path], tmp_path: Path, key: str,
                                                      reader: str, target: bytes | None) -> None:
    """One Latin-1 byte used to turn a whole column into missing values (lineages vanished silently)."""
    content = raw_files[key].read_bytes()
    lines = content.split(b"\n")
    line = lines[2]
    if target is None:
        target = line.split(b",")[-1] or line.split(b",")[0]
    lines[2] = line.replace(target, target[:-1] + b"\xe9", 1)  # e.g. "Lun\xe9": Latin-1, not UTF-8
    bad = tmp_path / f"latin1_{raw_files[key].name}"
    bad.write_bytes(b"\n".join(lines))
    with pytest.raises(InputFormatError, match=r"latin1_.*: line 3, column '.+': .* is not valid UTF-8"):
        getattr(parsers, reader)(bad)


def test_require_columns_message() -> None:
    with pytest.raises(InputFormatError, match=r"t\.csv.*'b'"):
        require_columns(pd.DataFrame({"a": [1]}), ["a", "b"], "t.csv")


# ---------------------------------------------------------------------------------------------
# Other readers
# ---------------------------------------------------------------------------------------------


def test_ic50_reader_transposes_and_uppercases(raw_files: dict[str, Path]) -> None:
    ic50, dropped = parsers.read_ic50(raw_files["ic50"])
    assert ic50.index.name == "cell_line_name"
    assert list(ic50.columns) == ["ERLOTINIB", "GEFITINIB"]
    assert ic50.loc["HCC-827", "GEFITINIB"] == -1.2
    assert np.isnan(ic50.loc["NCI-H1975", "GEFITINIB"])
    assert dropped.empty


def test_drug_targets_long_table(raw_files: dict[str, Path]) -> None:
    targets, dropped = parsers.read_drug_targets(raw_files["drug_targets"])
    assert targets.values.tolist() == [["ERLOTINIB", "EGFR"], ["GEFITINIB", "EGFR"], ["GEFITINIB", "ERBB2"]]
    assert dropped[["item", "reason"]].values.tolist() == [["NOTARGET", "no_target"]]


def test_creammist_cell_lines_skips_empty_rrids(raw_files: dict[str, Path]) -> None:
    rrids = parsers.read_creammist_cell_lines(raw_files["creammist_cell_lines"])
    assert rrids.to_dict() == {"A-549": "CVCL_0023", "HCC-827": "CVCL_2063"}


# ---------------------------------------------------------------------------------------------
# Atomic writes and parquet round-trips
# ---------------------------------------------------------------------------------------------


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out" / "table.tsv"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_atomic_write_keeps_previous_file_on_failure(tmp_path: Path) -> None:
    target = write(tmp_path / "table.tsv", "old\n")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_text("new")
            raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.tsv"]


def test_atomic_write_replaces_on_success(tmp_path: Path) -> None:
    target = tmp_path / "table.tsv"
    with atomic_write(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".table.tsv.tmp-")
        tmp.write_text("done")
    assert target.read_text() == "done"


def test_parquet_matrix_round_trip(tmp_path: Path) -> None:
    matrix = pd.DataFrame([[1.0, 2.0], [3.0, np.nan]], index=pd.Index(["ACH-1", "ACH-2"], name="ModelID"), columns=["EGFR", 7])
    write_parquet_matrix(matrix, tmp_path / "m.parquet")
    back = read_parquet_matrix(tmp_path / "m.parquet")
    assert back.index.name == "ModelID"
    assert list(back.columns) == ["EGFR", "7"]
    np.testing.assert_array_equal(back.to_numpy(), matrix.to_numpy())


# ---------------------------------------------------------------------------------------------
# build_cohort end to end on the tiny inputs
# ---------------------------------------------------------------------------------------------


def test_build_cohort_small(raw_files: dict[str, Path], tmp_path: Path) -> None:
    cohort = build_cohort(
        counts_path=raw_files["counts"],
        profiles_path=raw_files["profiles"],
        models_path=raw_files["models"],
        dependency_path=raw_files["dependency"],
        ic50_path=raw_files["ic50"],
        drug_targets_path=raw_files["drug_targets"],
        creammist_cell_lines_path=raw_files["creammist_cell_lines"],
    )
    # NCI-H1975 and NCIH1975 both map to ACH-000002: first by sort order kept.
    assert cohort.response.loc["ACH-000002", "ERLOTINIB"] == 1.0
    assert sorted(cohort.response.index) == ["ACH-000001", "ACH-000002", "ACH-000003"]
    creammist_map = cohort.id_mapping[cohort.id_mapping["source"] == "creammist_ic50.csv"].set_index("source_name")
    assert creammist_map.loc["A-549", "method"] == "rrid"
    assert creammist_map.loc["HCC-827", "method"] == "rrid"  # name alone (HCC827) would also work
    assert creammist_map.loc["NCI-H1975", "method"] == "name"
    dropped = cohort.dropped.set_index("item")
    assert dropped.loc["NCIH1975", "reason"] == "duplicate_model"
    assert dropped.loc["UNKNOWN-1", "reason"] == "no_match"
    assert dropped.loc["ACH-009999", "reason"] == "model_not_in_model_table"
    assert dropped.loc["PR-999", "reason"] == "profile_without_model"
    samples = cohort.samples.set_index("ModelID")
    assert samples.loc["ACH-000004", ["has_expression", "has_dependency", "has_response"]].tolist() == [True, False, False]

    outputs = SimpleNamespace(
        **{name: tmp_path / "processed" / f"{name}.{ext}" for name, ext in [
            ("counts", "parquet"), ("dependency", "parquet"), ("response", "parquet"), ("drug_targets", "tsv"),
            ("samples", "tsv"), ("id_mapping", "tsv"), ("dropped", "tsv"), ("gene_mapping", "tsv")]}
    )
    write_cohort(cohort, vars(outputs))
    counts = read_parquet_matrix(outputs.counts)
    assert counts.index.name == "ModelID" and list(counts.columns) == ["EGFR", "TP53", "KRAS"]
    assert list(pd.read_csv(outputs.samples, sep="\t").columns) == [
        "ModelID", "CellLineName", "StrippedCellLineName", "OncotreeLineage", "OncotreePrimaryDisease", "RRID",
        "has_expression", "has_dependency", "has_response",
    ]
    assert list(pd.read_csv(outputs.dropped, sep="\t").columns) == ["source", "item", "reason", "detail"]
    assert list(pd.read_csv(outputs.id_mapping, sep="\t").columns) == ["source", "source_name", "ModelID", "method"]
    write_tsv(pd.DataFrame({"a": [1]}), tmp_path / "x.tsv")
    assert not [p for p in (tmp_path / "processed").iterdir() if p.name.startswith(".")]


def test_mixed_integer_and_decimal_counts_parse(tmp_path: Path) -> None:
    # Explicit float64 column types: no per-block type inference that could reject "1.5" after ints.
    rows = "".join(f"PR-{i},{i},{i}\n" for i in range(2000)) + "PR-x,1.5,2.0\n"
    path = write(tmp_path / "c.csv", ",A (ENSG1),B (ENSG2)\n" + rows)
    # the decimal after 2,000 integers reaches the whole-number check (refused by default, naming it) ...
    with pytest.raises(InputFormatError, match="PR-x"):
        parsers.read_counts_matrix(path)
    # ... and is rounded (half to even) only when asked to
    counts, _ = parsers.read_counts_matrix(path, non_integer="round")
    assert counts.loc["PR-x", "A"] == 2.0 and counts.loc["PR-1999", "A"] == 1999.0


def test_gzip_input_is_read(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "syn.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("alias,official_symbol\nCTGF,CCN2\n")
    assert parsers.read_symbol_synonyms(path).values.tolist() == [["CTGF", "CCN2"]]
