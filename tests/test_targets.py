"""What a run produces (forge.targets), the layout (forge.layout) and the code version of a rule
(forge.code_version), without Snakemake."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from forge import layout
from forge.code_version import library_files
from forge.figures.registry import load_all
from forge.modelling.pairs import Pair
from forge.targets import ANALYSIS_TABLES, all_validation_pairs, figure_files, needs_analysis, validation_pairs

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "config/config.yaml").read_text())

PAIRS = {
    "EGFR_ERLOTINIB": Pair("EGFR_ERLOTINIB", "EGFR", "ERLOTINIB"),
    # a custom name, the cohort's drug only among the extra drugs, spelled with spaces and case
    "egfr-multi": Pair("egfr-multi", "EGFR", "GEFITINIB", (" Erlotinib ",)),
    "BRAF_DABRAFENIB": Pair("BRAF_DABRAFENIB", "BRAF", "DABRAFENIB"),
    "ctrl": Pair("ctrl", "GAPDH", "DABRAFENIB", control=True),
}


def config_with(**changes) -> dict:
    config = copy.deepcopy(CONFIG)
    config.setdefault("stages", {}).update(tahoe=True, pdx=True)
    config.setdefault("validation", {}).setdefault("tahoe", {})["pairs"] = []
    config["validation"].setdefault("pdx", {})["pairs"] = []
    config["validation"]["include_controls"] = False
    config.setdefault("tahoe", {})["drug"] = "erlotinib"
    config.setdefault("pdx", {})["treatment"] = "dabrafenib"
    for path, value in changes.items():
        section, key = path.split("__")
        config[section][key] = value
    return config


def test_pairs_of_the_cohorts_drug_are_validated_by_drug_or_extra_drug() -> None:
    config = config_with()
    assert validation_pairs(config, "tahoe", PAIRS) == ["EGFR_ERLOTINIB", "egfr-multi"]
    assert validation_pairs(config, "pdx", PAIRS) == ["BRAF_DABRAFENIB", "ctrl"]  # the control takes the drug


def test_controls_are_added_as_negative_controls_only_when_asked() -> None:
    config = config_with(validation__include_controls=True)
    assert validation_pairs(config, "tahoe", PAIRS) == ["EGFR_ERLOTINIB", "egfr-multi", "ctrl"]


def test_a_stage_off_validates_nothing_and_listed_pairs_are_taken_as_listed() -> None:
    config = config_with(stages__tahoe=False)
    config["validation"]["pdx"]["pairs"] = ["ctrl", "EGFR_ERLOTINIB"]
    assert all_validation_pairs(config, PAIRS) == {"tahoe": [], "pdx": ["ctrl", "EGFR_ERLOTINIB"]}


def test_a_listed_pair_that_is_not_modelled_is_named_in_the_error() -> None:
    config = config_with()
    config["validation"]["tahoe"]["pairs"] = ["EGFR_ERLOTINIB", "KRAS_X"]
    with pytest.raises(ValueError, match=r"validation\.tahoe\.pairs: \['KRAS_X'\] are not modelled pairs"):
        validation_pairs(config, "tahoe", PAIRS)


def test_figure_files_follow_the_scopes_and_leave_analysis_figures_out_without_the_stage() -> None:
    specs = load_all()
    validated = all_validation_pairs(config_with(), PAIRS)
    files = figure_files(specs, PAIRS, validated, analysis=True, results="results/x", suffix="png")
    # an independent count: one file per pair, one for all pairs, one per cohort and validated pair
    expected = sum(
        len(PAIRS) if spec.scope == "pair" else 1 if spec.scope == "pairs"
        else sum(len(validated[c]) for c in spec.cohorts)
        for spec in specs.values()
    )
    assert len(files) == len(set(files)) == expected
    assert all(f.startswith("results/x/figures/") and f.endswith(".png") for f in files)
    without = figure_files(specs, PAIRS, validated, analysis=False, results="results/x", suffix="png")
    dropped = {f.split("/")[3] for f in set(files) - set(without)}
    analysis_figures = {name for name, spec in specs.items()
                        if any(t.removesuffix("@pairs") in ANALYSIS_TABLES for t in spec.tables)}
    assert dropped == analysis_figures and analysis_figures  # some figures need the analysis stage
    assert all(needs_analysis(specs[name]) for name in analysis_figures)


def test_every_table_a_figure_reads_is_in_the_layout() -> None:
    for name, spec in load_all().items():
        for key in spec.tables:
            assert key.removesuffix("@pairs") in layout.RESULT_TABLES, (name, key)
    assert ANALYSIS_TABLES <= set(layout.RESULT_TABLES)


def test_run_layout_paths() -> None:
    run = layout.RunLayout("r1")
    assert run.table("metrics") == "results/r1/pairs/{pair}/metrics.tsv"
    assert run.table("validation_tests", cohort="pdx", pair="A_B") == "results/r1/validation/pdx/A_B/tests.tsv"
    assert run.validation_table("tahoe", "de") == "results/r1/validation/tahoe/{pair}/de.tsv"
    with pytest.raises(KeyError, match="not a pdx validation table"):
        run.validation_table("pdx", "de")
    plate = layout.tahoe_plate_file(7)
    assert run.raw_file(plate, "demo") == f"resources/raw/demo/r1/{plate}"
    assert run.raw_file(plate, "download") == f"resources/raw/{plate}"
    assert run.raw_file("Model.csv", "download") == "resources/raw/depmap/Model.csv"
    assert layout.downloaded_path("Reactome_2022.gmt") == "resources/raw/enrichr/Reactome_2022.gmt"
    with pytest.raises(KeyError, match="not a raw file"):
        layout.downloaded_path("unknown.csv")


# -- code version -------------------------------------------------------------------------------


@pytest.fixture()
def library(tmp_path: Path) -> Path:
    """A small library: a script uses forge.a, which imports forge.b inside a function and names
    forge.d in a string; forge.c is not used; forge_core is imported by forge.b."""
    (tmp_path / "forge").mkdir()
    (tmp_path / "forge/__init__.py").write_text("")
    (tmp_path / "forge/a.py").write_text(
        "def run():\n    from forge.b import thing\n    return thing, 'forge.d:draw'\n")
    (tmp_path / "forge/b.py").write_text("import forge_core\nthing = 1\n")
    (tmp_path / "forge/c.py").write_text("unused = 1\n")
    (tmp_path / "forge/d.py").write_text("def draw():\n    pass\n")
    (tmp_path / "forge_core.py").write_text("core = 1\n")
    (tmp_path / "script.py").write_text("from forge import a\na.run()\n")
    return tmp_path


def test_library_files_are_the_transitive_uses(library: Path) -> None:
    names = [p.relative_to(library).as_posix() for p in library_files(library / "script.py", library)]
    assert names == ["forge/__init__.py", "forge/a.py", "forge/b.py", "forge/d.py", "forge_core.py"]


def test_the_digest_changes_with_used_code_only(library: Path) -> None:
    def digest() -> str:
        # a fresh process: the module caches what it read
        return subprocess.run(
            [sys.executable, "-c", "from forge.code_version import code_digest; "
             f"print(code_digest({str(library / 'script.py')!r}, {str(library)!r}))"],
            capture_output=True, text=True, check=True, env={"PYTHONPATH": str(REPO / "scripts")},
        ).stdout.strip()

    before = digest()
    assert len(before) == 16 and digest() == before  # deterministic
    (library / "forge/c.py").write_text("unused = 2\n")
    assert digest() == before  # a module the script does not use
    for used in ("forge_core.py", "forge/d.py", "script.py"):
        path = library / used
        path.write_text(path.read_text() + "# edited\n")
        after = digest()
        assert after != before, used
        before = after


def test_every_rule_with_a_script_carries_its_code_version() -> None:
    """Each rule's script is named in its params' code_version (downloads excepted: a new
    downloader must not fetch the plates again; checksums guard the files)."""
    import re

    missing = []
    for path in sorted((REPO / "workflow/rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=\s*(?:rule|checkpoint) \w+:)", path.read_text()):
            rule = re.match(r"\s*(?:rule|checkpoint) (\w+):", block)
            script = re.search(r'script:\n\s+"\.\./scripts/(\w+\.py)"', block)
            if rule and script and not rule.group(1).startswith("download_"):
                if f'code=code_version("{script.group(1)}")' not in block:
                    missing.append(rule.group(1))
    assert missing == []
