"""Attribution stores (:mod:`interp_engine.store`): the Parquet schema, rows equal to single-sentence
attributions through the Engine, batch independence, resume after a cancel, refusal to append with
other settings, the manifest, pairs, and the requests."""
from __future__ import annotations

import json
import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from interp_engine.attribution import registry
from interp_engine.data import load_dataset
from interp_engine.engine import Engine
from interp_engine.errors import Cancelled, InputError, StoreError
from interp_engine.evaluation import segment_ratio
from interp_engine.export import file_hash
from interp_engine.hashing import model_folder_hash
from interp_engine.requests import AttributeDatasetRequest, AttributionRequest, OpenStoreRequest, request_from_json
from interp_engine.store import (
    PART_GLOB,
    AttributionWorker,
    StoreSpec,
    arrow_schema,
    attribute_dataset,
    dataset_rows,
    open_store,
    write_part,
)
from tests.engine.test_marginalization import tiny_mlm
from tests.helpers import (
    TINY_PAIRS,
    save_model_mlm_data,
    save_pairs_tsv,
    save_tiny,
    save_tiny_pair,
    tiny_sentences,
    tiny_tokenizer,
)

#: a seeded method (lime, small), a WoE method with the masked LM, a gradient
METHODS = ("grad_input", "marginalization", "lime")
CONFIGS = {"lime": {"n_samples": 60}, "marginalization": {"sigma": 1e-3}}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("store")
    model, mlm, data = save_model_mlm_data(d, tiny_sentences(12))
    other = save_tiny(d / "clf_other", "textcnn", seed=1)
    return d, model, other, mlm, data


def _spec(files, **kw) -> StoreSpec:
    d, model, other, mlm, data = files
    args = dict(model_dir=str(model), data_path=str(data), methods=METHODS, configs=CONFIGS, mlm_dir=str(mlm))
    args.update(kw)
    return StoreSpec(**args)


@pytest.fixture(scope="module")
def store7(files):
    """The whole dataset at batch size 7, with the per-row AUC_rep (MLM sampling seeded per row)."""
    d = files[0]
    res = attribute_dataset(_spec(files, metrics=("auc_rep",)), d / "store7", batch_size=7)
    return res, open_store(d / "store7")


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# -- schema and content ------------------------------------------------------------------------------
def test_schema_columns_and_types_exactly(files, store7):
    expected = [("row", "int64"), ("text", "string"), ("text_b", "string"), ("segments", "list<element: int32>"),
                ("tokens", "list<element: string>"), ("gold", "int64"), ("predicted", "int64"),
                ("probabilities", "list<element: double>"), ("scores_grad_input", "list<element: double>"),
                ("scores_marginalization", "list<element: double>"), ("scores_lime", "list<element: double>"),
                ("auc_rep_grad_input", "double"), ("auc_rep_marginalization", "double"), ("auc_rep_lime", "double")]
    assert [(f.name, str(f.type)) for f in arrow_schema(METHODS, ("auc_rep",))] == expected
    # on disk: every part file has exactly these columns and types
    parts = sorted((files[0] / "store7").glob(PART_GLOB))
    assert len(parts) == 2  # 12 rows at 7 per part
    for p in parts:
        assert [(f.name, str(f.type)) for f in pq.read_schema(p)] == expected
    assert [(f.name, str(f.type)) for f in store7[1].to_table().schema] == expected


