"""Faithfulness of attributions: deletion and insertion curves, AUC_rep, AOPC, ERASER-style
comprehensiveness and sufficiency, and IoT against word sentiment tags. No Qt.

Sources: Kim et al. 2020, ``004_137d387c767c1e08.txt`` §3.5 (AUC_rep) and §4.3 (Table 2, IoT,
neutral words); Petsiuk et al. 2018 (deletion/insertion curves); Samek et al. 2017 (AOPC);
DeYoung et al. 2020, ERASER (comprehensiveness, sufficiency).

**Deletion curve.** A sentence has n *word* tokens (special tokens such as [CLS]/[SEP] never
count and are never replaced). Each method's word tokens are sorted by decreasing attribution to
the target class (ties: the earlier position first). After replacing the k first of them the curve
is at ``x_k = k / n`` (the fraction of tokens replaced) with value ``p_k = p(y_c | x̃^{(k)})``
(a probability; y_c is the explained class, by default the predicted one). ``p_0`` is the
unmodified sentence.

**Replacement strategies** (:data:`STRATEGIES`):

* ``mlm`` (AUC_rep, Kim et al. §3.5: "we replace it with a token sampled from the distribution
  inferred by BERT MLM", after Chang et al. 2018 who "gradually replaced" image segments with
  generated samples): the replacements are drawn one step at a time. At step k the masked LM sees
  the sentence in which the k−1 tokens replaced so far already hold their sampled replacements and
  token ``o_k`` is masked; the replacement of ``o_k`` is sampled from the MLM's distribution at that
  position over the classifier's non-special tokens (the likelihood model of
  :mod:`interp_engine.attribution.likelihood`, specials removed and renormalised). The curve is
  therefore one coherent path: step k keeps the samples of steps 1..k−1. By default the sample may
  be the original token, as in the paper's wording; ``exclude_original=True`` forbids that.
  Sampling is seeded (``numpy.random.default_rng(seed)``): step k uses the uniform number ``u_k``
  for every method (common random numbers, so methods are compared on the same draws), and a
  token is drawn by inverting the cumulative distribution at ``u_k``. Every method's step k is one
  row of a single MLM forward (M rows), so K steps cost K MLM forwards.
* ``zero``: the token's word embedding is set to zero (our TextCNN/BiLSTM: the [PAD] embedding;
  the same convention as zero erasure in :mod:`interp_engine.attribution.erasure`).
* ``unk``: the token id becomes the tokenizer's [UNK].
* ``remove``: the token is deleted and the sentence gets shorter.

**AUC.** :func:`normalised_auc` is ``(1 / x_max) ∫_0^{x_max} f(x) dx`` where ``f`` is the curve
linearly interpolated between the points ``(x_k, p_k)`` (trapezoidal rule). When ``x_max`` falls
between two steps (e.g. 20% of a 7-token sentence is 1.4 tokens) ``f(x_max)`` is interpolated
between ``p_1`` and ``p_2``; the curve is computed up to ``K = ceil(x_max · n)`` steps for that.
A constant curve at p has area p, so the area is on the probability scale (Kim et al. Table 2:
0.4972 for input marginalization). AUC_rep is this area with x_max = 0.2 and the ``mlm``
strategy; lower is more faithful.

**Insertion curve** (Petsiuk et al.): start from the sentence with every word token replaced and
put the k most attributed tokens back; with ``mlm`` the fully replaced sentence is one draw per
word position from the MLM with *every* word position masked (one forward, seeded), shared by all
methods. With ``remove`` the k = 0 point is a sentence of one [PAD] token, and so is the last point
of a deletion curve that removes every token (x = 1, a model without special tokens).
"""
from __future__ import annotations

import csv
import math
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from .batching import for_each_chunk
from .errors import InputError, check_cancel
from .results import DeletionCurves, area_label  # noqa: F401 - area_label re-exported

from .config import STRATEGIES, DeletionConfig, EvaluateConfig  # noqa: E402 - STRATEGIES re-exported

