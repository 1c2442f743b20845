"""A word-level masked language model on the classifier's own vocabulary, the likelihood model
p(x̃_i | x_−i) of input marginalization (Kim et al. ``004_137d387c767c1e08.txt`` §3.2 eq. 2;
§4.5 shows that a likelihood model fitted to the task's text, MLM_fine, gives the most reasonable
attributions).

A small ``BertForMaskedLM`` is built from a ``BertConfig`` (nothing is downloaded), trained on the
training texts tokenised with the classifier's tokenizer (BERT's recipe: 15% of tokens selected,
of which 80% become [MASK], 10% a random word, 10% stay), and saved with that same tokenizer
(``save_pretrained``, safetensors), plus ``unigram_prior.json`` (token counts of the training
texts, for the ``prior`` likelihood of §4.5) and ``mlm_training.json`` (the report). Our word
tokenizer has no [CLS]/[SEP]; the MLM reads the bare sentence. Trained on sentence pairs (SNLI), the
MLM gets segment embeddings (``type_vocab_size`` 2) and reads premise and hypothesis as its two
segments, as BERT reads ``[CLS] p [SEP] h [SEP]`` (Kim et al. §4.1).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .environment import environment
from .errors import InputError, check_cancel


@dataclass
class MLMConfig:
    """Hyper-parameters of :func:`train_mlm` (the CLI's defaults).

    ``init_from_classifier``: initialise the MLM's word embeddings (tied with its output layer,
    BERT's default) from the classifier's embedding matrix, projected onto its top
    ``hidden_size`` principal components when the sizes differ, and scaled to an element std of
    0.02 (BERT's ``initializer_range``). Words that mean alike then start close together in both
    the input and the output layer, which is what a 120k-token corpus cannot teach a 13k-word
    softmax from scratch. ``bucket_batches``: batches of sentences of similar length (less
    padding, about 2x faster on SST-2); the order of the batches is still shuffled every epoch.

    Measured on sst2/train.tsv (6,573 training / 346 held-out sentences, V = 13,205, one shared CPU
    core): these defaults (24 epochs, 11.5 min) reach held-out masked-token accuracy 0.283 and
    perplexity 142 and keep ~4,000 candidates per token at σ = 1e-5; the former defaults trained
    for 4 epochs from a random init reached 0.117 / 540 / ~7,100 (BENCHMARKS.md).
    """

    epochs: int = 24
    seed: int = 1
    hidden_size: int = 192
    num_layers: int = 3
    num_heads: int = 3
    intermediate_size: int = 768
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    mask_prob: float = 0.15
    heldout_fraction: float = 0.05
    init_from_classifier: bool = True
    bucket_batches: bool = True
    #: CPU threads while training (None: torch's setting); one, as in every training recipe
    #: (:func:`~interp_engine.training.torch_threads`)
    threads: int | None = 1


@dataclass
class MLMReport:
    """``heldout_accuracy``: masked-token top-1 accuracy on the held-out split (every selected
    token replaced by [MASK], special tokens never predicted); ``heldout_perplexity``: exp of the
    mean cross-entropy on those tokens."""

    out_dir: str
    n_train: int
    n_heldout: int
    vocab_size: int
    epochs: int
    heldout_accuracy: float
    heldout_perplexity: float
    seconds: float

    def to_json(self) -> dict:
        return asdict(self)


def _mask_tokens(ids: torch.Tensor, attn: torch.Tensor, allowed: torch.Tensor, mask_id: int, gen: torch.Generator,
                 prob: float, eval_mode: bool = False):
    """BERT masking: returns (inputs, labels) with labels -100 where nothing is predicted."""
    cand = attn.bool() & allowed[ids]
    sel = (torch.rand(ids.shape, generator=gen) < prob) & cand
    # guarantee one prediction per sentence that has a candidate
    none = ~sel.any(1) & cand.any(1)
    if none.any():
        r = torch.rand(ids.shape, generator=gen).masked_fill(~cand, -1.0)
        sel[none, r[none].argmax(1)] = True
    labels = ids.masked_fill(~sel, -100)
    inputs = ids.clone()
    if eval_mode:
        inputs[sel] = mask_id
        return inputs, labels
    u = torch.rand(ids.shape, generator=gen)
    inputs[sel & (u < 0.8)] = mask_id
    rnd = sel & (u >= 0.8) & (u < 0.9)
    words = allowed.nonzero(as_tuple=True)[0]
    inputs[rnd] = words[torch.randint(len(words), (int(rnd.sum()),), generator=gen)]
    return inputs, labels


def _bucketed(ids: list[list[int]], order: np.ndarray, bs: int, rng: np.random.Generator) -> np.ndarray:
    """``order`` regrouped so that each run of ``bs`` holds sentences of similar length: sort by
    length within windows of 50 batches, then shuffle the batches (not the sentences in them)."""
    win = bs * 50
    groups = []
    for s in range(0, len(order), win):
        w = order[s:s + win]
        w = w[np.argsort([len(ids[i]) for i in w], kind="stable")]
        groups.extend(w[a:a + bs] for a in range(0, len(w), bs))
    perm = rng.permutation(len(groups))
    return np.concatenate([groups[g] for g in perm]) if groups else order


def _init_embeddings(model, classifier, allowed: torch.Tensor, std: float) -> None:
    """Copy the classifier's (V, D) word embeddings into the MLM's (V, H) ones (PCA to H dims
    when D != H, zero-mean, element std ``std``); special tokens keep their random rows."""
    E = classifier.model.get_input_embeddings().weight.detach().double().cpu()
    W = model.get_input_embeddings().weight
    H = W.shape[1]
    words = allowed.nonzero(as_tuple=True)[0]
    X = E[words] - E[words].mean(0, keepdim=True)
    if X.shape[1] != H:
        # principal directions; if D < H the extra dims are zero-padded
        _, _, Vt = torch.linalg.svd(X, full_matrices=False)
        k = min(H, Vt.shape[0])
        Y = torch.zeros(X.shape[0], H, dtype=X.dtype)
        Y[:, :k] = X @ Vt[:k].T
    else:
        Y = X
    Y = Y * (std / Y.std().clamp_min(1e-12))
    with torch.no_grad():
        W[words] = Y.to(W.dtype)


def _batches(ids: list[list[int]], order: np.ndarray, bs: int, pad: int, types: list[list[int]] | None = None):
    """``(input_ids, attention_mask, token_type_ids)`` (B, L) batches of the rows ``order``."""
    for s in range(0, len(order), bs):
        sel = order[s:s + bs]
        rows = [ids[i] for i in sel]
        L = max(1, max(len(r) for r in rows))
        x = torch.full((len(rows), L), pad, dtype=torch.long)
        m = torch.zeros((len(rows), L), dtype=torch.long)
        t = torch.zeros((len(rows), L), dtype=torch.long)
        for b, r in enumerate(rows):
            x[b, :len(r)] = torch.tensor(r, dtype=torch.long)
            m[b, :len(r)] = 1
            if types is not None:
                t[b, :len(r)] = torch.tensor(types[sel[b]], dtype=torch.long)
        yield x, m, t


def _masked_logits(model, x, m, labels, t=None):
    t = torch.zeros_like(x) if t is None else t
    hidden = model.bert(input_ids=x, attention_mask=m, token_type_ids=t).last_hidden_state
    sel = labels != -100
    return model.cls(hidden[sel]), labels[sel]


def _evaluate(model, ids, held, allowed, mask_id, pad, dev, seed: int, prob: float,
              types=None) -> tuple[float, float, int]:
    """(accuracy, perplexity, count) on the held-out sentences, each selected token → [MASK]."""
    model.eval()
    egen = torch.Generator().manual_seed(seed)
    nll, correct, count = 0.0, 0, 0
    with torch.inference_mode():
        for x, m, t in _batches(ids, held, 256, pad, types):
            inp, labels = _mask_tokens(x, m, allowed, mask_id, egen, prob, eval_mode=True)
            logits, y = _masked_logits(model, inp.to(dev), m.to(dev), labels.to(dev), t.to(dev))
            logits = logits.masked_fill(~allowed.to(dev), float("-inf"))
            nll += float(torch.nn.functional.cross_entropy(logits.float(), y, reduction="sum"))
            correct += int((logits.argmax(-1) == y).sum())
            count += int(y.numel())
    return correct / max(count, 1), math.exp(nll / max(count, 1)), count


@dataclass
class PretrainedMLMConfig:
    """Hyper-parameters of :func:`train_mlm` with ``init`` (``train-mlm --init DIR``): a WordPiece
    ``BertForMaskedLM`` whose encoder starts from a pretrained encoder folder.

    The prediction head (dense + LayerNorm + output bias; its output matrix is tied to the
    pretrained word embeddings, BERT's default) is new and learns at ``head_lr``; the encoder is
    fine-tuned at the smaller ``lr`` (``freeze_encoder``: not at all), both with linear warm-up
    (``warmup_fraction``) and linear decay. ``max_length``: training texts are cut to this many
    tokens (the model keeps the encoder's position embeddings, so it reads longer inputs).
    Measured: BENCHMARKS.md "Transformers".
    """

    epochs: int = 3
    seed: int = 1
    batch_size: int = 32
    lr: float = 5e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    mask_prob: float = 0.15
    heldout_fraction: float = 0.05
    freeze_encoder: bool = False
    max_length: int = 128
    bucket_batches: bool = True
    threads: int | None = 1  # as MLMConfig.threads


def _pretrained_mlm(init: Path, cfg: PretrainedMLMConfig):
    """``(model, tokenizer)``: ``BertForMaskedLM`` with the encoder of ``init`` (a new head).

    Raises:
        InputError: ``init`` is not a usable encoder folder (:func:`~interp_engine.finetune.open_encoder_folder`),
            its tokenizer has no [MASK] token, or it is not a BERT-family encoder.
    """
    from transformers import AutoModelForMaskedLM
    from transformers.utils import logging as hf_logging

    from .finetune import open_encoder_folder

    init, tok, config = open_encoder_folder(init)
    if tok.mask_token_id is None:
        raise InputError(f"{init}: the tokenizer has no [MASK] token, so no masked LM can be built on it")
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the new head's "newly initialized" weights are expected
    try:
        model = AutoModelForMaskedLM.from_pretrained(init, local_files_only=True, use_safetensors=True)
    except Exception as e:  # noqa: BLE001 - unsupported architecture, shape mismatch
        raise InputError(f"{init}: the encoder could not be loaded as a masked LM ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''})") from e
    finally:
        hf_logging.set_verbosity(verbosity)
    if not hasattr(model, "bert") or not hasattr(model, "cls"):
        raise InputError(f"{init}: a {type(model).__name__}; train-mlm --init builds BERT-family masked LMs "
                         f"(BertForMaskedLM), the likelihood model's architecture")
    return model, tok


def train_mlm(texts: Sequence, classifier_dir: str | Path | None, out_dir: str | Path, *,
              config: MLMConfig | PretrainedMLMConfig | None = None, init: str | Path | None = None,
              device="auto", progress: Callable[[int, int, str], None] | None = None, cancel=None,
              log: Callable[[str], None] | None = None, allow_pickle: bool = False) -> MLMReport:
    """Train the masked LM (likelihood model of input marginalization, Kim et al. §3.2 eq. 2) and
    save it to ``out_dir``.

    Two kinds:

    - **word-level** (``classifier_dir``, :class:`MLMConfig`): a small BERT from a config on the
      classifier's own tokenizer (the classifier's embeddings may initialise its word embeddings);
    - **pretrained WordPiece** (``init``, :class:`PretrainedMLMConfig`): ``BertForMaskedLM`` whose
      encoder is the pretrained encoder in ``init`` and whose prediction head is trained on
      ``texts``; it is saved with the encoder's tokenizer, so every classifier with that tokenizer
      (``train --arch transformer --init``, ``train --tokenizer``) shares this one likelihood model,
      as Kim et al. (§4.1) share BERT's. ``classifier_dir`` is then not needed (None).

    Args:
        texts: training sentences (the classifier's training set): strings, or
            :class:`~interp_engine.inputs.TextInput` pairs (``Dataset.inputs()`` of a pair dataset),
            then the MLM reads both texts as its two segments.
        classifier_dir: a saved classifier; its tokenizer (and max length) is used and saved.
        config: :class:`MLMConfig` (word-level) or :class:`PretrainedMLMConfig` (``init``).
        init: a local pretrained encoder folder (BERT family).
        progress: ``progress(done, total, message)`` per batch; log: ``log(str)``, called once per
            epoch with one line (held-out accuracy and perplexity, elapsed seconds; computing them
            costs one pass over the held-out split), the progress of a run whose output goes to a file.

    Returns:
        :class:`MLMReport` (also written to ``out_dir/mlm_training.json``): held-out masked-token
        accuracy (fraction) and perplexity (exp of the mean cross-entropy in nats).

    Raises:
        InputError: fewer than 20 non-empty texts, a tokenizer without a [MASK] token, neither or
            both of ``classifier_dir`` and ``init``, a bad ``init`` folder.
        ModelLoadError: the classifier cannot be opened.
    """
    from .training import torch_threads

    if (classifier_dir is None) == (init is None):
        raise InputError("train-mlm needs either a classifier (--model DIR: a word-level MLM on its tokenizer) or a "
                         "pretrained encoder (--init DIR: a WordPiece MLM), not both")
    pretrained = init is not None
    cfg = config or (PretrainedMLMConfig() if pretrained else MLMConfig())
    with torch_threads(cfg.threads):
        return _train_mlm(texts, classifier_dir, out_dir, cfg, init, pretrained, device, progress, cancel, log,
                          allow_pickle)


def _train_mlm(texts, classifier_dir, out_dir, cfg, init, pretrained: bool, device, progress, cancel, log,
               allow_pickle: bool) -> MLMReport:
    from transformers import BertConfig, BertForMaskedLM

    from .attribution.likelihood import PRIOR_FILE, PriorLikelihood, candidate_mask
    from .inputs import TextInput
    from .models import load_classifier, resolve_device

    t0 = time.perf_counter()
    if pretrained:
        model, tok = _pretrained_mlm(Path(init), cfg)
        V = int(model.get_input_embeddings().num_embeddings)
        max_len = int(cfg.max_length)
        clf = None
    else:
        clf = load_classifier(classifier_dir, device="cpu", allow_pickle=allow_pickle)
        tok = clf.tokenizer
        if tok.mask_token_id is None:
            raise InputError("the classifier's tokenizer has no [MASK] token, so no masked LM can be trained on it")
        V = int(clf.model.get_input_embeddings().num_embeddings)
        max_len = clf.max_length

    inputs = [TextInput.of(t) for t in texts]
    inputs = [x for x in inputs if all(t and t.strip() for t in x.texts)]
    if len(inputs) < 20:
        raise InputError(f"need at least 20 training sentences for the masked LM, got {len(inputs)}")
    pairs = any(x.is_pair for x in inputs)
    if pairs and not all(x.is_pair for x in inputs):
        raise InputError("the masked LM's training data mixes single texts and pairs")
    enc = tok([x.texts[0] for x in inputs], [x.texts[1] for x in inputs] if pairs else None, truncation=True,
              max_length=max_len, return_token_type_ids=True)
    ids = list(enc["input_ids"])
    # a pretrained BERT always reads its token types (0 for one text); our word MLM only for pairs
    types = list(enc["token_type_ids"]) if (pairs or pretrained) else None
    texts = [t for x in inputs for t in x.texts]  # for the unigram prior: every text counts
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    allowed = candidate_mask(tok, V)

    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(len(ids))
    n_held = max(1, int(round(cfg.heldout_fraction * len(ids))))
    held, train = perm[:n_held], perm[n_held:]

    torch.manual_seed(cfg.seed)
    dev = resolve_device(device)
    if not pretrained:
        bcfg = BertConfig(vocab_size=V, hidden_size=cfg.hidden_size, num_hidden_layers=cfg.num_layers,
                          num_attention_heads=cfg.num_heads, intermediate_size=cfg.intermediate_size,
                          max_position_embeddings=max_len + 2, type_vocab_size=2 if pairs else 1, pad_token_id=pad,
                          hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
        model = BertForMaskedLM(bcfg)
        if cfg.init_from_classifier:
            _init_embeddings(model, clf, allowed, bcfg.initializer_range)
    elif pairs and int(getattr(model.config, "type_vocab_size", 1)) < 2:
        raise InputError(f"{init}: the encoder has one token type, so it cannot read pairs as two segments")
    model.to(dev)
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    if pretrained:
        head = [p for n, p in model.named_parameters() if n.startswith("cls.") and p is not model.get_input_embeddings().weight]
        head_ids = {id(p) for p in head}
        encoder = [p for p in model.parameters() if id(p) not in head_ids]
        if cfg.freeze_encoder:
            for p in encoder:
                p.requires_grad_(False)
        groups = [{"params": head, "lr": cfg.head_lr}] + ([] if cfg.freeze_encoder else [{"params": encoder, "lr": cfg.lr}])
        opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
        from transformers import get_linear_schedule_with_warmup

        sched = get_linear_schedule_with_warmup(opt, int(round(cfg.warmup_fraction * total)), max(total, 1))
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(total, 1), pct_start=0.1)
    gen = torch.Generator().manual_seed(cfg.seed)
    step = 0
    for ep in range(cfg.epochs):
        model.train()
        order = train[rng.permutation(len(train))]
        if cfg.bucket_batches:
            order = _bucketed(ids, order, cfg.batch_size, rng)
        for x, m, t in _batches(ids, order, cfg.batch_size, pad, types):
            check_cancel(cancel)
            inp, labels = _mask_tokens(x, m, allowed, tok.mask_token_id, gen, cfg.mask_prob)
            logits, y = _masked_logits(model, inp.to(dev), m.to(dev), labels.to(dev), t.to(dev))
            loss = torch.nn.functional.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            opt.step()
            sched.step()
            step += 1
            if progress is not None:
                progress(step, total, f"MLM epoch {ep + 1}/{cfg.epochs}")
        if log is not None:
            acc, ppl, _ = _evaluate(model, ids, held, allowed, tok.mask_token_id, pad, dev, cfg.seed + 1, cfg.mask_prob,
                                    types)
            log(f"epoch {ep + 1}/{cfg.epochs}: last batch loss {float(loss.detach()):.3f}, held-out accuracy {acc:.4f}, "
                f"perplexity {ppl:.1f} ({time.perf_counter() - t0:.0f} s)")

    acc, ppl, count = _evaluate(model, ids, held, allowed, tok.mask_token_id, pad, dev, cfg.seed + 1, cfg.mask_prob,
                                types)

    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    for p in model.parameters():
        p.requires_grad_(True)
    model.cpu().save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    n_seg = 2 if pairs else 1
    counts = PriorLikelihood.count_tokens(tok, [texts[n_seg * i + s] for i in train for s in range(n_seg)], V, max_len)
    (out / PRIOR_FILE).write_text(json.dumps({"counts": counts.tolist(), "n_sentences": int(len(train))}), encoding="utf-8")
    report = MLMReport(str(out), int(len(train)), int(len(held)), V, cfg.epochs,
                       acc, ppl, time.perf_counter() - t0)
    source = {"init": str(Path(init).expanduser().resolve())} if pretrained else \
        {"classifier": str(Path(classifier_dir).resolve())}
    (out / "mlm_training.json").write_text(json.dumps({**report.to_json(), "config": asdict(cfg), **source,
                                                       "environment": environment()}, indent=1),
                                           encoding="utf-8")
    return report
