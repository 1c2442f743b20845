"""Text-classification datasets: a small immutable :class:`Dataset` and a loader.

A dataset holds one text per row, or a pair of texts per row (sentence-pair
tasks such as SNLI, MultiNLI or paraphrase detection: a premise and a
hypothesis, or ``sentence1`` and ``sentence2``).

This module never imports Qt. pandas/pyarrow are optional and only imported
when a Parquet file is loaded.

Public API
----------
- :class:`Dataset` -- texts (and, for pair data, the second texts ``pairs``),
  integer labels (or ``None``) and class names; :meth:`Dataset.input` gives a
  row as a :class:`~interp_engine.inputs.TextInput`.
- :class:`DatasetError` -- a ``ValueError`` whose message names the file, the
  line (where relevant) and what to do about it.
- :func:`load_dataset` -- read a ``.tsv``/``.txt``/``.csv``/``.jsonl``/``.parquet`` file.
- :func:`train_validation_split` -- deterministic random split of a dataset.
- :data:`NLI_CLASS_NAMES` -- ``("entailment", "neutral", "contradiction")``, the
  class names (in label order 0, 1, 2) of an auto-detected NLI pair dataset.

File formats
------------
``tsv`` / ``txt``
    TAB-separated, first line is a header, **no quoting** (a text may contain
    ``"``). This is the format of the shared data (``label<TAB>text``).
``csv``
    Comma-separated with standard CSV (double-quote) quoting; first line is a header.
``jsonl``
    One JSON object per line; the keys are the columns.
``parquet``
    Read with ``pandas.read_parquet`` (needs pandas and pyarrow).

Sentence pairs
--------------
With ``pair_column`` the second text of each row is read from that column. When
the default text column ``text`` is absent, the loader recognises the pair
columns ``premise`` + ``hypothesis`` (the shared SNLI files, Hugging Face) and
``sentence1`` + ``sentence2`` (the SNLI/MultiNLI JSONL files); when the default
label column ``label`` is absent it uses ``gold_label`` if present. Rows whose
gold label is ``-`` (no annotator consensus, the SNLI convention) are dropped
and counted in :attr:`Dataset.n_no_gold`. An auto-detected NLI pair gets the
class names :data:`NLI_CLASS_NAMES` (see :func:`load_dataset`).
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .inputs import PAIR_SEGMENTS, TextInput

__all__ = ["COMMON_ENCODINGS", "Dataset", "DatasetError", "EncodingError", "NLI_CLASS_NAMES", "load_dataset",
           "suggest_encoding", "train_validation_split"]

#: class names, in label order (0, 1, 2), of a natural-language-inference pair dataset
#: (SNLI/MultiNLI, Hugging Face convention); the one place these names are spelled
NLI_CLASS_NAMES = ("entailment", "neutral", "contradiction")
#: (first, second) text columns recognised as an NLI sentence pair when ``text`` is absent
_NLI_PAIR_COLUMNS = (("premise", "hypothesis"), ("sentence1", "sentence2"))
#: label column used when the default ``label`` is absent (SNLI/MultiNLI JSONL and TSV files)
_GOLD_LABEL_COLUMN = "gold_label"
#: gold label of a pair without annotator consensus (SNLI convention): the row is dropped
_NO_GOLD = "-"
#: at most this many skipped-row messages are kept in ``Dataset.skipped_notes``
_MAX_SKIPPED_NOTES = 5

_FORMATS_BY_SUFFIX = {
    ".tsv": "tsv",
    ".txt": "tsv",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
}
_FORMATS = ("tsv", "csv", "jsonl", "parquet")
_INT_RE = re.compile(r"^[+-]?\d+$")


class DatasetError(ValueError):
    """A dataset file could not be loaded.

    The message is meant to be shown to the user as is: it names the file, the
    line number when the problem is on a specific line, and suggests a fix.
    """


@dataclass(frozen=True, eq=False)
class Dataset:
    """An immutable text-classification dataset of single texts or of text pairs.

    Attributes:
        texts: the N texts, in file order (rows with empty texts removed); for
            pair data the first text of each row (e.g. the premise).
        labels: ``np.ndarray`` of dtype int64 and shape ``(N,)`` with values in
            ``0 .. n_classes - 1``, or ``None`` when the file has no label column.
        class_names: one name per class; generic ``("0", "1", ...)`` when the
            file has integer labels and no names were given. Empty when
            ``labels`` is ``None`` and no names were given.
        path: the file the data came from, or ``None`` for in-memory data.
        text_column: name of the column the texts were read from.
        label_column: name of the label column that was asked for (even if the
            file did not have it).
        n_skipped: number of rows dropped because their text (or, for pair data,
            either text) was empty or whitespace only.
        pairs: for pair data, the N second texts (e.g. the hypotheses), aligned
            with ``texts``; ``None`` for single-text data.
        pair_column: name of the column the second texts were read from, or ``None``.
        n_no_gold: number of rows dropped because their gold label was ``-`` (no
            annotator consensus, SNLI convention); not counted in ``n_skipped``.
        skipped_notes: messages for the first few (at most 5) pair rows dropped
            for an empty text, e.g. ``"dev.tsv line 17: empty 'hypothesis', row skipped"``.

    ``len(dataset)`` is N. Equality is identity (``eq=False``) because numpy
    arrays do not support ``==`` as a boolean; instances are hashable.

    Raises:
        ValueError: from the constructor if ``labels`` does not have shape
            ``(N,)`` or holds values outside ``0 .. len(class_names) - 1``, or
            ``pairs`` does not hold N texts.
    """

    texts: tuple[str, ...]
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    path: Path | None = None
    text_column: str = "text"
    label_column: str = "label"
    n_skipped: int = 0
    pairs: tuple[str, ...] | None = None
    pair_column: str | None = None
    n_no_gold: int = 0
    skipped_notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", tuple(self.texts))
        object.__setattr__(self, "skipped_notes", tuple(str(m) for m in self.skipped_notes))
        if self.pairs is not None:
            pairs = tuple(self.pairs)
            if len(pairs) != len(self.texts):
                raise ValueError(
                    f"pairs must hold one second text per text: {len(self.texts)} texts but {len(pairs)} pairs"
                )
            object.__setattr__(self, "pairs", pairs)
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        if self.path is not None:
            object.__setattr__(self, "path", Path(self.path))
        if self.labels is not None:
            labels = np.asarray(self.labels, dtype=np.int64)
            if labels.shape != (len(self.texts),):
                raise ValueError(
                    f"labels must have shape ({len(self.texts)},), got {labels.shape}"
                )
            if labels.size and (labels.min() < 0 or labels.max() >= len(self.class_names)):
                raise ValueError(
                    f"labels must lie in 0..{len(self.class_names) - 1} "
                    f"(one per class name), got {labels.min()}..{labels.max()}"
                )
            labels = labels.copy()
            labels.setflags(write=False)
            object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_classes(self) -> int:
        """Number of classes, i.e. ``len(class_names)``."""
        return len(self.class_names)

    @property
    def is_pair(self) -> bool:
        """True when every row is a pair of texts (``pairs`` is not ``None``)."""
        return self.pairs is not None

    @property
    def segment_names(self) -> tuple[str, ...]:
        """``(text_column,)`` for single-text data, ``(text_column, pair_column)`` for pairs
        (``("premise", "hypothesis")`` for a pair dataset built without a ``pair_column``)."""
        if self.pairs is None:
            return (self.text_column,)
        if self.pair_column is None:
            return PAIR_SEGMENTS
        return (self.text_column, self.pair_column)

    def input(self, i: int) -> TextInput:
        """Row ``i`` as a classifier input: ``TextInput.single(texts[i])``, or for pair data
        ``TextInput.pair(texts[i], pairs[i], segments=segment_names)``.

        Raises:
            IndexError: ``i`` is out of range.
        """
        if self.pairs is None:
            return TextInput.single(self.texts[i])
        return TextInput.pair(self.texts[i], self.pairs[i], segments=self.segment_names)  # type: ignore[arg-type]

    def inputs(self) -> list[TextInput]:
        """Every row as a :class:`TextInput` (see :meth:`input`), in order."""
        return [self.input(i) for i in range(len(self.texts))]

    def subset(self, indices: Sequence[int] | np.ndarray) -> "Dataset":
        """Return a new dataset holding the rows at ``indices`` (in that order).

        Args:
            indices: integer row positions, shape ``(M,)``.

        Returns:
            A :class:`Dataset` with M rows (the texts, the second texts ``pairs``
            of pair data and the labels at ``indices``), the same class names,
            path and columns (every other field is kept), and ``n_skipped = 0``,
            ``n_no_gold = 0``, ``skipped_notes = ()`` (they describe the loading of a file).
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        return dataclasses.replace(
            self,
            texts=tuple(self.texts[i] for i in idx),
            labels=None if self.labels is None else self.labels[idx],
            pairs=None if self.pairs is None else tuple(self.pairs[i] for i in idx),
            n_skipped=0,
            n_no_gold=0,
            skipped_notes=(),
        )


