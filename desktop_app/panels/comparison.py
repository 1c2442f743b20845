"""Side-by-side mode: several attribution methods of one sentence as rows on ONE colour scale.

Each row is one method (its name and unit at the left), each column one token. Every row is
coloured on the same symmetric scale ``[-vmax, +vmax]`` with ``vmax = max|score|`` over all rows
(special tokens excluded), and the panel shows a single colour bar for it.

Units. The methods do not share a unit: marginalization and the erasures give a weight of
evidence in bits (log2-odds), the gradients give logit-gradients, IG and LIME their own units. We
still share one scale, as the side-by-side mode is asked to: a cell's colour then tells where its
score lies on the largest magnitude shown, and equal scores get equal colours in every row. When
the units differ, the colour-bar label says "mixed units: each row's unit in its label", because
comparing magnitudes *across* rows of different units means nothing (a 30-bit WoE row will make a
0.5-logit gradient row look white). Reading *within* a row, and across rows of the same unit, is
what the shared scale supports; to compare the shapes of methods with different units, look at one
method at a time (each single-method heatmap has its own ±max|score| scale).

Sentence pairs. Each row still holds the whole input: the premise tokens, a visible separator (a
gap with a vertical rule), then the hypothesis tokens; a header line names the segments above
their columns ("premise", "hypothesis"). Special tokens ([CLS], [SEP]) are not drawn, as in the
single-method pair heatmap; a column's index is still the token's position in the combined
sequence.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ..colors import format_score, symmetric_limit
from .token_boxes import ROW_LABEL_COLOR, ROW_RULE_COLOR, display_token, pair_rows, paint_token_box, scaled_font, token_fill

MIXED_UNITS_LABEL = "mixed units: each row's unit in its label"


def shared_limit(results: Sequence) -> float:
    """``max|score|`` over the non-special tokens of every result (the shared scale)."""
    vals = [np.asarray(r.scores, float)[~np.asarray(r.special, bool)] for r in results]
    vals = [v for v in vals if v.size]
    return symmetric_limit(np.concatenate(vals)) if vals else 0.0


def units_label(results: Sequence) -> str:
    """The colour-bar label: the common unit, or :data:`MIXED_UNITS_LABEL`."""
    units = {r.units for r in results}
    return units.pop() if len(units) == 1 else MIXED_UNITS_LABEL


class MethodComparisonView(QWidget):
    """Rows = methods, columns = tokens, one shared symmetric colour scale.

    Signals:
        sigTokenClicked(int, str): ``(token index, method key)`` of a clicked cell.
    """

    sigTokenClicked = Signal(int, str)

    MARGIN = 10
    PAD_X = 5
    PAD_Y = 4
    GAP_X = 3
    GAP_Y = 6
    MAX_CHARS = 20
    FONT_SCALE = 1.15
    #: a pair: the gap between the premise's and the hypothesis's columns (a rule at its middle)
    SEGMENT_GAP = 22

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFont(scaled_font(self.font(), self.FONT_SCALE))
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._results: tuple = ()
        self._names: tuple[str, ...] = ()
        self._vmax = 0.0
        self._label_w = 0.0
        self._col_x: dict[int, tuple[float, float]] = {}
        self._row_h = 0.0
        self._header_h = 0.0
        #: a pair's segments: (name, left, right) of its columns, and the x of the rules between them
        self._groups: list[tuple[str, float, float]] = []
        self._rules: list[float] = []
        self._dimmed = False

    def set_results(self, results: Sequence, names: Sequence[str]) -> None:
        """Show ``results`` (TokenAttribution of one sentence, one per method) with row ``names``."""
        results = tuple(results)
        if results and any(r.tokens != results[0].tokens for r in results):
            raise ValueError("the rows must explain the same tokens")
        self._results = results
        self._names = tuple(names)
        self._vmax = shared_limit(results)
        self._dimmed = False
        self._relayout()
        self.update()

    def clear(self) -> None:
        self._results = ()
        self._names = ()
        self._vmax = 0.0
        self._relayout()
        self.update()

    def set_dimmed(self, dimmed: bool) -> None:
        self._dimmed = bool(dimmed)
        self.update()

    @property
    def vmax(self) -> float:
        """Half-width of the shared scale."""
        return self._vmax

    @property
    def results(self) -> tuple:
        return self._results

    def row_count(self) -> int:
        return len(self._results)

    def cell_color(self, row: int, col: int) -> QColor:
        """Fill colour of (method ``row``, token ``col``) on the shared scale."""
        r = self._results[row]
        return token_fill(float(r.scores[col]), self._vmax, bool(r.special[col]))

    def columns(self) -> list[int]:
        """The token positions drawn as columns, left to right (a pair: without special tokens)."""
        return list(self._col_x)

    def segment_headers(self) -> list[tuple[str, float, float]]:
        """A pair's segment headers: ``(name, left x, right x)`` of each segment's columns."""
        return list(self._groups)

    def _row_top(self, row: int) -> float:
        return self.MARGIN + self._header_h + row * (self._row_h + self.GAP_Y)

    def cell_rect(self, row: int, col: int) -> QRectF:
        """Box of (method ``row``, token ``col``); empty for a token not drawn (a pair's [SEP])."""
        if col not in self._col_x:
            return QRectF()
        x0, w = self._col_x[col]
        return QRectF(x0, self._row_top(row), w, self._row_h)

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        for row in range(len(self._results)):
            for col in self._col_x:
                if self.cell_rect(row, col).contains(pos):
                    return row, col
        return None

    def _display(self, tok: str) -> str:
        return display_token(tok, self.MAX_CHARS)

    def _relayout(self) -> None:
        fm = QFontMetricsF(self.font())
        bold = QFont(self.font())
        bold.setBold(True)
        fb = QFontMetricsF(bold)
        self._row_h = fm.height() + 2 * self.PAD_Y
        self._label_w = max((fb.horizontalAdvance(n) for n in self._names), default=0.0) + 16
        x = self.MARGIN + self._label_w
        cols: dict[int, tuple[float, float]] = {}
        self._groups, self._rules = [], []
        rows = pair_rows(self._results[0]) if self._results else None
        self._header_h = fm.height() + 4 if rows else 0.0
        groups = rows or [("", range(len(self._results[0].tokens)) if self._results else [])]
        for g, (name, positions) in enumerate(groups):
            if g:
                self._rules.append(x - self.GAP_X + self.SEGMENT_GAP / 2)
                x += self.SEGMENT_GAP
            left = x
            for i in positions:
                w = max(fm.horizontalAdvance(self._display(self._results[0].tokens[i])) + 2 * self.PAD_X, self._row_h)
                cols[i] = (x, w)
                x += w + self.GAP_X
            if rows:
                self._groups.append((name, left, max(left, x - self.GAP_X)))
        self._col_x = cols
        n = len(self._results)
        self.setMinimumSize(int(x + self.MARGIN), int(2 * self.MARGIN + self._header_h + n * (self._row_h + self.GAP_Y)))
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return self.minimumSize().expandedTo(QSize(400, 80))

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.fillRect(self.rect(), self.palette().base())
        if self._dimmed:
            p.setOpacity(0.35)
        bold = QFont(self.font())
        bold.setBold(True)
        self._paint_segments(p, bold)
        for row, res in enumerate(self._results):
            y = self._row_top(row)
            p.setFont(bold)
            p.setPen(QColor(40, 40, 40))
            p.drawText(QRectF(self.MARGIN, y, self._label_w - 8, self._row_h),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), self._names[row])
            for col in self._col_x:
                paint_token_box(p, self.cell_rect(row, col), self._display(res.tokens[col]), self.cell_color(row, col),
                                bool(res.special[col]), self.font())
        p.end()

    def _paint_segments(self, p: QPainter, bold: QFont) -> None:
        """A pair: the segment names above their columns and a rule between the segments."""
        if not self._groups:
            return
        small = QFont(bold)
        small.setPointSizeF(bold.pointSizeF() * 0.8)
        p.setFont(small)
        p.setPen(ROW_LABEL_COLOR)
        fm = QFontMetricsF(small)
        for g, (name, left, _right) in enumerate(self._groups):
            end = self._groups[g + 1][1] - self.SEGMENT_GAP / 2 if g + 1 < len(self._groups) else self.width()
            text = fm.elidedText(name, Qt.TextElideMode.ElideRight, max(end - left - 4, 8.0))
            p.drawText(QRectF(left, self.MARGIN, max(end - left, 8.0), self._header_h),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
        bottom = self._row_top(len(self._results)) - self.GAP_Y
        p.setPen(QPen(ROW_RULE_COLOR.darker(130), 1.5, Qt.PenStyle.DashLine))
        for x in self._rules:
            p.drawLine(QPointF(x, self.MARGIN), QPointF(x, bottom))

    def tooltip_text(self, row: int, col: int) -> str:
        r = self._results[row]
        seg = next((f" of the {n}" for n, pos in pair_rows(r) or () if col in pos), "")
        return (f"{self._names[row]}\n“{r.tokens[col]}”  token {col}{seg}\n"
                f"score {format_score(float(r.scores[col]))} {r.units}")

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            hit = self.cell_at(event.position())
            if hit is not None:
                self.sigTokenClicked.emit(hit[1], self._results[hit[0]].method)
                event.accept()
                return
        super().mousePressEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            hit = self.cell_at(QPointF(event.pos()))
            if hit is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), self.tooltip_text(*hit), self,
                                  self.cell_rect(*hit).toAlignedRect())
            return True
        return super().event(event)
