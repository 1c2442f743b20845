"""The weight of evidence (Kim et al. 2020 eq. 1, in bits) is exact for confident models: it is
computed from the logits in log space, not from probabilities clamped to [1e-12, 1 − 1e-12]
(which gave 0.000 bits for logit gaps 40 vs 30: the exact value is 14.43 bits)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from interp_engine.attribution import ErasureAttribution, InputMarginalization, UniformLikelihood
from interp_engine.attribution.marginalization import (
    log_odds_parts,
    marginal_log_parts,
    weight_of_evidence,
    woe_from_log_parts,
)
from interp_engine.models import load_classifier
from tests.helpers import save_tiny

SENT = "a good film with great acting"


def _woe_of_gaps(gap_x: float, gap_without: float) -> float:
    x = log_odds_parts(torch.tensor([[gap_x, 0.0]]), 0)[0]
    w = log_odds_parts(torch.tensor([[gap_without, 0.0]]), 0)
    return float(woe_from_log_parts(x.numpy(), w.numpy())[0])


def test_logit_gaps_far_beyond_float64_probabilities():
    # binary model: log-odds = the logit gap (nats), WoE = (gap_x - gap_without) / ln 2 bits
    assert _woe_of_gaps(40, 30) == pytest.approx(10 / math.log(2), rel=1e-12)  # 14.427 bits
    assert _woe_of_gaps(45, 28) == pytest.approx(17 / math.log(2), rel=1e-12)  # 24.526 bits
    # the clamped probability formula saturates there (the old behaviour): it cannot tell 40 from 30
    p = lambda g: 1 / (1 + math.exp(-g))  # noqa: E731
    assert float(weight_of_evidence(p(40), p(30))) == pytest.approx(0.0, abs=1e-6)
    # three classes: log(1 - p) is the logsumexp of the other classes
    parts = log_odds_parts(torch.tensor([[50.0, 10.0, 12.0]], dtype=torch.float64), 0)[0]
    assert float(parts[1]) == pytest.approx(math.log(math.exp(10.0) + math.exp(12.0)) - 50.0, abs=1e-9)


def test_marginal_in_log_space_equals_the_direct_sum():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, 12)
    w = rng.uniform(0.0, 1.0, 12)
    group = torch.tensor([0] * 5 + [1] * 7)
    parts = torch.tensor(np.stack([np.log(p), np.log1p(-p)], 1))
    out = marginal_log_parts(group, torch.tensor(w), parts, 2).numpy()
    for g, idx in ((0, slice(0, 5)), (1, slice(5, 12))):
        pm = (w[idx] * p[idx]).sum() / w[idx].sum()
        assert out[g, 0] == pytest.approx(math.log(pm), rel=1e-12)
        assert out[g, 1] == pytest.approx(math.log(1 - pm), rel=1e-12)


@pytest.fixture(scope="module")
def confident(tmp_path_factory):
    """A tiny TextCNN whose output layer is scaled so its logit gaps are hundreds of nats."""
    clf = load_classifier(save_tiny(tmp_path_factory.mktemp("c") / "m", seed=3), device="cpu")
    with torch.no_grad():
        clf.model.classifier.weight.mul_(2000.0)
        clf.model.classifier.bias.mul_(2000.0)
    enc = clf.encode([SENT])
    with torch.no_grad():
        gap = clf.logits(enc.input_ids, enc.attention_mask)[0].double()
    assert float((gap[0] - gap[1]).abs()) > 60  # far beyond the 27.6 nats float64 probabilities resolve
    return clf


def _ref_log_odds(clf, emb=None, ids=None, mask=None, t=0) -> float:
    with torch.no_grad():
        logits = clf.logits_from_embeds(emb, mask) if emb is not None else clf.logits(ids, mask)
        ls = torch.log_softmax(logits.double(), -1)[0]
    return float(ls[t] - torch.logsumexp(torch.cat([ls[:t], ls[t + 1:]]), 0))


def test_zero_erasure_is_exact_for_a_confident_model(confident):
    clf = confident
    out, enc = ErasureAttribution(clf, "zero").attribute(SENT)
    ids, mask = enc.input_ids, enc.attention_mask
    t = out.target
    base = _ref_log_odds(clf, ids=ids, mask=mask, t=t)
    ref = []
    for i in range(ids.shape[1]):
        with torch.no_grad():
            emb = clf.embed(ids).clone()
        emb[0, i] = 0
        ref.append((base - _ref_log_odds(clf, emb=emb, mask=mask, t=t)) / math.log(2))
    np.testing.assert_allclose(out.scores, ref, rtol=1e-5, atol=1e-3)  # float32 logits of ~hundreds of nats
    word = ~np.asarray(enc.special[0])
    assert (np.abs(out.scores[word]) > 0.05).sum() >= 3  # real, non-zero WoEs (max-pool may ignore a token) ...
    # ... which the clamped probability formula loses: p and p(x_-i) both round to 1 - 1e-12
    assert np.abs(weight_of_evidence(out.p_target, out.p_marginal[word])).max() < 1e-6


def test_marginalization_is_exact_for_a_confident_model(confident):
    clf = confident
    lik = UniformLikelihood(clf)
    out, enc = InputMarginalization(clf, lik, sigma=0).attribute(SENT)
    ids, mask = enc.input_ids, enc.attention_mask
    t = out.target
    base = _ref_log_odds(clf, ids=ids, mask=mask, t=t)
    allowed = lik.allowed.nonzero().view(-1)
    ref = []
    for i in range(ids.shape[1]):
        x = ids.repeat(len(allowed), 1)
        x[:, i] = allowed
        with torch.no_grad():
            ls = torch.log_softmax(clf.logits(x, torch.ones_like(x)).double(), -1)
        lp = ls[:, t]
        l1mp = torch.logsumexp(torch.cat([ls[:, :t], ls[:, t + 1:]], 1), 1)
        # uniform weights: log mean
        lpm = float(torch.logsumexp(lp, 0) - math.log(len(allowed)))
        l1pm = float(torch.logsumexp(l1mp, 0) - math.log(len(allowed)))
        ref.append((base - (lpm - l1pm)) / math.log(2))
    np.testing.assert_allclose(out.scores, ref, rtol=1e-5, atol=1e-3)
    assert np.isfinite(out.scores).all()


def test_uniform_likelihood_keeps_every_candidate_when_sigma_exceeds_one_over_v(confident):
    """Kim et al. eq. 4 with σ > 1/|V| (σ = 1e-5 and |V| > 100,000 in real vocabularies): every
    uniform candidate is below σ; all of them are kept, not just the lowest id."""
    clf = confident
    lik = UniformLikelihood(clf)
    n_allowed = int(lik.allowed.sum())
    sigma = 2.0 / n_allowed  # 1/|V| < σ
    out, enc = InputMarginalization(clf, lik, sigma=sigma).attribute(SENT)
    word = ~np.asarray(enc.special[0])
    assert (out.n_candidates[word] == n_allowed).all()
    full, _ = InputMarginalization(clf, lik, sigma=0).attribute(SENT)  # = full marginalization
    np.testing.assert_allclose(out.scores, full.scores, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("arch", ["bilstm", "textcnn"])
def test_a_token_replaced_by_itself_has_zero_woe_under_bf16_autocast(tmp_path, monkeypatch, arch):
    """Issue 15 bug 2: the reference p(y|x) and the substituted sentences run in the same
    precision. Emulated on the CPU by forcing bf16 autocast (on CUDA it is on by default)."""
    from interp_engine.attribution import marginalization as marg_mod

    monkeypatch.setattr(marg_mod, "AUTOCAST_DEVICE_TYPES", ("cuda", "cpu"))
    clf = load_classifier(save_tiny(tmp_path / "m", arch, seed=5), device="cpu")
    with torch.no_grad():  # a confident model (p close to 1), where bf16 rounding matters most
        head = clf.model.classifier if arch == "textcnn" else clf.model.classifier
        head.weight.mul_(30.0)
        head.bias.mul_(30.0)

    class Itself(UniformLikelihood):
        """A likelihood that puts all its mass on the token already there."""

        name = "itself"

        def predict(self, ids, mask, masked, positions, token_type_ids=None):
            out = super().predict(ids, mask, masked, positions)
            probs = torch.zeros_like(out.probs)
            probs[torch.arange(len(positions)), ids[torch.arange(len(positions)), positions]] = 1.0
            return type(out)(probs, out.dropped_mass)

    m = InputMarginalization(clf, Itself(clf), sigma=0.5)  # keeps exactly the original token
    out, enc = m.attribute(SENT)
    word = ~np.asarray(enc.special[0])
    assert (out.n_candidates[word] == 1).all()
    assert np.abs(out.scores).max() <= 1e-3, out.scores
    tab = m.candidate_table(SENT, 1)
    assert abs(tab["woe"]) <= 1e-3
