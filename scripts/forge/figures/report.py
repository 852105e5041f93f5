"""Text for the report and the figure index: where the paper shows a pair's figures."""

from __future__ import annotations

from forge.modelling.pairs import Pair


def paper_context(pair: Pair | None) -> str:
    """Where the paper shows a per-pair figure of this pair (the same panels, another pair); empty for
    figures across pairs (``pair`` None) and pairs the paper does not show."""
    if pair is None:
        return ""
    if pair.control:
        return "Supplementary: negative-control panels"
    return {"NAMPT": "Fig. 6d–n (NAMPT–daporinad panel set)", "BRAF": "Supplementary: BRAF–dabrafenib panels",
            "EGFR": "main figures (EGFR–erlotinib)"}.get(pair.target, "")
