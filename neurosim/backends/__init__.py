"""Backends that execute a :class:`neurosim.ir.Network`.

Chosen by name from the explicit registry :data:`BACKENDS`; asking for a backend that cannot run
here raises :class:`~neurosim.errors.BackendUnavailableError` (never a silent fallback).

Every backend implements the discrete-time equations documented on the neuron models in
:mod:`neurosim.neurons`, so the same network gives the same spikes on every backend (checked by
the conformance suite in ``tests/test_conformance.py``).
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Optional

import numpy as np

from neurosim.errors import NetworkError, describe
from neurosim.ir import Network
from neurosim.progress import Progress
from neurosim.result import SimResult

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "simulate", "get_backend"]

#: name -> "module:function" of the backend's ``run`` function (imported lazily).
BACKENDS: dict[str, str] = {
    "compiled": "neurosim.backends.compiled:run",
    "numpy": "neurosim.backends.numpy_engine:run",
    "brian2": "neurosim.backends.brian2_backend:run",
}
#: the backend :func:`simulate` uses when none is named (experiments too)
DEFAULT_BACKEND = "compiled"


def get_backend(name: str) -> Callable[..., SimResult]:
    """The ``run`` function of backend ``name``."""
    if name not in BACKENDS:
        raise NetworkError(describe("backend", str(name), "unknown backend", got=repr(name), expected=sorted(BACKENDS)))
    module, func = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), func)


def simulate(network: Network, *, steps: int, dt_s: float, backend: str = DEFAULT_BACKEND, seed: int = 0,
             dtype: Any = np.float64, initial_state: Optional[dict[str, dict[str, np.ndarray]]] = None,
             signals: Optional[dict[str, float]] = None, progress: bool | Progress = False,
             options: Optional[dict[str, Any]] = None) -> SimResult:
    """Run ``network`` for ``steps`` steps of ``dt_s`` seconds on ``backend``.

    Parameters
    ----------
    network : Network
        Validated before the run.
    steps : int
        Number of time steps (>= 1).
    dt_s : float
        Time step, seconds of model time (> 0).
    backend : str
        A key of :data:`BACKENDS`.
    seed : int
        Seed of every random draw in the run (Poisson inputs): equal seeds, equal results.
    dtype : numpy dtype
        ``float64`` or ``float32`` state.
    initial_state : dict, optional
        ``{population: {var: array (n,) or (batch, n)}}`` written before the first step.
    signals : dict, optional
        Values of global broadcast signals, overriding ``network.signals``.
    progress : bool or callable
        ``True``: show a progress bar on stderr; a :data:`neurosim.progress.Progress` callback:
        report ``progress("simulating", steps done, steps)`` to it instead (the compiled and numpy
        engines after every chunk of steps, Brian2's runtime targets as it reports).
    options : dict, optional
        Backend-specific options (e.g. ``{"target": "cpp_standalone"}`` for Brian2).
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise NetworkError(describe("run", network.name, "steps must be a positive integer", got=steps, expected="int >= 1"))
    if not (isinstance(dt_s, (int, float, np.floating)) and np.isfinite(dt_s) and dt_s > 0):
        raise NetworkError(describe("run", network.name, "dt_s must be a positive number", got=dt_s, expected="> 0"))
    if np.dtype(dtype) not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise NetworkError(describe("run", network.name, "unsupported dtype", got=np.dtype(dtype), expected="float64 or float32"))
    network.validate()
    run = get_backend(backend)
    return run(network, steps=int(steps), dt_s=float(dt_s), seed=seed, dtype=np.dtype(dtype),
               initial_state=initial_state, signals=signals, progress=progress, options=options or {})
