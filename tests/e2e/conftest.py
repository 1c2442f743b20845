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
    from tests.helpers import save_rows_model

    return save_rows_model(tmp_path_factory.mktemp("tiny"), TINY_ROWS)
