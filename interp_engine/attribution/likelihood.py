"""Likelihood models p(x̃_i | x_−i) for input marginalization (Kim et al. ``004_137d387c767c1e08.txt``,
§3.2 eq. 2, and the ablation of §4.5: uniform, prior, masked LM).

Every model answers, for a batch of sentences each with one *query* position, a probability
matrix over the **classifier's** vocabulary::

    out = model.predict(input_ids, attention_mask, masked, positions, token_type_ids=None)
    out.probs         # (B, V) float64, rows sum to 1 (or 0 if nothing is left, see below)
    out.dropped_mass  # (B,) float64, probability the raw model put on unusable candidates

``input_ids`` are classifier ids (B, L); ``masked`` (B, L) bool marks the positions the model must
not see (they are replaced by the MLM's [MASK]; the query position is always masked).
``token_type_ids`` (B, L) are the segments of a sentence pair (0 premise, 1 hypothesis; Kim et al.
§4.1 SNLI): a masked LM with segment embeddings reads the pair as its two segments.

Candidates. Kim et al. marginalize over "the vocabulary" 𝒱. We exclude the special tokens of the
classifier's tokenizer ([PAD], [UNK], [MASK], [CLS], [SEP], ...) from 𝒱: they are never a word that
could stand at position i, and [PAD]/[UNK] would bring back the out-of-distribution inputs that
marginalization is meant to avoid. Their probability, and (for a masked LM with a different
vocabulary) the probability of MLM tokens that have no classifier token with the same string, is
removed and reported as ``dropped_mass``; the rest is renormalised to sum to 1.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from ..errors import InputError, ModelLoadError

PRIOR_FILE = "unigram_prior.json"


@dataclass(frozen=True)
class LikelihoodOutput:
    """``probs`` (B, V) float64 over the classifier vocabulary (special tokens 0, rows sum to 1);
    ``dropped_mass`` (B,) float64 in [0, 1]."""

    probs: torch.Tensor
    dropped_mass: torch.Tensor


def candidate_mask(tokenizer, vocab_size: int) -> torch.Tensor:
    """(V,) bool: True for tokens that may be marginalization candidates (every non-special token)."""
    allowed = torch.ones(vocab_size, dtype=torch.bool)
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    for name in ("pad_token_id", "unk_token_id", "mask_token_id", "cls_token_id", "sep_token_id", "bos_token_id", "eos_token_id"):
        v = getattr(tokenizer, name, None)
        if v is not None:
            special.add(int(v))
    for s in special:
        if 0 <= s < vocab_size:
            allowed[s] = False
    return allowed


def _normalise(p: torch.Tensor, allowed: torch.Tensor) -> LikelihoodOutput:
    p = p.double() * allowed.to(p.device, torch.float64)
    kept = p.sum(-1)
    dropped = (1.0 - kept).clamp(0.0, 1.0)
    probs = torch.where(kept[:, None] > 0, p / kept.clamp_min(1e-300)[:, None], torch.zeros_like(p))
    return LikelihoodOutput(probs, dropped)


class LikelihoodModel:
    """Base class. Subclasses implement :meth:`predict`. ``name`` is shown in results."""

    name = "base"

    def __init__(self, classifier):
        self.classifier = classifier
        self.vocab_size = int(classifier.model.get_input_embeddings().num_embeddings)
        self.allowed = candidate_mask(classifier.tokenizer, self.vocab_size)

    def predict(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, masked: torch.Tensor,
                positions: torch.Tensor, token_type_ids: torch.Tensor | None = None
                ) -> LikelihoodOutput:  # pragma: no cover - interface
        raise NotImplementedError


class UniformLikelihood(LikelihoodModel):
    """p(x̃_i | x_−i) = 1/|𝒱'| over the non-special classifier tokens (Kim et al. §4.5 "Uniform")."""

    name = "uniform"

    def predict(self, input_ids, attention_mask, masked, positions, token_type_ids=None) -> LikelihoodOutput:
        B = input_ids.shape[0]
        p = self.allowed.to(torch.float64).expand(B, -1)
        return _normalise(p.to(input_ids.device), self.allowed)


