"""Paper figures (interp_engine.figures / export.encode) from hand-built results: the shared colour
scale of method rows, wrapping, vector text in SVG and PDF, PNG resolution, LaTeX, styles, and
every panel's figure (heatmap, grid, search histogram, deletion curves, neighbour scatter)."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from interp_engine.export import encode, figure_bytes
from interp_engine.figures import (
    FigureStyle,
    deletion_curve_figure,
    heatmap_figure,
    heatmap_latex,
    heatmap_layout,
    panel_of,
    saliency_grid_figure,
    scatter_figure,
    score_rgb,
    search_histogram_figure,
)
from interp_engine.results import DeletionCurves, LocationNeighbours, NeighbourScatter, TokenSearchResult
from tests.app.factories import attribution, prediction, saliency

TOKENS = ("[CLS]", "the", "acting", "was", "superb", "but", "plot", "thin", "[SEP]")
SPECIAL = [True] + [False] * 7 + [True]


def rows():
    a = attribution(TOKENS, [0, 0.5, 2.0, -0.1, 3.0, -1.0, 0.2, -2.5, 0], special=SPECIAL, method="marginalization")
    b = attribution(TOKENS, [0, 0.1, 0.2, 0.0, 0.3, -0.2, 0.05, -0.1, 0], special=SPECIAL, method="grad_input")
    c = attribution(TOKENS, [0, 6.0, 1.0, 0.0, 0.5, -0.5, 0.1, -4.0, 0], special=SPECIAL, method="unk")
    return [a, b, c]


def svg_texts(data: bytes) -> list[str]:
    root = ET.fromstring(data)
    return [("".join(el.itertext())) for el in root.iter() if el.tag.endswith("}text")]


def search_result(hist=((0, 2, 1, 0), (1, 0, 3, 4))) -> TokenSearchResult:
    H = np.asarray(hist, np.int64)
    n = int(H.sum())
    z = np.zeros(0, np.int64)
    return TokenSearchResult(
        query="superb", query_tokens=("superb",), mode="phrase", n_matches=n, rows=z, texts=(),
        token_span=np.zeros((0, 2), np.int64), char_span=np.zeros((0, 2), np.int64), gold=z, predicted=z,
        p_class=np.zeros(0), class_names=("negative", "positive"), chosen_class=1,
        counts_gold=H.sum(1), counts_predicted=np.array([3, n - 3]), hist_edges=np.linspace(0, 1, H.shape[1] + 1),
        hist_counts=H)


def deletion_result() -> DeletionCurves:
    x = np.linspace(0, 0.2, 5)
    P = np.array([[0.9, 0.7, 0.5, 0.4, 0.3], [0.9, 0.85, 0.8, 0.7, 0.6]])
    return DeletionCurves(text="t", tokens=TOKENS, methods=("marginalization", "grad"), strategy="mlm", target=1,
                          class_names=("negative", "positive"), x=x, p_deletion=P, auc=np.array([0.512, 0.781]),
                          x_max=0.2, order=np.zeros((2, 7), np.int64), replacements=(("a",), ("b",)), p_original=0.9,
                          n_words=7)


def scatter_result() -> NeighbourScatter:
    rng = np.random.default_rng(0)
    locs = tuple(LocationNeighbours(
        layer=r, layer_name=f"conv{r + 1}", position=2 + r, rank=r, saliency=1.0, receptive_field=(1, 3),
        x_overall=np.zeros(4, np.float32), words=tuple(f"word{r}{i}" for i in range(6)), word_ids=np.arange(6),
        similarities=np.linspace(0.9, 0.4, 6), coords=rng.normal(size=(6, 2)), target_coords=np.zeros(2),
        objective_trace=np.zeros(3)) for r in range(2))
    return NeighbourScatter(text="t", tokens=TOKENS, layer_names=("conv1", "conv2"), locations=locs, projection="tsne",
                            params={}, receptive_field_note="", target=1, prediction=prediction())


# -- the heatmap -----------------------------------------------------------------------------
def test_method_rows_share_one_colour_scale():
    rs = rows()
    fig = heatmap_figure(rs)
    vmax = fig._interp_meta["vmax"]
    assert vmax == 6.0  # max |score| over all rows, special tokens excluded
    ax = fig.axes[0]
    # each token box is drawn in the colour of its score on the shared scale, in every row
    fills = [tuple(np.round(p.get_facecolor()[:3], 6)) for p in ax.patches]
    lay = heatmap_layout(rs, FigureStyle(), [f"r{i}" for i in range(3)])
    assert len(fills) == len(lay["boxes"]) == 3 * len(TOKENS)
    for b, fill in zip(lay["boxes"], fills):
        if not SPECIAL[b.col]:
            want = tuple(np.round(score_rgb(rs[b.row].scores[b.col], vmax), 6))
            assert fill == pytest.approx(want, abs=1e-6)
    # the same score gets the same colour in two rows; one row alone uses its own max
    assert fill_of(rs, 0, 4) != fill_of([rs[0]], 0, 4)
    assert heatmap_figure(rs[1])._interp_meta["vmax"] == pytest.approx(0.3)


def fill_of(results, row, col):
    fig = heatmap_figure(results)
    n = len(results[0].tokens)
    order = [(b.row, b.col) for b in heatmap_layout(results, FigureStyle(), ["x"] * len(results) if len(results) > 1 else None)["boxes"]]
    return tuple(fig.axes[0].patches[order.index((row, col))].get_facecolor()[:3]) if n else None


def test_rows_must_explain_the_same_tokens():
    with pytest.raises(ValueError, match="same tokens"):
        heatmap_figure([attribution(("a", "b"), (1, 2)), attribution(("a", "c"), (1, 2))])
    with pytest.raises(ValueError):
        heatmap_figure([])


def test_tokens_wrap_within_the_column_width():
    long = attribution(tuple(f"token{i}" for i in range(40)), np.linspace(-1, 1, 40))
    one = heatmap_layout([long], FigureStyle(width="double"))
    narrow = heatmap_layout([long], FigureStyle(width="single"))
    lines = lambda lay: len({b.y for b in lay["boxes"]})  # noqa: E731
    assert lines(narrow) > lines(one) > 1
    for lay, w in ((narrow, 3.3), (one, 6.9)):
        assert max(b.x + b.w for b in lay["boxes"]) <= w * 72
    # the figures get the preset widths, and height grows with the lines
    f1, f2 = heatmap_figure(long, FigureStyle(width="single")), heatmap_figure(long, FigureStyle(width="double"))
    assert f1.get_figwidth() == 3.3 and f2.get_figwidth() == 6.9
    assert f1.get_figheight() > f2.get_figheight()
    assert FigureStyle(width=4.5).width_in == 4.5
    with pytest.raises(ValueError):
        FigureStyle(width="triple")
    with pytest.raises(ValueError):
        FigureStyle(palette="rainbow")


def test_svg_keeps_tokens_as_text_and_pdf_embeds_fonts():
    rs = rows()
    svg = encode(rs, "svg")
    texts = svg_texts(svg)
    for tok in TOKENS:
        assert tok in texts, tok
    assert b"<path" in svg and b"glyph" not in svg.lower()  # text as <text>, not outlines
    pdf = encode(rs, "pdf")
    assert pdf.startswith(b"%PDF")
    assert b"/FontFile2" in pdf  # TrueType embedded (pdf.fonttype 42)
    assert b"/Subtype /Type3" not in pdf
    assert b"CreationDate" not in pdf


def test_pdf_text_is_selectable_and_page_renders():
    pdfium = pytest.importorskip("pypdfium2")
    pdf = pdfium.PdfDocument(encode(rows(), "pdf", style=FigureStyle(width="double")))
    page = pdf[0]
    text = page.get_textpage().get_text_range()
    for tok in ("acting", "superb", "plot", "Marginalization"):
        assert tok in text
    img = np.asarray(page.render(scale=2).to_pil().convert("RGB"))
    assert (img < 250).any(axis=2).mean() > 0.05  # something is drawn
    # the strongest positive token is drawn red (paper style): find a saturated red pixel
    r, g, b = img[..., 0].astype(int), img[..., 1].astype(int), img[..., 2].astype(int)
    assert ((r - b > 80) & (r > 150)).sum() > 50 and ((b - r > 80) & (b > 120)).sum() > 50


def test_png_at_the_chosen_dpi():
    from PIL import Image

    for dpi in (100, 300):
        im = Image.open(io.BytesIO(encode(rows()[0], "png", dpi=dpi)))
        assert im.size[0] == round(3.3 * dpi)
        assert abs(im.info["dpi"][0] - dpi) < 0.5
    with pytest.raises(Exception, match="DPI"):
        figure_bytes(heatmap_figure(rows()[0]), "png", dpi=5)


def test_same_result_same_bytes():
    a, b = encode(rows(), "svg"), encode(rows(), "svg")
    assert a == b
    assert encode(rows(), "pdf") == encode(rows(), "pdf")
    assert re.search(rb"<dc:date>", a) is None


def test_latex_one_colorbox_per_token_with_colour_definitions():
    toks = ("50%", "a_b", "{x}", "fine")
    tex = heatmap_latex(attribution(toks, (1.0, -1.0, 0.5, 0.0)))
    assert tex.count("\\colorbox{") == 4
    assert tex.count("\\definecolor{") == 4
    assert "50\\%" in tex and "a\\_b" in tex and "\\{x\\}" in tex
    names = re.findall(r"\\definecolor\{([^}]*)\}", tex)
    assert all(re.fullmatch(r"[a-z]+", n) for n in names)  # valid colour names
    # strongest positive: the paper's dark red; zero: white
    m = re.search(r"\\definecolor\{" + names[0] + r"\}\{rgb\}\{([^}]*)\}", tex)
    r, g, b = (float(v) for v in m.group(1).split(","))
    assert r > 0.6 and b < 0.3
    assert "{1.0000,1.0000,1.0000}" in tex
    # several methods: one line each, one scale
    multi = heatmap_latex(rows())
    assert multi.count("\\colorbox{") == 3 * len(TOKENS) and multi.count("\\par") == 3
    with pytest.raises(Exception, match="heatmaps only"):
        encode(saliency(), "tex")


def test_styles_change_colours_and_greyscale_hatches_negatives():
    a = rows()[0]
    paper = heatmap_figure(a, FigureStyle(palette="paper"))
    cb = heatmap_figure(a, FigureStyle(palette="colorblind"))
    grey = heatmap_figure(a, FigureStyle(palette="greyscale"))
    col = lambda f, i: tuple(f.axes[0].patches[i].get_facecolor()[:3])  # noqa: E731
    assert col(paper, 4) != col(cb, 4)
    r, g, b = col(grey, 4)
    assert r == pytest.approx(g) == pytest.approx(b)  # grey
    hatched = [p.get_hatch() for p in grey.axes[0].patches]
    neg = [i for i, s in enumerate(a.scores) if s < 0 and not SPECIAL[i]]
    assert [i for i, h in enumerate(hatched) if h] == neg
    assert not any(p.get_hatch() for p in paper.axes[0].patches)


def test_fonts_are_configurable():
    fig = heatmap_figure(rows()[0], FigureStyle(font_family="DejaVu Serif", font_size=11))
    t = [x for x in fig.axes[0].texts if x.get_text() == "acting"][0]
    assert t.get_fontsize() == 11
    assert "DejaVu Serif" in t.get_fontfamily() or t.get_fontname() == "DejaVu Serif"
    assert "DejaVu Serif" in encode(rows()[0], "svg", style=FigureStyle(font_family="DejaVu Serif")).decode()


# -- the other panels ------------------------------------------------------------------------
def test_saliency_grid_is_a_vector_mesh_with_marks_and_receptive_fields():
    from matplotlib.collections import QuadMesh
    from matplotlib.patches import Rectangle

    hs = saliency()
    fig = saliency_grid_figure(hs)
    ax = fig.axes[0]
    assert any(isinstance(c, QuadMesh) for c in ax.collections)
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    solid = [p for p in rects if p.get_linestyle() == "solid"]
    dashed = [p for p in rects if p.get_linestyle() != "solid"]
    assert len(solid) == 2 * 3  # top 3 per layer
    assert len(dashed) == 2  # top-1 receptive field per layer
    for r, p in enumerate(dashed):
        a, b = hs.receptive_fields[r, hs.top_locations[r][0]]
        assert p.get_x() == pytest.approx(a - 0.5) and p.get_width() == pytest.approx(b - a + 1)
    f2 = saliency_grid_figure(hs, receptive_fields=[(1, 2)])
    d2 = [p for p in f2.axes[0].patches if isinstance(p, Rectangle) and p.get_linestyle() != "solid"]
    assert len(d2) == 1
    svg_t = svg_texts(encode(hs, "svg"))
    assert all(t in svg_t for t in hs.tokens) and "conv2" in svg_t
    with pytest.raises(ValueError, match="outside"):
        saliency_grid_figure(hs, receptive_fields=[(5, 0)])


def test_search_histogram_bars_are_the_counts():
    res = search_result()
    fig = search_histogram_figure(res)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == res.hist_counts.sum()
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["gold negative", "gold positive"]
    assert "superb" in " ".join(svg_texts(encode(res, "svg")))
    with pytest.raises(ValueError, match="no histogram"):
        search_histogram_figure(search_result(hist=np.zeros((0, 4))))


def test_deletion_curves_with_auc_in_legend_and_stderr_band():
    from matplotlib.collections import PolyCollection

    res = deletion_result()
    fig = deletion_curve_figure(res)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("0.512" in t and "AUC_rep" in t for t in legend) and any("0.781" in t for t in legend)
    assert not any(isinstance(c, PolyCollection) for c in fig.axes[0].collections)
    band = deletion_curve_figure(res, stderr=np.full((2, 5), 0.05))
    assert sum(isinstance(c, PolyCollection) for c in band.axes[0].collections) == 2
    lines = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata())]
    np.testing.assert_allclose(lines[0].get_ydata(), res.p_deletion[0])
    assert panel_of(res) == "deletion"


def test_scatter_labels_words_and_marks_targets():
    res = scatter_result()
    fig = scatter_figure(res)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"word00", "word15"} <= texts
    stars = [c for c in fig.axes[0].collections if len(c.get_offsets()) == 1]
    assert len(stars) == 2  # one target marker per location
    assert panel_of(res) == "scatter"
    assert "word03" in svg_texts(encode(res, "svg"))


@pytest.mark.parametrize("palette,fmt", [("paper", "pdf"), ("colorblind", "svg"), ("greyscale", "png")])
def test_every_panel_renders_in_every_style(palette, fmt):
    st = FigureStyle(palette=palette, width="double")
    for res in (rows(), saliency(), search_result(), deletion_result(), scatter_result()):
        assert len(encode(res, fmt, style=st, dpi=72)) > 1000


def test_characters_no_font_can_draw_give_one_clear_warning():
    import warnings

    from interp_engine.export import MissingGlyphsWarning

    # U+E000 is a private-use character: no font draws it, so matplotlib draws an empty box
    res = attribution(("the", "\ue000x", "film", "\ue000"), (0.5, 1.0, -1.0, 0.2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encode(res, "svg")
    glyph = [w for w in caught if issubclass(w.category, MissingGlyphsWarning)]
    assert len(glyph) == 1 and "'\\ue000'" in str(glyph[0].message) and "1 character(s)" in str(glyph[0].message)
    assert not [w for w in caught if "missing from font" in str(w.message)]  # matplotlib's own are folded in
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encode(attribution(), "svg")
    assert not [w for w in caught if issubclass(w.category, MissingGlyphsWarning)]
