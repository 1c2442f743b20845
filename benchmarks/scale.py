"""Rows per second of ``attribute-dataset``: the local backend against Ray Data with 1 and 2 workers,
on the same rows, in one run (:mod:`interp_engine.store`, :mod:`interp_engine.ray_backend`).

Run (BENCHMARKS.md, section "Scale: local vs Ray Data", has the exact command and the results)::

    .venv/bin/python benchmarks/scale.py --model /tmp/sst2_textcnn --data ../shared/data/sst2/test.tsv \
        --methods zero,unk,grad_input --n 200 [--mlm DIR] [--sigma 1e-05] [--batch-size 16] [--workers 1,2] \
        [--threads 1] [--out DIR] [--json-out FILE]

Without ``--model`` a random TextCNN of the training defaults on the data's vocabulary is built (its
rows/s are those of a trained one of the same size; the scores are meaningless).

What is measured, for each backend in turn, on the first ``--n`` rows of ``--data``:

* ``local``: :func:`interp_engine.store.attribute_dataset` in this process (``--threads`` torch
  threads, default 1: one Ray CPU worker's share);
* ``ray-K`` for each K of ``--workers``: the same call with ``backend="ray", workers=K``, which
  starts a local Ray (K CPUs for the workers plus one for Ray's write tasks), runs K actors (one
  torch thread each) and shuts Ray down: the time a user waits, start-up included.

Per backend: ``wall_s`` (the whole call), ``rows_per_s`` (n / wall), ``first_rows_s`` (until the
first batch is stored: start-up), ``steady_rows_per_s`` (rows after the first progress report /
the time after it; start-up excluded, what a long run approaches) and the load averages before and
after. The stores must be identical (every column equal, floats within 1e-9), else the run fails.
The last stdout line is one JSON object with everything, also written to ``--json-out``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def random_textcnn(data: Path, out: Path) -> Path:
    """A random TextCNN with the training defaults (``TextCNNConfig()``) on the words of ``data``."""
    import torch

    from interp_engine.data import load_dataset
    from interp_engine.models import TextCNNConfig, TextCNNForSequenceClassification
    from interp_engine.models.tokenization import build_word_tokenizer

    ds = load_dataset(data)
    tok = build_word_tokenizer(list(ds.texts), max_length=64)
    torch.manual_seed(0)
    names = {i: str(n) for i, n in enumerate(ds.class_names)}
    TextCNNForSequenceClassification(TextCNNConfig(vocab_size=len(tok), num_labels=len(names), max_seq_length=64,
                                                   id2label=names, label2id={v: k for k, v in names.items()})
                                     ).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def same_store(a, b, tol: float = 1e-9) -> float:
    """The largest absolute difference of the float columns of two stores; raises AssertionError
    when a non-float column differs or the rows are not the same."""
    import pyarrow as pa

    ta, tb = a.to_table(), b.to_table()
    assert ta.schema.equals(tb.schema), "the stores have other columns"
    worst = 0.0
    for name in ta.column_names:
        typ = ta.schema.field(name).type
        x, y = ta.column(name).to_pylist(), tb.column(name).to_pylist()
        if pa.types.is_list(typ) and pa.types.is_floating(typ.value_type):
            assert [len(u) for u in x] == [len(v) for v in y], name
            worst = max([worst] + [float(np.max(np.abs(np.subtract(u, v)))) for u, v in zip(x, y) if len(u)])
        elif pa.types.is_floating(typ):
            worst = max(worst, float(np.nanmax(np.abs(np.subtract(np.asarray(x, float), np.asarray(y, float))))))
        else:
            assert x == y, f"column {name} differs"
    assert worst <= tol, f"scores differ by {worst}"
    return worst


def measure(spec, out: Path, *, backend: str, workers: int | None, batch_size: int) -> dict:
    """One timed ``attribute_dataset`` call into a new store ``out``."""
    from interp_engine.store import attribute_dataset

    marks: list[tuple[float, int]] = []
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    res = attribute_dataset(spec, out, backend=backend, workers=workers, batch_size=batch_size, device="cpu",
                            progress=lambda done, total, msg: marks.append((time.perf_counter() - t0, done)))
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()
    n = res["rows"]
    firsts = [(t, d) for t, d in marks if d > 0]
    t_first, d_first = firsts[0] if firsts else (wall, n)
    steady = (n - d_first) / (wall - t_first) if n > d_first and wall > t_first else None
    return {"backend": backend, "workers": workers, "rows": n, "wall_s": round(wall, 2),
            "rows_per_s": round(n / wall, 3), "first_rows_s": round(t_first, 2),
            "steady_rows_per_s": None if steady is None else round(steady, 3),
            "load_before": [round(v, 2) for v in load0], "load_after": [round(v, 2) for v in load1]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="classifier folder (default: a random TextCNN of the training defaults)")
    p.add_argument("--mlm", help="masked LM folder (marginalization's likelihood)")
    p.add_argument("--data", required=True, help="dataset file (e.g. ../shared/data/sst2/test.tsv)")
    p.add_argument("--methods", default="zero,unk,grad_input")
    p.add_argument("--sigma", type=float, default=None, help="marginalization's σ (default: the config's)")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--workers", default="1,2", help="Ray worker counts to time, comma-separated")
    p.add_argument("--threads", type=int, default=1, help="torch threads of the local backend")
    p.add_argument("--out", help="folder for the stores (default: a temporary folder)")
    p.add_argument("--json-out")
    a = p.parse_args(argv)

    import torch

    from interp_engine.config import MarginalizationConfig
    from interp_engine.store import StoreSpec, open_store

    torch.set_num_threads(a.threads)
    root = Path(a.out or tempfile.mkdtemp(prefix="scale-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    model = Path(a.model) if a.model else random_textcnn(Path(a.data), root / "random_textcnn")
    methods = tuple(m for m in a.methods.split(",") if m)
    configs = {}
    if "marginalization" in methods:
        likelihood = "mlm" if a.mlm else "uniform"
        configs["marginalization"] = MarginalizationConfig(
            likelihood=likelihood, **({} if a.sigma is None else {"sigma": a.sigma})).to_json()
    spec = StoreSpec(model_dir=str(model), data_path=str(a.data), methods=methods, configs=configs,
                     mlm_dir=a.mlm, n=a.n)
    import ray

    runs = [measure(spec, root / "local", backend="local", workers=None, batch_size=a.batch_size)]
    print(json.dumps(runs[-1]), flush=True)
    for k in [int(w) for w in a.workers.split(",") if w]:
        runs.append(measure(spec, root / f"ray{k}", backend="ray", workers=k, batch_size=a.batch_size))
        print(json.dumps(runs[-1]), flush=True)
    ref = open_store(root / "local")
    diffs = {f"ray{k['workers']}": same_store(ref, open_store(root / f"ray{k['workers']}")) for k in runs[1:]}
    local = runs[0]
    summary = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "torch": torch.__version__, "ray": ray.__version__},
        "model": str(model), "mlm": a.mlm, "data": str(a.data), "methods": list(methods), "configs": configs,
        "n": a.n, "batch_size": a.batch_size, "local_threads": a.threads, "runs": runs,
        "ratio_vs_local": {f"ray{r['workers']}": round(r["rows_per_s"] / local["rows_per_s"], 3) for r in runs[1:]},
        "steady_ratio_vs_local": {f"ray{r['workers']}": round(r["steady_rows_per_s"] / local["steady_rows_per_s"], 3)
                                  for r in runs[1:] if r["steady_rows_per_s"] and local["steady_rows_per_s"]},
        "stores_identical_max_abs_diff": diffs, "out": str(root)}
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
