"""Frozen result objects that cross the thread boundary to the app (numpy arrays, never
tensors). Every result is self-describing: the tokens it refers to, the target class, the
model's prediction, and the method with its parameters."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .config import SanityConfig


def segment_fields_json(segments, segment_names) -> dict:
    """The CLI's pair fields: ``"segments"`` (one int per token: 0 = first text, 1 = second text,
    -1 = special token) and ``"segment_names"`` (e.g. ``["premise", "hypothesis"]``)."""
    if segments is None:
        return {}
    return {"segments": [int(v) for v in segments], "segment_names": list(segment_names)}


def input_of(result):
    """The :class:`~interp_engine.inputs.TextInput` a result explains: its request's input, else its
    ``texts`` and ``segment_names`` (a pair), else its ``text``."""
    from .inputs import TextInput

    req = getattr(result, "request", None)
    if getattr(req, "input", None) is not None:
        return req.input
    texts = tuple(getattr(result, "texts", ()) or ())
    if len(texts) == 2:
        return TextInput(texts, tuple(getattr(result, "segment_names", ()) or ("premise", "hypothesis")))
    return TextInput.single(result.text)


def segment_rows(tokens, segments, segment_names) -> list[tuple[str, list[int]]]:
    """The token positions of each segment, in order: ``[(name, [positions])]`` (one row for a
    single text, premise and hypothesis rows for a pair; special tokens belong to no row). What the
    pair heatmap draws as two labelled rows (Kim et al. 2020 Fig. 2b / 4c)."""
    n = len(tokens)
    if segments is None:
        return [(segment_names[0] if segment_names else "text", list(range(n)))]
    seg = list(segments)[:n]
    return [(name, [i for i in range(n) if seg[i] == s]) for s, name in enumerate(segment_names)]


@dataclass(frozen=True)
class Prediction:
    """The model's output for one sentence.

    Attributes:
        probabilities: (C,) float64 softmax probabilities.
        predicted: argmax class index.
        class_names: C display names.
    """

    probabilities: np.ndarray
    predicted: int
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class TokenAttribution:
    """Per-token attribution for one sentence (the sentence heatmap).

    Attributes:
        text: the sentence as given (a pair: ``"premise ‖ hypothesis"``, see ``str(TextInput)``).
        tokens: n display strings, one per model token (special tokens included for transformers).
        offsets: (n, 2) int character offsets of each token in the text of its segment ((0, 0) for
            special tokens).
        special: (n,) bool, True for [CLS]/[SEP]-like tokens.
        scores: (n,) float64 attribution of each token to ``target``; positive = evidence for it.
        units: what ``scores`` measures, e.g. ``"logit gradient · embedding"`` or ``"bits (log2-odds)"``.
        method: method name (``grad``, ``grad_input``, ...).
        target: class index attributed to.
        prediction: the model's prediction on the unmodified sentence.
        truncated: True when the text exceeded the model's max length and was cut.
        params: method parameters (for sidecars and caches).
        n_candidates: (n,) int64, for marginalization/erasure methods: the number of candidate
            tokens marginalized at each token (Kim et al. eq. 4, |Ṽ|; 1 for erasure; 0 at special
            tokens); None for other methods.
        dropped_mass: (n,) float64, the likelihood model's probability on candidates it could not
            use (special tokens, MLM tokens missing from the classifier's vocabulary), before
            renormalisation; None when not applicable.
        seconds: wall time of the computation, or None.
        unknown: (n,) bool, True for tokens the tokenizer read as its unknown token ([UNK]);
            None when not computed.
    """

    text: str
    tokens: tuple[str, ...]
    offsets: np.ndarray
    special: np.ndarray
    scores: np.ndarray
    units: str
    method: str
    target: int
    prediction: Prediction
    truncated: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    n_candidates: np.ndarray | None = None
    dropped_mass: np.ndarray | None = None
    seconds: float | None = None
    unknown: np.ndarray | None = None
    #: (n,) int segment of each token (0 = first text, 1 = second text of a pair, -1 = special
    #: token), and the name of each text (``("premise", "hypothesis")``); None for old results
    segments: np.ndarray | None = None
    segment_names: tuple[str, ...] = ("text",)
    #: the text of each segment (a pair's premise and hypothesis; ``()``: the one text ``text``)
    texts: tuple[str, ...] = ()
    #: the classifier that produced the scores: its folder ("" = built in memory) and content hash
    #: (:attr:`~interp_engine.models.Classifier.content_hash`; "" when built by hand), filled by the
    #: engine so that a figure of two models' rows can say which row came from which model
    model_path: str = ""
    model_hash: str = ""
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        """The CLI's JSON contract: tokens, scores, predicted, probabilities, method (+ extras)."""
        extras: dict = {}
        if self.n_candidates is not None:
            extras["n_candidates"] = [int(v) for v in self.n_candidates]
        if self.dropped_mass is not None:
            extras["dropped_mass"] = [float(v) for v in self.dropped_mass]
        if self.seconds is not None:
            extras["seconds"] = float(self.seconds)
        return {
            "tokens": list(self.tokens),
            "scores": [float(s) for s in self.scores],
            "predicted": int(self.prediction.predicted),
            "probabilities": [float(p) for p in self.prediction.probabilities],
            "method": self.method,
            "target": int(self.target),
            "class_names": list(self.prediction.class_names),
            "units": self.units,
            "truncated": bool(self.truncated),
            **segment_fields_json(self.segments, self.segment_names),
            **({"params": dict(self.params)} if self.params else {}),
            **extras,
        }


#: the letters that name the models of a :class:`ModelComparison` (primary first)
MODEL_LETTERS = ("A", "B")


def _row_limit(row) -> float:
    """``max|score|`` over the finite non-special tokens of one row (0.0 when there are none)."""
    v = np.asarray(row.scores, float)[~np.asarray(row.special, bool)]
    v = v[np.isfinite(v)]
    return float(np.abs(v).max()) if v.size else 0.0


@dataclass(frozen=True)
class ModelComparison:
    """One attribution method on one input explained by two classifiers, one row per model (Kim
    et al. 2020 ``004_137d387c767c1e08.txt`` Fig. 4a, "LSTM vs BERT" on the same sentence).

    Each row is the model's own :class:`TokenAttribution`, with its own tokens (a word-level
    model and a WordPiece model split the sentence differently) and its own prediction. The
    target: each model explains its own predicted class, or, when a class was chosen, the class
    of that *name* where the model has it (its own predicted class otherwise; ``notes`` says so).

    Colour scale (:func:`interp_engine.attribution.registry.shares_scale_across_models`, the one
    rule): a method whose units mean the same for any classifier (WoE bits, LIME probability)
    puts both rows on one symmetric scale ``±max|score|`` over both rows; a gradient-type method
    (logit gradients, whose size follows each model's embedding scale) normalises each row to its
    own ``±max|score|`` (:meth:`limits`).

    Attributes:
        text: the input as one string (a pair: ``"premise ‖ hypothesis"``).
        method: the attribution method key (the same for every row).
        rows: one :class:`TokenAttribution` per model, primary (A) first; None for a model whose
            row could not be computed (its message in ``row_errors``).
        model_names: the display name of each model (its folder name, made unique).
        model_paths / model_hashes: each model's folder ("" = built in memory) and content hash.
        row_errors: per row, "" or the one-sentence reason the row is missing.
        shared_scale: True when the rows share one colour scale (see above).
        scale_note: the sentence the view and the figure show about the scale, e.g. ``"one colour
            scale: bits of WoE"`` or ``"separate scales: gradient units differ between models"``.
        class_note: ``"models disagree on classes: A has {positive, negative}, B has {0, 1, 2}"``,
            or "" when both models have the same class names in the same order.
        notes: further sentences for the view (a target name one model lacks, the masked LM's
            vocabulary overlap with a model, ...).
        request: the :class:`~interp_engine.requests.CompareModelsRequest` (set by ``Engine.run``).
    """

    text: str
    method: str
    rows: tuple
    model_names: tuple[str, ...]
    model_paths: tuple[str, ...]
    model_hashes: tuple[str, ...]
    row_errors: tuple[str, ...]
    shared_scale: bool
    scale_note: str
    class_note: str = ""
    notes: tuple[str, ...] = ()
    request: Any = field(default=None, compare=False, repr=False)

    @property
    def units(self) -> str:
        """The units of the method's scores (of the first computed row; "" when none is)."""
        return next((r.units for r in self.rows if r is not None), "")

    def label(self, i: int) -> str:
        """Row ``i``'s model label: ``"A · bilstm_sst2"``."""
        return f"{MODEL_LETTERS[i] if i < len(MODEL_LETTERS) else i + 1} · {self.model_names[i]}"

    def limits(self) -> tuple[float, ...]:
        """The half-width of each row's symmetric colour scale: with :attr:`shared_scale` the
        same ``max|score|`` over the non-special tokens of every row, else each row's own (0.0 for
        a missing row or one whose scores are all 0)."""
        own = [(_row_limit(r) if r is not None else 0.0) for r in self.rows]
        if self.shared_scale:
            v = max(own, default=0.0)
            return tuple(v for _ in own)
        return tuple(own)

    def predicted_names(self) -> tuple[str, ...]:
        """Each row's predicted class name ("" for a missing row)."""
        out = []
        for r in self.rows:
            if r is None:
                out.append("")
                continue
            names, k = tuple(r.prediction.class_names), int(r.prediction.predicted)
            out.append(names[k] if 0 <= k < len(names) else str(k))
        return tuple(out)

    def to_json(self) -> dict:
        """``{"method", "shared_scale", "scale_note", "class_note", "notes", "models": [{"name",
        "path", "hash", "error", "result": TokenAttribution.to_json() or None}]}``."""
        return {
            "method": self.method, "shared_scale": bool(self.shared_scale), "scale_note": self.scale_note,
            "class_note": self.class_note, "notes": list(self.notes),
            "models": [{"name": n, "path": p, "hash": h, "error": e, "result": r.to_json() if r is not None else None}
                       for n, p, h, e, r in zip(self.model_names, self.model_paths, self.model_hashes,
                                                self.row_errors, self.rows)],
        }


@dataclass(frozen=True)
class CandidateTable:
    """The candidates of one token (Kim et al. ``004_137d387c767c1e08.txt`` Fig. 1): what the
    likelihood model would put at position ``position`` and what the classifier then says.

    Attributes:
        text, tokens: the sentence and its n display tokens.
        position: the token explained; token: its display string.
        candidates: K candidate token strings, most likely first.
        candidate_ids: (K,) int64 classifier vocabulary ids.
        likelihood: (K,) float64 p(x̃_i | x_−i), renormalised over the usable vocabulary.
        target_probability: (K,) float64 p(y_c | x̃_i, x_−i).
        target: class c. p_target: p(y_c | x). p_marginal: p(y_c | x_−i) by eq. 4 over these K.
        woe: the token's WoE in bits (eq. 1). dropped_mass: likelihood mass not usable.
        likelihood_name: ``mlm``, ``uniform`` or ``prior``. params: sigma / top_n.
        prediction: the model's prediction on the unmodified sentence.
    """

    text: str
    tokens: tuple[str, ...]
    position: int
    token: str
    candidates: tuple[str, ...]
    candidate_ids: np.ndarray
    likelihood: np.ndarray
    target_probability: np.ndarray
    target: int
    p_target: float
    p_marginal: float
    woe: float
    dropped_mass: float
    likelihood_name: str
    prediction: Prediction
    params: Mapping[str, Any] = field(default_factory=dict)
    #: (n,) int segment of each token (0 = first text, 1 = second text of a pair, -1 = special
    #: token), and the name of each text (``("premise", "hypothesis")``); None for old results
    segments: np.ndarray | None = None
    segment_names: tuple[str, ...] = ("text",)
    #: the text of each segment (a pair's premise and hypothesis; ``()``: the one text ``text``)
    texts: tuple[str, ...] = ()
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)

    def to_json(self, limit: int | None = None) -> dict:
        k = len(self.candidates) if limit is None else min(limit, len(self.candidates))
        return {
            "position": int(self.position), "token": self.token, "target": int(self.target),
            "p_target": float(self.p_target), "p_marginal": float(self.p_marginal), "woe": float(self.woe),
            "dropped_mass": float(self.dropped_mass), "n_candidates": len(self.candidates),
            "likelihood_name": self.likelihood_name, "params": dict(self.params),
            "candidates": [{"token": self.candidates[j], "likelihood": float(self.likelihood[j]),
                            "target_probability": float(self.target_probability[j])} for j in range(k)],
        }


