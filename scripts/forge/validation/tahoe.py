"""Tahoe-100M validation of one pair (docs/METHOD.md §5; preprint Fig. 5a–d, Supplementary Fig. 6).

* Scores: each cell line's DMSO pseudo-bulk of the baseline plate (paper: plate 9), voom logCPM,
  with the model's genes and training z-scoring (:mod:`forge.validation.scores`).
* Cancer vs normal: scores of cancer lines against the normal line(s) (hTERT-HPNE), one-sided
  Mann–Whitney (cancer higher).
* Response strength of a line at a dose: the Euclidean norm of (treated − DMSO) voom logCPM of the
  same plate, over the genes both matrices hold (paper: 17,667 genes), or over the model's genes.
  Per dose: one-sided Mann–Whitney, strength higher in the high-score group; across doses: Page's
  trend test.
* DESeq2 of the DMSO pseudo-bulk counts, high vs low score, on the lines with the strongest
  response (paper: eight lines), design ``~ plate + group`` (the plate carries the concentration
  category; the cell line is collinear with the per-line score group and cannot enter as well).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from forge.modelling.interpretation import group_labels
from forge.modelling.transfer import TRAINING_RAW, Recipe
from forge.validation import stats as vstats
from forge.validation.scores import SCORE_VARIANTS, PairScorer

log = logging.getLogger(__name__)


def plate_number(plate: str | int) -> str:
    """``plate9`` from 9, "9" or "plate9"."""
    text = str(plate)
    return text if text.startswith("plate") else f"plate{text}"


def control_samples(samples: pd.DataFrame, control: str) -> pd.Series:
    """True for control (DMSO) rows of the Tahoe samples table."""
    return samples["drug"].astype(str).str.casefold() == control.casefold()


def baseline_profiles(dmso: pd.DataFrame, samples: pd.DataFrame, plate: str | int, control: str) -> pd.DataFrame:
    """DMSO profiles of the baseline plate, one row per cell line (index = cell line id)."""
    table = samples.set_index("sample")
    wanted = table[(table["plate"].astype(str) == plate_number(plate)) & control_samples(table.reset_index(), control).to_numpy()]
    wanted = wanted[wanted.index.isin(dmso.index)]
    if wanted.empty:
        plates = sorted(table.loc[control_samples(table.reset_index(), control).to_numpy(), "plate"].astype(str).unique())
        raise ValueError(f"validation.tahoe.baseline_plate: no {control} sample on {plate_number(plate)} "
                         f"(plates with {control}: {', '.join(plates) or 'none'})")
    profiles = dmso.loc[wanted.index]
    profiles.index = pd.Index(wanted["cell_line"].astype(str).to_numpy(), name="cell_line")
    return profiles


def normal_line_mask(lines: pd.DataFrame, normal_lines: list[str]) -> pd.Series:
    """True for lines whose id or name is listed as normal (case-insensitive)."""
    wanted = {name.casefold() for name in normal_lines}
    ids = lines["cell_line"].astype(str).str.casefold()
    names = lines["cell_name"].astype(str).str.casefold()
    return ids.isin(wanted) | names.isin(wanted)


def tahoe_scores(scorer: PairScorer, profiles: pd.DataFrame, samples: pd.DataFrame, normal_lines: list[str],
                 max_missing_fraction: float, recipe: Recipe = TRAINING_RAW) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores of every line of the baseline plate, with its name, normal flag and median groups."""
    table, missing = scorer.score(profiles, max_missing_fraction, recipe)
    return annotate_lines(table, samples, normal_lines), missing


def annotate_lines(table: pd.DataFrame, samples: pd.DataFrame, normal_lines: list[str],
                   variants: tuple[str, ...] = SCORE_VARIANTS) -> pd.DataFrame:
    """Score table (index = cell line) with its name, normal flag and each variant's median group."""
    table = table.copy()
    table.index.name = "cell_line"
    names = samples.drop_duplicates("cell_line").set_index("cell_line")["cell_name"].astype(str)
    table.insert(0, "cell_name", names.reindex(table.index).to_numpy())
    table = table.reset_index()
    table.insert(2, "is_normal", normal_line_mask(table, normal_lines).to_numpy())
    for variant in variants:
        table[f"{variant}_group"] = group_labels(table.set_index("cell_line")[variant], "median").to_numpy()
    return table


