"""Engine test fixtures."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    """Tiny models gain nothing from threads; on a busy 2-core machine every OpenMP region
    can wait out a scheduler slice, which makes millisecond ops take tens of milliseconds."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
