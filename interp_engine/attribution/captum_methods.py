"""Integrated Gradients (Sundararajan et al. 2017) and LIME (Ribeiro et al. 2016) through Captum,
on the same token units as the other heatmaps; Kim et al. (``004_137d387c767c1e08.txt`` §4.3)
compare input marginalization with such methods.

* ``integrated_gradients``: ``captum.attr.IntegratedGradients`` on the word embeddings
  (``inputs_embeds``, (1, L, D)) from the zero-embedding baseline, explaining the target's
  pre-softmax logit; the per-dimension attributions are summed over D, so each token's score is
  in logit units and the scores sum (up to the convergence delta) to S_c(x) − S_c(0).
* ``lime``: ``captum.attr.Lime`` with a token-level feature mask (feature j = all D dimensions of
  token j), switched-off tokens get the zero embedding, explaining the target's probability;
  scores are the coefficients of the surrogate ridge regression (alpha = 1, as in the original
  ``lime`` package; Captum's default Lasso zeroes the small effects of weak models), in
  probability units, with Captum's default exponential cosine kernel. Sampling is seeded.

Special tokens ([CLS]/[SEP]) are neither perturbed nor scored (score 0).
"""
from __future__ import annotations

import torch

from ..batching import with_halving
from ..config import IntegratedGradientsConfig, LimeConfig
from ..errors import InputError, check_cancel
from .base import AttributionMethod

IG_UNITS = "logit (integrated gradients, summed over embedding dims)"
LIME_UNITS = "probability (LIME surrogate coefficient)"


def _prepare(classifier, text: str, target: int | None):
    enc = classifier.encode([text])
    n = enc.lengths()[0]
    ids, mask = enc.input_ids[:, :n], enc.attention_mask[:, :n]
    with torch.inference_mode():
        logits = classifier.logits(ids, mask)
    p = torch.softmax(logits.double(), -1)[0].cpu()
    C = p.shape[0]
    t = int(p.argmax()) if target is None else int(target)
    if not 0 <= t < C:
        raise InputError(f"target class {target} does not exist: the model has classes 0..{C - 1}")
    special = torch.tensor(enc.special[0], dtype=torch.bool, device=ids.device)
    return enc, ids, mask, t, p, special


def integrated_gradients(classifier, text: str, target: int | None = None, *,
                         n_steps: int = IntegratedGradientsConfig.n_steps,
                         internal_batch_size: int = IntegratedGradientsConfig.internal_batch_size, cancel=None):
    """Integrated Gradients per token. Returns ``(scores (n,) float64, target, probabilities (C,), enc, delta)``.

    ``cancel`` (a ``threading.Event``) is checked before every forward batch.

    Raises:
        InputError: empty sentence or bad target.
        Cancelled: ``cancel`` was set.
    """
    from captum.attr import IntegratedGradients

    enc, ids, mask, t, p, special = _prepare(classifier, text, target)
    with torch.no_grad():
        emb = classifier.embed(ids).detach()
    keep = (~special).to(emb.dtype).view(1, -1, 1)

    def forward(e):
        check_cancel(cancel)
        # special tokens stay at their real embedding along the whole path
        e = e * keep + emb * (1 - keep)
        return classifier.logits_from_embeds(e, mask.expand(e.shape[0], -1))

    def run(batch: int):
        with classifier.grad_mode():
            return IntegratedGradients(forward).attribute(
                emb, baselines=torch.zeros_like(emb), target=t, n_steps=n_steps, internal_batch_size=batch,
                return_convergence_delta=True)

    attr, delta = with_halving(run, internal_batch_size, cancel=cancel)  # halves the batch on OOM
    scores = (attr.sum(-1)[0] * keep[0, :, 0]).double().cpu().numpy()
    return scores, t, p.numpy(), enc, float(delta.abs().max())