class PriorLikelihood(LikelihoodModel):
    """p(x̃_i | x_−i) = p(x̃_i), the unigram frequency of each classifier token in the training
    data (Kim et al. §4.5 "Prior"); context is ignored.

    Args:
        classifier: the model explained.
        counts: (V,) token counts (specials are ignored). Tokens never seen get probability 0,
            plus ``smoothing`` (add-k) if given.
    """

    name = "prior"

    def __init__(self, classifier, counts: np.ndarray, smoothing: float = 0.0):
        super().__init__(classifier)
        counts = np.asarray(counts, dtype=np.float64)
        if counts.shape != (self.vocab_size,):
            raise InputError(f"prior counts have {counts.shape[0]} entries but the classifier vocabulary has {self.vocab_size}")
        c = torch.as_tensor(counts + smoothing) * self.allowed.to(torch.float64)
        if float(c.sum()) <= 0:
            raise InputError("the prior has no mass on any non-special token: is the data in the model's language?")
        self.prior = c / c.sum()

    @staticmethod
    def count_tokens(tokenizer, texts: Iterable[str], vocab_size: int, max_length: int | None = None, *,
                     progress=None, cancel=None) -> np.ndarray:
        """(V,) int64 token counts of ``texts`` tokenised with ``tokenizer`` (special tokens included),
        1,024 texts at a time; ``cancel`` is checked and ``progress(done, total, msg)`` called between
        them. Raises Cancelled."""
        from ..errors import check_cancel

        counts = np.zeros(vocab_size, dtype=np.int64)
        texts = list(texts)
        for s in range(0, len(texts), 1024):
            check_cancel(cancel)
            enc = tokenizer(texts[s:s + 1024], truncation=max_length is not None, max_length=max_length)["input_ids"]
            ids = np.fromiter((i for seq in enc for i in seq), dtype=np.int64)
            counts += np.bincount(ids, minlength=vocab_size)[:vocab_size]
            if progress is not None:
                progress(min(s + 1024, len(texts)), len(texts), "counting the unigram prior")
        return counts

    @classmethod
    def from_texts(cls, classifier, texts: Iterable[str], smoothing: float = 0.0, *, progress=None,
                   cancel=None) -> "PriorLikelihood":
        V = int(classifier.model.get_input_embeddings().num_embeddings)
        if getattr(classifier, "word_level", False):
            # as Classifier.encode: word tokenizers saved with an NFC-only normalizer count the same words
            from ..models.tokenization import remove_invisible

            texts = [remove_invisible(t) for t in texts]
        return cls(classifier, cls.count_tokens(classifier.tokenizer, texts, V, classifier.max_length,
                                                progress=progress, cancel=cancel), smoothing)

    @classmethod
    def from_dir(cls, classifier, path: str | Path) -> "PriorLikelihood":
        """Read ``unigram_prior.json`` (written by ``interp-studio train-mlm``) from ``path``.

        Raises:
            ModelLoadError: the file is missing or does not fit the classifier's vocabulary.
        """
        f = Path(path) / PRIOR_FILE
        if not f.is_file():
            raise ModelLoadError(f"{f}: no unigram prior here; give --data TRAIN to count one")
        counts = np.asarray(json.loads(f.read_text(encoding="utf-8"))["counts"], dtype=np.float64)
        try:
            return cls(classifier, counts)
        except InputError as e:
            raise ModelLoadError(f"{f}: {e}") from e

    def predict(self, input_ids, attention_mask, masked, positions, token_type_ids=None) -> LikelihoodOutput:
        B = input_ids.shape[0]
        return LikelihoodOutput(self.prior.to(input_ids.device).expand(B, -1).clone(),
                                torch.zeros(B, dtype=torch.float64, device=input_ids.device))


