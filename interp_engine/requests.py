"""Every operation of the engine as one frozen request dataclass (no Qt).

The GUI, the CLI, figure sidecars and tests build these and call
:meth:`interp_engine.engine.Engine.run`; the result carries the request that produced it
(``result.request``). A request's field defaults come only from the config dataclasses of
:mod:`interp_engine.config`.

Every request has a unique, increasing ``request_id`` (:func:`itertools.count`) and its own
``cancel`` event (a :class:`threading.Event` the engine polls between batches); neither is part
of :meth:`Request.to_json`. ``kind`` names the request type; in the app one request per kind is
current and a newer one supersedes an older one (napari's slicer pattern).

``to_json()`` gives ``{"type": <kind>, ...fields}`` with configs as dicts and the input as a
string (one text) or ``{"texts": [...], "segments": [...]}``; :func:`request_from_json` (or
``Request.from_json``) reads it back to an equal request.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Mapping

from .config import (
    ActivationMaximizationConfig,
    AttributionConfig,
    DatasetConfig,
    DeletionConfig,
    EvaluateConfig,
    HiddenConfig,
    MarginalizationConfig,
    MatchingRateConfig,
    NeighbourConfig,
    OptimizationConfig,
    PredictConfig,
    SanityConfig,
    SearchConfig,
    SimilarityConfig,
    StoreConfig,
)
from .errors import InputError
from .inputs import TextInput

_ids = itertools.count(1)


def _next_id() -> int:
    return next(_ids)


#: request kind -> class (filled by ``__init_subclass__``)
REQUEST_TYPES: dict[str, type["Request"]] = {}


@dataclass(frozen=True, kw_only=True)
class Request:
    """Base class of all engine requests.

    Attributes:
        request_id: unique, increasing id (assigned automatically, not serialised).
        cancel: set to ask the engine to stop (not serialised).
        kind: class-level name of the request type (the ``type`` of its JSON).
        long_running: class-level; True when the app shows a progress bar and Cancel.
    """

    request_id: int = field(default_factory=_next_id, init=False, compare=False)
    cancel: threading.Event = field(default_factory=threading.Event, init=False, repr=False, compare=False)

    kind: ClassVar[str] = "request"
    long_running: ClassVar[bool] = False

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "kind" in cls.__dict__:
            REQUEST_TYPES[cls.kind] = cls

    def describe(self) -> str:
        """A short status-bar message ("Loading model …")."""
        return self.kind

    # -- JSON ---------------------------------------------------------------------------------
    def to_json(self) -> dict:
        out: dict[str, Any] = {"type": self.kind}
        for f in fields(self):
            if f.name in ("request_id", "cancel") or not f.init:
                continue
            out[f.name] = _to_json(getattr(self, f.name))
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Request":
        """The request a :meth:`to_json` dict describes (of ``cls`` or, from the base class, of
        the dict's ``type``).

        Raises:
            InputError: unknown type or field, or a malformed value.
        """
        return request_from_json(d) if cls is Request else _from_json(cls, d)


def _to_json(v):
    if hasattr(v, "to_json"):
        return v.to_json()
    if isinstance(v, tuple):
        return [_to_json(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _to_json(x) for k, x in v.items()}
    return v


def _from_json(cls: type[Request], d: Mapping[str, Any]) -> Request:
    d = dict(d)
    kind = d.pop("type", cls.kind)
    if kind != cls.kind:
        raise InputError(f"a {kind!r} request is not a {cls.kind!r} request")
    known = {f.name: f for f in fields(cls) if f.init}
    bad = sorted(set(d) - set(known))
    if bad:
        raise InputError(f"{cls.__name__}: unknown field(s) {', '.join(bad)}")
    kwargs = {}
    for name, v in d.items():
        kwargs[name] = _field_from_json(cls, name, v)
    return cls(**kwargs)


def _field_from_json(cls, name: str, v):
    conv = getattr(cls, "_json_fields", {}).get(name)
    if conv is not None:
        return conv(v)
    if isinstance(v, list):
        return tuple(tuple(x) if isinstance(x, list) else x for x in v)
    return v


def request_from_json(d: Mapping[str, Any]) -> Request:
    """The request of a ``to_json`` dict, by its ``type``.

    Raises:
        InputError: no or an unknown ``type``.
    """
    kind = d.get("type") if isinstance(d, Mapping) else None
    cls = REQUEST_TYPES.get(str(kind))
    if cls is None:
        raise InputError(f"unknown request type {kind!r}; known: {', '.join(sorted(REQUEST_TYPES))}")
    return _from_json(cls, d)


def _configs_from_json(d) -> dict:
    from .attribution import registry

    out = {}
    for name, cfg in dict(d or {}).items():
        cls = registry.config_class(name)
        out[name] = cls.from_json(cfg) if cls is not None else cfg
    return out


class _WithInput:
    """Mixin of requests about one input: ``input`` (a :class:`TextInput`) or ``text`` (a single
    text) may be given; both are set afterwards (``text`` = the single text, or the pair shown
    as ``first ‖ second``)."""

    def _sync_input(self):
        inp, text = getattr(self, "input"), getattr(self, "text")
        if inp is None:
            if text is None:
                raise InputError(f"{type(self).__name__} needs an input (input= or text=)")
            inp = TextInput.of(text)
        else:
            inp = TextInput.of(inp)
        object.__setattr__(self, "input", inp)
        object.__setattr__(self, "text", inp.texts[0] if not inp.is_pair else str(inp))


class _InputRequest(Request, _WithInput):
    """Base of requests about one input. ``to_json`` writes ``input`` only (not ``text``)."""

    _json_fields: ClassVar[dict] = {"input": TextInput.from_json}

    def __post_init__(self):
        self._sync_input()

    def to_json(self) -> dict:
        d = super().to_json()
        d.pop("text", None)
        return d

    @classmethod
    def from_json(cls, d):
        d = dict(d)
        if "text" in d and "input" not in d:  # hand-written JSON may say text=
            d["input"] = d.pop("text")
        return _from_json(cls, d)


# -- attribution -----------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class AttributionRequest(_InputRequest):
    """Per-token attribution of one input by one method (``Engine.run`` →
    :class:`~interp_engine.results.TokenAttribution`).

    Attributes:
        input / text: the input (give one). method: a key of the attribution registry.
        target: class index, or None for the predicted class.
        configs: ``{method: config}`` parameters of methods (missing: the method's defaults, e.g.
            :class:`~interp_engine.config.MarginalizationConfig`).
    """

    input: TextInput | None = None
    text: str | None = None
    method: str = AttributionConfig.method
    target: int | None = None
    configs: Mapping[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "attribution"
    _json_fields: ClassVar[dict] = {"input": TextInput.from_json, "configs": _configs_from_json}

    @property
    def long_running(self) -> bool:  # type: ignore[override]
        from .attribution import registry

        return registry.is_known(self.method) and registry.get(self.method).slow

    def config_for(self, method: str | None = None):
        """The config of ``method`` (default: this request's), or its defaults."""
        from .attribution import registry

        m = method or self.method
        cfg = (self.configs or {}).get(m)
        return cfg if cfg is not None else registry.default_config(m)

    @property
    def marginalization(self) -> MarginalizationConfig:
        return self.config_for("marginalization")

    def describe(self) -> str:
        return "Computing attribution…"


@dataclass(frozen=True, kw_only=True)
class CompareRequest(_InputRequest):
    """Several attribution methods on one input (side by side on one scale); result: a tuple of
    :class:`~interp_engine.results.TokenAttribution`, one per method, in ``methods`` order."""

    input: TextInput | None = None
    text: str | None = None
    methods: tuple[str, ...] = AttributionConfig.compare
    target: int | None = None
    configs: Mapping[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "compare"
    long_running: ClassVar[bool] = True
    _json_fields: ClassVar[dict] = {"input": TextInput.from_json, "configs": _configs_from_json,
                                    "methods": tuple}

    config_for = AttributionRequest.config_for
    marginalization = AttributionRequest.marginalization

    def attribution_request(self, method: str) -> AttributionRequest:
        return AttributionRequest(input=self.input, method=method, target=self.target, configs=self.configs)

    def describe(self) -> str:
        return f"Comparing {len(self.methods)} attribution methods…"


@dataclass(frozen=True, kw_only=True)
class CompareModelsRequest(_InputRequest):
    """One attribution method on one input, by the open model (A) and the comparison model (B,
    :class:`LoadCompareModelRequest`), one row each (Kim et al. 2020 Fig. 4a); result:
    :class:`~interp_engine.results.ModelComparison`.

    Attributes:
        input / text: the input (give one). method: a key of the attribution registry.
        target: a class index *of model A*, or None: each model explains its own predicted class.
            Model B explains the class of the same name when it has one (its own predicted class
            otherwise, and the result's ``notes`` say so).
        configs: ``{method: config}`` as in :class:`AttributionRequest` (both models use them).
    """

    input: TextInput | None = None
    text: str | None = None
    method: str = AttributionConfig.method
    target: int | None = None
    configs: Mapping[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "compare_models"
    long_running: ClassVar[bool] = True
    _json_fields: ClassVar[dict] = {"input": TextInput.from_json, "configs": _configs_from_json}

    config_for = AttributionRequest.config_for
    marginalization = AttributionRequest.marginalization

    def attribution_request(self) -> AttributionRequest:
        """The same method, input, target and configs on model A alone."""
        return AttributionRequest(input=self.input, method=self.method, target=self.target, configs=self.configs)

    def describe(self) -> str:
        return "Explaining the sentence with both models…"


@dataclass(frozen=True, kw_only=True)
class CandidateTableRequest(_InputRequest):
    """The marginalization candidates of one token (Kim et al. Fig. 1); result:
    :class:`~interp_engine.results.CandidateTable`."""

    input: TextInput | None = None
    text: str | None = None
    position: int = 0
    target: int | None = None
    marginalization: MarginalizationConfig = field(default_factory=MarginalizationConfig)
    kind: ClassVar[str] = "candidates"
    _json_fields: ClassVar[dict] = {"input": TextInput.from_json, "marginalization": MarginalizationConfig.from_json}

    def describe(self) -> str:
        return f"Computing the candidates of token {self.position}…"


@dataclass(frozen=True, kw_only=True)
class SpanAttributionRequest(_InputRequest):
    """Joint WoE (bits) of 2-3 adjacent tokens (Kim et al. §3.3, eq. 3); result:
    :class:`~interp_engine.results.SpanAttribution`."""

    input: TextInput | None = None
    text: str | None = None
    span: tuple[int, ...] = ()
    target: int | None = None
    marginalization: MarginalizationConfig = field(default_factory=MarginalizationConfig)
    kind: ClassVar[str] = "span"
    long_running: ClassVar[bool] = True
    _json_fields: ClassVar[dict] = {"input": TextInput.from_json, "marginalization": MarginalizationConfig.from_json,
                                    "span": tuple}

    def describe(self) -> str:
        return f"Marginalizing tokens {self.span[0]}–{self.span[-1]} jointly…" if self.span else "Marginalizing a span…"


# -- hidden locations ------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class HiddenSaliencyRequest(_InputRequest):
    """Layer × location saliency (Yuan et al. eq. 3); result: :class:`~interp_engine.results.HiddenSaliency`."""

    input: TextInput | None = None
    text: str | None = None
    target: int | None = None
    top: int = HiddenConfig.top
    kind: ClassVar[str] = "hidden"

    def describe(self) -> str:
        return "Computing hidden saliency…"


@dataclass(frozen=True, kw_only=True)
class NeighbourScatterRequest(_InputRequest):
    """Input optimization of hidden locations, their nearest words and a 2-D projection (Yuan et
    al. eq. 5-8); result: :class:`~interp_engine.results.NeighbourScatter`.

    Attributes:
        locations: (grid row, location) pairs, or None for the ``neighbours.top`` most salient
            locations of the grid rows ``layers`` (None: row ``neighbours.layer``, -1 = every row).
        layers: grid rows whose top locations are optimised when ``locations`` is None.
        ranks: optional mark colour rank per explicit location (the grid's red/blue/green).
        neighbours: k, projection, perplexity, top, layer. optimization: λ1, λ2, steps, lr, seed.
    """

    input: TextInput | None = None
    text: str | None = None
    locations: tuple[tuple[int, int], ...] | None = None
    layers: tuple[int, ...] | None = None
    ranks: tuple[int, ...] | None = None
    target: int | None = None
    neighbours: NeighbourConfig = field(default_factory=NeighbourConfig)
    optimization: OptimizationConfig = field(default_factory=OptimizationConfig)
    kind: ClassVar[str] = "neighbours"
    long_running: ClassVar[bool] = True
    _json_fields: ClassVar[dict] = {
        "input": TextInput.from_json, "neighbours": NeighbourConfig.from_json,
        "optimization": OptimizationConfig.from_json,
        "locations": lambda v: None if v is None else tuple(tuple(int(a) for a in x) for x in v),
        "ranks": lambda v: None if v is None else tuple(int(a) for a in v),
        "layers": lambda v: None if v is None else tuple(int(a) for a in v)}

    def describe(self) -> str:
        n = len(self.locations) if self.locations is not None else self.neighbours.top
        return f"Optimising the inputs of {n} hidden location{'s' if n != 1 else ''}…"


@dataclass(frozen=True, kw_only=True)
class ActivationMaximizationRequest(Request):
    """Activation maximization (Lopes §3.1) next to corpus search (§3.2) of ``unit`` =
    ``("class", c)`` or ``("hidden", row, channel)``; result:
    :class:`~interp_engine.results.ActivationMaximization`."""

    unit: tuple = ("class", 0)
    config: ActivationMaximizationConfig = field(default_factory=ActivationMaximizationConfig)
    kind: ClassVar[str] = "activation_maximization"
    long_running: ClassVar[bool] = True
    _json_fields: ClassVar[dict] = {"unit": tuple, "config": ActivationMaximizationConfig.from_json}

    def describe(self) -> str:
        return "Maximizing the activation…"


# -- faithfulness ----------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class DeletionCurvesRequest(_InputRequest):
    """Deletion curves and AUC_rep of several methods on one input (Kim et al. §3.5); result:
    :class:`~interp_engine.results.DeletionCurves`. ``configs``: the methods' parameters (as in
    :class:`AttributionRequest`)."""

    input: TextInput | None = None
    text: str | None = None
    methods: tuple[str, ...] = ()
    target: int | None = None
    deletion: DeletionConfig = field(default_factory=DeletionConfig)
    configs: Mapping[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "deletion_curves"
    long_running: ClassVar[bool] = True
    _json_fields: ClassVar[dict] = {"input": TextInput.from_json, "deletion": DeletionConfig.from_json,
                                    "configs": _configs_from_json, "methods": tuple}

    config_for = AttributionRequest.config_for
    marginalization = AttributionRequest.marginalization

    def describe(self) -> str:
        n = len(self.methods)
        return f"Computing deletion curves of {n} method{'s' if n != 1 else ''}…"


@dataclass(frozen=True, kw_only=True)
class EvaluateRequest(Request):
    """A dataset-level metric over the open dataset (``interp-studio evaluate``): ``auc_rep``,
    ``aopc``, ``comprehensiveness``, ``sufficiency``, ``iot`` (Kim et al. §3.5, §4.3) or
    ``matching_rate`` (Yuan et al.); result: the report dict (mean, SE, n per method).

    Attributes:
        out: folder for per-sentence CSV, LaTeX table and PDF (a rerun resumes from it).
        phrase_labels: word tags of ``iot``. strategy: None = ``deletion.strategy`` when a masked
            LM is open, else an error (see :func:`interp_engine.evaluation.evaluate_request`).
        sampler_mlm: masked-LM folder whose samples replace the tokens of the ``mlm`` strategy
            (AUC_rep), independent of the explainer's MLM (marginalization's likelihood, the
            engine's open MLM); None = the explainer's MLM (Pham et al. 2022, "Double Trouble").
        store, backend, workers, address: read the attributions from an attribution store, and
            compute the missing ones locally or with Ray (see
            :func:`interp_engine.evaluation.evaluate_request`).
    """

    metric: str = "auc_rep"
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    deletion: DeletionConfig = field(default_factory=DeletionConfig)
    strategy: str | None = None
    configs: Mapping[str, Any] = field(default_factory=dict)
    matching_rate: MatchingRateConfig = field(default_factory=MatchingRateConfig)
    optimization: OptimizationConfig = field(default_factory=OptimizationConfig)
    out: str | None = None
    phrase_labels: str | None = None
    sampler_mlm: str | None = None
    #: ``randomization``: the seed and failing threshold of the sanity check (Adebayo et al. 2018)
    sanity: SanityConfig = field(default_factory=SanityConfig)
    #: an attribution store (:mod:`interp_engine.store`) to read the attributions from instead of
    #: computing them (made here when it does not exist yet); None: computed sentence by sentence
    store: str | None = None
    #: where missing attributions are computed: ``local`` (in this process) or ``ray`` (Ray Data,
    #: into ``store``, else a folder inside ``out``, else a temporary folder); workers, address: Ray's
    backend: str = StoreConfig.backend
    workers: int | None = StoreConfig.workers
    address: str | None = None
    kind: ClassVar[str] = "evaluate"
    long_running: ClassVar[bool] = True
    _json_fields: ClassVar[dict] = {"evaluate": EvaluateConfig.from_json, "deletion": DeletionConfig.from_json,
                                    "configs": _configs_from_json, "matching_rate": MatchingRateConfig.from_json,
                                    "optimization": OptimizationConfig.from_json, "sanity": SanityConfig.from_json}

    config_for = AttributionRequest.config_for
    marginalization = AttributionRequest.marginalization

    def describe(self) -> str:
        return f"Evaluating {self.metric}…"


@dataclass(frozen=True, kw_only=True)
class SanityCheckRequest(_InputRequest):
    """The model-parameter randomization test of one attribution method on one input (Adebayo et
    al. 2018, §3.1, cascading randomization); result: :class:`~interp_engine.results.SanityCascade`.

    Attributes:
        input / text: the input (give one). method: a key of the attribution registry.
        target: class index, or None for the trained model's predicted class (explained at
            every step). configs: ``{method: config}`` as in :class:`AttributionRequest`.
        sanity: the seed of the re-initialisation and the failing threshold.
    """

    input: TextInput | None = None
    text: str | None = None
    method: str = AttributionConfig.gui_method
    target: int | None = None
    configs: Mapping[str, Any] = field(default_factory=dict)
    sanity: SanityConfig = field(default_factory=SanityConfig)
    kind: ClassVar[str] = "sanity"
    long_running: ClassVar[bool] = True
    _json_fields: ClassVar[dict] = {"input": TextInput.from_json, "configs": _configs_from_json,
                                    "sanity": SanityConfig.from_json}

    config_for = AttributionRequest.config_for
    marginalization = AttributionRequest.marginalization

    def describe(self) -> str:
        return "Sanity check: re-initialising the model layer by layer…"


# -- datasets --------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class PredictDatasetRequest(Request):
    """Predict every sentence of the open dataset; result: :class:`~interp_engine.results.DatasetPredictions`.

    Attributes:
        n_texts: sentences of the dataset the request was made for (the app checks the result
            against the dataset shown).
    """

    n_texts: int = 0
    batch_size: int = PredictConfig.batch_size
    kind: ClassVar[str] = "predictions"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Predicting {self.n_texts} sentences…"


@dataclass(frozen=True, kw_only=True)
class ComparePredictDatasetRequest(PredictDatasetRequest):
    """:class:`PredictDatasetRequest` by the comparison model (its own kind, so that it never
    supersedes the open model's predictions); result: :class:`~interp_engine.results.DatasetPredictions`."""

    kind: ClassVar[str] = "compare_predictions"

    def describe(self) -> str:
        return f"Predicting {self.n_texts} sentences with the comparison model…"


@dataclass(frozen=True, kw_only=True)
class SearchRequest(Request):
    """Training-set token/phrase search in the open dataset (Lopes §4.2); result:
    :class:`~interp_engine.results.TokenSearchResult`.

    Attributes:
        column: of a pair dataset, the text searched: ``""`` = either, or a segment name
            (``"premise"``/``"hypothesis"``, or the dataset's own column names such as
            ``"sentence2"``); see :meth:`interp_engine.search.SearchIndex.column_index`.
    """

    query: str = ""
    mode: str = SearchConfig.mode
    limit: int | None = SearchConfig.limit
    chosen_class: int = SearchConfig.chosen_class
    bins: int = SearchConfig.bins
    column: str = ""
    kind: ClassVar[str] = "search"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Searching the dataset for “{self.query}”…"


@dataclass(frozen=True, kw_only=True)
class SimilarityRequest(_InputRequest):
    """Activation similarity of a token span ``[start, end)`` (Lopes §4.1); result:
    :class:`~interp_engine.results.SimilarityResult`."""

    input: TextInput | None = None
    text: str | None = None
    span: tuple[int, int] = (0, 2)
    layer: str | None = SimilarityConfig.layer
    k: int = SimilarityConfig.k
    metric: str = SimilarityConfig.metric
    kind: ClassVar[str] = "similar"
    long_running: ClassVar[bool] = True
    _json_fields: ClassVar[dict] = {"input": TextInput.from_json, "span": tuple}

    def describe(self) -> str:
        return f"Finding training n-grams with similar activations to tokens {self.span[0]}–{self.span[1] - 1}…"


@dataclass(frozen=True, kw_only=True)
class AttributeDatasetRequest(Request):
    """Every method on every row of the open dataset (the first ``n``) into an attribution store
    (:func:`interp_engine.store.attribute_dataset`, ``interp-studio attribute-dataset``), with the
    engine's open model, masked LM and dataset file; resumable (rows already in ``out`` are
    skipped). Result: ``{"rows", "seconds", "backend", "out"}``.

    Attributes:
        methods: attribution methods (registry names). configs: ``{method: config}`` (missing:
            the method's defaults; stored as the full parameter JSON). n: first N rows (None: all).
        out: the store folder. batch_size: rows per part file / Ray batch. metrics: per-row
            metrics (:data:`interp_engine.store.STORE_METRICS`). seed: rows seeded from (seed, row).
        backend: ``local`` or ``ray``; workers, address: Ray's actors and cluster.
        encoding: text encoding of the dataset file.
    """

    methods: tuple[str, ...] = ()
    configs: Mapping[str, Any] = field(default_factory=dict)
    n: int | None = None
    out: str = ""
    batch_size: int = StoreConfig.batch_size
    metrics: tuple[str, ...] = StoreConfig.metrics
    seed: int = StoreConfig.seed
    backend: str = StoreConfig.backend
    workers: int | None = StoreConfig.workers
    address: str | None = None
    encoding: str = DatasetConfig.encoding
    kind: ClassVar[str] = "attribute_dataset"
    long_running: ClassVar[bool] = True
    _json_fields: ClassVar[dict] = {"configs": _configs_from_json, "methods": tuple, "metrics": tuple}

    config_for = AttributionRequest.config_for

    def describe(self) -> str:
        n = len(self.methods)
        return f"Attributing the dataset with {n} method{'s' if n != 1 else ''} into {Path(self.out).name or self.out}…"


@dataclass(frozen=True, kw_only=True)
class OpenStoreRequest(Request):
    """Open an attribution store folder; result: :class:`interp_engine.store.AttributionStore`."""

    path: str = ""
    kind: ClassVar[str] = "open_store"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Opening attribution store {Path(self.path).name or self.path}…"


# -- opening things --------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class LoadModelRequest(Request):
    """Open a saved classifier folder; result: :class:`~interp_engine.results.ModelInfo`.

    Attributes:
        allow_pickle: the user confirmed opening pickle-only weights (read with
            ``torch.load(weights_only=True)``).
    """

    path: str = ""
    allow_pickle: bool = False
    kind: ClassVar[str] = "model"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Loading model {Path(self.path).name or self.path}…"


@dataclass(frozen=True, kw_only=True)
class LoadCompareModelRequest(Request):
    """Open a second saved classifier beside the open one (the comparison model B of
    :class:`CompareModelsRequest`); result: its :class:`~interp_engine.results.ModelInfo`.
    The open model stays open whatever happens; a previous comparison model is replaced only
    when the new one opens.

    Attributes:
        allow_pickle: the user confirmed opening pickle-only weights.
    """

    path: str = ""
    allow_pickle: bool = False
    kind: ClassVar[str] = "compare_model"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Loading comparison model {Path(self.path).name or self.path}…"


@dataclass(frozen=True, kw_only=True)
class CloseCompareModelRequest(Request):
    """Close the comparison model (no-op when none is open); result: None."""

    kind: ClassVar[str] = "close_compare_model"

    def describe(self) -> str:
        return "Closing the comparison model…"


@dataclass(frozen=True, kw_only=True)
class LoadDatasetRequest(Request):
    """Open a dataset file (streamed with progress); result: ``interp_engine.data.Dataset``."""

    path: str = ""
    text_column: str = DatasetConfig.text_column
    #: the second text column of a pair dataset ("" = auto-detect premise/hypothesis, sentence1/sentence2)
    pair_column: str = DatasetConfig.pair_column
    label_column: str = DatasetConfig.label_column
    encoding: str = DatasetConfig.encoding
    kind: ClassVar[str] = "dataset"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Loading dataset {Path(self.path).name}…"


@dataclass(frozen=True, kw_only=True)
class LoadMLMRequest(Request):
    """Open a masked-LM folder as the likelihood model; result: its info dict."""

    path: str = ""
    kind: ClassVar[str] = "mlm"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Loading masked LM {Path(self.path).name or self.path}…"


@dataclass(frozen=True, kw_only=True)
class PriorRequest(Request):
    """Count the unigram prior (Kim et al. §4.5) from the dataset file ``path`` (a training set),
    or from the open dataset when ``path`` is None; result: a description of the source (str)."""

    path: str | None = None
    kind: ClassVar[str] = "prior"

    def describe(self) -> str:
        return "Counting the unigram prior…"


@dataclass(frozen=True, kw_only=True)
class SetDeviceRequest(Request):
    """Move the engine to ``device`` (``auto``, ``cpu``, ``cuda``); result: the resolved name."""

    device: str = "auto"
    kind: ClassVar[str] = "device"

    def describe(self) -> str:
        return f"Switching to device {self.device}…"


@dataclass(frozen=True, kw_only=True)
class DemoRequest(Request):
    """Prepare the demo (trained on first use); result: ``(model_dir, dataset_path, mlm_dir or
    None, train_path)``. Run by the app's worker (it owns the demo functions)."""

    kind: ClassVar[str] = "demo"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return "Preparing the demo model (trained once on first use)…"


__all__ = [
    "ActivationMaximizationRequest", "AttributeDatasetRequest", "AttributionRequest", "CandidateTableRequest", "CloseCompareModelRequest",
    "CompareModelsRequest", "ComparePredictDatasetRequest", "CompareRequest", "DeletionCurvesRequest",
    "LoadCompareModelRequest", "DemoRequest", "EvaluateRequest", "HiddenSaliencyRequest", "LoadDatasetRequest",
    "LoadMLMRequest", "LoadModelRequest", "NeighbourScatterRequest", "OpenStoreRequest", "PredictDatasetRequest", "PriorRequest",
    "REQUEST_TYPES", "Request", "SanityCheckRequest", "SearchRequest", "SetDeviceRequest", "SimilarityRequest", "SpanAttributionRequest",
    "request_from_json",
]
