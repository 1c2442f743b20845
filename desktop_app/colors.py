"""The diverging colour scale shared by every panel, and the top-location mark colours.

Red = positive attribution (evidence for the target class), blue = negative (evidence against),
white = 0. Scales are symmetric: a panel maps ``[-vmax, +vmax]`` with ``vmax = max|score|``
onto the whole map, so equal magnitudes get equal intensity whatever their sign.
The stops are ColorBrewer's RdBu (9 classes) with a pure white centre.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

#: colour stops from -vmax (index 0) to +vmax (last), RGB 0-255
DIVERGING_STOPS = np.array(
    [
        (33, 102, 172),   # #2166ac  strong negative
        (67, 147, 195),   # #4393c3
        (146, 197, 222),  # #92c5de
        (209, 229, 240),  # #d1e5f0
        (255, 255, 255),  # white = 0
        (253, 219, 199),  # #fddbc7
        (244, 165, 130),  # #f4a582
        (214, 96, 77),    # #d6604d
        (178, 24, 43),    # #b2182b  strong positive
    ],
    dtype=float,
)
_POS = np.linspace(0.0, 1.0, len(DIVERGING_STOPS))

#: outline colours of the best, second and third location of each layer
MARK_COLOR_NAMES = ("red", "blue", "green")
MARK_COLORS = (QColor(230, 0, 0), QColor(0, 60, 235), QColor(0, 165, 40))
#: outline colour of a location that is not among the top 3
OTHER_MARK_COLOR = QColor(0, 0, 0)
#: colour of greyed-out special tokens ([CLS], [SEP], ...)
SPECIAL_FILL = QColor(236, 236, 236)
SPECIAL_TEXT = QColor(140, 140, 140)


def symmetric_limit(values: np.ndarray, mask: np.ndarray | None = None) -> float:
    """``max|values|`` over the finite (and ``mask``-selected) entries; 0.0 if there are none."""
    v = np.asarray(values, dtype=float)
    if mask is not None:
        v = v[np.asarray(mask, dtype=bool)]
    v = v[np.isfinite(v)]
    return float(np.abs(v).max()) if v.size else 0.0


def diverging_rgb(values: np.ndarray | float, vmax: float) -> np.ndarray:
    """RGB (…, 3) floats 0-255 for ``values`` on the symmetric scale ``[-vmax, vmax]``.

    ``vmax <= 0`` (all scores zero) and non-finite values map to white.
    """
    v = np.asarray(values, dtype=float)
    if vmax > 0:
        t = np.clip((v / vmax + 1.0) / 2.0, 0.0, 1.0)
    else:
        t = np.full(v.shape, 0.5)
    t = np.where(np.isfinite(t), t, 0.5)
    return np.stack([np.interp(t, _POS, DIVERGING_STOPS[:, k]) for k in range(3)], axis=-1)


def diverging_qcolor(value: float, vmax: float) -> QColor:
    """The :class:`QColor` of one ``value`` on the symmetric scale ``[-vmax, vmax]``."""
    r, g, b = diverging_rgb(value, vmax)
    return QColor(int(round(r)), int(round(g)), int(round(b)))


def text_color_on(background: QColor) -> QColor:
    """Black or white, whichever reads better on ``background`` (relative luminance)."""
    lum = 0.2126 * background.redF() + 0.7152 * background.greenF() + 0.0722 * background.blueF()
    return QColor(255, 255, 255) if lum < 0.5 else QColor(20, 20, 20)


def diverging_colormap():
    """The same scale as a :class:`pyqtgraph.ColorMap` (for ImageItem / ColorBarItem)."""
    import pyqtgraph as pg

    return pg.ColorMap(pos=_POS, color=DIVERGING_STOPS.astype(np.ubyte), name="interp-RdBu")


def format_score(v: float) -> str:
    """Compact tick/tooltip text for a score: 3 significant digits, no ``-0``."""
    if v == 0 or not np.isfinite(v):
        return "0" if v == 0 else str(v)
    return f"{v:.3g}"
