"""LIME (Ribeiro et al. 2016) as the ``lime`` package computes it (issue "Numbers a reviewer can
trust", bug 6: the locality kernel was lost).

* against ``lime`` itself: ``LimeTextExplainer`` end to end (same seed → the same samples, the
  same kernel, feature selection and ridge) and ``LimeBase.explain_instance_with_data`` on our
  samples, for every feature selection;
* the kernel is local: a sample with half of 10 tokens removed weighs ≈ 0.50, not the
  [0.61, 1] of Captum's embedding-cosine kernel;
* seeded: the same samples and scores at batch sizes 1, 7, 1000;
* closed form: a "model" whose p(target) is linear in the on/off pattern is recovered (signs,
  ranking and values); without the kernel (all weights 1) a real model's result changes;
* cancel, progress, special tokens, ``params``.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import interp_engine.attribution.captum_methods as cm
from interp_engine.attribution.captum_methods import lime, lime_fit, lime_kernel, lime_neighbourhood
from interp_engine.config import LimeConfig
from interp_engine.errors import Cancelled, InputError
from interp_engine.models import load_classifier
from lime.lime_base import LimeBase  # the reference: lime is in the test extras (pyproject.toml)
from lime.lime_text import LimeTextExplainer
from tests.helpers import save_tiny, save_tiny_bert

SENT10 = "a good film with great acting , never boring fun"  # 10 word tokens, no special tokens
SENT = "The plot is thin but the cast is superb"


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    return load_classifier(save_tiny(tmp_path_factory.mktemp("lime") / "cnn"), device="cpu")


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return load_classifier(save_tiny_bert(tmp_path_factory.mktemp("lime") / "bert"), device="cpu")


def _probabilities(clf, text):
    """``fn(Z)``: class probabilities (N, C) of the sentence with the word tokens where the
    boolean (N, d) ``Z`` is False switched off by the zero embedding, computed independently
    of :func:`lime`."""
    enc = clf.encode([text])
    n = enc.lengths()[0]
    positions = [i for i in range(n) if not enc.special[0][i]]
    ids, mask = enc.input_ids[:, :n], enc.attention_mask[:, :n]
    with torch.no_grad():
        emb = clf.embed(ids)

    def fn(Z):
        keep = torch.ones(len(Z), n, dtype=torch.bool)
        keep[:, positions] = torch.as_tensor(np.asarray(Z, dtype=bool))
        e = emb.expand(len(Z), -1, -1).clone()
        e[~keep] = 0
        with torch.inference_mode():
            return torch.softmax(clf.logits_from_embeds(e, mask.expand(len(Z), -1)).double(), -1).numpy()

    return fn, positions, n


def _lime_package(clf, text, target, *, n_samples, seed, feature_selection="auto", num_features=None):
    """Scores (n,) of ``lime.lime_text.LimeTextExplainer`` itself: the sentence's word tokens are
    its words (placeholders t0 … t{d-1}, ``bow=False``), its ``classifier_fn`` reads each
    perturbed string (lime's mask word UNKWORDZ = switched off) and runs our model on it."""
    fn, positions, n = _probabilities(clf, text)
    d = len(positions)

    def classifier_fn(strings):
        return fn([[w != "UNKWORDZ" for w in s.split(" ")] for s in strings])

    explainer = LimeTextExplainer(kernel_width=25, bow=False, split_expression=lambda s: s.split(" "),
                                  random_state=seed, feature_selection=feature_selection)
    exp = explainer.explain_instance(" ".join(f"t{j}" for j in range(d)), classifier_fn, labels=(target,),
                                     num_features=d if num_features is None else num_features,
                                     num_samples=n_samples)
    out = np.zeros(n)
    for j, c in exp.local_exp[target]:
        out[positions[j]] = c
    return out, exp


# -- 1. against the lime package ------------------------------------------------------------------


@pytest.mark.parametrize("seed, num_features", [(0, None), (5, 4), (11, 8)])
def test_equals_lime_text_explainer_end_to_end(cnn, seed, num_features):
    """The same seed gives lime's own samples, so the whole LimeTextExplainer agrees
    (num_features 4: forward selection; 8 of 10: highest weights, two tokens score 0)."""
    scores, t, _, _, info = lime(cnn, SENT10, n_samples=400, seed=seed, num_features=num_features, details=True)
    ref, exp = _lime_package(cnn, SENT10, t, n_samples=400, seed=seed, num_features=num_features)
    assert np.abs(scores - ref).max() <= 1e-6
    np.testing.assert_allclose(scores, ref, rtol=1e-6, atol=1e-12)
    assert np.abs(ref).max() > 1e-4  # the comparison is not between zeros
    assert exp.intercept[t] == pytest.approx(info["intercept"], abs=1e-9)
    assert exp.score == pytest.approx(info["r2"], abs=1e-9)
    if num_features is not None:
        assert np.count_nonzero(scores) == num_features


@pytest.mark.parametrize("selection, k", [("auto", None), ("auto", 3), ("forward_selection", 5),
                                          ("highest_weights", 6), ("lasso_path", 4), ("none", None)])
def test_equals_lime_base_on_our_samples(cnn, bert, selection, k):
    for clf in (cnn, bert):
        scores, t, _, enc, info = lime(clf, SENT, n_samples=300, seed=2, feature_selection=selection,
                                       num_features=k, details=True)
        data, labels, dist = info["data"], info["labels"], info["distances"]
        d = data.shape[1]
        base = LimeBase(lambda x: np.sqrt(np.exp(-(x ** 2) / 25 ** 2)), random_state=2)
        intercept, exp, r2, local = base.explain_instance_with_data(
            data, labels[:, None], dist, 0, d if k is None else k, feature_selection=selection)
        ref = np.zeros(d)
        for j, c in exp:
            ref[j] = c
        assert np.abs(scores[info["positions"]] - ref).max() <= 1e-6
        np.testing.assert_allclose(scores[info["positions"]], ref, rtol=1e-6, atol=1e-12)
        assert intercept == pytest.approx(info["intercept"], abs=1e-9) and r2 == pytest.approx(info["r2"], abs=1e-9)
        assert local[0] == pytest.approx(info["local_pred"], abs=1e-9)
        # lime_text's distances (on its sparse matrix) and our model's probabilities of the same samples
        from scipy.sparse import csr_matrix
        from sklearn.metrics.pairwise import pairwise_distances

        x = csr_matrix(data)
        np.testing.assert_allclose(dist, pairwise_distances(x, x[0], metric="cosine").ravel() * 100, atol=1e-9)
        fn, _, _ = _probabilities(clf, SENT)
        np.testing.assert_allclose(labels, fn(data > 0.5)[:, t], atol=1e-6)


def test_the_kernel_is_local_not_the_old_0_6_to_1():
    """For 10 tokens: cosine distance of a half-removed sample = 100 (1 − √½) ≈ 29.3, weight
    sqrt(exp(−29.3²/25²)) ≈ 0.503; nine removed ≈ 0.024. The old kernel kept every weight in
    [0.61, 1]."""
    data, dist = lime_neighbourhood(10, 2000, 0)
    w = lime_kernel(dist, 25)
    half = data.sum(1) == 5
    assert half.any()
    expect = np.sqrt(np.exp(-(100 * (1 - np.sqrt(0.5))) ** 2 / 25 ** 2))
    assert expect == pytest.approx(0.5034, abs=1e-3)
    np.testing.assert_allclose(w[half], expect, rtol=1e-9)
    assert w[data.sum(1) == 1].max() < 0.05 and w[0] == 1.0
    assert not ((w >= 0.6) & (w <= 1)).all()
    assert (w < 0.6).mean() > 0.3  # a large share of the samples is far from the sentence
    # lime_text's own kernel on the same distances
    ref = LimeTextExplainer(kernel_width=25).base.kernel_fn(dist)
    np.testing.assert_allclose(w, ref, rtol=1e-12)


def test_samples_are_lime_text_explainer_samples():
    """Row 0 all ones; every other row removes 1..d tokens (lime draws randint(1, d + 1))."""
    data, dist = lime_neighbourhood(7, 3000, 4)
    assert data.shape == (3000, 7) and (data[0] == 1).all() and dist[0] == pytest.approx(0, abs=1e-9)
    removed = 7 - data[1:].sum(1)
    assert removed.min() == 1 and removed.max() == 7
    counts = np.bincount(removed.astype(int), minlength=8)[1:]
    assert counts.min() > 3000 / 7 * 0.8  # uniform over 1..7


# -- 2. seeds and batch sizes ---------------------------------------------------------------------


def test_same_seed_same_result_at_every_batch_size(cnn, bert):
    for clf in (cnn, bert):
        runs = [lime(clf, SENT, n_samples=250, seed=7, perturbations_per_eval=b, details=True) for b in (1, 7, 1000)]
        for r in runs[1:]:
            assert np.array_equal(r[4]["data"], runs[0][4]["data"])  # the very same samples
            # the scores agree up to float32 forward rounding (a batch's kernels differ by size)
            np.testing.assert_allclose(r[0], runs[0][0], rtol=1e-4, atol=1e-8)
        again = lime(clf, SENT, n_samples=250, seed=7, perturbations_per_eval=7)[0]
        assert np.array_equal(again, runs[1][0])
        other = lime(clf, SENT, n_samples=250, seed=8, details=True)
        assert not np.array_equal(other[4]["data"], runs[0][4]["data"])
        assert not np.allclose(other[0], runs[0][0], rtol=1e-3, atol=0)


# -- 3. closed form and the kernel's effect -------------------------------------------------------


class _Stub:
    """The tiny classifier with p(class 1) = 0.5 + Σ_j w_j z_j / (2 Σ|w|) (``linear``) or an
    interaction model, z_j = 1 where token j's embedding is not the zero vector."""

    def __init__(self, clf, w, kind="linear"):
        self.clf, self.w, self.kind = clf, torch.as_tensor(w, dtype=torch.float64), kind

    def __getattr__(self, k):
        return getattr(self.clf, k)

    def logits_from_embeds(self, e, mask, token_type_ids=None):
        z = (e != 0).any(-1).double()
        if self.kind == "linear":
            p = 0.5 + (z * self.w).sum(-1) / (2 * self.w.abs().sum())
        else:  # tokens 0 and 1 only count together
            p = 0.1 + 0.8 * z[:, 0] * z[:, 1]
        return torch.log(torch.stack([1 - p, p], -1))

    def logits(self, ids, mask, token_type_ids=None):
        return self.logits_from_embeds(self.clf.embed(ids), mask)


@pytest.mark.parametrize("w", [[3.0, -2.0, 1.0, 0.5, -4.0, 2.5, -1.5, 0.25, 1.75],  # 9: highest weights
                               [2.0, -1.0, 0.5, -3.0, 1.5]])  # 5: forward selection
def test_linear_model_is_recovered(cnn, w):
    text = " ".join(SENT.split()[: len(w)])
    stub = _Stub(cnn, w)
    scores, t, p, _ = lime(stub, text, target=1, n_samples=3000, seed=0)
    w = np.asarray(w)
    truth = w / (2 * np.abs(w).sum())
    assert p[1] == pytest.approx(0.5 + truth.sum())
    assert np.array_equal(np.sign(scores), np.sign(truth))
    assert np.array_equal(np.argsort(scores), np.argsort(truth))
    np.testing.assert_allclose(scores, truth, rtol=0.02)  # ridge alpha = 1 shrinks only slightly


def test_without_the_kernel_the_result_changes(cnn):
    """The mutant "every weight 1" (no locality) differs measurably on non-linear models."""
    scores, t, _, _, info = lime(cnn, SENT10, n_samples=600, seed=3, details=True)
    flat = lime_fit(info["data"], info["labels"], info["distances"], kernel_width=np.inf)
    assert (flat["weights"] == 1).all()
    a, b = scores[info["positions"]], flat["coef"]
    assert np.linalg.norm(a - b) > 0.1 * np.linalg.norm(a)
    # and through the method, with the kernel monkeypatched away
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cm, "lime_kernel", lambda d, w: np.ones_like(np.asarray(d, dtype=float)))
        mutant = lime(cnn, SENT10, n_samples=600, seed=3)[0]
    np.testing.assert_allclose(mutant[info["positions"]], b, atol=1e-12)
    # an interaction model: tokens 0 and 1 together add 0.8; locally each is worth ~0.8, far away much less
    stub = _Stub(cnn, np.zeros(6), kind="and")
    local = lime(stub, "a good film with great acting", target=1, n_samples=3000, seed=0)[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cm, "lime_kernel", lambda d, w: np.ones_like(np.asarray(d, dtype=float)))
        glob = lime(stub, "a good film with great acting", target=1, n_samples=3000, seed=0)[0]
    assert local[0] > glob[0] + 0.05 and local[1] > glob[1] + 0.05


