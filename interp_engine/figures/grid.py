"""The layer × location saliency grid (Yuan et al. ``001_e80f9d2c7d254978.txt`` eq. 3) as a
vector ``pcolormesh``, the top locations per layer outlined red/blue/green and the receptive
field of each outlined location drawn as a dashed box over the tokens it sees."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..config import HiddenConfig
from .common import _colorbar, _display, _new_figure, _text_size
from .palette import GREY_HATCH, MARK_COLORS, SPECIAL_TEXT, diverging_colors, symmetric_limit
from .style import FigureStyle


def saliency_grid_figure(hs, style: FigureStyle | None = None, *, receptive_fields: str | Sequence = "top1",
                         top_marks: int = HiddenConfig.top):
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
        _segment_boundaries(ax, hs, fs)
        names = tuple(hs.prediction.class_names)
        tname = names[hs.target] if 0 <= hs.target < len(names) else str(hs.target)
        ax.set_title(f"Hidden-location saliency for class {tname}", fontsize=fs * 0.9,
                     pad=3 + (fs if _pair_segments(hs) else 0), loc="left")
        if style.colorbar:
            x0 = 1 - right + 0.08 / W
            _colorbar(fig, (x0, bottom, 0.09 / W, 1 - top - bottom), vmax, style, "logit", orientation="vertical")
    fig._interp_meta = {"kind": "grid", "vmax": vmax}
    return fig



def _pair_segments(hs) -> list:
    """A pair grid's segments ``[(name, positions)]`` (special tokens in none), or []."""
    from ..results import segment_rows

    names = tuple(getattr(hs, "segment_names", ()) or ())
    if getattr(hs, "segments", None) is None or len(names) != 2:
        return []
    return [(n, p) for n, p in segment_rows(hs.tokens, hs.segments, names) if p]


def _segment_boundaries(ax, hs, fs: float) -> None:
    """A sentence pair: a dashed line before the hypothesis's first column and each segment's name
    above its columns."""
    from matplotlib.transforms import blended_transform_factory

    segs = _pair_segments(hs)
    if not segs:
        return
    tr = blended_transform_factory(ax.transData, ax.transAxes)
    for k, (name, pos) in enumerate(segs):
        if k:
            ax.axvline(pos[0] - 0.5, color="#222222", lw=1.2, linestyle=(0, (3, 2)), zorder=6)
        ax.text((pos[0] + pos[-1]) / 2, 1.0, name, transform=tr, ha="center", va="bottom", fontsize=fs * 0.8,
                fontweight="bold")
