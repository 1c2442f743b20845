"""Adding an attribution method is one class and one registry line: a registered toy method
appears in the GUI's method list (and the deletion dock's legend), the CLI's ``--method``
choices and is accepted by ``evaluate --methods``."""
from __future__ import annotations

import json

import pytest

from interp_engine.attribution import registry
from interp_engine.attribution.gradient import Gradient
from tests.helpers import save_tiny


class ToyMethod(Gradient):
    """The gradient under another name (a plug-in for this test)."""

    name = "toy_method"
    label = "Toy method"
    short_label = "Toy"


@pytest.fixture
def toy():
    registry.register(ToyMethod)
    yield ToyMethod
    registry.unregister(ToyMethod.name)


def test_toy_method_in_the_gui_method_list(qtbot, toy):
    from desktop_app.main_window import attribution_methods
    from desktop_app.panels.heatmap import SentenceHeatmapPanel

    methods = attribution_methods()
    assert "toy_method" in methods
    panel = SentenceHeatmapPanel(methods)
    qtbot.addWidget(panel)
    items = [panel.method_combo.itemText(i) for i in range(panel.method_combo.count())]
    assert any(t.startswith("Toy method") for t in items), items
    panel.set_method("toy_method")
    assert panel.method() == "toy_method"


def test_toy_method_in_the_cli_choices_and_evaluate(toy, tmp_path, capsys):
    from interp_engine import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    method = next(a for a in sub["attribute"]._actions if a.dest == "method")
    assert "toy_method" in (method.choices or ()) or "toy_method" in method.help
    model = save_tiny(tmp_path / "m")
    data = tmp_path / "d.tsv"
    data.write_text("label\ttext\n1\ta good film\n0\ta bad film , not good\n", encoding="utf-8")
    rc = cli.main(["evaluate", "--model", str(model), "--data", str(data), "--metric", "auc_rep", "--strategy", "zero",
                   "--methods", "toy_method,grad", "--device", "cpu", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and set(out["methods"]) == {"toy_method", "grad"}
    # same scores as the gradient it is built on: the same areas
    assert out["methods"]["toy_method"]["mean"] == pytest.approx(out["methods"]["grad"]["mean"])


def test_unregistered_method_is_gone_everywhere(tmp_path, capsys):
    from desktop_app.main_window import attribution_methods
    from interp_engine import cli

    assert "toy_method" not in attribution_methods()
    model = save_tiny(tmp_path / "m")
    rc = cli.main(["attribute", "--model", str(model), "--text", "a good film", "--method", "toy_method",
                   "--device", "cpu", "--json"])
    assert rc == 2 and "unknown attribution method 'toy_method'" in capsys.readouterr().err
