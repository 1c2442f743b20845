"""The Dataset results dock's controller: File → Open Attribution Store… (an
:class:`~interp_engine.requests.OpenStoreRequest` in the engine worker), File → Compute Attribution
Store… (an :class:`~interp_engine.requests.AttributeDatasetRequest`, progress and Cancel, then the
store opens), ρ(A, B) of the chosen methods, and a click on a row: that row's stored heatmaps in
the heatmap panel, labelled "from store", with no engine request (nothing is recomputed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal

from interp_engine.requests import AttributeDatasetRequest, OpenStoreRequest

from ..engine_client import EngineClient, Job
from .base import PanelDockController, method_configs

#: the heatmap's status while it shows a stored row
FROM_STORE = "from store"
#: the saliency grid's message while the heatmap shows a stored row (the store holds no grid)
GRID_FROM_STORE = "The heatmap shows a row of the attribution store; press Explain to compute its saliency grid."
DELETION_FROM_STORE = "The heatmap shows a row of the attribution store; press Explain to compute its deletion curves."
NO_MODEL = "Open a model and a dataset first: the store is computed with them (File → Open Model…, Open Dataset…)."


class DatasetResultsController(PanelDockController):
    """Owns the open :class:`~interp_engine.store.AttributionStore` and wires the
    :class:`~desktop_app.panels.dataset_results.DatasetResultsPanel` to it and to the heatmap.

    Args:
        client: the engine client. main: the :class:`~.analysis.AnalysisController` (the heatmap,
            grid, current input, model). panel: the panel. dock: its dock (shown and raised when a
            store opens), or None. window: the main window (error boxes, dialogs), or None.

    Signals:
        sigStoreOpened(object): a store is shown (the AttributionStore).
        sigRowShown(int): a stored row is in the heatmap.
        sigError(str): opening or computing a store failed (the message).
    """

    sigStoreOpened = Signal(object)
    sigRowShown = Signal(int)
    sigError = Signal(str)

    OPEN, COMPUTE = OpenStoreRequest.kind, AttributeDatasetRequest.kind

    def __init__(self, client: EngineClient, main, panel, dock=None, window=None, parent: QObject | None = None):
        super().__init__(client, main, panel, dock, window, parent)
        self.store = None
        self.shown_row: int | None = None
        self._scores: dict[str, list] = {}
        self._words: list[np.ndarray] = []
        self._show_first = False
        panel.sigRowActivated.connect(self.show_row)
        panel.sigRhoMethodsChanged.connect(self.update_rho)
        main.sigExplaining.connect(self._on_explaining)

    # -- opening ----------------------------------------------------------------------------
    def open_store(self, path: str, *, show_first: bool = False) -> Job:
        """Open the store folder ``path`` in the worker; ``show_first``: then show its first row
        in the heatmap. A folder that is not a store leaves everything as it was (a message says why)."""
        self.drop(self.OPEN)
        self._show_first = show_first
        self.panel.set_status("opening…")
        return self.submit(OpenStoreRequest(path=str(path)), self.set_store,
                           on_failed=lambda m: self._failed("Could not open the attribution store", m),
                           on_cancelled=lambda: self.panel.set_status("cancelled"), slot=self.OPEN)

    def set_store(self, store) -> None:
        """Show ``store`` (an :class:`~interp_engine.store.AttributionStore`) in the dock."""
        self.store = store
        self.shown_row = None
        t = store.to_table()
        col = lambda name: t.column(name).to_pylist()  # noqa: E731
        methods, metrics = tuple(store.methods), tuple(store.metrics)
        probs = col("probabilities")
        predicted = np.asarray(col("predicted"), dtype=np.int64)
        confidence = np.array([float(p[k]) if p is not None and 0 <= k < len(p) else np.nan
                               for p, k in zip(probs, predicted)])
        metric_columns = {f"{k}_{m}": np.array([np.nan if v is None else float(v) for v in col(f"{k}_{m}")])
                          for k in metrics for m in methods if f"{k}_{m}" in t.column_names}
        self._scores = {m: [np.asarray(s or [], dtype=float) for s in col(f"scores_{m}")] for m in methods}
        self._words = [~store.get(r).special() for r in store.rows()]
        texts_b = col("text_b")
        pair = any(b is not None for b in texts_b)
        data = store.manifest.get("data") or {}
        info = self.main.model_info
        note = ""
        model_hash = (store.manifest.get("model") or {}).get("hash")
        if info is not None and model_hash and len(getattr(info, "content_hash", "")) == 64 \
                and model_hash != info.content_hash:
            note = "made with another model than the open one"
        names = self._class_names(len(probs[0]) if probs and probs[0] is not None else 0)
        self.panel.set_rows(name=Path(store.path).name, methods=methods, metrics=metrics, rows=col("row"),
                            texts=col("text"), texts_b=[b or "" for b in texts_b] if pair else None,
                            gold=col("gold"), predicted=predicted, confidence=confidence,
                            metric_columns=metric_columns, class_names=names or (),
                            segment_names=(data.get("text") or "premise", data.get("pair") or "hypothesis"),
                            note=note)
        self.show_dock()
        self.sigStoreOpened.emit(store)
        if self._show_first and len(store):
            self._show_first = False
            rows = self.panel.shown_dataset_rows()
            if rows:
                self.panel.select_dataset_row(rows[0])

    def _class_names(self, n: int):
        info = self.main.model_info
        names = tuple(getattr(info, "class_names", ()) or ()) if info is not None else ()
        return names if names and len(names) == n else None

    def update_rho(self, a: str, b: str) -> np.ndarray:
        """ρ(a, b) of every stored row (Spearman over the word tokens) into the table; returns it."""
        from ..panels.dataset_results import spearman_rows

        if a not in self._scores or b not in self._scores:
            return np.zeros(0)
        rho = spearman_rows(self._scores[a], self._scores[b], self._words)
        self.panel.set_rho(rho)
        return rho

    # -- a row ------------------------------------------------------------------------------
    def attributions(self, row: int) -> tuple:
        """The stored heatmaps of dataset row ``row``, one TokenAttribution per method (with the
        parameters it was computed with), read from the store: nothing is recomputed."""
        r = self.store.get(int(row))
        names = self._class_names(len(r.probabilities))
        return tuple(r.to_attribution(m, names, params=self.store.config_of(m)) for m in self.store.methods)

    def show_row(self, row: int) -> None:
        """Show dataset row ``row``'s stored heatmaps in the heatmap panel ("from store"): all
        methods as rows on one scale (one method: the single heatmap). The row becomes the current
        input without an explanation: no engine request is made."""
        if self.store is None:
            return
        from interp_engine.errors import InterpError

        try:
            results = self.attributions(row)
        except InterpError as e:
            self.panel.set_status(str(e))
            return
        main = self.main
        main.drop("attribution", "compare", "compare_models", "hidden")
        inp = self.store.get(int(row)).input
        main.state.set_input(inp)
        main.sigCurrentTextChanged.emit(main.current_text)
        main.sigCurrentInputChanged.emit(inp)
        main.saliency = None
        main.model_comparison = None
        if len(results) == 1:
            main.attribution, main.comparison = results[0], None
            main.heatmap.set_result(results[0])
        else:
            main.attribution, main.comparison = None, tuple(results)
            main.heatmap.set_comparison(results)
        main.heatmap.status_label.setText(FROM_STORE)
        main.heatmap.status_label.setToolTip(f"Row {int(row)} of the attribution store {self.store.path}: the "
                                             "stored scores, not recomputed; press Explain to compute them anew")
        main.grid.show_message(GRID_FROM_STORE)
        deletion = getattr(self.window, "deletion_panel", None)
        if deletion is not None:  # its curves re-attribute the sentence: only when asked for
            deletion.show_message(DELETION_FROM_STORE)
        self.shown_row = int(row)
        main.sigStatus.emit(f"Row {int(row)} from the attribution store {Path(self.store.path).name}")
        self.sigRowShown.emit(int(row))
        main.sigStateChanged.emit()

    def _on_explaining(self) -> None:
        self.shown_row = None  # the heatmap is being computed anew: no longer "from store"
        main = self.main
        main.heatmap.status_label.setToolTip("")

    def is_ready(self) -> bool:
        """True when no store job is pending (``--screenshot`` waits for it)."""
        return not self.pending(self.OPEN) and not self.pending(self.COMPUTE) and not self._show_first

    # -- computing --------------------------------------------------------------------------
    def open_compute_dialog(self):
        """File → Compute Attribution Store…: the dialog (non-modal) with the heatmap's methods
        checked; Compute runs it. Returns the dialog, or None without a model and dataset."""
        from interp_engine.attribution import registry
        from interp_engine.store import STORE_METRICS

        from ..panels.store_dialog import ComputeStoreDialog

        main = self.main
        if main.model_info is None or main.dataset is None:
            self._failed("Cannot compute an attribution store", NO_MODEL)
            return None
        h = main.heatmap
        methods = tuple(h.compare_methods()) if h.compare_enabled() else ((h.method(),) if h.method() else ())
        ds = main.dataset
        start = str(Path(getattr(ds, "path", "") or ".").expanduser().parent / f"{Path(ds.path).stem}_store") \
            if getattr(ds, "path", None) else ""
        dlg = ComputeStoreDialog(STORE_METRICS, methods=methods, n_rows=len(getattr(ds, "texts", ()) or ()),
                                 configs=method_configs(h, registry.names()), out=start, parent=self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dlg.accepted.connect(lambda: self.compute(dlg.request()))
        self.dialog = dlg
        dlg.open()
        return dlg

    def compute(self, request: AttributeDatasetRequest) -> Job:
        """Run ``request`` in the worker (progress in the status bar and the dock; Cancel / Esc
        stops it and a rerun resumes); the store opens when it is done."""
        self.drop(self.COMPUTE)
        self.show_dock()
        self.panel.set_status("computing the store…")

        def progress(done: int, total: int, _message: str) -> None:
            if total > 0:
                self.panel.set_status(f"computing the store: {done}/{total} rows")

        return self.submit(request, lambda summary: self.open_store(summary.get("out", request.out), show_first=False),
                           on_failed=lambda m: self._failed("Could not compute the attribution store", m),
                           on_cancelled=lambda: self.panel.set_status("store computation cancelled (rerun to resume)"),
                           on_progress=progress, slot=self.COMPUTE)

    # -- helpers ----------------------------------------------------------------------------
    def _failed(self, title: str, message: str) -> None:
        """A message box (interactive) and the status bar; the dock and the heatmap keep what
        they show."""
        self._show_first = False
        self.panel.set_status("")
        w = self.window
        if w is not None and getattr(w, "interactive", False):
            w.show_error(title, message)
        self.main.sigStatus.emit(f"{title}: {message}")
        self.sigError.emit(message)