# --------------------------------------------------------------------------- loading

#: rows between two cancellation checks / progress reports while reading
_CHECK_EVERY = 2048
#: label strings that mean "no label" (pandas/R/JSON exports)
_MISSING_LABELS = frozenset({"nan", "na", "n/a", "null", "none"})


class EncodingError(DatasetError):
    """The file's bytes do not decode with the encoding asked for.

    Attributes:
        path: the file. line: the first line (1-based) with an undecodable byte.
        encoding: the encoding that failed.
        suggested: an encoding that decodes the whole sample read so far (``"cp1252"`` for
            Windows text such as MR's original files, ``"latin-1"`` as a last resort,
            ``"utf-16"`` for a UTF-16 byte-order mark), or None.
    """

    def __init__(self, message: str, *, path: Path, line: int, encoding: str, suggested: str | None):
        super().__init__(message)
        self.path, self.line, self.encoding, self.suggested = path, line, encoding, suggested


#: encodings the app offers when a file is not UTF-8 (first: the most likely for English text)
COMMON_ENCODINGS = ("cp1252", "latin-1", "utf-16", "cp1250", "cp1251", "shift_jis", "gb18030", "utf-8")


def encoding_in_message(message: str) -> str | None:
    """The encoding an :class:`EncodingError` message suggests (``encoding="cp1252"``), or None:
    lets a front end that receives only the message text offer that encoding."""
    message = str(message)
    m = re.search(r'open it with encoding="([\w.-]+)"', message, flags=re.IGNORECASE)
    return m.group(1) if m else None


