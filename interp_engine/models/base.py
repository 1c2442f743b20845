"""What our word-level classifiers (TextCNN, BiLSTM) share: PyTorch's default initialisation for
layers, Kim (2014)'s uniform(-0.25, 0.25) word vectors with a zero [PAD] row, and the
embedding accessors Hugging Face expects."""
from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedModel


class WordClassifierBase(PreTrainedModel):
    """Base of :class:`TextCNNForSequenceClassification` and :class:`BiLSTMForSequenceClassification`.

    Subclasses define ``self.embeddings`` (an ``nn.Embedding`` with ``padding_idx`` = [PAD] = 0).
    """

    main_input_name = "input_ids"

    @torch.no_grad()
    def _init_weights(self, module):
        if isinstance(module, (nn.Conv1d, nn.Linear, nn.LSTM)):
            module.reset_parameters()
        elif isinstance(module, nn.Embedding):
            nn.init.uniform_(module.weight, -0.25, 0.25)  # Kim (2014) initialisation of unknown words
            if module.padding_idx is not None:
                module.weight[module.padding_idx].zero_()  # zero erasure relies on a zero [PAD] vector

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings = value

    def _embed(self, input_ids: torch.Tensor | None, inputs_embeds: torch.Tensor | None) -> torch.Tensor:
        """``inputs_embeds`` if given, else the embeddings of ``input_ids`` (B, L) -> (B, L, D)."""
        if inputs_embeds is not None:
            return inputs_embeds
        if input_ids is None:
            raise ValueError("pass input_ids or inputs_embeds")
        return self.embeddings(input_ids)


def segment_masks(attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None, n_segments: int) -> list[torch.Tensor]:
    """The (B, L) masks of each segment of a batch: ``[attention_mask]`` for a single-text model,
    ``[mask & type 0, mask & type 1]`` for a pair model (premise, hypothesis).

    Raises:
        ValueError: a pair model called without ``token_type_ids`` (B, L) (a caller that forgot to
            pass the segments would otherwise silently read the pair as one premise).
    """
    if n_segments == 1:
        return [attention_mask]
    if token_type_ids is None:
        raise ValueError("this pair model needs token_type_ids (0 = first text, 1 = second text)")
    tt = token_type_ids.to(attention_mask.device)
    if tt.shape[0] != attention_mask.shape[0]:
        tt = tt.expand(attention_mask.shape[0], -1)
    return [attention_mask * (tt == s).to(attention_mask.dtype) for s in range(n_segments)]


class PairHead(nn.Module):
    """The common sentence-pair classifier of the SNLI baselines (Bowman et al. 2015; Conneau et al.
    2017's InferSent): a *shared* encoder gives u (premise) and v (hypothesis), and an MLP reads the
    features ``[u; v; |u − v|; u ∗ v]`` (B, 4·C) → hidden (ReLU, dropout) → logits (B, num_labels).

    We chose this siamese combination over cross-attention (ESIM) because each hidden location
    then depends on the tokens of its own segment only, so the saliency grid's receptive fields
    stay inside their segment (Yuan et al. 2019 eq. 1-3 apply per segment unchanged), and only the
    final MLP compares the two sentences.
    """

    def __init__(self, size: int, hidden: int, num_labels: int, dropout: float):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(4 * size, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_labels))

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat([u, v, (u - v).abs(), u * v], dim=-1))


def n_segments(config) -> int:
    """2 for a pair model (``config.segment_names`` has two names), else 1."""
    names = getattr(config, "segment_names", None)
    return 2 if names is not None and len(names) == 2 else 1
