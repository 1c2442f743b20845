"""The operation seam: configs, requests (JSON round trip), Engine.run and its dispatch table,
the attribution registry, TextInput and model families."""
from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from interp_engine import config as cfgmod
from interp_engine import requests as rq
from interp_engine.attribution import registry
from interp_engine.attribution.gradient import Gradient
from interp_engine.engine import RUNNERS, Engine
from interp_engine.errors import Cancelled, InputError
from interp_engine.inputs import TextInput

from tests.helpers import save_tiny, save_tiny_bert

SENT = "a good film with great acting"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    eng = Engine("cpu")
    eng.load_model(save_tiny(tmp_path_factory.mktemp("m") / "tiny", seed=0))
    return eng


def _one_of_each():
    """One request of every type, with non-default values where a field has one."""
    m = cfgmod.MarginalizationConfig(likelihood="uniform", sigma=0.001)
    return [
        rq.AttributionRequest(text=SENT, method="marginalization", target=1, configs={"marginalization": m}),
        rq.CompareRequest(text=SENT, methods=("grad", "zero"), configs={"marginalization": m}),
        rq.CompareModelsRequest(text=SENT, method="marginalization", target=1, configs={"marginalization": m}),
        rq.CandidateTableRequest(text=SENT, position=2, marginalization=m),
        rq.SpanAttributionRequest(text=SENT, span=(1, 2), marginalization=m.replace(top_n=3)),
        rq.HiddenSaliencyRequest(text=SENT, target=0, top=2),
        rq.NeighbourScatterRequest(text=SENT, locations=((0, 1), (1, 2)), ranks=(0, 1),
                                   neighbours=cfgmod.NeighbourConfig(k=4, projection="pca"),
                                   optimization=cfgmod.OptimizationConfig(steps=5, lambda1=0.1)),
        rq.DeletionCurvesRequest(text=SENT, methods=("grad", "unk"), deletion=cfgmod.DeletionConfig(strategy="zero")),
        rq.ActivationMaximizationRequest(unit=("hidden", 0, 3), config=cfgmod.ActivationMaximizationConfig(steps=3)),
        rq.EvaluateRequest(metric="aopc", evaluate=cfgmod.EvaluateConfig(methods=("grad",), n=3), strategy="zero",
                           out="somewhere", sanity=cfgmod.SanityConfig(seed=3, threshold=0.25)),
        rq.SanityCheckRequest(text=SENT, method="marginalization", target=1, configs={"marginalization": m},
                              sanity=cfgmod.SanityConfig(seed=2, threshold=0.4)),
        rq.PredictDatasetRequest(n_texts=5, batch_size=2),
        rq.AttributeDatasetRequest(methods=("grad", "lime"), configs={"lime": cfgmod.LimeConfig(n_samples=30)}, n=4,
                                   out="store", batch_size=2, metrics=("aopc",), seed=3),
        rq.OpenStoreRequest(path="store"),
        rq.SearchRequest(query="good film", mode="all", limit=3),
        rq.SimilarityRequest(text=SENT, span=(0, 2), k=3, metric="cosine"),
        rq.LoadModelRequest(path="/some/model", allow_pickle=True),
        rq.LoadCompareModelRequest(path="/other/model", allow_pickle=True),
        rq.CloseCompareModelRequest(),
        rq.ComparePredictDatasetRequest(n_texts=5, batch_size=2),
        rq.LoadDatasetRequest(path="d.tsv", encoding="cp1252"),
        rq.LoadMLMRequest(path="/mlm"),
        rq.PriorRequest(path="train.tsv"),
        rq.SetDeviceRequest(device="cpu"),
        rq.DemoRequest(),
    ]


def test_every_request_type_round_trips_through_json():
    import json

    reqs = _one_of_each()
    assert {type(r) for r in reqs} == set(rq.REQUEST_TYPES.values())  # one of each, none forgotten
    for r in reqs:
        d = json.loads(json.dumps(r.to_json()))  # plain JSON
        assert d["type"] == r.kind
        back = rq.Request.from_json(d)
        assert type(back) is type(r) and back == r, r.kind
        assert back.request_id != r.request_id  # a new request, not the same one
    with pytest.raises(InputError, match="unknown request type"):
        rq.Request.from_json({"type": "nonsense"})
    with pytest.raises(InputError, match="unknown field"):
        rq.Request.from_json({"type": "hidden", "input": "x", "colour": 3})


def test_request_ids_increase_and_each_request_has_its_own_cancel():
    a, b = rq.HiddenSaliencyRequest(text="x"), rq.HiddenSaliencyRequest(text="x")
    assert b.request_id > a.request_id and a == b and a.cancel is not b.cancel


