"""Soak fixtures: QThread guard and isolated QSettings, like the e2e tests."""
import pytest


@pytest.fixture(autouse=True)
def _qt_guards(qthread_guard, qt_settings_isolated):
    yield
