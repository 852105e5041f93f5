"""Deterministic generator of the embedded FORGE demo dataset.

The demo dataset imitates, in their exact file names and layouts, the raw sources the
workflow downloads (DepMap 24Q4, CREAMMIST, drug-target annotation, Tahoe-100M plates 7-9,
Gao 2015 PDX workbook, GENCODE v19 gene spans, NCBI symbol synonyms, Enrichr gene sets).
Biology is planted so that tests can check that the workflow recovers it:

* three latent expression modules (``M_EGFR``, ``M_NAMPT``, ``M_BRAF``) with per-model
  activities ~ N(0, 1) (EGFR module shifted up in Lung), each driving ~25 genes;
* CRISPR dependency of EGFR / NAMPT / BRAF rises with the matching module activity;
* IC50 of ERLOTINIB and GEFITINIB (EGFR), DAPORINAD (NAMPT) and DABRAFENIB (BRAF) falls
  with the matching module activity;
* negative control: A1CF dependency and VORINOSTAT IC50 are pure noise;
* Tahoe erlotinib response grows with dose and with the EGFR module activity;
* PDX tumour volume under erlotinib shrinks for models with high EGFR module activity.

Everything is drawn from ``np.random.default_rng`` children of one ``SeedSequence``, so the
same seed gives byte-identical CSV, GMT, JSON and XLSX files (XLSX zip entries and document
properties use a fixed timestamp). The h5ad files are written with anndata/h5py defaults;
see ``write_demo_dataset`` for what is guaranteed about their bytes.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forge.layout import tahoe_plate_file

# --------------------------------------------------------------------------------------
# Constants describing the planted design
# --------------------------------------------------------------------------------------

#: Fixed timestamp for workbook properties and zip entries (byte-identical xlsx files).
FIXED_TIMESTAMP = _dt.datetime(2025, 1, 1, 0, 0, 0)

#: Real gene symbols the demo needs, with (Ensembl ID, Entrez ID).
REAL_GENES: dict[str, tuple[str, int]] = {
    "EGFR": ("ENSG00000146648", 1956),
    "NAMPT": ("ENSG00000105835", 10135),
    "BRAF": ("ENSG00000157764", 673),
    "RAF1": ("ENSG00000132155", 5894),
    "A1CF": ("ENSG00000148584", 29974),
    "HDAC1": ("ENSG00000116478", 3065),
    "HDAC2": ("ENSG00000196591", 3066),
    "HDAC3": ("ENSG00000171720", 8841),
    "CCN2": ("ENSG00000118523", 1490),
    "PGAP6": ("ENSG00000129925", 27293),
}

#: Old (GRCh37-era) aliases used by Tahoe, GENCODE v19 and the 2015 PDX workbook.
OLD_ALIASES: dict[str, str] = {"CCN2": "CTGF", "PGAP6": "TMEM8A"}

MODULES: tuple[str, ...] = ("M_EGFR", "M_NAMPT", "M_BRAF")
MODULE_TARGET: dict[str, str] = {"M_EGFR": "EGFR", "M_NAMPT": "NAMPT", "M_BRAF": "BRAF"}
GENES_PER_MODULE = 25
#: SD of each module gene's own variation around the module activity (see _log2_expression).
MODULE_GENE_SPREAD = 3.0

#: Planted drug -> (target gene, module, IC50 intercept, slope on module, noise sd).
PLANTED_DRUGS: dict[str, tuple[str, str, float, float, float]] = {
    "ERLOTINIB": ("EGFR", "M_EGFR", 3.0, 1.3, 1.2),
    "GEFITINIB": ("EGFR", "M_EGFR", 2.5, 1.1, 1.2),
    "DAPORINAD": ("NAMPT", "M_NAMPT", -1.0, 1.3, 1.0),
    "DABRAFENIB": ("BRAF", "M_BRAF", 1.5, 1.3, 1.2),
}
CONTROL_DRUG = "VORINOSTAT"
CONTROL_GENE = "A1CF"

DRUG_TARGETS_FIXED: dict[str, str] = {
    "ERLOTINIB": "EGFR",
    "GEFITINIB": "EGFR",
    "DAPORINAD": "NAMPT",
    "DABRAFENIB": "BRAF,RAF1",
    "VORINOSTAT": "HDAC1,HDAC2,HDAC3",
}

#: Lineage -> (relative size, primary disease, model type codes).
LINEAGES: dict[str, tuple[float, str, tuple[str, ...]]] = {
    "Lung": (0.22, "Non-Small Cell Lung Cancer", ("LUAD", "LUSC", "NSCLC")),
    "Skin": (0.12, "Melanoma", ("SKCM", "MEL")),
    "Breast": (0.13, "Invasive Breast Carcinoma", ("IDC", "BRCA")),
    "Bowel": (0.15, "Colorectal Adenocarcinoma", ("COAD", "READ")),
    "CNS/Brain": (0.11, "Diffuse Glioma", ("GBM", "ASTR")),
    "Pancreas": (0.10, "Pancreatic Adenocarcinoma", ("PAAD",)),
    "Myeloid": (0.09, "Acute Myeloid Leukemia", ("AML",)),
    "Ovary/Fallopian Tube": (0.08, "Ovarian Epithelial Tumor", ("HGSOC", "LGSOC")),
}

NORMAL_LINE = {
    "CellLineName": "hTERT-HPNE",
    "StrippedCellLineName": "HTERTHPNE",
    "OncotreeLineage": "Pancreas",
    "OncotreePrimaryDisease": "Non-Cancerous",
    "DepmapModelType": "NORM",
}

#: Name prefixes imitating real cell-line naming punctuation.
NAME_PREFIXES: tuple[str, ...] = (
    "NCI-H", "HCC-", "HCC", "SK-MEL-", "SK-OV-", "Calu ", "KM-", "SW", "HT-", "COLO ",
    "MDA-MB-", "BT-", "U-", "LN-", "OVCAR-", "PANC ", "Capan-", "MOLM-", "OCI-AML", "KP-",
    "CAL-", "LS ", "DLD-", "HuP-T", "PC-", "EBC-", "LK-", "WM", "IGR-", "HS ", "SNU-",
    "NCI-H", "ABC-", "RERF-LC-", "Hs ", "JHOS-", "KYSE-", "MKN", "SUIT-", "GB-",
)

TAHOE_PLATES: dict[str, float] = {"plate7": 0.05, "plate8": 0.5, "plate9": 5.0}
TAHOE_DOSE_WEIGHT: dict[str, float] = {"plate7": 0.25, "plate8": 0.55, "plate9": 1.0}


def _tahoe_file(plate: str) -> str:
    """Raw name (``tahoe/<file>``) of the demo plate ``plate`` ("plate7"), as forge.layout names Tahoe plates."""
    return tahoe_plate_file(plate.removeprefix("plate"))


PDX_OTHER_TREATMENTS: dict[str, str] = {"BYL719": "PIK3CA", "binimetinib": "MAP2K1,MAP2K2"}
PDX_TUMOUR_LINEAGE: dict[str, str] = {"NSCLC": "Lung", "CRC": "Bowel", "BRCA": "Breast"}

ALNUM = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
UPPER_ALNUM = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def strip_cell_line_name(name: str) -> str:
    """Return the DepMap-style stripped name: upper case, non-alphanumerics removed.

    Parameters
    ----------
    name : str
        Cell-line name with arbitrary punctuation.

    Returns
    -------
    str
        Upper-case alphanumeric name.
    """
    return re.sub(r"[^A-Za-z0-9]", "", name).upper()


def _random_codes(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray,
                  taken: set[str] | None = None) -> list[str]:
    """Draw ``n`` unique random codes of ``length`` characters, avoiding ``taken``."""
    taken = set() if taken is None else taken
    codes: list[str] = []
    while len(codes) < n:
        code = "".join(rng.choice(alphabet, size=length))
        if code not in taken:
            taken.add(code)
            codes.append(code)
    return codes


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _negative_binomial(rng: np.random.Generator, mean: np.ndarray,
                       dispersion: np.ndarray) -> np.ndarray:
    """Draw NB counts with given mean and dispersion (variance = mu + phi * mu^2)."""
    size = 1.0 / dispersion
    prob = size / (size + mean)
    return rng.negative_binomial(np.broadcast_to(size, mean.shape), prob)


def _write_csv(frame: pd.DataFrame, path: Path, **kwargs: Any) -> None:
    """Write CSV with fixed line endings and float format (byte-stable output)."""
    frame.to_csv(path, lineterminator="\n", **kwargs)


# --------------------------------------------------------------------------------------
# Components
# --------------------------------------------------------------------------------------


def _make_genes(rng: np.random.Generator, n_genes: int) -> pd.DataFrame:
    """Gene table: symbol, Ensembl ID, Entrez ID, span, baseline, dispersion."""
    n_synthetic = n_genes - len(REAL_GENES)
    if n_synthetic < 4 * GENES_PER_MODULE + 200:
        raise ValueError(f"n_genes={n_genes} is too small for the planted design")
    synthetic = [f"DG{i:05d}" for i in range(1, n_synthetic + 1)]
    real_ens = {e for e, _ in REAL_GENES.values()}
    ens_numbers = rng.choice(np.arange(100000, 999999), size=n_synthetic, replace=False)
    synthetic_ens = [f"ENSG00000{k:06d}" for k in ens_numbers]
    # avoid accidental identity with the real IDs
    synthetic_ens = [e if e not in real_ens else e[:-1] + "0" for e in synthetic_ens]
    entrez = rng.choice(np.arange(100001, 999999), size=n_synthetic, replace=False)
    symbols = synthetic + list(REAL_GENES)
    ensembl = synthetic_ens + [v[0] for v in REAL_GENES.values()]
    entrez_ids = list(entrez) + [v[1] for v in REAL_GENES.values()]
    order = rng.permutation(n_genes)  # real genes scattered among synthetic ones
    genes = pd.DataFrame({"symbol": np.array(symbols)[order],
                          "ensembl": np.array(ensembl)[order],
                          "entrez": np.array(entrez_ids, dtype=np.int64)[order]})
    # baseline log2 abundance spanning several orders of magnitude; ~6% nearly silent
    baseline = rng.normal(0.0, 2.2, n_genes)
    silent = rng.random(n_genes) < 0.06
    baseline[silent] -= 9.0
    # keep planted genes reasonably expressed so their signal is measurable
    planted_real = genes["symbol"].isin(["EGFR", "NAMPT", "BRAF", "A1CF"]).to_numpy()
    baseline[planted_real] = np.abs(baseline[planted_real]) + 1.0
    genes["baseline_log2"] = baseline
    genes["dispersion"] = rng.uniform(0.1, 0.3, n_genes)
    genes["span_length"] = np.round(np.exp(rng.uniform(np.log(500), np.log(200000),
                                                        n_genes))).astype(np.int64)
    return genes


def _make_models(rng: np.random.Generator, n_cell_lines: int) -> tuple[pd.DataFrame, list]:
    """Model table (DepMap Model.csv columns) and the planted colliding name pairs."""
    n_cancer = n_cell_lines - 1
    lineage_names = list(LINEAGES)
    weights = np.array([LINEAGES[l][0] for l in lineage_names])
    counts = np.floor(weights / weights.sum() * n_cancer).astype(int)
    counts[0] += n_cancer - counts.sum()  # remainder to Lung
    lineages = np.repeat(lineage_names, counts)
    lineages = lineages[rng.permutation(n_cancer)]

    stripped_taken: set[str] = {NORMAL_LINE["StrippedCellLineName"]}
    # three colliding pairs: same letters/digits, different punctuation
    collision_pairs: list[tuple[str, str]] = []
    while len(collision_pairs) < 3:
        letters = "".join(rng.choice(list("ABCDEFGHJKLMNPRSTUVWXYZ"), size=3))
        digits = str(int(rng.integers(1, 99)))
        core = letters + digits
        if core in stripped_taken:
            continue
        stripped_taken.add(core)
        collision_pairs.append((f"{letters[:2]}-{letters[2]}{digits}",
                                f"{letters}-{digits}"))
    names: list[str] = [n for pair in collision_pairs for n in pair]
    while len(names) < n_cancer:
        kind = rng.random()
        if kind < 0.05:  # "T.T"-like short dotted names
            name = f"{rng.choice(list('ABCDEFGHKLMNPRST'))}.{rng.choice(list('ABCDEFGHKLMNPRST'))}"
        else:
            prefix = str(rng.choice(NAME_PREFIXES))
            number = int(rng.integers(1, 2500)) if rng.random() < 0.5 else int(rng.integers(1, 60))
            name = f"{prefix}{number}"
            if rng.random() < 0.08:
                name += str(rng.choice(["A", "B", "-S", "/M", " P"]))
        stripped = strip_cell_line_name(name)
        if stripped in stripped_taken or not stripped:
            continue
        stripped_taken.add(stripped)
        names.append(name)
    # collision pair members are placed at random positions among the cancer lines
    names_arr = np.array(names, dtype=object)[rng.permutation(n_cancer)]

    id_numbers = np.sort(rng.choice(np.arange(1, 3000), size=n_cell_lines, replace=False))
    model_ids = [f"ACH-{k:06d}" for k in id_numbers]
    patient_ids = ["PT-" + c for c in _random_codes(rng, n_cell_lines, 6, ALNUM)]
    rrids = ["CVCL_" + c for c in _random_codes(rng, n_cell_lines, 4, UPPER_ALNUM)]
    normal_position = int(rng.integers(0, n_cell_lines))

    rows = []
    cancer_index = 0
    for i in range(n_cell_lines):
        if i == normal_position:
            rows.append({**NORMAL_LINE, "Sex": "Male"})
            continue
        lineage = lineages[cancer_index]
        name = names_arr[cancer_index]
        cancer_index += 1
        _, disease, codes = LINEAGES[lineage]
        if lineage == "Breast":
            sex = "Female" if rng.random() < 0.97 else "Unknown"
        elif lineage == "Ovary/Fallopian Tube":
            sex = "Female"
        else:
            sex = str(rng.choice(["Male", "Female", "Unknown"], p=[0.5, 0.45, 0.05]))
        rows.append({"CellLineName": name, "StrippedCellLineName": strip_cell_line_name(name),
                     "OncotreeLineage": lineage, "OncotreePrimaryDisease": disease,
                     "DepmapModelType": str(rng.choice(codes)), "Sex": sex})
    models = pd.DataFrame(rows)
    models.insert(0, "ModelID", model_ids)
    models.insert(1, "PatientID", patient_ids)
    # ~5% of models lack an RRID; collision pairs and the normal line always have one
    protected = set(n for pair in collision_pairs for n in pair) | {NORMAL_LINE["CellLineName"]}
    missing_rrid = (rng.random(n_cell_lines) < 0.05) & ~models["CellLineName"].isin(protected)
    models["RRID"] = np.where(missing_rrid, "", rrids)
    column_order = ["ModelID", "PatientID", "CellLineName", "StrippedCellLineName",
                    "DepmapModelType", "OncotreeLineage", "OncotreePrimaryDisease", "RRID", "Sex"]
    return models[column_order], collision_pairs


def _make_modules(rng: np.random.Generator, genes: pd.DataFrame,
                  models: pd.DataFrame) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """Pick module genes with signed loadings and per-model activities."""
    symbols = genes["symbol"].to_numpy()
    reserved = set(REAL_GENES)
    # module genes come from reasonably expressed synthetic genes
    eligible = np.flatnonzero((~np.isin(symbols, list(reserved)))
                              & (genes["baseline_log2"].to_numpy() > -1.5))
    chosen = rng.choice(eligible, size=len(MODULES) * (GENES_PER_MODULE - 1), replace=False)
    loadings = np.zeros((len(MODULES), len(symbols)))
    module_genes: dict[str, dict[str, float]] = {}
    for k, module in enumerate(MODULES):
        target = MODULE_TARGET[module]
        idx = list(chosen[k * (GENES_PER_MODULE - 1):(k + 1) * (GENES_PER_MODULE - 1)])
        idx.append(int(np.flatnonzero(symbols == target)[0]))  # target gene loads positively
        magnitude = rng.uniform(0.8, 1.5, len(idx))
        sign = np.where(rng.random(len(idx)) < 0.65, 1.0, -1.0)
        sign[-1] = 1.0
        loadings[k, idx] = magnitude * sign
        module_genes[module] = {str(symbols[i]): round(float(loadings[k, i]), 6) for i in idx}
    activity = rng.normal(0.0, 1.0, (len(models), len(MODULES)))
    is_lung = (models["OncotreeLineage"] == "Lung").to_numpy()
    activity[is_lung, 0] += 0.7  # EGFR module higher in Lung
    # the normal line gets a low EGFR module activity (Tahoe: normal line scores low)
    is_normal = (models["CellLineName"] == NORMAL_LINE["CellLineName"]).to_numpy()
    activity[is_normal, 0] = -1.5
    activity_frame = pd.DataFrame(activity, index=models["ModelID"], columns=list(MODULES))
    return module_genes, activity_frame, loadings


def _lineage_effects(rng: np.random.Generator, n_genes: int) -> dict[str, np.ndarray]:
    """Each lineage shifts ~10% of genes (log2 units)."""
    effects: dict[str, np.ndarray] = {}
    for lineage in LINEAGES:
        shift = np.zeros(n_genes)
        idx = rng.choice(n_genes, size=n_genes // 10, replace=False)
        shift[idx] = rng.normal(0.0, 1.2, idx.size)
        effects[lineage] = shift
    return effects


def _log2_expression(rng: np.random.Generator, genes: pd.DataFrame, lineages: np.ndarray,
                     activity: np.ndarray, loadings: np.ndarray,
                     lineage_effects: dict[str, np.ndarray], noise_sd: float) -> np.ndarray:
    """Log2 abundance = baseline + lineage + modules + noise (samples x genes).

    A module gene ``g`` of module ``m`` carries ``loading_g * u_ig`` with
    ``u_ig = activity_im + e_ig - mean_g'(e_ig')``: each gene has its own
    variation (``e`` has sd ``MODULE_GENE_SPREAD``), yet the module's mean of
    ``u`` is exactly the activity. The activity that drives dependency and IC50
    is therefore a linear function of the module genes' expression, so the true
    regression coefficients sit on the module genes, while the genes stay
    co-expressed (pairwise correlation ~ 1 / (1 + spread^2)).
    """
    base = genes["baseline_log2"].to_numpy()[None, :]
    lineage_shift = np.stack([lineage_effects[l] for l in lineages])
    module_part = np.zeros((len(lineages), len(genes)))
    for k in range(loadings.shape[0]):
        members = np.flatnonzero(loadings[k])
        spread = rng.normal(0.0, MODULE_GENE_SPREAD, (len(lineages), members.size))
        spread -= spread.mean(axis=1, keepdims=True)
        module_part[:, members] += loadings[k, members] * (activity[:, [k]] + spread)
    noise = rng.normal(0.0, noise_sd, (len(lineages), len(genes)))
    return base + lineage_shift + module_part + noise


def _counts_from_log2(rng: np.random.Generator, log2_expr: np.ndarray,
                      library_sizes: np.ndarray, dispersion: np.ndarray) -> np.ndarray:
    """NB counts with mean = library size x proportion."""
    proportions = np.exp2(log2_expr - log2_expr.max(axis=1, keepdims=True))
    proportions /= proportions.sum(axis=1, keepdims=True)
    mean = library_sizes[:, None] * proportions
    return _negative_binomial(rng, mean, np.broadcast_to(dispersion, mean.shape))


# --------------------------------------------------------------------------------------
# Writers per source
# --------------------------------------------------------------------------------------


def _write_depmap_expression(rng: np.random.Generator, out: Path, genes: pd.DataFrame,
                             models: pd.DataFrame, log2_model: np.ndarray,
                             lineage_effects: dict, activity: np.ndarray,
                             loadings: np.ndarray) -> dict[str, Any]:
    """OmicsExpressionRNASeQCGeneCountProfile.csv and OmicsProfiles.csv."""
    n_models = len(models)
    second_profile_models = np.sort(rng.choice(n_models, size=min(15, n_models), replace=False))
    # non-default profiles: same model biology, fresh noise
    second_log2 = _log2_expression(rng, genes, models["OncotreeLineage"].to_numpy()[second_profile_models],
                                   activity[second_profile_models], loadings, lineage_effects, 0.35)
    all_log2 = np.vstack([log2_model, second_log2])
    n_profiles = all_log2.shape[0]
    library_sizes = np.clip(rng.lognormal(np.log(2e7), 0.4, n_profiles), 5e6, 6e7)
    counts = _counts_from_log2(rng, all_log2, library_sizes, genes["dispersion"].to_numpy())

    profile_ids = ["PR-" + c for c in _random_codes(rng, n_profiles + 60, 6, ALNUM)]
    condition_ids = ["MC-" + c for c in _random_codes(rng, n_profiles + 60, 6, ALNUM)]
    model_index = np.concatenate([np.arange(n_models), second_profile_models])
    rna_profiles = pd.DataFrame({
        "ProfileID": profile_ids[:n_profiles],
        "ModelConditionID": condition_ids[:n_profiles],
        "ModelID": models["ModelID"].to_numpy()[model_index],
        "Datatype": "rna",
        "IsDefaultEntryForModel": ["Yes"] * n_models + ["No"] * len(second_profile_models),
        "Source": rng.choice(["Broad", "Sanger"], size=n_profiles, p=[0.75, 0.25]),
    })
    wgs_models = rng.choice(n_models, size=60, replace=False)
    wgs_profiles = pd.DataFrame({
        "ProfileID": profile_ids[n_profiles:],
        "ModelConditionID": condition_ids[n_profiles:],
        "ModelID": models["ModelID"].to_numpy()[wgs_models],
        "Datatype": "wgs",
        "IsDefaultEntryForModel": rng.choice(["Yes", "No"], size=60, p=[0.85, 0.15]),
        "Source": rng.choice(["Broad", "Sanger"], size=60, p=[0.6, 0.4]),
    })
    profiles = pd.concat([rna_profiles, wgs_profiles], ignore_index=True)
    profiles = profiles.sort_values("ProfileID", kind="stable").reset_index(drop=True)
    _write_csv(profiles, out / "OmicsProfiles.csv", index=False)

    columns = [f"{s} ({e})" for s, e in zip(genes["symbol"], genes["ensembl"])]
    expression = pd.DataFrame(counts.astype(np.int64), columns=columns,
                              index=pd.Index(rna_profiles["ProfileID"], name=""))
    expression = expression.sort_index(kind="stable")
    _write_csv(expression, out / "OmicsExpressionRNASeQCGeneCountProfile.csv")
    return {"non_default_rna_profiles": {pid: mid for pid, mid in zip(
        rna_profiles["ProfileID"][n_models:], rna_profiles["ModelID"][n_models:])}}


def _write_crispr(rng: np.random.Generator, out: Path, genes: pd.DataFrame,
                  models: pd.DataFrame, activity: pd.DataFrame) -> dict[str, Any]:
    """CRISPRGeneDependency.csv: dependency probabilities, ~8% of models unscreened."""
    symbols = genes["symbol"].to_numpy()
    required = ["EGFR", "NAMPT", "BRAF", "RAF1", "A1CF", "HDAC1", "HDAC2", "HDAC3"]
    others = [i for i in range(len(symbols)) if symbols[i] not in required]
    n_columns = min(1000, len(symbols))
    extra = rng.choice(others, size=n_columns - len(required), replace=False)
    column_idx = np.sort(np.concatenate([[int(np.flatnonzero(symbols == g)[0]) for g in required],
                                         extra]))
    screened = rng.random(len(models)) >= 0.08
    model_ids = models["ModelID"].to_numpy()[screened]
    n_rows = len(model_ids)
    # background: most genes non-essential, ~6% common-essential
    essential = rng.random(len(column_idx)) < 0.06
    values = np.where(essential[None, :], rng.beta(8.0, 1.5, (n_rows, len(column_idx))),
                      rng.beta(0.5, 10.0, (n_rows, len(column_idx))))
    col_symbols = symbols[column_idx]
    planted_params = {"EGFR": ("M_EGFR", 2.2, -3.2, 1.0), "NAMPT": ("M_NAMPT", 2.2, -2.6, 1.0),
                      "BRAF": ("M_BRAF", 2.2, -3.0, 1.0)}
    act = activity.loc[model_ids]
    for gene, (module, slope, intercept, noise_sd) in planted_params.items():
        j = int(np.flatnonzero(col_symbols == gene)[0])
        logit = slope * act[module].to_numpy() + intercept + rng.normal(0, noise_sd, n_rows)
        values[:, j] = _sigmoid(logit)
    # control gene: pure noise, unrelated to expression
    j_control = int(np.flatnonzero(col_symbols == CONTROL_GENE)[0])
    values[:, j_control] = rng.beta(0.7, 6.0, n_rows)
    # a few NaN cells, never in the planted/control columns
    protected_cols = {int(np.flatnonzero(col_symbols == g)[0]) for g in required}
    free_cols = np.array([j for j in range(len(column_idx)) if j not in protected_cols])
    nan_rows = rng.integers(0, n_rows, 25)
    nan_cols = rng.choice(free_cols, 25)
    values[nan_rows, nan_cols] = np.nan
    columns = [f"{s} ({e})" for s, e in zip(col_symbols, genes["entrez"].to_numpy()[column_idx])]
    frame = pd.DataFrame(values, index=pd.Index(model_ids, name=""), columns=columns)
    _write_csv(frame, out / "CRISPRGeneDependency.csv", float_format="%.6g")
    return {"crispr_unscreened_models": sorted(models["ModelID"].to_numpy()[~screened].tolist()),
            "crispr_planted_params": {g: {"module": m, "slope": s, "intercept": b, "noise_sd": n}
                                      for g, (m, s, b, n) in planted_params.items()}}


def _punctuation_variant(rng: np.random.Generator, name: str) -> str:
    """Another spelling of ``name`` that strips to the same StrippedCellLineName."""
    if " " in name:
        variant = name.replace(" ", "-", 1)
    elif "-" in name:
        variant = name.replace("-", " " if rng.random() < 0.5 else "", 1)
    elif "." in name:
        variant = name.replace(".", "")
    else:
        match = re.search(r"[A-Za-z](?=\d)", name)
        variant = name[:match.end()] + "-" + name[match.end():] if match else name + "-"
    if variant == name:
        variant = name.upper() + "-"
    return variant.upper() if rng.random() < 0.5 else variant


def _write_creammist(rng: np.random.Generator, out: Path, models: pd.DataFrame,
                     activity: pd.DataFrame, collision_pairs: list) -> dict[str, Any]:
    """creammist_ic50.csv (drugs x cell lines) and creammist_cell_lines.csv."""
    colliding = {n for pair in collision_pairs for n in pair}
    in_creammist = (rng.random(len(models)) < 0.9) | models["CellLineName"].isin(colliding)
    subset = models[in_creammist.to_numpy()]
    all_model_names = set(models["CellLineName"])
    names: list[str] = []
    variants: dict[str, str] = {}
    for name in subset["CellLineName"]:
        if name not in colliding and rng.random() < 0.10:
            variant = _punctuation_variant(rng, name)
            if variant not in all_model_names and variant not in names:
                variants[variant] = name
                names.append(variant)
                continue
        names.append(name)
    stripped_known = set(models["StrippedCellLineName"])
    unmappable: list[str] = []
    while len(unmappable) < 5:
        candidate = f"QZ-{int(rng.integers(100, 999))}{rng.choice(['', 'T', 'M'])}"
        if strip_cell_line_name(candidate) not in stripped_known and candidate not in unmappable:
            unmappable.append(candidate)
    model_of_name = dict(zip(names, subset["ModelID"]))
    all_names = names + unmappable

    drugs_planted = list(PLANTED_DRUGS) + [CONTROL_DRUG]
    fillers = [f"DEMO-{100 + 7 * i}" if i % 2 else f"DEMOTINIB-{i + 1}" for i in range(10)]
    drugs = sorted(drugs_planted + fillers)
    ic50 = np.empty((len(drugs), len(all_names)))
    for d, drug in enumerate(drugs):
        if drug in PLANTED_DRUGS:
            _, module, intercept, slope, noise_sd = PLANTED_DRUGS[drug]
            act = np.array([activity.at[model_of_name[n], module] if n in model_of_name
                            else rng.normal() for n in all_names])
            ic50[d] = intercept - slope * act + rng.normal(0, noise_sd, len(all_names))
        else:  # control and fillers: independent of expression
            ic50[d] = rng.normal(rng.uniform(-1, 5), rng.uniform(1.0, 2.0), len(all_names))
        ic50[d, rng.random(len(all_names)) < 0.15] = np.nan
    order = np.argsort(np.array(all_names, dtype=str), kind="stable")
    frame = pd.DataFrame(ic50[:, order], columns=np.array(all_names)[order])
    frame.insert(0, "drug", drugs)
    _write_csv(frame, out / "creammist_ic50.csv", index=False, float_format="%.6g")

    rrid_of_model = dict(zip(models["ModelID"], models["RRID"]))
    resolvable_pair = collision_pairs[0]
    cell_rows = []
    for name in np.array(all_names)[order]:
        if name in colliding:
            rrid = rrid_of_model[model_of_name[name]] if name in resolvable_pair else ""
        elif name in model_of_name:
            rrid = rrid_of_model[model_of_name[name]] if rng.random() >= 0.30 else ""
        else:  # unmappable lines: foreign RRID or none
            rrid = "CVCL_Z" + "".join(rng.choice(UPPER_ALNUM, 3)) if rng.random() < 0.5 else ""
        cell_rows.append({"cell_line_name": name, "cellosaurus_index": rrid})
    _write_csv(pd.DataFrame(cell_rows), out / "creammist_cell_lines.csv", index=False)

    return {"creammist_name_variants": dict(sorted(variants.items())),
            "unmappable_creammist_names": unmappable,
            "creammist_model_of_name": dict(sorted(model_of_name.items())),
            "filler_drugs": fillers,
            "resolvable_collision_pair": list(resolvable_pair)}


def _write_drug_targets(rng: np.random.Generator, out: Path, genes: pd.DataFrame,
                        fillers: list[str], module_genes: dict) -> dict[str, str]:
    """drug_targets.csv: Drug,Target with comma-joined targets (quoted when needed)."""
    symbols = genes["symbol"].to_numpy()
    avoid = set(REAL_GENES) | {g for m in module_genes.values() for g in m}
    candidates = np.array([s for s in symbols if s not in avoid])
    targets = dict(DRUG_TARGETS_FIXED)
    for drug in fillers:
        k = int(rng.integers(1, 4))
        targets[drug] = ",".join(sorted(rng.choice(candidates, size=k, replace=False)))
    frame = pd.DataFrame({"Drug": sorted(targets), "Target": [targets[d] for d in sorted(targets)]})
    _write_csv(frame, out / "drug_targets.csv", index=False)
    return targets


def _write_tahoe(rng: np.random.Generator, out: Path, genes: pd.DataFrame,
                 models: pd.DataFrame, activity: pd.DataFrame, log2_model: np.ndarray,
                 cells_per_condition: int) -> dict[str, Any]:
    """Three Tahoe-like h5ad plates with erlotinib and DMSO cells on 16 cell lines."""
    import anndata as ad
    from scipy import sparse

    symbols = genes["symbol"].to_numpy()
    has_rrid = models["RRID"].to_numpy() != ""
    is_normal = (models["CellLineName"] == NORMAL_LINE["CellLineName"]).to_numpy()
    eligible = np.flatnonzero(has_rrid & ~is_normal)
    # spread the 15 cancer lines over the EGFR-module range (quantile picks)
    egfr_activity = activity["M_EGFR"].to_numpy()
    ranked = eligible[np.argsort(egfr_activity[eligible], kind="stable")]
    picks = np.unique(np.round(np.linspace(0, len(ranked) - 1, 15)).astype(int))
    line_index = np.concatenate([ranked[picks], np.flatnonzero(is_normal)])

    # response genes: well-expressed genes with a fixed direction of change
    # (well-expressed so the shift stands out against pseudo-bulk sampling noise)
    expressed = np.flatnonzero(genes["baseline_log2"].to_numpy() > 1.0)
    response_genes = rng.choice(expressed, size=min(250, expressed.size), replace=False)
    direction = np.zeros(len(symbols))
    direction[response_genes] = rng.normal(0.0, 1.5, response_genes.size)
    line_activity = egfr_activity[line_index]
    # response gain grows with EGFR module activity (softplus keeps it positive)
    line_gain = 0.15 + 0.9 * np.log1p(np.exp(1.3 * line_activity))
    cell_dispersion = 0.05

    var_names = [OLD_ALIASES.get(s, s) for s in symbols]
    var = pd.DataFrame({"gene_id": genes["ensembl"].to_numpy()},
                       index=pd.Index(var_names, name=None))
    tahoe_info: dict[str, Any] = {"plates": {}, "lines": []}
    for plate, dose in TAHOE_PLATES.items():
        blocks: list[np.ndarray] = []
        obs_rows: list[dict[str, Any]] = []
        sample_counter = 0
        for li, m in enumerate(line_index):
            for drug in ("DMSO_TF", "Erlotinib"):
                sample_counter += 1
                shift = (TAHOE_DOSE_WEIGHT[plate] * line_gain[li] * direction
                         if drug == "Erlotinib" else 0.0)
                log2_cells = log2_model[m][None, :] + shift + rng.normal(
                    0.0, 0.1, (cells_per_condition, len(symbols)))
                lib = np.exp(rng.uniform(np.log(1000), np.log(5000), cells_per_condition))
                counts = _counts_from_log2(rng, log2_cells, lib,
                                           np.full(len(symbols), cell_dispersion))
                blocks.append(counts)
                conc = dose if drug == "Erlotinib" else 0.0
                for c in range(cells_per_condition):
                    obs_rows.append({
                        "sample": f"smp_{plate[5:]}{sample_counter:03d}",
                        "cell_line": models["RRID"].iat[m],
                        "cell_name": models["CellLineName"].iat[m],
                        "drug": drug,
                        "drugname_drugconc": f"[('{drug}', {conc}, 'uM')]",
                        "plate": plate,
                        "pass_filter": "full" if rng.random() < 0.9 else "minimal",
                        "tscp_count": int(counts[c].sum()),
                        "gene_count": int((counts[c] > 0).sum()),
                    })
        matrix = np.vstack(blocks)
        order = rng.permutation(matrix.shape[0])  # cells interleaved as on a real plate
        matrix = matrix[order]
        obs = pd.DataFrame([obs_rows[i] for i in order])
        barcodes = _random_codes(rng, len(obs), 16, np.array(list("ACGT")))
        obs.index = pd.Index([f"{b}_{plate}" for b in barcodes])
        for column in ("sample", "cell_line", "cell_name", "drug", "drugname_drugconc",
                       "plate", "pass_filter"):
            obs[column] = pd.Categorical(obs[column], categories=sorted(obs[column].unique()))
        obs["tscp_count"] = obs["tscp_count"].astype(np.int64)
        obs["gene_count"] = obs["gene_count"].astype(np.int64)
        x = sparse.csr_matrix(matrix.astype(np.float32))
        adata = ad.AnnData(X=x, obs=obs, var=var.copy())
        adata.write_h5ad(out / _tahoe_file(plate))
        tahoe_info["plates"][plate] = {"dose": dose, "unit": "uM",
                                       "file": _tahoe_file(plate),
                                       "n_cells": int(matrix.shape[0])}
    for li, m in enumerate(line_index):
        tahoe_info["lines"].append({
            "ModelID": models["ModelID"].iat[m], "RRID": models["RRID"].iat[m],
            "CellLineName": models["CellLineName"].iat[m],
            "M_EGFR": round(float(line_activity[li]), 6),
            "response_gain": round(float(line_gain[li]), 6),
            "is_normal": bool(is_normal[m])})
    tahoe_info["dose_weight"] = TAHOE_DOSE_WEIGHT
    tahoe_info["x_dtype"] = "float32 (integer-valued raw UMI counts, scipy CSR)"
    tahoe_info["response_genes"] = sorted(var_names[i] for i in response_genes)
    tahoe_info["gene_aliases"] = {v: k for k, v in OLD_ALIASES.items()}
    return tahoe_info


def _curve_metrics(days: np.ndarray, tvol: np.ndarray) -> dict[str, float]:
    """Gao-2015-style curve metrics from %TVol Difference over days."""
    late = days >= 10
    if not late.any():
        late = days == days.max()
    best_idx = np.flatnonzero(late)[np.argmin(tvol[late])]
    cumulative_mean = np.cumsum(tvol) / np.arange(1, len(tvol) + 1)
    best_avg_idx = np.flatnonzero(late)[np.argmin(cumulative_mean[late])]
    doubled = np.flatnonzero(tvol >= 100.0)
    if doubled.size:
        j = doubled[0]
        d0, d1, v0, v1 = days[j - 1], days[j], tvol[j - 1], tvol[j]
        time_to_double = float(d0 + (100.0 - v0) * (d1 - d0) / (v1 - v0)) if v1 != v0 else float(d1)
    else:
        time_to_double = 99.0
    return {"BestResponse": float(tvol[best_idx]), "Day_BestResponse": float(days[best_idx]),
            "BestAvgResponse": float(cumulative_mean[best_avg_idx]),
            "Day_BestAvgResponse": float(days[best_avg_idx]),
            "TimeToDouble": time_to_double, "Day_Last": float(days[-1])}


def _response_category(metrics: dict[str, float], final_tvol: float) -> str:
    """mRECIST class, with the '-->PD' suffix when the tumour regrew afterwards."""
    br, bar = metrics["BestResponse"], metrics["BestAvgResponse"]
    if br < -95 and bar < -40:
        category = "CR"
    elif br < -50 and bar < -20:
        category = "PR"
    elif br < 35 and bar < 30:
        category = "SD"
    else:
        return "PD"
    if final_tvol > 35 and category in ("SD", "PR"):
        return f"{category}-->PD"
    return category


def _write_xlsx_deterministic(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """Write an xlsx with fixed document properties and fixed zip entry timestamps."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook(write_only=True)
    workbook.properties.creator = "FORGE demo generator"
    workbook.properties.created = FIXED_TIMESTAMP
    workbook.properties.modified = FIXED_TIMESTAMP
    for name, frame in sheets.items():
        sheet = workbook.create_sheet(title=name)
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False, name=None):
            sheet.append([None if (isinstance(v, float) and np.isnan(v)) else
                          (v.item() if isinstance(v, np.generic) else v) for v in row])
    buffer = io.BytesIO()
    # ExcelWriter directly: save_workbook() would stamp "modified" with the current time
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    # re-pack with fixed entry timestamps (ZipFile.writestr stamps the current time)
    buffer.seek(0)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            target.writestr(info, source.read(item.filename))


