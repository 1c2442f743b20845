"""Hidden-location tests that kill mutants the per-method tests let through (tests/MUTANTS.md):
receptive fields of a stacked BiLSTM by perturbation, special tokens in the matching rate."""
from __future__ import annotations

import numpy as np
import torch

from interp_engine.config import OptimizationConfig
from interp_engine.models import load_classifier
from interp_engine.neighbours import matching_rate
from tests.helpers import TINY_TEXTS, save_tiny, save_tiny_bert

TEXT = "The plot is thin but the cast is superb"


def test_stacked_bilstm_receptive_fields_match_perturbation(tmp_path):
    """Yuan et al. eq. 1-3 grid rows of a 2-layer BiLSTM: a layer-1 forward location sees its prefix,
    a backward one its suffix, and a layer-2 location of either direction the whole sentence
    (its input mixes both directions). Token t is in a location's field exactly when moving t's
    embedding moves that location (kills: layer 2 given layer 1's prefix/suffix fields)."""
    c = load_classifier(save_tiny(tmp_path / "m", "bilstm", seed=1, num_layers=2), device="cpu")
    c.model.double()
    enc = c.encode([TEXT])
    n = enc.lengths()[0]
    emb = c.embed(enc.input_ids).detach()
    specs = c.hidden_layers()
    assert len(specs) == 4  # lstm1 →, lstm1 ←, lstm2 →, lstm2 ←
    with torch.no_grad():
        _, base = c.hidden_forward(emb, enc.attention_mask)
        for spec in specs:
            rf = spec.receptive_fields(n)
            for t in range(n):
                e2 = emb.clone()
                e2[0, t] += 1.0
                _, pert = c.hidden_forward(e2, enc.attention_mask)
                d = pert[spec.hidden_index][0, :n, spec.channels] - base[spec.hidden_index][0, :n, spec.channels]
                changed = (d.abs().amax(-1) > 1e-12).numpy()
                inside = (rf[:, 0] <= t) & (t <= rf[:, 1])
                np.testing.assert_array_equal(changed, inside, err_msg=f"{spec.name}, token {t}")


def test_matching_rate_never_selects_special_tokens(tmp_path):
    """Yuan et al. Table 4 on a WordPiece BERT: with k above the sentence length every word
    location is used and [CLS]/[SEP] never, so X' has exactly m words per word token (kills: the
    special tokens' saliency not set to −∞ before the top-k)."""
    c = load_classifier(save_tiny_bert(tmp_path / "bert"), device="cpu")
    texts = TINY_TEXTS[:2]
    n_words = [int((~np.asarray(c.encode([t]).special[0])).sum()) for t in texts]
    assert all(n > 0 for n in n_words) and c.special_tokens
    res = matching_rate(c, texts, k=64, m=2, config=OptimizationConfig(steps=3, lr=0.01, tol=0.0))
    assert [len(s.split()) for s in res.interpretations] == [2 * n for n in n_words]


def test_cosine_neighbour_ties_keep_the_lower_row_first():
    """Yuan et al. eq. 8 neighbours of x_overall: exact cosine ties (parallel vectors of different
    lengths) come lower row first, as documented; an unusable row is never returned even when it
    ties (kills: ties in reverse row order)."""
    from interp_engine.neighbours import VectorSpace, cosine_neighbours

    m = np.array([[1, 0], [0, 1], [2, 0], [4, 0], [1, 1], [8, 0]], dtype=np.float32)
    usable = np.array([True, True, True, True, True, False])
    space = VectorSpace(tuple("abcdef"), m, np.arange(6), usable, "test")
    idx, sim = cosine_neighbours(np.array([[3.0, 0.0]]), space, 4)
    assert idx.tolist() == [[0, 2, 3, 4]]
    np.testing.assert_allclose(sim[0], [1, 1, 1, 1 / np.sqrt(2)], rtol=1e-6)
