"""EngineClient + EngineWorker against a fake engine: supersession, stale results, failures,
progress throttling, cancellation and shutdown."""
from __future__ import annotations

import threading
import time

import pytest

from desktop_app.engine_client import EngineClient
from interp_engine.requests import (
    AttributionRequest,
    HiddenSaliencyRequest,
    LoadModelRequest,
    PredictDatasetRequest,
    SetDeviceRequest,
)
from interp_engine.errors import Cancelled, InputError, ModelLoadError
from tests.app import factories

WAIT = 5000


class FakeEngine(factories.RunByKeywords):
    """Engine stand-in. Sentences steer it: "slow" waits for its cancel event, "stubborn" ignores
    cancel and waits for ``release``, "boom" raises a non-user error, "" an InputError."""

    def __init__(self):
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls: list[tuple[str, str]] = []
        self.device = "auto"
        self.threads: set[str] = set()

    def attribute(self, text, method="grad", target=None, *, progress=None, cancel=None):
        self.calls.append(("attribution", text))
        self.threads.add(threading.current_thread().name)
        if text == "slow":
            self.started.set()
            if cancel.wait(10):
                raise Cancelled("cancelled")
        elif text == "stubborn":
            self.started.set()
            self.release.wait(10)
        elif text == "boom":
            raise RuntimeError("kaboom")
        elif not text.strip():
            raise InputError("the sentence is empty: type at least one word")
        return factories.attribution(text=text, method=method)

    def hidden_saliency(self, text, target=None, top=3, *, progress=None, cancel=None):
        text = str(text)  # Engine.run passes the request's TextInput
        self.calls.append(("hidden", text))
        return factories.saliency(text=text, top=top)

    def predict_dataset(self, texts=None, *, batch_size=256, progress=None, cancel=None):
        for i in range(200):
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled")
            progress(i + 1, 200, "predicting")
        return factories.dataset_predictions(200)

    def load_model(self, path, allow_pickle=False):
        if "bad" in str(path):
            raise ModelLoadError(f"{path}: not a directory. Choose the folder written by save_pretrained.")
        return factories.model_info(str(path))

    def set_device(self, device):
        self.device = device
        if device == "cuda":
            raise ValueError("CUDA was asked for but no CUDA device is available; use --device cpu")
        return "cpu"


@pytest.fixture
def engine():
    e = FakeEngine()
    yield e
    e.release.set()


@pytest.fixture
def client(engine):
    c = EngineClient(engine=engine)
    yield c
    c.shutdown()


@pytest.fixture
def record(client):
    """Lists of what the client emitted."""
    out = {"finished": [], "failed": [], "cancelled": [], "dropped": [], "progress": []}
    client.sigFinished.connect(lambda rid, kind, res: out["finished"].append((rid, kind, res)))
    client.sigFailed.connect(lambda rid, kind, msg: out["failed"].append((rid, kind, msg)))
    client.sigCancelled.connect(lambda rid, kind: out["cancelled"].append((rid, kind)))
    client.sigDropped.connect(lambda rid, kind: out["dropped"].append((rid, kind)))
    client.sigProgress.connect(lambda *a: out["progress"].append(a))
    return out


def test_result_arrives_from_the_engine_thread(client, engine, record, qtbot):
    with qtbot.waitSignal(client.sigFinished, timeout=WAIT) as blocker:
        rid = client.submit(AttributionRequest(text="a good film")).request_id
    assert blocker.args[0] == rid and blocker.args[1] == "attribution"
    assert blocker.args[2].text == "a good film"
    assert engine.threads and threading.current_thread().name not in engine.threads
    assert not client.busy


def test_request_ids_increase_and_requests_are_frozen():
    a, b = AttributionRequest(text="x"), AttributionRequest(text="y")
    assert b.request_id > a.request_id
    with pytest.raises(AttributeError):
        a.text = "z"


def test_newer_request_cancels_older_and_its_result_is_dropped(client, engine, record, qtbot):
    old = AttributionRequest(text="slow")
    client.submit(old)
    qtbot.waitUntil(engine.started.is_set, timeout=WAIT)
    with qtbot.waitSignal(client.sigFinished, timeout=WAIT,
                          check_params_cb=lambda rid, kind, res: kind == "attribution") as blocker:
        new_id = client.submit(AttributionRequest(text="fast")).request_id
    assert old.cancel.is_set()
    assert blocker.args[0] == new_id and blocker.args[2].text == "fast"
    qtbot.waitUntil(lambda: (old.request_id, "attribution") in record["dropped"], timeout=WAIT)
    assert [r[0] for r in record["finished"]] == [new_id]
    assert record["cancelled"] == []  # superseded requests are silent, only explicit cancels report


