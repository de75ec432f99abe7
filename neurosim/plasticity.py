r"""Learning inside the loop, local by construction: rules as compiled functions of one synapse's scalars.

A rule is written as a plain Python function of **scalars only**::

    def dw(w, post_trace, a_minus):          # the synapse's own weight, then its declared reads,
        return -a_minus * post_trace         # then the rule's constants; returns the change of w

and declared with an :class:`Update` that names *when* it runs and *what* it reads. The engine
(the compiled backend) compiles the function with numba for float64 scalars and calls it once per
synapse with exactly the declared quantities of that synapse's two neurons: it never receives an
array, so it cannot reduce over neurons or read another synapse's weight. Compilation also checks
that no value inside the function is anything but a scalar (:func:`check_scalar_function`): an
array captured from a global or a closure (the dictionary, another connection's weights), one
created inside, an object-mode block, a Python callback such as ``np.frompyfunc`` or an
object-dtype operand is refused with :class:`~neurosim.errors.LocalityError`.

When (``Update.on``)
--------------------
``"pre"``
    at every event of the pre-synaptic neuron ``j`` arriving at the synapse (after its delay);
``"post"``
    at every event of the post-synaptic neuron ``i`` (all of ``i``'s incoming synapses);
``"phase:<name>"``
    once per synapse at the end of every :meth:`run` with ``phase=<name>`` (a learning epoch, as
    Lin & Tang's contrastive phases and Loihi's epochs), with the batch-averaged change
    ``w <- w + mean_b f(w, q_b)``.

Every new value is clipped to ``[lo, hi]`` (e.g. ``lo = 0`` is the non-negativity projection).

What (``Update.reads``), in argument order after the target
------------------------------------------------------------
Event rules: ``"pre.trace"`` (the pre-synaptic trace ``x_j``, ``+1`` per arriving event, decaying
with ``pre_tau_s``), ``"post.trace"`` (``y_i``, ``+1`` per post event, ``post_tau_s``; a trace
includes the event being processed), ``"post.v"`` (membrane potential, ``u`` of an analog
neuron), ``"post.i"`` (total synaptic current, ``dt``-scaled as stored), ``"pre.value"`` (the
event's value: 1 for a spike), ``"global.<signal>"``.

Phase rules (statistics of the window, see :mod:`neurosim.learning` for the vocabulary):
``"pre.rate"``, ``"pre.count"``, ``"post.rate"``, ``"post.count"``, ``"post.mean_current"``,
``"post.received"``, ``"post.threshold"``, each optionally of a named phase
(``"pre.phase.0.rate"``), and ``"global.<signal>"``. An update whose target is
``"post.threshold"`` (the owner neuron's threshold: ``v_th`` of a LIF neuron, ``gain`` of an
analog one) reads only post-synaptic and global quantities.

The engine counts every update it applies (``ActivityProfile.learn_updates`` and
``learn_triggers``; phase applications also in ``learn_epochs``), so the mapper costs them.
"""
from __future__ import annotations

import inspect
import math
import types as pytypes
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neurosim.errors import LocalityError, NetworkError, describe
from neurosim.learning import LearningRule, parse_quantity

__all__ = [
    "EVENT_READS",
    "QMAX",
    "TARGETS",
    "PairSTDP",
    "Update",
    "check_no_event_rules",
    "check_scalar_function",
    "compile_update",
]

#: scalars a compiled rule receives after its target (reads + constants)
QMAX = 16
#: quantities an event rule may read (besides ``global.<signal>``)
EVENT_READS = ("pre.trace", "post.trace", "post.v", "post.i", "pre.value")
#: what an update may change
TARGETS = ("weight", "post.threshold")


