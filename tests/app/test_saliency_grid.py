"""The layer × location saliency grid fed hand-built HiddenSaliency objects."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from desktop_app.colors import MARK_COLORS
from desktop_app.panels.saliency_grid import SaliencyGridPanel
from tests.app.factories import saliency

SCORES = np.array([[0.1, 0.9, -0.5, 0.7, 0.3],
                   [-2.0, 0.2, 0.4, 0.1, 1.5]])


@pytest.fixture
def panel(qtbot):
    p = SaliencyGridPanel()
    qtbot.addWidget(p)
    p.resize(800, 450)
    p.show()
    qtbot.waitExposed(p)
    return p


def test_image_ticks_and_symmetric_levels(panel):
    hs = saliency(scores=SCORES)
    panel.set_result(hs)
    assert panel.image.image.shape == (2, 5)
    assert panel.image.axisOrder == "row-major"
    lo, hi = panel.colorbar.levels()
    assert lo == pytest.approx(-2.0) and hi == pytest.approx(2.0)
    left = panel.plot.getPlotItem().getAxis("left")
    assert [t for t in left._tickLevels[0]] == [(0, "conv1"), (1, "conv2")]
    assert panel.bottom_axis.labels() == list(hs.tokens)
    assert "test note" in panel.note_label.text()
    assert panel.stack.currentWidget() is panel.plot


def test_top3_marks_red_blue_green_best_first(panel):
    hs = saliency(scores=SCORES)
    assert hs.top_locations == ((1, 3, 4), (4, 2, 1))
    panel.set_result(hs)
    assert panel.marks() == [(0, 1, "red"), (0, 3, "blue"), (0, 4, "green"),
                             (1, 4, "red"), (1, 2, "blue"), (1, 1, "green")]
    # the coloured outline items (halo + mark per location) sit on the right cells
    coloured = [it for it in panel._mark_items if it.pen().color() != QColor(255, 255, 255)]
    assert [it.pen().color() for it in coloured[:3]] == list(MARK_COLORS)
    centre = coloured[0].rect().center()
    assert (round(centre.x()), round(centre.y())) == (1, 0)
    assert panel.mark_color(0, 3) == MARK_COLORS[1]
    assert panel.mark_color(0, 0) is None
    assert panel.receptive_field_color(0, 0) == QColor(0, 0, 0)
    assert panel.receptive_field_color(1, 4) == MARK_COLORS[0]


def test_cell_click_emits_layer_and_location(panel, qtbot):
    panel.set_result(saliency(scores=SCORES))
    qtbot.wait(10)  # let the view lay out its range
    for layer, loc in ((1, 3), (0, 0)):
        with qtbot.waitSignal(panel.sigCellClicked, timeout=2000) as blocker:
            qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, pos=panel.cell_center(layer, loc))
        assert blocker.args == [layer, loc]


def test_column_highlight(panel):
    panel.set_result(saliency(scores=SCORES))
    panel.highlight_column(2)
    assert panel.highlighted_column() == 2
    outline = panel._column_items[-1]
    assert outline.isVisible() and outline.rect().center().x() == pytest.approx(2.0)
    panel.highlight_column(None)
    assert panel.highlighted_column() is None and not outline.isVisible()
    panel.highlight_column(99)  # out of range: ignored
    assert panel.highlighted_column() is None


def test_new_result_replaces_marks_and_clears_highlight(panel):
    panel.set_result(saliency(scores=SCORES))
    panel.highlight_column(1)
    panel.set_result(saliency(tokens=("x", "y"), scores=[[1.0, -1.0]], layer_names=("lstm1 →",), top=3))
    assert panel.marks() == [(0, 0, "red"), (0, 1, "blue")]
    assert panel.highlighted_column() is None
    assert len(panel._mark_items) == 4


def test_computing_and_clear(panel):
    panel.set_computing()
    assert panel.stack.currentWidget() is panel.message_label
    panel.set_result(saliency(scores=SCORES))
    panel.set_computing()
    assert panel.status_label.text() == "computing…" and panel.stack.currentWidget() is panel.plot
    panel.show_message("failed")
    assert panel.result is None and panel.marks() == [] and panel.message_label.text() == "failed"


def test_mismatched_shapes_are_rejected(panel):
    hs = saliency(scores=SCORES)
    bad = type(hs)(**{**hs.__dict__, "scores": SCORES[:, :3]})
    with pytest.raises(ValueError):
        panel.set_result(bad)
