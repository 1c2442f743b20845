"""Attribution stores: every requested attribution method on every row of a dataset, as Parquet
(pyarrow). No Qt; no Ray import at module level (the Ray backend, :mod:`interp_engine.ray_backend`,
is imported only when ``backend="ray"``).

A store is a folder::

    STORE/manifest.json          what the store holds and what made it (see attribute_dataset)
    STORE/part-*.parquet         the rows, in any number of part files (PART_GLOB), each written
                                 atomically (a temporary file renamed into place)

One row per dataset row (the row index of :func:`interp_engine.data.load_dataset`'s
:class:`~interp_engine.data.Dataset`, i.e. after empty texts were dropped, in file order), with the
columns of :func:`arrow_schema`: ``row``, ``text``, ``text_b`` (the second text of a pair, null
for single texts), ``segments`` (per token: 0 first text, 1 second text, -1 special token; empty
for single texts), ``tokens``, ``gold`` (-1: unknown), ``predicted``, ``probabilities`` and per
method ``scores_<method>`` (one float64 per token, the attribution to the predicted class in the
method's units, :mod:`interp_engine.attribution.registry`) and per requested per-row metric
``<metric>_<method>`` (float64, the value ``interp-studio evaluate`` computes for that sentence).

Every row is computed on its own (one sentence per attribution call, as the heatmap panel does
through :class:`~interp_engine.requests.AttributionRequest`), with torch's generator seeded from
``SeedSequence([seed, row])`` and the per-row metrics' sampling seeded from ``(seed, row)`` exactly
as :func:`interp_engine.evaluation.evaluate` seeds sentence ``row``; a method's own random draw
(LIME's ``seed``) is one of its parameters. A store therefore never depends on the batch size, the
order or the backend (local or Ray) that computed it.

Resuming: :func:`attribute_dataset` skips the rows already in the part files, so a killed run
continues where it stopped and ends with the same store. Appending is refused (:class:`StoreError`
naming what changed) when the model, masked LM, data file, methods, their parameters, metrics or
seed differ from the manifest's (:meth:`StoreSpec.identity`).
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .config import DatasetConfig, DeletionConfig, StoreConfig
from .errors import BackendError, InputError, StoreError, check_cancel

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as e:  # pragma: no cover - pyarrow is in the formats extra, which CI installs
    raise StoreError("attribution stores are Parquet files and need pyarrow: "
                     "pip install 'interp-studio[formats]'") from e

#: version of the store layout (columns, manifest); a store of another version is not appended to
STORE_SCHEMA_VERSION: int = 1
#: the part files, directly under STORE/
PART_GLOB = "part-*.parquet"
MANIFEST_NAME = "manifest.json"
#: the backends of :func:`attribute_dataset`
BACKENDS = ("local", "ray")
#: per-row metrics a store can hold (``<metric>_<method>``): those of ``evaluate`` that need no
#: other input than the sentence (``iot`` needs word tags and is not offered)
STORE_METRICS = ("auc_rep", "aopc", "comprehensiveness", "sufficiency", "loo_tau", "segment_ratio")
#: the input columns of :class:`AttributionWorker` (the output of :func:`dataset_rows`)
INPUT_COLUMNS = ("row", "text", "text_b", "gold")
#: display strings of special tokens, used by :meth:`StoredRow.to_attribution` for single texts
#: (whose store rows have no segments to mark them)
_SPECIAL_STRINGS = frozenset({"[CLS]", "[SEP]", "[PAD]", "[MASK]", "<s>", "</s>", "<pad>", "<cls>", "<sep>"})


# -- what a store holds ----------------------------------------------------------------------------
def full_configs(methods: Sequence[str], configs: Mapping[str, Any] | None = None) -> dict[str, dict]:
    """``{method: its full parameter JSON}``: each method's config (a config dataclass, a partial
    dict or missing) with every default filled in (``{}`` for methods without parameters).

    Raises:
        InputError: an unknown method or parameter.
    """
    from .attribution import registry

    out: dict[str, dict] = {}
    for m in methods:
        cls = registry.config_class(m)  # InputError: unknown method
        cfg = (configs or {}).get(m)
        if cls is None:
            out[m] = {}
        elif cfg is None:
            out[m] = cls().to_json()
        elif isinstance(cfg, Mapping):
            out[m] = cls.from_json(dict(cfg)).to_json()
        else:
            out[m] = cfg.to_json()
    return out


@dataclass(frozen=True)
class StoreSpec:
    """Everything that determines a store's content.

    Attributes:
        model_dir: the classifier folder (opened like ``interp-studio --model``).
        data_path: the dataset file (TSV/CSV/JSONL/Parquet, :func:`interp_engine.data.load_dataset`).
        methods: attribution methods (registry names), in column order.
        configs: method → its parameters; normalised to the full parameter JSON (defaults filled
            in, ``{}`` for methods without parameters) by the constructor.
        mlm_dir: masked-LM folder: marginalization's likelihood and the sampler of the per-row
            metrics' ``mlm`` strategy; None: none.
        text_column, pair_column, label_column, encoding: how the data file is read (as
            :class:`~interp_engine.config.DatasetConfig`; ``pair_column`` None/"": auto-detected).
        n: the first n rows (None: all).
        seed: each row is seeded from ``(seed, row)``.
        metrics: per-row metrics (of :data:`STORE_METRICS`), stored per method.
        strategy: replacement strategy of the curve metrics (None: ``mlm`` with a masked LM, else
            ``zero``). x_max: their AUC/AOPC range (Kim et al. §3.5: 0.2).
        allow_pickle: open a model whose weights are only a pickle (``torch.load(weights_only=True)``,
            as ``--allow-pickle``); not part of :meth:`identity`.
    """

    model_dir: str
    data_path: str
    methods: tuple[str, ...]
    configs: Mapping[str, dict] = field(default_factory=dict)
    mlm_dir: str | None = None
    text_column: str = DatasetConfig.text_column
    pair_column: str | None = None
    label_column: str = DatasetConfig.label_column
    encoding: str = DatasetConfig.encoding
    n: int | None = None
    seed: int = StoreConfig.seed
    metrics: tuple[str, ...] = ()
    strategy: str | None = None
    x_max: float = DeletionConfig.x_max
    allow_pickle: bool = False

    def __post_init__(self):
        from .attribution import registry

        methods = tuple(dict.fromkeys(str(m) for m in self.methods))
        if not methods:
            raise InputError("give at least one attribution method (--methods M1,M2,...)")
        for m in methods:
            registry.get(m)  # InputError naming the known methods
        metrics = tuple(dict.fromkeys(str(m) for m in self.metrics))
        bad = [m for m in metrics if m not in STORE_METRICS]
        if bad:
            raise InputError(f"unknown per-row metric(s) {', '.join(bad)}; choose from {', '.join(STORE_METRICS)}")
        if self.n is not None and int(self.n) < 1:
            raise InputError(f"--n must be >= 1, got {self.n}")
        if self.strategy is not None:
            from .faithfulness import STRATEGIES

            if self.strategy not in STRATEGIES:
                raise InputError(f"unknown replacement strategy {self.strategy!r}; choose one of "
                                 f"{', '.join(STRATEGIES)}")
        if not 0 < float(self.x_max) <= 1:
            raise InputError(f"--x-max must be in (0, 1], got {self.x_max}")
        object.__setattr__(self, "methods", methods)
        object.__setattr__(self, "metrics", metrics)
        object.__setattr__(self, "configs", full_configs(methods, self.configs))
        object.__setattr__(self, "model_dir", str(self.model_dir))
        object.__setattr__(self, "data_path", str(self.data_path))
        object.__setattr__(self, "mlm_dir", str(self.mlm_dir) if self.mlm_dir else None)
        object.__setattr__(self, "pair_column", self.pair_column or None)

    @property
    def metric_strategy(self) -> str:
        """The replacement strategy of the curve metrics (``strategy``, else ``mlm`` with a masked
        LM, else ``zero``)."""
        return self.strategy or ("mlm" if self.mlm_dir else "zero")

    def identity(self, dataset=None) -> dict:
        """What must match for a run to append to a store: ``schema_version``, ``model_hash`` and
        ``mlm_hash`` (:func:`interp_engine.hashing.model_folder_hash`; None without a masked LM),
        ``data_sha256`` (of the data file's bytes), the columns read (as resolved by
        :func:`~interp_engine.data.load_dataset`: ``dataset``, the spec's loaded dataset, or read
        here), ``methods``, ``configs``, ``metrics`` (with ``strategy`` and ``x_max`` when there are
        metrics) and ``seed``.

        Raises:
            InputError: the model or MLM folder holds no model files.
            DatasetError / OSError: the data file cannot be read.
        """
        from .export import file_hash
        from .hashing import model_folder_hash

        data = Path(self.data_path).expanduser()
        if not data.is_file():
            from .data import DatasetError

            raise DatasetError(f"{data}: file not found. Check the path and try again.")
        out = {"schema_version": STORE_SCHEMA_VERSION,
               "model_hash": model_folder_hash(self.model_dir),
               "mlm_hash": model_folder_hash(self.mlm_dir) if self.mlm_dir else None,
               "data_sha256": file_hash(data),
               "columns": _resolved_columns(self, dataset),
               "methods": list(self.methods),
               "configs": {m: dict(self.configs[m]) for m in self.methods},
               "metrics": list(self.metrics),
               "seed": int(self.seed)}
        if self.metrics:
            out["strategy"] = self.metric_strategy
            out["x_max"] = float(self.x_max)
        return out


def _resolved_columns(spec: StoreSpec, dataset=None) -> dict:
    """The columns the dataset of ``spec`` is read from, after auto-detection (so that a store made
    with ``--pair-column ""`` and one made with ``--pair-column hypothesis`` of the same file match)."""
    data = load_spec_dataset(spec) if dataset is None else dataset
    return {"text": data.text_column, "pair": data.pair_column if data.is_pair else None,
            "label": data.label_column if data.labels is not None else None}


def spec_of_engine(engine, *, methods, configs=None, n=None, seed: int = StoreConfig.seed, metrics=(),
                   encoding: str = DatasetConfig.encoding, strategy: str | None = None,
                   x_max: float = DeletionConfig.x_max) -> StoreSpec:
    """The :class:`StoreSpec` of the engine's open model folder, masked LM and dataset file (the
    columns the dataset was read from), for the GUI's and ``evaluate``'s requests.

    Raises:
        ModelLoadError: no model is open. InputError: no dataset file is open, or the model was
        not opened from a folder.
    """
    c = engine.require_model()
    if not c.path:
        raise InputError("the open model was not opened from a folder: a store records the model folder")
    data = engine.dataset
    if data is None or data.path is None:
        raise InputError("no dataset file is open: open one first (File → Open Dataset…, or --data FILE)")
    return StoreSpec(model_dir=str(c.path), data_path=str(data.path), methods=tuple(methods), configs=configs or {},
                     mlm_dir=str(engine.mlm_path) if engine.mlm_path is not None else None,
                     text_column=data.text_column, pair_column=data.pair_column if data.is_pair else None,
                     label_column=data.label_column, encoding=encoding, n=n, seed=seed, metrics=tuple(metrics),
                     strategy=strategy, x_max=x_max)


def _list(t: pa.DataType) -> pa.DataType:
    """A list type whose item is named ``element``, as Parquet writes and reads lists, so that a
    table read back from a part file has exactly :func:`arrow_schema`."""
    return pa.list_(pa.field("element", t))


def arrow_schema(methods: Sequence[str], metrics: Sequence[str] = ()) -> pa.Schema:
    """The Parquet schema of a store of ``methods`` with per-row ``metrics``.

    Columns: ``row`` int64, ``text`` string, ``text_b`` string (null for single texts),
    ``segments`` list<int32> (one per token; empty for single texts), ``tokens`` list<string>,
    ``gold`` int64 (-1 unknown), ``predicted`` int64, ``probabilities`` list<double> (C softmax
    probabilities), then ``scores_<method>`` list<double> (one per token) for each method, then
    ``<metric>_<method>`` double for each metric and method (metric-major order).
    """
    cols = [pa.field("row", pa.int64(), nullable=False), pa.field("text", pa.string()),
            pa.field("text_b", pa.string()), pa.field("segments", _list(pa.int32())),
            pa.field("tokens", _list(pa.string())), pa.field("gold", pa.int64()),
            pa.field("predicted", pa.int64()), pa.field("probabilities", _list(pa.float64()))]
    cols += [pa.field(f"scores_{m}", _list(pa.float64())) for m in methods]
    cols += [pa.field(f"{k}_{m}", pa.float64()) for k in metrics for m in methods]
    return pa.schema(cols)


def load_spec_dataset(spec: StoreSpec, *, progress=None, cancel=None):
    """The :class:`~interp_engine.data.Dataset` of ``spec`` (all rows). Raises DatasetError."""
    from .data import load_dataset

    return load_dataset(spec.data_path, text_column=spec.text_column, pair_column=spec.pair_column,
                        label_column=spec.label_column, encoding=spec.encoding, progress=progress, cancel=cancel)


def dataset_rows(spec: StoreSpec, dataset=None) -> dict[str, list]:
    """The input columns of the first ``spec.n`` rows of the dataset: ``row`` (0 .. k-1),
    ``text``, ``text_b`` (None for single texts) and ``gold`` (-1 without labels).
    ``dataset``: the already loaded dataset of ``spec`` (default: read the file).

    Raises:
        DatasetError: the data file cannot be read.
    """
    data = load_spec_dataset(spec) if dataset is None else dataset
    k = len(data) if spec.n is None else min(len(data), int(spec.n))
    return {"row": list(range(k)), "text": [str(t) for t in data.texts[:k]],
            "text_b": list(data.pairs[:k]) if data.pairs is not None else [None] * k,
            "gold": [int(v) for v in data.labels[:k]] if data.labels is not None else [-1] * k}


def _columns_of(batch) -> dict[str, list]:
    """A batch (dict of lists / numpy arrays, or a pyarrow Table / RecordBatch) as plain lists."""
    if isinstance(batch, (pa.Table, pa.RecordBatch)):
        batch = batch.to_pydict()
    out = {}
    for k, v in dict(batch).items():
        out[k] = v.tolist() if isinstance(v, np.ndarray) else list(v)
    missing = [c for c in INPUT_COLUMNS if c not in out]
    if missing:
        raise InputError(f"an attribution batch needs the columns {', '.join(INPUT_COLUMNS)}; "
                         f"missing {', '.join(missing)}")
    return out


def row_seed(seed: int, row: int) -> int:
    """The 32-bit seed of dataset row ``row``: ``SeedSequence([seed, row])``'s first word (the
    sub-seed ``evaluate`` gives sentence ``row``'s MLM sampling)."""
    return int(np.random.SeedSequence([int(seed), int(row)]).generate_state(1)[0])


