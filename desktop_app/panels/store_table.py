"""The Dataset results dock's table: an attribution store's rows as a Qt table model (one row per
dataset row; the per-row metrics and ρ(A, B) columns), its filter proxy, and the two computations
the dock shows beside it (ρ(A, B) per row and the histograms on shared bins)
(:mod:`desktop_app.panels.dataset_results`)."""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from interp_engine.attribution import registry
from interp_engine.figures.evaluation import metric_label

from .model_columns import SORT_ROLE, DisagreeFilterMixin

#: bins of the histogram (shared by the methods)
HISTOGRAM_BINS = 20


def rho_header(a: str | None, b: str | None) -> str:
    """The ρ column's header: ``"ρ(A,B)"`` over the two methods' short names (two lines)."""
    return f"ρ(A,B)\n{registry.short_label(a)}, {registry.short_label(b)}" if a and b else "ρ(A,B)"


def spearman_rows(a: Sequence[np.ndarray], b: Sequence[np.ndarray], words: Sequence[np.ndarray] | None = None
                  ) -> np.ndarray:
    """(N,) Spearman ρ of ``a[i]`` and ``b[i]`` (:func:`scipy.stats.spearmanr`) over the tokens
    ``words[i]`` (bool masks; None: every token) where both are finite; NaN for fewer than two such
    tokens or a constant ranking."""
    from scipy.stats import spearmanr

    out = np.full(len(a), np.nan)
    for i, (x, y) in enumerate(zip(a, b)):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if len(x) != len(y):
            continue
        keep = np.isfinite(x) & np.isfinite(y)
        if words is not None and len(words[i]) == len(x):
            keep &= np.asarray(words[i], dtype=bool)
        if keep.sum() < 2 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[i] = float(spearmanr(x[keep], y[keep]).statistic)
    return out


def shared_histograms(columns: dict[str, np.ndarray], bins: int = HISTOGRAM_BINS) -> dict[str, tuple]:
    """``{name: (edges, counts)}``: :func:`numpy.histogram` of each column's finite values on
    bins shared by all columns (:func:`numpy.histogram_bin_edges` of their union). Columns without
    a finite value are left out."""
    finite = {k: np.asarray(v, dtype=float)[np.isfinite(np.asarray(v, dtype=float))] for k, v in columns.items()}
    finite = {k: v for k, v in finite.items() if len(v)}
    if not finite:
        return {}
    edges = np.histogram_bin_edges(np.concatenate(list(finite.values())), bins=bins)
    return {k: (edges, np.histogram(v, bins=edges)[0]) for k, v in finite.items()}


