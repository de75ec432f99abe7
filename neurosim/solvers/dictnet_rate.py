"""Fixed points of Lin & Tang's rate model, found directly (fast path for training).

With inputs ``x >= 0`` and ``B, a >= 0`` every input neuron is active, so at a fixed point
``b = (1 - gamma) x + gamma B a`` and the coding layer's conditions (Theorem 1 in the rate model)
are the linear complementarity problem::

    e = q - M a <= 0,   a >= 0,   e * a = 0,
    q = (1 - gamma) (F x - lam s),     M = H - gamma F B,

with ``e = u - theta a`` and ``u = -(1-gamma) lam s + F b - (H - diag H) a``. :func:`solve_lcp`
solves it for a batch of inputs by accelerated projected iterations::

    y = a_k + beta_k (a_k - a_{k-1});   a_{k+1} = max(0, y + (q - M y) / L)

with ``L`` an upper bound of ``||M||_2`` (power iteration), Nesterov momentum and an adaptive
restart (momentum reset when ``(y - a_{k+1}) . (a_{k+1} - a_k) > 0``); it stops when the largest
complementarity violation ``max_i (|e_i| if a_i > 0 else max(e_i, 0))`` is below ``tol`` times
``max(1, ||q||_inf)``. When ``M`` is symmetric positive definite this is projected accelerated
gradient on ``1/2 a^T M a - q^T a``; ``H`` is not symmetric in general but stays close to
``F B``, and convergence is checked, not assumed (the residual is returned).

:func:`rate_phase_stats` returns the same statistics as the network simulation
(:class:`~neurosim.builders.dictnet.DictNetRunner` with ``model="rate"``).
"""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np

from neurosim.builders.dictnet import CODING, INPUT, PHASES, DictNetParams
from neurosim.errors import NetworkError, SimulationError, describe

__all__ = ['solve_lcp', 'spectral_bound', 'rate_fixed_point', 'rate_phase_stats']

log = logging.getLogger(__name__)


def spectral_bound(M: np.ndarray, *, iters: int = 30, v0: Optional[np.ndarray] = None) -> float:
    """An estimate of ``||M||_2`` by power iteration on ``M^T M``, inflated by 5 % for safety."""
    n = M.shape[0]
    v = np.ones(n) / np.sqrt(n) if v0 is None else v0 / max(np.linalg.norm(v0), 1e-300)
    s = 0.0
    for _ in range(iters):
        w = M.T @ (M @ v)
        s_new = np.linalg.norm(w)
        if s_new == 0:
            return 1.0
        v = w / s_new
        if abs(s_new - s) <= 1e-6 * s_new:
            s = s_new
            break
        s = s_new
    return 1.05 * float(np.sqrt(s))


def _violation(A: np.ndarray, E: np.ndarray) -> np.ndarray:
    return np.where(A > 0, np.abs(E), np.maximum(E, 0.0)).max(axis=1)


