"""Sessions: save the window's state (model, dataset, settings, sentence, layout) to JSON, open it
in a fresh window through the real engine thread, recent sessions, restore on start."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from desktop_app.main_window import MainWindow
from desktop_app.session import (
    Session,
    SessionError,
    last_session,
    load_session,
    recent_sessions,
    remember_last_session,
    restore_on_start,
    save_session,
    set_restore_on_start,
)
from tests.helpers import TINY_TEXTS, save_tiny

WAIT = 30000


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("session")
    model = save_tiny(root / "model")
    data = root / "data.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS)), encoding="utf-8")
    return model, data


def make_window(qtbot, persist=False):
    win = MainWindow(persist_layout=persist, interactive=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_session_json_roundtrip_and_errors(tmp_path):
    s = Session(model="/m", dataset="/d.tsv", mlm=None, likelihood="uniform", sigma=0.01, top_n=5, method="unk",
                target=1, compare=True, compare_methods=["grad", "unk"], text="hello", source="typed")
    p = save_session(s, tmp_path / "s.json")
    assert load_session(p) == s
    bad = tmp_path / "bad.json"
    for content, msg in (("{", "cannot read"), ("[]", "not an Interp Studio session"),
                         (json.dumps({"version": 1, "model": 3}), "'model' must be a string"),
                         (json.dumps({"version": 99}), "newer")):
        bad.write_text(content)
        with pytest.raises(SessionError, match=msg):
            load_session(bad)
    with pytest.raises(SessionError, match="does not exist"):
        load_session(tmp_path / "none.json")


def test_save_and_open_a_session_in_a_fresh_window(qtbot, tmp_path, tiny):
    model, data = tiny
    w1 = make_window(qtbot)
    c = w1.controller
    with qtbot.waitSignals([c.sigModelLoaded, c.sigDatasetLoaded, c.sigSentenceReady], timeout=WAIT):
        w1.open_model(str(model))
        w1.open_dataset(str(data))
    qtbot.waitUntil(c.is_ready, timeout=WAIT)
    with qtbot.waitSignal(c.sigSentenceReady, timeout=WAIT, check_params_cb=lambda t: t == TINY_TEXTS[2]):
        w1.dataset_panel.select_row(2)
    w1.heatmap.set_method("unk")
    w1.heatmap.set_target(0)
    qtbot.waitUntil(lambda: c.is_ready() and c.attribution is not None and c.attribution.method == "unk", timeout=WAIT)
    w1.grid_dock.hide()
    path = tmp_path / "my.json"
    s = w1.save_session(str(path))
    assert s.model == str(model) and s.dataset == str(data) and s.text == TINY_TEXTS[2]
    assert s.source == "dataset" and s.dataset_row == 2 and s.method == "unk" and s.target == 0
    assert s.likelihood == "uniform" and s.layout
    saved = json.loads(path.read_text())
    assert saved["version"] == 1 and saved["method"] == "unk"
    w1.close()

    w2 = make_window(qtbot)
    c2 = w2.controller
    with qtbot.waitSignals([c2.sigModelLoaded, c2.sigDatasetLoaded], timeout=WAIT):
        assert w2.open_session(str(path)) is not None
    qtbot.waitUntil(lambda: c2.is_ready() and c2.attribution is not None and c2.current_text == TINY_TEXTS[2],
                    timeout=WAIT)
    assert c2.attribution.method == "unk" and c2.attribution.target == 0
    assert w2.heatmap.method() == "unk" and w2.heatmap.target() == 0
    assert w2.dataset_panel.selected_row() == 2
    assert w2.sentence_edit.text() == TINY_TEXTS[2]
    assert not w2.grid_dock.isVisible()  # the dock layout came back
    w2.close()


def test_a_typed_sentence_and_compare_mode_come_back(qtbot, tmp_path, tiny):
    model, _data = tiny
    s = Session(model=str(model), text="never boring , always fun", source="typed", compare=True,
                compare_methods=["grad", "unk"])
    path = save_session(s, tmp_path / "t.json")
    w = make_window(qtbot)
    c = w.controller
    w.open_session(str(path))
    qtbot.waitUntil(lambda: c.is_ready() and c.comparison is not None, timeout=WAIT)
    assert [r.method for r in c.comparison] == ["grad", "unk"]
    assert c.current_text == "never boring , always fun"
    assert isinstance(w.heatmap.current_result(), tuple)
    w.close()


def test_missing_files_are_reported_not_fatal(qtbot, tmp_path):
    path = save_session(Session(model=str(tmp_path / "gone"), dataset=str(tmp_path / "gone.tsv"), text="hi"),
                        tmp_path / "s.json")
    w = make_window(qtbot)
    w.open_session(str(path))
    msg = w.statusBar().currentMessage()
    assert "model" in msg and "not found" in msg and "dataset" in msg
    bad = tmp_path / "bad.json"
    bad.write_text("nope")
    assert w.open_session(str(bad)) is None
    assert "cannot read session" in w.statusBar().currentMessage()
    w.close()


def test_recent_sessions_and_restore_on_start(qtbot, tmp_path, tiny):
    model, _data = tiny
    w = make_window(qtbot, persist=True)
    w.controller.set_text("a good film with great acting")
    p = tmp_path / "r.json"
    w.save_session(str(p))
    assert recent_sessions()[0] == str(p.resolve())
    w.recent_sessions_menu.aboutToShow.emit()
    assert str(p.resolve()) in [a.text() for a in w.recent_sessions_menu.actions()]
    assert not restore_on_start() and not w.restore_session_action.isChecked()
    w.restore_session_action.setChecked(True)
    assert restore_on_start()
    w.close()  # keeps the last session
    assert last_session().text == "a good film with great acting"
    remember_last_session(Session(model=str(model), text="boring and dull , I hated it"))
    w2 = make_window(qtbot, persist=True)
    assert w2.restore_session_action.isChecked()
    assert w2.restore_last_session()
    qtbot.waitUntil(lambda: w2.controller.is_ready() and w2.controller.attribution is not None, timeout=WAIT)
    assert w2.controller.current_text == "boring and dull , I hated it"
    set_restore_on_start(False)
    assert not w2.restore_last_session()
    w2.close()
    assert Qt  # noqa: B018
