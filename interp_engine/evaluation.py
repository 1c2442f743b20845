"""Dataset-level faithfulness evaluation (``interp-studio evaluate``): AUC_rep, AOPC,
comprehensiveness, sufficiency and IoT of several attribution methods over a dataset, and the
hypothesis/premise attribution ratio of sentence pairs. No Qt.

Regenerates Kim et al. ``004_137d387c767c1e08.txt`` Table 2 (AUC_rep, §3.5/§4.3), the IoT /
neutral-word numbers of §4.3 and the premise/hypothesis comparison of §4.4 (Fig. 4c) for any
model; the faithfulness metric definitions live in :mod:`interp_engine.faithfulness`,
:func:`segment_ratio` here.

The rows of a pair dataset (premise, hypothesis) are evaluated as pairs
(:meth:`~interp_engine.data.Dataset.inputs`): every metric but ``iot`` (SST-2 word sentiment tags)
and ``matching_rate`` (Yuan et al., single texts) runs on them; a "sentence" below is then a pair.

Per sentence i (the first ``n`` non-empty rows of the dataset, in file order) every method's
attribution to the predicted class is computed, then the metric. The MLM sampling of sentence i
is seeded with ``SeedSequence([seed, i])``, so a sentence's values do not depend on which other
sentences ran before it. With ``out`` the runner writes, after every sentence:

* ``per_sentence.csv``: one row per (sentence, method): ``index, method, value`` and
  metric-specific columns (``n_words``, ``p_original``, ``target``, ``label``; IoT adds
  ``neutral_mean``, ``neutral_abs_mean``; bins add ``bin_10`` … ; ``segment_ratio`` adds
  ``premise_abs_mean``, ``hypothesis_abs_mean``, ``n_premise``, ``n_hypothesis``).
* ``curves.csv`` (curve metrics; not ``iot``, ``segment_ratio``): each deletion (or insertion) curve resampled on a fixed grid of
  21 points on [0, x_max] (linear interpolation between steps), for the mean curves.
* ``run.json``: the settings; a later run with the same ``out`` and settings continues after the
  last complete sentence (rows of a sentence that was cut off are dropped first); different
  settings are refused.

At the end it writes ``summary.json`` (the JSON report), ``table.tex`` (a LaTeX table like Table
2: mean ± standard error per method, a dagger on the methods that differ significantly from the
best one), ``paired.csv`` (:data:`PAIRED_COLUMNS`: every pair of methods compared on the same
sentences, :func:`paired_tests`) and ``curves.pdf`` (mean curves, or bars for IoT and the segment
ratio).

**Paired comparisons.** The methods are evaluated on the same sentences, so every pair (a, b) is
compared on its per-sentence differences a − b (sentences where either value is NaN dropped): the
mean difference, its seeded percentile-bootstrap 95 % interval (Efron & Tibshirani 1993; 10,000
resamples, :class:`~interp_engine.config.SignificanceConfig`), the two-sided Wilcoxon signed-rank
p-value (Wilcoxon 1945, ``scipy.stats.wilcoxon``) and that p-value Holm-corrected over all pairs
(Holm 1979, :func:`holm`), significant when below α = 0.05.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from .attribution import registry
from .config import DeletionConfig, EvaluateConfig, SignificanceConfig
from .errors import InputError, check_cancel
from .inputs import TextInput
from .faithfulness import (
    AOPC_BINS,
    AUC_REP_X_MAX,
    STRATEGIES,
    STRATEGY_NAMES,
    aopc,
    comprehensiveness,
    deletion_curves,
    iot,
    load_word_tags,
    neutral_attribution,
    sufficiency,
    token_tags,
)

#: metrics this module runs, with a one-line description and whether lower is better
FAITHFULNESS_METRICS = {
    "auc_rep": ("area under the deletion curve up to x_max, normalised (Kim et al. §3.5)", True),
    "aopc": ("mean drop p_0 - p_k over the deletion curve up to x_max (Samek et al. 2017)", False),
    "comprehensiveness": ("mean over 10/20/50% of p_0 - p(top-k replaced) (ERASER)", False),
    "sufficiency": ("mean over 10/20/50% of p_0 - p(only top-k kept) (ERASER)", True),
    "iot": ("|P ∩ T| / |P|, P positive-tagged words, T top-10 attributed (Kim et al. §4.3)", False),
    # descriptive, not a faithfulness score: neither direction is better (None)
    "segment_ratio": ("pairs: mean |attribution| of hypothesis tokens / of premise tokens (Kim et al. §4.4, "
                      "Fig. 4c: about 2)", None),
}
#: metrics computed from the attributions alone (no deletion curves, no replacement strategy)
ATTRIBUTION_ONLY = ("iot", "segment_ratio")
#: the error of ``segment_ratio`` on single texts
SEGMENT_RATIO_NEEDS_PAIRS = ("segment_ratio compares the two texts of a pair: open a pair dataset "
                             "(premise, hypothesis)")
IOT_NEEDS_SINGLE_TEXTS = ("iot (Kim et al. §4.3) counts the SST-2 sentiment-tagged words of single sentences: it is "
                          "not defined for pairs of texts; open a single-text dataset")
GRID_POINTS = 21
CSV_NAME, CURVES_NAME, RUN_NAME, PAIRED_NAME = "per_sentence.csv", "curves.csv", "run.json", "paired.csv"
#: the columns of ``paired.csv`` (one row per pair of methods, :func:`paired_tests`)
PAIRED_COLUMNS = ("a", "b", "mean_difference", "ci95_low", "ci95_high", "wilcoxon_p", "holm_p", "significant", "n",
                  "note")
#: coverage of the bootstrap interval of :func:`paired_tests` (the ``ci95`` of the report)
CI_LEVEL = 0.95
#: indices drawn per vectorised bootstrap block (bounds the memory: 8 bytes each)
_BOOTSTRAP_BLOCK = 1 << 21
#: how the paired comparisons are made (the LaTeX table's footnote names it)
PAIRED_TEST_NAME = "Holm-corrected Wilcoxon signed-rank"


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else repr(float(v))
    return str(v)


def _columns(metric: str) -> list[str]:
    cols = ["index", "method", "value", "n_words", "p_original", "target", "label"]
    if metric == "iot":
        cols += ["neutral_mean", "neutral_abs_mean", "n_positive"]
    if metric == "segment_ratio":
        cols += ["premise_abs_mean", "hypothesis_abs_mean", "n_premise", "n_hypothesis"]
    if metric in ("comprehensiveness", "sufficiency"):
        cols += [f"bin_{int(round(100 * q))}" for q in AOPC_BINS]
    return cols


def mean_se(values) -> dict:
    """``{"mean", "se", "n"}`` of the finite values (se = sample std / sqrt(n); 0 for n = 1)."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=np.float64)
    n = int(v.size)
    if n == 0:
        return {"mean": float("nan"), "se": float("nan"), "n": 0}
    se = float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    return {"mean": float(v.mean()), "se": se, "n": n}


