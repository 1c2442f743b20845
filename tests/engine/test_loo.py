"""Leave-one-out by removal (``loo``): the WoE in bits (Kim et al. eq. 1) of deleting each token, the
sentence one token shorter (the empty-string deletion of "Double Trouble"), checked against a plain
per-token loop that deletes the token and calls ``classifier.logits`` on the shorter input."""
from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest
import torch

from interp_engine.attribution import registry
from interp_engine.attribution.loo import LeaveOneOut
from interp_engine.attribution.marginalization import WOE_UNITS
from interp_engine.cli import main
from interp_engine.config import LeaveOneOutConfig
from interp_engine.errors import Cancelled, InputError
from interp_engine.inputs import TextInput
from interp_engine.models import load_classifier
from tests.helpers import TINY_PAIRS, save_tiny, save_tiny_bert, save_tiny_pair

SENT = "a good film with great acting , not boring"
PAIR = TextInput.pair(TINY_PAIRS[1][1], TINY_PAIRS[1][2])


def _amplify(clf, factor: float, every: float = 1.0):
    """Scale the output layer (the last ``nn.Linear``) by ``factor`` and every other linear layer
    by ``every``, so that the tiny random models' scores are far above the 1e-6 bits tolerance
    (the loop and the method read the same model). The model runs in float64."""
    clf.model.double()  # float64: batching never moves a score by float32 rounding (amplified here)
    linear = [m for m in clf.model.modules() if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for m in linear[:-1]:
            m.weight.mul_(every)
        linear[-1].weight.mul_(factor)
    return clf


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("loo")
    return {
        "textcnn": (_amplify(load_classifier(save_tiny(d / "cnn", "textcnn", seed=1), device="cpu"), 30), SENT),
        "bilstm": (_amplify(load_classifier(save_tiny(d / "lstm", "bilstm", seed=1), device="cpu"), 30), SENT),
        "bert": (_amplify(load_classifier(save_tiny_bert(d / "bert"), device="cpu"), 90, every=3), SENT),
        "pair_bilstm": (_amplify(load_classifier(save_tiny_pair(d / "pl", "bilstm"), device="cpu"), 30), PAIR),
        "pair_textcnn": (_amplify(load_classifier(save_tiny_pair(d / "pc", "textcnn"), device="cpu"), 30), PAIR),
    }


def _log2_odds(clf, ids, types, target):
    """log2 p/(1 − p) of ``target`` for one input (1, L), from the double-precision softmax."""
    with torch.inference_mode():
        p = torch.softmax(clf.logits(ids, torch.ones_like(ids), types).double(), -1)[0]
    return math.log2(float(p[target])) - math.log2(float(p.sum() - p[target]))


def _loo_by_hand(clf, inputs, target=None):
    """Per token: delete it (and its segment id), run the shorter input, WoE in bits; specials 0."""
    enc = clf.encode([inputs])
    n = enc.lengths()[0]
    ids = enc.input_ids[0, :n]
    types = None if enc.token_type_ids is None else enc.token_type_ids[0, :n]
    with torch.inference_mode():
        p = torch.softmax(clf.logits(ids[None], torch.ones_like(ids)[None], None if types is None else types[None]), -1)[0]
    t = int(p.argmax()) if target is None else target
    full = _log2_odds(clf, ids[None], None if types is None else types[None], t)
    out = np.zeros(n)
    for i in range(n):
        if enc.special[0][i]:
            continue
        keep = [j for j in range(n) if j != i]
        out[i] = full - _log2_odds(clf, ids[keep][None], None if types is None else types[keep][None], t)
    return out, t, enc


@pytest.mark.parametrize("kind", ["textcnn", "bilstm", "bert", "pair_bilstm", "pair_textcnn"])
def test_loo_equals_a_per_token_removal_loop(models, kind):
    clf, inputs = models[kind]
    expected, t, enc = _loo_by_hand(clf, inputs)
    res = LeaveOneOut(clf).attribute(inputs)
    assert res.method == "loo" and res.units == WOE_UNITS and res.target == t
    assert res.tokens == tuple(enc.tokens[0])
    # the check means something: the scores are far above the tolerance
    assert np.abs(expected).max() > 1e-2, expected
    np.testing.assert_allclose(res.scores, expected, atol=1e-6, rtol=0)
    special = np.asarray(res.special, dtype=bool)
    assert np.all(res.scores[special] == 0) and np.all(res.n_candidates == (~special).astype(int))
    if kind == "bert":  # [CLS] and [SEP] are never removed
        assert res.tokens[0] == "[CLS]" and res.tokens[-1] == "[SEP]" and special[0] and special[-1]
        assert res.scores[0] == 0 and res.scores[-1] == 0
    if kind.startswith("pair"):  # the result knows the pair's segments
        assert res.segment_names == ("premise", "hypothesis") and res.texts == PAIR.texts
        np.testing.assert_array_equal(res.segments, enc.segments[0])
        assert {0, 1} <= set(res.segments.tolist())
    # another target: the same loop with that class
    other = (t + 1) % clf.num_labels
    expected_other, _, _ = _loo_by_hand(clf, inputs, other)
    np.testing.assert_allclose(LeaveOneOut(clf).attribute(inputs, other).scores, expected_other, atol=1e-6, rtol=0)


def test_pair_segment_ids_travel_with_the_removed_token(models):
    """Deleting a premise token with the segment ids merely cut at n − 1 (the boundary shifted by
    one) gives other scores: the method must delete the token's own segment id."""
    clf, inputs = models["pair_bilstm"]
    res = LeaveOneOut(clf).attribute(inputs)
    enc = clf.encode([inputs])
    n = enc.lengths()[0]
    ids, types = enc.input_ids[0, :n], enc.token_type_ids[0, :n]
    t = res.target
    full = _log2_odds(clf, ids[None], types[None], t)
    i = 0  # a premise token
    wrong = full - _log2_odds(clf, ids[1:][None], types[: n - 1][None], t)
    assert abs(wrong - res.scores[i]) > 1e-4


def test_batched_equals_one_removal_per_forward(models):
    for kind in ("textcnn", "bert", "pair_bilstm"):
        clf, inputs = models[kind]
        batched = LeaveOneOut(clf).attribute(inputs)
        calls = []
        one = LeaveOneOut(clf, LeaveOneOutConfig(chunk_size=1)).attribute(
            inputs, progress=lambda done, total, msg: calls.append((done, total)))
        np.testing.assert_allclose(one.scores, batched.scores, atol=1e-9, rtol=0)
        n_words = int((~np.asarray(one.special, dtype=bool)).sum())
        assert calls and calls[-1] == (n_words, n_words)
        assert LeaveOneOut(clf).attribute(inputs, batch_size=2).scores == pytest.approx(batched.scores, abs=1e-9)


def test_one_token_sentence_leaves_one_pad_token(models):
    clf, _ = models["textcnn"]
    res = LeaveOneOut(clf).attribute("good")
    enc = clf.encode(["good"])
    t = res.target
    pad = torch.tensor([[clf.tokenizer.pad_token_id]])
    expected = _log2_odds(clf, enc.input_ids[:, :1], None, t) - _log2_odds(clf, pad, None, t)
    assert res.scores.shape == (1,) and res.scores[0] == pytest.approx(expected, abs=1e-6)


def test_cancel_and_errors(models):
    clf, inputs = models["textcnn"]
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        LeaveOneOut(clf, LeaveOneOutConfig(chunk_size=1)).attribute(inputs, cancel=ev)
    with pytest.raises(InputError):
        LeaveOneOut(clf).attribute(inputs, target=7)
    with pytest.raises(InputError):
        LeaveOneOut(clf).attribute("   ")


def test_registered_everywhere():
    assert "loo" in registry.names() and "loo" in registry.woe_methods()
    assert registry.get("loo") is LeaveOneOut
    assert registry.label("loo") == "Leave-one-out (removal)" and registry.short_label("loo") == "LOO"
    assert registry.units("loo") == WOE_UNITS and registry.config_class("loo") is LeaveOneOutConfig
    assert "loo:" in registry.help_text()


def test_cli_attribute_method_loo_json(tmp_path, capsys, models):
    path = save_tiny(tmp_path / "m", "textcnn", seed=1)
    rc = main(["attribute", "--model", str(path), "--text", SENT, "--method", "loo", "--device", "cpu", "--json"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    out = json.loads(cap.out.strip().splitlines()[-1])
    assert out["method"] == "loo" and out["units"] == WOE_UNITS
    expected, t, enc = _loo_by_hand(load_classifier(path, device="cpu"), SENT)
    assert out["tokens"] == list(enc.tokens[0]) and out["target"] == t
    np.testing.assert_allclose(out["scores"], expected, atol=1e-6, rtol=0)
    # a pair through --pair
    ppath = save_tiny_pair(tmp_path / "p", "bilstm")
    rc = main(["attribute", "--model", str(ppath), "--text", PAIR.texts[0], "--pair", PAIR.texts[1], "--method", "loo",
               "--device", "cpu", "--json"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    out = json.loads(cap.out.strip().splitlines()[-1])
    expected, _, _ = _loo_by_hand(load_classifier(ppath, device="cpu"), PAIR)
    np.testing.assert_allclose(out["scores"], expected, atol=1e-6, rtol=0)
