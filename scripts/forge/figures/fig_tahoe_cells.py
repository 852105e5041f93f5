"""Fig. 5b: UMAP of the single cells of the best-responding Tahoe-100M lines, control and each dose.

Reads only ``validation/tahoe/<pair>/single_cells.tsv`` (coordinates and labels written by the rule
``tahoe_single_cells``); nothing is embedded or tested here.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from forge.figures import style
from forge.figures.registry import FigureSubject

#: Colour of the control cells; the doses take a sequential map from light (lowest) to dark.
CONTROL_COLOUR = "#7f8c8d"
#: The other selected lines' cells, drawn behind each facet for orientation.
BACKGROUND_COLOUR = "#e5e8e8"
DOSE_MAP = "YlOrRd"
FACETS_PER_ROW = 4
REQUIRED = ("cell_line", "cell_name", "line_rank", "drug", "dose", "unit", "treatment", "embedding", "UMAP1", "UMAP2")


def treatment_colours(cells: pd.DataFrame) -> dict[str, str]:
    """Treatment label → colour: control(s) grey, doses light to dark by increasing dose."""
    treated = cells[cells["dose"].astype(float) > 0]
    doses = treated.drop_duplicates("treatment").sort_values("dose", kind="mergesort")["treatment"].tolist()
    cmap = matplotlib.colormaps[DOSE_MAP]
    shades = np.linspace(0.35, 0.95, len(doses)) if len(doses) > 1 else [0.8]
    colours = {t: matplotlib.colors.to_hex(cmap(v)) for t, v in zip(doses, shades)}
    for control in cells.loc[cells["dose"].astype(float) <= 0, "treatment"].unique():
        colours[str(control)] = CONTROL_COLOUR
    return colours


def _order(colours: dict[str, str], cells: pd.DataFrame) -> list[str]:
    """Control first, then doses ascending (the draw order: the highest dose on top)."""
    dose = cells.drop_duplicates("treatment").set_index("treatment")["dose"].astype(float)
    return sorted(colours, key=lambda t: (dose.get(t, 0.0), t))


def _square_limits(ax, x: np.ndarray, y: np.ndarray) -> None:
    """Square limits around the points with the same scale on both axes (UMAP distances are
    isotropic), so the facet's box (aspect 1) shows the embedding undistorted."""
    half = 0.55 * max(np.ptp(x), np.ptp(y), 1e-9)
    ax.set_xlim((x.min() + x.max()) / 2 - half, (x.min() + x.max()) / 2 + half)
    ax.set_ylim((y.min() + y.max()) / 2 - half, (y.min() + y.max()) / 2 + half)


def draw_fig5b_tahoe_cells(tables: dict[str, pd.DataFrame], subject: FigureSubject):
    """Draw figure ``fig5b_tahoe_cells`` (its tables, panels and caption: :mod:`forge.figures.specs`)."""
    cells = tables.get("tahoe_single_cells")
    cells = cells if isinstance(cells, pd.DataFrame) else pd.DataFrame()
    if cells.empty or any(c not in cells.columns for c in REQUIRED):
        fig = style.new_figure(style.FULL_WIDTH, 2.0)
        ax = fig.add_subplot()
        reason = "no single cells (single_cells.tsv empty: the pair's Tahoe response strength was not computed)"
        style.no_data(ax, reason)
        fig.suptitle(f"Tahoe-100M single cells: {subject.title}", fontsize=style.FONT_SIZE + 1)
        return fig, {"b": f"not drawn: {reason}"}
    cells = cells.assign(cell_line=cells["cell_line"].astype(str), treatment=cells["treatment"].astype(str))
    lines = (cells.drop_duplicates("cell_line").sort_values("line_rank", kind="mergesort")
             [["cell_line", "cell_name", "line_rank"]])
    n_cols = min(FACETS_PER_ROW, len(lines))
    n_rows = math.ceil(len(lines) / n_cols)
    facet = style.FULL_WIDTH / FACETS_PER_ROW
    joint = bool((cells["embedding"].astype(str) == "joint").all())
    fig = style.new_figure(style.FULL_WIDTH, facet * n_rows + 0.9)
    # one joint UMAP: shared axes; one UMAP per line: each facet its own coordinates
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, sharex=joint, sharey=joint, squeeze=False)).ravel()
    colours = treatment_colours(cells)
    order = _order(colours, cells)
    # small points for many cells, larger for the demo's few hundred
    size = float(np.clip(3000 / max(len(cells), 1), 0.4, 6))
    x, y = cells["UMAP1"].to_numpy(float), cells["UMAP2"].to_numpy(float)
    for i, (ax, line) in enumerate(zip(axes, lines.itertuples())):
        mine = (cells["cell_line"] == line.cell_line).to_numpy()
        if joint:
            ax.scatter(x[~mine], y[~mine], s=size * 0.6, color=BACKGROUND_COLOUR, linewidths=0, rasterized=True)
        _square_limits(ax, x if joint else x[mine], y if joint else y[mine])
        for treatment in order:
            chosen = mine & (cells["treatment"] == treatment).to_numpy()
            if chosen.any():
                ax.scatter(x[chosen], y[chosen], s=size, color=colours[treatment], linewidths=0, rasterized=True)
        label = line.cell_name if str(line.cell_name) not in ("", "nan", line.cell_line) else ""
        title = f"{label} ({line.cell_line})" if label else line.cell_line
        ax.set_title(f"#{int(line.line_rank)} {title}\nn = {int(mine.sum())} cells", fontsize=style.FONT_SIZE)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_box_aspect(1)
        if i % n_cols == 0:
            ax.set_ylabel("UMAP 2 (arbitrary units)")
        if i >= len(lines) - n_cols:
            ax.set_xlabel("UMAP 1 (arbitrary units)")
        ax.spines[["top", "right"]].set_visible(True)
    for ax in axes[len(lines):]:
        ax.set_axis_off()
    style.panel_label(axes[0], "b")
    n_by = cells.groupby("treatment").size()
    handles = [Line2D([], [], ls="", marker="o", ms=4, color=colours[t], label=f"{t} (n = {int(n_by.get(t, 0))})")
               for t in order]
    if joint:
        handles.append(Line2D([], [], ls="", marker="o", ms=4, color=BACKGROUND_COLOUR, label="other lines' cells"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5), title="treatment",
               title_fontsize=style.FONT_SIZE - 1)
    what = "one UMAP of all their cells" if joint else "one UMAP per line"
    fig.suptitle(f"Tahoe-100M single cells: {subject.title}, the {len(lines)} lines with the strongest "
                 f"response (n = {len(cells)} cells; {what})", fontsize=style.FONT_SIZE + 1)
    return fig, {"b": "drawn"}
