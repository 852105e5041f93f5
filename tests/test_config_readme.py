"""The worked examples of config/README.md, as written there: their files in the formats the README
describes (made from the small demo's generated raw files and processed cohort), their
configurations copied from the README's YAML blocks, their commands run in dry-run form and, up to
the cohort the workflow builds from the files, for real."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, copy_workflow

CONFIG_README = (REPO / "config/README.md").read_text()


def example(name: str) -> tuple[str, dict, list[str]]:
    """The text, YAML configuration and bash commands of the README's example writing ``config/<name>``."""
    section = next(part for part in CONFIG_README.split("\n## ") if f"# config/{name}" in part)
    (config_text,) = [b for b in re.findall(r"```yaml\n(.*?)```", section, re.S) if b.startswith(f"# config/{name}")]
    commands = [line.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)
                for line in block.splitlines() if line.strip()]
    (files,) = re.findall(r"```text\n(.*?)```", section, re.S)
    return files, yaml.safe_load(config_text), commands


def snakemake(workdir: Path, command: str, *extra: str) -> str:
    words = shlex.split(command)
    assert words[0] == ".venv/bin/snakemake"
    done = subprocess.run([sys.executable, "-m", "snakemake", *extra, *words[1:]], cwd=workdir,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{command}:\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    return copy_workflow(tmp_path / "workflow")


def test_bring_your_own_depmap_files(small_run: Path, checkout: Path) -> None:
    files, config, commands = example("my_depmap.yaml")
    raw = small_run / "resources/raw/demo/small"
    listed = [line.split()[0] for line in files.splitlines() if line.strip()]
    for path in listed:  # the demo's file of the same name (its GMT for the pathways)
        source = raw / ("genesets.gmt" if path.endswith(".gmt") else Path(path).name)
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, checkout / path)
    # the configuration names exactly the files the README lists
    assert sorted(config["data"]["files"].values()) + config["analysis"]["enrichment"]["libraries"] == \
        sorted(p for p in listed if not p.endswith(".gmt")) + [p for p in listed if p.endswith(".gmt")]
    (checkout / "config/my_depmap.yaml").write_text(yaml.safe_dump(config))
    dry_run, real_run = commands
    assert "This was a dry-run" in snakemake(checkout, dry_run)
    # the real command up to the cohort built from the files (the target before --configfile)
    snakemake(checkout, real_run.replace("--cores 2", "--cores 2 resources/processed/my_depmap/samples.tsv", 1))
    mapping = pd.read_csv(checkout / "resources/processed/my_depmap/id_mapping.tsv", sep="\t")
    samples = pd.read_csv(checkout / "resources/processed/my_depmap/samples.tsv", sep="\t")
    demo_samples = pd.read_csv(small_run / "resources/processed/small/samples.tsv", sep="\t")
    assert len(mapping) > 0 and samples["ModelID"].tolist() == demo_samples["ModelID"].tolist()


def test_prepared_cohort(small_run: Path, checkout: Path) -> None:
    files, config, commands = example("my_prepared.yaml")
    processed = small_run / "resources/processed/small"
    expression_path, outputs_path = (checkout / line.split()[0] for line in files.splitlines() if line.strip())
    expression_path.parent.mkdir(parents=True)
    expression = pd.read_parquet(processed / "expression.parquet").set_index("ModelID")
    expression.rename_axis("sample").to_csv(expression_path)
    pairs = pd.read_csv(checkout / config["pairs"]["table"], sep="\t", keep_default_na=False)
    dependency = pd.read_parquet(processed / "dependency.parquet").set_index("ModelID")
    response = pd.read_parquet(processed / "response.parquet").set_index("ModelID")
    drugs = sorted(set(pairs["drug"]) | {d for extra in pairs["extra_drugs"] for d in extra.split(",") if d})
    outputs = pd.concat([dependency[sorted(set(pairs["target"]))].add_suffix("_dependency"),
                         response[drugs].add_suffix("_ic50")], axis=1).reindex(expression.index)
    outputs.rename_axis("sample").to_csv(outputs_path)
    (checkout / "data/genesets").mkdir(parents=True)
    shutil.copy2(small_run / "resources/raw/demo/small/genesets.gmt", checkout / "data/genesets/my_pathways.gmt")
    (checkout / "config/my_prepared.yaml").write_text(yaml.safe_dump(config))
    dry_run, real_run = commands
    assert "This was a dry-run" in snakemake(checkout, dry_run)
    # the real command up to the modelled pairs (the cohort imported, the pairs counted)
    snakemake(checkout, real_run.replace("--cores 2", "--cores 2 results/my_prepared/pairs.tsv", 1))
    modelled = pd.read_csv(checkout / "results/my_prepared/pairs.tsv", sep="\t").set_index("name")
    demo = pd.read_csv(small_run / "results/small/pairs.tsv", sep="\t").set_index("name")
    # the same complete cell lines per pair as the demo run that the tables came from
    assert modelled["n_cell_lines"].to_dict() == demo["n_cell_lines"].to_dict()
