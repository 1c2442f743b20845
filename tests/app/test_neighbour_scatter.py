"""The neighbour scatter panel fed hand-built results: points coloured like the grid's marks,
target stars, hover text, clicks, parameter form, busy state."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from desktop_app.colors import MARK_COLORS
from desktop_app.panels.neighbour_scatter import NeighbourScatterPanel, location_color
from interp_engine.results import LocationNeighbours, NeighbourScatter
from tests.app.factories import prediction

TOKENS = ("a", "good", "bad", "film", ".")


def location(layer, pos, rank, words, seed=0):
    rng = np.random.default_rng(seed)
    k = len(words)
    return LocationNeighbours(
        layer=layer, layer_name=f"conv{layer + 1}", position=pos, rank=rank, saliency=1.0 - rank,
        receptive_field=(max(0, pos - 1), min(len(TOKENS) - 1, pos + 1)), x_overall=rng.normal(size=4).astype(np.float32),
        words=tuple(words), word_ids=np.arange(k, dtype=np.int64), similarities=np.linspace(0.9, 0.5, k),
        coords=rng.normal(size=(k, 2)), target_coords=rng.normal(size=2), objective_trace=np.linspace(0, 3, 20),
        activation_dot=3.0, l2=1.0, similarity=2.0, converged=rank == 0)


def scatter(locs, note="Each conv location sees the tokens within its receptive field."):
    return NeighbourScatter(text=" ".join(TOKENS), tokens=TOKENS, layer_names=("conv1", "conv2"), locations=tuple(locs),
                            projection="tsne", params={"lambda1": 0.004, "lambda2": 0.02, "steps": 20},
                            receptive_field_note=note, target=1, prediction=prediction())


@pytest.fixture
def panel(qtbot):
    p = NeighbourScatterPanel()
    qtbot.addWidget(p)
    p.resize(800, 420)
    p.show()
    return p


def test_points_coloured_like_grid_marks_with_target_stars(panel):
    res = scatter([location(0, 1, 0, ["fine", "great"], 1), location(0, 3, 1, ["dull", "awful"], 2),
                   location(0, 2, 2, ["meh", "ok"], 3), location(1, 4, 3, ["end"], 4)])
    assert panel.current_result() is None
    panel.set_result(res)
    assert panel.current_result() is res
    pts = panel.points()
    assert len(pts) == 2 + 2 + 2 + 1 + 4  # words + one target per location
    for p in pts:
        if p["rank"] < 3:
            assert p["color"] == MARK_COLORS[p["rank"]]  # red, blue, green as the grid's top-3 marks
        else:
            assert p["color"] not in MARK_COLORS
    targets = [p for p in pts if p["kind"] == "target"]
    assert [(t["layer"], t["location"]) for t in targets] == [(0, 1), (0, 3), (0, 2), (1, 4)]
    spots = panel.scatter.points()
    assert len(spots) == len(pts)
    symbols = {s.symbol() for s in spots}
    assert symbols == {"o", "star"}
    star_sizes = {s.size() for s in spots if s.symbol() == "star"}
    word_sizes = {s.size() for s in spots if s.symbol() == "o"}
    assert min(star_sizes) > max(word_sizes)
    # every word is labelled
    labels = {t.toPlainText() for t in panel._labels}
    assert {"fine", "great", "dull", "awful", "meh", "ok", "end"} <= labels
    assert "fine" in panel.legend_label.text() and "conv1@1" in panel.legend_label.text()


def test_hover_and_click(panel, qtbot):
    panel.set_result(scatter([location(0, 1, 0, ["fine", "great"])]))
    pts = panel.points()
    i = next(j for j, p in enumerate(pts) if p["word"] == "great")
    tip = panel.tooltip_for(i)
    assert "great" in tip and "0.500" in tip  # the second word's cosine
    with qtbot.waitSignal(panel.sigWordClicked, check_params_cb=lambda w: w == "great"):
        panel.click_point(i)
    t = next(j for j, p in enumerate(pts) if p["kind"] == "target")
    with qtbot.waitSignal(panel.sigLocationClicked, check_params_cb=lambda a, b: (a, b) == (0, 1)):
        panel.click_point(t)
    # a click on the scatter item itself goes the same way
    spot = [s for s in panel.scatter.points() if s.data() == i]
    with qtbot.waitSignal(panel.sigWordClicked):
        panel._on_clicked(panel.scatter, spot)


def test_transformer_note_and_message(panel):
    note = "Transformer: the receptive field of every location is the whole sentence (self-attention)."
    panel.set_result(scatter([location(0, 1, 0, ["fine"])], note=note))
    assert "whole sentence" in panel.note_label.text() and not panel.note_label.isHidden()
    panel.set_result(scatter([location(0, 1, 0, ["fine"])]))
    assert panel.note_label.isHidden()
    panel.show_message("nothing")
    assert panel.current_result() is None and panel.stack.currentWidget() is panel.message_label


def test_parameter_form_and_selection(panel, qtbot):
    panel.set_layer_names(("conv1", "conv2", "conv3"))
    panel.set_parameters(lambda1=0.002, lambda2=0.01, steps=250, k=7, perplexity=8.0, projection="pca", top=2, layer=1)
    with qtbot.waitSignal(panel.sigComputeRequested) as sig:
        panel.compute_button.click()
    p = sig.args[0]
    assert (p["lambda1"], p["lambda2"], p["steps"], p["k"], p["projection"], p["top"], p["layer"]) == (
        0.002, 0.01, 250, 7, "pca", 2, 1)
    assert p["selection"] == "top" and not panel.perplexity_spin.isEnabled()
    panel.set_parameters(layer=-1)
    assert panel.layer_combo.currentText() == "all layers" and panel.parameters()["layer"] == -1
    panel.toggle_location(0, 3)
    panel.toggle_location(2, 1)
    panel.toggle_location(0, 3)  # second click removes it
    assert panel.selected_locations() == [(2, 1)]
    assert panel.parameters()["selection"] == "cells" and panel.parameters()["locations"] == ((2, 1),)
    assert "conv3@1" in panel.selection_label.text()
    with qtbot.waitSignal(panel.sigClearSelection):
        panel.clear_button.click()
    assert panel.selected_locations() == [] and panel.selection_mode() == "top"


def test_busy_progress_cancel(panel, qtbot):
    panel.set_busy(True, "optimising")
    assert not panel.compute_button.isEnabled() and panel.cancel_button.isEnabled() and not panel.progress.isHidden()
    panel.set_progress(50, 200)
    assert panel.progress.value() == 25
    with qtbot.waitSignal(panel.sigCancelRequested):
        panel.cancel_button.click()
    panel.set_busy(False)
    assert panel.compute_button.isEnabled() and panel.progress.isHidden()


def test_location_color_cycles():
    assert location_color(0) == MARK_COLORS[0] and location_color(2) == MARK_COLORS[2]
    assert location_color(3) != location_color(4)


def crowded():
    """Three locations whose words crowd one corner and share words (same coordinates)."""
    rng = np.random.default_rng(7)
    vocab = ["Avoid", "walked", "depressingly", "ingratiating", "flat", "lame", "bland", "shallow", "muddled",
             "Skip", "check", "stuff", "dull", "tired", "limp"]
    xy = {w: rng.normal(scale=0.6, size=2) for w in vocab}
    locs = []
    for rank, words in enumerate([vocab[:10], vocab[3:13], ["Avoid", "flat"] + vocab[8:15]]):
        loc = location(0, 2 + rank, rank, words, seed=rank)
        locs.append(dataclasses.replace(loc, coords=np.array([xy[w] for w in words]),
                                        target_coords=np.array([0.1 * rank, 0.05 * rank])))
    return scatter(locs)


def _scene_rects(panel):
    vb = panel.plot.getPlotItem().getViewBox()
    o = vb.sceneBoundingRect().topLeft()
    out = {}
    for t in panel._labels:
        if t.isVisible():
            r = t.textItem.mapRectToScene(t.textItem.boundingRect())
            out[t.toPlainText()] = (r.left() - o.x(), r.top() - o.y(), r.width(), r.height())
    return out


def test_crowded_labels_never_overlap_each_other_or_the_points(panel, qtbot):
    from desktop_app.panels.label_placement import intersects

    panel.set_result(crowded())
    qtbot.wait(20)
    rects = panel.label_rects()
    assert len(rects) >= 5  # most labels are placed ...
    scene = _scene_rects(panel)
    assert set(scene) == set(rects)  # ... the others are hidden (their points keep their tooltips)
    for name, r in rects.items():  # the labels are where the placement put them
        assert scene[name] == pytest.approx(r, abs=1.0)
    vals = list(rects.values())
    assert not any(intersects(a, b) for i, a in enumerate(vals) for b in vals[i + 1:])
    # no label covers a marker (its own or another point's): labels sit next to their points
    vb = panel.plot.getPlotItem().getViewBox()
    (xa, xb), (ya, yb) = vb.viewRange()
    for p in panel.points():
        px = (p["xy"][0] - xa) / (xb - xa) * vb.width()
        py = (yb - p["xy"][1]) / (yb - ya) * vb.height()
        assert not any(r[0] < px < r[0] + r[2] and r[1] < py < r[1] + r[3] for r in vals), p["word"]
    # a resize re-places them, still without overlaps
    panel.resize(500, 380)
    qtbot.wait(20)
    vals = list(panel.label_rects().values())
    assert vals and not any(intersects(a, b) for i, a in enumerate(vals) for b in vals[i + 1:])


def test_word_labels_are_coloured_like_their_dots_with_a_caption(panel):
    res = crowded()
    panel.set_result(res)
    top_color = {}  # the dot drawn last at a position is the one seen
    for p in panel.points():
        if p["kind"] == "word":
            top_color[(p["word"], round(p["xy"][0], 6), round(p["xy"][1], 6))] = p["color"]
    for spec in panel._label_specs:
        if spec["order"] >= 0:
            key = (spec["text"], round(spec["xy"][0], 6), round(spec["xy"][1], 6))
            assert spec["item"].color.name() == top_color[key].name(), spec["text"]
    cap = panel.caption_label
    assert not cap.isHidden() and "colour" in cap.text() and "location" in cap.text() and "grid" in cap.text()
    # words exactly as in the vocabulary, in the plot and in the list below it
    assert "Avoid" in {t.toPlainText() for t in panel._labels} and "avoid" not in {t.toPlainText() for t in panel._labels}
    assert "Avoid" in panel.legend_label.text() and "avoid" not in panel.legend_label.text()
    panel.show_message("nothing")
    assert cap.isHidden()


def test_form_starts_at_the_config_defaults(panel):
    from interp_engine.config import OPTIMIZATION_STEPS_OTHER, PAPER_LAMBDAS, NeighbourConfig, OptimizationConfig

    p = panel.parameters()
    # steps: None in the config (the model family's default); before a model: the word models'
    assert OptimizationConfig.steps is None
    assert (p["lambda1"], p["lambda2"], p["steps"]) == (OptimizationConfig.lambda1, OptimizationConfig.lambda2,
                                                        OPTIMIZATION_STEPS_OTHER)
    assert (p["k"], p["perplexity"], p["projection"], p["top"]) == (NeighbourConfig.k, NeighbourConfig.perplexity,
                                                                    NeighbourConfig.projection, NeighbourConfig.top)
    tip = panel.lambda1_spin.toolTip()
    assert f"default {OptimizationConfig.lambda1:g}" in tip and f"AG News {PAPER_LAMBDAS['ag_news'][0]:g}" in tip
    assert f"lr {OptimizationConfig.lr:g}" in panel.steps_spin.toolTip()


def test_steps_follow_the_model_family_unless_the_user_changed_them(panel):
    from interp_engine.config import OPTIMIZATION_STEPS, OPTIMIZATION_STEPS_OTHER

    tx = OPTIMIZATION_STEPS["transformer"]
    panel.set_default_steps(tx)  # a transformer was opened
    assert panel.parameters()["steps"] == tx
    panel.set_default_steps(OPTIMIZATION_STEPS_OTHER)  # then a TextCNN
    assert panel.parameters()["steps"] == OPTIMIZATION_STEPS_OTHER
    panel.set_parameters(steps=123, lambda1=None)  # the user's choice (None: left alone) ...
    assert panel.parameters()["steps"] == 123 and panel.parameters()["lambda1"] == 0.004
    panel.set_default_steps(tx)  # ... survives opening another model
    assert panel.parameters()["steps"] == 123


def test_info_text_shows_each_locations_steps_and_final_objective(panel):
    a = location(0, 1, 0, ["fine", "great"], 1)  # converged (rank 0), 19 steps, objective 3
    b = dataclasses.replace(location(0, 3, 1, ["dull"], 2), objective_trace=np.array([0.5, 1.25, 2.5]))
    panel.set_result(scatter([a, b]))
    legend = panel.legend_label.text()
    assert "converged after 19 steps, objective 3" in legend
    assert "2 steps, objective 2.5" in legend and "converged after 2" not in legend
    assert "converged after 19 steps, objective 3;" in panel.legend_label.toolTip()
    assert "≤ 20 steps" in panel.title_label.text()
