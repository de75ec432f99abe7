"""Flat arrays of a network for the compiled kernels: populations, parameters, receptors.

The compiled engine lays every population out in one global neuron index space (population
``p`` holds neurons ``off[p] .. off[p+1]-1``, in network order) and every receptor current in
one global *slot* space (receptor ``r`` of neuron ``j`` of population ``p`` is slot
``roff[p] + r * n[p] + j``; a graded population has one slot per neuron, its next step's input).
Per-neuron parameters are arrays over the neuron space, in the run's dtype, already in the form
the update uses (``v_decay = 1 - dt/tau_m``, ``i_decay = 1 - dt/tau_r`` ...), so a kernel reads
numbers, never a Python object. Everything here is plain numpy; :mod:`.kernels` consumes it.
"""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from neurosim.errors import NetworkError, SimulationError, describe
from neurosim.ir import Network
from neurosim.neurons import LIF, LCANeuron

__all__ = ["KIND_LCA", "KIND_LIF", "MAX_REFRACTORY", "THRESHOLD_CODES", "Layout", "Params", "Pops", "build_layout",
           "compare_threshold"]

KIND_LIF, KIND_LCA = 0, 1
#: LCANeuron.threshold -> kernel code
THRESHOLD_CODES = {"soft": 0, "nonneg": 1, "hard": 2}
#: refractory counters are int16
MAX_REFRACTORY = 32767

#: per-population integers (int64 arrays of length P; ``off`` has P + 1 entries); ``clamp``: reset to
#: ``v_reset < v_th``, so a refractory neuron is held at ``v_reset`` (no saved value needed);
#: ``uniform``: one value of each parameter but the threshold (``th_uniform``) for all neurons;
#: ``bias_start``: first step of the bias (``LIF.bias_start``); ``bias_rec``: receptor the bias
#: enters (``LIF.bias_receptor``), -1 for a bias on ``v``
Pops = namedtuple("Pops", "kind off size roff nrec refractory reset threshold unit_gain uniform clamp th_uniform "
                          "bias_start bias_rec")
#: per-neuron (length N) and per-slot (length S) parameters, run dtype; ``v_cmp`` is the threshold the
#: spike test ``v >= v_cmp`` uses: ``v_th``, or for ``LIF.threshold == ">"`` the next float above it
#: (``v > v_th`` exactly, in the run's dtype), while a reset by subtraction removes ``v_th``;
#: ``i_bias`` is ``dt (dt/tau_b) bias`` of a receptor bias (added to the receptor slot each step)
Params = namedtuple("Params", "v_decay v_th v_reset lca_k lam inv_gain i_decay input_scale v_cmp i_bias")


@dataclass
class Layout:
    """The network's populations as flat arrays (see the module docstring).

    Attributes
    ----------
    names : list of str
        Population names in network order.
    pops : Pops
    params : Params
    n_neurons, n_slots : int
        Sizes of the neuron and receptor-slot spaces.
    base_drive : ndarray (N,)
        ``dt * bias`` (spiking, direct bias; 0 for a receptor bias) or ``bias`` (graded), float64;
        a spiking population's is added to its drive from step ``pops.bias_start`` on.
    leak_drive : ndarray (N,)
        ``dt * v_rest / tau_m`` of leaky LIF neurons (else 0), float64.
    receptors : dict
        Population -> receptor names (``("syn", ...)`` for LIF, ``()`` for graded).
    """

    names: list[str]
    pops: Pops
    params: Params
    n_neurons: int
    n_slots: int
    base_drive: np.ndarray
    leak_drive: np.ndarray
    leaky: np.ndarray
    receptors: dict[str, tuple[str, ...]]
    dt: float
    dtype: np.dtype

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise NetworkError(describe("population", name, "no such population", expected=self.names)) from None

    def span(self, name: str) -> tuple[int, int]:
        """Global neuron range ``(lo, hi)`` of population ``name``."""
        p = self.index(name)
        return int(self.pops.off[p]), int(self.pops.off[p + 1])

    def slot(self, name: str, receptor: int = 0) -> int:
        """First slot of ``receptor`` of population ``name``."""
        p = self.index(name)
        return int(self.pops.roff[p] + receptor * self.pops.size[p])


def _uniform(*arrays: np.ndarray) -> bool:
    return all(bool(np.all(a == a[0])) for a in arrays)


def compare_threshold(v_th: np.ndarray, strict: np.ndarray) -> np.ndarray:
    """The thresholds of the spike test ``v >= v_cmp``: ``v_th``, or where ``strict`` the next value
    of ``v_th``'s dtype above it (``v >= nextafter(v_th, inf)`` is ``v > v_th`` exactly)."""
    return np.where(strict, np.nextafter(v_th, np.asarray(np.inf, dtype=v_th.dtype)), v_th).astype(v_th.dtype)


