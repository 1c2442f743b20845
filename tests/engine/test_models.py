"""Models: save/load round trip, HF directories, batching invariance, loading errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_engine.errors import InputError, ModelLoadError
from interp_engine.models import load_classifier
from tests.helpers import TINY_TEXTS, save_tiny, save_tiny_bert


@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
def test_save_load_bit_identical(tmp_path, arch):
    from interp_engine.models import BiLSTMForSequenceClassification, TextCNNForSequenceClassification

    d = save_tiny(tmp_path / arch, arch)
    files = {p.name for p in d.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= files
    assert not any(f.endswith(".bin") for f in files)
    c1 = load_classifier(d, device="cpu")
    c2 = load_classifier(d, device="cpu")
    assert c1.kind == arch
    cls = TextCNNForSequenceClassification if arch == "textcnn" else BiLSTMForSequenceClassification
    assert isinstance(c1.model, cls)
    enc = c1.encode(TINY_TEXTS)
    with torch.no_grad():
        assert torch.equal(c1.logits(enc.input_ids, enc.attention_mask), c2.logits(enc.input_ids, enc.attention_mask))
    # saving the re-opened model again gives the same weights
    c1.model.save_pretrained(tmp_path / "again")
    from safetensors.torch import load_file

    a, b = load_file(d / "model.safetensors"), load_file(tmp_path / "again" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
def test_padding_never_changes_a_sentence(tmp_path, arch):
    c = load_classifier(save_tiny(tmp_path / arch, arch), device="cpu")
    enc = c.encode(TINY_TEXTS)
    with torch.no_grad():
        batch = c.logits(enc.input_ids, enc.attention_mask)
        for i, t in enumerate(TINY_TEXTS):
            e1 = c.encode([t])
            alone = c.logits(e1.input_ids, e1.attention_mask)
            torch.testing.assert_close(batch[i], alone[0], rtol=0, atol=1e-6)


def test_tokenizer_is_case_preserving_and_keeps_surface(tmp_path):
    c = load_classifier(save_tiny(tmp_path / "m"), device="cpu")
    enc = c.encode(["The plot is Zyzzyva-ish , isn't it"])
    assert enc.tokens[0][:3] == ["The", "plot", "is"]
    ids = enc.input_ids[0].tolist()
    unk = c.tokenizer.unk_token_id
    assert ids[3] == unk and enc.tokens[0][3] == "Zyzzyva"  # unknown word shown as typed
    assert "isn't" in enc.tokens[0]  # clitics stay attached
    assert c.tokenizer.convert_tokens_to_ids("Plot") == unk  # case matters: only "plot" is known


def test_truncation_is_reported(tmp_path):
    c = load_classifier(save_tiny(tmp_path / "m"), device="cpu")
    enc = c.encode(["good " * 100, "good film"])
    assert enc.truncated == [True, False]
    assert len(enc.tokens[0]) == c.max_length == 32


def test_empty_sentence_is_an_input_error(tmp_path):
    c = load_classifier(save_tiny(tmp_path / "m"), device="cpu")
    for text in ["", "   \t "]:
        with pytest.raises(InputError, match="empty"):
            c.encode([text])
    p = c.predict_proba(["good film", "  "])
    assert np.isnan(p[1]).all() and np.isclose(p[0].sum(), 1.0)


def test_hf_bert_directory_opens_through_same_entry_point(tmp_path):
    d = save_tiny_bert(tmp_path / "bert")
    c = load_classifier(d, device="cpu")
    assert c.kind == "transformer" and c.num_labels == 3
    enc = c.encode(["a good film"])
    assert enc.tokens[0][0] == "[CLS]" and enc.tokens[0][-1] == "[SEP]"
    assert enc.special[0][0] and not enc.special[0][1]
    assert [s.name for s in c.hidden_layers()] == ["layer 1", "layer 2"]
    with torch.no_grad():
        direct = c.model(input_ids=enc.input_ids, attention_mask=enc.attention_mask).logits
        via_embeds = c.logits_from_embeds(c.embed(enc.input_ids), enc.attention_mask)
    torch.testing.assert_close(direct, via_embeds)


def test_loading_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="not a directory"):
        load_classifier(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no config.json"):
        load_classifier(tmp_path / "empty")
    d = save_tiny(tmp_path / "unknown")
    cfg = json.loads((d / "config.json").read_text())
    cfg["model_type"] = "no-such-architecture"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="unknown or unsupported"):
        load_classifier(d)
    d = save_tiny(tmp_path / "corrupt")
    (d / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelLoadError, match="could not be read"):
        load_classifier(d)
    d = save_tiny(tmp_path / "pickle")
    from safetensors.torch import load_file

    torch.save(load_file(d / "model.safetensors"), d / "pytorch_model.bin")
    (d / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="pickle"):
        load_classifier(d)


def test_tokenizer_that_does_not_match_model(tmp_path):
    from interp_engine.models.tokenization import build_word_tokenizer

    d = save_tiny(tmp_path / "m")
    big = build_word_tokenizer([" ".join(f"w{i}" for i in range(500))], max_length=32)
    big.save_pretrained(d)
    with pytest.raises(ModelLoadError, match="does not belong"):
        load_classifier(d)


def test_unavailable_device_is_a_clear_error(tmp_path, monkeypatch):
    from interp_engine.engine import Engine

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="no CUDA device"):
        Engine("cuda")
    eng = Engine("cpu")
    eng.load_model(save_tiny(tmp_path / "m"))
    with pytest.raises(InputError, match="no CUDA device"):
        eng.set_device("cuda")
    assert eng.device == "cpu" and str(eng.classifier.device) == "cpu"
    with pytest.raises(InputError, match="unknown device"):
        eng.set_device("tpu9")


def test_tiny_bert_helper_knows_its_words(tmp_path):
    c = load_classifier(save_tiny_bert(tmp_path / "bert"), device="cpu")
    enc = c.encode(["a good film"])
    assert c.tokenizer.unk_token_id not in enc.input_ids[0].tolist()
    assert enc.tokens[0] == ["[CLS]", "a", "good", "film", "[SEP]"]
