"""Two models side by side in the panels, fed hand-built results (Kim et al. 2020 Fig. 4a): the
heatmap's "Compare models" mode draws one labelled row per model with its own tokens, one colour
scale for WoE and one per row for gradients (and says which), the class-disagreement note; the
dataset list's column per model and its "models disagree" filter (by class name)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from desktop_app.colors import diverging_qcolor
from desktop_app.panels.dataset_list import DatasetListPanel
from desktop_app.panels.model_comparison import ModelComparisonHeatmapPanel
from interp_engine.results import ModelComparison, Prediction
from tests.app.factories import attribution

METHODS = {"grad": "logit gradient", "marginalization": "bits (WoE, log2-odds)"}
CLASS_NOTE = "models disagree on classes: A has {negative, positive}, B has {0, 1, 2}"


def comparison(method="marginalization", shared=True, note=CLASS_NOTE, b_scores=(9.0, 0.4, -0.2, 0.1, 9.0)):
    a = attribution(tokens=("a", "gripping", "film"), scores=(1.0, 3.0, -0.5), method=method, target=1,
                    text="a gripping film")
    b = attribution(tokens=("[CLS]", "a", "grip", "##ping", "[SEP]"), scores=b_scores,
                    special=(True, False, False, False, True), method=method, target=2, text="a gripping film")
    b = replace(b, prediction=Prediction(np.array([0.1, 0.2, 0.7]), 2, ("0", "1", "2")))
    scale = "one colour scale: bits of WoE" if shared else "separate scales: gradient units differ between models"
    return ModelComparison(text="a gripping film", method=method, rows=(a, b), model_names=("cnn", "bert"),
                           model_paths=("/m/cnn", "/m/bert"), model_hashes=("a" * 64, "b" * 64), row_errors=("", ""),
                           shared_scale=shared, scale_note=scale, class_note=note)


def plain(html: str) -> str:
    """Rich text as the words a reader sees (non-breaking spaces and word joiners as spaces / nothing)."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(html)
    return " ".join(doc.toPlainText().replace("\u00a0", " ").replace("\u2060", "").split())


@pytest.fixture
def heatmap(qtbot):
    p = ModelComparisonHeatmapPanel(METHODS)
    qtbot.addWidget(p)
    p.resize(800, 500)
    p.show()
    qtbot.waitExposed(p)
    return p


def test_the_mode_is_offered_once_a_comparison_model_is_open(heatmap, qtbot):
    assert not heatmap.models_check.isVisible() and not heatmap.models_enabled()
    with qtbot.waitSignal(heatmap.sigCompareChanged, timeout=1000):
        heatmap.set_compare_model("bert")
    assert heatmap.models_check.isVisible() and heatmap.models_check.isChecked() and heatmap.models_enabled()
    # "Compare methods" and "Compare models" exclude each other
    heatmap.compare_check.setChecked(True)
    assert not heatmap.models_check.isChecked() and not heatmap.models_enabled()
    heatmap.models_check.setChecked(True)
    assert not heatmap.compare_check.isChecked() and heatmap.models_enabled() and heatmap.method_combo.isEnabled()
    with qtbot.waitSignal(heatmap.sigCompareChanged, timeout=1000):
        heatmap.set_compare_model(None)
    assert not heatmap.models_check.isVisible() and not heatmap.models_enabled()


def test_one_labelled_row_per_model_with_its_own_tokens(heatmap):
    heatmap.set_compare_model("bert")
    res = comparison()
    heatmap.set_model_comparison(res)
    v = heatmap.model_view
    assert heatmap.stack.currentWidget() is heatmap.model_scroll and heatmap.current_result() is res
    assert v.row_count() == 2
    assert v.row_tokens(0) == ("a", "gripping", "film")
    assert v.row_tokens(1) == ("[CLS]", "a", "grip", "##ping", "[SEP]")
    assert v.caption_text(0) == "A · cnn — predicted positive (p = 0.80) · explaining positive"
    assert v.caption_text(1) == "B · bert — predicted 2 (p = 0.70) · explaining 2"
    pred = plain(heatmap.prediction_label.text())
    assert pred == "Predicted — A: positive (p = 0.800) · B: class 2 (p = 0.700) · the models disagree"
    # the class note is visible, not only in a tooltip
    assert heatmap.model_note_label.isVisible() and CLASS_NOTE in heatmap.model_note_label.text()
    # B's row is drawn under A's
    assert v.views[1].geometry().top() > v.views[0].geometry().bottom()


