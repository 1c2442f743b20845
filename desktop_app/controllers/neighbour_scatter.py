"""The neighbour scatter dock (Yuan et al. eq. 5-8, Fig. 2): what the grid's hidden locations
detect, as the vocabulary words nearest to their optimised inputs."""
from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from interp_engine.config import OptimizationConfig
from interp_engine.requests import NeighbourScatterRequest

from ..engine_client import EngineClient, Job
from .base import DockController


class NeighbourScatterController(DockController):
    """Wires the neighbour scatter dock to the engine client, the saliency grid, the heatmap and
    the training-set search.

    With "top-m of a layer" chosen, a new sentence's scatter is computed when the dock is visible
    (or as soon as it becomes visible). A grid cell click adds the cell to the selection ("cells
    clicked in the grid"; a second click removes it) and recomputes. A clicked word goes to the
    training-set search; a clicked target star outlines its location's receptive field on the
    heatmap in the location's colour. A newer request supersedes the older one.
    """

    def __init__(self, client: EngineClient, main, panel, *, search=None, dock=None, search_dock=None,
                 parent: QObject | None = None):
        super().__init__(client, parent)
        self.main = main
        self.panel = panel
        self.search = search
        self.dock = dock
        self.search_dock = search_dock
        self._stale = False
        main.sigSentenceReady.connect(self._on_sentence_ready)
        main.sigCurrentTextChanged.connect(self._on_text_changed)
        main.sigModelLoaded.connect(self._on_model_loaded)
        main.grid.sigCellClicked.connect(self.on_cell_clicked)
        panel.sigComputeRequested.connect(lambda _p: self.request())
        panel.sigCancelRequested.connect(self.cancel)
        panel.sigWordClicked.connect(self.on_word_clicked)
        panel.sigLocationClicked.connect(self.on_location_clicked)
        if dock is not None:
            dock.visibilityChanged.connect(self._on_visibility)

    @property
    def seed(self) -> int:
        return self.main.state.optimization.seed

    @seed.setter
    def seed(self, value: int) -> None:
        self.main.state.optimization = self.main.state.optimization.replace(seed=int(value))

    def _visible(self) -> bool:
        return self.dock is None or self.dock.isVisible()

    def sync_state(self):
        """Read the dock's parameters into the analysis state; returns ``(neighbours, optimization)``."""
        p, st = self.panel.parameters(), self.main.state
        st.neighbours = st.neighbours.replace(top=p["top"], layer=p["layer"], k=p["k"], projection=p["projection"],
                                              perplexity=p["perplexity"])
        st.optimization = st.optimization.replace(lambda1=p["lambda1"], lambda2=p["lambda2"], steps=p["steps"])
        return st.neighbours, st.optimization

    def request(self) -> Job | None:
        """Compute the scatter of the current sentence with the panel's parameters (drops an older request)."""
        main = self.main
        self.drop("neighbours")
        if main.model_info is None or not main.current_text:
            self.panel.show_message("Open a model and choose a sentence first.")
            return None
        p = self.panel.parameters()
        locations = None
        if p["selection"] == "cells":
            locations = tuple(p["locations"])
            if not locations:
                self.panel.show_message("Click cells of the saliency grid to choose the locations to interpret.")
                return None
        sal = main.saliency if main.saliency is not None and main.saliency.text == main.current_text else None
        self._stale = False
        neighbours, optimization = self.sync_state()
        job = self.submit(NeighbourScatterRequest(
            input=main.current_input, locations=locations, target=sal.target if sal is not None else None,
            neighbours=neighbours, optimization=optimization),
            self._on_result, on_failed=self._on_failed, on_cancelled=self._on_cancelled,
            on_progress=self.panel.set_progress)
        self.panel.set_busy(True, "optimising inputs…")
        return job

    @Slot()
    def cancel(self) -> None:
        job = self.job("neighbours")
        if job is not None:
            job.cancel()

    @Slot(int, int)
    def on_cell_clicked(self, layer: int, location: int) -> None:
        """A grid cell was clicked: add it to (or remove it from) the selection and recompute."""
        self.panel.toggle_location(layer, location)
        if self.panel.selected_locations():
            if self._visible():
                self.request()
            else:
                self._stale = True

    @Slot(str)
    def on_word_clicked(self, word: str) -> None:
        """A neighbour word was clicked: search the training set for it."""
        if self.search is None:
            return
        self.search.panel.set_query(word)
        if self.search_dock is not None:
            self.search_dock.show()
            self.search_dock.raise_()
        self.search.search(word)

    @Slot(int, int)
    def on_location_clicked(self, layer: int, location: int) -> None:
        """A target star was clicked: outline its receptive field in the location's colour."""
        from ..panels.neighbour_scatter import location_color

        self.main.on_cell_clicked(layer, location)
        res = self.panel.current_result()
        if res is None or self.main.heatmap.result is None or len(self.main.heatmap.result.tokens) != len(res.tokens):
            return
        for loc in res.locations:
            if (loc.layer, loc.position) == (layer, location):
                self.main.heatmap.set_receptive_field(loc.receptive_field[0], loc.receptive_field[1],
                                                      location_color(loc.rank))

    def _on_sentence_ready(self, _text: str) -> None:
        if self.main.saliency is not None:
            self.panel.set_layer_names(self.main.saliency.layer_names)
        if self.panel.selection_mode() != "top":
            self.panel.set_status("Click cells of the saliency grid, then Compute.")
            return
        if self._visible():
            self.request()
        else:
            self._stale = True

    def _on_visibility(self, visible: bool) -> None:
        if visible and self._stale and self.main.current_text and self.main.model_info is not None:
            self.request()

    def _on_text_changed(self, _text: str) -> None:
        self.drop("neighbours")
        self.panel.set_selected_locations(())
        self.panel.set_busy(False, "")

    def _on_model_loaded(self, info) -> None:
        self.panel.set_layer_names(getattr(info, "layer_names", ()))
        # the family's default maximum steps (a transformer's are fewer: each step runs the model)
        self.panel.set_default_steps(OptimizationConfig.steps_for(getattr(info, "kind", "")))
        self.panel.set_selected_locations(())
        self.panel.show_message("Choose a sentence: the words nearest to what its most salient hidden locations "
                                "detect appear here.")

    def _on_result(self, result) -> None:
        self.panel.set_busy(False, f"{len(result.locations)} locations in {result.seconds:.1f} s")
        if getattr(result, "text", None) == self.main.current_text:
            self.panel.set_result(result)

    def _on_failed(self, message: str) -> None:
        self.panel.set_busy(False, "")
        self.panel.show_message(f"Could not optimise the locations:\n{message}")

    def _on_cancelled(self) -> None:
        self.panel.set_busy(False, "Cancelled. Press Compute to start again.")
