"""One interface over every classifier the app opens.

:class:`Classifier` wraps a Hugging Face sequence classifier and its tokenizer and gives the
interpretation methods what they need, whatever the architecture: encoding with token strings
and offsets, word embeddings, logits from embeddings, and the hidden layers whose spatial
locations the saliency grid shows (Yuan et al. ``001_e80f9d2c7d254978.txt`` eq. 1-3), each with
its receptive field.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from ..errors import InputError, ModelLoadError
from ..hashing import model_folder_hash
from .family import family_of
from .tokenization import continuation_prefix, is_word_level, strip_invisible

if TYPE_CHECKING:
    from ..inputs import TextInput

ProgressFn = Callable[[int, int, str], None]

#: start of the message of a model refused because its weights are only a pickle (the app then
#: asks the user whether to allow it)
PICKLE_REFUSED = "the weights are only a pickle file (pytorch_model.bin)"


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Map ``"auto"``/None to CUDA when available, else CPU; validate an explicit device.

    Raises:
        InputError: an unknown device name, or ``"cuda"`` on a machine without CUDA.
    """
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise InputError(f"unknown device {device!r}: use auto, cpu or cuda") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("CUDA was asked for but no CUDA device is available; use the CPU (--device cpu)")
    return dev


#: Unicode categories that show nothing: separators, control and format characters (zero-width
#: space/joiners, direction marks, the byte-order mark)
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def has_visible_text(text: str) -> bool:
    """True when ``text`` has a character that is not whitespace, control or format (invisible)."""
    import unicodedata

    return any(not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE for ch in str(text))


