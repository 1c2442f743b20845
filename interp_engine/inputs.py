"""What a classifier reads: one text, or a pair of texts with segment names (no Qt).

Every request of :mod:`interp_engine.requests` carries a :class:`TextInput`, and
:meth:`interp_engine.models.Classifier.encode` takes one, so that a sentence pair (premise +
hypothesis, Kim et al. 2020 ``004_137d387c767c1e08.txt`` §4.1 SNLI) has one seam to enter by.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InputError

#: segment names of a single text and of a natural-language-inference pair
SINGLE_SEGMENTS = ("text",)
PAIR_SEGMENTS = ("premise", "hypothesis")


@dataclass(frozen=True)
class TextInput:
    """One input of a text classifier.

    Attributes:
        texts: one string (a single text) or two (a pair, e.g. premise and hypothesis).
        segments: a name per text (``("text",)`` or ``("premise", "hypothesis")``).

    Raises:
        InputError: not one or two texts, a text that is not a string, or names that do not match.
    """

    texts: tuple[str, ...]
    segments: tuple[str, ...] = SINGLE_SEGMENTS

    def __post_init__(self):
        texts = tuple(self.texts) if not isinstance(self.texts, str) else (self.texts,)
        object.__setattr__(self, "texts", texts)
        segs = tuple(self.segments)
        if len(texts) == 2 and segs == SINGLE_SEGMENTS:
            segs = PAIR_SEGMENTS
        object.__setattr__(self, "segments", segs)
        if len(texts) not in (1, 2):
            raise InputError(f"an input is one text or a pair of texts, got {len(texts)} texts")
        if any(not isinstance(t, str) for t in texts):
            raise InputError("every text of an input must be a string")
        if len(segs) != len(texts):
            raise InputError(f"{len(texts)} text(s) but {len(segs)} segment name(s)")

    @classmethod
    def single(cls, text: str) -> "TextInput":
        return cls((text,))

    @classmethod
    def pair(cls, first: str, second: str, segments: tuple[str, str] = PAIR_SEGMENTS) -> "TextInput":
        return cls((first, second), tuple(segments))

    @classmethod
    def of(cls, value: "TextInput | str | tuple | list") -> "TextInput":
        """A TextInput from itself, a string, or a (first, second) pair."""
        if isinstance(value, TextInput):
            return value
        if isinstance(value, str):
            return cls.single(value)
        if isinstance(value, (tuple, list)):
            return cls(tuple(value))
        raise InputError(f"expected a text or a pair of texts, got {type(value).__name__}")

    @property
    def is_pair(self) -> bool:
        return len(self.texts) == 2

    @property
    def text(self) -> str:
        """The text of a single-text input.

        Raises:
            InputError: the input is a pair (use :attr:`texts`).
        """
        if self.is_pair:
            raise InputError("this input is a pair of texts; this operation takes one text")
        return self.texts[0]

    def __str__(self) -> str:
        return self.texts[0] if not self.is_pair else " ‖ ".join(self.texts)

    def to_json(self) -> Any:
        """A single text as its string (what sidecars always stored); a pair as a dict."""
        if not self.is_pair and self.segments == SINGLE_SEGMENTS:
            return self.texts[0]
        return {"texts": list(self.texts), "segments": list(self.segments)}

    @classmethod
    def from_json(cls, d: Any) -> "TextInput":
        if isinstance(d, str):
            return cls.single(d)
        if isinstance(d, dict) and "texts" in d:
            return cls(tuple(d["texts"]), tuple(d.get("segments") or SINGLE_SEGMENTS))
        raise InputError(f"not a text input: {d!r}")


__all__ = ["PAIR_SEGMENTS", "SINGLE_SEGMENTS", "TextInput"]
