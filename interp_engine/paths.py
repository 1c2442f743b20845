"""Where the app's resources and caches live (platformdirs; overridable for tests)."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    """The top-level ``resources/`` folder (inside a PyInstaller bundle: its data folder)."""
    base = getattr(sys, "_MEIPASS", None)
    if base:
        return Path(base) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def cache_dir() -> Path:
    """User cache directory (``$INTERP_STUDIO_CACHE`` overrides it), created on demand."""
    env = os.environ.get("INTERP_STUDIO_CACHE")
    if env:
        p = Path(env)
    else:
        from platformdirs import user_cache_dir

        p = Path(user_cache_dir("interp-studio", appauthor=False))
    p.mkdir(parents=True, exist_ok=True)
    return p
