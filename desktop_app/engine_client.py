"""The GUI side of the engine thread: request ids, supersession, cancellation and shutdown.

:class:`EngineClient` lives in the GUI thread. It owns one :class:`QThread` and one
:class:`~desktop_app.worker.EngineWorker` moved into it, and is the only object the GUI uses to
reach the engine: the GUI never calls the engine's compute methods itself.

How a request travels:

1. :meth:`EngineClient.submit` records the request as the *current* one of its ``kind``, sets
   the ``cancel`` event of every older pending request of that kind, emits it through a queued
   connection to the worker slot and returns a :class:`Job`: the handle whose own signals report
   this request's outcome (and nothing else).
2. The worker skips requests that were cancelled while queued; the engine polls ``cancel``
   between batches and raises ``Cancelled``.
3. Results come back by request id. The client forwards a result only if its request is still the
   current one of its kind and was not cancelled; everything else is stale and dropped. A
   forwarded outcome is emitted by the request's :class:`Job` first, then by the client-level
   signals the status bar and the tests listen to.
"""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from .qt_fixes import protect_none_refcount
from interp_engine.config import DEVICES
from interp_engine.requests import Request

from .worker import EngineWorker

protect_none_refcount()  # PySide6 6.12.0 on Python 3.11 would abort after enough Qt calls

log = logging.getLogger(__name__)

#: clients whose thread did not stop in time; kept alive so the QThread is not destroyed running
_ORPHANS: list["EngineClient"] = []


class Job(QObject):
    """One submitted request and its outcome, reported once by its own signals.

    Exactly one of :attr:`sigFinished`, :attr:`sigFailed` or :attr:`sigCancelled` is emitted, and
    only if the request was still current when it ended: a superseded job (a newer request of the
    same kind was submitted) ends silently with :attr:`state` ``"dropped"``.

    Signals:
        sigFinished(result): the request's result.
        sigFailed(message): the request failed; the message is for the user.
        sigCancelled(): the request was cancelled (stop button / Esc).
        sigProgress(done, total, message): progress while it runs.

    Attributes:
        request: the :mod:`interp_engine.requests` object. state: ``"pending"``, ``"finished"``,
            ``"failed"``, ``"cancelled"`` or ``"dropped"``. result / message: its outcome.
    """

    sigFinished = Signal(object)
    sigFailed = Signal(str)
    sigCancelled = Signal()
    sigProgress = Signal(int, int, str)

    def __init__(self, request: Request, parent: QObject | None = None):
        super().__init__(parent)
        self.request = request
        self.state = "pending"
        self.result: object = None
        self.message = ""

    @property
    def request_id(self) -> int:
        return self.request.request_id

    @property
    def kind(self) -> str:
        return self.request.kind

    @property
    def done(self) -> bool:
        """True once the job has reported (or was dropped)."""
        return self.state != "pending"

    def cancel(self) -> None:
        """Ask the engine to stop this request (its outcome is then not shown)."""
        self.request.cancel.set()

    def _end(self, state: str) -> bool:
        if self.done:
            return False
        self.state = state
        return True

    def __repr__(self) -> str:
        return f"<Job {self.request_id} {self.kind} {self.state}>"


