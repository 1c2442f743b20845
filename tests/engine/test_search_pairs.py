"""Training-set search (Lopes et al. §4) on pair datasets (premise, hypothesis): the index covers
both texts, a search can be restricted to one, each match says which text holds it (with the
character span into that text) and gives both texts; the index key follows the pair column;
activation n-grams never span the two texts nor include special tokens."""
from __future__ import annotations

import dataclasses
import inspect
import json

import numpy as np
import pytest

from interp_engine import results as R
from interp_engine import search as S
from interp_engine.data import Dataset, load_dataset
from interp_engine.engine import Engine
from interp_engine.errors import InputError
from interp_engine.models import load_classifier
from interp_engine.requests import SearchRequest
from tests.helpers import TINY_PAIRS, save_pairs_tsv, save_tiny_bert, save_tiny_pair

#: the fields a result needs to show a pair match (proposed for interp_engine/results.py)
PAIR_FIELDS = {"column": "", "segment_names": (), "match_segments": None, "pair_texts": ()}


def _with_pair_fields(cls):
    """``cls`` itself when it declares the pair fields, else a subclass that does (what
    results.py is asked to add), so that the search fills them either way."""
    if set(PAIR_FIELDS) <= {f.name for f in dataclasses.fields(cls)}:
        return cls
    ns = {"__annotations__": {"column": str, "segment_names": tuple, "match_segments": object, "pair_texts": tuple},
          "column": "", "segment_names": (), "match_segments": None, "pair_texts": ()}
    return dataclasses.dataclass(frozen=True)(type(f"Pair{cls.__name__}", (cls,), ns))


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture()
def pair_results(monkeypatch):
    monkeypatch.setattr(S, "TokenSearchResult", _with_pair_fields(R.TokenSearchResult))
    monkeypatch.setattr(S, "SimilarityResult", _with_pair_fields(R.SimilarityResult))


@pytest.fixture()
def data(tmp_path, cache):
    return load_dataset(save_pairs_tsv(tmp_path / "pairs.tsv"))


def _spans(res):
    return [t[s:e] for t, (s, e) in zip(res.texts, res.char_span.tolist())]


def test_either_column_and_one_column(data):
    assert data.is_pair
    ix = S.SearchIndex.open(data)
    assert ix.is_pair and ix.segment_names == ("premise", "hypothesis")
    # "guitar" is only in premises (rows 0, 1), "sleeping" only in the hypothesis of row 1
    r = ix.search("guitar")
    assert r.rows.tolist() == [0, 1] and r.texts == (TINY_PAIRS[0][1], TINY_PAIRS[1][1]) and _spans(r) == ["guitar"] * 2
    r = ix.search("sleeping")
    assert r.rows.tolist() == [1] and r.texts == (TINY_PAIRS[1][2],) and _spans(r) == ["sleeping"]
    assert r.char_span.tolist() == [[TINY_PAIRS[1][2].index("sleeping"), TINY_PAIRS[1][2].index("sleeping") + 8]]
    assert ix.search("sleeping", column="premise").n_matches == 0
    assert ix.search("guitar", column="hypothesis").n_matches == 0
    assert ix.search("guitar", column="premise").rows.tolist() == [0, 1]
    # "playing": premises of rows 0, 1 and the hypothesis of row 2
    r = ix.search("playing")
    assert r.rows.tolist() == [0, 1, 2] and _spans(r) == ["playing"] * 3
    assert r.texts == (TINY_PAIRS[0][1], TINY_PAIRS[1][1], TINY_PAIRS[2][2])
    assert ix.search("playing", column="premise").rows.tolist() == [0, 1]
    r = ix.search("playing", column="hypothesis")
    assert r.rows.tolist() == [2] and r.texts == (TINY_PAIRS[2][2],) and _spans(r) == ["playing"]
    # "man": in both texts of rows 0, 1; the restriction picks the text whose span is given
    r = ix.search("man", column="hypothesis")
    assert r.rows.tolist() == [0, 1] and r.texts == (TINY_PAIRS[0][2], TINY_PAIRS[1][2]) and _spans(r) == ["man"] * 2
    # a phrase never spans the two texts: row 0 is "... on stage ." + "A man plays music ."
    assert ix.search(". A man plays").n_matches == 0
    assert ix.search("A man plays").rows.tolist() == [0]
    # mode "all": every word somewhere in the row (guitar: premise, sleeping: hypothesis)
    assert ix.search("guitar sleeping", mode="all").rows.tolist() == [1]
    assert ix.search("guitar sleeping", mode="all", column="premise").n_matches == 0
    assert ix.search("man sleeping", mode="all", column="hypothesis").rows.tolist() == [1]
    # counts cover the gold labels of every match
    assert ix.search("playing").counts_gold.tolist() == [1, 1, 1]
    with pytest.raises(InputError, match="unknown column"):
        ix.search("man", column="sentence3")


