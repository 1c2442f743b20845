"""The activation-maximization view (Lopes §3.1-3.2, Fig. 3-4): the panel fed a hand-built result
(both lists, the overlap highlighted and counted, the objective trace), the main window on a tiny
saved model through the real worker (class and hidden units, the engine's message for a unit that
does not exist), and the export: the figure with its sidecar from the app and ``export --panel
activation`` from the command line."""
from __future__ import annotations

import json

import numpy as np
import pytest

from desktop_app.panels.activation_maximization import NO_MODEL, START_HINT, ActivationMaximizationPanel
from interp_engine.config import ActivationMaximizationConfig
from interp_engine.results import ActivationMaximization
from tests.app.dataset_docks import WAIT, tiny, window  # noqa: F401 - fixtures


def result(overlap=("great", "fun")) -> ActivationMaximization:
    return ActivationMaximization(
        unit="class positive (logit)", am_words=("great", "superb", "fun", "moving"),
        am_similarities=np.array([0.9, 0.8, 0.7, 0.6]), am_activation=3.25,
        corpus_words=("fun", "wonderful", "great", "best"), corpus_activations=np.array([4.0, 3.5, 3.0, 2.0]),
        overlap=tuple(overlap), objective_trace=np.array([0.1, 1.0, 2.5, 3.25]),
        params={"k": 4, "steps": 4, "lr": 0.01, "l2": 0.01, "seed": 0})


@pytest.fixture
def panel(qtbot):
    p = ActivationMaximizationPanel()
    qtbot.addWidget(p)
    p.show()
    return p


def test_panel_lists_overlap_and_trace(panel, qtbot):
    assert panel.current_result() is None and panel.message_label.text() == NO_MODEL
    assert not panel.run_button.isEnabled()
    r = result()
    panel.set_result(r)
    assert panel.current_result() is r
    assert panel.words("am") == list(r.am_words) and panel.words("corpus") == list(r.corpus_words)
    # exactly the overlap words are highlighted, in both lists
    assert [panel.words("am")[i] for i in panel.overlap_rows("am")] == ["great", "fun"]
    assert [panel.words("corpus")[i] for i in panel.overlap_rows("corpus")] == ["fun", "great"]
    assert "overlap 2 / 4" in panel.header_label.text() and "3.25" in panel.header_label.text()
    assert panel.am_table.item(1, 1).text() == "0.800" and panel.corpus_table.item(0, 1).text() == "4"
    x, y = panel.trace_curve.getData()
    np.testing.assert_array_equal(y, r.objective_trace)
    np.testing.assert_array_equal(x, [1, 2, 3, 4])
    panel.set_result(result(overlap=()))
    assert panel.overlap_rows("am") == [] and "overlap 0 / 4" in panel.header_label.text()


def test_unit_form_and_run_signal(panel, qtbot):
    from tests.app.factories import model_info

    panel.set_model(model_info())
    assert panel.message_label.text() == START_HINT and panel.run_button.isEnabled()
    assert panel.unit() == ("class", 1)  # the second class first (the "positive" one of a binary model)
    panel.set_unit(("hidden", 1, 5))
    assert panel.unit() == ("hidden", 1, 5) and panel.layer_combo.isVisibleTo(panel)
    assert not panel.class_combo.isVisibleTo(panel)
    panel.k_spin.setValue(7)
    with qtbot.waitSignal(panel.sigRunRequested, timeout=1000) as sig:
        panel.run_button.click()
    unit, cfg = sig.args
    assert unit == ("hidden", 1, 5)
    assert cfg == ActivationMaximizationConfig(k=7)


# -- the main window, real engine --------------------------------------------------------------------


