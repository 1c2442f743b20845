"""Two models on one sentence (Kim et al. 2020 Fig. 4a): the comparison model beside the open one,
``CompareModelsRequest`` rows equal to each model alone, targets by class name, the colour-scale
rule, the shared masked LM, bad second models, the figure with its sidecar, and
``export --compare-model``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from interp_engine import export
from interp_engine import requests as rq
from interp_engine.attribution import registry
from interp_engine.config import MarginalizationConfig
from interp_engine.engine import Engine
from interp_engine.errors import InputError, ModelLoadError
from interp_engine.figures import FigureStyle, panel_of, render
from interp_engine.hashing import model_folder_hash
from tests.helpers import TINY_TEXTS, save_tiny_bert, save_tiny_pair, tiny_tokenizer

TEXT = "a good film with great acting"
UNIFORM = {"marginalization": MarginalizationConfig(likelihood="uniform", sigma=0.0)}


def save_named(path: Path, names, arch: str = "textcnn", *, seed: int = 0, tokenizer=None) -> Path:
    """A tiny random TextCNN/BiLSTM over the words of TINY_TEXTS with class names ``names``."""
    from interp_engine.models import (
        BiLSTMConfig,
        BiLSTMForSequenceClassification,
        TextCNNConfig,
        TextCNNForSequenceClassification,
    )

    tok = tokenizer or tiny_tokenizer()
    torch.manual_seed(seed)
    id2label = dict(enumerate(names))
    common = dict(vocab_size=len(tok), num_labels=len(names), max_seq_length=32, id2label=id2label,
                  label2id={v: k for k, v in id2label.items()})
    if arch == "textcnn":
        model = TextCNNForSequenceClassification(TextCNNConfig(embedding_dim=12, conv_channels=[8, 6], kernel_size=3,
                                                               **common))
    else:
        model = BiLSTMForSequenceClassification(BiLSTMConfig(embedding_dim=12, hidden_size=5, attention_dim=6,
                                                             **common))
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    return {
        "cnn": save_named(root / "cnn", ("negative", "positive"), "textcnn", seed=0),
        "lstm": save_named(root / "lstm", ("negative", "positive"), "bilstm", seed=1),
        "reversed": save_named(root / "reversed", ("positive", "negative"), "bilstm", seed=2),
        "three": save_named(root / "three", ("0", "1", "2"), "bilstm", seed=3),
        "bert": save_tiny_bert(root / "bert", num_labels=2),
        "pair": save_tiny_pair(root / "pair"),
        "root": root,
    }


def engine_with(a: Path, b: Path | None = None) -> Engine:
    e = Engine("cpu")
    e.run(rq.LoadModelRequest(path=str(a)))
    if b is not None:
        e.run(rq.LoadCompareModelRequest(path=str(b)))
    return e


def alone(path: Path, method: str, target=None):
    e = engine_with(path)
    return e.run(rq.AttributionRequest(text=TEXT, method=method, target=target, configs=UNIFORM))


# -- rows = each model alone -----------------------------------------------------------------
@pytest.mark.parametrize("method", ["grad_input", "marginalization", "unk"])
def test_each_row_is_what_the_model_gives_alone(models, method):
    e = engine_with(models["cnn"], models["lstm"])
    res = e.run(rq.CompareModelsRequest(text=TEXT, method=method, configs=UNIFORM))
    ref_a, ref_b = alone(models["cnn"], method), alone(models["lstm"], method)
    assert res.request is not None and res.method == method and len(res.rows) == 2
    a, b = res.rows
    # the two models really differ here, so swapped rows, or two rows of model A, would fail
    assert not np.allclose(ref_a.scores, ref_b.scores, atol=1e-6)
    np.testing.assert_allclose(a.scores, ref_a.scores, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(b.scores, ref_b.scores, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(b.prediction.probabilities, ref_b.prediction.probabilities, rtol=1e-6, atol=1e-9)
    assert (a.target, b.target) == (ref_a.target, ref_b.target)
    # each row records its model (folder and content hash), and so does the comparison
    assert a.model_path == str(models["cnn"]) and b.model_path == str(models["lstm"])
    assert a.model_hash == model_folder_hash(models["cnn"]) and b.model_hash == model_folder_hash(models["lstm"])
    assert res.model_names == ("cnn", "lstm") and res.model_hashes == (a.model_hash, b.model_hash)
    assert res.class_note == "" and res.row_errors == ("", "")


def test_each_row_has_its_own_tokens(models):
    e = engine_with(models["cnn"], models["bert"])
    res = e.run(rq.CompareModelsRequest(text="The plot is thin", method="grad_input"))
    a, b = res.rows
    assert a.tokens == ("The", "plot", "is", "thin")  # word-level, case kept
    assert b.tokens == ("[CLS]", "the", "plot", "is", "thin", "[SEP]")  # WordPiece, lower-cased, specials
    assert b.special.tolist() == [True, False, False, False, False, True]


# -- targets: by class name ---------------------------------------------------------------------
def test_a_chosen_target_is_explained_by_name(models):
    e = engine_with(models["cnn"], models["reversed"])  # B's class 0 is "positive"
    res = e.run(rq.CompareModelsRequest(text=TEXT, method="grad", target=1))  # A's "positive"
    assert res.rows[0].target == 1 and res.rows[1].target == 0
    np.testing.assert_allclose(res.rows[1].scores, alone(models["reversed"], "grad", target=0).scores, rtol=1e-5,
                               atol=1e-8)
    assert res.class_note == ("models disagree on classes: A has {negative, positive}, "
                              "B has {positive, negative}")
    assert res.notes == ()


def test_other_classes_each_model_explains_its_own_prediction_and_the_note_says_so(models):
    e = engine_with(models["cnn"], models["three"])
    res = e.run(rq.CompareModelsRequest(text=TEXT, method="grad", target=1))
    b = res.rows[1]
    assert b.target == b.prediction.predicted and len(b.prediction.class_names) == 3
    assert res.class_note == "models disagree on classes: A has {negative, positive}, B has {0, 1, 2}"
    assert res.notes == ("B has no class “positive”: it explains its own predicted class",)
    with pytest.raises(InputError, match="model A has classes 0..1"):
        e.run(rq.CompareModelsRequest(text=TEXT, method="grad", target=2))


# -- one colour-scale rule ------------------------------------------------------------------------
def test_the_scale_rule_is_the_registry_s():
    shared = {m for m in registry.names() if registry.shares_scale_across_models(m)}
    assert shared == set(registry.woe_methods()) | {"lime"}
    assert {"grad", "grad_input", "integrated_gradients"}.isdisjoint(shared)
    assert registry.model_scale_note("marginalization") == "one colour scale: bits of WoE"
    assert registry.model_scale_note("grad") == "separate scales: gradient units differ between models"


def test_shared_rows_take_one_limit_and_gradient_rows_their_own(models):
    e = engine_with(models["cnn"], models["lstm"])
    woe = e.run(rq.CompareModelsRequest(text=TEXT, method="marginalization", configs=UNIFORM))
    grad = e.run(rq.CompareModelsRequest(text=TEXT, method="grad_input"))
    own = [[float(np.abs(r.scores[~r.special]).max()) for r in res.rows] for res in (woe, grad)]
    assert woe.shared_scale and woe.scale_note == "one colour scale: bits of WoE"
    assert woe.limits() == pytest.approx((max(own[0]),) * 2)
    assert not grad.shared_scale and grad.scale_note == "separate scales: gradient units differ between models"
    assert grad.limits() == pytest.approx(tuple(own[1]))
    assert own[1][0] != pytest.approx(own[1][1])  # so that one shared limit would not pass


# -- the masked LM is shared --------------------------------------------------------------------
def _save_mlm(path: Path, tokenizer_dir: Path) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    torch.manual_seed(0)
    BertForMaskedLM(BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=32, max_position_embeddings=64)).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_the_masked_lm_is_shared_and_a_vocabulary_mismatch_is_said(models, tmp_path):
    mlm = _save_mlm(tmp_path / "mlm", models["cnn"])  # the vocabulary of model A
    e = engine_with(models["cnn"], models["bert"])
    e.run(rq.LoadMLMRequest(path=str(mlm)))
    cfg = {"marginalization": MarginalizationConfig(likelihood="mlm", sigma=0.0)}
    res = e.run(rq.CompareModelsRequest(text=TEXT, method="marginalization", configs=cfg))
    assert res.row_errors == ("", "") and all(r is not None for r in res.rows)
    lik_b = e._compare_lik["mlm"]
    assert lik_b.mlm is e._lik_cache["mlm"].mlm  # one masked LM in memory for both models
    assert not lik_b.identical and 0 < lik_b.shared_tokens < lik_b.vocab_size
    assert res.notes == (f"the masked LM's vocabulary differs from B's: {lik_b.shared_tokens} of its "
                         f"{lik_b.vocab_size} tokens are shared; the likelihood of the others is dropped "
                         "(dropped mass)",)
    # model B alone with the same masked LM gives the same row
    ref = engine_with(models["bert"])
    ref.run(rq.LoadMLMRequest(path=str(mlm)))
    np.testing.assert_allclose(res.rows[1].scores, ref.run(rq.AttributionRequest(
        text=TEXT, method="marginalization", configs=cfg)).scores, rtol=1e-5, atol=1e-7)


def test_no_shared_vocabulary_leaves_row_b_out_with_its_reason(models, tmp_path):
    from interp_engine.models.tokenization import build_word_tokenizer

    mlm = _save_mlm(tmp_path / "mlm", models["cnn"])
    other = save_named(tmp_path / "other", ("negative", "positive"),
                       tokenizer=build_word_tokenizer(["zzq yyq wwq vvq"], max_length=32))
    e = engine_with(models["cnn"], other)
    e.run(rq.LoadMLMRequest(path=str(mlm)))
    res = e.run(rq.CompareModelsRequest(text=TEXT, method="marginalization",
                                        configs={"marginalization": MarginalizationConfig(likelihood="mlm")}))
    assert res.rows[0] is not None and res.rows[1] is None
    assert res.row_errors[0] == ""
    assert res.row_errors[1].startswith("B (other): marginalization with the masked LM is not possible on this model")
    assert "shares no token" in res.row_errors[1]
    fig = render(res)  # the figure still draws A's row and B's reason
    assert fig._interp_meta["rows"] == 2


# -- bad second models ----------------------------------------------------------------------------
def test_a_second_model_that_cannot_be_opened_keeps_both_models(models, tmp_path):
    e = engine_with(models["cnn"], models["lstm"])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json", encoding="utf-8")
    for bad in (tmp_path / "missing", tmp_path / "broken"):
        with pytest.raises(ModelLoadError):
            e.run(rq.LoadCompareModelRequest(path=str(bad)))
        assert e.model_info().path == str(models["cnn"])
        assert e.compare_model_info().path == str(models["lstm"])


def test_a_pair_model_beside_a_single_text_model_is_refused_clearly(models):
    e = engine_with(models["cnn"])
    with pytest.raises(ModelLoadError) as err:
        e.run(rq.LoadCompareModelRequest(path=str(models["pair"])))
    assert str(err.value) == ("the comparison model reads a pair of texts (premise and hypothesis) but the open "
                              "model reads one text: both models must read the same input to explain it side by side")
    assert e.compare_classifier is None
    e2 = engine_with(models["pair"])
    with pytest.raises(ModelLoadError, match="reads one text but the open model reads a pair of texts"):
        e2.run(rq.LoadCompareModelRequest(path=str(models["cnn"])))
    e2.run(rq.LoadCompareModelRequest(path=str(models["bert"])))  # a plain BERT reads either


def test_no_primary_and_closing(models):
    with pytest.raises(ModelLoadError, match="no model is open"):
        Engine("cpu").run(rq.LoadCompareModelRequest(path=str(models["lstm"])))
    e = engine_with(models["cnn"], models["lstm"])
    assert e.run(rq.CloseCompareModelRequest()) is None
    assert e.compare_model_info() is None
    with pytest.raises(ModelLoadError, match="no comparison model is open"):
        e.run(rq.CompareModelsRequest(text=TEXT, method="grad"))
    e.run(rq.CloseCompareModelRequest())  # closing twice is fine


def test_dataset_predictions_of_the_comparison_model(models, tmp_path):
    data = tmp_path / "d.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS)), encoding="utf-8")
    e = engine_with(models["cnn"], models["three"])
    e.run(rq.LoadDatasetRequest(path=str(data)))
    pa = e.run(rq.PredictDatasetRequest(n_texts=len(TINY_TEXTS)))
    pb = e.run(rq.ComparePredictDatasetRequest(n_texts=len(TINY_TEXTS)))
    ref = engine_with(models["three"])
    ref.run(rq.LoadDatasetRequest(path=str(data)))
    np.testing.assert_allclose(pb.probabilities, ref.run(rq.PredictDatasetRequest()).probabilities, rtol=1e-6)
    assert pa.probabilities.shape == (5, 2) and pb.probabilities.shape == (5, 3)


# -- the figure and its sidecar -------------------------------------------------------------------
def test_export_draws_one_row_per_model_and_the_sidecar_names_both(models, tmp_path):
    e = engine_with(models["cnn"], models["three"])
    res = e.run(rq.CompareModelsRequest(text=TEXT, method="grad_input", target=1))
    assert panel_of(res) == "heatmap"
    fig = render(res, FigureStyle())
    assert fig._interp_meta == {"kind": "models", "rows": 2, "limits": list(res.limits()), "shared": False}
    out = tmp_path / "cmp.svg"
    prov = export.Provenance(model_path=str(models["cnn"]))
    _, side = export.export_figure(res, out, provenance=prov, style=FigureStyle(width="double"))
    svg = out.read_text(encoding="utf-8")
    for text in ("A · cnn", "B · three", "separate scales: gradient units differ between models",
                 "models disagree on classes: A has {negative, positive}, B has {0, 1, 2}",
                 "B has no class “positive”: it explains its own predicted class"):
        assert text in svg, text
    meta = json.loads(side.read_text(encoding="utf-8"))
    assert meta["panel"] == "heatmap" and meta["method"] == "grad_input"
    assert meta["model"]["hash"] == model_folder_hash(models["cnn"])
    assert meta["compare_model"] == {"name": "three", "path": str(models["three"].resolve()),
                                     "hash": model_folder_hash(models["three"])}
    assert [(m["letter"], m["name"]) for m in meta["models"]] == [("A", "cnn"), ("B", "three")]
    assert meta["notes"]["scale"] == res.scale_note and meta["notes"]["classes"] == res.class_note
    assert meta["request"] == {"type": "compare_models", "input": TEXT, "method": "grad_input", "target": 1,
                               "configs": {}}
    # remade from the sidecar: the same bytes; a changed comparison model is refused
    again, _ = export.remake(side, tmp_path / "again.svg")
    assert again.read_bytes() == out.read_bytes()
    changed = save_named(tmp_path / "changed", ("0", "1", "2"), "bilstm", seed=9)
    with pytest.raises(export.ModelChangedError, match="comparison model"):
        export.remake(side, tmp_path / "x.svg", compare_model_path=changed)


def test_latex_of_a_comparison(models):
    e = engine_with(models["cnn"], models["bert"])
    res = e.run(rq.CompareModelsRequest(text="a good film", method="unk"))
    tex = export.encode(res, "tex").decode("utf-8")
    assert "% one colour scale: bits of WoE" in tex
    assert tex.count("\\textbf{A · cnn") == 1 and tex.count("\\textbf{B · bert") == 1
    assert tex.count("\\colorbox") == 3 + 5  # 3 word tokens, then [CLS] a good film [SEP]


# -- the command line -------------------------------------------------------------------------------
def test_cli_export_compare_model(models, tmp_path, capsys):
    from interp_engine.cli import main

    out = tmp_path / "fig.pdf"
    assert main(["export", "--model", str(models["cnn"]), "--compare-model", str(models["lstm"]), "--text", TEXT,
                 "--methods", "marginalization", "--likelihood", "uniform", "--out", str(out)]) == 0
    meta = json.loads((tmp_path / "fig.pdf.json").read_text(encoding="utf-8"))
    assert meta["request"]["type"] == "compare_models" and meta["compare_model"]["name"] == "lstm"
    assert meta["notes"]["shared_scale"] is True and out.read_bytes().startswith(b"%PDF")
    capsys.readouterr()
    cases = [
        (["--compare-model", str(tmp_path / "missing")], f"error: --compare-model {tmp_path / 'missing'}: "),
        (["--compare-model", str(models["lstm"]), "--methods", "grad,unk"],
         "error: --compare-model compares the models with one method; --methods names 2: grad, unk"),
        (["--compare-model", str(models["lstm"]), "--panel", "grid"],
         "error: --compare-model is for --panel heatmap (one row per model), not --panel grid"),
        (["--compare-model", str(models["pair"])], "error: --compare-model"),
    ]
    for extra, message in cases:
        rc = main(["export", "--model", str(models["cnn"]), "--text", TEXT, "--out", str(tmp_path / "x.png"), *extra])
        err = capsys.readouterr().err
        assert rc == 2 and err.startswith(message), (extra, err)
        assert "Traceback" not in err
    assert not (tmp_path / "x.png").exists()
