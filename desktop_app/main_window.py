"""The Interp Studio main window: the sentence row and the heatmap in the centre, the docks of
:data:`desktop_app.docks.DOCKS` around it, menus (:mod:`desktop_app.window_menus`), status bar,
layout persistence."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Slot
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from interp_engine.attribution import registry
from interp_engine.config import DEVICES, DatasetConfig

from .controllers.analysis import AnalysisController
from .docks import build_controllers, build_docks, first_start_sizes
from .engine_client import EngineClient
from .input_row import InputRow
from .panels.model_comparison import ModelComparisonHeatmapPanel
from .session import STATE_VERSION
from .settings import RECENT_DATASETS, RECENT_MODELS, add_recent, app_settings
from .window_menus import DATASET_FILTER, MenusMixin, cuda_available

__all__ = ["DATASET_FILTER", "DEFAULT_SIZE", "MainWindow", "STATE_VERSION", "attribution_methods", "cuda_available"]

DEFAULT_SIZE = (1400, 900)


def attribution_methods() -> dict[str, str]:
    """The registered attribution methods ``{key: units}``, read from the registry now."""
    return registry.units_by_method()


class MainWindow(MenusMixin, QMainWindow):
    """Main window: dataset list (left dock), sentence heatmap (centre), saliency grid and neighbour
    scatter (bottom docks), candidate table / training-set search and deletion curves (right docks).

    Args:
        client: the engine client to use (default: a new one with a real engine).
        device: engine device asked for at start (``auto``, ``cpu``, ``cuda``).
        persist_layout: restore the saved dock layout now and save it on close.
        interactive: show load errors in message boxes (False for ``--screenshot``).
        text_column, label_column: column names used by File → Open Dataset….
        pair_column: the column of a pair dataset's second text ("" = auto-detect
            premise/hypothesis, sentence1/sentence2).
    """

    def __init__(self, client: EngineClient | None = None, *, device: str = DEVICES[0], persist_layout: bool = True,
                 interactive: bool = True, text_column: str = DatasetConfig.text_column,
                 label_column: str = DatasetConfig.label_column, pair_column: str = DatasetConfig.pair_column):
        super().__init__()
        self.setObjectName("InterpStudioMainWindow")
        self.setWindowTitle("Interp Studio")
        self.resize(*DEFAULT_SIZE)
        self.persist_layout = persist_layout
        self.interactive = interactive
        self.text_column = text_column
        self.label_column = label_column
        self.pair_column = pair_column
        self._closed = False
        self._boxes: list[QMessageBox] = []
        self._started_message = self._progress_message = None

        self.client = client if client is not None else EngineClient(device=DEVICES[0])
        self.client.setParent(self)

        #: the sentence heatmap, with the "Compare models" mode of a second model (panels/model_comparison.py)
        self.heatmap = ModelComparisonHeatmapPanel(attribution_methods())
        self.heatmap.setObjectName("heatmapPanel")
        #: one box, or two labelled boxes when the model reads sentence pairs (premise, hypothesis)
        self.input_row = InputRow()
        self.input_row.setObjectName("inputRow")
        self.sentence_edit = self.input_row.first_edit
        self.hypothesis_edit = self.input_row.second_edit
        self.explain_button = QPushButton("Explain")
        self.explain_button.setObjectName("explainButton")
        row = QHBoxLayout()
        row.setContentsMargins(6, 6, 6, 0)
        row.addWidget(self.input_row, 1)
        row.addWidget(self.explain_button)
        central = QWidget()
        central.setObjectName("centralWidget")
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addLayout(row)
        cl.addWidget(self.heatmap, 1)
        self.setCentralWidget(central)
        # Tab: premise → hypothesis → (Pair toggle) → Explain
        QWidget.setTabOrder(self.input_row.pair_button, self.explain_button)

        #: ``{objectName: dock}`` of every dock (:data:`desktop_app.docks.DOCKS`)
        self.docks = build_docks(self)
        self.controller = AnalysisController(self.client, self.heatmap, self.grid, self.dataset_panel, self)
        build_controllers(self)
        from .controllers.compare import ModelCompareController

        #: the comparison model (File → Compare With Model…): one heatmap row per model, a dataset column
        self.compare_controller = ModelCompareController(self.client, self.controller, self.heatmap,
                                                         self.dataset_panel, self)

        self._build_status_bar()
        self._build_menus()

        self.input_row.sigSubmitted.connect(self._explain_typed)
        self.explain_button.clicked.connect(self._explain_typed)
        self.controller.sigCurrentInputChanged.connect(self._on_current_input)
        self.controller.sigStatus.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.controller.sigError.connect(self._on_error)
        self.controller.sigPickleRefused.connect(self.ask_allow_pickle)
        self.controller.sigEncodingProblem.connect(self.ask_encoding)
        self.controller.sigModelLoaded.connect(self._on_model_loaded)
        self.controller.sigDatasetLoaded.connect(self._on_dataset_loaded)
        self.controller.sigDeviceChanged.connect(self._on_device_changed)
        self.compare_controller.sigCompareModelChanged.connect(self._on_compare_model_changed)
        self.controller.sigModelLoaded.connect(  # a new model A: the status bar still names B
            lambda _i: self._on_compare_model_changed(self.compare_controller.info)
            if self.compare_controller.info is not None else None)
        self.client.sigStarted.connect(self._on_started)
        self.client.sigProgress.connect(self._on_progress)
        self.client.sigBusyChanged.connect(self._on_busy)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=self.controller.cancel_all)

        self._default_state = self.saveState(STATE_VERSION)
        self._layout_restored = False
        self._first_show = True
        if persist_layout:
            self.restore_layout()
        if device and device != DEVICES[0]:
            self.request_device(device)
        from .export_manager import ExportManager

        #: right-click "Export figure…" on every panel with current_result(), File → Export all (issue 7)
        self.exports = ExportManager(self)

    # -- status bar ---------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.model_label = QLabel("No model")
        self.model_label.setObjectName("modelLabel")
        self.device_label = QLabel("Device: auto")
        self.device_label.setObjectName("deviceLabel")
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Cancel the running jobs (Esc)")
        self.cancel_button.clicked.connect(self.controller.cancel_all)
        self.cancel_button.hide()
        sb.addPermanentWidget(self.progress_bar)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.model_label)
        sb.addPermanentWidget(self.device_label)

    @Slot(int, str, str)
    def _on_started(self, request_id: int, kind: str, message: str) -> None:
        req = self.client.request(request_id)
        if req is not None and req.long_running:
            self.progress_bar.setRange(0, 0)  # busy until the first progress report
            self.progress_bar.setFormat("")
            self.progress_bar.show()
            self.cancel_button.show()
            self._started_message = message
            self.statusBar().showMessage(message)

    @Slot(int, str, int, int, str)
    def _on_progress(self, _rid: int, _kind: str, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))
            self.progress_bar.setFormat("%p%")
        self.progress_bar.show()
        self.cancel_button.show()
        text = f"{message} {done}/{total}" if total > 0 else message
        self._progress_message = text.strip()
        self.statusBar().showMessage(self._progress_message)

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        if not busy:
            self.progress_bar.hide()
            self.cancel_button.hide()
            if self.statusBar().currentMessage() in (self._started_message, self._progress_message):
                self.statusBar().showMessage("Ready", 3000)

    def request_device(self, device: str) -> None:
        """Device menu: move the engine to ``device``."""
        act = self.device_actions.get(device)
        if act is not None:
            act.setChecked(True)
        self._device_requested = device
        self.device_label.setText(f"Device: {device}…")
        self.controller.set_device(device)

    def _explain_typed(self) -> None:
        """Explain what the box (or, for a pair model, the two boxes) holds."""
        inp = self.input_row.input()
        if inp is None or not any(t.strip() for t in inp.texts):
            self.statusBar().showMessage("Type a sentence first." if not self.input_row.is_pair()
                                         else "Type the premise and the hypothesis first.", 5000)
            return
        self.controller.set_text(inp, force=True)

    @Slot(object)
    def _on_current_input(self, inp) -> None:
        self.input_row.set_input(inp)

    @Slot(object)
    def _on_model_loaded(self, info) -> None:
        self.model_label.setText(f"Model: {Path(info.path).name} ({info.kind})")
        self.model_label.setToolTip(f"{info.path}\nclasses: {', '.join(info.class_names)}\nhash {info.content_hash}")
        self.device_label.setText(f"Device: {info.device}")
        self.input_row.set_segments(getattr(info, "segment_names", ("text",)))
        current = self.controller.current_input
        if current is not None:
            self.input_row.set_input(current)
        if info.path and self.persist_layout:
            add_recent(RECENT_MODELS, info.path)

    @Slot(object)
    def _on_dataset_loaded(self, ds) -> None:
        if getattr(ds, "path", None) and self.persist_layout:
            add_recent(RECENT_DATASETS, str(ds.path))

    @Slot(str)
    def _on_device_changed(self, device: str) -> None:
        self.device_label.setText(f"Device: {device}")
        self._device_choice = getattr(self, "_device_requested", self._device_choice)

    @Slot(str, str)
    def _on_error(self, kind: str, message: str) -> None:
        if kind == "device":
            act = self.device_actions.get(self._device_choice)
            if act is not None:
                act.setChecked(True)
            self.device_label.setText(f"Device: {self.controller.device or self._device_choice}")
        if kind in ("model", "dataset", "demo", "device", "predictions", "mlm", "compare_model",
                    "compare_predictions") and self.interactive:
            titles = {"model": "Could not open the model", "dataset": "Could not open the dataset",
                      "mlm": "Could not open the masked LM",
                      "compare_model": "Could not open the comparison model (the open model stays open)",
                      "compare_predictions": "Could not predict the dataset with the comparison model",
                      "demo": "Could not prepare the demo", "device": "Could not change the device",
                      "predictions": "Could not predict the dataset"}
            self.show_error(titles[kind], message)

    def show_error(self, title: str, message: str) -> QMessageBox:
        """A non-modal warning box (the window stays usable)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.finished.connect(lambda _r, b=box: self._boxes.remove(b) if b in self._boxes else None)
        self._boxes.append(box)
        box.show()
        return box

    # -- layout -------------------------------------------------------------------------------
    def restore_layout(self) -> None:
        """Restore geometry and dock layout saved by a previous session (if any)."""
        s = app_settings()
        geom = s.value("window/geometry")
        state = s.value("window/state")
        if isinstance(geom, QByteArray) and not geom.isEmpty():
            self.restoreGeometry(geom)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self._layout_restored = bool(self.restoreState(state, STATE_VERSION))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._first_show:
            self._first_show = False
            if not self._layout_restored:  # a saved layout is the user's: keep it
                first_start_sizes(self)
                self._default_state = self.saveState(STATE_VERSION)

    def save_layout(self) -> None:
        s = app_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(STATE_VERSION))
        s.sync()

    def reset_layout(self) -> None:
        """View → Reset Layout: the docks as on first start."""
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.restoreState(self._default_state, STATE_VERSION)

    # -- shutdown -----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            if self.persist_layout:
                self.save_layout()
                from .session import capture, remember_last_session

                remember_last_session(capture(self))
            for box in list(self._boxes):
                box.close()
            self.controller.shutdown()
        super().closeEvent(event)
