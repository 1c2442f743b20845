"""Paired comparisons of ``evaluate``: Holm's step-down correction (Holm 1979), the percentile
bootstrap interval of the mean difference (Efron & Tibshirani), the Wilcoxon signed-rank test
(Wilcoxon 1945, scipy) per pair of methods, and their place in the JSON, ``paired.csv`` and the
LaTeX table."""
from __future__ import annotations

import csv
import itertools
import json

import numpy as np
import pytest
from scipy.stats import wilcoxon

from interp_engine.cli import main
from interp_engine.config import SignificanceConfig
from interp_engine.engine import Engine
from interp_engine.errors import InputError
from interp_engine.evaluation import PAIRED_COLUMNS, bootstrap_ci, evaluate, holm, latex_table, paired_tests
from tests.helpers import TINY_TEXTS, save_tiny


# -- Holm ------------------------------------------------------------------------------------------
def test_holm_hand_worked_example():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → max(0.06, 0.04) = 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02], rtol=0, atol=1e-15)


def test_holm_monotone_capped_and_edge_cases():
    # step-down monotone: 0.02·3 = 0.06, then 0.025·2 = 0.05 is raised to 0.06, 0.9·1 stays 0.9
    np.testing.assert_allclose(holm([0.9, 0.02, 0.025]), [0.9, 0.06, 0.06], atol=1e-15)
    # capped at 1
    np.testing.assert_allclose(holm([0.6, 0.7]), [1.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(holm([0.3]), [0.3])
    assert holm([]).shape == (0,)
    rng = np.random.default_rng(0)
    p = rng.random(12) ** 3
    adj = holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0) and np.all(adj >= p) and np.all(adj <= 1)
    with pytest.raises(InputError):
        holm([0.1, float("nan")])
    with pytest.raises(InputError):
        holm([1.5])


# -- bootstrap -------------------------------------------------------------------------------------
def test_bootstrap_ci_covers_the_mean_with_the_normal_width():
    mu, sigma, n = 1.5, 2.0, 400
    x = np.random.default_rng(2).normal(mu, sigma, n)
    lo, hi = bootstrap_ci(x, 10_000, 0)
    assert lo < mu < hi and lo < x.mean() < hi
    # the 95 % interval of a mean: about 2 · 1.96 · σ / √n
    assert hi - lo == pytest.approx(2 * 1.96 * sigma / np.sqrt(n), rel=0.15)
    # with the sample's own σ (the bootstrap's: ddof 0) it is much closer
    assert hi - lo == pytest.approx(2 * 1.96 * x.std() / np.sqrt(n), rel=0.05)
    # and centred on the sample mean
    assert (lo + hi) / 2 == pytest.approx(x.mean(), abs=0.05 * (hi - lo))


def test_bootstrap_ci_coverage_over_many_samples():
    """Over 300 normal samples of 40 the 95 % interval covers the true mean about 95 % of the time
    (the percentile interval is a little narrow for small n: about 93-94 %)."""
    rng = np.random.default_rng(11)
    covered = [lo < 0.0 < hi for lo, hi in (bootstrap_ci(rng.normal(0.0, 1.0, 40), 1000, k) for k in range(300))]
    assert 0.89 <= np.mean(covered) <= 0.99


def test_bootstrap_ci_is_seeded():
    x = np.random.default_rng(1).normal(0, 1, 50)
    assert bootstrap_ci(x, 2000, 5) == bootstrap_ci(x, 2000, 5)
    assert bootstrap_ci(x, 2000, 5) != bootstrap_ci(x, 2000, 6)
    # a large sample is drawn in blocks: still seeded and the same for the same seed
    big = np.random.default_rng(2).normal(0, 1, 5000)
    assert bootstrap_ci(big, 600, 3) == bootstrap_ci(big, 600, 3)


def test_bootstrap_ci_edge_cases():
    assert all(np.isnan(bootstrap_ci([], 100, 0)))
    assert bootstrap_ci([0.25], 100, 0) == (0.25, 0.25)
    assert bootstrap_ci(np.zeros(9), 100, 0) == (0.0, 0.0)
    with pytest.raises(InputError):
        bootstrap_ci([1.0, float("nan")], 100, 0)
    with pytest.raises(InputError):
        bootstrap_ci([1.0, 2.0], 0, 0)


# -- paired tests ----------------------------------------------------------------------------------
def test_wilcoxon_p_equals_scipys():
    # three zero differences: dropped ("wilcox"; Pratt's ranking of them gives p = 0.0508 here)
    a = np.array([0.31, 0.52, 0.47, 0.28, 0.66, 0.40, 0.35, 0.59, 0.44, 0.51, 0.38, 0.45])
    b = a - np.array([0.0, 0.0, 0.0, 0.1, 0.2, -0.3, 0.4, 0.5, 0.6, -0.05, 0.7, 0.8])
    (r,) = paired_tests({"a": a, "b": b}, seed=0, n_resamples=1000)
    d = a - b
    assert wilcoxon(d, zero_method="wilcox").pvalue != pytest.approx(wilcoxon(d, zero_method="pratt").pvalue)
    assert r["a"] == "a" and r["b"] == "b" and r["n"] == len(a)
    assert r["wilcoxon_p"] == pytest.approx(wilcoxon(d, zero_method="wilcox").pvalue, rel=1e-12)
    assert r["mean_difference"] == pytest.approx(d.mean(), rel=1e-12)
    assert r["ci95"] == list(bootstrap_ci(d, 1000, 0))
    assert r["holm_p"] == r["wilcoxon_p"]  # one pair: nothing to correct
    assert r["note"] == ""


def test_nan_sentences_are_dropped():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 20), rng.normal(0.3, 1, 20)
    a[[2, 5]] = np.nan
    b[11] = np.nan
    (r,) = paired_tests({"a": a, "b": b}, seed=1, n_resamples=500)
    ok = np.isfinite(a) & np.isfinite(b)
    assert r["n"] == 17
    assert r["wilcoxon_p"] == pytest.approx(wilcoxon(a[ok] - b[ok]).pvalue, rel=1e-12)
    assert r["mean_difference"] == pytest.approx((a[ok] - b[ok]).mean())


