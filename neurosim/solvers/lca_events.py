"""Event-driven analog LCA, compiled (numba): inhibition only from the active neurons, each input
stops once its code has settled.

For one input (row), with ``r = dt / tau``, ``b = D^T x`` and ``G = D^T D - I``::

    a = T_lam(u);   c = sum_{j : a_j != 0} a_j G[j, :];   du = r (b - u - c);   u <- u + du

the Euler step of :func:`neurosim.solvers.lca.analog_lca`, except that the lateral input ``c``
reads only the rows of ``G`` of the neurons with a non-zero output (an event), so a step costs
``O(N (1 + active))`` instead of ``O(N^2)``; fewer than 5 % of the neurons are active in a sparse
code. An input stops as soon as ``max_i |du_i| <= tol r``, i.e. its fixed-point residual
``|b - u - G a|_inf`` is at most ``tol``: easy inputs (few active atoms, small residuals) take
few steps, hard ones more. Rows run in parallel threads (numba ``prange``); nothing couples them.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["THRESHOLD_KINDS", "lca_events"]

#: threshold name -> kernel code
THRESHOLD_KINDS = {"soft": 0, "nonneg": 1, "hard": 2}


@njit(cache=True, boundscheck=False, nogil=True)
def _threshold(u, lam, kind, a):
    """``a = T_lam(u)`` (branch-free, vectorised)."""
    for i in range(u.shape[0]):
        x = u[i]
        if kind == 0:
            a[i] = np.sign(x) * max(abs(x) - lam[i], 0.0)
        elif kind == 1:
            a[i] = max(x - lam[i], 0.0)
        else:
            a[i] = x * (abs(x) > lam[i])


@njit(cache=True, boundscheck=False, nogil=True)
def _events(a, active):
    """Indices of the non-zero outputs into ``active``; returns their number."""
    k = 0
    for i in range(a.shape[0]):
        if a[i] != 0.0:
            active[k] = i
            k += 1
    return k


@njit(cache=True, boundscheck=False, nogil=True)
def _lateral(G, a, active, k, c):
    """``c = sum_e a[active[e]] G[active[e]]``: the rows of the active neurons only, four at a time."""
    c[:] = 0.0
    full = (k // 4) * 4
    for e in range(0, full, 4):
        r0, r1, r2, r3 = G[active[e]], G[active[e + 1]], G[active[e + 2]], G[active[e + 3]]
        a0, a1, a2, a3 = a[active[e]], a[active[e + 1]], a[active[e + 2]], a[active[e + 3]]
        for i in range(c.shape[0]):
            c[i] += a0 * r0[i] + a1 * r1[i] + a2 * r2[i] + a3 * r3[i]
    for e in range(full, k):
        row = G[active[e]]
        x = a[active[e]]
        for i in range(c.shape[0]):
            c[i] += x * row[i]


@njit(cache=True, boundscheck=False, nogil=True)
def _euler(u, b, c, r, limit):
    """``u <- u + r (b - u - c)``; returns ``(moves, bad)``: how many ``|du| > limit`` and how many
    non-finite (integer counts: the loop vectorises)."""
    moves = 0
    bad = 0
    for i in range(u.shape[0]):
        du = r * (b[i] - u[i] - c[i])
        x = u[i] + du
        u[i] = x
        moves += np.int64(abs(du) > limit)
        bad += np.int64((x - x) != 0.0)
    return moves, bad


@njit(cache=True, boundscheck=False, nogil=True)
def _row(G, b, u, lam, kind, r, steps, tol):
    N = u.shape[0]
    a = np.zeros(N, u.dtype)
    c = np.zeros(N, u.dtype)
    active = np.zeros(N, np.int64)
    _threshold(u, lam, kind, a)
    k = _events(a, active)
    limit = tol * r
    events = 0
    for s in range(steps):
        _lateral(G, a, active, k, c)
        events += k
        moves, bad = _euler(u, b, c, r, limit)
        if bad > 0:
            return -(s + 1), events
        _threshold(u, lam, kind, a)
        k = _events(a, active)
        if moves == 0:
            return s + 1, events
    return steps, events


@njit(cache=True, parallel=True)
def lca_events(G, B, U, lam, kind, r, steps, tol, done, events):
    """Run every row of ``U`` (in place) from its current state, each until ``max |du| <= tol r``
    (a negative ``tol`` never stops early) or ``steps``; ``done[b]`` receives the steps row ``b``
    took (negative: diverged at that step), ``events[b]`` its non-zero outputs summed over the
    steps (the lateral rows it read)."""
    for b in prange(U.shape[0]):
        done[b], events[b] = _row(G, B[b], U[b], lam, kind, r, steps, tol)
