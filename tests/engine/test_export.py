"""Figure export: atomic writes, sidecars, remaking a figure from its sidecar (same SVG bytes,
same PNG pixels), refusing a changed model, and ``interp-studio export`` (in process)."""
from __future__ import annotations

import io
import json
import os
import warnings

import numpy as np
import pytest

from interp_engine import export
from interp_engine.cli import SUBCOMMANDS, main
from interp_engine.figures import FigureStyle
from tests.helpers import TINY_TEXTS, save_tiny

TEXT = "a good film with great acting"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("export") / "cnn")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    p = tmp_path_factory.mktemp("export_data") / "data.tsv"
    p.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS * 3)), encoding="utf-8")
    return p


def test_export_is_a_headless_subcommand():
    assert "export" in SUBCOMMANDS


# -- atomic writes ---------------------------------------------------------------------------
def test_an_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "fig.svg"
    export.atomic_write(target, b"good old figure")

    def half_then_fail(fh, data):
        fh.write(data[: len(data) // 2])
        fh.flush()
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(export, "_write_all", half_then_fail)
    with pytest.raises(OSError, match="simulated"):
        export.atomic_write(target, b"x" * 300_000)
    assert target.read_bytes() == b"good old figure"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.svg"]  # no temporary file left


def test_an_interrupted_export_keeps_the_old_figure_and_sidecar(tmp_path, monkeypatch, model):
    from interp_engine.engine import Engine

    eng = Engine("cpu")
    eng.load_model(model)
    res = eng.attribute(TEXT, "grad")
    prov = export.Provenance(model_path=str(model))
    out, side = export.export_figure(res, tmp_path / "h.pdf", provenance=prov)
    old, old_side = out.read_bytes(), side.read_bytes()
    calls = {"n": 0}
    real = export._write_all

    def fail_on_second(fh, data):  # the figure is written, the sidecar write fails midway
        calls["n"] += 1
        if calls["n"] == 1:
            return real(fh, data)
        fh.write(data[:10])
        raise OSError("interrupted (simulated)")

    monkeypatch.setattr(export, "_write_all", fail_on_second)
    with pytest.raises(OSError):
        export.export_figure(eng.attribute(TEXT, "grad_input"), tmp_path / "h.pdf", provenance=prov)
    assert json.loads(side.read_bytes()) == json.loads(old_side)  # the old sidecar is intact
    assert out.read_bytes().startswith(b"%PDF") and out.read_bytes() != old
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(export.InputError, match="does not exist"):
        export.atomic_write(tmp_path / "missing" / "x.svg", b"")


# -- sidecars and remaking -------------------------------------------------------------------
def test_sidecar_records_what_remakes_the_figure(tmp_path, model):
    out = tmp_path / "cmp.svg"
    assert main(["export", "--model", str(model), "--text", TEXT, "--methods", "grad,unk,grad_input",
                 "--out", str(out), "--width", "double", "--style", "colorblind", "--seed", "3"]) == 0
    meta = json.loads(export.sidecar_path(out).read_text())
    assert meta["panel"] == "heatmap" and meta["method"] == ["grad", "unk", "grad_input"]
    assert set(meta["parameters"]) == {"grad", "unk", "grad_input"}
    assert meta["model"]["path"] == str(model.resolve())
    assert meta["model"]["hash"] == export.model_folder_hash(model) and len(meta["model"]["hash"]) == 64
    assert meta["sentence"] == TEXT and meta["seed"] == 3 and meta["app_version"]
    assert isinstance(meta["target"], int) and meta["request"]["target"] == meta["target"]
    assert meta["figure"]["style"]["palette"] == "colorblind" and meta["figure"]["style"]["width"] == "double"
    assert "dataset" in meta and "mlm" in meta
    # the remade SVG is byte-identical (no date, fixed hash salt, same numbers)
    again = tmp_path / "again.svg"
    assert main(["export", "--from-sidecar", str(export.sidecar_path(out)), "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_remade_png_has_the_same_pixels_and_marginalization_params(tmp_path, model):
    from PIL import Image

    out = tmp_path / "marg.png"
    assert main(["export", "--model", str(model), "--text", TEXT, "--methods", "marginalization",
                 "--likelihood", "uniform", "--top-n", "5", "--out", str(out), "--dpi", "150"]) == 0
    meta = json.loads(export.sidecar_path(out).read_text())
    assert meta["method"] == "marginalization"
    assert meta["parameters"]["likelihood"] == "uniform" and meta["parameters"]["top_n"] == 5
    assert meta["figure"]["dpi"] == 150
    out.rename(tmp_path / "orig.png")
    export.remake(export.sidecar_path(out))  # default: the recorded file name
    a = np.asarray(Image.open(tmp_path / "orig.png"))
    b = np.asarray(Image.open(out))
    assert a.shape == b.shape and a.shape[1] == round(3.3 * 150)
    assert np.array_equal(a, b)


def test_grid_and_search_histogram_remake(tmp_path, model, data):
    grid = tmp_path / "grid.svg"
    assert main(["export", "--model", str(model), "--text", TEXT, "--panel", "grid", "--out", str(grid)]) == 0
    assert TEXT.split()[2] in grid.read_text()
    hist = tmp_path / "hist.pdf"
    assert main(["export", "--model", str(model), "--data", str(data), "--panel", "search", "--query", "good",
                 "--out", str(hist)]) == 0
    meta = json.loads(export.sidecar_path(hist).read_text())
    assert meta["dataset"]["path"] == str(data.resolve()) and meta["request"]["query"] == "good"
    for f in (grid, hist):
        again = tmp_path / ("again_" + f.name)
        export.remake(export.sidecar_path(f), again)
        assert again.read_bytes() == f.read_bytes()


def test_a_changed_model_is_refused_unless_forced(tmp_path, model, capsys):
    m2 = tmp_path / "m2"
    save_tiny(m2, seed=0)
    out = tmp_path / "h.svg"
    assert main(["export", "--model", str(m2), "--text", TEXT, "--out", str(out)]) == 0
    side = export.sidecar_path(out)
    h0 = export.model_folder_hash(m2)
    save_tiny(m2, seed=1)  # new weights in the same folder
    assert export.model_folder_hash(m2) != h0
    capsys.readouterr()
    assert main(["export", "--from-sidecar", str(side), "--out", str(tmp_path / "x.svg")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "changed" in err and "--force" in err
    assert not (tmp_path / "x.svg").exists()
    assert main(["export", "--from-sidecar", str(side), "--out", str(tmp_path / "x.svg"), "--force"]) == 0
    assert "warning:" in capsys.readouterr().err
    # the new sidecar records the new hash
    assert json.loads(export.sidecar_path(tmp_path / "x.svg").read_text())["model"]["hash"] == export.model_folder_hash(m2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(export.ModelChangedError):
            export.remake(side)


def test_the_tokenizer_is_part_of_the_model_hash(tmp_path, model):
    import shutil

    m = tmp_path / "m"
    shutil.copytree(model, m)
    h = export.model_folder_hash(m)
    (m / "README.md").write_text("notes")  # not part of the model
    assert export.model_folder_hash(m) == h
    tok = json.loads((m / "tokenizer.json").read_text())
    tok["added_tokens"] = list(tok.get("added_tokens", []))
    (m / "tokenizer.json").write_text(json.dumps(tok, indent=1))
    assert export.model_folder_hash(m) != h


def test_cli_errors_are_clear(tmp_path, model, capsys):
    assert main(["export", "--model", str(model), "--out", str(tmp_path / "a.svg")]) == 2
    assert "--text" in capsys.readouterr().err
    assert main(["export", "--model", str(model), "--text", TEXT, "--panel", "grid", "--format", "tex",
                 "--out", str(tmp_path / "a.tex")]) == 2
    assert "heatmaps only" in capsys.readouterr().err
    assert main(["export", "--model", str(model), "--text", TEXT, "--out", str(tmp_path / "a.docx")]) == 2
    assert "unknown format" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["export", "--from-sidecar", str(bad)]) == 2
    assert "not an Interp Studio figure sidecar" in capsys.readouterr().err
    assert main(["export", "--from-sidecar", str(tmp_path / "none.json")]) == 2
    assert not [p for p in os.listdir(tmp_path) if p.endswith((".svg", ".tex", ".docx"))]


def test_tex_export_and_export_all(tmp_path, model):
    from interp_engine.engine import Engine

    assert main(["export", "--model", str(model), "--text", TEXT + " 100%", "--out", str(tmp_path / "h.tex")]) == 0
    tex = (tmp_path / "h.tex").read_text()
    eng = Engine("cpu")
    eng.load_model(model)
    n = len(eng.attribute(TEXT + " 100%", "grad").tokens)  # our word tokenizer splits "100" and "%"
    assert tex.count("\\colorbox") == n and "{\\strut \\%}" in tex
    res = {"heatmap": eng.attribute(TEXT, "grad"), "grid": eng.hidden_saliency(TEXT)}
    paths = export.export_all(res, tmp_path, "s1", fmt="tex", provenance=export.Provenance(model_path=str(model)))
    assert [p.name for p in paths] == ["s1_heatmap.tex", "s1_grid.pdf"]
    assert all(export.sidecar_path(p).is_file() for p in paths)


def test_sidecar_style_roundtrip():
    st = FigureStyle(palette="greyscale", width=5.1, font_family="DejaVu Serif", font_size=9.5, colorbar=False)
    assert FigureStyle.from_json(json.loads(json.dumps(st.to_json()))) == st
    assert io  # noqa: B018


def test_deletion_curves_export_and_remake(tmp_path, model, capsys):
    out = tmp_path / "del.svg"
    assert main(["export", "--model", str(model), "--text", TEXT, "--panel", "deletion", "--methods",
                 "grad,unk,marginalization", "--strategy", "zero", "--x-max", "0.5", "--out", str(out)]) == 0
    meta = json.loads(export.sidecar_path(out).read_text())
    assert meta["panel"] == "deletion" and meta["method"] == ["grad", "unk", "marginalization"]
    assert meta["request"]["type"] == "deletion_curves"
    assert meta["request"]["deletion"]["strategy"] == "zero" and meta["request"]["deletion"]["x_max"] == 0.5
    # marginalization's settings travel with the request
    assert meta["request"]["configs"]["marginalization"]["likelihood"] == "uniform"
    assert meta["parameters"]["strategy"] == "zero" and meta["parameters"]["likelihood"] == "uniform"
    assert "AUC@50%" in out.read_text()  # the area up to x_max (AUC_rep is the one at 20%)
    again = tmp_path / "again.svg"
    export.remake(export.sidecar_path(out), again)
    assert again.read_bytes() == out.read_bytes()
    capsys.readouterr()
    assert main(["export", "--model", str(model), "--text", TEXT, "--out", str(tmp_path / "no" / "x.pdf")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_neighbour_scatter_export_and_remake(tmp_path, model):
    from interp_engine.engine import Engine

    eng = Engine("cpu")
    eng.load_model(model)
    if not hasattr(eng, "neighbour_scatter"):
        pytest.skip("this build has no neighbour scatter")
    res = eng.neighbour_scatter(TEXT, steps=20, k=5, projection="pca")
    out, side = export.export_figure(res, tmp_path / "sc.svg", provenance=export.Provenance(model_path=str(model)))
    meta = json.loads(side.read_text())
    assert meta["panel"] == "scatter" and meta["request"]["type"] == "neighbours"
    assert meta["request"]["optimization"]["steps"] == 20 and meta["request"]["neighbours"]["k"] == 5
    assert meta["parameters"]["steps"] == 20 and meta["parameters"]["k"] == 5 and meta["parameters"]["vectors"] == "model"
    assert meta["request"]["locations"] == [[loc.layer, loc.position] for loc in res.locations]
    assert res.locations[0].words[0] in out.read_text()
    again, _ = export.remake(side, tmp_path / "again.svg")
    assert again.read_bytes() == out.read_bytes()


# -- one content hash (interp_engine.hashing) ------------------------------------------------
def _reference_folder_hash(folder) -> str:
    """The sidecar hash as sidecars written since SIDECAR_VERSION 1 record it (reference
    implementation: must not change, or old sidecars stop validating)."""
    import hashlib
    from pathlib import Path

    h = hashlib.sha256()
    suffixes = {".safetensors", ".bin", ".json", ".txt", ".model", ".vocab", ".merges", ".pt", ".pth"}
    for f in sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix in suffixes):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def test_classifier_content_hash_is_the_sidecar_hash(tmp_path, model):
    from interp_engine import hashing
    from interp_engine.engine import Engine
    from interp_engine.models import load_classifier

    h = export.model_folder_hash(model)
    assert export.model_folder_hash is hashing.model_folder_hash  # one definition, re-exported
    assert h == _reference_folder_hash(model) and len(h) == 64
    assert load_classifier(model, device="cpu").content_hash == h
    assert Engine("cpu").load_model(model).content_hash == h  # what the app's ModelInfo carries
    # a fixed folder: the value (computed with the pre-unification export.model_folder_hash) is pinned
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    (fixed / "config.json").write_bytes(b'{"a": 1}')
    (fixed / "model.safetensors").write_bytes(bytes(range(256)))
    (fixed / "notes.md").write_text("not part of the model")
    assert export.model_folder_hash(fixed) == _reference_folder_hash(fixed)
    assert export.model_folder_hash(fixed) == "598fe78be31f754283d7555ae2d564f283f1bbeee0666236713b74db711ca150"


def test_an_older_sidecar_still_validates_and_remake_records_the_same_hash(tmp_path, model):
    out = tmp_path / "h.svg"
    assert main(["export", "--model", str(model), "--text", TEXT, "--out", str(out)]) == 0
    side = export.sidecar_path(out)
    meta = json.loads(side.read_text())
    # a sidecar of the earlier code: the hash computed by the reference implementation
    assert meta["model"]["hash"] == _reference_folder_hash(model)
    again, side2 = export.remake(side, tmp_path / "again.svg")
    assert again.read_bytes() == out.read_bytes()
    assert json.loads(side2.read_text())["model"]["hash"] == meta["model"]["hash"]


def test_a_model_built_in_memory_hashes_its_weights():
    from interp_engine.models import Classifier, TextCNNConfig, TextCNNForSequenceClassification
    from tests.helpers import tiny_tokenizer

    tok = tiny_tokenizer()
    m = TextCNNForSequenceClassification(TextCNNConfig(vocab_size=len(tok), embedding_dim=8, conv_channels=[4],
                                                       kernel_size=3, num_labels=2, max_seq_length=32))
    a = Classifier(m, tok, device="cpu").content_hash
    b = Classifier(m, tok, device="cpu").content_hash
    assert a == b and len(a) == 64
    with __import__("torch").no_grad():
        next(m.parameters()).add_(1.0)
    assert Classifier(m, tok, device="cpu").content_hash != a
