"""The deletion-curve dock fed hand-built DeletionCurves: curves, legend with AUC_rep, strategy
combo (MLM sample disabled without a masked LM), x-range, messages."""
from __future__ import annotations

import numpy as np
import pytest

from desktop_app.panels.deletion_curve import NO_MLM_TIP, DeletionCurvePanel, area_label
from interp_engine.results import DeletionCurves


def make_curves(x_max=0.2, methods=("marginalization", "zero"), strategy="mlm") -> DeletionCurves:
    tokens = ("a", "good", "film", "with", "great", "acting", "and", "fun", "plot", "twists")
    n = len(tokens)
    K = int(np.ceil(x_max * n - 1e-9))
    x = np.arange(K + 1) / n
    p = np.array([[0.9 - 0.3 * k for k in range(K + 1)], [0.9 - 0.1 * k for k in range(K + 1)]])[: len(methods)]
    p = np.clip(p, 0, 1)
    auc = np.array([0.675, 0.825])[: len(methods)]
    order = np.array([[1, 4, 7, 5, 2, 0, 3, 6, 8, 9], [4, 1, 2, 0, 3, 5, 6, 7, 8, 9]])[: len(methods)]
    reps = tuple(tuple(f"w{m}{k}" for k in range(K)) for m in range(len(methods)))
    return DeletionCurves(text=" ".join(tokens), tokens=tokens, methods=tuple(methods), strategy=strategy, target=1,
                          class_names=("negative", "positive"), x=x, p_deletion=p, auc=auc, x_max=x_max, order=order,
                          replacements=reps, p_original=0.9, n_words=n, seed=0 if strategy == "mlm" else None)


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
    assert texts == ["Marginalization  AUC_rep 0.6750", "Zero erasure  AUC_rep 0.8250"]
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
