"""The CLI's options: every one has a help text, defaults come from the configs, the flags that
open a model or a dataset are the same everywhere, method choices come from the registry (read
when the parser is built), and the README's command-line block shows the real defaults."""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from interp_engine import config
from interp_engine.attribution import registry
from interp_engine.attribution.gradient import Gradient
from interp_engine.cli import SUBCOMMANDS, build_parser, main
from interp_engine.finetune import FineTuneConfig
from interp_engine.mlm import PretrainedMLMConfig
from interp_engine.config import (
    DEVICES,
    ActivationMaximizationConfig,
    AttributionConfig,
    DatasetConfig,
    DeletionConfig,
    EvaluateConfig,
    HiddenConfig,
    MarginalizationConfig,
    MatchingRateConfig,
    NeighbourConfig,
    OptimizationConfig,
    SearchConfig,
)
from interp_engine.mlm import MLMConfig
from interp_engine.training import TrainConfig
from tests.helpers import TINY_TEXTS, save_tiny

README = Path(__file__).resolve().parents[2] / "README.md"


def _subparsers(parser=None) -> dict[str, argparse.ArgumentParser]:
    parser = parser or build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _options(p: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in p._actions for s in a.option_strings}


def _flat(text: str) -> str:
    return "".join(text.split())


def test_every_subcommand_is_in_the_parser():
    assert set(_subparsers()) == set(SUBCOMMANDS)


def test_every_option_of_every_subcommand_has_a_help_text():
    for name, p in _subparsers().items():
        for a in p._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            assert a.help and a.help.strip() and a.help is not argparse.SUPPRESS, (name, a.option_strings)
        p.format_help()  # every help string formats (a stray % would raise here)


def test_every_printed_default_is_the_value_the_option_has():
    for name, p in _subparsers().items():
        text = _flat(p.format_help())
        assert "MLMConfig." not in text and "TrainConfig." not in text, name
        for a in p._actions:
            if a.default in (None, False, argparse.SUPPRESS) or isinstance(a, argparse._HelpAction):
                continue
            assert f"(default:{_flat(str(a.default))})" in text, (name, a.option_strings, a.default)


@pytest.mark.parametrize("command, flag, ours, pretrained", [
    ("train", "--epochs", TrainConfig.epochs, FineTuneConfig.epochs),
    ("train", "--batch-size", TrainConfig.batch_size, FineTuneConfig.batch_size),
    ("train", "--lr", TrainConfig.lr, FineTuneConfig.lr),
    ("train-mlm", "--epochs", MLMConfig.epochs, PretrainedMLMConfig.epochs),
    ("train-mlm", "--batch-size", MLMConfig.batch_size, PretrainedMLMConfig.batch_size),
    ("train-mlm", "--lr", MLMConfig.lr, PretrainedMLMConfig.lr),
])
def test_per_kind_defaults_are_both_printed_and_used(command, flag, ours, pretrained, monkeypatch):
    """Options whose default depends on --arch transformer / --init: the parser leaves them None and
    the help names both configs' values; the command fills in the config's own default."""
    a = _options(_subparsers()[command])[flag]
    assert a.default is None
    text = _flat(a.help)
    assert _flat(str(ours)) in text and _flat(str(pretrained)) in text


def test_train_commands_fill_in_their_own_configs_defaults(tmp_path, monkeypatch):
    import interp_engine.finetune as finetune
    import interp_engine.mlm as mlm
    import interp_engine.training as training

    seen = {}

    class Stop(Exception):
        pass

    def capture(name):
        def f(*args, config=None, **kw):
            seen[name] = config
            raise Stop
        return f

    monkeypatch.setattr(training, "train_classifier", capture("ours"))
    monkeypatch.setattr(finetune, "fine_tune", capture("transformer"))
    monkeypatch.setattr(mlm, "train_mlm", capture("mlm"))
    data = tmp_path / "d.tsv"
    data.write_text("label\ttext\n0\ta b\n1\tc d\n", encoding="utf-8")
    for argv in (["train", "--data", str(data), "--out", str(tmp_path / "o")],
                 ["train", "--arch", "transformer", "--init", str(tmp_path), "--data", str(data), "--out", str(tmp_path / "o")],
                 ["train-mlm", "--init", str(tmp_path), "--data", str(data), "--out", str(tmp_path / "o")]):
        with pytest.raises(Stop):
            main(argv + ["--debug"])
    assert (seen["ours"].epochs, seen["ours"].lr, seen["ours"].batch_size) == (TrainConfig.epochs, TrainConfig.lr, TrainConfig.batch_size)
    t = seen["transformer"]
    assert (t.epochs, t.lr, t.batch_size) == (FineTuneConfig.epochs, FineTuneConfig.lr, FineTuneConfig.batch_size)
    m = seen["mlm"]
    assert type(m) is PretrainedMLMConfig and (m.epochs, m.lr) == (PretrainedMLMConfig.epochs, PretrainedMLMConfig.lr)