class MaskedLMLikelihood(LikelihoodModel):
    """p(x̃_i | x_−i) from a masked language model (Kim et al. §3.2: BERT's MLM; §4.5 MLM_fine).

    The sentence (classifier ids) is mapped to MLM ids by token string (identity when the two
    vocabularies are the same, e.g. an MLM trained by ``interp-studio train-mlm``); classifier
    tokens the MLM lacks become the MLM's [UNK]. Query and ``masked`` positions become the MLM's
    [MASK]. One forward pass serves the whole batch (B masked copies); the MLM's softmax over its
    own vocabulary is mapped back to classifier tokens of the same string, and the mass of
    unmapped and special tokens is dropped and reported (see the module docstring).

    Args:
        classifier: the model explained.
        mlm: a ``*ForMaskedLM`` model (eval mode is set here).
        mlm_tokenizer: its tokenizer (needs a mask token).
    Raises:
        ModelLoadError: the MLM has no mask token or shares no token with the classifier.
    """

    name = "mlm"

    def __init__(self, classifier, mlm, mlm_tokenizer):
        super().__init__(classifier)
        self.mlm = mlm.eval().to(classifier.device)
        self.mlm_tokenizer = mlm_tokenizer
        if mlm_tokenizer.mask_token_id is None:
            raise ModelLoadError("the masked LM's tokenizer has no [MASK] token")
        self.mlm_mask_id = int(mlm_tokenizer.mask_token_id)
        cls_vocab = classifier.tokenizer.get_vocab()
        mlm_vocab = mlm_tokenizer.get_vocab()
        V_mlm = int(mlm.get_input_embeddings().num_embeddings)
        self.identical = cls_vocab == mlm_vocab and V_mlm == self.vocab_size
        unk = mlm_tokenizer.unk_token_id if mlm_tokenizer.unk_token_id is not None else self.mlm_mask_id
        cls2mlm = torch.full((self.vocab_size,), int(unk), dtype=torch.long)
        mlm2cls = torch.full((V_mlm,), -1, dtype=torch.long)
        for s, ci in cls_vocab.items():
            mi = mlm_vocab.get(s)
            if mi is not None and 0 <= ci < self.vocab_size and 0 <= mi < V_mlm:
                cls2mlm[ci] = mi
                mlm2cls[mi] = ci
        shared = int(((mlm2cls >= 0) & self.allowed[mlm2cls.clamp_min(0)]).sum())
        if shared == 0:
            raise ModelLoadError("the masked LM shares no token with the classifier's vocabulary: choose an MLM "
                                 "trained with the classifier's tokenizer (interp-studio train-mlm)")
        self.shared_tokens = shared
        self.cls2mlm = cls2mlm.to(classifier.device)
        self.mlm2cls = mlm2cls.to(classifier.device)
        self.max_positions = int(getattr(mlm.config, "max_position_embeddings", 10**9))
        #: the MLM has segment embeddings (BERT: ``type_vocab_size`` 2), so a pair is given to it as
        #: its two segments, whatever its tokenizer's ``model_input_names`` say (our word tokenizers
        #: do not list token_type_ids)
        import inspect

        self.reads_segments = (int(getattr(mlm.config, "type_vocab_size", 0) or 0) >= 2
                               and "token_type_ids" in inspect.signature(mlm.forward).parameters)

    @torch.inference_mode()
    def predict(self, input_ids, attention_mask, masked, positions, token_type_ids=None) -> LikelihoodOutput:
        """The MLM's distribution at ``positions`` (B,) of the B sentences ``input_ids`` (B, L).

        The B rows go through the MLM in one forward; when that runs out of GPU memory the rows
        are split into chunks of half the size (and so on, down to 1 row) by
        :func:`interp_engine.batching.run_chunked`: a row's result does not depend on the others.

        Raises:
            InputError: the sentence is longer than the MLM reads.
            torch.OutOfMemoryError: a single row does not fit.
        """
        from ..batching import run_chunked

        dev = self.classifier.device
        ids = self.cls2mlm[input_ids.to(dev)]
        B = ids.shape[0]
        pos = positions.to(dev)
        m = masked.to(dev).clone()
        m[torch.arange(B, device=dev), pos] = True
        ids = ids.masked_fill(m, self.mlm_mask_id)
        if ids.shape[1] > self.max_positions:
            raise InputError(f"the sentence has {ids.shape[1]} tokens but the masked LM reads at most {self.max_positions}")
        attn = attention_mask.to(dev)
        with_types = self.reads_segments
        types = torch.zeros_like(ids) if token_type_ids is None else token_type_ids.to(dev).expand_as(ids)

        def forward(a: int, b: int) -> torch.Tensor:
            kw = {"attention_mask": attn[a:b]}
            if with_types:
                kw["token_type_ids"] = types[a:b]
            logits = self.mlm(input_ids=ids[a:b], **kw).logits
            return logits[torch.arange(b - a, device=dev), pos[a:b]].double()  # (b - a, V_mlm)

        if B == 0:
            sel = torch.zeros(0, int(self.mlm2cls.shape[0]), dtype=torch.float64, device=dev)
        else:
            sel, _ = run_chunked(B, forward, B)  # (B, V_mlm); halved on out-of-memory
        p_mlm = torch.softmax(sel, -1)
        if self.identical:
            p = p_mlm
        else:
            p = torch.zeros(B, self.vocab_size, dtype=torch.float64, device=dev)
            ok = self.mlm2cls >= 0
            p[:, self.mlm2cls[ok]] = p_mlm[:, ok]
        return _normalise(p, self.allowed.to(dev))


def load_mlm_likelihood(path: str | Path, classifier) -> MaskedLMLikelihood:
    """Open a local masked-LM directory (``AutoModelForMaskedLM``, ``local_files_only=True``, never
    ``trust_remote_code``) as the likelihood model of ``classifier``.

    Raises:
        ModelLoadError: not a directory, not a masked LM, no tokenizer, or no shared vocabulary.
    """
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    p = Path(path).expanduser()
    if not (p / "config.json").is_file():
        raise ModelLoadError(f"{p}: not a saved masked language model folder (no config.json)")
    if not any(p.glob("*.safetensors")):
        raise ModelLoadError(f"{p}: the masked LM has no safetensors weights (model.safetensors); pickle weights "
                             "(pytorch_model.bin) are not opened for a likelihood model. Save it with "
                             "save_pretrained (safetensors is the default).")
    try:
        mlm = AutoModelForMaskedLM.from_pretrained(p, local_files_only=True, use_safetensors=True)
        tok = AutoTokenizer.from_pretrained(p, local_files_only=True)
    except Exception as e:  # unknown architecture, bad weights, no tokenizer
        raise ModelLoadError(f"{p}: cannot open the masked LM ({type(e).__name__}: {e})") from e
    return MaskedLMLikelihood(classifier, mlm, tok)
