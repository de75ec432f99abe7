"""The stateful compiled simulator: the same interface as the numpy engine's ``Simulator``.

:class:`CompiledSimulator` lays the network out once (:mod:`.layout`, :mod:`.synapses`,
:mod:`.tables`), keeps every state array between calls of :meth:`~CompiledSimulator.run` (warm
start, several phases with different global signals) and hands each call to one compiled loop
(:mod:`.loop`) that runs all its steps; rows of a batch run in parallel threads. Learning rules
with an in-loop form (:mod:`neurosim.plasticity`) are applied by the engine itself
(:mod:`.learning`); what it applied is recorded in the activity profile.
"""
from __future__ import annotations

import logging
import time
import warnings
from typing import Any, Union

import numba
import numpy as np

from neurosim.activity import ActivityProfile
from neurosim.backends.compiled import learning as lrn_mod
from neurosim.backends.compiled.delivery import deliver
from neurosim.backends.compiled.kernels import BLOCK
from neurosim.backends.compiled.layout import KIND_LCA, KIND_LIF, build_layout, compare_threshold
from neurosim.backends.compiled.loop import Ring, State, run_rows_parallel, run_rows_serial
from neurosim.backends.compiled.synapses import build_synapses
from neurosim.backends.compiled.tables import build_inputs, probe_code, probe_tables
from neurosim.errors import NetworkError, SimulationError, describe
from neurosim.ir import ArrayInput, ConstantInput, Network
from neurosim.neurons import threshold_function
from neurosim.progress import CallbackBar, Progress
from neurosim.result import SimResult

log = logging.getLogger(__name__)

__all__ = ["OPTIONS", "CompiledSimulator"]

#: options of the compiled backend (``simulate(..., options={...})``)
OPTIONS = ("threads", "track_window", "check_every", "learning", "settle_tol")


