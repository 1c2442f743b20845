"""The heatmap's horizontal diverging colour bar (the shared scale of :mod:`.token_boxes`)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..colors import DIVERGING_STOPS, format_score


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
