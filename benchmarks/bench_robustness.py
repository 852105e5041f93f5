#!/usr/bin/env python3
"""What the validation's robustness part costs: CPU seconds of one pair's PDX and Tahoe validation with and
without it, on a finished run.

    .venv/bin/python benchmarks/bench_robustness.py [--run small] [--pair EGFR_ERLOTINIB]

"Without" is the stage as it was before the robustness tables: the reported model only, the primary
recipe only. "With" is the configured stage: every validated k × replicate × recipe. CPU time
(process_time) is printed besides wall time because it hardly depends on the machine's load.
Reads results/<run>/ and resources/processed/<run>/ of a run made with the same configuration.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import yaml

from forge.analysis.pair import read_libraries
from forge.io import read_parquet_matrix
from forge.validation.run import PairModels, load_pair_models, validate_pdx, validate_tahoe

CONFIGS = {"small": "config/small.yaml", "demo": "config/config.yaml"}


def settings(config: dict, cohort: str, recipes: list[dict] | None) -> dict:
    from forge.config import validate_config

    checked = validate_config(config, Path("workflow/schemas/config.schema.yaml"))
    shared = checked["validation"]
    return dict(shared[cohort], recipes=recipes or shared["recipes"], min_cohort_size=shared["min_cohort_size"],
                robustness_fisher_resamples=shared["robustness"]["fisher_resamples"]), checked


def timed(label: str, function) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    print(f"{label:<48} wall {time.perf_counter() - wall:7.2f} s   CPU {time.process_time() - cpu:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="small", choices=sorted(CONFIGS))
    parser.add_argument("--pair", default="EGFR_ERLOTINIB")
    args = parser.parse_args()
    config = yaml.safe_load(Path(CONFIGS[args.run]).read_text())
    results, processed = Path("results") / args.run, Path("resources/processed") / args.run
    k_dirs = sorted(str(p) for p in (results / "models_k" / args.pair).glob("k*"))
    models = load_pair_models(results / "models" / args.pair, k_dirs, results / "pairs" / args.pair / "expression.parquet",
                              results / "pairs" / args.pair / "split.tsv", results / "pairs" / args.pair / "ridge_model.json")
    reported_only = PairModels(models.reported_k, {models.reported_k: [models.reported]}, models.ridge,
                               models.test_expression)
    print(f"run {args.run}, pair {args.pair}: validated k {list(models.by_k)}, "
          f"{sum(len(v) for v in models.by_k.values())} models")
    pdx = processed / "pdx"
    expression, grid = read_parquet_matrix(pdx / "expression.parquet"), pd.read_parquet(pdx / "sensitivity_expression.parquet")
    response = pd.read_csv(pdx / "response.tsv", sep="\t", dtype={"Model": str})
    full, checked = settings(config, "pdx", None)
    primary, _ = settings(config, "pdx", full["recipes"][:1])
    default = (checked["pdx"]["pseudocounts"]["fragments"], checked["pdx"]["pseudocounts"]["read_length"])
    timed("PDX: reported model, primary recipe", lambda: validate_pdx(reported_only, expression, response, grid,
                                                                       primary, default))
    timed("PDX: every k x replicate x recipe (configured)", lambda: validate_pdx(models, expression, response, grid,
                                                                                 full, default))
    tahoe = processed / "tahoe"
    dmso, treated = read_parquet_matrix(tahoe / "expression_dmso.parquet"), read_parquet_matrix(tahoe / "expression_treated.parquet")
    counts = read_parquet_matrix(tahoe / "pseudobulk_counts.parquet")
    samples = pd.read_csv(tahoe / "samples.tsv", sep="\t", dtype={"cell_line": str, "plate": str, "sample": str})
    full, _ = settings(config, "tahoe", None)
    primary, _ = settings(config, "tahoe", full["recipes"][:1])
    libraries = read_libraries(sorted(str(p) for p in Path(f"resources/raw/demo/{args.run}").glob("*.gmt")))
    control, enrichment = checked["tahoe"]["control"], checked["analysis"]["enrichment"]
    timed("Tahoe: reported model, primary recipe", lambda: validate_tahoe(reported_only, dmso, treated, counts, samples,
                                                                          primary, control, libraries, enrichment))
    timed("Tahoe: every k x replicate x recipe (configured)", lambda: validate_tahoe(models, dmso, treated, counts, samples,
                                                                                     full, control, libraries, enrichment))


if __name__ == "__main__":
    main()
