"""Hidden-location saliency and receptive fields (Yuan et al. ``001_e80f9d2c7d254978.txt``,
"Saliency Maps for Hidden Units", eq. 1-3).

S_c ≈ Tr(w(A_j)^T A_j) + b (eq. 1) with w(A_j) = dS_c/dA_j (eq. 2); the saliency of spatial
location i of layer j is Score_c(X)_{i,j} = w(A_j)_i · a_ij (eq. 3). S_c is the pre-softmax class
score (logit). All layers come from one forward and one backward pass.
"""
from __future__ import annotations

import numpy as np
import torch

from .errors import InputError
from .models.family import RECEPTIVE_FIELD_NOTES  # noqa: F401 - re-exported; one note per family


def hidden_saliency_batch(classifier, input_ids: torch.Tensor, attention_mask: torch.Tensor, target: torch.Tensor,
                          token_type_ids: torch.Tensor | None = None):
    """Yuan eq. 3 for every grid row and location of a padded batch.

    Args:
        classifier: a :class:`~interp_engine.models.Classifier`.
        input_ids, attention_mask: (B, L).
        target: (B,) class index whose score S_c is explained.
        token_type_ids: (B, L) segments of pairs (0 premise, 1 hypothesis), or None.

    Returns:
        ``(scores (B, R, L) float32, zero at padding; logits (B, C))`` with R = len(classifier.hidden_layers()).
    """
    specs = classifier.hidden_layers()
    if not specs:
        raise InputError("this model exposes no hidden layers for the saliency grid")
    with classifier.grad_mode():
        emb = classifier.embed(input_ids).detach().requires_grad_(True)
        logits, hidden = classifier.hidden_forward(emb, attention_mask, token_type_ids)
        wanted = sorted({s.hidden_index for s in specs})
        s = logits.gather(1, target.view(-1, 1)).sum()
        grads = dict(zip(wanted, torch.autograd.grad(s, [hidden[k] for k in wanted])))
    m = attention_mask.to(torch.float32)
    rows = []
    for spec in specs:
        a = hidden[spec.hidden_index][..., spec.channels]
        w = grads[spec.hidden_index][..., spec.channels]
        rows.append((w * a).sum(-1).float() * m)
    return torch.stack(rows, dim=1).detach(), logits.detach()


def top_locations(scores: np.ndarray, n_tokens: int, top: int) -> tuple[tuple[int, ...], ...]:
    """Indices of the ``top`` highest-saliency locations per row (ties: lower index first)."""
    out = []
    for row in scores[:, :n_tokens]:
        order = np.lexsort((np.arange(len(row)), -row))
        out.append(tuple(int(i) for i in order[: min(top, n_tokens)]))
    return tuple(out)
