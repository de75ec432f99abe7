"""The numpy engine: one vectorized discrete-time loop over a batch of independent inputs.

Per step ``n`` the engine

1. advances every population (:mod:`neurosim.backends.numpy_populations`) with its drive
   (bias + constant inputs, precomputed per run) plus the step's array inputs;
2. finds each population's output events once (flat indices of spikes / non-zero graded
   outputs), resets the neurons that spiked and counts events per neuron;
3. delivers the outputs emitted ``delay`` steps ago through every connection
   (:mod:`neurosim.backends.numpy_delivery`, event-driven or dense per step) and Poisson input
   spikes into the targets' synaptic input, which the next step integrates.

Memory stays bounded on long runs: only counters, the delay buffers and what probes ask for are
kept. State is checked for NaN/inf every ``check_every`` steps and at the end; a non-finite
value stops the run with a :class:`~neurosim.errors.SimulationError` naming the step,
population and neuron.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from typing import Any, Optional, Union

import numpy as np

from neurosim.activity import ActivityProfile
from neurosim.backends.numpy_delivery import compile_connection
from neurosim.backends.numpy_populations import make_state
from neurosim.errors import NetworkError, SimulationError, describe
from neurosim.ir import ArrayInput, ConstantInput, Network, PoissonInput, receptor_index
from neurosim.plasticity import check_no_event_rules
from neurosim.progress import CallbackBar, Progress
from neurosim.result import SimResult

log = logging.getLogger(__name__)

__all__ = ["Simulator", "run"]

CHECK_EVERY = 32


class Simulator:
    """A stateful numpy simulation of ``network``; :meth:`run` may be called repeatedly.

    State, counters and probes persist across calls (warm start), so a run can be split into
    phases with different global signals (:meth:`set_signal`), e.g. Lin & Tang's two-phase
    contrastive procedure. :meth:`reset_window` / :meth:`window` give per-phase statistics:
    events per neuron and the time integral of each neuron's soma current.

    Parameters
    ----------
    network : Network
    dt_s : float
        Step, seconds of model time.
    seed : int
        Seeds the Poisson inputs.
    dtype : numpy dtype
        float64 or float32.
    initial_state : dict, optional
        ``{population: {var: (n,) or (batch, n)}}``.
    signals : dict, optional
        Initial values of global signals (defaults from ``network.signals``).
    track_window : bool
        Keep per-window current integrals (one extra pass per step).
    check_every : int
        Steps between NaN/inf checks.
    """

    def __init__(self, network: Network, *, dt_s: float, seed: int = 0, dtype: Any = np.float64,
                 initial_state: Optional[dict[str, dict[str, np.ndarray]]] = None,
                 signals: Optional[dict[str, float]] = None, track_window: bool = False,
                 check_every: int = CHECK_EVERY, options: Optional[dict[str, Any]] = None):
        network.validate()
        check_no_event_rules(network, "numpy")
        self.network = network
        self.dtype = np.dtype(dtype)
        self.dt_s = float(dt_s)
        self.batch = network.batch
        self.rng = np.random.default_rng(seed)
        self.check_every = max(1, int(check_every))
        self.track_window = track_window
        self.signals = dict(network.signals)
        unknown = set(signals or {}) - set(self.signals)
        if unknown:
            raise NetworkError(describe("run", network.name, "unknown signals", got=sorted(unknown),
                                        expected=sorted(self.signals) or "no signals (network defines none)"))
        self.signals.update(signals or {})
        opts = dict(options or {})
        event_fraction = opts.pop("event_fraction", None)
        if opts:
            raise NetworkError(describe("backend", "numpy", "unknown options", got=sorted(opts), expected=["event_fraction"]))

        self.pops = {p.name: make_state(p, self.batch, self.dt_s, self.dtype) for p in network.populations}
        self.order = [p.name for p in network.populations]
        for c in network.connections:
            if c.learning_rule is not None:
                log.debug("connection %s has a learning rule; applied between runs, not inside the loop", c.name)
        self._event_fraction = event_fraction
        self._weights: list = [None] * len(network.connections)
        self._input_values: dict[str, np.ndarray] = {}
        self.conns = [self._compile(c) for c in network.connections]
        max_delay = {name: 1 for name in self.order}
        for cc in self.conns:
            max_delay[cc.pre] = max(max_delay[cc.pre], cc.delay)
        # ring of (output, flat events) per population, newest last
        self.history = {name: deque(maxlen=max_delay[name]) for name in self.order}
        self.const_inputs = [i for i in network.inputs if isinstance(i, ConstantInput)]
        self.array_inputs = [i for i in network.inputs if isinstance(i, ArrayInput)]
        self.poisson_inputs = [i for i in network.inputs if isinstance(i, PoissonInput)]
        for name, vars_ in (initial_state or {}).items():
            if name not in self.pops:
                raise NetworkError(describe("initial state", name, "no such population", expected=self.order))
            for var, value in vars_.items():
                self.pops[name].set_state(var, value)
        self._prime_graded_outputs()
        self.step_count = 0
        self.counts = {name: np.zeros((self.batch, st.n), dtype=np.int64) for name, st in self.pops.items()}
        self.learn_epochs: dict[str, int] = {}
        self.reset_window()
        self.probes = list(network.probes)
        self._probe_data: dict[str, list[np.ndarray]] = {p.name: [] for p in self.probes}
        self._probe_counts = {p.name: np.zeros((self.batch, self.pops[p.target].n), dtype=np.int64)
                              for p in self.probes if p.var == "count"}
        self.wall_s = 0.0

    def _receptor(self, post: str, receptor) -> int:
        return receptor_index(receptor, self.network.population(post).model)

    def _compile(self, c):
        """Prepare connection ``c`` for delivery into its receptor's current (scaled by ``dt / tau_r``)."""
        post = self.pops[c.post]
        r = self._receptor(c.post, c.receptor)
        scale = None if post.graded else post.input_scales[r]
        cc = compile_connection(c, n_pre=self.pops[c.pre].n, n_post=post.n, post_scale=scale, dtype=self.dtype,
                                event_fraction=self._event_fraction)
        cc.receptor = r
        return cc

    def _prime_graded_outputs(self) -> None:
        """Treat the initial outputs ``a = T(u0)`` of graded populations as emitted at step -1.

        The analog LCA iteration ``u_1 = u_0 + dt/tau (b - u_0 - G T(u_0))`` uses the initial
        output in its first step; so does the engine: outputs are pushed into the delay buffers
        and delivered through the delay-1 connections before step 0.
        """
        primed = set()
        for name, st in self.pops.items():
            if st.graded:
                flat = np.flatnonzero(st.a)
                if flat.size:
                    self.history[name].append((st.a.copy(), flat))
                    primed.add(name)
        for cc in self.conns:
            if cc.pre in primed and cc.delay == 1:
                out, flat = self.history[cc.pre][-1]
                g = 1.0 if cc.gain is None else cc.gain.value(self.signals)
                cc.deliver(out, flat, self.pops[cc.post].input_buffer(cc.receptor), g)

    # -- mutable parameters (learning, new inputs) ---------------------------------------------
    def _conn_index(self, name: str) -> int:
        for k, c in enumerate(self.network.connections):
            if c.name == name:
                return k
        raise NetworkError(describe("connection", name, "no such connection",
                                    expected=[c.name for c in self.network.connections]))

    def weights(self, name: str):
        """Current weights of connection ``name``, shape ``(n_post, n_pre)`` (a copy)."""
        k = self._conn_index(name)
        if self._weights[k] is None:
            w = self.network.connections[k].weights
            return w.copy()
        return self._weights[k].copy()

    def set_weights(self, name: str, weights) -> None:
        """Replace the weights of connection ``name`` (same shape; dense or sparse as built)."""
        k = self._conn_index(name)
        conn = self.network.connections[k]
        conn.check_new_weights(weights)
        w = weights
        self._weights[k] = w.copy()
        self.conns[k] = self._compile(dataclasses.replace(conn, weights=w))

    def record_learning_epoch(self, connection: str, epochs: int = 1) -> None:
        """Record that ``connection``'s learning rule updated all its plastic synapses ``epochs``
        more times (between runs, by the caller: the time loop itself never applies a rule).

        The totals go into ``result().activity.learn_epochs``, so the mapper charges exactly
        ``n_plastic_synapses * epochs`` learning updates for the connection (see
        :mod:`neurosim.activity`).

        Raises
        ------
        NetworkError
            ``connection`` does not exist or has no learning rule, or ``epochs`` is not an integer >= 0.
        """
        self._conn_index(connection)
        self.learn_epochs[connection] = self.learn_epochs.get(connection, 0) + self.network.learning_epochs(connection,
                                                                                                            epochs)

    def set_param(self, population: str, name: str, values) -> None:
        """Change a per-neuron parameter during a simulation (``v_th`` or ``bias`` of LIF;
        ``lam``, ``gain`` or ``bias`` of LCANeuron)."""
        if population not in self.pops:
            raise NetworkError(describe("population", population, "no such population", expected=self.order))
        self.pops[population].set_param(name, values)

    def set_input(self, name: str, value) -> None:
        """Replace the value of ConstantInput ``name`` (same shape rules), e.g. the next sample."""
        self._input_values[name] = self.network.constant_input_value(name, value)

    def reset_state(self) -> None:
        """Zero all neuron state and delay buffers (weights, parameters and counters are kept)."""
        for st in self.pops.values():
            st.zero()
        for h in self.history.values():
            h.clear()

    # -- signals and windows ---------------------------------------------------------------------
    def set_signal(self, name: str, value: float) -> None:
        """Change a global broadcast signal; takes effect at the next step, state is kept."""
        if name not in self.signals:
            raise NetworkError(describe("signal", name, "unknown signal", expected=sorted(self.signals)))
        self.signals[name] = float(value)

    def reset_window(self) -> None:
        """Start a new statistics window (events and current integrals from zero)."""
        self.window_steps = 0
        self.window_counts = {n: np.zeros((self.batch, st.n), dtype=np.int64) for n, st in self.pops.items()}
        self.window_current = {n: np.zeros((self.batch, st.n), dtype=np.float64) for n, st in self.pops.items()}

    def window(self) -> dict[str, dict[str, np.ndarray]]:
        """Statistics of the current window per population: ``count`` (events), ``rate`` (events
        per unit model time), ``mean_current`` (time average of the soma current ``mu`` for
        spiking neurons, of ``u`` for analog ones; requires ``track_window=True``), ``steps``."""
        t = max(self.window_steps, 1) * self.dt_s
        out = {}
        for name in self.order:
            c = self.window_counts[name]
            out[name] = {"count": c.copy(), "rate": c / t, "steps": self.window_steps,
                         "mean_current": self.window_current[name] / max(self.window_steps, 1)}
        return out

    @property
    def state(self) -> dict[str, dict[str, np.ndarray]]:
        return {name: st.state() for name, st in self.pops.items()}

    # -- the loop -----------------------------------------------------------------------------------
    def _drives(self) -> None:
        for st in self.pops.values():
            st.drive = st.base_drive
        scale_dt = {name: (self.dtype.type(1.0) if st.graded else st.dt) for name, st in self.pops.items()}
        for inp in self.const_inputs:
            g = 1.0 if inp.gain is None else inp.gain.value(self.signals)
            st = self.pops[inp.target]
            value = np.asarray(self._input_values.get(inp.name, inp.value), dtype=self.dtype)
            st.drive = st.drive + (scale_dt[inp.target] * g) * value

    def run(self, steps: int, *, progress: Union[bool, Progress] = False) -> None:
        """Advance ``steps`` steps (``progress``: a bar on stderr, or a :data:`~neurosim.progress.Progress`
        callback hearing ``("simulating", steps done, steps)``)."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise NetworkError(describe("run", self.network.name, "steps must be a non-negative integer", got=steps))
        t0 = time.perf_counter()
        lif_states = [st for st in self.pops.values() if not st.graded]
        onsets = {st.bias_start for st in lif_states if st.bias_start > 0}
        for st in lif_states:
            st.bias_on(self.step_count)
        self._drives()
        gains = [1.0 if cc.gain is None else cc.gain.value(self.signals) for cc in self.conns]
        array_gains = [1.0 if a.gain is None else a.gain.value(self.signals) for a in self.array_inputs]
        poisson = [(inp, self.pops[inp.target], self._receptor(inp.target, inp.receptor)) for inp in self.poisson_inputs]
        poisson_p = [np.minimum(np.asarray(inp.rate_hz, dtype=float) * self.dt_s, 1.0) for inp, _, _ in poisson]
        incoming = {name: [] for name in self.order}
        for k, cc in enumerate(self.conns):
            incoming[cc.post].append((cc, gains[k]))
        state_probes = [p for p in self.probes if p.var not in ("count",)]
        count_probes = [p for p in self.probes if p.var == "count"]
        bar = _progress(steps, self.network.name, progress) if progress else None
        chunk = max(1, steps // 100)
        errstate = np.errstate(over="ignore", invalid="ignore")  # non-finite state raises below
        errstate.__enter__()
        try:
            for k in range(steps):
                n = self.step_count
                if n in onsets and any([st.bias_on(n) for st in lif_states]):  # a bias switches on: new drives
                    self._drives()
                ext = self._array_ext(n, array_gains)
                for name in self.order:
                    st = self.pops[name]
                    if self.track_window and not st.graded:  # the current v integrates in this step
                        self.window_current[name] += st.current(ext.get(name))
                    out = st.step(ext.get(name))
                    flat = np.flatnonzero(out)
                    st.reset(out, flat)
                    if flat.size:
                        self.counts[name].reshape(-1)[flat] += 1
                        self.window_counts[name].reshape(-1)[flat] += 1
                    self.history[name].append((out, flat))
                    if self.track_window and st.graded:
                        self.window_current[name] += st.current(ext.get(name))
                for name in self.order:
                    post = self.pops[name]
                    for cc, g in incoming[name]:
                        target = post.input_buffer(cc.receptor)
                        hist = self.history[cc.pre]
                        if len(hist) < cc.delay:
                            continue
                        out, flat = hist[-cc.delay]
                        if flat.size:
                            cc.deliver(out, flat, target, g)
                for (inp, st, r), p in zip(poisson, poisson_p):
                    spikes = self.rng.random((self.batch, st.n)) < p
                    if spikes.any():
                        w = inp.weight if st.graded else inp.weight * st.input_scales[r]
                        st.receive((spikes * w).astype(self.dtype), r)
                for pr in state_probes:
                    if pr.records(n):
                        self._probe_data[pr.name].append(self._probe_value(pr))
                for pr in count_probes:
                    if pr.records(n):
                        flat = self.history[pr.target][-1][1]
                        if flat.size:
                            self._probe_counts[pr.name].reshape(-1)[flat] += 1
                self.step_count += 1
                self.window_steps += 1
                if self.step_count % self.check_every == 0:
                    self._check_finite()
                if bar is not None and (k + 1) % chunk == 0:
                    bar.update(chunk)
            self._check_finite()
        finally:
            errstate.__exit__(None, None, None)
            if bar is not None:
                bar.close()
            self.wall_s += time.perf_counter() - t0

    def _array_ext(self, n: int, gains: list[float]) -> dict[str, np.ndarray]:
        ext: dict[str, np.ndarray] = {}
        for inp, g in zip(self.array_inputs, gains):
            if n < inp.values.shape[0]:
                row = inp.values[n].astype(self.dtype) * g
                ext[inp.target] = ext[inp.target] + row if inp.target in ext else row
        return ext

    def _probe_value(self, pr) -> np.ndarray:
        st = self.pops[pr.target]
        if pr.var in ("spikes", "output"):
            return self.history[pr.target][-1][0].copy()
        return st.arrays()[pr.var].copy()

    def _check_finite(self) -> None:
        for name in self.order:
            for var, arr in self.pops[name].arrays().items():
                with np.errstate(over="ignore", invalid="ignore"):
                    total = arr.sum()  # cheap test; finite values may overflow it, so confirm per element
                if not np.isfinite(total) and not np.all(np.isfinite(arr)):
                    bad = np.argwhere(~np.isfinite(arr))[0]
                    raise SimulationError(describe(
                        "population", name, f"state '{var}' became non-finite by step {self.step_count}",
                        got=f"{arr[tuple(bad)]} at batch {bad[0]}, neuron {bad[1]}",
                        expected="finite values (reduce dt_s or weights; check for runaway excitation)"))

    # -- results ------------------------------------------------------------------------------------
    def result(self) -> SimResult:
        probes: dict[str, np.ndarray] = {}
        for pr in self.probes:
            if pr.var == "count":
                probes[pr.name] = self._probe_counts[pr.name].copy()
            else:
                data = self._probe_data[pr.name]
                n = self.pops[pr.target].n
                dt = np.bool_ if pr.var == "spikes" else self.dtype
                probes[pr.name] = np.stack(data) if data else np.zeros((0, self.batch, n), dtype=dt)
        counts = {name: c.sum(axis=0) for name, c in self.counts.items()}
        activity = ActivityProfile.from_counts(self.network, counts, steps=self.step_count, batch=self.batch,
                                               dt_s=self.dt_s, source="simulated:numpy",
                                               learn_epochs=self.learn_epochs)
        return SimResult(network=self.network.name, backend="numpy", steps=self.step_count, batch=self.batch,
                         dt_s=self.dt_s, probes=probes, activity=activity, final_state=self.state, wall_s=self.wall_s)


def _progress(total: int, name: str, progress: Union[bool, Progress] = True):
    """A tqdm bar on stderr, or the steps reported to ``progress("simulating", done, total)``."""
    if callable(progress):
        return CallbackBar(progress, "simulating", total)
    from tqdm import tqdm  # imported lazily: only long interactive runs need it

    return tqdm(total=total, desc=f"simulating {name}", unit="step", leave=False, mininterval=0.5)


def run(network: Network, *, steps: int, dt_s: float, seed: int = 0, dtype: Any = np.float64,
        initial_state: Optional[dict] = None, signals: Optional[dict] = None, progress: Union[bool, Progress] = False,
        options: Optional[dict] = None) -> SimResult:
    """Backend entry point used by :func:`neurosim.simulate`."""
    opts = dict(options or {})
    track = bool(opts.pop("track_window", False))
    check_every = int(opts.pop("check_every", CHECK_EVERY))
    sim = Simulator(network, dt_s=dt_s, seed=seed, dtype=dtype, initial_state=initial_state, signals=signals,
                    track_window=track, check_every=check_every, options=opts)
    sim.run(steps, progress=progress)
    return sim.result()
