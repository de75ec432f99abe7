"""Helpers shared by the CLI subcommands."""
from __future__ import annotations

import argparse
import math
import sys
from typing import Any, Optional


from neurosim.cli.errors import UsageError
from neurosim.errors import MAX_SEED, InputError
from neurosim.guard import LONG_RUN_S, ResourceLimits, format_duration, parse_duration, parse_memory

__all__ = ["StageProgress", "seed_arg", "seconds_arg", "rate_arg", "MAX_SEED", "memory_arg", "duration_arg",
           "add_limit_options", "limits_of", "announce", "announce_compile", "note", "refuse_unless"]



def seed_arg(text: str) -> int:
    """``--seed`` value: an integer in ``0 .. MAX_SEED`` (argparse reports anything else in one line)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer in 0 .. {MAX_SEED}, got {text!r}") from None
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected an integer in 0 .. {MAX_SEED}, got {v}")
    return v


def seconds_arg(text: str) -> float:
    """A budget in seconds: a finite number >= 0 (argparse reports anything else in one line)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {v}")
    return v


def rate_arg(text: str) -> float:
    """A rate in events per step: a number in [0, 1]."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected events per step in [0, 1], got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"out of range: expected events per step in [0, 1], got {v}")
    return v


def memory_arg(text: str) -> int:
    """``--max-memory``: bytes from ``4G``, ``512M``, ``1e9`` (argparse reports anything else in one line)."""
    try:
        return parse_memory(text)
    except InputError:
        raise argparse.ArgumentTypeError(f"expected a memory size such as 4G, 512M or 1e9 bytes, got {text!r}") \
            from None


def duration_arg(text: str) -> float:
    """``--max-duration``: seconds from ``90``, ``15min``, ``2h``, ``1d``."""
    try:
        return parse_duration(text)
    except InputError:
        raise argparse.ArgumentTypeError(f"expected a duration such as 90s, 15min, 2h or 1d, got {text!r}") from None


def add_limit_options(p: argparse.ArgumentParser) -> None:
    """``--max-memory`` and ``--max-duration`` (:class:`neurosim.guard.ResourceLimits`)."""
    p.add_argument("--max-memory", type=memory_arg, metavar="SIZE",
                   help="refuse, before starting, work estimated to need more memory, e.g. 4G or 512M "
                        "(default: this machine's physical memory)")
    p.add_argument("--max-duration", type=duration_arg, metavar="T",
                   help="refuse, before starting, work estimated to run longer, e.g. 90s, 15min, 2h "
                        "(default 1d)")


def limits_of(args: argparse.Namespace) -> ResourceLimits:
    """The :class:`~neurosim.guard.ResourceLimits` of ``--max-memory`` and ``--max-duration``."""
    return ResourceLimits(max_memory_bytes=getattr(args, "max_memory", None),
                          max_duration_s=getattr(args, "max_duration", None))


#: what the estimate of a simulation assumes (the default note of :func:`announce`)
SIMULATION_BOUND = "every synapse every step; event-driven runs are usually much faster"


def announce(what: str, seconds: float, *, bound: str = SIMULATION_BOUND) -> None:
    """Print the estimated duration of a long piece of work (at least :data:`neurosim.guard.LONG_RUN_S`);
    ``bound`` says why the estimate is an upper bound."""
    if seconds >= LONG_RUN_S:
        print(f"{what}: at most about {format_duration(seconds)} (an upper bound: {bound}; progress on stderr)",
              flush=True)


def announce_compile(backend: str) -> None:
    """Say so when the compiled engine's first run on this machine will compile its kernels."""
    if backend == "compiled":
        from neurosim.backends.compiled import kernels_cached  # noqa: PLC0415

        if kernels_cached() is False:
            print("first run of the compiled engine here: compiling its kernels (about a minute, once; "
                  "later runs load them from numba's disk cache)", flush=True)


def note(args: argparse.Namespace, text: Optional[str]) -> None:
    """Print ``text`` (if any) as one ``neurosim COMMAND: note: ...`` line on stderr."""
    if text:
        command = getattr(args, "command", None)
        print(f"neurosim{' ' + command if command else ''}: note: {text}", file=sys.stderr, flush=True)


def refuse_unless(args: argparse.Namespace, dest: str, ok: bool, why: str) -> None:
    """Refuse the option ``dest`` if the user gave it (its value is not the ``None`` sentinel) and it
    has no effect (``ok`` false): a :class:`UsageError` ``option --dest: why`` (exit code 2)."""
    if getattr(args, dest, None) is not None and not ok:
        raise UsageError(f"option --{dest.replace('_', '-')}: {why}")


def _interactive() -> bool:
    """Whether stderr is a terminal (progress bars are drawn only there)."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


#: what the stages of the learning verbs count (``warp``, ``denoise``: :mod:`neurosim.progress`)
_UNITS = {"predictor": "epoch", "targets": "phase", "dictionary": "phase", "denoising": "method",
          "warm start": "patch", "cold start": "patch"}


def _unit(stage: str) -> str:
    """What a stage counts: annealing moves, over-full parts of a repair, or attempts / steps."""
    if stage in _UNITS:
        return _UNITS[stage]
    if stage.startswith("place"):
        return "move"
    if stage.endswith("repair"):
        return "part"
    return "attempt" if stage.startswith("partition: ") else "step"


class StageProgress:
    """Progress of a multi-stage computation on stderr: one bar per stage.

    Called as ``progress(stage, done, total)`` (the mapper's :data:`mapper.options.Progress`); a new
    ``stage`` closes the previous bar. Bars are drawn only when stderr is a terminal (logs and
    pipes stay clean, and an error stays one line) and erased when closed; ``enabled=False``
    shows nothing. Use as a context manager (or call :meth:`close`) so the last bar is closed.
    """

    def __init__(self, *, enabled: bool = True, prefix: str = "mapping"):
        self.enabled = enabled and _interactive()
        self.prefix = prefix
        self._stage: Optional[str] = None
        self._bar: Any = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self._stage or self._bar is None or total != self._bar.total:
            self.close()
            from tqdm import tqdm

            self._stage = stage
            self._bar = tqdm(total=int(total), desc=f"{self.prefix}: {stage}", file=sys.stderr, mininterval=0.5,
                             leave=False, unit=_unit(stage))
        self._bar.update(int(done) - self._bar.n)  # redrawn at most every 0.5 s

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._stage = None, None

    def __enter__(self) -> "StageProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
