"""Input marginalization (Kim et al., EMNLP 2020, ``004_137d387c767c1e08.txt``), batched.

Weight of evidence (§3.1, eq. 1), in bits::

    WoE_i = log2 odds(y_c | x) − log2 odds(y_c | x_−i),   odds = p / (1 − p)

with p(y_c | x_−i) from input marginalization (§3.2, eq. 2)::

    p(y_c | x_−i) = Σ_{x̃ ∈ 𝒱} p(y_c | x̃_i, x_−i) · p(x̃_i | x_−i)

truncated adaptively (§3.4, eq. 4) to 𝒱̃ = {x̃ : p(x̃ | x_−i) > σ} and renormalised by
Σ_{x̃ ∈ 𝒱̃} p(x̃ | x_−i). σ = 0 is full marginalization over every non-special token (see
:mod:`.likelihood` for why special tokens are excluded); ``top_n`` gives the fixed truncation of
§4.6 (Table 3) instead. Multi-token spans follow §3.3, eq. 3 (:meth:`InputMarginalization.attribute_span`).

How it is computed (the result equals Algorithm 1 of the paper; the tests check it against a
literal per-position, per-candidate loop):

1. one likelihood-model forward pass for all n positions (a batch of n masked copies), giving
   p(x̃ | x_−i) as an (n, V) matrix;
2. every kept (position, candidate) pair is flattened into one list of K pairs;
3. the classifier runs on the K substituted sentences in chunks of ``chunk_size`` rows under
   ``torch.inference_mode()`` (bf16 autocast only on CUDA, when ``autocast=True``); the chunk is
   halved and retried on out-of-memory; ``progress`` is called and ``cancel`` checked between chunks;
4. the sums of eq. 4 are aggregated per position with ``index_add_`` in float64.

For a TextCNN (``classifier.family.incremental_marginalization``) step 3 uses :class:`TextCNNIncremental`, an exact
incremental forward: replacing token i only changes conv layer j at locations i ± j·(k−1)/2, so
only those windows are recomputed (the first layer by a table lookup), and the global max-pool
combines them with the precomputed maximum over the unchanged locations. ``incremental=False``
gives the generic path (one full classifier forward per substituted sentence), which BiLSTMs and
transformers always use.

The WoE is computed in log space from the classifier's logits, never from clamped probabilities:
log p = log_softmax(S)_c and log(1 − p) = logsumexp over the other classes of log_softmax(S)
(:func:`log_odds_parts`), and the marginal of eq. 2/4 is aggregated as
log p(y_c | x_−i) = logsumexp_x̃(log w(x̃) + log p(y_c | x̃, x_−i)) − log Σ w, and the same for
log(1 − p(y_c | x_−i)) with log(1 − p(y_c | x̃, x_−i)) (:func:`marginal_log_parts`), so a confident
model (logit gaps far above the ~27.6 nats where p rounds to 1 in float64) gets its exact WoE.
The probability helpers :func:`log2_odds` / :func:`weight_of_evidence` (for callers that only have
probabilities) clamp to [ε, 1 − ε], ε = :data:`EPS` = 1e-12.
"""
from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from ..batching import is_oom, run_chunked  # noqa: F401 - run_chunked is re-exported
from ..config import MarginalizationConfig
from ..errors import InputError, check_cancel
from .likelihood import LikelihoodModel
from .base import AttributionMethod

EPS = 1e-12
WOE_UNITS = "bits (WoE, log2-odds)"
ProgressFn = Callable[[int, int, str], None]


def log2_odds(p: torch.Tensor | np.ndarray | float, eps: float = EPS):
    """log2(p / (1 − p)) with p clamped to [eps, 1 − eps]; works on tensors, arrays and floats."""
    if isinstance(p, torch.Tensor):
        q = p.double().clamp(eps, 1 - eps)
        return torch.log2(q) - torch.log2(1 - q)
    q = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    return np.log2(q) - np.log2(1 - q)


def weight_of_evidence(p_x, p_without, eps: float = EPS):
    """Kim et al. eq. 1: log2 odds(p_x) − log2 odds(p_without), in bits (same type as ``p_without``),
    from probabilities clamped to [eps, 1 − eps] (saturates for |logit gaps| above ~27.6 nats: the
    methods use :func:`woe_from_log_parts` on logits instead)."""
    return log2_odds(p_x, eps) - log2_odds(p_without, eps)


LN2 = math.log(2.0)

#: device types on which ``autocast=True`` runs the classifier's forwards under bf16 autocast
#: (tests add ``"cpu"`` to emulate a GPU's mixed precision)
AUTOCAST_DEVICE_TYPES: tuple[str, ...] = ("cuda",)


def amp_context(device: torch.device, autocast: bool):
    """The autocast context of every classifier forward of one attribution: the reference
    p(y|x) and the substituted sentences run in the same precision, so replacing a token by
    itself gives WoE 0 (a float32 reference against bf16 substitutions biased WoE by up to
    0.06 bits at p ≈ 0.9999)."""
    on = bool(autocast) and device.type in AUTOCAST_DEVICE_TYPES
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=on)


