"""The neighbour scatter's colours and its text below the plot (Yuan et al.
``001_e80f9d2c7d254978.txt`` eq. 5-8): one line per location with its receptive field, its nearest
words and how its optimisation went (steps used, early stop, final objective of eq. 6)."""
from __future__ import annotations

from PySide6.QtGui import QColor

from ..colors import MARK_COLORS
from .labels import esc as _esc

#: colours of selected locations beyond a layer's top three (rank 3, 4, ...)
EXTRA_COLORS = (QColor(230, 120, 0), QColor(140, 50, 190), QColor(0, 150, 160), QColor(150, 90, 40),
                QColor(220, 0, 150), QColor(90, 90, 90))

#: how to use the plot, after the locations in the legend's tooltip
HOW_TO = ("Hover a point: its cosine similarity. Click a word: search the training set. Click a ★: outline its "
          "receptive field.")


def location_color(rank: int) -> QColor:
    """The colour of a location of colour rank ``rank`` (0 red, 1 blue, 2 green, then others)."""
    if 0 <= rank < len(MARK_COLORS):
        return QColor(MARK_COLORS[rank])
    return QColor(EXTRA_COLORS[(max(rank, 3) - 3) % len(EXTRA_COLORS)])


def location_state(loc) -> str:
    """One line on a location's optimisation: the Adam steps it used (and whether it stopped early
    on convergence) and its final objective (eq. 6, logit-activation units), e.g. ``converged
    after 212 steps, objective 41.3`` or ``500 steps, objective 41.3``."""
    steps = f"converged after {loc.steps} steps" if loc.converged else f"{loc.steps} steps"
    return f"{steps}, objective {loc.objective:.4g}"


def legend(result) -> tuple[str, str]:
    """``(rich text, tooltip)`` of a :class:`~interp_engine.results.NeighbourScatter`: per location
    its colour, name, receptive-field text (cut at 40 characters), 5 nearest words and
    :func:`location_state`; the tooltip adds the token range and the final a·a′, ‖X̂0‖², Sim."""
    lines, tips = [], []
    for loc in result.locations:
        c = location_color(loc.rank).name()
        lo, hi = loc.receptive_field
        state = location_state(loc)
        words = ", ".join(_esc(w) for w in loc.words[:5])
        span = " ".join(result.tokens[lo : hi + 1])
        span = span if len(span) <= 40 else span[:39] + "…"
        lines.append(f"<span style='color:{c}'>● ★ <b>{_esc(loc.layer_name)}@{loc.position}</b></span> "
                     f"“{_esc(span)}”: <i>{words}</i> <span style='color:#777'>({_esc(state)})</span>")
        tips.append(f"{loc.layer_name}@{loc.position}: tokens {lo}–{hi}, {state}; a·a′ {loc.activation_dot:.4g}, "
                    f"‖X̂0‖² {loc.l2:.4g}, Sim {loc.similarity:.4g}")
    return "<br>".join(lines), "\n".join(tips) + "\n\n" + HOW_TO


__all__ = ["EXTRA_COLORS", "legend", "location_color", "location_state"]
