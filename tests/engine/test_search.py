"""Training-set search (Lopes et al. §4): index, case, phrases, caches, counts, activation similarity."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from interp_engine import search as S
from interp_engine.data import load_dataset
from interp_engine.errors import Cancelled, InputError
from tests.helpers import SHARED_DATA, save_tiny

ROWS = [
    ("1", "I loved Toy Story , a great film"),
    ("0", "the toy story was dull"),
    ("1", "Story of a Toy : great"),
    ("0", "a bad film , not great at all"),
    ("1", "Toy Story 2 is great too"),
]


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _write(path, rows=ROWS):
    path.write_text("label\ttext\n" + "".join(f"{l}\t{t}\n" for l, t in rows), encoding="utf-8")
    return path


@pytest.fixture()
def data(tmp_path, cache):
    return load_dataset(_write(tmp_path / "d.tsv"))


def test_phrase_vs_bag_of_words_and_case(data):
    ix = S.SearchIndex.open(data)
    assert ix.match_rows("Toy Story")[0].tolist() == [0, 4]  # adjacent, in order, exact case
    assert ix.match_rows("toy story")[0].tolist() == [1]
    assert ix.match_rows("Story Toy")[0].tolist() == []
    assert ix.match_rows("Toy Story", "all")[0].tolist() == [0, 2, 4]  # both words, anywhere
    assert ix.match_rows("great")[0].tolist() == [0, 2, 3, 4]
    assert ix.match_rows(",")[0].tolist() == [0, 3]  # punctuation is a word unit too
    with pytest.raises(InputError):
        ix.match_rows("   ")
    with pytest.raises(InputError):
        ix.match_rows("x", "regex")


def test_positions_and_counts_by_hand(data):
    ix = S.SearchIndex.open(data)
    r = ix.search("Toy Story")
    assert r.n_matches == 2 and r.rows.tolist() == [0, 4]
    assert r.token_span.tolist() == [[2, 4], [0, 2]]
    assert [t[s:e] for t, (s, e) in zip(r.texts, r.char_span)] == ["Toy Story", "Toy Story"]
    assert r.counts_gold.tolist() == [0, 2]
    assert r.gold.tolist() == [1, 1]
    assert r.hist_counts.shape == (0, 10) and np.isnan(r.p_class).all()
    r = ix.search("great", limit=2)
    assert r.n_matches == 4 and len(r.rows) == 2 and r.counts_gold.tolist() == [1, 3]
    # hand-made probabilities: predicted class and histogram split by gold label
    P = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.55, 0.45], [0.05, 0.95]], np.float32)
    r = ix.search("great", probabilities=P, bins=2)
    assert r.counts_predicted.tolist() == [1, 3]  # rows 0, 2, 3, 4 -> preds 1, 1, 0, 1
    assert r.predicted.tolist() == [1, 1, 0, 1]
    assert np.allclose(r.p_class, [0.9, 0.7, 0.45, 0.95])
    assert r.hist_counts.tolist() == [[1, 0], [0, 3]]  # gold 0: p=.45; gold 1: .9 .7 .95
    json.dumps(r.to_json())


def test_reuse_when_unchanged_and_rebuild_when_changed(tmp_path, cache):
    f = _write(tmp_path / "d.tsv")
    n0 = S.BUILD_COUNT
    a = S.SearchIndex.open(load_dataset(f))
    assert a.built and S.BUILD_COUNT == n0 + 1
    b = S.SearchIndex.open(load_dataset(f))
    assert not b.built and S.BUILD_COUNT == n0 + 1 and b.path == a.path
    _write(f, ROWS + [("0", "Toy Story bored me")])
    c = S.SearchIndex.open(load_dataset(f))
    assert c.built and S.BUILD_COUNT == n0 + 2 and c.path != a.path
    assert c.match_rows("Toy Story")[0].tolist() == [0, 4, 5]
    assert not a.path.exists()  # the stale index of the old content is removed
    assert len(list((cache / "search").glob("*.sqlite"))) == 1


def test_cancel_leaves_no_index(data, cache):
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        S.SearchIndex.open(data, cancel=ev)
    assert list((cache / "search").iterdir()) == []
    # cancel during the build (after the first chunk)
    ev2 = threading.Event()
    with pytest.raises(Cancelled):
        S.SearchIndex.open(data, chunk=2, progress=lambda d, t, m: ev2.set(), cancel=ev2)
    assert list((cache / "search").iterdir()) == []
    assert S.SearchIndex.open(data).built


@pytest.fixture()
def tiny_model(tmp_path):
    from interp_engine.models import load_classifier

    return load_classifier(save_tiny(tmp_path / "m"), device="cpu")


def test_prediction_cache_matches_predict_proba(data, tiny_model):
    ix = S.SearchIndex.open(data)
    p = ix.predictions(tiny_model, batch_size=2)
    ref = tiny_model.predict_proba(list(data.texts))
    assert np.allclose(p, ref, atol=1e-6)
    ix2 = S.SearchIndex.open(data)  # a fresh handle reads it from the database
    called = []
    tiny_model_predict = tiny_model.predict_proba
    tiny_model.predict_proba = lambda *a, **k: called.append(1) or tiny_model_predict(*a, **k)
    assert np.array_equal(ix2.predictions(tiny_model), p) and not called


def test_engine_search_with_model(data, tiny_model):
    from interp_engine.engine import Engine

    eng = Engine("cpu")
    eng.dataset = data
    eng.set_classifier(tiny_model)
    r = eng.search("great")
    P = tiny_model.predict_proba(list(data.texts))
    assert np.allclose(r.p_class, P[[0, 2, 3, 4], 1], atol=1e-6)
    assert r.hist_counts.shape == (2, 10) and r.hist_counts.sum() == 4
    assert r.counts_predicted.sum() == 4


@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
def test_similar_span_finds_itself_and_block_size_does_not_matter(tmp_path, data, arch):
    from interp_engine.models import load_classifier

    c = load_classifier(save_tiny(tmp_path / arch, arch), device="cpu")
    ix = S.SearchIndex.open(data)
    text = data.texts[0]  # "I loved Toy Story , a great film": span "Toy Story" = tokens 2:4
    assert c.encode([text]).tokens[0][2:4] == ["Toy", "Story"]
    ref = None
    for block in (1, 3, 7, 100000):
        r = ix.similar(c, text, (2, 4), k=5, block=block)
        if ref is None:
            ref = r
        assert r.rows.tolist() == ref.rows.tolist() and r.starts.tolist() == ref.starts.tolist()
        assert np.array_equal(r.distances, ref.distances)
    assert (ref.rows[0], ref.starts[0]) == (0, 2) and ref.ngrams[0] == "Toy Story"
    assert ref.distances[0] < 1e-3 and np.all(np.diff(ref.distances) >= 0)
    n_words = sum(len(S.words_with_offsets(t)) - 1 for t in data.texts)
    assert ref.n_indexed == n_words  # every bigram of every sentence
    # the exact answer, by brute force over the stored vectors
    V, L = ix.activations(c, None, 2)
    assert V.dtype == np.float16 and isinstance(V, np.memmap)
    cos = ix.similar(c, text, (2, 4), k=3, metric="cosine")
    assert (cos.rows[0], cos.starts[0]) == (0, 2)
    n0 = S.ACTIVATION_BUILD_COUNT
    ix.similar(c, text, (2, 4), k=1)
    assert S.ACTIVATION_BUILD_COUNT == n0  # reused
    with pytest.raises(InputError):
        ix.similar(c, text, (3, 2))
    with pytest.raises(InputError):
        ix.similar(c, text, (0, 2), layer="nope")


def test_activation_cancel_leaves_no_file(tmp_path, data, tiny_model, cache):
    ix = S.SearchIndex.open(data)
    ev = threading.Event()
    with pytest.raises(Cancelled):
        ix.activations(tiny_model, None, 2, batch_size=1, progress=lambda d, t, m: ev.set(), cancel=ev)
    assert not [p for p in (cache / "search").iterdir() if p.suffix == ".npy" or ".tmp" in p.name]


def test_cli_search(tmp_path, cache, capsys):
    from interp_engine.cli import main

    f = _write(tmp_path / "d.tsv")
    m = save_tiny(tmp_path / "m")
    assert main(["search", "--data", str(f), "--query", "Toy Story", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["n_matches"] == 2 and out["counts_gold"] == [0, 2] and out["matches"][0]["char_span"] == [8, 17]
    assert main(["search", "--data", str(f), "--query", "great", "--model", str(m), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["n_matches"] == 4 and sum(out["counts_predicted"]) == 4 and out["matches"][0]["p_class"] is not None
    assert main(["search", "--data", str(f), "--model", str(m), "--similar", "--text", ROWS[0][1], "--span", "2:4",
                 "--limit", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["neighbours"][0]["ngram"] == "Toy Story"
    assert main(["search", "--data", str(f), "--query", "  "]) == 2
    assert "error:" in capsys.readouterr().err


def test_real_data_ag_news(cache):
    f = SHARED_DATA / "ag_news" / "test.tsv"
    if not f.exists():
        pytest.skip(f"shared data not found: {f}")
    ds = load_dataset(f)
    ix = S.SearchIndex.open(ds)
    rows, _ = ix.match_rows("New York")
    ref = [i for i, t in enumerate(ds.texts) if any(
        a == "New" and b == "York" for a, b in zip(*(lambda w: (w, w[1:]))([x for x, _ in S.words_with_offsets(t)])))]
    assert rows.tolist() == ref and len(ref) > 50
    assert ix.match_rows("new york")[0].size < len(ref)
