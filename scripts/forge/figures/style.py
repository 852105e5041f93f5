"""The one plotting style of the workflow: fonts, sizes, colours, and helpers every figure uses.

Figures only read tables the workflow wrote; nothing here fits a model or reruns a statistic.
"""

from __future__ import annotations

import os
import textwrap

import matplotlib

matplotlib.use("Agg")  # files only; no display on a cluster node

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.layout_engine import PlaceHolderLayoutEngine  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from forge.io import atomic_write  # noqa: E402

#: Sizes fit for a paper: a full-width figure is 7.2 in (183 mm) wide.
FULL_WIDTH = 7.2
HALF_WIDTH = 3.5
FONT_SIZE = 7

RC = {
    "font.family": "DejaVu Sans",
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE + 1,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE - 1,
    "ytick.labelsize": FONT_SIZE - 1,
    "legend.fontsize": FONT_SIZE - 1,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.0,
    "lines.markersize": 3,
    "savefig.dpi": 200,
    "figure.dpi": 100,
    "pdf.fonttype": 42,  # editable text in the PDF
    "svg.fonttype": "none",
    # fixed metadata so that the same tables give the same PDF bytes
    "pdf.compression": 6,
}

#: Score groups and splits.
GROUP_COLOURS = {"high": "#c0392b", "low": "#2e86c1", "Q1": "#2e86c1", "Q2": "#85c1e9", "Q3": "#f1948a",
                 "Q4": "#c0392b", "T1": "#2e86c1", "T2": "#aab7b8", "T3": "#c0392b"}
SPLIT_COLOURS = {"train": "#7f8c8d", "test": "#e67e22", "unlabelled": "#d5d8dc"}
#: Models: FORGE in warm colours, baselines in greys and blues (the honest comparison).
MODEL_COLOURS = {"forge_joint": "#c0392b", "forge_dependency_only": "#e59866", "forge_ic50_only": "#f5b7b1",
                 "forge_multi_drug": "#884ea0", "ridge": "#2874a6", "elastic_net": "#5dade2",
                 "lineage_mean": "#808b96", "training_mean": "#d5d8dc"}
MODEL_LABELS = {"forge_joint": "FORGE joint", "forge_dependency_only": "FORGE dependency-only",
                "forge_ic50_only": "FORGE IC50-only", "forge_multi_drug": "FORGE multi-drug", "ridge": "ridge",
                "elastic_net": "elastic net", "lineage_mean": "lineage mean", "training_mean": "training mean"}
#: Continuous maps: diverging for scores and Z, sequential for counts.
DIVERGING = "RdBu_r"
SEQUENTIAL = "viridis"
NORMAL_COLOUR = "#17a589"


def apply_style() -> None:
    """Set the workflow's matplotlib style (idempotent)."""
    plt.rcParams.update(RC)


def lineage_colours(lineages) -> dict[str, str]:
    """A stable colour per lineage: sorted names on tab20 (then tab20b), '(missing)' grey."""
    names = sorted({str(x) for x in lineages if pd.notna(x)} - {"(missing)"})
    palette = list(plt.get_cmap("tab20").colors) + list(plt.get_cmap("tab20b").colors)
    colours = {name: matplotlib.colors.to_hex(palette[i % len(palette)]) for i, name in enumerate(names)}
    colours["(missing)"] = "#bfc9ca"
    return colours


def new_figure(width: float = FULL_WIDTH, height: float = 3.0, **kwargs) -> plt.Figure:
    """A figure in the workflow's style, with constrained layout (no overlapping text)."""
    apply_style()
    return plt.figure(figsize=(width, height), layout="constrained", **kwargs)


def panel_label(ax, letter: str) -> None:
    """Bold panel letter at the top left, outside the axes."""
    ax.text(-0.02, 1.02, letter, transform=ax.transAxes, ha="right", va="bottom", fontweight="bold",
            fontsize=FONT_SIZE + 2)


def format_p(p: float) -> str:
    """P-value text: 'P = 0.012', 'P = 3.4e-05', 'P n/a'."""
    if p is None or not np.isfinite(p):
        return "P n/a"
    return f"P = {p:.2g}" if p >= 1e-3 else f"P = {p:.1e}"


