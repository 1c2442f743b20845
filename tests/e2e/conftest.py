"""e2e fixtures: QThread guard, isolated QSettings, a tiny saved model and dataset."""
import pytest


@pytest.fixture(autouse=True)
def _qt_guards(qthread_guard, qt_settings_isolated):
    yield


TINY_ROWS = [
    (1, "a wonderful , moving film with great acting"),
    (0, "a dull and lifeless mess of a movie"),
    (1, "the best performance I have seen this year"),
    (0, "boring plot , terrible dialogue and bad acting"),
    (1, "funny , warm and genuinely surprising"),
    (0, "I hated every minute of this awful film"),
]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """``(model_dir, dataset_path)``: a tiny random TextCNN saved with save_pretrained and a TSV."""
    import torch

    from interp_engine.models import TextCNNConfig, TextCNNForSequenceClassification
    from interp_engine.models.tokenization import build_word_tokenizer

    root = tmp_path_factory.mktemp("tiny")
    d = root / "model"
    texts = [t for _, t in TINY_ROWS]
    tok = build_word_tokenizer(texts, max_length=32)
    torch.manual_seed(0)
    m = TextCNNForSequenceClassification(TextCNNConfig(
        vocab_size=len(tok), embedding_dim=16, conv_channels=[8, 8], num_labels=2, max_seq_length=32,
        id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1}))
    m.save_pretrained(d)
    tok.save_pretrained(d)
    data = root / "data.tsv"
    data.write_text("label\ttext\n" + "".join(f"{lab}\t{t}\n" for lab, t in TINY_ROWS), encoding="utf-8")
    return d, data
