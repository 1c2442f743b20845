"""The deletion-curve dock fed hand-built DeletionCurves: curves, legend with AUC_rep, strategy
combo (MLM sample disabled without a masked LM), x-range, messages."""
from __future__ import annotations

import numpy as np
import pytest

from desktop_app.panels.deletion_curve import NO_MLM_TIP, DeletionCurvePanel, area_label
from interp_engine.results import DeletionCurves


TEN = ("a", "good", "film", "with", "great", "acting", "and", "fun", "plot", "twists")


def make_curves(x_max=0.2, methods=("marginalization", "zero"), strategy="mlm", tokens=TEN, p0=0.9,
                drop=(0.3, 0.1)) -> DeletionCurves:
    n = len(tokens)
    K = int(np.ceil(x_max * n - 1e-9))
    x = np.arange(K + 1) / n
    p = np.array([[p0 - drop[0] * k for k in range(K + 1)], [p0 - drop[1] * k for k in range(K + 1)]])[: len(methods)]
    p = np.clip(p, 0, 1)
    auc = np.array([0.675, 0.825])[: len(methods)]
    order = np.array([list(np.roll(np.arange(n), -1)), list(np.roll(np.arange(n), -4))])[: len(methods)]
    if n == 10:
        order = np.array([[1, 4, 7, 5, 2, 0, 3, 6, 8, 9], [4, 1, 2, 0, 3, 5, 6, 7, 8, 9]])[: len(methods)]
    reps = tuple(tuple(f"w{m}{k}" for k in range(K)) for m in range(len(methods)))
    return DeletionCurves(text=" ".join(tokens), tokens=tokens, methods=tuple(methods), strategy=strategy, target=1,
                          class_names=("negative", "positive"), x=x, p_deletion=p, auc=auc, x_max=x_max, order=order,
                          replacements=reps, p_original=p0, n_words=n, seed=0 if strategy == "mlm" else None)


@pytest.fixture
def panel(qtbot):
    p = DeletionCurvePanel()
    qtbot.addWidget(p)
    p.show()
    return p


def test_curves_and_legend(panel):
    assert panel.current_result() is None
    r = make_curves()
    panel.set_result(r)
    assert panel.current_result() is r
    assert set(panel.curves) == {"marginalization", "zero"}
    x, y = panel.curves["marginalization"].getData()
    np.testing.assert_allclose(x, [0, 10, 20])
    np.testing.assert_allclose(y, [0.9, 0.6, 0.3])
    texts = panel.legend_texts()
    assert texts == ["Marginalization  AUC_rep 0.6750", "Erasure (zero)  AUC_rep 0.8250"]  # registry labels
    assert panel.plot.getAxis("left").labelText == "p(positive)"
    (x0, x1), _ = panel.plot.viewRange()
    assert x0 <= 0 and 20 <= x1 < 25
    assert "10 tokens" in panel.status_label.text() and "MLM sample" in panel.status_label.text()
    # a wider range names the area by its range, and a new result replaces the curves
    r2 = make_curves(0.5, methods=("grad",), strategy="remove")
    panel.set_result(r2)
    assert list(panel.curves) == ["grad"] and panel.legend_texts() == ["Gradient  AUC@50% (remove) 0.6750"]
    assert area_label(0.2) == "AUC_rep" and area_label(1.0) == "AUC@100%"
    assert area_label(0.2, "zero") == "AUC@20% (zero)" and area_label(0.5, "unk") == "AUC@50% (unk)"


def test_hover_tips_name_the_replaced_tokens(panel):
    panel.set_result(make_curves())
    from pyqtgraph import ScatterPlotItem

    scatters = [i for i in panel.plot.getPlotItem().items if isinstance(i, ScatterPlotItem) and i.opts.get("hoverable")]
    assert len(scatters) == 2
    tips = list(scatters[0].data["data"])
    assert tips[0] == "Marginalization: original sentence, p = 0.9000"
    assert tips[1] == "Marginalization, step 1 (10%): “good” → “w00”, p = 0.6000"
    assert "“great” → “w01”" in tips[2] and "p = 0.3000" in tips[2]


