"""Benchmark: deletion curves (issue 4, Kim et al. 004_ §3.5).

    OMP_NUM_THREADS=1 python benchmarks/faithfulness.py --model /tmp/issue4/textcnn --mlm /tmp/issue4/mlm \
        [--data /work/shared/data/sst2/test.tsv] [--sentences 50] [--x-max 0.2]
    OMP_NUM_THREADS=1 python benchmarks/faithfulness.py --model … --mlm … --ablation 200   # strategies

For the first ``--sentences`` test sentences and 5 methods (random scores: the attribution
itself is not timed), times the batched :func:`interp_engine.faithfulness.deletion_curves`
(every step of every method in one classifier batch, one MLM forward per step) against a
per-(method, step) loop of single forwards, for the ``mlm`` and ``zero`` strategies, and checks
that both give the same curves. The full dataset evaluation is timed with the CLI (see
BENCHMARKS.md, "Faithfulness"). Each row prints the load average.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch


def load() -> str:
    return "load average %.2f, %.2f, %.2f" % os.getloadavg()


def loop_curves(clf, lik, text, scores, strategy, x_max, seed):
    """Per-(method, step) reference: one classifier forward (and one MLM forward) per point."""
    from interp_engine.faithfulness import n_steps

    enc = clf.encode([text])
    n = enc.lengths()[0]
    ids0 = enc.input_ids[0, :n].clone()
    words = [i for i in range(n) if not enc.special[0][i]]
    K = n_steps(len(words), x_max)
    one = torch.ones(1, n, dtype=torch.long)
    with torch.inference_mode():
        p0 = torch.softmax(clf.logits(ids0.view(1, -1), one).double(), -1)[0]
        t = int(p0.argmax())
        u = np.random.default_rng(seed).random(K)
        out = []
        for s in scores.values():
            order = sorted(words, key=lambda i: (-s[i], i))
            ids, zeroed, ps = ids0.clone(), [], [float(p0[t])]
            for k in range(K):
                pos = order[k]
                if strategy == "mlm":
                    pr = lik.predict(ids.view(1, -1), one, torch.zeros(1, n, dtype=torch.bool), torch.tensor([pos])).probs[0].numpy()
                    cdf = np.cumsum(pr) / pr.sum()
                    ids[pos] = int(min((cdf < u[k]).sum(), len(pr) - 1))
                    lg = clf.logits(ids.view(1, -1), one)
                else:
                    zeroed.append(pos)
                    e = clf.embed(ids.view(1, -1)).clone()
                    e[0, zeroed] = 0
                    lg = clf.logits_from_embeds(e, one)
                ps.append(float(torch.softmax(lg.double(), -1)[0, t]))
            out.append(ps)
    return np.array(out)


def ablation(args) -> None:
    """AUC (x_max) of 5 methods under every replacement strategy on the same sentences: each
    sentence's attributions are computed once, then curves for mlm, mlm without the original
    token, zero, unk and removal (why an ordering of methods may depend on the strategy)."""
    from interp_engine.engine import Engine
    from interp_engine.data import load_dataset
    from interp_engine.faithfulness import deletion_curves

    eng = Engine("cpu")
    eng.load_model(args.model)
    eng.load_mlm(args.mlm)
    if args.sigma is not None:
        eng.set_marginalization(sigma=args.sigma)
    lik = eng.likelihood_model("mlm")
    methods = args.methods.split(",")
    variants = [("mlm", False), ("mlm", True), ("zero", False), ("unk", False), ("remove", False)]
    vals = {v: {m: [] for m in methods} for v in variants}
    texts = list(load_dataset(args.data).texts[: args.ablation])
    t0 = time.perf_counter()
    for i, text in enumerate(texts):
        scores = {m: eng.attribute(text, m).scores for m in methods}
        seed = int(np.random.SeedSequence([0, i]).generate_state(1)[0])
        for strategy, excl in variants:
            r = deletion_curves(eng.classifier, text, scores, strategy=strategy, likelihood=lik, x_max=args.x_max,
                                seed=seed, exclude_original=excl)
            for m, a in zip(r.methods, r.auc):
                vals[(strategy, excl)][m].append(a)
    print(f"{len(texts)} sentences, {time.perf_counter() - t0:.0f} s; {load()}")
    print("strategy".ljust(26) + "".join(m.rjust(17) for m in methods))
    for (strategy, excl), d in vals.items():
        name = strategy + (" (exclude original)" if excl else "")
        cells = "".join(f"{np.mean(d[m]):.4f}±{np.std(d[m], ddof=1) / np.sqrt(len(d[m])):.4f}".rjust(17) for m in methods)
        print(name.ljust(26) + cells)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="/tmp/issue4/textcnn")
    ap.add_argument("--mlm", default="/tmp/issue4/mlm")
    ap.add_argument("--data", default="/work/shared/data/sst2/test.tsv")
    ap.add_argument("--sentences", type=int, default=50)
    ap.add_argument("--x-max", type=float, default=0.2)
    ap.add_argument("--ablation", type=int, default=0,
                    help="instead: AUC of --methods under every strategy on the first N sentences")
    ap.add_argument("--methods", default="marginalization,zero,unk,grad,grad_input")
    ap.add_argument("--sigma", type=float, help="marginalization's sigma (default 1e-5)")
    args = ap.parse_args()
    if args.ablation:
        return ablation(args)
    from interp_engine.attribution.likelihood import load_mlm_likelihood
    from interp_engine.data import load_dataset
    from interp_engine.faithfulness import deletion_curves
    from interp_engine.models import load_classifier

    clf = load_classifier(args.model, device="cpu")
    lik = load_mlm_likelihood(args.mlm, clf)
    texts = list(load_dataset(args.data).texts[: args.sentences])
    rng = np.random.default_rng(0)
    print(f"torch threads {torch.get_num_threads()}; {len(texts)} sentences, 5 methods, x_max {args.x_max}; {load()}")
    for strategy in ("mlm", "zero"):
        tb = tl = 0.0
        maxdiff = 0.0
        for i, text in enumerate(texts):
            n = clf.encode([text]).lengths()[0]
            scores = {m: rng.normal(size=n) for m in ("m1", "m2", "m3", "m4", "m5")}
            t = time.perf_counter()
            r = deletion_curves(clf, text, scores, strategy=strategy, likelihood=lik, x_max=args.x_max, seed=i)
            tb += time.perf_counter() - t
            t = time.perf_counter()
            ref = loop_curves(clf, lik, text, scores, strategy, args.x_max, i)
            tl += time.perf_counter() - t
            maxdiff = max(maxdiff, float(np.abs(ref - r.p_deletion).max()))
        print(f"{strategy:>4}: batched {1000 * tb / len(texts):.1f} ms/sentence, loop {1000 * tl / len(texts):.1f} "
              f"ms/sentence ({tl / tb:.1f}x), max |diff| {maxdiff:.2e}; {load()}")


if __name__ == "__main__":
    main()
