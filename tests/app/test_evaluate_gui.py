"""Analysis → Evaluate Dataset… (``interp-studio evaluate`` in the GUI): the report as an
:class:`~interp_engine.results.EvaluationReport` (its means, and its mean curves read back from
``curves.csv``), the results panel (bars and error bars = means and standard errors, one curve per
method), the dialog's request, and the main window on a tiny saved model through the real worker:
the means shown equal the engine's, Cancel, and the export (figure + sidecar)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from desktop_app.panels.evaluation_results import EvaluationResultsPanel
from interp_engine.config import EvaluateConfig
from interp_engine.requests import EvaluateRequest
from interp_engine.results import EvaluationReport
from tests.app.dataset_docks import WAIT, tiny, window  # noqa: F401 - fixtures

REPORT = {"metric": "auc_rep", "methods": {"grad": {"mean": 0.4, "se": 0.05, "n": 6},
                                           "unk": {"mean": 0.25, "se": 0.02, "n": 5}},
          "lower_is_better": True, "n_sentences": 6, "strategy": "zero",
          "mean_curves": {"x": [0.0, 0.1, 0.2], "grad": [0.9, 0.6, 0.4], "unk": [0.9, 0.5, 0.2]}}


def test_report_result_and_curves_from_the_out_folder(tmp_path):
    r = EvaluationReport.from_report(REPORT)
    assert r.methods == ("grad", "unk") and r.metric == "auc_rep" and r.lower_is_better is True
    np.testing.assert_array_equal(r.means, [0.4, 0.25])
    np.testing.assert_array_equal(r.ses, [0.05, 0.02])
    np.testing.assert_array_equal(r.ns, [6, 5])
    np.testing.assert_array_equal(r.curves, [[0.9, 0.6, 0.4], [0.9, 0.5, 0.2]])
    assert r.has_curves
    # without mean_curves: the mean of the finite per-sentence curves in out/curves.csv, sentences < n
    (tmp_path / "curves.csv").write_text(
        "index,method,x=0.0000,x=0.1000\n0,grad,1.0,0.5\n1,grad,0.8,0.3\n2,grad,nan,0.1\n0,unk,1.0,0.2\n"
        "7,unk,0.0,0.0\n", encoding="utf-8")
    rep = {k: v for k, v in REPORT.items() if k != "mean_curves"}
    r2 = EvaluationReport.from_report({**rep, "out": str(tmp_path)})
    np.testing.assert_allclose(r2.curve_x, [0.0, 0.1])
    np.testing.assert_allclose(r2.curves, [[0.9, 0.4], [1.0, 0.2]])
    assert not EvaluationReport.from_report(rep).has_curves
    mr = EvaluationReport.from_report({"metric": "matching_rate", "matching_rate": 0.25, "n": 12})
    assert mr.methods == ("matching_rate",) and mr.means[0] == 0.25 and mr.ses[0] == pytest.approx(0.125)
    with pytest.raises(ValueError):
        EvaluationReport.from_report({"metric": "x"})


def test_panel_bars_error_bars_and_curves(qtbot):
    p = EvaluationResultsPanel()
    qtbot.addWidget(p)
    p.show()
    r = EvaluationReport.from_report(REPORT)
    p.set_result(r)
    assert p.current_result() is r
    np.testing.assert_array_equal(p.shown_means(), r.means)
    np.testing.assert_array_equal(p.shown_errors(), r.ses)
    assert set(p.curves) == {"grad", "unk"}
    x, y = p.curves["unk"].getData()
    np.testing.assert_allclose(x, [0, 10, 20])
    np.testing.assert_allclose(y, [0.9, 0.5, 0.2])
    assert p.table.item(1, 1).text() == "0.2500 ± 0.0200" and p.table.item(1, 2).text() == "5"
    assert p.table.item(0, 0).text() == "1. Gradient" and not p.table.item(0, 0).icon().isNull()
    p.resize(1200, 500)
    qtbot.wait(20)
    assert p.tick_labels() == ["Grad", "Unk"]  # room for the names under the bars
    p.resize(120, 500)
    qtbot.wait(20)
    assert p.tick_labels() == ["1", "2"]  # no room: the numbers of the table's rows
    assert "lower is better" in p.header_label.text() and "6 sentences" in p.header_label.text()
    p.set_result(EvaluationReport.from_report({k: v for k, v in REPORT.items() if k != "mean_curves"}))
    assert not p.curves and p.curve_plot.isHidden()


def test_dialog_builds_the_request(qtbot):
    from desktop_app.panels.evaluate_dialog import EvaluateDialog
    from interp_engine.cli import EVALUATE_METRICS

    d = EvaluateDialog(EVALUATE_METRICS, n_rows=6)
    qtbot.addWidget(d)
    from interp_engine.attribution import registry

    assert d.metric() == "auc_rep"
    assert d.methods_list.methods() == tuple(m for m in registry.names() if m in EvaluateConfig.methods)
    assert d.n_spin.value() == 0 and d.n_spin.text() == "all"
    d.metric_combo.setCurrentIndex(d.metric_combo.findData("aopc"))
    d.methods_list.set_methods(("grad", "unk"))
    d.n_spin.setValue(4)
    d.strategy_combo.setCurrentIndex(d.strategy_combo.findData("unk"))
    d.seed_spin.setValue(3)
    req = d.request()
    assert isinstance(req, EvaluateRequest) and req.metric == "aopc" and req.strategy == "unk"
    assert req.evaluate == EvaluateConfig(methods=("grad", "unk"), n=4, seed=3) and req.out is None
    d.methods_list.set_methods(())
    d.buttons.button(d.buttons.StandardButton.Ok).click()
    assert d.result() == 0 and "at least one method" in d.error_label.text()


# -- the main window, real engine --------------------------------------------------------------------


def _open(window, qtbot, tiny):
    c = window.controller
    with qtbot.waitSignals([c.sigModelLoaded, c.sigDatasetLoaded], timeout=WAIT):
        window.open_model(str(tiny[0]))
        window.open_dataset(str(tiny[1]))
    qtbot.waitUntil(lambda: not window.client.busy, timeout=WAIT)


def test_evaluate_from_the_dialog_shows_the_engines_means_and_exports(window, qtbot, tiny, tmp_path):
    from interp_engine.engine import Engine
    from interp_engine.export import export_figure

    ctl, panel = window.evaluation_controller, window.evaluation_panel
    assert window.evaluation_dock.isHidden()
    _open(window, qtbot, tiny)
    window.evaluate_action.trigger()
    dlg = ctl.dialog
    assert not window.evaluation_dock.isHidden() and dlg is not None and dlg.isVisible()
    dlg.methods_list.set_methods(("grad", "unk"))
    dlg.n_spin.setValue(5)
    dlg.strategy_combo.setCurrentIndex(dlg.strategy_combo.findData("zero"))
    dlg.buttons.button(dlg.buttons.StandardButton.Ok).click()
    job = ctl.job(ctl.SLOT)
    assert job is not None and job.request.evaluate.methods == ("grad", "unk") and job.request.evaluate.n == 5
    assert job.request.out  # a folder of its own, so that the curves can be read back
    qtbot.waitUntil(lambda: panel.current_result() is not None, timeout=WAIT)
    r = panel.current_result()
    # the same request on an engine of its own (no output folder): the same means
    e = Engine("cpu")
    e.load_model(tiny[0])
    e.load_dataset(tiny[1])
    ref = e.run(EvaluateRequest(metric="auc_rep", strategy="zero",
                                evaluate=EvaluateConfig(methods=("grad", "unk"), n=5)))
    want = [ref["methods"][m]["mean"] for m in ("grad", "unk")]
    np.testing.assert_allclose(panel.shown_means(), want, rtol=1e-12)
    np.testing.assert_allclose(panel.shown_errors(), [ref["methods"][m]["se"] for m in ("grad", "unk")], rtol=1e-12)
    assert r.n_sentences == 5 and r.has_curves and set(panel.curves) == {"grad", "unk"}
    assert f"{want[0]:.4f}" in panel.table.item(0, 1).text()
    # the mean curves start at p(class) of the unchanged sentences (x = 0) and are the figure's
    assert r.curves.shape == (2, len(r.curve_x)) and np.isfinite(r.curves).all()
    assert window.exports.current_results()["evaluation"] is r
    out, side = export_figure(r, tmp_path / "eval.pdf", provenance=window.exports.provenance())
    meta = json.loads(side.read_text(encoding="utf-8"))
    assert out.read_bytes().startswith(b"%PDF") and meta["panel"] == "evaluation"
    assert meta["method"] == ["grad", "unk"] and meta["request"]["type"] == "evaluate"
    assert meta["request"]["evaluate"]["n"] == 5


def test_evaluate_cancel_and_missing_dataset(window, qtbot, tiny, tmp_path):
    ctl, panel = window.evaluation_controller, window.evaluation_panel
    assert ctl.open_dialog() is None and "Open a model" in panel.message_label.text()
    _open(window, qtbot, tiny)
    job = ctl.run(EvaluateRequest(metric="auc_rep", strategy="zero",
                                  evaluate=EvaluateConfig(methods=("loo", "unk", "grad")), out=str(tmp_path / "o")))
    assert panel.cancel_button.isVisibleTo(panel)
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: job.done, timeout=WAIT)
    assert job.state == "cancelled" and "Cancelled" in panel.message_label.text()
    assert not panel.cancel_button.isVisibleTo(panel) and panel.current_result() is None


def test_an_exported_evaluation_is_remade_from_its_sidecar(window, qtbot, tiny, tmp_path):
    from interp_engine.export import export_figure, remake

    _open(window, qtbot, tiny)
    ctl, panel = window.evaluation_controller, window.evaluation_panel
    ctl.run(EvaluateRequest(metric="aopc", strategy="unk", evaluate=EvaluateConfig(methods=("grad",), n=3),
                            out=str(tmp_path / "run")))
    qtbot.waitUntil(lambda: panel.current_result() is not None, timeout=WAIT)
    fig, side = export_figure(panel.current_result(), tmp_path / "e.svg", provenance=window.exports.provenance())
    again, side2 = remake(side, tmp_path / "again.svg", device="cpu")
    assert again.read_bytes() == fig.read_bytes()  # the same report, the same figure
    meta = json.loads(side2.read_text(encoding="utf-8"))
    assert meta["request"]["metric"] == "aopc" and meta["dataset"]["path"] == str(tiny[1].resolve())
