"""The Ray Data backend (:mod:`interp_engine.ray_backend`, ``--backend ray``): the same store as the
local backend (every score within 1e-9) through the CLI, ``evaluate --backend ray`` equal to local,
a worker killed mid-run (Ray restarts it; every row once), out of memory in a batch (halved), a
cancelled run that resumes, the de-duplication of Ray's files, and one sentence (exit 2) without Ray,
for a model the workers cannot open and for an unreachable cluster.

One local Ray (2 CPUs) is started for the module and reused by every run; the tests that need Ray
skip when it is not installed (the optional extra ``scale``, which CI installs).
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from interp_engine.errors import Cancelled
from interp_engine.store import AttributionWorker, StoreSpec, arrow_schema, attribute_dataset, open_store, write_part
from tests.engine.test_store_cli import _report, _run
from tests.helpers import save_model_mlm_data, tiny_sentences

ROOT = Path(__file__).resolve().parents[2]
N_ROWS = 50
#: Ray Data's own deprecation notices (its DataContext's renamed fields), not ours
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="Ray is not installed (the optional extra: pip install "
                                      "'interp-studio[scale]'; CI installs it)")
#: the store of the API tests: a seeded method (lime) and an erasure and a gradient method
METHODS = ("zero", "grad_input", "lime")
CONFIGS = {"lime": {"n_samples": 40, "seed": 3}}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("raystore")
    model, mlm, data = save_model_mlm_data(d, tiny_sentences(N_ROWS, min_words=3, max_words=12))
    return d, model, mlm, data


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray with 2 CPUs for the module; run_ray reuses it and leaves it running."""
    import ray

    from interp_engine.ray_backend import init_ray

    started = init_ray(num_cpus=2)
    yield ray
    if started:
        ray.shutdown()


def _spec(files, **kw) -> StoreSpec:
    d, model, mlm, data = files
    return StoreSpec(**{"model_dir": str(model), "data_path": str(data), "methods": METHODS, "configs": CONFIGS,
                        **kw})


@pytest.fixture(scope="module")
def api_local(files):
    """The local store of :data:`METHODS` (batch size 7), the reference of the fault tests."""
    out = files[0] / "api_local"
    attribute_dataset(_spec(files), out, batch_size=7, device="cpu")
    return open_store(out)


def assert_same_store(a, b, tol: float = 1e-9) -> None:
    """Every column equal: integers, strings and token lists exactly, floats within ``tol``."""
    ta, tb = a.to_table(), b.to_table()
    assert ta.schema.equals(tb.schema), (ta.schema, tb.schema)
    assert ta.column("row").to_pylist() == tb.column("row").to_pylist()
    for name in ta.column_names:
        typ = ta.schema.field(name).type
        x, y = ta.column(name).to_pylist(), tb.column(name).to_pylist()
        if pa.types.is_list(typ) and pa.types.is_floating(typ.value_type):
            assert [len(v) for v in x] == [len(v) for v in y], name
            worst = max((float(np.max(np.abs(np.subtract(u, v)))) for u, v in zip(x, y) if len(u)), default=0.0)
            assert worst <= tol, (name, worst)
        elif pa.types.is_floating(typ):
            np.testing.assert_allclose(np.asarray(x, float), np.asarray(y, float), rtol=0, atol=tol, err_msg=name)
        else:
            assert x == y, name


# -- test workers (opened in the Ray actors: importable from this module) ------------------------------
KILL_ROW = 23


class KillOnceWorker(AttributionWorker):
    """Dies (``os._exit(1)``, like a crashed or OOM-killed process) the first time any actor sees
    :data:`KILL_ROW`; the marker file beside the data keeps the restarted actor alive."""

    def __call__(self, batch, cancel=None):
        marker = Path(self.spec.data_path).parent / "killed.marker"
        if KILL_ROW in [int(r) for r in batch["row"]] and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)
        return super().__call__(batch, cancel=cancel)


OOM_ROWS = 2


