"""Bad input in the real main window (issue 8): a pickle-only model asks before it opens, a
non-UTF-8 dataset offers its encoding, odd sentences get a message or a heatmap, and the window
stays usable after each."""
from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop_app.main_window import MainWindow
from tests.e2e.test_main_window import WAIT, open_tiny, window  # noqa: F401 - window is a fixture


def _pickle_copy(model_dir, dest):
    import shutil

    import torch
    from safetensors.torch import load_file

    shutil.copytree(model_dir, dest)
    torch.save(load_file(dest / "model.safetensors"), dest / "pytorch_model.bin")
    (dest / "model.safetensors").unlink()
    return dest


def test_pickle_model_asks_and_opens_only_when_confirmed(window, qtbot, tiny_model, tmp_path):
    c = window.controller
    pk = _pickle_copy(tiny_model[0], tmp_path / "pickled")
    errors = []
    c.sigError.connect(lambda k, m: errors.append(k))
    with qtbot.waitSignal(c.sigPickleRefused, timeout=WAIT):
        window.open_model(str(pk))
    box = window.pickle_box
    qtbot.waitUntil(box.isVisible, timeout=WAIT)
    assert "pytorch_model.bin" in box.text() and "weights_only=True" in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    # Cancel: nothing opens, no error box, the window stays usable
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: "not opened" in window.statusBar().currentMessage(), timeout=WAIT)
    assert c.model_info is None and errors == []
    # again, and confirm
    with qtbot.waitSignal(c.sigPickleRefused, timeout=WAIT):
        window.open_model(str(pk))
    box = window.pickle_box
    qtbot.waitUntil(box.isVisible, timeout=WAIT)
    opener = next(b for b in box.buttons() if b.text() == "Open anyway")
    with qtbot.waitSignal(c.sigModelLoaded, timeout=WAIT) as blocker:
        opener.click()
    assert blocker.args[0].path == str(pk) and errors == []


def test_cp1252_dataset_offers_the_encoding_and_opens_with_it(window, qtbot, tiny_model, tmp_path):
    c = window.controller
    data = tmp_path / "rt-polarity.tsv"
    data.write_bytes("label\ttext\n1\ta caf\xe9 film \x96 great\n0\tdull \x85 and bad\n".encode("latin-1"))
    with qtbot.waitSignal(c.sigEncodingProblem, timeout=WAIT) as blocker:
        window.open_dataset(str(data))
    path, suggested, message = blocker.args
    assert path == str(data) and suggested == "cp1252" and "line 2" in message
    dlg = window.encoding_dialog
    qtbot.waitUntil(dlg.isVisible, timeout=WAIT)
    assert dlg.textValue() == "cp1252" and "rt-polarity.tsv" in dlg.labelText()
    with qtbot.waitSignal(c.sigDatasetLoaded, timeout=WAIT) as loaded:
        dlg.accept()
    assert loaded.args[0].texts == ("a café film – great", "dull … and bad")


@pytest.mark.parametrize("text, expected", [
    ("\u200b\u200d\u2028", "empty"),  # only invisible characters
    ("qwzx vbnm", None),  # only unknown words: shown, all [UNK]
    ("good 😀 film", None),
    ("שלום film", None),  # right-to-left
    ("cafe\u0301 film", None),  # combining mark
])
def test_odd_sentences(window, qtbot, tiny_model, text, expected):
    c = window.controller
    open_tiny(window, qtbot, tiny_model)
    window.sentence_edit.setText(text)
    if expected:
        with qtbot.waitSignal(c.sigError, timeout=WAIT) as blocker:
            window.explain_button.click()
        assert expected in blocker.args[1]
        assert "Could not explain" in window.heatmap.view._placeholder
    else:
        with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
            window.explain_button.click()
        a = c.attribution
        assert a.text == text and len(a.tokens) == len(a.scores) == c.saliency.scores.shape[1]
    window.sentence_edit.setText("a dull film")  # still usable
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        window.explain_button.click()
    qtbot.waitUntil(c.is_ready, timeout=WAIT)


def test_long_sentence_is_truncated_and_says_so(window, qtbot, tiny_model):
    c = window.controller
    open_tiny(window, qtbot, tiny_model)
    text = " ".join(["great acting"] * 40)
    window.sentence_edit.setText(text)
    status: list[str] = []
    c.sigStatus.connect(status.append)
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        window.explain_button.click()
    assert c.attribution.truncated and len(c.attribution.tokens) == 32
    assert window.heatmap.truncated_label.isVisibleTo(window.heatmap)
    assert any("maximum length: only its first 32 tokens" in m for m in status)


class _SlowEngine:
    """An engine whose every job runs in 20 ms steps until cancelled (never finishes by itself)."""

    def __init__(self):
        self.started = False

    def __getattr__(self, name):
        def job(*args, cancel=None, progress=None, **kwargs):
            from interp_engine.errors import Cancelled

            self.started = True
            while True:
                time.sleep(0.02)
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled")

        return job


def test_closing_the_window_during_a_job_exits_within_2_seconds(qtbot):
    from desktop_app.engine_client import EngineClient
    from interp_engine.requests import AttributionRequest

    engine = _SlowEngine()
    win = MainWindow(EngineClient(engine), persist_layout=False)
    qtbot.addWidget(win)
    win.show()
    win.client.submit(AttributionRequest(text="slow", method="marginalization"))
    qtbot.waitUntil(lambda: engine.started, timeout=WAIT)
    thread = win.client.thread
    t0 = time.perf_counter()
    win.close()
    seconds = time.perf_counter() - t0
    print(f"window close during a job: {seconds * 1000:.0f} ms")
    assert thread.isFinished() and seconds < 2.0


def test_only_unknown_words_are_pointed_out(window, qtbot, tiny_model):
    c = window.controller
    open_tiny(window, qtbot, tiny_model)
    window.sentence_edit.setText("qwzx vbnm")
    status: list[str] = []
    c.sigStatus.connect(status.append)
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        window.explain_button.click()
    assert c.attribution.unknown.tolist() == [True, True]
    assert any("None of these words is in the model's vocabulary" in m for m in status)


def test_unexpected_engine_exception_is_a_message_and_the_app_goes_on(window, qtbot, tiny_model, monkeypatch):
    from interp_engine.engine import Engine

    c = window.controller
    open_tiny(window, qtbot, tiny_model)
    real = Engine.hidden_saliency

    def broken(self, text, *args, **kwargs):
        if str(text) == "trigger the bug":  # Engine.run passes the request's TextInput
            raise RuntimeError("simulated engine bug")
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(Engine, "hidden_saliency", broken)
    window.sentence_edit.setText("trigger the bug")
    with qtbot.waitSignal(c.sigError, timeout=WAIT) as blocker:
        window.explain_button.click()
    assert blocker.args == ["hidden", "RuntimeError: simulated engine bug"]
    qtbot.waitUntil(lambda: "simulated engine bug" in window.grid.message_label.text(), timeout=WAIT)
    window.sentence_edit.setText("a dull film")
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT):
        window.explain_button.click()
    assert window.client.thread.isRunning()
