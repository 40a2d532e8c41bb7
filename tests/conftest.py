"""Shared fixtures. Test helpers live in the sitool.testing package (importable whatever else is
installed: vocaltractlab-cython ships a top-level ``tests`` package, so ours is not a package)."""

import os

import pytest
import torch

from sitool.testing.data_dirs import make_toy_data_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture
def toy_data(tmp_path):
    """A valid 4-utterance clean data dir with toy audio and 3 targets."""
    return make_toy_data_dir(tmp_path / "data" / "toy")


@pytest.fixture
def one_thread():
    """One torch thread for the test: tiny recurrent models run fastest (and most predictably
    on a busy machine) that way."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