def lime(classifier, text: str, target: int | None = None, *, n_samples: int = LimeConfig.n_samples,
         seed: int = LimeConfig.seed, perturbations_per_eval: int = LimeConfig.perturbations_per_eval, cancel=None):
    """LIME per token. Returns ``(scores (n,) float64, target, probabilities (C,), enc)``.

    ``cancel`` (a ``threading.Event``) is checked before every forward batch of perturbations.

    Raises:
        InputError: empty sentence or bad target.
        Cancelled: ``cancel`` was set.
    """
    from captum._utils.models.linear_model import SkLearnRidge
    from captum.attr import Lime

    enc, ids, mask, t, p, special = _prepare(classifier, text, target)
    n = ids.shape[1]
    with torch.no_grad():
        emb = classifier.embed(ids).detach()
    # feature j = token j; a special token's baseline is its own embedding, so switching it off changes nothing
    feat = torch.arange(n, device=emb.device).view(1, n, 1).expand_as(emb).contiguous()
    baseline = torch.where(special.view(1, -1, 1), emb, torch.zeros_like(emb))

    def forward(e):
        check_cancel(cancel)
        with torch.inference_mode():
            logits = classifier.logits_from_embeds(e, mask.expand(e.shape[0], -1))
        return torch.softmax(logits.float(), -1)

    def run(batch: int):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the same samples at every batch size
            return Lime(forward, interpretable_model=SkLearnRidge(alpha=1.0)).attribute(
                emb, baselines=baseline, target=t, feature_mask=feat, n_samples=n_samples,
                perturbations_per_eval=batch)

    attr = with_halving(run, perturbations_per_eval, cancel=cancel)  # halves the batch on OOM
    scores = attr[0, :, 0].double().cpu().numpy() * (~special).cpu().numpy()
    return scores, t, p.numpy(), enc


# -- the registry's method classes -------------------------------------------------------------


class IntegratedGradients(AttributionMethod):
    """``integrated_gradients``: Captum IntegratedGradients on the word embeddings from the zero
    baseline (Sundararajan et al. 2017), summed over dimensions: logit units, scores (n,) that sum
    to S_c(x) − S_c(0) up to the convergence delta (in ``params``)."""

    name = "integrated_gradients"
    label = "Integrated gradients"
    short_label = "IG"
    units = IG_UNITS
    description = "Captum IntegratedGradients on the word embeddings, zero baseline"
    slow = True
    config_class = IntegratedGradientsConfig

    def attribute(self, inputs, target=None, *, batch_size=None, progress=None, cancel=None):
        import time

        t0 = time.perf_counter()
        text = self.text_of(inputs)
        cfg = self.config
        scores, t, p, enc, delta = integrated_gradients(
            self.classifier, text, target, n_steps=cfg.n_steps,
            internal_batch_size=int(batch_size or cfg.internal_batch_size), cancel=cancel)
        params = {"n_steps": cfg.n_steps, "baseline": "zero embedding", "convergence_delta": delta}
        return self.result(text, enc, scores, t, probabilities=p, params=params, t0=t0)


class Lime(AttributionMethod):
    """``lime``: Captum Lime with one feature per token (switched off = zero embedding), ridge
    surrogate; scores (n,) in probability units (surrogate coefficients). Seeded."""

    name = "lime"
    label = "LIME"
    short_label = "LIME"
    units = LIME_UNITS
    description = "Captum Lime with token-level feature masks"
    slow = True
    config_class = LimeConfig

    def attribute(self, inputs, target=None, *, batch_size=None, progress=None, cancel=None):
        import time

        t0 = time.perf_counter()
        text = self.text_of(inputs)
        cfg = self.config
        scores, t, p, enc = lime(self.classifier, text, target, n_samples=cfg.n_samples, seed=cfg.seed,
                                 perturbations_per_eval=int(batch_size or cfg.perturbations_per_eval), cancel=cancel)
        params = {"n_samples": cfg.n_samples, "baseline": "zero embedding", "seed": cfg.seed}
        return self.result(text, enc, scores, t, probabilities=p, params=params, t0=t0)


__all__ = ["IG_UNITS", "IntegratedGradients", "LIME_UNITS", "Lime", "integrated_gradients", "lime"]
