"""Robustness of the engine (issue 8): untrusted model files, bad dataset files, the result cache,
out-of-memory halving in every batched job, and the CLI's messages for all of them."""
from __future__ import annotations

import json
import pickle
import threading

import numpy as np
import pytest
import torch

from interp_engine.batching import OOM_EVENTS, for_each_chunk, run_chunked
from interp_engine.cache import ResultCache
from interp_engine.data import DatasetError, EncodingError, load_dataset, suggest_encoding
from interp_engine.errors import Cancelled, ModelLoadError
from interp_engine.models import load_classifier
from tests.helpers import TINY_TEXTS, save_tiny, save_tiny_bert


# -------------------------------------------------------------------------- untrusted pickles
class _Payload:
    """Unpickling this object calls ``exec`` on a line that writes ``marker``: the classic
    malicious-pickle payload (nothing of it may run when a model is opened)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('payload ran')",))


def _pickle_only(d, payload=None):
    """Replace the safetensors weights of a saved model by a ``pytorch_model.bin`` pickle, with
    ``payload`` stored beside the tensors when given."""
    from safetensors.torch import load_file

    state = dict(load_file(d / "model.safetensors"))
    if payload is not None:
        state["zz_payload"] = payload
    torch.save(state, d / "pytorch_model.bin")
    (d / "model.safetensors").unlink()
    return d


def test_malicious_pickle_payload_never_runs(tmp_path):
    marker = tmp_path / "PWNED"
    d = _pickle_only(save_tiny(tmp_path / "evil"), _Payload(marker))
    # refused without permission, with the explanation, and nothing was unpickled
    with pytest.raises(ModelLoadError, match="pickle file .*arbitrary code.*--allow-pickle"):
        load_classifier(d, device="cpu")
    assert not marker.exists()
    # allowed: read with torch.load(weights_only=True), which refuses the payload's global
    with pytest.raises(ModelLoadError, match="refused: it asks to call exec, which torch.load"):
        load_classifier(d, device="cpu", allow_pickle=True)
    assert not marker.exists()
    # the payload is real: a full unpickler runs it (so the test above can fail)
    torch.load(d / "pytorch_model.bin", weights_only=False)
    assert marker.read_text() == "payload ran"


@pytest.mark.parametrize("arch", ["textcnn", "bert"])
def test_allowed_pickle_loads_the_same_model(tmp_path, arch):
    d = save_tiny_bert(tmp_path / arch) if arch == "bert" else save_tiny(tmp_path / arch)
    ref = load_classifier(d, device="cpu")
    enc = ref.encode(TINY_TEXTS)
    with torch.no_grad():
        want = ref.logits(enc.input_ids, enc.attention_mask)
    _pickle_only(d)
    c = load_classifier(d, device="cpu", allow_pickle=True)
    with torch.no_grad():
        torch.testing.assert_close(c.logits(enc.input_ids, enc.attention_mask), want, rtol=0, atol=0)


def test_pickle_that_is_not_a_state_dict_and_truncated_pickle(tmp_path):
    d = save_tiny(tmp_path / "m")
    (d / "model.safetensors").unlink()
    torch.save([torch.zeros(2)], d / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="not a state dict"):
        load_classifier(d, device="cpu", allow_pickle=True)
    (d / "pytorch_model.bin").write_bytes(pickle.dumps({"a": 1}, protocol=2)[:5])
    with pytest.raises(ModelLoadError, match="pytorch_model.bin"):
        load_classifier(d, device="cpu", allow_pickle=True)


def test_remote_code_in_the_folder_is_never_run(tmp_path):
    marker = tmp_path / "REMOTE_CODE_RAN"
    d = save_tiny(tmp_path / "remote")
    (d / "evil_config.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n"
                                      "from transformers import PretrainedConfig\n"
                                      "class EvilConfig(PretrainedConfig):\n    model_type = 'evil'\n")
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(model_type="evil", auto_map={"AutoConfig": "evil_config.EvilConfig"})
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="unknown or unsupported"):
        load_classifier(d, device="cpu")
    assert not marker.exists()


def test_pickle_only_masked_lm_is_refused(tmp_path):
    from interp_engine.engine import Engine

    eng = Engine("cpu")
    eng.load_model(save_tiny(tmp_path / "m"))
    mlm = _pickle_only(save_tiny(tmp_path / "mlm"))
    with pytest.raises(ModelLoadError, match="no safetensors"):
        eng.load_mlm(mlm)


# -------------------------------------------------------------------------- datasets
def test_cp1252_file_names_line_and_encoding_then_loads_with_it(tmp_path):
    p = tmp_path / "rt-polarity.tsv"
    p.write_bytes("label\ttext\n1\tfine\n1\tit\x92s a caf\xe9 \x96 film \x85\n".encode("latin-1"))
    with pytest.raises(EncodingError) as e:
        load_dataset(p)
    assert e.value.line == 3 and e.value.suggested == "cp1252"
    assert "rt-polarity.tsv: line 3" in str(e.value) and 'encoding="cp1252"' in str(e.value)
    ds = load_dataset(p, encoding="cp1252")
    assert ds.texts[1] == "it’s a café – film …"  # 0x85 is an ellipsis, not a line break


def test_utf16_and_latin1_suggestions(tmp_path):
    p = tmp_path / "u16.csv"
    p.write_bytes("text,label\nhello,1\nworld,0\n".encode("utf-16"))
    with pytest.raises(EncodingError, match='line 1: the file is UTF-16.*encoding="utf-16"') as e:
        load_dataset(p)
    assert e.value.suggested == "utf-16"
    assert load_dataset(p, encoding="utf-16").texts == ("hello", "world")
    assert suggest_encoding(b"caf\xe9 \x81") == "latin-1"  # 0x81 is undefined in cp1252
    assert suggest_encoding("café".encode()) is None
    with pytest.raises(DatasetError, match="unknown encoding 'klingon'"):
        load_dataset(p, encoding="klingon")


def test_wrong_delimiter_names_the_fix(tmp_path):
    p = tmp_path / "really_tsv.csv"
    p.write_text("label\ttext\n1\tgood\n")
    with pytest.raises(DatasetError, match=r"really_tsv.csv: line 1: .*TAB-separated.*rename the file to .tsv"):
        load_dataset(p)
    p = tmp_path / "semi.csv"
    p.write_text("label;text\n1;good\n")
    with pytest.raises(DatasetError, match="semicolon-separated"):
        load_dataset(p)


@pytest.mark.parametrize("value", ["NaN", "nan", "NA", "null", "None"])
def test_nan_labels_are_missing_labels(tmp_path, value):
    p = tmp_path / "nan.tsv"
    p.write_text(f"label\ttext\n1\tgood\n{value}\tbad\n")
    with pytest.raises(DatasetError, match=f"nan.tsv: line 3: the label is empty or missing \\('{value}'\\)"):
        load_dataset(p)


def test_nan_text_rows_are_skipped_in_parquet(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    p = tmp_path / "d.parquet"
    pd.DataFrame({"text": ["good", None, float("nan"), "bad"], "label": [1, 0, 1, 0]}).to_parquet(p)
    ds = load_dataset(p)
    assert ds.texts == ("good", "bad") and ds.n_skipped == 2
    pd.DataFrame({"text": ["good", "bad"], "label": [1.0, float("nan")]}).to_parquet(p)
    with pytest.raises(DatasetError, match="row 2: the label is empty or missing"):
        load_dataset(p)


def _big_file(path, rows=120_000):
    line = "1\tthis is an ordinary review sentence with a few words in it\n"
    path.write_text("label\ttext\n" + line * rows)
    return path


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl"])
def test_large_file_streams_with_progress_and_cancels(tmp_path, suffix):
    p = tmp_path / f"big{suffix}"
    if suffix == ".tsv":
        _big_file(p)
    else:
        p.write_text('{"text": "an ordinary review sentence", "label": 1}\n' * 120_000)
    seen = []
    ds = load_dataset(p, progress=lambda d, t, m: seen.append((d, t)))
    assert len(ds) == 120_000
    size = p.stat().st_size
    assert len(seen) > 10 and all(t == size for _, t in seen) and seen[-1][0] == size
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    ev = threading.Event()

    def progress(done, total, _m):
        if done > total // 3:
            ev.set()

    with pytest.raises(Cancelled):
        load_dataset(p, progress=progress, cancel=ev)


def test_dataset_file_closed_after_errors(tmp_path):
    import gc
    import warnings

    p = tmp_path / "bad.tsv"
    p.write_text("label\ttext\n1\tgood\n1\ttoo\tmany\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        for _ in range(3):
            with pytest.raises(DatasetError, match="line 3"):
                load_dataset(p)
        gc.collect()


# -------------------------------------------------------------------------- OOM halving
def _oom_above(fn, limit: int, sizes: list):
    """``fn`` made to raise ``torch.cuda.OutOfMemoryError`` when its first argument's batch (dim 0)
    is larger than ``limit``, recording every batch size it is called with in ``sizes``."""

    def fake(x, *args, **kwargs):
        sizes.append(x.shape[0])
        if x.shape[0] > limit:
            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory (fake, batch {x.shape[0]})")
        return fn(x, *args, **kwargs)

    return fake


def test_batches_halve_on_cuda_oom_and_the_job_continues():
    sizes: list = []
    model = _oom_above(lambda t: t * 2, 5, sizes)  # a fake model
    x = torch.arange(37.0)
    seen = []
    out, size = run_chunked(37, lambda a, b: model(x[a:b]), 32, progress=lambda d, t, _m: seen.append(d))
    torch.testing.assert_close(out, x * 2)
    assert size == 4 and sizes[:4] == [32, 16, 8, 4] and max(s for s in sizes if s <= 5) == 4
    assert seen[-1] == 37 and OOM_EVENTS[-1] == (8, 4)
    with pytest.raises(torch.cuda.OutOfMemoryError):  # a single row that does not fit is an error
        run_chunked(3, lambda a, b: _oom_above(lambda t: t, 0, [])(x[a:b]), 4)
    with pytest.raises(ValueError):  # anything else is not retried
        for_each_chunk(3, lambda a, b: (_ for _ in ()).throw(ValueError("bad")), 4)


def test_dataset_prediction_and_activations_survive_oom(tmp_path, monkeypatch):
    """The batched engine jobs other than marginalization (whose OOM tests live with it)."""
    from interp_engine.data import Dataset
    from interp_engine.search import SearchIndex

    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path / "cache"))
    c = load_classifier(save_tiny(tmp_path / "m"), device="cpu")
    texts = TINY_TEXTS * 7
    ref = c.predict_proba(texts, batch_size=64)
    real = c.logits
    sizes: list = []
    monkeypatch.setattr(c, "logits", _oom_above(real, 6, sizes))
    np.testing.assert_allclose(c.predict_proba(texts, batch_size=64), ref, atol=1e-6)
    assert sizes[:5] == [35, 32, 16, 8, 4]  # 35 rows tried at 64, then 32, 16, 8 (> 6), 4 fits
    monkeypatch.setattr(c, "logits", real)

    ds = Dataset(texts=tuple(texts), labels=None, class_names=(), path=None)
    ix = SearchIndex.open(ds)
    ref_v, ref_l = (np.array(a) for a in ix.activations(c, n=2, batch_size=64))
    for f in ix.path.parent.glob("*_act_*"):
        f.unlink()
    hsizes: list = []
    monkeypatch.setattr(c, "hidden_forward", _oom_above(c.hidden_forward, 8, hsizes))
    v, loc = ix.activations(c, n=2, batch_size=64)
    assert max(hsizes) > 8 and 8 in hsizes
    np.testing.assert_array_equal(np.array(loc), ref_l)
    np.testing.assert_allclose(np.array(v), ref_v, atol=1e-3)


@pytest.mark.parametrize("method, attr", [("integrated_gradients", "logits_from_embeds"),
                                          ("lime", "logits_from_embeds")])
def test_captum_methods_halve_their_internal_batch_on_oom(tmp_path, monkeypatch, method, attr):
    from interp_engine.engine import Engine

    eng = Engine("cpu")
    eng.load_model(save_tiny(tmp_path / "m"))
    ref = eng.attribute("a good film , never boring", method)
    eng.cache.clear()
    sizes: list = []
    c = eng.classifier
    monkeypatch.setattr(c, attr, _oom_above(getattr(c, attr), 7, sizes))
    out = eng.attribute("a good film , never boring", method)
    assert max(sizes) > 7 and max(s for s in sizes if s <= 7) <= 7
    np.testing.assert_allclose(out.scores, ref.scores, rtol=1e-5, atol=1e-6)


class _OomMLM(torch.nn.Module):
    """A masked LM that raises ``torch.cuda.OutOfMemoryError`` for more than ``limit`` rows and
    records every batch size it is called with in ``sizes`` (else it is ``mlm``)."""

    def __init__(self, mlm, limit: int, sizes: list):
        super().__init__()
        self.inner, self.limit, self.sizes = mlm, limit, sizes

    def forward(self, input_ids, **kw):
        self.sizes.append(input_ids.shape[0])
        if input_ids.shape[0] > self.limit:
            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory (fake MLM, batch {input_ids.shape[0]})")
        return self.inner(input_ids=input_ids, **kw)


@pytest.mark.parametrize("strategy", ["mlm", "zero"])
def test_deletion_curves_survive_oom_in_classifier_and_mlm(tmp_path, monkeypatch, strategy):
    """Faithfulness curves: the chunked classifier batch over every step of every method and the
    MLM forwards of the ``mlm`` strategy (through ``MaskedLMLikelihood.predict``) halve on OOM."""
    from interp_engine.attribution.likelihood import MaskedLMLikelihood
    from interp_engine.faithfulness import deletion_curves
    from tests.engine.test_marginalization import tiny_mlm

    c = load_classifier(save_tiny(tmp_path / "m", seed=1), device="cpu")
    lik = MaskedLMLikelihood(c, tiny_mlm(len(c.tokenizer), max_pos=64), c.tokenizer)
    text = "The plot is thin but the cast is superb"
    n = c.encode([text]).lengths()[0]
    rng = np.random.default_rng(0)
    sc = {"a": rng.normal(size=n), "b": rng.normal(size=n), "c": np.zeros(n)}
    kw = dict(strategy=strategy, likelihood=lik, x_max=1.0, insertion=True, seed=3, batch_size=64)
    ref = deletion_curves(c, text, sc, **kw)
    sizes: list = []
    mlm_sizes: list = []
    name = "logits_from_embeds" if strategy == "zero" else "logits"
    monkeypatch.setattr(c, name, _oom_above(getattr(c, name), 5, sizes))
    monkeypatch.setattr(lik, "mlm", _OomMLM(lik.mlm, 2, mlm_sizes))
    n_oom = len(OOM_EVENTS)
    out = deletion_curves(c, text, sc, **kw)
    # the sentence alone, then 1 + 3·9 deletion + 3·10 insertion rows at 64: 58, then chunks of 32, 16, 8, 4
    assert [s for s in sizes if s > 1][:5] == [58, 32, 16, 8, 4] and max(s for s in sizes if s <= 5) == 4
    if strategy == "mlm":  # 3 methods per step (> 2) and 9 words for the insertion draw
        assert 3 in mlm_sizes and 9 in mlm_sizes and max(s for s in mlm_sizes if s <= 2) == 2
    assert len(OOM_EVENTS) > n_oom
    np.testing.assert_allclose(out.p_deletion, ref.p_deletion, atol=1e-6)
    np.testing.assert_allclose(out.p_insertion, ref.p_insertion, atol=1e-6)
    np.testing.assert_allclose(out.auc, ref.auc, atol=1e-6)
    assert out.replacements == ref.replacements


def test_mlm_marginalization_survives_oom_in_the_mlm(tmp_path, monkeypatch):
    """The masked-LM forwards of input marginalization (all word positions in one MLM batch)."""
    from interp_engine.attribution.likelihood import MaskedLMLikelihood
    from interp_engine.attribution.marginalization import InputMarginalization
    from tests.engine.test_marginalization import tiny_mlm

    c = load_classifier(save_tiny(tmp_path / "m", seed=1), device="cpu")
    lik = MaskedLMLikelihood(c, tiny_mlm(len(c.tokenizer)), c.tokenizer)
    im = InputMarginalization(c, lik, sigma=1e-4)
    ref, _ = im.attribute("a good film , never boring")
    sizes: list = []
    monkeypatch.setattr(lik, "mlm", _OomMLM(lik.mlm, 2, sizes))
    out, _ = im.attribute("a good film , never boring")
    assert sizes[:3] == [6, 3, 1] and set(sizes[2:]) == {1}  # 6 word positions, halved to 3, then 1
    np.testing.assert_allclose(out.scores, ref.scores, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(out.p_marginal, ref.p_marginal, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(out.n_candidates, ref.n_candidates)


@pytest.mark.parametrize("arch", ["textcnn", "bilstm"])
def test_input_optimization_splits_locations_on_oom(tmp_path, monkeypatch, arch):
    """Yuan et al. input optimization: on OOM the locations are optimised in halves, one after the
    other, and give the unsplit run's result (early stopping is per location: some converge)."""
    from interp_engine import optimization as opt
    from interp_engine.optimization import LocationRequest, OptimizationConfig, optimize_locations

    c = load_classifier(save_tiny(tmp_path / "m", arch, seed=2), device="cpu")
    texts = ["The plot is thin but the cast is superb , never boring", "a good film"]
    enc = c.encode(texts)
    specs = c.hidden_layers()
    reqs = []
    for sent, n, pairs in ((0, enc.lengths()[0], [(0, 2), (0, 7), (1, 5), (len(specs) - 1, 8)]),
                           (1, enc.lengths()[1], [(0, 1), (len(specs) - 1, 0)])):
        for r, i in pairs:
            rf = specs[r].receptive_fields(n)[i]
            reqs.append(LocationRequest(sent, specs[r].hidden_index, specs[r].channels, i, (int(rf[0]), int(rf[1]))))
    cfg = OptimizationConfig(steps=120, lr=0.02, tol=2e-4, patience=10)
    ref = optimize_locations(c, enc.input_ids, enc.attention_mask, reqs, cfg)
    assert ref.converged.any() and len(set(ref.steps_run.tolist())) > 1  # early stopping differs per location
    sizes: list = []
    if arch == "textcnn":  # the fast path: a'_ij from the receptive-field windows
        real = opt._textcnn_window_activations
        monkeypatch.setattr(opt, "_textcnn_window_activations",
                            lambda model, x, plan, K: _oom_above(lambda xx: real(model, xx, plan, K), 2, sizes)(x))
    else:
        monkeypatch.setattr(c, "hidden_forward", _oom_above(c.hidden_forward, 2, sizes))
    out = optimize_locations(c, enc.input_ids, enc.attention_mask, reqs, cfg)
    assert sizes[:2] == [6, 3] and set(sizes[2:]) == {1}  # 6 locations, halved to 3, then one at a time
    assert out.trace.shape == ref.trace.shape
    np.testing.assert_array_equal(out.steps_run, ref.steps_run)
    np.testing.assert_array_equal(out.converged, ref.converged)
    # 120 Adam steps on float32 forwards of 6, 3 or 1 locations: the batch shape changes the last bits
    # and the steps amplify them (4e-5 seen on one CPU for the BiLSTM); mixing locations up would
    # differ by O(1)
    np.testing.assert_allclose(out.x0, ref.x0, rtol=1e-3, atol=2e-4)
    np.testing.assert_allclose(out.x_overall, ref.x_overall, rtol=1e-3, atol=2e-4)
    np.testing.assert_allclose(out.trace, ref.trace, rtol=1e-3, atol=2e-4)
    for f in ("activation_dot", "l2", "similarity"):
        np.testing.assert_allclose(getattr(out, f), getattr(ref, f), rtol=1e-4, atol=1e-5)


