"""Engine tests: tiny models run faster on one intra-op thread, and a shared 2-core machine is
not oversubscribed."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
