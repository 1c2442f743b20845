"""Interp Studio desktop front end: the only package that imports Qt.

Importing this package itself imports no Qt, so ``desktop_app.__main__`` can hand headless
subcommands (``train``, ``attribute``, ...) to :mod:`interp_engine.cli` without a display.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