def test_rows_equal_single_sentence_attributions(files, store7):
    res, store = store7
    d, model, other, mlm, data = files
    ds = load_dataset(data)
    assert res["rows"] == len(store) == len(ds) == 12
    assert store.rows() == list(range(12))
    assert store.to_table().column("row").to_pylist() == list(range(12))
    eng = Engine("cpu")
    eng.load_model(model)
    eng.load_mlm(mlm)
    spec = _spec(files)
    nonzero = 0
    for i in range(12):
        r = store.get(i)
        assert r.row == i and r.text == ds.texts[i] and r.text_b is None and r.gold == int(ds.labels[i])
        assert len(r.segments) == 0
        for m in METHODS:
            cfg = registry.config_class(m).from_json(spec.configs[m])
            direct = eng.run(AttributionRequest(input=ds.input(i), method=m, configs={m: cfg}))
            assert r.tokens == tuple(direct.tokens)
            assert len(r.scores[m]) == len(r.tokens)
            np.testing.assert_allclose(r.scores[m], direct.scores, rtol=0, atol=1e-6)
            nonzero += int(np.abs(direct.scores).max() > 1e-4)
            assert r.predicted == direct.prediction.predicted == direct.target
            np.testing.assert_allclose(r.probabilities, direct.prediction.probabilities, atol=1e-6)
        assert 0 <= r.metrics["auc_rep"]["lime"] <= 1
    assert nonzero >= 30  # the scores compared are not all zero (a degenerate model would prove nothing)
    # the rows differ from each other: a store writing one row's scores everywhere would fail above
    assert len({store.get(i).tokens for i in range(12)}) == 12


def test_to_attribution_is_the_heatmap_result(files, store7):
    store = store7[1]
    r = store.get(3)
    a = r.to_attribution("lime", class_names=("neg", "pos"), params=store.config_of("lime"))
    assert a.method == "lime" and a.units == registry.units("lime") and a.target == r.predicted
    assert a.tokens == r.tokens and np.array_equal(a.scores, r.scores["lime"])
    assert a.prediction.class_names == ("neg", "pos") and a.params["n_samples"] == 60
    assert a.special.shape == (len(r.tokens),) and not a.special.any()
    with pytest.raises(InputError, match="no scores of 'grad'"):
        r.to_attribution("grad")
    with pytest.raises(StoreError, match="no row 99"):
        store.get(99)


def test_batch_size_does_not_change_the_store(files, store7):
    d = files[0]
    attribute_dataset(_spec(files, metrics=("auc_rep",)), d / "store1", batch_size=1)
    t1, t7 = open_store(d / "store1").to_table(), store7[1].to_table()
    assert len(list((d / "store1").glob(PART_GLOB))) == 12
    assert t1.equals(t7)
    # the seeded per-row metric really samples: other seeds give other AUC_rep values
    assert t1.column("auc_rep_marginalization").to_pylist() == t7.column("auc_rep_marginalization").to_pylist()


def test_worker_is_order_and_composition_independent(files, store7):
    """The worker on a shuffled batch gives each row what the store holds (seeded from (seed, row))."""
    spec = _spec(files, metrics=("auc_rep",))
    rows = dataset_rows(spec)
    order = [5, 0, 11, 3]
    batch = {k: np.asarray([v[i] for i in order], dtype=object) if k != "row" else np.asarray(order)
             for k, v in rows.items()}
    out = AttributionWorker(spec, device="cpu")(batch)
    assert out["row"] == order
    ref = store7[1]
    for j, i in enumerate(order):
        assert out["scores_lime"][j] == ref.get(i).scores["lime"].tolist()
        assert out["auc_rep_marginalization"][j] == ref.get(i).metrics["auc_rep"]["marginalization"]


def test_other_seed_changes_sampled_metric(files, store7):
    spec = _spec(files, metrics=("auc_rep",), seed=5)
    rows = {k: v[:3] for k, v in dataset_rows(spec).items()}
    out = AttributionWorker(spec, device="cpu")(rows)
    ref = [store7[1].get(i).metrics["auc_rep"]["grad_input"] for i in range(3)]
    assert out["auc_rep_grad_input"] != ref  # seed 0 vs 5: other MLM replacements


