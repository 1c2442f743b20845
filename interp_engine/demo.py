"""The embedded demo: a TextCNN trained on first use on the project's own demo corpus
(``resources/demo``, written for this project) and cached in the user cache directory."""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from .paths import cache_dir, resources_dir

#: the demo TextCNN's recipe (a :class:`~interp_engine.training.TrainConfig` without the paper-sized
#: 300-d embeddings): 100-d Word2Vec (15 passes), 8 epochs. On the 625-word demo corpus it reaches test
#: accuracy 0.992 in 12.5 s of CPU (the 300-d, 50-pass, 10-epoch defaults: 0.997 in 30.4 s), so a
#: first start fits in a minute on 2 busy cores (issue 15 bug 8; BENCHMARKS.md, "First start").
DEMO_TRAIN_CONFIG = dict(epochs=8, seed=1, embedding_dim=100, w2v_epochs=15)


def demo_corpus() -> tuple[Path, Path]:
    """(train.tsv, test.tsv) of the demo corpus. Raises FileNotFoundError if resources are missing."""
    d = resources_dir() / "demo"
    train, test = d / "train.tsv", d / "test.tsv"
    for f in (train, test):
        if not f.is_file():
            raise FileNotFoundError(f"demo corpus missing: {f}")
    return train, test


def _build_atomically(target: Path, required: tuple[str, ...], build) -> None:
    """Run ``build(tmp_dir)`` unless ``target`` already holds ``required`` files, then rename the
    temporary folder into place: an interrupted or cancelled build never leaves a broken cache."""
    if all((target / f).is_file() for f in required):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"building-{target.name}-", dir=target.parent))
    try:
        build(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process finished first
            if not all((target / f).is_file() for f in required):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _demo_key(train: Path) -> str:
    h = hashlib.sha256(train.read_bytes())
    from .training import TrainConfig

    # the training recipe is part of the key: new defaults retrain the cached demo model
    h.update(repr(TrainConfig(**DEMO_TRAIN_CONFIG)).encode())
    return h.hexdigest()[:12]


def ensure_demo(progress=None, cancel=None, log=None) -> tuple[Path, Path]:
    """Return ``(model_dir, dataset_path)`` of the demo, training the model on first use
    (:data:`DEMO_TRAIN_CONFIG`; about 13 s of CPU) into the user cache. The dataset shown is the demo test split.

    The model is written to a temporary folder and renamed into place, so an interrupted
    training never leaves a broken cached model.

    Raises:
        Cancelled: ``cancel`` was set during training.
    """
    from .data import load_dataset
    from .training import TrainConfig, train_classifier

    train, test = demo_corpus()
    target = cache_dir() / "demo" / f"textcnn-{_demo_key(train)}"
    names = tuple((resources_dir() / "demo" / "classes.txt").read_text(encoding="utf-8").split())

    def build(tmp: Path) -> None:
        tr = load_dataset(train, class_names=names)
        te = load_dataset(test, class_names=names)
        train_classifier(tr, tmp, test=te, config=TrainConfig(**DEMO_TRAIN_CONFIG),
                         device="cpu", progress=progress, cancel=cancel, log=log)

    _build_atomically(target, ("model.safetensors", "tokenizer.json"), build)
    return target, test


#: the demo's masked LM (the likelihood model of marginalization): small enough for a first start on
#: 2 busy CPU cores (hidden 96, 2 layers, 6 epochs took 15.7 s of CPU for held-out masked-token
#: accuracy 0.257; this recipe: BENCHMARKS.md, "First start")
DEMO_MLM_CONFIG = dict(epochs=6, seed=1, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128,
                       batch_size=32, lr=2e-3)


def _demo_mlm_key(model_dir: Path, train: Path) -> str:
    h = hashlib.sha256()
    for name in ("model.safetensors", "tokenizer.json"):
        f = Path(model_dir) / name
        if f.is_file():
            h.update(f.read_bytes())
    h.update(Path(train).read_bytes())
    h.update(repr(sorted(DEMO_MLM_CONFIG.items())).encode())
    h.update(b"mlm-v2")  # v2: one training thread (MLMConfig.threads)
    return h.hexdigest()[:12]


def ensure_demo_mlm(model_dir: str | Path | None = None, train_path: str | Path | None = None, progress=None,
                    cancel=None, log=None) -> Path:
    """Return the folder of the word-level masked LM of the demo model, training it on first use
    (a few seconds on 2 CPU cores; :data:`DEMO_MLM_CONFIG`) into the user cache, next to the model.

    Args:
        model_dir: the demo classifier (default: :func:`ensure_demo`'s).
        train_path: its training corpus (default: the demo's ``train.tsv``).

    The cache key hashes the classifier's weights and tokenizer, the corpus and the config; the
    MLM is trained into a temporary folder and renamed into place.

    Raises:
        Cancelled: ``cancel`` was set during training.
    """
    from .data import load_dataset
    from .mlm import MLMConfig, train_mlm

    if model_dir is None:
        model_dir, _ = ensure_demo(progress=progress, cancel=cancel, log=log)
    if train_path is None:
        train_path, _ = demo_corpus()
    model_dir, train_path = Path(model_dir), Path(train_path)
    target = Path(model_dir).parent / f"mlm-{_demo_mlm_key(model_dir, train_path)}"

    def build(tmp: Path) -> None:
        texts = list(load_dataset(train_path).texts)
        train_mlm(texts, model_dir, tmp, config=MLMConfig(**DEMO_MLM_CONFIG), device="cpu", progress=progress,
                  cancel=cancel, log=log)

    _build_atomically(target, ("model.safetensors", "config.json"), build)
    return target