def suggest_encoding(sample: bytes) -> str | None:
    """The encoding to offer for bytes that are not UTF-8: ``utf-16`` for a UTF-16 byte-order
    mark, ``cp1252`` when the bytes decode strictly as Windows-1252 (MR's originals do),
    else ``latin-1`` (which decodes any byte). None for valid UTF-8."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return None
    except UnicodeDecodeError as e:
        if e.reason == "unexpected end of data" and e.end >= len(sample):
            return None  # a sample cut inside a multi-byte character
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def load_dataset(
    path: str | os.PathLike[str],
    *,
    text_column: str = "text",
    pair_column: str | None = None,
    label_column: str = "label",
    class_names: Sequence[str] | None = None,
    format: str | None = None,
    encoding: str = "utf-8",
    progress=None,
    cancel=None,
) -> Dataset:
    """Load a text-classification dataset (single texts or text pairs) from a file,
    streaming it line by line.

    Column auto-detection happens only for names the caller left at their defaults
    that the file lacks: when ``text_column`` is ``"text"``, the file has no ``text``
    column and ``pair_column`` is not given (or names the second column), the
    column pairs ``premise`` + ``hypothesis`` and then ``sentence1`` + ``sentence2``
    are tried (an *NLI pair*). When ``label_column`` is ``"label"`` and absent, a
    ``gold_label`` column is used if present.

    Args:
        path: the file to read.
        text_column: name of the column holding the texts (the first text of a pair).
        pair_column: name of the column holding the second text of each row
            (e.g. ``"hypothesis"``); ``None`` or ``""`` = auto-detect as above
            (single-text data when nothing is detected). A named column must exist.
        label_column: name of the column holding the labels. If the file has
            no such column the dataset is unlabelled (``labels is None``).
            With the label column ``gold_label``, or any label column of an
            auto-detected NLI pair, a row whose label is ``-`` is dropped and
            counted in ``n_no_gold`` (so is a label ``-1``, the Hugging Face
            mark for no gold label, in an auto-detected NLI pair).
        class_names: optional class names. With integer labels, name ``i`` is
            the name of label ``i`` (there must be more names than the largest
            label). With string labels, the order of ``class_names`` defines the
            label ids (every label must be one of them). Without it, integer
            labels get names ``"0" .. "K-1"`` (K = largest label + 1) and string
            labels are numbered in sorted order and become the class names --
            except for an auto-detected NLI pair: integer labels whose largest is 2
            get :data:`NLI_CLASS_NAMES` (0 = entailment, 1 = neutral,
            2 = contradiction), and string labels that are all among those three
            words get the ids 0, 1, 2 in that order (not sorted order), with all
            three as class names.
        format: ``"tsv"`` (also used for ``.txt``), ``"csv"``, ``"jsonl"`` or
            ``"parquet"``; by default taken from the file extension.
        encoding: text encoding for tsv/csv/jsonl (a UTF-8 byte-order mark is
            ignored). Ignored for parquet.
        progress: ``progress(bytes read, file size, message)``, called every few thousand rows
            (the file is never read into memory as a whole, so a 1 GB file costs the memory of
            its texts only).
        cancel: ``threading.Event``; checked every few thousand rows.

    Returns:
        A :class:`Dataset` with N rows: ``texts`` (N strings), ``pairs`` (N second
        texts for pair data, else ``None``), ``labels`` (int64 array of shape
        ``(N,)`` or ``None``), ``class_names``; ``text_column``, ``pair_column``
        and ``label_column`` = the columns actually used (after auto-detection);
        ``n_skipped`` = the number of rows dropped for an empty/whitespace text
        (either text of a pair), ``skipped_notes`` = a message naming the file,
        line and column for the first 5 such pair rows, and ``n_no_gold`` = the
        number of rows dropped for a ``-`` gold label.

    Raises:
        EncodingError: (a :class:`DatasetError`) the bytes do not decode with ``encoding``;
            the message names the first bad line and the encoding to try instead.
        DatasetError: the file is missing or is a directory; the format is
            unknown; the file is empty (no header or no data rows, or only
            empty texts, or every row skipped); the text column is missing (with a
            hint when the header looks like another delimiter); a named
            ``pair_column`` is missing or is the text column; a row has the wrong number of fields; a
            line is not valid JSON / not an object; a JSONL/Parquet text or second text is
            not a string; a label is empty or missing (NaN),
            negative, or labels mix integers and non-integers; ``class_names`` does not
            fit the labels; a Parquet file is read without pandas/pyarrow.
        Cancelled: ``cancel`` was set.
    """
    from .errors import check_cancel

    p = Path(path)
    fmt = _resolve_format(p, format)
    if not p.exists():
        raise DatasetError(f"{p}: file not found. Check the path and try again.")
    if p.is_dir():
        raise DatasetError(f"{p}: is a directory, not a data file. Pass the path of a file inside it.")

    request = _ColumnRequest(text_column, pair_column or None, label_column, fmt)
    unit = "line"
    texts: list[str] = []
    pairs: list[str] = []
    raw_labels: list[Any] = []
    label_lines: list[int] = []
    notes: list[str] = []
    n_skipped = 0
    n_no_gold = 0
    n_rows = 0
    size = 0
    closer = None
    cols: _Columns | None = None
    try:
        if fmt == "parquet":
            check_cancel(cancel)
            cols, rows = _read_parquet(p, request)
            unit = "row"
        else:
            size = p.stat().st_size
            if size == 0:
                raise DatasetError(f"{p}: the file is empty (0 bytes). It needs a header line and data rows.")
            closer, lines = _open_lines(p, encoding)
            lines = _ticking(lines, closer.tell, size, f"reading {p.name}", progress, cancel)
            if fmt == "jsonl":
                cols, rows = _read_jsonl(p, lines, request)
            else:
                cols, rows = _read_delimited(p, lines, fmt, request)
        has_labels = cols.has_labels
        is_pair = cols.pair is not None
        check_gold = has_labels and (cols.label == _GOLD_LABEL_COLUMN or cols.nli)
        for lineno, text_value, pair_value, label_value in rows:
            n_rows += 1
            if is_pair:
                empty = [c for c, v in ((cols.text, text_value), (cols.pair, pair_value))
                         if v is None or not str(v).strip()]
                if empty:
                    n_skipped += 1
                    if len(notes) < _MAX_SKIPPED_NOTES:
                        what = " and ".join(repr(c) for c in empty)
                        notes.append(f"{p.name} {unit} {lineno}: empty {what}, row skipped")
                    continue
            elif text_value is None or not str(text_value).strip():
                n_skipped += 1
                continue
            if check_gold and _is_no_gold(label_value, cols.nli):
                n_no_gold += 1
                continue
            texts.append(str(text_value))
            if is_pair:
                pairs.append(str(pair_value))
            if has_labels:
                raw_labels.append(label_value)
                label_lines.append(lineno)
    except UnicodeDecodeError:
        raise _encoding_error(p, encoding) from None
    finally:
        if closer is not None:
            closer.close()
    check_cancel(cancel)
    if progress is not None:
        progress(size, size, f"reading {p.name}")

    if n_rows == 0:
        raise DatasetError(
            f"{p}: the file has a header but no data rows. Add rows below the header line."
        )
    if not texts:
        if n_no_gold == n_rows:
            raise DatasetError(
                f"{p}: all {n_rows} rows have the gold label {_NO_GOLD!r} in column {cols.label!r} "
                f"(no annotator consensus), so none is left. Use a file with gold labels, or "
                f"name another column with --label-column."
            )
        if not is_pair and n_no_gold == 0:
            raise DatasetError(
                f"{p}: all {n_rows} rows have an empty text in column {cols.text!r}. "
                f"Check that --text-column names the column that holds the texts."
            )
        what = (f"an empty text in column {cols.text!r} or in the pair column {cols.pair!r}" if is_pair
                else f"an empty text in column {cols.text!r}")
        gold = f", {n_no_gold} the gold label {_NO_GOLD!r}" if n_no_gold else ""
        flags = "--text-column and --pair-column name the columns" if is_pair else "--text-column names the column"
        raise DatasetError(
            f"{p}: all {n_rows} rows were skipped ({n_skipped} have {what}{gold}). "
            f"Check that {flags} that hold{'' if is_pair else 's'} the texts."
        )

    if has_labels:
        labels, names = _encode_labels(p, raw_labels, label_lines, unit, class_names,
                                       NLI_CLASS_NAMES if cols.nli else None)
    else:
        labels = None
        names = tuple(str(c) for c in class_names) if class_names is not None else ()

    return Dataset(
        texts=tuple(texts),
        labels=labels,
        class_names=names,
        path=p,
        text_column=cols.text,
        label_column=cols.label,
        n_skipped=n_skipped,
        pairs=tuple(pairs) if is_pair else None,
        pair_column=cols.pair,
        n_no_gold=n_no_gold,
        skipped_notes=tuple(notes),
    )


def _resolve_format(p: Path, format: str | None) -> str:
    if format is not None:
        fmt = format.lower().lstrip(".")
        if fmt == "txt":
            fmt = "tsv"
        if fmt not in _FORMATS:
            raise DatasetError(
                f"{p}: unknown format {format!r}. Use one of: tsv, txt, csv, jsonl, parquet."
            )
        return fmt
    fmt = _FORMATS_BY_SUFFIX.get(p.suffix.lower())
    if fmt is None:
        raise DatasetError(
            f"{p}: cannot tell the file format from the extension {p.suffix!r}. "
            f"Rename the file to .tsv/.txt/.csv/.jsonl/.parquet or pass format=."
        )
    return fmt


def _codec(p: Path, encoding: str) -> str:
    enc = encoding
    if enc.lower().replace("_", "-") in ("utf-8", "utf8"):
        enc = "utf-8-sig"  # tolerate a byte-order mark
    try:
        codecs.lookup(enc)
    except LookupError:
        raise DatasetError(
            f"{p}: unknown encoding {encoding!r}. Use e.g. encoding=\"utf-8\" or encoding=\"cp1252\"."
        ) from None
    return enc


def _open_lines(p: Path, encoding: str) -> tuple[io.BufferedReader, Iterator[str]]:
    """The binary file (for ``tell()``: bytes consumed) and an iterator over its decoded lines
    (newlines kept, split at ``\\n``/``\\r\\n`` only, never at U+2028/U+0085)."""
    enc = _codec(p, encoding)
    raw = open(p, "rb")  # noqa: SIM115 - closed by load_dataset
    head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    if enc == "utf-8-sig" and head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raw.close()
        raise EncodingError(
            f"{p}: line 1: the file is UTF-16 (it starts with a UTF-16 byte-order mark), not UTF-8. "
            f'Open it with encoding="utf-16" (--encoding utf-16, or choose it when the app asks), '
            f"or save it as UTF-8.",
            path=p, line=1, encoding=encoding, suggested="utf-16",
        )
    decoder = codecs.getincrementaldecoder(enc)(errors="strict")
    wide = codecs.lookup(enc).name.startswith("utf-16") or codecs.lookup(enc).name.startswith("utf-32")

    def lines() -> Iterator[str]:
        if wide:  # a NUL-padded encoding: splitting its bytes at b"\n" would cut characters
            text = io.TextIOWrapper(raw, encoding=enc, newline="")
            yield from text
            return
        pending = ""
        for chunk in raw:  # binary lines, split at b"\n"
            s = decoder.decode(chunk)
            if s.endswith("\n"):
                yield pending + s
                pending = ""
            else:
                pending += s
        s = pending + decoder.decode(b"", final=True)
        if s:
            yield s

    return raw, lines()


def _ticking(lines: Iterator[str], tell, size: int, message: str, progress, cancel) -> Iterator[str]:
    """``lines``, checking ``cancel`` and reporting ``progress(bytes read, size, message)`` every
    :data:`_CHECK_EVERY` lines."""
    from .errors import check_cancel

    for n, line in enumerate(lines, start=1):
        if n % _CHECK_EVERY == 0:
            check_cancel(cancel)
            if progress is not None:
                progress(min(tell(), size), size, message)
        yield line


def _encoding_error(p: Path, encoding: str) -> EncodingError:
    """Find the first undecodable line of ``p`` (a second, binary pass: only on this error path)
    and build the message that names it and the encoding to try."""
    enc = _codec(p, encoding)
    decoder = codecs.getincrementaldecoder(enc)(errors="strict")
    line, bad, sample = 1, b"", bytearray()
    with open(p, "rb") as f:
        for lineno, chunk in enumerate(f, start=1):
            if len(sample) < 1 << 20:
                sample += chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                line, bad = lineno, e.object[e.start : e.end]
                sample += f.read(1 << 16)
                break
    suggested = suggest_encoding(bytes(sample)) if enc == "utf-8-sig" else None
    shown = bad.hex(" ") if bad else "?"
    if suggested:
        names = {"cp1252": "Windows Western European (cp1252) text", "latin-1": "Latin-1 text",
                 "utf-16": "UTF-16 text"}
        hint = (f"The file is probably not UTF-8 but {names.get(suggested, suggested)}: open it with "
                f'encoding="{suggested}" (--encoding {suggested}, or choose it when the app asks), '
                f"or convert the file to UTF-8.")
    else:
        hint = "Pass the encoding the file was written in (--encoding NAME), or convert it to UTF-8."
    return EncodingError(f"{p}: line {line}: bytes {shown} cannot be decoded as {encoding}. {hint}",
                         path=p, line=line, encoding=encoding, suggested=suggested)


_Row = tuple[int, Any, Any, Any]  # (line or row number, text, second text or None, label)


@dataclass(frozen=True)
class _Columns:
    """The columns a file is read with, after auto-detection.

    text: first text. pair: second text or None. label: label column (asked for or
    ``gold_label``). has_labels: the file has ``label``. nli: ``text``/``pair`` were
    auto-detected as an NLI pair (premise/hypothesis, sentence1/sentence2)."""

    text: str
    pair: str | None
    label: str
    has_labels: bool
    nli: bool


@dataclass(frozen=True)
class _ColumnRequest:
    """The columns the caller of :func:`load_dataset` asked for (``pair=None``: auto-detect)."""

    text: str
    pair: str | None
    label: str
    fmt: str

    def candidates(self) -> set[str]:
        """Every column :meth:`resolve` may pick, whatever the file's columns are."""
        keys = {self.text, self.label, _GOLD_LABEL_COLUMN}
        if self.pair is not None:
            keys.add(self.pair)
        for first, second in _NLI_PAIR_COLUMNS:
            keys.update((first, second))
        return keys

    def resolve(self, p: Path, columns: Sequence[str]) -> _Columns:
        """The columns to read, given the file's ``columns``.

        Raises:
            DatasetError: the text column is missing (and no NLI pair was detected), or a named
                pair column is missing or equals the text column.
        """
        return _resolve_columns(p, columns, self.text, self.pair, self.label, self.fmt)


