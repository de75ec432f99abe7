"""Suite-wide fixtures. One BLAS thread for the whole suite: on the 2-core CI machine, BLAS
threads competing with each other (and with pytest) made small matrix products up to 70x slower."""
from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from mapper.chipspec import ChipSpec
from tests.helpers import make_tiny_chip, make_tiny_network

_BLAS_LIMIT = threadpool_limits(limits=1)


@pytest.fixture
def tiny_chip() -> ChipSpec:
    return make_tiny_chip()


@pytest.fixture
def tiny_net():
    return make_tiny_network()
