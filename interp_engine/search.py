"""Training-set search (Lopes et al. §4): an on-disk token index with cached predictions, and
activation similarity over every training n-gram. No Qt.

Index (SQLite FTS5), case-sensitive by construction
---------------------------------------------------
FTS5's ``unicode61`` tokenizer folds case and splits on its own rules, so we never let it see our
words: each sentence is split with the case-preserving word tokenizer of our models
(:func:`~interp_engine.models.tokenization.pre_tokenize`) and every word is stored as the **hex code
of its UTF-8 bytes** ("Toy" -> ``546f79``), joined by spaces. Hex words are lowercase ASCII
alphanumerics, so unicode61 keeps each one whole and unchanged: one FTS token per word unit,
lossless, exact-case. A query is split and encoded the same way, so ``"Toy Story"`` becomes the
FTS5 phrase ``"546f79 53746f7279"``, which matches only those two words adjacent and in that
order, and never ``toy story``. No Python re-check is needed; match positions are computed in
Python only for the listed (``limit``) matches. Cost: the FTS vocabulary stores ~2x the bytes.

The database lives in ``cache_dir()/search/`` and is named by a hash of the dataset file's path
and the sha256 of its content (plus the columns and class names read, and for pair data the pair
column), so a changed file gets a fresh index and the stale one is deleted; an unchanged file
reuses it. It is built into a temporary file and renamed, so a cancelled or failed build leaves no
index behind.

Sentence pairs
--------------
A pair dataset (premise, hypothesis: :attr:`Dataset.pairs <interp_engine.data.Dataset.pairs>`) is
indexed as two FTS columns. A query matches either text by default (a phrase lies within one text;
``mode="all"`` needs every word somewhere in the row), or only the text ``column`` names
(:meth:`SearchIndex.search`). Each listed match reports the text that holds its first occurrence
(the premise first): ``texts[i]`` is that text and ``char_span[i]`` points into it, and when the
result type has the pair fields (``segment_names``, ``match_segments``, ``pair_texts``, ``column``)
they say which text it is and give both texts of the row. Activation similarity encodes the pairs
(``Dataset.inputs()``); an n-gram never spans the two texts nor includes a special token, and its
string and offsets come from its own text.

Word pieces
-----------
A model that reads WordPiece pieces (``Classifier.word_pieces``: BERT, or our TextCNN/BiLSTM trained
with ``train --tokenizer``) is searched in its own tokens: :meth:`SearchIndex.search` with that
``tokenizer`` matches word pieces (``TokenSearchResult.unit`` = ``"word pieces"``), in an FTS table
of the same database built once per tokenizer (named by a hash of its ``tokenizer.json``). Each
piece is stored as the hex code of its string, with an ``x`` appended when it ends a word (the
next piece is not a ``##`` continuation), so a typed word matches that whole word only:
"unwatchable" is the phrase ``un ##watch ##able`` whose last piece ends a word, and matches
"unwatchable" but not "unwatchables" (``un ##watch ##able ##s``). A query chunk written as a piece
(``##able``) matches that piece anywhere in a word, so the pieces of a heatmap span (``un
##watch``) find every word that holds them. The tokenizer's normalizer applies to both sides
(an uncased tokenizer matches case-insensitively, as the model reads). ``token_span`` then counts
pieces (special tokens not counted) and ``char_span`` comes from the tokenizer's offsets.

The same database holds the prediction cache: one row per model content hash with the (N, C)
float32 probabilities of every example. Activation vectors of n-grams are ``.npy`` files beside
it (float16, memory-mapped), named by (model hash, layer, n).
"""
from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import PredictConfig, SearchConfig, SimilarityConfig
from .errors import Cancelled, InputError, check_cancel
from .inputs import PAIR_SEGMENTS
from .paths import cache_dir
from .results import SimilarityResult, TokenSearchResult

#: number of index builds in this process (tests check that an unchanged file is not rebuilt)
BUILD_COUNT = 0
#: number of activation-index builds in this process
ACTIVATION_BUILD_COUNT = 0

SCHEMA_VERSION = 2  # 2: invisible format characters are removed before splitting (rebuilds old indexes)
MODES = ("phrase", "all")
#: what a search matches (``TokenSearchResult.unit``): the words of our word splitter, or the word
#: pieces of the open model's WordPiece tokenizer
UNITS = ("words", "word pieces")
#: FTS code suffix of a piece that ends a word (hex codes use only 0-9a-f)
_WORD_END = "x"
METRICS = ("l2", "cosine")
#: FTS column of each text of a row (a pair dataset's second text: ``tok2``)
_FTS_COLUMNS = ("tok", "tok2")

_PRE = None


def _pre_tokenizer():
    """(normalizer, pre-tokenizer) of our word tokenizer: the exact split of ``pre_tokenize``
    (invisible format characters removed, NFC, words and punctuation)."""
    global _PRE
    if _PRE is None:
        from .models.tokenization import _parts

        _PRE = _parts()
    return _PRE


