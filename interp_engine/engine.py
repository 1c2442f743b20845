"""The engine facade the app's worker thread and the CLI call. No Qt.

An :class:`Engine` holds the opened classifier and dataset and turns requests into the frozen
result objects of :mod:`interp_engine.results`. Long methods take ``progress(done, total, msg)``
and ``cancel`` (a ``threading.Event``) and raise :class:`~interp_engine.errors.Cancelled`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .attribution.gradient import gradient_scores
from .errors import InputError, ModelLoadError
from .hidden import RECEPTIVE_FIELD_NOTES, hidden_saliency_batch, top_locations
from .models import Classifier, load_classifier
from .results import DatasetPredictions, HiddenSaliency, ModelInfo, Prediction, TokenAttribution

#: heatmap methods available in this build, with the units of their scores
ATTRIBUTION_METHODS = {
    "grad": "logit gradient (summed over embedding dims)",
    "grad_input": "logit gradient · embedding",
}


class Engine:
    """Opened model + dataset, and every interpretation method, on one device.

    Args:
        device: ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
    """

    def __init__(self, device: str = "auto"):
        self.device = device
        self.classifier: Classifier | None = None
        self.dataset = None

    # -- opening ----------------------------------------------------------------------------
    def load_model(self, path: str | Path, *, allow_pickle: bool = False) -> ModelInfo:
        """Open a saved classifier directory (see :func:`~interp_engine.models.load_classifier`).

        Raises:
            ModelLoadError: the directory cannot be opened; the previous model stays loaded.
        """
        self.classifier = load_classifier(path, device=self.device, allow_pickle=allow_pickle)
        return self.model_info()

    def set_classifier(self, classifier: Classifier) -> ModelInfo:
        self.classifier = classifier
        return self.model_info()

    def model_info(self) -> ModelInfo:
        c = self.require_model()
        return ModelInfo(
            path=str(c.path) if c.path else "",
            kind=c.kind,
            class_names=c.class_names,
            vocab_size=len(c.tokenizer),
            max_length=c.max_length,
            device=str(c.device),
            content_hash=c.content_hash,
            layer_names=tuple(s.name for s in c.hidden_layers()),
        )

    def load_dataset(self, path: str | Path, **kwargs):
        """Open a dataset file (see :func:`interp_engine.data.load_dataset`); returns the Dataset.

        Raises:
            DatasetError: the file cannot be read; the previous dataset stays loaded.
        """
        from .data import load_dataset

        self.dataset = load_dataset(path, **kwargs)
        return self.dataset

    def set_device(self, device: str) -> str:
        """Move the model to ``device``; returns the resolved device name."""
        self.device = device
        if self.classifier is not None:
            self.classifier.to(device)
            return str(self.classifier.device)
        from .models import resolve_device

        return str(resolve_device(device))

    def require_model(self) -> Classifier:
        if self.classifier is None:
            raise ModelLoadError("no model is open: open a model folder first (File → Open Model…, or --model DIR)")
        return self.classifier

    # -- predictions ------------------------------------------------------------------------
    def predict(self, text: str) -> Prediction:
        """The model's prediction for one sentence. Raises InputError for an empty sentence."""
        c = self.require_model()
        enc = c.encode([text])
        with torch.inference_mode():
            p = torch.softmax(c.logits(enc.input_ids, enc.attention_mask).double(), -1)[0].cpu().numpy()
        return Prediction(p, int(p.argmax()), c.class_names)

    def predict_dataset(self, texts=None, *, batch_size: int = 256, progress=None, cancel=None) -> DatasetPredictions:
        """Predictions for every text of ``texts`` (default: the open dataset), batched."""
        c = self.require_model()
        if texts is None:
            if self.dataset is None:
                raise InputError("no dataset is open")
            texts = self.dataset.texts
        p = c.predict_proba(list(texts), batch_size=batch_size, progress=progress, cancel=cancel)
        ok = ~np.isnan(p).any(1)
        pred = np.where(ok, np.nan_to_num(p, nan=-1).argmax(1), -1)
        conf = np.where(ok, np.nan_to_num(p, nan=0).max(1), np.nan)
        return DatasetPredictions(p, pred.astype(np.int64), conf)

    # -- attribution ------------------------------------------------------------------------
    def _target(self, logits: torch.Tensor, target: int | None) -> torch.Tensor:
        C = logits.shape[-1]
        if target is None:
            return logits.argmax(-1)
        if not 0 <= int(target) < C:
            raise InputError(f"target class {target} does not exist: the model has classes 0..{C - 1}")
        return torch.full((logits.shape[0],), int(target), device=logits.device, dtype=torch.long)

    def attribute(self, text: str, method: str = "grad", target: int | None = None, *, progress=None, cancel=None) -> TokenAttribution:
        """Per-token attribution of ``text`` to ``target`` (default: the predicted class).

        Args:
            method: one of :data:`ATTRIBUTION_METHODS`.

        Raises:
            InputError: empty sentence, unknown method or target.
        """
        if method not in ATTRIBUTION_METHODS:
            raise InputError(f"unknown attribution method {method!r}; choose one of {', '.join(ATTRIBUTION_METHODS)}")
        c = self.require_model()
        enc = c.encode([text])
        with torch.no_grad():
            logits = c.logits(enc.input_ids, enc.attention_mask)
        t = self._target(logits, target)
        scores, _ = gradient_scores(c, enc.input_ids, enc.attention_mask, t, times_input=(method == "grad_input"))
        n = enc.lengths()[0]
        p = torch.softmax(logits.double(), -1)[0].cpu().numpy()
        return TokenAttribution(
            text=text,
            tokens=tuple(enc.tokens[0]),
            offsets=np.asarray(enc.offsets[0], dtype=np.int64).reshape(-1, 2),
            special=np.asarray(enc.special[0], dtype=bool),
            scores=scores[0, :n].double().cpu().numpy(),
            units=ATTRIBUTION_METHODS[method],
            method=method,
            target=int(t[0]),
            prediction=Prediction(p, int(p.argmax()), c.class_names),
            truncated=enc.truncated[0],
        )

    def hidden_saliency(self, text: str, target: int | None = None, top: int = 3, *, progress=None, cancel=None) -> HiddenSaliency:
        """The saliency grid of ``text`` (Yuan et al. eq. 3), with receptive fields and the
        ``top`` locations per layer.

        Raises:
            InputError: empty sentence or bad target.
        """
        c = self.require_model()
        enc = c.encode([text])
        with torch.no_grad():
            logits = c.logits(enc.input_ids, enc.attention_mask)
        t = self._target(logits, target)
        scores, _ = hidden_saliency_batch(c, enc.input_ids, enc.attention_mask, t)
        n = enc.lengths()[0]
        grid = scores[0, :, :n].double().cpu().numpy()
        specs = c.hidden_layers()
        rf = np.stack([s.receptive_fields(n) for s in specs])
        p = torch.softmax(logits.double(), -1)[0].cpu().numpy()
        return HiddenSaliency(
            text=text,
            tokens=tuple(enc.tokens[0]),
            offsets=np.asarray(enc.offsets[0], dtype=np.int64).reshape(-1, 2),
            special=np.asarray(enc.special[0], dtype=bool),
            layer_names=tuple(s.name for s in specs),
            scores=grid,
            receptive_fields=rf,
            top_locations=top_locations(grid, n, top),
            receptive_field_note=RECEPTIVE_FIELD_NOTES[c.kind],
            target=int(t[0]),
            prediction=Prediction(p, int(p.argmax()), c.class_names),
            truncated=enc.truncated[0],
        )
