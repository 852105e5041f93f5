"""FORGE library."""

#: The workflow's version (pyproject.toml reads it from here; CHANGELOG.md and CITATION.cff repeat it).
__version__ = "0.4.1"
