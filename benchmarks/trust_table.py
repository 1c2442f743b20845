"""Markdown tables of the issue-15 acceptance run (``benchmarks/trust.sh``) for BENCHMARKS.md.

Run::

    .venv/bin/python benchmarks/trust_table.py OUT_DIR NAME

reads ``OUT_DIR/NAME_{aucrep,aucrep_indep,lootau,rand}.json`` (the last JSON line of each
``interp-studio evaluate --json``) and prints three tables: per method mean ± SE of every metric;
marginalization minus each other method per metric with the seeded bootstrap 95 % CI and the
Holm-corrected Wilcoxon p-value that ``evaluate`` computed (bold: significant at 0.05); the
randomization cascade (Adebayo et al. 2018 §3.1), mean ± SE Spearman ρ per step, plus ρ of the
absolute maps at full randomization. Nothing is recomputed here.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ORDER = ["marginalization", "zero", "unk", "loo", "grad_input", "integrated_gradients", "lime"]
SHORT = {"marginalization": "Marg", "zero": "Zero", "unk": "Unk", "loo": "LOO", "grad_input": "grad×input",
         "integrated_gradients": "IG", "lime": "LIME"}


def load(out: Path, name: str, step: str) -> dict | None:
    p = out / f"{name}_{step}.json"
    if not p.exists():
        return None
    lines = [ln for ln in p.read_text().splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def ms(d: dict | None, m: str) -> str:
    return f"{d[m]['mean']:.3f} ± {d[m]['se']:.3f}" if d and m in d else "–"


def pair_cell(pairs: list[dict] | None, other: str) -> str:
    for p in pairs or []:
        if {p["a"], p["b"]} == {"marginalization", other}:
            s = 1 if p["a"] == "marginalization" else -1
            lo, hi = sorted((s * p["ci95"][0], s * p["ci95"][1]))
            cell = f"{s * p['mean_difference']:+.3f} [{lo:+.3f}, {hi:+.3f}] p_H {p['holm_p']:.2g}"
            return f"**{cell}**" if p["significant"] else cell
    return "–"


def main(out: Path, name: str) -> None:
    a, b, t, r = (load(out, name, s) for s in ("aucrep", "aucrep_indep", "lootau", "rand"))
    print("| method | AUC_rep, explainer's MLM ↓ | AUC_rep, independent MLM ↓ | AUC, removal ↓ | "
          "AOPC ERASER ↑ | AOPC ferret ↑ | LOO τ ↑ |")
    print("|---|---|---|---|---|---|---|")
    for m in ORDER:
        tau = "1 (reference)" if m == "loo" else ms(t and t["methods"], m)
        print(f"| {SHORT[m]} | {ms(a and a['methods'], m)} | {ms(b and b['methods'], m)} | "
              f"{ms(a and a['auc_remove'], m)} | {ms(a and a['aopc_eraser'], m)} | "
              f"{ms(a and a['aopc_ferret'], m)} | {tau} |")
    n = {k: d["n_sentences"] for k, d in (("AUC_rep", a), ("independent", b), ("LOO τ", t)) if d}
    secs = {k: round(d["seconds"]) for k, d in (("AUC_rep", a), ("independent", b), ("LOO τ", t)) if d}
    print(f"\nn: {n}; evaluate seconds: {secs}")
    cols = [("AUC_rep, explainer's MLM", a and a["paired"]), ("AUC_rep, independent MLM", b and b["paired"]),
            ("AUC, removal", a and a["paired_by_metric"]["auc_remove"]),
            ("AOPC ERASER", a and a["paired_by_metric"]["aopc_eraser"]),
            ("AOPC ferret", a and a["paired_by_metric"]["aopc_ferret"]), ("LOO τ", t and t["paired"])]
    print("\nMarg minus each method, per sentence: mean [bootstrap 95 % CI] and Holm-corrected Wilcoxon p "
          "(bold: significant at 0.05). AUCs: negative favours Marg; AOPCs and τ: positive favours Marg.\n")
    print("| Marg − | " + " | ".join(c for c, _ in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for m in ORDER[1:]:
        cells = [("–" if (c == "LOO τ" and m == "loo") else pair_cell(ps, m)) for c, ps in cols]
        print(f"| {SHORT[m]} | " + " | ".join(cells) + " |")
    if r:
        steps = r["steps"][1:]
        print(f"\nRandomization cascade: n = {r['n_sentences']} sentences, seed {r['seed']}, {round(r['seconds'])} s. "
              "Mean ± SE Spearman ρ with the trained model's map after re-initialising the groups up to this one "
              "(top down); the last step is full randomization, whose mean ρ gives the verdict (fails above "
              f"{r['threshold']:g}); then ρ of the absolute maps at full randomization.\n")
        print("| method | " + " | ".join(f"+{s}" for s in steps) + " | ρ of absolute maps, full random | verdict |")
        print("|---|" + "---|" * (len(steps) + 2))
        for m in ORDER:
            if m not in r["methods"]:
                continue
            sp = {s["step"]: s for s in r["methods"][m]["spearman"]}
            cells = [f"{sp[s]['mean']:.2f} ± {sp[s]['se']:.2f}" for s in steps]
            ab = r["spearman_abs_full_random"][m]
            verdict = "passes" if r["methods"][m]["passes"] else "**fails**"
            print(f"| {SHORT[m]} | " + " | ".join(cells) + f" | {ab['mean']:.2f} ± {ab['se']:.2f} | {verdict} |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: trust_table.py OUT_DIR NAME")
    main(Path(sys.argv[1]), sys.argv[2])
