"""A tiny WordPiece tokenizer and tiny word-piece TextCNN/BiLSTM models built from it (nothing is
downloaded): what ``interp-studio train --tokenizer DIR`` reads and writes, at test size."""
from __future__ import annotations

from pathlib import Path

import torch

from tests.helpers import TINY_PAIRS, TINY_TEXTS

#: words of the tiny vocabulary; "boring", "hated", "unwatchable", "acting" are not in it whole and
#: split into pieces (bor ##ing, hat ##ed, un ##watch ##able, act ##ing)
WORDS = sorted({w.lower() for t in TINY_TEXTS + [x for _, p, h in TINY_PAIRS for x in (p, h)]
                for w in t.replace(",", " , ").replace(".", " . ").split()}
               - {"boring", "hated", "acting", "playing", "reading", "eating", "plays", "dogs"})
PIECES = ["bor", "hat", "act", "play", "read", "eat", "dog", "un", "watch", "##watch", "##able", "##ing", "##ed",
          "##s", "!"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *[p for p in PIECES if p not in WORDS]]


def wordpiece_tokenizer(vocab=VOCAB, *, model_max_length: int = 64, lowercase: bool = True):
    """A BERT-style fast WordPiece tokenizer over ``vocab`` (``[PAD]`` = 0; [CLS] … [SEP] around a
    text, ``[CLS] a [SEP] b [SEP]`` with token types 0/1 around a pair), built with ``tokenizers``."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import BertTokenizerFast

    ids = {w: i for i, w in enumerate(vocab)}
    tok = Tokenizer(WordPiece(ids, unk_token="[UNK]", continuing_subword_prefix="##"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])])
    tok.decoder = decoders.WordPiece(prefix="##")
    return BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]", model_max_length=model_max_length,
                             do_lower_case=lowercase)


def save_wordpiece_tokenizer(path: Path, **kw) -> Path:
    """:func:`wordpiece_tokenizer` saved with ``save_pretrained`` to ``path`` (tokenizer.json, ...)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    wordpiece_tokenizer(**kw).save_pretrained(path)
    return path


def save_wordpiece_model(path: Path, arch: str = "textcnn", *, pair: bool = False, seed: int = 0, **cfg) -> Path:
    """A tiny random TextCNN/BiLSTM reading the pieces of :func:`wordpiece_tokenizer` (a pair model
    with ``pair``: segment names premise/hypothesis, 3 classes), saved with its tokenizer."""
    from interp_engine.models import (
        BiLSTMConfig,
        BiLSTMForSequenceClassification,
        TextCNNConfig,
        TextCNNForSequenceClassification,
    )

    tok = wordpiece_tokenizer(model_max_length=32)
    torch.manual_seed(seed)
    n = 3 if pair else 2
    names = {i: f"class{i}" for i in range(n)}
    common = dict(vocab_size=len(tok), num_labels=n, max_seq_length=32, id2label=names,
                  label2id={v: k for k, v in names.items()})
    if pair:
        common.update(segment_names=["premise", "hypothesis"], pair_hidden_size=7)
    if arch == "textcnn":
        model = TextCNNForSequenceClassification(TextCNNConfig(embedding_dim=12, conv_channels=[8, 6, 4], kernel_size=3,
                                                               **common, **cfg))
    else:
        model = BiLSTMForSequenceClassification(BiLSTMConfig(embedding_dim=12, hidden_size=5, attention_dim=6,
                                                             **common, **cfg))
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
