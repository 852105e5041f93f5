"""PDX (Gao et al. 2015) processing: readers, FPKM → pseudo-counts, response tables, rule.

Unit tests on small hand-made tables, one real Snakemake run on the demo (shared
``small_run`` fixture) and real-data checks on ``../shared/data/real`` (skipped when absent).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from conftest import REPO, copy_workflow, run_snakemake
from shared_data import REAL, requires_real_data

from forge.sources import parsers
from forge.external import pdx
from forge.external.pdx import process_pdx_files
from forge.config import ConfigError, validate_config
from forge.io import InputFormatError, read_parquet_matrix

OUTPUT_KEYS = ("pseudocounts", "expression", "response", "sensitivity", "gene_mapping", "dropped")
PDX_OUT = Path("resources/processed/demo/pdx")  # the default config's run
SMALL_PDX_OUT = Path("resources/processed/small/pdx")  # the shared run's (config/small.yaml)
PDX_FILES = ("pseudocounts.parquet", "expression.parquet", "response.tsv", "sensitivity.tsv",
             "gene_mapping.tsv", "dropped.tsv")


# --------------------------------------------------------------------------------------
# Small synthetic inputs
# --------------------------------------------------------------------------------------


def small_sheets(n_models: int = 4, n_genes: int = 6, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Three sheets with n NSCLC erlotinib models (the last without FPKM) and one CRC model."""
    rng = np.random.default_rng(seed)
    models = [f"X-{100 + i}" for i in range(n_models)]
    genes = ["CTGF", "EGFR", "GENE3", "GENE4", "GENE5", "SHORT"][:n_genes]
    fpkm = pd.DataFrame(np.round(rng.uniform(1, 50, (n_genes, n_models - 1)), 2), columns=models[:-1])
    fpkm.insert(0, "Sample", genes)
    raw_rows, metric_rows = [], []
    for k, model in enumerate(models + ["X-900"]):
        tumour = "CRC" if model == "X-900" else "NSCLC"
        for treatment in ("untreated", "Erlotinib" if k == 0 else "erlotinib"):
            for day in (0.0, 4.0, 8.0, 11.0, 14.0, 18.0):
                raw_rows.append({"Model": model, "Tumor Type": tumour, "Treatment": treatment,
                                 "Volume (mm3)": 200.0, "Days Post T0": day,
                                 "%TVol Difference": round(10 * k - day, 1)})
            metric_rows.append({"Model": model, "Treatment": treatment, "BestResponse": -60.0 + 30 * k,
                                "BestAvgResponse": -30.0 + 20 * k, "ResponseCategory": "PR"})
    return {"RNAseq_fpkm": fpkm, "PCT raw data": pd.DataFrame(raw_rows),
            "PCT curve metrics": pd.DataFrame(metric_rows)}


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def small_spans() -> pd.DataFrame:
    return pd.DataFrame({"gene_name": ["CTGF", "EGFR", "GENE3", "GENE4", "GENE5", "SHORT"],
                         "gene_type": "protein_coding",
                         "span_length": [1199, 237600, 5000, 20000, 800, 150]})


def small_synonyms() -> pd.DataFrame:
    return pd.DataFrame({"alias": ["CTGF"], "official_symbol": ["CCN2"]})


def output_paths(directory: Path) -> dict[str, str]:
    suffix = {"pseudocounts": "parquet", "expression": "parquet"}
    return {key: str(directory / f"{key}.{suffix.get(key, 'tsv')}") for key in OUTPUT_KEYS}


def default_settings() -> dict:
    config = validate_config(yaml.safe_load((REPO / "config/config.yaml").read_text()),
                             REPO / "workflow/schemas/config.schema.yaml", base_dir=REPO)
    return config["pdx"]


# --------------------------------------------------------------------------------------
# FPKM → pseudo-counts
# --------------------------------------------------------------------------------------