def build_layout(network: Network, *, dt: float, dtype: np.dtype) -> Layout:
    """Lay ``network``'s populations out for the kernels (dispatch by neuron model type).

    Raises
    ------
    NetworkError
        A time constant is too short for ``dt`` (the models' own ``check_dt``).
    SimulationError
        A neuron model the compiled engine has no kernel for, or a refractory period beyond
        :data:`MAX_REFRACTORY` steps.
    """
    P = len(network.populations)
    N = network.n_neurons
    kind = np.zeros(P, np.int64)
    off = np.zeros(P + 1, np.int64)
    size = np.zeros(P, np.int64)
    nrec = np.zeros(P, np.int64)
    refractory = np.zeros(P, np.int64)
    reset = np.zeros(P, np.int64)
    threshold = np.zeros(P, np.int64)
    unit_gain = np.zeros(P, np.int64)
    uniform = np.zeros(P, np.int64)
    clamp = np.zeros(P, np.int64)
    th_uniform = np.zeros(P, np.int64)
    bias_start = np.zeros(P, np.int64)
    bias_rec = np.full(P, -1, np.int64)
    strict = np.zeros(N, dtype=bool)
    f64 = {k: np.zeros(N) for k in ("v_decay", "v_th", "v_reset", "lca_k", "lam", "inv_gain", "base", "leak", "ibias")}
    f64["v_decay"][:] = 1.0
    f64["inv_gain"][:] = 1.0
    leaky = np.zeros(N, dtype=bool)
    decays, scales, receptors = [], [], {}
    k = 0
    for p, pop in enumerate(network.populations):
        m, n = pop.model, pop.size
        off[p], size[p] = k, n
        sl = slice(k, k + n)
        if isinstance(m, LIF):
            m.check_dt(pop.name, n, dt)
            if m.refractory_steps > MAX_REFRACTORY:
                raise SimulationError(describe("population", pop.name, "refractory period too long for the compiled engine",
                                               got=m.refractory_steps, expected=f"<= {MAX_REFRACTORY} steps"))
            tau_m = m.param("tau_m_s", n)
            with np.errstate(divide="ignore", invalid="ignore"):
                inv_tau_m = np.where(np.isfinite(tau_m), 1.0 / tau_m, 0.0)
            f64["v_decay"][sl] = 1.0 - dt * inv_tau_m
            f64["leak"][sl] = dt * m.param("v_rest", n) * inv_tau_m
            leaky[sl] = m.leaky
            f64["v_th"][sl] = m.param("v_th", n)
            f64["v_reset"][sl] = m.param("v_reset", n)
            names = m.receptor_names
            bias_start[p] = int(m.bias_start)
            strict[sl] = m.threshold == ">"
            if m.bias_receptor is None:
                f64["base"][sl] = dt * m.param("bias", n)
            else:
                bias_rec[p] = names.index(m.bias_receptor)
                f64["ibias"][sl] = (dt * m.param("bias", n)) * (dt / m.receptor_tau(m.bias_receptor, n))
            for r in names:
                tau = m.receptor_tau(r, n)
                decays.append(1.0 - dt / tau)
                scales.append(dt / tau)
            kind[p], nrec[p] = KIND_LIF, len(names)
            refractory[p] = int(m.refractory_steps)
            reset[p] = 0 if m.reset == "subtract" else 1
            uniform[p] = _uniform(f64["v_decay"][sl], f64["leak"][sl], f64["v_reset"][sl], *decays[-len(names):])
            th_uniform[p] = _uniform(f64["v_th"][sl])
            clamp[p] = int(reset[p] == 1 and bool(np.all(f64["v_reset"][sl] < f64["v_th"][sl])))
            receptors[pop.name] = names
        elif isinstance(m, LCANeuron):
            m.check_dt(pop.name, n, dt)
            f64["lca_k"][sl] = dt / m.param("tau_s", n)
            f64["lam"][sl] = m.param("lam", n)
            f64["inv_gain"][sl] = 1.0 / m.param("gain", n)
            f64["base"][sl] = m.param("bias", n)
            decays.append(np.zeros(n))  # the graded input is consumed every step
            scales.append(np.ones(n))
            kind[p], nrec[p] = KIND_LCA, 1
            threshold[p] = THRESHOLD_CODES[m.threshold]
            unit_gain[p] = bool(np.all(f64["inv_gain"][sl] == 1.0))
            uniform[p] = _uniform(f64["lca_k"][sl], f64["lam"][sl], f64["inv_gain"][sl])
            receptors[pop.name] = ()
        else:
            raise SimulationError(describe("population", pop.name, "the compiled engine has no kernel for this neuron model",
                                           got=type(m).__name__, expected=["LIF", "LCANeuron"]))
        k += n
    off[P] = k
    roff = np.zeros(P, np.int64)
    roff[1:] = np.cumsum(nrec * size)[:-1]
    n_slots = int((nrec * size).sum())
    i_decay = np.concatenate(decays) if decays else np.zeros(0)
    input_scale = np.concatenate(scales) if scales else np.zeros(0)
    v_th = f64["v_th"].astype(dtype)
    params = Params(*(f64[key].astype(dtype) for key in ("v_decay", "v_th", "v_reset", "lca_k", "lam", "inv_gain")),
                    i_decay.astype(dtype), input_scale.astype(dtype), compare_threshold(v_th, strict),
                    f64["ibias"].astype(dtype))
    pops = Pops(kind, off, size, roff, nrec, refractory, reset, threshold, unit_gain, uniform, clamp, th_uniform,
                bias_start, bias_rec)
    return Layout([p.name for p in network.populations], pops, params, N, n_slots, f64["base"], f64["leak"], leaky,
                  receptors, float(dt), np.dtype(dtype))
