"""Headless command line: ``interp-studio train|train-mlm|attribute|hidden ...`` (no Qt is imported).

Every user error (bad file, empty sentence, unknown model) prints ``error: <message>`` on
stderr and exits with status 2, without a traceback unless ``--debug`` is given.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Callable

SUBCOMMANDS = ("train", "train-mlm", "attribute", "hidden", "search", "evaluate", "export")


class _ProgressBar:
    """A plain-text progress bar on stderr, redrawn at most every 0.2 s."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and sys.stderr is not None
        self._last = 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.2:
            return
        self._last = now
        frac = done / total if total else 1.0
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\r[{bar:<30}] {100 * frac:5.1f}% {message:<30}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _common(p: argparse.ArgumentParser, *, model: bool = False, data: bool = False) -> None:
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    if model:
        p.add_argument("--allow-pickle", action="store_true",
                       help="open a model whose weights are only a pickle (pytorch_model.bin), read with "
                            "torch.load(weights_only=True); only for files you trust")
    if data:
        p.add_argument("--encoding", default="utf-8",
                       help="text encoding of the data files (default utf-8; e.g. cp1252 for MR's originals)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interp-studio", description="Interp Studio command line (headless)")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a TextCNN or BiLSTM classifier and save it")
    t.add_argument("--data", required=True, help="training data (TSV/CSV/JSONL/Parquet)")
    t.add_argument("--test", help="test data; its accuracy is reported")
    t.add_argument("--arch", choices=["textcnn", "bilstm"], default="textcnn")
    t.add_argument("--out", required=True, help="output model directory")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--vectors", help="pre-trained word vectors (word2vec text/binary, GloVe, fastText .bin)")
    t.add_argument("--vectors-format", choices=["word2vec", "word2vec-bin", "glove", "fasttext", "kv"])
    t.add_argument("--max-length", type=int, help="max tokens (default: 99th percentile of training lengths)")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--threads", type=int, default=1,
                   help="CPU threads (default 1: a seed reproduces the same model; 0 = torch's default)")
    t.add_argument("--text-column", default="text")
    t.add_argument("--label-column", default="label")
    t.add_argument("--json", action="store_true", help="last line: a JSON report")
    _common(t, data=True)

    mt = sub.add_parser("train-mlm", help="train a word-level masked LM on a classifier's vocabulary (likelihood "
                                           "model of input marginalization, Kim et al. 2020)")
    mt.add_argument("--data", required=True, help="training texts (the classifier's training set)")
    mt.add_argument("--model", required=True, help="the classifier folder whose tokenizer is used")
    mt.add_argument("--out", required=True, help="output folder of the masked LM")
    mt.add_argument("--epochs", type=int, default=None, help="default: MLMConfig.epochs")
    mt.add_argument("--seed", type=int, default=1)
    mt.add_argument("--hidden-size", type=int, default=192)
    mt.add_argument("--layers", type=int, default=3)
    mt.add_argument("--heads", type=int, default=3)
    mt.add_argument("--batch-size", type=int, default=64)
    mt.add_argument("--lr", type=float, default=None, help="default: MLMConfig.lr")
    mt.add_argument("--mask-prob", type=float, default=None, help="default: MLMConfig.mask_prob")
    mt.add_argument("--random-init", action="store_true",
                    help="do not initialise the MLM's word embeddings from the classifier's")
    mt.add_argument("--text-column", default="text")
    mt.add_argument("--label-column", default="label")
    mt.add_argument("--json", action="store_true", help="last line: a JSON report (held-out masked-token accuracy, perplexity)")
    _common(mt, model=True, data=True)

    a = sub.add_parser("attribute", help="per-token attribution of one sentence")
    a.add_argument("--model", required=True)
    a.add_argument("--text", required=True)
    a.add_argument("--method", default="grad",
                   help="grad | grad_input | marginalization | zero | unk | integrated_gradients | lime")
    a.add_argument("--target", type=int, help="class to explain (default: the predicted class)")
    a.add_argument("--mlm", help="masked LM folder: the likelihood model of marginalization (interp-studio train-mlm)")
    a.add_argument("--likelihood", choices=["mlm", "uniform", "prior"], default="mlm",
                   help="likelihood model p(x~_i | x_-i) of marginalization (default: mlm)")
    g = a.add_mutually_exclusive_group()
    g.add_argument("--sigma", type=float, help="likelihood threshold of adaptive truncation (default 1e-5; 0 = full)")
    g.add_argument("--top-n", type=int, help="fixed truncation: the n most likely candidates")
    a.add_argument("--data", help="training texts to count the prior from (--likelihood prior)")
    a.add_argument("--json", action="store_true")
    _common(a, model=True, data=True)

    h = sub.add_parser("hidden", help="saliency of every hidden location of every layer (Yuan et al. eq. 3)")
    h.add_argument("--model", required=True)
    h.add_argument("--text", required=True)
    h.add_argument("--top", type=int, default=3)
    h.add_argument("--target", type=int)
    h.add_argument("--json", action="store_true")
    ho = h.add_argument_group("what the locations detect (Yuan et al. eq. 5-8)")
    ho.add_argument("--optimize", action="store_true",
                    help="optimise an input per selected location; add its k nearest words (cosine) and 2-D coordinates")
    ho.add_argument("--k", type=int, default=10, help="neighbour words per location (default 10)")
    ho.add_argument("--locations", help="explicit locations ROW:POS[,ROW:POS...] (default: --top of each --layers row)")
    ho.add_argument("--layers", default="0", help="grid rows whose --top locations are optimised (default 0: the first)")
    ho.add_argument("--lambda1", type=float, default=0.004, help="L2 weight λ1 (paper: MR 0.004, AG News 0.002)")
    ho.add_argument("--lambda2", type=float, default=0.02, help="similarity weight λ2 (paper: MR 0.02, AG News 0.01)")
    ho.add_argument("--steps", type=int, default=1000, help="max Adam steps (default 1000; stops early on convergence)")
    ho.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (paper: 2e-4)")
    ho.add_argument("--seed", type=int, default=0, help="seed of the Xavier initialisation and of t-SNE")
    ho.add_argument("--projection", choices=("tsne", "pca"), default="tsne")
    ho.add_argument("--perplexity", type=float, default=5.0)
    ho.add_argument("--vectors", help="search neighbours in these word vectors (gensim formats) instead of the model's embeddings")
    ho.add_argument("--maximize", metavar="UNIT",
                    help="activation maximization vs corpus search (Lopes §3) of a unit: class:C or ROW:CHANNEL "
                         "(grid row, channel); prints both top --k word lists and their overlap (--text is ignored)")
    _common(h, model=True)

    s = sub.add_parser("search", help="training-set token/n-gram search, or activation similarity (Lopes et al. §4)")
    s.add_argument("--data", required=True, help="dataset file (TSV/CSV/JSONL/Parquet)")
    s.add_argument("--query", help="word or phrase to find (case-sensitive, our word tokenizer)")
    s.add_argument("--mode", choices=("phrase", "all"), default="phrase",
                   help="phrase: adjacent words in order (default); all: every word anywhere")
    s.add_argument("--model", help="classifier folder: adds predicted class and p(class) (cached per model)")
    s.add_argument("--class", dest="chosen_class", type=int, default=1, help="class of p(class) and the histogram")
    s.add_argument("--limit", type=int, default=20, help="list at most N matches (counts cover all)")
    s.add_argument("--similar", action="store_true", help="activation similarity of --text's --span instead")
    s.add_argument("--text", help="sentence for --similar")
    s.add_argument("--span", default="0:2", help="token span i:j of --text (end exclusive; default 0:2)")
    s.add_argument("--layer", help="hidden layer name or index (default: the last)")
    s.add_argument("--metric", choices=("l2", "cosine"), default="l2")
    s.add_argument("--json", action="store_true")
    _common(s, model=True, data=True)

    ev = sub.add_parser("evaluate", help="dataset-level faithfulness of attribution methods (AUC_rep, AOPC, "
                                         "comprehensiveness, sufficiency: Kim et al. 2020 §3.5; IoT: §4.3) "
                                         "or matching rate")
    ev.add_argument("--model", required=True, help="classifier folder")
    ev.add_argument("--data", required=True, help="dataset file (TSV/CSV/JSONL/Parquet)")
    ev.add_argument("--metric", required=True, choices=sorted(EVALUATE_METRICS),
                    help="auc_rep | aopc | comprehensiveness | sufficiency | iot | matching_rate")
    ev.add_argument("--methods", default="marginalization,zero,unk,grad,grad_input",
                    help="comma-separated attribution methods (default: marginalization,zero,unk,grad,grad_input)")
    ev.add_argument("--mlm", help="masked LM folder: likelihood model of marginalization and the sampler of AUC_rep")
    ev.add_argument("--n", type=int, help="evaluate the first N sentences (default: all)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the MLM replacement sampling (default 0)")
    ev.add_argument("--out", help="folder for per-sentence CSV, LaTeX table and PDF plot; a rerun resumes from it")
    ev.add_argument("--strategy", choices=("mlm", "zero", "unk", "remove"), default=None,
                    help="replacement strategy of the curves (default: mlm when --mlm is given, else zero)")
    ev.add_argument("--x-max", type=float, default=0.2,
                    help="fraction of tokens replaced up to which AUC_rep is integrated (default 0.2)")
    ev.add_argument("--phrase-labels", help="word sentiment tags of --metric iot "
                                            "(default: sst2/phrase_labels_5class.tsv beside --data)")
    evg = ev.add_mutually_exclusive_group()
    evg.add_argument("--sigma", type=float, help="marginalization's likelihood threshold (default 1e-5)")
    evg.add_argument("--top-n", type=int, help="marginalization with the n most likely candidates instead of sigma")
    ev.add_argument("--exclude-original", action="store_true",
                    help="MLM strategy: never sample the token being replaced (default: sample from the full distribution)")
    ev.add_argument("--batch-size", type=int, default=512, help="max sentences per classifier forward")
    mr = ev.add_argument_group("matching_rate (Yuan et al.; --seed seeds the input optimization)")
    mr.add_argument("--k", dest="mr_k", type=int, default=3, help="most salient locations per sentence (default 3)")
    mr.add_argument("--m", dest="mr_m", type=int, default=5, help="nearest words per location (default 5)")
    mr.add_argument("--layer", dest="mr_layer", type=int, default=0, help="grid row (default 0: the first hidden layer)")
    mr.add_argument("--lambda1", type=float, default=0.004, help="L2 weight (paper: MR 0.004, AG News 0.002)")
    mr.add_argument("--lambda2", type=float, default=0.02, help="similarity weight (paper: MR 0.02, AG News 0.01)")
    mr.add_argument("--steps", type=int, default=1000, help="max Adam steps per location (default 1000)")
    mr.add_argument("--opt-lr", type=float, default=2e-4, help="Adam learning rate of the optimization (paper: 2e-4)")
    ev.add_argument("--text-column", default="text")
    ev.add_argument("--label-column", default="label")
    ev.add_argument("--json", action="store_true", help="print a JSON object: mean, standard error and n per method")
    _common(ev)

    x = sub.add_parser("export", help="a panel's figure for a paper (PDF/SVG/PNG/LaTeX) with a JSON sidecar, "
                                      "or remake one from its sidecar")
    x.add_argument("--from-sidecar", metavar="FILE.json", help="recompute and redraw the figure a sidecar describes "
                                                               "(refused if the model changed, unless --force)")
    x.add_argument("--model", help="classifier folder (with --from-sidecar: instead of the recorded path)")
    x.add_argument("--text", help="the sentence (search: the query when --query is not given)")
    x.add_argument("--panel", choices=("heatmap", "grid", "scatter", "deletion", "search"), default="heatmap")
    x.add_argument("--format", choices=("pdf", "svg", "png", "tex"), help="default: --out's suffix")
    x.add_argument("--out", help="output file (with --from-sidecar: default the recorded figure file)")
    x.add_argument("--methods", default="grad_input",
                   help="heatmap: comma-separated attribution methods; several = rows on one shared colour scale")
    x.add_argument("--style", choices=("paper", "colorblind", "greyscale"), default="paper")
    x.add_argument("--width", default="single", help="single (3.3 in), double (6.9 in) or inches")
    x.add_argument("--font", default="DejaVu Sans", help="font family or name (default: DejaVu Sans)")
    x.add_argument("--font-size", type=float, default=8.0, help="points (default 8)")
    x.add_argument("--dpi", type=float, default=300, help="PNG resolution (default 300)")
    x.add_argument("--no-colorbar", action="store_true")
    x.add_argument("--target", type=int, help="class to explain (default: the predicted class)")
    x.add_argument("--mlm", help="masked LM folder (marginalization)")
    x.add_argument("--likelihood", choices=["mlm", "uniform", "prior"], help="likelihood model of marginalization")
    xg = x.add_mutually_exclusive_group()
    xg.add_argument("--sigma", type=float, help="marginalization threshold")
    xg.add_argument("--top-n", type=int, help="marginalization: fixed n most likely candidates")
    x.add_argument("--data", help="dataset file (search panel; prior counts)")
    x.add_argument("--query", help="search panel: word or phrase (default: --text)")
    x.add_argument("--mode", choices=("phrase", "all"), default="phrase", help="search panel match mode")
    x.add_argument("--class", dest="chosen_class", type=int, default=1, help="search panel: class of p(class)")
    x.add_argument("--top", type=int, default=3, help="grid: top locations marked per layer")
    x.add_argument("--strategy", choices=("mlm", "zero", "unk", "remove"),
                   help="deletion panel: replacement strategy (default: mlm with --mlm, else zero)")
    x.add_argument("--x-max", type=float, default=0.2, help="deletion panel: fraction replaced (0.2 = AUC_rep)")
    x.add_argument("--seed", type=int, default=0, help="seed set before computing (recorded in the sidecar)")
    x.add_argument("--no-sidecar", action="store_true", help="do not write FILE.json beside the figure")
    x.add_argument("--force", action="store_true", help="--from-sidecar: remake even if the model changed")
    x.add_argument("--text-column", default="text")
    x.add_argument("--label-column", default="label")
    _common(x)
    return parser


