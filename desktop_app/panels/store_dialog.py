"""File → Compute Attribution Store…: every chosen method on every row of the open dataset into a
store folder (:func:`interp_engine.store.attribute_dataset` with the local backend, as
``interp-studio attribute-dataset``). :meth:`ComputeStoreDialog.request` is the
:class:`~interp_engine.requests.AttributeDatasetRequest` the controller runs in the engine worker
(progress and Cancel; a rerun into the same folder resumes)."""
from __future__ import annotations

from typing import Mapping, Sequence

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from interp_engine.config import StoreConfig
from interp_engine.figures.evaluation import metric_label

from .evaluate_dialog import MethodChecklist, folder_row


class ComputeStoreDialog(QDialog):
    """Methods, rows, per-row metrics, output folder and batch size of a store.

    Args:
        metrics: the per-row metrics a store can hold (:data:`interp_engine.store.STORE_METRICS`).
        methods: the methods checked at first (e.g. the heatmap's). n_rows: rows of the open
            dataset (0: unknown). configs: ``{method: config}`` sent with the request. out: the
            folder suggested.
    """

    def __init__(self, metrics: Sequence[str], *, methods: Sequence[str] = (), n_rows: int = 0,
                 configs: Mapping | None = None, out: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("computeStoreDialog")
        self.setWindowTitle("Compute attribution store")
        self._configs = dict(configs or {})
        self.methods_list = MethodChecklist(methods)
        self.methods_list.setObjectName("storeMethods")
        self.n_spin = QSpinBox()
        self.n_spin.setObjectName("storeN")
        self.n_spin.setRange(0, max(int(n_rows), 1) if n_rows else 10_000_000)
        self.n_spin.setSpecialValueText("all")
        self.n_spin.setValue(0)
        self.n_spin.setToolTip("The first N rows of the open dataset (all: every row)")
        self.metric_checks: dict[str, QCheckBox] = {}
        mrow = QHBoxLayout()
        for m in metrics:
            cb = QCheckBox(metric_label(m))
            cb.setObjectName(f"storeMetric_{m}")
            cb.setChecked(m in StoreConfig.metrics)
            cb.setToolTip(f"Store {metric_label(m)} of every method on every row (as interp-studio evaluate "
                          "computes it for that sentence)")
            self.metric_checks[m] = cb
            mrow.addWidget(cb)
        mrow.addStretch(1)
        self.out_edit = QLineEdit(out)
        self.out_edit.setObjectName("storeOut")
        self.out_edit.setPlaceholderText("the store folder (created; an existing store is resumed)")
        self.batch_spin = QSpinBox()
        self.batch_spin.setObjectName("storeBatch")
        self.batch_spin.setRange(1, 100_000)
        self.batch_spin.setValue(StoreConfig.batch_size)
        self.batch_spin.setToolTip("Rows per part file: never changes the store's content")
        form = QFormLayout()
        form.addRow("Methods:", self.methods_list)
        form.addRow("Rows:", self.n_spin)
        form.addRow("Per-row metrics:", mrow)
        form.addRow("Output folder:", folder_row(self.out_edit, self, "Attribution store folder"))
        form.addRow("Rows per part file:", self.batch_spin)
        note = QLabel("Uses the open model, masked LM and dataset; computed in this process (local backend). "
                      "For a cluster: interp-studio attribute-dataset --backend ray.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        self.error_label = QLabel()
        self.error_label.setObjectName("storeError")
        self.error_label.setStyleSheet("color: #b2182b;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Compute")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.error_label)
        lay.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

    def _accept(self) -> None:
        if not self.methods_list.methods():
            self.error_label.setText("Check at least one method.")
        elif not self.out_edit.text().strip():
            self.error_label.setText("Choose the output folder.")
        else:
            self.accept()

    def request(self):
        """The :class:`~interp_engine.requests.AttributeDatasetRequest` of the form (local backend)."""
        from interp_engine.requests import AttributeDatasetRequest

        methods = self.methods_list.methods()
        return AttributeDatasetRequest(
            methods=methods, configs={m: c for m, c in self._configs.items() if m in methods},
            n=self.n_spin.value() or None, out=self.out_edit.text().strip(), batch_size=self.batch_spin.value(),
            metrics=tuple(m for m, cb in self.metric_checks.items() if cb.isChecked()), backend="local")


__all__ = ["ComputeStoreDialog"]