# -- computing rows ------------------------------------------------------------------------------
class AttributionWorker:
    """Computes store rows: a callable class (a Ray Data actor, or called in-process by the local
    backend) that opens the classifier (and masked LM) once.

    Args:
        spec: what to compute. device: ``auto``/``cpu``/``cuda`` (None: ``auto``).
        threads: torch intra-op threads (None: torch's default).

    Raises:
        ModelLoadError: the model or masked LM cannot be opened.
    """

    def __init__(self, spec: StoreSpec, device: str | None = None, threads: int | None = None):
        import torch

        from .engine import Engine

        if threads is not None:
            torch.set_num_threads(max(1, int(threads)))
        self.spec = spec
        self.engine = Engine(device or "auto")
        self.engine.load_model(spec.model_dir, allow_pickle=spec.allow_pickle)
        if spec.mlm_dir:
            self.engine.load_mlm(spec.mlm_dir)
        self.schema = arrow_schema(spec.methods, spec.metrics)

    def __call__(self, batch, cancel=None) -> dict[str, list]:
        """Input columns ``row, text, text_b, gold`` → the columns of
        ``arrow_schema(spec.methods, spec.metrics)``, rows in input order.

        Each row is computed independently of the other rows of the batch and seeded from
        ``(spec.seed, row)``, so the output does not depend on batch size, composition or order.
        Rows go through :func:`interp_engine.batching.for_each_chunk`: out of memory halves the
        chunk of rows and retries it (down to one row).

        Raises:
            InputError: a text the model cannot read. Cancelled: ``cancel`` set.
        """
        from .batching import for_each_chunk

        cols = _columns_of(batch)
        n = len(cols["row"])

        def chunk(a: int, b: int) -> list[dict]:
            return [self.row(int(cols["row"][i]), cols["text"][i], cols["text_b"][i], cols["gold"][i], cancel=cancel)
                    for i in range(a, b)]

        parts, _ = for_each_chunk(n, chunk, max(1, n), cancel=cancel)
        rows = [r for p in parts for r in p]
        return {name: [r[name] for r in rows] for name in self.schema.names}

    def row(self, row: int, text: str, text_b: str | None, gold, *, cancel=None) -> dict:
        """The store row of one dataset row (a dict of the schema's columns). Each method's
        attribution is what :class:`~interp_engine.requests.AttributionRequest` gives on this
        input with ``spec.configs[method]`` (target: the predicted class)."""
        import torch

        from .attribution import registry
        from .inputs import TextInput

        spec, eng = self.spec, self.engine
        c = eng.require_model()
        if text_b is None or (isinstance(text_b, float) and np.isnan(text_b)):
            inp = TextInput.single(str(text))
        else:
            names = tuple(c.segment_names) if c.segment_names and len(c.segment_names) == 2 else None
            inp = TextInput.pair(str(text), str(text_b), **({"segments": names} if names else {}))
        atts = {}
        # seeded from (seed, row) inside a forked RNG: the caller's (the app's) torch random state is untouched
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(row_seed(spec.seed, row))
            for m in spec.methods:
                cls = registry.get(m)
                cfg = cls.config_class.from_json(spec.configs[m]) if cls.config_class is not None else None
                atts[m] = eng._attribute(inp, cls, None, cfg, cancel=cancel)
        eng.cache.clear()  # a store's rows are not revisited: keep the memory flat
        a0 = atts[spec.methods[0]]
        out = {"row": int(row), "text": str(text), "text_b": None if not inp.is_pair else str(text_b),
               "segments": ([int(v) for v in a0.segments] if inp.is_pair and a0.segments is not None else []),
               "tokens": [str(t) for t in a0.tokens], "gold": -1 if gold is None else int(gold),
               "predicted": int(a0.prediction.predicted),
               "probabilities": [float(p) for p in a0.prediction.probabilities]}
        for m, a in atts.items():
            out[f"scores_{m}"] = [float(v) for v in np.asarray(a.scores, dtype=np.float64)]
        if spec.metrics:
            from .evaluation import sentence_metrics

            for k in spec.metrics:
                vals = sentence_metrics(eng, row, inp, atts, k, strategy=spec.metric_strategy, x_max=spec.x_max,
                                        seed=spec.seed, label=None if out["gold"] < 0 else out["gold"],
                                        cancel=cancel)
                for m in spec.methods:
                    out[f"{k}_{m}"] = float(vals[m])
            eng.cache.clear()
        return out


