"""Lin & Tang's contrastive dictionary learning (Algorithm 1) and a scikit-learn-style estimator.

Per mini-batch of inputs (batch 1 = the paper's online setting)::

    phase 0      gamma = 0      from rest          -> b_0, a_0, u_0   (per neuron)
    phase kappa  gamma = kappa  warm start          -> b_k, a_k, u_k
    local updates of F, B, H and the thresholds      (dictrules: eqs. 11-12, averaged over the batch)
    projection to F, B, H >= 0                       (inside the rules)
    s <- diag(H)                                     (each coding neuron copies its own threshold)

The phase statistics come from one of three interchangeable sources: the rate model's fixed
points (``model="rate"``, ``solver="fixed_point"``, fast), the rate network simulated
(``solver="network"``) or the spiking network (``model="spiking"``). A simulated network runs on
the compiled engine by default, which applies the rules **inside its loop** at the end of phase
``"kappa"`` (their scalar forms, :mod:`neurosim.plasticity`: local by construction); with
``backend="numpy"`` (and for the fixed points) every update goes between runs through
:func:`neurosim.learning.apply_rule`, i.e. the locality check of :class:`~neurosim.learning.LocalArray`.
Both give the same weights (to rounding).

Training is resumable: :class:`TrainState` holds the weights, the sample counter, the current
epoch's order, the random generator's state and the history, and round-trips through
:meth:`TrainState.to_arrays` / :meth:`TrainState.from_arrays` (an ``.npz`` checkpoint).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
from typing import Callable, Optional, Union

import numpy as np

from neurosim.activity import ActivityProfile
from neurosim.builders.dictnet import (
    CODING,
    INPUT,
    PHASES,
    DictNetParams,
    DictNetRunner,
    build_dictnet,
    consistency,
    init_dictionary,
    init_params,
    symmetry,
)
from neurosim.builders.dictrules import lin_tang_rules
from neurosim.data.planted import test_objective
from neurosim.errors import NetworkError, SimulationError, describe
from neurosim.estimators.training import HISTORY_KEYS, TrainState, copy_state, restore_state, train_loop
from neurosim.ir import Network
from neurosim.learning import apply_rule, connection_stats, parse_quantity
from neurosim.solvers.dictnet_rate import rate_fixed_point, rate_phase_stats

__all__ = ['TrainState', 'train_loop', 'code_step_scale', 'proxy_codes', 'lin_tang_update', 'LocalDictionaryLearning', 'HISTORY_KEYS']

log = logging.getLogger(__name__)



#: eta_d="auto": eta_H = AUTO_ETA_H / (lambda_max(C0) + tr(C0)/batch) for the proxy codes' C0 (see
#: :meth:`LocalDictionaryLearning.resolve_rates`): 3/4 of the least-mean-squares optimal step, because
#: the codes grow while learning (on planted data the learned codes' lambda_max + tr/batch is ~2.6x
#: the proxy's, which puts the end-of-training step just below the mean-square stability limit 2)
AUTO_ETA_H = 0.75

#: the spiking network's step and phase length (model time, ``tau_s = 1``): the paper's window, the
#: defaults of ``model="spiking"`` and of the spiking profile the rate model's fixed points imply
SPIKING_DT_S, SPIKING_PHASE_TIME = 1.0 / 32, 20.0


#: Training stops with an error once the mean atom norm exceeds this many times its initial value
#: (the learning rule's normalisation keeps a stable run near its start; lower the rates otherwise).
DIVERGED_NORM = 1e3


#: an automatic learning rate that diverges is halved and the epoch rerun, at most this many times
#: (down to 1/16 of the rate ``"auto"`` picked); beyond, the divergence is raised
MAX_BACKOFFS = 4

#: connection -> (pre, post, gain per phase)
_CONNS = {"F": (INPUT, CODING, None), "B": (CODING, INPUT, "gamma"), "H": (CODING, CODING, None)}


def code_step_scale(A: np.ndarray, batch_size: int) -> float:
    """``1 / (lambda_max(C) + tr(C) / batch_size)`` with ``C = mean_b a_b a_b^T`` of codes ``A``.

    The largest stable step of a (mini-batch) least-mean-squares update driven by these codes is
    about twice this value: ``lambda_max(C)`` bounds the mean update, ``tr(C)/batch`` its noise.
    """
    C = A.T @ A / max(len(A), 1)
    return 1.0 / max(float(np.linalg.eigvalsh(C).max()) + float(np.trace(C)) / batch_size, 1e-12)


def proxy_codes(X: np.ndarray, n_components: int, *, lam: float, seed: int, rows: int = 256) -> np.ndarray:
    """Non-negative LASSO codes of (up to) the first ``rows`` rows of ``X`` over a dictionary of
    ``n_components`` unit-norm random training rows (``init="data"``), for step-size heuristics."""
    from neurosim.solvers.lasso import fista

    D = init_dictionary(X.shape[1], n_components, rng=np.random.default_rng([seed, 2]), init="data", X=X)
    return fista(D, X[:rows], lam, nonneg=True, tol=1e-4 * max(1.0, float(np.abs(X[:rows] @ D).max())))


def lin_tang_update(params: DictNetParams, stats: dict, rules: dict, *, kappa: float, rescale: bool = True
                    ) -> DictNetParams:
    """One local update of ``F``, ``B``, ``H`` from two-phase statistics (see the module docstring).

    ``stats`` is ``{"0": {pop: {stat: (batch, n)}}, "kappa": {...}}``; each rule sees only its own
    connection's statistics through :func:`~neurosim.learning.apply_rule`.
    """
    M, N = params.shape
    weights = {"F": params.F, "B": params.B, "H": params.lateral}
    thresholds = {CODING: params.theta, INPUT: np.ones(M)}
    out = {}
    for name, (pre, post, gain) in _CONNS.items():
        g = None if gain is None else {"0": 0.0, "kappa": kappa}
        reads_received = any(parse_quantity(q)[2] == "received" for q in rules[name].reads)
        post_stats, pre_stats = connection_stats(stats, pre=pre, post=post, weights=weights[name], gain=g,
                                                 received=reads_received)
        out[name] = apply_rule(rules[name], weights=weights[name], post_stats=post_stats, pre_stats=pre_stats,
                               post_params={"threshold": thresholds[post]},
                               mask=~np.eye(N, dtype=bool) if name == "H" else None)
    H = -out["H"]["weight"]
    theta = out["H"]["post.threshold"]
    H[np.diag_indices(N)] = theta
    s = theta.copy() if rescale else params.s.copy()
    return DictNetParams(out["F"]["weight"], out["B"]["weight"], H, s)


def _run_shape(updates: dict[int, int], steps_per_phase: int) -> tuple[int, int, int]:
    """``(updates, batch, steps)`` of a training run's activity: ``2 S`` steps per update; one
    common mini-batch size ``B`` gives ``batch = B``, several give input-steps with ``batch = 1``
    (:meth:`~neurosim.activity.ActivityProfile.combine`)."""
    n_updates = int(sum(updates.values()))
    if len(updates) == 1:
        (batch,) = updates
        return n_updates, int(batch), 2 * steps_per_phase * n_updates
    return n_updates, 1, 2 * steps_per_phase * sum(b * n for b, n in updates.items())


class LocalDictionaryLearning:
    """Dictionary learning by Lin & Tang's network with local plasticity (sklearn-style).

    Parameters
    ----------
    n_components : int
        Number of atoms ``N`` (coding neurons).
    model : {"rate", "spiking"}
    solver : {"fixed_point", "network"}
        Rate model only: fixed points found directly or by simulating the network.
    lam : float
        Sparsity penalty ``lambda_1``.
    kappa : float
        Feedback strength of the second phase.
    eta_d : float or "auto"
        Learning rate of ``F`` and ``B``; ``eta_H = eta_h_ratio * eta_d``; ``"auto"`` derives it
        from the data (:meth:`resolve_rates`).
    eta_h_ratio : float
    lambda2 : float or "auto"
        Weight decay; the equilibrium is reached when every atom's mean code equals
        ``lambda2 / lam`` (so ``lambda2 = lam * E[a]`` keeps atoms near their initial norm;
        ``"auto"`` estimates ``E[a]`` from the initial codes, :meth:`resolve_rates`).
    batch_size : int
        Inputs per update (simulated in parallel; updates averaged per synapse).
    n_epochs : float
        Passes over the training set (ignored if ``n_samples`` is given).
    n_samples : int, optional
        Total training samples.
    init : {"random", "data", "asymmetric"}
    project : bool
        Non-negativity projection (eqs. 11-12); off only for tests.
    dt_s, phase_time, settle_fraction : float, optional
        Network simulation (defaults: rate 0.05 / 300; spiking 1/32 / 20 (the paper's) / 0.25).
    tol : float
        Fixed-point solver tolerance.
    eval_every : int, optional
        Record the history every this many samples (needs ``X_test`` in :meth:`fit`).
    seed : int
    backend : {"compiled", "numpy"}
        Engine of a simulated network: ``"compiled"`` learns inside its loop, ``"numpy"`` between
        runs.

    Attributes
    ----------
    activity_ : ActivityProfile or None
        After :meth:`fit` with a simulated network (``solver="network"`` or ``model="spiking"``):
        the events of every phase simulated by this call of :meth:`fit` (both phases of every
        mini-batch, settling included), with ``learn_epochs`` = the number of local updates (each
        updates every plastic synapse of ``F``, ``B`` and ``H`` once), so a mapping of
        :func:`~neurosim.builders.dictnet.build_dictnet` charges learning exactly. Mini-batches of
        different sizes run on different simulators; their profiles are joined by
        :meth:`ActivityProfile.combine`. ``None`` for the fixed-point solver (no network is
        simulated, so there are no events to profile), or when this call made no update.
    fixed_point_activity_ : ActivityProfile or None
        After :meth:`fit` with the fixed-point solver: the profile the rate network would produce
        if it sat at each phase's fixed point for the whole phase (``source="fixed-point:rates"``;
        neuron ``i`` emits ``steps_per_phase()`` events per phase and input in which its output
        is non-zero), with ``learn_epochs`` as ``activity_``: a *model* of the events, not a
        measurement (the transient from rest to the fixed point is not seen). ``None`` for
        simulated runs (see ``activity_``) or when this call made no update.
    fixed_point_spikes_ : ActivityProfile or None
        After :meth:`fit` with the fixed-point solver: the *spiking* network's events modelled
        from the same fixed points (a neuron fires at its fixed-point rate for each spiking phase,
        :meth:`_fixed_point_spikes`): the same network, steps and events as a ``model="spiking"``
        run's simulated ``activity_``, so chip costs of the two are comparable
        (``source="fixed-point:spikes"``; a model, not a measurement). ``None`` as
        ``fixed_point_activity_``.
    """

    def __init__(self, n_components: int, *, model: str = "rate", solver: str = "fixed_point", lam: float = 0.1,
                 kappa: float = 0.7, eta_d: Union[float, str] = "auto", eta_h_ratio: float = 15.0,
                 lambda2: Union[float, str] = "auto",
                 batch_size: int = 1, n_epochs: float = 1.0, n_samples: Optional[int] = None, init: str = "random",
                 project: bool = True, dt_s: Optional[float] = None, phase_time: Optional[float] = None,
                 settle_fraction: float = 0.25, tol: float = 1e-6, eval_every: Optional[int] = None, seed: int = 0,
                 backend: str = "compiled"):
        self.n_components = n_components
        self.model, self.solver, self.lam, self.kappa = model, solver, lam, kappa
        self.eta_d, self.eta_h_ratio, self.lambda2 = eta_d, eta_h_ratio, lambda2
        self.batch_size, self.n_epochs, self.n_samples, self.init = batch_size, n_epochs, n_samples, init
        self.project, self.dt_s, self.phase_time, self.settle_fraction = project, dt_s, phase_time, settle_fraction
        self.tol, self.eval_every, self.seed = tol, eval_every, seed
        self.backend = backend

    # -- set-up -------------------------------------------------------------------------------
    def _check(self) -> None:
        if self.model not in ("rate", "spiking"):
            raise NetworkError(describe("parameter", "model", "unknown", got=repr(self.model),
                                        expected="'rate' or 'spiking'"))
        if self.backend not in ("compiled", "numpy"):
            raise NetworkError(describe("parameter", "backend", "unknown", got=repr(self.backend),
                                        expected="'compiled' or 'numpy'"))
        if self.solver not in ("fixed_point", "network"):
            raise NetworkError(describe("parameter", "solver", "unknown", got=repr(self.solver),
                                        expected="'fixed_point' or 'network'"))
        for name in ("n_components", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise NetworkError(describe("parameter", name, "must be a positive integer", got=v, expected=">= 1"))
        if not (np.isfinite(self.lam) and self.lam >= 0):
            raise NetworkError(describe("parameter", "lam", "must be >= 0", got=self.lam))

    def _rules(self) -> dict:
        return lin_tang_rules(kappa=self.kappa, eta_d=self.eta_d_, eta_h_ratio=self.eta_h_ratio, lambda2=self.lambda2_,
                              project=self.project)

    def resolve_rates(self, X: np.ndarray) -> tuple[float, float]:
        """The ``(eta_D, lambda2)`` used for training data ``X``.

        ``eta_d="auto"`` picks ``eta_H = AUTO_ETA_H * code_step_scale(A0, batch_size)`` and
        ``eta_D = eta_H / eta_h_ratio``, ``A0`` = :func:`proxy_codes` (codes over a dictionary of
        training samples, a stand-in for a learned dictionary: codes over the random initial
        dictionary are several times smaller than later ones). The H update is a (stochastic)
        least-mean-squares step on ``1/2 ||(H - F B) a||^2`` with the codes ``a`` as regressors: per
        eigenvalue ``l`` of ``C = E[a a^T]`` its error contracts in mean square by
        ``1 - 2 eta_H l + eta_H^2 l (l + tr(C)/batch)`` per update, fastest at
        ``eta_H = 1 / (l + tr(C)/batch)`` and unstable beyond ``2 / (lambda_max(C) + tr(C)/batch)``.
        ``eta_H`` is therefore the rate the data bound, and ``eta_D`` follows from the ratio (the
        paper's 15 keeps ``H`` close to ``F B``). ``AUTO_ETA_H = 0.75``: 3/4 of the optimal step for
        the proxy codes, because ``C`` grows during learning (the learned codes'
        ``lambda_max + tr/batch`` is ~2.6x the proxy's on planted data, which puts the final step
        just below the stability limit). Measured on planted data (64 x 128, batch 16, ratio 15):
        the former 0.25 gave ``eta_D`` 0.048 and reached 71 % of the atoms in 3 epochs; 0.75 gives
        0.145 (the hand-tuned 0.15 of the benchmark: 98 % in 3 epochs). One epoch is not enough at
        any stable rate tried (66 % at ``eta_D`` 0.15, 84 % at 0.28 with ratio 8).
        ``lambda2="auto"`` is ``lam * mean(A0)``: an atom's norm is stationary when its mean code
        equals ``lambda2 / lam`` (with ``s = diag H = ||d||^2``), so this keeps norms near 1.
        Hyperparameter choices made once from data, not part of the (local) rule.
        """
        eta, l2 = self.eta_d, self.lambda2
        if eta == "auto" or l2 == "auto":
            A = proxy_codes(X, self.n_components, lam=self.lam, seed=self.seed)
            if eta == "auto":
                eta = AUTO_ETA_H * code_step_scale(A, self.batch_size) / self.eta_h_ratio
            if l2 == "auto":
                l2 = self.lam * float(A.mean())
        return float(eta), float(l2)

    def _defaults(self) -> tuple[float, float]:
        if self.model == "spiking":
            return self.dt_s or SPIKING_DT_S, self.phase_time or SPIKING_PHASE_TIME
        return self.dt_s or 0.05, self.phase_time or 300.0

    def steps_per_phase(self) -> int:
        """Time steps of each phase of the simulated network, ``round(phase_time / dt_s)``."""
        dt, T = self._defaults()
        return int(round(T / dt))

    def initial_state(self, X: np.ndarray) -> TrainState:
        """A fresh :class:`TrainState` (initial weights from ``seed``)."""
        self._check()
        X = _check_X(X)
        rng = np.random.default_rng(self.seed)
        params = init_params(X.shape[1], self.n_components, rng=rng, init=self.init, X=X)
        return TrainState(params, rng_state=json.dumps(rng.bit_generator.state))

    def total_samples(self, n_train: int) -> int:
        return int(self.n_samples) if self.n_samples is not None else int(round(self.n_epochs * n_train))

    # -- phases ---------------------------------------------------------------------------------
    def phase_stats(self, params: DictNetParams, X: np.ndarray) -> dict:
        """Two-phase statistics of inputs ``X`` (batch, M) with the current weights."""
        if self.model == "rate" and self.solver == "fixed_point":
            return rate_phase_stats(params, X, lam=self.lam, kappa=self.kappa, tol=self.tol)
        runner = self._runners.get(len(X))
        if runner is None:
            dt, T = self._defaults()
            runner = DictNetRunner(params, batch=len(X), lam=self.lam, model=self.model, kappa=self.kappa, dt_s=dt,
                                   phase_time=T, settle_fraction=self.settle_fraction, rules=self._rules(),
                                   backend=self.backend)
            self._runners[len(X)] = runner
        if not (runner.in_loop and params is runner.params):  # in the loop the engine already holds them
            runner.set_params(params)
        return runner.phases(X)

    # -- training ---------------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y=None, *, X_test: Optional[np.ndarray] = None, state: Optional[TrainState] = None,
            callback: Optional[Callable[[TrainState], bool]] = None) -> "LocalDictionaryLearning":
        """Learn the dictionary from the rows of ``X`` (non-negative).

        ``state`` continues an interrupted run; ``callback(state)`` is called after every update
        and may return ``True`` to stop early (the state is then resumable).

        With ``eta_d="auto"`` on the rate model's fixed points, a run that diverges (no bounded
        fixed point, non-finite weights or atom norms beyond ``DIVERGED_NORM``) goes back to the
        start of its epoch with both rates halved (``state.rate_scale``, kept in checkpoints) and
        a warning, at most ``MAX_BACKOFFS`` times: the automatic rate is an estimate made before
        the codes grow (e.g. image patches at mini-batches of 256 diverge in epoch 8 at the
        estimate and learn at half of it). A rate given explicitly is never changed: its
        divergence is raised.
        """
        self._check()
        X = _check_X(X)
        eta, self.lambda2_ = self.resolve_rates(X)
        state = state if state is not None else self.initial_state(X)
        fixed = self.model == "rate" and self.solver == "fixed_point"
        backoff = fixed and self.eta_d == "auto"  # an automatic rate that diverges is halved (below)
        if not backoff:
            state.rate_scale = 1.0
        self.eta_d_ = eta * state.rate_scale
        rules = self._rules()  # rebound when the rate is backed off (step reads it at each call)
        self._runners: dict[int, DictNetRunner] = {}
        M, N = state.params.shape
        active = {INPUT: np.zeros(M, dtype=np.int64), CODING: np.zeros(N, dtype=np.int64)}
        rate_sums = {INPUT: np.zeros(M), CODING: np.zeros(N)}  # fixed-point rates summed over phases and inputs
        updates: dict[int, int] = {}  # mini-batch size -> updates made with it (fixed-point solver)

        norm0 = max(float(np.linalg.norm(state.params.B, axis=0).mean()), 1e-12)

        def step(st: TrainState, Xb: np.ndarray) -> None:
            stats = self.phase_stats(st.params, Xb)
            if fixed:  # neurons with a non-zero output at each phase's fixed point, summed over the batch
                for phase in PHASES:
                    for pop, n_active in active.items():
                        n_active += np.count_nonzero(stats[phase][pop]["rate"] > 0, axis=0)
                        rate_sums[pop] += stats[phase][pop]["rate"].sum(axis=0)
                updates[len(Xb)] = updates.get(len(Xb), 0) + 1
            runner = self._runners.get(len(Xb))
            if runner is not None and runner.in_loop:  # the engine applied the rules at the end of phase kappa
                st.params = runner.learned_params()
            else:
                st.params = lin_tang_update(st.params, stats, rules, kappa=self.kappa)
                if runner is not None:  # the update just applied F's, B's and H's rules once each
                    runner.record_update(tuple(_CONNS))
            if not (np.all(np.isfinite(st.params.H)) and np.all(np.isfinite(st.params.B))):
                raise SimulationError(describe("dictionary learning", "lin_tang", "weights became non-finite",
                                               got=f"after {st.samples_seen + len(Xb)} samples",
                                               expected="finite weights (lower eta_d or eta_h_ratio)"))
            norms = np.linalg.norm(st.params.B, axis=0)
            if not np.any(norms > 0) or norms.mean() > DIVERGED_NORM * norm0:
                what = "every atom collapsed to zero" if not np.any(norms > 0) else "the atoms' norms diverge"
                raise SimulationError(describe("dictionary learning", "lin_tang", what,
                                               got=f"mean atom norm {norms.mean():.3g} (started at {norm0:.3g}) "
                                                   f"after {st.samples_seen + len(Xb)} samples",
                                               expected="bounded atoms (lower eta_d or eta_h_ratio)"))

        record = (lambda st: self._record(st, X_test)) if X_test is not None else None
        first = state.samples_seen
        saved = (copy_state(state), copy.deepcopy((active, rate_sums, updates)))  # the current epoch's start

        def at_update(st: TrainState) -> bool:
            nonlocal saved
            if backoff and st.epoch != saved[0].epoch:
                saved = (copy_state(st), copy.deepcopy((active, rate_sums, updates)))
            return bool(callback(st)) if callback is not None else False

        while True:
            try:
                train_loop(state, X, total=self.total_samples(len(X)), batch_size=self.batch_size, step=step,
                           record=record, eval_every=self.eval_every, callback=at_update)
                break
            except SimulationError as exc:
                if not backoff:
                    raise
                if state.rate_scale <= 0.5 ** MAX_BACKOFFS:
                    raise SimulationError(f"{exc} (the automatic learning rate was halved {MAX_BACKOFFS} times, to "
                                          f"eta_D = {self.eta_d_:.3g}: pass a lower eta_d)") from None
                at, scale = state.samples_seen, state.rate_scale * 0.5
                restore_state(state, saved[0])  # (its own rate_scale is the one that diverged)
                active, rate_sums, updates = copy.deepcopy(saved[1])  # step and at_update read these names
                state.rate_scale = scale
                self.eta_d_ = eta * state.rate_scale
                rules = self._rules()
                log.warning("dictionary learning diverged after %d samples (%s); the automatic rate is halved to "
                            "eta_D = %.3g and training goes on from sample %d", at, str(exc).splitlines()[0][:120],
                            self.eta_d_, state.samples_seen)
        seen = state.samples_seen - first  # the samples this call streamed: figures per input count them
        self.activity_ = (dataclasses.replace(ActivityProfile.combine([r.sim.result().activity
                                                                       for r in self._runners.values()]),
                                              inputs=seen) if self._runners and seen else None)
        self.state_ = state
        self.fixed_point_activity_ = (dataclasses.replace(self._fixed_point_profile(active, updates,
                                                                                    params=state.params), inputs=seen)
                                      if fixed and updates and seen else None)
        self.fixed_point_spikes_ = (dataclasses.replace(self._fixed_point_spikes(rate_sums, updates,
                                                                                 params=state.params), inputs=seen)
                                    if fixed and updates and seen else None)
        self.params_ = state.params
        self.components_ = state.params.B.T.copy()
        self.history_ = state.history
        return self

    # -- the network and its activity, for a mapping -------------------------------------------
    def network(self, params: Optional[DictNetParams] = None, *, batch: int = 1,
                model: Optional[str] = None) -> Network:
        """The network this learner trains, as a chip would hold it.

        :func:`~neurosim.builders.dictnet.build_dictnet` of ``params`` (default: the learned
        ``params_``) for ``batch`` inputs (zero until set), of ``model`` (default the learner's:
        ``"spiking"`` gives a rate learner's spiking counterpart, the network of
        :attr:`fixed_point_spikes_`), with the ``F``, ``B`` and ``H``
        learning rules attached (every synapse of ``F`` and ``B`` and every off-diagonal synapse
        of ``H`` is plastic). Before :meth:`fit` the rules carry the given (or default) rates,
        not the ones ``"auto"`` resolves to: enough for capacity checks, which read only which
        synapses are plastic.
        """
        self._check()
        if params is None:
            if not hasattr(self, "params_"):
                raise NetworkError(describe("LocalDictionaryLearning", "network", "no weights yet",
                                            expected="params, or a call after fit"))
            params = self.params_
        M, _ = params.shape
        if hasattr(self, "eta_d_"):
            rules = self._rules()
        else:
            rules = lin_tang_rules(kappa=self.kappa, eta_h_ratio=self.eta_h_ratio, project=self.project,
                                   **{k: float(v) for k, v in (("eta_d", self.eta_d), ("lambda2", self.lambda2))
                                      if v != "auto"})
        return build_dictnet(params, np.zeros((batch, M)) if batch > 1 else np.zeros(M), lam=self.lam,
                             model=model or self.model, rules=rules)

    def _fixed_point_profile(self, active: dict[str, np.ndarray], updates: dict[int, int], *,
                            params: DictNetParams) -> ActivityProfile:
        r"""The rate network's events modelled from fixed points (``source="fixed-point:rates"``).

        A graded neuron emits one event per step while its output is non-zero. If every phase of
        a mini-batch held its fixed point for all its ``S = round(phase_time / dt_s)`` steps,
        neuron ``i`` would emit

        .. math:: \mathrm{count}_i = S \sum_{\text{updates}} \sum_{\text{phases}} \sum_{b}
                  [a_{i,b} > 0]

        events. ``active[pop]`` holds the inner sums (per neuron), ``updates`` maps each
        mini-batch size to the number of updates made with it. Steps and batch follow
        :meth:`ActivityProfile.combine` (``2 S`` steps per update; one common batch size ``B``
        gives ``batch = B``, several give input-steps with ``batch = 1``); ``learn_epochs`` is the
        number of updates for each of ``F``, ``B``, ``H``.
        """
        dt, _ = self._defaults()
        S = self.steps_per_phase()
        n_updates, batch, steps = _run_shape(updates, S)
        counts = {pop: S * np.asarray(v, dtype=np.int64) for pop, v in active.items()}
        return ActivityProfile.from_counts(self.network(params, batch=batch), counts, steps=steps, batch=batch,
                                           dt_s=dt, source="fixed-point:rates",
                                           learn_epochs={name: n_updates for name in _CONNS})

    def _fixed_point_spikes(self, rate_sums: dict[str, np.ndarray], updates: dict[int, int], *,
                            params: DictNetParams) -> ActivityProfile:
        r"""The *spiking* network's events modelled from the rate model's fixed points
        (``source="fixed-point:spikes"``): the accounting of a simulated ``model="spiking"`` run.

        A non-leaky integrate-and-fire neuron with threshold :math:`\theta_i` driven by a mean
        current :math:`u_i` fires :math:`\max(u_i, 0)/\theta_i = a_i` spikes per unit of model time
        (Theorem 1), the rate of the fixed point. Holding each phase's fixed point for the spiking
        phase :math:`T` = ``SPIKING_PHASE_TIME`` (steps ``S = T / SPIKING_DT_S``), neuron ``i`` emits

        .. math:: \mathrm{count}_i = \mathrm{round}\Big(T \sum_{\text{updates}}
                  \sum_{\text{phases}} \sum_b a_{i,b}\Big)

        spikes, the same events (binary spikes), steps (``2 S`` per update) and network
        (:meth:`network` with ``model="spiking"``) as ``model="spiking"``'s simulated
        ``activity_``; the transient from rest and the spike-count quantisation are not modelled.
        ``rate_sums[pop]`` holds the inner sums per neuron; ``updates`` as in
        :meth:`_fixed_point_profile`.
        """
        n_updates, batch, steps = _run_shape(updates, int(round(SPIKING_PHASE_TIME / SPIKING_DT_S)))
        counts = {pop: np.rint(SPIKING_PHASE_TIME * np.asarray(v)).astype(np.int64) for pop, v in rate_sums.items()}
        return ActivityProfile.from_counts(self.network(params, batch=batch, model="spiking"), counts, steps=steps,
                                           batch=batch, dt_s=SPIKING_DT_S, source="fixed-point:spikes",
                                           learn_epochs={name: n_updates for name in _CONNS})

    def _record(self, state: TrainState, X_test: np.ndarray) -> None:
        p = state.params
        h = state.history
        h["samples"].append(float(state.samples_seen))
        h["test_objective"].append(test_objective(p.B, X_test, self.lam))
        h["consistency"].append(consistency(p))
        h["symmetry"].append(symmetry(p))
        h["mean_norm"].append(float(np.linalg.norm(p.B, axis=0).mean()))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Codes of ``X``: the rate model's phase-0 fixed point with the learned weights."""
        X = _check_X(X)
        return rate_fixed_point(self.params_, X, lam=self.lam, gamma=0.0, tol=self.tol)["a"]


def _check_X(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise NetworkError(describe("inputs", "X", "must be a non-empty 2-D array (n_samples, n_features)", got=X.shape))
    if not np.all(np.isfinite(X)) or np.any(X < 0):
        raise NetworkError(describe("inputs", "X", "must be finite and non-negative (use channel_split for signed data)",
                                    got=float(np.nanmin(X)), expected=">= 0"))
    return X

