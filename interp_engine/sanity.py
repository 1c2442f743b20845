"""The model-parameter randomization test of attribution methods (no Qt).

Adebayo, Gilmer, Muelly, Goodfellow, Hardt and Kim, "Sanity checks for saliency maps", NeurIPS
2018, §3.1 ("cascading randomization"), applied to text: an explanation that is meant to say what
the *model* learned must change when what the model learned is destroyed. Starting from the
trained model (step 0), step k re-initialises the top k layer groups of the classifier, from the
output down (the classifier head first, then the top encoder layer, …, the word embeddings last:
:meth:`~interp_engine.models.family.ModelFamily.randomization_layers`, written once per
architecture), and every method's map of every sentence is computed again. The map of each step is
compared with the trained model's by the Spearman rank correlation over the word tokens (special
tokens excluded), with and without absolute values (Adebayo et al. report both, Fig. 4). The last
step, every group re-initialised, is the fully random model (:data:`FULL_RANDOM` in reports).

How a layer group is re-initialised (:func:`reinitialize`): a CPU copy of each of its modules gets
the model's own initialisation (``PreTrainedModel._init_weights``: our TextCNN/BiLSTM call
``reset_parameters()`` and draw Kim (2014)'s uniform word vectors, Hugging Face models their
normal(0, ``initializer_range``) weights; a module ``_init_weights`` leaves unchanged is reset by
its own ``reset_parameters()``) with torch's CPU generator seeded from
``SeedSequence([SanityConfig.seed, g])`` inside :func:`torch.random.fork_rng` (the caller's random
state is untouched), and is copied back. Group g therefore gets the same random weights at every
later step of the cascade, on CPU and GPU alike. A family with ``zero_pad_embedding`` keeps the
[PAD] word vector zero. Everything happens on a deep copy: the user's model is never modified.

The class explained at every step is the trained model's (its predicted class unless a target is
given): the question is whether the map *of that decision* depends on the parameters.

A method **fails** the sanity check when the mean Spearman ρ between its maps on the trained and on
the fully random model is above :attr:`SanityConfig.threshold <interp_engine.config.SanityConfig>`
(0.5; why in its docstring). A map of fewer than two word tokens, or a constant map, has no rank
correlation: it is NaN and left out of the means (their ``n`` counts the defined values).
"""
from __future__ import annotations

import copy
import csv
import io
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from .config import SanityConfig
from .errors import InputError, check_cancel
from .inputs import TextInput

#: the ``evaluate --metric`` key and its one-line description
RANDOMIZATION_METRIC = "randomization"
RANDOMIZATION_DESCRIPTION = ("model-parameter randomization sanity check: Spearman ρ of each map with the map of the "
                             "model whose top layers are re-initialised, layer by layer (Adebayo et al. 2018 §3.1)")
#: the name of step 0 (the trained model)
TRAINED = "trained"
#: what reports call the last step (every layer group re-initialised)
FULL_RANDOM = "full randomization"
#: files ``evaluate --metric randomization --out DIR`` writes
PER_SENTENCE_NAME, SUMMARY_CSV_NAME, SUMMARY_NAME, FIGURE_NAME = (
    "per_sentence.csv", "summary.csv", "summary.json", "randomization.pdf")
PER_SENTENCE_COLUMNS = ("index", "method", "step", "layer", "spearman", "spearman_abs", "p_target", "n_words",
                        "target", "label")
SUMMARY_COLUMNS = ("method", "step", "layer", "mean", "se", "n", "abs_mean", "abs_se", "abs_n")


# -- the cascade ---------------------------------------------------------------------------------
def randomization_groups(model) -> list[tuple[str, list[torch.nn.Module]]]:
    """The layer groups of ``model`` in cascade order (top first), from its family's
    :meth:`~interp_engine.models.family.ModelFamily.randomization_layers`."""
    from .models.family import family_of

    return family_of(model).randomization_layers(model)


