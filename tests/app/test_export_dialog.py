"""The export dialog (preview, save with sidecar, copy PNG) and the generic right-click
"Export figure…" menu the main window installs on every panel, on hand-built results."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from desktop_app.export_dialog import ExportDialog
from desktop_app.main_window import MainWindow
from interp_engine.export import Provenance, sidecar_path
from tests.app.factories import attribution, saliency


@pytest.fixture
def window(qtbot):
    win = MainWindow(persist_layout=False, interactive=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_dialog_previews_saves_with_sidecar_and_copies_png(qtbot, tmp_path):
    res = attribution(("the", "acting", "was", "superb"), (0.1, 2.0, -0.5, 3.0))
    dlg = ExportDialog(res, lambda: Provenance(model_path="", seed=0))
    qtbot.addWidget(dlg)
    dlg.show()
    pm = dlg.preview.pixmap()
    assert not pm.isNull() and pm.width() > 200
    assert [dlg.format_combo.itemData(i) for i in range(dlg.format_combo.count())] == ["pdf", "svg", "png", "tex"]
    # every option changes the figure; the dialog saves what it shows
    dlg.set_format("svg")
    dlg.style_combo.setCurrentIndex(dlg.style_combo.findData("greyscale"))
    dlg.width_combo.setCurrentIndex(dlg.width_combo.findData("double"))
    dlg.update_preview()
    assert dlg.style().palette == "greyscale" and dlg.style().width_in == 6.9
    out = dlg.save(tmp_path / "fig")  # the suffix follows the format
    assert out.name == "fig.svg" and "superb" in out.read_text()
    meta = json.loads(sidecar_path(out).read_text())
    assert meta["figure"]["style"]["palette"] == "greyscale" and meta["sentence"] == "the acting was superb"
    # custom width
    dlg.width_combo.setCurrentIndex(dlg.width_combo.findData("custom"))
    dlg.width_spin.setValue(4.2)
    assert dlg.style().width_in == pytest.approx(4.2)
    # copy: a PNG image at the chosen DPI on the clipboard
    dlg.dpi_spin.setValue(100)
    img = dlg.copy_png()
    clip = QGuiApplication.clipboard().image()
    assert not clip.isNull() and clip.width() == img.width() == round(4.2 * 100)
    dlg.close()


def test_dialog_for_the_grid_has_no_latex_and_reports_bad_fonts_without_crashing(qtbot):
    dlg = ExportDialog(saliency(), None)
    qtbot.addWidget(dlg)
    assert "tex" not in [dlg.format_combo.itemData(i) for i in range(dlg.format_combo.count())]
    dlg.size_spin.setValue(12)
    dlg.update_preview()
    assert dlg.last_error is None and dlg.save_button.isEnabled()


def test_every_panel_gets_the_export_menu(window, qtbot, tmp_path):
    ex = window.exports
    assert {"heatmapPanel", "saliencyGridDock", "tokenSearchDock"} <= set(ex.panels)
    # no result yet: the entry is there but disabled
    menu = ex.show_menu(window.grid, QPoint(10, 10))
    acts = {a.text(): a for a in menu.actions()}
    assert set(acts) == {"Export figure…", "Copy figure as PNG"} and not acts["Export figure…"].isEnabled()
    menu.close()
    window.heatmap.set_result(attribution())
    window.grid.set_result(saliency())
    # a real right-click deep inside the grid's pyqtgraph view opens our menu (and no pyqtgraph menu)
    vp = window.grid.plot.viewport()
    QApplication.sendEvent(vp, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(20, 20),
                                                 vp.mapToGlobal(QPoint(20, 20))))
    assert ex.menu is not None and ex.menu.isVisible()
    acts = {a.text(): a for a in ex.menu.actions()}
    assert acts["Export figure…"].isEnabled()
    ex.menu.close()
    assert not window.grid.plot.getPlotItem().getViewBox().menuEnabled()
    # a right-click on the heatmap's token view too
    view = window.heatmap.view
    QApplication.sendEvent(view, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(5, 5),
                                                   view.mapToGlobal(QPoint(5, 5))))
    assert ex.menu.parent() is window.heatmap
    ex.menu.close()
    # text fields keep their own menu
    edit = window.search_panel.query_edit
    ex.menu = None
    QApplication.sendEvent(edit, QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, QPoint(2, 2),
                                                   edit.mapToGlobal(QPoint(2, 2))))
    assert ex.menu is None
    for w in QApplication.topLevelWidgets():  # close the line edit's own menu
        if w.isVisible() and w.inherits("QMenu"):
            w.close()
    dlg = ex.export_panel(window.grid)
    assert dlg is not None and dlg.kind == "grid" and not dlg.preview.pixmap().isNull()
    dlg.close()
    img = ex.copy_panel(window.heatmap)
    assert img is not None and not QGuiApplication.clipboard().image().isNull()


def test_export_all_panels_of_the_sentence(window, tmp_path):
    window.heatmap.set_comparison([attribution(method="grad"), attribution(scores=(1, -3, 0.5, 0), method="unk")])
    window.grid.set_result(saliency(tokens=("a", "good", "bad", "film")))
    results = window.exports.current_results()
    assert set(results) == {"heatmap", "grid"} and isinstance(results["heatmap"], tuple)
    paths = window.exports.export_all(str(tmp_path), "s", fmt="svg")
    assert sorted(p.name for p in paths) == ["s_grid.svg", "s_heatmap.svg"]
    heat = (tmp_path / "s_heatmap.svg").read_text()
    assert "Gradient" in heat and "Erasure ([UNK])" in heat  # both method rows
    meta = json.loads(sidecar_path(tmp_path / "s_heatmap.svg").read_text())
    assert meta["method"] == ["grad", "unk"]
    assert np.isfinite(meta["target"])


def test_export_all_without_results_says_so(window):
    window.exports.export_all_dialog()
    assert "No panel shows a result" in window.statusBar().currentMessage()
    assert window.exports.export_panel(window.heatmap) is None
    assert Qt  # noqa: B018


def test_figures_exported_from_the_app_are_remade_identically(window, qtbot, tmp_path):
    """The acceptance: a figure exported from the window, remade from its sidecar by the engine
    alone (``interp-studio export --from-sidecar``), has the same SVG bytes / PNG pixels."""
    from PIL import Image

    from interp_engine.export import remake
    from tests.helpers import TINY_TEXTS, save_tiny

    model = save_tiny(tmp_path / "model")
    data = tmp_path / "data.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS)), encoding="utf-8")
    c = window.controller
    with qtbot.waitSignals([c.sigModelLoaded, c.sigDatasetLoaded, c.sigSentenceReady], timeout=30000):
        window.open_model(str(model))
        window.open_dataset(str(data))
    qtbot.waitUntil(c.is_ready, timeout=30000)
    window.heatmap.set_compare(True, ["grad", "unk"])
    qtbot.waitUntil(lambda: c.is_ready() and c.comparison is not None, timeout=30000)
    paths = window.exports.export_all(str(tmp_path), "app", fmt="svg")
    assert {p.name for p in paths} >= {"app_heatmap.svg", "app_grid.svg"}
    for p in paths:
        out, _ = remake(sidecar_path(p), tmp_path / f"remade_{p.name}")
        assert out.read_bytes() == p.read_bytes(), p.name
    dlg = window.exports.export_panel(window.grid)
    dlg.set_format("png")
    dlg.dpi_spin.setValue(120)
    dlg.rf_combo.setCurrentIndex(dlg.rf_combo.findData("top"))
    png = dlg.save(tmp_path / "grid.png")
    dlg.close()
    assert json.loads(sidecar_path(png).read_text())["figure"]["options"] == {"receptive_fields": "top"}
    again, _ = remake(sidecar_path(png), tmp_path / "grid_again.png")
    assert np.array_equal(np.asarray(Image.open(png)), np.asarray(Image.open(again)))


def test_export_takes_the_model_hash_from_model_info_not_the_gui_thread(window, qtbot, tmp_path, monkeypatch):
    """The open model's hash comes from the ``ModelInfo`` the engine worker computed at load:
    exporting does not hash the model folder on the GUI thread. Another folder is still hashed."""
    import shutil

    from interp_engine import export, hashing
    from tests.helpers import save_tiny

    model = save_tiny(tmp_path / "model")
    c = window.controller
    with qtbot.waitSignals([c.sigModelLoaded], timeout=30000):
        window.open_model(str(model))
    expected = hashing.model_folder_hash(model)
    assert c.model_info.content_hash == expected
    calls = []
    real = hashing.model_folder_hash

    def counting(path):
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(hashing, "model_folder_hash", counting)
    monkeypatch.setattr(export, "model_folder_hash", counting)
    prov = window.exports.provenance()
    assert prov.model_path == c.model_info.path and prov.model_hash == expected
    window.grid.set_result(saliency(tokens=("a", "good", "bad", "film")))
    paths = window.exports.export_all(str(tmp_path), "s", fmt="svg")
    assert paths and calls == []  # nothing hashed for the export
    assert json.loads(sidecar_path(paths[0]).read_text())["model"]["hash"] == expected
    # a folder that is not the open model: hashed (the fallback)
    other = tmp_path / "other"
    shutil.copytree(model, other)
    assert window.exports._model_hash(str(other), c.model_info) == expected and calls == [str(other)]


def test_export_takes_the_mlm_hash_from_the_engine_load_not_the_gui_thread(window, qtbot, tmp_path, monkeypatch):
    """The open masked LM's hash comes from the dict ``Engine.load_mlm`` returned in the engine
    worker (kept by the controller with the MLM path): exporting does not hash the MLM folder on
    the GUI thread, and the sidecar records the same ``model_folder_hash``. Another folder is
    still hashed (the fallback)."""
    import shutil

    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    from interp_engine import export, hashing
    from tests.helpers import save_tiny

    model = save_tiny(tmp_path / "model")
    tok = AutoTokenizer.from_pretrained(str(model))
    mlm = tmp_path / "mlm"
    torch.manual_seed(0)
    BertForMaskedLM(BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=32, max_position_embeddings=64)).save_pretrained(mlm)
    tok.save_pretrained(mlm)
    c = window.controller
    with qtbot.waitSignals([c.sigModelLoaded], timeout=30000):
        window.open_model(str(model))
    with qtbot.waitSignal(c.sigMLMLoaded, timeout=30000):
        window.open_mlm(str(mlm))
    expected = hashing.model_folder_hash(mlm)
    assert c.mlm_info["path"] == str(mlm) and c.mlm_info["hash"] == expected
    calls = []
    real = hashing.model_folder_hash

    def counting(path):
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(hashing, "model_folder_hash", counting)
    monkeypatch.setattr(export, "model_folder_hash", counting)
    prov = window.exports.provenance()
    assert prov.mlm_path == str(mlm) and prov.mlm_hash == expected
    window.grid.set_result(saliency(tokens=("a", "good", "bad", "film")))
    paths = window.exports.export_all(str(tmp_path), "s", fmt="svg")
    assert paths and calls == []  # neither the classifier nor the MLM hashed for the export
    meta = json.loads(sidecar_path(paths[0]).read_text())
    assert meta["mlm"] == {"path": str(mlm.resolve()), "hash": expected}
    # a folder that is not the open MLM: hashed here (the fallback); no MLM: no hash
    other = tmp_path / "other_mlm"
    shutil.copytree(mlm, other)
    assert window.exports._mlm_hash(str(other), c.mlm_info) == expected and calls == [str(other)]
    assert window.exports._mlm_hash(None, c.mlm_info) == "" and len(calls) == 1


def test_dialog_says_which_characters_no_font_can_draw(qtbot):
    dlg = ExportDialog(attribution(("the", "\ue000", "film"), (0.1, 2.0, -0.5)), None)
    qtbot.addWidget(dlg)
    dlg.update_preview()
    assert dlg.glyph_warning and "'\\ue000'" in dlg.glyph_warning
    assert dlg.glyph_warning in dlg.info_label.text() and dlg.save_button.isEnabled()
    dlg2 = ExportDialog(attribution(("the", "acting", "was", "superb"), (0.1, 2.0, -0.5, 3.0)), None)
    qtbot.addWidget(dlg2)
    dlg2.update_preview()
    assert dlg2.glyph_warning is None and "⚠" not in dlg2.info_label.text()
