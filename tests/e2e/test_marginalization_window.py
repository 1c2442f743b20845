"""Marginalization in the main window on a tiny saved classifier and a tiny masked LM, through
the real engine thread: uniform end to end, Open Masked LM (bad and good), the candidate dock
after a real click, a shift-click span, and side-by-side mode."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop_app.main_window import MainWindow
from desktop_app.panels.comparison import MIXED_UNITS_LABEL
from tests.e2e.test_main_window import WAIT, open_tiny


@pytest.fixture(scope="session")
def tiny_mlm(tiny_model, tmp_path_factory):
    """A tiny random ``BertForMaskedLM`` saved with the classifier's tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    tok = AutoTokenizer.from_pretrained(str(tiny_model[0]))
    d = tmp_path_factory.mktemp("tiny_mlm") / "mlm"
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64)
    BertForMaskedLM(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    return d


@pytest.fixture
def window(qtbot):
    win = MainWindow(persist_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def test_uniform_marginalization_end_to_end(window, qtbot, tiny_model):
    c, hm = window.controller, window.heatmap
    open_tiny(window, qtbot, tiny_model)
    assert not hm.marginalization_form.is_likelihood_available("mlm")
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        hm.set_method("marginalization")
    a = c.attribution
    assert a.method == "marginalization" and a.units.startswith("bits")
    assert a.params.get("likelihood") == "uniform"
    assert "bits" in hm.scale_label.text()
    assert "candidates per token" in hm.info_label.text() and " s" in hm.info_label.text()
    assert a.n_candidates is not None and a.seconds is not None

    # the candidate dock fills after a real click on a token
    assert window.candidate_dock.objectName() == "candidateTableDock"
    with qtbot.waitSignal(window.candidate_controller.sigCandidatesReady, timeout=WAIT) as b:
        qtbot.mouseClick(hm.view, Qt.MouseButton.LeftButton, pos=hm.token_rect(1).center())
    table = b.args[0]
    assert table.position == 1 and table.token == a.tokens[1]
    panel = window.candidate_panel
    assert panel.model.rowCount() > 1
    assert list(table.likelihood) == sorted(table.likelihood, reverse=True)
    assert f"“{a.tokens[1]}”" in panel.header.text() and "bits" in panel.header.text()
    assert abs(table.woe - a.scores[1]) < 1e-6

    # shift-click a neighbour: a 2-token span, outlined, with its joint WoE
    with qtbot.waitSignal(window.candidate_controller.sigSpanReady, timeout=WAIT) as b:
        qtbot.mouseClick(hm.view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                         pos=hm.token_rect(2).center())
    span = b.args[0]
    assert span.positions == (1, 2) and span.units.startswith("bits")
    assert hm.view.span() == (1, 2)
    assert "joint WoE" in hm.info_label.text() and "joint WoE" in panel.span_label.text()

    # top-n truncation re-runs the attribution with the new setting
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        hm.marginalization_form.topn_spin.setValue(3)
        hm.marginalization_form.topn_check.setChecked(True)
    assert c.attribution.params.get("top_n") == 3
    assert (c.attribution.n_candidates[~c.attribution.special] <= 3).all()


def test_open_masked_lm_bad_then_good(window, qtbot, tiny_model, tiny_mlm, tmp_path):
    c, form = window.controller, window.heatmap.marginalization_form
    open_tiny(window, qtbot, tiny_model)
    bad = tmp_path / "not-an-mlm"
    bad.mkdir()
    with qtbot.waitSignal(c.sigError, timeout=WAIT) as b:
        window.open_mlm(str(bad))
    assert b.args[0] == "mlm"
    assert len(window._boxes) == 1 and window._boxes[0].windowTitle() == "Could not open the masked LM"
    assert not form.is_likelihood_available("mlm")
    # still usable: the sentence can be explained again
    window.heatmap.set_method("marginalization")
    qtbot.waitUntil(c.is_ready, timeout=WAIT)
    assert c.attribution.method == "marginalization"

    with qtbot.waitSignal(c.sigMLMLoaded, timeout=WAIT):
        window.open_mlm(str(tiny_mlm))
    assert form.is_likelihood_available("mlm") and form.likelihood() == "mlm"
    qtbot.waitUntil(lambda: c.is_ready() and c.attribution.params.get("likelihood") == "mlm", timeout=WAIT)
    # the prior counts training-data frequencies (Kim et al. §4.5), never the open (test) dataset: this
    # model's folder records no training file, so the prior waits until the user chooses one
    assert not form.is_likelihood_available("prior")
    model_dir, data = tiny_model
    with qtbot.waitSignal(c.sigStatus, timeout=WAIT, check_params_cb=lambda m: "Prior likelihood" in m) as st:
        c.open_prior(str(data))
    assert "unigram counts of data.tsv" in st.args[0]
    assert form.is_likelihood_available("prior")
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        form.set_likelihood("prior")
    assert c.attribution.params.get("likelihood") == "prior"


def test_compare_methods_rows_share_one_scale(window, qtbot, tiny_model):
    c, hm = window.controller, window.heatmap
    open_tiny(window, qtbot, tiny_model)
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        hm.set_compare(True, ["marginalization", "unk", "grad"])
    rows = c.comparison
    assert [r.method for r in rows] == ["grad", "marginalization", "unk"]
    view = hm.compare_view
    assert view.row_count() == 3
    vmax = max(abs(float(s)) for r in rows for s in r.scores)
    assert view.vmax == pytest.approx(vmax) and hm.colorbar._vmax == pytest.approx(vmax)
    assert MIXED_UNITS_LABEL in hm.scale_label.text()
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        hm.set_compare(False)
    assert c.attribution is not None and c.comparison is None
