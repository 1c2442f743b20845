"""The model-parameter randomization sanity check (Adebayo et al. 2018 §3.1, cascading
randomization; :mod:`interp_engine.sanity`): the layer groups of every family, the cascade
(exactly the first k groups re-initialised at step k, seeded, on a copy), the rank correlation
against hand-computed values, a model-independent method that must fail, gradient × input on a
trained model that must decorrelate, the ``evaluate --metric randomization`` contract and files,
and the figure with its sidecar (remade to the same bytes)."""
from __future__ import annotations

import csv
import json
import math
import threading

import numpy as np
import pytest
import torch

from interp_engine.attribution import registry
from interp_engine.attribution.base import AttributionMethod
from interp_engine.cli import main
from interp_engine.config import EvaluateConfig, MarginalizationConfig, SanityConfig
from interp_engine.engine import Engine
from interp_engine.errors import Cancelled, InputError
from interp_engine.inputs import TextInput
from interp_engine.models import Classifier, load_classifier
from interp_engine.requests import EvaluateRequest, SanityCheckRequest
from interp_engine.sanity import (
    cascade,
    randomization_groups,
    rank_correlation,
    run_cascade,
    sanity_check,
    step_names,
)
from tests.helpers import TINY_PAIRS, TINY_TEXTS, save_tiny, save_tiny_bert, save_tiny_pair, tiny_tokenizer

SENT = "The plot is thin but the cast is superb"
PAIR = TextInput.pair(TINY_PAIRS[1][1], TINY_PAIRS[1][2])


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    d = tmp_path_factory.mktemp("sanity")
    return {"textcnn": save_tiny(d / "cnn", "textcnn", seed=1), "bilstm": save_tiny(d / "lstm", "bilstm", seed=1),
            "bert": save_tiny_bert(d / "bert"), "pair_textcnn": save_tiny_pair(d / "pc", "textcnn"),
            "pair_bilstm": save_tiny_pair(d / "pl", "bilstm")}


@pytest.fixture(scope="module")
def models(folders):
    return {k: load_classifier(p, device="cpu") for k, p in folders.items()}


def _state(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# -- the layer groups ----------------------------------------------------------------------------
EXPECTED_GROUPS = {
    "textcnn": ["classifier", "conv3", "conv2", "conv1", "embeddings"],
    "bilstm": ["classifier", "attention", "lstm1", "embeddings"],
    "bert": ["classifier", "layer 2", "layer 1", "embeddings"],
    "pair_textcnn": ["classifier", "conv2", "conv1", "embeddings"],
    "pair_bilstm": ["classifier", "attention", "lstm1", "embeddings"],
}


@pytest.mark.parametrize("kind", list(EXPECTED_GROUPS))
def test_groups_are_top_down_and_hold_every_parameter_once(models, kind):
    m = models[kind].model
    groups = randomization_groups(m)
    assert [name for name, _ in groups] == EXPECTED_GROUPS[kind]
    ids = [id(p) for _, mods in groups for mod in mods for p in mod.parameters()]
    assert len(ids) == len(set(ids)), "a parameter is in two groups"
    assert set(ids) == {id(p) for p in m.parameters()}, "a parameter is in no group"
    # top down: the first group holds the output layer, the last the word embeddings
    head = {id(p) for mod in groups[0][1] for p in mod.parameters()}
    assert all(id(p) in head for p in m.classifier.parameters())
    emb = m.get_input_embeddings().weight
    assert any(emb is p for mod in groups[-1][1] for p in mod.parameters())
    if kind == "textcnn":  # conv3 is the top conv layer
        assert groups[1][1][0] is m.convs[2] and groups[3][1][0] is m.convs[0]
    if kind == "bert":
        assert groups[1][1][0] is m.bert.encoder.layer[1]
        assert any(mod is m.bert.pooler.dense for mod in groups[0][1]), "BERT's pooler belongs to the head"


def _bumped(model):
    """A copy of ``model`` whose every parameter is moved off its (possibly constant) initial value,
    like a trained model's (so a re-initialised tensor differs from it however it is drawn)."""
    import copy

    m = copy.deepcopy(model)
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=g))
        pad = m.get_input_embeddings().padding_idx
        if pad is not None:
            m.get_input_embeddings().weight[pad].zero_()
    return m


