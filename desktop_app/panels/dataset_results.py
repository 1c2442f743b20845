"""The Dataset results dock: an attribution store (:mod:`interp_engine.store`; every method on
every row of a dataset) as a sortable, filterable table and a histogram.

- The table: row, the text (a pair: both texts), gold, predicted, confidence, the store's per-row
  metrics (``<metric>_<method>``, e.g. AUC_rep of each method, Kim et al.
  ``004_137d387c767c1e08.txt`` §3.5) and ρ(A, B): the Spearman rank correlation of two chosen
  methods' token scores on the row (:func:`scipy.stats.spearmanr`, over the word tokens): where
  the methods disagree. Click a header to sort; the filter line keeps rows whose text contains a
  string, only the misclassified ones (gold ≠ predicted), or those with at least a confidence.
- The histogram (pyqtgraph) of the chosen quantity over the rows the filter keeps: a metric, one
  histogram per method on shared bins (one colour per method, legend), or ρ(A, B), or the
  confidence.
- A click on a row emits :attr:`DatasetResultsPanel.sigRowActivated`; the controller
  (:class:`desktop_app.controllers.dataset_results.DatasetResultsController`) shows that row's
  stored heatmaps in the heatmap ("from store", nothing recomputed).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from interp_engine.attribution import registry
from interp_engine.figures.evaluation import metric_label
from interp_engine.figures.palette import CURVE_COLORS

from .dock_pages import NarrowHint, message_stack, white_plot
from .labels import esc as _esc
from .store_table import (  # noqa: F401 - re-exported: the dock's table lives there
    StoreFilterProxy,
    StoreTableModel,
    rho_header,
    shared_histograms,
    spearman_rows,
)

START_HINT = ("File → Open Attribution Store… shows a store made by File → Compute Attribution Store… or "
              "interp-studio attribute-dataset: every method on every row, sortable and filterable.")
#: the table's share of the dock (beside or above the histogram)
TABLE_SHARE = 0.52
#: the histogram's quantities that are not metrics
RHO_KEY, CONFIDENCE_KEY = "__rho__", "__confidence__"


class DatasetResultsPanel(NarrowHint, QWidget):
    """The store's table, its filter line, the ρ(A, B) method choice and the histogram.

    Signals:
        sigRowActivated(int): the dataset row of the table row the user clicked.
        sigRhoMethodsChanged(str, str): the two methods of ρ(A, B) were chosen.
    """

    sigRowActivated = Signal(int)
    sigRhoMethodsChanged = Signal(str, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._store_name = ""
        self._methods: tuple[str, ...] = ()
        self.histogram_data: dict[str, tuple[np.ndarray, np.ndarray]] = {}

        self.header_label = QLabel()
        self.header_label.setObjectName("storeHeader")
        self.header_label.setTextFormat(Qt.TextFormat.RichText)
        self.header_label.setWordWrap(True)
        self.header_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("storeFilter")
        self.filter_edit.setPlaceholderText("Filter: text contains…")
        self.filter_edit.setClearButtonEnabled(True)
        self.wrong_check = QCheckBox("gold ≠ predicted")
        self.wrong_check.setObjectName("storeWrongOnly")
        self.wrong_check.setToolTip("Only the rows the model gets wrong")
        self.conf_spin = QDoubleSpinBox()
        self.conf_spin.setObjectName("storeMinConfidence")
        self.conf_spin.setRange(0.0, 1.0)
        self.conf_spin.setSingleStep(0.05)
        self.conf_spin.setDecimals(2)
        self.conf_spin.setPrefix("conf. ≥ ")
        self.conf_spin.setToolTip("Only rows whose confidence is at least this")
        self.a_combo = QComboBox()
        self.a_combo.setObjectName("storeRhoA")
        self.b_combo = QComboBox()
        self.b_combo.setObjectName("storeRhoB")
        for c in (self.a_combo, self.b_combo):
            c.setToolTip("ρ(A,B): Spearman rank correlation of these two methods' token scores on each row")
            c.currentIndexChanged.connect(self._emit_rho_methods)
        self.count_label = QLabel()
        self.count_label.setObjectName("storeCount")
        self.count_label.setStyleSheet("color: #555;")
        filters = QHBoxLayout()
        filters.addWidget(self.filter_edit, 1)
        filters.addWidget(self.wrong_check)
        filters.addWidget(self.conf_spin)
        rho_row = QHBoxLayout()
        rho_row.addWidget(QLabel("ρ(A,B) of"))
        rho_row.addWidget(self.a_combo)
        rho_row.addWidget(QLabel("and"))
        rho_row.addWidget(self.b_combo)
        rho_row.addStretch(1)
        rho_row.addWidget(self.count_label)

        self.model = StoreTableModel(self)
        self.proxy = StoreFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setObjectName("storeTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.clicked.connect(self._on_clicked)
        self.table.activated.connect(self._on_clicked)

        self.hist_combo = QComboBox()
        self.hist_combo.setObjectName("storeHistogramOf")
        self.hist_combo.setToolTip("The quantity whose histogram is drawn (over the rows the filter keeps)")
        self.hist_combo.currentIndexChanged.connect(lambda _i: self.update_histogram())
        self.hist_plot = white_plot("storeHistogram", left="rows")
        self.hist_plot.setMinimumHeight(110)
        self.hist_plot.showGrid(y=True, alpha=0.2)
        # the legend is a label beside the combo: it never hides a bar
        self.hist_legend = QLabel()
        self.hist_legend.setObjectName("storeHistogramLegend")
        self.hist_legend.setTextFormat(Qt.TextFormat.RichText)
        self.hist_legend.setWordWrap(True)
        self.hist_legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hist_items: dict[str, pg.PlotDataItem] = {}
        hist_box = QWidget()
        hl = QVBoxLayout(hist_box)
        hl.setContentsMargins(0, 0, 0, 0)
        hrow = QHBoxLayout()
        hrow.addWidget(QLabel("Histogram of:"))
        hrow.addWidget(self.hist_combo)
        hrow.addWidget(self.hist_legend, 1)
        hl.addLayout(hrow)
        hl.addWidget(self.hist_plot, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(hist_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self._user_split = False
        self.splitter.splitterMoved.connect(lambda *_a: setattr(self, "_user_split", True))

        self.message_label, self.stack = message_stack("storeMessage", self.splitter)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.header_label)
        lay.addLayout(filters)
        lay.addLayout(rho_row)
        lay.addWidget(self.stack, 1)

        self.filter_edit.textChanged.connect(lambda t: self._refilter(needle=t))
        self.wrong_check.toggled.connect(lambda on: self._refilter(wrong_only=on))
        self.conf_spin.valueChanged.connect(lambda v: self._refilter(min_confidence=v))
        self.show_message(START_HINT)

    #: below this width the histogram goes under the table instead of beside it
    SIDE_BY_SIDE_WIDTH = 760

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        wide = self.width() >= self.SIDE_BY_SIDE_WIDTH
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            self._user_split = False
        if not self._user_split:  # the table's share, until the user drags the splitter
            total = self.splitter.width() if wide else self.splitter.height()
            if total > 0:
                self.splitter.setSizes([int(total * TABLE_SHARE), total - int(total * TABLE_SHARE)])

    # -- content ----------------------------------------------------------------------------
    def set_rows(self, *, name: str, methods: Sequence[str], metrics: Sequence[str], rows, texts, texts_b, gold,
                 predicted, confidence, metric_columns: dict, class_names=(), segment_names=(), note: str = "") -> None:
        """Show a store's rows (the controller reads them from the store). ``metric_columns``:
        ``{"<metric>_<method>": (N,)}``."""
        self._store_name = name
        self._methods = tuple(methods)
        keys = {f"{k}_{m}": (k, m) for k in metrics for m in methods if f"{k}_{m}" in metric_columns}
        self.model.set_data(rows=rows, texts=texts, texts_b=texts_b, gold=gold, predicted=predicted,
                            confidence=confidence, metric_columns={k: metric_columns[k] for k in keys},
                            metric_keys=keys, class_names=class_names,
                            segment_names=segment_names or ("premise", "hypothesis"))
        for combo, default in ((self.a_combo, 0), (self.b_combo, 1)):
            combo.blockSignals(True)
            combo.clear()
            for m in self._methods:
                combo.addItem(registry.short_label(m), m)
                combo.setItemData(combo.count() - 1, registry.label(m), Qt.ItemDataRole.ToolTipRole)
            combo.setCurrentIndex(min(default, combo.count() - 1))
            combo.setEnabled(len(self._methods) > 1)
            combo.blockSignals(False)
        self.hist_combo.blockSignals(True)
        self.hist_combo.clear()
        for k in metrics:
            if any(f"{k}_{m}" in keys for m in methods):
                self.hist_combo.addItem(f"{metric_label(k)} (per method)", k)
        if len(self._methods) > 1:
            self.hist_combo.addItem("ρ(A,B)", RHO_KEY)
        self.hist_combo.addItem("confidence", CONFIDENCE_KEY)
        self.hist_combo.setCurrentIndex(0)
        self.hist_combo.blockSignals(False)
        n = len(self.model.rows)
        self.header_label.setText(
            f"<b>{_esc(name)}</b> · {n} row{'s' if n != 1 else ''} · methods: "
            f"{_esc(', '.join(registry.label(m) for m in self._methods))}"
            + (f" · metrics: {_esc(', '.join(metric_label(k) for k in metrics))}" if metrics else "")
            + (f" · {_esc(note)}" if note else ""))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for key in ("text", "text_b"):
            c = self.model.column(key)
            if c >= 0:
                header.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch)
        self.stack.setCurrentWidget(self.splitter)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self._update_count()
        self._emit_rho_methods()
        self.update_histogram()

    def methods(self) -> tuple[str, ...]:
        return self._methods

    def rho_methods(self) -> tuple[str | None, str | None]:
        """The two methods of ρ(A, B) (None: not chosen)."""
        return self.a_combo.currentData(), self.b_combo.currentData()

    def set_rho_methods(self, a: str, b: str) -> None:
        self.a_combo.setCurrentIndex(max(0, self.a_combo.findData(a)))
        self.b_combo.setCurrentIndex(max(0, self.b_combo.findData(b)))

    def set_rho(self, rho: np.ndarray) -> None:
        """Fill the ρ(A, B) column (by source row)."""
        a, b = self.rho_methods()
        header = rho_header(a, b)
        self.model.set_rho(rho, header)
        self.update_histogram()

    def _emit_rho_methods(self, *_):
        a, b = self.rho_methods()
        if a and b:
            self.sigRhoMethodsChanged.emit(a, b)

    def _refilter(self, **kw) -> None:
        self.proxy.set_filter(**kw)
        self._update_count()
        self.update_histogram()

    def _update_count(self) -> None:
        self.count_label.setText(f"{self.proxy.rowCount()} / {self.model.rowCount()} rows")

    def visible_rows(self) -> list[int]:
        """The source rows the filter keeps, in the table's (sorted) order."""
        return [self.proxy.mapToSource(self.proxy.index(i, 0)).row() for i in range(self.proxy.rowCount())]

    def shown_dataset_rows(self) -> list[int]:
        """The dataset rows of the table, top to bottom."""
        return [int(self.model.rows[r]) for r in self.visible_rows()]

    def select_dataset_row(self, row: int) -> bool:
        """Select the table row of dataset row ``row`` and emit :attr:`sigRowActivated`."""
        for i, r in enumerate(self.visible_rows()):
            if int(self.model.rows[r]) == int(row):
                self.table.selectRow(i)
                self.sigRowActivated.emit(int(row))
                return True
        return False

    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            src = self.proxy.mapToSource(index)
            self.sigRowActivated.emit(int(self.model.rows[src.row()]))

    # -- histogram --------------------------------------------------------------------------
    def histogram_key(self) -> str | None:
        return self.hist_combo.currentData()

    def set_histogram_key(self, key: str) -> None:
        self.hist_combo.setCurrentIndex(max(0, self.hist_combo.findData(key)))

    def histogram_columns(self) -> dict[str, np.ndarray]:
        """``{legend name: values over the rows the filter keeps}`` of the chosen quantity."""
        key, rows = self.histogram_key(), self.visible_rows()
        m = self.model
        if key is None or not len(m.rows):
            return {}
        if key == RHO_KEY:
            return {m.rho_header.replace("\n", " "): m.rho[rows]}
        if key == CONFIDENCE_KEY:
            return {"confidence": m.confidence[rows]}
        return {registry.label(meth): m.metric_columns[f"{key}_{meth}"][rows] for meth in self._methods
                if f"{key}_{meth}" in m.metric_columns}

    def update_histogram(self) -> None:
        """Draw the chosen quantity's histogram (one per method, on shared bins)."""
        self.hist_plot.clear()
        self.hist_items.clear()
        cols = self.histogram_columns()
        self.histogram_data = shared_histograms(cols)
        names = list(cols)
        for name, (edges, counts) in self.histogram_data.items():
            i = names.index(name)
            color = QColor(CURVE_COLORS["paper"][i % 6])
            fill = QColor(color)
            fill.setAlpha(70 if len(self.histogram_data) > 1 else 140)
            item = pg.PlotDataItem(edges, counts, stepMode="center", fillLevel=0, brush=fill,
                                   pen=pg.mkPen(color, width=2), name=name)
            self.hist_plot.addItem(item)
            self.hist_items[name] = item
        self.hist_legend.setText(" &nbsp; ".join(
            f"<span style='color:{CURVE_COLORS['paper'][names.index(n) % 6]}'>■</span> {_esc(n)}"
            for n in self.histogram_data))
        key = self.histogram_key()
        label = ("ρ(A,B)" if key == RHO_KEY else "confidence" if key == CONFIDENCE_KEY
                 else metric_label(key) if key else "")
        self.hist_plot.setLabel("bottom", label)
        self.hist_plot.enableAutoRange()

    # -- messages ---------------------------------------------------------------------------
    def show_message(self, message: str) -> None:
        """Replace the table by ``message`` (the rows are dropped)."""
        self.model.clear()
        self._methods = ()
        self.histogram_data = {}
        self.header_label.setText("<b>Dataset results</b>: attribution store")
        self.count_label.clear()
        self.message_label.setText(message)
        self.stack.setCurrentWidget(self.message_label)

    def set_status(self, message: str) -> None:
        """A short status beside the filter ("" = the row count again)."""
        if message or not self.model.rowCount():
            self.count_label.setText(message)
        else:
            self._update_count()


__all__ = ["DatasetResultsPanel", "StoreFilterProxy", "StoreTableModel", "shared_histograms", "spearman_rows"]
