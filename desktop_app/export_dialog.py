"""Figure export dialogs: the preview dialog of one panel's figure and the "Export all panels
for this sentence" dialog.

The figures themselves come from :mod:`interp_engine.figures` / :mod:`interp_engine.export`
(matplotlib, no Qt); this module only shows them and asks where to save. The right-click menu and
File → Export all live in :mod:`desktop_app.export_manager`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .settings import app_settings

FORMAT_NAMES = {"pdf": "PDF (vector, fonts embedded)", "svg": "SVG (vector, text as text)",
                "png": "PNG (bitmap)", "tex": "LaTeX (\\colorbox per token)"}
STYLE_NAMES = {"paper": "Paper red/blue", "colorblind": "Colour-blind safe (purple/orange)",
               "greyscale": "Greyscale safe (hatched negatives)"}
WIDTH_NAMES = {"single": "Single column (3.3 in)", "double": "Double column (6.9 in)"}
PANEL_TITLES = {"heatmap": "Sentence heatmap", "grid": "Saliency grid", "search": "Search histogram",
                "deletion": "Deletion curves", "scatter": "Neighbour scatter", "sanity": "Sanity check",
                "activation": "Activation maximization vs corpus search", "evaluation": "Dataset evaluation"}
FONT_CHOICES = ("DejaVu Sans", "DejaVu Serif", "sans-serif", "serif", "Liberation Sans", "Liberation Serif",
                "Times New Roman", "Arial", "Helvetica")
PREVIEW_DPI = 110
_SETTINGS_PREFIX = "export/"


def _panel_kind(result) -> str:
    from interp_engine.figures import panel_of

    return panel_of(result)


class ExportDialog(QDialog):
    """Preview a result's paper figure, choose format/style/width/font/DPI, then save or copy.

    Args:
        result: the result shown by a panel (a tuple of TokenAttributions for side-by-side rows).
        provenance: a callable returning the :class:`~interp_engine.export.Provenance` (model
            path, MLM, dataset, settings) for the sidecar, or None (no sidecar).
        default_path: suggested file path (without suffix is fine).
    """

    def __init__(self, result, provenance: Callable | None = None, *, default_path: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.result = result
        self.kind = _panel_kind(result)
        self._provenance = provenance
        self._default_path = default_path
        self.setWindowTitle(f"Export figure — {PANEL_TITLES.get(self.kind, self.kind)}")
        self.last_saved: Path | None = None
        self.last_error: str | None = None
        s = app_settings()

        self.format_combo = QComboBox()
        self.format_combo.setObjectName("exportFormat")
        for key, name in FORMAT_NAMES.items():
            if key == "tex" and self.kind != "heatmap":
                continue
            self.format_combo.addItem(name, key)
        self._select(self.format_combo, s.value(_SETTINGS_PREFIX + "format", "pdf"))
        self.style_combo = QComboBox()
        self.style_combo.setObjectName("exportStyle")
        for key, name in STYLE_NAMES.items():
            self.style_combo.addItem(name, key)
        self._select(self.style_combo, s.value(_SETTINGS_PREFIX + "style", "paper"))
        self.width_combo = QComboBox()
        self.width_combo.setObjectName("exportWidth")
        for key, name in WIDTH_NAMES.items():
            self.width_combo.addItem(name, key)
        self.width_combo.addItem("Custom…", "custom")
        self.width_spin = QDoubleSpinBox()
        self.width_spin.setRange(1.0, 20.0)
        self.width_spin.setSingleStep(0.1)
        self.width_spin.setSuffix(" in")
        self.width_spin.setValue(5.0)
        self._select(self.width_combo, s.value(_SETTINGS_PREFIX + "width", "single"))
        self.font_combo = QComboBox()
        self.font_combo.setObjectName("exportFont")
        self.font_combo.setEditable(True)
        self.font_combo.addItems(FONT_CHOICES)
        self.font_combo.setCurrentText(str(s.value(_SETTINGS_PREFIX + "font", "DejaVu Sans")))
        self.size_spin = QDoubleSpinBox()
        self.size_spin.setObjectName("exportFontSize")
        self.size_spin.setRange(4.0, 24.0)
        self.size_spin.setSingleStep(0.5)
        self.size_spin.setSuffix(" pt")
        self.size_spin.setValue(float(s.value(_SETTINGS_PREFIX + "font_size", 8.0)))
        self.dpi_spin = QSpinBox()
        self.dpi_spin.setObjectName("exportDpi")
        self.dpi_spin.setRange(50, 1200)
        self.dpi_spin.setSingleStep(50)
        self.dpi_spin.setValue(int(s.value(_SETTINGS_PREFIX + "dpi", 300)))
        self.colorbar_check = QCheckBox("Colour bar")
        self.colorbar_check.setChecked(str(s.value(_SETTINGS_PREFIX + "colorbar", "true")).lower() != "false")
        self.colorbar_check.setEnabled(self.kind in ("heatmap", "grid"))
        self.title_check = QCheckBox("Title line (prediction, class explained)")
        self.title_check.setObjectName("exportTitle")
        self.title_check.setChecked(True)
        self.rf_combo = QComboBox()
        self.rf_combo.setObjectName("exportReceptiveFields")
        for key, name in (("top1", "best location of each layer"), ("top", "every marked location"), ("none", "none")):
            self.rf_combo.addItem(name, key)

        form = QFormLayout()
        form.addRow("Format:", self.format_combo)
        form.addRow("Colours:", self.style_combo)
        wrow = QHBoxLayout()
        wrow.addWidget(self.width_combo, 1)
        wrow.addWidget(self.width_spin)
        form.addRow("Width:", wrow)
        frow = QHBoxLayout()
        frow.addWidget(self.font_combo, 1)
        frow.addWidget(self.size_spin)
        form.addRow("Font:", frow)
        form.addRow("PNG resolution:", self.dpi_spin)
        form.addRow("", self.colorbar_check)
        if self.kind == "heatmap":
            form.addRow("", self.title_check)
        if self.kind == "grid":
            form.addRow("Receptive fields:", self.rf_combo)

        self.preview = QLabel()
        self.preview.setObjectName("exportPreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: white; border: 1px solid #ccc;")
        scroll = QScrollArea()
        scroll.setWidget(self.preview)
        scroll.setWidgetResizable(True)
        scroll.setMinimumSize(520, 300)
        self.glyph_warning: str | None = None  # characters no installed font can draw (set by update_preview)
        self.info_label = QLabel()
        self.info_label.setObjectName("exportInfo")
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet("color: #555;")

        self.save_button = QPushButton("Save…")
        self.save_button.setObjectName("exportSave")
        self.save_button.setDefault(True)
        self.copy_button = QPushButton("Copy PNG")
        self.copy_button.setObjectName("exportCopy")
        self.copy_button.setToolTip("Copy the figure to the clipboard as a PNG image at the chosen resolution")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        left = QVBoxLayout()
        left.addLayout(form)
        left.addStretch(1)
        top.addLayout(left)
        top.addWidget(scroll, 1)
        lay.addLayout(top, 1)
        lay.addWidget(self.info_label)
        lay.addWidget(buttons)
        self.resize(1000, 560)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self.update_preview)
        for w in (self.format_combo, self.style_combo, self.width_combo, self.font_combo):
            w.currentIndexChanged.connect(self._changed)
        self.font_combo.editTextChanged.connect(self._changed)
        for w in (self.size_spin, self.width_spin):
            w.valueChanged.connect(self._changed)
        self.colorbar_check.toggled.connect(self._changed)
        self.title_check.toggled.connect(self._changed)
        self.rf_combo.currentIndexChanged.connect(self._changed)
        self.width_combo.currentIndexChanged.connect(self._sync_width)
        self.save_button.clicked.connect(self.choose_and_save)
        self.copy_button.clicked.connect(self.copy_png)
        self._sync_width()
        self.preview_png: bytes = b""
        self.preview_dpi = PREVIEW_DPI
        self.update_preview()

    @staticmethod
    def _select(combo: QComboBox, key) -> None:
        i = combo.findData(str(key))
        if i >= 0:
            combo.setCurrentIndex(i)

    def _sync_width(self) -> None:
        self.width_spin.setVisible(self.width_combo.currentData() == "custom")

    def _changed(self, *_a) -> None:
        self._timer.start()

    # -- options ----------------------------------------------------------------------------
    def fmt(self) -> str:
        return str(self.format_combo.currentData())

    def set_format(self, key: str) -> None:
        self._select(self.format_combo, key)

    def style(self):
        """The :class:`~interp_engine.figures.FigureStyle` chosen."""
        from interp_engine.figures import FigureStyle

        w = self.width_combo.currentData()
        width = float(self.width_spin.value()) if w == "custom" else w
        return FigureStyle(palette=str(self.style_combo.currentData()), width=width,
                           font_family=self.font_combo.currentText().strip() or "DejaVu Sans",
                           font_size=float(self.size_spin.value()), colorbar=self.colorbar_check.isChecked())

    def dpi(self) -> int:
        return int(self.dpi_spin.value())

    def options(self) -> dict:
        """Panel-specific renderer options (recorded in the sidecar)."""
        if self.kind == "heatmap":
            return {"title": self.title_check.isChecked()}
        if self.kind == "grid":
            return {"receptive_fields": str(self.rf_combo.currentData())}
        return {}

    def _remember(self) -> None:
        s = app_settings()
        st = self.style()
        for k, v in (("format", self.fmt()), ("style", st.palette), ("width", self.width_combo.currentData()),
                     ("font", st.font_family), ("font_size", st.font_size), ("dpi", self.dpi()),
                     ("colorbar", "true" if st.colorbar else "false")):
            s.setValue(_SETTINGS_PREFIX + k, v)

    # -- preview, save, copy ----------------------------------------------------------------
    def render_png(self, dpi: float) -> bytes:
        """The figure as PNG bytes at ``dpi`` with the chosen style."""
        from interp_engine.export import encode

        return encode(self.result, "png", style=self.style(), dpi=dpi, options=self.options())

    def _fit_dpi(self, w_in: float, h_in: float) -> float:
        """Preview resolution: the whole figure fits the preview area (between 40 and 200 dpi)."""
        area = self.preview.parentWidget()
        aw = max(area.width() if area else 0, 480) - 24
        ah = max(area.height() if area else 0, 280) - 24
        return float(min(200.0, max(40.0, min(aw / w_in, ah / h_in))))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if hasattr(self, "_timer"):
            self._timer.start()

    def update_preview(self) -> None:
        """Redraw the preview (the figure as it will be saved, at screen resolution)."""
        try:
            import warnings

            from interp_engine.export import figure_bytes, missing_glyphs, missing_glyphs_message
            from interp_engine.figures import render

            st = self.style()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fig = render(self.result, st, **self.options())
                self.preview_dpi = self._fit_dpi(*fig.get_size_inches())
                png = figure_bytes(fig, "png", dpi=self.preview_dpi * self.devicePixelRatioF(), style=st)
            missing = missing_glyphs(caught)
            self.glyph_warning = missing_glyphs_message(missing, st) if missing else None
        except Exception as e:  # noqa: BLE001 - a bad font or option shows a message, never a crash
            self.preview.setText(f"Cannot draw this figure: {e}")
            self.last_error = str(e)
            self.save_button.setEnabled(False)
            self.copy_button.setEnabled(False)
            return
        self.last_error = None
        self.save_button.setEnabled(True)
        self.copy_button.setEnabled(True)
        self.preview_png = png
        pm = QPixmap()
        pm.loadFromData(png, "PNG")
        pm.setDevicePixelRatio(self.devicePixelRatioF())
        self.preview.setPixmap(pm)
        st = self.style()
        w_in = st.width_in
        h_in = pm.height() / (self.preview_dpi * self.devicePixelRatioF())
        note = ("LaTeX: the colour boxes of this preview, one \\colorbox per token (needs \\usepackage{xcolor}). "
                if self.fmt() == "tex" else "")
        if self.glyph_warning:
            note = f"⚠ {self.glyph_warning}. " + note
        self.info_label.setText(f"{note}{w_in:.2f} × {h_in:.2f} in · a JSON sidecar beside the file records the "
                                f"method, parameters, model hash and sentence, so `interp-studio export --from-sidecar` "
                                f"can remake it.")

    def copy_png(self) -> QImage:
        """Put the figure on the clipboard as a PNG image (at the chosen DPI); returns the image."""
        img = QImage.fromData(self.render_png(self.dpi()), "PNG")
        QGuiApplication.clipboard().setImage(img)
        self._remember()
        return img

    def save(self, path: str | Path) -> Path:
        """Write the figure (atomically) and its sidecar to ``path``; the suffix follows the format."""
        from interp_engine.export import export_figure

        p = Path(path).expanduser()
        fmt = self.fmt()
        if p.suffix.lower() != f".{fmt}":
            p = p.with_name(p.name + f".{fmt}") if p.suffix.lower() not in (".pdf", ".svg", ".png", ".tex") \
                else p.with_suffix(f".{fmt}")
        prov = self._provenance() if self._provenance else None
        import warnings

        from interp_engine.export import MissingGlyphsWarning

        with warnings.catch_warnings(record=True) as caught:  # missing glyphs: the dialog's note says so
            warnings.simplefilter("always", MissingGlyphsWarning)
            out, _side = export_figure(self.result, p, fmt=fmt, style=self.style(), dpi=self.dpi(), provenance=prov,
                                       options=self.options())
        for w in caught:
            if issubclass(w.category, MissingGlyphsWarning):
                self.glyph_warning = str(w.message)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        self.last_saved = out
        self._remember()
        return out

    def choose_and_save(self) -> None:
        fmt = self.fmt()
        start = self._default_path or ""
        if start and not start.endswith(f".{fmt}"):
            start = str(Path(start).with_suffix(f".{fmt}"))
        path, _ = QFileDialog.getSaveFileName(self, "Export figure", start, f"{FORMAT_NAMES[fmt]} (*.{fmt})")
        if not path:
            return
        try:
            out = self.save(path)
        except Exception as e:  # noqa: BLE001 - shown to the user
            QMessageBox.warning(self, "Could not export the figure", str(e))
            return
        parent = self.parent()
        if parent is not None and hasattr(parent, "statusBar"):
            parent.statusBar().showMessage(f"Saved {out} (+ {out.name}.json)", 8000)
        self.accept()


class ExportAllDialog(QDialog):
    """File → Export all panels for this sentence…: a folder, a file stem, a format and a style."""

    def __init__(self, panels: list[str], default_folder: str = "", stem: str = "figure",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("exportAllDialog")
        self.setWindowTitle("Export all panels for this sentence")
        s = app_settings()
        self.folder_edit = QLineEdit(default_folder or str(s.value(_SETTINGS_PREFIX + "folder", str(Path.home()))))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.stem_edit = QLineEdit(stem)
        self.format_combo = QComboBox()
        for key, name in FORMAT_NAMES.items():
            self.format_combo.addItem(name + (" (heatmap; PDF for the others)" if key == "tex" else ""), key)
        ExportDialog._select(self.format_combo, s.value(_SETTINGS_PREFIX + "format", "pdf"))
        self.style_combo = QComboBox()
        for key, name in STYLE_NAMES.items():
            self.style_combo.addItem(name, key)
        ExportDialog._select(self.style_combo, s.value(_SETTINGS_PREFIX + "style", "paper"))
        self.width_combo = QComboBox()
        for key, name in WIDTH_NAMES.items():
            self.width_combo.addItem(name, key)
        ExportDialog._select(self.width_combo, s.value(_SETTINGS_PREFIX + "width", "single"))
        form = QFormLayout(self)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        form.addRow("Folder:", row)
        form.addRow("File names:", self.stem_edit)
        form.addRow("Format:", self.format_combo)
        form.addRow("Colours:", self.style_combo)
        form.addRow("Width:", self.width_combo)
        form.addRow("Panels:", QLabel(", ".join(PANEL_TITLES.get(p, p) for p in panels) or "(none has a result)"))
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        bb.accepted.connect(self.accept)
        bb.rejected.connect(self.reject)
        form.addRow(bb)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export into folder", self.folder_edit.text())
        if d:
            self.folder_edit.setText(d)

    def options(self) -> dict:
        from interp_engine.figures import FigureStyle

        return {"folder": self.folder_edit.text().strip(), "stem": self.stem_edit.text().strip() or "figure",
                "fmt": str(self.format_combo.currentData()),
                "style": FigureStyle(palette=str(self.style_combo.currentData()), width=self.width_combo.currentData())}
