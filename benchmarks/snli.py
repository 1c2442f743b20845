"""Benchmark: sentence pairs on SNLI (Kim et al. 2020 ``004_137d387c767c1e08.txt`` §4.1, §4.4, Fig. 4c).

    python benchmarks/snli.py --out /tmp/snli [--data ../shared/data/snli] [--ratio-n 500] [--auc-n 200]
        [--marg-ratio-n 500] [--marg-auc-n 200] [--mlm-epochs 12] [--skip-auc]

Steps (each skipped when its output already exists in ``--out``, so a run can be resumed):

1. ``interp-studio train --arch bilstm`` and ``--arch textcnn`` on ``snli/dev.tsv`` (9,842 pairs; the
   SNLI train split is not in the shared data), tested on ``snli/test.tsv``;
2. ``interp-studio train-mlm`` on the same pairs with the BiLSTM's tokenizer (the TextCNN's vocabulary
   is the same: same training split and word counts), the likelihood model of marginalization;
3. ``evaluate --metric segment_ratio`` (mean |score| of hypothesis tokens / of premise tokens) for
   zero erasure and grad×input over the first ``--ratio-n`` test pairs and for marginalization
   (σ = 1e-5, the MLM above; ~7-9 s per pair on 2 shared cores) over the first ``--marg-ratio-n``, BiLSTM;
4. ``evaluate --metric auc_rep`` for zero and [UNK] erasure over the first ``--auc-n`` test pairs and
   for marginalization over the first ``--marg-auc-n``, BiLSTM and TextCNN.

Prints one JSON object per step and writes ``--out/results.json``; the table in BENCHMARKS.md
("Sentence pairs (SNLI)") is made from it. The load average is recorded before and after every step.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def cli(args: list[str]) -> dict:
    """Run ``interp-studio`` in-process; its last stdout line is the JSON report."""
    from interp_engine.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(args)
    if rc != 0:
        raise SystemExit(f"interp-studio {' '.join(args)} exited with {rc}")
    return json.loads(buf.getvalue().strip().splitlines()[-1])


def step(results: dict, key: str, args: list[str], out: Path, done: Path | None = None) -> dict:
    """Run one CLI command unless ``results`` has it (or ``done``, the report file the command
    writes, exists: a model trained earlier with the same command is reused)."""
    if key in results:
        return results[key]
    if done is not None and done.is_file():
        results[key] = {"report": json.loads(done.read_text(encoding="utf-8")), "reused": str(done),
                        "command": "interp-studio " + " ".join(args)}
        (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        return results[key]
    before, t0 = load(), time.perf_counter()
    rep = cli(args)
    results[key] = {"report": rep, "wall_s": round(time.perf_counter() - t0, 1), "load_before": before,
                    "load_after": load(), "command": "interp-studio " + " ".join(args)}
    (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(json.dumps({key: results[key]}), flush=True)
    return results[key]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "snli")
    ap.add_argument("--ratio-n", type=int, default=500)
    ap.add_argument("--auc-n", type=int, default=200)
    ap.add_argument("--marg-ratio-n", type=int, default=500)
    ap.add_argument("--marg-auc-n", type=int, default=200)
    ap.add_argument("--mlm-epochs", type=int, default=12)
    ap.add_argument("--skip-auc", action="store_true")
    a = ap.parse_args()
    out = a.out.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    res_file = out / "results.json"
    results = json.loads(res_file.read_text()) if res_file.is_file() else {}
    dev, test = str(a.data / "dev.tsv"), str(a.data / "test.tsv")
    for arch in ("bilstm", "textcnn"):
        step(results, f"train_{arch}", ["train", "--data", dev, "--test", test, "--arch", arch, "--out",
                                        str(out / arch), "--json"], out, out / arch / "training.json")
    step(results, "train_mlm", ["train-mlm", "--data", dev, "--model", str(out / "bilstm"), "--out", str(out / "mlm"),
                                "--epochs", str(a.mlm_epochs), "--json"], out, out / "mlm" / "mlm_training.json")
    model = ["--model", str(out / "bilstm"), "--mlm", str(out / "mlm"), "--data", test]
    step(results, "segment_ratio_bilstm",
         ["evaluate", *model, "--metric", "segment_ratio", "--methods", "zero,grad_input", "--n", str(a.ratio_n),
          "--out", str(out / "ratio_bilstm"), "--json"], out)
    step(results, "segment_ratio_bilstm_marginalization",
         ["evaluate", *model, "--metric", "segment_ratio", "--methods", "marginalization", "--n", str(a.marg_ratio_n),
          "--out", str(out / "ratio_bilstm_marg"), "--json"], out)
    if not a.skip_auc:
        for arch in ("bilstm", "textcnn"):
            model = ["--model", str(out / arch), "--mlm", str(out / "mlm"), "--data", test]
            step(results, f"auc_rep_{arch}",
                 ["evaluate", *model, "--metric", "auc_rep", "--methods", "zero,unk", "--n", str(a.auc_n), "--out",
                  str(out / f"auc_{arch}"), "--json"], out)
            step(results, f"auc_rep_{arch}_marginalization",
                 ["evaluate", *model, "--metric", "auc_rep", "--methods", "marginalization,zero,unk", "--n",
                  str(a.marg_auc_n), "--out", str(out / f"auc_{arch}_marg"), "--json"], out)


if __name__ == "__main__":
    main()
