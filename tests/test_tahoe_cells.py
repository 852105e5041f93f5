"""Fig. 5b single cells: the selected cells and labels against an independent anndata selection,
the same bytes in two processes, the figure, the embedding as AnnData, and the rules on the demo."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import anndata as ad
import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

matplotlib.use("Agg")

from forge.analysis.embedding_h5ad import embedding_anndata, embedding_table, write_embedding_h5ad  # noqa: E402
from forge.external import tahoe_cells as tc  # noqa: E402
from forge.external.tahoe import QCSettings  # noqa: E402
from forge.figures import fig_tahoe_cells  # noqa: E402
from forge.figures.registry import FIGURES, TABLES, table_paths  # noqa: E402
from forge.io import InputFormatError  # noqa: E402

LINES = [f"CVCL_{i:04d}" for i in range(6)]
PLATE_DOSE = {"plate7": 0.05, "plate8": 0.5}
OTHER = "[('Gefitinib', 0.5, 'uM')]"


def write_plate(path: Path, plate: str, n_cells: int = 900, n_genes: int = 150, seed: int = 0,
                genes: list[str] | None = None) -> ad.AnnData:
    """A Tahoe-like plate: DMSO, erlotinib at the plate's dose and a third drug on six lines."""
    rng = np.random.default_rng(seed)
    line = rng.integers(0, len(LINES), n_cells)
    treatments = ["[('DMSO_TF', 0.0, 'uM')]", f"[('Erlotinib', {PLATE_DOSE[plate]}, 'uM')]", OTHER]
    treatment = rng.choice(3, n_cells, p=[0.35, 0.4, 0.25])
    # line and treatment shift the expression, so the UMAP has structure
    rates = rng.gamma(2.0, 1.0, (len(LINES), n_genes)) * np.where(rng.random((len(LINES), n_genes)) < 0.3, 3, 1)
    effect = np.exp(rng.normal(0, 0.8, (3, n_genes)) * (rng.random((3, n_genes)) < 0.2))
    counts = rng.poisson(rates[line] * effect[treatment]).astype(np.float32)
    obs = pd.DataFrame({
        "cell_line": pd.Categorical.from_codes(line, LINES),
        "cell_name": pd.Categorical.from_codes(line, [f"Line {i}" for i in range(len(LINES))]),
        "drugname_drugconc": pd.Categorical.from_codes(treatment, treatments),
        "plate": pd.Categorical([plate] * n_cells),
        "pass_filter": pd.Categorical.from_codes((rng.random(n_cells) < 0.15).astype(int), ["full", "minimal"]),
        "tscp_count": counts.sum(axis=1).astype(np.int64),
        "gene_count": (counts > 0).sum(axis=1).astype(np.int64),
    }, index=[f"cell{i}_{plate}" for i in range(n_cells)])
    obs.loc[obs.index[:4], "tscp_count"] = 1  # QC outliers
    var_names = genes or [f"G{i}" for i in range(n_genes)]
    adata = ad.AnnData(X=sparse.csr_matrix(counts), obs=obs, var=pd.DataFrame(index=var_names))
    adata.write_h5ad(path)
    return adata


def independent_selection(adata: ad.AnnData, lines: list[str], qc: QCSettings | None = None) -> pd.DataFrame:
    """The cells that should be chosen, from the in-memory AnnData and pandas alone."""
    obs = adata.obs.copy()
    parsed = [eval(v)[0] for v in obs["drugname_drugconc"].astype(str)]  # noqa: S307 (test data)
    obs["drug"] = [p[0] for p in parsed]
    obs["dose"] = [float(p[1]) for p in parsed]
    obs["unit"] = [p[2] for p in parsed]
    keep = (obs["pass_filter"].astype(str) == "full").to_numpy()
    if qc is not None and qc.enabled:
        for column, n_mads in (("tscp_count", qc.n_mads_counts), ("gene_count", qc.n_mads_genes)):
            values = np.log1p(obs[column].to_numpy(dtype=float))
            median = np.median(values[keep])
            mad = 1.4826 * np.median(np.abs(values[keep] - median))
            keep = keep & (values >= median - n_mads * mad) & (values <= median + n_mads * mad)
    keep &= obs["drug"].isin(["Erlotinib", "DMSO_TF"]).to_numpy() & obs["cell_line"].astype(str).isin(lines).to_numpy()
    chosen = obs.loc[keep, ["plate", "cell_line", "cell_name", "drug", "dose", "unit"]].astype(
        {"plate": str, "cell_line": str, "cell_name": str})
    chosen["row"] = np.flatnonzero(keep)
    return chosen.rename_axis("cell_id").reset_index()