class OomOverWorker(AttributionWorker):
    """Raises CUDA's out-of-memory error for every chunk of more than :data:`OOM_ROWS` rows (the
    worker's own halving, :func:`interp_engine.batching.for_each_chunk`, must shrink to fit), and
    logs each chunk size tried to a file beside the data."""

    def __call__(self, batch, cancel=None):
        import torch

        import interp_engine.batching as batching

        real = batching.for_each_chunk
        log = Path(self.spec.data_path).parent / f"oom-{os.getpid()}.log"

        def for_each_chunk(n, fn, chunk_size, **kw):  # the worker's chunks of rows; inner calls: the real one
            batching.for_each_chunk = real

            def guarded(a, b):
                with open(log, "a", encoding="utf-8") as f:
                    f.write(f"{b - a}\n")
                if b - a > OOM_ROWS:
                    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
                return fn(a, b)

            return real(n, guarded, chunk_size, **kw)

        batching.for_each_chunk = for_each_chunk
        try:
            return super().__call__(batch, cancel=cancel)
        finally:
            batching.for_each_chunk = real


class SlowWorker(AttributionWorker):
    """Half a second per batch, so that a cancel arrives while batches are left."""

    def __call__(self, batch, cancel=None):
        time.sleep(0.5)
        return super().__call__(batch, cancel=cancel)


def _with_worker(monkeypatch, worker_cls):
    """attribute_dataset(backend="ray") with ``worker_cls`` in the actors (run_ray's test hook)."""
    from interp_engine import ray_backend

    monkeypatch.setattr(ray_backend, "run_ray", functools.partial(ray_backend.run_ray, worker_cls=worker_cls))


