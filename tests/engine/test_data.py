"""Tests for interp_engine.data (no Qt)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from interp_engine.data import Dataset, DatasetError, load_dataset, train_validation_split

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO_ROOT / "resources" / "demo"
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# ----------------------------------------------------------------------------- formats


def test_tsv_with_quotes_in_text(tmp_path):
    p = write(
        tmp_path / "d.tsv",
        'label\ttext\n1\tthe "twist" is great\n0\t" unbalanced quote start\n1\tplain text\n',
    )
    ds = load_dataset(p)
    assert ds.texts == ('the "twist" is great', '" unbalanced quote start', "plain text")
    assert ds.labels.dtype == np.int64
    assert ds.labels.tolist() == [1, 0, 1]
    assert ds.class_names == ("0", "1")
    assert ds.n_classes == 2
    assert len(ds) == 3
    assert ds.path == p
    assert ds.text_column == "text" and ds.label_column == "label"
    assert ds.n_skipped == 0


def test_txt_is_tab_separated(tmp_path):
    p = write(tmp_path / "d.txt", "text\tlabel\nhello world\t2\nbye\t0\n")
    ds = load_dataset(p)
    assert ds.texts == ("hello world", "bye")
    assert ds.labels.tolist() == [2, 0]
    assert ds.class_names == ("0", "1", "2")


def test_csv_with_standard_quoting(tmp_path):
    p = write(
        tmp_path / "d.csv",
        'id,text,label\n1,"hello, world",1\n2,"she said ""hi""",0\n3,"two\nlines",1\n',
    )
    ds = load_dataset(p)
    assert ds.texts == ("hello, world", 'she said "hi"', "two\nlines")
    assert ds.labels.tolist() == [1, 0, 1]