def group_seed(seed: int, group: int) -> int:
    """The torch seed of layer group ``group`` (0 = the top one) for ``SanityConfig.seed`` ``seed``:
    ``SeedSequence([seed, group])``, so each group's random weights depend on nothing else."""
    return int(np.random.SeedSequence([int(seed), int(group)]).generate_state(1)[0])


def _clear_hf_flags(module: torch.nn.Module) -> None:
    """Forget Hugging Face's "already initialised" marks (``_is_hf_initialized``, set on modules
    and tensors loaded from a checkpoint), which make ``_init_weights`` skip a tensor."""
    for obj in [*module.modules(), *module.parameters(), *module.buffers()]:
        if "_is_hf_initialized" in getattr(obj, "__dict__", {}):
            del obj.__dict__["_is_hf_initialized"]


def reinitialize(model: torch.nn.Module, modules: Sequence[torch.nn.Module], seed: int, *,
                 zero_pad: bool = False) -> None:
    """Re-initialise ``modules`` (sub-modules of ``model``) in place with the model's own
    initialisation, seeded (see the module docstring).

    Args:
        model: the model the modules belong to (its ``_init_weights`` is used when it has one).
        modules: the layer group. seed: torch seed of the group (:func:`group_seed`).
        zero_pad: keep the [PAD] row (``padding_idx``) of the model's word embeddings zero.
    """
    init = getattr(model, "_init_weights", None)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for mod in modules:
            fresh = copy.deepcopy(mod).to("cpu")
            _clear_hf_flags(fresh)
            with torch.no_grad():
                for sub in fresh.modules():
                    own = [p.detach().clone() for p in sub.parameters(recurse=False)]
                    if init is not None:
                        init(sub)
                    unchanged = own and all(torch.equal(a, b) for a, b in zip(own, sub.parameters(recurse=False)))
                    if (init is None or unchanged) and hasattr(sub, "reset_parameters"):
                        sub.reset_parameters()
            mod.load_state_dict(fresh.state_dict())
    if zero_pad:
        emb = model.get_input_embeddings()
        if emb is not None and getattr(emb, "padding_idx", None) is not None and any(emb is m or any(
                emb is s for s in m.modules()) for m in modules):
            with torch.no_grad():
                emb.weight[emb.padding_idx].zero_()


def cascade(model: torch.nn.Module, *, seed: int = SanityConfig.seed) -> Iterator[tuple[int, str, torch.nn.Module]]:
    """Cascading randomization of a deep copy of ``model`` (Adebayo et al. 2018 §3.1).

    Yields:
        ``(k, name, randomized)`` for k = 1 … K: the copy (one object, changed in place between
        yields) with its first k layer groups re-initialised, ``name`` the k-th group's. ``model``
        itself is never modified.
    """
    from .models.family import family_of

    twin = copy.deepcopy(model).eval()
    fam = family_of(twin)
    for g, (name, modules) in enumerate(fam.randomization_layers(twin)):
        reinitialize(twin, modules, group_seed(seed, g), zero_pad=fam.zero_pad_embedding)
        yield g + 1, name, twin


def step_names(model) -> tuple[str, ...]:
    """``("trained", <group 1>, …, <group K>)``: the names of the K + 1 steps of ``model``'s cascade."""
    return (TRAINED, *(name for name, _m in randomization_groups(model)))


