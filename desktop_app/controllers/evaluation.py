"""The dataset-evaluation dock's controller: Analysis → Evaluate Dataset… opens the dialog
(:class:`~desktop_app.panels.evaluate_dialog.EvaluateDialog`), its
:class:`~interp_engine.requests.EvaluateRequest` runs in the engine worker with progress and Cancel
(:func:`interp_engine.evaluation.evaluate_request` on the open model, masked LM and dataset), and
the report is shown as an :class:`~interp_engine.results.EvaluationReport`."""
from __future__ import annotations

import tempfile

from PySide6.QtCore import QObject, Qt

from interp_engine.requests import EvaluateRequest
from interp_engine.results import EvaluationReport

from ..engine_client import EngineClient, Job
from .base import PanelDockController, method_configs

NO_MODEL = "Open a model and a dataset first (File → Open Model…, File → Open Dataset…, or File → Open Demo)."
NO_DATASET = "Open a dataset first (File → Open Dataset…): the evaluation runs over its sentences."
#: prefix of the folder an evaluation writes to when the dialog names none (its curves are read back)
OUT_PREFIX = "interp-studio-evaluate-"


def with_out_folder(request: EvaluateRequest) -> EvaluateRequest:
    """``request`` with a new temporary output folder when it names none: the per-sentence curves
    are written there and read back for the mean curves (:meth:`EvaluationReport.from_report`)."""
    import dataclasses

    return request if request.out else dataclasses.replace(request, out=tempfile.mkdtemp(prefix=OUT_PREFIX))


class EvaluationController(PanelDockController):
    """Wires the evaluate dialog and the :class:`~desktop_app.panels.evaluation_results.EvaluationResultsPanel`.

    Args:
        client: the engine client. main: the :class:`~.analysis.AnalysisController` (model,
            dataset, the heatmap's method settings). panel: the results panel. dock: its dock
            (shown and raised when an evaluation starts), or None. window: parent of the dialog.
    """

    SLOT = EvaluateRequest.kind

    def __init__(self, client: EngineClient, main, panel, dock=None, window=None, parent: QObject | None = None):
        super().__init__(client, main, panel, dock, window, parent)
        panel.sigEvaluateRequested.connect(self.open_dialog)
        panel.sigCancelRequested.connect(self.cancel)
        main.sigModelLoaded.connect(lambda _i: self._reset())
        main.sigDatasetLoaded.connect(lambda _d: self._reset())

    def _missing(self) -> str | None:
        if self.main.model_info is None:
            return NO_MODEL
        if self.main.dataset is None:
            return NO_DATASET
        return None

    def open_dialog(self):
        """Analysis → Evaluate Dataset…: the dialog (non-modal); OK runs it. Returns the dialog,
        or None when no model or dataset is open (the panel says so)."""
        from interp_engine.cli import EVALUATE_METRICS

        from ..panels.evaluate_dialog import EvaluateDialog

        self.show_dock()
        missing = self._missing()
        if missing:
            self.panel.show_message(missing)
            return None
        ds = self.main.dataset
        from interp_engine.attribution import registry

        dlg = EvaluateDialog(EVALUATE_METRICS, n_rows=len(getattr(ds, "texts", ()) or ()),
                             configs=method_configs(self.main.heatmap, registry.names()), parent=self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dlg.accepted.connect(lambda: self.run(with_out_folder(dlg.request())))
        self.dialog = dlg
        dlg.open()
        return dlg

    def run(self, request: EvaluateRequest) -> Job | None:
        """Run ``request`` (drops an older evaluation); returns the job, or None when no model or
        dataset is open."""
        self.drop(self.SLOT)
        self.show_dock()
        missing = self._missing()
        if missing:
            self.panel.show_message(missing)
            return None
        self.panel.set_computing(request.describe())
        return self.submit(request, lambda report: self._on_result(report, request), on_failed=self._on_failed,
                           on_cancelled=self._on_cancelled, on_progress=self._on_progress, slot=self.SLOT)

    def cancel(self) -> None:
        """Stop the running evaluation (its files stay resumable); the panel then says so."""
        job = self.job(self.SLOT)
        if job is not None:
            job.cancel()

    def is_ready(self) -> bool:
        return not self.pending(self.SLOT)

    def _reset(self) -> None:
        if self.pending(self.SLOT):
            self.drop(self.SLOT)
            from ..panels.evaluation_results import START_HINT

            self.panel.show_message("The model or dataset changed: the evaluation was stopped.\n" + START_HINT)

    def _on_result(self, report, request) -> None:
        try:
            result = EvaluationReport.from_report(report, request=request)
        except ValueError as e:
            self.panel.show_message(f"Could not show the evaluation:\n{e}")
            return
        self.panel.set_result(result)

    def _on_failed(self, message: str) -> None:
        self.panel.show_message(f"Could not evaluate the dataset:\n{message}")

    def _on_cancelled(self) -> None:
        self.panel.show_message("Cancelled. Evaluate again with the same output folder to resume.")

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.panel.set_computing(f"{message} · {done}/{total}")
