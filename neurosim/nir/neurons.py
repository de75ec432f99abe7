"""NIR's neuron nodes as neurosim :class:`~neurosim.neurons.LIF` populations (used by :mod:`neurosim.nir.read`).

Spikes are unit pulses one step ``dt`` long, the ODEs are integrated by forward Euler at ``dt``,
and the input of a node is ``I = W s + b`` (the composed linear chain). Each node becomes a
``LIF`` model and a per-neuron *weight factor*: neurosim's connection weights are the NIR
weights times that factor. With neurosim's LIF step (:class:`~neurosim.neurons.LIF`)::

    v <- v + dt (bias + i - (v - v_rest) / tau_m);   spike when v >= v_th;   v <- v_reset
    i <- (1 - dt/tau_s) i + (1/tau_s) sum W' s          (a spike of weight w' moves v by w')

the nodes are, with ``f`` the factor:

=========  ==========================================================  ================================  ======================
NIR node   neurosim LIF                                                 f                                 bias (v per second)
=========  ==========================================================  ================================  ======================
IF         ``tau_s = dt, tau_m = inf, v_th, v_reset``                  ``dt R``                          ``R b``
LIF        ``tau_s = dt, tau_m = tau, v_rest = v_leak, v_th, v_reset``  ``dt R / tau``                    ``R b / tau``
CubaLIF    ``tau_s = tau_syn, tau_m = tau_mem, v_rest = v_leak, ...``  ``dt R w_in / tau_mem``           ``R w_in b / tau_mem``
LI         LIF with ``v_th = NEVER_FIRES``                              ``dt R / tau``                    ``R b / tau``
CubaLI     CubaLIF with ``v_th = NEVER_FIRES``                          ``dt R w_in / tau_mem``           ``R w_in b / tau_mem``
I          IF with ``v_th = NEVER_FIRES``                               ``dt R``                          ``R b``
Threshold  ``tau_s = dt, tau_m = dt, v_th = threshold``, reset zero     ``1``                             ``b / dt``
=========  ==========================================================  ================================  ======================

``I`` (integrator, ``dv/dt = R I``) is the non-spiking ``IF``: ``v_{n+1} = v_n + dt R (W s_n + b)``.

``Threshold`` (``s = H(x - threshold)``, memoryless) is a neuron whose state is wiped every
step: with ``tau_s = tau_m = dt`` and ``v_rest = 0`` the LIF step gives
``v_{n+1} = v_n + dt (bias + i_n - v_n / dt) = dt bias + dt i_n`` and ``i_n = W' s_{n-1} / dt``
(the previous current decays by ``1 - dt/tau_s = 0``), so ``v_{n+1} = W' s_n + dt bias = W s_n + b
= x_n`` with ``W' = W`` and ``bias = b / dt``; the neuron spikes when ``x_n >= threshold`` (NIR:
``>``; ties differ, noted) one step after its input spikes, like every neurosim connection. The
threshold must be positive (neurosim's ``v_th > 0``; with ``threshold <= 0`` a silent input would
spike).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from neurosim.errors import InputError, describe
from neurosim.neurons import LIF

__all__ = ['NEURONS', 'READOUTS', 'NEVER_FIRES', 'param_shape', 'neuron_model']



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


def neuron_model(name: str, type_: str, obj: Any, shape: tuple[int, ...], bias: np.ndarray,
                 dt: float) -> tuple[LIF, np.ndarray, list[str]]:
    """The neurosim model of NIR neuron node ``name``, its per-neuron weight factor and approximation notes.

    ``bias`` is the summed bias ``b`` of the linear chains into the node (per neuron); ``dt`` in
    seconds. The rules are the table of the module docstring.
    """
    p = _params(name, type_, obj, shape)
    notes = []
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
                     "spikes one step after its input, on x >= threshold (NIR: >)")
        model = LIF(tau_s=dt, tau_m_s=dt, v_th=_compact(theta), reset="zero", bias=_compact(bias / dt))
        return model, np.ones(theta.size), notes
    if type_ in ("IF", "LIF", "CubaLIF"):
        if not np.all(p["v_threshold"] > 0):
            raise InputError(describe("NIR node", name, "v_threshold must be positive for neurosim's LIF",
                                      got=float(p["v_threshold"].min()), expected="> 0"))
        v_th = _compact(p["v_threshold"])
    else:
        v_th = NEVER_FIRES
        notes.append(f"non-spiking readout: LIF with unreachable threshold {NEVER_FIRES:g}, no output events")
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # overflow is checked below
        if type_ in ("IF", "I"):
            factor, bias_v = dt * p["r"], p["r"] * bias
            model = LIF(tau_s=dt, v_th=v_th, v_reset=_compact(p.get("v_reset", np.zeros(1))), reset="zero",
                        bias=_compact(bias_v))
        elif type_ in ("LIF", "LI"):
            factor, bias_v = dt * p["r"] / p["tau"], p["r"] * bias / p["tau"]
            model = LIF(tau_s=dt, tau_m_s=_compact(p["tau"]), v_th=v_th, v_rest=_compact(p["v_leak"]),
                        v_reset=_compact(p.get("v_reset", np.zeros(1))), reset="zero", bias=_compact(bias_v))
        else:  # CubaLIF, CubaLI
            factor = dt * p["r"] * p["w_in"] / p["tau_mem"]
            bias_v = p["r"] * p["w_in"] * bias / p["tau_mem"]
            if np.any(bias):
                notes.append("bias enters at its steady state R w_in b / tau_mem (synaptic transient skipped)")
            model = LIF(tau_s=_compact(p["tau_syn"]), tau_m_s=_compact(p["tau_mem"]), v_th=v_th,
                        v_rest=_compact(p["v_leak"]), v_reset=_compact(p.get("v_reset", np.zeros(1))), reset="zero",
                        bias=_compact(bias_v))
    if not (np.all(np.isfinite(factor)) and np.all(np.isfinite(bias_v))):
        raise InputError(describe("NIR node", name, "parameters give non-finite weights or bias",
                                  got="r, w_in, tau or bias overflow at dt_s", expected="finite weight factors"))
    return model, factor, notes

