"""The Brian2 backend: run a :class:`neurosim.ir.Network` in Brian2.

The network is translated by :mod:`.brian2_build` into ``NeuronGroup``/``Synapses`` objects that
implement exactly the discrete-time equations of :mod:`neurosim.neurons` (forward Euler, Brian2's
default schedule, neurosim delay ``d`` = Brian2 delay ``(d - 1) dt``), so deterministic networks
give the same spikes as the numpy engine (checked by ``tests/test_conformance.py``).

Options (``simulate(..., backend="brian2", options={...})``)
-----------------------------------------------------------
target : {"cython", "numpy", "cpp_standalone"}
    Brian2 code-generation target. Default ``"cython"``; when Cython or a C compiler is missing
    that is a :class:`~neurosim.errors.BackendUnavailableError` naming the fix (never a silent
    switch to another target or backend). ``"cpp_standalone"`` builds a C++ project in a
    temporary directory (deleted after the run) and resets Brian2's device afterwards, so many
    runs can follow each other in one process.

Randomness: Poisson inputs draw from Brian2's generator (numpy's global legacy generator on
the runtime targets, its own generator in standalone mode), seeded with ``seed``. The streams
differ from the numpy engine's ``default_rng(seed)``, so Poisson-driven runs agree only in
distribution. The caller's global numpy random state is restored after the run.

Logging: Brian2 configures its own console handler, a debug log file, ``sys.excepthook`` and
``logging.captureWarnings`` when imported; those are undone here and Brian2's records propagate
through :mod:`logging` (logger ``"brian2"``), so they only appear where the application's logging
configuration sends them. Python warnings raised during a run are logged at DEBUG.
"""
from __future__ import annotations

import importlib
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Union

import numpy as np

from neurosim.activity import ActivityProfile
from neurosim.backends.brian2_build import Built, build_network
from neurosim.errors import BackendUnavailableError, NetworkError, SimulationError, describe
from neurosim.ir import Network
from neurosim.plasticity import check_no_event_rules
from neurosim.progress import Progress
from neurosim.result import SimResult

log = logging.getLogger(__name__)

__all__ = ["run", "TARGETS", "import_brian2"]

TARGETS = ("cython", "numpy", "cpp_standalone")
DEFAULT_TARGET = "cython"
INSTALL_HINT = "install it with: pip install -e '.[brian2]' (or: pip install 'brian2>=2.7,<3' 'numpy<2.4' cython)"
_OPTIONS = ("target",)
_cython_ok: Optional[tuple[bool, str]] = None
_quieted = False


# -- importing Brian2 without letting it take over the process -----------------------------------
def import_brian2():
    """Import and return the ``brian2`` module, quieted (see module notes).

    Raises
    ------
    BackendUnavailableError
        If brian2 cannot be imported, with the reason and the install hint.
    """
    global _quieted
    first = sys.modules.get("brian2") is None
    hook, capturing = sys.excepthook, getattr(logging, "_warnings_showwarning", None) is not None
    try:
        with _captured_warnings():
            b2 = importlib.import_module("brian2")
    except Exception as exc:  # ImportError, or e.g. AttributeError from an incompatible numpy
        raise BackendUnavailableError(describe("backend", "brian2", "brian2 cannot be imported",
                                               got=f"{type(exc).__name__}: {exc}", expected=INSTALL_HINT)) from exc
    from brian2.utils.logger import brian_excepthook

    if sys.excepthook is brian_excepthook:
        sys.excepthook = hook if hook is not brian_excepthook else sys.__excepthook__
    if not _quieted:
        _quiet_brian2_logging(restore_warnings=first and not capturing)
        _quieted = True
    return b2


def _quiet_brian2_logging(*, restore_warnings: bool) -> None:
    """Detach Brian2's console and file handlers; let its records propagate to the application."""
    from brian2.utils.logger import BrianLogger

    logger = logging.getLogger("brian2")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    if BrianLogger.console_handler is not None:
        logging.getLogger("py.warnings").removeHandler(BrianLogger.console_handler)
    for attr in ("tmp_log", "tmp_script"):
        path = getattr(BrianLogger, attr, None)
        if path and os.path.exists(path):
            os.remove(path)
        setattr(BrianLogger, attr, None)
    BrianLogger.file_handler = None
    logger.setLevel(logging.NOTSET)  # effective level from the application's configuration
    logger.propagate = True
    if restore_warnings:
        logging.captureWarnings(False)


