"""The one home of every default value of every operation (no Qt).

Each operation's parameters are a small frozen dataclass here. Requests
(:mod:`interp_engine.requests`) take their field defaults from these classes, the CLI's argparse
defaults and help texts read them (:func:`default`), and the GUI's spin boxes are initialised
from them; no other module writes these numbers again.

Sources of the paper values:

* σ = 1e-5: Kim et al. 2020 (``004_137d387c767c1e08.txt``) §3.4, eq. 4 and Table 3 (adaptive
  truncation of input marginalization).
* λ1 = 0.004, λ2 = 0.02, Adam lr 2e-4, β = (0.9, 0.999): Yuan et al. 2019
  (``001_e80f9d2c7d254978.txt``), eq. 6-7 and "Experimental Setup" (MR; AG News uses 0.002 / 0.01,
  :data:`PAPER_LAMBDAS`).
* x_max = 0.2 of AUC_rep: Kim et al. §3.5 (area up to 20 % of the tokens replaced).
"""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, fields
from typing import Any

from .errors import InputError

#: λ1, λ2 of Yuan et al. ("Interpretation" paragraph of the Experimental Setup)
PAPER_LAMBDAS = {"mr": (0.004, 0.02), "ag_news": (0.002, 0.01)}

#: likelihood models p(x̃_i | x_−i) of input marginalization (Kim et al. §4.5)
LIKELIHOODS = ("mlm", "uniform", "prior")
#: replacement strategies of deletion curves (Kim et al. §3.5)
STRATEGIES = ("mlm", "zero", "unk", "remove")
#: 2-D projections of the neighbour scatter
PROJECTIONS = ("tsne", "pca")
#: training-set search modes (Lopes §4.2)
SEARCH_MODES = ("phrase", "all")
#: activation-similarity metrics (Lopes §4.1)
SIMILARITY_METRICS = ("l2", "cosine")
#: ``--device`` choices
DEVICES = ("auto", "cpu", "cuda")


class ConfigMixin:
    """``to_json()`` / ``from_json()`` for the frozen config dataclasses (tuples become lists and
    back; unknown keys are refused with a clear message)."""

    def to_json(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, d: dict | None):
        d = dict(d or {})
        names = {f.name: f for f in fields(cls)}
        bad = sorted(set(d) - set(names))
        if bad:
            raise InputError(f"{cls.__name__}: unknown setting(s) {', '.join(bad)}")
        out = {k: (tuple(v) if isinstance(v, list) and str(names[k].type).startswith("tuple") else v)
               for k, v in d.items()}
        return cls(**out)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class MarginalizationConfig(ConfigMixin):
    """Input marginalization (Kim et al. 2020 §3.2-3.4, eq. 2-4).

    Attributes:
        likelihood: ``mlm`` (a masked LM), ``uniform`` or ``prior`` (unigram counts), §4.5.
        sigma: likelihood threshold σ of eq. 4 (probability; 0 = every candidate); used when
            ``top_n`` is None.
        top_n: fixed truncation to the n most likely candidates (§4.6, Table 3) instead of σ.
        max_per_step: multi-token spans (eq. 3): candidates kept per position and step.
        chunk_size: substituted sentences per classifier forward (never changes the result).
    """

    likelihood: str = "mlm"
    sigma: float = 1e-5
    top_n: int | None = None
    max_per_step: int = 64
    chunk_size: int = 4096

    def validate(self) -> "MarginalizationConfig":
        if self.likelihood not in LIKELIHOODS:
            raise InputError(f"unknown likelihood model {self.likelihood!r}; choose one of {', '.join(LIKELIHOODS)}")
        if not self.sigma >= 0:
            raise InputError(f"sigma must be >= 0, got {self.sigma}")
        if self.top_n is not None and self.top_n < 1:
            raise InputError(f"top-n must be >= 1, got {self.top_n}")
        return self

    def describe(self) -> str:
        cut = f"top-{self.top_n}" if self.top_n is not None else f"σ = {self.sigma:g}"
        return f"{self.likelihood} likelihood, {cut}"


