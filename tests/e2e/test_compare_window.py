"""Two models side by side in the real window (Kim et al. 2020 Fig. 4a), through the real engine
thread: File → Compare With Model… opens a second tiny model, the heatmap shows one labelled row per
model, the dataset list a column per model and the "models disagree" filter keeps exactly the rows
whose predicted class names differ; the session remembers the comparison model; closing it goes back
to one model; a second model that cannot be opened or reads pairs leaves the open model as it was;
``--compare-model`` on the command line."""
from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt

from desktop_app.__main__ import main
from desktop_app.main_window import MainWindow
from interp_engine.engine import Engine
from interp_engine.requests import LoadDatasetRequest, LoadModelRequest, PredictDatasetRequest
from tests.e2e.conftest import TINY_ROWS

WAIT = 60000  # two models on a shared 2-core machine
TEXTS = [t for _, t in TINY_ROWS]


@pytest.fixture(scope="module")
def model_b(tmp_path_factory, tiny_model):
    """A tiny BiLSTM over the same words as the tiny TextCNN, its classes in the other order
    ("positive", "negative"): equal indices are different names."""
    from interp_engine.models import BiLSTMConfig, BiLSTMForSequenceClassification
    from interp_engine.models.tokenization import build_word_tokenizer

    path = tmp_path_factory.mktemp("compare_b") / "bilstm_b"
    tok = build_word_tokenizer(TEXTS, max_length=32)
    torch.manual_seed(8)
    names = {0: "positive", 1: "negative"}
    BiLSTMForSequenceClassification(BiLSTMConfig(
        vocab_size=len(tok), embedding_dim=12, hidden_size=5, attention_dim=6, num_labels=2, max_seq_length=32,
        id2label=names, label2id={v: k for k, v in names.items()})).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def predicted_names(model_dir, data) -> list[str]:
    """Each row's predicted class name by ``model_dir`` alone (the engine, no window)."""
    e = Engine("cpu")
    info = e.run(LoadModelRequest(path=str(model_dir)))
    e.run(LoadDatasetRequest(path=str(data)))
    return [info.class_names[int(k)] for k in e.run(PredictDatasetRequest()).predicted]


