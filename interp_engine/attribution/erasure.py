"""Erasure baselines of Kim et al. (``004_137d387c767c1e08.txt`` §2.1, §4.3), scored with the weight
of evidence of eq. 1 in bits: WoE_i = log2 odds(y_c | x) − log2 odds(y_c | x with token i erased).

* ``zero``: token i's word embedding is replaced by the zero vector (Li et al. 2016), run through
  ``inputs_embeds`` so that it is the zero vector for every architecture (for our TextCNN/BiLSTM
  that equals the [PAD] id 0, whose embedding row is zero, with the attention mask kept at 1; for
  transformers the position/type embeddings are still added by the model).
* ``unk``: token i's id is replaced by the tokenizer's [UNK] id.

The WoE is computed in log space from the logits (:func:`~.marginalization.log_odds_parts`), so it
is exact for confident models too.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..config import ErasureConfig
from ..errors import InputError
from .base import AttributionMethod, prepare
from .marginalization import WOE_UNITS, MarginalizationOutput, log_odds_parts, run_chunked, woe_from_log_parts

ERASURE_MODES = ("zero", "unk")


class ErasureAttribution:
    """Captum-style method: ``ErasureAttribution(classifier, "zero").attribute(text, target)``.

    Args:
        classifier: :class:`~interp_engine.models.Classifier`.
        mode: ``"zero"`` or ``"unk"``.
        chunk_size: erased copies per forward (never changes the result).

    Raises:
        InputError: unknown mode, or ``unk`` with a tokenizer that has no [UNK] token.
    """

    def __init__(self, classifier, mode: str = "zero", *, chunk_size: int = ErasureConfig.chunk_size):
        if mode not in ERASURE_MODES:
            raise InputError(f"unknown erasure {mode!r}; choose one of {', '.join(ERASURE_MODES)}")
        if mode == "unk" and classifier.tokenizer.unk_token_id is None:
            raise InputError("this model's tokenizer has no [UNK] token: use zero erasure")
        self.classifier = classifier
        self.mode = mode
        self.chunk_size = chunk_size

    def attribute(self, text: str, target: int | None = None, *, progress=None, cancel=None):
        """WoE (bits) of every word token; ``(MarginalizationOutput, EncodedBatch)`` with
        ``n_candidates`` 1 per word token (0 at special tokens) and ``dropped_mass`` 0.

        Raises:
            InputError: empty sentence or bad target. Cancelled: ``cancel`` set.
        """
        t0 = time.perf_counter()
        c = self.classifier
        pre = prepare(c, text, target)
        enc, n, ids, mask, types, p, t = pre.enc, pre.n, pre.ids, pre.mask, pre.types, pre.p, pre.target
        x_parts = log_odds_parts(pre.logits, t)[0].cpu().numpy()
        positions = torch.tensor([i for i in range(n) if not enc.special[0][i]], dtype=torch.long)
        unk = c.tokenizer.unk_token_id

        def fn(a: int, b: int) -> torch.Tensor:
            pos = positions[a:b].to(c.device)
            k = pos.numel()
            rows = torch.arange(k, device=c.device)
            with torch.inference_mode():
                if self.mode == "zero":
                    emb = c.embed(ids.expand(k, -1)).clone()
                    emb[rows, pos] = 0
                    logits = c.logits_from_embeds(emb, mask.expand(k, -1), types)
                else:
                    x = ids.expand(k, -1).clone()
                    x[rows, pos] = unk
                    logits = c.logits(x, mask.expand(k, -1), types)
            return log_odds_parts(logits, t).cpu()

        parts, _ = run_chunked(positions.numel(), fn, self.chunk_size, progress=progress, cancel=cancel,
                               message=f"{self.mode} erasure")
        scores = np.zeros(n)
        p_without = np.full(n, np.nan)
        n_cand = np.zeros(n, dtype=np.int64)
        pos = positions.numpy()
        if len(pos):
            p_without[pos] = torch.exp(parts[:, 0]).numpy()
            scores[pos] = woe_from_log_parts(x_parts, parts.numpy())
        n_cand[pos] = 1
        out = MarginalizationOutput(scores, float(p[t]), p_without, n_cand, np.zeros(n), t, time.perf_counter() - t0)
        return out, enc


# -- the registry's method classes -------------------------------------------------------------


class ZeroErasure(AttributionMethod):
    """``zero``: WoE (bits, Kim et al. eq. 1) of erasing each token's embedding to the zero vector
    (Kim et al. §4.3, Li et al. 2016). Scores (n,) per token, 0 at special tokens."""

    name = "zero"
    label = "Erasure (zero)"
    short_label = "Zero"
    units = WOE_UNITS
    description = "zero-embedding erasure, WoE in bits (Kim et al. 2020, §4.3)"
    woe = True
    config_class = ErasureConfig
    mode = "zero"
    replacement = "the zero vector"

    def attribute(self, inputs, target=None, *, batch_size=None, progress=None, cancel=None):
        t0 = time.perf_counter()
        text = self.text_of(inputs)
        chunk = int(batch_size or self.config.chunk_size)
        out, enc = ErasureAttribution(self.classifier, self.mode, chunk_size=chunk).attribute(
            text, target, progress=progress, cancel=cancel)
        return self.result(text, enc, out.scores, out.target, t0=t0, n_candidates=out.n_candidates,
                           dropped_mass=out.dropped_mass)


class UnkErasure(ZeroErasure):
    """``unk``: WoE (bits) of replacing each token by the tokenizer's [UNK] (Kim et al. §4.3)."""

    name = "unk"
    label = "Erasure ([UNK])"
    short_label = "Unk"
    description = "[UNK] erasure, WoE in bits (Kim et al. 2020, §4.3)"
    mode = "unk"
    replacement = "[UNK]"