def test_results_say_which_text_and_give_both(data, pair_results):
    ix = S.SearchIndex.open(data)
    r = ix.search("playing")
    assert r.column == "" and r.segment_names == ("premise", "hypothesis")
    assert r.match_segments.tolist() == [0, 0, 1]
    assert r.pair_texts == tuple((p, h) for _, p, h in TINY_PAIRS[:3])
    for i in range(len(r.rows)):
        assert r.texts[i] == r.pair_texts[i][r.match_segments[i]]
        assert data.input(int(r.rows[i])).texts == r.pair_texts[i]
    r = ix.search("man", column="hypothesis")
    assert r.column == "hypothesis" and r.match_segments.tolist() == [1, 1]
    # the generic names also work on a dataset with its own column names
    assert ix.search("man", column="premise").match_segments.tolist() == [0, 0]


def test_single_text_results_have_no_pair_fields(tmp_path, cache, pair_results):
    f = tmp_path / "single.tsv"
    f.write_text("label\ttext\n0\tA man plays music .\n1\tNobody is eating .\n", encoding="utf-8")
    ix = S.SearchIndex.open(load_dataset(f))
    r = ix.search("man")
    assert not ix.is_pair and r.rows.tolist() == [0] and r.pair_texts == () and r.match_segments is None
    assert ix.search("man", column="text").rows.tolist() == [0]
    with pytest.raises(InputError, match="one text column"):
        ix.search("man", column="hypothesis")


def test_sentence1_sentence2_columns(tmp_path, cache, pair_results):
    f = tmp_path / "s.tsv"
    f.write_text("gold_label\tsentence1\tsentence2\nneutral\tA dog runs .\tA cat sleeps .\n", encoding="utf-8")
    ds = load_dataset(f)
    ix = S.SearchIndex.open(ds)
    assert ix.segment_names == ("sentence1", "sentence2")
    r = ix.search("cat", column="sentence2")
    assert r.rows.tolist() == [0] and r.segment_names == ("sentence1", "sentence2") and r.texts == ("A cat sleeps .",)
    assert ix.search("cat", column="hypothesis").n_matches == 1 and ix.search("cat", column="sentence1").n_matches == 0


def test_index_key_follows_the_pair_column(tmp_path, cache):
    f = tmp_path / "two.tsv"
    f.write_text("label\tpremise\thypothesis\tother\n0\tA man sleeps .\tA man rests .\tA dog barks .\n",
                 encoding="utf-8")
    h = load_dataset(f, pair_column="hypothesis")
    o = load_dataset(f, text_column="premise", pair_column="other")
    single = load_dataset(f, text_column="premise")
    keys = {S.dataset_key(d) for d in (h, o, single)}
    assert len(keys) == 3
    assert S.SearchIndex.open(h).search("barks").n_matches == 0
    ix = S.SearchIndex.open(o)
    assert ix.built and ix.search("barks").rows.tolist() == [0] and ix.search("rests").n_matches == 0
    # in-memory pairs: the second texts are part of the key
    a = Dataset(texts=("A man sleeps .",), labels=None, class_names=(), pairs=("A man rests .",))
    b = Dataset(texts=("A man sleeps .",), labels=None, class_names=(), pairs=("A dog barks .",))
    c = Dataset(texts=("A man sleeps .",), labels=None, class_names=())
    assert len({S.dataset_key(d) for d in (a, b, c)}) == 3


def test_predictions_of_a_pair_model(data, tmp_path):
    c = load_classifier(save_tiny_pair(tmp_path / "m", "textcnn"), device="cpu")
    ix = S.SearchIndex.open(data)
    P = ix.predictions(c)
    assert P.shape == (len(TINY_PAIRS), 3)
    assert np.allclose(P, c.predict_proba(data.inputs()), atol=1e-6)
    r = ix.search("playing", probabilities=P, chosen_class=2)
    assert np.allclose(r.p_class, P[[0, 1, 2], 2], atol=1e-6)