# -- resume -----------------------------------------------------------------------------------------
def test_cancelled_run_resumes_to_the_same_store(files, store7):
    d = files[0]
    out = d / "resumed"
    cancel = threading.Event()
    seen = []

    def progress(done, total, msg):
        seen.append(done)
        if done >= 4:
            cancel.set()

    spec = _spec(files, metrics=("auc_rep",))
    with pytest.raises(Cancelled):
        attribute_dataset(spec, out, batch_size=3, progress=progress, cancel=cancel)
    partial = open_store(out)
    assert 0 < len(partial) < 12 and partial.rows() == list(range(len(partial)))
    assert partial.manifest["rows_done"] == len(partial)
    res = attribute_dataset(spec, out, batch_size=5)
    assert res["rows"] == 12
    t = open_store(out).to_table()
    assert t.equals(store7[1].to_table())
    # no duplicate and no missing row across the part files themselves
    rows = [r for p in sorted(out.glob(PART_GLOB)) for r in pq.read_table(p, columns=["row"]).column("row").to_pylist()]
    assert sorted(rows) == list(range(12))
    # a third run has nothing to do and changes no part file
    before = {p.name: p.read_bytes() for p in out.glob(PART_GLOB)}
    assert attribute_dataset(spec, out, batch_size=5)["rows"] == 12
    assert {p.name: p.read_bytes() for p in out.glob(PART_GLOB)} == before


def test_larger_n_appends_the_missing_rows(files, store7):
    d = files[0]
    out = d / "grow"
    spec = _spec(files, metrics=("auc_rep",), n=5)
    assert attribute_dataset(spec, out, batch_size=4)["rows"] == 5
    assert open_store(out).rows() == [0, 1, 2, 3, 4]
    assert attribute_dataset(_spec(files, metrics=("auc_rep",)), out, batch_size=4)["rows"] == 12
    assert open_store(out).to_table().equals(store7[1].to_table())


# -- refusal ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, what", [
    ("model", "the model"), ("params", "the parameters of lime (n_samples: 60 → 61)"), ("data", "the data file"),
    ("methods", "the methods"), ("mlm", "the masked LM"), ("seed", "the seed")])
def test_refuses_to_append_with_other_settings(files, store7, tmp_path, change, what):
    d, model, other, mlm, data = files
    out = d / "store7"
    before = _snapshot(out)
    if change == "model":
        spec = _spec(files, metrics=("auc_rep",), model_dir=str(other))
    elif change == "params":
        spec = _spec(files, metrics=("auc_rep",), configs={**CONFIGS, "lime": {"n_samples": 61}})
    elif change == "data":
        other_data = tmp_path / "data.tsv"
        other_data.write_text(data.read_text(encoding="utf-8") + "1\tgood film\n", encoding="utf-8")
        spec = _spec(files, metrics=("auc_rep",), data_path=str(other_data))
    elif change == "methods":
        spec = _spec(files, metrics=("auc_rep",), methods=("grad_input", "lime"))
    elif change == "mlm":
        mlm2 = tmp_path / "mlm2"
        tiny_mlm(len(tiny_tokenizer()), seed=9).save_pretrained(mlm2)
        tiny_tokenizer().save_pretrained(mlm2)
        spec = _spec(files, metrics=("auc_rep",), mlm_dir=str(mlm2))
    else:
        spec = _spec(files, metrics=("auc_rep",), seed=1)
    with pytest.raises(StoreError) as e:
        attribute_dataset(spec, out, batch_size=7)
    msg = str(e.value)
    assert what in msg and "not appending" in msg and "\n" not in msg
    assert _snapshot(out) == before  # untouched