# -- rank correlation ------------------------------------------------------------------------------
def rank_correlation(a, b, mask=None, *, absolute: bool = False) -> float:
    """Spearman's rank correlation ρ of two maps of one sentence (``scipy.stats.spearmanr``,
    average ranks for ties), as Adebayo et al. 2018 (Fig. 4) compare saliency maps.

    Args:
        a, b: (n,) scores of the same tokens. mask: (n,) bool, the tokens compared (the word tokens;
            None: all). absolute: compare |a| and |b| (the "absolute value" variant).

    Returns:
        ρ in [-1, 1]; exactly 1.0 when the two rankings are identical; NaN when fewer than two
        tokens are compared, a score is not finite, or either map is constant (no ranking).
    """
    from scipy.stats import rankdata, spearmanr

    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise InputError(f"the two maps have {a.size} and {b.size} scores: one per token each")
    if mask is not None:
        m = np.asarray(mask, dtype=bool).reshape(-1)
        a, b = a[m], b[m]
    if absolute:
        a, b = np.abs(a), np.abs(b)
    if a.size < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("nan")
    ra, rb = rankdata(a), rankdata(b)
    if np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return float("nan")
    if np.array_equal(ra, rb):
        return 1.0
    return float(np.clip(spearmanr(a, b).statistic, -1.0, 1.0))


