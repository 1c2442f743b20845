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

Probabilities are clamped to [ε, 1 − ε] with ε = :data:`EPS` = 1e-12 before taking log-odds, so
every score is finite (|WoE| ≤ 2·log2((1−ε)/ε) ≈ 80 bits).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from ..errors import InputError, check_cancel
from .likelihood import LikelihoodModel

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
    """Kim et al. eq. 1: log2 odds(p_x) − log2 odds(p_without), in bits (same type as ``p_without``)."""
    return log2_odds(p_x, eps) - log2_odds(p_without, eps)


def _is_oom(e: BaseException) -> bool:
    oom = getattr(torch, "OutOfMemoryError", None)
    return (oom is not None and isinstance(e, oom)) or (isinstance(e, RuntimeError) and "out of memory" in str(e))


def run_chunked(n: int, fn: Callable[[int, int], torch.Tensor], chunk_size: int, *, progress: ProgressFn | None = None,
                cancel=None, message: str = "", done0: int = 0, total: int | None = None) -> tuple[torch.Tensor, int]:
    """Evaluate ``fn(start, stop)`` over [0, n) in chunks and concatenate the results.

    The chunk is halved (down to 1) and retried when ``fn`` runs out of memory
    (``torch.OutOfMemoryError`` or a RuntimeError mentioning "out of memory"). Between chunks
    ``cancel`` is checked (raises :class:`~interp_engine.errors.Cancelled`) and
    ``progress(done0 + done, total, message)`` is called.

    Returns:
        ``(concatenated results, the chunk size that worked)``.
    """
    total = n if total is None else total
    outs, start, size = [], 0, max(1, int(chunk_size))
    while start < n:
        check_cancel(cancel)
        stop = min(n, start + size)
        try:
            outs.append(fn(start, stop))
        except BaseException as e:  # noqa: BLE001 - re-raised unless it is an OOM we can shrink for
            if _is_oom(e) and size > 1:
                size = max(1, size // 2)
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            raise
        start = stop
        if progress is not None:
            progress(done0 + start, total, message)
    check_cancel(cancel)
    if not outs:
        return torch.zeros(0, dtype=torch.float64), size
    return torch.cat(outs), size


def substituted_target_probs(classifier, input_ids: torch.Tensor, attention_mask: torch.Tensor, sub_positions: torch.Tensor,
                             sub_ids: torch.Tensor, target: int, *, chunk_size: int = 4096, autocast: bool = True,
                             progress: ProgressFn | None = None, cancel=None, message: str = "classifier",
                             done0: int = 0, total: int | None = None) -> tuple[torch.Tensor, int]:
    """p(y_target | x with x[sub_positions[k]] := sub_ids[k]) for K substitutions of one sentence.

    Args:
        input_ids: (L,) classifier ids of the sentence. attention_mask: (L,).
        sub_positions: (K, S) long, the S positions replaced in substitution k.
        sub_ids: (K, S) long, the ids put there.
        chunk_size: substituted sentences per classifier forward (halved on out-of-memory).

    Returns:
        ``((K,) float64 probabilities on the CPU, chunk size used)``.
    """
    dev = classifier.device
    base = input_ids.to(dev).view(1, -1)
    mask = attention_mask.to(dev).view(1, -1)
    sub_positions = sub_positions.to(dev)
    sub_ids = sub_ids.to(dev)
    use_amp = autocast and dev.type == "cuda"

    def fn(a: int, b: int) -> torch.Tensor:
        k = b - a
        ids = base.expand(k, -1).clone()
        ids.scatter_(1, sub_positions[a:b], sub_ids[a:b])
        with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
            logits = classifier.logits(ids, mask.expand(k, -1))
        return torch.softmax(logits.double(), -1)[:, target].cpu()

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
    """Captum-style method: ``InputMarginalization(classifier, likelihood, sigma=1e-5).attribute(text)``.

    Args:
        classifier: :class:`~interp_engine.models.Classifier` to explain (any kind).
        likelihood: a :class:`~.likelihood.LikelihoodModel` over the classifier's vocabulary.
        sigma: likelihood threshold σ of eq. 4 (default 1e-5, Kim et al. Table 3); 0 = full
            marginalization over every non-special token.
        top_n: fixed truncation to the n most likely candidates (§4.6) instead of σ.
        chunk_size: substituted sentences per classifier forward; never changes the result
            (beyond float32 rounding of the classifier), only speed and memory.
        mlm_batch_size: masked copies per likelihood-model forward (all n positions at once
            when n ≤ this).
        autocast: bf16 autocast for the classifier on CUDA (never on CPU).

    At least one candidate (the most likely) is always kept per position, so eq. 4 is defined
    even when no candidate passes σ.

    Raises:
        InputError: negative ``sigma`` or ``top_n`` < 1.
    """

    def __init__(self, classifier, likelihood: LikelihoodModel, *, sigma: float = 1e-5, top_n: int | None = None,
                 chunk_size: int = 4096, mlm_batch_size: int = 128, autocast: bool = True):
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

    @property
    def params(self) -> dict:
        return {"likelihood": self.likelihood.name, "sigma": self.sigma, "top_n": self.top_n}

    # -- pieces ------------------------------------------------------------------------------
    def _likelihood(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, masked_extra=None,
                    cancel=None):
        """(n, V) float64 p(x̃ | x_−i) at ``positions`` (n,) and (n,) dropped mass."""
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
                                          masked, pos)
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
            rows = empty.nonzero(as_tuple=True)[0]
            keep[rows, probs[rows].argmax(1)] = True
        return keep

    def _encode(self, text: str):
        enc = self.classifier.encode([text])
        n = enc.lengths()[0]
        return enc, enc.input_ids[0, :n], enc.attention_mask[0, :n]

    def _target(self, ids, mask, target):
        with torch.inference_mode():
            logits = self.classifier.logits(ids.view(1, -1), mask.view(1, -1))
        p = torch.softmax(logits.double(), -1)[0].cpu()
        C = p.shape[0]
        t = int(p.argmax()) if target is None else int(target)
        if not 0 <= t < C:
            raise InputError(f"target class {target} does not exist: the model has classes 0..{C - 1}")
        return t, p

    # -- the heatmap -------------------------------------------------------------------------
    def attribute(self, text: str, target: int | None = None, *, progress: ProgressFn | None = None, cancel=None):
        """WoE of every token of ``text``; returns ``(MarginalizationOutput, EncodedBatch)``.

        Raises:
            InputError: empty sentence, bad target. Cancelled: ``cancel`` was set.
        """
        enc, ids, mask = self._encode(text)
        special = torch.tensor(enc.special[0], dtype=torch.bool)
        positions = (~special).nonzero(as_tuple=True)[0]
        return self.attribute_ids(ids, mask, target, positions=positions, progress=progress, cancel=cancel), enc

    def attribute_ids(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, target: int | None = None, *,
                      positions: torch.Tensor | None = None, progress: ProgressFn | None = None,
                      cancel=None) -> MarginalizationOutput:
        """WoE (bits) at ``positions`` of one tokenised sentence.

        Args:
            input_ids: (n,) classifier ids (one sentence, no padding). attention_mask: (n,).
            target: class index; None = the predicted class.
            positions: (m,) long positions to attribute (default: all n).
        """
        t0 = time.perf_counter()
        n = input_ids.shape[0]
        positions = torch.arange(n) if positions is None else torch.as_tensor(positions, dtype=torch.long).cpu()
        t, p = self._target(input_ids, attention_mask, target)
        p_t = float(p[t])
        scores = np.zeros(n)
        p_marg = np.full(n, np.nan)
        n_cand = np.zeros(n, dtype=np.int64)
        dropped_all = np.zeros(n)
        if positions.numel():
            probs, dropped = self._likelihood(input_ids, attention_mask, positions, cancel=cancel)
            keep = self.select(probs)
            row, cand = keep.nonzero(as_tuple=True)
            w = probs[row, cand]
            if progress is not None:
                progress(0, row.numel(), "marginalizing")
            py, _ = substituted_target_probs(
                self.classifier, input_ids, attention_mask, positions.to(row.device)[row].view(-1, 1), cand.view(-1, 1), t,
                chunk_size=self.chunk_size, autocast=self.autocast, progress=progress, cancel=cancel, message="marginalizing")
            m = positions.numel()
            w = w.cpu()
            num = torch.zeros(m, dtype=torch.float64).index_add_(0, row.cpu(), w * py)
            den = torch.zeros(m, dtype=torch.float64).index_add_(0, row.cpu(), w)
            pm = (num / den).numpy()
            pos = positions.numpy()
            p_marg[pos] = pm
            scores[pos] = weight_of_evidence(p_t, pm)
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
        enc, ids, mask = self._encode(text)
        n = ids.shape[0]
        if not 0 <= position < n or enc.special[0][position]:
            raise InputError(f"token {position} cannot be marginalized: choose a word token in 0..{n - 1}")
        t, p = self._target(ids, mask, target)
        pos = torch.tensor([position])
        probs, dropped = self._likelihood(ids, mask, pos, cancel=cancel)
        keep = self.select(probs)[0]
        cand = keep.nonzero(as_tuple=True)[0]
        lik = probs[0, cand]
        order = torch.argsort(lik, descending=True, stable=True)
        cand, lik = cand[order], lik[order]
        py, _ = substituted_target_probs(self.classifier, ids, mask, torch.full((cand.numel(), 1), position), cand.view(-1, 1),
                                         t, chunk_size=self.chunk_size, autocast=self.autocast, cancel=cancel)
        lik_np, py_np = lik.cpu().numpy(), py.numpy()
        pm = float((lik_np * py_np).sum() / lik_np.sum())
        return dict(enc=enc, candidate_ids=cand.cpu().numpy(), likelihood=lik_np, target_probability=py_np,
                    p_target=float(p[t]), p_marginal=pm, woe=float(weight_of_evidence(float(p[t]), pm)),
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
        enc, ids, mask = self._encode(text)
        n = ids.shape[0]
        span = sorted(set(int(s) for s in span))
        if not 2 <= len(span) <= 3 or any(not 0 <= s < n or enc.special[0][s] for s in span):
            raise InputError(f"a span is 2 or 3 distinct word tokens in 0..{n - 1}, got {list(span)}")
        t, p = self._target(ids, mask, target)
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
                                          torch.full((B,), pos, device=dev))
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
        py, _ = substituted_target_probs(self.classifier, ids, mask, span_t.view(1, -1).expand(K, -1), assign, t,
                                         chunk_size=self.chunk_size, autocast=self.autocast, progress=progress,
                                         cancel=cancel, message="marginalizing span")
        w = joint.cpu()
        pm = float((w * py).sum() / w.sum())
        p_t = float(p[t])
        return SpanOutput(tuple(span), float(weight_of_evidence(p_t, pm)), p_t, pm, K, t, time.perf_counter() - t0)