@dataclass(frozen=True)
class SpanAttribution:
    """Joint WoE (bits) of a 2-3 token span by multi-token marginalization (Kim et al. §3.3, eq. 3)."""

    text: str
    tokens: tuple[str, ...]
    positions: tuple[int, ...]
    score: float
    units: str
    target: int
    p_target: float
    p_marginal: float
    n_candidates: int
    prediction: Prediction
    params: Mapping[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    #: (n,) int segment of each token (0 = first text, 1 = second text of a pair, -1 = special
    #: token), and the name of each text (``("premise", "hypothesis")``); None for old results
    segments: np.ndarray | None = None
    segment_names: tuple[str, ...] = ("text",)
    #: the text of each segment (a pair's premise and hypothesis; ``()``: the one text ``text``)
    texts: tuple[str, ...] = ()
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class HiddenSaliency:
    """Saliency of every hidden spatial location of every layer (the saliency grid).

    Score_c(X)_{i,j} = w(A_j)_i · a_ij, Yuan et al. ``001_e80f9d2c7d254978.txt`` eq. 1-3, with
    S_c the pre-softmax class score (logit).

    Attributes:
        text, tokens, offsets, special: as in :class:`TokenAttribution`; location i of every
            layer lines up with token i.
        layer_names: R row names (``conv1``, ``lstm1 →``, ``layer 1``, ...).
        scores: (R, n) float64 saliency per layer (row) and location (column), in logit units.
        receptive_fields: (R, n, 2) int, inclusive [first_token, last_token] of each location.
        top_locations: per layer, the indices of the ``top`` highest-scoring locations, best first.
        receptive_field_note: a sentence for the UI explaining the receptive fields of this model.
        target: class whose score is explained. prediction: the model's prediction.
    """

    text: str
    tokens: tuple[str, ...]
    offsets: np.ndarray
    special: np.ndarray
    layer_names: tuple[str, ...]
    scores: np.ndarray
    receptive_fields: np.ndarray
    top_locations: tuple[tuple[int, ...], ...]
    receptive_field_note: str
    target: int
    prediction: Prediction
    truncated: bool = False
    #: (n,) int segment of each token (0 = first text, 1 = second text of a pair, -1 = special
    #: token), and the name of each text (``("premise", "hypothesis")``); None for old results
    segments: np.ndarray | None = None
    segment_names: tuple[str, ...] = ("text",)
    #: the text of each segment (a pair's premise and hypothesis; ``()``: the one text ``text``)
    texts: tuple[str, ...] = ()
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        return {
            "tokens": list(self.tokens),
            "layer_names": list(self.layer_names),
            "layers": [[float(v) for v in row] for row in self.scores],
            "top_locations": [
                [{"location": int(i), "score": float(self.scores[r, i]),
                  "receptive_field": [int(self.receptive_fields[r, i, 0]), int(self.receptive_fields[r, i, 1])]}
                 for i in locs]
                for r, locs in enumerate(self.top_locations)
            ],
            "receptive_fields": self.receptive_fields.tolist(),
            "receptive_field_note": self.receptive_field_note,
            "target": int(self.target),
            "predicted": int(self.prediction.predicted),
            "probabilities": [float(p) for p in self.prediction.probabilities],
            "class_names": list(self.prediction.class_names),
            "truncated": bool(self.truncated),
            **segment_fields_json(self.segments, self.segment_names),
        }


@dataclass(frozen=True)
class DatasetPredictions:
    """The model's predictions on a whole dataset (the dataset list).

    Attributes:
        probabilities: (N, C) float64; NaN rows for texts the model cannot read (empty).
        predicted: (N,) int64 argmax (-1 for NaN rows).
        confidence: (N,) float64 probability of the predicted class.
    """

    probabilities: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ModelInfo:
    """What the app shows about an opened model."""

    path: str
    kind: str
    class_names: tuple[str, ...]
    vocab_size: int
    max_length: int
    device: str
    content_hash: str
    layer_names: tuple[str, ...]
    #: the texts the model reads: ``("premise", "hypothesis")`` for a pair model, ``("text",)`` for a
    #: single-text model, None for a transformer that reads either (``Classifier.segment_names``)
    segment_names: tuple[str, ...] | None = ("text",)
    #: the tokens are WordPiece pieces (``##ing``; ``Classifier.word_pieces``): the heatmap offers
    #: merging them into words, and the training-set search matches pieces
    word_pieces: bool = False


@dataclass(frozen=True)
class TokenSearchResult:
    """Training-set token / n-gram search (Lopes et al. §4.2, Fig. 5-6).

    Rows are dataset row indices. ``n_matches`` counts every matching example; the per-match
    arrays hold the first ``len(rows)`` of them (``limit``), in dataset order.

    Attributes:
        query: the query as typed; query_tokens: its word units (``pre_tokenize``), case kept.
        mode: ``"phrase"`` (adjacent tokens, in order) or ``"all"`` (every token, anywhere).
        n_matches: number of matching examples (all of them, not only the listed ones).
        rows: (M,) int64 dataset rows of the listed matches.
        texts: M sentences.
        token_span: (M, 2) int64 [start, end) word index of the first match in each sentence.
        char_span: (M, 2) int64 [start, end) character offsets of that match in the sentence.
        gold: (M,) int64 gold label (-1: the dataset has no labels).
        predicted: (M,) int64 predicted class (-1: no model).
        p_class: (M,) float64 p(``chosen_class``) (NaN: no model).
        class_names: the dataset's class names (the model's when the dataset has none).
        chosen_class: the class whose probability the histogram shows.
        counts_gold: (C,) int64 matches per gold label over all matches (empty without labels).
        counts_predicted: (C,) int64 matches per predicted class over all matches (empty without model).
        hist_edges: (B+1,) float64 bin edges over [0, 1].
        hist_counts: (G, B) int64 histogram of p(chosen_class) over all matches, one row per gold
            label (G = C), or one row when the dataset has no labels; empty (0, B) without model.
        model_hash: content hash of the model the predictions came from ("" without).
        seconds: query time.
        unit: what was matched: ``"words"`` (our word splitter; case-sensitive) or ``"word pieces"``
            (the open model's WordPiece tokenizer: ``query_tokens`` are pieces, ``token_span``
            counts pieces); see :mod:`interp_engine.search`.
    """

    query: str
    query_tokens: tuple[str, ...]
    mode: str
    n_matches: int
    rows: np.ndarray
    texts: tuple[str, ...]
    token_span: np.ndarray
    char_span: np.ndarray
    gold: np.ndarray
    predicted: np.ndarray
    p_class: np.ndarray
    class_names: tuple[str, ...]
    chosen_class: int
    counts_gold: np.ndarray
    counts_predicted: np.ndarray
    hist_edges: np.ndarray
    hist_counts: np.ndarray
    model_hash: str = ""
    seconds: float = 0.0
    #: the column searched ("" = either text of a pair)
    column: str = ""
    #: ``"words"`` or ``"word pieces"`` (:data:`interp_engine.search.UNITS`)
    unit: str = "words"
    #: pair datasets: the segment names, the segment (0 first text, 1 second) each listed match is
    #: in (``texts``/``char_span`` refer to that text), and both texts of each listed row
    segment_names: tuple[str, ...] = ()
    match_segments: np.ndarray | None = None
    pair_texts: tuple[tuple[str, ...], ...] = ()
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        d = {
            "query": self.query, "query_tokens": list(self.query_tokens), "mode": self.mode, "unit": self.unit,
            "n_matches": int(self.n_matches), "class_names": list(self.class_names),
            "chosen_class": int(self.chosen_class),
            "counts_gold": [int(x) for x in self.counts_gold],
            "counts_predicted": [int(x) for x in self.counts_predicted],
            "hist_edges": [float(x) for x in self.hist_edges],
            "hist_counts": [[int(x) for x in r] for r in self.hist_counts],
            "model_hash": self.model_hash, "seconds": float(self.seconds),
            "matches": [
                {"row": int(self.rows[i]), "text": self.texts[i],
                 "token_span": [int(x) for x in self.token_span[i]], "char_span": [int(x) for x in self.char_span[i]],
                 "gold": int(self.gold[i]), "predicted": int(self.predicted[i]),
                 "p_class": None if np.isnan(self.p_class[i]) else float(self.p_class[i]),
                 **_pair_match(self, i)}
                for i in range(len(self.rows))
            ],
        }
        if self.segment_names:
            d.update(column=self.column, segment_names=list(self.segment_names))
        return d


def _pair_match(result, i: int) -> dict:
    """The pair fields of listed match ``i``: ``"segment"`` (the text it is in) and ``"texts"``."""
    if not result.segment_names or result.match_segments is None:
        return {}
    out = {"segment": int(result.match_segments[i])}
    if result.pair_texts:
        out["texts"] = list(result.pair_texts[i])
    return out


@dataclass(frozen=True)
class SimilarityResult:
    """Activation similarity (Lopes et al. §4.1): the training n-grams whose activation vector at
    one layer is nearest to a query span's (the mean of its locations' activation vectors).

    Attributes:
        text, tokens: the query sentence and its model tokens; span: [start, end) token indices.
        layer: the grid row name (``Classifier.hidden_layers()``); n: n-gram length (= end - start).
        metric: ``"l2"`` (norm of the difference, the paper's choice) or ``"cosine"`` (1 - cos).
        rows: (k,) int64 dataset rows; starts: (k,) int64 first token index of each n-gram.
        distances: (k,) float64, ascending.
        ngrams: k n-gram strings; texts: k sentences; char_span: (k, 2) offsets of the n-gram.
        gold: (k,) int64 (-1 without labels); n_indexed: number of n-grams searched.
    """

    text: str
    tokens: tuple[str, ...]
    span: tuple[int, int]
    layer: str
    n: int
    metric: str
    rows: np.ndarray
    starts: np.ndarray
    distances: np.ndarray
    ngrams: tuple[str, ...]
    texts: tuple[str, ...]
    char_span: np.ndarray
    gold: np.ndarray
    class_names: tuple[str, ...]
    n_indexed: int
    seconds: float = 0.0
    #: pair datasets: the segment names, the segment (0 first text, 1 second) each listed match is
    #: in (``texts``/``char_span`` refer to that text), and both texts of each listed row
    segment_names: tuple[str, ...] = ()
    match_segments: np.ndarray | None = None
    pair_texts: tuple[tuple[str, ...], ...] = ()
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        return {
            "text": self.text, "tokens": list(self.tokens), "span": list(self.span), "layer": self.layer,
            "n": self.n, "metric": self.metric, "n_indexed": int(self.n_indexed), "seconds": float(self.seconds),
            "class_names": list(self.class_names),
            "neighbours": [
                {"row": int(self.rows[i]), "start": int(self.starts[i]), "distance": float(self.distances[i]),
                 "ngram": self.ngrams[i], "text": self.texts[i], "char_span": [int(x) for x in self.char_span[i]],
                 "gold": int(self.gold[i]), **_pair_match(self, i)}
                for i in range(len(self.rows))
            ],
        }


@dataclass(frozen=True)
class LocationNeighbours:
    """What one hidden spatial location detects (Yuan et al. ``001_e80f9d2c7d254978.txt``,
    "Input Generation via Optimization", "Regularization" eq. 5-7, "Visualization of Optimized
    Inputs" eq. 8): the optimised receptive field, its mean x_overall and the k vocabulary words
    nearest to x_overall by cosine similarity, with their 2-D projection.

    Attributes:
        layer: grid row index (``HiddenSaliency.layer_names[layer]``); layer_name: its name.
        position: location i (lines up with token i).
        rank: colour index of the location (0 red, 1 blue, 2 green, ... as the grid's top marks).
        saliency: Score_c(X)_{i,j} of the location (eq. 3, logit units).
        receptive_field: inclusive (first, last) token of the location's receptive field in the
            sentence (transformers: the whole sentence).
        x_overall: (D,) float32 mean of the optimised receptive-field columns (eq. 8).
        words: k neighbour words, most similar first ([PAD]/[UNK]/special tokens excluded).
        word_ids: (k,) int64 vocabulary ids of ``words`` (-1 where the words come from loaded
            KeyedVectors outside the model's vocabulary).
        similarities: (k,) float64 cosine similarity of each neighbour to x_overall, in [-1, 1].
        coords: (k, 2) float64 2-D coordinates (t-SNE or PCA) of the neighbours.
        target_coords: (2,) float64 2-D coordinates of x_overall (the "target" point).
        objective_trace: (steps + 1,) float64 objective of eq. 6 of the input after t Adam steps,
            t = 0 .. steps (logit-activation units: a_ij · a'_ij − λ1‖X̂0‖² + λ2 Sim(X̂0)); its
            last value is the final objective.
        activation_dot: final a_ij · a'_ij; l2: final ‖X̂0‖²₂; similarity: final Sim(X̂0) (eq. 7).
        converged: True when the optimisation stopped early on convergence.
    """

    layer: int
    layer_name: str
    position: int
    rank: int
    saliency: float
    receptive_field: tuple[int, int]
    x_overall: np.ndarray
    words: tuple[str, ...]
    word_ids: np.ndarray
    similarities: np.ndarray
    coords: np.ndarray
    target_coords: np.ndarray
    objective_trace: np.ndarray
    activation_dot: float = float("nan")
    l2: float = float("nan")
    similarity: float = float("nan")
    converged: bool = False

    @property
    def steps(self) -> int:
        """Adam steps the location's input was updated (fewer than the maximum when it converged)."""
        return max(len(self.objective_trace) - 1, 0)

    @property
    def objective(self) -> float:
        """The final objective of eq. 6 (NaN without a trace)."""
        return float(self.objective_trace[-1]) if len(self.objective_trace) else float("nan")

    def to_json(self) -> dict:
        return {
            "layer": int(self.layer), "layer_name": self.layer_name, "location": int(self.position),
            "rank": int(self.rank), "saliency": float(self.saliency),
            "receptive_field": [int(self.receptive_field[0]), int(self.receptive_field[1])],
            "neighbours": [
                {"word": w, "id": int(i), "cosine": float(s), "xy": [float(c[0]), float(c[1])]}
                for w, i, s, c in zip(self.words, self.word_ids, self.similarities, self.coords)
            ],
            "target_xy": [float(self.target_coords[0]), float(self.target_coords[1])],
            "objective": {"final": float(self.objective_trace[-1]) if len(self.objective_trace) else None,
                          "steps": int(self.steps), "converged": bool(self.converged),
                          "activation_dot": float(self.activation_dot), "l2": float(self.l2),
                          "similarity": float(self.similarity)},
        }


@dataclass(frozen=True)
class NeighbourScatter:
    """The t-SNE neighbour scatter of one sentence (Yuan et al. ``001_…`` Fig. 2, top): every
    selected location's neighbour words and its x_overall ("target" point) in one 2-D projection.

    Attributes:
        text, tokens: the sentence and its n model tokens.
        layer_names: the grid's row names.
        locations: one :class:`LocationNeighbours` per selected location, in selection order.
        projection: ``"tsne"`` or ``"pca"``.
        params: λ1, λ2, steps, lr, betas, seed, k, perplexity, vectors ("model" or a path), ...
        receptive_field_note: a sentence for the UI about receptive fields (transformers: the whole sentence).
        target: class whose score the saliency explained; prediction: the model's prediction.
        seconds: wall time of optimisation + neighbours + projection.
    """

    text: str
    tokens: tuple[str, ...]
    layer_names: tuple[str, ...]
    locations: tuple[LocationNeighbours, ...]
    projection: str
    params: Mapping[str, Any]
    receptive_field_note: str
    target: int
    prediction: Prediction
    seconds: float = 0.0
    #: (n,) int segment of each token (0 = first text, 1 = second text of a pair, -1 = special
    #: token), and the name of each text (``("premise", "hypothesis")``); None for old results
    segments: np.ndarray | None = None
    segment_names: tuple[str, ...] = ("text",)
    #: the text of each segment (a pair's premise and hypothesis; ``()``: the one text ``text``)
    texts: tuple[str, ...] = ()
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        return {
            "text": self.text, "tokens": list(self.tokens), "layer_names": list(self.layer_names),
            "projection": self.projection, "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.params.items()},
            "receptive_field_note": self.receptive_field_note, "target": int(self.target),
            "predicted": int(self.prediction.predicted), "seconds": float(self.seconds),
            "locations": [loc.to_json() for loc in self.locations],
            **segment_fields_json(self.segments, self.segment_names),
        }


@dataclass(frozen=True)
class ActivationMaximization:
    """Activation maximization (Lopes ``002_1461283d665fa092.txt`` §3.1) next to corpus search
    (§3.2) for one hidden unit or class score, with a single-word input.

    Attributes:
        unit: description, e.g. ``"conv1 channel 7"`` or ``"class positive (logit)"``.
        am_words, am_similarities: the 10 (k) words nearest by cosine to the optimised word vector x*.
        am_activation: the unit's value at x*.
        corpus_words, corpus_activations: the k vocabulary words with the highest activation when fed alone.
        overlap: words in both top-k lists.
        objective_trace: (T,) unit value during gradient ascent.
        params: lr, steps, l2, seed, k.
    """

    unit: str
    am_words: tuple[str, ...]
    am_similarities: np.ndarray
    am_activation: float
    corpus_words: tuple[str, ...]
    corpus_activations: np.ndarray
    overlap: tuple[str, ...]
    objective_trace: np.ndarray
    params: Mapping[str, Any] = field(default_factory=dict)
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        return {
            "unit": self.unit, "am_activation": float(self.am_activation),
            "activation_maximization": [{"word": w, "cosine": float(s)} for w, s in zip(self.am_words, self.am_similarities)],
            "corpus_search": [{"word": w, "activation": float(a)} for w, a in zip(self.corpus_words, self.corpus_activations)],
            "overlap": list(self.overlap), "steps": int(len(self.objective_trace)), "params": dict(self.params),
        }


@dataclass(frozen=True)
class MatchingRate:
    """Matching rate (Yuan et al. ``001_…`` "Evaluation of Interpretability", Table 4): the
    fraction of sentences whose k·m-word interpretation sentence X' (the m nearest words of each of
    the k most salient first-layer locations) gets the same predicted class as the sentence.

    Attributes:
        rate: matches / n, in [0, 1]. n: sentences evaluated.
        matches: (n,) bool per sentence. predicted: (n,) int64 class of X. predicted_interpretation:
            (n,) int64 class of X'. interpretations: the n X' sentences (words joined by spaces).
        params: k, m, layer, λ1, λ2, steps, lr, seed, ...
        seconds: wall time.
    """

    rate: float
    n: int
    matches: np.ndarray
    predicted: np.ndarray
    predicted_interpretation: np.ndarray
    interpretations: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        return {"metric": "matching_rate", "matching_rate": float(self.rate), "n": int(self.n),
                "params": dict(self.params), "seconds": float(self.seconds)}


def short_units(units: str) -> str:
    """A few words of a units description, for row labels (``bits (WoE, log2-odds)`` → ``bits``)."""
    u = str(units)
    if u.startswith("bits"):
        return "bits"
    if u.startswith("logit gradient ·"):
        return "logit grad·emb"
    if u.startswith("logit gradient"):
        return "logit grad"
    if u.startswith("logit (integrated"):
        return "logit (IG)"
    if u.startswith("probability"):
        return "probability"
    return u.split("(")[0].strip() or u


def area_label(x_max: float, strategy: str = "mlm") -> str:
    """The name of a deletion curve's normalised area, for legends and tables.

    ``"AUC_rep"`` only for what Kim et al. (``004_137d387c767c1e08.txt`` §3.5) call AUC_rep: tokens
    replaced by MLM samples (``strategy == "mlm"``) up to 20% of the tokens; otherwise ``"AUC@x%"``
    followed by the strategy (e.g. ``"AUC@20% (zero)"``), so an erasure-replacement area is never
    mistaken for AUC_rep.
    """
    name = "AUC_rep" if abs(x_max - 0.2) < 1e-9 and strategy == "mlm" else f"AUC@{round(100 * x_max)}%"
    return name if strategy == "mlm" else f"{name} ({strategy})"


@dataclass(frozen=True)
class DeletionCurves:
    """Deletion (and insertion) curves of several attribution methods on one sentence (Kim et al.
    ``004_137d387c767c1e08.txt`` §3.5, AUC_rep; Petsiuk et al. 2018), computed by
    :func:`interp_engine.faithfulness.deletion_curves`.

    Word tokens (special tokens never count) are replaced in decreasing order of each method's
    attribution to ``target``; after k replacements of the sentence's n word tokens the curve is
    at x = k / n (the fraction of tokens replaced) with value p(y_target | x̃) (a probability).

    Attributes:
        text: the sentence. tokens: its display tokens (special tokens included).
        methods: M method names, the row order of every (M, …) array.
        strategy: ``"mlm"`` (a token sampled from the masked LM at that position, AUC_rep's
            default), ``"zero"`` (zero embedding = [PAD] for our models), ``"unk"`` or ``"remove"``.
        target: class whose probability the curves show; class_names: all class names.
        x: (S,) float64 fractions k / n for k = 0 … S-1 (x[0] = 0); S - 1 = ceil(x_max · n).
        p_deletion: (M, S) float64, p(target) after replacing the k most attributed tokens.
        p_insertion: (M, S) float64 or None, p(target) with only the k most attributed tokens kept
            (every other word token replaced), or None when not computed.
        auc: (M,) float64, area under the deletion curve on [0, x_max] divided by x_max (the curve
            linearly interpolated between steps, see :func:`interp_engine.faithfulness.normalised_auc`);
            with x_max = 0.2 this is AUC_rep. Lower = more faithful.
        insertion_auc: (M,) float64 or None, the same for the insertion curve (higher = better).
        x_max: fraction of tokens up to which the curves and areas go (0.2 = AUC_rep).
        order: (M, n_words) int64 token positions (into ``tokens``) in replacement order.
        replacements: per method, the display strings that replaced the first S-1 tokens of
            ``order`` (``""`` for removal, ``"[PAD]"``/``"[UNK]"`` for zero/unk).
        p_original: p(target) of the unmodified sentence (= p_deletion[:, 0]).
        n_words: number of word tokens n.
        seed: seed of the MLM sampling (None for deterministic strategies).
        params: everything else that changes the result (MLM path, exclude_original, ...).
        seconds: wall time.
    """

    text: str
    tokens: tuple[str, ...]
    methods: tuple[str, ...]
    strategy: str
    target: int
    class_names: tuple[str, ...]
    x: np.ndarray
    p_deletion: np.ndarray
    auc: np.ndarray
    x_max: float
    order: np.ndarray
    replacements: tuple[tuple[str, ...], ...]
    p_original: float
    n_words: int
    p_insertion: np.ndarray | None = None
    insertion_auc: np.ndarray | None = None
    seed: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    #: (n,) int segment of each token (0 = first text, 1 = second text of a pair, -1 = special
    #: token), and the name of each text (``("premise", "hypothesis")``); None for old results
    segments: np.ndarray | None = None
    segment_names: tuple[str, ...] = ("text",)
    #: the text of each segment (a pair's premise and hypothesis; ``()``: the one text ``text``)
    texts: tuple[str, ...] = ()
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)

    def curve(self, method: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, p)`` of ``method``'s deletion curve: (S,) fractions replaced, (S,) p(target)."""
        return self.x, self.p_deletion[self.methods.index(method)]

    def to_json(self) -> dict:
        d = {
            "text": self.text, "tokens": list(self.tokens), "methods": list(self.methods), "strategy": self.strategy,
            "target": int(self.target), "x": self.x.tolist(), "x_max": float(self.x_max),
            "p_original": float(self.p_original), "n_words": int(self.n_words), "seed": self.seed,
            "curves": {m: {"p_deletion": self.p_deletion[i].tolist(), "auc": float(self.auc[i]),
                           "order": self.order[i].tolist(), "replacements": list(self.replacements[i])}
                       for i, m in enumerate(self.methods)},
            "params": dict(self.params), "seconds": float(self.seconds),
            **segment_fields_json(self.segments, self.segment_names),
        }
        if self.p_insertion is not None:
            for i, m in enumerate(self.methods):
                d["curves"][m]["p_insertion"] = self.p_insertion[i].tolist()
                d["curves"][m]["insertion_auc"] = float(self.insertion_auc[i])
        return d


