"""The layer × location saliency grid (Yuan et al., eq. 3) drawn with pyqtgraph.

Rows are the model's hidden layers, columns the token locations. Following pyqtgraph's
``MatrixDisplayExample``: an :class:`~pyqtgraph.ImageItem` with ``axisOrder='row-major'``, cells
centred by ``QTransform().translate(-0.5, -0.5)``, text ticks via ``getAxis().setTicks``, and a
:class:`~pyqtgraph.ColorBarItem` on the shared diverging map, symmetric around 0. The three best
locations of each layer are outlined red, blue, green (best first); a clicked cell is reported
with :attr:`SaliencyGridPanel.sigCellClicked`; :meth:`SaliencyGridPanel.highlight_column`
outlines a whole column.

A sentence pair's grid has one column per token of the combined sequence (premise, then
hypothesis, special tokens included), a dashed vertical boundary before the hypothesis's first
location, and the segment names ("premise", "hypothesis") on the top axis above their columns.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPen, QTransform
from PySide6.QtWidgets import QGraphicsRectItem, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from interp_engine.results import segment_rows

from ..colors import MARK_COLOR_NAMES, MARK_COLORS, OTHER_MARK_COLOR, diverging_colormap, format_score, symmetric_limit


class TokenAxisItem(pg.AxisItem):
    """A bottom axis whose tick labels (tokens) are drawn slanted so long sentences stay readable."""

    ANGLE = 60.0
    MAX_CHARS = 16

    def __init__(self, orientation: str = "bottom", **kwargs):
        super().__init__(orientation, **kwargs)
        self._labels: list[str] = []
        self._overhang = 0.0

    def set_labels(self, labels) -> None:
        """One label per integer position 0..n-1."""
        self._labels = [self._elide(str(s)) for s in labels]
        self.setTicks([[(i, "") for i in range(len(self._labels))]])
        font = self.style.get("tickFont") or self.font()
        fm = QFontMetricsF(font)
        widest = max((fm.horizontalAdvance(s) for s in self._labels), default=0.0)
        a = math.radians(self.ANGLE)
        self.prepareGeometryChange()
        self._overhang = widest * math.cos(a) + fm.height()
        height = widest * math.sin(a) + fm.height() * math.cos(a) + max(0, self.style["tickLength"]) + 8
        self.setHeight(int(math.ceil(max(height, fm.height() + 8))))

    def labels(self) -> list[str]:
        return list(self._labels)

    def _elide(self, s: str) -> str:
        s = s if s.strip() else "␣"
        return s if len(s) <= self.MAX_CHARS else s[: self.MAX_CHARS - 1] + "…"

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-self._overhang, 0, 0, 0)

    def generateDrawSpecs(self, p):
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis_spec, tick_specs, _ = specs
        bounds = self.mapRectFromParent(self.geometry())
        lo, hi = self.range
        if hi == lo:
            return axis_spec, tick_specs, []
        scale = bounds.width() / (hi - lo)
        texts = []
        for i, label in enumerate(self._labels):
            x = (i - lo) * scale
            if -1 <= x <= bounds.width() + 1:
                texts.append((x, label))
        return axis_spec, tick_specs, texts

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):
        p.setRenderHint(p.RenderHint.Antialiasing, False)
        p.setRenderHint(p.RenderHint.TextAntialiasing, True)
        pen, p1, p2 = axisSpec
        p.setPen(pen)
        p.drawLine(p1, p2)
        for tpen, a, b in tickSpecs:
            p.setPen(tpen)
            p.drawLine(a, b)
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        p.setPen(self.textPen())
        fm = QFontMetricsF(p.font())
        h = fm.height()
        y0 = self.mapRectFromParent(self.geometry()).top() + max(0, self.style["tickLength"]) + 3
        for x, label in textSpecs:
            w = fm.horizontalAdvance(label) + 2
            p.save()
            p.translate(x + h * 0.25, y0)
            p.rotate(-self.ANGLE)
            p.drawText(QRectF(-w, -h / 2, w, h), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), label)
            p.restore()


class _GridImage(pg.ImageItem):
    """ImageItem that reports left clicks and hovers as (row, column) cells."""

    sigCellClicked = Signal(int, int)
    sigCellHovered = Signal(int, int)  # (-1, -1) when the mouse leaves

    def _cell(self, pos) -> tuple[int, int] | None:
        img = self.image
        if img is None:
            return None
        col, row = int(math.floor(pos.x())), int(math.floor(pos.y()))
        if 0 <= row < img.shape[0] and 0 <= col < img.shape[1]:
            return row, col
        return None

    def mouseClickEvent(self, ev):
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        cell = self._cell(ev.pos())
        if cell is not None:
            ev.accept()
            self.sigCellClicked.emit(*cell)

    def hoverEvent(self, ev):
        if ev.isExit():
            self.sigCellHovered.emit(-1, -1)
            return
        cell = self._cell(ev.pos())
        self.sigCellHovered.emit(*(cell if cell is not None else (-1, -1)))


class SaliencyGridPanel(QWidget):
    """Layer × location saliency heatmap with top-3 marks and a column highlight.

    Signals:
        sigCellClicked(layer, location): the user clicked a cell (row index, token index).
    """

    sigCellClicked = Signal(int, int)

    INSET = 0.07

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._result = None
        self._marks: list[tuple[int, int, str]] = []
        self._mark_items: list[QGraphicsRectItem] = []
        self._column: int | None = None

        self.title_label = QLabel()
        self.title_label.setObjectName("gridTitle")
        self.title_label.setTextFormat(Qt.TextFormat.RichText)
        self.title_label.setWordWrap(True)
        self.status_label = QLabel()
        self.status_label.setObjectName("gridStatus")
        self.status_label.setStyleSheet("color: #8a5a00;")
        head = QHBoxLayout()
        head.addWidget(self.title_label, 1)
        head.addWidget(self.status_label)

        self.plot = pg.PlotWidget(background="w", axisItems={"bottom": TokenAxisItem("bottom")})
        self.plot.setObjectName("saliencyPlot")
        pi = self.plot.getPlotItem()
        pi.invertY(True)
        pi.setDefaultPadding(0.0)
        pi.setMouseEnabled(x=False, y=False)
        pi.hideButtons()
        pi.setMenuEnabled(False)
        pi.getViewBox().setMenuEnabled(False)
        tick_font = QFont(self.font())
        for name in ("left", "bottom"):
            ax = pi.getAxis(name)
            ax.setPen(pg.mkPen("k"))
            ax.setTextPen(pg.mkPen("k"))
            ax.setStyle(tickFont=tick_font, tickLength=4)
        self.bottom_axis: TokenAxisItem = pi.getAxis("bottom")

        self.image = _GridImage(axisOrder="row-major")
        self.image.setTransform(QTransform().translate(-0.5, -0.5))
        pi.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=diverging_colormap(), interactive=False,
                                        width=14, pen="k")
        self.colorbar.setImageItem(self.image, insert_in=pi)
        self.colorbar.axis.setPen(pg.mkPen("k"))
        self.colorbar.axis.setTextPen(pg.mkPen("k"))
        self.colorbar.axis.setStyle(tickFont=tick_font)
        self.colorbar.axis.enableAutoSIPrefix(False)

        # a pair: the segments' names on the top axis and a boundary line between them
        top_axis = pi.getAxis("top")
        top_axis.setPen(pg.mkPen("k"))
        top_axis.setTextPen(pg.mkPen("k"))
        bold = QFont(tick_font)
        bold.setBold(True)
        top_axis.setStyle(tickFont=bold, tickLength=0)
        pi.hideAxis("top")
        self._boundaries: list[pg.InfiniteLine] = []
        self._segment_ticks: list[tuple[float, str]] = []

        self._column_items = [self._rect_item(QColor(255, 255, 255), 6, 20), self._rect_item(QColor(0, 0, 0), 2.5, 21)]
        for it in self._column_items:
            it.hide()

        self.message_label = QLabel()
        self.message_label.setObjectName("gridMessage")
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #777; background: white;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message_label)
        self.stack.addWidget(self.plot)

        self.note_label = QLabel()
        self.note_label.setObjectName("receptiveFieldNote")
        self.note_label.setWordWrap(True)
        small = QFont(self.font())
        small.setPointSizeF(max(small.pointSizeF() * 0.92, 7.5))
        self.note_label.setFont(small)
        self.note_label.setStyleSheet("color: #555;")
        self.legend_label = QLabel(
            "Top locations per layer: <b style='color:#e60000'>■ 1st</b> &nbsp;"
            "<b style='color:#003ceb'>■ 2nd</b> &nbsp;<b style='color:#00a528'>■ 3rd</b>"
            " &nbsp;· click a cell to outline its receptive field in the sentence")
        self.legend_label.setFont(small)
        self.legend_label.setWordWrap(True)  # a long one-line legend would set the dock's minimum width

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(head)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.legend_label)
        lay.addWidget(self.note_label)

        self.image.sigCellClicked.connect(self._on_cell_clicked)
        self.image.sigCellHovered.connect(self._on_cell_hovered)
        self.clear("The layer × location saliency of the current sentence appears here.")

    def _rect_item(self, color: QColor, width: float, z: float) -> QGraphicsRectItem:
        item = QGraphicsRectItem()
        pen = QPen(color, width)
        pen.setCosmetic(True)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        item.setPen(pen)
        item.setBrush(Qt.BrushStyle.NoBrush)
        item.setZValue(z)
        item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.plot.getPlotItem().addItem(item, ignoreBounds=True)
        return item

    # -- results ----------------------------------------------------------------------------
    @property
    def result(self):
        """The HiddenSaliency shown, or None."""
        return self._result

    def current_result(self):
        """The HiddenSaliency shown (for figure export), or None."""
        return self._result

    def set_result(self, saliency) -> None:
        """Show a :class:`~interp_engine.results.HiddenSaliency`."""
        hs = saliency
        scores = np.asarray(hs.scores, dtype=float)
        if scores.ndim != 2 or scores.shape != (len(hs.layer_names), len(hs.tokens)):
            raise ValueError(f"scores of shape {scores.shape} do not match {len(hs.layer_names)} layers × "
                             f"{len(hs.tokens)} tokens")
        self._result = hs
        R, n = scores.shape
        m = symmetric_limit(scores)
        m = m if m > 0 else 1.0
        self.image.setImage(np.nan_to_num(scores, nan=0.0), autoLevels=False)
        self.colorbar.setLevels((-m, m))
        pi = self.plot.getPlotItem()
        pi.getAxis("left").setTicks([[(r, str(name)) for r, name in enumerate(hs.layer_names)]])
        self.bottom_axis.set_labels(hs.tokens)
        pi.getViewBox().setRange(xRange=(-0.5, n - 0.5), yRange=(-0.5, R - 0.5), padding=0.0)
        self._set_marks(hs.top_locations)
        self._set_segments(hs)
        self.highlight_column(None)
        names = tuple(hs.prediction.class_names)
        tname = names[hs.target] if 0 <= hs.target < len(names) else str(hs.target)
        self.title_label.setText(f"Saliency of each layer's hidden locations for class <b>{_esc(tname)}</b>"
                                 f" &nbsp;<span style='color:#666'>(Yuan et al. eq. 3; logit units)</span>")
        self.note_label.setText("Receptive fields: " + hs.receptive_field_note if hs.receptive_field_note else "")
        self.status_label.clear()
        self.plot.setEnabled(True)
        self.image.setOpacity(1.0)
        self.stack.setCurrentWidget(self.plot)

    def _set_marks(self, top_locations) -> None:
        pi = self.plot.getPlotItem()
        for item in self._mark_items:
            pi.removeItem(item)
        self._mark_items = []
        self._marks = []
        d = self.INSET
        for r, locs in enumerate(top_locations):
            for rank, loc in enumerate(tuple(locs)[: len(MARK_COLORS)]):
                rect = QRectF(loc - 0.5 + d, r - 0.5 + d, 1 - 2 * d, 1 - 2 * d)
                halo = self._rect_item(QColor(255, 255, 255), 6, 10)
                mark = self._rect_item(MARK_COLORS[rank], 3, 11)
                halo.setRect(rect)
                mark.setRect(rect)
                self._mark_items += [halo, mark]
                self._marks.append((r, int(loc), MARK_COLOR_NAMES[rank]))

    def _set_segments(self, hs) -> None:
        """A pair: boundary lines before each later segment's first location, names on the top axis."""
        pi = self.plot.getPlotItem()
        for line in self._boundaries:
            pi.removeItem(line)
        self._boundaries, self._segment_ticks = [], []
        rows = [(n, pos) for n, pos in _pair_rows(hs) if pos] if hs is not None else []
        if not rows:
            pi.hideAxis("top")
            return
        for k, (name, pos) in enumerate(rows):
            self._segment_ticks.append(((pos[0] + pos[-1]) / 2, name))
            if k:
                line = pg.InfiniteLine(pos=pos[0] - 0.5, angle=90, movable=False,
                                       pen=pg.mkPen(QColor(30, 30, 30), width=2.5, style=Qt.PenStyle.DashLine))
                line.setZValue(15)
                pi.addItem(line, ignoreBounds=True)
                self._boundaries.append(line)
        pi.showAxis("top")
        pi.getAxis("top").setTicks([self._segment_ticks, []])

    def segment_boundaries(self) -> list[float]:
        """x of each boundary line between a pair's segments (between two columns), or []."""
        return [float(line.value()) for line in self._boundaries]

    def segment_labels(self) -> list[tuple[float, str]]:
        """``(column centre, name)`` of each segment label on the top axis of a pair's grid, or []."""
        return list(self._segment_ticks)

    def marks(self) -> list[tuple[int, int, str]]:
        """``(layer, location, colour name)`` of every top-location mark, best first per layer."""
        return list(self._marks)

    def mark_color(self, layer: int, location: int) -> QColor | None:
        """Colour of the mark on (layer, location), or None when it is not in the top 3."""
        if self._result is None:
            return None
        locs = tuple(self._result.top_locations[layer])[: len(MARK_COLORS)]
        return QColor(MARK_COLORS[locs.index(location)]) if location in locs else None

    def receptive_field_color(self, layer: int, location: int) -> QColor:
        """Outline colour for the receptive field of a cell: its mark colour, else black."""
        return self.mark_color(layer, location) or QColor(OTHER_MARK_COLOR)

    def set_computing(self, message: str = "computing…") -> None:
        """Show that a new result is on its way (the old grid stays, faded)."""
        self.status_label.setText(message)
        if self._result is None:
            self.message_label.setText("Computing…")
            self.stack.setCurrentWidget(self.message_label)
        else:
            self.image.setOpacity(0.35)

    def show_message(self, message: str) -> None:
        """Replace the grid by ``message``."""
        self.clear(message)

    def clear(self, message: str = "") -> None:
        """Remove the result and show ``message``."""
        self._result = None
        self._set_marks(())
        self._set_segments(None)
        self.highlight_column(None)
        self.image.clear()
        self.status_label.clear()
        self.title_label.setText("Saliency of each layer's hidden locations")
        self.note_label.setText("")
        self.message_label.setText(message)
        self.stack.setCurrentWidget(self.message_label)

    # -- interaction ------------------------------------------------------------------------
    def highlight_column(self, location: int | None) -> None:
        """Outline column ``location`` across all layers (None: remove the outline)."""
        hs = self._result
        if location is None or hs is None or not 0 <= location < len(hs.tokens):
            self._column = None
            for it in self._column_items:
                it.hide()
            return
        self._column = int(location)
        rect = QRectF(location - 0.5, -0.5, 1.0, len(hs.layer_names))
        for it in self._column_items:
            it.setRect(rect)
            it.show()

    def highlighted_column(self) -> int | None:
        """The outlined column, or None."""
        return self._column

    def cell_center(self, layer: int, location: int) -> QPoint:
        """Centre of a cell in ``self.plot.viewport()`` coordinates (for tests and tours)."""
        vb = self.plot.getPlotItem().getViewBox()
        scene = vb.mapViewToScene(QPointF(location, layer))
        return self.plot.mapFromScene(scene)

    def _on_cell_clicked(self, row: int, col: int) -> None:
        self.sigCellClicked.emit(row, col)

    def _on_cell_hovered(self, row: int, col: int) -> None:
        hs = self._result
        if hs is None or row < 0:
            self.plot.setToolTip("")
            return
        a, b = (int(v) for v in hs.receptive_fields[row, col])
        rank = ""
        locs = tuple(hs.top_locations[row])
        if col in locs[: len(MARK_COLORS)]:
            rank = f"  (#{locs.index(col) + 1} of {hs.layer_names[row]})"
        seg = next((f" ({n})" for n, pos in _pair_rows(hs) if col in pos), "")
        self.plot.setToolTip(
            f"{hs.layer_names[row]}, location {col} “{hs.tokens[col]}”{seg}{rank}\n"
            f"saliency {format_score(float(hs.scores[row, col]))}\n"
            f"receptive field: tokens {a}–{b} “{' '.join(hs.tokens[a:b + 1])}”")


def _pair_rows(hs) -> list:
    """The segments of a pair's grid (``segment_rows``), or [] for one text."""
    names = tuple(getattr(hs, "segment_names", ()) or ())
    if getattr(hs, "segments", None) is None or len(names) < 2:
        return []
    return segment_rows(hs.tokens, hs.segments, names)


def _esc(s: str) -> str:
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
