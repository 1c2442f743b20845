"""Embedding initialisation from word vectors: Word2Vec (default) and loaded formats."""
from __future__ import annotations

import numpy as np
import pytest

from interp_engine.errors import InputError
from interp_engine.vectors import embedding_matrix, load_vectors, train_word2vec


def _kv(dim=4):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=dim)
    kv.add_vectors(["good", "bad", "film"], np.arange(3 * dim, dtype=np.float32).reshape(3, dim))
    return kv


def test_word2vec_is_deterministic():
    sents = [["a", "good", "film"], ["a", "bad", "film"]] * 20
    a = train_word2vec(sents, dim=8, seed=3, epochs=2)
    b = train_word2vec(sents, dim=8, seed=3, epochs=2)
    np.testing.assert_array_equal(a["good"], b["good"])


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-bin", "glove"])
def test_load_formats(tmp_path, fmt):
    kv = _kv()
    p = tmp_path / ("v.bin" if fmt == "word2vec-bin" else "v.txt")
    if fmt == "glove":
        with p.open("w", encoding="utf-8") as f:
            for w in kv.index_to_key:
                f.write(w + " " + " ".join(f"{x:.1f}" for x in kv[w]) + "\n")
    else:
        kv.save_word2vec_format(str(p), binary=(fmt == "word2vec-bin"))
    loaded = load_vectors(p)  # format guessed from extension / header
    np.testing.assert_allclose(loaded["bad"], kv["bad"])


def test_fasttext_bin_gives_vectors_for_unseen_words(tmp_path):
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    m = FastText(vector_size=4, min_count=1, seed=1, workers=1)
    sents = [["good", "film"], ["bad", "film"]] * 10
    m.build_vocab(sents)
    m.train(sents, total_examples=len(sents), epochs=1)
    p = tmp_path / "ft.bin"
    save_facebook_model(m, str(p))
    kv = load_vectors(p, "fasttext")
    mat, found = embedding_matrix({"[PAD]": 0, "[UNK]": 1, "films": 2}, kv, 4)
    assert found >= 1 and np.abs(mat[2]).sum() > 0 and (mat[0] == 0).all()


def test_embedding_matrix_uses_vectors_case_fallback_and_zero_pad():
    kv = _kv()
    vocab = {"[PAD]": 0, "[UNK]": 1, "good": 2, "Film": 3, "unseen": 4}
    mat, found = embedding_matrix(vocab, kv, 4, seed=0)
    assert found == 2  # "good" exactly, "Film" through its lower case
    np.testing.assert_array_equal(mat[2], kv["good"])
    np.testing.assert_array_equal(mat[3], kv["film"])
    assert (mat[0] == 0).all() and np.abs(mat[4]).max() <= 0.25


def test_dimension_mismatch_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="dimensions"):
        embedding_matrix({"[PAD]": 0}, _kv(4), 5)
    with pytest.raises(InputError, match="not found"):
        load_vectors(tmp_path / "none.txt")
