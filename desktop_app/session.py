"""Sessions: everything needed to come back to an analysis, in one JSON file.

A session records the model folder, the dataset (file and columns), the masked LM, the
likelihood model of marginalization (σ / top-n), the heatmap method and target, the side-by-side
methods, the current sentence (typed, or the selected dataset row) and the dock layout
(``QMainWindow.saveState``, base64). File → Save Session… / Open Session… / Recent Sessions;
with "Restore last session on start" the window saves the session on close and reopens it on the
next start (kept in the settings store, :data:`LAST_SESSION_KEY`).
"""
from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray

from .settings import add_recent, app_settings, recent_paths

SESSION_VERSION = 1
RECENT_SESSIONS = "recent/sessions"
RESTORE_ON_START = "session/restore_on_start"
LAST_SESSION_KEY = "session/last"
SESSION_FILTER = "Interp Studio sessions (*.json);;All files (*)"


class SessionError(ValueError):
    """A session file cannot be read (the message names the file and the problem)."""


@dataclass
class Session:
    """What a session file holds (every field optional but ``version``).

    Attributes:
        model, mlm: folders; dataset: file; text_column, label_column: its columns.
        likelihood, sigma, top_n: marginalization settings (Kim et al. eq. 4 truncation).
        method: heatmap method key; target: class index or None (= predicted).
        compare: side-by-side mode on; compare_methods: its rows.
        text: the current sentence; source: ``"dataset"`` (a selected row) or ``"typed"``;
            dataset_row: the selected row when ``source == "dataset"``.
        layout: base64 of ``QMainWindow.saveState()``; geometry: base64 of ``saveGeometry()``.
    """

    version: int = SESSION_VERSION
    model: str | None = None
    dataset: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    mlm: str | None = None
    likelihood: str | None = None
    sigma: float | None = None
    top_n: int | None = None
    method: str | None = None
    target: int | None = None
    compare: bool = False
    compare_methods: list[str] = field(default_factory=list)
    text: str = ""
    source: str = "typed"
    dataset_row: int | None = None
    layout: str = ""
    geometry: str = ""
    app_version: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Any, path: str = "session") -> "Session":
        """Build from a parsed JSON object. Raises SessionError for a wrong shape or type."""
        if not isinstance(d, dict) or "version" not in d:
            raise SessionError(f"{path} is not an Interp Studio session (no 'version')")
        if int(d.get("version", 0)) > SESSION_VERSION:
            raise SessionError(f"{path} was saved by a newer Interp Studio (session version {d['version']})")
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        s = cls(**kw)
        for name, typ in (("model", str), ("dataset", str), ("mlm", str), ("method", str), ("text", str)):
            v = getattr(s, name)
            if v is not None and not isinstance(v, typ):
                raise SessionError(f"{path}: '{name}' must be a string, got {type(v).__name__}")
        if s.target is not None and not isinstance(s.target, int):
            raise SessionError(f"{path}: 'target' must be a class index or null")
        if not isinstance(s.compare_methods, list) or not all(isinstance(m, str) for m in s.compare_methods):
            raise SessionError(f"{path}: 'compare_methods' must be a list of method names")
        return s


def save_session(session: Session, path: str | Path) -> Path:
    """Write ``session`` to ``path`` as JSON (atomically: an interrupted save keeps the old file)."""
    from interp_engine.export import atomic_write

    return atomic_write(Path(path).expanduser(), json.dumps(session.to_json(), indent=2, ensure_ascii=False) + "\n")


def load_session(path: str | Path) -> Session:
    """Read a session file. Raises SessionError (missing file, bad JSON, wrong shape)."""
    p = Path(path).expanduser()
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SessionError(f"session file {p} does not exist") from None
    except (OSError, ValueError) as e:
        raise SessionError(f"cannot read session {p}: {e}") from None
    return Session.from_json(d, str(p))


def capture(window) -> Session:
    """The session of a :class:`~desktop_app.main_window.MainWindow` now."""
    from interp_engine.export import app_version

    c = window.controller
    h = window.heatmap
    st = h.marginalization_settings()
    ds = c.dataset
    row = window.dataset_panel.selected_row() if ds is not None else None
    text = c.current_text or window.sentence_edit.text()
    source = "typed"
    if row is not None and ds is not None and 0 <= row < len(ds.texts) and ds.texts[row] == text:
        source = "dataset"
    else:
        row = None
    mlm = c.mlm_info.get("path") if isinstance(c.mlm_info, dict) else None
    return Session(
        model=c.model_info.path if c.model_info is not None and c.model_info.path else None,
        dataset=str(ds.path) if ds is not None and getattr(ds, "path", None) else None,
        text_column=getattr(ds, "text_column", None) or window.text_column,
        label_column=getattr(ds, "label_column", None) or window.label_column,
        mlm=str(mlm) if mlm else None,
        likelihood=st.likelihood, sigma=float(st.sigma), top_n=st.top_n,
        method=h.method(), target=h.target(), compare=h.compare_enabled(), compare_methods=list(h.compare_methods()),
        text=text, source=source, dataset_row=row,
        layout=base64.b64encode(bytes(window.saveState(_state_version()).data())).decode("ascii"),
        geometry=base64.b64encode(bytes(window.saveGeometry().data())).decode("ascii"),
        app_version=app_version(),
    )


