"""Tahoe pseudo-bulk: streaming aggregation against an in-memory implementation, bad input,
dose parsing, gene alias mapping, voom of DMSO and treated samples, and the rules on the demo."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
from scipy import sparse


from forge.external import tahoe
from forge.io import InputFormatError, read_parquet_matrix
from forge.normalise import voom_logcpm
from forge.external.tahoe import pseudobulk_plate_to_files as run_pseudobulk

TREATMENTS = ["[('DMSO_TF', 0.0, 'uM')]", "[('Erlotinib', 0.5, 'uM')]", "[('Gefitinib', 0.5, 'uM')]",
              "[('Vorinostat', 1.0, 'uM')]"]


def write_plate(path: Path, n_cells: int = 1500, n_genes: int = 300, seed: int = 0,
                dtype: type = np.float32, drop: str | None = None, plain_strings: bool = False,
                treatment_p: tuple[float, ...] = (0.3, 0.3, 0.35, 0.05), scale: float = 1.0) -> ad.AnnData:
    """A small Tahoe-like plate: random sparse integer counts, obs as in Tahoe."""
    rng = np.random.default_rng(seed)
    lines = [f"CVCL_{i:04d}" for i in range(6)]
    line = rng.integers(0, len(lines), n_cells)
    counts = rng.negative_binomial(1, 0.6, (n_cells, n_genes)) * (rng.random((n_cells, n_genes)) < 0.3)
    counts = (counts * scale).astype(dtype)
    obs = pd.DataFrame({
        "cell_line": pd.Categorical.from_codes(line, lines),
        "cell_name": pd.Categorical.from_codes(line, [f"Line {i}" for i in range(len(lines))]),
        "drugname_drugconc": pd.Categorical.from_codes(rng.choice(len(TREATMENTS), n_cells, p=treatment_p),
                                                       TREATMENTS),
        "plate": pd.Categorical(["plate8"] * n_cells),
        "pass_filter": pd.Categorical.from_codes((rng.random(n_cells) < 0.15).astype(int), ["full", "minimal"]),
        "tscp_count": counts.sum(axis=1).astype(np.int64),
        "gene_count": (counts > 0).sum(axis=1).astype(np.int64),
    }, index=[f"cell{i}" for i in range(n_cells)])
    if plain_strings:
        obs["cell_line"] = obs["cell_line"].astype(str)
    # a few extreme cells for the QC
    obs.loc[obs.index[:5], "tscp_count"] = 1
    if drop:
        obs = obs.drop(columns=drop)
    genes = [f"G{i}" for i in range(n_genes)]
    genes[:3] = ["CTGF", "TMEM8A", "EGFR"]
    adata = ad.AnnData(X=sparse.csr_matrix(counts), obs=obs, var=pd.DataFrame(index=genes))
    adata.write_h5ad(path)
    return adata


def naive_pseudobulk(adata: ad.AnnData, drugs: list[str] | None, qc: tahoe.QCSettings | None = None) -> pd.DataFrame:
    """Independent in-memory reference: dense X, pandas groupby sum."""
    obs = adata.obs.copy()
    parsed = [eval(v)[0] for v in obs["drugname_drugconc"].astype(str)]  # noqa: S307 (test data)
    obs["drug"] = [p[0] for p in parsed]
    obs["dose"] = [float(p[1]) for p in parsed]
    obs["unit"] = [p[2] for p in parsed]
    keep = (obs["pass_filter"].astype(str) == "full").to_numpy()
    if qc is not None and qc.enabled:
        for column, n_mads in (("tscp_count", qc.n_mads_counts), ("gene_count", qc.n_mads_genes)):
            values = np.log1p(obs[column].to_numpy(dtype=float))
            base = values[keep]
            median = np.median(base)
            mad = 1.4826 * np.median(np.abs(base - median))
            keep &= (values >= median - n_mads * mad) & (values <= median + n_mads * mad)
    if drugs is not None:
        keep &= obs["drug"].str.lower().isin([d.lower() for d in drugs]).to_numpy()
    dense = pd.DataFrame(np.asarray(adata.X.todense(), dtype=np.float64)[keep], columns=adata.var_names)
    key = obs.loc[keep].apply(lambda r: tahoe.sample_id(str(r["plate"]), str(r["cell_line"]), r["drug"],
                                                        r["dose"], r["unit"]), axis=1).to_numpy()
    return dense.groupby(key).sum().astype(np.int64)


def as_frame(result: tahoe.PlateAggregate) -> pd.DataFrame:
    return pd.DataFrame(result.counts, index=result.samples["sample"], columns=result.genes)


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
@pytest.mark.parametrize("drugs", [["Erlotinib", "DMSO_TF"], None, ["vorinostat"]])
@pytest.mark.parametrize("chunk_rows", [97, 10])  # 10: sparse adds into the accumulator
def test_streaming_equals_in_memory(tmp_path: Path, dtype: type, drugs: list[str] | None, chunk_rows: int) -> None:
    path = tmp_path / "plate8.h5ad"
    adata = write_plate(path, dtype=dtype)
    result = tahoe.aggregate_plate(path, drugs=drugs, chunk_rows=chunk_rows)
    assert result.stats["chunks"] == int(np.ceil(1500 / chunk_rows))
    expected = naive_pseudobulk(adata, drugs)
    kept = result.samples["n_cells"].to_numpy() > 0
    got = as_frame(result).loc[kept]
    pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index(), check_names=False)
    assert got.to_numpy().dtype == np.int64
    # cell bookkeeping: every selected cell is kept or dropped by the filter
    obs = adata.obs
    wanted = [d.lower() for d in drugs] if drugs else None
    sel = np.array([wanted is None or eval(v)[0][0].lower() in wanted for v in obs["drugname_drugconc"]])  # noqa: S307
    assert result.samples["n_cells"].sum() == int((sel & (obs["pass_filter"] == "full")).sum())
    assert result.samples["n_dropped_filter"].sum() == int((sel & (obs["pass_filter"] != "full")).sum())
    assert set(result.samples["plate"]) == {"plate8"}


def test_rare_drug_reads_only_its_rows(tmp_path: Path) -> None:
    """Few selected cells per chunk: only their rows are read, counts still exact."""
    path = tmp_path / "plate.h5ad"
    adata = write_plate(path, n_cells=3000)
    result = tahoe.aggregate_plate(path, drugs=["Vorinostat"], chunk_rows=500)
    assert result.stats["entries_read"] < 0.2 * adata.X.nnz
    expected = naive_pseudobulk(adata, ["Vorinostat"])
    pd.testing.assert_frame_equal(as_frame(result).sort_index(), expected.sort_index(), check_names=False)


def test_streaming_with_qc_equals_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "plate.h5ad"
    adata = write_plate(path, plain_strings=True)  # also covers a non-categorical obs column
    qc = tahoe.QCSettings(enabled=True, n_mads_counts=3.0, n_mads_genes=3.0)
    result = tahoe.aggregate_plate(path, drugs=None, qc=qc, chunk_rows=128)
    expected = naive_pseudobulk(adata, None, qc)
    kept = result.samples["n_cells"].to_numpy() > 0
    pd.testing.assert_frame_equal(as_frame(result).loc[kept].sort_index(), expected.sort_index(),
                                  check_names=False)
    assert result.samples["n_dropped_qc"].sum() >= 5  # the planted tscp_count = 1 cells
    row = result.qc.iloc[0]
    assert row["qc_enabled"] and row["n_dropped_qc"] == result.samples["n_dropped_qc"].sum()
    assert row["log_counts_low"] < row["log_counts_median"] < row["log_counts_high"]


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_large_counts_fall_back_to_exact_float64(tmp_path: Path, dtype: type) -> None:
    """Sums beyond float32's exact integer range are still exact."""
    path = tmp_path / "plate.h5ad"
    adata = write_plate(path, n_cells=400, n_genes=50, scale=2.0**20, dtype=dtype)  # sums far above 2**24
    result = tahoe.aggregate_plate(path, drugs=None, chunk_rows=400)
    assert result.stats["float64_chunks"] == 1
    expected = naive_pseudobulk(adata, None)
    assert expected.to_numpy().max() > 2**24
    kept = result.samples["n_cells"].to_numpy() > 0
    pd.testing.assert_frame_equal(as_frame(result).loc[kept].sort_index(), expected.sort_index(),
                                  check_names=False)


