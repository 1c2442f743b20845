"""Containers that size themselves by what they show: a scroll area as tall as its content and a
stacked widget sized by its current page (no large empty box under a short sentence)."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QStackedWidget, QWidget

#: the tallest a fitted scroll area grows before it scrolls (px)
MAX_FIT_HEIGHT = 480
#: the smallest it gets when the panel is short (px; never more than its content)
MIN_FIT_HEIGHT = 90


class FitScrollArea(QScrollArea):
    """A scroll area as tall as its widget's content (up to :data:`MAX_FIT_HEIGHT`)."""

    @classmethod
    def around(cls, widget: QWidget, horizontal: bool = True) -> "FitScrollArea":
        """A resizable, framed scroll area around ``widget`` (``horizontal``: may scroll sideways)."""
        area = cls()
        area.setWidget(widget)
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.StyledPanel)
        if not horizontal:
            area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return area

    def _content(self) -> int:
        """The widget's content height plus the frame (and a horizontal scroll bar if needed)."""
        w = self.widget()
        if w is None:
            return MIN_FIT_HEIGHT
        h = w.content_height() if hasattr(w, "content_height") else max(w.minimumHeight(), w.sizeHint().height())
        h = int(h) + 2 * self.frameWidth()
        if (self.horizontalScrollBarPolicy() != Qt.ScrollBarPolicy.ScrollBarAlwaysOff
                and w.minimumWidth() > self.viewport().width() > 0):
            h += self.horizontalScrollBar().sizeHint().height()
        return min(h, MAX_FIT_HEIGHT)

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._content())

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), min(self._content(), MIN_FIT_HEIGHT))


class PageStack(QStackedWidget):
    """A stacked widget sized by its current page only."""

    def sizeHint(self) -> QSize:
        w = self.currentWidget()
        return w.sizeHint() if w is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        w = self.currentWidget()
        return w.minimumSizeHint() if w is not None else super().minimumSizeHint()
