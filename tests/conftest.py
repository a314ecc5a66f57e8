import numpy as np
import pytest

FORMATS = ["zarr", "hdf5"]


@pytest.fixture(params=FORMATS)
def fmt(request):
    """Run a test once per store backend, with the same test code."""
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def one_thread():
    """Tiny torch problems: one thread avoids OpenMP contention on a shared 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
