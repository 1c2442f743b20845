"""``interp-studio evaluate``: the JSON contract, output files, resuming an interrupted run (same
CSV as an uninterrupted one), settings checks and error exit codes; one small real-data run."""
from __future__ import annotations

import csv
import json
import math
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


# -- known values: the metrics recomputed by hand from their definitions ---------------------------
#: sentences of more than 10 words (IoT's top-10 is then a real selection) and short ones
LIVELY_TEXTS = [
    "a good film with great acting , the plot is thin but the cast is superb",
    "boring and dull , not good at all , I hated the film but the cast is fun",
    "never boring , always fun , a great cast and superb acting in a good film",
    "a good film with great acting",
    "boring and dull , I hated it",
    "never boring , always fun",
]
LIVELY_LABELS = [1, 1, 0, 1, 0, 1]
#: a hand-made tag file: phrase → 5-class label (3-4 positive, 2 neutral, 0-1 negative)
LIVELY_TAGS = {"good": 3, "great": 4, "superb": 4, "fun": 3, "always": 3, "boring": 0, "dull": 1, "hated": 0,
               "film": 2, "the": 2, "cast": 2, "acting": 2, "plot": 2}


@pytest.fixture(scope="module")
def lively(tmp_path_factory):
    """A tiny TextCNN whose probabilities move when words go (output layer ×10, bias 0: every
    sentence is predicted class 1, p ≈ 0.64), its data (labels :data:`LIVELY_LABELS`) and tags."""
    import torch

    from interp_engine.models import TextCNNForSequenceClassification

    d = tmp_path_factory.mktemp("lively")
    path = save_tiny(d / "clf", "textcnn", seed=1)
    m = TextCNNForSequenceClassification.from_pretrained(path)
    with torch.no_grad():
        m.classifier.weight.mul_(10)
        m.classifier.bias.zero_()
    m.save_pretrained(path)
    data = d / "test.tsv"
    data.write_text("label\ttext\n" + "".join(f"{y}\t{t}\n" for y, t in zip(LIVELY_LABELS, LIVELY_TEXTS)),
                    encoding="utf-8")
    tags = d / "tags.tsv"
    tags.write_text("phrase\tlabel_5class\n" + "".join(f"{w}\t{v}\n" for w, v in LIVELY_TAGS.items()), encoding="utf-8")
    return path, data, tags


def _steps(n: int, q: float) -> int:
    """ceil(q · n) tokens (at least 1, at most n), q · n rounded to 9 decimals first (0.2 · 15 = 3)."""
    return max(1, min(n, math.ceil(round(q * n, 9))))


def _p_by_hand(clf, ids, target, gone, strategy):
    """p(target) of the sentence ``ids`` with the positions ``gone`` deleted (``remove``: the sentence
    gets shorter, one [PAD] token when nothing is left) or their embeddings zeroed (``zero``)."""
    import torch

    with torch.inference_mode():
        if strategy == "remove":
            kept = [int(v) for j, v in enumerate(ids) if j not in gone] or [clf.tokenizer.pad_token_id]
            x = torch.tensor([kept])
            logits = clf.logits(x, torch.ones_like(x), None)
        else:
            x = torch.tensor([[int(v) for v in ids]])
            emb = clf.embed(x).clone()
            emb[0, sorted(gone)] = 0
            logits = clf.logits_from_embeds(emb, torch.ones_like(x), None)
    return float(torch.softmax(logits.double(), -1)[0, target])


def _area_by_hand(x, p, x_max):
    """Area under the piecewise-linear curve through (x_k, p_k) on [0, x_max], divided by x_max."""
    area = 0.0
    for k in range(len(x) - 1):
        if x[k] >= x_max:
            break
        x1 = min(x[k + 1], x_max)
        p1 = p[k] + (p[k + 1] - p[k]) * (x1 - x[k]) / (x[k + 1] - x[k])
        area += (p[k] + p1) / 2 * (x1 - x[k])
    return area / x_max


class _ByHand:
    """Each metric of one (sentence, method) from its definition, with the engine's attribution."""

    def __init__(self, model, mlm=None):
        from interp_engine.models import load_classifier

        self.clf = load_classifier(model, device="cpu")
        self.eng = Engine("cpu")
        self.eng.load_model(model)
        if mlm is not None:
            self.eng.load_mlm(mlm)

    def setup(self, text, method):
        a = self.eng.attribute(text, method)
        enc = self.clf.encode([text])
        n = enc.lengths()[0]
        ids = enc.input_ids[0, :n].tolist()
        words = [i for i in range(n) if not enc.special[0][i]]
        order = sorted(words, key=lambda i: (-float(a.scores[i]), i))  # most attributed first, ties: earlier
        return a, ids, words, order

    def curve(self, text, method, strategy, x_max):
        a, ids, words, order = self.setup(text, method)
        n, t = len(words), a.target
        K = _steps(n, x_max)
        p = [_p_by_hand(self.clf, ids, t, set(order[:k]), strategy) for k in range(K + 1)]
        return [k / n for k in range(K + 1)], p

    def auc(self, text, method, strategy, x_max=0.2):
        x, p = self.curve(text, method, strategy, x_max)
        return _area_by_hand(x, p, x_max)

    def aopc(self, text, method, strategy, x_max=0.2):
        _, p = self.curve(text, method, strategy, x_max)
        return float(np.mean([p[0] - pk for pk in p]))

    def bins(self, text, method, strategy, metric):
        a, ids, words, order = self.setup(text, method)
        t, n = a.target, len(words)
        p0 = _p_by_hand(self.clf, ids, t, set(), strategy)
        out = []
        for q in (0.1, 0.2, 0.5):
            top = set(order[:_steps(n, q)])
            gone = top if metric == "comprehensiveness" else set(words) - top
            out.append(p0 - _p_by_hand(self.clf, ids, t, gone, strategy))
        return out

    def iot(self, text, method, tags, label):
        """|P ∩ T| / |P|: P the positive-tagged words, T the 10 most attributed words (NaN unless the
        sentence is labelled and predicted positive, or when P is empty); and the mean attribution of
        the neutral-tagged words."""
        a, ids, words, order = self.setup(text, method)
        tag = {i: tags.get(a.tokens[i].lower()) for i in words}
        P = {i for i in words if tag[i] in (3, 4)}
        T = set(order[:10])
        neutral = [float(a.scores[i]) for i in words if tag[i] == 2]
        v = len(P & T) / len(P) if (P and a.target == 1 and label == 1) else float("nan")
        return v, (float(np.mean(neutral)) if neutral else float("nan"))