def test_window_runs_a_unit_and_exports_it(window, qtbot, tiny, tmp_path):
    from interp_engine.engine import Engine
    from interp_engine.export import export_figure
    from interp_engine.requests import ActivationMaximizationRequest

    c = window.controller
    with qtbot.waitSignal(c.sigModelLoaded, timeout=WAIT):
        window.open_model(str(tiny[0]))
    panel, dock = window.activation_panel, window.activation_dock
    assert dock.isHidden()
    window.maximize_action.trigger()
    assert not dock.isHidden()
    panel.steps_spin.setValue(40)
    panel.set_unit(("class", 1))
    panel.run_button.click()
    qtbot.waitUntil(lambda: panel.current_result() is not None, timeout=WAIT)
    r = panel.current_result()
    assert isinstance(r.request, ActivationMaximizationRequest) and r.request.unit == ("class", 1)
    assert r.request.config.steps == 40 and len(r.objective_trace) == 40
    # the same request on an engine of its own: the same lists and overlap
    e = Engine("cpu")
    e.load_model(tiny[0])
    ref = e.run(ActivationMaximizationRequest(unit=("class", 1), config=ActivationMaximizationConfig(steps=40)))
    assert r.am_words == ref.am_words and r.corpus_words == ref.corpus_words and r.overlap == ref.overlap
    assert f"overlap {len(ref.overlap)} / {len(ref.am_words)}" in panel.header_label.text()
    assert [panel.words("am")[i] for i in panel.overlap_rows("am")] == list(ref.overlap)
    # exported like every panel: the figure and its sidecar, whose request remakes it
    assert window.exports.current_results()["activation"] is r
    out, side = export_figure(r, tmp_path / "am.svg", provenance=window.exports.provenance())
    meta = json.loads(side.read_text(encoding="utf-8"))
    assert out.stat().st_size > 1000 and meta["panel"] == "activation"
    assert meta["request"]["type"] == "activation_maximization" and meta["request"]["unit"] == ["class", 1]
    svg = out.read_text(encoding="utf-8")
    assert f"overlap {len(ref.overlap)} / {len(ref.am_words)}" in svg and ref.am_words[0] in svg
    # a hidden unit that does not exist: the engine's sentence in the view
    with qtbot.waitSignal(window.activation_controller.sigError, timeout=WAIT) as sig:
        window.activation_controller.run_unit(("hidden", 0, 999))
    assert "channel 999 does not exist" in sig.args[0]
    assert "channel 999 does not exist" in panel.message_label.text() and panel.current_result() is None


def test_cli_export_panel_activation(tiny, tmp_path):
    from interp_engine.cli import main

    out = tmp_path / "act.pdf"
    assert main(["export", "--panel", "activation", "--unit", "0:2", "--model", str(tiny[0]), "--out", str(out),
                 "--device", "cpu"]) == 0
    meta = json.loads((tmp_path / "act.pdf.json").read_text(encoding="utf-8"))
    assert out.read_bytes().startswith(b"%PDF") and meta["request"]["unit"] == ["hidden", 0, 2]
    assert main(["export", "--panel", "activation", "--model", str(tiny[0]), "--out", str(out)]) == 2  # no --unit


def test_screenshot_with_maximize_waits_for_the_result(qapp, tiny, tmp_path, monkeypatch, capsys):
    from desktop_app.__main__ import main
    from desktop_app.main_window import MainWindow

    shots = []
    real_grab = MainWindow.grab

    def grab(self, *a):
        shots.append((self.activation_panel.current_result(), self.activation_dock.isHidden()))
        return real_grab(self, *a)

    monkeypatch.setattr(MainWindow, "grab", grab)
    png = tmp_path / "am.png"
    rc = main(["--model", str(tiny[0]), "--maximize", "0:1", "--screenshot", str(png), "--device", "cpu"])
    assert rc == 0, capsys.readouterr().err
    res, hidden = shots[-1]
    assert res is not None and res.request.unit == ("hidden", 0, 1) and not hidden
    assert png.stat().st_size > 10_000
    assert main(["--model", str(tiny[0]), "--maximize", "nonsense", "--screenshot", str(png)]) == 2
    assert "--maximize must be class:C or ROW:CHANNEL" in capsys.readouterr().err


def test_an_exported_maximization_is_remade_from_its_sidecar(tiny, tmp_path):
    from interp_engine.engine import Engine
    from interp_engine.export import Provenance, export_figure, remake
    from interp_engine.requests import ActivationMaximizationRequest

    e = Engine("cpu")
    info = e.load_model(tiny[0])
    r = e.run(ActivationMaximizationRequest(unit=("hidden", 1, 3), config=ActivationMaximizationConfig(steps=30)))
    fig, side = export_figure(r, tmp_path / "a.svg", provenance=Provenance(model_path=str(tiny[0]),
                                                                           model_hash=info.content_hash))
    again, _ = remake(side, tmp_path / "b.svg", device="cpu")
    assert again.read_bytes() == fig.read_bytes()
    with pytest.raises(ValueError, match="carries no request"):  # a result built by hand cannot say its unit
        export_figure(result(), tmp_path / "c.svg", provenance=Provenance(model_path=str(tiny[0])))
