"""The exact incremental TextCNN forward (``TextCNNIncremental``) used by input marginalization
(Kim et al. ``004_137d387c767c1e08.txt`` eq. 2-4, Algorithm 1): it must equal a full
``classifier.logits`` forward on every substituted sentence, for several kernel sizes, layer counts
and sentence lengths, at the edges of the sentence, and give the same heatmap as the generic path."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_engine.attribution.likelihood import MaskedLMLikelihood, UniformLikelihood
from interp_engine.attribution.marginalization import (
    InputMarginalization,
    TextCNNIncremental,
    substituted_target_probs,
    textcnn_tap_projection,
)
from interp_engine.models import Classifier, TextCNNConfig, TextCNNForSequenceClassification, load_classifier
from tests.engine.test_marginalization import SENT, tiny_mlm
from tests.helpers import save_tiny, tiny_tokenizer


def _textcnn(kernel: int, channels, seed: int = 0, num_labels: int = 3) -> Classifier:
    tok = tiny_tokenizer()
    torch.manual_seed(seed)
    cfg = TextCNNConfig(vocab_size=len(tok), num_labels=num_labels, embedding_dim=10, conv_channels=list(channels),
                        kernel_size=kernel, max_seq_length=40)
    model = TextCNNForSequenceClassification(cfg)
    with torch.no_grad():  # positive biases: fewer dead ReLUs, so every layer matters
        for c in model.convs:
            c.bias.uniform_(0.0, 0.3)
    return Classifier(model, tok, device="cpu")


def _full_logits(clf, ids, pos, cand):
    x = ids.view(1, -1).repeat(pos.numel(), 1)
    x[torch.arange(pos.numel()), pos] = cand
    with torch.no_grad():
        return clf.logits(x, torch.ones_like(x))


@pytest.mark.parametrize("kernel,channels", [(1, [5]), (3, [7]), (3, [8, 6, 4]), (5, [9, 7]), (7, [6, 5, 4, 3])])
@pytest.mark.parametrize("n", [1, 2, 4, 13])
@pytest.mark.parametrize("per_pos", [6, 40])  # 6: rows gather their windows; 40: runs of one position broadcast
def test_incremental_equals_full_forward(kernel, channels, n, per_pos):
    clf = _textcnn(kernel, channels, seed=kernel * 10 + len(channels))
    V = len(clf.tokenizer)
    g = torch.Generator().manual_seed(n)
    ids = torch.randint(5, V, (n,), generator=g)
    # every position (edges 0 and n-1 included) with several random candidates, plus the original token
    pos = torch.arange(n).repeat_interleave(per_pos)
    cand = torch.randint(0, V, (pos.numel(),), generator=g)
    cand[::per_pos] = ids[pos[::per_pos]]
    inc = TextCNNIncremental(clf.model, ids)
    got = inc.logits(pos, cand)
    want = _full_logits(clf, ids, pos, cand)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_tap_projection_cached_and_invalidated():
    clf = _textcnn(3, [6, 4])
    P1 = textcnn_tap_projection(clf.model)
    assert textcnn_tap_projection(clf.model) is P1
    V, k, C1 = P1.shape
    assert (V, k, C1) == (len(clf.tokenizer), 3, 6)
    with torch.no_grad():
        clf.model.embeddings.weight[7].add_(1.0)
    P2 = textcnn_tap_projection(clf.model)
    assert P2 is not P1 and not torch.equal(P1[7], P2[7])
    # and the incremental forward still matches the full forward with the changed weights
    ids = torch.tensor([7, 9, 11, 12, 7])
    pos, cand = torch.tensor([0, 2, 4, 1]), torch.tensor([7, 20, 3, 7])
    torch.testing.assert_close(TextCNNIncremental(clf.model, ids).logits(pos, cand), _full_logits(clf, ids, pos, cand),
                               rtol=1e-5, atol=1e-5)


def test_substituted_probs_paths_agree_and_fallbacks():
    clf = _textcnn(5, [8, 6, 4])
    ids = torch.tensor([5, 9, 14, 22, 30, 8, 6])
    mask = torch.ones_like(ids)
    pos = torch.arange(7).repeat(5).view(-1, 1)
    cand = torch.randint(5, len(clf.tokenizer), (pos.shape[0], 1), generator=torch.Generator().manual_seed(0))
    a, _ = substituted_target_probs(clf, ids, mask, pos, cand, 1, chunk_size=7, incremental=True)
    b, _ = substituted_target_probs(clf, ids, mask, pos, cand, 1, chunk_size=7, incremental=False)
    torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    # two-token substitutions (spans) take the generic path
    pos2 = torch.tensor([[0, 3], [2, 6]])
    c, _ = substituted_target_probs(clf, ids, mask, pos2, torch.tensor([[9, 9], [5, 6]]), 0)
    assert c.shape == (2,)
    # the model in training mode (dropout) is never run incrementally
    with pytest.raises(ValueError):
        TextCNNIncremental(clf.model.train(), ids)
    clf.model.eval()


@pytest.mark.parametrize("sigma,top_n", [(0.0, None), (1e-2, None), (0.0, 3)])
def test_marginalization_incremental_equals_generic(tmp_path, sigma, top_n):
    d = save_tiny(tmp_path / "m", "textcnn", seed=4)
    clf = load_classifier(d, device="cpu")
    lik = MaskedLMLikelihood(clf, tiny_mlm(len(clf.tokenizer)), clf.tokenizer)
    for text in (SENT, "superb", "thin plot"):
        fast = InputMarginalization(clf, lik, sigma=sigma, top_n=top_n, chunk_size=11).attribute(text)[0]
        ref = InputMarginalization(clf, lik, sigma=sigma, top_n=top_n, chunk_size=11, incremental=False).attribute(text)[0]
        np.testing.assert_allclose(fast.scores, ref.scores, atol=1e-5, rtol=0)  # bits
        np.testing.assert_array_equal(fast.n_candidates, ref.n_candidates)
    # the candidate table goes through the same path
    m = InputMarginalization(clf, UniformLikelihood(clf), sigma=0)
    t_fast = m.candidate_table(SENT, 0)
    t_ref = InputMarginalization(clf, UniformLikelihood(clf), sigma=0, incremental=False).candidate_table(SENT, 0)
    np.testing.assert_allclose(t_fast["target_probability"], t_ref["target_probability"], atol=1e-6)


def test_incremental_oom_retry_cancel_progress(tmp_path, monkeypatch):
    import threading

    from interp_engine.errors import Cancelled

    # seed 0: the seed-2 tiny TextCNN is constant on SENT (dead ReLUs), which would make the equality below 0 == 0
    clf = load_classifier(save_tiny(tmp_path / "m", "textcnn", seed=0), device="cpu")
    lik = UniformLikelihood(clf)
    seen = []
    ref, _ = InputMarginalization(clf, lik, sigma=0, chunk_size=64).attribute(SENT, progress=lambda d, t, m: seen.append((d, t)))
    assert np.abs(ref.scores).max() > 1e-4  # the model responds to substitutions
    assert seen and seen[-1][0] == seen[-1][1] == int(ref.n_candidates.sum())
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        InputMarginalization(clf, lik, sigma=0, chunk_size=8).attribute(SENT, cancel=ev)
    real = TextCNNIncremental.logits
    sizes = []

    def fake(self, pos, cand):
        sizes.append(pos.shape[0])
        if pos.shape[0] > 16:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        return real(self, pos, cand)

    monkeypatch.setattr(TextCNNIncremental, "logits", fake)
    out, _ = InputMarginalization(clf, lik, sigma=0, chunk_size=64).attribute(SENT)
    assert sizes[0] == 64 and max(s for s in sizes if s <= 16) == 16
    np.testing.assert_allclose(out.scores, ref.scores, atol=1e-9)