def words_with_offsets(text: str) -> list[tuple[str, tuple[int, int]]]:
    """``pre_tokenize(text)`` with character offsets into ``text`` itself (see
    :func:`interp_engine.models.tokenization.words_with_offsets`)."""
    from .models.tokenization import words_with_offsets as split

    return split(text)


def encode_word(w: str) -> str:
    """Lossless, case-preserving FTS word: the hex code of the UTF-8 bytes."""
    return w.encode("utf-8").hex()


def search_dir() -> Path:
    p = cache_dir() / "search"
    p.mkdir(parents=True, exist_ok=True)
    return p


def _is_pair(dataset) -> bool:
    return getattr(dataset, "pairs", None) is not None


def dataset_key(dataset) -> tuple[str, str]:
    """``(source, content)`` hashes of a Dataset: source names the file (or "mem"), content is the
    sha256 of the file bytes (in-memory data: of its texts, second texts and labels) and of the
    reading options (columns, class names; for pair data the pair column and segment names, so
    that another pair column gets another index; single-text keys are as before pairs existed)."""
    pair = _is_pair(dataset)
    h = hashlib.sha256()
    path = getattr(dataset, "path", None)
    if path is not None and Path(path).is_file():
        src = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:12]
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    else:
        src = "mem"
        for t in dataset.texts:
            h.update(t.encode())
            h.update(b"\0")
        if pair:
            h.update(b"\1pairs\0")
            for t in dataset.pairs:
                h.update(t.encode())
                h.update(b"\0")
        if dataset.labels is not None:
            h.update(np.asarray(dataset.labels, dtype=np.int64).tobytes())
    opts = (getattr(dataset, "text_column", ""), getattr(dataset, "label_column", ""),
            tuple(dataset.class_names), dataset.labels is None, SCHEMA_VERSION)
    if pair:
        opts += ("pair", getattr(dataset, "pair_column", None), tuple(dataset.segment_names))
    h.update(repr(opts).encode())
    return src, h.hexdigest()[:24]


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-") or "x"


