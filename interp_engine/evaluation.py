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
(Holm 1979, :func:`holm`), significant when below α = 0.05. Every other per-sentence quantity of a
report (the AUC_rep companions, IoT against its random baseline, the matching rate against random
words) gets the same tests in ``paired_by_metric`` (Holm-corrected within each quantity).

**Metrics that do not favour the explainer** (Pham et al. 2022, "Double Trouble: How to not
explain a text classifier's decisions using counterfactuals synthesized by masked language
models?", AACL): AUC_rep replaces tokens by samples of a masked LM, and input marginalization
explains with the same MLM, so it is greedy-optimal at the first step by construction. Hence:

* ``sampler`` / ``--sampler-mlm``: the replacement sampler of the ``mlm`` strategy can be another
  masked LM than the explainer's; the report records both (``explainer_mlm``, ``sampler_mlm``,
  with their content hashes, :func:`interp_engine.hashing.model_folder_hash`).
* next to every AUC_rep: the AUC of the *removal* curve over the same [0, x_max] (``auc_remove``,
  lower = more faithful) and the AOPC of comprehensiveness by removal in ERASER's bins
  (``aopc_eraser``, :func:`~interp_engine.faithfulness.aopc_eraser`) and ferret's
  (``aopc_ferret``, :func:`~interp_engine.faithfulness.aopc_ferret`), higher = more faithful; one
  removal curve up to x = 1 per sentence gives all three, from the attributions already computed.
