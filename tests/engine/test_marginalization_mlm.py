"""The word MLM trainer's helpers (likelihood model of Kim et al. ``004_137d387c767c1e08.txt`` §3.2):
embeddings initialised from the classifier's, length-bucketed batches."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForMaskedLM

from interp_engine.attribution.likelihood import candidate_mask
from interp_engine.mlm import MLMConfig, _bucketed, _init_embeddings, train_mlm
from interp_engine.models import load_classifier
from tests.helpers import TINY_TEXTS, save_tiny


@pytest.mark.parametrize("hidden", [12, 8, 16])  # = D, PCA to fewer dims, zero-padded to more
def test_init_embeddings_from_classifier(tmp_path, hidden):
    clf = load_classifier(save_tiny(tmp_path / "m", "textcnn", seed=1), device="cpu")  # D = 12
    V = len(clf.tokenizer)
    allowed = candidate_mask(clf.tokenizer, V)
    mlm = BertForMaskedLM(BertConfig(vocab_size=V, hidden_size=hidden, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=16))
    special_before = mlm.get_input_embeddings().weight[~allowed].clone()
    _init_embeddings(mlm, clf, allowed, 0.02)
    W = mlm.get_input_embeddings().weight.detach().double()
    E = clf.model.get_input_embeddings().weight.detach().double()
    words = allowed.nonzero(as_tuple=True)[0]
    assert torch.equal(mlm.get_input_embeddings().weight[~allowed], special_before)
    assert abs(float(W[words].std()) - 0.02) < 1e-6
    # tied output layer follows
    assert mlm.cls.predictions.decoder.weight.data_ptr() == mlm.get_input_embeddings().weight.data_ptr()
    # distances between words are the classifier's (up to scale) when nothing is cut off
    X = E[words] - E[words].mean(0)
    if hidden >= E.shape[1]:
        d_cls, d_mlm = torch.cdist(X, X), torch.cdist(W[words], W[words])
        np.testing.assert_allclose((d_mlm / d_mlm.max()).numpy(), (d_cls / d_cls.max()).numpy(), atol=1e-5)
    else:  # the kept directions are the top principal components, in order of variance
        sv = torch.linalg.svdvals(X)[:hidden]
        var = W[words].var(0)
        np.testing.assert_allclose((var / var[0]).numpy(), ((sv / sv[0]) ** 2).numpy(), rtol=1e-6)


def test_bucketed_batches_are_a_permutation_of_similar_lengths():
    rng = np.random.default_rng(0)
    ids = [[1] * int(n) for n in rng.integers(1, 40, 1000)]
    order = rng.permutation(1000)
    b = _bucketed(ids, order, 16, np.random.default_rng(1))
    assert sorted(b.tolist()) == list(range(1000))
    spread = [np.ptp([len(ids[i]) for i in b[s:s + 16]]) for s in range(0, 1000, 16)]
    assert np.mean(spread) < 5  # random batches: ~35


def test_train_mlm_reports_and_random_init_option(tmp_path):
    model = save_tiny(tmp_path / "clf", "textcnn")
    texts = TINY_TEXTS * 6
    small = dict(epochs=1, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32)
    a = train_mlm(texts, model, tmp_path / "a", config=MLMConfig(**small), device="cpu")
    b = train_mlm(texts, model, tmp_path / "b", config=MLMConfig(**small, init_from_classifier=False, bucket_batches=False),
                  device="cpu")
    for r in (a, b):
        assert 0 <= r.heldout_accuracy <= 1 and r.heldout_perplexity > 1 and r.epochs == 1


def test_cli_mlm_options_reach_the_config(tmp_path, capsys):
    import json

    from interp_engine.cli import main

    model = save_tiny(tmp_path / "clf", "textcnn")
    data = tmp_path / "train.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS * 4)), encoding="utf-8")
    rc = main(["train-mlm", "--data", str(data), "--model", str(model), "--out", str(tmp_path / "mlm"), "--epochs", "1",
               "--hidden-size", "16", "--layers", "1", "--heads", "2", "--mask-prob", "0.2", "--random-init", "--json",
               "--device", "cpu"])
    assert rc == 0
    cfg = json.loads((tmp_path / "mlm" / "mlm_training.json").read_text())["config"]
    assert cfg["epochs"] == 1 and cfg["mask_prob"] == 0.2 and cfg["init_from_classifier"] is False
    assert cfg["lr"] == MLMConfig().lr and MLMConfig().epochs == 24


def test_train_mlm_trains_on_its_configured_threads_and_restores_them(tmp_path):
    """MLMConfig.threads (default 1, as every training recipe): a seed reproduces with a fixed thread
    count, and on busy cores torch's default two spinning threads multiplied the demo MLM's CPU
    (issue 15 bug 8). Seen from inside training through the progress callback."""
    model = save_tiny(tmp_path / "clf", "textcnn")
    small = dict(epochs=1, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32)
    seen: list[int] = []
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train_mlm(TINY_TEXTS * 6, model, tmp_path / "a", config=MLMConfig(**small), device="cpu",
                  progress=lambda *_: seen.append(torch.get_num_threads()))
        assert seen and set(seen) == {MLMConfig.threads} == {1}
        assert torch.get_num_threads() == 2  # the caller's count is back
        seen.clear()
        train_mlm(TINY_TEXTS * 6, model, tmp_path / "b", config=MLMConfig(**small, threads=None), device="cpu",
                  progress=lambda *_: seen.append(torch.get_num_threads()))
        assert set(seen) == {2}  # None keeps torch's setting
    finally:
        torch.set_num_threads(old)