def test_pseudocount_formula_matches_hand_computation():
    fpkm = pd.DataFrame({"A": [2.0, 0.5], "B": [1.0, 0.0], "C": [3.0, 3.0]}, index=["m1", "m2"])
    lengths = pd.Series({"A": 1199.0, "B": 100.0, "C": 250.0})
    counts, too_short = pdx.fpkm_to_counts(fpkm, lengths, fragments=35e6, read_length=200)
    # A: 2 · (1199 − 199) · 35e6 / 1e9 = 70; C: 3 · (250 − 199) · 0.035 = 5.355; B: 100 − 199 < 0
    assert too_short == ["B"]
    assert list(counts.columns) == ["A", "C"]
    np.testing.assert_allclose(counts.loc["m1"].to_numpy(), [70.0, 5.355], rtol=1e-12)
    np.testing.assert_allclose(counts.loc["m2"].to_numpy(), [17.5, 5.355], rtol=1e-12)
    # read length 100: effective length L − 99; B (100 bp) keeps exactly one position
    counts, too_short = pdx.fpkm_to_counts(fpkm, lengths, fragments=20e6, read_length=100)
    assert too_short == []
    np.testing.assert_allclose(counts.loc["m1"].to_numpy(), [2 * 1100 * 0.02, 1 * 1 * 0.02, 3 * 151 * 0.02])


def test_pseudocounts_invert_the_fpkm_definition():
    rng = np.random.default_rng(1)
    counts = pd.DataFrame(rng.poisson(50, (3, 5)).astype(float), columns=list("abcde"))
    lengths = pd.Series(rng.integers(500, 50000, 5).astype(float), index=list("abcde"))
    fpkm = counts * 1e9 / ((lengths - 199.0).to_numpy()[None, :] * 35e6)  # as demo_data writes it
    back, _ = pdx.fpkm_to_counts(fpkm, lengths, 35e6, 200)
    np.testing.assert_allclose(back.to_numpy(), counts.to_numpy(), rtol=1e-12)


def test_fpkm_to_counts_rejects_bad_settings():
    fpkm = pd.DataFrame({"A": [1.0]})
    with pytest.raises(ValueError, match="fragments"):
        pdx.fpkm_to_counts(fpkm, pd.Series({"A": 1000.0}), fragments=0, read_length=100)


def test_gene_mapping_renames_aliases_and_finds_lengths():
    spans = pd.DataFrame({
        "gene_name": ["CTGF", "OLDNAME", "DUP", "DUP", "DUP", "KEEP"],
        "gene_type": ["protein_coding", "lincRNA", "lincRNA", "protein_coding", "protein_coding", "lincRNA"],
        "span_length": [3198, 900, 50000, 1200, 3000, 700],
    })
    synonyms = pd.DataFrame({"alias": ["CTGF", "OLDNAME", "TMEM8A", "KEEPALIAS"],
                             "official_symbol": ["CCN2", "NEWNAME", "PGAP6", "KEEP"]})
    symbols = ["CTGF", "NEWNAME", "DUP", "TMEM8A", "NOLEN", "KEEP", "KEEPALIAS"]
    table = pdx.map_fpkm_genes(symbols, spans, synonyms).set_index("source_symbol")
    assert table.loc["CTGF", ["symbol", "symbol_mapping", "span_length", "length_source"]].tolist() == [
        "CCN2", "alias", 3198, "symbol"]
    # current symbol whose GENCODE v19 name is an old alias of it
    assert table.loc["NEWNAME", ["span_length", "length_source"]].tolist() == [900, "gencode_alias"]
    # several loci: the longest protein-coding one, reported
    assert table.loc["DUP", ["span_length", "n_loci"]].tolist() == [3000, 3]
    assert "3 GENCODE loci" in table.loc["DUP", "detail"]
    # alias whose official symbol has no span under either name
    assert table.loc["TMEM8A", ["symbol", "status"]].tolist() == ["PGAP6", "no_length"]
    assert table.loc["NOLEN", ["symbol_mapping", "status"]].tolist() == ["not_in_synonyms", "no_length"]
    # an alias of a symbol that is also in the sheet: the official row wins
    assert table.loc["KEEPALIAS", "status"] == "collides_with_existing"
    assert table.loc["KEEP", "status"] == "ok"
    lengths = pdx.lengths_from_mapping(table.reset_index())
    assert set(lengths.index) == {"CCN2", "NEWNAME", "DUP", "KEEP"}