@pytest.mark.parametrize("qc_enabled", [False, True])
@pytest.mark.parametrize("chunk_rows", [97, 100_000])
def test_selected_cells_and_labels_equal_independent_selection(tmp_path: Path, qc_enabled: bool,
                                                              chunk_rows: int) -> None:
    adata = write_plate(tmp_path / "p.h5ad", "plate7")
    lines = ["CVCL_0004", "CVCL_0001"]
    qc = QCSettings(enabled=qc_enabled, n_mads_counts=3, n_mads_genes=3)
    counts, cells, genes, groups = tc.read_selected_cells(tmp_path / "p.h5ad", lines, ["Erlotinib", "DMSO_TF"],
                                                          "DMSO_TF", qc=qc, chunk_rows=chunk_rows)
    expected = independent_selection(adata, lines, qc)
    if qc_enabled:  # the QC removed something, or this parameter tests nothing new
        assert len(expected) < len(independent_selection(adata, lines))
    assert cells["cell_id"].tolist() == expected["cell_id"].tolist()
    for column in ("plate", "cell_line", "cell_name", "drug", "unit"):
        assert cells[column].tolist() == expected[column].tolist(), column
    np.testing.assert_array_equal(cells["dose"].to_numpy(), expected["dose"].to_numpy())
    assert set(cells["treatment"]) == {"DMSO_TF", "Erlotinib 0.05 uM"}
    np.testing.assert_array_equal(counts.toarray(), adata.X[expected["row"].to_numpy()].toarray())
    assert genes == list(adata.var_names)
    # per (line, treatment): every kept cell was used (no subsampling)
    assert (groups["n_cells_kept"] == groups["n_cells_used"]).all()
    assert groups["n_cells_used"].sum() == len(expected)


def test_subsampling_is_seeded_per_group_and_a_subset(tmp_path: Path) -> None:
    adata = write_plate(tmp_path / "p.h5ad", "plate8", n_cells=1200)
    lines = ["CVCL_0002", "CVCL_0003", "CVCL_0005"]
    full = independent_selection(adata, lines)
    args = (tmp_path / "p.h5ad", lines, ["Erlotinib", "DMSO_TF"], "DMSO_TF")
    _, a, _, groups = tc.read_selected_cells(*args, max_cells_per_group=20, seed=3, chunk_rows=50)
    _, b, _, _ = tc.read_selected_cells(*args, max_cells_per_group=20, seed=3, chunk_rows=1000)
    _, c, _, _ = tc.read_selected_cells(*args, max_cells_per_group=20, seed=4)
    assert a["cell_id"].tolist() == b["cell_id"].tolist() != c["cell_id"].tolist()
    assert set(a["cell_id"]) <= set(full["cell_id"])
    per_group = a.groupby(["cell_line", "treatment"]).size()
    available = full.groupby(["cell_line", "drug"]).size()
    assert len(per_group) == 6 and (per_group == np.minimum(20, available.to_numpy())).all()
    assert (groups["n_cells_kept"] - groups["n_cells_used"]).sum() == len(full) - len(a)


