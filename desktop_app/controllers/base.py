"""The base of every dock controller: submit a request, supersede the previous one of the same
slot, show the result once, route failures, cancellation and progress.

A controller never filters the client's signals by kind and request id: it connects to the
:class:`~desktop_app.engine_client.Job` of the request it submitted, and a job it no longer wants
(a newer request of the same slot) is cancelled and disconnected, so its outcome never arrives.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject

from interp_engine.config import MarginalizationConfig
from interp_engine.requests import Request

from ..engine_client import EngineClient, Job
from ..state import GUI_LIKELIHOOD


def marginalization_config(settings) -> MarginalizationConfig:
    """``settings`` (the heatmap form's choice) as a :class:`MarginalizationConfig`."""
    if isinstance(settings, MarginalizationConfig):
        return settings
    if settings is None:
        return MarginalizationConfig(likelihood=GUI_LIKELIHOOD)
    return MarginalizationConfig(likelihood=settings.likelihood, sigma=float(settings.sigma),
                                 top_n=None if settings.top_n is None else int(settings.top_n))


class DockController(QObject):
    """Owns at most one current :class:`Job` per *slot* (by default the request's kind).

    :meth:`submit` cancels the slot's previous job, submits the new request and connects the new
    job's signals to the given handlers; each handler runs at most once, and only while the job is
    still the slot's current one.
    """

    def __init__(self, client: EngineClient, parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self._jobs: dict[str, Job] = {}

    def submit(self, request: Request, on_result: Callable[[object], None], *,
               on_failed: Callable[[str], None] | None = None, on_cancelled: Callable[[], None] | None = None,
               on_progress: Callable[[int, int, str], None] | None = None, slot: str | None = None) -> Job:
        """Submit ``request`` as the current job of ``slot`` (default: its kind); returns the job."""
        slot = slot or request.kind
        self.drop(slot)
        job = self.client.submit(request)
        self._jobs[slot] = job

        def current() -> bool:
            return self._jobs.get(slot) is job

        def finished(result) -> None:
            if current():
                del self._jobs[slot]
                on_result(result)

        def failed(message: str) -> None:
            if current():
                del self._jobs[slot]
                if on_failed is not None:
                    on_failed(message)

        def cancelled() -> None:
            if current():
                del self._jobs[slot]
                if on_cancelled is not None:
                    on_cancelled()

        job.sigFinished.connect(finished)
        job.sigFailed.connect(failed)
        job.sigCancelled.connect(cancelled)
        if on_progress is not None:
            job.sigProgress.connect(lambda done, total, message: on_progress(done, total, message) if current()
                                    else None)
        return job

    def job(self, slot: str) -> Job | None:
        """The slot's current (pending) job, or None."""
        return self._jobs.get(slot)

    def pending(self, slot: str) -> bool:
        """True while the slot has a job that has not reported."""
        return slot in self._jobs

    def drop(self, *slots: str) -> None:
        """Cancel the current job of each slot; its outcome will not be shown."""
        for slot in slots:
            job = self._jobs.pop(slot, None)
            if job is not None and not job.done:
                job.cancel()

    def drop_all(self) -> None:
        self.drop(*list(self._jobs))


class PanelDockController(DockController):
    """A :class:`DockController` of one panel in one dock of the main window (the dataset-level
    docks): ``main`` is the :class:`~.analysis.AnalysisController`, ``window`` the main window
    (dialogs, message boxes, the dock's first width) or None. :meth:`show_dock` shows and raises
    the dock, widening it the first time (:func:`desktop_app.panels.dock_pages.show_dock`)."""

    def __init__(self, client: EngineClient, main, panel, dock=None, window=None, parent: QObject | None = None):
        super().__init__(client, parent)
        self.main = main
        self.panel = panel
        self.dock = dock
        self.window = window
        self.dialog = None
        self._sized = False

    def show_dock(self) -> None:
        from ..panels.dock_pages import show_dock

        first = self.dock is not None and self.dock.isHidden() and not self._sized
        self._sized = self._sized or first
        show_dock(self.dock, self.window, first=first)


def method_configs(heatmap, methods) -> dict:
    """``{method: config}`` of the heatmap's settings forms for ``methods`` (when the panel has
    per-method forms), and always the marginalization form's config."""
    out: dict = {}
    get = getattr(heatmap, "method_config", None)
    if get is not None:
        for m in methods:
            cfg = get(m)
            if cfg is not None:
                out[m] = cfg
    out["marginalization"] = marginalization_config(heatmap.marginalization_settings())
    return out
