"""Activation maximization next to corpus search for one unit (Lopes ``002_…`` §3.1-3.2, Fig. 3-4):
the k words nearest (cosine) to the optimised single-word input x* beside the k vocabulary words
that, fed alone, give the unit its highest values; the words in both lists are marked. No Qt."""
from __future__ import annotations

import numpy as np

from ..results import ActivationMaximization
from .common import _display, _new_figure
from .palette import CURVE_COLORS
from .style import FigureStyle

#: colour of an overlap word's bar and label in both lists (paper palette: the deletion curves' green)
OVERLAP_INDEX = 2


def overlap_text(res: ActivationMaximization) -> str:
    """``"overlap 3 / 10"``: words of the optimised input's list that the corpus search found too."""
    return f"overlap {len(res.overlap)} / {len(res.am_words)}"


def activation_figure(res: ActivationMaximization, style: FigureStyle | None = None, *, trace: bool = True):
    """Two ranked word lists as horizontal bars (Lopes Fig. 3-4): left the optimised input's
    nearest words with their cosine similarity to x*, right the corpus search's top-k with the
    unit's activation; words in both lists are bold, in the overlap colour and counted in the
    title. With ``trace``, the objective during gradient ascent below them.

    Args:
        res: an :class:`~interp_engine.results.ActivationMaximization` (``am_words`` /
            ``am_similarities`` (k,), ``corpus_words`` / ``corpus_activations`` (k,), ``overlap``,
            ``objective_trace`` (T,)).
    """
    import matplotlib as mpl

    style = style or FigureStyle()
    k = max(len(res.am_words), len(res.corpus_words), 1)
    both = set(res.overlap)
    cols = CURVE_COLORS[style.palette]
    base, hit = "#9a9a9a", cols[OVERLAP_INDEX]
    show_trace = bool(trace and len(res.objective_trace) > 1)
    with mpl.rc_context(style.rc()):
        fs = style.font_size
        list_h = 0.95 + 0.17 * k
        fig = _new_figure(style, list_h + (1.1 if show_trace else 0.0))
        fig.set_layout_engine("constrained")  # the word labels, titles and the suptitle stay inside
        gs = fig.add_gridspec(2 if show_trace else 1, 2, height_ratios=[list_h, 1.1] if show_trace else None)
        panels = ((res.am_words, res.am_similarities, "optimised input x*:\nnearest words", "cosine"),
                  (res.corpus_words, res.corpus_activations, "corpus search:\ntop-k single words",
                   "activation"))
        for j, (words, vals, title, xlabel) in enumerate(panels):
            ax = fig.add_subplot(gs[0, j])
            vals = np.asarray(vals, float)
            ys = np.arange(len(words))
            colors = [hit if w in both else base for w in words]
            bars = ax.barh(ys, vals, color=colors, height=0.7)
            if style.palette == "greyscale":
                for b, w in zip(bars, words):
                    b.set_hatch("///" if w in both else "")
            ax.set_yticks(ys)
            ax.set_yticklabels([_display(w) for w in words], fontsize=fs * 0.8)
            for lab, w in zip(ax.get_yticklabels(), words):
                if w in both:
                    lab.set_fontweight("bold")
                    lab.set_color(hit if style.palette != "greyscale" else "#000000")
            ax.set_ylim(len(words) - 0.5, -0.5)
            ax.set_xlabel(xlabel, fontsize=fs * 0.8)
            ax.tick_params(axis="x", labelsize=fs * 0.75)
            ax.spines[["top", "right"]].set_visible(False)
            ax.set_title(title, fontsize=fs * 0.8, loc="right")  # reaches left over the labels, not off the page
            if len(vals) and np.nanmin(vals) >= 0:
                ax.set_xlim(0, float(np.nanmax(vals)) * 1.08 or 1.0)
        fig.suptitle(f"{res.unit}: {overlap_text(res)}", fontsize=fs * 0.9, x=0.02, ha="left")
        if show_trace:
            tx = fig.add_subplot(gs[1, :])
            t = np.asarray(res.objective_trace, float)
            tx.plot(np.arange(1, len(t) + 1), t, color=cols[1], linewidth=1.0)
            tx.set_xlabel("gradient-ascent step", fontsize=fs * 0.8)
            tx.set_ylabel("unit value", fontsize=fs * 0.8)
            tx.tick_params(labelsize=fs * 0.75)
            tx.spines[["top", "right"]].set_visible(False)
            tx.set_title(f"objective (final {float(res.am_activation):.3g})", fontsize=fs * 0.8, loc="left")
    fig._interp_meta = {"kind": "activation"}
    return fig


__all__ = ["activation_figure", "overlap_text"]
