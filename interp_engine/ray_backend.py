"""The Ray Data backend of attribution stores (``attribute-dataset --backend ray``). No Qt.

Imported only when ``backend="ray"`` (:func:`interp_engine.store.attribute_dataset`); Ray itself
is imported inside the functions, so ``import interp_engine.store`` and the CLI never load it. Ray
is the optional extra ``scale`` (``pip install 'interp-studio[scale]'``; tested with Ray 2.60).

How a run goes (:func:`run_ray`):

1. the rows still to compute become a Ray Dataset (``ray.data.from_arrow``), one block per
   ``batch_size`` rows, so blocks spread over the actors and a lost block is one batch;
2. ``map_batches`` runs the same per-batch function as the local backend,
   :class:`interp_engine.store.AttributionWorker`, in a fixed pool of actors
   (``compute=ActorPoolStrategy(size=workers)``, ``num_gpus=1`` per actor where the cluster has
   GPUs, else ``num_cpus=1`` and one torch thread): each actor opens the classifier (and masked
   LM) once. Rows are seeded from ``(seed, row)``, so the store equals the local one;
3. Ray writes the results as Parquet (``Dataset.write_parquet``: write tasks of their own, one
   file per batch; on a cluster ``STORE`` must be on a filesystem every node shares) into a
   temporary folder ``STORE/.ray-tmp-<id>/``; when the run ends the files are checked against
   :func:`interp_engine.store.arrow_schema`, de-duplicated by ``row`` and moved into ``STORE/`` as
   ``part-ray-*.parquet``, then the temporary folder is removed.

Faults: Ray Data restarts a map actor that dies and retries its batches
(``max_restarts=-1``, ``max_task_retries=-1``: the defaults ``ActorPoolMapOperator`` applies to
every map actor, in the sources of Ray 2.40 and 2.60 alike; passing them in ``map_batches``' ``**ray_remote_args`` is
deprecated in 2.60), so a killed worker costs its batch, not the run. Out of memory inside a batch
halves it in the worker (:func:`interp_engine.batching.for_each_chunk`), as in the local backend.

Progress and cancel: a small tracker actor counts the rows the workers finish (reported through
``progress``) and carries the cancel flag the workers check (through a throttled ``is_set``) between
rows and inside long methods. Once cancelled, the workers answer the remaining batches with empty
tables, so the job ends in moments with every batch finished before written; those files are moved
into the store (a rerun continues from them) and :class:`~interp_engine.errors.Cancelled` is raised.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Sequence

from .errors import BackendError, Cancelled, InterpError

#: the sentence when Ray cannot be imported
NOT_INSTALLED = "Ray is not installed: pip install 'interp-studio[scale]'"
#: object store of a local Ray started here (bytes): the blocks are small (rows of scores)
LOCAL_OBJECT_STORE_BYTES = 200 * 1024**2
#: prefix of the temporary folder Ray writes into, inside the store (not matched by PART_GLOB)
TMP_PREFIX = ".ray-tmp-"
#: seconds between two looks at progress and cancel (driver), and between two cancel queries (actors)
POLL_S = 0.25


def _import_ray():
    """``(ray, ray.data)``. Raises BackendError (:data:`NOT_INSTALLED`) without Ray."""
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise BackendError(NOT_INSTALLED) from e
    return ray, ray.data


def init_ray(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Connect to the Ray cluster at ``address``, or start a local Ray with ``num_cpus`` CPUs
    (None: ``os.cpu_count()``), quietly (no dashboard, no worker logs on the driver, warnings
    only, a :data:`LOCAL_OBJECT_STORE_BYTES` object store). Nothing happens when Ray is already
    initialised in this process.

    Returns:
        True when this call started or connected Ray (the caller then shuts it down), False when
        Ray was already initialised.

    Raises:
        BackendError: Ray is not installed, or the cluster at ``address`` cannot be reached
            (nothing listens at its ``host:port`` within 5 s, or ``ray.init`` fails).
    """
    ray, _ = _import_ray()
    if address:
        _check_reachable(address)
    if ray.is_initialized():
        return False
    kw = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
              configure_logging=True)
    try:
        if address:
            ray.init(address=address, **kw)
        else:
            ray.init(num_cpus=int(num_cpus or os.cpu_count() or 1), object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                     **kw)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as e:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BackendError(f"cannot start or reach {where}: {first}") from None
    return True


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Raise BackendError when nothing listens at a ``host:port`` (or ``ray://host:port``) address:
    ``ray.init`` would wait minutes for an unreachable cluster. ``auto`` and other forms are left
    to Ray."""
    import socket

    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or address == "auto":
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise BackendError(f"cannot reach the Ray cluster at {address} ({e.strerror or e}); start it with "
                           "`ray start --head` there, or drop --address for a local Ray") from None


def _quiet_data_context(ray_data) -> Callable[[], None]:
    """No progress bars, execution banners or statistics; Ray Data's log lines (its tracebacks
    too: run_ray reports a failure in one sentence) go to its session log files only. Returns the
    function that restores the stderr handlers' levels."""
    ctx = ray_data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    ctx.enable_auto_log_stats = False
    handlers = [h for h in logging.getLogger("ray.data").handlers
                if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]
    levels = [h.level for h in handlers]
    for h in handlers:
        h.setLevel(logging.CRITICAL)

    def restore() -> None:
        for h, lv in zip(handlers, levels):
            h.setLevel(lv)

    return restore


