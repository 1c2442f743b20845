""""Merge ## pieces into words" on the sentence heatmap: a display toggle, enabled only for a model
whose tokens are word pieces; a merged word is one box coloured by the sum of its pieces' scores,
and a click on it selects its first piece."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop_app.colors import diverging_qcolor
from desktop_app.panels.heatmap import SentenceHeatmapPanel
from tests.app.factories import attribution

METHODS = {"grad": "logit gradient", "grad_input": "logit gradient · embedding"}
TOKENS = ("[CLS]", "an", "un", "##watch", "##able", "film", "[SEP]")
SCORES = (9.0, -0.5, 0.25, 1.0, 0.5, -0.75, 9.0)
SPECIAL = (True, False, False, False, False, False, True)


@pytest.fixture
def panel(qtbot):
    p = SentenceHeatmapPanel(METHODS)
    qtbot.addWidget(p)
    p.resize(700, 400)
    p.show()
    qtbot.waitExposed(p)
    return p


def _rgb(c):
    return c.red(), c.green(), c.blue()


def test_the_toggle_is_enabled_only_for_word_pieces(panel):
    check = panel.merge_check
    assert check.objectName() == "mergePiecesCheck" and check.text() == "Merge ## pieces into words"
    assert not check.isEnabled()  # no model yet
    panel.set_word_pieces(True)
    assert check.isEnabled()
    check.setChecked(True)
    panel.set_word_pieces(False)  # a model of whole words: nothing to merge
    assert not check.isEnabled() and not check.isChecked() and not panel.view.merged()


def test_merged_words_are_one_box_with_the_sum_of_their_scores(panel, qtbot):
    a = attribution(tokens=TOKENS, scores=SCORES, special=SPECIAL)
    panel.set_word_pieces(True)
    panel.set_result(a)
    v = panel.view
    assert v.vmax == pytest.approx(1.0)  # pieces: max |score| over non-special tokens
    assert all(v.is_drawn(i) for i in range(7))
    panel.merge_check.setChecked(True)
    assert [v.is_drawn(i) for i in range(7)] == [True, True, True, False, False, True, True]
    assert v.shown_token(2) == v.shown_token(4) == "unwatchable" and v.word_span(3) == (2, 4)
    assert v.vmax == pytest.approx(1.75) and panel.colorbar._vmax == pytest.approx(1.75)  # the words' scale
    assert _rgb(v.token_color(2)) == _rgb(diverging_qcolor(1.75, 1.75))  # 0.25 + 1.0 + 0.5
    assert _rgb(v.token_color(5)) == _rgb(diverging_qcolor(-0.75, 1.75))
    assert v.tooltip_text(3) == "“unwatchable”  tokens 2-4\nscore 1.75 = un 0.25 + ##watch 1 + ##able 0.5"
    assert v.token_rect(2).width() > v.token_rect(1).width()
    assert panel.result is a and tuple(panel.result.scores) == SCORES  # display only: per-piece scores kept
    with qtbot.waitSignal(panel.sigTokenClicked, check_params_cb=lambda i: i == 2):  # the word's first piece
        qtbot.mouseClick(v, Qt.MouseButton.LeftButton, pos=v.token_rect(2).center())
    panel.merge_check.setChecked(False)
    assert all(v.is_drawn(i) for i in range(7)) and v.vmax == pytest.approx(1.0) and v.shown_token(3) == "##watch"


def test_a_new_result_stays_merged(panel):
    panel.set_word_pieces(True)
    panel.merge_check.setChecked(True)
    panel.set_result(attribution(tokens=("[CLS]", "bor", "##ing", "[SEP]"), scores=(0, 1.0, 2.0, 0),
                                 special=(True, False, False, True)))
    assert not panel.view.is_drawn(2) and panel.view.shown_token(1) == "boring" and panel.view.vmax == pytest.approx(3.0)