def test_refuses_a_folder_that_is_not_a_store(files, tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(StoreError, match="no manifest.json"):
        attribute_dataset(_spec(files, methods=("grad",)), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(StoreError, match="not an attribution store"):
        open_store(tmp_path)


# -- manifest ---------------------------------------------------------------------------------------
def test_manifest_records_what_made_the_store(files, store7):
    d, model, other, mlm, data = files
    m = json.loads((d / "store7" / "manifest.json").read_text(encoding="utf-8"))
    assert m["model"] == {"path": str(model.resolve()), "hash": model_folder_hash(model)}
    assert m["mlm"] == {"path": str(mlm.resolve()), "hash": model_folder_hash(mlm)}
    assert m["data"]["path"] == str(data.resolve()) and m["data"]["sha256"] == file_hash(data)
    assert m["methods"] == list(METHODS)
    # full parameters: the defaults filled in beside the ones given
    assert m["configs"]["lime"] == {"n_samples": 60, "kernel_width": 25.0, "feature_selection": "auto",
                                    "num_features": None, "seed": 0, "perturbations_per_eval": 50}
    assert m["configs"]["marginalization"]["sigma"] == 1e-3 and m["configs"]["marginalization"]["likelihood"] == "mlm"
    assert m["configs"]["grad_input"] == registry.default_config("grad_input").to_json()
    assert m["seed"] == 0 and m["rows_done"] == 12 and m["metrics"] == ["auc_rep"]
    assert m["schema_version"] == 1 and m["app_version"] and m["backend"] == "local"
    assert m["identity"]["model_hash"] == m["model"]["hash"]


# -- pairs ------------------------------------------------------------------------------------------
def test_pair_store_writes_text_b_and_segments(tmp_path):
    model = save_tiny_pair(tmp_path / "pair", "bilstm")
    data = save_pairs_tsv(tmp_path / "snli.tsv")
    spec = StoreSpec(model_dir=str(model), data_path=str(data), methods=("grad_input", "zero"),
                     metrics=("segment_ratio",))
    assert attribute_dataset(spec, tmp_path / "store", batch_size=2)["rows"] == len(TINY_PAIRS)
    store = open_store(tmp_path / "store")
    eng = Engine("cpu")
    eng.load_model(model)
    ds = load_dataset(data)
    for i, (label, premise, hypothesis) in enumerate(TINY_PAIRS):
        r = store.get(i)
        assert (r.text, r.text_b, r.gold) == (premise, hypothesis, label)
        assert len(r.segments) == len(r.tokens) and {0, 1} <= set(r.segments.tolist()) <= {-1, 0, 1}
        direct = eng.run(AttributionRequest(input=ds.input(i), method="zero"))
        np.testing.assert_array_equal(r.segments, direct.segments)
        np.testing.assert_allclose(r.scores["zero"], direct.scores, atol=1e-6)
        a = r.to_attribution("zero")
        assert a.texts == (premise, hypothesis) and np.array_equal(a.special, direct.special)
        # the per-row metric: Kim et al. §4.4's hypothesis/premise ratio of the stored scores
        ratio = segment_ratio(r.scores["zero"], r.segments, direct.special)[0]
        assert np.isfinite(ratio) and r.metrics["segment_ratio"]["zero"] == pytest.approx(ratio, rel=1e-12)


# -- parts and errors ------------------------------------------------------------------------------
def test_write_part_is_atomic_and_checked(tmp_path):
    cols = {"row": [0], "text": ["a"], "text_b": [None], "segments": [[]], "tokens": [["a"]], "gold": [1],
            "predicted": [0], "probabilities": [[0.6, 0.4]], "scores_grad": [[0.5]]}
    p = write_part(tmp_path, cols, "part-x.parquet", ("grad",))
    assert p.name == "part-x.parquet" and [f.name for f in tmp_path.iterdir()] == ["part-x.parquet"]
    assert pq.read_table(p).schema == arrow_schema(("grad",))
    with pytest.raises(InputError, match="part-"):
        write_part(tmp_path, cols, "x.parquet", ("grad",))
    with pytest.raises(InputError, match="scores_lime"):
        write_part(tmp_path, cols, "part-y.parquet", ("grad", "lime"))
    assert [f.name for f in tmp_path.iterdir()] == ["part-x.parquet"]  # nothing half-written


def test_bad_spec_is_refused_with_a_sentence(files):
    with pytest.raises(InputError, match="unknown attribution method 'nope'"):
        _spec(files, methods=("grad", "nope"))
    with pytest.raises(InputError, match="per-row metric"):
        _spec(files, metrics=("iot",))
    with pytest.raises(InputError, match="at least one"):
        _spec(files, methods=())
    with pytest.raises(InputError, match="backend"):
        attribute_dataset(_spec(files, methods=("grad",)), files[0] / "x", backend="spark")


def test_ray_backend_missing_is_a_backend_error(files, tmp_path, monkeypatch):
    """Without Ray (or without interp_engine.ray_backend) backend="ray" is one clear sentence."""
    import builtins

    from interp_engine.errors import BackendError

    real = builtins.__import__

    def no_ray(name, globals=None, locals=None, fromlist=(), level=0):
        if name in ("ray", "ray_backend") or name.startswith("ray.") or (level and name == "ray_backend"):
            raise ImportError(f"No module named {name!r}")
        return real(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    monkeypatch.delitem(__import__("sys").modules, "interp_engine.ray_backend", raising=False)
    with pytest.raises(BackendError, match=r"pip install 'interp-studio\[scale\]'"):
        attribute_dataset(_spec(files, methods=("grad",), n=2), tmp_path / "s", backend="ray")


# -- requests ---------------------------------------------------------------------------------------
def test_requests_run_on_the_engine(files, store7, tmp_path):
    d, model, other, mlm, data = files
    eng = Engine("cpu")
    eng.load_model(model)
    eng.load_mlm(mlm)
    eng.load_dataset(data)
    from interp_engine.config import LimeConfig, MarginalizationConfig

    req = AttributeDatasetRequest(methods=METHODS, configs={"lime": LimeConfig(n_samples=60),
                                                            "marginalization": MarginalizationConfig(sigma=1e-3)},
                                  out=str(tmp_path / "s"), batch_size=4, metrics=("auc_rep",))
    assert req.long_running and request_from_json(json.loads(json.dumps(req.to_json()))) == req
    seen = []
    res = eng.run(req, progress=lambda a, b, m: seen.append((a, b)))
    assert res["rows"] == 12 and res["backend"] == "local" and res["out"] == str(tmp_path / "s")
    assert seen[-1] == (12, 12)
    st = eng.run(OpenStoreRequest(path=str(tmp_path / "s")))
    assert st.to_table().equals(store7[1].to_table())
    with pytest.raises(StoreError):
        eng.run(OpenStoreRequest(path=str(tmp_path / "nothing")))


def _fake_ray(calls):
    """A stand-in for interp_engine.ray_backend.run_ray: the rows it is given, computed in-process
    into one part-ray file (the Ray backend's own tests run Ray itself)."""
    def run_ray(spec, todo, out, *, batch_size, workers=None, address=None, progress=None, cancel=None):
        calls.append((list(todo["row"]), batch_size, workers, address))
        write_part(out, AttributionWorker(spec, device="cpu")(todo), "part-ray-fake.parquet", spec.methods,
                   spec.metrics)
    return run_ray


def test_ray_backend_gets_only_the_missing_rows(files, store7, tmp_path, monkeypatch):
    import interp_engine.ray_backend as rb

    calls: list = []
    monkeypatch.setattr(rb, "run_ray", _fake_ray(calls))
    out = tmp_path / "s"
    attribute_dataset(_spec(files, metrics=("auc_rep",), n=5), out, batch_size=4)
    res = attribute_dataset(_spec(files, metrics=("auc_rep",)), out, backend="ray", batch_size=3, workers=2,
                            address="ray://head:10001")
    assert calls == [(list(range(5, 12)), 3, 2, "ray://head:10001")]
    assert res["rows"] == 12 and res["backend"] == "ray" and res["out"] == str(out)
    st = open_store(out)
    assert st.to_table().equals(store7[1].to_table()) and st.manifest["backend"] == "ray"
    assert st.manifest["rows_done"] == 12
