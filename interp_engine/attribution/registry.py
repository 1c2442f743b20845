"""The one table of token attribution methods (no Qt).

The GUI's method menus and settings forms, the CLI's ``--method``/``--methods`` choices, the
figures' row labels, the deletion-curve dock's legend and ``evaluate``'s tables all read this
table. Adding a method is one module with an :class:`~.base.AttributionMethod` subclass and one
line in :data:`_BUILTIN` (or :func:`register` from a plug-in).
"""
from __future__ import annotations

from typing import Iterator

from ..errors import InputError
from .base import AttributionMethod
from .captum_methods import IntegratedGradients, Lime
from .erasure import UnkErasure, ZeroErasure
from .gradient import Gradient, GradientTimesInput
from .loo import LeaveOneOut
from .marginalization import Marginalization

#: built-in methods, in menu order
_BUILTIN: tuple[type[AttributionMethod], ...] = (
    Gradient, GradientTimesInput, Marginalization, ZeroErasure, UnkErasure, LeaveOneOut, IntegratedGradients, Lime,
)

_METHODS: dict[str, type[AttributionMethod]] = {cls.name: cls for cls in _BUILTIN}


def register(cls: type[AttributionMethod]) -> type[AttributionMethod]:
    """Add (or replace) a method; usable as a class decorator. Returns ``cls``.

    Raises:
        InputError: ``cls`` has no ``name`` or ``label``.
    """
    if not getattr(cls, "name", "") or not getattr(cls, "label", ""):
        raise InputError(f"{cls.__name__}: an attribution method needs a name and a label")
    _METHODS[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a method added by :func:`register` (tests)."""
    _METHODS.pop(name, None)


def names() -> tuple[str, ...]:
    """Every method key, in menu order."""
    return tuple(_METHODS)


def methods() -> Iterator[type[AttributionMethod]]:
    return iter(tuple(_METHODS.values()))


def get(name: str) -> type[AttributionMethod]:
    """The class of method ``name``.

    Raises:
        InputError: unknown method (the message lists the known ones).
    """
    try:
        return _METHODS[name]
    except KeyError:
        raise InputError(f"unknown attribution method {name!r}; choose one of {', '.join(_METHODS)}") from None


def is_known(name: str) -> bool:
    return name in _METHODS


def label(name: str) -> str:
    """Display name of a method key (unknown keys get a generated one)."""
    cls = _METHODS.get(name)
    return cls.label if cls is not None else name.replace("_", " ").capitalize()


def short_label(name: str) -> str:
    """Abbreviation for table headers (``Marg``, ``Zero``, ...)."""
    cls = _METHODS.get(name)
    return cls.short_label or cls.label if cls is not None else name


def units(name: str) -> str:
    return get(name).units


def units_by_method() -> dict[str, str]:
    """``{key: units}`` of every method (the heatmap panel's method list)."""
    return {k: c.units for k, c in _METHODS.items()}


def shares_scale_across_models(name: str) -> bool:
    """Whether two models' rows of method ``name`` share one colour scale (the model comparison,
    Kim et al. 2020 Fig. 4a): the method's ``units_shared_across_models``, or by default True
    exactly for WoE methods (bits of log-odds, the same unit for any classifier) and False for
    logit and gradient units (model-specific: each row is normalised to its own ±max|score|).

    Raises:
        InputError: unknown method.
    """
    cls = get(name)
    own = getattr(cls, "units_shared_across_models", None)
    return bool(cls.woe) if own is None else bool(own)


def model_scale_note(name: str) -> str:
    """The sentence a model comparison of method ``name`` shows about its colour scale:
    ``"one colour scale: bits of WoE"`` (WoE methods), ``"one colour scale: <units>"`` (other
    shared units) or ``"separate scales: gradient units differ between models"``."""
    cls = get(name)
    if not shares_scale_across_models(name):
        return "separate scales: gradient units differ between models"
    return "one colour scale: bits of WoE" if cls.woe else f"one colour scale: {cls.units}"


def woe_methods() -> tuple[str, ...]:
    """Methods whose scores are a weight of evidence (a token click shows the candidate table)."""
    return tuple(k for k, c in _METHODS.items() if c.woe)


def slow_methods() -> frozenset[str]:
    """Methods slow enough for a progress bar and Cancel."""
    return frozenset(k for k, c in _METHODS.items() if c.slow)


def config_class(name: str):
    return get(name).config_class


def default_config(name: str):
    cls = get(name).config_class
    return cls() if cls is not None else None


def help_text() -> str:
    """One line per method for ``--help``: ``key: description [units]``."""
    return "; ".join(f"{k}: {c.description} [{c.units}]" for k, c in _METHODS.items())


__all__ = ["config_class", "default_config", "get", "help_text", "is_known", "label", "methods", "model_scale_note",
           "names", "register", "shares_scale_across_models", "short_label", "slow_methods", "units",
           "units_by_method", "unregister", "woe_methods"]
