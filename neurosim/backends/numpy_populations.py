"""Population state and update rules of the numpy engine.

Each class holds the state of one population, batched as ``(batch, n)`` arrays, and advances it
by one step exactly as documented on the neuron models in :mod:`neurosim.neurons`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from neurosim.errors import NetworkError, describe
from neurosim.ir import Population
from neurosim.neurons import LIF, LCANeuron, threshold_function

__all__ = ["LIFState", "LCAState", "make_state"]


class LIFState:
    r"""Batched LIF/IF state. One step (forward Euler, see :class:`neurosim.neurons.LIF`)::

        [dt i_b += dt (dt/tau_b) bias]                       receptor bias (``bias_receptor = b``)
        v <- a_m v + c_m + dt (bias + ext) + sum_r dt i_r   (a_m = 1 - dt/tau_m, c_m = dt v_rest / tau_m)
        i_r <- (1 - dt/tau_r) i_r                           for every receptor r
        s  = v >= v_th  (v > v_th) ;  v[s] <- v[s] - v_th  or  v_reset
    followed by synaptic delivery ``i_r += W s / tau_r`` (done by the engine). The state keeps
    ``dt * i_r`` per receptor, shaped ``(receptors, batch, n)``. The bias acts from step
    ``bias_start`` on: the engine calls :meth:`bias_on` with the step number (``drive`` holds
    ``dt bias`` only while it acts and only for a direct bias).
    """

    graded = False

    def __init__(self, pop: Population, batch: int, dt: float, dtype: np.dtype):
        m: LIF = pop.model  # type: ignore[assignment]
        n = pop.size
        self.name, self.n, self.batch, self.dtype = pop.name, n, batch, dtype
        self.receptors = m.receptor_names
        self.vars = ("v", "i") + tuple(f"i_{r}" for r in self.receptors)
        self.v = np.zeros((batch, n), dtype=dtype)
        self.idt = np.zeros((len(self.receptors), batch, n), dtype=dtype)  # dt * i_r: saves one pass per step
        m.check_dt(pop.name, n, dt)
        tau = np.stack([m.receptor_tau(r, n) for r in self.receptors])
        self.tau_s = tau[0]
        self.i_decay = (1.0 - dt / tau).astype(dtype)
        self.uniform_i_decay = [bool(np.all(d == d[0])) for d in self.i_decay]
        tau_m = m.param("tau_m_s", n)
        self.leaky = bool(np.any(np.isfinite(tau_m)))
        v_rest = m.param("v_rest", n)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_tau_m = np.where(np.isfinite(tau_m), 1.0 / tau_m, 0.0)
        self.v_decay = (1.0 - dt * inv_tau_m).astype(dtype)
        self.dt = dtype.type(dt)
        self.leak_drive = (dt * v_rest * inv_tau_m).astype(dtype)  # dt * v_rest / tau_m
        self.bias_dt = (dt * m.param("bias", n)).astype(dtype)  # dt * bias
        self.bias_start = int(m.bias_start)
        self.bias_receptor = None if m.bias_receptor is None else self.receptors.index(m.bias_receptor)
        self.active = self.bias_start == 0
        self.strict = m.threshold == ">"
        self.v_th = m.param("v_th", n).astype(dtype)
        self.uniform_th = bool(np.all(self.v_th == self.v_th[0]))
        self.subtract = m.reset == "subtract"
        self.v_reset = m.param("v_reset", n).astype(dtype)
        self.refractory = int(m.refractory_steps)
        self._ref_ring: list[np.ndarray] = []
        #: synaptic deliveries are scaled by dt / tau_r (a spike of weight w adds w / tau_r to i_r)
        self.input_scales = (dt / tau).astype(dtype)
        self.input_scale = self.input_scales[0]
        self._set_bias()
        self.drive = self.base_drive  # dt * (bias + constant inputs), set by the engine

    def _set_bias(self) -> None:
        """``base_drive`` (dt * direct bias while it acts) and ``ibias`` (dt * (dt/tau_b) * bias
        added to receptor ``b`` each step while it acts, or None)."""
        on = self.bias_dt if self.active else np.zeros_like(self.bias_dt)
        if self.bias_receptor is None:
            self.base_drive, self.ibias = on, None
        else:
            self.base_drive = np.zeros_like(self.bias_dt)
            self.ibias = (on * self.input_scales[self.bias_receptor]).astype(self.dtype) if self.active else None

    def bias_on(self, step: int) -> bool:
        """Whether the bias acts at ``step``; ``True`` when that changed (the engine then rebuilds ``drive``)."""
        active = step >= self.bias_start
        if active == self.active:
            return False
        self.active = active
        self._set_bias()
        return True

    @property
    def drive(self) -> np.ndarray:
        return self._drive

    @drive.setter
    def drive(self, value: np.ndarray) -> None:
        self._drive = value
        self._drive_total = value + self.leak_drive if self.leaky else value

    def set_state(self, var: str, value: np.ndarray) -> None:
        if var not in self.vars:
            raise NetworkError(describe("initial state", self.name, "unknown variable", got=repr(var), expected=self.vars))
        arr = np.asarray(value, dtype=self.dtype)
        try:
            if var == "v":
                target, factor = self.v, 1.0
            else:  # "i" is the default receptor's current
                r = 0 if var == "i" else self.receptors.index(var[2:])
                target, factor = self.idt[r], self.dt
            target[...] = np.broadcast_to(arr, (self.batch, self.n)) * factor
        except ValueError as exc:
            raise NetworkError(describe("initial state", f"{self.name}.{var}", "wrong shape", got=arr.shape,
                                        expected=f"({self.n},) or ({self.batch}, {self.n})")) from exc

    def set_param(self, name: str, values) -> None:
        arr = _param_array(self.name, name, values, self.n, self.dtype)
        if name == "v_th":
            if not np.all(arr > 0):
                raise NetworkError(describe("population", self.name, "v_th must be positive", expected="> 0"))
            self.v_th = arr
            self.uniform_th = bool(np.all(arr == arr[0]))
        elif name == "bias":
            self.bias_dt = (self.dt * arr).astype(self.dtype)
            self._set_bias()
        else:
            raise NetworkError(describe("population", self.name, "parameter cannot be changed during a run",
                                        got=repr(name), expected="'v_th' or 'bias'"))

    def zero(self) -> None:
        self.v.fill(0.0)
        self.idt.fill(0.0)
        self._ref_ring.clear()

    def current(self, ext_step: Optional[np.ndarray]) -> np.ndarray:
        """Soma current ``mu = bias + ext + sum_r i_r`` (for window statistics), shape (batch, n)."""
        mu = (self.idt.sum(axis=0) + self.drive) / self.dt
        if ext_step is not None:
            mu = mu + ext_step
        return mu

    def step(self, ext_step: Optional[np.ndarray]) -> np.ndarray:
        """Advance one step; return the boolean spike array (batch, n)."""
        v, idt = self.v, self.idt
        frozen = None
        if self.refractory and self._ref_ring:
            frozen = np.concatenate(self._ref_ring)
            held = v.reshape(-1)[frozen]
        if self.ibias is not None:
            idt[self.bias_receptor] += self.ibias
        if self.leaky:
            v *= self.v_decay
        v += self._drive_total
        if ext_step is not None:
            v += self.dt * ext_step
        for r in range(idt.shape[0]):
            v += idt[r]
        if frozen is not None:
            v.reshape(-1)[frozen] = held
        for r in range(idt.shape[0]):
            if self.uniform_i_decay[r]:
                idt[r] *= self.i_decay[r, 0]
            else:
                idt[r] *= self.i_decay[r]
        th = self.v_th[0] if self.uniform_th else self.v_th
        s = (v > th) if self.strict else (v >= th)
        if frozen is not None:
            s.reshape(-1)[frozen] = False
        return s

    def reset(self, s: np.ndarray, flat: np.ndarray) -> None:
        """Reset the neurons that spiked (flat indices into (batch, n))."""
        if flat.size == 0:
            if self.refractory:
                self._ref_ring.append(flat)
                if len(self._ref_ring) > self.refractory:
                    self._ref_ring.pop(0)
            return
        vflat = self.v.reshape(-1)
        col = flat % self.n
        if self.subtract:
            vflat[flat] -= self.v_th[col]
        else:
            vflat[flat] = self.v_reset[col]
        if self.refractory:
            self._ref_ring.append(flat)
            if len(self._ref_ring) > self.refractory:
                self._ref_ring.pop(0)

    def receive(self, acc: np.ndarray, receptor: int = 0) -> None:
        """Add pre-scaled input (``dt * w / tau_r`` per spike) to the current of ``receptor``."""
        self.idt[receptor] += acc

    def input_buffer(self, receptor: int = 0) -> np.ndarray:
        """Array that synaptic deliveries to ``receptor`` accumulate into (``dt * i_r``)."""
        return self.idt[receptor]

    def state(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.arrays().items()}

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"v": self.v, "i": self.idt.sum(axis=0) / self.dt}
        if len(self.receptors) > 1:
            out.update({f"i_{r}": self.idt[k] / self.dt for k, r in enumerate(self.receptors)})
        return out


class LCAState:
    r"""Batched analog LCA state. One step (see :class:`neurosim.neurons.LCANeuron`)::

        u <- u + (dt/tau) (bias + ext + in - u) ;  a = T(u) / gain
    where ``in`` is the graded input delivered at the end of the previous step.
    """

    graded = True
    vars = ("u", "a")

    def __init__(self, pop: Population, batch: int, dt: float, dtype: np.dtype):
        m: LCANeuron = pop.model  # type: ignore[assignment]
        n = pop.size
        self.name, self.n, self.batch, self.dtype = pop.name, n, batch, dtype
        m.check_dt(pop.name, n, dt)
        tau = m.param("tau_s", n)
        self.tau_s = tau
        self.k = (dt / tau).astype(dtype)
        self.dt = dtype.type(dt)
        self.u = np.zeros((batch, n), dtype=dtype)
        self.a = np.zeros((batch, n), dtype=dtype)
        self.inp = np.zeros((batch, n), dtype=dtype)
        self.lam = m.param("lam", n).astype(dtype)
        self.inv_gain = (1.0 / m.param("gain", n)).astype(dtype)
        self.unit_gain = bool(np.all(self.inv_gain == 1.0))
        self.kind = m.threshold
        self.input_scale = None  # graded input is delivered unscaled
        self.base_drive = m.param("bias", n).astype(dtype)
        self.drive: np.ndarray = self.base_drive  # bias + constant inputs, set by the engine

    def set_state(self, var: str, value: np.ndarray) -> None:
        if var != "u":
            raise NetworkError(describe("initial state", self.name, "only 'u' can be set for LCANeuron (a = T(u))",
                                        got=repr(var), expected="'u'"))
        arr = np.asarray(value, dtype=self.dtype)
        try:
            self.u[...] = np.broadcast_to(arr, (self.batch, self.n))
        except ValueError as exc:
            raise NetworkError(describe("initial state", f"{self.name}.u", "wrong shape", got=arr.shape,
                                        expected=f"({self.n},) or ({self.batch}, {self.n})")) from exc
        self.a[...] = self.activation(self.u)

    def set_param(self, name: str, values) -> None:
        arr = _param_array(self.name, name, values, self.n, self.dtype)
        if name == "lam":
            self.lam = arr
        elif name == "gain":
            if not np.all(arr > 0):
                raise NetworkError(describe("population", self.name, "gain must be positive", expected="> 0"))
            self.inv_gain = (1.0 / arr).astype(self.dtype)
            self.unit_gain = bool(np.all(self.inv_gain == 1.0))
        elif name == "bias":
            self.base_drive = arr
        else:
            raise NetworkError(describe("population", self.name, "parameter cannot be changed during a run",
                                        got=repr(name), expected="'lam', 'gain' or 'bias'"))
        self.a = self.activation(self.u)

    def zero(self) -> None:
        self.u.fill(0.0)
        self.inp.fill(0.0)
        self.a = self.activation(self.u)

    def activation(self, u: np.ndarray) -> np.ndarray:
        a = threshold_function(u, self.lam, self.kind)
        if not self.unit_gain:
            a *= self.inv_gain
        return a.astype(self.dtype, copy=False)

    def current(self, ext_step: Optional[np.ndarray]) -> np.ndarray:
        return self.u

    def step(self, ext_step: Optional[np.ndarray]) -> np.ndarray:
        drive = self.drive + self.inp
        if ext_step is not None:
            drive = drive + ext_step
        self.u += self.k * (drive - self.u)
        self.inp.fill(0.0)
        self.a = self.activation(self.u)
        return self.a

    def reset(self, s: np.ndarray, flat: np.ndarray) -> None:
        return None

    def receive(self, acc: np.ndarray, receptor: int = 0) -> None:
        self.inp += acc

    def input_buffer(self, receptor: int = 0) -> np.ndarray:
        """Array that synaptic deliveries accumulate into (next step's graded input)."""
        return self.inp

    def state(self) -> dict[str, np.ndarray]:
        return {"u": self.u.copy(), "a": self.a.copy()}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"u": self.u, "a": self.a}


def _param_array(pop: str, name: str, values, n: int, dtype: np.dtype) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n) or not np.all(np.isfinite(arr)):
        raise NetworkError(describe("population", pop, f"new {name} must be finite, a scalar or shape ({n},)",
                                    got=arr.shape))
    return np.broadcast_to(arr, (n,)).astype(dtype)


def make_state(pop: Population, batch: int, dt: float, dtype: np.dtype):
    """Build the state object for ``pop`` (dispatch by neuron model type)."""
    builders = {LIF: LIFState, LCANeuron: LCAState}
    for cls, builder in builders.items():
        if isinstance(pop.model, cls):
            return builder(pop, batch, dt, dtype)
    raise NetworkError(describe("population", pop.name, "the numpy engine has no rule for this neuron model",
                                got=type(pop.model).__name__, expected=[c.__name__ for c in builders]))
