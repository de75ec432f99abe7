r"""Local learning rules and the locality check.

A :class:`LearningRule` is attached to a :class:`neurosim.ir.Connection` (its
``learning_rule``) and is applied between simulation phases (like Loihi's learning epochs), by
:func:`apply_rule`. A rule **declares** the quantities it reads, from a fixed vocabulary:

=====================================  ==============================================================
``weight``                             its own stored weight ``W_ij``
``post.<stat>``                        a statistic of the post-synaptic (owner) neuron ``i`` in the
                                       latest window; ``<stat>`` in :data:`POST_STATS`
``post.phase.<phase>.<stat>``          the same in the window of phase ``<phase>``
``pre.<stat>``                         a statistic of the pre-synaptic neuron ``j``;
``pre.phase.<phase>.<stat>``           ``<stat>`` in :data:`PRE_STATS`
``global.<signal>``                    a global broadcast signal (a float)
=====================================  ==============================================================

Post-synaptic statistics: ``rate`` (events per unit time), ``count`` (events), ``mean_current``
(time average of the soma current ``mu`` of a spiking neuron or of ``u`` of an analog one),
``received`` (the time-averaged input this neuron received through *this* connection,
``sum_j W_ij r_j`` with ``r_j`` the pre-synaptic rates: the neuron integrates it physically, e.g.
in a dendritic compartment) and ``threshold`` (the neuron's own threshold: ``v_th`` of an
integrate-and-fire neuron, ``gain`` of an :class:`~neurosim.neurons.LCANeuron`; no phase).

The rule's :meth:`LearningRule.update` receives a :class:`RuleContext` that hands out **only** the
declared quantities, as :class:`LocalArray` views shaped so that element ``(b, i, j)`` of any
broadcast expression depends only on synapse ``(i, j)`` of batch element ``b``:

* post-synaptic quantities ``(batch, n_post, 1)``; pre-synaptic ``(batch, 1, n_pre)``;
* the own weight ``(n_post, n_pre)``; the threshold ``(1, n_post, 1)``.

:class:`LocalArray` supports elementwise numpy ufuncs and broadcasting (an outer product by
broadcasting is local: element ``(i, j)`` reads neuron ``i``'s and neuron ``j``'s own values) and
raises :class:`~neurosim.errors.LocalityError` for reductions (``sum``, ``mean``,
``add.reduce``), matrix products (``@``, ``dot``, ``matmul``), transposes, reshapes, indexing
other than a same-shape boolean mask in an assignment, conversion to a plain array, and any numpy
function outside a small elementwise whitelist. Rule constants must be scalars: a rule cannot
smuggle a matrix (another connection's weights, the dictionary) into its arithmetic. The trusted
helpers :meth:`RuleContext.batch_mean` and :meth:`RuleContext.batch_mean_product` average a
per-synapse update over the batch (each synapse averages its own updates: still local).

Reading an undeclared or unknown quantity raises :class:`LocalityError` naming the rule, the
quantity and what the rule declared.

Why a wrapper and not an ``ndarray`` subclass: ``np.asarray`` on an ndarray subclass silently
returns the raw data (no hook is called), which would let a rule escape every check; on a
wrapper it calls ``__array__``, which raises.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from neurosim.errors import LocalityError, NetworkError, describe

__all__ = ["LocalArray", "LearningRule", "RuleContext", "apply_rule", "connection_stats", "parse_quantity",
           "POST_STATS", "PRE_STATS", "WRITABLE"]

#: statistics of the post-synaptic (owner) neuron a rule may read
POST_STATS = ("rate", "count", "mean_current", "received", "threshold")
#: statistics of the pre-synaptic neuron a rule may read
PRE_STATS = ("rate", "count")
#: what a rule may write: its own weights and its owner neuron's threshold
WRITABLE = ("weight", "post.threshold")

_PHASE = re.compile(r"^[A-Za-z0-9_]+$")


def parse_quantity(q: str) -> tuple[str, Optional[str], str]:
    """Split a quantity name into ``(side, phase, stat)``.

    ``side`` is ``"weight"``, ``"post"``, ``"pre"`` or ``"global"``; ``phase`` is ``None`` for the
    latest window. Raises :class:`LocalityError` for a name outside the vocabulary.
    """
    if not isinstance(q, str):
        raise LocalityError(describe("quantity", str(q), "is not a name", got=type(q).__name__, expected="a string"))
    if q == "weight":
        return "weight", None, "weight"
    parts = q.split(".")
    if parts[0] == "global" and len(parts) == 2 and _PHASE.match(parts[1]):
        return "global", None, parts[1]
    if parts[0] in ("post", "pre"):
        allowed = POST_STATS if parts[0] == "post" else PRE_STATS
        if len(parts) == 2 and parts[1] in allowed:
            return parts[0], None, parts[1]
        if len(parts) == 4 and parts[1] == "phase" and _PHASE.match(parts[2]) and parts[3] in allowed \
                and parts[3] != "threshold":
            return parts[0], parts[2], parts[3]
    raise LocalityError(describe(
        "quantity", q, "is not a local quantity",
        expected="'weight', 'post.<stat>' or 'post.phase.<phase>.<stat>' with <stat> in "
                 f"{POST_STATS}, 'pre.<stat>' or 'pre.phase.<phase>.<stat>' with <stat> in {PRE_STATS}, "
                 "or 'global.<signal>'"))


# ---------------------------------------------------------------------------------------------
def _forbid(what: str) -> LocalityError:
    return LocalityError(describe("LocalArray", what, "is not local to a synapse",
                                  expected="elementwise ufuncs and broadcasting only "
                                           "(average over the batch with ctx.batch_mean)"))


_ALLOWED_FUNCS = {np.where, np.clip, np.copy, np.zeros_like, np.ones_like, np.full_like, np.broadcast_to,
                  np.shape, np.ndim, np.nan_to_num, np.isclose, np.result_type}
_FORBIDDEN_ATTRS = {"sum", "mean", "max", "min", "prod", "std", "var", "cumsum", "cumprod", "any", "all", "argmax",
                    "argmin", "argsort", "sort", "ptp", "dot", "T", "mT", "transpose", "swapaxes", "reshape", "ravel",
                    "flatten", "squeeze", "view", "base", "item", "tolist", "tobytes", "trace", "diagonal", "take",
                    "put", "repeat", "choose", "compress", "nonzero", "partition", "round", "flat", "data",
                    "ctypes", "resize", "searchsorted", "tofile"}


def _operand(x: Any, where: str) -> Any:
    """Unwrap a LocalArray; allow plain numeric scalars; refuse non-local arrays and any object
    (an object-dtype operand makes numpy call its Python methods once per element, handing them
    every element of the array)."""
    if isinstance(x, LocalArray):
        return x._a
    if x is None or isinstance(x, (bool, int, float, np.bool_, np.number)):
        return x
    arr = np.asarray(x) if not isinstance(x, (complex, str, bytes)) else np.asarray(0)
    if arr.dtype.kind not in "biuf":
        raise LocalityError(describe("LocalArray", where, "an operand is not a number", got=type(x).__name__,
                                     expected="LocalArray views from the rule context, or numeric scalars"))
    if arr.ndim == 0:
        return arr
    raise LocalityError(describe("LocalArray", where, "an operand is a plain array, not a declared local quantity",
                                 got=f"{type(x).__name__} of shape {arr.shape}",
                                 expected="LocalArray views from the rule context, or scalar constants"))


class LocalArray(NDArrayOperatorsMixin):
    """A view of local quantities that only allows elementwise arithmetic and broadcasting.

    Arithmetic operators, comparisons and elementwise numpy ufuncs (``np.maximum``, ``np.exp``,
    ...) return new :class:`LocalArray` objects. Reductions, matrix products, transposes,
    reshapes, indexing and conversion to a plain array raise :class:`LocalityError`.
    """

    __slots__ = ("_a",)

    def __init__(self, data: np.ndarray):
        object.__setattr__(self, "_a", np.asarray(data))

    # -- inspection that exposes no values --------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._a.shape

    @property
    def ndim(self) -> int:
        return self._a.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._a.dtype

    @property
    def size(self) -> int:
        return self._a.size

    def __repr__(self) -> str:
        return f"LocalArray(shape={self._a.shape}, dtype={self._a.dtype})"

    def copy(self) -> "LocalArray":
        return LocalArray(self._a.copy())

    def astype(self, dtype: Any) -> "LocalArray":
        if np.dtype(dtype).kind not in "biuf":
            raise _forbid(f"astype({np.dtype(dtype)}) (only numeric dtypes)")
        return LocalArray(self._a.astype(dtype))

    def clip(self, lo: Any = None, hi: Any = None) -> "LocalArray":
        return np.clip(self, lo, hi)

    # -- numpy protocols ----------------------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__":
            raise _forbid(f"np.{ufunc.__name__}.{method}")
        if ufunc.signature is not None:  # matmul, vecdot ...: generalized ufuncs contract axes
            raise _forbid(f"np.{ufunc.__name__}")
        if getattr(np, ufunc.__name__, None) is not ufunc:  # np.frompyfunc / np.vectorize: a Python callback
            raise _forbid(f"ufunc {ufunc.__name__!r} (not one of numpy's own; a Python callback sees every element)")
        args = [_operand(x, f"np.{ufunc.__name__}") for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_operand(o, "out=") for o in kwargs["out"])
        if "where" in kwargs:
            kwargs["where"] = _operand(kwargs["where"], "where=")
        result = ufunc(*args, **kwargs)
        if isinstance(result, tuple):
            return tuple(LocalArray(r) for r in result)
        return LocalArray(result)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        name = getattr(func, "__name__", str(func))
        if func not in _ALLOWED_FUNCS or (func is np.where and len(args) + len(kwargs) < 3):
            raise _forbid(f"np.{name}")
        if func is np.broadcast_to:
            conv = [_operand(args[0], "np.broadcast_to"), *args[1:]]
        else:
            conv = [_operand(a, f"np.{name}") for a in args]
        kw = {k: (_operand(v, f"np.{name}") if k not in ("shape", "dtype") else v) for k, v in kwargs.items()}
        result = func(*conv, **kw)
        return LocalArray(result) if isinstance(result, np.ndarray) else result

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise _forbid("conversion to a plain ndarray")

    def __getitem__(self, key: Any) -> "LocalArray":
        if key is Ellipsis or (isinstance(key, tuple) and key == ()):
            return LocalArray(self._a.copy())
        raise _forbid(f"indexing [{key!r}]")

    def __setitem__(self, key: Any, value: Any) -> None:
        if key is Ellipsis or (isinstance(key, tuple) and key == ()):
            self._a[...] = _operand(value, "assignment")
            return
        if isinstance(key, LocalArray) and key.dtype == np.bool_ and key.shape == self.shape:
            self._a[...] = np.where(key._a, _operand(value, "assignment"), self._a)
            return
        raise _forbid(f"assignment to [{key!r}] (only a same-shape boolean mask or [...])")

    def __getattr__(self, name: str) -> Any:
        if name in _FORBIDDEN_ATTRS:
            raise _forbid(f"LocalArray.{name}")
        raise AttributeError(f"LocalArray has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("LocalArray is read-only apart from item assignment")

    def __iter__(self):
        raise _forbid("iteration over neurons")

    def __len__(self) -> int:
        raise _forbid("len()")

    def __float__(self) -> float:
        if self._a.ndim == 0:
            return float(self._a)
        raise _forbid("float() of an array")

    def __bool__(self) -> bool:
        raise _forbid("truth value of an array")


# ---------------------------------------------------------------------------------------------
class LearningRule:
    """Base class of local plasticity rules.

    Subclasses set ``reads`` (quantities from the vocabulary of this module), optionally
    ``writes`` (a subset of :data:`WRITABLE`, default ``{"weight"}``) and implement
    :meth:`update`, which returns ``{"weight": new weights (n_post, n_pre)}`` and, if declared,
    ``{"post.threshold": new thresholds (n_post, 1)}`` -- both :class:`LocalArray` built from the
    context.

    Attributes
    ----------
    name : str
        Used in error messages.
    reads : frozenset of str
    writes : frozenset of str
    """

    name: str = "rule"
    reads: frozenset = frozenset()
    writes: frozenset = frozenset({"weight"})

    def check_declaration(self) -> None:
        """Raise :class:`LocalityError` if ``reads``/``writes`` name anything outside the vocabulary."""
        for q in sorted(self.reads):
            try:
                parse_quantity(q)
            except LocalityError as exc:
                raise LocalityError(f"rule '{self.name}' declares a non-local quantity: {exc}") from None
        bad = set(self.writes) - set(WRITABLE)
        if bad:
            raise LocalityError(describe("rule", self.name, "declares writes outside the synapse and its owner neuron",
                                         got=sorted(bad), expected=list(WRITABLE)))

    def update(self, ctx: "RuleContext") -> dict[str, LocalArray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def phases(self) -> set[str]:
        """Phase names the rule reads."""
        return {p for p in (parse_quantity(q)[1] for q in self.reads) if p is not None}


class RuleContext:
    """What a rule may see: its declared quantities, nothing else (see the module docstring)."""

    def __init__(self, rule: LearningRule, values: dict[str, Any], batch: int, n_post: int, n_pre: int):
        self._rule = rule
        self._values = values
        self.batch = batch
        self.n_post = n_post
        self.n_pre = n_pre

    def __getitem__(self, quantity: str) -> Any:
        parse_quantity(quantity)  # unknown names raise with the vocabulary
        if quantity not in self._rule.reads:
            raise LocalityError(describe("rule", self._rule.name, f"read undeclared quantity '{quantity}'",
                                         expected=f"one of its declared reads {sorted(self._rule.reads)}"))
        value = self._values[quantity]
        return value if isinstance(value, float) else LocalArray(value.copy())

    read = __getitem__

    def batch_mean(self, x: LocalArray) -> LocalArray:
        """Average a per-synapse (or per-neuron) quantity over the batch axis: each synapse averages
        its own updates. ``(batch, a, b) -> (a, b)``; arrays without a batch axis pass through."""
        if not isinstance(x, LocalArray):
            raise _forbid("batch_mean of a plain array")
        if x.ndim == 3:
            return LocalArray(x._a.mean(axis=0))
        if x.ndim == 2:
            return x
        raise _forbid(f"batch_mean of shape {x.shape}")

    def batch_mean_product(self, post: LocalArray, pre: LocalArray) -> LocalArray:
        """``mean_b post[b, i] * pre[b, j]``: the batch average of a Hebbian outer product,
        ``post`` shaped ``(batch, n_post, 1)``, ``pre`` ``(batch, 1, n_pre)``. Same value as
        ``batch_mean(post * pre)``, computed as one matrix product."""
        if not (isinstance(post, LocalArray) and isinstance(pre, LocalArray)):
            raise _forbid("batch_mean_product of plain arrays")
        b = self.batch
        if post.shape != (b, self.n_post, 1) or pre.shape != (b, 1, self.n_pre):
            raise _forbid(f"batch_mean_product of shapes {post.shape} x {pre.shape} "
                          f"(need ({b}, {self.n_post}, 1) x ({b}, 1, {self.n_pre}))")
        return LocalArray(post._a[:, :, 0].T @ pre._a[:, 0, :] / b)


# ---------------------------------------------------------------------------------------------
def _stat(stats: Mapping[str, Mapping[str, np.ndarray]], phase: Optional[str], stat: str, side: str,
          rule: LearningRule, quantity: str) -> np.ndarray:
    if not stats:
        raise LocalityError(describe("rule", rule.name, f"'{quantity}' was not recorded", expected="phase statistics"))
    key = list(stats)[-1] if phase is None else phase
    if key not in stats or stat not in stats[key]:
        raise LocalityError(describe("rule", rule.name, f"'{quantity}' was not recorded",
                                     got={p: sorted(s) for p, s in stats.items()},
                                     expected=f"{side} phase '{key}' with '{stat}'"))
    return np.asarray(stats[key][stat], dtype=np.float64)


def apply_rule(rule: LearningRule, *, weights: np.ndarray, post_stats: Mapping[str, Mapping[str, np.ndarray]],
               pre_stats: Mapping[str, Mapping[str, np.ndarray]], signals: Optional[Mapping[str, float]] = None,
               post_params: Optional[Mapping[str, np.ndarray]] = None,
               mask: Optional[np.ndarray] = None) -> dict[str, np.ndarray]:
    """Apply ``rule`` to one connection; the engine side of the locality check.

    Parameters
    ----------
    rule : LearningRule
    weights : ndarray (n_post, n_pre)
        The connection's current weights.
    post_stats, pre_stats : dict
        ``{phase: {stat: (batch, n)}}`` per phase, in phase order (the last one is the "latest
        window" of ``post.<stat>``); see :func:`connection_stats`.
    signals : dict, optional
        Global broadcast signals.
    post_params : dict, optional
        ``{"threshold": (n_post,)}``.
    mask : ndarray of bool (n_post, n_pre), optional
        Existing synapses; other entries keep their old value.

    Returns
    -------
    dict
        ``{"weight": (n_post, n_pre)}`` and, if the rule writes it, ``{"post.threshold": (n_post,)}``.
    """
    rule.check_declaration()
    W = np.asarray(weights, dtype=np.float64)
    n_post, n_pre = W.shape
    values: dict[str, Any] = {}
    batch = None
    for q in rule.reads:
        side, phase, stat = parse_quantity(q)
        if side == "weight":
            values[q] = W
        elif side == "global":
            if not signals or stat not in signals:
                raise LocalityError(describe("rule", rule.name, f"'{q}' is not a known signal",
                                             got=sorted(signals or {})))
            values[q] = float(signals[stat])
        elif stat == "threshold":
            if not post_params or "threshold" not in post_params:
                raise LocalityError(describe("rule", rule.name, f"'{q}' was not provided",
                                             expected="post_params['threshold']"))
            values[q] = np.asarray(post_params["threshold"], dtype=np.float64).reshape(1, n_post, 1)
        else:
            arr = _stat(post_stats if side == "post" else pre_stats, phase, stat, side, rule, q)
            n = n_post if side == "post" else n_pre
            if arr.ndim != 2 or arr.shape[1] != n or (batch is not None and arr.shape[0] != batch):
                raise NetworkError(describe("rule", rule.name, f"statistic '{q}' has the wrong shape",
                                            got=arr.shape, expected=f"({batch or 'batch'}, {n})"))
            batch = arr.shape[0]
            values[q] = arr[:, :, None] if side == "post" else arr[:, None, :]
    ctx = RuleContext(rule, values, batch or 1, n_post, n_pre)
    out = rule.update(ctx)
    result: dict[str, np.ndarray] = {}
    for key, value in out.items():
        if key not in rule.writes:
            raise LocalityError(describe("rule", rule.name, f"wrote undeclared '{key}'", expected=sorted(rule.writes)))
        if not isinstance(value, LocalArray):
            raise LocalityError(describe("rule", rule.name, f"returned '{key}' as a plain {type(value).__name__}",
                                         expected="a LocalArray computed from the context"))
        want = (n_post, n_pre) if key == "weight" else (n_post, 1)
        arr = np.broadcast_to(value._a, want) if value.ndim <= 2 else value._a
        if arr.shape != want:
            raise NetworkError(describe("rule", rule.name, f"returned '{key}' with the wrong shape", got=value.shape,
                                        expected=f"{want} (average batched updates with ctx.batch_mean)"))
        arr = np.array(arr, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise NetworkError(describe("rule", rule.name, f"produced non-finite '{key}'", expected="finite values"))
        if key == "weight" and mask is not None:
            arr = np.where(mask, arr, W)
        result[key] = arr if key == "weight" else arr[:, 0]
    return result


def connection_stats(phase_windows: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]], *, pre: str, post: str,
                     weights: np.ndarray, gain: Optional[Mapping[str, float]] = None, received: bool = True
                     ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, np.ndarray]]]:
    """Per-phase statistics of one connection's two ends (engine side, trusted).

    Parameters
    ----------
    phase_windows : dict
        ``{phase: {population: {"rate", "count", "mean_current": (batch, n)}}}``, e.g. one
        :meth:`Simulator.window` per phase.
    pre, post : str
        Population names.
    weights : ndarray (n_post, n_pre)
    gain : dict, optional
        ``{phase: g}``: the connection's gain in each phase (default 1).
    received : bool
        Compute ``received`` (skip it when no rule reads it: it costs a matrix product).

    Returns
    -------
    (post_stats, pre_stats)
        ``post_stats[phase]`` adds ``received = g W r_pre`` (batch, n_post): the time-averaged
        input through this connection.
    """
    post_stats: dict[str, dict[str, np.ndarray]] = {}
    pre_stats: dict[str, dict[str, np.ndarray]] = {}
    W = np.asarray(weights, dtype=np.float64)
    for phase, win in phase_windows.items():
        g = 1.0 if gain is None else float(gain.get(phase, 1.0))
        ps = {k: np.asarray(v) for k, v in win[post].items() if k in POST_STATS}
        if received:
            ps["received"] = g * (np.asarray(win[pre]["rate"], dtype=np.float64) @ W.T)
        post_stats[phase] = ps
        pre_stats[phase] = {k: np.asarray(v) for k, v in win[pre].items() if k in PRE_STATS}
    return post_stats, pre_stats