@dataclass(frozen=True)
class ErasureConfig(ConfigMixin):
    """Zero / [UNK] erasure (Kim et al. §4.3). chunk_size: erased copies per forward."""

    chunk_size: int = 256


@dataclass(frozen=True)
class LeaveOneOutConfig(ConfigMixin):
    """Leave-one-out by removal (``loo``). chunk_size: shortened inputs per forward (never changes
    the result)."""

    chunk_size: int = 256


@dataclass(frozen=True)
class GradientConfig(ConfigMixin):
    """Gradient and gradient × input (Yuan et al. eq. 2 / Li et al. 2015): no parameters that
    change the result; ``batch_size`` sentences per backward."""

    batch_size: int = 64


@dataclass(frozen=True)
class IntegratedGradientsConfig(ConfigMixin):
    """Integrated gradients (Sundararajan et al. 2017) from the zero-embedding baseline.

    Attributes:
        n_steps: Riemann steps of the path integral. internal_batch_size: path points per forward.
    """

    n_steps: int = 50
    internal_batch_size: int = 64


@dataclass(frozen=True)
class LimeConfig(ConfigMixin):
    """LIME (Ribeiro et al. 2016, as Lopes §5.2 uses it) with one binary feature per word token,
    on the settings of the ``lime`` package's ``LimeTextExplainer``.

    Attributes:
        n_samples: perturbed sentences the surrogate is fitted on, the original included (lime's
            default is 5,000; 2,000 keeps a 30-token sentence of a small model interactive on a
            2-core CPU, see :func:`interp_engine.attribution.captum_methods.lime` for the cost).
        kernel_width: width w of lime's kernel sqrt(exp(−d²/w²)) on the cosine distance ×100
            (lime's default 25).
        feature_selection: ``auto`` (lime's default: forward selection when ``num_features`` ≤ 6,
            else highest weights), ``forward_selection``, ``highest_weights``, ``lasso_path`` or
            ``none``.
        num_features: tokens the surrogate may use (None: every word token).
        seed: the random draw of the samples. perturbations_per_eval: samples per forward
            (never changes the result).

    The values are checked where they are used (:func:`~interp_engine.attribution.captum_methods.lime`).
    """

    n_samples: int = 2000
    kernel_width: float = 25.0
    feature_selection: str = "auto"
    num_features: int | None = None
    seed: int = 0
    perturbations_per_eval: int = 50


@dataclass(frozen=True)
class HiddenConfig(ConfigMixin):
    """Hidden-location saliency grid (Yuan et al. eq. 3). top: locations marked per layer."""

    top: int = 3


#: maximum Adam steps of input optimization of a model family (``ModelFamily.name``) when
#: ``OptimizationConfig.steps`` is None and the family is not in :data:`OPTIMIZATION_STEPS`
#: (TextCNN, BiLSTM). Yuan et al. give no step count; 1000 is ours.
OPTIMIZATION_STEPS_OTHER = 1000
#: the families with their own default maximum steps. Transformers: measured on all-MiniLM-L6-v2
#: fine-tuned on SST-2 (``benchmarks/optimization_transformer.py``, 3 locations of 20 sentences
#: against 1,000 steps): 500 steps reach 98 % of the 1,000-step objective (300: 94 %, 200: 87 %),
#: 78 % of the 5 nearest words agree with the 1,000-step ones (300: 61 %, 200: 49 %) and the
#: interpretation sentence X' gets the same class for 90 % of the sentences (300: 65 %); the
#: scatter's 3 layer-1 locations of a 20-token sentence then take about 3.5 s of optimisation on
#: the shared 2-core CPU (7 ms a step).
OPTIMIZATION_STEPS: dict[str, int] = {"transformer": 500}


