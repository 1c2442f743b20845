"""Sentence pairs in the panels, fed hand-built pair results (Kim et al. 2020 Fig. 2b / 4c): the
heatmap draws premise and hypothesis as two labelled rows on one colour scale and a click in the
hypothesis row reports the token's index in the combined sequence; the comparison view, the
saliency grid, the dataset list, the deletion note, the two text boxes (labels, Tab order, the
input they give), the analysis state and the session keep the pair."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from desktop_app.colors import DIVERGING_STOPS, diverging_qcolor
from desktop_app.input_row import SINGLE_LABEL, InputRow
from desktop_app.panels.comparison import MethodComparisonView
from desktop_app.panels.dataset_list import DatasetListPanel
from desktop_app.panels.heatmap import SentenceHeatmapPanel
from desktop_app.panels.saliency_grid import SaliencyGridPanel
from desktop_app.state import AnalysisState
from interp_engine.inputs import TextInput
from tests.app.factories import attribution, saliency

METHODS = {"grad": "logit gradient", "grad_input": "logit gradient · embedding"}
NAMES = ("premise", "hypothesis")
# a BERT-like pair: [CLS] premise [SEP] hypothesis [SEP]; positions 5..7 are the hypothesis
TOKENS = ("[CLS]", "a", "dog", "runs", "[SEP]", "an", "animal", "moves", "[SEP]")
SEGMENTS = np.array([-1, 0, 0, 0, -1, 1, 1, 1, -1])
SCORES = (9.0, 1.0, -2.0, 0.5, 9.0, 3.0, -1.0, 0.0, 9.0)
TEXTS = ("a dog runs", "an animal moves")


def pair_attribution(scores=SCORES, method="grad"):
    a = attribution(tokens=TOKENS, scores=scores, special=SEGMENTS < 0, method=method, text=" ‖ ".join(TEXTS))
    return replace(a, segments=SEGMENTS, segment_names=NAMES, texts=TEXTS)


def pair_saliency():
    hs = saliency(tokens=TOKENS, text=" ‖ ".join(TEXTS))
    return replace(hs, segments=SEGMENTS, segment_names=NAMES, texts=TEXTS)


@pytest.fixture
def heatmap(qtbot):
    p = SentenceHeatmapPanel(METHODS)
    qtbot.addWidget(p)
    p.resize(700, 400)
    p.show()
    qtbot.waitExposed(p)
    return p


def test_pair_heatmap_is_two_labelled_rows_on_one_scale(heatmap):
    heatmap.set_result(pair_attribution())
    v = heatmap.view
    assert v.rows() == [("premise", [1, 2, 3]), ("hypothesis", [5, 6, 7])]
    labels = v.row_labels()
    assert [n for n, _r in labels] == ["premise", "hypothesis"]
    # special tokens are not drawn in pair mode; every other token has its box
    assert [i for i in range(len(TOKENS)) if v.is_drawn(i)] == [1, 2, 3, 5, 6, 7]
    prem_bottom = max(v.token_rect(i).bottom() for i in (1, 2, 3))
    hyp_top = min(v.token_rect(i).top() for i in (5, 6, 7))
    assert hyp_top > prem_bottom  # the hypothesis is its own row, below the premise
    # each label sits at the left of its row, at the height of the row's first line, clear of the boxes
    for (name, rect), first in zip(labels, (1, 5)):
        box = v.token_rect(first)
        assert rect.right() < box.left() and abs(rect.center().y() - box.center().y()) <= 2
    assert not labels[0][1].intersects(labels[1][1])
    # ONE colour scale over both rows (max |score| of non-special tokens: 3.0 is in the hypothesis)
    assert v.vmax == pytest.approx(3.0)
    strongest = v.token_color(5)  # +3.0 = +vmax: the darkest red
    assert (strongest.red(), strongest.green(), strongest.blue()) == tuple(int(x) for x in DIVERGING_STOPS[-1])
    assert v.token_color(1) == diverging_qcolor(1.0, 3.0)  # a premise token on the same scale
    assert "hypothesis" in v.tooltip_text(6)


def test_click_on_a_hypothesis_token_emits_its_combined_index(heatmap, qtbot):
    heatmap.set_result(pair_attribution())
    v = heatmap.view
    with qtbot.waitSignal(heatmap.sigTokenClicked) as blocker:
        qtbot.mouseClick(v, Qt.MouseButton.LeftButton, pos=v.token_rect(6).center())
    assert blocker.args == [6]  # "animal": position 6 of [CLS] a dog runs [SEP] an animal moves [SEP]
    assert v.selected() == 6
    with qtbot.waitSignal(heatmap.sigTokenClicked) as blocker:
        qtbot.mouseClick(v, Qt.MouseButton.LeftButton, pos=v.token_rect(2).center())
    assert blocker.args == [2]
    # a shift-click span stays inside its row (a span never crosses premise and hypothesis)
    v.set_selected(3)
    assert v.span_to(6) == (5, 6)


def test_single_text_results_flow_as_before(heatmap):
    heatmap.set_result(attribution())
    assert heatmap.view.rows() is None and heatmap.view.row_labels() == []
    assert all(heatmap.view.is_drawn(i) for i in range(4))


def test_compare_methods_on_a_pair(heatmap, qtbot):
    rows = (pair_attribution(), pair_attribution(scores=tuple(-s for s in SCORES), method="grad_input"))
    heatmap.set_comparison(rows)
    view: MethodComparisonView = heatmap.compare_view
    assert view.row_count() == 2
    assert view.columns() == [1, 2, 3, 5, 6, 7]  # premise columns, then hypothesis, no [CLS]/[SEP]
    heads = view.segment_headers()
    assert [h[0] for h in heads] == ["premise", "hypothesis"]
    assert heads[0][2] < heads[1][1]  # a visible gap between the segments
    assert view.cell_rect(0, 3).right() < view.cell_rect(0, 5).left() - view.SEGMENT_GAP / 2
    assert view.cell_rect(0, 4).isEmpty()
    qtbot.waitExposed(view)
    with qtbot.waitSignal(heatmap.sigTokenClicked) as blocker:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(1, 7).center().toPoint())
    assert blocker.args == [7]
    assert "hypothesis" in view.tooltip_text(0, 6)


def test_saliency_grid_of_a_pair_shows_every_location_and_the_boundary(qtbot):
    grid = SaliencyGridPanel()
    qtbot.addWidget(grid)
    grid.resize(800, 450)
    grid.show()
    grid.set_result(pair_saliency())
    assert grid.image.image.shape == (2, len(TOKENS))  # columns = combined tokens, specials included
    assert grid.segment_boundaries() == [4.5]  # before the hypothesis's first location
    assert [n for _x, n in grid.segment_labels()] == ["premise", "hypothesis"]
    assert grid.plot.getPlotItem().getAxis("top").isVisible()
    grid.set_result(saliency())  # a single text: no boundary
    assert grid.segment_boundaries() == [] and not grid.plot.getPlotItem().getAxis("top").isVisible()


def test_dataset_list_shows_premise_and_hypothesis_columns(qtbot):
    p = DatasetListPanel()
    qtbot.addWidget(p)
    p.resize(420, 300)
    p.show()
    premises = ["a man plays", "two dogs run", "a child eats"]
    hyps = ["a person plays music", "animals move", "nobody eats"]
    p.set_dataset(premises, np.array([0, 1, 2]), ("entailment", "neutral", "contradiction"), "pairs.tsv",
                  pairs=hyps, segment_names=NAMES)
    m = p.model
    headers = [m.headerData(c, Qt.Orientation.Horizontal) for c in range(m.columnCount())]
    assert headers == ["premise", "hypothesis", "Gold", "Pred.", "Conf."]
    assert m.index(1, 0).data() == "two dogs run" and m.index(1, 1).data() == "animals move"
    assert m.index(2, m.GOLD).data(Qt.ItemDataRole.ToolTipRole) == "contradiction"
    assert m.input(1) == TextInput.pair("two dogs run", "animals move")
    p.set_predictions(np.array([0, 0, 2]), np.array([0.9, 0.5, 0.7]), ("entailment", "neutral", "contradiction"))
    assert m.index(0, m.CONF).data() == "0.900"
    assert "3 pairs" in p.summary_label.text()
    with qtbot.waitSignal(p.sigSentenceSelected) as blocker:
        p.select_row(2)
    assert blocker.args == [2, "a child eats ‖ nobody eats"]
    p.filter_edit.setText("animals")  # the filter searches the hypotheses too
    assert p.proxy.rowCount() == 1 and p.proxy.mapToSource(p.proxy.index(0, 0)).row() == 1
    p.filter_edit.setText("neutral")  # ...but not the label columns
    assert p.proxy.rowCount() == 0
    p.filter_edit.clear()
    p.set_dataset(["one text"], None, ())  # a single-text dataset: the usual four columns
    assert m.columnCount() == 4 and m.headerData(0, Qt.Orientation.Horizontal) == "Sentence"


def test_two_boxes_for_a_pair_model_and_tab_order(qtbot):
    top = QWidget()
    row = InputRow(top)
    qtbot.addWidget(top)
    top.show()
    qtbot.waitExposed(top)
    assert not row.second_edit.isVisible() and row.first_label.text() == SINGLE_LABEL
    row.set_segments(NAMES)
    assert row.second_edit.isVisible() and row.second_label.isVisible()
    assert row.first_label.text() == "premise:" and row.second_label.text() == "hypothesis:"
    assert not row.pair_button.isVisible()
    row.first_edit.setFocus()
    qtbot.waitUntil(row.first_edit.hasFocus)
    qtbot.keyClick(row.first_edit, Qt.Key.Key_Tab)
    qtbot.waitUntil(row.second_edit.hasFocus)
    assert QApplication.focusWidget() is row.second_edit
    row.first_edit.setText("A man plays a guitar .")
    row.second_edit.setText("A man makes music .")
    assert row.input() == TextInput.pair("A man plays a guitar .", "A man makes music .")
    with qtbot.waitSignal(row.sigSubmitted):
        qtbot.keyClick(row.second_edit, Qt.Key.Key_Return)
    # a single-text model: one box again
    row.set_segments(("text",))
    assert not row.second_edit.isVisible() and row.input() == TextInput.single("A man plays a guitar .")
    # a pair shown for a single-text model opens the second box (the engine then says why it cannot)
    row.set_input(TextInput.pair("p", "h"))
    assert row.second_edit.isVisible() and row.second_edit.text() == "h" and row.input().is_pair
    row.set_input("just one")
    assert not row.second_edit.isVisible()
    # a model that reads either (a transformer): one box and a Pair toggle
    row.set_segments(None)
    assert row.pair_button.isVisible() and not row.second_edit.isVisible()
    row.pair_button.click()
    assert row.second_edit.isVisible() and row.first_label.text() == "premise:"


def test_analysis_state_and_session_keep_the_pair():
    from desktop_app.session import Session

    st = AnalysisState()
    inp = TextInput.pair(*TEXTS)
    st.set_input(inp)
    assert st.text == str(inp) and st.input == inp
    back = AnalysisState.from_dict(st.to_dict())
    assert back.input == inp and back.texts == TEXTS
    s = Session.from_json(Session(state=st, pair_column="hypothesis").to_json())
    assert s.state.input == inp and s.pair_column == "hypothesis"
    st.set_input("")
    assert st.input is None and st.texts == ()
    st.set_input("one sentence")
    assert st.input == TextInput.single("one sentence") and st.texts == ()


def test_deletion_dock_notes_that_both_segments_are_replaced(qtbot):
    from desktop_app.panels.deletion_curve import DeletionCurvePanel
    from interp_engine.results import DeletionCurves

    panel = DeletionCurvePanel()
    qtbot.addWidget(panel)
    panel.show()
    fields = DeletionCurves.__dataclass_fields__
    n = len(TOKENS)
    kw = dict(text=" ‖ ".join(TEXTS), tokens=TOKENS, methods=("grad",), strategy="zero", x=np.array([0.0, 0.5]),
              p_deletion=np.array([[0.7, 0.4]]), auc=np.array([0.55]), order=np.array([[5, 1]]),
              replacements=(("[PAD]",),), target=0, class_names=("entailment", "neutral", "contradiction"),
              x_max=0.2, p_original=0.7, n_words=6, seed=0, segments=SEGMENTS, segment_names=NAMES, texts=TEXTS)
    res = DeletionCurves(**{k: v for k, v in kw.items() if k in fields})
    assert n == len(res.tokens)
    panel.set_result(res)
    assert panel.pair_note.isVisible()
    assert "premise" in panel.pair_note.text() and "hypothesis" in panel.pair_note.text()
    panel.set_result(replace(res, segments=None, segment_names=("text",), texts=()))
    assert not panel.pair_note.isVisible()


def test_pair_option_of_the_command_line():
    from desktop_app.__main__ import build_parser, main
    from desktop_app.app import first_input

    opts = build_parser().parse_args(["--text", "A man plays .", "--pair", "A man makes music .",
                                      "--pair-column", "sentence2"])
    assert first_input(opts) == TextInput.pair("A man plays .", "A man makes music .")
    assert opts.pair_column == "sentence2"
    assert first_input(build_parser().parse_args(["--text", "one"])) == "one"
    assert main(["--pair", "only a hypothesis"]) == 2  # --pair needs --text


def test_dataset_columns_dialog_sets_the_pair_column(qtbot):
    from desktop_app.main_window import MainWindow

    win = MainWindow(persist_layout=False)
    qtbot.addWidget(win)
    assert win.pair_column == ""  # auto-detect premise/hypothesis, sentence1/sentence2
    dlg = win.choose_columns()
    assert dlg.pair_edit.text() == "" and "auto-detect" in dlg.pair_edit.placeholderText()
    dlg.text_edit.setText("question")
    dlg.pair_edit.setText("passage")
    dlg.accept()
    assert (win.text_column, win.pair_column, win.label_column) == ("question", "passage", "label")
    win.close()


def test_token_search_shows_both_texts_of_a_pair_match(qtbot, tmp_path):
    """A match in a pair dataset names the text it is in and shows the row's other text."""
    from interp_engine.data import load_dataset
    from interp_engine.search import SearchIndex
    from desktop_app.panels.token_search import TokenSearchPanel, match_html
    from tests.helpers import save_pairs_tsv

    ds = load_dataset(save_pairs_tsv(tmp_path / "p.tsv"))
    res = SearchIndex.open(ds).search("sleeping")
    assert res.n_matches == 1
    shown, tip = match_html(res, 0)
    assert "<i>hypothesis:</i>" in shown and "sleeping</b>" in shown and "premise: A man is playing" in shown
    assert tip.splitlines() == ["premise: A man is playing a guitar on stage .", "hypothesis: The man is sleeping at home ."]
    panel = TokenSearchPanel()
    qtbot.addWidget(panel)
    panel.set_result(res)
    assert panel.table.item(0, 0).toolTip() == tip
