"""The compiled backend (the default): the engine's time loop fused into numba kernels.

The same IR and the same discrete-time equations as the numpy reference engine
(:mod:`neurosim.backends.numpy_engine`), run by kernels written as plain Python functions and
compiled by numba (no generated source text): every step of a batch row -- neuron updates,
thresholds, resets, refractory counts, delivery of the events through the weight rows of the
sources that fired (:mod:`.synapses`: CSR rows, or dense rows for graded outputs), delays by a
ring of event lists, gains, constant / array / Poisson inputs, probes and activity counters --
happens inside one compiled call (:mod:`.loop`), and the rows of a batch run in parallel
threads. float32 and float64. The kernels are compiled on first use and cached on disk
(numba's ``cache=True``, beside the sources or in ``NUMBA_CACHE_DIR``), so later processes load
them instead of compiling.

Options (``simulate(..., backend="compiled", options={...})``)
--------------------------------------------------------------
threads : int
    Threads over batch rows (default: numba's thread count, ``NUMBA_NUM_THREADS``).
track_window : bool
    Keep per-window current integrals (as the numpy engine's option).
learning : bool
    Apply the in-loop forms of the connections' learning rules (default True; see
    :mod:`neurosim.plasticity`).
settle_tol : float
    Analog (graded) networks: each batch row stops once its neurons have settled (residual at
    most ``settle_tol``); ``SimResult.row_steps`` says how many steps each row ran. Graded outputs
    are delivered event-driven in any case: only the non-zero outputs' weight rows are read.
"""
from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np

from neurosim.backends.compiled.simulator import OPTIONS, CompiledSimulator
from neurosim.errors import NetworkError, describe
from neurosim.ir import Network
from neurosim.progress import Progress
from neurosim.result import SimResult

__all__ = ["OPTIONS", "CompiledSimulator", "run", "kernels_cached"]


def kernels_cached() -> Optional[bool]:
    """Whether numba's disk cache holds compiled time loops of this engine (``None``: unknown).

    ``False`` on a machine (or ``NUMBA_CACHE_DIR``) where the engine never ran: its first run
    then compiles the kernels it needs (about a minute), which later processes load instead.
    """
    try:
        from neurosim.backends.compiled import loop  # noqa: PLC0415

        return any(os.path.exists(d._cache._cache_file._index_path)  # numba's cache index (private API)
                   for d in (loop.run_rows_serial, loop.run_rows_parallel))
    except Exception:  # noqa: BLE001 - another numba version: say nothing rather than guess
        return None


def run(network: Network, *, steps: int, dt_s: float, seed: int = 0, dtype: Any = np.float64,
        initial_state: dict | None = None, signals: dict | None = None, progress: bool | Progress = False,
        options: dict | None = None) -> SimResult:
    """Backend entry point used by :func:`neurosim.simulate` (arguments as there)."""
    opts = dict(options or {})
    unknown = sorted(set(opts) - set(OPTIONS))
    if unknown:
        raise NetworkError(describe("backend", "compiled", "unknown options", got=unknown, expected=list(OPTIONS)))
    opts.pop("check_every", None)  # accepted for the numpy engine's callers: every step is checked here
    sim = CompiledSimulator(network, dt_s=dt_s, seed=seed, dtype=dtype, initial_state=initial_state,
                            signals=signals, **opts)
    sim.run(steps, progress=progress)
    return sim.result()
