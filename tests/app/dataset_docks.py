"""Fixtures of the dataset-level docks' tests (Dataset results, Dataset evaluation, Activation
maximization): the rows of a tiny saved TextCNN and its dataset, and the main window offscreen.
Imported by those test modules (``from tests.app.dataset_docks import ...``)."""
from __future__ import annotations

import pytest

WAIT = 60000
#: (gold, text): the tiny model's vocabulary and its dataset
ROWS = [(1, "a wonderful , moving film with great acting"), (0, "a dull and lifeless mess of a movie"),
        (1, "the best performance I have seen this year"), (0, "boring plot , terrible dialogue and bad acting"),
        (1, "great fun , a moving and wonderful story"), (0, "the film is a dull , boring mess"),
        (1, "I have seen the best acting this year"), (0, "terrible , lifeless and bad"),
        (1, "a film with a great story and fun dialogue"), (0, "bad acting , a boring plot , a mess")]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """``(model_dir, data_path)`` (:func:`tests.helpers.save_rows_model` of :data:`ROWS`)."""
    from tests.helpers import save_rows_model

    return save_rows_model(tmp_path_factory.mktemp("dataset_docks"), ROWS)


@pytest.fixture
def window(qtbot):
    """The main window, shown offscreen; the neighbour scatter hidden (its optimization would only
    slow these tests down)."""
    from desktop_app.main_window import MainWindow

    win = MainWindow(persist_layout=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.neighbour_dock.hide()
    yield win
    win.close()