# -- 4. cancel, progress, special tokens, params --------------------------------------------------


def test_progress_and_cancel(cnn):
    seen = []
    lime(cnn, SENT, n_samples=230, perturbations_per_eval=50, progress=lambda d, n, m: seen.append((d, n, m)))
    assert [d for d, _, _ in seen] == [50, 100, 150, 200, 230] and {(n, m) for _, n, m in seen} == {(230, "LIME")}
    cancel = threading.Event()
    calls = []

    def progress(d, n, m):
        calls.append(d)
        cancel.set()

    with pytest.raises(Cancelled):
        lime(cnn, SENT, n_samples=500, perturbations_per_eval=50, progress=progress, cancel=cancel)
    assert calls == [50]  # stopped after the first batch
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        lime(cnn, SENT, cancel=cancel)


def test_special_tokens_score_zero_and_params(bert):
    from interp_engine.attribution import registry

    method = registry.get("lime")(bert, LimeConfig(n_samples=200, seed=3))
    res = method.attribute(SENT, target=2)
    assert res.special[0] and res.special[-1] and res.special.sum() == 2
    assert (res.scores[res.special] == 0).all() and np.abs(res.scores[~res.special]).sum() > 0
    assert res.target == 2 and res.units == cm.LIME_UNITS
    cfg = LimeConfig(n_samples=200, seed=3)
    for f in ("n_samples", "kernel_width", "feature_selection", "num_features", "seed"):
        assert res.params[f] == getattr(cfg, f)
    assert res.params["baseline"] == "zero embedding"
    assert {"intercept", "r2", "local_pred"} <= set(res.params)
    ref = lime(bert, SENT, target=2, n_samples=200, seed=3)[0]
    np.testing.assert_array_equal(res.scores, ref)


def test_defaults_and_bad_settings(cnn):
    cfg = LimeConfig()
    assert (cfg.kernel_width, cfg.feature_selection, cfg.num_features) == (25.0, "auto", None)
    assert LimeConfig.from_json(cfg.to_json()) == cfg
    for bad in ({"n_samples": 1}, {"kernel_width": 0}, {"feature_selection": "lars"}, {"num_features": 0}):
        with pytest.raises(InputError):
            lime(cnn, SENT, **bad)
