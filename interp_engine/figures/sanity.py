"""Figures of the model-parameter randomization test (Adebayo et al. 2018, "Sanity checks for
saliency maps", §3.1 and Fig. 2 / Fig. 4), no Qt:

- :func:`sanity_cascade_figure`: one sentence's cascade as small multiples, one heatmap row per
  randomization step (the trained model first), each row labelled with the layer group
  re-initialised and its Spearman ρ with the trained map (Adebayo et al. Fig. 2, for text).
- :func:`randomization_figure`: a dataset's mean Spearman ρ ± standard error against the step, one
  line per method, with and without absolute values (Adebayo et al. Fig. 4).

Each heatmap row is normalised to its own ``max|score|`` (a randomized model's scores can be
orders of magnitude larger or smaller than the trained one's, and the question is whether the
*ranking* survives, as Adebayo et al. normalise each map).
"""
from __future__ import annotations

import math

import numpy as np

from ..config import SanityConfig
from .common import _new_figure, _target_name, method_label


def short_label(key: str) -> str:
    """The table abbreviation of a method (:func:`interp_engine.attribution.registry.short_label`)."""
    from ..attribution import registry  # imported on use: the registry loads the methods (torch)

    return registry.short_label(key)
from .palette import CURVE_COLORS, LINE_STYLES
from .style import FigureStyle

#: the colour-bar label of the per-row normalised cascade rows
NORMALISED_UNITS = "score ÷ the row's max |score|"


def _rho_text(v: float) -> str:
    return "ρ undefined" if not math.isfinite(v) else f"ρ {v:+.2f}"


def cascade_rows(result) -> tuple[list, list[str]]:
    """The rows of a :class:`~interp_engine.results.SanityCascade` as
    :class:`~interp_engine.results.TokenAttribution` s normalised to ``max|score| = 1`` over their
    word tokens (an all-zero row stays zero), and their labels (``"trained"``, ``"+ conv3 (ρ
    +0.31)"``, …): what the app's small multiples and :func:`sanity_cascade_figure` draw."""
    from ..results import TokenAttribution

    special = np.asarray(result.special, dtype=bool)
    rows, names = [], []
    for k in range(len(result.steps)):
        s = np.asarray(result.scores[k], dtype=np.float64)
        words = s[~special]
        m = float(np.nanmax(np.abs(words))) if words.size and np.isfinite(words).any() else 0.0
        rows.append(TokenAttribution(
            text=result.text, tokens=tuple(result.tokens), offsets=result.offsets, special=special,
            scores=np.where(np.isfinite(s), s / m, 0.0) if m > 0 else np.zeros_like(s), units=NORMALISED_UNITS,
            method=result.method, target=int(result.target), prediction=result.prediction,
            segments=result.segments, segment_names=tuple(result.segment_names), texts=tuple(result.texts)))
        names.append(result.step_label(k) if k == 0 else f"{result.step_label(k)} ({_rho_text(float(result.spearman[k]))})")
    return rows, names


def sanity_cascade_figure(result, style: FigureStyle | None = None, *, title: bool = True):
    """The cascade of one sentence as small multiples (Adebayo et al. 2018 Fig. 2, for text).

    Args:
        result: a :class:`~interp_engine.results.SanityCascade` (K + 1 steps, n tokens).
        style: a :class:`FigureStyle` (default: paper red/blue, single column).
        title: a first line with the method, the class explained and ρ at full randomization.

    Returns:
        a :class:`matplotlib.figure.Figure` (the sentence heatmap's layout,
        :func:`~interp_engine.figures.heatmap.heatmap_figure`): K + 1 rows, each on its own
        symmetric scale ``[-1, 1]`` (:func:`cascade_rows`).
    """
    from .heatmap import heatmap_figure

    style = style or FigureStyle()
    rows, names = cascade_rows(result)
    fig = heatmap_figure(rows, style, names=names, title=title)
    if title:  # heatmap_figure's first text is its title line: say what this figure is instead
        full = float(result.spearman[-1])
        verdict = "" if not math.isfinite(full) else (" (fails)" if full > result.threshold else " (passes)")
        fig.axes[0].texts[0].set_text(
            f"{short_label(result.method)} · explaining {_target_name(result)} · all layers random: "
            f"{_rho_text(full)}{verdict}")
    fig._interp_meta = {"kind": "sanity", "steps": list(result.steps)}
    return fig


