"""The sentence heatmap panel fed hand-built TokenAttribution objects."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from desktop_app.colors import DIVERGING_STOPS, SPECIAL_FILL, diverging_qcolor
from desktop_app.panels.heatmap import SentenceHeatmapPanel, TokenHeatmapView
from tests.app.factories import attribution

METHODS = {"grad": "logit gradient", "grad_input": "logit gradient · embedding"}


@pytest.fixture
def panel(qtbot):
    p = SentenceHeatmapPanel(METHODS)
    qtbot.addWidget(p)
    p.resize(700, 400)
    p.show()
    qtbot.waitExposed(p)
    return p


def _rgb(c: QColor):
    return c.red(), c.green(), c.blue()


def test_one_box_per_token_and_colour_signs(panel):
    a = attribution(tokens=("[CLS]", "good", "bad", "film", "[SEP]"), scores=(5.0, 2.0, -1.0, 0.0, -9.0),
                    special=(True, False, False, False, True))
    panel.set_result(a)
    v = panel.view
    assert v.token_count() == 5
    assert v.vmax == pytest.approx(2.0)  # special tokens do not set the scale
    good, bad, film = v.token_color(1), v.token_color(2), v.token_color(3)
    assert _rgb(good) == tuple(int(x) for x in DIVERGING_STOPS[-1])  # +max → darkest red
    assert good.red() > good.blue() and bad.blue() > bad.red()      # red = positive, blue = negative
    assert _rgb(film) == (255, 255, 255)                            # 0 → white
    assert _rgb(bad) == _rgb(diverging_qcolor(-1.0, 2.0))
    assert _rgb(v.token_color(0)) == _rgb(SPECIAL_FILL) and _rgb(v.token_color(4)) == _rgb(SPECIAL_FILL)
    rects = [v.token_rect(i) for i in range(5)]
    for r1, r2 in zip(rects, rects[1:]):
        assert not r1.intersects(r2)


def test_painted_colours_match_scores(panel):
    panel.set_result(attribution(tokens=("good", "bad"), scores=(1.0, -1.0)))
    img = panel.view.grab().toImage()
    r0, r1 = panel.token_rect(0), panel.token_rect(1)
    # sample a pixel inside each box, away from the text
    p0 = img.pixelColor(r0.left() + 2, r0.top() + 3)
    p1 = img.pixelColor(r1.left() + 2, r1.top() + 3)
    assert p0.red() > 150 and p0.blue() < 80
    assert p1.blue() > 150 and p1.red() < 80


def test_tokens_wrap_across_lines(qtbot):
    v = TokenHeatmapView()
    qtbot.addWidget(v)
    v.resize(200, 100)
    v.set_tokens([f"word{i}" for i in range(20)], np.linspace(-1, 1, 20))
    tops = {v.token_rect(i).top() for i in range(20)}
    assert len(tops) > 2
    assert all(v.token_rect(i).right() <= 200 for i in range(20))
    assert v.minimumHeight() >= max(v.token_rect(i).bottom() for i in range(20))


def test_all_zero_scores_are_white(panel):
    panel.set_result(attribution(scores=(0.0, 0.0, 0.0, 0.0)))
    assert all(_rgb(panel.view.token_color(i)) == (255, 255, 255) for i in range(4))
    assert panel.colorbar.ticks() == [(0.0, "0")]


def test_prediction_units_colour_bar_and_truncation(panel):
    panel.set_result(attribution(scores=(0.5, 2.0, -1.0, 0.0), truncated=True))
    assert "positive" in panel.prediction_label.text() and "0.800" in panel.prediction_label.text()
    assert "test units" in panel.scale_label.text()
    ticks = panel.colorbar.ticks()
    assert ticks[0][0] == pytest.approx(-2.0) and ticks[-1][0] == pytest.approx(2.0)
    assert ticks[0][1] == "-2" and ticks[-1][1] == "2"
    assert panel.truncated_label.isVisible()
    panel.set_result(attribution())
    assert not panel.truncated_label.isVisible()


def test_tooltip_text_shows_score(panel):
    panel.set_result(attribution())
    assert "good" in panel.view.tooltip_text(1) and "score 2" in panel.view.tooltip_text(1)
    assert panel.view.index_at(panel.token_rect(2).center()) == 2
    assert panel.view.index_at(QPoint(1, 1)) is None


def test_click_token_emits_index(panel, qtbot):
    panel.set_result(attribution())
    with qtbot.waitSignal(panel.sigTokenClicked, timeout=2000) as blocker:
        qtbot.mouseClick(panel.view, Qt.MouseButton.LeftButton, pos=panel.token_rect(2).center())
    assert blocker.args == [2]
    assert panel.view.selected() == 2


def test_click_outside_tokens_emits_nothing(panel, qtbot):
    panel.set_result(attribution())
    with qtbot.assertNotEmitted(panel.sigTokenClicked):
        qtbot.mouseClick(panel.view, Qt.MouseButton.LeftButton, pos=QPoint(panel.view.width() - 3, panel.view.height() - 3))


def test_receptive_field_outline_is_painted(panel):
    panel.set_result(attribution())
    panel.set_receptive_field(1, 2, QColor(0, 60, 235))
    first, last, color = panel.view.receptive_field()
    assert (first, last) == (1, 2) and color == QColor(0, 60, 235)
    img = panel.view.grab().toImage()
    r = panel.token_rect(1)
    outline = img.pixelColor(r.left() - 4, r.center().y())  # the outline sits 4 px outside the box
    assert outline.blue() > 180 and outline.red() < 80
    panel.clear_receptive_field()
    assert panel.view.receptive_field() is None


def test_friendly_method_names():
    from desktop_app.panels.heatmap import friendly_method_name

    assert friendly_method_name("grad_input") == "Gradient × input"
    assert friendly_method_name("some_new_method") == "Some new method"


def test_selectors(panel, qtbot):
    assert [panel.method_combo.itemText(i) for i in range(panel.method_combo.count())] == ["Gradient  [logit grad]", "Gradient × input  [logit grad·emb]"]
    assert panel.method() == "grad_input"  # the default method when offered
    panel.set_class_names(("negative", "positive"))
    assert [panel.target_combo.itemText(i) for i in range(3)] == ["predicted", "negative", "positive"]
    assert panel.target() is None
    with qtbot.waitSignal(panel.sigMethodChanged) as b:
        panel.method_combo.setCurrentIndex(0)
    assert b.args == ["grad"]
    with qtbot.waitSignal(panel.sigTargetChanged) as b:
        panel.target_combo.setCurrentIndex(2)
    assert b.args == [1]
    panel.set_class_names(("negative", "positive"))  # same classes: the choice is kept, no signal
    assert panel.target() == 1


def test_computing_and_messages(panel):
    panel.set_computing()
    assert panel.status_label.text() == "computing…"
    panel.set_result(attribution())
    assert panel.status_label.text() == ""
    panel.set_computing()
    assert panel.view.token_count() == 4  # the old result stays (faded) until the new one arrives
    panel.show_message("Could not explain")
    assert panel.view.token_count() == 0 and panel.result is None


# -- the panel after the split: registry labels, config-built forms, layout fixes ------------------
def test_method_labels_come_from_the_registry(qtbot):
    from desktop_app.panels.heatmap import WOE_METHODS, friendly_method_name
    from interp_engine.attribution import registry
    from interp_engine.attribution.base import AttributionMethod

    assert friendly_method_name("zero") == registry.label("zero") == "Erasure (zero)"
    assert set(WOE_METHODS) == set(registry.woe_methods()) and "marginalization" in WOE_METHODS

    class Fake(AttributionMethod):
        name, label, units, woe = "fake_woe", "Fake evidence", "bits", True

    registry.register(Fake)
    try:
        assert "fake_woe" in WOE_METHODS and friendly_method_name("fake_woe") == "Fake evidence"
        p = SentenceHeatmapPanel()  # no methods given: every registered one, read now
        qtbot.addWidget(p)
        texts = [p.method_combo.itemText(i) for i in range(p.method_combo.count())]
        assert "Fake evidence" in texts and "Erasure (zero)" in texts
        assert p.method() == "grad_input"  # AttributionConfig.gui_method
    finally:
        registry.unregister("fake_woe")
    assert "fake_woe" not in WOE_METHODS


def test_settings_forms_are_built_from_the_configs(qtbot):
    from interp_engine.config import LIKELIHOODS, IntegratedGradientsConfig, MarginalizationConfig

    p = SentenceHeatmapPanel({"grad": "g", "marginalization": "bits", "integrated_gradients": "ig"})
    qtbot.addWidget(p)
    form = p.marginalization_form
    assert list(form.editors) == ["likelihood", "sigma", "top_n"]  # speed-only fields get no editor
    assert [form.likelihood_combo.itemData(i) for i in range(form.likelihood_combo.count())] == list(LIKELIHOODS)
    assert form.sigma() == MarginalizationConfig.sigma and form.sigma_edit.text() == f"{MarginalizationConfig.sigma:g}"
    assert form.findChild(type(form.sigma_edit), "sigmaEdit") is form.sigma_edit
    cfg = p.marginalization_settings()
    assert isinstance(cfg, MarginalizationConfig) and cfg.top_n is None and cfg.likelihood == "uniform"
    assert cfg.max_per_step == MarginalizationConfig.max_per_step
    # integrated gradients: its own form, its steps from the config
    p.set_method("integrated_gradients")
    ig = p.method_forms["integrated_gradients"]
    assert not ig.isHidden() and form.isHidden()
    assert ig.editors["n_steps"].value() == IntegratedGradientsConfig.n_steps
    with qtbot.waitSignal(p.sigSettingsChanged):
        ig.editors["n_steps"].setValue(20)
    assert p.method_config() == IntegratedGradientsConfig(n_steps=20)
    p.set_method("grad")
    assert ig.isHidden() and "grad" not in p.method_forms  # nothing to set for the gradient


def test_token_view_takes_only_the_height_it_needs(panel, qtbot):
    panel.set_result(attribution())
    qtbot.wait(20)
    need = panel.view.content_height() + 2 * panel.scroll.frameWidth()
    assert abs(panel.scroll.height() - need) <= 4  # the old layout stretched it to most of the panel
    assert panel.scroll.height() < 0.4 * panel.height()
    # the caption and the colour bar sit right below the tokens
    assert panel.colorbar.geometry().top() - panel.stack.geometry().bottom() < 80
    # a long sentence: the view grows with it
    short = panel.scroll.height()
    panel.set_result(attribution(tokens=[f"word{i}" for i in range(24)], scores=np.linspace(-1, 1, 24)))
    qtbot.wait(20)
    assert panel.scroll.height() > short + 30
    assert abs(panel.scroll.height() - (panel.view.content_height() + 2 * panel.scroll.frameWidth())) <= 4


def test_caption_keeps_the_scale_unit_unbroken(panel):
    from desktop_app.panels.heatmap import SCALE_UNIT

    panel.set_result(attribution())
    text = panel.scale_label.text()
    assert SCALE_UNIT in text and " " not in SCALE_UNIT and "±max" in SCALE_UNIT
    assert "\u2060|\u2060score\u2060|" in SCALE_UNIT  # word joiners: no break after a "|"


def test_digit_class_names_read_class_n(panel):
    import dataclasses

    from interp_engine.results import Prediction

    a = dataclasses.replace(attribution(target=0), prediction=Prediction(np.array([0.874, 0.126]), 0, ("0", "1")))
    panel.set_class_names(("0", "1"))
    assert [panel.target_combo.itemText(i) for i in range(3)] == ["predicted", "class 0", "class 1"]
    panel.set_result(a)
    text = panel.prediction_label.text().replace("\u00a0", " ")
    assert "Predicted: <b>class 0</b>" in text and "explaining: <b>class 0</b>" in text
    assert "class 0: 0.874" in text and "class 1: 0.126" in text
    assert "“class 0”" in panel.scale_label.text()
    # real names stay as they are, in the same labelled list
    panel.set_result(attribution())
    text = panel.prediction_label.text().replace("\u00a0", " ")
    assert "negative: 0.200" in text and "positive: 0.800" in text and "class" not in text
