"""Gradient and gradient×input token attribution (Simonyan et al. 2013; Li et al. 2015 for
NLP, as cited in Yuan et al. ``001_e80f9d2c7d254978.txt``, Related Work and eq. 2).

For a sentence with word embeddings E (L, D) and class score S_c (pre-softmax logit):

* ``grad``:       score_i = sum_d dS_c/dE_{i,d}
* ``grad_input``: score_i = sum_d dS_c/dE_{i,d} * E_{i,d}   (first-order Taylor term)

Both are in logit units. The embedding is the model's input embedding (for transformers, the
word-piece embedding before position embeddings are added).
"""
from __future__ import annotations

import torch

from ..config import GradientConfig
from ..errors import InputError
from .base import AttributionMethod


def gradient_scores(
    classifier, input_ids: torch.Tensor, attention_mask: torch.Tensor, target: torch.Tensor, *, times_input: bool,
    token_type_ids: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient (×input) attribution for a padded batch in one backward pass.

    Args:
        classifier: a :class:`~interp_engine.models.Classifier`.
        input_ids: (B, L) token ids. attention_mask: (B, L).
        target: (B,) class index per sentence. token_type_ids: (B, L) segments of pairs, or None.
        times_input: multiply the gradient by the embedding (``grad_input``).

    Returns:
        ``(scores (B, L) float32 with zeros at padding, logits (B, C))``. Sentences do not
        interact: each row equals what the sentence gives alone.
    """
    with classifier.grad_mode():
        emb = classifier.embed(input_ids).detach().requires_grad_(True)
        logits = classifier.logits_from_embeds(emb, attention_mask, token_type_ids)
        s = logits.gather(1, target.view(-1, 1)).sum()
        (g,) = torch.autograd.grad(s, emb)
    contrib = g * emb if times_input else g
    scores = contrib.sum(-1) * attention_mask.to(contrib.dtype)
    if not times_input:
        _refuse_a_null_direction(scores, g, attention_mask)
    return scores.detach(), logits.detach()


#: relative size under which Σ_d ∂S/∂E_{i,d} is float error, not a gradient: a random direction
#: in D dims gives |Σ_d g_d| / ‖g‖ ≈ 1, a LayerNorm-invariant model ~1e-7 (float32)
NULL_DIRECTION_RATIO = 1e-4

GRAD_NULL_MESSAGE = ("Gradient (the gradient summed over embedding dimensions) is zero for this model up to "
                     "float error: it normalises the embedding with a LayerNorm, which does not change when "
                     "the same amount is added to every dimension, so this heatmap would show only rounding "
                     "noise. Use Gradient × input or Integrated gradients.")


def _refuse_a_null_direction(scores: torch.Tensor, g: torch.Tensor, attention_mask: torch.Tensor) -> None:
    """Raise :class:`InputError` (:data:`GRAD_NULL_MESSAGE`) when the summed gradient ``scores`` (B, L)
    is float error against the gradient ``g`` (B, L, D): max |score| ≤ :data:`NULL_DIRECTION_RATIO` ·
    max ‖g_i‖ while ‖g‖ > 0 (BERT-family embeddings, see :class:`Gradient`). A dead model (g = 0)
    is not refused: its zeros are exact."""
    gn = g.detach().norm(dim=-1) * attention_mask.to(g.dtype)
    top = float(gn.max()) if gn.numel() else 0.0
    if top > 0 and float(scores.detach().abs().max()) <= NULL_DIRECTION_RATIO * top:
        raise InputError(GRAD_NULL_MESSAGE)


class GradientAttribution:
    """Captum-style method object: ``GradientAttribution(classifier, times_input).attribute(texts, target)``.

    Args:
        classifier: the model to explain.
        times_input: False for ``grad``, True for ``grad_input``.
    """

    def __init__(self, classifier, times_input: bool = False):
        self.classifier = classifier
        self.times_input = times_input

    @property
    def name(self) -> str:
        return "grad_input" if self.times_input else "grad"

    def attribute(self, texts: list[str], target: list[int] | int | None = None, *, internal_batch_size: int = 64):
        """Attribution of every token of every text.

        Args:
            texts: N sentences (strings or :class:`~interp_engine.inputs.TextInput` pairs).
            target: class per sentence, one class for all, or None for the predicted class.
            internal_batch_size: sentences per forward/backward (halved and retried on
                out-of-memory, :mod:`interp_engine.batching`); never changes the result.

        Returns:
            ``(scores, targets, logits)``: list of N arrays (n_i,), (N,) targets, (N, C) logits.

        Raises:
            InputError: empty sentence or a target outside [0, C).
        """
        import numpy as np

        from ..batching import for_each_chunk

        C = self.classifier.num_labels

        def run(start: int, stop: int):
            chunk = texts[start:stop]
            enc = self.classifier.encode(chunk)
            with torch.no_grad():
                logits = self.classifier.logits(enc.input_ids, enc.attention_mask, enc.token_type_ids)
            if target is None:
                t = logits.argmax(-1)
            else:
                tl = [target] * len(chunk) if isinstance(target, int) else list(target[start : start + len(chunk)])
                if any(not 0 <= x < C for x in tl):
                    raise InputError(f"target class must be in 0..{C - 1}")
                t = torch.tensor(tl, device=logits.device)
            sc, lg = gradient_scores(self.classifier, enc.input_ids, enc.attention_mask, t, times_input=self.times_input,
                                     token_type_ids=enc.token_type_ids)
            scores = [sc[b, :n].double().cpu().numpy() for b, n in enumerate(enc.lengths())]
            return scores, t.cpu().numpy(), lg.double().cpu().numpy()

        # chunks of ``internal_batch_size`` sentences, halved and retried on out-of-memory
        parts, _ = for_each_chunk(len(texts), run, internal_batch_size)
        if not parts:
            return [], np.zeros(0, dtype=np.int64), np.zeros((0, C))
        return ([s for p in parts for s in p[0]], np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))


# -- the registry's method classes (one per heatmap method) ------------------------------------


class Gradient(AttributionMethod):
    """``grad``: score_i = Σ_d ∂S_c/∂E_{i,d} (logit units; Simonyan et al. 2013, Li et al. 2015,
    as cited by Yuan et al. ``001_e80f9d2c7d254978.txt`` eq. 2). Scores (n,) per token.

    Known limitation: Σ_d ∂S_c/∂E_{i,d} is the derivative along the all-ones direction, and a
    model that normalises the embedding sum with a LayerNorm (BERT, RoBERTa, DistilBERT) is
    invariant to that direction, so on those models every score is 0 up to float error
    (``tests/engine/test_gradient.py::test_grad_input_is_directional_derivative[bert]``). Such a
    map is rounding noise, so it is refused with :data:`GRAD_NULL_MESSAGE` (an :class:`InputError`:
    a message in the app, exit 2 in the CLI); use grad×input or integrated gradients there."""

    name = "grad"
    label = "Gradient"
    short_label = "Grad"
    units = "logit gradient (summed over embedding dims)"
    description = "gradient of the class score w.r.t. the word embedding, summed over dimensions"
    config_class = GradientConfig
    times_input = False

    def attribute(self, inputs, target=None, *, batch_size=None, progress=None, cancel=None):
        import time

        from ..errors import check_cancel

        t0 = time.perf_counter()
        c = self.classifier
        text = self.text_of(inputs)
        enc = c.encode([text])
        with torch.no_grad():
            logits = c.logits(enc.input_ids, enc.attention_mask, enc.token_type_ids)
        C = logits.shape[-1]
        if target is None:
            tt = logits.argmax(-1)
        else:
            if not 0 <= int(target) < C:
                raise InputError(f"target class {target} does not exist: the model has classes 0..{C - 1}")
            tt = torch.full((logits.shape[0],), int(target), device=logits.device, dtype=torch.long)
        check_cancel(cancel)
        sc, _ = gradient_scores(c, enc.input_ids, enc.attention_mask, tt, times_input=self.times_input,
                                token_type_ids=enc.token_type_ids)
        scores = sc[0, : enc.lengths()[0]].double().cpu().numpy()
        p = torch.softmax(logits.double(), -1)[0].cpu().numpy()
        return self.result(text, enc, scores, int(tt[0]), probabilities=p, t0=t0)


class GradientTimesInput(Gradient):
    """``grad_input``: score_i = Σ_d ∂S_c/∂E_{i,d} · E_{i,d}, the first-order Taylor term (logit
    units). Scores (n,) per token."""

    name = "grad_input"
    label = "Gradient × input"
    short_label = "Grad×Input"
    units = "logit gradient · embedding"
    description = "gradient × input (embedding), summed over dimensions"
    times_input = True
