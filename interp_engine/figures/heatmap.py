"""The sentence heatmap: tokens as coloured boxes that wrap across lines, on a diverging scale
centred at 0 (red = evidence for the explained class, blue = against, as in Kim et al.
``004_137d387c767c1e08.txt`` Fig. 1); several methods as rows of one sentence on **one shared
colour scale** ``[-vmax, vmax]``, ``vmax = max|score|`` over every row. :func:`heatmap_latex`
writes the same heatmap as LaTeX (one ``\\colorbox`` per token with its ``\\definecolor`` lines,
ready to paste into a paper; needs ``\\usepackage{xcolor}``).

A sentence pair (results whose ``segment_names`` has two names) is drawn as in Kim et al. 2020
Fig. 2b / 4c: the premise and the hypothesis as two labelled rows (the segment name at the left of
each row) on one colour scale; with several methods, each segment is a labelled group holding one
line per method. A pair's special tokens ([CLS], [SEP]) are not drawn."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..results import segment_rows, short_units
from .common import _colorbar, _display, _new_figure, _target_name, _text_size, method_label, units_label
from .palette import GREY_HATCH, SPECIAL_FILL, SPECIAL_TEXT, score_rgb, symmetric_limit, text_color_on
from .style import FigureStyle


@dataclass(frozen=True)
class _Box:
    row: int      # method row
    col: int      # token index
    x: float      # points from the left
    y: float      # points from the top
    w: float
    h: float


def _merged(results: list, style: FigureStyle) -> list:
    """``results`` with their ``##`` word pieces merged into words when ``style.merge_pieces``."""
    if not style.merge_pieces:
        return results
    from ..wordpieces import merge_attribution

    return [merge_attribution(r) for r in results]


def pair_segments(result) -> list[tuple[str, list[int]]] | None:
    """``[(segment name, [token positions])]`` of a pair result (special tokens in no segment), or
    None for a single text."""
    names = tuple(getattr(result, "segment_names", ()) or ())
    if getattr(result, "segments", None) is None or len(names) != 2:
        return None
    return segment_rows(result.tokens, result.segments, names)


def heatmap_layout(results: Sequence, style: FigureStyle, names: Sequence[str] | None = None) -> dict:
    """Where every token box goes, in points from the top-left (shared by the figure and tests).

    Tokens wrap into blocks of lines; a block holds one line per method row, the method names at
    its left. A sentence pair lays out each segment on its own (a new line for the hypothesis),
    its name at the left of its first line (one method) or as a heading above it (several), and
    leaves its special tokens out. Returns ``{"boxes": [_Box], "labels": [(row, x, y, h)],
    "segment_labels": [(name, x, y, h, ha)], "height": pt, "width": pt, "label_w": pt}``.
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
    segments = pair_segments(results[0])
    seg_w = 0.0
    if segments is not None:
        seg_w = max(_text_size(n, fs * 0.85, fam, weight="bold")[0] for n, _p in segments) + 0.6 * fs
        if len(results) == 1 and not names:
            label_w = max(label_w, seg_w)
    width = style.width_in * 72.0
    x0, xmax = margin + label_w, width - margin
    M = len(results)
    boxes, labels, seg_labels = [], [], []
    block_h = M * row_h + (M - 1) * gap_y
    head_h = th + pad_y  # a segment's heading line (several methods)
    y = margin
    groups = segments if segments is not None else [(None, list(range(len(tokens))))]
    for g, (seg, positions) in enumerate(groups):
        if g:
            y += block_h + 1.6 * block_gap  # the hypothesis starts on a new line, set apart
        if seg is not None and (M > 1 or names):
            seg_labels.append((seg, margin, y, head_h, "left"))
            y += head_h + 0.2 * fs
        elif seg is not None:
            seg_labels.append((seg, margin, y, row_h, "right"))
        x, first_in_line = x0, True
        for i in positions:
            w = min(widths[i], xmax - x0)
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
    return {"boxes": boxes, "labels": labels, "segment_labels": seg_labels, "height": y + block_h + margin,
            "width": width, "label_w": label_w}


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
    results = _merged([results] if hasattr(results, "scores") else list(results), style)
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
        for (seg, x, y, h, ha) in lay["segment_labels"]:  # a pair: "premise", "hypothesis"
            ax.text(x + (lay["label_w"] - 0.4 * fs if ha == "right" else 0.0), y + head_pt + h / 2, seg, ha=ha,
                    va="center_baseline", fontsize=fs * 0.85, fontweight="bold", color="#333333")
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
    results = _merged([results] if hasattr(results, "scores") else list(results), style)
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
    segments = pair_segments(a)
    groups = segments if segments is not None else [(None, list(range(len(a.tokens))))]
    for seg, positions in groups:
        if seg is not None and names:  # several methods: the segment as a heading, a line per method
            body.append(f"\\textbf{{{_latex_escape(seg)}}}\\par")
        for r, res in enumerate(results):
            rgb = score_rgb(res.scores, vmax, style)
            parts = []
            for i in positions:
                t = _latex_escape(res.tokens[i])
                if special[i]:
                    t = "\\textit{\\textcolor{gray}{%s}}" % t
                elif text_color_on(rgb[i]) == "white":
                    t = "\\textcolor{white}{%s}" % t
                parts.append("\\colorbox{%s}{\\strut %s}" % (cname(r, i), t))
            label = names[r] if names else seg  # one method of a pair: the segment names the line
            lead = f"\\textbf{{{_latex_escape(label)}:}} " if label else ""
            end = "\\par" if len(results) > 1 or segments is not None else "%"
            body.append(lead + "\\allowbreak\\hspace{0.15em}".join(parts) + end)
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

