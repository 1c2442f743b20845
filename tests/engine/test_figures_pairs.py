"""Sentence-pair figures (Kim et al. 2020 Fig. 2b / 4c): the pair heatmap exports as SVG, PDF,
PNG and LaTeX with "premise" and "hypothesis" as row labels and every token present; its
sidecar records both texts and ``interp-studio export --from-sidecar`` remakes the same figure
with identical scores; the pair grid figure marks the boundary between the segments."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from interp_engine import export
from interp_engine.cli import main
from interp_engine.figures import FigureStyle, heatmap_figure, heatmap_latex, heatmap_layout, saliency_grid_figure
from interp_engine.inputs import TextInput
from interp_engine.requests import AttributionRequest, CompareRequest, HiddenSaliencyRequest
from interp_engine.results import Prediction, TokenAttribution, segment_rows
from tests.helpers import TINY_PAIRS, save_tiny_pair

PREMISE, HYPOTHESIS = TINY_PAIRS[0][1], TINY_PAIRS[0][2]
PAIR = TextInput.pair(PREMISE, HYPOTHESIS)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from interp_engine.engine import Engine

    model = save_tiny_pair(tmp_path_factory.mktemp("pair_fig") / "pair_cnn", arch="textcnn")
    eng = Engine("cpu")
    eng.load_model(model)
    eng.model_path = model
    return eng


def svg_texts(svg: bytes) -> list[str]:
    """The text of every ``<text>`` element (``svg.fonttype = 'none'`` keeps them as text)."""
    return [re.sub(r"<[^>]+>", "", t).strip() for t in re.findall(r"<text[^>]*>(.*?)</text>", svg.decode(), re.S)]


def tex_tokens(tex: str) -> list[str]:
    """The token of every ``\\colorbox`` (white text for a strong colour unwrapped)."""
    return re.findall(r"\\colorbox\{\w+\}\{\\strut (?:\\textcolor\{white\}\{)?([^{}]+)", tex)


def bert_like_pair() -> TokenAttribution:
    """A hand-built pair result with [CLS] / [SEP] tokens (segments -1)."""
    tokens = ("[CLS]", "a", "dog", "runs", "[SEP]", "an", "animal", "moves", "[SEP]")
    seg = np.array([-1, 0, 0, 0, -1, 1, 1, 1, -1])
    special = seg < 0
    p = np.array([0.7, 0.2, 0.1])
    return TokenAttribution(
        text="a dog runs ‖ an animal moves", tokens=tokens, offsets=np.zeros((9, 2), np.int64), special=special,
        scores=np.array([9.0, 1.0, -2.0, 0.5, 9.0, 3.0, -1.0, 0.0, 9.0]), units="bits (log2-odds)", method="grad",
        target=0, prediction=Prediction(p, 0, ("entailment", "neutral", "contradiction")), segments=seg,
        segment_names=("premise", "hypothesis"), texts=("a dog runs", "an animal moves"))


def test_pair_layout_has_two_labelled_rows_and_no_special_boxes():
    a = bert_like_pair()
    lay = heatmap_layout([a], FigureStyle())
    assert [s[0] for s in lay["segment_labels"]] == ["premise", "hypothesis"]
    drawn = [b.col for b in lay["boxes"]]
    assert drawn == [1, 2, 3, 5, 6, 7]  # the special tokens are not drawn
    hyp_top = min(b.y for b in lay["boxes"] if b.col >= 5)
    assert hyp_top > max(b.y + b.h for b in lay["boxes"] if b.col < 5)  # the hypothesis on its own row
    assert lay["segment_labels"][1][2] == pytest.approx(hyp_top)
    # one colour scale for both rows: max |score| over the non-special tokens of either segment
    assert heatmap_figure(a)._interp_meta["vmax"] == 3.0
    # several methods: each segment a heading over one line per method
    lay2 = heatmap_layout([a, a], FigureStyle(), ["m1", "m2"])
    assert [s[0] for s in lay2["segment_labels"]] == ["premise", "hypothesis"]
    assert len(lay2["boxes"]) == 12 and {b.row for b in lay2["boxes"]} == {0, 1}


def test_pair_heatmap_exports_with_segment_labels_and_every_token(engine, tmp_path):
    a = engine.run(AttributionRequest(input=PAIR, method="grad_input"))
    assert a.segment_names == ("premise", "hypothesis") and a.texts == (PREMISE, HYPOTHESIS)
    words = [a.tokens[i] for _n, pos in segment_rows(a.tokens, a.segments, a.segment_names) for i in pos]
    assert len(words) == len(a.tokens) == len(PREMISE.split()) + len(HYPOTHESIS.split())

    texts = svg_texts(export.encode(a, "svg"))
    assert "premise" in texts and "hypothesis" in texts
    for tok in a.tokens:
        assert tok in texts
    assert texts.index("premise") < texts.index("hypothesis")

    tex = heatmap_latex(a)
    assert "\\textbf{premise:}" in tex and "\\textbf{hypothesis:}" in tex
    prem, hyp = tex.split("\\textbf{hypothesis:}")
    assert tex_tokens(prem) == PREMISE.split() and tex_tokens(hyp) == HYPOTHESIS.split()
    assert tex.count("\\colorbox{") == len(a.tokens)

    for fmt in ("pdf", "png"):
        data = export.encode(a, fmt)
        assert data[:4] in (b"%PDF", b"\x89PNG")
    # several methods side by side: each segment labelled once, one line per method
    rows = engine.run(CompareRequest(input=PAIR, methods=("grad", "grad_input")))
    cmp_texts = svg_texts(export.encode(list(rows), "svg"))
    assert cmp_texts.count("premise") == 1 and cmp_texts.count("hypothesis") == 1


def test_pair_sidecar_records_both_texts_and_remakes_the_same_scores(engine, tmp_path):
    a = engine.run(AttributionRequest(input=PAIR, method="grad_input"))
    prov = export.Provenance(model_path=str(engine.model_path))
    out, side = export.export_figure(a, tmp_path / "pair.svg", provenance=prov)
    meta = json.loads(side.read_text())
    assert meta["texts"] == [PREMISE, HYPOTHESIS] and meta["segments"] == ["premise", "hypothesis"]
    assert meta["request"]["input"] == {"texts": [PREMISE, HYPOTHESIS], "segments": ["premise", "hypothesis"]}
    assert meta["sentence"] == f"{PREMISE} ‖ {HYPOTHESIS}"
    # a result without its request (built by hand, or older) still rebuilds the pair's request
    bare = TokenAttribution(**{f: getattr(a, f) for f in a.__dataclass_fields__ if f != "request"})
    req = export.request_for(bare)
    assert req.input == PAIR and req.method == "grad_input"

    again = tmp_path / "again.svg"
    assert main(["export", "--from-sidecar", str(side), "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()
    remade = json.loads(export.sidecar_path(again).read_text())
    assert remade["request"] == meta["request"]
    # the scores are the same: recompute the sidecar's request
    from interp_engine.sidecar import recompute, sidecar_request

    b = recompute(sidecar_request(meta), engine, seed=int(meta["seed"]))
    assert b.tokens == a.tokens and np.array_equal(b.scores, a.scores)
    assert b.texts == a.texts and np.array_equal(b.segments, a.segments)

    tex = tmp_path / "pair.tex"
    export.export_figure(a, tex, provenance=prov)
    assert "\\textbf{hypothesis:}" in tex.read_text()


def test_pair_grid_figure_marks_the_segment_boundary(engine):
    hs = engine.run(HiddenSaliencyRequest(input=PAIR))
    fig = saliency_grid_figure(hs)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert "premise" in labels and "hypothesis" in labels
    n_prem = len(PREMISE.split())
    xs = [line.get_xdata()[0] for line in ax.lines]
    assert n_prem - 0.5 in xs
    # the grid's sidecar request keeps the pair
    assert export.request_for(hs).input == PAIR
