"""The version of the code a rule runs: a digest of its script and every library module it uses.

Snakemake reruns a job when its rule's params change (a default rerun trigger) but watches only
the rule's own script, not the library under ``scripts/`` that the script imports. Each rule of
the workflow therefore carries ``params: code=…`` with :func:`code_digest` of its script: after an
upgrade of the workflow (or an edit of the library), exactly the jobs whose code changed are
planned again, and nothing else.

A module "uses" another when its source names it: an import anywhere (also inside a function, as
the lazy imports of heavy packages do) or a dotted name such as ``"forge.figures.fig_model:draw"``
(the figure registry resolves drawing functions that way). A mention in a comment counts too: the
scan errs on the side of a rerun, never of a stale result. Only modules of the workflow's own library (``forge``,
``forge_core``, ``forge_score``) count; third-party packages are covered by the software
environment (Snakemake's ``software-env`` trigger with ``--use-conda``).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

#: Top-level names of the workflow's library (directories or modules under ``scripts/``).
LIBRARY_ROOTS = ("forge", "forge_core", "forge_score")


@lru_cache(maxsize=None)
def _module_file(name: str, library: Path) -> Path | None:
    """The source file of library module ``name`` (a package's ``__init__.py``), or None."""
    parts = name.split(".")
    if parts[0] not in LIBRARY_ROOTS:
        return None
    base = library.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _with_parents(name: str) -> list[str]:
    """``a.b.c`` → ``a``, ``a.b``, ``a.b.c`` (importing a module runs its packages' ``__init__``)."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


# a dotted library name anywhere in the source: imports, string constants, also comments and
# docstrings (harmless: a mention can only add a module, never hide one)
_ROOTS = "|".join(sorted(LIBRARY_ROOTS, key=len, reverse=True))  # forge_core before forge
_DOTTED = re.compile(rf"\b((?:{_ROOTS})\b(?:\.\w+)*)")
# ``from forge.x import a, b`` (also parenthesised over lines): a and b may be modules
_FROM_IMPORT = re.compile(rf"^\s*from\s+((?:{_ROOTS})\b[\w.]*)\s+import\s+\(?([\w\s,]+)", re.M)


@lru_cache(maxsize=None)
def _used_names(path: Path) -> tuple[str, ...]:
    """Dotted library names a source file mentions (candidates, resolved by :func:`_module_file`).

    A text scan rather than an AST walk: ten times faster, and the workflow computes the digests of
    every rule at each parse."""
    source = path.read_text(encoding="utf-8")
    names = _DOTTED.findall(source)
    for package, imported in _FROM_IMPORT.findall(source):
        names += [f"{package}.{name}" for name in re.findall(r"\w+", imported)]
    return tuple(dict.fromkeys(names))


def library_files(script: str | Path, library: str | Path) -> list[Path]:
    """The library modules ``script`` uses, transitively, sorted by path.

    Parameters
    ----------
    script : path
        A rule's script (``workflow/scripts/<rule>.py``) or a library module.
    library : path
        The library's directory (``scripts/``).
    """
    library = Path(library).resolve()
    seen: dict[Path, None] = {}
    pending = [Path(script).resolve()]
    while pending:
        path = pending.pop()
        for name in _used_names(path):
            for module in _with_parents(name):
                found = _module_file(module, library)
                if found is not None and found not in seen:
                    seen[found] = None
                    pending.append(found)
    return sorted(seen)


def code_digest(script: str | Path, library: str | Path) -> str:
    """sha256 (first 16 hex digits) of ``script`` and every library module it uses.

    The digest covers each file's path relative to ``library`` (or the script's name) and its bytes,
    so renaming, adding or editing a used module changes it; modules the script does not use do not.
    """
    library = Path(library).resolve()
    digest = hashlib.sha256()
    script = Path(script).resolve()
    for path in [script, *library_files(script, library)]:
        label = path.relative_to(library).as_posix() if path.is_relative_to(library) else path.name
        content = path.read_bytes()
        digest.update(f"{label}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()[:16]
