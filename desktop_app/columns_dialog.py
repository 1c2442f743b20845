"""File → Dataset Columns…: which columns File → Open Dataset… reads: the text, a sentence pair's
second text (empty = auto-detect premise/hypothesis, sentence1/sentence2; the engine's
``LoadDatasetRequest.pair_column``) and the label."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from interp_engine.config import DatasetConfig

AUTO_PAIR = "auto-detect (premise/hypothesis, sentence1/sentence2)"


class ColumnsDialog(QDialog):
    """Three column names; :meth:`columns` is ``(text, pair, label)`` ("" pair = auto-detect)."""

    def __init__(self, text_column: str = DatasetConfig.text_column, pair_column: str = DatasetConfig.pair_column,
                 label_column: str = DatasetConfig.label_column, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("columnsDialog")
        self.setWindowTitle("Dataset columns")
        self.text_edit = QLineEdit(text_column)
        self.text_edit.setObjectName("textColumnEdit")
        self.text_edit.setPlaceholderText(DatasetConfig.text_column)
        self.pair_edit = QLineEdit(pair_column or "")
        self.pair_edit.setObjectName("pairColumnEdit")
        self.pair_edit.setPlaceholderText(AUTO_PAIR)
        self.label_edit = QLineEdit(label_column)
        self.label_edit.setObjectName("labelColumnEdit")
        self.label_edit.setPlaceholderText(DatasetConfig.label_column)
        form = QFormLayout()
        form.addRow("Text (or premise):", self.text_edit)
        form.addRow("Second text of a pair:", self.pair_edit)
        form.addRow("Label:", self.label_edit)
        note = QLabel("A file with premise/hypothesis or sentence1/sentence2 columns opens as sentence pairs; name "
                      "the second column here for other pair files.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(buttons)

    def columns(self) -> tuple[str, str, str]:
        """``(text column, pair column ("" = auto-detect), label column)`` as typed."""
        return (self.text_edit.text().strip() or DatasetConfig.text_column, self.pair_edit.text().strip(),
                self.label_edit.text().strip() or DatasetConfig.label_column)