def _resolve_columns(
    p: Path, columns: Sequence[str], text_column: str, pair_column: str | None, label_column: str, fmt: str
) -> _Columns:
    present = set(columns)
    text, pair, nli = text_column, (pair_column or None), False
    if text == "text" and text not in present:
        for first, second in _NLI_PAIR_COLUMNS:
            if first in present and second in present and pair in (None, second):
                text, pair, nli = first, second, True
                break
    if text not in present:
        raise _missing_text_column(p, text, columns, fmt)
    if pair is not None:
        if pair not in present:
            found = ", ".join(repr(c) for c in columns) or "(none)"
            raise DatasetError(
                f"{p}: line 1: no pair column {pair!r} (the second text of each row); the columns found "
                f"are {found}. Use --pair-column (pair_column=) to name the column that holds the "
                f"second texts, or leave it empty for single-text data."
            )
        if pair == text:
            raise DatasetError(
                f"{p}: the pair column {pair!r} is also the text column. Name the column of the "
                f"second texts with --pair-column (pair_column=), or leave it empty."
            )
    label = label_column
    if label == "label" and label not in present and _GOLD_LABEL_COLUMN in present:
        label = _GOLD_LABEL_COLUMN
    return _Columns(text=text, pair=pair, label=label, has_labels=label in present, nli=nli)


