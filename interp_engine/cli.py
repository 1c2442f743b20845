"""Headless command line: ``interp-studio train|attribute|hidden ...`` (no Qt is imported).

Every user error (bad file, empty sentence, unknown model) prints ``error: <message>`` on
stderr and exits with status 2, without a traceback unless ``--debug`` is given.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

SUBCOMMANDS = ("train", "attribute", "hidden")


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


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu or cuda")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


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
    t.add_argument("--text-column", default="text")
    t.add_argument("--label-column", default="label")
    t.add_argument("--json", action="store_true", help="last line: a JSON report")
    _common(t)

    a = sub.add_parser("attribute", help="per-token attribution of one sentence")
    a.add_argument("--model", required=True)
    a.add_argument("--text", required=True)
    a.add_argument("--method", default="grad")
    a.add_argument("--target", type=int, help="class to explain (default: the predicted class)")
    a.add_argument("--json", action="store_true")
    _common(a)

    h = sub.add_parser("hidden", help="saliency of every hidden location of every layer (Yuan et al. eq. 3)")
    h.add_argument("--model", required=True)
    h.add_argument("--text", required=True)
    h.add_argument("--top", type=int, default=3)
    h.add_argument("--target", type=int)
    h.add_argument("--json", action="store_true")
    _common(h)
    return parser


def _cmd_train(args) -> int:
    from .data import load_dataset
    from .training import TrainConfig, train_classifier

    kw = dict(text_column=args.text_column, label_column=args.label_column)
    train = load_dataset(args.data, **kw)
    test = load_dataset(args.test, **kw) if args.test else None
    cfg = TrainConfig(arch=args.arch, epochs=args.epochs, seed=args.seed, vectors=args.vectors,
                      vectors_format=args.vectors_format, max_length=args.max_length,
                      batch_size=args.batch_size, lr=args.lr)
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


def _cmd_attribute(args) -> int:
    from .engine import Engine

    eng = Engine(args.device)
    eng.load_model(args.model)
    res = eng.attribute(args.text, args.method, args.target)
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        p = res.prediction
        print(f"predicted: {p.class_names[p.predicted]} (p = {p.probabilities[p.predicted]:.3f}); "
              f"attribution to {p.class_names[res.target]} by {res.method} [{res.units}]")
        _print_tokens(res.tokens, res.scores)
        if res.truncated:
            print(f"note: the text was truncated to {len(res.tokens)} tokens (the model's max length)")
    return 0


def _cmd_hidden(args) -> int:
    from .engine import Engine

    eng = Engine(args.device)
    eng.load_model(args.model)
    res = eng.hidden_saliency(args.text, args.target, args.top)
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        print(res.receptive_field_note)
        for r, name in enumerate(res.layer_names):
            tops = ", ".join(
                f"{i} '{res.tokens[i]}' ({res.scores[r, i]:+.4f}, tokens {res.receptive_fields[r, i, 0]}-{res.receptive_fields[r, i, 1]})"
                for i in res.top_locations[r]
            )
            print(f"{name}: {tops}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run a headless subcommand; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from .errors import InterpError

    handlers = {"train": _cmd_train, "attribute": _cmd_attribute, "hidden": _cmd_hidden}
    try:
        return handlers[args.command](args)
    except (InterpError, ValueError, FileNotFoundError) as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
