"""The sanity-check dock: the model-parameter randomization cascade of the current heatmap
(Adebayo et al. 2018, "Sanity checks for saliency maps", §3.1 and Fig. 2, applied to text).

Small multiples: one heatmap row per randomization step, the trained model first, then the model
with its top layer groups re-initialised one more at a time (classifier head, top encoder layer,
…, word embeddings). Each row is labelled with the layer group re-initialised at that step and its
Spearman ρ with the trained map, and is coloured on its own scale ``±max|score|`` (a randomized
model's scores can be far larger or smaller than the trained one's; the question is whether the
*ranking* survives). Below the rows, the verdict: a map whose ρ with the fully random model's
stays above the threshold fails the check (it depends little on what the model learned).

The panel only shows results (:meth:`set_result`) and emits intent (:attr:`sigRunRequested`);
:class:`desktop_app.controllers.sanity.SanityController` asks the engine for the cascade.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from interp_engine.figures.sanity import cascade_rows

from ..colors import format_score
from .comparison import MethodComparisonView
from .labels import class_name, esc as _esc, friendly_method_name
from .message_stack import FitScrollArea, PageStack
from .token_boxes import pair_rows

#: what the dock says before the first check
START_HINT = ("Explain a sentence, then press “Sanity check” above the heatmap: the model's layers are re-initialised "
              "one group at a time from the top, and the heatmap is computed again after each step.")
#: colours of the verdict
PASS_COLOR, FAIL_COLOR = "#1b7837", "#b2182b"


def rho_text(v: float) -> str:
    """``"ρ = +0.31"``, or ``"ρ undefined"`` (fewer than two word tokens, or a constant map)."""
    return "ρ undefined" if not math.isfinite(v) else f"ρ = {v:+.2f}"


class CascadeView(MethodComparisonView):
    """Rows = randomization steps, columns = tokens, each row on its own symmetric scale (the rows
    are :func:`~interp_engine.figures.sanity.cascade_rows`: scores divided by the row's max|score|,
    so the shared ±1 scale of the comparison view is a per-row scale). Tooltips give the raw score,
    ρ, ρ of |scores| and p(target) of the step's model.

    Signals:
        sigTokenClicked(int, str): inherited; ``(token index, method)``.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._cascade = None

    @property
    def cascade(self):
        """The :class:`~interp_engine.results.SanityCascade` shown, or None."""
        return self._cascade

    def set_cascade(self, result) -> None:
        rows, names = cascade_rows(result)
        self._cascade = result
        self.set_results(rows, names)

    def clear(self) -> None:
        self._cascade = None
        super().clear()

    def tooltip_text(self, row: int, col: int) -> str:
        c = self._cascade
        if c is None:
            return super().tooltip_text(row, col)
        seg = next((f" of the {n}" for n, pos in pair_rows(c) or () if col in pos), "")
        what = "the trained model" if row == 0 else f"{c.steps[row]} and every layer above it re-initialised"
        tname = class_name(tuple(c.prediction.class_names), c.target)
        return (f"{c.step_label(row)}: {what}\n“{c.tokens[col]}”  token {col}{seg}\n"
                f"score {format_score(float(c.scores[row, col]))} {c.units}\n"
                f"{rho_text(float(c.spearman[row]))} with the trained map; of |scores|: "
                f"{rho_text(float(c.spearman_abs[row]))}\np({tname}) = {float(c.p_target[row]):.3f}")