def _is_no_gold(value: Any, nli: bool) -> bool:
    """True for the gold label ``-`` (no annotator consensus); in an auto-detected NLI pair
    also for ``-1`` (the Hugging Face datasets' mark for the same)."""
    if isinstance(value, str):
        s = value.strip()
        return s == _NO_GOLD or (nli and s == "-1")
    if nli and not isinstance(value, bool) and isinstance(value, (int, np.integer)):
        return int(value) == -1
    if nli and isinstance(value, (float, np.floating)):
        return float(value) == -1.0
    return False


def _missing_text_column(p: Path, text_column: str, columns: Sequence[str], fmt: str = "") -> DatasetError:
    found = ", ".join(repr(c) for c in columns) or "(none)"
    msg = (
        f"{p}: line 1: no text column {text_column!r}; the columns found are {found}. "
        f"Use --text-column (text_column=) to name the column that holds the texts."
    )
    if len(columns) == 1:
        for ch, name, f in (("\t", "TAB", "tsv"), (",", "comma", "csv"), (";", "semicolon", None)):
            if ch in columns[0] and f != fmt:
                fix = (f"rename the file to .{f} (or pass format={f!r})" if f
                       else "convert it to TAB-separated .tsv or comma-separated .csv")
                msg += (f" The header looks {name}-separated, so the delimiter is wrong: {fix}.")
                break
    return DatasetError(msg)