@pytest.mark.parametrize("command, flag, expected", [
    ("train", "--arch", TrainConfig.arch),
    ("train", "--seed", TrainConfig.seed), ("train", "--threads", TrainConfig.threads),
    ("train", "--warmup", FineTuneConfig.warmup_fraction),
    ("train-mlm", "--seed", MLMConfig.seed),
    ("train-mlm", "--hidden-size", MLMConfig.hidden_size), ("train-mlm", "--layers", MLMConfig.num_layers),
    ("train-mlm", "--heads", MLMConfig.num_heads), ("train-mlm", "--mask-prob", MLMConfig.mask_prob),
    ("train-mlm", "--head-lr", PretrainedMLMConfig.head_lr),
    ("attribute", "--method", AttributionConfig.method), ("attribute", "--likelihood", MarginalizationConfig.likelihood),
    ("attribute", "--sigma", MarginalizationConfig.sigma),
    ("hidden", "--top", HiddenConfig.top), ("hidden", "--lambda1", OptimizationConfig.lambda1),
    ("hidden", "--lambda2", OptimizationConfig.lambda2), ("hidden", "--steps", OptimizationConfig.steps),
    ("hidden", "--lr", OptimizationConfig.lr), ("hidden", "--projection", NeighbourConfig.projection),
    ("hidden", "--perplexity", NeighbourConfig.perplexity), ("hidden", "--layers", str(NeighbourConfig.layer)),
    ("search", "--mode", SearchConfig.mode), ("search", "--class", SearchConfig.chosen_class),
    ("evaluate", "--methods", ",".join(EvaluateConfig.methods)), ("evaluate", "--seed", EvaluateConfig.seed),
    ("evaluate", "--x-max", DeletionConfig.x_max), ("evaluate", "--batch-size", EvaluateConfig.batch_size),
    ("evaluate", "--sigma", MarginalizationConfig.sigma), ("evaluate", "--k", MatchingRateConfig.k),
    ("evaluate", "--m", MatchingRateConfig.m), ("evaluate", "--layer", MatchingRateConfig.layer),
    ("evaluate", "--lambda1", OptimizationConfig.lambda1), ("evaluate", "--opt-lr", OptimizationConfig.lr),
    ("export", "--methods", ",".join(AttributionConfig.export_methods)), ("export", "--x-max", DeletionConfig.x_max),
    ("export", "--top", HiddenConfig.top), ("export", "--mode", SearchConfig.mode),
])
def test_defaults_come_from_the_configs(command, flag, expected):
    a = _options(_subparsers()[command])[flag]
    assert a.default == expected and type(a.default) is type(expected)


def test_defaults_that_depend_on_the_mode_are_named_in_the_help():
    h = _options(_subparsers()["hidden"])
    assert f"default: {NeighbourConfig.k}" in h["--k"].help and f"default {ActivationMaximizationConfig.k}" in h["--k"].help
    s = _options(_subparsers()["search"])
    assert str(SearchConfig.printed) in s["--limit"].help and str(config.SimilarityConfig.k) in s["--limit"].help
    train = _subparsers()["train"].format_help()
    assert "word2vec" in _options(_subparsers()["train"])["--vectors"].help and "training" in train


def test_device_choices_are_the_same_everywhere():
    from desktop_app.__main__ import build_parser as gui_parser

    for name, p in _subparsers().items():
        a = _options(p)["--device"]
        assert tuple(a.choices) == DEVICES and a.default == DEVICES[0], name
    assert tuple(_options(gui_parser())["--device"].choices) == DEVICES


