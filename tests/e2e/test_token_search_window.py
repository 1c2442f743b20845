"""e2e: the training-set search dock on a tiny model and dataset, through the real worker thread."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop_app.main_window import MainWindow
from tests.e2e.conftest import TINY_ROWS
from tests.e2e.test_main_window import WAIT, open_tiny


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path / "cache"))
    win = MainWindow(persist_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_type_query_see_results_double_click_opens_sentence(window, qtbot, tiny_model):
    open_tiny(window, qtbot, tiny_model)
    panel = window.search_panel
    window.search_dock.raise_()
    panel.query_edit.clear()
    QTest.keyClicks(panel.query_edit, "acting")
    with qtbot.waitSignal(window.client.sigFinished, timeout=WAIT,
                          check_params_cb=lambda rid, kind, res: kind == "search"):
        QTest.keyClick(panel.query_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=WAIT)
    res = panel.result
    assert res.n_matches == 2 and res.counts_gold.tolist() == [1, 1]
    assert res.counts_predicted.sum() == 2 and len(panel.bars) == 2
    target = panel.table.item(1, 0).text()
    assert target in {t for _, t in TINY_ROWS}
    with qtbot.waitSignal(window.controller.sigSentenceReady, timeout=WAIT, check_params_cb=lambda t: t == target):
        panel._activate(panel.table, panel.table.model().index(1, 0))
    assert window.controller.current_text == target
    # a clicked heatmap token fills the query; Find similar runs in the worker
    window.heatmap.sigTokenClicked.emit(1)
    assert panel.query_edit.text() == window.heatmap.view.tokens[1]
    with qtbot.waitSignal(window.client.sigFinished, timeout=WAIT,
                          check_params_cb=lambda rid, kind, res: kind == "similar"):
        panel.similar_button.click()
    qtbot.waitUntil(lambda: panel.similar_table.rowCount() > 0, timeout=WAIT)
    r = panel.similar_result
    assert r.distances[0] < 1e-3 and r.texts[0] == target
