""""Merge ## pieces into words" on the sentence heatmap: the boxes of a WordPiece model's tokens
(``un ##watch ##able``) drawn as words (``unwatchable``), each coloured by the sum of its pieces'
scores (:func:`interp_engine.wordpieces.merge_word_pieces`: attributions are additive over
features). Display only: the result keeps its per-piece scores, and positions stay piece positions
(a click on a merged word selects its first piece).

:func:`piece_display` is what :class:`~.token_boxes.TokenHeatmapView` draws; :class:`MergePiecesMixin`
gives the heatmap panel its check box, enabled only while the open model's tokens are word pieces
(``ModelInfo.word_pieces``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtWidgets import QCheckBox

from interp_engine.wordpieces import merge_word_pieces

from ..colors import format_score, symmetric_limit

#: the check box's text
MERGE_LABEL = "Merge ## pieces into words"
MERGE_TOOLTIP = ("Show each word as one box: its ## word pieces merged, coloured by the sum of their scores "
                 "(display only; a click on a word selects its first piece)")
NO_PIECES_TOOLTIP = "The open model reads whole words: there are no ## word pieces to merge"


def piece_display(tokens: Sequence[str], scores: np.ndarray, special: np.ndarray, merge: bool):
    """What the boxes show: ``(shown, shown_scores, hidden, word, vmax)``.

    ``shown`` (n strings) and ``shown_scores`` (n,) are each box's text and score (merged: at a
    word's first piece, the whole word and the sum of its pieces' scores); ``hidden`` (n,) bool marks
    the pieces drawn in their word's box; ``word[i]`` is the ``(first, last)`` piece of token i's
    word; ``vmax`` is the symmetric colour limit over the shown non-special boxes.
    """
    n = len(tokens)
    scores = np.asarray(scores, dtype=float)
    special = np.asarray(special, dtype=bool)
    shown, shown_scores = list(tokens), scores.copy()
    hidden = np.zeros(n, dtype=bool)
    word = [(i, i) for i in range(n)]
    if merge and n:
        m = merge_word_pieces(tokens, scores, None, special)
        for w, g in enumerate(m.groups):
            shown[g[0]], shown_scores[g[0]] = m.words[w], float(m.scores[w])
            hidden[list(g[1:])] = True
            for i in g:
                word[i] = (g[0], g[-1])
    keep = ~special & ~hidden
    vmax = symmetric_limit(shown_scores, keep) if keep.any() else (symmetric_limit(shown_scores) if n else 0.0)
    return shown, shown_scores, hidden, word, vmax


def merged_tooltip(tokens, scores, shown, shown_scores, span: tuple[int, int], kind: str = "") -> str:
    """Hover text of a merged word: the word, its piece positions, its score and each piece's."""
    first, last = span
    pieces = " + ".join(f"{tokens[k]} {format_score(float(scores[k]))}" for k in range(first, last + 1))
    return f"“{shown[first]}”  tokens {first}-{last}{kind}\nscore {format_score(float(shown_scores[first]))} = {pieces}"


class MergePiecesMixin:
    """The heatmap panel's "Merge ## pieces into words" check box (``self.merge_check``, object
    name ``mergePiecesCheck``). Needs ``self.view`` (a TokenHeatmapView), ``self.colorbar`` and
    ``self.result``."""

    def _init_merge_pieces(self, row) -> None:
        """Add the check box to the layout ``row`` (disabled until :meth:`set_word_pieces`)."""
        self.merge_check = QCheckBox(MERGE_LABEL)
        self.merge_check.setObjectName("mergePiecesCheck")
        self.merge_check.setEnabled(False)
        self.merge_check.setToolTip(NO_PIECES_TOOLTIP)
        self.merge_check.toggled.connect(self._on_merge_toggled)
        row.addWidget(self.merge_check)

    def set_word_pieces(self, available: bool) -> None:
        """Enable the check box when the open model's tokens are ``##`` word pieces; a model of
        whole words unchecks and disables it."""
        self.merge_check.setEnabled(bool(available))
        self.merge_check.setToolTip(MERGE_TOOLTIP if available else NO_PIECES_TOOLTIP)
        if not available:
            self.merge_check.setChecked(False)

    def merge_pieces(self) -> bool:
        """Whether the heatmap shows words (``##`` pieces merged)."""
        return self.merge_check.isChecked()

    def _on_merge_toggled(self, on: bool) -> None:
        self.view.set_merge_pieces(on)
        if self.result is not None:  # the words' scale
            self.colorbar.set_scale(self.view.vmax)
