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

from .base import PairHead, WordClassifierBase, n_segments, segment_masks


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
        segment_names: None for a single-text model; two names (``["premise", "hypothesis"]``)
            for a sentence-pair model (shared encoder, :class:`~.base.PairHead`).
        pair_hidden_size: hidden size of the pair model's MLP.
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
        segment_names: list[str] | None = None,
        pair_hidden_size: int = 300,
        **kwargs,
    ):
        if segment_names is not None and len(segment_names) not in (1, 2):
            raise ValueError(f"segment_names has one name per text (one or two), got {segment_names!r}")
        if num_layers < 1:
            raise ValueError("BiLSTM needs at least one layer")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.attention_dim = attention_dim
        self.dropout = dropout
        self.max_seq_length = max_seq_length
        self.segment_names = list(segment_names) if segment_names is not None else None
        self.pair_hidden_size = pair_hidden_size
        super().__init__(pad_token_id=pad_token_id, **kwargs)


class BiLSTMForSequenceClassification(WordClassifierBase):
    """BiLSTM + attention classifier with Hugging Face save/load (safetensors).

    ``forward`` takes ``input_ids`` (B, L) or ``inputs_embeds`` (B, L, D) and ``attention_mask``
    (B, L); returns logits (B, num_labels), ``attentions = (alpha (B, L),)`` and, with
    ``output_hidden_states=True``, ``hidden_states = (embeddings (B, L, D), layer_1 (B, L, 2H), ...)``
    where channels [:H] are the forward direction and [H:] the backward direction.

    A pair model (``config.segment_names`` with two names; the common SNLI baseline of Bowman et
    al. 2015 / Conneau et al. 2017) also takes ``token_type_ids`` (B, L): 0 = premise, 1 =
    hypothesis. The *shared* BiLSTM and attention read each segment as its own packed sequence (the
    hypothesis is shifted to start at 0, run, and shifted back), giving u and v, and
    :class:`~.base.PairHead` classifies ``[u; v; |u-v|; u*v]``. A forward location of layer 1 sees
    its segment's prefix up to it, a backward one the segment's suffix; nothing crosses segments.
    ``attentions`` then holds alpha summed over the two segments (each sums to 1 over its own).
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
        self.n_segments = n_segments(config)
        if self.n_segments == 2:
            self.classifier = PairHead(2 * config.hidden_size, config.pair_hidden_size, config.num_labels, config.dropout)
        else:
            self.classifier = nn.Linear(2 * config.hidden_size, config.num_labels)
        self.post_init()

    def _run(self, lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """One BiLSTM layer over ``x`` (B, L, D) whose real tokens are the first ``lengths`` (B,)."""
        packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        out, _ = lstm(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]

    def _pool(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Additive attention over the positions of ``mask`` (B, L): (context (B, 2H), alpha (B, L))."""
        scores = self.attn_v(torch.tanh(self.attn_proj(x))).squeeze(-1)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        alpha = torch.softmax(scores, dim=-1)
        return torch.bmm(alpha.unsqueeze(1), x).squeeze(1), alpha

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
        B, L, _ = inputs_embeds.shape
        if attention_mask is None:
            attention_mask = torch.ones((B, L), device=inputs_embeds.device)
        mask = attention_mask.to(torch.bool)
        x = inputs_embeds * mask.unsqueeze(-1).to(inputs_embeds.dtype)
        hidden = [x]
        if self.n_segments == 1:
            lengths = mask.sum(1)
            for lstm in self.lstms:
                x = self._run(lstm, x, lengths)
                hidden.append(x)
            context, alpha = self._pool(x, mask)
            logits = self.classifier(self.dropout(context))
        else:
            m0, m1 = (sm.to(torch.bool) for sm in segment_masks(attention_mask, token_type_ids, 2))
            # the premise comes first; the hypothesis starts at n0 and is shifted to start at 0,
            # run, and shifted back: one tensor A_j per layer holds both segments' locations, and
            # the next layer (and the attention) read it, so dS/dA_j exists (Yuan et al. eq. 2)
            n0, n1 = m0.sum(1), m1.sum(1)
            pos = torch.arange(L, device=inputs_embeds.device)
            fwd = (pos[None, :] + n0[:, None]).clamp(max=L - 1)  # local t -> global n0 + t
            back = (pos[None, :] - n0[:, None]).clamp(min=0)  # global t -> local t - n0
            f0, f1 = m0.unsqueeze(-1).to(x.dtype), m1.unsqueeze(-1).to(x.dtype)
            for lstm in self.lstms:
                out_p = self._run(lstm, x, n0)
                x_h = x.gather(1, fwd.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
                out_h = self._run(lstm, x_h, n1)
                out_h = out_h.gather(1, back.unsqueeze(-1).expand(-1, -1, out_h.shape[-1]))
                x = out_p * f0 + out_h * f1
                hidden.append(x)
            u, alpha_p = self._pool(x, m0)
            v, alpha_h = self._pool(x, m1)
            alpha = alpha_p * m0.to(alpha_p.dtype) + alpha_h * m1.to(alpha_h.dtype)
            logits = self.classifier(self.dropout(u), self.dropout(v))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=tuple(hidden) if output_hidden_states else None,
            attentions=(alpha,),
        )