def _cmd_train(args) -> int:
    from .data import load_dataset
    from .training import TrainConfig, train_classifier

    kw = dict(text_column=args.text_column, label_column=args.label_column, encoding=args.encoding)
    train = load_dataset(args.data, **kw)
    test = load_dataset(args.test, **kw) if args.test else None
    cfg = TrainConfig(arch=args.arch, epochs=args.epochs, seed=args.seed, vectors=args.vectors,
                      vectors_format=args.vectors_format, max_length=args.max_length,
                      batch_size=args.batch_size, lr=args.lr, threads=args.threads or None)
    log = (lambda s: print(s, file=sys.stderr)) if args.json else print
    report = train_classifier(train, args.out, test=test, config=cfg, device=args.device,
                              progress=_ProgressBar(), log=log)
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
    from .mlm import MLMConfig, train_mlm

    data = load_dataset(args.data, text_column=args.text_column, label_column=args.label_column,
                        encoding=args.encoding)
    given = {k: v for k, v in (("epochs", args.epochs), ("lr", args.lr), ("mask_prob", args.mask_prob)) if v is not None}
    cfg = MLMConfig(seed=args.seed, hidden_size=args.hidden_size, num_layers=args.layers, num_heads=args.heads,
                    intermediate_size=4 * args.hidden_size, batch_size=args.batch_size,
                    init_from_classifier=not args.random_init, **given)
    log = (lambda s: print(s, file=sys.stderr)) if args.json else print
    rep = train_mlm(data.texts, args.model, args.out, config=cfg, device=args.device, progress=_ProgressBar(), log=log,
                    allow_pickle=args.allow_pickle)
    print(f"saved to {rep.out_dir}: held-out masked-token accuracy {rep.heldout_accuracy:.4f}, perplexity "
          f"{rep.heldout_perplexity:.1f} ({rep.n_heldout} sentences, {rep.seconds:.1f} s)",
          file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(rep.to_json()))
    return 0