def test_sensitivity_table_covers_the_grid_and_compares_with_default():
    rng = np.random.default_rng(3)
    genes = [f"G{i}" for i in range(300)]
    fpkm = pd.DataFrame(rng.gamma(0.6, 20, (6, 300)), index=[f"X-{i}" for i in range(6)], columns=genes)
    lengths = pd.Series(rng.integers(150, 80000, 300).astype(float), index=genes)
    lengths.iloc[:3] = [120.0, 150.0, 180.0]  # too short for ℓ = 200, not for ℓ = 75
    table = pdx.sensitivity_table(fpkm, lengths, (35e6, 200), [20e6, 35e6, 50e6], [75, 100], 10, 0.2)
    assert len(table) == 7 * 6
    settings = table[["fragments", "read_length"]].drop_duplicates()
    assert len(settings) == 7
    default = table[table["is_default"]]
    assert (default["fragments"] == 35e6).all() and (default["read_length"] == 200).all()
    np.testing.assert_allclose(default["pearson_r_vs_default"], 1.0)
    assert (table["pearson_r_vs_default"] > 0.95).all()
    # more fragments → larger libraries, never fewer genes passing a count filter
    by_n = table[table["read_length"] == 75].groupby("fragments")
    assert by_n["library_size"].median().is_monotonic_increasing
    assert by_n["n_genes_passing_filter"].first().is_monotonic_increasing
    # shorter reads keep more short genes
    n_75 = table.loc[table["read_length"] == 75, "n_genes_with_length"].iloc[0]
    n_200 = default["n_genes_with_length"].iloc[0]
    assert n_75 > n_200


# --------------------------------------------------------------------------------------
# Response
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("br", "bar", "expected"),
    [(-96, -41, "CR"), (-95, -41, "PR"), (-96, -40, "PR"), (-51, -21, "PR"), (-50, -21, "SD"),
     (-51, -20, "SD"), (34.9, 29.9, "SD"), (35, 0, "PD"), (0, 30, "PD"), (500, 200, "PD"),
     (np.nan, 0, "")],
)
def test_mrecist_thresholds(br, bar, expected):
    assert pdx.mrecist_class([br], [bar])[0] == expected


def test_base_response_category():
    values = ["PD", "SD-->PD", "SD-->-->PD", "CR-->-->PD", " PR "]
    assert pdx.base_response_category(values).tolist() == ["PD", "SD", "SD", "CR", "PR"]


def test_binning_by_hand():
    raw = pd.DataFrame({
        "Model": ["A"] * 7 + ["B"] * 3,
        "Days Post T0": [0, 3, 5, 10, 12, 15, 16, 0, 4, 9],
        "%TVol Difference": [0, 10, 20, 30, 40, 50, 60, 0, -10, -20],
    })
    out = pdx.bin_tv_change(raw, window=(10, 15), bin_width=5, bin_max_day=20, closed="both")
    assert list(out.columns) == ["tv_change_days_ge10_le15", "n_obs_days_ge10_le15", "tv_change_bin_ge0_lt5",
                                 "tv_change_bin_ge5_lt10", "tv_change_bin_ge10_lt15", "tv_change_bin_ge15_lt20"]
    # window closed [10, 15]; bins half-open [a, a + 5)
    assert out.loc["A"].tolist() == [40.0, 3, 5.0, 20.0, 35.0, 55.0]
    b = out.loc["B"]
    assert np.isnan(b["tv_change_days_ge10_le15"]) and b["n_obs_days_ge10_le15"] == 0
    assert b["tv_change_bin_ge0_lt5"] == -5.0 and b["tv_change_bin_ge5_lt10"] == -20.0
    assert np.isnan(b["tv_change_bin_ge10_lt15"])
    # the paper's right-closed bins (default): (10, 15] holds days 12 and 15; (0, 5] days 3 and 5; day 0 in none
    right = pdx.bin_tv_change(raw, window=(10, 15), bin_width=5, bin_max_day=20)
    assert right.loc["A"].tolist() == [45.0, 2, 15.0, 30.0, 45.0, 60.0]
    assert right.loc["B", "tv_change_bin_gt0_le5"] == -10.0 and right.loc["B", "tv_change_bin_gt5_le10"] == -20.0


