"""Dock panels. Each panel only shows result objects (``set_result``) and emits intent
signals (``sigTokenClicked``, ``sigCellClicked``, ...); it never calls the engine or torch."""
from ..qt_fixes import protect_none_refcount

protect_none_refcount()  # PySide6 6.12.0 on Python 3.11 would abort after enough Qt calls