def _cmd_attribute(args) -> int:
    from .engine import Engine

    eng = Engine(args.device)
    eng.load_model(args.model, allow_pickle=args.allow_pickle)
    if args.method == "marginalization":
        if args.mlm:
            eng.load_mlm(args.mlm)
        if args.likelihood == "prior" and args.data:
            from .data import load_dataset

            eng.set_prior_data(load_dataset(args.data, encoding=args.encoding).texts)
        eng.set_marginalization(likelihood=args.likelihood, sigma=args.sigma, top_n=args.top_n)
    res = eng.attribute(args.text, args.method, args.target, progress=None if args.json else _ProgressBar())
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        p = res.prediction
        print(f"predicted: {p.class_names[p.predicted]} (p = {p.probabilities[p.predicted]:.3f}); "
              f"attribution to {p.class_names[res.target]} by {res.method} [{res.units}]")
        _print_tokens(res.tokens, res.scores)
        if res.n_candidates is not None and res.method == "marginalization":
            print(f"candidates per token: mean {float(res.n_candidates[res.n_candidates > 0].mean()):.1f}; {res.seconds:.3f} s")
        if res.truncated:
            print(f"note: the text was truncated to {len(res.tokens)} tokens (the model's max length)")
    return 0


def _cmd_hidden(args) -> int:
    from .engine import Engine

    eng = Engine(args.device)
    eng.load_model(args.model, allow_pickle=args.allow_pickle)
    if args.maximize:
        return _maximize(eng, args)
    res = eng.hidden_saliency(args.text, args.target, args.top)
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
                print(f"  {loc.layer_name} location {loc.position} (tokens {lo}-{hi}: {' '.join(res.tokens[lo:hi + 1])}): {words}")
    return 0