@dataclass(frozen=True)
class OptimizationConfig(ConfigMixin):
    """Input optimization of hidden locations (Yuan et al. eq. 5-7).

    Attributes:
        lambda1: weight of the L2 term ‖X̂0‖²₂ (eq. 6; MR 0.004, AG News 0.002).
        lambda2: weight of the similarity term Sim(X̂0) (eq. 6-7; MR 0.02, AG News 0.01).
        steps: maximum number of Adam steps; None: the model family's default
            (:data:`OPTIMIZATION_STEPS`, see :meth:`resolved`).
        lr: Adam learning rate (the paper: 2e-4).
        betas: Adam (β1, β2) (the paper: 0.9, 0.999).
        seed: seeds the Xavier initialisation of X0; every location starts from the same
            generator state, so its result does not depend on the other locations in the batch.
        tol: relative convergence tolerance: a location stops when its objective changed by
            less than ``tol · (1 + |objective|)`` over the last ``patience`` steps. Measured
            (``benchmarks/optimization_transformer.py``, 60 locations of 20 SST-2 sentences, the
            objective traces of 1,000 steps): on all-MiniLM-L6-v2 1e-3 stops a location at step
            854 on average (693 at the earliest) with 99.8 % of its 1,000-step objective (3e-3:
            step 602, 99.0 %; 1e-2: step 403, 97.1 %; 1e-4 and below: never); on an SST-2 TextCNN
            and the demo BiLSTM the objective still rises at step 1,000 and 1e-3 never stops one
            (3e-3 would stop the BiLSTM at 78 % of its objective).
        patience: window of the convergence test (steps).
        threads: torch intra-op CPU threads while the optimisation runs on the CPU (None: leave
            torch's setting). A step is many small tensor operations (a few sentences, one
            layer), and two OpenMP threads on a busy 2-core machine wait for each other at every
            one of them: on all-MiniLM-L6-v2 (3 layer-1 locations of a 21-token sentence, load
            2.5) a step took 5-6 ms on one thread and 155-180 ms on two; 60 locations of 20
            sentences 225 ms vs 360-750 ms (``benchmarks/optimization_transformer.py``).
    """

    lambda1: float = PAPER_LAMBDAS["mr"][0]
    lambda2: float = PAPER_LAMBDAS["mr"][1]
    steps: int | None = None
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    seed: int = 0
    tol: float = 1e-3
    patience: int = 50
    threads: int | None = 1

    def validate(self) -> "OptimizationConfig":
        """Return self; raise InputError for values the optimiser cannot use."""
        if self.steps is not None and self.steps < 1:
            raise InputError(f"steps must be >= 1, got {self.steps}")
        if not self.lr > 0:
            raise InputError(f"the learning rate must be > 0, got {self.lr}")
        if self.lambda1 < 0 or self.lambda2 < 0:
            raise InputError(f"λ1 and λ2 must be >= 0, got {self.lambda1}, {self.lambda2}")
        if not (0 <= self.betas[0] < 1 and 0 <= self.betas[1] < 1):
            raise InputError(f"Adam betas must lie in [0, 1), got {self.betas}")
        if self.patience < 1:
            raise InputError(f"patience must be >= 1, got {self.patience}")
        if not self.tol >= 0:
            raise InputError(f"the convergence tolerance must be >= 0, got {self.tol}")
        if self.threads is not None and self.threads < 1:
            raise InputError(f"threads must be >= 1 (or None: torch's setting), got {self.threads}")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @staticmethod
    def steps_for(family: str) -> int:
        """The default maximum steps of model family ``family`` (``ModelFamily.name``)."""
        return OPTIMIZATION_STEPS.get(str(family), OPTIMIZATION_STEPS_OTHER)

    def resolved(self, family: str) -> "OptimizationConfig":
        """This config with ``steps`` set: its own, or (None) the default of ``family``."""
        return self if self.steps is not None else self.replace(steps=self.steps_for(family))


@dataclass(frozen=True)
class NeighbourConfig(ConfigMixin):
    """The neighbour scatter (Yuan et al. eq. 8, nearest words, t-SNE).

    Attributes:
        top: most salient locations per layer when none are chosen. layer: the grid row they come
            from (-1: every row). k: nearest vocabulary words per location (cosine).
        projection: ``tsne`` or ``pca``. perplexity: t-SNE's.
    """

    top: int = HiddenConfig.top
    layer: int = 0
    k: int = 10
    projection: str = "tsne"
    perplexity: float = 5.0


