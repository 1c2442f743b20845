"""``interp-studio evaluate``: the JSON contract, output files, resuming an interrupted run (same
CSV as an uninterrupted one), settings checks and error exit codes; one small real-data run."""
from __future__ import annotations

import csv
import json
import threading

import numpy as np
import pytest

from interp_engine.cli import EVALUATE_METRICS, SUBCOMMANDS, main
from interp_engine.engine import Engine
from interp_engine.errors import Cancelled
from interp_engine.evaluation import evaluate
from tests.engine.test_marginalization import tiny_mlm
from tests.helpers import SHARED_DATA, TINY_TEXTS, save_tiny, tiny_tokenizer

TEXTS = TINY_TEXTS + ["good acting , great cast", "the film is dull", "superb plot but boring cast"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("evalcli")
    model = save_tiny(d / "clf", "textcnn", seed=2)
    mlm_dir = d / "mlm"
    tiny_mlm(len(tiny_tokenizer())).save_pretrained(mlm_dir)
    tiny_tokenizer().save_pretrained(mlm_dir)
    data = d / "test.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TEXTS)), encoding="utf-8")
    (d / "phrase_labels_5class.tsv").write_text(
        "phrase\tlabel_5class\ngood\t3\ngreat\t4\nsuperb\t4\nfilm\t2\nthe\t2\nboring\t0\ndull\t1\nacting\t2\n", encoding="utf-8")
    return d, model, mlm_dir, data


def _run(capsys, *argv):
    rc = main(["evaluate", *map(str, argv), "--device", "cpu"])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_registry_and_subcommand():
    assert "evaluate" in SUBCOMMANDS
    assert {"auc_rep", "aopc", "comprehensiveness", "sufficiency", "iot", "matching_rate"} <= set(EVALUATE_METRICS)


def test_auc_rep_json_contract_and_files(files, capsys):
    d, model, mlm, data = files
    out = d / "run_auc"
    rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--mlm", mlm, "--metric", "auc_rep",
                           "--methods", "marginalization,zero,grad", "--n", 6, "--seed", 3, "--out", out, "--json")
    assert rc == 0, err
    rep = json.loads(stdout.strip().splitlines()[-1])
    assert rep["metric"] == "auc_rep" and rep["strategy"] == "mlm" and rep["x_max"] == 0.2
    assert set(rep["methods"]) == {"marginalization", "zero", "grad"}
    rows = _csv(out / "per_sentence.csv")
    assert len(rows) == 6 * 3
    for m, s in rep["methods"].items():
        v = np.array([float(r["value"]) for r in rows if r["method"] == m])
        assert s["n"] == 6 and s["mean"] == pytest.approx(v.mean())
        assert s["se"] == pytest.approx(v.std(ddof=1) / np.sqrt(6))
        assert np.all((v >= 0) & (v <= 1))
    assert "%" in err  # the progress bar on stderr
    d = {m: np.array([float(r["value"]) for r in rows if r["method"] == m]) for m in rep["methods"]}
    pair = rep["paired_difference"]["zero"]
    assert pair["vs"] == "marginalization" and pair["n"] == 6
    assert pair["mean"] == pytest.approx((d["zero"] - d["marginalization"]).mean())
    for f in ("curves.csv", "table.tex", "curves.pdf", "summary.json", "run.json"):
        assert (out / f).is_file(), f
    assert (out / "curves.pdf").read_bytes()[:4] == b"%PDF"
    assert r"\begin{tabular}" in (out / "table.tex").read_text()
    curves = _csv(out / "curves.csv")
    assert len(curves) == 18 and float(curves[0]["x=0.0000"]) == pytest.approx(float(rows[0]["p_original"]))