def test_corpus_search_and_matching_rate_survive_oom(tmp_path, monkeypatch):
    from interp_engine.neighbours import matching_rate
    from interp_engine.optimization import OptimizationConfig, corpus_search

    c = load_classifier(save_tiny(tmp_path / "m", seed=1), device="cpu")
    words = np.arange(5, min(45, len(c.tokenizer)))
    ref = corpus_search(c, ("class", 1), words, batch_size=64)
    cfg = OptimizationConfig(steps=30, lr=0.02, tol=0.0)
    ref_mr = matching_rate(c, TINY_TEXTS, k=2, m=3, config=cfg, batch_sentences=8)
    real_hf, real_logits = c.hidden_forward, c.logits
    sizes: list = []
    monkeypatch.setattr(c, "hidden_forward", _oom_above(real_hf, 7, sizes))
    np.testing.assert_allclose(corpus_search(c, ("class", 1), words, batch_size=64), ref, rtol=1e-6, atol=1e-7)
    n = len(words)  # n rows at 64, then chunks of 32, 16, 8 (> 7), 4 fits
    assert sizes[:2] == [n, min(n, 32)] and max(s for s in sizes if s <= 7) == 4
    monkeypatch.setattr(c, "hidden_forward", real_hf)
    lsizes: list = []
    monkeypatch.setattr(c, "logits", _oom_above(real_logits, 2, lsizes))
    mr = matching_rate(c, TINY_TEXTS, k=2, m=3, config=cfg, batch_sentences=8)
    assert lsizes[:3] == [5, 4, 2] and max(s for s in lsizes[2:]) == 2  # 5 sentences at 8, then 4, then 2 at a time
    assert mr.rate == ref_mr.rate and mr.interpretations == ref_mr.interpretations
    np.testing.assert_array_equal(mr.predicted, ref_mr.predicted)
    np.testing.assert_array_equal(mr.predicted_interpretation, ref_mr.predicted_interpretation)


