"""Neuron models: declarative parameter sets, no behaviour.

A neuron model names its state variables and holds per-neuron parameters (a scalar broadcast
to every neuron or an array of shape ``(n,)``). How a model is advanced in time is the business
of each backend (``neurosim.backends``), which implements exactly the discrete-time equations
stated here, so that every backend computes the same spikes.

Time is in seconds of model time (``dt_s``, ``tau_s``); the spiking-LCA papers use a unit
time constant, i.e. ``tau_s = 1``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, Union

import numpy as np

from neurosim.errors import NetworkError, describe

__all__ = ["NeuronModel", "LIF", "IF", "LCANeuron", "Param", "threshold_function"]

#: A per-neuron parameter: one value for all neurons or one value per neuron.
Param = Union[float, np.ndarray]

RESETS = ("zero", "subtract")
THRESHOLDS = ("soft", "nonneg", "hard")


class NeuronModel:
    """Base class of neuron models.

    Attributes
    ----------
    state_vars : tuple of str
        Names of the state variables a probe may record.
    graded : bool
        ``True`` when the model emits a real-valued output every step (analog LCA) instead of
        binary spikes; a graded output counts as an event when it is non-zero.
    """

    state_vars: ClassVar[tuple[str, ...]] = ()
    graded: ClassVar[bool] = False
    #: names of per-neuron parameters (validated and broadcast to ``(n,)``)
    per_neuron: ClassVar[tuple[str, ...]] = ()

    def check(self, pop_name: str, n: int) -> None:
        """Validate parameters for a population of ``n`` neurons (raises :class:`NetworkError`)."""
        for f in self.per_neuron:
            value = getattr(self, f)
            arr = np.asarray(value, dtype=float)
            if arr.ndim not in (0, 1) or (arr.ndim == 1 and arr.shape[0] != n):
                raise NetworkError(describe("population", pop_name, f"parameter {type(self).__name__}.{f} has the wrong shape",
                                            got=arr.shape, expected=f"a scalar or shape ({n},)"))
            if not np.all(np.isfinite(arr)) and f not in ("tau_m_s",):
                raise NetworkError(describe("population", pop_name, f"parameter {type(self).__name__}.{f} is not finite",
                                            got=value, expected="finite values"))

    def param(self, name: str, n: int, dtype: np.dtype = np.float64) -> np.ndarray:
        """Parameter ``name`` broadcast to shape ``(n,)``."""
        return np.broadcast_to(np.asarray(getattr(self, name), dtype=dtype), (n,)).copy()

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class LIF(NeuronModel):
    r"""Current-based leaky integrate-and-fire neuron with an exponential synaptic current.

    Continuous time (``v`` potential, ``i`` synaptic current, both in units of ``v`` per second
    for ``i``)::

        tau_s di/dt = -i + tau_s * sum_j w_ij sum_k delta(t - t_jk)   # a spike adds w_ij / tau_s
        dv/dt       = bias + ext(t) + i - (v - v_rest) / tau_m         # no leak if tau_m = inf
        v >= v_th  ->  spike; v <- v_reset ("zero") or v <- v - v_th ("subtract");
                       v frozen for ``refractory_steps`` steps

    The synaptic kernel ``(1/tau_s) exp(-t/tau_s)`` has unit area, so a spike of weight ``w``
    moves ``v`` by ``w`` in total. Discrete time, step ``dt`` (forward Euler), at step ``n``:

    1. ``v <- v + dt * (bias + ext_n + i - (v - v_rest)/tau_m)`` unless refractory;
    2. ``s_n = v >= v_th``; reset the neurons that spiked, start their refractory count;
    3. ``i <- (1 - dt/tau_s) i + (1/tau_s) * sum_c W_c s^{pre}_{n - d_c + 1}`` (delay ``d_c >= 1``).

    The Euler decay preserves the kernel's unit area exactly: ``sum_k dt (1-dt/tau)^k / tau = 1``.
    Reset by subtraction keeps the threshold overshoot and removes the rate bias that reset to
    zero has at large ``dt`` (see ``shared/reference/peers.md``).

    Parameters
    ----------
    tau_s : float or array, seconds
        Synaptic time constant (> 0). Spiking LCA uses 1.
    tau_m_s : float or array, seconds
        Membrane time constant; ``inf`` (the default) gives the non-leaky IF neuron.
    v_th : float or array
        Threshold (> 0), per neuron.
    bias : float or array
        Constant drive, units of ``v`` per second.
    v_rest, v_reset : float
        Leak target and reset value (reset ``"zero"`` resets to ``v_reset``).
    reset : {"subtract", "zero"}
    refractory_steps : int
        Steps a neuron stays frozen after a spike.
    """

    tau_s: Param = 1.0
    tau_m_s: Param = float("inf")
    v_th: Param = 1.0
    bias: Param = 0.0
    v_rest: Param = 0.0
    v_reset: Param = 0.0
    reset: str = "subtract"
    refractory_steps: int = 0

    state_vars: ClassVar[tuple[str, ...]] = ("v", "i")
    graded: ClassVar[bool] = False
    per_neuron: ClassVar[tuple[str, ...]] = ("tau_s", "tau_m_s", "v_th", "bias", "v_rest", "v_reset")

    def check(self, pop_name: str, n: int) -> None:
        super().check(pop_name, n)
        if self.reset not in RESETS:
            raise NetworkError(describe("population", pop_name, "unknown LIF.reset", got=repr(self.reset),
                                        expected=" or ".join(RESETS)))
        if not np.all(np.asarray(self.tau_s, dtype=float) > 0):
            raise NetworkError(describe("population", pop_name, "LIF.tau_s must be positive", got=self.tau_s, expected="> 0"))
        tau_m = np.asarray(self.tau_m_s, dtype=float)
        if np.any(np.isnan(tau_m)) or not np.all(tau_m > 0):
            raise NetworkError(describe("population", pop_name, "LIF.tau_m_s must be positive (inf for no leak)",
                                        got=self.tau_m_s, expected="> 0"))
        if not np.all(np.asarray(self.v_th, dtype=float) > 0):
            raise NetworkError(describe("population", pop_name, "LIF.v_th must be positive", got=self.v_th, expected="> 0"))
        if not isinstance(self.refractory_steps, (int, np.integer)) or self.refractory_steps < 0:
            raise NetworkError(describe("population", pop_name, "LIF.refractory_steps must be a non-negative integer",
                                        got=self.refractory_steps, expected="int >= 0"))

    def check_dt(self, pop_name: str, n: int, dt: float) -> None:
        """Raise :class:`NetworkError` if the Euler step ``dt`` (seconds) is unstable for these
        time constants: ``dt <= tau_s`` (non-negative current decay) and ``dt <= tau_m_s``."""
        tau_s = self.param("tau_s", n)
        if np.any(dt > tau_s):
            raise NetworkError(describe("population", pop_name, "dt_s larger than tau_s makes the Euler current decay negative",
                                        got=f"dt_s={dt:g}, min tau_s={tau_s.min():g}", expected="dt_s <= tau_s"))
        if np.any(dt > self.param("tau_m_s", n)):
            raise NetworkError(describe("population", pop_name, "dt_s larger than tau_m_s makes the Euler leak unstable",
                                        got=f"dt_s={dt:g}", expected="dt_s <= tau_m_s"))

    @property
    def leaky(self) -> bool:
        return bool(np.any(np.isfinite(np.asarray(self.tau_m_s, dtype=float))))


def IF(**kwargs) -> LIF:  # noqa: N802 - a model name, like the papers
    """Non-leaky integrate-and-fire neuron: :class:`LIF` with ``tau_m_s = inf``."""
    if "tau_m_s" in kwargs:
        raise TypeError("IF() has no leak; use LIF(tau_m_s=...) for a leaky neuron")
    return LIF(**kwargs)


@dataclass(frozen=True, eq=False)
class LCANeuron(NeuronModel):
    r"""Analog (rate) LCA neuron with a graded output.

    Continuous time (Rozell et al. 2008)::

        tau du/dt = bias + ext(t) + sum_c W_c a^{pre} - u
        a = T(u) / gain

    with the threshold function ``T`` chosen by ``threshold``:
    ``"soft"``   ``sign(u) max(|u| - lam, 0)``  (LASSO),
    ``"nonneg"`` ``max(u - lam, 0)``             (non-negative LASSO / ReLU),
    ``"hard"``   ``u 1[|u| > lam]``              (l0-type energy).

    Discrete time, step ``dt``: ``u <- u + (dt/tau) (bias + ext_n + in_n - u)``, then
    ``a_n = T(u)/gain``; ``in_n = sum_c W_c a^{pre}_{n - d_c}`` is the graded input delivered at
    the end of the previous step (delay ``d_c >= 1``). Output events (for activity and cost) are
    the non-zero outputs.

    Parameters
    ----------
    tau_s : float or array, seconds
        Time constant (> 0).
    lam : float or array
        Threshold (>= 0).
    threshold : {"soft", "nonneg", "hard"}
    gain : float or array
        Output divisor (the neuron's "threshold" theta in Lin & Tang's rate model), > 0.
    bias : float or array
        Constant drive.
    """

    tau_s: Param = 1.0
    lam: Param = 0.0
    threshold: str = "soft"
    gain: Param = 1.0
    bias: Param = 0.0

    state_vars: ClassVar[tuple[str, ...]] = ("u", "a")
    graded: ClassVar[bool] = True
    per_neuron: ClassVar[tuple[str, ...]] = ("tau_s", "lam", "gain", "bias")

    def check_dt(self, pop_name: str, n: int, dt: float) -> None:
        """Raise :class:`NetworkError` if the Euler step ``dt`` exceeds ``tau_s`` (unstable)."""
        tau = self.param("tau_s", n)
        if np.any(dt > tau):
            raise NetworkError(describe("population", pop_name, "dt_s larger than tau_s makes analog LCA unstable",
                                        got=f"dt_s={dt:g}, min tau_s={tau.min():g}", expected="dt_s <= tau_s"))

    def check(self, pop_name: str, n: int) -> None:
        super().check(pop_name, n)
        if self.threshold not in THRESHOLDS:
            raise NetworkError(describe("population", pop_name, "unknown LCANeuron.threshold", got=repr(self.threshold),
                                        expected=" or ".join(THRESHOLDS)))
        if not np.all(np.asarray(self.tau_s, dtype=float) > 0):
            raise NetworkError(describe("population", pop_name, "LCANeuron.tau_s must be positive", got=self.tau_s, expected="> 0"))
        if not np.all(np.asarray(self.lam, dtype=float) >= 0):
            raise NetworkError(describe("population", pop_name, "LCANeuron.lam must be non-negative", got=self.lam, expected=">= 0"))
        if not np.all(np.asarray(self.gain, dtype=float) > 0):
            raise NetworkError(describe("population", pop_name, "LCANeuron.gain must be positive", got=self.gain, expected="> 0"))


def threshold_function(u: np.ndarray, lam: Param, threshold: str) -> np.ndarray:
    """The LCA threshold ``T_lam(u)`` (:class:`LCANeuron`), elementwise.

    ``"soft"`` ``sign(u) max(|u| - lam, 0)``; ``"nonneg"`` ``max(u - lam, 0)``;
    ``"hard"`` ``u 1[|u| > lam]``. ``lam`` broadcasts against ``u``.
    """
    if threshold == "soft":
        return np.sign(u) * np.maximum(np.abs(u) - lam, 0.0)
    if threshold == "nonneg":
        return np.maximum(u - lam, 0.0)
    if threshold == "hard":
        return np.where(np.abs(u) > lam, u, 0.0)
    raise NetworkError(describe("parameter", "threshold", "unknown threshold", got=repr(threshold),
                                expected=" or ".join(THRESHOLDS)))