def test_interrupted_run_resumes_to_the_same_csv(files, capsys, tmp_path):
    d, model, mlm, data = files
    args = ["--model", model, "--data", data, "--mlm", mlm, "--metric", "auc_rep", "--methods", "zero,unk,grad_input",
            "--seed", 1, "--json"]
    rc, _, err = _run(capsys, *args, "--out", tmp_path / "full")
    assert rc == 0, err
    # interrupt after 3 sentences through the engine API with the same settings the CLI records
    eng = Engine("cpu")
    eng.load_model(model)
    eng.load_mlm(mlm)
    ev = threading.Event()
    from interp_engine.data import load_dataset

    ds = load_dataset(data)
    settings = json.loads((tmp_path / "full" / "run.json").read_text())
    extra = {k: settings[k] for k in ("model", "data", "mlm", "sigma", "top_n")}
    with pytest.raises(Cancelled):
        evaluate(eng, list(ds.texts), metric="auc_rep", methods=["zero", "unk", "grad_input"],
                 labels=[int(v) for v in ds.labels], strategy="mlm", seed=1, out=tmp_path / "part", settings=extra,
                 progress=lambda done, total, msg: ev.set() if done == 3 else None, cancel=ev)
    part = (tmp_path / "part" / "per_sentence.csv").read_text()
    assert len(part.strip().splitlines()) == 1 + 3 * 3
    # a write cut off in the middle of a line is dropped on resume
    with open(tmp_path / "part" / "per_sentence.csv", "a", encoding="utf-8") as f:
        f.write("3,zero,0.12")
    rc, stdout, err = _run(capsys, *args, "--out", tmp_path / "part")
    assert rc == 0, err
    for name in ("per_sentence.csv", "curves.csv"):
        assert (tmp_path / "part" / name).read_text() == (tmp_path / "full" / name).read_text(), name
    # a smaller --n on a finished folder summarises only its first n sentences
    rc, stdout, err = _run(capsys, *args, "--out", tmp_path / "part", "--n", 4)
    rep = json.loads(stdout.strip().splitlines()[-1])
    assert rc == 0 and rep["methods"]["zero"]["n"] == 4
    assert (tmp_path / "part" / "per_sentence.csv").read_text() == (tmp_path / "full" / "per_sentence.csv").read_text()
    # other settings in the same folder are refused with a clear message
    rc, _, err = _run(capsys, *[a if a != 1 else 2 for a in args], "--out", tmp_path / "part")
    assert rc == 2 and "other settings" in err and "seed" in err


def test_other_metrics(files, capsys):
    d, model, mlm, data = files
    for metric in ("aopc", "comprehensiveness", "sufficiency"):
        rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--metric", metric, "--methods", "zero,grad",
                               "--strategy", "remove", "--json")
        assert rc == 0, err
        rep = json.loads(stdout.strip().splitlines()[-1])
        assert rep["strategy"] == "remove" and rep["methods"]["zero"]["n"] == len(TEXTS)
        if metric != "aopc":
            assert set(rep["bins"]["zero"]) == {"bin_10", "bin_20", "bin_50"}
    rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--mlm", mlm, "--metric", "iot",
                           "--methods", "marginalization,zero", "--json")
    assert rc == 0, err
    rep = json.loads(stdout.strip().splitlines()[-1])
    assert set(rep["neutral_mean"]) == {"marginalization", "zero"}
    for m in ("marginalization", "zero"):
        assert 0 <= rep["methods"][m]["mean"] <= 1 or rep["methods"][m]["n"] == 0
    # human-readable output without --json
    rc, stdout, _ = _run(capsys, "--model", model, "--data", data, "--metric", "aopc", "--methods", "zero",
                         "--strategy", "unk", "--n", 2)
    assert rc == 0 and "zero" in stdout and "n = 2" in stdout


@pytest.mark.parametrize("argv, message", [
    (["--metric", "auc_rep", "--methods", "zero"], "--mlm"),
    (["--metric", "auc_rep", "--methods", "zero,bogus", "--strategy", "zero"], "bogus"),
    (["--metric", "auc_rep", "--methods", "marginalization", "--strategy", "zero"], "masked LM"),
    (["--metric", "auc_rep", "--methods", "zero", "--strategy", "zero", "--x-max", "0"], "x-max"),
    (["--metric", "auc_rep", "--methods", "zero", "--strategy", "zero", "--n", "0"], "--n"),
    (["--metric", "iot", "--methods", "zero", "--phrase-labels", "/nonexistent/p.tsv"], "phrase"),
])
def test_errors_exit_2_with_a_message(files, capsys, argv, message):
    d, model, mlm, data = files
    rc, _, err = _run(capsys, "--model", model, "--data", data, *argv)
    assert rc == 2 and err.startswith("error:") and message in err, err


def test_missing_model_or_data_exit_2(files, capsys, tmp_path):
    d, model, mlm, data = files
    rc, _, err = _run(capsys, "--model", tmp_path / "nope", "--data", data, "--metric", "aopc", "--strategy", "zero")
    assert rc == 2 and err.startswith("error:")
    rc, _, err = _run(capsys, "--model", model, "--data", tmp_path / "nope.tsv", "--metric", "aopc", "--strategy", "zero")
    assert rc == 2 and err.startswith("error:")


@pytest.mark.realdata
def test_realdata_sst2_iot_tags_cover_test_words():
    """The SST phrase file tags most words of SST-2 test sentences (cheap: no model)."""
    from interp_engine.faithfulness import load_word_tags

    f = SHARED_DATA / "sst2" / "phrase_labels_5class.tsv"
    if not f.is_file():
        pytest.skip(f"no shared data at {f}")
    tags = load_word_tags(f)
    assert tags["good"] == 1 and tags["bad"] == -1 and tags["the"] == 0
    from interp_engine.data import load_dataset

    words = [w.lower() for t in load_dataset(SHARED_DATA / "sst2" / "test.tsv").texts[:100] for w in t.split()]
    assert np.mean([w in tags for w in words]) > 0.9
