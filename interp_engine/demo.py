"""The embedded demo: a TextCNN trained on first use on the project's own demo corpus
(``resources/demo``, written for this project) and cached in the user cache directory."""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from .paths import cache_dir, resources_dir

DEMO_EPOCHS = 10
DEMO_SEED = 1


def demo_corpus() -> tuple[Path, Path]:
    """(train.tsv, test.tsv) of the demo corpus. Raises FileNotFoundError if resources are missing."""
    d = resources_dir() / "demo"
    train, test = d / "train.tsv", d / "test.tsv"
    for f in (train, test):
        if not f.is_file():
            raise FileNotFoundError(f"demo corpus missing: {f}")
    return train, test


def _demo_key(train: Path) -> str:
    h = hashlib.sha256(train.read_bytes())
    h.update(f"textcnn-e{DEMO_EPOCHS}-s{DEMO_SEED}-v1".encode())
    return h.hexdigest()[:12]


def ensure_demo(progress=None, cancel=None, log=None) -> tuple[Path, Path]:
    """Return ``(model_dir, dataset_path)`` of the demo, training the model on first use
    (about 10 s on 2 CPU cores) into the user cache. The dataset shown is the demo test split.

    The model is written to a temporary folder and renamed into place, so an interrupted
    training never leaves a broken cached model.

    Raises:
        Cancelled: ``cancel`` was set during training.
    """
    from .data import load_dataset
    from .training import TrainConfig, train_classifier

    train, test = demo_corpus()
    target = cache_dir() / "demo" / f"textcnn-{_demo_key(train)}"
    if (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file():
        return target, test
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="training-", dir=target.parent))
    try:
        names = tuple((resources_dir() / "demo" / "classes.txt").read_text(encoding="utf-8").split())
        tr = load_dataset(train, class_names=names)
        te = load_dataset(test, class_names=names)
        train_classifier(tr, tmp, test=te, config=TrainConfig(epochs=DEMO_EPOCHS, seed=DEMO_SEED),
                         device="cpu", progress=progress, cancel=cancel, log=log)
        try:
            tmp.rename(target)
        except OSError:  # another process finished first
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target, test
