"""``interp-studio evaluate`` on sentence pairs: every curve metric runs on the pairs of a pair
dataset, and ``segment_ratio`` (Kim et al. 2020 §4.4, Fig. 4c: hypothesis tokens get about twice
the attribution of premise tokens) is checked against a hand computation from the attributions of
``Engine.run(AttributionRequest(...))``; errors on single texts, resuming from ``--out``."""
from __future__ import annotations

import csv
import dataclasses
import json
import math

import numpy as np
import pytest

from interp_engine.cli import EVALUATE_METRICS, main
from interp_engine.engine import Engine
from interp_engine.errors import InputError
from interp_engine.evaluation import FAITHFULNESS_METRICS, evaluate, evaluate_request, segment_ratio
from interp_engine.inputs import TextInput
from interp_engine.requests import AttributionRequest, EvaluateRequest
from interp_engine.config import EvaluateConfig
from tests.helpers import TINY_PAIRS, TINY_TEXTS, save_pairs_tsv, save_tiny, save_tiny_bert, save_tiny_pair

METHODS = ("zero", "grad_input")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("evalpairs")
    model = save_tiny_pair(d / "pair", "bilstm", seed=3)
    data = save_pairs_tsv(d / "pairs.tsv")
    single = d / "single.tsv"
    single.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS)), encoding="utf-8")
    return d, model, data, single


def _run(capsys, *argv):
    rc = main(["evaluate", *map(str, argv), "--device", "cpu"])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def _hand(model, pairs, methods=METHODS):
    """Per method: per pair (ratio, premise mean |score|, hypothesis mean |score|), computed here
    from the scores of Engine.run(AttributionRequest) and the tokens' segments."""
    eng = Engine("cpu")
    eng.load_model(model)
    out = {m: [] for m in methods}
    for p, h in pairs:
        for m in methods:
            a = eng.run(AttributionRequest(input=TextInput.pair(p, h), method=m))
            s = np.abs(np.asarray(a.scores, dtype=np.float64))
            seg = np.asarray(a.segments)
            words = ~np.asarray(a.special, dtype=bool)
            prem = [s[i] for i in range(len(s)) if seg[i] == 0 and words[i]]
            hyp = [s[i] for i in range(len(s)) if seg[i] == 1 and words[i]]
            assert prem and hyp
            pm, hm = sum(prem) / len(prem), sum(hyp) / len(hyp)
            out[m].append((hm / pm if pm > 0 else math.nan, pm, hm))
    return out


def test_segment_ratio_is_a_cli_metric():
    assert "segment_ratio" in FAITHFULNESS_METRICS and "segment_ratio" in EVALUATE_METRICS
    assert "hypothesis" in EVALUATE_METRICS["segment_ratio"]


def test_segment_ratio_function():
    # premise |scores| 1, 3 (mean 2), hypothesis 4, -6 (mean 5), a special token of score 100 ignored
    r, pm, hm = segment_ratio([100.0, 1.0, -3.0, 100.0, 4.0, -6.0, 100.0], [-1, 0, 0, -1, 1, 1, -1],
                              [True, False, False, True, False, False, True])
    assert (r, pm, hm) == (2.5, 2.0, 5.0)
    # a special token flagged only by ``special`` is excluded too
    assert segment_ratio([9.0, 1.0, 2.0], [0, 0, 1], [True, False, False])[0] == 2.0
    r, pm, hm = segment_ratio([0.0, 0.0, 1.0], [0, 0, 1])
    assert math.isnan(r) and pm == 0.0 and hm == 1.0
    with pytest.raises(InputError):
        segment_ratio([1.0, 2.0], [0])


def test_cli_segment_ratio_matches_a_hand_computation(files, capsys):
    d, model, data, _ = files
    rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--metric", "segment_ratio",
                           "--methods", ",".join(METHODS), "--n", 5, "--json")
    assert rc == 0, err
    rep = _json(stdout)
    assert rep["metric"] == "segment_ratio" and rep["strategy"] is None and rep["n_sentences"] == 5
    assert rep["segment_names"] == ["premise", "hypothesis"]
    hand = _hand(model, [(p, h) for _, p, h in TINY_PAIRS])
    for m in METHODS:
        ratios = np.array([r for r, _, _ in hand[m]])
        pms = np.array([pm for _, pm, _ in hand[m]])
        hms = np.array([hm for _, _, hm in hand[m]])
        got = rep["methods"][m]
        assert got["n"] == 5
        assert got["mean"] == pytest.approx(ratios.mean(), rel=1e-6)
        assert got["se"] == pytest.approx(ratios.std(ddof=1) / np.sqrt(5), rel=1e-6)
        # the mean of the per-pair ratios, not the ratio of the mean |scores| (they differ here)
        assert abs(hms.mean() / pms.mean() - ratios.mean()) > 1e-3 * ratios.mean()
        assert rep["fraction_above_1"][m] == pytest.approx(np.mean(ratios > 1))
        assert rep["n_undefined"][m] == 0
        assert rep["premise_abs_mean"][m]["mean"] == pytest.approx(pms.mean(), rel=1e-6)
        assert rep["hypothesis_abs_mean"][m]["mean"] == pytest.approx(hms.mean(), rel=1e-6)
        assert rep["premise_abs_mean"][m]["n"] == 5


