"""``interp-studio`` / ``python -m desktop_app``: the GUI, or a headless subcommand.

Headless subcommands (:data:`interp_engine.cli.SUBCOMMANDS`: ``train``, ``train-mlm``,
``attribute``, ``hidden``, ...) are handed to :func:`interp_engine.cli.main` without importing Qt,
so they run on machines without a display. Anything else starts the window.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from interp_engine.cli import SUBCOMMANDS  # argparse/json only: no torch, no Qt

#: subcommands handed to the headless CLI (the engine's list, so help never offers a missing one)
HEADLESS_COMMANDS = frozenset(SUBCOMMANDS)


def build_parser() -> argparse.ArgumentParser:
    """Options of the GUI (see ``interp-studio --help``); defaults from :mod:`interp_engine.config`,
    the ``--method`` list from the attribution registry (read now, so plug-ins registered before
    are listed)."""
    from interp_engine.attribution import registry
    from interp_engine.config import DEVICES, AttributionConfig, DatasetConfig

    p = argparse.ArgumentParser(
        prog="interp-studio",
        description="Interpret NLP text classifiers: attribution heatmaps and hidden-location saliency. "
                    f"Headless subcommands: {', '.join(sorted(HEADLESS_COMMANDS))} (see interp-studio COMMAND --help).",
    )
    p.add_argument("--demo", action="store_true", help="open the demo model and dataset (trained once on first use)")
    p.add_argument("--model", metavar="DIR", help="saved classifier folder to open")
    p.add_argument("--compare-model", metavar="DIR",
                   help="a second classifier folder to compare with --model: the heatmap shows one row per model for "
                        "the same sentence and method, the dataset list both predictions (File → Compare With Model…)")
    p.add_argument("--data", metavar="FILE", help="dataset file to open (.tsv, .csv, .jsonl, .parquet)")
    p.add_argument("--text", metavar="SENTENCE", help="sentence to explain first (with --pair: the premise)")
    p.add_argument("--pair", metavar="HYPOTHESIS",
                   help="the second text of a sentence pair (the hypothesis): explain the pair --text, --pair first "
                        "(for a model trained on pairs)")
    p.add_argument("--device", choices=DEVICES, default=DEVICES[0],
                   help=f"compute device: {DEVICES[0]} (CUDA if available), {', '.join(DEVICES[1:])} "
                        "(default: %(default)s)")
    p.add_argument("--text-column", default=DatasetConfig.text_column,
                   help="dataset column with the sentences (default: %(default)s)")
    p.add_argument("--pair-column", default=DatasetConfig.pair_column, metavar="NAME",
                   help="dataset column with a sentence pair's second text (default: auto-detect premise/hypothesis "
                        "or sentence1/sentence2)")
    p.add_argument("--label-column", default=DatasetConfig.label_column,
                   help="dataset column with the labels (default: %(default)s)")
    p.add_argument("--encoding", default=DatasetConfig.encoding,
                   help="text encoding of --data, e.g. cp1252 (default: %(default)s)")
    p.add_argument("--allow-pickle", action="store_true",
                   help="open --model even if its weights are only a pickle (pytorch_model.bin), read with "
                        "torch.load(weights_only=True); only for files you trust")
    p.add_argument("--method", metavar="NAME",
                   help=f"attribution method of the heatmap: {', '.join(registry.names())} "
                        f"(default: {AttributionConfig.gui_method})")
    p.add_argument("--compare", metavar="M1,M2,…",
                   help="start in side-by-side mode with these methods (comma-separated)")
    p.add_argument("--mlm", metavar="DIR", help="masked LM folder: the likelihood model of marginalization")
    p.add_argument("--store", metavar="DIR",
                   help="an attribution store folder (interp-studio attribute-dataset) to open in the Dataset results "
                        "dock; its first row's stored heatmaps are shown (from store) unless --text is given")
    p.add_argument("--maximize", metavar="UNIT",
                   help="open the activation-maximization view (Lopes §3) and run it for UNIT: class:C or ROW:CHANNEL "
                        "(grid row, channel) once the model is open")
    p.add_argument("--screenshot", metavar="PNG",
                   help="open everything, wait until every panel shows its result, save the window to PNG and exit")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds --screenshot waits before failing (default: %(default)s)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``interp-studio`` console script. Returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in HEADLESS_COMMANDS:
        from interp_engine.cli import main as cli_main

        return int(cli_main(argv) or 0)
    parser = build_parser()
    try:
        opts = parser.parse_args(argv)
        if opts.pair is not None and not opts.text:
            parser.error("--pair HYPOTHESIS needs --text PREMISE (the first text of the pair)")
        if opts.compare_model and not opts.model:
            parser.error("--compare-model DIR needs --model DIR (the model it is compared with)")
        if opts.maximize:
            from interp_engine.cli import parse_unit
            from interp_engine.errors import InputError

            try:
                opts.maximize_unit = parse_unit(opts.maximize, "--maximize")
            except InputError as e:
                parser.error(str(e))
    except SystemExit as e:  # --help or a usage error
        return int(e.code or 0) if isinstance(e.code, int) or e.code is None else 2
    from .app import run

    return run(opts)


if __name__ == "__main__":
    sys.exit(main())