def test_arm_selection_is_case_insensitive_and_takes_tumour_type_from_any_row(tmp_path):
    sheets = small_sheets()
    raw = sheets["PCT raw data"]
    # the arm's own rows of one model lack the tumour type; its untreated rows give it
    raw.loc[(raw["Model"] == "X-101") & (raw["Treatment"] == "erlotinib"), "Tumor Type"] = np.nan
    tables = pdx.read_pdx_workbook(write_workbook(sheets, tmp_path / "w.xlsx"))
    raw_arm, metrics_arm, types = pdx.select_arm(tables, "NSCLC", "ERLOTINIB")
    assert list(types.index) == ["X-100", "X-101", "X-102", "X-103"]
    assert set(raw_arm["Treatment"]) == {"Erlotinib", "erlotinib"}
    assert len(metrics_arm) == 4
    assert len(pdx.select_arm(tables, "CRC", "erlotinib")[2]) == 1


def test_process_small_workbook_end_to_end(tmp_path):
    tables = pdx.read_pdx_workbook(write_workbook(small_sheets(), tmp_path / "w.xlsx"))
    result = pdx.process_pdx(tables, small_spans(), small_synonyms(), min_count=0, bin_max_day=20)
    response = result.response.set_index("Model")
    assert list(response.index) == ["X-100", "X-101", "X-102", "X-103"]
    assert response["has_expression"].tolist() == [True, True, True, False]
    assert response.loc["X-100", "treatment"] == "Erlotinib"
    # (BR, BAR) = (−60, −30), (−30, −10), (0, 10), (30, 30)
    assert response["mRECIST"].tolist() == ["PR", "SD", "SD", "PD"]
    # %TVol = 10k − day; days 11 and 14 in the window
    assert response.loc["X-102", "tv_change_days_gt10_le15"] == pytest.approx(20 - 12.5)
    assert result.dropped[["item", "reason"]].values.tolist() == [["X-103", "no_fpkm"]]
    # CTGF renamed, SHORT (150 bp) has no positive effective length at ℓ = 200
    assert "CCN2" in result.pseudocounts.columns and "CTGF" not in result.pseudocounts.columns
    assert "SHORT" not in result.pseudocounts.columns
    mapping = result.gene_mapping.set_index("source_symbol")
    assert mapping.loc["SHORT", "status"] == "too_short"
    fpkm = tables.fpkm.set_index("Sample")
    assert result.pseudocounts.loc["X-100", "CCN2"] == pytest.approx(fpkm.loc["CTGF", "X-100"] * 1000 * 0.035)
    assert result.expression.shape == (3, 5)


# --------------------------------------------------------------------------------------
# Bad inputs: messages name the file and the sheet/column; no output is left behind
# --------------------------------------------------------------------------------------


def run_adapter(tmp_path: Path, inputs: dict[str, str]) -> dict[str, str]:
    spans = tmp_path / "spans.csv"
    small_spans().to_csv(spans, index=False)
    synonyms = tmp_path / "synonyms.csv"
    small_synonyms().to_csv(synonyms, index=False)
    outputs = output_paths(tmp_path / "out")
    process_pdx_files({**inputs, "gene_spans": str(spans), "synonyms": str(synonyms)}, outputs,
                    {**default_settings(), "filter": {"min_count": 0, "min_fraction": 0.2}})
    return outputs


