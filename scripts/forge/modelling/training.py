"""Paper-scale training of one pair: model kinds, replicates, k tuning curve, cross-validation.

Every stage batches its models into as few solver calls as possible (all seeds of a
kind, all k values x initialisations, all folds of a hyper-parameter setting), so the
number of Snakemake jobs grows with the number of pairs only.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

import forge_core
from forge.modelling.model import ForgeModel, PairData, fit_pair_models
from forge.normalise import fit_scaling

#: Model kinds: outputs used (indices into the pair's output columns, see ``kind_outputs``).
MODEL_KINDS = ("joint", "dependency_only", "ic50_only", "multi_drug")


def kind_outputs(kind: str, outputs: Sequence[str]) -> list[str]:
    """Output columns of a model kind; ``outputs`` = [dependency, main IC50, extra IC50s...]."""
    if kind == "joint":
        return list(outputs[:2])
    if kind == "dependency_only":
        return [outputs[0]]
    if kind == "ic50_only":
        return [outputs[1]]
    if kind == "multi_drug":
        return list(outputs)
    raise ValueError(f"unknown model kind {kind!r}; expected one of {MODEL_KINDS}")


def replicate_seeds(base_seed: int, n_replicates: int) -> list[int]:
    """Seeds of replicates b = 0 .. B-1: ``base_seed + b`` (paper: 42 + b)."""
    return [base_seed + b for b in range(n_replicates)]


def restrict_to_complete(data: PairData, columns: Sequence[str]) -> PairData:
    """The pair's samples that have every one of ``columns`` (same split labels)."""
    complete = data.outputs[list(columns)].notna().all(axis=1)
    keep = complete.index[complete]
    return PairData(data.expression.loc[keep], data.outputs.loc[keep], data.split.loc[keep])


def fit_replicates(
    data: PairData,
    genes: Sequence[str],
    kinds: Sequence[str],
    seeds: Sequence[int],
    n_components: int,
    options: dict[str, Any],
    metadata: dict[str, Any] | None = None,
) -> dict[str, list[ForgeModel]]:
    """Fit every kind x replicate; one batched solver call per kind.

    The multi-drug model uses the samples that have every drug's IC50.
    """
    outputs = list(data.outputs.columns)
    fitted: dict[str, list[ForgeModel]] = {}
    for kind in kinds:
        columns = kind_outputs(kind, outputs)
        kind_data = restrict_to_complete(data, columns)
        meta = dict(metadata or {}, kind=kind)
        fitted[kind] = fit_pair_models(kind_data, genes, seeds, n_components, options, columns, meta)
    return fitted


def save_replicates(fitted: dict[str, list[ForgeModel]], out: str | os.PathLike) -> None:
    """Write ``<out>/<folder>/rep<b>/model.{npz,json}`` for every folder's replicates (b in order),
    recording ``replicate = b`` in each model's metadata. The directory is staged beside ``out`` and
    renamed, so it appears complete or not at all (a folder ``""`` writes ``<out>/rep<b>``)."""
    out = Path(out)
    staging = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for folder, models in fitted.items():
            for b, model in enumerate(models):
                model.metadata["replicate"] = b
                model.save(staging / folder / f"rep{b:02d}")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------------------