class StoreTableModel(QAbstractTableModel):
    """The rows of an attribution store: row, text(s), gold, predicted, confidence, metric
    columns, ρ(A, B). Columns are rebuilt by :meth:`set_data`; :meth:`set_rho` replaces the ρ column."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.clear()

    def clear(self) -> None:
        self.beginResetModel()
        self.rows = np.zeros(0, np.int64)
        self.texts: tuple[str, ...] = ()
        self.texts_b: tuple[str, ...] | None = None
        self.gold = np.zeros(0, np.int64)
        self.predicted = np.zeros(0, np.int64)
        self.confidence = np.zeros(0)
        self.metric_columns: dict[str, np.ndarray] = {}
        self.metric_keys: dict[str, tuple[str, str]] = {}
        self.rho = np.zeros(0)
        self.rho_header = "ρ(A,B)"
        self.class_names: tuple[str, ...] = ()
        self.segment_names: tuple[str, str] = ("premise", "hypothesis")
        self._columns: list[tuple[str, str, str]] = []
        self.endResetModel()

    def set_data(self, *, rows, texts, texts_b, gold, predicted, confidence, metric_columns, metric_keys,
                 class_names=(), segment_names=("premise", "hypothesis")) -> None:
        self.beginResetModel()
        self.rows = np.asarray(rows, np.int64)
        self.texts = tuple(texts)
        self.texts_b = None if texts_b is None else tuple(texts_b)
        self.gold = np.asarray(gold, np.int64)
        self.predicted = np.asarray(predicted, np.int64)
        self.confidence = np.asarray(confidence, float)
        self.metric_columns = {k: np.asarray(v, float) for k, v in metric_columns.items()}
        self.metric_keys = dict(metric_keys)
        self.rho = np.full(len(self.rows), np.nan)
        self.class_names = tuple(class_names)
        self.segment_names = tuple(segment_names)[:2] if len(segment_names) >= 2 else ("premise", "hypothesis")
        cols = [("row", "Row", "The dataset row (0-based, as the store and interp-studio evaluate count)")]
        if self.texts_b is None:
            cols.append(("text", "Sentence", "The sentence (hover a row for all of it)"))
        else:
            cols += [("text", self.segment_names[0], f"The {self.segment_names[0]}"),
                     ("text_b", self.segment_names[1], f"The {self.segment_names[1]}")]
        cols += [("gold", "Gold", "Gold label"), ("predicted", "Pred.", "The model's predicted class"),
                 ("confidence", "Conf.", "The model's probability of its predicted class")]
        for key, (metric, method) in self.metric_keys.items():
            cols.append((key, f"{metric_label(metric)}\n{registry.short_label(method)}",  # two lines: narrow
                         f"{metric_label(metric)} of {registry.label(method)} on the row (stored as {key})"))
        cols.append(("rho", self.rho_header, "Spearman rank correlation of the two chosen methods' token scores "
                                            "(word tokens): low = the methods disagree on the row"))
        self._columns = cols
        self.endResetModel()

    def set_rho(self, rho: np.ndarray, header: str) -> None:
        self.rho = np.asarray(rho, float)
        self.rho_header = header
        c = self.column("rho")
        if c >= 0:
            key, _, tip = self._columns[c]
            self._columns[c] = (key, header, tip)
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, c, c)
            if len(self.rows):
                self.dataChanged.emit(self.index(0, c), self.index(len(self.rows) - 1, c))

    def column(self, key: str) -> int:
        """The column of ``key`` (``row``, ``text``, ``gold``, ``confidence``, ``rho``, a metric
        column name), or -1."""
        return next((i for i, c in enumerate(self._columns) if c[0] == key), -1)

    def column_keys(self) -> list[str]:
        return [c[0] for c in self._columns]

    def values(self, key: str) -> np.ndarray:
        """The numbers of a numeric column, by source row."""
        if key == "rho":
            return self.rho
        if key == "confidence":
            return self.confidence
        return self.metric_columns[key]

    def row_texts(self, r: int) -> tuple[str, ...]:
        return (self.texts[r],) if self.texts_b is None else (self.texts[r], self.texts_b[r])

    def wrong(self, r: int) -> bool:
        """Gold known and not the predicted class."""
        return bool(self.gold[r] >= 0 and self.gold[r] != self.predicted[r])

    def _label(self, k: int) -> str:
        if k < 0:
            return "?"
        return self.class_names[k] if k < len(self.class_names) else str(k)

    # -- Qt model ---------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._columns[section][2]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, key = index.row(), self._columns[index.column()][0]
        if key in ("text", "text_b"):
            t = self.texts[r] if key == "text" else self.texts_b[r]
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                return t
            return t.lower() if role == SORT_ROLE else None
        if key in ("gold", "predicted"):
            k = int(self.gold[r] if key == "gold" else self.predicted[r])
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                return self._label(k)
            if role == SORT_ROLE:
                return k
            if role == Qt.ItemDataRole.ForegroundRole and key == "predicted" and self.wrong(r):
                return QColor(200, 0, 0)
            return None
        if key == "row":
            if role == Qt.ItemDataRole.DisplayRole:
                return str(int(self.rows[r]))
            if role == SORT_ROLE:
                return int(self.rows[r])
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        v = float(self.values(key)[r])
        if role == Qt.ItemDataRole.DisplayRole:
            return "—" if not np.isfinite(v) else (f"{v:+.2f}" if key == "rho" else f"{v:.3f}")
        if role == SORT_ROLE:
            return v if np.isfinite(v) else -np.inf  # undefined values sort first (ascending)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and not np.isfinite(v):
            return "undefined on this row (fewer than two word tokens, or a constant ranking)"
        return None


class StoreFilterProxy(QSortFilterProxyModel):
    """Keeps rows whose text (either text of a pair) contains the filter string
    (case-insensitive), and optionally only misclassified rows and rows of at least a confidence."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._needle = ""
        self._wrong_only = False
        self._min_conf = 0.0
        self.setSortRole(SORT_ROLE)

    def set_filter(self, needle: str | None = None, wrong_only: bool | None = None,
                   min_confidence: float | None = None) -> None:
        def change() -> None:
            if needle is not None:
                self._needle = needle.strip().lower()
            if wrong_only is not None:
                self._wrong_only = bool(wrong_only)
            if min_confidence is not None:
                self._min_conf = float(min_confidence)

        DisagreeFilterMixin.refilter(self, change)  # the dataset list's begin/endFilterChange

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:  # noqa: N802 - Qt API
        m = self.sourceModel()
        if self._wrong_only and not m.wrong(source_row):
            return False
        if self._min_conf > 0 and not m.confidence[source_row] >= self._min_conf:
            return False
        return not self._needle or any(self._needle in t.lower() for t in m.row_texts(source_row))