class SearchIndex:
    """An opened (built or reused) training-set index. Use :meth:`open`.

    Attributes:
        path: the SQLite file; n_rows: number of examples; labels: (N,) int64 or None;
        class_names: the dataset's class names; built: True if :meth:`open` built it now.
        is_pair: the dataset holds pairs of texts; segment_names: their names (e.g.
            ``("premise", "hypothesis")``), ``()`` for single-text data.
    """

    def __init__(self, path: Path, dataset, built: bool):
        self.path = Path(path)
        self.dataset = dataset
        self.built = built
        self.con = sqlite3.connect(str(self.path), check_same_thread=False)
        self.n_rows = int(self.con.execute("SELECT value FROM meta WHERE key='n_rows'").fetchone()[0])
        self.labels = None if dataset.labels is None else np.asarray(dataset.labels, dtype=np.int64)
        self.class_names = tuple(dataset.class_names)
        self.is_pair = _is_pair(dataset)
        self.segment_names: tuple[str, ...] = tuple(dataset.segment_names) if self.is_pair else ()
        self._pred: dict[str, np.ndarray] = {}

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def open(cls, dataset, *, progress=None, cancel=None, chunk: int = 4096) -> "SearchIndex":
        """Open the index of ``dataset`` (a :class:`~interp_engine.data.Dataset`), building it if
        the file is new or changed.

        Args:
            progress: ``progress(done, total, message)``; cancel: ``threading.Event``.
            chunk: rows per insert batch (between cancellation checks).

        Raises:
            Cancelled: ``cancel`` was set; no index file is left behind.
        """
        src, key = dataset_key(dataset)
        d = search_dir()
        path = d / f"{src}_{key}.sqlite"
        if path.exists():
            try:
                return cls(path, dataset, built=False)
            except sqlite3.DatabaseError:
                path.unlink(missing_ok=True)
        cls._build(path, dataset, progress=progress, cancel=cancel, chunk=chunk)
        for stale in d.glob(f"{src}_*"):  # older versions of the same file, and their activations
            if not stale.name.startswith(f"{src}_{key}") and ".tmp" not in stale.name:
                stale.unlink(missing_ok=True)
        return cls(path, dataset, built=True)

    @staticmethod
    def _build(path: Path, dataset, *, progress=None, cancel=None, chunk: int = 4096) -> None:
        global BUILD_COUNT
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        tmp.unlink(missing_ok=True)
        texts = dataset.texts
        pair = _is_pair(dataset)
        N = len(texts)
        norm, pre = _pre_tokenizer()

        def hexed(t: str) -> str:
            return " ".join(w.encode().hex() for w, _ in pre.pre_tokenize_str(norm.normalize_str(t)))

        try:
            con = sqlite3.connect(str(tmp))
            con.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
                + ("CREATE TABLE docs(id INTEGER PRIMARY KEY, text TEXT, pair TEXT);"
                   "CREATE VIRTUAL TABLE fts USING fts5(tok, tok2, content='', columnsize=0);" if pair else
                   "CREATE TABLE docs(id INTEGER PRIMARY KEY, text TEXT);"
                   "CREATE VIRTUAL TABLE fts USING fts5(tok, content='', columnsize=0);")
                + "CREATE TABLE predictions(model_hash TEXT PRIMARY KEY, n_classes INTEGER, probs BLOB);"
            )
            for start in range(0, N, chunk):
                check_cancel(cancel)
                part = texts[start : start + chunk]
                if pair:
                    docs = [(i, t, t2) for i, (t, t2) in enumerate(zip(part, dataset.pairs[start : start + chunk]), start)]
                    con.executemany("INSERT INTO docs VALUES (?, ?, ?)", docs)
                    con.executemany("INSERT INTO fts(rowid, tok, tok2) VALUES (?, ?, ?)",
                                    [(i, hexed(t), hexed(t2)) for i, t, t2 in docs])
                else:
                    docs = list(enumerate(part, start))
                    fts = [(i, hexed(t)) for i, t in docs]
                    con.executemany("INSERT INTO docs VALUES (?, ?)", docs)
                    con.executemany("INSERT INTO fts(rowid, tok) VALUES (?, ?)", fts)
                if progress is not None:
                    progress(min(start + chunk, N), N, "indexing")
            check_cancel(cancel)
            con.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("n_rows", str(N)), ("schema", str(SCHEMA_VERSION)),
                ("source", str(getattr(dataset, "path", "") or "")),
            ] + ([("segment_names", "\t".join(dataset.segment_names))] if pair else []))
            con.execute("INSERT INTO fts(fts) VALUES ('optimize')")
            con.commit()
            con.close()
            os.replace(tmp, path)
            BUILD_COUNT += 1
        except BaseException:
            try:
                con.close()
            except Exception:
                pass
            tmp.unlink(missing_ok=True)
            raise

    def close(self) -> None:
        self.con.close()

    # -- prediction cache -------------------------------------------------------------------
    def predictions(self, classifier, *, batch_size: int = PredictConfig.batch_size, progress=None,
                    cancel=None) -> np.ndarray:
        """(N, C) float32 class probabilities of every example by ``classifier``, computed once per
        (model content hash, dataset) and stored in the index database. NaN rows: empty texts."""
        mh = classifier.content_hash
        if mh in self._pred:
            return self._pred[mh]
        row = self.con.execute("SELECT n_classes, probs FROM predictions WHERE model_hash=?", (mh,)).fetchone()
        if row is not None:
            p = np.frombuffer(row[1], dtype=np.float32).reshape(self.n_rows, int(row[0]))
        else:
            p = classifier.predict_proba(self.dataset.inputs(), batch_size=batch_size, progress=progress,
                                         cancel=cancel).astype(np.float32)
            with self.con:
                self.con.execute("INSERT OR REPLACE INTO predictions VALUES (?, ?, ?)", (mh, p.shape[1], p.tobytes()))
        self._pred[mh] = p
        return p

    # -- token search -----------------------------------------------------------------------
    def column_index(self, column: str = "") -> int | None:
        """The text a search is restricted to: None for either text ("" or, for single-text data,
        the one text column), else 0 (first text) or 1 (second text). A pair dataset's segment
        names (e.g. ``"sentence2"``) and ``"premise"``/``"hypothesis"`` are accepted.

        Raises:
            InputError: an unknown column name.
        """
        column = (column or "").strip()
        if not column:
            return None
        if not self.is_pair:
            if column in (getattr(self.dataset, "text_column", "text"), "text"):
                return None
            raise InputError(f"this dataset has one text column ({getattr(self.dataset, 'text_column', 'text')}): "
                             f"there is no column {column!r} to search")
        for names in (self.segment_names, PAIR_SEGMENTS):
            if column in names:
                return names.index(column)
        raise InputError(f"unknown column {column!r}: search {' or '.join(self.segment_names)}, or leave the column "
                         f"empty to search both texts")

    def match_rows(self, query: str, mode: str = SearchConfig.mode, column: str = "", *, tokenizer=None,
                   progress=None, cancel=None) -> tuple[np.ndarray, list[str]]:
        """(rows, query words): every example containing the query, in dataset order (pair data:
        in either text, or in the text ``column`` names, see :meth:`column_index`).

        ``tokenizer``: a WordPiece tokenizer (the open model's): match its word pieces (see the
        module doc; the query words returned are then pieces), building its piece table on first use.

        Raises:
            InputError: empty query, unknown mode or column, a ``##`` piece not in the vocabulary.
            Cancelled: while building the piece table (no table is left behind).
        """
        if mode not in MODES:
            raise InputError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}")
        col = self.column_index(column)
        if tokenizer is not None:
            table = self.piece_table(tokenizer, progress=progress, cancel=cancel)
            words, allowed, units = _piece_query(tokenizer, query, mode)
            fts = _piece_fts(allowed, units, mode)
        else:
            table = "fts"
            words = [w for w, _ in words_with_offsets(query)]
            if not words:
                raise InputError("the search query is empty: type a word or a phrase")
            codes = [encode_word(w) for w in words]
            fts = '"' + " ".join(codes) + '"' if mode == "phrase" else " AND ".join(f'"{c}"' for c in codes)
        if col is not None:
            fts = f"{_FTS_COLUMNS[col]} : ({fts})"
        cur = self.con.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid", (fts,))
        rows = np.fromiter((r[0] for r in cur), dtype=np.int64)
        return rows, words

    def piece_table(self, tokenizer, *, progress=None, cancel=None, chunk: int = 4096) -> str:
        """The name of the FTS table of ``tokenizer``'s word pieces (see the module doc), built into
        this database on first use, in one transaction (a cancelled build leaves nothing).

        Raises:
            Cancelled: ``cancel`` was set.
        """
        table = f"fts_wp_{_tokenizer_key(tokenizer)}"
        if self.con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone():
            return table
        cols = ", ".join(_FTS_COLUMNS[: 2 if self.is_pair else 1])
        texts, pairs = self.dataset.texts, self.dataset.pairs if self.is_pair else None
        N = len(texts)
        con = self.con
        try:
            con.execute("BEGIN")
            con.execute(f"CREATE VIRTUAL TABLE {table} USING fts5({cols}, content='', columnsize=0)")
            for start in range(0, N, chunk):
                check_cancel(cancel)
                parts = [[" ".join(c) for c, _ in _piece_codes(tokenizer, texts[start : start + chunk])]]
                if pairs is not None:
                    parts.append([" ".join(c) for c, _ in _piece_codes(tokenizer, pairs[start : start + chunk])])
                marks = ", ".join("?" * len(parts))
                con.executemany(f"INSERT INTO {table}(rowid, {cols}) VALUES (?, {marks})",
                                [(start + i, *vals) for i, vals in enumerate(zip(*parts))])
                if progress is not None:
                    progress(min(start + chunk, N), N, "indexing word pieces")
            check_cancel(cancel)
            con.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return table

    def search(self, query: str, *, mode: str = SearchConfig.mode, limit: int | None = SearchConfig.limit,
               probabilities=None, chosen_class: int = SearchConfig.chosen_class, bins: int = SearchConfig.bins,
               model_hash: str = "",
               model_class_names: tuple = (), column: str = "", tokenizer=None, progress=None,
               cancel=None) -> TokenSearchResult:
        """All examples containing ``query`` (see module doc), with counts and the histogram of
        p(``chosen_class``) split by gold label (Lopes Fig. 5-6).

        Args:
            mode: ``"phrase"`` (adjacent, in order) or ``"all"`` (every word, anywhere).
            column: pair data: ``""`` = either text, or the name of one (``"premise"``,
                ``"hypothesis"``, or the dataset's own column names); see :meth:`column_index`.
            limit: list at most this many matches (None: all); counts always cover all.
            probabilities: (N, C) from :meth:`predictions`, or None (no prediction fields).
            chosen_class: class of the histogram (default 1: "positive").
            bins: histogram bins over [0, 1].
            tokenizer: the open model's WordPiece tokenizer to match its word pieces (``unit`` "word
                pieces"; ``token_span`` then counts pieces), or None to match words (``unit`` "words").
            progress, cancel: for the first search with a tokenizer, which indexes its pieces.

        Returns:
            A :class:`~interp_engine.results.TokenSearchResult`; pair data: ``texts[i]`` is the text
            of the first match (see the module doc) and, when the result type has them,
            ``segment_names``, ``match_segments`` (which text), ``pair_texts`` (both) and ``column``.

        Raises:
            InputError: empty query, bad mode, column or class.
        """
        t0 = time.perf_counter()
        rows, words = self.match_rows(query, mode, column, tokenizer=tokenizer, progress=progress, cancel=cancel)
        hit_of = _first_hit if tokenizer is None else _piece_hit_finder(tokenizer, query, mode)
        col = self.column_index(column)
        shown = rows if limit is None else rows[: max(0, int(limit))]
        ids = ','.join(map(str, shown.tolist()))
        if not len(shown):
            docs: list[tuple[str, ...]] = []
        elif self.is_pair:
            docs = [(r[0], r[1]) for r in self.con.execute(f"SELECT text, pair FROM docs WHERE id IN ({ids}) ORDER BY id")]
        else:
            docs = [(r[0],) for r in self.con.execute(f"SELECT text FROM docs WHERE id IN ({ids}) ORDER BY id")]
        tok_span = np.zeros((len(shown), 2), np.int64)
        char_span = np.zeros((len(shown), 2), np.int64)
        segs = np.zeros(len(shown), np.int64)
        texts = []
        for i, parts in enumerate(docs):
            order = [col] if col is not None else list(range(len(parts)))
            segs[i] = order[0]
            for g in order:
                hit, ws = hit_of(parts[g], words, mode)
                if hit is not None:
                    segs[i] = g
                    tok_span[i] = hit
                    char_span[i] = (ws[hit[0]][1][0], ws[hit[1] - 1][1][1])
                    break
            texts.append(parts[int(segs[i])])
        names = self.class_names or tuple(model_class_names)
        C = len(names)
        gold_all = self.labels[rows] if self.labels is not None else None
        gold = gold_all[: len(shown)] if gold_all is not None else np.full(len(shown), -1, np.int64)
        counts_gold = np.bincount(gold_all, minlength=C).astype(np.int64) if gold_all is not None else np.zeros(0, np.int64)
        edges = np.linspace(0.0, 1.0, bins + 1)
        if probabilities is not None:
            P = np.asarray(probabilities)[rows].astype(np.float64)
            C = max(C, P.shape[1])
            if not 0 <= chosen_class < P.shape[1]:
                raise InputError(f"class {chosen_class} does not exist: the model has classes 0..{P.shape[1] - 1}")
            ok = ~np.isnan(P).any(1)
            pred_all = np.where(ok, np.nan_to_num(P, nan=-1).argmax(1), -1)
            pc_all = P[:, chosen_class]
            counts_pred = np.bincount(pred_all[ok], minlength=P.shape[1]).astype(np.int64)
            groups = [gold_all == g for g in range(len(self.class_names))] if gold_all is not None else [np.ones(len(rows), bool)]
            hist = np.stack([np.histogram(pc_all[g & ok], bins=edges)[0] for g in groups]).astype(np.int64)
            predicted, p_class = pred_all[: len(shown)].astype(np.int64), pc_all[: len(shown)]
        else:
            counts_pred = np.zeros(0, np.int64)
            hist = np.zeros((0, bins), np.int64)
            predicted, p_class = np.full(len(shown), -1, np.int64), np.full(len(shown), np.nan)
        pair_fields = dict(column=(column or "").strip(), segment_names=self.segment_names, match_segments=segs,
                           pair_texts=tuple(tuple(d) for d in docs)) if self.is_pair else {}
        return TokenSearchResult(
            query=query, query_tokens=tuple(words), mode=mode, n_matches=int(len(rows)), rows=shown.copy(),
            texts=tuple(texts), token_span=tok_span, char_span=char_span, gold=gold.astype(np.int64),
            predicted=predicted, p_class=p_class, class_names=tuple(names), chosen_class=int(chosen_class),
            counts_gold=counts_gold, counts_predicted=counts_pred, hist_edges=edges, hist_counts=hist,
            model_hash=model_hash, seconds=time.perf_counter() - t0,
            **_known_fields(TokenSearchResult, {**pair_fields, "unit": UNITS[0 if tokenizer is None else 1]}))

    # -- activation similarity --------------------------------------------------------------
    def _activation_paths(self, classifier, layer_name: str, n: int) -> tuple[Path, Path]:
        stem = self.path.name[: -len(".sqlite")]
        base = f"{stem}_act_{classifier.content_hash}_{_slug(layer_name)}_n{n}"
        return self.path.with_name(base + ".npy"), self.path.with_name(base + "_loc.npy")

    def activations(self, classifier, layer: str | int | None = None, n: int = 2, *, batch_size: int = 64,
                    progress=None, cancel=None):
        """``(vectors, locations)``: the activation vector of every training n-gram at ``layer``
        (the mean of its n locations' vectors), float16 memory-mapped (M, D), and (M, 2) int32
        ``(row, start token)``. Built once per (model, dataset, layer, n), atomically.

        Pair data: the rows are encoded as pairs (``dataset.inputs()``), the start token indexes
        ``classifier.encode([dataset.input(row)]).tokens[0]``, and an n-gram lies within one text.

        Args:
            layer: a ``classifier.hidden_layers()`` row, by name or index (default: the last).
            n: n-gram length (Lopes: bigrams).

        Raises:
            InputError: unknown layer or n < 1; Cancelled: no file is left behind.
        """
        global ACTIVATION_BUILD_COUNT
        import torch

        spec = _layer_spec(classifier, layer)
        if n < 1:
            raise InputError(f"n-gram length must be >= 1, got {n}")
        vpath, lpath = self._activation_paths(classifier, spec.name, n)
        if vpath.exists() and lpath.exists():
            return np.load(vpath, mmap_mode="r"), np.load(lpath, mmap_mode="r")
        texts = self.dataset.inputs() if self.is_pair else list(self.dataset.texts)
        size = (lambda x: sum(len(t) for t in x.texts)) if self.is_pair else len
        order = sorted(range(len(texts)), key=lambda i: size(texts[i]))
        vecs, locs = [], []

        def nonempty(x) -> bool:
            return all(t.strip() for t in x.texts) if self.is_pair else bool(x.strip())

        def run(a: int, b: int) -> None:  # appends only after the forward: safe to retry on OOM
            idx = [i for i in order[a:b] if nonempty(texts[i])]
            if idx:
                v, rs = _ngram_vectors(classifier, [texts[i] for i in idx], spec, n)
                vecs.append(v.astype(np.float16))
                locs.append(np.stack([np.asarray(idx, np.int64)[rs[:, 0]], rs[:, 1]], 1).astype(np.int32))

        from .batching import for_each_chunk

        with torch.inference_mode():
            for_each_chunk(len(order), run, batch_size, progress=progress, cancel=cancel,
                           message=f"activations ({spec.name}, n={n})")
        D = vecs[0].shape[1] if vecs else 0
        V = np.concatenate(vecs) if vecs else np.zeros((0, D), np.float16)
        Lc = np.concatenate(locs) if locs else np.zeros((0, 2), np.int32)
        o = np.lexsort((Lc[:, 1], Lc[:, 0]))  # dataset order
        V, Lc = V[o], Lc[o]
        for arr, p in ((V, vpath), (Lc, lpath)):
            tmp = p.with_name(f"{p.name}.tmp{os.getpid()}.npy")
            try:
                mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=arr.dtype, shape=arr.shape)
                mm[:] = arr
                mm.flush()
                del mm
                os.replace(tmp, p)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        ACTIVATION_BUILD_COUNT += 1
        return np.load(vpath, mmap_mode="r"), np.load(lpath, mmap_mode="r")

    def similar(self, classifier, text: str, span: tuple[int, int], *, layer: str | int | None = None,
                k: int = SimilarityConfig.k, metric: str = SimilarityConfig.metric, block: int = 65536, progress=None, cancel=None) -> SimilarityResult:
        """The ``k`` training n-grams (n = span length) nearest to the activation of ``text``'s
        token span ``[start, end)`` (indices into ``classifier.encode([text]).tokens[0]``; ``text``
        a string or a :class:`~interp_engine.inputs.TextInput`, a pair for a pair model, whose span
        lies within one of its texts).

        Pair data: ``texts[i]`` is the text (premise or hypothesis) that holds n-gram i,
        ``ngrams[i]`` and ``char_span[i]`` come from it; when the result type has them,
        ``segment_names``, ``match_segments`` (which text) and ``pair_texts`` (both) say more.

        Exact search, block by block (``block`` rows at a time; the result does not depend on it).
        Distance: ``l2`` = ||a - b|| (Lopes §4.1) or ``cosine`` = 1 - cos(a, b). The query vector is
        rounded to float16 like the stored ones, so a span taken from the data is at distance 0.

        Raises:
            InputError: bad span (or one across the two texts of a pair), layer or metric; empty
            sentence. Cancelled.
        """
        import torch

        t0 = time.perf_counter()
        if metric not in METRICS:
            raise InputError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
        spec = _layer_spec(classifier, layer)
        enc = classifier.encode([text])
        i, j = int(span[0]), int(span[1])
        L = len(enc.tokens[0])
        if not (0 <= i < j <= L) or any(enc.special[0][i:j]):
            raise InputError(f"span {i}:{j} is not a run of word tokens of the sentence (0..{L})")
        if enc.segments is not None and len(set(enc.segments[0][i:j])) > 1:
            raise InputError(f"span {i}:{j} spans both texts of the pair: choose tokens of one text")
        n = j - i
        V, locs = self.activations(classifier, spec.name, n, progress=progress, cancel=cancel)
        with torch.inference_mode():
            _, hs = classifier.hidden_forward(classifier.embed(enc.input_ids), enc.attention_mask, enc.token_type_ids)
            H = hs[spec.hidden_index][..., spec.channels].float()
            q = H.unfold(1, n, 1).mean(-1)[0, i].to(torch.float16).float().cpu()
        if metric == "cosine":
            q = q / q.norm().clamp_min(1e-12)
        k = max(1, int(k))
        cand_d, cand_i = [], []
        for s in range(0, V.shape[0], block):
            check_cancel(cancel)
            xb = torch.from_numpy(np.asarray(V[s : s + block], dtype=np.float32))
            if metric == "l2":
                d = ((xb - q) ** 2).sum(1).sqrt()
            else:
                d = 1.0 - (xb @ q) / xb.norm(dim=1).clamp_min(1e-12)
            d = d.numpy().astype(np.float64)
            if len(d) > k:  # keep every row tied with the k-th so that merging is block-independent
                kth = np.partition(d, k - 1)[k - 1]
                keep = np.nonzero(d <= kth)[0]
            else:
                keep = np.arange(len(d))
            cand_d.append(d[keep])
            cand_i.append(keep + s)
        d = np.concatenate(cand_d) if cand_d else np.zeros(0)
        ix = np.concatenate(cand_i) if cand_i else np.zeros(0, np.int64)
        o = np.lexsort((ix, d))[:k]
        d, ix = d[o], ix[o]
        rows = np.asarray(locs[ix, 0], np.int64) if len(ix) else np.zeros(0, np.int64)
        starts = np.asarray(locs[ix, 1], np.int64) if len(ix) else np.zeros(0, np.int64)
        inputs = [self.dataset.input(int(r)) for r in rows] if self.is_pair else [self.dataset.texts[r] for r in rows]
        ngrams, texts, cs = [], [], np.zeros((len(rows), 2), np.int64)
        segs = np.zeros(len(rows), np.int64)
        if inputs:
            e2 = classifier.encode(inputs, allow_empty=True)
            for b, st in enumerate(starts):
                offs = e2.offsets[b]  # of a pair: into the text of the token's own segment
                if self.is_pair:
                    segs[b] = max(int(e2.segments[b][st]), 0)
                own = inputs[b].texts[int(segs[b])] if self.is_pair else inputs[b]
                cs[b] = (offs[st][0], offs[st + n - 1][1])
                ngrams.append(own[cs[b, 0] : cs[b, 1]])
                texts.append(own)
        gold = self.labels[rows] if self.labels is not None else np.full(len(rows), -1, np.int64)
        pair_fields = dict(segment_names=self.segment_names, match_segments=segs,
                           pair_texts=tuple(tuple(x.texts) for x in inputs)) if self.is_pair else {}
        return SimilarityResult(
            text=str(text), tokens=tuple(enc.tokens[0]), span=(i, j), layer=spec.name, n=n, metric=metric, rows=rows,
            starts=starts, distances=d, ngrams=tuple(ngrams), texts=tuple(texts), char_span=cs,
            gold=np.asarray(gold, np.int64), class_names=self.class_names or classifier.class_names,
            n_indexed=int(V.shape[0]), seconds=time.perf_counter() - t0, **_known_fields(SimilarityResult, pair_fields))


