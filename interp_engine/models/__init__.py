"""Classifiers: our TextCNN and BiLSTM (Hugging Face ``PreTrainedModel`` subclasses) and the
single entry point :func:`load_classifier` that also opens any local Hugging Face
``AutoModelForSequenceClassification`` directory."""
from __future__ import annotations

import os

# Nothing may download at run time: every load is local.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from transformers import AutoConfig, AutoModelForSequenceClassification  # noqa: E402
from transformers.utils import logging as _hf_logging  # noqa: E402

_hf_logging.disable_progress_bar()
_hf_logging.set_verbosity_error()

from .bilstm import BiLSTMConfig, BiLSTMForSequenceClassification  # noqa: E402
from .textcnn import TextCNNConfig, TextCNNForSequenceClassification  # noqa: E402

for _cfg, _model in ((TextCNNConfig, TextCNNForSequenceClassification), (BiLSTMConfig, BiLSTMForSequenceClassification)):
    try:
        AutoConfig.register(_cfg.model_type, _cfg)
        AutoModelForSequenceClassification.register(_cfg, _model)
    except ValueError:  # already registered (module reloaded)
        pass

from .classifier import Classifier, HiddenLayerSpec, EncodedBatch, load_classifier, resolve_device  # noqa: E402

__all__ = [
    "BiLSTMConfig",
    "BiLSTMForSequenceClassification",
    "Classifier",
    "EncodedBatch",
    "HiddenLayerSpec",
    "TextCNNConfig",
    "TextCNNForSequenceClassification",
    "load_classifier",
    "resolve_device",
]
