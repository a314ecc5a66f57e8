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