class SanityCascadePanel(QWidget):
    """The randomization cascade of one heatmap: header, small multiples, verdict.

    Signals:
        sigRunRequested(): the user asked to check the heatmap shown now ("Check this heatmap").
    """

    sigRunRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._result = None
        self.header_label = QLabel()
        self.header_label.setObjectName("sanityHeader")
        self.header_label.setTextFormat(Qt.TextFormat.RichText)
        self.header_label.setWordWrap(True)
        self.status_label = QLabel()
        self.status_label.setObjectName("sanityStatus")
        self.status_label.setStyleSheet("color: #8a5a00;")
        self.run_button = QPushButton("Check this heatmap")
        self.run_button.setObjectName("sanityRunButton")
        self.run_button.setToolTip("Re-initialise the model's layers from the top, one group at a time, and "
                                   "compute the heatmap's method again after each step (Adebayo et al. 2018)")
        self.run_button.clicked.connect(self.sigRunRequested)
        top = QHBoxLayout()
        top.addWidget(self.header_label, 1)
        top.addWidget(self.status_label)
        top.addWidget(self.run_button)

        self.view = CascadeView()
        self.view.setObjectName("sanityCascadeView")
        self.scroll = FitScrollArea.around(self.view)
        self.message_label = QLabel()
        self.message_label.setObjectName("sanityMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setStyleSheet("color: #555;")
        self.stack = PageStack()
        self.stack.addWidget(self.message_label)
        self.stack.addWidget(self.scroll)

        self.verdict_label = QLabel()
        self.verdict_label.setObjectName("sanityVerdict")
        self.verdict_label.setTextFormat(Qt.TextFormat.RichText)
        self.verdict_label.setWordWrap(True)
        self.note_label = QLabel(
            "Each row has its own colour scale (±max|score| of the row). ρ: Spearman rank correlation with the "
            "trained map over the word tokens.")
        self.note_label.setObjectName("sanityNote")
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: #666;")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.stack)
        lay.addWidget(self.verdict_label)
        lay.addWidget(self.note_label)
        lay.addStretch(1)
        self.show_message(START_HINT)

    # -- results ----------------------------------------------------------------------------
    def current_result(self):
        """The :class:`~interp_engine.results.SanityCascade` on screen (for figure export), or None."""
        return self._result

    def set_result(self, result) -> None:
        """Show a :class:`~interp_engine.results.SanityCascade`."""
        self._result = result
        self.status_label.clear()
        self.view.set_cascade(result)
        self.view.set_dimmed(False)
        self.stack.setCurrentWidget(self.scroll)
        names = tuple(result.prediction.class_names)
        self.header_label.setText(
            f"<b>{_esc(friendly_method_name(result.method))}</b> · explaining "
            f"<b>{_esc(class_name(names, result.target))}</b> at every step · {len(result.steps) - 1} layer groups, "
            f"re-initialised from the top (seed {int(result.seed)})")
        self.verdict_label.setText(self.verdict_text(result))
        self.note_label.show()

    @staticmethod
    def verdict_text(result) -> str:
        """The verdict line: ρ with the fully random model's map and whether the map passes."""
        full = result.spearman_full_random
        passes = result.passes
        rho = rho_text(full)
        if passes is None:
            return (f"Fully randomized model: {_esc(rho)}: this map has no ranking to compare (fewer than two "
                    "word tokens, or a constant map).")
        if passes:
            return (f"<span style='color:{PASS_COLOR}'><b>Passes</b></span> on this sentence: with every layer "
                    f"re-initialised, {_esc(rho)} (≤ {result.threshold:g}); the map changes when what the model "
                    "learned is destroyed.")
        return (f"<span style='color:{FAIL_COLOR}'><b>Fails</b></span> on this sentence: with every layer "
                f"re-initialised, {_esc(rho)} (> {result.threshold:g}); the map barely depends on the learned "
                "parameters (it may describe the input rather than the model).")

    def set_computing(self, message: str = "computing…") -> None:
        """A new cascade is on its way: the old rows stay, faded."""
        self.status_label.setText(message)
        if self._result is not None:
            self.view.set_dimmed(True)
        else:
            self.message_label.setText("Re-initialising the model layer by layer and explaining again…")
            self.stack.setCurrentWidget(self.message_label)

    def show_message(self, message: str) -> None:
        """Replace the cascade by ``message`` (the result is dropped)."""
        self._result = None
        self.view.clear()
        self.status_label.clear()
        self.header_label.setText("<b>Sanity check</b>: model-parameter randomization (Adebayo et al. 2018)")
        self.verdict_label.setText("")
        self.note_label.hide()
        self.message_label.setText(message)
        self.stack.setCurrentWidget(self.message_label)

    def row_labels(self) -> list[str]:
        """The labels of the rows shown (tests, screen readers)."""
        return list(self.view._names)

    def row_limits(self) -> np.ndarray:
        """Each row's colour-scale half-width in the method's units (its max|score| over word tokens)."""
        r = self._result
        if r is None:
            return np.zeros(0)
        words = ~np.asarray(r.special, bool)
        return np.array([float(np.nanmax(np.abs(row[words]))) if words.any() else 0.0 for row in r.scores])


__all__ = ["CascadeView", "SanityCascadePanel", "START_HINT", "rho_text"]


def sanity_button(heatmap) -> "QToolButton":
    """The heatmap's "Sanity check" button, also set as ``heatmap.sanity_button``: the panel only
    shows it; :class:`~desktop_app.controllers.sanity.SanityController` connects its ``clicked``
    (the user's intent) to the check."""
    from PySide6.QtWidgets import QToolButton

    b = QToolButton(heatmap)
    b.setObjectName("sanityCheckButton")
    b.setText("Sanity check")
    b.setToolTip("Sanity check this heatmap: re-initialise the model's layers from the top, one group at a time, "
                 "and see whether the map changes (model-parameter randomization, Adebayo et al. 2018)")
    heatmap.sanity_button = b
    return b
