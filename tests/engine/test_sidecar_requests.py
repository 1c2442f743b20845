"""Figure sidecars record the operation's request (``request.to_json()``) and remaking is
``engine.run(Request.from_json(...))``; results without a request (built by hand, keyword API)
get one derived from their fields; sidecars of the earlier ``{"panel": ...}`` format still remake
to the same bytes (interp_engine.sidecar)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from interp_engine import export, sidecar
from interp_engine.config import DeletionConfig, MarginalizationConfig, NeighbourConfig, OptimizationConfig, SearchConfig
from interp_engine.engine import Engine
from interp_engine.errors import InputError
from interp_engine.requests import (
    AttributionRequest,
    CompareRequest,
    DeletionCurvesRequest,
    HiddenSaliencyRequest,
    NeighbourScatterRequest,
    Request,
    SearchRequest,
)
from tests.app.factories import attribution, saliency
from tests.helpers import TINY_TEXTS, save_tiny

TEXT = "a good film with great acting"
UNIFORM = MarginalizationConfig(likelihood="uniform", top_n=5)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("sidecar") / "cnn")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    p = tmp_path_factory.mktemp("sidecar_data") / "data.tsv"
    p.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS * 3)), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def eng(model):
    e = Engine("cpu")
    e.load_model(model)
    return e


def _export(res, path, model, **prov):
    return export.export_figure(res, path, provenance=export.Provenance(model_path=str(model), **prov))


# -- new sidecars: the request's JSON ----------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: AttributionRequest(text=TEXT, method="marginalization", target=1, configs={"marginalization": UNIFORM}),
    lambda: CompareRequest(text=TEXT, methods=("marginalization", "zero", "lime"), target=0,
                           configs={"marginalization": UNIFORM}),
    lambda: HiddenSaliencyRequest(text=TEXT, target=1, top=2),
    lambda: DeletionCurvesRequest(text=TEXT, methods=("grad", "unk"), target=1,
                                  deletion=DeletionConfig(strategy="zero", x_max=0.5, insertion=True)),
    lambda: NeighbourScatterRequest(text=TEXT, locations=((0, 1), (1, 2)), ranks=(2, 0), target=1,
                                    neighbours=NeighbourConfig(k=4, projection="pca"),
                                    optimization=OptimizationConfig(steps=15, seed=2)),
], ids=["attribution", "compare", "grid", "deletion", "scatter"])
def test_a_sidecar_holds_the_request_json_and_remakes_the_same_bytes(make, eng, model, tmp_path):
    req = make()
    sidecar._seed(0)
    res = eng.run(req)
    out, side = _export(res, tmp_path / "fig.svg", model)
    meta = json.loads(side.read_text())
    assert meta["request"] == json.loads(json.dumps(req.to_json()))
    assert Request.from_json(meta["request"]) == req
    assert meta["panel"] == export.panel_of(res)
    again, side2 = export.remake(side, tmp_path / "again.svg")
    assert again.read_bytes() == out.read_bytes()
    assert json.loads(side2.read_text())["request"] == meta["request"]  # the remade result carries it again


def test_what_a_request_left_open_is_recorded_as_resolved(eng, model, tmp_path):
    req = CompareRequest(text=TEXT, methods=("grad", "unk"))  # target: the predicted class
    res = eng.run(req)
    got = export.request_for(res)
    assert got == CompareRequest(text=TEXT, methods=("grad", "unk"), target=res[0].target)
    _, side = _export(res, tmp_path / "h.svg", model)
    meta = json.loads(side.read_text())
    assert meta["request"]["target"] == meta["target"] == res[0].target
    sc = eng.run(NeighbourScatterRequest(text=TEXT, neighbours=NeighbourConfig(top=2, k=3, projection="pca"),
                                         optimization=OptimizationConfig(steps=10)))
    got = export.request_for(sc)
    assert got.locations == tuple((loc.layer, loc.position) for loc in sc.locations)
    assert got.ranks == tuple(loc.rank for loc in sc.locations) and got.target == sc.target
    out, side = _export(sc, tmp_path / "sc.svg", model)
    again, _ = export.remake(side, tmp_path / "sc_again.svg")
    assert again.read_bytes() == out.read_bytes()


def test_one_row_of_a_comparison_records_its_own_method(eng):
    res = eng.run(CompareRequest(text=TEXT, methods=("grad", "marginalization"), target=1,
                                 configs={"marginalization": UNIFORM}))
    assert all(isinstance(r.request, CompareRequest) for r in res)
    assert export.request_for(res[1]) == AttributionRequest(text=TEXT, method="marginalization", target=1,
                                                            configs={"marginalization": UNIFORM})
    # rows of separate runs on one input become one comparison
    a = eng.run(AttributionRequest(text=TEXT, method="grad", target=1))
    b = eng.run(AttributionRequest(text=TEXT, method="marginalization", target=1, configs={"marginalization": UNIFORM}))
    assert export.request_for((a, b)) == CompareRequest(text=TEXT, methods=("grad", "marginalization"), target=1,
                                                        configs={"marginalization": UNIFORM})


# -- results without a request -------------------------------------------------------------------
def test_results_without_a_request_get_one_from_their_fields(eng, data):
    marg = eng.attribute(TEXT, "marginalization", 1, likelihood="uniform", top_n=5)
    zero = eng.attribute(TEXT, "zero", 1)
    assert marg.request is None
    assert export.request_for([marg, zero]) == CompareRequest(
        text=TEXT, methods=("marginalization", "zero"), target=1,
        configs={"marginalization": MarginalizationConfig(likelihood="uniform", top_n=5)})
    assert export.request_for(zero) == AttributionRequest(text=TEXT, method="zero", target=1)
    assert export.request_for(saliency(top=2)) == HiddenSaliencyRequest(text="a good bad film .", target=1, top=2)
    dc = eng.deletion_curves(TEXT, ["grad", "marginalization"], strategy="zero", x_max=0.4, target=1,
                             likelihood="uniform", sigma=1e-3)
    prov = export.Provenance(likelihood="uniform", sigma=1e-3)
    assert export.request_for(dc, prov) == DeletionCurvesRequest(
        text=TEXT, methods=("grad", "marginalization"), target=1, deletion=DeletionConfig(strategy="zero", x_max=0.4),
        configs={"marginalization": MarginalizationConfig(likelihood="uniform", sigma=1e-3)})
    sc = eng.neighbour_scatter(TEXT, [(0, 1)], steps=10, k=3, projection="pca", seed=4, target=1)
    got = export.request_for(sc)
    assert got.locations == ((0, 1),) and got.ranks == (sc.locations[0].rank,) and got.target == 1
    assert got.neighbours.k == 3 and got.neighbours.projection == "pca" and got.optimization.steps == 10
    assert got.optimization.seed == 4
    e2 = Engine("cpu")
    e2.set_classifier(eng.classifier)
    e2.load_dataset(data)
    s = e2.search("good", limit=3)
    assert s.n_matches > 3 and export.request_for(s) == SearchRequest(query="good", limit=3, bins=SearchConfig.bins)
    s = e2.search("good", limit=None)
    assert export.request_for(s).limit >= s.n_matches


def test_render_by_type_and_clear_errors(eng):
    from interp_engine.figures import panel_of, render

    for bad in (object(), "text", [], [object()], {"scores": [1]}):
        with pytest.raises(ValueError, match="no figure for"):
            render(bad)
        with pytest.raises(ValueError, match="no figure for"):
            export.request_for(bad)
    assert panel_of((attribution(), attribution(method="unk"))) == "heatmap"


# -- sidecars of the earlier format ----------------------------------------------------------------
def test_legacy_request_dicts_become_the_equivalent_requests():
    heat = {"panel": "heatmap", "text": TEXT, "methods": ["marginalization", "zero"], "target": 1,
            "likelihood": "uniform", "sigma": 0.001, "top_n": None}
    assert sidecar.legacy_request(heat) == CompareRequest(
        text=TEXT, methods=("marginalization", "zero"), target=1,
        configs={"marginalization": MarginalizationConfig(likelihood="uniform", sigma=0.001)})
    one = {"panel": "heatmap", "text": TEXT, "methods": ["grad"], "target": 0, "likelihood": None, "sigma": None,
           "top_n": None}
    assert sidecar.legacy_request(one) == AttributionRequest(text=TEXT, method="grad", target=0)
    top = dict(heat, methods=["marginalization"], sigma=0.5, top_n=7)  # a top-n replaces σ
    assert sidecar.legacy_request(top).configs["marginalization"] == MarginalizationConfig(likelihood="uniform", top_n=7)
    assert sidecar.legacy_request({"panel": "grid", "text": TEXT, "target": 1, "top": 2}) == HiddenSaliencyRequest(
        text=TEXT, target=1, top=2)
    assert sidecar.legacy_request({"panel": "search", "query": "good", "mode": "all", "chosen_class": 0, "limit": 200,
                                   "bins": 5}) == SearchRequest(query="good", mode="all", chosen_class=0, limit=200, bins=5)
    dele = {"panel": "deletion", "text": TEXT, "methods": ["grad", "marginalization"], "strategy": "zero", "x_max": 0.5,
            "seed": 2, "target": 1, "insertion": True, "exclude_original": False, "likelihood": "uniform", "sigma": None,
            "top_n": 4}
    assert sidecar.legacy_request(dele) == DeletionCurvesRequest(
        text=TEXT, methods=("grad", "marginalization"), target=1,
        deletion=DeletionConfig(strategy="zero", x_max=0.5, seed=2, insertion=True),
        configs={"marginalization": MarginalizationConfig(likelihood="uniform", top_n=4)})
    sc = {"panel": "scatter", "text": TEXT, "target": 1, "locations": [[0, 1], [1, 3]], "ranks": [0, 2],
          "projection": "pca", "lambda1": 0.1, "lambda2": 0.2, "steps": 20, "lr": 0.01, "seed": 3, "k": 5,
          "perplexity": 4.0, "vectors": "model"}
    assert sidecar.legacy_request(sc) == NeighbourScatterRequest(
        text=TEXT, target=1, locations=((0, 1), (1, 3)), ranks=(0, 2),
        neighbours=NeighbourConfig(k=5, projection="pca", perplexity=4.0),
        optimization=OptimizationConfig(lambda1=0.1, lambda2=0.2, steps=20, lr=0.01, seed=3))
    with pytest.raises(InputError, match="word vectors"):
        sidecar.legacy_request(dict(sc, vectors="glove.txt"))
    with pytest.raises(InputError, match="cannot recompute"):
        sidecar.legacy_request({"panel": "mystery"})
    # sidecar_request reads either format
    assert sidecar.sidecar_request({"request": heat}) == sidecar.legacy_request(heat)
    req = HiddenSaliencyRequest(text=TEXT, target=1, top=2)
    assert sidecar.sidecar_request({"request": req.to_json()}) == req


def _legacy_sidecar(res, path, model, request: dict, seed: int = 0, parameters=None) -> None:
    """Rewrite the sidecar of ``path`` as the earlier code wrote it: a ``{"panel": ...}`` request
    and the parameters (the request's fields for panels other than the heatmap)."""
    side = export.sidecar_path(path)
    meta = json.loads(side.read_text())
    meta["request"] = request
    if parameters is not None:
        meta["parameters"] = parameters
    meta["seed"] = seed
    side.write_text(json.dumps(meta, indent=2))


def test_legacy_sidecars_remake_to_the_same_bytes(eng, model, tmp_path):
    seed = 3
    sidecar._seed(seed)
    heat = eng.run(CompareRequest(text=TEXT, methods=("marginalization", "zero"), target=1,
                                  configs={"marginalization": MarginalizationConfig(likelihood="uniform", sigma=1e-3)}))
    grid = eng.run(HiddenSaliencyRequest(text=TEXT, top=2))
    dele = eng.run(DeletionCurvesRequest(text=TEXT, methods=("grad", "unk", "marginalization"), target=None,
                                         deletion=DeletionConfig(strategy="zero", x_max=0.5),
                                         configs={"marginalization": MarginalizationConfig(likelihood="uniform",
                                                                                           top_n=4)}))
    old = {
        "heat": (heat, {"panel": "heatmap", "text": TEXT, "methods": ["marginalization", "zero"], "target": 1,
                        "likelihood": "uniform", "sigma": 0.001, "top_n": None}),
        "grid": (grid, {"panel": "grid", "text": TEXT, "target": int(grid.target), "top": 2}),
        "del": (dele, {"panel": "deletion", "text": TEXT, "methods": ["grad", "unk", "marginalization"],
                       "strategy": "zero", "x_max": 0.5, "seed": 0, "target": int(dele.target), "insertion": False,
                       "exclude_original": False, "likelihood": "uniform", "sigma": None, "top_n": 4}),
    }
    for name, (res, legacy) in old.items():
        fmt = "png" if name == "grid" else "svg"
        out, _ = _export(res, tmp_path / f"{name}.{fmt}", model, seed=seed)
        params = None if name == "heat" else {k: v for k, v in legacy.items() if k not in ("panel", "text")}
        _legacy_sidecar(res, out, model, legacy, seed=seed, parameters=params)
        again, side2 = export.remake(export.sidecar_path(out), tmp_path / f"{name}_again.{fmt}")
        assert again.read_bytes() == out.read_bytes(), name
        new = json.loads(side2.read_text())["request"]
        assert new["type"] == {"heat": "compare", "grid": "hidden", "del": "deletion_curves"}[name]
        assert Request.from_json(new) == sidecar.legacy_request(legacy)


def test_a_scatter_of_loaded_word_vectors_is_refused(eng, model, tmp_path):
    sc = eng.run(NeighbourScatterRequest(text=TEXT, locations=((0, 1),), neighbours=NeighbourConfig(k=3, projection="pca"),
                                         optimization=OptimizationConfig(steps=5)))
    out, side = _export(sc, tmp_path / "sc.svg", model)
    meta = json.loads(side.read_text())
    meta["parameters"]["vectors"] = "glove.6B.50d.txt"
    side.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="word vectors 'glove.6B.50d.txt'"):
        export.remake(side, tmp_path / "again.svg")
    assert not (tmp_path / "again.svg").exists()
    assert np.isfinite(meta["target"])
