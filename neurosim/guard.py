"""Resource guard: refuse a computation before it allocates what the machine does not have, or
starts a run that would not end.

A computation that sizes its arrays from user input (an experiment's sizes and steps, a file's
shapes, a command's options) estimates its memory and duration first and calls
:func:`check_memory` and :func:`check_duration`; both raise
:class:`~neurosim.errors.ResourceError` with the estimate (``needs 22.6 GiB of memory (got an
estimated 22.6 GiB, expected at most 15.5 GiB: ...)``) instead of a numpy ``MemoryError`` deep
inside a run, or a run that goes on until it is killed.

The limits are a :class:`ResourceLimits`: by default the machine's physical memory and
:data:`DEFAULT_MAX_DURATION_S`; a user sets lower (or higher) ones with ``max_memory_bytes`` /
``max_duration_s`` (the CLI's ``--max-memory`` and ``--max-duration``).

Durations are estimated from multiply-accumulates at :data:`MACS_PER_S`, a deliberately round
throughput of the numpy engine on one core (so an estimate is a rough figure, stated as such);
:func:`format_duration` and :func:`format_bytes` print them.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Union

from neurosim.errors import InputError, ResourceError, _bytes, _seconds, describe

if TYPE_CHECKING:  # pragma: no cover
    from neurosim.ir import Network

__all__ = ["ResourceLimits", "DEFAULT_MAX_DURATION_S", "MACS_PER_S", "GEMM_MACS_PER_S", "LONG_RUN_S",
           "machine_memory_bytes",
           "check_memory", "check_duration", "check_run", "run_estimate", "estimate_seconds", "format_bytes",
           "format_duration", "parse_memory", "parse_duration", "STEP_OVERHEAD_S"]

#: longest estimated run accepted without a user-set ``max_duration_s``: one day
DEFAULT_MAX_DURATION_S = 86400.0
#: nominal multiply-accumulates per second of the estimates (numpy engine, one core)
MACS_PER_S = 1e9
#: nominal multiply-accumulates per second of dense matrix products through BLAS on one core
#: (estimates only: PUDLE's products measured 1.6e10 per second on one core of the CI machine)
GEMM_MACS_PER_S = 5e9
#: estimated duration above which commands announce the estimate before starting
LONG_RUN_S = 10.0
#: fixed cost of one simulated step of the numpy engine, seconds (estimates only)
STEP_OVERHEAD_S = 5e-4


def machine_memory_bytes() -> int:
    """Physical memory of this machine in bytes (``sysconf``; 8 GiB when it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 2**30


@dataclass(frozen=True)
class ResourceLimits:
    """The most memory and time a computation may be estimated to need.

    Attributes
    ----------
    max_memory_bytes : int, optional
        Bytes; ``None``: the machine's physical memory (:func:`machine_memory_bytes`).
    max_duration_s : float, optional
        Seconds; ``None``: :data:`DEFAULT_MAX_DURATION_S`.
    """

    max_memory_bytes: Optional[int] = None
    max_duration_s: Optional[float] = None

    def __post_init__(self) -> None:
        m, d = self.max_memory_bytes, self.max_duration_s
        if m is not None and (isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m) or m <= 0):
            raise InputError(describe("option", "max_memory_bytes", "must be a positive number of bytes", got=repr(m),
                                      expected="> 0 or None (the machine's memory)"))
        if d is not None and (isinstance(d, bool) or not isinstance(d, (int, float)) or not math.isfinite(d) or d <= 0):
            raise InputError(describe("option", "max_duration_s", "must be a positive number of seconds", got=repr(d),
                                      expected="> 0 or None (one day)"))

    @property
    def memory(self) -> int:
        """The memory limit in bytes."""
        return int(self.max_memory_bytes) if self.max_memory_bytes is not None else machine_memory_bytes()

    @property
    def duration(self) -> float:
        """The duration limit in seconds."""
        return float(self.max_duration_s) if self.max_duration_s is not None else DEFAULT_MAX_DURATION_S

    def memory_hint(self) -> str:
        return ("the limit set by --max-memory / max_memory_bytes" if self.max_memory_bytes is not None
                else "this machine's memory")

    def duration_hint(self) -> str:
        return ("the limit set by --max-duration / max_duration_s" if self.max_duration_s is not None
                else "the default limit (raise it with --max-duration / max_duration_s)")


def check_memory(obj: str, need_bytes: float, limits: Optional[ResourceLimits] = None, *, detail: str = "") -> None:
    """Raise :class:`ResourceError` if ``need_bytes`` exceeds the memory limit.

    Parameters
    ----------
    obj : str
        What is estimated (named in the message).
    need_bytes : float
        The estimate.
    limits : ResourceLimits, optional
        Default: the machine's memory.
    detail : str
        What the estimate is made of (``"dictionary 4096 x 1048576 float64"``), for the message.
    """
    limits = limits or ResourceLimits()
    if not math.isfinite(need_bytes) or need_bytes > limits.memory:
        what = f"needs {format_bytes(need_bytes)} of memory" + (f" ({detail})" if detail else "")
        raise ResourceError(obj, "memory", float(need_bytes), float(limits.memory), what, limits.memory_hint())


