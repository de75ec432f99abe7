"""WARP-LCA: hard-threshold LCA started from a learned, input-dependent initial state.

Reference: Kasenbacher, Ehret, Ecke & Otte, arXiv 2410.18794 (``shared/reference/algorithms.md``
section 3). Verified from the abstract only: convolutional LCA with a **hard threshold** (an
l0-type, non-convex energy) whose initial state ``u(0)`` comes from a predictor network instead
of zero. The predictor architecture and its training objective are not reachable [U]; this module
follows the reference's CPU-reproducible reading (a linear map or a small MLP regressing the
converged state), see :mod:`neurosim.estimators.warp_predictors`.

Dynamics (unchanged; only the initial state differs), for every input row ``x``::

    u(0) = P(x),   u <- u + (dt/tau) (b - u - G a),   a = H_lam(u) = u 1[|u| > lam],
    b = D^T x,     G = D^T D - I

run by :func:`neurosim.solvers.lca.analog_lca` (``threshold="hard"``, ``u0=P(x)``). With
``P(x) = 0`` it *is* plain LCA, bit for bit (the same call with a zero ``u0``).

Energy [D] (the usual correspondence for the hard threshold with unit-norm atoms)::

    E(a) = 1/2 ||x - D a||^2 + (lam^2 / 2) ||a||_0        (per-atom lam: sum_i lam_i^2/2 1[a_i != 0])

:func:`hard_energy` computes it; for ``threshold="soft"``/``"nonneg"`` the energy is the LASSO
objective (:func:`neurosim.solvers.lasso.lasso_objective`).

Training targets: fixed points of the same dynamics. ``target_init="cold"`` takes the state LCA
reaches from ``u = 0``; ``"soft"`` (default) first solves the convex LASSO at
``soft_ratio * lam`` with FISTA and runs the hard-threshold LCA from that solution's state. Both
are converged states ``u*`` of the same equations; the soft-started ones have lower energy on
natural-image patches (the "better minima" the paper reports), so the predictor learns to aim at
them. At a fixed point ``u* = b - G a*`` exactly (:func:`equilibrium_state`). The predictor
regresses ``a*`` (``target="code"``: on the active set ``u* = a*``; elsewhere the start is 0 and
relaxes within a few ``tau``) or ``u*`` itself (``target="state"``).

On a chip the warm start is a per-neuron state write before the run (:func:`build_warp_lca`,
``mode="state"``) or, without writable state, a one-step bias pulse (``mode="pulse"``).
Spiking LCA has no hard threshold; its warm start (:func:`spiking_initial_state`) writes the
steady-state synaptic currents of predicted LASSO rates.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from neurosim.builders.lca import threshold_function
from neurosim.errors import NetworkError, describe
from neurosim.progress import Progress, report
from neurosim.solvers.lasso import fista, lasso_objective
from neurosim.solvers.lca import analog_lca, lca_gram
from neurosim.validation.checks import check_dictionary, check_inputs, check_lam

__all__ = ['hard_energy', 'warp_energy', 'equilibrium_state', 'converged_states', 'energy_trace', 'steps_to_energy']



def hard_energy(D, X, A, lam) -> np.ndarray:
    """``E(a) = 1/2 ||x - D a||^2 + sum_i (lam_i^2/2) 1[a_i != 0]`` per row, shape ``(batch,)``."""
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    lam = check_lam(lam, D.shape[1])
    A = np.asarray(A, dtype=np.float64).reshape(X.shape[0], D.shape[1])
    R = X - A @ D.T
    return 0.5 * np.einsum("bm,bm->b", R, R) + (A != 0) @ (0.5 * lam * lam)


def warp_energy(D, X, A, lam, threshold: str = "hard") -> np.ndarray:
    """The energy LCA with ``threshold`` descends: :func:`hard_energy` or the (non-negative) LASSO objective."""
    if threshold == "hard":
        return hard_energy(D, X, A, lam)
    threshold_function(np.zeros(1), np.zeros(1), threshold)
    return lasso_objective(D, X, A, lam, nonneg=threshold == "nonneg")


def equilibrium_state(D, X, A) -> np.ndarray:
    """``U = X D - A G`` (``G = D^T D - I``): the LCA state whose fixed point has codes ``A``."""
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    return X @ D - np.asarray(A, dtype=np.float64) @ lca_gram(D)


def converged_states(D, X, lam, *, threshold: str = "hard", init: str = "soft", steps: int = 500,
                     dt_over_tau: float = 0.1, soft_ratio: float = 0.3, fista_iter: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Regression targets: converged states ``U*`` and codes ``A*`` ``(batch, N)``.

    ``threshold="hard"``: LCA run ``steps`` steps from ``u = 0`` (``init="cold"``) or from the
    state of the LASSO solution at ``soft_ratio * lam`` (``init="soft"``, FISTA). Soft and
    non-negative thresholds: the FISTA solution of that LASSO (the LCA fixed point). ``U*`` is
    :func:`equilibrium_state` of ``A*``.
    """
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    lam = check_lam(lam, D.shape[1])
    if threshold != "hard":
        A = fista(D, X, lam, nonneg=threshold == "nonneg", max_iter=fista_iter, tol=1e-7)
        return equilibrium_state(D, X, A), A
    if init not in ("soft", "cold"):
        raise NetworkError(describe("parameter", "target_init", "unknown initialisation", got=repr(init),
                                    expected="'soft' or 'cold'"))
    u0 = None
    if init == "soft":
        if not (np.isfinite(soft_ratio) and soft_ratio > 0):
            raise NetworkError(describe("parameter", "soft_ratio", "must be positive", got=soft_ratio, expected="> 0"))
        A_soft = fista(D, X, soft_ratio * lam, max_iter=fista_iter, tol=1e-4)
        u0 = equilibrium_state(D, X, A_soft)
    A = analog_lca(D, X, lam, threshold="hard", steps=steps, dt_over_tau=dt_over_tau, u0=u0)
    return equilibrium_state(D, X, A), A


