"""The deletion-curve dock (Kim et al. §3.5, AUC_rep)."""
from __future__ import annotations

from PySide6.QtCore import QObject

from interp_engine.requests import DeletionCurvesRequest

from ..engine_client import EngineClient, Job
from .base import DockController, method_configs


class DeletionCurveController(DockController):
    """Wires the deletion-curve dock to the engine client.

    The curves follow the heatmap: its method (or every method of its comparison), its target and
    its marginalization settings. They are requested when the heatmap shows a new result (new
    sentence, method or settings) and when the dock's strategy or x-range changes; while the dock
    is hidden nothing is computed, and the curves catch up when it is shown again.
    """

    def __init__(self, client: EngineClient, main, panel, dock=None, parent: QObject | None = None):
        super().__init__(client, parent)
        self.main = main
        self.panel = panel
        self.dock = dock
        self._stale = False
        main.sigSentenceReady.connect(lambda _t: self.request())
        main.sigCurrentTextChanged.connect(self._on_text_changed)
        main.sigModelLoaded.connect(self._on_model_loaded)
        main.sigMLMLoaded.connect(self._on_mlm_loaded)
        panel.sigSettingsChanged.connect(lambda _s, _x: self.request())
        if dock is not None:
            dock.visibilityChanged.connect(self._on_visibility)

    @property
    def seed(self) -> int:
        return self.main.state.deletion.seed

    @seed.setter
    def seed(self, value: int) -> None:
        self.main.state.deletion = self.main.state.deletion.replace(seed=int(value))

    def methods(self) -> tuple[str, ...]:
        """The heatmap's methods: its comparison's, or its single method."""
        h = self.main.heatmap
        if h.compare_enabled():
            return tuple(h.compare_methods())
        m = h.method()
        return (m,) if m else ()

    def _visible(self) -> bool:
        return self.dock is None or not self.dock.isHidden()

    def sync_state(self):
        """Read the dock's strategy and x-range into the analysis state; returns its DeletionConfig."""
        st = self.main.state
        st.deletion = st.deletion.replace(strategy=self.panel.strategy(), x_max=float(self.panel.x_max()))
        return st.deletion

    def request(self) -> Job | None:
        """Ask for the deletion curves of the current sentence (drops an older request)."""
        main = self.main
        deletion = self.sync_state()
        self.drop("deletion_curves")
        if main.model_info is None or not main.current_text:
            return None
        methods = self.methods()
        if not methods:
            self.panel.show_message("Choose the methods to compare in the heatmap (Methods ▾).")
            return None
        if not self._visible():
            self._stale = True
            return None
        self._stale = False
        shown = main._shown()
        target = shown.target if shown is not None and shown.text == main.current_text else main.heatmap.target()
        configs = method_configs(main.heatmap, methods)
        job = self.submit(DeletionCurvesRequest(input=main.current_input, methods=methods, target=target,
                                                deletion=deletion, configs=configs),
                          self._on_result, on_failed=self._on_failed, on_cancelled=self._on_cancelled,
                          on_progress=self._on_progress)
        self.panel.set_computing("computing…")
        return job

    def _on_visibility(self, visible: bool) -> None:
        if visible and self._stale:
            self.request()

    def _on_text_changed(self, _text: str) -> None:
        self.drop("deletion_curves")
        self.panel.set_computing("waiting for the attribution…")

    def _on_model_loaded(self, _info) -> None:
        self.panel.set_mlm_available(False)
        self.panel.show_message("Select a sentence to see its deletion curves.")

    def _on_mlm_loaded(self, _info) -> None:
        was = self.panel.strategy()
        self.panel.set_mlm_available(True)
        if self.panel.strategy() != was and self.main.current_text and self.main._shown() is not None:
            self.request()

    def _on_result(self, result) -> None:
        if getattr(result, "text", None) == self.main.current_text:
            self.panel.set_result(result)  # no status-bar message: it would hide the sentence's notes

    def _on_failed(self, message: str) -> None:
        self.panel.show_message(f"Could not compute the deletion curves:\n{message}")

    def _on_cancelled(self) -> None:
        self.panel.show_message("Cancelled. Change the sentence or a setting to compute again.")

    def _on_progress(self, done: int, total: int, _message: str) -> None:
        if total > 0:
            self.panel.set_computing(f"computing… {100 * done // total}%")