def write_part(store: Path, columns: dict[str, list], name: str, methods: Sequence[str],
               metrics: Sequence[str] = ()) -> Path:
    """Write ``columns`` (the schema's columns, as lists) as the part file ``store/name``
    atomically: a temporary file in ``store`` (not matched by :data:`PART_GLOB`), then renamed.

    Raises:
        InputError: ``name`` does not match ``part-*.parquet``; columns that do not fit the schema.
    """
    store = Path(store)
    if not (name.startswith("part-") and name.endswith(".parquet")) or "/" in name:
        raise InputError(f"a part file is named part-*.parquet, got {name!r}")
    schema = arrow_schema(methods, metrics)
    try:
        table = pa.Table.from_pydict({f.name: columns[f.name] for f in schema}, schema=schema)
    except KeyError as e:
        raise InputError(f"a store part needs the column {e.args[0]}") from None
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise InputError(f"the store part does not fit the schema: {e}") from None
    store.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=store)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, store / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return store / name


# -- reading a store -----------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredRow:
    """One row of a store.

    Attributes:
        row: the dataset row. text, text_b: the text(s) (text_b None for single texts).
        segments: (n,) int64 per token (0/1 text of a pair, -1 special; empty for single texts).
        tokens: n token display strings. gold: gold label (-1 unknown). predicted: predicted class.
        probabilities: (C,) float64. scores: method → (n,) float64 attribution to ``predicted``.
        metrics: metric → method → value (the store's per-row metrics).
    """

    row: int
    text: str
    text_b: str | None
    segments: np.ndarray
    tokens: tuple[str, ...]
    gold: int
    predicted: int
    probabilities: np.ndarray
    scores: dict[str, np.ndarray]
    metrics: dict[str, dict[str, float]]

    @property
    def input(self):
        """The :class:`~interp_engine.inputs.TextInput` of the row."""
        from .inputs import TextInput

        return TextInput.single(self.text) if self.text_b is None else TextInput.pair(self.text, self.text_b)

    def special(self) -> np.ndarray:
        """(n,) bool special-token flags: ``segments == -1`` for pairs, else tokens whose display
        string is a usual special token ([CLS], [SEP], <s>, ...)."""
        if self.text_b is not None and len(self.segments) == len(self.tokens):
            return np.asarray(self.segments, dtype=np.int64) == -1
        return np.array([t in _SPECIAL_STRINGS for t in self.tokens], dtype=bool)

    def to_attribution(self, method: str, class_names=None, *, params: Mapping | None = None,
                       special: np.ndarray | None = None, offsets: np.ndarray | None = None):
        """The stored heatmap of ``method`` as a :class:`~interp_engine.results.TokenAttribution`
        (the result type the heatmap panel shows; nothing is recomputed): target = the predicted
        class, units from the registry. ``special``/``offsets``: the classifier's (from
        ``Classifier.encode``) when known; default :meth:`special` and zeros.

        Raises:
            InputError: the store has no scores of ``method``.
        """
        from .attribution import registry
        from .results import Prediction, TokenAttribution

        if method not in self.scores:
            raise InputError(f"the store holds no scores of {method!r}; it has {', '.join(self.scores)}")
        n = len(self.tokens)
        names = tuple(class_names) if class_names else tuple(str(i) for i in range(len(self.probabilities)))
        pair = self.text_b is not None
        return TokenAttribution(
            text=str(self.input), tokens=self.tokens,
            offsets=np.zeros((n, 2), dtype=np.int64) if offsets is None else np.asarray(offsets),
            special=self.special() if special is None else np.asarray(special, dtype=bool),
            scores=np.asarray(self.scores[method], dtype=np.float64), units=registry.units(method),
            method=method, target=int(self.predicted),
            prediction=Prediction(np.asarray(self.probabilities, dtype=np.float64), int(self.predicted), names),
            params=dict(params or {}),
            segments=np.asarray(self.segments, dtype=np.int64) if pair else None,
            segment_names=tuple(self.input.segments), texts=tuple(self.input.texts) if pair else ())


