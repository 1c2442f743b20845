"""Tests that kill mutants the per-method tests let through (tests/MUTANTS.md lists every mutant
tried). Each computes its expected value independently of the engine: by hand, in closed form or
by a float64 loop."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from interp_engine.attribution.likelihood import LikelihoodModel, _normalise
from interp_engine.attribution.marginalization import InputMarginalization
from interp_engine.models import load_classifier
from tests.helpers import save_tiny

SENT = "The plot is thin but the cast is superb"


class ContextLikelihood(LikelihoodModel):
    """A likelihood that strongly depends on what it is shown: p(v | visible tokens) ∝ 1 + 4 ·
    (occurrences of v among the visible tokens), over the non-special tokens. A token the model
    must not see (``masked`` or the query position) changes the distribution a lot, unlike a
    tiny random masked LM."""

    name = "context"

    def predict(self, input_ids, attention_mask, masked, positions, token_type_ids=None):
        B, L = input_ids.shape
        visible = ~masked.clone().bool()
        visible[torch.arange(B), positions] = False
        counts = torch.zeros(B, self.vocab_size, dtype=torch.float64)
        counts.scatter_add_(1, input_ids.long(), visible.to(torch.float64))
        return _normalise(1.0 + 4.0 * counts, self.allowed)


def _context_p(allowed: np.ndarray, visible_ids) -> np.ndarray:
    """The ContextLikelihood distribution computed by hand from a list of visible token ids."""
    w = np.ones(len(allowed))
    for v in visible_ids:
        w[v] += 4.0
    w = w * allowed
    return w / w.sum()


@pytest.fixture(scope="module")
def sharp_textcnn(tmp_path_factory):
    """A tiny TextCNN whose p(class) varies strongly with the input (output layer ×40)."""
    c = load_classifier(save_tiny(tmp_path_factory.mktemp("m") / "m", "textcnn", seed=0), device="cpu")
    with torch.no_grad():
        c.model.classifier.weight.mul_(40.0)
    return c


def test_span_factors_mask_every_not_yet_filled_span_token(sharp_textcnn):
    """Kim et al. §3.3 eq. 3: p(x̃_a, x̃_b | x_−span) = p(x̃_a | x_−span) · p(x̃_b | x̃_a, x_−span): the
    first factor must not see the original token at b. Brute force over every (a, b) pair with the
    likelihood computed by hand (kills: only the current span position masked at each step)."""
    c = sharp_textcnn
    lik = ContextLikelihood(c)
    allowed = lik.allowed.numpy().astype(np.float64)
    enc = c.encode([SENT])
    ids = enc.input_ids[0].tolist()
    n = len(ids)
    a_pos, b_pos = 3, 5
    out = InputMarginalization(c, lik, sigma=0).attribute_span(SENT, [a_pos, b_pos], max_per_step=None)
    rest = [ids[i] for i in range(n) if i not in (a_pos, b_pos)]
    pa = _context_p(allowed, rest)
    V = len(allowed)
    num = den = 0.0
    with torch.no_grad():
        p_x = torch.softmax(c.logits(torch.tensor([ids]), torch.ones(1, n, dtype=torch.long)).double(), -1)[0]
        for a in np.flatnonzero(allowed):
            pb = _context_p(allowed, rest + [int(a)])
            x = torch.tensor(ids).repeat(V, 1)
            x[:, a_pos] = int(a)
            x[:, b_pos] = torch.arange(V)
            py = torch.softmax(c.logits(x, torch.ones_like(x)).double(), -1)[:, out.target].numpy()
            w = pa[a] * pb
            num += float((w * py).sum())
            den += float(w.sum())
    pm = num / den
    assert out.p_marginal == pytest.approx(pm, rel=1e-6)
    pt = float(p_x[out.target])
    woe = (math.log2(pt / (1 - pt)) - math.log2(pm / (1 - pm)))
    assert out.score == pytest.approx(woe, abs=1e-5)
    assert abs(woe) > 0.05  # the test can fail: the span matters to this model


def test_prior_puts_no_mass_on_special_tokens(sharp_textcnn):
    """Kim et al. §4.5 "Prior": p(x̃) = count(x̃) / Σ counts over the non-special tokens. Counts of
    [PAD]/[UNK]/... (``count_tokens`` counts them) must not take any mass (kills: the prior
    normalised over every token, specials included)."""
    from interp_engine.attribution.likelihood import PriorLikelihood, candidate_mask

    c = sharp_textcnn
    tok = c.tokenizer
    V = len(tok)
    counts = np.arange(1, V + 1, dtype=np.float64)
    specials = [tok.pad_token_id, tok.unk_token_id]
    counts[specials] = 1000.0
    prior = PriorLikelihood(c, counts)
    allowed = candidate_mask(tok, V).numpy()
    expected = np.where(allowed, counts, 0.0) / counts[allowed].sum()
    ids = c.encode([SENT]).input_ids
    out = prior.predict(ids, torch.ones_like(ids), torch.zeros_like(ids, dtype=torch.bool), torch.tensor([1]))
    np.testing.assert_allclose(out.probs[0].numpy(), expected, rtol=1e-12, atol=0)
    assert float(out.probs[0, specials].sum()) == 0.0


def _ig_reference(c, text: str, target: int, m: int = 2000) -> np.ndarray:
    """Integrated gradients (Sundararajan et al. 2017) of S_target from the zero-embedding baseline
    by an m-point midpoint rule in float64 with plain autograd: IG_i = Σ_d E_{i,d} · (1/m) Σ_k
    ∂S/∂E_{i,d}(α_k E), α_k = (k + ½)/m; special tokens keep their embedding and score 0."""
    enc = c.encode([text])
    emb = c.embed(enc.input_ids).detach()
    keep = (~torch.tensor(enc.special[0])).to(emb.dtype).view(1, -1, 1)
    alphas = (torch.arange(m, dtype=emb.dtype) + 0.5) / m
    total = torch.zeros_like(emb[0])
    with torch.enable_grad():
        for a0 in range(0, m, 500):
            a = alphas[a0:a0 + 500].view(-1, 1, 1)
            e = (a * emb * keep + emb * (1 - keep)).requires_grad_(True)
            logits = c.logits_from_embeds(e, enc.attention_mask.expand(len(a), -1))
            (g,) = torch.autograd.grad(logits[:, target].sum(), e)
            total += g.sum(0)
    return (((total / m) * emb[0]).sum(-1) * keep[0, :, 0]).numpy()


@pytest.mark.parametrize("arch, rel", [("bert", 1e-4), ("textcnn", 0.05)])
def test_integrated_gradients_equal_a_float64_path_integral(tmp_path, arch, rel):
    """IG against an independent midpoint-rule path integral (kills: a wrong baseline, too few
    steps or a left Riemann sum (on the smooth BERT, where Gauss-Legendre with 20 steps is exact to
    1e-12 but a left sum is 4 % off), the gradient without ×(x − x'), |scores|, the probability
    instead of the logit, and special tokens moved along the path)."""
    from interp_engine.attribution.captum_methods import integrated_gradients
    from tests.helpers import save_tiny_bert

    path = save_tiny_bert(tmp_path / arch) if arch == "bert" else save_tiny(tmp_path / arch, arch, seed=0)
    c = load_classifier(path, device="cpu")
    c.model.double()
    with torch.no_grad():  # larger embeddings: the path crosses the model's non-linear regime
        c.model.get_input_embeddings().weight.mul_(3.0)
    scores, t, _, enc, _ = integrated_gradients(c, SENT, n_steps=20)
    ref = _ig_reference(c, SENT, t)
    assert np.abs(ref).max() > 0 and (ref < 0).any() and (ref > 0).any()  # signs to get wrong
    np.testing.assert_allclose(scores, ref, rtol=0, atol=rel * np.abs(ref).max())
