"""Lin & Tang's two-layer dictionary-learning network as a :class:`~neurosim.ir.Network`.

Populations and connections (reference section 1(a), eq. 8)::

    input  (M neurons, rate b, threshold 1):  bias (1-gamma) x          ConstantInput "x"
                                              + gamma B a                Connection "B" (gain gamma)
    coding (N neurons, rate a, threshold theta = diag H):
                                              bias -(1-gamma) lam s      ConstantInput "lam_s"
                                              + F b                      Connection "F"
                                              - (H - diag H) a           Connection "H" (lateral)

Two versions share the same IR layout, the same learning rules
(:mod:`neurosim.builders.dictrules`) and the same statistics:

* ``model="rate"`` -- :class:`~neurosim.neurons.LCANeuron` with ``threshold="nonneg"``,
  ``lam=0`` and ``gain=theta``: ``tau du/dt = beta - u + W a``, ``a = max(u, 0)/theta``, which is
  exactly the continuous model [D] ``u' = beta - u + W a``, ``a = Theta^{-1} max(u, 0)``. Note
  where the penalty sits: ``lam`` of the neuron model stays 0; Lin & Tang's ``lam s`` enters as the
  bias ``-(1-gamma) lam s`` of the coding neurons (it must scale with ``1 - gamma``).
  The phase statistics are the state at the end of the phase (the fixed point).
* ``model="spiking"`` -- non-leaky :func:`~neurosim.neurons.IF` neurons, reset by subtraction,
  ``tau_s = 1``, ``v_th = theta`` (1 for the input neurons); statistics are window averages of
  spike rate and soma current ``mu`` over the phase after a settling period.

:class:`DictNetRunner` runs the two phases with a warm start between them (``gamma`` switched by
``set_signal``): on the compiled engine (the default) the rules of :mod:`neurosim.builders.dictrules`
run **inside the loop** -- the engine applies them at the end of phase ``"kappa"`` from the
statistics it recorded itself, and the runner only copies each coding neuron's new threshold into
its penalty scaling (``s <- diag H``) before the next sample; on the numpy engine
(``backend="numpy"``) the caller applies them between runs (:func:`neurosim.learning.apply_rule`).
:func:`neurosim.solvers.dictnet_rate.rate_phase_stats` computes the rate model's statistics from
its fixed points directly (fast; tests check that both agree).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from neurosim.backends.numpy_engine import Simulator
from neurosim.errors import NetworkError, describe
from neurosim.ir import Connection, ConstantInput, Gain, Network, Population
from neurosim.learning import LearningRule
from neurosim.neurons import IF, LCANeuron

__all__ = ['DictNetParams', 'build_dictnet', 'DictNetRunner', 'consistency', 'symmetry', 'init_params', 'init_dictionary', 'INPUT', 'CODING', 'PHASES']



INPUT, CODING = "input", "coding"


#: phase names used by the rules: gamma = 0, then gamma = kappa
PHASES = ("0", "kappa")


@dataclass
class DictNetParams:
    """The learnable state of the network.

    Attributes
    ----------
    F : ndarray (N, M)
        Feedforward weights (coding <- input); ideally ``D^T``.
    B : ndarray (M, N)
        Feedback weights (input <- coding); ideally ``D`` (the dictionary, atoms in columns).
    H : ndarray (N, N)
        Lateral weights plus thresholds: lateral synapses ``-(H - diag H)``, thresholds
        ``theta = diag H``; ideally ``F B``.
    s : ndarray (N,)
        Penalty scaling (``s <- diag H`` after each update).
    """

    F: np.ndarray
    B: np.ndarray
    H: np.ndarray
    s: np.ndarray

    def __post_init__(self) -> None:
        self.F = np.array(self.F, dtype=np.float64)
        self.B = np.array(self.B, dtype=np.float64)
        self.H = np.array(self.H, dtype=np.float64)
        self.s = np.array(self.s, dtype=np.float64).reshape(-1)
        N, M = self.F.shape
        if self.B.shape != (M, N) or self.H.shape != (N, N) or self.s.shape != (N,):
            raise NetworkError(describe("dictnet", "params", "inconsistent shapes",
                                        got=f"F {self.F.shape}, B {self.B.shape}, H {self.H.shape}, s {self.s.shape}",
                                        expected=f"F (N, M), B (M, N), H (N, N), s (N,) with N={N}, M={M}"))
        if np.any(np.diag(self.H) <= 0):
            raise NetworkError(describe("dictnet", "params", "thresholds diag(H) must be positive",
                                        got=float(np.diag(self.H).min()), expected="> 0"))

    @property
    def shape(self) -> tuple[int, int]:
        """``(M, N)``: input neurons, coding neurons."""
        return self.B.shape

    @property
    def theta(self) -> np.ndarray:
        return np.diag(self.H).copy()

    @property
    def lateral(self) -> np.ndarray:
        """Lateral synaptic weights ``-(H - diag H)`` (zero diagonal)."""
        W = -self.H.copy()
        np.fill_diagonal(W, 0.0)
        return W

    def copy(self) -> "DictNetParams":
        return DictNetParams(self.F.copy(), self.B.copy(), self.H.copy(), self.s.copy())

    @classmethod
    def from_dictionary(cls, D: np.ndarray) -> "DictNetParams":
        """Ideal weights for dictionary ``D`` (M, N): ``F = D^T``, ``B = D``, ``H = F B``, ``s = 1``."""
        D = np.asarray(D, dtype=np.float64)
        return cls(D.T.copy(), D.copy(), D.T @ D, np.ones(D.shape[1]))


def init_dictionary(M: int, N: int, *, rng: np.random.Generator, init: str = "random",
                    X: Optional[np.ndarray] = None) -> np.ndarray:
    """A non-negative dictionary ``(M, N)`` with unit-norm atoms.

    ``"random"``: uniform entries in ``[0, 1)``; ``"data"``: random rows of ``X`` plus 1 % uniform
    noise. Shared by the local rule and the SGD baseline so both start from the same ``D``.
    """
    if init == "data":
        if X is None or len(X) == 0:
            raise NetworkError(describe("parameter", "init", "'data' needs training samples", expected="X"))
        D = np.asarray(X, dtype=np.float64)[rng.integers(0, len(X), size=N)].T + 0.01 * rng.random((M, N))
    elif init == "random":
        D = rng.random((M, N))
    else:
        raise NetworkError(describe("parameter", "init", "unknown initialisation", got=repr(init),
                                    expected="'random', 'data' or 'asymmetric'"))
    D = np.maximum(D, 0.0)
    return D / np.maximum(np.linalg.norm(D, axis=0), 1e-12)


def init_params(M: int, N: int, *, rng: np.random.Generator, init: str = "random", X: Optional[np.ndarray] = None
                ) -> DictNetParams:
    """Algorithm 1's initialisation.

    ``"random"`` / ``"data"``: ``D`` from :func:`init_dictionary`; ``F = D^T``, ``B = D``,
    ``H = F B``, ``s = 1``. ``"asymmetric"``: ``F^T`` and ``B`` independent column-normalised
    random, ``H`` uniform in ``[0, 1.5]`` with diagonal 1.5 (the paper's asymmetric initialisation).
    """
    if init == "asymmetric":
        Ft = rng.random((M, N))
        B = rng.random((M, N))
        H = rng.uniform(0.0, 1.5, (N, N))
        np.fill_diagonal(H, 1.5)
        return DictNetParams((Ft / np.linalg.norm(Ft, axis=0)).T, B / np.linalg.norm(B, axis=0), H, np.ones(N))
    return DictNetParams.from_dictionary(init_dictionary(M, N, rng=rng, init=init, X=X))


def consistency(p: DictNetParams) -> float:
    """``1 - ||H - F B||_F / ||H||_F``."""
    return float(1.0 - np.linalg.norm(p.H - p.F @ p.B) / max(np.linalg.norm(p.H), 1e-300))


def symmetry(p: DictNetParams) -> float:
    """Mean normalised inner product of row ``i`` of ``F`` with column ``i`` of ``B``."""
    num = np.einsum("nm,mn->n", p.F, p.B)
    den = np.linalg.norm(p.F, axis=1) * np.linalg.norm(p.B, axis=0)
    return float(np.mean(num / np.maximum(den, 1e-300)))


def build_dictnet(params: DictNetParams, X: np.ndarray, *, lam: float, model: str = "rate",
                  rules: Optional[dict[str, LearningRule]] = None, name: str = "dictnet") -> Network:
    """The network of the module docstring for inputs ``X`` (batch, M) or (M,), ``X >= 0``.

    Parameters
    ----------
    params : DictNetParams
    X : ndarray
        Non-negative inputs.
    lam : float
        Sparsity penalty ``lambda_1``.
    model : {"rate", "spiking"}
    rules : dict, optional
        ``{"F", "B", "H"} -> LearningRule`` set as ``Connection.learning_rule`` (the plastic
        synapses the mapper costs).
    """
    M, N = params.shape
    X = np.asarray(X, dtype=np.float64)
    if X.shape[-1] != M or X.ndim not in (1, 2):
        raise NetworkError(describe("dictnet", name, "inputs have the wrong shape", got=X.shape, expected=f"(batch, {M})"))
    if np.any(X < 0):
        raise NetworkError(describe("dictnet", name, "inputs must be non-negative (split into +/- channels)",
                                    got=float(X.min()), expected=">= 0"))
    theta = params.theta
    if model == "rate":
        inp = LCANeuron(threshold="nonneg", lam=0.0, gain=1.0)
        cod = LCANeuron(threshold="nonneg", lam=0.0, gain=theta)
    elif model == "spiking":
        inp = IF(v_th=1.0, tau_s=1.0, reset="subtract")
        cod = IF(v_th=theta, tau_s=1.0, reset="subtract")
    else:
        raise NetworkError(describe("dictnet", name, "unknown model", got=repr(model), expected="'rate' or 'spiking'"))
    rules = rules or {}
    one_minus = Gain("gamma", scale=-1.0, offset=1.0)
    net = Network(name, signals={"gamma": 0.0})
    net.add(Population(INPUT, M, inp))
    net.add(Population(CODING, N, cod))
    net.add(ConstantInput(INPUT, X, gain=one_minus, name="x"))
    net.add(ConstantInput(CODING, -lam * params.s, gain=one_minus, name="lam_s"))
    # every entry of F, B and the off-diagonal of H is a synapse the hardware keeps, even when the
    # non-negativity projection has set its weight to zero (the diagonal of H is the threshold)
    off_diagonal = ~np.eye(N, dtype=bool)
    net.add(Connection(INPUT, CODING, params.F, name="F", learning_rule=rules.get("F"),
                       synapses=np.ones((N, M), dtype=bool)))
    net.add(Connection(CODING, INPUT, params.B, gain=Gain("gamma"), name="B", learning_rule=rules.get("B"),
                       synapses=np.ones((M, N), dtype=bool)))
    net.add(Connection(CODING, CODING, params.lateral, name="H", learning_rule=rules.get("H"),
                       synapses=off_diagonal))
    return net.validate()


class DictNetRunner:
    """Runs the two phases for a batch of inputs and returns the statistics (see the module
    docstring: on the compiled engine the rules learn inside its loop).

    Parameters
    ----------
    params : DictNetParams
    batch : int
        Inputs simulated in parallel.
    lam : float
    model : {"rate", "spiking"}
    kappa : float
        Feedback strength of the second phase.
    dt_s : float
        Step (model time; ``tau_s = 1``).
    phase_time : float
        Length of each phase (model time).
    settle_fraction : float
        Spiking model: fraction of each phase before the statistics window opens.
    rules : dict, optional
        The ``F``, ``B``, ``H`` rules; on the compiled backend they learn inside the loop.
    backend : {"compiled", "numpy"}
        Engine of the phases. ``"compiled"`` with ``rules`` learns in the loop (``in_loop``).
    """

    def __init__(self, params: DictNetParams, *, batch: int, lam: float, model: str = "rate", kappa: float = 0.7,
                 dt_s: float = 0.05, phase_time: float = 40.0, settle_fraction: float = 0.25,
                 rules: Optional[dict[str, LearningRule]] = None, backend: str = "compiled"):
        M, _ = params.shape
        self.model, self.kappa, self.lam = model, float(kappa), float(lam)
        self.batch = int(batch)
        if backend not in ("compiled", "numpy"):
            raise NetworkError(describe("dictnet", "runner", "unknown backend", got=repr(backend),
                                        expected="'compiled' or 'numpy'"))
        self.network = build_dictnet(params, np.zeros((self.batch, M)) if self.batch > 1 else np.zeros(M),
                                     lam=lam, model=model, rules=rules)
        self.in_loop = backend == "compiled" and bool(rules) and all(hasattr(r, "loop_updates") for r in rules.values())
        self.compiled = backend == "compiled"
        if self.compiled:
            from neurosim.backends.compiled import CompiledSimulator  # numba loads only when used
            self.sim = CompiledSimulator(self.network, dt_s=dt_s, track_window=(model == "spiking"),
                                         learning=self.in_loop)
        else:
            self.sim = Simulator(self.network, dt_s=dt_s, track_window=(model == "spiking"))
        steps = int(round(phase_time / dt_s))
        self.settle = int(round(settle_fraction * steps)) if model == "spiking" else 0
        self.measure = steps - self.settle
        if self.measure < 1:
            raise NetworkError(describe("dictnet", "runner", "phase too short for the settling period",
                                        got=f"{steps} steps, settle {self.settle}", expected="measure >= 1 step"))
        self.params = params

    def set_params(self, params: DictNetParams) -> None:
        """Load new weights, thresholds and penalty scaling (between samples)."""
        sim = self.sim
        sim.set_weights("F", params.F)
        sim.set_weights("B", params.B)
        sim.set_weights("H", params.lateral)
        sim.set_param(CODING, "gain" if self.model == "rate" else "v_th", params.theta)
        sim.set_input("lam_s", -self.lam * params.s)
        self.params = params

    def learned_params(self) -> DictNetParams:
        """The weights and thresholds the engine holds now (after in-loop updates), with the
        penalty scaling ``s = theta`` (Algorithm 1's ``s <- diag H``), which it also loads into the
        coding neurons' penalty input for the next sample."""
        sim = self.sim
        theta = sim.thresholds(CODING)
        H = -np.asarray(sim.weights("H"), dtype=np.float64)
        H[np.diag_indices_from(H)] = theta
        params = DictNetParams(sim.weights("F"), sim.weights("B"), H, theta.copy())
        sim.set_input("lam_s", -self.lam * params.s)
        self.params = params
        return params

    def record_update(self, connections: tuple[str, ...] = ("F", "B", "H")) -> None:
        """Record one learning epoch (one rule application updating all plastic synapses) of each
        of ``connections`` in the simulator's activity profile (``learn_epochs``)."""
        for name in connections:
            self.sim.record_learning_epoch(name)

    def _stats(self, phase: str) -> dict[str, dict[str, np.ndarray]]:
        if self.compiled:  # recorded by the engine before any in-loop update
            st = self.sim.phase_stats[phase]
            keys = ("rate", "mean_current") if self.model == "rate" else ("rate", "count", "mean_current")
            return {pop: {k: st[pop][k] for k in keys} for pop in (INPUT, CODING)}
        if self.model == "rate":
            st = self.sim.state
            return {pop: {"rate": st[pop]["a"].astype(np.float64), "mean_current": st[pop]["u"].astype(np.float64)}
                    for pop in (INPUT, CODING)}
        w = self.sim.window()
        return {pop: {k: w[pop][k] for k in ("rate", "count", "mean_current")} for pop in (INPUT, CODING)}

    def phases(self, X: np.ndarray) -> dict[str, dict[str, dict[str, np.ndarray]]]:
        """Phase 0 (gamma = 0) from rest, then phase kappa with a warm start.

        Returns ``{"0": {pop: stats}, "kappa": {pop: stats}}`` with ``rate``, ``mean_current``
        (and ``count`` for the spiking model) shaped ``(batch, n)``.
        """
        X = np.asarray(X, dtype=np.float64)
        self.sim.set_input("x", X if X.ndim == 2 else X[None, :])
        self.sim.reset_state()
        out = {}
        compiled = self.compiled
        for phase, gamma in zip(PHASES, (0.0, self.kappa)):
            self.sim.set_signal("gamma", gamma)
            if self.settle:
                self.sim.run(self.settle)
            if compiled:  # the window is the phase; in-loop rules act at the end of "kappa"
                self.sim.run(self.measure, phase=phase)
            else:
                self.sim.reset_window()
                self.sim.run(self.measure)
            out[phase] = self._stats(phase)
        return out