# -- targets -------------------------------------------------------------------------------------
def _check_target(b2, target: str) -> None:
    """Raise :class:`BackendUnavailableError` if ``target`` cannot run here."""
    global _cython_ok
    if target == "cython":
        if _cython_ok is None:
            try:
                importlib.import_module("Cython")
                from brian2.codegen.runtime.cython_rt import CythonCodeObject

                with _captured_warnings():
                    _cython_ok = (bool(CythonCodeObject.is_available()), "a test compilation failed")
            except ImportError as exc:
                _cython_ok = (False, f"Cython is not installed ({exc})")
        if not _cython_ok[0]:
            raise BackendUnavailableError(describe(
                "backend", "brian2", f"target 'cython' cannot run: {_cython_ok[1]}",
                expected="pip install cython and a working C compiler (e.g. apt-get install gcc), "
                         "or options={'target': 'numpy'}"))
    elif target == "cpp_standalone":
        missing = [tool for tool in ("make",) if shutil.which(tool) is None]
        if not any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++")):
            missing.append("a C++ compiler (g++)")
        if missing:
            raise BackendUnavailableError(describe(
                "backend", "brian2", "target 'cpp_standalone' cannot build", got=f"missing {', '.join(missing)}",
                expected="apt-get install build-essential, or options={'target': 'numpy'}"))


@contextmanager
def _captured_warnings() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        log.debug("brian2 warning: %s: %s", w.category.__name__, w.message)


@contextmanager
def _brian2_session(b2, target: str, dtype: np.dtype, seed: int) -> Iterator[Optional[str]]:
    """Set prefs, device and seed for one run; restore everything afterwards.

    Yields the standalone build directory (``None`` for runtime targets).
    """
    prefs = b2.prefs
    saved = {k: prefs[k] for k in ("codegen.target", "core.default_float_dtype")}
    np_state = np.random.get_state()
    directory = None
    try:
        prefs["core.default_float_dtype"] = np.float32 if dtype == np.float32 else np.float64
        if target == "cpp_standalone":
            directory = tempfile.mkdtemp(prefix="neurosim_brian2_")
            b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        else:
            prefs["codegen.target"] = target
        b2.seed(int(seed))
        yield directory
    finally:
        if target == "cpp_standalone":
            from brian2.devices.device import device, reset_device

            device.reinit()  # forget this build, then return to the device used before
            reset_device()
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)
        for k, v in saved.items():
            prefs[k] = v
        np.random.set_state(np_state)


# -- running ---------------------------------------------------------------------------------------
def run(network: Network, *, steps: int, dt_s: float, seed: int = 0, dtype: Any = np.float64,
        initial_state: Optional[dict] = None, signals: Optional[dict] = None, progress: Union[bool, Progress] = False,
        options: Optional[dict] = None) -> SimResult:
    """Backend entry point used by :func:`neurosim.simulate` (arguments as there).

    Raises
    ------
    BackendUnavailableError
        brian2 cannot be imported, or the requested target cannot run here.
    SimulationError
        The network uses something this backend cannot express (graded outputs into spiking
        neurons), the standalone build fails, or the state becomes non-finite.
    """
    opts = dict(options or {})
    target = opts.pop("target", DEFAULT_TARGET)
    if opts:
        raise NetworkError(describe("backend", "brian2", "unknown options", got=sorted(opts), expected=list(_OPTIONS)))
    if target not in TARGETS:
        raise NetworkError(describe("backend", "brian2", "unknown target", got=repr(target), expected=list(TARGETS)))
    check_no_event_rules(network, "brian2")
    merged = dict(network.signals)
    unknown = set(signals or {}) - set(merged)
    if unknown:
        raise NetworkError(describe("run", network.name, "unknown signals", got=sorted(unknown),
                                    expected=sorted(merged) or "no signals (network defines none)"))
    merged.update(signals or {})
    b2 = import_brian2()
    _check_target(b2, target)
    batch = network.batch
    t0 = time.perf_counter()
    with _captured_warnings(), _brian2_session(b2, target, np.dtype(dtype), seed) as directory:
        built = build_network(b2, network, dt=dt_s, batch=batch, signals=merged, initial_state=initial_state)
        net = b2.Network(*built.objects, name="neurosim_network")
        report = _progress_reporter(steps, network.name, target, progress) if progress else None
        net.run(steps * dt_s * b2.second, namespace={}, report=report, report_period=1 * b2.second)
        if directory is not None:
            try:
                b2.device.build(directory=directory, compile=True, run=True, with_output=False)
            except Exception as exc:  # brian2 raises RuntimeError with the compiler's complaint
                last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                raise SimulationError(describe("backend", "brian2", "cpp_standalone build or run failed", got=last,
                                               expected="a working g++/make toolchain")) from exc
        result = _collect(network, built, steps=steps, dt_s=dt_s, batch=batch, target=target, dtype=np.dtype(dtype))
    result.wall_s = time.perf_counter() - t0
    return result