def test_matches_scanpy_aggregate(tmp_path: Path) -> None:
    sc = pytest.importorskip("scanpy")
    path = tmp_path / "plate.h5ad"
    adata = write_plate(path)
    result = tahoe.aggregate_plate(path, drugs=None, chunk_rows=200)
    full = adata[(adata.obs["pass_filter"] == "full").to_numpy()]
    aggregated = sc.get.aggregate(full, by=["plate", "cell_line", "drugname_drugconc"], func="sum")
    ids = [tahoe.sample_id(str(p), str(c), *tahoe.parse_drugconc(str(d))) for p, c, d in
           zip(aggregated.obs["plate"], aggregated.obs["cell_line"], aggregated.obs["drugname_drugconc"])]
    expected = pd.DataFrame(np.asarray(aggregated.layers["sum"]), index=ids, columns=adata.var_names)
    got = as_frame(result).loc[expected.index]
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())


def test_missing_obs_column_fails_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "plate9_filt.h5ad"
    write_plate(path, drop="cell_line")
    out = tmp_path / "out"
    outputs = {"counts": out / "c.parquet", "samples": out / "s.tsv", "qc": out / "q.tsv"}
    with pytest.raises(InputFormatError) as error:
        run_pseudobulk(path, outputs, drug="Erlotinib", control="DMSO_TF")
    assert str(path) in str(error.value) and "'cell_line'" in str(error.value)
    assert not out.exists() or not any(out.iterdir())