def test_select_lines_by_mean_strength_with_stable_ties() -> None:
    strength = pd.DataFrame({"cell_line": ["A", "B", "C", "D", "A", "B", "C", "D"],
                             "cell_name": ["a", "b", "c", "d"] * 2,
                             "response_strength": [1.0, 5.0, 2.0, 3.0, 3.0, 1.0, 2.0, 1.0]})
    chosen = tc.select_lines(strength, 3)
    # means: A 2, B 3, C 2, D 2 → B, then A/C/D tied, kept in table order
    assert chosen["cell_line"].tolist() == ["B", "A", "C"]
    assert chosen["rank"].tolist() == [1, 2, 3] and chosen["cell_name"].tolist() == ["b", "a", "c"]
    np.testing.assert_allclose(chosen["mean_response_strength"], [3.0, 2.0, 2.0])
    from forge.validation.tahoe import strongest_lines
    assert chosen["cell_line"].tolist() == strongest_lines(strength, 3)
    with pytest.raises(InputFormatError, match="response_strength"):
        tc.select_lines(strength.drop(columns="response_strength"), 3, "x.tsv")


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


RUN = """
import sys
from forge.external.tahoe_cells import SingleCellSettings, single_cells_to_files
out = sys.argv[1]
single_cells_to_files(sys.argv[2:4], sys.argv[4], dict(cells=out + '/cells.tsv', lines=out + '/lines.tsv',
                      h5ad=out + '/cells.h5ad'), 'Erlotinib', 'DMSO_TF',
                      SingleCellSettings(n_lines=3, max_cells_per_group=40, n_top_genes=60, n_pcs=10, seed=7))
"""


def test_two_processes_write_the_same_bytes_and_consistent_outputs(tmp_path: Path) -> None:
    genes = [f"G{i}" for i in range(150)]
    write_plate(tmp_path / "p7.h5ad", "plate7", seed=1, genes=genes)
    write_plate(tmp_path / "p8.h5ad", "plate8", seed=2, genes=genes[5:] + ["X1", "X2", "X3", "X4", "X5"])
    strength = pd.DataFrame({"cell_line": LINES * 2, "cell_name": [f"Line {i}" for i in range(6)] * 2,
                             "plate": ["plate7"] * 6 + ["plate8"] * 6, "dose": [0.05] * 6 + [0.5] * 6,
                             "response_strength": [1, 9, 2, 8, 3, 7, 1, 9, 2, 8, 3, 7.5]})
    strength.to_csv(tmp_path / "strength.tsv", sep="\t", index=False)
    outs = []
    for run in ("a", "b"):
        out = tmp_path / run
        out.mkdir()
        subprocess.run([sys.executable, "-c", RUN, str(out), str(tmp_path / "p7.h5ad"), str(tmp_path / "p8.h5ad"),
                        str(tmp_path / "strength.tsv")], check=True, capture_output=True, text=True)
        outs.append(out)
    for name in ("cells.tsv", "lines.tsv", "cells.h5ad"):
        assert _md5(outs[0] / name) == _md5(outs[1] / name), name
    cells = pd.read_csv(outs[0] / "cells.tsv", sep="\t", float_precision="round_trip")
    assert list(cells.columns) == tc.CELL_COLUMNS
    # lines 1, 3, 5 have the largest mean strength (9, 8, 7.25)
    assert cells.drop_duplicates("cell_line").set_index("cell_line")["line_rank"].sort_index().to_dict() == {
        "CVCL_0001": 1, "CVCL_0003": 2, "CVCL_0005": 3}
    assert set(cells["treatment"]) == {"DMSO_TF", "Erlotinib 0.05 uM", "Erlotinib 0.5 uM"}
    assert cells.groupby(["plate", "cell_line", "treatment"]).size().max() <= 40
    assert np.isfinite(cells[["UMAP1", "UMAP2"]].to_numpy()).all()
    adata = ad.read_h5ad(outs[0] / "cells.h5ad")
    assert adata.obs_names.tolist() == cells["cell_id"].tolist()
    np.testing.assert_array_equal(adata.obsm["X_umap"].astype(np.float64), cells[["UMAP1", "UMAP2"]].to_numpy())
    # genes common to both plates, in the first plate's order; raw counts kept beside the log values
    assert adata.var_names.tolist() == genes[5:]
    # one UMAP per line (the default): each line its own 60 HVGs and kNN graph, no edge between lines
    assert set(cells["embedding"]) == {"CVCL_0001", "CVCL_0003", "CVCL_0005"}
    assert all(int(adata.var[f"highly_variable_{line}"].sum()) == 60 for line in set(cells["cell_line"]))
    graph = adata.obsp["connectivities"].tocoo()
    line_of = cells["cell_line"].to_numpy()
    assert graph.nnz > 0 and (line_of[graph.row] == line_of[graph.col]).all()
    counts = adata.layers["counts"]
    np.testing.assert_allclose(np.expm1(adata.X.toarray()).sum(axis=1), 1e4, rtol=1e-4)
    source = ad.read_h5ad(tmp_path / "p8.h5ad")
    on8 = cells["plate"].eq("plate8").to_numpy()
    np.testing.assert_array_equal(counts[on8].toarray(),
                                  source[cells.loc[on8, "cell_id"].to_numpy(), genes[5:]].X.toarray())
    lines = pd.read_csv(outs[0] / "lines.tsv", sep="\t")
    assert list(lines.columns) == tc.LINE_COLUMNS and lines["n_cells_used"].sum() == len(cells)
    assert (lines["n_cells_used"] + lines["n_cells_subsampled_out"] == lines["n_cells_kept"]).all()


