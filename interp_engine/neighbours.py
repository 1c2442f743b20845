"""What hidden locations detect, in words (Yuan et al. ``001_e80f9d2c7d254978.txt``):
x_overall (eq. 8) of each optimised location, its k nearest vocabulary words by cosine
similarity ("Visualization of Optimized Inputs"), their t-SNE / PCA projection (Fig. 2, top),
the matching rate ("Evaluation of Interpretability", Table 4), and corpus search next to
activation maximization (Lopes ``002_1461283d665fa092.txt`` §3.1-3.2).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .config import ActivationMaximizationConfig, MatchingRateConfig, NeighbourConfig, OptimizationConfig
from .errors import InputError, check_cancel
from .models.family import TransformerFamily
from .optimization import (
    LocationRequest,
    OptimizationConfig,
    activation_maximization,
    check_unit,
    corpus_search,
    optimize_locations,
    wrap_special,
)

ProgressFn = Callable[[int, int, str], None]

TRANSFORMER_NOTE = TransformerFamily.scatter_note


@dataclass(frozen=True)
class VectorSpace:
    """A vocabulary whose vectors neighbours are searched in.

    Attributes:
        words: V word strings.
        matrix: (V, D) float32 vectors.
        ids: (V,) int64 model vocabulary id of each word (-1: not in the model's vocabulary).
        usable: (V,) bool; False for [PAD], [UNK] and every other special token (never a neighbour).
        name: ``"model"`` (the classifier's embedding matrix) or the vectors' file name.
    """

    words: tuple[str, ...]
    matrix: np.ndarray
    ids: np.ndarray
    usable: np.ndarray
    name: str = "model"

    @classmethod
    def from_classifier(cls, classifier) -> "VectorSpace":
        """The classifier's input embedding matrix (for transformers: the word-piece embeddings).
        Special tokens ([PAD], [UNK], [MASK], [CLS], [SEP], ``[unused…]``) are not usable."""
        tok = classifier.tokenizer
        W = classifier.model.get_input_embeddings().weight.detach().float().cpu().numpy()
        V = W.shape[0]
        vocab = tok.convert_ids_to_tokens(list(range(min(V, len(tok)))))
        words = [str(w) if w is not None else "" for w in vocab] + [""] * (V - len(vocab))
        usable = np.ones(V, dtype=bool)
        usable[len(vocab):] = False
        for i in set(tok.all_special_ids) | {tok.pad_token_id, tok.unk_token_id} - {None}:
            if i is not None and 0 <= i < V:
                usable[i] = False
        for i, w in enumerate(words):
            if not w or (w.startswith("[") and w.endswith("]")) or (w.startswith("<") and w.endswith(">")):
                usable[i] = False
        return cls(tuple(words), W, np.arange(V, dtype=np.int64), usable, "model")

    @classmethod
    def from_keyed_vectors(cls, kv, classifier=None, name: str = "vectors") -> "VectorSpace":
        """Loaded gensim ``KeyedVectors`` (see :func:`interp_engine.vectors.load_vectors`). With a
        classifier, ``ids`` maps each word to the model's vocabulary (-1 if absent)."""
        words = tuple(str(w) for w in kv.index_to_key)
        ids = np.full(len(words), -1, dtype=np.int64)
        usable = np.ones(len(words), dtype=bool)
        if classifier is not None:
            vocab = classifier.tokenizer.get_vocab()
            ids = np.asarray([vocab.get(w, -1) for w in words], dtype=np.int64)
        for i, w in enumerate(words):
            if w in ("[PAD]", "[UNK]", "<pad>", "<unk>", "</s>"):
                usable[i] = False
        return cls(words, np.asarray(kv.vectors, dtype=np.float32), ids, usable, name)


def cosine_neighbours(queries: np.ndarray, space: VectorSpace, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k usable words of ``space`` nearest to each query by cosine similarity.

    Args:
        queries: (Q, D) vectors (e.g. x_overall, eq. 8).
        k: neighbours per query (at most the number of usable words).

    Returns:
        ``(index (Q, k) int64 rows of space, similarity (Q, k) float64)``, most similar first
        (ties: lower row first).

    Raises:
        InputError: k < 1, or the query dimension differs from the vectors'.
    """
    q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    if q.shape[1] != space.matrix.shape[1]:
        raise InputError(f"the optimised vectors have {q.shape[1]} dimensions but the word vectors ({space.name}) "
                         f"have {space.matrix.shape[1]}: neighbours need vectors of the model's embedding size")
    k = min(k, int(space.usable.sum()))
    qt = torch.from_numpy(q)
    m = torch.from_numpy(space.matrix)
    qn = qt / qt.norm(dim=1, keepdim=True).clamp_min(1e-12)
    mn = m / m.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sim = (qn @ mn.T).double()
    sim[:, ~torch.from_numpy(space.usable)] = -np.inf
    # stable top-k: sort by (-sim, index)
    idx = np.stack([np.lexsort((np.arange(sim.shape[1]), -row))[:k] for row in sim.numpy()])
    return idx.astype(np.int64), np.take_along_axis(sim.numpy(), idx, 1)


def project_2d(points: np.ndarray, method: str = NeighbourConfig.projection, *,
               perplexity: float = NeighbourConfig.perplexity, seed: int = OptimizationConfig.seed) -> np.ndarray:
    """2-D projection of ``points`` (P, D): ``tsne`` (scikit-learn, cosine metric, PCA
    initialisation, ``random_state=seed``: the same inputs give the same layout) or ``pca``.

    The perplexity is capped at (P − 1) / 3 (t-SNE needs perplexity < P); with fewer than 4
    points t-SNE falls back to PCA.

    Returns:
        (P, 2) float64 coordinates.

    Raises:
        InputError: unknown method or perplexity <= 0.
    """
    x = np.asarray(points, dtype=np.float64)
    P = len(x)
    if method not in ("tsne", "pca"):
        raise InputError(f"unknown projection {method!r}: use tsne or pca")
    if not perplexity > 0:
        raise InputError(f"perplexity must be > 0, got {perplexity}")
    if P == 0:
        return np.zeros((0, 2))
    if P == 1:
        return np.zeros((1, 2))
    if method == "tsne" and P >= 4:
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        perp = float(min(perplexity, max(1.0, (P - 1) / 3.0)))
        ts = TSNE(n_components=2, perplexity=perp, metric="cosine", init="pca", random_state=int(seed),
                  learning_rate="auto", max_iter=1000)
        # one OpenMP thread: the Barnes-Hut gradient of a few dozen points is tiny work, and two
        # threads on a busy 2-core machine wait for each other at each of the 1,000 iterations
        # (a 33-point t-SNE took 27 s on two threads at load 3, under 1 s on one)
        with threadpool_limits(limits=1, user_api="openmp"):
            return np.asarray(ts.fit_transform(x), dtype=np.float64)
    xc = x - x.mean(0)
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    out = xc @ vt[:2].T
    if out.shape[1] < 2:
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    # deterministic sign: largest |coordinate| of each axis positive
    for j in range(2):
        col = out[:, j]
        if col.size and col[np.argmax(np.abs(col))] < 0:
            out[:, j] = -col
    return out


def words_for_space(space: VectorSpace, idx: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    return tuple(space.words[i] for i in idx), space.ids[idx]


def _on_config_threads(fn):
    """Run ``fn(classifier, ..., config=OptimizationConfig)`` on ``config.threads`` CPU threads
    (:func:`~interp_engine.optimization.cpu_threads`; the saliency, the few forward passes and the
    optimisation around it are all small work, see ``OptimizationConfig.threads``)."""
    import functools

    from .optimization import cpu_threads

    @functools.wraps(fn)
    def wrapper(classifier, *args, config: OptimizationConfig = OptimizationConfig(), **kwargs):
        on_cpu = torch.device(getattr(classifier, "device", "cpu")).type == "cpu"
        with cpu_threads(config.threads if on_cpu else None):
            return fn(classifier, *args, config=config, **kwargs)

    return wrapper


@_on_config_threads
def neighbour_scatter(
    classifier,
    text: str,
    locations: Sequence[tuple[int, int]] | None = None,
    *,
    top: int = NeighbourConfig.top,
    layers: Sequence[int] | None = None,
    target: int | None = None,
    config: OptimizationConfig = OptimizationConfig(),
    k: int = NeighbourConfig.k,
    projection: str = "tsne",
    perplexity: float = NeighbourConfig.perplexity,
    space: VectorSpace | None = None,
    progress: ProgressFn | None = None,
    cancel=None,
):
    """The neighbour scatter of one sentence (Yuan et al. Fig. 2, top).

    Args:
        text: the sentence.
        locations: (grid row, location) pairs to interpret; None: the ``top`` most salient
            locations of each row in ``layers`` (default: the first hidden layer, as in the paper),
            exactly the grid's marks. A location at a special token ([CLS]) is allowed: its
            receptive field is still the sentence's words (special columns are never optimised).
        target: class whose saliency ranks the locations (default: the predicted class).
        config: optimisation settings (λ1, λ2, steps (None: the model family's default), lr, seed,
            ...); all locations in one batch.
        k: neighbours per location; projection: ``tsne`` or ``pca``; perplexity: t-SNE's.
        space: vectors for the neighbours (default: the model's embedding matrix).

    Returns:
        :class:`~interp_engine.results.NeighbourScatter`. ``rank`` is the colour of the location's
        mark in the saliency grid: 0 red, 1 blue, 2 green for its row's three most salient
        locations; other explicit locations get 3, 4, ... in the order given.

    Raises:
        InputError: empty sentence, unknown row/location/target, bad parameters. Cancelled.
    """
    from .hidden import RECEPTIVE_FIELD_NOTES, hidden_saliency_batch, top_locations
    from .results import LocationNeighbours, NeighbourScatter, Prediction

    t0 = time.perf_counter()
    config = config.resolved(classifier.family.name).validate()
    specs = classifier.hidden_layers()
    enc = classifier.encode([text])
    n = enc.lengths()[0]
    with torch.no_grad():
        logits = classifier.logits(enc.input_ids, enc.attention_mask, enc.token_type_ids)
    C = logits.shape[-1]
    if target is None:
        t = logits.argmax(-1)
    elif 0 <= int(target) < C:
        t = torch.tensor([int(target)], device=logits.device)
    else:
        raise InputError(f"target class {target} does not exist: the model has classes 0..{C - 1}")
    scores, _ = hidden_saliency_batch(classifier, enc.input_ids, enc.attention_mask, t, enc.token_type_ids)
    grid = scores[0, :, :n].double().cpu().numpy()
    chosen: list[tuple[int, int, int]] = []  # (row, position, rank)
    if locations is None:
        rows = list(layers) if layers is not None else [0]
        for r in rows:
            if not 0 <= r < len(specs):
                raise InputError(f"layer {r} does not exist: the model has grid rows 0..{len(specs) - 1}")
            # the grid's own top list (special-token locations included: a transformer's [CLS]
            # location sees the whole sentence, and the colours must match the grid's marks)
            for rank, i in enumerate(top_locations(grid[r][None], n, top)[0]):
                chosen.append((r, int(i), rank))
    else:
        extra = 3
        for r, i in locations:
            if not 0 <= int(r) < len(specs):
                raise InputError(f"layer {r} does not exist: the model has grid rows 0..{len(specs) - 1}")
            if not 0 <= int(i) < n:
                raise InputError(f"location {i} does not exist: the sentence has {n} tokens")
            # the colour of the grid's mark: 0-2 for the row's top three, then 3, 4, ... in order
            top3 = top_locations(grid[int(r)][None], n, 3)[0]
            if int(i) in top3:
                rank = top3.index(int(i))
            else:
                rank, extra = extra, extra + 1
            chosen.append((int(r), int(i), rank))
    if not chosen:
        raise InputError("no hidden location selected")
    reqs = []
    for r, i, _ in chosen:
        rf = specs[r].receptive_fields(n, enc.segments[0])[i]
        reqs.append(LocationRequest(0, specs[r].hidden_index, specs[r].channels, i, (int(rf[0]), int(rf[1]))))
    sp = torch.tensor([enc.special[0]], dtype=torch.bool, device=enc.input_ids.device)
    res = optimize_locations(classifier, enc.input_ids, enc.attention_mask, reqs, config, special=sp,
                             progress=progress, cancel=cancel, token_type_ids=enc.token_type_ids)
    check_cancel(cancel)
    space = space or VectorSpace.from_classifier(classifier)
    idx, sims = cosine_neighbours(res.x_overall, space, k)
    # one point per distinct word (a word shared by two locations sits at one place), plus the targets
    uniq = list(dict.fromkeys(int(i) for i in idx.ravel()))
    pts = np.concatenate([space.matrix[uniq], res.x_overall], 0)
    if progress is not None:
        progress(config.steps, config.steps, f"projecting ({projection})")
    xy = project_2d(pts, projection, perplexity=perplexity, seed=config.seed)
    where = {w: j for j, w in enumerate(uniq)}
    out = []
    for q, (r, i, rank) in enumerate(chosen):
        words, ids = words_for_space(space, idx[q])
        out.append(LocationNeighbours(
            layer=r, layer_name=specs[r].name, position=i, rank=rank, saliency=float(grid[r, i]),
            receptive_field=tuple(int(v) for v in reqs[q].receptive_field), x_overall=res.x_overall[q],
            words=words, word_ids=ids.astype(np.int64), similarities=sims[q],
            coords=xy[[where[int(j)] for j in idx[q]]], target_coords=xy[len(uniq) + q],
            objective_trace=res.trace[: int(res.steps_run[q]) + 1, q],
            activation_dot=float(res.activation_dot[q]), l2=float(res.l2[q]), similarity=float(res.similarity[q]),
            converged=bool(res.converged[q]),
        ))
    p = torch.softmax(logits.double(), -1)[0].cpu().numpy()
    note = classifier.family.location_note()
    params = {**config.to_dict(), "k": k, "projection": projection, "perplexity": perplexity, "vectors": space.name}
    return NeighbourScatter(
        text=str(text), tokens=tuple(enc.tokens[0]),
        **enc.segment_fields(), layer_names=tuple(s.name for s in specs), locations=tuple(out),
        projection=projection, params=params, receptive_field_note=note, target=int(t[0]),
        prediction=Prediction(p, int(p.argmax()), classifier.class_names), seconds=time.perf_counter() - t0,
    )


# -- matching rate (Yuan et al., "Evaluation of Interpretability") ---------------------------
def interpretation_ids(classifier, word_ids: Sequence[int]) -> list[int]:
    """Model input ids of the interpretation sentence X' (word ids in order; transformers get
    their [CLS]/[SEP] around them)."""
    ids = [int(i) for i in word_ids]
    if classifier.special_tokens:
        return wrap_special(classifier.tokenizer, ids)
    return ids


@_on_config_threads
def matching_rate(
    classifier,
    texts: Sequence[str],
    *,
    k: int = MatchingRateConfig.k,
    m: int = MatchingRateConfig.m,
    layer: int = MatchingRateConfig.layer,
    config: OptimizationConfig = OptimizationConfig(),
    space: VectorSpace | None = None,
    batch_sentences: int = 64,
    progress: ProgressFn | None = None,
    cancel=None,
):
    """Matching rate of Yuan et al. ("Evaluation of Interpretability", Table 4).

    For each sentence X with predicted class c: the k locations of grid row ``layer`` (default the
    first hidden layer) with the highest saliency Score_c (eq. 3) are optimised (eq. 6, all
    locations of ``batch_sentences`` sentences as one batch); the m words nearest to each
    x_overall (eq. 8) by cosine, location by location in saliency order, form the k·m-word
    sentence X'; it matches when the model predicts c for X'. Sentences shorter than k tokens use
    all their locations; special tokens are never selected.

    Args:
        texts: sentences (empty ones are skipped and not counted).
        space: the vectors neighbours come from; default the model's embedding matrix. Words
            outside the model's vocabulary cannot be fed back, so loaded vectors must share it.
        batch_sentences: sentences per batch (halved and retried on out-of-memory, see
            :mod:`interp_engine.batching`; the result does not depend on it).

    Returns:
        :class:`~interp_engine.results.MatchingRate`.

    Raises:
        InputError: no usable sentence, bad k/m/layer. Cancelled.
    """
    from .batching import for_each_chunk
    from .hidden import hidden_saliency_batch
    from .results import MatchingRate

    t0 = time.perf_counter()
    config = config.resolved(classifier.family.name).validate()
    if k < 1 or m < 1:
        raise InputError(f"k and m must be >= 1, got k={k}, m={m}")
    specs = classifier.hidden_layers()
    if not 0 <= layer < len(specs):
        raise InputError(f"layer {layer} does not exist: the model has grid rows 0..{len(specs) - 1}")
    spec = specs[layer]
    space = space or VectorSpace.from_classifier(classifier)
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise InputError("no sentence to evaluate")

    def run(s: int, stop: int) -> tuple[list[int], list[int], list[str]]:
        """Sentences ``texts[s:stop]``: (predicted classes, classes of X', the X' strings)."""
        preds, preds_x, inter = [], [], []
        chunk = texts[s:stop]
        enc = classifier.encode(chunk, allow_empty=True)
        with torch.no_grad():
            logits = classifier.logits(enc.input_ids, enc.attention_mask)
        c = logits.argmax(-1)
        scores, _ = hidden_saliency_batch(classifier, enc.input_ids, enc.attention_mask, c)
        sc = scores[:, layer].double().cpu().numpy()
        locs: list[LocationRequest] = []
        owner = []
        for b in range(len(chunk)):
            n = enc.lengths()[b]
            row = sc[b, :n].copy()
            row[np.asarray(enc.special[b], dtype=bool)] = -np.inf
            order = [i for i in np.lexsort((np.arange(n), -row)) if np.isfinite(row[i])][:k]
            rf = spec.receptive_fields(n)
            for i in order:
                locs.append(LocationRequest(b, spec.hidden_index, spec.channels, int(i), (int(rf[i, 0]), int(rf[i, 1]))))
                owner.append(b)
        special = torch.tensor([sp + [True] * (enc.input_ids.shape[1] - len(sp)) for sp in enc.special], dtype=torch.bool,
                               device=enc.input_ids.device)

        def prog(done, total, msg, _s=s, _n=len(chunk)):
            if progress is not None:
                progress(_s + int(done * _n / max(1, total)), len(texts), "matching rate: optimising")

        res = optimize_locations(classifier, enc.input_ids, enc.attention_mask, locs, config, special=special,
                                 progress=prog, cancel=cancel)
        idx, _ = cosine_neighbours(res.x_overall, space, m)
        per_sentence: dict[int, list[int]] = {}
        for j, b in enumerate(owner):
            per_sentence.setdefault(b, []).extend(int(space.ids[i]) for i in idx[j])
        batch_ids = []
        for b in range(len(chunk)):
            w = [i for i in per_sentence.get(b, []) if i >= 0]
            if not w:
                raise InputError("the neighbour words are not in the model's vocabulary: use the model's embeddings")
            inter.append(" ".join(classifier.tokenizer.convert_ids_to_tokens(w)))
            batch_ids.append(interpretation_ids(classifier, w))
        Lx = max(len(x) for x in batch_ids)
        ids = torch.full((len(batch_ids), Lx), classifier.tokenizer.pad_token_id or 0, dtype=torch.long)
        msk = torch.zeros_like(ids)
        for b, x in enumerate(batch_ids):
            ids[b, : len(x)] = torch.tensor(x)
            msk[b, : len(x)] = 1
        with torch.no_grad():
            cx = classifier.logits(ids.to(classifier.device), msk.to(classifier.device)).argmax(-1)
        preds.extend(int(v) for v in c.cpu())
        preds_x.extend(int(v) for v in cx.cpu())
        return preds, preds_x, inter

    # chunks of ``batch_sentences`` sentences, halved and retried on out-of-memory (a sentence's
    # result does not depend on its chunk); the optimisation also halves its own batch
    parts, _ = for_each_chunk(len(texts), run, batch_sentences, cancel=cancel)
    preds = [v for pr, _px, _i in parts for v in pr]
    preds_x = [v for _pr, px, _i in parts for v in px]
    inter = [v for _pr, _px, i in parts for v in i]

    p, px = np.asarray(preds, dtype=np.int64), np.asarray(preds_x, dtype=np.int64)
    matches = p == px
    params = {"k": k, "m": m, "layer": spec.name, "vectors": space.name, **config.to_dict()}
    return MatchingRate(rate=float(matches.mean()), n=len(p), matches=matches, predicted=p,
                        predicted_interpretation=px, interpretations=tuple(inter), params=params,
                        seconds=time.perf_counter() - t0)


# -- Lopes §3.1-3.2 --------------------------------------------------------------------------
def activation_maximization_vs_corpus(classifier, unit: tuple, *, k: int = ActivationMaximizationConfig.k,
                                      steps: int = ActivationMaximizationConfig.steps,
                                      lr: float = ActivationMaximizationConfig.lr,
                                      l2: float = ActivationMaximizationConfig.l2,
                                      seed: int = ActivationMaximizationConfig.seed, progress: ProgressFn | None = None,
                                      cancel=None):
    """Activation maximization (Lopes §3.1) and corpus search (§3.2) for one unit, side by side.

    The k words nearest (cosine) to the optimised single-word vector x* are compared with the k
    vocabulary words whose single-word input gives the unit its highest values (every usable
    word, batched).

    Returns:
        :class:`~interp_engine.results.ActivationMaximization`.

    Raises:
        InputError: unknown unit or bad parameters; Cancelled.
    """
    from .results import ActivationMaximization

    name = check_unit(classifier, unit)
    space = VectorSpace.from_classifier(classifier)
    x, trace, final = activation_maximization(classifier, unit, steps=steps, lr=lr, l2=l2, seed=seed,
                                              progress=progress, cancel=cancel)
    idx, sims = cosine_neighbours(x[None], space, k)
    am_words = tuple(space.words[i] for i in idx[0])
    usable = np.flatnonzero(space.usable)
    acts = corpus_search(classifier, unit, space.ids[usable], progress=progress, cancel=cancel)
    order = np.lexsort((np.arange(len(acts)), -acts))[:k]
    corpus_words = tuple(space.words[usable[i]] for i in order)
    overlap = tuple(w for w in am_words if w in set(corpus_words))
    return ActivationMaximization(unit=name, am_words=am_words, am_similarities=sims[0], am_activation=final,
                                  corpus_words=corpus_words, corpus_activations=acts[order], overlap=overlap,
                                  objective_trace=trace, params={"k": k, "steps": steps, "lr": lr, "l2": l2, "seed": seed})
