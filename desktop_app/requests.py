"""Requests the GUI sends to the engine worker: frozen dataclasses that cross the thread boundary.

Every request gets a unique, increasing ``request_id`` from :func:`itertools.count` and its own
``cancel`` event (a :class:`threading.Event` the engine polls between batches). A newer request
of the same :attr:`~Request.kind` supersedes an older one: the client sets the older one's
``cancel`` and drops its result (see :class:`desktop_app.engine_client.EngineClient`).

No Qt here, so the requests can be built and inspected in plain tests.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

_ids = itertools.count(1)


def _next_id() -> int:
    return next(_ids)


@dataclass(frozen=True, kw_only=True)
class Request:
    """Base class of all engine requests.

    Attributes:
        request_id: unique, increasing id (assigned automatically).
        cancel: set to ask the engine to stop; a cancelled request's result is never shown.
        kind: class-level name of the request type; one request per kind is current.
        long_running: class-level; True when the status bar should show a progress bar.
    """

    request_id: int = field(default_factory=_next_id, init=False)
    cancel: threading.Event = field(default_factory=threading.Event, init=False, repr=False, compare=False)

    kind: ClassVar[str] = "request"
    long_running: ClassVar[bool] = False

    def describe(self) -> str:
        """A short status-bar message for the request ("Loading model …")."""
        return self.kind


@dataclass(frozen=True, kw_only=True)
class LoadModelRequest(Request):
    """Open a saved classifier directory (``Engine.load_model``); result: ``ModelInfo``.

    Attributes:
        allow_pickle: the user confirmed opening pickle-only weights (read with
            ``torch.load(weights_only=True)``).
    """

    path: str
    allow_pickle: bool = False
    kind: ClassVar[str] = "model"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Loading model {Path(self.path).name or self.path}…"


@dataclass(frozen=True, kw_only=True)
class LoadDatasetRequest(Request):
    """Open a dataset file (``Engine.load_dataset``, streamed with progress); result: ``Dataset``."""

    path: str
    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"
    kind: ClassVar[str] = "dataset"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Loading dataset {Path(self.path).name}…"


@dataclass(frozen=True, kw_only=True)
class PredictDatasetRequest(Request):
    """Predict every sentence of the open dataset (``Engine.predict_dataset``);
    result: ``DatasetPredictions``.

    Attributes:
        n_texts: number of sentences of the dataset the request was made for (the client
            checks the result against the dataset shown).
    """

    n_texts: int = 0
    batch_size: int = 256
    kind: ClassVar[str] = "predictions"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Predicting {self.n_texts} sentences…"


#: methods slow enough for a progress bar and a Cancel button in the status bar
SLOW_METHODS = frozenset({"marginalization", "integrated_gradients", "lime"})


@dataclass(frozen=True)
class MarginalizationSettings:
    """Settings of input marginalization (``Engine.attribute(..., likelihood=, sigma=, top_n=)``).

    Attributes:
        likelihood: ``mlm``, ``uniform`` or ``prior``.
        sigma: likelihood threshold σ of Kim et al. eq. 4 (0 = every candidate); used when
            ``top_n`` is None.
        top_n: keep the n most likely candidates instead of thresholding at σ.
    """

    likelihood: str = "uniform"
    sigma: float = 1e-5
    top_n: int | None = None

    def kwargs(self) -> dict:
        """Keyword arguments for the engine's marginalization methods."""
        if self.top_n is not None:
            return {"likelihood": self.likelihood, "top_n": int(self.top_n)}
        return {"likelihood": self.likelihood, "sigma": float(self.sigma)}

    def describe(self) -> str:
        cut = f"top-{self.top_n}" if self.top_n is not None else f"σ = {self.sigma:g}"
        return f"{self.likelihood} likelihood, {cut}"


@dataclass(frozen=True, kw_only=True)
class AttributionRequest(Request):
    """Per-token attribution of one sentence (``Engine.attribute``); result: ``TokenAttribution``.

    Attributes:
        text: the sentence.
        method: a key of ``interp_engine.engine.ATTRIBUTION_METHODS``.
        target: class index, or None for the predicted class.
        marginalization: settings used when ``method == "marginalization"``.
    """

    text: str
    method: str = "grad"
    target: int | None = None
    marginalization: MarginalizationSettings | None = None
    kind: ClassVar[str] = "attribution"

    @property
    def long_running(self) -> bool:  # type: ignore[override]
        return self.method in SLOW_METHODS

    def describe(self) -> str:
        return "Computing attribution…"


@dataclass(frozen=True, kw_only=True)
class CompareRequest(Request):
    """Several attribution methods on one sentence (side-by-side mode);
    result: a tuple of ``TokenAttribution``, one per method, in ``methods`` order."""

    text: str
    methods: tuple[str, ...]
    target: int | None = None
    marginalization: MarginalizationSettings | None = None
    kind: ClassVar[str] = "compare"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Comparing {len(self.methods)} attribution methods…"


@dataclass(frozen=True, kw_only=True)
class CandidateRequest(Request):
    """The marginalization candidates of one token (``Engine.candidate_table``);
    result: ``CandidateTable``."""

    text: str
    position: int
    target: int | None = None
    marginalization: MarginalizationSettings = field(default_factory=MarginalizationSettings)
    kind: ClassVar[str] = "candidates"

    def describe(self) -> str:
        return f"Computing the candidates of token {self.position}…"


