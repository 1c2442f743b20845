"""Word vectors for embedding initialisation (gensim; background in ``003_7619bba3d594c08f.txt``
and ``000_73a23ed00cadc781.txt``): train Word2Vec on the training texts (default, as Yuan et al.
``001_e80f9d2c7d254978.txt`` Table 2 use word2vec), or load vectors in word2vec text/binary,
GloVe or fastText format through gensim ``KeyedVectors``.
"""
from __future__ import annotations

import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import InputError


def _stable_hash(s: str) -> int:
    # gensim's default hashfxn is Python's salted hash(): results would change between runs.
    return zlib.crc32(s.encode("utf-8"))


def train_word2vec(tokenized: Sequence[Sequence[str]], *, dim: int = 300, seed: int = 1, epochs: int = 10, window: int = 5):
    """Train skip-gram Word2Vec (gensim) on tokenised sentences, deterministically (one worker,
    a stable hash). Returns gensim ``KeyedVectors``."""
    from gensim.models import Word2Vec

    model = Word2Vec(
        sentences=[list(t) for t in tokenized], vector_size=dim, window=window, min_count=1, sg=1,
        workers=1, seed=seed, epochs=epochs, hashfxn=_stable_hash,
    )
    return model.wv


def load_vectors(path: str | Path, fmt: str | None = None):
    """Load pre-trained vectors as gensim ``KeyedVectors``.

    Args:
        path: the vectors file.
        fmt: ``word2vec`` (text), ``word2vec-bin``, ``glove`` (text without header), ``fasttext``
            (Facebook ``.bin``, which also gives vectors for unseen words) or ``kv`` (gensim's own
            ``KeyedVectors.save`` format — a pickle, so only a file the user chose). None: guess
            from the extension (.bin → word2vec-bin, .vec → word2vec, .txt → GloVe if the first
            line is not a "count dim" header).

    Raises:
        InputError: the file is missing or cannot be parsed in that format.
    """
    from gensim.models import KeyedVectors

    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"{p}: word-vector file not found")
    if fmt is None:
        if p.suffix == ".bin":
            fmt = "word2vec-bin"
        elif p.suffix == ".kv":
            fmt = "kv"
        else:
            with p.open("r", encoding="utf-8", errors="replace") as f:
                first = f.readline().split()
            fmt = "word2vec" if len(first) == 2 and all(x.isdigit() for x in first) else "glove"
    try:
        if fmt == "word2vec":
            return KeyedVectors.load_word2vec_format(str(p), binary=False)
        if fmt == "word2vec-bin":
            return KeyedVectors.load_word2vec_format(str(p), binary=True)
        if fmt == "glove":
            return KeyedVectors.load_word2vec_format(str(p), binary=False, no_header=True)
        if fmt == "fasttext":
            from gensim.models.fasttext import load_facebook_vectors

            return load_facebook_vectors(str(p))
        if fmt == "kv":
            return KeyedVectors.load(str(p))
    except Exception as e:
        raise InputError(f"{p}: could not read word vectors as {fmt} ({type(e).__name__}: {e})") from e
    raise InputError(f"unknown vector format {fmt!r}: use word2vec, word2vec-bin, glove, fasttext or kv")


def embedding_matrix(vocab: dict[str, int], kv, dim: int, *, seed: int = 1) -> tuple[np.ndarray, int]:
    """Rows for every vocabulary id: the word's vector when ``kv`` has it (exact case, then
    lower case), else uniform(-0.25, 0.25) (Kim 2014); row 0 ([PAD]) is zero.

    Returns:
        ``(matrix (V, dim) float32, n_found)``.

    Raises:
        InputError: the vectors' dimension differs from ``dim``.
    """
    if kv.vector_size != dim:
        raise InputError(f"the word vectors have {kv.vector_size} dimensions but the model expects {dim}")
    rng = np.random.default_rng(seed)
    mat = rng.uniform(-0.25, 0.25, size=(len(vocab), dim)).astype(np.float32)
    found = 0
    for word, i in vocab.items():
        for w in (word, word.lower()):
            if w in kv:  # fastText vectors also answer for unseen words (from character n-grams)
                mat[i] = kv[w]
                found += 1
                break
    mat[0] = 0.0
    return mat, found
