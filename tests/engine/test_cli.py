"""The headless CLI contract: train / attribute / hidden, JSON output, clean errors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from interp_engine.cli import main
from interp_engine.demo import demo_corpus
from tests.helpers import save_tiny


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_train_json_report(tmp_path, capsys):
    train, test = demo_corpus()
    # a 600-row slice keeps this fast
    small = tmp_path / "train.tsv"
    small.write_text("".join(train.read_text(encoding="utf-8").splitlines(keepends=True)[:601]), encoding="utf-8")
    rc = main(["train", "--data", str(small), "--test", str(test), "--arch", "textcnn", "--out", str(tmp_path / "m"),
               "--epochs", "2", "--seed", "1", "--json", "--device", "cpu"])
    assert rc == 0
    rep = _last_json(capsys.readouterr().out)
    assert {"test_accuracy", "n_train", "n_test", "seconds"} <= rep.keys()
    assert rep["n_train"] + rep["n_validation"] == 600 and rep["n_test"] == 600
    assert 0.0 <= rep["test_accuracy"] <= 1.0
    assert (tmp_path / "m" / "model.safetensors").is_file() and (tmp_path / "m" / "training.json").is_file()
    # what a seed's result depends on besides code, data and seed (README, "Reproducibility")
    import torch

    env = json.loads((tmp_path / "m" / "training.json").read_text(encoding="utf-8"))["environment"]
    assert env["packages"]["torch"] == torch.__version__.split("+")[0] or env["packages"]["torch"] == torch.__version__
    assert env["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert env["torch_threads"] == 1  # TrainConfig.threads: one thread, so the seed reproduces on this machine
    assert env["packages"]["gensim"] and env["cpu"]


def _has_avx2() -> bool:
    import platform

    try:
        flags = open("/proc/cpuinfo", encoding="utf-8").read()
    except OSError:
        return False
    return platform.machine() == "x86_64" and " avx2" in flags


@pytest.mark.skipif(not _has_avx2(), reason="kernel pinning applies to x86-64 CPUs with AVX2 only")
def test_train_pins_the_cpu_kernel_set_in_a_fresh_process(tmp_path):
    """Issue 15 bug 7: MR's seed-1 TextCNN was 0.7552 (best epoch 3) with AVX512 kernels and 0.7434
    (epoch 7) with AVX2 ones; `train` caps torch/oneDNN/OpenBLAS at AVX2 before torch loads."""
    import os
    import subprocess

    from interp_engine.environment import PINNED_KERNELS

    train, test = demo_corpus()
    small = tmp_path / "train.tsv"
    small.write_text("".join(train.read_text(encoding="utf-8").splitlines(keepends=True)[:301]), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in PINNED_KERNELS}
    r = subprocess.run([sys.executable, "-m", "interp_engine.cli", "train", "--data", str(small), "--out",
                        str(tmp_path / "m"), "--epochs", "1", "--device", "cpu"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rec = json.loads((tmp_path / "m" / "training.json").read_text(encoding="utf-8"))["environment"]
    assert rec["torch_cpu_capability"] == "AVX2"
    assert rec["kernel_env"] == PINNED_KERNELS
    # a variable the user set wins, and nothing is pinned once torch is loaded (too late to matter)
    code = ("import os; os.environ['ATEN_CPU_CAPABILITY'] = 'default'; "
            "from interp_engine.environment import pin_cpu_kernels; d = pin_cpu_kernels(); "
            "assert 'ATEN_CPU_CAPABILITY' not in d and os.environ['ATEN_CPU_CAPABILITY'] == 'default', d; "
            "import torch; assert torch.backends.cpu.get_cpu_capability() == 'DEFAULT'; "
            "del os.environ['ONEDNN_MAX_CPU_ISA']; assert pin_cpu_kernels() == {}")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_attribute_and_hidden_json(tmp_path, capsys):
    d = save_tiny(tmp_path / "m")
    assert main(["attribute", "--model", str(d), "--text", "a good film", "--method", "grad_input", "--json"]) == 0
    out = _last_json(capsys.readouterr().out)
    assert set(out) >= {"tokens", "scores", "predicted", "probabilities", "method"}
    assert out["tokens"] == ["a", "good", "film"] and out["method"] == "grad_input"
    assert main(["hidden", "--model", str(d), "--text", "a good film , never boring", "--top", "2", "--json"]) == 0
    out = _last_json(capsys.readouterr().out)
    assert len(out["layers"]) == 3 and all(len(row) == 6 for row in out["layers"])
    assert all(len(t) == 2 for t in out["top_locations"])
    first, last = out["top_locations"][0][0]["receptive_field"]
    assert 0 <= first <= last <= 5


@pytest.mark.parametrize(
    "args, expected",
    [
        (["attribute", "--model", "{missing}", "--text", "good"], "not a directory"),
        (["attribute", "--model", "{model}", "--text", "   "], "empty"),
        (["train", "--data", "{missing}.tsv", "--out", "{tmp}/x"], "not found"),
    ],
)
def test_errors_exit_nonzero_without_traceback(tmp_path, args, expected):
    d = save_tiny(tmp_path / "m")
    args = [a.format(missing=tmp_path / "nope", model=d, tmp=tmp_path) for a in args]
    proc = subprocess.run([sys.executable, "-m", "interp_engine.cli", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert expected in proc.stderr.lower() and "Traceback" not in proc.stderr