@dataclass(frozen=True)
class EncodedBatch:
    """Tokenised sentences, padded on the right.

    Attributes:
        input_ids: (B, L) int64.
        attention_mask: (B, L) int64, 1 for real tokens.
        tokens: per sentence, the display string of each real token (surface text for
            word-level models, so unknown words show as typed; wordpieces for transformers).
        offsets: per sentence, (start, end) character offsets of each token in the text
            ((0, 0) for special tokens).
        special: per sentence, bool per token: True for [CLS]/[SEP]-like tokens.
        truncated: per sentence, True when the text was longer than the model's max length.
        token_type_ids: (B, L) int64 segment index of each token (0 for a single text; the
            second text of a pair is segment 1), or None for single-text models without segments.
        segments: per sentence, the text each token belongs to: 0 = the first text, 1 = the second
            text of a pair, -1 = a special token ([CLS], [SEP]). ``offsets`` of a token point into
            the text of its segment.
        segment_names: the name of each text (``("text",)``, ``("premise", "hypothesis")``).
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    tokens: list[list[str]]
    offsets: list[list[tuple[int, int]]]
    special: list[list[bool]]
    truncated: list[bool]
    token_type_ids: torch.Tensor | None = None
    segments: list[list[int]] | None = None
    segment_names: tuple[str, ...] = ("text",)
    #: the :class:`~interp_engine.inputs.TextInput` of each sentence
    inputs: tuple = ()

    def segment_fields(self, b: int = 0) -> dict:
        """The segment fields of a result about sentence ``b``: ``segments`` (n,) int64,
        ``segment_names`` and ``texts`` (both texts of a pair; ``()`` for one text)."""
        inp = self.inputs[b] if self.inputs else None
        return dict(segments=np.asarray(self.segments[b], dtype=np.int64) if self.segments is not None else None,
                    segment_names=tuple(self.segment_names),
                    texts=tuple(inp.texts) if inp is not None and inp.is_pair else ())

    def lengths(self) -> list[int]:
        return [len(t) for t in self.tokens]

    @property
    def is_pair(self) -> bool:
        return len(self.segment_names) == 2

    def types(self, b: int = 0) -> torch.Tensor | None:
        """``token_type_ids`` of sentence ``b`` as a (1, L) tensor (or None): what the forward passes
        of a perturbed copy of that sentence take (they broadcast over the copies)."""
        return None if self.token_type_ids is None else self.token_type_ids[b : b + 1]


@dataclass(frozen=True)
class HiddenLayerSpec:
    """One row of the saliency grid.

    Attributes:
        name: label shown in the grid (e.g. ``conv1``, ``lstm1 →``, ``layer 3``).
        hidden_index: index into the model's ``hidden_states`` tuple.
        channels: slice of the channel dimension that belongs to this row.
        receptive: how a location's receptive field is computed: ``("conv", radius)`` gives
            [i - radius, i + radius]; ``("prefix",)`` [0, i]; ``("suffix",)`` [i, n-1];
            ``("all",)`` [0, n-1].
        within_segment: the location sees only the tokens of its own segment (our pair models:
            first and last above are those of the location's segment, not of the whole input).
    """

    name: str
    hidden_index: int
    channels: slice
    receptive: tuple
    within_segment: bool = False

    def receptive_fields(self, n_tokens: int, segments=None) -> np.ndarray:
        """Receptive field of every location, (n_tokens, 2) int: inclusive [first, last] token.

        Args:
            n_tokens: tokens of the input (both texts of a pair).
            segments: (n_tokens,) segment of each token (``EncodedBatch.segments[b]``); with
                ``within_segment`` the field is clipped to the run of tokens of the location's
                segment (a pair model's location never sees the other text). A special token
                (segment -1: a WordPiece pair's ``[CLS] p [SEP] h [SEP]``) counts in the segment of
                the text before it (a leading [CLS] in the first text's), as BERT's
                ``token_type_ids`` (0 for ``[CLS] p [SEP]``, 1 for ``h [SEP]``), by which the pair
                model splits its input, put it.
        """
        i = np.arange(n_tokens)
        first, last = np.zeros_like(i), np.full_like(i, n_tokens - 1)
        if self.within_segment and segments is not None and n_tokens:
            seg = _specials_joined(np.asarray(segments)[:n_tokens])
            for s in np.unique(seg):
                where = np.flatnonzero(seg == s)
                first[where], last[where] = where.min(), where.max()
        kind = self.receptive[0]
        if kind == "conv":
            r = self.receptive[1]
            lo, hi = np.maximum(i - r, first), np.minimum(i + r, last)
        elif kind == "prefix":
            lo, hi = first, i
        elif kind == "suffix":
            lo, hi = i, last
        else:
            lo, hi = first, last
        return np.stack([lo, hi], axis=1).astype(np.int64)


def _specials_joined(seg: np.ndarray) -> np.ndarray:
    """``seg`` (n,) with each -1 (special token) replaced by the segment before it (leading ones: the
    first segment after them): the token types of BERT's ``[CLS] p [SEP] h [SEP]``."""
    seg = np.asarray(seg, dtype=np.int64).copy()
    real = np.flatnonzero(seg >= 0)
    if len(real) == 0:
        return np.zeros_like(seg)
    prev = np.maximum.accumulate(np.where(seg >= 0, np.arange(len(seg)), -1))
    seg = np.where(prev >= 0, seg[np.maximum(prev, 0)], seg[real[0]])
    return seg


class Classifier:
    """A loaded text classifier (any architecture) with its tokenizer, on one device.

    Use :func:`load_classifier` to open a saved directory. All tensors returned live on
    ``self.device``.
    """

    def __init__(self, model: torch.nn.Module, tokenizer, *, path: Path | None = None, device="auto"):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.path = Path(path) if path is not None else None
        self.device = resolve_device(device)
        self.model.to(self.device)
        cfg = model.config
        #: the architecture's rules (:mod:`interp_engine.models.family`); ``kind`` is its name
        self.family = family_of(model)
        self.kind = self.family.name
        n = cfg.num_labels
        id2label = getattr(cfg, "id2label", None) or {}
        names = [str(id2label.get(i, id2label.get(str(i), i))) for i in range(n)]
        # HF's placeholder names LABEL_0.. carry no information: show "0", "1", ...
        self.class_names = tuple(str(i) if nm == f"LABEL_{i}" else nm for i, nm in enumerate(names))
        self.max_length = self._max_length()
        self._hash: str | None = None

    # -- identity ---------------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return int(self.model.config.num_labels)

    @property
    def content_hash(self) -> str:
        """sha256 (hex, 64 chars) identifying the model, for the result cache, the search index's
        prediction cache, ``ModelInfo.content_hash`` and figure sidecars.

        For a model opened from a folder this is :func:`interp_engine.hashing.model_folder_hash`
        of the folder (weights, config and tokenizer files) -- the same value a sidecar records,
        so the app can take it from ``ModelInfo`` instead of hashing the folder again. It is
        computed once, on first access (``Engine.load_model`` asks for it in the engine worker,
        right after loading). A model built in memory (no folder) hashes its state dict instead.
        """
        if self._hash is None:
            self._hash = ""
            if self.path is not None and self.path.is_dir():
                try:
                    self._hash = model_folder_hash(self.path)
                except InputError:  # a folder without model files: fall back to the weights
                    self._hash = ""
            if not self._hash:
                h = hashlib.sha256()
                for k, v in self.model.state_dict().items():
                    h.update(k.encode())
                    h.update(v.detach().cpu().numpy().tobytes())
                self._hash = h.hexdigest()
        return self._hash

    def to(self, device) -> "Classifier":
        """Move the model to ``device`` (``"cpu"``, ``"cuda"``, ``"auto"``)."""
        self.device = resolve_device(device)
        self.model.to(self.device)
        return self

    def _max_length(self) -> int:
        cfg = self.model.config
        candidates = [getattr(cfg, "max_seq_length", None) if self.family.config_max_length else None,
                      getattr(cfg, "max_position_embeddings", None),
                      getattr(self.tokenizer, "model_max_length", None)]
        vals = [int(v) for v in candidates if isinstance(v, (int, float)) and 0 < v < 100_000]
        return min(vals) if vals else 512

    # -- tokens -----------------------------------------------------------------------------
    @property
    def word_level(self) -> bool:
        """True when the model reads whole words: a family of word models (TextCNN, BiLSTM) with a
        word-level tokenizer (:func:`~.tokenization.build_word_tokenizer`). Its display tokens are
        the words as typed (unknown words too) and invisible format characters are removed before
        tokenizing. False for sub-word tokenizers (a TextCNN/BiLSTM trained with ``train
        --tokenizer``, transformers): their display tokens are the pieces (``##ing``)."""
        return bool(self.family.word_level) and is_word_level(self.tokenizer)

    @property
    def word_pieces(self) -> bool:
        """True when the tokens are WordPiece pieces whose continuations start with ``##`` (BERT
        tokenizers; what :func:`interp_engine.wordpieces.merge_word_pieces` merges into words)."""
        return continuation_prefix(self.tokenizer) is not None

    @property
    def special_tokens(self) -> bool:
        """True when the tokenizer wraps inputs in sentence markers ([CLS] … [SEP], <s> … </s>):
        transformers, and our models trained with a WordPiece tokenizer."""
        if self.family.special_tokens:
            return True
        try:
            return int(self.tokenizer.num_special_tokens_to_add(pair=False)) > 0
        except Exception:  # a tokenizer without a post-processor
            return False

    # -- segments ---------------------------------------------------------------------------
    @property
    def segment_names(self) -> tuple[str, ...] | None:
        """The texts the model reads, from ``config.segment_names``: ``("premise", "hypothesis")``
        for a pair model, ``("text",)`` for a single-text one; None for a Hugging Face model whose
        config does not say (it reads either: ``[CLS] a [SEP] b [SEP]``)."""
        names = getattr(self.model.config, "segment_names", None)
        if names:
            return tuple(str(n) for n in names)
        return None if self.family.native_pairs else ("text",)

    @property
    def reads_pairs(self) -> bool:
        """True when the model is a sentence-pair model (two segment names)."""
        names = self.segment_names
        return names is not None and len(names) == 2

    def check_input(self, pair: bool) -> None:
        """Raise :class:`InputError` (one sentence for the user) when a pair is given to a single-text
        model or one text to a pair model."""
        names = self.segment_names
        if names is None:
            return
        if pair and len(names) == 1:
            raise InputError("this model reads one text, but a pair of texts was given (premise and hypothesis): "
                             "give one sentence, or open a model trained on pairs")
        if not pair and len(names) == 2:
            raise InputError(f"this model reads a pair of texts ({names[0]} and {names[1]}), but one text was given: "
                             f"give both")

    # -- tokenisation -----------------------------------------------------------------------
    def encode(self, texts: Sequence["str | TextInput"], *, allow_empty: bool = False) -> EncodedBatch:
        """Tokenise ``texts`` (strings, or :class:`~interp_engine.inputs.TextInput` single texts or
        pairs; truncating to ``max_length``, the longer text of a pair first) into a padded batch
        on the device.

        A pair is tokenised by the model's own tokenizer as a pair (``tokenizer(first, second)``:
        ``[CLS] premise [SEP] hypothesis [SEP]`` with ``token_type_ids`` 0/1 for BERT-like
        tokenizers; premise tokens then hypothesis tokens, types 0/1, for our word tokenizers), and
        ``segments`` says which text each token is from.

        Raises:
            InputError: a text has no token, or only spaces and invisible characters (zero-width,
                direction or control marks), and ``allow_empty`` is False; a batch mixing single
                texts and pairs; a pair for a single-text model or one text for a pair model
                (:meth:`check_input`).
        """
        from ..inputs import SINGLE_SEGMENTS, TextInput

        inputs = [TextInput.of(t) for t in texts]
        pair = bool(inputs) and inputs[0].is_pair
        if any(x.is_pair != pair for x in inputs):
            raise InputError("a batch mixes single texts and pairs of texts")
        self.check_input(pair)
        names = inputs[0].segments if inputs else SINGLE_SEGMENTS
        n_seg = 2 if pair else 1
        tok = self.tokenizer
        if not allow_empty:
            for x in inputs:
                for name, text in zip(x.segments, x.texts):
                    if not has_visible_text(text):
                        what = "the sentence is" if not pair else f"the {name} is"
                        raise InputError(f"{what} empty: it has only spaces or invisible characters "
                                         "(zero-width, direction or control marks); type at least one word")
        word_level = self.word_level
        columns = [[str(x.texts[s]) for x in inputs] for s in range(n_seg)]  # texts per segment
        if word_level:
            # invisible format characters (zero-width space/joiners, soft hyphen, BOM, direction
            # marks) are removed before tokenizing, as the normalizer of new word tokenizers does,
            # so tokenizers saved with NFC only split "worst\u200bfilm" the same way; offsets are
            # mapped back to the text as given
            stripped = [[strip_invisible(t) for t in col] for col in columns]
            tok_cols = [[c for c, _ in col] for col in stripped]
        else:
            tok_cols = columns  # WordPiece/BPE normalizers handle these characters themselves
        second = tok_cols[1] if pair else None
        enc = tok(tok_cols[0], second, truncation=True, max_length=self.max_length, return_offsets_mapping=True,
                  return_special_tokens_mask=True, return_token_type_ids=pair or None)
        full_lengths = [len(ids) for ids in tok(tok_cols[0], second, truncation=False, add_special_tokens=True)["input_ids"]]
        unk = tok.unk_token_id
        tokens, offsets, special, ids_list, segments = [], [], [], [], []
        for b in range(len(inputs)):
            ids = enc["input_ids"][b]
            raw_offs = [tuple(o) for o in enc["offset_mapping"][b]]
            seq = enc.sequence_ids(b)
            seg = [-1 if q is None else int(q) for q in seq]
            spec = [bool(s) for s in enc["special_tokens_mask"][b]]
            if not allow_empty and (len(ids) == 0 or all(spec)):
                raise InputError("the sentence is empty: type at least one word")
            pieces = tok.convert_ids_to_tokens(ids)
            shown, offs = [], []
            for i, (tid, (s, e), sp, g) in enumerate(zip(ids, raw_offs, spec, seg)):
                col = max(g, 0)
                if word_level:  # shown tokens: the visible characters; offsets: into the text as given
                    shown_text, keep = stripped[col][b]
                    offs.append((keep[s], keep[e - 1] + 1) if e > s else (s, e))
                else:
                    shown_text = columns[col][b]
                    offs.append((s, e))
                if sp or e <= s:
                    shown.append(pieces[i])
                elif word_level or tid == unk:
                    shown.append(shown_text[s:e])
                else:
                    shown.append(pieces[i])
            tokens.append(shown)
            offsets.append(offs)
            special.append(spec)
            ids_list.append(ids)
            segments.append(seg)
        L = max((len(i) for i in ids_list), default=1) or 1
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        input_ids = torch.full((len(ids_list), L), pad, dtype=torch.long)
        mask = torch.zeros((len(ids_list), L), dtype=torch.long)
        types = torch.zeros((len(ids_list), L), dtype=torch.long)
        for b, ids in enumerate(ids_list):
            input_ids[b, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[b, : len(ids)] = 1
            if pair:
                types[b, : len(ids)] = torch.tensor(enc["token_type_ids"][b], dtype=torch.long)
        truncated = [fl > len(ids) for fl, ids in zip(full_lengths, ids_list)]
        types = types.to(self.device) if (pair or self._needs_types()) else None
        return EncodedBatch(input_ids.to(self.device), mask.to(self.device), tokens, offsets, special, truncated,
                            token_type_ids=types, segments=segments, segment_names=tuple(names),
                            inputs=tuple(inputs))

    # -- forward passes ---------------------------------------------------------------------
    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Word embeddings (B, L, D) of ``input_ids`` (B, L): the input of gradient methods."""
        return self.model.get_input_embeddings()(input_ids)

    def _needs_types(self) -> bool:
        """The forward takes ``token_type_ids``: a BERT-like tokenizer's segments, or our pair model."""
        if self.reads_pairs and not self.family.native_pairs:
            return True
        return bool(self.family.token_type_ids) and "token_type_ids" in getattr(self.tokenizer, "model_input_names", [])

    def _kwargs(self, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> dict:
        """The forward's keyword arguments. ``token_type_ids`` (B, L) or (1, L) (one sentence's
        segments for B perturbed copies of it); None means one segment (all 0).

        Raises:
            ValueError: a pair model called without ``token_type_ids`` (a programming error: pass
                ``enc.types()``).
        """
        kw = {"attention_mask": attention_mask}
        if self._needs_types():
            if token_type_ids is None:
                if self.reads_pairs and not self.family.native_pairs:
                    raise ValueError("a pair model's forward needs token_type_ids (pass enc.types())")
                token_type_ids = torch.zeros_like(attention_mask)
            elif token_type_ids.shape[0] != attention_mask.shape[0]:
                token_type_ids = token_type_ids.expand(attention_mask.shape[0], -1)
            kw["token_type_ids"] = token_type_ids.to(attention_mask.device)
        return kw

    def logits_from_embeds(self, embeds: torch.Tensor, attention_mask: torch.Tensor,
                           token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Class scores S (B, C), pre-softmax logits, from word embeddings (B, L, D);
        ``token_type_ids`` (B or 1, L) for pairs (see :meth:`_kwargs`)."""
        return self.model(inputs_embeds=embeds, **self._kwargs(attention_mask, token_type_ids)).logits

    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
               token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Class scores S (B, C) from token ids (B, L); ``token_type_ids`` (B or 1, L) for pairs."""
        return self.model(input_ids=input_ids, **self._kwargs(attention_mask, token_type_ids)).logits

    def hidden_forward(self, embeds: torch.Tensor, attention_mask: torch.Tensor,
                       token_type_ids: torch.Tensor | None = None):
        """Forward pass returning ``(logits (B, C), hidden_states)`` where ``hidden_states[k]``
        is (B, L, C_k) and :meth:`hidden_layers` says which slices form the grid rows."""
        out = self.model(inputs_embeds=embeds, output_hidden_states=True, **self._kwargs(attention_mask, token_type_ids))
        return out.logits, out.hidden_states

    def hidden_layers(self) -> list[HiddenLayerSpec]:
        """The rows of the saliency grid, in network order.

        TextCNN: one row per conv layer, receptive field radius j * (k - 1) / 2 for layer j
        ('same' padding). BiLSTM: per layer a forward row (receptive field: the prefix [0, i])
        and a backward row (the suffix [i, n-1]). Transformers: one row per layer, each location
        sees the whole sentence.
        """
        return self.family.hidden_layers(self.model.config)

    @contextlib.contextmanager
    def grad_mode(self):
        """Context for gradient methods: autograd on, cuDNN RNNs off (their backward refuses eval mode)."""
        with torch.enable_grad(), torch.backends.cudnn.flags(enabled=self.family.cudnn_backward):
            yield

    def predict_proba(
        self,
        texts: Sequence["str | TextInput"],
        *,
        batch_size: int = 256,
        progress: ProgressFn | None = None,
        cancel=None,
    ) -> np.ndarray:
        """Class probabilities for every text (or pair), (N, C) float64 rows summing to 1.

        Empty texts (or a pair with an empty text) get NaN rows. Sentences are batched by length; a batch that runs out of
        memory is halved and retried (:func:`interp_engine.batching.for_each_chunk`). Raises
        :class:`Cancelled` between batches when ``cancel`` is set.
        """
        from ..batching import for_each_chunk

        from ..inputs import TextInput

        texts = [TextInput.of(t) for t in texts]
        out = np.full((len(texts), self.num_labels), np.nan)
        order = sorted(range(len(texts)), key=lambda i: sum(len(t) for t in texts[i].texts))

        def run(a: int, b: int) -> None:
            idx = order[a:b]
            keep = [i for i in idx if all(t.strip() for t in texts[i].texts)]
            if keep:
                enc = self.encode([texts[i] for i in keep], allow_empty=True)
                p = torch.softmax(self.logits(enc.input_ids, enc.attention_mask, enc.token_type_ids).float(), -1).cpu().numpy()
                out[keep] = p

        with torch.inference_mode():
            for_each_chunk(len(order), run, batch_size, progress=progress, cancel=cancel, message="predicting")
        return out


def _from_pickle_weights_only(p: Path, config):
    """Build the model of ``config`` from ``pytorch_model*.bin`` read with
    ``torch.load(weights_only=True)``: the restricted unpickler accepts tensors and plain
    containers only, so a pickle that would construct any other object (and run code while doing
    so) is refused before anything of it runs.

    Raises:
        ModelLoadError: the file holds something other than tensors, or is not a readable pickle.
    """
    import pickle

    try:
        cls = AutoModelForSequenceClassification._model_mapping[type(config)]
    except KeyError as e:
        raise ModelLoadError(f"{p}: unknown or unsupported model architecture ({type(config).__name__}).") from e
    state: dict = {}
    for f in sorted(p.glob("pytorch_model*.bin")):
        try:
            part = torch.load(f, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            import re

            found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(e))
            what = f"it asks to call {found.group(1)}" if found else "it holds objects other than tensors"
            raise ModelLoadError(
                f"{f}: refused: {what}, which torch.load(weights_only=True) does not run. A weights file "
                f"needs tensors only: ask for the model as safetensors."
            ) from e
        except Exception as e:  # truncated / not a torch file
            raise ModelLoadError(f"{f}: not a readable PyTorch weights file ({type(e).__name__}: {e}).") from e
        if not isinstance(part, dict) or not all(isinstance(v, torch.Tensor) for v in part.values()):
            raise ModelLoadError(f"{f}: not a state dict of tensors, so it cannot be loaded as weights.")
        state.update(part)
    return cls.from_pretrained(None, config=config, state_dict=state)


def load_classifier(path: str | Path, *, device="auto", allow_pickle: bool = False) -> Classifier:
    """Open a saved classifier directory: ours (TextCNN, BiLSTM) or any local Hugging Face
    ``AutoModelForSequenceClassification`` (BERT, DistilBERT, RoBERTa, ...).

    Only local files are read; ``trust_remote_code`` is never set. Weights must be safetensors
    unless ``allow_pickle`` is True (then ``pytorch_model*.bin`` is read by
    ``torch.load(weights_only=True)`` here, never by a full unpickler).

    Raises:
        ModelLoadError: missing directory or config, unknown architecture, pickle-only weights
            without ``allow_pickle``, unreadable weights, or a tokenizer whose vocabulary does not
            fit the model's embedding matrix.
    """
    p = Path(path).expanduser()
    if not p.is_dir():
        raise ModelLoadError(f"{p}: not a directory. Choose the folder written by save_pretrained / interp-studio train.")
    if not (p / "config.json").is_file():
        raise ModelLoadError(f"{p}: no config.json, so this is not a saved Hugging Face model folder.")
    try:
        json.loads((p / "config.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelLoadError(f"{p / 'config.json'}: not valid JSON ({e}).") from e
    has_st = any(p.glob("*.safetensors"))
    has_pickle = any(p.glob("pytorch_model*.bin"))
    if not has_st and not has_pickle:
        raise ModelLoadError(f"{p}: no weights (model.safetensors) found.")
    if not has_st and not allow_pickle:
        raise ModelLoadError(
            f"{p}: {PICKLE_REFUSED}, which can run arbitrary code when opened. "
            "Open it only if you trust its source (--allow-pickle, or confirm in the dialog); it is then loaded with "
            "torch.load(weights_only=True)."
        )
    try:
        config = AutoConfig.from_pretrained(p, local_files_only=True)
    except (ValueError, KeyError, OSError) as e:
        first = str(e).strip().split("\n")[0].split(". ")[0]
        raise ModelLoadError(f"{p}: unknown or unsupported model architecture ({first}). Open a folder saved by "
                             f"interp-studio train or by a Transformers sequence classifier.") from e
    try:
        if has_st:
            model = AutoModelForSequenceClassification.from_pretrained(
                p, config=config, local_files_only=True, use_safetensors=True
            )
        else:
            model = _from_pickle_weights_only(p, config)
    except ModelLoadError:
        raise
    except Exception as e:  # corrupt safetensors, shape mismatch, ...
        raise ModelLoadError(f"{p}: the weights could not be read ({type(e).__name__}: {e}).") from e
    try:
        tokenizer = AutoTokenizer.from_pretrained(p, local_files_only=True)
    except Exception as e:
        raise ModelLoadError(f"{p}: no usable tokenizer saved beside the model ({type(e).__name__}: {e}).") from e
    n_emb = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > n_emb:
        raise ModelLoadError(
            f"{p}: the tokenizer has {len(tokenizer)} tokens but the model's embedding matrix has {n_emb} rows: "
            "the tokenizer does not belong to this model."
        )
    return Classifier(model, tokenizer, path=p, device=device)
