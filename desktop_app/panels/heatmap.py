"""The sentence heatmap panel: method and target selectors, the method's settings form, the
prediction, the tokens as coloured boxes that wrap like text (or, in "Compare methods" mode, one
row per method on a shared scale) and the colour bar with the units.

The boxes (:class:`~.token_boxes.TokenHeatmapView`), the colour bar (:mod:`.colorbar`) and the settings
forms (:mod:`.method_settings`) live in their own modules, re-exported here; method names, units and
kinds come from the attribution registry (:mod:`interp_engine.attribution.registry`) when shown.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from interp_engine.attribution import registry
from interp_engine.config import AttributionConfig
from interp_engine.results import short_units  # noqa: F401 - re-exported; one definition with the figures

from .colorbar import ColorBarWidget  # noqa: F401 - re-exported
from .comparison import MethodComparisonView, units_label
from .labels import SCALE_UNIT, WOE_METHODS, class_name, friendly_method_name, info_text, nowrap  # noqa: F401 - re-exported
from .labels import esc as _esc
from .method_settings import LIKELIHOOD_NAMES, NO_MLM_TOOLTIP, NO_PRIOR_TOOLTIP  # noqa: F401 - re-exported
from .method_settings import MarginalizationForm, MethodSettingsForm, editable_fields  # noqa: F401 - re-exported
from .merge_pieces import MergePiecesMixin
from .message_stack import FitScrollArea, PageStack
from .sanity import sanity_button
from .token_boxes import SPAN_COLOR, TokenHeatmapView, pair_rows  # noqa: F401 - re-exported

PREDICTED_TARGET_LABEL = "predicted"


class SentenceHeatmapPanel(MergePiecesMixin, QWidget):
    """Method/target selectors, the method's settings form, the prediction, the token heatmap
    (or, in "Compare methods" mode, one row per method on a shared scale) and its colour bar.

    Args:
        methods: attribution method key → units description (default: every registered method).

    Signals:
        sigTokenClicked(int): a token was clicked.
        sigSpanSelected(int, int): first and last token of a shift-clicked span of 2-3 tokens.
        sigMethodChanged(str): the user chose another method (its key).
        sigTargetChanged(object): the user chose another target (class index, or None for
            the predicted class).
        sigSettingsChanged(): a setting of a method's form changed.
        sigCompareChanged(): compare mode was switched, or its methods changed.
    """

    sigTokenClicked = Signal(int)
    sigSpanSelected = Signal(int, int)
    sigMethodChanged = Signal(str)
    sigTargetChanged = Signal(object)
    sigSettingsChanged = Signal()
    sigCompareChanged = Signal()

    def __init__(self, methods: Mapping[str, str] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._result = None
        self._comparison: tuple = ()
        self._units: dict[str, str] = {}

        self.method_combo = QComboBox()
        self.method_combo.setObjectName("methodCombo")
        self.method_combo.setToolTip("Attribution method")
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("targetCombo")
        self.target_combo.setToolTip("Class whose score is explained")
        self.target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.marginalization_form = MarginalizationForm()
        self.marginalization_form.setObjectName("marginalizationForm")
        #: one settings form per method whose config has user-facing fields
        self.method_forms: dict[str, MethodSettingsForm] = {"marginalization": self.marginalization_form}
        self.compare_check = QCheckBox("Compare methods")
        self.compare_check.setObjectName("compareCheck")
        self.compare_check.setToolTip("Show several methods as rows on one colour scale")
        self.compare_button = QToolButton()
        self.compare_button.setObjectName("compareMethodsButton")
        self.compare_button.setText("Methods ▾")
        self.compare_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.compare_menu = QMenu(self.compare_button)
        self.compare_button.setMenu(self.compare_menu)
        self.compare_button.setEnabled(False)
        self.compare_actions: dict[str, QAction] = {}
        self.status_label = QLabel()
        self.status_label.setObjectName("heatmapStatus")
        self.status_label.setStyleSheet("color: #8a5a00;")

        top = QHBoxLayout()
        top.addWidget(QLabel("Method:"))
        top.addWidget(self.method_combo)
        top.addSpacing(12)
        top.addWidget(QLabel("Target:"))
        top.addWidget(self.target_combo)
        top.addSpacing(12)
        top.addWidget(self.compare_check)
        top.addWidget(self.compare_button)
        top.addStretch(1)
        top.addWidget(self.status_label)
        self.form_row = form_row = QHBoxLayout()
        form_row.addWidget(self.marginalization_form)
        form_row.addStretch(1)

        self.prediction_label = QLabel()
        self.prediction_label.setObjectName("predictionLabel")
        self.prediction_label.setTextFormat(Qt.TextFormat.RichText)
        self.prediction_label.setWordWrap(True)

        self.view = TokenHeatmapView()
        self.view.setObjectName("tokenHeatmap")
        self.scroll = FitScrollArea.around(self.view, horizontal=False)
        self.compare_view = MethodComparisonView()
        self.compare_view.setObjectName("methodComparison")
        self.compare_scroll = FitScrollArea.around(self.compare_view)
        self.stack = PageStack()
        self.stack.addWidget(self.scroll)
        self.stack.addWidget(self.compare_scroll)

        self.truncated_label = QLabel(
            "⚠ This sentence is longer than the model's maximum length: it was truncated, "
            "and only the tokens shown were seen by the model.")
        self.truncated_label.setObjectName("truncatedNote")
        self.truncated_label.setWordWrap(True)
        self.truncated_label.setStyleSheet("color: #a04000;")
        self.truncated_label.hide()

        self.info_label = QLabel()
        self.info_label.setObjectName("infoLabel")
        self.info_label.setTextFormat(Qt.TextFormat.RichText)
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet("color: #444;")

        self.colorbar = ColorBarWidget()
        self.scale_label = QLabel()
        self.scale_label.setObjectName("scaleLabel")
        self.scale_label.setWordWrap(True)
        self.scale_label.setTextFormat(Qt.TextFormat.RichText)
        self.scale_label.setStyleSheet("color: #444;")
        bottom = QHBoxLayout()
        bottom.addWidget(self.colorbar, 0)
        bottom.addWidget(self.scale_label, 1)
        side = QVBoxLayout()  # sanity_button sets self.sanity_button; merge check: merge_pieces.py (not the top row: width)
        side.addWidget(sanity_button(self), 0, Qt.AlignmentFlag.AlignRight)
        self._init_merge_pieces(side)
        side.addStretch(1)
        bottom.addLayout(side, 0)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addLayout(form_row)
        lay.addWidget(self.prediction_label)
        # the tokens take the height they need; the caption and colour bar sit right below them
        lay.addWidget(self.stack)
        lay.addWidget(self.truncated_label)
        lay.addWidget(self.info_label)
        lay.addLayout(bottom)
        lay.addStretch(1)
        self.view.sigContentHeightChanged.connect(lambda _h: self._refit())
        self.stack.currentChanged.connect(lambda _i: self._refit())

        self.view.sigTokenClicked.connect(self.sigTokenClicked)
        self.view.sigSpanSelected.connect(self.sigSpanSelected)
        self.compare_view.sigTokenClicked.connect(lambda i, _m: self.sigTokenClicked.emit(i))
        self.method_combo.currentIndexChanged.connect(self._on_method_changed)
        self.target_combo.currentIndexChanged.connect(self._on_target_changed)
        self.marginalization_form.sigChanged.connect(self.sigSettingsChanged)
        self.compare_check.toggled.connect(self._on_compare_toggled)

        self.set_methods(methods or {k: "" for k in registry.names()})
        self.set_class_names(())
        self._update_form()
        self.clear("Open a model (File → Open Model…, or File → Open Demo) and choose or type a sentence.")

    # -- selectors --------------------------------------------------------------------------
    def set_methods(self, methods: Mapping[str, str]) -> None:
        """Fill the method selector from ``{key: units}`` (keeps the current choice if offered)."""
        current = self.method()
        self._units = dict(methods)
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        for key, units in methods.items():
            self.method_combo.addItem(f"{friendly_method_name(key)}  [{short_units(units)}]" if units
                                      else friendly_method_name(key), key)
            self.method_combo.setItemData(self.method_combo.count() - 1, units, Qt.ItemDataRole.ToolTipRole)
        i = self.method_combo.findData(current)
        if i < 0:  # first fill: gradient x input reads better than the raw gradient's arbitrary sign
            i = self.method_combo.findData(AttributionConfig.gui_method)
        self.method_combo.setCurrentIndex(i if i >= 0 else 0)
        self.method_combo.blockSignals(False)
        checked = self.compare_methods() or [m for m in AttributionConfig.compare if m in methods]
        self.compare_menu.clear()
        self.compare_actions = {}
        for key in methods:
            act = QAction(friendly_method_name(key), self.compare_menu, checkable=True)
            act.setData(key)
            act.setChecked(key in checked)
            act.toggled.connect(self._on_compare_methods_changed)
            self.compare_menu.addAction(act)
            self.compare_actions[key] = act
        for key in methods:
            self._form_for(key)
        self._update_form()

    def set_class_names(self, names: Sequence[str]) -> None:
        """Fill the target selector: "predicted" then one entry per class."""
        current = self.target()
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        self.target_combo.addItem(PREDICTED_TARGET_LABEL, None)
        for i, name in enumerate(names):
            self.target_combo.addItem(class_name(names, i), i)
        idx = self.target_combo.findData(current) if current is not None else 0
        self.target_combo.setCurrentIndex(idx if idx >= 0 else 0)
        self.target_combo.blockSignals(False)

    def method(self) -> str | None:
        """Key of the chosen attribution method."""
        return self.method_combo.currentData() if self.method_combo.count() else None

    def set_method(self, key: str) -> None:
        """Choose method ``key`` programmatically (emits :attr:`sigMethodChanged` if it changes)."""
        i = self.method_combo.findData(key)
        if i >= 0:
            self.method_combo.setCurrentIndex(i)

    def target(self) -> int | None:
        """Chosen target class index, or None for "predicted"."""
        if self.target_combo.count() == 0:
            return None
        data = self.target_combo.currentData()
        return None if data is None else int(data)

    def set_target(self, target: int | None) -> None:
        """Choose ``target`` programmatically (emits :attr:`sigTargetChanged` if it changes)."""
        i = self.target_combo.findData(target) if target is not None else 0
        if i >= 0:
            self.target_combo.setCurrentIndex(i)

    def marginalization_settings(self):
        """The :class:`~interp_engine.config.MarginalizationConfig` of the form."""
        return self.marginalization_form.settings()

    def method_config(self, key: str | None = None):
        """The config of method ``key`` (default: the chosen one) from its settings form, or its
        registry default when it has no form (None for a method without a config class)."""
        key = key or self.method()
        form = self.method_forms.get(key) if key else None
        if form is not None:
            return form.config()
        return registry.default_config(key) if key and registry.is_known(key) else None

    def _form_for(self, key: str):
        """The settings form of ``key``, built from its config class on first use (None: no
        user-facing fields)."""
        if key in self.method_forms:
            return self.method_forms[key]
        cls = registry.config_class(key) if registry.is_known(key) else None
        if not editable_fields(cls):
            return None
        form = MethodSettingsForm(cls)
        form.setObjectName(f"{key}SettingsForm")
        form.sigChanged.connect(self.sigSettingsChanged)
        form.hide()
        self.form_row.insertWidget(self.form_row.count() - 1, form)
        self.method_forms[key] = form
        return form

    def set_mlm_available(self, available: bool, path: str | None = None) -> None:
        """Enable the ``mlm`` likelihood (and choose it) once a masked LM is open."""
        form = self.marginalization_form
        form.set_likelihood_available("mlm", available, NO_MLM_TOOLTIP)
        form.likelihood_combo.setItemData(form.likelihood_combo.findData("mlm"),
                                          f"Masked LM: {path}" if (available and path) else
                                          (None if available else NO_MLM_TOOLTIP), Qt.ItemDataRole.ToolTipRole)
        if available:
            form.set_likelihood("mlm")

    def set_prior_available(self, available: bool, source: str | None = None) -> None:
        """Enable the ``prior`` likelihood (``source``: where its counts come from)."""
        form = self.marginalization_form
        form.set_likelihood_available("prior", available, NO_PRIOR_TOOLTIP)
        if available and source:
            form.likelihood_combo.setItemData(form.likelihood_combo.findData("prior"),
                                              f"Unigram prior counted from {source}", Qt.ItemDataRole.ToolTipRole)

    def compare_enabled(self) -> bool:
        """Whether "Compare methods" is on."""
        return self.compare_check.isChecked()

    def set_compare(self, on: bool, methods: Sequence[str] | None = None) -> None:
        """Switch side-by-side mode (``methods``: the rows to show)."""
        if methods is not None:
            for key, act in self.compare_actions.items():
                act.blockSignals(True)
                act.setChecked(key in methods)
                act.blockSignals(False)
        if self.compare_check.isChecked() != bool(on):
            self.compare_check.setChecked(bool(on))
        elif methods is not None and on:
            self.sigCompareChanged.emit()

    def compare_methods(self) -> list[str]:
        """The methods checked for side-by-side mode, in menu order."""
        return [k for k, a in getattr(self, "compare_actions", {}).items() if a.isChecked()]

    def uses_marginalization(self) -> bool:
        """Whether the shown result(s) depend on the marginalization form."""
        if self.compare_enabled():
            return "marginalization" in self.compare_methods()
        return self.method() == "marginalization"

    def uses_settings(self) -> list[str]:
        """The methods shown whose settings form is on screen."""
        shown = self.compare_methods() if self.compare_enabled() else [self.method()]
        return [k for k in shown if k in self.method_forms and k in self._units]

    def _update_form(self) -> None:
        shown = set(self.uses_settings())
        if self.uses_marginalization():
            shown.add("marginalization")
        for key, form in self.method_forms.items():
            form.setEnabled(key in shown)
            form.setVisible(key in shown)
            form.set_title(f"{registry.short_label(key)}:" if len(shown) > 1 else "")

    def _refit(self) -> None:
        for w in (self.scroll, self.compare_scroll, self.stack):
            w.updateGeometry()

    def _on_method_changed(self, _index: int) -> None:
        self._update_form()
        key = self.method()
        if key is not None and not self.compare_enabled():
            self.sigMethodChanged.emit(key)

    def _on_target_changed(self, _index: int) -> None:
        self.sigTargetChanged.emit(self.target())

    def _on_compare_toggled(self, on: bool) -> None:
        self.compare_button.setEnabled(on)
        self.method_combo.setEnabled(not on)
        self.stack.setCurrentIndex(1 if on else 0)
        self._update_form()
        self.sigCompareChanged.emit()

    def _on_compare_methods_changed(self, _checked: bool = False) -> None:
        self._update_form()
        if self.compare_enabled():
            self.sigCompareChanged.emit()

    # -- results ----------------------------------------------------------------------------
    @property
    def result(self):
        """The TokenAttribution shown, or None."""
        return self._result

    @property
    def comparison(self) -> tuple:
        """The TokenAttributions shown side by side (compare mode), or ()."""
        return self._comparison

    def current_result(self):
        """What the panel shows, for figure export: the TokenAttribution, the tuple of
        TokenAttributions of the side-by-side mode, or None."""
        return self._comparison or self._result

    def _prediction_text(self, a) -> str:
        pred = a.prediction
        names = tuple(pred.class_names)
        probs = np.asarray(pred.probabilities, dtype=float)
        text = (f"Predicted: <b>{_esc(class_name(names, pred.predicted))}</b> (p = {probs[pred.predicted]:.3f})"
                f" &nbsp;·&nbsp; explaining: <b>{_esc(class_name(names, a.target))}</b>")
        if len(probs) <= 6:
            text += " &nbsp;·&nbsp; " + " · ".join(
                nowrap(f"{_esc(class_name(names, i))}: {p:.3f}") for i, p in enumerate(probs))
        return text

    @staticmethod
    def _target_name(a) -> str:
        return class_name(tuple(a.prediction.class_names), a.target)

    def set_result(self, attribution) -> None:
        """Show a :class:`~interp_engine.results.TokenAttribution`."""
        a = attribution
        self._result = a
        self._comparison = ()
        self.stack.setCurrentIndex(0)
        self.status_label.clear()
        self.view.set_tokens(a.tokens, a.scores, a.special, rows=pair_rows(a))  # a pair: two labelled rows
        tname = self._target_name(a)
        self.prediction_label.setText(self._prediction_text(a))
        self.truncated_label.setVisible(bool(a.truncated))
        self.colorbar.set_scale(self.view.vmax)
        self.colorbar.show()
        method = friendly_method_name(a.method)
        self.info_label.setText(self.info_text(a))
        self.scale_label.setText(
            f"<b>{_esc(method)}</b> — {_esc(a.units)}<br>"
            f"<span style='color:#b2182b'>red</span> = evidence for “{_esc(tname)}”, "
            f"<span style='color:#2166ac'>blue</span> = against; " + SCALE_UNIT)

    @staticmethod
    def info_text(a) -> str:
        """The info line of a result: parameters, mean candidates per token, dropped mass, time."""
        return info_text(a)

    def set_comparison(self, results: Sequence) -> None:
        """Show several TokenAttributions of one sentence as rows on one shared scale."""
        results = tuple(results)
        self._comparison = results
        self._result = None
        self.stack.setCurrentIndex(1)
        self.status_label.clear()
        names = [f"{friendly_method_name(r.method)} [{short_units(r.units)}]" for r in results]
        self.compare_view.set_results(results, names)
        self._refit()
        if not results:
            return
        a = results[0]
        tname = self._target_name(a)
        self.prediction_label.setText(self._prediction_text(a))
        self.truncated_label.setVisible(bool(a.truncated))
        self.colorbar.set_scale(self.compare_view.vmax)
        self.colorbar.show()
        secs = sum(r.seconds or 0.0 for r in results)
        self.info_label.setText(" &nbsp;|&nbsp; ".join(
            f"{_esc(friendly_method_name(r.method))}: {self.info_text(r)}" for r in results if self.info_text(r))
            or (f"{secs:.2g} s" if secs else ""))
        self.scale_label.setText(
            f"<b>{len(results)} methods on one scale</b> — {_esc(units_label(results))}<br>"
            f"<span style='color:#b2182b'>red</span> = evidence for “{_esc(tname)}”, "
            f"<span style='color:#2166ac'>blue</span> = against; " + SCALE_UNIT + " over all rows")

    def set_span_info(self, span) -> None:
        """Outline a :class:`~interp_engine.results.SpanAttribution`'s tokens and show its WoE."""
        self.view.set_span(span.positions)
        words = " ".join(span.tokens[i] for i in span.positions)
        extra = self.info_text(self._result) if self._result is not None else ""
        self.info_label.setText(
            f"<span style='color:#783ca0'><b>span “{_esc(words)}”: joint WoE {span.score:+.3f} bits</b></span>"
            + (f" &nbsp;·&nbsp; {extra}" if extra else ""))

    def set_computing(self, message: str = "computing…") -> None:
        """Show that a new result is on its way (the old one stays, faded)."""
        self.status_label.setText(message)
        if self.compare_enabled() and self.compare_view.row_count():
            self.compare_view.set_dimmed(True)
        elif self.view.token_count():
            self.view.set_dimmed(True)
        else:
            self.view.set_placeholder("Computing…")
            self.stack.setCurrentIndex(0)

    def show_message(self, message: str) -> None:
        """Replace the heatmap by ``message`` (an error, a hint)."""
        self.status_label.clear()
        self.clear(message)

    def clear(self, placeholder: str = "") -> None:
        """Remove the result; show ``placeholder`` in its place."""
        self._result = None
        self._comparison = ()
        self.view.clear(placeholder)
        self.compare_view.clear()
        self.stack.setCurrentIndex(0)
        self.prediction_label.setText("")
        self.truncated_label.hide()
        self.info_label.setText("")
        self.colorbar.set_scale(0.0)
        self.colorbar.hide()
        self.scale_label.setText("")

    def set_receptive_field(self, first: int, last: int, color: QColor | str) -> None:
        """Outline tokens ``first..last`` (inclusive) in ``color``."""
        self.view.set_receptive_field(first, last, color)

    def clear_receptive_field(self) -> None:
        self.view.clear_receptive_field()

    def token_rect(self, i: int) -> QRect:
        """Box of token ``i`` in :attr:`view` coordinates."""
        return self.view.token_rect(i)