def test_strategy_combo_and_range_emit_settings(panel, qtbot):
    # no MLM: MLM sample is disabled with a tooltip and zero/[PAD] is chosen
    assert not panel.mlm_available()
    model = panel.strategy_combo.model()
    assert not model.item(0).isEnabled() and model.item(0).toolTip() == NO_MLM_TIP
    assert panel.strategy() == "zero"
    panel.set_strategy("mlm")  # refused while disabled
    assert panel.strategy() == "zero"
    with qtbot.waitSignal(panel.sigSettingsChanged, check_params_cb=lambda s, x: (s, x) == ("unk", 0.2)):
        panel.strategy_combo.setCurrentIndex(2)
    with qtbot.waitSignal(panel.sigSettingsChanged, check_params_cb=lambda s, x: (s, x) == ("unk", 0.5)):
        panel.range_spin.setValue(50)
    assert panel.x_max() == 0.5
    # an MLM arrives: MLM sample enabled and chosen (the default AUC_rep strategy), silently
    with qtbot.assertNotEmitted(panel.sigSettingsChanged):
        panel.set_mlm_available(True)
    assert model.item(0).isEnabled() and panel.strategy() == "mlm"
    panel.set_strategy("remove")
    assert panel.strategy() == "remove"
    assert panel.range_spin.minimum() == 5 and panel.range_spin.maximum() == 100


def test_messages_and_computing(panel):
    panel.set_computing("computing… 10%")
    assert panel.stack.currentWidget() is panel.message_label
    panel.set_result(make_curves())
    panel.set_computing("computing… 50%")
    assert panel.stack.currentWidget() is panel.plot and panel.status_label.text() == "computing… 50%"
    assert panel.plot.opacity() < 1
    panel.show_message("Could not compute the deletion curves:\nboom")
    assert panel.current_result() is None and panel.curves == {}
    assert "boom" in panel.message_label.text() and panel.stack.currentWidget() is panel.message_label


def test_axis_shows_probabilities_without_si_prefix(panel):
    # p close to 1 with tiny differences: pyqtgraph's auto SI prefix showed "p(1) (×0.001)", ticks 999.x
    panel.set_result(make_curves(p0=0.99995, drop=(0.0001, 0.00002)))
    left = panel.plot.getAxis("left")
    assert left.autoSIPrefix is False and left.autoSIPrefixScale == 1.0
    assert "×" not in left.labelString() and "x0.001" not in left.labelString()
    _, (y0, y1) = panel.plot.viewRange()
    assert -0.001 <= y0 < y1 <= 1.001  # probabilities on their own 0-1 scale (a little padding only)


def test_x_range_covers_the_whole_curve(panel):
    # 14 tokens, 20 %: ceil(0.2 · 14) = 3 replacements, the last point at 21.4 % (beyond x_max)
    tokens = tuple(f"w{i}" for i in range(14))
    r = make_curves(tokens=tokens, p0=0.9, drop=(0.2, 0.1))
    assert r.x[-1] * 100 > 100 * r.x_max
    panel.set_result(r)
    (x0, x1), _ = panel.plot.viewRange()
    last = float(r.x[-1]) * 100
    assert x0 < 0 and x1 > last  # the last point, with a little padding on both sides
    assert x1 < last * 1.2


def test_legend_wraps_inside_a_narrow_dock(qtbot):
    p = DeletionCurvePanel()
    qtbot.addWidget(p)
    p.resize(260, 420)
    p.show()
    qtbot.waitExposed(p)
    p.set_result(make_curves(methods=("integrated_gradients", "grad_input")))
    qtbot.wait(20)
    lab = p.legend_label
    assert not lab.isHidden() and lab.wordWrap()
    assert "Integrated gradients" in lab.text() and "Gradient × input" in lab.text()
    assert lab.geometry().right() <= p.width()  # no legend cut off at the dock's right edge
    assert lab.sizeHint().width() <= p.width() or lab.heightForWidth(lab.width()) > 0
    p.show_message("gone")
    assert lab.isHidden()
