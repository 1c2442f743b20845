"""Invisible format characters (zero-width space/joiners, word joiner, BOM, soft hyphen, direction
marks) inside a word are removed before our word-level tokenization: "worst\u200bfilm" is one word,
never an empty-looking token of its own, for new tokenizers (normalizer) and for tokenizers saved
before with NFC only (``Classifier.encode`` strips them), and the search index splits the same way."""
from __future__ import annotations

import json

import numpy as np
import pytest

from interp_engine.models.tokenization import (
    INVISIBLE_CHARS,
    build_word_tokenizer,
    pre_tokenize,
    strip_invisible,
    words_with_offsets,
)
from tests.helpers import TINY_TEXTS, save_tiny

ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u202e", "\U000E0041"]


@pytest.mark.parametrize("ch", ZW)
def test_pre_tokenize_removes_invisible_characters_inside_and_between_words(ch):
    text = f"the worst{ch}film {ch} ever{ch}!"
    assert pre_tokenize(text) == ["the", "worstfilm", "ever", "!"]
    ws = words_with_offsets(text)
    assert [w for w, _ in ws] == pre_tokenize(text)
    # offsets point into the text as given: the removed character is inside the word's span
    (s, e) = ws[1][1]
    assert text[s:e] == f"worst{ch}film"
    assert strip_invisible(text)[0] == "the worstfilm  ever!"


def test_visible_characters_are_untouched():
    text = "naïve café, it's 😀 שלום n\u0600 1"
    assert strip_invisible(text) == (text, list(range(len(text))))
    assert "".join(pre_tokenize(text)) == text.replace(" ", "")
    assert not INVISIBLE_CHARS & set("abc \t\n'’-_")


def test_new_tokenizer_normalizer_removes_them_and_survives_save_and_load(tmp_path):
    from transformers import AutoTokenizer

    tok = build_word_tokenizer(["the worst film", "worstfilm"])
    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    for t in (tok, loaded):
        enc = t("the worst\u200bfilm\u00ad", return_offsets_mapping=True)
        assert t.convert_ids_to_tokens(enc["input_ids"]) == ["the", "worstfilm"]
        assert enc["offset_mapping"] == [(0, 3), (4, 14)]  # the inner character is in the span, the trailing one not
    # training and the tokenizer agree: every word of pre_tokenize is in the vocabulary
    texts = ["a\u2060b c\ufeffd", "e\u200df g"]
    t2 = build_word_tokenizer(texts)
    for text in texts:
        ids = t2(text)["input_ids"]
        assert t2.unk_token_id not in ids and t2.convert_ids_to_tokens(ids) == pre_tokenize(text)


def _old_style(path):
    """Rewrite a saved tokenizer.json to the pre-fix normalizer (NFC only)."""
    tj = path / "tokenizer.json"
    d = json.loads(tj.read_text(encoding="utf-8"))
    assert d["normalizer"]["type"] == "Sequence"  # the new normalizer was saved
    d["normalizer"] = {"type": "NFC"}
    tj.write_text(json.dumps(d), encoding="utf-8")
    return path


@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
def test_classifier_encodes_old_and_new_tokenizers_the_same(tmp_path, arch):
    from interp_engine.models import load_classifier

    new = load_classifier(save_tiny(tmp_path / "new", arch), device="cpu")
    old = load_classifier(_old_style(save_tiny(tmp_path / "old", arch)), device="cpu")
    # the old tokenizer alone still splits the zero-width space off (what the Classifier fixes)
    assert "\u200b" in old.tokenizer.tokenize("worst\u200bfilm") or len(old.tokenizer.tokenize("worst\u200bfilm")) > 1
    texts = ["the worst\u200bfilm ever", "a \u2060good\u00ad film\ufeff", "\u200bgreat\u200d acting"]
    a, b = new.encode(texts), old.encode(texts)
    assert a.tokens == b.tokens and a.offsets == b.offsets and a.input_ids.tolist() == b.input_ids.tolist()
    assert a.tokens[0] == ["the", "worstfilm", "ever"]
    assert a.tokens[1] == ["a", "good", "film"] and a.tokens[2] == ["great", "acting"]
    for text, toks, offs in zip(texts, a.tokens, a.offsets):
        for t, (s, e) in zip(toks, offs):
            assert t and not set(t) & INVISIBLE_CHARS
            assert strip_invisible(text[s:e])[0] == t  # offsets into the text as typed
    # a known word glued by a zero-width joiner to nothing keeps its id
    assert new.encode(["good\u200b"]).input_ids.tolist() == new.encode(["good"]).input_ids.tolist()


def test_heatmap_of_a_zero_width_space_has_no_empty_tokens(tmp_path):
    from interp_engine.engine import Engine

    eng = Engine("cpu")
    eng.load_model(_old_style(save_tiny(tmp_path / "m")))
    text = "the worst\u200bfilm"
    for method in ("grad", "unk", "marginalization"):
        kw = {"likelihood": "uniform"} if method == "marginalization" else {}
        a = eng.attribute(text, method, **kw)
        words = [t for t, sp in zip(a.tokens, a.special) if not sp]
        assert words == ["the", "worstfilm"], (method, a.tokens)
        assert all(t.strip() for t in a.tokens) and np.isfinite(a.scores).all()
        assert [text[s:e] for s, e in a.offsets] == ["the", "worst\u200bfilm"]
    h = eng.hidden_saliency(text)
    assert all(t and not set(t) & INVISIBLE_CHARS for t in h.tokens)


def test_search_index_splits_like_the_tokenizer(tmp_path, monkeypatch):
    from interp_engine.data import Dataset
    from interp_engine.search import SearchIndex

    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path / "cache"))
    texts = ["the worst\u200bfilm ever", "a worst film", "good\u00adfilm"] + list(TINY_TEXTS)
    ds = Dataset(texts=texts, labels=np.array([i % 2 for i in range(len(texts))]), class_names=("0", "1"))
    ix = SearchIndex.open(ds)
    r = ix.search("worstfilm", mode="phrase")
    assert r.rows.tolist() == [0]
    s, e = r.char_span[0]
    assert texts[0][s:e] == "worst\u200bfilm"
    r = ix.search("worst\u200bfilm", mode="phrase")  # a query typed with the character: the same word
    assert r.rows.tolist() == [0] and r.query_tokens == ("worstfilm",)
    assert ix.search("goodfilm").rows.tolist() == [2]
    assert ix.search("worst film").rows.tolist() == [1]
    ix.close()


def test_prior_counts_of_old_and_new_tokenizers_agree(tmp_path):
    from interp_engine.attribution.likelihood import PriorLikelihood
    from interp_engine.models import load_classifier

    new = load_classifier(save_tiny(tmp_path / "new"), device="cpu")
    old = load_classifier(_old_style(save_tiny(tmp_path / "old")), device="cpu")
    texts = ["the plot\u200bis thin", "great\u00ad acting \ufeff"] + list(TINY_TEXTS)
    a = PriorLikelihood.from_texts(new, texts).prior
    b = PriorLikelihood.from_texts(old, texts).prior
    assert np.allclose(a.numpy(), b.numpy())