def bootstrap_ci(diffs, n_resamples: int = SignificanceConfig.n_resamples, seed: int = SignificanceConfig.seed, *,
                 level: float = CI_LEVEL) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``diffs`` (Efron & Tibshirani 1993, *An
    Introduction to the Bootstrap*, §13.3).

    ``n_resamples`` resamples of size n are drawn with replacement (``numpy.random.default_rng(seed)``,
    vectorised in blocks whose size depends on n only, so the interval depends on ``diffs``,
    ``n_resamples`` and ``seed`` alone); the interval is the (1 − level)/2 and (1 + level)/2
    quantiles (linear interpolation) of the resample means.

    Args:
        diffs: (n,) finite values (e.g. per-sentence differences of a metric, in its units).
        n_resamples: number of bootstrap resamples (≥ 1). seed: seed of the generator.
        level: coverage, in (0, 1).

    Returns:
        ``(low, high)`` in the units of ``diffs``; ``(nan, nan)`` for n = 0; ``(d, d)`` for n = 1.

    Raises:
        InputError: non-finite values, ``n_resamples`` < 1 or ``level`` outside (0, 1).
    """
    d = np.asarray(diffs, dtype=np.float64).reshape(-1)
    if not np.isfinite(d).all():
        raise InputError("bootstrap_ci needs finite values (drop the NaN sentences first)")
    if int(n_resamples) < 1:
        raise InputError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0 < level < 1:
        raise InputError(f"the confidence level must be in (0, 1), got {level}")
    n, R = int(d.size), int(n_resamples)
    if n == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    block = max(1, _BOOTSTRAP_BLOCK // n)
    means = np.empty(R, dtype=np.float64)
    for a in range(0, R, block):
        b = min(R, a + block)
        means[a:b] = d[rng.integers(0, n, size=(b - a, n))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979, "A simple sequentially rejective multiple test
    procedure", Scand. J. Statist. 6: 65-70), controlling the family-wise error rate.

    With the m p-values sorted increasingly, p_(1) ≤ … ≤ p_(m), the adjusted value of p_(j) is
    ``min(1, max_{i ≤ j} (m − i + 1) · p_(i))``: monotone in the order of the p-values and capped
    at 1. Rejecting the hypotheses whose adjusted value is < α is Holm's procedure at level α.

    Args:
        pvalues: (m,) p-values in [0, 1].

    Returns:
        (m,) float64 adjusted p-values, in the order of ``pvalues`` (empty for m = 0).

    Raises:
        InputError: a value that is NaN or outside [0, 1].
    """
    p = np.asarray(pvalues, dtype=np.float64).reshape(-1)
    if not np.all((p >= 0) & (p <= 1)):
        raise InputError(f"p-values must be in [0, 1], got {p.tolist()}")
    m = p.size
    adj = np.empty(m, dtype=np.float64)
    running = 0.0
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        running = max(running, (m - rank) * p[i])
        adj[i] = min(1.0, running)
    return adj


