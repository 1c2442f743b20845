"""Dock controllers: each turns its panels' intent into :mod:`interp_engine.requests`, submits
them through :class:`~desktop_app.engine_client.EngineClient` and shows its own jobs' results
(see :class:`~desktop_app.controllers.base.DockController`)."""
from .analysis import NO_MODEL_HINT, AnalysisController
from .base import DockController, marginalization_config
from .candidates import CandidatesController
from .deletion_curves import DeletionCurveController
from .neighbour_scatter import NeighbourScatterController
from .token_search import TokenSearchController

__all__ = ["NO_MODEL_HINT", "AnalysisController", "CandidatesController", "DeletionCurveController", "DockController",
           "NeighbourScatterController", "TokenSearchController", "marginalization_config"]
