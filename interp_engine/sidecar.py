"""What a figure's JSON sidecar records to remake the figure, and remaking it (no Qt).

The sidecar's ``"request"`` is the operation's request (:mod:`interp_engine.requests`) as
``request.to_json()``; remaking is ``engine.run(Request.from_json(...))`` (:func:`recompute`, with
the seed set first as when the figure was made):

- :func:`request_for`: the request of a result: the one it carries (``result.request``, set by
  :meth:`~interp_engine.engine.Engine.run`), or, for a result built by hand or by the keyword
  API, one derived from the result's own fields. Fields the request left open and the result
  resolved (the target class, the scatter's locations) are recorded as resolved, so that a
  remake explains the same class at the same locations.
- :func:`legacy_request`: the request equivalent to the ``{"panel": ...}`` dict sidecars of
  ``SIDECAR_VERSION`` 1 recorded before requests existed (they remake to the same bytes).
- :func:`sidecar_request`: the request of a sidecar, in either format.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from .config import DeletionConfig, HiddenConfig, MarginalizationConfig, NeighbourConfig, OptimizationConfig, SearchConfig
from .errors import InputError
from .requests import (
    ActivationMaximizationRequest,
    AttributionRequest,
    CompareModelsRequest,
    CompareRequest,
    DeletionCurvesRequest,
    EvaluateRequest,
    HiddenSaliencyRequest,
    NeighbourScatterRequest,
    Request,
    SanityCheckRequest,
    SearchRequest,
)
from .results import (
    DeletionCurves,
    HiddenSaliency,
    ModelComparison,
    NeighbourScatter,
    TokenAttribution,
    TokenSearchResult,
    input_of,
)

#: the request type of each figure panel
PANEL_REQUESTS = {"heatmap": (AttributionRequest, CompareRequest, CompareModelsRequest), "grid": (HiddenSaliencyRequest,),
                  "search": (SearchRequest,), "deletion": (DeletionCurvesRequest,),
                  "scatter": (NeighbourScatterRequest,), "sanity": (SanityCheckRequest,),
                  "activation": (ActivationMaximizationRequest,), "evaluation": (EvaluateRequest,)}
#: request fields that are configs whose settings the sidecar's ``parameters`` lists flat
_FLAT_CONFIGS = ("deletion", "neighbours", "optimization")


def _rows(result) -> list:
    return list(result) if isinstance(result, (list, tuple)) else [result]


def marginalization_config(likelihood=None, sigma=None, top_n=None) -> MarginalizationConfig:
    """The marginalization settings a sidecar's ``likelihood``/``sigma``/``top_n`` (None: not
    recorded) stand for: a fixed top-n replaces σ, missing values are the defaults."""
    return MarginalizationConfig(
        likelihood=likelihood or MarginalizationConfig.likelihood,
        sigma=MarginalizationConfig.sigma if sigma is None or top_n is not None else float(sigma),
        top_n=None if top_n is None else int(top_n))


# -- the request of a result -----------------------------------------------------------------
def request_for(result, provenance=None) -> Request:
    """The request that computes ``result`` again (see the module docstring).

    Args:
        result: a result with a figure (a TokenAttribution or a sequence of them, HiddenSaliency,
            TokenSearchResult, DeletionCurves, NeighbourScatter).
        provenance: an :class:`~interp_engine.export.Provenance`; its ``likelihood``/``sigma``/
            ``top_n`` are the marginalization settings of deletion curves that carry no request.

    Raises:
        ValueError: a result without a figure.
    """
    from .figures import panel_of

    panel = panel_of(result)
    if isinstance(result, ModelComparison):
        return _models_request(result)
    carried = _carried(result, panel)
    if carried is not None:
        return _resolved(carried, result)
    return _DERIVE[panel](result, provenance)


def _own_attribution_request(r: TokenAttribution) -> AttributionRequest | None:
    req = r.request
    if isinstance(req, AttributionRequest) and req.method == r.method:
        return req
    if isinstance(req, CompareRequest) and r.method in req.methods:
        return req.attribution_request(r.method)
    return None


def _carried(result, panel: str) -> Request | None:
    """The request a result carries, when it computes exactly this result."""
    if panel != "heatmap":
        req = getattr(result, "request", None)
        return req if isinstance(req, PANEL_REQUESTS[panel]) else None
    rows = _rows(result)
    methods = tuple(r.method for r in rows)
    first = rows[0].request
    if len(rows) > 1 and isinstance(first, CompareRequest) and first.methods == methods and all(
            r.request == first for r in rows):
        return first
    own = [_own_attribution_request(r) for r in rows]
    if any(q is None for q in own):
        return None
    if len(rows) == 1:
        return own[0]
    if any(q.input != own[0].input or q.target != own[0].target for q in own):
        return None
    configs = {m: q.configs[m] for m, q in zip(methods, own) if m in (q.configs or {})}
    return CompareRequest(input=own[0].input, methods=methods, target=own[0].target, configs=configs)


def _resolved(request: Request, result) -> Request:
    """``request`` with what it left open filled in from ``result``: the target class, and the
    scatter's locations and their mark ranks."""
    r0 = _rows(result)[0]
    changes: dict[str, Any] = {}
    if getattr(request, "target", 0) is None and getattr(r0, "target", None) is not None:
        changes["target"] = int(r0.target)
    if isinstance(request, NeighbourScatterRequest) and request.locations is None:
        changes["locations"] = tuple((int(loc.layer), int(loc.position)) for loc in r0.locations)
        changes["ranks"] = tuple(int(loc.rank) for loc in r0.locations)
    return dataclasses.replace(request, **changes) if changes else request