@pytest.mark.parametrize("kind", ["textcnn", "bilstm", "bert", "pair_bilstm"])
def test_step_k_reinitialises_exactly_the_first_k_groups_of_a_copy(models, kind):
    model = _bumped(models[kind].model)
    before = _state(model)
    groups = randomization_groups(model)
    names_of = [{n for mod in mods for n, _ in _named(model, mod)} for _, mods in groups]
    seen = 0
    for k, name, twin in cascade(model, seed=3):
        seen += 1
        assert twin is not model and name == groups[k - 1][0]
        sd = twin.state_dict()
        for g, names in enumerate(names_of):
            for n in names:
                if g < k:
                    assert not torch.equal(sd[n], before[n]), f"step {k}: {n} of group {groups[g][0]} not randomized"
                else:
                    assert torch.equal(sd[n], before[n]), f"step {k}: {n} of group {groups[g][0]} changed"
    assert seen == len(groups)
    after = model.state_dict()
    assert all(torch.equal(after[n], before[n]) for n in before), "the user's model was modified"


def _named(model, module):
    """The state-dict names of ``module``'s parameters inside ``model``."""
    ids = {id(p) for p in module.parameters()}
    return [(n, p) for n, p in model.named_parameters() if id(p) in ids]


@pytest.mark.parametrize("kind", ["textcnn", "bilstm"])
def test_pad_row_stays_zero_and_embeddings_follow_the_family_init(models, kind):
    model = models[kind].model
    *_, (_k, _n, twin) = cascade(model, seed=0)
    emb = twin.get_input_embeddings()
    assert emb.padding_idx is not None
    assert torch.count_nonzero(emb.weight[emb.padding_idx]) == 0
    w = torch.cat([emb.weight[: emb.padding_idx], emb.weight[emb.padding_idx + 1:]]).detach()
    assert float(w.abs().max()) <= 0.25 and float(w.std()) > 0.1  # Kim (2014)'s uniform(-0.25, 0.25)


def test_same_seed_same_cascade_other_seed_another(models):
    model = models["textcnn"].model
    a = [_state(t) for _k, _n, t in cascade(model, seed=5)]
    b = [_state(t) for _k, _n, t in cascade(model, seed=5)]
    c = [_state(t) for _k, _n, t in cascade(model, seed=6)]
    for sa, sb, sc in zip(a, b, c):
        assert all(torch.equal(sa[n], sb[n]) for n in sa)
        assert not all(torch.equal(sa[n], sc[n]) for n in sa)
    # the cascade is cumulative: group 0 keeps its random weights at every later step
    w = "classifier.weight"
    assert all(torch.equal(s[w], a[0][w]) for s in a)
    # and the maps: same seed, same cascade; another seed, other maps
    clf = models["textcnn"]
    r1 = sanity_check(clf, SENT, "grad_input", config=SanityConfig(seed=5))
    r2 = sanity_check(clf, SENT, "grad_input", config=SanityConfig(seed=5))
    r3 = sanity_check(clf, SENT, "grad_input", config=SanityConfig(seed=6))
    np.testing.assert_array_equal(r1.scores, r2.scores)
    np.testing.assert_array_equal(r1.spearman, r2.spearman)
    np.testing.assert_array_equal(r1.scores[0], r3.scores[0])  # the trained map does not depend on the seed
    assert not np.allclose(r1.scores[1:], r3.scores[1:])


def test_the_callers_random_state_is_untouched(models):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    for _ in cascade(models["bilstm"].model, seed=0):
        pass
    assert torch.equal(torch.get_rng_state(), state)


