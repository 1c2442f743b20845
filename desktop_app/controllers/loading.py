"""Opening things: the model, the dataset (and its predictions), the masked LM, the unigram
prior, the device and the demo. A mixin of :class:`~desktop_app.controllers.analysis.AnalysisController`
(its signals and panels are declared there)."""
from __future__ import annotations

from pathlib import Path

from interp_engine.config import DatasetConfig
from interp_engine.requests import (
    DemoRequest,
    LoadDatasetRequest,
    LoadMLMRequest,
    LoadModelRequest,
    PredictDatasetRequest,
    PriorRequest,
    SetDeviceRequest,
)

from ..engine_client import Job


def _generic_names(names) -> bool:
    return all(str(n) == str(i) for i, n in enumerate(names))


class LoadingMixin:
    """Model, dataset, predictions, masked LM, prior, device and demo requests and results."""

    # -- actions ----------------------------------------------------------------------------
    def open_model(self, path: str | Path, *, mlm: str | Path | None = None, prior_path: str | Path | None = None,
                   allow_pickle: bool = False) -> Job:
        """Load a model folder in the engine thread; then, if given, the masked LM ``mlm`` and
        the unigram prior counted from the dataset file ``prior_path`` (the demo does both).
        ``allow_pickle``: the user confirmed opening pickle-only weights (see :attr:`sigPickleRefused`)."""
        for kind in ("predictions", "attribution", "hidden", "compare", "compare_models", "candidates", "span"):
            self.client.cancel_kind(kind)
        self._pending_mlm = str(mlm) if mlm else None
        self._prior_path = str(prior_path) if prior_path else None
        path = str(path)
        return self._load(LoadModelRequest(path=path, allow_pickle=bool(allow_pickle)), self._finished_model,
                          ask=lambda m: self._ask_pickle(path, m))

    def open_mlm(self, path: str | Path) -> Job:
        """Open a masked-LM folder as the likelihood model of marginalization."""
        return self._load(LoadMLMRequest(path=str(path)), self._finished_mlm)

    def open_dataset(self, path: str | Path, text_column: str = DatasetConfig.text_column,
                     label_column: str = DatasetConfig.label_column, encoding: str = DatasetConfig.encoding,
                     pair_column: str = DatasetConfig.pair_column) -> Job:
        """Load a dataset file in the engine thread (streamed, with progress; cancellable).
        A file that is not in ``encoding`` reports :attr:`sigEncodingProblem`. ``pair_column``:
        the column of a pair's second text ("" = auto-detect premise/hypothesis, sentence1/sentence2)."""
        self.drop("predictions")
        self.client.cancel_kind("predictions")
        path = str(path)
        return self._load(LoadDatasetRequest(path=path, text_column=text_column, label_column=label_column,
                                             encoding=encoding, pair_column=pair_column or ""), self._finished_dataset,
                          ask=lambda m: self._ask_encoding(path, m))

    def open_demo(self) -> Job:
        """Prepare (train on first use) and then open the demo model and dataset."""
        return self._load(DemoRequest(), self._finished_demo)

    def set_device(self, device: str) -> Job:
        return self._load(SetDeviceRequest(device=device), self._finished_device)

    def _load(self, request, handler, *, ask=None, on_progress=None) -> Job:
        kind = request.kind

        def failed(message: str) -> None:
            if ask is not None and ask(message):
                self.sigStateChanged.emit()
                return
            self._failed(kind, message)

        return self.submit(request, lambda result: self._shown_then_changed(handler, result), on_failed=failed,
                           on_cancelled=lambda: self._cancelled(kind), on_progress=on_progress)

    def _shown_then_changed(self, handler, result) -> None:
        handler(result)
        self.sigStateChanged.emit()

    # -- the user can lift these refusals ---------------------------------------------------
    def _ask_pickle(self, path: str, message: str) -> bool:
        from interp_engine.models.classifier import PICKLE_REFUSED

        if PICKLE_REFUSED not in message:
            return False
        self.sigStatus.emit("The model's weights are only a pickle file: confirm to open it")
        self.sigPickleRefused.emit(path, message)
        return True

    def _ask_encoding(self, path: str, message: str) -> bool:
        from interp_engine.data import encoding_in_message

        suggested = encoding_in_message(message)
        if not suggested:
            return False
        self.dataset_panel.set_status(f"not UTF-8: try {suggested}")
        self.sigStatus.emit(f"The dataset is not UTF-8 (it looks like {suggested}): choose its encoding")
        self.sigEncodingProblem.emit(path, suggested, message)
        return True

    # -- results ----------------------------------------------------------------------------
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

        def progress(done: int, total: int, _message: str) -> None:
            if total > 0 and self.predictions is None:
                self.dataset_panel.set_status(f"predicting… {100 * done // total}%")

        self._load(PredictDatasetRequest(n_texts=len(self.dataset)), self._finished_predictions, on_progress=progress)

    def _request_prior(self, path: str | None) -> None:
        """Count the prior from ``path``, or (None) from the model's recorded training file: when
        there is none the prior is only unavailable (its tooltip says how to choose a file)."""
        ask = self._prior_unavailable if path is None else None
        self._load(PriorRequest(path=path), self._finished_prior, ask=ask)

    def open_prior(self, path: str | Path) -> Job:
        """Count the unigram prior from a training file the user chose (Kim et al. §4.5)."""
        self._prior_path = str(path)
        return self._load(PriorRequest(path=str(path)), self._finished_prior)

    def _prior_unavailable(self, message: str) -> bool:
        self.prior_source = None
        self.heatmap.set_prior_available(False)
        self.sigStatus.emit(f"Prior likelihood unavailable: {message}")
        return True

    def _finished_model(self, info) -> None:
        self.model_info = info
        self.heatmap.set_class_names(info.class_names)
        self.heatmap.set_word_pieces(getattr(info, "word_pieces", False))
        # a masked LM / prior belongs to a vocabulary: ask for them again for this model
        self.mlm_info = None
        self.prior_source = None
        with self.quiet():
            self.heatmap.set_mlm_available(False)
            self.heatmap.set_prior_available(False)
        if self._pending_mlm:
            mlm, self._pending_mlm = self._pending_mlm, None
            self.open_mlm(mlm)
        self._request_prior(self._prior_path)  # None: the model's recorded training file
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

    def _finished_dataset(self, ds) -> None:
        self.dataset = ds
        self.predictions = None
        name = Path(ds.path).name if getattr(ds, "path", None) else ""
        pairs = getattr(ds, "pairs", None) if getattr(ds, "is_pair", False) else None
        self.dataset_panel.set_dataset(ds.texts, ds.labels, self._gold_names(), name, pairs=pairs,
                                       segment_names=tuple(getattr(ds, "segment_names", ()) or ()))
        self.sigDatasetLoaded.emit(ds)
        skipped, no_gold = getattr(ds, "n_skipped", 0), getattr(ds, "n_no_gold", 0)
        unit = f"{' / '.join(ds.segment_names)} pairs" if pairs is not None else "sentences"
        notes = [f"{skipped} empty rows skipped"] * bool(skipped) + [f"{no_gold} rows without a gold label skipped"] * bool(no_gold)
        self.sigStatus.emit(f"Opened {name}: {len(ds)} {unit}" + (f" ({'; '.join(notes)})" if notes else ""))
        self._request_predictions()
        if not self.current_text and not self._pending_text and len(ds):
            self.dataset_panel.select_row(0)

    def _finished_predictions(self, preds) -> None:
        if self.dataset is None or len(preds.predicted) != len(self.dataset) or self.model_info is None:
            return  # made for another dataset
        self.predictions = preds
        self.dataset_panel.set_predictions(preds.predicted, preds.confidence, self.model_info.class_names,
                                           self._comparable())
        self.sigPredictionsReady.emit()
        self.sigStatus.emit(f"Predicted {len(self.dataset)} sentences")

    def _finished_mlm(self, info) -> None:
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

    @property
    def prior_data(self) -> str | None:
        """The training file the prior was counted from when the user (or the demo) chose it;
        None when it is the model's recorded training file (or there is no prior)."""
        return self._prior_path

    def _finished_prior(self, source: str) -> None:
        self.prior_source = str(source)
        self.heatmap.set_prior_available(True, self.prior_source)
        self.sigStatus.emit(f"Prior likelihood: unigram counts of {self.prior_source}")

    def _finished_device(self, device: str) -> None:
        self.device = device
        self.sigDeviceChanged.emit(device)
        self.sigStatus.emit(f"Engine device: {device}")

    def _finished_demo(self, paths) -> None:
        model_dir, data_path, *extra = paths
        mlm_dir = extra[0] if extra else None
        train_path = extra[1] if len(extra) > 1 else None
        self.open_model(model_dir, mlm=mlm_dir, prior_path=train_path)
        self.open_dataset(data_path)
        if not mlm_dir:
            self.sigStatus.emit("The demo opened without its masked LM: marginalization offers uniform and prior")
