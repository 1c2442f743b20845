"""The one palette of Interp Studio (no Qt, no matplotlib at import): the figures draw with it
and ``desktop_app/colors.py`` only converts it to ``QColor`` / a pyqtgraph colour map.

- The diverging scale of attributions (red = evidence for the explained class, blue = against,
  white = 0; Kim et al. ``004_137d387c767c1e08.txt`` Fig. 1): ColorBrewer RdBu, 9 classes, with a
  pure white centre, from -vmax (index 0) to +vmax. Scales are symmetric: ``[-vmax, +vmax]`` with
  ``vmax = max|score|``, so equal magnitudes get equal intensity whatever their sign.
- Its colour-blind (ColorBrewer PuOr) and greyscale variants (figures only).
- The outline colours of the best, second and third location of a grid layer (red, blue,
  green), the greyed-out special tokens, the deletion curves and the search histogram's bars.
"""
from __future__ import annotations

import numpy as np

#: the palettes (figure styles), see :func:`diverging_colors`
PALETTES = ("paper", "colorblind", "greyscale")

#: ColorBrewer RdBu (9 classes, white centre) from -vmax (index 0) to +vmax (last), RGB 0-255:
#: the paper's red/blue, on screen and in figures
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
#: positions of :data:`DIVERGING_STOPS` on [0, 1]
DIVERGING_POSITIONS = np.linspace(0.0, 1.0, len(DIVERGING_STOPS))
#: the same stops as RGB in [0, 1] (the figures' "paper" style)
PAPER_STOPS = DIVERGING_STOPS / 255.0
#: ColorBrewer PuOr (purple = against, orange = for; safe for the common colour-vision deficiencies)
COLORBLIND_STOPS = np.array([(84, 39, 136), (128, 115, 172), (178, 171, 210), (216, 218, 235), (247, 247, 247),
                             (254, 224, 182), (253, 184, 99), (224, 130, 20), (179, 88, 6)], float) / 255.0
#: greyscale: darkness encodes |score| (white = 0) and negative scores are hatched
GREY_STOPS = np.array([(0.15,) * 3, (0.55,) * 3, (1.0,) * 3, (0.55,) * 3, (0.15,) * 3])
GREY_HATCH = "////"
#: the stops of each palette (RGB in [0, 1])
PALETTE_STOPS = {"paper": PAPER_STOPS, "colorblind": COLORBLIND_STOPS, "greyscale": GREY_STOPS}


def hex_color(rgb) -> str:
    """``(230, 0, 0)`` → ``"#e60000"``."""
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


#: outline colours (RGB 0-255) of the best, second and third location of each grid layer
MARK_RGB = ((230, 0, 0), (0, 60, 235), (0, 165, 40))
MARK_COLOR_NAMES = ("red", "blue", "green")
#: the same as hex strings (figures)
MARK_COLORS = tuple(hex_color(c) for c in MARK_RGB)
#: outline colour of a location that is not among the top 3
OTHER_MARK_RGB = (0, 0, 0)
#: greyed-out special tokens ([CLS], [SEP], ...): box fill and text
SPECIAL_FILL_RGB = (236, 236, 236)
SPECIAL_TEXT_RGB = (140, 140, 140)
SPECIAL_FILL = hex_color(SPECIAL_FILL_RGB)
SPECIAL_TEXT = hex_color(SPECIAL_TEXT_RGB)
#: text on a light background (on a dark one: white)
DARK_TEXT_RGB = (20, 20, 20)
LIGHT_TEXT_RGB = (255, 255, 255)
DARK_TEXT = hex_color(DARK_TEXT_RGB)

#: deletion-curve colours per palette (one per method, then repeated with line styles)
CURVE_COLORS = {"paper": ("#b2182b", "#2166ac", "#1b7837", "#762a83", "#e08214", "#4d4d4d"),
                "colorblind": ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00"),
                "greyscale": ("#000000", "#555555", "#888888", "#000000", "#555555", "#888888")}
LINE_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 1)))
#: the neighbour scatter's location colours per palette (paper: the grid's mark colours)
SCATTER_COLORS = {"paper": MARK_COLORS, "colorblind": CURVE_COLORS["colorblind"][:3],
                  "greyscale": ("#000000", "#555555", "#999999")}
#: search-histogram bar colours per gold label (paper: like the app's dock; greyscale: grey levels + hatches)
GOLD_COLORS = {"paper": ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"),
               "colorblind": ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00"),
               "greyscale": ("#303030", "#a0a0a0", "#ffffff", "#606060", "#d0d0d0", "#000000")}
GREY_BAR_HATCHES = ("", "", "xxx", "///", "...", "")