def test_joint_embedding_separates_the_lines(tmp_path: Path) -> None:
    write_plate(tmp_path / "p.h5ad", "plate7", seed=5)
    lines = ["CVCL_0000", "CVCL_0002", "CVCL_0004"]
    counts, cells, genes, _ = tc.read_selected_cells(tmp_path / "p.h5ad", lines, ["Erlotinib", "DMSO_TF"], "DMSO_TF")
    settings = tc.SingleCellSettings(embedding="joint", n_top_genes=50, n_pcs=8, seed=1)
    adata = tc.embed_cells(counts, cells, genes, settings)
    assert int(adata.var["highly_variable"].sum()) == 50 and adata.obsm["X_pca"].shape == (len(cells), 8)
    assert set(adata.obs["embedding"]) == {"joint"}
    # the PCA is oriented: each component's largest loading is positive
    loadings = adata.varm["PCs"]
    assert (loadings[np.abs(loadings).argmax(axis=0), np.arange(8)] > 0).all()
    # cells of the same line sit closer together than cells of different lines (the planted line rates)
    xy = adata.obsm["X_umap"]
    line = cells["cell_line"].to_numpy()
    same = line[:, None] == line[None, :]
    distance = np.linalg.norm(xy[:, None] - xy[None, :], axis=2)
    assert distance[same].mean() < 0.5 * distance[~same].mean()
    with pytest.raises(ValueError, match="at least 3 cells"):
        tc.embed_cells(counts[:2], cells.iloc[:2], genes, settings)


def test_empty_strength_writes_empty_outputs(tmp_path: Path) -> None:
    write_plate(tmp_path / "p.h5ad", "plate7")
    (tmp_path / "strength.tsv").write_text("\n")
    outputs = {k: tmp_path / f"{k}.out" for k in ("cells", "lines", "h5ad")}
    tc.single_cells_to_files([tmp_path / "p.h5ad"], tmp_path / "strength.tsv", outputs, "Erlotinib", "DMSO_TF",
                             tc.SingleCellSettings())
    assert pd.read_csv(outputs["cells"], sep="\t").columns.tolist() == tc.CELL_COLUMNS
    assert ad.read_h5ad(outputs["h5ad"]).n_obs == 0


def test_bad_plate_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "plate.h5ad"
    bad.write_text("not hdf5")
    with pytest.raises(InputFormatError, match="plate.h5ad"):
        tc.read_selected_cells(bad, ["CVCL_0001"], ["Erlotinib"], "DMSO_TF")


