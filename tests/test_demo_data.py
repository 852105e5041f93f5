"""Tests of the embedded demo-data generator (forge.sources.demo_data)."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats


from forge.sources import demo_data
from forge.rules import job_from_mapping, run_adapter
from forge.sources.demo_data import DEMO_FILES, write_demo_dataset

SMALL = {"n_cell_lines": 80, "n_genes": 500, "cells_per_condition": 3}
BYTE_STABLE_SUFFIXES = (".csv", ".gmt", ".json", ".xlsx")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, float]:
    """The default-size dataset, generated once; returns (directory, truth, seconds)."""
    outdir = tmp_path_factory.mktemp("demo") / "raw" / "demo"
    started = time.perf_counter()
    truth = write_demo_dataset(outdir)
    return outdir, truth, time.perf_counter() - started


def _read_csv(path: Path, **kwargs) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""], **kwargs)


def _symbol(column: str) -> str:
    return column.split(" (")[0]


def _stripped(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", name).upper()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _h5ad_contents(path: Path) -> tuple:
    import anndata as ad

    adata = ad.read_h5ad(path)
    x = adata.X.tocsr()
    return (x.data.tobytes(), x.indices.tobytes(), x.indptr.tobytes(), str(x.dtype),
            adata.obs.astype(str).to_csv(), adata.var.to_csv())


def _default_expression(outdir: Path) -> pd.DataFrame:
    """log2 CPM of default RNA profiles, indexed by ModelID, columns = symbols."""
    counts = pd.read_csv(outdir / "OmicsExpressionRNASeQCGeneCountProfile.csv", index_col=0)
    profiles = pd.read_csv(outdir / "OmicsProfiles.csv")
    default = profiles[(profiles.Datatype == "rna") & (profiles.IsDefaultEntryForModel == "Yes")]
    counts = counts.loc[default.ProfileID]
    counts.index = default.ModelID.to_numpy()
    counts.columns = [_symbol(c) for c in counts.columns]
    return np.log2(counts.div(counts.sum(axis=1), axis=0) * 1e6 + 1)


def _module_score(log_cpm: pd.DataFrame, module_genes: dict[str, float]) -> pd.Series:
    genes = list(module_genes)
    z = (log_cpm[genes] - log_cpm[genes].mean()) / log_cpm[genes].std()
    return (z * pd.Series(module_genes)).mean(axis=1)


def _ic50_by_model(outdir: Path) -> pd.DataFrame:
    """IC50 (lines x drugs) mapped to ModelIDs by unique stripped name."""
    ic50 = pd.read_csv(outdir / "creammist_ic50.csv", index_col="drug").T
    models = _read_csv(outdir / "Model.csv", dtype=str)
    counts = models.StrippedCellLineName.value_counts()
    unique = models[models.StrippedCellLineName.map(counts) == 1]
    model_of = dict(zip(unique.StrippedCellLineName, unique.ModelID))
    ic50.index = [model_of.get(_stripped(n)) for n in ic50.index]
    return ic50[ic50.index.notna()]


# ------------------------------------------------------------------ determinism, runtime


def test_default_size_runtime_and_file_set(demo):
    outdir, truth, seconds = demo
    assert seconds < 30, f"generation took {seconds:.1f} s"
    written = sorted(str(p.relative_to(outdir)) for p in outdir.rglob("*") if p.is_file())
    assert written == sorted(DEMO_FILES)
    assert sum((outdir / f).stat().st_size for f in DEMO_FILES) < 60e6
    assert not list(outdir.parent.glob("demo.tmp-*"))
    assert truth == json.loads((outdir / "planted_truth.json").read_text())
    assert truth["seed"] == 20251125 and truth["sizes"]["n_cell_lines"] == 360


def test_same_seed_identical_and_other_seed_differs(tmp_path):
    first = tmp_path / "a"
    second = tmp_path / "b"
    other = tmp_path / "c"
    write_demo_dataset(first, seed=7, **SMALL)
    write_demo_dataset(second, seed=7, **SMALL)
    write_demo_dataset(other, seed=8, **SMALL)
    for name in DEMO_FILES:
        if name.endswith(BYTE_STABLE_SUFFIXES):
            assert _digest(first / name) == _digest(second / name), name
        else:  # h5ad: compare contents (HDF5 bytes are not part of the contract)
            assert _h5ad_contents(first / name) == _h5ad_contents(second / name), name
    for name in ("OmicsExpressionRNASeQCGeneCountProfile.csv", "Model.csv",
                 "creammist_ic50.csv", "nm.3954-S2.xlsx"):
        assert _digest(first / name) != _digest(other / name), name
    assert _h5ad_contents(first / DEMO_FILES[7]) != _h5ad_contents(other / DEMO_FILES[7])


def test_failure_leaves_no_temp_dir(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("planted failure")

    monkeypatch.setattr(demo_data, "_write_gmt", boom)
    with pytest.raises(RuntimeError, match="planted failure"):
        write_demo_dataset(tmp_path / "demo", **SMALL)
    assert list(tmp_path.iterdir()) == []


def test_snakemake_adapter(tmp_path):
    outdir = tmp_path / "resources" / "raw" / "demo"
    log_file = tmp_path / "demo.log"
    job = job_from_mapping(dict(params=dict(seed=3, **SMALL),
                                output=[str(outdir / "Model.csv"), str(outdir / "planted_truth.json")],
                                log=[str(log_file)]), rule="demo_raw_data")
    run_adapter(Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "demo_raw_data.py", job)
    assert (outdir / "Model.csv").exists()
    assert "wrote" in log_file.read_text()


# ------------------------------------------------------------------ formats


def test_depmap_expression_and_profiles(demo):
    outdir, truth, _ = demo
    with open(outdir / "OmicsExpressionRNASeQCGeneCountProfile.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[0] == ""
    assert len(header) - 1 == truth["sizes"]["n_genes"]
    assert all(re.fullmatch(r"[A-Za-z0-9]+ \(ENSG00000\d{6}\)", c) for c in header[1:])
    symbols = {_symbol(c) for c in header[1:]}
    assert {"EGFR", "NAMPT", "BRAF", "RAF1", "A1CF", "HDAC1", "CCN2", "PGAP6"} <= symbols
    counts = pd.read_csv(outdir / "OmicsExpressionRNASeQCGeneCountProfile.csv", index_col=0)
    assert all(re.fullmatch(r"PR-[A-Za-z0-9]{6}", p) for p in counts.index)
    assert all(dtype.kind == "i" for dtype in counts.dtypes)
    library = counts.sum(axis=1)
    assert 3e6 < library.min() and library.max() < 8e7
    assert (counts == 0).mean().max() > 0.5  # some genes mostly zero
    means = counts.mean()
    assert means.max() / means[means > 0].min() > 1e4  # several orders of magnitude

    profiles = pd.read_csv(outdir / "OmicsProfiles.csv")
    assert list(profiles.columns) == ["ProfileID", "ModelConditionID", "ModelID", "Datatype",
                                      "IsDefaultEntryForModel", "Source"]
    assert set(profiles.Datatype) == {"rna", "wgs"}
    assert set(profiles.Source) <= {"Broad", "Sanger"}
    rna = profiles[profiles.Datatype == "rna"]
    assert set(rna.ProfileID) == set(counts.index)
    default_per_model = rna[rna.IsDefaultEntryForModel == "Yes"].ModelID.value_counts()
    assert (default_per_model == 1).all() and len(default_per_model) == 360
    assert 10 <= (rna.IsDefaultEntryForModel == "No").sum() <= 20


def test_model_table(demo):
    outdir, truth, _ = demo
    models = _read_csv(outdir / "Model.csv", dtype=str)
    assert list(models.columns) == ["ModelID", "PatientID", "CellLineName",
                                    "StrippedCellLineName", "DepmapModelType", "OncotreeLineage",
                                    "OncotreePrimaryDisease", "RRID", "Sex"]
    assert len(models) == 360 and models.ModelID.is_unique
    assert models.ModelID.str.fullmatch(r"ACH-\d{6}").all()
    assert (models.StrippedCellLineName == models.CellLineName.map(_stripped)).all()
    rrid = models.RRID.dropna()
    assert rrid.str.fullmatch(r"CVCL_[A-Z0-9]{4}").all() and rrid.is_unique
    assert 0.01 < models.RRID.isna().mean() < 0.10
    assert models.OncotreeLineage.nunique() == 8
    assert models.OncotreeLineage.value_counts().nunique() > 3  # unequal sizes
    assert models.CellLineName.str.contains(r"[-. ]").mean() > 0.5
    normal = models[models.DepmapModelType == "NORM"]
    assert len(normal) == 1
    assert normal.iloc[0][["CellLineName", "StrippedCellLineName", "OncotreeLineage",
                           "OncotreePrimaryDisease"]].tolist() == [
        "hTERT-HPNE", "HTERTHPNE", "Pancreas", "Non-Cancerous"]
    duplicated = models[models.StrippedCellLineName.duplicated(keep=False)]
    assert duplicated.StrippedCellLineName.nunique() == 3 and len(duplicated) == 6
    planted = {tuple(sorted(p["names"])) for p in truth["colliding_name_pairs"]}
    observed = {tuple(sorted(g.CellLineName)) for _, g in duplicated.groupby("StrippedCellLineName")}
    assert planted == observed


def test_crispr_dependency(demo):
    outdir, truth, _ = demo
    with open(outdir / "CRISPRGeneDependency.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[0] == ""
    assert all(re.fullmatch(r"[A-Za-z0-9]+ \(\d+\)", c) for c in header[1:])
    dependency = pd.read_csv(outdir / "CRISPRGeneDependency.csv", index_col=0)
    assert 900 <= dependency.shape[1] <= 1000
    symbols = {_symbol(c) for c in dependency.columns}
    assert {"EGFR", "NAMPT", "BRAF", "RAF1", "A1CF", "HDAC1", "HDAC2", "HDAC3"} <= symbols
    values = dependency.to_numpy()
    assert np.nanmin(values) >= 0 and np.nanmax(values) <= 1
    assert 0 < np.isnan(values).sum() < 100
    models = pd.read_csv(outdir / "Model.csv")
    missing = set(models.ModelID) - set(dependency.index)
    assert 0.04 < len(missing) / len(models) < 0.12
    assert sorted(missing) == truth["crispr"]["crispr_unscreened_models"]


def test_creammist_and_targets(demo):
    outdir, truth, _ = demo
    ic50 = pd.read_csv(outdir / "creammist_ic50.csv")
    assert ic50.columns[0] == "drug"
    assert (ic50.drug == ic50.drug.str.upper()).all()
    drugs = set(ic50.drug)
    assert {"ERLOTINIB", "GEFITINIB", "DAPORINAD", "DABRAFENIB", "VORINOSTAT"} <= drugs
    assert len(drugs) >= 14
    missing = ic50.set_index("drug").isna().mean(axis=1)
    assert missing.between(0.05, 0.25).all()
    lines = pd.read_csv(outdir / "creammist_cell_lines.csv", keep_default_na=False)
    assert list(lines.columns) == ["cell_line_name", "cellosaurus_index"]
    assert lines.cell_line_name.tolist() == list(ic50.columns[1:])
    assert 0.2 < (lines.cellosaurus_index == "").mean() < 0.4

    models = _read_csv(outdir / "Model.csv", dtype=str)
    stripped_known = set(models.StrippedCellLineName)
    names = list(ic50.columns[1:])
    assert sorted(n for n in names if _stripped(n) not in stripped_known) == sorted(
        truth["unmappable_creammist_names"])
    assert len(truth["unmappable_creammist_names"]) == 5
    exact = set(models.CellLineName)
    variants = [n for n in names if n not in exact and _stripped(n) in stripped_known]
    assert 0.05 < len(variants) / len(names) < 0.15
    rrid_of = dict(zip(lines.cell_line_name, lines.cellosaurus_index))
    for pair in truth["colliding_name_pairs"]:
        assert set(pair["names"]) <= set(names)
        has_rrid = [rrid_of[n] != "" for n in pair["names"]]
        assert all(has_rrid) if pair["resolvable_by_rrid_in_creammist"] else not any(has_rrid)

    text = (outdir / "drug_targets.csv").read_text()
    assert text.startswith("Drug,Target\n")
    assert 'DABRAFENIB,"BRAF,RAF1"\n' in text and 'VORINOSTAT,"HDAC1,HDAC2,HDAC3"\n' in text
    targets = pd.read_csv(outdir / "drug_targets.csv")
    mapping = dict(zip(targets.Drug, targets.Target))
    assert mapping["ERLOTINIB"] == "EGFR" and mapping["DAPORINAD"] == "NAMPT"
    assert drugs <= set(mapping)
    assert not any("A1CF" in t.split(",") for t in mapping.values())


def test_tahoe_plates(demo):
    import anndata as ad

    outdir, truth, _ = demo
    models = _read_csv(outdir / "Model.csv", dtype=str)
    depmap_symbols = {_symbol(c) for c in pd.read_csv(
        outdir / "OmicsExpressionRNASeQCGeneCountProfile.csv", nrows=0).columns[1:]}
    expected_dose = {"plate7": 0.05, "plate8": 0.5, "plate9": 5.0}
    total_cells = 0
    for plate, dose in expected_dose.items():
        path = outdir / "tahoe" / f"{plate}_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad"
        adata = ad.read_h5ad(path)
        total_cells += adata.n_obs
        assert sparse.issparse(adata.X) and adata.X.format == "csr"
        assert adata.X.dtype == np.float32
        assert np.array_equal(adata.X.data, np.round(adata.X.data))
        assert {"CTGF", "TMEM8A"} <= set(adata.var_names)
        assert not {"CCN2", "PGAP6"} & set(adata.var_names)
        renamed = {"CTGF": "CCN2", "TMEM8A": "PGAP6"}
        assert {renamed.get(g, g) for g in adata.var_names} == depmap_symbols
        assert "gene_id" in adata.var.columns
        obs = adata.obs
        assert {"sample", "cell_line", "cell_name", "drug", "drugname_drugconc", "plate",
                "pass_filter", "tscp_count", "gene_count"} <= set(obs.columns)
        assert set(obs.drug) == {"Erlotinib", "DMSO_TF"}
        assert set(obs.drugname_drugconc) == {f"[('Erlotinib', {dose}, 'uM')]",
                                              "[('DMSO_TF', 0.0, 'uM')]"}
        assert set(obs.plate) == {plate}
        assert 0.8 < (obs.pass_filter == "full").mean() < 0.97
        assert set(obs.pass_filter) == {"full", "minimal"}
        row_sums = np.asarray(adata.X.sum(axis=1)).ravel()
        assert np.array_equal(row_sums, obs.tscp_count.to_numpy())
        assert np.array_equal(np.diff(adata.X.indptr), obs.gene_count.to_numpy())
        assert 700 < row_sums.min() and row_sums.max() < 6500
        assert obs.cell_line.nunique() == 16
        assert "hTERT-HPNE" in set(obs.cell_name)
        name_of_rrid = dict(zip(models.RRID, models.CellLineName))
        pairs = obs[["cell_line", "cell_name"]].astype(str).drop_duplicates()
        assert all(name_of_rrid[r] == n for r, n in pairs.itertuples(index=False))
        per_condition = obs.groupby(["cell_line", "drug"], observed=True).size()
        assert (per_condition == truth["sizes"]["cells_per_condition"]).all()
    assert 1000 < total_cells < 5000


def _tahoe_response(outdir: Path, plate: str) -> pd.Series:
    """Euclidean norm of log-CPM (treated - DMSO) pseudo-bulk per cell line (RRID)."""
    import anndata as ad

    adata = ad.read_h5ad(outdir / "tahoe" /
                         f"{plate}_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad")
    adata = adata[adata.obs.pass_filter == "full"]
    groups = adata.obs.groupby(["cell_line", "drug"], observed=True).indices
    bulk = pd.DataFrame({key: np.asarray(adata.X[idx].sum(axis=0)).ravel()
                         for key, idx in groups.items()}).T
    keep = (bulk >= 10).mean(axis=0) >= 0.5
    log_cpm = np.log2((bulk.loc[:, keep] + 0.5).div(bulk.sum(axis=1) + 1, axis=0) * 1e6)
    lines = sorted({k[0] for k in groups})
    return pd.Series({line: float(np.linalg.norm(log_cpm.loc[(line, "Erlotinib")]
                                                 - log_cpm.loc[(line, "DMSO_TF")]))
                      for line in lines})


def test_tahoe_response_tracks_dose_and_module(demo):
    outdir, truth, _ = demo
    activity = {line["RRID"]: line["M_EGFR"] for line in truth["tahoe"]["lines"]}
    responses = {plate: _tahoe_response(outdir, plate) for plate in ("plate7", "plate8", "plate9")}
    assert responses["plate9"].median() > responses["plate7"].median()
    high = responses["plate9"]
    rho = stats.spearmanr([activity[r] for r in high.index], high.to_numpy())[0]
    assert rho > 0.5
    normal = next(l["RRID"] for l in truth["tahoe"]["lines"] if l["is_normal"])
    assert high[normal] < high.median()


def test_pdx_workbook(demo):
    outdir, truth, _ = demo
    sheets = pd.read_excel(outdir / "nm.3954-S2.xlsx", sheet_name=None)
    assert list(sheets) == ["RNAseq_fpkm", "PCT raw data", "PCT curve metrics"]
    fpkm, raw, metrics = sheets.values()
    assert fpkm.columns[0] == "Sample"
    assert all(re.fullmatch(r"X-\d{4}", c) for c in fpkm.columns[1:])
    assert {"CTGF", "TMEM8A"} <= set(fpkm.Sample)
    assert list(raw.columns) == ["Model", "Tumor Type", "Treatment", "Volume (mm3)",
                                 "body weight (g)", "Days Post T0", "%TVol Difference",
                                 "%BW Difference"]
    assert list(metrics.columns) == ["Model", "Treatment", "Treatment target", "Treatment type",
                                     "BestResponse", "Day_BestResponse", "BestAvgResponse",
                                     "Day_BestAvgResponse", "TimeToDouble", "Day_Last",
                                     "ResponseCategory"]
    assert set(raw["Tumor Type"]) == {"NSCLC", "CRC", "BRCA"}
    assert 40 <= raw.Model.nunique() <= 50
    assert {"untreated", "erlotinib"} <= set(raw.Treatment) and raw.Treatment.nunique() == 4
    assert set(metrics.ResponseCategory) <= {"CR", "PR", "SD", "PD", "SD-->PD", "PR-->PD"}
    assert "-->" in "".join(metrics.ResponseCategory)
    erlotinib = raw[raw.Treatment == "erlotinib"]
    nsclc = sorted(erlotinib[erlotinib["Tumor Type"] == "NSCLC"].Model.unique())
    assert len(nsclc) == 30 and nsclc == truth["pdx"]["erlotinib_nsclc_models"]
    with_fpkm = sorted(set(nsclc) & set(fpkm.columns))
    assert len(with_fpkm) == 26 and with_fpkm == truth["pdx"]["erlotinib_nsclc_models_with_fpkm"]
    assert erlotinib.groupby("Model")["Days Post T0"].max().between(15, 28).all()
    # FPKM inverts to integer pseudo-counts with the stated formula
    spans = pd.read_csv(outdir / "gencode_v19_gene_spans.csv").set_index("gene_name")
    length = spans.loc[fpkm.Sample, "span_length"].to_numpy()
    pseudo = fpkm[with_fpkm[0]].to_numpy() * (length - 199) * 35e6 / 1e9
    # FPKM was made from counts at 35e6 fragments, so the inversion recovers that depth
    assert abs(pseudo.sum() / 35e6 - 1) < 0.05
    assert (pseudo >= 0).all() and fpkm[with_fpkm].to_numpy().max() > 100
    # planted response: higher EGFR-module activity -> lower day-10..15 %TVol change
    window = erlotinib[erlotinib["Days Post T0"].between(10, 15)]
    change = window.groupby("Model")["%TVol Difference"].mean()
    activity = pd.Series({m: v["M_EGFR"] for m, v in truth["pdx"]["module_activity"].items()})
    assert stats.spearmanr(activity[change.index], change)[0] < -0.5


def test_annotation_files(demo):
    outdir, truth, _ = demo
    spans = pd.read_csv(outdir / "gencode_v19_gene_spans.csv")
    assert list(spans.columns) == ["gene_name", "gene_type", "chrom", "start", "end", "Strand",
                                   "span_length"]
    assert (spans.span_length == spans.end - spans.start + 1).all()
    assert spans.span_length.between(500, 200_000).all()
    assert len(spans) == truth["sizes"]["n_genes"] and spans.gene_name.is_unique
    synonyms = pd.read_csv(outdir / "symbol_synonyms.csv")
    assert list(synonyms.columns) == ["alias", "official_symbol"]
    pairs = set(zip(synonyms.alias, synonyms.official_symbol))
    assert {("CTGF", "CCN2"), ("TMEM8A", "PGAP6")} <= pairs and len(synonyms) >= 50
    lines = (outdir / "genesets.gmt").read_text().splitlines()
    sets = {fields[0]: fields[2:] for fields in (line.split("\t") for line in lines)}
    assert all(line.split("\t")[1] == "" for line in lines)
    assert len(sets) >= 150
    sizes = [len(v) for k, v in sets.items() if not k.startswith("PLANTED")]
    assert min(sizes) >= 10 and max(sizes) <= 300
    for pair in truth["planted_pairs"]:
        name = truth["planted_gmt_sets"][pair["module"]]
        assert name in sets and name.startswith("PLANTED")
        overlap = set(sets[name]) & set(pair["module_genes"])
        assert len(overlap) >= 0.7 * len(pair["module_genes"])


# ------------------------------------------------------------------ planted signal


def test_planted_pairs_signal_and_control(demo):
    outdir, truth, _ = demo
    log_cpm = _default_expression(outdir)
    dependency = pd.read_csv(outdir / "CRISPRGeneDependency.csv", index_col=0)
    dependency.columns = [_symbol(c) for c in dependency.columns]
    ic50 = _ic50_by_model(outdir)
    for pair in truth["planted_pairs"]:
        score = _module_score(log_cpm, pair["module_genes"])
        dep = dependency[pair["target"]].dropna()
        common = dep.index.intersection(score.index)
        rho = stats.spearmanr(score[common], dep[common])[0]
        assert rho > 0.5, (pair["target"], rho)
        assert 0.03 < (dep > 0.5).mean() < 0.35  # mostly low with a dependent tail
        for drug in pair["drugs"]:
            measured = ic50[drug].dropna()
            common = measured.index.intersection(score.index)
            assert len(common) > 200
            rho = stats.spearmanr(score[common], measured[common])[0]
            assert rho < -0.5, (drug, rho)
    control_dep = dependency[truth["control_pair"]["target"]].dropna()
    control_ic50 = ic50[truth["control_pair"]["drug"]].dropna()
    for pair in truth["planted_pairs"]:
        score = _module_score(log_cpm, pair["module_genes"])
        for series in (control_dep, control_ic50):
            common = series.index.intersection(score.index)
            assert abs(stats.spearmanr(score[common], series[common])[0]) < 0.15


def test_truth_activity_matches_outputs(demo):
    outdir, truth, _ = demo
    activity = pd.DataFrame(truth["module_activity"]).T
    assert list(activity.columns) == ["M_EGFR", "M_NAMPT", "M_BRAF"]
    models = pd.read_csv(outdir / "Model.csv")
    assert set(activity.index) == set(models.ModelID)
    lineage = models.set_index("ModelID").OncotreeLineage
    assert (activity.loc[lineage[lineage == "Lung"].index, "M_EGFR"].mean()
            > activity.loc[lineage[lineage != "Lung"].index, "M_EGFR"].mean() + 0.3)
    dependency = pd.read_csv(outdir / "CRISPRGeneDependency.csv", index_col=0)
    dependency.columns = [_symbol(c) for c in dependency.columns]
    egfr = dependency["EGFR"].dropna()
    assert stats.spearmanr(activity.loc[egfr.index, "M_EGFR"], egfr)[0] > 0.7