# k tuning curve
# ---------------------------------------------------------------------------
def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r (NaN for a constant vector); the tuning curve needs nothing else."""
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x @ x) * (y @ y))
    return float(x @ y / denominator) if denominator > 0 else float("nan")

def _scaled(data: PairData, genes: Sequence[str], train: pd.Index) -> tuple[np.ndarray, pd.Series, pd.Series]:
    values = np.ascontiguousarray(data.expression.loc[:, list(genes)].to_numpy(dtype=np.float64))
    frame = pd.DataFrame(values, index=data.expression.index, columns=list(genes))
    mean, sd = fit_scaling(frame.loc[train])
    return (values - mean.to_numpy()) / sd.to_numpy(), mean, sd


def tuning_curve(
    data: PairData,
    genes: Sequence[str],
    k_grid: Sequence[int],
    n_init: int,
    base_seed: int,
    options: dict[str, Any],
) -> pd.DataFrame:
    """Train and test Pearson r per k and initialisation (the supplementary tuning curve).

    All ``len(k_grid) * n_init`` joint models are fitted in one batched call on the
    training samples; seeds are ``base_seed + i`` for initialisation i.
    """
    outputs = list(data.outputs.columns[:2])
    train_mask = data.split.to_numpy() == "train"
    G, _, _ = _scaled(data, genes, data.train)
    Y = data.outputs[outputs].to_numpy(dtype=np.float64)
    target_mean = Y[train_mask].mean(axis=0)
    stats_ = forge_core.sufficient_statistics(G[train_mask], Y[train_mask] - target_mean)
    specs = [forge_core.ModelSpec(k, base_seed + i) for k in k_grid for i in range(n_init)]
    results = forge_core.fit_forge_batch([stats_], specs, **options)
    rows = []
    for spec, result in zip(specs, results):
        predicted = G @ result.W @ result.heads + target_mean
        for split_name, mask in (("train", train_mask), ("test", ~train_mask)):
            for j, name in enumerate(outputs):
                r = _pearson(Y[mask, j], predicted[mask, j])
                rows.append((spec.n_components, spec.seed, split_name, name, r))
    return pd.DataFrame(rows, columns=["n_components", "seed", "split", "output", "pearson"])


# ---------------------------------------------------------------------------
# Cross-validation on the training set only
# ---------------------------------------------------------------------------
def fold_labels(samples: Sequence[str], n_folds: int, seed: int) -> pd.Series:
    """Seeded assignment of the training samples to ``n_folds`` folds (sorted first)."""
    ordered = np.array(sorted(samples), dtype=object)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    order = rng.permutation(len(ordered))
    folds = np.empty(len(ordered), dtype=int)
    folds[order] = np.arange(len(ordered)) % n_folds
    return pd.Series(folds, index=pd.Index(ordered, name="sample"), name="fold").sort_index()


def cross_validate(
    data: PairData,
    genes: Sequence[str],
    grid: dict[str, Sequence[Any]],
    n_folds: int,
    seed: int,
    options: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Grid search over (n_components, learning_rate, l1_penalty, max_iter) by K-fold CV.

    Only training samples are used: each fold's scaling and centring come from its
    own fit part. The validation error of a setting is the mean over folds of the
    sum over outputs of MSE / variance of that output in the fold's fit part (so
    dependency and IC50 weigh alike). All k values x folds of one (eta, lambda,
    epochs) setting are one batched solver call.

    Returns
    -------
    table : one row per setting and fold
    chosen : the setting with the smallest mean validation error
    """
    outputs = list(data.outputs.columns[:2])
    train = data.train
    folds = fold_labels(train, n_folds, seed)
    fold_data = []
    for fold in range(n_folds):
        fit_idx = folds.index[folds != fold]
        val_idx = folds.index[folds == fold]
        G_all, _, _ = _scaled(PairData(data.expression.loc[train], data.outputs.loc[train], data.split.loc[train]), genes, fit_idx)
        position = pd.Series(np.arange(len(train)), index=train)
        fit_pos, val_pos = position[fit_idx].to_numpy(), position[val_idx].to_numpy()
        Y = data.outputs.loc[train, outputs].to_numpy(dtype=np.float64)
        mean = Y[fit_pos].mean(axis=0)
        variance = Y[fit_pos].var(axis=0)
        stats_ = forge_core.sufficient_statistics(G_all[fit_pos], Y[fit_pos] - mean)
        fold_data.append((stats_, G_all[val_pos], Y[val_pos] - mean, variance))
    stats_list = [f[0] for f in fold_data]

    rows = []
    k_values = list(grid["n_components"])
    for eta, lam, epochs in itertools.product(grid["learning_rate"], grid["l1_penalty"], grid["max_iter"]):
        specs = [forge_core.ModelSpec(k, seed, fold) for k in k_values for fold in range(n_folds)]
        settings = dict(options, learning_rate=eta, l1_penalty=lam, max_iter=epochs)
        results = forge_core.fit_forge_batch(stats_list, specs, **settings)
        for spec, result in zip(specs, results):
            _, G_val, Y_val, variance = fold_data[spec.stats_index]
            error = ((G_val @ result.W @ result.heads - Y_val) ** 2).mean(axis=0) / variance
            rows.append((spec.n_components, eta, lam, epochs, spec.stats_index, float(error.sum())))
    table = pd.DataFrame(
        rows, columns=["n_components", "learning_rate", "l1_penalty", "max_iter", "fold", "validation_error"]
    )
    keys = ["n_components", "learning_rate", "l1_penalty", "max_iter"]
    summary = table.groupby(keys, sort=True)["validation_error"].mean()
    best = summary.idxmin()
    chosen = dict(zip(keys, best))
    chosen = {k: (int(v) if k in ("n_components", "max_iter") else float(v)) for k, v in chosen.items()}
    return table, chosen


SOLVER_KEYS = (
    "l1_penalty", "learning_rate", "max_iter", "update", "inner_steps", "step_size", "tol",
    "task_weights", "init_scale",
)


def solver_options(model_config: dict[str, Any]) -> dict[str, Any]:
    """The ``fit_forge_batch`` keyword arguments of a ``model`` config section."""
    return {key: model_config[key] for key in SOLVER_KEYS if key in model_config}


def model_kinds(configured: list[str], pair: dict) -> list[str]:
    """Configured kinds; joint always; multi_drug only with extra drugs."""
    kinds = ["joint"] + [k for k in configured if k != "joint"]
    return [k for k in kinds if k != "multi_drug" or pair["extra_drugs"]]