def test_request_defaults_come_from_the_configs():
    assert rq.HiddenSaliencyRequest(text="x").top == cfgmod.HiddenConfig.top
    assert rq.SearchRequest(query="x").limit == cfgmod.SearchConfig.limit
    assert rq.SimilarityRequest(text="x").k == cfgmod.SimilarityConfig.k
    assert rq.NeighbourScatterRequest(text="x").optimization == cfgmod.OptimizationConfig()
    assert rq.AttributionRequest(text="x", method="marginalization").marginalization == cfgmod.MarginalizationConfig()
    assert rq.AttributionRequest(text="x").method == cfgmod.AttributionConfig.method
    assert cfgmod.default(cfgmod.OptimizationConfig, "lambda1") == cfgmod.PAPER_LAMBDAS["mr"][0]
    with pytest.raises(AttributeError):
        cfgmod.default(cfgmod.OptimizationConfig, "nope")


def test_text_and_input_are_one_field():
    r = rq.AttributionRequest(input=TextInput.single(SENT))
    assert r.text == SENT and r == rq.AttributionRequest(text=SENT)
    assert r.to_json()["input"] == SENT and "text" not in r.to_json()
    with pytest.raises(InputError):
        rq.AttributionRequest()


def test_run_dispatches_every_engine_request_type():
    engine_types = set(rq.REQUEST_TYPES.values()) - {rq.DemoRequest}  # the app's worker runs the demo
    assert set(RUNNERS) == engine_types


@pytest.mark.parametrize("method", registry.names())
def test_run_equals_the_keyword_api_and_carries_its_request(engine, method):
    configs = {"marginalization": cfgmod.MarginalizationConfig(likelihood="uniform", sigma=0.0)}
    req = rq.AttributionRequest(text=SENT, method=method, configs=configs)
    res = engine.run(req)
    assert res.request is req and res.method == method and res.units == registry.units(method)
    kw = {"likelihood": "uniform", "sigma": 0.0} if method == "marginalization" else {}
    ref = engine.attribute(SENT, method, **kw)
    np.testing.assert_allclose(res.scores, ref.scores, rtol=1e-6, atol=1e-7)
    assert res.tokens == ref.tokens and res.target == ref.target


def test_compare_runs_each_method_and_every_row_carries_the_request(engine):
    req = rq.CompareRequest(text=SENT, methods=("grad", "zero", "grad_input"))
    seen = []
    out = engine.run(req, progress=lambda d, t, m: seen.append((d, t)))
    assert [r.method for r in out] == list(req.methods) and all(r.request is req for r in out)
    assert seen[-1][0] == seen[-1][1]
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        engine.run(rq.CompareRequest(text="another sentence entirely", methods=("grad",)), cancel=ev)


def test_run_hidden_neighbours_and_deletion_take_their_configs(engine):
    h = engine.run(rq.HiddenSaliencyRequest(text=SENT, top=2))
    assert all(len(t) == 2 for t in h.top_locations) and h.request.top == 2
    s = engine.run(rq.NeighbourScatterRequest(
        text=SENT, neighbours=cfgmod.NeighbourConfig(top=1, layer=-1, k=3, projection="pca"),
        optimization=cfgmod.OptimizationConfig(steps=3)))
    assert len(s.locations) == len(h.layer_names)  # top-1 of every row (layer -1)
    assert all(len(loc.words) == 3 for loc in s.locations) and s.projection == "pca"
    d = engine.run(rq.DeletionCurvesRequest(text=SENT, methods=("grad", "zero"),
                                            deletion=cfgmod.DeletionConfig(strategy="zero", x_max=0.5)))
    assert d.methods == ("grad", "zero") and d.strategy == "zero" and d.x_max == 0.5


def test_unknown_request_and_method_give_clear_errors(engine):
    with pytest.raises(InputError, match="cannot run"):
        engine.run(object())
    with pytest.raises(InputError, match="unknown attribution method 'nope'"):
        engine.run(rq.AttributionRequest(text=SENT, method="nope"))


def test_a_registered_method_runs_everywhere_the_registry_is_read(engine):
    class Toy(Gradient):
        """A toy method (the gradient under another name) for the plug-in test."""

        name = "toy_method"
        label = "Toy method"
        short_label = "Toy"

    registry.register(Toy)
    try:
        assert "toy_method" in registry.names() and registry.label("toy_method") == "Toy method"
        assert registry.units_by_method()["toy_method"] == Gradient.units
        res = engine.run(rq.AttributionRequest(text=SENT, method="toy_method"))
        assert res.method == "toy_method"
        np.testing.assert_allclose(res.scores, engine.attribute(SENT, "grad").scores)
    finally:
        registry.unregister("toy_method")
    assert "toy_method" not in registry.names()


