"""Faithfulness metrics that do not favour the explainer (Pham et al. 2022, "Double Trouble"):
an independent replacement sampler for AUC_rep (``--sampler-mlm``), the removal AUC and both AOPC
conventions next to every AUC_rep, Kendall τ with leave-one-out (``loo_tau``), IoT on long sentences
with a random baseline, and the matching rate's SE and random-words baseline. Every value is
recomputed here from its definition."""
from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from interp_engine.config import EvaluateConfig
from interp_engine.engine import Engine
from interp_engine.evaluation import (
    AUC_COMPANIONS,
    latex_table,
    loo_kendall_tau,
    paired_tests,
    paired_vs_reference,
)
from interp_engine.faithfulness import (
    AOPC_BINS_ERASER,
    AOPC_BINS_FERRET,
    aopc_at,
    aopc_eraser,
    aopc_ferret,
    deletion_curves,
    ferret_steps,
)
from interp_engine.hashing import model_folder_hash
from interp_engine.requests import EvaluateRequest
from tests.engine.test_evaluate_cli import (  # noqa: F401 - fixtures
    LIVELY_LABELS,
    LIVELY_TAGS,
    LIVELY_TEXTS,
    _ByHand,
    _csv,
    _p_by_hand,
    _run,
    _same,
    files,
    lively,
)
from tests.engine.test_marginalization import tiny_mlm
from tests.helpers import TINY_TEXTS, save_tiny, tiny_tokenizer


