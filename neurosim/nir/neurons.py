"""NIR's neuron nodes as neurosim :class:`~neurosim.neurons.LIF` populations (used by :mod:`neurosim.nir.read`).

Spikes are unit pulses one step ``dt`` long (``spikes="pulse"``; with ``"dirac"``, impulses of
area 1: every factor ``f`` below divided by ``dt``), the ODEs are integrated by forward Euler at
``dt``, and the input of a node is ``I = W s + b`` (the composed linear chain). Each node becomes a
``LIF`` model and a per-neuron *weight factor*: neurosim's connection weights are the NIR
weights times that factor. With neurosim's LIF step (:class:`~neurosim.neurons.LIF`)::

    v <- v + dt (bias + i - (v - v_rest) / tau_m);   spike when v > v_th (or >=);   v <- v_reset
    i <- (1 - dt/tau_s) i + (1/tau_s) sum W' s          (a spike of weight w' moves v by w')

the nodes are, with ``f`` the factor:

=========  ==========================================================  ================================  ======================
NIR node   neurosim LIF                                                 f                                 bias (v per second)
=========  ==========================================================  ================================  ======================
IF         ``tau_s = dt, tau_m = inf, v_th, v_reset``                  ``dt R``                          ``R b``
LIF        ``tau_s = dt, tau_m = tau, v_rest = v_leak, v_th, v_reset``  ``dt R / tau``                    ``R b / tau``
CubaLIF    ``tau_s = tau_syn, tau_m = tau_mem, v_rest = v_leak, ...``  ``dt R w_in / tau_mem``           ``R w_in b / tau_mem`` (*)
LI         LIF with ``v_th = NEVER_FIRES``                              ``dt R / tau``                    ``R b / tau``
CubaLI     CubaLIF with ``v_th = NEVER_FIRES``                          ``dt R w_in / tau_mem``           ``R w_in b / tau_mem``
I          IF with ``v_th = NEVER_FIRES``                               ``dt R``                          ``R b``
Threshold  ``tau_s = dt, tau_m = dt, v_th = threshold``, reset zero     ``1``                             ``b / dt``
=========  ==========================================================  ================================  ======================

(*) entering the synaptic current (``bias_receptor = "syn"``): ``i <- i + (dt/tau_syn) bias``
each step, so the bias reaches ``v`` through the synaptic filter, as a spike of weight ``b`` would.
Every node's bias switches on at ``bias_start``, the first step its input can arrive; its spike
condition is NIR's ``v > v_th`` unless ``">="`` is asked for or recorded in its metadata.

``I`` (integrator, ``dv/dt = R I``) is the non-spiking ``IF``: ``v_{n+1} = v_n + dt R (W s_n + b)``.

``Threshold`` (``s = H(x - threshold)``, memoryless) is a neuron whose state is wiped every
step: with ``tau_s = tau_m = dt`` and ``v_rest = 0`` the LIF step gives
``v_{n+1} = v_n + dt (bias + i_n - v_n / dt) = dt bias + dt i_n`` and ``i_n = W' s_{n-1} / dt``
(the previous current decays by ``1 - dt/tau_s = 0``), so ``v_{n+1} = W' s_n + dt bias = W s_n + b
= x_n`` with ``W' = W`` and ``bias = b / dt``; the neuron spikes when ``x_n > threshold`` (NIR's
Heaviside; ``>=`` if asked for) one step after its input spikes, like every neurosim connection. The
threshold must be positive (neurosim's ``v_th > 0``; with ``threshold <= 0`` a silent input would
spike).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from neurosim.errors import InputError, describe
from neurosim.neurons import LIF, SPIKE_CONDITIONS

__all__ = ['NEURONS', 'READOUTS', 'NEVER_FIRES', 'param_shape', 'neuron_model', 'recorded_options', 'THRESHOLD_KEY',
           'BIAS_START_KEY', 'BIAS_RECEPTOR_KEY']



NEURONS = ("IF", "LIF", "CubaLIF", "LI", "CubaLI", "I", "Threshold")


#: non-spiking nodes (graded output): they may only feed Output nodes
READOUTS = ("LI", "CubaLI", "I")


#: threshold of the non-spiking readouts (I, LI, CubaLI): never reached
NEVER_FIRES = 1e30


_PARAMS = {"IF": ("r", "v_threshold", "v_reset"), "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
           "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
           "LI": ("tau", "r", "v_leak"), "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
           "I": ("r",), "Threshold": ("threshold",)}


def param_shape(name: str, type_: str, obj: Any) -> Optional[tuple[int, ...]]:
    """The layer shape the parameters of node ``name`` declare, or ``None`` if all are scalars."""
    shapes = [np.shape(getattr(obj, p)) for p in _PARAMS[type_] if getattr(obj, p, None) is not None]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError as exc:
        raise InputError(describe("NIR node", name, "parameters have inconsistent shapes", got=shapes)) from exc
    return tuple(int(v) for v in shape) if len(shape) and int(np.prod(shape)) > 1 else None


def _params(name: str, type_: str, obj: Any, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    out = {}
    for p in _PARAMS[type_]:
        value = getattr(obj, p, None)
        if value is None:
            value = 0.0 if p == "v_reset" else 1.0
        arr = np.asarray(value, dtype=float)
        try:
            arr = np.broadcast_to(arr.reshape(shape) if arr.size == int(np.prod(shape)) else arr, shape).ravel()
        except ValueError as exc:
            raise InputError(describe("NIR node", name, f"parameter {p} does not fit the layer", got=arr.shape,
                                      expected=f"broadcastable to {shape}")) from exc
        if not np.all(np.isfinite(arr)):
            raise InputError(describe("NIR node", name, f"parameter {p} is not finite", expected="finite values"))
        out[p] = arr
    for p in ("tau", "tau_mem", "tau_syn"):
        if p in out and not np.all(out[p] > 0):
            raise InputError(describe("NIR node", name, f"{p} must be positive", got=float(out[p].min()), expected="> 0 s"))
    return out


def _compact(arr: np.ndarray):
    return float(arr[0]) if np.all(arr == arr[0]) else arr


#: keys of a neuron node's metadata written by :func:`neurosim.nir.write_nir` (read back by read_nir)
THRESHOLD_KEY = "neurosim.threshold"
BIAS_START_KEY = "neurosim.bias_start"
BIAS_RECEPTOR_KEY = "neurosim.bias_receptor"
#: largest bias onset (steps) read back: it must fit the engines' 64-bit step counters
MAX_BIAS_START = 2**62


def recorded_options(node: str, obj: Any, forced: Optional[str]) -> tuple[str, Optional[int], bool]:
    """``(spike condition, bias onset or None, direct bias)`` of ``node``: the condition ``forced``,
    else the one neurosim recorded in the node's metadata, else NIR's ``">"``; the bias onset and
    ``bias_receptor == "v"`` (a bias on ``v``, not through the synaptic current) as recorded."""
    meta = getattr(obj, "metadata", None)
    meta = meta if isinstance(meta, dict) else {}

    def get(key: str):
        value = meta.get(key)
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        return value.decode() if isinstance(value, bytes) else value

    cond = forced if forced is not None else get(THRESHOLD_KEY)
    if cond is not None and (not isinstance(cond, str) or cond not in SPIKE_CONDITIONS):
        raise InputError(describe("NIR node", node, f"metadata {THRESHOLD_KEY} is not a spike condition", got=repr(cond),
                                  expected=" or ".join(map(repr, SPIKE_CONDITIONS))))
    raw = get(BIAS_START_KEY)
    try:  # a whole number (an integral float too), never a bool, text or array
        onset = None if raw is None else int(raw)
        if raw is not None and (isinstance(raw, (bool, np.bool_, str, np.ndarray)) or onset != raw):
            raise ValueError(raw)
    except (TypeError, ValueError, OverflowError):
        raise InputError(describe("NIR node", node, f"metadata {BIAS_START_KEY} is not a step number", got=repr(raw),
                                  expected="an integer >= 0")) from None
    if onset is not None and not 0 <= onset <= MAX_BIAS_START:
        raise InputError(describe("NIR node", node, f"metadata {BIAS_START_KEY} is out of range", got=onset,
                                  expected=f"0 .. {MAX_BIAS_START}"))
    receptor = get(BIAS_RECEPTOR_KEY)
    return cond or ">", onset, isinstance(receptor, str) and receptor == "v"


#: most distinct parameter values per layer for which exact float ratios are searched (else plain float64)
MAX_EXACT = 4096


def _low_precision(obj: Any, names: tuple[str, ...]) -> bool:
    """Whether any of ``names`` is stored in less than float64 (an exporter's float32 tensors)."""
    return any(np.asarray(getattr(obj, k)).dtype.kind == "f" and np.asarray(getattr(obj, k)).dtype.itemsize < 8
               for k in names if getattr(obj, k, None) is not None)


def _exact(x0: np.ndarray, fn, target: np.ndarray, tries: int = 4) -> np.ndarray:
    """``x`` within ``tries`` floats of ``x0`` with ``fn(x) == target`` exactly (elementwise; ``x0``
    where none is), so that the backends' float64 arithmetic on ``x`` gives the exporter's value."""
    x0, target = np.broadcast_arrays(np.asarray(x0, dtype=float), np.asarray(target, dtype=float))
    pairs, inv = np.unique(np.stack([x0.ravel(), target.ravel()]), axis=1, return_inverse=True)
    if pairs.shape[1] > MAX_EXACT:
        return x0.copy()
    out = pairs[0].copy()
    for k in range(pairs.shape[1]):
        x, t = pairs[0, k], pairs[1, k]
        up = down = x
        cands = [x]
        for _ in range(tries):
            up, down = np.nextafter(up, np.inf), np.nextafter(down, -np.inf)
            cands += [up, down]
        with np.errstate(all="ignore"):
            out[k] = next((c for c in cands if fn(c) == t), x)
    return out[np.asarray(inv).ravel()].reshape(x0.shape)


def _decay_tau(tau: np.ndarray, dt: float, low: bool, *, membrane: bool) -> np.ndarray:
    """``tau`` nudged so that the backends' decay (``1 - dt (1/tau)`` of ``v``, ``1 - dt/tau`` of a
    current) is the float32 value of ``1 - dt/tau`` when the parameters are float32 (the exporter's
    ``beta``, ``alpha``); ``tau`` unchanged otherwise."""
    if not low:
        return tau
    target = np.float32(1.0 - dt / tau).astype(float)
    fn = (lambda t: 1.0 - dt * (1.0 / t)) if membrane else (lambda t: 1.0 - dt / t)
    with np.errstate(divide="ignore"):
        start = np.where(target < 1.0, dt / (1.0 - target), tau)  # the solution, give or take a rounding
    return _exact(start, fn, target)


def neuron_model(name: str, type_: str, obj: Any, shape: tuple[int, ...], bias: np.ndarray,
                 dt: float, *, threshold: str = ">", spikes: str = "pulse",
                 bias_start: int = 0, direct_bias: bool = False) -> tuple[LIF, np.ndarray, list[str]]:
    """The neurosim model of NIR neuron node ``name``, its per-neuron weight factor and approximation notes.

    ``bias`` is the summed bias ``b`` of the linear chains into the node (per neuron); ``dt`` in
    seconds; ``threshold`` the spike condition (``">"``: NIR's, or ``">="``); ``spikes`` the spike
    convention (``"pulse"``: a spike is a one-step pulse of area ``dt``, factors as in the table;
    ``"dirac"``: an impulse of area 1, factors divided by ``dt``); ``bias_start`` the step at which
    the node's first input can arrive (its bias switches on then); ``direct_bias`` puts a
    ``CubaLIF``'s bias on ``v`` at its steady state (a neurosim network written by write_nir) instead
    of through the synaptic current. The rules are the table of the
    module docstring. Parameters stored in float32 give factors rounded to float32 and time
    constants nudged so the decays are the float32 ``1 - dt/tau``: ratios exact in the exporter
    (``r = tau/dt``: factor 1) stay exact, and so do ties with the threshold.
    """
    p = _params(name, type_, obj, shape)
    notes = []
    low = _low_precision(obj, _PARAMS[type_])
    for key in ("tau", "tau_mem", "tau_syn"):
        if key in p and np.any(dt > p[key]):
            raise InputError(describe("NIR node", name, f"dt_s larger than {key}: the Euler step is unstable",
                                      got=f"dt_s={dt:g}, min {key}={p[key].min():g}", expected=f"dt_s <= {key}"))
        if key in p and np.any(dt > 0.1 * p[key]):
            notes.append(f"coarse Euler step: dt_s/{key} up to {dt / p[key].min():.3g}")
    if type_ == "Threshold":
        theta = p["threshold"]
        if not np.all(theta > 0):
            raise InputError(describe("NIR node", name, "threshold must be positive for neurosim's LIF",
                                      got=float(theta.min()), expected="> 0"))
        notes.append("memoryless threshold as a LIF with tau_s = tau_m_s = dt_s (state wiped every step); "
                     f"spikes one step after its input, on x {threshold} threshold")
        bias_v = _exact(bias / dt, lambda x: dt * x, bias)
        model = LIF(tau_s=dt, tau_m_s=dt, v_th=_compact(theta), reset="zero", bias=_compact(bias_v),
                    threshold=threshold, bias_start=bias_start)
        return model, np.ones(theta.size), notes
    if type_ in ("IF", "LIF", "CubaLIF"):
        if not np.all(p["v_threshold"] > 0):
            raise InputError(describe("NIR node", name, "v_threshold must be positive for neurosim's LIF",
                                      got=float(p["v_threshold"].min()), expected="> 0"))
        v_th = _compact(p["v_threshold"])
    else:
        v_th = NEVER_FIRES
        notes.append(f"non-spiking readout: LIF with unreachable threshold {NEVER_FIRES:g}, no output events")
    common = dict(v_th=v_th, v_reset=_compact(p.get("v_reset", np.zeros(1))), reset="zero", threshold=threshold,
                  bias_start=bias_start)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # overflow is checked below
        if type_ in ("IF", "I"):
            factor = dt * p["r"]
        elif type_ in ("LIF", "LI"):
            factor = dt * p["r"] / p["tau"]
        else:  # CubaLIF, CubaLI
            factor = dt * p["r"] * p["w_in"] / p["tau_mem"]
        if low:
            factor = factor.astype(np.float32).astype(float)
        step = factor * bias  # what the bias adds to v per step (a pulse of weight b)
        if type_ in ("IF", "I"):
            bias_v = _exact(step / dt, lambda x: dt * x, step)
            model = LIF(tau_s=dt, bias=_compact(bias_v), **common)
        elif type_ in ("LIF", "LI"):
            bias_v = _exact(step / dt, lambda x: dt * x, step)
            tau = _decay_tau(p["tau"], dt, low, membrane=True)
            model = LIF(tau_s=dt, tau_m_s=_compact(tau), v_rest=_compact(p["v_leak"]), bias=_compact(bias_v), **common)
        else:  # CubaLIF, CubaLI: the bias is an input current filtered like the spikes' (snnTorch's syn <- alpha syn + W x + b)
            tau_syn = _decay_tau(p["tau_syn"], dt, low, membrane=False)
            bias_v = step / dt
            if np.any(bias) and not direct_bias and np.all(tau_syn == tau_syn[0]):  # a spike of weight b and the bias add the same
                ts = float(tau_syn[0])
                bias_v = _exact(bias_v, lambda x: (dt * x) * (dt / ts), (dt / ts) * step)
            model = LIF(tau_s=_compact(tau_syn), tau_m_s=_compact(_decay_tau(p["tau_mem"], dt, low, membrane=True)),
                        v_rest=_compact(p["v_leak"]), bias=_compact(bias_v),
                        bias_receptor=None if direct_bias else "syn", **common)
    if spikes == "dirac":
        factor = factor / dt
    if not (np.all(np.isfinite(factor)) and np.all(np.isfinite(bias_v))):
        raise InputError(describe("NIR node", name, "parameters give non-finite weights or bias",
                                  got="r, w_in, tau or bias overflow at dt_s", expected="finite weight factors"))
    return model, factor, notes
