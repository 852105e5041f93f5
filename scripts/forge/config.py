"""Configuration validation with messages that name the offending key.

Used by ``workflow/rules/common.smk`` at parse time and by the tests. Snakemake's
own ``validate`` reports jsonschema messages without the key path; this wrapper
reports every problem as ``<key.path>: <what is wrong>``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from forge.io import InputFormatError
from forge.modelling.pairs import read_pairs_table


class ConfigError(ValueError):
    """Invalid configuration; the message lists each problem with its key path."""


def load_schema(schema_path: str | Path) -> dict:
    """The main schema plus its section files.

    Each ``sections/<name>.schema.yaml`` next to the main schema describes the
    top-level key ``<name>`` (one file per workflow stage keeps the schema
    readable and lets stages be added without touching the main file).
    """
    schema_path = Path(schema_path)
    schema = yaml.safe_load(schema_path.read_text())
    for section in sorted((schema_path.parent / "sections").glob("*.schema.yaml")):
        name = section.name.removesuffix(".schema.yaml")
        if name in schema["properties"]:
            raise ValueError(f"{section}: section '{name}' is already defined in {schema_path}")
        schema["properties"][name] = yaml.safe_load(section.read_text())
    return schema


def _key_path(path: Any) -> str:
    parts = []
    for part in path:
        parts.append(f"[{part}]" if isinstance(part, int) else ("." if parts else "") + str(part))
    return "".join(parts) or "<top level>"


def _fill_defaults(instance: Any, schema: dict) -> None:
    """Insert schema defaults, recursively, for missing keys (objects and array items)."""
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        for key, sub in properties.items():
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                _fill_defaults(instance[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):  # mappings of user-named entries (e.g. scoring cohorts)
            for key in instance.keys() - properties.keys():
                _fill_defaults(instance[key], extra)
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for item in instance:
            _fill_defaults(item, schema["items"])


def validate_config(config: dict, schema_path: str | Path, base_dir: str | Path = ".") -> dict:
    """Validate ``config`` against the schema, fill defaults and check input files.

    Returns a new dict with defaults filled. Raises :class:`ConfigError` listing
    every problem (unknown key, wrong type or value, missing required key,
    missing input file), each prefixed with its key path.
    """
    schema = load_schema(schema_path)
    config = copy.deepcopy(config)
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path))):
        if error.validator == "additionalProperties":
            unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            for key in unknown:
                where = _key_path(list(error.path) + [key])
                problems.append(f"{where}: unknown key (allowed: {', '.join(sorted(error.schema['properties']))})")
        elif error.validator == "required":
            problems.append(f"{_key_path(error.path)}: {error.message}")
        else:
            problems.append(f"{_key_path(error.path)}: {error.message}")
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    _fill_defaults(config, schema)
    problems = _check_files(config, Path(base_dir))
    if problems:
        raise ConfigError("missing input files:\n  " + "\n  ".join(problems))
    if not config["pairs"]["auto"]:
        try:
            pairs = read_pairs_table(Path(base_dir) / config["pairs"]["table"])
        except InputFormatError as err:
            raise ConfigError(f"pairs.table: {err}") from err
        if config["data"]["source"] == "prepared":
            from forge.sources.prepared import check_prepared_columns

            try:
                check_prepared_columns(Path(base_dir) / config["data"]["prepared"]["outputs"], pairs)
            except InputFormatError as err:
                raise ConfigError(f"data.prepared.outputs: {err}") from err
    return config


def _check_files(config: dict, base_dir: Path) -> list[str]:
    problems = []
    files = config["data"]["files"]
    if config["data"]["source"] == "files":
        required = ("counts", "profiles", "models", "dependency", "ic50", "drug_targets")
        for key in required:
            if key not in files:
                problems.append(f"data.files.{key}: required when data.source is 'files'")
        for key, value in files.items():
            if not (base_dir / value).is_file():
                problems.append(f"data.files.{key}: file not found: {value}")
    if config["data"]["source"] == "prepared":
        for key in ("expression", "outputs"):
            if not config["data"]["prepared"][key]:
                problems.append(f"data.prepared.{key}: required when data.source is 'prepared'")
    optional_files = {
        f"data.prepared.{key}": value for key, value in config["data"]["prepared"].items()
    }
    optional_files |= {
        "normalisation.gene_universe": config["normalisation"]["gene_universe"],
        "split.file": config["split"]["file"],
        "genes.file": config["genes"]["file"],
    }
    if not config["pairs"]["auto"]:
        optional_files["pairs.table"] = config["pairs"]["table"]
    for name, cohort in config["scoring"]["cohorts"].items():
        optional_files[f"scoring.cohorts.{name}.path"] = cohort["path"]
    enrichment = config["analysis"]["enrichment"]
    for i, path in enumerate(enrichment["libraries"]):
        optional_files[f"analysis.enrichment.libraries[{i}]"] = path
    optional_files["analysis.enrichment.universe_file"] = enrichment["universe_file"]
    if config["stages"]["analysis"]:
        if enrichment["background"] == "universe" and not enrichment["universe_file"]:
            problems.append("analysis.enrichment.universe_file: required when analysis.enrichment.background is 'universe'")
        if not enrichment["libraries"] and config["data"]["source"] in ("files", "prepared"):
            problems.append(
                "analysis.enrichment.libraries: list the GMT files to test when data.source is "
                f"'{config['data']['source']}' (or set stages.analysis: false)"
            )
        if enrichment["min_size"] > enrichment["max_size"]:
            problems.append("analysis.enrichment: min_size is larger than max_size")
    for key, value in optional_files.items():
        if value and not (base_dir / value).is_file():
            problems.append(f"{key}: file not found: {value}")
    return problems
