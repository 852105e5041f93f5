"""Key numbers of a figure, for its report label, read from the tables the figure was drawn from."""

from __future__ import annotations

import pandas as pd


def _test_r(comparison: pd.DataFrame, model: str, output_suffix: str) -> str:
    rows = comparison[(comparison["model"] == model) & (comparison["split"] == "test")
                      & comparison["output"].str.endswith(output_suffix)]
    return f"{rows['pearson_mean'].iloc[0]:.2f}" if len(rows) else "n/a"


def key_numbers(figure: str, tables: dict[str, pd.DataFrame]) -> str:
    """One line of the numbers a reader looks for first; empty when the figure has none."""
    try:
        if figure in ("fig2", "supp_tuning") and "comparison" in tables:
            c = tables["comparison"]
            return (f"test Pearson r — FORGE joint: dependency {_test_r(c, 'forge_joint', '_dependency')}, "
                    f"IC50 {_test_r(c, 'forge_joint', '_ic50')}; ridge: dependency {_test_r(c, 'ridge', '_dependency')}, "
                    f"IC50 {_test_r(c, 'ridge', '_ic50')}")
        if figure == "fig3" and "cluster_summary" in tables:
            s = tables["cluster_summary"]
            sensitive = s.loc[s["sensitive"].astype(bool), "cluster"].tolist() if "sensitive" in s else []
            de = tables.get("de_score_groups", pd.DataFrame())
            n_de = int(de["significant"].astype(bool).sum()) if "significant" in de else 0
            return f"{len(s)} clusters; sensitive clusters {sensitive or 'none'}; {n_de} DE genes (high vs low score)"
        if figure == "fig4" and "effect_concordance" in tables:
            e = tables["effect_concordance"]
            return f"r(DependencyEffect, IC50Effect): joint {e['joint_r'].mean():.2f}, individual {e['individual_r'].mean():.2f}"
        if figure in ("fig5_pdx", "fig5_tahoe") and "validation_tests" in tables:
            t = tables["validation_tests"]
            if {"scaling", "weights"} <= set(t.columns) and len(t):  # the primary recipe (listed first)
                t = t[(t["scaling"] == t["scaling"].iloc[0]) & (t["weights"] == t["weights"].iloc[0])]
            t = t[(t.get("score") == "forge") & (t.get("status") == "computed")]
            if figure == "fig5_pdx":
                t = t[(t["grouping"] == "median") & (t["variable"].str.startswith("tv_change_days_"))]
            else:
                t = t[t["grouping"].str.startswith("median_split_dose_") | (t["grouping"] == "cancer_vs_normal")]
            return "; ".join(f"{r.grouping} {r.variable}: P = {r.p_value:.2g}" for r in t.itertuples())
    except (KeyError, IndexError, AttributeError, TypeError):
        return ""
    return ""