def _maximize(eng, args) -> int:
    """``hidden --maximize UNIT``: Lopes §3.1 activation maximization next to §3.2 corpus search."""
    from .errors import InputError

    parts = args.maximize.split(":")
    try:
        unit = ("class", int(parts[1])) if parts[0] == "class" and len(parts) == 2 else ("hidden", int(parts[0]), int(parts[1]))
        if len(parts) != 2:
            raise ValueError
    except (ValueError, IndexError):
        raise InputError(f"--maximize must be class:C or ROW:CHANNEL, got {args.maximize!r}") from None
    res = eng.activation_maximization(unit, k=args.k, seed=args.seed)
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
    """``hidden --optimize``: the neighbour scatter of the selected locations (Yuan eq. 5-8)."""
    from .errors import InputError

    locations = layers = None
    try:
        if args.locations:
            locations = [tuple(int(v) for v in item.split(":")) for item in args.locations.split(",") if item.strip()]
            if any(len(t) != 2 for t in locations):
                raise ValueError
        else:
            layers = [int(v) for v in args.layers.split(",") if v.strip()]
    except ValueError:
        raise InputError("--locations must look like ROW:POS[,ROW:POS...] and --layers like 0[,1...]") from None
    if args.vectors:
        eng.load_neighbour_vectors(args.vectors)
    return eng.neighbour_scatter(args.text, locations, top=args.top, layers=layers, target=args.target,
                                 lambda1=args.lambda1, lambda2=args.lambda2, steps=args.steps, lr=args.lr,
                                 seed=args.seed, k=args.k, projection=args.projection, perplexity=args.perplexity,
                                 progress=None if args.json else _ProgressBar())


