"""Fine-tuning a local pretrained Hugging Face encoder into a sequence classifier, headless
(``interp-studio train --arch transformer --init DIR``).

Kim et al. 2020 (``004_137d387c767c1e08.txt`` §4.1, Table 1) explain a fine-tuned BERT beside a CNN
and an LSTM. This module turns any local encoder folder (``config.json`` + safetensors weights +
its tokenizer; e.g. all-MiniLM-L6-v2 of the ``pretrained`` extra) into an
``AutoModelForSequenceClassification`` folder with the same tokenizer, class names in ``id2label``
and a ``training.json`` report, so :func:`~interp_engine.models.load_classifier` opens it like any
fine-tuned model. Recipe (Devlin et al. 2019's): AdamW, linear warm-up then linear decay, dropout of
the checkpoint, the epoch with the best validation accuracy kept (10% of the training set held out,
as :mod:`interp_engine.training`). Nothing is downloaded (``local_files_only``), ``trust_remote_code``
is never set, and only safetensors weights are read.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .data import Dataset, train_validation_split
from .errors import InputError, ModelLoadError, check_cancel
from .training import BestEpoch, torch_threads, write_training_report

#: the ``--arch`` of this module (``interp-studio train --arch transformer --init DIR``)
TRANSFORMER_ARCH = "transformer"

#: the longest default ``max_length`` of fine-tuning (tokens); ``--max-length`` may go further, up to the
#: encoder's position embeddings
FINE_TUNE_MAX_LENGTH = 256


@dataclass
class FineTuneConfig:
    """Hyper-parameters of :func:`fine_tune` (the CLI's defaults).

    ``lr`` is AdamW's peak learning rate, reached after ``warmup_fraction`` of the steps and decayed
    linearly to 0. ``max_length`` None: the longest training row in tokens (special tokens
    included), within [16, min(the tokenizer's maximum, :data:`FINE_TUNE_MAX_LENGTH`)]: batches are
    grouped by length, so a long maximum costs little, and no SST-2 row is cut. ``threads`` as
    :class:`~interp_engine.training.TrainConfig` (1: a seed reproduces the model on one CPU;
    None keeps torch's setting). Measured defaults: BENCHMARKS.md "Transformers".
    """

    epochs: int = 2
    seed: int = 1
    batch_size: int = 32
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    max_length: int | None = None
    validation_fraction: float = 0.1
    threads: int | None = 1


@dataclass
class FineTuneReport:
    """What fine-tuning measured (accuracies are fractions in [0, 1]; ``n_truncated``: training rows
    longer than ``max_length``, cut)."""

    test_accuracy: float | None
    validation_accuracy: float
    best_epoch: int
    n_train: int
    n_validation: int
    n_test: int
    seconds: float
    vocab_size: int
    max_length: int
    n_truncated: int
    init: str
    arch: str
    out_dir: str
    history: list = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def open_encoder_folder(init: str | Path):
    """The tokenizer and config of a local pretrained encoder folder, validated.

    Returns:
        ``(path, tokenizer, config)``.

    Raises:
        InputError: ``init`` is not a folder, has no ``config.json`` or safetensors weights, or has no
            tokenizer (``tokenizer.json``/``vocab.txt``/...) that ``AutoTokenizer`` can open offline.
    """
    from transformers import AutoConfig, AutoTokenizer

    p = Path(init).expanduser()
    if not p.is_dir():
        raise InputError(f"{p}: not a folder: --init needs a local Hugging Face encoder folder (config.json, "
                         f"model.safetensors and its tokenizer)")
    if not (p / "config.json").is_file():
        raise InputError(f"{p}: no config.json, so this is not a saved Hugging Face model folder")
    if not any(p.glob("*.safetensors")):
        raise InputError(f"{p}: no safetensors weights (model.safetensors); pickled weights are not opened for "
                         f"fine-tuning")
    try:
        config = AutoConfig.from_pretrained(p, local_files_only=True)
    except (ValueError, KeyError, OSError) as e:
        raise InputError(f"{p}: unknown or unsupported model architecture ({str(e).splitlines()[0]})") from e
    names = ("tokenizer.json", "vocab.txt", "tokenizer.model", "vocab.json", "spiece.model", "sentencepiece.bpe.model")
    if not any((p / n).is_file() for n in names):
        raise InputError(f"{p}: the encoder folder has no tokenizer (tokenizer.json or vocab.txt); a classifier "
                         f"needs the tokenizer its encoder was trained with")
    try:
        tokenizer = AutoTokenizer.from_pretrained(p, local_files_only=True)
    except Exception as e:  # noqa: BLE001 - any failure is the folder's tokenizer
        raise InputError(f"{p}: the tokenizer could not be opened ({type(e).__name__}: {e})") from e
    return p, tokenizer, config


def _encode(tokenizer, data: Dataset, max_length: int):
    """Per row, ``(input_ids, token_type_ids)`` int64 arrays (a pair as the tokenizer's pair:
    ``[CLS] premise [SEP] hypothesis [SEP]``), and how many rows were truncated."""
    texts = list(data.texts)
    pairs = list(data.pairs) if data.is_pair else None
    enc = tokenizer(texts, pairs, truncation=True, max_length=max_length, return_token_type_ids=True)
    full = tokenizer(texts, pairs, truncation=False)["input_ids"]
    rows = [(np.asarray(i, dtype=np.int64), np.asarray(t, dtype=np.int64))
            for i, t in zip(enc["input_ids"], enc["token_type_ids"])]
    return rows, sum(len(f) > max_length for f in full)


def _batch(rows, pad: int, device):
    L = max(1, max(len(i) for i, _ in rows))
    ids = torch.full((len(rows), L), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), L), dtype=torch.long)
    types = torch.zeros((len(rows), L), dtype=torch.long)
    for b, (i, t) in enumerate(rows):
        ids[b, :len(i)] = torch.from_numpy(i)
        mask[b, :len(i)] = 1
        types[b, :len(t)] = torch.from_numpy(t)
    return ids.to(device), mask.to(device), types.to(device)


@torch.no_grad()
def _accuracy(model, rows, labels: np.ndarray, pad: int, device, batch_size: int = 128) -> float:
    model.eval()
    order = np.argsort([len(i) for i, _ in rows], kind="stable")  # less padding
    correct = 0
    for s in range(0, len(order), batch_size):
        sel = order[s:s + batch_size]
        ids, mask, types = _batch([rows[i] for i in sel], pad, device)
        pred = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits.argmax(-1).cpu().numpy()
        correct += int((pred == labels[sel]).sum())
    return correct / max(1, len(rows))


def fine_tune(train: Dataset, out_dir: str | Path, *, init: str | Path, test: Dataset | None = None,
              config: FineTuneConfig | None = None, device="auto", progress=None, cancel=None,
              log=None) -> FineTuneReport:
    """Fine-tune the encoder in ``init`` on ``train`` and save the classifier to ``out_dir``.

    The encoder's weights are loaded into ``AutoModelForSequenceClassification`` (a new, randomly
    initialised classification head on the pooled [CLS] output for BERT-family encoders), the whole
    network is trained with cross-entropy, and the folder gets the model (safetensors), the
    encoder's tokenizer, ``id2label``/``label2id`` from the dataset's class names, the dataset's
    ``segment_names`` (a model fine-tuned on pairs reads pairs) and ``training.json``.

    Args:
        train: labelled training data (one text or pairs). test: optional labelled test data.
        init: a local encoder folder (:func:`open_encoder_folder`).
        config: :class:`FineTuneConfig`. device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: ``progress(done, total, message)`` per batch. cancel: ``threading.Event``.
        log: ``log(str)`` once per epoch (train loss, validation accuracy, elapsed seconds).

    Returns:
        :class:`FineTuneReport` (also in ``out_dir/training.json``).

    Raises:
        InputError: bad ``init`` folder, unlabelled data, fewer than 2 classes, test data with another
            number of texts per row.
        ModelLoadError: the encoder's weights could not be loaded into a sequence classifier.
        Cancelled: ``cancel`` was set.
    """
    from .models import resolve_device

    cfg = config or FineTuneConfig()
    with torch_threads(cfg.threads):
        return _fine_tune(train, Path(out_dir), Path(init), test, cfg, resolve_device(device), progress, cancel, log)


def _fine_tune(train, out, init, test, cfg: FineTuneConfig, device, progress, cancel, log) -> FineTuneReport:
    from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup
    from transformers.utils import logging as hf_logging

    from .mlm import _bucketed

    init, tokenizer, _ = open_encoder_folder(init)
    if train.labels is None:
        raise InputError(f"{train.path}: the training data has no label column")
    if test is not None and test.labels is None:
        raise InputError(f"{test.path}: the test data has no label column")
    if test is not None and test.is_pair != train.is_pair:
        raise InputError(f"{test.path}: the test data has {'two texts' if test.is_pair else 'one text'} per row but the "
                         f"training data {'two' if train.is_pair else 'one'}")
    n_classes = int(max(train.labels.max(), test.labels.max() if test is not None else 0)) + 1
    if n_classes < 2:
        raise InputError("training needs at least two classes")
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    fit, val = train_validation_split(train, fraction=cfg.validation_fraction, seed=cfg.seed)

    limit = int(getattr(tokenizer, "model_max_length", 512) or 512)
    limit = min(limit, 512) if limit < 100_000 else 512
    if cfg.max_length:
        max_length = min(int(cfg.max_length), limit)
    else:
        lengths = [len(i) for i in tokenizer(list(fit.texts), list(fit.pairs) if fit.is_pair else None)["input_ids"]]
        max_length = int(np.clip(max(lengths or [16]), 16, min(limit, FINE_TUNE_MAX_LENGTH)))

    class_names = list(train.class_names) if len(train.class_names) == n_classes else [str(i) for i in range(n_classes)]
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized: classifier.weight": expected, the head is new
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            init, num_labels=n_classes, id2label=dict(enumerate(class_names)),
            label2id={n: i for i, n in enumerate(class_names)}, local_files_only=True, use_safetensors=True)
    except Exception as e:  # noqa: BLE001 - shape mismatch, unsupported architecture
        raise ModelLoadError(f"{init}: the encoder could not be loaded as a sequence classifier "
                             f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from e
    finally:
        hf_logging.set_verbosity(verbosity)
    model.config.segment_names = list(train.segment_names)
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        raise InputError(f"{init}: the tokenizer has {len(tokenizer)} tokens but the encoder's embedding matrix "
                         f"{model.get_input_embeddings().num_embeddings} rows: they do not belong together")
    model.to(device)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    fit_rows, n_trunc = _encode(tokenizer, fit, max_length)
    val_rows, _ = _encode(tokenizer, val, max_length)
    fit_y = np.asarray(fit.labels, dtype=np.int64)
    val_y = np.asarray(val.labels, dtype=np.int64)
    if n_trunc and log is not None:
        log(f"note: {n_trunc} training rows are longer than {max_length} tokens and were truncated")
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [{"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
               "weight_decay": cfg.weight_decay},
              {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
               "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=cfg.lr)
    steps_per_epoch = math.ceil(len(fit_rows) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    sched = get_linear_schedule_with_warmup(opt, int(round(cfg.warmup_fraction * total)), max(total, 1))
    rng = np.random.default_rng(cfg.seed)
    ids_only = [list(i) for i, _ in fit_rows]
    best = BestEpoch(cfg.epochs, t0, log)
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = _bucketed(ids_only, rng.permutation(len(fit_rows)), cfg.batch_size, rng)
        loss_sum = 0.0
        for s in range(0, len(order), cfg.batch_size):
            check_cancel(cancel)
            sel = order[s:s + cfg.batch_size]
            ids, mask, types = _batch([fit_rows[i] for i in sel], pad, device)
            y = torch.from_numpy(fit_y[sel]).to(device)
            out_ = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=y)
            opt.zero_grad(set_to_none=True)
            out_.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            loss_sum += float(out_.loss.detach()) * len(sel)
            if progress is not None:
                progress(step, total, f"epoch {epoch}/{cfg.epochs}")
        best.end_epoch(model, epoch, loss_sum / max(1, len(fit_rows)), _accuracy(model, val_rows, val_y, pad, device))
    best.restore(model)
    test_acc = None
    if test is not None:
        test_rows, n_test_trunc = _encode(tokenizer, test, max_length)
        if n_test_trunc and log is not None:
            log(f"note: {n_test_trunc} test rows are longer than {max_length} tokens and were truncated")
        test_acc = _accuracy(model, test_rows, np.asarray(test.labels, dtype=np.int64), pad, device)
    out.mkdir(parents=True, exist_ok=True)
    # the tokenizer keeps the encoder's maximum (position embeddings are pretrained that far): a
    # longer test sentence than the training ones is read whole, not cut at ``max_length``
    model.to("cpu").save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    report = FineTuneReport(
        test_accuracy=test_acc, validation_accuracy=best.accuracy, best_epoch=best.epoch, n_train=len(fit),
        n_validation=len(val), n_test=len(test) if test is not None else 0, seconds=time.perf_counter() - t0,
        vocab_size=len(tokenizer), max_length=max_length, n_truncated=int(n_trunc), init=str(init.resolve()),
        arch=TRANSFORMER_ARCH, out_dir=str(out), history=best.history)
    write_training_report(out, report, cfg, train, test)
    return report


__all__ = ["FineTuneConfig", "FineTuneReport", "TRANSFORMER_ARCH", "fine_tune", "open_encoder_folder"]
