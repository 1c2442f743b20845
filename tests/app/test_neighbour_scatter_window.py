"""The neighbour scatter dock in the main window, through the real worker thread: computed for a
new sentence, grid clicks select locations, a word goes to the training-set search, a target
star outlines its receptive field, cancel."""
from __future__ import annotations

import pytest

from desktop_app.main_window import MainWindow
from tests.e2e.conftest import TINY_ROWS

WAIT = 30000


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path / "cache"))
    win = MainWindow(persist_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _finished(kind):
    return lambda rid, k, res: k == kind


def test_scatter_dock_end_to_end(window, qtbot, tmp_path):
    from tests.helpers import save_rows_model

    model_dir, data = save_rows_model(tmp_path / "tiny", TINY_ROWS)
    panel = window.neighbour_panel
    assert window.neighbour_dock.objectName() == "neighbourScatterDock"
    assert window.neighbour_dock.toggleViewAction() in window.menuBar().actions()[1].menu().actions()
    panel.set_parameters(steps=60, k=4)
    c = window.controller
    with qtbot.waitSignal(window.client.sigFinished, timeout=WAIT, check_params_cb=_finished("neighbours")):
        window.open_model(str(model_dir))
        window.open_dataset(str(data))
    qtbot.waitUntil(lambda: panel.current_result() is not None, timeout=WAIT)
    res = panel.current_result()
    assert res.text == c.current_text
    assert [loc.position for loc in res.locations] == list(c.saliency.top_locations[0])
    assert all(len(loc.words) == 4 for loc in res.locations)

    # a grid click selects that cell and recomputes for it
    with qtbot.waitSignal(window.client.sigFinished, timeout=WAIT, check_params_cb=_finished("neighbours")):
        window.grid.sigCellClicked.emit(1, 2)
    qtbot.waitUntil(lambda: [(loc.layer, loc.position) for loc in panel.current_result().locations] == [(1, 2)],
                    timeout=WAIT)
    assert panel.selection_mode() == "cells"

    # a word goes to the training-set search
    pts = panel.points()
    w = next(i for i, p in enumerate(pts) if p["kind"] == "word")
    with qtbot.waitSignal(window.client.sigFinished, timeout=WAIT, check_params_cb=_finished("search")):
        panel.click_point(w)
    assert window.search_panel.query_edit.text() == pts[w]["word"]

    # a target star outlines its receptive field on the heatmap
    t = next(i for i, p in enumerate(pts) if p["kind"] == "target")
    panel.click_point(t)
    loc = panel.current_result().locations[0]
    assert window.heatmap.view._rf[:2] == tuple(loc.receptive_field)

    # "top-m per layer": every layer's most salient locations, coloured like the grid's marks
    panel.clear_button.click()
    panel.set_parameters(layer=-1, top=2)
    with qtbot.waitSignal(window.client.sigFinished, timeout=WAIT, check_params_cb=_finished("neighbours")):
        panel.compute_button.click()
    qtbot.waitUntil(lambda: len(panel.current_result().locations) == 2 * len(c.saliency.layer_names), timeout=WAIT)
    got = [(loc.layer, loc.position, loc.rank) for loc in panel.current_result().locations]
    assert got == [(r, i, k) for r, locs in enumerate(c.saliency.top_locations) for k, i in enumerate(locs[:2])]

    # cancel a long computation
    panel.set_parameters(steps=100000)
    with qtbot.waitSignal(window.client.sigCancelled, timeout=WAIT, check_params_cb=lambda rid, k: k == "neighbours"):
        panel.compute_button.click()
        qtbot.wait(200)
        panel.cancel_button.click()
    assert panel.compute_button.isEnabled()