@dataclass(frozen=True)
class Update:
    """One in-loop update of a rule (see the module docstring).

    Parameters
    ----------
    on : str
        ``"pre"``, ``"post"`` or ``"phase:<name>"``.
    fn : callable
        ``fn(x, *reads, *constants) -> dx``, a plain Python function of float scalars.
    reads : tuple of str
        Declared quantities, in argument order.
    constants : tuple of float
        Hyperparameters passed after the reads.
    target : {"weight", "post.threshold"}
    lo, hi : float
        Bounds of the new value.
    """

    on: str
    fn: Callable[..., float]
    reads: tuple[str, ...] = ()
    constants: tuple[float, ...] = ()
    target: str = "weight"
    lo: float = -math.inf
    hi: float = math.inf

    def __post_init__(self) -> None:
        name = getattr(self.fn, "__name__", repr(self.fn))
        object.__setattr__(self, "reads", tuple(self.reads))
        object.__setattr__(self, "constants", tuple(float(c) for c in self.constants))
        if not (self.on in ("pre", "post") or (self.on.startswith("phase:") and len(self.on) > 6)):
            raise NetworkError(describe("rule", name, "unknown trigger", got=repr(self.on),
                                        expected="'pre', 'post' or 'phase:<name>'"))
        if self.target not in TARGETS:
            raise LocalityError(describe("rule", name, "writes outside its synapse and owner neuron",
                                         got=repr(self.target), expected=list(TARGETS)))
        if self.target == "post.threshold" and self.on in ("pre", "post"):
            raise NetworkError(describe("rule", name, "threshold updates run at phase ends", got=self.on,
                                        expected="on='phase:<name>'"))
        if len(self.reads) + len(self.constants) > QMAX:
            raise NetworkError(describe("rule", name, "too many reads and constants",
                                        got=len(self.reads) + len(self.constants), expected=f"<= {QMAX}"))
        for q in self.reads:
            self.side(q)
        if not all(np.isfinite(c) for c in self.constants) or not (self.lo <= self.hi):
            raise NetworkError(describe("rule", name, "constants must be finite and lo <= hi",
                                        got=(self.constants, self.lo, self.hi)))

    @property
    def event(self) -> bool:
        return self.on in ("pre", "post")

    @property
    def phase(self) -> str:
        return self.on[len("phase:"):] if not self.event else ""

    def side(self, quantity: str) -> str:
        """``"pre"``, ``"post"``, ``"global"`` or ``"event"`` of a declared read; raises
        :class:`LocalityError` for anything outside the vocabulary of this trigger and target."""
        name = getattr(self.fn, "__name__", "rule")
        if quantity.startswith("global."):
            parse_quantity(quantity)
            return "global"
        if self.event:
            if quantity not in EVENT_READS:
                raise LocalityError(describe("rule", name, f"'{quantity}' is not a local quantity of an event rule",
                                             expected=list(EVENT_READS) + ["global.<signal>"]))
            return "event"
        side, _, _ = parse_quantity(quantity)
        if side == "weight":
            raise LocalityError(describe("rule", name, "'weight' is the first argument, not a read",
                                         expected="reads of the two neurons or global signals"))
        if self.target == "post.threshold" and side == "pre":
            raise LocalityError(describe("rule", name, f"a threshold update cannot read '{quantity}'",
                                         expected="post-synaptic (owner) or global quantities"))
        return side


def check_no_event_rules(network, backend: str) -> None:
    """Raise :class:`~neurosim.errors.SimulationError` if a connection of ``network`` has a rule
    that learns on events inside the loop: ``backend`` cannot run it, and running the network
    without its learning would silently be another model."""
    from neurosim.errors import SimulationError

    for c in network.connections:
        rule = c.learning_rule
        if rule is not None and hasattr(rule, "loop_updates") and any(u.event for u in rule.loop_updates()):
            raise SimulationError(describe("connection", c.name, f"its rule '{getattr(rule, 'name', rule)}' learns on "
                                           f"spike events inside the loop, which the {backend} backend does not run",
                                           expected="simulate(..., backend='compiled')"))


_SCALAR_FUNCS = {"math", "numpy", "builtins"}


def check_scalar_function(fn: Callable, nargs: int, *, name: str = "rule"):
    """Compile ``fn`` for ``nargs`` float64 scalars and verify that every value inside it is a
    scalar; return the numba dispatcher.

    Raises
    ------
    LocalityError
        ``fn`` does not compile as a function of scalars, or holds (captures, creates, or reaches
        through object mode) anything but numbers: the message names the variable and its type.
    """
    from numba import njit, types

    py = getattr(fn, "py_func", fn)  # a numba dispatcher: recompile its Python function here
    if not isinstance(py, pytypes.FunctionType):
        raise LocalityError(describe("rule", name, "is not a plain Python function", got=type(fn).__name__,
                                     expected="def f(x, *reads, *constants) -> float"))
    try:
        params = inspect.signature(py).parameters
    except (TypeError, ValueError):
        params = {}
    if len(params) != nargs:
        raise NetworkError(describe("rule", name, "wrong number of arguments", got=len(params),
                                    expected=f"{nargs} (the target, then each read, then each constant)"))
    sig = types.float64(*([types.float64] * nargs))
    try:
        disp = njit(sig, cache=False)(py)
    except Exception as exc:  # noqa: BLE001 - any compile failure: the function is not a scalar function
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LocalityError(describe("rule", name, "does not compile as a function of scalars", got=first[:200],
                                     expected="arithmetic and math/numpy functions of its float arguments")) from None
    _check_types(disp, sig.args, name)
    return disp