@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
def test_similarity_ngrams_stay_within_one_text(data, tmp_path, arch, pair_results):
    c = load_classifier(save_tiny_pair(tmp_path / arch, arch), device="cpu")
    ix = S.SearchIndex.open(data)
    V, L = ix.activations(c, None, 2)
    encs = [c.encode([data.input(i)]) for i in range(len(data))]
    for row, st in np.asarray(L).tolist():
        seg, sp = encs[row].segments[0], encs[row].special[0]
        assert seg[st] == seg[st + 1] in (0, 1) and not sp[st] and not sp[st + 1]
    # every bigram of every text, none across the boundary
    n_bigrams = sum(len(S.words_with_offsets(t)) - 1 for _, p, h in TINY_PAIRS for t in (p, h))
    assert V.shape[0] == n_bigrams
    # a span of row 0's hypothesis finds itself at distance 0
    x = data.input(0)
    enc = c.encode([x])
    n_p = len(S.words_with_offsets(x.texts[0]))
    assert enc.tokens[0][n_p : n_p + 2] == ["A", "man"] and enc.segments[0][n_p] == 1
    res = ix.similar(c, x, (n_p, n_p + 2), k=4)
    assert (res.rows[0], res.starts[0]) == (0, n_p) and res.distances[0] < 1e-3
    assert res.ngrams[0] == "A man" and res.texts[0] == x.texts[1] and res.char_span[0].tolist() == [0, 5]
    assert res.match_segments[0] == 1 and res.pair_texts[0] == x.texts
    for b in range(len(res.rows)):
        s, e = res.char_span[b]
        assert res.texts[b][s:e] == res.ngrams[b]
        assert res.texts[b] == res.pair_texts[b][res.match_segments[b]]
        assert data.input(int(res.rows[b])).texts == res.pair_texts[b]
        e2 = c.encode([data.input(int(res.rows[b]))])
        assert e2.segments[0][res.starts[b]] == res.match_segments[b]
        assert " ".join(e2.tokens[0][res.starts[b] : res.starts[b] + 2]) == res.ngrams[b]
    # the same span of the premise finds the premise of row 0 (or 1, the same premise) first
    res = ix.similar(c, x, (0, 2), k=2)
    assert res.distances[0] < 1e-3 and res.rows[0] in (0, 1) and res.starts[0] == 0 and res.match_segments[0] == 0
    with pytest.raises(InputError, match="both texts"):
        ix.similar(c, x, (n_p - 1, n_p + 1))


def test_similarity_skips_special_tokens_of_a_bert_pair(tmp_path, cache):
    words = [("a good film with great acting", "the plot is thin"), ("boring and dull", "never boring , always fun")]
    f = tmp_path / "b.tsv"
    f.write_text("label\tpremise\thypothesis\n" + "".join(f"0\t{p}\t{h}\n" for p, h in words), encoding="utf-8")
    ds = load_dataset(f)
    c = load_classifier(save_tiny_bert(tmp_path / "bert", num_labels=3), device="cpu")
    ix = S.SearchIndex.open(ds)
    V, L = ix.activations(c, None, 2)
    for row, st in np.asarray(L).tolist():
        e = c.encode([ds.input(row)])
        assert not any(e.special[0][st : st + 2]) and e.segments[0][st] == e.segments[0][st + 1]
    assert V.shape[0] == sum(len(p.split()) - 1 + len(h.split()) - 1 for p, h in words)
    enc = c.encode([ds.input(1)])
    j = enc.tokens[0].index("never")
    res = ix.similar(c, ds.input(1), (j, j + 2), k=1)
    assert res.rows.tolist() == [1] and res.ngrams == ("never boring",) and res.texts == (words[1][1],)


def test_cli_search_on_pairs(tmp_path, cache, capsys):
    from interp_engine.cli import main

    f = save_pairs_tsv(tmp_path / "pairs.tsv")
    assert main(["search", "--data", str(f), "--query", "sleeping", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["n_matches"] == 1 and out["matches"][0]["text"] == TINY_PAIRS[1][2]
    s, e = out["matches"][0]["char_span"]
    assert TINY_PAIRS[1][2][s:e] == "sleeping"


@pytest.mark.skipif("column" not in inspect.signature(Engine.search).parameters,
                    reason="Engine.search has no column= yet (engine.py: pass column=r.column in _run_search)")
def test_engine_run_search_request_with_a_column(tmp_path, cache):
    eng = Engine("cpu")
    eng.load_dataset(save_pairs_tsv(tmp_path / "pairs.tsv"))
    assert eng.run(SearchRequest(query="playing")).rows.tolist() == [0, 1, 2]
    assert eng.run(SearchRequest(query="playing", column="hypothesis")).rows.tolist() == [2]
    assert eng.run(SearchRequest(query="playing", column="premise")).rows.tolist() == [0, 1]


def test_search_request_column_round_trips():
    r = SearchRequest(query="man", column="hypothesis")
    d = r.to_json()
    assert d["column"] == "hypothesis" and SearchRequest.from_json(d).column == "hypothesis"
    d.pop("column")  # a request saved before pairs: either text
    assert SearchRequest.from_json(d).column == ""
