"""Wires the panels to the engine client and holds what the window shows.

Panels emit intent (a row selected, a token or cell clicked, a method chosen); the
:class:`Controller` turns intent into requests for :class:`~desktop_app.engine_client.EngineClient`
and current results into ``panel.set_result(...)`` calls. It holds no Qt widgets of its own and
never calls the engine directly.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from .engine_client import EngineClient
from .panels.candidates import CandidateTablePanel
from .panels.dataset_list import DatasetListPanel
from .panels.heatmap import WOE_METHODS, SentenceHeatmapPanel
from .panels.saliency_grid import SaliencyGridPanel
from .requests import (
    AttributionRequest,
    CandidateRequest,
    CompareRequest,
    DemoRequest,
    HiddenSaliencyRequest,
    LoadDatasetRequest,
    LoadMLMRequest,
    LoadModelRequest,
    PredictDatasetRequest,
    PriorRequest,
    SetDeviceRequest,
    SpanRequest,
)

NO_MODEL_HINT = "Open a model (File → Open Model…, or File → Open Demo) to explain this sentence."


def _generic_names(names) -> bool:
    return all(str(n) == str(i) for i, n in enumerate(names))


class Controller(QObject):
    """Application state (model, dataset, current sentence) and the glue between panels and engine.

    Signals:
        sigStateChanged(): something shown changed (a result arrived, a request failed).
        sigSentenceReady(str): the attribution and the saliency of the current sentence are shown.
        sigPredictionsReady(): the dataset predictions are shown.
        sigModelLoaded(object): a ``ModelInfo`` was opened.
        sigDatasetLoaded(object): a ``Dataset`` was opened.
        sigDeviceChanged(str): the engine moved to this device.
        sigCurrentTextChanged(str): the current sentence changed.
        sigError(str, str): ``(kind, message)`` of a failed current request.
        sigStatus(str): a status-bar message.
        sigMLMLoaded(object): a masked LM was opened (the engine's info dict).
        sigCandidatesReady(object): a ``CandidateTable`` is shown.
        sigSpanReady(object): a ``SpanAttribution`` is shown.
    """

    sigStateChanged = Signal()
    sigSentenceReady = Signal(str)
    sigPredictionsReady = Signal()
    sigModelLoaded = Signal(object)
    sigDatasetLoaded = Signal(object)
    sigDeviceChanged = Signal(str)
    sigCurrentTextChanged = Signal(str)
    sigError = Signal(str, str)
    sigStatus = Signal(str)
    sigMLMLoaded = Signal(object)
    sigCandidatesReady = Signal(object)
    sigSpanReady = Signal(object)
    #: (path, message): the model folder was refused because its weights are only a pickle: ask
    sigPickleRefused = Signal(str, str)
    #: (path, suggested encoding, message): the dataset is not UTF-8: offer the encoding
    sigEncodingProblem = Signal(str, str, str)

    def __init__(self, client: EngineClient, heatmap: SentenceHeatmapPanel, grid: SaliencyGridPanel,
                 dataset_panel: DatasetListPanel, parent: QObject | None = None, *,
                 candidates: CandidateTablePanel | None = None):
        super().__init__(parent)
        self.client = client
        self.heatmap = heatmap
        self.grid = grid
        self.dataset_panel = dataset_panel
        self.candidates = candidates
        self.mlm_info = None  # Engine.load_mlm's dict: path, hash (hashed in the worker), shared_tokens, ...
        self.prior_source: str | None = None
        self.comparison: tuple | None = None
        self.candidate_table = None
        self.span = None
        self._compare_id: int | None = None
        self._cand_id: int | None = None
        self._span_id: int | None = None
        self._pending_mlm: str | None = None
        self._prior_path: str | None = None
        self._quiet = False  # True while the controller itself updates the marginalization form

        self.model_info = None
        self.dataset = None
        self.predictions = None
        self.current_text = ""
        self.attribution = None
        self.saliency = None
        self.device = None
        self._pending_text: str | None = None
        self._attr_id: int | None = None
        self._hidden_id: int | None = None
        self._predictions_pending = False

        dataset_panel.sigSentenceSelected.connect(self._on_row_selected)
        heatmap.sigMethodChanged.connect(lambda _m: self.explain())
        heatmap.sigTargetChanged.connect(lambda _t: self.explain())
        heatmap.sigTokenClicked.connect(self.on_token_clicked)
        heatmap.sigSpanSelected.connect(self.on_span_selected)
        heatmap.sigSettingsChanged.connect(self._on_settings_changed)
        heatmap.sigCompareChanged.connect(self.explain)
        grid.sigCellClicked.connect(self.on_cell_clicked)

        client.sigFinished.connect(self._on_finished)
        client.sigFailed.connect(self._on_failed)
        client.sigCancelled.connect(self._on_cancelled)
        client.sigProgress.connect(self._on_progress)

    # -- actions ----------------------------------------------------------------------------
    def open_model(self, path: str | Path, *, mlm: str | Path | None = None, prior_path: str | Path | None = None,
                   allow_pickle: bool = False) -> int:
        """Load a model folder in the engine thread; then, if given, the masked LM ``mlm`` and
        the unigram prior counted from the dataset file ``prior_path`` (the demo does both).
        ``allow_pickle``: the user confirmed opening pickle-only weights (see :attr:`sigPickleRefused`)."""
        for kind in ("predictions", "attribution", "hidden", "compare", "candidates", "span"):
            self.client.cancel_kind(kind)
        self._pending_mlm = str(mlm) if mlm else None
        self._prior_path = str(prior_path) if prior_path else None
        rid = self.client.submit(LoadModelRequest(path=str(path), allow_pickle=bool(allow_pickle)))
        self._requested_model = (rid, str(path))
        return rid

    def open_mlm(self, path: str | Path) -> int:
        """Open a masked-LM folder as the likelihood model of marginalization."""
        return self.client.submit(LoadMLMRequest(path=str(path)))

    def open_dataset(self, path: str | Path, text_column: str = "text", label_column: str = "label",
                     encoding: str = "utf-8") -> int:
        """Load a dataset file in the engine thread (streamed, with progress; cancellable).
        A file that is not in ``encoding`` reports :attr:`sigEncodingProblem`."""
        self.client.cancel_kind("predictions")
        rid = self.client.submit(LoadDatasetRequest(path=str(path), text_column=text_column,
                                                    label_column=label_column, encoding=encoding))
        self._requested_dataset = (rid, str(path))
        return rid

    def open_demo(self) -> int:
        """Prepare (train on first use) and then open the demo model and dataset."""
        return self.client.submit(DemoRequest())

    def set_device(self, device: str) -> int:
        return self.client.submit(SetDeviceRequest(device=device))

    def cancel_all(self) -> None:
        """Cancel every running request (Cancel button / Esc)."""
        if self.client.busy:
            self.client.cancel_all()
            self.sigStatus.emit("Cancelling…")

    def set_text(self, text: str, force: bool = False) -> None:
        """Make ``text`` the current sentence and explain it (no-op if already current)."""
        text = str(text)
        if not text.strip():
            self.sigStatus.emit("Type a sentence first.")
            return
        if text == self.current_text and not force and self._has_current_request():
            return
        self.current_text = text
        self.sigCurrentTextChanged.emit(text)
        self.explain()

    def explain(self) -> None:
        """Request the attribution (or the method comparison) and the hidden saliency of the
        current sentence."""
        text = self.current_text
        if not text:
            return
        if self.model_info is None:
            self._pending_text = text
            self.heatmap.show_message(NO_MODEL_HINT)
            self.grid.show_message(NO_MODEL_HINT)
            self.sigStateChanged.emit()
            return
        method, target = self.heatmap.method() or "grad", self.heatmap.target()
        settings = self.heatmap.marginalization_settings()
        self.attribution = self.saliency = self.comparison = None
        self._clear_token_details()
        if self.heatmap.compare_enabled():
            methods = tuple(self.heatmap.compare_methods())
            if not methods:
                self.heatmap.show_message("Choose the methods to compare (Methods ▾).")
                self.client.cancel_kind("attribution")
                self.client.cancel_kind("compare")
                self._attr_id = self._compare_id = None
                self.sigStateChanged.emit()
                return
            self.client.cancel_kind("attribution")
            self._attr_id = None
            self._compare_id = self.client.submit(CompareRequest(text=text, methods=methods, target=target,
                                                                 marginalization=settings))
        else:
            self.client.cancel_kind("compare")
            self._compare_id = None
            self._attr_id = self.client.submit(AttributionRequest(text=text, method=method, target=target,
                                                                  marginalization=settings))
        self._hidden_id = self.client.submit(HiddenSaliencyRequest(text=text, target=target))
        self.heatmap.set_computing()
        self.grid.set_computing()
        self.sigStateChanged.emit()

    def _clear_token_details(self) -> None:
        for kind in ("candidates", "span"):
            self.client.cancel_kind(kind)
        self._cand_id = self._span_id = None
        self.candidate_table = self.span = None
        if self.candidates is not None:
            self.candidates.show_message("Click a token of the heatmap to see its candidates.")
            self.candidates.set_span(None)

    def _on_settings_changed(self) -> None:
        if self._quiet:
            return
        if self.heatmap.uses_marginalization():
            self.explain()

    def _has_current_request(self) -> bool:
        if self._compare_id is not None:
            return self.comparison is not None or self.client.request(self._compare_id) is not None
        return self._attr_id is not None and (self.attribution is not None or self.client.request(self._attr_id) is not None)

    # -- panel intent -----------------------------------------------------------------------
    @Slot(int, str)
    def _on_row_selected(self, _row: int, text: str) -> None:
        self.set_text(text)

    @Slot(int)
    def on_token_clicked(self, index: int) -> None:
        """A token of the heatmap was clicked: highlight its column in the grid and, with a
        marginalization method, compute its candidate table."""
        self.grid.highlight_column(index)
        self.sigStatus.emit(f"Token {index} selected")
        self.request_candidates(index)

    def _shown(self):
        """A TokenAttribution of the current sentence that is on screen (single or compare mode)."""
        if self.attribution is not None:
            return self.attribution
        return self.comparison[0] if self.comparison else None

    def request_candidates(self, index: int) -> int | None:
        """Compute the candidate table of token ``index`` of the current sentence."""
        if self.candidates is None or self.model_info is None or not self.current_text:
            return None
        shown = self._shown()
        method = self.heatmap.method()
        compare_woe = self.heatmap.compare_enabled() and "marginalization" in self.heatmap.compare_methods()
        if shown is not None and 0 <= index < len(shown.special) and shown.special[index]:
            self.candidates.show_message(f"“{shown.tokens[index]}” is a special token: it is never marginalized.")
            return None
        if not compare_woe and method in WOE_METHODS and method != "marginalization":
            word = "[UNK]" if method == "unk" else "the zero vector"
            tok = shown.tokens[index] if shown is not None and index < len(shown.tokens) else str(index)
            score = (f" Its WoE: {shown.scores[index]:+.3f} bits." if shown is not None
                     and index < len(shown.scores) else "")
            self.candidates.show_message(f"Erasure replaces “{tok}” by {word} (one candidate).{score} "
                                         "Choose Marginalization to see the likelihood model's candidates.")
            return None
        if not compare_woe and method not in WOE_METHODS:
            self.candidates.show_message("The candidate table explains WoE methods: choose Marginalization.")
            return None
        target = shown.target if shown is not None else self.heatmap.target()
        self._cand_id = self.client.submit(CandidateRequest(
            text=self.current_text, position=int(index), target=target,
            marginalization=self.heatmap.marginalization_settings()))
        self.candidates.set_computing(f"Computing the candidates of token {index}…")
        return self._cand_id

    @Slot(int, int)
    def on_span_selected(self, first: int, last: int) -> None:
        """A span of 2-3 tokens (``first..last``) was shift-clicked: compute its joint WoE."""
        self.request_span(range(int(first), int(last) + 1))

    def request_span(self, span) -> int | None:
        """Compute the joint WoE of the adjacent positions ``span`` by multi-token marginalization."""
        span = tuple(int(i) for i in span)
        if self.model_info is None or not self.current_text or len(span) < 2:
            return None
        shown = self._shown()
        if shown is not None and any(shown.special[i] for i in span if i < len(shown.special)):
            self.sigStatus.emit("A span cannot include special tokens")
            return None
        target = shown.target if shown is not None else self.heatmap.target()
        self._span_id = self.client.submit(SpanRequest(text=self.current_text, span=span, target=target,
                                                       marginalization=self.heatmap.marginalization_settings()))
        if self.candidates is not None:
            self.candidates.show_span_message(f"Marginalizing tokens {span[0]}–{span[-1]} jointly…")
        self.sigStatus.emit(f"Span {span[0]}–{span[-1]} selected")
        return self._span_id

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
        return self.dataset is None or self.predictions is not None

    def _gold_names(self) -> tuple[str, ...]:
        ds = self.dataset
        names = tuple(ds.class_names)
        if self.model_info is not None and _generic_names(names) and len(names) <= len(self.model_info.class_names):
            return tuple(self.model_info.class_names[: len(names)]) if names else names
        return names

    def _comparable(self) -> bool:
        if self.model_info is None or self.dataset is None or self.dataset.labels is None:
            return False
        names = tuple(self.dataset.class_names)
        return _generic_names(names) or names == tuple(self.model_info.class_names)[: len(names)]

    def _request_predictions(self) -> None:
        if self.dataset is None or self.model_info is None:
            return
        self.predictions = None
        self.dataset_panel.model.clear_predictions()
        self.dataset_panel.set_status("predicting…")
        self.client.submit(PredictDatasetRequest(n_texts=len(self.dataset)))

    # -- engine reports ---------------------------------------------------------------------
    @Slot(int, str, object)
    def _on_finished(self, request_id: int, kind: str, result: object) -> None:
        handler = getattr(self, f"_finished_{kind}", None)
        if handler is not None:
            handler(request_id, result)
        self.sigStateChanged.emit()

    def _finished_model(self, _rid: int, info) -> None:
        self.model_info = info
        self.heatmap.set_class_names(info.class_names)
        # a masked LM / prior belongs to a vocabulary: ask for them again for this model
        self.mlm_info = None
        self.prior_source = None
        self._quiet = True
        try:
            self.heatmap.set_mlm_available(False)
            self.heatmap.set_prior_available(False)
        finally:
            self._quiet = False
        if self._pending_mlm:
            mlm, self._pending_mlm = self._pending_mlm, None
            self.open_mlm(mlm)
        if self._prior_path:
            self.client.submit(PriorRequest(path=self._prior_path))
        elif self.dataset is not None:
            self.client.submit(PriorRequest(path=None))
        self.sigModelLoaded.emit(info)
        self.sigStatus.emit(f"Opened {info.kind} model {Path(info.path).name} ({len(info.class_names)} classes, "
                            f"device {info.device})")
        if self.dataset is not None:
            self.dataset_panel.model.set_gold_names(self._gold_names())
            self._request_predictions()
        if self._pending_text:
            text, self._pending_text = self._pending_text, None
            self.current_text = ""
            self.set_text(text)
        elif self.current_text:
            self.explain()
        elif self.dataset is not None and len(self.dataset):
            self.dataset_panel.select_row(0)

    def _finished_dataset(self, _rid: int, ds) -> None:
        self.dataset = ds
        self.predictions = None
        name = Path(ds.path).name if getattr(ds, "path", None) else ""
        self.dataset_panel.set_dataset(ds.texts, ds.labels, self._gold_names(), name)
        self.sigDatasetLoaded.emit(ds)
        if self.model_info is not None and not self._prior_path:
            self.client.submit(PriorRequest(path=None))
        skipped = getattr(ds, "n_skipped", 0)
        self.sigStatus.emit(f"Opened {name}: {len(ds)} sentences" + (f" ({skipped} empty rows skipped)" if skipped else ""))
        self._request_predictions()
        if not self.current_text and not self._pending_text and len(ds):
            self.dataset_panel.select_row(0)

    def _finished_predictions(self, _rid: int, preds) -> None:
        if self.dataset is None or len(preds.predicted) != len(self.dataset) or self.model_info is None:
            return  # made for another dataset
        self.predictions = preds
        self.dataset_panel.set_predictions(preds.predicted, preds.confidence, self.model_info.class_names,
                                           self._comparable())
        self.sigPredictionsReady.emit()
        self.sigStatus.emit(f"Predicted {len(self.dataset)} sentences")

    def _finished_attribution(self, rid: int, attribution) -> None:
        if rid != self._attr_id or attribution.text != self.current_text:
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

    def _finished_compare(self, rid: int, results) -> None:
        if rid != self._compare_id or not results or results[0].text != self.current_text:
            return
        self.comparison = tuple(results)
        self.heatmap.set_comparison(self.comparison)
        self._check_sentence_ready()

    def _finished_candidates(self, rid: int, table) -> None:
        if rid != self._cand_id or table.text != self.current_text or self.candidates is None:
            return
        self.candidate_table = table
        self.candidates.set_result(table)
        self.sigCandidatesReady.emit(table)

    def _finished_span(self, rid: int, span) -> None:
        if rid != self._span_id or span.text != self.current_text:
            return
        self.span = span
        if self.heatmap.result is not None:
            self.heatmap.set_span_info(span)
        if self.candidates is not None:
            self.candidates.set_span(span)
        self.sigSpanReady.emit(span)
        self.sigStatus.emit(f"Span WoE {span.score:+.3f} bits ({span.n_candidates} candidate combinations)")

    def _finished_mlm(self, _rid: int, info) -> None:
        self.mlm_info = info
        self.heatmap.set_mlm_available(True, info.get("path") if isinstance(info, dict) else None)
        self.sigMLMLoaded.emit(info)
        n = info.get("shared_tokens") if isinstance(info, dict) else None
        self.sigStatus.emit(f"Opened masked LM {Path(str(info.get('path', ''))).name}"
                            + (f" ({n} tokens shared with the classifier)" if n is not None else ""))
        if not self._prior_path and self.prior_source is None:
            from interp_engine.attribution.likelihood import PRIOR_FILE

            if (Path(str(info.get("path", ""))) / PRIOR_FILE).is_file():
                self.prior_source = "the masked LM's training texts"
                self.heatmap.set_prior_available(True, self.prior_source)

    def _finished_prior(self, _rid: int, source: str) -> None:
        self.prior_source = str(source)
        self.heatmap.set_prior_available(True, self.prior_source)

    def _finished_hidden(self, rid: int, saliency) -> None:
        if rid != self._hidden_id or saliency.text != self.current_text:
            return
        self.saliency = saliency
        self.grid.set_result(saliency)
        self._check_sentence_ready()

    def _check_sentence_ready(self) -> None:
        if self._shown() is not None and self.saliency is not None:
            self.sigSentenceReady.emit(self.current_text)

    def _finished_device(self, _rid: int, device: str) -> None:
        self.device = device
        self.sigDeviceChanged.emit(device)
        self.sigStatus.emit(f"Engine device: {device}")

    def _finished_demo(self, _rid: int, paths) -> None:
        model_dir, data_path, *extra = paths
        mlm_dir = extra[0] if extra else None
        train_path = extra[1] if len(extra) > 1 else None
        self.open_model(model_dir, mlm=mlm_dir, prior_path=train_path)
        self.open_dataset(data_path)
        if not mlm_dir:
            self.sigStatus.emit("The demo opened without its masked LM: marginalization offers uniform and prior")

    def _ask_the_user(self, request_id: int, kind: str, message: str) -> bool:
        """Turn a refusal the user can lift into a question: pickle-only weights
        (:attr:`sigPickleRefused`) or a dataset in another encoding (:attr:`sigEncodingProblem`)."""
        from interp_engine.data import encoding_in_message
        from interp_engine.models.classifier import PICKLE_REFUSED

        model = getattr(self, "_requested_model", None)
        if kind == "model" and PICKLE_REFUSED in message and model and model[0] == request_id:
            self.sigStatus.emit("The model's weights are only a pickle file: confirm to open it")
            self.sigPickleRefused.emit(model[1], message)
            return True
        data = getattr(self, "_requested_dataset", None)
        suggested = encoding_in_message(message) if kind == "dataset" else None
        if suggested and data and data[0] == request_id:
            self.dataset_panel.set_status(f"not UTF-8: try {suggested}")
            self.sigStatus.emit(f"The dataset is not UTF-8 (it looks like {suggested}): choose its encoding")
            self.sigEncodingProblem.emit(data[1], suggested, message)
            return True
        return False

    @Slot(int, str, str)
    def _on_failed(self, request_id: int, kind: str, message: str) -> None:
        if self._ask_the_user(request_id, kind, message):
            self.sigStateChanged.emit()
            return
        if kind == "attribution" and request_id == self._attr_id:
            self.heatmap.show_message(f"Could not explain this sentence:\n{message}")
        elif kind == "compare" and request_id == self._compare_id:
            self.heatmap.show_message(f"Could not compare the methods on this sentence:\n{message}")
        elif kind == "candidates" and request_id == self._cand_id and self.candidates is not None:
            self.candidates.show_message(f"Could not compute the candidates: {message}")
        elif kind == "span" and request_id == self._span_id and self.candidates is not None:
            self.candidates.show_span_message(f"Could not marginalize the span: {message}")
        elif kind == "mlm":
            if self.mlm_info is None:
                self.heatmap.set_mlm_available(False)
        elif kind == "hidden" and request_id == self._hidden_id:
            self.grid.show_message(f"Could not compute the saliency grid:\n{message}")
        elif kind == "predictions":
            self.dataset_panel.set_status("prediction failed")
        self.sigStatus.emit(f"Error: {message}")
        self.sigError.emit(kind, message)
        self.sigStateChanged.emit()

    @Slot(int, str, int, int, str)
    def _on_progress(self, request_id: int, kind: str, done: int, total: int, _message: str) -> None:
        if total > 0 and ((kind == "attribution" and request_id == self._attr_id)
                          or (kind == "compare" and request_id == self._compare_id)):
            self.heatmap.set_computing(f"computing… {100 * done // total}%")
        elif total > 0 and kind == "hidden" and request_id == self._hidden_id:
            self.grid.set_computing(f"computing… {100 * done // total}%")

    @Slot(int, str)
    def _on_cancelled(self, request_id: int, kind: str) -> None:
        if kind in ("attribution", "compare") and request_id in (self._attr_id, self._compare_id):
            self.heatmap.show_message("Cancelled. Select the sentence again or press Explain.")
            self._attr_id = self._compare_id = None
        elif kind in ("candidates", "span") and self.candidates is not None:
            self.candidates.show_message("Cancelled.")
        elif kind == "hidden" and request_id == self._hidden_id:
            self.grid.show_message("Cancelled.")
            self._hidden_id = None
        elif kind == "predictions":
            self.dataset_panel.set_status("predictions cancelled")
        self.sigStatus.emit(f"Cancelled ({kind})")
        self.sigStateChanged.emit()

    def shutdown(self) -> bool:
        """Stop the engine thread (see :meth:`EngineClient.shutdown`)."""
        return self.client.shutdown()


class TokenSearchController(QObject):
    """Wires the training-set search dock (Lopes et al. §4) to the engine client and the heatmap.

    A clicked heatmap token fills the query box with its text; a shift-clicked span fills it with
    the span's words (and becomes the span of "Find similar"). Search and similarity requests run
    in the worker; a double-clicked result opens its sentence through the main controller.
    """

    def __init__(self, client: EngineClient, main: Controller, panel, parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self.main = main
        self.panel = panel
        self.span: tuple[int, int] | None = None  # [start, end) token indices of the heatmap
        self._search_id: int | None = None
        self._similar_id: int | None = None
        main.heatmap.sigTokenClicked.connect(self.on_token_clicked)
        main.heatmap.sigSpanSelected.connect(self.on_span_selected)
        main.sigCurrentTextChanged.connect(lambda _t: setattr(self, "span", None))
        panel.sigSearchRequested.connect(self.search)
        panel.sigSimilarRequested.connect(self.find_similar)
        panel.sigSentenceActivated.connect(lambda text: self.main.set_text(text))
        client.sigFinished.connect(self._on_finished)
        client.sigFailed.connect(self._on_failed)
        client.sigProgress.connect(self._on_progress)

    def _tokens(self) -> tuple[str, ...]:
        toks = self.main.heatmap.view.tokens
        return tuple(toks() if callable(toks) else toks)

    @Slot(int)
    def on_token_clicked(self, index: int) -> None:
        toks = self._tokens()
        if 0 <= index < len(toks):
            self.span = (int(index), int(index) + 1)
            self.panel.set_query(toks[index])

    @Slot(int, int)
    def on_span_selected(self, first: int, last: int) -> None:
        toks = self._tokens()
        if 0 <= first <= last < len(toks):
            self.span = (int(first), int(last) + 1)
            self.panel.set_query(" ".join(toks[first : last + 1]))

    def search(self, query: str) -> int | None:
        from .requests import SearchRequest

        if self.main.dataset is None:
            self.panel.set_busy("Open a dataset first (File → Open Dataset…).")
            return None
        self.panel.set_busy(f"Searching for “{query}”…")
        if self.main.model_info is not None:
            self.panel.set_class_names(self.main.model_info.class_names)
        self._search_id = self.client.submit(SearchRequest(query=query, mode=self.panel.mode(),
                                                           chosen_class=self.panel.chosen_class()))
        return self._search_id

    def find_similar(self) -> int | None:
        from .requests import SimilarRequest

        if self.main.dataset is None or self.main.model_info is None or not self.main.current_text:
            self.panel.set_similar_busy("Open a model and a dataset, explain a sentence and click a token first.")
            return None
        span = self.span or (0, min(2, len(self._tokens()) or 1))
        self.panel.set_similar_busy("Computing activations of the training n-grams (first time only)…")
        self._similar_id = self.client.submit(SimilarRequest(text=self.main.current_text, span=span))
        return self._similar_id

    def _on_finished(self, rid: int, kind: str, result: object) -> None:
        if kind == "search" and rid == self._search_id:
            self.panel.set_result(result)
        elif kind == "similar" and rid == self._similar_id:
            self.panel.set_similar_result(result)

    def _on_failed(self, rid: int, kind: str, message: str) -> None:
        if kind == "search" and rid == self._search_id:
            self.panel.set_busy(message)
        elif kind == "similar" and rid == self._similar_id:
            self.panel.set_similar_busy(message)

    def _on_progress(self, rid: int, kind: str, done: int, total: int, message: str) -> None:
        if total > 0 and kind == "search" and rid == self._search_id:
            self.panel.set_busy(f"{message} {100 * done // total}%")
        elif total > 0 and kind == "similar" and rid == self._similar_id:
            self.panel.set_similar_busy(f"{message} {100 * done // total}%")


class DeletionCurveController(QObject):
    """Wires the deletion-curve dock (Kim et al. §3.5, AUC_rep) to the engine client.

    The curves follow the heatmap: its method (or every method of its comparison), its target and
    its marginalization settings. They are requested when the heatmap shows a new result (new
    sentence, method or settings) and when the dock's strategy or x-range changes; while the dock
    is hidden nothing is computed, and the curves catch up when it is shown again.
    """

    def __init__(self, client: EngineClient, main: Controller, panel, dock=None, parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self.main = main
        self.panel = panel
        self.dock = dock
        self.seed = 0
        self._id: int | None = None
        self._stale = False
        main.sigSentenceReady.connect(lambda _t: self.request())
        main.sigCurrentTextChanged.connect(self._on_text_changed)
        main.sigModelLoaded.connect(self._on_model_loaded)
        main.sigMLMLoaded.connect(self._on_mlm_loaded)
        panel.sigSettingsChanged.connect(lambda _s, _x: self.request())
        if dock is not None:
            dock.visibilityChanged.connect(self._on_visibility)
        client.sigFinished.connect(self._on_finished)
        client.sigFailed.connect(self._on_failed)
        client.sigCancelled.connect(self._on_cancelled)
        client.sigProgress.connect(self._on_progress)

    def methods(self) -> tuple[str, ...]:
        """The heatmap's methods: its comparison's, or its single method."""
        h = self.main.heatmap
        if h.compare_enabled():
            return tuple(h.compare_methods())
        m = h.method()
        return (m,) if m else ()

    def _visible(self) -> bool:
        return self.dock is None or not self.dock.isHidden()

    def request(self) -> int | None:
        """Ask for the deletion curves of the current sentence (drops an older request)."""
        main = self.main
        self.client.cancel_kind("deletion_curves")
        self._id = None
        if main.model_info is None or not main.current_text:
            return None
        methods = self.methods()
        if not methods:
            self.panel.show_message("Choose the methods to compare in the heatmap (Methods ▾).")
            return None
        if not self._visible():
            self._stale = True
            return None
        self._stale = False
        shown = main._shown()
        target = shown.target if shown is not None and shown.text == main.current_text else main.heatmap.target()
        from .requests import DeletionCurveRequest

        settings = main.heatmap.marginalization_settings() if "marginalization" in methods else None
        self._id = self.client.submit(DeletionCurveRequest(
            text=main.current_text, methods=methods, target=target, strategy=self.panel.strategy(),
            x_max=self.panel.x_max(), seed=self.seed, marginalization=settings))
        self.panel.set_computing("computing…")
        return self._id

    def _on_visibility(self, visible: bool) -> None:
        if visible and self._stale:
            self.request()

    def _on_text_changed(self, _text: str) -> None:
        self.client.cancel_kind("deletion_curves")
        self._id = None
        self.panel.set_computing("waiting for the attribution…")

    def _on_model_loaded(self, _info) -> None:
        self.panel.set_mlm_available(False)
        self.panel.show_message("Select a sentence to see its deletion curves.")

    def _on_mlm_loaded(self, _info) -> None:
        was = self.panel.strategy()
        self.panel.set_mlm_available(True)
        if self.panel.strategy() != was and self.main.current_text and self.main._shown() is not None:
            self.request()

    def _on_finished(self, rid: int, kind: str, result: object) -> None:
        if kind == "deletion_curves" and rid == self._id and getattr(result, "text", None) == self.main.current_text:
            self.panel.set_result(result)  # no status-bar message: it would hide the sentence's notes

    def _on_failed(self, rid: int, kind: str, message: str) -> None:
        if kind == "deletion_curves" and rid == self._id:
            self.panel.show_message(f"Could not compute the deletion curves:\n{message}")

    def _on_cancelled(self, rid: int, kind: str) -> None:
        if kind == "deletion_curves" and rid == self._id:
            self.panel.show_message("Cancelled. Change the sentence or a setting to compute again.")
            self._id = None

    def _on_progress(self, rid: int, kind: str, done: int, total: int, _message: str) -> None:
        if kind == "deletion_curves" and rid == self._id and total > 0:
            self.panel.set_computing(f"computing… {100 * done // total}%")


class NeighbourScatterController(QObject):
    """Wires the neighbour scatter dock (Yuan et al. eq. 5-8, Fig. 2) to the engine client, the
    saliency grid, the heatmap and the training-set search.

    With "top-m of a layer" chosen, a new sentence's scatter is computed when the dock is visible
    (or as soon as it becomes visible). A grid cell click adds the cell to the selection ("cells
    clicked in the grid"; a second click removes it) and recomputes. A clicked word goes to the
    training-set search; a clicked target star outlines its location's receptive field on the
    heatmap in the location's colour. A newer request supersedes the older one.
    """

    def __init__(self, client: EngineClient, main: Controller, panel, *, search=None, dock=None, search_dock=None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self.main = main
        self.panel = panel
        self.search = search
        self.dock = dock
        self.search_dock = search_dock
        self.seed = 0
        self._id: int | None = None
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
        client.sigFinished.connect(self._on_finished)
        client.sigFailed.connect(self._on_failed)
        client.sigCancelled.connect(self._on_cancelled)
        client.sigProgress.connect(self._on_progress)

    def _visible(self) -> bool:
        return self.dock is None or self.dock.isVisible()

    def request(self) -> int | None:
        """Compute the scatter of the current sentence with the panel's parameters (drops an older request)."""
        from .requests import NeighbourScatterRequest

        main = self.main
        self.client.cancel_kind("neighbours")
        self._id = None
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
        self._id = self.client.submit(NeighbourScatterRequest(
            text=main.current_text, locations=locations, top=p["top"], layer=p["layer"],
            target=sal.target if sal is not None else None, lambda1=p["lambda1"], lambda2=p["lambda2"],
            steps=p["steps"], seed=self.seed, k=p["k"], projection=p["projection"], perplexity=p["perplexity"]))
        self.panel.set_busy(True, "optimising inputs…")
        return self._id

    @Slot()
    def cancel(self) -> None:
        self.client.cancel_kind("neighbours")

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
        from .panels.neighbour_scatter import location_color

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
        self.client.cancel_kind("neighbours")
        self._id = None
        self.panel.set_selected_locations(())
        self.panel.set_busy(False, "")

    def _on_model_loaded(self, info) -> None:
        self.panel.set_layer_names(getattr(info, "layer_names", ()))
        self.panel.set_selected_locations(())
        self.panel.show_message("Choose a sentence: the words nearest to what its most salient hidden locations "
                                "detect appear here.")

    def _on_finished(self, rid: int, kind: str, result: object) -> None:
        if kind == "neighbours" and rid == self._id:
            self.panel.set_busy(False, f"{len(result.locations)} locations in {result.seconds:.1f} s")
            if getattr(result, "text", None) == self.main.current_text:
                self.panel.set_result(result)

    def _on_failed(self, rid: int, kind: str, message: str) -> None:
        if kind == "neighbours" and rid == self._id:
            self.panel.set_busy(False, "")
            self.panel.show_message(f"Could not optimise the locations:\n{message}")

    def _on_cancelled(self, rid: int, kind: str) -> None:
        if kind == "neighbours" and rid == self._id:
            self._id = None
            self.panel.set_busy(False, "Cancelled. Press Compute to start again.")

    def _on_progress(self, rid: int, kind: str, done: int, total: int, message: str) -> None:
        if kind == "neighbours" and rid == self._id:
            self.panel.set_progress(done, total, message)
