"""Two models on one sentence (Kim et al. 2020 Fig. 4a, "LSTM vs BERT"): one heatmap row per
model, each with its own tokens, labelled with the model's name and its prediction.

The rows come from a :class:`~interp_engine.results.ModelComparison`. Each row is a
:class:`~.token_boxes.TokenHeatmapView` (boxes that wrap like text, a pair's premise and
hypothesis as labelled lines) under a caption "A · cnn — predicted positive (p = 0.93) ·
explaining positive". The colour scale follows the result (one rule, in the attribution registry:
:func:`interp_engine.attribution.registry.shares_scale_across_models`): WoE rows share one
``±max|score|`` over both rows; gradient-type rows are each normalised to their own ``±max|score|``
(the caption then gives the row's scale). :class:`ModelComparisonHeatmapPanel` (the main window's
heatmap) adds the "Compare models" mode to the sentence heatmap: the checkbox, this view as a page,
the notes (scale, class disagreement, the masked LM's vocabulary) and the colour bar.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from interp_engine.figures.compare import row_caption
from interp_engine.results import ModelComparison

from .heatmap import SentenceHeatmapPanel
from .labels import class_name, esc, nowrap
from .token_boxes import TokenHeatmapView, pair_rows


class ModelRowView(TokenHeatmapView):
    """One model's row: a :class:`TokenHeatmapView` whose colour scale is set from outside (the
    comparison's shared or own scale, :meth:`ModelComparison.limits`), with smaller margins (the
    caption above it names the model)."""

    MARGIN = 5

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """Exactly the boxes' height (the base view asks for at least 40 px, which would make the
        rows' scroll area scroll a few pixels)."""
        return QSize(600, max(self.content_height(), 1))

    def set_row(self, result, vmax: float) -> None:
        """Show ``result`` (a TokenAttribution) coloured on ``±vmax``."""
        self.set_tokens(result.tokens, result.scores, result.special, rows=pair_rows(result))
        self._vmax = float(vmax)
        self.update()


class ModelComparisonView(QWidget):
    """The rows of a :class:`~interp_engine.results.ModelComparison`, one per model.

    Signals:
        sigTokenClicked(int, int): ``(row, token index)`` of a clicked token (row 0 = model A, whose
            indices are the ones the saliency grid and the candidate table use).
        sigContentHeightChanged(int): the height the rows need changed.
    """

    sigTokenClicked = Signal(int, int)
    sigContentHeightChanged = Signal(int)

    SPACING = 4

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(4, 4, 4, 4)
        self._lay.setSpacing(self.SPACING)
        self._result: ModelComparison | None = None
        self.captions: list[QLabel] = []
        self.views: list[ModelRowView | None] = []

    @property
    def result(self) -> ModelComparison | None:
        return self._result

    def row_count(self) -> int:
        return len(self.views)

    def set_result(self, result: ModelComparison) -> None:
        """Show ``result``'s rows (a missing row: its caption and its error)."""
        self._clear_rows()
        self._result = result
        limits = result.limits()
        for i, row in enumerate(result.rows):
            cap = QLabel()
            cap.setObjectName(f"modelRowCaption{i}")
            cap.setTextFormat(Qt.TextFormat.RichText)
            cap.setWordWrap(True)
            text = esc(row_caption(result, i))
            head = esc(result.label(i))
            text = text.replace(head, f"<b>{head}</b>", 1)
            cap.setText(text if row is not None else f"<span style='color:#a04000'>{text}</span>")
            self._lay.addWidget(cap)
            self.captions.append(cap)
            if row is None:
                self.views.append(None)
                continue
            view = ModelRowView()
            view.setObjectName(f"modelRow{i}")
            view.set_row(row, limits[i])
            view.sigTokenClicked.connect(lambda k, i=i: self.sigTokenClicked.emit(i, k))
            view.sigContentHeightChanged.connect(lambda _h: self._changed())
            self._lay.addWidget(view)
            self.views.append(view)
        self._changed()

    def clear(self) -> None:
        self._clear_rows()
        self._result = None
        self._changed()

    def _clear_rows(self) -> None:
        for w in [*self.captions, *(v for v in self.views if v is not None)]:
            self._lay.removeWidget(w)
            w.hide()
            w.deleteLater()
        self.captions, self.views = [], []

    def set_dimmed(self, dimmed: bool) -> None:
        for v in self.views:
            if v is not None:
                v.set_dimmed(dimmed)

    def row_tokens(self, i: int) -> tuple[str, ...]:
        """The tokens drawn in row ``i`` (() for a missing row)."""
        v = self.views[i]
        return v.tokens if v is not None else ()

    def row_limit(self, i: int) -> float:
        """Half-width of row ``i``'s colour scale (0.0 for a missing row)."""
        v = self.views[i]
        return v.vmax if v is not None else 0.0

    def caption_text(self, i: int) -> str:
        """Row ``i``'s caption as plain text."""
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self.captions[i].text())
        return doc.toPlainText()

    def content_height(self) -> int:
        """Height (px) the captions and rows need at the current width."""
        m = self._lay.contentsMargins()
        w = max(self.width() - m.left() - m.right(), 100)
        h = m.top() + m.bottom()
        items = [*self.captions, *(v for v in self.views if v is not None)]
        for cap in self.captions:
            h += cap.heightForWidth(w) if cap.hasHeightForWidth() else cap.sizeHint().height()
        for v in self.views:
            if v is not None:
                h += v.content_height()
        h += self.SPACING * max(len(items) - 1, 0)
        return max(h, 40)

    def _changed(self) -> None:
        self.updateGeometry()
        self.sigContentHeightChanged.emit(self.content_height())


