"""Small pieces the dataset-level docks share (Dataset results, Dataset evaluation, Activation
maximization): a white pyqtgraph plot with black axes, and a page stack that shows either a
message (hints, errors) or the dock's results."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QStackedWidget, QWidget


def white_plot(name: str, *, bottom: str = "", left: str = "") -> pg.PlotWidget:
    """A white :class:`pyqtgraph.PlotWidget` named ``name`` with black axes (no SI prefixes on
    them) and the given axis labels."""
    plot = pg.PlotWidget(background="w")
    plot.setObjectName(name)
    for side in ("left", "bottom"):
        ax = plot.getAxis(side)
        ax.setPen(pg.mkPen("k"))
        ax.setTextPen(pg.mkPen("k"))
        ax.enableAutoSIPrefix(False)
    if bottom:
        plot.setLabel("bottom", bottom)
    if left:
        plot.setLabel("left", left)
    return plot


def message_stack(name: str, page: QWidget) -> tuple[QLabel, QStackedWidget]:
    """``(label, stack)``: a stack whose first page is a centred, wrapping grey message label
    named ``name`` (it never widens the dock) and whose second page is ``page``."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: #555;")
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    stack = QStackedWidget()
    stack.addWidget(label)
    stack.addWidget(page)
    return label, stack


#: the widest a dataset-level dock asks to be (the bottom row's docks ask about this much): the
#: main window keeps its size when these docks are added, hidden, beside the others
HINT_WIDTH = 560


class NarrowHint:
    """Mixin of a dock's panel: its size hint is at most :data:`HINT_WIDTH` wide (its table or
    plots would ask for more and widen the main window; they get the room the dock has)."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        hint = super().sizeHint()
        return QSize(min(hint.width(), HINT_WIDTH), hint.height())


#: the share of the main window's width a dataset-level dock gets the first time it is shown
FIRST_SHOW_WIDTH = 0.45


def show_dock(dock, window=None, *, first: bool = False) -> None:
    """Show and raise ``dock``; ``first`` (its first showing, docked in ``window``): widen it to
    :data:`FIRST_SHOW_WIDTH` of the window (the docks beside it give way)."""
    if dock is None:
        return
    dock.show()
    dock.raise_()
    if first and window is not None and not dock.isFloating():
        window.resizeDocks([dock], [int(window.width() * FIRST_SHOW_WIDTH)], Qt.Orientation.Horizontal)


__all__ = ["FIRST_SHOW_WIDTH", "HINT_WIDTH", "NarrowHint", "message_stack", "show_dock", "white_plot"]