def test_jsonl(tmp_path):
    lines = [
        {"text": "good film", "label": 1},
        {"text": "bad film", "label": 0, "extra": "x"},
        {"text": 'quote " inside', "label": 1},
    ]
    p = write(tmp_path / "d.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    ds = load_dataset(p)
    assert ds.texts == ("good film", "bad film", 'quote " inside')
    assert ds.labels.tolist() == [1, 0, 1]


def test_parquet(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    p = tmp_path / "d.parquet"
    pd.DataFrame({"sentence": ["a b", "c d", "   ", "e"], "y": ["pos", "neg", "neg", "pos"]}).to_parquet(p)
    ds = load_dataset(p, text_column="sentence", label_column="y")
    assert ds.texts == ("a b", "c d", "e")
    assert ds.class_names == ("neg", "pos")
    assert ds.labels.tolist() == [1, 0, 1]
    assert ds.n_skipped == 1


def test_format_argument_overrides_extension(tmp_path):
    p = write(tmp_path / "data.dat", "label,text\n0,x\n1,y\n")
    ds = load_dataset(p, format="csv")
    assert ds.texts == ("x", "y")


def test_bom_is_ignored(tmp_path):
    p = tmp_path / "bom.tsv"
    p.write_bytes("\ufefflabel\ttext\n0\tx\n".encode("utf-8"))
    assert load_dataset(p).texts == ("x",)


def test_cp1252_encoding_argument(tmp_path):
    p = write(tmp_path / "w.tsv", "label\ttext\n1\tcaf\u00e9 \u2013 good\n", encoding="cp1252")
    ds = load_dataset(p, encoding="cp1252")
    assert ds.texts == ("caf\u00e9 \u2013 good",)


# ----------------------------------------------------------------------------- labels


def test_string_labels_sorted(tmp_path):
    p = write(tmp_path / "d.tsv", "label\ttext\npos\ta\nneg\tb\nneutral\tc\npos\td\n")
    ds = load_dataset(p)
    assert ds.class_names == ("neg", "neutral", "pos")
    assert ds.labels.tolist() == [2, 0, 1, 2]


def test_string_labels_with_explicit_class_names(tmp_path):
    p = write(tmp_path / "d.tsv", "label\ttext\npositive\ta\nnegative\tb\n")
    ds = load_dataset(p, class_names=["positive", "negative"])
    assert ds.class_names == ("positive", "negative")
    assert ds.labels.tolist() == [0, 1]


def test_int_labels_with_explicit_class_names(tmp_path):
    p = write(tmp_path / "d.tsv", "label\ttext\n1\ta\n0\tb\n")
    ds = load_dataset(p, class_names=("negative", "positive"))
    assert ds.class_names == ("negative", "positive")
    assert ds.labels.tolist() == [1, 0]


def test_too_few_class_names(tmp_path):
    p = write(tmp_path / "few.tsv", "label\ttext\n2\ta\n0\tb\n")
    with pytest.raises(DatasetError, match="few.tsv"):
        load_dataset(p, class_names=("a", "b"))


def test_string_label_not_in_class_names(tmp_path):
    p = write(tmp_path / "names.tsv", "label\ttext\npos\ta\nmeh\tb\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(p, class_names=("neg", "pos"))
    assert "names.tsv" in str(e.value) and "line 3" in str(e.value)


def test_missing_label_column_gives_none(tmp_path):
    p = write(tmp_path / "d.tsv", "text\nonly texts here\nand another\n")
    ds = load_dataset(p)
    assert ds.labels is None
    assert ds.texts == ("only texts here", "and another")
    assert ds.class_names == ()
    assert ds.n_classes == 0


def test_custom_columns(tmp_path):
    p = write(tmp_path / "d.tsv", "y\tpremise\thypothesis\n0\tp1\th1\n2\tp2\th2\n")
    ds = load_dataset(p, text_column="hypothesis", label_column="y")
    assert ds.texts == ("h1", "h2")
    assert ds.labels.tolist() == [0, 2]


# ----------------------------------------------------------------------------- skipping


def test_empty_rows_are_skipped_and_counted(tmp_path):
    p = write(tmp_path / "d.tsv", "label\ttext\n1\ta\n0\t\n1\t   \n\n0\tb\n")
    ds = load_dataset(p)
    assert ds.texts == ("a", "b")
    assert ds.labels.tolist() == [1, 0]
    assert ds.n_skipped == 3


def test_skipped_rows_do_not_need_valid_labels(tmp_path):
    p = write(tmp_path / "d.tsv", "label\ttext\n1\ta\nxyz\t \n0\tb\n")
    ds = load_dataset(p)
    assert ds.labels.tolist() == [1, 0]
    assert ds.n_skipped == 1


# ----------------------------------------------------------------------------- errors


def test_error_is_value_error():
    assert issubclass(DatasetError, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="nope.tsv"):
        load_dataset(tmp_path / "nope.tsv")


def test_directory(tmp_path):
    d = tmp_path / "folder.tsv"
    d.mkdir()
    with pytest.raises(DatasetError, match="folder.tsv"):
        load_dataset(d)


def test_unknown_extension(tmp_path):
    p = write(tmp_path / "data.xlsx", "x")
    with pytest.raises(DatasetError, match="format="):
        load_dataset(p)


def test_unknown_format_argument(tmp_path):
    p = write(tmp_path / "data.tsv", "label\ttext\n0\tx\n")
    with pytest.raises(DatasetError, match="data.tsv"):
        load_dataset(p, format="xml")


@pytest.mark.parametrize("name", ["empty.tsv", "empty.csv", "empty.jsonl"])
def test_empty_file(tmp_path, name):
    p = write(tmp_path / name, "")
    with pytest.raises(DatasetError, match=name.replace(".", r"\.")):
        load_dataset(p)


@pytest.mark.parametrize("name", ["header.tsv", "header.csv"])
def test_header_without_rows(tmp_path, name):
    p = write(tmp_path / name, "label\ttext\n" if name.endswith("tsv") else "label,text\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    assert name in str(e.value)
    assert "no data rows" in str(e.value)


def test_only_empty_texts(tmp_path):
    p = write(tmp_path / "blank.tsv", "label\ttext\n0\t \n1\t\n")
    with pytest.raises(DatasetError, match="blank.tsv"):
        load_dataset(p)


def test_missing_text_column(tmp_path):
    p = write(tmp_path / "cols.tsv", "label\tsentence\n0\tx\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    msg = str(e.value)
    assert "cols.tsv" in msg
    assert "'sentence'" in msg and "'label'" in msg
    assert "--text-column" in msg


def test_missing_text_column_jsonl(tmp_path):
    p = write(tmp_path / "cols.jsonl", '{"sentence": "x", "label": 0}\n')
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    assert "cols.jsonl" in str(e.value) and "'sentence'" in str(e.value)
    assert "--text-column" in str(e.value)


def test_csv_read_as_tsv_hints_delimiter(tmp_path):
    p = write(tmp_path / "actually_csv.tsv", "label,text\n0,x\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    assert "actually_csv.tsv" in str(e.value)
    assert "delimiter" in str(e.value)


@pytest.mark.parametrize(
    "body, line",
    [
        ("label\ttext\n0\tok\n1\ttoo\tmany\n", 3),
        ("label\ttext\n0\tok\n1\tok\n1\n", 4),
    ],
)
def test_wrong_field_count(tmp_path, body, line):
    p = write(tmp_path / "fields.tsv", body)
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    msg = str(e.value)
    assert "fields.tsv" in msg
    assert f"line {line}" in msg
    assert "delimiter" in msg and "quoting" in msg


def test_wrong_field_count_csv(tmp_path):
    p = write(tmp_path / "fields.csv", "label,text\n0,ok\n1,a, b\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    assert "fields.csv" in str(e.value) and "line 3" in str(e.value)


def test_non_utf8(tmp_path):
    p = tmp_path / "latin.tsv"
    p.write_bytes(b"label\ttext\n0\tfine\n1\tcaf\xe9 \x96 bad\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    msg = str(e.value)
    assert "latin.tsv" in msg
    assert "line 3" in msg
    assert 'encoding="cp1252"' in msg


def test_mixed_int_and_string_labels(tmp_path):
    p = write(tmp_path / "mixed.tsv", "label\ttext\n0\ta\n1\tb\npos\tc\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    msg = str(e.value)
    assert "mixed.tsv" in msg
    assert "line 4" in msg
    assert "mix" in msg


def test_mixed_labels_jsonl(tmp_path):
    p = write(tmp_path / "mixed.jsonl", '{"text": "a", "label": "neg"}\n{"text": "b", "label": 1}\n')
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    assert "mixed.jsonl" in str(e.value) and "line 2" in str(e.value)


def test_empty_label(tmp_path):
    p = write(tmp_path / "nolab.tsv", "label\ttext\n0\ta\n\tb\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    assert "nolab.tsv" in str(e.value) and "line 3" in str(e.value)


def test_negative_label(tmp_path):
    p = write(tmp_path / "neg.tsv", "label\ttext\n-1\ta\n1\tb\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    assert "neg.tsv" in str(e.value) and "line 2" in str(e.value)


def test_bad_json_line(tmp_path):
    p = write(tmp_path / "bad.jsonl", '{"text": "a", "label": 0}\n{"text": "b", \n')
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    assert "bad.jsonl" in str(e.value) and "line 2" in str(e.value)


def test_json_line_not_object(tmp_path):
    p = write(tmp_path / "arr.jsonl", '{"text": "a", "label": 0}\n["b", 1]\n')
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    assert "arr.jsonl" in str(e.value) and "line 2" in str(e.value)


def test_parquet_without_pandas(tmp_path, monkeypatch):
    p = write(tmp_path / "d.parquet", "not really parquet")
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` raise ImportError
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    msg = str(e.value)
    assert "d.parquet" in msg
    assert "pandas" in msg and "pip install" in msg


# ----------------------------------------------------------------------------- Dataset / split


def make_ds(n: int = 50) -> Dataset:
    return Dataset(
        texts=tuple(f"text {i}" for i in range(n)),
        labels=np.arange(n) % 3,
        class_names=("a", "b", "c"),
        path=None,
        text_column="text",
        label_column="label",
    )


def test_dataset_is_frozen_and_labels_read_only():
    ds = make_ds(5)
    with pytest.raises(AttributeError):
        ds.texts = ()  # type: ignore[misc]
    with pytest.raises(ValueError):
        ds.labels[0] = 2
    assert ds.labels.dtype == np.int64 and ds.labels.shape == (5,)


def test_dataset_rejects_bad_labels():
    with pytest.raises(ValueError):
        Dataset(texts=("a", "b"), labels=np.array([0]), class_names=("x",), path=None,
                text_column="text", label_column="label")
    with pytest.raises(ValueError):
        Dataset(texts=("a",), labels=np.array([3]), class_names=("x", "y"), path=None,
                text_column="text", label_column="label")


def test_split_deterministic_and_disjoint():
    ds = make_ds(50)
    tr1, va1 = train_validation_split(ds, fraction=0.2, seed=3)
    tr2, va2 = train_validation_split(ds, fraction=0.2, seed=3)
    assert tr1.texts == tr2.texts and va1.texts == va2.texts
    assert np.array_equal(tr1.labels, tr2.labels)
    assert len(va1) == 10 and len(tr1) == 40
    assert set(tr1.texts).isdisjoint(va1.texts)
    assert set(tr1.texts) | set(va1.texts) == set(ds.texts)
    # labels still match their texts
    for t, y in zip(va1.texts + tr1.texts, np.concatenate([va1.labels, tr1.labels])):
        assert y == int(t.split()[1]) % 3
    assert tr1.class_names == va1.class_names == ds.class_names
    _, va3 = train_validation_split(ds, fraction=0.2, seed=4)
    assert va3.texts != va1.texts


def test_split_unlabelled_and_tiny():
    ds = Dataset(texts=("a", "b"), labels=None, class_names=(), path=None,
                 text_column="text", label_column="label")
    tr, va = train_validation_split(ds, fraction=0.1)
    assert len(tr) == 1 and len(va) == 1 and tr.labels is None
    with pytest.raises(ValueError):
        train_validation_split(ds, fraction=0.0)
    with pytest.raises(ValueError):
        train_validation_split(ds, fraction=1.0)
    with pytest.raises(ValueError):
        train_validation_split(ds.subset([0]), fraction=0.5)


# ----------------------------------------------------------------------------- demo corpus


def test_demo_corpus_loads_balanced_and_disjoint():
    names = tuple((DEMO_DIR / "classes.txt").read_text(encoding="utf-8").split())
    assert names == ("negative", "positive")
    train = load_dataset(DEMO_DIR / "train.tsv", class_names=names)
    test = load_dataset(DEMO_DIR / "test.tsv", class_names=names)
    assert 2500 <= len(train) <= 3500 and 500 <= len(test) <= 700
    for ds in (train, test):
        assert ds.n_skipped == 0
        counts = np.bincount(ds.labels, minlength=2)
        assert counts[0] == counts[1]
        assert len(set(ds.texts)) == len(ds)
        lengths = [len(t.split()) for t in ds.texts]
        assert 6 <= min(lengths) and max(lengths) <= 30
    assert not {t.lower() for t in train.texts} & {t.lower() for t in test.texts}
    total = sum(f.stat().st_size for f in DEMO_DIR.iterdir() if f.is_file())
    assert total < 500_000


def test_demo_generator_is_deterministic(tmp_path):
    import runpy

    mod = runpy.run_path(str(DEMO_DIR / "make_demo_corpus.py"))
    mod["main"](["--out", str(tmp_path)])
    for name in ("train.tsv", "test.tsv"):
        assert (tmp_path / name).read_bytes() == (DEMO_DIR / name).read_bytes()


# ----------------------------------------------------------------------------- real data


def shared_file(rel: str) -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not found: real-data tests need the shared datasets")
    p = SHARED_DATA / rel
    if not p.is_file():
        pytest.skip(f"../shared/data/{rel} not found: real-data tests need the shared datasets")
    return p


@pytest.mark.realdata
def test_real_mr_train():
    ds = load_dataset(shared_file("mr/train.tsv"))
    assert len(ds) == 9151
    assert set(np.unique(ds.labels).tolist()) == {0, 1}
    assert ds.n_skipped == 0
    assert any('"' in t for t in ds.texts)  # quotes survive the unquoted TSV reader


@pytest.mark.realdata
def test_real_sst2_test():
    ds = load_dataset(shared_file("sst2/test.tsv"))
    assert len(ds) == 1321
    assert set(np.unique(ds.labels).tolist()) == {0, 1}


def test_jsonl_unicode_line_separator_inside_string(tmp_path):
    p = tmp_path / "ls.jsonl"
    p.write_text('{"text": "a\u2028b\u0085c", "label": 0}\n{"text": "d", "label": 1}\n', encoding="utf-8")
    ds = load_dataset(p)
    assert ds.texts == ("a\u2028b\u0085c", "d")
