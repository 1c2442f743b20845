"""The sentence heatmap: tokens as coloured boxes that wrap like text.

:class:`TokenHeatmapView` paints one box per token, coloured on the shared diverging scale
(red = evidence for the target class, blue = against, white = 0, symmetric at ±max|score|),
with hover tooltips, click → :attr:`TokenHeatmapView.sigTokenClicked`, greyed special tokens and
an optional outlined receptive-field range. :class:`SentenceHeatmapPanel` adds the method and
target selectors, the prediction, the truncation note and a colour bar with the units.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QLinearGradient, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ..colors import (
    DIVERGING_STOPS,
    SPECIAL_FILL,
    SPECIAL_TEXT,
    diverging_qcolor,
    format_score,
    symmetric_limit,
    text_color_on,
)

#: display names of the engine's attribution methods (unknown keys get a generated name)
FRIENDLY_METHOD_NAMES = {
    "grad": "Gradient",
    "grad_input": "Gradient × input",
    "marginalization": "Marginalization (WoE)",
    "zero": "Erasure: zero vector",
    "unk": "Erasure: [UNK]",
    "integrated_gradients": "Integrated gradients",
    "lime": "LIME",
}

PREDICTED_TARGET_LABEL = "predicted"


def friendly_method_name(key: str) -> str:
    """Menu name of an attribution method key (``grad_input`` → ``Gradient × input``)."""
    return FRIENDLY_METHOD_NAMES.get(key, key.replace("_", " ").capitalize())


class TokenHeatmapView(QWidget):
    """Tokens as coloured boxes that wrap across lines.

    Signals:
        sigTokenClicked(int): index of the token the user clicked.
    """

    sigTokenClicked = Signal(int)

    MARGIN = 10
    PAD_X = 6
    PAD_Y = 4
    GAP_X = 6
    GAP_Y = 14
    MAX_CHARS = 32

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 9.0) * 1.35)
        self.setFont(font)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(160)
        self._tokens: tuple[str, ...] = ()
        self._scores = np.zeros(0)
        self._special = np.zeros(0, dtype=bool)
        self._vmax = 0.0
        self._rects: list[QRectF] = []
        self._layout_width = -1
        self._content_height = 0
        self._rf: tuple[int, int, QColor] | None = None
        self._selected: int | None = None
        self._dimmed = False
        self._placeholder = ""

    # -- content ----------------------------------------------------------------------------
    def set_tokens(self, tokens: Sequence[str], scores: np.ndarray, special: np.ndarray | None = None) -> None:
        """Show ``tokens`` (n strings) coloured by ``scores`` (n,); ``special`` (n,) bool greys them.

        The colour scale is symmetric at ±max|score| over the non-special tokens.
        """
        scores = np.asarray(scores, dtype=float).reshape(-1)
        if len(tokens) != len(scores):
            raise ValueError(f"{len(tokens)} tokens but {len(scores)} scores")
        special = np.zeros(len(tokens), dtype=bool) if special is None else np.asarray(special, dtype=bool).reshape(-1)
        self._tokens = tuple(str(t) for t in tokens)
        self._scores = scores
        self._special = special
        self._vmax = symmetric_limit(scores, ~special) if (~special).any() else symmetric_limit(scores)
        self._rf = None
        self._selected = None
        self._dimmed = False
        self._placeholder = ""
        self._relayout(force=True)
        self.update()

    def clear(self, placeholder: str = "") -> None:
        """Remove the tokens and show ``placeholder`` instead."""
        self._tokens = ()
        self._scores = np.zeros(0)
        self._special = np.zeros(0, dtype=bool)
        self._vmax = 0.0
        self._rf = None
        self._selected = None
        self._dimmed = False
        self._placeholder = placeholder
        self._relayout(force=True)
        self.update()

    def set_placeholder(self, text: str) -> None:
        """Text drawn when there are no tokens ("Computing…", an error, a hint)."""
        self._placeholder = text
        self.update()

    def set_dimmed(self, dimmed: bool) -> None:
        """Fade the tokens (a newer result is being computed)."""
        self._dimmed = bool(dimmed)
        self.update()

    @property
    def vmax(self) -> float:
        """Half-width of the symmetric colour scale (max|score| over non-special tokens)."""
        return self._vmax

    @property
    def tokens(self) -> tuple[str, ...]:
        return self._tokens

    def token_count(self) -> int:
        return len(self._tokens)

    def token_rect(self, i: int) -> QRect:
        """Box of token ``i`` in widget coordinates."""
        self._relayout()
        return self._rects[i].toAlignedRect()

    def token_color(self, i: int) -> QColor:
        """Fill colour of token ``i`` (grey for special tokens)."""
        if self._special[i]:
            return QColor(SPECIAL_FILL)
        return diverging_qcolor(float(self._scores[i]), self._vmax)

    def index_at(self, pos: QPointF) -> int | None:
        """Index of the token under ``pos`` (widget coordinates), or None."""
        self._relayout()
        p = QPointF(pos)
        for i, r in enumerate(self._rects):
            if r.contains(p):
                return i
        return None

    def tooltip_text(self, i: int) -> str:
        """Hover text of token ``i``: the token, its index and its score."""
        kind = " (special token)" if self._special[i] else ""
        return f"“{self._tokens[i]}”  token {i}{kind}\nscore {format_score(float(self._scores[i]))}"

    def set_receptive_field(self, first: int, last: int, color: QColor | str) -> None:
        """Outline tokens ``first..last`` (inclusive) in ``color``."""
        n = len(self._tokens)
        if n == 0:
            return
        first, last = max(0, int(first)), min(n - 1, int(last))
        if first > last:
            first, last = last, first
        self._rf = (first, last, QColor(color))
        self.update()

    def clear_receptive_field(self) -> None:
        self._rf = None
        self.update()

    def receptive_field(self) -> tuple[int, int, QColor] | None:
        """The outlined range ``(first, last, color)``, or None."""
        return self._rf

    def set_selected(self, i: int | None) -> None:
        """Underline token ``i`` (None: no selection)."""
        self._selected = None if i is None or not 0 <= i < len(self._tokens) else int(i)
        self.update()

    def selected(self) -> int | None:
        return self._selected

    # -- layout -----------------------------------------------------------------------------
    def _display(self, tok: str) -> str:
        tok = tok if tok.strip() else "␣"
        return tok if len(tok) <= self.MAX_CHARS else tok[: self.MAX_CHARS - 1] + "…"

    def _relayout(self, force: bool = False) -> None:
        width = self.width()
        if not force and width == self._layout_width and len(self._rects) == len(self._tokens):
            return
        self._layout_width = width
        fm = QFontMetricsF(self.font())
        h = fm.height() + 2 * self.PAD_Y
        x, y = float(self.MARGIN), float(self.MARGIN)
        right = max(width - self.MARGIN, self.MARGIN + 40)
        rects = []
        for tok in self._tokens:
            w = max(fm.horizontalAdvance(self._display(tok)) + 2 * self.PAD_X, h * 0.9)
            if x + w > right and x > self.MARGIN:
                x = float(self.MARGIN)
                y += h + self.GAP_Y
            rects.append(QRectF(x, y, w, h))
            x += w + self.GAP_X
        self._rects = rects
        content = int(y + h + self.MARGIN) if rects else 3 * self.MARGIN + int(h)
        if content != self._content_height:
            self._content_height = content
            self.setMinimumHeight(content)
            self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(600, max(self._content_height, 60))

    def resizeEvent(self, event) -> None:
        self._relayout()
        super().resizeEvent(event)

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        self._relayout()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.fillRect(self.rect(), self.palette().base())
        if not self._tokens:
            if self._placeholder:
                p.setPen(QColor(120, 120, 120))
                p.drawText(self.rect().adjusted(12, 12, -12, -12),
                           int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self._placeholder)
            p.end()
            return
        if self._dimmed:
            p.setOpacity(0.35)
        italic = QFont(self.font())
        italic.setItalic(True)
        border = QPen(QColor(190, 190, 190), 1.0)
        for i, (tok, r) in enumerate(zip(self._tokens, self._rects)):
            fill = self.token_color(i)
            path = QPainterPath()
            path.addRoundedRect(r, 3, 3)
            p.fillPath(path, fill)
            p.setPen(border)
            p.drawPath(path)
            if self._special[i]:
                p.setFont(italic)
                p.setPen(SPECIAL_TEXT)
            else:
                p.setFont(self.font())
                p.setPen(text_color_on(fill))
            p.drawText(r, int(Qt.AlignmentFlag.AlignCenter), self._display(tok))
        if self._selected is not None:
            r = self._rects[self._selected]
            p.fillRect(QRectF(r.left(), r.bottom() + 3, r.width(), 3), QColor(30, 30, 30))
        if self._rf is not None:
            self._paint_receptive_field(p)
        p.end()

    def _paint_receptive_field(self, p: QPainter) -> None:
        first, last, color = self._rf
        rows: dict[float, QRectF] = {}
        for i in range(first, last + 1):
            r = self._rects[i]
            rows[r.top()] = rows[r.top()].united(r) if r.top() in rows else QRectF(r)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for r in rows.values():
            box = r.adjusted(-4, -4, 4, 4)
            p.setPen(QPen(QColor(255, 255, 255), 6))
            p.drawRoundedRect(box, 5, 5)
            p.setPen(QPen(color, 3))
            p.drawRoundedRect(box, 5, 5)

    # -- interaction ------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            i = self.index_at(event.position())
            if i is not None:
                self.set_selected(i)
                self.sigTokenClicked.emit(i)
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        over = self.index_at(event.position()) is not None
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            i = self.index_at(QPointF(event.pos()))
            if i is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), self.tooltip_text(i), self, self.token_rect(i))
            return True
        return super().event(event)


class ColorBarWidget(QWidget):
    """A horizontal diverging colour bar with numeric ticks at -v, -v/2, 0, v/2, v."""

    BAR_HEIGHT = 12
    MAX_BAR_WIDTH = 320

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._vmax = 0.0
        fm = QFontMetricsF(self.font())
        self.setFixedHeight(int(6 + self.BAR_HEIGHT + 5 + fm.height() + 4))
        self.setMinimumWidth(220)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        fm = QFontMetricsF(self.font())
        return QSize(int(self.MAX_BAR_WIDTH + fm.horizontalAdvance("-0.000e-00") + 8), self.height())

    def set_scale(self, vmax: float) -> None:
        """Set the half-width ``vmax`` of the symmetric scale (0: a single 0 tick)."""
        self._vmax = float(vmax) if np.isfinite(vmax) else 0.0
        self.update()

    def ticks(self) -> list[tuple[float, str]]:
        """``(value, label)`` of each tick."""
        v = self._vmax
        if v <= 0:
            return [(0.0, "0")]
        ticks = [(x, "0" if x == 0 else format_score(x)) for x in (-v, -v / 2, 0.0, v / 2, v)]
        fm = QFontMetricsF(self.font())
        step = self._bar_rect().width() / 4
        if max(fm.horizontalAdvance(t) for _, t in ticks) + 6 > step:  # crowded: ends and 0 only
            ticks = ticks[::2]
        return ticks

    def _bar_rect(self) -> QRectF:
        fm = QFontMetricsF(self.font())
        side = fm.horizontalAdvance("-0.000e-00") / 2 + 4
        w = min(self.MAX_BAR_WIDTH, self.width() - 2 * side)
        return QRectF(side, 6, max(w, 40), self.BAR_HEIGHT)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        bar = self._bar_rect()
        grad = QLinearGradient(bar.topLeft(), bar.topRight())
        for k, (r, g, b) in enumerate(DIVERGING_STOPS):
            grad.setColorAt(k / (len(DIVERGING_STOPS) - 1), QColor(int(r), int(g), int(b)))
        p.fillRect(bar, QBrush(grad))
        p.setPen(QPen(QColor(120, 120, 120), 1))
        p.drawRect(bar)
        fm = QFontMetricsF(self.font())
        v = self._vmax
        for value, label in self.ticks():
            x = bar.center().x() if v <= 0 else bar.left() + (value + v) / (2 * v) * bar.width()
            p.setPen(QPen(QColor(60, 60, 60), 1))
            p.drawLine(QPointF(x, bar.bottom()), QPointF(x, bar.bottom() + 4))
            tw = fm.horizontalAdvance(label)
            p.drawText(QRectF(x - tw / 2 - 2, bar.bottom() + 5, tw + 4, fm.height()),
                       int(Qt.AlignmentFlag.AlignCenter), label)
        p.end()


class SentenceHeatmapPanel(QWidget):
    """Method/target selectors, the prediction, the token heatmap and its colour bar.

    Args:
        methods: attribution method key → units description (``ATTRIBUTION_METHODS``).

    Signals:
        sigTokenClicked(int): a token was clicked.
        sigMethodChanged(str): the user chose another method (its key).
        sigTargetChanged(object): the user chose another target (class index, or None for
            the predicted class).
    """

    sigTokenClicked = Signal(int)
    sigMethodChanged = Signal(str)
    sigTargetChanged = Signal(object)

    def __init__(self, methods: Mapping[str, str] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._result = None

        self.method_combo = QComboBox()
        self.method_combo.setObjectName("methodCombo")
        self.method_combo.setToolTip("Attribution method")
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("targetCombo")
        self.target_combo.setToolTip("Class whose score is explained")
        self.target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.status_label = QLabel()
        self.status_label.setObjectName("heatmapStatus")
        self.status_label.setStyleSheet("color: #8a5a00;")

        top = QHBoxLayout()
        top.addWidget(QLabel("Method:"))
        top.addWidget(self.method_combo)
        top.addSpacing(12)
        top.addWidget(QLabel("Target:"))
        top.addWidget(self.target_combo)
        top.addStretch(1)
        top.addWidget(self.status_label)

        self.prediction_label = QLabel()
        self.prediction_label.setObjectName("predictionLabel")
        self.prediction_label.setTextFormat(Qt.TextFormat.RichText)
        self.prediction_label.setWordWrap(True)

        self.view = TokenHeatmapView()
        self.view.setObjectName("tokenHeatmap")
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.view)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QFrame.Shape.StyledPanel)
        self.scroll.setMinimumHeight(90)

        self.truncated_label = QLabel(
            "⚠ This sentence is longer than the model's maximum length: it was truncated, "
            "and only the tokens shown were seen by the model.")
        self.truncated_label.setObjectName("truncatedNote")
        self.truncated_label.setWordWrap(True)
        self.truncated_label.setStyleSheet("color: #a04000;")
        self.truncated_label.hide()

        self.colorbar = ColorBarWidget()
        self.scale_label = QLabel()
        self.scale_label.setObjectName("scaleLabel")
        self.scale_label.setWordWrap(True)
        self.scale_label.setStyleSheet("color: #444;")
        bottom = QHBoxLayout()
        bottom.addWidget(self.colorbar, 0)
        bottom.addWidget(self.scale_label, 1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.prediction_label)
        lay.addWidget(self.scroll, 1)
        lay.addWidget(self.truncated_label)
        lay.addLayout(bottom)

        self.view.sigTokenClicked.connect(self.sigTokenClicked)
        self.method_combo.currentIndexChanged.connect(self._on_method_changed)
        self.target_combo.currentIndexChanged.connect(self._on_target_changed)

        self.set_methods(methods or {k: "" for k in FRIENDLY_METHOD_NAMES})
        self.set_class_names(())
        self.clear("Open a model (File → Open Model…, or File → Open Demo) and choose or type a sentence.")

    # -- selectors --------------------------------------------------------------------------
    def set_methods(self, methods: Mapping[str, str]) -> None:
        """Fill the method selector from ``{key: units}`` (keeps the current choice if offered)."""
        current = self.method()
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        for key, units in methods.items():
            self.method_combo.addItem(friendly_method_name(key), key)
            self.method_combo.setItemData(self.method_combo.count() - 1, units, Qt.ItemDataRole.ToolTipRole)
        i = self.method_combo.findData(current)
        self.method_combo.setCurrentIndex(i if i >= 0 else 0)
        self.method_combo.blockSignals(False)

    def set_class_names(self, names: Sequence[str]) -> None:
        """Fill the target selector: "predicted" then one entry per class."""
        current = self.target()
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        self.target_combo.addItem(PREDICTED_TARGET_LABEL, None)
        for i, name in enumerate(names):
            self.target_combo.addItem(str(name), i)
        idx = self.target_combo.findData(current) if current is not None else 0
        self.target_combo.setCurrentIndex(idx if idx >= 0 else 0)
        self.target_combo.blockSignals(False)

    def method(self) -> str | None:
        """Key of the chosen attribution method."""
        return self.method_combo.currentData() if self.method_combo.count() else None

    def set_method(self, key: str) -> None:
        """Choose method ``key`` programmatically (emits :attr:`sigMethodChanged` if it changes)."""
        i = self.method_combo.findData(key)
        if i >= 0:
            self.method_combo.setCurrentIndex(i)

    def target(self) -> int | None:
        """Chosen target class index, or None for "predicted"."""
        if self.target_combo.count() == 0:
            return None
        data = self.target_combo.currentData()
        return None if data is None else int(data)

    def set_target(self, target: int | None) -> None:
        """Choose ``target`` programmatically (emits :attr:`sigTargetChanged` if it changes)."""
        i = self.target_combo.findData(target) if target is not None else 0
        if i >= 0:
            self.target_combo.setCurrentIndex(i)

    def _on_method_changed(self, _index: int) -> None:
        key = self.method()
        if key is not None:
            self.sigMethodChanged.emit(key)

    def _on_target_changed(self, _index: int) -> None:
        self.sigTargetChanged.emit(self.target())

    # -- results ----------------------------------------------------------------------------
    @property
    def result(self):
        """The TokenAttribution shown, or None."""
        return self._result

    def set_result(self, attribution) -> None:
        """Show a :class:`~interp_engine.results.TokenAttribution`."""
        a = attribution
        self._result = a
        self.status_label.clear()
        self.view.set_tokens(a.tokens, a.scores, a.special)
        pred = a.prediction
        names = tuple(pred.class_names)
        pname = names[pred.predicted] if 0 <= pred.predicted < len(names) else str(pred.predicted)
        tname = names[a.target] if 0 <= a.target < len(names) else str(a.target)
        probs = np.asarray(pred.probabilities, dtype=float)
        text = (f"Predicted: <b>{_esc(pname)}</b> (p = {probs[pred.predicted]:.3f})"
                f" &nbsp;·&nbsp; explaining: <b>{_esc(tname)}</b>")
        if len(names) <= 6:
            text += " &nbsp;·&nbsp; " + ", ".join(f"{_esc(n)} {p:.3f}" for n, p in zip(names, probs))
        self.prediction_label.setText(text)
        self.truncated_label.setVisible(bool(a.truncated))
        self.colorbar.set_scale(self.view.vmax)
        self.colorbar.show()
        method = friendly_method_name(a.method)
        seconds = getattr(a, "seconds", None)
        timing = f" &nbsp;<span style='color:#888'>({seconds:.2g} s)</span>" if seconds else ""
        self.scale_label.setText(
            f"<b>{_esc(method)}</b> — {_esc(a.units)}{timing}<br>"
            f"<span style='color:#b2182b'>red</span> = evidence for “{_esc(tname)}”, "
            f"<span style='color:#2166ac'>blue</span> = against; scale ±max|score|")

    def set_computing(self, message: str = "computing…") -> None:
        """Show that a new result is on its way (the old one stays, faded)."""
        self.status_label.setText(message)
        if self.view.token_count():
            self.view.set_dimmed(True)
        else:
            self.view.set_placeholder("Computing…")

    def show_message(self, message: str) -> None:
        """Replace the heatmap by ``message`` (an error, a hint)."""
        self.status_label.clear()
        self.clear(message)

    def clear(self, placeholder: str = "") -> None:
        """Remove the result; show ``placeholder`` in its place."""
        self._result = None
        self.view.clear(placeholder)
        self.prediction_label.setText("")
        self.truncated_label.hide()
        self.colorbar.set_scale(0.0)
        self.colorbar.hide()
        self.scale_label.setText("")

    def set_receptive_field(self, first: int, last: int, color: QColor | str) -> None:
        """Outline tokens ``first..last`` (inclusive) in ``color``."""
        self.view.set_receptive_field(first, last, color)

    def clear_receptive_field(self) -> None:
        self.view.clear_receptive_field()

    def token_rect(self, i: int) -> QRect:
        """Box of token ``i`` in :attr:`view` coordinates."""
        return self.view.token_rect(i)


def _esc(s: str) -> str:
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
