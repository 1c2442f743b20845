"""Hand-built result objects for panel and worker tests (no model, no torch)."""
from __future__ import annotations

import numpy as np

from interp_engine.results import DatasetPredictions, HiddenSaliency, ModelInfo, Prediction, TokenAttribution

CLASS_NAMES = ("negative", "positive")


def prediction(p_positive: float = 0.8) -> Prediction:
    p = np.array([1 - p_positive, p_positive])
    return Prediction(p, int(p.argmax()), CLASS_NAMES)


def offsets_for(tokens) -> np.ndarray:
    out, pos = [], 0
    for t in tokens:
        out.append((pos, pos + len(t)))
        pos += len(t) + 1
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def attribution(tokens=("a", "good", "bad", "film"), scores=(0.5, 2.0, -1.0, 0.0), *, special=None,
                method="grad", target=1, truncated=False, text=None) -> TokenAttribution:
    tokens = tuple(tokens)
    special = np.zeros(len(tokens), bool) if special is None else np.asarray(special, bool)
    return TokenAttribution(
        text=str(text) if text is not None else " ".join(tokens), tokens=tokens, offsets=offsets_for(tokens),
        special=special, scores=np.asarray(scores, float), units="test units", method=method, target=target,
        prediction=prediction(), truncated=truncated)


def saliency(tokens=("a", "good", "bad", "film", "."), scores=None, layer_names=("conv1", "conv2"), top=3,
             text=None, radius=1) -> HiddenSaliency:
    tokens = tuple(tokens)
    n, R = len(tokens), len(layer_names)
    if scores is None:
        rng = np.random.default_rng(0)
        scores = rng.normal(size=(R, n))
    scores = np.asarray(scores, float)
    i = np.arange(n)
    rf = np.stack([np.stack([np.maximum(i - (r + 1) * radius, 0), np.minimum(i + (r + 1) * radius, n - 1)], 1)
                   for r in range(R)]).astype(np.int64)
    tops = tuple(tuple(int(k) for k in np.lexsort((np.arange(n), -row))[:top]) for row in scores)
    return HiddenSaliency(
        text=str(text) if text is not None else " ".join(tokens), tokens=tokens, offsets=offsets_for(tokens),
        special=np.zeros(n, bool), layer_names=tuple(layer_names), scores=scores, receptive_fields=rf,
        top_locations=tops, receptive_field_note="test note: conv receptive fields", target=1,
        prediction=prediction())


def model_info(path="/models/fake") -> ModelInfo:
    return ModelInfo(path=path, kind="textcnn", class_names=CLASS_NAMES, vocab_size=10, max_length=32,
                     device="cpu", content_hash="0" * 16, layer_names=("conv1", "conv2"))


def dataset_predictions(n: int) -> DatasetPredictions:
    p = np.tile([[0.3, 0.7]], (n, 1))
    return DatasetPredictions(p, np.ones(n, np.int64), np.full(n, 0.7))



def marginalization_kwargs(cfg) -> dict:
    """The keyword arguments of the engine's keyword API for a marginalization config."""
    if cfg is None:
        return {}
    if cfg.top_n is not None:
        return {"likelihood": cfg.likelihood, "top_n": int(cfg.top_n)}
    return {"likelihood": cfg.likelihood, "sigma": float(cfg.sigma)}


class RunByKeywords:
    """Mixin for fake engines written against the keyword API (``attribute``, ``hidden_saliency``,
    ``predict_dataset``, ``load_model``, ``set_device``, ...): :meth:`run` is the real
    :meth:`interp_engine.engine.Engine.run` dispatch (its ``RUNNERS`` table), and the one internal
    call it makes for attributions, ``_attribute``, goes to the fake's ``attribute``."""

    def run(self, request, progress=None, cancel=None):
        from interp_engine.engine import Engine

        return Engine.run(self, request, progress, cancel)

    def _attribute(self, inputs, cls, target, config, *, progress=None, cancel=None):
        kwargs = marginalization_kwargs(config) if cls.name == "marginalization" else {}
        return self.attribute(inputs.text, method=cls.name, target=target, progress=progress, cancel=cancel, **kwargs)
