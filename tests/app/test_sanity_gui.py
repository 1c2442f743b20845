"""The sanity-check dock (Adebayo et al. 2018, model-parameter randomization): the panel fed
hand-built cascades (row labels with ρ, one colour scale per row, the verdict, tooltips), the
heatmap's button, and the main window on a tiny saved model through the real worker thread
(button → dock with one row per step, export, a new sentence makes it stale, progress and Cancel)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from desktop_app.panels.sanity import START_HINT, SanityCascadePanel
from interp_engine.results import SanityCascade
from tests.app.factories import offsets_for, prediction

WAIT = 30000
TOKENS = ("a", "good", "film", "with", "great")
STEPS = ("trained", "classifier", "conv1", "embeddings")


def cascade(full_rho: float = 0.9, *, scale: float = 100.0) -> SanityCascade:
    """A hand-built cascade: step 1 is the trained map times ``scale`` (same ranking, ρ = 1), step 2
    its reverse (ρ = −1), step 3 has ρ ``full_rho``."""
    s0 = np.array([0.1, 0.9, -0.2, 0.0, 0.5])
    scores = np.stack([s0, scale * s0, -s0, np.array([0.3, 0.2, -0.1, 0.0, 0.4])])
    return SanityCascade(
        text=" ".join(TOKENS), tokens=TOKENS, offsets=offsets_for(TOKENS), special=np.zeros(5, bool),
        method="grad_input", units="logit gradient · embedding", target=1, prediction=prediction(),
        steps=STEPS, scores=scores, spearman=np.array([1.0, 1.0, -1.0, full_rho]),
        spearman_abs=np.array([1.0, 1.0, 0.3, 0.2]), p_target=np.array([0.8, 0.6, 0.55, 0.5]), seed=3)


@pytest.fixture
def panel(qtbot):
    p = SanityCascadePanel()
    qtbot.addWidget(p)
    p.show()
    return p


def test_rows_labels_and_one_scale_per_row(panel):
    assert panel.current_result() is None and panel.message_label.text() == START_HINT
    r = cascade()
    panel.set_result(r)
    assert panel.current_result() is r
    assert panel.row_labels() == ["trained", "+ classifier (ρ +1.00)", "+ conv1 (ρ -1.00)",
                                  "+ embeddings (ρ +0.90)"]
    v = panel.view
    assert v.row_count() == 4 and v.columns() == list(range(5))
    # the trained row and its 100× copy get the same colours: each row is on its own ±max|score| scale
    for j in range(5):
        assert v.cell_color(0, j) == v.cell_color(1, j)
    assert v.cell_color(0, 1) != v.cell_color(2, 1)  # the reversed row: the strongest token turns blue
    np.testing.assert_allclose(panel.row_limits(), [0.9, 90.0, 0.9, 0.4])
    assert "Gradient" in panel.header_label.text() and "seed 3" in panel.header_label.text()
    tip = v.tooltip_text(1, 1)
    assert "+ classifier" in tip and "“good”" in tip and "90" in tip and "ρ = +1.00" in tip and "p(positive) = 0.600" in tip


@pytest.mark.parametrize("rho,word", [(0.9, "Fails"), (0.1, "Passes"), (float("nan"), "no ranking")])
def test_verdict_follows_rho_at_full_randomization(panel, rho, word):
    panel.set_result(cascade(rho))
    assert word in panel.verdict_label.text()
    if word != "no ranking":
        assert "0.5" in panel.verdict_label.text()


def test_messages_and_computing(panel, qtbot):
    panel.set_result(cascade())
    panel.set_computing("conv1 · 40%")
    assert panel.status_label.text() == "conv1 · 40%" and panel.view._dimmed
    assert panel.current_result() is not None  # the old rows stay, faded
    panel.show_message("nothing to check")
    assert panel.current_result() is None and panel.view.row_count() == 0
    assert panel.stack.currentWidget() is panel.message_label and panel.verdict_label.text() == ""
    with qtbot.waitSignal(panel.sigRunRequested, timeout=1000):
        panel.run_button.click()


def test_the_heatmap_has_a_sanity_check_button(qtbot):
    from desktop_app.panels.heatmap import SentenceHeatmapPanel

    h = SentenceHeatmapPanel()
    qtbot.addWidget(h)
    assert h.sanity_button.objectName() == "sanityCheckButton" and h.sanity_button.text() == "Sanity check"
    assert h.findChild(type(h.sanity_button), "sanityCheckButton") is h.sanity_button
    with qtbot.waitSignal(h.sanity_button.clicked, timeout=1000):
        h.sanity_button.click()


def test_the_cascade_figure_renders_the_rows(panel):
    from interp_engine.figures import panel_of, render

    r = cascade()
    assert panel_of(r) == "sanity"
    fig = render(r)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "+ conv1 (ρ -1.00)" in texts and "trained" in texts
    assert "fails" in texts[0]  # the title line: ρ at full randomization 0.90 > 0.5


# -- the main window, real engine --------------------------------------------------------------------
ROWS = [(1, "a wonderful , moving film with great acting"), (0, "a dull and lifeless mess of a movie"),
        (1, "the best performance I have seen this year"), (0, "boring plot , terrible dialogue and bad acting")]


@pytest.fixture
def tiny(tmp_path_factory):
    from tests.helpers import save_rows_model

    return save_rows_model(tmp_path_factory.mktemp("sanity_gui"), ROWS)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from desktop_app.main_window import MainWindow

    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path / "cache"))
    win = MainWindow(persist_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.neighbour_dock.hide()  # its input optimization would only slow these tests down (hidden: not computed)
    yield win
    win.close()


def _open(window, qtbot, tiny):
    from tests.e2e.test_main_window import open_tiny

    open_tiny(window, qtbot, tiny)


def test_button_runs_the_cascade_of_the_shown_heatmap(window, qtbot, tiny):
    panel, dock = window.sanity_panel, window.sanity_dock
    assert dock.objectName() == "sanityDock" and dock.isHidden()  # shown when a check is asked for
    _open(window, qtbot, tiny)
    c = window.controller
    window.heatmap.sanity_button.click()
    assert not dock.isHidden()
    qtbot.waitUntil(lambda: panel.current_result() is not None, timeout=WAIT)
    r = panel.current_result()
    shown = c._shown()
    assert r.text == c.current_text and r.method == window.heatmap.method() and r.target == shown.target
    assert r.steps == ("trained", "classifier", "conv2", "conv1", "embeddings")
    assert len(panel.row_labels()) == 5 and r.spearman[0] == 1.0
    np.testing.assert_allclose(r.scores[0], shown.scores, rtol=1e-6, atol=1e-9)
    assert "sanity" in window.exports.current_results()  # right-click "Export figure…" works on the dock
    # another sentence: the cascade is stale and is dropped
    other = [t for _, t in ROWS if t != c.current_text][0]
    c.set_text(other)
    qtbot.waitUntil(lambda: panel.current_result() is None, timeout=WAIT)
    assert "sentence changed" in panel.message_label.text()


def test_progress_and_cancel(window, qtbot, tiny):
    """A method that blocks on the randomized copies (never on the trained model) until Cancel."""
    from interp_engine.attribution import registry
    from interp_engine.attribution.gradient import Gradient
    from interp_engine.errors import Cancelled

    started = threading.Event()

    class BlocksOnRandomCopies(Gradient):
        name = "blocks_on_random_copies_test"
        label = "Blocking gradient (test)"

        def attribute(self, inputs, target=None, *, batch_size=None, progress=None, cancel=None):
            if self.classifier.path is None:  # a randomized copy (the trained model has a folder)
                started.set()
                for _ in range(400):
                    if cancel is not None and cancel.wait(0.05):
                        raise Cancelled("cancelled")
            return super().attribute(inputs, target, batch_size=batch_size, progress=progress, cancel=cancel)

    _open(window, qtbot, tiny)
    registry.register(BlocksOnRandomCopies)
    try:
        window.heatmap.set_methods(registry.units_by_method())
        window.heatmap.set_method(BlocksOnRandomCopies.name)
        c = window.controller
        qtbot.waitUntil(lambda: c._shown() is not None and c._shown().method == BlocksOnRandomCopies.name
                        and c._shown().text == c.current_text, timeout=WAIT)
        panel = window.sanity_panel
        window.heatmap.sanity_button.click()
        qtbot.waitUntil(started.is_set, timeout=WAIT)
        qtbot.waitUntil(lambda: "%" in panel.status_label.text(), timeout=WAIT)  # step 0 done: progress shown
        job = window.sanity_controller.job("sanity")
        assert job is not None and job.request.method == BlocksOnRandomCopies.name
        window.controller.cancel_all()
        qtbot.waitUntil(lambda: "Cancelled" in panel.message_label.text(), timeout=WAIT)
        assert panel.current_result() is None and job.state == "cancelled"
    finally:
        registry.unregister(BlocksOnRandomCopies.name)
