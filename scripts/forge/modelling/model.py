"""FORGE models of one drug-target pair: data preparation, fitting, persistence, scoring.

Library module (pandas + numpy; file I/O only in :meth:`ForgeModel.save` and
:func:`load_model`). The numerical solver is ``forge_core``; this module adds
gene names, the train/test split, training-only gene selection and scaling,
and the Benefit Score of new expression profiles.
"""

from __future__ import annotations

import json
import math
import os
import platform
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Sequence

import numpy as np
import pandas as pd

import forge_core
from forge.io import InputFormatError, atomic_write, read_text_csv, read_text_lines
from forge.normalise import fit_scaling

MODEL_FORMAT_VERSION = 1
MISSING_GENE_RULE = (
    "genes of the model absent from the scored matrix are set to their training mean "
    "(z = 0), so they contribute nothing to predictions or scores"
)


# ---------------------------------------------------------------------------
# Split and gene selection
# ---------------------------------------------------------------------------
#: Fewest samples on each side that every run needs, whatever the configuration: training
#: scaling (a standard deviation), gene selection (Spearman) and output centring on the train
#: side; test metrics (Pearson, Spearman, C-index) on the test side.
MIN_TRAIN_SAMPLES = 2
MIN_TEST_SAMPLES = 2


class SplitTooSmallError(ValueError):
    """A pair's train or test side is too small for what the configuration runs."""


def min_cv_samples(n_folds: int) -> int:
    """Fewest samples for ``n_folds``-fold cross-validation: every fold has a validation sample and
    every fit part (the other folds) at least 2 samples (a variance to scale by)."""
    n = max(int(n_folds), MIN_TRAIN_SAMPLES)
    while n - math.ceil(n / n_folds) < 2:
        n += 1
    return n


def split_requirements(sections: Mapping[str, Any] | None = None) -> list[tuple[str, int, str]]:
    """``(side, minimum, reason)`` for what a configuration runs on a pair's split.

    ``sections`` maps any of the config sections ``baselines`` (``cv_folds``) and ``tuning``
    (``cv.enabled``, ``cv.folds``) to their values; without them only the needs of every
    run (:data:`MIN_TRAIN_SAMPLES`, :data:`MIN_TEST_SAMPLES`) are returned.
    """
    def section(name: str) -> Any:
        return (sections or {}).get(name)

    requirements = [
        ("train", MIN_TRAIN_SAMPLES, "training scaling, gene selection and output centring need 2 training samples"),
        ("test", MIN_TEST_SAMPLES, "test metrics (Pearson, Spearman, C-index) need 2 test samples"),
    ]
    baselines = section("baselines")
    if baselines and "cv_folds" in baselines:
        k = int(baselines["cv_folds"])
        requirements.append(("train", min_cv_samples(k), f"baselines.cv_folds = {k}: the elastic net's {k}-fold "
                             f"cross-validation needs {min_cv_samples(k)} training samples (lower baselines.cv_folds)"))
    tuning = section("tuning")
    cv = (tuning or {}).get("cv") or {}
    if cv.get("enabled"):
        k = int(cv["folds"])
        requirements.append(("train", min_cv_samples(k), f"tuning.cv.folds = {k}: {k}-fold cross-validation needs "
                             f"{min_cv_samples(k)} training samples (lower tuning.cv.folds)"))
    return requirements


def check_split_sizes(split: pd.Series, pair: str | None = None, outputs: pd.DataFrame | None = None,
                      requirements: Sequence[tuple[str, int, str]] | None = None,
                      key: str = "split.test_fraction", value: Any = None) -> None:
    """Refuse a split whose train or test side is too small for what will be run on it.

    Counts are taken per output column of ``outputs`` (a sample counts for an output it has;
    an extra drug of the multi-drug model may be measured on fewer samples), or over the whole
    split without ``outputs``. The error names the pair, every output and side that is short
    with its count, what needs more samples, and the configuration key to change (``key``,
    shown with ``value`` when given).

    Raises
    ------
    SplitTooSmallError
    """
    requirements = list(requirements) if requirements is not None else split_requirements()
    labels = split.astype(str)
    columns = list(outputs.columns) if outputs is not None else [None]
    problems, short = [], set()
    for column in columns:
        has = (outputs[column].reindex(labels.index).notna() if column is not None
               else pd.Series(True, index=labels.index))
        counts = {side: int(((labels == side) & has).sum()) for side in ("train", "test")}
        for side, minimum, reason in requirements:
            if counts[side] < minimum:
                where = f"output {column}: " if column is not None else ""
                problems.append(f"{where}{counts[side]} {side} sample(s), needs >= {minimum} ({reason})")
                short.add(side)
    if problems:
        n_train, n_test = int((labels == "train").sum()), int((labels == "test").sum())
        name = f"pair {pair}: " if pair else ""
        setting = key if value is None else f"{key} = {value}"
        if key.startswith("split.test_fraction"):
            change = " and ".join(["lower it for more training samples"] * ("train" in short)
                                  + ["raise it for more test samples"] * ("test" in short))
        else:
            change = "label more samples " + " and ".join(sorted(short))
        raise SplitTooSmallError(
            f"{name}the train/test split ({setting}) leaves {n_train} train and {n_test} test samples of "
            f"{len(labels)}, too few for what the configuration runs: " + "; ".join(dict.fromkeys(problems))
            + f". Change {key} ({change})"
        )