# -- the app's screen docks (they draw with these; the figures have their own per-style tables) --
#: deletion-curve dock: one colour per method (Okabe-Ito, then black)
SCREEN_CURVE_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
#: search dock: histogram bars per gold label
SCREEN_GOLD_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
#: neighbour-scatter dock: locations ranked after the top 3 (RGB 0-255)
EXTRA_MARK_RGB = ((230, 120, 0), (140, 50, 190), (0, 150, 160), (150, 90, 40), (220, 0, 150), (90, 90, 90))
#: the strong ends of the diverging scale as hex (legends: "red = for, blue = against")
POSITIVE_HEX = hex_color(DIVERGING_STOPS[-1])
NEGATIVE_HEX = hex_color(DIVERGING_STOPS[0])


def is_dark(r: float, g: float, b: float) -> bool:
    """True when white text reads better than dark text on ``(r, g, b)`` in [0, 1] (relative luminance)."""
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5


def symmetric_limit(values, mask=None) -> float:
    """``max|values|`` over finite (and ``mask``-selected) entries; 0.0 when there are none."""
    v = np.asarray(values, float)
    if mask is not None:
        v = v[np.asarray(mask, bool)]
    v = v[np.isfinite(v)]
    return float(np.abs(v).max()) if v.size else 0.0


def diverging_rgb(values, vmax: float) -> np.ndarray:
    """RGB (…, 3) floats 0-255 of ``values`` on the symmetric scale ``[-vmax, vmax]``, linear
    between :data:`DIVERGING_STOPS` (the screen colours). ``vmax <= 0`` (all scores zero) and
    non-finite values map to white."""
    v = np.asarray(values, dtype=float)
    if vmax > 0:
        t = np.clip((v / vmax + 1.0) / 2.0, 0.0, 1.0)
    else:
        t = np.full(v.shape, 0.5)
    t = np.where(np.isfinite(t), t, 0.5)
    return np.stack([np.interp(t, DIVERGING_POSITIONS, DIVERGING_STOPS[:, k]) for k in range(3)], axis=-1)


def format_score(v: float) -> str:
    """Compact tick/tooltip text for a score: 3 significant digits, no ``-0``."""
    if v == 0 or not np.isfinite(v):
        return "0" if v == 0 else str(v)
    return f"{v:.3g}"


def diverging_colors(style="paper"):
    """The :class:`matplotlib.colors.LinearSegmentedColormap` of a palette name or a
    :class:`~interp_engine.figures.FigureStyle` (index 0 = -vmax)."""
    from matplotlib.colors import LinearSegmentedColormap

    palette = style if isinstance(style, str) else style.palette
    stops = PALETTE_STOPS[palette]
    return LinearSegmentedColormap.from_list(f"interp-{palette}", [tuple(c) for c in stops], N=257)


def score_rgb(values, vmax: float, style="paper") -> np.ndarray:
    """(…, 3) RGB in [0, 1] of ``values`` on ``[-vmax, vmax]`` (white at 0, non-finite = white),
    from the palette's matplotlib colour map (figures)."""
    v = np.asarray(values, float)
    t = np.clip((v / vmax + 1.0) / 2.0, 0.0, 1.0) if vmax > 0 else np.full(v.shape, 0.5)
    t = np.where(np.isfinite(t), t, 0.5)
    return np.asarray(diverging_colors(style)(t))[..., :3]


def text_color_on(rgb) -> str:
    """Black or white text (matplotlib colour), whichever reads better on ``rgb`` in [0, 1]."""
    r, g, b = (float(x) for x in rgb[:3])
    return "white" if is_dark(r, g, b) else DARK_TEXT


__all__ = ["COLORBLIND_STOPS", "CURVE_COLORS", "DIVERGING_POSITIONS", "DIVERGING_STOPS", "EXTRA_MARK_RGB", "GOLD_COLORS",
           "GREY_BAR_HATCHES", "GREY_HATCH", "GREY_STOPS", "LINE_STYLES", "MARK_COLORS", "MARK_COLOR_NAMES",
           "MARK_RGB", "NEGATIVE_HEX", "OTHER_MARK_RGB", "PALETTES", "PALETTE_STOPS", "PAPER_STOPS", "POSITIVE_HEX",
           "SCATTER_COLORS", "SCREEN_CURVE_COLORS", "SCREEN_GOLD_COLORS", "SPECIAL_FILL",
           "SPECIAL_TEXT", "diverging_colors", "diverging_rgb", "format_score", "hex_color", "is_dark", "score_rgb",
           "symmetric_limit", "text_color_on"]
