"""Word pieces merged into words, for display (no Qt).

A WordPiece tokenizer (BERT's; our TextCNN/BiLSTM trained with ``train --tokenizer``) splits a
word it does not know whole into a first piece and ``##`` continuations: "unwatchable" →
``un ##watch ##able``. Attribution methods score every piece (the model's features are the
pieces); :func:`merge_word_pieces` groups each piece with the ``##`` pieces that follow it into one
word whose score is the **sum** of its pieces' scores, and :func:`merge_attribution` does it for a
whole :class:`~interp_engine.results.TokenAttribution`. The per-piece scores stay in the original
result; merging only changes what is shown.

Why a sum: the attributions here are additive over input features -- gradient × input and
integrated gradients (completeness, Sundararajan et al. 2017) give a group of features the sum of
its members' attributions, which is what Captum's ``feature_mask`` does when several input
features are grouped into one -- so a word's score is the total evidence of its pieces. For
erasure / input marginalization (Kim et al. 2020 ``004_137d387c767c1e08.txt`` eq. 4-5), where
each piece is marginalized on its own, the sum is the sum of the pieces' one-at-a-time effects,
not the effect of removing the whole word at once (the model is not linear); the figure's and the
app's merged view is a display of the per-piece numbers, not a new computation.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .models.tokenization import CONTINUATION_PREFIX


@dataclass(frozen=True)
class MergedPieces:
    """Words made of word pieces.

    Attributes:
        words: W display strings (a word's pieces joined, ``##`` removed; special tokens as they are).
        scores: (..., W) float64 sum of the pieces' scores of each word (the pieces' axis is last).
        groups: W tuples of piece positions (ascending, contiguous) making each word; ``groups[w][0]``
            is the word's first piece (what a click on the word selects).
        offsets: (W, 2) int64 character offsets, from the first piece's start to the last piece's end
            ((0, 0) for special tokens).
        special: (W,) bool, True for special tokens ([CLS], [SEP]); they are never merged.
        word_of: (n,) int64 the word index of every piece.
    """

    words: tuple[str, ...]
    scores: np.ndarray
    groups: tuple[tuple[int, ...], ...]
    offsets: np.ndarray
    special: np.ndarray
    word_of: np.ndarray


def piece_groups(tokens: Sequence[str], special: Sequence[bool] | None = None, segments: Sequence[int] | None = None,
                 *, prefix: str = CONTINUATION_PREFIX) -> list[list[int]]:
    """The positions of each word: a piece starts a word unless it begins with ``prefix`` (``##``)
    and follows a non-special piece of the same segment (``segments``: 0/1 per token of a pair, -1
    special; None: one text). A special token is always a word of its own; so is a piece that is
    only ``##`` (the literal text "##" read as a piece of its own).

    Returns:
        W lists of positions covering ``range(len(tokens))`` in order.
    """
    n = len(tokens)
    sp = [False] * n if special is None else [bool(s) for s in special]
    seg = [0] * n if segments is None else [int(s) for s in segments]
    groups: list[list[int]] = []
    for i, tok in enumerate(tokens):
        cont = (i > 0 and not sp[i] and not sp[i - 1] and seg[i] == seg[i - 1]
                and str(tok).startswith(prefix) and len(str(tok)) > len(prefix))
        if cont and groups:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def merge_word_pieces(tokens: Sequence[str], scores, offsets=None, special: Sequence[bool] | None = None, *,
                      segments: Sequence[int] | None = None, prefix: str = CONTINUATION_PREFIX) -> MergedPieces:
    """Group each word piece with its following ``##`` continuations into one word.

    Args:
        tokens: n piece strings (``["[CLS]", "un", "##watch", "##able", "film", "[SEP]"]``).
        scores: (n,) or (..., n) scores of the pieces (several rows: the last axis is the pieces').
        offsets: (n, 2) character offsets of the pieces, or None (all (0, 0)).
        special: (n,) bool, True at special tokens (never merged); None: none.
        segments: (n,) segment of each piece (a pair's 0/1, -1 special); pieces of different
            segments are never merged.
        prefix: the continuation marker (``##``, :data:`~.models.tokenization.CONTINUATION_PREFIX`).

    Returns:
        a :class:`MergedPieces`; a word's score is the sum of its pieces' scores (attributions are
        additive over features, as Captum's feature masks group them; see the module docstring).
        NaN in a piece makes its word NaN.

    Raises:
        ValueError: ``scores``' last axis or ``offsets``/``special`` do not have one entry per token.
    """
    n = len(tokens)
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 0 or s.shape[-1] != n:
        raise ValueError(f"scores must have one value per token ({n}) on their last axis, got shape {s.shape}")
    offs = np.zeros((n, 2), dtype=np.int64) if offsets is None else np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    sp = np.zeros(n, dtype=bool) if special is None else np.asarray(special, dtype=bool)
    if len(offs) != n or len(sp) != n:
        raise ValueError(f"offsets and special must have one entry per token ({n})")
    groups = piece_groups(tokens, sp, segments, prefix=prefix)
    words, w_offs, w_special = [], [], []
    word_of = np.zeros(n, dtype=np.int64)
    for w, g in enumerate(groups):
        word_of[g] = w
        first = str(tokens[g[0]])
        words.append(first + "".join(str(tokens[i])[len(prefix):] for i in g[1:]))
        w_offs.append((int(offs[g[0], 0]), int(offs[g[-1], 1])))
        w_special.append(bool(sp[g[0]]))
    starts = np.asarray([g[0] for g in groups], dtype=np.int64)
    w_scores = np.add.reduceat(s, starts, axis=-1) if n else s.copy()
    return MergedPieces(words=tuple(words), scores=w_scores, groups=tuple(tuple(g) for g in groups),
                        offsets=np.asarray(w_offs, dtype=np.int64).reshape(-1, 2), special=np.asarray(w_special, bool),
                        word_of=word_of)


def has_word_pieces(tokens: Sequence[str], special: Sequence[bool] | None = None, *,
                    prefix: str = CONTINUATION_PREFIX) -> bool:
    """True when merging would change ``tokens``: some non-special token continues a word (``##…``)."""
    return len(piece_groups(tokens, special, prefix=prefix)) < len(tokens)


def merge_attribution(result, *, prefix: str = CONTINUATION_PREFIX):
    """A :class:`~interp_engine.results.TokenAttribution` whose tokens are words: the result with
    its ``##`` pieces merged (:func:`merge_word_pieces`; scores summed), for display and figures.

    The per-piece arrays that do not add up (``n_candidates``, ``dropped_mass``) are dropped (None);
    ``unknown`` is True for a word with an [UNK] piece; ``segments`` are those of each word's first
    piece; ``params`` gains ``"merged_pieces": True``. A result without continuations is returned
    unchanged (the same object).
    """
    segs = None if getattr(result, "segments", None) is None else np.asarray(result.segments)
    m = merge_word_pieces(result.tokens, result.scores, result.offsets, result.special, segments=segs, prefix=prefix)
    if len(m.words) == len(result.tokens):
        return result
    first = np.asarray([g[0] for g in m.groups], dtype=np.int64)
    unknown = None
    if getattr(result, "unknown", None) is not None:
        unk = np.asarray(result.unknown, dtype=bool)
        unknown = np.asarray([bool(unk[list(g)].any()) for g in m.groups], dtype=bool)
    return dataclasses.replace(
        result, tokens=m.words, scores=m.scores, offsets=m.offsets, special=m.special,
        segments=None if segs is None else segs[first], n_candidates=None, dropped_mass=None, unknown=unknown,
        params={**dict(result.params or {}), "merged_pieces": True},
    )


__all__ = ["MergedPieces", "has_word_pieces", "merge_attribution", "merge_word_pieces", "piece_groups"]