def _write_pdx(rng: np.random.Generator, out: Path, genes: pd.DataFrame,
               loadings: np.ndarray, lineage_effects: dict) -> dict[str, Any]:
    """nm.3954-S2.xlsx with RNAseq_fpkm, PCT raw data and PCT curve metrics sheets."""
    tumour_counts = {"NSCLC": 30, "CRC": 8, "BRCA": 7}
    tumour_types = np.repeat(list(tumour_counts), list(tumour_counts.values()))
    n_pdx = len(tumour_types)
    model_numbers = np.sort(rng.choice(np.arange(1000, 6000), size=n_pdx, replace=False))
    model_numbers = model_numbers[rng.permutation(n_pdx)]
    pdx_ids = np.array([f"X-{k}" for k in model_numbers])
    activity = rng.normal(0.0, 1.0, (n_pdx, len(MODULES)))
    activity[tumour_types == "NSCLC", 0] += 0.5
    nsclc = np.flatnonzero(tumour_types == "NSCLC")
    nsclc_without_fpkm = set(rng.choice(nsclc, size=4, replace=False).tolist())
    with_fpkm = np.array([i for i in range(n_pdx) if i not in nsclc_without_fpkm])

    # expression: same generative model as cell lines, counts at N fragments, then FPKM
    lineages = np.array([PDX_TUMOUR_LINEAGE[t] for t in tumour_types[with_fpkm]])
    log2_pdx = _log2_expression(rng, genes, lineages, activity[with_fpkm], loadings,
                                lineage_effects, 0.35)
    fragments = 35e6
    counts = _counts_from_log2(rng, log2_pdx, np.full(len(with_fpkm), fragments),
                               genes["dispersion"].to_numpy())
    lengths = genes["span_length"].to_numpy().astype(float)
    fpkm = counts * 1e9 / ((lengths - 199.0)[None, :] * fragments)
    gene_names = [OLD_ALIASES.get(s, s) for s in genes["symbol"]]
    fpkm_frame = pd.DataFrame(np.round(fpkm.T, 2), columns=pdx_ids[with_fpkm])
    fpkm_frame.insert(0, "Sample", gene_names)
    fpkm_frame = fpkm_frame.sort_values("Sample", kind="stable").reset_index(drop=True)
    fpkm_frame = fpkm_frame[["Sample"] + sorted(pdx_ids[with_fpkm].tolist())]

    raw_rows: list[dict[str, Any]] = []
    metric_rows: list[dict[str, Any]] = []
    targets = {"untreated": "UNKNOWN,Untreated", "erlotinib": "EGFR", **PDX_OTHER_TREATMENTS}
    for i in np.argsort(pdx_ids, kind="stable"):
        treatments = ["untreated"]
        if tumour_types[i] == "NSCLC":
            treatments.append("erlotinib")
        treatments += [t for t in PDX_OTHER_TREATMENTS if rng.random() < 0.6]
        for treatment in sorted(treatments, key=str.lower):
            n_points = int(rng.integers(6, 8))
            steps = rng.integers(3, 5, n_points - 1)
            days = np.concatenate([[0.0], np.cumsum(steps).astype(float)])
            growth = rng.normal(0.075, 0.015)  # per day, untreated
            if treatment == "erlotinib":
                # high EGFR-module activity -> tumour shrinks
                growth -= 0.07 * (activity[i, 0] + 1.0) + rng.normal(0, 0.02)
            elif treatment != "untreated":
                growth -= rng.normal(0.03, 0.03)
            log_ratio = growth * days + np.concatenate([[0.0], rng.normal(0, 0.1, n_points - 1)])
            log_ratio = np.maximum(log_ratio, np.log(0.02))
            v0 = rng.uniform(150, 250)
            volume = np.round(v0 * np.exp(log_ratio), 1)
            volume[0] = round(v0, 1)
            tvol = np.round((volume / volume[0] - 1.0) * 100.0, 1)
            bw0 = rng.uniform(19, 25)
            body_weight = np.round(bw0 * (1 + np.concatenate(
                [[0.0], rng.normal(0, 0.03, n_points - 1)])), 1)
            bw_diff = np.round((body_weight / body_weight[0] - 1.0) * 100.0, 1)
            for d in range(n_points):
                raw_rows.append({"Model": pdx_ids[i], "Tumor Type": tumour_types[i],
                                 "Treatment": treatment, "Volume (mm3)": float(volume[d]),
                                 "body weight (g)": float(body_weight[d]),
                                 "Days Post T0": float(days[d]),
                                 "%TVol Difference": float(tvol[d]),
                                 "%BW Difference": float(bw_diff[d])})
            metrics = _curve_metrics(days, tvol)
            metric_rows.append({"Model": pdx_ids[i], "Treatment": treatment,
                                "Treatment target": targets[treatment],
                                "Treatment type": "single", **metrics,
                                "ResponseCategory": _response_category(metrics, float(tvol[-1]))})
    sheets = {"RNAseq_fpkm": fpkm_frame, "PCT raw data": pd.DataFrame(raw_rows),
              "PCT curve metrics": pd.DataFrame(metric_rows)}
    _write_xlsx_deterministic(sheets, out / "nm.3954-S2.xlsx")
    erlotinib_models = sorted(pdx_ids[nsclc].tolist())
    return {
        "erlotinib_nsclc_models": erlotinib_models,
        "erlotinib_nsclc_models_with_fpkm": sorted(pdx_ids[[i for i in nsclc if i in set(with_fpkm)]].tolist()),
        "erlotinib_nsclc_models_without_fpkm": sorted(pdx_ids[sorted(nsclc_without_fpkm)].tolist()),
        "tumour_type": dict(sorted(zip(pdx_ids.tolist(), tumour_types.tolist()))),
        "module_activity": {pdx_ids[i]: {m: round(float(activity[i, k]), 6)
                                         for k, m in enumerate(MODULES)}
                            for i in np.argsort(pdx_ids, kind="stable")},
        "fpkm_fragments": fragments,
        "fpkm_formula": "FPKM = counts * 1e9 / ((span_length - 199) * 35e6)",
        "gene_aliases": {v: k for k, v in OLD_ALIASES.items()},
    }


