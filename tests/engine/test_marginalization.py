"""Input marginalization (Kim et al. 004_ eq. 1-4) against a literal Algorithm 1 loop, at several
chunk sizes; erasure, likelihood models, candidate table, spans, cancellation, OOM retry."""
from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForMaskedLM

from interp_engine.attribution.erasure import ErasureAttribution
from interp_engine.attribution.likelihood import (
    MaskedLMLikelihood,
    PriorLikelihood,
    UniformLikelihood,
    candidate_mask,
)
from interp_engine.attribution.marginalization import EPS, InputMarginalization, log2_odds, weight_of_evidence
from interp_engine.engine import Engine
from interp_engine.errors import Cancelled, InputError
from interp_engine.models import load_classifier
from tests.helpers import TINY_TEXTS, save_tiny

SENT = "The plot is thin but the cast is superb"


def tiny_mlm(vocab_size: int, seed: int = 3, max_pos: int = 40) -> BertForMaskedLM:
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=max_pos)
    m = BertForMaskedLM(cfg).eval()
    with torch.no_grad():  # sharpen the random MLM so that sigma truncation removes candidates
        m.cls.predictions.decoder.weight.mul_(30.0)
    return m


@pytest.fixture(scope="module", params=["textcnn", "bilstm"])
def setup(request, tmp_path_factory):
    d = save_tiny(tmp_path_factory.mktemp(request.param) / "m", request.param, seed=1)
    clf = load_classifier(d, device="cpu")
    mlm = tiny_mlm(len(clf.tokenizer))
    return clf, MaskedLMLikelihood(clf, mlm, clf.tokenizer), mlm


def algorithm1(clf, mlm, text, sigma, target=None, top_n=None):
    """Literal Algorithm 1 of Kim et al. (with eq. 4's renormalisation): per position, per candidate."""
    enc = clf.encode([text])
    n = enc.lengths()[0]
    ids = enc.input_ids[0, :n].clone()
    tok = clf.tokenizer
    allowed = candidate_mask(tok, len(tok))
    with torch.no_grad():
        p_x = torch.softmax(clf.logits(ids.view(1, -1), torch.ones(1, n, dtype=torch.long)).double(), -1)[0]
        t = int(p_x.argmax()) if target is None else target
        scores = []
        for i in range(n):
            if enc.special[0][i]:
                scores.append(0.0)
                continue
            s = ids.clone()
            s[i] = tok.mask_token_id
            logits = mlm(input_ids=s.view(1, -1), attention_mask=torch.ones(1, n, dtype=torch.long),
                         token_type_ids=torch.zeros(1, n, dtype=torch.long)).logits[0, i].double()
            lik = torch.softmax(logits, -1) * allowed
            lik = lik / lik.sum()
            if top_n is not None:
                thr = float(torch.sort(lik, descending=True).values[top_n - 1])
            m, z = 0.0, 0.0
            for cand in range(len(tok)):
                p = float(lik[cand])
                ok = (p >= thr and p > 0) if top_n is not None else (p > sigma if sigma > 0 else bool(allowed[cand]))
                if ok:
                    s[i] = cand
                    py = float(torch.softmax(clf.logits(s.view(1, -1), torch.ones(1, n, dtype=torch.long)).double(), -1)[0, t])
                    m += p * py
                    z += p
            scores.append(float(log2_odds(float(p_x[t])) - log2_odds(m / z)))
    return np.array(scores)


@pytest.mark.parametrize("sigma", [1e-5, 0.0, 0.02])
def test_fast_equals_algorithm1_loop(setup, sigma):
    clf, lik, mlm = setup
    ref = algorithm1(clf, mlm, SENT, sigma)
    outs = []
    for chunk in (1, 7, 4096):
        out, _ = InputMarginalization(clf, lik, sigma=sigma, chunk_size=chunk).attribute(SENT)
        assert np.abs(out.scores - ref).max() <= 1e-4
        outs.append(out)
    for o in outs[1:]:  # chunking never changes the result (beyond float32 rounding in the classifier)
        np.testing.assert_allclose(o.scores, outs[0].scores, atol=1e-7, rtol=0)
        np.testing.assert_array_equal(o.n_candidates, outs[0].n_candidates)
    V = int(candidate_mask(clf.tokenizer, len(clf.tokenizer)).sum())
    if sigma == 0:
        assert (outs[0].n_candidates == V).all()
    if sigma == 0.02:
        assert (outs[0].n_candidates < V).all() and (outs[0].n_candidates >= 1).all()