class EngineClient(QObject):
    """Owns the engine thread and worker; forwards only current results.

    Args:
        engine: passed to :class:`EngineWorker` (None: a real ``Engine`` created lazily in the
            worker thread).
        device: device of the lazily created engine.
        worker: a ready worker to use instead (tests); it must have no parent.
        parent: Qt parent of the client.

    :meth:`submit` returns the request's :class:`Job`; a controller listens to its job, not to
    these client-level signals, which report the same outcomes for the status bar and tests.

    Signals:
        sigFinished(request_id, kind, result): result of the current request of ``kind``.
        sigFailed(request_id, kind, message): the current request of ``kind`` failed.
        sigCancelled(request_id, kind): the current request of ``kind`` was cancelled (stop/Esc).
        sigStarted(request_id, kind, message): the worker started a request.
        sigProgress(request_id, kind, done, total, message): progress of a current request.
        sigBusyChanged(bool): whether any request is pending.
        sigDropped(request_id, kind): a stale result/failure was discarded (for tests and logs).
    """

    sigFinished = Signal(int, str, object)
    sigFailed = Signal(int, str, str)
    sigCancelled = Signal(int, str)
    sigStarted = Signal(int, str, str)
    sigProgress = Signal(int, str, int, int, str)
    sigBusyChanged = Signal(bool)
    sigDropped = Signal(int, str)

    _sigSubmit = Signal(object)

    def __init__(self, engine: Any = None, *, device: str = DEVICES[0], worker: EngineWorker | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._pending: dict[int, Request] = {}
        self._jobs: dict[int, Job] = {}
        self._current: dict[str, int] = {}
        self._closed = False
        self._busy = False

        self._thread = QThread()  # no parent: its lifetime is managed by shutdown()
        self._thread.setObjectName("InterpEngineThread")
        self._worker = worker if worker is not None else EngineWorker(engine, device=device)
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)

        self._sigSubmit.connect(self._worker.run_request)  # queued: worker lives in the thread
        self._worker.sigFinished.connect(self._on_finished)
        self._worker.sigFailed.connect(self._on_failed)
        self._worker.sigCancelled.connect(self._on_cancelled)
        self._worker.sigStarted.connect(self._on_started)
        self._worker.sigProgress.connect(self._on_progress)

        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._thread.start()

    # -- properties ---------------------------------------------------------------------------
    @property
    def thread(self) -> QThread:
        """The engine thread (for tests and shutdown checks)."""
        return self._thread

    @property
    def busy(self) -> bool:
        """True while any request is pending (queued or running)."""
        return bool(self._pending)

    def pending(self, kind: str | None = None) -> list[Request]:
        """Pending requests, optionally of one ``kind``, oldest first."""
        return [r for r in self._pending.values() if kind is None or r.kind == kind]

    def request(self, request_id: int) -> Request | None:
        """The pending request with this id, or None once it has reported."""
        return self._pending.get(request_id)

    def is_current(self, request_id: int, kind: str) -> bool:
        """True when ``request_id`` is the newest request of ``kind``."""
        return self._current.get(kind) == request_id

    # -- requests -----------------------------------------------------------------------------
    def job(self, request_id: int) -> Job | None:
        """The pending job with this id, or None once it has reported."""
        return self._jobs.get(request_id)

    def submit(self, req: Request) -> Job:
        """Queue ``req`` for the worker; supersede (cancel) older requests of the same kind.

        Returns:
            the request's :class:`Job` (``job.request_id == req.request_id``).

        Raises:
            RuntimeError: the client has been shut down.
        """
        if self._closed:
            raise RuntimeError("the engine client has been shut down")
        self.cancel_kind(req.kind)
        self._current[req.kind] = req.request_id
        self._pending[req.request_id] = req
        job = Job(req)
        self._jobs[req.request_id] = job
        self._update_busy()
        self._sigSubmit.emit(req)
        return job

    def cancel_kind(self, kind: str) -> None:
        """Cancel every pending request of ``kind``; their results will be dropped."""
        for req in self._pending.values():
            if req.kind == kind:
                req.cancel.set()

    def cancel_all(self) -> None:
        """Cancel every pending request (the Cancel button / Esc)."""
        for req in self._pending.values():
            req.cancel.set()

    # -- worker reports (GUI thread, queued) --------------------------------------------------
    def _take(self, request_id: int, kind: str) -> Request | None:
        """Remove ``request_id`` from the pending set; return it if it is still wanted."""
        req = self._pending.pop(request_id, None)
        self._update_busy()
        if req is None or req.cancel.is_set() or not self.is_current(request_id, kind) or self._closed:
            return None
        return req

    def _drop(self, request_id: int, kind: str) -> None:
        job = self._jobs.pop(request_id, None)
        if job is not None:
            job._end("dropped")
        self.sigDropped.emit(request_id, kind)

    @Slot(int, str, object)
    def _on_finished(self, request_id: int, kind: str, result: object) -> None:
        if self._take(request_id, kind) is None:
            self._drop(request_id, kind)
            return
        job = self._jobs.pop(request_id, None)
        if job is not None and job._end("finished"):
            job.result = result
            job.sigFinished.emit(result)
        self.sigFinished.emit(request_id, kind, result)

    @Slot(int, str, str)
    def _on_failed(self, request_id: int, kind: str, message: str) -> None:
        if self._take(request_id, kind) is None:
            self._drop(request_id, kind)
            return
        job = self._jobs.pop(request_id, None)
        if job is not None and job._end("failed"):
            job.message = message
            job.sigFailed.emit(message)
        self.sigFailed.emit(request_id, kind, message)

    @Slot(int, str)
    def _on_cancelled(self, request_id: int, kind: str) -> None:
        self._pending.pop(request_id, None)
        self._update_busy()
        if self.is_current(request_id, kind) and not self._closed:
            job = self._jobs.pop(request_id, None)
            if job is not None and job._end("cancelled"):
                job.sigCancelled.emit()
            self.sigCancelled.emit(request_id, kind)
        else:
            self._drop(request_id, kind)

    @Slot(int, str, str)
    def _on_started(self, request_id: int, kind: str, message: str) -> None:
        req = self._pending.get(request_id)
        if req is not None and not req.cancel.is_set():
            self.sigStarted.emit(request_id, kind, message)

    @Slot(int, str, int, int, str)
    def _on_progress(self, request_id: int, kind: str, done: int, total: int, message: str) -> None:
        req = self._pending.get(request_id)
        if req is not None and not req.cancel.is_set() and self.is_current(request_id, kind):
            job = self._jobs.get(request_id)
            if job is not None:
                job.sigProgress.emit(done, total, message)
            self.sigProgress.emit(request_id, kind, done, total, message)

    def _update_busy(self) -> None:
        busy = bool(self._pending)
        if busy != self._busy:
            self._busy = busy
            self.sigBusyChanged.emit(busy)

    # -- shutdown -----------------------------------------------------------------------------
    @Slot()
    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Cancel everything, stop the thread and wait for it (idempotent).

        Returns:
            True when the thread has finished. If it is still busy in a step the engine cannot
            interrupt, the client is kept alive until it ends, and False is returned.
        """
        if not self._closed:
            self._closed = True
            self.cancel_all()
            app = QCoreApplication.instance()
            if app is not None:
                try:
                    app.aboutToQuit.disconnect(self.shutdown)
                except (RuntimeError, TypeError):
                    pass
            self._thread.quit()
        if self._thread.isFinished() or self._thread.wait(timeout_ms):
            # Deliver (and drop: the client is closed) what the worker queued before it stopped,
            # now, while sender and receiver are alive, instead of leaving Python objects in
            # pending queued events to be destroyed later with whichever object goes first.
            QCoreApplication.sendPostedEvents(self)
            return True
        log.warning("the engine thread is still busy after %d ms; it will stop when the step ends", timeout_ms)
        if self not in _ORPHANS:
            _ORPHANS.append(self)
            self._thread.finished.connect(lambda: _ORPHANS.remove(self) if self in _ORPHANS else None)
        return False


def wait_for_orphans(timeout_ms: int = 30000) -> None:
    """Wait for engine threads that outlived their window (called once at application exit)."""
    for client in list(_ORPHANS):
        client.thread.wait(timeout_ms)
