"""The greedy label placement of the neighbour scatter (pure geometry, no Qt)."""
from __future__ import annotations

import numpy as np

from desktop_app.panels.label_placement import candidate_rects, intersects, place_labels


def test_intersects():
    assert intersects((0, 0, 10, 10), (5, 5, 10, 10))
    assert not intersects((0, 0, 10, 10), (10, 0, 5, 5))  # touching edges do not count
    assert not intersects((0, 0, 10, 10), (0, 11, 10, 10))


def test_candidates_keep_clear_of_their_own_marker():
    marker = (50 - 5, 50 - 5, 10, 10)
    for r in candidate_rects(50, 50, 30, 12, radius=5):
        assert not intersects(r, marker)


def test_crowded_points_get_disjoint_labels_inside_the_plot():
    rng = np.random.default_rng(1)
    pts = [tuple(v) for v in rng.uniform(40, 160, size=(30, 2))]
    sizes = [(40.0, 14.0)] * len(pts)
    markers = [(x - 5, y - 5, 10, 10) for x, y in pts]
    bounds = (0.0, 0.0, 200.0, 200.0)
    rects = place_labels(pts, sizes, [5.0] * len(pts), markers, bounds)
    placed = [r for r in rects if r is not None]
    assert 5 <= len(placed) < len(pts)  # crowded: some are left out rather than overlap
    assert not any(intersects(a, b) for i, a in enumerate(placed) for b in placed[i + 1:])
    assert not any(intersects(r, m) for r in placed for m in markers)
    assert all(r[0] >= 0 and r[1] >= 0 and r[0] + r[2] <= 200 and r[1] + r[3] <= 200 for r in placed)
    # order is priority: the first label always gets its first free choice (right of its point)
    assert rects[0] is not None


def test_a_lone_point_is_labelled_to_its_right():
    (r,) = place_labels([(100.0, 100.0)], [(30.0, 10.0)], [4.0])
    assert r[0] > 100 and r[1] < 100 < r[1] + r[3]
