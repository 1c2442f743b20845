"""train-mlm and attribute --method marginalization|zero|unk|integrated_gradients|lime from the CLI,
and a real-data check (skipped without ../shared/data)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from interp_engine.cli import SUBCOMMANDS, main
from tests.helpers import SHARED_DATA, TINY_TEXTS, save_tiny


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("mlmcli")
    model = save_tiny(d / "clf", "textcnn")
    data = d / "train.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS * 8)), encoding="utf-8")
    return d, model, data


def test_train_mlm_json_and_files(trained, capsys):
    d, model, data = trained
    assert "train-mlm" in SUBCOMMANDS
    rc = main(["train-mlm", "--data", str(data), "--model", str(model), "--out", str(d / "mlm"), "--epochs", "2",
               "--hidden-size", "32", "--layers", "1", "--heads", "2", "--json", "--device", "cpu"])
    assert rc == 0
    rep = _last_json(capsys.readouterr().out)
    assert {"heldout_accuracy", "heldout_perplexity", "n_train", "n_heldout"} <= rep.keys()
    assert 0 <= rep["heldout_accuracy"] <= 1 and rep["heldout_perplexity"] > 1
    for f in ("model.safetensors", "config.json", "tokenizer.json", "unigram_prior.json", "mlm_training.json"):
        assert (d / "mlm" / f).is_file(), f


@pytest.mark.parametrize("extra", [[], ["--sigma", "0"], ["--top-n", "3"], ["--likelihood", "uniform"],
                                   ["--likelihood", "prior"]])
def test_attribute_marginalization_json(trained, capsys, extra):
    d, model, data = trained
    if not (d / "mlm").is_dir():
        main(["train-mlm", "--data", str(data), "--model", str(model), "--out", str(d / "mlm"), "--epochs", "1",
              "--hidden-size", "32", "--layers", "1", "--heads", "2", "--json", "--device", "cpu"])
        capsys.readouterr()
    rc = main(["attribute", "--model", str(model), "--text", "a good film , never boring", "--method", "marginalization",
               "--mlm", str(d / "mlm"), *extra, "--json", "--device", "cpu"])
    assert rc == 0
    out = _last_json(capsys.readouterr().out)
    assert out["units"] == "bits (WoE, log2-odds)" and len(out["n_candidates"]) == 6 and out["seconds"] > 0
    assert np.isfinite(out["scores"]).all()
    if extra[:1] == ["--top-n"]:
        assert out["n_candidates"] == [3] * 6


@pytest.mark.parametrize("method", ["zero", "unk", "integrated_gradients", "lime", "grad"])
def test_attribute_other_methods(trained, capsys, method):
    _, model, _ = trained
    assert main(["attribute", "--model", str(model), "--text", "a good film", "--method", method, "--json"]) == 0
    out = _last_json(capsys.readouterr().out)
    assert out["method"] == method and len(out["scores"]) == 3 and "seconds" in out


def test_prior_from_data(trained, capsys):
    d, model, data = trained
    assert main(["attribute", "--model", str(model), "--text", "a good film", "--method", "marginalization",
                 "--likelihood", "prior", "--data", str(data), "--json"]) == 0
    assert _last_json(capsys.readouterr().out)["params"]["likelihood"] == "prior"


@pytest.mark.parametrize("args, expected", [
    (["--method", "marginalization"], "needs a masked lm"),
    (["--method", "marginalization", "--mlm", "{nope}"], "not a saved masked language model"),
    (["--method", "marginalization", "--likelihood", "uniform", "--sigma", "-1"], "sigma"),
    (["--method", "nonsense"], "unknown attribution method"),
])
def test_attribute_errors_exit_2(trained, args, expected):
    _, model, _ = trained
    args = [a.format(nope=trained[0] / "nope") for a in args]
    proc = subprocess.run([sys.executable, "-m", "interp_engine.cli", "attribute", "--model", str(model), "--text", "a good film",
                           *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error:") and expected in proc.stderr.lower() and "Traceback" not in proc.stderr


@pytest.mark.realdata
@pytest.mark.slow
def test_real_data_sst2_sigma_close_to_full(tmp_path):
    """A small TextCNN and MLM on 1,000 SST-2 sentences: σ = 1e-5 agrees with full marginalization."""
    if not (SHARED_DATA / "sst2" / "train.tsv").is_file():
        pytest.skip(f"real-data test: {SHARED_DATA / 'sst2'} is not available")
    from interp_engine.data import load_dataset
    from interp_engine.engine import Engine
    from interp_engine.mlm import MLMConfig, train_mlm
    from interp_engine.training import TrainConfig, train_classifier

    train = load_dataset(SHARED_DATA / "sst2" / "train.tsv").subset(np.arange(1000))
    train_classifier(train, tmp_path / "clf", config=TrainConfig(epochs=1, embedding_dim=50, conv_channels=(32, 16),
                                                                  w2v_epochs=1), device="cpu")
    train_mlm(train.texts, tmp_path / "clf", tmp_path / "mlm",
              config=MLMConfig(epochs=1, hidden_size=64, num_layers=1, num_heads=2, intermediate_size=128), device="cpu")
    eng = Engine("cpu")
    eng.load_model(tmp_path / "clf")
    eng.load_mlm(tmp_path / "mlm")
    corr = []
    for text in load_dataset(SHARED_DATA / "sst2" / "test.tsv").texts[:5]:
        a = eng.attribute(text, "marginalization", sigma=1e-5).scores
        b = eng.attribute(text, "marginalization", sigma=0).scores
        if np.std(a) > 0 and np.std(b) > 0:
            corr.append(np.corrcoef(a, b)[0, 1])
    assert corr and np.mean(corr) > 0.99
