"""Training our classifiers (TextCNN, BiLSTM) from a dataset, headless.

Defaults: tokenizer built from the training texts (case-preserving word level), or a given
WordPiece tokenizer (``TrainConfig.tokenizer``: one tokenizer for every model, as Kim et al. 2020
``004_137d387c767c1e08.txt`` §4.1), embeddings initialised from Word2Vec trained on those texts
(on their word pieces with a WordPiece tokenizer) (Yuan et al. ``001_e80f9d2c7d254978.txt``,
Table 2 use word2vec) or from loaded vectors, 10% of the training set held out for early
stopping (the epoch with the best validation accuracy is kept), Adam.
"""
from __future__ import annotations

import contextlib
import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .data import Dataset, train_validation_split
from .errors import InputError, check_cancel
from .models import (
    BiLSTMConfig,
    BiLSTMForSequenceClassification,
    Classifier,
    TextCNNConfig,
    TextCNNForSequenceClassification,
    resolve_device,
)
from .models.tokenization import build_word_tokenizer, load_wordpiece_tokenizer, pre_tokenize
from .vectors import embedding_matrix, load_vectors, train_word2vec


#: classifier architectures of :class:`TrainConfig` ``arch`` (``interp-studio train --arch``)
ARCHITECTURES = ("textcnn", "bilstm")


@dataclass
class TrainConfig:
    """Hyper-parameters of :func:`train_classifier` (defaults are the CLI's defaults).

    ``max_length`` None: the 99th percentile of training sentence lengths, within [16, 256].
    ``min_freq`` 2: words seen once become [UNK] while training, so the model learns what an
    unknown word looks like (test sentences are full of them). ``w2v_epochs``: Word2Vec passes
    over the (small) training corpus. ``threads``: CPU threads for training; the default 1
    makes a seed reproduce the same model bit for bit on the same CPU (float sums depend on
    the thread count; on MR, 1 vs 2 threads gave test accuracy 0.759 vs 0.741 — the selected
    epoch changed). None keeps torch's setting (faster, not reproducible across machines).
    ``tokenizer``: None builds a word-level tokenizer from the training texts; a local Hugging Face
    folder with a WordPiece tokenizer (:func:`~.models.tokenization.load_wordpiece_tokenizer`, e.g.
    a BERT model folder) makes the model read word pieces with [CLS]/[SEP] (Kim et al. 2020
    ``004_137d387c767c1e08.txt`` §4.1: one tokenizer for CNN, LSTM and BERT, so one masked LM
    serves them all): the vocabulary is the tokenizer's whole vocabulary (``min_freq`` does not
    apply), ``max_length`` counts pieces and special tokens and never exceeds the tokenizer's
    ``model_max_length``, Word2Vec is trained on the pieces, and ``vectors`` is refused (word
    vectors have no rows for pieces such as ``##able``).
    """

    arch: str = ARCHITECTURES[0]
    epochs: int = 10
    seed: int = 1
    batch_size: int = 64
    lr: float = 1e-3
    embedding_dim: int = 300
    conv_channels: tuple[int, ...] = (128, 64, 32)
    kernel_size: int = 5
    hidden_size: int = 150
    dropout: float = 0.5
    embedding_dropout: float = 0.0
    token_dropout: float = 0.0
    max_length: int | None = None
    min_freq: int = 2
    vectors: str | None = None
    embedding_init: str = "word2vec"
    vectors_format: str | None = None
    w2v_epochs: int = 50
    validation_fraction: float = 0.1
    weight_decay: float = 0.0
    threads: int | None = 1
    tokenizer: str | None = None


@dataclass
class TrainReport:
    """What training measured. Accuracies are fractions in [0, 1]."""

    test_accuracy: float | None
    validation_accuracy: float
    best_epoch: int
    n_train: int
    n_validation: int
    n_test: int
    seconds: float
    vocab_size: int
    max_length: int
    vectors_found: int
    arch: str
    out_dir: str
    history: list = field(default_factory=list)
    #: the WordPiece tokenizer folder the model was trained with (None: a word-level tokenizer)
    tokenizer: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


