"""The dataset list: every sentence with its gold label and, once computed, the model's
prediction and confidence. Sortable, filterable; selecting a row makes its sentence current.

A pair dataset (premise/hypothesis, sentence1/sentence2) lists its two texts in two columns
headed by the dataset's segment names, then gold, predicted and confidence; the filter searches
both texts, and selecting a row makes the pair (:meth:`DatasetTableModel.input`) current."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from interp_engine.inputs import TextInput

from .model_columns import SORT_ROLE, ComparePanelMixin, CompareColumnMixin, DisagreeFilterMixin  # noqa: F401 - re-exported



class DatasetTableModel(CompareColumnMixin, QAbstractTableModel):
    """Table of sentences: sentence, gold label, predicted label, confidence; a pair dataset:
    first text, second text (headers: the segment names), gold, predicted, confidence.

    Predictions are optional and arrive later (:meth:`set_predictions`). The column indices
    :attr:`GOLD`, :attr:`PRED`, :attr:`CONF` of an instance shift by one for a pair dataset
    (:attr:`SECOND` is the second text's column, -1 without one).
    """

    #: short headers: at the dock's default width every column stays visible (tooltips: the long names)
    COLUMNS = ("Sentence", "Gold", "Pred.", "Conf.")
    COLUMN_TIPS = ("The sentence (hover a row for all of it)", "Gold label", "The model's predicted class",
                   "Confidence: the model's probability of its predicted class")
    TEXT, GOLD, PRED, CONF = range(4)
    SECOND = -1

    def __init__(self, parent=None):
        super().__init__(parent)
        self._texts: tuple[str, ...] = ()
        self._pairs: tuple[str, ...] | None = None
        self._segment_names: tuple[str, ...] = ()
        self._set_columns()
        self._labels: np.ndarray | None = None
        self._gold_names: tuple[str, ...] = ()
        self._pred: np.ndarray | None = None
        self._conf: np.ndarray | None = None
        self._pred_names: tuple[str, ...] = ()
        self._compare = False

    def _set_columns(self) -> None:
        """The columns (and their tips) of a single-text or a pair dataset."""
        if self._pairs is None:
            self.columns, self.column_tips = type(self).COLUMNS, type(self).COLUMN_TIPS
            self.SECOND, self.GOLD, self.PRED, self.CONF = -1, 1, 2, 3
            return
        first, second = (self._segment_names + ("premise", "hypothesis")[len(self._segment_names):])[:2]
        self.columns = (first, second) + type(self).COLUMNS[1:]  # the segment names, as the dataset says
        self.column_tips = (f"The {first} (hover a row for all of it)", f"The {second} (hover a row for all of it)",
                            *type(self).COLUMN_TIPS[1:])
        self.SECOND, self.GOLD, self.PRED, self.CONF = 1, 2, 3, 4

    def is_pair(self) -> bool:
        return self._pairs is not None

    # -- content ----------------------------------------------------------------------------
    def set_dataset(self, texts: Sequence[str], labels: np.ndarray | None, gold_names: Sequence[str],
                    pairs: Sequence[str] | None = None, segment_names: Sequence[str] = ()) -> None:
        """Replace the rows (predictions are cleared). ``pairs``: the second text of each row of a
        pair dataset, ``segment_names`` their names (the column headers)."""
        self.beginResetModel()
        self._texts = tuple(texts)
        self._pairs = None if pairs is None else tuple(pairs)
        if self._pairs is not None and len(self._pairs) != len(self._texts):
            raise ValueError(f"{len(self._pairs)} second texts for {len(self._texts)} rows")
        self._segment_names = tuple(str(n) for n in segment_names)
        self._set_columns()
        self._labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self._gold_names = tuple(gold_names)
        self._pred = self._conf = None
        self._pred2 = self._conf2 = None  # the columns were rebuilt without the comparison model's
        self.PRED2 = -1
        self.endResetModel()

    def set_gold_names(self, names: Sequence[str]) -> None:
        self._gold_names = tuple(names)
        self._changed(self.GOLD, self.GOLD)

    def set_predictions(self, predicted: np.ndarray, confidence: np.ndarray, class_names: Sequence[str],
                        comparable: bool = True) -> None:
        """Fill the prediction columns. ``comparable``: gold and predicted indices name the same
        classes (mismatches are then shown in red)."""
        predicted = np.asarray(predicted, dtype=np.int64)
        if len(predicted) != len(self._texts):
            raise ValueError(f"{len(predicted)} predictions for {len(self._texts)} sentences")
        self._pred = predicted
        self._conf = np.asarray(confidence, dtype=float)
        self._pred_names = tuple(class_names)
        self._compare = comparable
        self._changed(self.GOLD, self.CONF)

    def clear_predictions(self) -> None:
        self._pred = self._conf = None
        self._changed(self.GOLD, self.CONF)

    def _changed(self, c0: int, c1: int) -> None:
        if self._texts:
            self.dataChanged.emit(self.index(0, c0), self.index(len(self._texts) - 1, c1))

    def text(self, row: int) -> str:
        """The row's input as one string (a pair: ``premise ‖ hypothesis``, as ``str(TextInput)``)."""
        return str(self.input(row))

    def input(self, row: int) -> TextInput:
        """The row's input: its text, or its pair with the dataset's segment names."""
        if self._pairs is None:
            return TextInput.single(self._texts[row])
        names = self._segment_names if len(self._segment_names) == 2 else ("premise", "hypothesis")
        return TextInput.pair(self._texts[row], self._pairs[row], segments=names)

    def row_texts(self, row: int) -> tuple[str, ...]:
        """The texts the filter searches: the sentence, or both texts of a pair."""
        return (self._texts[row],) if self._pairs is None else (self._texts[row], self._pairs[row])

    def has_predictions(self) -> bool:
        return self._pred is not None

    def accuracy(self) -> float | None:
        """Fraction of rows whose prediction equals the gold label (None if not comparable)."""
        if self._pred is None or self._labels is None or not self._compare or not len(self._texts):
            return None
        ok = self._pred >= 0
        return float((self._pred[ok] == self._labels[ok]).mean()) if ok.any() else None

    # -- Qt model ---------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._texts)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            if orientation == Qt.Orientation.Horizontal:
                return self.columns[section] if 0 <= section < len(self.columns) else None
            return str(section + 1)
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            return self.column_tips[section] if 0 <= section < len(self.column_tips) else None
        return None

    #: show class names as their shortest unique prefixes (set by the panel when columns are narrow)
    short_names = False

    def set_short_names(self, short: bool) -> None:
        if bool(short) != self.short_names:
            self.short_names = bool(short)
            self._changed(self.GOLD, self.PRED)

    def _name(self, names: tuple[str, ...], k: int) -> str:
        if not 0 <= k < len(names):
            return str(k)
        return unique_prefixes(names)[k] if self.short_names else names[k]

    def _gold(self, row: int, full: bool = False) -> str:
        if self._labels is None:
            return ""
        k = int(self._labels[row])
        return self._gold_names[k] if full and 0 <= k < len(self._gold_names) else self._name(self._gold_names, k)

    def _predicted(self, row: int, full: bool = False) -> str:
        if self._pred is None:
            return ""
        k = int(self._pred[row])
        if k < 0:
            return "—"
        return self._pred_names[k] if full and k < len(self._pred_names) else self._name(self._pred_names, k)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if self.PRED2 >= 0 and col == self.PRED2:
            return self._compare_data(row, role)
        if col == self.SECOND:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                return self._pairs[row]
            return self._pairs[row].lower() if role == SORT_ROLE else None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.TEXT:
                return self._texts[row]
            if col == self.GOLD:
                return self._gold(row)
            if col == self.PRED:
                return self._predicted(row) if self._pred is not None else "…"
            if col == self.CONF:
                if self._conf is None:
                    return "…"
                c = self._conf[row]
                return f"{c:.3f}" if np.isfinite(c) else "—"
        elif role == SORT_ROLE:
            if col == self.TEXT:
                return self._texts[row].lower()
            if col == self.GOLD:
                return self._gold(row, full=True)
            if col == self.PRED:
                return self._predicted(row, full=True)
            if col == self.CONF:
                if self._conf is None or not np.isfinite(self._conf[row]):
                    return -1.0
                return float(self._conf[row])
        elif role == Qt.ItemDataRole.ToolTipRole:
            if col == self.TEXT:
                return self._texts[row]
            if col in (self.GOLD, self.PRED):  # a long class name may be shortened
                return self._gold(row, full=True) if col == self.GOLD else self._predicted(row, full=True)
        elif role == Qt.ItemDataRole.ForegroundRole and col == self.PRED and self._wrong(row):
            return QColor(200, 0, 0)
        elif role == Qt.ItemDataRole.TextAlignmentRole and col == self.CONF:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _wrong(self, row: int) -> bool:
        return (self._compare and self._pred is not None and self._labels is not None
                and self._pred[row] >= 0 and self._pred[row] != self._labels[row])


class TextFilterProxy(DisagreeFilterMixin, QSortFilterProxyModel):
    """Filters rows on their text (both texts of a pair, case-insensitive), never on the label columns."""

    _needle = ""
    def setFilterFixedString(self, pattern: str) -> None:  # noqa: N802 - Qt API
        self._needle = str(pattern or "").lower()
        super().setFilterFixedString(pattern)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:  # noqa: N802 - Qt API
        m = self.sourceModel()
        if self._disagree_only and isinstance(m, DatasetTableModel) and not m.disagrees(source_row):
            return False
        if not self._needle or not isinstance(m, DatasetTableModel):
            return super().filterAcceptsRow(source_row, source_parent)
        return any(self._needle in t.lower() for t in m.row_texts(source_row))


class ElidedLabel(QLabel):
    """A one-line label that never widens its dock: text that does not fit ends in "…"
    (:meth:`text` is the whole text)."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(text, parent)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(20)

    def elided_text(self) -> str:
        """What is painted at the current width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, max(self.contentsRect().width(), 0))

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawText(self.contentsRect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), self.elided_text())
        p.end()