def test_woe_rows_share_one_colour_scale_and_say_so(heatmap):
    heatmap.set_compare_model("bert")
    heatmap.set_model_comparison(comparison(shared=True))
    v = heatmap.model_view
    assert v.row_limit(0) == pytest.approx(3.0) and v.row_limit(1) == pytest.approx(3.0)  # max over both rows
    assert v.views[1].token_color(1) == diverging_qcolor(0.4, 3.0)  # B's 0.4 is pale next to A's 3.0
    assert v.views[0].token_color(1) == diverging_qcolor(3.0, 3.0)
    assert heatmap.colorbar.isVisible()
    assert "one colour scale: bits of WoE" in heatmap.scale_label.text()


def test_gradient_rows_are_each_normalised_and_say_so(heatmap):
    heatmap.set_compare_model("bert")
    heatmap.set_model_comparison(comparison(method="grad", shared=False))
    v = heatmap.model_view
    assert v.row_limit(0) == pytest.approx(3.0) and v.row_limit(1) == pytest.approx(0.4)  # each row its own
    # B's strongest token is as dark as A's strongest: each row spans its own scale
    assert v.views[1].token_color(1) == v.views[0].token_color(1)
    assert not heatmap.colorbar.isVisible()
    assert "separate scales: gradient units differ between models" in heatmap.scale_label.text()
    assert v.caption_text(1).endswith("· scale ±0.4")


def test_a_missing_row_shows_its_reason_and_clicks_on_row_a_reach_the_panel(heatmap, qtbot):
    heatmap.set_compare_model("bert")
    res = comparison()
    res = replace(res, rows=(res.rows[0], None), row_errors=("", "B (bert): the masked LM shares no token"))
    heatmap.set_model_comparison(res)
    v = heatmap.model_view
    assert v.views[1] is None and "the masked LM shares no token" in v.caption_text(1)
    view_a = v.views[0]
    with qtbot.waitSignal(heatmap.sigTokenClicked, timeout=1000) as sig:
        qtbot.mouseClick(view_a, Qt.MouseButton.LeftButton, pos=view_a.token_rect(1).center())
    assert sig.args == [1]


def test_row_b_clicks_do_not_pretend_to_be_model_a_tokens(heatmap, qtbot):
    heatmap.set_compare_model("bert")
    heatmap.set_model_comparison(comparison())
    view_b = heatmap.model_view.views[1]
    seen = []
    heatmap.sigTokenClicked.connect(seen.append)
    qtbot.mouseClick(view_b, Qt.MouseButton.LeftButton, pos=view_b.token_rect(2).center())
    assert seen == []


def test_another_result_replaces_the_rows(heatmap):
    heatmap.set_compare_model("bert")
    heatmap.set_model_comparison(comparison())
    heatmap.set_result(attribution())
    assert heatmap.model_comparison is None and heatmap.model_view.row_count() == 0
    assert not heatmap.model_note_label.isVisible() and heatmap.current_result() is heatmap.result


# -- the dataset list ------------------------------------------------------------------------
TEXTS = [f"sentence {i}" for i in range(6)]
# A: negative/positive; B has other classes in another order, so equal indices are not equal names
A_PRED, A_NAMES = np.array([0, 1, 0, 1, 0, 1]), ("negative", "positive")
B_PRED, B_NAMES = np.array([1, 0, 0, 2, 1, 0]), ("positive", "negative", "neutral")
DISAGREE = [2, 3]  # by name: row 2 negative vs positive, row 3 positive vs neutral


