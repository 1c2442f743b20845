"""The Dataset results dock on a real attribution store (:mod:`interp_engine.store`, computed once
for the module on a tiny saved TextCNN): the table sorts by a clicked header, the filters keep the
right rows, ρ(A, B) is scipy's Spearman ρ of the stored scores, the histogram's counts are numpy's,
a row click puts the STORED scores in the heatmap ("from store") with no engine request, a bad
folder only shows a message, and File → Compute Attribution Store… runs in the worker."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from scipy.stats import spearmanr

from desktop_app.controllers.dataset_results import FROM_STORE
from desktop_app.panels.dataset_results import RHO_KEY, shared_histograms, spearman_rows
from tests.app.dataset_docks import ROWS, WAIT, tiny, window  # noqa: F401 - fixtures

METHODS = ("grad", "grad_input", "unk")


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny):
    """``(model_dir, data_path, store_dir)``: every row, three methods and their per-row AUC_rep (zero replacement)."""
    from interp_engine.store import StoreSpec, attribute_dataset

    model, data = tiny
    root = tmp_path_factory.mktemp("dataset_results")
    spec = StoreSpec(model_dir=str(model), data_path=str(data), methods=METHODS, metrics=("auc_rep",),
                     strategy="zero")
    attribute_dataset(spec, root / "store", batch_size=4)
    return model, data, root / "store"


@pytest.fixture(scope="module")
def store(files):
    from interp_engine.store import open_store

    return open_store(files[2])


@pytest.fixture
def submitted(window, monkeypatch):
    """Every request the window's client is asked to run from now on."""
    out = []
    real = window.client.submit
    monkeypatch.setattr(window.client, "submit", lambda req: (out.append(req), real(req))[1])
    return out


def _open_store(window, qtbot, path):
    ctl = window.dataset_results_controller
    with qtbot.waitSignal(ctl.sigStoreOpened, timeout=WAIT):
        window.open_store(str(path))
    return ctl


def _confidences(store) -> np.ndarray:
    return np.array([store.get(r).probabilities[store.get(r).predicted] for r in store.rows()])


def _click_header(qtbot, table, column: int) -> None:
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    from PySide6.QtCore import QPoint

    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


# -- the table -----------------------------------------------------------------------------------
def test_columns_and_a_header_click_sorts_by_confidence(window, qtbot, files, store):
    _open_store(window, qtbot, files[2])
    panel = window.dataset_results_panel
    assert not window.dataset_results_dock.isHidden()
    m = panel.model
    keys = m.column_keys()
    assert keys == ["row", "text", "gold", "predicted", "confidence", "auc_rep_grad", "auc_rep_grad_input",
                    "auc_rep_unk", "rho"]
    assert panel.shown_dataset_rows() == list(range(len(ROWS)))  # by row at first
    conf = _confidences(store)
    assert len(set(np.round(conf, 9))) > 3 and not (np.all(np.diff(conf) >= 0) or np.all(np.diff(conf) <= 0))
    np.testing.assert_allclose(m.confidence, conf)
    # the stored metric columns are shown as stored
    for meth in METHODS:
        np.testing.assert_array_equal(m.metric_columns[f"auc_rep_{meth}"],
                                      [store.get(r).metrics["auc_rep"][meth] for r in store.rows()])
    _click_header(qtbot, panel.table, m.column("confidence"))
    header = panel.table.horizontalHeader()
    assert header.sortIndicatorSection() == m.column("confidence")
    shown = [conf[r] for r in panel.visible_rows()]
    order = header.sortIndicatorOrder()
    expected = sorted(conf, reverse=order == Qt.SortOrder.DescendingOrder)
    np.testing.assert_allclose(shown, expected)
    _click_header(qtbot, panel.table, m.column("confidence"))  # the other direction
    np.testing.assert_allclose([conf[r] for r in panel.visible_rows()], expected[::-1])
    # the text of the top row is the text of that dataset row
    top = panel.shown_dataset_rows()[0]
    assert panel.proxy.index(0, m.column("text")).data() == ROWS[top][1]


