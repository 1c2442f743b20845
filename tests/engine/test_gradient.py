"""Gradient and gradient×input attribution against finite differences; batching invariance."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_engine.attribution import GradientAttribution
from interp_engine.engine import Engine
from interp_engine.errors import InputError
from interp_engine.models import load_classifier
from tests.helpers import TINY_TEXTS, save_tiny, save_tiny_bert


@pytest.mark.parametrize("arch", ["textcnn", "bilstm", "bert"])
def test_grad_input_is_directional_derivative(tmp_path, arch):
    """grad_input_i = d/de S_c(E with row i scaled by (1 + e)) at e = 0; grad_i = d/de S_c(E_i + e·1).
    For BERT, E is the word-piece embedding before position/segment embeddings and LayerNorm."""
    # seed 0, not 2: the seed-2 TextCNN is constant (every ReLU dead), so its gradients were all 0
    # and this test passed for grad in place of grad_input (tests/MUTANTS.md, G1)
    path = save_tiny_bert(tmp_path / arch) if arch == "bert" else save_tiny(tmp_path / arch, arch, seed=0)
    c = load_classifier(path, device="cpu")
    c.model.double()
    text = TINY_TEXTS[2]
    gi, targets, _ = GradientAttribution(c, times_input=True).attribute([text])
    assert np.abs(gi[0]).max() > 1e-4  # a gradient to check (not a dead model)
    if arch == "bert":
        # BERT normalises (word + position + segment embedding) with a LayerNorm, which is invariant
        # to adding e·1 to its input: Σ_d ∂S/∂E_{i,d} is 0 up to float error, so `grad` refuses
        with pytest.raises(InputError, match="LayerNorm"):
            GradientAttribution(c, times_input=False).attribute([text], target=int(targets[0]))
        g = None
    else:
        g, _, _ = GradientAttribution(c, times_input=False).attribute([text], target=int(targets[0]))
        assert np.abs(g[0]).max() > 1e-4
    enc = c.encode([text])
    emb = c.embed(enc.input_ids).detach()
    t, eps = int(targets[0]), 1e-6
    with torch.no_grad():
        def s(e):
            return float(c.logits_from_embeds(e, enc.attention_mask, enc.token_type_ids)[0, t])
        for i in range(len(gi[0])):
            up, dn = emb.clone(), emb.clone()
            up[0, i] *= 1 + eps
            dn[0, i] *= 1 - eps
            assert gi[0][i] == pytest.approx((s(up) - s(dn)) / (2 * eps), rel=1e-4, abs=1e-8)
            if g is None:
                continue
            up, dn = emb.clone(), emb.clone()
            up[0, i] += eps
            dn[0, i] -= eps
            assert g[0][i] == pytest.approx((s(up) - s(dn)) / (2 * eps), rel=1e-4, abs=1e-8)


@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
@pytest.mark.parametrize("times_input", [False, True])
def test_batch_size_never_changes_result(tmp_path, arch, times_input):
    c = load_classifier(save_tiny(tmp_path / arch, arch), device="cpu")
    m = GradientAttribution(c, times_input=times_input)
    ref, t_ref, _ = m.attribute(TINY_TEXTS, internal_batch_size=1)
    for bs in (2, 3, 64):
        got, t, _ = m.attribute(TINY_TEXTS, internal_batch_size=bs)
        assert (t == t_ref).all()
        for a, b in zip(got, ref):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_engine_attribute_contract(tmp_path):
    eng = Engine("cpu")
    eng.load_model(save_tiny(tmp_path / "m", num_labels=3))
    res = eng.attribute("a good film , never boring", "grad_input")
    js = res.to_json()
    assert js["tokens"] == ["a", "good", "film", ",", "never", "boring"]
    assert len(js["scores"]) == 6 and all(np.isfinite(js["scores"]))
    assert js["method"] == "grad_input" and js["predicted"] == int(np.argmax(js["probabilities"]))
    assert abs(sum(js["probabilities"]) - 1) < 1e-9
    other = eng.attribute("a good film , never boring", "grad_input", target=(js["predicted"] + 1) % 3)
    assert other.target != res.target and not np.allclose(other.scores, res.scores)
    with pytest.raises(InputError, match="target class"):
        eng.attribute("a good film", "grad", target=7)
    with pytest.raises(InputError, match="unknown attribution method"):
        eng.attribute("a good film", "nonsense")
    with pytest.raises(InputError, match="empty"):
        eng.attribute("   ", "grad")


def test_bert_attribution_runs(tmp_path):
    eng = Engine("cpu")
    eng.load_model(save_tiny_bert(tmp_path / "bert"))
    res = eng.attribute("a good film", "grad_input")
    assert res.tokens[0] == "[CLS]" and res.special[0] and len(res.scores) == len(res.tokens)


def test_grad_refuses_a_layernorm_model_in_float32_and_the_cli_says_why(tmp_path, capsys):
    """In float32 (the app's precision) the summed gradient of a BERT is rounding noise (~1e-8 of
    ‖∇‖): the method refuses with one sentence instead of drawing the noise as a heatmap, while a
    TextCNN's and a BiLSTM's are not refused, and grad×input still runs on the BERT."""
    from interp_engine.attribution.gradient import GRAD_NULL_MESSAGE
    from interp_engine.cli import main

    bert = load_classifier(save_tiny_bert(tmp_path / "bert"), device="cpu")
    with pytest.raises(InputError) as e:
        GradientAttribution(bert, times_input=False).attribute(TINY_TEXTS[:3])
    assert str(e.value) == GRAD_NULL_MESSAGE
    gi, _, _ = GradientAttribution(bert, times_input=True).attribute(TINY_TEXTS[:3])
    assert max(np.abs(s).max() for s in gi) > 1e-4
    for arch in ("textcnn", "bilstm"):
        c = load_classifier(save_tiny(tmp_path / arch, arch, seed=0), device="cpu")
        g, _, _ = GradientAttribution(c, times_input=False).attribute(TINY_TEXTS[:3])
        assert max(np.abs(s).max() for s in g) > 1e-4
    rc = main(["attribute", "--model", str(tmp_path / "bert"), "--method", "grad", "--text", TINY_TEXTS[0]])
    err = capsys.readouterr().err
    assert rc == 2 and "LayerNorm" in err and "Traceback" not in err
