"""Batched engine jobs that survive running out of GPU memory. No Qt.

Every batched job of the engine (marginalization and erasure chunks, dataset prediction, the
search index's activation table, the masked LM's forwards in ``MaskedLMLikelihood.predict``, the
classifier batch of the deletion/insertion curves, input optimization (the locations are split
into parts optimised in sequence), corpus search and the matching rate's sentence batches) goes
through :func:`for_each_chunk` (Captum's internally batched methods through
:func:`with_halving`): it runs ``fn(start, stop)``
over ``[0, n)`` in chunks, checks ``cancel`` and reports ``progress`` between chunks, and when a
chunk raises an out-of-memory error it halves the chunk size (down to 1) and retries the same
rows, so the job continues at the largest size that fits instead of failing.
"""
from __future__ import annotations

from typing import Callable, TypeVar

import torch

from .errors import check_cancel

T = TypeVar("T")
ProgressFn = Callable[[int, int, str], None]

#: chunk sizes that ran out of memory and were halved, newest last (for logs and tests)
OOM_EVENTS: list[tuple[int, int]] = []


def is_oom(e: BaseException) -> bool:
    """True for ``torch.OutOfMemoryError`` (``torch.cuda.OutOfMemoryError`` is the same class) and
    for a ``RuntimeError`` whose message says "out of memory" (older PyTorch, MPS, cuDNN)."""
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(e, oom)) or (isinstance(e, RuntimeError) and "out of memory" in str(e))


def for_each_chunk(n: int, fn: Callable[[int, int], T], chunk_size: int, *, progress: ProgressFn | None = None,
                   cancel=None, message: str = "", done0: int = 0, total: int | None = None) -> tuple[list[T], int]:
    """Call ``fn(start, stop)`` on consecutive chunks of ``[0, n)``, halving the chunk on OOM.

    Args:
        n: number of rows.
        fn: computes rows ``[start, stop)``; it must have no side effect that survives an
            out-of-memory exception (the same rows are asked again, in a smaller chunk).
        chunk_size: rows per call to start with (at least 1).
        progress: ``progress(done0 + rows done, total, message)`` after every chunk.
        cancel: ``threading.Event``; checked before every chunk and at the end.
        total: the ``total`` reported to ``progress`` (default ``n``).

    Returns:
        ``(outputs of fn in order, the chunk size in use at the end)``.

    Raises:
        Cancelled: ``cancel`` was set.
        torch.OutOfMemoryError: a chunk of a single row does not fit.
        Anything else ``fn`` raises.
    """
    total = n if total is None else total
    outs: list[T] = []
    start, size = 0, max(1, int(chunk_size))
    while start < n:
        check_cancel(cancel)
        stop = min(n, start + size)
        try:
            outs.append(fn(start, stop))
        except BaseException as e:  # noqa: BLE001 - re-raised unless it is an OOM we can shrink for
            if is_oom(e) and size > 1:
                OOM_EVENTS.append((size, max(1, size // 2)))
                del OOM_EVENTS[:-100]
                size = max(1, size // 2)
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            raise
        start = stop
        if progress is not None:
            progress(done0 + start, total, message)
    check_cancel(cancel)
    return outs, size


def with_halving(fn: Callable[[int], T], batch_size: int, *, cancel=None) -> T:
    """Call ``fn(batch_size)`` for a library that batches internally (Captum's
    ``internal_batch_size``, ``perturbations_per_eval``); on out-of-memory call it again with half
    the batch size, down to 1. Results do not depend on the batch size (Captum's contract).

    Raises:
        Cancelled: ``cancel`` was set. torch.OutOfMemoryError: even a batch of 1 does not fit.
    """
    size = max(1, int(batch_size))
    while True:
        check_cancel(cancel)
        try:
            return fn(size)
        except BaseException as e:  # noqa: BLE001 - re-raised unless it is an OOM we can shrink for
            if not is_oom(e) or size == 1:
                raise
            OOM_EVENTS.append((size, max(1, size // 2)))
            del OOM_EVENTS[:-100]
            size = max(1, size // 2)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()


def run_chunked(n: int, fn: Callable[[int, int], torch.Tensor], chunk_size: int, *, progress: ProgressFn | None = None,
                cancel=None, message: str = "", done0: int = 0, total: int | None = None) -> tuple[torch.Tensor, int]:
    """:func:`for_each_chunk` for functions returning tensors: the chunks concatenated on dim 0.

    Returns:
        ``(concatenated results (n, ...), the chunk size that worked)``; an empty float64 tensor
        when ``n == 0``.
    """
    outs, size = for_each_chunk(n, fn, chunk_size, progress=progress, cancel=cancel, message=message,
                                done0=done0, total=total)
    if not outs:
        return torch.zeros(0, dtype=torch.float64), size
    return torch.cat(outs), size
