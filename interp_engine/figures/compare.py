"""Two models on one sentence (Kim et al. 2020 ``004_137d387c767c1e08.txt`` Fig. 4a, "LSTM vs
BERT"): one heatmap row per model, each with its own tokens (a word-level model and a WordPiece
model split the sentence differently), labelled with the model's name and its prediction. No Qt.

Colour scale: a :class:`~interp_engine.results.ModelComparison` says whether its rows share one
scale (:meth:`~interp_engine.results.ModelComparison.limits`, from
:func:`interp_engine.attribution.registry.shares_scale_across_models`): WoE bits do, so both rows
are coloured on ``±max|score|`` over both and one colour bar in the method's units is drawn;
gradient units do not (their size follows each model's embedding scale), so each row is
normalised to its own ``±max|score|`` (written in its label) and the colour bar reads "score / the
row's max|score|". The scale note (``"one colour scale: bits of WoE"`` / ``"separate scales:
gradient units differ between models"``) and the class note (``"models disagree on classes: …"``)
are written under the title.
"""
from __future__ import annotations

import textwrap

import numpy as np

from ..results import ModelComparison, short_units
from .common import _colorbar, _display, _new_figure, _target_name, method_label
from .heatmap import _alpha, _latex_escape, heatmap_layout
from .palette import GREY_HATCH, SPECIAL_FILL, SPECIAL_TEXT, score_rgb, text_color_on
from .style import FigureStyle

#: the colour bar's label when each row has its own scale
SEPARATE_SCALE_LABEL = "score / the row's max|score| (separate scales)"


def _fmt_limit(v: float) -> str:
    return "0" if v == 0 else f"{v:.3g}"


def row_caption(result: ModelComparison, i: int) -> str:
    """The label of row ``i``: ``"A · bilstm — predicted positive (p = 0.93) · explaining positive"``
    (separate scales: ``" · scale ±0.042"``), or the model name and the row's error."""
    r = result.rows[i]
    head = result.label(i)
    if r is None:
        return f"{head} — {result.row_errors[i]}" if result.row_errors[i] else head
    p = r.prediction
    names = tuple(p.class_names)
    pname = names[p.predicted] if 0 <= p.predicted < len(names) else str(p.predicted)
    text = f"{head} — predicted {pname} (p = {float(p.probabilities[p.predicted]):.2f}) · explaining {_target_name(r)}"
    if not result.shared_scale:
        text += f" · scale ±{_fmt_limit(result.limits()[i])}"
    return text


def note_lines(result: ModelComparison) -> list[str]:
    """The notes a figure and the app show under the title: the scale note, the class note, then
    the others."""
    return [n for n in (result.scale_note, result.class_note, *result.notes) if n]


def model_comparison_figure(result: ModelComparison, style: FigureStyle | None = None, *, title: bool = True):
    """The sentence heatmap of a :class:`~interp_engine.results.ModelComparison`: one row per
    model, labelled with its name and prediction, each row with its own tokens (wrapping across
    lines like :func:`~.heatmap.heatmap_figure`).

    Args:
        result: the comparison (rows may be None: the row's error is written instead).
        style: a :class:`FigureStyle` (default: paper red/blue, single column).
        title: a first line naming the method, then the notes (scale, classes, ...).

    Returns:
        a :class:`matplotlib.figure.Figure` of the style's width. ``fig._interp_meta`` records
        ``{"kind": "models", "rows": number of rows, "limits": per-row half-widths, "shared":
        bool}``.

    Raises:
        ValueError: a comparison without rows.
    """
    import matplotlib as mpl

    style = style or FigureStyle()
    if not result.rows:
        raise ValueError("nothing to draw: the comparison has no rows")
    limits = result.limits()
    with mpl.rc_context(style.rc()):
        fs = style.font_size
        W = style.width_in * 72.0
        margin = 0.4 * fs
        chars = max(int((W - 2 * margin) / (0.5 * fs * 0.8)), 20)
        head_lines: list[tuple[str, float, str, str]] = []  # (text, size, weight, colour)
        if title:
            head_lines.append((f"{method_label(result.method)} · {len(result.rows)} models on one sentence",
                               fs * 0.85, "normal", "#333333"))
            for note in note_lines(result):
                for line in textwrap.wrap(note, chars) or [note]:
                    head_lines.append((line, fs * 0.75, "normal", "#8a5a00"))
        line_h = 1.25 * fs
        y = margin + len(head_lines) * line_h + (0.3 * fs if head_lines else 0.0)
        blocks = []  # (caption lines, layout or None, y of caption, y of boxes)
        cap_chars = max(int((W - 2 * margin) / (0.5 * fs * 0.85)), 20)
        for i, row in enumerate(result.rows):
            caption = textwrap.wrap(row_caption(result, i), cap_chars) or [result.label(i)]
            cap_y = y
            y += len(caption) * line_h
            lay = heatmap_layout([row], style) if row is not None else None
            blocks.append((caption, lay, cap_y, y - margin * 0.5))
            y += (lay["height"] - margin * 0.5 if lay is not None else 0.0) + 0.6 * fs
        bar_pt = 4.6 * fs if style.colorbar else 0.0
        H = y + bar_pt + margin
        fig = _new_figure(style, H / 72.0)
        H = fig.get_figheight() * 72.0
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(0, W)
        ax.set_ylim(H, 0)
        for k, (text, size, weight, colour) in enumerate(head_lines):
            ax.text(margin, margin + k * line_h, text, fontsize=size, fontweight=weight, va="top", ha="left",
                    color=colour)
        for i, (caption, lay, cap_y, box_y) in enumerate(blocks):
            for k, line in enumerate(caption):
                ax.text(margin, cap_y + k * line_h, line, fontsize=fs * 0.85, fontweight="bold" if k == 0 else "normal",
                        va="top", ha="left", color="#222222" if result.rows[i] is not None else "#a04000")
            if lay is not None:
                _draw_row(ax, result.rows[i], lay, limits[i], style, box_y - margin)
        if style.colorbar:
            bw = min(0.6, 2.6 / style.width_in)
            bh = 0.7 * fs / H
            rect = ((1 - bw) / 2, (3.1 * fs) / H, bw, bh)
            if result.shared_scale:
                label = f"{short_units(result.units)}: one colour scale for both models"
                _colorbar(fig, rect, max(limits), style, label)
            else:
                _colorbar(fig, rect, 1.0, style, SEPARATE_SCALE_LABEL)
    fig._interp_meta = {"kind": "models", "rows": len(result.rows), "limits": list(limits),
                        "shared": bool(result.shared_scale)}
    return fig