@dataclass(frozen=True, kw_only=True)
class SpanRequest(Request):
    """Joint WoE of 2-3 adjacent tokens (``Engine.attribute_span``); result: ``SpanAttribution``."""

    text: str
    span: tuple[int, ...]
    target: int | None = None
    marginalization: MarginalizationSettings = field(default_factory=MarginalizationSettings)
    kind: ClassVar[str] = "span"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Marginalizing tokens {self.span[0]}–{self.span[-1]} jointly…"


@dataclass(frozen=True, kw_only=True)
class LoadMLMRequest(Request):
    """Open a masked-LM folder as the likelihood model (``Engine.load_mlm``); result: its info dict."""

    path: str
    kind: ClassVar[str] = "mlm"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Loading masked LM {Path(self.path).name or self.path}…"


@dataclass(frozen=True, kw_only=True)
class PriorRequest(Request):
    """Count the unigram prior (``Engine.set_prior_data``) from the sentences of the dataset
    file ``path`` (a training set), or of the open dataset when ``path`` is None;
    result: a short description of the source (str)."""

    path: str | None = None
    kind: ClassVar[str] = "prior"

    def describe(self) -> str:
        return "Counting the unigram prior…"


@dataclass(frozen=True, kw_only=True)
class HiddenSaliencyRequest(Request):
    """Layer × location saliency of one sentence (``Engine.hidden_saliency``);
    result: ``HiddenSaliency``."""

    text: str
    target: int | None = None
    top: int = 3
    kind: ClassVar[str] = "hidden"

    def describe(self) -> str:
        return "Computing hidden saliency…"


@dataclass(frozen=True, kw_only=True)
class SetDeviceRequest(Request):
    """Move the engine to ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``); result: the resolved
    device name (str)."""

    device: str
    kind: ClassVar[str] = "device"

    def describe(self) -> str:
        return f"Switching to device {self.device}…"


@dataclass(frozen=True, kw_only=True)
class DemoRequest(Request):
    """Prepare the demo (``interp_engine.demo.ensure_demo`` and ``ensure_demo_mlm``: trained on
    first use); result: ``(model_dir, dataset_path, mlm_dir or None, train_path)``."""

    kind: ClassVar[str] = "demo"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return "Preparing the demo model (trained once on first use)…"


@dataclass(frozen=True, kw_only=True)
class SearchRequest(Request):
    """Training-set token/phrase search in the open dataset (``Engine.search``: builds the index and
    the prediction cache on first use); result: ``TokenSearchResult``."""

    query: str
    mode: str = "phrase"
    limit: int = 500
    chosen_class: int = 1
    kind: ClassVar[str] = "search"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Searching the dataset for “{self.query}”…"


@dataclass(frozen=True, kw_only=True)
class SimilarRequest(Request):
    """Activation similarity of a token span (``Engine.similar``: builds the n-gram activations on
    first use); result: ``SimilarityResult``."""

    text: str
    span: tuple[int, int]
    layer: str | None = None
    k: int = 20
    kind: ClassVar[str] = "similar"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Finding training n-grams with similar activations to tokens {self.span[0]}–{self.span[1] - 1}…"


@dataclass(frozen=True, kw_only=True)
class DeletionCurveRequest(Request):
    """Deletion curves and AUC_rep of several attribution methods on one sentence
    (``Engine.deletion_curves``, Kim et al. 004_ §3.5); result: ``DeletionCurves``.

    Attributes:
        text: the sentence. methods: attribution methods, one curve each.
        target: class index, or None for the predicted class.
        strategy: ``mlm``, ``zero``, ``unk`` or ``remove``. x_max: fraction of tokens on the x-axis.
        seed: seed of the MLM sampling.
        marginalization: settings of the marginalization method's attribution.
    """

    text: str
    methods: tuple[str, ...]
    target: int | None = None
    strategy: str = "mlm"
    x_max: float = 0.2
    seed: int = 0
    marginalization: MarginalizationSettings | None = None
    kind: ClassVar[str] = "deletion_curves"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Computing deletion curves of {len(self.methods)} method{'s' if len(self.methods) != 1 else ''}…"


@dataclass(frozen=True, kw_only=True)
class NeighbourScatterRequest(Request):
    """Input optimization of hidden locations and their nearest vocabulary words, projected to 2-D
    (``Engine.neighbour_scatter``, Yuan et al. 001_ eq. 5-8); result: ``NeighbourScatter``.

    Attributes:
        text: the sentence. locations: (grid row, location) pairs, or None for the ``top`` most
            salient locations of grid row ``layer`` (-1: of every row). target: class of the
            saliency (None: predicted).
        lambda1, lambda2, steps, lr, seed: the optimization (eq. 6). k: neighbours per location.
        projection: ``tsne`` or ``pca``; perplexity: t-SNE's.
    """

    text: str
    locations: tuple[tuple[int, int], ...] | None = None
    top: int = 3
    layer: int = 0
    target: int | None = None
    lambda1: float = 0.004
    lambda2: float = 0.02
    steps: int = 1000
    lr: float = 2e-4
    seed: int = 0
    k: int = 10
    projection: str = "tsne"
    perplexity: float = 5.0
    kind: ClassVar[str] = "neighbours"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        n = len(self.locations) if self.locations is not None else self.top
        return f"Optimising the inputs of {n} hidden location{'s' if n != 1 else ''}…"
