"""The training-set search panel fed hand-built results, and heatmap token click → query."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from desktop_app.panels.token_search import HTML_ROLE, TokenSearchPanel, highlight_html
from interp_engine.results import SimilarityResult, TokenSearchResult


def _result():
    texts = ("I loved Toy Story , a great film", "Toy Story 2 is dull")
    return TokenSearchResult(
        query="Toy Story", query_tokens=("Toy", "Story"), mode="phrase", n_matches=3, rows=np.array([0, 4]),
        texts=texts, token_span=np.array([[2, 4], [0, 2]]), char_span=np.array([[8, 17], [0, 9]]),
        gold=np.array([1, 0]), predicted=np.array([1, 1]), p_class=np.array([0.9, 0.6]),
        class_names=("neg", "pos"), chosen_class=1, counts_gold=np.array([1, 2]), counts_predicted=np.array([0, 3]),
        hist_edges=np.linspace(0, 1, 3), hist_counts=np.array([[0, 1], [0, 2]]))


@pytest.fixture
def panel(qtbot):
    p = TokenSearchPanel()
    qtbot.addWidget(p)
    p.resize(600, 500)
    p.show()
    qtbot.waitExposed(p)
    return p


def test_highlight_html_escapes():
    assert highlight_html("a <b> c", 2, 5) == 'a <b style="background-color:#ffe066">&lt;b&gt;</b> c'


def test_result_table_histogram_and_sorting(panel, qtbot):
    panel.set_result(_result())
    t = panel.table
    assert t.rowCount() == 2
    assert "3 examples" in panel.summary.text() and "(showing 2)" in panel.summary.text()
    assert "gold: neg 1, pos 2" in panel.summary.text() and "predicted: neg 0, pos 3" in panel.summary.text()
    assert "Toy Story</b>" in t.item(0, 0).data(HTML_ROLE)
    assert [t.item(r, 1).text() for r in range(2)] == ["pos", "neg"]
    assert t.horizontalHeaderItem(3).text() == "p(pos)"
    t.sortItems(3, Qt.SortOrder.AscendingOrder)
    assert [t.item(r, 3).text() for r in range(2)] == ["0.600", "0.900"]
    assert len(panel.bars) == 2  # one bar series per gold label
    assert list(panel.bars[1].opts["height"]) == [0, 2]
    with qtbot.waitSignal(panel.sigSentenceActivated) as blocker:
        panel._activate(t, t.model().index(0, 0))
    assert blocker.args == ["Toy Story 2 is dull"]


def test_query_box_emits_search(panel, qtbot):
    panel.set_query("great film")
    with qtbot.waitSignal(panel.sigSearchRequested) as blocker:
        panel.search_button.click()
    assert blocker.args == ["great film"]


def test_similar_tab(panel):
    r = SimilarityResult(text="a good film", tokens=("a", "good", "film"), span=(1, 3), layer="conv2", n=2,
                         metric="l2", rows=np.array([3, 1]), starts=np.array([0, 2]), distances=np.array([0.0, 0.5]),
                         ngrams=("good film", "great movie"), texts=("good film here", "a truly great movie"),
                         char_span=np.array([[0, 9], [8, 19]]), gold=np.array([1, -1]), class_names=("neg", "pos"),
                         n_indexed=40)
    panel.set_similar_result(r)
    assert panel.tabs.currentIndex() == 1 and panel.similar_table.rowCount() == 2
    assert "good film" in panel.similar_label.text() and "40" in panel.similar_label.text()
    assert panel.similar_table.item(1, 2).text() == "—"


def test_heatmap_token_click_fills_query(qtbot):
    from desktop_app.controllers import TokenSearchController
    from desktop_app.main_window import MainWindow
    from tests.app.factories import attribution

    w = MainWindow(persist_layout=False, interactive=False)
    qtbot.addWidget(w)
    try:
        a = attribution(tokens=("Toy", "Story", "rocks"), scores=(1.0, -1.0, 0.5), special=(False, False, False))
        w.heatmap.set_result(a)
        assert isinstance(w.search_controller, TokenSearchController)
        w.heatmap.sigTokenClicked.emit(1)
        assert w.search_panel.query_edit.text() == "Story"
        assert w.search_controller.span == (1, 2)
        w.heatmap.sigSpanSelected.emit(0, 1)
        assert w.search_panel.query_edit.text() == "Toy Story" and w.search_controller.span == (0, 2)
        assert w.findChild(type(w.search_dock), "tokenSearchDock") is w.search_dock
    finally:
        w.close()



def test_histogram_legend_has_one_entry_per_gold_label(panel):
    """Regression: each bar series was listed twice in the legend."""
    panel.set_result(_result())
    panel.set_result(_result())  # a second search must not add entries either
    assert len(panel.bars) >= 2 and len(panel.legend.items) == len(panel.bars)


def test_match_mode_and_histogram_class_selectors(panel, qtbot):
    panel.set_class_names(("World", "Sports", "Business"))
    assert panel.chosen_class() == 1 and panel.mode() == "phrase"
    panel.set_query("Toy Story")
    with qtbot.waitSignal(panel.sigSearchRequested) as b:  # a new class re-runs the search
        panel.class_combo.setCurrentIndex(2)
    assert b.args == ["Toy Story"] and panel.chosen_class() == 2
    with qtbot.waitSignal(panel.sigSearchRequested):
        panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("all"))
    assert panel.mode() == "all"
    panel.set_class_names(("World", "Sports", "Business"))  # same classes: the choice is kept
    assert panel.chosen_class() == 2
