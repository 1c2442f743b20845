"""Paper figures from result objects: :class:`matplotlib.figure.Figure`, never pyplot, no Qt.

Every renderer takes a frozen result of :mod:`interp_engine.results` and a :class:`FigureStyle`
and returns a new ``Figure`` (no global state: safe in the worker thread and in notebooks):

- :func:`heatmap_figure`: the sentence heatmap, tokens as coloured boxes that wrap across lines,
  on a diverging scale centred at 0 (red = evidence for the explained class, blue = against, as
  in Kim et al. ``004_137d387c767c1e08.txt`` Fig. 1); several methods as rows of one sentence on
  **one shared colour scale** ``[-vmax, vmax]``, ``vmax = max|score|`` over every row.
- :func:`saliency_grid_figure`: layer × location saliency (Yuan et al. ``001_e80f9d2c7d254978.txt``
  eq. 3) as a vector ``pcolormesh``, the top locations per layer outlined red/blue/green and the
  receptive field of each outlined location drawn as a dashed box over the tokens it sees.
- :func:`search_histogram_figure`: p(class) over the matches of a training-set search (Lopes
  ``002_`` §4.2), one bar group per gold label.
- :func:`deletion_curve_figure`, :func:`scatter_figure`: deletion curves with AUC_rep and the
  t-SNE neighbour scatter, for the result types of those docks (looked up by attribute, so the
  renderer only needs the fields it draws).
- :func:`heatmap_latex`: the sentence heatmap as LaTeX, one ``\\colorbox`` per token with its
  ``\\definecolor`` lines, ready to paste into a paper (needs ``\\usepackage{xcolor}``).

:func:`render` dispatches on the result type. Saving (formats, fonts kept as text, atomic
writes, sidecars) lives in :mod:`interp_engine.export`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping, Sequence

import numpy as np

from .results import area_label, short_units

#: column-width presets in inches (a two-column paper's single and double column)
WIDTHS = {"single": 3.3, "double": 6.9}
#: the colour styles (see :func:`diverging_colors`)
STYLES = ("paper", "colorblind", "greyscale")
#: ColorBrewer RdBu (9 classes, white centre) from -vmax to +vmax: the paper's red/blue, the same
#: stops as the app's screen colours (desktop_app/colors.py)
PAPER_STOPS = np.array([(33, 102, 172), (67, 147, 195), (146, 197, 222), (209, 229, 240), (255, 255, 255),
                        (253, 219, 199), (244, 165, 130), (214, 96, 77), (178, 24, 43)], float) / 255.0
#: ColorBrewer PuOr (purple = against, orange = for; safe for the common colour-vision deficiencies)
COLORBLIND_STOPS = np.array([(84, 39, 136), (128, 115, 172), (178, 171, 210), (216, 218, 235), (247, 247, 247),
                             (254, 224, 182), (253, 184, 99), (224, 130, 20), (179, 88, 6)], float) / 255.0
#: greyscale: darkness encodes |score| (white = 0) and negative scores are hatched
GREY_STOPS = np.array([(0.15,) * 3, (0.55,) * 3, (1.0,) * 3, (0.55,) * 3, (0.15,) * 3])
GREY_HATCH = "////"
#: outline colours of the best, second and third location of a layer (as on screen)
MARK_COLORS = ("#e60000", "#003ceb", "#00a528")
SPECIAL_FILL = "#ececec"
SPECIAL_TEXT = "#8c8c8c"


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
    """

    palette: str = "paper"
    width: str | float = "single"
    font_family: str = "DejaVu Sans"
    font_size: float = 8.0
    colorbar: bool = True
    height: float | None = None

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


# -- colours ---------------------------------------------------------------------------------
def diverging_colors(style: FigureStyle | str = "paper"):
    """The :class:`matplotlib.colors.LinearSegmentedColormap` of a style (index 0 = -vmax)."""
    from matplotlib.colors import LinearSegmentedColormap

    palette = style.palette if isinstance(style, FigureStyle) else style
    stops = {"paper": PAPER_STOPS, "colorblind": COLORBLIND_STOPS, "greyscale": GREY_STOPS}[palette]
    return LinearSegmentedColormap.from_list(f"interp-{palette}", [tuple(c) for c in stops], N=257)


def symmetric_limit(values, mask=None) -> float:
    """``max|values|`` over finite (and ``mask``-selected) entries; 0.0 when there are none."""
    v = np.asarray(values, float)
    if mask is not None:
        v = v[np.asarray(mask, bool)]
    v = v[np.isfinite(v)]
    return float(np.abs(v).max()) if v.size else 0.0