def split_samples(samples: Sequence[str], test_fraction: float, seed: int, pair: str | None = None) -> pd.Series:
    """Seeded cell-line split, as in the published code.

    The samples are sorted, shuffled with ``default_rng(SeedSequence(seed))`` and
    the first ``floor(test_fraction * n)`` positions form the test set. Sorting
    first makes the split independent of the input order. A side with fewer samples
    than every run needs is refused (:func:`check_split_sizes`, naming ``pair`` if given).

    Returns
    -------
    Series indexed by sample with values "train" / "test".
    """
    ordered = np.array(sorted(samples), dtype=object)
    if len(set(ordered)) != len(ordered):
        raise ValueError("sample names must be unique to split by cell line")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    rng.shuffle(ordered)
    n_test = math.floor(test_fraction * len(ordered))
    labels = np.where(np.arange(len(ordered)) < n_test, "test", "train")
    split = pd.Series(labels, index=pd.Index(ordered, name="sample"), name="split").sort_index()
    check_split_sizes(split, pair, value=test_fraction)  # e.g. test_fraction 0.001: no test sample; 0.999: one training sample
    return split


def split_by_lineage(lineage: pd.Series, test_fraction: float, seed: int, pair: str | None = None) -> pd.Series:
    """Lineage-blind split: whole lineages are held out.

    Lineages (missing ones form one group) are sorted, shuffled with
    ``default_rng(SeedSequence(seed))`` and moved to the test set in that order until
    it holds at least ``floor(test_fraction * n)`` samples, so no lineage has samples
    on both sides.
    """
    if not lineage.index.is_unique:
        raise ValueError("sample names must be unique to split by cell line")
    groups = lineage.fillna("(missing lineage)").astype(str)
    names = np.array(sorted(groups.unique()), dtype=object)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    rng.shuffle(names)
    wanted = math.floor(test_fraction * len(groups))
    sizes = groups.value_counts()
    test_lineages, n_test = [], 0
    for name in names:
        if n_test >= wanted:
            break
        test_lineages.append(name)
        n_test += int(sizes[name])
    labels = np.where(groups.isin(test_lineages), "test", "train")
    split = pd.Series(labels, index=pd.Index(lineage.index, name="sample"), name="split").sort_index()
    if (split == "train").sum() == 0:
        raise SplitTooSmallError("lineage-blind split left no training samples; lower split.test_fraction")
    check_split_sizes(split, pair, value=f"{test_fraction} (scheme lineage)")
    return split


