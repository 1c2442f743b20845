"""Marginalization in the panels, with hand-built results and a fake engine: the method form,
side-by-side rows on one scale, the candidate table, shift-click spans, and cancelling a slow
marginalization from the main window."""
from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from desktop_app.colors import DIVERGING_STOPS
from desktop_app.panels.candidates import CandidateTablePanel
from desktop_app.panels.comparison import MIXED_UNITS_LABEL, MethodComparisonView
from desktop_app.panels.heatmap import NO_MLM_TOOLTIP, SentenceHeatmapPanel
from interp_engine.config import MarginalizationConfig
from interp_engine.errors import Cancelled
from interp_engine.requests import AttributionRequest, CompareRequest
from interp_engine.results import CandidateTable, SpanAttribution, TokenAttribution
from tests.app import factories

WAIT = 5000
METHODS = {"grad": "logit gradient (summed over embedding dims)", "marginalization": "bits (WoE, log2-odds)",
           "unk": "bits (WoE, log2-odds)", "grad_input": "logit gradient · embedding"}


def _rgb(c):
    return c.red(), c.green(), c.blue()


def woe(tokens=("a", "good", "bad", "film"), scores=(0.5, 2.0, -1.0, 0.0), method="marginalization",
        units="bits (WoE, log2-odds)", special=None) -> TokenAttribution:
    a = factories.attribution(tokens, scores, method=method, special=special)
    n = len(tokens)
    return TokenAttribution(a.text, a.tokens, a.offsets, a.special, a.scores, units, method, a.target, a.prediction,
                            params={"likelihood": "uniform", "sigma": 1e-5, "top_n": None},
                            n_candidates=np.full(n, 10, np.int64), dropped_mass=np.array([0.0, 0.1, 0.0, 0.0][:n]),
                            seconds=1.25)


@pytest.fixture
def panel(qtbot):
    p = SentenceHeatmapPanel(METHODS)
    qtbot.addWidget(p)
    p.resize(900, 400)
    p.show()
    qtbot.waitExposed(p)
    return p


def test_method_form_enables_and_disables(panel, qtbot):
    form = panel.marginalization_form
    panel.set_method("grad")
    assert not form.isEnabled() and form.isHidden()
    panel.set_method("marginalization")
    assert form.isEnabled() and not form.isHidden()
    # no MLM: the mlm option is disabled and says where to get one; uniform/prior are offered
    assert not form.is_likelihood_available("mlm")
    i = form.likelihood_combo.findData("mlm")
    assert form.likelihood_combo.itemData(i, Qt.ItemDataRole.ToolTipRole) == NO_MLM_TOOLTIP
    assert "File → Open Masked LM…" in NO_MLM_TOOLTIP
    assert not form.set_likelihood("mlm") and form.likelihood() == "uniform"
    panel.set_prior_available(True, "train.tsv")
    assert form.set_likelihood("prior")
    # an MLM opens: mlm becomes available and chosen
    with qtbot.waitSignal(panel.sigSettingsChanged, timeout=WAIT):
        panel.set_mlm_available(True, "/models/mlm")
    assert form.likelihood() == "mlm"
    panel.set_mlm_available(False)
    assert form.likelihood() == "uniform"
    # sigma vs top-n
    assert form.sigma() == 1e-5 and form.top_n() is None
    assert form.sigma_edit.isEnabled() and not form.topn_spin.isEnabled()
    with qtbot.waitSignal(panel.sigSettingsChanged, timeout=WAIT):
        form.topn_check.setChecked(True)
    assert form.topn_spin.isEnabled() and not form.sigma_edit.isEnabled()
    form.topn_spin.setValue(7)
    assert panel.marginalization_settings() == MarginalizationConfig("uniform", 1e-5, 7)
    assert factories.marginalization_kwargs(panel.marginalization_settings()) == {"likelihood": "uniform", "top_n": 7}
    form.topn_check.setChecked(False)
    form.sigma_edit.setText("0.001")
    with qtbot.waitSignal(panel.sigSettingsChanged, timeout=WAIT):
        form.sigma_edit.editingFinished.emit()
    assert factories.marginalization_kwargs(panel.marginalization_settings()) == {"likelihood": "uniform",
                                                                                   "sigma": 1e-3}
    form.sigma_edit.setText("-3")  # rejected: the old value stays
    form.sigma_edit.editingFinished.emit()
    assert form.sigma() == 1e-3