def test_identical_methods_and_a_clear_shift():
    rng = np.random.default_rng(4)
    base = rng.normal(0.5, 0.1, 30)
    shifted = base + 0.2 + rng.normal(0, 0.02, 30)
    res = paired_tests({"x": base, "same": base.copy(), "shift": shifted}, seed=0, n_resamples=2000)
    assert [(r["a"], r["b"]) for r in res] == [("x", "same"), ("x", "shift"), ("same", "shift")]
    same = res[0]
    assert same["mean_difference"] == 0 and same["ci95"] == [0.0, 0.0]
    assert same["wilcoxon_p"] == 1.0 and same["holm_p"] == 1.0 and not same["significant"]
    assert "every difference is 0" in same["note"]
    for r in res[1:]:
        assert r["significant"] and r["holm_p"] < 0.05 and r["mean_difference"] == pytest.approx(-0.2, abs=0.02)
        assert r["ci95"][0] < r["mean_difference"] < r["ci95"][1] < 0
    # Holm over the 3 pairs: the smallest p times 3, ...
    np.testing.assert_allclose([r["holm_p"] for r in res], holm([r["wilcoxon_p"] for r in res]))


def test_significance_is_the_holm_corrected_p():
    """Six positive differences: exact two-sided p = 2/64 = 0.03125 < 0.05 for each of three pairs,
    but 3 · 0.03125 = 0.094 after Holm: none is significant."""
    a = np.arange(6, dtype=float)
    per = {"a": a, "b": a + np.array([1, 2, 3, 4, 5, 6.5]), "c": a + np.array([10, 20, 30, 40, 50, 60.5])}
    res = paired_tests(per, seed=0, n_resamples=200)
    for r in res:
        assert r["wilcoxon_p"] == pytest.approx(0.03125) and r["holm_p"] == pytest.approx(0.09375)
        assert not r["significant"]
    assert all(r["significant"] for r in paired_tests(per, seed=0, n_resamples=200, alpha=0.1))


def test_no_common_sentence_and_bad_input():
    (r,) = paired_tests({"a": [np.nan, 1.0], "b": [2.0, np.nan]}, seed=0, n_resamples=100)
    assert r["n"] == 0 and r["wilcoxon_p"] == 1.0 and not r["significant"] and r["note"]
    assert np.isnan(r["mean_difference"]) and all(np.isnan(r["ci95"]))
    assert paired_tests({"a": [1.0, 2.0]}, seed=0) == []
    with pytest.raises(InputError):
        paired_tests({"a": [1.0, 2.0], "b": [1.0]}, seed=0)
    with pytest.raises(InputError):
        paired_tests({"a": [1.0], "b": [2.0]}, seed=0, alpha=0)


def test_defaults_come_from_the_config():
    assert SignificanceConfig().n_resamples == 10_000 and SignificanceConfig().alpha == 0.05
    x = np.random.default_rng(0).normal(0, 1, 15)
    assert bootstrap_ci(x) == bootstrap_ci(x, 10_000, SignificanceConfig().seed)


# -- the LaTeX table -------------------------------------------------------------------------------
def _report(lower_is_better=True, significant=(True, False)):
    methods = {"zero": {"mean": 0.40, "se": 0.01, "n": 9}, "unk": {"mean": 0.45, "se": 0.01, "n": 9},
               "grad_input": {"mean": 0.41, "se": 0.01, "n": 9}}
    paired = [
        {"a": "zero", "b": "unk", "significant": significant[0]},
        {"a": "zero", "b": "grad_input", "significant": significant[1]},
        {"a": "grad_input", "b": "unk", "significant": True},  # neither is the best: no mark from it
    ]
    return {"metric": "auc_rep", "methods": methods, "paired": paired, "lower_is_better": lower_is_better,
            "significance": {"alpha": 0.05}, "strategy": "zero", "x_max": 0.2, "seed": 0}