def test_top_n_equals_loop(setup):
    clf, lik, mlm = setup
    out, _ = InputMarginalization(clf, lik, top_n=5).attribute(SENT, target=1)
    assert (out.n_candidates == 5).all() and out.target == 1
    assert np.abs(out.scores - algorithm1(clf, mlm, SENT, 0, target=1, top_n=5)).max() <= 1e-4


def test_woe_is_finite_and_in_bits():
    assert weight_of_evidence(0.5, 0.5) == 0
    assert math.isclose(float(weight_of_evidence(0.8, 0.5)), math.log2(4.0))
    w = weight_of_evidence(1.0, np.array([0.0, 1.0]))
    assert np.isfinite(w).all() and math.isclose(w[0], 2 * math.log2((1 - EPS) / EPS), rel_tol=1e-4)


def test_erasure_zero_is_pad_and_unk_is_unk(setup):
    clf, _, _ = setup
    enc = clf.encode([SENT])
    n = enc.lengths()[0]
    with torch.no_grad():
        p = torch.softmax(clf.logits(enc.input_ids, enc.attention_mask).double(), -1)[0]
    t = int(p.argmax())
    for mode, rep in (("zero", 0), ("unk", clf.tokenizer.unk_token_id)):
        out, _ = ErasureAttribution(clf, mode, chunk_size=3).attribute(SENT)
        ref = []
        for i in range(n):
            ids = enc.input_ids.clone()
            ids[0, i] = rep  # [PAD] id 0 has the zero embedding; attention stays 1
            with torch.no_grad():
                q = torch.softmax(clf.logits(ids, enc.attention_mask).double(), -1)[0, t]
            ref.append(float(log2_odds(float(p[t])) - log2_odds(float(q))))
        np.testing.assert_allclose(out.scores, ref, atol=1e-6)
        assert (out.n_candidates == 1).all()


def test_uniform_and_prior_likelihoods(setup):
    clf, _, _ = setup
    u = UniformLikelihood(clf)
    ids = clf.encode([SENT]).input_ids
    pu = u.predict(ids, torch.ones_like(ids), torch.zeros_like(ids, dtype=torch.bool), torch.tensor([0])).probs
    assert math.isclose(float(pu.sum()), 1.0) and float(pu[0, :3].sum()) == 0.0  # [PAD]/[UNK]/[MASK] excluded
    pr = PriorLikelihood.from_texts(clf, TINY_TEXTS)
    pp = pr.predict(ids, torch.ones_like(ids), torch.zeros_like(ids, dtype=torch.bool), torch.tensor([0])).probs[0]
    a = clf.tokenizer.convert_tokens_to_ids("a")
    film = clf.tokenizer.convert_tokens_to_ids("with")
    assert float(pp[a]) > 0 and math.isclose(float(pp[a] / pp[film]), 2.0)  # "a" twice, "with" once in TINY_TEXTS
    # uniform marginalization = mean of p(y|candidate) over every non-special candidate
    out, _ = InputMarginalization(clf, u, sigma=0).attribute("a good film")
    enc = clf.encode(["a good film"])
    allowed = candidate_mask(clf.tokenizer, len(clf.tokenizer)).nonzero().view(-1)
    x = enc.input_ids.repeat(len(allowed), 1)
    x[:, 1] = allowed
    with torch.no_grad():
        q = torch.softmax(clf.logits(x, torch.ones_like(x)).double(), -1)[:, out.target].mean()
    # float32 classifier forwards in batches of other sizes round differently in the last bits
    # (and differently on other CPUs): a tolerance float32 can meet
    assert math.isclose(out.p_marginal[1], float(q), rel_tol=1e-6)


