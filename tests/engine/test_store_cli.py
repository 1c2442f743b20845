"""``interp-studio attribute-dataset`` and ``evaluate --store``: the JSON contract, resume after
SIGKILL, refusals and bad input (exit 2 with one sentence), and evaluate's report from a store
equal to the recomputed one."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from interp_engine.cli import SUBCOMMANDS, main
from interp_engine.store import PART_GLOB, open_store
from tests.helpers import save_model_mlm_data, save_tiny, tiny_sentences

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("storecli")
    model, mlm, data = save_model_mlm_data(d, tiny_sentences(10))
    return d, model, mlm, data


def _run(capsys, *argv):
    rc = main([*map(str, argv), "--device", "cpu"])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_sentence_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_json_last_line_is_exactly_the_summary(files, capsys):
    d, model, mlm, data = files
    out = d / "s_json"
    rc, stdout, err = _run(capsys, "attribute-dataset", "--model", model, "--data", data, "--mlm", mlm,
                           "--methods", "grad,marginalization", "--sigma", "0.001", "--n", 6, "--out", out, "--json")
    assert rc == 0, err
    last = json.loads(stdout.strip().splitlines()[-1])
    assert set(last) == {"rows", "seconds", "backend", "out"}
    assert last["rows"] == 6 and last["backend"] == "local" and last["out"] == str(out)
    assert isinstance(last["seconds"], float) and last["seconds"] > 0
    assert "attribute-dataset" in SUBCOMMANDS
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # the marginalization flags are the method's parameters, as `attribute` reads them
    assert m["configs"]["marginalization"]["sigma"] == 0.001 and m["configs"]["marginalization"]["likelihood"] == "mlm"
    assert open_store(out).rows() == list(range(6))


def test_changed_parameters_exit_2_with_one_sentence(files, capsys):
    d, model, mlm, data = files
    out = d / "s_refuse"
    args = ["attribute-dataset", "--model", model, "--data", data, "--mlm", mlm, "--methods", "marginalization",
            "--n", 3, "--out", out]
    assert _run(capsys, *args)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    rc, stdout, err = _run(capsys, *args, "--sigma", "0.01")
    assert rc == 2
    line = _one_sentence_error(err)
    assert "the parameters of marginalization (sigma: 1e-05 → 0.01)" in line and "not appending" in line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("argv, needle", [
    (["--methods", "grad"], "give --out STORE"),
    (["--methods", "grad,nope", "--out", "{d}/s_bad"], "unknown attribution method 'nope'"),
    (["--methods", "grad", "--out", "{d}/s_bad2", "--data", "{d}/missing.tsv"], "file not found"),
    (["--methods", "grad", "--out", "{d}/s_bad3", "--metrics", "iot"], "per-row metric"),
    (["--methods", "", "--out", "{d}/s_bad4"], "at least one attribution method"),
])
def test_bad_input_exits_2_with_a_sentence(files, capsys, argv, needle):
    d, model, mlm, data = files
    argv = [a.replace("{d}", str(d)) for a in argv]
    if "--data" not in argv:
        argv += ["--data", str(data)]
    rc, stdout, err = _run(capsys, "attribute-dataset", "--model", model, *argv)
    assert rc == 2
    assert needle in _one_sentence_error(err)
    assert not (d / "s_bad").exists() and not (d / "s_bad2").exists()


def test_unreadable_data_exits_2(files, capsys, tmp_path):
    d, model, mlm, data = files
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(b"label\ttext\n1\t\xff\xfe bad bytes\n")
    rc, _, err = _run(capsys, "attribute-dataset", "--model", model, "--data", bad, "--methods", "grad",
                      "--out", tmp_path / "s")
    assert rc == 2 and "encoding" in _one_sentence_error(err)


def test_killed_run_resumes_to_the_same_store(files, capsys, tmp_path):
    """SIGKILL after the first part file appears; the same command again ends with the store of
    one uninterrupted run, without a duplicate or missing row."""
    d, model, mlm, data = files
    args = ["attribute-dataset", "--model", str(model), "--data", str(data), "--methods", "grad_input,zero",
            "--batch-size", "1", "--device", "cpu"]
    whole = tmp_path / "whole"
    assert _run(capsys, *args[:-2], "--out", whole)[0] == 0
    killed = tmp_path / "killed"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    code = "import sys, torch; torch.set_num_threads(1); from interp_engine.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, *args, "--out", str(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(killed.glob(PART_GLOB)) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    first = len(list(killed.glob(PART_GLOB)))
    assert proc.returncode == -signal.SIGKILL, "the run ended before it was killed"
    assert 1 <= first < 10, first
    rc, _, err = _run(capsys, *args[:-2], "--out", killed)
    assert rc == 0, err
    assert open_store(killed).to_table().equals(open_store(whole).to_table())
    rows = [r for p in sorted(killed.glob(PART_GLOB)) for r in pq.read_table(p, columns=["row"]).column("row").to_pylist()]
    assert sorted(rows) == list(range(10))
    assert json.loads((killed / "manifest.json").read_text(encoding="utf-8"))["rows_done"] == 10


# -- evaluate --store ---------------------------------------------------------------------------------
def _report(stdout: str) -> dict:
    rep = json.loads(stdout.strip().splitlines()[-1])
    for k in ("seconds", "timing", "out"):
        rep.pop(k, None)
    return rep


def test_evaluate_from_a_store_equals_recomputing(files, capsys):
    d, model, mlm, data = files
    store = d / "s_eval"
    common = ["evaluate", "--model", model, "--data", data, "--mlm", mlm, "--metric", "auc_rep",
              "--methods", "marginalization,grad_input,zero", "--n", 8, "--seed", 3, "--json"]
    rc, out_a, err = _run(capsys, *common)
    assert rc == 0, err
    # the store does not exist yet: evaluate makes it, then reads it
    rc, out_b, err = _run(capsys, *common, "--store", store)
    assert rc == 0, err
    assert open_store(store).rows() == list(range(8))
    # a store made by attribute-dataset (other seed, with per-row metrics, more rows) gives the same report
    other = d / "s_eval2"
    assert _run(capsys, "attribute-dataset", "--model", model, "--data", data, "--mlm", mlm, "--methods",
                "zero,grad_input,marginalization,grad", "--metrics", "auc_rep", "--seed", 9, "--out", other)[0] == 0
    rc, out_c, err = _run(capsys, *common, "--store", other)
    assert rc == 0, err
    a, b, c = _report(out_a), _report(out_b), _report(out_c)
    assert a == b == c
    assert a["methods"]["zero"]["n"] == 8 and np.isfinite(a["methods"]["grad_input"]["mean"])
    # the per-row metric stored by attribute-dataset with seed 9 is evaluate's per-sentence value at seed 9
    rc, out_9, err = _run(capsys, *[x if x != 3 else 9 for x in common], "--out", d / "ev9")
    assert rc == 0, err
    import csv

    with open(d / "ev9" / "per_sentence.csv", newline="", encoding="utf-8") as f:
        per = {(int(r["index"]), r["method"]): float(r["value"]) for r in csv.DictReader(f)}
    st = open_store(other)
    for i in range(8):
        for m in ("marginalization", "grad_input", "zero"):
            assert st.get(i).metrics["auc_rep"][m] == pytest.approx(per[(i, m)], abs=1e-12)


def test_evaluate_loo_tau_from_a_store_equals_recomputing(files, capsys):
    """loo_tau's leave-one-out reference is stored with the methods (a new store) and read back."""
    d, model, mlm, data = files
    common = ["evaluate", "--model", model, "--data", data, "--metric", "loo_tau", "--methods", "grad_input,zero",
              "--n", 5, "--json"]
    rc, a, err = _run(capsys, *common)
    assert rc == 0, err
    rc, b, err = _run(capsys, *common, "--store", d / "s_loo")
    assert rc == 0, err
    assert open_store(d / "s_loo").methods == ("grad_input", "zero", "loo")
    assert _report(a) == _report(b) and np.isfinite(_report(a)["methods"]["zero"]["mean"])


