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
from PySide6.QtGui import QAction, QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from interp_engine.results import short_units  # noqa: F401 - re-exported; one definition with the figures

from ..colors import (
    DIVERGING_STOPS,
    SPECIAL_FILL,
    SPECIAL_TEXT,
    diverging_qcolor,
    format_score,
    symmetric_limit,
    text_color_on,
)
from .comparison import MethodComparisonView, units_label

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

#: likelihood models of marginalization, with their combo-box text
LIKELIHOOD_NAMES = {"mlm": "masked LM", "uniform": "uniform", "prior": "prior (unigram)"}
NO_MLM_TOOLTIP = "No masked LM is open: File → Open Masked LM…"
NO_PRIOR_TOOLTIP = "No training-data counts for the prior: open a dataset, the demo, or a masked LM with unigram_prior.json"
#: methods whose scores are a weight of evidence (a token click shows the candidate table)
WOE_METHODS = ("marginalization", "zero", "unk")
#: method shown first when a model opens
DEFAULT_METHOD = "grad_input"
DEFAULT_COMPARE = ("marginalization", "unk", "grad_input", "integrated_gradients")
#: colour of the outline of a shift-clicked span
SPAN_COLOR = QColor(120, 40, 160)


def friendly_method_name(key: str) -> str:
    """Menu name of an attribution method key (``grad_input`` → ``Gradient × input``)."""
    return FRIENDLY_METHOD_NAMES.get(key, key.replace("_", " ").capitalize())


class TokenHeatmapView(QWidget):
    """Tokens as coloured boxes that wrap across lines.

    Click selects a token; shift-click selects the span from the last clicked token to this one
    (2-3 adjacent tokens: longer spans are cut to 3 tokens ending at the shift-clicked one).

    Signals:
        sigTokenClicked(int): index of the token the user clicked.
        sigSpanSelected(int, int): first and last position of a shift-clicked span of 2-3 tokens
            (two ints, not a tuple: Python objects through signals upset PySide6's refcounts).
    """

    MAX_SPAN = 3

    sigTokenClicked = Signal(int)
    sigSpanSelected = Signal(int, int)

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
        self._span: tuple[int, ...] | None = None
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
        self._span = None
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
        self._span = None
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

    def span_to(self, i: int) -> tuple[int, ...]:
        """The span a shift-click on token ``i`` selects (from the selected token, at most
        :attr:`MAX_SPAN` tokens ending at ``i``)."""
        anchor = self._selected if self._selected is not None else i
        if anchor == i:
            return (i,)
        step = 1 if i > anchor else -1
        anchor = i - step * (self.MAX_SPAN - 1) if abs(i - anchor) >= self.MAX_SPAN else anchor
        lo, hi = min(anchor, i), max(anchor, i)
        return tuple(range(lo, hi + 1))

    def set_span(self, span) -> None:
        """Outline the tokens of ``span`` (a sequence of adjacent positions; None clears it)."""
        n = len(self._tokens)
        self._span = tuple(int(k) for k in span if 0 <= int(k) < n) if span else None
        self._span = self._span or None
        self.update()

    def span(self) -> tuple[int, ...] | None:
        """The outlined span, or None."""
        return self._span

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
            self._paint_outline(p, *self._rf)
        if self._span is not None:
            self._paint_outline(p, self._span[0], self._span[-1], SPAN_COLOR, dashed=True)
        p.end()

    def _paint_outline(self, p: QPainter, first: int, last: int, color: QColor, dashed: bool = False) -> None:
        rows: dict[float, QRectF] = {}
        for i in range(first, last + 1):
            r = self._rects[i]
            rows[r.top()] = rows[r.top()].united(r) if r.top() in rows else QRectF(r)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for r in rows.values():
            box = r.adjusted(-4, -4, 4, 4) if not dashed else r.adjusted(-7, -7, 7, 7)
            p.setPen(QPen(QColor(255, 255, 255), 6))
            p.drawRoundedRect(box, 5, 5)
            pen = QPen(color, 3)
            if dashed:
                pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawRoundedRect(box, 5, 5)

    # -- interaction ------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            i = self.index_at(event.position())
            if i is not None:
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and self._selected is not None:
                    span = self.span_to(i)
                    if len(span) >= 2:
                        self.set_span(span)
                        self.sigSpanSelected.emit(span[0], span[-1])
                        event.accept()
                        return
                self.set_span(None)
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