def test_filters_keep_the_right_rows(window, qtbot, files, store):
    _open_store(window, qtbot, files[2])
    panel = window.dataset_results_panel
    conf = _confidences(store)
    texts = [store.get(r).text for r in store.rows()]
    gold = np.array([store.get(r).gold for r in store.rows()])
    pred = np.array([store.get(r).predicted for r in store.rows()])
    panel.filter_edit.setText("FILM")  # case-insensitive
    want = [i for i, t in enumerate(texts) if "film" in t.lower()]
    assert 0 < len(want) < len(texts) and sorted(panel.visible_rows()) == want
    panel.filter_edit.clear()
    panel.wrong_check.setChecked(True)
    assert sorted(panel.visible_rows()) == list(np.flatnonzero(gold != pred))
    panel.wrong_check.setChecked(False)
    cut = float(np.median(conf))
    panel.conf_spin.setValue(round(cut, 2))
    assert sorted(panel.visible_rows()) == list(np.flatnonzero(conf >= round(cut, 2)))
    assert f"{len(panel.visible_rows())} / {len(texts)} rows" == panel.count_label.text()


def test_rho_column_is_scipy_spearman_of_the_stored_scores(window, qtbot, files, store):
    _open_store(window, qtbot, files[2])
    panel = window.dataset_results_panel
    for a, b in (("grad", "unk"), ("grad_input", "unk")):
        panel.set_rho_methods(a, b)
        want = []
        for r in store.rows():
            row = store.get(r)
            words = ~row.special()
            want.append(spearmanr(row.scores[a][words], row.scores[b][words]).statistic)
        np.testing.assert_allclose(panel.model.rho, want, rtol=1e-12, atol=1e-12)
        assert np.isfinite(panel.model.rho).all() and not np.allclose(panel.model.rho, 1.0)
        header = panel.model.headerData(panel.model.column("rho"), Qt.Orientation.Horizontal)
        assert header == f"ρ(A,B)\n{_short(a)}, {_short(b)}"


def _short(m: str) -> str:
    from interp_engine.attribution import registry

    return registry.short_label(m)


def test_spearman_rows_undefined_cases():
    rho = spearman_rows([np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0]), np.array([1.0, 2.0]), np.array([2.0])],
                        [np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0]), np.array([1.0])])
    assert rho[0] == pytest.approx(-0.5) and np.isnan(rho[1:]).all()  # constant, mismatched, one token
    # the word mask: the tokens it drops do not count
    assert spearman_rows([np.array([9.0, 1.0, 2.0])], [np.array([-9.0, 1.0, 2.0])],
                         [np.array([False, True, True])])[0] == pytest.approx(1.0)


def test_histogram_counts_are_numpy_histograms_of_the_shown_rows(window, qtbot, files, store):
    _open_store(window, qtbot, files[2])
    panel = window.dataset_results_panel
    assert panel.histogram_key() == "auc_rep"
    cols = {m: np.array([store.get(r).metrics["auc_rep"][m] for r in store.rows()]) for m in METHODS}
    allv = np.concatenate([v[np.isfinite(v)] for v in cols.values()])
    edges = np.histogram_bin_edges(allv, bins=20)
    from interp_engine.attribution import registry

    assert set(panel.histogram_data) == {registry.label(m) for m in METHODS}
    for m in METHODS:
        e, counts = panel.histogram_data[registry.label(m)]
        np.testing.assert_allclose(e, edges)
        np.testing.assert_array_equal(counts, np.histogram(cols[m][np.isfinite(cols[m])], bins=edges)[0])
        x, y = panel.hist_items[registry.label(m)].getData()
        np.testing.assert_array_equal(y, counts)  # what is drawn
    # the filter changes the histogram: only the rows shown are counted
    panel.wrong_check.setChecked(True)
    keep = panel.visible_rows()
    for m in METHODS:
        v = cols[m][keep]
        got = panel.histogram_data.get(registry.label(m))
        assert (got[1].sum() if got else 0) == np.isfinite(v).sum()
    panel.wrong_check.setChecked(False)
    panel.set_histogram_key(RHO_KEY)
    (name, (e, counts)), = panel.histogram_data.items()
    assert name.startswith("ρ(") and counts.sum() == np.isfinite(panel.model.rho).sum()
    np.testing.assert_array_equal(counts, shared_histograms({"r": panel.model.rho})["r"][1])


