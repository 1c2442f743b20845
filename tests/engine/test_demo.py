"""The embedded demo: trained on first use, cached, reused, never left half-written."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from interp_engine.data import load_dataset
from interp_engine.demo import ensure_demo, ensure_demo_mlm
from interp_engine.engine import Engine
from interp_engine.errors import Cancelled


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cancelled_demo_training_leaves_no_cache(cache):
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        ensure_demo(cancel=ev)
    assert list((cache / "demo").iterdir()) == []


def test_demo_trains_once_learns_and_ships_its_mlm(cache):
    model_dir, data = ensure_demo()
    stamp = (model_dir / "model.safetensors").stat().st_mtime_ns
    again, _ = ensure_demo()
    assert again == model_dir and (model_dir / "model.safetensors").stat().st_mtime_ns == stamp  # cached
    eng = Engine("cpu")
    info = eng.load_model(model_dir)
    assert info.class_names == ("negative", "positive")
    ds = load_dataset(data)
    pred = eng.predict_dataset(ds.texts)
    acc = float(np.mean(pred.predicted == ds.labels))
    assert acc >= 0.9, acc  # measured 0.995 with the default recipe
    mlm = ensure_demo_mlm(model_dir)
    assert ensure_demo_mlm(model_dir) == mlm
    eng.load_mlm(mlm)
    res = eng.attribute("The soundtrack is not moving at all .", "marginalization", likelihood="mlm")
    assert res.units.startswith("bits") and np.isfinite(res.scores).all()
    assert res.n_candidates is not None and (np.asarray(res.n_candidates) > 0).all()