* ``loo_tau``: Kendall τ_b between a method's token scores and leave-one-out by removal
  (:func:`loo_kendall_tau`; ferret's ``taucorr_loo``).
* ``iot`` keeps only sentences of more than 10 word tokens unless ``iot_all`` (with at most 10
  the top-10 holds every word: IoT is 1 by construction) and reports a seeded random-attribution
  baseline on the same sentences; ``matching_rate`` reports its standard error and a baseline of
  random vocabulary words (:func:`matching_rate_baseline`).
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
from .sanity import RANDOMIZATION_METRIC
from .faithfulness import (
    AOPC_BINS,
    AUC_REP_X_MAX,
    IOT_TOP_K,
    STRATEGIES,
    STRATEGY_NAMES,
    aopc,
    aopc_eraser,
    aopc_ferret,
    comprehensiveness,
    deletion_curves,
    iot,
    load_word_tags,
    neutral_attribution,
    normalised_auc,
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
    "loo_tau": ("Kendall tau-b of a method's token scores with leave-one-out by removal (ferret; Pham et al. 2022)",
                False),
    # descriptive, not a faithfulness score: neither direction is better (None)
    "segment_ratio": ("pairs: mean |attribution| of hypothesis tokens / of premise tokens (Kim et al. §4.4, "
                      "Fig. 4c: about 2)", None),
}
#: metrics computed from the attributions alone (no deletion curves, no replacement strategy)
ATTRIBUTION_ONLY = ("iot", "segment_ratio", "loo_tau")
#: the quantities reported next to every AUC_rep (Pham et al. 2022): column → (LaTeX row label,
#: lower is better); all from one removal curve up to x = 1 per sentence
AUC_COMPANIONS = {
    "auc_remove": ("AUC, removal", True),
    "aopc_eraser": ("AOPC, ERASER bins", False),
    "aopc_ferret": ("AOPC, ferret bins", False),
}
#: the reference attribution of ``loo_tau`` (leave-one-out by removal, interp_engine.attribution.loo)
LOO_REFERENCE = "loo"
#: third entry of ``SeedSequence([seed, i, stream])`` of the random baselines (IoT: sentence i;
#: matching rate: sentence i), so they never share draws with the MLM sampling of sentence i
IOT_RANDOM_STREAM, MATCHING_RANDOM_STREAM = 1, 2
#: the error of ``segment_ratio`` on single texts
SEGMENT_RATIO_NEEDS_PAIRS = ("segment_ratio compares the two texts of a pair: open a pair dataset "
                             "(premise, hypothesis)")
IOT_NEEDS_SINGLE_TEXTS = ("iot (Kim et al. §4.3) counts the SST-2 sentiment-tagged words of single sentences: it is "
                          "not defined for pairs of texts; open a single-text dataset")
GRID_POINTS = 21
CSV_NAME, CURVES_NAME, RUN_NAME, PAIRED_NAME = "per_sentence.csv", "curves.csv", "run.json", "paired.csv"
#: ``paired_by_metric`` of a report as CSV: a first column ``quantity``, then :data:`PAIRED_COLUMNS`
PAIRED_BY_METRIC_NAME = "paired_by_metric.csv"
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
        cols += ["neutral_mean", "neutral_abs_mean", "n_positive", "random_baseline"]
    if metric == "auc_rep":
        cols += list(AUC_COMPANIONS)
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


def _paired_csv(paired: list[dict], quantity: str | None = None, header: bool = True) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    lead = [] if quantity is None else [quantity]
    if header:
        w.writerow((["quantity"] if quantity is not None else []) + list(PAIRED_COLUMNS))
    for r in paired:
        w.writerow(lead + [r["a"], r["b"], _fmt(r["mean_difference"]), _fmt(r["ci95"][0]), _fmt(r["ci95"][1]),
                    _fmt(r["wilcoxon_p"]), _fmt(r["holm_p"]), str(bool(r["significant"])).lower(), str(r["n"]),
                    r["note"]])
    return buf.getvalue()


def paired_vs_reference(per_method: dict, reference, name: str = "random",
                        seed: int = SignificanceConfig.seed, n_resamples: int = SignificanceConfig.n_resamples,
                        alpha: float = SignificanceConfig.alpha) -> list[dict]:
    """Each method against one reference (e.g. a random baseline) on the same sentences: the
    tests of :func:`paired_tests` for every pair (method, ``name``), the Holm correction (Holm
    1979) taken over these pairs only.

    Args:
        per_method: method → (S,) per-sentence values (NaN: no value). reference: (S,) values of
            the reference on the same sentences. name: the reference's name (the ``b`` of every
            row). seed, n_resamples, alpha: as in :func:`paired_tests`.

    Returns:
        One dict per method, ``a`` = the method, ``b`` = ``name``, keys as in :func:`paired_tests`.

    Raises:
        InputError: arrays of different lengths, bad settings, or ``name`` is also a method.
    """
    if name in per_method:
        raise InputError(f"the reference {name!r} is also one of the methods")
    rows = [paired_tests({m: v, name: reference}, seed=seed, n_resamples=n_resamples, alpha=alpha)[0]
            for m, v in per_method.items()]
    for r, h in zip(rows, holm([r["wilcoxon_p"] for r in rows])):
        r["holm_p"] = float(h)
        r["significant"] = bool(h < alpha)
    return rows


def loo_kendall_tau(scores, loo_scores, special=None) -> float:
    """Kendall τ_b between one method's token scores and leave-one-out-by-removal scores on the
    word tokens of one sentence (ferret's ``taucorr_loo``, Attanasio et al. 2023; the faithfulness
    check Pham et al. 2022 use instead of AUC_rep).

    The reference is the ``loo`` method (:mod:`interp_engine.attribution.loo`): the WoE in bits of
    deleting each token, a decreasing function of p(c | x without token i), so its ranking is that
    of ferret's ``p(c | x) − p(c | x without i)``. τ_b (``scipy.stats.kendalltau``, variant b)
    corrects for ties in either ranking.

    Args:
        scores: (n,) the method's attribution of each token. loo_scores: (n,) the ``loo`` scores.
        special: (n,) bool, True for special tokens (excluded), or None.

    Returns:
        τ_b in [−1, 1]; NaN with fewer than 2 word tokens or when either ranking is constant
        (τ_b undefined).

    Raises:
        InputError: the arrays differ in length.
    """
    from scipy.stats import kendalltau

    a = np.asarray(scores, dtype=np.float64).reshape(-1)
    b = np.asarray(loo_scores, dtype=np.float64).reshape(-1)
    sp = np.zeros(a.shape, bool) if special is None else np.asarray(special, dtype=bool).reshape(-1)
    if not (a.shape == b.shape == sp.shape):
        raise InputError(f"{a.size} scores, {b.size} leave-one-out scores and {sp.size} special flags: one per token")
    a, b = a[~sp], b[~sp]
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if a.size < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(kendalltau(a, b, variant="b").statistic)


def random_scores(n_tokens: int, seed: int, index: int, stream: int = IOT_RANDOM_STREAM) -> np.ndarray:
    """(n_tokens,) float64 uniform [0, 1) scores of a random attribution of sentence ``index``:
    ``numpy.random.default_rng(SeedSequence([seed, index, stream])).random(n_tokens)``. Their
    ranking of the tokens is a uniformly random permutation (ties have probability 0)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index), int(stream)])).random(int(n_tokens))


def matching_rate_baseline(classifier, result, *, seed: int = EvaluateConfig.seed,
                           batch_size: int = EvaluateConfig.batch_size,
                           significance: SignificanceConfig | None = None) -> dict:
    """The matching rate's standard error and its random-words baseline (Yuan et al. 2019
    ``001_e80f9d2c7d254978.txt`` §4.3, "Evaluation of Interpretability": the matching rate of
    the k·m nearest words; here the same with random words instead).

    For sentence b of ``result`` (its order; empty sentences were skipped) the interpretation X'
    has w_b words (k·m = 15 with the defaults, fewer when the sentence has fewer than k tokens).
    The baseline draws w_b word ids i.i.d. uniformly from the classifier's non-special vocabulary
    (``default_rng(SeedSequence([seed, b, MATCHING_RANDOM_STREAM]))``), feeds them in order (as
    :func:`interp_engine.neighbours.interpretation_ids` feeds X') and matches when the predicted
    class equals the class predicted for the sentence (``result.predicted[b]``).

    Args:
        classifier: the :class:`~interp_engine.models.Classifier` of ``result``.
        result: :class:`~interp_engine.results.MatchingRate`.
        seed: seed of the draws and of the bootstrap. batch_size: random sentences per forward.
        significance: the paired test's settings (None: the defaults).

    Returns:
        ``{"se", "methods": {"neighbours": {mean, se, n}}, "random_baseline": {"mean", "se", "n",
        "n_words" (mean w_b), "vocabulary" (ids drawn from), "seed", "matches" (0/1 per sentence)},
        "paired": [neighbours vs random_words], "significance"}``
        (se: sample standard deviation of the per-sentence 0/1 matches / sqrt(n)).

    Raises:
        InputError: ``result`` has no sentence.
    """
    import torch

    from .attribution.likelihood import candidate_mask
    from .neighbours import interpretation_ids

    sig = (significance or SignificanceConfig()).validate()
    n = int(result.n)
    if n == 0:
        raise InputError("the matching rate has no sentence to compare with random words")
    tok = classifier.tokenizer
    vocab = np.flatnonzero(candidate_mask(tok, len(tok)).numpy())
    counts = [len(str(t).split()) for t in result.interpretations]
    inputs = []
    for b, w in enumerate(counts):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), b, MATCHING_RANDOM_STREAM]))
        inputs.append(interpretation_ids(classifier, vocab[rng.integers(0, vocab.size, size=max(1, w))].tolist()))
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    pred = []
    for a in range(0, n, max(1, int(batch_size))):
        chunk = inputs[a:a + max(1, int(batch_size))]
        L = max(len(x) for x in chunk)
        ids = torch.full((len(chunk), L), pad, dtype=torch.long)
        msk = torch.zeros_like(ids)
        for r, x in enumerate(chunk):
            ids[r, : len(x)] = torch.tensor(x)
            msk[r, : len(x)] = 1
        with torch.inference_mode():
            pred.extend(int(v) for v in classifier.logits(ids.to(classifier.device), msk.to(classifier.device))
                        .argmax(-1).cpu())
    matches = np.asarray(result.matches, dtype=np.float64)
    rnd = (np.asarray(pred, dtype=np.int64) == np.asarray(result.predicted, dtype=np.int64)).astype(np.float64)
    mine = mean_se(matches)
    return {"se": mine["se"], "methods": {"neighbours": mine},
            "random_baseline": {**mean_se(rnd), "n_words": float(np.mean(counts)), "vocabulary": int(vocab.size),
                                "seed": int(seed), "matches": [int(v) for v in rnd]},
            "paired": paired_tests({"neighbours": matches, "random_words": rnd}, seed=seed,
                                   n_resamples=sig.n_resamples, alpha=sig.alpha),
            "significance": _significance_note(seed, sig)}


def _significance_note(seed: int, significance: SignificanceConfig) -> dict:
    return {"difference": "a - b per sentence", "ci": "percentile bootstrap 95 %",
            "n_resamples": int(significance.n_resamples), "seed": int(seed),
            "test": "Wilcoxon signed-rank, two-sided, zero differences dropped",
            "correction": "Holm", "alpha": float(significance.alpha)}


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
             settings: dict | None = None, significance: SignificanceConfig | None = None,
             sampler=None, iot_all: bool = EvaluateConfig.iot_all, attributions=None, progress=None,
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
        sampler: what samples the replacements of the ``mlm`` strategy (Pham et al. 2022: a masked
            LM independent of the explainer's): None = ``engine.likelihood_model("mlm")``, the
            explainer's MLM; a masked-LM folder (opened with
            :func:`~interp_engine.attribution.likelihood.load_mlm_likelihood`); or a
            :class:`~interp_engine.attribution.likelihood.LikelihoodModel`. With ``mlm`` the report
            and ``run.json`` record ``explainer_mlm`` (the engine's open MLM: ``{"path", "hash"}``,
            or None) and ``sampler_mlm`` (the same plus ``same_as_explainer``, equal content
            hashes, and ``source``); a resumed run must have the same ones.
        iot_all: ``iot`` over every sentence; False: only sentences of more than
            :data:`~interp_engine.faithfulness.IOT_TOP_K` (10) word tokens.
        attributions: ``attributions(i, text) -> {method: TokenAttribution}``, the attributions of
            sentence i already computed (an attribution store, :func:`interp_engine.store.store_attributions`),
            or None to compute them here (:meth:`Engine.attribute <interp_engine.engine.Engine.attribute>`).
        progress: ``progress(done, total, message)`` per sentence; cancel: ``threading.Event``.

    Returns:
        The JSON report: ``{"metric", "methods": {m: {"mean", "se", "n"}}, ...}`` (IoT adds
        ``neutral_mean`` and ``neutral_abs_mean`` per method; bins add ``bins``; ``segment_ratio``
        adds per method ``fraction_above_1`` (of the defined ratios), ``n_undefined`` (premise
        mean |score| 0) and ``premise_abs_mean``/``hypothesis_abs_mean`` (mean ± SE), and
        ``segment_names``; with several methods ``paired_difference``: per method, mean ± SE of
        its per-sentence value minus the first method's; ``paired``: every pair of methods,
        :func:`paired_tests`, an empty list for one method; ``significance``: how they were
        computed). ``auc_rep`` adds ``auc_remove``, ``aopc_eraser`` and ``aopc_ferret`` (mean ±
        SE, n per method, :data:`AUC_COMPANIONS`) with their tests in ``paired_by_metric``;
        ``iot`` adds ``random_baseline`` (mean ± SE), ``iot_all``, ``min_words`` and
        ``n_excluded_short`` (sentences whose IoT was defined but that had ≤ 10 word tokens) and
        ``paired_by_metric["iot_vs_random"]``; ``loo_tau`` adds ``reference`` ("loo"),
        ``n_skipped_short`` (sentences with < 2 word tokens) and ``n_undefined`` per method (a
        constant ranking); ``timing``: seconds of this run spent on attributions, on the metric's
        curves and on the AUC_rep companions' removal curves (sentences resumed from ``out`` are not
        timed).

    Raises:
        ModelLoadError: ``sampler`` is a folder that is not a usable masked LM.
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
    if metric == "loo_tau":
        # the reference is not compared with itself (its τ would be 1 by construction)
        methods = [m for m in methods if m != LOO_REFERENCE]
        if not methods:
            raise InputError(f"loo_tau compares methods with {LOO_REFERENCE} (leave-one-out by removal): "
                             "give at least one other method")
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
    lik, mlm_records = None, {}
    if strategy == "mlm" and not curveless:
        lik, mlm_records = _sampler_of(engine, c, sampler)
    curve_x = max(x_max, max(AOPC_BINS)) if metric in ("comprehensiveness", "sufficiency") else x_max
    cols = _columns(metric)
    config = {"metric": metric, "methods": methods, "strategy": strategy if not curveless else None,
              "x_max": x_max, "seed": seed, "exclude_original": exclude_original, "n": len(texts),
              "model_hash": c.content_hash, **({"iot_all": bool(iot_all)} if metric == "iot" else {}),
              **mlm_records, **(settings or {})}

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
    timing = {"attribution_s": 0.0, "curves_s": 0.0, "companions_s": 0.0, "n_sentences": 0}
    try:
        for i, text in enumerate(texts):
            if i in done:
                continue
            check_cancel(cancel)
            new_rows, new_curves = _one_sentence(engine, c, lik, i, text, metric, methods, labels, strategy, x_max,
                                                 curve_x, seed, tags, exclude_original, batch_size, grid, cancel,
                                                 iot_all=iot_all, timing=timing,
                                                 atts=None if attributions is None else attributions(i, text))
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
                        seed=seed, significance=sig, iot_all=iot_all)
    if metric == "segment_ratio":
        report["segment_names"] = list(texts[0].segments)
    report.update({"strategy": config["strategy"], "x_max": x_max, "seed": seed, "n_sentences": len(texts),
                   "lower_is_better": FAITHFULNESS_METRICS[metric][1], "seconds": time.perf_counter() - t0,
                   "timing": timing})
    report.update({k: config[k] for k in ("explainer_mlm", "sampler_mlm") if k in config})
    if outp is not None:
        report["out"] = str(outp)
        (outp / "summary.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        (outp / "table.tex").write_text(latex_table(report), encoding="utf-8")
        (outp / PAIRED_NAME).write_text(_paired_csv(report["paired"]), encoding="utf-8")
        if report.get("paired_by_metric"):
            (outp / PAIRED_BY_METRIC_NAME).write_text("".join(
                _paired_csv(v, k, header=(j == 0)) for j, (k, v) in enumerate(report["paired_by_metric"].items())),
                encoding="utf-8")
        _plot(report, outp / "curves.pdf")
    report.pop("mean_curves", None)
    return report


def sentence_metrics(engine, i: int, text, atts: dict, metric: str, *, strategy: str, x_max: float = AUC_REP_X_MAX,
                     seed: int = EvaluateConfig.seed, label: int | None = None,
                     exclude_original: bool = DeletionConfig.exclude_original,
                     batch_size: int = EvaluateConfig.batch_size, cancel=None) -> dict[str, float]:
    """The per-sentence value of ``metric`` for each method of ``atts``, from attributions already
    computed (an attribution store's row, :mod:`interp_engine.store`): exactly the ``value`` of
    sentence ``i`` in ``evaluate``'s ``per_sentence.csv`` (the same code, seeded from
    ``(seed, i)``; the ``mlm`` strategy samples from the engine's masked LM).

    Args:
        engine: the :class:`~interp_engine.engine.Engine` with the classifier (and MLM) open.
        i: the sentence's index (its seed). text: the sentence (str or TextInput).
        atts: method → :class:`~interp_engine.results.TokenAttribution` to the predicted class.
        metric: one of :data:`FAITHFULNESS_METRICS` but ``iot``. strategy, x_max, seed,
            exclude_original, batch_size: as in :func:`evaluate`. label: gold label or None.

    Returns:
        method → value (NaN where undefined).

    Raises:
        InputError: ``iot`` or an unknown metric/strategy; ``mlm`` without a masked LM. Cancelled.
    """
    if metric not in FAITHFULNESS_METRICS or metric == "iot":
        raise InputError(f"per-row metric {metric!r} is not available; choose one of "
                         f"{', '.join(m for m in FAITHFULNESS_METRICS if m != 'iot')}")
    if strategy not in STRATEGIES:
        raise InputError(f"unknown replacement strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    c = engine.require_model()
    methods = [m for m in atts if not (metric == "loo_tau" and m == LOO_REFERENCE)]
    lik = _sampler_of(engine, c, None)[0] if strategy == "mlm" and metric not in ATTRIBUTION_ONLY else None
    curve_x = max(x_max, max(AOPC_BINS)) if metric in ("comprehensiveness", "sufficiency") else x_max
    rows, _ = _one_sentence(engine, c, lik, 0, text, metric, methods, [label], strategy, x_max, curve_x, seed, None,
                            exclude_original, batch_size, np.linspace(0.0, curve_x, GRID_POINTS), cancel,
                            atts=atts, seed_index=i)
    out = {r[1]: float(r[2]) for r in rows}
    return {m: out.get(m, float("nan")) for m in atts}  # loo_tau of loo itself: not defined (NaN)


def _one_sentence(engine, c, lik, i, text, metric, methods, labels, strategy, x_max, curve_x, seed, tags,
                  exclude_original, batch_size, grid, cancel, *, iot_all=EvaluateConfig.iot_all, timing=None,
                  atts=None, seed_index=None):
    """The CSV rows and curve rows of sentence ``i``. ``atts``: method → attribution already
    computed (an attribution store), else computed here; ``seed_index``: the index its seed is
    derived from (default ``i``)."""
    given = atts
    label = "" if labels is None or labels[i] is None else str(labels[i])
    nan = float("nan")
    ncols = len(_columns(metric))

    def empty_rows():
        return [[str(i), m, "nan", "0", "nan", "-1", label] + ["nan"] * (ncols - 7) for m in methods], \
            ([[str(i), m] + ["nan"] * GRID_POINTS for m in methods] if metric not in ATTRIBUTION_ONLY else [])

    parts = text.texts if isinstance(text, TextInput) else (str(text),)
    if not all(t.strip() for t in parts):
        return empty_rows()
    timing = {} if timing is None else timing
    t_attr = time.perf_counter()
    try:
        if given is None:
            atts = {m: engine.attribute(text, m, cancel=cancel) for m in methods}
        else:
            atts = {m: given[m] for m in methods}
        ref = None
        if metric == "loo_tau":
            ref = (given or {}).get(LOO_REFERENCE)
            ref = engine.attribute(text, LOO_REFERENCE, cancel=cancel) if ref is None else ref
    except InputError:
        return empty_rows()
    timing["attribution_s"] = timing.get("attribution_s", 0.0) + time.perf_counter() - t_attr
    timing["n_sentences"] = timing.get("n_sentences", 0) + 1
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
        nw = int((~special).sum())
        # with at most IOT_TOP_K words the top-k holds every word: IoT would be 1 by construction
        counted = positive and (iot_all or nw > IOT_TOP_K)
        rnd = iot(random_scores(len(special), seed, i if seed_index is None else seed_index), tag, special) \
            if counted else nan
        for m, a in atts.items():
            v = iot(a.scores, tag, special) if counted else nan
            nm, na = neutral_attribution(a.scores, tag, special)
            rows.append([str(i), m, _fmt(v), str(nw), _fmt(p0), str(target), label, _fmt(nm), _fmt(na), str(npos),
                         _fmt(rnd)])
        return rows, curves
    if metric == "loo_tau":
        special = np.asarray(ref.special, dtype=bool)
        nw = int((~special).sum())
        for m, a in atts.items():
            v = loo_kendall_tau(a.scores, ref.scores, special) if nw >= 2 else nan
            rows.append([str(i), m, _fmt(v), str(nw), _fmt(p0), str(target), label])
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
    sub_seed = int(np.random.SeedSequence([int(seed), int(i if seed_index is None else seed_index)])
                   .generate_state(1)[0])
    t_cur = time.perf_counter()
    scores = {m: a.scores for m, a in atts.items()}
    cur = deletion_curves(c, text, scores, target=target, strategy=strategy,
                          likelihood=lik, x_max=curve_x, insertion=(metric == "sufficiency"), seed=sub_seed,
                          exclude_original=exclude_original, batch_size=batch_size, cancel=cancel)
    timing["curves_s"] = timing.get("curves_s", 0.0) + time.perf_counter() - t_cur
    if metric == "auc_rep":
        vals, per = cur.auc, None
        # Pham et al. 2022: the same attributions judged without the masked LM, by removal (one
        # curve up to x = 1 gives the AUC on [0, x_max] and both AOPC conventions)
        t_cmp = time.perf_counter()
        rem = deletion_curves(c, text, scores, target=target, strategy="remove", x_max=1.0, batch_size=batch_size,
                              cancel=cancel)
        auc_rem = np.array([normalised_auc(rem.x, rem.p_deletion[k], x_max) for k in range(len(rem.methods))])
        companions = np.stack([auc_rem, aopc_eraser(rem), aopc_ferret(rem)], axis=1)
        per = companions
        timing["companions_s"] = timing.get("companions_s", 0.0) + time.perf_counter() - t_cmp
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
               significance: SignificanceConfig = SignificanceConfig(), iot_all: bool = EvaluateConfig.iot_all) -> dict:
    cols = _columns(metric)
    out = {"metric": metric, "methods": {}}
    # per-sentence values of other quantities than the metric, each with its own paired tests
    secondary: dict[str, dict[str, np.ndarray]] = {}
    idx = sorted({r[0] for r in rows}, key=int)

    def column(name: str, m: str) -> np.ndarray:
        j = cols.index(name)
        by_i = {r[0]: float(r[j]) for r in rows if r[1] == m}
        return np.array([by_i.get(i, np.nan) for i in idx], dtype=np.float64)
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
        if metric == "auc_rep":
            for name in AUC_COMPANIONS:
                secondary.setdefault(name, {})[m] = column(name, m)
                out.setdefault(name, {})[m] = mean_se(secondary[name][m])
        if metric == "loo_tau":
            out.setdefault("n_undefined", {})[m] = sum(1 for r in mine
                                                       if int(r[3]) >= 2 and not math.isfinite(float(r[2])))
    if metric == "loo_tau":
        first = [r for r in rows if r[1] == methods[0]]
        out.update({"reference": LOO_REFERENCE, "n_skipped_short": sum(1 for r in first if int(r[3]) < 2),
                    "kendall": "tau-b (scipy.stats.kendalltau), word tokens only"})
    paired_by: dict[str, list] = {}
    if metric == "iot":
        first = [r for r in rows if r[1] == methods[0]]
        rnd = column("random_baseline", methods[0])
        out["random_baseline"] = {**mean_se(rnd), "seed": int(seed),
                                  "scores": "uniform [0, 1) per token, SeedSequence([seed, sentence, 1])"}

        def defined(r) -> bool:  # IoT has a value when the length allows it (Kim et al. §4.3)
            npos = float(r[cols.index("n_positive")])
            return r[5] == "1" and r[6] == "1" and math.isfinite(npos) and npos > 0
        short = sum(1 for r in first if defined(r) and int(r[3]) <= IOT_TOP_K)
        out.update({"iot_all": bool(iot_all), "min_words": None if iot_all else IOT_TOP_K + 1,
                    "n_excluded_short": 0 if iot_all else short, "n_short_included": short if iot_all else 0})
        paired_by["iot_vs_random"] = paired_vs_reference({m: column("value", m) for m in methods}, rnd, "random",
                                                         seed=seed, n_resamples=significance.n_resamples,
                                                         alpha=significance.alpha)
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
    for name, vals in secondary.items():
        paired_by[name] = paired_tests(vals, seed=seed, n_resamples=significance.n_resamples, alpha=significance.alpha)
    if paired_by:
        out["paired_by_metric"] = paired_by
    out["significance"] = _significance_note(seed, significance)
    if crows:
        out["mean_curves"] = {"x": grid.tolist()}
        for m in methods:
            arr = np.array([[float(v) for v in r[2:]] for r in crows if r[1] == m], dtype=np.float64)
            arr = arr[np.isfinite(arr).all(axis=1)] if arr.size else arr
            out["mean_curves"][m] = arr.mean(axis=0).tolist() if len(arr) else []
    return out


def _best_and_differs(stats: dict, paired: list, lower_is_better) -> tuple[str | None, set]:
    """The best method of one row (lowest or highest finite mean; None when the direction is None)
    and the methods whose paired comparison with it is significant (Holm-corrected)."""
    vals = {m: d["mean"] for m, d in stats.items() if np.isfinite(d["mean"])}
    best = (min if lower_is_better else max)(vals, key=vals.get) if vals and lower_is_better is not None else None
    differs: set = set()
    if best is not None:
        for r in paired or []:
            if r["significant"] and best in (r["a"], r["b"]):
                differs.add(r["b"] if r["a"] == best else r["a"])
    return best, differs


def latex_table(report: dict) -> str:
    """A LaTeX ``tabular`` like Kim et al. Table 2: one column per method, mean ± standard error
    (and n) of the metric; IoT adds the neutral-word attribution row and the random-attribution
    baseline, the segment ratio the premise and hypothesis mean |attribution| rows and the fraction
    of ratios above 1, AUC_rep the rows of :data:`AUC_COMPANIONS` (removal AUC, AOPC in ERASER's
    and ferret's bins).

    The best method (lowest or highest mean, by the metric's direction) is bold; a method whose
    paired comparison with it (``report["paired"]``, :func:`paired_tests`) is significant after
    the Holm correction gets a dagger, explained by a footnote row ("Holm-corrected Wilcoxon
    signed-rank, α = 0.05"). Each companion row has its own best method and daggers (from
    ``report["paired_by_metric"]``). ``segment_ratio`` has no best method, so no dagger."""
    methods = list(report["methods"])
    name = {"auc_rep": r"$\mathrm{AUC}_{\mathrm{rep}}$", "aopc": "AOPC", "comprehensiveness": "Comprehensiveness",
            "sufficiency": "Sufficiency", "iot": "IoT", "loo_tau": r"Kendall $\tau_b$ with leave-one-out",
            "segment_ratio": r"Hypothesis / premise mean $|$attribution$|$"}.get(report["metric"], report["metric"])
    # methods that differ significantly from the best one (Holm-corrected Wilcoxon, paired_tests)
    paired = report.get("paired") or []
    best, differs = _best_and_differs(report["methods"], paired, report.get("lower_is_better"))
    mark = r"$^{\dagger}$"

    def cell(d, m, fmt=".4f", best=best, differs=differs):
        s = f"{d['mean']:{fmt}} $\\pm$ {d['se']:{fmt}}" if d["n"] else "--"
        if best is not None and m == best:
            return f"\\textbf{{{s}}}"
        return s + mark if m in differs else s

    lines = [r"\begin{tabular}{l" + "c" * len(methods) + "}", r"\hline",
             " & " + " & ".join(registry.short_label(m).replace("×", r"$\times$") for m in methods) + r" \\", r"\hline",
             name + " & " + " & ".join(cell(report["methods"][m], m) for m in methods) + r" \\"]
    for col, (label, lower) in AUC_COMPANIONS.items():
        if report["metric"] == "auc_rep" and col in report:
            b, dif = _best_and_differs(report[col], (report.get("paired_by_metric") or {}).get(col), lower)
            lines.append(f"{label} & " + " & ".join(cell(report[col][m], m, best=b, differs=dif) for m in methods)
                         + r" \\")
    if report["metric"] == "iot":
        lines.append("Neutral-word attribution & " + " & ".join(cell(report["neutral_mean"][m], None) for m in methods) + r" \\")
        if report.get("random_baseline"):
            lines.append(f"Random attribution & \\multicolumn{{{len(methods)}}}{{c}}{{"
                         f"{cell(report['random_baseline'], None)}}} \\\\")
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
        rb = report.get("random_baseline")
        if rb and rb.get("n"):  # IoT of a random attribution on the same sentences
            ax.axhline(rb["mean"], color="0.5", lw=0.8, ls="--", label="random attribution")
            ax.legend(fontsize=7)
    ax.legend(fontsize=7) if mc else None
    fig.tight_layout()
    fig.savefig(path, format="pdf")


def evaluate_request(engine, request, *, progress=None, cancel=None) -> dict:
    """Run an :class:`~interp_engine.requests.EvaluateRequest` on the engine's open model, masked LM
    and dataset (the first ``request.evaluate.n`` rows; of a pair dataset, its pairs): the
    faithfulness metrics and ``segment_ratio`` through :func:`evaluate`, ``matching_rate`` through
    :func:`interp_engine.neighbours.matching_rate`.

    With ``request.sampler_mlm`` the ``mlm`` replacements are sampled from that masked LM instead
    of the explainer's (the engine's open MLM); the report and ``run.json`` record both as
    ``explainer_mlm`` and ``sampler_mlm`` (``{"path", "hash"}``, :func:`~interp_engine.hashing.model_folder_hash`;
    ``sampler_mlm`` adds ``same_as_explainer`` (equal hashes) and ``source``); without it the
    sampler is the explainer's MLM and ``source`` says so.

    With ``request.store`` or ``request.backend == "ray"`` the attributions are read from an
    attribution store (:func:`interp_engine.store.store_attributions`: the store is made first by
    :func:`~interp_engine.store.attribute_dataset` with ``request.backend`` when it does not exist;
    it is refused, StoreError, when its model, data, methods' parameters or rows do not fit); the
    metrics are then computed exactly as without it (the same report for the same seed). Without
    both (``backend="local"``, no store) every attribution is computed here, sentence by sentence.

    Returns:
        The JSON report (see :func:`evaluate`; matching rate: ``MatchingRate.to_json()`` with
        :func:`matching_rate_baseline`).

    Raises:
        InputError: no dataset, bad ``n``, AUC without a masked LM or a strategy, marginalization
        without a masked LM, ``segment_ratio`` on a single-text dataset, ``matching_rate`` or
        ``iot`` on pairs (a pair dataset or a pair model), ``sampler_mlm`` with a metric or
        strategy that samples nothing, ``store``/``backend="ray"`` with ``matching_rate`` or
        ``randomization``. ModelLoadError: ``sampler_mlm`` is not a usable masked LM.
        StoreError: the store does not fit the request. BackendError: Ray is missing. Cancelled.
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
    sampler_path = getattr(request, "sampler_mlm", None)
    if sampler_path and (request.metric not in FAITHFULNESS_METRICS or request.metric in ATTRIBUTION_ONLY):
        raise InputError(f"--sampler-mlm chooses the masked LM that samples replacement tokens; --metric "
                         f"{request.metric} replaces no token (use it with auc_rep, aopc, comprehensiveness or "
                         "sufficiency)")
    if (getattr(request, "store", None) or getattr(request, "backend", "local") != "local") and \
            request.metric in (RANDOMIZATION_METRIC, "matching_rate"):
        raise InputError(f"--store and --backend ray hold token attributions; --metric {request.metric} uses none "
                         "(drop them, or choose an attribution metric such as auc_rep)")
    if request.metric == RANDOMIZATION_METRIC:  # the sanity check of Adebayo et al. 2018: interp_engine.sanity
        from .sanity import evaluate_randomization

        c = engine.require_model()
        return evaluate_randomization(
            engine, texts, request, labels=None if data.labels is None else list(data.labels)[: len(texts)],
            settings={"model": str(Path(c.path).expanduser().resolve()) if c.path else "",
                      "data": str(Path(data.path).expanduser().resolve()) if data.path else ""},
            progress=progress, cancel=cancel)
    if request.metric == "matching_rate":
        mr, opt = request.matching_rate, request.optimization
        res = engine.matching_rate(texts, k=mr.k, m=mr.m, layer=mr.layer, lambda1=opt.lambda1, lambda2=opt.lambda2,
                                   steps=opt.steps, lr=opt.lr, seed=ev.seed, progress=progress, cancel=cancel)
        return {**res.to_json(), **matching_rate_baseline(engine.require_model(), res, seed=ev.seed,
                                                          batch_size=ev.batch_size)}
    methods = list(ev.methods)
    has_mlm = engine.has_mlm()
    strategy = request.strategy or (request.deletion.strategy if (has_mlm or sampler_path) else None)
    if sampler_path and strategy != "mlm":
        raise InputError(f"--sampler-mlm samples the replacements of the mlm strategy; --strategy {strategy} "
                         "samples nothing (drop --sampler-mlm or use --strategy mlm)")
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
    attributions = None
    store_path = getattr(request, "store", None)
    if store_path or getattr(request, "backend", "local") != "local":
        from .store import store_attributions

        attributions = store_attributions(engine, request, methods, len(texts), progress=progress, cancel=cancel)
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
                    settings=settings, sampler=sampler_path or None, iot_all=ev.iot_all, attributions=attributions,
                    progress=progress, cancel=cancel)


def _sampler_of(engine, classifier, sampler) -> tuple[object, dict]:
    """The likelihood model that samples the ``mlm`` replacements and the report's
    ``{"explainer_mlm", "sampler_mlm"}`` records (see :func:`evaluate`'s ``sampler``)."""
    explainer = _mlm_record(engine.mlm_path) if engine.mlm_path is not None else None
    if sampler is None:
        lik = engine.likelihood_model("mlm")  # InputError without a masked LM
        rec = dict(explainer or {"path": None, "hash": ""}, same_as_explainer=True,
                   source="default: the explainer's masked LM (--mlm); give --sampler-mlm DIR for an independent one")
    elif isinstance(sampler, (str, Path)):
        from .attribution.likelihood import load_mlm_likelihood

        lik = load_mlm_likelihood(sampler, classifier)  # ModelLoadError: not a usable masked LM
        rec = _mlm_record(Path(sampler))
        rec.update(same_as_explainer=explainer is not None and bool(rec["hash"]) and rec["hash"] == explainer["hash"],
                   source="--sampler-mlm")
    else:
        lik = sampler
        rec = {"path": None, "hash": "", "name": str(getattr(sampler, "name", type(sampler).__name__)),
               "same_as_explainer": False, "source": "a likelihood model given to evaluate()"}
    return lik, {"explainer_mlm": explainer, "sampler_mlm": rec}


def _mlm_record(path: Path) -> dict:
    """``{"path", "hash"}`` of a masked-LM folder (resolved path; hash "" when it holds no model files)."""
    from .hashing import model_folder_hash

    p = Path(path).expanduser()
    try:
        h = model_folder_hash(p) if p.is_dir() else ""
    except (InputError, OSError):
        h = ""
    return {"path": str(p.resolve()), "hash": h}
