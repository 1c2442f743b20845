"""Display texts shared by the panels: method names (from the attribution registry, read when
shown), class names, small HTML helpers, and the info line of an attribution result (no widgets)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from interp_engine.attribution import registry


def friendly_method_name(key: str) -> str:
    """Menu name of an attribution method key (``grad_input`` → ``Gradient × input``): the
    registry's label."""
    return registry.label(key)


class _RegistryKeys:
    """A read-only, always-current view of a tuple of method keys from the registry
    (``key in WOE_METHODS`` reads the registry at that moment)."""

    def __init__(self, source):
        self._source = source

    def __contains__(self, key) -> bool:
        return key in self._source()

    def __iter__(self):
        return iter(self._source())

    def __len__(self) -> int:
        return len(self._source())

    def __repr__(self) -> str:
        return repr(self._source())


#: methods whose scores are a weight of evidence (a token click shows the candidate table)
WOE_METHODS = _RegistryKeys(registry.woe_methods)


def class_name(names: Sequence[str], i: int) -> str:
    """Display name of class ``i``: its name, or "class 0" when the name is only a number
    (or there is none)."""
    name = str(names[i]) if 0 <= i < len(names) else str(i)
    return f"class {name}" if name.strip().lstrip("-").isdigit() else name


#: word joiner: forbids a line break between the characters it separates
WJ = "\u2060"
#: the heatmap's scale, written so that no line break falls inside it
SCALE_UNIT = f"scale\u00a0±max{WJ}|{WJ}score{WJ}|"


def nowrap(html: str) -> str:
    """``html`` kept on one line: spaces become non-breaking, a word joiner after every ``|``
    and ``/`` (Qt breaks lines after them) and the span asks for ``white-space: nowrap``."""
    html = html.replace(" ", "\u00a0")
    for ch in "|/":
        html = html.replace(f"{ch}", f"{WJ}{ch}{WJ}")
    return f"<span style='white-space:nowrap'>{html}</span>"


def esc(s) -> str:
    """``s`` escaped for Qt rich text."""
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def info_text(a) -> str:
    """The info line of a result: parameters, mean candidates per token, dropped mass, time."""
    parts = []
    p = dict(a.params or {})
    if a.method == "marginalization":
        lik = p.get("likelihood", "")
        cut = f"top-{p['top_n']}" if p.get("top_n") else f"σ = {p.get('sigma', 0):g}"
        parts.append(f"{esc(str(lik))} likelihood, {cut}" if lik else cut)
    n_c = getattr(a, "n_candidates", None)
    if n_c is not None:
        n_c = np.asarray(n_c, dtype=float)
        real = n_c[~np.asarray(a.special, bool)] if len(n_c) == len(a.special) else n_c
        real = real[real > 0]
        if real.size:
            parts.append(f"{real.mean():.1f} candidates per token (mean)")
    dropped = getattr(a, "dropped_mass", None)
    if dropped is not None:
        d = np.asarray(dropped, dtype=float)
        if d.size and np.nanmax(d) > 0:
            parts.append(f"dropped likelihood mass: mean {np.nanmean(d):.3g}, max {np.nanmax(d):.3g}")
    seconds = getattr(a, "seconds", None)
    if seconds:
        parts.append(f"{seconds:.2g} s")
    return " &nbsp;·&nbsp; ".join(parts)
