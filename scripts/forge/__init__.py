"""FORGE library."""