def _heatmap_request(result, provenance=None) -> Request:
    rows = _rows(result)
    r0 = rows[0]
    methods = tuple(r.method for r in rows)
    configs = {}
    if "marginalization" in methods:
        p = dict(next(r.params for r in rows if r.method == "marginalization") or {})
        configs["marginalization"] = marginalization_config(p.get("likelihood"), p.get("sigma"), p.get("top_n"))
    kw = dict(input=input_of(r0), target=int(r0.target), configs=configs)  # a pair: both texts
    if len(rows) == 1:
        return AttributionRequest(method=methods[0], **kw)
    return CompareRequest(methods=methods, **kw)


def _models_request(res: ModelComparison) -> CompareModelsRequest:
    """The request of a model comparison: the one it carries, kept as it is (its target None
    means "each model its own predicted class", which a resolved index would change for model
    B), else one derived from its rows."""
    if isinstance(res.request, CompareModelsRequest):
        return res.request
    rows = [r for r in res.rows if r is not None]
    r0 = rows[0]
    own = all(r.target == r.prediction.predicted for r in rows)
    configs = {}
    if res.method == "marginalization":
        p = dict(r0.params or {})
        configs["marginalization"] = marginalization_config(p.get("likelihood"), p.get("sigma"), p.get("top_n"))
    return CompareModelsRequest(input=input_of(r0), method=res.method, target=None if own else int(r0.target),
                                configs=configs)


def _grid_request(hs: HiddenSaliency, provenance=None) -> Request:
    top = max((len(t) for t in hs.top_locations), default=HiddenConfig.top)
    return HiddenSaliencyRequest(input=input_of(hs), target=int(hs.target), top=int(top))


def _search_request(res: TokenSearchResult, provenance=None) -> Request:
    n = len(res.rows)
    # every match listed: any limit from n on lists the same rows; fewer: the search stopped at n
    limit = n if n < res.n_matches else max(n, SearchConfig.limit)
    bins = len(res.hist_edges) - 1 if len(res.hist_edges) > 1 else SearchConfig.bins
    return SearchRequest(query=res.query, mode=res.mode, chosen_class=int(res.chosen_class), limit=int(limit),
                         bins=int(bins))


def _deletion_request(res: DeletionCurves, provenance=None) -> Request:
    params = dict(getattr(res, "params", {}) or {})
    methods = tuple(res.methods)
    configs = {}
    if "marginalization" in methods:
        configs["marginalization"] = marginalization_config(getattr(provenance, "likelihood", None),
                                                            getattr(provenance, "sigma", None),
                                                            getattr(provenance, "top_n", None))
    deletion = DeletionConfig(strategy=res.strategy, x_max=float(res.x_max), seed=int(res.seed or 0),
                              insertion=res.p_insertion is not None,
                              exclude_original=bool(params.get("exclude_original", DeletionConfig.exclude_original)))
    return DeletionCurvesRequest(input=input_of(res), methods=methods, target=int(res.target), deletion=deletion,
                                 configs=configs)


def _scatter_request(res: NeighbourScatter, provenance=None) -> Request:
    params = dict(getattr(res, "params", {}) or {})
    opt = {f.name for f in dataclasses.fields(OptimizationConfig)}
    optimization = OptimizationConfig(**{k: (tuple(v) if k == "betas" else v) for k, v in params.items() if k in opt})
    neighbours = NeighbourConfig(projection=str(res.projection), **{k: params[k] for k in ("k", "perplexity")
                                                                      if k in params})
    return NeighbourScatterRequest(
        input=input_of(res), target=int(res.target), neighbours=neighbours, optimization=optimization,
        locations=tuple((int(loc.layer), int(loc.position)) for loc in res.locations),
        ranks=tuple(int(loc.rank) for loc in res.locations))