class CompiledSimulator:
    """A stateful compiled simulation of ``network``; :meth:`run` may be called repeatedly.

    Parameters
    ----------
    network : Network
    dt_s : float
        Step, seconds of model time.
    seed : int
        Seeds the Poisson inputs (a counter-based generator: results do not depend on threads).
    dtype : numpy dtype
        float64 or float32 (state, weights and arithmetic).
    initial_state : dict, optional
        ``{population: {var: (n,) or (batch, n)}}``.
    signals : dict, optional
        Initial values of global signals (defaults from ``network.signals``).
    track_window : bool
        Keep per-window current integrals (``window()["mean_current"]``).
    threads : int, optional
        Threads over batch rows (default: numba's thread count; 1 runs rows in turn).
    learning : bool
        Apply the in-loop forms of the connections' learning rules (default True).
    settle_tol : float, optional
        Networks of graded (analog) neurons only: a batch row stops once every neuron's residual
        ``|bias + ext + in - u|`` is at most ``settle_tol`` (its fixed point, to that tolerance); it
        then emits nothing more and its probes keep its state. :attr:`row_steps` counts the steps
        each row ran.
    """

    backend_name = "compiled"

    def __init__(self, network: Network, *, dt_s: float, seed: int = 0, dtype: Any = np.float64,
                 initial_state: dict[str, dict[str, np.ndarray]] | None = None,
                 signals: dict[str, float] | None = None, track_window: bool = False,
                 threads: int | None = None, learning: bool = True, settle_tol: float | None = None):
        network.validate()
        self.network = network
        self.dtype = np.dtype(dtype)
        self.dt_s = float(dt_s)
        self.batch = B = network.batch
        self.signals = dict(network.signals)
        unknown = set(signals or {}) - set(self.signals)
        if unknown:
            raise NetworkError(describe("run", network.name, "unknown signals", got=sorted(unknown),
                                        expected=sorted(self.signals) or "no signals (network defines none)"))
        self.signals.update(signals or {})
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer))
                                    or threads < 1):
            raise NetworkError(describe("backend", "compiled", "threads must be a positive integer", got=threads,
                                        expected="int >= 1"))
        self.threads = int(threads) if threads is not None else numba.get_num_threads()
        self._overrides: dict[str, object] = {}
        self.track_window = bool(track_window)
        self.layout = L = build_layout(network, dt=self.dt_s, dtype=self.dtype)
        if settle_tol is not None:
            if not (isinstance(settle_tol, (int, float, np.floating)) and np.isfinite(settle_tol) and settle_tol >= 0):
                raise NetworkError(describe("backend", "compiled", "settle_tol must be a number >= 0", got=settle_tol,
                                            expected=">= 0"))
            if np.any(L.pops.kind != KIND_LCA):
                raise NetworkError(describe("network", network.name, "settle_tol needs a network of graded neurons only",
                                            got=[n for p, n in enumerate(L.names) if L.pops.kind[p] != KIND_LCA],
                                            expected="LCANeuron populations (spiking neurons never settle)"))
        self.settle = -1.0 if settle_tol is None else float(settle_tol)
        self.row_steps = np.zeros(B, np.int64)
        self.table = build_synapses(network, L)
        # the ring keeps the events of the last D steps: the longest delay, and the refractory
        # neurons (those that spiked in the last R steps)
        self.D = max(self.table.max_delay, int(L.pops.refractory.max(initial=0)) + 1, 1)
        N, S, P = L.n_neurons, L.n_slots, len(L.names)
        blocks = -(-int(L.pops.size.max(initial=1)) // BLOCK)
        self.state_arrays = State(np.zeros((B, N), self.dtype), np.zeros((B, N), self.dtype),
                                  np.zeros((B, S), self.dtype), np.zeros((B, N), self.dtype),
                                  np.zeros((B, N), self.dtype), np.zeros((B, N), np.int64),
                                  np.zeros((B, N), np.int64), np.zeros((B, N)), np.zeros((B, 4), np.int64),
                                  np.zeros((B, N), self.dtype), np.zeros((B, N), np.int32), np.zeros((B, N), np.uint8),
                                  np.zeros((B, blocks), np.int64), np.zeros(P, np.int64))
        graded = bool(np.any(L.pops.kind == KIND_LCA))
        self.ring = Ring(np.zeros((self.D, B, N), np.int32), np.zeros((self.D, B, P), np.int32),
                         np.zeros((self.D, B, N) if graded else (1, 1, 1), self.dtype))
        self.inputs = build_inputs(network, L, batch=B, seed=seed)
        self.const_inputs = [i for i in network.inputs if isinstance(i, ConstantInput)]
        self.array_inputs = [i for i in network.inputs if isinstance(i, ArrayInput)]
        self._input_values: dict[str, np.ndarray] = {}
        self.probes = list(network.probes)
        self.state_probes = [p for p in self.probes if p.var != "count"]
        self.count_probes = [p for p in self.probes if p.var == "count"]
        self._codes = [probe_code(p, network) for p in self.state_probes]
        sizes = [int(L.pops.size[L.index(p.target)]) for p in self.count_probes]
        self._count_off = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if sizes else np.zeros(0, np.int64)
        self._count_buf = np.zeros(int(sum(sizes)) * B, np.int64)
        self._count_off *= B
        self._probe_data: dict[str, list[np.ndarray]] = {p.name: [] for p in self.state_probes}
        self.learning = lrn_mod.LoopLearning(network, L, self.table, batch=B, dt=self.dt_s,
                                             signals=self.signals, enabled=learning)
        self.step_count = 0
        self.learn_epochs: dict[str, int] = {}
        self.phase_stats: dict[str, dict[str, dict[str, np.ndarray]]] = {}
        self.wall_s = 0.0
        self.reset_window()
        self._set_gains()
        for name, vars_ in (initial_state or {}).items():
            if name not in L.names:
                raise NetworkError(describe("initial state", name, "no such population", expected=L.names))
            for var, value in vars_.items():
                self._set_state(name, var, value)
        self._prime_graded_outputs()

    # -- state access ------------------------------------------------------------------------------
    def _pop(self, name: str) -> tuple[int, int, int]:
        p = self.layout.index(name)
        return p, int(self.layout.pops.off[p]), int(self.layout.pops.size[p])

    def _set_state(self, name: str, var: str, value) -> None:
        p, off, n = self._pop(name)
        st, L = self.state_arrays, self.layout
        arr = np.asarray(value, dtype=self.dtype)
        if L.pops.kind[p] == KIND_LCA:
            if var != "u":
                raise NetworkError(describe("initial state", name, "only 'u' can be set for LCANeuron (a = T(u))",
                                            got=repr(var), expected="'u'"))
            target, factor = st.v[:, off:off + n], None
        else:
            names = ("v", "i") + tuple(f"i_{r}" for r in L.receptors[name])
            if var not in names:
                raise NetworkError(describe("initial state", name, "unknown variable", got=repr(var), expected=names))
            if var == "v":
                target, factor = st.v[:, off:off + n], None
            else:
                r = 0 if var == "i" else L.receptors[name].index(var[2:])
                s0 = L.slot(name, r)
                target, factor = st.isyn[:, s0:s0 + n], self.dtype.type(self.dt_s)
        try:
            value = np.broadcast_to(arr, (self.batch, n))
        except ValueError as exc:
            raise NetworkError(describe("initial state", f"{name}.{var}", "wrong shape", got=arr.shape,
                                        expected=f"({n},) or ({self.batch}, {n})")) from exc
        target[...] = value if factor is None else value * factor
        if L.pops.kind[p] == KIND_LCA:
            st.a[:, off:off + n] = self._activation(name, st.v[:, off:off + n])

    def _activation(self, name: str, u: np.ndarray) -> np.ndarray:
        p, off, n = self._pop(name)
        prm = self.layout.params
        model = self.network.population(name).model
        a = threshold_function(u, prm.lam[off:off + n], model.threshold)
        if not self.layout.pops.unit_gain[p]:
            a *= prm.inv_gain[off:off + n]
        return a.astype(self.dtype, copy=False)

    def _prime_graded_outputs(self) -> None:
        """The initial outputs ``a = T(u0)`` of graded populations count as emitted at step -1
        (as in the numpy engine): they enter ring slot ``-1 mod D`` and the delay-1 connections
        deliver them before step 0."""
        L, st, ring = self.layout, self.state_arrays, self.ring
        slot = (-1) % self.D
        primed = False
        for p, name in enumerate(L.names):
            if L.pops.kind[p] != KIND_LCA:
                continue
            off, n = int(L.pops.off[p]), int(L.pops.size[p])
            for b in range(self.batch):
                nz = np.flatnonzero(st.a[b, off:off + n])
                ring.idx[slot, b, off:off + nz.size] = nz
                ring.val[slot, b, off:off + nz.size] = st.a[b, off + nz]
                ring.cnt[slot, b, p] = nz.size
                primed |= bool(nz.size)
        if primed:
            for b in range(self.batch):
                deliver(b, -1, self.D, L.pops, self.table.conns, self.table.weights, st, ring)

    @property
    def state(self) -> dict[str, dict[str, np.ndarray]]:
        out = {}
        st, L = self.state_arrays, self.layout
        dt = self.dtype.type(self.dt_s)
        for p, name in enumerate(L.names):
            off, n = int(L.pops.off[p]), int(L.pops.size[p])
            if L.pops.kind[p] == KIND_LCA:
                out[name] = {"u": st.v[:, off:off + n].copy(), "a": st.a[:, off:off + n].copy()}
                continue
            recs = [st.isyn[:, L.slot(name, r):L.slot(name, r) + n] for r in range(len(L.receptors[name]))]
            total = recs[0].copy()
            for x in recs[1:]:
                total = total + x
            out[name] = {"v": st.v[:, off:off + n].copy(), "i": total / dt}
            if len(recs) > 1:
                out[name].update({f"i_{r}": x / dt for r, x in zip(L.receptors[name], recs)})
        return out

    # -- mutable parameters --------------------------------------------------------------------------
    def _conn_index(self, name: str) -> int:
        if name not in self.table.names:
            raise NetworkError(describe("connection", name, "no such connection", expected=self.table.names))
        return self.table.names.index(name)

    def weights(self, name: str):
        """Current weights of connection ``name``, shape ``(n_post, n_pre)`` (a copy; learned
        weights included)."""
        c = self._conn_index(name)
        return self.learning.current_weights(c, self.network.connections[c], self._overrides.get(name))

    def set_weights(self, name: str, weights) -> None:
        """Replace the weights of connection ``name`` (same shape; dense or sparse as built)."""
        c = self._conn_index(name)
        conn = self.network.connections[c]
        conn.check_new_weights(weights)
        w = weights
        overrides = {n: self.weights(n) for n in self.table.names if self.network.connection(n).plastic}
        overrides.update(self._overrides)
        overrides[name] = w.copy()
        self._overrides = overrides
        gain = self.table.conns.gain.copy()
        self.table = build_synapses(self.network, self.layout, weights_override=self._overrides)
        self.table.conns.gain[:] = gain
        self.learning.rebind(self.table)

    def record_learning_epoch(self, connection: str, epochs: int = 1) -> None:
        """Record that ``connection``'s rule updated all its plastic synapses ``epochs`` more times
        (between runs, by the caller); see ``learn_epochs`` of :class:`ActivityProfile`."""
        self._conn_index(connection)
        self.learn_epochs[connection] = self.learn_epochs.get(connection, 0) + self.network.learning_epochs(connection,
                                                                                                            epochs)

    def set_param(self, population: str, name: str, values) -> None:
        """Change a per-neuron parameter (``v_th`` or ``bias`` of LIF; ``lam``, ``gain`` or ``bias``
        of LCANeuron)."""
        if population not in self.layout.names:
            raise NetworkError(describe("population", population, "no such population", expected=self.layout.names))
        p, off, n = self._pop(population)
        arr = np.asarray(values, dtype=float)
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n) or not np.all(np.isfinite(arr)):
            raise NetworkError(describe("population", population, f"new {name} must be finite, a scalar or shape ({n},)",
                                        got=arr.shape))
        arr = np.broadcast_to(arr, (n,)).astype(self.dtype)
        L, prm = self.layout, self.layout.params
        lif = L.pops.kind[p] == KIND_LIF
        allowed = ("v_th", "bias") if lif else ("lam", "gain", "bias")
        if name not in allowed:
            raise NetworkError(describe("population", population, "parameter cannot be changed during a run",
                                        got=repr(name), expected=" or ".join(repr(a) for a in allowed)))
        if name in ("v_th", "gain") and not np.all(arr > 0):
            raise NetworkError(describe("population", population, f"{name} must be positive", expected="> 0"))
        sl = slice(off, off + n)
        if name == "v_th":
            prm.v_th[sl] = arr
            strict = self.network.population(population).model.threshold == ">"
            prm.v_cmp[sl] = compare_threshold(arr, np.full(n, strict))
        elif name == "lam":
            prm.lam[sl] = arr
        elif name == "gain":
            prm.inv_gain[sl] = (1.0 / arr).astype(self.dtype)
            L.pops.unit_gain[p] = int(np.all(prm.inv_gain[sl] == 1.0))
        elif lif and L.pops.bias_rec[p] >= 0:
            model = self.network.population(population).model
            dt = self.dtype.type(self.dt_s)
            prm.i_bias[sl] = (dt * arr) * (dt / model.receptor_tau(model.bias_receptor, n)).astype(self.dtype)
        else:
            L.base_drive[sl] = (self.dtype.type(self.dt_s) * arr) if lif else arr
        self.learning.refresh_uniform(p)
        if not lif:
            st = self.state_arrays
            st.a[:, sl] = self._activation(population, st.v[:, sl])

    def thresholds(self, population: str) -> np.ndarray:
        """The current thresholds of ``population`` (float64, ``(n,)``): ``v_th`` of LIF neurons,
        ``gain`` of analog ones (the ``post.threshold`` of learning rules)."""
        if population not in self.layout.names:
            raise NetworkError(describe("population", population, "no such population", expected=self.layout.names))
        return self.learning._thresholds(population).copy()

    def set_input(self, name: str, value) -> None:
        """Replace the value of ConstantInput ``name`` (same shape rules), e.g. the next sample."""
        self._input_values[name] = self.network.constant_input_value(name, value)

    def reset_state(self) -> None:
        """Zero all neuron state, traces and delay buffers (weights, parameters and counters are kept)."""
        st = self.state_arrays
        for arr in (st.v, st.a, st.isyn):
            arr.fill(0)
        self.ring.cnt.fill(0)
        self.learning.reset_traces()

    # -- signals and windows -------------------------------------------------------------------------
    def set_signal(self, name: str, value: float) -> None:
        """Change a global broadcast signal; takes effect at the next step, state is kept."""
        if name not in self.signals:
            raise NetworkError(describe("signal", name, "unknown signal", expected=sorted(self.signals)))
        self.signals[name] = float(value)
        self._set_gains()

    def _set_gains(self) -> None:
        gains = [1.0 if c.gain is None else c.gain.value(self.signals) for c in self.network.connections]
        self.table.conns.gain[:] = np.asarray(gains, dtype=self.dtype)
        self.inputs.ar_gain[:] = [1.0 if a.gain is None else a.gain.value(self.signals) for a in self.array_inputs]
        self.learning.set_signals(self.signals)

    def reset_window(self) -> None:
        """Start a new statistics window (events and current integrals from zero)."""
        self.window_steps = 0
        self.state_arrays.wcounts.fill(0)
        self.state_arrays.wcur.fill(0.0)

    def window(self) -> dict[str, dict[str, np.ndarray]]:
        """Statistics of the current window per population, as the numpy engine's ``window()``."""
        t = max(self.window_steps, 1) * self.dt_s
        st, L = self.state_arrays, self.layout
        out = {}
        for p, name in enumerate(L.names):
            off, n = int(L.pops.off[p]), int(L.pops.size[p])
            c = st.wcounts[:, off:off + n].copy()
            out[name] = {"count": c, "rate": c / t, "steps": self.window_steps,
                         "mean_current": st.wcur[:, off:off + n] / max(self.window_steps, 1)}
        return out

    # -- the loop --------------------------------------------------------------------------------------
    def _drives(self) -> None:
        """``drive = dt (bias + constant inputs) [+ dt v_rest / tau_m]`` per row, as the numpy engine
        computes it (same operations, same rounding); the bias of a spiking population only from
        its ``bias_start`` on (the current step :attr:`step_count`)."""
        L, dtype = self.layout, self.dtype
        dt = dtype.type(self.dt_s)
        drives = {}
        for p, name in enumerate(L.names):
            base = L.base_drive[L.span(name)[0]:L.span(name)[1]].astype(dtype)
            off = L.pops.kind[p] == KIND_LIF and self.step_count < L.pops.bias_start[p]
            drives[name] = np.zeros_like(base) if off else base
        for inp in self.const_inputs:
            g = 1.0 if inp.gain is None else inp.gain.value(self.signals)
            p = L.index(inp.target)
            scale = dtype.type(1.0) if L.pops.kind[p] == KIND_LCA else dt
            value = np.asarray(self._input_values.get(inp.name, inp.value), dtype=dtype)
            drives[inp.target] = drives[inp.target] + (scale * g) * value
        for p, name in enumerate(L.names):
            lo, hi = L.span(name)
            d = drives[name]
            if L.pops.kind[p] == KIND_LIF and L.leaky[lo:hi].any():
                d = d + L.leak_drive[lo:hi].astype(dtype)
            self.state_arrays.drive[:, lo:hi] = d
            block = self.state_arrays.drive[:, lo:hi]
            self.state_arrays.drive_uni[p] = int(bool(np.all(block == block[0, 0])))

    def run(self, steps: int, *, progress: Union[bool, Progress] = False, phase: str | None = None) -> None:
        """Advance ``steps`` steps (``progress``: a bar on stderr, or a :data:`~neurosim.progress.Progress`
        callback hearing ``("simulating", steps done, steps)``).

        ``phase`` names a statistics window: the window restarts, and at the end of the run its
        statistics are stored under that name (:attr:`phase_stats`) and every in-loop rule
        triggered by ``"phase:<phase>"`` is applied.
        """
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise NetworkError(describe("run", self.network.name, "steps must be a non-negative integer", got=steps))
        t0 = time.perf_counter()
        if phase is not None:
            self.reset_window()
        self._drives()
        bar = _progress(steps, self.network.name, progress) if progress and steps else None
        chunk = max(1, steps // 100) if bar is not None else max(steps, 1)
        onsets = sorted({int(k) for k in self.layout.pops.bias_start if k > 0})
        try:
            done = 0
            while done < steps:
                k = min(chunk, steps - done)
                now = self.step_count
                k = min([k] + [on - now for on in onsets if on > now])  # a bias switches on: new drives
                if now in onsets:
                    self._drives()
                self._run_chunk(k)
                done += k
                if bar is not None:
                    bar.update(k)
        finally:
            if bar is not None:
                bar.close()
        if phase is not None:
            self.phase_stats[phase] = self.learning.phase_statistics(self, phase)
            self.learning.end_of_phase(self, phase)
        self.wall_s += time.perf_counter() - t0

    def _run_chunk(self, steps: int) -> None:
        L, st = self.layout, self.state_arrays
        tables, where = probe_tables(self.state_probes, self._codes, self.count_probes, self._count_buf,
                                     self._count_off, L, batch=self.batch, n0=self.step_count, steps=steps)
        rows = np.arange(self.batch, dtype=np.int64)
        parallel = self.threads > 1 and self.batch > 1 and not self.learning.has_event_rules
        track = self.track_window or self.learning.needs_current
        before = numba.get_num_threads()
        done = np.full(self.batch, steps, np.int64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", numba.NumbaExperimentalFeatureWarning)
            try:
                if parallel:
                    numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))
                args = (rows, steps, self.step_count, self.batch, self.D, self.dtype.type(self.dt_s), track,
                        self.dtype.type(self.settle), L.pops, L.params, st, self.ring, self.table.conns,
                        self.table.weights, self.inputs, tables)
                if parallel:
                    done = run_rows_parallel(*args)
                else:
                    # the loop is compiled with the rule tables only for networks with event rules
                    done = run_rows_serial(*args, self.learning.tables if self.learning.has_event_rules else None)
            finally:
                numba.set_num_threads(before)
        for pr, (off, cnt, n, spikes) in zip(self.state_probes, where):
            buf = tables.pb if spikes else tables.pf
            data = buf[off:off + cnt * self.batch * n].reshape(cnt, self.batch, n)
            self._probe_data[pr.name].append(data.astype(bool) if spikes else data.copy())
        if np.any(st.err[:, 0]):
            b = int(np.flatnonzero(st.err[:, 0])[0])
            _, n_step, p, j = (int(x) for x in st.err[b])
            name = L.names[p]
            off = int(L.pops.off[p])
            var = "u" if L.pops.kind[p] == KIND_LCA else "v"
            raise SimulationError(describe(
                "population", name, f"state '{var}' became non-finite by step {n_step}",
                got=f"{st.v[b, off + j]} at batch {b}, neuron {j}",
                expected="finite values (reduce dt_s or weights; check for runaway excitation)"))
        self.row_steps += done
        self.step_count += steps
        self.window_steps += steps

    # -- results ---------------------------------------------------------------------------------------
    def probe_counts(self, pr) -> np.ndarray:
        k = self.count_probes.index(pr)
        n = self.network.population(pr.target).size
        off = int(self._count_off[k])
        return self._count_buf[off:off + self.batch * n].reshape(self.batch, n).copy()

    def result(self) -> SimResult:
        probes: dict[str, np.ndarray] = {}
        for pr in self.probes:
            if pr.var == "count":
                probes[pr.name] = self.probe_counts(pr)
                continue
            data = self._probe_data[pr.name]
            n = self.network.population(pr.target).size
            dt = np.bool_ if pr.var == "spikes" else self.dtype
            probes[pr.name] = np.concatenate(data) if data else np.zeros((0, self.batch, n), dtype=dt)
        L = self.layout
        counts = {name: self.state_arrays.counts[:, L.span(name)[0]:L.span(name)[1]].sum(axis=0) for name in L.names}
        epochs = dict(self.learn_epochs)
        for name, k in self.learning.epochs.items():
            epochs[name] = epochs.get(name, 0) + k
        activity = ActivityProfile.from_counts(self.network, counts, steps=self.step_count, batch=self.batch,
                                               dt_s=self.dt_s, source="simulated:compiled", learn_epochs=epochs,
                                               learn_updates=self.learning.updates())
        return SimResult(network=self.network.name, backend="compiled", steps=self.step_count, batch=self.batch,
                         dt_s=self.dt_s, probes=probes, activity=activity, final_state=self.state, wall_s=self.wall_s,
                         row_steps=self.row_steps.copy())


def _progress(total: int, name: str, progress: Union[bool, Progress] = True):
    """A tqdm bar on stderr, or the steps reported to ``progress("simulating", done, total)``."""
    if callable(progress):
        return CallbackBar(progress, "simulating", total)
    from tqdm import tqdm  # imported lazily: only long interactive runs need it

    return tqdm(total=total, desc=f"simulating {name}", unit="step", leave=False, mininterval=0.5)