# -- running every method at every step ------------------------------------------------------------
@dataclass(frozen=True)
class CascadeScores:
    """The maps of several methods on several inputs at every step of one cascade.

    Attributes:
        steps: K + 1 step names (:func:`step_names`).
        trained: ``{method: [TokenAttribution or None]}``: step 0's result per input (None when the
            method could not explain it: an empty text).
        scores: ``{method: [(K + 1, n_i) float64 or None]}``.
        p_target: ``{method: [(K + 1,) float64 or None]}``: p(target) of each step's model.
        targets: (N,) the class explained for each input (-1: none).
    """

    steps: tuple[str, ...]
    trained: dict
    scores: dict
    p_target: dict
    targets: np.ndarray

    def correlations(self, method: str, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(spearman, spearman_abs)``, each (K + 1,), of input ``i``'s maps with its step-0 map
        (word tokens only; all NaN when the input has no map)."""
        K1 = len(self.steps)
        s = self.scores[method][i]
        if s is None:
            return np.full(K1, np.nan), np.full(K1, np.nan)
        words = ~np.asarray(self.trained[method][i].special, dtype=bool)
        rho = np.array([rank_correlation(s[0], s[k], words) for k in range(K1)])
        rho_abs = np.array([rank_correlation(s[0], s[k], words, absolute=True) for k in range(K1)])
        return rho, rho_abs


def run_cascade(classifier, inputs: Sequence, methods: Sequence[str], *, config: SanityConfig | None = None,
                configs=None, likelihoods=None, target: int | None = None, progress=None,
                cancel=None) -> CascadeScores:
    """Every method's attribution of every input at every step of the cascade.

    The trained maps come first (step 0, on ``classifier`` itself); then one deep copy of the model
    is re-initialised group by group (:func:`cascade`) and every method explains every input again
    on it, explaining the class step 0 explained. Each method runs as its registry class
    (:mod:`interp_engine.attribution.registry`) on a :class:`~interp_engine.models.Classifier` of
    the copy with the same tokenizer and device.

    Args:
        classifier: the trained :class:`~interp_engine.models.Classifier` (never modified).
        inputs: N texts or :class:`~interp_engine.inputs.TextInput` pairs.
        methods: M attribution method keys.
        config: the seed (None: :class:`SanityConfig` defaults).
        configs: ``{method: config}`` (missing: the method's defaults).
        likelihoods: ``{method: likelihood model}`` for methods that need one (marginalization);
            it depends on the tokenizer only, so the same one serves every step.
        target: the class explained (None: each input's predicted class by the trained model).
        progress: ``progress(done, total, message)`` after each (step, input); cancel: a
            ``threading.Event``.

    Returns:
        :class:`CascadeScores`.

    Raises:
        InputError: an unknown method or a target outside the classes. Cancelled.
    """
    from .attribution import registry
    from .models.classifier import Classifier

    config = (config or SanityConfig()).validate()
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise InputError("give at least one attribution method")
    classes = {m: registry.get(m) for m in methods}
    configs = dict(configs or {})
    likelihoods = dict(likelihoods or {})
    inputs = [x if isinstance(x, str) else TextInput.of(x) for x in inputs]
    N = len(inputs)
    steps = step_names(classifier.model)
    total = len(steps) * N
    done = 0

    def method_obj(m, clf):
        cls = classes[m]
        cfg = configs.get(m)
        if cfg is None and cls.config_class is not None:
            cfg = cls.config_class()
        return cls(clf, cfg, likelihood=likelihoods.get(m))

    def tick(step_name: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, f"sanity check: {step_name}")

    trained: dict = {m: [None] * N for m in methods}
    rows: dict = {m: [None] * N for m in methods}
    probs: dict = {m: [None] * N for m in methods}
    targets = np.full(N, -1, dtype=np.int64)
    for i, inp in enumerate(inputs):
        check_cancel(cancel)
        parts = inp.texts if isinstance(inp, TextInput) else (str(inp),)
        if all(t.strip() for t in parts):
            t = target
            try:
                for m in methods:
                    a = method_obj(m, classifier).attribute(inp, t, cancel=cancel)
                    t = a.target if t is None else t
                    trained[m][i] = a
            except InputError:
                if target is not None:
                    raise  # a bad target is the user's error, not the sentence's
                for m in methods:  # an input the model cannot read: no maps for it
                    trained[m][i] = None
                t = None
            targets[i] = -1 if t is None else int(t)
        tick(TRAINED)
    K1 = len(steps)
    for m in methods:
        for i in range(N):
            a = trained[m][i]
            if a is not None:
                rows[m][i] = np.full((K1, len(a.scores)), np.nan)
                rows[m][i][0] = np.asarray(a.scores, dtype=np.float64)
                probs[m][i] = np.full(K1, np.nan)
                probs[m][i][0] = float(a.prediction.probabilities[a.target])
    twin_clf = None
    for k, name, twin in cascade(classifier.model, seed=config.seed):
        if twin_clf is None:
            twin_clf = Classifier(twin, classifier.tokenizer, device=classifier.device)
        for i, inp in enumerate(inputs):
            check_cancel(cancel)
            for m in methods:
                if trained[m][i] is None:
                    continue
                a = method_obj(m, twin_clf).attribute(inp, int(targets[i]), cancel=cancel)
                rows[m][i][k] = np.asarray(a.scores, dtype=np.float64)
                probs[m][i][k] = float(a.prediction.probabilities[int(targets[i])])
            tick(name)
    return CascadeScores(steps=steps, trained=trained, scores=rows, p_target=probs, targets=targets)


def sanity_check(classifier, inputs, method: str, *, target: int | None = None, config: SanityConfig | None = None,
                 method_config=None, likelihood=None, progress=None, cancel=None):
    """The cascade of one method on one input (the app's "Sanity check this heatmap").

    Args:
        classifier: the trained :class:`~interp_engine.models.Classifier` (never modified).
        inputs: one text or :class:`~interp_engine.inputs.TextInput` pair.
        method: an attribution method key. method_config: its config (None: defaults).
        likelihood: the likelihood model of a method that needs one (marginalization).
        target, config, progress, cancel: as :func:`run_cascade`.

    Returns:
        :class:`~interp_engine.results.SanityCascade`: scores (K + 1, n), Spearman ρ per step (with
        and without absolute values) and p(target) per step.

    Raises:
        InputError: an empty input, an unknown method or target. Cancelled.
    """
    from .results import SanityCascade

    t0 = time.perf_counter()
    config = (config or SanityConfig()).validate()
    inp = inputs if isinstance(inputs, str) else TextInput.of(inputs)
    classifier.encode([inp])  # an empty text: its one-sentence InputError, before any work
    run = run_cascade(classifier, [inp], [method], config=config,
                      configs={method: method_config} if method_config is not None else None,
                      likelihoods={method: likelihood} if likelihood is not None else None, target=target,
                      progress=progress, cancel=cancel)
    a = run.trained[method][0]
    if a is None:
        raise InputError("this input cannot be explained: it has no word the model reads")
    rho, rho_abs = run.correlations(method, 0)
    return SanityCascade(
        text=a.text, tokens=a.tokens, offsets=a.offsets, special=a.special, method=a.method, units=a.units,
        target=int(a.target), prediction=a.prediction, steps=run.steps, scores=run.scores[method][0],
        spearman=rho, spearman_abs=rho_abs, p_target=run.p_target[method][0], seed=int(config.seed),
        threshold=float(config.threshold), params=dict(a.params or {}), seconds=time.perf_counter() - t0,
        truncated=bool(a.truncated), segments=a.segments, segment_names=a.segment_names, texts=a.texts)


# -- the dataset-level report ----------------------------------------------------------------------
def _mean_se(values) -> dict:
    from .evaluation import mean_se

    return mean_se(values)


def verdict(mean_rho: float, threshold: float = SanityConfig.threshold) -> tuple[bool | None, str]:
    """``(passes, sentence)`` of a method whose maps have mean Spearman ρ ``mean_rho`` with the fully
    randomized model's: fails above ``threshold``; None for an undefined mean."""
    if not math.isfinite(mean_rho):
        return None, ("undefined: no sentence had two or more word tokens and non-constant maps, so no rank "
                      "correlation could be computed")
    if mean_rho > threshold:
        return False, (f"fails the sanity check: its maps keep a mean Spearman ρ of {mean_rho:.2f} (> {threshold:g}) "
                       "with the maps of a fully randomized model, so they depend little on what the model learned")
    return True, (f"passes: the mean Spearman ρ with a fully randomized model's maps is {mean_rho:.2f} "
                  f"(≤ {threshold:g}): its maps change when the learned parameters are destroyed")


def randomization_report(run: CascadeScores, *, threshold: float = SanityConfig.threshold) -> tuple[dict, list]:
    """The JSON report of a cascade over a dataset and its per-sentence rows.

    Returns:
        ``(report, rows)``: ``report = {"metric": "randomization", "steps": [...], "methods": {m:
        {"mean", "se", "n" (of ρ at full randomization), "passes", "verdict", "spearman": [{"step",
        "mean", "se", "n"} per step], "spearman_abs": [...]}}, "spearman_full_random": {m: {"mean",
        "se", "n"}}, "spearman_abs_full_random": {...}, "threshold"}``; ``rows``: one list per
        (sentence, method, step) in :data:`PER_SENTENCE_COLUMNS` order (labels left empty).
    """
    steps = list(run.steps)
    methods = list(run.scores)
    rows: list = []
    out = {"metric": RANDOMIZATION_METRIC, "steps": steps, "methods": {}, "spearman_full_random": {},
           "spearman_abs_full_random": {}, "threshold": float(threshold)}
    for m in methods:
        per = [run.correlations(m, i) for i in range(len(run.targets))]
        for i, (rho, rho_abs) in enumerate(per):
            a = run.trained[m][i]
            nw = int((~np.asarray(a.special, bool)).sum()) if a is not None else 0
            pt = run.p_target[m][i]
            for k, name in enumerate(steps):
                rows.append([i, m, k, name, float(rho[k]), float(rho_abs[k]),
                             float(pt[k]) if pt is not None else float("nan"), nw, int(run.targets[i]), ""])
        by_step = [_mean_se(rho[k] for rho, _ in per) for k in range(len(steps))]
        by_step_abs = [_mean_se(ra[k] for _, ra in per) for k in range(len(steps))]
        full, full_abs = by_step[-1], by_step_abs[-1]
        passes, text = verdict(full["mean"], threshold)
        out["methods"][m] = {**full, "passes": passes, "verdict": text,
                             "spearman": [{"step": s, **v} for s, v in zip(steps, by_step)],
                             "spearman_abs": [{"step": s, **v} for s, v in zip(steps, by_step_abs)]}
        out["spearman_full_random"][m] = full
        out["spearman_abs_full_random"][m] = full_abs
    return out, rows


def format_report(report: dict) -> str:
    """The human-readable table of a randomization report (``evaluate`` without ``--json``): one
    line per method with its mean ρ at every step (step 0 = trained), then each method's verdict."""
    from .attribution import registry

    steps = report["steps"]
    heads = ["method"] + [s if k == 0 else f"+{s}" for k, s in enumerate(steps)]
    width = max(10, *(len(h) for h in heads[1:]))
    name_w = max(len("method"), *(len(registry.short_label(m)) for m in report["methods"]))
    lines = [f"mean Spearman ρ with the trained model's maps, layers re-initialised from the top "
             f"(Adebayo et al. 2018 §3.1), seed {report.get('seed')}",
             heads[0].ljust(name_w) + "  " + "  ".join(h.rjust(width) for h in heads[1:])]
    for m, d in report["methods"].items():
        cells = [("nan" if not math.isfinite(s["mean"]) else f"{s['mean']:+.3f}").rjust(width) for s in d["spearman"]]
        lines.append(registry.short_label(m).ljust(name_w) + "  " + "  ".join(cells))
    lines.append("")
    for m, d in report["methods"].items():
        lines.append(f"{registry.short_label(m)}: ρ at {FULL_RANDOM} = {d['mean']:.3f} ± {d['se']:.3f} "
                     f"(n = {d['n']}); {d['verdict']}")
    if report.get("out"):
        lines.append(f"files: {report['out']}")
    return "\n".join(lines)


def _csv_text(header, rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([[("nan" if isinstance(v, float) and math.isnan(v) else v) for v in r] for r in rows])
    return buf.getvalue()


def summary_rows(report: dict) -> list:
    """``summary.csv``'s rows (:data:`SUMMARY_COLUMNS`): one per (method, step)."""
    out = []
    for m, d in report["methods"].items():
        for k, (s, sa) in enumerate(zip(d["spearman"], d["spearman_abs"])):
            out.append([m, k, s["step"], s["mean"], s["se"], s["n"], sa["mean"], sa["se"], sa["n"]])
    return out


def evaluate_randomization(engine, texts: Sequence, request, *, labels=None, settings: dict | None = None,
                           progress=None, cancel=None) -> dict:
    """``interp-studio evaluate --metric randomization``: the cascade of every method of
    ``request.evaluate.methods`` over ``texts``, mean ± SE of ρ per method and step, and a verdict.

    Args:
        engine: an :class:`~interp_engine.engine.Engine` with the classifier (and, for
            marginalization, its likelihood model) open.
        texts: the sentences (or pairs). labels: their gold labels (for the CSV) or None.
        request: the :class:`~interp_engine.requests.EvaluateRequest` (methods, ``sanity`` seed and
            threshold, ``configs``, ``out``).
        settings: model/data paths recorded in ``summary.json`` and the figure's sidecar.

    Returns:
        The report of :func:`randomization_report`, plus ``n_sentences``, ``seed``, ``seconds`` and
        (with ``out``) ``out``. With ``request.out`` the folder gets ``per_sentence.csv``,
        ``summary.csv``, ``summary.json`` and ``randomization.pdf`` with its JSON sidecar
        (:func:`write_figure`).

    Raises:
        InputError: unknown method, marginalization without its likelihood model. Cancelled.
    """
    from .attribution import registry

    t0 = time.perf_counter()
    cfg = request.sanity.validate()
    methods = list(dict.fromkeys(request.evaluate.methods))
    bad = [m for m in methods if not registry.is_known(m)]
    if bad:
        raise InputError(f"unknown method(s) {', '.join(bad)}; choose from {', '.join(registry.names())}")
    c = engine.require_model()
    configs, liks = {}, {}
    for m in methods:
        mc = request.config_for(m)
        configs[m] = mc
        if registry.get(m).needs_likelihood:
            liks[m] = engine.likelihood_model(getattr(mc, "likelihood", None))
    run = run_cascade(c, texts, methods, config=cfg, configs=configs, likelihoods=liks, progress=progress,
                      cancel=cancel)
    report, rows = randomization_report(run, threshold=cfg.threshold)
    if labels is not None:
        for r in rows:
            lab = labels[r[0]] if r[0] < len(labels) else None
            r[-1] = "" if lab is None else str(lab)
    report.update({"n_sentences": len(texts), "seed": int(cfg.seed), "model_hash": c.content_hash,
                   **(settings or {}), "seconds": time.perf_counter() - t0})
    if request.out:
        outp = Path(request.out).expanduser()
        outp.mkdir(parents=True, exist_ok=True)
        from .export import atomic_write

        atomic_write(outp / PER_SENTENCE_NAME, _csv_text(PER_SENTENCE_COLUMNS, rows))
        atomic_write(outp / SUMMARY_CSV_NAME, _csv_text(SUMMARY_COLUMNS, summary_rows(report)))
        report["out"] = str(outp)
        atomic_write(outp / SUMMARY_NAME, json.dumps(report, indent=1, ensure_ascii=False))
        write_figure(report, outp / FIGURE_NAME, request=request)
    return report


def write_figure(report: dict, path: str | Path, *, request=None, style=None, dpi: float = 300) -> tuple[Path, Path]:
    """Write the figure of a randomization report (:func:`interp_engine.figures.sanity.randomization_figure`:
    mean Spearman ρ ± SE against the randomization step, one line per method) to ``path`` (its
    suffix is the format: pdf, svg or png) and its JSON sidecar ``<path>.json``: the panel, the
    methods, the seed and threshold, the model's path and hash, the dataset, the style and the
    request (``request.to_json()``; rerun it with ``interp-studio evaluate``). Returns both paths."""
    from .export import SIDECAR_VERSION, app_version, atomic_write, figure_bytes, format_of, sidecar_path
    from .figures import FigureStyle
    from .figures.sanity import randomization_figure

    path = Path(path).expanduser()
    fmt = format_of(path)
    if fmt == "tex":
        raise InputError("the randomization figure is a plot: choose pdf, svg or png")
    style = style or FigureStyle()
    fig = randomization_figure(report, style)
    atomic_write(path, figure_bytes(fig, fmt, dpi=dpi, style=style))
    meta = {
        "sidecar_version": SIDECAR_VERSION, "app": "Interp Studio", "app_version": app_version(),
        "panel": "randomization", "method": list(report["methods"]),
        "parameters": {"seed": report.get("seed"), "threshold": report.get("threshold"), "steps": report["steps"],
                       "n_sentences": report.get("n_sentences")},
        "model": {"path": report.get("model", ""), "hash": report.get("model_hash", "")},
        "dataset": {"path": report.get("data", "")} if report.get("data") else None,
        "seed": report.get("seed"),
        "request": request.to_json() if request is not None else None,
        "figure": {"file": path.name, "format": fmt, "dpi": float(dpi), "style": style.to_json(), "options": {}},
        "data": {m: {"spearman": d["spearman"], "spearman_abs": d["spearman_abs"], "passes": d["passes"]}
                 for m, d in report["methods"].items()},
    }
    side = atomic_write(sidecar_path(path), json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return path, side


__all__ = ["CascadeScores", "FULL_RANDOM", "RANDOMIZATION_DESCRIPTION", "RANDOMIZATION_METRIC", "TRAINED", "cascade",
           "evaluate_randomization", "group_seed", "rank_correlation", "randomization_groups", "randomization_report",
           "reinitialize", "run_cascade", "sanity_check", "step_names", "summary_rows", "verdict", "write_figure"]
