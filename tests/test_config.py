"""Configuration validation: defaults, and messages that name the key or file."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from conftest import REPO, copy_workflow, run_snakemake
from forge.config import ConfigError, validate_config

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
DEFAULT = yaml.safe_load((REPO / "config/config.yaml").read_text())


def check(config: dict, base_dir: Path = REPO) -> dict:
    return validate_config(config, SCHEMA, base_dir)


def test_default_config_is_valid_and_gets_defaults() -> None:
    config = check(DEFAULT)
    assert config["model"]["tol"] is None and config["model"]["inner_steps"] == 10
    assert config["scoring"]["max_missing_fraction"] == 0.5 and config["scoring"]["cohorts"] == {}
    assert config["pairs"] == {"table": "config/pairs.tsv", "auto": False, "min_cell_lines": 300}
    assert config["tuning"]["cv"]["enabled"] is False and config["baselines"]["cv_folds"] == 5


def test_minimal_config_takes_every_default() -> None:
    config = check({})
    assert config["data"]["source"] == "demo" and config["split"]["test_fraction"] == 0.2
    assert config["model"]["n_components"] == 40 and config["model"]["learning_rate"] == 1e-3
    assert config["model"]["replicates"] == 10 and config["split"]["scheme"] == "random"
    assert config["tuning"]["k_grid"] == list(range(10, 151, 10)) and config["tuning"]["n_init"] == 5


def test_section_defaults_fill_user_named_entries(tmp_path: Path) -> None:
    (tmp_path / "cohort.csv").write_text("sample,EGFR\na,1\n")
    (tmp_path / "pairs.tsv").write_text("drug\ttarget\nERLOTINIB\tEGFR\n")
    config = check(
        {"pairs": {"table": "pairs.tsv"}, "scoring": {"cohorts": {"mine": {"path": "cohort.csv"}}}}, tmp_path
    )
    assert config["scoring"]["cohorts"]["mine"] == {"path": "cohort.csv", "kind": "normalised", "scaling": "training",
                                                    "weights": "raw"}


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: c["model"].update(n_component=40), "model.n_component: unknown key"),
        (lambda c: c.update(colour="blue"), "colour: unknown key"),
        (lambda c: c["model"].update(max_iter="many"), "model.max_iter: 'many' is not of type 'integer'"),
        (lambda c: c["model"].update(update="adam"), "model.update: 'adam' is not one of"),
        (lambda c: c["split"].update(test_fraction=1.5), "split.test_fraction: 1.5 is greater than or equal"),
        (lambda c: c["pairs"].update(auto="yes"), "pairs.auto: 'yes' is not of type 'boolean'"),
        (lambda c: c["split"].update(scheme="tissue"), "split.scheme: 'tissue' is not one of"),
        (lambda c: c.update(tuning={"k_grid": [0]}), "tuning.k_grid[0]: 0 is less than the minimum of 1"),
        (lambda c: c.update(tahoe={"plates": "7"}), "tahoe.plates: '7' is not of type 'array'"),
    ],
)
def test_bad_values_name_the_key(edit, expected: str) -> None:
    config = copy.deepcopy(DEFAULT)
    edit(config)
    with pytest.raises(ConfigError) as error:
        check(config)
    assert expected in str(error.value)


def test_missing_input_files_are_listed(tmp_path: Path) -> None:
    (tmp_path / "Model.csv").write_text("ModelID\n")
    config = copy.deepcopy(DEFAULT)
    config["data"] = {"source": "files", "files": {"models": "Model.csv", "counts": "nowhere/counts.csv"}}
    config["normalisation"] = {"gene_universe": "universe.txt"}
    with pytest.raises(ConfigError) as error:
        check(config, tmp_path)
    message = str(error.value)
    assert "data.files.counts: file not found: nowhere/counts.csv" in message
    assert "data.files.dependency: required when data.source is 'files'" in message
    assert "normalisation.gene_universe: file not found: universe.txt" in message
    assert "data.files.models" not in message


def test_pairs_table_problems_stop_the_parse(tmp_path: Path) -> None:
    (tmp_path / "pairs.tsv").write_text("drug\ttarget\nERLOTINIB\tEGFR\nERLOTINIB\tEGFR\n")
    with pytest.raises(ConfigError, match=r"pairs.table: .*duplicated pair name\(s\) \['EGFR_ERLOTINIB'\]"):
        check({"pairs": {"table": "pairs.tsv"}}, tmp_path)
    (tmp_path / "pairs.tsv").write_text("drug\tgene\nERLOTINIB\tEGFR\n")
    with pytest.raises(ConfigError, match=r"missing column\(s\) \['target'\]"):
        check({"pairs": {"table": "pairs.tsv"}}, tmp_path)
    with pytest.raises(ConfigError, match="pairs.table: file not found: nowhere.tsv"):
        check({"pairs": {"table": "nowhere.tsv"}}, tmp_path)
    (tmp_path / "pairs.tsv").write_text("drug\ttarget\tname\nERLOTINIB\tEGFR\tA\nERLOTINIB\tEGFR\tB\nDABRAFENIB\tBRAF\tC\n")
    with pytest.raises(ConfigError, match=r"same drug-target pair is listed more than once under the names \[\['A', 'B'\]\]"):
        check({"pairs": {"table": "pairs.tsv"}}, tmp_path)


def test_snakemake_stops_at_parse_time_with_the_message(tmp_path: Path) -> None:
    workdir = copy_workflow(tmp_path / "wf")
    bad = copy.deepcopy(DEFAULT)
    bad["model"]["n_components"] = "forty"
    (workdir / "bad.yaml").write_text(yaml.safe_dump(bad))
    result = run_snakemake(workdir, "-n", "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0
    assert "model.n_components: 'forty' is not of type 'integer'" in result.stdout + result.stderr
    assert not (workdir / "resources").exists()


def test_analysis_section_defaults_and_problems(tmp_path: Path) -> None:
    config = check({})
    analysis = config["analysis"]
    assert config["stages"]["analysis"] is True and analysis["samples"] == "with_dependency"
    assert analysis["clustering"] == {"embedding": "reported", "deep_split": 4, "min_cluster_size": 13,
                                      "pam_stage": True,
                                      "sensitive": {"max_clusters": 3, "require_tests": False, "alpha": 0.05}}
    assert analysis["de"]["log2fc"] == 1.0 and analysis["de"]["adj_p"] == 0.05 and analysis["de"]["top_n"] == 200
    enrichment = analysis["enrichment"]
    assert (enrichment["min_size"], enrichment["max_size"], enrichment["min_overlap"], enrichment["fdr"]) == (10, 500, 10, 0.05)
    (tmp_path / "expression.csv").write_text("sample,EGFR\na,1\n")
    (tmp_path / "outputs.csv").write_text("sample,EGFR_dependency,ERLOTINIB_ic50\na,0.5,1\n")
    (tmp_path / "pairs.tsv").write_text("drug\ttarget\nERLOTINIB\tEGFR\n")
    prepared = {"pairs": {"table": "pairs.tsv"},
                "data": {"source": "prepared", "prepared": {"expression": "expression.csv", "outputs": "outputs.csv"}}}
    with pytest.raises(ConfigError, match="analysis.enrichment.libraries: list the GMT files"):
        check(prepared, tmp_path)
    check(dict(prepared, stages={"analysis": False}), tmp_path)  # switched off: nothing to list
    bad = dict(prepared, analysis={"enrichment": {"libraries": ["none.gmt"], "background": "universe",
                                                  "min_size": 600}})
    with pytest.raises(ConfigError) as error:
        check(bad, tmp_path)
    message = str(error.value)
    assert "analysis.enrichment.libraries[0]: file not found: none.gmt" in message
    assert "analysis.enrichment.universe_file: required when analysis.enrichment.background is 'universe'" in message
    assert "min_size is larger than max_size" in message
    with pytest.raises(ConfigError, match="analysis.clustering.deep_split: 5 is greater than the maximum of 4"):
        check({"analysis": {"clustering": {"deep_split": 5}}})


def test_prepared_output_columns_are_checked_at_parse_time(tmp_path: Path) -> None:
    (tmp_path / "expression.csv").write_text("sample,EGFR\na,1\n")
    (tmp_path / "outputs.csv").write_text("\ufeffsample,EGFR_dependency,Erlotinib_ic50,GEFITINIB_ic50\r\na,0.5,1,2\r\n")
    (tmp_path / "pairs.tsv").write_text("drug\ttarget\textra_drugs\nERLOTINIB\tEGFR\tGEFITINIB\n")
    config = {"pairs": {"table": "pairs.tsv"}, "stages": {"analysis": False},
              "data": {"source": "prepared", "prepared": {"expression": "expression.csv", "outputs": "outputs.csv"}}}
    with pytest.raises(ConfigError) as error:
        check(config, tmp_path)
    message = str(error.value)
    assert message.startswith("data.prepared.outputs: ") and "outputs.csv" in message
    assert "pair EGFR_ERLOTINIB: column 'ERLOTINIB_ic50' not found" in message
    assert "<TARGET>_dependency and <DRUG>_ic50" in message and "nearest existing names: 'Erlotinib_ic50'" in message
    assert "'EGFR_dependency' not found" not in message and "'GEFITINIB_ic50' not found" not in message
    (tmp_path / "outputs.csv").write_text("\ufeffsample,EGFR_dependency,ERLOTINIB_ic50,GEFITINIB_ic50\r\na,0.5,1,2\r\n")
    check(config, tmp_path)  # BOM and CRLF are read through
