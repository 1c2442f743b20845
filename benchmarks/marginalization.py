"""Speed of batched input marginalization (Kim et al. ``004_137d387c767c1e08.txt`` eq. 2-4) against
a literal Algorithm 1 loop and Captum's FeatureAblation, on 20-token sentences, in one run.

Run (each invocation 1-6 minutes on 2 CPU cores; BENCHMARKS.md has the exact commands and results)::

    .venv/bin/python benchmarks/marginalization.py --archs textcnn,bilstm,bert --sentences 2 --bert-sentences 1 \
        --bert-top-n 8 --bilstm-top-n 256 --loop-seconds 10 --generic --json-out /tmp/bench_random_t2.json
    .venv/bin/python benchmarks/marginalization.py --archs none --sentences 5 --loop-seconds 10 --generic \
        --model /tmp/sst2_textcnn --mlm /tmp/sst2_mlm_v4 --data /work/shared/data/sst2/test.tsv
    .venv/bin/python benchmarks/marginalization.py --acceptance 50 --model /tmp/sst2_textcnn --mlm /tmp/sst2_mlm_v4 \
        --data /work/shared/data/sst2/test.tsv --json-out /tmp/accept.json

Options: ``--archs textcnn,bilstm,bert``, ``--sentences N`` (batched method and FeatureAblation),
``--loop-seconds S`` (time budget of the loop per model), ``--model DIR --mlm DIR --data TSV`` to
add a trained classifier/MLM pair on real sentences of 20 tokens (e.g. the SST-2 models of
BENCHMARKS.md), ``--bert-top-n`` / ``--bilstm-top-n`` (candidates per token for BERT-base / the
random BiLSTM), ``--threads N`` (torch intra-op threads; default: torch's default),
``--generic`` (also time the generic batched path on TextCNN, see below).
Every row records ``os.getloadavg()`` before and after it (the machine is shared).

What is measured, per model:

* ``batched``: :class:`interp_engine.attribution.InputMarginalization` (one MLM forward for all
  positions, flattened (position, candidate) pairs, classifier in chunks), seconds per sentence,
  after one warm-up call (so the TextCNN's per-model vocabulary × kernel-tap table,
  ``textcnn_tap_projection``, is built once before timing; its build time is reported as
  ``tap_table_s``). For TextCNN this is the exact incremental forward (``TextCNNIncremental``);
  with ``--generic`` the generic batched path (``incremental=False``: one full classifier forward
  per substituted sentence) is also timed on the first sentence (``batched_generic_s``).
* ``loop``: Algorithm 1 literally: per position one MLM forward, per candidate one classifier
  forward of one sentence. A whole sentence would take minutes to hours, so the loop runs for
  ``--loop-seconds`` over the first (position, candidate) pairs of one sentence and its time per
  sentence is *extrapolated*: (MLM time per position) × n + (time per pair) × K, K being the
  number of pairs the batched method used for that sentence.
* ``feature_ablation``: ``captum.attr.FeatureAblation`` with default settings on the token ids
  (each token one feature, baseline id 0 = [PAD], one perturbation per forward): the cost of plain
  zero erasure, which does no marginalization at all.

Models: TextCNN (300-d embeddings, conv 128/64/32, kernel 5: the training defaults) and BiLSTM
(300-d, hidden 150) on a 16,000-word vocabulary (about SST-2's) with a word-level MLM of the
``train-mlm`` default size, and a BERT-base classifier (``BertConfig()`` defaults, random weights)
with a random BERT-base MLM on the same 30,522-token vocabulary. All random weights: a random MLM
is nearly uniform, so at σ = 1e-5 it keeps almost every candidate (the worst case, used for the
random TextCNN: ~16k candidates per token); for the BiLSTM and BERT-base the candidates are capped
at ``--bilstm-top-n`` / ``--bert-top-n`` per token (top-n truncation, §4.6) so the run stays
short (the paper's average at σ = 1e-5 is 791). The speed-up over the loop is a ratio of per-pair
costs, so it barely depends on that cap.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch


def _word_setup(arch: str, V: int, seed: int = 0):
    from transformers import BertConfig, BertForMaskedLM

    from interp_engine.attribution.likelihood import MaskedLMLikelihood
    from interp_engine.models import (
        BiLSTMConfig,
        BiLSTMForSequenceClassification,
        Classifier,
        TextCNNConfig,
        TextCNNForSequenceClassification,
    )
    from interp_engine.models.tokenization import build_word_tokenizer

    tok = build_word_tokenizer([" ".join(f"w{i}" for i in range(V - 3))], max_length=64)
    torch.manual_seed(seed)
    common = dict(vocab_size=len(tok), num_labels=2, max_seq_length=64)
    if arch == "textcnn":
        model = TextCNNForSequenceClassification(TextCNNConfig(embedding_dim=300, conv_channels=[128, 64, 32], kernel_size=5, **common))
    else:
        model = BiLSTMForSequenceClassification(BiLSTMConfig(embedding_dim=300, hidden_size=150, **common))
    clf = Classifier(model, tok, device="cpu")
    mlm = BertForMaskedLM(BertConfig(vocab_size=len(tok), hidden_size=192, num_hidden_layers=3, num_attention_heads=3,
                                     intermediate_size=768, max_position_embeddings=66, type_vocab_size=1))
    return clf, MaskedLMLikelihood(clf, mlm, tok)


def _bert_setup():
    from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertTokenizerFast

    from interp_engine.attribution.likelihood import MaskedLMLikelihood
    from interp_engine.models import Classifier

    cfg = BertConfig()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(cfg.vocab_size - 5)]
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True, model_max_length=512)
    torch.manual_seed(0)
    clf = Classifier(BertForSequenceClassification(BertConfig(num_labels=2)), tok, device="cpu")
    return clf, MaskedLMLikelihood(clf, BertForMaskedLM(cfg), tok)


def _sentences(clf, n: int, length: int, rng) -> list[str]:
    V = len(clf.tokenizer)
    return [" ".join(f"w{int(i)}" for i in rng.integers(0, V - 10, length)) for _ in range(n)]


def _loop_time(clf, lik, ids, mask, positions, keep, target, budget: float) -> tuple[float, int, float]:
    """Algorithm 1, literally, for ``budget`` seconds; returns (s per MLM call, pairs done, s per pair)."""
    tok_mask = torch.zeros_like(ids, dtype=torch.bool)
    t_mlm, n_mlm, t_pair, n_pair = 0.0, 0, 0.0, 0
    t_end = time.perf_counter() + budget
    with torch.inference_mode():
        for r, i in enumerate(positions.tolist()):
            t0 = time.perf_counter()
            lik.predict(ids.view(1, -1), mask.view(1, -1), tok_mask.view(1, -1), torch.tensor([i]))  # BERT_MLM(s)
            t_mlm += time.perf_counter() - t0
            n_mlm += 1
            s = ids.clone()
            for cand in keep[r].nonzero().view(-1).tolist():
                t0 = time.perf_counter()
                s[i] = cand
                float(torch.softmax(clf.logits(s.view(1, -1), mask.view(1, -1)).double(), -1)[0, target])
                t_pair += time.perf_counter() - t0
                n_pair += 1
                if time.perf_counter() > t_end:
                    return t_mlm / n_mlm, n_pair, t_pair / n_pair
    return t_mlm / max(n_mlm, 1), n_pair, t_pair / max(n_pair, 1)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def bench(name, clf, lik, texts, *, sigma=1e-5, top_n=None, chunk_size=4096, loop_seconds=20.0, generic=False) -> dict:
    from captum.attr import FeatureAblation

    from interp_engine.attribution.marginalization import InputMarginalization, textcnn_tap_projection

    load0 = _load()
    tap_s = None
    if clf.kind == "textcnn":
        t0 = time.perf_counter()
        textcnn_tap_projection(clf.model)
        tap_s = time.perf_counter() - t0
    m = InputMarginalization(clf, lik, sigma=sigma, top_n=top_n, chunk_size=chunk_size)
    encs = [clf.encode([t]) for t in texts]
    # warm-up (allocators, threads)
    e0 = encs[0]
    n0 = e0.lengths()[0]
    m.attribute_ids(e0.input_ids[0, :n0], e0.attention_mask[0, :n0], positions=torch.arange(min(2, n0)))
    secs, cands = [], []
    for e in encs:
        n = e.lengths()[0]
        pos = torch.tensor([i for i in range(n) if not e.special[0][i]])
        out = m.attribute_ids(e.input_ids[0, :n], e.attention_mask[0, :n], positions=pos)
        secs.append(out.seconds)
        cands.append(out.n_candidates[pos.numpy()])
    batched = float(np.mean(secs))
    # loop on the first sentence, extrapolated to its K pairs
    n = e0.lengths()[0]
    ids, mask = e0.input_ids[0, :n], e0.attention_mask[0, :n]
    pos = torch.tensor([i for i in range(n) if not e0.special[0][i]])
    generic_s = None
    if generic and clf.kind == "textcnn":
        g = InputMarginalization(clf, lik, sigma=sigma, top_n=top_n, chunk_size=chunk_size, incremental=False)
        generic_s = g.attribute_ids(ids, mask, positions=pos).seconds
    probs, _ = m._likelihood(ids, mask, pos)
    keep = m.select(probs)
    t, _ = m._target(ids, mask, None)
    s_mlm, pairs_done, s_pair = _loop_time(clf, lik, ids, mask, pos, keep, t, loop_seconds)
    K = int(keep.sum())
    loop = s_mlm * len(pos) + s_pair * K
    # Captum FeatureAblation, default settings, zero (id 0) baseline, on the token ids
    def fwd(x):
        with torch.inference_mode():
            return torch.softmax(clf.logits(x, torch.ones_like(x)).float(), -1)

    fa = FeatureAblation(fwd)
    fsecs = []
    for e in encs:
        nn_ = e.lengths()[0]
        t0 = time.perf_counter()
        fa.attribute(e.input_ids[:, :nn_], target=0)
        fsecs.append(time.perf_counter() - t0)
    res = {
        "model": name, "sentences": len(texts), "tokens": int(n), "sigma": sigma, "top_n": top_n,
        "threads": torch.get_num_threads(),
        "mean_candidates_per_token": float(np.mean(np.concatenate(cands))),
        "pairs_per_sentence": float(np.mean([c.sum() for c in cands])),
        "batched_s_per_sentence": batched, "batched_s_median": float(np.median(secs)),
        "batched_s_each": [round(x, 3) for x in secs],
        "incremental_textcnn": clf.kind == "textcnn", "tap_table_s": tap_s, "batched_generic_s": generic_s,
        "loop_s_per_sentence_extrapolated": loop, "loop_pairs_timed": pairs_done,
        "loop_s_per_pair": s_pair, "loop_s_per_mlm_call": s_mlm,
        "speedup_vs_loop": loop / batched,
        "feature_ablation_s_per_sentence": float(np.mean(fsecs)),
        "loadavg_before": load0, "loadavg_after": _load(),
    }
    print(json.dumps(res), flush=True)
    return res


def acceptance(model: str, mlm: str, data: str, n: int, sigmas=(1e-5,)) -> dict:
    """Kim et al. Table 3 on our models: per-sentence Pearson correlation between σ-truncated and
    full marginalization (mean over the first ``n`` sentences of ``data`` with ≥ 2 tokens), and the
    average number of candidates per token."""
    from interp_engine.data import load_dataset
    from interp_engine.engine import Engine

    eng = Engine("cpu")
    eng.load_model(model)
    eng.load_mlm(mlm)
    load0 = _load()
    texts = [t for t in load_dataset(data).texts if eng.classifier.encode([t]).lengths()[0] >= 2][:n]
    full, trunc = [], {s: [] for s in sigmas}
    t_full, t_trunc, cand_full, cand = 0.0, {s: 0.0 for s in sigmas}, [], {s: [] for s in sigmas}
    for k, text in enumerate(texts):
        f = eng.attribute(text, "marginalization", sigma=0)
        full.append(f.scores)
        t_full += f.seconds
        cand_full.append(f.n_candidates)
        for s in sigmas:
            r = eng.attribute(text, "marginalization", sigma=s)
            trunc[s].append(r.scores)
            t_trunc[s] += r.seconds
            cand[s].append(r.n_candidates)
        print(f"# {k + 1}/{len(texts)}", flush=True)
    out = {"sentences": len(texts), "mean_tokens": float(np.mean([len(f) for f in full])),
           "full_mean_candidates": float(np.concatenate(cand_full).mean()),
           "full_s_per_sentence": t_full / len(texts), "threads": torch.get_num_threads(),
           "loadavg_before": load0, "loadavg_after": _load()}
    for s in sigmas:
        corr = [np.corrcoef(a, b)[0, 1] for a, b in zip(trunc[s], full) if np.std(a) > 0 and np.std(b) > 0]
        out[f"sigma={s:g}"] = {"mean_pearson": float(np.mean(corr)), "min_pearson": float(np.min(corr)),
                               "sentences_correlated": len(corr),
                               "max_abs_diff_bits": float(max(np.abs(a - b).max() for a, b in zip(trunc[s], full))),
                               "mean_candidates": float(np.concatenate(cand[s]).mean()),
                               "s_per_sentence": t_trunc[s] / len(texts), "pearson_each": [round(c, 6) for c in corr]}
    print(json.dumps(out), flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archs", default="textcnn,bilstm,bert")
    ap.add_argument("--sentences", type=int, default=5)
    ap.add_argument("--length", type=int, default=20)
    ap.add_argument("--vocab", type=int, default=16000)
    ap.add_argument("--loop-seconds", type=float, default=20.0)
    ap.add_argument("--bert-top-n", type=int, default=16)
    ap.add_argument("--bert-sentences", type=int, default=2)
    ap.add_argument("--bilstm-top-n", type=int, default=256)
    ap.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's default)")
    ap.add_argument("--generic", action="store_true", help="also time the generic (non-incremental) path on TextCNN")
    ap.add_argument("--sigma", type=float, default=1e-5, help="σ for the trained --model/--mlm row")
    ap.add_argument("--model", help="a trained classifier folder (adds a row on real sentences)")
    ap.add_argument("--mlm", help="its masked LM folder")
    ap.add_argument("--data", help="TSV with sentences; those of exactly --length tokens are used")
    ap.add_argument("--json-out")
    ap.add_argument("--acceptance", type=int, metavar="N",
                    help="instead: Table-3 check on the first N sentences of --data with --model/--mlm")
    args = ap.parse_args(argv)
    torch.set_grad_enabled(False)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.acceptance:
        res = acceptance(args.model, args.mlm, args.data, args.acceptance, sigmas=(1e-5, 1e-4, 1e-3))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(res, indent=1), encoding="utf-8")
        return 0
    rng = np.random.default_rng(0)
    rows = []
    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"Python {platform.python_version()}, torch {torch.__version__}", flush=True)
    for arch in [a for a in args.archs.split(",") if a and a != "none"]:
        if arch in ("textcnn", "bilstm"):
            clf, lik = _word_setup(arch, args.vocab)
            rows.append(bench(f"{arch} (random, V={len(clf.tokenizer)})", clf, lik, _sentences(clf, args.sentences, args.length, rng),
                              top_n=args.bilstm_top_n if arch == "bilstm" else None, loop_seconds=args.loop_seconds,
                              generic=args.generic))
        elif arch == "bert":
            clf, lik = _bert_setup()
            rows.append(bench("bert-base (random, V=30522)", clf, lik, _sentences(clf, args.bert_sentences, args.length, rng),
                              top_n=args.bert_top_n, chunk_size=128, loop_seconds=args.loop_seconds))
    if args.model and args.mlm and args.data:
        from interp_engine.attribution.likelihood import load_mlm_likelihood
        from interp_engine.data import load_dataset
        from interp_engine.models import load_classifier

        clf = load_classifier(args.model, device="cpu")
        lik = load_mlm_likelihood(args.mlm, clf)
        texts = [t for t in load_dataset(args.data).texts if clf.encode([t]).lengths()[0] == args.length][: args.sentences]
        rows.append(bench(f"{clf.kind} trained ({Path(args.model).name} + {Path(args.mlm).name}), real sentences", clf, lik,
                          texts, sigma=args.sigma, loop_seconds=args.loop_seconds, generic=args.generic))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
