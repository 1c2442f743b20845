"""Case-preserving word-level tokenizer for our own classifiers (TextCNN, BiLSTM).

Built with the Hugging Face ``tokenizers`` library (WordLevel model) and wrapped in
``PreTrainedTokenizerFast`` so that ``save_pretrained``/``from_pretrained`` write and
read a standard ``tokenizer.json`` beside the model.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from transformers import PreTrainedTokenizerFast

PAD, UNK, MASK = "[PAD]", "[UNK]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, MASK)  # ids 0, 1, 2: [PAD] must be 0 (zero erasure, Kim et al. 004_ §4.1)

#: One word, with English clitics kept attached ("it's", "n't", "'s"), or one punctuation mark.
WORD_PATTERN = r"\w+(?:['’]\w+)*|['’]\w+|[^\w\s]"


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="isolated")]
    )


def pre_tokenize(text: str) -> list[str]:
    """Split ``text`` into the word units our tokenizer uses (case preserved, NFC-normalised).

    Returns:
        list of word strings, in order. Empty list for empty/whitespace-only text.
    """
    normalized = normalizers.NFC().normalize_str(text)
    return [w for w, _ in _pre_tokenizer().pre_tokenize_str(normalized)]


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
    tok.normalizer = normalizers.NFC()
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
