"""Hidden-location saliency (Yuan et al. eq. 3) against an independent finite-difference
computation, receptive fields against perturbation, and batch-size invariance."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_engine.engine import Engine
from interp_engine.hidden import hidden_saliency_batch
from interp_engine.models import load_classifier
from tests.helpers import TINY_TEXTS, save_tiny, save_tiny_bert

TEXT = "The plot is thin but the cast is superb , never boring"


def _textcnn_score_with_scaled_location(model, emb, layer, loc, eps, target):
    """Manual TextCNN forward (float64) that scales location ``loc`` of conv layer ``layer`` by (1 + eps)."""
    x = emb
    for j, conv in enumerate(model.convs, start=1):
        x = torch.relu(conv(x.transpose(1, 2))).transpose(1, 2)
        if j == layer:
            x = x.clone()
            x[:, loc] = x[:, loc] * (1 + eps)
    return model.classifier(x.max(dim=1).values)[0, target]


def _bilstm_score_with_scaled_location(model, emb, layer, loc, channels, eps, target):
    """Manual BiLSTM forward for one unpadded sentence, scaling one location's channel slice."""
    x = emb
    for j, lstm in enumerate(model.lstms, start=1):
        x, _ = lstm(x)
        if j == layer:
            x = x.clone()
            x[:, loc, channels] = x[:, loc, channels] * (1 + eps)
    alpha = torch.softmax(model.attn_v(torch.tanh(model.attn_proj(x))).squeeze(-1), -1)
    ctx = torch.bmm(alpha.unsqueeze(1), x).squeeze(1)
    return model.classifier(ctx)[0, target]


@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
def test_saliency_grid_equals_finite_differences(tmp_path, arch):
    """Score_{i,j} = w(A_j)_i · a_ij is the derivative of S_c when location i is scaled by (1+eps)."""
    c = load_classifier(save_tiny(tmp_path / arch, arch, seed=3), device="cpu")
    c.model.double()
    enc = c.encode([TEXT])
    n = enc.lengths()[0]
    with torch.no_grad():
        target = int(c.logits(enc.input_ids, enc.attention_mask).argmax())
    grid, _ = hidden_saliency_batch(c, enc.input_ids, enc.attention_mask, torch.tensor([target]))
    grid = grid[0].numpy()
    emb = c.embed(enc.input_ids).detach()
    eps = 1e-6
    specs = c.hidden_layers()
    ref = np.zeros((len(specs), n))
    with torch.no_grad():
        for r, spec in enumerate(specs):
            for i in range(n):
                if arch == "textcnn":
                    f = lambda e: _textcnn_score_with_scaled_location(c.model, emb, spec.hidden_index, i, e, target)
                else:
                    f = lambda e: _bilstm_score_with_scaled_location(c.model, emb, spec.hidden_index, i, spec.channels, e, target)
                ref[r, i] = float((f(eps) - f(-eps)) / (2 * eps))
    assert np.abs(ref).max() > 1e-4  # the check is not vacuous
    np.testing.assert_allclose(grid[:, :n], ref, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
def test_receptive_fields_match_perturbation(tmp_path, arch):
    """Location i of a row depends on token t exactly when t is inside its receptive field."""
    c = load_classifier(save_tiny(tmp_path / arch, arch, seed=1), device="cpu")
    c.model.double()
    enc = c.encode([TEXT])
    n = enc.lengths()[0]
    emb = c.embed(enc.input_ids).detach()
    with torch.no_grad():
        _, base = c.hidden_forward(emb, enc.attention_mask)
        for spec in c.hidden_layers():
            rf = spec.receptive_fields(n)
            for t in range(n):
                e2 = emb.clone()
                e2[0, t] += 1.0
                _, pert = c.hidden_forward(e2, enc.attention_mask)
                changed = (pert[spec.hidden_index][0, :n, spec.channels] - base[spec.hidden_index][0, :n, spec.channels]).abs().amax(-1) > 1e-12
                inside = (rf[:, 0] <= t) & (t <= rf[:, 1])
                # every changed location must have t in its receptive field ...
                assert not (changed.numpy() & ~inside).any(), (spec.name, t)
                # ... and (ReLU can zero a unit) most locations whose field holds t do change
                assert changed.numpy()[inside].mean() > 0.5, (spec.name, t)


def test_textcnn_receptive_field_growth(tmp_path):
    c = load_classifier(save_tiny(tmp_path / "m"), device="cpu")
    specs = c.hidden_layers()  # kernel 3: radius 1, 2, 3
    assert [s.receptive_fields(20)[10].tolist() for s in specs] == [[9, 11], [8, 12], [7, 13]]
    assert specs[2].receptive_fields(20)[0].tolist() == [0, 3]


@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
def test_saliency_same_at_any_batch_size(tmp_path, arch):
    c = load_classifier(save_tiny(tmp_path / arch, arch), device="cpu")
    enc = c.encode(TINY_TEXTS)
    with torch.no_grad():
        t = c.logits(enc.input_ids, enc.attention_mask).argmax(-1)
    full, _ = hidden_saliency_batch(c, enc.input_ids, enc.attention_mask, t)
    for bs in (1, 2, 3):
        for s in range(0, len(TINY_TEXTS), bs):
            sub = c.encode(TINY_TEXTS[s : s + bs])
            part, _ = hidden_saliency_batch(c, sub.input_ids, sub.attention_mask, t[s : s + bs])
            for k, n in enumerate(sub.lengths()):
                torch.testing.assert_close(part[k, :, :n], full[s + k, :, :n], rtol=1e-5, atol=1e-6)


def test_engine_hidden_saliency_result(tmp_path):
    eng = Engine("cpu")
    eng.load_model(save_tiny(tmp_path / "m"))
    res = eng.hidden_saliency(TEXT, top=3)
    n = len(res.tokens)
    assert res.scores.shape == (3, n) and res.receptive_fields.shape == (3, n, 2)
    for r, tops in enumerate(res.top_locations):
        assert len(tops) == 3
        assert list(res.scores[r, list(tops)]) == sorted(res.scores[r], reverse=True)[:3]
    js = res.to_json()
    assert len(js["layers"]) == 3 and len(js["layers"][0]) == n
    assert js["top_locations"][0][0]["receptive_field"] == res.receptive_fields[0, res.top_locations[0][0]].tolist()


def test_transformer_grid_rows_and_fields(tmp_path):
    eng = Engine("cpu")
    eng.load_model(save_tiny_bert(tmp_path / "bert"))
    res = eng.hidden_saliency("a good film")
    n = len(res.tokens)
    assert res.layer_names == ("layer 1", "layer 2")
    assert (res.receptive_fields[..., 0] == 0).all() and (res.receptive_fields[..., 1] == n - 1).all()
    assert np.isfinite(res.scores).all()
