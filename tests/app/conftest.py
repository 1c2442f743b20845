"""Every app test runs with the QThread guard and isolated QSettings."""
import pytest


@pytest.fixture(autouse=True)
def _qt_guards(qthread_guard, qt_settings_isolated):
    yield
