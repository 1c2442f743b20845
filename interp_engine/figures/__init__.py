"""Paper figures from result objects: :class:`matplotlib.figure.Figure`, never pyplot, no Qt.

Every renderer takes a frozen result of :mod:`interp_engine.results` and a :class:`FigureStyle`
and returns a new ``Figure`` (no global state: safe in the worker thread and in notebooks). One
module per panel:

- :mod:`.heatmap`: :func:`heatmap_figure`, the sentence heatmap (several methods as rows on one
  shared colour scale), and :func:`heatmap_latex`, the same as LaTeX ``\\colorbox`` es.
- :mod:`.grid`: :func:`saliency_grid_figure`, layer × location saliency (Yuan et al. eq. 3).
- :mod:`.search`: :func:`search_histogram_figure`, p(class) over a training-set search's matches.
- :mod:`.deletion`: :func:`deletion_curve_figure`, deletion curves with their AUC_rep.
- :mod:`.scatter`: :func:`scatter_figure`, the t-SNE neighbour scatter.
- :mod:`.activation`: :func:`activation_figure`, activation maximization beside corpus search (Lopes §3).
- :mod:`.evaluation`: :func:`evaluation_figure`, a dataset evaluation's means ± s.e. and mean curves.
- :mod:`.compare`: :func:`model_comparison_figure`, two models on one sentence (a
  :class:`~interp_engine.results.ModelComparison`: one row per model, its own tokens; a heatmap
  panel's figure), and :func:`model_comparison_latex`.

:mod:`.palette` is the one palette (also the app's screen colours), :mod:`.style` the figure
style and fonts. :func:`render` and :func:`panel_of` dispatch on the result type. Saving
(formats, fonts kept as text, atomic writes, sidecars) lives in :mod:`interp_engine.export`.
"""
from __future__ import annotations

from ..results import DeletionCurves, HiddenSaliency, ModelComparison, NeighbourScatter, TokenAttribution, TokenSearchResult
from ..results import ActivationMaximization, EvaluationReport, SanityCascade
from .activation import activation_figure
from .common import method_label, units_label
from .compare import model_comparison_figure, model_comparison_latex
from .deletion import deletion_curve_figure
from .evaluation import evaluation_figure
from .grid import saliency_grid_figure
from .heatmap import heatmap_figure, heatmap_latex, heatmap_layout
from .palette import (
    COLORBLIND_STOPS,
    CURVE_COLORS,
    GOLD_COLORS,
    GREY_BAR_HATCHES,
    GREY_HATCH,
    GREY_STOPS,
    LINE_STYLES,
    MARK_COLORS,
    PAPER_STOPS,
    SPECIAL_FILL,
    SPECIAL_TEXT,
    diverging_colors,
    score_rgb,
    symmetric_limit,
    text_color_on,
)
from .sanity import randomization_figure, sanity_cascade_figure
from .scatter import scatter_figure
from .search import search_histogram_figure
from .style import FALLBACK_FONTS, STYLES, WIDTHS, FigureStyle, figure_size_in, installed_fallback_fonts

#: panel kind -> (result type, renderer); a sequence of TokenAttributions is a heatmap too
PANEL_TYPES = {
    "heatmap": (TokenAttribution, heatmap_figure),
    "grid": (HiddenSaliency, saliency_grid_figure),
    "search": (TokenSearchResult, search_histogram_figure),
    "deletion": (DeletionCurves, deletion_curve_figure),
    "scatter": (NeighbourScatter, scatter_figure),
    # the model-parameter randomization cascade of one sentence (Adebayo et al. 2018 §3.1)
    "sanity": (SanityCascade, sanity_cascade_figure),
    # activation maximization next to corpus search of one unit (Lopes §3.1-3.2, Fig. 3-4)
    "activation": (ActivationMaximization, activation_figure),
    # a dataset-level evaluation: means ± s.e. per method and the mean deletion curves (Kim et al. §3.5)
    "evaluation": (EvaluationReport, evaluation_figure),
}


def panel_of(result) -> str:
    """The panel kind of a result: ``heatmap`` (a :class:`~interp_engine.results.TokenAttribution`,
    a non-empty sequence of them, or a :class:`~interp_engine.results.ModelComparison`), ``grid`` (HiddenSaliency), ``search`` (TokenSearchResult),
    ``deletion`` (DeletionCurves) or ``scatter`` (NeighbourScatter).

    Raises:
        ValueError: no figure for this type.
    """
    if isinstance(result, (list, tuple)) and result and all(isinstance(r, TokenAttribution) for r in result):
        return "heatmap"
    if isinstance(result, ModelComparison):
        return "heatmap"
    for kind, (cls, _fn) in PANEL_TYPES.items():
        if isinstance(result, cls):
            return kind
    what = f"a {type(result).__name__}"
    if isinstance(result, (list, tuple)):
        what = f"a {type(result).__name__} of {', '.join(sorted({type(r).__name__ for r in result})) or 'nothing'}"
    raise ValueError(f"no figure for {what}: figures are drawn for "
                     + ", ".join(cls.__name__ for cls, _ in PANEL_TYPES.values())
                     + " (or a sequence of TokenAttributions)")


def render(result, style: FigureStyle | None = None, **options):
    """Render any result (or a sequence of TokenAttributions) to a Figure; ``options`` go to the
    panel's renderer (e.g. ``receptive_fields=`` for the grid). Raises ValueError for a type
    :func:`panel_of` does not know."""
    if isinstance(result, ModelComparison):  # the heatmap panel's two-model rows
        return model_comparison_figure(result, style, **options)
    return PANEL_TYPES[panel_of(result)][1](result, style, **options)


def latex(result, style: FigureStyle | None = None) -> str:
    """A sentence heatmap (or a model comparison) as LaTeX ``\\colorbox`` es. Raises ValueError
    for a result that is not a heatmap."""
    if isinstance(result, ModelComparison):
        return model_comparison_latex(result, style)
    return heatmap_latex(result, style)


__all__ = ["COLORBLIND_STOPS", "CURVE_COLORS", "FALLBACK_FONTS", "FigureStyle", "GOLD_COLORS", "GREY_BAR_HATCHES",
           "GREY_HATCH", "GREY_STOPS", "LINE_STYLES", "MARK_COLORS", "PANEL_TYPES", "PAPER_STOPS", "SPECIAL_FILL",
           "SPECIAL_TEXT", "STYLES", "WIDTHS", "deletion_curve_figure", "diverging_colors", "figure_size_in",
           "heatmap_figure", "heatmap_latex", "heatmap_layout", "installed_fallback_fonts", "latex", "method_label",
           "model_comparison_figure", "model_comparison_latex", "panel_of",
           "render", "saliency_grid_figure", "scatter_figure", "score_rgb", "search_histogram_figure", "symmetric_limit",
           "text_color_on", "units_label",
           "activation_figure", "evaluation_figure"]
