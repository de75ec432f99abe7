"""Suite-wide fixtures. One BLAS thread for the whole suite: on the 2-core CI machine, BLAS
threads competing with each other (and with pytest) made small matrix products up to 70x slower.

``backend`` runs a test once per backend, as ``(name, options)`` for :func:`neurosim.simulate`:
the compiled engine (the default), the numpy reference engine and Brian2's numpy target by
default; Brian2's cython and cpp_standalone targets (each compiles code: tens of seconds) are
marked slow."""
from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from mapper.chipspec import ChipSpec
from tests.helpers import make_tiny_chip, make_tiny_network

_BLAS_LIMIT = threadpool_limits(limits=1)

BACKEND_PARAMS = [
    pytest.param(("compiled", {}), id="compiled"),
    pytest.param(("numpy", {}), id="numpy"),
    pytest.param(("brian2", {"target": "numpy"}), id="brian2-numpy"),
    pytest.param(("brian2", {"target": "cython"}), id="brian2-cython", marks=pytest.mark.slow),
    pytest.param(("brian2", {"target": "cpp_standalone"}), id="brian2-cpp_standalone", marks=pytest.mark.slow),
]


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request) -> tuple[str, dict]:
    """``(name, options)`` of each backend in turn (see the module docstring)."""
    return request.param


@pytest.fixture
def tiny_chip() -> ChipSpec:
    return make_tiny_chip()


@pytest.fixture
def tiny_net():
    return make_tiny_network()