@dataclass(frozen=True)
class SanityCascade:
    """The model-parameter randomization test of one attribution method on one input (Adebayo et
    al. 2018, "Sanity checks for saliency maps", §3.1, cascading randomization; computed by
    :func:`interp_engine.sanity.sanity_check`).

    Step 0 is the trained model; step k has the first k layer groups of
    :meth:`~interp_engine.models.family.ModelFamily.randomization_layers` re-initialised (the
    classifier head first, the word embeddings last), so the last step is the fully randomized
    model. Every step explains the same class, ``target`` (the trained model's).

    Attributes:
        text, tokens, offsets, special, segments, segment_names, texts: the input, as in
            :class:`TokenAttribution` (n tokens).
        method: the attribution method key. units: the units of its scores.
        target: the class explained at every step. prediction: the trained model's prediction.
        steps: K + 1 names: ``"trained"``, then the layer group re-initialised at each step
            (``"classifier"``, ``"conv3"``, …, ``"embeddings"``).
        scores: (K + 1, n) float64 attribution of each token at each step, in ``units``.
        spearman: (K + 1,) Spearman rank correlation of each step's scores with step 0's over the
            word tokens (special tokens excluded); NaN when undefined (fewer than 2 word tokens,
            or a constant map). spearman_abs: the same on the absolute values (Adebayo et al. report
            both).
        p_target: (K + 1,) probability of ``target`` by the model of each step.
        seed: the seed of the re-initialisation. threshold: the failing threshold of
            :class:`~interp_engine.config.SanityConfig`.
        params: the method's parameters. seconds: wall time.
    """

    text: str
    tokens: tuple[str, ...]
    offsets: np.ndarray
    special: np.ndarray
    method: str
    units: str
    target: int
    prediction: Prediction
    steps: tuple[str, ...]
    scores: np.ndarray
    spearman: np.ndarray
    spearman_abs: np.ndarray
    p_target: np.ndarray
    seed: int = SanityConfig.seed
    threshold: float = SanityConfig.threshold
    params: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    truncated: bool = False
    segments: np.ndarray | None = None
    segment_names: tuple[str, ...] = ("text",)
    texts: tuple[str, ...] = ()
    #: the request that produced this result (set by ``Engine.run``; None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)

    @property
    def spearman_full_random(self) -> float:
        """Spearman ρ of the fully randomized model's map with the trained one (the last step)."""
        return float(self.spearman[-1])

    @property
    def passes(self) -> bool | None:
        """False when :attr:`spearman_full_random` is above ``threshold`` (the map survives the
        randomization of every parameter), True when not, None when it is undefined."""
        v = self.spearman_full_random
        return None if not np.isfinite(v) else bool(v <= self.threshold)

    def step_label(self, k: int) -> str:
        """Row label of step ``k``: ``"trained"``, ``"+ classifier"``, ``"+ conv3"``, …"""
        return self.steps[0] if k == 0 else f"+ {self.steps[k]}"

    def to_json(self) -> dict:
        return {
            "tokens": list(self.tokens), "method": self.method, "units": self.units, "target": int(self.target),
            "predicted": int(self.prediction.predicted), "class_names": list(self.prediction.class_names),
            "steps": list(self.steps), "scores": np.asarray(self.scores, float).tolist(),
            "spearman": [float(v) for v in self.spearman], "spearman_abs": [float(v) for v in self.spearman_abs],
            "p_target": [float(v) for v in self.p_target], "spearman_full_random": self.spearman_full_random,
            "passes": self.passes, "seed": int(self.seed), "threshold": float(self.threshold),
            "params": dict(self.params), "seconds": float(self.seconds),
            **segment_fields_json(self.segments, self.segment_names),
        }


