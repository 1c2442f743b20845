"""The one content hash of a model folder.

Used by the result cache (:mod:`interp_engine.cache`, through ``Classifier.content_hash``),
``ModelInfo.content_hash``, the prediction cache of the search index and the figure sidecars
(:mod:`interp_engine.export`, ``interp-studio export --from-sidecar`` checks the model did not
change). Kept in its own module (imports nothing of the engine but :mod:`errors`) so that both
``interp_engine.models.classifier`` and ``interp_engine.export`` can import it without a cycle.

The definition must stay stable: sidecars written earlier record this hash and are checked
against it.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from .errors import InputError

#: files of a model folder that define the model: weights, config, tokenizer
MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".json", ".txt", ".model", ".vocab", ".merges", ".pt", ".pth")


def model_folder_hash(path: str | Path) -> str:
    """sha256 (hex, 64 chars) of a model folder's weights, config and tokenizer files (every
    top-level file whose suffix is in :data:`MODEL_FILE_SUFFIXES`, by name order; names are
    hashed too, so a renamed or added file changes the hash). Files are read in 1 MiB chunks.

    Raises:
        InputError: ``path`` is not a folder or holds none of those files.
    """
    p = Path(path).expanduser()
    if not p.is_dir():
        raise InputError(f"model folder {p} does not exist")
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in MODEL_FILE_SUFFIXES)
    if not files:
        raise InputError(f"{p} holds no model files (weights, config, tokenizer)")
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()
