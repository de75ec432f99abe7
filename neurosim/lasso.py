r"""Independent LASSO references: objective, KKT residual and a batched FISTA solver.

These are the ground truth the LCA family (:mod:`neurosim.models.lca`) is checked against; they
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
from typing import Optional, Union

import numpy as np

from .errors import NetworkError, describe

__all__ = ["lasso_objective", "kkt_residual", "fista", "lipschitz", "check_dictionary", "check_inputs",
           "check_lam", "check_codes"]

log = logging.getLogger(__name__)

Lam = Union[float, np.ndarray]


# ---------------------------------------------------------------------------------------------
# validation shared by the LCA family (raises NetworkError naming the argument)
def _numeric(name: str, value, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise NetworkError(describe(what, name, "is not an array", got=type(value).__name__,
                                    expected="a numeric array")) from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise NetworkError(describe(what, name, "is not real-valued numeric", got=f"dtype {arr.dtype}",
                                    expected="integer or floating point values"))
    arr = arr.astype(np.float64)
    if arr.size and not np.all(np.isfinite(arr)):
        raise NetworkError(describe(what, name, "contains NaN or inf",
                                    got=f"{int(arr.size - np.isfinite(arr).sum())} non-finite values",
                                    expected="finite values"))
    return arr


def check_dictionary(D, *, name: str = "D") -> np.ndarray:
    """Validate a dictionary: a finite real 2-D array ``(M, N)`` without zero atoms; returns float64."""
    D = _numeric(name, D, "dictionary")
    if D.ndim != 2 or 0 in D.shape:
        raise NetworkError(describe("dictionary", name, "must be a non-empty 2-D array (M, N), atoms in columns",
                                    got=f"shape {D.shape}", expected="(M, N)"))
    norms = np.linalg.norm(D, axis=0)
    if np.any(norms == 0):
        raise NetworkError(describe("dictionary", name, "has all-zero atoms (columns)",
                                    got=np.flatnonzero(norms == 0)[:5].tolist(), expected="non-zero columns"))
    return D


def check_inputs(X, M: int, *, name: str = "X") -> tuple[np.ndarray, bool]:
    """Validate inputs ``(batch, M)`` or one input ``(M,)``.

    Returns the inputs as a float64 ``(batch, M)`` array and whether a single vector was given.
    """
    X = _numeric(name, X, "inputs")
    single = X.ndim == 1
    if single:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != M or X.shape[0] == 0:
        raise NetworkError(describe("inputs", name, "must be (batch, M) or (M,) with M the dictionary's row count",
                                    got=f"shape {X.shape}", expected=f"(batch, {M}) or ({M},)"))
    return X, single


def check_lam(lam, N: int, *, name: str = "lam") -> np.ndarray:
    """Validate the penalty: a scalar or ``(N,)`` of finite values ``>= 0``; returns it broadcast to ``(N,)``."""
    arr = _numeric(name, lam, "parameter")
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != N):
        raise NetworkError(describe("parameter", name, "must be a scalar or one value per atom",
                                    got=f"shape {arr.shape}", expected=f"() or ({N},)"))
    if np.any(arr < 0):
        raise NetworkError(describe("parameter", name, "must be non-negative", got=float(arr.min()), expected=">= 0"))
    return np.broadcast_to(arr, (N,)).astype(np.float64)


def check_codes(A, batch: int, N: int, *, name: str = "A") -> np.ndarray:
    """Validate codes ``(batch, N)`` (or ``(N,)`` when ``batch == 1``)."""
    A = _numeric(name, A, "codes")
    if A.ndim == 1:
        A = A[None, :]
    if A.shape != (batch, N):
        raise NetworkError(describe("codes", name, "have the wrong shape", got=f"shape {A.shape}",
                                    expected=f"({batch}, {N})"))
    return A


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
    if nonneg:
        return np.maximum(V - thr, 0.0)
    return np.sign(V) * np.maximum(np.abs(V) - thr, 0.0)


def fista(D, X, lam: Lam, *, nonneg: bool = False, max_iter: int = 20000, tol: float = 1e-9,
          A0: Optional[np.ndarray] = None, restart: bool = True, return_info: bool = False):
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
    A0 : ndarray (batch, N), optional
        Warm start (projected onto ``a >= 0`` when ``nonneg``).
    restart : bool
        Adaptive momentum restart.
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
    batch, N = X.shape[0], D.shape[1]
    G = D.T @ D
    B = X @ D
    L = float(np.linalg.norm(D, 2) ** 2)
    thr = lam / L
    if A0 is None:
        A = np.zeros((batch, N))
    else:
        A = check_codes(A0, batch, N, name="A0").copy()
        A = _prox(A, 0.0, nonneg) if nonneg else A
    out = A.copy()
    iters = np.zeros(batch, dtype=np.int64)
    kkt = np.full(batch, np.inf)
    rows = np.arange(batch)
    gA = A @ G - B
    A_prev, gA_prev = A, gA
    t = np.ones(batch)
    beta = np.zeros(batch)
    res = _subgradient_residual(A, gA, lam, nonneg)
    for k in range(1, max_iter + 1):
        Y = A + beta[:, None] * (A - A_prev)
        gY = gA + beta[:, None] * (gA - gA_prev)
        A_new = _prox(Y - gY / L, thr, nonneg)
        gA_new = A_new @ G - B
        res = _subgradient_residual(A_new, gA_new, lam, nonneg)
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_new
        if restart:
            bad = np.einsum("bn,bn->b", Y - A_new, A_new - A) > 0
            t_new[bad] = 1.0
            beta[bad] = 0.0
        A_prev, gA_prev, A, gA, t = A, gA, A_new, gA_new, t_new
        done = res <= tol
        if k == max_iter:
            done[:] = True
        if done.any():
            idx = rows[done]
            out[idx] = A[done]
            iters[idx] = k
            kkt[idx] = res[done]
            keep = ~done
            if not keep.any():
                break
            rows, A, gA, A_prev, gA_prev = rows[keep], A[keep], gA[keep], A_prev[keep], gA_prev[keep]
            t, beta, B = t[keep], beta[keep], B[keep]
    converged = kkt <= tol
    if not converged.all():
        log.warning("fista: %d of %d rows did not reach the KKT tolerance %.3g in %d iterations (worst %.3g)",
                    int((~converged).sum()), batch, tol, max_iter, float(kkt.max()))
    codes = out[0] if single else out
    if return_info:
        return codes, {"iterations": iters, "kkt": kkt, "converged": converged}
    return codes