def _read_delimited(
    p: Path, lines: Iterator[str], fmt: str, request: "_ColumnRequest"
) -> tuple[_Columns, Iterator[_Row]]:
    if fmt == "tsv":
        reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        kind = "TAB-separated, unquoted"
    else:
        reader = csv.reader(lines)
        kind = "comma-separated, double-quote quoting"
    try:
        header = next(reader, None)
        while header is not None and header == []:  # leading blank lines
            header = next(reader, None)
    except csv.Error as e:
        raise DatasetError(f"{p}: line 1: cannot parse the header ({e}).") from None
    if header is None:
        raise DatasetError(
            f"{p}: the file is empty. It needs a header line (e.g. 'label<TAB>text') and data rows."
        )
    columns = [c.strip() for c in header]
    if any("\x00" in c for c in columns):
        raise DatasetError(f"{p}: line 1 holds NUL bytes: this is not a text file (a spreadsheet, a compressed or "
                           f"a UTF-16 file?). Save it as UTF-8 .tsv or .csv.")
    cols = request.resolve(p, columns)
    ti = columns.index(cols.text)
    pi = columns.index(cols.pair) if cols.pair is not None else None
    li = columns.index(cols.label) if cols.has_labels else None
    ncol = len(columns)

    def rows() -> Iterator[_Row]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                raise DatasetError(
                    f"{p}: line {reader.line_num}: cannot parse the row ({e}). "
                    f"The file was read as {kind}; check its delimiter and quoting."
                ) from None
            if row == []:  # blank line: counts as an empty text
                yield reader.line_num, None, None, None
                continue
            if len(row) != ncol:
                other = "csv" if fmt == "tsv" else "tsv"
                raise DatasetError(
                    f"{p}: line {reader.line_num}: expected {ncol} fields "
                    f"({', '.join(columns)}) but found {len(row)}. The file was read as {kind}: "
                    f"the delimiter or quoting is probably wrong (try format={other!r}), "
                    f"or this line contains a stray delimiter: fix or remove it."
                )
            yield (reader.line_num, row[ti], (row[pi] if pi is not None else None),
                   (row[li] if li is not None else None))

    return cols, rows()


