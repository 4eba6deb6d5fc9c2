from pathlib import Path

import pytest
import torch

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="module")
def one_thread():
    """Tiny networks gain nothing from threads, and on a busy machine two threads wait for each other. A module uses
    it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