def _rows_of(out, method):
    return [r for r in _csv(out / "per_sentence.csv") if r["method"] == method]


def _same(got: str, want: float, tol=1e-6):
    if math.isnan(want):
        return got == "nan"
    return abs(float(got) - want) <= tol


def test_auc_rep_known_values(lively, capsys, tmp_path):
    """AUC_rep with zero replacement = the area of the deletion curve computed by hand, /x_max."""
    model, data, _ = lively
    hand = _ByHand(model)
    for x_max in (0.2, 0.3):
        out = tmp_path / f"auc{x_max}"
        rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--metric", "auc_rep", "--strategy", "zero",
                               "--methods", "grad_input,loo", "--x-max", x_max, "--out", out, "--json")
        assert rc == 0, err
        rep = json.loads(stdout.strip().splitlines()[-1])
        for m in ("grad_input", "loo"):
            rows = _rows_of(out, m)
            want = [hand.auc(t, m, "zero", x_max) for t in LIVELY_TEXTS]
            assert len(rows) == len(LIVELY_TEXTS)
            for r, w in zip(rows, want):
                assert _same(r["value"], w), (m, x_max, r["index"], r["value"], w)
            assert rep["methods"][m]["mean"] == pytest.approx(np.mean(want), abs=1e-6)
    # the areas differ between sentences and methods: a wrong order or step would show
    assert np.ptp([hand.auc(t, "grad_input", "zero") for t in LIVELY_TEXTS]) > 1e-3


def test_other_metrics(files, lively, capsys, tmp_path):
    """AOPC, comprehensiveness and sufficiency with removal, and IoT, equal their definitions
    computed by hand (per sentence) on a model whose probabilities move."""
    model, data, tag_file = lively
    mlm = files[2]
    hand = _ByHand(model, mlm)
    for metric in ("aopc", "comprehensiveness", "sufficiency"):
        out = tmp_path / metric
        rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--metric", metric, "--methods", "zero,grad",
                               "--strategy", "remove", "--out", out, "--json")
        assert rc == 0, err
        rep = json.loads(stdout.strip().splitlines()[-1])
        assert rep["strategy"] == "remove" and rep["methods"]["zero"]["n"] == len(LIVELY_TEXTS)
        if metric != "aopc":
            assert set(rep["bins"]["zero"]) == {"bin_10", "bin_20", "bin_50"}
        for m in ("zero", "grad"):
            rows = _rows_of(out, m)
            for r, t in zip(rows, LIVELY_TEXTS):
                if metric == "aopc":
                    want = hand.aopc(t, m, "remove")
                else:
                    per = hand.bins(t, m, "remove", metric)
                    for col, w in zip(("bin_10", "bin_20", "bin_50"), per):
                        assert _same(r[col], w), (metric, m, r["index"], col, r[col], w)
                    want = float(np.mean(per))
                assert _same(r["value"], want), (metric, m, r["index"], r["value"], want)
        vals = [float(r["value"]) for r in _rows_of(out, "grad")]
        assert np.ptp(vals) > 1e-4, (metric, vals)  # the values move: the check means something
    tags = dict(LIVELY_TAGS)
    out = tmp_path / "iot"
    rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--mlm", mlm, "--metric", "iot",
                           "--methods", "marginalization,zero", "--phrase-labels", tag_file, "--out", out, "--json",
                           "--iot-all")  # the short sentences too (the default drops them: test_double_trouble.py)
    assert rc == 0, err
    rep = json.loads(stdout.strip().splitlines()[-1])
    assert set(rep["neutral_mean"]) == {"marginalization", "zero"}
    for m in ("marginalization", "zero"):
        want = [hand.iot(t, m, tags, y) for t, y in zip(LIVELY_TEXTS, LIVELY_LABELS)]
        rows = _rows_of(out, m)
        for r, (v, nm) in zip(rows, want):
            assert _same(r["value"], v, 1e-12), (m, r["index"], r["value"], v)
            assert _same(r["neutral_mean"], nm, 1e-9), (m, r["index"], r["neutral_mean"], nm)
        fin = [v for v, _ in want if not math.isnan(v)]
        assert rep["methods"][m]["n"] == len(fin) == 4
        assert rep["methods"][m]["mean"] == pytest.approx(np.mean(fin), abs=1e-12)
    # the long sentences make the top-10 a real choice: some IoT is neither 0 nor 1
    assert any(0 < v < 1 for v, _ in (hand.iot(t, "zero", tags, 1) for t in LIVELY_TEXTS[:3]))
    # human-readable output without --json
    d, fmodel, _, fdata = files
    rc, stdout, _ = _run(capsys, "--model", fmodel, "--data", fdata, "--metric", "aopc", "--methods", "zero",
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