def test_adapter_writes_every_output(tmp_path):
    outputs = run_adapter(tmp_path, {"workbook": str(write_workbook(small_sheets(), tmp_path / "w.xlsx"))})
    assert all(Path(p).is_file() for p in outputs.values())
    assert read_parquet_matrix(outputs["expression"]).index.name == "Model"


def test_missing_sheet_names_file_and_sheet_and_writes_nothing(tmp_path):
    sheets = small_sheets()
    del sheets["PCT curve metrics"]
    workbook = write_workbook(sheets, tmp_path / "broken.xlsx")
    with pytest.raises(InputFormatError) as err:
        run_adapter(tmp_path, {"workbook": str(workbook)})
    message = str(err.value)
    assert str(workbook) in message and "'PCT curve metrics'" in message and "missing required sheet" in message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize(("sheet", "column"), [("PCT raw data", "Days Post T0"),
                                               ("PCT curve metrics", "BestAvgResponse"),
                                               ("RNAseq_fpkm", "Sample")])
def test_missing_column_names_file_sheet_and_column_and_writes_nothing(tmp_path, sheet, column):
    sheets = small_sheets()
    sheets[sheet] = sheets[sheet].drop(columns=column)
    workbook = write_workbook(sheets, tmp_path / "broken.xlsx")
    with pytest.raises(InputFormatError) as err:
        run_adapter(tmp_path, {"workbook": str(workbook)})
    message = str(err.value)
    assert str(workbook) in message and f"sheet {sheet!r}" in message and repr(column) in message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_csv_sheets_missing_column_and_non_numeric_values(tmp_path):
    sheets = small_sheets()
    paths = {}
    for key, name in (("fpkm", "RNAseq_fpkm"), ("raw_data", "PCT raw data"), ("curve_metrics", "PCT curve metrics")):
        paths[key] = tmp_path / f"{key}.csv"
        sheets[name].to_csv(paths[key], index=False)
    sheets["PCT curve metrics"].drop(columns="ResponseCategory").to_csv(paths["curve_metrics"], index=False)
    expected = r"curve_metrics\.csv \(sheet 'PCT curve metrics' as CSV\).*'ResponseCategory'"
    with pytest.raises(InputFormatError, match=expected):
        run_adapter(tmp_path, {k: str(v) for k, v in paths.items()})
    sheets["PCT curve metrics"].to_csv(paths["curve_metrics"], index=False)
    raw = sheets["PCT raw data"].astype({"%TVol Difference": object})
    raw.loc[3, "%TVol Difference"] = "twelve"
    raw.to_csv(paths["raw_data"], index=False)
    with pytest.raises(InputFormatError, match=r"raw_data\.csv.*'%TVol Difference' must be numeric; found 'twelve'"):
        run_adapter(tmp_path, {k: str(v) for k, v in paths.items()})
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_not_a_workbook_and_empty_arm(tmp_path):
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip")
    with pytest.raises(InputFormatError, match="fake.xlsx: not a readable xlsx workbook"):
        pdx.read_pdx_workbook(fake)
    tables = pdx.read_pdx_workbook(write_workbook(small_sheets(), tmp_path / "w.xlsx"))
    with pytest.raises(InputFormatError, match="no model of tumour type 'NSCLC' treated with 'gefitinib'"):
        pdx.process_pdx(tables, small_spans(), None, treatment="gefitinib")


# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------


def test_config_defaults_and_unknown_key():
    settings = default_settings()
    assert settings["tumour_type"] == "NSCLC" and settings["treatment"] == "erlotinib"
    assert settings["pseudocounts"] == {"fragments": 35000000, "read_length": 200}
    assert settings["sensitivity"] == {"fragments": [20000000, 35000000, 50000000], "read_lengths": [75, 100]}
    assert settings["response"] == {"window_start_day": 10, "window_end_day": 15, "closed": "right", "bin_width": 5,
                                    "bin_max_day": 30}
    options = pdx.config_settings(settings)
    assert options["window"] == (10.0, 15.0) and options["read_length"] == 200.0
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["pdx"] = {"pseudocounts": {"fragment": 1}, "filter": {"min_fraction": 0}}
    with pytest.raises(ConfigError) as err:
        validate_config(config, REPO / "workflow/schemas/config.schema.yaml", base_dir=REPO)
    assert "pdx.pseudocounts.fragment: unknown key" in str(err.value)
    assert "pdx.filter.min_fraction" in str(err.value)


