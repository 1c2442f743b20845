"""Sentence pairs end to end in the main window, through the real loading code and the real engine
thread: a tiny pair model and a pair TSV open; the dataset list has premise and hypothesis
columns; a row explains its pair (two labelled heatmap rows, the saliency grid of both segments);
a click on a hypothesis token drives the grid, the candidate table and the neighbour scatter; the
deletion dock notes that both segments are replaced; a pair typed in the two boxes is explained;
a mismatch (one text for a pair model, a pair for a single-text model) is the engine's one-sentence
message, never a traceback; ``--text`` with ``--pair`` explains the pair first."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop_app.main_window import MainWindow
from interp_engine.inputs import TextInput
from tests.helpers import TINY_PAIRS, save_pairs_tsv, save_tiny_pair

WAIT = 30000


@pytest.fixture(scope="module", params=["textcnn", "bilstm"])
def pair_files(request, tmp_path_factory):
    """A tiny pair model of each architecture (its grid rows: conv1/conv2, or lstm1 →/←) and a pair TSV."""
    root = tmp_path_factory.mktemp(f"pairs_{request.param}")
    return save_tiny_pair(root / "pair_model", arch=request.param), save_pairs_tsv(root / "pairs.tsv")


@pytest.fixture
def window(qtbot):
    win = MainWindow(persist_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.neighbour_dock.hide()  # its input optimisation is slow; it is checked on demand below
    return win


def pair(k: int) -> TextInput:
    return TextInput.pair(TINY_PAIRS[k][1], TINY_PAIRS[k][2])


def open_pairs(window, qtbot, pair_files):
    model_dir, data = pair_files
    c = window.controller
    with qtbot.waitSignals([c.sigModelLoaded, c.sigDatasetLoaded, c.sigPredictionsReady, c.sigSentenceReady],
                           timeout=WAIT):
        window.open_model(str(model_dir))
        window.open_dataset(str(data))
    qtbot.waitUntil(c.is_ready, timeout=WAIT)


def test_pair_dataset_and_model_end_to_end(window, qtbot, pair_files):
    c = window.controller
    open_pairs(window, qtbot, pair_files)
    assert c.model_info.segment_names == ("premise", "hypothesis")

    # the dataset list: premise and hypothesis columns, then gold, predicted and confidence
    m = window.dataset_panel.model
    assert [m.headerData(k, Qt.Orientation.Horizontal) for k in range(m.columnCount())] == [
        "premise", "hypothesis", "Gold", "Pred.", "Conf."]
    assert m.rowCount() == len(TINY_PAIRS) and m.has_predictions()
    assert m.index(1, 1).data() == TINY_PAIRS[1][2]
    assert m.index(1, m.GOLD).data(Qt.ItemDataRole.ToolTipRole) == "contradiction"

    # the first row became current: both boxes show it, labelled with the segment names
    assert c.current_input == pair(0)
    assert window.sentence_edit.text() == TINY_PAIRS[0][1] and window.hypothesis_edit.text() == TINY_PAIRS[0][2]
    assert window.hypothesis_edit.isVisible()
    assert window.input_row.first_label.text() == "premise:"
    assert window.input_row.second_label.text() == "hypothesis:"

    # clicking a row explains that pair: two labelled rows, the grid of both segments
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT, check_params_cb=lambda t: t == str(pair(2))):
        window.dataset_panel.select_row(2)
    qtbot.waitUntil(c.is_ready, timeout=WAIT)
    a = c.attribution
    assert a.texts == pair(2).texts and a.request.input == pair(2)
    view = window.heatmap.view
    assert [name for name, _pos in view.rows()] == ["premise", "hypothesis"]
    assert [name for name, _r in view.row_labels()] == ["premise", "hypothesis"]
    n_prem = len(TINY_PAIRS[2][1].split())
    hyp = view.rows()[1][1]
    assert hyp[0] == n_prem and len(hyp) == len(TINY_PAIRS[2][2].split())
    hs = window.grid.result
    assert hs.texts == pair(2).texts and hs.scores.shape == (2, len(a.tokens))
    assert window.grid.segment_boundaries() == [n_prem - 0.5]
    assert [n for _x, n in window.grid.segment_labels()] == ["premise", "hypothesis"]
    # a session remembers the pair and the row it came from
    from desktop_app.session import Session, capture

    s = Session.from_json(capture(window).to_json())
    assert s.state.input == pair(2) and s.source == "dataset" and s.dataset_row == 2

    # the deletion curves replace tokens of both segments
    qtbot.waitUntil(lambda: window.deletion_panel.current_result() is not None
                    and window.deletion_panel.current_result().text == c.current_text, timeout=WAIT)
    assert window.deletion_panel.pair_note.isVisible()
    assert "premise" in window.deletion_panel.pair_note.text()

    # a real click on a hypothesis token: the grid column, then the candidates of that token
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        window.heatmap.set_method("marginalization")  # uniform likelihood: no masked LM needed
    qtbot.waitUntil(c.is_ready, timeout=WAIT)
    k = hyp[1]
    with qtbot.waitSignal(window.candidate_controller.sigCandidatesReady, timeout=WAIT) as blocker:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.token_rect(k).center())
    assert window.grid.highlighted_column() == k
    table = blocker.args[0]
    assert table.position == k and table.token == a.tokens[k] and table.texts == pair(2).texts

    # a grid cell of the hypothesis outlines its receptive field inside the hypothesis; the
    # neighbour scatter asks for that location of the pair
    loc = hyp[-1]
    qtbot.mouseClick(window.grid.plot.viewport(), Qt.MouseButton.LeftButton, pos=window.grid.cell_center(1, loc))
    first, last, _color = view.receptive_field()
    assert n_prem <= first <= last <= hyp[-1]
    assert (1, loc) in window.neighbour_panel.selected_locations()
    job = window.neighbour_controller.request()
    assert job.request.input == pair(2) and job.request.locations == ((1, loc),)
    job.cancel()

    # a pair typed in the two boxes (Tab from the premise to the hypothesis), then Explain
    window.sentence_edit.setFocus()
    qtbot.waitUntil(window.sentence_edit.hasFocus)
    qtbot.keyClick(window.sentence_edit, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is window.hypothesis_edit
    window.sentence_edit.setText("A woman reads a book .")
    window.hypothesis_edit.setText("Nobody is reading .")
    typed = TextInput.pair("A woman reads a book .", "Nobody is reading .")
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT, check_params_cb=lambda t: t == str(typed)):
        window.explain_button.click()
    assert c.attribution.request.input == typed and c.saliency.texts == typed.texts
    assert capture(window).state.input == typed and capture(window).source == "typed"
    assert [view.tokens[i] for i in view.rows()[1][1]] == ["Nobody", "is", "reading", "."]

    # one text for a pair model: the engine's one-sentence message in the heatmap, no traceback
    window.hypothesis_edit.clear()
    with qtbot.waitSignal(c.sigError, timeout=WAIT) as blocker:
        qtbot.keyClick(window.sentence_edit, Qt.Key.Key_Return)
    kind, message = blocker.args
    assert kind in ("attribution", "hidden") and "reads a pair of texts" in message
    assert "Traceback" not in message and "Error" not in message
    qtbot.waitUntil(lambda: "reads a pair of texts" in view._placeholder, timeout=WAIT)
    assert window.client.thread.isRunning()


def test_a_pair_for_a_single_text_model_is_a_message(window, qtbot, tiny_model):
    c = window.controller
    with qtbot.waitSignal(c.sigModelLoaded, timeout=WAIT):
        window.open_model(str(tiny_model[0]))
    assert not window.hypothesis_edit.isVisible()  # a single-text model: one box
    with qtbot.waitSignal(c.sigError, timeout=WAIT) as blocker:
        c.set_text(TextInput.pair("a wonderful film", "a dull film"))
    assert "reads one text" in blocker.args[1] and "Traceback" not in blocker.args[1]
    assert window.hypothesis_edit.isVisible() and window.hypothesis_edit.text() == "a dull film"
    qtbot.waitUntil(lambda: "reads one text" in window.heatmap.view._placeholder, timeout=WAIT)
    # and one sentence still works
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        c.set_text("a wonderful film")
    assert not window.hypothesis_edit.isVisible()


def test_pair_option_explains_the_pair_first(window, qtbot, pair_files):
    """``--model DIR --text PREMISE --pair HYPOTHESIS`` (what ``--screenshot`` runs too)."""
    from desktop_app.__main__ import build_parser
    from desktop_app.app import start

    opts = build_parser().parse_args(["--model", str(pair_files[0]), "--text", "A man plays a guitar .",
                                      "--pair", "A man makes music ."])
    c = window.controller
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        start(window, opts)
    want = TextInput.pair("A man plays a guitar .", "A man makes music .")
    assert c.attribution.request.input == want and c.current_text == str(want)
    assert window.hypothesis_edit.text() == "A man makes music ." and window.hypothesis_edit.isVisible()
    assert [n for n, _p in window.heatmap.view.rows()] == ["premise", "hypothesis"]