def check_duration(obj: str, seconds: float, limits: Optional[ResourceLimits] = None, *, detail: str = "") -> None:
    """Raise :class:`ResourceError` if the estimated ``seconds`` exceed the duration limit."""
    limits = limits or ResourceLimits()
    if not math.isfinite(seconds) or seconds > limits.duration:
        what = f"would run for about {format_duration(seconds)}" + (f" ({detail})" if detail else "")
        raise ResourceError(obj, "duration", float(seconds), float(limits.duration), what, limits.duration_hint())


def run_estimate(network: "Network", steps: int) -> tuple[float, float]:
    """Memory (bytes) and duration (seconds) of simulating ``network`` for ``steps`` steps.

    Memory: the engine's state (16 float64 arrays per neuron and input), the probes' frames, and a
    copy of every weight (CSR, 16 bytes per synapse). Duration: every synapse of every input once
    per step at :data:`MACS_PER_S` (a dense upper bound; event-driven delivery is usually faster)
    plus :data:`STEP_OVERHEAD_S` per step.
    """
    batch = network.batch
    neurons = float(network.n_neurons)
    synapses = float(sum(c.weights.nnz if c.is_conv else c.n_synapses for c in network.connections))
    sizes = {p.name: p.size for p in network.populations}
    frames = 0.0
    for pr in network.probes:
        stop = steps if pr.stop is None else min(int(pr.stop), steps)
        n = float(sizes.get(pr.target, 0))
        frames += n * (1 if pr.var == "count" else max(0, stop - int(pr.start)) / max(1, int(pr.every)))
    memory = 8.0 * (16.0 * neurons * batch + frames * batch) + 16.0 * synapses
    seconds = steps * (STEP_OVERHEAD_S + batch * synapses / MACS_PER_S)
    return memory, seconds


def check_run(network: "Network", steps: int, limits: Optional[ResourceLimits] = None, *,
              what: str = "simulation") -> tuple[float, float]:
    """Refuse a simulation of ``network`` for ``steps`` steps beyond ``limits``
    (:func:`run_estimate`); return the estimate ``(bytes, seconds)``."""
    memory, seconds = run_estimate(network, steps)
    detail = f"{network.n_neurons} neurons, {network.batch} input(s), {steps} steps"
    check_memory(what, memory, limits, detail=detail)
    check_duration(what, seconds, limits, detail=detail)
    return memory, seconds


def estimate_seconds(macs: float, *, rate: float = MACS_PER_S) -> float:
    """Seconds that ``macs`` multiply-accumulates take at ``rate`` per second (default
    :data:`MACS_PER_S`; :data:`GEMM_MACS_PER_S` for dense matrix products)."""
    return float(macs) / rate


def format_bytes(n: float) -> str:
    """``22.6 GiB``."""
    return _bytes(n) if math.isfinite(n) else "an unbounded amount"


def format_duration(s: float) -> str:
    """``3.2 h``, ``12 min``, ``4.1 s``."""
    return _seconds(s) if math.isfinite(s) else "forever"


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*$")
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(s|min|m|h|d)?\s*$")


def parse_memory(text: Union[str, int]) -> int:
    """Bytes from ``"4G"``, ``"512MiB"``, ``"1.5GB"``, ``"1e9"`` (binary units: ``G`` is 2^30).

    Raises
    ------
    InputError
        Not a positive size.
    """
    m = _SIZE.match(str(text))
    if not m:
        raise InputError(describe("option", "max-memory", "not a memory size", got=repr(text),
                                  expected="a positive size such as 4G, 512M or 1e9 (bytes)"))
    value = float(m.group(1)) * 1024 ** " KMGT".index((m.group(2) or " ").upper())
    if not math.isfinite(value) or value < 1:
        raise InputError(describe("option", "max-memory", "must be at least one byte", got=repr(text),
                                  expected="a positive size such as 4G"))
    return int(value)


def parse_duration(text: Union[str, float]) -> float:
    """Seconds from ``"90"``, ``"90s"``, ``"15min"``, ``"2h"``, ``"1d"``.

    Raises
    ------
    InputError
        Not a positive finite duration.
    """
    m = _DURATION.match(str(text))
    if not m:
        raise InputError(describe("option", "max-duration", "not a duration", got=repr(text),
                                  expected="a positive number of seconds, or with a unit: 90s, 15min, 2h, 1d"))
    value = float(m.group(1)) * {"s": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}[m.group(2) or "s"]
    if not math.isfinite(value) or value <= 0:
        raise InputError(describe("option", "max-duration", "must be positive and finite", got=repr(text),
                                  expected="> 0"))
    return value
