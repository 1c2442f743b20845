"""Model families: what the interpretation methods need to know about each architecture, written
once per architecture (no Qt). No other module checks a model's type by name.

A :class:`ModelFamily` says which hidden layers form the rows of the saliency grid and how a
location's receptive field is computed (Yuan et al. 2019 ``001_e80f9d2c7d254978.txt`` eq. 1-3),
the note the grid shows about receptive fields, whether the model reads words (our word-level
tokenizers) or sub-words, whether the exact incremental TextCNN forward of input marginalization
applies (Kim et al. 2020 Algorithm 1, :class:`~interp_engine.attribution.marginalization.TextCNNIncremental`)
and whether inputs get [CLS]/[SEP] around them.
"""
from __future__ import annotations

from typing import ClassVar


class ModelFamily:
    """The rules of one architecture.

    Class attributes:
        name: the family key shown to users and stored in ``ModelInfo.kind``.
        word_level: the tokenizer splits words (True) or sub-words (False).
        special_tokens: inputs are wrapped in [CLS] … [SEP] (transformers).
        incremental_marginalization: the exact incremental TextCNN forward applies.
        window_optimization: input optimization may compute each location from its receptive-field
            window alone (TextCNN: a location only sees its window).
        cudnn_backward: cuDNN may run in gradient methods (cuDNN RNNs refuse backward in eval mode).
        config_max_length: the model config's ``max_seq_length`` bounds the input length.
        receptive_field_note: one sentence for the grid. scatter_note: for the neighbour
            scatter (None: the grid's).
    """

    name: ClassVar[str] = ""
    word_level: ClassVar[bool] = True
    special_tokens: ClassVar[bool] = False
    incremental_marginalization: ClassVar[bool] = False
    window_optimization: ClassVar[bool] = False
    cudnn_backward: ClassVar[bool] = True
    config_max_length: ClassVar[bool] = True
    token_type_ids: ClassVar[bool] = False
    #: a sentence-pair model whose hidden locations see only their own segment (our siamese pair
    #: models): receptive fields are clipped to the segment of the location
    segment_bound: ClassVar[bool] = False
    #: the model reads one text or a pair without being told which (Hugging Face encoders:
    #: ``[CLS] a [SEP] b [SEP]``); our models read what ``config.segment_names`` says
    native_pairs: ClassVar[bool] = False
    receptive_field_note: ClassVar[str] = ""
    scatter_note: ClassVar[str | None] = None

    @classmethod
    def location_note(cls) -> str:
        """The scatter's note on what a location sees."""
        return cls.scatter_note or cls.receptive_field_note

    @classmethod
    def matches(cls, model) -> bool:
        raise NotImplementedError

    @classmethod
    def hidden_layers(cls, config) -> list:
        """The rows of the saliency grid, in network order (:class:`~.classifier.HiddenLayerSpec`)."""
        raise NotImplementedError


class TextCNNFamily(ModelFamily):
    """Our TextCNN: one grid row per conv layer; a location of conv layer j sees the tokens
    within ± j·(k−1)/2 of it ('same' padding)."""

    name = "textcnn"
    incremental_marginalization = True
    window_optimization = True
    receptive_field_note = "Each conv location sees the tokens within its receptive field: ±j·(k−1)/2 tokens at conv layer j."

    @classmethod
    def matches(cls, model) -> bool:
        from .textcnn import TextCNNForSequenceClassification

        return isinstance(model, TextCNNForSequenceClassification)

    @classmethod
    def hidden_layers(cls, config) -> list:
        from .classifier import HiddenLayerSpec

        r = (config.kernel_size - 1) // 2
        return [HiddenLayerSpec(f"conv{j}", j, slice(None), ("conv", j * r), within_segment=cls.segment_bound)
                for j in range(1, len(config.conv_channels) + 1)]


def _is_pair_config(model) -> bool:
    from .base import n_segments

    return n_segments(model.config) == 2


class TextCNNPairFamily(TextCNNFamily):
    """Our sentence-pair TextCNN (shared conv encoder per segment, :class:`~.base.PairHead`): the
    TextCNN's rules with receptive fields clipped to the location's segment. The incremental
    single-text forward of marginalization does not apply; the window optimisation does, with
    windows clipped to the location's segment."""

    incremental_marginalization = False
    segment_bound = True
    receptive_field_note = ("Pair TextCNN: each conv location sees the tokens within ±j·(k−1)/2 of it at conv layer j, "
                            "inside its own text (premise or hypothesis) only.")

    @classmethod
    def matches(cls, model) -> bool:
        return super().matches(model) and _is_pair_config(model)