def _progress_reporter(steps: int, name: str, target: str, progress: Union[bool, Progress] = True):
    if target == "cpp_standalone":
        return "stderr"  # standalone code cannot call back into Python
    if callable(progress):
        def report_to(elapsed, completed, start, duration):
            progress("simulating", int(round(float(completed) * steps)), steps)

        return report_to
    from tqdm import tqdm  # imported lazily: only interactive runs need it

    bar = tqdm(total=steps, desc=f"simulating {name} (brian2)", unit="step", leave=False, mininterval=0.5)

    def report(elapsed, completed, start, duration):
        bar.n = int(round(float(completed) * steps))
        bar.refresh()
        if completed >= 1.0:
            bar.close()

    return report


def _collect(network: Network, built: Built, *, steps: int, dt_s: float, batch: int, target: str,
             dtype: np.dtype) -> SimResult:
    """Read counts, probes and final state out of the Brian2 objects."""
    from neurosim.backends.brian2_build import state_names

    counts, final_state, probes = {}, {}, {}
    for name, plan in built.plans.items():
        g = built.groups[name]
        n = plan.pop.size
        counts[name] = np.asarray(g.cnt[:], dtype=np.int64).reshape(batch, n).sum(axis=0)
        names = state_names(plan.pop.model)
        final_state[name] = {var: np.asarray(getattr(g, f"{b2var}_")[:], dtype=dtype).reshape(batch, n).copy()
                             for var, b2var in names.items()}
        for var, arr in final_state[name].items():
            if not np.all(np.isfinite(arr)):
                bad = np.argwhere(~np.isfinite(arr))[0]
                raise SimulationError(describe("population", name, f"state '{var}' became non-finite during the run",
                                               got=f"{arr[tuple(bad)]} at batch {bad[0]}, neuron {bad[1]}",
                                               expected="finite values (reduce dt_s or weights)"))
    for pr in network.probes:
        plan = built.plans[pr.target]
        n = plan.pop.size
        if pr.var == "count":
            k = list(plan.counters).index(pr.name)
            probes[pr.name] = np.asarray(getattr(built.groups[pr.target], f"pc{k}")[:], dtype=np.int64).reshape(batch, n)
        elif pr.var == "spikes":
            mon = built.spike_monitors[pr.target]
            step = np.rint(np.asarray(mon.t_[:]) / dt_s).astype(np.int64)
            idx = np.asarray(mon.i[:], dtype=np.int64)
            frames = np.array([t for t in range(steps) if pr.records(t)], dtype=np.int64)
            keep = np.isin(step, frames)
            raster = np.zeros((frames.size, batch * n), dtype=bool)
            raster[np.searchsorted(frames, step[keep]), idx[keep]] = True
            probes[pr.name] = raster.reshape(-1, batch, n)
        else:
            mon, var = built.state_monitors[pr.name]
            data = np.asarray(getattr(mon, f"{var}_"), dtype=dtype)  # (batch * n, samples at t = 0, every, ...)
            sampled = np.arange(data.shape[1]) * pr.every
            inside = np.array([pr.records(int(t)) for t in sampled], dtype=bool)
            probes[pr.name] = np.ascontiguousarray(data.T[inside]).reshape(-1, batch, n)
    activity = ActivityProfile.from_counts(network, counts, steps=steps, batch=batch, dt_s=dt_s,
                                           source=f"simulated:brian2:{target}")
    return SimResult(network=network.name, backend=f"brian2:{target}", steps=steps, batch=batch, dt_s=dt_s,
                     probes=probes, activity=activity, final_state=final_state)
