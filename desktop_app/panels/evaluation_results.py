"""The dataset-evaluation dock (Analysis → Evaluate Dataset…; ``interp-studio evaluate`` in the
GUI): the per-method mean of the metric as bars with ± one standard error as error bars, the mean
deletion curves of the curve metrics (Kim et al. ``004_137d387c767c1e08.txt`` §3.5, Fig. 3b), and
the numbers as a table. Exported (right click → Export figure…) by
:func:`interp_engine.figures.evaluation.evaluation_figure` with a sidecar, like every panel.

The panel only shows an :class:`~interp_engine.results.EvaluationReport` (:meth:`set_result`) and
emits intent (:attr:`EvaluationResultsPanel.sigEvaluateRequested`, :attr:`sigCancelRequested`);
:class:`desktop_app.controllers.evaluation.EvaluationController` runs the request.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from interp_engine.attribution import registry
from interp_engine.figures.evaluation import direction_note, metric_label
from interp_engine.figures.palette import CURVE_COLORS

from .dock_pages import NarrowHint, message_stack, white_plot
from .labels import esc as _esc

START_HINT = ("Analysis → Evaluate Dataset… (or “Evaluate…” here) runs a metric over the open dataset: "
              "per method the mean ± standard error, and the mean deletion curves.")
#: bar width (the bars sit at x = 0, 1, 2, …)
BAR_WIDTH = 0.6


def method_name(key: str) -> str:
    """The display name of a report's method key (the matching rate is not a method)."""
    return "matching rate" if key == "matching_rate" else registry.label(key)