def test_gradient_attribution_of_many_sentences_survives_oom(tmp_path, monkeypatch):
    from interp_engine.attribution import GradientAttribution

    c = load_classifier(save_tiny(tmp_path / "m", seed=1), device="cpu")
    texts = TINY_TEXTS * 3
    m = GradientAttribution(c, times_input=True)
    ref_s, ref_t, ref_l = m.attribute(texts, internal_batch_size=64)
    sizes: list = []
    monkeypatch.setattr(c, "logits_from_embeds", _oom_above(c.logits_from_embeds, 4, sizes))
    sc, t, lg = m.attribute(texts, internal_batch_size=64)
    assert sizes[:4] == [15, 15, 15, 8] and max(s for s in sizes if s <= 4) == 4  # 15 at 64, 32 and 16, then 8, 4
    np.testing.assert_array_equal(t, ref_t)
    np.testing.assert_allclose(lg, ref_l, rtol=1e-5, atol=1e-6)
    assert len(sc) == len(ref_s)
    for a, b in zip(sc, ref_s):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -------------------------------------------------------------------------- result cache
def test_cache_is_bounded_lru():
    c = ResultCache(max_entries=3, max_bytes=10_000)
    keys = [c.key("h", f"t{i}", "grad", {"target": None}) for i in range(5)]
    for k in keys:
        c.put(k, np.zeros(10))
    assert len(c) == 3 and keys[0] not in c and keys[4] in c
    assert c.get(keys[2]) is not None  # now most recent
    c.put(c.key("h", "new", "grad"), np.zeros(10))
    assert keys[3] not in c and keys[2] in c
    c.put(c.key("h", "huge", "grad"), np.zeros(10_000))  # larger than the bound: not kept
    assert len(c) == 3 and c.nbytes <= 10_000
    c.put(c.key("h", "a", "grad"), np.zeros(624))
    c.put(c.key("h", "b", "grad"), np.zeros(624))  # 2 x 4992 bytes + the small one > 10,000: evicts by size
    assert c.nbytes <= 10_000 and len(c) == 2
    assert c.key("h", "t", "m", {"a": 1, "b": [1, 2]}) == c.key("h", "t", "m", {"b": (1, 2), "a": 1})