def test_segment_ratio_excludes_special_tokens(tmp_path):
    """A BERT pair ([CLS] premise [SEP] hypothesis [SEP]): grad × input gives [CLS] a score, which
    must count in neither mean."""
    model = save_tiny_bert(tmp_path / "bert", num_labels=3)
    pairs = [("a good film with great acting", "the plot is thin"),
             ("boring and dull , I hated it", "never boring , always fun"),
             ("a bad film , not good at all", "the cast is superb")]
    data = tmp_path / "pairs.tsv"
    data.write_text("label\tpremise\thypothesis\n" + "".join(f"{i % 3}\t{p}\t{h}\n" for i, (p, h) in enumerate(pairs)),
                    encoding="utf-8")
    eng = Engine("cpu")
    eng.load_model(model)
    eng.load_dataset(data)
    a = eng.run(AttributionRequest(input=TextInput.pair(*pairs[0]), method="grad_input"))
    special = np.asarray(a.special, bool)
    assert special.any() and np.abs(a.scores[special]).max() > 0  # the test can see specials leak in
    rep = evaluate_request(eng, EvaluateRequest(metric="segment_ratio",
                                                evaluate=EvaluateConfig(methods=("grad_input",))))
    hand = _hand(model, pairs, ("grad_input",))["grad_input"]
    assert rep["methods"]["grad_input"]["mean"] == pytest.approx(np.mean([r for r, _, _ in hand]), rel=1e-6)
    assert rep["premise_abs_mean"]["grad_input"]["mean"] == pytest.approx(np.mean([pm for _, pm, _ in hand]), rel=1e-6)


def test_auc_rep_and_other_curve_metrics_run_on_pairs(files, capsys, tmp_path):
    d, model, data, _ = files
    rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--metric", "auc_rep", "--strategy", "zero",
                           "--methods", ",".join(METHODS), "--out", tmp_path / "auc", "--json")
    assert rc == 0, err
    rep = _json(stdout)
    for m in METHODS:
        assert rep["methods"][m]["n"] == len(TINY_PAIRS) and np.isfinite(rep["methods"][m]["mean"])
        assert 0 <= rep["methods"][m]["mean"] <= 1
    rows = list(csv.DictReader(open(tmp_path / "auc" / "per_sentence.csv", encoding="utf-8")))
    # n_words counts the tokens of both texts
    n_tok = [len(p.split()) + len(h.split()) for _, p, h in TINY_PAIRS]
    assert [int(r["n_words"]) for r in rows if r["method"] == "zero"] == n_tok
    assert (tmp_path / "auc" / "curves.csv").is_file()
    for metric in ("aopc", "comprehensiveness", "sufficiency"):
        rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--metric", metric, "--strategy", "remove",
                               "--methods", "zero", "--n", 2, "--json")
        assert rc == 0, err
        assert np.isfinite(_json(stdout)["methods"]["zero"]["mean"])


def test_direct_evaluate_on_pairs_equals_the_cli(files, capsys):
    d, model, data, _ = files
    eng = Engine("cpu")
    eng.load_model(model)
    ds = eng.load_dataset(data)
    rep = evaluate(eng, ds.inputs()[:3], metric="segment_ratio", methods=list(METHODS))
    # (premise, hypothesis) tuples are read as pairs too
    rep2 = evaluate(eng, [(p, h) for _, p, h in TINY_PAIRS[:3]], metric="segment_ratio", methods=list(METHODS))
    hand = _hand(model, [(p, h) for _, p, h in TINY_PAIRS[:3]])
    for m in METHODS:
        assert rep["methods"][m]["mean"] == pytest.approx(np.mean([r for r, _, _ in hand[m]]), rel=1e-6)
        assert rep2["methods"][m] == rep["methods"][m]
    with pytest.raises(InputError, match="pair"):
        evaluate(eng, list(ds.texts[:3]), metric="segment_ratio", methods=["zero"])
    with pytest.raises(InputError, match="mix"):
        evaluate(eng, [ds.input(0), ds.texts[1]], metric="aopc", methods=["zero"], strategy="zero")
    # one text for a pair model: one clear error, not a NaN row per sentence
    with pytest.raises(InputError, match="pair"):
        evaluate(eng, list(ds.texts[:3]), metric="aopc", methods=["zero"], strategy="zero")


