"""Work-arounds for bugs of the Qt binding that crash the application.

PySide6 6.12.0 on Python 3.11 gets the reference counts of the singletons ``None``, ``True`` and
``False`` wrong: every call of a wrapped C++ method that returns ``None`` (a void method such as
``QGraphicsItem.setPos`` or ``QObject.setObjectName``, or a null pointer such as
``QObject.parent()``) decrements ``None``'s count once too often, and every ``Signal.emit`` does
the same to ``True``. Measured here: exactly -1 per call for every such method tried, and 0 with
PySide6 6.11.3. A Qt application makes such calls all the time, so after some tens of thousands
of them a count reaches zero and the interpreter aborts with "Fatal Python error: none_dealloc"
(or ``bool_dealloc``) at a random place: the soak test of issue 8 hit it after about 300 user
actions, in pyqtgraph's ``ViewBox.removeItem``, and it is the likely cause of the "unexplained"
crash of one CI run in the Qt tests. Python 3.12 made these objects immortal (PEP 683), which
makes the bug harmless there.

:func:`protect_none_refcount` detects the leaks with a few hundred harmless calls and, only where
one is present, does what Python 3.12 does: it makes the reference count of the leaking
singletons so large that it cannot reach zero. ``pyproject.toml`` also excludes
PySide6-Essentials 6.12.0, so a fresh install gets a version without the bug.
"""
from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_checked = False
#: True once the leak was found and ``None`` was made effectively immortal
PATCHED = False
_PROBES = 256


def singleton_leaks() -> dict[str, float]:
    """Decrements per call of the reference counts of ``None`` (by a void PySide6 method) and
    ``True`` (by ``Signal.emit``); 0.0 where the binding is fine."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        sig = Signal(bool)

    o = _Probe()
    o.sig.connect(_ignore)
    before = sys.getrefcount(None)
    for _ in range(_PROBES):
        o.setObjectName("probe")
    none = (before - sys.getrefcount(None)) / _PROBES
    before = sys.getrefcount(True)
    for _ in range(_PROBES):
        o.sig.emit(False)
    true = (before - sys.getrefcount(True)) / _PROBES
    o.sig.disconnect(_ignore)
    return {"None": none, "True": true}


def _ignore(_value) -> None:
    return


def _immortalize(obj) -> None:
    ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 60


def protect_none_refcount() -> bool:
    """Detect PySide6's reference leaks on ``None``/``True``/``False`` (see the module docstring)
    once per process and, if present on a Python without immortal singletons, add 2**60 to the
    reference count of the leaking ones (both booleans when one leaks).

    Returns:
        True when the patch was applied (now or by an earlier call).
    """
    global _checked, PATCHED
    if _checked:
        return PATCHED
    _checked = True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    leaks = singleton_leaks()
    if leaks["None"] >= 0.5:
        _immortalize(None)
    if leaks["True"] >= 0.5:
        _immortalize(True)
        _immortalize(False)
    PATCHED = any(v >= 0.5 for v in leaks.values())
    if PATCHED:
        import PySide6

        log.warning("PySide6 %s leaks references to None/True (%s per call); they were made immortal to keep "
                    "the application from aborting. Install another version: pip install "
                    "'PySide6-Essentials!=6.12.0'.", PySide6.__version__,
                    ", ".join(f"{k} {v:.2f}" for k, v in leaks.items()))
    return PATCHED