# -- a row click: the stored heatmap, no engine request ----------------------------------------
def test_row_click_shows_the_stored_scores_without_an_engine_request(window, qtbot, files, store, submitted):
    model, _data, path = files
    c = window.controller
    with qtbot.waitSignal(c.sigModelLoaded, timeout=WAIT):
        window.open_model(str(model))
    ctl = _open_store(window, qtbot, path)
    qtbot.waitUntil(lambda: not window.client.busy, timeout=WAIT)
    submitted.clear()
    panel = window.dataset_results_panel
    row = 3
    i = panel.shown_dataset_rows().index(row)
    rect = panel.table.visualRect(panel.proxy.index(i, panel.model.column("text")))
    with qtbot.waitSignal(ctl.sigRowShown, timeout=2000):
        qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert submitted == []  # nothing computed: no request reached the engine client
    qtbot.wait(50)
    assert submitted == [] and not window.client.busy
    stored = store.get(row)
    shown = window.heatmap.current_result()
    assert isinstance(shown, tuple) and [a.method for a in shown] == list(METHODS)
    for a in shown:
        np.testing.assert_array_equal(a.scores, stored.scores[a.method])
        assert a.tokens == stored.tokens and a.target == stored.predicted
        assert a.prediction.class_names == ("negative", "positive")
    assert not np.allclose(shown[0].scores, shown[2].scores)  # three different maps
    assert window.heatmap.status_label.text() == FROM_STORE
    assert c.current_text == ROWS[row][1] and window.sentence_edit.text() == ROWS[row][1]
    assert ctl.shown_row == row and window.exports.current_results()["heatmap"] == shown
    # explaining anew computes the heatmap and it no longer says "from store"
    window.explain_button.click()
    assert any(r.kind in ("attribution", "compare") for r in submitted)
    qtbot.waitUntil(lambda: c._shown() is not None and window.heatmap.status_label.text() != FROM_STORE
                    and not window.client.busy, timeout=WAIT)
    assert ctl.shown_row is None


def test_a_bad_store_folder_shows_a_message_and_changes_nothing(window, qtbot, files, tmp_path):
    ctl = _open_store(window, qtbot, files[2])
    panel = window.dataset_results_panel
    n = panel.model.rowCount()
    heat = window.heatmap.current_result()
    bad = tmp_path / "not_a_store"
    bad.mkdir()
    with qtbot.waitSignal(ctl.sigError, timeout=WAIT) as sig:
        window.open_store(str(bad))
    assert "not an attribution store" in sig.args[0] and "manifest.json" in sig.args[0]
    box = window._boxes[-1]
    assert box.windowTitle() == "Could not open the attribution store" and "not an attribution store" in box.text()
    assert panel.model.rowCount() == n and ctl.store is not None and ctl.store.path == files[2]
    assert window.heatmap.current_result() is heat
    assert panel.count_label.text() == f"{n} / {n} rows"