# --------------------------------------------------------------------------------------
# The rule, as run by Snakemake in the shared run of the small demo (conftest.small_run); a broken workbook
# in a copy of the workflow
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdx_demo_run(small_run: Path) -> Path:
    """The shared run, which builds the PDX outputs (they are in the default target)."""
    assert all((small_run / SMALL_PDX_OUT / name).is_file() for name in PDX_FILES)
    return small_run


def test_demo_run_writes_pdx_outputs(pdx_demo_run):
    out = pdx_demo_run / SMALL_PDX_OUT
    for name in PDX_FILES:
        assert (out / name).is_file(), name
    assert "genes_passing_filter" in (pdx_demo_run / "logs/small/pdx_process.log").read_text()
    truth = json.loads((pdx_demo_run / "resources/raw/demo/small/planted_truth.json").read_text())["pdx"]
    response = pd.read_csv(out / "response.tsv", sep="\t")
    assert response["Model"].tolist() == truth["erlotinib_nsclc_models"]
    assert response.loc[response["has_expression"], "Model"].tolist() == truth["erlotinib_nsclc_models_with_fpkm"]
    assert (response["mRECIST"] == pdx.base_response_category(response["ResponseCategory"])).all()
    dropped = pd.read_csv(out / "dropped.tsv", sep="\t")
    assert sorted(dropped.loc[dropped["reason"] == "no_fpkm", "item"]) == truth["erlotinib_nsclc_models_without_fpkm"]
    expression = read_parquet_matrix(out / "expression.parquet")
    assert expression.index.tolist() == truth["erlotinib_nsclc_models_with_fpkm"]
    assert "CCN2" in expression.columns and "PGAP6" in expression.columns and "CTGF" not in expression.columns
    # planted: high EGFR-module activity → tumour shrinks under erlotinib
    activity = response["Model"].map(lambda m: truth["module_activity"][m]["M_EGFR"])
    rho = stats.spearmanr(activity, response["tv_change_days_gt10_le15"], nan_policy="omit").statistic
    assert rho < -0.5
    # FPKM was made from integer counts with L − 199 and N = 35e6, then rounded to 0.01: the
    # default setting recovers integers up to that rounding, 0.005 · (L − 199) · 0.035
    pseudocounts = read_parquet_matrix(out / "pseudocounts.parquet")
    mapping = pd.read_csv(out / "gene_mapping.tsv", sep="\t").set_index("symbol")
    bound = 0.005 * (mapping.loc[pseudocounts.columns, "span_length"].to_numpy() - 199) * 0.035 + 1e-6
    values = pseudocounts.to_numpy()
    assert (np.abs(values - np.round(values)) <= np.maximum(bound, 0.5)[None, :]).all()
    short = bound < 0.5  # genes short enough for the rounding to keep integers visible
    assert short.sum() > 100
    assert (np.abs(values[:, short] - np.round(values[:, short])) <= bound[short][None, :]).all()
    sensitivity = pd.read_csv(out / "sensitivity.tsv", sep="\t")
    assert len(sensitivity) == 7 * len(expression)


