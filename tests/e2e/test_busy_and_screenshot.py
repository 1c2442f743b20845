"""Every panel shows that its job is running (dataset list, heatmap, grid, neighbour scatter),
and ``--screenshot`` waits for every started job, the neighbour scatter included, with its
``--timeout`` counted from when the model is open."""
from __future__ import annotations

import sys
import threading
import time

import pytest

from desktop_app.__main__ import main
from desktop_app.main_window import MainWindow
from interp_engine.engine import Engine

WAIT = 60000


@pytest.fixture
def gated(monkeypatch):
    """``gates[kind]``: a request of that kind waits in the engine until its event is set (or the
    request is cancelled). Every gate is opened at the end, so no engine thread is left waiting."""
    gates = {k: threading.Event() for k in ("predictions", "attribution", "hidden", "neighbours")}
    real = Engine.run

    def run(self, request, progress=None, cancel=None):
        gate = gates.get(request.kind)
        stop = cancel if cancel is not None else request.cancel
        while gate is not None and not gate.wait(0.02) and not stop.is_set():
            pass
        return real(self, request, progress, cancel)

    monkeypatch.setattr(Engine, "run", run)
    yield gates
    for g in gates.values():
        g.set()


def test_each_panel_shows_its_job_running(qtbot, tiny_model, gated):
    win = MainWindow(persist_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    c, scatter = win.controller, win.neighbour_panel
    values: list[int] = []
    scatter.progress.valueChanged.connect(values.append)
    model_dir, data = tiny_model
    with qtbot.waitSignals([c.sigModelLoaded, c.sigDatasetLoaded], timeout=WAIT):
        win.open_model(str(model_dir))
        win.open_dataset(str(data))
    # predictions, attribution and hidden saliency are held in the engine: each panel says so
    qtbot.waitUntil(lambda: c.current_text != "", timeout=WAIT)
    qtbot.waitUntil(lambda: "predicting" in win.dataset_panel.summary_label.text(), timeout=WAIT)
    qtbot.waitUntil(lambda: "computing" in win.heatmap.status_label.text(), timeout=WAIT)
    assert "computing" in win.grid.status_label.text()
    assert not scatter.progress.isVisible()  # its job starts when the sentence is ready
    for kind in ("predictions", "attribution", "hidden"):
        gated[kind].set()
    # the sentence is ready: the scatter's optimisation is submitted and held
    qtbot.waitUntil(scatter.progress.isVisible, timeout=WAIT)
    assert scatter.cancel_button.isEnabled() and not scatter.compute_button.isEnabled()
    assert scatter.message_label.text() == "Optimising inputs…"
    assert not c.is_ready()  # the client is busy with it
    assert "predicting" not in win.dataset_panel.summary_label.text()
    assert win.heatmap.status_label.text() == "" or "computing" not in win.heatmap.status_label.text()
    with qtbot.waitSignal(win.client.sigFinished, timeout=WAIT,
                          check_params_cb=lambda _rid, kind, _res: kind == "neighbours"):
        gated["neighbours"].set()
    qtbot.waitUntil(c.is_ready, timeout=WAIT)
    assert scatter.result is not None and scatter.result.text == c.current_text
    assert not scatter.progress.isVisible() and scatter.compute_button.isEnabled()
    assert values and max(values) == 100  # the progress bar counted up to the end
    assert "locations in" in scatter.status_label.text()
    win.close()


def test_screenshot_waits_for_the_neighbour_scatter(qapp, tiny_model, tmp_path, monkeypatch, capsys):
    """The scatter's job is the last to end (it starts when the sentence is ready and takes 1.5 s
    more here): the grab must come after its result is on screen."""
    real = Engine.neighbour_scatter
    ended: list[float] = []

    def slow(self, *a, **kw):
        time.sleep(1.5)
        out = real(self, *a, **kw)
        ended.append(time.monotonic())
        return out

    monkeypatch.setattr(Engine, "neighbour_scatter", slow)
    shots: list[tuple] = []
    real_grab = MainWindow.grab

    def grab(self, *a):
        p = self.neighbour_panel
        shots.append((time.monotonic(), p.result, self.controller.current_text, p.progress.isVisible(),
                      len(p.points()), self.grid.result, self.heatmap.result))
        return real_grab(self, *a)

    monkeypatch.setattr(MainWindow, "grab", grab)
    model_dir, data = tiny_model
    png = tmp_path / "shot.png"
    rc = main(["--model", str(model_dir), "--data", str(data), "--screenshot", str(png)])
    assert rc == 0, capsys.readouterr().err
    assert ended and shots
    t, result, text, busy, n_points, grid, heatmap = shots[-1]
    assert t > ended[-1]
    assert result is not None and result.text == text and not busy and n_points > 0
    assert grid is not None and grid.text == text and heatmap is not None and heatmap.text == text
    assert png.stat().st_size > 10_000


def test_screenshot_timeout_counts_from_when_the_model_is_open(qapp, tiny_model, tmp_path, monkeypatch, capsys):
    """A slow model load (3 s) with ``--timeout 2``: the timeout never fires during the load."""
    real = Engine.load_model

    def slow_load(self, *a, **kw):
        time.sleep(3.0)
        out = real(self, *a, **kw)
        print("MODEL-OPEN", file=sys.stderr, flush=True)
        return out

    monkeypatch.setattr(Engine, "load_model", slow_load)
    model_dir, _data = tiny_model
    rc = main(["--model", str(model_dir), "--text", "great acting", "--screenshot", str(tmp_path / "t.png"),
               "--timeout", "2"])
    err = capsys.readouterr().err
    assert "MODEL-OPEN" in err, err
    assert "timed out" not in err[: err.index("MODEL-OPEN")], err
    # after the load, the results may take longer than 2 s on a loaded machine
    assert rc == 0 or "timed out" in err[err.index("MODEL-OPEN"):], err