class DatasetListPanel(ComparePanelMixin, QWidget):
    """Filterable, sortable table of the dataset's sentences.

    Signals:
        sigSentenceSelected(int, str): source row and sentence of the newly selected row.
    """

    sigSentenceSelected = Signal(int, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = DatasetTableModel(self)
        self.proxy = TextFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(DatasetTableModel.TEXT)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortRole(SORT_ROLE)

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("datasetFilter")
        self.filter_edit.setPlaceholderText("Filter sentences…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.filter_edit.textChanged.connect(lambda _t: self._update_summary())

        self.view = QTableView()
        self.view.setObjectName("datasetTable")
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # file order until the user sorts
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        hh = self.view.horizontalHeader()
        # label columns fit their contents, the sentence takes the rest (elided, its tooltip shows
        # all of it): every column stays visible at the dock's default width, no sideways scrolling
        hh.setStretchLastSection(False)
        hh.setMinimumSectionSize(20)
        hh.setTextElideMode(Qt.TextElideMode.ElideRight)  # a narrow "hypothesis" header ends in "…"
        self._set_resize_modes()
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.viewport().installEventFilter(self)
        self.view.selectionModel().currentRowChanged.connect(self._on_current_changed)

        self.summary_label = ElidedLabel("No dataset open (File → Open Dataset…).")
        self.summary_label.setObjectName("datasetSummary")

        top = QHBoxLayout()
        top.addWidget(self.filter_edit)
        top.addWidget(self._disagree_filter())  # "models disagree" (model_columns.py)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.summary_label)
        self._status = ""

    def _set_resize_modes(self) -> None:
        """The text column(s) stretch (a pair: both texts share the room), the label columns are fixed."""
        m, hh = self.model, self.view.horizontalHeader()
        for c in (m.TEXT, m.SECOND):
            if c >= 0:
                hh.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch)
        for c in (m.GOLD, m.PRED, m.CONF):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.Fixed)

    # -- column widths ----------------------------------------------------------------------
    #: the sentence keeps at least this fraction of the table's width (px at least MIN_TEXT_PX)
    MIN_TEXT_FRACTION = 0.3
    MIN_TEXT_PX = 60
    #: the list's minimum width (px) with a pair dataset: both texts and gold/pred/confidence readable
    PAIR_MIN_WIDTH = 400
    CELL_PAD = 12

    def fit_columns(self) -> None:
        """Size the label columns to their contents (class names, "0.000"), shrunk (elided) only
        when the sentence would get less than :attr:`MIN_TEXT_FRACTION` of the width."""
        fm = self.view.fontMetrics()
        hm = self.view.horizontalHeader().fontMetrics()
        m = self.model

        def width(texts, col) -> int:
            return int(max([fm.horizontalAdvance(t) for t in texts] + [hm.horizontalAdvance(m.columns[col])])) + self.CELL_PAD

        conf = width(("0.000", "…"), m.CONF)
        avail = self.view.viewport().width()
        texts = 2 if m.is_pair() else 1  # a pair's two texts share the room
        room = avail - conf - max(texts * self.MIN_TEXT_PX, self.MIN_TEXT_FRACTION * (1 + 0.4 * (texts - 1)) * avail)
        gold = width(m._gold_names or ("…",), m.GOLD)
        pred = width(m._pred_names or ("…",), m.PRED)
        b = m.PRED2 >= 0  # the comparison model's column ("B pred.") shares the room
        pred2 = width(m._pred2_names or ("…",), m.PRED2) if b else 0
        short = gold + pred + pred2 > room  # long class names: their shortest unique prefixes (full name in the tooltip)
        m.set_short_names(short)
        if short:
            gold = width(unique_prefixes(m._gold_names) or ("…",), m.GOLD)
            pred = width(unique_prefixes(m._pred_names) or ("…",), m.PRED)
            pred2 = width(unique_prefixes(m._pred2_names) or ("…",), m.PRED2) if b else 0
        if gold + pred + pred2 > room > 0:
            gold = pred = max(int(room / (3 if b else 2)), 24)
            pred2 = pred if b else 0
        hh = self.view.horizontalHeader()
        for col, w in ((m.GOLD, gold), (m.PRED, pred), (m.CONF, conf)) + (((m.PRED2, pred2),) if b else ()):
            hh.resizeSection(col, w)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.view.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(obj, event)

    # -- content ----------------------------------------------------------------------------
    def set_dataset(self, texts: Sequence[str], labels, gold_names: Sequence[str], name: str = "", *,
                    pairs: Sequence[str] | None = None, segment_names: Sequence[str] = ()) -> None:
        """Show a dataset's sentences (gold names: display name of each label index); a pair
        dataset: ``pairs`` (each row's second text) and ``segment_names`` (column headers)."""
        self.disagree_check.setChecked(False)  # the comparison model's column is rebuilt for the new rows
        self.disagree_check.hide()
        self.model.set_dataset(texts, labels, gold_names, pairs=pairs, segment_names=segment_names)
        self.filter_edit.setPlaceholderText("Filter sentences…" if pairs is None else
                                            f"Filter {' and '.join(self.model.columns[:2])}…")
        self._set_resize_modes()
        # a pair's two texts and its three label columns need a wider list than one sentence does
        if self.model.is_pair():
            self.setMinimumWidth(max(self.minimumWidth(), self.PAIR_MIN_WIDTH))
        self.fit_columns()
        self._name = name
        self._status = ""
        self._update_summary()

    def set_predictions(self, predicted, confidence, class_names, comparable: bool = True) -> None:
        self.model.set_predictions(predicted, confidence, class_names, comparable)
        self.fit_columns()
        self._status = ""
        self._update_summary()

    def set_status(self, text: str) -> None:
        """A short state shown in the summary line ("predicting…")."""
        self._status = text
        self._update_summary()

    def _update_summary(self) -> None:
        n = self.model.rowCount()
        if n == 0 and not getattr(self, "_name", ""):
            return
        name = getattr(self, "_name", "")
        unit = "pairs" if self.model.is_pair() else "sentences"
        parts = [f"{n} {unit}"]
        shown = self.proxy.rowCount()
        if shown != n:
            parts.append(f"{shown} shown")
        acc = self.model.accuracy()
        if acc is not None:
            parts.append(f"accuracy {100 * acc:.1f}%")
        if self.model.has_compare_predictions():
            parts.append(f"models disagree on {self.model.disagreement_count()}")
        if self._status:
            parts.append(self._status)
        # one line: the file name (and anything cut off) in the tooltip
        self.summary_label.setText(" · ".join(parts))
        self.summary_label.setToolTip(" · ".join([f"{n} {unit}" + (f" in {name}" if name else "")] + parts[1:]))

    # -- selection --------------------------------------------------------------------------
    def select_row(self, source_row: int) -> None:
        """Select ``source_row`` (clears the filter if it hides the row)."""
        src = self.model.index(source_row, 0)
        idx = self.proxy.mapFromSource(src)
        if not idx.isValid():
            self.filter_edit.clear()
            idx = self.proxy.mapFromSource(src)
        if idx.isValid():
            self.view.setCurrentIndex(idx)
            self.view.selectRow(idx.row())
            self.view.scrollTo(idx)

    def selected_row(self) -> int | None:
        """Source row of the current row, or None."""
        idx = self.view.currentIndex()
        return self.proxy.mapToSource(idx).row() if idx.isValid() else None

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        row = self.proxy.mapToSource(current).row()
        self.sigSentenceSelected.emit(row, self.model.text(row))


def unique_prefixes(names, min_len: int = 3) -> tuple[str, ...]:
    """The shortest prefix of each name (at least ``min_len`` characters) that no other name
    shares: ``("negative", "positive")`` → ``("neg", "pos")``; names shorter than that stay whole."""
    names = tuple(str(n) for n in names)
    out = []
    for i, n in enumerate(names):
        k = min(min_len, len(n))
        while k < len(n) and any(j != i and o.startswith(n[:k]) for j, o in enumerate(names)):
            k += 1
        out.append(n[:k])
    return tuple(out)