def test_qc_needs_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "plate.h5ad"
    write_plate(path, drop="tscp_count")
    tahoe.aggregate_plate(path, drugs=None)  # QC off: the column is not needed
    with pytest.raises(InputFormatError, match="tscp_count"):
        tahoe.aggregate_plate(path, drugs=None, qc=tahoe.QCSettings(enabled=True))


def test_non_csr_matrix_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "plate.h5ad"
    adata = write_plate(path)
    adata.X = adata.X.tocsc()
    adata.write_h5ad(path)
    with pytest.raises(InputFormatError, match="csr_matrix"):
        tahoe.aggregate_plate(path)


def test_non_integer_counts_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "plate.h5ad"
    adata = write_plate(path)
    adata.X = adata.X * np.float32(0.37)
    adata.write_h5ad(path)
    with pytest.raises(InputFormatError, match="integer raw counts"):
        tahoe.aggregate_plate(path)


def test_unparseable_drugconc_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "plate.h5ad"
    adata = write_plate(path)
    adata.obs["drugname_drugconc"] = adata.obs["drugname_drugconc"].cat.rename_categories(
        {TREATMENTS[3]: "Vorinostat 1 uM"})
    adata.write_h5ad(path)
    with pytest.raises(InputFormatError, match="drugname_drugconc"):
        tahoe.aggregate_plate(path)


@pytest.mark.parametrize("value, expected", [
    ("[('Erlotinib', 0.05, 'uM')]", ("Erlotinib", 0.05, "uM")),
    ("[('DMSO_TF', 0.0, 'uM')]", ("DMSO_TF", 0.0, "uM")),
    ("[('Erlotinib', 5, 'uM')]", ("Erlotinib", 5.0, "uM")),
    ("('Erlotinib', 50.0, 'nM')", ("Erlotinib", 50.0, "nM")),
    (" [( 'Erlotinib' , 0.5 , 'uM' )] ", ("Erlotinib", 0.5, "uM")),
])
def test_parse_drugconc(value: str, expected: tuple[str, float, str]) -> None:
    assert tahoe.parse_drugconc(value) == expected


@pytest.mark.parametrize("value", ["Erlotinib 0.05 uM", "[('A', 1.0, 'uM'), ('B', 2.0, 'uM')]",
                                   "[('A', -1.0, 'uM')]", "[('A', 'high', 'uM')]", "[]", "[('A', 1.0)]"])
def test_parse_drugconc_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        tahoe.parse_drugconc(value)


def test_sample_id_is_stable_and_safe() -> None:
    assert tahoe.sample_id("plate7", "CVCL_0023", "Erlotinib", 0.05, "uM") == "plate7_CVCL_0023_Erlotinib_0.05uM"
    assert tahoe.sample_id("plate7", "CVCL_0023", "DMSO_TF", 0.0, "uM") == "plate7_CVCL_0023_DMSO_TF_0uM"
    assert tahoe.sample_id("plate 7", "a/b", "X", 5.0, "uM") == "plate-7_a-b_X_5uM"