@pytest.fixture
def window(qtbot):
    win = MainWindow(persist_layout=False, interactive=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def open_both(window, qtbot, tiny_model, model_b):
    model_dir, data = tiny_model
    c, cc = window.controller, window.compare_controller
    with qtbot.waitSignals([c.sigModelLoaded, c.sigDatasetLoaded, c.sigPredictionsReady], timeout=WAIT):
        window.open_model(str(model_dir))
        window.open_dataset(str(data))
    with qtbot.waitSignal(cc.sigCompareModelChanged, timeout=WAIT):
        window.open_compare_model(str(model_b))
    qtbot.waitUntil(c.is_ready, timeout=WAIT)


def test_two_models_in_the_window(window, qtbot, tiny_model, model_b, tmp_path):
    c, cc, h = window.controller, window.compare_controller, window.heatmap
    open_both(window, qtbot, tiny_model, model_b)
    assert window.close_compare_action.isEnabled() and "B: bilstm_b (bilstm)" in window.model_label.text()

    # one row per model for the current sentence, each labelled with its model and prediction
    res = h.model_comparison
    assert h.models_enabled() and res is not None and res.text == c.current_text == TEXTS[0]
    assert h.model_view.row_count() == 2
    assert h.model_view.caption_text(0).startswith("A · model — predicted ")
    assert h.model_view.caption_text(1).startswith("B · bilstm_b — predicted ")
    assert h.model_view.row_tokens(0) == h.model_view.row_tokens(1) == tuple(TEXTS[0].split())
    assert res.rows[0].model_path == str(tiny_model[0]) and res.rows[1].model_path == str(model_b)
    assert "classes: A has {negative, positive}, B has {positive, negative}" in h.model_note_label.text()
    assert c.attribution is res.rows[0]  # the other docks keep explaining model A's row

    # the dataset list: a column per model, and the filter keeps exactly the disagreeing rows
    names_a, names_b = predicted_names(*tiny_model), predicted_names(model_b, tiny_model[1])
    expected = [r for r in range(len(TEXTS)) if names_a[r] != names_b[r]]
    assert 0 < len(expected) < len(TEXTS)
    m, panel = window.dataset_panel.model, window.dataset_panel
    assert m.has_compare_predictions() and m.columnCount() == 5
    assert [m.data(m.index(r, m.PRED2), Qt.ItemDataRole.ToolTipRole).removeprefix("B: ").split(" (")[0] for r in range(len(TEXTS))] == names_b
    panel.disagree_check.setChecked(True)
    shown = [panel.proxy.mapToSource(panel.proxy.index(r, 0)).row() for r in range(panel.proxy.rowCount())]
    assert shown == expected
    panel.disagree_check.setChecked(False)

    # another row is explained by both models
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT, check_params_cb=lambda t: t == TEXTS[2]):
        panel.select_row(2)
    qtbot.waitUntil(c.is_ready, timeout=WAIT)
    assert h.model_comparison.text == TEXTS[2]

    # the session remembers the comparison model
    session = window.save_session(str(tmp_path / "s.json"))
    assert session.compare_model == str(model_b)

    # closing it: one model again, B's column gone
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        window.close_compare_action.trigger()
    qtbot.waitUntil(c.is_ready, timeout=WAIT)
    assert cc.info is None and not h.models_enabled() and h.model_comparison is None
    assert h.result is not None and h.result.text == TEXTS[2] and m.columnCount() == 4
    assert not window.close_compare_action.isEnabled()

    # the session reopens it
    with qtbot.waitSignal(cc.sigCompareModelChanged, timeout=WAIT):
        window.open_session(str(tmp_path / "s.json"))
    qtbot.waitUntil(lambda: c.is_ready() and h.model_comparison is not None, timeout=WAIT)
    assert cc.info.path == str(model_b)


def test_a_bad_second_model_leaves_the_open_one(window, qtbot, tiny_model, tmp_path):
    from tests.helpers import save_tiny_pair

    c, cc = window.controller, window.compare_controller
    model_dir, data = tiny_model
    with qtbot.waitSignals([c.sigModelLoaded, c.sigSentenceReady], timeout=WAIT):
        window.open_model(str(model_dir))
        c.set_text(TEXTS[1])
    for bad, words in ((tmp_path / "missing", "not a directory"),
                       (save_tiny_pair(tmp_path / "pair"), "reads a pair of texts (premise and hypothesis) but the "
                                                           "open model reads one text")):
        with qtbot.waitSignal(c.sigError, timeout=WAIT) as err:
            window.open_compare_model(str(bad))
        kind, message = err.args
        assert kind == "compare_model" and words in message
        assert cc.info is None and not window.heatmap.models_check.isVisible()
        assert c.model_info.path == str(model_dir) and window.heatmap.result.text == TEXTS[1]


def test_command_line_compare_model_needs_model(capsys):
    assert main(["--compare-model", "/somewhere"]) == 2
    assert "--compare-model DIR needs --model DIR" in capsys.readouterr().err


def test_screenshot_waits_for_both_rows(tiny_model, model_b, tmp_path, capsys):
    from PySide6.QtGui import QImage

    out = tmp_path / "compare.png"
    model_dir, data = tiny_model
    assert main(["--model", str(model_dir), "--compare-model", str(model_b), "--data", str(data),
                 "--screenshot", str(out), "--timeout", "60"]) == 0
    assert not QImage(str(out)).isNull()
    code = main(["--model", str(model_dir), "--compare-model", str(tmp_path / "nope"), "--text", "a dull movie",
                 "--screenshot", str(tmp_path / "x.png"), "--timeout", "60"])
    assert code == 1 and "compare_model failed" in capsys.readouterr().err and not (tmp_path / "x.png").exists()
