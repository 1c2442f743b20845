"""The search histogram: p(class) over the matches of a training-set search (Lopes ``002_``
§4.2), one bar group per gold label."""
from __future__ import annotations

import numpy as np

from .common import _new_figure
from .palette import GOLD_COLORS, GREY_BAR_HATCHES
from .style import FigureStyle


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

