"""Benchmark: training-set search (issue 6).

    OMP_NUM_THREADS=2 python benchmarks/search.py [--model /tmp/ag_textcnn] [--rows 1000000]

Measures, each with the load average at the time: indexing ag_news/test.tsv (7,300 rows), token
query latency (p50/p95 over a fixed query list), the prediction cache with a TextCNN, and index
size + query time on a synthetic corpus of ``--rows`` sentences (Zipfian words) to project to 10 M.
Uses a fresh temporary cache directory.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def load():
    return "load average %.2f, %.2f, %.2f" % os.getloadavg()


def queries_latency(ix, queries, reps=5):
    ts = []
    for _ in range(reps):
        for q in queries:
            t = time.perf_counter()
            ix.search(q, limit=200)
            ts.append(time.perf_counter() - t)
    ts = np.array(ts) * 1000
    return float(np.median(ts)), float(np.percentile(ts, 95)), float(ts.max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/ag_news/test.tsv")
    ap.add_argument("--model", default="/tmp/ag_textcnn")
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    os.environ["INTERP_STUDIO_CACHE"] = tempfile.mkdtemp(prefix="search_bench_")
    import torch

    from interp_engine import search as S
    from interp_engine.data import Dataset, load_dataset

    print(f"torch threads {torch.get_num_threads()}; {load()}")
    ds = load_dataset(args.data)
    t = time.perf_counter()
    ix = S.SearchIndex.open(ds)
    print(f"index {len(ds)} rows: {time.perf_counter() - t:.2f} s, {ix.path.stat().st_size / 1e6:.1f} MB; {load()}")
    qs = ["the", "New York", "Google", "oil prices", "Red Sox", "Iraq", "said on Monday", "Microsoft", "a", "World Cup"]
    p50, p95, mx = queries_latency(ix, qs)
    print(f"token query ({len(qs)} queries x 5): p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {mx:.2f} ms; {load()}")
    if Path(args.model).is_dir():
        from interp_engine.models import load_classifier

        c = load_classifier(args.model, device="cpu")
        t = time.perf_counter()
        ix.predictions(c)
        print(f"prediction cache {len(ds)} rows (TextCNN): {time.perf_counter() - t:.2f} s; {load()}")
        t = time.perf_counter()
        V, _ = ix.activations(c, None, 2)
        print(f"activation index (bigrams, {c.hidden_layers()[-1].name}): {V.shape[0]} x {V.shape[1]} in "
              f"{time.perf_counter() - t:.2f} s; {load()}")
        ts = []
        for _ in range(5):
            t = time.perf_counter()
            ix.similar(c, "Shares of Google rose on Wall Street", (5, 7), k=10)
            ts.append(time.perf_counter() - t)
        print(f"similar (k=10, exact L2): median {np.median(ts) * 1000:.1f} ms; {load()}")

    # synthetic corpus: Zipfian vocabulary of 50k words, 8-40 words per sentence
    rng = np.random.default_rng(0)
    V = 50_000
    vocab = np.array([f"w{i}" if i % 7 else f"W{i}" for i in range(V)])
    pz = 1.0 / np.arange(1, V + 1) ** 1.1
    pz /= pz.sum()
    N = args.rows
    lens = rng.integers(8, 41, N)
    words = vocab[rng.choice(V, size=int(lens.sum()), p=pz)]
    cuts = np.cumsum(lens)[:-1]
    texts = [" ".join(s) for s in np.split(words, cuts)]
    syn = Dataset(texts, rng.integers(0, 2, N), ("neg", "pos"))
    print(f"synthetic corpus: {N} rows, {lens.sum()} words; {load()}")
    t = time.perf_counter()
    ix2 = S.SearchIndex.open(syn, chunk=20000)
    bt = time.perf_counter() - t
    size = ix2.path.stat().st_size
    print(f"index {N} rows: {bt:.1f} s, {size / 1e6:.0f} MB ({size / N:.0f} B/row -> 10 M rows ~ {size / N * 1e7 / 1e9:.1f} GB, "
          f"~{bt / N * 1e7 / 60:.0f} min); {load()}")
    qs = ["w1", "w3 w5", "W7", "w100", "w1000 w2", "w20000", "w14 w1", "w3", "W49", "w2 w3 w4"]
    ts = {}
    for q in qs:
        t = time.perf_counter()
        r = ix2.search(q, limit=200)
        ts[q] = (time.perf_counter() - t, r.n_matches)
    allt = np.array([v[0] for v in ts.values()]) * 1000
    print("queries at %d rows: " % N + ", ".join(f"{q!r} {n} hits {s * 1000:.1f} ms" for q, (s, n) in ts.items()))
    print(f"  p50 {np.median(allt):.1f} ms, p95 {np.percentile(allt, 95):.1f} ms; {load()}")
    rare = [q for q in qs if ts[q][1] < 20000]
    print(f"  rare/selective queries (<20k hits) p95 {np.percentile([ts[q][0] * 1000 for q in rare], 95):.1f} ms")


if __name__ == "__main__":
    main()
