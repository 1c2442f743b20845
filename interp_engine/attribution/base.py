"""The base class of every token attribution method (the Captum pattern: a method is a class
built on the model, with one ``attribute`` method). No Qt.

A method declares, once, everything the app, the CLI, the figures and ``evaluate`` show of it:
its key (:attr:`AttributionMethod.name`), display name (:attr:`label`), the abbreviation of
tables (:attr:`short_label`), the units of its scores, whether it is slow (progress bar and
Cancel), whether its scores are a weight of evidence (a token click then shows the candidate
table) and the config dataclass of its parameters (:mod:`interp_engine.config`). The one table
of methods is :mod:`interp_engine.attribution.registry`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from ..inputs import TextInput
from ..results import Prediction, TokenAttribution


class AttributionMethod:
    """Per-token attribution of one input to one class.

    Args:
        classifier: the :class:`~interp_engine.models.Classifier` to explain.
        config: an instance of :attr:`config_class` (None: its defaults).
        likelihood: the likelihood model p(x̃_i | x_−i) for methods with :attr:`needs_likelihood`.

    Class attributes:
        name: key used in requests, the CLI and sidecars. label: display name. short_label: table
        header. units: what a score measures. description: one line for ``--help`` and tooltips.
        slow: show progress and Cancel. woe: scores are WoE in bits (Kim et al. eq. 1).
        needs_likelihood: the engine passes a likelihood model. config_class: parameters.
        replacement: what a one-candidate WoE method puts in a token's place (app messages).
        units_shared_across_models: two models' rows of this method share one colour scale.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    short_label: ClassVar[str] = ""
    units: ClassVar[str] = ""
    description: ClassVar[str] = ""
    slow: ClassVar[bool] = False
    woe: ClassVar[bool] = False
    needs_likelihood: ClassVar[bool] = False
    config_class: ClassVar[type | None] = None
    #: for a WoE method with one candidate (erasure, leave-one-out): what a token is replaced by,
    #: as the app says it ("the zero vector", "[UNK]", ...); "" for the others
    replacement: ClassVar[str] = ""
    #: whether a score means the same for any classifier, so that two models' rows of this method
    #: share one colour scale (:func:`~.registry.shares_scale_across_models`, the one rule). None:
    #: the default rule, True exactly for WoE methods (bits of log-odds of the model's own output
    #: probability, Kim et al. 2020 eq. 1: the same unit whatever the model). Logit and gradient
    #: units are model-specific: a gradient's size follows the model's embedding scale, and a
    #: logit is defined only up to a shift shared by the classes.
    units_shared_across_models: ClassVar[bool | None] = None

    def __init__(self, classifier, config=None, *, likelihood=None):
        self.classifier = classifier
        if config is None and self.config_class is not None:
            config = self.config_class()
        self.config = config
        self.likelihood = likelihood

    def attribute(self, inputs: TextInput | str, target: int | None = None, *, batch_size: int | None = None,
                  progress=None, cancel=None) -> TokenAttribution:
        """Attribution of every token of ``inputs`` to ``target`` (None: the predicted class).

        Returns:
            :class:`~interp_engine.results.TokenAttribution` with ``scores`` of shape (n,), n the
            number of model tokens (special tokens score 0), in :attr:`units`.

        Raises:
            InputError: empty input or a target outside [0, C). Cancelled: ``cancel`` was set.
        """
        raise NotImplementedError

    # -- helpers for subclasses ---------------------------------------------------------------
    def text_of(self, inputs) -> TextInput:
        """``inputs`` as a :class:`TextInput` (one text or a pair): what ``Classifier.encode`` and
        :meth:`result` take."""
        return TextInput.of(inputs)

    def result(self, text: str, enc, scores, target: int, *, probabilities=None, params: dict | None = None,
               t0: float | None = None, **extra: Any) -> TokenAttribution:
        """The :class:`TokenAttribution` of one encoded sentence (the prediction is computed when
        ``probabilities`` is None)."""
        c = self.classifier
        p = probabilities
        if p is None:
            with torch.inference_mode():
                p = torch.softmax(c.logits(enc.input_ids, enc.attention_mask, enc.token_type_ids).double(), -1)[0].cpu().numpy()
        p = np.asarray(p)
        unk = c.tokenizer.unk_token_id
        return TokenAttribution(
            text=str(text),
            **enc.segment_fields(),
            tokens=tuple(enc.tokens[0]),
            offsets=np.asarray(enc.offsets[0], dtype=np.int64).reshape(-1, 2),
            special=np.asarray(enc.special[0], dtype=bool),
            scores=np.asarray(scores, dtype=np.float64),
            units=self.units,
            method=self.name,
            target=int(target),
            prediction=Prediction(p, int(p.argmax()), c.class_names),
            truncated=enc.truncated[0],
            params=dict(params or {}),
            seconds=(time.perf_counter() - t0) if t0 is not None else None,
            unknown=(enc.input_ids[0, : len(enc.tokens[0])] == unk).cpu().numpy() if unk is not None else None,
            **extra,
        )


@dataclass(frozen=True)
class Prepared:
    """One input encoded and classified: what every perturbation method starts from.

    Attributes:
        enc: the :class:`~interp_engine.models.EncodedBatch` (batch 1). n: its number of tokens.
        ids, mask: (1, n) input ids and attention mask. types: (1, n) segments of a pair, or None.
        logits: (1, C) class scores of the unmodified input. p: (C,) float64 probabilities (CPU).
        target: the class explained (the predicted one when none was asked for).
        special: (n,) bool, True at special tokens (on the model's device).
    """

    enc: Any
    n: int
    ids: torch.Tensor
    mask: torch.Tensor
    types: torch.Tensor | None
    logits: torch.Tensor
    p: torch.Tensor
    target: int
    special: torch.Tensor


def prepare(classifier, inputs, target: int | None) -> Prepared:
    """Encode one text or pair, run the classifier once and resolve the target class.

    Raises:
        InputError: empty input (from ``encode``) or a target outside [0, C).
    """
    from ..errors import InputError

    enc = classifier.encode([inputs])
    n = enc.lengths()[0]
    ids, mask = enc.input_ids[:, :n], enc.attention_mask[:, :n]
    types = None if enc.token_type_ids is None else enc.token_type_ids[:, :n]
    with torch.inference_mode():
        logits = classifier.logits(ids, mask, types)
    p = torch.softmax(logits.double(), -1)[0].cpu()
    C = p.shape[0]
    t = int(p.argmax()) if target is None else int(target)
    if not 0 <= t < C:
        raise InputError(f"target class {target} does not exist: the model has classes 0..{C - 1}")
    special = torch.tensor(enc.special[0], dtype=torch.bool, device=ids.device)
    return Prepared(enc, n, ids, mask, types, logits, p, t, special)


__all__ = ["AttributionMethod", "Prepared", "prepare"]