def test_vocabulary_mismatch_maps_by_string(setup):
    clf, _, _ = setup
    from interp_engine.models.tokenization import build_word_tokenizer

    # an MLM tokenizer with another vocabulary: lower-cased words in another order, plus words the classifier lacks
    other = build_word_tokenizer([t.lower() for t in TINY_TEXTS] + ["zebra zebra quokka"])
    lik = MaskedLMLikelihood(clf, tiny_mlm(len(other)), other)
    assert not lik.identical and 0 < lik.shared_tokens < len(other)
    ids = clf.encode([SENT]).input_ids
    out = lik.predict(ids, torch.ones_like(ids), torch.zeros_like(ids, dtype=torch.bool), torch.tensor([2]))
    assert math.isclose(float(out.probs.sum()), 1.0, rel_tol=1e-9)
    assert 0 < float(out.dropped_mass[0]) < 1  # "zebra", "quokka" and the specials are dropped
    # "The" (capitalised) exists only in the classifier vocabulary: it gets no mass; "plot" gets some
    assert float(out.probs[0, clf.tokenizer.convert_tokens_to_ids("The")]) == 0.0
    assert float(out.probs[0, clf.tokenizer.convert_tokens_to_ids("plot")]) > 0.0
    # the same MLM probabilities, mapped by hand
    mids = lik.cls2mlm[ids[0]].clone()
    mids[2] = other.mask_token_id
    with torch.no_grad():
        pm = torch.softmax(lik.mlm(input_ids=mids.view(1, -1)).logits[0, 2].double(), -1)
    plot_m, plot_c = other.convert_tokens_to_ids("plot"), clf.tokenizer.convert_tokens_to_ids("plot")
    assert math.isclose(float(out.probs[0, plot_c]), float(pm[plot_m]) / (1 - float(out.dropped_mass[0])), rel_tol=1e-6)


def test_candidate_table_matches_heatmap(setup, tmp_path):
    clf, lik, mlm = setup
    eng = Engine("cpu")
    eng.set_classifier(clf)
    mdir = tmp_path / "mlm"
    mlm.save_pretrained(mdir)
    clf.tokenizer.save_pretrained(mdir)
    eng.load_mlm(mdir)
    heat = eng.attribute(SENT, "marginalization", sigma=0.02)
    tab = eng.candidate_table(SENT, 3, sigma=0.02)
    assert tab.token == "thin" and len(tab.candidates) == heat.n_candidates[3]
    assert (np.diff(tab.likelihood) <= 0).all()
    # same candidates, other batch shapes: float32 rounding moves the WoE by ~1e-7 bits (CPU-dependent)
    assert math.isclose(tab.woe, heat.scores[3], abs_tol=1e-5)
    assert heat.units == "bits (WoE, log2-odds)" and heat.seconds > 0
    assert set(heat.to_json()) >= {"n_candidates", "seconds", "dropped_mass"}
    with pytest.raises(InputError):
        eng.candidate_table(SENT, 99)


def test_span_equals_brute_force(setup):
    clf, lik, mlm = setup
    m = InputMarginalization(clf, lik, sigma=0)
    out = m.attribute_span(SENT, [3, 5], max_per_step=None)
    enc = clf.encode([SENT])
    ids = enc.input_ids[0]
    n = ids.numel()
    tok = clf.tokenizer
    allowed = candidate_mask(tok, len(tok))
    one = torch.ones(1, n, dtype=torch.long)
    with torch.no_grad():
        def mlm_p(s, pos):
            lg = mlm(input_ids=s.view(1, -1), attention_mask=one, token_type_ids=0 * one).logits[0, pos].double()
            q = torch.softmax(lg, -1) * allowed
            return q / q.sum()
        s = ids.clone()
        s[3] = s[5] = tok.mask_token_id
        pa = mlm_p(s, 3)
        num = den = 0.0
        for a in allowed.nonzero().view(-1).tolist():
            s2 = s.clone()
            s2[3] = a
            pb = mlm_p(s2, 5)
            x = ids.repeat(len(tok), 1)
            x[:, 3] = a
            x[:, 5] = torch.arange(len(tok))
            py = torch.softmax(clf.logits(x, torch.ones_like(x)).double(), -1)[:, out.target]
            w = pa[a] * pb
            num += float((w * py).sum())
            den += float(w.sum())
    assert math.isclose(out.p_marginal, num / den, rel_tol=1e-6)  # float32 forwards in other batch shapes
    assert out.n_candidates == int(allowed.sum()) ** 2
    with pytest.raises(InputError):
        m.attribute_span(SENT, [3])