class AttributionStore:
    """An opened store (:func:`open_store`): every part read, rows sorted by ``row``, one per row
    (a row found in two part files, which only an interrupted Ray write can leave, is kept once).

    Attributes:
        path: the store folder. manifest: ``manifest.json``. methods, metrics: from the manifest.
    """

    def __init__(self, path: Path, manifest: dict, table: pa.Table):
        self.path = Path(path)
        self.manifest = manifest
        self.methods: tuple[str, ...] = tuple(manifest.get("methods", ()))
        self.metrics: tuple[str, ...] = tuple(manifest.get("metrics", ()))
        self._table = table
        self._rows = [int(v) for v in table.column("row").to_pylist()]
        self._index = {r: i for i, r in enumerate(self._rows)}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, row) -> bool:
        return int(row) in self._index

    def rows(self) -> list[int]:
        """The dataset rows present, sorted, each once."""
        return list(self._rows)

    def get(self, row: int) -> StoredRow:
        """The stored row ``row``. Raises StoreError when it is not in the store."""
        i = self._index.get(int(row))
        if i is None:
            raise StoreError(f"{self.path} holds no row {row} ({len(self)} rows stored)")
        r = {c: self._table.column(c)[i].as_py() for c in self._table.column_names}
        return StoredRow(
            row=int(r["row"]), text=r["text"], text_b=r["text_b"],
            segments=np.asarray(r["segments"] or [], dtype=np.int64), tokens=tuple(r["tokens"] or ()),
            gold=int(r["gold"]) if r["gold"] is not None else -1, predicted=int(r["predicted"]),
            probabilities=np.asarray(r["probabilities"], dtype=np.float64),
            scores={m: np.asarray(r[f"scores_{m}"], dtype=np.float64) for m in self.methods},
            metrics={k: {m: float(r[f"{k}_{m}"]) if r[f"{k}_{m}"] is not None else float("nan")
                         for m in self.methods} for k in self.metrics})

    def to_table(self) -> pa.Table:
        """All rows sorted by ``row``, one per row, with :func:`arrow_schema`'s columns."""
        return self._table

    def config_of(self, method: str) -> dict:
        """The full parameter JSON ``method`` was computed with."""
        return dict((self.manifest.get("configs") or {}).get(method) or {})


