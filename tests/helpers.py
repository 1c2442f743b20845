"""Shared test helpers: tiny models built from configs, saved and reopened with the real
loading code (nothing is downloaded)."""
from __future__ import annotations

from pathlib import Path

import torch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

TINY_TEXTS = [
    "a good film with great acting",
    "a bad film , not good at all",
    "The plot is thin but the cast is superb",
    "boring and dull , I hated it",
    "never boring , always fun",
]


#: tiny natural-language-inference pairs (label 0 entailment, 1 neutral, 2 contradiction)
TINY_PAIRS = [
    (0, "A man is playing a guitar on stage .", "A man plays music ."),
    (2, "A man is playing a guitar on stage .", "The man is sleeping at home ."),
    (1, "Two dogs run through the snow .", "The dogs are playing with their owner ."),
    (0, "A woman reads a book in the park .", "A person is reading ."),
    (2, "A child eats an apple .", "Nobody is eating ."),
]


def tiny_tokenizer(max_length: int = 32):
    from interp_engine.models.tokenization import build_word_tokenizer

    return build_word_tokenizer(TINY_TEXTS, max_length=max_length)


def save_tiny(path: Path, arch: str = "textcnn", *, seed: int = 0, num_labels: int = 2, **cfg) -> Path:
    """Build a tiny randomly initialised TextCNN/BiLSTM and save it with its tokenizer to ``path``."""
    from interp_engine.models import (
        BiLSTMConfig,
        BiLSTMForSequenceClassification,
        TextCNNConfig,
        TextCNNForSequenceClassification,
    )

    tok = tiny_tokenizer()
    torch.manual_seed(seed)
    names = {i: f"class{i}" for i in range(num_labels)}
    common = dict(vocab_size=len(tok), num_labels=num_labels, max_seq_length=32, id2label=names,
                  label2id={v: k for k, v in names.items()})
    if arch == "textcnn":
        model = TextCNNForSequenceClassification(TextCNNConfig(embedding_dim=12, conv_channels=[8, 6, 4], kernel_size=3, **common, **cfg))
    else:
        model = BiLSTMForSequenceClassification(BiLSTMConfig(embedding_dim=12, hidden_size=5, attention_dim=6, **common, **cfg))
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def save_rows_model(root: Path, rows) -> tuple[Path, Path]:
    """A tiny random TextCNN (2 classes "negative"/"positive", max 32 tokens) whose vocabulary is
    the words of ``rows`` ((label, text) pairs), saved to ``root/model``, and the rows as
    ``root/data.tsv``. Returns ``(model_dir, data_path)`` (the window tests' model)."""
    from interp_engine.models import TextCNNConfig, TextCNNForSequenceClassification
    from interp_engine.models.tokenization import build_word_tokenizer

    d = Path(root) / "model"
    tok = build_word_tokenizer([t for _, t in rows], max_length=32)
    torch.manual_seed(0)
    m = TextCNNForSequenceClassification(TextCNNConfig(
        vocab_size=len(tok), embedding_dim=16, conv_channels=[8, 8], num_labels=2, max_seq_length=32,
        id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1}))
    m.save_pretrained(d)
    tok.save_pretrained(d)
    data = Path(root) / "data.tsv"
    data.write_text("label\ttext\n" + "".join(f"{lab}\t{t}\n" for lab, t in rows), encoding="utf-8")
    return d, data