@pytest.fixture
def dataset(qtbot):
    p = DatasetListPanel()
    qtbot.addWidget(p)
    p.resize(420, 300)
    p.show()
    p.set_dataset(TEXTS, np.array([0, 1, 0, 1, 0, 1]), ("negative", "positive"), "d.tsv")
    p.set_predictions(A_PRED, np.full(6, 0.8), A_NAMES)
    return p


def shown_rows(p) -> list[int]:
    return [p.proxy.mapToSource(p.proxy.index(r, 0)).row() for r in range(p.proxy.rowCount())]


def test_a_column_per_model(dataset, qtbot):
    m = dataset.model
    assert m.columnCount() == 4 and not dataset.disagree_check.isVisible()
    dataset.set_compare_predictions(B_PRED, np.linspace(0.5, 1.0, 6), B_NAMES, "bert")
    assert m.columnCount() == 5 and m.PRED2 == 4 and dataset.disagree_check.isVisible()
    assert [m.headerData(c, Qt.Orientation.Horizontal) for c in (m.PRED, m.PRED2)] == ["A pred.", "B pred."]
    assert [m.data(m.index(r, m.PRED2)) for r in range(6)] == ["negative", "positive", "positive", "neutral",
                                                               "negative", "positive"]
    assert m.data(m.index(5, m.PRED2), Qt.ItemDataRole.ToolTipRole) == "B: positive (p = 1.000)"
    hh = dataset.view.horizontalHeader()
    assert hh.sectionSize(m.PRED2) > 20  # visible
    # in a narrow dock the sentence keeps its share: the label columns shrink, B's too
    dataset.resize(260, 300)
    qtbot.waitUntil(lambda: dataset.view.viewport().width() < 260)
    dataset.fit_columns()
    avail = dataset.view.viewport().width()
    assert hh.sectionSize(m.TEXT) >= dataset.MIN_TEXT_FRACTION * avail - 2
    assert sum(hh.sectionSize(c) for c in range(m.columnCount())) <= avail + 2
    dataset.clear_compare_predictions()
    assert m.columnCount() == 4 and m.headerData(m.PRED, Qt.Orientation.Horizontal) == "Pred."
    assert not dataset.disagree_check.isVisible()


def test_the_disagree_filter_keeps_exactly_the_rows_whose_class_names_differ(dataset):
    dataset.set_compare_predictions(B_PRED, np.full(6, 0.9), B_NAMES, "bert")
    assert dataset.model.disagreement_count() == 2
    assert shown_rows(dataset) == list(range(6))
    dataset.disagree_check.setChecked(True)
    assert shown_rows(dataset) == DISAGREE
    assert "models disagree on 2" in dataset.summary_label.text() and "2 shown" in dataset.summary_label.text()
    dataset.filter_edit.setText("sentence 3")  # with the text filter: both apply
    assert shown_rows(dataset) == [3]
    dataset.filter_edit.clear()
    dataset.disagree_check.setChecked(False)
    assert shown_rows(dataset) == list(range(6))
    # a new dataset drops B's column (its predictions are asked for again)
    dataset.disagree_check.setChecked(True)
    dataset.set_dataset(TEXTS[:3], None, (), "other.tsv")
    assert not dataset.disagree_check.isChecked() and dataset.model.columnCount() == 4 and shown_rows(dataset) == [0, 1, 2]


def test_the_export_dialog_previews_a_model_comparison(qtbot, tmp_path):
    from desktop_app.export_dialog import ExportDialog

    dlg = ExportDialog(comparison(), None, default_path=str(tmp_path / "cmp"))
    qtbot.addWidget(dlg)
    formats = [dlg.format_combo.itemData(i) for i in range(dlg.format_combo.count())]
    assert dlg.kind == "heatmap" and "tex" in formats
    dlg.update_preview()
    assert dlg.preview_png.startswith(b"\x89PNG") and dlg.options() == {"title": True}