def _write_gene_spans(rng: np.random.Generator, out: Path, genes: pd.DataFrame) -> None:
    """gencode_v19_gene_spans.csv (GRCh37-era names: CTGF, TMEM8A)."""
    n = len(genes)
    chroms = np.array([f"chr{c}" for c in list(range(1, 23)) + ["X"]])
    chrom = rng.choice(chroms, size=n)
    start = rng.integers(10_000, 200_000_000, n)
    length = genes["span_length"].to_numpy()
    frame = pd.DataFrame({
        "gene_name": [OLD_ALIASES.get(s, s) for s in genes["symbol"]],
        "gene_type": rng.choice(["protein_coding", "lincRNA", "antisense", "pseudogene"],
                                size=n, p=[0.8, 0.08, 0.06, 0.06]),
        "chrom": chrom, "start": start, "end": start + length - 1,
        "Strand": rng.choice(["+", "-"], size=n), "span_length": length,
    })
    frame.loc[frame["gene_name"].isin(list(REAL_GENES) + list(OLD_ALIASES.values())),
              "gene_type"] = "protein_coding"
    chrom_rank = {c: i for i, c in enumerate(chroms)}
    frame["_rank"] = frame["chrom"].map(chrom_rank)
    frame = frame.sort_values(["_rank", "start"], kind="stable").drop(columns="_rank")
    _write_csv(frame, out / "gencode_v19_gene_spans.csv", index=False)