def test_engine_cache_going_back_is_instant_and_model_change_invalidates(tmp_path, monkeypatch):
    from interp_engine.engine import Engine

    from interp_engine.hashing import model_folder_hash

    eng = Engine("cpu")
    info = eng.load_model(save_tiny(tmp_path / "a", seed=0))
    # the cache key's model part is the one content hash (the figure sidecars' folder hash)
    assert info.content_hash == eng.classifier.content_hash == model_folder_hash(tmp_path / "a")
    assert eng._cache_key(eng.classifier, "a good film", "grad", None)[0] == info.content_hash
    calls = []
    from interp_engine.attribution import gradient as gradient_mod

    real = gradient_mod.gradient_scores  # what the registry's Gradient method calls
    monkeypatch.setattr(gradient_mod, "gradient_scores", lambda *a, **k: calls.append(1) or real(*a, **k))
    a1 = eng.attribute("a good film", "grad")
    eng.attribute("a bad film", "grad")
    a2 = eng.attribute("a good film", "grad")
    assert a2 is a1 and len(calls) == 2
    assert eng.attribute("a good film", "grad", target=0) is not a1  # parameters are in the key
    assert eng.attribute("a good film", "grad_input") is not a1
    h1 = eng.hidden_saliency("a good film")
    assert eng.hidden_saliency("a good film") is h1 and eng.hidden_saliency("a good film", top=1) is not h1
    u1 = eng.attribute("a good film", "marginalization", likelihood="uniform", sigma=0)
    assert eng.attribute("a good film", "marginalization", likelihood="uniform", sigma=0) is u1
    assert eng.attribute("a good film", "marginalization", likelihood="uniform", top_n=3) is not u1
    # another model: nothing of the old one is served
    eng.load_model(save_tiny(tmp_path / "b", seed=1))
    b1 = eng.attribute("a good film", "grad")
    assert b1 is not a1 and not np.allclose(b1.scores, a1.scores)
    assert len(eng.cache) == 1
    assert eng.classifier.content_hash == model_folder_hash(tmp_path / "b") != info.content_hash


