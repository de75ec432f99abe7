"""Neuron kernels of the compiled engine (numba): one step of one population for one batch row.

Each kernel implements the discrete-time equations documented on its neuron model in
:mod:`neurosim.neurons`, in the same floating-point order as the numpy reference engine
(:mod:`neurosim.backends.numpy_populations`), so float64 runs give the same spikes:

LIF (state ``v``; receptor slots hold ``dt * i_r``; ``drive = dt (bias + constant inputs) +
dt v_rest / tau_m`` precomputed per run)::

    x = v * v_decay + drive [+ dt * ext] + dt i_0 + dt i_1 + ...     (frozen if refractory: x = v)
    dt i_r <- dt i_r * (1 - dt/tau_r)
    spike if x >= v_th and not refractory; then x <- x - v_th or v_reset, refractory count = R

LCANeuron (state ``u`` in ``v``, output ``a``; its slot holds the graded input ``in``)::

    u <- u + (dt/tau) ((drive + in) [+ ext] - u);  in <- 0;  a = T_lam(u) [* 1/gain]

A population's events (spikes, or non-zero graded outputs) are appended to the event ring at
``slot`` (local indices, and values for graded outputs), counted per neuron, and the update loop
is written over blocks of :data:`BLOCK` neurons with branch-free arithmetic so that LLVM can
vectorise it; a block is scanned for events only when one of its neurons crossed threshold.
A non-finite state stops the row: ``err[b]`` records ``(1, step, population, neuron)``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["lif_update", "lca_update", "BLOCK"]

BLOCK = 64


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def _flag(x: float) -> int:
    """1 if ``x`` is NaN or infinite, else 0 (branch-free: ``x - x`` is NaN exactly then)."""
    return np.int64((x - x) != 0.0)


@njit(cache=True, boundscheck=False, nogil=True)
def lif_update(b, p, n, slot, pops, prm, st, ring, dt, has_ext, track):
    """Advance LIF population ``p`` of row ``b`` by step ``n``; return the number of events."""
    off = pops.off[p]
    size = pops.size[p]
    R = pops.nrec[p]
    r0 = pops.roff[p]
    refr = pops.refractory[p]
    subtract = pops.reset[p] == 0
    uni = pops.uniform[p] != 0
    v = st.v[b]
    isyn = st.isyn[b]
    drive = st.drive[b]
    ext = st.ext[b]
    ref = st.ref[b]
    vd_s = prm.v_decay[off]
    th_s = prm.v_th[off]
    d0_s = prm.i_decay[r0]
    d1_s = prm.i_decay[r0 + size] if R >= 2 else d0_s
    if track:  # window statistics: the soma current this step integrates, before the update
        for j in range(size):
            cur = isyn[r0 + j]
            for r in range(1, R):
                cur += isyn[r0 + r * size + j]
            mu = (cur + drive[off + j]) / dt
            if has_ext:
                mu += ext[off + j]
            st.wcur[b, off + j] += mu
    idx = ring.idx[slot, b]
    k = 0
    bad = 0
    for start in range(0, size, BLOCK):
        stop = min(start + BLOCK, size)
        hits = 0
        for j in range(start, stop):
            g = off + j
            vd = vd_s if uni else prm.v_decay[g]
            th = th_s if uni else prm.v_th[g]
            x = v[g] * vd + drive[g]
            if has_ext:
                x += dt * ext[g]
            s0 = r0 + j
            x += isyn[s0]
            isyn[s0] *= d0_s if uni else prm.i_decay[s0]
            if R >= 2:
                s1 = s0 + size
                x += isyn[s1]
                isyn[s1] *= d1_s if uni else prm.i_decay[s1]
                for r in range(2, R):
                    sr = s0 + r * size
                    x += isyn[sr]
                    isyn[sr] *= prm.i_decay[sr]
            if refr > 0:  # ref counts the frozen steps left; < 0 once free (this step included)
                rc = ref[g]
                frozen = rc > 0
                x = v[g] if frozen else x
                ref[g] = max(rc - 1, -1)
                hits += np.int64((x >= th) & (not frozen))
            else:
                hits += np.int64(x >= th)
            bad += _flag(x)
            v[g] = x
        if hits > 0:
            for j in range(start, stop):
                g = off + j
                th = th_s if uni else prm.v_th[g]
                if v[g] >= th and (refr == 0 or ref[g] < 0):
                    v[g] = v[g] - th if subtract else prm.v_reset[g]
                    if refr > 0:
                        ref[g] = refr
                    idx[off + k] = j
                    k += 1
                    st.counts[b, g] += 1
                    st.wcounts[b, g] += 1
    ring.cnt[slot, b, p] = k
    if bad > 0:
        for j in range(size):
            if _flag(v[off + j]):
                st.err[b, 0] = 1
                st.err[b, 1] = n
                st.err[b, 2] = p
                st.err[b, 3] = j
                break
    return k


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def _threshold(u, lam, kind):
    if kind == 0:  # soft: sign(u) max(|u| - lam, 0)
        return np.sign(u) * max(abs(u) - lam, 0.0)
    if kind == 1:  # nonneg
        return max(u - lam, 0.0)
    return u if abs(u) > lam else 0.0  # hard


@njit(cache=True, boundscheck=False, nogil=True)
def lca_update(b, p, n, slot, pops, prm, st, ring, dt, has_ext, track):
    """Advance graded (analog LCA) population ``p`` of row ``b`` by step ``n``; return the number
    of non-zero outputs (events)."""
    off = pops.off[p]
    size = pops.size[p]
    r0 = pops.roff[p]
    kind = pops.threshold[p]
    unit = pops.unit_gain[p] != 0
    uni = pops.uniform[p] != 0
    u = st.v[b]
    a = st.a[b]
    inp = st.isyn[b]
    drive = st.drive[b]
    ext = st.ext[b]
    k_s = prm.lca_k[off]
    lam_s = prm.lam[off]
    idx = ring.idx[slot, b]
    val = ring.val[slot, b]
    bad = 0
    for j in range(size):
        g = off + j
        x = drive[g] + inp[r0 + j]
        if has_ext:
            x = x + ext[g]
        kk = k_s if uni else prm.lca_k[g]
        ug = u[g] + kk * (x - u[g])
        u[g] = ug
        inp[r0 + j] = 0.0
        out = _threshold(ug, lam_s if uni else prm.lam[g], kind)
        if not unit:
            out *= prm.inv_gain[g]
        a[g] = out
        bad += _flag(ug)
    k = 0
    for j in range(size):
        g = off + j
        if a[g] != 0.0:
            idx[off + k] = j
            val[off + k] = a[g]
            k += 1
            st.counts[b, g] += 1
            st.wcounts[b, g] += 1
    ring.cnt[slot, b, p] = k
    if track:
        for j in range(size):
            st.wcur[b, off + j] += u[off + j]
    if bad > 0:
        for j in range(size):
            if _flag(u[off + j]):
                st.err[b, 0] = 1
                st.err[b, 1] = n
                st.err[b, 2] = p
                st.err[b, 3] = j
                break
    return k