def test_text_input_single_and_pair():
    one = TextInput.of("a film")
    assert not one.is_pair and one.text == "a film" and one.to_json() == "a film"
    pair = TextInput.pair("A man sleeps.", "Nobody sleeps.")
    assert pair.is_pair and pair.segments == ("premise", "hypothesis")
    assert TextInput.from_json(pair.to_json()) == pair
    with pytest.raises(InputError, match="pair"):
        pair.text
    with pytest.raises(InputError):
        TextInput(("a", "b", "c"))


def test_encode_takes_text_inputs_and_refuses_a_pair_clearly(engine, tmp_path):
    c = engine.classifier
    a, b = c.encode([SENT]), c.encode([TextInput.single(SENT)])
    assert b.tokens == a.tokens and bool((a.input_ids == b.input_ids).all())
    assert a.token_type_ids is None  # word-level families have no segments
    with pytest.raises(InputError, match="reads one text"):
        c.encode([TextInput.pair("a", "b")])
    from interp_engine.models import load_classifier

    bert = load_classifier(save_tiny_bert(tmp_path / "bert"), device="cpu")
    e = bert.encode([SENT])
    assert e.token_type_ids is not None and e.token_type_ids.shape == e.input_ids.shape
    assert int(e.token_type_ids.abs().sum()) == 0


def test_model_families(engine, tmp_path):
    from interp_engine.models import load_classifier
    from interp_engine.models.family import BiLSTMFamily, TextCNNFamily, TransformerFamily, family_named

    assert engine.classifier.family is TextCNNFamily and engine.model_info().kind == "textcnn"
    lstm = load_classifier(save_tiny(tmp_path / "l", "bilstm"), device="cpu")
    bert = load_classifier(save_tiny_bert(tmp_path / "b"), device="cpu")
    assert lstm.family is BiLSTMFamily and bert.family is TransformerFamily
    assert [s.name for s in engine.classifier.hidden_layers()] == ["conv1", "conv2", "conv3"]
    assert [s.receptive for s in lstm.hidden_layers()] == [("prefix",), ("suffix",)]
    assert [s.name for s in bert.hidden_layers()] == ["layer 1", "layer 2"]
    assert TextCNNFamily.incremental_marginalization and not BiLSTMFamily.incremental_marginalization
    assert not TransformerFamily.word_level and TransformerFamily.special_tokens
    assert family_named("bilstm") is BiLSTMFamily and family_named("anything else") is TransformerFamily


def test_config_json_round_trip_and_unknown_keys():
    for cls in (cfgmod.MarginalizationConfig, cfgmod.OptimizationConfig, cfgmod.DeletionConfig, cfgmod.EvaluateConfig,
                cfgmod.NeighbourConfig, cfgmod.SearchConfig):
        c = cls()
        assert cls.from_json(c.to_json()) == c
    assert cfgmod.OptimizationConfig.from_json({"betas": [0.5, 0.6]}).betas == (0.5, 0.6)
    with pytest.raises(InputError, match="unknown setting"):
        cfgmod.MarginalizationConfig.from_json({"sigmaa": 1})
    with pytest.raises(InputError):
        cfgmod.MarginalizationConfig(likelihood="nope").validate()
    assert all(dataclasses.is_dataclass(c) for c in (cfgmod.LimeConfig, cfgmod.IntegratedGradientsConfig))


def test_prior_counts_the_models_recorded_training_file_never_the_open_dataset(tmp_path):
    """Issue 15 bug 5 (Kim et al. §4.5): PriorRequest() counts the training file recorded in the
    model's folder (training.json), and refuses with a clear message when there is none."""
    import json

    eng = Engine("cpu")
    model = save_tiny(tmp_path / "m")
    eng.load_model(model)
    test = tmp_path / "test.tsv"
    test.write_text("label\ttext\n1\ta good film\n", encoding="utf-8")
    eng.run(rq.LoadDatasetRequest(path=str(test)))
    with pytest.raises(InputError, match="records no training file"):
        eng.run(rq.PriorRequest())
    train = tmp_path / "train.tsv"
    train.write_text("label\ttext\n1\ta good film with great acting\n0\ta bad film\n", encoding="utf-8")
    (model / "training.json").write_text(json.dumps({"train_data": str(train)}), encoding="utf-8")
    assert eng.training_data_path() == str(train)
    source = eng.run(rq.PriorRequest())
    assert source == "train.tsv (the model's training file, 2 sentences)"
    prior = eng.likelihood_model("prior").prior  # counted from train.tsv: "film" twice, "great" once
    tok = eng.classifier.tokenizer
    film, great = tok.convert_tokens_to_ids("film"), tok.convert_tokens_to_ids("great")
    assert float(prior[film]) == pytest.approx(2 * float(prior[great]))