class BestEpoch:
    """Early stopping by validation accuracy, shared by :func:`train_classifier` and
    :func:`~interp_engine.finetune.fine_tune`: :meth:`end_epoch` records an epoch (history, log line,
    a copy of the weights when the validation accuracy is the best so far); :meth:`restore` loads the
    best weights. ``accuracy``/``epoch``: the best epoch's validation accuracy (fraction) and number."""

    def __init__(self, epochs: int, t0: float, log=None):
        self.epochs, self.t0, self.log = epochs, t0, log
        self.accuracy, self.epoch, self._state = -1.0, 0, None
        self.history: list[dict] = []

    def end_epoch(self, model, epoch: int, train_loss: float, val_acc: float) -> None:
        self.history.append({"epoch": epoch, "train_loss": train_loss, "validation_accuracy": val_acc})
        if self.log is not None:
            self.log(f"epoch {epoch}/{self.epochs}: train loss {train_loss:.4f}, validation accuracy {val_acc:.4f} "
                     f"({time.perf_counter() - self.t0:.0f} s)")
        if val_acc > self.accuracy:
            self.accuracy, self.epoch, self._state = val_acc, epoch, copy.deepcopy(model.state_dict())

    def restore(self, model) -> None:
        model.load_state_dict(self._state)
        model.eval()


def _encode_ids(tokenizer, data: Dataset, max_length):
    """Per row, ``(ids, segments)`` int64 arrays: one text, or a pair tokenised as a pair (the
    tokenizer's segments: 0 premise, 1 hypothesis; truncation cuts the longer text first)."""
    from .models.tokenization import remove_invisible

    texts = [remove_invisible(t) for t in data.texts]
    pairs = [remove_invisible(t) for t in data.pairs] if data.is_pair else None
    enc = tokenizer(texts, pairs, truncation=True, max_length=max_length, return_token_type_ids=True)
    return [(np.asarray(ids, dtype=np.int64), np.asarray(tt, dtype=np.int64))
            for ids, tt in zip(enc["input_ids"], enc["token_type_ids"])]


