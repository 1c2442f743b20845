"""The analysis controller: model, dataset, the current sentence, its attribution (or method
comparison) in the heatmap and its hidden saliency in the grid.

Panels emit intent (a row selected, a cell clicked, a method chosen); the controller turns intent
into :mod:`interp_engine.requests` objects, submits them as jobs (:class:`~.base.DockController`)
and shows each job's result once. It holds no widgets of its own and never calls the engine.
"""
from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtCore import QObject, Signal, Slot

from interp_engine.config import AttributionConfig
from interp_engine.inputs import TextInput
from interp_engine.requests import AttributionRequest, CompareModelsRequest, CompareRequest, HiddenSaliencyRequest

from ..engine_client import EngineClient
from ..state import AnalysisState
from .base import DockController, marginalization_config, method_configs
from .loading import LoadingMixin

NO_MODEL_HINT = "Open a model (File → Open Model…, or File → Open Demo) to explain this sentence."

#: what a failed or cancelled job of each kind shows, and where
_FAILED = {"attribution": "Could not explain this sentence:\n{}",
           "compare": "Could not compare the methods on this sentence:\n{}",
           "compare_models": "Could not explain this sentence with both models:\n{}",
           "hidden": "Could not compute the saliency grid:\n{}"}


class AnalysisController(LoadingMixin, DockController):
    """Application state (model, dataset, current sentence) and the glue between the heatmap,
    the saliency grid, the dataset list and the engine.

    Signals:
        sigStateChanged(): something shown changed (a result arrived, a request failed).
        sigSentenceReady(str): the attribution and the saliency of the current sentence are shown.
        sigExplaining(): a new explanation of the current sentence was asked for (token details
            of the previous one are stale).
        sigPredictionsReady(): the dataset predictions are shown.
        sigModelLoaded(object): a ``ModelInfo`` was opened.
        sigDatasetLoaded(object): a ``Dataset`` was opened.
        sigDeviceChanged(str): the engine moved to this device.
        sigCurrentTextChanged(str): the current sentence changed (a pair: ``"premise ‖ hypothesis"``).
        sigCurrentInputChanged(object): the current input changed: its
            :class:`~interp_engine.inputs.TextInput` (one text or a pair).
        sigError(str, str): ``(kind, message)`` of a failed request.
        sigStatus(str): a status-bar message.
        sigMLMLoaded(object): a masked LM was opened (the engine's info dict).
        sigPickleRefused(str, str): (path, message): the model's weights are only a pickle: ask.
        sigEncodingProblem(str, str, str): (path, suggested encoding, message): not UTF-8.
    """

    sigStateChanged = Signal()
    sigSentenceReady = Signal(str)
    sigExplaining = Signal()
    sigPredictionsReady = Signal()
    sigModelLoaded = Signal(object)
    sigDatasetLoaded = Signal(object)
    sigDeviceChanged = Signal(str)
    sigCurrentTextChanged = Signal(str)
    sigCurrentInputChanged = Signal(object)
    sigError = Signal(str, str)
    sigStatus = Signal(str)
    sigMLMLoaded = Signal(object)
    sigPickleRefused = Signal(str, str)
    sigEncodingProblem = Signal(str, str, str)

    def __init__(self, client: EngineClient, heatmap, grid, dataset_panel, parent: QObject | None = None):
        super().__init__(client, parent)
        self.heatmap = heatmap
        self.grid = grid
        self.dataset_panel = dataset_panel
        self.state = AnalysisState()
        self.mlm_info = None  # Engine.load_mlm's dict: path, hash (hashed in the worker), shared_tokens, ...
        self.prior_source: str | None = None
        self.model_info = None
        self.dataset = None
        self.predictions = None
        self.attribution = None
        self.comparison: tuple | None = None
        #: the ModelComparison shown in "Compare models" mode (its row A is also ``attribution``)
        self.model_comparison = None
        #: the comparison-model controller (:mod:`.compare`), which sets itself here
        self.model_compare = None
        self.saliency = None
        self.device = None
        self._pending_text: TextInput | None = None
        self._pending_mlm: str | None = None
        self._prior_path: str | None = None
        self._quiet = False  # True while the controller itself updates the marginalization form

        dataset_panel.sigSentenceSelected.connect(self._on_row_selected)
        heatmap.sigMethodChanged.connect(lambda _m: self.explain())
        heatmap.sigTargetChanged.connect(lambda _t: self.explain())
        heatmap.sigTokenClicked.connect(self.on_token_clicked)
        heatmap.sigSettingsChanged.connect(self._on_settings_changed)
        heatmap.sigCompareChanged.connect(self.explain)
        grid.sigCellClicked.connect(self.on_cell_clicked)

    @property
    def current_text(self) -> str:
        """The current input as one string ("" = none; a pair: ``"premise ‖ hypothesis"``, the
        ``text`` of its results)."""
        return self.state.text

    @current_text.setter
    def current_text(self, text) -> None:
        self.state.set_input(text)

    @property
    def current_input(self) -> TextInput | None:
        """The current input (one text or a pair), or None: what every request is about."""
        return self.state.input

    @contextmanager
    def quiet(self):
        """Set the heatmap's form without one explanation per field."""
        was, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = was

    def sync_state(self) -> AnalysisState:
        """Read the heatmap's choices into :attr:`state` (method, target, marginalization, comparison)."""
        h, st = self.heatmap, self.state
        st.method = h.method() or st.method
        st.target = h.target()
        st.marginalization = marginalization_config(h.marginalization_settings())
        st.compare = bool(h.compare_enabled())
        st.compare_methods = tuple(h.compare_methods())
        return st

    # -- actions ----------------------------------------------------------------------------
    def cancel_all(self) -> None:
        """Cancel every running request (Cancel button / Esc)."""
        if self.client.busy:
            self.client.cancel_all()
            self.sigStatus.emit("Cancelling…")

    def set_text(self, text: "str | TextInput | tuple", force: bool = False) -> None:
        """Make ``text`` (a sentence, or a :class:`TextInput` pair) the current input and explain
        it (no-op if already current)."""
        inp = TextInput.of(text)
        if not any(t.strip() for t in inp.texts):
            self.sigStatus.emit("Type a sentence first.")
            return
        if inp == self.current_input and not force and self._has_current_request():
            return
        self.state.set_input(inp)
        self.sigCurrentTextChanged.emit(self.current_text)
        self.sigCurrentInputChanged.emit(inp)
        self.explain()

    set_input = set_text

    def explain(self) -> None:
        """Request the attribution (or the method comparison) and the hidden saliency of the
        current sentence."""
        text = self.current_input
        if text is None:
            return
        if self.model_info is None:
            self._pending_text = text
            self.heatmap.show_message(NO_MODEL_HINT)
            self.grid.show_message(NO_MODEL_HINT)
            self.sigStateChanged.emit()
            return
        st = self.sync_state()
        method = self.heatmap.method() or AttributionConfig.method
        configs = method_configs(self.heatmap, st.compare_methods if st.compare else (method,))
        self.attribution = self.saliency = self.comparison = self.model_comparison = None
        self.sigExplaining.emit()
        models = getattr(self.heatmap, "models_enabled", None)
        if not st.compare and models is not None and models():  # one row per model (Kim et al. Fig. 4a)
            self.drop("attribution", "compare")
            self._sentence_job(CompareModelsRequest(input=text, method=method, target=st.target, configs=configs),
                               self._finished_models)
        elif st.compare:
            self.drop("attribution")
            if not st.compare_methods:
                self.heatmap.show_message("Choose the methods to compare (Methods ▾).")
                self.drop("compare")
                self.sigStateChanged.emit()
                return
            self._sentence_job(CompareRequest(input=text, methods=st.compare_methods, target=st.target,
                                              configs=configs), self._finished_compare)
        else:
            self.drop("compare", "compare_models")
            self._sentence_job(AttributionRequest(input=text, method=method, target=st.target, configs=configs),
                               self._finished_attribution)
        self._sentence_job(HiddenSaliencyRequest(input=text, target=st.target), self._finished_hidden)
        self.heatmap.set_computing()
        self.grid.set_computing()
        self.sigStateChanged.emit()

    def _sentence_job(self, request, handler):
        panel = self.grid if request.kind == "hidden" else self.heatmap

        def progress(done: int, total: int, _message: str) -> None:
            if total > 0:
                panel.set_computing(f"computing… {100 * done // total}%")

        return self.submit(request, lambda r: self._shown_then_changed(handler, r),
                           on_failed=lambda m: self._failed(request.kind, m),
                           on_cancelled=lambda: self._cancelled(request.kind), on_progress=progress)

    def _on_settings_changed(self) -> None:
        if self._quiet:
            return
        h = self.heatmap
        if h.uses_marginalization() or (hasattr(h, "uses_settings") and h.uses_settings()):
            self.explain()

    def _has_current_request(self) -> bool:
        if self.state.compare and (self.comparison is not None or self.pending("compare")):
            return True
        return self.attribution is not None or self.pending("attribution") or self.pending("compare_models")

    # -- panel intent -----------------------------------------------------------------------
    @Slot(int, str)
    def _on_row_selected(self, row: int, text: str) -> None:
        model = self.dataset_panel.model
        # the row's input (a pair dataset: premise and hypothesis, as Dataset.input(row))
        self.set_text(model.input(row) if hasattr(model, "input") and 0 <= row < model.rowCount() else text)

    @Slot(int)
    def on_token_clicked(self, index: int) -> None:
        """A token of the heatmap was clicked: highlight its column in the grid."""
        self.grid.highlight_column(index)
        self.sigStatus.emit(f"Token {index} selected")

    def _shown(self):
        """A TokenAttribution of the current sentence that is on screen (single or compare mode)."""
        if self.attribution is not None:
            return self.attribution
        return self.comparison[0] if self.comparison else None

    @Slot(int, int)
    def on_cell_clicked(self, layer: int, location: int) -> None:
        """A grid cell was clicked: outline its receptive field in the heatmap."""
        hs = self.saliency
        if hs is None:
            return
        first, last = (int(v) for v in hs.receptive_fields[layer, location])
        color = self.grid.receptive_field_color(layer, location)
        if self.heatmap.result is not None and len(self.heatmap.result.tokens) == len(hs.tokens):
            self.heatmap.set_receptive_field(first, last, color)
            self.heatmap.view.set_selected(location)
        self.grid.highlight_column(location)
        self.sigStatus.emit(f"{hs.layer_names[layer]}, location {location}: receptive field tokens {first}–{last}")

    # -- state ------------------------------------------------------------------------------
    def is_ready(self) -> bool:
        """True when every panel shows its result for the current sentence and nothing is pending."""
        if self.model_info is None or not self.current_text or self.client.busy:
            return False
        shown = self._shown()
        if shown is None or self.saliency is None:
            return False
        if shown.text != self.current_text or self.saliency.text != self.current_text:
            return False
        if self.model_compare is not None and not self.model_compare.is_ready():
            return False  # the comparison model's rows or dataset predictions are still to come
        return self.dataset is None or self.predictions is not None

    # -- results ----------------------------------------------------------------------------
    def _finished_attribution(self, attribution) -> None:
        if attribution.text != self.current_text:
            return
        self.attribution = attribution
        self.heatmap.set_result(attribution)
        self._note_unknown_words(attribution)
        self._check_sentence_ready()

    def _note_unknown_words(self, attribution) -> None:
        """Say so in the status bar when no word of the sentence is in the model's vocabulary."""
        unknown = getattr(attribution, "unknown", None)
        if unknown is None:
            return
        words = [bool(u) for u, s in zip(unknown, attribution.special) if not s]
        if words and all(words):
            self.sigStatus.emit("None of these words is in the model's vocabulary: every token was read as "
                                "[UNK], so the scores only explain the [UNK] token at each position")
        elif attribution.truncated:
            self.sigStatus.emit(f"The sentence is longer than the model's maximum length: only its first "
                                f"{len(attribution.tokens)} tokens are explained")

    def _finished_models(self, result) -> None:
        """A :class:`~interp_engine.results.ModelComparison` of the current sentence: shown as one
        row per model; its row A (the open model's attribution) is :attr:`attribution`."""
        if result.text != self.current_text:
            return
        self.model_comparison = result
        self.attribution = result.rows[0]
        self.heatmap.set_model_comparison(result)
        self._note_unknown_words(self.attribution)
        self._check_sentence_ready()

    def _finished_compare(self, results) -> None:
        if not results or results[0].text != self.current_text:
            return
        self.comparison = tuple(results)
        self.heatmap.set_comparison(self.comparison)
        self._check_sentence_ready()

    def _finished_hidden(self, saliency) -> None:
        if saliency.text != self.current_text:
            return
        self.saliency = saliency
        self.grid.set_result(saliency)
        self._check_sentence_ready()

    def _check_sentence_ready(self) -> None:
        if self._shown() is not None and self.saliency is not None:
            self.sigSentenceReady.emit(self.current_text)

    def _failed(self, kind: str, message: str) -> None:
        if kind in ("attribution", "compare", "compare_models"):
            self.heatmap.show_message(_FAILED[kind].format(message))
        elif kind == "hidden":
            self.grid.show_message(_FAILED[kind].format(message))
        elif kind == "mlm":
            if self.mlm_info is None:
                self.heatmap.set_mlm_available(False)
        elif kind == "predictions":
            self.dataset_panel.set_status("prediction failed")
        self.sigStatus.emit(f"Error: {message}")
        self.sigError.emit(kind, message)
        self.sigStateChanged.emit()

    def _cancelled(self, kind: str) -> None:
        if kind in ("attribution", "compare", "compare_models"):
            self.heatmap.show_message("Cancelled. Select the sentence again or press Explain.")
            self.drop("attribution", "compare", "compare_models")
        elif kind == "hidden":
            self.grid.show_message("Cancelled.")
        elif kind == "predictions":
            self.dataset_panel.set_status("predictions cancelled")
        self.sigStatus.emit(f"Cancelled ({kind})")
        self.sigStateChanged.emit()

    def shutdown(self) -> bool:
        """Stop the engine thread (see :meth:`EngineClient.shutdown`)."""
        return self.client.shutdown()