def test_undefined_ratio_when_the_premise_gets_nothing(files, monkeypatch):
    d, model, data, _ = files
    eng = Engine("cpu")
    eng.load_model(model)
    ds = eng.load_dataset(data)
    real = Engine.attribute

    def premise_zero_on_row_0(self, text, method, *a, **kw):
        res = real(self, text, method, *a, **kw)
        if TextInput.of(text) == ds.input(0):
            res = dataclasses.replace(res, scores=np.where(np.asarray(res.segments) == 0, 0.0, res.scores))
        return res

    monkeypatch.setattr(Engine, "attribute", premise_zero_on_row_0)
    rep = evaluate(eng, ds.inputs(), metric="segment_ratio", methods=["zero"])
    assert rep["methods"]["zero"]["n"] == len(TINY_PAIRS) - 1
    assert rep["n_undefined"]["zero"] == 1
    assert rep["premise_abs_mean"]["zero"]["n"] == len(TINY_PAIRS)  # the zero premise mean still counts


def test_single_text_dataset_and_pair_only_errors(files, capsys, tmp_path):
    d, model, data, single = files
    single_model = save_tiny(tmp_path / "single", "textcnn")
    rc, _, err = _run(capsys, "--model", single_model, "--data", single, "--metric", "segment_ratio",
                      "--methods", "zero")
    assert rc == 2 and "segment_ratio compares the two texts of a pair: open a pair dataset" in err, err
    rc, _, err = _run(capsys, "--model", model, "--data", data, "--metric", "matching_rate", "--n", 1)
    assert rc == 2 and "matching rate (Yuan et al.) is defined for single-text models" in err, err
    rc, _, err = _run(capsys, "--model", model, "--data", data, "--metric", "iot", "--methods", "zero")
    assert rc == 2 and "iot" in err and "pairs" in err, err


def test_segment_ratio_resumes_from_out(files, capsys, tmp_path, monkeypatch):
    d, model, data, _ = files
    out = tmp_path / "ratio"
    args = ["--model", model, "--data", data, "--metric", "segment_ratio", "--methods", ",".join(METHODS),
            "--out", out, "--json"]
    calls = []
    real = Engine.attribute

    def counted(self, *a, **kw):
        calls.append(1)
        return real(self, *a, **kw)

    monkeypatch.setattr(Engine, "attribute", counted)
    rc, stdout, err = _run(capsys, *args, "--n", 3)
    assert rc == 0, err
    assert len(calls) == 3 * len(METHODS)
    first = _json(stdout)
    for f in ("per_sentence.csv", "run.json", "summary.json", "table.tex", "curves.pdf"):
        assert (out / f).is_file(), f
    assert not (out / "curves.csv").exists()  # no curves: attributions only
    rows = list(csv.DictReader(open(out / "per_sentence.csv", encoding="utf-8")))
    assert len(rows) == 3 * len(METHODS)
    assert {"premise_abs_mean", "hypothesis_abs_mean", "n_premise", "n_hypothesis"} <= set(rows[0])
    assert [int(r["n_premise"]) for r in rows if r["method"] == "zero"] == [len(p.split()) for _, p, _ in TINY_PAIRS[:3]]
    # the same run again computes nothing new and reports the same numbers
    calls.clear()
    rc, stdout, err = _run(capsys, *args, "--n", 3)
    assert rc == 0, err
    assert calls == [] and "sentence" not in err
    assert _json(stdout)["methods"] == first["methods"]
    # a larger --n computes only the new pairs
    rc, stdout, err = _run(capsys, *args, "--n", 5)
    assert rc == 0, err
    assert len(calls) == 2 * len(METHODS)
    rep = _json(stdout)
    hand = _hand(model, [(p, h) for _, p, h in TINY_PAIRS])
    assert rep["methods"]["zero"]["mean"] == pytest.approx(np.mean([r for r, _, _ in hand["zero"]]), rel=1e-6)
    # other settings are refused
    rc, _, err = _run(capsys, *[a if a != ",".join(METHODS) else "zero" for a in args])
    assert rc == 2 and "other settings" in err
