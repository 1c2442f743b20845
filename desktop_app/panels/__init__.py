"""Dock panels. Each panel only shows result objects (``set_result``) and emits intent
signals (``sigTokenClicked``, ``sigCellClicked``, ...); it never calls the engine or torch."""
