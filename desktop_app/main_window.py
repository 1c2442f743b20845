"""The Interp Studio main window: docks, menus, status bar, layout persistence."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .controller import Controller
from .engine_client import EngineClient
from .panels.candidates import CandidateTablePanel
from .panels.dataset_list import DatasetListPanel
from .panels.heatmap import SentenceHeatmapPanel
from .panels.saliency_grid import SaliencyGridPanel
from .settings import RECENT_DATASETS, RECENT_MODELS, add_recent, app_settings, clear_recent, recent_paths

#: bump when docks are added/renamed so an old saved layout is ignored
STATE_VERSION = 4
DEFAULT_SIZE = (1400, 900)
DATASET_FILTER = "Datasets (*.tsv *.txt *.csv *.jsonl *.parquet);;All files (*)"


def attribution_methods() -> dict[str, str]:
    """The engine's attribution methods ``{key: units}`` (a constant; no computation)."""
    from interp_engine.engine import ATTRIBUTION_METHODS

    return dict(ATTRIBUTION_METHODS)


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (enables Device → CUDA)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken torch install only disables the menu entry
        return False


class CandidateTableDock(QDockWidget):
    """The dock of the candidate table (objectName ``candidateTableDock``, kept by saveState)."""

    def __init__(self, panel: CandidateTablePanel, parent: QWidget | None = None):
        super().__init__("Candidates (marginalization)", parent)
        self.setObjectName("candidateTableDock")
        self.panel = panel
        self.setWidget(panel)
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)