def energy_trace(D, X, lam, *, u0=None, threshold: str = "hard", steps: int = 1000, dt_over_tau: float = 0.1,
                 chunk: int = 50, progress: Optional[Progress] = None,
                 phase: str = "energy trace") -> tuple[np.ndarray, np.ndarray]:
    """Mean energy over the rows of ``X`` after every step ``k = 0..steps``, and the final codes.

    ``trace[k]`` is the mean :func:`warp_energy` of the codes ``T(u_k)``; ``trace[0]`` is that of
    the initial state. Rows are run ``chunk`` at a time to bound memory; after every chunk
    ``progress(phase, rows done, rows)`` is called (when given).
    """
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    U0 = None if u0 is None else np.broadcast_to(np.asarray(u0, dtype=np.float64), (X.shape[0], D.shape[1]))
    total = np.zeros(steps + 1)
    codes = []
    report(progress, phase, 0, X.shape[0])
    for i in range(0, X.shape[0], chunk):
        sl = slice(i, i + chunk)
        A, hist = analog_lca(D, X[sl], lam, threshold=threshold, steps=steps, dt_over_tau=dt_over_tau,
                             u0=None if U0 is None else U0[sl], return_history=True)
        Xc = X[sl]
        for k in range(hist.shape[0]):
            total[k] += warp_energy(D, Xc, hist[k], lam, threshold).sum()
        codes.append(np.atleast_2d(A))
        report(progress, phase, min(i + chunk, X.shape[0]), X.shape[0])
    return total / X.shape[0], np.concatenate(codes)


def steps_to_energy(trace: np.ndarray, target: float, *, rtol: float = 0.0) -> Optional[int]:
    """First step ``k`` with ``trace[k] <= target (1 + rtol)``, or ``None`` if never reached."""
    hit = np.flatnonzero(np.asarray(trace) <= target * (1.0 + rtol))
    return int(hit[0]) if hit.size else None