class BiLSTMFamily(ModelFamily):
    """Our BiLSTM: per layer a forward row (layer 1: the prefix [0, i]) and a backward row (the
    suffix [i, n−1]); an upper layer's input already mixes both directions (whole sentence)."""

    name = "bilstm"
    cudnn_backward = False
    receptive_field_note = "BiLSTM: a forward-direction location sees the prefix up to its token, a backward one the suffix from it."

    @classmethod
    def matches(cls, model) -> bool:
        from .bilstm import BiLSTMForSequenceClassification

        return isinstance(model, BiLSTMForSequenceClassification)

    @classmethod
    def hidden_layers(cls, config) -> list:
        from .classifier import HiddenLayerSpec

        H = config.hidden_size
        rows = []
        for j in range(1, config.num_layers + 1):
            rf = ("prefix",) if j == 1 else ("all",)
            rb = ("suffix",) if j == 1 else ("all",)
            rows.append(HiddenLayerSpec(f"lstm{j} →", j, slice(0, H), rf, within_segment=cls.segment_bound))
            rows.append(HiddenLayerSpec(f"lstm{j} ←", j, slice(H, 2 * H), rb, within_segment=cls.segment_bound))
        return rows


class BiLSTMPairFamily(BiLSTMFamily):
    """Our sentence-pair BiLSTM (shared encoder per segment, :class:`~.base.PairHead`): the BiLSTM's
    rules with receptive fields clipped to the location's segment."""

    segment_bound = True
    receptive_field_note = ("Pair BiLSTM: a forward location sees its text's prefix up to its token, a backward one "
                            "its text's suffix; nothing crosses from premise to hypothesis.")

    @classmethod
    def matches(cls, model) -> bool:
        return super().matches(model) and _is_pair_config(model)


class TransformerFamily(ModelFamily):
    """Any Hugging Face ``AutoModelForSequenceClassification`` (BERT family, ...): sub-word
    tokenizer, [CLS]/[SEP], one grid row per layer whose every location sees the whole sentence."""

    name = "transformer"
    word_level = False
    special_tokens = True
    config_max_length = False
    token_type_ids = True
    native_pairs = True
    receptive_field_note = "Transformer: self-attention lets every location of every layer see the whole sentence."
    scatter_note = "Transformer: the receptive field of every location is the whole sentence (self-attention)."

    @classmethod
    def matches(cls, model) -> bool:
        return True

    @classmethod
    def hidden_layers(cls, config) -> list:
        from .classifier import HiddenLayerSpec

        n = int(getattr(config, "num_hidden_layers", 0) or 0)
        return [HiddenLayerSpec(f"layer {j}", j, slice(None), ("all",)) for j in range(1, n + 1)]


#: every family, most specific first (the last matches any model)
FAMILIES: tuple[type[ModelFamily], ...] = (TextCNNPairFamily, TextCNNFamily, BiLSTMPairFamily, BiLSTMFamily,
                                           TransformerFamily)


def family_of(model) -> type[ModelFamily]:
    """The family of a loaded ``torch.nn.Module`` (a classifier's ``model``)."""
    for fam in FAMILIES:
        if fam.matches(model):
            return fam
    return TransformerFamily


def family_named(name: str) -> type[ModelFamily]:
    """The family of a ``ModelInfo.kind`` (the single-text rules of that name); unknown names get the
    transformer rules."""
    for fam in FAMILIES:
        if fam.name == name and not fam.segment_bound:
            return fam
    return TransformerFamily


#: ``{family name: receptive-field note}``
RECEPTIVE_FIELD_NOTES = {fam.name: fam.receptive_field_note for fam in FAMILIES}

__all__ = ["BiLSTMFamily", "BiLSTMPairFamily", "TextCNNPairFamily", "FAMILIES", "ModelFamily", "RECEPTIVE_FIELD_NOTES", "TextCNNFamily", "TransformerFamily",
           "family_named", "family_of"]
