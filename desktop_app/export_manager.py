"""Figure export from the main window: the right-click "Export figure…" menu every panel gets,
File → Export all panels for this sentence…, and Copy as PNG.

A panel takes part by having a ``current_result()`` method (the result it shows, or None):
:class:`ExportManager` finds every such panel in the main window and installs one generic context
menu on it, so the panels need no export code of their own. The dialogs are in
:mod:`desktop_app.export_dialog`.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from interp_engine.sidecar import MODEL_TRAINING_FILE
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QDockWidget,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from .export_dialog import _SETTINGS_PREFIX, ExportAllDialog, ExportDialog, _panel_kind
from .settings import app_settings


class _ContextMenuFilter(QObject):
    """Event filter: a right-click anywhere in a panel (except in text fields) opens the panel's
    export menu."""

    def __init__(self, manager: "ExportManager", panel: QWidget):
        super().__init__(panel)
        self.manager = manager
        self.panel = panel

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.ContextMenu:
            if isinstance(obj, (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)):
                return False
            if isinstance(obj, QComboBox) and obj.isEditable():
                return False
            self.manager.show_menu(self.panel, event.globalPos())
            return True
        return False


class ExportManager(QObject):
    """Finds the panels of a main window (every widget with ``current_result()``), gives each a
    right-click "Export figure…" menu, and runs File → Export all panels for this sentence….

    Args:
        window: the :class:`~desktop_app.main_window.MainWindow`.
    """

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.panels: dict[str, QWidget] = {}
        self.menu: QMenu | None = None
        self.dialog: ExportDialog | None = None
        self._hash_cache: dict = {}
        self.install()
        QTimer.singleShot(0, self, self.install)  # docks added after the window's constructor set this up

    def install(self) -> None:
        """Install the context menu on every panel (call again after adding docks)."""
        w = self.window
        candidates = [("heatmapPanel", w.heatmap)] + [(d.objectName(), d.widget()) for d in w.findChildren(QDockWidget)]
        for name, panel in candidates:
            if panel is not None and not hasattr(panel, "current_result"):  # a panel inside a container
                panel = next((ch for ch in panel.findChildren(QWidget) if hasattr(ch, "current_result")), None)
            if panel is None or name in self.panels:
                continue
            self.panels[name] = panel
            self._disable_pyqtgraph_menus(panel)
            filt = _ContextMenuFilter(self, panel)
            for child in [panel, *panel.findChildren(QWidget)]:
                child.installEventFilter(filt)

    @staticmethod
    def _disable_pyqtgraph_menus(panel: QWidget) -> None:
        try:
            import pyqtgraph as pg
        except ImportError:  # pragma: no cover
            return
        for pw in panel.findChildren(pg.PlotWidget):
            pi = pw.getPlotItem()
            pi.setMenuEnabled(False)
            pi.getViewBox().setMenuEnabled(False)

    # -- provenance -------------------------------------------------------------------------
    def _model_hash(self, path: str, info=None) -> str:
        """The content hash of the model folder ``path`` for a sidecar.

        For the open model (``path`` is ``info.path``) this is ``info.content_hash``, which the
        engine worker computed with :func:`interp_engine.hashing.model_folder_hash` when it loaded
        the model: nothing is read on the GUI thread. Only another folder is hashed here (once per
        set of file names, sizes and modification times)."""
        if info is not None and path == info.path and len(getattr(info, "content_hash", "")) == 64:
            return info.content_hash
        return self._folder_hash(path)

    def _mlm_hash(self, path: str | None, mlm_info=None) -> str:
        """The content hash of the masked LM folder ``path`` for a sidecar ("" = none).

        For the open MLM (``path`` is ``mlm_info["path"]``) this is ``mlm_info["hash"]``, which
        :meth:`interp_engine.engine.Engine.load_mlm` computed in the engine worker with
        :func:`interp_engine.hashing.model_folder_hash`: nothing is read on the GUI thread.
        Another folder is hashed here (cached like :meth:`_model_hash`)."""
        if not path:
            return ""
        if isinstance(mlm_info, dict) and mlm_info.get("path") == path and len(mlm_info.get("hash") or "") == 64:
            return mlm_info["hash"]
        return self._folder_hash(path) if Path(path).expanduser().is_dir() else ""

    def _folder_hash(self, path: str) -> str:
        """:func:`interp_engine.hashing.model_folder_hash` of ``path`` on this thread, cached per
        set of file names, sizes and modification times ("" when the folder cannot be read)."""
        from interp_engine.hashing import MODEL_FILE_SUFFIXES, model_folder_hash

        p = Path(path).expanduser()
        try:
            key = (str(p), tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in sorted(p.iterdir())
                                 if f.is_file() and f.suffix in MODEL_FILE_SUFFIXES))
        except OSError:
            return ""
        if key not in self._hash_cache:
            self._hash_cache[key] = model_folder_hash(p)
        return self._hash_cache[key]

    def provenance(self):
        """The :class:`~interp_engine.export.Provenance` of what the window shows now."""
        from interp_engine.export import Provenance

        c = self.window.controller
        info = c.model_info
        mpath = info.path if info is not None else ""
        mlm = (c.mlm_info or {}).get("path") if isinstance(c.mlm_info, dict) else None
        ds = getattr(c.dataset, "path", None) if c.dataset is not None else None
        state = c.sync_state()
        st = state.marginalization
        return Provenance(model_path=mpath, model_hash=self._model_hash(mpath, info) if mpath else "", mlm_path=mlm,
                          mlm_hash=self._mlm_hash(mlm, c.mlm_info),
                          dataset_path=str(ds) if ds else None, text_column=self.window.text_column,
                          label_column=self.window.label_column, device=str(c.device or "cpu"),
                          seed=state.deletion.seed,
                          likelihood=st.likelihood, sigma=st.sigma, top_n=st.top_n,
                          extra=self._prior_extra(c, st.likelihood))

    @staticmethod
    def _prior_extra(c, likelihood: str) -> dict:
        """Where the prior likelihood's counts came from, so a remake counts the same file:
        the file the user chose, or the model's recorded training file."""
        if likelihood != "prior" or c.prior_source is None:
            return {}
        return {"prior_data": c.prior_data or MODEL_TRAINING_FILE}

    def _stem(self) -> str:
        text = self.window.controller.current_text or "figure"
        words = "".join(ch if ch.isalnum() else "_" for ch in text[:40]).strip("_") or "figure"
        return f"{words}_{hashlib.sha1(text.encode()).hexdigest()[:6]}"

    # -- actions ----------------------------------------------------------------------------
    def show_menu(self, panel: QWidget, global_pos) -> QMenu:
        menu = QMenu(panel)
        menu.setObjectName("panelExportMenu")
        act = menu.addAction("Export figure…", lambda p=panel: self.export_panel(p))
        copy = menu.addAction("Copy figure as PNG", lambda p=panel: self.copy_panel(p))
        has = panel.current_result() is not None
        act.setEnabled(has)
        copy.setEnabled(has)
        if not has:
            act.setToolTip("This panel shows no result yet")
        self.menu = menu
        menu.popup(global_pos)
        return menu

    def export_panel(self, panel: QWidget) -> ExportDialog | None:
        """Open the export dialog for ``panel``'s current result (non-modal); returns it."""
        res = panel.current_result()
        if res is None:
            self.window.statusBar().showMessage("This panel shows no result to export yet.", 5000)
            return None
        try:
            kind = _panel_kind(res)
        except ValueError as e:
            self.window.statusBar().showMessage(str(e), 5000)
            return None
        folder = str(app_settings().value(_SETTINGS_PREFIX + "folder", str(Path.home())))
        dlg = ExportDialog(res, self.provenance, default_path=str(Path(folder) / f"{self._stem()}_{kind}"),
                           parent=self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.dialog = dlg
        dlg.show()
        return dlg

    def copy_panel(self, panel: QWidget) -> QImage | None:
        from interp_engine.export import encode
        from interp_engine.figures import FigureStyle

        res = panel.current_result()
        if res is None:
            return None
        s = app_settings()
        img = QImage.fromData(encode(res, "png", style=FigureStyle(palette=str(s.value(_SETTINGS_PREFIX + "style", "paper"))),
                                     dpi=int(s.value(_SETTINGS_PREFIX + "dpi", 300))), "PNG")
        QGuiApplication.clipboard().setImage(img)
        self.window.statusBar().showMessage("Figure copied to the clipboard as PNG.", 5000)
        return img

    def current_results(self) -> dict:
        """``{panel kind: result}`` of every panel that shows a result now."""
        out = {}
        for panel in self.panels.values():
            res = panel.current_result()
            if res is None:
                continue
            try:
                out.setdefault(_panel_kind(res), res)
            except ValueError:
                continue
        return out

    def export_all(self, folder: str, stem: str, fmt: str = "pdf", style=None) -> list[Path]:
        """Export every panel's figure of the current sentence into ``folder``."""
        from interp_engine.export import export_all

        paths = export_all(self.current_results(), folder, stem, fmt=fmt, style=style, provenance=self.provenance())
        app_settings().setValue(_SETTINGS_PREFIX + "folder", str(folder))
        return paths

    def export_all_dialog(self) -> None:
        """File → Export all panels for this sentence…"""
        results = self.current_results()
        if not results:
            self.window.statusBar().showMessage("No panel shows a result yet: explain a sentence first.", 6000)
            return
        dlg = ExportAllDialog(list(results), stem=self._stem(), parent=self.window)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        o = dlg.options()
        import warnings

        from interp_engine.export import MissingGlyphsWarning

        try:
            with warnings.catch_warnings(record=True) as caught:  # said in the status bar instead
                warnings.simplefilter("always", MissingGlyphsWarning)
                paths = self.export_all(o["folder"], o["stem"], o["fmt"], o["style"])
        except Exception as e:  # noqa: BLE001 - shown to the user
            QMessageBox.warning(self.window, "Could not export the figures", str(e))
            return
        glyphs = [str(w.message) for w in caught if issubclass(w.category, MissingGlyphsWarning)]
        note = f" · note: {glyphs[0]}" if glyphs else ""
        self.window.statusBar().showMessage(f"Exported {len(paths)} figures to {o['folder']}{note}", 8000)