def subset_average_ranks(
    values: np.ndarray, rank_order: np.ndarray, rows: np.ndarray, block: int = 512
) -> np.ndarray:
    """Average ranks (ties share their mean rank, NaN stays NaN) of the samples ``rows`` within
    each column of ``values``: equal to ``DataFrame(values[rows]).rank(axis=0)``.

    Each column's ranks follow from its sort order over all samples in O(n), without sorting
    again: walk the column in sorted order, count the members of the subset (a cumulative sum),
    and give each group of equal values the mean of its members' counts. Ranking the 1,360
    training samples of a 1,700 × 20,000 cohort this way takes ~1.2 s against ~3 s for pandas.

    Parameters
    ----------
    values : ndarray (n_samples, n_features)
        Best in Fortran order (each column contiguous), as :class:`forge.io.MatrixArray` maps it.
    rank_order : ndarray (n_features, n_samples) of int
        Row ``g``: a sort order of column ``g`` ascending with NaN last (``np.argsort``).
    rows : ndarray of int
        Positions of the subset's samples, in the order wanted for the output rows.
    block : int
        Columns handled at a time (bounds the temporaries to a few ``n_samples × block`` arrays).

    Returns
    -------
    ndarray (len(rows), n_features) of float64
    """
    n, n_features = values.shape
    rows = np.asarray(rows, dtype=np.intp)
    if rank_order.shape != (n_features, n):
        raise ValueError(f"rank_order has shape {rank_order.shape}, expected {(n_features, n)}")
    member = np.zeros(n, dtype=bool)
    member[rows] = True
    position_type = rank_order.dtype if np.iinfo(rank_order.dtype).max >= n else np.int64
    positions = np.arange(n, dtype=position_type)[None, :]
    out = np.empty((n_features, rows.size))
    columns = values.T  # features × samples, C-contiguous for a Fortran-ordered matrix
    for a in range(0, n_features, block):
        b = min(n_features, a + block)
        order = np.asarray(rank_order[a:b])
        sorted_values = np.take_along_axis(np.asarray(columns[a:b]), order.astype(np.intp, copy=False), axis=1)
        counted = member[order] & ~np.isnan(sorted_values)  # subset members with a value
        count = np.cumsum(counted, axis=1, dtype=position_type)  # members up to this sorted position
        new_group = np.empty(order.shape, dtype=bool)
        new_group[:, 0] = True
        np.not_equal(sorted_values[:, 1:], sorted_values[:, :-1], out=new_group[:, 1:])
        group_start = np.where(new_group, positions, 0).astype(position_type, copy=False)
        np.maximum.accumulate(group_start, axis=1, out=group_start)
        last_in_group = np.empty(order.shape, dtype=bool)
        last_in_group[:, -1] = True
        last_in_group[:, :-1] = new_group[:, 1:]
        group_end = np.where(last_in_group, positions, n - 1).astype(position_type, copy=False)[:, ::-1]
        group_end = np.minimum.accumulate(group_end, axis=1)[:, ::-1]
        before = (np.take_along_axis(count, group_start, axis=1)
                  - np.take_along_axis(counted, group_start, axis=1))
        through = np.take_along_axis(count, group_end, axis=1)
        # members of a tie group hold ranks before+1 … through; their mean is exact in float64
        mean_rank = (before + 1 + through) / 2.0
        mean_rank[~counted] = np.nan
        in_sample_order = np.empty(order.shape)
        np.put_along_axis(in_sample_order, order.astype(np.intp, copy=False), mean_rank, axis=1)
        out[a:b] = in_sample_order[:, rows]
    return out.T


def select_correlated_genes(
    expression: pd.DataFrame,
    targets: pd.DataFrame,
    n_per_target: int = 100,
    always_include: Sequence[str] = (),
    ranks: np.ndarray | None = None,
) -> pd.DataFrame:
    """Highly correlated genes (HCGs): the union of the top genes by |Spearman rho| per target.

    Call with training samples only. Genes constant in the training set get rho = 0.
    ``ranks``, when given, is ``expression.rank(axis=0)`` computed another way (e.g. by
    :func:`subset_average_ranks` from the cohort's sort orders); it must be equal to it.

    Returns
    -------
    DataFrame indexed by gene with one ``rho_<target>`` column per target and a
    ``selected_for`` column, in selection order (targets in column order, then the
    forced genes).
    """
    if not expression.index.equals(targets.index):
        raise ValueError("expression and targets must have the same samples in the same order")
    if ranks is None:
        ranks = expression.rank(axis=0).to_numpy(dtype=np.float64)
    elif ranks.shape != expression.shape:
        raise ValueError(f"ranks have shape {ranks.shape}, expected the expression's {expression.shape}")
    else:
        ranks = np.array(ranks, dtype=np.float64)
    ranks -= ranks.mean(axis=0)
    gene_norm = np.sqrt((ranks**2).sum(axis=0))
    table = pd.DataFrame(index=expression.columns)
    order: list[str] = []
    reasons: dict[str, list[str]] = {}
    for name in targets.columns:
        target_rank = targets[name].rank().to_numpy(dtype=np.float64)
        target_rank -= target_rank.mean()
        denom = gene_norm * np.sqrt((target_rank**2).sum())
        rho = np.divide(target_rank @ ranks, denom, out=np.zeros_like(gene_norm), where=denom > 0)
        table[f"rho_{name}"] = rho
        # stable sort on -|rho| breaks ties by gene order, so the selection is deterministic
        top = expression.columns[np.argsort(-np.abs(rho), kind="stable")[:n_per_target]]
        for gene in top:
            if gene not in reasons:
                order.append(gene)
            reasons.setdefault(gene, []).append(str(name))
    for gene in always_include:
        if gene in expression.columns:
            if gene not in reasons:
                order.append(gene)
            reasons.setdefault(gene, []).append("forced")
    selected = table.loc[order].copy()
    selected["selected_for"] = [",".join(reasons[g]) for g in order]
    selected.index.name = "gene"
    return selected


