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