class _RemoteCancel:
    """A ``threading.Event``-like cancel flag for code inside a Ray actor: ``is_set()`` asks the
    tracker actor, at most every :data:`POLL_S` seconds (the engine checks cancel often)."""

    def __init__(self, tracker):
        self.tracker = tracker
        self._last = 0.0
        self._set = False

    def is_set(self) -> bool:
        if not self._set and time.monotonic() - self._last > POLL_S:
            import ray

            self._set = bool(ray.get(self.tracker.cancelled.remote()))
            self._last = time.monotonic()
        return self._set


class _Tracker:
    """Rows finished and the cancel flag of one run (a Ray actor, ``num_cpus=0``)."""

    def __init__(self):
        self.done = 0
        self.is_cancelled = False

    def add(self, n: int) -> None:
        self.done += int(n)

    def cancel(self) -> None:
        self.is_cancelled = True

    def cancelled(self) -> bool:
        return self.is_cancelled

    def rows_done(self) -> int:
        return self.done


class ArrowAttributionWorker:
    """The map_batches callable class: an ``AttributionWorker`` (or ``worker_cls``, a test hook)
    opened once per actor, fed and answering ``pyarrow.Table`` batches with the store's schema.

    Args:
        spec: the :class:`~interp_engine.store.StoreSpec`. tracker: the run's tracker actor.
        worker_cls: the per-batch class (default :class:`~interp_engine.store.AttributionWorker`).
        device: ``cpu``/``cuda``. threads: torch intra-op threads (None: torch's default).
    """

    def __init__(self, spec, tracker, worker_cls=None, device: str | None = None, threads: int | None = None):
        from .store import AttributionWorker, arrow_schema

        self.worker = (worker_cls or AttributionWorker)(spec, device=device, threads=threads)
        self.schema = arrow_schema(spec.methods, spec.metrics)
        self.tracker = tracker
        self.cancel = _RemoteCancel(tracker)

    def __call__(self, batch):
        """(k rows: row, text, text_b, gold) pyarrow.Table -> (k rows) pyarrow.Table of the store's
        schema; once the run is cancelled, an empty table (the job drains quickly and the batches
        finished before are still written)."""
        import pyarrow as pa

        if self.cancel.is_set():
            return self.schema.empty_table()
        try:
            cols = self.worker(batch.to_pydict(), cancel=self.cancel)
        except Cancelled:
            return self.schema.empty_table()
        table = pa.Table.from_pydict({f.name: cols[f.name] for f in self.schema}, schema=self.schema)
        self.tracker.add.remote(table.num_rows)
        return table


def _todo_table(todo: dict[str, list]):
    import pyarrow as pa

    schema = pa.schema([pa.field("row", pa.int64()), pa.field("text", pa.string()),
                        pa.field("text_b", pa.string()), pa.field("gold", pa.int64())])
    return pa.Table.from_pydict({f.name: list(todo[f.name]) for f in schema}, schema=schema)


def _cluster_plan(ray, workers: int | None) -> tuple[int, dict]:
    """``(actors, per-actor resources)``: one actor per GPU with ``num_gpus=1`` where the cluster
    has GPUs, else ``num_cpus=1`` each and one per CPU but one (Ray Data's Parquet write tasks need
    a CPU to run while the actors compute, else they wait for the end); ``workers`` overrides the
    count."""
    res = ray.cluster_resources()
    gpus, cpus = int(res.get("GPU", 0)), int(res.get("CPU", 0))
    if gpus > 0:
        n = int(workers) if workers else gpus
        return n, {"num_gpus": 1, "num_cpus": 1 if cpus > n else 0}
    n = int(workers) if workers else max(1, cpus - 1)
    if cpus < n:
        raise BackendError(f"the Ray cluster has {cpus} CPUs for {n} workers; give --workers {max(1, cpus)} or fewer")
    return n, {"num_cpus": 1}


