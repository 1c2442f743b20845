"""Sentence pairs (Kim et al. 2020 ``004_137d387c767c1e08.txt`` §4.1 SNLI): pair encoding, segment ids,
receptive fields that stay inside their segment, marginalization of a pair against a literal
per-candidate loop, every method on a pair, bad input, training a pair model, the CLI contract."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForMaskedLM

from interp_engine.attribution import registry
from interp_engine.attribution.likelihood import MaskedLMLikelihood, candidate_mask
from interp_engine.attribution.marginalization import InputMarginalization, log2_odds
from interp_engine.cli import main
from interp_engine.engine import Engine
from interp_engine.errors import InputError
from interp_engine.inputs import TextInput
from interp_engine.models import load_classifier
from interp_engine.requests import AttributionRequest, DeletionCurvesRequest, HiddenSaliencyRequest
from tests.helpers import TINY_PAIRS, save_pairs_tsv, save_tiny, save_tiny_bert, save_tiny_pair

PREMISE, HYPOTHESIS = TINY_PAIRS[0][1], TINY_PAIRS[0][2]
PAIR = TextInput.pair(PREMISE, HYPOTHESIS)


@pytest.fixture(scope="module", params=["textcnn", "bilstm"])
def pair_clf(request, tmp_path_factory):
    d = save_tiny_pair(tmp_path_factory.mktemp(request.param) / "m", request.param, seed=2)
    return load_classifier(d, device="cpu")


def test_bert_pair_encoding_is_the_tokenizers_own(tmp_path):
    clf = load_classifier(save_tiny_bert(tmp_path / "bert"), device="cpu")
    p, h = "a good film with great acting", "boring and dull"
    enc = clf.encode([TextInput.pair(p, h)])
    ref = clf.tokenizer(p, h)
    assert enc.input_ids[0].tolist() == ref["input_ids"]
    assert enc.token_type_ids[0].tolist() == ref["token_type_ids"]
    # [CLS] a good film with great acting [SEP] boring and dull [SEP]
    assert enc.segments[0] == [-1] + [0] * 6 + [-1] + [1] * 3 + [-1]
    assert enc.tokens[0][enc.segments[0].index(1)] == "boring"
    # offsets point into the text of the token's own segment
    for tok, (s, e), g in zip(enc.tokens[0], enc.offsets[0], enc.segments[0]):
        if g >= 0:
            assert (p, h)[g][s:e] == tok
    # a batch of a pair and another pair pads both, segments per row
    enc2 = clf.encode([TextInput.pair(p, h), TextInput.pair("never boring", "always fun")])
    assert enc2.segments[1] == [-1, 0, 0, -1, 1, 1, -1]


def test_word_level_pair_encoding(pair_clf):
    enc = pair_clf.encode([PAIR])
    n_p = len(PREMISE.split())
    assert enc.segments[0] == [0] * n_p + [1] * len(HYPOTHESIS.split())
    assert enc.token_type_ids[0, : len(enc.tokens[0])].tolist() == enc.segments[0]
    assert enc.tokens[0][n_p:] == HYPOTHESIS.split()
    assert enc.segment_names == ("premise", "hypothesis")
    assert pair_clf.reads_pairs and pair_clf.segment_names == ("premise", "hypothesis")


def test_bad_input_gets_one_sentence(pair_clf, tmp_path):
    with pytest.raises(InputError, match="reads a pair of texts"):
        pair_clf.encode([PREMISE])
    with pytest.raises(InputError, match="the hypothesis is empty"):
        pair_clf.encode([TextInput.pair(PREMISE, "  \u200b ")])
    with pytest.raises(InputError, match="mixes single texts and pairs"):
        pair_clf.encode([PAIR, TextInput.pair(PREMISE, HYPOTHESIS).texts[0]])
    single = load_classifier(save_tiny(tmp_path / "single"), device="cpu")
    with pytest.raises(InputError, match="reads one text, but a pair"):
        single.encode([PAIR])
    # a forward of a pair model without its segments is a programming error, never a silent premise
    enc = pair_clf.encode([PAIR])
    with pytest.raises(ValueError, match="token_type_ids"):
        pair_clf.logits(enc.input_ids, enc.attention_mask)


def test_pair_logits_do_not_depend_on_the_batch(pair_clf):
    xs = [TextInput.pair(p, h) for _, p, h in TINY_PAIRS]
    enc = pair_clf.encode(xs)
    with torch.no_grad():
        batch = pair_clf.logits(enc.input_ids, enc.attention_mask, enc.token_type_ids)
        for b, x in enumerate(xs):
            e1 = pair_clf.encode([x])
            one = pair_clf.logits(e1.input_ids, e1.attention_mask, e1.types())
            torch.testing.assert_close(one[0], batch[b], atol=1e-5, rtol=0)


def _hidden(clf, ids, enc):
    with torch.no_grad():
        _, hs = clf.hidden_forward(clf.embed(ids), enc.attention_mask, enc.token_type_ids)
    return hs


def test_receptive_fields_stay_in_their_segment_by_perturbation(pair_clf):
    """Change one token; the locations whose activation changes are exactly (within float noise)
    inside the receptive fields that contain it, and never in the other text."""
    enc = pair_clf.encode([PAIR])
    n = len(enc.tokens[0])
    base = _hidden(pair_clf, enc.input_ids, enc)
    specs = pair_clf.hidden_layers()
    assert all(s.within_segment for s in specs)
    rng = np.random.default_rng(0)
    for j in (1, n - 2):  # a premise token and a hypothesis token
        ids = enc.input_ids.clone()
        ids[0, j] = int(rng.integers(3, len(pair_clf.tokenizer))) if int(ids[0, j]) != 5 else 6
        if int(ids[0, j]) == int(enc.input_ids[0, j]):
            ids[0, j] += 1
        pert = _hidden(pair_clf, ids, enc)
        for spec in specs:
            rf = spec.receptive_fields(n, enc.segments[0])
            a = base[spec.hidden_index][0, :n, spec.channels]
            b = pert[spec.hidden_index][0, :n, spec.channels]
            changed = (a - b).abs().amax(-1) > 1e-6
            inside = torch.tensor([(rf[i, 0] <= j <= rf[i, 1]) for i in range(n)])
            assert not bool((changed & ~inside).any()), f"{spec.name}: a location outside the field of token {j} changed"
            seg = np.asarray(enc.segments[0])
            assert not bool(changed[torch.from_numpy(seg != seg[j])].any()), f"{spec.name}: the other text changed"
            assert bool(changed.any()), f"{spec.name}: token {j} changed nothing"
            # fields are clipped to the location's own text
            for i in range(n):
                assert seg[rf[i, 0]] == seg[i] and seg[rf[i, 1]] == seg[i]


def _tiny_mlm(vocab_size: int) -> BertForMaskedLM:
    torch.manual_seed(3)
    cfg = BertConfig(vocab_size=vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=40)
    m = BertForMaskedLM(cfg).eval()
    with torch.no_grad():
        m.cls.predictions.decoder.weight.mul_(30.0)
        m.bert.embeddings.token_type_embeddings.weight.mul_(50.0)  # so that the segments matter
    return m


def _algorithm1_pair(clf, mlm, x, sigma):
    """Kim et al. Algorithm 1, literally, for a pair: per position, per candidate, the MLM reading
    both texts as its two segments."""
    enc = clf.encode([x])
    n = enc.lengths()[0]
    ids = enc.input_ids[0, :n].clone()
    tt = enc.token_type_ids[:, :n]
    one = torch.ones(1, n, dtype=torch.long)
    tok = clf.tokenizer
    allowed = candidate_mask(tok, len(tok))
    with torch.no_grad():
        p_x = torch.softmax(clf.logits(ids.view(1, -1), one, tt).double(), -1)[0]
        t = int(p_x.argmax())
        scores = []
        for i in range(n):
            s = ids.clone()
            s[i] = tok.mask_token_id
            logits = mlm(input_ids=s.view(1, -1), attention_mask=one, token_type_ids=tt).logits[0, i].double()
            lik = torch.softmax(logits, -1) * allowed
            lik = lik / lik.sum()
            m = z = 0.0
            for cand in range(len(tok)):
                p = float(lik[cand])
                if p > sigma:
                    s[i] = cand
                    m += p * float(torch.softmax(clf.logits(s.view(1, -1), one, tt).double(), -1)[0, t])
                    z += p
            scores.append(float(log2_odds(float(p_x[t])) - log2_odds(m / z)))
    return np.array(scores)


def test_marginalization_of_a_pair_equals_the_per_candidate_loop(pair_clf):
    mlm = _tiny_mlm(len(pair_clf.tokenizer))
    lik = MaskedLMLikelihood(pair_clf, mlm, pair_clf.tokenizer)
    ref = _algorithm1_pair(pair_clf, mlm, PAIR, 1e-3)
    out, enc = InputMarginalization(pair_clf, lik, sigma=1e-3, chunk_size=5).attribute(PAIR)
    np.testing.assert_allclose(out.scores, ref, atol=1e-4, rtol=0)
    # the MLM saw the segments: without them (all type 0) its candidates differ
    enc_types = enc.token_type_ids[0, : enc.lengths()[0]]
    masked = torch.zeros(1, len(enc_types), dtype=torch.bool)
    pos = torch.tensor([len(enc_types) - 2])
    with_types = lik.predict(enc.input_ids[:, : len(enc_types)], torch.ones(1, len(enc_types)), masked, pos,
                             token_type_ids=enc_types.view(1, -1)).probs
    without = lik.predict(enc.input_ids[:, : len(enc_types)], torch.ones(1, len(enc_types)), masked, pos).probs
    assert not torch.allclose(with_types, without)


def test_every_method_runs_on_a_pair(pair_clf):
    eng = Engine()
    eng.classifier = pair_clf
    from interp_engine.config import LimeConfig, MarginalizationConfig

    configs = {"marginalization": MarginalizationConfig(likelihood="uniform", top_n=3), "lime": LimeConfig(n_samples=200)}
    for m in registry.names():
        res = eng.run(AttributionRequest(input=PAIR, method=m, configs=configs))
        enc = pair_clf.encode([PAIR])
        assert list(res.segments) == enc.segments[0], m
        assert res.segment_names == ("premise", "hypothesis") and res.texts == (PREMISE, HYPOTHESIS)
        assert res.scores.shape == (len(enc.tokens[0]),) and np.isfinite(res.scores).all()
        assert np.abs(res.scores[np.asarray(res.segments) == 1]).sum() > 0, f"{m}: nothing on the hypothesis"
    # grad_input by hand: d logit_t / d embedding · embedding, with the segments
    res = eng.run(AttributionRequest(input=PAIR, method="grad_input"))
    enc = pair_clf.encode([PAIR])
    emb = pair_clf.embed(enc.input_ids).detach().requires_grad_(True)
    with pair_clf.grad_mode():
        logit = pair_clf.logits_from_embeds(emb, enc.attention_mask, enc.token_type_ids)[0, res.target]
        (g,) = torch.autograd.grad(logit, emb)
    np.testing.assert_allclose(res.scores, (g * emb).sum(-1)[0].detach().double().numpy(), atol=1e-6, rtol=1e-5)


def test_hidden_and_deletion_on_a_pair(pair_clf):
    eng = Engine()
    eng.classifier = pair_clf
    hs = eng.run(HiddenSaliencyRequest(input=PAIR))
    seg = np.asarray(hs.segments)
    for r in range(len(hs.layer_names)):
        assert (seg[hs.receptive_fields[r, :, 0]] == seg).all() and (seg[hs.receptive_fields[r, :, 1]] == seg).all()
    for strategy in ("zero", "unk", "remove"):
        dc = eng.run(DeletionCurvesRequest(input=PAIR, methods=("grad_input",),
                                           deletion=eng_deletion(strategy)))
        # step 1 by hand: the most attributed token replaced, the segments kept with the tokens
        a = eng.run(AttributionRequest(input=PAIR, method="grad_input"))
        first = int(np.argmax(a.scores))
        assert int(dc.order[0, 0]) == first
        enc = pair_clf.encode([PAIR])
        ids, tt = enc.input_ids.clone(), enc.token_type_ids.clone()
        with torch.no_grad():
            if strategy == "remove":
                keep = torch.ones(ids.shape[1], dtype=torch.bool)
                keep[first] = False
                ids, tt = ids[:, keep], tt[:, keep]
                p = torch.softmax(pair_clf.logits(ids, torch.ones_like(ids), tt).double(), -1)[0, dc.target]
            elif strategy == "unk":
                ids[0, first] = pair_clf.tokenizer.unk_token_id
                p = torch.softmax(pair_clf.logits(ids, enc.attention_mask, tt).double(), -1)[0, dc.target]
            else:
                e = pair_clf.embed(ids)
                e[0, first] = 0
                p = torch.softmax(pair_clf.logits_from_embeds(e, enc.attention_mask, tt).double(), -1)[0, dc.target]
        assert abs(float(p) - float(dc.p_deletion[0, 1])) < 1e-6, strategy


def eng_deletion(strategy):
    from interp_engine.config import DeletionConfig

    return DeletionConfig(strategy=strategy)


def test_train_a_pair_model_and_the_cli_contract(tmp_path, capsys):
    data = save_pairs_tsv(tmp_path / "pairs.tsv", TINY_PAIRS * 4)
    out = tmp_path / "model"
    assert main(["train", "--data", str(data), "--arch", "bilstm", "--out", str(out), "--epochs", "1",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["arch"] == "bilstm"
    clf = load_classifier(out, device="cpu")
    assert clf.segment_names == ("premise", "hypothesis")
    assert clf.class_names == ("entailment", "neutral", "contradiction")
    assert main(["attribute", "--model", str(out), "--text", PREMISE, "--pair", HYPOTHESIS, "--method", "zero",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    n_p = len(PREMISE.split())
    assert res["segments"] == [0] * n_p + [1] * len(HYPOTHESIS.split())
    assert res["segment_names"] == ["premise", "hypothesis"]
    assert len(res["scores"]) == len(res["tokens"]) == len(res["segments"])
    # one text for a pair model, a pair for a single-text model: exit 2 and one sentence
    assert main(["attribute", "--model", str(out), "--text", PREMISE]) == 2
    assert "reads a pair of texts" in capsys.readouterr().err
    single = save_tiny(tmp_path / "single")
    assert main(["attribute", "--model", str(single), "--text", "a good film", "--pair", "bad"]) == 2
    assert "reads one text, but a pair" in capsys.readouterr().err
    assert main(["hidden", "--model", str(out), "--text", PREMISE, "--pair", HYPOTHESIS, "--json"]) == 0
    hs = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert hs["segment_names"] == ["premise", "hypothesis"] and len(hs["segments"]) == len(hs["tokens"])


def test_train_mlm_on_pairs_reads_the_segments(tmp_path, capsys):
    data = save_pairs_tsv(tmp_path / "pairs.tsv", TINY_PAIRS * 5)
    clf_dir = save_tiny_pair(tmp_path / "clf", "textcnn")
    mlm_dir = tmp_path / "mlm"
    assert main(["train-mlm", "--data", str(data), "--model", str(clf_dir), "--out", str(mlm_dir), "--epochs", "1",
                 "--hidden-size", "16", "--layers", "1", "--heads", "2", "--json"]) == 0
    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(mlm_dir).type_vocab_size == 2
    eng = Engine()
    eng.load_model(clf_dir)
    eng.load_mlm(mlm_dir)
    lik = eng.likelihood_model("mlm")
    assert lik.reads_segments
    # the unigram prior counted the words of both texts ("music" is only in a hypothesis)
    prior = json.loads((mlm_dir / "unigram_prior.json").read_text())["counts"]
    assert prior[eng.classifier.tokenizer.convert_tokens_to_ids("music")] > 0
    capsys.readouterr()
    assert main(["attribute", "--model", str(clf_dir), "--mlm", str(mlm_dir), "--text", PREMISE, "--pair", HYPOTHESIS,
                 "--method", "marginalization", "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["segment_names"] == ["premise", "hypothesis"] and min(res["n_candidates"]) >= 1


def test_window_optimization_of_a_pair_textcnn_equals_the_full_forward(tmp_path):
    """The pair TextCNN's window optimisation (each location from its receptive-field window,
    clipped to its own text) gives the full model's objective trace and optimised inputs."""
    from interp_engine.config import OptimizationConfig
    from interp_engine.optimization import LocationRequest, optimize_locations

    clf = load_classifier(save_tiny_pair(tmp_path / "cnn", "textcnn", seed=4), device="cpu")
    assert clf.family.window_optimization
    enc = clf.encode([PAIR])
    n = len(enc.tokens[0])
    reqs = []
    for r, spec in enumerate(clf.hidden_layers()):
        rf = spec.receptive_fields(n, enc.segments[0])
        # the first and last token of each text: windows that the segment boundary clips
        n_p = enc.segments[0].count(0)
        for i in (0, n_p - 1, n_p, n - 1):
            reqs.append(LocationRequest(0, spec.hidden_index, spec.channels, i, (int(rf[i, 0]), int(rf[i, 1]))))
    cfg = OptimizationConfig(steps=30, lr=0.05)
    fast = optimize_locations(clf, enc.input_ids, enc.attention_mask, reqs, cfg, fast=True,
                              token_type_ids=enc.token_type_ids)
    full = optimize_locations(clf, enc.input_ids, enc.attention_mask, reqs, cfg, fast=False,
                              token_type_ids=enc.token_type_ids)
    np.testing.assert_allclose(fast.trace, full.trace, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fast.x0, full.x0, rtol=1e-4, atol=1e-5)
