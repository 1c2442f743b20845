"""Analysis → Evaluate Dataset…: the settings of ``interp-studio evaluate`` (Kim et al.
``004_137d387c767c1e08.txt`` §3.5 and §4.3; Yuan et al. matching rate; Adebayo et al.
randomization) as a dialog: metric, methods, number of sentences, replacement strategy, sampler
masked LM, seed and output folder. :meth:`EvaluateDialog.request` is the
:class:`~interp_engine.requests.EvaluateRequest` the controller runs in the engine worker.

:class:`MethodChecklist` (the registry's methods with check boxes) is shared with File → Compute
Attribution Store….
"""
from __future__ import annotations

from typing import Mapping, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from interp_engine.attribution import registry
from interp_engine.config import STRATEGIES, EvaluateConfig

#: the strategy combo's first entry: the request's ``strategy=None``
DEFAULT_STRATEGY = "default (mlm with a masked LM open, else choose one)"


class MethodChecklist(QListWidget):
    """The registry's attribution methods, each with a check box (label shown, key as data)."""

    def __init__(self, checked: Sequence[str] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("methodChecklist")
        for key in registry.names():
            it = QListWidgetItem(f"{registry.label(key)}  ({key})")
            it.setData(Qt.ItemDataRole.UserRole, key)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Checked if key in checked else Qt.CheckState.Unchecked)
            it.setToolTip(registry.units(key))
            self.addItem(it)
        self.setMinimumHeight(150)

    def methods(self) -> tuple[str, ...]:
        """The checked method keys, in the registry's order."""
        return tuple(self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())
                     if self.item(i).checkState() == Qt.CheckState.Checked)

    def set_methods(self, keys: Sequence[str]) -> None:
        for i in range(self.count()):
            it = self.item(i)
            it.setCheckState(Qt.CheckState.Checked if it.data(Qt.ItemDataRole.UserRole) in keys
                             else Qt.CheckState.Unchecked)


def folder_row(edit: QLineEdit, parent: QWidget, title: str) -> QHBoxLayout:
    """``edit`` with a "Browse…" button that chooses a folder into it."""
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    b = QPushButton("Browse…")
    b.clicked.connect(lambda: _choose_folder(edit, parent, title))
    row.addWidget(b)
    return row


def _choose_folder(edit: QLineEdit, parent: QWidget, title: str) -> None:
    path = QFileDialog.getExistingDirectory(parent, title, edit.text())
    if path:
        edit.setText(path)


class EvaluateDialog(QDialog):
    """The settings of a dataset evaluation; defaults from :class:`~interp_engine.config.EvaluateConfig`.

    Args:
        metrics: ``{metric: description}`` (``interp_engine.cli.EVALUATE_METRICS``).
        n_rows: rows of the open dataset (the range of "sentences"); 0 when unknown.
        configs: ``{method: config}`` sent with the request (the heatmap's settings forms).
    """

    def __init__(self, metrics: Mapping[str, str], *, n_rows: int = 0, configs: Mapping | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("evaluateDialog")
        self.setWindowTitle("Evaluate dataset")
        self._configs = dict(configs or {})
        d = EvaluateConfig()
        self.metric_combo = QComboBox()
        self.metric_combo.setObjectName("evaluateMetric")
        for key, text in metrics.items():
            self.metric_combo.addItem(key, key)
            self.metric_combo.setItemData(self.metric_combo.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.metric_combo.setCurrentIndex(max(0, self.metric_combo.findData("auc_rep")))
        self.metric_note = QLabel()
        self.metric_note.setWordWrap(True)
        self.metric_note.setStyleSheet("color: #555;")
        self.metric_combo.currentIndexChanged.connect(
            lambda _i: self.metric_note.setText(str(metrics.get(self.metric(), ""))))
        self.metric_note.setText(str(metrics.get(self.metric(), "")))
        self.methods_list = MethodChecklist(d.methods)
        self.methods_list.setObjectName("evaluateMethods")
        self.n_spin = QSpinBox()
        self.n_spin.setObjectName("evaluateN")
        self.n_spin.setRange(0, max(int(n_rows), 1) if n_rows else 10_000_000)
        self.n_spin.setSpecialValueText("all")
        self.n_spin.setValue(int(d.n or 0))
        self.n_spin.setToolTip("The first N sentences of the open dataset (all: every one)")
        self.strategy_combo = QComboBox()
        self.strategy_combo.setObjectName("evaluateStrategy")
        self.strategy_combo.addItem(DEFAULT_STRATEGY, None)
        for s in STRATEGIES:
            self.strategy_combo.addItem(s, s)
        self.sampler_edit = QLineEdit()
        self.sampler_edit.setObjectName("evaluateSampler")
        self.sampler_edit.setPlaceholderText("optional: a masked-LM folder (default: the explainer's masked LM)")
        self.seed_spin = QSpinBox()
        self.seed_spin.setObjectName("evaluateSeed")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setValue(d.seed)
        self.out_edit = QLineEdit()
        self.out_edit.setObjectName("evaluateOut")
        self.out_edit.setPlaceholderText("optional: a folder for the per-sentence CSV (a rerun resumes from it)")
        form = QFormLayout()
        form.addRow("Metric:", self.metric_combo)
        form.addRow("", self.metric_note)
        form.addRow("Methods:", self.methods_list)
        form.addRow("Sentences:", self.n_spin)
        form.addRow("Replacement:", self.strategy_combo)
        form.addRow("Sampler masked LM:", folder_row(self.sampler_edit, self, "Sampler masked LM folder"))
        form.addRow("Seed:", self.seed_spin)
        form.addRow("Output folder:", folder_row(self.out_edit, self, "Evaluation output folder"))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Evaluate")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.error_label = QLabel()
        self.error_label.setObjectName("evaluateError")
        self.error_label.setStyleSheet("color: #b2182b;")
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error_label)
        lay.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

    def metric(self) -> str:
        return str(self.metric_combo.currentData())

    def _accept(self) -> None:
        if not self.methods_list.methods() and self.metric() != "matching_rate":
            self.error_label.setText("Check at least one method.")
            return
        self.accept()

    def request(self, out: str | None = None):
        """The :class:`~interp_engine.requests.EvaluateRequest` of the form; ``out``: the output
        folder when the form leaves it empty."""
        from interp_engine.requests import EvaluateRequest

        methods = self.methods_list.methods() or EvaluateConfig.methods
        n = self.n_spin.value() or None
        configs = {m: c for m, c in self._configs.items() if m in methods}
        return EvaluateRequest(
            metric=self.metric(), evaluate=EvaluateConfig(methods=methods, n=n, seed=self.seed_spin.value()),
            strategy=self.strategy_combo.currentData(), configs=configs,
            sampler_mlm=self.sampler_edit.text().strip() or None, out=self.out_edit.text().strip() or out)


__all__ = ["DEFAULT_STRATEGY", "EvaluateDialog", "MethodChecklist", "folder_row"]