def _write_synonyms(rng: np.random.Generator, out: Path, genes: pd.DataFrame) -> dict[str, Any]:
    """symbol_synonyms.csv: alias,official_symbol (includes CTGF and TMEM8A)."""
    synthetic = genes["symbol"][genes["symbol"].str.startswith("DG")].to_numpy()
    picks = rng.choice(synthetic, size=52, replace=False)
    rows = [("CTGF", "CCN2"), ("TMEM8A", "PGAP6")]
    rows += [(f"DGA{str(s)[2:]}", str(s)) for s in picks[:50]]
    # two ambiguous aliases (one alias, two official symbols), as in the NCBI table
    rows += [("DGAMBIG1", str(picks[50])), ("DGAMBIG1", str(picks[51]))]
    frame = pd.DataFrame(rows, columns=["alias", "official_symbol"])
    frame = frame.sort_values(["alias", "official_symbol"], kind="stable")
    _write_csv(frame, out / "symbol_synonyms.csv", index=False)
    return {"ambiguous_aliases": ["DGAMBIG1"]}


def _write_gmt(rng: np.random.Generator, out: Path, genes: pd.DataFrame,
               module_genes: dict) -> dict[str, str]:
    """genesets.gmt in Enrichr text format: name, empty description, genes."""
    symbols = genes["symbol"].to_numpy()
    lines: list[str] = []
    planted_names: dict[str, str] = {}
    for module, members in module_genes.items():
        name = f"PLANTED {module[2:]} MODULE (demo)"
        member_list = sorted(members)
        keep = rng.choice(member_list, size=int(round(0.8 * len(member_list))), replace=False)
        others = rng.choice([s for s in symbols if s not in members], size=5, replace=False)
        gene_set = sorted(set(keep.tolist()) | set(others.tolist()))
        lines.append("\t".join([name, ""] + gene_set))
        planted_names[module] = name
    for i in range(150):
        size = int(rng.integers(10, 301))
        gene_set = sorted(rng.choice(symbols, size=size, replace=False).tolist())
        lines.append("\t".join([f"DEMO RANDOM SET {i + 1:03d} (demo)", ""] + gene_set))
    (out / "genesets.gmt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return planted_names


# --------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------

#: File names written by :func:`write_demo_dataset` (relative to ``outdir``).
DEMO_FILES: tuple[str, ...] = (
    "OmicsExpressionRNASeQCGeneCountProfile.csv",
    "OmicsProfiles.csv",
    "Model.csv",
    "CRISPRGeneDependency.csv",
    "creammist_ic50.csv",
    "creammist_cell_lines.csv",
    "drug_targets.csv",
    *(_tahoe_file(p) for p in TAHOE_PLATES),
    "nm.3954-S2.xlsx",
    "gencode_v19_gene_spans.csv",
    "symbol_synonyms.csv",
    "genesets.gmt",
    "planted_truth.json",
)


def write_demo_dataset(outdir: str | Path, seed: int = 20251125, n_cell_lines: int = 360,
                       n_genes: int = 2400, cells_per_condition: int = 30) -> dict:
    """Write the full demo dataset into ``outdir`` and return the planted truth.

    Files are first written into the sibling directory ``<outdir>.tmp-<pid>`` and then moved
    into ``outdir`` with :func:`os.replace`, so a crash never leaves a half-written dataset
    (the temporary directory is removed on any exception).

    Parameters
    ----------
    outdir : str or Path
        Destination directory (created if missing). Existing files of the same names are
        replaced; other files are left alone.
    seed : int
        Root seed; each component draws from its own child of ``SeedSequence(seed)``.
    n_cell_lines : int
        Number of models in Model.csv (including the normal line hTERT-HPNE).
    n_genes : int
        Number of genes (DepMap expression columns; CRISPR uses up to 1,000 of them).
    cells_per_condition : int
        Tahoe cells per (cell line, condition, plate).

    Returns
    -------
    dict
        The planted truth, also written to ``planted_truth.json``.

    Notes
    -----
    CSV, GMT, JSON and XLSX outputs are byte-identical for the same arguments (XLSX: fixed
    core-property dates and zip entry timestamps). The h5ad files were also byte-identical
    across runs with anndata 0.12.19 / h5py 3.16 (h5py does not record HDF5 object
    timestamps by default), but bytes are not part of the contract: tests compare h5ad
    *contents* so that a library upgrade embedding variable metadata cannot break them.
    Tahoe ``X`` is a scipy CSR matrix of dtype float32 holding integer UMI counts.
    """
    outdir = Path(outdir)
    if n_cell_lines < 60:
        raise ValueError("n_cell_lines must be at least 60")
    if cells_per_condition < 1:
        raise ValueError("cells_per_condition must be positive")
    tmpdir = outdir.parent / f"{outdir.name}.tmp-{os.getpid()}"
    if tmpdir.exists():
        shutil.rmtree(tmpdir)
    try:
        (tmpdir / "tahoe").mkdir(parents=True)
        truth = _generate(tmpdir, seed, n_cell_lines, n_genes, cells_per_condition)
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir / "tahoe").mkdir(exist_ok=True)
        for name in DEMO_FILES:
            os.replace(tmpdir / name, outdir / name)
        shutil.rmtree(tmpdir)
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return truth