def annotate(ax, text: str, loc: str = "upper left") -> None:
    """A small text box inside the axes (r, n, test) at a corner."""
    positions = {"upper left": (0.03, 0.97, "left", "top"), "upper right": (0.97, 0.97, "right", "top"),
                 "lower left": (0.03, 0.03, "left", "bottom"), "lower right": (0.97, 0.03, "right", "bottom")}
    x, y, ha, va = positions[loc]
    ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=FONT_SIZE - 1,
            bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none", alpha=0.8))


def wrap(text: str, width: int = 48) -> str:
    """Text broken into lines of at most ``width`` characters (titles and no-data notes stay in their panel)."""
    return "\n".join(textwrap.fill(line, width) if line else line for line in str(text).split("\n"))


def no_data(ax, reason: str, width: int | None = None) -> None:
    """An empty panel that says why it is empty; with ``width``, the reason is wrapped (:func:`wrap`) to
    the panel's width in characters."""
    if width is not None:
        reason = wrap(reason, width)
    ax.set_axis_off()
    ax.text(0.5, 0.5, reason, transform=ax.transAxes, ha="center", va="center", fontsize=FONT_SIZE - 1,
            wrap=True, color="#566573")


def jitter(rng: np.random.Generator, n: int, width: float) -> np.ndarray:
    """Horizontal offsets of ``n`` points drawn over a box, uniform in [-width, width)."""
    return rng.uniform(-width, width, n)


#: Decimals kept of every laid-out position (figure fractions): 1e-7 of a 7.2 in figure at 200 dpi
#: is 1e-4 px, far below what a renderer resolves, and far above the solver's round-off (1e-15).
LAYOUT_DECIMALS = 7


def _subfigures(figure) -> list:
    found = []
    for sub in figure.subfigs:
        found += [sub, *_subfigures(sub)]
    return found


def freeze_layout(fig: plt.Figure, decimals: int = LAYOUT_DECIMALS) -> None:
    """Run the figure's layout engine once, round every position it chose, and switch it off.

    Constrained layout solves its constraints with kiwisolver, whose internal order follows memory
    addresses: the same figure from the same tables gets positions that differ between processes in
    the last bits (~1e-15), and at times that flips an anti-aliased pixel or a PDF coordinate (fig3
    came out in one of two versions). Rounded positions depend only on the figure's content.
    """
    if fig.get_layout_engine() is None or isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
        return  # no engine, or frozen already ("none" leaves a place-holder that lays out nothing)
    # lay out at the PNG's resolution, where text extents are measured as the PNG will draw them
    screen_dpi = fig.dpi
    fig.set_dpi(plt.rcParams["savefig.dpi"] if plt.rcParams["savefig.dpi"] != "figure" else screen_dpi)
    fig.draw_without_rendering()
    fig.set_dpi(screen_dpi)
    for sub in _subfigures(fig):
        rounded = np.round(sub.bbox_relative.get_points(), decimals)
        # the subfigure's bbox relative to its parent, as constrained layout sets it
        sub._redo_transform_rel_fig(bbox=Bbox(rounded))
    for ax in fig.get_axes():  # the root figure lists the axes of its subfigures too
        for which in ("original", "active"):
            corners = np.round(ax.get_position(original=which == "original").get_points(), decimals)
            ax.set_position(Bbox(corners), which=which)
    fig.set_layout_engine("none")


def save_figure(fig: plt.Figure, png: str | os.PathLike, pdf: str | os.PathLike | None = None) -> None:
    """Write the PNG (and the vector PDF) atomically, then close the figure.

    The layout is frozen first (`freeze_layout`) and the PDF metadata carries no date, so that the
    same tables give the same bytes in every process.
    """
    freeze_layout(fig)
    with atomic_write(png) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    if pdf is not None:
        with atomic_write(pdf) as tmp:
            fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "ModDate": None, "Producer": None,
                                                    "Creator": None})
    plt.close(fig)
