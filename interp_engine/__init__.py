"""Interp Studio engine: no Qt."""
