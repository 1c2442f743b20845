"""A bounded in-memory cache of engine results, so going back to a sentence is instant. No Qt.

Results are keyed by ``(model content hash, text, method, parameters)`` (see
:meth:`ResultCache.key`). The cache holds at most ``max_entries`` results and about ``max_bytes``
of numpy data, evicting the least recently used first. The :class:`~interp_engine.engine.Engine`
clears it when another model is opened, the device changes, or the likelihood model of
marginalization changes, so a result never outlives what it was computed with.

Cached results are the frozen result dataclasses of :mod:`interp_engine.results`; the same object
is returned to every caller, so callers must not modify its arrays in place.
"""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from typing import Any, Hashable

import numpy as np

__all__ = ["ResultCache", "result_nbytes"]


def _freeze(value: Any) -> Hashable:
    """A hashable, order-independent form of a parameter value (dicts, lists, arrays, floats)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return value.item()
    return value


def result_nbytes(obj: Any, _depth: int = 0) -> int:
    """Approximate memory of a result: its numpy arrays and strings (bytes), recursively through
    dataclass fields, tuples and dicts (at most 4 levels deep)."""
    if _depth > 4:
        return 0
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, str):
        return len(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return 64 + sum(result_nbytes(getattr(obj, f.name), _depth + 1) for f in dataclasses.fields(obj))
    if isinstance(obj, (tuple, list)):
        return 16 + sum(result_nbytes(v, _depth + 1) for v in obj)
    if isinstance(obj, dict):
        return 64 + sum(result_nbytes(v, _depth + 1) for v in obj.values())
    return 16


class ResultCache:
    """Least-recently-used cache of result objects, bounded by count and by bytes.

    Args:
        max_entries: most results kept (>= 1).
        max_bytes: most bytes of result data kept (estimated by :func:`result_nbytes`); a single
            result larger than this is not cached.

    Attributes:
        hits, misses: counters since creation (for tests and the status bar).

    Thread-safe (one lock); the engine uses it from its worker thread only.
    """

    def __init__(self, max_entries: int = 256, max_bytes: int = 64 * 2**20):
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("max_entries and max_bytes must be >= 1")
        self.max_entries = int(max_entries)
        self.max_bytes = int(max_bytes)
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(model_hash: str, text: str, method: str, params: dict | None = None) -> Hashable:
        """The cache key of a result: the model's content hash, the exact text, the method (or
        result kind, e.g. ``"hidden"``) and every parameter that changes the result."""
        return (str(model_hash), str(text), str(method), _freeze(params or {}))

    def get(self, key: Hashable) -> Any | None:
        """The cached result for ``key`` (marked most recently used), or None."""
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, result: Any) -> None:
        """Store ``result`` under ``key``, evicting the least recently used entries over the bounds."""
        size = result_nbytes(result)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._data[key] = (result, size)
            self._bytes += size
            while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, s) = self._data.popitem(last=False)
                self._bytes -= s

    def clear(self) -> None:
        """Forget every result (a new model, device or likelihood model)."""
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def nbytes(self) -> int:
        """Estimated bytes held."""
        return self._bytes

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data
