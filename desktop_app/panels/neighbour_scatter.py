"""The t-SNE neighbour scatter dock (Yuan et al. ``001_e80f9d2c7d254978.txt`` Fig. 2, top):
what the selected hidden locations detect, as the vocabulary words nearest to each location's
optimised input x_overall (eq. 5-8), projected to 2-D.

Points are labelled with their words and coloured by location with the colours of the
location's mark in the saliency grid (red, blue, green for a layer's three most salient
locations; other colours for other clicked cells); each location's x_overall ("target" point)
is a larger star. Hovering a point shows its word and cosine similarity; clicking a word emits
:attr:`NeighbourScatterPanel.sigWordClicked` (the controller sends it to the training-set
search); clicking a target star emits :attr:`sigLocationClicked`. A small form sets λ1, λ2,
steps, k, perplexity and the projection; :attr:`sigComputeRequested` asks for a recomputation
(the controller runs it in the worker) and :attr:`sigCancelRequested` stops it.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QStackedWidget, QToolButton, QVBoxLayout, QWidget

from interp_engine.config import NeighbourConfig

from .label_placement import place_labels, view_box_mapping
from .labels import class_name, esc as _esc
from .neighbour_form import NeighbourForm
from .neighbour_legend import EXTRA_COLORS, legend, location_color, location_state  # noqa: F401 - re-exported

class NeighbourScatterPanel(QWidget):
    """The neighbour scatter and its parameter form.

    Signals:
        sigComputeRequested(dict): the user asked for a (re)computation with these parameters
            (``lambda1, lambda2, steps, k, perplexity, projection, selection, top, layer`` (-1: the
            top-m of every layer), ``locations``).
        sigCancelRequested(): stop the running computation.
        sigWordClicked(str): a neighbour word was clicked.
        sigLocationClicked(int, int): a target point (layer, location) was clicked.
        sigClearSelection(): forget the cells clicked in the grid.
    """

    sigComputeRequested = Signal(dict)
    sigCancelRequested = Signal()
    sigWordClicked = Signal(str)
    sigLocationClicked = Signal(int, int)
    sigClearSelection = Signal()

    #: marker sizes (px) of a neighbour word and of a location's x_overall
    WORD_SIZE = 9
    STAR_SIZE = 20
    CAPTION = ("● colour = the location (its mark in the saliency grid: red 1st, blue 2nd, green 3rd) whose "
               "neighbour a word is · ★ = that location's x_overall")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._result = None
        self._points: list[dict] = []
        self._labels: list[pg.TextItem] = []
        self._selected: list[tuple[int, int]] = []

        small = QFont(self.font())
        small.setPointSizeF(max(small.pointSizeF() * 0.92, 7.5))

        self.title_label = QLabel("What the selected hidden locations detect")
        self.title_label.setObjectName("neighbourTitle")
        self.title_label.setTextFormat(Qt.TextFormat.RichText)
        self.title_label.setWordWrap(True)

        # -- parameter form (every value from interp_engine.config) ----------------------------
        self.form_widget = NeighbourForm(small)
        self.form_widget.setObjectName("neighbourForm")
        f = self.form_widget
        self.lambda1_spin, self.lambda2_spin, self.steps_spin = f.lambda1_spin, f.lambda2_spin, f.steps_spin
        self.k_spin, self.perplexity_spin, self.projection_combo = f.k_spin, f.perplexity_spin, f.projection_combo
        self.selection_combo, self.top_spin, self.layer_combo = f.selection_combo, f.top_spin, f.layer_combo
        self.selection_label, self.clear_button = f.selection_label, f.clear_button
        self._n_layers = 0
        self._default_steps = int(self.steps_spin.value())  # the steps box's model default
        self.clear_button.clicked.connect(self._clear_selection)
        self.selection_combo.currentIndexChanged.connect(lambda _i: self._update_selection_widgets())

        self.compute_button = QPushButton("Compute")
        self.compute_button.setObjectName("neighbourCompute")
        self.compute_button.setToolTip("Optimise the inputs of the selected locations and project their neighbours")
        self.compute_button.clicked.connect(lambda: self.sigComputeRequested.emit(self.parameters()))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.sigCancelRequested.emit)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(True)
        self.progress.setMaximumHeight(16)
        self.progress.hide()
        self.status_label = QLabel()
        self.status_label.setObjectName("neighbourStatus")
        self.status_label.setStyleSheet("color: #8a5a00;")
        self.status_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compute_button)
        buttons.addWidget(self.cancel_button)

        # -- plot -------------------------------------------------------------------------------
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("neighbourPlot")
        pi = self.plot.getPlotItem()
        pi.hideButtons()
        pi.setMenuEnabled(False)
        for name in ("left", "bottom"):
            ax = pi.getAxis(name)
            ax.setPen(pg.mkPen("k"))
            ax.setTextPen(pg.mkPen("k"))
        pi.getAxis("left").setWidth(34)
        self.plot.setMinimumSize(150, 200)
        self.scatter = pg.ScatterPlotItem(hoverable=True, tip=self._tip, hoverSize=14,
                                          hoverPen=pg.mkPen("k", width=2))
        self.scatter.setZValue(5)
        self.scatter.sigClicked.connect(self._on_clicked)
        pi.addItem(self.scatter)
        self._lines: list[pg.PlotDataItem] = []
        self._label_specs: list[dict] = []
        self._label_rects: dict[int, tuple] = {}
        pi.getViewBox().sigResized.connect(self._place_labels)
        pi.getViewBox().sigRangeChanged.connect(self._place_labels)

        self.message_label = QLabel()
        self.message_label.setObjectName("neighbourMessage")
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #777; background: white;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message_label)
        self.stack.addWidget(self.plot)

        self.caption_label = QLabel(self.CAPTION)
        self.caption_label.setObjectName("neighbourCaption")
        self.caption_label.setWordWrap(True)
        self.caption_label.setFont(small)
        self.caption_label.setStyleSheet("color: #555;")
        self.legend_label = QLabel()
        self.legend_label.setObjectName("neighbourLegend")
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        self.legend_label.setWordWrap(True)
        self.legend_label.setFont(small)
        self.note_label = QLabel()
        self.note_label.setObjectName("neighbourNote")
        self.note_label.setWordWrap(True)
        self.note_label.setFont(small)
        self.note_label.setStyleSheet("color: #555;")

        self.params_button = QToolButton()
        self.params_button.setObjectName("neighbourParamsButton")
        self.params_button.setText("Parameters ▸")
        self.params_button.setCheckable(True)
        self.params_button.setToolTip("Show λ1, λ2, steps, k, the projection and the location choice")
        self.params_button.toggled.connect(self._toggle_form)
        head = QHBoxLayout()
        head.addWidget(self.title_label, 1)
        head.addWidget(self.params_button, 0, Qt.AlignmentFlag.AlignTop)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.status_label, 2)
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addLayout(head)
        left.addWidget(self.stack, 1)
        left.addWidget(self.caption_label)
        left.addWidget(self.legend_label)
        left.addWidget(self.note_label)
        left.addLayout(buttons)
        self.form_widget.setFixedWidth(190)
        self.form_widget.hide()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(left, 1)
        lay.addWidget(self.form_widget)
        self.set_layer_names(())
        self._update_selection_widgets()
        self.show_message("Explain a sentence, then press Compute (or click cells of the saliency grid) to see "
                          "the vocabulary words that describe what its most salient hidden locations detect.")

    def _toggle_form(self, shown: bool) -> None:
        self.form_widget.setVisible(shown)
        self.params_button.setText("Parameters ◂" if shown else "Parameters ▸")

    # -- parameters -----------------------------------------------------------------------------
    def projection(self) -> str:
        return str(self.projection_combo.currentData())

    def selection_mode(self) -> str:
        """``"top"`` (top-m of a layer) or ``"cells"`` (cells clicked in the grid)."""
        return str(self.selection_combo.currentData())

    def parameters(self) -> dict:
        """The form's values (the ``sigComputeRequested`` payload)."""
        return {
            "lambda1": float(self.lambda1_spin.value()), "lambda2": float(self.lambda2_spin.value()),
            "steps": int(self.steps_spin.value()), "k": int(self.k_spin.value()),
            "perplexity": float(self.perplexity_spin.value()), "projection": self.projection(),
            "selection": self.selection_mode(), "top": int(self.top_spin.value()),
            "layer": self._layer_choice(), "locations": tuple(self._selected),
        }

    def _layer_choice(self) -> int:
        """Grid row of the top-m choice; -1 = every layer ("top-m per layer")."""
        i = max(0, self.layer_combo.currentIndex())
        return -1 if getattr(self, "_n_layers", 0) > 1 and i == self._n_layers else i

    def set_parameters(self, **kw) -> None:
        """Set form values by name (``lambda1``, ``lambda2``, ``steps``, ``k``, ``perplexity``,
        ``projection``, ``top``, ``layer``, ``selection``)."""
        spins = self.form_widget.spins()
        for name, v in kw.items():
            if v is None:  # e.g. steps None: the model family's default (see set_default_steps)
                continue
            if name in spins:
                spins[name].setValue(v)
            elif name == "projection":
                self.projection_combo.setCurrentIndex(max(0, self.projection_combo.findData(v)))
            elif name == "selection":
                self.selection_combo.setCurrentIndex(max(0, self.selection_combo.findData(v)))
            elif name == "layer":
                self.layer_combo.setCurrentIndex(self._n_layers if int(v) < 0 else int(v))
            else:
                raise KeyError(name)

    def set_default_steps(self, steps: int) -> None:
        """The opened model's default maximum steps (``OptimizationConfig.steps_for(family)``):
        the steps box takes it unless the user changed the box from the previous default."""
        if self.steps_spin.value() == self._default_steps:
            self.steps_spin.setValue(int(steps))
        self._default_steps = int(steps)

    def set_layer_names(self, names) -> None:
        """The grid's row names (for the top-m layer choice)."""
        cur = self.layer_combo.currentIndex()
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        for n in names:
            self.layer_combo.addItem(str(n))
        if len(names) > 1:
            self.layer_combo.addItem("all layers")
        if names:
            first = NeighbourConfig.layer if 0 <= NeighbourConfig.layer < len(names) else 0
            self.layer_combo.setCurrentIndex(cur if 0 <= cur < self.layer_combo.count() else first)
        self._n_layers = len(names)
        self.layer_combo.blockSignals(False)

    # -- selected cells -------------------------------------------------------------------------
    def selected_locations(self) -> list[tuple[int, int]]:
        return list(self._selected)

    def toggle_location(self, layer: int, location: int) -> None:
        """Add (or remove) a grid cell to the selection and switch to the "cells" mode."""
        cell = (int(layer), int(location))
        if cell in self._selected:
            self._selected.remove(cell)
        else:
            self._selected.append(cell)
        if self._selected:
            self.selection_combo.setCurrentIndex(self.selection_combo.findData("cells"))
        self._update_selection_widgets()
        self.status_label.setText(self.selection_label.text() if self._selected else "")

    def set_selected_locations(self, cells) -> None:
        self._selected = [(int(a), int(b)) for a, b in cells]
        self._update_selection_widgets()

    def _clear_selection(self) -> None:
        self._selected = []
        self.selection_combo.setCurrentIndex(self.selection_combo.findData("top"))
        self._update_selection_widgets()
        self.sigClearSelection.emit()

    def _update_selection_widgets(self) -> None:
        cells = self.selection_mode() == "cells"
        self.top_spin.setEnabled(not cells)
        self.layer_combo.setEnabled(not cells)
        names = [self.layer_combo.itemText(i) for i in range(self.layer_combo.count())]
        if self._selected:
            txt = ", ".join(f"{names[r] if r < len(names) else r}@{i}" for r, i in self._selected)
            self.selection_label.setText(f"cells: {txt}")
        else:
            self.selection_label.setText("or click cells of the saliency grid")
        self.clear_button.setEnabled(bool(self._selected))

    # -- state ----------------------------------------------------------------------------------
    def current_result(self):
        """The :class:`~interp_engine.results.NeighbourScatter` shown (for figure export), or None."""
        return self._result

    @property
    def result(self):
        return self._result

    def set_busy(self, busy: bool, message: str = "") -> None:
        """Show a running computation (Compute disabled, Cancel and the progress bar on)."""
        self.compute_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setValue(0)
            if self._result is None:
                self.message_label.setText("Optimising inputs…")
                self.stack.setCurrentWidget(self.message_label)
            else:
                self.scatter.setOpacity(0.35)
        else:
            self.scatter.setOpacity(1.0)
        self.status_label.setText(message)

    def set_progress(self, done: int, total: int, message: str = "") -> None:
        if total > 0:
            self.progress.setValue(int(100 * done / total))
        if message:
            self.status_label.setText(message)

    def show_message(self, message: str) -> None:
        """Replace the plot by ``message`` (the last result is forgotten)."""
        self._result = None
        self._clear_plot()
        self.legend_label.clear()
        self.caption_label.hide()
        self.note_label.clear()
        self.message_label.setText(message)
        self.stack.setCurrentWidget(self.message_label)

    def set_status(self, message: str) -> None:
        self.status_label.setText(message)

    # -- drawing --------------------------------------------------------------------------------
    def _clear_plot(self) -> None:
        pi = self.plot.getPlotItem()
        for t in self._labels:
            pi.removeItem(t)
        for ln in self._lines:
            pi.removeItem(ln)
        self._labels, self._lines, self._points = [], [], []
        self._label_specs, self._label_rects = [], {}
        self.scatter.clear()

    def points(self) -> list[dict]:
        """Every drawn point: ``{"kind": "word"|"target", "word", "cosine", "layer", "location",
        "rank", "color" (QColor), "xy"}`` (for tests and export)."""
        return list(self._points)

    def set_result(self, result) -> None:
        """Show a :class:`~interp_engine.results.NeighbourScatter`."""
        self._result = result
        self._clear_plot()
        pi = self.plot.getPlotItem()
        spots = []
        label_font = QFont(self.font())
        label_font.setPointSizeF(max(label_font.pointSizeF() * 0.9, 7.0))
        target_font = QFont(label_font)
        target_font.setBold(True)
        words: dict[tuple[str, float, float], dict] = {}  # one label per drawn word position
        targets: list[dict] = []
        for loc in result.locations:
            color = location_color(loc.rank)
            tx, ty = (float(v) for v in loc.target_coords)
            for j, (w, s, (x, y)) in enumerate(zip(loc.words, loc.similarities, loc.coords)):
                x, y = float(x), float(y)
                self._points.append({"kind": "word", "word": w, "cosine": float(s), "layer": loc.layer,
                                     "location": loc.position, "rank": loc.rank, "color": color, "xy": (x, y)})
                spots.append({"pos": (x, y), "size": self.WORD_SIZE, "symbol": "o", "brush": pg.mkBrush(color),
                              "pen": pg.mkPen("w", width=0.8), "data": len(self._points) - 1})
                key = (w, round(x, 6), round(y, 6))
                if key in words:  # a word shared by several locations: its dot on top is the last one's
                    words[key]["color"] = color
                    words[key]["order"] = min(words[key]["order"], j)
                else:
                    words[key] = {"text": w, "xy": (x, y), "color": color, "order": j,
                                  "radius": self.WORD_SIZE / 2, "font": label_font, "z": 4}
            self._points.append({"kind": "target", "word": f"x_overall {loc.layer_name}@{loc.position}",
                                 "cosine": 1.0, "layer": loc.layer, "location": loc.position, "rank": loc.rank,
                                 "color": color, "xy": (tx, ty)})
            spots.append({"pos": (tx, ty), "size": self.STAR_SIZE, "symbol": "star", "brush": pg.mkBrush(color),
                          "pen": pg.mkPen("k", width=1.2), "data": len(self._points) - 1})
            targets.append({"text": f"{loc.layer_name}@{loc.position}", "xy": (tx, ty), "color": color, "order": -1,
                            "radius": self.STAR_SIZE / 2, "font": target_font, "z": 6})
            # dashed lines from the target to its neighbours (Yuan et al. Fig. 2)
            for x, y in loc.coords:
                ln = pg.PlotDataItem([tx, float(x)], [ty, float(y)],
                                     pen=pg.mkPen(QColor(color.red(), color.green(), color.blue(), 70), width=1,
                                                  style=Qt.PenStyle.DashLine))
                ln.setZValue(1)
                pi.addItem(ln)
                self._lines.append(ln)
        # placement priority: the stars, then each location's nearest words first
        self._label_specs = targets + sorted(words.values(), key=lambda d: d["order"])
        for spec in self._label_specs:
            t = pg.TextItem(spec["text"], color=spec["color"], anchor=(0, 0))
            t.setFont(spec["font"])
            t.textItem.document().setDocumentMargin(1)
            t.setPos(*spec["xy"])
            t.setZValue(spec["z"])
            pi.addItem(t)
            spec["item"] = t
            self._labels.append(t)
        self.scatter.setData(spots)
        self.scatter.setOpacity(1.0)
        xy = np.array([p["xy"] for p in self._points]) if self._points else np.zeros((1, 2))
        (x0, y0), (x1, y1) = xy.min(0), xy.max(0)
        dx, dy = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
        pi.getViewBox().setRange(xRange=(x0 - 0.2 * dx, x1 + 0.2 * dx), yRange=(y0 - 0.1 * dy, y1 + 0.12 * dy),
                                 padding=0.0)
        self._place_labels()
        names = result.prediction.class_names
        tname = class_name(names, result.target)
        proj = "t-SNE" if result.projection == "tsne" else "PCA"
        p = result.params
        self.title_label.setText(
            f"Words nearest to what each location detects (x_overall), class <b>{_esc(tname)}</b>"
            f" <span style='color:#666'>· {proj} · λ1 {p.get('lambda1')}, λ2 {p.get('lambda2')}, "
            f"≤ {p.get('steps')} steps · Yuan et al. eq. 5-8</span>")
        html, tip = legend(result)
        self.legend_label.setText(html)
        self.legend_label.setToolTip(tip)
        note = result.receptive_field_note
        # the grid already explains conv / LSTM receptive fields; for transformers say it here too
        self.note_label.setText(note if "whole sentence" in note else "")
        self.note_label.setVisible("whole sentence" in note)
        self.caption_label.show()
        self.stack.setCurrentWidget(self.plot)

    # -- label placement ------------------------------------------------------------------------
    def _place_labels(self, *_args) -> None:
        """Put every label next to its point where it overlaps no other label and no marker
        (greedy, stars first); a label with no free place is hidden (hover its point)."""
        specs = getattr(self, "_label_specs", [])
        self._label_rects = {}
        m = view_box_mapping(self.plot.getPlotItem().getViewBox()) if specs else None
        if m is None:
            return
        to_px, to_data, (w, h) = m
        markers = []
        for p in self._points:
            px, py = to_px(*p["xy"])
            r = (self.STAR_SIZE if p["kind"] == "target" else self.WORD_SIZE) / 2 + 1
            markers.append((px - r, py - r, 2 * r, 2 * r))
        sizes = [(s["item"].textItem.boundingRect().width(), s["item"].textItem.boundingRect().height()) for s in specs]
        rects = place_labels([to_px(*s["xy"]) for s in specs], sizes, [s["radius"] + 1 for s in specs],
                             markers, bounds=(0.0, 0.0, w, h))
        for i, (s, rect) in enumerate(zip(specs, rects)):
            s["item"].setVisible(rect is not None)
            if rect is not None:
                s["item"].setPos(*to_data(rect[0], rect[1]))
                self._label_rects[i] = tuple(float(v) for v in rect)

    def label_rects(self) -> dict[str, tuple]:
        """``{label text: (left, top, width, height)}`` in view-box pixels of every label shown."""
        specs = getattr(self, "_label_specs", [])
        return {specs[i]["text"]: r for i, r in getattr(self, "_label_rects", {}).items()}

    # -- interaction ----------------------------------------------------------------------------
    def _tip(self, x=None, y=None, data=None):
        if data is None or not 0 <= int(data) < len(self._points):
            return ""
        p = self._points[int(data)]
        if p["kind"] == "target":
            return f"{p['word']}\n(the mean of the optimised receptive field, eq. 8)"
        return f"{p['word']}\ncosine similarity {p['cosine']:.3f} to x_overall of location {p['location']}"

    def tooltip_for(self, index: int) -> str:
        """The hover text of point ``index`` (see :meth:`points`)."""
        return self._tip(data=index)

    def click_point(self, index: int) -> None:
        """Act as if point ``index`` was clicked (tests, keyboard)."""
        p = self._points[int(index)]
        if p["kind"] == "word":
            self.sigWordClicked.emit(p["word"])
        else:
            self.sigLocationClicked.emit(int(p["layer"]), int(p["location"]))

    def _on_clicked(self, _item, spots, _ev=None) -> None:
        if len(spots):
            self.click_point(int(spots[0].data()))
