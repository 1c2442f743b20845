"""The dataset list's comparison-model parts (Kim et al. 2020 Fig. 4a, two models on one
dataset): a column with model B's predicted class ("B pred.", the open model's becomes "A pred.";
the letter first, so that a narrow, elided header still says which model)
and the "models disagree" filter, which keeps the rows whose two predicted classes have different
*names* (two models with different class lists are compared by name, never by index).

Mixins of :class:`~.dataset_list.DatasetTableModel` (:class:`CompareColumnMixin`),
:class:`~.dataset_list.TextFilterProxy` (:class:`DisagreeFilterMixin`) and
:class:`~.dataset_list.DatasetListPanel` (:class:`ComparePanelMixin`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QHeaderView

#: the role the dataset table sorts by (full class names, lower-cased texts, confidences)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class CompareColumnMixin:
    """Model B's column of the dataset table and the rows where the two models disagree."""

    PRED2_HEADER = "B pred."
    #: the comparison model's column (-1: none), its predicted classes, confidences and class names
    PRED2 = -1
    _pred2: np.ndarray | None = None
    _conf2: np.ndarray | None = None
    _pred2_names: tuple[str, ...] = ()

    def set_compare_predictions(self, predicted: np.ndarray, confidence: np.ndarray, class_names: Sequence[str],
                                model_name: str = "") -> None:
        """Fill (adding it on first use) the last column with the comparison model's predicted
        class (B) of every row; ``confidence`` (N,) is its tooltip. The "Pred." column becomes
        "A pred.". Raises ValueError for a wrong number of rows."""
        predicted = np.asarray(predicted, dtype=np.int64)
        if len(predicted) != len(self._texts):
            raise ValueError(f"{len(predicted)} predictions for {len(self._texts)} sentences")
        if self.PRED2 < 0:
            n = len(self.columns)
            self.beginInsertColumns(QModelIndex(), n, n)
            self.PRED2 = n
            self.columns = tuple(self.columns) + (self.PRED2_HEADER,)
            self.column_tips = tuple(self.column_tips) + ("",)
            self._pred2, self._conf2 = predicted, np.asarray(confidence, dtype=float)
            self._pred2_names = tuple(class_names)
            self.endInsertColumns()
        self._pred2, self._conf2 = predicted, np.asarray(confidence, dtype=float)
        self._pred2_names = tuple(class_names)
        cols = list(self.columns)
        cols[self.PRED] = "A pred."
        self.columns = tuple(cols)
        tips = list(self.column_tips)
        tips[self.PRED2] = f"Model B's predicted class (B: {model_name}; hover a row for its confidence)"
        tips[self.PRED] = "Model A's predicted class (the open model)"
        self.column_tips = tuple(tips)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, self.PRED, self.PRED2)
        self._changed(self.PRED2, self.PRED2)

    def clear_compare_predictions(self) -> None:
        """Remove the comparison model's column (the comparison model was closed)."""
        if self.PRED2 < 0:
            return
        self.beginRemoveColumns(QModelIndex(), self.PRED2, self.PRED2)
        self.columns = tuple(c for i, c in enumerate(self.columns) if i != self.PRED2)
        self.column_tips = tuple(c for i, c in enumerate(self.column_tips) if i != self.PRED2)
        self.PRED2 = -1
        self._pred2 = self._conf2 = None
        self._pred2_names = ()
        self.endRemoveColumns()
        cols, tips = list(self.columns), list(self.column_tips)
        cols[self.PRED], tips[self.PRED] = type(self).COLUMNS[2], type(self).COLUMN_TIPS[2]
        self.columns, self.column_tips = tuple(cols), tuple(tips)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, self.PRED, self.PRED)

    def has_compare_predictions(self) -> bool:
        return self._pred2 is not None

    def disagreement(self) -> np.ndarray:
        """(N,) bool: True where both models predicted the row and their predicted classes have
        different *names* (two models with different class lists are compared by name); all
        False until both models' predictions are in. Cached per pair of prediction arrays."""
        key = (self._pred, self._pred2, self._pred_names, self._pred2_names, len(self._texts))
        old = getattr(self, "_disagree_key", None)
        if old is None or any(x is not y for x, y in zip(old[:2], key[:2])) or old[2:] != key[2:]:
            n = len(self._texts)
            out = np.zeros(n, dtype=bool)
            if self._pred is not None and self._pred2 is not None:
                def names(pred, known):
                    return np.array([known[k] if 0 <= k < len(known) else str(k) for k in pred.tolist()], dtype=object)

                a, b = self._pred, self._pred2
                out = (a >= 0) & (b >= 0) & (names(a, self._pred_names) != names(b, self._pred2_names))
            self._disagree_key, self._disagree = key, out
        return self._disagree

    def disagrees(self, row: int) -> bool:
        """Whether the two models' predicted class names differ on row ``row`` (:meth:`disagreement`)."""
        d = self.disagreement()
        return bool(d[row]) if 0 <= row < len(d) else False

    def disagreement_count(self) -> int:
        """Rows whose two predicted class names differ (0 without the comparison model)."""
        return int(self.disagreement().sum())

    def _compare_data(self, row: int, role):
        """The comparison model's column."""
        if self._pred2 is None:
            return "…" if role == Qt.ItemDataRole.DisplayRole else None
        k = int(self._pred2[row])
        full = self._pred2_names[k] if 0 <= k < len(self._pred2_names) else ("—" if k < 0 else str(k))
        if role == Qt.ItemDataRole.DisplayRole:
            return "—" if k < 0 else self._name(self._pred2_names, k)
        if role == SORT_ROLE:
            return full
        if role == Qt.ItemDataRole.ToolTipRole:
            c = self._conf2[row] if self._conf2 is not None else float("nan")
            return f"B: {full}" + (f" (p = {c:.3f})" if np.isfinite(c) else "")
        if role == Qt.ItemDataRole.ForegroundRole and self.disagrees(row):
            return QColor(160, 80, 0)
        return None


