"""Matching rate (Yuan et al. "Evaluation of Interpretability") against a hand computation on a
tiny model: top-3 first-layer locations from the saliency grid, each optimised alone, its 5
nearest words by a plain cosine loop, the 15-word sentence built and classified by hand."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_engine.cli import main
from interp_engine.engine import Engine
from interp_engine.models import load_classifier
from interp_engine.neighbours import matching_rate
from interp_engine.optimization import LocationRequest, OptimizationConfig, optimize_locations
from tests.helpers import TINY_TEXTS, save_tiny

CFG = OptimizationConfig(steps=40, lr=0.01, tol=0.0)


def test_matching_rate_equals_hand_computation(tmp_path):
    c = load_classifier(save_tiny(tmp_path / "cnn", seed=5), device="cpu")
    eng = Engine("cpu")
    eng.set_classifier(c)
    W = c.model.get_input_embeddings().weight.detach().numpy()
    vocab = c.tokenizer.convert_ids_to_tokens(list(range(len(c.tokenizer))))
    excluded = {"[PAD]", "[UNK]", "[MASK]"}
    texts = TINY_TEXTS + ["good", "bad film"]  # sentences shorter than k use all their locations
    hand_matches, hand_sentences = [], []
    for text in texts:
        grid = eng.hidden_saliency(text, top=3)
        c_pred = grid.prediction.predicted
        spec = c.hidden_layers()[0]
        words = []
        for i in grid.top_locations[0]:  # best first
            enc = c.encode([text])
            lo, hi = (int(v) for v in grid.receptive_fields[0, i])
            alone = optimize_locations(c, enc.input_ids, enc.attention_mask,
                                       [LocationRequest(0, spec.hidden_index, spec.channels, int(i), (lo, hi))], CFG)
            x = alone.x0[0, lo : hi + 1].mean(0)  # eq. 8
            sims = []
            for v, w in enumerate(W):
                if vocab[v] in excluded:
                    continue
                sims.append((float(x @ w / (np.linalg.norm(x) * np.linalg.norm(w))), v))
            sims.sort(key=lambda t: (-t[0], t[1]))
            words += [vocab[v] for _, v in sims[:5]]
        assert len(words) == 5 * min(3, len(grid.tokens))
        hand_sentences.append(" ".join(words))
        ids = torch.tensor([[c.tokenizer.convert_tokens_to_ids(w) for w in words]])
        with torch.no_grad():
            c_x = int(c.logits(ids, torch.ones_like(ids)).argmax())
        hand_matches.append(c_x == c_pred)
    res = matching_rate(c, texts, k=3, m=5, config=CFG, batch_sentences=3)
    assert list(res.interpretations) == hand_sentences
    assert list(res.matches) == hand_matches
    assert res.rate == pytest.approx(np.mean(hand_matches))
    assert res.n == len(texts)


def test_cli_evaluate_matching_rate_json(tmp_path, capsys):
    d = save_tiny(tmp_path / "cnn", seed=5)
    data = tmp_path / "d.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS)), encoding="utf-8")
    rc = main(["evaluate", "--metric", "matching_rate", "--model", str(d), "--data", str(data), "--n", "3",
               "--steps", "30", "--opt-lr", "0.01", "--json", "--device", "cpu"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["metric"] == "matching_rate" and out["n"] == 3 and 0.0 <= out["matching_rate"] <= 1.0
    assert out["params"]["k"] == 3 and out["params"]["m"] == 5 and out["params"]["steps"] == 30
