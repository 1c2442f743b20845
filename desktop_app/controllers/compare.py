"""The comparison model (Kim et al. 2020 Fig. 4a, "LSTM vs BERT" on the same sentence): open and
close a second classifier beside the open one, its predictions on the dataset (a column of the
dataset list and the "models disagree" filter) and what the window needs to know of it.

The sentence itself is explained by the analysis controller: while the heatmap's "Compare models"
mode is on (:meth:`~desktop_app.panels.heatmap.SentenceHeatmapPanel.models_enabled`) it asks for a
:class:`~interp_engine.requests.CompareModelsRequest` instead of a single attribution. This
controller never calls the engine; it submits requests as jobs (:class:`~.base.DockController`).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from interp_engine.requests import CloseCompareModelRequest, ComparePredictDatasetRequest, LoadCompareModelRequest

from ..engine_client import EngineClient, Job
from .base import DockController

#: what a failed comparison-model job shows in the status bar (the window also shows a box)
_FAILED = {"compare_model": "Could not open the comparison model (the open model stays): {}",
           "compare_predictions": "Could not predict the dataset with the comparison model: {}"}


class ModelCompareController(DockController):
    """Opens and closes the comparison model (model B) and keeps its dataset predictions.

    Args:
        client: the engine client. analysis: the window's
            :class:`~desktop_app.controllers.analysis.AnalysisController` (its ``sigError`` and
            ``sigStatus`` report this controller's failures too; its ``model_compare`` is set to
            this controller so that its readiness includes the comparison).
        heatmap: the sentence heatmap panel (its "Compare models" mode).
        dataset_panel: the dataset list (B's column, "models disagree").

    Signals:
        sigCompareModelChanged(object): B's :class:`~interp_engine.results.ModelInfo` once it is
            open, None once it is closed.
    """

    sigCompareModelChanged = Signal(object)

    def __init__(self, client: EngineClient, analysis, heatmap, dataset_panel, parent: QObject | None = None):
        super().__init__(client, parent)
        self.analysis = analysis
        self.heatmap = heatmap
        self.dataset_panel = dataset_panel
        #: B's ModelInfo, or None
        self.info = None
        #: B's DatasetPredictions of the open dataset, or None
        self.predictions = None
        analysis.model_compare = self
        analysis.sigDatasetLoaded.connect(lambda _ds: self._request_predictions())

    # -- actions ----------------------------------------------------------------------------
    def open_compare_model(self, path: str | Path, *, allow_pickle: bool = False) -> Job:
        """Open ``path`` as model B (in the engine thread). On success the heatmap offers (and
        switches on) "Compare models" and the dataset list gets B's column; on failure the open
        model stays and the message goes to the analysis controller's ``sigError`` (kind
        ``"compare_model"``)."""
        self.analysis.sigStatus.emit(f"Opening the comparison model {Path(str(path)).name}…")
        return self.submit(LoadCompareModelRequest(path=str(path), allow_pickle=bool(allow_pickle)), self._opened,
                           on_failed=lambda m: self._failed("compare_model", m),
                           on_cancelled=lambda: self.analysis.sigStatus.emit("Cancelled (comparison model)"))

    def close_compare_model(self) -> Job | None:
        """Close model B: the heatmap goes back to one model, B's column leaves the dataset list."""
        self.drop("compare_model", "compare_predictions")
        was = self.info
        self.info = None
        self.predictions = None
        self.dataset_panel.clear_compare_predictions()
        job = self.submit(CloseCompareModelRequest(), lambda _r: None)
        self.heatmap.set_compare_model(None)  # back to one row (explained again, after the close)
        self.sigCompareModelChanged.emit(None)
        if was is not None:
            self.analysis.sigStatus.emit(f"Closed the comparison model {Path(was.path).name}")
        self.analysis.sigStateChanged.emit()
        return job

    @property
    def name(self) -> str | None:
        """B's folder name (None when none is open)."""
        return (Path(self.info.path).name or self.info.kind) if self.info is not None else None

    def is_ready(self) -> bool:
        """Whether everything of the comparison is shown: nothing of B pending, B's dataset
        predictions in (when a dataset is open) and, in "Compare models" mode, the rows of the
        current sentence."""
        if self.pending("compare_model") or self.pending("compare_predictions"):
            return False
        if self.info is None:
            return True
        if self.analysis.dataset is not None and self.predictions is None:
            return False
        if self.heatmap.models_enabled():
            shown = self.heatmap.model_comparison
            return shown is not None and shown.text == self.analysis.current_text
        return True

    # -- results ----------------------------------------------------------------------------
    def _opened(self, info) -> None:
        self.info = info
        self.predictions = None
        a = self.analysis.model_info
        classes = "" if a is None or tuple(a.class_names) == tuple(info.class_names) else (
            f"; its classes differ: {', '.join(info.class_names)}")
        self.analysis.sigStatus.emit(f"Comparing with {info.kind} model {self.name} ({len(info.class_names)} "
                                     f"classes{classes})")
        self.sigCompareModelChanged.emit(info)
        self.dataset_panel.clear_compare_predictions()
        self._request_predictions()
        self.heatmap.set_compare_model(self.name)  # "Compare models" on: the sentence is explained again
        self.analysis.sigStateChanged.emit()

    def _request_predictions(self) -> None:
        ds = self.analysis.dataset
        if self.info is None or ds is None:
            return
        self.predictions = None
        n = len(ds)
        self.submit(ComparePredictDatasetRequest(n_texts=n), lambda p, n=n: self._predicted(p, n),
                    on_failed=lambda m: self._failed("compare_predictions", m))

    def _predicted(self, preds, n: int) -> None:
        ds = self.analysis.dataset
        if self.info is None or ds is None or len(ds) != n or len(preds.predicted) != n:
            return  # made for another dataset, or B was closed
        self.predictions = preds
        self.dataset_panel.set_compare_predictions(preds.predicted, preds.confidence, self.info.class_names,
                                                   self.name or "")
        self.analysis.sigStatus.emit(f"Model B ({self.name}) predicted {n} rows; the models disagree on "
                                     f"{self.dataset_panel.model.disagreement_count()}")
        self.analysis.sigStateChanged.emit()

    def _failed(self, kind: str, message: str) -> None:
        self.analysis.sigStatus.emit(_FAILED[kind].format(message))
        self.analysis.sigError.emit(kind, message)
        self.analysis.sigStateChanged.emit()


__all__ = ["ModelCompareController"]