def score_rgb(values, vmax: float, style: FigureStyle | str = "paper") -> np.ndarray:
    """(…, 3) RGB in [0, 1] of ``values`` on ``[-vmax, vmax]`` (white at 0, non-finite = white)."""
    v = np.asarray(values, float)
    t = np.clip((v / vmax + 1.0) / 2.0, 0.0, 1.0) if vmax > 0 else np.full(v.shape, 0.5)
    t = np.where(np.isfinite(t), t, 0.5)
    return np.asarray(diverging_colors(style)(t))[..., :3]


def text_color_on(rgb) -> str:
    """Black or white text, whichever reads better on ``rgb`` (relative luminance)."""
    r, g, b = (float(x) for x in rgb[:3])
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5 else "#141414"


def _fmt(v: float) -> str:
    return "0" if v == 0 else f"{v:.3g}"


def _new_figure(style: FigureStyle, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(style.width_in, style.height or height), dpi=100)


def _text_size(text: str, size: float, family, weight="normal", style="normal") -> tuple[float, float, float]:
    """(width, height, descent) of ``text`` in points (Agg's font metrics)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    global _RENDERER
    if _RENDERER is None:
        _RENDERER = RendererAgg(10, 10, 72)
    prop = FontProperties(family=family, size=size, weight=weight, style=style)
    return _RENDERER.get_text_width_height_descent(text or " ", prop, ismath=False)


_RENDERER = None


def _display(tok: str, max_chars: int = 24) -> str:
    tok = tok if tok.strip() else "␣"
    return tok if len(tok) <= max_chars else tok[: max_chars - 1] + "…"


def _target_name(res) -> str:
    names = tuple(res.prediction.class_names)
    return names[res.target] if 0 <= res.target < len(names) else str(res.target)


def method_label(key: str) -> str:
    """Display name of an attribution method key."""
    return {"grad": "Gradient", "grad_input": "Gradient × input", "marginalization": "Marginalization",
            "zero": "Erasure (zero)", "unk": "Erasure ([UNK])", "integrated_gradients": "Integrated gradients",
            "lime": "LIME"}.get(key, key.replace("_", " ").capitalize())


def units_label(results: Sequence) -> str:
    """The colour-bar label of rows sharing one scale: their unit, or "mixed units"."""
    units = {r.units for r in results}
    return units.pop() if len(units) == 1 else "mixed units (each row's unit in its label)"


def _colorbar(fig, rect, vmax: float, style: FigureStyle, label: str, orientation: str = "horizontal"):
    """A colour bar drawn as a vector pcolormesh on ``[-vmax, vmax]`` in axes ``rect`` (figure
    fractions); the greyscale style hatches the negative half like the cells."""
    ax = fig.add_axes(rect)
    vm = vmax if vmax > 0 else 1.0
    edges = np.linspace(-vm, vm, 129)
    mids = (edges[:-1] + edges[1:]) / 2
    cmap = diverging_colors(style)
    from matplotlib.colors import Normalize

    norm = Normalize(-vm, vm)
    if orientation == "horizontal":
        ax.pcolormesh(edges, [0, 1], mids[None, :], cmap=cmap, norm=norm, shading="flat", rasterized=False,
                      edgecolors="face", linewidth=0)
        ax.set_xlim(-vm, vm)
        ax.set_yticks([])
        ax.set_xticks([-vm, 0, vm], [_fmt(-vm), "0", _fmt(vm)])
        ax.set_xlabel(label, labelpad=1.5)
        if style.palette == "greyscale":
            from matplotlib.patches import Rectangle

            ax.add_patch(Rectangle((-vm, 0), vm, 1, fill=False, hatch=GREY_HATCH, lw=0, edgecolor="#444444"))
    else:
        ax.pcolormesh([0, 1], edges, mids[:, None], cmap=cmap, norm=norm, shading="flat", edgecolors="face",
                      linewidth=0)
        ax.set_ylim(-vm, vm)
        ax.set_xticks([])
        ax.yaxis.tick_right()
        ax.yaxis.set_label_position("right")
        ax.set_yticks([-vm, 0, vm], [_fmt(-vm), "0", _fmt(vm)])
        ax.set_ylabel(label, labelpad=2)
        if style.palette == "greyscale":
            from matplotlib.patches import Rectangle

            ax.add_patch(Rectangle((0, -vm), 1, vm, fill=False, hatch=GREY_HATCH, lw=0, edgecolor="#444444"))
    ax.tick_params(labelsize=style.font_size * 0.85, length=2)
    for s in ax.spines.values():
        s.set_linewidth(0.5)
    return ax


# -- sentence heatmap ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Box:
    row: int      # method row
    col: int      # token index
    x: float      # points from the left
    y: float      # points from the top
    w: float
    h: float


def heatmap_layout(results: Sequence, style: FigureStyle, names: Sequence[str] | None = None) -> dict:
    """Where every token box goes, in points from the top-left (shared by the figure and tests).

    Tokens wrap into blocks of lines; a block holds one line per method row, the method names at
    its left. Returns ``{"boxes": [_Box], "labels": [(row, x, y, h)], "height": pt, "width": pt,
    "label_w": pt}``.
    """
    fs = style.font_size
    fam = style.font_families
    pad_x, pad_y, gap_x, gap_y, block_gap, margin = 0.35 * fs, 0.25 * fs, 0.25 * fs, 0.2 * fs, 0.7 * fs, 0.4 * fs
    tokens = results[0].tokens
    widths = []
    for i, tok in enumerate(tokens):
        italic = bool(np.asarray(results[0].special)[i])
        w, _h, _d = _text_size(_display(tok), fs, fam, style="italic" if italic else "normal")
        widths.append(w + 2 * pad_x)
    _w, th, _d = _text_size("Ag", fs, fam)
    row_h = th + 2 * pad_y
    label_w = 0.0
    if names:
        label_w = max(_text_size(n, fs * 0.85, fam, weight="bold")[0] for n in names) + 0.6 * fs
    width = style.width_in * 72.0
    x0, xmax = margin + label_w, width - margin
    M = len(results)
    boxes, labels = [], []
    x, y = x0, margin
    block_h = M * row_h + (M - 1) * gap_y
    first_in_line = True
    for i, w in enumerate(widths):
        w = min(w, xmax - x0)
        if not first_in_line and x + w > xmax:
            x, y = x0, y + block_h + block_gap
            first_in_line = True
        if first_in_line and names:
            for r in range(M):
                labels.append((r, margin, y + r * (row_h + gap_y), row_h))
        for r in range(M):
            boxes.append(_Box(r, i, x, y + r * (row_h + gap_y), w, row_h))
        x += w + gap_x
        first_in_line = False
    return {"boxes": boxes, "labels": labels, "height": y + block_h + margin, "width": width, "label_w": label_w}


def heatmap_figure(results, style: FigureStyle | None = None, *, names: Sequence[str] | None = None,
                   title: bool = True):
    """The sentence heatmap of one or several attributions of one sentence.

    Args:
        results: a :class:`~interp_engine.results.TokenAttribution`, or a sequence of them for the
            same tokens (one row per method, side by side).
        style: a :class:`FigureStyle` (default: paper red/blue, single column).
        names: row labels (default: method name and short unit per row when there are several
            rows, none for one row).
        title: a first line with the prediction and the class explained.

    Returns:
        a :class:`matplotlib.figure.Figure` whose width is the style's; its height follows the
        wrapped lines. Colour scale: symmetric ``[-vmax, vmax]`` with ``vmax = max|score|`` over
        the non-special tokens of **all** rows (one shared scale), white at 0.

    Raises:
        ValueError: no result, or rows that explain different tokens.
    """
    import matplotlib as mpl
    from matplotlib.patches import FancyBboxPatch

    style = style or FigureStyle()
    results = [results] if hasattr(results, "scores") else list(results)
    if not results:
        raise ValueError("nothing to draw: no attribution")
    if any(r.tokens != results[0].tokens for r in results):
        raise ValueError("the rows must explain the same tokens")
    if names is None and len(results) > 1:
        names = [f"{method_label(r.method)} [{short_units(r.units)}]" for r in results]
    with mpl.rc_context(style.rc()):
        lay = heatmap_layout(results, style, names)
        special = np.asarray(results[0].special, bool)
        vmax = symmetric_limit(np.concatenate([np.asarray(r.scores, float)[~special] for r in results]))
        fs = style.font_size
        head_pt = 1.5 * fs if title else 0.0
        bar_pt = 4.6 * fs if style.colorbar else 0.0
        H = lay["height"] + head_pt + bar_pt
        fig = _new_figure(style, H / 72.0)
        H = fig.get_figheight() * 72.0
        W = lay["width"]
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(0, W)
        ax.set_ylim(H, 0)
        if title:
            a = results[0]
            p = a.prediction
            pname = p.class_names[p.predicted] if 0 <= p.predicted < len(p.class_names) else str(p.predicted)
            what = method_label(a.method) if len(results) == 1 else f"{len(results)} methods, one scale"
            ax.text(0.4 * fs, 0.4 * fs, f"{what} · explaining {_target_name(a)} · predicted {pname} "
                    f"(p = {float(p.probabilities[p.predicted]):.2f})", fontsize=fs * 0.85, va="top", ha="left",
                    color="#333333")
        rgb = [score_rgb(r.scores, vmax, style) for r in results]
        for b in lay["boxes"]:
            y = b.y + head_pt
            sp = special[b.col]
            fill = SPECIAL_FILL if sp else tuple(rgb[b.row][b.col])
            hatch = GREY_HATCH if (style.palette == "greyscale" and not sp and results[b.row].scores[b.col] < 0) else None
            ax.add_patch(FancyBboxPatch((b.x, y), b.w, b.h, boxstyle=f"round,pad=0,rounding_size={0.2 * fs}",
                                        facecolor=fill, edgecolor="#bbbbbb", linewidth=0.4, hatch=hatch))
            if hatch:  # hatch lines in a light grey under the text
                ax.patches[-1].set_edgecolor("#9a9a9a")
            tc = SPECIAL_TEXT if sp else text_color_on(fill)
            if hatch:
                tc = "#141414"
            ax.text(b.x + b.w / 2, y + b.h / 2, _display(results[b.row].tokens[b.col]), ha="center",
                    va="center_baseline", fontsize=fs, color=tc, style="italic" if sp else "normal",
                    bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none") if hatch else None)
        for (r, x, y, h) in lay["labels"]:
            ax.text(x + lay["label_w"] - 0.4 * fs, y + head_pt + h / 2, names[r], ha="right", va="center_baseline",
                    fontsize=fs * 0.85, fontweight="bold")
        if style.colorbar:
            label = units_label(results)
            if len(label) > 60:
                label = label[:59] + "…"
            bw = min(0.6, 2.6 / style.width_in)
            bh = 0.7 * fs / H
            _colorbar(fig, ((1 - bw) / 2, (3.1 * fs) / H, bw, bh), vmax, style,
                      f"{label}; red = for {_target_name(results[0])}" if style.palette == "paper" else label)
    fig._interp_meta = {"kind": "heatmap", "vmax": vmax}
    return fig


def _latex_escape(s: str) -> str:
    rep = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
           "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}"}
    return "".join(rep.get(c, c) for c in s)


def heatmap_latex(results, style: FigureStyle | None = None, *, names: Sequence[str] | None = None,
                  prefix: str = "isc") -> str:
    """The sentence heatmap as LaTeX: ``\\definecolor`` lines, then one ``\\colorbox`` per token.

    Several results give one line per method, on one shared scale as in :func:`heatmap_figure`.
    Needs ``\\usepackage{xcolor}``; colours are named ``<prefix><row>t<token>`` (letters only
    after the prefix's digits are spelled out, so they are valid LaTeX names).
    """
    style = style or FigureStyle()
    results = [results] if hasattr(results, "scores") else list(results)
    if not results:
        raise ValueError("nothing to write: no attribution")
    if any(r.tokens != results[0].tokens for r in results):
        raise ValueError("the rows must explain the same tokens")
    if names is None and len(results) > 1:
        names = [method_label(r.method) for r in results]
    special = np.asarray(results[0].special, bool)
    vmax = symmetric_limit(np.concatenate([np.asarray(r.scores, float)[~special] for r in results]))

    def cname(r: int, i: int) -> str:
        return f"{prefix}{_alpha(r)}t{_alpha(i)}"

    a = results[0]
    lines = [f"% Interp Studio sentence heatmap: explaining class {_latex_escape(_target_name(a))}; "
             f"colour scale +-{vmax:.4g} ({'; '.join(sorted({r.units for r in results}))})",
             f"% style {style.palette}; needs \\usepackage{{xcolor}}",
             "% " + ", ".join(f"{method_label(r.method)}" for r in results)]
    for r, res in enumerate(results):
        rgb = score_rgb(res.scores, vmax, style)
        for i in range(len(res.tokens)):
            c = (0.925, 0.925, 0.925) if special[i] else rgb[i]
            lines.append("\\definecolor{%s}{rgb}{%.4f,%.4f,%.4f}" % (cname(r, i), *c))
    body = ["{\\setlength{\\fboxsep}{1.5pt}%"]
    for r, res in enumerate(results):
        rgb = score_rgb(res.scores, vmax, style)
        parts = []
        for i, tok in enumerate(res.tokens):
            t = _latex_escape(tok)
            if special[i]:
                t = "\\textit{\\textcolor{gray}{%s}}" % t
            elif text_color_on(rgb[i]) == "white":
                t = "\\textcolor{white}{%s}" % t
            parts.append("\\colorbox{%s}{\\strut %s}" % (cname(r, i), t))
        lead = f"\\textbf{{{_latex_escape(names[r])}:}} " if names else ""
        body.append(lead + "\\allowbreak\\hspace{0.15em}".join(parts) + ("\\par" if len(results) > 1 else "%"))
    body.append("}")
    return "\n".join(lines + body) + "\n"


def _alpha(n: int) -> str:
    """0 → a, 25 → z, 26 → ba ... (digits are not allowed in LaTeX colour names used as macros)."""
    s = ""
    n = int(n)
    while True:
        s = chr(ord("a") + n % 26) + s
        n //= 26
        if n == 0:
            return s


# -- saliency grid ---------------------------------------------------------------------------
def saliency_grid_figure(hs, style: FigureStyle | None = None, *, receptive_fields: str | Sequence = "top1",
                         top_marks: int = 3):
    """The layer × location saliency grid (Yuan et al. ``001_`` eq. 3, logit units).

    Args:
        hs: a :class:`~interp_engine.results.HiddenSaliency` with ``scores`` (R, n).
        receptive_fields: which cells get a dashed receptive-field box (the tokens the location
            sees, ``receptive_fields[r, i]``, drawn across its row): ``"top1"`` (best location
            of every layer), ``"top"`` (every marked location), ``"none"``, or a sequence of
            ``(layer, location)`` pairs (e.g. the cell clicked in the app).
        top_marks: how many top locations per layer to outline (red, blue, green).

    Returns:
        a Figure: cells as a vector ``pcolormesh`` on ``[-vmax, vmax]``, ``vmax = max|score|``.
    """
    import matplotlib as mpl
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    style = style or FigureStyle()
    S = np.asarray(hs.scores, float)
    R, n = S.shape
    if R == 0 or n == 0:
        raise ValueError("nothing to draw: the saliency grid is empty")
    with mpl.rc_context(style.rc()):
        fs = style.font_size
        tok_w = max(_text_size(_display(t, 18), fs * 0.85, [style.font_family])[0] for t in hs.tokens)
        name_w = max(_text_size(str(nm), fs * 0.85, style.font_families)[0] for nm in hs.layer_names)
        W = style.width_in
        cell_h = 0.22 if style.width_in < 5 else 0.26
        H = style.height or (0.35 + R * cell_h + tok_w / 72.0 + 0.25 + (0.15 if style.colorbar else 0))
        fig = _new_figure(style, H)
        H = fig.get_figheight()
        left = (name_w + 8) / 72.0 / W
        right = (0.75 if style.colorbar else 0.1) / W
        bottom = (tok_w + 8) / 72.0 / H
        top = 0.32 / H
        ax = fig.add_axes((left, bottom, 1 - left - right, 1 - top - bottom))
        vmax = symmetric_limit(S)
        vm = vmax if vmax > 0 else 1.0
        norm = Normalize(-vm, vm)
        ax.pcolormesh(np.arange(n + 1) - 0.5, np.arange(R + 1) - 0.5, np.nan_to_num(S), cmap=diverging_colors(style),
                      norm=norm, shading="flat", edgecolors="white", linewidth=0.3)
        if style.palette == "greyscale":
            for r in range(R):
                for i in range(n):
                    if S[r, i] < 0:
                        ax.add_patch(Rectangle((i - 0.5, r - 0.5), 1, 1, fill=False, hatch=GREY_HATCH, lw=0,
                                               edgecolor="#777777"))
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(R - 0.5, -0.5)
        ax.set_xticks(range(n), [_display(t, 18) for t in hs.tokens], rotation=90, fontsize=fs * 0.85)
        ax.set_yticks(range(R), [str(x) for x in hs.layer_names], fontsize=fs * 0.85)
        ax.tick_params(length=0, pad=2)
        special = np.asarray(hs.special, bool)
        for lbl, sp in zip(ax.get_xticklabels(), special):
            if sp:
                lbl.set_color(SPECIAL_TEXT)
                lbl.set_style("italic")
        marks: list[tuple[int, int, int]] = []
        for r, locs in enumerate(hs.top_locations):
            for rank, loc in enumerate(tuple(locs)[:top_marks]):
                marks.append((r, int(loc), rank))
                d = 0.08
                ax.add_patch(Rectangle((loc - 0.5 + d, r - 0.5 + d), 1 - 2 * d, 1 - 2 * d, fill=False, lw=1.6,
                                       edgecolor=MARK_COLORS[rank % 3], joinstyle="miter", zorder=4))
        if isinstance(receptive_fields, str):
            if receptive_fields not in ("top1", "top", "none"):
                raise ValueError(f"receptive_fields must be top1, top, none or (layer, location) pairs, got {receptive_fields!r}")
            cells = [(r, i, k) for (r, i, k) in marks if receptive_fields == "top" or (receptive_fields == "top1" and k == 0)]
        else:
            rank_of = {(r, i): k for (r, i, k) in marks}
            cells = [(int(r), int(i), rank_of.get((int(r), int(i)), -1)) for r, i in receptive_fields]
        rf = np.asarray(hs.receptive_fields)
        for r, i, k in cells:
            if not (0 <= r < R and 0 <= i < n):
                raise ValueError(f"cell ({r}, {i}) is outside the {R} × {n} grid")
            a, b = int(rf[r, i, 0]), int(rf[r, i, 1])
            ax.add_patch(Rectangle((a - 0.5, r - 0.47), b - a + 1, 0.94, fill=False, lw=0.9, linestyle=(0, (2.5, 1.5)),
                                   edgecolor=MARK_COLORS[k % 3] if k >= 0 else "black", zorder=5))
        for s in ax.spines.values():
            s.set_linewidth(0.5)
        names = tuple(hs.prediction.class_names)
        tname = names[hs.target] if 0 <= hs.target < len(names) else str(hs.target)
        ax.set_title(f"Hidden-location saliency for class {tname}", fontsize=fs * 0.9, pad=3, loc="left")
        if style.colorbar:
            x0 = 1 - right + 0.08 / W
            _colorbar(fig, (x0, bottom, 0.09 / W, 1 - top - bottom), vmax, style, "logit", orientation="vertical")
    fig._interp_meta = {"kind": "grid", "vmax": vmax}
    return fig


# -- search histogram ------------------------------------------------------------------------
#: bar colours per gold label (paper: like the app's dock; greyscale: grey levels + hatches)
GOLD_COLORS = {"paper": ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"),
               "colorblind": ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00"),
               "greyscale": ("#303030", "#a0a0a0", "#ffffff", "#606060", "#d0d0d0", "#000000")}
GREY_BAR_HATCHES = ("", "", "xxx", "///", "...", "")


def search_histogram_figure(res, style: FigureStyle | None = None):
    """p(``chosen_class``) over the matches of a training-set search, one bar group per gold label
    (Lopes et al. ``002_`` §4.2, Fig. 5-6). ``res``: a :class:`~interp_engine.results.TokenSearchResult`.

    Raises:
        ValueError: the result has no histogram (no model was open when searching).
    """
    import matplotlib as mpl

    style = style or FigureStyle()
    Hc = np.asarray(res.hist_counts)
    if Hc.size == 0:
        raise ValueError("this search has no histogram: open a model to get p(class) of the matches")
    edges = np.asarray(res.hist_edges, float)
    with mpl.rc_context(style.rc()):
        fs = style.font_size
        fig = _new_figure(style, style.width_in * 0.62)
        ax = fig.add_subplot(1, 1, 1)
        G = Hc.shape[0]
        w = (edges[1] - edges[0]) / max(G, 1)
        cols = GOLD_COLORS[style.palette]
        for g in range(G):
            label = (f"gold {res.class_names[g]}" if len(res.counts_gold) and g < len(res.class_names) else "all matches")
            ax.bar(edges[:-1] + w * (g + 0.5), Hc[g], width=w * 0.9, color=cols[g % len(cols)], edgecolor="black",
                   linewidth=0.4, label=label, hatch=GREY_BAR_HATCHES[g % 6] if style.palette == "greyscale" else None)
        cn = res.class_names[res.chosen_class] if 0 <= res.chosen_class < len(res.class_names) else res.chosen_class
        ax.set_xlabel(f"model p({cn})")
        ax.set_ylabel("matches")
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(edges[0], edges[-1])
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=fs * 0.85)
        ax.set_title(f"“{' '.join(res.query_tokens)}”: {res.n_matches} examples ({res.mode})", fontsize=fs * 0.9,
                     loc="left")
        ax.legend(fontsize=fs * 0.8)
        fig.tight_layout(pad=0.3)
    fig._interp_meta = {"kind": "search"}
    return fig


# -- deletion curves -------------------------------------------------------------------------
def _get(obj, *names, default=None):
    for n in names:
        if hasattr(obj, n):
            v = getattr(obj, n)
            if v is not None:
                return v
    return default


CURVE_COLORS = {"paper": ("#b2182b", "#2166ac", "#1b7837", "#762a83", "#e08214", "#4d4d4d"),
                "colorblind": ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00"),
                "greyscale": ("#000000", "#555555", "#888888", "#000000", "#555555", "#888888")}
LINE_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 1)))


def deletion_curve_figure(res, style: FigureStyle | None = None, *, band: bool = True, insertion: bool = True,
                          stderr=None):
    """Deletion curves (Kim et al. ``004_137d387c767c1e08.txt`` §3.5): p(target) as the most
    attributed tokens are replaced, one line per method with its AUC_rep (area on [0, x_max] / x_max)
    in the legend; insertion curves (if computed) dashed in the same colour.

    Args:
        res: a :class:`~interp_engine.results.DeletionCurves` (``x`` (S,), ``p_deletion`` (M, S),
            ``auc`` (M,), ``methods``, ``x_max``, ``target``, ``class_names``; optional
            ``p_insertion``). Dataset curves (means over sentences) may carry ``stderr`` /
            ``p_deletion_se`` (M, S), or pass ``stderr=``: drawn as a mean ± standard error band.
        band: draw the ± standard error band when one is available.
        insertion: draw the insertion curves when present.
    """
    import matplotlib as mpl

    style = style or FigureStyle()
    x = np.asarray(_get(res, "x", "fractions"), float)
    Y = np.atleast_2d(np.asarray(_get(res, "p_deletion", "means", "curves"), float))
    methods = list(_get(res, "methods", default=[f"method {i}" for i in range(len(Y))]))
    auc = _get(res, "auc", "auc_rep")
    auc = None if auc is None else np.atleast_1d(np.asarray(auc, float))
    se = stderr if stderr is not None else _get(res, "stderr", "p_deletion_se", "sem")
    se = None if se is None else np.atleast_2d(np.asarray(se, float))
    ins = _get(res, "p_insertion") if insertion else None
    ins = None if ins is None else np.atleast_2d(np.asarray(ins, float))
    x_max = float(_get(res, "x_max", default=float(x[-1]) if len(x) else 0.2))
    with mpl.rc_context(style.rc()):
        fs = style.font_size
        fig = _new_figure(style, style.width_in * 0.72 if style.width_in < 5 else 3.2)
        ax = fig.add_subplot(1, 1, 1)
        cols = CURVE_COLORS[style.palette]
        for m in range(Y.shape[0]):
            lab = method_label(str(methods[m])) if m < len(methods) else f"method {m}"
            if auc is not None and m < len(auc) and np.isfinite(auc[m]):
                area = area_label(x_max, str(_get(res, "strategy", default="mlm")))  # Kim et al. §3.5
                lab += f" ({area} {auc[m]:.3f})"
            ls = LINE_STYLES[m % 6] if (style.palette == "greyscale" or m >= 6) else "-"
            ax.plot(x, Y[m], color=cols[m % 6], linestyle=ls, linewidth=1.2, label=lab,
                    marker=("o", "s", "^", "D", "v", "P")[m % 6] if len(x) <= 15 else None, markersize=2.8)
            if band and se is not None and m < len(se):
                ax.fill_between(x, Y[m] - se[m], Y[m] + se[m], color=cols[m % 6], alpha=0.18, linewidth=0)
            if ins is not None and m < len(ins):
                ax.plot(x, ins[m], color=cols[m % 6], linestyle=(0, (3, 2)), linewidth=0.8, alpha=0.8)
        if ins is not None:
            ax.plot([], [], color="#555555", linestyle=(0, (3, 2)), linewidth=0.8, label="insertion (dashed)")
        names = tuple(_get(res, "class_names", default=()))
        t = _get(res, "target", default=None)
        tname = names[t] if t is not None and 0 <= int(t) < len(names) else (str(t) if t is not None else "class")
        ax.set_xlabel("fraction of tokens replaced")
        ax.set_ylabel(f"p({tname})")
        ax.set_xlim(0, x_max)  # the range AUC_rep integrates (Kim et al. §3.5), as the dock shows
        ax.set_ylim(-0.02, 1.02)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=fs * 0.85)
        n = _get(res, "n_sentences", default=None)
        strat = _get(res, "strategy", default=None)
        title = f"deletion curves, {strat} replacement" if strat else "deletion curves"
        if n is not None and int(n) > 1:
            title += f", mean of {int(n)} sentences" + (" ± s.e." if se is not None and band else "")
        ax.set_title(title, fontsize=fs * 0.9, loc="left")
        ax.legend(fontsize=fs * 0.72, handlelength=1.8)
        fig.tight_layout(pad=0.3)
    fig._interp_meta = {"kind": "deletion"}
    return fig


# -- t-SNE neighbour scatter -----------------------------------------------------------------
def scatter_figure(res, style: FigureStyle | None = None, *, max_labels: int = 25):
    """The t-SNE scatter of the neighbour words of selected hidden locations (Yuan et al.
    ``001_e80f9d2c7d254978.txt`` eq. 8 and Fig. 2, top): each location's k nearest vocabulary
    words to its x_overall, labelled, in the location's mark colour (red/blue/green by rank), and
    x_overall itself as a larger star ("target" marker).

    Args:
        res: a :class:`~interp_engine.results.NeighbourScatter` (``locations`` with ``coords``
            (k, 2), ``words``, ``target_coords`` (2,), ``rank``, ``layer_name``, ``position``).
        max_labels: label at most this many words per location (the most similar first).

    Raises:
        ValueError: no location to draw.
    """
    import matplotlib as mpl

    style = style or FigureStyle()
    locs = tuple(getattr(res, "locations", ()) or ())
    if not locs:
        raise ValueError("nothing to draw: the scatter has no location")
    markers = ("o", "s", "^", "D", "v", "P")
    with mpl.rc_context(style.rc()):
        fs = style.font_size
        rows = -(-(len(locs) + 1) // (1 if style.width_in < 5 else 2))
        fig = _new_figure(style, (style.width_in * 0.8 if style.width_in < 5 else 4.4) + rows * fs * 1.25 / 72)
        ax = fig.add_subplot(1, 1, 1)
        cols = MARK_COLORS if style.palette == "paper" else CURVE_COLORS[style.palette][:3] if style.palette == "colorblind" \
            else ("#000000", "#555555", "#999999")
        toks = tuple(getattr(res, "tokens", ()))
        labelled: set = set()  # a word near several locations shares one 2-D point: label it once
        for j, loc in enumerate(locs):
            c = cols[int(loc.rank) % len(cols)] if int(loc.rank) >= 0 else "#444444"
            xy = np.asarray(loc.coords, float).reshape(-1, 2)
            tok = toks[loc.position] if 0 <= int(loc.position) < len(toks) else str(loc.position)
            ax.scatter(xy[:, 0], xy[:, 1], s=10, color=c, marker=markers[j % len(markers)], edgecolors="none",
                       alpha=0.85, label=f"{loc.layer_name}, location {loc.position} (“{tok}”)")
            t = np.asarray(loc.target_coords, float).reshape(2)
            ax.scatter([t[0]], [t[1]], s=90, marker="*", color=c, edgecolors="black", linewidths=0.5, zorder=4)
            for i in range(min(max_labels, len(xy))):
                key = (str(loc.words[i]), round(float(xy[i, 0]), 6), round(float(xy[i, 1]), 6))
                if key in labelled:
                    continue
                labelled.add(key)
                ax.annotate(str(loc.words[i]), xy[i], xytext=(2, 1.5), textcoords="offset points",
                            fontsize=fs * 0.72, color="#222222")
        ax.scatter([], [], s=60, marker="*", color="white", edgecolors="black", linewidths=0.5,
                   label="x_overall (target)")
        ax.set_xticks([])
        ax.set_yticks([])
        proj = str(getattr(res, "projection", "tsne"))
        name = "t-SNE" if proj == "tsne" else proj.upper()
        ax.set_xlabel(f"{name} 1")
        ax.set_ylabel(f"{name} 2")
        for s in ax.spines.values():
            s.set_linewidth(0.5)
        # below the axes, so no label is hidden under it
        ax.legend(fontsize=fs * 0.72, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=1 if style.width_in < 5 else 2,
                  handletextpad=0.3, borderaxespad=0.0, columnspacing=1.0)
        fig.tight_layout(pad=0.3)
    fig._interp_meta = {"kind": "scatter"}
    return fig


# -- dispatch --------------------------------------------------------------------------------
def panel_of(result) -> str:
    """The panel kind of a result: ``heatmap``, ``grid``, ``search``, ``deletion`` or ``scatter``."""
    if isinstance(result, (list, tuple)) and result and hasattr(result[0], "scores") and hasattr(result[0], "method"):
        return "heatmap"
    name = type(result).__name__
    if hasattr(result, "method") and hasattr(result, "tokens") and hasattr(result, "scores") and hasattr(result, "units"):
        return "heatmap"
    if hasattr(result, "layer_names") and hasattr(result, "receptive_fields"):
        return "grid"
    if hasattr(result, "hist_counts") and hasattr(result, "query_tokens"):
        return "search"
    if "Deletion" in name or hasattr(result, "p_deletion"):
        return "deletion"
    if "Scatter" in name or hasattr(result, "locations") and hasattr(result, "projection"):
        return "scatter"
    raise ValueError(f"no figure for a {name}")


def render(result, style: FigureStyle | None = None, **options):
    """Render any result (or a sequence of TokenAttributions) to a Figure; ``options`` go to the
    panel's renderer (e.g. ``receptive_fields=`` for the grid)."""
    kind = panel_of(result)
    fn = {"heatmap": heatmap_figure, "grid": saliency_grid_figure, "search": search_histogram_figure,
          "deletion": deletion_curve_figure, "scatter": scatter_figure}[kind]
    return fn(result, style, **options)


def figure_size_in(fig) -> tuple[float, float]:
    """(width, height) of a figure in inches."""
    w, h = fig.get_size_inches()
    return float(w), float(h)


__all__ = ["FigureStyle", "WIDTHS", "STYLES", "heatmap_figure", "heatmap_latex", "heatmap_layout",
           "saliency_grid_figure", "search_histogram_figure", "deletion_curve_figure", "scatter_figure",
           "render", "panel_of", "diverging_colors", "score_rgb", "symmetric_limit"]
