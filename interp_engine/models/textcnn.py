"""TextCNN of Yuan et al. (``001_e80f9d2c7d254978.txt``, Experimental Setup, Table 2).

embedding (default 300-d) -> N 1-D conv layers (kernel 5, ReLU, 'same' padding, so spatial
location i of every layer lines up with token i) -> global max-pool -> linear -> softmax.

Padding never changes a sentence's result: padded positions are zeroed after the embedding
and after every conv layer, so a sentence gives bit-comparable logits whether it is run
alone or in a padded batch (Captum's rule that batching never changes the result).
"""
from __future__ import annotations

import torch
from torch import nn
from transformers import PretrainedConfig
from transformers.modeling_outputs import SequenceClassifierOutput

from .base import PairHead, WordClassifierBase, n_segments, segment_masks


class TextCNNConfig(PretrainedConfig):
    """Configuration of :class:`TextCNNForSequenceClassification`.

    Args:
        vocab_size: number of rows of the embedding matrix (``[PAD]`` = 0).
        embedding_dim: word-vector size (Yuan Table 2: 300).
        conv_channels: output channels of each conv layer (Table 2, MR: 128, 64, 32).
        kernel_size: odd kernel width of every conv layer (Table 2: 5).
        dropout: dropout before the output layer while training.
        embedding_dropout: dropout on the word embeddings while training.
        max_seq_length: the tokenizer's fixed maximum length (Table 2, MR: 56).
        segment_names: None for a single-text model; two names (e.g. ``["premise", "hypothesis"]``)
            for a sentence-pair model (:class:`~.base.PairHead`: the shared conv encoder reads each
            text on its own, so a location's receptive field stays inside its segment).
        pair_hidden_size: hidden size of the pair model's MLP.

    Raises:
        ValueError: for an even kernel (locations would not line up with tokens) or no conv layer.
    """

    model_type = "interp-textcnn"

    def __init__(
        self,
        vocab_size: int = 1000,
        embedding_dim: int = 300,
        conv_channels: tuple[int, ...] | list[int] = (128, 64, 32),
        kernel_size: int = 5,
        dropout: float = 0.5,
        embedding_dropout: float = 0.0,
        max_seq_length: int = 64,
        pad_token_id: int = 0,
        segment_names: list[str] | None = None,
        pair_hidden_size: int = 300,
        **kwargs,
    ):
        if segment_names is not None and len(segment_names) not in (1, 2):
            raise ValueError(f"segment_names has one name per text (one or two), got {segment_names!r}")
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd so that location i lines up with token i, got {kernel_size}")
        if len(conv_channels) == 0:
            raise ValueError("TextCNN needs at least one conv layer")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.conv_channels = list(conv_channels)
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.embedding_dropout = embedding_dropout
        self.max_seq_length = max_seq_length
        self.segment_names = list(segment_names) if segment_names is not None else None
        self.pair_hidden_size = pair_hidden_size
        super().__init__(pad_token_id=pad_token_id, **kwargs)


class TextCNNForSequenceClassification(WordClassifierBase):
    """TextCNN classifier with Hugging Face save/load (safetensors).

    ``forward`` takes ``input_ids`` (B, L) or ``inputs_embeds`` (B, L, D) and ``attention_mask``
    (B, L) and returns logits (B, num_labels). With ``output_hidden_states=True`` it also returns,
    HF-style, ``hidden_states = (embeddings (B, L, D), conv_1 (B, L, C_1), ..., conv_N (B, L, C_N))``:
    the activations A_j whose columns a_ij are the spatial locations of Yuan eq. 1-3.

    A pair model (``config.segment_names`` with two names) also takes ``token_type_ids`` (B, L):
    0 for the premise's tokens, 1 for the hypothesis'. The shared convs run once per segment with the
    other segment zeroed -- exactly the premise and the hypothesis run on their own ('same' zero
    padding) -- so location i of any layer sees only tokens of its own segment; u and v are the
    max-pools of each segment and :class:`~.base.PairHead` classifies ``[u; v; |u-v|; u*v]``. The
    hidden states hold each segment's activations at its own positions.
    """

    config_class = TextCNNConfig
    base_model_prefix = "textcnn"

    def __init__(self, config: TextCNNConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.embeddings = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id)
        chans = [config.embedding_dim, *config.conv_channels]
        k = config.kernel_size
        self.convs = nn.ModuleList(nn.Conv1d(chans[i], chans[i + 1], k, padding=k // 2) for i in range(len(chans) - 1))
        self.dropout = nn.Dropout(config.dropout)
        self.embedding_dropout = nn.Dropout(getattr(config, "embedding_dropout", 0.0))
        self.n_segments = n_segments(config)
        if self.n_segments == 2:
            self.classifier = PairHead(chans[-1], config.pair_hidden_size, config.num_labels, config.dropout)
        else:
            self.classifier = nn.Linear(chans[-1], config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        inputs_embeds = self._embed(input_ids, inputs_embeds)
        if attention_mask is None:
            attention_mask = torch.ones(inputs_embeds.shape[:2], device=inputs_embeds.device)
        masks = [sm.unsqueeze(-1).to(inputs_embeds.dtype)
                 for sm in segment_masks(attention_mask, token_type_ids, self.n_segments)]
        m_all = attention_mask.unsqueeze(-1).to(inputs_embeds.dtype)
        x = inputs_embeds * m_all
        hidden = [x]
        x = self.embedding_dropout(x)
        for conv in self.convs:
            # each segment through the shared conv with the other segment zeroed (= run alone with
            # 'same' zero padding); the segments are disjoint, so their activations add up to one
            # tensor A_j per layer, which is also what the next layer reads (so dS/dA_j exists)
            parts = [torch.relu(conv((x * m).transpose(1, 2))).transpose(1, 2) * m for m in masks]
            x = parts[0] if len(parts) == 1 else parts[0] + parts[1]
            hidden.append(x)
        # ReLU output is >= 0 and padded (or other-segment) locations are 0, so the max over
        # all locations equals the max over the segment's own locations.
        pooled = [(x * m).max(dim=1).values for m in masks] if len(masks) == 2 else [x.max(dim=1).values]
        if self.n_segments == 2:
            logits = self.classifier(self.dropout(pooled[0]), self.dropout(pooled[1]))
        else:
            logits = self.classifier(self.dropout(pooled[0]))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=tuple(hidden) if output_hidden_states else None
        )