def _sanity_request(res, provenance=None) -> Request:
    """The :class:`SanityCheckRequest` of a :class:`~interp_engine.results.SanityCascade` built by
    hand: its input, method, target, seed and threshold (marginalization: its recorded settings)."""
    from .config import SanityConfig

    configs = {}
    if res.method == "marginalization":
        p = dict(res.params or {})
        configs["marginalization"] = marginalization_config(p.get("likelihood"), p.get("sigma"), p.get("top_n"))
    return SanityCheckRequest(input=input_of(res), method=res.method, target=int(res.target), configs=configs,
                              sanity=SanityConfig(seed=int(res.seed), threshold=float(res.threshold)))


def _activation_request(res, provenance=None) -> Request:
    """An :class:`~interp_engine.results.ActivationMaximization` names its unit only in words
    (``"conv1 channel 7"``): without the request it carries, the unit cannot be recovered."""
    raise ValueError(f"this activation-maximization result of {res.unit} carries no request, so its figure "
                     "cannot record how to remake it; compute it with Engine.run(ActivationMaximizationRequest(...))")


def _evaluation_request(res, provenance=None) -> Request:
    """The :class:`EvaluateRequest` of an :class:`~interp_engine.results.EvaluationReport` built
    by hand: its metric, methods and number of sentences (the other settings: the defaults)."""
    from .config import EvaluateConfig

    methods = tuple(m for m in res.methods if m != "matching_rate") or EvaluateConfig.methods
    return EvaluateRequest(metric=res.metric, evaluate=EvaluateConfig(methods=methods, n=int(res.n_sentences) or None))


_DERIVE = {"heatmap": _heatmap_request, "grid": _grid_request, "search": _search_request,
           "deletion": _deletion_request, "scatter": _scatter_request, "sanity": _sanity_request,
           "activation": _activation_request, "evaluation": _evaluation_request}


def parameters_of(request: Request, result=None) -> dict:
    """The sidecar's ``parameters`` of a panel other than the heatmap: the request's settings,
    flat (the deletion / neighbour / optimization configs' fields at the top level), plus the
    marginalization settings of deletion curves and the scatter's word vectors."""
    d = request.to_json()
    d.pop("type", None)
    d.pop("input", None)
    out: dict[str, Any] = {}
    for k, v in d.items():
        if k in _FLAT_CONFIGS and isinstance(v, dict):
            out.update(v)
        else:
            out[k] = v
    if isinstance(request, DeletionCurvesRequest):
        m = request.marginalization if "marginalization" in request.methods else None
        out.update(likelihood=m.likelihood if m else None, sigma=m.sigma if m else None, top_n=m.top_n if m else None)
    params = dict(getattr(result, "params", None) or {}) if result is not None else {}
    if isinstance(request, NeighbourScatterRequest) and "vectors" in params:
        out["vectors"] = params["vectors"]
    return out


# -- sidecars of SIDECAR_VERSION 1 before requests ---------------------------------------------
def legacy_request(d: Mapping[str, Any]) -> Request:
    """The request equivalent to a sidecar's ``{"panel": ..., ...}`` request dict of the
    earlier format (``text``, ``methods``, ``target``, ``likelihood``/``sigma``/``top_n``,
    ``strategy``, ``x_max``, ``seed``, ``locations``, ``ranks``, ``lambda1``, ...): computing it
    gives the same result as that format's remake did.

    Raises:
        InputError: an unknown panel, no method, or a scatter of loaded word vectors (only the
            model's own embeddings are reloaded from a sidecar).
    """
    d = dict(d)
    panel = d.get("panel")
    if "input" in d and "text" not in d:  # a pair written as {"texts": [...], "segments": [...]}
        from .inputs import TextInput

        d["text"] = TextInput.from_json(d["input"])
    if panel in ("heatmap", "deletion"):
        methods = tuple(d.get("methods") or ())
        if not methods:
            raise InputError(f"the sidecar's {panel} request names no attribution method")
        configs = {}
        if "marginalization" in methods:
            configs["marginalization"] = marginalization_config(d.get("likelihood"), d.get("sigma"), d.get("top_n"))
        if panel == "heatmap":
            kw = dict(text=d["text"], target=d.get("target"), configs=configs)
            if len(methods) == 1:
                return AttributionRequest(method=methods[0], **kw)
            return CompareRequest(methods=methods, **kw)
        deletion = DeletionConfig(
            strategy=d.get("strategy", DeletionConfig.strategy), x_max=float(d.get("x_max", DeletionConfig.x_max)),
            seed=int(d.get("seed", DeletionConfig.seed)), insertion=bool(d.get("insertion", DeletionConfig.insertion)),
            exclude_original=bool(d.get("exclude_original", DeletionConfig.exclude_original)))
        return DeletionCurvesRequest(text=d["text"], methods=methods, target=d.get("target"), deletion=deletion,
                                     configs=configs)
    if panel == "grid":
        return HiddenSaliencyRequest(text=d["text"], target=d.get("target"), top=int(d.get("top", HiddenConfig.top)))
    if panel == "search":
        return SearchRequest(query=d["query"], mode=d.get("mode", SearchConfig.mode),
                             limit=d.get("limit", SearchConfig.limit),
                             chosen_class=int(d.get("chosen_class", SearchConfig.chosen_class)),
                             bins=int(d.get("bins", SearchConfig.bins)))
    if panel == "scatter":
        check_vectors(d.get("vectors"))
        optimization = OptimizationConfig(**{k: d[k] for k in ("lambda1", "lambda2", "steps", "lr", "seed") if k in d})
        neighbours = NeighbourConfig(projection=d.get("projection", NeighbourConfig.projection),
                                     **{k: d[k] for k in ("k", "perplexity") if k in d})
        locations = d.get("locations")
        return NeighbourScatterRequest(
            text=d["text"], target=d.get("target"), neighbours=neighbours, optimization=optimization,
            locations=None if locations is None else tuple(tuple(int(a) for a in x) for x in locations),
            ranks=tuple(int(a) for a in d["ranks"]) if d.get("ranks") else None)
    raise InputError(f"cannot recompute a {panel!r} figure in this build")


