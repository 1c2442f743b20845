"""Leave-one-out by removal (``loo``): the weight of evidence of *deleting* each token. No Qt.

The reference of the issue is "Double Trouble" (leave-one-out by removal: the token is replaced by
the empty string, so the sentence gets one token shorter), as opposed to the erasure baselines of
:mod:`.erasure`, which keep the sentence length and put the zero vector or [UNK] in the token's
place. The score is the weight of evidence of Kim et al. 2020 (``004_137d387c767c1e08.txt``) eq. 1
in bits::

    score_i = log2 odds p(c | x) − log2 odds p(c | x without token i),   odds(p) = p / (1 − p)

where "x without token i" is the model's token sequence with position i deleted: a BERT-like
model's positions after i move one place left, and for a sentence pair the token's segment id is
deleted with it (the remaining tokens keep theirs), so the shortened ``token_type_ids`` are passed.
Special tokens ([CLS], [SEP]) are never removed and score 0. Removing the only token of a
one-token input leaves one [PAD] token (the convention of the ``remove`` deletion curves of
:mod:`interp_engine.faithfulness`). The tokens are those the model reads, so a truncated text is
explained as truncated.

The WoE is computed in log space from the logits (:func:`~.marginalization.log_odds_parts`,
:func:`~.marginalization.woe_from_log_parts`), so it is exact for confident models too. All n
shortened inputs have the same length n − 1, so they are stacked into one batch and run in chunks
of ``chunk_size`` rows (:func:`~interp_engine.batching.run_chunked`: halved on out-of-memory,
progress and cancel); the chunking never changes the result.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ..config import LeaveOneOutConfig
from .base import AttributionMethod, prepare
from .marginalization import WOE_UNITS, log_odds_parts, run_chunked, woe_from_log_parts


def removal_log_parts(classifier, enc, target: int, positions: torch.Tensor, *, chunk_size: int,
                      progress=None, cancel=None) -> torch.Tensor:
    """``[log p(target), log(1 − p(target))]`` of sentence 0 of ``enc`` with each of ``positions``
    deleted (one input per position).

    Args:
        classifier: :class:`~interp_engine.models.Classifier`.
        enc: its :class:`~interp_engine.models.classifier.EncodedBatch` of one input.
        target: class index. positions: (k,) long token positions to delete, one per row.
        chunk_size: shortened inputs per forward. progress, cancel: see :func:`run_chunked`.

    Returns:
        (k, 2) float64 on the CPU (empty when k = 0).
    """
    c = classifier
    n = enc.lengths()[0]
    ids = enc.input_ids[0, :n]
    mask = enc.attention_mask[0, :n]
    types = None if enc.token_type_ids is None else enc.token_type_ids[0, :n]
    pad = c.tokenizer.pad_token_id if c.tokenizer.pad_token_id is not None else 0

    def fn(a: int, b: int) -> torch.Tensor:
        pos = positions[a:b].to(ids.device)
        k = pos.numel()
        if n == 1:  # the only token removed: one [PAD] token (faithfulness ``remove`` convention)
            x = torch.full((k, 1), pad, dtype=ids.dtype, device=ids.device)
            m = torch.ones_like(x)
            tt = None if types is None else torch.zeros_like(x)
        else:
            keep = torch.ones(k, n, dtype=torch.bool, device=ids.device)
            keep[torch.arange(k, device=ids.device), pos] = False
            x = ids.expand(k, -1)[keep].view(k, n - 1)
            m = mask.expand(k, -1)[keep].view(k, n - 1)
            tt = None if types is None else types.expand(k, -1)[keep].view(k, n - 1)
        with torch.inference_mode():
            logits = c.logits(x.to(c.device), m.to(c.device), None if tt is None else tt.to(c.device))
        return log_odds_parts(logits, target).cpu()

    parts, _ = run_chunked(positions.numel(), fn, chunk_size, progress=progress, cancel=cancel,
                           message="leave-one-out")
    return parts.reshape(-1, 2)


class LeaveOneOut(AttributionMethod):
    """``loo``: WoE (bits, Kim et al. eq. 1) of deleting each token, the sentence one token shorter
    (leave-one-out by removal, the empty-string deletion of "Double Trouble"). Scores (n,) per
    token, 0 at special tokens; ``n_candidates`` 1 per word token (the empty string), 0 at special
    tokens; ``dropped_mass`` 0. ``batch_size`` (or the config's ``chunk_size``): shortened inputs
    per forward, never changes the result."""

    name = "loo"
    label = "Leave-one-out (removal)"
    short_label = "LOO"
    units = WOE_UNITS
    description = "leave-one-out by removal (the token deleted, the sentence one shorter), WoE in bits"
    woe = True
    config_class = LeaveOneOutConfig
    replacement = "nothing (the token is deleted, the sentence one token shorter)"

    def attribute(self, inputs, target=None, *, batch_size=None, progress=None, cancel=None):
        t0 = time.perf_counter()
        text = self.text_of(inputs)
        c = self.classifier
        pre = prepare(c, text, target)
        enc, n, p, t = pre.enc, pre.n, pre.p, pre.target
        x_parts = log_odds_parts(pre.logits, t)[0].cpu().numpy()
        positions = torch.tensor([i for i in range(n) if not enc.special[0][i]], dtype=torch.long)
        chunk = int(batch_size or self.config.chunk_size)
        parts = removal_log_parts(c, enc, t, positions, chunk_size=chunk, progress=progress, cancel=cancel)
        scores = np.zeros(n)
        n_cand = np.zeros(n, dtype=np.int64)
        pos = positions.numpy()
        if len(pos):
            scores[pos] = woe_from_log_parts(x_parts, parts.numpy())
            n_cand[pos] = 1
        return self.result(text, enc, scores, t, probabilities=p.numpy(), t0=t0, n_candidates=n_cand,
                           dropped_mass=np.zeros(n))


__all__ = ["LeaveOneOut", "removal_log_parts"]