@dataclass(frozen=True)
class EvaluationReport:
    """A dataset-level evaluation (``interp-studio evaluate``, an
    :class:`~interp_engine.requests.EvaluateRequest`) as a figure can draw it: the per-method mean
    of the metric with its standard error, and the mean deletion curves (Kim et al. 2020 §3.5,
    Fig. 3b: p(class) against the fraction of tokens replaced, averaged over the sentences).

    Attributes:
        metric: the ``--metric`` key (``auc_rep``, ``aopc``, ``iot``, ``matching_rate``, ...).
        methods: (M,) method keys in the report's order (matching rate: ``("matching_rate",)``).
        means, ses: (M,) float64 mean and standard error of the metric per method (NaN: undefined).
        ns: (M,) int64 sentences with a defined value per method.
        curve_x: (G,) float64 fraction of the tokens replaced (empty for metrics without curves).
        curves: (M, G) float64 mean curve per method (rows of NaN: no curve for that method).
        lower_is_better: the metric's direction (None: descriptive, neither is better).
        n_sentences: sentences evaluated. report: the full JSON report (paired tests, timing, ...).
    """

    metric: str
    methods: tuple[str, ...]
    means: np.ndarray
    ses: np.ndarray
    ns: np.ndarray
    curve_x: np.ndarray
    curves: np.ndarray
    lower_is_better: bool | None = None
    n_sentences: int = 0
    report: Mapping[str, Any] = field(default_factory=dict, compare=False)
    #: the request that produced the report (None when built by hand)
    request: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def from_report(cls, report: Mapping[str, Any], request: Any = None,
                    curves: Mapping[str, Any] | None = None) -> "EvaluationReport":
        """The report dict of :func:`interp_engine.evaluation.evaluate_request` as a result.

        The mean curves are ``curves`` (``{"x": [...], method: [...]}``) when given, else the
        report's ``mean_curves``, else the mean over the sentences of ``curves.csv`` in the
        report's ``out`` folder (the per-sentence curves :func:`~interp_engine.evaluation.evaluate`
        writes there; the rows of sentences beyond ``n_sentences`` are left out, as the report
        does), else none.

        Raises:
            ValueError: ``report`` has neither ``methods`` nor a matching rate.
        """
        rep = dict(report)
        if "methods" in rep:
            methods = tuple(str(m) for m in rep["methods"])
            rows = [dict(rep["methods"][m]) for m in methods]
            means = [float(r.get("mean", np.nan)) for r in rows]
            ses = [float(r.get("se", np.nan)) for r in rows]
            ns = [int(r.get("n", 0) or 0) for r in rows]
        elif "matching_rate" in rep:  # Yuan et al.: one rate over the sentences
            methods, n = ("matching_rate",), int(rep.get("n", 0))
            rate = float(rep["matching_rate"])
            means, ns = [rate], [n]
            ses = [float(np.sqrt(rate * (1 - rate) / n)) if n > 0 else float("nan")]
        else:
            raise ValueError("not an evaluation report: it has no per-method results")
        n_sentences = int(rep.get("n_sentences", rep.get("n", max(ns, default=0))) or 0)
        mc = curves if curves is not None else rep.get("mean_curves")
        if mc is None and rep.get("out"):
            mc = mean_curves_of(rep["out"], methods, n_sentences or None)
        x = np.asarray((mc or {}).get("x", ()), dtype=np.float64)
        grid = np.full((len(methods), len(x)), np.nan)
        for i, m in enumerate(methods):
            v = np.asarray((mc or {}).get(m, ()), dtype=np.float64)
            if len(v) == len(x) and len(x):
                grid[i] = v
        lib = rep.get("lower_is_better")
        return cls(metric=str(rep.get("metric", "")), methods=methods, means=np.asarray(means, np.float64),
                   ses=np.asarray(ses, np.float64), ns=np.asarray(ns, np.int64), curve_x=x, curves=grid,
                   lower_is_better=None if lib is None else bool(lib), n_sentences=n_sentences, report=rep,
                   request=request)

    @property
    def has_curves(self) -> bool:
        """True when at least one method has a mean curve."""
        return bool(len(self.curve_x)) and bool(np.isfinite(self.curves).any())

    def to_json(self) -> dict:
        return dict(self.report)


def mean_curves_of(out, methods, n_sentences: int | None = None) -> dict | None:
    """``{"x": (G,), method: (G,)}``: the mean of each method's per-sentence curves in
    ``out/curves.csv`` (:func:`interp_engine.evaluation.evaluate`'s file: columns ``index``,
    ``method``, then the curve at ``x=…``), over the sentences ``index < n_sentences`` whose curve
    is finite everywhere; None when the file is missing or empty. Read with :mod:`csv`."""
    import csv
    from pathlib import Path

    path = Path(out).expanduser() / "curves.csv"
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError:
        return None
    if len(rows) < 2 or len(rows[0]) < 3:
        return None
    x = [float(h.split("=", 1)[1]) for h in rows[0][2:]]
    out_d: dict = {"x": x}
    for m in methods:
        vals = []
        for r in rows[1:]:
            if len(r) != len(x) + 2 or r[1] != m or (n_sentences is not None and int(r[0]) >= n_sentences):
                continue
            v = np.array([float(a) for a in r[2:]], dtype=np.float64)
            if np.isfinite(v).all():
                vals.append(v)
        out_d[m] = np.mean(vals, axis=0).tolist() if vals else []
    return out_d
