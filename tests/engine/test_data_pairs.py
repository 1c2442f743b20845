"""Sentence-pair datasets (SNLI, MultiNLI, paraphrase) in :mod:`interp_engine.data`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from interp_engine import data as data_module
from interp_engine.config import DatasetConfig
from interp_engine.data import (
    NLI_CLASS_NAMES,
    Dataset,
    DatasetError,
    load_dataset,
    train_validation_split,
)
from interp_engine.inputs import TextInput

SNLI_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "snli"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _pairs_tsv(tmp_path: Path, n: int = 10) -> Path:
    """label<TAB>premise<TAB>hypothesis with premise ``p{i}``, hypothesis ``h{i}``, label ``i % 3``."""
    lines = ["label\tpremise\thypothesis"] + [f"{i % 3}\tp{i}\th{i}" for i in range(n)]
    return _write(tmp_path / "pairs.tsv", "\n".join(lines) + "\n")


# --------------------------------------------------------------------------- the shared SNLI file


def test_real_snli_dev_loads_as_pairs():
    path = SNLI_DIR / "dev.tsv"
    if not path.is_file():
        pytest.skip(f"the shared SNLI data is not present ({path} is missing; see shared/data/README.md section 4)")
    ds = load_dataset(path)
    assert len(ds) == 9842
    assert ds.is_pair
    assert ds.segment_names == ("premise", "hypothesis")
    assert (ds.text_column, ds.pair_column, ds.label_column) == ("premise", "hypothesis", "label")
    assert ds.class_names == ("entailment", "neutral", "contradiction")
    assert np.bincount(ds.labels).tolist() == [3329, 3235, 3278]
    assert ds.n_skipped == 0 and ds.n_no_gold == 0 and ds.skipped_notes == ()

    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        first = dict(zip(header, next(reader)))
    inp = ds.input(0)
    assert isinstance(inp, TextInput) and inp.is_pair
    assert inp.texts == (first["premise"], first["hypothesis"])
    assert inp.segments == ("premise", "hypothesis")
    assert int(ds.labels[0]) == int(first["label"])


# --------------------------------------------------------------------------- auto-detection and names


def test_tsv_premise_hypothesis_auto_detected_with_nli_names(tmp_path):
    ds = load_dataset(_pairs_tsv(tmp_path, 6))
    assert ds.is_pair
    assert ds.texts == ("p0", "p1", "p2", "p3", "p4", "p5")
    assert ds.pairs == ("h0", "h1", "h2", "h3", "h4", "h5")
    assert ds.labels.tolist() == [0, 1, 2, 0, 1, 2]
    assert ds.class_names == NLI_CLASS_NAMES == ("entailment", "neutral", "contradiction")
    assert [i.texts for i in ds.inputs()] == [(f"p{i}", f"h{i}") for i in range(6)]
    assert ds.input(4) == TextInput.pair("p4", "h4")
    assert "NLI_CLASS_NAMES" in data_module.__all__


def test_empty_pair_column_means_auto_and_config_default_is_empty(tmp_path):
    assert DatasetConfig().pair_column == ""
    ds = load_dataset(_pairs_tsv(tmp_path, 3), pair_column=DatasetConfig().pair_column)
    assert ds.pair_column == "hypothesis" and ds.pairs == ("h0", "h1", "h2")


def test_explicit_pair_column(tmp_path):
    f = _write(tmp_path / "qa.tsv", "label\tquestion\tanswer\n1\tWhy?\tBecause.\n0\tWho?\tNobody at all.\n")
    ds = load_dataset(f, text_column="question", pair_column="answer")
    assert ds.is_pair
    assert (ds.text_column, ds.pair_column) == ("question", "answer")
    assert ds.segment_names == ("question", "answer")
    assert ds.input(1).texts == ("Who?", "Nobody at all.")
    assert ds.input(1).segments == ("question", "answer")
    # named (not auto-detected) columns: generic class names, as for single texts
    assert ds.class_names == ("0", "1")
    assert ds.labels.tolist() == [1, 0]


def test_explicit_pair_column_with_auto_detected_text(tmp_path):
    ds = load_dataset(_pairs_tsv(tmp_path, 3), pair_column="hypothesis")
    assert (ds.text_column, ds.pair_column) == ("premise", "hypothesis")
    assert ds.texts == ("p0", "p1", "p2") and ds.pairs == ("h0", "h1", "h2")


def test_named_text_column_is_not_paired_automatically(tmp_path):
    # a hypothesis-only baseline: the caller named an existing column, nothing is auto-detected
    ds = load_dataset(_pairs_tsv(tmp_path, 3), text_column="hypothesis")
    assert not ds.is_pair and ds.pairs is None and ds.pair_column is None
    assert ds.texts == ("h0", "h1", "h2")
    assert ds.class_names == ("0", "1", "2")


def test_missing_explicit_pair_column_is_a_clear_error(tmp_path):
    f = _write(tmp_path / "qa.tsv", "label\tquestion\tanswer\n1\tWhy?\tBecause.\n")
    with pytest.raises(DatasetError) as e:
        load_dataset(f, text_column="question", pair_column="reply")
    msg = str(e.value)
    assert "qa.tsv" in msg
    assert "'reply'" in msg
    assert "'label', 'question', 'answer'" in msg
    assert "--pair-column" in msg


def test_pair_column_equal_to_text_column_is_an_error(tmp_path):
    f = _write(tmp_path / "qa.tsv", "label\tquestion\tanswer\n1\tWhy?\tBecause.\n")
    with pytest.raises(DatasetError, match="qa.tsv.*'question'.*also the text column"):
        load_dataset(f, text_column="question", pair_column="question")


def test_auto_detection_not_possible_keeps_the_text_column_error(tmp_path):
    f = _write(tmp_path / "half.tsv", "label\tpremise\n0\tA dog runs.\n")
    with pytest.raises(DatasetError, match="no text column 'text'; the columns found are 'label', 'premise'"):
        load_dataset(f)


def test_jsonl_sentence1_sentence2_gold_label(tmp_path):
    rows = [
        {"gold_label": "contradiction", "sentence1": "A man sleeps.", "sentence2": "A man runs.",
         "sentence1_parse": "(ROOT ...)", "annotator_labels": ["contradiction"]},
        {"gold_label": "-", "sentence1": "A cat.", "sentence2": "An animal?", "annotator_labels": ["neutral"]},
        {"gold_label": "entailment", "sentence1": "Two kids play.", "sentence2": "Kids play."},
        {"gold_label": "neutral", "sentence1": "A woman sings.", "sentence2": "A woman sings well."},
        {"gold_label": "contradiction", "sentence1": "It rains.", "sentence2": "It is dry."},
    ]
    f = _write(tmp_path / "mnli.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    ds = load_dataset(f)
    assert ds.is_pair
    assert (ds.text_column, ds.pair_column, ds.label_column) == ("sentence1", "sentence2", "gold_label")
    assert ds.segment_names == ("sentence1", "sentence2")
    assert len(ds) == 4
    assert ds.n_no_gold == 1
    assert ds.n_skipped == 0 and ds.skipped_notes == ()
    assert "A cat." not in ds.texts
    # NLI order, not sorted order (sorted would put contradiction first)
    assert ds.class_names == ("entailment", "neutral", "contradiction")
    assert ds.labels.tolist() == [2, 0, 1, 2]
    assert ds.input(1).texts == ("Two kids play.", "Kids play.")
    assert ds.input(1).segments == ("sentence1", "sentence2")


def test_jsonl_string_labels_subset_of_nli_names_keep_nli_ids(tmp_path):
    rows = [{"premise": "a", "hypothesis": "b", "label": "contradiction"},
            {"premise": "c", "hypothesis": "d", "label": "neutral"}]
    f = _write(tmp_path / "two.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    ds = load_dataset(f)
    assert ds.class_names == NLI_CLASS_NAMES
    assert ds.labels.tolist() == [2, 1]


def test_tsv_gold_label_dash_is_skipped_not_an_error(tmp_path):
    f = _write(tmp_path / "snli_1.0_dev.txt",
               "gold_label\tsentence1\tsentence2\n"
               "neutral\tA.\tB.\n"
               "-\tC.\tD.\n"
               "entailment\tE.\tF.\n")
    ds = load_dataset(f)
    assert ds.label_column == "gold_label"
    assert ds.texts == ("A.", "E.") and ds.pairs == ("B.", "F.")
    assert ds.labels.tolist() == [1, 0]
    assert ds.n_no_gold == 1 and ds.n_skipped == 0


def test_all_rows_without_gold_label_is_an_error(tmp_path):
    f = _write(tmp_path / "nogold.tsv", "gold_label\tsentence1\tsentence2\n-\tA.\tB.\n-\tC.\tD.\n")
    with pytest.raises(DatasetError, match="nogold.tsv.*all 2 rows.*gold label '-'"):
        load_dataset(f)


def test_paraphrase_pairs_with_binary_labels_keep_generic_names(tmp_path):
    # sentence1/sentence2 with 0/1 labels (MRPC-style paraphrase): not named as NLI classes
    f = _write(tmp_path / "mrpc.tsv", "label\tsentence1\tsentence2\n1\tA b.\tB a.\n0\tC.\tD.\n")
    ds = load_dataset(f)
    assert ds.is_pair and ds.segment_names == ("sentence1", "sentence2")
    assert ds.class_names == ("0", "1")


def test_class_names_argument_wins_over_nli_names(tmp_path):
    ds = load_dataset(_pairs_tsv(tmp_path, 3), class_names=("ent", "neu", "con"))
    assert ds.class_names == ("ent", "neu", "con")


# --------------------------------------------------------------------------- bad rows


def test_empty_hypothesis_row_skipped_with_its_line_noted(tmp_path):
    f = _write(tmp_path / "dev.tsv",
               "label\tpremise\thypothesis\n"
               "0\tp0\th0\n"
               "1\tp1\t   \n"
               "2\tp2\th2\n")
    ds = load_dataset(f)
    assert ds.n_skipped == 1
    assert ds.skipped_notes == ("dev.tsv line 3: empty 'hypothesis', row skipped",)
    assert ds.texts == ("p0", "p2") and ds.pairs == ("h0", "h2")
    assert ds.labels.tolist() == [0, 2]


def test_empty_premise_and_blank_lines_noted_at_most_five(tmp_path):
    lines = ["label\tpremise\thypothesis", "0\t\th0"]  # line 2: empty premise
    lines += [f"1\tp{i}\t" for i in range(3, 10)]  # lines 3..9: empty hypothesis
    lines += ["2\tok\tfine"]
    ds = load_dataset(_write(tmp_path / "bad.tsv", "\n".join(lines) + "\n"))
    assert ds.n_skipped == 8
    assert len(ds.skipped_notes) == 5
    assert ds.skipped_notes[0] == "bad.tsv line 2: empty 'premise', row skipped"
    assert ds.skipped_notes[1] == "bad.tsv line 3: empty 'hypothesis', row skipped"
    assert ds.skipped_notes[4] == "bad.tsv line 6: empty 'hypothesis', row skipped"
    assert ds.texts == ("ok",) and ds.pairs == ("fine",) and ds.labels.tolist() == [2]


def test_every_pair_row_skipped_mentions_the_pair_column(tmp_path):
    f = _write(tmp_path / "allbad.tsv", "label\tpremise\thypothesis\n0\tp\t\n1\tq\t \n")
    with pytest.raises(DatasetError) as e:
        load_dataset(f)
    msg = str(e.value)
    assert "allbad.tsv" in msg and "'hypothesis'" in msg and "--pair-column" in msg


def test_jsonl_non_string_second_text_is_an_error(tmp_path):
    f = _write(tmp_path / "bad.jsonl", json.dumps({"premise": "a", "hypothesis": 3, "label": 0}) + "\n")
    with pytest.raises(DatasetError, match="bad.jsonl: line 1: 'hypothesis' must be a string"):
        load_dataset(f)


# --------------------------------------------------------------------------- subsets and splits


def test_subset_keeps_pairs_aligned(tmp_path):
    ds = load_dataset(_pairs_tsv(tmp_path, 10))
    sub = ds.subset([7, 2, 5])
    assert sub.is_pair and sub.pair_column == "hypothesis" and sub.text_column == "premise"
    assert sub.texts == ("p7", "p2", "p5")
    assert sub.pairs == ("h7", "h2", "h5")
    assert sub.labels.tolist() == [1, 2, 2]
    assert sub.class_names == NLI_CLASS_NAMES
    assert sub.input(0).texts == ("p7", "h7")


def test_train_validation_split_keeps_pairs_aligned(tmp_path):
    ds = load_dataset(_pairs_tsv(tmp_path, 40))
    train, val = train_validation_split(ds, 0.25, seed=3)
    assert len(train) == 30 and len(val) == 10
    for part in (train, val):
        assert part.is_pair and part.segment_names == ("premise", "hypothesis")
        for p, h, lab in zip(part.texts, part.pairs, part.labels):
            i = int(p[1:])
            assert h == f"h{i}" and lab == i % 3
    assert sorted(train.texts + val.texts) == sorted(ds.texts)


def test_split_of_loaded_counts_resets_them(tmp_path):
    f = _write(tmp_path / "dev.tsv", "label\tpremise\thypothesis\n0\tp0\th0\n1\tp1\t\n2\tp2\th2\n0\tp3\th3\n")
    ds = load_dataset(f)
    sub = ds.subset([0, 1])
    assert ds.n_skipped == 1 and len(ds.skipped_notes) == 1
    assert sub.n_skipped == 0 and sub.skipped_notes == () and sub.n_no_gold == 0


# --------------------------------------------------------------------------- the Dataset class


def test_dataset_constructor_checks_pairs_length():
    with pytest.raises(ValueError, match="2 texts but 1 pairs"):
        Dataset(texts=("a", "b"), labels=None, class_names=(), pairs=("x",))


def test_dataset_constructor_pair_without_column_gets_nli_segments():
    ds = Dataset(texts=["a", "b"], labels=None, class_names=(), pairs=["x", "y"])
    assert ds.pairs == ("x", "y") and ds.is_pair
    assert ds.segment_names == ("premise", "hypothesis")
    assert ds.input(1) == TextInput.pair("b", "y")


def test_single_text_files_behave_as_before(tmp_path):
    f = _write(tmp_path / "single.tsv", "label\ttext\nneutral\tone\ncontradiction\t \nentailment\tthree\n")
    ds = load_dataset(f)
    assert not ds.is_pair
    assert ds.pairs is None and ds.pair_column is None
    assert ds.segment_names == ("text",)
    assert ds.texts == ("one", "three")
    assert ds.n_skipped == 1 and ds.skipped_notes == () and ds.n_no_gold == 0
    # single texts: string labels are still numbered in sorted order
    assert ds.class_names == ("entailment", "neutral")
    assert ds.labels.tolist() == [1, 0]
    assert ds.input(1) == TextInput.single("three")
    assert ds.inputs() == [TextInput.single("one"), TextInput.single("three")]
    sub = ds.subset([1])
    assert sub.pairs is None and not sub.is_pair and sub.texts == ("three",)


def test_single_text_file_with_a_dash_label_is_still_an_ordinary_label(tmp_path):
    f = _write(tmp_path / "dash.tsv", "label\ttext\n-\tone\n+\ttwo\n")
    ds = load_dataset(f)
    assert ds.n_no_gold == 0 and ds.class_names == ("+", "-") and ds.labels.tolist() == [1, 0]


# --------------------------------------------------------------------------- csv and parquet


def test_csv_pairs(tmp_path):
    f = tmp_path / "pairs.csv"
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["premise", "hypothesis", "label"])
        w.writerow(['A man, "tall", walks.', "Someone walks.", 0])
        w.writerow(["Dogs bark.", "Cats, too, meow.", 2])
        w.writerow(["Birds fly.", "", 1])
    ds = load_dataset(f)
    assert ds.is_pair
    assert ds.texts == ('A man, "tall", walks.', "Dogs bark.")
    assert ds.pairs == ("Someone walks.", "Cats, too, meow.")
    assert ds.labels.tolist() == [0, 2]
    assert ds.class_names == NLI_CLASS_NAMES
    assert ds.skipped_notes == ("pairs.csv line 4: empty 'hypothesis', row skipped",)


def test_parquet_pairs(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    f = tmp_path / "pairs.parquet"
    pd.DataFrame({
        "premise": ["A.", "B.", "C.", None],
        "hypothesis": ["a.", "b.", "c.", "d."],
        "label": [2, -1, 0, 1],  # -1: the Hugging Face mark for no gold label
    }).to_parquet(f)
    ds = load_dataset(f)
    assert ds.is_pair and ds.segment_names == ("premise", "hypothesis")
    assert ds.texts == ("A.", "C.") and ds.pairs == ("a.", "c.")
    assert ds.labels.tolist() == [2, 0]
    assert ds.class_names == NLI_CLASS_NAMES
    assert ds.n_no_gold == 1 and ds.n_skipped == 1
    assert ds.skipped_notes == ("pairs.parquet row 4: empty 'premise', row skipped",)

    g = tmp_path / "named.parquet"
    pd.DataFrame({"q": ["x?", "y?"], "a": ["x!", "y!"]}).to_parquet(g)
    ds2 = load_dataset(g, text_column="q", pair_column="a")
    assert ds2.labels is None and ds2.input(1).texts == ("y?", "y!")
