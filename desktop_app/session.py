"""Sessions: everything needed to come back to an analysis, in one JSON file.

A session records the model folder, the dataset (file and columns, a pair's second column), the
masked LM, the comparison model (File → Compare With Model…), the analysis
(:class:`~desktop_app.state.AnalysisState`, saved with
:func:`dataclasses.asdict`: the current sentence or sentence pair (``texts``/``segments``), the heatmap method and target, the marginalization settings (σ / top-n), the
side-by-side methods, the deletion-curve and neighbour-scatter settings), where the sentence came
from (typed, or the selected dataset row) and the dock layout (``QMainWindow.saveState``, base64,
version :data:`STATE_VERSION`). Files of version 1 (flat keys) are still read. File → Save
Session… / Open Session… / Recent Sessions; with "Restore last session on start" the window saves
the session on close and reopens it on the next start (kept in the settings store,
:data:`LAST_SESSION_KEY`).
"""
from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray

from interp_engine.config import DatasetConfig

from .settings import add_recent, app_settings, recent_paths
from .state import GUI_LIKELIHOOD, AnalysisState

#: version of the session file: 1 kept the analysis settings as flat keys (still read); 2 keeps
#: them as ``state``, the :class:`~desktop_app.state.AnalysisState` (``dataclasses.asdict``)
SESSION_VERSION = 2
#: version of ``QMainWindow.saveState`` of the dock layout: bump when docks are added or renamed
#: (see :data:`desktop_app.docks.DOCKS`) so that an old saved layout is ignored
STATE_VERSION = 4
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
        model, mlm: folders; compare_model: the comparison model's folder (or None); dataset: file; text_column, label_column: its columns; pair_column:
            a pair dataset's second column ("" = auto-detected).
        state: the analysis (current sentence, method, target, marginalization settings, compare
            mode and methods, the deletion-curve and neighbour-scatter settings).
        source: ``"dataset"`` (a selected row) or ``"typed"``; dataset_row: the selected row when
            ``source == "dataset"``.
        layout: base64 of ``QMainWindow.saveState()``; geometry: base64 of ``saveGeometry()``.
    """

    version: int = SESSION_VERSION
    model: str | None = None
    dataset: str | None = None
    text_column: str = DatasetConfig.text_column
    label_column: str = DatasetConfig.label_column
    pair_column: str = DatasetConfig.pair_column
    mlm: str | None = None
    #: the comparison model's folder (File → Compare With Model…), or None
    compare_model: str | None = None
    state: AnalysisState = field(default_factory=AnalysisState)
    source: str = "typed"
    dataset_row: int | None = None
    layout: str = ""
    geometry: str = ""
    app_version: str = ""

    def to_json(self) -> dict:
        d = asdict(self)
        d["state"] = self.state.to_dict()
        return d

    @classmethod
    def from_json(cls, d: Any, path: str = "session") -> "Session":
        """Build from a parsed JSON object (version 1 or 2). Raises SessionError for a wrong
        shape or type."""
        if not isinstance(d, dict) or "version" not in d:
            raise SessionError(f"{path} is not an Interp Studio session (no 'version')")
        if int(d.get("version", 0)) > SESSION_VERSION:
            raise SessionError(f"{path} was saved by a newer Interp Studio (session version {d['version']})")
        names = {f.name for f in fields(cls)} - {"state"}
        kw = {k: v for k, v in d.items() if k in names}
        raw = _v1_state(d) if int(d["version"]) < 2 else d.get("state")
        if raw is not None and not isinstance(raw, dict):
            raise SessionError(f"{path}: 'state' must be an object")
        raw = dict(raw or {})
        for name in ("method", "text"):
            if raw.get(name) is not None and not isinstance(raw[name], str):
                raise SessionError(f"{path}: '{name}' must be a string, got {type(raw[name]).__name__}")
        if raw.get("target") is not None and not isinstance(raw["target"], int):
            raise SessionError(f"{path}: 'target' must be a class index or null")
        cm = raw.get("compare_methods", [])
        if not isinstance(cm, (list, tuple)) or not all(isinstance(m, str) for m in cm):
            raise SessionError(f"{path}: 'compare_methods' must be a list of method names")
        for name in ("texts", "segments"):  # a sentence pair
            v = raw.get(name) or []
            if not isinstance(v, (list, tuple)) or len(v) not in (0, 2) or not all(isinstance(t, str) for t in v):
                raise SessionError(f"{path}: '{name}' must be a list of two strings (a sentence pair) or empty")
        raw = {k: v for k, v in raw.items() if v is not None or k == "target"}
        try:
            state = AnalysisState.from_dict(raw)
        except (TypeError, ValueError) as e:
            raise SessionError(f"{path}: the analysis settings cannot be read: {e}") from None
        s = cls(**kw, state=state)
        for name in ("model", "dataset", "mlm", "compare_model"):
            v = getattr(s, name)
            if v is not None and not isinstance(v, str):
                raise SessionError(f"{path}: '{name}' must be a string, got {type(v).__name__}")
        return s


def _v1_state(d: dict) -> dict:
    """The analysis settings of a version-1 file (flat keys) in :class:`AnalysisState`'s shape."""
    out = {k: d[k] for k in ("method", "target", "compare", "compare_methods", "text") if k in d}
    marg = {k: d[k] for k in ("likelihood", "sigma", "top_n") if d.get(k) is not None}
    if marg:
        out["marginalization"] = marg
    return out


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
    for dock in (getattr(window, "deletion_controller", None), getattr(window, "neighbour_controller", None)):
        if dock is not None:
            dock.sync_state()
    state = replace(c.sync_state())
    ds = c.dataset
    row = window.dataset_panel.selected_row() if ds is not None else None
    if not c.current_text:
        typed = window.input_row.input() if hasattr(window, "input_row") else None
        state.set_input(typed if typed is not None else window.sentence_edit.text())
    source = "typed"
    if row is not None and ds is not None and 0 <= row < len(ds.texts) and _row_text(ds, row) == state.text:
        source = "dataset"
    else:
        row = None
    mlm = c.mlm_info.get("path") if isinstance(c.mlm_info, dict) else None
    return Session(
        model=c.model_info.path if c.model_info is not None and c.model_info.path else None,
        dataset=str(ds.path) if ds is not None and getattr(ds, "path", None) else None,
        text_column=getattr(ds, "text_column", None) or window.text_column,
        label_column=getattr(ds, "label_column", None) or window.label_column,
        pair_column=(getattr(ds, "pair_column", None) or "") if ds is not None else getattr(window, "pair_column", ""),
        mlm=str(mlm) if mlm else None, state=state, source=source, dataset_row=row,
        compare_model=_compare_model_path(window),
        layout=base64.b64encode(bytes(window.saveState(STATE_VERSION).data())).decode("ascii"),
        geometry=base64.b64encode(bytes(window.saveGeometry().data())).decode("ascii"),
        app_version=app_version(),
    )


