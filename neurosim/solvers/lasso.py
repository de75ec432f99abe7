"""Independent LASSO references: objective, KKT residual and a batched FISTA solver.

These are the ground truth the LCA family (:mod:`neurosim.builders.lca`) is checked against; they
use plain numpy linear algebra and share no code with the networks.

Problem, for a dictionary ``D`` of shape ``(M, N)`` (atoms ``d_i`` in the columns), one input
``x`` (a row of ``X``, shape ``(M,)``) and a penalty ``lam >= 0`` (a scalar or one weight per
atom, shape ``(N,)``)::

    minimise_a  F(a) = 1/2 ||x - D a||^2 + sum_i lam_i |a_i|        (signed LASSO)
    subject to  a >= 0                                               (``nonneg=True``: CLASSO)

Optimality (KKT) conditions, with the residual correlation ``c = D^T (x - D a)``:

* signed:   ``c_i = lam_i sign(a_i)`` where ``a_i != 0`` and ``|c_i| <= lam_i`` where ``a_i = 0``;
* nonneg:   ``a_i >= 0``, ``c_i = lam_i`` where ``a_i > 0`` and ``c_i <= lam_i`` where ``a_i = 0``.

:func:`kkt_residual` is the largest violation of these conditions; it equals the infinity norm
of the minimum-norm element of the subdifferential of ``F`` (the projected gradient), so it is
zero exactly at the optimum and is the stopping criterion of :func:`fista`.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Union

import numpy as np

from neurosim.errors import NetworkError, describe
from neurosim.validation.checks import check_codes, check_dictionary, check_inputs, check_lam

__all__ = ['lasso_objective', 'kkt_residual', 'duality_gap', 'fista', 'lipschitz']

log = logging.getLogger(__name__)
Lam = Union[float, np.ndarray]


def _problem(D, X, lam):
    D = check_dictionary(D)
    X, single = check_inputs(X, D.shape[0])
    return D, X, check_lam(lam, D.shape[1]), single


# ---------------------------------------------------------------------------------------------
def lasso_objective(D, X, A, lam: Lam, *, nonneg: bool = False) -> np.ndarray:
    r"""LASSO objective of each code: ``F(a) = 1/2 ||x - D a||^2 + sum_i lam_i |a_i|``.

    Parameters
    ----------
    D : ndarray (M, N)
        Dictionary, atoms in columns.
    X : ndarray (batch, M) or (M,)
        Inputs, one per row.
    A : ndarray (batch, N) or (N,)
        Codes, one per row.
    lam : float or ndarray (N,)
        Penalty weight(s), ``>= 0``.
    nonneg : bool
        Non-negative problem: a code with a negative entry is infeasible and gets ``inf``.

    Returns
    -------
    ndarray (batch,)
        The objective of each row (``inf`` for infeasible rows).
    """
    D, X, lam, _ = _problem(D, X, lam)
    A = check_codes(A, X.shape[0], D.shape[1])
    R = X - A @ D.T
    obj = 0.5 * np.einsum("bm,bm->b", R, R) + np.abs(A) @ lam
    if nonneg:
        obj[np.any(A < 0, axis=1)] = np.inf
    return obj


def _subgradient_residual(A: np.ndarray, grad: np.ndarray, lam: np.ndarray, nonneg: bool) -> np.ndarray:
    """Per-row infinity norm of the minimum-norm subgradient; ``grad = -D^T (x - D a) = -c``."""
    if nonneg:
        on = A > 0
        viol = np.where(on, np.abs(grad + lam), np.maximum(-grad - lam, 0.0))
        viol = np.where(A < 0, np.inf, viol)
    else:
        on = A != 0
        viol = np.where(on, np.abs(grad + lam * np.sign(A)), np.maximum(np.abs(grad) - lam, 0.0))
    return viol.max(axis=1)


def kkt_residual(D, X, A, lam: Lam, *, nonneg: bool = False) -> np.ndarray:
    r"""Largest violation of the LASSO optimality conditions, per input.

    With the residual correlation ``c = D^T (x - D a)``::

        signed:  r = max_i { |c_i - lam_i sign(a_i)|      if a_i != 0
                           { max(|c_i| - lam_i, 0)        if a_i == 0
        nonneg:  r = max_i { |c_i - lam_i|                if a_i > 0
                           { max(c_i - lam_i, 0)          if a_i == 0
                           { inf                          if a_i < 0 (infeasible)

    ``r`` is the infinity norm of the minimum-norm subgradient of ``F`` at ``a`` (the projected
    gradient); ``r = 0`` exactly at the optimum. Units: those of ``c`` (input times atom).

    Returns
    -------
    ndarray (batch,)
    """
    D, X, lam, _ = _problem(D, X, lam)
    A = check_codes(A, X.shape[0], D.shape[1])
    grad = -(X - A @ D.T) @ D
    return _subgradient_residual(A, grad, lam, nonneg)


def lipschitz(D) -> float:
    """Lipschitz constant of the gradient of ``1/2 ||x - D a||^2``: ``||D||_2^2`` (spectral norm squared)."""
    D = check_dictionary(D)
    return float(np.linalg.norm(D, 2) ** 2)


def _prox(V: np.ndarray, thr: np.ndarray, nonneg: bool) -> np.ndarray:
    """Soft threshold ``sign(v) max(|v| - thr, 0)`` or, ``nonneg``, ``max(v - thr, 0)``."""
    if nonneg:
        out = V - thr
        return np.maximum(out, 0, out=out)
    out = np.abs(V)
    out -= thr
    np.maximum(out, 0, out=out)
    return np.copysign(out, V, out=out)


def duality_gap(D, X, A, lam: Lam, *, nonneg: bool = False) -> np.ndarray:
    r"""Duality gap of each code, an upper bound on ``F(a) - F(a*)``.

    With ``r = x - D a`` and ``c = D^T r``, the dual point ``theta = s r``,
    ``s = min(1, min_i lam_i / |c_i|)`` (non-negative problem: over ``c_i > 0`` only) is dual
    feasible, and ``gap = F(a) - (x^T theta - 1/2 ||theta||^2) >= F(a) - F(a*) >= 0``.
    Infeasible codes (negative entries when ``nonneg``) get ``inf``.

    Returns
    -------
    ndarray (batch,)
    """
    D, X, lam, _ = _problem(D, X, lam)
    A = check_codes(A, X.shape[0], D.shape[1])
    B = X @ D
    return _gap(A, A @ (D.T @ D) - B, B, np.einsum("bm,bm->b", X, X), lam, nonneg)[0]


def _gap(A: np.ndarray, gA: np.ndarray, B: np.ndarray, xx: np.ndarray, lam: np.ndarray,
         nonneg: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (duality gap, primal objective) from ``gA = A G - B`` (no product with ``D``)."""
    aB = np.einsum("bn,bn->b", A, B)
    rr = np.maximum(xx - aB + np.einsum("bn,bn->b", A, gA), 0.0)  # ||x - D a||^2
    xr = xx - aB                                                   # x^T (x - D a)
    c = -gA
    cmax = (np.maximum(c, 0.0) if nonneg else np.abs(c)) / np.where(lam > 0, lam, np.inf)
    with np.errstate(divide="ignore"):
        s = np.minimum(1.0, 1.0 / cmax.max(axis=1))
    if np.any(lam == 0):  # no penalty on some atom: theta must be orthogonal to it
        s = np.where(np.any((lam == 0) & ((c > 0) if nonneg else (c != 0)), axis=1), 0.0, s)
    primal = 0.5 * rr + np.abs(A) @ lam
    dual = s * xr - 0.5 * s * s * rr
    gap = primal - dual
    if nonneg:
        gap[np.any(A < 0, axis=1)] = np.inf
    return gap, primal


#: adaptive step: first per-row Lipschitz estimate (fraction of ||D||_2^2) and per-iteration decay
ADAPT_START = 0.25


ADAPT_SHRINK = 0.9


def _polish(A: np.ndarray, G: np.ndarray, B: np.ndarray, lam: np.ndarray, nonneg: bool) -> tuple[np.ndarray, np.ndarray]:
    """Exact solve on each row's current support ``S`` and signs ``s``.

    ``a_S = G_SS^{-1} (b_S - lam_S s_S)``, ``a = 0`` off ``S`` (the optimum if ``S``, ``s`` are
    right). Returns the candidates and a mask of the rows whose solution kept the signs ``s``
    (rows are grouped by support size and solved as stacked systems).
    """
    mask = A != 0
    size = mask.sum(axis=1)
    P = np.zeros_like(A)
    ok = np.zeros(A.shape[0], dtype=bool)
    for k in np.unique(size):
        rows = np.flatnonzero(size == k)
        if k == 0:
            ok[rows] = True
            continue
        S = np.nonzero(mask[rows])[1].reshape(rows.size, k)
        sgn = np.sign(A[rows[:, None], S])
        rhs = B[rows[:, None], S] - lam[S] * sgn
        try:
            a = np.linalg.solve(G[S[:, :, None], S[:, None, :]], rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a singular support: leave these rows to FISTA
            continue
        good = np.all(np.sign(a) == sgn, axis=1) & np.all(np.isfinite(a), axis=1)
        P[rows[:, None], S] = np.where(good[:, None], a, 0.0)
        ok[rows] = good
    return P, ok


def fista(D, X, lam: Lam, *, nonneg: bool = False, max_iter: int = 20000, tol: float = 1e-9,
          gap_tol: Optional[float] = None, A0: Optional[np.ndarray] = None, restart: bool = True,
          polish_every: int = 10, check_every: int = 1, adaptive: bool = True, dtype: Any = np.float64,
          return_info: bool = False):
    r"""Solve the (non-negative) LASSO for every row of ``X`` with FISTA (Beck & Teboulle 2009).

    Iteration, with ``L = ||D||_2^2``, ``G = D^T D``, ``B = X D`` (rows ``b = D^T x``) and the
    gradient ``g(a) = G a - b`` (batched as ``A G - B``)::

        a_{k+1} = prox_{lam/L}( y_k - g(y_k) / L )           # soft threshold, or max(. - lam/L, 0)
        t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2
        y_{k+1} = a_{k+1} + (t_k - 1)/t_{k+1} (a_{k+1} - a_k)

    Because ``g`` is affine, ``g(y)`` is the same combination of ``g(a_{k+1})`` and ``g(a_k)``, so
    each iteration costs one product with ``G``. With ``restart`` the momentum of a row is reset
    (``t = 1``) when ``(y_k - a_{k+1}) . (a_{k+1} - a_k) > 0`` (adaptive gradient restart,
    O'Donoghue & Candes 2015). A row stops when its :func:`kkt_residual` (the projected gradient
    norm, computed from ``g(a_{k+1})`` at no extra cost) is ``<= tol``; the run stops when every
    row has, or after ``max_iter`` iterations (then a warning is logged).

    Support polishing (``polish_every > 0``): every ``polish_every`` iterations each running row
    whose support did not change since the previous attempt also tries the exact solution on
    its current support ``S`` and signs ``s``,
    ``a_S = (D_S^T D_S)^{-1} (D_S^T x - lam_S s)``, and takes it when its KKT residual is
    ``<= tol``. FISTA finds the support long before it converges on coherent dictionaries,
    so this ends the run early; acceptance is by the same KKT test, so the answer is as exact.

    Parameters
    ----------
    D : ndarray (M, N)
    X : ndarray (batch, M) or (M,)
    lam : float or ndarray (N,)
    nonneg : bool
        Solve the non-negative LASSO.
    max_iter : int
        Iteration budget per row.
    tol : float
        Stopping threshold on the KKT residual (units of ``D^T x``).
    gap_tol : float, optional
        Also stop a row once its :func:`duality_gap` is ``<= gap_tol * F(a)``: a guaranteed
        relative objective gap (computed from ``g(a)`` without another product).
    A0 : ndarray (batch, N), optional
        Warm start (projected onto ``a >= 0`` when ``nonneg``).
    restart : bool
        Adaptive momentum restart.
    polish_every : int
        Iterations between support-polishing attempts (0: never).
    adaptive : bool
        Per-row step ``1/L_b`` by backtracking instead of the global ``1/||D||_2^2``: ``L_b``
        starts at ``||D||_2^2 / 4``, decays by 0.9 per iteration, and is raised (at most to
        ``||D||_2^2``, always safe) whenever ``d^T G d > L_b ||d||^2`` for the step
        ``d = a_{k+1} - y_k`` (exact sufficient decrease, since the loss is quadratic); the step
        is then redone. Sparse iterates see a much smaller local curvature than ``||D||_2^2``.
    check_every : int
        Iterations between stopping tests (a row may run up to ``check_every - 1`` extra).
    dtype : float64 or float32
        Arithmetic precision; float32 halves the cost and suits tolerances well above its
        rounding (``tol`` >~ 1e-5 of ``max |D^T x|``). The codes are returned as float64.
    return_info : bool
        Also return ``{"iterations": (batch,), "kkt": (batch,), "converged": (batch,)}``.

    Returns
    -------
    ndarray (batch, N), or (N,) for a single input vector
        The codes (and the info dict when ``return_info``).
    """
    D, X, lam, single = _problem(D, X, lam)
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise NetworkError(describe("parameter", "max_iter", "must be a positive integer", got=max_iter, expected=">= 1"))
    if not (np.isfinite(tol) and tol >= 0):
        raise NetworkError(describe("parameter", "tol", "must be a finite number >= 0", got=tol, expected=">= 0"))
    if gap_tol is not None and not (np.isfinite(gap_tol) and gap_tol >= 0):
        raise NetworkError(describe("parameter", "gap_tol", "must be a finite number >= 0", got=gap_tol, expected=">= 0"))
    if isinstance(polish_every, bool) or not isinstance(polish_every, (int, np.integer)) or polish_every < 0:
        raise NetworkError(describe("parameter", "polish_every", "must be an integer >= 0", got=polish_every,
                                    expected=">= 0"))
    if isinstance(check_every, bool) or not isinstance(check_every, (int, np.integer)) or check_every < 1:
        raise NetworkError(describe("parameter", "check_every", "must be a positive integer", got=check_every,
                                    expected=">= 1"))
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise NetworkError(describe("parameter", "dtype", "unsupported dtype", got=dt, expected="float64 or float32"))
    batch, N = X.shape[0], D.shape[1]
    G = (D.T @ D).astype(dt)
    with np.errstate(over="ignore", invalid="ignore"):
        B = (X @ D).astype(dt)
        xx = np.einsum("bm,bm->b", X, X).astype(dt)
    if not (np.all(np.isfinite(xx)) and np.all(np.isfinite(B))):
        raise NetworkError(describe("inputs", "X", f"too large for {dt} arithmetic: ||x||^2 or X D overflows",
                                    got=f"max |x| {float(np.max(np.abs(X))):.3g}",
                                    expected="inputs scaled so that ||x||^2 is finite"))
    L = float(np.linalg.norm(D, 2) ** 2)
    lam_t = lam.astype(dt)
    if A0 is None:
        A = np.zeros((batch, N), dtype=dt)
    else:
        A = check_codes(A0, batch, N, name="A0").astype(dt)
        A = _prox(A, dt.type(0), nonneg) if nonneg else A
    out = A.astype(np.float64)
    iters = np.zeros(batch, dtype=np.int64)
    kkt = np.full(batch, np.inf)
    converged = np.zeros(batch, dtype=bool)
    rows = np.arange(batch)
    gA = A @ G - B
    A_prev, gA_prev = A, gA
    t = np.ones(batch, dtype=dt)
    beta = np.zeros(batch, dtype=dt)
    uniform = bool(np.all(lam == lam[0]))
    Lrow = np.full(batch, L if not adaptive else L * ADAPT_START, dtype=dt)
    last_support = np.zeros((batch, N), dtype=bool)

    def step(Y, gY, Lr, B_):
        """Proximal gradient step from ``Y`` with per-row ``Lr``; returns a, g(a), a - Y and the
        Rayleigh quotient numerator/denominator of G along a - Y."""
        inv = (1.0 / Lr)[:, None]
        V = gY * inv
        np.subtract(Y, V, out=V)
        An = _prox(V, lam_t[0] * inv if uniform else lam_t[None, :] * inv, nonneg)
        gAn = An @ G
        gAn -= B_
        d = An - Y
        if not adaptive:
            return An, gAn, d, None, None
        num = np.einsum("bn,bn->b", d, gAn - gY)
        den = np.einsum("bn,bn->b", d, d)
        return An, gAn, d, num, den

    for k in range(1, max_iter + 1):
        diff = A - A_prev
        diff *= beta[:, None]
        Y = A + diff
        gdiff = gA - gA_prev
        gdiff *= beta[:, None]
        gY = gA + gdiff
        gdiff = None
        A_new, gA_new, d, num, den = step(Y, gY, Lrow, B)
        if adaptive:
            # backtracking: the step is safe when d^T G d <= L ||d||^2 (f is quadratic)
            for attempt in range(2):
                bad = num > Lrow * den * (1 + 1e-4)
                if not bad.any():
                    break
                Lrow[bad] = np.minimum(L, np.maximum(2 * Lrow[bad], num[bad] / den[bad])) if attempt == 0 else L
                A_new[bad], gA_new[bad], d[bad], num[bad], den[bad] = step(Y[bad], gY[bad], Lrow[bad], B[bad])
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_new
        if restart:
            np.subtract(A_new, A, out=diff)
            bad = np.einsum("bn,bn->b", d, diff) < 0  # (y - a_new) . (a_new - a) > 0
            t_new[bad] = 1.0
            beta[bad] = 0.0
        if adaptive:
            Lrow = np.maximum(Lrow * ADAPT_SHRINK, L * 1e-3).astype(dt)
        A_prev, gA_prev, A, gA, t = A, gA, A_new, gA_new, t_new
        polish = polish_every and k % polish_every == 0
        if not (polish or k % check_every == 0 or k == max_iter):
            continue
        res = _subgradient_residual(A, gA, lam_t, nonneg)
        if polish:
            # polish the rows whose support has not changed since the last attempt
            support = A != 0
            try_rows = np.flatnonzero((res > tol) & np.all(support == last_support, axis=1))
            last_support = support
            P, ok = _polish(A[try_rows], G, B[try_rows], lam_t, nonneg)
            try_rows, P = try_rows[ok], P[ok]
            if try_rows.size:
                gP = P @ G - B[try_rows]
                resP = _subgradient_residual(P, gP, lam_t, nonneg)
                acc = resP <= tol
                take = try_rows[acc]
                A[take], gA[take], res[take] = P[acc], gP[acc], resP[acc]
        met = res <= tol
        if gap_tol is not None:
            gap, primal = _gap(A, gA, B, xx, lam_t, nonneg)
            met |= gap <= gap_tol * primal
        done = met.copy() if k < max_iter else np.ones_like(met)
        if done.any():
            idx = rows[done]
            out[idx] = A[done]
            iters[idx] = k
            kkt[idx] = res[done]
            converged[idx] = met[done]
            keep = ~done
            if not keep.any():
                break
            rows, A, gA, A_prev, gA_prev = rows[keep], A[keep], gA[keep], A_prev[keep], gA_prev[keep]
            last_support = last_support[keep]
            t, beta, B, xx, Lrow = t[keep], beta[keep], B[keep], xx[keep], Lrow[keep]
    if not converged.all():
        log.warning("fista: %d of %d rows met neither tolerance (KKT %.3g) in %d iterations (worst KKT %.3g)",
                    int((~converged).sum()), batch, tol, max_iter, float(kkt.max()))
    codes = out[0] if single else out
    if return_info:
        return codes, {"iterations": iters, "kkt": kkt, "converged": converged}
    return codes

