"""Tokens as coloured boxes: the painting shared by the sentence heatmap and the side-by-side
comparison view, and :class:`TokenHeatmapView` (one sentence, boxes that wrap like text).

Every box is coloured on the shared diverging scale (red = evidence for the target class, blue =
against, white = 0, symmetric at ±max|score|); special tokens are grey and italic.

A sentence pair (a result whose ``segment_names`` has two names, e.g. premise and hypothesis) is
drawn as two labelled rows on ONE colour scale, as in Kim et al. 2020
(``004_137d387c767c1e08.txt``) Fig. 2b / 4c: :func:`pair_rows` gives the rows
(:func:`interp_engine.results.segment_rows`), each row wraps on its own, its name at its left. The
special tokens of a pair ([CLS], [SEP]) belong to no row and are not drawn. Every position stays the
token's index in the combined sequence of the result, so a click in either row reports the index
the engine's results use.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from interp_engine.results import segment_rows

from ..colors import SPECIAL_FILL, SPECIAL_TEXT, diverging_qcolor, format_score, text_color_on
from .merge_pieces import merged_tooltip, piece_display

#: colour of the outline of a shift-clicked span
SPAN_COLOR = QColor(120, 40, 160)
#: border of every token box
BOX_BORDER = QColor(190, 190, 190)
#: shown in place of a whitespace-only token
BLANK_TOKEN = "␣"


#: colour of a pair's row labels ("premise", "hypothesis") and of the line between the rows
ROW_LABEL_COLOR = QColor(60, 60, 60)
ROW_RULE_COLOR = QColor(215, 215, 215)


def pair_rows(result) -> list[tuple[str, list[int]]] | None:
    """The labelled rows of a pair result (``[(segment name, [positions in the combined token
    sequence])]``, special tokens in no row), or None for a single text (drawn as one flowing
    sentence)."""
    segments = getattr(result, "segments", None)
    names = tuple(getattr(result, "segment_names", ()) or ())
    if segments is None or len(names) != 2:
        return None
    return segment_rows(result.tokens, segments, names)


def display_token(tok: str, max_chars: int) -> str:
    """The text drawn in a box: ``␣`` for blank tokens, long ones cut to ``max_chars`` with ``…``."""
    tok = tok if tok.strip() else BLANK_TOKEN
    return tok if len(tok) <= max_chars else tok[: max_chars - 1] + "…"


def token_fill(score: float, vmax: float, special: bool) -> QColor:
    """Fill colour of a box: grey for a special token, else ``score`` on the ±``vmax`` scale."""
    return QColor(SPECIAL_FILL) if special else diverging_qcolor(float(score), vmax)


def scaled_font(base: QFont, factor: float) -> QFont:
    """``base`` enlarged by ``factor`` (from at least 9 pt): the token boxes' font."""
    font = QFont(base)
    font.setPointSizeF(max(font.pointSizeF(), 9.0) * factor)
    return font


def paint_token_box(p: QPainter, rect: QRectF, text: str, fill: QColor, special: bool, font: QFont) -> None:
    """One rounded box filled with ``fill`` and ``text`` centred in it (italic grey if ``special``)."""
    path = QPainterPath()
    path.addRoundedRect(rect, 3, 3)
    p.fillPath(path, fill)
    p.setPen(QPen(BOX_BORDER, 1.0))
    p.drawPath(path)
    if special:
        italic = QFont(font)
        italic.setItalic(True)
        p.setFont(italic)
        p.setPen(SPECIAL_TEXT)
    else:
        p.setFont(font)
        p.setPen(text_color_on(fill))
    p.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)