def _first_interp_error(e: BaseException) -> InterpError | None:
    """The InterpError behind a Ray error: Ray re-raises a task's exception as a subclass of both
    ``RayTaskError`` and the original class, sometimes as the cause of another error; an actor
    whose ``__init__`` raised (e.g. ModelLoadError: unreadable weights) comes back as an
    ``ActorDiedError`` that keeps only the text ``interp_engine.errors.<Class>: <message>``."""
    import re

    from . import errors

    seen, first = set(), e
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, InterpError):
            return e
        e = e.__cause__ or getattr(e, "cause", None) or e.__context__
    found = re.findall(r"interp_engine\.errors\.(\w+): (.+)", str(first))
    for name, message in reversed(found):
        cls = getattr(errors, name, None)
        if isinstance(cls, type) and issubclass(cls, InterpError):
            return cls(message.strip())
    return None


def collect_parts(tmp: Path, out: Path, methods: Sequence[str], metrics: Sequence[str] = (),
                  *, skip_rows: set[int] | None = None, strict: bool = True) -> list[int]:
    """Move the Parquet files Ray wrote into ``tmp`` into the store ``out`` as
    ``part-ray-*.parquet``, keeping each dataset row once.

    A file whose rows are all new is moved as it is (``os.replace``; Ray's own Parquet); one with
    rows already seen (in ``skip_rows`` or an earlier file, e.g. from a retried write) is rewritten
    without them (:func:`interp_engine.store.write_part`, atomic).

    Args:
        tmp: Ray's output folder. out: the store. methods, metrics: the store's columns.
        skip_rows: rows already in the store (not taken again).
        strict: raise on a file that cannot be read (False: skip it; a cancelled run may leave a
            file half-written).

    Returns:
        The dataset rows moved in, sorted.

    Raises:
        BackendError: a file is not Parquet (``strict``) or lacks the store's columns.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .store import arrow_schema, write_part

    schema = arrow_schema(methods, metrics)
    seen: set[int] = set(skip_rows or ())
    moved: list[int] = []
    for f in sorted(Path(tmp).rglob("*.parquet")):
        try:
            t = pq.read_table(f)
        except (OSError, pa.ArrowException) as e:
            if strict:
                raise BackendError(f"Ray wrote {f.name}, which cannot be read as Parquet: {e}") from None
            continue
        if set(t.column_names) != set(schema.names):
            raise BackendError(f"Ray wrote {f.name} with the columns {', '.join(t.column_names)}; "
                               f"the store has {', '.join(schema.names)}")
        t = t.select(schema.names).cast(schema)
        rows = [int(r) for r in t.column("row").to_pylist()]
        if not rows:
            continue
        keep: list[int] = []  # indices of the first occurrence of each new row
        for i, r in enumerate(rows):
            if r not in seen:
                seen.add(r)
                keep.append(i)
        name = f"part-ray-{f.stem}.parquet"
        if len(keep) == len(rows):
            os.replace(f, out / name)
        elif keep:
            write_part(out, t.take(pa.array(keep, pa.int64())).to_pydict(), name, methods, metrics)
        moved.extend(rows[i] for i in keep)
    return sorted(moved)


def run_ray(spec, todo: dict[str, list], out: Path, *, batch_size: int, workers: int | None = None,
            address: str | None = None, progress: Callable[[int, int, str], None] | None = None,
            cancel=None, worker_cls=None) -> None:
    """Compute the rows ``todo`` of ``spec`` with Ray Data into the store folder ``out``.

    Args:
        spec: the :class:`~interp_engine.store.StoreSpec`.
        todo: the input columns ``row``, ``text``, ``text_b``, ``gold`` (lists of equal length k)
            of the rows not yet in the store (:func:`interp_engine.store.dataset_rows`).
        out: the store folder (exists; its manifest is written by the caller).
        batch_size: rows per Ray batch (and per block).
        workers: actors (None: one per GPU where the cluster has GPUs, else one per CPU but one).
        address: a running Ray cluster (``ray start --head`` prints it; ``auto``); None: a local
            Ray with ``workers`` (else ``os.cpu_count()``) CPUs plus one for Ray's write tasks,
            shut down at the end. A Ray already initialised in this process is used as it is and
            left running. On a cluster every node must be able to import ``interp_engine``, read
            ``spec``'s model and data paths and write ``out`` (a shared filesystem: Ray's write
            tasks run on any node).
        progress: ``progress(rows stored, rows asked for, message)`` (the rows already in the
            store count as stored), about every :data:`POLL_S` s while rows finish.
        cancel: ``threading.Event``; when set the workers skip the remaining batches, the rows
            finished so far are moved into the store and Cancelled is raised.
        worker_cls: the per-batch class the actors open (default
            :class:`~interp_engine.store.AttributionWorker`; tests pass one that fails).

    Raises:
        BackendError: Ray is not installed, the cluster cannot be reached or lacks CPUs for
            ``workers``, the job failed, or rows came back missing (the store keeps what finished;
            a rerun computes the rest).
        Cancelled: ``cancel`` was set. InterpError: what a worker raised (ModelLoadError, ...).
    """
    from .store import stored_rows

    k = len(todo["row"])
    if k == 0:
        return
    batch_size = max(1, int(batch_size))
    ray, ray_data = _import_ray()
    out = Path(out)
    # a local Ray: one CPU per worker, plus one for the write tasks
    started = init_ray(address, num_cpus=None if address else int(workers or os.cpu_count() or 1) + 1)
    for stale in out.glob(f"{TMP_PREFIX}*"):  # left by a run killed before its end; its rows are in todo again
        shutil.rmtree(stale, ignore_errors=True)
    tmp = out / f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}"
    restore_logging = None
    try:
        restore_logging = _quiet_data_context(ray_data)
        n_actors, resources = _cluster_plan(ray, workers)
        table = _todo_table(todo)
        blocks = [table.slice(a, batch_size) for a in range(0, k, batch_size)]
        n_actors = max(1, min(n_actors, len(blocks)))
        tracker = ray.remote(num_cpus=0)(_Tracker).remote()
        device = "cuda" if resources.get("num_gpus") else "cpu"
        threads = None if device == "cuda" else 1
        ds = ray_data.from_arrow(blocks).map_batches(
            ArrowAttributionWorker,
            fn_constructor_kwargs={"spec": spec, "tracker": tracker, "worker_cls": worker_cls,
                                   "device": device, "threads": threads},
            compute=ray_data.ActorPoolStrategy(size=n_actors), batch_size=batch_size, batch_format="pyarrow",
            **resources)
        failure: list[BaseException] = []

        def write():
            try:
                ds.write_parquet(str(tmp))  # Ray's write tasks: one Parquet file per batch
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(e)

        done0 = len(stored_rows(out))
        total = done0 + k
        th = threading.Thread(target=write, name="ray-write-parquet", daemon=True)
        th.start()
        cancelled, last = False, -1
        while th.is_alive():
            th.join(POLL_S)
            if cancel is not None and cancel.is_set() and not cancelled:
                cancelled = True
                tracker.cancel.remote()
            if progress is not None and not cancelled:
                n = min(k, int(ray.get(tracker.rows_done.remote())))
                if n != last:
                    last = n
                    progress(done0 + n, total, f"{done0 + n} of {total} rows stored (Ray, {n_actors} workers)")
        cancelled = cancelled or (cancel is not None and cancel.is_set())
        moved = collect_parts(tmp, out, spec.methods, spec.metrics, skip_rows=stored_rows(out),
                              strict=not (cancelled or failure))
        if cancelled:
            raise Cancelled("cancelled")
        if failure:
            err = _first_interp_error(failure[0])
            if err is not None:
                raise err from None
            first = (str(failure[0]).strip().splitlines() or [type(failure[0]).__name__])[-1]
            raise BackendError(f"the Ray job failed ({type(failure[0]).__name__}: {first}); "
                               f"{len(moved)} of {k} rows were stored, rerun to compute the rest") from None
        missing = sorted(set(int(r) for r in todo["row"]) - set(moved) - stored_rows(out))
        if missing:
            where = (" (with --address the store must be on a filesystem every node shares)" if address else "")
            raise BackendError(f"Ray returned {k - len(missing)} of {k} rows (missing rows {missing[:5]}...){where}; "
                               "rerun to compute the rest")
        if progress is not None:
            progress(total, total, f"{total} of {total} rows stored (Ray, {n_actors} workers)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if restore_logging is not None:
            restore_logging()
        if started:
            ray.shutdown()


__all__ = ["ArrowAttributionWorker", "NOT_INSTALLED", "collect_parts", "init_ray", "run_ray"]
