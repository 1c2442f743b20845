"""A dataset-level evaluation (``interp-studio evaluate``; Kim et al. ``004_137d387c767c1e08.txt``
§3.5, Table 1 and Fig. 3b): the per-method mean of the metric with its standard error as bars,
and, for the curve metrics, the mean deletion curves beside them. No Qt."""
from __future__ import annotations

import numpy as np

from ..results import EvaluationReport
from .common import _new_figure, method_label
from .palette import CURVE_COLORS, GREY_BAR_HATCHES, LINE_STYLES
from .style import FigureStyle

#: y-axis names of the metrics (the report's key otherwise)
METRIC_LABELS = {"auc_rep": "AUC_rep", "aopc": "AOPC", "comprehensiveness": "comprehensiveness",
                 "sufficiency": "sufficiency", "iot": "IoT", "loo_tau": "Kendall τ with LOO",
                 "segment_ratio": "hypothesis / premise |attribution|", "matching_rate": "matching rate",
                 "randomization": "ρ with the randomized model"}


def metric_label(metric: str) -> str:
    """The display name of an ``evaluate --metric`` key."""
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def direction_note(lower_is_better: bool | None) -> str:
    """``"lower is better"``, ``"higher is better"`` or ``""`` (a descriptive metric)."""
    return "" if lower_is_better is None else ("lower is better" if lower_is_better else "higher is better")


def evaluation_figure(res: EvaluationReport, style: FigureStyle | None = None, *, curves: bool = True):
    """Bars of the per-method means ± one standard error (error bars) and, when the report has
    them and ``curves``, the mean deletion curves (p(class) against the fraction of tokens
    replaced, one line per method, the same colour as its bar).

    Args:
        res: an :class:`~interp_engine.results.EvaluationReport` (``means``/``ses``/``ns`` (M,),
            ``curve_x`` (G,), ``curves`` (M, G)).
        curves: draw the curves panel (when there are curves).
    """
    import matplotlib as mpl

    style = style or FigureStyle()
    means = np.asarray(res.means, float)
    ses = np.asarray(res.ses, float)
    labels = [method_label(m) if m != "matching_rate" else "matching rate" for m in res.methods]
    cols = CURVE_COLORS[style.palette]
    two = bool(curves and res.has_curves)
    with mpl.rc_context(style.rc()):
        fs = style.font_size
        height = style.width_in * (0.42 if two else 0.6) if style.width_in >= 5 else 2.6 * (2 if two else 1)
        fig = _new_figure(style, height)
        wide = style.width_in >= 5
        if two:
            ax = fig.add_subplot(1, 2, 1) if wide else fig.add_subplot(2, 1, 1)
        else:
            ax = fig.add_subplot(1, 1, 1)
        xs = np.arange(len(means))
        err = np.where(np.isfinite(ses), ses, 0.0)
        bars = ax.bar(xs, np.where(np.isfinite(means), means, 0.0), yerr=err, capsize=3,
                      color=[cols[i % 6] for i in range(len(means))], edgecolor="#333333", linewidth=0.5,
                      error_kw={"elinewidth": 0.8, "ecolor": "#222222"})
        if style.palette == "greyscale":
            for i, b in enumerate(bars):
                b.set_hatch(GREY_BAR_HATCHES[i % len(GREY_BAR_HATCHES)])
        for i, (m, s) in enumerate(zip(means, ses)):
            if np.isfinite(m):
                ax.annotate(f"{m:.3f}", (xs[i], m + (err[i] if m >= 0 else -err[i])), ha="center",
                            va="bottom" if m >= 0 else "top", fontsize=fs * 0.7, xytext=(0, 2 if m >= 0 else -2),
                            textcoords="offset points")
        ax.set_xticks(xs)
        ax.set_xticklabels(labels, rotation=30 if len(labels) > 3 else 0, ha="right" if len(labels) > 3 else "center",
                           fontsize=fs * 0.8)
        note = direction_note(res.lower_is_better)
        ax.set_ylabel(metric_label(res.metric) + (f" ({note})" if note else ""), fontsize=fs * 0.85)
        ax.axhline(0, color="#888888", linewidth=0.5)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=fs * 0.8)
        n = int(res.n_sentences)
        ax.set_title(f"mean ± s.e. over {n} sentence{'s' if n != 1 else ''}", fontsize=fs * 0.85, loc="left")
        if two:
            cx = fig.add_subplot(1, 2, 2) if wide else fig.add_subplot(2, 1, 2)
            x = np.asarray(res.curve_x, float)
            for i, m in enumerate(res.methods):
                y = np.asarray(res.curves[i], float)
                if not np.isfinite(y).any():
                    continue
                ls = LINE_STYLES[i % 6] if (style.palette == "greyscale" or i >= 6) else "-"
                cx.plot(x, y, color=cols[i % 6], linestyle=ls, linewidth=1.2, label=labels[i])
            cx.set_xlabel("fraction of tokens replaced", fontsize=fs * 0.85)
            cx.set_ylabel("mean p(class)", fontsize=fs * 0.85)
            if len(x):
                cx.set_xlim(0, float(x[-1]))
            cx.spines[["top", "right"]].set_visible(False)
            cx.tick_params(labelsize=fs * 0.8)
            cx.set_title("mean deletion curves", fontsize=fs * 0.85, loc="left")
            cx.legend(fontsize=fs * 0.7, handlelength=1.6)
        fig.tight_layout(pad=0.4)
    fig._interp_meta = {"kind": "evaluation"}
    return fig


__all__ = ["METRIC_LABELS", "direction_note", "evaluation_figure", "metric_label"]