_NO_LABEL = object()


def _read_jsonl(p: Path, lines: Iterator[str], request: "_ColumnRequest") -> tuple[_Columns, Iterator[_Row]]:
    """One pass that keeps, per row, only the keys that may be read (the columns asked for and
    the auto-detection candidates); the columns are the union of keys, resolved after the pass."""
    wanted = request.candidates()
    kept: list[tuple[int, dict[str, Any]]] = []
    columns: dict[str, None] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(
                f"{p}: line {lineno}: not valid JSON ({e.msg}). "
                f"A .jsonl file needs exactly one JSON object per line."
            ) from None
        if not isinstance(obj, dict):
            raise DatasetError(
                f"{p}: line {lineno}: expected a JSON object like "
                f'{{"text": "...", "label": 0}}, found {type(obj).__name__}.'
            )
        for k in obj:
            columns.setdefault(k, None)
        kept.append((lineno, {k: obj[k] for k in wanted if k in obj}))
    if not kept:
        raise DatasetError(f"{p}: the file is empty. A .jsonl file needs one JSON object per line.")
    cols = request.resolve(p, list(columns))
    first_unlabelled: int | None = None
    for lineno, obj in kept:
        for key, what in ((cols.text, "--text-column names the text field"),
                          (cols.pair, "--pair-column names the field of the second texts")):
            if key is None:
                continue
            t = obj.get(key)
            if t is not None and not isinstance(t, str):
                raise DatasetError(
                    f"{p}: line {lineno}: {key!r} must be a string, found "
                    f"{type(t).__name__}. Check that {what}."
                )
        if (cols.has_labels and first_unlabelled is None and cols.label not in obj
                and all(isinstance(obj.get(k), str) and obj[k].strip() for k in (cols.text, cols.pair) if k)):
            first_unlabelled = lineno
    if first_unlabelled is not None:
        raise DatasetError(
            f"{p}: line {first_unlabelled}: no {cols.label!r} key, but other lines have one. "
            f"Give every line a label, or none."
        )
    pair = cols.pair
    return cols, iter(
        (n, obj.get(cols.text), (obj.get(pair) if pair is not None else None), obj.get(cols.label))
        for n, obj in kept
    )


def _read_parquet(p: Path, request: "_ColumnRequest") -> tuple[_Columns, Iterator[_Row]]:
    try:
        import pandas as pd  # optional dependency
    except ImportError:
        raise DatasetError(
            f"{p}: reading Parquet files needs pandas and pyarrow, which are not installed. "
            f"Install them with `pip install pandas pyarrow` (or `pip install interp-studio[formats]`), "
            f"or convert the file to .tsv."
        ) from None
    try:
        df = pd.read_parquet(p)
    except ImportError as e:
        raise DatasetError(
            f"{p}: reading Parquet files needs pyarrow ({e}). Install it with `pip install pyarrow`, "
            f"or convert the file to .tsv."
        ) from None
    except Exception as e:  # corrupt file, not parquet, ...
        raise DatasetError(f"{p}: cannot read the file as Parquet ({e}). Check the file and format=.") from None
    columns = [str(c) for c in df.columns]
    if len(df.columns) == 0 and len(df) == 0:
        raise DatasetError(f"{p}: the Parquet file is empty (no columns and no rows).")
    cols = request.resolve(p, columns)
    texts = df[cols.text].tolist()
    seconds = df[cols.pair].tolist() if cols.pair is not None else [None] * len(texts)
    labels = df[cols.label].tolist() if cols.has_labels else [None] * len(texts)

    def checked(i: int, t: Any, column: str, flag: str) -> Any:
        if t is not None and not isinstance(t, str):
            if isinstance(t, float) and math.isnan(t):
                return None
            raise DatasetError(
                f"{p}: row {i + 1}: {column!r} must be a string, found {type(t).__name__}. "
                f"Check that {flag} names the {'text' if flag == '--text-column' else 'second text'} column."
            )
        return t

    def rows() -> Iterator[_Row]:
        for i, (t, t2, lab) in enumerate(zip(texts, seconds, labels)):
            t = checked(i, t, cols.text, "--text-column")
            if cols.pair is not None:
                t2 = checked(i, t2, cols.pair, "--pair-column")
            yield i + 1, t, t2, lab

    return cols, rows()