MODELS_CHECK_TIP = ("Show one row per model for this sentence and method (Kim et al. 2020 Fig. 4a); "
                    "File → Close Comparison Model removes the second model")
#: colour of the notes under the prediction (class disagreement, a target name one model lacks)
NOTE_COLOR = "#8a5a00"


class ModelComparisonHeatmapPanel(SentenceHeatmapPanel):
    """The sentence heatmap with a "Compare models" mode (the main window's heatmap): a
    checkbox shown once a comparison model is open (:meth:`set_compare_model`), a page with the
    :class:`ModelComparisonView` (:meth:`set_model_comparison`) and a visible note line (class
    disagreement, a target name one model lacks, the masked LM's vocabulary).

    The mode and "Compare methods" exclude each other; both report through
    ``sigCompareChanged`` (the controller explains the sentence again). Anything else the panel
    shows (one attribution, several methods, a message) replaces the model rows.

    Args: as :class:`~.heatmap.SentenceHeatmapPanel`.
    """

    #: the stack page of the model rows (set when the page is added)
    MODELS_PAGE = -1

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_model_rows()

    def _init_model_rows(self) -> None:
        from PySide6.QtWidgets import QCheckBox

        from .message_stack import FitScrollArea

        lay = self.layout()
        top = next(lay.itemAt(i).layout() for i in range(lay.count())
                   if lay.itemAt(i).layout() is not None and lay.itemAt(i).layout().indexOf(self.compare_button) >= 0)
        self._model_comparison: ModelComparison | None = None
        self._compare_model_name: str | None = None
        self.models_check = QCheckBox("Compare models")
        self.models_check.setObjectName("compareModelsCheck")
        self.models_check.setToolTip(MODELS_CHECK_TIP)
        self.models_check.hide()
        top.insertWidget(top.indexOf(self.compare_button) + 1, self.models_check)
        self.model_view = ModelComparisonView()
        self.model_view.setObjectName("modelComparison")
        self.model_scroll = FitScrollArea.around(self.model_view, horizontal=False)
        self.MODELS_PAGE = self.stack.addWidget(self.model_scroll)
        self.model_note_label = QLabel()
        self.model_note_label.setObjectName("modelComparisonNote")
        self.model_note_label.setWordWrap(True)
        self.model_note_label.setTextFormat(Qt.TextFormat.RichText)
        self.model_note_label.setStyleSheet(f"color: {NOTE_COLOR};")
        self.model_note_label.hide()
        lay.insertWidget(lay.indexOf(self.prediction_label) + 1, self.model_note_label)
        self.model_view.sigContentHeightChanged.connect(lambda _h: (self.model_scroll.updateGeometry(), self._refit()))
        self.model_view.sigTokenClicked.connect(self._on_model_token_clicked)
        self.models_check.toggled.connect(self._on_models_toggled)
        self.compare_check.toggled.connect(self._on_methods_toggled_for_models)

    # -- the mode ---------------------------------------------------------------------------
    def set_compare_model(self, name: str | None) -> None:
        """A comparison model named ``name`` was opened (the mode is offered and switched on), or
        closed (None: the mode is switched off and hidden). Emits ``sigCompareChanged`` when the
        mode changes."""
        self._compare_model_name = name
        self.models_check.setVisible(name is not None)
        if name is not None:
            self.models_check.setToolTip(f"{MODELS_CHECK_TIP}\nB: {name}")
            if self.models_check.isChecked():
                self.sigCompareChanged.emit()  # another model B: explain again
            else:
                self.models_check.setChecked(True)
        elif self.models_check.isChecked():
            self.models_check.setChecked(False)

    def models_enabled(self) -> bool:
        """Whether the panel shows one row per model (a comparison model is open, "Compare
        models" is on and "Compare methods" is off)."""
        return (self._compare_model_name is not None and self.models_check.isChecked()
                and not self.compare_check.isChecked())

    @property
    def model_comparison(self) -> ModelComparison | None:
        """The :class:`~interp_engine.results.ModelComparison` shown, or None."""
        return self._model_comparison

    def _on_models_toggled(self, on: bool) -> None:
        if on and self.compare_check.isChecked():
            self.compare_check.blockSignals(True)
            self.compare_check.setChecked(False)
            self.compare_check.blockSignals(False)
            self.compare_button.setEnabled(False)
            self.method_combo.setEnabled(True)
        self.stack.setCurrentIndex(self.MODELS_PAGE if on and self._model_comparison is not None else 0)
        self._update_form()
        self.sigCompareChanged.emit()

    def _on_methods_toggled_for_models(self, on: bool) -> None:
        if on and self.models_check.isChecked():
            self.models_check.blockSignals(True)
            self.models_check.setChecked(False)
            self.models_check.blockSignals(False)

    def _on_model_token_clicked(self, row: int, index: int) -> None:
        if row == 0:  # model A's tokens are the ones the grid and the candidate table explain
            self.sigTokenClicked.emit(index)

    # -- results ----------------------------------------------------------------------------
    def set_model_comparison(self, result: ModelComparison) -> None:
        """Show a :class:`~interp_engine.results.ModelComparison`: one row per model, the
        predictions, the notes (classes, target names, masked LM) and the colour scale."""
        from interp_engine.attribution import registry

        self._result = None
        self._comparison = ()
        self._model_comparison = result
        self.status_label.clear()
        self.model_view.set_result(result)
        self.stack.setCurrentIndex(self.MODELS_PAGE)
        preds = []
        for i, r in enumerate(result.rows):
            letter = result.label(i).split(" · ")[0]
            if r is None:
                preds.append(f"{letter}: —")
                continue
            p = r.prediction
            preds.append(f"{letter}: <b>{nowrap(esc(class_name(tuple(p.class_names), p.predicted)))}</b> "
                         + nowrap(f"(p = {float(p.probabilities[p.predicted]):.3f})"))
        names = [n for n in result.predicted_names() if n]
        disagree = len(set(names)) > 1
        self.prediction_label.setText("Predicted — " + " &nbsp;·&nbsp; ".join(preds) + (
            f" &nbsp;·&nbsp; <span style='color:{NOTE_COLOR}'><b>the models disagree</b></span>" if disagree else ""))
        notes = [n for n in (result.class_note, *result.notes) if n]
        self.model_note_label.setText("<br>".join(f"⚠ {esc(n)}" for n in notes))
        self.model_note_label.setVisible(bool(notes))
        self.truncated_label.setVisible(any(r is not None and r.truncated for r in result.rows))
        self.info_label.setText(" &nbsp;|&nbsp; ".join(
            f"{esc(result.label(i).split(' · ')[0])}: {self.info_text(r)}" for i, r in enumerate(result.rows)
            if r is not None and self.info_text(r)))
        method = registry.label(result.method) if registry.is_known(result.method) else result.method
        limits = result.limits()
        if result.shared_scale:
            self.colorbar.set_scale(max(limits, default=0.0))
            self.colorbar.show()
            scale = f"{esc(result.scale_note)} ({esc(result.units)})"
        else:
            self.colorbar.hide()
            scale = (f"{esc(result.scale_note)}: each row is coloured on its own ±max|score| (in its "
                     "caption); compare where each model puts its evidence, not the sizes")
        self.scale_label.setText(
            f"<b>{esc(method)}</b> — {scale}<br><span style='color:#b2182b'>red</span> = evidence for the class "
            "each row explains, <span style='color:#2166ac'>blue</span> = against")
        self._refit()

    def _clear_model_rows(self) -> None:
        """Forget the model comparison shown (the panel shows something else)."""
        if not hasattr(self, "model_view"):  # the panel's constructor clears before the mode exists
            return
        self._model_comparison = None
        self.model_view.clear()
        self.model_note_label.hide()

    # -- what the panel shows otherwise replaces the rows -----------------------------------------
    def set_result(self, attribution) -> None:
        self._clear_model_rows()
        super().set_result(attribution)

    def set_comparison(self, results) -> None:
        self._clear_model_rows()
        super().set_comparison(results)

    def clear(self, placeholder: str = "") -> None:
        self._clear_model_rows()
        super().clear(placeholder)

    def set_computing(self, message: str = "computing…") -> None:
        """As the panel's; in "Compare models" mode the rows shown fade until the new ones come."""
        if self.models_enabled() and self.model_view.row_count():
            self.status_label.setText(message)
            self.model_view.set_dimmed(True)
            return
        super().set_computing(message)

    def current_result(self):
        """The ModelComparison of "Compare models", else what the panel shows (for export)."""
        return self._model_comparison or super().current_result()


__all__ = ["ModelComparisonHeatmapPanel", "ModelComparisonView", "ModelRowView"]
