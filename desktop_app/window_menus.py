"""The main window's File, View and Device menus, sessions, and the questions it asks the user
(pickled weights, a dataset's encoding). A mixin of :class:`~desktop_app.main_window.MainWindow`."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMenu, QMessageBox

from interp_engine.config import DEVICES

from .docks import DOCKS
from .settings import RECENT_DATASETS, RECENT_MODELS, clear_recent, recent_paths

DATASET_FILTER = "Datasets (*.tsv *.txt *.csv *.jsonl *.parquet);;All files (*)"
DEVICE_LABELS = {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA"}


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (enables Device → CUDA)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken torch install only disables the menu entry
        return False


class MenusMixin:
    """Menus, sessions and the open-file actions of the main window."""

    # -- menus --------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        self.open_model_action = file_menu.addAction("Open &Model…", self.choose_model)
        self.open_model_action.setShortcut(QKeySequence.StandardKey.Open)
        self.compare_model_action = file_menu.addAction("Compare With Model…", self.choose_compare_model)
        self.compare_model_action.setObjectName("compareWithModelAction")
        self.compare_model_action.setToolTip("Open a second classifier: the heatmap shows one row per model for the "
                                             "same sentence and method, the dataset list both predictions")
        self.close_compare_action = file_menu.addAction("Close Comparison Model",
                                                        lambda: self.compare_controller.close_compare_model())
        self.close_compare_action.setObjectName("closeComparisonModelAction")
        self.close_compare_action.setEnabled(False)
        self.open_dataset_action = file_menu.addAction("Open &Dataset…", self.choose_dataset)
        self.open_dataset_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.columns_action = file_menu.addAction("Dataset &Columns…", self.choose_columns)
        self.columns_action.setToolTip("The text, second-text (sentence pairs: auto-detected by default) and label "
                                       "columns File → Open Dataset… reads")
        self.open_mlm_action = file_menu.addAction("Open Masked &LM…", self.choose_mlm)
        self.open_mlm_action.setToolTip("Open a masked language model folder: the likelihood model of marginalization")
        self.open_prior_action = file_menu.addAction("Count Prior From Training File…", self.choose_prior)
        self.open_prior_action.setToolTip("The prior likelihood of marginalization counts word frequencies in the "
                                          "training data (Kim et al. §4.5); by default the training file recorded "
                                          "in the model's folder")
        self.open_demo_action = file_menu.addAction("Open D&emo", self.controller.open_demo)
        file_menu.addSeparator()
        self.open_store_action = file_menu.addAction("Open A&ttribution Store…", self.choose_store)
        self.open_store_action.setObjectName("openStoreAction")
        self.open_store_action.setToolTip("Open a folder made by Compute Attribution Store… or interp-studio "
                                          "attribute-dataset: every method on every row, in the Dataset results dock")
        self.compute_store_action = file_menu.addAction(
            "Compute Attribution Store…", lambda: self.dataset_results_controller.open_compute_dialog())
        self.compute_store_action.setObjectName("computeStoreAction")
        self.compute_store_action.setToolTip("Every chosen method on every row of the open dataset, into a store "
                                             "folder (resumable)")
        file_menu.addSeparator()
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
        for spec in DOCKS:
            if spec.view_menu:
                view_menu.addAction(self.docks[spec.name].toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction("Reset Layout", self.reset_layout)

        analysis_menu = mb.addMenu("&Analysis")
        self.evaluate_action = analysis_menu.addAction("&Evaluate Dataset…",
                                                       lambda: self.evaluation_controller.open_dialog())
        self.evaluate_action.setObjectName("evaluateDatasetAction")
        self.evaluate_action.setToolTip("A metric (AUC_rep, AOPC, …) over the open dataset, per method: means ± "
                                        "standard error and the mean curves (interp-studio evaluate)")
        self.maximize_action = analysis_menu.addAction("&Activation Maximization…", self.show_activation_view)
        self.maximize_action.setObjectName("activationMaximizationAction")
        self.maximize_action.setToolTip("What a class or a hidden unit responds to: the optimised input's nearest "
                                        "words beside a corpus search (Lopes §3)")

        device_menu = mb.addMenu("&Device")
        self.device_group = QActionGroup(self)
        self.device_group.setExclusive(True)
        self.device_actions: dict[str, QAction] = {}
        has_cuda = cuda_available()
        for key in DEVICES:
            label = DEVICE_LABELS.get(key, key)
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
        self.device_actions[DEVICES[0]].setChecked(True)
        self._device_choice = DEVICES[0]

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

    def choose_store(self) -> None:
        """File → Open Attribution Store…: choose a store folder."""
        ds = self.controller.dataset
        start = str(Path(ds.path).expanduser().parent) if ds is not None and getattr(ds, "path", None) else ""
        path = QFileDialog.getExistingDirectory(self, "Open attribution store folder", start)
        if path:
            self.open_store(path)

    def open_store(self, path: str, *, show_first: bool = False):
        """Open an attribution store in the Dataset results dock (a bad folder: a message only)."""
        return self.dataset_results_controller.open_store(path, show_first=show_first)

    def show_activation_view(self) -> None:
        """Analysis → Activation Maximization…: show and raise its dock."""
        self.activation_controller.show_dock()

    def choose_mlm(self) -> None:
        """File → Open Masked LM…: choose a masked-LM folder (e.g. from ``interp-studio train-mlm``)."""
        start = str(Path(self.controller.model_info.path).parent) if self.controller.model_info else ""
        path = QFileDialog.getExistingDirectory(self, "Open masked LM folder", start)
        if path:
            self.open_mlm(path)

    def open_mlm(self, path: str) -> None:
        self.controller.open_mlm(path)

    def choose_compare_model(self) -> None:
        """File → Compare With Model…: choose a second saved classifier folder (model B)."""
        if self.controller.model_info is None:
            self.statusBar().showMessage("Open a model first (File → Open Model…): the comparison model is shown "
                                         "beside it.", 8000)
            return
        start = str(Path(self.controller.model_info.path).parent)
        path = QFileDialog.getExistingDirectory(self, "Compare with model folder", start)
        if path:
            self.open_compare_model(path)

    def open_compare_model(self, path: str) -> None:
        self.compare_controller.open_compare_model(path)

    @Slot(object)
    def _on_compare_model_changed(self, info) -> None:
        """Model B was opened (its ModelInfo) or closed (None): the menu and the status bar say so."""
        self.close_compare_action.setEnabled(info is not None)
        a = self.controller.model_info
        text = f"Model: {Path(a.path).name} ({a.kind})" if a is not None else "No model"
        if info is not None:
            text += f" · B: {Path(info.path).name} ({info.kind})"
            self.model_label.setToolTip(f"A: {a.path if a else ''}\nB: {info.path}\nB's classes: "
                                        f"{', '.join(info.class_names)}\nB's hash {info.content_hash}")
        self.model_label.setText(text)

    def choose_prior(self) -> None:
        """File → Count Prior From Training File…: the file the prior likelihood counts words in."""
        start = str(Path(recent_paths(RECENT_DATASETS)[0]).parent) if recent_paths(RECENT_DATASETS) else ""
        path, _ = QFileDialog.getOpenFileName(self, "Training file for the prior likelihood", start, DATASET_FILTER)
        if path:
            self.controller.open_prior(path)

    def open_model(self, path: str, *, allow_pickle: bool = False) -> None:
        self.controller.open_model(path, allow_pickle=allow_pickle)

    def open_dataset(self, path: str, *, encoding: str = "utf-8") -> None:
        self.controller.open_dataset(path, self.text_column, self.label_column, encoding=encoding,
                                     pair_column=getattr(self, "pair_column", ""))

    def choose_columns(self):
        """File → Dataset Columns…: the columns File → Open Dataset… reads (a pair's second column
        is auto-detected when left empty); OK reopens the open dataset with them. Returns the dialog."""
        from .columns_dialog import ColumnsDialog

        dlg = ColumnsDialog(self.text_column, getattr(self, "pair_column", ""), self.label_column, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)

        def accepted() -> None:
            self.text_column, self.pair_column, self.label_column = dlg.columns()
            ds = self.controller.dataset
            if ds is not None and getattr(ds, "path", None) and not self._closed:
                self.open_dataset(str(ds.path))

        dlg.accepted.connect(accepted)
        dlg.finished.connect(lambda _r: self._boxes.remove(dlg) if dlg in self._boxes else None)
        self._boxes.append(dlg)
        self.columns_dialog = dlg
        dlg.open()
        return dlg

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