# -- computing a store from the GUI -----------------------------------------------------------
def test_compute_store_runs_in_the_worker_and_opens_it(window, qtbot, files, tmp_path):
    from desktop_app.panels.store_dialog import ComputeStoreDialog
    from interp_engine.store import STORE_METRICS

    model, data, _ = files
    c = window.controller
    with qtbot.waitSignals([c.sigModelLoaded, c.sigDatasetLoaded], timeout=WAIT):
        window.open_model(str(model))
        window.open_dataset(str(data))
    qtbot.waitUntil(lambda: not window.client.busy, timeout=WAIT)
    ctl = window.dataset_results_controller
    dlg = ctl.open_compute_dialog()
    assert isinstance(dlg, ComputeStoreDialog) and set(dlg.metric_checks) == set(STORE_METRICS)
    assert dlg.methods_list.methods() == (window.heatmap.method(),)  # the heatmap's method checked
    dlg.methods_list.set_methods(("grad", "unk"))
    dlg.n_spin.setValue(4)
    dlg.out_edit.setText(str(tmp_path / "gui_store"))
    progress = []
    window.client.sigProgress.connect(lambda *a: progress.append(a))
    with qtbot.waitSignal(ctl.sigStoreOpened, timeout=WAIT) as sig:
        dlg.buttons.button(dlg.buttons.StandardButton.Ok).click()
    store = sig.args[0]
    assert store.methods == ("grad", "unk") and store.rows() == [0, 1, 2, 3]
    assert window.dataset_results_panel.shown_dataset_rows() == [0, 1, 2, 3]
    assert any(kind == "attribute_dataset" for _rid, kind, *_ in progress)
    assert (tmp_path / "gui_store" / "manifest.json").is_file()


# -- the command line ---------------------------------------------------------------------------
def test_screenshot_with_store_waits_for_the_stored_row(qapp, files, tmp_path, monkeypatch, capsys):
    from desktop_app.__main__ import main
    from desktop_app.main_window import MainWindow

    shots = []
    real_grab = MainWindow.grab

    def grab(self, *a):
        ctl = self.dataset_results_controller
        shots.append((ctl.store is not None and len(ctl.store), ctl.shown_row, self.heatmap.status_label.text(),
                      self.heatmap.current_result(), self.dataset_results_dock.isHidden()))
        return real_grab(self, *a)

    monkeypatch.setattr(MainWindow, "grab", grab)
    model, _data, path = files
    png = tmp_path / "store.png"
    rc = main(["--model", str(model), "--store", str(path), "--screenshot", str(png), "--device", "cpu"])
    assert rc == 0, capsys.readouterr().err
    n, row, status, shown, hidden = shots[-1]
    assert n == len(ROWS) and row == 0 and status == FROM_STORE and not hidden
    assert [a.method for a in shown] == list(METHODS) and shown[0].text == ROWS[0][1]
    assert png.stat().st_size > 10_000
    # a folder that is not a store: the screenshot fails with the store's sentence
    rc = main(["--model", str(model), "--store", str(tmp_path), "--screenshot", str(png), "--device", "cpu"])
    assert rc == 1 and "not an attribution store" in capsys.readouterr().err


def test_a_pair_store_lists_both_texts_and_shows_the_pair(window, qtbot, tmp_path, submitted):
    from interp_engine.store import StoreSpec, attribute_dataset
    from tests.helpers import TINY_PAIRS, save_pairs_tsv, save_tiny_pair

    model = save_tiny_pair(tmp_path / "pair", "textcnn")
    data = save_pairs_tsv(tmp_path / "pairs.tsv")
    attribute_dataset(StoreSpec(model_dir=str(model), data_path=str(data), methods=("grad",)), tmp_path / "ps")
    ctl = _open_store(window, qtbot, tmp_path / "ps")
    m = window.dataset_results_panel.model
    assert m.column_keys()[:3] == ["row", "text", "text_b"]
    assert [m.headerData(i, Qt.Orientation.Horizontal) for i in (1, 2)] == ["premise", "hypothesis"]
    window.dataset_results_panel.filter_edit.setText("nobody")  # the hypothesis is searched too
    assert window.dataset_results_panel.shown_dataset_rows() == [4]
    qtbot.waitUntil(lambda: not window.client.busy, timeout=WAIT)
    submitted.clear()
    with qtbot.waitSignal(ctl.sigRowShown, timeout=2000):
        assert window.dataset_results_panel.select_dataset_row(4)
    shown = window.heatmap.current_result()  # one method: the single heatmap
    assert shown.method == "grad" and shown.texts == TINY_PAIRS[4][1:] and shown.segments is not None
    np.testing.assert_array_equal(shown.scores, ctl.store.get(4).scores["grad"])
    assert window.controller.current_input.texts == TINY_PAIRS[4][1:] and submitted == []
    assert window.heatmap.status_label.text() == FROM_STORE
