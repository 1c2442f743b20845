"""The figures package: render / panel_of dispatch on the result type (results of Engine.run
included), method names come from the attribution registry, and the one palette is what the
app's colours convert."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from interp_engine import figures
from interp_engine.attribution import registry
from interp_engine.config import DeletionConfig, NeighbourConfig, OptimizationConfig
from interp_engine.engine import Engine
from interp_engine.figures import palette, panel_of, render
from interp_engine.requests import (
    AttributionRequest,
    CompareRequest,
    DeletionCurvesRequest,
    HiddenSaliencyRequest,
    NeighbourScatterRequest,
    SearchRequest,
)
from tests.app.factories import attribution
from tests.helpers import TINY_TEXTS, save_tiny

TEXT = "a good film with great acting"


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    root = tmp_path_factory.mktemp("figpkg")
    e = Engine("cpu")
    e.load_model(save_tiny(root / "cnn"))
    data = root / "data.tsv"
    data.write_text("label\ttext\n" + "".join(f"{i % 2}\t{t}\n" for i, t in enumerate(TINY_TEXTS)), encoding="utf-8")
    e.load_dataset(data)
    return e


def test_panel_of_results_from_engine_run(eng):
    cases = [
        (AttributionRequest(text=TEXT, method="grad"), "heatmap"),
        (CompareRequest(text=TEXT, methods=("grad", "unk")), "heatmap"),
        (HiddenSaliencyRequest(text=TEXT), "grid"),
        (SearchRequest(query="good"), "search"),
        (DeletionCurvesRequest(text=TEXT, methods=("grad",), deletion=DeletionConfig(strategy="zero")), "deletion"),
        (NeighbourScatterRequest(text=TEXT, locations=((0, 1),), neighbours=NeighbourConfig(k=3, projection="pca"),
                                 optimization=OptimizationConfig(steps=5)), "scatter"),
    ]
    for req, kind in cases:
        res = eng.run(req)
        assert panel_of(res) == kind, type(req).__name__
        fig = render(res)
        assert fig._interp_meta["kind"] == kind


def test_dispatch_is_by_type_not_by_attribute_names():
    duck = SimpleNamespace(p_deletion=np.zeros((1, 3)), x=np.linspace(0, 0.2, 3), methods=("grad",), auc=[0.1])
    with pytest.raises(ValueError, match="no figure for a SimpleNamespace"):
        panel_of(duck)
    with pytest.raises(ValueError, match="no figure for"):
        render(SimpleNamespace(method="grad", tokens=("a",), scores=[1.0], units="u"))
    with pytest.raises(ValueError, match="no figure for a list of TokenAttribution, int"):
        panel_of([attribution(), 3])
    with pytest.raises(ValueError, match="no figure for"):
        panel_of(())
    assert set(figures.PANEL_TYPES) == {"heatmap", "grid", "search", "deletion", "scatter", "sanity", "activation",
                                       "evaluation"}


def test_method_names_come_from_the_registry():
    for name in registry.names():
        assert figures.method_label(name) == registry.label(name)
    assert figures.method_label("my_new_method") == registry.label("my_new_method") == "My new method"
    rows = [attribution(method="integrated_gradients"), attribution(method="unk")]
    texts = [t.get_text() for t in figures.heatmap_figure(rows).axes[0].texts]
    assert any(t.startswith("Integrated gradients [") for t in texts) and any(t.startswith("Erasure ([UNK]) [") for t in texts)
    assert "% Integrated gradients, Erasure ([UNK])" in figures.heatmap_latex(rows)


def test_one_palette():
    assert np.array_equal(palette.PAPER_STOPS * 255.0, palette.DIVERGING_STOPS)
    assert figures.MARK_COLORS == ("#e60000", "#003ceb", "#00a528") == tuple(palette.hex_color(c) for c in palette.MARK_RGB)
    assert palette.SCATTER_COLORS["paper"] == figures.MARK_COLORS
    # the figures' colour map runs through the same stops as the screen's linear scale
    ends = figures.score_rgb(np.array([-1.0, 0.0, 1.0]), 1.0)
    np.testing.assert_allclose(ends * 255, palette.diverging_rgb(np.array([-1.0, 0.0, 1.0]), 1.0), atol=1e-9)
    assert figures.text_color_on((0.1, 0.1, 0.1)) == "white" and figures.text_color_on((1, 1, 1)) == palette.DARK_TEXT


def test_the_app_colours_convert_the_palette():
    pytest.importorskip("PySide6")
    from desktop_app import colors

    assert colors.DIVERGING_STOPS is palette.DIVERGING_STOPS
    assert [c.getRgb()[:3] for c in colors.MARK_COLORS] == list(palette.MARK_RGB)
    assert colors.SPECIAL_FILL.getRgb()[:3] == palette.SPECIAL_FILL_RGB
    assert colors.SPECIAL_TEXT.getRgb()[:3] == palette.SPECIAL_TEXT_RGB
    assert colors.OTHER_MARK_COLOR.getRgb()[:3] == palette.OTHER_MARK_RGB
    assert colors.MARK_COLOR_NAMES == palette.MARK_COLOR_NAMES
    assert [c.name() for c in colors.CURVE_COLORS] == [h.lower() for h in palette.SCREEN_CURVE_COLORS]
    assert [c.name() for c in colors.GOLD_COLORS] == list(palette.SCREEN_GOLD_COLORS)
    assert [c.getRgb()[:3] for c in colors.EXTRA_MARK_COLORS] == list(palette.EXTRA_MARK_RGB)
    assert (colors.POSITIVE_HEX, colors.NEGATIVE_HEX) == ("#b2182b", "#2166ac")
    assert colors.text_color_on(colors.diverging_qcolor(-1.0, 1.0)).getRgb()[:3] == palette.LIGHT_TEXT_RGB
    assert colors.text_color_on(colors.diverging_qcolor(0.0, 1.0)).getRgb()[:3] == palette.DARK_TEXT_RGB


def test_no_figure_module_is_over_500_lines():
    pkg = Path(figures.__file__).parent
    mods = sorted(pkg.glob("*.py"))
    assert {m.stem for m in mods} >= {"__init__", "heatmap", "grid", "scatter", "deletion", "search", "style", "palette"}
    for m in mods:
        assert len(m.read_text(encoding="utf-8").splitlines()) <= 500, m.name