def _cmd_search(args) -> int:
    from .engine import Engine
    from .errors import InputError

    eng = Engine(args.device)
    eng.load_dataset(args.data, encoding=args.encoding)
    bar = None if args.json else _ProgressBar()
    if args.model:
        eng.load_model(args.model, allow_pickle=args.allow_pickle)
    if args.similar:
        if not args.model or not args.text:
            raise InputError("--similar needs --model DIR and --text SENTENCE")
        try:
            i, j = (int(x) for x in args.span.split(":"))
        except ValueError:
            raise InputError(f"--span must look like i:j, got {args.span!r}") from None
        res = eng.similar(args.text, (i, j), layer=args.layer, k=args.limit, metric=args.metric, progress=bar)
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
    res = eng.search(args.query, mode=args.mode, limit=args.limit, chosen_class=args.chosen_class, progress=bar)
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        names = res.class_names
        print(f"{res.n_matches} examples contain {' '.join(res.query_tokens)!r} ({res.mode}; {res.seconds * 1000:.1f} ms)")
        if len(res.counts_gold):
            print("by gold label: " + ", ".join(f"{names[c]} {n}" for c, n in enumerate(res.counts_gold)))
        if len(res.counts_predicted):
            print("by predicted:  " + ", ".join(f"{names[c] if c < len(names) else c} {n}" for c, n in enumerate(res.counts_predicted)))
        for r in range(len(res.rows)):
            s, e = res.char_span[r]
            t = res.texts[r]
            extra = f" pred {res.predicted[r]} p={res.p_class[r]:.3f}" if res.predicted[r] >= 0 else ""
            print(f"row {res.rows[r]} gold {res.gold[r]}{extra}: {t[max(0, s - 40):s]}[{t[s:e]}]{t[e:e + 40]}")
    return 0


