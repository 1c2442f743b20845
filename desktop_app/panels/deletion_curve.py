"""The deletion-curve dock: how fast p(class) falls when the most attributed tokens are replaced
(Kim et al. ``004_137d387c767c1e08.txt`` §3.5, AUC_rep; Fig. 3 b).

One curve per attribution method of the current sentence (the heatmap's method, or every method
of its comparison), the legend gives each method's area (AUC_rep at the default 20% range; lower =
more faithful). The user chooses the replacement strategy (MLM sample, zero/[PAD], [UNK], removal)
and the x-range (5%–100% of the tokens). Hovering a point shows which token was replaced by what.

The panel only shows results (:meth:`set_result`) and emits intent (:attr:`sigSettingsChanged`);
:class:`desktop_app.controller.DeletionCurveController` asks the engine for the curves.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from interp_engine.attribution import registry
from interp_engine.config import STRATEGIES, DeletionConfig
from interp_engine.results import area_label

from .labels import class_name, esc as _esc

#: combo text of each replacement strategy
STRATEGY_LABELS = {"mlm": "MLM sample", "zero": "zero / [PAD]", "unk": "[UNK]", "remove": "removal"}
#: (strategy key, label) in combo order (:data:`interp_engine.config.STRATEGIES`)
STRATEGY_ITEMS = tuple((k, STRATEGY_LABELS.get(k, k)) for k in STRATEGIES)
#: the strategy used when no masked LM is open (needs nothing)
NO_MLM_STRATEGY = "zero"
#: horizontal padding of the x range, as a fraction of it
X_PADDING = 0.03
NO_MLM_TIP = ("Sampling replacements needs a masked LM: open one (File → Open Masked LM…, "
              "or interp-studio train-mlm to train one).")
#: one colour per method (colour-blind-safe Okabe-Ito order)
CURVE_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


class DeletionCurvePanel(QWidget):
    """Deletion curves of the current sentence.

    Signals:
        sigSettingsChanged(str, float): the user chose another strategy or x-range
            ``(strategy, x_max)``.
    """

    sigSettingsChanged = Signal(str, float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._result = None
        self._mlm = False
        self._quiet = False

        self.strategy_combo = QComboBox()
        self.strategy_combo.setObjectName("deletionStrategyCombo")
        for key, label in STRATEGY_ITEMS:
            self.strategy_combo.addItem(label, key)
        self.strategy_combo.setToolTip("How a replaced token is filled in (Kim et al. §3.5: a token sampled "
                                       "from the masked LM, to stay in distribution)")
        self.range_spin = QSpinBox()
        self.range_spin.setObjectName("deletionRangeSpin")
        self.range_spin.setRange(5, 100)
        self.range_spin.setSingleStep(5)
        x_max = round(100 * DeletionConfig.x_max)
        self.range_spin.setValue(x_max)
        self.range_spin.setSuffix(" %")
        self.range_spin.setToolTip("Fraction of the tokens replaced on the x-axis; the legend's area is "
                                   f"taken over this range ({x_max}% = AUC_rep, the default)")
        self.status_label = QLabel("")
        self.status_label.setObjectName("deletionStatus")
        self.status_label.setStyleSheet("color: #555;")
        # a long status never widens the dock (the window keeps its size)
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_label.setMinimumWidth(40)
        self.status_label.setWordWrap(True)  # wraps instead of cutting "… more faithful" at the dock's edge

        #: a sentence pair: which tokens the curves replace (both texts)
        self.pair_note = QLabel()
        self.pair_note.setObjectName("deletionPairNote")
        self.pair_note.setWordWrap(True)
        self.pair_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.pair_note.setMinimumWidth(40)
        self.pair_note.setStyleSheet("color: #555;")
        self.pair_note.hide()

        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("deletionPlot")
        self.plot.setMinimumHeight(140)
        self.plot.setLabel("bottom", "tokens replaced (%)")
        self.plot.setLabel("left", "p(class)")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        for name in ("left", "bottom"):
            ax = self.plot.getAxis(name)
            ax.setPen(pg.mkPen("k"))
            ax.setTextPen(pg.mkPen("k"))
            ax.enableAutoSIPrefix(False)  # a probability is never shown as "(×0.001)"
        # the legend is a label below the plot: it wraps at the dock's width and never hides a curve
        self.legend_label = QLabel()
        self.legend_label.setObjectName("deletionLegend")
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        self.legend_label.setWordWrap(True)
        self.legend_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.legend_label.setMinimumWidth(40)
        self._legend: list[tuple[str, str]] = []
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.message_label = QLabel("Select a sentence to see how fast its prediction falls when the most "
                                    "attributed tokens are replaced.")
        self.message_label.setObjectName("deletionMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message_label)
        self.stack.addWidget(self.plot)

        row = QHBoxLayout()
        row.addWidget(QLabel("Replace by:"))
        row.addWidget(self.strategy_combo)
        row.addWidget(QLabel("Range:"))
        row.addWidget(self.range_spin)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addWidget(self.status_label)
        lay.addWidget(self.pair_note)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.legend_label)

        self.set_mlm_available(False)
        self.strategy_combo.currentIndexChanged.connect(self._emit_settings)
        self.range_spin.valueChanged.connect(self._emit_settings)

    # -- settings ---------------------------------------------------------------------------
    def strategy(self) -> str:
        return str(self.strategy_combo.currentData())

    def x_max(self) -> float:
        return self.range_spin.value() / 100.0

    def set_strategy(self, key: str) -> None:
        i = self.strategy_combo.findData(key)
        if i >= 0 and self._item_enabled(i):
            self.strategy_combo.setCurrentIndex(i)

    def set_x_max(self, x_max: float) -> None:
        self.range_spin.setValue(int(round(100 * x_max)))

    def _item_enabled(self, i: int) -> bool:
        model = self.strategy_combo.model()
        return not isinstance(model, QStandardItemModel) or model.item(i).isEnabled()

    def set_mlm_available(self, available: bool) -> None:
        """Enable "MLM sample" (a masked LM is open) or disable it with a tooltip; without an MLM
        the strategy falls back to zero/[PAD], with one it switches to MLM sample (AUC_rep)."""
        self._mlm = bool(available)
        model = self.strategy_combo.model()
        item = model.item(0) if isinstance(model, QStandardItemModel) else None
        self._quiet = True
        try:
            if item is not None:
                item.setEnabled(self._mlm)
                item.setToolTip("" if self._mlm else NO_MLM_TIP)
                self.strategy_combo.setItemData(0, None if self._mlm else NO_MLM_TIP, Qt.ItemDataRole.ToolTipRole)
            if not self._mlm and self.strategy() == "mlm":
                self.strategy_combo.setCurrentIndex(self.strategy_combo.findData(NO_MLM_STRATEGY))
            elif self._mlm:
                self.strategy_combo.setCurrentIndex(max(0, self.strategy_combo.findData(DeletionConfig.strategy)))
        finally:
            self._quiet = False

    def mlm_available(self) -> bool:
        return self._mlm

    def _emit_settings(self, *_):
        if not self._quiet:
            self.sigSettingsChanged.emit(self.strategy(), self.x_max())

    # -- results ----------------------------------------------------------------------------
    def current_result(self):
        """The :class:`~interp_engine.results.DeletionCurves` on screen, or None."""
        return self._result

    def set_result(self, result) -> None:
        """Draw ``result`` (:class:`~interp_engine.results.DeletionCurves`)."""
        self._result = result
        self.plot.clear()
        self._legend = []
        self.curves.clear()
        x = np.asarray(result.x, dtype=np.float64) * 100
        name = area_label(result.x_max, result.strategy)
        for i, m in enumerate(result.methods):
            color = CURVE_COLORS[i % len(CURVE_COLORS)]
            p = np.asarray(result.p_deletion[i], dtype=np.float64)
            label = registry.label(m)
            tips = [f"{label}: original sentence, p = {p[0]:.4f}"]
            for k in range(1, len(p)):
                pos = int(result.order[i, k - 1])
                rep = result.replacements[i][k - 1] if k - 1 < len(result.replacements[i]) else ""
                what = f"“{result.tokens[pos]}” removed" if result.strategy == "remove" else f"“{result.tokens[pos]}” → “{rep}”"
                tips.append(f"{label}, step {k} ({x[k]:.0f}%): {what}, p = {p[k]:.4f}")
            item = self.plot.plot(x, p, pen=pg.mkPen(color, width=2), symbol="o", symbolSize=6,
                                  symbolBrush=color, symbolPen=color)
            self._legend.append((color, f"{label}  {name} {result.auc[i]:.4f}"))
            hover = pg.ScatterPlotItem(x=x, y=p, data=tips, brush=color, pen=color, size=7, hoverable=True,
                                       hoverSize=10, tip=lambda x, y, data: str(data))
            self.plot.addItem(hover)
            self.curves[m] = item
        # x: the whole computed curve (its last point lies at ceil(x_max · n) / n >= x_max)
        x_end = max(float(x[-1]) if x.size else 0.0, 100 * result.x_max)
        self.plot.setXRange(0, x_end, padding=X_PADDING)
        # y: the curves' own range, never beyond [0, 1]
        lo = float(np.nanmin(result.p_deletion)) if result.p_deletion.size else 0.0
        hi = float(np.nanmax(result.p_deletion)) if result.p_deletion.size else 1.0
        span = max(hi - lo, 0.02)
        self.plot.setYRange(max(0.0, lo - 0.05 * span), min(1.0, hi + 0.05 * span), padding=0.02)
        self.plot.setLabel("left", f"p({class_name(result.class_names, result.target)})")
        seed = f" · seed {result.seed}" if result.seed is not None else ""
        self.status_label.setText(f"{result.n_words} tokens · {STRATEGY_LABELS.get(result.strategy, result.strategy)}{seed}"
                                  " · lower = more faithful")
        self.status_label.setToolTip("Tokens are replaced in decreasing order of attribution; the area is the mean "
                                     "p(class) over the x-range (Kim et al. 2020 §3.5: AUC_rep at "
                                     f"{round(100 * DeletionConfig.x_max)}%)")
        self._set_pair_note(result)
        self.stack.setCurrentWidget(self.plot)
        self._show_legend()
        self.plot.setOpacity(1.0)
        self.legend_label.setEnabled(True)

    def _set_pair_note(self, result) -> None:
        names = tuple(getattr(result, "segment_names", ()) or ()) if result is not None else ()
        pair = result is not None and getattr(result, "segments", None) is not None and len(names) == 2
        self.pair_note.setText(f"Sentence pair: tokens of both the {names[0]} and the {names[1]} are candidates "
                               "for replacement, in one ranking by attribution." if pair else "")
        self.pair_note.setVisible(pair)

    def _show_legend(self) -> None:
        rows = [f"<span style='color:{c}'><b>━●━</b></span>&nbsp;{_esc(t).replace('  ', '&nbsp;&nbsp;')}"
                for c, t in self._legend]
        self.legend_label.setText("<br>".join(rows))
        self.legend_label.setVisible(bool(rows) and self.stack.currentWidget() is self.plot)

    def legend_texts(self) -> list[str]:
        """The legend's labels (for tests and screen readers)."""
        return [t for _c, t in self._legend]

    def set_computing(self, message: str = "computing…") -> None:
        """A new result is on its way: the old curves stay, faded."""
        self.status_label.setText(message)
        if self._result is None:
            self.message_label.setText("Computing the deletion curves…")
            self.stack.setCurrentWidget(self.message_label)
            self.legend_label.hide()
        else:
            self.plot.setOpacity(0.35)
            self.legend_label.setEnabled(False)

    def show_message(self, message: str) -> None:
        """Replace the plot by ``message`` (the result is dropped)."""
        self._result = None
        self.plot.clear()
        self._legend = []
        self._show_legend()
        self._set_pair_note(None)
        self.curves.clear()
        self.status_label.clear()
        self.message_label.setText(message)
        self.stack.setCurrentWidget(self.message_label)