# -- rank correlation ----------------------------------------------------------------------------
def test_rank_correlation_against_hand_computed_values():
    # ρ = 1 − 6 Σd² / (n (n² − 1)): ranks (1..5) vs (2,1,4,3,5): Σd² = 4 → 1 − 24/120 = 0.8
    assert rank_correlation([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8, abs=1e-12)
    assert rank_correlation([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-1.0, abs=1e-12)
    assert rank_correlation([0.1, 0.5, 0.3], [10.0, 50.0, 30.0]) == 1.0  # identical rankings: exactly 1
    # the absolute-value variant: ranks of |a| = (3,1,2) vs b (3,1,2) → 1; signed: (1,2,3) vs (3,1,2) → −0.5
    assert rank_correlation([-3, 1, 2], [3, 1, 2]) == pytest.approx(-0.5, abs=1e-12)
    assert rank_correlation([-3, 1, 2], [3, 1, 2], absolute=True) == 1.0
    # the mask leaves out special tokens (here a huge [CLS] score that would decide the ranking)
    a, b = [99.0, 1, 2, 3, 0.0], [-99.0, 1, 2, 3, 0.0]
    assert rank_correlation(a, b) < 1.0
    assert rank_correlation(a, b, [False, True, True, True, False]) == 1.0
    # ties get average ranks (scipy): (1,2,2,3) vs (1,2,3,4): ranks (1,2.5,2.5,4)
    assert rank_correlation([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486832980505138, abs=1e-12)
    # undefined: a constant map, one token, a non-finite score
    assert math.isnan(rank_correlation([1, 1, 1], [1, 2, 3]))
    assert math.isnan(rank_correlation([1.0], [2.0]))
    assert math.isnan(rank_correlation([1, np.nan, 3], [1, 2, 3]))
    with pytest.raises(InputError, match="one per token"):
        rank_correlation([1, 2], [1, 2, 3])


# -- one sentence through the engine ---------------------------------------------------------------
@pytest.mark.parametrize("kind,inp", [("textcnn", SENT), ("bert", SENT), ("pair_textcnn", PAIR)])
def test_step_zero_is_the_trained_map_and_correlates_exactly_one(folders, kind, inp):
    e = Engine("cpu")
    e.load_model(folders[kind])
    before = _state(e.classifier.model)
    r = e.run(SanityCheckRequest(input=inp, method="grad_input"))
    a = e.attribute(inp, "grad_input")
    assert r.request is not None and r.method == "grad_input"
    assert r.steps == ("trained", *EXPECTED_GROUPS[kind]) == step_names(e.classifier.model)
    assert r.scores.shape == (len(r.steps), len(a.tokens)) and r.tokens == a.tokens
    np.testing.assert_allclose(r.scores[0], a.scores, rtol=1e-6, atol=1e-9)
    assert r.spearman[0] == 1.0 and r.spearman_abs[0] == 1.0
    assert r.target == a.target and r.p_target[0] == pytest.approx(a.prediction.probabilities[a.target], abs=1e-6)
    words = ~np.asarray(r.special, bool)
    for k in range(1, len(r.steps)):  # every later ρ is the rank correlation of that step's map
        assert r.spearman[k] == pytest.approx(rank_correlation(r.scores[0], r.scores[k], words), abs=1e-12)
    if kind == "pair_textcnn":
        assert r.segment_names == ("premise", "hypothesis") and r.segments is not None
    after = e.classifier.model.state_dict()
    assert all(torch.equal(after[n], before[n]) for n in before), "the open model was modified"
    np.testing.assert_array_equal(e.attribute(inp, "grad_input").scores, a.scores)


@pytest.mark.parametrize("kind,method", [("textcnn", "zero"), ("bilstm", "grad_input")])
def test_every_step_explains_the_class_of_step_zero_against_a_reference_loop(models, kind, method):
    """Reference: the registry's method on a Classifier of each cascade model, explaining the given
    class; with both classes asked for in turn, every randomized model predicts the other class in
    one of the two runs, so a cascade that let each model explain its own prediction would differ."""
    clf = models[kind]
    cls = registry.get(method)
    for t in (0, 1):
        r = sanity_check(clf, SENT, method, target=t, config=SanityConfig(seed=1))
        assert r.target == t
        for k, _name, twin in cascade(clf.model, seed=1):
            ref = cls(Classifier(twin, clf.tokenizer, device="cpu")).attribute(SENT, t)
            np.testing.assert_allclose(r.scores[k], ref.scores, rtol=1e-6, atol=1e-9)
            assert r.p_target[k] == pytest.approx(ref.prediction.probabilities[t], abs=1e-9)


def test_an_explicit_target_is_explained_at_every_step(models):
    clf = models["textcnn"]
    pred = sanity_check(clf, SENT, "zero")
    other = 1 - pred.target
    r = sanity_check(clf, SENT, "zero", target=other)
    assert r.target == other
    with pytest.raises(InputError, match="target class 5"):
        sanity_check(clf, SENT, "zero", target=5)
    with pytest.raises(InputError, match="empty"):
        sanity_check(clf, "   ", "zero")


def test_marginalization_runs_with_its_likelihood(folders):
    e = Engine("cpu")
    e.load_model(folders["textcnn"])
    r = e.run(SanityCheckRequest(text=SENT, method="marginalization",
                                 configs={"marginalization": MarginalizationConfig(likelihood="uniform")}))
    assert r.spearman[0] == 1.0 and np.isfinite(r.scores).all()
    assert r.units.startswith("bits")


def test_a_sentence_gets_the_same_cascade_alone_or_with_others(models):
    clf = models["bilstm"]
    both = run_cascade(clf, [TINY_TEXTS[0], SENT], ["grad", "loo"])
    alone = run_cascade(clf, [SENT], ["grad", "loo"])
    for m in ("grad", "loo"):
        np.testing.assert_allclose(both.scores[m][1], alone.scores[m][0], rtol=1e-6, atol=1e-9)


def test_cancel_stops_the_cascade(models):
    ev = threading.Event()
    calls = []

    def progress(done, total, msg):
        calls.append(done)
        if done == 2:
            ev.set()

    with pytest.raises(Cancelled):
        run_cascade(models["textcnn"], TINY_TEXTS, ["grad"], progress=progress, cancel=ev)
    assert calls[-1] == 2


# -- a model-independent method fails; gradient × input on a trained model passes ----------------
class TokenLength(AttributionMethod):
    """A fake method that never looks at the model: score = number of characters of the token."""

    name = "token_length_test"
    label = "Token length (test)"
    units = "characters"

    def attribute(self, inputs, target=None, *, batch_size=None, progress=None, cancel=None):
        text = self.text_of(inputs)
        enc = self.classifier.encode([text])
        tokens = enc.tokens[0]
        scores = np.array([0.0 if sp else float(len(t)) for t, sp in zip(tokens, enc.special[0])])
        t = 0 if target is None else int(target)
        return self.result(text, enc, scores, t)


@pytest.fixture
def token_length():
    registry.register(TokenLength)
    yield TokenLength.name
    registry.unregister(TokenLength.name)


def _dataset(tmp_path, texts):
    p = tmp_path / "data.tsv"
    p.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(texts)), encoding="utf-8")
    return p


def test_a_method_blind_to_the_model_keeps_rho_one_and_fails(folders, tmp_path, token_length):
    e = Engine("cpu")
    e.load_model(folders["textcnn"])
    e.load_dataset(_dataset(tmp_path, TINY_TEXTS))
    rep = e.run(EvaluateRequest(metric="randomization", evaluate=EvaluateConfig(methods=(token_length, "zero"))))
    d = rep["methods"][token_length]
    assert [s["mean"] for s in d["spearman"]] == [1.0] * 6 and all(s["n"] == 5 for s in d["spearman"])
    assert d["passes"] is False and d["verdict"].startswith("fails the sanity check")
    assert rep["spearman_full_random"][token_length] == {"mean": 1.0, "se": 0.0, "n": 5}
    # a method that reads the model is judged on its own values
    z = rep["methods"]["zero"]
    assert z["spearman"][0]["mean"] == 1.0 and z["passes"] == (z["mean"] <= SanityConfig.threshold)


def _trained_textcnn(seed: int = 0) -> Classifier:
    """A tiny TextCNN trained (full batch, Adam) to tell sentences with a positive word from
    sentences with a negative word."""
    from interp_engine.models import TextCNNConfig, TextCNNForSequenceClassification

    pos, neg = ["good", "great", "superb", "fun"], ["bad", "boring", "dull", "hated"]
    filler = ["a", "film", "the", "plot", "is", "cast", "acting", "with", "and", "it", "but", "thin", "never"]
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(120):
        words = list(rng.choice(filler, size=int(rng.integers(4, 9))))
        lab = i % 2
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(pos if lab else neg)))
        rows.append((lab, " ".join(words)))
    tok = tiny_tokenizer()
    torch.manual_seed(seed)
    model = TextCNNForSequenceClassification(TextCNNConfig(vocab_size=len(tok), embedding_dim=12,
                                                           conv_channels=[8, 6, 4], kernel_size=3, num_labels=2,
                                                           max_seq_length=32, dropout=0.0))
    clf = Classifier(model, tok, device="cpu")
    enc = clf.encode([t for _, t in rows])
    y = torch.tensor([lab for lab, _ in rows])
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(enc.input_ids, enc.attention_mask).logits, y)
        loss.backward()
        opt.step()
    model.eval()
    acc = float((clf.logits(enc.input_ids, enc.attention_mask).argmax(-1) == y).float().mean())
    assert acc > 0.95, f"the tiny model did not learn the task (accuracy {acc:.2f})"
    return clf, [t for _, t in rows[:12]]


