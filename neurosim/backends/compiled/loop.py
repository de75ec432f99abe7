"""The time loop of the compiled engine: every step of a batch row fused into one compiled call.

For each batch row ``b`` (independent inputs: nothing couples two rows inside a run) and each step
``n`` the loop does, as the numpy reference engine does for the whole batch:

1. sum the array inputs due at step ``n`` into ``ext``; advance every population in network
   order (:mod:`.kernels`), appending its events to ring slot ``n mod D``;
2. deliver every connection's due events (:func:`.delivery.deliver`) and the Poisson inputs;
3. record the probes (after delivery, as the numpy engine does) and the count probes.

:func:`run_rows_parallel` runs the rows in parallel (numba ``prange``: each thread owns whole rows
for the whole call, so no step needs a barrier) and :func:`run_rows_serial` one after the other.
Both are compiled once per dtype and cached on disk (``cache=True``). numba keys a cached function
on its own source file only, not on the kernels compiled into it: a change to :mod:`.kernels` or
:mod:`.delivery` must come with a change to this file (or a cleared cache), else a stale loop is
loaded.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from neurosim.backends.compiled.delivery import array_ext, deliver, poisson
from neurosim.backends.compiled.kernels import lca_update, lif_update
from neurosim.backends.compiled.learn_kernels import learn_on_events

__all__ = ["VAR_CODES", "VAR_RECEPTOR", "Probes", "Ring", "State", "run_rows_parallel", "run_rows_serial"]

#: per-row state, ``(B, N)`` unless noted: ``isyn`` ``(B, S)`` receptor slots, ``counts``/``wcounts``
#: int64 event counters (run / window), ``wcur`` float64 window current sums, ``err`` ``(B, 4)`` int64
#: (flag, step, population, neuron); scratch: ``held``/``frozen``/``mark`` (refractory neurons'
#: saved ``v``, indices, uint8 marks), ``blk`` ``(B, blocks)`` threshold crossings per block;
#: ``drive_uni`` ``(P,)``: 1 where a population's drive is one number for all its neurons and rows
State = namedtuple("State", "v a isyn drive ext counts wcounts wcur err held frozen mark blk drive_uni")
#: event ring: ``idx`` ``(D, B, N)`` int32 local indices, ``cnt`` ``(D, B, P)`` int32, ``val`` graded values
Ring = namedtuple("Ring", "idx cnt val")
#: state probes (``pr_*``; float values in ``pf``, spikes in ``pb``, both flat ``(records, B, n)``
#: per probe from ``pr_off``) and count probes (``pc_*``, flat ``(B, n)`` per probe in ``pc_buf``)
Probes = namedtuple("Probes", "pr_pop pr_var pr_every pr_first pr_stop pr_off pf pb pc_pop pc_start pc_stop pc_off pc_buf")

#: probe variable -> code (receptor currents ``i_<r>`` are ``VAR_RECEPTOR + r``)
VAR_CODES = {"v": 0, "u": 0, "a": 1, "output": 1, "i": 2, "spikes": 3}
VAR_RECEPTOR = 10


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def _record(b, n, slot, B, dt, pops, st, ring, prb):
    for k in range(prb.pr_pop.shape[0]):
        every = prb.pr_every[k]
        if n % every != 0 or n < prb.pr_first[k] or n >= prb.pr_stop[k]:
            continue
        p = prb.pr_pop[k]
        off = pops.off[p]
        size = pops.size[p]
        base = prb.pr_off[k] + (((n - prb.pr_first[k]) // every) * B + b) * size
        var = prb.pr_var[k]
        if var == 3:
            idx = ring.idx[slot, b]
            for e in range(ring.cnt[slot, b, p]):
                prb.pb[base + idx[off + e]] = 1
        elif var == 0:
            for j in range(size):
                prb.pf[base + j] = st.v[b, off + j]
        elif var == 1:
            for j in range(size):
                prb.pf[base + j] = st.a[b, off + j]
        elif var == 2:
            r0 = pops.roff[p]
            for j in range(size):
                tot = st.isyn[b, r0 + j]
                for r in range(1, pops.nrec[p]):
                    tot += st.isyn[b, r0 + r * size + j]
                prb.pf[base + j] = tot / dt
        else:
            s0 = pops.roff[p] + (var - 10) * size
            for j in range(size):
                prb.pf[base + j] = st.isyn[b, s0 + j] / dt
    for k in range(prb.pc_pop.shape[0]):
        if n < prb.pc_start[k] or n >= prb.pc_stop[k]:
            continue
        p = prb.pc_pop[k]
        off = pops.off[p]
        base = prb.pc_off[k] + b * pops.size[p]
        idx = ring.idx[slot, b]
        for e in range(ring.cnt[slot, b, p]):
            prb.pc_buf[base + idx[off + e]] += 1


@njit(cache=True, boundscheck=False, nogil=True)
def run_row(b, steps, n0, B, D, dt, track, settle, pops, prm, st, ring, conns, w, inp, prb, lrn):
    """Run ``steps`` steps of batch row ``b`` from absolute step ``n0``; return the steps done:
    fewer when a state became non-finite (``st.err[b]`` says where), or when every neuron of an
    all-graded network has settled (``settle >= 0``: no residual above it) -- the row then stays
    as it is, emits nothing, and its probes keep recording that state."""
    P = pops.kind.shape[0]
    n_arrays = inp.ar_pop.shape[0]
    for s in range(steps):
        n = n0 + s
        slot = n % D
        moving = 0
        for p in range(P):
            has_ext = array_ext(b, n, p, pops, inp, st) if n_arrays > 0 else False
            if pops.kind[p] == 0:
                lif_update(b, p, n, slot, D, pops, prm, st, ring, dt, has_ext, track)
            else:
                moving += lca_update(b, p, n, slot, D, pops, prm, st, ring, dt, has_ext, track, settle)
            if st.err[b, 0] != 0:
                return s
        deliver(b, n, D, pops, conns, w, st, ring)
        if lrn is not None:  # noqa: SIM102 - pruned at compile time for the parallel driver (no event rules)
            if lrn.rule_conn.shape[0] > 0:
                learn_on_events(b, n, D, pops, conns, w, st, ring, lrn, prm)
        if inp.po_pop.shape[0] > 0:
            poisson(b, n, B, pops, inp, st)
        _record(b, n, slot, B, dt, pops, st, ring, prb)
        if settle >= 0.0 and moving == 0:
            for t in range(s + 1, steps):  # settled: nothing moves or fires any more
                nt = n0 + t
                for p in range(P):
                    ring.cnt[nt % D, b, p] = 0
                _record(b, nt, nt % D, B, dt, pops, st, ring, prb)
            return s + 1
    return steps


@njit(cache=True, nogil=True)
def run_rows_serial(rows, steps, n0, B, D, dt, track, settle, pops, prm, st, ring, conns, w, inp, prb, lrn):
    """:func:`run_row` for each row of ``rows`` in turn; returns the steps done per row."""
    done = np.zeros(rows.shape[0], np.int64)
    for i in range(rows.shape[0]):
        done[i] = run_row(rows[i], steps, n0, B, D, dt, track, settle, pops, prm, st, ring, conns, w, inp, prb, lrn)
    return done


@njit(cache=True, parallel=True)
def run_rows_parallel(rows, steps, n0, B, D, dt, track, settle, pops, prm, st, ring, conns, w, inp, prb):
    """:func:`run_row` for the rows of ``rows`` in parallel (rows are independent within a run: no
    event-triggered learning rule, whose shared weights would couple them)."""
    done = np.zeros(rows.shape[0], np.int64)
    for i in prange(rows.shape[0]):
        done[i] = run_row(rows[i], steps, n0, B, D, dt, track, settle, pops, prm, st, ring, conns, w, inp, prb,
                          None)
    return done