def _read_manifest(path: Path) -> dict:
    f = path / MANIFEST_NAME
    if not f.is_file():
        raise StoreError(f"{path} is not an attribution store: it has no {MANIFEST_NAME} "
                         "(make one with interp-studio attribute-dataset)")
    try:
        m = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise StoreError(f"{f} cannot be read: {e}") from None
    if not isinstance(m, dict) or "identity" not in m:
        raise StoreError(f"{f} is not the manifest of an attribution store")
    return m


def part_files(path: Path) -> list[Path]:
    """The part files of a store, by name."""
    return sorted(Path(path).glob(PART_GLOB))


def _unique_sorted(table: pa.Table) -> pa.Table:
    if table.num_rows == 0:
        return table
    rows = np.asarray(table.column("row").to_numpy(zero_copy_only=False), dtype=np.int64)
    _, first = np.unique(rows, return_index=True)  # sorted by row, first occurrence of each
    return table.take(pa.array(first))


def open_store(path) -> AttributionStore:
    """Open the store folder ``path``: its manifest and every part file.

    Raises:
        StoreError: no such folder, no manifest, a store of another schema version, or a part file
        that cannot be read or does not have the store's columns.
    """
    p = Path(path).expanduser()
    if not p.is_dir():
        raise StoreError(f"{p} is not an attribution store: no such folder")
    manifest = _read_manifest(p)
    version = manifest.get("schema_version")
    if version != STORE_SCHEMA_VERSION:
        raise StoreError(f"{p} is a store of schema version {version}; this version of Interp Studio reads "
                         f"version {STORE_SCHEMA_VERSION}")
    schema = arrow_schema(manifest.get("methods", ()), manifest.get("metrics", ()))
    tables = []
    for f in part_files(p):
        try:
            t = pq.read_table(f)
        except (OSError, pa.ArrowException) as e:
            raise StoreError(f"{f} cannot be read as Parquet: {e}") from None
        if set(t.column_names) != set(schema.names):
            raise StoreError(f"{f} does not have the store's columns (expected {', '.join(schema.names)}; "
                             f"found {', '.join(t.column_names)})")
        try:
            tables.append(t.select(schema.names).cast(schema))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
            raise StoreError(f"{f} has columns of other types than the store's: {e}") from None
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    return AttributionStore(p, manifest, _unique_sorted(table))