def apply(window, s: Session) -> list[str]:
    """Reopen session ``s`` in ``window``: model (+ MLM), dataset, settings, sentence, layout.

    Missing files are skipped with a message (returned, and shown in the status bar); the
    rest is restored.
    """
    problems: list[str] = []
    c = window.controller
    h = window.heatmap
    if s.layout:
        try:
            window.restoreState(QByteArray(base64.b64decode(s.layout)), _state_version())
        except (ValueError, TypeError):
            problems.append("the dock layout could not be read")
    if s.geometry:
        try:
            window.restoreGeometry(QByteArray(base64.b64decode(s.geometry)))
        except (ValueError, TypeError):
            pass
    c._quiet = True  # set the form without triggering one explanation per field
    try:
        if s.method:
            h.set_method(s.method)
        h.set_target(s.target)
        form = h.marginalization_form
        if s.likelihood and form.is_likelihood_available(s.likelihood):
            form.set_likelihood(s.likelihood)
        if s.sigma is not None:
            form.set_sigma(float(s.sigma))
        if s.top_n is not None:
            form.topn_spin.setValue(int(s.top_n))
            form.topn_check.setChecked(True)
        else:
            form.topn_check.setChecked(False)
        if s.compare or s.compare_methods:
            h.set_compare(bool(s.compare), s.compare_methods or None)
    finally:
        c._quiet = False
    model_ok = bool(s.model) and Path(s.model).expanduser().is_dir()
    mlm = s.mlm if s.mlm and Path(s.mlm).expanduser().is_dir() else None
    if s.mlm and mlm is None:
        problems.append(f"masked LM {s.mlm} not found")
    if s.model and not model_ok:
        problems.append(f"model {s.model} not found")
    if model_ok:
        if s.target is not None:
            def choose_target(_info, t=int(s.target)):  # the class list exists once the model is open
                h.target_combo.blockSignals(True)  # the sentence is explained right after, with it
                try:
                    h.set_target(t)
                finally:
                    h.target_combo.blockSignals(False)

            _once(c.sigModelLoaded, choose_target)
        c.open_model(s.model, mlm=mlm)
    if s.likelihood and s.likelihood != "uniform" and not h.marginalization_form.is_likelihood_available(s.likelihood):
        def choose_likelihood(*_a, key=s.likelihood):  # once the MLM / prior is there
            form = h.marginalization_form
            if form.is_likelihood_available(key):
                try:
                    c.client.sigFinished.disconnect(choose_likelihood)
                except (RuntimeError, TypeError):
                    pass
                if form.likelihood() != key:
                    form.set_likelihood(key)

        c.client.sigFinished.connect(choose_likelihood)
    if s.dataset:
        if Path(s.dataset).expanduser().is_file():
            if s.source == "dataset" and s.dataset_row is not None:
                row = int(s.dataset_row)

                def select_row(ds, row=row, text=s.text):
                    if 0 <= row < len(ds.texts) and ds.texts[row] == text:
                        window.dataset_panel.select_row(row)

                _once(c.sigDatasetLoaded, select_row)
            c.open_dataset(s.dataset, s.text_column, s.label_column)
        else:
            problems.append(f"dataset {s.dataset} not found")
    if s.text:
        c.set_text(s.text, force=True)
    if problems:
        window.statusBar().showMessage("Session: " + "; ".join(problems), 10000)
    return problems


def _state_version() -> int:
    from .main_window import STATE_VERSION

    return STATE_VERSION


def _once(signal, slot) -> None:
    """Connect ``slot`` to ``signal`` for one emission."""
    def run(*args):
        try:
            signal.disconnect(run)
        except (RuntimeError, TypeError):
            pass
        slot(*args)

    signal.connect(run)


def add_recent_session(path: str | Path) -> list[str]:
    return add_recent(RECENT_SESSIONS, str(path))


def recent_sessions() -> list[str]:
    return recent_paths(RECENT_SESSIONS)


def restore_on_start() -> bool:
    return str(app_settings().value(RESTORE_ON_START, "false")).lower() == "true"


def set_restore_on_start(on: bool) -> None:
    s = app_settings()
    s.setValue(RESTORE_ON_START, "true" if on else "false")
    s.sync()


def remember_last_session(session: Session) -> None:
    """Keep ``session`` in the settings store, to be restored on the next start."""
    st = app_settings()
    st.setValue(LAST_SESSION_KEY, json.dumps(session.to_json()))
    st.sync()


def last_session() -> Session | None:
    """The session kept by :func:`remember_last_session`, or None (none, or unreadable)."""
    raw = app_settings().value(LAST_SESSION_KEY, "")
    if not raw:
        return None
    try:
        return Session.from_json(json.loads(str(raw)), "the last session")
    except (ValueError, TypeError):
        return None