@dataclass(frozen=True)
class DeletionConfig(ConfigMixin):
    """Deletion / insertion curves and their areas (Kim et al. §3.5).

    Attributes:
        strategy: replacement ``mlm`` (sampled from the masked LM), ``zero``, ``unk`` or ``remove``.
        x_max: fraction of the word tokens replaced up to which the area (AUC_rep) is taken.
        seed: seed of the MLM sampling. insertion: also compute insertion curves.
        exclude_original: never sample the token being replaced.
    """

    strategy: str = "mlm"
    x_max: float = 0.2
    seed: int = 0
    insertion: bool = False
    exclude_original: bool = False


@dataclass(frozen=True)
class SearchConfig(ConfigMixin):
    """Training-set token / n-gram search (Lopes §4.2).

    Attributes:
        mode: ``phrase`` (adjacent words in order) or ``all`` (every word anywhere).
        limit: matches listed in the app's table and figures (the counts and the histogram
            cover all). printed: matches ``interp-studio search`` prints on a terminal.
        chosen_class: class of p(class) and of the histogram. bins: histogram bins.
    """

    mode: str = "phrase"
    limit: int = 500
    printed: int = 20
    chosen_class: int = 1
    bins: int = 10


@dataclass(frozen=True)
class SimilarityConfig(ConfigMixin):
    """Activation similarity of a token span (Lopes §4.1).

    Attributes:
        k: nearest training n-grams. metric: ``l2`` or ``cosine``. layer: hidden layer name or
            index (None: the last).
    """

    k: int = 20
    metric: str = "l2"
    layer: str | None = None


@dataclass(frozen=True)
class ActivationMaximizationConfig(ConfigMixin):
    """Activation maximization (Lopes §3.1) next to corpus search (§3.2).

    Attributes:
        k: words listed. steps, lr: Adam on the input embedding. l2: weight of its L2 penalty. seed.
    """

    k: int = 10
    steps: int = 300
    lr: float = 0.01
    l2: float = 0.01
    seed: int = 0


@dataclass(frozen=True)
class PredictConfig(ConfigMixin):
    """Dataset prediction: sentences per classifier forward."""

    batch_size: int = 256


@dataclass(frozen=True)
class MatchingRateConfig(ConfigMixin):
    """Matching rate (Yuan et al., "Evaluation of Interpretability").

    Attributes:
        k: most salient locations per sentence. m: nearest words per location. layer: grid row.
    """

    k: int = 3
    m: int = 5
    layer: int = 0


@dataclass(frozen=True)
class EvaluateConfig(ConfigMixin):
    """Dataset-level evaluation (``interp-studio evaluate``).

    Attributes:
        methods: attribution methods compared. n: first N sentences (None: all). seed: MLM
            replacement sampling. batch_size: sentences per classifier forward.
        iot_all: IoT over every sentence; False (the default) keeps only sentences of more than
            10 word tokens (with at most 10 every word is in the top 10, so IoT is trivially 1).
    """

    methods: tuple[str, ...] = ("marginalization", "zero", "unk", "grad", "grad_input")
    n: int | None = None
    seed: int = 0
    batch_size: int = 512
    iot_all: bool = False


@dataclass(frozen=True)
class StoreConfig(ConfigMixin):
    """Attribution stores (``interp-studio attribute-dataset``, :mod:`interp_engine.store`).

    Attributes:
        batch_size: rows per part file (local backend) or per Ray batch; never changes the store.
        backend: ``local`` (in-process, the default; no Ray import) or ``ray`` (Ray Data, the
            optional extra ``scale``). workers: Ray actors (None: one per CPU, or per GPU).
        seed: each row is seeded from ``(seed, row)``. metrics: per-row metrics stored per method
            (e.g. ``("auc_rep",)``; none by default).
    """

    batch_size: int = 16
    backend: str = "local"
    workers: int | None = None
    seed: int = 0
    metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignificanceConfig(ConfigMixin):
    """The paired comparisons of ``evaluate`` (:func:`interp_engine.evaluation.paired_tests`).

    Attributes:
        n_resamples: bootstrap resamples of the mean paired difference (Efron & Tibshirani 1993).
        seed: seed of the bootstrap when no other is given (``evaluate`` passes its own ``seed``).
        alpha: family-wise level of the Holm-corrected (Holm 1979) Wilcoxon signed-rank tests
            (Wilcoxon 1945) over all pairs of methods.

    The bootstrap interval is the 95 % percentile interval (the ``ci95`` of the report).
    """

    n_resamples: int = 10_000
    seed: int = 0
    alpha: float = 0.05

    def validate(self) -> "SignificanceConfig":
        if self.n_resamples < 1:
            raise InputError(f"n_resamples must be >= 1, got {self.n_resamples}")
        if not 0 < self.alpha < 1:
            raise InputError(f"alpha must be in (0, 1), got {self.alpha}")
        return self


