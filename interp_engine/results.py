"""Frozen result objects that cross the thread boundary to the app (numpy arrays, never
tensors). Every result is self-describing: the tokens it refers to, the target class, the
model's prediction, and the method with its parameters."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np


@dataclass(frozen=True)
class Prediction:
    """The model's output for one sentence.

    Attributes:
        probabilities: (C,) float64 softmax probabilities.
        predicted: argmax class index.
        class_names: C display names.
    """

    probabilities: np.ndarray
    predicted: int
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class TokenAttribution:
    """Per-token attribution for one sentence (the sentence heatmap).

    Attributes:
        text: the sentence as given.
        tokens: n display strings, one per model token (special tokens included for transformers).
        offsets: (n, 2) int character offsets of each token in ``text`` ((0, 0) for special tokens).
        special: (n,) bool, True for [CLS]/[SEP]-like tokens.
        scores: (n,) float64 attribution of each token to ``target``; positive = evidence for it.
        units: what ``scores`` measures, e.g. ``"logit gradient · embedding"`` or ``"bits (log2-odds)"``.
        method: method name (``grad``, ``grad_input``, ...).
        target: class index attributed to.
        prediction: the model's prediction on the unmodified sentence.
        truncated: True when the text exceeded the model's max length and was cut.
        params: method parameters (for sidecars and caches).
    """

    text: str
    tokens: tuple[str, ...]
    offsets: np.ndarray
    special: np.ndarray
    scores: np.ndarray
    units: str
    method: str
    target: int
    prediction: Prediction
    truncated: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The CLI's JSON contract: tokens, scores, predicted, probabilities, method (+ extras)."""
        return {
            "tokens": list(self.tokens),
            "scores": [float(s) for s in self.scores],
            "predicted": int(self.prediction.predicted),
            "probabilities": [float(p) for p in self.prediction.probabilities],
            "method": self.method,
            "target": int(self.target),
            "class_names": list(self.prediction.class_names),
            "units": self.units,
            "truncated": bool(self.truncated),
            **({"params": dict(self.params)} if self.params else {}),
        }


@dataclass(frozen=True)
class HiddenSaliency:
    """Saliency of every hidden spatial location of every layer (the saliency grid).

    Score_c(X)_{i,j} = w(A_j)_i · a_ij, Yuan et al. ``001_e80f9d2c7d254978.txt`` eq. 1-3, with
    S_c the pre-softmax class score (logit).

    Attributes:
        text, tokens, offsets, special: as in :class:`TokenAttribution`; location i of every
            layer lines up with token i.
        layer_names: R row names (``conv1``, ``lstm1 →``, ``layer 1``, ...).
        scores: (R, n) float64 saliency per layer (row) and location (column), in logit units.
        receptive_fields: (R, n, 2) int, inclusive [first_token, last_token] of each location.
        top_locations: per layer, the indices of the ``top`` highest-scoring locations, best first.
        receptive_field_note: a sentence for the UI explaining the receptive fields of this model.
        target: class whose score is explained. prediction: the model's prediction.
    """

    text: str
    tokens: tuple[str, ...]
    offsets: np.ndarray
    special: np.ndarray
    layer_names: tuple[str, ...]
    scores: np.ndarray
    receptive_fields: np.ndarray
    top_locations: tuple[tuple[int, ...], ...]
    receptive_field_note: str
    target: int
    prediction: Prediction
    truncated: bool = False

    def to_json(self) -> dict:
        return {
            "tokens": list(self.tokens),
            "layer_names": list(self.layer_names),
            "layers": [[float(v) for v in row] for row in self.scores],
            "top_locations": [
                [{"location": int(i), "score": float(self.scores[r, i]),
                  "receptive_field": [int(self.receptive_fields[r, i, 0]), int(self.receptive_fields[r, i, 1])]}
                 for i in locs]
                for r, locs in enumerate(self.top_locations)
            ],
            "receptive_fields": self.receptive_fields.tolist(),
            "receptive_field_note": self.receptive_field_note,
            "target": int(self.target),
            "predicted": int(self.prediction.predicted),
            "probabilities": [float(p) for p in self.prediction.probabilities],
            "class_names": list(self.prediction.class_names),
            "truncated": bool(self.truncated),
        }


@dataclass(frozen=True)
class DatasetPredictions:
    """The model's predictions on a whole dataset (the dataset list).

    Attributes:
        probabilities: (N, C) float64; NaN rows for texts the model cannot read (empty).
        predicted: (N,) int64 argmax (-1 for NaN rows).
        confidence: (N,) float64 probability of the predicted class.
    """

    probabilities: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True)
class ModelInfo:
    """What the app shows about an opened model."""

    path: str
    kind: str
    class_names: tuple[str, ...]
    vocab_size: int
    max_length: int
    device: str
    content_hash: str
    layer_names: tuple[str, ...]
