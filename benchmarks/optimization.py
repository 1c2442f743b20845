"""Benchmark: input optimization of the top 3 first-layer locations of one sentence (Yuan et al.
eq. 5-7, all three in one batch), and the rest of the neighbour scatter (neighbours, t-SNE, PCA).

Target (issue 5): optimising the top 3 locations of one sentence with a TextCNN on the CPU takes
under 3 s at the paper's settings (Adam lr 2e-4, 1000 steps by default here).

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/interp-studio train \\
        --data ../shared/data/mr/train.tsv --test ../shared/data/mr/test.tsv --out /tmp/mr_textcnn
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python benchmarks/optimization.py --model /tmp/mr_textcnn

Prints one Markdown table row per measurement (median of ``--repeats`` runs, min in brackets),
with the 1-minute load average before and after (``os.getloadavg``), for BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SENTENCE = "a gorgeous , witty , seductive movie that never loses its nerve ."


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="a TextCNN folder (interp-studio train)")
    ap.add_argument("--text", default=SENTENCE)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--generic", action="store_true", help="full forward passes instead of the TextCNN window path")
    args = ap.parse_args()

    import torch

    from interp_engine.hidden import hidden_saliency_batch, top_locations
    from interp_engine.models import load_classifier
    from interp_engine.neighbours import VectorSpace, cosine_neighbours, project_2d
    from interp_engine.optimization import LocationRequest, OptimizationConfig, optimize_locations

    torch.set_num_threads(args.threads)
    c = load_classifier(args.model, device="cpu")
    enc = c.encode([args.text])
    n = enc.lengths()[0]
    with torch.no_grad():
        t = c.logits(enc.input_ids, enc.attention_mask).argmax(-1)
    grid, _ = hidden_saliency_batch(c, enc.input_ids, enc.attention_mask, t)
    spec = c.hidden_layers()[0]
    locs = top_locations(grid[0, :1, :n].double().numpy(), n, 3)[0]
    rf = spec.receptive_fields(n)
    reqs = [LocationRequest(0, spec.hidden_index, spec.channels, int(i), (int(rf[i, 0]), int(rf[i, 1]))) for i in locs]
    cfg = OptimizationConfig(steps=args.steps, tol=0.0)  # no early stop: time every step

    def timed(fn):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return out, times

    load0 = os.getloadavg()[0]
    res, t_opt = timed(lambda: optimize_locations(c, enc.input_ids, enc.attention_mask, reqs, cfg, fast=not args.generic))
    space = VectorSpace.from_classifier(c)
    (idx, _), t_nb = timed(lambda: cosine_neighbours(res.x_overall, space, 10))
    pts = torch.cat([torch.from_numpy(space.matrix[idx.ravel()]), torch.from_numpy(res.x_overall)]).numpy()
    _, t_tsne = timed(lambda: project_2d(pts, "tsne", perplexity=5, seed=0))
    _, t_pca = timed(lambda: project_2d(pts, "pca"))
    load1 = os.getloadavg()[0]

    def row(what, ts):
        return f"| {what} | {statistics.median(ts):.3f} s (min {min(ts):.3f}) |"

    path = "full forward" if args.generic else "TextCNN window path"
    print(f"# model {args.model} ({c.kind}, vocab {len(c.tokenizer)}, dim {c.model.config.embedding_dim}); "
          f"sentence of {n} tokens; locations {list(locs)}; {args.threads} thread(s); {args.repeats} repeats; "
          f"load average {load0:.2f} -> {load1:.2f}")
    print("| step | median time |")
    print("|---|---|")
    print(row(f"optimise top 3 conv1 locations, {args.steps} Adam steps, one batch ({path})", t_opt))
    print(row("10 nearest words of each x_overall (cosine, whole vocabulary)", t_nb))
    print(row(f"t-SNE of {len(pts)} points (sklearn, seeded)", t_tsne))
    print(row(f"PCA of {len(pts)} points", t_pca))
    return 0


if __name__ == "__main__":
    sys.exit(main())