def _first_hit(text: str, words: list[str], mode: str):
    """``(hit, words_with_offsets(text))``: the [start, end) word span of the first occurrence of
    ``words`` in ``text`` (phrase: all of them adjacent, in order; all: the first word of ``text``
    that is one of ``words``), or None."""
    ws = words_with_offsets(text)
    seq = [w for w, _ in ws]
    n = len(words)
    if mode == "phrase":
        for s in range(len(seq) - n + 1):
            if seq[s : s + n] == words:
                return (s, s + n), ws
    else:
        for s, w in enumerate(seq):
            if w in words:
                return (s, s + 1), ws
    return None, ws


def _tokenizer_key(tokenizer) -> str:
    """16 hex digits naming a tokenizer's piece table: a hash of its ``tokenizer.json``
    (vocabulary, normalizer, pre-tokenizer) and of the index's marking scheme."""
    h = hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode("utf-8"))
    h.update(f"pieces-v1{_WORD_END}".encode())
    return h.hexdigest()[:16]


def _prefix(tokenizer) -> str:
    from .models.tokenization import CONTINUATION_PREFIX, continuation_prefix

    return continuation_prefix(tokenizer) or CONTINUATION_PREFIX


def _mark_ends(pieces: list[str], prefix: str) -> list[str]:
    """FTS codes of a text's pieces: hex of each piece, ``x`` appended where a word ends."""
    n = len(pieces)
    return [encode_word(p) + ("" if i + 1 < n and pieces[i + 1].startswith(prefix) else _WORD_END)
            for i, p in enumerate(pieces)]


