"""Neuron kernels of the compiled engine (numba): one step of one population for one batch row.

Each kernel implements the discrete-time equations documented on its neuron model in
:mod:`neurosim.neurons`, in the same floating-point order as the numpy reference engine
(:mod:`neurosim.backends.numpy_populations`), so float64 runs give the same spikes:

LIF (state ``v``; receptor slots hold ``dt * i_r``; ``drive = dt (bias + constant inputs) +
dt v_rest / tau_m`` precomputed per run)::

    [dt i_b += dt (dt/tau_b) bias   from step bias_start, for a bias entering receptor b]
    x = v * v_decay + drive [+ dt * ext] + dt i_0 + dt i_1 + ...     (frozen if refractory: x = v)
    dt i_r <- dt i_r * (1 - dt/tau_r)
    spike if x >= v_cmp and not refractory; then x <- x - v_th or v_reset, refractory count = R

(``v_cmp`` is ``v_th``, or the next float above it for the strict spike test ``v > v_th``.)

LCANeuron (state ``u`` in ``v``, output ``a``; its slot holds the graded input ``in``)::

    u <- u + (dt/tau) ((drive + in) [+ ext] - u);  in <- 0;  a = T_lam(u) [* 1/gain]

A population's events (spikes, or non-zero graded outputs) are appended to the event ring at
``slot`` (local indices, and values for graded outputs) and counted per neuron. The update loops
run over plain 1-D slices indexed from 0 with branch-free bodies, in blocks of :data:`BLOCK`
neurons, so that LLVM vectorises them; a block is scanned for events only when one of its
neurons crossed threshold.
A non-finite state stops the row: ``err[b]`` records ``(1, step, population, neuron)``.
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numba.core.extending import intrinsic

__all__ = ["BLOCK", "lca_update", "lif_update"]

BLOCK = 64


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def _flag(x: float) -> int:
    """1 if ``x`` is NaN or infinite, else 0 (branch-free: ``x - x`` is NaN exactly then)."""
    return np.int64((x - x) != 0.0)


@intrinsic
def _sum_any_order(typingctx, acc, x):
    """``acc + x`` with LLVM's ``reassoc`` flag on this one addition only, so that a sum over a
    loop may be split into vector lanes (the other operations keep their order). Used only to
    detect a non-finite value: NaN or inf in any term makes the sum NaN or inf in every order."""
    sig = acc(acc, x)

    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1], flags=("reassoc",))

    return sig, codegen


@njit(cache=True, boundscheck=False, nogil=True)
def _count_bad(v, lo, hi):
    """The number of non-finite values in ``v[lo:hi]`` (a block whose sum was not finite: it may
    also have overflowed from finite values)."""
    bad = 0
    for j in range(lo, hi):
        bad += _flag(v[j])
    return bad


@njit(cache=True, boundscheck=False, nogil=True)
def _lif_pass(v, drive, ext, i0, i1, vd_a, th_a, d0_a, d1_a, uni, vd_s, th_s, d0_s, d1_s, two, has_ext, dt,
              blk_hits, duni, dr_s, thu):
    """``v <- v v_decay + drive [+ dt ext] + i0 [+ i1]``, decay the receptor slots, count threshold
    crossings per block of :data:`BLOCK`; return the number of non-finite values. Parameters and
    drive shared by every neuron (``uni``, ``duni``) are read once, not per neuron.

    Written for LLVM's vectoriser: plain 1-D arrays indexed from 0, blocks of constant length,
    branch-free bodies, and the body written out in place (a numba-inlined helper stops the
    vectorisation), once for the full blocks and once for the tail."""
    size = v.shape[0]
    full = size // BLOCK
    bad = 0
    zero = dr_s - dr_s  # 0 in the run's dtype
    for blk in range(full):
        lo = blk * BLOCK
        hits = 0
        acc = zero
        for k in range(BLOCK):
            j = lo + k
            x = v[j] * (vd_s if uni else vd_a[j]) + (dr_s if duni else drive[j])
            if has_ext:
                x += dt * ext[j]
            x += i0[j]
            i0[j] *= d0_s if uni else d0_a[j]
            if two:
                x += i1[j]
                i1[j] *= d1_s if uni else d1_a[j]
            hits += np.int64(x >= (th_s if thu else th_a[j]))
            acc = _sum_any_order(acc, x)
            v[j] = x
        blk_hits[blk] = hits
        if _flag(acc):
            bad += _count_bad(v, lo, lo + BLOCK)
    if full * BLOCK < size:
        hits = 0
        acc = zero
        for j in range(full * BLOCK, size):
            x = v[j] * (vd_s if uni else vd_a[j]) + (dr_s if duni else drive[j])
            if has_ext:
                x += dt * ext[j]
            x += i0[j]
            i0[j] *= d0_s if uni else d0_a[j]
            if two:
                x += i1[j]
                i1[j] *= d1_s if uni else d1_a[j]
            hits += np.int64(x >= (th_s if thu else th_a[j]))
            acc = _sum_any_order(acc, x)
            v[j] = x
        blk_hits[full] = hits
        if _flag(acc):
            bad += _count_bad(v, full * BLOCK, size)
    return bad


@njit(cache=True, boundscheck=False, nogil=True)
def _lif_pass_uniform(v, drive, i0, i1, vd, th_a, d0, d1, two, duni, dr, thu, th, blk_hits):
    """:func:`_lif_pass` for a population whose parameters but the threshold are one number each and
    which has no array input this step: no other parameter array is read (memory traffic is the
    limit), the thresholds only if they differ (``thu`` false). The full blocks of the common case
    (two receptors, one drive and one threshold) run a loop of their own: no per-neuron selects or
    masked loads for the flags (LLVM does not unswitch the unrolled block)."""
    size = v.shape[0]
    full = size // BLOCK
    bad = 0
    zero = dr - dr  # 0 in the run's dtype
    if two and duni and thu:
        for blk in range(full):
            lo = blk * BLOCK
            hits = 0
            acc = zero
            for k in range(BLOCK):
                j = lo + k
                x = v[j] * vd + dr
                x += i0[j]
                i0[j] *= d0
                x += i1[j]
                i1[j] *= d1
                hits += np.int64(x >= th)
                acc = _sum_any_order(acc, x)
                v[j] = x
            blk_hits[blk] = hits
            if _flag(acc):
                bad += _count_bad(v, lo, lo + BLOCK)
        full = 0  # done: the loop below runs no block
    for blk in range(full):
        lo = blk * BLOCK
        hits = 0
        acc = zero
        for k in range(BLOCK):
            j = lo + k
            x = v[j] * vd + (dr if duni else drive[j])
            x += i0[j]
            i0[j] *= d0
            if two:
                x += i1[j]
                i1[j] *= d1
            hits += np.int64(x >= (th if thu else th_a[j]))
            acc = _sum_any_order(acc, x)
            v[j] = x
        blk_hits[blk] = hits
        if _flag(acc):
            bad += _count_bad(v, lo, lo + BLOCK)
    tail = (size // BLOCK) * BLOCK
    if tail < size:
        hits = 0
        acc = zero
        for j in range(tail, size):
            x = v[j] * vd + (dr if duni else drive[j])
            x += i0[j]
            i0[j] *= d0
            if two:
                x += i1[j]
                i1[j] *= d1
            hits += np.int64(x >= (th if thu else th_a[j]))
            acc = _sum_any_order(acc, x)
            v[j] = x
        blk_hits[size // BLOCK] = hits
        if _flag(acc):
            bad += _count_bad(v, tail, size)
    return bad


@njit(cache=True, boundscheck=False, nogil=True)
def _add_decay(v, ir, d):
    for j in range(v.shape[0]):
        v[j] += ir[j]
        ir[j] *= d[j]


@njit(cache=True, boundscheck=False, nogil=True)
def _count(v, th_a, uni, th_s, blk_hits):
    size = v.shape[0]
    for blk in range((size + BLOCK - 1) // BLOCK):
        hits = 0
        for j in range(blk * BLOCK, min(blk * BLOCK + BLOCK, size)):
            hits += np.int64(v[j] >= (th_s if uni else th_a[j]))
        blk_hits[blk] = hits


@njit(cache=True, boundscheck=False, nogil=True)
def _window_current(wcur, isyn, r0, size, R, drive, ext, has_ext, dt):
    for j in range(size):
        cur = isyn[r0 + j]
        for r in range(1, R):
            cur += isyn[r0 + r * size + j]
        mu = (cur + drive[j]) / dt
        if has_ext:
            mu += ext[j]
        wcur[j] += mu


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def lif_update(b, p, n, slot, D, pops, prm, st, ring, dt, has_ext, track):
    """Advance LIF population ``p`` of row ``b`` by step ``n``; return the number of events.

    Refractory neurons are the ones that spiked at steps ``n-1 .. n-R`` (ring slots, ``D > R``):
    the whole population is updated, then their ``v`` is put back -- to ``v_reset`` after a reset
    to ``v_reset < v_th`` (where they sit since their spike, and cannot fire), else to the value
    saved before the update, and they are marked so that they cannot spike (as the numpy engine).
    """
    off = pops.off[p]
    size = pops.size[p]
    R = pops.nrec[p]
    r0 = pops.roff[p]
    refr = pops.refractory[p]
    subtract = pops.reset[p] == 0
    uni = pops.uniform[p] != 0
    thu = pops.th_uniform[p] != 0
    v = st.v[b, off:off + size]
    drive = st.drive[b, off:off + size]
    ext = st.ext[b, off:off + size]
    i0 = st.isyn[b, r0:r0 + size]
    i1 = st.isyn[b, r0 + size:r0 + 2 * size] if R >= 2 else i0
    vd_a = prm.v_decay[off:off + size]
    th_a = prm.v_cmp[off:off + size]
    d0_a = prm.i_decay[r0:r0 + size]
    d1_a = prm.i_decay[r0 + size:r0 + 2 * size] if R >= 2 else d0_a
    if track:  # window statistics: the soma current this step integrates, before the update
        _window_current(st.wcur[b, off:off + size], st.isyn[b], r0, size, R, drive, ext, has_ext, dt)
    held = st.held[b]
    mark = st.mark[b]
    clamp = pops.clamp[p] != 0
    n_frozen = 0
    if refr > 0 and not clamp:  # reset by subtraction: keep the exact v of the frozen neurons
        for k in range(1, refr + 1):
            s = (n - k) % D
            fidx = ring.idx[s, b]
            for e in range(ring.cnt[s, b, p]):
                j = fidx[off + e]
                held[n_frozen] = v[j]
                st.frozen[b, n_frozen] = j
                mark[off + j] = 1
                n_frozen += 1
    rb = pops.bias_rec[p]
    if rb >= 0 and n >= pops.bias_start[p]:  # a bias entering receptor rb: added before v integrates it
        ib = st.isyn[b, r0 + rb * size:r0 + (rb + 1) * size]
        ibias = prm.i_bias[off:off + size]
        for j in range(size):
            ib[j] += ibias[j]
    blk_hits = st.blk[b]
    duni = st.drive_uni[p] != 0  # one drive for every neuron and row (no bias map): not read per neuron
    if uni and not has_ext:
        bad = _lif_pass_uniform(v, drive, i0, i1, vd_a[0], th_a, d0_a[0], d1_a[0], R == 2, duni, drive[0], thu, th_a[0],
                                blk_hits)
    else:
        bad = _lif_pass(v, drive, ext, i0, i1, vd_a, th_a, d0_a, d1_a, uni, vd_a[0], th_a[0], d0_a[0], d1_a[0],
                        R == 2, has_ext, dt, blk_hits, duni, drive[0], thu)
    if R > 2:
        for r in range(2, R):
            _add_decay(v, st.isyn[b, r0 + r * size:r0 + (r + 1) * size], prm.i_decay[r0 + r * size:r0 + (r + 1) * size])
        _count(v, th_a, thu, th_a[0], blk_hits)
        for j in range(size):
            bad += _flag(v[j])
    for m in range(n_frozen):
        v[st.frozen[b, m]] = held[m]
    vr = prm.v_reset[off]  # the reset of every neuron if uni
    if refr > 0 and clamp:  # reset to v_reset < v_th: a frozen neuron sits at v_reset and cannot fire
        for k in range(1, refr + 1):
            s = (n - k) % D
            for e in range(ring.cnt[s, b, p]):
                j = ring.idx[s, b, off + e]
                v[j] = vr if uni else prm.v_reset[off + j]
    # the spikes: in each block with crossings, the neurons at or above threshold and not frozen
    # (marked; none when clamped) -- at most blk_hits of them (frozen neurons may be counted
    # there too), so the scan of a block stops once it found that many
    idx = ring.idx[slot, b]
    th = th_a[0]
    k = 0
    for blk in range((size + BLOCK - 1) // BLOCK):
        left = blk_hits[blk]
        if left == 0:
            continue
        for j in range(blk * BLOCK, min(blk * BLOCK + BLOCK, size)):
            if not thu:
                th = th_a[j]
            if v[j] >= th and (clamp or mark[off + j] == 0):
                v[j] = v[j] - prm.v_th[off + j] if subtract else (vr if uni else prm.v_reset[off + j])
                idx[off + k] = j
                k += 1
                st.counts[b, off + j] += 1
                st.wcounts[b, off + j] += 1
                left -= 1
                if left == 0:
                    break
    for m in range(n_frozen):
        mark[off + st.frozen[b, m]] = 0
    ring.cnt[slot, b, p] = k
    if bad > 0:
        for j in range(size):
            if _flag(v[j]):
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
def _lca_pass(u, a, inp, drive, ext, k_a, lam_a, g_a, uni, k_s, lam_s, kind, unit, has_ext, settle):
    """One Euler step of the graded neurons; returns ``(bad, moving)``: non-finite states, and
    neurons whose residual ``|x - u|`` (the drive not yet matched) exceeds ``settle``."""
    bad = 0
    moving = 0
    for j in range(u.shape[0]):
        x = drive[j] + inp[j]
        if has_ext:
            x = x + ext[j]
        moving += np.int64(abs(x - u[j]) > settle)
        ug = u[j] + (k_s if uni else k_a[j]) * (x - u[j])
        u[j] = ug
        inp[j] = 0.0
        out = _threshold(ug, lam_s if uni else lam_a[j], kind)
        if not unit:
            out *= g_a[j]
        a[j] = out
        bad += _flag(ug)
    return bad, moving


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def lca_update(b, p, n, slot, D, pops, prm, st, ring, dt, has_ext, track, settle):
    """Advance graded (analog LCA) population ``p`` of row ``b`` by step ``n``; return the number
    of neurons still moving (residual above ``settle``; see :func:`_lca_pass`)."""
    off = pops.off[p]
    size = pops.size[p]
    r0 = pops.roff[p]
    u = st.v[b, off:off + size]
    a = st.a[b, off:off + size]
    k_a = prm.lca_k[off:off + size]
    lam_a = prm.lam[off:off + size]
    bad, moving = _lca_pass(u, a, st.isyn[b, r0:r0 + size], st.drive[b, off:off + size], st.ext[b, off:off + size],
                            k_a, lam_a, prm.inv_gain[off:off + size], pops.uniform[p] != 0, k_a[0], lam_a[0],
                            pops.threshold[p], pops.unit_gain[p] != 0, has_ext, settle)
    idx = ring.idx[slot, b]
    val = ring.val[slot, b]
    k = 0
    for j in range(size):
        if a[j] != 0.0:
            idx[off + k] = j
            val[off + k] = a[j]
            k += 1
            st.counts[b, off + j] += 1
            st.wcounts[b, off + j] += 1
    ring.cnt[slot, b, p] = k
    if track:
        wcur = st.wcur[b, off:off + size]
        for j in range(size):
            wcur[j] += u[j]
    if bad > 0:
        for j in range(size):
            if _flag(u[j]):
                st.err[b, 0] = 1
                st.err[b, 1] = n
                st.err[b, 2] = p
                st.err[b, 3] = j
                break
    return moving
