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
    """Open a saved classifier directory (``Engine.load_model``); result: ``ModelInfo``."""

    path: str
    kind: ClassVar[str] = "model"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return f"Loading model {Path(self.path).name or self.path}…"


@dataclass(frozen=True, kw_only=True)
class LoadDatasetRequest(Request):
    """Open a dataset file (``Engine.load_dataset``); result: ``Dataset``."""

    path: str
    text_column: str = "text"
    label_column: str = "label"
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


@dataclass(frozen=True, kw_only=True)
class AttributionRequest(Request):
    """Per-token attribution of one sentence (``Engine.attribute``); result: ``TokenAttribution``.

    Attributes:
        text: the sentence.
        method: a key of ``interp_engine.engine.ATTRIBUTION_METHODS``.
        target: class index, or None for the predicted class.
    """

    text: str
    method: str = "grad"
    target: int | None = None
    kind: ClassVar[str] = "attribution"

    def describe(self) -> str:
        return "Computing attribution…"


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
    """Prepare the demo (``interp_engine.demo.ensure_demo``: trains on first use);
    result: ``(model_dir, dataset_path)``."""

    kind: ClassVar[str] = "demo"
    long_running: ClassVar[bool] = True

    def describe(self) -> str:
        return "Preparing the demo model (trained once on first use)…"
