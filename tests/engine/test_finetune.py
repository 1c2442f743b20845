"""Fine-tuning a pretrained encoder folder (``train --arch transformer --init``) and building a
WordPiece masked LM from one (``train-mlm --init``), end to end on a tiny random BERT encoder."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from interp_engine.cli import main
from interp_engine.data import load_dataset
from interp_engine.errors import Cancelled, InputError
from interp_engine.finetune import FineTuneConfig, fine_tune
from interp_engine.models import load_classifier
from tests.helpers import TINY_PAIRS, save_pairs_tsv, save_tiny_encoder

POS = ["a good film with great acting", "never boring , always fun", "The plot is thin but the cast is superb"]
NEG = ["a bad film , not good at all", "boring and dull , I hated it"]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return save_tiny_encoder(tmp_path_factory.mktemp("enc") / "encoder")


@pytest.fixture(scope="module")
def train_tsv(tmp_path_factory):
    p = tmp_path_factory.mktemp("data") / "train.tsv"
    rows = [(1, t) for t in POS] * 12 + [(0, t) for t in NEG] * 12
    p.write_text("label\ttext\n" + "".join(f"{y}\t{t}\n" for y, t in rows), encoding="utf-8")
    return p


FAST = FineTuneConfig(epochs=12, lr=1e-2, batch_size=8)


@pytest.fixture(scope="module")
def tuned(encoder, train_tsv, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft") / "clf"
    data = load_dataset(train_tsv)
    report = fine_tune(data, out, init=encoder, test=data, config=FAST, device="cpu")
    return out, report


def test_fine_tuned_folder_opens_learns_and_keeps_the_encoder(tuned, encoder):
    out, report = tuned
    clf = load_classifier(out, device="cpu")
    assert clf.kind == "transformer" and clf.num_labels == 2
    # a separable toy task: a head on a frozen random encoder alone would not reach this
    assert report.test_accuracy == 1.0
    probs = clf.predict_proba(POS + NEG)
    assert (probs.argmax(1) == np.array([1] * len(POS) + [0] * len(NEG))).all()
    meta = json.loads((out / "training.json").read_text())
    assert meta["arch"] == "transformer" and meta["init"] == str(encoder.resolve())
    assert meta["best_epoch"] >= 1 and len(meta["history"]) == FAST.epochs
    assert (out / "tokenizer.json").is_file()


def test_class_names_come_from_the_dataset(encoder, tmp_path):
    p = tmp_path / "named.tsv"
    p.write_text("label\ttext\n" + "".join(f"{'positive' if i % 2 else 'negative'}\t{(POS + NEG)[i % 5]}\n"
                                          for i in range(40)), encoding="utf-8")
    data = load_dataset(p)
    fine_tune(data, tmp_path / "m", init=encoder, config=FineTuneConfig(epochs=1), device="cpu")
    clf = load_classifier(tmp_path / "m", device="cpu")
    assert clf.class_names == tuple(data.class_names)
    assert clf.segment_names == ("text",)
    with pytest.raises(InputError, match="pair"):
        clf.check_input(pair=True)


def test_fine_tuning_on_pairs_gives_a_pair_model(encoder, tmp_path):
    tsv = save_pairs_tsv(tmp_path / "pairs.tsv", TINY_PAIRS * 6)
    data = load_dataset(tsv)
    rep = fine_tune(data, tmp_path / "nli", init=encoder, test=data, config=FineTuneConfig(epochs=1), device="cpu")
    clf = load_classifier(tmp_path / "nli", device="cpu")
    assert clf.reads_pairs and clf.segment_names == ("premise", "hypothesis")
    enc = clf.encode([data.input(0)])
    assert enc.token_type_ids is not None and int(enc.token_type_ids.max()) == 1  # [SEP] h [SEP] is segment 1
    assert rep.n_test == len(data)


def test_seed_reproduces_the_model_and_the_encoder_starts_from_init(encoder, train_tsv, tmp_path):
    data = load_dataset(train_tsv)
    cfg = FineTuneConfig(epochs=1)
    fine_tune(data, tmp_path / "a", init=encoder, config=cfg, device="cpu")
    fine_tune(data, tmp_path / "b", init=encoder, config=cfg, device="cpu")
    a, b = load_file(str(tmp_path / "a" / "model.safetensors")), load_file(str(tmp_path / "b" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    # one epoch at the default learning rate moves the pretrained weights by at most ~steps * lr
    # (AdamW); an encoder initialised afresh would differ from --init's by ~0.02 per element
    pre = load_file(str(encoder / "model.safetensors"))
    compared = 0
    for k, v in pre.items():
        if "pooler" in k:
            continue
        got = a[k] if k in a else a[f"bert.{k}"]
        assert (got - v).abs().max() < 2e-3, k
        compared += 1
    assert compared >= 10
    assert any(k.startswith("classifier.") for k in a)


def test_cancel_stops_fine_tuning(encoder, train_tsv, tmp_path):
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        fine_tune(load_dataset(train_tsv), tmp_path / "c", init=encoder, config=FineTuneConfig(epochs=1),
                  device="cpu", cancel=ev)
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("case, message", [
    ("missing", "not a folder"),
    ("no_tokenizer", "has no tokenizer"),
    ("no_config", "no config.json"),
])
def test_bad_init_folders_are_refused_with_a_message(encoder, train_tsv, tmp_path, capsys, case, message):
    import shutil

    bad = tmp_path / "bad"
    if case != "missing":
        shutil.copytree(encoder, bad)
        for f in bad.iterdir():
            if (case == "no_tokenizer" and f.name.startswith("tokenizer")) or (case == "no_config" and f.name == "config.json"):
                f.unlink()
    rc = main(["train", "--arch", "transformer", "--init", str(bad), "--data", str(train_tsv), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_cli_flag_combinations(encoder, train_tsv, tmp_path, capsys):
    assert main(["train", "--arch", "transformer", "--data", str(train_tsv), "--out", str(tmp_path / "o")]) == 2
    assert "--init" in capsys.readouterr().err
    assert main(["train", "--arch", "textcnn", "--init", str(encoder), "--data", str(train_tsv),
                 "--out", str(tmp_path / "o")]) == 2
    assert "--init is for --arch transformer" in capsys.readouterr().err
    rc = main(["train", "--arch", "transformer", "--init", str(encoder), "--data", str(train_tsv), "--test",
               str(train_tsv), "--out", str(tmp_path / "o"), "--epochs", "1", "--json"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["arch"] == "transformer" and rep["n_test"] == 60 and len(rep["history"]) == 1


def test_long_rows_are_truncated_with_a_note(encoder, tmp_path):
    p = tmp_path / "long.tsv"
    rows = [(i % 2, " ".join([(POS + NEG)[i % 5]] * (8 if i % 5 == 0 else 1))) for i in range(40)]
    p.write_text("label\ttext\n" + "".join(f"{y}\t{t}\n" for y, t in rows), encoding="utf-8")
    lines = []
    rep = fine_tune(load_dataset(p), tmp_path / "m", init=encoder, config=FineTuneConfig(epochs=1, max_length=16),
                    device="cpu", log=lines.append)
    assert rep.max_length == 16
    # 8 of the 40 rows are long; at most 4 rows are held out for validation
    assert 4 <= rep.n_truncated <= 8
    assert any(f"{rep.n_truncated} training rows are longer than 16 tokens" in line for line in lines)


# -- train-mlm --init ----------------------------------------------------------------------------
def test_pretrained_mlm_keeps_the_encoder_and_learns_the_head(encoder, train_tsv, tmp_path):
    from interp_engine.mlm import PretrainedMLMConfig, train_mlm

    texts = load_dataset(train_tsv).texts
    out = tmp_path / "mlm"
    rep = train_mlm(texts, None, out, init=encoder, config=PretrainedMLMConfig(epochs=1, freeze_encoder=True),
                    device="cpu")
    state = load_file(str(out / "model.safetensors"))
    pre = load_file(str(encoder / "model.safetensors"))
    # frozen encoder: every pretrained tensor is saved unchanged, under the masked LM's names
    for k, v in pre.items():
        if "pooler" in k:
            continue
        mk = k if k in state else f"bert.{k}"
        assert torch.equal(state[mk], v), k
    assert any(k.startswith("cls.") for k in state)
    meta = json.loads((out / "mlm_training.json").read_text())
    assert meta["init"] == str(encoder.resolve()) and rep.vocab_size == len(json.loads(
        (encoder / "tokenizer.json").read_text())["model"]["vocab"])
    assert (out / "unigram_prior.json").is_file()


def test_pretrained_mlm_opens_as_the_likelihood_of_a_fine_tuned_classifier(tuned, encoder, train_tsv, tmp_path):
    from interp_engine.engine import Engine
    from interp_engine.requests import AttributionRequest, LoadMLMRequest, LoadModelRequest

    assert main(["train-mlm", "--init", str(encoder), "--data", str(train_tsv), "--out", str(tmp_path / "mlm"),
                 "--epochs", "1"]) == 0
    eng = Engine(device="cpu")
    eng.run(LoadModelRequest(path=str(tuned[0])))
    info = eng.run(LoadMLMRequest(path=str(tmp_path / "mlm")))
    assert info is not None
    res = eng.run(AttributionRequest(text="a good film with great acting", method="marginalization"))
    assert res.scores.shape == (len(res.tokens),) and np.isfinite(res.scores).all()
    assert res.tokens[0] == "[CLS]" and res.tokens[-1] == "[SEP]"


def test_train_mlm_needs_model_or_init(encoder, train_tsv, tmp_path, capsys):
    assert main(["train-mlm", "--data", str(train_tsv), "--out", str(tmp_path / "x")]) == 2
    assert "--init" in capsys.readouterr().err
    assert main(["train-mlm", "--init", str(tmp_path / "nope"), "--data", str(train_tsv),
                 "--out", str(tmp_path / "x")]) == 2
    assert "not a folder" in capsys.readouterr().err