def test_woe_result_shows_units_candidates_dropped_mass_and_time(panel):
    panel.set_method("marginalization")
    panel.set_result(woe())
    assert "bits" in panel.scale_label.text()
    info = panel.info_label.text()
    assert "10.0 candidates per token" in info and "1.2 s" in info
    assert "dropped likelihood mass" in info
    panel.set_result(dataclasses.replace(woe(), dropped_mass=np.zeros(4)))
    assert "dropped" not in panel.info_label.text()


def test_compare_rows_share_one_scale(panel, qtbot):
    rows = (woe(scores=(0.5, 2.0, -1.0, 0.0)),
            woe(scores=(2.0, -4.0, 1.0, 0.5), method="unk"),
            woe(scores=(0.5, 0.1, 0.0, -0.2), method="grad", units="logit gradient (summed over embedding dims)"))
    with qtbot.waitSignal(panel.sigCompareChanged, timeout=WAIT):
        panel.set_compare(True, ["marginalization", "unk", "grad"])
    assert panel.compare_methods() == ["grad", "marginalization", "unk"]  # menu order
    assert not panel.method_combo.isEnabled() and panel.compare_button.isEnabled()
    panel.set_comparison(rows)
    view = panel.compare_view
    assert panel.stack.currentWidget() is panel.compare_scroll
    assert view.row_count() == 3 and view.vmax == 4.0 and panel.colorbar._vmax == 4.0
    # equal scores in different rows: identical colours (0.5 is in all three rows)
    assert _rgb(view.cell_color(0, 0)) == _rgb(view.cell_color(1, 3)) == _rgb(view.cell_color(2, 0))
    assert _rgb(view.cell_color(0, 1)) == _rgb(view.cell_color(1, 0))  # 2.0
    # the max-abs cell maps to the extreme colour of its sign
    assert _rgb(view.cell_color(1, 1)) == tuple(int(v) for v in DIVERGING_STOPS[0])
    assert MIXED_UNITS_LABEL in panel.scale_label.text()
    panel.set_comparison(rows[:2])
    assert MIXED_UNITS_LABEL not in panel.scale_label.text() and "bits" in panel.scale_label.text()
    # a click on a cell reports the token (and the row's method)
    with qtbot.waitSignal(view.sigTokenClicked, timeout=WAIT) as b:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(1, 2).center().toPoint())
    assert b.args == [2, "unk"]
    with qtbot.waitSignal(panel.sigCompareChanged, timeout=WAIT):
        panel.set_compare(False)
    assert panel.method_combo.isEnabled() and panel.stack.currentWidget() is panel.scroll


def test_comparison_view_rejects_rows_of_different_sentences(qtbot):
    v = MethodComparisonView()
    qtbot.addWidget(v)
    with pytest.raises(ValueError):
        v.set_results([woe(), woe(tokens=("x", "y", "z", "w"))], ["a", "b"])


def test_shift_click_selects_a_span_of_two_or_three(panel, qtbot):
    panel.set_result(factories.attribution(("a", "very", "good", "film", "indeed"), (0.1, 0.2, 0.3, 0.4, 0.5)))
    view = panel.view
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.token_rect(1).center())
    with qtbot.waitSignal(panel.sigSpanSelected, timeout=WAIT) as b:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                         pos=view.token_rect(2).center())
    assert b.args == [1, 2] and view.span() == (1, 2)
    # a span longer than 3 is cut to the 3 tokens ending at the shift-clicked one
    assert view.span_to(4) == (2, 3, 4)
    view.set_selected(4)
    assert view.span_to(0) == (0, 1, 2)
    # a plain click clears the span
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.token_rect(0).center())
    assert view.span() is None


def candidate_table() -> CandidateTable:
    pred = factories.prediction(0.9)
    return CandidateTable(
        text="a good film", tokens=("a", "good", "film"), position=1, token="good",
        candidates=("great", "good", "bad"), candidate_ids=np.array([5, 6, 7]),
        likelihood=np.array([0.5, 0.3, 0.2]), target_probability=np.array([0.95, 0.9, 0.1]), target=1,
        p_target=0.9, p_marginal=0.7, woe=1.95, dropped_mass=0.0, likelihood_name="mlm", prediction=pred,
        params={"sigma": 1e-5, "top_n": None})


