"""Convolutional analog LCA by direct batched Euler integration with FFT operators (no network).

One code map ``a_k`` per filter ``phi_k`` (valid size ``h x w``, see
:class:`neurosim.solvers.lasso_conv.ConvDictionary`)::

    b = D^T x = Phi^T (star) x,     G = D^T D - I
    u <- u + (dt/tau) (b - u - G a),   a = T_lam(u)       (soft | nonneg | hard)

Fixed points of the soft (one-sided) threshold solve the convolutional (non-negative) LASSO,
which :func:`neurosim.solvers.lasso_conv.conv_fista` solves independently. The same dynamics as
IR networks (analog and spiking) are built by :mod:`neurosim.builders.conv_lca`.
"""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np

from neurosim.errors import NetworkError, describe
from neurosim.solvers.lasso_conv import ConvDictionary, conv_lam, conv_threshold

__all__ = ['conv_lca']

log = logging.getLogger(__name__)


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise NetworkError(describe("parameter", name, f"must be an integer >= {minimum}", got=value, expected=f">= {minimum}"))
    return int(value)


def _rate(dt_over_tau, L: float) -> float:
    r = float(dt_over_tau)
    if not (np.isfinite(r) and r > 0):
        raise NetworkError(describe("parameter", "dt_over_tau", "must be positive", got=dt_over_tau, expected="> 0"))
    if r * L >= 2.0:
        log.warning("conv_lca: dt_over_tau %.3g >= 2/L = %.3g may diverge", r, 2.0 / L)
    return r


def conv_lca(cd: ConvDictionary, X, lam, *, threshold: str = "soft", steps: int = 1000, dt_over_tau: float = 0.1,
             u0: Optional[np.ndarray] = None, tol: Optional[float] = None, return_history: bool = False,
             history_every: int = 1):
    r"""Convolutional LCA by direct batched Euler integration with FFT operators.

    For all images at once (``U``, ``A`` shaped ``(B, K, h, w)``, ``r = dt/tau``)::

        A = T_lam(U);   U <- U + r (B - U - (D^T D A - A)),   B = D^T x

    repeated ``steps`` times from ``U = u0`` (default 0); the codes are ``T_lam(U)`` at the end.
    ``D^T D A`` is one synthesis and one analysis by FFT on the image grid (exact, no wrap).
    Stable for ``dt_over_tau < 2 / L`` (``L = cd.lipschitz()``; 0.1 suits unit-norm filters of
    moderate overlap).

    Parameters
    ----------
    cd : ConvDictionary
    X : images (B, C, H, W), (C, H, W) or (H, W)
    lam : float or (K,)
    threshold : {"soft", "nonneg", "hard"}
    steps : int
    dt_over_tau : float
    u0 : ndarray (B, K, h, w), optional
        Initial state (warm start).
    tol : float, optional
        Stop once ``max |dU| <= tol * dt_over_tau``.
    return_history : bool
        Also return the codes every ``history_every`` steps, ``(records, B, K, h, w)``.

    Returns
    -------
    codes (B, K, h, w) (or (K, h, w) for one image), and the history if requested.
    """
    Xb, single = cd.images(X)
    lamv = conv_lam(cd, lam)
    conv_threshold(np.zeros(1), 0.0, threshold)
    steps = _positive_int("steps", steps)
    every = _positive_int("history_every", history_every)
    r = _rate(dt_over_tau, cd.lipschitz())
    B = cd.analyze(Xb)
    U = np.zeros_like(B) if u0 is None else np.array(np.broadcast_to(cd.codes(u0), B.shape))
    history = []
    for k in range(steps):
        A = conv_threshold(U, lamv, threshold)
        if return_history and k % every == 0:
            history.append(A)
        GA = cd.gram_apply(A) - A
        dU = r * (B - U - GA)
        U += dU
        if not np.all(np.isfinite(U)):
            raise NetworkError(describe("parameter", "dt_over_tau", f"convolutional LCA diverged at step {k + 1}",
                                        got=r, expected=f"< 2 / L = {2.0 / cd.lipschitz():.3g}"))
        if tol is not None and np.max(np.abs(dU)) <= tol * r:
            log.debug("conv_lca: converged after %d steps", k + 1)
            break
    A = conv_threshold(U, lamv, threshold)
    codes = A[0] if single else A
    if return_history:
        history.append(A)
        return codes, np.stack(history)
    return codes

