"""Persistent settings (QSettings, organisation "InterpStudio"): window layout and recent files."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORGANIZATION = "InterpStudio"
APPLICATION = "InterpStudio"
RECENT_MODELS = "recent/models"
RECENT_DATASETS = "recent/datasets"
MAX_RECENT = 8


def app_settings() -> QSettings:
    """The application's settings store."""
    return QSettings(ORGANIZATION, APPLICATION)


def recent_paths(key: str) -> list[str]:
    """Recent paths stored under ``key``, newest first."""
    value = app_settings().value(key, [])
    if value is None:
        return []
    if isinstance(value, str):  # INI files give a bare string for a one-element list
        value = [value] if value else []
    return [str(v) for v in value]


def add_recent(key: str, path: str) -> list[str]:
    """Put ``path`` first in the recent list ``key`` (at most :data:`MAX_RECENT`)."""
    path = str(Path(path).expanduser().resolve()) if path else path
    items = [p for p in recent_paths(key) if p != path]
    items.insert(0, path)
    items = items[:MAX_RECENT]
    s = app_settings()
    s.setValue(key, items)
    s.sync()
    return items


def clear_recent(key: str) -> None:
    s = app_settings()
    s.remove(key)
    s.sync()
