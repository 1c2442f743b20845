"""Every engine job kind stops within 0.5 s of its cancel event being set (issue 8).

The model is a real tiny BiLSTM made slow by a forward pre-hook that sleeps 50 ms, so every job
that runs the model is long enough to be cancelled in the middle; the search index build and
the dataset reader are slow by their size. Each job runs in a thread; the cancel event is set
once the job is under way, and the latency is the time from ``cancel.set()`` until the job
call returns (with :class:`Cancelled`). The measured latencies are printed (``-s``)."""
from __future__ import annotations

import threading
import time

import pytest

from interp_engine.errors import Cancelled
from tests.helpers import TINY_TEXTS, save_tiny

SLOW_FORWARD = 0.05  # seconds per model forward
LIMIT = 0.5  # the bound
LATENCIES: dict[str, float] = {}
SENT = "The plot is thin but the cast is superb , never boring"


@pytest.fixture(scope="module")
def slow_engine(tmp_path_factory):
    from interp_engine.data import Dataset
    from interp_engine.engine import Engine

    root = tmp_path_factory.mktemp("slow")
    eng = Engine("cpu")
    eng.load_model(save_tiny(root / "bilstm", "bilstm"))
    eng.chunk_size = 8  # marginalization / erasure: many small chunks
    started = threading.Event()

    def slow(_module, _args, _kwargs=None):
        started.set()
        time.sleep(SLOW_FORWARD)

    eng.classifier.model.register_forward_pre_hook(slow)
    eng.dataset = Dataset(texts=tuple(TINY_TEXTS * 400), labels=None, class_names=(), path=root / "d.tsv")
    eng._started = started
    return eng


def _measure(name: str, job, started: threading.Event, *, warmup: float = 0.0) -> float:
    """Run ``job(cancel)`` in a thread, set ``cancel`` once ``started`` is set (plus ``warmup``),
    return the seconds until the job returned; it must have raised Cancelled."""
    cancel = threading.Event()
    out: dict = {}

    def run():
        try:
            job(cancel)
            out["outcome"] = "finished"
        except Cancelled:
            out["outcome"] = "cancelled"
        except BaseException as e:  # noqa: BLE001 - reported below
            out["outcome"] = repr(e)
        out["t"] = time.perf_counter()

    started.clear()
    th = threading.Thread(target=run, daemon=True)
    th.start()
    assert started.wait(30), f"{name}: never started"
    time.sleep(warmup)
    assert th.is_alive(), f"{name}: finished before it could be cancelled; make it longer"
    t0 = time.perf_counter()
    cancel.set()
    th.join(10)
    assert not th.is_alive(), f"{name}: still running 10 s after cancel"
    assert out["outcome"] == "cancelled", f"{name}: {out['outcome']}"
    latency = out["t"] - t0
    LATENCIES[name] = latency
    print(f"cancel latency {name}: {latency * 1000:.0f} ms")
    return latency


@pytest.mark.parametrize("method", ["grad", "grad_input", "zero", "unk", "marginalization",
                                    "integrated_gradients", "lime"])
def test_attribution_cancels_fast(slow_engine, method):
    kw = {"likelihood": "uniform", "sigma": 0.0} if method == "marginalization" else {}
    job = lambda cancel: slow_engine.attribute(SENT, method, cancel=cancel, **kw)  # noqa: E731
    assert _measure(f"attribution/{method}", job, slow_engine._started) < LIMIT


def test_marginalization_span_and_candidates_cancel_fast(slow_engine):
    kw = {"likelihood": "uniform", "sigma": 0.0}
    job = lambda cancel: slow_engine.attribute_span(SENT, (2, 3), cancel=cancel, **kw)  # noqa: E731
    assert _measure("span", job, slow_engine._started, warmup=0.1) < LIMIT
    job = lambda cancel: slow_engine.candidate_table(SENT, 2, cancel=cancel, **kw)  # noqa: E731
    assert _measure("candidates", job, slow_engine._started) < LIMIT


def test_hidden_saliency_cancels_fast(slow_engine):
    job = lambda cancel: slow_engine.hidden_saliency(SENT, cancel=cancel)  # noqa: E731
    assert _measure("hidden saliency", job, slow_engine._started) < LIMIT


def test_dataset_prediction_cancels_fast(slow_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path))
    slow_engine._search = None
    slow_engine.search_index()  # the index first: this test is about the predictions
    job = lambda cancel: slow_engine.predict_dataset(batch_size=16, cancel=cancel)  # noqa: E731
    assert _measure("dataset prediction", job, slow_engine._started, warmup=0.2) < LIMIT


def test_activation_index_cancels_fast(slow_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path))
    slow_engine._search = None
    slow_engine.search_index()
    job = lambda cancel: slow_engine.similar("a good film", (0, 2), cancel=cancel)  # noqa: E731
    assert _measure("activation similarity index", job, slow_engine._started, warmup=0.2) < LIMIT


def test_prior_counting_cancels_fast(slow_engine):
    texts = list(slow_engine.dataset.texts) * 60  # 120,000 sentences
    started = threading.Event()
    job = lambda cancel: slow_engine.set_prior_data(texts, progress=lambda *a: started.set(), cancel=cancel)  # noqa: E731
    assert _measure("unigram prior counting", job, started) < LIMIT


def test_search_index_build_cancels_fast(tmp_path, monkeypatch):
    from interp_engine.data import Dataset
    from interp_engine.search import SearchIndex

    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path))
    texts = tuple(f"{t} number {i}" for i in range(40_000) for t in TINY_TEXTS[:3])
    ds = Dataset(texts=texts, labels=None, class_names=(), path=tmp_path / "big.tsv")
    started = threading.Event()
    job = lambda cancel: SearchIndex.open(ds, progress=lambda *a: started.set(), cancel=cancel)  # noqa: E731
    assert _measure("search index build", job, started) < LIMIT


def test_large_dataset_file_loading_cancels_fast(tmp_path):
    from interp_engine.data import load_dataset

    p = tmp_path / "big.tsv"
    p.write_text("label\ttext\n" + "1\tan ordinary review sentence with a few words in it\n" * 600_000)
    started = threading.Event()
    job = lambda cancel: load_dataset(p, progress=lambda *a: started.set(), cancel=cancel)  # noqa: E731
    assert _measure("dataset file loading", job, started) < LIMIT


def test_report_max_latency():
    """Last in this file: print the maximum over the job kinds measured above."""
    if not LATENCIES:
        pytest.skip("no latency measured (run the whole file)")
    name, worst = max(LATENCIES.items(), key=lambda kv: kv[1])
    print(f"max cancel latency over {len(LATENCIES)} job kinds: {worst * 1000:.0f} ms ({name})")
    assert worst < LIMIT
