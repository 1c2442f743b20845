"""Deletion/insertion curves, AUC_rep, AOPC, comprehensiveness, sufficiency, IoT (Kim et al. 004_
§3.5, §4.3): hand-computed areas, the batched path against a literal per-step loop, batch-size
invariance, seeded MLM sampling, IoT by hand."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from interp_engine.attribution.likelihood import MaskedLMLikelihood
from interp_engine.engine import Engine
from interp_engine.errors import Cancelled, InputError
from interp_engine.faithfulness import (
    STRATEGIES,
    aopc,
    comprehensiveness,
    deletion_curves,
    iot,
    load_word_tags,
    n_steps,
    neutral_attribution,
    normalised_auc,
    sufficiency,
    token_tags,
)
from interp_engine.models import load_classifier
from tests.engine.test_marginalization import tiny_mlm
from tests.helpers import save_tiny, save_tiny_bert

SENT = "The plot is thin but the cast is superb"


# -- areas by hand -------------------------------------------------------------------------------
def test_constant_curve_has_area_p():
    x = np.arange(6) / 5
    for p in (0.0, 0.3, 0.97):
        assert normalised_auc(x, np.full(6, p), 0.2) == pytest.approx(p, abs=1e-15)
        assert normalised_auc(x, np.full(6, p), 1.0) == pytest.approx(p, abs=1e-15)


def test_known_step_curves():
    # 10 tokens, 20% = 2 steps: trapezoids (1+.5)/2*.1 + (.5+.5)/2*.1 = .125, / .2 = .625
    x = np.arange(11) / 10
    p = np.array([1.0, 0.5, 0.5] + [0.0] * 8)
    assert normalised_auc(x, p, 0.2) == pytest.approx(0.625)
    # 3 tokens: 20% lies inside the first step, f(.2) = 1 + (.2/(1/3)) * (0 - 1) = .4; area (1 + .4)/2 = .7
    assert normalised_auc(np.array([0, 1 / 3]), np.array([1.0, 0.0]), 0.2) == pytest.approx(0.7)
    # 7 tokens: 1.4 steps: [0, 1/7] trapezoid (.9+.6)/2/7, then to .2: f(.2) = .6 + .4*(.1-.6) = .4
    x7 = np.array([0, 1 / 7, 2 / 7])
    expect = ((0.9 + 0.6) / 2 / 7 + (0.6 + 0.4) / 2 * (0.2 - 1 / 7)) / 0.2
    assert normalised_auc(x7, np.array([0.9, 0.6, 0.1]), 0.2) == pytest.approx(expect)
    with pytest.raises(InputError):
        normalised_auc(x7, np.array([0.9, 0.6, 0.1]), 0.0)


def test_steps_and_aopc_by_hand():
    assert [n_steps(n, 0.2) for n in (1, 3, 5, 7, 10, 15, 16)] == [1, 1, 1, 2, 2, 3, 4]
    assert n_steps(9, 1.0) == 9 and n_steps(0, 0.2) == 0
    # Samek: mean over k = 0..K of p0 - pk: (0 + .2 + .5) / 3
    assert aopc(np.array([[0.9, 0.7, 0.4]]))[0] == pytest.approx(0.7 / 3)


# -- the batched path against a literal loop -----------------------------------------------------
@pytest.fixture(scope="module", params=["textcnn", "bilstm", "bert"])
def model(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(request.param) / "m"
    if request.param == "bert":
        save_tiny_bert(d, num_labels=2)
    else:
        save_tiny(d, request.param, seed=1)
    clf = load_classifier(d, device="cpu")
    return clf, MaskedLMLikelihood(clf, tiny_mlm(len(clf.tokenizer), max_pos=64), clf.tokenizer)


def _scores(clf, seed=0):
    n = clf.encode([SENT]).lengths()[0]
    rng = np.random.default_rng(seed)
    return {"a": rng.normal(size=n), "b": rng.normal(size=n), "c": np.zeros(n)}


def reference_curves(clf, lik, text, scores, strategy, x_max, seed, exclude_original=False):
    """One method, one step, one classifier call at a time (sequential MLM draws with the same u_k)."""
    enc = clf.encode([text])
    n = enc.lengths()[0]
    ids0 = enc.input_ids[0, :n].clone()
    words = [i for i in range(n) if not enc.special[0][i]]
    K = n_steps(len(words), x_max)
    tok = clf.tokenizer
    pad = tok.pad_token_id

    def prob(ids, zeroed):
        with torch.no_grad():
            if strategy == "zero":
                e = clf.embed(ids.view(1, -1)).clone()
                e[0, zeroed] = 0
                lg = clf.logits_from_embeds(e, torch.ones(1, len(ids), dtype=torch.long))
            else:
                lg = clf.logits(ids.view(1, -1), torch.ones(1, len(ids), dtype=torch.long))
        return torch.softmax(lg.double(), -1)[0]

    p_full = prob(ids0, [])
    t = int(p_full.argmax())
    u = np.random.default_rng(seed).random(K) if strategy == "mlm" else None
    out = {}
    for m, s in scores.items():
        order = sorted(words, key=lambda i: (-s[i], i))
        ids, zeroed, removed, ps = ids0.clone(), [], [], [float(p_full[t])]
        for k in range(K):
            pos = order[k]
            if strategy == "mlm":
                probs = lik.predict(ids.view(1, -1), torch.ones(1, n, dtype=torch.long), torch.zeros(1, n, dtype=torch.bool),
                                    torch.tensor([pos])).probs[0].numpy().copy()
                if exclude_original:
                    probs[int(ids0[pos])] = 0
                cdf = np.cumsum(probs) / probs.sum()
                ids[pos] = int(min((cdf < u[k]).sum(), len(probs) - 1))
            elif strategy == "unk":
                ids[pos] = tok.unk_token_id
            elif strategy == "zero":
                ids[pos] = pad
                zeroed.append(pos)
            else:
                removed.append(pos)
            keep = [i for i in range(n) if i not in removed]
            ps.append(float(prob(ids[keep], zeroed)[t]))
        out[m] = np.array(ps)
    return out, t


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_batched_equals_reference_loop(model, strategy):
    clf, lik = model
    sc = _scores(clf)
    r = deletion_curves(clf, SENT, sc, strategy=strategy, likelihood=lik, x_max=0.6, seed=7, batch_size=5)
    ref, t = reference_curves(clf, lik, SENT, sc, strategy, 0.6, 7)
    assert r.target == t and r.methods == ("a", "b", "c")
    for i, m in enumerate(r.methods):
        np.testing.assert_allclose(r.p_deletion[i], ref[m], atol=2e-6)
        assert r.auc[i] == pytest.approx(normalised_auc(r.x, ref[m], 0.6), abs=2e-6)
    assert np.allclose(r.x, np.arange(r.x.size) / r.n_words)
    # the all-zero method replaces tokens from the left (ties broken by position)
    words = [i for i in range(len(r.tokens)) if r.tokens[i] not in ("[CLS]", "[SEP]")]
    assert list(r.order[2]) == words


def test_exclude_original_matches_reference(model):
    clf, lik = model
    sc = _scores(clf, 3)
    r = deletion_curves(clf, SENT, sc, strategy="mlm", likelihood=lik, x_max=1.0, seed=11, exclude_original=True)
    ref, _ = reference_curves(clf, lik, SENT, sc, "mlm", 1.0, 11, exclude_original=True)
    for i, m in enumerate(r.methods):
        np.testing.assert_allclose(r.p_deletion[i], ref[m], atol=2e-6)
        toks = [r.tokens[p] for p in r.order[i]]
        assert all(a.lower() != b.lower() for a, b in zip(toks, r.replacements[i])), (toks, r.replacements[i])


def test_batch_size_never_changes_the_curves(model):
    clf, lik = model
    sc = _scores(clf, 1)
    for strategy in ("mlm", "remove"):
        rs = [deletion_curves(clf, SENT, sc, strategy=strategy, likelihood=lik, x_max=1.0, insertion=True, seed=2,
                              batch_size=b) for b in (1, 4, 1000)]
        for r in rs[1:]:
            np.testing.assert_allclose(r.p_deletion, rs[0].p_deletion, atol=1e-6)
            np.testing.assert_allclose(r.p_insertion, rs[0].p_insertion, atol=1e-6)
            assert r.replacements == rs[0].replacements


def test_seeded_sampling_is_reproducible_and_seed_matters(model):
    clf, lik = model
    sc = _scores(clf, 2)
    a = deletion_curves(clf, SENT, sc, strategy="mlm", likelihood=lik, x_max=1.0, seed=5)
    b = deletion_curves(clf, SENT, sc, strategy="mlm", likelihood=lik, x_max=1.0, seed=5)
    assert a.replacements == b.replacements
    np.testing.assert_array_equal(a.p_deletion, b.p_deletion)
    others = {deletion_curves(clf, SENT, sc, strategy="mlm", likelihood=lik, x_max=1.0, seed=s).replacements
              for s in range(6, 10)}
    assert any(o != a.replacements for o in others)


def test_full_range_insertion_ends_at_the_sentence_and_eraser_bins(model):
    clf, lik = model
    sc = _scores(clf)
    for strategy in ("zero", "mlm"):
        r = deletion_curves(clf, SENT, sc, strategy=strategy, likelihood=lik, x_max=1.0, insertion=True, seed=1)
        # every word kept again = the unmodified sentence
        np.testing.assert_allclose(r.p_insertion[:, -1], r.p_original, atol=1e-6)
        ks = [n_steps(r.n_words, q) for q in (0.1, 0.2, 0.5)]
        comp, per = comprehensiveness(r)
        np.testing.assert_allclose(per, r.p_original - r.p_deletion[:, ks])
        np.testing.assert_allclose(comp, per.mean(1))
        suff, per_s = sufficiency(r)
        np.testing.assert_allclose(per_s, r.p_original - r.p_insertion[:, ks])
    short = deletion_curves(clf, SENT, sc, strategy="zero", x_max=0.2)
    with pytest.raises(InputError, match="x_max"):
        comprehensiveness(short)
    with pytest.raises(InputError, match="insertion"):
        sufficiency(short)


def test_bad_input_is_an_input_error(model):
    clf, lik = model
    sc = _scores(clf)
    with pytest.raises(InputError, match="strategy"):
        deletion_curves(clf, SENT, sc, strategy="blur")
    with pytest.raises(InputError, match="masked LM"):
        deletion_curves(clf, SENT, sc, strategy="mlm")
    with pytest.raises(InputError, match="x-range"):
        deletion_curves(clf, SENT, sc, strategy="zero", x_max=0)
    with pytest.raises(InputError, match="scores"):
        deletion_curves(clf, SENT, {"a": np.zeros(3)}, strategy="zero")
    with pytest.raises(InputError, match="empty"):
        deletion_curves(clf, "   ", sc, strategy="zero")
    with pytest.raises(InputError, match="target"):
        deletion_curves(clf, SENT, sc, strategy="zero", target=7)
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        deletion_curves(clf, SENT, sc, strategy="mlm", likelihood=lik, cancel=ev)


def test_engine_deletion_curves_uses_the_methods_attributions(tmp_path):
    d = save_tiny(tmp_path / "m", "textcnn", seed=1)
    eng = Engine("cpu")
    eng.load_model(d)
    with pytest.raises(InputError, match="masked LM"):
        eng.deletion_curves(SENT, ["zero"], strategy="mlm")
    seen = []
    r = eng.deletion_curves(SENT, ["zero", "grad"], strategy="unk", x_max=1.0, progress=lambda d, t, m: seen.append((d, t)))
    assert r.methods == ("zero", "grad") and r.strategy == "unk"
    a = eng.attribute(SENT, "zero")
    direct = deletion_curves(eng.classifier, SENT, {"zero": a.scores}, strategy="unk", x_max=1.0)
    np.testing.assert_allclose(r.p_deletion[0], direct.p_deletion[0])
    assert seen and seen[-1][0] == seen[-1][1]
    assert r.to_json()["curves"]["zero"]["auc"] == pytest.approx(float(r.auc[0]))


# -- IoT and neutral words ------------------------------------------------------------------------
def test_word_tags_lowercase_and_iot_by_hand(tmp_path):
    f = tmp_path / "phrases.tsv"
    f.write_text("phrase\tlabel_5class\nGood\t1\ngood\t4\ngreat\t3\nfilm\t2\nBad\t0\nnot good\t1\nthe\t2\n", encoding="utf-8")
    tags = load_word_tags(f)
    assert tags == {"good": 1, "great": 1, "film": 0, "bad": -1, "the": 0}  # lowercase spelling wins; phrases skipped
    tokens = ("[CLS]", "A", "good", "film", "GREAT", "bad", "the", "[SEP]")
    special = np.array([1, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
    tag = token_tags(tokens, special, tags)
    assert tag.tolist() == [-2, -2, 1, 0, 1, -1, 0, -2]
    scores = np.array([9.0, 0.5, 0.9, 0.1, -0.2, 0.3, -0.4, 9.0])
    # top-2 word tokens: good (0.9), A (0.5) -> P = {good, GREAT}: 1/2
    assert iot(scores, tag, special, k=2) == pytest.approx(0.5)
    assert iot(scores, tag, special, k=10) == pytest.approx(1.0)  # T = all 6 words
    assert np.isnan(iot(scores, np.full(8, 0), special))
    mean, mabs = neutral_attribution(scores, tag, special)  # film 0.1, the -0.4
    assert mean == pytest.approx(-0.15) and mabs == pytest.approx(0.25)
    with pytest.raises(Exception, match="phrase"):
        load_word_tags(tmp_path / "missing.tsv")
