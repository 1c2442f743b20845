"""The activation-maximization dock's controller (Lopes ``002_…`` §3.1-3.2): Run → an
:class:`~interp_engine.requests.ActivationMaximizationRequest` in the engine worker, with progress
and Cancel; a new model drops it and offers the new model's classes and layers."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from interp_engine.config import ActivationMaximizationConfig
from interp_engine.requests import ActivationMaximizationRequest

from ..engine_client import EngineClient, Job
from .base import PanelDockController


class ActivationMaximizationController(PanelDockController):
    """Wires the :class:`~desktop_app.panels.activation_maximization.ActivationMaximizationPanel`
    to the engine client.

    Args:
        client: the engine client. main: the :class:`~.analysis.AnalysisController` (its
            ``sigModelLoaded`` and ``model_info``). panel: the panel. dock: its dock (shown and
            raised when a run starts), or None. window: the main window (the dock's first width), or None.

    Signals:
        sigError(str): a run failed (the engine's message, also shown in the panel).
    """

    sigError = Signal(str)
    SLOT = ActivationMaximizationRequest.kind

    def __init__(self, client: EngineClient, main, panel, dock=None, window=None, parent: QObject | None = None):
        super().__init__(client, main, panel, dock, window, parent)
        panel.sigRunRequested.connect(self.request)
        main.sigModelLoaded.connect(self._on_model_loaded)
        if getattr(main, "model_info", None) is not None:
            panel.set_model(main.model_info)

    def request(self, unit: tuple, config: ActivationMaximizationConfig | None = None) -> Job | None:
        """Maximize ``unit`` (drops an older run); returns the job, or None without a model."""
        self.drop(self.SLOT)
        self.show_dock()
        if self.main.model_info is None:
            from ..panels.activation_maximization import NO_MODEL

            self.panel.show_message(NO_MODEL)
            return None
        req = ActivationMaximizationRequest(unit=tuple(unit), config=config or ActivationMaximizationConfig())
        self.panel.set_computing("computing…")
        return self.submit(req, self._on_result, on_failed=self._on_failed, on_cancelled=self._on_cancelled,
                           on_progress=self._on_progress, slot=self.SLOT)

    def run_unit(self, unit: tuple) -> Job | None:
        """Put ``unit`` in the form and run it with the form's settings (``--maximize``)."""
        self.panel.set_unit(unit)
        return self.request(self.panel.unit(), self.panel.config())

    def is_ready(self) -> bool:
        """True when no run is pending (``--screenshot`` waits for it)."""
        return not self.pending(self.SLOT)

    def _on_model_loaded(self, info) -> None:
        self.drop(self.SLOT)
        self.panel.set_model(info)

    def _on_result(self, result) -> None:
        self.panel.set_result(result)

    def _on_failed(self, message: str) -> None:
        self.panel.show_message(f"Could not maximize this unit:\n{message}")
        self.sigError.emit(message)

    def _on_cancelled(self) -> None:
        self.panel.show_message("Cancelled. Press Run to start again.")

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.panel.set_computing(f"{message} {100 * done // total}%".strip())