def _cells(tex: str) -> list[str]:
    row = next(line for line in tex.splitlines() if line.startswith(r"$\mathrm{AUC}"))
    return [c.strip() for c in row.rstrip("\\ ").split("&")[1:]]


def test_latex_marks_methods_that_differ_from_the_best():
    tex = latex_table(_report())
    zero, unk, gi = _cells(tex)
    assert zero.startswith(r"\textbf{") and r"\dagger" not in zero  # the best
    assert unk.endswith(r"$^{\dagger}$")  # differs significantly from the best
    assert r"\dagger" not in gi  # not significantly different from the best (unk vs grad_input does not count)
    assert "Holm-corrected Wilcoxon signed-rank" in tex and r"$\alpha = 0.05$" in tex
    # higher is better: unk is the best; zero differs from it, grad_input does too
    zero, unk, gi = _cells(latex_table(_report(lower_is_better=False)))
    assert unk.startswith(r"\textbf{") and zero.endswith(r"$^{\dagger}$") and gi.endswith(r"$^{\dagger}$")
    # no best (segment ratio) or no pairs: no mark and no footnote
    tex = latex_table({**_report(), "paired": []})
    assert r"\dagger" not in tex and "Wilcoxon" not in tex


# -- end to end ------------------------------------------------------------------------------------
def test_evaluate_reports_every_pair(tmp_path, capsys):
    model = save_tiny(tmp_path / "clf", "textcnn", seed=1)
    data = tmp_path / "d.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS)), encoding="utf-8")
    out = tmp_path / "run"
    rc = main(["evaluate", "--model", str(model), "--data", str(data), "--metric", "auc_rep", "--strategy", "zero",
               "--methods", "zero,unk,grad_input", "--n", "4", "--seed", "3", "--json", "--out", str(out),
               "--device", "cpu"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    rep = json.loads(cap.out.strip().splitlines()[-1])
    paired = rep["paired"]
    assert [(r["a"], r["b"]) for r in paired] == list(itertools.combinations(["zero", "unk", "grad_input"], 2))
    assert "paired_difference" in rep  # the older key stays
    with open(out / "per_sentence.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    per = {m: np.array([float(r["value"]) for r in rows if r["method"] == m]) for m in ("zero", "unk", "grad_input")}
    # the pairs are the pure function on the per-sentence values, seeded with the evaluate seed
    expected = paired_tests(per, seed=3, n_resamples=10_000, alpha=0.05)
    for got, want in zip(paired, expected):
        assert set(got) >= {"a", "b", "mean_difference", "ci95", "wilcoxon_p", "holm_p", "significant", "n"}
        assert got["n"] == 4
        assert got["mean_difference"] == pytest.approx(want["mean_difference"], abs=1e-12)
        assert got["ci95"] == pytest.approx(want["ci95"], abs=1e-12)
        assert got["wilcoxon_p"] == pytest.approx(want["wilcoxon_p"]) and got["holm_p"] == pytest.approx(want["holm_p"])
        assert got["significant"] == want["significant"]
    assert rep["significance"]["n_resamples"] == 10_000 and rep["significance"]["alpha"] == 0.05
    with open(out / "paired.csv", newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == PAIRED_COLUMNS and len(table) == 3
    for r, j in zip(table, paired):
        assert (r["a"], r["b"], int(r["n"])) == (j["a"], j["b"], j["n"])
        assert float(r["ci95_low"]) == pytest.approx(j["ci95"][0]) and float(r["ci95_high"]) == pytest.approx(j["ci95"][1])
        assert float(r["holm_p"]) == pytest.approx(j["holm_p"]) and r["significant"] == str(j["significant"]).lower()
    assert json.loads((out / "summary.json").read_text())["paired"] == paired
    assert "Holm-corrected Wilcoxon signed-rank" in (out / "table.tex").read_text()
    # through the API with few resamples (where the seed shows): the bootstrap uses evaluate's seed
    eng = Engine("cpu")
    eng.load_model(model)
    few = SignificanceConfig(n_resamples=9)
    cis = {}
    for seed in (3, 4):
        rep = evaluate(eng, TINY_TEXTS[:4], metric="auc_rep", methods=["zero", "unk", "grad_input"], strategy="zero",
                       seed=seed, significance=few)
        want = paired_tests(per, seed=seed, n_resamples=9)
        np.testing.assert_allclose([r["ci95"] for r in rep["paired"]], [r["ci95"] for r in want], atol=1e-12, rtol=0)
        assert rep["significance"]["n_resamples"] == 9 and rep["significance"]["seed"] == seed
        cis[seed] = [r["ci95"] for r in rep["paired"]]
    assert cis[3] != cis[4]
