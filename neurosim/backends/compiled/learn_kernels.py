"""Learning kernels of the compiled engine (numba): local rules applied inside the loop.

A rule (see :mod:`neurosim.plasticity`) reaches the engine as a compiled scalar function
``f(x, q) -> dx`` (``x`` the synapse's weight or the neuron's threshold, ``q`` a fixed-length tuple
of scalars: the declared reads, then the rule's constants). The kernels below gather, for one
synapse ``(i, j)`` at a time, exactly the declared quantities of neuron ``j``, neuron ``i`` and the
global signals into ``q`` and call ``f``; the function never receives an array, so it cannot
read another synapse. The new value is ``clip(x + dx, lo, hi)``.

Event rules (inside the step loop, batch 1; :func:`learn_on_events`), after delivery at the end
of step ``n``:

* ``on="pre"``: for every event of source ``j`` arriving at connection ``c`` (emitted at step
  ``n - d + 1``), the pre-synaptic trace ``x_j <- x_j + 1`` first, then every synapse of row ``j``
  (its weight is read by the delivery of the same step *before* the change, as in Brian2);
* ``on="post"``: for every event of post neuron ``i`` at step ``n``, its trace ``y_i <- y_i + 1``
  first, then every synapse of ``i``.

Traces decay exactly between events, ``x(n) = x(m) exp(-(n - m) dt / tau)`` (stored value and
step of the last update). Phase rules (:func:`apply_phase`, :func:`apply_phase_threshold`) run
once at the end of a statistics window over every synapse (or owner neuron) and average the
per-row changes over the batch: ``x <- clip(x + mean_b f(x, q_b), lo, hi)``.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import cfunc, njit, types

__all__ = [
    "QMAX",
    "Q_CONST",
    "Q_GLOBAL",
    "Q_POST_I",
    "Q_POST_TRACE",
    "Q_POST_V",
    "Q_PRE_TRACE",
    "Q_PRE_VALUE",
    "RULE_SIG",
    "Lrn",
    "apply_phase",
    "apply_phase_threshold",
    "learn_on_events",
    "noop_rule",
]

#: length of the scalar tuple a rule receives (reads then constants, zero-padded)
QMAX = 16
#: read codes of event rules (``Q_GLOBAL + s`` is global signal ``s``; ``Q_CONST + m`` constant ``m``)
Q_PRE_TRACE, Q_POST_TRACE, Q_POST_V, Q_POST_I, Q_PRE_VALUE = 0, 1, 2, 3, 4
Q_CONST, Q_GLOBAL = 1000, 2000

#: event-rule tables (length K = rules; ``fns`` a tuple of K compiled functions), traces
#: (``tr_val``/``tr_last`` ``(B, T)``; per connection ``pre_tr``/``post_tr`` offsets and
#: ``pre_ld``/``post_ld`` = ``-dt / tau``), the signal values ``glob`` and update counters
#: ``updates`` (per connection: synapse updates applied)
Lrn = namedtuple("Lrn", "rule_conn rule_on rule_q rule_lo rule_hi consts fns "
                        "traced pre_tr post_tr pre_ld post_ld tr_val tr_last glob updates qbuf")


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def _trace(lrn, b, t, n, ld):
    """Trace entry ``t`` of row ``b`` decayed to step ``n`` (``ld = -dt / tau``)."""
    last = lrn.tr_last[b, t]
    return lrn.tr_val[b, t] * math.exp(ld * (n - last)) if n != last else lrn.tr_val[b, t]


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def _bump(lrn, b, t, n, ld, x):
    lrn.tr_val[b, t] = _trace(lrn, b, t, n, ld) + x
    lrn.tr_last[b, t] = n


@njit(cache=True, boundscheck=False, nogil=True)
def _gather(lrn, k, b, c, n, i, j, pre_value, pops, st, conns):
    """The scalar tuple of rule ``k`` for synapse (post ``i``, pre ``j``) of connection ``c``
    (gathered in the scratch ``lrn.qbuf``: no allocation per update)."""
    q = lrn.qbuf
    q[:] = 0.0
    for m in range(16):
        code = lrn.rule_q[k, m]
        if code < 0:
            break
        if code == 0:
            q[m] = _trace(lrn, b, lrn.pre_tr[c] + j, n, lrn.pre_ld[c])
        elif code == 1:
            q[m] = _trace(lrn, b, lrn.post_tr[c] + i, n, lrn.post_ld[c])
        elif code == 2:
            q[m] = st.v[b, pops.off[conns.post[c]] + i]
        elif code == 3:
            p = conns.post[c]
            size = pops.size[p]
            tot = 0.0
            for r in range(pops.nrec[p]):
                tot += st.isyn[b, pops.roff[p] + r * size + i]
            q[m] = tot
        elif code == 4:
            q[m] = pre_value
        elif code >= 2000:
            q[m] = lrn.glob[code - 2000]
        else:
            q[m] = lrn.consts[k, code - 1000]
    return (q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11], q[12], q[13], q[14], q[15])


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def _apply(lrn, k, s, c, i, qt, prm, conns, w):
    """``w_s <- clip(w_s + f_k(w_s, q), lo, hi)``; also the scaled delivery copy."""
    ms = conns.model_off[c] + (s - w.indptr[conns.ptr_off[c]])
    old = w.model[ms]
    new = min(max(old + lrn.fns[k](np.float64(old), qt), lrn.rule_lo[k]), lrn.rule_hi[k])
    w.model[ms] = new
    w.data[s] = new * prm.input_scale[conns.rbase[c] + i]
    lrn.updates[c] += 1


@njit(cache=True, boundscheck=False, nogil=True)
def learn_on_events(b, n, D, pops, conns, w, st, ring, lrn, prm):
    """Event rules and traces of row ``b`` at the end of step ``n`` (after delivery)."""
    for c in range(conns.pre.shape[0]):
        if lrn.traced[c] == 0:
            continue
        pre = conns.pre[c]
        slot = (n - conns.delay[c] + 1) % D
        k_ev = ring.cnt[slot, b, pre]
        idx = ring.idx[slot, b]
        val = ring.val[slot, b]
        poff = pops.off[pre]
        graded = pops.kind[pre] == 1
        po = conns.ptr_off[c]
        for e in range(k_ev):  # pre-synaptic events arriving now
            j = idx[poff + e]
            x = val[poff + e] if graded else 1.0
            _bump(lrn, b, lrn.pre_tr[c] + j, n, lrn.pre_ld[c], 1.0)
            for k in range(lrn.rule_conn.shape[0]):
                if lrn.rule_conn[k] != c or lrn.rule_on[k] != 0:
                    continue
                for s in range(w.indptr[po + j], w.indptr[po + j + 1]):
                    i = w.indices[s]
                    _apply(lrn, k, s, c, i, _gather(lrn, k, b, c, n, i, j, x, pops, st, conns), prm, conns, w)
        post = conns.post[c]
        slot_n = n % D
        idx = ring.idx[slot_n, b]
        qoff = pops.off[post]
        pp = conns.post_off[c]
        for e in range(ring.cnt[slot_n, b, post]):  # post-synaptic events of this step
            i = idx[qoff + e]
            _bump(lrn, b, lrn.post_tr[c] + i, n, lrn.post_ld[c], 1.0)
            for k in range(lrn.rule_conn.shape[0]):
                if lrn.rule_conn[k] != c or lrn.rule_on[k] != 1:
                    continue
                for t in range(w.post_ptr[pp + i], w.post_ptr[pp + i + 1]):
                    s = w.post_syn[t]
                    j = w.post_pre[t]
                    _apply(lrn, k, s, c, i, _gather(lrn, k, b, c, n, i, j, 0.0, pops, st, conns), prm, conns, w)


@njit(cache=True, boundscheck=False, nogil=True)
def _phase_q(q, sides, rows, consts, pre_q, post_q, glob, b, i, j):
    q[:] = 0.0
    for m in range(sides.shape[0]):
        side = sides[m]
        if side == 0:
            q[m] = pre_q[rows[m], b, j]
        elif side == 1:
            q[m] = post_q[rows[m], b, i]
        elif side == 2:
            q[m] = glob[rows[m]]
        else:
            q[m] = consts[rows[m]]
    return (q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11], q[12], q[13], q[14], q[15])


@njit(cache=True, boundscheck=False, nogil=True)
def apply_phase(fn, sides, rows, consts, pre_q, post_q, glob, indptr, indices, model, data, scale, n_pre, lo_w, hi_w):
    """Phase rule over every synapse of one connection (source-major CSR, flat range from
    ``indptr[0]``): ``w <- clip(w + mean_b fn(w, q_b), lo_w, hi_w)``; ``model``/``data`` are the
    connection's model weights and delivery copy (``data = w * scale[i]``)."""
    B = pre_q.shape[1] if pre_q.shape[0] > 0 else post_q.shape[1]
    base = indptr[0]
    q = np.zeros(16)
    for j in range(n_pre):
        for s in range(indptr[j], indptr[j + 1]):
            i = indices[s]
            m = s - base
            old = model[m]
            acc = 0.0
            for b in range(B):
                acc += fn(np.float64(old), _phase_q(q, sides, rows, consts, pre_q, post_q, glob, b, i, j))
            new = min(max(old + acc / B, lo_w), hi_w)
            model[m] = new
            data[m] = new * scale[i]


@njit(cache=True, boundscheck=False, nogil=True)
def apply_phase_threshold(fn, sides, rows, consts, post_q, glob, theta, lo_t, hi_t):
    """Owner-neuron phase rule: ``theta_i <- clip(theta_i + mean_b fn(theta_i, q_b), lo_t, hi_t)``."""
    B = post_q.shape[1]
    empty = np.zeros((0, 1, 1))
    q = np.zeros(16)
    for i in range(theta.shape[0]):
        old = theta[i]
        acc = 0.0
        for b in range(B):
            acc += fn(np.float64(old), _phase_q(q, sides, rows, consts, empty, post_q, glob, b, i, 0))
        theta[i] = min(max(old + acc / B, lo_t), hi_t)


#: the type of a compiled rule: ``f(x, q) -> dx`` with ``q`` the :data:`QMAX` scalars
RULE_SIG = types.float64(types.float64, types.UniTuple(types.float64, QMAX))


def _no_change(x, q):
    return 0.0


#: the rule slot of a network without event rules (never called)
noop_rule = cfunc(RULE_SIG, cache=True)(_no_change)