def paired_tests(per_method: dict, seed: int = SignificanceConfig.seed,
                 n_resamples: int = SignificanceConfig.n_resamples, alpha: float = SignificanceConfig.alpha) -> list[dict]:
    """Every unordered pair of methods compared on the same sentences.

    For each pair (a, b), a before b in ``per_method``'s order, on the sentences where both values
    are finite: the per-sentence differences d = a − b (the metric's units), their mean, its
    percentile bootstrap 95 % interval (:func:`bootstrap_ci`, Efron & Tibshirani 1993; every pair
    uses ``seed``, so a pair's interval does not depend on the other methods), the two-sided
    Wilcoxon signed-rank p-value (Wilcoxon 1945; ``scipy.stats.wilcoxon(d, zero_method="wilcox")``:
    zero differences dropped, scipy's exact or normal-approximation method as it chooses) and the
    p-value Holm-corrected over all pairs (:func:`holm`, Holm 1979). With no sentence (n = 0) or
    only zero differences the test is not defined: p = 1 and ``note`` says why.

    Args:
        per_method: method → (S,) per-sentence values, aligned (the same S sentences in the same
            order); NaN where a method has no value.
        seed: bootstrap seed. n_resamples: bootstrap resamples. alpha: level of ``significant``
            (Holm-corrected p < alpha).

    Returns:
        One dict per pair: ``{"a", "b", "mean_difference", "ci95": [low, high], "wilcoxon_p",
        "holm_p", "significant", "n", "note"}`` (``note`` "" when the test ran).

    Raises:
        InputError: arrays of different lengths, or bad ``n_resamples``/``alpha``.
    """
    from scipy.stats import wilcoxon

    SignificanceConfig(n_resamples=int(n_resamples), seed=int(seed), alpha=float(alpha)).validate()
    arrs = {str(m): np.asarray(v, dtype=np.float64).reshape(-1) for m, v in per_method.items()}
    sizes = {v.size for v in arrs.values()}
    if len(sizes) > 1:
        raise InputError(f"paired tests need one value per sentence for every method, got lengths {sorted(sizes)}")
    out: list[dict] = []
    for a, b in itertools.combinations(arrs, 2):
        ok = np.isfinite(arrs[a]) & np.isfinite(arrs[b])
        d = arrs[a][ok] - arrs[b][ok]
        n = int(d.size)
        note = ""
        if n == 0:
            mean, ci, p = float("nan"), (float("nan"), float("nan")), 1.0
            note = "no sentence with values of both methods: p = 1"
        else:
            mean, ci = float(d.mean()), bootstrap_ci(d, n_resamples, seed)
            if not np.any(d != 0):
                p, note = 1.0, "every difference is 0: p = 1"
            else:
                p = float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)
                if not 0 <= p <= 1:  # pragma: no cover - scipy returns a p-value for nonzero differences
                    p, note = 1.0, "the Wilcoxon test gave no p-value: p = 1"
        out.append({"a": a, "b": b, "mean_difference": mean, "ci95": [float(ci[0]), float(ci[1])],
                    "wilcoxon_p": p, "n": n, "note": note})
    for r, h in zip(out, holm([r["wilcoxon_p"] for r in out])):
        r["holm_p"] = float(h)
        r["significant"] = bool(h < alpha)
    return [{k: r[k] for k in ("a", "b", "mean_difference", "ci95", "wilcoxon_p", "holm_p", "significant", "n", "note")}
            for r in out]


def _paired_csv(paired: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PAIRED_COLUMNS)
    for r in paired:
        w.writerow([r["a"], r["b"], _fmt(r["mean_difference"]), _fmt(r["ci95"][0]), _fmt(r["ci95"][1]),
                    _fmt(r["wilcoxon_p"]), _fmt(r["holm_p"]), str(bool(r["significant"])).lower(), str(r["n"]),
                    r["note"]])
    return buf.getvalue()


def segment_ratio(scores, segments, special=None) -> tuple[float, float, float]:
    """The hypothesis/premise attribution ratio of one interpretation of a sentence pair (Kim et
    al. 2020 ``004_137d387c767c1e08.txt`` §4.4, Fig. 4c: hypothesis tokens receive attribution
    scores about twice as high as premise tokens over 500 interpretations; the paper: "they
    obtained attribution scores twice as high as those in the premises for 500 interpretations").

    ratio = mean |score| over the hypothesis tokens / mean |score| over the premise tokens, special
    tokens excluded. The paper does not say how it averages; here the ratio is taken per
    interpretation (one pair, one method) and :func:`evaluate` reports the mean of the ratios, with
    the two means alongside.

    Args:
        scores: (n,) attribution of each token (``TokenAttribution.scores``).
        segments: (n,) segment of each token: 0 = premise (first text), 1 = hypothesis (second
            text), -1 = special token (``TokenAttribution.segments``).
        special: (n,) bool, True for special tokens (excluded too), or None.

    Returns:
        ``(ratio, premise mean |score|, hypothesis mean |score|)``; a mean over no token is NaN, and
        the ratio is NaN (undefined) when the premise mean is 0 or either mean is NaN.

    Raises:
        InputError: the arrays differ in length.
    """
    s = np.abs(np.asarray(scores, dtype=np.float64)).reshape(-1)
    seg = np.asarray(segments, dtype=np.int64).reshape(-1)
    sp = np.zeros(s.shape, bool) if special is None else np.asarray(special, dtype=bool).reshape(-1)
    if not (s.shape == seg.shape == sp.shape):
        raise InputError(f"{s.size} scores, {seg.size} segments and {sp.size} special flags: one per token")
    prem, hyp = (seg == 0) & ~sp, (seg == 1) & ~sp
    pm = float(s[prem].mean()) if prem.any() else float("nan")
    hm = float(s[hyp].mean()) if hyp.any() else float("nan")
    ratio = hm / pm if (math.isfinite(pm) and math.isfinite(hm) and pm > 0) else float("nan")
    return ratio, pm, hm


