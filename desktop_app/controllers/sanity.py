"""The sanity-check dock's controller: "Sanity check this heatmap" (Adebayo et al. 2018 §3.1,
model-parameter randomization) for the current sentence and the heatmap's method."""
from __future__ import annotations

from PySide6.QtCore import QObject

from interp_engine.config import SanityConfig
from interp_engine.requests import SanityCheckRequest

from ..engine_client import EngineClient, Job
from .base import DockController, method_configs

#: the panel's messages
NO_MODEL = "Open a model and explain a sentence first: the sanity check re-computes the heatmap."
NO_HEATMAP = "Explain a sentence first (choose one in the dataset, or type one and press Explain)."
STALE = "The sentence changed: press “Check this heatmap” (or “Sanity check” above the heatmap) to check it."


class SanityController(DockController):
    """Wires the heatmap's "Sanity check" button and the sanity dock to the engine client.

    A check is computed only when asked for (it explains the sentence once per randomization
    step): the heatmap's button or the dock's "Check this heatmap". It uses what the heatmap shows:
    the current input, the method of the shown map (in compare mode, the first row's), its target
    class and the method's settings. The job runs in the engine worker with progress and Cancel; a
    new sentence, a new model or a newer check drops it.

    Args:
        client: the engine client. main: the :class:`~.analysis.AnalysisController`.
        panel: the :class:`~desktop_app.panels.sanity.SanityCascadePanel`. dock: its dock (shown
            and raised when a check starts), or None.
        config: the seed and threshold (:class:`~interp_engine.config.SanityConfig`).
    """

    SLOT = SanityCheckRequest.kind

    def __init__(self, client: EngineClient, main, panel, dock=None, *, config: SanityConfig | None = None,
                 parent: QObject | None = None):
        super().__init__(client, parent)
        self.main = main
        self.panel = panel
        self.dock = dock
        self.config = config or SanityConfig()
        button = getattr(main.heatmap, "sanity_button", None)  # the heatmap's "Sanity check"
        if button is not None:
            button.clicked.connect(lambda _checked=False: self.request())
        panel.sigRunRequested.connect(self.request)
        main.sigCurrentTextChanged.connect(self._on_text_changed)
        main.sigModelLoaded.connect(self._on_model_loaded)

    def request(self) -> Job | None:
        """Check the heatmap shown now (drops an older check); returns the job, or None when there
        is nothing to check (the panel then says why)."""
        main = self.main
        self.drop(self.SLOT)
        self._show_dock()
        if main.model_info is None:
            self.panel.show_message(NO_MODEL)
            return None
        shown = main._shown()
        if not main.current_text or shown is None or shown.text != main.current_text:
            self.panel.show_message(NO_HEATMAP)
            return None
        method = shown.method
        req = SanityCheckRequest(input=main.current_input, method=method, target=int(shown.target),
                                 configs=method_configs(main.heatmap, [method]), sanity=self.config)
        job = self.submit(req, self._on_result, on_failed=self._on_failed, on_cancelled=self._on_cancelled,
                          on_progress=self._on_progress, slot=self.SLOT)
        self.panel.set_computing("computing…")
        return job

    def _show_dock(self) -> None:
        if self.dock is not None:
            self.dock.show()
            self.dock.raise_()

    def _on_text_changed(self, _text: str) -> None:
        if self.pending(self.SLOT) or self.panel.current_result() is not None:
            self.drop(self.SLOT)
            self.panel.show_message(STALE)

    def _on_model_loaded(self, _info) -> None:
        self.drop(self.SLOT)
        from ..panels.sanity import START_HINT

        self.panel.show_message(START_HINT)

    def _on_result(self, result) -> None:
        if getattr(result, "text", None) == self.main.current_text:
            self.panel.set_result(result)

    def _on_failed(self, message: str) -> None:
        self.panel.show_message(f"Could not run the sanity check:\n{message}")

    def _on_cancelled(self) -> None:
        self.panel.show_message("Cancelled. Press “Check this heatmap” to run it again.")

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            step = message.split(":", 1)[-1].strip() if ":" in message else ""
            self.panel.set_computing(f"{step + ' · ' if step else ''}{100 * done // total}%")