def randomization_figure(report: dict, style: FigureStyle | None = None):
    """Mean Spearman ρ ± standard error of each method's maps with the trained maps against the
    randomization step (Adebayo et al. 2018 Fig. 4): top, ρ of the scores; bottom, ρ of their
    absolute values; the failing threshold as a dashed line.

    Args:
        report: the dict of :func:`interp_engine.sanity.randomization_report` (``steps``,
            ``methods[m]["spearman"]`` / ``["spearman_abs"]``: per step ``{"mean", "se", "n"}``,
            ``threshold``; optional ``n_sentences``).
        style: a :class:`FigureStyle`.

    Returns:
        a :class:`matplotlib.figure.Figure`; its ``_interp_meta`` holds the plotted means.
    """
    import matplotlib as mpl

    style = style or FigureStyle()
    steps = list(report["steps"])
    x = np.arange(len(steps))
    labels = [s if k == 0 else f"+{s}" for k, s in enumerate(steps)]
    plotted: dict = {}
    with mpl.rc_context(style.rc()):
        fs = style.font_size
        fig = _new_figure(style, max(3.6, 0.62 * style.width_in + 1.6))
        axes = fig.subplots(2, 1, sharex=True)
        cols = CURVE_COLORS[style.palette]
        for ax, key, ylab in ((axes[0], "spearman", "Spearman ρ"), (axes[1], "spearman_abs", "Spearman ρ of |scores|")):
            for j, (m, d) in enumerate(report["methods"].items()):
                mean = np.array([v["mean"] for v in d[key]], dtype=float)
                se = np.array([v["se"] for v in d[key]], dtype=float)
                ls = LINE_STYLES[j % 6] if (style.palette == "greyscale" or j >= 6) else "-"
                ax.errorbar(x, mean, yerr=np.nan_to_num(se), color=cols[j % 6], linestyle=ls, linewidth=1.1,
                            marker=("o", "s", "^", "D", "v", "P")[j % 6], markersize=2.8, capsize=2,
                            elinewidth=0.7, label=method_label(m))
                plotted.setdefault(key, {})[m] = mean.tolist()
            ax.axhline(0.0, color="#999999", linewidth=0.5)
            ax.set_ylim(-1.05, 1.05)
            ax.set_ylabel(ylab, fontsize=fs * 0.9)
            ax.spines[["top", "right"]].set_visible(False)
            ax.tick_params(labelsize=fs * 0.8)
        thr = float(report.get("threshold", SanityConfig.threshold))
        axes[0].axhline(thr, color="#555555", linewidth=0.8, linestyle=(0, (3, 2)))
        axes[0].text(x[-1], thr, f" fails above {thr:g}", fontsize=fs * 0.7, va="bottom", ha="right", color="#555555")
        axes[1].set_xticks(x, labels, rotation=35, ha="right")
        n = report.get("n_sentences")
        handles, names = axes[0].get_legend_handles_labels()
        ncol = min(2 if style.width_in < 5 else 4, max(1, len(names)))
        rows = -(-len(names) // ncol)
        top = 1.0 - (1.5 + 1.15 * rows) * fs / 72.0 / fig.get_figheight()
        fig.suptitle("cascading randomization" + (f", mean ± s.e. over {int(n)} sentences" if n else ""),
                     fontsize=fs * 0.9, x=0.02, ha="left", y=0.995)
        fig.legend(handles, names, fontsize=fs * 0.72, ncol=ncol, loc="upper center", frameon=False,
                   bbox_to_anchor=(0.5, 1.0 - 1.3 * fs / 72.0 / fig.get_figheight()))
        fig.tight_layout(pad=0.3, rect=(0, 0, 1, top))
    fig._interp_meta = {"kind": "randomization", "steps": steps, **plotted}
    return fig


__all__ = ["NORMALISED_UNITS", "cascade_rows", "randomization_figure", "sanity_cascade_figure"]