class MarginalizationForm(QWidget):
    """Likelihood model (mlm | uniform | prior) and truncation (σ, or a fixed top-n) of
    marginalization (Kim et al. eq. 4). ``mlm`` is disabled until a masked LM is open, ``prior``
    until there are counts to build it from.

    Signals:
        sigChanged(): a setting changed (σ: when editing finishes).
    """

    sigChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.likelihood_combo = QComboBox()
        self.likelihood_combo.setObjectName("likelihoodCombo")
        self.likelihood_combo.setToolTip("Likelihood model p(x̃ᵢ | x₋ᵢ) of the candidates")
        for key, name in LIKELIHOOD_NAMES.items():
            self.likelihood_combo.addItem(name, key)
        self.sigma_edit = QLineEdit("1e-05")
        self.sigma_edit.setObjectName("sigmaEdit")
        self.sigma_edit.setToolTip("σ: candidates with p(x̃ᵢ | x₋ᵢ) < σ are left out (0 = every candidate)")
        v = QDoubleValidator(0.0, 1.0, 12, self.sigma_edit)
        v.setNotation(QDoubleValidator.Notation.ScientificNotation)
        self.sigma_edit.setValidator(v)
        self.sigma_edit.setMaximumWidth(80)
        self.topn_check = QCheckBox("top-n")
        self.topn_check.setObjectName("topNCheck")
        self.topn_check.setToolTip("Keep the n most likely candidates instead of thresholding at σ")
        self.topn_spin = QSpinBox()
        self.topn_spin.setObjectName("topNSpin")
        self.topn_spin.setRange(1, 100000)
        self.topn_spin.setValue(50)
        self.topn_spin.setEnabled(False)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Likelihood:"))
        lay.addWidget(self.likelihood_combo)
        lay.addWidget(QLabel("σ:"))
        lay.addWidget(self.sigma_edit)
        lay.addWidget(self.topn_check)
        lay.addWidget(self.topn_spin)
        self._sigma = 1e-5
        self.set_likelihood_available("mlm", False, NO_MLM_TOOLTIP)
        self.set_likelihood("uniform")
        self.likelihood_combo.currentIndexChanged.connect(lambda _i: self.sigChanged.emit())
        self.sigma_edit.editingFinished.connect(self._on_sigma)
        self.topn_check.toggled.connect(self._on_topn_toggled)
        self.topn_spin.valueChanged.connect(lambda _v: self.sigChanged.emit())

    def likelihood(self) -> str:
        return self.likelihood_combo.currentData()

    def set_likelihood(self, key: str) -> bool:
        """Choose likelihood ``key`` if it is available; returns whether it is now chosen."""
        i = self.likelihood_combo.findData(key)
        if i < 0 or not self.is_likelihood_available(key):
            return False
        self.likelihood_combo.setCurrentIndex(i)
        return True

    def is_likelihood_available(self, key: str) -> bool:
        item = self.likelihood_combo.model().item(self.likelihood_combo.findData(key))
        return item is not None and item.isEnabled()

    def set_likelihood_available(self, key: str, available: bool, tooltip: str = "") -> None:
        """Enable or disable one likelihood option (a disabled one shows ``tooltip``); if the
        chosen one becomes unavailable, fall back to ``uniform``."""
        i = self.likelihood_combo.findData(key)
        item = self.likelihood_combo.model().item(i)
        if item is None:
            return
        item.setEnabled(bool(available))
        self.likelihood_combo.setItemData(i, None if available else tooltip, Qt.ItemDataRole.ToolTipRole)
        if not available and self.likelihood() == key:
            self.likelihood_combo.setCurrentIndex(self.likelihood_combo.findData("uniform"))

    def sigma(self) -> float:
        return self._sigma

    def set_sigma(self, value: float) -> None:
        self.sigma_edit.setText(f"{float(value):g}")
        self._on_sigma()

    def top_n(self) -> int | None:
        return int(self.topn_spin.value()) if self.topn_check.isChecked() else None

    def settings(self):
        """The :class:`~desktop_app.requests.MarginalizationSettings` chosen."""
        from ..requests import MarginalizationSettings

        return MarginalizationSettings(likelihood=self.likelihood(), sigma=self._sigma, top_n=self.top_n())

    def _on_sigma(self) -> None:
        try:
            value = float(self.sigma_edit.text())
        except ValueError:
            value = self._sigma
        if not (np.isfinite(value) and value >= 0):
            value = self._sigma
        self.sigma_edit.setText(f"{value:g}")
        if value != self._sigma:
            self._sigma = value
            self.sigChanged.emit()

    def _on_topn_toggled(self, on: bool) -> None:
        self.topn_spin.setEnabled(on)
        self.sigma_edit.setEnabled(not on)
        self.sigChanged.emit()


