"""Settings forms generated from a method's config dataclass."""
from __future__ import annotations

import dataclasses

from desktop_app.panels.method_settings import MarginalizationForm, MethodSettingsForm, editable_fields
from interp_engine.config import IntegratedGradientsConfig, LimeConfig, MarginalizationConfig


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    alpha: float = 0.25
    count: int = 7
    limit: int | None = None
    flag: bool = True
    chunk_size: int = 99  # speed only: no editor


def test_editors_follow_the_fields_and_their_defaults(qtbot):
    f = MethodSettingsForm(ToyConfig)
    qtbot.addWidget(f)
    assert list(f.editors) == ["alpha", "count", "limit", "flag"]
    assert f.config() == ToyConfig()
    assert f.editors["alpha"].text() == "0.25" and f.editors["count"].value() == 7
    assert not f.checks["limit"].isChecked() and not f.editors["limit"].isEnabled()
    with qtbot.waitSignal(f.sigChanged):
        f.set_value("limit", 12)
    f.set_value("flag", False)
    f.editors["alpha"].setText("-1")  # refused: the old value stays
    f.editors["alpha"].editingFinished.emit()
    assert f.config() == ToyConfig(limit=12, flag=False)
    f.set_config(ToyConfig(alpha=0.5, count=3))
    assert f.config() == ToyConfig(alpha=0.5, count=3)


def test_the_engine_configs(qtbot):
    assert [x.name for x in editable_fields(MarginalizationConfig)] == ["likelihood", "sigma", "top_n"]
    assert [x.name for x in editable_fields(IntegratedGradientsConfig)] == ["n_steps"]
    assert [x.name for x in editable_fields(LimeConfig)] == ["n_samples", "kernel_width", "num_features", "seed"]
    lime = MethodSettingsForm(LimeConfig)
    qtbot.addWidget(lime)
    assert lime.config() == LimeConfig() and lime.editors["seed"].minimum() == 0
    form = MarginalizationForm()
    qtbot.addWidget(form)
    # the config says "mlm", but no masked LM is open yet: the form falls back to uniform
    assert form.settings() == MarginalizationConfig(likelihood="uniform")
    form.set_likelihood_available("mlm", True)
    assert form.set_likelihood("mlm") and form.settings() == MarginalizationConfig()