# -- no Ray at import ---------------------------------------------------------------------------------
def test_store_cli_and_backend_modules_do_not_import_ray():
    code = ("import sys, interp_engine.store, interp_engine.cli, interp_engine.ray_backend; "
            "assert 'ray' not in sys.modules, sorted(m for m in sys.modules if m.startswith('ray'))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_without_ray_backend_ray_exits_2_with_the_install_sentence(files, capsys, monkeypatch, tmp_path):
    """Ray made unimportable (None in sys.modules): one sentence naming the extra, exit 2."""
    for name in ("ray", "ray.data"):
        monkeypatch.setitem(sys.modules, name, None)
    d, model, mlm, data = files
    rc, out, err = _run(capsys, "attribute-dataset", "--model", model, "--data", data, "--methods", "zero",
                        "--n", 3, "--backend", "ray", "--out", tmp_path / "s")
    assert rc == 2
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert lines == ["error: Ray is not installed: pip install 'interp-studio[scale]'"], err
    assert "Traceback" not in err
    assert not list((tmp_path / "s").glob("part-*.parquet"))


# -- Ray's files into the store -------------------------------------------------------------------------
def test_collect_parts_keeps_every_row_once(tmp_path):
    """Files Ray wrote with overlapping rows (a retried write) and rows already stored: each row
    ends in the store once, untouched files are moved as they are, the others rewritten."""
    from interp_engine.ray_backend import collect_parts

    methods = ("zero",)

    def cols(rows):
        return {"row": rows, "text": [f"t{r}" for r in rows], "text_b": [None] * len(rows),
                "segments": [[] for _ in rows], "tokens": [["a", "b"] for _ in rows], "gold": [1] * len(rows),
                "predicted": [0] * len(rows), "probabilities": [[0.25, 0.75] for _ in rows],
                "scores_zero": [[float(r), -float(r)] for r in rows]}

    tmp, out = tmp_path / "tmp", tmp_path / "store"
    (tmp / "sub").mkdir(parents=True)
    out.mkdir()
    for name, rows in [("a.parquet", [0, 1, 2]), ("b.parquet", [2, 3]), ("c.parquet", [4, 5])]:
        pq.write_table(pa.Table.from_pydict(cols(rows), schema=arrow_schema(methods)), tmp / "sub" / name)
    write_part(out, cols([5]), "part-local-5.parquet", methods)
    moved = collect_parts(tmp, out, methods, skip_rows={5})
    assert moved == [0, 1, 2, 3, 4]
    rows = sorted(r for f in out.glob("part-*.parquet") for r in pq.read_table(f).column("row").to_pylist())
    assert rows == [0, 1, 2, 3, 4, 5]
    assert not (tmp / "sub" / "a.parquet").exists()  # moved as it is
    assert pq.read_table(out / "part-ray-b.parquet").column("scores_zero").to_pylist() == [[3.0, -3.0]]
    assert pq.read_table(out / "part-ray-c.parquet").column("row").to_pylist() == [4]
    # a file without the store's columns is refused with a sentence
    pq.write_table(pa.table({"row": [9]}), tmp / "bad.parquet")
    from interp_engine.errors import BackendError

    with pytest.raises(BackendError, match="the store has row, text"):
        collect_parts(tmp, out, methods)


# -- local vs Ray ---------------------------------------------------------------------------------------
@needs_ray
def test_cli_ray_store_equals_local_store(files, ray_local, capsys):
    """attribute-dataset --backend ray --workers 2 and --backend local: the same store (marginalization
    with the masked LM, and the per-row AUC_rep whose MLM sampling is seeded from (seed, row))."""
    d, model, mlm, data = files
    common = ["attribute-dataset", "--model", model, "--data", data, "--mlm", mlm, "--methods",
              "zero,grad_input,marginalization", "--sigma", "1e-3", "--metrics", "auc_rep", "--json"]
    rc, out, err = _run(capsys, *common, "--out", d / "cli_local", "--batch-size", 16)
    assert rc == 0, err
    rc, out, err = _run(capsys, *common, "--out", d / "cli_ray", "--backend", "ray", "--workers", 2,
                        "--batch-size", 6)
    assert rc == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["rows"] == N_ROWS and summary["backend"] == "ray"
    a, b = open_store(d / "cli_local"), open_store(d / "cli_ray")
    assert b.rows() == list(range(N_ROWS))
    assert_same_store(a, b)
    parts = sorted(p.name for p in (d / "cli_ray").glob("part-*.parquet"))
    assert parts and all(p.startswith("part-ray-") for p in parts)
    rows = [r for p in parts for r in pq.read_table(d / "cli_ray" / p).column("row").to_pylist()]
    assert sorted(rows) == list(range(N_ROWS))  # each row in exactly one part file
    assert len(parts) == -(-N_ROWS // 6)  # one Parquet file per Ray batch
    assert not [p for p in (d / "cli_ray").iterdir() if p.name.startswith(".ray-tmp-")]
    assert b.manifest["rows_done"] == N_ROWS
    # the scores are not degenerate: a backend writing zeros or one row everywhere would fail above
    t = b.to_table()
    assert len(set(map(tuple, t.column("scores_marginalization").to_pylist()))) == N_ROWS
    assert np.std(t.column("auc_rep_zero").to_numpy()) > 0
    assert ray_local.is_initialized()  # run_ray did not shut down the Ray it did not start


@needs_ray
def test_evaluate_backend_ray_equals_local(files, ray_local, capsys):
    d, model, mlm, data = files
    common = ["evaluate", "--model", model, "--data", data, "--mlm", mlm, "--metric", "auc_rep",
              "--methods", "zero,grad_input", "--n", 12, "--seed", 4, "--json"]
    rc, out_local, err = _run(capsys, *common)
    assert rc == 0, err
    rc, out_ray, err = _run(capsys, *common, "--backend", "ray", "--workers", 2, "--store", d / "ev_ray")
    assert rc == 0, err
    a, b = _report(out_local), _report(out_ray)
    assert a == b
    assert a["methods"]["zero"]["n"] == 12 and np.isfinite(a["methods"]["grad_input"]["mean"])
    assert open_store(d / "ev_ray").manifest["backend"] == "ray"


# -- faults ---------------------------------------------------------------------------------------------
@needs_ray
def test_killed_worker_is_restarted_and_the_store_is_complete(files, ray_local, api_local, monkeypatch):
    d = files[0]
    marker = d / "killed.marker"
    marker.unlink(missing_ok=True)
    _with_worker(monkeypatch, KillOnceWorker)
    res = attribute_dataset(_spec(files), d / "api_killed", backend="ray", workers=1, batch_size=5)
    assert marker.exists()  # an actor did die (os._exit) on the batch of row KILL_ROW
    assert res["rows"] == N_ROWS
    rows = [r for f in (d / "api_killed").glob("part-*.parquet") for r in pq.read_table(f).column("row").to_pylist()]
    assert sorted(rows) == list(range(N_ROWS))  # every row exactly once in the part files: none lost or twice
    assert_same_store(api_local, open_store(d / "api_killed"))


@needs_ray
def test_out_of_memory_in_a_batch_is_halved(files, ray_local, api_local, monkeypatch):
    d = files[0]
    for f in d.glob("oom-*.log"):
        f.unlink()
    _with_worker(monkeypatch, OomOverWorker)
    res = attribute_dataset(_spec(files, n=16), d / "api_oom", backend="ray", workers=1, batch_size=8)
    assert res["rows"] == 16
    sizes = [int(s) for f in d.glob("oom-*.log") for s in f.read_text().split()]
    assert 8 in sizes and 4 in sizes  # the batch of 8 ran out of memory, then its half
    # every row was computed in chunks that fit, each once: 16 rows in chunks of <= OOM_ROWS
    assert sum(s for s in sizes if s <= OOM_ROWS) == 16
    ref = api_local.to_table().slice(0, 16)
    got = open_store(d / "api_oom")
    assert got.rows() == list(range(16))
    assert got.to_table().select(["row", "tokens"]).equals(ref.select(["row", "tokens"]))
    for m in METHODS:
        np.testing.assert_allclose(np.concatenate(got.to_table().column(f"scores_{m}").to_pylist()),
                                   np.concatenate(ref.column(f"scores_{m}").to_pylist()), rtol=0, atol=1e-9)


@needs_ray
def test_cancelled_ray_run_keeps_finished_rows_and_resumes(files, ray_local, api_local, monkeypatch):
    d = files[0]
    out = d / "api_cancel"
    _with_worker(monkeypatch, SlowWorker)
    cancel = threading.Event()
    seen = []

    def progress(done, total, msg):
        seen.append(done)
        if done > 0:
            cancel.set()

    with pytest.raises(Cancelled):
        attribute_dataset(_spec(files), out, backend="ray", workers=1, batch_size=5, progress=progress, cancel=cancel)
    assert seen[0] == 0 and max(seen) > 0 and seen == sorted(seen)  # rows stored, reported while Ray runs
    assert not [p for p in out.iterdir() if p.name.startswith(".ray-tmp-")]  # the temporary folder is gone
    partial = open_store(out)
    assert 0 < len(partial) < N_ROWS, len(partial)  # cancelled mid-run; the finished batches stayed
    # a rerun (here with the local backend) computes only the rest and ends with the same store
    attribute_dataset(_spec(files), out, batch_size=7, device="cpu")
    rows = [r for f in out.glob("part-*.parquet") for r in pq.read_table(f).column("row").to_pylist()]
    assert sorted(rows) == list(range(N_ROWS))
    assert_same_store(api_local, open_store(out))


@needs_ray
def test_worker_that_cannot_open_the_model_is_one_sentence(files, ray_local, tmp_path, capsys):
    """An actor whose __init__ raises (unreadable weights) ends the run with the engine's own
    sentence (ModelLoadError, exit 2), not a Ray traceback."""
    import shutil

    d, model, mlm, data = files
    broken = tmp_path / "broken"
    shutil.copytree(model, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    rc, out, err = _run(capsys, "attribute-dataset", "--model", broken, "--data", data, "--methods", "zero",
                        "--n", 4, "--backend", "ray", "--workers", 1, "--out", tmp_path / "s")
    assert rc == 2
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "the weights could not be read" in lines[0], err
    assert "Ray job failed" not in lines[0] and "ActorDiedError" not in lines[0]


@needs_ray
def test_unreachable_cluster_is_one_sentence_not_a_hang(files, capsys, tmp_path):
    """--address where nothing listens: exit 2 at once (ray.init itself would wait for minutes)."""
    import socket

    with socket.socket() as s:  # a free local port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d, model, mlm, data = files
    rc, out, err = _run(capsys, "attribute-dataset", "--model", model, "--data", data, "--methods", "zero",
                        "--n", 2, "--backend", "ray", "--address", f"127.0.0.1:{port}", "--out", tmp_path / "s")
    assert rc == 2
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and f"cannot reach the Ray cluster at 127.0.0.1:{port}" in lines[0], err