def _compare_model_path(window) -> str | None:
    """The open comparison model's folder (None: none open)."""
    cc = getattr(window, "compare_controller", None)
    info = getattr(cc, "info", None)
    return str(info.path) if info is not None and info.path else None


def _row_text(ds, row: int) -> str:
    """Row ``row`` of a dataset as one string (a pair: ``premise ‖ hypothesis``, as ``AnalysisState.text``)."""
    return str(ds.input(row)) if hasattr(ds, "input") else ds.texts[row]


def _apply_docks(window, st: AnalysisState) -> None:
    """The deletion-curve and neighbour-scatter settings of ``st`` into their docks."""
    c = window.controller
    c.state.deletion, c.state.neighbours, c.state.optimization = st.deletion, st.neighbours, st.optimization
    panel = getattr(window, "deletion_panel", None)
    if panel is not None:
        panel.set_x_max(st.deletion.x_max)
        panel.set_strategy(st.deletion.strategy)
    panel = getattr(window, "neighbour_panel", None)
    if panel is not None:
        nb, opt = st.neighbours, st.optimization
        panel.set_parameters(lambda1=opt.lambda1, lambda2=opt.lambda2, steps=opt.steps, k=nb.k,
                             perplexity=nb.perplexity, projection=nb.projection, top=nb.top)