def stored_rows(path: Path) -> set[int]:
    """The dataset rows already in the part files of ``path`` (reads the ``row`` column only).

    Raises:
        StoreError: a part file cannot be read.
    """
    out: set[int] = set()
    for f in part_files(path):
        try:
            out.update(int(v) for v in pq.read_table(f, columns=["row"]).column("row").to_pylist())
        except (OSError, pa.ArrowException) as e:
            raise StoreError(f"{f} cannot be read as Parquet: {e}") from None
    return out


# -- the whole dataset -----------------------------------------------------------------------------
#: how each identity key is named in a refusal
_WHAT = {"schema_version": "the store's schema version", "model_hash": "the model (its content hash)",
         "mlm_hash": "the masked LM (its content hash)", "data_sha256": "the data file (its sha256)",
         "columns": "the data columns read", "methods": "the methods", "metrics": "the per-row metrics",
         "seed": "the seed", "strategy": "the metrics' replacement strategy", "x_max": "the metrics' x_max"}


def identity_differences(old: Mapping, new: Mapping) -> list[str]:
    """What differs between two :meth:`StoreSpec.identity` dicts, as phrases ("the model (its
    content hash)", "the parameters of lime (seed: 0 → 1)")."""
    out = []
    for k in sorted(set(old) | set(new), key=lambda k: list(_WHAT).index(k) if k in _WHAT else 99):
        if k == "configs":
            continue
        if old.get(k) != new.get(k):
            out.append(_WHAT.get(k, k))
    oc, nc = old.get("configs") or {}, new.get("configs") or {}
    for m in new.get("methods") or []:
        if m in oc and oc[m] != nc.get(m):
            keys = sorted(set(oc[m]) | set(nc.get(m) or {}))
            ch = [f"{k}: {oc[m].get(k)!r} → {(nc.get(m) or {}).get(k)!r}" for k in keys
                  if oc[m].get(k) != (nc.get(m) or {}).get(k)]
            out.append(f"the parameters of {m} ({', '.join(ch)})")
    return out