#: display names of the strategies (GUI and tables)
STRATEGY_NAMES = {"mlm": "MLM sample", "zero": "zero / [PAD]", "unk": "[UNK]", "remove": "removal"}
#: Kim et al. §3.5: the AUC is taken until 20% of the tokens are replaced
AUC_REP_X_MAX = DeletionConfig.x_max
#: fractions of the ERASER-style comprehensiveness / sufficiency bins
AOPC_BINS = (0.1, 0.2, 0.5)
#: ERASER's AOPC bins (DeYoung et al. 2020: the AOPC of comprehensiveness over bins of 1, 5, 10,
#: 20 and 50 % of the tokens), k_q = ceil(q · n) tokens each (:func:`bin_steps`)
AOPC_BINS_ERASER = (0.01, 0.05, 0.1, 0.2, 0.5)
#: ferret's AOPC thresholds (Attanasio et al. 2023, ``AOPC_Comprehensiveness_Evaluation`` with
#: ``based_on="perc"``: 10 %, 20 %, …, 100 %), k_q = floor(q · n) tokens each (:func:`ferret_steps`)
AOPC_BINS_FERRET = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: IoT's top-k (Kim et al. §4.3: the 10 most attributed words); a sentence of at most this many
#: word tokens has every word in its top-k, so its IoT is 1 whenever defined
IOT_TOP_K = 10


def n_steps(n_words: int, x_max: float) -> int:
    """K = ceil(x_max · n) replacement steps needed to reach ``x_max`` (at most n, at least 1 for
    n ≥ 1 and x_max > 0). A 1e-9 guard keeps 0.2 · 15 = 3.0000000000000004 at 3."""
    if n_words <= 0:
        return 0
    return int(min(n_words, max(1, math.ceil(x_max * n_words - 1e-9))))