def test_mad_outliers() -> None:
    values = np.array([1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 5.0, -3.0])
    flagged, summary = tahoe.mad_outliers(values, 3.0)
    assert flagged.tolist() == [False] * 6 + [True, True]
    flagged, _ = tahoe.mad_outliers(values, 3.0, tails="lower")
    assert flagged.tolist() == [False] * 7 + [True]
    flagged, summary = tahoe.mad_outliers(np.ones(5), 3.0)
    assert not flagged.any() and summary["mad"] == 0


SYNONYMS = pd.DataFrame({"alias": ["CTGF", "TMEM8A", "OLD1", "AMB"],
                         "official_symbol": ["CCN2", "PGAP6", "EGFR", "X1"]})


def test_alias_mapping_and_report() -> None:
    counts = pd.DataFrame([[1, 2, 3, 4, 5]], index=["s1"], columns=["CTGF", "TMEM8A", "EGFR", "OLD1", "NOVEL"])
    mapped, mapping = tahoe.map_genes(counts, SYNONYMS, reference=["CCN2", "PGAP6", "EGFR"])
    assert list(mapped.columns) == ["CCN2", "PGAP6", "EGFR", "NOVEL"]
    assert mapped.loc["s1", "CCN2"] == 1 and mapped.loc["s1", "EGFR"] == 3  # OLD1 is not merged into EGFR
    status = mapping.set_index("source_symbol")
    assert status.loc["CTGF", "status"] == "renamed" and status.loc["CTGF", "symbol"] == "CCN2"
    assert status.loc["TMEM8A", "symbol"] == "PGAP6"
    assert status.loc["OLD1", "status"] == "dropped_collision" and not status.loc["OLD1", "in_matrix"]
    assert "collides_with_existing" in status.loc["OLD1", "detail"]
    assert status.loc["NOVEL", "status"] == "kept" and "not_in_reference" in status.loc["NOVEL", "detail"]


def test_alias_mapping_sums_repeated_symbols_and_lists_missing() -> None:
    counts = pd.DataFrame([[1, 2, 3]], index=["s1"], columns=["A", "A", "CTGF"])
    mapped, mapping = tahoe.map_genes(counts, SYNONYMS, missing_in_plates=["ONLYONE"])
    assert mapped.loc["s1", "A"] == 3 and list(mapped.columns) == ["A", "CCN2"]
    status = mapping.set_index("source_symbol")
    assert "duplicate_symbol_summed" in status.loc["A", "detail"]
    assert status.loc["ONLYONE", "status"] == "missing_in_some_plates"


def test_split_voom_normalises_dmso_and_treated_separately() -> None:
    rng = np.random.default_rng(3)
    counts = pd.DataFrame(rng.poisson(rng.gamma(2, 20, 200), (12, 200)),
                          index=[f"s{i}" for i in range(12)], columns=[f"G{j}" for j in range(200)])
    counts.iloc[6:, :20] *= 8  # treated samples differ in their mean-variance trend
    samples = pd.DataFrame({"sample": counts.index, "drug": ["DMSO_TF"] * 6 + ["Erlotinib"] * 6})
    dmso, treated = tahoe.split_voom(counts, samples, "dmso_tf")
    assert list(dmso.index) == [f"s{i}" for i in range(6)] and list(treated.index) == [f"s{i}" for i in range(6, 12)]
    pd.testing.assert_frame_equal(dmso, voom_logcpm(counts.iloc[:6])[0])
    pd.testing.assert_frame_equal(treated, voom_logcpm(counts.iloc[6:])[0])
    # logCPM is per sample, but the precision weights depend on the set normalised together
    assert not np.allclose(voom_logcpm(counts.iloc[:6])[1].to_numpy(), voom_logcpm(counts)[1].iloc[:6].to_numpy())
    with pytest.raises(ValueError, match="at least 2 control"):
        tahoe.split_voom(counts.iloc[5:], samples.iloc[5:], "DMSO_TF")