def _piece_codes(tokenizer, texts) -> list[tuple[list[str], list[tuple[int, int]]]]:
    """Per text, ``(codes, offsets)``: the FTS code of every piece (no special tokens) and its
    character offsets in the text."""
    texts = [str(t) for t in texts]
    if not texts:
        return []
    enc = tokenizer(texts, add_special_tokens=False, truncation=False, return_offsets_mapping=True)
    prefix = _prefix(tokenizer)
    return [(_mark_ends(tokenizer.convert_ids_to_tokens(ids), prefix), [tuple(o) for o in offs])
            for ids, offs in zip(enc["input_ids"], enc["offset_mapping"])]


def _piece_query(tokenizer, query: str, mode: str) -> tuple[list[str], list[set[str]], list[list[int]]]:
    """A query in word pieces: ``(pieces, allowed codes per piece, units)``.

    Each whitespace-separated chunk written as a piece (``##able``) is that piece, allowed whether
    or not it ends a word; any other chunk is split by the tokenizer, and its pieces must begin and
    end words as they do in the chunk (so a typed word matches only that whole word). In a phrase a
    piece followed by a ``##`` piece never ends a word. ``units``: the piece positions of each word
    of the query (``mode="all"`` finds each unit anywhere).

    Raises:
        InputError: an empty query; a ``##`` chunk that is not in the vocabulary.
    """
    prefix = _prefix(tokenizer)
    vocab = tokenizer.get_vocab()
    pieces: list[str] = []
    literal: list[bool] = []
    for chunk in query.split():
        if chunk.startswith(prefix) and len(chunk) > len(prefix):
            if chunk not in vocab:
                raise InputError(f"“{chunk}” is not a word piece of this model's vocabulary")
            pieces.append(chunk)
            literal.append(True)
        else:
            ps = tokenizer.convert_ids_to_tokens(tokenizer(chunk, add_special_tokens=False)["input_ids"])
            pieces += ps
            literal += [False] * len(ps)
    if not pieces:
        raise InputError("the search query is empty: type a word or a phrase")
    allowed, units = [], []
    for j, pc in enumerate(pieces):
        code = encode_word(pc)
        if literal[j] and (j + 1 == len(pieces) or mode == "all"):
            allowed.append({code, code + _WORD_END})
        elif j + 1 < len(pieces):
            allowed.append({code} if pieces[j + 1].startswith(prefix) else {code + _WORD_END})
        else:
            allowed.append({code + _WORD_END})
        if literal[j] or not pc.startswith(prefix) or not units or literal[j - 1]:
            units.append([j])
        else:
            units[-1].append(j)
    return pieces, allowed, units


