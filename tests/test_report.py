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
    expected += [(figure, f"{cohort}__{p}") for figure in ("supp_robustness", "supp_weights")
                 for cohort in ("tahoe", "pdx") for p in VALIDATED[cohort]]
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


def test_report_builds_with_every_figure_caption_and_table_page(small_run: Path) -> None:
    result = run_snakemake(small_run, "--report", "results/small/report.zip", "--configfile", "config/small.yaml")
    # no warnings flood: the report's figure labels used to leave ~80 "coroutine ... never awaited"
    assert "never awaited" not in result.stderr and result.stderr.count("Warning") == 0, result.stderr[-2000:]
    with zipfile.ZipFile(small_run / "results/small/report.zip") as archive:
        names = archive.namelist()
        text = "".join(archive.read(n).decode("utf-8", "ignore") for n in names if n.endswith((".html", ".js")))
    pngs = [n for n in names if n.endswith(".png")]
    assert len(pngs) == len(expected_figures())  # every figure, each once
    # the tables as pages: overview, who benefits per pair, comparison, validation, figure index
    # (the zip keeps each result as data/raw/<id>/<file name>)
    pages = sorted(Path(n).name for n in names if n.endswith(".html") and "/data/raw/" in n)
    expected_pages = ["overview.html", "model_comparison.html", "test_metrics.html", "validation_summary.html",
                      "validation_robustness.html",
                      "figure_index.html", "versions.html", "inputs.html"] + [f"{pair}.html" for pair in DEMO_PAIRS]
    assert pages == sorted(expected_pages)
    from forge.figures.registry import caption_text, figure_subject, load_all, validation_cohorts
    from forge.modelling.pairs import read_selected_pairs

    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)  # JSON escapes
    flat = " ".join(text.replace("\\n", " ").split())
    specs = load_all()
    pairs = read_selected_pairs(small_run / "results/small/pairs.tsv")
    cohorts = validation_cohorts("Erlotinib", "erlotinib", "NSCLC")
    for figure, name in expected_figures():  # every figure's caption, filled for its pair, is in the report
        caption = caption_text(specs[figure], figure_subject(specs[figure], name, pairs, cohorts))
        opening = " ".join(caption.split(". ")[0].split())
        assert opening in flat, (figure, name, opening)
    # captions name the pair shown, never another pair's drug, and never the raw name
    assert "Labels of EGFR–erlotinib." in flat and "Labels of EGFR_ERLOTINIB" not in flat
    assert ("PDX validation of A1CF–vorinostat (negative control) on the Gao et al. 2015 NSCLC PDX models "
            "treated with erlotinib that have RNA-seq. The cohort was treated with erlotinib, not with vorinostat") in flat
    for phrase in ("FORGE (Factorization Of Response and Gene Essentiality) workflow report",
                   "1 Overview", "2 Who benefits", "Every external-validation test", "Provenance of this run",
                   "docs/METHOD.md"):
        assert phrase in text, phrase
    versions = pd.read_csv(small_run / "results/small/provenance/versions.tsv", sep="\t").set_index("component")
    assert versions.loc["numpy", "version"] == "2.4.6"
    inputs = pd.read_csv(small_run / "results/small/provenance/inputs.tsv", sep="\t")
    assert inputs["sha256"].str.fullmatch("[0-9a-f]{64}").all() and len(inputs) > 10


def test_table_pages_hold_every_row_and_the_tsv(small_run: Path) -> None:
    """A table page has one row per TSV row, numbers carry their exact value as sort key, and the
    embedded TSV (the download) is the workflow's file byte for byte."""
    import html as html_module

    page = (small_run / "results/small/report/who_benefits/EGFR_ERLOTINIB.html").read_text()
    table = pd.read_csv(small_run / "results/small/pairs/EGFR_ERLOTINIB/who_benefits.tsv", sep="\t")
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == len(table)
    first_row = body.split("</tr>")[0]
    keys = [float(k) for k in re.findall(r'data-sort="([^"]+)"', first_row)]
    assert float(table["benefit_score"].iloc[0]) in keys and table["rank"].iloc[0] in keys
    tsv = page.split('type="text/tab-separated-values" id="table-tsv">')[1].split("</script>")[0]
    source = (small_run / "results/small/pairs/EGFR_ERLOTINIB/who_benefits.tsv").read_text()
    assert tsv.replace("<\\/", "</") == source
    assert "http://" not in page and "https://" not in page  # self-contained: nothing fetched
    overview = (small_run / "results/small/report/overview.html").read_text()
    assert html_module.escape("EGFR–erlotinib") in overview and "Key numbers per pair" in overview
    assert "The FORGE method, as this workflow implements it" in overview  # docs/METHOD.md


