"""The engine worker: a QObject that lives in the engine thread and calls :mod:`interp_engine`.

Pattern (pyqtgraph's crash course, napari's slicer): the worker is created with no parent,
moved to a :class:`QThread` by :class:`~desktop_app.engine_client.EngineClient`, and receives
requests through a queued signal. Each slot call runs one request to completion and reports
with exactly one of :attr:`EngineWorker.sigFinished`, :attr:`~EngineWorker.sigFailed` or
:attr:`~EngineWorker.sigCancelled`. Exceptions never escape the slot, so the thread never dies.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

from interp_engine.config import DEVICES
from interp_engine.requests import DemoRequest, Request

log = logging.getLogger(__name__)


def is_cancelled_error(exc: BaseException) -> bool:
    """True for :class:`interp_engine.errors.Cancelled` (imported lazily)."""
    from interp_engine.errors import Cancelled

    return isinstance(exc, Cancelled)


def user_message(exc: BaseException) -> str:
    """The text shown to the user for ``exc``.

    Engine errors meant for users (:class:`~interp_engine.errors.InterpError`,
    ``interp_engine.data.DatasetError``) show their message only; anything else shows
    ``"TypeName: message"`` so that unexpected failures stay recognisable.
    """
    from interp_engine.errors import InterpError

    user_types: tuple[type, ...] = (InterpError,)
    try:
        from interp_engine.data import DatasetError

        user_types += (DatasetError,)
    except ImportError:  # pragma: no cover - the data module is optional for the worker
        pass
    if isinstance(exc, user_types):
        return str(exc) or type(exc).__name__
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class EngineWorker(QObject):
    """Runs engine requests in the engine thread.

    Args:
        engine: an object with the :class:`interp_engine.engine.Engine` interface; by default a
            real ``Engine`` is created lazily, in the worker thread, on the first request.
        device: device for the lazily created engine.
        progress_interval: minimum seconds between two :attr:`sigProgress` emissions of one
            request (the last step, ``done == total``, is always emitted).
        demo_fn: replaces ``interp_engine.demo.ensure_demo`` (tests).
        demo_mlm_fn: replaces ``interp_engine.demo.ensure_demo_mlm`` (tests); ``False``: the
            demo comes without its masked LM.

    Signals:
        sigStarted(request_id, kind, message): a request starts running.
        sigProgress(request_id, kind, done, total, message): throttled progress.
        sigFinished(request_id, kind, result): the request's result object.
        sigFailed(request_id, kind, message): the request raised; ``message`` is for the user.
        sigCancelled(request_id, kind): the request was cancelled before or while running.
    """

    sigStarted = Signal(int, str, str)
    sigProgress = Signal(int, str, int, int, str)
    sigFinished = Signal(int, str, object)
    sigFailed = Signal(int, str, str)
    sigCancelled = Signal(int, str)

    def __init__(self, engine: Any = None, *, device: str = DEVICES[0], progress_interval: float = 0.1,
                 demo_fn: Callable | None = None, demo_mlm_fn: Callable | bool | None = None):
        super().__init__(None)
        self._engine = engine
        self._device = device
        self._demo_fn = demo_fn
        self._demo_mlm_fn = demo_mlm_fn
        self.progress_interval = progress_interval

    # -- engine -----------------------------------------------------------------------------
    @property
    def engine(self):
        """The engine (created on first use, in the calling thread: the worker thread)."""
        if self._engine is None:
            from interp_engine.engine import Engine

            self._engine = Engine(device=self._device)
        return self._engine

    def _progress_callback(self, req: Request) -> Callable[[int, int, str], None]:
        last = [float("-inf")]

        def progress(done: int, total: int, message: str = "") -> None:
            now = time.monotonic()
            if done >= total or now - last[0] >= self.progress_interval:
                last[0] = now
                self.sigProgress.emit(req.request_id, req.kind, int(done), int(total), str(message))

        return progress

    # -- the slot ---------------------------------------------------------------------------
    @Slot(object)
    def run_request(self, req: Request) -> None:
        """Run ``req`` and report its outcome with one signal. Never raises."""
        rid, kind = req.request_id, req.kind
        if req.cancel.is_set():  # superseded while queued: skip without touching the engine
            self.sigCancelled.emit(rid, kind)
            return
        self.sigStarted.emit(rid, kind, req.describe())
        try:
            result = self._dispatch(req)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a signal
            if is_cancelled_error(exc) or req.cancel.is_set():
                self.sigCancelled.emit(rid, kind)
            else:
                if not _is_user_error(exc):
                    log.exception("engine request %s failed", req)
                self.sigFailed.emit(rid, kind, user_message(exc))
            return
        self.sigFinished.emit(rid, kind, result)

    def _dispatch(self, req: Request):
        """One call: the demo stays here (it owns the injectable demo functions); every other
        request is run by :meth:`interp_engine.engine.Engine.run`."""
        progress = self._progress_callback(req)
        if isinstance(req, DemoRequest):
            return self._demo(req, progress)
        return self.engine.run(req, progress=progress, cancel=req.cancel)

    def _demo(self, req: DemoRequest, progress):
        fn = self._demo_fn
        if fn is None:
            from interp_engine.demo import ensure_demo as fn
        model_dir, data_path = fn(progress=progress, cancel=req.cancel)
        train_path = None
        try:
            from interp_engine.demo import demo_corpus

            train_path = str(demo_corpus()[0])
        except Exception:  # noqa: BLE001 - a demo without its training file still opens
            log.warning("the demo training corpus is missing; no prior likelihood")
        mlm_fn = self._demo_mlm_fn
        mlm_dir = None
        if mlm_fn is not False:
            if mlm_fn is None:
                from interp_engine.demo import ensure_demo_mlm as mlm_fn
            try:
                mlm_dir = str(mlm_fn(model_dir, train_path, progress=progress, cancel=req.cancel))
            except Exception as exc:  # noqa: BLE001 - the demo still opens, without the MLM
                if is_cancelled_error(exc) or req.cancel.is_set():
                    raise
                log.warning("could not train the demo masked LM: %s", exc)
        return str(model_dir), str(data_path), mlm_dir, train_path


def _is_user_error(exc: BaseException) -> bool:
    from interp_engine.errors import InterpError

    if isinstance(exc, InterpError):
        return True
    try:
        from interp_engine.data import DatasetError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, DatasetError)