def _phrases(allowed: list[set[str]]) -> str:
    """FTS5 ``"a b" OR "a bx"``: every phrase the allowed codes spell (at most the last, or a piece
    of ``mode="all"``, has two codes)."""
    import itertools

    return " OR ".join('"' + " ".join(p) + '"' for p in itertools.product(*[sorted(a) for a in allowed]))


def _piece_fts(allowed: list[set[str]], units: list[list[int]], mode: str) -> str:
    if mode == "phrase":
        return _phrases(allowed)
    return " AND ".join(f"({_phrases([allowed[j] for j in u])})" for u in units)


def _piece_hit_finder(tokenizer, query: str, mode: str):
    """A ``hit_of(text, words, mode)`` like :func:`_first_hit` for word pieces: the first match's
    [start, end) piece span and ``[(piece, (start, end))]`` of ``text``."""
    pieces, allowed, units = _piece_query(tokenizer, query, mode)
    groups = [allowed] if mode == "phrase" else [[allowed[j] for j in u] for u in units]

    def hit_of(text: str, _words, _mode):
        (codes, offs), = _piece_codes(tokenizer, [text])
        ws = [(c, o) for c, o in zip(codes, offs)]
        for s in range(len(codes)):
            for g in groups:
                if s + len(g) <= len(codes) and all(codes[s + j] in a for j, a in enumerate(g)):
                    return (s, s + len(g)), ws
        return None, ws

    return hit_of


