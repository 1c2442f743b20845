"""Sessions: save the window's state (model, dataset, settings, sentence, layout) to JSON, open it
in a fresh window through the real engine thread, recent sessions, restore on start."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from desktop_app.main_window import MainWindow
from desktop_app.session import (
    SESSION_VERSION,
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
from desktop_app.state import AnalysisState
from interp_engine.config import DeletionConfig, MarginalizationConfig, NeighbourConfig, OptimizationConfig
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
    s = Session(model="/m", dataset="/d.tsv", mlm=None, source="typed",
                state=AnalysisState(text="hello", method="unk", target=1,
                                    marginalization=MarginalizationConfig("uniform", 0.01, 5), compare=True,
                                    compare_methods=("grad", "unk")))
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
    assert s.model == str(model) and s.dataset == str(data) and s.state.text == TINY_TEXTS[2]
    assert s.source == "dataset" and s.dataset_row == 2 and s.state.method == "unk" and s.state.target == 0
    assert s.state.marginalization.likelihood == "uniform" and s.layout
    assert s.state == c.state  # the controller's AnalysisState is what is saved
    saved = json.loads(path.read_text())
    assert saved["version"] == SESSION_VERSION == 2 and saved["state"]["method"] == "unk"
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
    s = Session(model=str(model), source="typed", state=AnalysisState(
        text="never boring , always fun", compare=True, compare_methods=("grad", "unk")))
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
    path = save_session(Session(model=str(tmp_path / "gone"), dataset=str(tmp_path / "gone.tsv"),
                                state=AnalysisState(text="hi")),
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
    assert last_session().state.text == "a good film with great acting"
    remember_last_session(Session(model=str(model), state=AnalysisState(text="boring and dull , I hated it")))
    w2 = make_window(qtbot, persist=True)
    assert w2.restore_session_action.isChecked()
    assert w2.restore_last_session()
    qtbot.waitUntil(lambda: w2.controller.is_ready() and w2.controller.attribution is not None, timeout=WAIT)
    assert w2.controller.current_text == "boring and dull , I hated it"
    set_restore_on_start(False)
    assert not w2.restore_last_session()
    w2.close()
    assert Qt  # noqa: B018


def test_a_version_1_session_file_is_still_read(tmp_path):
    """The flat keys written by the previous version come back as the AnalysisState."""
    v1 = {"version": 1, "model": "/m", "dataset": "/d.tsv", "text_column": "text", "label_column": "label",
          "mlm": None, "likelihood": "prior", "sigma": 0.001, "top_n": None, "method": "marginalization",
          "target": 0, "compare": True, "compare_methods": ["grad", "unk"], "text": "a fine film", "source": "typed",
          "dataset_row": None, "layout": "", "geometry": "", "app_version": "0.1"}
    p = tmp_path / "v1.json"
    p.write_text(json.dumps(v1))
    s = load_session(p)
    assert s.version == 1 and s.model == "/m" and s.dataset == "/d.tsv"
    assert s.state == AnalysisState(text="a fine film", method="marginalization", target=0,
                                    marginalization=MarginalizationConfig("prior", 0.001, None), compare=True,
                                    compare_methods=("grad", "unk"))
    # saved again, it is a version-2 file with the same state
    again = load_session(save_session(s.__class__(**{**s.__dict__, "version": SESSION_VERSION}), tmp_path / "v2.json"))
    assert again.version == SESSION_VERSION and again.state == s.state


def test_analysis_state_round_trips_through_a_saved_session(qtbot, tmp_path):
    st = AnalysisState(text="a moving film", method="unk", target=1,
                       marginalization=MarginalizationConfig("uniform", 0.0, 12), compare=True,
                       compare_methods=("grad", "marginalization"),
                       deletion=DeletionConfig(strategy="zero", x_max=0.3, seed=4),
                       neighbours=NeighbourConfig(top=2, layer=0, k=7, projection="pca", perplexity=8.0),
                       optimization=OptimizationConfig(lambda1=0.002, lambda2=0.01, steps=300, seed=2))
    assert AnalysisState.from_dict(json.loads(json.dumps(st.to_dict()))) == st
    p = save_session(Session(state=st), tmp_path / "st.json")
    assert load_session(p).state == st
    # into a window (no model: nothing is computed) and captured back
    w = make_window(qtbot)
    w.open_session(str(p))
    assert w.heatmap.method() == "unk" and w.heatmap.compare_enabled()
    assert w.deletion_panel.strategy() == "zero" and w.deletion_panel.x_max() == pytest.approx(0.3)
    assert w.neighbour_panel.parameters()["k"] == 7 and w.neighbour_panel.projection() == "pca"
    back = w.save_session(str(tmp_path / "back.json")).state
    assert back.text == st.text and back.method == st.method and back.compare == st.compare
    assert back.compare_methods == st.compare_methods and back.marginalization == st.marginalization
    assert back.deletion == st.deletion and back.neighbours == st.neighbours and back.optimization == st.optimization
    w.close()