class DisagreeFilterMixin:
    """The proxy's "models disagree" filter (its ``filterAcceptsRow`` asks the table's
    :meth:`CompareColumnMixin.disagrees`)."""

    #: keep only the rows where the two models' predicted classes differ (by name)
    _disagree_only = False

    def set_disagree_only(self, on: bool) -> None:
        """The "models disagree" filter."""
        self.refilter(lambda: setattr(self, "_disagree_only", bool(on)))

    def refilter(self, change=None) -> None:
        """Apply ``change()`` (None: nothing) and filter the rows again (``beginFilterChange`` /
        ``endFilterChange`` where Qt has them: ``invalidateFilter`` is deprecated in Qt 6.10)."""
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            if change is not None:
                change()
            self.endFilterChange()
        else:  # pragma: no cover - Qt < 6.9
            if change is not None:
                change()
            self.invalidateFilter()


class ComparePanelMixin:
    """The panel's side: B's column appears and leaves, the "models disagree" checkbox."""

    def _disagree_filter(self) -> QCheckBox:
        """The "models disagree" checkbox (hidden until model B's predictions are in)."""
        #: "models disagree": only the rows where the comparison model predicts another class (by name)
        self.disagree_check = QCheckBox("models disagree")
        self.disagree_check.setObjectName("disagreeFilter")
        self.disagree_check.setToolTip("Show only the rows where the two models' predicted classes differ (by class "
                                       "name)")
        self.disagree_check.hide()
        self.disagree_check.toggled.connect(self.proxy.set_disagree_only)
        self.disagree_check.toggled.connect(lambda _on: self._update_summary())
        return self.disagree_check

    def set_compare_predictions(self, predicted, confidence, class_names, model_name: str = "") -> None:
        """Show the comparison model's predictions as a column ("B pred.") and offer the "models
        disagree" filter (see :meth:`DatasetTableModel.set_compare_predictions`)."""
        self.model.set_compare_predictions(predicted, confidence, class_names, model_name)
        self.view.horizontalHeader().setSectionResizeMode(self.model.PRED2, QHeaderView.ResizeMode.Fixed)
        self.disagree_check.show()
        self.proxy.refilter()
        self.fit_columns()
        self._update_summary()

    def clear_compare_predictions(self) -> None:
        """Remove the comparison model's column and the "models disagree" filter."""
        self.disagree_check.setChecked(False)
        self.disagree_check.hide()
        self.model.clear_compare_predictions()
        self.fit_columns()
        self._update_summary()


__all__ = ["SORT_ROLE", "ComparePanelMixin", "CompareColumnMixin", "DisagreeFilterMixin"]
