"""The one exception hierarchy shared by :mod:`neurosim` and :mod:`mapper`.

Every error names the object it is about, what is wrong, what was found and what was
expected, in the shape ``<kind> '<name>': <what is wrong> (got <value>, expected <constraint>)``.
Errors mix a domain base with the matching builtin so ``except ValueError`` keeps working.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "NeurosimError",
    "NetworkError",
    "LocalityError",
    "SimulationError",
    "BackendUnavailableError",
    "SpecError",
    "ChipSpecError",
    "ExperimentError",
    "CapacityError",
    "MappingError",
    "InputError",
    "ResourceError",
    "describe",
    "MAX_SEED",
]

#: Largest seed accepted anywhere: seeds reach numpy, METIS and Mt-KaHyPar, whose seeds are C ints.
MAX_SEED = 2**31 - 1


def describe(kind: str, name: str, what: str, *, got: Any = None, expected: Any = None) -> str:
    """Format a message as ``<kind> '<name>': <what> (got <got>, expected <expected>)``."""
    msg = f"{kind} '{name}': {what}"
    parts = []
    if got is not None:
        parts.append(f"got {got}")
    if expected is not None:
        parts.append(f"expected {expected}")
    if parts:
        msg += " (" + ", ".join(parts) + ")"
    return msg


class NeurosimError(Exception):
    """Base class of every error raised on purpose by neurosim and the mapper."""


class NetworkError(NeurosimError, ValueError):
    """A network description (population, connection, input, probe) is invalid."""


class LocalityError(NeurosimError, PermissionError):
    """A learning rule asked for a quantity that is not local to its synapse."""


class SimulationError(NeurosimError, RuntimeError):
    """A run failed: non-finite state, overflow, or an impossible run configuration."""


class BackendUnavailableError(SimulationError):
    """A backend was asked for explicitly but cannot run here (never a silent fallback)."""


class InputError(NeurosimError, ValueError):
    """A user-supplied file, array or parameter is unusable: the message names the file (and key
    or field) or the parameter, what was expected and what was found."""


class SpecError(InputError):
    """A YAML specification file (chip, experiment, sweep) is invalid.

    The message is ``<kind> '<file>:<key>': <what> (line N) (got ..., expected ...)``, with
    :attr:`kind` set by each subclass.

    Parameters
    ----------
    path
        The YAML file (or ``"<dict>"`` for in-memory specs).
    key
        Dotted key path inside the file, e.g. ``"core.max_in_axons"``.
    what
        What is wrong.
    got, expected
        The offending value and the constraint it violates.
    """

    kind = "spec"

    def __init__(self, path: str, key: str, what: str, *, got: Any = None, expected: Any = None):
        self.path = str(path)
        self.key = key
        self.got = got
        self.expected = expected
        self.what = what
        super().__init__(describe(self.kind, f"{self.path}:{key}", what, got=got, expected=expected))

    def __reduce__(self):  # pickling (worker processes) and deepcopy rebuild from the fields
        return _rebuild_spec, (type(self), self.path, self.key, self.what, self.got, self.expected)


def _rebuild_spec(cls: type, path: str, key: str, what: str, got: Any, expected: Any) -> "SpecError":
    return cls(path, key, what, got=got, expected=expected)


class ChipSpecError(SpecError):
    """A chip specification file is invalid (see :class:`SpecError`)."""

    kind = "chip spec"


class ExperimentError(SpecError):
    """An experiment file (or its data files) is invalid (see :class:`SpecError`)."""

    kind = "experiment"


class CapacityError(NeurosimError, ValueError):
    """A network (or part of it) does not fit a core, chip or board.

    Attributes
    ----------
    obj : str
        What does not fit (a population, a fragment, a core, the network).
    resource : str
        The limit that is exceeded, e.g. ``"max_in_axons"``.
    used, limit : float
        Demand and capacity of that resource.
    hint : str
        What would fit (how many cores or chips it would take, a smaller piece ...).
    """

    def __init__(self, obj: str, resource: str, used: float, limit: float, hint: str = ""):
        self.obj = obj
        self.resource = resource
        self.used = used
        self.limit = limit
        self.hint = hint
        msg = describe("capacity", obj, f"{resource} exceeded by {used - limit:g}",
                       got=f"{used:g}", expected=f"<= {limit:g}")
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)

    def __reduce__(self):  # pickling (worker processes) and deepcopy rebuild from the fields
        return type(self), (self.obj, self.resource, self.used, self.limit, self.hint)


class MappingError(NeurosimError, RuntimeError):
    """A mapping stage failed for a reason other than capacity (bad strategy, bad file ...)."""


class ResourceError(InputError):
    """A computation would need more memory or time than allowed, found before it allocates.

    The limits are the machine's memory (or a ``max_memory`` the user sets) and a maximum
    duration; the message names what was asked for and gives the estimate.

    Attributes
    ----------
    obj : str
        What the estimate is of (an experiment file and key, an option, an array in a file).
    resource : str
        ``"memory"`` (bytes) or ``"duration"`` (seconds).
    need, limit : float
        The estimate and the limit, in bytes or seconds.
    """

    def __init__(self, obj: str, resource: str, need: float, limit: float, what: str = "", hint: str = ""):
        self.obj, self.resource, self.need, self.limit, self.what, self.hint = obj, resource, need, limit, what, hint
        text = _bytes(need) if resource == "memory" else _seconds(need)
        lim = _bytes(limit) if resource == "memory" else _seconds(limit)
        msg = describe("resources", obj, what or f"needs {text} of {resource}", got=f"an estimated {text}",
                       expected=f"at most {lim}" + (f", {hint}" if hint else ""))
        super().__init__(msg)

    def __reduce__(self):  # pickling (worker processes) and deepcopy rebuild from the fields
        return type(self), (self.obj, self.resource, self.need, self.limit, self.what, self.hint)


def _bytes(n: float) -> str:
    """``22.6 GiB``: a byte count in binary units."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover


def _seconds(s: float) -> str:
    """``3.2 h``: a duration in the largest unit that keeps it >= 1."""
    s = float(s)
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            text = f"{s / size:.3g}"
            return f"{text} {unit[:-1] if text == '1' and unit.endswith('s') else unit}"
    return f"{s:.3g} s"