def test_combine_plates_min_cells_and_gene_intersection() -> None:
    a = pd.DataFrame([[1, 2], [3, 4]], index=["p7_a", "p7_b"], columns=["G1", "G2"])
    b = pd.DataFrame([[5, 6]], index=["p8_a"], columns=["G2", "G1"])
    c = pd.DataFrame([[7, 8]], index=["p9_a"], columns=["G1", "G3"])

    def samples(ids: list[str], n: list[int]) -> pd.DataFrame:
        return pd.DataFrame({"sample": ids, "cell_line": "L", "cell_name": "L", "drug": "D", "dose": 0.0,
                             "unit": "uM", "plate": ids[0][:2], "n_cells": n, "n_dropped_filter": 0,
                             "n_dropped_qc": 0})

    counts, table, missing, excluded = tahoe.combine_plates(
        [(a, samples(["p7_a", "p7_b"], [20, 3])), (b, samples(["p8_a"], [11])), (c, samples(["p9_a"], [50]))],
        min_cells=10)
    assert list(counts.index) == ["p7_a", "p8_a", "p9_a"] and list(counts.columns) == ["G1"]
    assert counts["G1"].tolist() == [1, 6, 7] and missing == ["G2", "G3"]
    assert table["sample"].tolist() == list(counts.index) and excluded["sample"].tolist() == ["p7_b"]


def test_demo_plate_has_old_aliases(small_run: Path) -> None:
    """The demo plates use CTGF / TMEM8A; the synonyms table maps them."""
    plate = small_run / "resources/raw/demo/small/tahoe/plate7_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad"
    with h5py.File(plate, "r") as h5:
        genes = tahoe.read_var_names(h5, plate)
    assert "CTGF" in genes and "TMEM8A" in genes and "CCN2" not in genes


TAHOE_TARGETS = [f"resources/processed/small/tahoe/{name}" for name in (
    "pseudobulk_counts.parquet", "samples.tsv", "gene_mapping.tsv", "qc.tsv",
    "expression_dmso.parquet", "expression_treated.parquet")]


def test_tahoe_rules_on_demo(small_run: Path) -> None:
    """The three rules on the demo plates (in the shared demo run): outputs, bookkeeping, alias
    mapping, planted response."""
    workdir = small_run
    assert all((workdir / target).is_file() for target in TAHOE_TARGETS)
    out = workdir / "resources/processed/small/tahoe"
    truth = json.loads((workdir / "resources/raw/demo/small/planted_truth.json").read_text())["tahoe"]
    counts = read_parquet_matrix(out / "pseudobulk_counts.parquet")
    samples = pd.read_csv(out / "samples.tsv", sep="\t")
    assert list(samples.columns) == tahoe.SAMPLE_COLUMNS
    assert samples["sample"].tolist() == list(counts.index)
    n_lines = len(truth["lines"])
    assert len(samples) == 2 * n_lines * 3  # lines × (DMSO, erlotinib) × plates
    assert set(zip(samples["plate"], samples["dose"])) == {
        (p, d) for p, info in truth["plates"].items() for d in (0.0, info["dose"])}
    assert set(samples["unit"]) == {"uM"} and set(samples["cell_line"]) == {x["RRID"] for x in truth["lines"]}
    qc = pd.read_csv(out / "qc.tsv", sep="\t")
    assert (qc["n_cells_file"] == [truth["plates"][p]["n_cells"] for p in qc["plate"]]).all()
    assert (qc["n_cells_kept"] + qc["n_dropped_filter"] == qc["n_cells_selected"]).all()
    assert samples["n_cells"].sum() == qc["n_cells_kept"].sum()
    assert "CCN2" in counts.columns and "PGAP6" in counts.columns and "CTGF" not in counts.columns
    mapping = pd.read_csv(out / "gene_mapping.tsv", sep="\t", keep_default_na=False).set_index("source_symbol")
    assert mapping.loc["CTGF", "symbol"] == "CCN2" and mapping.loc["TMEM8A", "status"] == "renamed"
    dmso = read_parquet_matrix(out / "expression_dmso.parquet")
    treated = read_parquet_matrix(out / "expression_treated.parquet")
    assert len(dmso) == len(treated) == n_lines * 3
    assert set(samples.set_index("sample").loc[dmso.index, "drug"]) == {"DMSO_TF"}
    # planted biology: response strength grows with dose
    info = samples.set_index("sample")
    strength: dict[float, list[float]] = {}
    for sample in treated.index:
        row = info.loc[sample]
        control = info[(info["cell_line"] == row["cell_line"]) & (info["plate"] == row["plate"])
                       & (info["drug"] == "DMSO_TF")].index[0]
        strength.setdefault(row["dose"], []).append(float(np.linalg.norm(treated.loc[sample] - dmso.loc[control])))
    medians = [np.median(strength[d]) for d in sorted(strength)]
    assert medians == sorted(medians)
    assert (workdir / "logs/small/tahoe/pseudobulk_plate7.log").exists()
    assert (workdir / "benchmarks/runs/small/tahoe/pseudobulk_plate7.tsv").exists()


