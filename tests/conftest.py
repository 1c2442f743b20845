"""Qt fixtures for tests/app and tests/e2e (the engine tests never use them).

- ``QT_QPA_PLATFORM=offscreen`` is set before anything imports Qt.
- ``qt_settings_isolated``: QSettings (window layout, recent files) go to a temporary folder.
- ``qthread_guard``: fails a test that leaves a QThread running (the thread is then stopped so
  the process does not abort), in the spirit of napari's dangling-thread fixtures.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

#: QThreads started since the current test began (filled by the patched QThread.start)
_STARTED_QTHREADS: list = []


def _track_qthread_starts() -> None:
    """Patch ``QThread.start`` once so every started thread is recorded."""
    from PySide6.QtCore import QThread

    if getattr(QThread.start, "_qthread_guard", False):
        return
    original = QThread.start

    def start(self, *args, **kwargs):
        _STARTED_QTHREADS.append(self)
        return original(self, *args, **kwargs)

    start._qthread_guard = True
    QThread.start = start


def _running_qthreads() -> list:
    running = []
    for t in _STARTED_QTHREADS:
        try:
            if t.isRunning():
                running.append(t)
        except RuntimeError:  # the C++ object is gone: certainly not running
            continue
    return running


@pytest.fixture(autouse=True)
def _settle_qt_after_test():
    """After a test, deliver posted events and deferred deletions and collect garbage while the
    test's windows and threads are known to be finished, so Qt objects are destroyed at a fixed
    point instead of whenever Python's garbage collector happens to run in a later test."""
    yield
    import sys

    if "PySide6.QtCore" not in sys.modules:  # an engine test: no Qt to settle
        return
    from PySide6.QtCore import QCoreApplication, QEvent

    app = QCoreApplication.instance()
    if app is None:
        return
    import gc

    app.processEvents()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    gc.collect()
    app.processEvents()


@pytest.fixture
def qthread_guard():
    """Fail the test if a QThread it started is still running at teardown."""
    _track_qthread_starts()
    _STARTED_QTHREADS.clear()
    yield
    running = _running_qthreads()
    names = [t.objectName() or type(t).__name__ for t in running]
    for t in running:  # stop them, or Python would destroy running QThreads and abort
        t.quit()
        t.wait(5000)
    _STARTED_QTHREADS.clear()
    if running:
        pytest.fail(f"test left {len(running)} QThread(s) running: {', '.join(names)}", pytrace=False)


@pytest.fixture
def qt_settings_isolated(tmp_path):
    """Point QSettings (native and INI, user scope) at a fresh temporary folder."""
    from PySide6.QtCore import QSettings

    folder = tmp_path / "qsettings"
    folder.mkdir()
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Tests never write to the user's cache: the demo models, search indexes and prediction
    caches go to a session temporary folder (single tests may point elsewhere with monkeypatch)."""
    import os

    old = os.environ.get("INTERP_STUDIO_CACHE")
    os.environ["INTERP_STUDIO_CACHE"] = str(tmp_path_factory.mktemp("interp-studio-cache"))
    yield
    if old is None:
        os.environ.pop("INTERP_STUDIO_CACHE", None)
    else:
        os.environ["INTERP_STUDIO_CACHE"] = old
