"""The dataset list panel: model, proxy filter/sort, selection."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from desktop_app.panels.dataset_list import DatasetListPanel, DatasetTableModel

TEXTS = ("a great film", "a dull film", "Great acting", "terrible")


@pytest.fixture
def panel(qtbot):
    p = DatasetListPanel()
    qtbot.addWidget(p)
    p.set_dataset(TEXTS, np.array([1, 0, 1, 0]), ("negative", "positive"), "d.tsv")
    p.show()
    return p


def cell(p, row, col):
    return p.proxy.index(row, col).data()


def test_rows_and_columns_before_and_after_predictions(panel, qtbot):
    panel.resize(600, 300)  # room for the full class names
    qtbot.waitUntil(lambda: not panel.model.short_names)
    assert panel.proxy.rowCount() == 4
    assert [panel.model.headerData(c, Qt.Orientation.Horizontal) for c in range(4)] == \
        ["Sentence", "Gold", "Pred.", "Conf."]  # short headers, the long names in their tooltips
    tips = [panel.model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) for c in range(4)]
    assert "predicted" in tips[2] and "Confidence" in tips[3]
    assert cell(panel, 0, 1) == "positive" and cell(panel, 0, 2) == "…"
    panel.set_predictions(np.array([1, 1, 1, -1]), np.array([0.9, 0.6, 0.8, np.nan]), ("negative", "positive"))
    assert [cell(panel, r, 2) for r in range(4)] == ["positive", "positive", "positive", "—"]
    assert cell(panel, 0, 3) == "0.900" and cell(panel, 3, 3) == "—"
    assert panel.model.accuracy() == pytest.approx(2 / 3)
    wrong = panel.model.index(1, DatasetTableModel.PRED).data(Qt.ItemDataRole.ForegroundRole)
    assert wrong is not None and wrong.red() > 150
    assert "accuracy 66.7%" in panel.summary_label.text()


def test_prediction_count_must_match(panel):
    with pytest.raises(ValueError):
        panel.set_predictions(np.array([1]), np.array([0.5]), ("negative", "positive"))


def test_filter_is_case_insensitive(panel):
    panel.filter_edit.setText("great")
    assert panel.proxy.rowCount() == 2
    assert "2 shown" in panel.summary_label.text()


def test_sort_by_confidence_numerically(panel):
    panel.set_predictions(np.array([1, 0, 1, 0]), np.array([0.95, 0.55, 0.105, 0.7]), ("negative", "positive"))
    panel.view.sortByColumn(DatasetTableModel.CONF, Qt.SortOrder.AscendingOrder)
    assert [cell(panel, r, 3) for r in range(4)] == ["0.105", "0.550", "0.700", "0.950"]


def test_selecting_a_row_emits_source_row_and_text(panel, qtbot):
    panel.view.sortByColumn(DatasetTableModel.TEXT, Qt.SortOrder.DescendingOrder)
    with qtbot.waitSignal(panel.sigSentenceSelected) as blocker:
        panel.select_row(2)
    assert blocker.args == [2, "Great acting"]
    assert panel.selected_row() == 2
    # a row hidden by the filter: the filter is cleared so that the row can be shown
    panel.filter_edit.setText("dull")
    with qtbot.waitSignal(panel.sigSentenceSelected) as blocker:
        panel.select_row(3)
    assert blocker.args == [3, "terrible"] and panel.filter_edit.text() == ""


def test_every_column_fits_the_default_dock_width(qtbot):
    p = DatasetListPanel()
    qtbot.addWidget(p)
    p.resize(260, 400)  # the dock's default width
    p.show()
    qtbot.waitExposed(p)
    texts = [f"Shot in eleven days, Borrowed Thunder turns out to be painfully flat {i}." for i in range(600)]
    p.set_dataset(texts, np.arange(600) % 2, ("negative", "positive"), "test.tsv")
    p.set_predictions(np.arange(600) % 2, np.full(600, 0.874), ("negative", "positive"))
    qtbot.wait(20)
    hh, vp = p.view.horizontalHeader(), p.view.viewport().width()
    widths = [hh.sectionSize(c) for c in range(4)]
    assert sum(widths) <= vp + 1  # no sideways scrolling: gold, predicted and confidence are on screen
    assert hh.sectionViewportPosition(DatasetTableModel.CONF) + widths[3] <= vp + 1
    assert not p.view.horizontalScrollBar().isVisible()
    assert widths[0] >= 0.25 * vp  # the sentence keeps a readable share (elided, the tooltip has it all)
    assert widths[3] >= p.view.fontMetrics().horizontalAdvance("0.874")  # the confidence is never cut
    # a wide dock: the label columns get their full contents, the sentence the rest
    p.resize(700, 400)
    qtbot.wait(20)
    fm = p.view.fontMetrics()
    assert hh.sectionSize(DatasetTableModel.GOLD) >= fm.horizontalAdvance("negative")
    assert sum(hh.sectionSize(c) for c in range(4)) <= p.view.viewport().width() + 1


def test_footer_stays_on_one_line(panel):
    panel.resize(260, 300)
    panel.set_predictions(np.array([1, 1, 1, 0]), np.array([0.9, 0.6, 0.8, 0.7]), ("negative", "positive"))
    lab = panel.summary_label
    assert not lab.wordWrap() and "\n" not in lab.text()
    assert lab.sizeHint().height() <= lab.fontMetrics().height() + 8  # one line high
    assert "d.tsv" in lab.toolTip() and "accuracy" in lab.toolTip()  # the file name is in the tooltip
    assert lab.fontMetrics().horizontalAdvance(lab.elided_text()) <= max(lab.contentsRect().width(), 1)


def test_narrow_columns_show_unique_prefixes_with_the_full_name_in_the_tooltip(panel, qtbot):
    from desktop_app.panels.dataset_list import unique_prefixes

    assert unique_prefixes(("negative", "positive")) == ("neg", "pos")
    assert unique_prefixes(("World", "Sports", "Business", "Sci/Tech")) == ("Wor", "Spo", "Bus", "Sci")
    assert unique_prefixes(("contradiction", "contrast", "ok")) == ("contrad", "contras", "ok")
    panel.set_predictions(np.array([1, 0, 1, 0]), np.array([0.9, 0.6, 0.8, 0.7]), ("negative", "positive"))
    panel.resize(260, 300)
    qtbot.waitUntil(lambda: panel.model.short_names)
    assert [cell(panel, r, 1) for r in range(4)] == ["pos", "neg", "pos", "neg"]
    assert panel.proxy.index(0, 2).data(Qt.ItemDataRole.ToolTipRole) == "positive"
    panel.resize(700, 300)
    qtbot.waitUntil(lambda: not panel.model.short_names)
    assert cell(panel, 0, 2) == "positive"