def _read_done(out: Path, metric: str, methods: Sequence[str]) -> tuple[list[list[str]], list[list[str]], set[int]]:
    """Complete rows already written (per sentence all methods present), truncated partial lines dropped."""
    def read(path: Path) -> list[list[str]]:
        if not path.is_file():
            return []
        text = path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]
        rows = list(csv.reader(io.StringIO(text)))
        return rows[1:] if rows else []

    rows = read(out / CSV_NAME)
    crow = read(out / CURVES_NAME)
    cols = len(_columns(metric))
    rows = [r for r in rows if len(r) == cols]
    by: dict[int, set] = {}
    for r in rows:
        by.setdefault(int(r[0]), set()).add(r[1])
    done = {i for i, ms in by.items() if ms >= set(methods)}
    if metric not in ATTRIBUTION_ONLY:
        cby: dict[int, set] = {}
        for r in crow:
            if len(r) == 2 + GRID_POINTS:
                cby.setdefault(int(r[0]), set()).add(r[1])
        done = {i for i in done if cby.get(i, set()) >= set(methods)}
        crow = [r for r in crow if len(r) == 2 + GRID_POINTS and int(r[0]) in done]
    rows = [r for r in rows if int(r[0]) in done]
    return rows, crow, done


def evaluate(engine, texts: Sequence["str | TextInput"], *, metric: str, methods: Sequence[str], labels: Sequence[int] | None = None,
             strategy: str = DeletionConfig.strategy, x_max: float = AUC_REP_X_MAX, seed: int = EvaluateConfig.seed,
             out: str | Path | None = None, tags: dict | None = None,
             exclude_original: bool = DeletionConfig.exclude_original, batch_size: int = EvaluateConfig.batch_size,
             settings: dict | None = None, significance: SignificanceConfig | None = None, progress=None,
             cancel=None) -> dict:
    """Evaluate ``methods`` on ``texts`` with ``metric``; resumable when ``out`` is given.

    Args:
        engine: an :class:`~interp_engine.engine.Engine` with the classifier (and MLM) open and
            the marginalization settings chosen.
        texts: the sentences (strings or :class:`~interp_engine.inputs.TextInput`, e.g. the pairs
            of :meth:`Dataset.inputs() <interp_engine.data.Dataset.inputs>`; empty ones get NaN
            rows). labels: gold labels (for the CSV), or None.
        metric: one of :data:`FAITHFULNESS_METRICS` (``segment_ratio``: pairs only; ``iot``:
            single texts only).
        methods: attribution methods (:data:`interp_engine.engine.ATTRIBUTION_METHODS`).
        strategy, x_max, seed, exclude_original, batch_size: see
            :func:`interp_engine.faithfulness.deletion_curves` (``x_max`` is the AUC/AOPC range;
            comprehensiveness and sufficiency always use the 10/20/50% bins).
        out: output folder (created), or None for no files.
        tags: word → −1/0/+1 (:func:`~interp_engine.faithfulness.load_word_tags`), for ``iot``.
        settings: extra settings recorded in ``run.json`` and checked on resume (model hash, data
            path, σ, ...).
        significance: the paired comparisons' settings (None: the defaults, 10,000 bootstrap
            resamples, α = 0.05); the bootstrap is seeded with ``seed``. They change only the
            summary, not the per-sentence rows, so they are not checked on resume.
        progress: ``progress(done, total, message)`` per sentence; cancel: ``threading.Event``.

    Returns:
        The JSON report: ``{"metric", "methods": {m: {"mean", "se", "n"}}, ...}`` (IoT adds
        ``neutral_mean`` and ``neutral_abs_mean`` per method; bins add ``bins``; ``segment_ratio``
        adds per method ``fraction_above_1`` (of the defined ratios), ``n_undefined`` (premise
        mean |score| 0) and ``premise_abs_mean``/``hypothesis_abs_mean`` (mean ± SE), and
        ``segment_names``; with several methods ``paired_difference``: per method, mean ± SE of
        its per-sentence value minus the first method's; ``paired``: every pair of methods,
        :func:`paired_tests`, an empty list for one method; ``significance``: how they were
        computed).

    Raises:
        InputError: unknown metric/method/strategy, ``iot`` without tags or on pairs,
            ``segment_ratio`` on single texts, inputs the model cannot read (a pair for a
            single-text model or the reverse), an ``out`` folder holding a run with other settings. Cancelled: ``cancel`` set (files stay resumable).
    """
    t0 = time.perf_counter()
    if metric not in FAITHFULNESS_METRICS:
        raise InputError(f"unknown metric {metric!r}; choose one of {', '.join(FAITHFULNESS_METRICS)}")
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise InputError("give at least one method (--methods a,b,c)")
    bad = [m for m in methods if not registry.is_known(m)]
    if bad:
        raise InputError(f"unknown method(s) {', '.join(bad)}; choose from {', '.join(registry.names())}")
    if strategy not in STRATEGIES:
        raise InputError(f"unknown replacement strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if metric == "iot" and tags is None:
        raise InputError("--metric iot needs word sentiment tags (--phrase-labels sst2/phrase_labels_5class.tsv)")
    if not 0 < x_max <= 1:
        raise InputError(f"--x-max must be in (0, 1], got {x_max}")
    texts = [t if isinstance(t, str) else TextInput.of(t) for t in texts]
    pairs = [isinstance(t, TextInput) and t.is_pair for t in texts]
    if metric == "segment_ratio" and not (texts and all(pairs)):
        raise InputError(SEGMENT_RATIO_NEEDS_PAIRS)
    if metric == "iot" and any(pairs):
        raise InputError(IOT_NEEDS_SINGLE_TEXTS)
    if any(pairs) and not all(pairs):
        raise InputError("the texts mix single texts and pairs of texts")
    c = engine.require_model()
    if texts:
        c.check_input(pairs[0])  # one clear error instead of a NaN row per sentence
    curveless = metric in ATTRIBUTION_ONLY
    lik = engine.likelihood_model("mlm") if (strategy == "mlm" and not curveless) else None
    curve_x = max(x_max, max(AOPC_BINS)) if metric in ("comprehensiveness", "sufficiency") else x_max
    cols = _columns(metric)
    config = {"metric": metric, "methods": methods, "strategy": strategy if not curveless else None,
              "x_max": x_max, "seed": seed, "exclude_original": exclude_original, "n": len(texts),
              "model_hash": c.content_hash, **(settings or {})}

    rows: list[list[str]] = []
    crows: list[list[str]] = []
    done: set[int] = set()
    f = cf = None
    outp = Path(out).expanduser() if out else None
    if outp is not None:
        outp.mkdir(parents=True, exist_ok=True)
        run = outp / RUN_NAME
        if run.is_file():
            old = json.loads(run.read_text(encoding="utf-8"))
            diff = {k: (old.get(k), v) for k, v in config.items() if k != "n" and old.get(k) != v}
            if diff:
                raise InputError(f"{outp} holds a run with other settings ({', '.join(f'{k}: {a!r} → {b!r}' for k, (a, b) in diff.items())}); "
                                 "choose another --out folder or delete it")
            rows, crows, done = _read_done(outp, metric, methods)
        run.write_text(json.dumps(config, indent=1), encoding="utf-8")
        # rewrite exactly the complete rows, then append
        with (outp / CSV_NAME).open("w", encoding="utf-8", newline="") as g:
            w = csv.writer(g, lineterminator="\n")
            w.writerow(cols)
            w.writerows(rows)
        if not curveless:
            with (outp / CURVES_NAME).open("w", encoding="utf-8", newline="") as g:
                w = csv.writer(g, lineterminator="\n")
                w.writerow(["index", "method"] + [f"x={v:.4f}" for v in np.linspace(0, curve_x if metric != "sufficiency" else curve_x, GRID_POINTS)])
                w.writerows(crows)
        f = (outp / CSV_NAME).open("a", encoding="utf-8", newline="")
        cf = (outp / CURVES_NAME).open("a", encoding="utf-8", newline="") if not curveless else None

    grid = np.linspace(0.0, curve_x, GRID_POINTS)
    try:
        for i, text in enumerate(texts):
            if i in done:
                continue
            check_cancel(cancel)
            new_rows, new_curves = _one_sentence(engine, c, lik, i, text, metric, methods, labels, strategy, x_max,
                                                 curve_x, seed, tags, exclude_original, batch_size, grid, cancel)
            rows += new_rows
            crows += new_curves
            if f is not None:
                buf = io.StringIO()
                csv.writer(buf, lineterminator="\n").writerows(new_rows)
                f.write(buf.getvalue())
                f.flush()
                if cf is not None:
                    buf = io.StringIO()
                    csv.writer(buf, lineterminator="\n").writerows(new_curves)
                    cf.write(buf.getvalue())
                    cf.flush()
            done.add(i)
            if progress is not None:
                progress(len(done), len(texts), f"{metric}: sentence {i + 1}")
    finally:
        if f is not None:
            f.close()
        if cf is not None:
            cf.close()

    # a folder may hold more sentences than this run asks for (an earlier run with a larger --n)
    keep = lambda r: int(r[0]) < len(texts)  # noqa: E731
    sig = (significance or SignificanceConfig()).validate()
    report = _summarise([r for r in rows if keep(r)], [r for r in crows if keep(r)], metric, methods, grid,
                        seed=seed, significance=sig)
    if metric == "segment_ratio":
        report["segment_names"] = list(texts[0].segments)
    report.update({"strategy": config["strategy"], "x_max": x_max, "seed": seed, "n_sentences": len(texts),
                   "lower_is_better": FAITHFULNESS_METRICS[metric][1], "seconds": time.perf_counter() - t0})
    if outp is not None:
        report["out"] = str(outp)
        (outp / "summary.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        (outp / "table.tex").write_text(latex_table(report), encoding="utf-8")
        (outp / PAIRED_NAME).write_text(_paired_csv(report["paired"]), encoding="utf-8")
        _plot(report, outp / "curves.pdf")
    report.pop("mean_curves", None)
    return report


def _one_sentence(engine, c, lik, i, text, metric, methods, labels, strategy, x_max, curve_x, seed, tags,
                  exclude_original, batch_size, grid, cancel):
    label = "" if labels is None or labels[i] is None else str(labels[i])
    nan = float("nan")
    ncols = len(_columns(metric))

    def empty_rows():
        return [[str(i), m, "nan", "0", "nan", "-1", label] + ["nan"] * (ncols - 7) for m in methods], \
            ([[str(i), m] + ["nan"] * GRID_POINTS for m in methods] if metric not in ATTRIBUTION_ONLY else [])

    parts = text.texts if isinstance(text, TextInput) else (str(text),)
    if not all(t.strip() for t in parts):
        return empty_rows()
    try:
        atts = {m: engine.attribute(text, m, cancel=cancel) for m in methods}
    except InputError:
        return empty_rows()
    a0 = next(iter(atts.values()))
    target = a0.target
    p0 = float(a0.prediction.probabilities[target])
    rows, curves = [], []
    if metric == "iot":
        special = np.asarray(a0.special, dtype=bool)
        tag = token_tags(a0.tokens, special, tags)
        # Kim et al. §4.3: IoT on sentences correctly classified as positive (class 1 of SST-2)
        positive = target == 1 and labels is not None and labels[i] == 1
        npos = int(((tag == 1) & ~special).sum())
        for m, a in atts.items():
            v = iot(a.scores, tag, special) if positive else nan
            nm, na = neutral_attribution(a.scores, tag, special)
            rows.append([str(i), m, _fmt(v), str(int((~special).sum())), _fmt(p0), str(target), label, _fmt(nm), _fmt(na), str(npos)])
        return rows, curves
    if metric == "segment_ratio":
        for m, a in atts.items():
            special = np.asarray(a.special, dtype=bool)
            seg = a.segments if a.segments is not None else c.encode([text]).segments[0]
            seg = np.asarray(seg, dtype=np.int64)
            ratio, pm, hm = segment_ratio(a.scores, seg, special)
            rows.append([str(i), m, _fmt(ratio), str(int((~special).sum())), _fmt(p0), str(target), label, _fmt(pm),
                         _fmt(hm), str(int(((seg == 0) & ~special).sum())), str(int(((seg == 1) & ~special).sum()))])
        return rows, curves
    sub_seed = int(np.random.SeedSequence([int(seed), int(i)]).generate_state(1)[0])
    cur = deletion_curves(c, text, {m: a.scores for m, a in atts.items()}, target=target, strategy=strategy,
                          likelihood=lik, x_max=curve_x, insertion=(metric == "sufficiency"), seed=sub_seed,
                          exclude_original=exclude_original, batch_size=batch_size, cancel=cancel)
    if metric == "auc_rep":
        vals, per = cur.auc, None
    elif metric == "aopc":
        vals, per = aopc(cur.p_deletion), None
    elif metric == "comprehensiveness":
        vals, per = comprehensiveness(cur)
    else:
        vals, per = sufficiency(cur)
    P = cur.p_insertion if metric == "sufficiency" else cur.p_deletion
    for k, m in enumerate(cur.methods):
        row = [str(i), m, _fmt(float(vals[k])), str(cur.n_words), _fmt(cur.p_original), str(cur.target), label]
        if per is not None:
            row += [_fmt(float(v)) for v in per[k]]
        rows.append(row)
        xs = np.concatenate([cur.x, [1.0]]) if cur.x[-1] < grid[-1] else cur.x
        ps = np.concatenate([P[k], [P[k][-1]]]) if cur.x[-1] < grid[-1] else P[k]
        curves.append([str(i), m] + [_fmt(float(v)) for v in np.interp(grid, xs, ps)])
    return rows, curves


def _summarise(rows, crows, metric, methods, grid, *, seed: int = EvaluateConfig.seed,
               significance: SignificanceConfig = SignificanceConfig()) -> dict:
    cols = _columns(metric)
    out = {"metric": metric, "methods": {}}
    for m in methods:
        mine = [r for r in rows if r[1] == m]
        out["methods"][m] = mean_se(float(r[2]) for r in mine)
        if metric == "iot":
            out.setdefault("neutral_mean", {})[m] = mean_se(float(r[cols.index("neutral_mean")]) for r in mine)
            out.setdefault("neutral_abs_mean", {})[m] = mean_se(float(r[cols.index("neutral_abs_mean")]) for r in mine)
        if metric == "segment_ratio":
            vals = [float(r[2]) for r in mine]
            fin = [v for v in vals if math.isfinite(v)]
            out.setdefault("fraction_above_1", {})[m] = float(np.mean([v > 1 for v in fin])) if fin else float("nan")
            # attributed (some word token) but the premise mean |score| is 0: the ratio is undefined
            out.setdefault("n_undefined", {})[m] = sum(1 for r, v in zip(mine, vals)
                                                       if int(r[3]) > 0 and not math.isfinite(v))
            for col in ("premise_abs_mean", "hypothesis_abs_mean"):
                out.setdefault(col, {})[m] = mean_se(float(r[cols.index(col)]) for r in mine)
        if metric in ("comprehensiveness", "sufficiency"):
            out.setdefault("bins", {})[m] = {
                c: mean_se(float(r[cols.index(c)]) for r in mine)["mean"] for c in cols if c.startswith("bin_")}
    # paired comparison with the first method: the sentences are shared, so the standard error of
    # the per-sentence difference is much smaller than the two means' standard errors suggest
    by: dict[str, dict[str, float]] = {}
    for r in rows:
        by.setdefault(r[0], {})[r[1]] = float(r[2])
    if len(methods) > 1:
        first = methods[0]
        out["paired_difference"] = {m: {"vs": first, **mean_se(d[m] - d[first] for d in by.values()
                                                                if m in d and first in d)}
                                    for m in methods[1:]}
    # every pair of methods on the sentences they share (paired_tests drops the NaN ones)
    idx = sorted(by, key=int)
    per = {m: np.array([by[i].get(m, np.nan) for i in idx], dtype=np.float64) for m in methods}
    out["paired"] = paired_tests(per, seed=seed, n_resamples=significance.n_resamples, alpha=significance.alpha)
    out["significance"] = {"difference": "a - b per sentence", "ci": "percentile bootstrap 95 %",
                           "n_resamples": int(significance.n_resamples), "seed": int(seed),
                           "test": "Wilcoxon signed-rank, two-sided, zero differences dropped",
                           "correction": "Holm", "alpha": float(significance.alpha)}
    if crows:
        out["mean_curves"] = {"x": grid.tolist()}
        for m in methods:
            arr = np.array([[float(v) for v in r[2:]] for r in crows if r[1] == m], dtype=np.float64)
            arr = arr[np.isfinite(arr).all(axis=1)] if arr.size else arr
            out["mean_curves"][m] = arr.mean(axis=0).tolist() if len(arr) else []
    return out


def latex_table(report: dict) -> str:
    """A LaTeX ``tabular`` like Kim et al. Table 2: one column per method, mean ± standard error
    (and n) of the metric; IoT adds the neutral-word attribution row, the segment ratio the premise
    and hypothesis mean |attribution| rows and the fraction of ratios above 1.

    The best method (lowest or highest mean, by the metric's direction) is bold; a method whose
    paired comparison with it (``report["paired"]``, :func:`paired_tests`) is significant after
    the Holm correction gets a dagger, explained by a footnote row ("Holm-corrected Wilcoxon
    signed-rank, α = 0.05"). ``segment_ratio`` has no best method, so no dagger."""
    methods = list(report["methods"])
    name = {"auc_rep": r"$\mathrm{AUC}_{\mathrm{rep}}$", "aopc": "AOPC", "comprehensiveness": "Comprehensiveness",
            "sufficiency": "Sufficiency", "iot": "IoT",
            "segment_ratio": r"Hypothesis / premise mean $|$attribution$|$"}[report["metric"]]
    best = None
    vals = {m: report["methods"][m]["mean"] for m in methods if np.isfinite(report["methods"][m]["mean"])}
    if vals and report.get("lower_is_better") is not None:
        best = (min if report.get("lower_is_better") else max)(vals, key=vals.get)

    # methods that differ significantly from the best one (Holm-corrected Wilcoxon, paired_tests)
    differs: set = set()
    paired = report.get("paired") or []
    if best is not None:
        for r in paired:
            if r["significant"] and best in (r["a"], r["b"]):
                differs.add(r["b"] if r["a"] == best else r["a"])
    mark = r"$^{\dagger}$"

    def cell(d, m, fmt=".4f"):
        s = f"{d['mean']:{fmt}} $\\pm$ {d['se']:{fmt}}" if d["n"] else "--"
        if best is not None and m == best:
            return f"\\textbf{{{s}}}"
        return s + mark if m in differs else s

    lines = [r"\begin{tabular}{l" + "c" * len(methods) + "}", r"\hline",
             " & " + " & ".join(registry.short_label(m).replace("×", r"$\times$") for m in methods) + r" \\", r"\hline",
             name + " & " + " & ".join(cell(report["methods"][m], m) for m in methods) + r" \\"]
    if report["metric"] == "iot":
        lines.append("Neutral-word attribution & " + " & ".join(cell(report["neutral_mean"][m], None) for m in methods) + r" \\")
    if report["metric"] == "segment_ratio":
        names = report.get("segment_names") or ["premise", "hypothesis"]
        for col, nm in (("premise_abs_mean", names[0]), ("hypothesis_abs_mean", names[1])):
            lines.append(f"{nm.capitalize()} mean $|$attribution$|$ & "
                         + " & ".join(cell(report[col][m], None, ".3g") for m in methods) + r" \\")
        lines.append("Fraction with ratio $> 1$ & " + " & ".join(
            "--" if not np.isfinite(report["fraction_above_1"][m]) else f"{report['fraction_above_1'][m]:.3f}"
            for m in methods) + r" \\")
    lines.append("$n$ & " + " & ".join(str(report["methods"][m]["n"]) for m in methods) + r" \\")
    lines.append(r"\hline")
    if best is not None and paired:
        alpha = (report.get("significance") or {}).get("alpha", SignificanceConfig.alpha)
        lines.append(f"\\multicolumn{{{len(methods) + 1}}}{{l}}{{\\footnotesize {mark} differs from the best method "
                     f"(bold), {PAIRED_TEST_NAME}, $\\alpha = {alpha:g}$}} \\\\")
    lines += [r"\end{tabular}", ""]
    strategy = report.get("strategy")
    note = f"% {report['metric']}, strategy {STRATEGY_NAMES.get(strategy, strategy)}, x_max {report.get('x_max')}, seed {report.get('seed')}"
    return note + "\n" + "\n".join(lines)


def _plot(report: dict, path: Path) -> None:
    """Mean curves per method (or IoT bars) as a vector PDF (matplotlib ``Figure``, no pyplot)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.5, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    mc = report.get("mean_curves")
    if mc:
        x = np.asarray(mc["x"]) * 100
        for m in report["methods"]:
            if mc.get(m):
                d = report["methods"][m]
                ax.plot(x, mc[m], label=f"{registry.short_label(m)} ({d['mean']:.4f})")
        ax.set_xlabel("tokens replaced (%)")
        ax.set_ylabel("mean p(predicted class)" if report["metric"] != "sufficiency" else "mean p(class), top-k kept")
        ax.set_title(f"{report['metric']}, {STRATEGY_NAMES.get(report.get('strategy'), report.get('strategy'))}", fontsize=9)
    else:
        ms = list(report["methods"])
        ax.bar(range(len(ms)), [report["methods"][m]["mean"] for m in ms],
               yerr=[report["methods"][m]["se"] for m in ms], color="#4a7ab5")
        ax.set_xticks(range(len(ms)), [registry.short_label(m) for m in ms])
        ax.set_ylabel(report["metric"])
        if report["metric"] == "segment_ratio":
            ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    ax.legend(fontsize=7) if mc else None
    fig.tight_layout()
    fig.savefig(path, format="pdf")


def evaluate_request(engine, request, *, progress=None, cancel=None) -> dict:
    """Run an :class:`~interp_engine.requests.EvaluateRequest` on the engine's open model, masked LM
    and dataset (the first ``request.evaluate.n`` rows; of a pair dataset, its pairs): the
    faithfulness metrics and ``segment_ratio`` through :func:`evaluate`, ``matching_rate`` through
    :func:`interp_engine.neighbours.matching_rate`.

    Returns:
        The JSON report (see :func:`evaluate`; matching rate: ``MatchingRate.to_json()``).

    Raises:
        InputError: no dataset, bad ``n``, AUC without a masked LM or a strategy, marginalization
        without a masked LM, ``segment_ratio`` on a single-text dataset, ``matching_rate`` or
        ``iot`` on pairs (a pair dataset or a pair model). Cancelled.
    """
    ev = request.evaluate
    if engine.dataset is None:
        raise InputError("no dataset is open: give --data FILE")
    if ev.n is not None and ev.n < 1:
        raise InputError(f"--n must be >= 1, got {ev.n}")
    data = engine.dataset
    if request.metric == "segment_ratio" and not data.is_pair:
        raise InputError(SEGMENT_RATIO_NEEDS_PAIRS)
    if request.metric == "iot" and data.is_pair:
        raise InputError(IOT_NEEDS_SINGLE_TEXTS)
    if request.metric == "matching_rate" and (data.is_pair or getattr(engine.classifier, "reads_pairs", False)):
        raise InputError("matching rate (Yuan et al.) is defined for single-text models: open a single-text "
                         "model and dataset, or choose another metric")
    texts = data.inputs() if data.is_pair else list(data.texts)
    texts = texts[: ev.n] if ev.n else texts
    if request.metric == "matching_rate":
        mr, opt = request.matching_rate, request.optimization
        return engine.matching_rate(texts, k=mr.k, m=mr.m, layer=mr.layer, lambda1=opt.lambda1, lambda2=opt.lambda2,
                                    steps=opt.steps, lr=opt.lr, seed=ev.seed, progress=progress,
                                    cancel=cancel).to_json()
    methods = list(ev.methods)
    has_mlm = engine.has_mlm()
    strategy = request.strategy or (request.deletion.strategy if has_mlm else None)
    if strategy is None and request.metric not in ATTRIBUTION_ONLY:
        raise InputError("AUC_rep samples replacements from a masked LM: give --mlm DIR (interp-studio train-mlm), "
                         "or choose --strategy zero|unk|remove")
    if "marginalization" in methods:
        cfg = request.config_for("marginalization")
        if not has_mlm and cfg.likelihood == "mlm":
            raise InputError("marginalization needs a masked LM: give --mlm DIR")
        engine.set_marginalization(likelihood=cfg.likelihood, sigma=cfg.sigma if cfg.top_n is None else None,
                                   top_n=cfg.top_n)
    labels = None if data.labels is None else [int(v) for v in data.labels][: len(texts)]
    tags = None
    if request.metric == "iot":
        path = request.phrase_labels or str(Path(data.path or ".").expanduser().parent / "phrase_labels_5class.tsv")
        tags = load_word_tags(path)
    c = engine.require_model()
    settings = {"model": str(Path(c.path).expanduser().resolve()) if c.path else "",
                "data": str(Path(data.path).expanduser().resolve()) if data.path else "",
                "mlm": str(engine.mlm_path.resolve()) if engine.mlm_path is not None else None,
                "sigma": engine.sigma, "top_n": engine.top_n,
                **({"pair_column": data.segment_names[1]} if data.is_pair else {})}
    return evaluate(engine, texts, metric=request.metric, methods=methods, labels=labels, strategy=strategy or "zero",
                    x_max=request.deletion.x_max, seed=ev.seed, out=request.out, tags=tags,
                    exclude_original=request.deletion.exclude_original, batch_size=ev.batch_size,
                    settings=settings, progress=progress, cancel=cancel)