def test_paper_context_names_where_the_paper_shows_each_pair() -> None:
    from forge.figures.report import paper_context
    from forge.modelling.pairs import Pair

    assert paper_context(Pair("NAMPT_DAPORINAD", "NAMPT", "DAPORINAD")).startswith("Fig. 6d–n")
    assert paper_context(Pair("my-braf", "BRAF", "DABRAFENIB")).startswith("Supplementary: BRAF")  # by record
    assert paper_context(Pair("A1CF_VORINOSTAT", "A1CF", "VORINOSTAT", control=True)) == (
        "Supplementary: negative-control panels")
    assert paper_context(Pair("MET_CRIZOTINIB", "MET", "CRIZOTINIB")) == ""
    assert paper_context(None) == ""


def test_captions_are_filled_from_the_pair_record_and_the_cohort() -> None:
    """Every caption names the pair shown (title from its record, not its name), its target and drug
    where it speaks of them, and the validation cohort's own treatment."""
    from forge.figures.registry import caption_text, figure_subject, load_all, validation_cohorts
    from forge.modelling.pairs import Pair

    custom = Pair("egfr-main", "EGFR", "ERLO_TINIB", ("GEFITINIB",))
    control = Pair("no.signal", "A1CF", "VORINOSTAT", control=True)
    pairs = {p.name: p for p in (custom, control)}
    cohorts = validation_cohorts("Erlo_tinib", "erlo_tinib", "NSCLC")
    for figure, spec in load_all().items():
        names = {"pair": list(pairs), "pairs": ["all_pairs"],
                 "validation": [f"{c}__{p}" for c in spec.cohorts for p in pairs]}[spec.scope]
        for name in names:
            subject = figure_subject(spec, name, pairs, cohorts)
            caption = caption_text(spec, subject)
            assert "{" not in caption and "}" not in caption, (figure, name)
            if subject.pair is not None:
                assert subject.pair.title in caption, (figure, name)
                other = next(p for p in pairs.values() if p is not subject.pair)
                assert other.title not in caption, (figure, name)
                if spec.scope == "pair":  # (a validation caption names its cohort's drug too)
                    assert other.drug.lower() not in caption, (figure, name)
    assert custom.title == "egfr-main: EGFR–erlo_tinib" and Pair("EGFR_ERLOTINIB", "EGFR", "ERLOTINIB").title == (
        "EGFR–erlotinib")
    spec = load_all()["fig5_pdx"]
    own = caption_text(spec, figure_subject(spec, "pdx__egfr-main", pairs, cohorts))
    scored_elsewhere = caption_text(spec, figure_subject(spec, "pdx__no.signal", pairs, cohorts))
    assert "treated with erlo_tinib" in own and "not with" not in own
    assert "(negative control)" in scored_elsewhere and "treated with erlo_tinib, not with vorinostat" in scored_elsewhere
    fig1 = caption_text(load_all()["fig1"], figure_subject(load_all()["fig1"], "egfr-main", pairs, cohorts))
    assert fig1.startswith("Labels of egfr-main: EGFR–erlo_tinib. **d** Distribution of the EGFR CRISPR")
    assert "The erlo_tinib IC50" in fig1


def _prepared_run(workdir: Path, run: str, drug: str, names: tuple[str, str]) -> pd.DataFrame:
    """Run the workflow on a prepared cohort whose EGFR drug is ``drug``, with the pairs named
    ``names`` (EGFR pair, control pair; "" = the default TARGET_DRUG); return its figure index."""
    prepared = workdir / "prepared"
    outputs = pd.read_csv(prepared / "outputs.csv", index_col=0).rename(columns={"ERLOTINIB_ic50": f"{drug}_ic50"})
    outputs.to_csv(prepared / f"outputs_{run}.csv")
    pd.DataFrame({"name": list(names), "drug": [drug, "VORINOSTAT"], "target": ["EGFR", "A1CF"],
                  "extra_drugs": ["GEFITINIB", ""], "control": ["false", "true"]}).to_csv(
        prepared / f"pairs_{run}.tsv", sep="\t", index=False)
    (workdir / f"{run}.yaml").write_text(
        f"cohort: prepared\nrun_name: {run}\n"
        f"data: {{source: prepared, prepared: {{expression: prepared/expression.csv, outputs: prepared/outputs_{run}.csv,"
        " models: prepared/Model.csv}}\n"
        f"pairs: {{table: prepared/pairs_{run}.tsv}}\n"
        "stages: {tahoe: false, pdx: false, analysis: true, figures: true}\n"
        "genes: {n_per_target: 30}\n"
        "model: {n_components: 10, max_iter: 150, replicates: 2}\n"
        "tuning: {k_grid: [10, 20], n_init: 1}\n"
        "analysis: {enrichment: {libraries: [prepared/genesets.gmt]}}\n")
    run_snakemake(workdir, "--configfile", f"{run}.yaml")
    return pd.read_csv(workdir / f"results/{run}/figures/index.tsv", sep="\t", keep_default_na=False)


