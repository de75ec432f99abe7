"""Delivery kernels of the compiled engine (numba): events through weight rows, inputs, randomness.

At the end of step ``n`` every connection ``c`` (delay ``d``) delivers the events its
pre-synaptic population emitted at step ``n - d + 1`` (ring slot ``(n - d + 1) mod D``) into its
receptor slots: for each event of source ``j`` with value ``x`` (1 for a spike, the output for a
graded neuron), times the connection's gain ``g``::

    slot[rbase + i] += g x W^T[j, i]      for the synapses (j, i) of row j (CSR or dense row)

which is ``i_r += W s / tau_r`` for a LIF receptor (weights are pre-scaled by ``dt / tau_r``) and
the next step's graded input for an analog neuron. Gains and graded values are in the run's dtype,
so a float32 run computes in float32. Only the rows of the sources that emitted
are read: the cost is ``O(events x fan-out)``, not ``O(n_pre x n_post)``.

Poisson inputs draw one uniform number per target neuron and step from a counter-based
generator: ``u = mix64(key + counter * GOLDEN)`` with ``counter = (step * B + row) * 2^32 + j``
(the SplitMix64 finaliser of Steele, Lea & Flood 2014), so a run's spikes depend only on the seed,
never on the thread that draws them.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

__all__ = ["Inputs", "array_ext", "deliver", "input_key", "mix64", "poisson", "uniform01"]

#: input tables: array inputs (``ar_*``, values flat ``(steps, rows, n)`` per input) and Poisson
#: inputs (``po_*``: target, first slot, probabilities ``(rows, n)`` and scaled weights ``(n,)``)
Inputs = namedtuple("Inputs", "ar_pop ar_off ar_steps ar_rows ar_gain ar_vals "
                              "po_pop po_slot po_batched po_off po_woff po_key po_prob po_w")

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO53 = 1.0 / 9007199254740992.0


@njit(cache=True, nogil=True, inline="always")
def mix64(z):
    """SplitMix64's finaliser: a bijective 64-bit mix (uint64 in, uint64 out)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def uniform01(key, step, row, batch, j):
    """A uniform number in ``[0, 1)`` for (input ``key``, step, batch row, neuron ``j``)."""
    counter = (np.uint64(step) * np.uint64(batch) + np.uint64(row)) * np.uint64(4294967296) + np.uint64(j)
    return np.float64(mix64(key + counter * GOLDEN) >> np.uint64(11)) * _TWO53


def input_key(seed: int, k: int) -> np.uint64:
    """The generator key of Poisson input ``k`` of a run seeded with ``seed`` (Python integers:
    wrap-around arithmetic modulo 2**64)."""
    mask = 2 ** 64 - 1
    z = (int(seed) * int(GOLDEN) + (k + 1) * int(_M1)) & mask
    z = ((z ^ (z >> 30)) * int(_M1)) & mask
    z = ((z ^ (z >> 27)) * int(_M2)) & mask
    return np.uint64(z ^ (z >> 31))


@njit(cache=True, boundscheck=False, nogil=True)
def _add(dst, src):
    for i in range(dst.shape[0]):
        dst[i] += src[i]


@njit(cache=True, boundscheck=False, nogil=True)
def _add_scaled(dst, src, x):
    for i in range(dst.shape[0]):
        dst[i] += src[i] * x


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def _scatter(dst, indices, data, lo, hi, x):
    """``dst[indices[q]] += x data[q]`` for ``q`` in ``lo .. hi-1`` (no product when ``x`` is 1).
    Indices are taken as unsigned (they are never negative): numba then adds no wrap-around of
    negative indices to each access (4 instructions a synapse instead of ~15)."""
    if x == 1.0:
        for q in range(np.uint64(lo), np.uint64(hi)):
            dst[np.uint64(indices[q])] += data[q]
    else:
        for q in range(np.uint64(lo), np.uint64(hi)):
            dst[np.uint64(indices[q])] += data[q] * x


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def deliver(b, n, D, pops, conns, w, st, ring):
    """Deliver, for row ``b`` at the end of step ``n``, every connection's due events."""
    for c in range(conns.pre.shape[0]):
        g = conns.gain[c]
        if g == 0.0:
            continue
        pre = conns.pre[c]
        slot = (n - conns.delay[c] + 1) % D
        k = ring.cnt[slot, b, pre]
        if k == 0:
            continue
        poff = pops.off[pre]
        graded = pops.kind[pre] == 1
        npost = conns.n_post[c]
        dst = st.isyn[b, conns.rbase[c]:conns.rbase[c] + npost]
        idx = ring.idx[slot, b]
        val = ring.val[slot, b]
        if conns.kind[c] == 0:
            po = conns.ptr_off[c]
            for e in range(k):
                j = idx[poff + e]
                x = g * val[poff + e] if graded else g
                _scatter(dst, w.indices, w.data, w.indptr[po + j], w.indptr[po + j + 1], x)
        else:
            do = conns.dense_off[c]
            for e in range(k):
                j = idx[poff + e]
                row = w.dense[do + j * npost:do + (j + 1) * npost]
                x = g * val[poff + e] if graded else g
                if x == 1.0:
                    _add(dst, row)
                else:
                    _add_scaled(dst, row, x)


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def poisson(b, n, B, pops, inp, st):
    """Poisson input spikes of row ``b`` at the end of step ``n`` into their receptor slots."""
    isyn = st.isyn[b]
    for k in range(inp.po_pop.shape[0]):
        p = inp.po_pop[k]
        size = pops.size[p]
        base = inp.po_slot[k]
        off = inp.po_off[k] + (b * size if inp.po_batched[k] else 0)
        key = inp.po_key[k]
        for j in range(size):
            if uniform01(key, n, b, B, j) < inp.po_prob[off + j]:
                isyn[base + j] += inp.po_w[inp.po_woff[k] + j]


@njit(cache=True, boundscheck=False, nogil=True, inline="always")
def array_ext(b, n, p, pops, inp, st):
    """Sum the array inputs of population ``p`` due at step ``n`` into ``ext`` (row ``b``), in
    input order (``ext = v_1 g_1 + v_2 g_2 + ...``); return whether any was due."""
    off = pops.off[p]
    size = pops.size[p]
    ext = st.ext[b]
    first = True
    for k in range(inp.ar_pop.shape[0]):
        if inp.ar_pop[k] != p or n >= inp.ar_steps[k]:
            continue
        rows = inp.ar_rows[k]
        base = inp.ar_off[k] + (n * rows + (b if rows > 1 else 0)) * size
        g = inp.ar_gain[k]
        if first:
            for j in range(size):
                ext[off + j] = inp.ar_vals[base + j] * g
            first = False
        else:
            for j in range(size):
                ext[off + j] = ext[off + j] + inp.ar_vals[base + j] * g
    return not first
