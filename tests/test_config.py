"""Configuration validation: defaults, and messages that name the key or file."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from conftest import REPO, copy_workflow, run_snakemake
from config_check import ConfigError, validate_config

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
DEFAULT = yaml.safe_load((REPO / "config/config.yaml").read_text())


def check(config: dict, base_dir: Path = REPO) -> dict:
    return validate_config(config, SCHEMA, base_dir)


def test_default_config_is_valid_and_gets_defaults() -> None:
    config = check(DEFAULT)
    assert config["model"]["tol"] is None and config["model"]["inner_steps"] == 10
    assert config["scoring"]["max_missing_fraction"] == 0.5
    assert [p["name"] for p in config["pairs"]][:2] == ["EGFR_ERLOTINIB", "NAMPT_DAPORINAD"]
    assert config["pairs"][1]["extra_drugs"] == [] and config["pairs"][3]["control"] is True


def test_minimal_config_takes_every_default() -> None:
    config = check({"pairs": [{"target": "EGFR", "drug": "ERLOTINIB"}]})
    assert config["data"]["source"] == "demo" and config["split"]["test_fraction"] == 0.2
    assert config["model"]["n_components"] == 40 and config["model"]["learning_rate"] == 1e-3


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: c["model"].update(n_component=40), "model.n_component: unknown key"),
        (lambda c: c.update(colour="blue"), "colour: unknown key"),
        (lambda c: c["model"].update(max_iter="many"), "model.max_iter: 'many' is not of type 'integer'"),
        (lambda c: c["model"].update(update="adam"), "model.update: 'adam' is not one of"),
        (lambda c: c["split"].update(test_fraction=1.5), "split.test_fraction: 1.5 is greater than or equal"),
        (lambda c: c["pairs"][0].pop("drug"), "pairs[0]: 'drug' is a required property"),
        (lambda c: c["pairs"][1].update(extra_drugs="GEFITINIB"), "pairs[1].extra_drugs: 'GEFITINIB' is not of type 'array'"),
        (lambda c: c.pop("pairs"), "<top level>: 'pairs' is a required property"),
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


def test_duplicated_pair_names_are_rejected() -> None:
    config = copy.deepcopy(DEFAULT)
    config["pairs"].append({"target": "EGFR", "drug": "ERLOTINIB"})
    with pytest.raises(ConfigError, match=r"duplicated pair name\(s\) \['EGFR_ERLOTINIB'\]"):
        check(config)


def test_snakemake_stops_at_parse_time_with_the_message(tmp_path: Path) -> None:
    workdir = copy_workflow(tmp_path / "wf")
    bad = copy.deepcopy(DEFAULT)
    bad["model"]["n_components"] = "forty"
    (workdir / "bad.yaml").write_text(yaml.safe_dump(bad))
    result = run_snakemake(workdir, "-n", "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0
    assert "model.n_components: 'forty' is not of type 'integer'" in result.stdout + result.stderr
    assert not (workdir / "resources").exists()
