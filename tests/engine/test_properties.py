"""Property tests (hypothesis): tokenization and attribution on random Unicode strings (issue 8).

For any string, encoding gives one offset and one special flag per token, offsets inside the
text, and attribution/saliency give one finite score per token; the only error allowed is a
clear InputError for a sentence with nothing visible in it."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interp_engine.errors import InputError
from interp_engine.models.classifier import has_visible_text
from tests.helpers import TINY_TEXTS, save_tiny, save_tiny_bert

# every code point except lone surrogates (which a Python str from the GUI or a file cannot hold)
UNICODE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
# words of the tiny vocabulary mixed with odd characters: emoji, RTL, combining, zero-width, controls
ODD = st.sampled_from(["😀", "👍🏽", "שלום", "مرحبا", "\u0301", "e\u0301", "\u200b", "\u200d", "\u200e", "\u2028",
                       "\ufeff", "\x00", "\t", "  ", "ǅ", "ﬁ", "İ", "\U0010ffff", "…", "’", "\u00ad", "\u2060",
                       "\u200c", "worst\u200bfilm", "good\u00ad"])
WORDS = st.sampled_from(sorted({w for t in TINY_TEXTS for w in t.split()}))
MIXED = st.lists(st.one_of(WORDS, ODD, UNICODE), max_size=12).map(" ".join)
# a word of the vocabulary with invisible format characters inside ("worst\u200bfilm")
ALPHA = st.sampled_from(sorted({w for t in TINY_TEXTS for w in t.split() if w.isalpha()}))
GLUED = st.tuples(ALPHA, st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]), ALPHA).map("".join)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    from interp_engine.engine import Engine

    root = tmp_path_factory.mktemp("props")
    out = {}
    for arch in ("textcnn", "bilstm", "bert"):
        eng = Engine("cpu")
        eng.load_model(save_tiny_bert(root / arch) if arch == "bert" else save_tiny(root / arch, arch))
        out[arch] = eng
    return out


def _check_encoding(c, text):
    try:
        enc = c.encode([text])
    except InputError as e:
        assert "empty" in str(e)
        return None
    n = len(enc.tokens[0])
    assert n >= 1 and len(enc.offsets[0]) == len(enc.special[0]) == n
    assert n <= c.max_length and int(enc.attention_mask[0].sum()) == n
    for (s, e), sp in zip(enc.offsets[0], enc.special[0]):
        assert 0 <= s <= e <= len(text)
    assert not all(enc.special[0])
    if c.kind != "transformer":  # word level: no token is empty or only invisible format characters
        from interp_engine.models.tokenization import INVISIBLE_CHARS

        for t, sp in zip(enc.tokens[0], enc.special[0]):
            assert sp or (t and not set(t) <= INVISIBLE_CHARS), (text, enc.tokens[0])
    return enc


@SETTINGS
@given(text=st.one_of(UNICODE, MIXED, GLUED))
def test_tokenization_of_any_string(engines, text):
    for eng in engines.values():
        enc = _check_encoding(eng.classifier, text)
        if enc is None:
            # only sentences without a visible character (or, for WordPiece, with no token) are empty
            assert eng.classifier.kind == "transformer" or not has_visible_text(text)


@SETTINGS
@given(text=GLUED)
def test_a_word_glued_by_an_invisible_character_is_one_token(engines, text):
    for arch in ("textcnn", "bilstm"):
        enc = _check_encoding(engines[arch].classifier, text)
        assert enc.tokens[0] == [text.translate({ord(ch): None for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad"})]
        assert enc.offsets[0] == [(0, len(text))]


@SETTINGS
@given(text=MIXED)
def test_attribution_shapes_and_finite_scores(engines, text):
    for arch, eng in engines.items():
        # grad refuses BERT-family models (the summed gradient is float error after a LayerNorm)
        methods = ("grad_input",) if arch == "bilstm" else ("grad_input", "unk") if eng.classifier.kind == "transformer" \
            else ("grad", "unk")
        for method in methods:
            try:
                a = eng.attribute(text, method)
            except InputError as e:
                assert "empty" in str(e)
                continue
            n = len(a.tokens)
            assert a.scores.shape == (n,) and a.offsets.shape == (n, 2) and a.special.shape == (n,)
            assert np.isfinite(a.scores).all() and np.isfinite(a.prediction.probabilities).all()
            assert a.unknown is None or a.unknown.shape == (n,)
        try:
            h = eng.hidden_saliency(text)
        except InputError as e:
            assert "empty" in str(e)
            continue
        n = len(h.tokens)
        assert h.scores.shape == (len(h.layer_names), n) and np.isfinite(h.scores).all()
        assert h.receptive_fields.shape == (len(h.layer_names), n, 2)
        assert (h.receptive_fields >= 0).all() and (h.receptive_fields < n).all()


@SETTINGS
@given(text=MIXED)
def test_marginalization_on_any_string(engines, text):
    eng = engines["textcnn"]
    try:
        a = eng.attribute(text, "marginalization", likelihood="uniform", top_n=5)
    except InputError as e:
        assert "empty" in str(e)
        return
    assert a.scores.shape == (len(a.tokens),) and np.isfinite(a.scores).all()