def check_appendable(out: Path, identity: Mapping) -> dict | None:
    """The manifest of the store ``out`` when a run of ``identity`` may append to it (None: no
    store there yet).

    Raises:
        StoreError: ``out`` is a file, a non-empty folder that is not a store, or a store made
        with a different model, MLM, data, methods, parameters, metrics or seed (the message names
        what changed).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StoreError(f"--out {out} is a file; give a folder for the store")
    if not out.is_dir() or not any(out.iterdir()):
        return None
    if not (out / MANIFEST_NAME).is_file():
        raise StoreError(f"--out {out} is a folder that holds other files and no {MANIFEST_NAME}: "
                         "choose a new or empty folder for the store")
    manifest = _read_manifest(out)
    diff = identity_differences(manifest["identity"], identity)
    if diff:
        raise StoreError(f"{out} was made with other settings; not appending to it: {'; '.join(diff)} changed "
                         "(choose another --out folder, or delete this one)")
    return manifest


def _write_manifest(out: Path, manifest: dict) -> None:
    from .export import atomic_write

    atomic_write(out / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=False) + "\n")


def _new_manifest(spec: StoreSpec, identity: dict, old: dict | None, backend: str) -> dict:
    from .export import app_version

    def resolved(p):
        return str(Path(p).expanduser().resolve()) if p else None

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"format": "interp-studio attribution store", "schema_version": STORE_SCHEMA_VERSION,
            "app_version": app_version(), "created": (old or {}).get("created", now), "updated": now,
            "model": {"path": resolved(spec.model_dir), "hash": identity["model_hash"]},
            "mlm": {"path": resolved(spec.mlm_dir), "hash": identity["mlm_hash"]} if spec.mlm_dir else None,
            "data": {"path": resolved(spec.data_path), "sha256": identity["data_sha256"], **identity["columns"]},
            "methods": list(spec.methods), "configs": identity["configs"], "metrics": list(spec.metrics),
            **({"strategy": identity["strategy"], "x_max": identity["x_max"]} if spec.metrics else {}),
            "seed": int(spec.seed), "n": spec.n, "rows_done": int((old or {}).get("rows_done", 0)),
            "backend": backend, "identity": identity}


def attribute_dataset(spec: StoreSpec, out, *, backend: str = StoreConfig.backend, batch_size: int | None = None,
                      workers: int | None = None, address: str | None = None,
                      progress: Callable[[int, int, str], None] | None = None, cancel=None,
                      device: str | None = None) -> dict:
    """Compute every method of ``spec`` on every row of its dataset (the first ``spec.n``) into
    the store folder ``out``; resumable.

    Validates or creates ``out/manifest.json`` (model and MLM content hashes, methods with their
    full parameters, data path and sha256, app version, seed, n, rows done; see
    :meth:`StoreSpec.identity`), skips the rows already stored, computes the others with the
    ``local`` backend (an in-process :class:`AttributionWorker` over batches of ``batch_size``
    rows, one part file per batch, ``progress``/``cancel`` between batches) or the ``ray``
    backend (:func:`interp_engine.ray_backend.run_ray`, imported here), and updates the manifest.

    Args:
        spec: what to compute. out: the store folder (created).
        backend: ``local`` or ``ray``. batch_size: rows per part file / Ray batch (None:
            :class:`~interp_engine.config.StoreConfig`). workers: Ray actors (None: one per CPU or
            GPU). address: Ray cluster address (None: a local Ray). device: the local worker's
            device (None: ``auto``).
        progress: ``progress(rows stored, rows asked for, message)``. cancel: ``threading.Event``.

    Returns:
        ``{"rows": rows in the store, "seconds": wall time of this call, "backend", "out"}``.

    Raises:
        StoreError: ``out`` holds a store made with other settings (nothing is written then), or
            is not a store folder. BackendError: Ray is not installed or unreachable.
        InputError, ModelLoadError, DatasetError: bad spec, model or data. Cancelled: ``cancel``
            was set (the parts written so far stay; a rerun continues).
    """
    t0 = time.perf_counter()
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    bs = StoreConfig.batch_size if batch_size is None else int(batch_size)
    if bs < 1:
        raise InputError(f"--batch-size must be >= 1, got {bs}")
    if workers is not None and int(workers) < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    outp = Path(out).expanduser()
    data = load_spec_dataset(spec, cancel=cancel)
    identity = spec.identity(data)
    old = check_appendable(outp, identity)
    rows = dataset_rows(spec, data)
    total = len(rows["row"])
    done = stored_rows(outp) if outp.is_dir() else set()
    keep = [i for i, r in enumerate(rows["row"]) if r not in done]
    todo = {k: [v[i] for i in keep] for k, v in rows.items()}
    # open the model before anything is written: a model that does not open leaves no store behind
    worker = AttributionWorker(spec, device=device) if keep and backend == "local" else None
    outp.mkdir(parents=True, exist_ok=True)
    manifest = _new_manifest(spec, identity, old, backend)
    manifest["rows_done"] = len(done)
    _write_manifest(outp, manifest)
    n_done = total - len(keep)
    if progress is not None:
        progress(n_done, total, f"{n_done} of {total} rows stored")
    try:
        if worker is not None:
            for a in range(0, len(keep), bs):
                check_cancel(cancel)
                batch = {k: v[a:a + bs] for k, v in todo.items()}
                cols = worker(batch, cancel=cancel)
                write_part(outp, cols, f"part-local-{batch['row'][0]:09d}.parquet", spec.methods, spec.metrics)
                n_done += len(batch["row"])
                manifest["rows_done"] = n_done
                _write_manifest(outp, manifest)
                if progress is not None:
                    progress(n_done, total, f"row {batch['row'][-1] + 1} of {total}")
        elif keep:
            try:
                from .ray_backend import run_ray
            except ImportError as e:
                raise BackendError("Ray is not installed: pip install 'interp-studio[scale]'") from e
            run_ray(spec, todo, outp, batch_size=bs, workers=workers, address=address, progress=progress,
                    cancel=cancel)
    finally:
        manifest["rows_done"] = len(stored_rows(outp))
        manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        _write_manifest(outp, manifest)
    check_cancel(cancel)
    return {"rows": int(manifest["rows_done"]), "seconds": time.perf_counter() - t0, "backend": backend,
            "out": str(outp)}


# -- evaluate from a store -------------------------------------------------------------------------
def check_evaluable(store: AttributionStore, spec: StoreSpec, n_rows: int, dataset=None) -> None:
    """Refuse (StoreError naming what differs) a store that ``evaluate`` cannot read for ``spec``:
    another model, data file or columns, a method it lacks, other parameters of a method, another
    masked LM where a method needs one, or missing rows among the first ``n_rows``. (The seed and
    the per-row metrics of the store do not matter: they do not change the attributions.)"""
    from .attribution import registry

    have = store.manifest["identity"]
    want = spec.identity(dataset)
    diff = [_WHAT[k] for k in ("schema_version", "model_hash", "data_sha256", "columns") if have.get(k) != want.get(k)]
    missing = [m for m in spec.methods if m not in store.methods]
    if missing:
        diff.append(f"the methods (the store has no {', '.join(missing)})")
    if any(registry.get(m).needs_likelihood for m in spec.methods) and have.get("mlm_hash") != want.get("mlm_hash"):
        diff.append(_WHAT["mlm_hash"])
    old = {"methods": list(spec.methods), "configs": {m: store.config_of(m) for m in spec.methods if m not in missing}}
    diff += identity_differences(old, {"methods": list(spec.methods), "configs": want["configs"]})
    if diff:
        raise StoreError(f"the store {store.path} was made with other settings than this evaluation: "
                         f"{'; '.join(diff)} (make a new store, or evaluate with its settings)")
    absent = [r for r in range(n_rows) if r not in store]
    if absent:
        raise StoreError(f"the store {store.path} lacks {len(absent)} of the {n_rows} rows evaluated (first: row "
                         f"{absent[0]}); complete it with interp-studio attribute-dataset --out {store.path}")


def store_attributions(engine, request, methods: Sequence[str], n_rows: int, *, progress=None, cancel=None):
    """``evaluate``'s attributions from a store: ``attributions(i, text) -> {method: TokenAttribution}``
    for :func:`interp_engine.evaluation.evaluate`.

    The store is ``request.store`` when it exists (checked with :func:`check_evaluable`), else it
    is made first by :func:`attribute_dataset` with ``request.backend`` into ``request.store``, or a
    folder ``attributions`` inside ``request.out``, or a temporary folder. Each row's special-token
    flags and offsets come from encoding its text with the open classifier, whose tokens must be the
    stored ones.

    Raises:
        StoreError: the store does not fit (see :func:`check_evaluable`). BackendError: Ray missing.
    """
    from .evaluation import LOO_REFERENCE

    methods = list(methods)
    existing = bool(request.store) and (Path(request.store).expanduser() / MANIFEST_NAME).is_file()
    store = open_store(request.store) if existing else None
    # loo_tau's reference: stored with the methods of a new store; from an older store when it has
    # it, else computed by evaluate
    if request.metric == "loo_tau" and LOO_REFERENCE not in methods and \
            (store is None or LOO_REFERENCE in store.methods):
        methods.append(LOO_REFERENCE)
    ev = request.evaluate
    spec = spec_of_engine(engine, methods=methods, configs={m: request.config_for(m) for m in methods}, n=ev.n,
                          seed=ev.seed)
    data = engine.dataset
    if store is None:
        if request.store:
            path = Path(request.store).expanduser()
        elif request.out:
            path = Path(request.out).expanduser() / "attributions"
        else:  # a temporary store, read into memory and removed
            path = Path(tempfile.mkdtemp(prefix="interp-store-"))
        try:
            attribute_dataset(spec, path, backend=request.backend, batch_size=StoreConfig.batch_size,
                              workers=request.workers, address=request.address, progress=progress, cancel=cancel,
                              device=engine.device)
            store = open_store(path)
        finally:
            if not request.store and not request.out:
                import shutil

                shutil.rmtree(path, ignore_errors=True)
    check_evaluable(store, spec, n_rows, data)
    c = engine.require_model()
    names = tuple(c.class_names)

    def attributions(i: int, text) -> dict:
        r = store.get(i)
        enc = c.encode([text])
        if tuple(enc.tokens[0]) != r.tokens:
            raise StoreError(f"row {i} of the store {store.path} has other tokens than the model gives its text")
        special = np.asarray(enc.special[0], dtype=bool)
        offsets = np.asarray(enc.offsets[0]) if getattr(enc, "offsets", None) is not None else None
        return {m: r.to_attribution(m, names, params=store.config_of(m), special=special, offsets=offsets)
                for m in methods}

    return attributions


__all__ = ["AttributionStore", "AttributionWorker", "BACKENDS", "MANIFEST_NAME", "PART_GLOB", "STORE_METRICS",
           "STORE_SCHEMA_VERSION", "StoreSpec", "StoredRow", "arrow_schema", "attribute_dataset", "check_appendable",
           "dataset_rows", "full_configs", "spec_of_engine", "identity_differences", "open_store", "part_files", "row_seed",
           "store_attributions", "check_evaluable", "stored_rows", "write_part"]
