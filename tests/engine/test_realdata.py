"""Acceptance on real data (issue 2): TextCNN trained with the CLI's default settings, seed 1.

Reads ``../shared/data``; skipped with a reason when it is absent. Marked ``realdata`` and
``slow`` (about a minute each on 2 CPU cores).
"""
from __future__ import annotations

import pytest

from interp_engine.data import load_dataset
from interp_engine.training import TrainConfig, train_classifier
from tests.helpers import SHARED_DATA

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _need(*parts):
    p = SHARED_DATA.joinpath(*parts)
    if not p.is_file():
        pytest.skip(f"{p} not found: real-data tests need ../shared/data beside the repository")
    return p


@pytest.mark.parametrize(
    "train, test, minimum",
    [
        (("mr", "train.tsv"), ("mr", "test.tsv"), 0.74),  # Yuan et al. 79.96% with pre-trained word2vec
        (("sst2", "train.tsv"), ("sst2", "test.tsv"), 0.78),  # Kim (2014) CNN-rand 82.7%
    ],
    ids=["mr", "sst2"],
)
def test_textcnn_default_settings_accuracy(tmp_path, train, test, minimum):
    tr, te = load_dataset(_need(*train)), load_dataset(_need(*test))
    report = train_classifier(tr, tmp_path / "model", test=te, config=TrainConfig(seed=1), device="cpu")
    print(f"{train[0]}: test accuracy {report.test_accuracy:.4f} (best epoch {report.best_epoch}, {report.seconds:.0f} s)")
    assert report.test_accuracy >= minimum