def test_bench_tahoe_smoke(tmp_path: Path) -> None:
    """benchmarks/bench_tahoe.py on a tiny plate: runs, reports, agrees with scanpy if installed."""
    import subprocess

    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_tahoe.py"
    proc = subprocess.run([sys.executable, str(bench), "--cells", "3000", "--genes", "500", "--scanpy-cells", "2000",
                           "--chunk-rows", "700", "--tmpdir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["streaming"]["cells"] == 3000 and report["streaming"]["peak_rss_mb"] > 0
    assert report["streaming"]["entries_read"] == report["big_plate"]["nnz"]
    if isinstance(report["scanpy"], dict):
        assert report["scanpy"]["identical_to_streaming"]
    assert not any(tmp_path.iterdir())  # the plates are removed


# ------------------------------------------------------------------ DESeq2 of the Tahoe validation against R
# (forge.validation.tahoe.deseq2; R fixtures tests/fixtures/deseq2 — R's parametric trend holds — and
# tests/fixtures/deseq2_local — R's parametric trend fails and R substitutes a local regression)

FIXTURES = Path(__file__).parent / "fixtures"


def deseq2_fixture(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = FIXTURES / name
    counts = pd.read_csv(folder / "counts.csv", index_col="gene").T
    samples = pd.read_csv(folder / "samples.csv", index_col="sample")
    metadata = pd.DataFrame({"concentration": pd.Categorical(samples["concentration"], ["c01", "c10"]),
                             "group": pd.Categorical(samples["group"], ["low", "high"])}, index=samples.index)
    return counts, metadata


def run_deseq2(name: str, fit_type: str = "parametric", n_cpus: int = 1) -> pd.DataFrame:
    from forge.validation import tahoe as vtahoe

    counts, metadata = deseq2_fixture(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydeseq2's optimisers warn on low-count genes
        results, _ = vtahoe.deseq2(counts, metadata, "~concentration + group", ["group", "high", "low"], alpha=0.1,
                                   fit_type=fit_type, n_cpus=n_cpus)
    return results


def relative(ours: pd.Series, reference: pd.Series) -> pd.Series:
    both = ours.notna() & reference.notna()
    return ((ours - reference).abs() / reference.abs())[both]


def calls(table: pd.DataFrame, adj_p: float = 0.05, log2fc: float = 0.0) -> pd.Index:
    return table.index[(table["padj"] < adj_p) & (table["log2FoldChange"].abs() > log2fc)]


def test_parametric_dispersion_trend_is_rs_fit_and_fails_where_r_fails() -> None:
    """R's parametricDispersionFit on R's own gene-wise dispersions: the same coefficients where R
    keeps the parametric trend, a failure where R substitutes the local fit."""
    from forge.validation.tahoe import parametric_dispersion_trend

    def r_genes(name: str) -> pd.DataFrame:
        table = pd.read_csv(FIXTURES / name / "dispersions.csv", index_col="gene")
        return table[table["dispGeneEst"] > 100 * 1e-8]  # R: not all zero and dispGeneEst > 100 × minDisp

    held = r_genes("deseq2")
    coefficients, reason = parametric_dispersion_trend(held["baseMean"].to_numpy(), held["dispGeneEst"].to_numpy())
    expected = pd.read_csv(FIXTURES / "deseq2" / "dispersion_fit.csv", index_col="coefficient")["value"]
    assert reason == ""
    np.testing.assert_allclose(coefficients, expected[["asymptDisp", "extraPois"]].to_numpy(), rtol=1e-4)
    failed = r_genes("deseq2_local")
    coefficients, reason = parametric_dispersion_trend(failed["baseMean"].to_numpy(), failed["dispGeneEst"].to_numpy())
    r_fit = pd.read_csv(FIXTURES / "deseq2_local" / "fit_type.csv").iloc[0]
    assert r_fit["fit_type"] == "local" and r_fit["parametric_failure"] == "parametric dispersion fit failed"
    assert coefficients is None and "not positive" in reason


def test_deseq2_with_rs_parametric_trend_makes_rs_calls() -> None:
    results = run_deseq2("deseq2")
    reference = pd.read_csv(FIXTURES / "deseq2" / "results.csv", index_col="gene")
    assert (results["dispersion_fit"] == "parametric").all()
    # with R's trend coefficients (pydeseq2's own fit gave P-values 1.6 % from R's at the median and
    # called 15 of R's 18 genes at padj < 0.1): measured 4.4e-4 and 0.44 %
    assert relative(results["log2FoldChange"], reference["log2FoldChange"]).median() < 1e-3
    assert relative(results["pvalue"], reference["pvalue"]).median() < 0.01
    assert (results["padj"].isna() == reference["padj"].isna()).all()  # independent filtering as R's
    for threshold in (0.05, 0.1):
        assert calls(results, threshold).equals(calls(reference, threshold)), threshold


def test_deseq2_falls_back_to_the_mean_trend_where_r_falls_back_to_local(caplog: pytest.LogCaptureFixture) -> None:
    folder = FIXTURES / "deseq2_local"
    with caplog.at_level("WARNING", logger="forge.validation.tahoe"):
        results = run_deseq2("deseq2_local")
    assert "the parametric fit fails as in R" in caplog.text
    assert results["dispersion_fit"].str.startswith("mean (the parametric trend fails as in R").all()
    local = pd.read_csv(folder / "results_local.csv", index_col="gene")
    mean = pd.read_csv(folder / "results_mean.csv", index_col="gene")
    # against R's local fit (what R does): the workflow's calls (padj < 0.05 and |log2FC| > 1) are R's,
    # log2FC within 1e-4 (measured 4.4e-5); P-values differ by the trend (median 5.7 %, R's own local
    # against mean: 5.2 %), so calls at padj < 0.05 alone differ only near the threshold
    assert calls(results, 0.05, 1.0).equals(calls(local, 0.05, 1.0)) and len(calls(local, 0.05, 1.0)) == 25
    both = results["pvalue"].notna() & local["pvalue"].notna()
    assert (results["log2FoldChange"] - local["log2FoldChange"])[both].abs().max() < 1e-4
    assert (results["padj"].isna() == local["padj"].isna()).all()
    differing = calls(results).symmetric_difference(calls(local))
    assert local.loc[differing, "padj"].between(0.035, 0.065).all()
    # against R's mean fit (the same trend): pydeseq2's optimisers only (measured P 0.16 %, lfcSE 0.085 %)
    assert relative(results["pvalue"], mean["pvalue"]).median() < 0.005
    assert relative(results["lfcSE"], mean["lfcSE"]).median() < 0.005
    assert calls(results).equals(calls(mean))
    # fit_type "mean" asked for is the same fit, labelled as chosen
    chosen = run_deseq2("deseq2_local", fit_type="mean")
    assert (chosen["dispersion_fit"] == "mean").all()
    pd.testing.assert_frame_equal(chosen.drop(columns="dispersion_fit"), results.drop(columns="dispersion_fit"))


def test_deseq2_refuses_an_unknown_fit_type() -> None:
    with pytest.raises(ValueError, match="validation.tahoe.de.fit_type: 'local'; expected parametric or mean"):
        run_deseq2("deseq2", fit_type="local")


def test_deseq2_in_one_process_equals_pydeseq2_worker_processes() -> None:
    """The per-gene fits in the job's process (n_cpus = 1, the workflow's) give the numbers of
    pydeseq2's joblib workers (two, as its default gives on two cores; 200 genes = two batches)."""
    in_process = run_deseq2("deseq2", n_cpus=1)
    workers = run_deseq2("deseq2", n_cpus=2)
    pd.testing.assert_frame_equal(in_process, workers, check_exact=True)
