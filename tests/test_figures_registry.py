"""The figure registry: metadata without the drawing code, and specs that cannot drift from it."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import forge.figures
from forge.figures import registry
from forge.figures.specs import FIGURES, FigureSpec

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _drawing_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(forge.figures.__path__) if m.name.startswith("fig_"))


def test_loading_the_figures_imports_no_plotting_and_no_pandas() -> None:
    """What parsing the workflow does (common.smk: import the registry, load every spec, read
    captions and table paths) in a fresh interpreter, where nothing was imported before."""
    code = (
        "import sys\n"
        "from forge.figures.registry import caption_text, figure_names, load_all, paper_figure, table_paths\n"
        "specs = load_all()\n"
        "for spec in specs.values():\n"
        "    paper_figure(spec); figure_names(spec, ['A_B'], {'tahoe': ['A_B'], 'pdx': ['A_B']})\n"
        "    table_paths(spec, 'tahoe__A_B' if spec.scope == 'validation' else 'A_B', ['A_B'])\n"
        "print(len(specs))\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "      ('matplotlib', 'seaborn', 'pandas', 'scipy')\n"
        "      or m.startswith('forge.figures.fig_') or m == 'forge.figures.style')))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(SCRIPTS))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    count, imported = (out.splitlines() + [""])[:2]
    assert int(count) == len(FIGURES) > 10
    assert imported == "", f"loading the figure metadata imported {imported}"


def test_drawing_a_figure_imports_its_module() -> None:
    """The drawing function is resolved when asked for, from the spec's ``drawn_by``."""
    spec = FIGURES["fig1"]
    module, function = spec.drawn_by.split(":")
    assert spec.draw is getattr(importlib.import_module(f"forge.figures.{module}"), function)


def test_every_spec_names_a_drawing_function_of_its_module() -> None:
    for spec in FIGURES.values():
        module, function = spec.drawn_by.split(":")
        draw = spec.draw
        assert inspect.isfunction(draw), spec.name
        # defined in that module (not imported into it from elsewhere) and named as the convention says
        assert draw.__module__ == f"forge.figures.{module}", spec.name
        assert function == f"draw_{spec.name}", spec.drawn_by
        assert list(inspect.signature(draw).parameters) == ["tables", "subject"], spec.name


def test_every_drawing_function_has_exactly_one_spec() -> None:
    """A ``draw_*`` function of a drawing module that no spec names would never be drawn; one that two
    specs name would draw two figures under two captions."""
    referenced = [spec.drawn_by for spec in FIGURES.values()]
    assert len(referenced) == len(set(referenced))
    defined = []
    for module_name in _drawing_modules():
        module = importlib.import_module(f"forge.figures.{module_name}")
        defined += [f"{module_name}:{name}" for name, value in vars(module).items()
                    if name.startswith("draw_") and inspect.isfunction(value) and value.__module__ == module.__name__]
    assert sorted(defined) == sorted(referenced)
    # and every drawing module draws at least one figure
    assert {ref.split(":")[0] for ref in referenced} == set(_drawing_modules())


def test_load_all_is_every_spec_sorted_by_name() -> None:
    specs = registry.load_all()
    assert list(specs) == sorted(FIGURES)
    assert all(specs[name] is FIGURES[name] for name in FIGURES)
    assert all(name == spec.name for name, spec in specs.items())


def test_a_spec_with_an_unknown_scope_or_table_is_refused() -> None:
    with pytest.raises(ValueError, match=r"figure x: unknown scope 'cohort'"):
        FigureSpec("x", "cohort", ("metrics",), {"a": ("Fig. 1a", "")}, "", "fig_model:draw_fig1")
    spec = FigureSpec("x", "pair", ("metrics", "metric@pairs"), {"a": ("Fig. 1a", "")}, "", "fig_model:draw_fig1")
    with pytest.raises(ValueError, match=r"figure x: unknown tables \['metric@pairs'\]"):
        registry.check_specs({"x": spec})
    registry.check_specs(FIGURES)  # the shipped specs pass
