"""x_overall's neighbours (Yuan et al. eq. 8, cosine k-NN), the t-SNE/PCA projection, the
neighbour scatter of a sentence, loaded KeyedVectors, and the CLI's ``hidden --optimize`` JSON."""
from __future__ import annotations

import json

import numpy as np
import pytest

from interp_engine.cli import main
from interp_engine.engine import Engine
from interp_engine.errors import InputError
from interp_engine.models import load_classifier
from interp_engine.neighbours import TRANSFORMER_NOTE, VectorSpace, cosine_neighbours, project_2d
from tests.helpers import save_tiny, save_tiny_bert

TEXT = "The plot is thin but the cast is superb , never boring"
QUICK = dict(steps=60, lr=0.01)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("nb") / "cnn", seed=4)


def test_cosine_neighbours_equal_brute_force_and_skip_special_tokens(model_dir):
    c = load_classifier(model_dir, device="cpu")
    space = VectorSpace.from_classifier(c)
    tok = c.tokenizer
    for special in ("[PAD]", "[UNK]", "[MASK]"):
        assert not space.usable[tok.convert_tokens_to_ids(special)]
    rng = np.random.default_rng(0)
    q = rng.normal(size=(3, space.matrix.shape[1])).astype(np.float32)
    # a query equal to [UNK]'s vector must still not return [UNK]
    q[2] = space.matrix[tok.unk_token_id]
    idx, sim = cosine_neighbours(q, space, 4)
    for r in range(3):
        ref = []
        for v, w in enumerate(space.matrix):
            if space.usable[v]:
                ref.append((float(q[r] @ w / np.linalg.norm(q[r]) / np.linalg.norm(w)), v))
        ref.sort(key=lambda t: (-t[0], t[1]))
        assert [v for _, v in ref[:4]] == list(idx[r])
        np.testing.assert_allclose(sim[r], [s for s, _ in ref[:4]], rtol=1e-5)
    assert tok.unk_token_id not in idx[2]
    with pytest.raises(InputError, match="dimensions"):
        cosine_neighbours(np.ones((1, 5)), space, 3)