def check_vectors(vectors) -> None:
    """Refuse to remake a scatter whose neighbours came from loaded word vectors."""
    if vectors not in (None, "model"):
        raise InputError(f"the scatter used the word vectors {vectors!r}: remake it in the app after loading them "
                         "(only the model's own embeddings are reloaded from a sidecar)")


def sidecar_request(meta: Mapping[str, Any]) -> Request:
    """The request of a sidecar dict: ``meta["request"]`` read with :meth:`Request.from_json`, or
    converted by :func:`legacy_request` when it is a ``{"panel": ...}`` dict of the earlier format.

    Raises:
        InputError: a malformed request, or a scatter of loaded word vectors.
    """
    req = meta.get("request")
    if not isinstance(req, Mapping):
        raise InputError("the sidecar's request is not a JSON object")
    if "type" not in req and "panel" in req:
        return legacy_request(req)
    request = Request.from_json(req)
    if isinstance(request, NeighbourScatterRequest):
        check_vectors(dict(meta.get("parameters") or {}).get("vectors"))
    return request


# -- recomputing -------------------------------------------------------------------------------
def _seed(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


#: a sidecar's ``extra.prior_data`` when the prior was counted from the model's recorded training file
MODEL_TRAINING_FILE = "the model's training file"


def uses_prior(request: Request) -> bool:
    """True when ``request`` marginalizes with the unigram prior (counted on the open dataset
    when a sidecar is remade)."""
    if isinstance(request, (AttributionRequest, CompareModelsRequest)):
        methods = (request.method,)
    elif isinstance(request, (CompareRequest, DeletionCurvesRequest)):
        methods = tuple(request.methods)
    else:
        return False
    return "marginalization" in methods and request.marginalization.likelihood == "prior"


def recompute(request: Request, engine, *, seed: int = 0, progress=None, cancel=None):
    """``engine.run(request)`` with every random generator seeded with ``seed`` first; the
    methods of a heatmap run one by one, each after seeding (as when the figure was made), and a
    :class:`CompareRequest`'s results carry it.

    Raises:
        InputError, ModelLoadError, DatasetError, Cancelled: as :meth:`Engine.run`.
    """
    _seed(seed)
    cancel = request.cancel if cancel is None else cancel
    if isinstance(request, (AttributionRequest, CompareRequest)):
        single = isinstance(request, AttributionRequest)
        out = []
        for sub in ([request] if single else [request.attribution_request(m) for m in request.methods]):
            _seed(seed)
            out.append(engine.run(sub, progress=progress, cancel=cancel))
        return out[0] if single else tuple(dataclasses.replace(r, request=request) for r in out)
    if isinstance(request, EvaluateRequest):  # the report dict, as the evaluation figure draws it
        from .results import EvaluationReport

        return EvaluationReport.from_report(engine.run(request, progress=progress, cancel=cancel), request=request)
    return engine.run(request, progress=progress, cancel=cancel)


__all__ = ["PANEL_REQUESTS", "check_vectors", "legacy_request", "marginalization_config", "parameters_of",
           "recompute", "request_for", "sidecar_request", "uses_prior", "MODEL_TRAINING_FILE"]