@dataclass(frozen=True)
class SanityConfig(ConfigMixin):
    """The model-parameter randomization test (Adebayo et al. 2018, "Sanity checks for saliency
    maps", NeurIPS, §3.1 "cascading randomization"), run by :mod:`interp_engine.sanity`.

    Attributes:
        seed: seeds the re-initialisation; group g of the cascade (0 = the classifier head) is
            re-initialised from ``SeedSequence([seed, g])``, so group g gets the same random
            weights at every later step and on every device.
        threshold: a method *fails* the sanity check when the mean Spearman ρ between its maps on
            the trained model and on the fully randomized model (every layer group
            re-initialised) is above this value. Adebayo et al. give no number (they judge the
            curves of their Fig. 4); 0.5 is ours: two unrelated rankings of the n ≈ 19 word tokens
            of an SST-2 sentence have ρ ≈ 0 ± 1/√(n−1) ≈ ±0.24, so a *mean* ρ above 0.5 means
            that most of the map's ranking survives when nothing the model learned is left, i.e.
            the map describes the input (token identity, position, length) rather than the model.
    """

    seed: int = 0
    threshold: float = 0.5

    def validate(self) -> "SanityConfig":
        """Return self; raise InputError for a threshold outside [-1, 1]."""
        if not -1.0 <= self.threshold <= 1.0:
            raise InputError(f"the sanity threshold is a Spearman correlation in [-1, 1], got {self.threshold}")
        return self


@dataclass(frozen=True)
class DatasetConfig(ConfigMixin):
    """How a dataset file is read: column names and the text encoding.

    ``pair_column`` names the column of a sentence pair's second text ("" = auto-detect)."""

    text_column: str = "text"
    pair_column: str = ""
    label_column: str = "label"
    encoding: str = "utf-8"


@dataclass(frozen=True)
class AttributionConfig(ConfigMixin):
    """What the heatmap shows when a model opens, and the side-by-side default.

    Attributes:
        method: the CLI's ``attribute --method`` default. gui_method: first method in the app.
        compare: methods of the side-by-side view. export_methods: ``export --methods`` default.
    """

    method: str = "grad"
    gui_method: str = "grad_input"
    compare: tuple[str, ...] = ("marginalization", "unk", "grad_input", "integrated_gradients")
    export_methods: tuple[str, ...] = ("grad_input",)


def default(config_cls: type, name: str) -> Any:
    """The default of field ``name`` of ``config_cls`` (for argparse and GUI widgets).

    Raises:
        AttributeError: no such field.
    """
    for f in fields(config_cls):
        if f.name == name:
            if not isinstance(f.default, dataclasses._MISSING_TYPE):
                return f.default
            return f.default_factory()  # type: ignore[misc]
    raise AttributeError(f"{config_cls.__name__} has no field {name!r}")


__all__ = [
    "ActivationMaximizationConfig", "AttributionConfig", "DEVICES", "DatasetConfig", "DeletionConfig",
    "ErasureConfig", "EvaluateConfig", "GradientConfig", "HiddenConfig", "IntegratedGradientsConfig", "LIKELIHOODS",
    "LeaveOneOutConfig", "OPTIMIZATION_STEPS", "LimeConfig", "MarginalizationConfig", "MatchingRateConfig", "NeighbourConfig", "OptimizationConfig",
    "PAPER_LAMBDAS", "PROJECTIONS", "PredictConfig", "SEARCH_MODES", "SIMILARITY_METRICS", "STRATEGIES",
    "SanityConfig", "SearchConfig", "SignificanceConfig", "SimilarityConfig", "StoreConfig", "default",
]
