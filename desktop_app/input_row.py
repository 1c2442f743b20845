"""The free-text row above the heatmap: one box for a single-text model, two labelled boxes
(premise, hypothesis) for a model that reads sentence pairs.

What the open model reads comes from :attr:`interp_engine.results.ModelInfo.segment_names`:

- two names (a pair TextCNN/BiLSTM): two boxes labelled with them; Tab goes from the first to the
  second, Enter in either explains the pair (:class:`~interp_engine.inputs.TextInput.pair`).
- one name (a single-text model): one box, as before.
- None (a transformer that reads either): one box, and a "Pair" toggle that shows the second box
  (named premise / hypothesis).

A pair shown from elsewhere (a dataset row, a session, ``--pair``) always opens the second box, so
the boxes show what is explained, even when the model reads one text (the engine then says why it
cannot explain it).
"""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from interp_engine.inputs import PAIR_SEGMENTS, TextInput

SINGLE_LABEL = "Sentence:"
SINGLE_PLACEHOLDER = "Type any sentence and press Enter to explain it…"


class InputRow(QWidget):
    """One or two text boxes and their labels.

    Signals:
        sigSubmitted(): Enter was pressed in a box.
    """

    sigSubmitted = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._model_segments: tuple[str, ...] | None = ("text",)
        self._pair_names: tuple[str, str] = PAIR_SEGMENTS
        self.first_label = QLabel(SINGLE_LABEL)
        self.first_label.setObjectName("firstTextLabel")
        self.first_edit = QLineEdit()
        self.first_edit.setObjectName("sentenceEdit")
        self.first_edit.setPlaceholderText(SINGLE_PLACEHOLDER)
        self.first_edit.setClearButtonEnabled(True)
        self.second_label = QLabel()
        self.second_label.setObjectName("secondTextLabel")
        self.second_edit = QLineEdit()
        self.second_edit.setObjectName("hypothesisEdit")
        self.second_edit.setClearButtonEnabled(True)
        self.first_label.setBuddy(self.first_edit)
        self.second_label.setBuddy(self.second_edit)
        self.pair_button = QToolButton()
        self.pair_button.setObjectName("pairToggle")
        self.pair_button.setText("Pair")
        self.pair_button.setCheckable(True)
        self.pair_button.setToolTip("This model reads one text or a pair: show a second box for a sentence pair "
                                    "(premise and hypothesis)")
        self.pair_button.hide()

        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.first_label)
        lay.addWidget(self.first_edit, 1)
        lay.addWidget(self.second_label)
        lay.addWidget(self.second_edit, 1)
        lay.addWidget(self.pair_button)
        QWidget.setTabOrder(self.first_edit, self.second_edit)
        QWidget.setTabOrder(self.second_edit, self.pair_button)

        self.first_edit.returnPressed.connect(self.sigSubmitted)
        self.second_edit.returnPressed.connect(self.sigSubmitted)
        self.pair_button.toggled.connect(lambda _on: self._update())
        self._update()

    # -- what the model reads ---------------------------------------------------------------
    def set_segments(self, names: Sequence[str] | None) -> None:
        """What the open model reads (``ModelInfo.segment_names``): two names = a pair model (two
        boxes), one = a single-text model (one box), None = either (one box and the Pair toggle)."""
        self._model_segments = None if names is None else tuple(str(n) for n in names)
        if self._model_segments is not None and len(self._model_segments) == 2:
            self._pair_names = (self._model_segments[0], self._model_segments[1])
        self.pair_button.blockSignals(True)
        self.pair_button.setChecked(False)
        self.pair_button.blockSignals(False)
        if not self.is_pair():
            self.second_edit.clear()
        self._update()

    def reads_pairs(self) -> bool:
        """Whether the open model reads a pair of texts (two boxes, always)."""
        return self._model_segments is not None and len(self._model_segments) == 2

    def is_pair(self) -> bool:
        """Whether the second box is shown (a pair model, the Pair toggle, or a pair shown)."""
        return self.reads_pairs() or self.pair_button.isChecked() or self._showing_pair

    _showing_pair = False

    def segment_names(self) -> tuple[str, ...]:
        """The labels of the boxes shown: ``("text",)`` or the pair's two names."""
        return self._pair_names if self.is_pair() else ("text",)

    def _update(self) -> None:
        pair = self.is_pair()
        first, second = self._pair_names
        self.first_label.setText(f"{first}:" if pair else SINGLE_LABEL)
        self.first_edit.setPlaceholderText(f"Type the {first}…" if pair else SINGLE_PLACEHOLDER)
        self.second_label.setText(f"{second}:")
        self.second_edit.setPlaceholderText(f"Type the {second} and press Enter to explain the pair…")
        self.second_label.setVisible(pair)
        self.second_edit.setVisible(pair)
        self.pair_button.setVisible(self._model_segments is None)

    # -- content ----------------------------------------------------------------------------
    def input(self) -> TextInput | None:
        """What the boxes hold: a :class:`TextInput` (a pair when the second box is shown and
        filled), or None when the first box is empty."""
        first, second = self.first_edit.text(), self.second_edit.text()
        if not first.strip() and not (self.is_pair() and second.strip()):
            return None
        if self.is_pair() and second.strip():
            return TextInput.pair(first, second, segments=self._pair_names)
        return TextInput.single(first)

    def set_input(self, inp: TextInput | str) -> None:
        """Show ``inp`` in the boxes (a pair opens the second box, named by its segments)."""
        inp = TextInput.of(inp)
        if inp.is_pair:
            self._pair_names = (inp.segments[0], inp.segments[1])
            if self._model_segments is None:  # a model that reads either: the toggle says "pair"
                self.pair_button.blockSignals(True)
                self.pair_button.setChecked(True)
                self.pair_button.blockSignals(False)
            self._showing_pair = not self.reads_pairs() and self._model_segments is not None
            texts = inp.texts
        else:
            self._showing_pair = False
            texts = (inp.texts[0], "")
        for edit, text in zip((self.first_edit, self.second_edit), texts):
            if edit.text() != text:
                edit.setText(text)
                edit.setCursorPosition(0)
        self._update()