def _normalise_label(value: Any) -> int | str | None:
    """int for integer-like values, str for other strings, None for missing (None, NaN, '',
    and the strings NaN/NA/N/A/null/None)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else str(value)
    s = str(value).strip()
    if not s or s.lower() in _MISSING_LABELS:
        return None
    if _INT_RE.match(s):
        return int(s)
    return s


def _encode_labels(
    p: Path, raw: list[Any], lines: list[int], unit: str, class_names: Sequence[str] | None,
    known_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer label ids and class names. ``known_names`` (e.g. :data:`NLI_CLASS_NAMES`), used
    only without ``class_names``: the names of integer labels whose largest is
    ``len(known_names) - 1``, and the id order of string labels that are all among them."""
    values: list[int | str] = []
    first_int: str | None = None
    first_str: str | None = None
    for value, n in zip(raw, lines):
        v = _normalise_label(value)
        if v is None:
            shown = "" if value is None or (isinstance(value, str) and not value.strip()) else f" ({value!r})"
            raise DatasetError(
                f"{p}: {unit} {n}: the label is empty or missing{shown}. Give every row a label, "
                f"remove this row, or remove the label column to load the texts unlabelled."
            )
        if isinstance(v, int):
            first_int = first_int or f"{unit} {n} ({v!r})"
        else:
            first_str = first_str or f"{unit} {n} ({v!r})"
        if first_int and first_str:
            raise DatasetError(
                f"{p}: labels mix integers and non-integers: {first_int} is an integer but "
                f"{first_str} is not. Use integer labels 0..K-1 everywhere, or names everywhere."
            )
        values.append(v)

    if first_str is None:  # integer labels
        ints = np.asarray(values, dtype=np.int64)
        lo, hi = int(ints.min()), int(ints.max())
        if lo < 0:
            n = lines[int(np.argmax(ints == lo))]
            raise DatasetError(
                f"{p}: {unit} {n}: negative label {lo}. Integer labels must be 0..K-1; "
                f"renumber them (e.g. -1/1 -> 0/1)."
            )
        if class_names is not None:
            names = tuple(str(c) for c in class_names)
            if hi >= len(names):
                raise DatasetError(
                    f"{p}: label {hi} needs at least {hi + 1} class names but {len(names)} were given "
                    f"({', '.join(names)}). Pass one name per class, in label order."
                )
        elif known_names is not None and hi == len(known_names) - 1:
            names = tuple(known_names)
        else:
            names = tuple(str(i) for i in range(hi + 1))
        return ints, names

    # string labels
    if class_names is not None:
        names = tuple(str(c) for c in class_names)
        index = {nm: i for i, nm in enumerate(names)}
        for n, v in zip(lines, values):
            if v not in index:
                raise DatasetError(
                    f"{p}: {unit} {n}: label {v!r} is not one of the class names "
                    f"({', '.join(names)}). Fix the label or the class names."
                )
    elif known_names is not None and set(values) <= set(known_names):
        names = tuple(known_names)
        index = {nm: i for i, nm in enumerate(names)}
    else:
        names = tuple(sorted(set(values)))  # type: ignore[arg-type]
        index = {nm: i for i, nm in enumerate(names)}
    return np.asarray([index[v] for v in values], dtype=np.int64), names


# --------------------------------------------------------------------------- splitting


def train_validation_split(
    dataset: Dataset, fraction: float = 0.1, seed: int = 0
) -> tuple[Dataset, Dataset]:
    """Split a dataset at random into a training and a validation part.

    The split is a plain (not stratified) shuffle with
    ``numpy.random.default_rng(seed)``, so the same dataset, fraction and seed
    always give the same split. Both parts keep the original row order.

    Args:
        dataset: the dataset to split (N rows, N >= 2).
        fraction: share of rows that go to validation, ``0 < fraction < 1``.
            The validation size is ``round(N * fraction)``, clipped to
            ``1 .. N - 1``.
        seed: random seed.

    Returns:
        ``(train, validation)``: two disjoint datasets whose rows together are
        exactly the rows of ``dataset``; sizes ``N - M`` and ``M``. They keep
        ``class_names``, ``path`` and the column names; ``n_skipped`` is 0.

    Raises:
        ValueError: if ``fraction`` is not strictly between 0 and 1, or the
            dataset has fewer than 2 rows.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be between 0 and 1 (exclusive), got {fraction}")
    n = len(dataset)
    if n < 2:
        raise ValueError(f"cannot split a dataset of {n} row(s); need at least 2")
    n_val = min(max(int(round(n * fraction)), 1), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    val_idx = np.sort(perm[:n_val])
    train_idx = np.sort(perm[n_val:])
    return dataset.subset(train_idx), dataset.subset(val_idx)