class TokenHeatmapView(QWidget):
    """Tokens as coloured boxes that wrap across lines.

    Click selects a token; shift-click selects the span from the last clicked token to this one
    (2-3 adjacent tokens: longer spans are cut to 3 tokens ending at the shift-clicked one).

    Signals:
        sigTokenClicked(int): index of the token the user clicked.
        sigSpanSelected(int, int): first and last position of a shift-clicked span of 2-3 tokens
            (two ints, not a tuple: Python objects through signals upset PySide6's refcounts).
    """

    MAX_SPAN = 3

    sigTokenClicked = Signal(int)
    sigSpanSelected = Signal(int, int)
    #: the height the boxes need changed (new tokens, or a new width re-wrapped them)
    sigContentHeightChanged = Signal(int)

    MARGIN = 10
    PAD_X = 6
    PAD_Y = 4
    GAP_X = 6
    GAP_Y = 14
    MAX_CHARS = 32
    FONT_SCALE = 1.35

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFont(scaled_font(self.font(), self.FONT_SCALE))
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(160)
        self._tokens: tuple[str, ...] = ()
        self._scores = np.zeros(0)
        self._special = np.zeros(0, dtype=bool)
        self._vmax = 0.0
        self._rects: list[QRectF] = []
        self._layout_width = -1
        self._content_height = 0
        self._rf: tuple[int, int, QColor] | None = None
        self._selected: int | None = None
        self._span: tuple[int, ...] | None = None
        self._dimmed = False
        self._placeholder = ""
        self._rows: list[tuple[str, list[int]]] | None = None
        self._row_labels: list[tuple[str, QRectF]] = []
        self._row_rules: list[float] = []
        self._merge = False  # show words: ## pieces merged into their word's first box
        self._apply_merge()

    # -- content ----------------------------------------------------------------------------
    def set_tokens(self, tokens: Sequence[str], scores: np.ndarray, special: np.ndarray | None = None,
                   rows: Sequence[tuple[str, Sequence[int]]] | None = None) -> None:
        """Show ``tokens`` (n strings) coloured by ``scores`` (n,); ``special`` (n,) bool greys them.

        ``rows``: a pair's labelled rows (:func:`pair_rows`): each row wraps on its own with its
        name at its left; tokens in no row (special tokens) are not drawn. The colour scale is
        symmetric at ±max|score| over the non-special tokens (of both rows: one scale).
        """
        scores = np.asarray(scores, dtype=float).reshape(-1)
        if len(tokens) != len(scores):
            raise ValueError(f"{len(tokens)} tokens but {len(scores)} scores")
        special = np.zeros(len(tokens), dtype=bool) if special is None else np.asarray(special, dtype=bool).reshape(-1)
        self._tokens = tuple(str(t) for t in tokens)
        self._scores = scores
        self._special = special
        self._rows = [(str(n), [int(i) for i in pos if 0 <= int(i) < len(tokens)]) for n, pos in rows] if rows else None
        self._apply_merge()
        self._rf = None
        self._selected = None
        self._span = None
        self._dimmed = False
        self._placeholder = ""
        self._relayout(force=True)
        self.update()

    def clear(self, placeholder: str = "") -> None:
        """Remove the tokens and show ``placeholder`` instead."""
        self._tokens = ()
        self._scores = np.zeros(0)
        self._special = np.zeros(0, dtype=bool)
        self._rows = None
        self._apply_merge()
        self._rf = None
        self._selected = None
        self._span = None
        self._dimmed = False
        self._placeholder = placeholder
        self._relayout(force=True)
        self.update()

    def set_merge_pieces(self, on: bool) -> None:
        """Show words: a word's ``##`` pieces in one box (the first piece's), coloured by the sum of
        their scores (:func:`interp_engine.wordpieces.merge_word_pieces`; the scale follows the
        words). Display only: positions stay piece positions (a click on a word reports its first
        piece, outlines of piece ranges cover their words' boxes)."""
        self._merge = bool(on)
        self._apply_merge()
        self._relayout(force=True)
        self.update()

    def _apply_merge(self) -> None:
        """The shown text and score of every box, the pieces drawn in no box, and the scale."""
        self._shown, self._shown_scores, self._hidden, self._word, self._vmax = piece_display(
            self._tokens, self._scores, self._special, self._merge)

    def merged(self) -> bool:
        """Whether ``##`` pieces are shown merged into words."""
        return self._merge

    def word_span(self, i: int) -> tuple[int, int]:
        """``(first, last)`` piece of the box token ``i`` is drawn in (``(i, i)`` unless merged)."""
        return self._word[i]

    def shown_token(self, i: int) -> str:
        """The text of the box of token ``i``: the token, or merged, its whole word."""
        return self._shown[self._word[i][0]]

    def set_placeholder(self, text: str) -> None:
        """Text drawn when there are no tokens ("Computing…", an error, a hint)."""
        self._placeholder = text
        self.update()

    def set_dimmed(self, dimmed: bool) -> None:
        """Fade the tokens (a newer result is being computed)."""
        self._dimmed = bool(dimmed)
        self.update()

    @property
    def vmax(self) -> float:
        """Half-width of the symmetric colour scale (max|score| over non-special tokens)."""
        return self._vmax

    @property
    def tokens(self) -> tuple[str, ...]:
        return self._tokens

    def token_count(self) -> int:
        return len(self._tokens)

    def rows(self) -> list[tuple[str, list[int]]] | None:
        """The labelled rows of a pair (segment name, positions), or None for one sentence."""
        return None if self._rows is None else [(n, list(p)) for n, p in self._rows]

    def row_labels(self) -> list[tuple[str, QRect]]:
        """``(name, rect)`` of each drawn row label of a pair (widget coordinates)."""
        self._relayout()
        return [(n, r.toAlignedRect()) for n, r in self._row_labels]

    def is_drawn(self, i: int) -> bool:
        """Whether token ``i`` has a box (a pair's special tokens have none)."""
        self._relayout()
        return 0 <= i < len(self._rects) and not self._rects[i].isEmpty()

    def row_of(self, i: int) -> str | None:
        """The name of the row of token ``i`` (a pair), or None."""
        for name, pos in self._rows or ():
            if i in pos:
                return name
        return None

    def token_rect(self, i: int) -> QRect:
        """Box of token ``i`` in widget coordinates."""
        self._relayout()
        return self._rects[i].toAlignedRect()

    def token_color(self, i: int) -> QColor:
        """Fill colour of token ``i`` (grey for special tokens)."""
        return token_fill(float(self._shown_scores[self._word[i][0]]), self._vmax, bool(self._special[i]))

    def index_at(self, pos: QPointF) -> int | None:
        """Index of the token under ``pos`` (widget coordinates), or None."""
        self._relayout()
        p = QPointF(pos)
        for i, r in enumerate(self._rects):
            if not r.isEmpty() and r.contains(p):
                return i
        return None

    def tooltip_text(self, i: int) -> str:
        """Hover text of token ``i``: the token, its index and its score."""
        kind = " (special token)" if self._special[i] else ""
        row = self.row_of(i)
        kind += f" of the {row}" if row else ""
        if self._word[i][1] > self._word[i][0]:  # a merged word: its score is the sum of its pieces'
            return merged_tooltip(self._tokens, self._scores, self._shown, self._shown_scores, self._word[i], kind)
        return f"“{self._tokens[i]}”  token {i}{kind}\nscore {format_score(float(self._scores[i]))}"

    def set_receptive_field(self, first: int, last: int, color: QColor | str) -> None:
        """Outline tokens ``first..last`` (inclusive) in ``color``."""
        n = len(self._tokens)
        if n == 0:
            return
        first, last = max(0, int(first)), min(n - 1, int(last))
        if first > last:
            first, last = last, first
        self._rf = (first, last, QColor(color))
        self.update()

    def clear_receptive_field(self) -> None:
        self._rf = None
        self.update()

    def receptive_field(self) -> tuple[int, int, QColor] | None:
        """The outlined range ``(first, last, color)``, or None."""
        return self._rf

    def set_selected(self, i: int | None) -> None:
        """Underline token ``i`` (None: no selection)."""
        self._selected = None if i is None or not 0 <= i < len(self._tokens) else int(i)
        self.update()

    def selected(self) -> int | None:
        return self._selected

    def span_to(self, i: int) -> tuple[int, ...]:
        """The span a shift-click on token ``i`` selects (from the selected token, at most
        :attr:`MAX_SPAN` tokens ending at ``i``)."""
        anchor = self._selected if self._selected is not None else i
        if anchor == i:
            return (i,)
        step = 1 if i > anchor else -1
        anchor = i - step * (self.MAX_SPAN - 1) if abs(i - anchor) >= self.MAX_SPAN else anchor
        lo, hi = min(anchor, i), max(anchor, i)
        row = next((set(pos) for _n, pos in self._rows or () if i in pos), None)
        return tuple(k for k in range(lo, hi + 1) if row is None or k in row)  # a pair: within i's row

    def set_span(self, span) -> None:
        """Outline the tokens of ``span`` (a sequence of adjacent positions; None clears it)."""
        n = len(self._tokens)
        self._span = tuple(int(k) for k in span if 0 <= int(k) < n) if span else None
        self._span = self._span or None
        self.update()

    def span(self) -> tuple[int, ...] | None:
        """The outlined span, or None."""
        return self._span

    # -- layout -----------------------------------------------------------------------------
    def _display(self, tok: str) -> str:
        return display_token(tok, self.MAX_CHARS)

    #: extra space between the rows of a pair; gap between a row's label and its first box
    ROW_GAP = 10
    LABEL_GAP = 12

    def _label_font(self) -> QFont:
        f = QFont(self.font())
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 0.8)
        return f

    def _relayout(self, force: bool = False) -> None:
        width = self.width()
        if not force and width == self._layout_width and len(self._rects) == len(self._tokens):
            return
        self._layout_width = width
        fm = QFontMetricsF(self.font())
        h = fm.height() + 2 * self.PAD_Y
        right = max(width - self.MARGIN, self.MARGIN + 40)
        self._row_labels, self._row_rules = [], []
        if self._rows is None:
            rows, label_w = [("", range(len(self._tokens)))], 0.0
        else:
            rows = self._rows
            lf = QFontMetricsF(self._label_font())
            label_w = max((lf.horizontalAdvance(n) for n, _p in rows), default=0.0) + self.LABEL_GAP
        x0 = float(self.MARGIN) + label_w
        right = max(right, x0 + 40)
        rects = [QRectF() for _ in self._tokens]
        y = float(self.MARGIN)
        for r, (name, positions) in enumerate(rows):
            if r:
                self._row_rules.append(y + h + (self.GAP_Y + self.ROW_GAP) / 2)
                y += h + self.GAP_Y + self.ROW_GAP
            if self._rows is not None:
                self._row_labels.append((name, QRectF(self.MARGIN, y, label_w - self.LABEL_GAP / 2, h)))
            x = x0
            for i in positions:
                if self._hidden[i]:  # a merged word's later pieces: drawn in its first box
                    continue
                w = max(fm.horizontalAdvance(self._display(self._shown[i])) + 2 * self.PAD_X, h * 0.9)
                if x + w > right and x > x0:
                    x = x0
                    y += h + self.GAP_Y
                rects[i] = QRectF(x, y, w, h)
                x += w + self.GAP_X
        self._rects = rects
        content = int(y + h + self.MARGIN) if self._tokens else 3 * self.MARGIN + int(h)
        if content != self._content_height:
            self._content_height = content
            self.setMinimumHeight(content)
            self.updateGeometry()
            self.sigContentHeightChanged.emit(content)

    def content_height(self) -> int:
        """Height (px) the boxes need at the current width (margins included)."""
        self._relayout()
        return self._content_height

    def sizeHint(self) -> QSize:
        return QSize(600, max(self._content_height, 40))

    def resizeEvent(self, event) -> None:
        self._relayout()
        super().resizeEvent(event)

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        self._relayout()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.fillRect(self.rect(), self.palette().base())
        if not self._tokens:
            if self._placeholder:
                p.setPen(QColor(120, 120, 120))
                p.drawText(self.rect().adjusted(12, 12, -12, -12),
                           int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self._placeholder)
            p.end()
            return
        if self._dimmed:
            p.setOpacity(0.35)
        self._paint_rows(p)
        for i, (tok, r) in enumerate(zip(self._tokens, self._rects)):
            if not r.isEmpty():
                paint_token_box(p, r, self._display(self._shown[i]), self.token_color(i), bool(self._special[i]),
                                self.font())
        if self._selected is not None and not self._rects[self._selected].isEmpty():
            r = self._rects[self._selected]
            p.fillRect(QRectF(r.left(), r.bottom() + 3, r.width(), 3), QColor(30, 30, 30))
        if self._rf is not None:
            self._paint_outline(p, *self._rf)
        if self._span is not None:
            self._paint_outline(p, self._span[0], self._span[-1], SPAN_COLOR, dashed=True)
        p.end()

    def _paint_rows(self, p: QPainter) -> None:
        """A pair's row labels (left of each row) and a faint rule between the rows."""
        if not self._row_labels:
            return
        p.setPen(QPen(ROW_RULE_COLOR, 1.0))
        for y in self._row_rules:
            p.drawLine(QPointF(self.MARGIN, y), QPointF(self.width() - self.MARGIN, y))
        p.setFont(self._label_font())
        p.setPen(ROW_LABEL_COLOR)
        for name, r in self._row_labels:
            p.drawText(r, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), name)

    def _paint_outline(self, p: QPainter, first: int, last: int, color: QColor, dashed: bool = False) -> None:
        rows: dict[float, QRectF] = {}
        for i in range(first, last + 1):
            r = self._rects[i]
            if r.isEmpty():
                continue
            rows[r.top()] = rows[r.top()].united(r) if r.top() in rows else QRectF(r)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for r in rows.values():
            box = r.adjusted(-4, -4, 4, 4) if not dashed else r.adjusted(-7, -7, 7, 7)
            p.setPen(QPen(QColor(255, 255, 255), 6))
            p.drawRoundedRect(box, 5, 5)
            pen = QPen(color, 3)
            if dashed:
                pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawRoundedRect(box, 5, 5)

    # -- interaction ------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            i = self.index_at(event.position())
            if i is not None:
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and self._selected is not None:
                    span = self.span_to(i)
                    if len(span) >= 2:
                        self.set_span(span)
                        self.sigSpanSelected.emit(span[0], span[-1])
                        event.accept()
                        return
                self.set_span(None)
                self.set_selected(i)
                self.sigTokenClicked.emit(i)
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        over = self.index_at(event.position()) is not None
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            i = self.index_at(QPointF(event.pos()))
            if i is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), self.tooltip_text(i), self, self.token_rect(i))
            return True
        return super().event(event)
