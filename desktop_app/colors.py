"""The app's colours as Qt objects: the one palette of :mod:`interp_engine.figures.palette`
(shared with the paper figures) converted to :class:`QColor` and a pyqtgraph colour map.

Red = positive attribution (evidence for the target class), blue = negative (evidence against),
white = 0. Scales are symmetric: a panel maps ``[-vmax, +vmax]`` with ``vmax = max|score|``
onto the whole map, so equal magnitudes get equal intensity whatever their sign.
The stops are ColorBrewer's RdBu (9 classes) with a pure white centre.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

from interp_engine.figures import palette as _palette
from interp_engine.figures.palette import (  # noqa: F401 - re-exported: the panels import them from here
    DIVERGING_STOPS,
    MARK_COLOR_NAMES,
    diverging_rgb,
    format_score,
    symmetric_limit,
)

_POS = _palette.DIVERGING_POSITIONS

#: outline colours of the best, second and third location of each layer
MARK_COLORS = tuple(QColor(*rgb) for rgb in _palette.MARK_RGB)
#: the same as hex strings (rich-text legends)
MARK_HEX = _palette.MARK_COLORS
#: outline colour of a location that is not among the top 3
OTHER_MARK_COLOR = QColor(*_palette.OTHER_MARK_RGB)
#: neighbour-scatter locations ranked after the top 3
EXTRA_MARK_COLORS = tuple(QColor(*rgb) for rgb in _palette.EXTRA_MARK_RGB)
#: deletion-curve dock (one per method) and search-dock bars (one per gold label)
CURVE_COLORS = tuple(QColor(c) for c in _palette.SCREEN_CURVE_COLORS)
GOLD_COLORS = tuple(QColor(c) for c in _palette.SCREEN_GOLD_COLORS)
#: the strong ends of the scale as hex (legends: "red = for, blue = against")
POSITIVE_HEX = _palette.POSITIVE_HEX
NEGATIVE_HEX = _palette.NEGATIVE_HEX
#: colour of greyed-out special tokens ([CLS], [SEP], ...)
SPECIAL_FILL = QColor(*_palette.SPECIAL_FILL_RGB)
SPECIAL_TEXT = QColor(*_palette.SPECIAL_TEXT_RGB)


def diverging_qcolor(value: float, vmax: float) -> QColor:
    """The :class:`QColor` of one ``value`` on the symmetric scale ``[-vmax, vmax]``."""
    r, g, b = diverging_rgb(value, vmax)
    return QColor(int(round(r)), int(round(g)), int(round(b)))


def text_color_on(background: QColor) -> QColor:
    """Black or white, whichever reads better on ``background`` (relative luminance)."""
    dark = _palette.is_dark(background.redF(), background.greenF(), background.blueF())
    return QColor(*(_palette.LIGHT_TEXT_RGB if dark else _palette.DARK_TEXT_RGB))


def diverging_colormap():
    """The same scale as a :class:`pyqtgraph.ColorMap` (for ImageItem / ColorBarItem)."""
    import pyqtgraph as pg

    return pg.ColorMap(pos=_POS, color=DIVERGING_STOPS.astype(np.ubyte), name="interp-RdBu")


__all__ = ["CURVE_COLORS", "DIVERGING_STOPS", "EXTRA_MARK_COLORS", "GOLD_COLORS", "MARK_COLORS", "MARK_COLOR_NAMES",
           "MARK_HEX", "NEGATIVE_HEX", "OTHER_MARK_COLOR", "POSITIVE_HEX", "SPECIAL_FILL", "SPECIAL_TEXT",
           "diverging_colormap", "diverging_qcolor", "diverging_rgb", "format_score", "symmetric_limit", "text_color_on"]