def _solve_supports(M: np.ndarray, Q: np.ndarray, S: np.ndarray) -> Optional[np.ndarray]:
    """For every row ``r``: ``a_S = M_SS^{-1} q_S`` on the support ``S[r]``, zero elsewhere.

    One batched solve: the principal submatrices are gathered into ``(batch, k, k)`` arrays
    (``k`` the largest support), padded with identity rows/columns. ``None`` if one is singular.
    """
    batch, N = S.shape
    k = S.sum(axis=1)
    kmax = int(k.max())
    out = np.zeros_like(Q)
    if kmax == 0:
        return out
    idx = np.argsort(~S, axis=1, kind="stable")[:, :kmax]  # support entries first
    valid = np.arange(kmax)[None, :] < k[:, None]
    sub = M[idx[:, :, None], idx[:, None, :]]
    both = valid[:, :, None] & valid[:, None, :]
    sub = np.where(both, sub, np.eye(kmax)[None])
    rhs = np.where(valid, np.take_along_axis(Q, idx, axis=1), 0.0)
    try:
        sol = np.linalg.solve(sub, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return None
    rows = np.broadcast_to(np.arange(batch)[:, None], idx.shape)
    out[rows[valid], idx[valid]] = sol[valid]
    return out


def _polish(M: np.ndarray, Q: np.ndarray, A: np.ndarray, *, tol: np.ndarray, pivots: int = 8
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact solutions by block principal pivoting started from the supports of ``A`` (batched).

    Each round solves ``M_SS a_S = q_S`` on the guessed supports ``S``, then drops the entries
    that came out negative and adds those whose slack ``e_i = q_i - (M a)_i`` exceeds ``tol``.
    Returns ``(A_new, E_new, found)``: rows where no entry moved within ``pivots`` rounds (or a
    singular submatrix) are not ``found``.
    """
    S = A > 0
    A_out, E_out = A.copy(), np.zeros_like(A)
    found = np.zeros(len(A), dtype=bool)
    todo = np.arange(len(A))
    for _ in range(pivots):
        sol = _solve_supports(M, Q[todo], S)
        if sol is None:
            break
        e = Q[todo] - sol @ M.T
        neg = S & (sol < 0)
        pos = ~S & (e > tol[todo, None])
        ok = ~(neg.any(axis=1) | pos.any(axis=1))
        A_out[todo[ok]], E_out[todo[ok]], found[todo[ok]] = sol[ok], e[ok], True
        S = ((S & ~neg) | pos)[~ok]
        todo = todo[~ok]
        if todo.size == 0:
            break
    return A_out, E_out, found


def solve_lcp(M: np.ndarray, Q: np.ndarray, *, A0: Optional[np.ndarray] = None, tol: float = 1e-8,
              max_iter: int = 5000, L: Optional[float] = None, polish_every: int = 25
              ) -> tuple[np.ndarray, np.ndarray, int]:
    """Solve ``a >= 0, q - M a <= 0, a (q - M a) = 0`` for every row ``q`` of ``Q`` (batch, N).

    Accelerated projected iterations (module docstring); every ``polish_every`` iterations each
    unfinished row also tries the exact solution on its current support (``M_SS a_S = q_S``),
    accepted only if it satisfies the stopping test -- the iterations find the support, the
    linear solve removes the slow tail that ill-conditioned (coherent) dictionaries cause.
    Returns ``(A, E, iterations)`` with ``E = Q - A M^T`` and the iteration count of the slowest row.
    """
    Q = np.asarray(Q, dtype=np.float64)
    batch, N = Q.shape
    if L is None:
        L = spectral_bound(M)
    Mt = np.ascontiguousarray(M.T)
    A = np.zeros((batch, N)) if A0 is None else np.maximum(np.array(A0, dtype=np.float64), 0.0)
    E = Q - A @ Mt
    scale = tol * np.maximum(1.0, np.abs(Q).max(axis=1))
    blowup = 1e6 * (1.0 + float(np.abs(Q).max()) / max(float(np.abs(np.diag(M)).min()), 1e-12))
    out_A, out_E = A.copy(), E.copy()
    rows = np.arange(batch)
    Qk = Q
    A_prev, E_prev = A, E
    t = np.ones(batch)
    beta = np.zeros(batch)
    it = 0
    done = _violation(A, E) <= scale
    for it in range(0, max_iter + 1):
        if it > 0:
            Y = A + beta[:, None] * (A - A_prev)
            EY = E + beta[:, None] * (E - E_prev)  # e is affine in a
            A_new = np.maximum(Y + EY / L, 0.0)
            E_new = Qk - A_new @ Mt
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            beta = (t - 1.0) / t_new
            bad = np.einsum("bn,bn->b", Y - A_new, A_new - A) > 0
            t_new[bad] = 1.0
            beta[bad] = 0.0
            A_prev, E_prev, A, E, t = A, E, A_new, E_new, t_new
            done = _violation(A, E) <= scale
            if not np.all(np.abs(A) < blowup):  # no bounded solution (M far from positive definite)
                raise SimulationError(describe(
                    "rate model", "fixed point", "the coding rates diverge (no bounded fixed point)",
                    got=f"|a| > {blowup:.3g} after {it} iterations",
                    expected="H close to a positive definite matrix (lower the learning rates eta_d or eta_h_ratio)"))
        if polish_every and (it % polish_every == 0 if it else A0 is not None):
            rows_left = np.flatnonzero(~done)
            if rows_left.size:
                cand, e, found = _polish(M, Qk[rows_left], A[rows_left], tol=scale[rows_left])
                good = found & (_violation(cand, e) <= scale[rows_left])
                r = rows_left[good]
                A[r], E[r], done[r] = cand[good], e[good], True
        if it == max_iter and not done.all():
            log.warning("solve_lcp: %d of %d rows did not converge in %d iterations", int((~done).sum()), batch, it)
            done[:] = True
        if done.any():
            out_A[rows[done]] = A[done]
            out_E[rows[done]] = E[done]
            keep = ~done
            if not keep.any():
                break
            rows, A, E, A_prev, E_prev, t, beta, scale, Qk = (rows[keep], A[keep], E[keep], A_prev[keep], E_prev[keep],
                                                              t[keep], beta[keep], scale[keep], Qk[keep])
    return out_A, out_E, it


def rate_fixed_point(params: DictNetParams, X: np.ndarray, *, lam: float, gamma: float,
                     A0: Optional[np.ndarray] = None, tol: float = 1e-8, max_iter: int = 5000,
                     L: Optional[float] = None) -> dict[str, np.ndarray]:
    """The rate model's fixed point at feedback ``gamma`` for inputs ``X`` (batch, M), ``X >= 0``.

    Returns ``{"a", "e", "u", "b", "iterations"}``: coding rates, ``e = u - theta a``, coding
    currents ``u = e + theta a`` and input rates ``b``.
    """
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if np.any(X < 0):
        raise NetworkError(describe("dictnet", "rate", "inputs must be non-negative", got=float(X.min()), expected=">= 0"))
    FB = params.F @ params.B
    M = params.H - gamma * FB
    Q = (1.0 - gamma) * (X @ params.F.T - lam * params.s)
    A, E, iters = solve_lcp(M, Q, A0=A0, tol=tol, max_iter=max_iter, L=L)
    b = (1.0 - gamma) * X + gamma * A @ params.B.T
    u = E + A * params.theta
    return {"a": A, "e": E, "u": u, "b": b, "iterations": iters}


def rate_phase_stats(params: DictNetParams, X: np.ndarray, *, lam: float, kappa: float, tol: float = 1e-8,
                     max_iter: int = 5000) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Both phases' statistics, same layout as :meth:`DictNetRunner.phases` (rate model).

    Phase kappa is warm-started from phase 0's code (as the network is).
    """
    out = {}
    A0 = None
    L = spectral_bound(params.H)  # ||H - gamma F B|| <= this (roughly) for H ~ F B; checked per phase below
    for phase, gamma in zip(PHASES, (0.0, kappa)):
        Lg = L if gamma == 0 else spectral_bound(params.H - gamma * params.F @ params.B)
        fp = rate_fixed_point(params, X, lam=lam, gamma=gamma, A0=A0, tol=tol, max_iter=max_iter, L=Lg)
        A0 = fp["a"]
        out[phase] = {INPUT: {"rate": fp["b"], "mean_current": fp["b"]},
                      CODING: {"rate": fp["a"], "mean_current": fp["u"]}}
    return out