# -------------------------------------------------------------------------- CLI
def test_cli_bad_inputs_exit_2_with_the_message(tmp_path, capsys):
    """In-process (a subprocess per case costs ~5 s of imports); ``test_cli.py`` runs the module
    as a subprocess and checks there is no traceback."""
    from interp_engine.cli import main

    d = save_tiny(tmp_path / "m")
    pk = _pickle_only(save_tiny(tmp_path / "pk"))
    cp = tmp_path / "mr.tsv"
    cp.write_bytes(b"label\ttext\n1\tcaf\xe9 \x96 film\n0\tbad\n")
    cases = [
        (["hidden", "--model", pk, "--text", "good"], "pytorch_model.bin"),
        (["search", "--data", cp, "--query", "film"], "line 2: bytes e9 cannot be decoded as utf-8"),
        (["attribute", "--model", d, "--text", "\u200b\u2028 "], "empty"),
        (["train", "--data", cp, "--out", tmp_path / "x"], 'encoding="cp1252"'),
    ]
    for args, expected in cases:
        assert main([str(a) for a in args]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("error: ") and expected in err, err
    with pytest.raises(ModelLoadError):  # --debug: the exception (and its traceback) comes through
        main(["hidden", "--model", str(pk), "--text", "good", "--debug"])
    # the flags that fix them
    assert main(["hidden", "--model", str(pk), "--text", "a good film", "--allow-pickle", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["tokens"] == ["a", "good", "film"]
    assert main(["search", "--data", str(cp), "--query", "film", "--encoding", "cp1252"]) == 0
    assert "café – [film]" in capsys.readouterr().out


def test_binary_file_is_not_text(tmp_path):
    p = tmp_path / "binary.tsv"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DatasetError, match="binary.tsv: line 1 holds NUL bytes: this is not a text file"):
        load_dataset(p)
