"""The one table of the main window's docks: ``(objectName, title, panel factory, controller
factory, area)``, plus where each one sits on first start.

:class:`~desktop_app.main_window.MainWindow` builds its docks (and the View menu entries) from
:data:`DOCKS`, in order. The objectNames are what ``QMainWindow.saveState`` records: keep them, or
saved layouts stop restoring (bump :data:`desktop_app.session.STATE_VERSION` when they change).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QWidget

Area = Qt.DockWidgetArea


def _dataset_panel():
    from .panels.dataset_list import DatasetListPanel

    return DatasetListPanel()


def _grid_panel():
    from .panels.saliency_grid import SaliencyGridPanel

    return SaliencyGridPanel()


def _candidate_panel():
    from .panels.candidates import CandidateTablePanel

    return CandidateTablePanel()


def _search_panel():
    from .panels.token_search import TokenSearchPanel

    return TokenSearchPanel()


def _deletion_panel():
    from .panels.deletion_curve import DeletionCurvePanel

    return DeletionCurvePanel()


def _neighbour_panel():
    from .panels.neighbour_scatter import NeighbourScatterPanel

    return NeighbourScatterPanel()


def _candidates_controller(w, panel, dock):
    from .controllers.candidates import CandidatesController

    return CandidatesController(w.client, w.controller, panel, w)


def _search_controller(w, panel, dock):
    from .controllers.token_search import TokenSearchController

    return TokenSearchController(w.client, w.controller, panel, w)


def _deletion_controller(w, panel, dock):
    from .controllers.deletion_curves import DeletionCurveController

    return DeletionCurveController(w.client, w.controller, panel, dock, w)


def _neighbour_controller(w, panel, dock):
    from .controllers.neighbour_scatter import NeighbourScatterController

    return NeighbourScatterController(w.client, w.controller, panel, search=w.search_controller, dock=dock,
                                      search_dock=w.search_dock, parent=w)


def _sanity_panel():
    from .panels.sanity import SanityCascadePanel

    return SanityCascadePanel()


def _sanity_controller(w, panel, dock):
    from .controllers.sanity import SanityController

    return SanityController(w.client, w.controller, panel, dock, parent=w)


def _store_panel():
    from .panels.dataset_results import DatasetResultsPanel

    return DatasetResultsPanel()


def _store_controller(w, panel, dock):
    from .controllers.dataset_results import DatasetResultsController

    return DatasetResultsController(w.client, w.controller, panel, dock, window=w, parent=w)


def _evaluation_panel():
    from .panels.evaluation_results import EvaluationResultsPanel

    return EvaluationResultsPanel()


def _evaluation_controller(w, panel, dock):
    from .controllers.evaluation import EvaluationController

    return EvaluationController(w.client, w.controller, panel, dock, window=w, parent=w)


def _activation_panel():
    from .panels.activation_maximization import ActivationMaximizationPanel

    return ActivationMaximizationPanel()


def _activation_controller(w, panel, dock):
    from .controllers.activation_maximization import ActivationMaximizationController

    return ActivationMaximizationController(w.client, w.controller, panel, dock, window=w, parent=w)


@dataclass(frozen=True)
class DockSpec:
    """One dock of the main window.

    Attributes:
        name: the dock's objectName (saved layouts refer to it). title: its title bar.
        panel: builds the panel. controller: ``(window, panel, dock) -> controller`` or None (the
            dataset list and the grid belong to the analysis controller). area: its first area.
        attr: prefix of the window's attributes: ``{attr}_dock``, ``{attr}_controller`` and the panel
            ``panel_attr`` (default ``{attr}_panel``). panel_name: the panel's objectName.
        view_menu: listed in the View menu (the search is reached through its tab).
    """

    name: str
    title: str
    panel: Callable[[], QWidget]
    controller: Callable | None
    area: Qt.DockWidgetArea
    attr: str
    panel_name: str
    panel_attr: str = ""
    view_menu: bool = True


#: the docks, in creation order (a controller may use the ones made before it)
DOCKS: tuple[DockSpec, ...] = (
    DockSpec("datasetDock", "Dataset", _dataset_panel, None, Area.LeftDockWidgetArea, "dataset", "datasetPanel"),
    DockSpec("saliencyGridDock", "Layer × location saliency", _grid_panel, None, Area.BottomDockWidgetArea, "grid",
             "saliencyGridPanel", panel_attr="grid"),
    DockSpec("candidateTableDock", "Candidates", _candidate_panel, _candidates_controller, Area.RightDockWidgetArea,
             "candidate", "candidatePanel"),
    # training-set search (Lopes et al. §4), tabbed with the candidate table
    DockSpec("tokenSearchDock", "Training-set search", _search_panel, _search_controller, Area.RightDockWidgetArea,
             "search", "tokenSearchPanel", view_menu=False),
    # deletion curves and AUC_rep (Kim et al. §3.5), in the right column under the candidate table
    DockSpec("deletionCurveDock", "Deletion curves (AUC_rep)", _deletion_panel, _deletion_controller,
             Area.RightDockWidgetArea, "deletion", "deletionCurvePanel"),
    # what the grid's hidden locations detect (Yuan et al. eq. 5-8, Fig. 2), beside the saliency grid
    DockSpec("neighbourScatterDock", "Neighbour scatter (what locations detect)", _neighbour_panel,
             _neighbour_controller, Area.BottomDockWidgetArea, "neighbour", "neighbourScatterPanel"),
    # "Sanity check this heatmap" (Adebayo et al. 2018, model-parameter randomization), tabbed with
    # the neighbour scatter and hidden until the heatmap's button asks for a check
    DockSpec("sanityDock", "Sanity check (model randomization)", _sanity_panel, _sanity_controller,
             Area.BottomDockWidgetArea, "sanity", "sanityPanel"),
    # an attribution store (every method on every row): table, ρ between methods, histogram;
    # tabbed with the saliency grid and hidden until a store is opened
    DockSpec("datasetResultsDock", "Dataset results (attribution store)", _store_panel, _store_controller,
             Area.BottomDockWidgetArea, "dataset_results", "datasetResultsPanel"),
    # Analysis → Evaluate Dataset…: means ± s.e. and mean curves (Kim et al. §3.5), hidden until asked for
    DockSpec("evaluationDock", "Dataset evaluation", _evaluation_panel, _evaluation_controller,
             Area.BottomDockWidgetArea, "evaluation", "evaluationPanel"),
    # activation maximization vs corpus search of a unit (Lopes §3), hidden until asked for
    DockSpec("activationDock", "Activation maximization (Lopes §3)", _activation_panel, _activation_controller,
             Area.BottomDockWidgetArea, "activation", "activationPanel"),
)


def make_dock(window, spec: DockSpec) -> QDockWidget:
    """Build ``spec``'s panel and dock, add the dock to ``window`` and set the window's attributes."""
    panel = spec.panel()
    panel.setObjectName(spec.panel_name)
    dock = QDockWidget(spec.title, window)
    dock.setObjectName(spec.name)
    dock.setWidget(panel)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    window.addDockWidget(spec.area, dock)
    setattr(window, spec.panel_attr or f"{spec.attr}_panel", panel)
    setattr(window, f"{spec.attr}_dock", dock)
    return dock


def build_docks(window) -> dict[str, QDockWidget]:
    """Every dock of :data:`DOCKS` (panels only; see :func:`build_controllers`), arranged as on
    first start; returns ``{objectName: dock}``."""
    docks = {spec.name: make_dock(window, spec) for spec in DOCKS}
    arrange(window)
    return docks


def build_controllers(window) -> None:
    """The controllers of :data:`DOCKS`, in order (``window.controller`` must exist)."""
    for spec in DOCKS:
        if spec.controller is not None:
            panel = getattr(window, spec.panel_attr or f"{spec.attr}_panel")
            dock = getattr(window, f"{spec.attr}_dock")
            setattr(window, f"{spec.attr}_controller", spec.controller(window, panel, dock))


#: first-start share of the window: the dataset column's width and the bottom row's height
#: (the heatmap above the bottom row needs about a third of the height; the sentences stay readable)
FIRST_START_DATASET_WIDTH = 0.25
FIRST_START_BOTTOM_HEIGHT = 0.56


def first_start_sizes(w) -> None:
    """Size the docks as fractions of the shown window (``resizeDocks`` before the first show is
    overridden by the docks' size hints): a wider dataset column and a taller bottom row."""
    width, height = w.width(), w.height()
    w.resizeDocks([w.dataset_dock], [max(260, int(width * FIRST_START_DATASET_WIDTH))], Qt.Orientation.Horizontal)
    w.resizeDocks([w.grid_dock, w.neighbour_dock], [int(height * FIRST_START_BOTTOM_HEIGHT)] * 2,
                  Qt.Orientation.Vertical)


def arrange(w) -> None:
    """The first-start layout: the left column holds the dataset; the right column the candidate
    table (tabbed with the search) above the deletion curves; the grid and the neighbour scatter
    share the bottom row."""
    w.setCorner(Qt.Corner.BottomLeftCorner, Area.LeftDockWidgetArea)
    w.setCorner(Qt.Corner.TopLeftCorner, Area.LeftDockWidgetArea)
    w.setCorner(Qt.Corner.BottomRightCorner, Area.RightDockWidgetArea)
    w.setCorner(Qt.Corner.TopRightCorner, Area.RightDockWidgetArea)
    w.candidate_panel.setMinimumWidth(280)
    # the sentences must stay readable however many docks share the window
    w.dataset_panel.setMinimumWidth(260)
    later = ((w.dataset_results_dock, w.grid_dock), (w.evaluation_dock, w.neighbour_dock),
             (w.activation_dock, w.neighbour_dock))
    for dock, _beside in later:  # hidden before the sizes are set: else their widths widen the window
        dock.hide()
    w.resizeDocks([w.dataset_dock, w.candidate_dock], [430, 290], Qt.Orientation.Horizontal)
    w.resizeDocks([w.grid_dock], [420], Qt.Orientation.Vertical)
    w.tabifyDockWidget(w.candidate_dock, w.search_dock)
    w.candidate_dock.raise_()
    w.addDockWidget(Area.RightDockWidgetArea, w.deletion_dock, Qt.Orientation.Vertical)
    w.resizeDocks([w.candidate_dock, w.deletion_dock], [430, 420], Qt.Orientation.Vertical)
    w.splitDockWidget(w.grid_dock, w.neighbour_dock, Qt.Orientation.Horizontal)
    w.resizeDocks([w.grid_dock, w.neighbour_dock], [560, 520], Qt.Orientation.Horizontal)
    # the sanity check: tabbed with the neighbour scatter, hidden until asked for (re-added first:
    # tabifying the dock where build_docks put it leaves a second, stale tab bar on screen)
    w.removeDockWidget(w.sanity_dock)
    w.addDockWidget(Area.BottomDockWidgetArea, w.sanity_dock)
    w.tabifyDockWidget(w.neighbour_dock, w.sanity_dock)
    w.neighbour_dock.raise_()
    w.sanity_dock.hide()
    # the dataset-level docks: tabbed in the bottom row, hidden until a store, an evaluation or a
    # maximization is asked for (their controllers show and raise them)
    for dock, beside in later:
        w.removeDockWidget(dock)
        w.addDockWidget(Area.BottomDockWidgetArea, dock)
        w.tabifyDockWidget(beside, dock)
        dock.hide()
    w.grid_dock.raise_()
    w.neighbour_dock.raise_()