def test_cancel_progress_and_oom_retry(setup, monkeypatch):
    clf, lik, _ = setup
    seen = []
    ref, _ = InputMarginalization(clf, lik, sigma=0, chunk_size=64, incremental=False).attribute(
        SENT, progress=lambda d, t, m: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1]
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        InputMarginalization(clf, lik, chunk_size=8).attribute(SENT, cancel=ev)
    real = clf.logits
    sizes = []

    def fake(ids, mask, types=None):
        sizes.append(ids.shape[0])
        if ids.shape[0] > 16:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        return real(ids, mask, types)

    monkeypatch.setattr(clf, "logits", fake)
    # the generic path (the TextCNN incremental path has its own OOM test in test_marginalization_incremental.py)
    out, _ = InputMarginalization(clf, lik, sigma=0, chunk_size=64, incremental=False).attribute(SENT)
    assert max(s for s in sizes if s <= 16) == 16
    np.testing.assert_allclose(out.scores, ref.scores, atol=1e-5)  # chunks of 16 vs 64: float32 rounding


def test_bad_settings():
    with pytest.raises(InputError):
        InputMarginalization(None, None, sigma=-1)
    with pytest.raises(InputError):
        InputMarginalization(None, None, top_n=0)


def _tiny_bert(path):
    """Like tests.helpers.save_tiny_bert, with the vocabulary given as a dict (with transformers 5,
    ``BertTokenizerFast(vocab_file=...)`` silently keeps only the 5 special tokens)."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    words = sorted({w.lower() for t in TINY_TEXTS for w in t.replace(",", " , ").split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, "##s", "##ing"]
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True, model_max_length=64)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64, num_labels=3)
    BertForSequenceClassification(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_transformer_special_tokens_not_attributed(tmp_path):
    clf = load_classifier(_tiny_bert(tmp_path / "b"), device="cpu")
    assert len(clf.tokenizer) > 10
    mlm = tiny_mlm(len(clf.tokenizer), max_pos=64)
    lik = MaskedLMLikelihood(clf, mlm, clf.tokenizer)
    out, enc = InputMarginalization(clf, lik, sigma=0).attribute("a good film")
    assert enc.special[0][0] and enc.special[0][-1]
    assert out.n_candidates[0] == 0 and out.scores[0] == 0 and out.n_candidates[1] > 0
    ref = algorithm1(clf, mlm, "a good film", 0)
    assert np.abs(out.scores - ref).max() <= 1e-4
    z, _ = ErasureAttribution(clf, "zero").attribute("a good film")
    assert z.n_candidates.tolist() == [0, 1, 1, 1, 0] and np.isfinite(z.scores).all()


def test_captum_methods(setup):
    clf, _, _ = setup
    from interp_engine.attribution.captum_methods import integrated_gradients, lime

    scores, t, p, enc, delta = integrated_gradients(clf, SENT, n_steps=100)
    n = enc.lengths()[0]
    with torch.no_grad():
        emb = clf.embed(enc.input_ids)
        diff = clf.logits_from_embeds(emb, enc.attention_mask)[0, t] - clf.logits_from_embeds(0 * emb, enc.attention_mask)[0, t]
    assert scores.shape == (n,) and abs(scores.sum() - float(diff)) < 1e-2 * max(1.0, abs(float(diff)))
    s1 = lime(clf, SENT, n_samples=60)[0]
    s2 = lime(clf, SENT, n_samples=60)[0]
    assert s1.shape == (n,) and np.array_equal(s1, s2) and np.abs(s1).sum() > 0