def test_custom_pair_names_and_a_drug_with_underscore_draw_every_panel(small_run: Path, tmp_path: Path) -> None:
    """A pair is a record, not a name to split: a prepared cohort whose drug is ERLO_TINIB, with pairs
    named freely, draws exactly the panels that the default names (EGFR_ERLOTINIB) draw, and its
    report pages and overview name the pair by its record."""
    from conftest import copy_workflow
    from forge.io import read_parquet_matrix

    workdir = copy_workflow(tmp_path / "wf")
    prepared = workdir / "prepared"
    prepared.mkdir()
    processed = small_run / "resources/processed/small"
    expression = read_parquet_matrix(processed / "expression.parquet")
    dependency = read_parquet_matrix(processed / "dependency.parquet")
    response = read_parquet_matrix(processed / "response.parquet")
    expression.rename_axis("sample").round(6).to_csv(prepared / "expression.csv")
    outputs = pd.DataFrame({"EGFR_dependency": dependency["EGFR"], "A1CF_dependency": dependency["A1CF"],
                            "ERLOTINIB_ic50": response["ERLOTINIB"], "GEFITINIB_ic50": response["GEFITINIB"],
                            "VORINOSTAT_ic50": response["VORINOSTAT"]}).reindex(expression.index)
    outputs.rename_axis("sample").to_csv(prepared / "outputs.csv")
    # lineages: prepared samples are matched to Model.csv by stripped cell-line name (here the ModelID)
    models = pd.read_csv(small_run / "resources/raw/demo/small/Model.csv")
    models.assign(StrippedCellLineName=models["ModelID"]).to_csv(prepared / "Model.csv", index=False)
    (prepared / "genesets.gmt").write_bytes((small_run / "resources/raw/demo/small/genesets.gmt").read_bytes())

    default = _prepared_run(workdir, "default_names", "ERLOTINIB", ("", ""))
    custom = _prepared_run(workdir, "custom_names", "ERLO_TINIB", ("egfr-main", "no.signal"))
    renamed = {"egfr-main": "EGFR_ERLOTINIB", "no.signal": "A1CF_VORINOSTAT"}
    custom["name"] = custom["name"].replace(renamed)
    key = ["figure", "name", "panel"]
    compared = default[key + ["status"]].merge(custom[key + ["status"]], on=key, how="outer",
                                               suffixes=("_default", "_custom"), indicator=True)
    assert (compared["_merge"] == "both").all(), compared[compared["_merge"] != "both"]
    assert (compared["status_default"] == "drawn").sum() > 0.9 * len(compared)
    drawn_default = compared["status_default"] == "drawn"
    assert (compared.loc[drawn_default, "status_custom"] == "drawn").all(), compared[drawn_default]
    # the multi-drug panel and the paper context come from the record too
    assert set(custom.loc[custom["name"] == "A1CF_VORINOSTAT", "paper_context"]) == {
        "Supplementary: negative-control panels"}
    assert set(custom.loc[custom["name"] == "EGFR_ERLOTINIB", "paper_context"]) == {"main figures (EGFR–erlotinib)"}
    pages = workdir / "results/custom_names/report"
    assert (pages / "who_benefits/egfr-main.html").exists() and (pages / "who_benefits/no.signal.html").exists()
    overview = (pages / "overview.html").read_text()
    assert "egfr-main: EGFR–erlo_tinib" in overview and "ERLO_TINIB" in overview


def test_rst_captions_show_any_pair_name_literally() -> None:
    """A pair named with rst markup characters (``X_`` would be a link target) renders as written."""
    from docutils.core import publish_parts

    from forge.figures.registry import caption_text, figure_subject, load_all
    from forge.modelling.pairs import Pair

    pair = Pair("EGFR_", "EGFR", "ERLO*TINIB_")
    spec = load_all()["fig1"]
    rst = caption_text(spec, figure_subject(spec, pair.name, {pair.name: pair}), rst=True)
    body = publish_parts(rst, writer="html", settings_overrides={"report_level": 5, "halt_level": 2})["body"]
    assert "Labels of EGFR_: EGFR–erlo*tinib_." in body and "<strong>d</strong>" in body