# --------------------------------------------------------------------------------------------------
# figure
# --------------------------------------------------------------------------------------------------
def _cells_table(n_lines: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for rank in range(1, n_lines + 1):
        for plate, dose in (("plate7", 0.05), ("plate8", 0.5), ("plate9", 5.0)):
            for drug, d in (("DMSO_TF", 0.0), ("Erlotinib", dose)):
                for i in range(10 * rank):
                    label = drug if drug == "DMSO_TF" else f"Erlotinib {dose:g} uM"
                    rows.append([f"c{len(rows)}", plate, f"CVCL_{rank}", f"Line {rank}", rank, drug, d, "uM", label,
                                 "joint", rng.normal(rank * 5, 1), rng.normal(d, 1)])
    return pd.DataFrame(rows, columns=tc.CELL_COLUMNS)


def test_figure_facets_per_line_with_cell_counts() -> None:
    import matplotlib.pyplot as plt

    spec = FIGURES["fig5b_tahoe_cells"]
    assert spec.cohorts == ("tahoe",) and "Fig. 5b" in spec.panels["b"][0]
    assert table_paths(spec, "tahoe__EGFR_ERLOTINIB", ["EGFR_ERLOTINIB"])["tahoe_single_cells"] == [
        "results/validation/tahoe/EGFR_ERLOTINIB/single_cells.tsv"]
    assert TABLES["tahoe_single_cells"].endswith("single_cells.tsv")
    cells = _cells_table(3)
    fig, status = spec.draw({"tahoe_single_cells": cells}, "tahoe__EGFR_ERLOTINIB")
    assert status == {"b": "drawn"}
    axes = [ax for ax in fig.axes if ax.get_title()]
    titles = [ax.get_title() for ax in axes]
    assert titles == [f"#{r} Line {r} (CVCL_{r})\nn = {60 * r} cells" for r in (1, 2, 3)]
    assert all(ax.get_xlabel().startswith("UMAP 1") for ax in axes)
    # each facet: the other lines' cells behind, then the line's cells by treatment, highest dose on top
    first = axes[0].collections
    assert len(first) == 1 + 4 and len(first[0].get_offsets()) == len(cells) - 60
    colours = fig_tahoe_cells.treatment_colours(cells)
    assert colours["DMSO_TF"] == fig_tahoe_cells.CONTROL_COLOUR and len(set(colours.values())) == 4
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0] == "DMSO_TF (n = 180)" and legend[-2] == "Erlotinib 5 uM (n = 60)"
    assert legend[-1] == "other lines' cells" and axes[0].get_shared_x_axes().joined(axes[0], axes[1])
    plt.close(fig)
    # one UMAP per line: each facet only its line's cells, on its own axes
    fig, status = spec.draw({"tahoe_single_cells": cells.assign(embedding=cells["cell_line"])}, "tahoe__P_Q")
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert status == {"b": "drawn"} and len(axes[0].collections) == 4
    assert sum(len(c.get_offsets()) for c in axes[1].collections) == 120
    assert not axes[0].get_shared_x_axes().joined(axes[0], axes[1])
    assert "one UMAP per line" in fig._suptitle.get_text()
    plt.close(fig)
    fig, status = spec.draw({"tahoe_single_cells": pd.DataFrame(columns=tc.CELL_COLUMNS)}, "tahoe__A1CF_VORINOSTAT")
    assert status["b"].startswith("not drawn: ")
    plt.close(fig)


# --------------------------------------------------------------------------------------------------
# the embedding as AnnData
# --------------------------------------------------------------------------------------------------
def test_embedding_anndata_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"split": ["train", "test", np.nan, "train"], "lineage": ["Lung", np.nan, "Skin", "Lung"],
                          "benefit_score": rng.normal(size=4), "median_group": ["high", "low", "low", "high"],
                          "quartile": ["Q4", "Q1", "Q2", "Q3"], "observed_dependency": [0.1, np.nan, 0.3, 0.2],
                          "observed_ic50": rng.normal(size=4), "Z1": rng.normal(size=4), "Z2": rng.normal(size=4),
                          "PC1": rng.normal(size=4), "PC2": rng.normal(size=4)},
                         index=pd.Index(["ACH-1", "ACH-2", "ACH-3", "ACH-4"], name="sample"))
    write_embedding_h5ad(table, tmp_path / "e.h5ad", "P_Q")
    adata = ad.read_h5ad(tmp_path / "e.h5ad")
    np.testing.assert_array_equal(adata.obsm["X_forge"], table[["Z1", "Z2"]].to_numpy())
    assert adata.obs_names.tolist() == table.index.tolist() and adata.uns["forge"]["pair"] == "P_Q"
    pd.testing.assert_frame_equal(embedding_table(adata), table, check_dtype=False, check_categorical=False)
    with pytest.raises(ValueError, match="no latent column"):
        embedding_anndata(table.drop(columns=["Z1", "Z2"]))