def test_model_and_dataset_flags_are_the_same_wherever_one_is_opened():
    seen_data = seen_model = 0
    for name, p in _subparsers().items():
        opts = _options(p)
        if "--data" in opts:
            seen_data += 1
            for flag, default in (("--encoding", DatasetConfig.encoding), ("--text-column", DatasetConfig.text_column),
                                  ("--label-column", DatasetConfig.label_column)):
                assert opts[flag].default == default, (name, flag)
        if "--model" in opts:
            seen_model += 1
            assert "--allow-pickle" in opts, name
    assert seen_data == 7 and seen_model == 7  # all but hidden open a dataset; all but train a model
    from desktop_app.__main__ import build_parser as gui_parser

    g = _options(gui_parser())
    assert (g["--encoding"].default, g["--text-column"].default, g["--label-column"].default) == \
        (DatasetConfig.encoding, DatasetConfig.text_column, DatasetConfig.label_column)
    assert AttributionConfig.gui_method in g["--method"].help


class ToyGradient(Gradient):
    name = "toy_cli"
    label = "Toy gradient"
    short_label = "Toy"
    description = "a test plug-in"


@pytest.fixture
def toy_method():
    registry.register(ToyGradient)
    try:
        yield ToyGradient.name
    finally:
        registry.unregister(ToyGradient.name)


def test_a_registered_method_is_offered_and_accepted(toy_method, tmp_path, capsys):
    from desktop_app.__main__ import build_parser as gui_parser

    subs = _subparsers()
    assert toy_method in _options(subs["attribute"])["--method"].choices
    assert toy_method in _options(subs["attribute"])["--method"].help
    assert toy_method in _options(subs["evaluate"])["--methods"].help
    assert toy_method in _options(gui_parser())["--method"].help
    model = save_tiny(tmp_path / "m")
    data = tmp_path / "d.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS)), encoding="utf-8")
    rc = main(["evaluate", "--model", str(model), "--data", str(data), "--metric", "auc_rep", "--strategy", "zero",
               "--methods", f"{toy_method},grad", "--n", "3", "--json", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    rep = json.loads(out.strip().splitlines()[-1])
    assert set(rep["methods"]) == {toy_method, "grad"} and rep["methods"][toy_method]["n"] == 3
    # a subclass of Gradient: the same scores, hence the same area
    assert rep["methods"][toy_method]["mean"] == pytest.approx(rep["methods"]["grad"]["mean"])
    assert main(["attribute", "--model", str(model), "--text", "a good film", "--method", toy_method, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["method"] == toy_method


def test_an_unregistered_method_is_gone_and_refused_with_a_message(capsys, tmp_path):
    registry.register(ToyGradient)
    registry.unregister(ToyGradient.name)
    assert ToyGradient.name not in tuple(_options(_subparsers()["attribute"])["--method"].choices)
    model = save_tiny(tmp_path / "m")
    assert main(["attribute", "--model", str(model), "--text", "a good film", "--method", ToyGradient.name]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "unknown attribution method" in err


def _readme_commands() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    block = text.split("## Command line", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands, current = [], ""
    for line in block.splitlines():
        current += " " + line.split("#", 1)[0].rstrip().rstrip("\\")
        if not line.rstrip().endswith("\\"):
            if current.strip():
                commands.append(current.strip())
            current = ""
    return [(c.split()[1], c) for c in commands if len(c.split()) > 1 and c.split()[1] in SUBCOMMANDS]


def test_the_readme_lists_every_subcommand_with_the_real_defaults():
    cmds = _readme_commands()
    assert {name for name, _ in cmds} == set(SUBCOMMANDS)  # search included
    subs = _subparsers()
    checked = 0
    for name, line in cmds:
        opts = _options(subs[name])
        for flag, value in re.findall(r"\[(--[a-z0-9-]+) ([0-9][0-9.e:-]*)\b", line) + \
                re.findall(r" (--lambda2) ([0-9.]+)\]", line):
            assert flag in opts, (name, flag)
            default = opts[flag].default
            if default is None:  # mode-dependent defaults (search --limit, hidden --k, --seed)
                continue
            if ":" in value:
                assert value == default, (name, flag, value, default)
            else:
                assert float(value) == float(default), (name, flag, value, default)
            checked += 1
        for flag in re.findall(r"(--[a-z][a-z0-9-]*)", line):
            assert flag in opts, (name, flag)
    assert checked > 30