def test_gradient_times_input_of_a_trained_model_decorrelates_at_full_randomization():
    clf, texts = _trained_textcnn()
    run = run_cascade(clf, texts, ["grad_input"], config=SanityConfig(seed=0))
    rho = np.array([run.correlations("grad_input", i)[0] for i in range(len(texts))])  # (N, K + 1)
    assert np.all(rho[:, 0] == 1.0)
    full = rho[:, -1]
    assert np.isfinite(full).all()
    assert float(np.mean(np.abs(full))) < 0.6, f"mean |ρ| at full randomization {np.mean(np.abs(full)):.2f}"
    assert float(np.mean(full)) < SanityConfig.threshold


# -- evaluate --metric randomization (CLI contract and files) -------------------------------------
def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_cli_json_contract_files_and_sidecar(folders, tmp_path, capsys):
    data = _dataset(tmp_path, TINY_TEXTS + ["good acting , great cast"])
    out = tmp_path / "run"
    rc = main(["evaluate", "--model", str(folders["textcnn"]), "--data", str(data), "--metric", "randomization",
               "--methods", "zero,grad_input", "--n", "4", "--seed", "2", "--out", str(out), "--json",
               "--device", "cpu"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    rep = json.loads(cap.out.strip().splitlines()[-1])
    steps = ["trained", "classifier", "conv3", "conv2", "conv1", "embeddings"]
    assert rep["metric"] == "randomization" and rep["steps"] == steps and rep["seed"] == 2
    assert rep["n_sentences"] == 4 and rep["threshold"] == SanityConfig.threshold
    rows = _rows(out / "per_sentence.csv")
    assert len(rows) == 4 * 2 * len(steps)
    for m in ("zero", "grad_input"):
        d = rep["methods"][m]
        assert isinstance(d["passes"], bool) and isinstance(d["verdict"], str)
        assert d["passes"] == (d["mean"] <= rep["threshold"])
        assert [s["step"] for s in d["spearman"]] == steps
        for k, s in enumerate(d["spearman"]):
            v = np.array([float(r["spearman"]) for r in rows if r["method"] == m and int(r["step"]) == k])
            v = v[np.isfinite(v)]
            assert s["n"] == len(v) and s["mean"] == pytest.approx(v.mean(), abs=1e-12)
            if len(v) > 1:
                assert s["se"] == pytest.approx(v.std(ddof=1) / math.sqrt(len(v)), abs=1e-12)
        assert d["spearman"][0]["mean"] == 1.0
        assert rep["spearman_full_random"][m] == {k: d["spearman"][-1][k] for k in ("mean", "se", "n")}
        assert rep["spearman_abs_full_random"][m] == {k: d["spearman_abs"][-1][k] for k in ("mean", "se", "n")}
    assert {r["label"] for r in rows} <= {"0", "1"} and rows[0]["layer"] == "trained"
    summary = _rows(out / "summary.csv")
    assert len(summary) == 2 * len(steps) and float(summary[0]["mean"]) == 1.0
    assert json.loads((out / "summary.json").read_text())["methods"]["zero"]["verdict"] == rep["methods"]["zero"]["verdict"]
    assert (out / "randomization.pdf").read_bytes()[:4] == b"%PDF"
    side = json.loads((out / "randomization.pdf.json").read_text())
    assert side["panel"] == "randomization" and side["method"] == ["zero", "grad_input"]
    assert side["request"]["type"] == "evaluate" and side["request"]["sanity"] == {"seed": 2, "threshold": 0.5}
    assert side["model"]["hash"] == Engine("cpu").load_model(folders["textcnn"]).content_hash
    assert side["data"]["zero"]["spearman"] == rep["methods"]["zero"]["spearman"]


def test_cli_human_table_and_errors(folders, tmp_path, capsys):
    data = _dataset(tmp_path, TINY_TEXTS)
    base = ["evaluate", "--model", str(folders["bilstm"]), "--data", str(data), "--metric", "randomization",
            "--n", "2", "--device", "cpu"]
    assert main(base + ["--methods", "loo"]) == 0
    out = capsys.readouterr().out
    assert "+classifier" in out and "+attention" in out and "+embeddings" in out
    assert "LOO: ρ at full randomization" in out and ("passes" in out or "fails" in out)
    assert main(base + ["--methods", "loo", "--sanity-threshold", "2"]) == 2
    assert "sanity threshold" in capsys.readouterr().err
    assert main(base + ["--methods", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown method") and "Traceback" not in err


def test_a_fully_unreadable_dataset_gives_undefined_verdicts(folders, tmp_path):
    e = Engine("cpu")
    e.load_model(folders["textcnn"])
    e.load_dataset(_dataset(tmp_path, ["superb", "boring"]))  # one word each: no ranking to compare
    rep = e.run(EvaluateRequest(metric="randomization", evaluate=EvaluateConfig(methods=("grad",))))
    d = rep["methods"]["grad"]
    assert d["n"] == 0 and d["passes"] is None and d["verdict"].startswith("undefined")


# -- figures ----------------------------------------------------------------------------------------
def test_cascade_figure_exports_with_a_sidecar_that_remakes_it(folders, tmp_path):
    from interp_engine import export
    from interp_engine.figures import panel_of, render

    e = Engine("cpu")
    info = e.load_model(folders["textcnn"])
    r = e.run(SanityCheckRequest(text=SENT, method="grad", sanity=SanityConfig(seed=4)))
    assert panel_of(r) == "sanity"
    fig = render(r)
    assert fig._interp_meta == {"kind": "sanity", "steps": list(r.steps)}
    title = fig.axes[0].texts[0].get_text()
    assert title.startswith("Grad · explaining") and f"all layers random: ρ {r.spearman[-1]:+.2f}" in title
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "trained" in labels and any(t.startswith("+ conv3 (ρ ") for t in labels)
    out = tmp_path / "cascade.pdf"
    prov = export.Provenance(model_path=str(folders["textcnn"]), model_hash=info.content_hash, seed=0)
    path, side = export.export_figure(r, out, provenance=prov)
    meta = json.loads(side.read_text())
    assert meta["panel"] == "sanity" and meta["method"] == "grad"
    assert meta["request"]["type"] == "sanity" and meta["request"]["sanity"]["seed"] == 4
    assert meta["request"]["target"] == r.target  # resolved: the remake explains the same class
    first = out.read_bytes()
    remade, _ = export.remake(side, tmp_path / "again.pdf")
    assert remade.read_bytes() == first


def test_randomization_figure_plots_the_report_means():
    from interp_engine.figures.sanity import randomization_figure

    steps = ["trained", "classifier", "embeddings"]
    rep = {"steps": steps, "threshold": 0.5, "n_sentences": 3, "methods": {
        "zero": {"spearman": [{"mean": 1.0, "se": 0.0, "n": 3}, {"mean": 0.4, "se": 0.1, "n": 3},
                              {"mean": 0.1, "se": 0.05, "n": 3}],
                 "spearman_abs": [{"mean": 1.0, "se": 0.0, "n": 3}, {"mean": 0.6, "se": 0.1, "n": 3},
                                  {"mean": float("nan"), "se": float("nan"), "n": 0}]}}}
    fig = randomization_figure(rep)
    assert fig._interp_meta["spearman"]["zero"] == [1.0, 0.4, 0.1]
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["trained", "+classifier", "+embeddings"]
    assert fig.axes[0].get_ylim() == (-1.05, 1.05)