# ---------------------------------------------------------------------------
# Model bundle
# ---------------------------------------------------------------------------
@dataclass
class ForgeModel:
    """A fitted FORGE model with everything needed to score new samples.

    Attributes
    ----------
    genes : list of str
        Input genes, in the order of the rows of ``W``.
    gene_mean, gene_sd : ndarray (p,)
        Training-set scaling of the expression.
    targets : list of str
        Output names, dependency first (e.g. ``["dependency", "ERLOTINIB"]``).
    target_mean : ndarray (t,)
        Training means used to centre the outputs.
    W : ndarray (p, k)
    heads : ndarray (k, t)
    metadata : dict
        Hyper-parameters, seed, fit diagnostics, pair, kind, versions.
    """

    genes: list[str]
    gene_mean: np.ndarray
    gene_sd: np.ndarray
    targets: list[str]
    target_mean: np.ndarray
    W: np.ndarray
    heads: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    # -- scoring -----------------------------------------------------------
    def scaled_expression(
        self, expression: pd.DataFrame, max_missing_fraction: float = 0.5
    ) -> tuple[np.ndarray, pd.DataFrame]:
        """Align ``expression`` (samples x genes) to the model genes and z-score it.

        Genes are matched by name; extra genes are ignored. Missing genes follow
        ``MISSING_GENE_RULE``. Raises when no gene overlaps, when more than
        ``max_missing_fraction`` of the model genes are missing, or when the
        values are not numeric.

        Returns
        -------
        G : ndarray (n, p)
        missing : DataFrame with the missing genes and their benefit weight.
        """
        if expression.columns.duplicated().any():
            dup = expression.columns[expression.columns.duplicated()].tolist()[:5]
            raise InputFormatError(f"expression has duplicated gene columns, e.g. {dup}")
        # from the dtypes: expression[c] would build a Series per gene column
        non_numeric = [c for c, dtype in expression.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
        if non_numeric:
            raise InputFormatError(
                f"expression has non-numeric values in gene column(s) {non_numeric[:5]}; "
                "expected numbers (normalised expression)"
            )
        present = [g for g in self.genes if g in expression.columns]
        if not present:
            raise InputFormatError(
                f"no gene of the model ({len(self.genes)} genes, e.g. {self.genes[:3]}) is among "
                f"the expression columns (e.g. {list(expression.columns[:3])})"
            )
        missing = [g for g in self.genes if g not in expression.columns]
        if len(missing) > max_missing_fraction * len(self.genes):
            raise InputFormatError(
                f"{len(missing)} of the model's {len(self.genes)} genes are missing from the "
                f"expression (more than {max_missing_fraction:.0%}), e.g. {missing[:5]}"
            )
        # C-ordered copy: the result must not depend on the column order or layout given
        aligned = np.ascontiguousarray(expression.reindex(columns=self.genes).to_numpy(dtype=np.float64))
        values = aligned[:, [self.genes.index(g) for g in present]]
        if not np.isfinite(values).all():
            raise InputFormatError("expression contains NaN or infinite values in model genes")
        G = (aligned - self.gene_mean) / self.gene_sd
        G[:, np.isnan(G).all(axis=0)] = 0.0  # missing genes: z = 0 (MISSING_GENE_RULE)
        # the weight a missing gene would have had: benefit weight (joint) or coefficient
        weights = self.benefit_weights() if len(self.targets) > 1 else self.W @ self.heads[:, 0]
        missing_table = pd.DataFrame(
            {"gene": missing, "benefit_weight": [weights[self.genes.index(g)] for g in missing]}
        )
        return G, missing_table

    def benefit_weights(self) -> np.ndarray:
        """Per-gene weights ``W (h_D - h_I)`` on the z-scored scale."""
        return forge_core.benefit_weights(self.W, self.heads)

    def predict(self, expression: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
        """Predicted outputs on their original scale (training means added back)."""
        G, _ = self.scaled_expression(expression, **kwargs)
        pred = G @ self.W @ self.heads + self.target_mean
        return pd.DataFrame(pred, index=expression.index, columns=self.targets)

    def embed(self, expression: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
        """Latent embedding ``Z = G W``."""
        G, _ = self.scaled_expression(expression, **kwargs)
        cols = [f"Z{i + 1}" for i in range(self.W.shape[1])]
        return pd.DataFrame(G @ self.W, index=expression.index, columns=cols)

    def benefit_score(self, expression: pd.DataFrame, **kwargs: Any) -> tuple[pd.Series, pd.DataFrame]:
        """Benefit Score ``D_hat - I_hat`` (centred scale) of each sample, and the missing genes.

        A sample's score depends only on its own profile and the training
        scaling, never on the other samples scored with it.
        """
        G, missing = self.scaled_expression(expression, **kwargs)
        score = pd.Series(G @ self.benefit_weights(), index=expression.index, name="benefit_score")
        return score, missing

    def gene_effects(self) -> pd.DataFrame:
        """DependencyEffect, IC50Effect, TotalInfluence and the benefit weight per gene."""
        effects = forge_core.gene_effects(self.W, self.heads) if len(self.targets) > 1 else None
        table = pd.DataFrame(index=pd.Index(self.genes, name="gene"))
        if effects is not None:
            table["DependencyEffect"] = effects["dependency_effect"]
            table["IC50Effect"] = effects["ic50_effect"]
            table["TotalInfluence"] = effects["total_influence"]
            table["BenefitWeight"] = self.benefit_weights()
        else:
            table["Effect"] = forge_core.output_effect(self.W, self.heads[:, 0])
        return table

    # -- persistence -------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> None:
        """Write ``model.npz`` (arrays) and ``model.json`` (names, settings); no pickle."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_write(directory / "model.npz") as tmp:
            with open(tmp, "wb") as handle:
                np.savez(
                    handle,
                    W=self.W,
                    heads=self.heads,
                    gene_mean=self.gene_mean,
                    gene_sd=self.gene_sd,
                    target_mean=self.target_mean,
                )
        meta = dict(
            format_version=MODEL_FORMAT_VERSION,
            genes=list(self.genes),
            targets=list(self.targets),
            missing_gene_rule=MISSING_GENE_RULE,
            versions=package_versions(),
            **self.metadata,
        )
        with atomic_write(directory / "model.json") as tmp:
            Path(tmp).write_text(json.dumps(_jsonable(meta), indent=2, sort_keys=True) + "\n")


def load_model(directory: str | os.PathLike) -> ForgeModel:
    """Load a model written by :meth:`ForgeModel.save`."""
    directory = Path(directory)
    npz_path, json_path = directory / "model.npz", directory / "model.json"
    for path in (npz_path, json_path):
        if not path.is_file():
            raise FileNotFoundError(f"model file {path} not found (expected model.npz and model.json)")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputFormatError(f"{json_path}: not a valid model description (truncated or not JSON: {err})") from err
    if not isinstance(meta, dict):
        raise InputFormatError(f"{json_path}: expected a JSON object with genes, targets and format_version")
    for key in ("genes", "targets", "format_version"):
        if key not in meta:
            raise InputFormatError(f"{json_path}: key '{key}' missing")
    try:
        with np.load(npz_path, allow_pickle=False) as arrays:
            data = {name: arrays[name] for name in ("W", "heads", "gene_mean", "gene_sd", "target_mean")}
    except KeyError as err:
        raise InputFormatError(f"{npz_path}: array {err} missing (expected W, heads, gene_mean, gene_sd, target_mean)") from err
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise InputFormatError(f"{npz_path}: not a readable model array file (truncated or corrupt: {err})") from err
    if data["W"].shape[0] != len(meta["genes"]):
        raise InputFormatError(
            f"{npz_path}: W has {data['W'].shape[0]} rows but {json_path} lists {len(meta['genes'])} genes"
        )
    genes, targets = meta.pop("genes"), meta.pop("targets")
    for key in ("format_version", "missing_gene_rule", "versions"):
        meta.pop(key, None)
    return ForgeModel(genes=genes, targets=targets, metadata=meta, **data)


def package_versions() -> dict[str, str]:
    """Versions recorded in model metadata."""
    import scipy

    return dict(python=platform.python_version(), numpy=np.__version__, scipy=scipy.__version__, pandas=pd.__version__)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


# ---------------------------------------------------------------------------
# Fitting a pair
# ---------------------------------------------------------------------------
@dataclass
class PairData:
    """Aligned inputs of one pair: expression, outputs (dependency first) and the split."""

    expression: pd.DataFrame
    outputs: pd.DataFrame
    split: pd.Series

    @property
    def train(self) -> pd.Index:
        return self.split.index[self.split == "train"]

    @property
    def test(self) -> pd.Index:
        return self.split.index[self.split == "test"]


def fit_pair_models(
    data: PairData,
    genes: Sequence[str],
    seeds: Sequence[int],
    n_components: int,
    solver_options: dict[str, Any],
    output_columns: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> list[ForgeModel]:
    """Fit one model per seed on the training samples, all in one batched solver call.

    Scaling (gene mean/sd) and output centring come from training samples only.
    """
    output_columns = list(output_columns or data.outputs.columns)
    # Fresh C-ordered arrays: BLAS and pandas reductions round differently for other
    # memory layouts, and a model must not depend on how its inputs were sliced.
    train_values = np.ascontiguousarray(data.expression.loc[data.train, list(genes)].to_numpy(dtype=np.float64))
    gene_mean, gene_sd = fit_scaling(pd.DataFrame(train_values, columns=list(genes)))
    G = (train_values - gene_mean.to_numpy()) / gene_sd.to_numpy()
    train_out = np.ascontiguousarray(data.outputs.loc[data.train, output_columns].to_numpy(dtype=np.float64))
    target_mean = train_out.mean(axis=0)
    suff = forge_core.sufficient_statistics(G, train_out - target_mean)
    specs = [forge_core.ModelSpec(n_components, int(seed)) for seed in seeds]
    results = forge_core.fit_forge_batch([suff], specs, **solver_options)
    models = []
    for seed, res in zip(seeds, results):
        meta = dict(metadata or {})
        meta.update(
            seed=int(seed),
            hyperparameters=dict(res.settings, n_components=n_components),
            n_iter=res.n_iter,
            converged=res.converged,
            rank=res.rank,
            final_loss=res.fun,
            n_train=int(len(data.train)),
        )
        models.append(
            ForgeModel(
                genes=list(genes),
                gene_mean=np.asarray(gene_mean, dtype=np.float64),
                gene_sd=np.asarray(gene_sd, dtype=np.float64),
                targets=output_columns,
                target_mean=target_mean,
                W=res.W,
                heads=res.heads,
                metadata=meta,
            )
        )
    return models


def read_fixed_split(path: str, samples: pd.Index) -> tuple[pd.Series, pd.DataFrame]:
    """A given split restricted to the pair's samples; samples it lacks are reported.

    The file is tab- or comma-separated (tab when its header holds a tab) and read under the
    text input policy (:func:`forge.io.read_text_csv`). A sample listed twice, a missing
    sample id or split value, and a file without rows are refused naming the file.
    """
    lines = read_text_lines(path)
    header = next((line for line in lines if line.strip()), "")
    table = read_text_csv(path, sep="\t" if "\t" in header else ",", dtype=str)
    if table.empty:
        raise InputFormatError(f"{path}: the split table has a header but no rows; expected sample ids and train/test")
    if "sample" not in table.columns:  # e.g. the authors' table keyed by StrippedCellLineName
        table = table.rename(columns={table.columns[0]: "sample"})
    if "split" not in table.columns:
        raise InputFormatError(f"{path}: missing column 'split'; expected sample ids and a split column")
    bad = sorted(map(str, set(table["split"]) - {"train", "test"}))
    if bad:
        raise InputFormatError(f"{path}: column 'split' has values {bad}; expected train or test")
    if table["sample"].isna().any():
        row = int(np.flatnonzero(table["sample"].isna().to_numpy())[0]) + 2
        raise InputFormatError(f"{path}: line {row}: missing sample id")
    repeated = table["sample"][table["sample"].duplicated()]
    if len(repeated):
        raise InputFormatError(f"{path}: sample(s) {sorted(set(repeated))[:5]} listed more than once; "
                               "expected one split label per sample")
    split = table.set_index("sample")["split"]
    not_in_split = samples.difference(split.index)
    dropped = pd.DataFrame({"sample": not_in_split, "reason": "not in the fixed split file"})
    split = split.reindex(samples.intersection(split.index)).sort_index()
    split.index.name = "sample"
    check_split_sizes(split, key="split.file")
    return split, dropped
