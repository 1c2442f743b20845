"""Draw the Interp Studio icon (a sentence heatmap: red and blue token boxes) as SVG and PNG.

Run from the repository root: ``python packaging/make_icon.py`` (writes
``resources/icons/interp-studio.svg`` and ``interp-studio.png``, 256 × 256). The files are
committed; this script documents where they came from.
"""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"
ROWS = [["#b2182b", "#fddbc7", "#2166ac"], ["#d1e5f0", "#d6604d", "#f4a582"], ["#4393c3", "#ffffff", "#b2182b"]]


def draw() -> Figure:
    fig = Figure(figsize=(2.56, 2.56), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_axis_off()
    ax.add_patch(FancyBboxPatch((4, 4), 92, 92, boxstyle="round,pad=0,rounding_size=16", fc="#f7f7f7", ec="#404040",
                                lw=3))
    widths = [[28, 18, 22], [16, 30, 22], [24, 18, 26]]
    for r, (cols, ws) in enumerate(zip(ROWS, widths)):
        x = 12.0
        y = 68 - r * 24
        for c, w in zip(cols, ws):
            ax.add_patch(FancyBboxPatch((x, y), w, 16, boxstyle="round,pad=0,rounding_size=3", fc=c, ec="#888888", lw=1.2))
            x += w + 4
    return fig


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    fig = draw()
    fig.savefig(OUT / "interp-studio.png", dpi=100, transparent=True)
    import matplotlib as mpl

    with mpl.rc_context({"svg.hashsalt": "interp-studio"}):
        fig.savefig(OUT / "interp-studio.svg", transparent=True, metadata={"Date": None})
    print(OUT)
