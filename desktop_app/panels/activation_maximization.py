"""The activation-maximization dock (Lopes ``002_…`` §3.1-3.2, Fig. 3-4): for one unit, a class
logit or a hidden unit (grid row, channel), the words nearest to the optimised single-word input
x* beside the corpus search's top-k single words, with the words both lists share highlighted and
counted ("overlap 3 / 10"), and the objective during gradient ascent as a small plot.

The panel only shows results (:meth:`ActivationMaximizationPanel.set_result`) and emits intent
(:attr:`~ActivationMaximizationPanel.sigRunRequested`);
:class:`desktop_app.controllers.activation_maximization.ActivationMaximizationController` asks the
engine (an :class:`~interp_engine.requests.ActivationMaximizationRequest`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from interp_engine.config import ActivationMaximizationConfig
from interp_engine.figures.activation import overlap_text
from interp_engine.figures.palette import CURVE_COLORS

from .dock_pages import NarrowHint, message_stack, white_plot
from .labels import esc as _esc

#: what the dock says before the first run
START_HINT = ("Choose a class or a hidden unit and press Run: gradient ascent finds the single-word input x* that "
              "maximizes it (Lopes §3.1), and its nearest words are listed beside the words that, fed alone, "
              "activate the unit most (corpus search, §3.2).")
NO_MODEL = "Open a model first (File → Open Model…, or File → Open Demo)."
#: background of a word found by both methods (the figure's overlap colour, light)
OVERLAP_HEX = CURVE_COLORS["paper"][2]
OVERLAP_BACKGROUND = QColor.fromRgbF(*(0.25 * c + 0.75 for c in QColor(OVERLAP_HEX).getRgbF()[:3]))
#: the objective's plot's height under the word lists (a narrow dock)
TRACE_HEIGHT = 110
#: the two kinds of unit, as the combo lists them
UNIT_KINDS = (("class", "Class logit"), ("hidden", "Hidden unit"))


def _word_table(name: str, value_header: str) -> QTableWidget:
    t = QTableWidget(0, 2)
    t.setObjectName(name)
    t.setHorizontalHeaderLabels(["Word", value_header])
    t.verticalHeader().setVisible(True)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    t.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
    t.verticalHeader().setDefaultSectionSize(20)
    t.setMinimumSize(110, 120)
    return t


class ActivationMaximizationPanel(NarrowHint, QWidget):
    """Unit chooser and Run, the two word lists side by side, the overlap, the objective trace.

    Signals:
        sigRunRequested(tuple, object): ``(unit, ActivationMaximizationConfig)``: the user pressed
            Run; ``unit`` is ``("class", c)`` or ``("hidden", row, channel)``.
    """

    sigRunRequested = Signal(tuple, object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._result = None
        defaults = ActivationMaximizationConfig()

        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("amKindCombo")
        for key, label in UNIT_KINDS:
            self.kind_combo.addItem(label, key)
        self.kind_combo.setToolTip("Maximize a class logit, or one channel of a hidden layer (a grid row)")
        self.class_combo = QComboBox()
        self.class_combo.setObjectName("amClassCombo")
        self.layer_combo = QComboBox()
        self.layer_combo.setObjectName("amLayerCombo")
        for c in (self.class_combo, self.layer_combo):  # class and layer names are never cut
            c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer_combo.setToolTip("The hidden layer: a row of the saliency grid")
        self.channel_spin = QSpinBox()
        self.channel_spin.setObjectName("amChannelSpin")
        self.channel_spin.setRange(0, 1_000_000)
        self.channel_spin.setPrefix("channel ")
        self.channel_spin.setToolTip("The channel (unit) of the layer whose activation at the word is maximized")
        self.k_spin = QSpinBox()
        self.k_spin.setObjectName("amKSpin")
        self.k_spin.setRange(1, 100)
        self.k_spin.setValue(defaults.k)
        self.k_spin.setPrefix("top ")
        self.k_spin.setToolTip("Words listed by each method")
        self.steps_spin = QSpinBox()
        self.steps_spin.setObjectName("amStepsSpin")
        self.steps_spin.setRange(1, 100_000)
        self.steps_spin.setValue(defaults.steps)
        self.steps_spin.setSuffix(" steps")
        self.steps_spin.setToolTip("Adam steps of the gradient ascent on the input embedding")
        self.seed_spin = QSpinBox()
        self.seed_spin.setObjectName("amSeedSpin")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setValue(defaults.seed)
        self.seed_spin.setPrefix("seed ")
        self.seed_spin.setToolTip("Seed of x*'s random (Xavier) start")
        self._lr, self._l2 = defaults.lr, defaults.l2
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("amRunButton")
        self.run_button.setToolTip("Optimise the single-word input for this unit and search the vocabulary")
        self.run_button.clicked.connect(self._emit_run)
        self.kind_combo.currentIndexChanged.connect(self._update_unit_widgets)

        top = QHBoxLayout()  # two short rows: the dock stays narrow enough to share the bottom row
        top.addWidget(QLabel("Unit:"))
        for w in (self.kind_combo, self.class_combo, self.layer_combo, self.channel_spin):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.run_button)
        settings = QHBoxLayout()
        for w in (self.k_spin, self.steps_spin, self.seed_spin):
            settings.addWidget(w)
        settings.addStretch(1)

        self.header_label = QLabel()
        self.header_label.setObjectName("amHeader")
        self.header_label.setTextFormat(Qt.TextFormat.RichText)
        self.header_label.setWordWrap(True)
        self.status_label = QLabel()
        self.status_label.setObjectName("amStatus")
        self.status_label.setStyleSheet("color: #8a5a00;")
        head = QHBoxLayout()
        head.addWidget(self.header_label, 1)
        head.addWidget(self.status_label)

        self.am_table = _word_table("amWordsTable", "cosine")
        self.corpus_table = _word_table("amCorpusTable", "activation")
        self.am_title = QLabel("<b>Optimised input x*</b>: nearest words (cosine)")
        self.corpus_title = QLabel("<b>Corpus search</b>: top single words (activation)")
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(self.am_title)
        left.addWidget(self.am_table, 1)
        right.addWidget(self.corpus_title)
        right.addWidget(self.corpus_table, 1)
        lists = QHBoxLayout()
        lists.addLayout(left, 1)
        lists.addLayout(right, 1)
        #: the lists beside the objective's plot in a wide dock, above it in a narrow one
        self.body = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.body.addLayout(lists, 2)
        trace_box = QVBoxLayout()
        self.trace_title = QLabel("<b>Objective</b> during gradient ascent")
        trace_box.addWidget(self.trace_title)
        for title in (self.am_title, self.corpus_title, self.trace_title):
            title.setWordWrap(True)  # wraps in a narrow dock instead of widening it

        self.trace_plot = white_plot("amTracePlot", bottom="gradient-ascent step", left="unit value")
        self.trace_plot.setMinimumSize(120, 90)
        self.trace_plot.setMaximumHeight(TRACE_HEIGHT)  # narrow at first (see resizeEvent)
        self.trace_curve = self.trace_plot.plot([], [], pen=pg.mkPen(CURVE_COLORS["paper"][1], width=2))

        results = QWidget()
        rl = QVBoxLayout(results)
        rl.setContentsMargins(0, 0, 0, 0)
        trace_box.addWidget(self.trace_plot, 1)
        self.body.addLayout(trace_box, 1)
        rl.addLayout(self.body, 1)
        self.results_widget = results
        self.message_label, self.stack = message_stack("amMessage", results)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addLayout(settings)
        lay.addLayout(head)
        lay.addWidget(self.stack, 1)
        self.set_model(None)

    #: from this width on the objective's plot sits beside the word lists
    SIDE_BY_SIDE_WIDTH = 760

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        wide = self.width() >= self.SIDE_BY_SIDE_WIDTH
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.body.direction() != direction:
            self.body.setDirection(direction)
            # under the lists the plot stays small: the ten words of each list come first
            self.trace_plot.setMaximumHeight(16777215 if wide else TRACE_HEIGHT)

    # -- the unit ---------------------------------------------------------------------------
    def set_model(self, info) -> None:
        """Offer the classes and grid rows of ``info`` (a ModelInfo; None: no model open)."""
        self.class_combo.clear()
        self.layer_combo.clear()
        if info is not None:
            for i, name in enumerate(getattr(info, "class_names", ())):
                self.class_combo.addItem(f"{i}: {name}", i)
            for i, name in enumerate(getattr(info, "layer_names", ()) or ()):
                self.layer_combo.addItem(f"{i}: {name}", i)
            if self.class_combo.count() > 1:
                self.class_combo.setCurrentIndex(1)
        self.run_button.setEnabled(info is not None)
        self.show_message(START_HINT if info is not None else NO_MODEL)
        self._update_unit_widgets()

    def set_unit(self, unit: Sequence) -> None:
        """Choose ``("class", c)`` or ``("hidden", row, channel)`` in the form."""
        kind = str(unit[0])
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(kind)))
        if kind == "class":
            self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(int(unit[1]))))
        else:
            self.layer_combo.setCurrentIndex(max(0, self.layer_combo.findData(int(unit[1]))))
            self.channel_spin.setValue(int(unit[2]))

    def unit(self) -> tuple:
        """The unit chosen in the form."""
        if self.kind_combo.currentData() == "class":
            return ("class", int(self.class_combo.currentData() or 0))
        return ("hidden", int(self.layer_combo.currentData() or 0), int(self.channel_spin.value()))

    def config(self) -> ActivationMaximizationConfig:
        """The form's :class:`~interp_engine.config.ActivationMaximizationConfig` (lr and l2: the defaults)."""
        return ActivationMaximizationConfig(k=self.k_spin.value(), steps=self.steps_spin.value(), lr=self._lr,
                                            l2=self._l2, seed=self.seed_spin.value())

    def _update_unit_widgets(self, *_):
        hidden = self.kind_combo.currentData() == "hidden"
        self.class_combo.setVisible(not hidden)
        self.layer_combo.setVisible(hidden)
        self.channel_spin.setVisible(hidden)

    def _emit_run(self) -> None:
        self.sigRunRequested.emit(self.unit(), self.config())

    # -- results ----------------------------------------------------------------------------
    def current_result(self):
        """The :class:`~interp_engine.results.ActivationMaximization` shown (figure export), or None."""
        return self._result

    def set_result(self, result) -> None:
        """Show an :class:`~interp_engine.results.ActivationMaximization`."""
        self._result = result
        self.status_label.clear()
        both = set(result.overlap)
        self._fill(self.am_table, result.am_words, result.am_similarities, both, "{:.3f}")
        self._fill(self.corpus_table, result.corpus_words, result.corpus_activations, both, "{:.4g}")
        self.header_label.setText(
            f"<b>{_esc(result.unit)}</b> · x* reaches {float(result.am_activation):.4g} · "
            f"<span style='color:{OVERLAP_HEX}'><b>{_esc(overlap_text(result))}</b></span>"
            + (f": {_esc(', '.join(result.overlap))}" if result.overlap else ""))
        trace = np.asarray(result.objective_trace, dtype=float)
        self.trace_curve.setData(np.arange(1, len(trace) + 1), trace)
        self.trace_plot.enableAutoRange()
        self.stack.setCurrentWidget(self.results_widget)

    @staticmethod
    def _fill(table: QTableWidget, words, values, both: set, fmt: str) -> None:
        table.setRowCount(len(words))
        bold = QFont()
        bold.setBold(True)
        for i, (w, v) in enumerate(zip(words, np.asarray(values, dtype=float))):
            items = (QTableWidgetItem(str(w)), QTableWidgetItem(fmt.format(float(v))))
            items[1].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for col, it in enumerate(items):
                if w in both:
                    it.setBackground(QBrush(OVERLAP_BACKGROUND))
                    it.setFont(bold)
                    it.setToolTip("found by both activation maximization and corpus search")
                table.setItem(i, col, it)

    def overlap_rows(self, which: str = "am") -> list[int]:
        """Rows of a list (``"am"`` or ``"corpus"``) highlighted as overlap (tests, screen readers)."""
        table = self.am_table if which == "am" else self.corpus_table
        return [i for i in range(table.rowCount()) if table.item(i, 0).font().bold()]

    def words(self, which: str = "am") -> list[str]:
        """The words of a list as shown."""
        table = self.am_table if which == "am" else self.corpus_table
        return [table.item(i, 0).text() for i in range(table.rowCount())]

    def set_computing(self, message: str = "computing…") -> None:
        self.status_label.setText(message)
        if self._result is None:
            self.message_label.setText("Optimising the input and searching the vocabulary…")
            self.stack.setCurrentWidget(self.message_label)

    def show_message(self, message: str) -> None:
        """Replace the lists by ``message`` (the result is dropped)."""
        self._result = None
        self.status_label.clear()
        self.header_label.setText("<b>Activation maximization vs corpus search</b> (Lopes §3)")
        self.message_label.setText(message)
        self.stack.setCurrentWidget(self.message_label)


__all__ = ["ActivationMaximizationPanel", "NO_MODEL", "START_HINT"]
