"""The t-SNE neighbour scatter of selected hidden locations (Yuan et al.
``001_e80f9d2c7d254978.txt`` eq. 8 and Fig. 2, top)."""
from __future__ import annotations

import numpy as np

from ..config import NeighbourConfig
from .common import _new_figure
from .palette import SCATTER_COLORS
from .style import FigureStyle


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
        cols = SCATTER_COLORS[style.palette]
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
        proj = str(getattr(res, "projection", NeighbourConfig.projection))
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