def normalised_auc(x: np.ndarray, p: np.ndarray, x_max: float) -> float:
    """Area under the piecewise-linear curve through ``(x[k], p[k])`` on [0, x_max], divided by x_max.

    Args:
        x: (S,) increasing fractions of tokens replaced, x[0] = 0.
        p: (S,) probabilities.
        x_max: upper end, 0 < x_max ≤ x[-1] (a curve with x[-1] < x_max is extended flat).

    Returns:
        The mean of the curve over [0, x_max]: a constant curve at p gives p.

    Raises:
        InputError: x_max ≤ 0 or shapes that do not match.
    """
    x = np.asarray(x, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if not x_max > 0:
        raise InputError(f"x_max must be > 0, got {x_max}")
    if x.shape != p.shape or x.ndim != 1 or x.size == 0:
        raise InputError(f"x and p must be 1-D of the same length, got {x.shape} and {p.shape}")
    if x.size == 1:
        return float(p[0])
    inside = x < x_max - 1e-12
    end = float(np.interp(x_max, x, p))
    xs = np.concatenate([x[inside], [x_max]])
    ps = np.concatenate([p[inside], [end]])
    return float(np.sum((ps[1:] + ps[:-1]) * np.diff(xs)) / 2.0 / x_max)


def aopc(p_deletion: np.ndarray) -> np.ndarray:
    """AOPC of Samek et al. 2017: ``1/(K+1) Σ_{k=0}^{K} (p_0 − p_k)`` over the K+1 points of the
    deletion curves ``p_deletion`` (M, K+1) (probabilities). Higher = more faithful. Returns (M,)."""
    p = np.atleast_2d(np.asarray(p_deletion, dtype=np.float64))
    return (p[:, :1] - p).mean(axis=1)


def bin_steps(n_words: int, bins: Sequence[float] = AOPC_BINS) -> np.ndarray:
    """Number of tokens k_q = ceil(q · n) of each bin fraction q (ERASER's top-q% rationale)."""
    return np.array([n_steps(n_words, q) for q in bins], dtype=np.int64)


def comprehensiveness(curves: DeletionCurves, bins: Sequence[float] = AOPC_BINS) -> tuple[np.ndarray, np.ndarray]:
    """ERASER comprehensiveness (DeYoung et al. 2020, eq. 1, aggregated over bins as their AOPC):
    ``p_0 − p(x with the top-k_q tokens replaced)`` for each bin fraction q.

    Returns:
        ``(mean over bins (M,), per bin (M, len(bins)))``, probabilities; higher = more faithful.

    Raises:
        InputError: the curves do not reach the largest bin (compute them with x_max ≥ max(bins)).
    """
    ks = bin_steps(curves.n_words, bins)
    if ks.max() >= curves.p_deletion.shape[1]:
        raise InputError(f"the deletion curves stop at x = {curves.x_max}; comprehensiveness needs x_max ≥ {max(bins)}")
    per = curves.p_deletion[:, :1] - curves.p_deletion[:, ks]
    return per.mean(axis=1), per


def ferret_steps(n_words: int, bins: Sequence[float] = AOPC_BINS_FERRET) -> np.ndarray:
    """The removal sizes of ferret's percentage rationales (``_get_id_tokens_percentage``):
    k_q = floor(q · n) for each fraction q (q · n rounded to 9 decimals first, so 0.3 · 10 is 3),
    dropping k_q = 0 (ferret skips an empty rationale) and a k_q equal to the previous one (ferret
    skips a rationale identical to the last one; the top-k sets are nested, so equal sets are
    equal sizes).

    Args:
        n_words: word tokens of the sentence (special tokens excluded, ferret's
            ``remove_first_last``). bins: increasing fractions in (0, 1].

    Returns:
        (B',) int64 distinct increasing sizes in [1, n], B' ≤ len(bins); empty for n = 0.
    """
    out: list[int] = []
    for q in bins:
        k = int(math.floor(round(float(q) * int(n_words), 9)))
        if 0 < k <= n_words and (not out or k != out[-1]):
            out.append(k)
    return np.asarray(out, dtype=np.int64)


def aopc_at(p_deletion: np.ndarray, steps: Sequence[int]) -> np.ndarray:
    """Mean drop ``(1/|S|) Σ_{k ∈ S} (p_0 − p_k)`` of the deletion curves at the removal sizes
    ``steps`` (the AOPC of DeYoung et al. 2020 and ferret: comprehensiveness averaged over bins).

    Args:
        p_deletion: (M, K+1) probabilities, column k = k most attributed tokens removed.
        steps: sizes k (each ≤ K).

    Returns:
        (M,) probabilities; NaN when ``steps`` is empty.

    Raises:
        InputError: a size beyond the curve.
    """
    p = np.atleast_2d(np.asarray(p_deletion, dtype=np.float64))
    ks = np.asarray(steps, dtype=np.int64).reshape(-1)
    if ks.size == 0:
        return np.full(p.shape[0], np.nan)
    if ks.min() < 0 or ks.max() >= p.shape[1]:
        raise InputError(f"removal sizes {ks.tolist()} outside a curve of {p.shape[1] - 1} steps")
    return (p[:, :1] - p[:, ks]).mean(axis=1)


def aopc_eraser(curves: DeletionCurves) -> np.ndarray:
    """ERASER's AOPC comprehensiveness (DeYoung et al. 2020, comprehensiveness aggregated over the
    bins :data:`AOPC_BINS_ERASER`): the mean over q ∈ {1, 5, 10, 20, 50 %} of ``p_0 − p(top-k_q
    removed)`` with k_q = ceil(q · n) ≥ 1 (:func:`bin_steps`). Use the ``remove`` curves (ERASER
    deletes the rationale). Higher = more faithful.

    Returns:
        (M,) probabilities.

    Raises:
        InputError: the curves stop before 50 % (compute them with x_max ≥ 0.5).
    """
    return comprehensiveness(curves, AOPC_BINS_ERASER)[0]


def aopc_ferret(curves: DeletionCurves) -> np.ndarray:
    """ferret's AOPC comprehensiveness (``aopc_compr`` with ``based_on="perc"``, thresholds
    :data:`AOPC_BINS_FERRET`): the mean of ``p_0 − p(top-k removed)`` over the sizes of
    :func:`ferret_steps` (floor(q · n), zero and repeated sizes dropped). Use the ``remove``
    curves up to x = 1 (ferret deletes the tokens). Higher = more faithful.

    Returns:
        (M,) probabilities.

    Raises:
        InputError: the curves stop before the largest size (compute them with x_max = 1).
    """
    return aopc_at(curves.p_deletion, ferret_steps(curves.n_words))


def sufficiency(curves: DeletionCurves, bins: Sequence[float] = AOPC_BINS) -> tuple[np.ndarray, np.ndarray]:
    """ERASER sufficiency (DeYoung et al. 2020, eq. 2, aggregated over bins): ``p_0 − p(only the
    top-k_q tokens kept, every other word token replaced)`` for each bin fraction q.

    Returns:
        ``(mean over bins (M,), per bin (M, len(bins)))``, probabilities; lower = more faithful.

    Raises:
        InputError: no insertion curve, or it does not reach the largest bin.
    """
    if curves.p_insertion is None:
        raise InputError("sufficiency needs the insertion curves (deletion_curves(..., insertion=True))")
    ks = bin_steps(curves.n_words, bins)
    if ks.max() >= curves.p_insertion.shape[1]:
        raise InputError(f"the insertion curves stop at x = {curves.x_max}; sufficiency needs x_max ≥ {max(bins)}")
    per = curves.p_original - curves.p_insertion[:, ks]
    return per.mean(axis=1), per


# -- curves -------------------------------------------------------------------------------------
def _sample(probs: np.ndarray, u: float) -> np.ndarray:
    """Inverse-CDF draw of one index per row of ``probs`` (R, V) with the same uniform ``u``."""
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    return np.minimum((cdf < u).sum(axis=1), probs.shape[1] - 1)


def _mlm_probs(likelihood, ids: torch.Tensor, masked: torch.Tensor, positions: torch.Tensor,
               original: torch.Tensor | None, types: torch.Tensor | None = None) -> np.ndarray:
    """(R, V) float64 sampling distribution of the MLM at ``positions`` (specials removed;
    ``original`` ids removed too when given); rows with no mass fall back to uniform."""
    attn = torch.ones_like(ids)
    rows = None if types is None else types.to(ids.device).view(1, -1).expand_as(ids)
    probs = likelihood.predict(ids, attn, masked, positions, token_type_ids=rows).probs.double().cpu().numpy().copy()
    if original is not None:
        probs[np.arange(len(probs)), original.cpu().numpy()] = 0.0
    allowed = likelihood.allowed.cpu().numpy().astype(np.float64)
    empty = probs.sum(axis=1) <= 0
    if empty.any():
        probs[empty] = allowed
        if original is not None:
            probs[np.flatnonzero(empty), original.cpu().numpy()[empty]] = 0.0
    return probs


def _orders(scores: Sequence[np.ndarray], words: np.ndarray) -> np.ndarray:
    """(M, n_words) positions sorted by decreasing score, ties by position."""
    out = []
    for s in scores:
        s = np.asarray(s, dtype=np.float64)
        ws = np.nan_to_num(s[words], nan=-np.inf)
        out.append(words[np.argsort(-ws, kind="stable")])
    return np.asarray(out, dtype=np.int64).reshape(len(scores), len(words))


def deletion_curves(classifier, text: str, attributions: Mapping[str, np.ndarray], *, target: int | None = None,
                    strategy: str = DeletionConfig.strategy, likelihood=None, x_max: float = AUC_REP_X_MAX,
                    insertion: bool = DeletionConfig.insertion, seed: int = DeletionConfig.seed,
                    exclude_original: bool = DeletionConfig.exclude_original,
                    batch_size: int = EvaluateConfig.batch_size,
                    progress=None, cancel=None) -> DeletionCurves:
    """Deletion (and optionally insertion) curves of every method for one sentence, batched.

    All steps of all methods (and of the insertion curves) are stacked into one batch of
    classifier inputs, run in chunks of at most ``batch_size`` rows (the chunking never changes
    the result; a chunk that runs out of memory is halved and retried, see
    :mod:`interp_engine.batching`); the ``mlm`` strategy adds one MLM forward of M rows per step
    (:meth:`MaskedLMLikelihood.predict` halves its own batch on out-of-memory).

    Args:
        classifier: :class:`~interp_engine.models.Classifier`.
        text: the sentence.
        attributions: method name → (n_tokens,) scores aligned with ``classifier.encode([text])``'s
            tokens (e.g. ``TokenAttribution.scores``); scores of special tokens are ignored.
        target: class whose probability is tracked (default: the predicted class).
        strategy: one of :data:`STRATEGIES`.
        likelihood: a :class:`~interp_engine.attribution.likelihood.LikelihoodModel` (needed for
            ``mlm``; usually the masked LM of :meth:`Engine.load_mlm`).
        x_max: fraction of tokens replaced up to which curves and areas go (0 < x_max ≤ 1).
        insertion: also compute insertion curves (needed by :func:`sufficiency`).
        seed: seed of the ``mlm`` sampling.
        exclude_original: with ``mlm``, never sample the token being replaced.
        batch_size: max rows per classifier forward (halved on out-of-memory).
        progress: ``progress(done, total, message)``; cancel: ``threading.Event``.

    Returns:
        :class:`~interp_engine.results.DeletionCurves` (x has K+1 = ceil(x_max · n) + 1 points).

    Raises:
        InputError: empty sentence, unknown strategy, bad x_max/target, score arrays of the wrong
            length, ``mlm`` without a likelihood model, ``unk`` without an [UNK] token.
        Cancelled: ``cancel`` was set.
    """
    t0 = time.perf_counter()
    if strategy not in STRATEGIES:
        raise InputError(f"unknown replacement strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if not 0 < x_max <= 1:
        raise InputError(f"the x-range must be in (0, 1], got {x_max}")
    if not attributions:
        raise InputError("no attribution method to draw a deletion curve for")
    if strategy == "mlm" and likelihood is None:
        raise InputError("the MLM-sample strategy needs a masked LM: open one (--mlm DIR) or choose zero, unk or remove")
    tok = classifier.tokenizer
    unk_id = tok.unk_token_id
    if strategy == "unk" and unk_id is None:
        raise InputError("this model's tokenizer has no [UNK] token: choose another replacement strategy")
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    dev = classifier.device

    enc = classifier.encode([text])
    n_tok = enc.lengths()[0]
    ids0 = enc.input_ids[0, :n_tok].cpu()
    types0 = None if enc.token_type_ids is None else enc.token_type_ids[0, :n_tok].cpu()
    special = np.asarray(enc.special[0], dtype=bool)
    words = np.flatnonzero(~special)
    nw = len(words)
    if nw == 0:
        raise InputError("the sentence has no word token to replace")
    methods = tuple(attributions)
    scores = []
    for m in methods:
        s = np.asarray(attributions[m], dtype=np.float64)
        if s.shape != (n_tok,):
            raise InputError(f"{m}: {s.shape[0] if s.ndim else 0} scores for a sentence of {n_tok} tokens")
        scores.append(s)
    M = len(methods)
    order = _orders(scores, words)
    K = n_steps(nw, x_max)
    x = np.arange(K + 1, dtype=np.float64) / nw

    with torch.inference_mode():
        p_full = torch.softmax(classifier.logits(enc.input_ids[:, :n_tok], enc.attention_mask[:, :n_tok],
                                                 None if types0 is None else types0.view(1, -1).to(dev)).double(), -1)[0]
    C = p_full.shape[0]
    t = int(p_full.argmax()) if target is None else int(target)
    if not 0 <= t < C:
        raise InputError(f"target class {target} does not exist: the model has classes 0..{C - 1}")

    # -- replacement ids of each method's K steps (M, K) -----------------------------------------
    rng = np.random.default_rng(seed)
    total_work = (K if strategy == "mlm" else 0) + 1
    if strategy == "mlm":
        u = rng.random(K)
        cur = ids0.to(dev).expand(M, -1).clone()
        no_mask = torch.zeros_like(cur, dtype=torch.bool)
        rep = np.zeros((M, K), dtype=np.int64)
        rows = torch.arange(M, device=dev)
        for k in range(K):
            check_cancel(cancel)
            pos = torch.as_tensor(order[:, k], device=dev)
            orig = ids0.to(dev)[pos] if exclude_original else None
            probs = _mlm_probs(likelihood, cur, no_mask, pos, orig, types0)
            rep[:, k] = _sample(probs, float(u[k]))
            cur[rows, pos] = torch.as_tensor(rep[:, k], device=dev)
            if progress is not None:
                progress(k + 1, total_work, "sampling replacements")
    elif strategy == "unk":
        rep = np.full((M, K), int(unk_id), dtype=np.int64)
    else:
        rep = np.full((M, K), int(pad_id), dtype=np.int64)

    base_ins = None
    if insertion:
        if strategy == "mlm":
            masked = torch.zeros(nw, n_tok, dtype=torch.bool, device=dev)
            masked[:, torch.as_tensor(words, device=dev)] = True
            probs = _mlm_probs(likelihood, ids0.to(dev).expand(nw, -1).clone(), masked, torch.as_tensor(words, device=dev),
                               ids0.to(dev)[torch.as_tensor(words, device=dev)] if exclude_original else None, types0)
            uu = rng.random(nw)
            base_ins = np.array([_sample(probs[i:i + 1], float(uu[i]))[0] for i in range(nw)], dtype=np.int64)
        else:
            base_ins = np.full(nw, int(unk_id if strategy == "unk" else pad_id), dtype=np.int64)

    # -- every classifier input as (ids, zeroed, segments) lists ------------------------------------
    # (a pair's segments travel with its tokens: removing a token removes its segment id)
    base = ids0.numpy().astype(np.int64)
    seg = types0.numpy().astype(np.int64) if types0 is not None else np.zeros(n_tok, dtype=np.int64)
    zero_flag = strategy == "zero"
    remove = strategy == "remove"
    inputs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [(base, np.zeros(n_tok, dtype=bool), seg)]
    word_index = {int(w): i for i, w in enumerate(words)}
    for m in range(M):
        ids = base.copy()
        zeroed = np.zeros(n_tok, dtype=bool)
        keep = np.ones(n_tok, dtype=bool)
        for k in range(K):
            pos = order[m, k]
            ids[pos] = rep[m, k]
            zeroed[pos] = zero_flag
            keep[pos] = not remove
            if not keep.any():  # removal of every token (x = 1): one [PAD] token, as for insertion
                inputs.append((np.array([pad_id], dtype=np.int64), np.zeros(1, dtype=bool),
                               np.zeros(1, dtype=np.int64)))
            else:
                inputs.append((ids[keep].copy(), zeroed[keep].copy(), seg[keep].copy()))
    if insertion:
        for m in range(M):
            for k in range(K + 1):
                ids = base.copy()
                zeroed = np.zeros(n_tok, dtype=bool)
                keep = np.ones(n_tok, dtype=bool)
                kept = set(order[m, :k].tolist())
                for w in words:
                    if int(w) not in kept:
                        ids[w] = base_ins[word_index[int(w)]]
                        zeroed[w] = zero_flag
                        keep[w] = not remove
                if not keep.any():  # removal of every token: one [PAD] token
                    inputs.append((np.array([pad_id], dtype=np.int64), np.zeros(1, dtype=bool),
                                   np.zeros(1, dtype=np.int64)))
                else:
                    inputs.append((ids[keep].copy(), zeroed[keep].copy(), seg[keep].copy()))

    def fn(a: int, b: int) -> np.ndarray:
        chunk = inputs[a:b]
        # every row is padded to the sentence's length (masked): a row's result never depends on the
        # chunk it lands in, and a TextCNN never sees an input shorter than the original sentence
        L = max(n_tok, max(len(i) for i, _, _ in chunk))
        x_ids = torch.full((len(chunk), L), pad_id, dtype=torch.long)
        x_zero = torch.zeros((len(chunk), L), dtype=torch.bool)
        attn = torch.zeros((len(chunk), L), dtype=torch.long)
        x_types = torch.zeros((len(chunk), L), dtype=torch.long)
        for r, (i, z, g) in enumerate(chunk):
            x_ids[r, : len(i)] = torch.as_tensor(i)
            x_zero[r, : len(z)] = torch.as_tensor(z)
            x_types[r, : len(g)] = torch.as_tensor(g)
            attn[r, : len(i)] = 1
        x_ids, x_zero, attn = x_ids.to(dev), x_zero.to(dev), attn.to(dev)
        types = x_types.to(dev) if types0 is not None else None
        with torch.inference_mode():
            if zero_flag:
                emb = classifier.embed(x_ids).masked_fill(x_zero[..., None], 0.0)
                logits = classifier.logits_from_embeds(emb, attn, types)
            else:
                logits = classifier.logits(x_ids, attn, types)
        return torch.softmax(logits.double(), -1)[:, t].cpu().numpy()

    def prog(done, total, msg):
        if progress is not None:
            progress(total_work - 1 + done / max(total, 1), total_work, "classifying")

    # chunks of ``batch_size`` rows, halved and retried on out-of-memory (interp_engine.batching)
    outs, _ = for_each_chunk(len(inputs), fn, batch_size, progress=prog, cancel=cancel)
    p_all = np.concatenate(outs)
    p0 = float(p_all[0])
    p_del = np.empty((M, K + 1))
    p_del[:, 0] = p0
    p_del[:, 1:] = p_all[1: 1 + M * K].reshape(M, K)
    auc = np.array([normalised_auc(x, p_del[m], x_max) for m in range(M)])
    p_ins = ins_auc = None
    if insertion:
        p_ins = p_all[1 + M * K:].reshape(M, K + 1)
        ins_auc = np.array([normalised_auc(x, p_ins[m], x_max) for m in range(M)])
    if remove:
        shown = tuple(tuple("" for _ in range(K)) for _ in range(M))
    elif zero_flag:
        shown = tuple(tuple("[PAD]" for _ in range(K)) for _ in range(M))
    else:
        shown = tuple(tuple(tok.convert_ids_to_tokens([int(i) for i in rep[m]])) for m in range(M))
    params = {"exclude_original": bool(exclude_original), "batch_size": int(batch_size),
              "likelihood": getattr(likelihood, "name", None) if strategy == "mlm" else None}
    return DeletionCurves(
        text=str(text), tokens=tuple(enc.tokens[0]),
        **enc.segment_fields(), methods=methods, strategy=strategy, target=t,
        class_names=tuple(classifier.class_names), x=x, p_deletion=p_del, auc=auc, x_max=float(x_max), order=order,
        replacements=shown, p_original=p0, n_words=nw, p_insertion=p_ins, insertion_auc=ins_auc,
        seed=int(seed) if strategy == "mlm" else None, params=params, seconds=time.perf_counter() - t0,
    )


# -- IoT and neutral words (Kim et al. §4.3) ------------------------------------------------------
#: 5-class SST label → 3-class tag: −1 negative (0-1), 0 neutral (2), +1 positive (3-4)
TAG_OF_LABEL = {0: -1, 1: -1, 2: 0, 3: 1, 4: 1}


def load_word_tags(path: str | Path) -> dict[str, int]:
    """Word-level sentiment tags from an SST phrase file (``phrase<TAB>label_5class``, header row,
    quoting off): every single-word phrase, lowercased, → −1/0/+1 (:data:`TAG_OF_LABEL`). When two
    spellings of a word lowercase to the same key, the spelling that is already lowercase wins, else
    the first one in the file.

    Raises:
        DatasetError: the file is missing or has no ``phrase``/``label_5class`` columns.
    """
    from .data import DatasetError

    p = Path(path).expanduser()
    if not p.is_file():
        raise DatasetError(f"{p}: no such phrase-label file (sst2/phrase_labels_5class.tsv)")
    tags: dict[str, int] = {}
    exact: set[str] = set()
    with p.open(encoding="utf-8", newline="") as f:
        r = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        head = next(r, None)
        if not head or "phrase" not in head or "label_5class" not in head:
            raise DatasetError(f"{p}: expected the columns phrase and label_5class, got {head}")
        ip, il = head.index("phrase"), head.index("label_5class")
        for row in r:
            if len(row) <= max(ip, il):
                continue
            phrase = row[ip]
            if " " in phrase.strip() or not phrase.strip():
                continue
            try:
                tag = TAG_OF_LABEL[int(row[il])]
            except (ValueError, KeyError):
                continue
            key = phrase.strip().lower()
            if key not in tags or (phrase == key and key not in exact):
                tags[key] = tag
                if phrase == key:
                    exact.add(key)
    return tags


def token_tags(tokens: Sequence[str], special: np.ndarray, tags: Mapping[str, int]) -> np.ndarray:
    """(n,) int tag of each token (lowercased lookup): −1/0/+1, or −2 for special/untagged tokens."""
    out = np.full(len(tokens), -2, dtype=np.int64)
    for i, t in enumerate(tokens):
        if not special[i]:
            out[i] = tags.get(t.lower(), -2)
    return out


def iot(scores: np.ndarray, tag: np.ndarray, special: np.ndarray, k: int = IOT_TOP_K, polarity: int = 1) -> float:
    """IoT = |P ∩ T| / |P| (Kim et al. §4.3): P the word tokens tagged ``polarity`` (+1 positive),
    T the ``k`` word tokens with the highest attribution (ties: earlier position first; all of them
    when the sentence has ≤ k words). NaN when P is empty."""
    words = np.flatnonzero(~np.asarray(special, dtype=bool))
    P = set(words[tag[words] == polarity].tolist())
    if not P:
        return float("nan")
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64)[words], nan=-np.inf)
    T = set(words[np.argsort(-s, kind="stable")[:k]].tolist())
    return len(P & T) / len(P)


def neutral_attribution(scores: np.ndarray, tag: np.ndarray, special: np.ndarray) -> tuple[float, float]:
    """(mean, mean absolute) attribution of the neutral-tagged word tokens of one sentence
    (Kim et al. §4.3: 0.053 for input marginalization vs 0.175 for zero erasure); NaN if none."""
    sel = (tag == 0) & ~np.asarray(special, dtype=bool)
    if not sel.any():
        return float("nan"), float("nan")
    v = np.asarray(scores, dtype=np.float64)[sel]
    return float(v.mean()), float(np.abs(v).mean())