class MainWindow(QMainWindow):
    """Main window: dataset list (left dock), sentence heatmap (centre), saliency grid (bottom dock),
    candidate table of the clicked token (right dock).

    Args:
        client: the engine client to use (default: a new one with a real engine).
        device: engine device asked for at start (``auto``, ``cpu``, ``cuda``).
        persist_layout: restore the saved dock layout now and save it on close.
        interactive: show load errors in message boxes (False for ``--screenshot``).
        text_column, label_column: column names used by File → Open Dataset….
    """

    def __init__(self, client: EngineClient | None = None, *, device: str = "auto", persist_layout: bool = True,
                 interactive: bool = True, text_column: str = "text", label_column: str = "label"):
        super().__init__()
        self.setObjectName("InterpStudioMainWindow")
        self.setWindowTitle("Interp Studio")
        self.resize(*DEFAULT_SIZE)
        self.persist_layout = persist_layout
        self.interactive = interactive
        self.text_column = text_column
        self.label_column = label_column
        self._closed = False
        self._boxes: list[QMessageBox] = []
        self._started_message = self._progress_message = None

        self.client = client if client is not None else EngineClient(device="auto")
        self.client.setParent(self)

        # -- panels -----------------------------------------------------------------------
        self.heatmap = SentenceHeatmapPanel(attribution_methods())
        self.heatmap.setObjectName("heatmapPanel")
        self.grid = SaliencyGridPanel()
        self.grid.setObjectName("saliencyGridPanel")
        self.dataset_panel = DatasetListPanel()
        self.dataset_panel.setObjectName("datasetPanel")
        self.candidate_panel = CandidateTablePanel()
        self.candidate_panel.setObjectName("candidatePanel")

        self.sentence_edit = QLineEdit()
        self.sentence_edit.setObjectName("sentenceEdit")
        self.sentence_edit.setPlaceholderText("Type any sentence and press Enter to explain it…")
        self.sentence_edit.setClearButtonEnabled(True)
        self.explain_button = QPushButton("Explain")
        self.explain_button.setObjectName("explainButton")
        row = QHBoxLayout()
        row.setContentsMargins(6, 6, 6, 0)
        row.addWidget(QLabel("Sentence:"))
        row.addWidget(self.sentence_edit, 1)
        row.addWidget(self.explain_button)
        central = QWidget()
        central.setObjectName("centralWidget")
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addLayout(row)
        cl.addWidget(self.heatmap, 1)
        self.setCentralWidget(central)

        self.dataset_dock = self._dock("Dataset", "datasetDock", self.dataset_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.grid_dock = self._dock("Layer × location saliency", "saliencyGridDock", self.grid,
                                    Qt.DockWidgetArea.BottomDockWidgetArea)
        self.candidate_dock = CandidateTableDock(self.candidate_panel, self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.candidate_dock)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.candidate_panel.setMinimumWidth(280)
        # the sentences must stay readable however many docks share the window
        self.dataset_panel.setMinimumWidth(260)
        self.resizeDocks([self.dataset_dock, self.candidate_dock], [430, 290], Qt.Orientation.Horizontal)
        self.resizeDocks([self.grid_dock], [420], Qt.Orientation.Vertical)

        self.controller = Controller(self.client, self.heatmap, self.grid, self.dataset_panel, self,
                                     candidates=self.candidate_panel)

        # training-set search (Lopes et al. §4), tabbed with the candidate table
        from .controller import TokenSearchController
        from .panels.token_search import TokenSearchPanel

        self.search_panel = TokenSearchPanel()
        self.search_panel.setObjectName("tokenSearchPanel")
        self.search_dock = self._dock("Training-set search", "tokenSearchDock", self.search_panel,
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.candidate_dock, self.search_dock)
        self.candidate_dock.raise_()
        self.search_controller = TokenSearchController(self.client, self.controller, self.search_panel, self)

        # deletion curves and AUC_rep of the current sentence (Kim et al. §3.5), right column under the
        # candidate table (beside the grid, the bottom row would squeeze the dataset list)
        from .controller import DeletionCurveController
        from .panels.deletion_curve import DeletionCurvePanel

        self.deletion_panel = DeletionCurvePanel()
        self.deletion_panel.setObjectName("deletionCurvePanel")
        self.deletion_dock = self._dock("Deletion curves (AUC_rep)", "deletionCurveDock", self.deletion_panel,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.deletion_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.candidate_dock, self.deletion_dock], [430, 420], Qt.Orientation.Vertical)
        self.deletion_controller = DeletionCurveController(self.client, self.controller, self.deletion_panel,
                                                           self.deletion_dock, self)

        # what the grid's hidden locations detect: optimised inputs' nearest words (Yuan et al. eq. 5-8,
        # Fig. 2), beside the saliency grid
        from .controller import NeighbourScatterController
        from .panels.neighbour_scatter import NeighbourScatterPanel

        self.neighbour_panel = NeighbourScatterPanel()
        self.neighbour_panel.setObjectName("neighbourScatterPanel")
        self.neighbour_dock = self._dock("Neighbour scatter (what locations detect)", "neighbourScatterDock",
                                         self.neighbour_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.splitDockWidget(self.grid_dock, self.neighbour_dock, Qt.Orientation.Horizontal)
        self.resizeDocks([self.grid_dock, self.neighbour_dock], [560, 520], Qt.Orientation.Horizontal)
        self.neighbour_controller = NeighbourScatterController(
            self.client, self.controller, self.neighbour_panel, search=self.search_controller,
            dock=self.neighbour_dock, search_dock=self.search_dock, parent=self)

        self._build_status_bar()
        self._build_menus()

        self.sentence_edit.returnPressed.connect(self._explain_typed)
        self.explain_button.clicked.connect(self._explain_typed)
        self.controller.sigCurrentTextChanged.connect(self._on_current_text)
        self.controller.sigStatus.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.controller.sigError.connect(self._on_error)
        self.controller.sigPickleRefused.connect(self.ask_allow_pickle)
        self.controller.sigEncodingProblem.connect(self.ask_encoding)
        self.controller.sigModelLoaded.connect(self._on_model_loaded)
        self.controller.sigDatasetLoaded.connect(self._on_dataset_loaded)
        self.controller.sigDeviceChanged.connect(self._on_device_changed)
        self.client.sigStarted.connect(self._on_started)
        self.client.sigProgress.connect(self._on_progress)
        self.client.sigBusyChanged.connect(self._on_busy)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=self.controller.cancel_all)

        self._default_state = self.saveState(STATE_VERSION)
        if persist_layout:
            self.restore_layout()
        if device and device != "auto":
            self.request_device(device)
        from .export_dialog import ExportManager

        #: right-click "Export figure…" on every panel with current_result(), File → Export all (issue 7)
        self.exports = ExportManager(self)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

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

    # -- menus --------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        self.open_model_action = file_menu.addAction("Open &Model…", self.choose_model)
        self.open_model_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_dataset_action = file_menu.addAction("Open &Dataset…", self.choose_dataset)
        self.open_dataset_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.open_mlm_action = file_menu.addAction("Open Masked &LM…", self.choose_mlm)
        self.open_mlm_action.setToolTip("Open a masked language model folder: the likelihood model of marginalization")
        self.open_demo_action = file_menu.addAction("Open D&emo", self.controller.open_demo)
        self.recent_models_menu = file_menu.addMenu("Recent &Models")
        self.recent_models_menu.setObjectName("recentModelsMenu")
        self.recent_datasets_menu = file_menu.addMenu("Recent D&atasets")
        self.recent_datasets_menu.setObjectName("recentDatasetsMenu")
        self.recent_models_menu.aboutToShow.connect(
            lambda: self._fill_recent(self.recent_models_menu, RECENT_MODELS, self.open_model))
        self.recent_datasets_menu.aboutToShow.connect(
            lambda: self._fill_recent(self.recent_datasets_menu, RECENT_DATASETS, self.open_dataset))
        self._fill_recent(self.recent_models_menu, RECENT_MODELS, self.open_model)
        self._fill_recent(self.recent_datasets_menu, RECENT_DATASETS, self.open_dataset)
        self._build_session_menu(file_menu)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)

        view_menu = mb.addMenu("&View")
        view_menu.addAction(self.dataset_dock.toggleViewAction())
        view_menu.addAction(self.grid_dock.toggleViewAction())
        view_menu.addAction(self.candidate_dock.toggleViewAction())
        view_menu.addAction(self.deletion_dock.toggleViewAction())
        view_menu.addAction(self.neighbour_dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction("Reset Layout", self.reset_layout)

        device_menu = mb.addMenu("&Device")
        self.device_group = QActionGroup(self)
        self.device_group.setExclusive(True)
        self.device_actions: dict[str, QAction] = {}
        has_cuda = cuda_available()
        for key, label in (("auto", "Auto"), ("cpu", "CPU"), ("cuda", "CUDA")):
            act = QAction(label, self, checkable=True)
            act.setData(key)
            if key == "cuda" and not has_cuda:
                act.setEnabled(False)
                act.setToolTip("No CUDA device is available (torch.cuda.is_available() is False)")
            act.triggered.connect(lambda _checked=False, k=key: self.request_device(k))
            self.device_group.addAction(act)
            device_menu.addAction(act)
            self.device_actions[key] = act
        device_menu.setToolTipsVisible(True)
        self.device_actions["auto"].setChecked(True)
        self._device_choice = "auto"

    def _build_session_menu(self, file_menu: QMenu) -> None:
        """File menu: figure export (issue 7) and sessions."""
        from .session import RECENT_SESSIONS, restore_on_start, set_restore_on_start

        file_menu.addSeparator()
        self.export_all_action = file_menu.addAction("E&xport All Panels for This Sentence…",
                                                     lambda: self.exports.export_all_dialog())
        self.export_all_action.setObjectName("exportAllAction")
        file_menu.addSeparator()
        self.save_session_action = file_menu.addAction("&Save Session…", self.choose_save_session)
        self.save_session_action.setShortcut(QKeySequence.StandardKey.Save)
        self.open_session_action = file_menu.addAction("Open Sess&ion…", self.choose_open_session)
        self.recent_sessions_menu = file_menu.addMenu("Recent Sessio&ns")
        self.recent_sessions_menu.setObjectName("recentSessionsMenu")
        self.recent_sessions_menu.aboutToShow.connect(
            lambda: self._fill_recent(self.recent_sessions_menu, RECENT_SESSIONS, self.open_session))
        self._fill_recent(self.recent_sessions_menu, RECENT_SESSIONS, self.open_session)
        self.restore_session_action = file_menu.addAction("Restore Last Session on Start")
        self.restore_session_action.setCheckable(True)
        self.restore_session_action.setChecked(restore_on_start())
        self.restore_session_action.toggled.connect(set_restore_on_start)

    def choose_save_session(self) -> None:
        """File → Save Session…"""
        from .session import SESSION_FILTER, recent_sessions

        start = recent_sessions()[0] if recent_sessions() else "session.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save session", start, SESSION_FILTER)
        if path:
            self.save_session(path if path.endswith(".json") else path + ".json")

    def save_session(self, path: str):
        """Save the current session to ``path`` (JSON); returns the Session."""
        from .session import add_recent_session, capture, save_session

        s = capture(self)
        try:
            save_session(s, path)
        except (OSError, ValueError) as e:
            self.show_error("Could not save the session", str(e))
            return None
        if self.persist_layout:
            add_recent_session(path)
        self.statusBar().showMessage(f"Session saved to {path}", 6000)
        return s

    def choose_open_session(self) -> None:
        """File → Open Session…"""
        from .session import SESSION_FILTER, recent_sessions

        start = str(Path(recent_sessions()[0]).parent) if recent_sessions() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open session", start, SESSION_FILTER)
        if path:
            self.open_session(path)

    def open_session(self, path: str):
        """Open a session file: model, dataset, settings, sentence and layout; returns the Session."""
        from .session import SessionError, add_recent_session, apply, load_session

        try:
            s = load_session(path)
        except SessionError as e:
            if self.interactive:
                self.show_error("Could not open the session", str(e))
            self.statusBar().showMessage(str(e), 8000)
            return None
        if self.persist_layout:
            add_recent_session(path)
        apply(self, s)
        return s

    def restore_last_session(self) -> bool:
        """Reopen the session kept at the last close, if the user asked for it (File menu)."""
        from .session import apply, last_session, restore_on_start

        s = last_session() if restore_on_start() else None
        if s is None:
            return False
        apply(self, s)
        return True

    def _fill_recent(self, menu: QMenu, key: str, opener) -> None:
        menu.clear()
        paths = recent_paths(key)
        for p in paths:
            act = menu.addAction(p)
            act.triggered.connect(lambda _c=False, p=p: opener(p))
        if paths:
            menu.addSeparator()
            menu.addAction("Clear List", lambda: clear_recent(key))
        else:
            menu.addAction("(none)").setEnabled(False)

    # -- actions ------------------------------------------------------------------------------
    def choose_model(self) -> None:
        """File → Open Model…: choose a saved model folder."""
        start = str(Path(recent_paths(RECENT_MODELS)[0]).parent) if recent_paths(RECENT_MODELS) else ""
        path = QFileDialog.getExistingDirectory(self, "Open model folder", start)
        if path:
            self.open_model(path)

    def choose_dataset(self) -> None:
        """File → Open Dataset…: choose a dataset file."""
        start = str(Path(recent_paths(RECENT_DATASETS)[0]).parent) if recent_paths(RECENT_DATASETS) else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open dataset", start, DATASET_FILTER)
        if path:
            self.open_dataset(path)

    def choose_mlm(self) -> None:
        """File → Open Masked LM…: choose a masked-LM folder (e.g. from ``interp-studio train-mlm``)."""
        start = str(Path(self.controller.model_info.path).parent) if self.controller.model_info else ""
        path = QFileDialog.getExistingDirectory(self, "Open masked LM folder", start)
        if path:
            self.open_mlm(path)

    def open_mlm(self, path: str) -> None:
        self.controller.open_mlm(path)

    def open_model(self, path: str, *, allow_pickle: bool = False) -> None:
        self.controller.open_model(path, allow_pickle=allow_pickle)

    def open_dataset(self, path: str, *, encoding: str = "utf-8") -> None:
        self.controller.open_dataset(path, self.text_column, self.label_column, encoding=encoding)

    @Slot(str, str)
    def ask_allow_pickle(self, path: str, message: str) -> QMessageBox | None:
        """The model's weights are only a pickle: ask (non-modal) whether to open it anyway, with
        ``torch.load(weights_only=True)``; Open re-requests the model with ``allow_pickle=True``."""
        if not self.interactive:  # --screenshot: fail with the engine's explanation
            self.controller.sigError.emit("model", message)
            return None
        box = QMessageBox(QMessageBox.Icon.Warning, "Open a pickled model?",
                          f"{message}\n\nOpen “{Path(path).name}” anyway? Only tensors are read "
                          "(torch.load with weights_only=True); anything else in the file is refused.",
                          QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("allowPickleBox")
        open_button = box.addButton("Open anyway", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)

        def done(_result: int) -> None:
            if box in self._boxes:
                self._boxes.remove(box)
            if box.clickedButton() is open_button and not self._closed:
                self.open_model(path, allow_pickle=True)
            else:
                self.statusBar().showMessage("The pickled model was not opened.", 8000)

        box.finished.connect(done)
        self._boxes.append(box)
        self.pickle_box = box
        box.open()
        return box

    @Slot(str, str, str)
    def ask_encoding(self, path: str, suggested: str, message: str):
        """The dataset is not UTF-8: offer the suggested encoding (and other common ones); the
        choice re-opens the file with it."""
        from PySide6.QtWidgets import QInputDialog

        from interp_engine.data import COMMON_ENCODINGS

        if not self.interactive:
            self.controller.sigError.emit("dataset", message)
            return None
        dlg = QInputDialog(self)
        dlg.setObjectName("encodingDialog")
        dlg.setWindowTitle("The dataset is not UTF-8")
        dlg.setLabelText(f"{message}\n\nOpen “{Path(path).name}” with the encoding:")
        dlg.setComboBoxItems([suggested, *(e for e in COMMON_ENCODINGS if e != suggested)])
        dlg.setComboBoxEditable(True)
        dlg.setTextValue(suggested)
        dlg.setOkButtonText("Open")
        for label in dlg.findChildren(QLabel):  # the engine's message is one long line
            label.setWordWrap(True)
        dlg.resize(560, dlg.sizeHint().height())
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dlg.textValueSelected.connect(lambda enc: None if self._closed else self.open_dataset(path, encoding=enc))
        dlg.finished.connect(lambda _r: self._boxes.remove(dlg) if dlg in self._boxes else None)
        self._boxes.append(dlg)
        self.encoding_dialog = dlg
        dlg.open()
        return dlg

    def request_device(self, device: str) -> None:
        """Device menu: move the engine to ``device``."""
        act = self.device_actions.get(device)
        if act is not None:
            act.setChecked(True)
        self._device_requested = device
        self.device_label.setText(f"Device: {device}…")
        self.controller.set_device(device)

    def _explain_typed(self) -> None:
        text = self.sentence_edit.text()
        if not text.strip():
            self.statusBar().showMessage("Type a sentence first.", 5000)
            return
        self.controller.set_text(text, force=True)

    @Slot(str)
    def _on_current_text(self, text: str) -> None:
        if self.sentence_edit.text() != text:
            self.sentence_edit.setText(text)
            self.sentence_edit.setCursorPosition(0)

    @Slot(object)
    def _on_model_loaded(self, info) -> None:
        self.model_label.setText(f"Model: {Path(info.path).name} ({info.kind})")
        self.model_label.setToolTip(f"{info.path}\nclasses: {', '.join(info.class_names)}\nhash {info.content_hash}")
        self.device_label.setText(f"Device: {info.device}")
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
        if kind in ("model", "dataset", "demo", "device", "predictions", "mlm") and self.interactive:
            titles = {"model": "Could not open the model", "dataset": "Could not open the dataset",
                      "mlm": "Could not open the masked LM",
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
            self.restoreState(state, STATE_VERSION)

    def save_layout(self) -> None:
        s = app_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(STATE_VERSION))
        s.sync()

    def reset_layout(self) -> None:
        """View → Reset Layout: the docks as on first start."""
        for dock in (self.dataset_dock, self.grid_dock, self.candidate_dock):
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