def _pad(batch: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask, token_type_ids)`` (B, L), padded on the right."""
    L = max(1, max(len(x) for x, _ in batch))
    ids = np.zeros((len(batch), L), dtype=np.int64)
    mask = np.zeros((len(batch), L), dtype=np.int64)
    types = np.zeros((len(batch), L), dtype=np.int64)
    for i, (x, tt) in enumerate(batch):
        ids[i, : len(x)] = x
        mask[i, : len(x)] = 1
        types[i, : len(tt)] = tt
    return torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types)


@torch.no_grad()
def evaluate_accuracy(model, ids: list, labels: np.ndarray, device, batch_size: int = 512) -> float:
    """Fraction of rows (``(ids, segments)`` of :func:`_encode_ids`) whose argmax logit equals ``labels``."""
    model.eval()
    correct = 0
    for s in range(0, len(ids), batch_size):
        x, m, tt = _pad(ids[s : s + batch_size])
        pred = model(input_ids=x.to(device), attention_mask=m.to(device),
                     token_type_ids=tt.to(device)).logits.argmax(-1).cpu().numpy()
        correct += int((pred == labels[s : s + batch_size]).sum())
    return correct / max(1, len(ids))


def train_classifier(
    train: Dataset,
    out_dir: str | Path,
    *,
    test: Dataset | None = None,
    config: TrainConfig | None = None,
    device="auto",
    progress=None,
    cancel=None,
    log=None,
) -> TrainReport:
    """Train a TextCNN or BiLSTM on ``train``, save it (safetensors + tokenizer) to ``out_dir``.

    Args:
        train: labelled training data. test: optional labelled test data (accuracy reported).
        config: hyper-parameters. device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: ``progress(done, total, message)`` per batch (``message``: ``epoch e/E``).
            cancel: ``threading.Event``.
        log: optional ``log(str)``, called once per epoch with one line (``epoch e/E: train loss
            ..., validation accuracy ... (elapsed s)``): the progress of a run whose output goes
            to a file.

    Returns:
        a :class:`TrainReport` (also written to ``out_dir/training.json``).

    Raises:
        InputError: unlabelled data, fewer than 2 classes, unknown architecture; with
            ``config.tokenizer``: a folder without a usable WordPiece tokenizer (see
            :func:`~.models.tokenization.load_wordpiece_tokenizer`), ``vectors`` given, or a
            ``max_length`` above the tokenizer's ``model_max_length``.
        Cancelled: ``cancel`` was set.
    """
    cfg = config or TrainConfig()
    with torch_threads(cfg.threads):
        return _train(train, out_dir, test, cfg, device, progress, cancel, log)


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run the block with ``n`` torch CPU threads (None or 0: leave torch's setting), then restore
    the previous count. Every training recipe uses one thread by default: float sums depend on the
    thread count, so a seed reproduces its model only with a fixed count, and on shared cores two
    spinning OpenMP threads per process multiply the CPU a training takes (issue 15 bug 8: the demo's
    masked LM took 4x its CPU at load 4 with torch's 2 threads)."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _train(train, out_dir, test, cfg: TrainConfig, device, progress, cancel, log) -> TrainReport:
    if cfg.arch not in ARCHITECTURES:
        raise InputError(f"unknown architecture {cfg.arch!r}: choose {' or '.join(ARCHITECTURES)}")
    if train.labels is None:
        raise InputError(f"{train.path}: the training data has no label column")
    if test is not None and test.labels is None:
        raise InputError(f"{test.path}: the test data has no label column")
    n_classes = int(max(train.labels.max(), test.labels.max() if test is not None else 0)) + 1
    if n_classes < 2:
        raise InputError("training needs at least two classes")
    t0 = time.perf_counter()
    device = resolve_device(device)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    fit, val = train_validation_split(train, fraction=cfg.validation_fraction, seed=cfg.seed)

    if test is not None and test.is_pair != train.is_pair:
        raise InputError(f"{test.path}: the test data has {'two texts' if test.is_pair else 'one text'} per row but the "
                         f"training data {'two' if train.is_pair else 'one'}")
    # a pair dataset trains a pair model (shared encoder over premise and hypothesis, PairHead)
    fit_texts = list(fit.texts) + (list(fit.pairs) if fit.is_pair else [])
    if cfg.tokenizer:
        tokenizer, tokenized, max_length = _wordpiece_setup(cfg, fit, fit_texts)
    else:
        tokenized = [pre_tokenize(t) for t in fit_texts]
        lengths = np.array([len(t) for t in tokenized] or [1])
        if fit.is_pair:  # a row is both texts
            lengths = lengths[: len(fit)] + lengths[len(fit):]
        max_length = cfg.max_length or int(np.clip(np.percentile(lengths, 99), 16, 256))
        tokenizer = build_word_tokenizer(fit_texts, min_freq=cfg.min_freq, max_length=max_length)
    vocab = tokenizer.get_vocab()

    if cfg.vectors:
        kv = load_vectors(cfg.vectors, cfg.vectors_format)
        dim = kv.vector_size
    elif cfg.embedding_init == "random":
        kv, dim = None, cfg.embedding_dim
    else:
        dim = cfg.embedding_dim
        kv = train_word2vec(tokenized, dim=dim, seed=cfg.seed, epochs=cfg.w2v_epochs)
    if kv is not None:
        emb, found = embedding_matrix(vocab, kv, dim, seed=cfg.seed)
    else:
        emb = np.random.default_rng(cfg.seed).uniform(-0.25, 0.25, size=(len(vocab), dim)).astype(np.float32)
        emb[0] = 0.0
        found = 0

    class_names = list(train.class_names) if len(train.class_names) == n_classes else [str(i) for i in range(n_classes)]
    label_kw = dict(num_labels=n_classes, id2label=dict(enumerate(class_names)), label2id={n: i for i, n in enumerate(class_names)})
    if train.is_pair:
        label_kw["segment_names"] = list(train.segment_names)
    if cfg.arch == "textcnn":
        mcfg = TextCNNConfig(vocab_size=len(vocab), embedding_dim=dim, conv_channels=list(cfg.conv_channels),
                             kernel_size=cfg.kernel_size, dropout=cfg.dropout, embedding_dropout=cfg.embedding_dropout, max_seq_length=max_length, **label_kw)
        model = TextCNNForSequenceClassification(mcfg)
    else:
        mcfg = BiLSTMConfig(vocab_size=len(vocab), embedding_dim=dim, hidden_size=cfg.hidden_size,
                            dropout=cfg.dropout, max_seq_length=max_length, **label_kw)
        model = BiLSTMForSequenceClassification(mcfg)
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(torch.from_numpy(emb))
    model.to(device)

    fit_ids = _encode_ids(tokenizer, fit, max_length)
    val_ids = _encode_ids(tokenizer, val, max_length)
    fit_y = np.asarray(fit.labels, dtype=np.int64)
    val_y = np.asarray(val.labels, dtype=np.int64)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    best = BestEpoch(cfg.epochs, t0, log)
    n_batches = (len(fit_ids) + cfg.batch_size - 1) // cfg.batch_size
    total = n_batches * cfg.epochs
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        perm = rng.permutation(len(fit_ids))
        loss_sum = 0.0
        for b in range(n_batches):
            check_cancel(cancel)
            idx = perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            x, m, tt = _pad([fit_ids[i] for i in idx])
            if cfg.token_dropout > 0:  # word dropout: teach the model what an unknown word looks like
                drop = (torch.rand(x.shape, generator=gen) < cfg.token_dropout) & (m > 0)
                x = x.masked_fill(drop, tokenizer.unk_token_id)
            y = torch.from_numpy(fit_y[idx]).to(device)
            out = model(input_ids=x.to(device), attention_mask=m.to(device), token_type_ids=tt.to(device), labels=y)
            opt.zero_grad()
            out.loss.backward()
            opt.step()
            with torch.no_grad():  # keep [PAD] a zero vector (zero erasure relies on it)
                model.get_input_embeddings().weight[0].zero_()
            loss_sum += float(out.loss.detach()) * len(idx)
            if progress is not None:
                progress((epoch - 1) * n_batches + b + 1, total, f"epoch {epoch}/{cfg.epochs}")
        best.end_epoch(model, epoch, loss_sum / max(1, len(fit_ids)), evaluate_accuracy(model, val_ids, val_y, device))
    best.restore(model)

    test_acc = None
    if test is not None:
        test_acc = evaluate_accuracy(model, _encode_ids(tokenizer, test, max_length), np.asarray(test.labels), device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.to("cpu").save_pretrained(out)
    tokenizer.save_pretrained(out)
    report = TrainReport(
        test_accuracy=test_acc, validation_accuracy=best.accuracy, best_epoch=best.epoch, n_train=len(fit),
        n_validation=len(val), n_test=len(test) if test is not None else 0, seconds=time.perf_counter() - t0,
        vocab_size=len(vocab), max_length=max_length, vectors_found=found, arch=cfg.arch, out_dir=str(out),
        history=best.history, tokenizer=str(Path(cfg.tokenizer).expanduser().resolve()) if cfg.tokenizer else None,
    )
    write_training_report(out, report, cfg, train, test)
    return report


def write_training_report(out: Path, report, cfg, train, test) -> None:
    """``out/training.json``: the report, the full config, the data files and columns, and the
    environment (library versions, CPU, torch's kernel set: :func:`~interp_engine.environment.environment`),
    which a seed's result depends on (README, "Reproducibility")."""
    from .environment import environment

    meta = report.to_json() | {"config": asdict(cfg), "train_data": str(train.path),
                               "test_data": str(test.path) if test else None,
                               "segment_names": list(train.segment_names), "text_column": train.text_column,
                               "pair_column": train.pair_column, "environment": environment()}
    (Path(out) / "training.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")


def _wordpiece_setup(cfg: TrainConfig, fit: Dataset, fit_texts: list[str]):
    """The WordPiece tokenizer of ``cfg.tokenizer``, the Word2Vec sentences (the pieces of each
    training text, special tokens left out) and ``max_length`` (the 99th percentile of the rows'
    lengths in pieces, [CLS]/[SEP] included, within [16, 256] and at most the tokenizer's
    ``model_max_length``; or ``cfg.max_length``). The tokenizer's ``model_max_length`` is set to it.

    Raises:
        InputError: see :func:`~.models.tokenization.load_wordpiece_tokenizer`; ``cfg.vectors`` given;
            ``cfg.max_length`` above the tokenizer's ``model_max_length``.
    """
    from .models.tokenization import remove_invisible

    if cfg.vectors:
        raise InputError("--vectors cannot be combined with --tokenizer: word vectors have one row per word, but a "
                         "WordPiece model has one per piece (un, ##watch, ##able); leave --vectors out and the "
                         "embeddings start from Word2Vec trained on the training texts' pieces")
    tokenizer = load_wordpiece_tokenizer(cfg.tokenizer)
    limit = tokenizer.model_max_length if 0 < (tokenizer.model_max_length or 0) < 100_000 else None
    texts = [remove_invisible(t) for t in fit.texts]
    pairs = [remove_invisible(t) for t in fit.pairs] if fit.is_pair else None
    lengths = np.array([len(ids) for ids in tokenizer(texts, pairs, truncation=False)["input_ids"]] or [1])
    if cfg.max_length is not None and limit is not None and cfg.max_length > limit:
        raise InputError(f"--max-length {cfg.max_length} is above the tokenizer's limit of {limit} tokens")
    max_length = cfg.max_length or int(np.clip(np.percentile(lengths, 99), 16, 256))
    if limit is not None:
        max_length = min(max_length, limit)
    tokenizer.model_max_length = max_length
    enc = tokenizer([remove_invisible(t) for t in fit_texts], add_special_tokens=False, truncation=False)
    tokenized = [tokenizer.convert_ids_to_tokens(ids) for ids in enc["input_ids"]]
    return tokenizer, tokenized, max_length


def classifier_from_training(out_dir, device="auto") -> Classifier:
    """Open what :func:`train_classifier` saved."""
    from .models import load_classifier

    return load_classifier(out_dir, device=device)