def _draw_row(ax, row, lay: dict, vmax: float, style: FigureStyle, dy: float) -> None:
    """The boxes of one model's row (``lay``: :func:`~.heatmap.heatmap_layout` of that row alone)
    shifted down by ``dy`` points, coloured on ``±vmax``."""
    from matplotlib.patches import FancyBboxPatch

    fs = style.font_size
    special = np.asarray(row.special, bool)
    rgb = score_rgb(row.scores, vmax, style)
    for b in lay["boxes"]:
        y = b.y + dy
        sp = special[b.col]
        fill = SPECIAL_FILL if sp else tuple(rgb[b.col])
        hatch = GREY_HATCH if (style.palette == "greyscale" and not sp and row.scores[b.col] < 0) else None
        ax.add_patch(FancyBboxPatch((b.x, y), b.w, b.h, boxstyle=f"round,pad=0,rounding_size={0.2 * fs}",
                                    facecolor=fill, edgecolor="#9a9a9a" if hatch else "#bbbbbb", linewidth=0.4,
                                    hatch=hatch))
        tc = "#141414" if hatch else (SPECIAL_TEXT if sp else text_color_on(fill))
        ax.text(b.x + b.w / 2, y + b.h / 2, _display(row.tokens[b.col]), ha="center", va="center_baseline",
                fontsize=fs, color=tc, style="italic" if sp else "normal",
                bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none") if hatch else None)
    for (seg, x, y, h, ha) in lay["segment_labels"]:  # a pair: "premise", "hypothesis"
        ax.text(x + (lay["label_w"] - 0.4 * fs if ha == "right" else 0.0), y + dy + h / 2, seg, ha=ha,
                va="center_baseline", fontsize=fs * 0.85, fontweight="bold", color="#333333")


def model_comparison_latex(result: ModelComparison, style: FigureStyle | None = None, *, prefix: str = "ism") -> str:
    """The comparison as LaTeX: per model a bold caption line (name, prediction, scale) and one
    ``\\colorbox`` per token on the row's scale (:meth:`ModelComparison.limits`); the notes as
    comment lines. Needs ``\\usepackage{xcolor}``."""
    style = style or FigureStyle()
    limits = result.limits()
    lines = [f"% Interp Studio model comparison: {method_label(result.method)}; needs \\usepackage{{xcolor}}"]
    lines += [f"% {n}" for n in note_lines(result)]
    body = ["{\\setlength{\\fboxsep}{1.5pt}%"]
    for r, row in enumerate(result.rows):
        body.append(f"\\textbf{{{_latex_escape(row_caption(result, r))}}}\\par")
        if row is None:
            continue
        special = np.asarray(row.special, bool)
        rgb = score_rgb(row.scores, limits[r], style)
        parts = []
        for i, tok in enumerate(row.tokens):
            name = f"{prefix}{_alpha(r)}t{_alpha(i)}"
            c = (0.925, 0.925, 0.925) if special[i] else rgb[i]
            lines.append("\\definecolor{%s}{rgb}{%.4f,%.4f,%.4f}" % (name, *c))
            t = _latex_escape(tok)
            if special[i]:
                t = "\\textit{\\textcolor{gray}{%s}}" % t
            elif text_color_on(rgb[i]) == "white":
                t = "\\textcolor{white}{%s}" % t
            parts.append("\\colorbox{%s}{\\strut %s}" % (name, t))
        body.append("\\allowbreak\\hspace{0.15em}".join(parts) + "\\par")
    body.append("}")
    return "\n".join(lines + body) + "\n"


__all__ = ["SEPARATE_SCALE_LABEL", "model_comparison_figure", "model_comparison_latex", "note_lines", "row_caption"]