def test_tsne_is_seeded_and_pca_fallback():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(20, 8))
    a = project_2d(pts, "tsne", perplexity=5, seed=3)
    b = project_2d(pts, "tsne", perplexity=5, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (20, 2) and np.isfinite(a).all()
    p = project_2d(pts, "pca")
    np.testing.assert_allclose(np.abs(p[:, 0]).max(), np.abs((pts - pts.mean(0)) @ np.linalg.svd(pts - pts.mean(0))[2][0]).max())
    assert project_2d(pts[:3], "tsne").shape == (3, 2)  # too few points for t-SNE: PCA
    with pytest.raises(InputError):
        project_2d(pts, "umap")


def test_neighbour_scatter_result(model_dir):
    eng = Engine("cpu")
    eng.load_model(model_dir)
    res = eng.neighbour_scatter(TEXT, k=4, **QUICK)
    assert [loc.rank for loc in res.locations] == [0, 1, 2]
    grid = eng.hidden_saliency(TEXT)
    assert [loc.position for loc in res.locations] == list(grid.top_locations[0])
    for loc in res.locations:
        assert len(loc.words) == 4 and loc.coords.shape == (4, 2) and loc.target_coords.shape == (2,)
        assert np.all(np.diff(loc.similarities) <= 1e-12)
        assert not set(loc.words) & {"[PAD]", "[UNK]", "[MASK]"}
        assert tuple(loc.receptive_field) == tuple(grid.receptive_fields[0, loc.position])
        # the objective after 0 .. steps Adam steps; the JSON's steps are the steps applied
        assert len(loc.objective_trace) == QUICK["steps"] + 1 and loc.steps == QUICK["steps"]
        assert loc.to_json()["objective"]["steps"] == QUICK["steps"]
    # a word shared by two locations sits at one point
    seen = {}
    for loc in res.locations:
        for w, xy in zip(loc.words, loc.coords):
            if w in seen:
                np.testing.assert_array_equal(seen[w], xy)
            seen[w] = xy
    again = eng.neighbour_scatter(TEXT, k=4, **QUICK)
    np.testing.assert_array_equal(again.locations[1].coords, res.locations[1].coords)
    others = [i for i in range(len(grid.tokens)) if i not in grid.top_locations[2]][:2]
    second = grid.top_locations[2][1]
    explicit = eng.neighbour_scatter(TEXT, [(2, others[0]), (2, second), (2, others[1])], k=3, projection="pca", **QUICK)
    # ranks are the grid's mark colours: the 2nd most salient is blue (1), the others 3, 4
    assert [(loc.layer, loc.position, loc.rank) for loc in explicit.locations] == [
        (2, others[0], 3), (2, second, 1), (2, others[1], 4)]
    with pytest.raises(InputError, match="location 40"):
        eng.neighbour_scatter(TEXT, [(0, 40)], **QUICK)
    with pytest.raises(InputError, match="layer 9"):
        eng.neighbour_scatter(TEXT, layers=[9], **QUICK)


def test_transformer_scatter_says_receptive_field_is_whole_sentence(tmp_path):
    eng = Engine("cpu")
    eng.load_model(save_tiny_bert(tmp_path / "bert"))
    text = "a good film , never boring"
    res = eng.neighbour_scatter(text, k=3, **QUICK)
    assert res.receptive_field_note == TRANSFORMER_NOTE
    grid = eng.hidden_saliency(text)
    # the same locations and colours as the grid's marks ([CLS] included when it is salient)
    assert [(loc.position, loc.rank) for loc in res.locations] == [(i, r) for r, i in enumerate(grid.top_locations[0])]
    n = len(res.tokens)
    for loc in res.locations:
        assert tuple(loc.receptive_field) == (0, n - 1)
        assert not any(w.startswith("[") for w in loc.words)
    cls = eng.neighbour_scatter(text, [(0, 0)], k=3, **QUICK)  # a [CLS] location works too
    assert cls.locations[0].position == 0 and len(cls.locations[0].words) == 3


def test_keyed_vectors_space(model_dir, tmp_path):
    from gensim.models import KeyedVectors

    c = load_classifier(model_dir, device="cpu")
    D = c.model.config.embedding_dim
    kv = KeyedVectors(vector_size=D)
    words = ["good", "bad", "[UNK]", "zebra"]
    rng = np.random.default_rng(2)
    kv.add_vectors(words, rng.normal(size=(4, D)).astype(np.float32))
    path = tmp_path / "v.txt"
    kv.save_word2vec_format(str(path))
    eng = Engine("cpu")
    eng.load_model(model_dir)
    assert eng.load_neighbour_vectors(path) == "v.txt"
    res = eng.neighbour_scatter(TEXT, k=3, **QUICK)
    for loc in res.locations:
        assert set(loc.words) <= {"good", "bad", "zebra"}
        ids = dict(zip(loc.words, loc.word_ids))
        if "zebra" in ids:
            assert ids["zebra"] == -1  # not in the model's vocabulary
    assert res.params["vectors"] == "v.txt"
    eng.load_model(model_dir)  # a newly opened model searches its own embeddings again
    assert eng.neighbour_scatter(TEXT, k=3, **QUICK).params["vectors"] == "model"


def test_cli_hidden_optimize_json(model_dir, capsys):
    rc = main(["hidden", "--model", str(model_dir), "--text", TEXT, "--top", "2", "--optimize", "--k", "3",
               "--steps", "40", "--lr", "0.01", "--json", "--device", "cpu"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert "layers" in out and "top_locations" in out  # the saliency grid is still there
    opt = out["optimization"]
    assert [loc["location"] for loc in opt["locations"]] == [t["location"] for t in out["top_locations"][0]]
    for loc in opt["locations"]:
        assert len(loc["neighbours"]) == 3
        for nb in loc["neighbours"]:
            assert set(nb) == {"word", "id", "cosine", "xy"} and len(nb["xy"]) == 2 and -1 <= nb["cosine"] <= 1
        assert len(loc["target_xy"]) == 2 and loc["objective"]["steps"] == 40
    assert opt["params"]["lambda1"] == 0.004 and opt["params"]["k"] == 3
    rc = main(["hidden", "--model", str(model_dir), "--text", TEXT, "--optimize", "--locations", "0-3", "--device", "cpu"])
    assert rc == 2
    assert "error:" in capsys.readouterr().err


def test_cli_maximize_json(model_dir, capsys):
    rc = main(["hidden", "--model", str(model_dir), "--text", "-", "--maximize", "0:2", "--k", "4", "--json",
               "--device", "cpu"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["unit"] == "conv1 channel 2"
    assert len(out["activation_maximization"]) == 4 and len(out["corpus_search"]) == 4
    acts = [r["activation"] for r in out["corpus_search"]]
    assert acts == sorted(acts, reverse=True)
    words_am = {r["word"] for r in out["activation_maximization"]}
    assert set(out["overlap"]) == words_am & {r["word"] for r in out["corpus_search"]}
    assert main(["hidden", "--model", str(model_dir), "--text", "-", "--maximize", "nonsense", "--device", "cpu"]) == 2
