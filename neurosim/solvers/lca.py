"""Pure numerics of the LCA family (no network, no backend): the sign split, the Gram matrix and
the analog LCA integrated directly (event-driven, compiled: :mod:`neurosim.solvers.lca_events`).

Analog LCA (Rozell et al. 2008), batched over input rows, forward Euler with ``r = dt / tau``::

    u <- u + r (b - u - G a),   b = D^T x,   G = D^T D - I,   a = T_lam(u)

with ``T`` the soft (LASSO), one-sided (non-negative LASSO) or hard threshold. Its fixed points
satisfy the LASSO KKT conditions for any atom norms. The same equations run as a network through
:func:`neurosim.builders.lca.build_analog_lca` (the engine's check); the spiking form and its
decoding are documented in :mod:`neurosim.builders.lca`.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Union

import numpy as np

from neurosim.errors import NetworkError, describe
from neurosim.neurons import threshold_function
from neurosim.validation.checks import check_dictionary, check_inputs, check_lam

__all__ = ['sign_split', 'analog_lca', 'gram', 'lca_gram']

log = logging.getLogger(__name__)


Lam = Union[float, np.ndarray]


def _problem(D, X, lam):
    D = check_dictionary(D)
    X, single = check_inputs(X, D.shape[0])
    return D, X, check_lam(lam, D.shape[1]), single


def _steps(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise NetworkError(describe("parameter", name, f"must be an integer >= {minimum}", got=value,
                                    expected=f">= {minimum}"))
    return int(value)


def _positive(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (np.isfinite(v) and v > 0):
        raise NetworkError(describe("parameter", name, "must be a positive number", got=value, expected="> 0"))
    return v


def sign_split(D: np.ndarray) -> np.ndarray:
    """The sign-split dictionary ``[D, -D]`` (``M x 2N``): signed LASSO as a non-negative one."""
    return np.concatenate([D, -D], axis=1)


# ---------------------------------------------------------------------------------------------
# analog LCA
def gram(D: np.ndarray) -> np.ndarray:
    r"""``G = D^T D`` with the entries that are zero up to rounding set to exactly zero.

    A computed dot product of two ``m``-vectors differs from the exact one by at most
    ``gamma_m |d_i|^T |d_j| <= gamma_m ||d_i|| ||d_j||`` with ``gamma_m ~ m u`` (Higham 2002,
    §3.1; ``u`` the unit roundoff). Entries with

    .. math:: |G_{ij}| \le m\,\epsilon\,\lVert d_i\rVert\,\lVert d_j\rVert

    (``epsilon = 2u``, machine epsilon) cannot be told from zero, and orthogonal atoms (a DCT
    dictionary's) produce exactly such entries (~1e-17): kept, each would be a stored synapse and a
    synaptic event per spike on a chip that never stores it (they quantise to zero).
    """
    D = np.asarray(D, dtype=np.float64)
    G = D.T @ D
    norms = np.sqrt(np.einsum("ij,ij->j", D, D))
    tol = D.shape[0] * np.finfo(np.float64).eps * np.outer(norms, norms)
    G[np.abs(G) <= tol] = 0.0
    return G


def lca_gram(D: np.ndarray) -> np.ndarray:
    """``G = D^T D - I`` (:func:`gram`: entries zero up to rounding are exactly zero) with diagonal
    entries below ``1e-12`` in magnitude set to exactly zero (unit-norm atoms then have no
    self-connection)."""
    G = gram(D)
    d = np.diag(G) - 1.0
    d[np.abs(d) < 1e-12] = 0.0
    np.fill_diagonal(G, d)
    return G


def analog_lca(D, X, lam: Lam, *, threshold: str = "soft", steps: int = 1000, dt_over_tau: float = 0.1,
               u0: Optional[np.ndarray] = None, tol: Optional[float] = None, return_history: bool = False,
               history_every: int = 1, dtype: Any = np.float64, return_steps: bool = False):
    r"""Analog LCA by direct batched Euler integration (no network objects), event-driven.

    For every row (``U``, ``A`` shaped ``(batch, N)``, ``B = X D``, ``r = dt/tau``)::

        A = T_lam(U);   U <- U + r (B - U - A G),   G = D^T D - I (:func:`lca_gram`)

    repeated ``steps`` times from ``U = u0`` (default 0); the codes are ``T_lam(U)`` at the end.
    The product ``A G`` reads only the rows of ``G`` of the active (non-zero output) neurons, and
    each row stops on its own once its code has settled (``tol``):
    :func:`neurosim.solvers.lca_events.lca_events`, compiled, rows in parallel threads. This is
    exactly what the engine computes for :func:`build_analog_lca` when ``u0 = 0`` and ``tol`` is
    None (to rounding: the sums run in another order).

    Parameters
    ----------
    threshold : {"soft", "nonneg", "hard"}
        Signed LASSO, non-negative LASSO, or the hard (l0-type) threshold.
    steps : int
        Euler steps (the most any row takes).
    dt_over_tau : float
        ``dt / tau`` in ``(0, 2 / ||D||_2^2)`` for stability (0.1 for unit-norm atoms).
    u0 : ndarray (batch, N), optional
        Initial internal state (warm start).
    tol : float, optional
        A row stops once ``max |U_new - U| <= tol * dt_over_tau``, i.e. its fixed-point residual
        ``|B - U - A G|_inf <= tol`` (same units as ``D^T x``). None: every row runs ``steps``.
    return_history : bool
        Also return the codes every ``history_every`` steps, ``(records, batch, N)`` (the same
        kernel run in chunks of ``history_every`` steps: the codes are bit for bit those of a run
        without history).
    dtype : numpy dtype
        float64 or float32 arithmetic.
    return_steps : bool
        Also return the steps each row took, ``(batch,)``.

    Returns
    -------
    codes : ndarray (batch, N) (or (N,) for one input vector), then the history and the steps if
    requested.
    """
    D, X, lam, single = _problem(D, X, lam)
    threshold_function(np.zeros(1), lam[:1], threshold)  # validates the name
    steps = _steps("steps", steps)
    r = _positive("dt_over_tau", dt_over_tau)
    every = _steps("history_every", history_every)
    if tol is not None:
        tol = _positive("tol", tol)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise NetworkError(describe("parameter", "dtype", "unsupported", got=dtype, expected="float64 or float32"))
    G = np.ascontiguousarray(lca_gram(D), dtype=dtype)
    B = np.ascontiguousarray(X @ D, dtype=dtype)
    U = np.zeros_like(B) if u0 is None else np.array(np.broadcast_to(np.asarray(u0, dtype=float), B.shape), dtype=dtype)
    from neurosim.solvers.lca_events import THRESHOLD_KINDS, lca_events

    kind, lam_d = THRESHOLD_KINDS[threshold], lam.astype(dtype)
    done = np.zeros(len(U), np.int64)
    history = []
    live = np.arange(len(U))  # rows still running (a row that settled stays as it is)
    chunk = every if return_history else steps
    for k in range(0, steps, chunk):
        if return_history:
            history.append(threshold_function(U.astype(np.float64), lam, threshold))
        n = min(chunk, steps - k)
        U_live = np.ascontiguousarray(U[live])
        took, events = np.zeros(len(live), np.int64), np.zeros(len(live), np.int64)
        lca_events(G, np.ascontiguousarray(B[live]), U_live, lam_d, kind, dtype.type(r), n,
                   dtype.type(-1.0 if tol is None else tol), took, events)
        U[live] = U_live
        if np.any(took < 0):
            bad = int(np.flatnonzero(took < 0)[0])
            raise NetworkError(describe("parameter", "dt_over_tau",
                                        f"analog LCA diverged at step {k - took[bad]} (input {live[bad]})", got=r,
                                        expected=f"< 2 / ||D||_2^2 = {2 / np.linalg.norm(D, 2) ** 2:.3g}"))
        done[live] += took
        live = live[took == n] if tol is not None else live
        if live.size == 0:
            break
    log.debug("analog_lca: %d rows, steps per row mean %.1f, max %d", len(done), done.mean(), done.max())
    A = threshold_function(U.astype(np.float64), lam, threshold)
    codes = A[0] if single else A
    out: tuple = (codes,)
    if return_history:
        history.append(A)
        out += (np.stack(history),)
    if return_steps:
        out += (done[0] if single else done,)
    return out[0] if len(out) == 1 else out