def response_strength(dmso: pd.DataFrame, treated: pd.DataFrame, samples: pd.DataFrame, control: str,
                      genes: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Euclidean norm of (treated − DMSO) voom logCPM per cell line, plate and dose.

    Returns the long table (cell_line, plate, dose, unit, response_strength, n_genes) and a table
    of the treated samples left out because their plate has no DMSO profile of the same line.
    """
    table = samples.set_index("sample")
    is_control = control_samples(table.reset_index(), control).to_numpy()
    common = dmso.columns.intersection(treated.columns)
    if genes is not None:
        common = common.intersection(pd.Index(genes))
    if len(common) == 0:
        raise ValueError("response strength: the DMSO and treated matrices share no gene"
                         + (" of the model" if genes is not None else ""))
    controls = table[is_control & table.index.isin(dmso.index)]
    control_of = {(row.cell_line, row.plate): sample for sample, row in controls.iterrows()}
    rows, unmatched = [], []
    for sample, row in table[~is_control & table.index.isin(treated.index)].iterrows():
        key = (row.cell_line, row.plate)
        if key not in control_of:
            unmatched.append((sample, row.cell_line, row.plate, f"no {control} profile of this line on {row.plate}"))
            continue
        shift = treated.loc[sample, common].to_numpy(dtype=float) - dmso.loc[control_of[key], common].to_numpy(dtype=float)
        rows.append((row.cell_line, row.plate, float(row.dose), row.unit, float(np.linalg.norm(shift)), len(common)))
    strength = pd.DataFrame(rows, columns=["cell_line", "plate", "dose", "unit", "response_strength", "n_genes"])
    return strength.sort_values(["dose", "cell_line"]).reset_index(drop=True), pd.DataFrame(
        unmatched, columns=["sample", "cell_line", "plate", "reason"])


def tahoe_tests(scores: pd.DataFrame, strength: pd.DataFrame, min_group: int,
                variants: tuple[str, ...] = SCORE_VARIANTS, trend: bool = True) -> pd.DataFrame:
    """Cancer vs normal scores, strength by score group per dose, and the dose trend, for every variant."""
    rows = []
    indexed = scores.set_index("cell_line")
    for variant in variants:
        cancer = indexed.loc[~indexed["is_normal"], variant]
        normal = indexed.loc[indexed["is_normal"], variant]
        fields = dict(score=variant, grouping="cancer_vs_normal", higher_group="cancer", lower_group="normal",
                      variable="benefit_score", expected="cancer lines score higher")
        if normal.empty:
            rows.append(vstats.not_computed("no normal line among the scored lines (validation.tahoe.normal_lines)",
                                            test="mann_whitney_one_sided", **fields))
        else:
            rows.append(vstats.mann_whitney_row(cancer, normal, "greater", min_group=1, **fields))
        groups = indexed[f"{variant}_group"]
        for dose, at_dose in strength.groupby("dose"):
            values = at_dose.set_index("cell_line")["response_strength"]
            fields = dict(score=variant, grouping=f"median_split_dose_{dose:g}", higher_group="high", lower_group="low",
                          variable="response_strength", expected="stronger response in the high-score group")
            rows.append(vstats.mann_whitney_row(values[groups.reindex(values.index) == "high"],
                                            values[groups.reindex(values.index) == "low"], "greater",
                                            min_group=min_group, **fields))
    if trend:
        dose_trend = vstats.dose_trend(strength.pivot_table(index="cell_line", columns="dose", values="response_strength"))
        rows.append(dict(dose_trend, score="none", grouping="dose"))
    return pd.DataFrame(rows)[["score"] + vstats.TEST_COLUMNS]


def strongest_lines(strength: pd.DataFrame, n_lines: int) -> list[str]:
    """The ``n_lines`` lines with the largest mean response strength over doses."""
    mean = strength.groupby("cell_line")["response_strength"].mean().sort_values(ascending=False, kind="mergesort")
    return mean.index[:n_lines].tolist()


def deseq2_poscounts_size_factors(counts: pd.DataFrame) -> np.ndarray:
    """DESeq2's ``estimateSizeFactors(type = "poscounts")`` (samples × genes counts).

    The geometric mean of a gene is taken over its positive counts but divided by the number of
    samples; genes that are zero everywhere are left out; each sample's factor is the median ratio
    over its positive counts; factors are scaled to geometric mean 1. pydeseq2 0.5.4 instead keeps
    only genes whose positive-count geometric mean exceeds 1, which moved size factors by up to 7 %
    on the R fixture (tests/fixtures/deseq2); this function matches R to ~1e-15.
    """
    X = counts.to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_x = np.where(X > 0, np.log(np.where(X > 0, X, 1.0)), 0.0)
    log_means = log_x.sum(axis=0) / X.shape[0]
    usable = (X > 0).any(axis=0)
    factors = np.empty(X.shape[0])
    for i in range(X.shape[0]):
        use = usable & (X[i] > 0)
        factors[i] = np.exp(np.median(log_x[i, use] - log_means[use]))
    return factors / np.exp(np.mean(np.log(factors)))


#: The parametric trend's coefficients must be positive and converge within this many refits (R DESeq2).
PARAMETRIC_TREND_MAX_ITERATIONS = 10


def parametric_dispersion_trend(means: np.ndarray, dispersions: np.ndarray) -> tuple[np.ndarray | None, str]:
    """R DESeq2's ``parametricDispersionFit``, to know when R would abandon the parametric trend.

    dispersion = a + b / mean by a gamma GLM with identity link (statsmodels; R: ``glm``), started at
    (0.1, 1) and refitted on the genes whose dispersion is within (1e-4, 15) times the current
    trend until the coefficients move by less than 1e-6 (sum of squared log ratios). R gives up,
    and substitutes a local regression, when a coefficient is not positive or after 10 refits;
    pydeseq2 0.5.4 has no such check: on data where R gives up its own fit can end on a flat trend
    without a warning (issue 26). Returns the coefficients (a, b), or None and the reason.

    Parameters
    ----------
    means, dispersions
        baseMean and gene-wise dispersion of the genes R fits: not all zero, dispersion > 1e-6.
    """
    import statsmodels.api as sm

    means, dispersions = np.asarray(means, dtype=float), np.asarray(dispersions, dtype=float)
    family = sm.families.Gamma(link=sm.families.links.Identity())
    coefficients = np.array([0.1, 1.0])
    for _ in range(PARAMETRIC_TREND_MAX_ITERATIONS + 1):
        ratio = dispersions / (coefficients[0] + coefficients[1] / means)
        good = (ratio > 1e-4) & (ratio < 15)
        X = np.column_stack([np.ones(int(good.sum())), 1.0 / means[good]])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # R: glm(..., family = Gamma(link = "identity"), start = coefs), glm.control's maxit 25 and epsilon 1e-8
                fit = sm.GLM(dispersions[good], X, family=family).fit(start_params=coefficients, maxiter=25, tol=1e-8)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as error:
            return None, f"the gamma GLM failed ({error})"
        previous, coefficients = coefficients, np.asarray(fit.params, dtype=float)
        if not np.all(np.isfinite(coefficients)) or not np.all(coefficients > 0):
            return None, f"a coefficient is not positive (a = {coefficients[0]:.4g}, b = {coefficients[1]:.4g})"
        if np.sum(np.log(coefficients / previous) ** 2) < 1e-6 and fit.converged:
            return coefficients, ""
    return None, f"no convergence in {PARAMETRIC_TREND_MAX_ITERATIONS} refits"


def deseq2(counts: pd.DataFrame, metadata: pd.DataFrame, design: str, contrast: list[str], alpha: float,
           independent_filter: bool = True, fit_type: str = "parametric",
           n_cpus: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """pydeseq2 Wald test with R's poscounts size factors and R's dispersion trend; returns the
    results table and the size factors.

    ``metadata`` columns named in ``design`` must be categorical with the reference level first.
    ``fit_type`` is the dispersion trend:

    * "parametric" (R's default): R's own fit (:func:`parametric_dispersion_trend`) replaces
      pydeseq2's, which starts elsewhere, filters genes in another order and lands on other
      coefficients (0.480 + 1.094 / mean against R's 0.391 + 1.265 / mean on tests/fixtures/deseq2;
      with R's, P-values moved from 1.6 % to 0.4 % of R's at the median). When R's fit fails R
      substitutes a local regression (locfit), which pydeseq2 does not have: pydeseq2's "mean" trend
      is used instead, with a warning in the log.
    * "mean": the trimmed mean of the gene-wise dispersions (pydeseq2's, equal to R's ``fitType = "mean"``).

    The column ``dispersion_fit`` of the results records the trend used (and why). Differences
    from R DESeq2 that remain (optimisers; local against mean trend; measured on
    tests/fixtures/deseq2 and tests/fixtures/deseq2_local and documented in the README) are listed there.

    ``n_cpus`` is the number of processes of pydeseq2's per-gene fits. pydeseq2's default (None)
    starts a joblib (loky) worker per CPU, each importing numpy, scipy and pydeseq2 and receiving
    the data by pickling, and polls them: on the Tahoe plates that cost most of a
    ``validate_tahoe_pair`` job and gave the same numbers as fitting the genes in this process
    (n_cpus = 1, joblib runs them sequentially without a worker). Pass the job's threads.
    """
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.ds import DeseqStats

    if fit_type not in ("parametric", "mean"):
        raise ValueError(f"validation.tahoe.de.fit_type: {fit_type!r}; expected parametric or mean")
    dds = DeseqDataSet(counts=counts.astype(int), metadata=metadata, design=design, fit_type=fit_type,
                       refit_cooks=True, quiet=True, n_cpus=n_cpus)
    factors = deseq2_poscounts_size_factors(counts)
    # pydeseq2's deseq2() always refits size factors; run its steps with R's poscounts factors
    dds.obs["size_factors"] = factors
    dds.layers["normed_counts"] = dds.X / factors[:, None]
    dds.var["_normed_means"] = dds.layers["normed_counts"].mean(axis=0)
    dds.fit_genewise_dispersions()
    used = fit_type
    if fit_type == "parametric":
        # R fits the trend on the genes that are not all zero with a gene-wise dispersion above 100 × minDisp
        non_zero = dds.var["non_zero"].to_numpy()
        means = dds.var["_normed_means"].to_numpy()
        fitted = non_zero & (dds.var["genewise_dispersions"].to_numpy() > 100 * dds.min_disp)
        coefficients, failure = parametric_dispersion_trend(means[fitted], dds.var["genewise_dispersions"].to_numpy()[fitted])
        if coefficients is None:
            used = f"mean (the parametric trend fails as in R: {failure}; R would fit a local trend)"
            log.warning("DESeq2 dispersion trend: the parametric fit fails as in R (%s); R substitutes a local "
                        "regression, which pydeseq2 lacks: its mean trend is used", failure)
            dds.fit_type = "mean"
            dds.fit_dispersion_trend()
        else:
            # what pydeseq2's own parametric fit stores, with R's coefficients (its refit of Cook's
            # outliers reads them from uns)
            dds.uns["trend_coeffs"] = pd.Series(coefficients, index=["a0", "a1"])
            dds.uns["disp_function_type"] = "parametric"
            dds.var["fitted_dispersions"] = np.full(dds.n_vars, np.nan)
            dds.var.loc[non_zero, "fitted_dispersions"] = dds.disp_function(means[non_zero])
            log.info("DESeq2 dispersion trend: parametric, %.4g + %.4g / mean", *coefficients)
    else:
        dds.fit_dispersion_trend()
    dds.fit_dispersion_prior()
    dds.fit_MAP_dispersions()
    dds.fit_LFC()
    dds.calculate_cooks()
    if dds.refit_cooks:
        dds.refit()
    stats = DeseqStats(dds, contrast=contrast, alpha=alpha, cooks_filter=True, independent_filter=independent_filter,
                       quiet=True, n_cpus=n_cpus)
    stats.summary()
    results = stats.results_df.copy()
    results.index.name = "gene"
    results["dispersion_fit"] = used
    return results, factors


def tahoe_de(counts: pd.DataFrame, samples: pd.DataFrame, scores: pd.DataFrame, strength: pd.DataFrame,
             control: str, settings: dict, variant: str = "forge", n_cpus: int = 1) -> tuple[pd.DataFrame, dict]:
    """DESeq2 of DMSO pseudo-bulk counts, high vs low score (median split of all scored lines).

    ``settings``: ``lines`` ("strongest" = the ``n_lines`` lines with the largest mean response
    strength, the paper's eight; "all"), ``n_lines``, ``alpha``, ``log2fc``, ``adj_p``. Returns the
    results table (every gene: baseMean, log2FoldChange, lfcSE, stat, pvalue, padj, significant,
    direction) and one summary row; a design that cannot be fitted gives an empty table and the reason.
    ``n_cpus``: processes of the DESeq2 fits (:func:`deseq2`).
    """
    table = samples.set_index("sample")
    groups = scores.set_index("cell_line")[f"{variant}_group"]
    lines = strongest_lines(strength, settings["n_lines"]) if settings["lines"] == "strongest" else list(groups.index)
    chosen = table[control_samples(table.reset_index(), control).to_numpy() & table["cell_line"].isin(lines)]
    chosen = chosen[chosen.index.isin(counts.index)]
    group = groups.reindex(chosen["cell_line"]).to_numpy()
    summary = dict(contrast="high_vs_low_score", score=variant, lines=", ".join(sorted(set(chosen["cell_line"]))),
                   n_lines=chosen["cell_line"].nunique(), n_samples=len(chosen),
                   n_high_lines=int(pd.Series(group).eq("high").groupby(chosen["cell_line"].to_numpy()).any().sum()),
                   design="", status="fitted", reason="", n_up=0, n_down=0)
    empty = pd.DataFrame(columns=["gene", "baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj",
                                  "significant", "direction"])
    if len(set(group)) < 2:
        summary.update(status="not computed", reason=f"the {summary['n_lines']} chosen lines are all in one score group")
        return empty, summary
    metadata = pd.DataFrame({"group": pd.Categorical(group, ["low", "high"])}, index=chosen.index)
    design = "~group"
    plates = chosen["plate"].astype(str)
    if plates.nunique() > 1:
        metadata["plate"] = pd.Categorical(plates, sorted(plates.unique()))
        design = "~plate + group"
    summary["design"] = design + " (cell line is collinear with the per-line score group)"
    per_group = pd.Series(group).value_counts()
    if per_group.min() < 2:
        summary.update(status="not computed", reason=f"samples per group {per_group.to_dict()}; DESeq2 needs 2")
        return empty, summary
    selected = counts.loc[chosen.index]
    selected = selected.loc[:, selected.sum(axis=0) > 0]
    results, _ = deseq2(selected, metadata, design, ["group", "high", "low"], alpha=settings["alpha"],
                        fit_type=settings.get("fit_type", "parametric"), n_cpus=n_cpus)
    significant = (results["padj"] < settings["adj_p"]) & (results["log2FoldChange"].abs() > settings["log2fc"])
    results["significant"] = significant.fillna(False).astype(bool)
    results["direction"] = np.where(results["significant"], np.where(results["log2FoldChange"] > 0, "up", "down"), "none")
    summary.update(n_up=int((results["direction"] == "up").sum()), n_down=int((results["direction"] == "down").sum()),
                   n_genes=len(results), dispersion_fit=results["dispersion_fit"].iloc[0])
    return results.reset_index(), summary