def test_stale_result_of_a_non_cooperative_engine_is_dropped(client, engine, record, qtbot):
    old_id = client.submit(AttributionRequest(text="stubborn")).request_id
    qtbot.waitUntil(engine.started.is_set, timeout=WAIT)
    new_id = client.submit(AttributionRequest(text="fresh")).request_id
    engine.release.set()  # the old computation completes after all, with a result
    qtbot.waitUntil(lambda: any(r[0] == new_id for r in record["finished"]), timeout=WAIT)
    assert (old_id, "attribution") in record["dropped"]
    assert [r[2].text for r in record["finished"]] == ["fresh"]


def test_queued_superseded_requests_never_reach_the_engine(client, engine, record, qtbot):
    client.submit(AttributionRequest(text="slow"))
    qtbot.waitUntil(engine.started.is_set, timeout=WAIT)
    client.submit(HiddenSaliencyRequest(text="q1"))
    last = client.submit(HiddenSaliencyRequest(text="q2")).request_id
    client.cancel_kind("attribution")
    qtbot.waitUntil(lambda: any(r[0] == last for r in record["finished"]), timeout=WAIT)
    assert [c for c in engine.calls if c[0] == "hidden"] == [("hidden", "q2")]


def test_kinds_do_not_supersede_each_other(client, record, qtbot):
    a = client.submit(AttributionRequest(text="one")).request_id
    h = client.submit(HiddenSaliencyRequest(text="one")).request_id
    qtbot.waitUntil(lambda: len(record["finished"]) == 2, timeout=WAIT)
    assert {r[0] for r in record["finished"]} == {a, h}


def test_failure_is_reported_and_the_client_keeps_working(client, record, qtbot):
    with qtbot.waitSignal(client.sigFailed, timeout=WAIT) as blocker:
        rid = client.submit(AttributionRequest(text="boom")).request_id
    assert blocker.args == [rid, "attribution", "RuntimeError: kaboom"]
    with qtbot.waitSignal(client.sigFinished, timeout=WAIT) as blocker:
        client.submit(AttributionRequest(text="still alive"))
    assert blocker.args[2].text == "still alive"
    assert client.thread.isRunning()


def test_user_errors_show_their_message_only(client, qtbot):
    with qtbot.waitSignal(client.sigFailed, timeout=WAIT) as blocker:
        client.submit(LoadModelRequest(path="/bad/model"))
    assert blocker.args[1] == "model"
    assert blocker.args[2].startswith("/bad/model: not a directory")
    with qtbot.waitSignal(client.sigFailed, timeout=WAIT) as blocker:
        client.submit(AttributionRequest(text="   "))
    assert blocker.args[2] == "the sentence is empty: type at least one word"


def test_failed_set_device_keeps_the_previous_device(client, engine, qtbot):
    with qtbot.waitSignal(client.sigFailed, timeout=WAIT) as blocker:
        client.submit(SetDeviceRequest(device="cuda"))
    assert "CUDA" in blocker.args[2]
    assert engine.device == "auto"
    with qtbot.waitSignal(client.sigFinished, timeout=WAIT) as blocker:
        client.submit(SetDeviceRequest(device="cpu"))
    assert blocker.args[2] == "cpu"


def test_progress_is_throttled_and_ends_at_total(client, record, qtbot):
    with qtbot.waitSignal(client.sigFinished, timeout=WAIT):
        rid = client.submit(PredictDatasetRequest(n_texts=200)).request_id
    steps = [(p[2], p[3]) for p in record["progress"] if p[0] == rid]
    assert steps[-1] == (200, 200)
    assert 1 <= len(steps) < 20  # 200 callbacks, throttled to a few signals


def test_cancel_all_reports_cancellation_of_current_request(client, engine, record, qtbot):
    rid = client.submit(AttributionRequest(text="slow")).request_id
    qtbot.waitUntil(engine.started.is_set, timeout=WAIT)
    with qtbot.waitSignal(client.sigCancelled, timeout=WAIT) as blocker:
        client.cancel_all()
    assert blocker.args == [rid, "attribution"]
    assert record["finished"] == [] and not client.busy


def test_busy_signal(client, qtbot):
    seen = []
    client.sigBusyChanged.connect(seen.append)
    client.submit(AttributionRequest(text="x"))
    assert client.busy and seen == [True]
    qtbot.waitUntil(lambda: seen == [True, False], timeout=WAIT)


def test_shutdown_finishes_the_thread_even_while_busy(engine, qtbot):
    client = EngineClient(engine=engine)
    client.submit(AttributionRequest(text="slow"))
    qtbot.waitUntil(engine.started.is_set, timeout=WAIT)
    t0 = time.monotonic()
    assert client.shutdown() is True
    assert time.monotonic() - t0 < 2.0
    assert client.thread.isFinished() and not client.thread.isRunning()
    assert client.shutdown() is True  # idempotent
    with pytest.raises(RuntimeError):
        client.submit(AttributionRequest(text="after"))