def save_tiny_bert(path: Path, num_labels: int = 3) -> Path:
    """A tiny BERT sequence classifier from a ``BertConfig`` with a WordPiece tokenizer built here."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    words = sorted({w.lower() for t in TINY_TEXTS for w in t.replace(",", " , ").split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, "##s", "##ing"]
    path.mkdir(parents=True, exist_ok=True)
    # transformers 5: a vocab dict (vocab_file= alone keeps only the special tokens)
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True, model_max_length=64)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64, num_labels=num_labels)
    BertForSequenceClassification(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def save_tiny_pair(path: Path, arch: str = "bilstm", *, seed: int = 0, **cfg) -> Path:
    """A tiny random sentence-pair TextCNN/BiLSTM (``segment_names`` premise/hypothesis, 3 NLI classes)
    whose vocabulary is the words of :data:`TINY_PAIRS`, saved with its tokenizer to ``path``."""
    from interp_engine.data import NLI_CLASS_NAMES
    from interp_engine.models import (
        BiLSTMConfig,
        BiLSTMForSequenceClassification,
        TextCNNConfig,
        TextCNNForSequenceClassification,
    )
    from interp_engine.models.tokenization import build_word_tokenizer

    tok = build_word_tokenizer([t for _, p, h in TINY_PAIRS for t in (p, h)], max_length=32)
    torch.manual_seed(seed)
    names = dict(enumerate(NLI_CLASS_NAMES))
    common = dict(vocab_size=len(tok), num_labels=3, max_seq_length=32, id2label=names,
                  label2id={v: k for k, v in names.items()}, segment_names=["premise", "hypothesis"],
                  pair_hidden_size=7)
    if arch == "textcnn":
        model = TextCNNForSequenceClassification(TextCNNConfig(embedding_dim=12, conv_channels=[8, 6], kernel_size=3, **common, **cfg))
    else:
        model = BiLSTMForSequenceClassification(BiLSTMConfig(embedding_dim=12, hidden_size=5, attention_dim=6, **common, **cfg))
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def save_pairs_tsv(path: Path, rows=TINY_PAIRS) -> Path:
    """``rows`` ((label, premise, hypothesis)) as an SNLI-style TSV file."""
    path.write_text("label\tpremise\thypothesis\n" + "".join(f"{l}\t{p}\t{h}\n" for l, p, h in rows), encoding="utf-8")
    return path


def save_tiny_encoder(path: Path, *, seed: int = 0) -> Path:
    """A tiny pretrained-style BERT *encoder* folder (``BertModel``, no classification head) with a
    WordPiece tokenizer over the words of :data:`TINY_TEXTS` and :data:`TINY_PAIRS`: what
    ``train --arch transformer --init`` and ``train-mlm --init`` read (like the MiniLM folder)."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    texts = TINY_TEXTS + [t for _, p, h in TINY_PAIRS for t in (p, h)]
    words = sorted({w.lower() for t in texts for w in t.replace(",", " , ").replace(".", " . ").split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, "##s", "##ing"]
    path.mkdir(parents=True, exist_ok=True)
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True, model_max_length=64)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64, architectures=["BertModel"])
    BertModel(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def tiny_sentences(n: int, *, seed: int = 7, min_words: int = 4, max_words: int = 9) -> list[str]:
    """``n`` distinct sentences of ``min_words``..``max_words`` words drawn (seeded) from the words
    of :data:`TINY_TEXTS`: rows a tiny model gives different tokens and scores."""
    import numpy as np

    words = sorted({w for t in TINY_TEXTS for w in t.split()})
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < n:
        t = " ".join(rng.choice(words, size=int(rng.integers(min_words, max_words + 1))))
        if t not in out:
            out.append(t)
    return out


def save_model_mlm_data(root: Path, texts, *, model_seed: int = 0) -> tuple[Path, Path, Path]:
    """A tiny TextCNN (:func:`save_tiny`, ``root/clf``), a tiny masked LM over the same vocabulary
    (``root/mlm``) and ``texts`` as ``root/data.tsv`` (labels alternating 0/1). Returns
    ``(model_dir, mlm_dir, data_path)``."""
    from tests.engine.test_marginalization import tiny_mlm

    model = save_tiny(Path(root) / "clf", "textcnn", seed=model_seed)
    mlm = Path(root) / "mlm"
    tiny_mlm(len(tiny_tokenizer())).save_pretrained(mlm)
    tiny_tokenizer().save_pretrained(mlm)
    data = Path(root) / "data.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(texts)), encoding="utf-8")
    return model, mlm, data