def test_evaluate_refuses_a_mismatched_store(files, capsys, tmp_path):
    d, model, mlm, data = files
    store = tmp_path / "s"
    assert _run(capsys, "attribute-dataset", "--model", model, "--data", data, "--mlm", mlm,
                "--methods", "marginalization,zero", "--n", 4, "--out", store)[0] == 0
    common = ["evaluate", "--model", model, "--data", data, "--mlm", mlm, "--metric", "aopc", "--store", store]
    rc, _, err = _run(capsys, *common, "--methods", "marginalization,zero", "--sigma", "0.01", "--n", 4)
    assert rc == 2 and "the parameters of marginalization (sigma" in _one_sentence_error(err)
    rc, _, err = _run(capsys, *common, "--methods", "zero,grad", "--n", 4)
    assert rc == 2 and "the store has no grad" in _one_sentence_error(err)
    rc, _, err = _run(capsys, *common, "--methods", "zero", "--n", 6)
    assert rc == 2 and "lacks 2 of the 6 rows" in _one_sentence_error(err)
    other = save_tiny(tmp_path / "other", "textcnn", seed=1)
    rc, _, err = _run(capsys, "evaluate", "--model", other, "--data", data, "--mlm", mlm, "--metric", "aopc",
                      "--store", store, "--methods", "zero", "--n", 4)
    assert rc == 2 and "the model (its content hash)" in _one_sentence_error(err)
    rc, _, err = _run(capsys, *common, "--methods", "zero", "--n", 4, "--metric", "matching_rate")
    assert rc == 2 and "--store" in _one_sentence_error(err)


def test_evaluate_backend_ray_computes_into_a_store_inside_out(files, capsys, monkeypatch):
    """``evaluate --backend ray``: the attributions go through attribute_dataset(backend="ray") into
    OUT/attributions, and the report equals the local one (run_ray replaced by an in-process stand-in)."""
    import interp_engine.ray_backend as rb
    from tests.engine.test_store import _fake_ray

    d, model, mlm, data = files
    calls: list = []
    monkeypatch.setattr(rb, "run_ray", _fake_ray(calls))
    common = ["evaluate", "--model", model, "--data", data, "--mlm", mlm, "--metric", "comprehensiveness",
              "--methods", "zero,grad_input", "--n", 5, "--seed", 2, "--json"]
    rc, local, err = _run(capsys, *common)
    assert rc == 0, err
    rc, ray, err = _run(capsys, *common, "--backend", "ray", "--workers", 3, "--out", d / "ev_ray")
    assert rc == 0, err
    assert [c[0] for c in calls] == [[0, 1, 2, 3, 4]] and calls[0][2] == 3
    assert open_store(d / "ev_ray" / "attributions").rows() == [0, 1, 2, 3, 4]
    assert _report(local) == _report(ray)