def log_odds_parts(logits: torch.Tensor, target: int) -> torch.Tensor:
    """``(K, 2)`` float64 ``[log p(y_target), log(1 − p(y_target))]`` of (K, C) logits, exactly in log
    space: log_softmax, and logsumexp of the other classes' log-probabilities for 1 − p."""
    ls = torch.log_softmax(logits.double(), -1)
    others = torch.cat([ls[:, :target], ls[:, target + 1:]], 1)
    return torch.stack([ls[:, target], torch.logsumexp(others, 1)], 1)


def woe_from_log_parts(x_parts, without_parts) -> np.ndarray:
    """Kim et al. eq. 1 in bits from ``[log p, log(1 − p)]`` pairs: ((log p − log(1−p))(x) −
    (log p − log(1−p))(x_−i)) / ln 2. ``x_parts`` (2,), ``without_parts`` (m, 2) → (m,) float64."""
    x = np.asarray(x_parts, dtype=np.float64).reshape(-1, 2)
    w = np.asarray(without_parts, dtype=np.float64).reshape(-1, 2)
    return ((x[:, 0] - x[:, 1]) - (w[:, 0] - w[:, 1])) / LN2


def marginal_log_parts(group: torch.Tensor, weights: torch.Tensor, parts: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Eq. 2/4 in log space: per group g, ``[log Σ w·p, log Σ w·(1−p)] − log Σ w`` over its members.

    Args:
        group: (K,) long group (position) of each candidate. weights: (K,) likelihoods w ≥ 0.
        parts: (K, 2) ``[log p, log(1 − p)]`` of each candidate. n_groups: number of groups.

    Returns:
        (n_groups, 2) float64 ``[log p(y|x_−i), log(1 − p(y|x_−i))]``.
    """
    group = group.cpu()
    lw = torch.log(weights.cpu().double())
    out = []
    for v in (lw + parts[:, 0].cpu(), lw + parts[:, 1].cpu(), lw):
        mx = torch.full((n_groups,), -math.inf, dtype=torch.float64).scatter_reduce(0, group, v, "amax")
        safe = torch.where(torch.isfinite(mx), mx, torch.zeros_like(mx))
        s = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, group, torch.exp(v - safe[group]))
        out.append(safe + torch.log(s))
    return torch.stack([out[0] - out[2], out[1] - out[2]], 1)


# the generic OOM-halving chunk loop lives in interp_engine.batching (shared by every batched job)
_is_oom = is_oom


# -- TextCNN incremental forward --------------------------------------------------------------
_TAP_CACHE: "weakref.WeakKeyDictionary[torch.nn.Module, tuple]" = weakref.WeakKeyDictionary()


def _weights_key(*ts: torch.Tensor) -> tuple:
    """Identity, in-place version and sum of tensors: changes when a weight is replaced or
    modified (the sum, ~1 ms for the SST-2 embedding matrix, also catches writes through
    ``.data``, which do not bump the version counter)."""
    with torch.no_grad():
        return tuple((id(t), t.data_ptr(), t._version, t.dtype, t.device, tuple(t.shape), float(t.double().sum()))
                     for t in ts)


def textcnn_tap_projection(model, *, window_layout: bool = False) -> torch.Tensor:
    """The whole vocabulary projected through the first conv layer's kernel taps.

    ``P[v, t, c] = Σ_d W1[c, d, t] · E[v, d]``: the contribution of word v placed at tap t of
    output channel c of conv layer 1 (bias excluded), so that replacing token i by v changes the
    layer-1 pre-activation at location l = i − t + (k−1)/2 by ``P[v, t] − P[x_i, t]``.

    Args:
        model: a ``TextCNNForSequenceClassification`` (embedding E (V, D), conv1 W1 (C1, D, k)).

    Returns:
        (V, k, C1) tensor (model dtype and device), cached per model and recomputed when the
        embedding or conv-1 weights are replaced or modified in place (see :func:`_weights_key`).
        Costs V·D·k·C1 multiply-adds once (SST-2 model: 13,205 × 300 × 5 × 128, ~0.2 s on CPU)
        and V·k·C1 floats of memory (34 MB there). With ``window_layout=True``: the same numbers as
        (V, C1, k) in window order, ``Pw[v, c, u] = P[v, k−1−u, c]``, i.e. the change of location
        i − r + u when token i becomes v (also cached; another 34 MB).
    """
    E = model.embeddings.weight
    W1 = model.convs[0].weight
    key = _weights_key(E, W1)
    hit = _TAP_CACHE.get(model)
    if hit is None or hit[0] != key:
        C1, D, k = W1.shape
        with torch.no_grad():
            P = (E.detach() @ W1.detach().permute(1, 2, 0).reshape(D, k * C1)).view(-1, k, C1).contiguous()
            Pw = P.flip(1).transpose(1, 2).contiguous()
        hit = _TAP_CACHE[model] = (key, P, Pw)
    return hit[2] if window_layout else hit[1]


class TextCNNIncremental:
    """Exact logits of a TextCNN for many one-token substitutions of one sentence.

    Why it is exact: with kernel k (odd, 'same' padding, r = (k−1)/2) and N conv layers, token i
    only reaches conv layer j at locations i − j·r .. i + j·r (its receptive field, Yuan et al.
    ``001_e80f9d2c7d254978.txt`` eq. 1-3 / :meth:`Classifier.hidden_layers`). So for the
    substitution x_i := v (Kim et al. ``004_137d387c767c1e08.txt`` Algorithm 1, the inner loop):

    * layer 1 pre-activation at l ∈ [i−r, i+r] = base + P[v, i−l+r] − P[x_i, i−l+r]
      (:func:`textcnn_tap_projection`), then ReLU;
    * layer j ≥ 2 pre-activation on [i−j·r, i+j·r] = base + conv_j(Δh_{j−1}), where
      Δh_{j−1} = new − base output of layer j−1 is non-zero only on its own window
      [i−(j−1)·r, i+(j−1)·r]: a transposed convolution of that window (every tap of every changed
      input, (2(j−1)r+1)·k·C_{j−1}·C_j multiply-adds per substitution) scattered into the window
      (outside the sentence the base pre-activation is −∞, so ReLU reproduces the zero padding);
    * the global max-pool is max(base max over the locations outside [i−N·r, i+N·r], precomputed
      per i; max over the window's new values); every value is ≥ 0 after ReLU, so 0 stands
      for an empty side;
    * then the output layer. Dropout is the identity (the model is in eval mode).

    Compared with a full forward of n locations this does no embedding or conv-1 work (the
    costliest layer at 300-d) and, for layer j ≥ 2, (2(j−1)r+1)/n of its work: for the SST-2
    TextCNN (300-d, 128/64/32, k = 5) and n = 20, ~0.3 M instead of ~4.9 M multiply-adds per
    substituted sentence. Substitutions that share a position (the pairs of the heatmap come
    sorted by position) broadcast that position's base windows instead of gathering them.
    The result equals ``classifier.logits`` up to float32 rounding (tests: ``tests/engine/
    test_marginalization_incremental.py``).

    Args:
        model: ``TextCNNForSequenceClassification`` in eval mode.
        input_ids: (n,) token ids of one sentence, no padding (attention mask all ones).
    """

    def __init__(self, model, input_ids: torch.Tensor):
        if model.training:
            raise ValueError("TextCNNIncremental needs the model in eval mode (dropout off)")
        self.model = model
        convs = model.convs
        self.k = int(convs[0].kernel_size[0])
        self.r = r = self.k // 2
        self.N = N = len(convs)
        dev = model.embeddings.weight.device
        ids = input_ids.to(dev).view(-1)
        self.n = n = ids.shape[0]
        self.ids = ids
        # (V, C1, k): change of layer 1's pre-activation on the window [i - r, i + r] when x_i := v
        self.Pw = textcnn_tap_projection(model, window_layout=True)
        dev_dtype = self.Pw.dtype
        with torch.no_grad():
            x = model.embeddings(ids.view(1, -1)).transpose(1, 2)  # (1, D, n)
            zs, hs = [], []
            for conv in convs:
                zs.append(conv(x)[0])  # (C_j, n) pre-activation
                x = torch.relu(zs[-1]).unsqueeze(0)
                hs.append(x[0])  # (C_j, n) output
            i = torch.arange(n, device=dev)
            self.zw, self.hw = [], []
            for j in range(1, N + 1):
                # per position i, layer j's window [i - j r, i + j r]: (n, C_j, 2 j r + 1); outside
                # the sentence the pre-activation is -inf (so ReLU gives the zero padding) and the output 0
                loc = i.view(-1, 1) + torch.arange(-j * r, j * r + 1, device=dev)
                ok = (loc >= 0) & (loc < n)
                locc = loc.clamp(0, n - 1)
                z = zs[j - 1][:, locc].permute(1, 0, 2)  # (n, C_j, w)
                h = hs[j - 1][:, locc].permute(1, 0, 2)
                z = z.masked_fill(~ok.unsqueeze(1), float("-inf"))
                h = h.masked_fill(~ok.unsqueeze(1), 0.0)
                if j == 1:  # take the original token's taps out once: z - P[x_i]
                    z = z - self.Pw[ids]
                self.zw.append(z.contiguous())
                self.hw.append(h.contiguous())
            # max over the locations that substituting token i cannot change, per i: (n, C_N)
            hN = hs[-1].transpose(0, 1)  # (n, C_N)
            zero = torch.zeros(1, hN.shape[1], dtype=hN.dtype, device=dev)
            pre = torch.cat([zero, torch.cummax(hN, 0).values])  # pre[a] = max(hN[:a])
            suf = torch.cat([torch.cummax(hN.flip(0), 0).values.flip(0), zero])  # suf[b] = max(hN[b:])
            a = (i - N * r).clamp_min(0)
            b = (i + N * r + 1).clamp_max(n)
            self.outside_max = torch.maximum(pre[a], suf[b])
            # conv_transpose1d with the flipped kernel scatters every tap of every changed input of
            # layer j-1 into layer j's window: input u reaches output u + (2r - t) through tap t
            self.wt = [c.weight.detach().flip(2).transpose(0, 1).contiguous().to(dev_dtype) for c in convs[1:]]

    def pooled(self, positions: torch.Tensor, cand_ids: torch.Tensor) -> torch.Tensor:
        """Global max-pooled features (B, C_N) of the sentences with x[positions[b]] := cand_ids[b].

        Args:
            positions: (B,) long in [0, n). cand_ids: (B,) long token ids.
        """
        dev = self.Pw.device
        pos = positions.to(dev).view(-1)
        cand = cand_ids.to(dev).view(-1)
        with torch.no_grad():
            vals, counts = torch.unique_consecutive(pos, return_counts=True)
            if 8 * vals.numel() > pos.numel():  # scattered positions: gather every row's windows
                return self._pooled(pos, cand, pos)
            # runs of one position (the usual case: pairs come sorted by position): broadcast its windows
            out, a = [], 0
            for p, c in zip(vals.tolist(), counts.tolist()):
                out.append(self._pooled(pos[a:a + c], cand[a:a + c], p))
                a += c
            return torch.cat(out)

    def _pooled(self, pos: torch.Tensor, cand: torch.Tensor, at) -> torch.Tensor:
        """:meth:`pooled` for rows whose base windows are ``self.zw[j][at]`` (``at``: the (B,)
        positions, or one int when every row substitutes the same position)."""
        dz = self.Pw[cand]  # (B, C1, k): layer 1 on [i - r, i + r] (the -P[x_i] part is in zw[0])
        for j in range(1, self.N + 1):
            new = dz.add_(self.zw[j - 1][at]).relu_()  # (B, C_j, 2 j r + 1)
            if j == self.N:
                break
            dh = new.sub_(self.hw[j - 1][at])  # Δ of layer j, zero outside its window
            dz = torch.nn.functional.conv_transpose1d(dh, self.wt[j - 1])  # (B, C_{j+1}, 2 (j+1) r + 1)
        return torch.maximum(self.outside_max[at], new.amax(2))

    def logits(self, positions: torch.Tensor, cand_ids: torch.Tensor) -> torch.Tensor:
        """Class scores (B, C) of the B substituted sentences (pre-softmax, as ``classifier.logits``)."""
        with torch.no_grad():
            return self.model.classifier(self.pooled(positions, cand_ids))


def _rows(types: torch.Tensor | None, k: int, dev) -> torch.Tensor | None:
    """(k, L) copies of one sentence's (L,) ``token_type_ids``, or None."""
    return None if types is None else types.to(dev).view(1, -1).expand(k, -1)


def _use_incremental(classifier, attention_mask: torch.Tensor, sub_positions: torch.Tensor) -> bool:
    family = getattr(classifier, "family", None)
    return (family is not None and family.incremental_marginalization and sub_positions.dim() == 2 and sub_positions.shape[1] == 1
            and bool(attention_mask.bool().all()) and not classifier.model.training)


def substituted_target_probs(classifier, input_ids: torch.Tensor, attention_mask: torch.Tensor, sub_positions: torch.Tensor,
                             sub_ids: torch.Tensor, target: int, **kwargs) -> tuple[torch.Tensor, int]:
    """p(y_target | x with x[sub_positions[k]] := sub_ids[k]) for K substitutions of one sentence:
    ``(exp of :func:`substituted_target_log_parts`'s log p (K,), chunk size used)``."""
    parts, size = substituted_target_log_parts(classifier, input_ids, attention_mask, sub_positions, sub_ids, target,
                                               **kwargs)
    return (torch.exp(parts[:, 0]) if parts.numel() else parts.view(-1)), size


def substituted_target_log_parts(classifier, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                                 sub_positions: torch.Tensor, sub_ids: torch.Tensor, target: int, *,
                                 chunk_size: int = MarginalizationConfig.chunk_size, autocast: bool = True,
                                 progress: ProgressFn | None = None, cancel=None, message: str = "classifier",
                                 done0: int = 0, total: int | None = None,
                                 incremental: bool = True,
                                 token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, int]:
    """``[log p, log(1 − p)]`` of y_target (:func:`log_odds_parts`) for x with
    x[sub_positions[k]] := sub_ids[k], K substitutions of one sentence.

    Single-token substitutions (S = 1) of a TextCNN with an all-ones mask use the exact
    :class:`TextCNNIncremental` forward when ``incremental`` is True (no autocast there); every
    other case runs the classifier on the K substituted sentences.

    Args:
        input_ids: (L,) classifier ids of the sentence. attention_mask: (L,).
        sub_positions: (K, S) long, the S positions replaced in substitution k.
        sub_ids: (K, S) long, the ids put there.
        chunk_size: substituted sentences per classifier forward (halved on out-of-memory).
        token_type_ids: (L,) segments of a pair (0 premise, 1 hypothesis), or None.

    Returns:
        ``((K, 2) float64 [log p, log(1 − p)] on the CPU, chunk size used)``.
    """
    dev = classifier.device
    base = input_ids.to(dev).view(1, -1)
    mask = attention_mask.to(dev).view(1, -1)
    types = None if token_type_ids is None else token_type_ids.to(dev).view(1, -1)
    sub_positions = sub_positions.to(dev)
    sub_ids = sub_ids.to(dev)

    if incremental and types is None and _use_incremental(classifier, mask, sub_positions):
        inc = TextCNNIncremental(classifier.model, base[0])
        pos1, ids1 = sub_positions[:, 0], sub_ids[:, 0]

        def fn_inc(a: int, b: int) -> torch.Tensor:
            with torch.inference_mode():
                logits = inc.logits(pos1[a:b], ids1[a:b])
            return log_odds_parts(logits, target).cpu()

        return run_chunked(sub_positions.shape[0], fn_inc, chunk_size, progress=progress, cancel=cancel,
                           message=message, done0=done0, total=total)

    def fn(a: int, b: int) -> torch.Tensor:
        k = b - a
        ids = base.expand(k, -1).clone()
        ids.scatter_(1, sub_positions[a:b], sub_ids[a:b])
        with torch.inference_mode(), amp_context(dev, autocast):
            logits = classifier.logits(ids, mask.expand(k, -1), types)
        return log_odds_parts(logits, target).cpu()

    return run_chunked(sub_positions.shape[0], fn, chunk_size, progress=progress, cancel=cancel, message=message,
                       done0=done0, total=total)


@dataclass(frozen=True)
class MarginalizationOutput:
    """Result of :meth:`InputMarginalization.attribute_ids` for one sentence of n tokens.

    Attributes:
        scores: (n,) float64 WoE in bits; 0 at special tokens (not attributed).
        p_target: p(y_c | x), float.
        p_marginal: (n,) float64 p(y_c | x_−i) (eq. 4); NaN at special tokens.
        n_candidates: (n,) int64 |𝒱̃| per token; 0 at special tokens.
        dropped_mass: (n,) float64 likelihood mass on unusable candidates (see likelihood.py).
        target: class explained. seconds: wall time.
    """

    scores: np.ndarray
    p_target: float
    p_marginal: np.ndarray
    n_candidates: np.ndarray
    dropped_mass: np.ndarray
    target: int
    seconds: float


@dataclass(frozen=True)
class SpanOutput:
    """Joint attribution of a span (Kim et al. §3.3, eq. 3): ``score`` in bits, ``p_marginal``
    p(y_c | x_−span), ``n_candidates`` enumerated joint candidates, ``positions`` the span."""

    positions: tuple[int, ...]
    score: float
    p_target: float
    p_marginal: float
    n_candidates: int
    target: int
    seconds: float


class InputMarginalization:
    """Captum-style method: ``InputMarginalization(classifier, likelihood, sigma=σ).attribute(text)``.

    Args:
        classifier: :class:`~interp_engine.models.Classifier` to explain (any kind).
        likelihood: a :class:`~.likelihood.LikelihoodModel` over the classifier's vocabulary.
        sigma: likelihood threshold σ of eq. 4 (default :attr:`MarginalizationConfig.sigma`, Kim et al.
            Table 3); 0 = full
            marginalization over every non-special token.
        top_n: fixed truncation to the n most likely candidates (§4.6) instead of σ.
        chunk_size: substituted sentences per classifier forward; never changes the result
            (beyond float32 rounding of the classifier), only speed and memory.
        mlm_batch_size: masked copies per likelihood-model forward (all n positions at once
            when n ≤ this).
        autocast: bf16 autocast for the classifier on CUDA (never on CPU; not used by the
            incremental TextCNN path, which is exact in float32).
        incremental: use the exact incremental TextCNN forward (:class:`TextCNNIncremental`) for
            single-token substitutions when the classifier is a TextCNN; False forces the generic
            path (one full forward per substituted sentence), e.g. as a reference.

    At least one candidate (the most likely; all of them when they tie, e.g. a uniform likelihood
    with 1/|V| < σ) is always kept per position, so eq. 4 is defined even when no candidate passes σ.

    Raises:
        InputError: negative ``sigma`` or ``top_n`` < 1.
    """

    def __init__(self, classifier, likelihood: LikelihoodModel, *, sigma: float = MarginalizationConfig.sigma,
                 top_n: int | None = None, chunk_size: int = MarginalizationConfig.chunk_size, mlm_batch_size: int = 128, autocast: bool = True, incremental: bool = True):
        if sigma < 0 or not math.isfinite(sigma):
            raise InputError(f"sigma must be a finite number >= 0, got {sigma}")
        if top_n is not None and top_n < 1:
            raise InputError(f"top_n must be >= 1, got {top_n}")
        self.classifier = classifier
        self.likelihood = likelihood
        self.sigma = float(sigma)
        self.top_n = top_n
        self.chunk_size = int(chunk_size)
        self.mlm_batch_size = int(mlm_batch_size)
        self.autocast = autocast
        self.incremental = bool(incremental)

    @property
    def params(self) -> dict:
        return {"likelihood": self.likelihood.name, "sigma": self.sigma, "top_n": self.top_n}

    # -- pieces ------------------------------------------------------------------------------
    def _likelihood(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, masked_extra=None,
                    cancel=None, types: torch.Tensor | None = None):
        """(n, V) float64 p(x̃ | x_−i) at ``positions`` (n,) and (n,) dropped mass (``types``: (L,)
        segments of a pair, so a masked LM sees premise and hypothesis as two segments)."""
        dev = self.classifier.device
        n, L = positions.shape[0], ids.shape[0]
        probs, dropped = [], []
        for a in range(0, n, self.mlm_batch_size):
            check_cancel(cancel)
            pos = positions[a:a + self.mlm_batch_size].to(dev)
            k = pos.shape[0]
            masked = torch.zeros(k, L, dtype=torch.bool, device=dev)
            if masked_extra is not None:
                masked |= masked_extra.to(dev)
            out = self.likelihood.predict(ids.to(dev).view(1, -1).expand(k, -1), mask.to(dev).view(1, -1).expand(k, -1),
                                          masked, pos, token_type_ids=_rows(types, k, dev))
            probs.append(out.probs)
            dropped.append(out.dropped_mass)
        return torch.cat(probs), torch.cat(dropped)

    def select(self, probs: torch.Tensor) -> torch.Tensor:
        """(n, V) bool: the kept candidates 𝒱̃ of each row (σ, top-n or full; ≥ 1 per row)."""
        allowed = self.likelihood.allowed.to(probs.device)
        if self.top_n is not None:
            k = min(self.top_n, probs.shape[1])
            keep = torch.zeros_like(probs, dtype=torch.bool)
            keep.scatter_(1, probs.topk(k, dim=1).indices, True)
            keep &= probs > 0
        elif self.sigma > 0:
            keep = probs > self.sigma
        else:
            keep = allowed.view(1, -1).expand_as(probs).clone()
        keep &= allowed.view(1, -1)
        empty = ~keep.any(1)
        if bool(empty.any()):
            # nothing passes σ: keep the most likely candidates, all of them when they tie (a
            # uniform likelihood over |V| > 1/σ words would otherwise keep only the lowest id)
            rows = empty.nonzero(as_tuple=True)[0]
            sub = probs[rows].masked_fill(~allowed.view(1, -1), -1.0)
            top = sub.max(1, keepdim=True).values
            keep[rows] = (sub == top) & allowed.view(1, -1)
        return keep

    def _encode(self, text):
        """``(enc, ids (n,), mask (n,), types (n,) or None)`` of one text or pair."""
        enc = self.classifier.encode([text])
        n = enc.lengths()[0]
        types = None if enc.token_type_ids is None else enc.token_type_ids[0, :n]
        return enc, enc.input_ids[0, :n], enc.attention_mask[0, :n], types

    def _target(self, ids, mask, target, types=None):
        t, p, _ = self._target_parts(ids, mask, target, types)
        return t, p

    def _target_parts(self, ids, mask, target, types=None):
        """``(target, probabilities (C,), [log p, log(1 − p)] of the target (2,))`` of the sentence."""
        with torch.inference_mode():
            logits = self.classifier.logits(ids.view(1, -1), mask.view(1, -1),
                                            None if types is None else types.view(1, -1))
        p = torch.softmax(logits.double(), -1)[0].cpu()
        C = p.shape[0]
        t = int(p.argmax()) if target is None else int(target)
        if not 0 <= t < C:
            raise InputError(f"target class {target} does not exist: the model has classes 0..{C - 1}")
        return t, p, log_odds_parts(logits, t)[0].cpu()

    def _reference_parts(self, ids, mask, positions: torch.Tensor, t: int, cancel=None, types=None) -> torch.Tensor:
        """``[log p, log(1 − p)]`` of y_t for x itself, computed as the substitution of the tokens at
        ``positions`` (S,) by themselves, i.e. by the same path and in the same precision (bf16
        autocast on CUDA, the exact TextCNN forward) as the substituted sentences, so a token
        replaced by itself has WoE 0."""
        pos = positions.view(1, -1).cpu()
        parts, _ = substituted_target_log_parts(self.classifier, ids, mask, pos, ids.cpu()[pos], t,
                                                chunk_size=self.chunk_size, autocast=self.autocast, cancel=cancel,
                                                incremental=self.incremental, token_type_ids=types)
        return parts[0]

    # -- the heatmap -------------------------------------------------------------------------
    def attribute(self, text: str, target: int | None = None, *, progress: ProgressFn | None = None, cancel=None):
        """WoE of every token of ``text``; returns ``(MarginalizationOutput, EncodedBatch)``.

        Raises:
            InputError: empty sentence, bad target. Cancelled: ``cancel`` was set.
        """
        enc, ids, mask, types = self._encode(text)
        special = torch.tensor(enc.special[0], dtype=torch.bool)
        positions = (~special).nonzero(as_tuple=True)[0]
        return self.attribute_ids(ids, mask, target, positions=positions, progress=progress, cancel=cancel,
                                  token_type_ids=types), enc

    def attribute_ids(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, target: int | None = None, *,
                      positions: torch.Tensor | None = None, progress: ProgressFn | None = None,
                      cancel=None, token_type_ids: torch.Tensor | None = None) -> MarginalizationOutput:
        """WoE (bits) at ``positions`` of one tokenised sentence.

        Args:
            input_ids: (n,) classifier ids (one sentence, no padding). attention_mask: (n,).
            target: class index; None = the predicted class.
            positions: (m,) long positions to attribute (default: all n).
            token_type_ids: (n,) segments of a pair (0 premise, 1 hypothesis), or None.
        """
        t0 = time.perf_counter()
        types = token_type_ids
        n = input_ids.shape[0]
        positions = torch.arange(n) if positions is None else torch.as_tensor(positions, dtype=torch.long).cpu()
        t, p, x_parts = self._target_parts(input_ids, attention_mask, target, types)
        p_t = float(p[t])
        scores = np.zeros(n)
        p_marg = np.full(n, np.nan)
        n_cand = np.zeros(n, dtype=np.int64)
        dropped_all = np.zeros(n)
        if positions.numel():
            probs, dropped = self._likelihood(input_ids, attention_mask, positions, cancel=cancel, types=types)
            keep = self.select(probs)
            row, cand = keep.nonzero(as_tuple=True)
            w = probs[row, cand]
            if progress is not None:
                progress(0, row.numel(), "marginalizing")
            parts, _ = substituted_target_log_parts(
                self.classifier, input_ids, attention_mask, positions.to(row.device)[row].view(-1, 1), cand.view(-1, 1), t,
                chunk_size=self.chunk_size, autocast=self.autocast, progress=progress, cancel=cancel, message="marginalizing",
                incremental=self.incremental, token_type_ids=types)
            m = positions.numel()
            x_parts = self._reference_parts(input_ids, attention_mask, positions[:1], t, cancel=cancel, types=types)
            marg = marginal_log_parts(row, w, parts, m)
            pos = positions.numpy()
            p_marg[pos] = torch.exp(marg[:, 0]).numpy()
            scores[pos] = woe_from_log_parts(x_parts.numpy(), marg.numpy())
            n_cand[pos] = keep.sum(1).cpu().numpy()
            dropped_all[pos] = dropped.cpu().numpy()
        return MarginalizationOutput(scores, p_t, p_marg, n_cand, dropped_all, t, time.perf_counter() - t0)

    # -- the candidate table (Fig. 1) -----------------------------------------------------------
    def candidate_table(self, text: str, position: int, target: int | None = None, *, cancel=None) -> dict:
        """The kept candidates for token ``position``, sorted by likelihood (most likely first).

        Returns a dict of numpy arrays (see :class:`interp_engine.results.CandidateTable`):
        ``candidate_ids`` (K,), ``likelihood`` (K,) p(x̃ | x_−i), ``target_probability`` (K,)
        p(y_c | x̃, x_−i), plus ``p_target``, ``p_marginal``, ``woe``, ``dropped_mass``, ``target``.

        Raises:
            InputError: ``position`` outside the sentence or at a special token.
        """
        enc, ids, mask, types = self._encode(text)
        n = ids.shape[0]
        if not 0 <= position < n or enc.special[0][position]:
            raise InputError(f"token {position} cannot be marginalized: choose a word token in 0..{n - 1}")
        t, p, x_parts = self._target_parts(ids, mask, target, types)
        pos = torch.tensor([position])
        probs, dropped = self._likelihood(ids, mask, pos, cancel=cancel, types=types)
        keep = self.select(probs)[0]
        cand = keep.nonzero(as_tuple=True)[0]
        lik = probs[0, cand]
        order = torch.argsort(lik, descending=True, stable=True)
        cand, lik = cand[order], lik[order]
        parts, _ = substituted_target_log_parts(self.classifier, ids, mask, torch.full((cand.numel(), 1), position),
                                                cand.view(-1, 1), t, chunk_size=self.chunk_size, autocast=self.autocast,
                                                cancel=cancel, incremental=self.incremental, token_type_ids=types)
        lik_np, py_np = lik.cpu().numpy(), torch.exp(parts[:, 0]).numpy()
        x_parts = self._reference_parts(ids, mask, pos, t, cancel=cancel, types=types)
        marg = marginal_log_parts(torch.zeros(cand.numel(), dtype=torch.long), lik, parts, 1)
        pm = float(torch.exp(marg[0, 0]))
        return dict(enc=enc, candidate_ids=cand.cpu().numpy(), likelihood=lik_np, target_probability=py_np,
                    p_target=float(p[t]), p_marginal=pm, woe=float(woe_from_log_parts(x_parts.numpy(), marg.numpy())[0]),
                    dropped_mass=float(dropped[0]), target=t)

    # -- multi-token spans (§3.3) ---------------------------------------------------------------
    def attribute_span(self, text: str, span: Sequence[int], target: int | None = None, *, max_per_step: int | None = 64,
                       progress: ProgressFn | None = None, cancel=None) -> SpanOutput:
        """Joint WoE (bits) of 2-3 tokens (Kim et al. §3.3, eq. 3).

        p(x̃_a, x̃_b, ... | x_−span) is factorised by the chain rule left to right,
        p(x̃_a | x_−span) · p(x̃_b | x̃_a, x_−span) · ..., each factor from the likelihood model
        with the not-yet-filled span positions masked (one batched MLM forward per step). The
        candidate tree is enumerated with each factor truncated at σ (or top-n), and at most
        ``max_per_step`` candidates per factor (None: no cap); the joint is renormalised over the
        enumerated combinations as eq. 4 does for one token. Approximations: the truncation, and
        that an MLM's conditionals need not be consistent with one joint distribution, so another
        order could give a slightly different value.

        Raises:
            InputError: span of fewer than 2 or more than 3 distinct word tokens.
        """
        t0 = time.perf_counter()
        enc, ids, mask, types = self._encode(text)
        n = ids.shape[0]
        span = sorted(set(int(s) for s in span))
        if not 2 <= len(span) <= 3 or any(not 0 <= s < n or enc.special[0][s] for s in span):
            raise InputError(f"a span is 2 or 3 distinct word tokens in 0..{n - 1}, got {list(span)}")
        if enc.segments is not None and len({enc.segments[0][s] for s in span}) > 1:
            raise InputError("a span lies within one text: choose its tokens all in the premise or all in the hypothesis")
        t, p, x_parts = self._target_parts(ids, mask, target, types)
        dev = self.classifier.device
        span_t = torch.tensor(span, device=dev)
        assign = torch.zeros(1, 0, dtype=torch.long, device=dev)  # (B, s) ids chosen so far
        joint = torch.ones(1, dtype=torch.float64, device=dev)
        for s, pos in enumerate(span):
            check_cancel(cancel)
            B = assign.shape[0]
            batch = ids.to(dev).view(1, -1).repeat(B, 1)
            if s:
                batch[:, span_t[:s]] = assign
            masked = torch.zeros(B, n, dtype=torch.bool, device=dev)
            masked[:, span_t[s:]] = True
            out = self.likelihood.predict(batch, mask.to(dev).view(1, -1).expand(B, -1), masked,
                                          torch.full((B,), pos, device=dev), token_type_ids=_rows(types, B, dev))
            keep = self.select(out.probs)
            if max_per_step is not None:
                cap = torch.zeros_like(keep)
                k = min(max_per_step, keep.shape[1])
                cap.scatter_(1, out.probs.masked_fill(~keep, -1.0).topk(k, dim=1).indices, True)
                keep &= cap
            r, c = keep.nonzero(as_tuple=True)
            joint = joint[r] * out.probs[r, c]
            assign = torch.cat([assign[r], c.view(-1, 1)], 1)
        K = assign.shape[0]
        parts, _ = substituted_target_log_parts(self.classifier, ids, mask, span_t.view(1, -1).expand(K, -1), assign, t,
                                                chunk_size=self.chunk_size, autocast=self.autocast, progress=progress,
                                                cancel=cancel, message="marginalizing span", token_type_ids=types)
        x_parts = self._reference_parts(ids, mask, span_t, t, cancel=cancel, types=types)
        marg = marginal_log_parts(torch.zeros(K, dtype=torch.long), joint.cpu(), parts, 1)
        pm = float(torch.exp(marg[0, 0]))
        p_t = float(p[t])
        woe = float(woe_from_log_parts(x_parts.numpy(), marg.numpy())[0])
        return SpanOutput(tuple(span), woe, p_t, pm, K, t, time.perf_counter() - t0)


# -- the registry's method class ----------------------------------------------------------------


class Marginalization(AttributionMethod):
    """``marginalization``: WoE (bits, Kim et al. 2020 eq. 1) of each token with p(y_c | x_−i)
    from input marginalization over a likelihood model (eq. 2), truncated at σ (eq. 4) or to the
    top n (§4.6). Scores (n,) per token, 0 at special tokens; ``n_candidates`` |Ṽ| and
    ``dropped_mass`` per token. Config: :class:`~interp_engine.config.MarginalizationConfig`."""

    name = "marginalization"
    label = "Marginalization"
    short_label = "Marg"
    units = WOE_UNITS
    description = "input marginalization with a likelihood model (Kim et al. 2020, eq. 1-4), WoE in bits"
    slow = True
    woe = True
    needs_likelihood = True
    config_class = MarginalizationConfig

    def marginalizer(self) -> InputMarginalization:
        cfg = self.config
        return InputMarginalization(self.classifier, self.likelihood, sigma=cfg.sigma, top_n=cfg.top_n,
                                    chunk_size=cfg.chunk_size)

    def attribute(self, inputs, target=None, *, batch_size=None, progress=None, cancel=None):
        t0 = time.perf_counter()
        text = self.text_of(inputs)
        m = self.marginalizer()
        if batch_size:
            m.chunk_size = int(batch_size)
        out, enc = m.attribute(text, target, progress=progress, cancel=cancel)
        return self.result(text, enc, out.scores, out.target, params=m.params, t0=t0, n_candidates=out.n_candidates,
                           dropped_mass=out.dropped_mass)