class EvaluationResultsPanel(NarrowHint, QWidget):
    """Means ± s.e. (bars with error bars), mean curves and a table of one evaluation.

    Signals:
        sigEvaluateRequested(): "Evaluate…" was pressed (open the dialog).
        sigCancelRequested(): "Cancel" was pressed while it runs.
    """

    sigEvaluateRequested = Signal()
    sigCancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._result = None
        self.header_label = QLabel()
        self.header_label.setObjectName("evaluationHeader")
        self.header_label.setTextFormat(Qt.TextFormat.RichText)
        self.header_label.setWordWrap(True)
        self.header_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_label = QLabel()
        self.status_label.setObjectName("evaluationStatus")
        self.status_label.setStyleSheet("color: #8a5a00;")
        self.evaluate_button = QPushButton("Evaluate…")
        self.evaluate_button.setObjectName("evaluateButton")
        self.evaluate_button.clicked.connect(self.sigEvaluateRequested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("evaluationCancelButton")
        self.cancel_button.clicked.connect(self.sigCancelRequested)
        self.cancel_button.hide()
        top = QHBoxLayout()
        top.addWidget(self.header_label, 1)
        top.addWidget(self.status_label)
        top.addWidget(self.cancel_button)
        top.addWidget(self.evaluate_button)

        self.bar_plot = white_plot("evaluationBars")
        self.bar_plot.setMinimumHeight(150)
        self.bar_plot.showGrid(y=True, alpha=0.2)
        self.bar_plot.getViewBox().sigResized.connect(lambda *_a: self._update_ticks())
        self.curve_plot = white_plot("evaluationCurves", bottom="tokens replaced (%)", left="mean p(class)")
        self.curve_plot.setMinimumHeight(150)
        self.curve_plot.showGrid(x=True, y=True, alpha=0.2)
        self.bars: pg.BarGraphItem | None = None
        self.error_bars: pg.ErrorBarItem | None = None
        self.curves: dict[str, pg.PlotDataItem] = {}
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.bar_plot)
        plots.addWidget(self.curve_plot)
        plots.setChildrenCollapsible(False)
        self.plots = plots

        self.table = QTableWidget(0, 3)
        self.table.setObjectName("evaluationTable")
        self.table.setHorizontalHeaderLabels(["Method", "Mean ± s.e.", "n"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMaximumHeight(150)

        results = QWidget()
        rl = QVBoxLayout(results)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(plots, 1)
        rl.addWidget(self.table)
        self.results_widget = results
        self.message_label, self.stack = message_stack("evaluationMessage", results)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.stack, 1)
        self.show_message(START_HINT)

    # -- results ----------------------------------------------------------------------------
    def current_result(self):
        """The :class:`~interp_engine.results.EvaluationReport` on screen (figure export), or None."""
        return self._result

    def set_result(self, result) -> None:
        """Show an :class:`~interp_engine.results.EvaluationReport`."""
        self._result = result
        self.set_running(False)
        self.status_label.clear()
        names = [method_name(m) for m in result.methods]
        means = np.asarray(result.means, dtype=float)
        ses = np.asarray(result.ses, dtype=float)
        colors = [CURVE_COLORS["paper"][i % 6] for i in range(len(names))]
        xs = np.arange(len(names), dtype=float)
        self.bar_plot.clear()
        heights = np.where(np.isfinite(means), means, 0.0)
        self.bars = pg.BarGraphItem(x=xs, height=heights, width=BAR_WIDTH, brushes=colors, pen=pg.mkPen("#333333"))
        self.bar_plot.addItem(self.bars)
        err = np.where(np.isfinite(ses), ses, 0.0)
        self.error_bars = pg.ErrorBarItem(x=xs, y=heights, top=err, bottom=err, beam=BAR_WIDTH * 0.4,
                                          pen=pg.mkPen("#111111", width=1.5))
        self.bar_plot.addItem(self.error_bars)
        self._update_ticks()
        note = direction_note(result.lower_is_better)
        self.bar_plot.setLabel("left", metric_label(result.metric) + (f" ({note})" if note else ""))
        self.bar_plot.setXRange(-0.6, len(names) - 0.4, padding=0)
        lo = float(np.nanmin(np.r_[heights - err, 0.0]))
        hi = float(np.nanmax(np.r_[heights + err, 0.0]))
        self.bar_plot.setYRange(lo - 0.05 * (hi - lo or 1), hi + 0.08 * (hi - lo or 1), padding=0)

        self.curve_plot.clear()  # no legend over the curves: the table's colour swatches name them
        self.curves.clear()
        if result.has_curves:
            x = np.asarray(result.curve_x, dtype=float) * 100
            for i, m in enumerate(result.methods):
                y = np.asarray(result.curves[i], dtype=float)
                if not np.isfinite(y).any():
                    continue
                self.curves[m] = self.curve_plot.plot(x, y, pen=pg.mkPen(colors[i], width=2), name=names[i])
            self.curve_plot.setXRange(0, float(x[-1]) if len(x) else 100, padding=0.02)
            self.curve_plot.show()
        else:
            self.curve_plot.hide()

        self.table.setRowCount(len(names))
        for i, name in enumerate(names):
            mean_se = ("undefined" if not np.isfinite(means[i])
                       else f"{means[i]:.4f} ± {ses[i]:.4f}" if np.isfinite(ses[i]) else f"{means[i]:.4f}")
            for col, text in enumerate((f"{i + 1}. {name}", mean_se, str(int(result.ns[i])))):
                it = QTableWidgetItem(text)
                if col:
                    it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                else:  # the bar's and the curve's colour
                    swatch = QPixmap(12, 12)
                    swatch.fill(QColor(colors[i]))
                    it.setIcon(QIcon(swatch))
                self.table.setItem(i, col, it)
        n = int(result.n_sentences)
        self.header_label.setText(
            f"<b>{_esc(metric_label(result.metric))}</b> over {n} sentence{'s' if n != 1 else ''}"
            + (f" · {_esc(note)}" if note else "")
            + (f" · {_esc(str(result.report.get('strategy')))} replacement" if result.report.get("strategy") else "")
            + " · bars: mean ± s.e.")
        self.stack.setCurrentWidget(self.results_widget)

    def _update_ticks(self) -> None:
        """The bars' labels: the methods' short names where they fit, else their numbers in the table."""
        r = self._result
        if r is None:
            return
        short = [registry.short_label(m) if m != "matching_rate" else "rate" for m in r.methods]
        room = self.bar_plot.getViewBox().width() / max(len(short), 1)
        fits = all(self.fontMetrics().horizontalAdvance(t) + 8 < room for t in short)
        labels = short if fits else [str(i + 1) for i in range(len(short))]
        self.bar_plot.getAxis("bottom").setTicks([[(float(i), t) for i, t in enumerate(labels)]])

    def tick_labels(self) -> list[str]:
        """The labels under the bars (tests)."""
        ticks = self.bar_plot.getAxis("bottom")._tickLevels
        return [t for _x, t in ticks[0]] if ticks else []

    def shown_means(self) -> np.ndarray:
        """The bar heights drawn (tests)."""
        return np.asarray(self.bars.opts["height"], dtype=float) if self.bars is not None else np.zeros(0)

    def shown_errors(self) -> np.ndarray:
        """The error-bar half-lengths drawn (tests)."""
        return np.asarray(self.error_bars.opts["top"], dtype=float) if self.error_bars is not None else np.zeros(0)

    def set_running(self, running: bool) -> None:
        self.cancel_button.setVisible(running)
        self.evaluate_button.setEnabled(not running)

    def set_computing(self, message: str = "computing…") -> None:
        self.set_running(True)
        self.status_label.setText(message)
        if self._result is None:
            self.message_label.setText("Evaluating the dataset…")
            self.stack.setCurrentWidget(self.message_label)

    def show_message(self, message: str) -> None:
        """Replace the plots by ``message`` (the result is dropped)."""
        self._result = None
        self.set_running(False)
        self.status_label.clear()
        self.header_label.setText("<b>Dataset evaluation</b>")
        self.message_label.setText(message)
        self.stack.setCurrentWidget(self.message_label)


__all__ = ["EvaluationResultsPanel", "START_HINT", "method_name"]
