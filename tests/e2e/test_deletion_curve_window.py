"""e2e: the deletion-curve dock in the main window on a tiny model, through the real worker
thread: curves follow the heatmap's methods, strategy and x-range changes recompute them."""
from __future__ import annotations

import numpy as np
import pytest

from desktop_app.main_window import MainWindow
from tests.e2e.test_main_window import WAIT, open_tiny


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path / "cache"))
    win = MainWindow(persist_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _curves_done(window):
    return lambda rid, kind, res: kind == "deletion_curves"


def test_dock_shows_curves_of_the_current_sentence(window, qtbot, tiny_model):
    panel = window.deletion_panel
    assert window.deletion_dock.objectName() == "deletionCurveDock"
    view = [m.menu() for m in window.menuBar().actions() if m.menu() and m.text() == "&View"][0]
    assert window.deletion_dock.toggleViewAction() in view.actions()
    open_tiny(window, qtbot, tiny_model)
    c = window.controller
    qtbot.waitUntil(lambda: panel.current_result() is not None, timeout=WAIT)
    r = panel.current_result()
    assert r.text == c.current_text and r.methods == (window.heatmap.method(),)
    assert r.strategy == "zero"  # no masked LM open: MLM sample is disabled
    assert not panel.strategy_combo.model().item(0).isEnabled()
    # the curve starts at the heatmap's prediction for the explained class
    shown = c._shown()
    assert r.target == shown.target
    assert r.p_deletion[0, 0] == pytest.approx(shown.prediction.probabilities[shown.target], abs=1e-5)
    # the x-range and the strategy recompute the curves
    with qtbot.waitSignal(window.client.sigFinished, timeout=WAIT, check_params_cb=_curves_done(window)):
        panel.range_spin.setValue(100)
    qtbot.waitUntil(lambda: panel.current_result() is not r and panel.current_result() is not None, timeout=WAIT)
    r2 = panel.current_result()
    assert r2.x_max == 1.0 and r2.x[-1] == pytest.approx(1.0)
    with qtbot.waitSignal(window.client.sigFinished, timeout=WAIT, check_params_cb=_curves_done(window)):
        panel.strategy_combo.setCurrentIndex(panel.strategy_combo.findData("remove"))
    qtbot.waitUntil(lambda: panel.current_result().strategy == "remove", timeout=WAIT)
    # another sentence: new curves for it
    texts = [window.dataset_panel.model.index(i, 1).data() for i in range(2)]
    other = [t for t in texts if t != c.current_text][0]
    window.controller.set_text(other)
    qtbot.waitUntil(lambda: panel.current_result() is not None and panel.current_result().text == other, timeout=WAIT)
    assert np.all((panel.current_result().p_deletion >= 0) & (panel.current_result().p_deletion <= 1))


def test_opening_a_masked_lm_switches_to_mlm_samples(window, qtbot, tiny_model, tmp_path):
    from transformers import AutoTokenizer

    from tests.engine.test_marginalization import tiny_mlm

    model_dir, _ = tiny_model
    tok = AutoTokenizer.from_pretrained(model_dir)
    mlm_dir = tmp_path / "mlm"
    tiny_mlm(len(tok)).save_pretrained(mlm_dir)
    tok.save_pretrained(mlm_dir)
    panel = window.deletion_panel
    open_tiny(window, qtbot, tiny_model)
    qtbot.waitUntil(lambda: panel.current_result() is not None, timeout=WAIT)
    with qtbot.waitSignal(window.controller.sigMLMLoaded, timeout=WAIT):
        window.controller.open_mlm(mlm_dir)
    assert panel.strategy_combo.model().item(0).isEnabled() and panel.strategy() == "mlm"
    qtbot.waitUntil(lambda: panel.current_result() is not None and panel.current_result().strategy == "mlm",
                    timeout=WAIT)
    r = panel.current_result()
    assert r.seed == 0 and len(r.replacements[0]) == len(r.x) - 1
    assert "AUC_rep" in panel.legend_texts()[0]