def _known_fields(cls, values: dict) -> dict:
    """The entries of ``values`` that are fields of the result dataclass ``cls``: the pair fields
    (``segment_names``, ``match_segments``, ``pair_texts``, ``column``) reach a result type that
    declares them and are left out of one that does not."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in names}


def _layer_spec(classifier, layer):
    specs = classifier.hidden_layers()
    if not specs:
        raise InputError("this model exposes no hidden layers")
    if layer is None:
        return specs[-1]
    if isinstance(layer, int) or (isinstance(layer, str) and layer.isdigit()):
        li = int(layer)
        if not 0 <= li < len(specs):
            raise InputError(f"layer {li} does not exist: choose 0..{len(specs) - 1}")
        return specs[li]
    for s in specs:
        if s.name == layer:
            return s
    raise InputError(f"unknown layer {layer!r}; choose one of {', '.join(s.name for s in specs)}")


def _ngram_vectors(classifier, texts, spec, n):
    """(vectors (M, D) float32 numpy, (M, 2) int64 (batch index, start token)) of every n-gram
    of word tokens of ``texts`` (strings or pairs) at ``spec``: the mean of the n locations'
    activation vectors. An n-gram never includes a special token, and of a pair its n tokens are
    all in the same text."""
    import torch

    enc = classifier.encode(texts, allow_empty=True)
    _, hs = classifier.hidden_forward(classifier.embed(enc.input_ids), enc.attention_mask, enc.token_type_ids)
    H = hs[spec.hidden_index][..., spec.channels].float()
    B, L, D = H.shape
    if L < n:
        return np.zeros((0, D), np.float32), np.zeros((0, 2), np.int64)
    word = enc.attention_mask.bool().clone()
    word &= ~torch.tensor([s + [True] * (L - len(s)) for s in enc.special], dtype=torch.bool, device=word.device)
    ok = word.float().unfold(1, n, 1).min(-1).values > 0  # (B, L-n+1)
    if enc.segments is not None and n > 1:  # within one text of a pair (specials and padding: -1)
        seg = torch.tensor([s + [-1] * (L - len(s)) for s in enc.segments], dtype=torch.long, device=word.device)
        w = seg.unfold(1, n, 1)
        ok &= w.min(-1).values == w.max(-1).values
    means = H.unfold(1, n, 1).mean(-1)  # (B, L-n+1, D)
    b, s = torch.nonzero(ok, as_tuple=True)
    return means[b, s].cpu().numpy(), torch.stack([b, s], 1).cpu().numpy().astype(np.int64)


__all__ = ["SearchIndex", "UNITS", "dataset_key", "encode_word", "words_with_offsets", "Cancelled"]