def _generate(out: Path, seed: int, n_cell_lines: int, n_genes: int,
              cells_per_condition: int) -> dict:
    """Generate every component into ``out`` and return the planted truth."""
    component_names = ("genes", "models", "modules", "lineage", "expression", "depmap",
                       "crispr", "creammist", "targets", "tahoe", "pdx", "spans",
                       "synonyms", "gmt")
    children = np.random.SeedSequence(seed).spawn(len(component_names))
    rngs = {name: np.random.default_rng(child) for name, child in zip(component_names, children)}

    genes = _make_genes(rngs["genes"], n_genes)
    models, collision_pairs = _make_models(rngs["models"], n_cell_lines)
    _write_csv(models, out / "Model.csv", index=False)
    module_genes, activity, loadings = _make_modules(rngs["modules"], genes, models)
    lineage_effects = _lineage_effects(rngs["lineage"], n_genes)
    log2_model = _log2_expression(rngs["expression"], genes, models["OncotreeLineage"].to_numpy(),
                                  activity.to_numpy(), loadings, lineage_effects, 0.35)
    depmap_info = _write_depmap_expression(rngs["depmap"], out, genes, models, log2_model,
                                           lineage_effects, activity.to_numpy(), loadings)
    crispr_info = _write_crispr(rngs["crispr"], out, genes, models, activity)
    creammist_info = _write_creammist(rngs["creammist"], out, models, activity, collision_pairs)
    drug_targets = _write_drug_targets(rngs["targets"], out, genes,
                                       creammist_info["filler_drugs"], module_genes)
    tahoe_info = _write_tahoe(rngs["tahoe"], out, genes, models, activity, log2_model,
                              cells_per_condition)
    pdx_info = _write_pdx(rngs["pdx"], out, genes, loadings, lineage_effects)
    _write_gene_spans(rngs["spans"], out, genes)
    synonym_info = _write_synonyms(rngs["synonyms"], out, genes)
    gmt_names = _write_gmt(rngs["gmt"], out, genes, module_genes)

    model_of_stripped: dict[str, list[str]] = {}
    for mid, stripped in zip(models["ModelID"], models["StrippedCellLineName"]):
        model_of_stripped.setdefault(stripped, []).append(mid)
    name_to_model = dict(zip(models["CellLineName"], models["ModelID"]))
    planted_pairs = []
    for target, module in (("EGFR", "M_EGFR"), ("NAMPT", "M_NAMPT"), ("BRAF", "M_BRAF")):
        drugs = [d for d, v in PLANTED_DRUGS.items() if v[0] == target]
        planted_pairs.append({
            "target": target, "module": module, "drugs": drugs,
            "module_genes": module_genes[module],
            "expected_sign_dependency_vs_module": 1,
            "expected_sign_ic50_vs_module": -1,
            "expected_sign_dependency_vs_ic50": -1,
            "ic50_params": {d: dict(zip(("intercept", "slope", "noise_sd"), PLANTED_DRUGS[d][2:]))
                            for d in drugs},
        })
    truth: dict[str, Any] = {
        "seed": seed,
        "sizes": {"n_cell_lines": n_cell_lines, "n_genes": n_genes,
                  "cells_per_condition": cells_per_condition},
        "files": list(DEMO_FILES),
        "modules": list(MODULES),
        "planted_pairs": planted_pairs,
        "control_pair": {"target": CONTROL_GENE, "drug": CONTROL_DRUG,
                         "note": "dependency and IC50 are pure noise"},
        "module_activity": {mid: {m: round(float(activity.at[mid, m]), 6) for m in MODULES}
                            for mid in models["ModelID"]},
        "normal_line": {"ModelID": name_to_model[NORMAL_LINE["CellLineName"]], **NORMAL_LINE},
        "colliding_name_pairs": [
            {"names": list(pair), "stripped": strip_cell_line_name(pair[0]),
             "model_ids": [name_to_model[pair[0]], name_to_model[pair[1]]],
             "resolvable_by_rrid_in_creammist": i == 0}
            for i, pair in enumerate(collision_pairs)],
        "unmappable_creammist_names": creammist_info["unmappable_creammist_names"],
        "creammist_name_variants": creammist_info["creammist_name_variants"],
        "creammist_model_of_name": creammist_info["creammist_model_of_name"],
        "drug_targets": dict(sorted(drug_targets.items())),
        "filler_drugs": creammist_info["filler_drugs"],
        "crispr": crispr_info,
        "depmap": depmap_info,
        "tahoe": tahoe_info,
        "pdx": pdx_info,
        "gene_aliases_in_sources": {
            "tahoe_var_names": {v: k for k, v in OLD_ALIASES.items()},
            "pdx_fpkm_sample": {v: k for k, v in OLD_ALIASES.items()},
            "gencode_v19_gene_name": {v: k for k, v in OLD_ALIASES.items()},
            "depmap_and_crispr": "official symbols (CCN2, PGAP6)"},
        "synonyms": synonym_info,
        "planted_gmt_sets": gmt_names,
        "lineage_of_model": dict(zip(models["ModelID"], models["OncotreeLineage"])),
    }
    (out / "planted_truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n",
                                            encoding="utf-8")
    return truth
