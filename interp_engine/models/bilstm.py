"""Bidirectional LSTM with additive attention (Kim et al. ``004_137d387c767c1e08.txt`` §4.1;
Lopes ``002_1461283d665fa092.txt`` §5.1 studies the same family of recurrent classifiers).

embedding -> L stacked BiLSTM layers -> additive attention over time steps
(u_t = tanh(W h_t + b), alpha = softmax_t(v . u_t)) -> context = sum_t alpha_t h_t -> linear.

Sequences are packed, so the backward direction starts at the sentence's last real token and
padding never changes a sentence's result.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from transformers import PretrainedConfig
from transformers.modeling_outputs import SequenceClassifierOutput

from .base import WordClassifierBase


class BiLSTMConfig(PretrainedConfig):
    """Configuration of :class:`BiLSTMForSequenceClassification`.

    Args:
        vocab_size: rows of the embedding matrix (``[PAD]`` = 0).
        embedding_dim: word-vector size.
        hidden_size: LSTM state size per direction (a layer's output has 2 * hidden_size channels).
        num_layers: stacked BiLSTM layers.
        attention_dim: size of the additive-attention projection.
        dropout: dropout on the context vector while training.
        max_seq_length: the tokenizer's fixed maximum length.
    """

    model_type = "interp-bilstm"

    def __init__(
        self,
        vocab_size: int = 1000,
        embedding_dim: int = 300,
        hidden_size: int = 150,
        num_layers: int = 1,
        attention_dim: int = 100,
        dropout: float = 0.5,
        max_seq_length: int = 64,
        pad_token_id: int = 0,
        **kwargs,
    ):
        if num_layers < 1:
            raise ValueError("BiLSTM needs at least one layer")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.attention_dim = attention_dim
        self.dropout = dropout
        self.max_seq_length = max_seq_length
        super().__init__(pad_token_id=pad_token_id, **kwargs)


class BiLSTMForSequenceClassification(WordClassifierBase):
    """BiLSTM + attention classifier with Hugging Face save/load (safetensors).

    ``forward`` takes ``input_ids`` (B, L) or ``inputs_embeds`` (B, L, D) and ``attention_mask``
    (B, L); returns logits (B, num_labels), ``attentions = (alpha (B, L),)`` and, with
    ``output_hidden_states=True``, ``hidden_states = (embeddings (B, L, D), layer_1 (B, L, 2H), ...)``
    where channels [:H] are the forward direction and [H:] the backward direction.
    """

    config_class = BiLSTMConfig
    base_model_prefix = "bilstm"

    def __init__(self, config: BiLSTMConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.embeddings = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id)
        sizes = [config.embedding_dim] + [2 * config.hidden_size] * config.num_layers
        self.lstms = nn.ModuleList(
            nn.LSTM(sizes[i], config.hidden_size, batch_first=True, bidirectional=True) for i in range(config.num_layers)
        )
        self.attn_proj = nn.Linear(2 * config.hidden_size, config.attention_dim)
        self.attn_v = nn.Linear(config.attention_dim, 1, bias=False)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(2 * config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        inputs_embeds = self._embed(input_ids, inputs_embeds)
        B, L, _ = inputs_embeds.shape
        if attention_mask is None:
            attention_mask = torch.ones((B, L), device=inputs_embeds.device)
        mask = attention_mask.to(torch.bool)
        lengths = mask.sum(1).clamp(min=1).cpu()
        x = inputs_embeds * mask.unsqueeze(-1).to(inputs_embeds.dtype)
        hidden = [x]
        for lstm in self.lstms:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = lstm(packed)
            x, _ = pad_packed_sequence(out, batch_first=True, total_length=L)
            hidden.append(x)
        scores = self.attn_v(torch.tanh(self.attn_proj(x))).squeeze(-1)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        alpha = torch.softmax(scores, dim=-1)
        context = torch.bmm(alpha.unsqueeze(1), x).squeeze(1)
        logits = self.classifier(self.dropout(context))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=tuple(hidden) if output_hidden_states else None,
            attentions=(alpha,),
        )