def _check_types(disp, args, name: str, depth: int = 0) -> None:
    from numba.core import types

    cres = disp.overloads[tuple(args)]
    for var, typ in cres.type_annotation.typemap.items():
        if isinstance(typ, (types.Number, types.Boolean, types.NoneType, types.Omitted, types.StringLiteral)):
            continue
        if isinstance(typ, (types.BaseTuple,)) and all(isinstance(t, (types.Number, types.Boolean))
                                                       for t in getattr(typ, "types", ())):
            continue
        if isinstance(typ, types.Module) and typ.pymod.__name__.split(".")[0] in _SCALAR_FUNCS:
            continue
        if isinstance(typ, (types.Function, types.NumberClass, types.BoundFunction)):
            continue
        if isinstance(typ, types.Dispatcher) and depth < 4:
            callee = typ.dispatcher
            for sig in callee.overloads:
                _check_types(callee, sig, name, depth + 1)
            continue
        what = str(var).lstrip("$")
        kind = "an array" if isinstance(typ, types.Array) else str(typ)
        raise LocalityError(describe("rule", name, f"holds a non-scalar value '{what}'", got=kind,
                                     expected="scalars only (a rule sees one synapse: no captured or created arrays, "
                                              "no object mode)"))


_COMPILED: dict = {}


def compile_update(update: Update, *, name: str = "rule"):
    """The engine's form of ``update``: a numba ``cfunc`` ``f(x, q) -> dx`` with ``q`` the
    :data:`QMAX` scalars (reads, then constants, then zeros), after :func:`check_scalar_function`."""
    from numba import cfunc, types

    py = getattr(update.fn, "py_func", update.fn)
    k = len(update.reads) + len(update.constants)
    key = (py, k)
    if key in _COMPILED:
        return _COMPILED[key]
    inner = check_scalar_function(py, 1 + k, name=name)

    def adapter(x, q):  # q[:k] is a static slice: k is a compile-time constant of this closure
        return inner(x, *q[:k])

    sig = types.float64(types.float64, types.UniTuple(types.float64, QMAX))
    _COMPILED[key] = compiled = cfunc(sig)(adapter)
    return compiled


# ---------------------------------------------------------------------------------------------
def _stdp_depress(w, post_trace, a_minus):
    return -a_minus * post_trace


def _stdp_potentiate(w, pre_trace, a_plus):
    return a_plus * pre_trace


@dataclass(frozen=True, eq=False)
class PairSTDP(LearningRule):
    r"""Pair-based STDP (all-to-all pairs), event-driven inside the loop.

    Traces ``x_j`` (pre) and ``y_i`` (post) jump by 1 at each event and decay as
    ``exp(-t/tau_pre)``, ``exp(-t/tau_post)``. At a pre-synaptic event arriving at synapse
    ``(i, j)``: ``w <- clip(w - a_minus y_i, w_min, w_max)`` (depression: post before pre); at a
    post-synaptic event of ``i``: ``w <- clip(w + a_plus x_j, w_min, w_max)`` (potentiation: pre
    before or with post). Brian2's classic STDP example with ``Apre = a_plus``,
    ``Apost = -a_minus``. Both updates read one synapse's weight and its two neurons' traces.

    Parameters
    ----------
    a_plus, a_minus : float
        Potentiation and depression amplitudes (units of the weight).
    tau_pre_s, tau_post_s : float
        Trace time constants, seconds.
    w_min, w_max : float
        Weight bounds.
    """

    a_plus: float = 0.01
    a_minus: float = 0.0105
    tau_pre_s: float = 20e-3
    tau_post_s: float = 20e-3
    w_min: float = 0.0
    w_max: float = 1.0

    name = "pair_stdp"
    reads = frozenset({"weight"})

    def __post_init__(self) -> None:
        for attr in ("a_plus", "a_minus", "tau_pre_s", "tau_post_s"):
            v = getattr(self, attr)
            if not (np.isfinite(v) and v >= 0) or (attr.startswith("tau") and v <= 0):
                raise NetworkError(describe("rule", self.name, f"{attr} must be a finite number "
                                            f"{'> 0' if attr.startswith('tau') else '>= 0'}", got=v))
        if not self.w_min <= self.w_max:
            raise NetworkError(describe("rule", self.name, "w_min must not exceed w_max",
                                        got=(self.w_min, self.w_max)))

    def trace_taus(self) -> tuple[float, float]:
        """``(tau_pre_s, tau_post_s)`` of the traces the engine keeps for this rule."""
        return self.tau_pre_s, self.tau_post_s

    def loop_updates(self) -> list[Update]:
        return [Update("pre", _stdp_depress, ("post.trace",), (self.a_minus,), lo=self.w_min, hi=self.w_max),
                Update("post", _stdp_potentiate, ("pre.trace",), (self.a_plus,), lo=self.w_min, hi=self.w_max)]

    def update(self, ctx):  # pragma: no cover - an event rule has no between-runs form
        raise LocalityError(describe("rule", self.name, "is an event rule: it runs inside the compiled loop",
                                     expected="simulate(..., backend='compiled')"))
