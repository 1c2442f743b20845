"""How a figure looks (:class:`FigureStyle`: palette, column width, fonts) and the fonts
matplotlib falls back to for characters the chosen font lacks. No Qt, no matplotlib at import."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

from .palette import PALETTES

#: column-width presets in inches (a two-column paper's single and double column)
WIDTHS = {"single": 3.3, "double": 6.9}
#: the colour styles (see :func:`~interp_engine.figures.palette.diverging_colors`)
STYLES = PALETTES


@dataclass(frozen=True)
class FigureStyle:
    """How a figure looks.

    Attributes:
        palette: ``paper`` (red/blue), ``colorblind`` (purple/orange) or ``greyscale`` (darkness =
            |score|, negatives hatched): see :data:`STYLES`.
        width: ``single`` (3.3 in), ``double`` (6.9 in) or a width in inches.
        font_family: a matplotlib font family or font name (``DejaVu Sans``, ``serif``, ...).
        font_size: base font size in points (tokens); labels use it, ticks 0.85×.
        colorbar: draw the colour bar (heatmaps, grid).
        height: figure height in inches; None = from the content.
        merge_pieces: sentence heatmaps show words, each word's ``##`` pieces merged into one box
            whose score is the sum of theirs (:func:`interp_engine.wordpieces.merge_attribution`).
    """

    palette: str = "paper"
    width: str | float = "single"
    font_family: str = "DejaVu Sans"
    font_size: float = 8.0
    colorbar: bool = True
    height: float | None = None
    merge_pieces: bool = False

    def __post_init__(self):
        if self.palette not in STYLES:
            raise ValueError(f"unknown style {self.palette!r}; choose one of {', '.join(STYLES)}")
        if isinstance(self.width, str) and self.width not in WIDTHS:
            try:
                object.__setattr__(self, "width", float(self.width))
            except ValueError:
                raise ValueError(f"width must be single, double or inches, got {self.width!r}") from None
        if not self.width_in > 0.5:
            raise ValueError(f"figure width must be more than 0.5 in, got {self.width_in}")
        if not self.font_size > 0:
            raise ValueError(f"font size must be positive, got {self.font_size}")

    @property
    def width_in(self) -> float:
        """Figure width in inches."""
        return WIDTHS[self.width] if isinstance(self.width, str) else float(self.width)

    @property
    def font_families(self) -> list[str]:
        """The chosen font, then the installed fallback fonts (:data:`FALLBACK_FONTS`) that
        matplotlib uses, glyph by glyph, for characters the chosen font lacks (CJK, Arabic, …)."""
        return [self.font_family] + [f for f in installed_fallback_fonts() if f != self.font_family]

    def rc(self) -> dict:
        """rcParams for building and saving: fonts, text kept as text in PDF/SVG."""
        return {"font.family": self.font_families, "font.size": self.font_size, "pdf.fonttype": 42,
                "ps.fonttype": 42, "svg.fonttype": "none", "svg.hashsalt": "interp-studio",
                "axes.linewidth": 0.6, "xtick.major.width": 0.6, "ytick.major.width": 0.6,
                "xtick.major.size": 2.5, "ytick.major.size": 2.5, "legend.frameon": False}

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any] | None) -> "FigureStyle":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(d or {}).items() if k in names})

    def replace(self, **kw) -> "FigureStyle":
        return replace(self, **kw)


#: fonts tried, in order, for characters the chosen font has no glyph for (only installed ones
#: are used; matplotlib >= 3.6 falls back glyph by glyph). DejaVu Sans ships with matplotlib.
FALLBACK_FONTS = ("DejaVu Sans", "Noto Sans", "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK KR",
                  "Source Han Sans SC", "WenQuanYi Zen Hei", "Droid Sans Fallback", "Noto Sans Arabic",
                  "Noto Sans Hebrew", "Noto Sans Devanagari", "Noto Sans Thai", "Noto Sans Symbols",
                  "Noto Sans Symbols2", "Noto Emoji", "Arial Unicode MS")


def installed_fallback_fonts() -> list[str]:
    """The :data:`FALLBACK_FONTS` that matplotlib can find on this machine, in that order."""
    global _INSTALLED_FALLBACKS
    if _INSTALLED_FALLBACKS is None:
        from matplotlib import font_manager

        names = {f.name for f in font_manager.fontManager.ttflist}
        _INSTALLED_FALLBACKS = [f for f in FALLBACK_FONTS if f in names]
    return list(_INSTALLED_FALLBACKS)


_INSTALLED_FALLBACKS: list[str] | None = None


def figure_size_in(fig) -> tuple[float, float]:
    """(width, height) of a figure in inches."""
    w, h = fig.get_size_inches()
    return float(w), float(h)


__all__ = ["FALLBACK_FONTS", "FigureStyle", "STYLES", "WIDTHS", "figure_size_in", "installed_fallback_fonts"]