def test_candidate_panel(qtbot):
    p = CandidateTablePanel()
    qtbot.addWidget(p)
    p.set_result(candidate_table())
    assert p.model.rowCount() == 3
    assert p.row_values(0) == ("great", 0.5, 0.95)
    assert p.model.index(1, 1).data() == "good  (original)"
    header = p.header.text()
    assert "“good”" in header and "+1.950 bits" in header and "mlm likelihood" in header
    assert "p(positive | x₋ᵢ) = 0.7000" in header
    span = SpanAttribution(text="a good film", tokens=("a", "good", "film"), positions=(1, 2), score=-2.5,
                           units="bits", target=1, p_target=0.9, p_marginal=0.95, n_candidates=12,
                           prediction=factories.prediction(0.9), seconds=0.5)
    p.set_span(span)
    assert not p.span_label.isHidden() and "good film" in p.span_label.text() and "-2.500 bits" in p.span_label.text()


# -- main window against a fake engine --------------------------------------------------------
class SlowMarginalizationEngine(factories.RunByKeywords):
    """Fake engine: marginalization waits for cancel (reporting progress); other methods are instant."""

    def __init__(self):
        self.started = threading.Event()
        self.calls: list = []
        self.device = "cpu"
        self.dataset = None

    def load_model(self, path, allow_pickle=False):
        return factories.model_info(str(path))

    def attribute(self, text, method="grad", target=None, *, progress=None, cancel=None, **kwargs):
        self.calls.append((method, kwargs))
        if method == "marginalization":
            self.started.set()
            for i in range(1000):
                progress(i, 1000, "marginalizing")
                if cancel.wait(0.01):
                    raise Cancelled("cancelled")
        return factories.attribution(text=text, tokens=tuple(text.split()), scores=np.arange(len(text.split())),
                                     method=method)

    def hidden_saliency(self, text, target=None, top=3, *, progress=None, cancel=None):
        text = str(text)  # Engine.run passes the request's TextInput
        return factories.saliency(text=text, tokens=tuple(text.split()), top=top)


def test_cancel_a_slow_marginalization(qtbot):
    from desktop_app.engine_client import EngineClient
    from desktop_app.main_window import MainWindow

    engine = SlowMarginalizationEngine()
    win = MainWindow(EngineClient(engine=engine), persist_layout=False)
    qtbot.addWidget(win)
    win.show()
    c = win.controller
    with qtbot.waitSignal(c.sigModelLoaded, timeout=WAIT):
        win.open_model("/models/fake")
    win.heatmap.set_method("marginalization")
    # the sentence: marginalization runs and reports progress in the status bar
    c.set_text("a good film")
    qtbot.waitUntil(engine.started.is_set, timeout=WAIT)
    qtbot.waitUntil(lambda: not win.progress_bar.isHidden() and not win.cancel_button.isHidden(), timeout=WAIT)
    qtbot.waitUntil(lambda: "%" in win.heatmap.status_label.text(), timeout=WAIT)
    req = c.job("attribution").request
    assert isinstance(req, AttributionRequest) and req.long_running and win.client.request(req.request_id) is req
    assert req.marginalization.likelihood == "uniform"
    with qtbot.waitSignal(c.client.sigCancelled, timeout=WAIT,
                          check_params_cb=lambda rid, kind: kind == "attribution"):
        qtbot.keyClick(win, Qt.Key.Key_Escape)
    assert "Cancelled" in win.heatmap.view._placeholder
    qtbot.waitUntil(lambda: win.progress_bar.isHidden(), timeout=WAIT)
    assert ("marginalization", {"likelihood": "uniform", "sigma": 1e-5}) in engine.calls
    # the app stays usable: another method explains the sentence
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        win.heatmap.set_method("grad")
    assert c.attribution.method == "grad"
    thread = win.client.thread
    win.close()
    assert thread.isFinished()


def test_compare_request_runs_each_method_in_order(qtbot):
    from desktop_app.engine_client import EngineClient

    engine = SlowMarginalizationEngine()
    client = EngineClient(engine=engine)
    try:
        req = CompareRequest(text="a good film", methods=("grad", "unk"),
                             configs={"marginalization": MarginalizationConfig(likelihood="uniform")})
        with qtbot.waitSignal(client.sigFinished, timeout=WAIT) as b:
            client.submit(req)
        assert [r.method for r in b.args[2]] == ["grad", "unk"]
        assert [m for m, _ in engine.calls] == ["grad", "unk"]
    finally:
        client.shutdown()
