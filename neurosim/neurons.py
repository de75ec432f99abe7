"""Neuron models: declarative parameter sets, no behaviour.

A neuron model names its state variables and holds per-neuron parameters (a scalar broadcast
to every neuron or an array of shape ``(n,)``). How a model is advanced in time is the business
of each backend (``neurosim.backends``), which implements exactly the discrete-time equations
stated here, so that every backend computes the same spikes.

Time is in seconds of model time (``dt_s``, ``tau_s``); the spiking-LCA papers use a unit
time constant, i.e. ``tau_s = 1``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import ClassVar, Mapping, Optional, Union

import numpy as np

from neurosim.errors import NetworkError, describe

__all__ = ["NeuronModel", "LIF", "IF", "LCANeuron", "Param", "threshold_function", "DEFAULT_RECEPTOR", "SPIKE_CONDITIONS"]

#: A per-neuron parameter: one value for all neurons or one value per neuron.
Param = Union[float, np.ndarray]

RESETS = ("zero", "subtract")
#: spike conditions of :class:`LIF` (``LIF.threshold``): ``v >= v_th`` (neurosim's default) or ``v > v_th``
SPIKE_CONDITIONS = (">=", ">")
THRESHOLDS = ("soft", "nonneg", "hard")
#: name of the synaptic current of time constant ``LIF.tau_s`` (connections target it by default)
DEFAULT_RECEPTOR = "syn"
_RECEPTOR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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

    @property
    def probe_vars(self) -> tuple[str, ...]:
        """State variables a :class:`~neurosim.ir.Probe` may record (``state_vars`` unless a
        model adds per-instance ones, such as one current per receptor)."""
        return self.state_vars

    def param(self, name: str, n: int, dtype: np.dtype = np.float64) -> np.ndarray:
        """Parameter ``name`` broadcast to shape ``(n,)``."""
        return np.broadcast_to(np.asarray(getattr(self, name), dtype=dtype), (n,)).copy()

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class LIF(NeuronModel):
    r"""Current-based leaky integrate-and-fire neuron with exponential synaptic currents.

    Continuous time. ``v`` is the membrane potential (units of ``v``, e.g. mV); each receptor
    ``r`` carries a synaptic current ``i_r`` in units of ``v`` per second; the soma current is
    their sum ``i = sum_r i_r``::

        tau_r di_r/dt = -i_r + tau_r * sum_{c -> r} sum_j w_ij sum_k delta(t - t_jk)
                                                         # a spike through c adds w_ij / tau_r to i_r
        dv/dt         = bias + ext(t) + sum_r i_r - (v - v_rest) / tau_m   # no leak if tau_m = inf
        v >= v_th  ->  spike; v <- v_reset ("zero") or v <- v - v_th ("subtract");
                       v frozen for ``refractory_steps`` steps
        (``v > v_th`` with ``threshold=">"``)

    Receptor ``"syn"`` (:data:`DEFAULT_RECEPTOR`) has time constant ``tau_s``; ``receptors``
    adds more, each with its own time constant ``tau_r``; a :class:`~neurosim.ir.Connection`
    (or :class:`~neurosim.ir.PoissonInput`) names the receptor it drives (default ``"syn"``).
    Every synaptic kernel ``(1/tau_r) exp(-t/tau_r)`` has unit area, so a spike of weight ``w``
    moves ``v`` by ``w`` in total whatever its receptor: the receptor sets only how the charge
    is spread in time. Brian2's CUBA example is ``LIF(tau_m_s=20e-3, tau_s=5e-3,
    receptors={"inh": 10e-3})`` with excitatory weights ``1.62 mV * 5/20`` on ``"syn"`` and
    inhibitory ones ``-9 mV * 10/20`` on ``"inh"`` (its jump ``J`` of ``g`` in ``taum dv/dt =
    g - ...`` is ``w = J tau_r / tau_m``).

    Discrete time, step ``dt`` (forward Euler), at step ``n``:

    0. with ``bias_receptor = r``: ``i_r <- i_r + (dt/tau_r) bias_n`` (the bias is a constant input
       current filtered by receptor ``r``; its steady state ``i_r = bias`` drives ``v`` as a direct
       bias would);
    1. ``v <- v + dt * (bias_n + ext_n + sum_r i_r - (v - v_rest)/tau_m)`` unless refractory
       (without ``bias_n`` here when ``bias_receptor`` is set);
    2. ``s_n = v >= v_th`` (``v > v_th`` with ``threshold=">"``); reset the neurons that spiked
       (by subtraction of ``v_th`` itself), start their refractory count;
    3. ``i_r <- (1 - dt/tau_r) i_r + (1/tau_r) * sum_{c -> r} W_c s^{pre}_{n - d_c + 1}`` for every
       receptor (delay ``d_c >= 1``).

    where ``bias_n = bias`` for ``n >= bias_start`` and 0 before (a layer whose input first arrives
    at step ``k`` has ``bias_start = k``: its bias switches on with its input, as in the
    discrete-time libraries whose graphs :func:`neurosim.nir.read_nir` reads).

    The Euler decay preserves each kernel's unit area exactly: ``sum_k dt (1-dt/tau)^k / tau = 1``.
    Reset by subtraction keeps the threshold overshoot and removes the rate bias that reset to
    zero has at large ``dt`` (see ``shared/reference/peers.md``).

    Parameters
    ----------
    tau_s : float or array, seconds
        Time constant of the default receptor ``"syn"`` (> 0). Spiking LCA uses 1.
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
    receptors : dict of str to float or array, seconds
        Further receptors by name, each with its time constant ``tau_r`` (> 0; a scalar or one
        per neuron). Names are identifiers other than ``"syn"``. Probe variable ``"i"`` is the
        total current, ``"i_<name>"`` one receptor's current (``"i_syn"`` the default one).
    threshold : {">=", ">"}
        Spike condition: ``v >= v_th`` (default) or the strict ``v > v_th`` (NIR, snnTorch, Norse).
    bias_start : int
        First step at which ``bias`` acts (>= 0; default 0: from the first step).
    bias_receptor : str, optional
        ``None`` (default): ``bias`` drives ``v`` directly. A receptor name (e.g. ``"syn"``): the
        bias enters that receptor's current every step, ``i_r <- i_r + (dt/tau_r) bias``, and
        reaches ``v`` through the synaptic filter (a current-based neuron's bias, as in snnTorch's
        ``Synaptic``: ``syn <- alpha syn + (W x + b)``).
    """

    tau_s: Param = 1.0
    tau_m_s: Param = float("inf")
    v_th: Param = 1.0
    bias: Param = 0.0
    v_rest: Param = 0.0
    v_reset: Param = 0.0
    reset: str = "subtract"
    refractory_steps: int = 0
    receptors: Mapping[str, Param] = field(default_factory=dict)
    threshold: str = ">="
    bias_start: int = 0
    bias_receptor: Optional[str] = None

    state_vars: ClassVar[tuple[str, ...]] = ("v", "i")
    graded: ClassVar[bool] = False
    per_neuron: ClassVar[tuple[str, ...]] = ("tau_s", "tau_m_s", "v_th", "bias", "v_rest", "v_reset")

    @property
    def receptor_names(self) -> tuple[str, ...]:
        """``("syn", *receptors)``: the default receptor first, then the others in order."""
        return (DEFAULT_RECEPTOR, *self.receptors)

    @property
    def probe_vars(self) -> tuple[str, ...]:
        return self.state_vars + tuple(f"i_{r}" for r in self.receptor_names)

    def receptor_tau(self, receptor: str, n: int) -> np.ndarray:
        """Time constant (seconds) of ``receptor`` broadcast to ``(n,)``."""
        if receptor == DEFAULT_RECEPTOR:
            return self.param("tau_s", n)
        return np.broadcast_to(np.asarray(self.receptors[receptor], dtype=np.float64), (n,)).copy()

    def check(self, pop_name: str, n: int) -> None:
        super().check(pop_name, n)
        if not isinstance(self.receptors, Mapping):
            raise NetworkError(describe("population", pop_name, "LIF.receptors must be a dict name -> tau (s)",
                                        got=type(self.receptors).__name__, expected="dict[str, float or array]"))
        for name, tau in self.receptors.items():
            if not isinstance(name, str) or not _RECEPTOR_NAME.match(name) or name == DEFAULT_RECEPTOR:
                raise NetworkError(describe("population", pop_name, "invalid receptor name", got=repr(name),
                                            expected=f"an identifier other than '{DEFAULT_RECEPTOR}'"))
            arr = np.asarray(tau, dtype=float)
            if arr.ndim not in (0, 1) or (arr.ndim == 1 and arr.shape[0] != n):
                raise NetworkError(describe("population", pop_name, f"receptor '{name}' time constant has the wrong shape",
                                            got=arr.shape, expected=f"a scalar or shape ({n},)"))
            if not np.all(np.isfinite(arr)) or not np.all(arr > 0):
                raise NetworkError(describe("population", pop_name, f"receptor '{name}' time constant must be positive",
                                            got=tau, expected="finite values > 0 (seconds)"))
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
        if self.threshold not in SPIKE_CONDITIONS:
            raise NetworkError(describe("population", pop_name, "unknown LIF.threshold (spike condition)",
                                        got=repr(self.threshold), expected=" or ".join(repr(c) for c in SPIKE_CONDITIONS)))
        if isinstance(self.bias_start, bool) or not isinstance(self.bias_start, (int, np.integer)) \
                or not 0 <= self.bias_start <= 2**62:
            raise NetworkError(describe("population", pop_name, "LIF.bias_start must be a non-negative integer",
                                        got=self.bias_start, expected="int 0 .. 2**62 (steps)"))
        if self.bias_receptor is not None and self.bias_receptor not in self.receptor_names:
            raise NetworkError(describe("population", pop_name, "LIF.bias_receptor names no receptor of the model",
                                        got=repr(self.bias_receptor), expected=f"None or one of {self.receptor_names}"))

    def check_dt(self, pop_name: str, n: int, dt: float) -> None:
        """Raise :class:`NetworkError` if the Euler step ``dt`` (seconds) is unstable for these
        time constants: ``dt <= tau_r`` for every receptor (non-negative current decay) and
        ``dt <= tau_m_s``."""
        for receptor in self.receptor_names:
            tau_s = self.receptor_tau(receptor, n)
            what = "tau_s" if receptor == DEFAULT_RECEPTOR else f"receptor '{receptor}' tau"
            if np.any(dt > tau_s):
                raise NetworkError(describe("population", pop_name,
                                            f"dt_s larger than {what} makes the Euler current decay negative",
                                            got=f"dt_s={dt:g}, min {what}={tau_s.min():g}", expected=f"dt_s <= {what}"))
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
