"""Drawing helpers shared by the panels' figures: a new Figure of the style's width, text
metrics, token display, labels and the vector colour bar. No Qt."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .palette import GREY_HATCH, diverging_colors
from .style import FigureStyle


def method_label(key: str) -> str:
    """Display name of an attribution method key (:func:`interp_engine.attribution.registry.label`)."""
    from ..attribution import registry  # imported on use: the registry loads the methods (torch)

    return registry.label(key)


def units_label(results: Sequence) -> str:
    """The colour-bar label of rows sharing one scale: their unit, or "mixed units"."""
    units = {r.units for r in results}
    return units.pop() if len(units) == 1 else "mixed units (each row's unit in its label)"


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
