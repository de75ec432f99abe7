"""In-loop learning of the compiled engine: compiling rules into tables, applying phase rules.

For every plastic connection whose rule has an in-loop form (``rule.loop_updates()``, see
:mod:`neurosim.plasticity`), :class:`LoopLearning` compiles each update to a scalar function
and lays out what the kernels of :mod:`.learn_kernels` need: for event updates (``on="pre"`` /
``"post"``) the read codes, constants, bounds and traces, run inside the step loop; for phase
updates (``on="phase:<name>"``) the statistics of the windows, gathered per synapse at the end of
:meth:`CompiledSimulator.run` with that phase. It counts every update it applies.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurosim.backends.compiled.layout import KIND_LCA, KIND_LIF, Layout
from neurosim.backends.compiled.learn_kernels import (
    Q_CONST,
    Q_GLOBAL,
    Q_POST_I,
    Q_POST_TRACE,
    Q_POST_V,
    Q_PRE_TRACE,
    Q_PRE_VALUE,
    QMAX,
    Lrn,
    apply_phase,
    apply_phase_threshold,
    noop_rule,
)
from neurosim.backends.compiled.synapses import SynapseTable
from neurosim.errors import NetworkError, describe
from neurosim.ir import Network
from neurosim.learning import parse_quantity
from neurosim.plasticity import Update, compile_update

log = logging.getLogger(__name__)

__all__ = ["LoopLearning"]

_EVENT_CODES = {"pre.trace": Q_PRE_TRACE, "post.trace": Q_POST_TRACE, "post.v": Q_POST_V, "post.i": Q_POST_I,
                "pre.value": Q_PRE_VALUE}


class LoopLearning:
    """The in-loop rules of one simulator (see the module docstring)."""

    def __init__(self, network: Network, layout: Layout, table: SynapseTable, *, batch: int, dt: float,
                 signals: dict[str, float], enabled: bool = True):
        self.network, self.layout, self.table, self.batch, self.dt = network, layout, table, batch, dt
        self.signal_names = sorted(signals)
        self.event: list[tuple[int, Update, Any]] = []
        self.phase: list[tuple[int, Update, Any]] = []
        self.epochs: dict[str, int] = {}
        self._phase_updates: dict[str, int] = {}
        self._triggers: dict[str, set] = {}
        taus: dict[int, tuple[float, float]] = {}
        for c, conn in enumerate(network.connections):
            rule = conn.learning_rule
            if not enabled or rule is None or not hasattr(rule, "loop_updates"):
                if rule is not None:
                    log.debug("connection %s: rule %r has no in-loop form; applied between runs", conn.name, rule)
                continue
            name = getattr(rule, "name", type(rule).__name__)
            for u in rule.loop_updates():
                fn = compile_update(u, name=f"{name} ({conn.name})")
                (self.event if u.event else self.phase).append((c, u, fn))
                self._triggers.setdefault(conn.name, set()).add(u.on if u.event else "phase")
            if hasattr(rule, "trace_taus"):
                taus[c] = rule.trace_taus()
        if self.event and batch != 1:
            raise NetworkError(describe("network", network.name, "event-triggered learning needs one input stream",
                                        got=f"batch {batch}", expected="batch 1 (online rules share the weights)"))
        self.has_event_rules = bool(self.event)
        self.needs_current = any(parse_quantity(q)[2] == "mean_current" for _, u, _ in self.phase for q in u.reads
                                 if not q.startswith("global."))
        self.tables = self._event_tables(taus, signals)

    # -- event rules ---------------------------------------------------------------------------
    def _event_tables(self, taus: dict[int, tuple[float, float]], signals: dict[str, float]) -> Lrn:
        C, B, pops = len(self.network.connections), self.batch, self.layout.pops
        K = len(self.event)
        rule_conn, rule_on = np.zeros(K, np.int64), np.zeros(K, np.int64)
        rule_q = np.full((K, QMAX), -1, np.int64)
        consts = np.zeros((K, QMAX))
        lo, hi = np.zeros(K), np.zeros(K)
        for k, (c, u, _) in enumerate(self.event):
            rule_conn[k], rule_on[k], lo[k], hi[k] = c, 0 if u.on == "pre" else 1, u.lo, u.hi
            for m, q in enumerate(u.reads):
                rule_q[k, m] = (Q_GLOBAL + self.signal_names.index(q[len("global."):]) if q.startswith("global.")
                                else _EVENT_CODES[q])
            for m, value in enumerate(u.constants):
                rule_q[k, len(u.reads) + m] = Q_CONST + m
                consts[k, m] = value
            if c not in taus and any(q.endswith(".trace") for q in u.reads):
                raise NetworkError(describe("connection", self.network.connections[c].name,
                                            "a rule reads traces but declares no trace time constants",
                                            expected="rule.trace_taus() -> (tau_pre_s, tau_post_s)"))
        traced = np.zeros(C, np.int64)
        pre_tr, post_tr = np.zeros(C, np.int64), np.zeros(C, np.int64)
        pre_ld, post_ld = np.zeros(C), np.zeros(C)
        n_tr = 0
        for c in sorted({c for c, _, _ in self.event}):
            conn = self.table.conns
            traced[c] = 1
            pre_tr[c], post_tr[c] = n_tr, n_tr + conn.n_pre[c]
            n_tr += int(conn.n_pre[c] + conn.n_post[c])
            tau_pre, tau_post = taus.get(c, (np.inf, np.inf))
            pre_ld[c], post_ld[c] = -self.dt / tau_pre, -self.dt / tau_post
        fns = tuple(fn for _, _, fn in self.event) or (noop_rule,)
        glob = np.array([signals[s] for s in self.signal_names] or [0.0])
        del pops
        return Lrn(rule_conn, rule_on, rule_q, lo, hi, consts, fns, traced, pre_tr, post_tr, pre_ld, post_ld,
                   np.zeros((B, n_tr)), np.zeros((B, n_tr), np.int64), glob, np.zeros(C, np.int64), np.zeros(QMAX))

    def set_signals(self, signals: dict[str, float]) -> None:
        if self.signal_names:
            self.tables.glob[:] = [signals[s] for s in self.signal_names]

    def reset_traces(self) -> None:
        self.tables.tr_val.fill(0.0)
        self.tables.tr_last.fill(0)

    def rebind(self, table: SynapseTable) -> None:
        self.table = table

    def refresh_uniform(self, p: int) -> None:
        """Recompute population ``p``'s "uniform parameters" flag after a parameter changed."""
        L = self.layout
        off, n = int(L.pops.off[p]), int(L.pops.size[p])
        prm = L.params
        arrs = (prm.v_decay, prm.v_reset) if L.pops.kind[p] == KIND_LIF else (prm.lca_k, prm.lam, prm.inv_gain)
        same = all(bool(np.all(a[off:off + n] == a[off])) for a in arrs)
        if L.pops.kind[p] == KIND_LIF:
            r0, R = int(L.pops.roff[p]), int(L.pops.nrec[p])
            d = prm.i_decay[r0:r0 + R * n].reshape(R, n)
            same = same and bool(np.all(d == d[:, :1]))
        L.pops.uniform[p] = int(same)
        L.pops.th_uniform[p] = int(bool(np.all(prm.v_th[off:off + n] == prm.v_th[off])))
        if L.pops.kind[p] == KIND_LIF:
            L.pops.clamp[p] = int(L.pops.reset[p] == 1 and bool(np.all(prm.v_reset[off:off + n] < prm.v_th[off:off + n])))
        if L.pops.kind[p] == KIND_LCA:
            L.pops.unit_gain[p] = int(np.all(prm.inv_gain[off:off + n] == 1.0))

    # -- weights ----------------------------------------------------------------------------------
    def current_weights(self, c: int, conn, override: object | None):
        """Connection ``c``'s weights as the IR holds them (learned values of a plastic one)."""
        if not conn.plastic:
            return (override if override is not None else conn.weights).copy()
        t, w = self.table.conns, self.table.weights
        lo, hi = self.table.nnz(c)
        mo = int(t.model_off[c])
        po = int(t.ptr_off[c])
        n_pre, n_post = int(t.n_pre[c]), int(t.n_post[c])
        indptr = w.indptr[po:po + n_pre + 1] - lo
        wt = sp.csr_matrix((w.model[mo:mo + hi - lo].astype(np.float64), w.indices[lo:hi], indptr), shape=(n_pre, n_post))
        m = sp.csr_matrix(wt.T)
        m.sort_indices()
        return m if conn.is_sparse else m.toarray()

    # -- phases ---------------------------------------------------------------------------------
    def phase_statistics(self, sim, phase: str) -> dict[str, dict[str, np.ndarray]]:
        """Per population: ``rate``, ``count``, ``mean_current`` of the window just ended (graded
        populations: the output ``a`` and state ``u`` at its end, the rate model's fixed point),
        and per plastic connection ``received = g W r_pre`` (float64, ``(batch, n)``)."""
        L, st = self.layout, sim.state_arrays
        steps = max(sim.window_steps, 1)
        out: dict[str, dict[str, np.ndarray]] = {}
        for p, name in enumerate(L.names):
            off, n = int(L.pops.off[p]), int(L.pops.size[p])
            count = st.wcounts[:, off:off + n].astype(np.float64)
            if L.pops.kind[p] == KIND_LCA:
                rate, cur = st.a[:, off:off + n].astype(np.float64), st.v[:, off:off + n].astype(np.float64)
            else:
                rate, cur = count / (steps * self.dt), st.wcur[:, off:off + n] / steps
            out[name] = {"rate": rate, "count": count, "mean_current": cur}
        for c, conn in enumerate(self.network.connections):
            if any(cc == c for cc, _, _ in self.phase):
                g = float(self.table.conns.gain[c])
                W = self.current_weights(c, conn, None)
                out[f"received:{conn.name}"] = {"received": g * np.asarray(out[conn.pre]["rate"] @ W.T)}
        return out

    def _stat(self, sim, phase: str, quantity: str, c: int) -> np.ndarray:
        side, ph, stat = parse_quantity(quantity)
        stats = sim.phase_stats.get(ph or phase)
        conn = self.network.connections[c]
        if stats is None:
            raise NetworkError(describe("rule", conn.name, f"reads '{quantity}' but phase '{ph}' was not run",
                                        got=sorted(sim.phase_stats), expected=f"a run with phase='{ph}' before"))
        if stat == "threshold":
            return np.broadcast_to(self._thresholds(conn.post), (self.batch, self._size(conn.post)))
        if stat == "received":
            return stats[f"received:{conn.name}"]["received"]
        return stats[conn.pre if side == "pre" else conn.post][stat]

    def _size(self, pop: str) -> int:
        return int(self.layout.pops.size[self.layout.index(pop)])

    def _thresholds(self, pop: str) -> np.ndarray:
        lo, hi = self.layout.span(pop)
        p = self.layout.index(pop)
        prm = self.layout.params
        if self.layout.pops.kind[p] == KIND_LIF:
            return prm.v_th[lo:hi].astype(np.float64)
        return 1.0 / prm.inv_gain[lo:hi].astype(np.float64)

    def _gather(self, sim, phase: str, u: Update, c: int):
        conn = self.network.connections[c]
        sides, rows, pre_q, post_q = [], [], [], []
        for q in u.reads:
            side = u.side(q)
            if side == "global":
                sides.append(2)
                rows.append(self.signal_names.index(q[len("global."):]))
                continue
            arr = np.ascontiguousarray(self._stat(sim, phase, q, c), dtype=np.float64)
            (pre_q if side == "pre" else post_q).append(arr)
            sides.append(0 if side == "pre" else 1)
            rows.append(len(pre_q if side == "pre" else post_q) - 1)
        for m in range(len(u.constants)):
            sides.append(3)
            rows.append(m)
        n_pre, n_post = self._size(conn.pre), self._size(conn.post)
        pre = np.stack(pre_q) if pre_q else np.zeros((0, self.batch, n_pre))
        post = np.stack(post_q) if post_q else np.zeros((0, self.batch, n_post))
        glob = np.array([sim.signals[s] for s in self.signal_names] or [0.0])
        return (np.array(sides, np.int64), np.array(rows, np.int64), np.array(u.constants or (0.0,)), pre, post, glob)

    def end_of_phase(self, sim, phase: str) -> None:
        """Apply every update triggered by ``"phase:<phase>"``: weights first (all read the old
        thresholds), then thresholds."""
        due = [(c, u, fn) for c, u, fn in self.phase if u.phase == phase]
        for c, u, fn in sorted(due, key=lambda x: x[1].target != "weight"):
            conn = self.network.connections[c]
            sides, rows, consts, pre, post, glob = self._gather(sim, phase, u, c)
            if u.target == "weight":
                t, w = self.table.conns, self.table.weights
                lo, hi = self.table.nnz(c)
                po, mo, n_pre = int(t.ptr_off[c]), int(t.model_off[c]), int(t.n_pre[c])
                rb, n_post = int(t.rbase[c]), int(t.n_post[c])
                scale = self.layout.params.input_scale[rb:rb + n_post]
                apply_phase(fn, sides, rows, consts, pre, post, glob, w.indptr[po:po + n_pre + 1], w.indices,
                            w.model[mo:mo + hi - lo], w.data[lo:hi], scale, n_pre, u.lo, u.hi)
                self.epochs[conn.name] = self.epochs.get(conn.name, 0) + 1
                self._phase_updates[conn.name] = self._phase_updates.get(conn.name, 0) + (hi - lo)
            else:
                theta = self._thresholds(conn.post).copy()
                apply_phase_threshold(fn, sides, rows, consts, post, glob, theta, u.lo, u.hi)
                self._set_thresholds(sim, conn.post, theta)

    def _set_thresholds(self, sim, pop: str, theta: np.ndarray) -> None:
        p = self.layout.index(pop)
        if self.layout.pops.kind[p] == KIND_LIF:
            sim.set_param(pop, "v_th", theta)
        else:
            sim.set_param(pop, "gain", theta)

    def updates(self) -> dict[str, tuple[int, tuple]]:
        """Connection -> (synapse updates applied in the loop, triggers)."""
        out = {}
        for name, trig in self._triggers.items():
            c = self.table.names.index(name)
            n = int(self.tables.updates[c]) + self._phase_updates.get(name, 0)
            out[name] = (n, tuple(t for t in ("pre", "post", "phase") if t in trig))
        return out