def apply(window, s: Session, *, docks: bool = True) -> list[str]:
    """Reopen session ``s`` in ``window``: model (+ MLM), dataset, settings, sentence, layout.

    Missing files are skipped with a message (returned, and shown in the status bar); the
    rest is restored. ``docks``: also restore the deletion-curve and neighbour-scatter settings.
    """
    problems: list[str] = []
    c = window.controller
    h = window.heatmap
    st = s.state
    m = st.marginalization
    if s.layout:
        try:
            window.restoreState(QByteArray(base64.b64decode(s.layout)), STATE_VERSION)
        except (ValueError, TypeError):
            problems.append("the dock layout could not be read")
    if s.geometry:
        try:
            window.restoreGeometry(QByteArray(base64.b64decode(s.geometry)))
        except (ValueError, TypeError):
            pass
    with c.quiet():  # set the form without triggering one explanation per field
        if st.method:
            h.set_method(st.method)
        h.set_target(st.target)
        form = h.marginalization_form
        if m.likelihood and form.is_likelihood_available(m.likelihood):
            form.set_likelihood(m.likelihood)
        form.set_sigma(float(m.sigma))
        if m.top_n is not None:
            form.topn_spin.setValue(int(m.top_n))
            form.topn_check.setChecked(True)
        else:
            form.topn_check.setChecked(False)
        if st.compare or st.compare_methods:
            h.set_compare(bool(st.compare), list(st.compare_methods) or None)
        if docks and s.version >= 2:  # a version-1 file has no dock settings
            _apply_docks(window, st)
    model_ok = bool(s.model) and Path(s.model).expanduser().is_dir()
    mlm = s.mlm if s.mlm and Path(s.mlm).expanduser().is_dir() else None
    if s.mlm and mlm is None:
        problems.append(f"masked LM {s.mlm} not found")
    if s.model and not model_ok:
        problems.append(f"model {s.model} not found")
    if model_ok:
        if st.target is not None:
            def choose_target(_info, t=int(st.target)):  # the class list exists once the model is open
                h.target_combo.blockSignals(True)  # the sentence is explained right after, with it
                try:
                    h.set_target(t)
                finally:
                    h.target_combo.blockSignals(False)

            _once(c.sigModelLoaded, choose_target)
        c.open_model(s.model, mlm=mlm)
        cc = getattr(window, "compare_controller", None)
        if s.compare_model and cc is not None:  # opened after the model, in the same engine thread
            if Path(s.compare_model).expanduser().is_dir():
                cc.open_compare_model(s.compare_model)
            else:
                problems.append(f"comparison model {s.compare_model} not found")
    if m.likelihood and m.likelihood != GUI_LIKELIHOOD and not h.marginalization_form.is_likelihood_available(m.likelihood):
        def choose_likelihood(*_a, key=m.likelihood):  # once the MLM / prior is there
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

                def select_row(ds, row=row, text=st.text):
                    if 0 <= row < len(ds.texts) and _row_text(ds, row) == text:
                        window.dataset_panel.select_row(row)

                _once(c.sigDatasetLoaded, select_row)
            c.open_dataset(s.dataset, s.text_column, s.label_column, pair_column=s.pair_column or "")
        else:
            problems.append(f"dataset {s.dataset} not found")
    if st.input is not None:
        c.set_text(st.input, force=True)
    if problems:
        window.statusBar().showMessage("Session: " + "; ".join(problems), 10000)
    return problems


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
