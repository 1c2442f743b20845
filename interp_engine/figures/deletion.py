"""Deletion curves with their areas (Kim et al. ``004_137d387c767c1e08.txt`` §3.5). The fields
are looked up by attribute, so dataset curves (means ± standard error) draw with the same code."""
from __future__ import annotations

import numpy as np

from ..config import DeletionConfig
from ..results import area_label
from .common import _new_figure, method_label
from .palette import CURVE_COLORS, LINE_STYLES
from .style import FigureStyle


def _get(obj, *names, default=None):
    for n in names:
        if hasattr(obj, n):
            v = getattr(obj, n)
            if v is not None:
                return v
    return default


def deletion_curve_figure(res, style: FigureStyle | None = None, *, band: bool = True, insertion: bool = True,
                          stderr=None):
    """Deletion curves (Kim et al. ``004_137d387c767c1e08.txt`` §3.5): p(target) as the most
    attributed tokens are replaced, one line per method with its AUC_rep (area on [0, x_max] / x_max)
    in the legend; insertion curves (if computed) dashed in the same colour.

    Args:
        res: a :class:`~interp_engine.results.DeletionCurves` (``x`` (S,), ``p_deletion`` (M, S),
            ``auc`` (M,), ``methods``, ``x_max``, ``target``, ``class_names``; optional
            ``p_insertion``). Dataset curves (means over sentences) may carry ``stderr`` /
            ``p_deletion_se`` (M, S), or pass ``stderr=``: drawn as a mean ± standard error band.
        band: draw the ± standard error band when one is available.
        insertion: draw the insertion curves when present.
    """
    import matplotlib as mpl

    style = style or FigureStyle()
    x = np.asarray(_get(res, "x", "fractions"), float)
    Y = np.atleast_2d(np.asarray(_get(res, "p_deletion", "means", "curves"), float))
    methods = list(_get(res, "methods", default=[f"method {i}" for i in range(len(Y))]))
    auc = _get(res, "auc", "auc_rep")
    auc = None if auc is None else np.atleast_1d(np.asarray(auc, float))
    se = stderr if stderr is not None else _get(res, "stderr", "p_deletion_se", "sem")
    se = None if se is None else np.atleast_2d(np.asarray(se, float))
    ins = _get(res, "p_insertion") if insertion else None
    ins = None if ins is None else np.atleast_2d(np.asarray(ins, float))
    x_max = float(_get(res, "x_max", default=float(x[-1]) if len(x) else DeletionConfig.x_max))
    with mpl.rc_context(style.rc()):
        fs = style.font_size
        fig = _new_figure(style, style.width_in * 0.72 if style.width_in < 5 else 3.2)
        ax = fig.add_subplot(1, 1, 1)
        cols = CURVE_COLORS[style.palette]
        for m in range(Y.shape[0]):
            lab = method_label(str(methods[m])) if m < len(methods) else f"method {m}"
            if auc is not None and m < len(auc) and np.isfinite(auc[m]):
                area = area_label(x_max, str(_get(res, "strategy", default=DeletionConfig.strategy)))  # Kim et al. §3.5
                lab += f" ({area} {auc[m]:.3f})"
            ls = LINE_STYLES[m % 6] if (style.palette == "greyscale" or m >= 6) else "-"
            ax.plot(x, Y[m], color=cols[m % 6], linestyle=ls, linewidth=1.2, label=lab,
                    marker=("o", "s", "^", "D", "v", "P")[m % 6] if len(x) <= 15 else None, markersize=2.8)
            if band and se is not None and m < len(se):
                ax.fill_between(x, Y[m] - se[m], Y[m] + se[m], color=cols[m % 6], alpha=0.18, linewidth=0)
            if ins is not None and m < len(ins):
                ax.plot(x, ins[m], color=cols[m % 6], linestyle=(0, (3, 2)), linewidth=0.8, alpha=0.8)
        if ins is not None:
            ax.plot([], [], color="#555555", linestyle=(0, (3, 2)), linewidth=0.8, label="insertion (dashed)")
        names = tuple(_get(res, "class_names", default=()))
        t = _get(res, "target", default=None)
        tname = names[t] if t is not None and 0 <= int(t) < len(names) else (str(t) if t is not None else "class")
        ax.set_xlabel("fraction of tokens replaced")
        ax.set_ylabel(f"p({tname})")
        ax.set_xlim(0, x_max)  # the range AUC_rep integrates (Kim et al. §3.5), as the dock shows
        ax.set_ylim(-0.02, 1.02)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=fs * 0.85)
        n = _get(res, "n_sentences", default=None)
        strat = _get(res, "strategy", default=None)
        title = f"deletion curves, {strat} replacement" if strat else "deletion curves"
        if n is not None and int(n) > 1:
            title += f", mean of {int(n)} sentences" + (" ± s.e." if se is not None and band else "")
        ax.set_title(title, fontsize=fs * 0.9, loc="left")
        ax.legend(fontsize=fs * 0.72, handlelength=1.8)
        fig.tight_layout(pad=0.3)
    fig._interp_meta = {"kind": "deletion"}
    return fig

