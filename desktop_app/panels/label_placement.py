"""Greedy placement of point labels in a plot (no Qt): each label tries a few positions around its
point, in order, and takes the first one that overlaps no label placed before it, no marker and
stays inside the plot; a label with no free position is left out (its point keeps its tooltip).

Coordinates are pixels with y pointing down; a rectangle is ``(left, top, width, height)``.
"""
from __future__ import annotations

from typing import Sequence

Rect = tuple[float, float, float, float]

#: directions tried around a point, in order of preference: right, left, above, below, then the
#: diagonals (unit offsets; the label's edge is put ``radius + gap`` away from the point)
DIRECTIONS = ((1, 0), (-1, 0), (0, -1), (0, 1), (1, -1), (-1, -1), (1, 1), (-1, 1))
#: distances tried, as multiples of the first ring (a second ring further out)
RINGS = (1.0, 2.2)


def intersects(a: Rect, b: Rect) -> bool:
    """Whether rectangles ``a`` and ``b`` overlap (touching edges do not count)."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def candidate_rects(x: float, y: float, w: float, h: float, radius: float, gap: float = 2.0) -> list[Rect]:
    """Where a ``w`` × ``h`` label of the point ``(x, y)`` (marker radius ``radius``) may go."""
    out = []
    for ring in RINGS:
        d = (radius + gap) * ring
        for dx, dy in DIRECTIONS:
            if dx and dy:  # diagonal: a corner of the label at 45° from the point
                left = x + d if dx > 0 else x - d - w
                top = y - d - h if dy < 0 else y + d
            elif dx:
                left, top = (x + d if dx > 0 else x - d - w), y - h / 2
            else:
                left, top = x - w / 2, (y - d - h if dy < 0 else y + d)
            out.append((left, top, w, h))
    return out


def place_labels(points: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]],
                 radii: Sequence[float], markers: Sequence[Rect] = (), bounds: Rect | None = None,
                 gap: float = 2.0) -> list[Rect | None]:
    """Place one label per point, in the order given (put the most important first).

    Args:
        points: ``(x, y)`` of each labelled point. sizes: ``(w, h)`` of its label.
        radii: marker radius of each point (the label keeps clear of it).
        markers: rectangles no label may cover (every marker of the plot).
        bounds: the plot area a label must stay inside (None: anywhere).

    Returns:
        Per label, its rectangle, or None when every candidate position collides.
    """
    placed: list[Rect] = []
    out: list[Rect | None] = []
    for (x, y), (w, h), r in zip(points, sizes, radii):
        chosen = None
        for rect in candidate_rects(x, y, w, h, r, gap):
            if bounds is not None and not (rect[0] >= bounds[0] and rect[1] >= bounds[1]
                                           and rect[0] + rect[2] <= bounds[0] + bounds[2]
                                           and rect[1] + rect[3] <= bounds[1] + bounds[3]):
                continue
            if any(intersects(rect, m) for m in markers) or any(intersects(rect, p) for p in placed):
                continue
            chosen = rect
            break
        out.append(chosen)
        if chosen is not None:
            placed.append(chosen)
    return out


def view_box_mapping(vb):
    """``(data → pixel, pixel → data, (width, height))`` of a pyqtgraph view box (y up in the
    data, down in pixels), or None before the box has a size."""
    (xa, xb), (ya, yb) = vb.viewRange()
    w, h = vb.width(), vb.height()
    if w < 2 or h < 2 or xb <= xa or yb <= ya:
        return None
    sx, sy = w / (xb - xa), h / (yb - ya)
    return (lambda x, y: ((x - xa) * sx, (yb - y) * sy)), (lambda px, py: (xa + px / sx, yb - py / sy)), (w, h)


__all__ = ["candidate_rects", "intersects", "place_labels", "view_box_mapping"]