def _evaluate_faithfulness(args) -> dict:
    """auc_rep / aopc / comprehensiveness / sufficiency / iot: see :mod:`interp_engine.evaluation`."""
    from .evaluation import evaluate_from_args

    return evaluate_from_args(args, progress=_ProgressBar())


def _evaluate_matching_rate(args) -> dict:
    """matching_rate (Yuan et al. "Evaluation of Interpretability"): see :func:`interp_engine.neighbours.matching_rate`."""
    from .engine import Engine

    eng = Engine(args.device)
    eng.load_model(args.model, allow_pickle=getattr(args, "allow_pickle", False))
    data = eng.load_dataset(args.data, text_column=args.text_column, label_column=args.label_column)
    texts = list(data.texts)[: args.n] if args.n else list(data.texts)
    res = eng.matching_rate(texts, k=args.mr_k, m=args.mr_m, layer=args.mr_layer, lambda1=args.lambda1,
                            lambda2=args.lambda2, steps=args.steps, lr=args.opt_lr, seed=args.seed,
                            progress=None if args.json else _ProgressBar())
    return res.to_json()


def _evaluate_not_implemented(args) -> dict:
    from .errors import InputError

    raise InputError(f"--metric {args.metric}: not implemented yet")


#: ``evaluate --metric NAME`` -> function(args) returning the JSON object (one entry per metric;
#: matching_rate is plugged in by its own module)
EVALUATE_METRICS: dict[str, Callable[[argparse.Namespace], dict]] = {
    "auc_rep": _evaluate_faithfulness,
    "aopc": _evaluate_faithfulness,
    "comprehensiveness": _evaluate_faithfulness,
    "sufficiency": _evaluate_faithfulness,
    "iot": _evaluate_faithfulness,
    "matching_rate": _evaluate_matching_rate,
}


def _cmd_evaluate(args) -> int:
    report = EVALUATE_METRICS[args.metric](args)
    if args.json:
        print(json.dumps(report))
    else:
        for name, row in report.get("methods", {}).items():
            print(f"{name:<22} {args.metric} = {row['mean']:.4f} ± {row['se']:.4f} (n = {row['n']})")
        for k, v in report.items():
            if k != "methods":
                print(f"{k}: {v}")
    return 0


