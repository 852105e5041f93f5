"""Figures and the Snakemake report of the small demo's run: every expected file, the index, the report's content."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd

from conftest import run_snakemake

DEMO_PAIRS = ["EGFR_ERLOTINIB", "A1CF_VORINOSTAT"]  # config/pairs_small.tsv
PAIR_FIGURES = ["fig1", "fig2", "fig3", "fig4", "supp_tuning", "supp_lineage"]
VALIDATED = {"tahoe": ["EGFR_ERLOTINIB", "A1CF_VORINOSTAT"], "pdx": ["EGFR_ERLOTINIB", "A1CF_VORINOSTAT"]}


def expected_figures() -> list[tuple[str, str]]:
    expected = [(figure, pair) for figure in PAIR_FIGURES for pair in DEMO_PAIRS]
    expected += [("fig4c", "all_pairs"), ("fig6", "all_pairs")]
    expected += [("fig5_tahoe", f"tahoe__{p}") for p in VALIDATED["tahoe"]]
    expected += [("fig5b_tahoe_cells", f"tahoe__{p}") for p in VALIDATED["tahoe"]]
    expected += [("fig5_pdx", f"pdx__{p}") for p in VALIDATED["pdx"]]
    expected += [("supp_pdx", f"pdx__{p}") for p in VALIDATED["pdx"]]
    return expected


def test_every_figure_is_drawn_and_indexed(small_run: Path) -> None:
    index = pd.read_csv(small_run / "results/small/figures/index.tsv", sep="\t", keep_default_na=False)
    drawn = set(zip(index["figure"], index["name"]))
    for figure, name in expected_figures():
        assert (figure, name) in drawn, (figure, name)
        png = small_run / "results/small/figures" / figure / f"{name}.png"
        pdf = png.with_suffix(".pdf")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000, png
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000, pdf
    # every panel row names its paper panel, its tables, and is drawn or says why not
    assert index["paper_panel"].str.len().gt(0).all() and index["tables"].str.len().gt(0).all()
    assert index["status"].isin(["drawn"]).sum() > 0.9 * len(index)
    assert (index.loc[index["status"] != "drawn", "status"].str.startswith("not drawn: ")).all()
    # the multi-drug panel exists only for EGFR-erlotinib (gefitinib): the others say why
    multi = index[(index["figure"] == "fig2") & (index["panel"] == "p")].set_index("name")["status"]
    assert multi["EGFR_ERLOTINIB"] == "drawn" and multi["A1CF_VORINOSTAT"].startswith("not drawn: ")
    context = index.drop_duplicates("name").set_index("name")["paper_context"]
    assert context["A1CF_VORINOSTAT"].startswith("Supplementary: negative-control")
    assert context["EGFR_ERLOTINIB"].startswith("main figures")
    # paper figures the demo covers
    panels = set(index["paper_panel"])
    for needed in ("Fig. 1d", "Fig. 2b", "Fig. 2p", "Fig. 3a", "Fig. 3e", "Fig. 4c", "Fig. 5b", "Fig. 5f", "Fig. 6b"):
        assert any(p.startswith(needed) for p in panels), needed


def test_who_benefits_table_is_ranked_and_named(small_run: Path) -> None:
    table = pd.read_csv(small_run / "results/small/pairs/EGFR_ERLOTINIB/who_benefits.tsv", sep="\t")
    assert table["rank"].tolist() == list(range(1, len(table) + 1)) and len(table) == 400  # every cell line of the small demo
    assert table["benefit_score"].is_monotonic_decreasing
    assert table["CellLineName"].notna().all() and {"lineage", "benefit_score_replicate_sd"} <= set(table.columns)


def test_report_builds_with_every_figure_and_caption(small_run: Path) -> None:
    run_snakemake(small_run, "--report", "results/small/report.zip", "--configfile", "config/small.yaml")
    with zipfile.ZipFile(small_run / "results/small/report.zip") as archive:
        names = archive.namelist()
        text = "".join(archive.read(n).decode("utf-8", "ignore") for n in names if n.endswith((".html", ".js")))
    pngs = [n for n in names if n.endswith(".png")]
    assert len(pngs) == len(expected_figures())  # every figure, each once
    from forge.figures.registry import load_all

    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)  # JSON escapes
    flat = " ".join(text.replace("\\n", " ").split())
    for figure, spec in load_all().items():  # every figure's caption (its opening words) is in the report
        opening = spec.caption.split("{name}")[0].split(".")[0].split("(")[0].strip()
        assert opening and opening in flat, (figure, opening)
    for phrase in ("FORGE (Factorization Of Response and Gene Essentiality) workflow report",
                   "Who benefits", "Every external-validation test", "Provenance of this run"):
        assert phrase in text, phrase
    versions = pd.read_csv(small_run / "results/small/provenance/versions.tsv", sep="\t").set_index("component")
    assert versions.loc["numpy", "version"] == "2.4.6"
    inputs = pd.read_csv(small_run / "results/small/provenance/inputs.tsv", sep="\t")
    assert inputs["sha256"].str.fullmatch("[0-9a-f]{64}").all() and len(inputs) > 10


def test_paper_context_names_where_the_paper_shows_each_pair() -> None:
    from forge.figures.report import paper_context

    pairs = pd.DataFrame({"name": ["NAMPT_DAPORINAD", "BRAF_DABRAFENIB", "A1CF_VORINOSTAT", "MET_CRIZOTINIB"],
                          "control": ["false", "false", "true", "false"]})
    assert paper_context("fig3__NAMPT_DAPORINAD", pairs).startswith("Fig. 6d–n")
    assert paper_context("BRAF_DABRAFENIB", pairs).startswith("Supplementary: BRAF")
    assert paper_context("A1CF_VORINOSTAT", pairs) == "Supplementary: negative-control panels"
    assert paper_context("MET_CRIZOTINIB", pairs) == ""
