"""The neighbour scatter panel fed hand-built results: points coloured like the grid's marks,
target stars, hover text, clicks, parameter form, busy state."""
from __future__ import annotations

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