def _cmd_export(args) -> int:
    """``interp-studio export``: see :mod:`interp_engine.export`."""
    import warnings

    from . import export
    from .errors import InputError
    from .figures import FigureStyle

    if args.from_sidecar:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out, side = export.remake(args.from_sidecar, args.out, model_path=args.model,
                                      device=None if args.device == "auto" else args.device, force=args.force)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        print(f"remade {out}" + (f" (sidecar {side})" if side else ""))
        return 0
    if not args.model or not args.out:
        raise InputError("export needs --model DIR and --out PATH (or --from-sidecar FILE.json)")
    fmt = export.format_of(args.out, args.format)
    from pathlib import Path

    if not Path(args.out).expanduser().parent.is_dir():  # before minutes of computing
        raise InputError(f"cannot write {args.out}: folder {Path(args.out).expanduser().parent} does not exist")
    style = FigureStyle(palette=args.style, width=args.width, font_family=args.font, font_size=args.font_size,
                        colorbar=not args.no_colorbar)
    from .engine import Engine

    eng = Engine(args.device)
    eng.load_model(args.model)
    if args.mlm:
        eng.load_mlm(args.mlm)
    if args.data:
        eng.load_dataset(args.data, text_column=args.text_column, label_column=args.label_column)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.panel == "heatmap":
        if not args.text:
            raise InputError("the heatmap needs --text SENTENCE")
        if "marginalization" in methods:
            if args.likelihood == "prior" and args.data:
                eng.set_prior_data(eng.dataset.texts)
            eng.set_marginalization(likelihood=args.likelihood or ("mlm" if args.mlm else "uniform"),
                                    sigma=args.sigma, top_n=args.top_n)
        p = eng._marginalizer().params if "marginalization" in methods else {}
        req = {"panel": "heatmap", "text": args.text, "methods": methods, "target": args.target,
               "likelihood": p.get("likelihood"), "sigma": p.get("sigma"), "top_n": p.get("top_n")}
    elif args.panel == "grid":
        if not args.text:
            raise InputError("the grid needs --text SENTENCE")
        req = {"panel": "grid", "text": args.text, "target": args.target, "top": args.top}
    elif args.panel == "search":
        if not args.data:
            raise InputError("the search histogram needs --data FILE (and --model for p(class))")
        q = args.query or args.text
        if not q:
            raise InputError("the search histogram needs --query WORDS (or --text)")
        req = {"panel": "search", "query": q, "mode": args.mode, "chosen_class": args.chosen_class, "limit": 200}
    elif args.panel == "deletion":
        if not args.text:
            raise InputError("the deletion curves need --text SENTENCE")
        if "marginalization" in methods:
            eng.set_marginalization(likelihood=args.likelihood or ("mlm" if args.mlm else "uniform"),
                                    sigma=args.sigma, top_n=args.top_n)
        p = eng._marginalizer().params if "marginalization" in methods else {}
        req = {"panel": "deletion", "text": args.text, "methods": methods, "target": args.target,
               "strategy": args.strategy or ("mlm" if args.mlm else "zero"), "x_max": args.x_max, "seed": args.seed,
               "likelihood": p.get("likelihood"), "sigma": p.get("sigma"), "top_n": p.get("top_n")}
    else:
        req = {"panel": args.panel, "text": args.text, "target": args.target, "methods": methods}
    result = export.compute(req, eng, seed=args.seed, progress=_ProgressBar())
    prov = export.Provenance(model_path=args.model, model_hash=eng.classifier.content_hash,  # hashed at load
                             mlm_path=args.mlm, dataset_path=args.data,
                             text_column=args.text_column, label_column=args.label_column,
                             device=args.device, seed=args.seed, likelihood=req.get("likelihood"),
                             sigma=req.get("sigma"), top_n=req.get("top_n"))
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
    args = build_parser().parse_args(argv)
    from .errors import InterpError

    handlers = {"train": _cmd_train, "train-mlm": _cmd_train_mlm, "attribute": _cmd_attribute, "hidden": _cmd_hidden,
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