def test_demo_run_with_a_broken_workbook_fails_cleanly(pdx_demo_run, tmp_path):
    raw = pdx_demo_run / "resources/raw/demo/small"
    sheets = pd.read_excel(raw / "nm.3954-S2.xlsx", sheet_name=None)
    del sheets["PCT raw data"]
    broken = write_workbook(sheets, tmp_path / "broken.xlsx")
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "broken.yaml").write_text(yaml.safe_dump({"pdx": {"files": {
        "workbook": str(broken), "gene_spans": str(raw / "gencode_v19_gene_spans.csv"),
        "synonyms": str(raw / "symbol_synonyms.csv")}}}))
    targets = [str(PDX_OUT / name) for name in PDX_FILES]
    result = run_snakemake(workdir, *targets, "--configfile", "broken.yaml", check=False)
    assert result.returncode != 0
    log = (workdir / "logs/demo/pdx_process.log").read_text()
    assert f"{broken}: missing required sheet(s) 'PCT raw data'" in log
    assert not (workdir / PDX_OUT).exists() or not any((workdir / PDX_OUT).iterdir())


# --------------------------------------------------------------------------------------
# Real data (../shared/data/real)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_tables() -> pdx.PdxTables:
    base = REAL / "pdx_gao2015"
    return pdx.read_pdx_csvs(base / "RNAseq_fpkm_NSCLC.csv", base / "PCT_raw_data.csv", base / "PCT_curve_metrics.csv")


@requires_real_data
def test_real_mrecist_equals_base_response_category(real_tables):
    metrics = real_tables.metrics
    assert len(metrics) == 4758
    base = pdx.base_response_category(metrics["ResponseCategory"])
    assert set(base) == {"CR", "PR", "SD", "PD"}
    recomputed = pdx.mrecist_class(metrics["BestResponse"], metrics["BestAvgResponse"])
    assert (recomputed == base.to_numpy()).all()


@requires_real_data
def test_real_erlotinib_nsclc_arm(real_tables):
    raw, metrics, types = pdx.select_arm(real_tables, "NSCLC", "erlotinib")
    assert len(types) == 29 and set(types) == {"NSCLC"}
    fpkm, repeated = pdx.fpkm_matrix(real_tables.fpkm, types.index)
    assert len(fpkm) == 25 and repeated == []
    assert sorted(set(types.index) - set(fpkm.index)) == ["X-1189", "X-1228", "X-1869", "X-1870"]


@requires_real_data
def test_real_fpkm_to_counts_with_gencode_spans(real_tables):
    spans = pdx.read_gene_spans(REAL / "annotation/gencode_v19_grch37_gene_spans.csv.gz")
    synonyms = parsers.read_symbol_synonyms(REAL / "annotation/ncbi_symbol_synonyms.csv.gz")
    result = pdx.process_pdx(real_tables, spans, synonyms)
    summary = result.summary
    mapping = result.gene_mapping.set_index("source_symbol")
    n_genes = summary["genes"]
    with_length = n_genes - summary.get("length_source.none", 0)
    # measured: 22,665 genes; 21,188 with a length (20,553 own symbol, 577 official symbol,
    # 58 GENCODE alias); 1,477 without; 39 alias collisions; 1,356 spans ≤ 199 bp;
    # 19,793 genes with pseudo-counts, 16,965 pass the default filter
    assert n_genes == 22665
    assert with_length / n_genes > 0.9
    assert summary["status.ok"] / n_genes > 0.85
    assert summary["genes_passing_filter"] > 15000
    assert mapping.loc["EGFR", "span_length"] == 237600
    assert mapping.loc["CTGF", ["symbol", "status"]].tolist() == ["CCN2", "ok"]
    assert mapping.loc["TMEM8A", ["symbol", "status"]].tolist() == ["PGAP6", "ok"]
    counts = result.pseudocounts
    assert counts.shape == (25, summary["genes_with_pseudocounts"])
    assert np.isfinite(counts.to_numpy()).all() and (counts.to_numpy() >= 0).all()
    fpkm = real_tables.fpkm.set_index("Sample")
    expected = fpkm.loc["EGFR", counts.index] * (237600 - 199) * 35e6 / 1e9
    np.testing.assert_allclose(counts["EGFR"], expected, rtol=1e-12)
    # the expression matrix is voom logCPM of the 25 models
    assert result.expression.shape[0] == 25 and result.expression.notna().all().all()
    sensitivity = result.sensitivity
    assert sensitivity["pearson_r_vs_default"].min() > 0.99