def _report(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _rows(out, method):
    return [r for r in _csv(out / "per_sentence.csv") if r["method"] == method]


# -- the bins of ERASER and ferret on a hand-made curve --------------------------------------------
def test_ferret_steps_floor_drop_zero_and_repeats():
    # n = 5: floor(0.5) = 0 dropped; 1, 1, 2, 2, 3, 3, 4, 4, 5 → repeats dropped
    assert ferret_steps(5).tolist() == [1, 2, 3, 4, 5]
    # n = 12: floor(1.2, 2.4, 3.6, 4.8, 6, 7.2, 8.4, 9.6, 10.8, 12)
    assert ferret_steps(12).tolist() == [1, 2, 3, 4, 6, 7, 8, 9, 10, 12]
    # 0.3 · 10 is 3.0000000000000004 in floats and 0.7 · 10 is 7.000000000000001: still 3 and 7
    assert ferret_steps(10).tolist() == list(range(1, 11))
    assert ferret_steps(0).tolist() == []
    assert AOPC_BINS_FERRET == tuple(j / 10 for j in range(1, 11))
    assert AOPC_BINS_ERASER == (0.01, 0.05, 0.1, 0.2, 0.5)


def test_aopc_conventions_on_a_hand_made_curve():
    n = 12
    p = np.array([[0.9, 0.8, 0.7, 0.65, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1],
                  [0.9, 0.9, 0.85, 0.8, 0.8, 0.7, 0.6, 0.6, 0.5, 0.5, 0.4, 0.3, 0.2]])
    curves = SimpleNamespace(n_words=n, p_deletion=p, x_max=1.0)
    # ERASER: ceil(q · 12) for q = 1, 5, 10, 20, 50 % → 1, 1, 2, 3, 6 (repeats kept: they are bins)
    eraser = [np.mean([p[m, 0] - p[m, k] for k in (1, 1, 2, 3, 6)]) for m in range(2)]
    ferret = [np.mean([p[m, 0] - p[m, k] for k in (1, 2, 3, 4, 6, 7, 8, 9, 10, 12)]) for m in range(2)]
    np.testing.assert_allclose(aopc_eraser(curves), eraser, atol=1e-12)
    np.testing.assert_allclose(aopc_ferret(curves), ferret, atol=1e-12)
    assert abs(eraser[0] - ferret[0]) > 0.05  # the conventions really differ
    assert np.isnan(aopc_at(p, [])).all()
    from interp_engine.errors import InputError

    with pytest.raises(InputError):
        aopc_at(p, [13])
    with pytest.raises(InputError):  # a curve that stops at 20 % cannot give the 50 % bin
        aopc_eraser(SimpleNamespace(n_words=n, p_deletion=p[:, :4], x_max=0.2))


# -- AUC_rep and its companions --------------------------------------------------------------------
def _ferret_ks(n):
    return sorted({(j * n) // 10 for j in range(1, 11)} - {0})


def _eraser_ks(n):
    return [max(1, -(-j * n // 100)) for j in (1, 5, 10, 20, 50)]


def test_auc_rep_reports_removal_auc_and_both_aopcs(lively, capsys, tmp_path):
    """Next to AUC_rep (here with zero replacement): the removal AUC on the same [0, x_max] and the
    AOPCs of ERASER's and ferret's bins, all by removal, equal their definitions per sentence."""
    model, data, _ = lively
    hand = _ByHand(model)
    out = tmp_path / "auc"
    rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--metric", "auc_rep", "--strategy", "zero",
                           "--methods", "grad_input,loo", "--x-max", 0.3, "--seed", 4, "--out", out, "--json")
    assert rc == 0, err
    rep = _report(stdout)
    per = {name: {} for name in AUC_COMPANIONS}
    for m in ("grad_input", "loo"):
        rows = _rows(out, m)
        assert len(rows) == len(LIVELY_TEXTS)
        for r, t in zip(rows, LIVELY_TEXTS):
            a, ids, words, order = hand.setup(t, m)
            n = len(words)
            p = [_p_by_hand(hand.clf, ids, a.target, set(order[:k]), "remove") for k in range(n + 1)]
            want = {"auc_remove": hand.auc(t, m, "remove", 0.3),
                    "aopc_eraser": float(np.mean([p[0] - p[k] for k in _eraser_ks(n)])),
                    "aopc_ferret": float(np.mean([p[0] - p[k] for k in _ferret_ks(n)]))}
            for name, w in want.items():
                assert _same(r[name], w), (m, r["index"], name, r[name], w)
                per[name].setdefault(m, []).append(w)
            assert _same(r["value"], hand.auc(t, m, "zero", 0.3))
        for name in AUC_COMPANIONS:
            assert rep[name][m]["n"] == len(LIVELY_TEXTS)
            assert rep[name][m]["mean"] == pytest.approx(np.mean(per[name][m]), abs=1e-6)
            assert rep[name][m]["se"] == pytest.approx(np.std(per[name][m], ddof=1) / math.sqrt(6), abs=1e-6)
    # removal is not zero replacement: the companion is a curve of its own
    zero_auc = [float(r["value"]) for r in _rows(out, "grad_input")]
    assert max(abs(a - b) for a, b in zip(zero_auc, per["auc_remove"]["grad_input"])) > 1e-4
    # the paired tests cover every companion, on the per-sentence values
    for name in AUC_COMPANIONS:
        vals = {m: np.array([float(r[name]) for r in _rows(out, m)]) for m in ("grad_input", "loo")}
        want = paired_tests(vals, seed=4)
        got = rep["paired_by_metric"][name]
        assert [(g["a"], g["b"], g["n"]) for g in got] == [(w["a"], w["b"], w["n"]) for w in want]
        for g, w in zip(got, want):
            assert g["mean_difference"] == pytest.approx(w["mean_difference"], abs=1e-9)
            assert g["wilcoxon_p"] == pytest.approx(w["wilcoxon_p"], rel=1e-9)
    tex = (out / "table.tex").read_text()
    for label, _ in AUC_COMPANIONS.values():
        assert label in tex
    lines = (out / "paired_by_metric.csv").read_text().splitlines()
    assert lines[0].startswith("quantity,a,b,") and len(lines) == 1 + 3
    # the attributions are computed once per sentence and reused by every quantity: timed apart
    t = rep["timing"]
    assert t["n_sentences"] == len(LIVELY_TEXTS) and min(t["attribution_s"], t["curves_s"], t["companions_s"]) >= 0


def test_latex_companion_rows_have_their_own_best_and_daggers():
    stats = lambda a, b: {"zero": {"mean": a, "se": 0.01, "n": 9}, "unk": {"mean": b, "se": 0.01, "n": 9}}  # noqa: E731
    rep = {"metric": "auc_rep", "methods": stats(0.40, 0.45), "lower_is_better": True, "strategy": "mlm",
           "paired": [{"a": "zero", "b": "unk", "significant": False}],
           "auc_remove": stats(0.50, 0.30), "aopc_eraser": stats(0.20, 0.10), "aopc_ferret": stats(0.1, 0.3),
           "paired_by_metric": {"auc_remove": [{"a": "zero", "b": "unk", "significant": True}],
                                "aopc_eraser": [{"a": "zero", "b": "unk", "significant": False}],
                                "aopc_ferret": [{"a": "zero", "b": "unk", "significant": True}]}}
    tex = latex_table(rep)

    def cells(label):
        row = next(line for line in tex.splitlines() if line.startswith(label))
        return [c.strip() for c in row.rstrip("\\ ").split("&")[1:]]

    zero, unk = cells("AUC, removal")  # lower is better: unk best, zero differs
    assert unk.startswith(r"\textbf{") and zero.endswith(r"$^{\dagger}$")
    zero, unk = cells("AOPC, ERASER bins")  # higher is better: zero best, not significant
    assert zero.startswith(r"\textbf{") and r"\dagger" not in unk
    zero, unk = cells("AOPC, ferret bins")
    assert unk.startswith(r"\textbf{") and zero.endswith(r"$^{\dagger}$")
    zero, unk = cells(r"$\mathrm{AUC}")  # the main row keeps its own (no significant pair)
    assert zero.startswith(r"\textbf{") and r"\dagger" not in unk


# -- an independent replacement sampler -------------------------------------------------------------
@pytest.fixture(scope="module")
def second_mlm(files):
    d = files[0] / "mlm_other"
    tiny_mlm(len(tiny_tokenizer()), seed=11).save_pretrained(d)
    tiny_tokenizer().save_pretrained(d)
    return d


def test_sampler_mlm_changes_the_curves_and_equals_a_direct_call(files, lively, second_mlm, capsys, tmp_path):
    from interp_engine.attribution.likelihood import load_mlm_likelihood

    mlm = files[2]
    model, data, _ = lively  # a model whose probabilities move when words are replaced
    common = ["--model", model, "--data", data, "--mlm", mlm, "--metric", "auc_rep",
              "--methods", "marginalization,zero,grad_input", "--n", 6, "--seed", 5, "--x-max", 0.5, "--json"]
    rc, stdout, err = _run(capsys, *common, "--out", tmp_path / "same")
    assert rc == 0, err
    same = _report(stdout)
    rc, stdout, err = _run(capsys, *common, "--sampler-mlm", second_mlm, "--out", tmp_path / "other")
    assert rc == 0, err
    other = _report(stdout)
    # both masked LMs are recorded, with their content hashes, in the report and run.json
    h_mlm, h_other = model_folder_hash(mlm), model_folder_hash(second_mlm)
    assert h_mlm != h_other
    assert same["explainer_mlm"]["hash"] == h_mlm and same["sampler_mlm"]["hash"] == h_mlm
    assert same["sampler_mlm"]["same_as_explainer"] is True and "default" in same["sampler_mlm"]["source"]
    assert other["explainer_mlm"]["hash"] == h_mlm and other["sampler_mlm"]["hash"] == h_other
    assert other["sampler_mlm"]["same_as_explainer"] is False and other["sampler_mlm"]["source"] == "--sampler-mlm"
    run = json.loads((tmp_path / "other" / "run.json").read_text())
    assert run["sampler_mlm"]["hash"] == h_other and run["explainer_mlm"]["hash"] == h_mlm

    # the values equal deletion_curves with that sampler, the attributions from the explainer's MLM
    eng = Engine("cpu")
    eng.load_model(model)
    eng.load_mlm(mlm)
    c = eng.require_model()
    sampler = load_mlm_likelihood(second_mlm, c)
    explainer = eng.likelihood_model("mlm")
    moved = 0.0
    for i, text in enumerate(LIVELY_TEXTS):
        atts = {m: eng.attribute(text, m) for m in ("marginalization", "zero", "grad_input")}
        sub = int(np.random.SeedSequence([5, i]).generate_state(1)[0])
        kw = dict(target=atts["zero"].target, strategy="mlm", x_max=0.5, seed=sub)
        want = deletion_curves(c, text, {m: a.scores for m, a in atts.items()}, likelihood=sampler, **kw)
        ref = deletion_curves(c, text, {m: a.scores for m, a in atts.items()}, likelihood=explainer, **kw)
        for k, m in enumerate(want.methods):
            r = next(r for r in _rows(tmp_path / "other", m) if r["index"] == str(i))
            assert _same(r["value"], float(want.auc[k]), 1e-9), (i, m, r["value"], want.auc[k])
            r0 = next(r for r in _rows(tmp_path / "same", m) if r["index"] == str(i))
            assert _same(r0["value"], float(ref.auc[k]), 1e-9), (i, m, r0["value"], ref.auc[k])
            moved = max(moved, abs(float(r["value"]) - float(r0["value"])))
    assert moved > 1e-4  # another sampler draws other replacements
    # a folder of the default run does not resume with another sampler
    rc, _, err = _run(capsys, *common, "--sampler-mlm", second_mlm, "--out", tmp_path / "same")
    assert rc == 2 and "sampler_mlm" in err


@pytest.mark.parametrize("extra, message", [
    (["--metric", "auc_rep", "--strategy", "zero"], "--sampler-mlm"),
    (["--metric", "iot", "--phrase-labels", "PHRASES"], "replaces no token"),
    (["--metric", "loo_tau"], "replaces no token"),
])
def test_sampler_mlm_where_nothing_is_sampled_is_refused(files, second_mlm, capsys, extra, message):
    d, model, mlm, data = files
    extra = [str(d / "phrase_labels_5class.tsv") if a == "PHRASES" else a for a in extra]
    rc, _, err = _run(capsys, "--model", model, "--data", data, "--mlm", mlm, "--methods", "zero",
                      "--sampler-mlm", second_mlm, "--n", 2, *extra)
    assert rc == 2 and err.startswith("error:") and message in err, err


def test_sampler_mlm_not_a_masked_lm_exits_2(files, capsys, tmp_path):
    d, model, mlm, data = files
    rc, _, err = _run(capsys, "--model", model, "--data", data, "--mlm", mlm, "--metric", "auc_rep",
                      "--methods", "zero", "--sampler-mlm", tmp_path / "nowhere", "--n", 2)
    assert rc == 2 and err.startswith("error:") and "masked language model" in err, err


def test_request_round_trip_keeps_the_new_settings():
    r = EvaluateRequest(metric="auc_rep", sampler_mlm="/x/mlm2", evaluate=EvaluateConfig(iot_all=True))
    back = EvaluateRequest.from_json(json.loads(json.dumps(r.to_json())))
    assert back.sampler_mlm == "/x/mlm2" and back.evaluate.iot_all is True
    assert EvaluateRequest().sampler_mlm is None and EvaluateConfig().iot_all is False


# -- Kendall τ with leave-one-out ---------------------------------------------------------------------
def test_loo_kendall_tau_is_tau_b_on_word_tokens():
    # specials (first, last) excluded: the word tokens are in reverse order, τ = −1
    s = [9.0, 1.0, 2.0, 3.0, -9.0]
    loo = [-9.0, 3.0, 2.0, 1.0, 9.0]
    sp = [True, False, False, False, True]
    assert loo_kendall_tau(s, loo, sp) == pytest.approx(-1.0)
    assert loo_kendall_tau(s, loo) > -1.0  # with the specials it would not be
    # ties: a = (1, 1, 2), b = (1, 2, 3): 2 concordant pairs, 1 tie in a → τ_b = 2 / sqrt(2 · 3)
    assert loo_kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6), abs=1e-12)
    assert math.isnan(loo_kendall_tau([1.0], [2.0]))  # fewer than 2 tokens
    assert math.isnan(loo_kendall_tau([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))  # a constant ranking


def test_cli_loo_tau_by_hand(lively, capsys, tmp_path):
    model, _, _ = lively
    texts = LIVELY_TEXTS + ["superb"]  # one word: skipped and counted
    data = tmp_path / "d.tsv"
    data.write_text("label\ttext\n" + "".join(f"1\t{t}\n" for t in texts), encoding="utf-8")
    out = tmp_path / "tau"
    rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--metric", "loo_tau",
                           "--methods", "zero,grad_input,loo", "--seed", 2, "--out", out, "--json")
    assert rc == 0, err
    rep = _report(stdout)
    assert list(rep["methods"]) == ["zero", "grad_input"] and rep["reference"] == "loo"  # loo is the reference
    assert rep["n_skipped_short"] == 1
    from scipy.stats import kendalltau

    eng = Engine("cpu")
    eng.load_model(model)
    vals = {}
    for m in ("zero", "grad_input"):
        want = []
        for t in texts:
            a, ref = eng.attribute(t, m), eng.attribute(t, "loo")
            w = ~np.asarray(a.special, bool)
            want.append(float(kendalltau(a.scores[w], ref.scores[w]).statistic) if w.sum() >= 2 else float("nan"))
        rows = _rows(out, m)
        for r, v in zip(rows, want):
            assert _same(r["value"], v, 1e-12), (m, r["index"], r["value"], v)
        fin = [v for v in want if math.isfinite(v)]
        assert rep["methods"][m]["n"] == len(fin) == len(LIVELY_TEXTS)
        assert rep["methods"][m]["mean"] == pytest.approx(np.mean(fin), abs=1e-12)
        assert rep["n_undefined"][m] == 0
        vals[m] = np.array(want)
    assert np.ptp(vals["grad_input"][:-1]) > 0.05  # the check means something
    assert rep["paired"][0]["mean_difference"] == pytest.approx(paired_tests(vals, seed=2)[0]["mean_difference"])
    rc, _, err = _run(capsys, "--model", model, "--data", data, "--metric", "loo_tau", "--methods", "loo")
    assert rc == 2 and "other method" in err


# -- IoT: long sentences only, and a random baseline ----------------------------------------------------
def _iot_by_hand(scores, tokens, words, tags):
    P = {i for i in words if tags.get(tokens[i].lower()) in (3, 4)}
    T = set(sorted(words, key=lambda i: (-float(scores[i]), i))[:10])
    return len(P & T) / len(P) if P else float("nan")


def test_iot_excludes_short_sentences_and_has_a_random_baseline(lively, capsys, tmp_path):
    model, _, tag_file = lively
    ten = "a good film with great acting , the cast is"  # exactly 10 tokens: excluded
    eleven = ten + " superb"  # 11: kept
    texts = LIVELY_TEXTS + [ten, eleven]
    labels = LIVELY_LABELS + [1, 1]
    data = tmp_path / "d.tsv"
    data.write_text("label\ttext\n" + "".join(f"{y}\t{t}\n" for y, t in zip(labels, texts)), encoding="utf-8")
    eng = Engine("cpu")
    eng.load_model(model)
    assert [len(eng.attribute(t, "zero").tokens) for t in (ten, eleven)] == [10, 11]
    seed = 3
    want = {"zero": [], "grad_input": []}
    rnd, n_short = [], 0
    for i, (t, y) in enumerate(zip(texts, labels)):
        a0 = eng.attribute(t, "zero")
        words = [j for j in range(len(a0.tokens)) if not a0.special[j]]
        defined = a0.target == 1 and y == 1 and any(LIVELY_TAGS.get(a0.tokens[j].lower()) in (3, 4) for j in words)
        keep = defined and len(words) > 10
        n_short += defined and not keep
        r = np.random.default_rng(np.random.SeedSequence([seed, i, 1])).random(len(a0.tokens))
        rnd.append(_iot_by_hand(r, a0.tokens, words, LIVELY_TAGS) if keep else float("nan"))
        for m in want:
            a = eng.attribute(t, m)
            want[m].append(_iot_by_hand(a.scores, a.tokens, words, LIVELY_TAGS) if keep else float("nan"))
    assert n_short == 3  # "a good film with great acting", "never boring , always fun" and the 10-token one
    out = tmp_path / "iot"
    rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--metric", "iot", "--methods", "zero,grad_input",
                           "--phrase-labels", tag_file, "--seed", seed, "--out", out, "--json")
    assert rc == 0, err
    rep = _report(stdout)
    assert rep["n_excluded_short"] == 3 and rep["min_words"] == 11 and rep["iot_all"] is False
    for m in want:
        for r, v in zip(_rows(out, m), want[m]):
            assert _same(r["value"], v, 1e-12), (m, r["index"], r["value"], v)
        assert rep["methods"][m]["n"] == 3  # sentences 0, 1 and the 11-token one
    fin = [v for v in rnd if math.isfinite(v)]
    assert rep["random_baseline"]["n"] == 3 and rep["random_baseline"]["mean"] == pytest.approx(np.mean(fin), abs=1e-12)
    assert rep["random_baseline"]["se"] == pytest.approx(np.std(fin, ddof=1) / math.sqrt(3), abs=1e-12)
    got = rep["paired_by_metric"]["iot_vs_random"]
    exp = paired_vs_reference({m: np.array(v) for m, v in want.items()}, np.array(rnd), "random", seed=seed)
    assert [(g["a"], g["b"]) for g in got] == [("zero", "random"), ("grad_input", "random")]
    for g, w in zip(got, exp):
        assert g["mean_difference"] == pytest.approx(w["mean_difference"], abs=1e-12)
        assert g["holm_p"] == pytest.approx(w["holm_p"], abs=1e-12)
    assert "Random attribution" in (out / "table.tex").read_text()
    # --iot-all keeps the short ones: 3 more values, none excluded
    rc, stdout, err = _run(capsys, "--model", model, "--data", data, "--metric", "iot", "--methods", "zero",
                           "--phrase-labels", tag_file, "--seed", seed, "--iot-all", "--json")
    assert rc == 0, err
    rep = _report(stdout)
    assert rep["n_excluded_short"] == 0 and rep["methods"]["zero"]["n"] == 6 and rep["random_baseline"]["n"] == 6
    assert rep["n_short_included"] == 3


def test_paired_vs_reference_holm_over_the_methods_only():
    rng = np.random.default_rng(0)
    ref = rng.random(30)
    per = {"a": ref + 0.3 + 0.01 * rng.standard_normal(30), "b": ref + 0.01 * rng.standard_normal(30)}
    rows = paired_vs_reference(per, ref, "random", seed=1)
    single = [paired_tests({m: v, "random": ref}, seed=1)[0] for m, v in per.items()]
    ps = sorted(r["wilcoxon_p"] for r in single)
    assert [r["wilcoxon_p"] for r in rows] == [r["wilcoxon_p"] for r in single]
    # Holm over 2 tests: the smaller p doubled
    assert min(r["holm_p"] for r in rows) == pytest.approx(min(1.0, 2 * ps[0]))
    assert rows[0]["significant"] and not rows[1]["significant"]
    from interp_engine.errors import InputError

    with pytest.raises(InputError):
        paired_vs_reference({"random": ref}, ref, "random")


# -- matching rate: SE and random words -------------------------------------------------------------
def test_matching_rate_se_and_random_words_baseline(tmp_path, capsys):
    from interp_engine.attribution.likelihood import candidate_mask

    from interp_engine.models import TextCNNForSequenceClassification

    d = save_tiny(tmp_path / "cnn", seed=5)
    # a random TextCNN predicts one class for everything: centre its decision on random 15-word
    # inputs so that random words are matched for some sentences and not for others
    net = TextCNNForSequenceClassification.from_pretrained(d).eval()
    with torch.no_grad():
        x = torch.tensor(np.random.default_rng(0).integers(5, net.config.vocab_size, size=(40, 15)))
        lg = net(input_ids=x, attention_mask=torch.ones_like(x)).logits
        net.classifier.bias[1] -= float((lg[:, 1] - lg[:, 0]).median())
    net.save_pretrained(d)
    texts = TINY_TEXTS + ["good film , great cast", "dull and boring acting", "the cast is fun", "a thin plot"]
    data = tmp_path / "d.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(texts)), encoding="utf-8")
    args = ["--metric", "matching_rate", "--model", d, "--data", data, "--steps", 30, "--opt-lr", 0.01, "--seed", 7]
    rc, stdout, err = _run(capsys, *args, "--json")
    assert rc == 0, err
    rep = _report(stdout)
    eng = Engine("cpu")
    eng.load_model(d)
    res = eng.matching_rate(texts, steps=30, lr=0.01, seed=7)
    m = res.matches.astype(float)
    n = len(texts)
    assert rep["matching_rate"] == pytest.approx(m.mean()) and rep["n"] == n
    assert rep["se"] == pytest.approx(m.std(ddof=1) / math.sqrt(n), abs=1e-12)
    c = eng.require_model()
    vocab = np.flatnonzero(candidate_mask(c.tokenizer, len(c.tokenizer)).numpy())
    hits = []
    for b, x in enumerate(res.interpretations):
        w = len(x.split())
        ids = vocab[np.random.default_rng(np.random.SeedSequence([7, b, 2])).integers(0, vocab.size, size=w)]
        with torch.inference_mode():
            t = torch.tensor([ids.tolist()])
            hits.append(float(int(c.logits(t, torch.ones_like(t)).argmax(-1)) == int(res.predicted[b])))
    base = rep["random_baseline"]
    assert base["n"] == n and base["matches"] == [int(h) for h in hits]
    assert base["mean"] == pytest.approx(np.mean(hits), abs=1e-12)
    assert 0 < np.mean(hits) < 1  # some random sentences match, some do not: the draws matter
    # k · m = 3 · 5 words, fewer for a sentence of fewer than k = 3 tokens
    assert base["n_words"] == pytest.approx(np.mean([5 * min(3, len(t.split())) for t in texts]))
    want = paired_tests({"neighbours": m, "random_words": np.array(hits)}, seed=7)
    assert rep["paired"][0]["a"] == "neighbours" and rep["paired"][0]["b"] == "random_words"
    assert rep["paired"][0]["mean_difference"] == pytest.approx(want[0]["mean_difference"], abs=1e-12)
