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
        word_level: the family may read whole words (True: our TextCNN/BiLSTM) or always reads
            sub-words (False). Whether an opened model does is ``Classifier.word_level``: the family
            allows it and its tokenizer is word level (a TextCNN trained with ``train --tokenizer``
            reads WordPiece pieces and [CLS]/[SEP], ``Classifier.special_tokens``).
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

    #: the [PAD] row of the word embeddings stays zero when they are re-initialised (our models:
    #: padding and zero erasure read the zero vector as "no word")
    zero_pad_embedding: ClassVar[bool] = False

    @classmethod
    def randomization_layers(cls, model) -> list:
        """The layer groups of the model-parameter randomization test (Adebayo et al. 2018,
        "Sanity checks for saliency maps", §3.1, cascading randomization), from the output down:
        ``[(name, [torch.nn.Module, ...])]``, the classifier head first, then the top encoder
        layer, ..., the word embeddings last. Every parameter of ``model`` is in exactly one
        group; :mod:`interp_engine.sanity` re-initialises the first k groups at step k."""
        raise NotImplementedError

    @classmethod
    def truncated_hidden(cls, classifier, embeds, attention_mask, token_type_ids=None, *, upto: int):
        """``hidden_states[0 .. upto]`` of :meth:`~.classifier.Classifier.hidden_forward` without
        running the layers above ``upto`` or the classification head (a location of layer j
        depends on layers <= j only; input optimization, Yuan et al. eq. 5-6, needs nothing else).

        Args:
            classifier: the :class:`~.classifier.Classifier` of this family.
            embeds: (B, L, D) word embeddings; attention_mask: (B, L); token_type_ids: (B or 1, L)
                or None, as :meth:`~.classifier.Classifier.hidden_forward` takes them.
            upto: the highest ``hidden_index`` needed (0 = the embeddings).

        Returns:
            a tuple of ``upto + 1`` tensors (B, L, C_k), equal to the full forward's, or None when
            this family has no truncated forward (or nothing to skip): the caller then runs
            ``hidden_forward``. The base rule returns None (TextCNN: its window optimisation
            already computes a location from its receptive field alone).
        """
        return None


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

    zero_pad_embedding = True

    @classmethod
    def randomization_layers(cls, model) -> list:
        """``classifier`` (the linear layer, or a pair model's MLP), ``convN`` … ``conv1``,
        ``embeddings``."""
        convs = list(model.convs)
        return ([("classifier", [model.classifier])] + [(f"conv{j}", [convs[j - 1]]) for j in range(len(convs), 0, -1)]
                + [("embeddings", [model.embeddings])])


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

    zero_pad_embedding = True

    @classmethod
    def randomization_layers(cls, model) -> list:
        """``classifier`` (the linear layer, or a pair model's MLP), ``attention`` (the additive
        attention's projection and vector), ``lstmN`` … ``lstm1`` (both directions),
        ``embeddings``."""
        lstms = list(model.lstms)
        return ([("classifier", [model.classifier]), ("attention", [model.attn_proj, model.attn_v])]
                + [(f"lstm{j}", [lstms[j - 1]]) for j in range(len(lstms), 0, -1)]
                + [("embeddings", [model.embeddings])])

    @classmethod
    def truncated_hidden(cls, classifier, embeds, attention_mask, token_type_ids=None, *, upto: int):
        """Layer j of a stacked BiLSTM reads only layers < j: the model's own forward runs with its
        first ``upto`` LSTM layers (``model.lstms`` is swapped for their ModuleList for the call and
        put back after, also on error), so the result is the full forward's by construction; the
        attention and head it still runs on layer ``upto`` cost one (B, L, 2H) projection. None
        when ``upto`` is not below the number of layers (nothing to skip) or below 1."""
        import torch

        model = classifier.model
        full = model.lstms
        if not 1 <= upto < len(full):
            return None
        model.lstms = torch.nn.ModuleList(list(full)[:upto])
        try:
            return tuple(classifier.hidden_forward(embeds, attention_mask, token_type_ids)[1])
        finally:
            model.lstms = full


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

    @classmethod
    def randomization_layers(cls, model) -> list:
        """``classifier`` (every module outside the encoder layers and the embeddings: the head,
        and BERT's pooler), ``layer N`` … ``layer 1`` (the :meth:`layer_stack`; a model without
        one has its encoder in ``classifier``), ``embeddings`` (the base model's embeddings module:
        word, position and segment embeddings and their LayerNorm; else the word embeddings)."""
        base = getattr(model, "base_model", model)
        layers = cls.layer_stack(model)
        middle = [(f"layer {j}", [layers[j - 1]]) for j in range(len(layers), 0, -1)] if layers is not None else []
        emb = getattr(base, "embeddings", None)
        if not hasattr(emb, "parameters"):
            emb = model.get_input_embeddings()
        bottom = [("embeddings", [emb])]
        inner = {id(p) for _name, mods in middle + bottom for m in mods for p in m.parameters()}
        head = [m for m in model.modules() if any(id(p) not in inner for p in m.parameters(recurse=False))]
        return [("classifier", head)] + middle + bottom

    #: where the encoder's list of layers sits in the base model: BERT, RoBERTa, XLM-R, ELECTRA,
    #: DeBERTa (``encoder.layer``); DistilBERT (``transformer.layer``)
    LAYER_STACKS: ClassVar[tuple[str, ...]] = ("encoder.layer", "transformer.layer")

    @classmethod
    def layer_stack(cls, model):
        """The ``torch.nn.ModuleList`` of the encoder layers of a Hugging Face model of the BERT
        family (see :attr:`LAYER_STACKS`), or None for another layout."""
        import torch

        base = getattr(model, "base_model", model)
        for path in cls.LAYER_STACKS:
            obj = base
            for name in path.split("."):
                obj = getattr(obj, name, None)
            if isinstance(obj, torch.nn.ModuleList) and len(obj) > 0:
                return obj
        return None

    @classmethod
    def truncated_hidden(cls, classifier, embeds, attention_mask, token_type_ids=None, *, upto: int):
        """The model's own forward, stopped after encoder layer ``upto``: forward hooks record the
        input of the first layer (``hidden_states[0]``: the embeddings as the encoder reads them)
        and the output of layers 1 .. ``upto``, and the hook of layer ``upto`` ends the forward
        (an exception caught here), so neither the layers above it, the pooler nor the head run.
        The hooks are removed afterwards, also on error. None for a model whose layers are not a
        :meth:`layer_stack`, or ``upto`` outside [0, number of layers].

        This relies on ``hidden_states[k]`` being the output of layer k, true of post-LayerNorm
        encoders (BERT family); :func:`interp_engine.optimization.hidden_upto` checks it against
        the full forward on the real sentence before it optimises, so a model where it does not
        hold falls back to full forward passes.
        """
        layers = cls.layer_stack(classifier.model)
        if layers is None or not 0 <= upto <= len(layers):
            return None
        captured: list = []

        def first_input(_module, args, kwargs):
            captured.append(args[0] if args else kwargs["hidden_states"])
            if upto == 0:
                raise _StopForward

        def output(_module, _args, out):
            captured.append(out[0] if isinstance(out, (tuple, list)) else out)
            if len(captured) == upto + 1:
                raise _StopForward

        handles = [layers[0].register_forward_pre_hook(first_input, with_kwargs=True)]
        handles += [layers[i].register_forward_hook(output) for i in range(upto)]
        try:
            classifier.model(inputs_embeds=embeds, **classifier._kwargs(attention_mask, token_type_ids))
        except _StopForward:
            pass
        finally:
            for h in handles:
                h.remove()
        return tuple(captured) if len(captured) == upto + 1 else None


class _StopForward(Exception):
    """Raised by a hook of :meth:`TransformerFamily.truncated_hidden` to end the forward pass."""


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