# --------------------------------------------------------------------------------------------------
# the rules on the small demo (shared run)
# --------------------------------------------------------------------------------------------------
def test_embedding_h5ad_equals_tsv_on_demo(small_run: Path) -> None:
    for pair in ("EGFR_ERLOTINIB", "A1CF_VORINOSTAT"):
        tsv = small_run / f"results/small/pairs/{pair}/embedding.tsv"
        adata = ad.read_h5ad(tsv.with_suffix(".h5ad"))
        table = pd.read_csv(tsv, sep="\t", dtype={"sample": str}, float_precision="round_trip").set_index("sample")
        z = [c for c in table.columns if c.startswith("Z")]
        np.testing.assert_array_equal(adata.obsm["X_forge"], table[z].to_numpy())
        pd.testing.assert_frame_equal(embedding_table(adata), table, check_dtype=False, check_categorical=False)
        # written back as text, the AnnData gives the TSV's bytes
        text = embedding_table(adata).reset_index().to_csv(sep="\t", index=False, lineterminator="\n")
        assert text == tsv.read_text()


def test_single_cell_rule_on_demo(small_run: Path) -> None:
    from forge.validation.tahoe import strongest_lines

    truth = json.loads((small_run / "resources/raw/demo/small/planted_truth.json").read_text())["tahoe"]
    out = small_run / "results/small/validation/tahoe/EGFR_ERLOTINIB"
    strength = pd.read_csv(out / "response_strength.tsv", sep="\t")
    cells = pd.read_csv(out / "single_cells.tsv", sep="\t", float_precision="round_trip")
    expected_lines = strongest_lines(strength, 4)  # tahoe.single_cells.n_lines default
    ranks = cells.drop_duplicates("cell_line").set_index("cell_line")["line_rank"]
    assert ranks.sort_values().index.tolist() == expected_lines
    # every kept cell of those lines, DMSO and each dose, on every plate (demo groups < 500 cells)
    expected = []
    for plate in sorted(truth["plates"]):
        adata = ad.read_h5ad(small_run / "resources/raw/demo/small" / truth["plates"][plate]["file"])
        expected.append(independent_selection(adata, expected_lines))
    expected = pd.concat(expected, ignore_index=True)
    assert cells["cell_id"].tolist() == expected["cell_id"].tolist()
    assert cells["cell_line"].tolist() == expected["cell_line"].tolist()
    np.testing.assert_array_equal(cells["dose"].to_numpy(), expected["dose"].to_numpy())
    assert set(cells["treatment"]) == {"DMSO_TF"} | {f"Erlotinib {p['dose']:g} uM" for p in truth["plates"].values()}
    adata = ad.read_h5ad(out / "single_cells.h5ad")
    np.testing.assert_array_equal(adata.obsm["X_umap"].astype(np.float64), cells[["UMAP1", "UMAP2"]].to_numpy())
    assert (small_run / "results/small/figures/fig5b_tahoe_cells/tahoe__EGFR_ERLOTINIB.png").stat().st_size > 20_000
    assert (small_run / "logs/small/tahoe_single_cells/EGFR_ERLOTINIB.log").is_file()
    assert (small_run / "benchmarks/runs/small/tahoe_single_cells/EGFR_ERLOTINIB.tsv").is_file()


def test_obs_names_read_in_chunks_equal_the_index(tmp_path: Path) -> None:
    import h5py

    adata = write_plate(tmp_path / "p.h5ad", "plate7", n_cells=250)
    rows = np.array([0, 3, 99, 100, 101, 249])
    with h5py.File(tmp_path / "p.h5ad", "r") as h5:
        assert tc.read_obs_names(h5, "p", rows, chunk=100).tolist() == adata.obs_names[rows].tolist()
        assert tc.read_obs_names(h5, "p", chunk=7).tolist() == adata.obs_names.tolist()
        with pytest.raises(InputFormatError, match="obs index has 250 rows, X has 251"):
            tc.read_obs_names(h5, "p", rows, n_rows=251)