class SentenceHeatmapPanel(QWidget):
    """Method/target selectors, the marginalization form, the prediction, the token heatmap (or,
    in "Compare methods" mode, one row per method on a shared scale) and its colour bar.

    Args:
        methods: attribution method key → units description (``ATTRIBUTION_METHODS``).

    Signals:
        sigTokenClicked(int): a token was clicked.
        sigSpanSelected(int, int): first and last token of a shift-clicked span of 2-3 tokens.
        sigMethodChanged(str): the user chose another method (its key).
        sigTargetChanged(object): the user chose another target (class index, or None for
            the predicted class).
        sigSettingsChanged(): a marginalization setting changed.
        sigCompareChanged(): compare mode was switched, or its methods changed.
    """

    sigTokenClicked = Signal(int)
    sigSpanSelected = Signal(int, int)
    sigMethodChanged = Signal(str)
    sigTargetChanged = Signal(object)
    sigSettingsChanged = Signal()
    sigCompareChanged = Signal()

    def __init__(self, methods: Mapping[str, str] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._result = None
        self._comparison: tuple = ()
        self._units: dict[str, str] = {}

        self.method_combo = QComboBox()
        self.method_combo.setObjectName("methodCombo")
        self.method_combo.setToolTip("Attribution method")
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("targetCombo")
        self.target_combo.setToolTip("Class whose score is explained")
        self.target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.marginalization_form = MarginalizationForm()
        self.marginalization_form.setObjectName("marginalizationForm")
        self.compare_check = QCheckBox("Compare methods")
        self.compare_check.setObjectName("compareCheck")
        self.compare_check.setToolTip("Show several methods as rows on one colour scale")
        self.compare_button = QToolButton()
        self.compare_button.setObjectName("compareMethodsButton")
        self.compare_button.setText("Methods ▾")
        self.compare_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.compare_menu = QMenu(self.compare_button)
        self.compare_button.setMenu(self.compare_menu)
        self.compare_button.setEnabled(False)
        self.compare_actions: dict[str, QAction] = {}
        self.status_label = QLabel()
        self.status_label.setObjectName("heatmapStatus")
        self.status_label.setStyleSheet("color: #8a5a00;")

        top = QHBoxLayout()
        top.addWidget(QLabel("Method:"))
        top.addWidget(self.method_combo)
        top.addSpacing(12)
        top.addWidget(QLabel("Target:"))
        top.addWidget(self.target_combo)
        top.addSpacing(12)
        top.addWidget(self.compare_check)
        top.addWidget(self.compare_button)
        top.addStretch(1)
        top.addWidget(self.status_label)
        form_row = QHBoxLayout()
        form_row.addWidget(self.marginalization_form)
        form_row.addStretch(1)

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
        self.compare_view = MethodComparisonView()
        self.compare_view.setObjectName("methodComparison")
        self.compare_scroll = QScrollArea()
        self.compare_scroll.setWidget(self.compare_view)
        self.compare_scroll.setWidgetResizable(True)
        self.compare_scroll.setFrameShape(QFrame.Shape.StyledPanel)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.scroll)
        self.stack.addWidget(self.compare_scroll)

        self.truncated_label = QLabel(
            "⚠ This sentence is longer than the model's maximum length: it was truncated, "
            "and only the tokens shown were seen by the model.")
        self.truncated_label.setObjectName("truncatedNote")
        self.truncated_label.setWordWrap(True)
        self.truncated_label.setStyleSheet("color: #a04000;")
        self.truncated_label.hide()

        self.info_label = QLabel()
        self.info_label.setObjectName("infoLabel")
        self.info_label.setTextFormat(Qt.TextFormat.RichText)
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet("color: #444;")

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
        lay.addLayout(form_row)
        lay.addWidget(self.prediction_label)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.truncated_label)
        lay.addWidget(self.info_label)
        lay.addLayout(bottom)

        self.view.sigTokenClicked.connect(self.sigTokenClicked)
        self.view.sigSpanSelected.connect(self.sigSpanSelected)
        self.compare_view.sigTokenClicked.connect(lambda i, _m: self.sigTokenClicked.emit(i))
        self.method_combo.currentIndexChanged.connect(self._on_method_changed)
        self.target_combo.currentIndexChanged.connect(self._on_target_changed)
        self.marginalization_form.sigChanged.connect(self.sigSettingsChanged)
        self.compare_check.toggled.connect(self._on_compare_toggled)

        self.set_methods(methods or {k: "" for k in FRIENDLY_METHOD_NAMES})
        self.set_class_names(())
        self._update_form()
        self.clear("Open a model (File → Open Model…, or File → Open Demo) and choose or type a sentence.")

    # -- selectors --------------------------------------------------------------------------
    def set_methods(self, methods: Mapping[str, str]) -> None:
        """Fill the method selector from ``{key: units}`` (keeps the current choice if offered)."""
        current = self.method()
        self._units = dict(methods)
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        for key, units in methods.items():
            self.method_combo.addItem(f"{friendly_method_name(key)}  [{short_units(units)}]" if units
                                      else friendly_method_name(key), key)
            self.method_combo.setItemData(self.method_combo.count() - 1, units, Qt.ItemDataRole.ToolTipRole)
        i = self.method_combo.findData(current)
        if i < 0:  # first fill: gradient x input reads better than the raw gradient's arbitrary sign
            i = self.method_combo.findData(DEFAULT_METHOD)
        self.method_combo.setCurrentIndex(i if i >= 0 else 0)
        self.method_combo.blockSignals(False)
        checked = self.compare_methods() or [m for m in DEFAULT_COMPARE if m in methods]
        self.compare_menu.clear()
        self.compare_actions = {}
        for key in methods:
            act = QAction(friendly_method_name(key), self.compare_menu, checkable=True)
            act.setData(key)
            act.setChecked(key in checked)
            act.toggled.connect(self._on_compare_methods_changed)
            self.compare_menu.addAction(act)
            self.compare_actions[key] = act
        self._update_form()

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

    def marginalization_settings(self):
        """The :class:`~desktop_app.requests.MarginalizationSettings` of the form."""
        return self.marginalization_form.settings()

    def set_mlm_available(self, available: bool, path: str | None = None) -> None:
        """Enable the ``mlm`` likelihood (and choose it) once a masked LM is open."""
        form = self.marginalization_form
        form.set_likelihood_available("mlm", available, NO_MLM_TOOLTIP)
        form.likelihood_combo.setItemData(form.likelihood_combo.findData("mlm"),
                                          f"Masked LM: {path}" if (available and path) else
                                          (None if available else NO_MLM_TOOLTIP), Qt.ItemDataRole.ToolTipRole)
        if available:
            form.set_likelihood("mlm")

    def set_prior_available(self, available: bool, source: str | None = None) -> None:
        """Enable the ``prior`` likelihood (``source``: where its counts come from)."""
        form = self.marginalization_form
        form.set_likelihood_available("prior", available, NO_PRIOR_TOOLTIP)
        if available and source:
            form.likelihood_combo.setItemData(form.likelihood_combo.findData("prior"),
                                              f"Unigram prior counted from {source}", Qt.ItemDataRole.ToolTipRole)

    def compare_enabled(self) -> bool:
        """Whether "Compare methods" is on."""
        return self.compare_check.isChecked()

    def set_compare(self, on: bool, methods: Sequence[str] | None = None) -> None:
        """Switch side-by-side mode (``methods``: the rows to show)."""
        if methods is not None:
            for key, act in self.compare_actions.items():
                act.blockSignals(True)
                act.setChecked(key in methods)
                act.blockSignals(False)
        if self.compare_check.isChecked() != bool(on):
            self.compare_check.setChecked(bool(on))
        elif methods is not None and on:
            self.sigCompareChanged.emit()

    def compare_methods(self) -> list[str]:
        """The methods checked for side-by-side mode, in menu order."""
        return [k for k, a in getattr(self, "compare_actions", {}).items() if a.isChecked()]

    def uses_marginalization(self) -> bool:
        """Whether the shown result(s) depend on the marginalization form."""
        if self.compare_enabled():
            return "marginalization" in self.compare_methods()
        return self.method() == "marginalization"

    def _update_form(self) -> None:
        on = self.uses_marginalization()
        self.marginalization_form.setEnabled(on)
        self.marginalization_form.setVisible(on)

    def _on_method_changed(self, _index: int) -> None:
        self._update_form()
        key = self.method()
        if key is not None and not self.compare_enabled():
            self.sigMethodChanged.emit(key)

    def _on_target_changed(self, _index: int) -> None:
        self.sigTargetChanged.emit(self.target())

    def _on_compare_toggled(self, on: bool) -> None:
        self.compare_button.setEnabled(on)
        self.method_combo.setEnabled(not on)
        self.stack.setCurrentIndex(1 if on else 0)
        self._update_form()
        self.sigCompareChanged.emit()

    def _on_compare_methods_changed(self, _checked: bool = False) -> None:
        self._update_form()
        if self.compare_enabled():
            self.sigCompareChanged.emit()

    # -- results ----------------------------------------------------------------------------
    @property
    def result(self):
        """The TokenAttribution shown, or None."""
        return self._result

    @property
    def comparison(self) -> tuple:
        """The TokenAttributions shown side by side (compare mode), or ()."""
        return self._comparison

    def current_result(self):
        """What the panel shows, for figure export: the TokenAttribution, the tuple of
        TokenAttributions of the side-by-side mode, or None."""
        return self._comparison or self._result

    def _prediction_text(self, a) -> str:
        pred = a.prediction
        names = tuple(pred.class_names)
        pname = names[pred.predicted] if 0 <= pred.predicted < len(names) else str(pred.predicted)
        tname = names[a.target] if 0 <= a.target < len(names) else str(a.target)
        probs = np.asarray(pred.probabilities, dtype=float)
        text = (f"Predicted: <b>{_esc(pname)}</b> (p = {probs[pred.predicted]:.3f})"
                f" &nbsp;·&nbsp; explaining: <b>{_esc(tname)}</b>")
        if len(names) <= 6:
            text += " &nbsp;·&nbsp; " + ", ".join(f"{_esc(n)} {p:.3f}" for n, p in zip(names, probs))
        return text

    @staticmethod
    def _target_name(a) -> str:
        names = tuple(a.prediction.class_names)
        return names[a.target] if 0 <= a.target < len(names) else str(a.target)

    def set_result(self, attribution) -> None:
        """Show a :class:`~interp_engine.results.TokenAttribution`."""
        a = attribution
        self._result = a
        self._comparison = ()
        self.stack.setCurrentIndex(0)
        self.status_label.clear()
        self.view.set_tokens(a.tokens, a.scores, a.special)
        tname = self._target_name(a)
        self.prediction_label.setText(self._prediction_text(a))
        self.truncated_label.setVisible(bool(a.truncated))
        self.colorbar.set_scale(self.view.vmax)
        self.colorbar.show()
        method = friendly_method_name(a.method)
        self.info_label.setText(self.info_text(a))
        self.scale_label.setText(
            f"<b>{_esc(method)}</b> — {_esc(a.units)}<br>"
            f"<span style='color:#b2182b'>red</span> = evidence for “{_esc(tname)}”, "
            f"<span style='color:#2166ac'>blue</span> = against; scale ±max|score|")

    @staticmethod
    def info_text(a) -> str:
        """The info line of a result: parameters, mean candidates per token, dropped mass, time."""
        parts = []
        p = dict(a.params or {})
        if a.method == "marginalization":
            lik = p.get("likelihood", "")
            cut = f"top-{p['top_n']}" if p.get("top_n") else f"σ = {p.get('sigma', 0):g}"
            parts.append(f"{_esc(str(lik))} likelihood, {cut}" if lik else cut)
        n_c = getattr(a, "n_candidates", None)
        if n_c is not None:
            n_c = np.asarray(n_c, dtype=float)
            real = n_c[~np.asarray(a.special, bool)] if len(n_c) == len(a.special) else n_c
            real = real[real > 0]
            if real.size:
                parts.append(f"{real.mean():.1f} candidates per token (mean)")
        dropped = getattr(a, "dropped_mass", None)
        if dropped is not None:
            d = np.asarray(dropped, dtype=float)
            if d.size and np.nanmax(d) > 0:
                parts.append(f"dropped likelihood mass: mean {np.nanmean(d):.3g}, max {np.nanmax(d):.3g}")
        seconds = getattr(a, "seconds", None)
        if seconds:
            parts.append(f"{seconds:.2g} s")
        return " &nbsp;·&nbsp; ".join(parts)

    def set_comparison(self, results: Sequence) -> None:
        """Show several TokenAttributions of one sentence as rows on one shared scale."""
        results = tuple(results)
        self._comparison = results
        self._result = None
        self.stack.setCurrentIndex(1)
        self.status_label.clear()
        names = [f"{friendly_method_name(r.method)} [{short_units(r.units)}]" for r in results]
        self.compare_view.set_results(results, names)
        if not results:
            return
        a = results[0]
        tname = self._target_name(a)
        self.prediction_label.setText(self._prediction_text(a))
        self.truncated_label.setVisible(bool(a.truncated))
        self.colorbar.set_scale(self.compare_view.vmax)
        self.colorbar.show()
        secs = sum(r.seconds or 0.0 for r in results)
        self.info_label.setText(" &nbsp;|&nbsp; ".join(
            f"{_esc(friendly_method_name(r.method))}: {self.info_text(r)}" for r in results if self.info_text(r))
            or (f"{secs:.2g} s" if secs else ""))
        self.scale_label.setText(
            f"<b>{len(results)} methods on one scale</b> — {_esc(units_label(results))}<br>"
            f"<span style='color:#b2182b'>red</span> = evidence for “{_esc(tname)}”, "
            f"<span style='color:#2166ac'>blue</span> = against; scale ±max|score| over all rows")

    def set_span_info(self, span) -> None:
        """Outline a :class:`~interp_engine.results.SpanAttribution`'s tokens and show its WoE."""
        self.view.set_span(span.positions)
        words = " ".join(span.tokens[i] for i in span.positions)
        extra = self.info_text(self._result) if self._result is not None else ""
        self.info_label.setText(
            f"<span style='color:#783ca0'><b>span “{_esc(words)}”: joint WoE {span.score:+.3f} bits</b></span>"
            + (f" &nbsp;·&nbsp; {extra}" if extra else ""))

    def set_computing(self, message: str = "computing…") -> None:
        """Show that a new result is on its way (the old one stays, faded)."""
        self.status_label.setText(message)
        if self.compare_enabled() and self.compare_view.row_count():
            self.compare_view.set_dimmed(True)
        elif self.view.token_count():
            self.view.set_dimmed(True)
        else:
            self.view.set_placeholder("Computing…")
            self.stack.setCurrentIndex(0)

    def show_message(self, message: str) -> None:
        """Replace the heatmap by ``message`` (an error, a hint)."""
        self.status_label.clear()
        self.clear(message)

    def clear(self, placeholder: str = "") -> None:
        """Remove the result; show ``placeholder`` in its place."""
        self._result = None
        self._comparison = ()
        self.view.clear(placeholder)
        self.compare_view.clear()
        self.stack.setCurrentIndex(0)
        self.prediction_label.setText("")
        self.truncated_label.hide()
        self.info_label.setText("")
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
