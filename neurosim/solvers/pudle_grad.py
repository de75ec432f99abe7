"""Unrolled ISTA encoder with tied weights and its hand-written backward pass (PUDLE).

Forward pass (Tolooshams & Ba 2022, "PUDLE"; reference section 4(a)), for a dictionary
``D`` (``m x p``, atoms in columns) and a batch of ``n`` inputs. The public functions take inputs
and return codes one per **row**, like :func:`neurosim.solvers.lasso.fista` (``X`` is ``(n, m)``, codes
``(n, p)``); the equations below are written with one sample per column (``X^T``)::

    b   = alpha D^T X^T                        (p x n)
    W   = I - alpha D^T D                      (p x p, symmetric)
    z_0 = 0
    c_t = W z_t + b,   z_{t+1} = T_theta(c_t),  t = 0 .. T-1
    X_hat^T = D z_T

with the threshold ``T_theta`` chosen by ``threshold`` (names as in
:class:`neurosim.neurons.LCANeuron`):

* ``"soft"``   ``sign(c) max(|c| - theta, 0)``, ``theta = alpha lam``  (two-sided ISTA);
* ``"nonneg"`` ``max(c - theta, 0)``,          ``theta = alpha lam``  (one-sided / ReLU);
* ``"hard"``   ``c 1[|c| > theta]``,            ``theta = hard_threshold`` (the code's "AEhard").

Gradient estimators (all averaged over the batch, loss ``(1/n) sum_j``):

* ``g_dec``      ``(1/n) (D z_T - X^T) z_T^T``: gradient of ``1/2||x - D z_T||^2 + lam||z_T||_1``
  with ``z_T`` held constant (classical alternating minimisation);
* ``g_ae-ls``    total derivative of ``(1/2n) sum ||x - D z_T(D)||^2`` through all ``T`` layers;
* ``g_ae-lasso`` total derivative of ``(1/n) sum (1/2||x - D z_T(D)||^2 + lam_loss ||z_T(D)||_1)``;
* ``g_noodl``    ``(1/n) (D z_T - X^T) sign(z_T)^T`` (NOODL's update direction; not a gradient).

Backward pass (reverse-mode, derived by hand; ``T'`` is the threshold's derivative, 1 where
``z_{t+1} != 0`` and 0 elsewhere, for all three thresholds)::

    r       = D z_T - X^T
    delta_T = D^T r / n  (+ lam_loss sign(z_T) / n for g_ae-lasso)
    for t = T-1 .. 0:
        gamma_t  = delta_{t+1} * T'(c_t)
        G_W     += gamma_t z_t^T ;  G_b += gamma_t ;  delta_t = W gamma_t
    dL/dD = r z_T^T / n  -  alpha D (G_W + G_W^T)  +  alpha X^T G_b^T

The iterates ``z_1 .. z_T`` are stored when they fit in ``memory_limit_bytes``; otherwise only
every ``k``-th is stored (``k ~ sqrt(T)``) and each segment is recomputed during the backward pass
(checkpointing; the result is identical).

Stability: ISTA's linear part ``W`` has eigenvalues ``1 - alpha sigma_i^2``; for
``alpha > 2/||D||_2^2`` one of them is below -1 and the iterates (and the backpropagated
gradient) grow geometrically with ``T``. :func:`check_step` raises (or warns)
:class:`~neurosim.errors.SimulationError` in that case, and non-finite codes or gradients always
raise.
"""
from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np

from neurosim.errors import InputError, SimulationError, describe
from neurosim.neurons import THRESHOLDS

__all__ = ['ESTIMATORS', 'apply_threshold', 'encode', 'check_step', 'pudle_loss', 'GradientResult', 'unrolled_gradient']

logger = logging.getLogger(__name__)


#: gradient estimators understood by :func:`unrolled_gradient`
ESTIMATORS = ("g_dec", "g_ae-ls", "g_ae-lasso", "g_noodl")


#: what to do when a stability check fails
ON_UNSTABLE = ("raise", "warn", "off")


ArrayOrFloat = Union[float, np.ndarray]


def apply_threshold(c: np.ndarray, theta: ArrayOrFloat, kind: str, *, out: Optional[np.ndarray] = None,
                    tmp: Optional[np.ndarray] = None) -> np.ndarray:
    """Apply the threshold ``T_theta`` elementwise (see the module docstring); may work in place.

    Parameters
    ----------
    c
        Pre-activations, shape ``(p, n)``.
    theta
        Threshold, a scalar or shape ``(p, 1)`` (one per unit).
    kind
        ``"soft"``, ``"nonneg"`` or ``"hard"``.
    out, tmp
        Optional output and scratch arrays of ``c``'s shape (``out`` may be ``c`` itself).
    """
    if out is None:
        out = np.empty_like(c)
    if kind == "soft":  # c - clip(c, -theta, theta)
        tmp = np.empty_like(c) if tmp is None else tmp
        np.clip(c, -theta, theta, out=tmp)
        np.subtract(c, tmp, out=out)
    elif kind == "nonneg":
        np.subtract(c, theta, out=out)
        np.maximum(out, 0.0, out=out)
    elif kind == "hard":
        keep = np.abs(c) > theta
        np.multiply(c, keep, out=out)
    else:
        raise InputError(describe("threshold", str(kind), "unknown threshold", expected=" or ".join(THRESHOLDS)))
    return out


def _theta(kind: str, *, lam: ArrayOrFloat, alpha: float, hard_threshold: Optional[float],
           scale: float, p: int) -> ArrayOrFloat:
    """Threshold used by the layers: ``alpha lam scale`` (soft/nonneg) or ``hard_threshold scale``."""
    if kind not in THRESHOLDS:
        raise InputError(describe("threshold", str(kind), "unknown threshold", expected=" or ".join(THRESHOLDS)))
    if kind == "hard":
        if hard_threshold is None or not hard_threshold >= 0:
            raise InputError(describe("parameter", "hard_threshold", "must be given and >= 0 for threshold='hard'",
                                      got=hard_threshold, expected=">= 0"))
        return float(hard_threshold) * scale
    lam_arr = np.asarray(lam, dtype=float)
    if lam_arr.ndim == 0:
        if not lam_arr >= 0:
            raise InputError(describe("parameter", "lam", "must be non-negative", got=float(lam_arr), expected=">= 0"))
        return float(alpha * lam_arr * scale)
    if lam_arr.shape != (p,) or not np.all(lam_arr >= 0):
        raise InputError(describe("parameter", "lam", "per-unit lam must have shape (p,) and be >= 0",
                                  got=lam_arr.shape, expected=f"({p},)"))
    return (alpha * scale * lam_arr)[:, None]


def check_step(D: np.ndarray, alpha: float, *, on_unstable: str = "raise") -> float:
    """Check ISTA's step condition ``alpha ||D||_2^2 < 2``; return ``alpha ||D||_2^2``.

    Raises :class:`SimulationError` (``on_unstable="raise"``), emits a ``RuntimeWarning``
    (``"warn"``) or does nothing (``"off"``) when the condition fails.
    """
    if on_unstable not in ON_UNSTABLE:
        raise InputError(describe("parameter", "on_unstable", "unknown value", got=on_unstable,
                                  expected=" or ".join(ON_UNSTABLE)))
    if not alpha > 0:
        raise InputError(describe("parameter", "alpha", "step must be positive", got=alpha, expected="> 0"))
    ratio = float(alpha * np.linalg.norm(D, 2) ** 2)
    if not ratio < 2.0 and on_unstable != "off":
        msg = describe("unrolled ISTA", "alpha", "step too large: iterates and gradients grow geometrically with T",
                       got=f"alpha*||D||^2 = {ratio:.4g}", expected="< 2")
        if on_unstable == "raise":
            raise SimulationError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return ratio


def _check(D: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``D`` (m, p) and ``X`` (n, m); return them as float arrays."""
    D = np.asarray(D, dtype=float)
    X = np.asarray(X, dtype=float)
    if D.ndim != 2 or X.ndim != 2 or X.shape[1] != D.shape[0]:
        raise InputError(describe("unrolled ISTA", "X", "inputs must be (n, m) rows with m = D.shape[0]",
                                  got=f"D {D.shape}, X {X.shape}", expected="D (m, p), X (n, m)"))
    return D, X


def _prepare(D: np.ndarray, Xc: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """``W = I - alpha D^T D`` and ``b = alpha D^T Xc`` for column-layout inputs ``Xc`` (m, n)."""
    W = -alpha * (D.T @ D)
    W[np.diag_indices_from(W)] += 1.0
    b = alpha * (D.T @ Xc)
    return W, b


def _run(W: np.ndarray, b: np.ndarray, z: Optional[np.ndarray], steps: int, theta: ArrayOrFloat, kind: str, *,
         store: Optional[np.ndarray] = None, tmp: Optional[np.ndarray] = None) -> np.ndarray:
    """Run ``steps`` layers from ``z`` (``None`` = zero); store each new iterate in ``store[i]``."""
    tmp = np.empty_like(b) if tmp is None else tmp
    cur = z
    for i in range(steps):
        nxt = store[i] if store is not None else np.empty_like(b)
        if cur is None:  # z_0 = 0: c_0 = b
            np.copyto(nxt, b)
        else:
            np.matmul(W, cur, out=nxt)
            nxt += b
        apply_threshold(nxt, theta, kind, out=nxt, tmp=tmp)
        cur = nxt
    return cur if cur is not None else np.zeros_like(b)


def encode(D: np.ndarray, X: np.ndarray, *, lam: ArrayOrFloat = 0.2, alpha: float = 0.2, T: int = 100,
           threshold: str = "soft", hard_threshold: Optional[float] = None, lam_scale: float = 1.0) -> np.ndarray:
    """Forward pass of the unrolled encoder: codes ``z_T`` as rows ``(n, p)`` for inputs ``X`` ``(n, m)``.

    ``theta = alpha lam lam_scale`` (or ``hard_threshold lam_scale`` for ``threshold="hard"``);
    see the module docstring for the recursion. No stability check is made here.
    """
    D, X = _check(D, X)
    if int(T) < 0:
        raise InputError(describe("parameter", "T", "number of layers must be >= 0", got=T, expected=">= 0"))
    theta = _theta(threshold, lam=lam, alpha=alpha, hard_threshold=hard_threshold, scale=lam_scale, p=D.shape[1])
    W, b = _prepare(D, X.T, alpha)
    return _run(W, b, None, int(T), theta, threshold).T


def pudle_loss(D: np.ndarray, X: np.ndarray, *, loss: str = "ls", lam: ArrayOrFloat = 0.2, alpha: float = 0.2,
               T: int = 100, threshold: str = "soft", hard_threshold: Optional[float] = None,
               lam_scale: float = 1.0, loss_lam: Optional[ArrayOrFloat] = None,
               Z: Optional[np.ndarray] = None) -> float:
    """Batch-averaged loss ``(1/n) sum_j [1/2||x_j - D z_j||^2 (+ lam_loss ||z_j||_1 for loss="lasso")]``.

    ``X`` is ``(n, m)``; ``z_j`` is the encoder output for ``D`` unless codes ``Z`` ``(n, p)`` are
    given (then they are held fixed: the loss whose partial derivative is ``g_dec``).
    ``loss_lam`` defaults to ``lam``.
    """
    D, X = _check(D, X)
    if Z is None:
        Z = encode(D, X, lam=lam, alpha=alpha, T=T, threshold=threshold, hard_threshold=hard_threshold,
                   lam_scale=lam_scale)
    n = X.shape[0]
    r = Z @ D.T - X
    val = 0.5 * float(np.sum(r * r)) / n
    if loss == "lasso":
        ll = np.asarray(lam if loss_lam is None else loss_lam, dtype=float)
        val += float(np.sum(ll * np.abs(Z))) / n
    elif loss != "ls":
        raise InputError(describe("parameter", "loss", "unknown loss", got=loss, expected="'ls' or 'lasso'"))
    return val


@dataclass
class GradientResult:
    """One gradient evaluation.

    Attributes
    ----------
    grad : ndarray (m, p)
        The estimator's direction (a gradient for all but ``g_noodl``).
    z : ndarray (n, p)
        Encoder output ``z_T``, one code per row.
    loss_ls, loss_lasso : float
        Batch-averaged ``1/2||x - D z_T||^2`` and that plus ``lam_loss ||z_T||_1``.
    step_ratio : float
        ``alpha ||D||_2^2`` (stable below 2).
    """

    grad: np.ndarray
    z: np.ndarray
    loss_ls: float
    loss_lasso: float
    step_ratio: float


def _buffer(workspace: Optional[dict], key: str, shape: tuple, dtype: Any) -> np.ndarray:
    """An uninitialised array, reused from ``workspace`` across calls when shapes match."""
    if workspace is None:
        return np.empty(shape, dtype=dtype)
    buf = workspace.get(key)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = workspace[key] = np.empty(shape, dtype=dtype)
    return buf


def _segment_length(T: int, p: int, n: int, itemsize: int, memory_limit_bytes: float) -> int:
    per = p * n * itemsize
    if T * per <= memory_limit_bytes:
        return T
    k = max(1, int(math.ceil(math.sqrt(T))))
    logger.debug("unrolled backward: %d iterates (%.0f MB) exceed the memory limit; checkpointing every %d",
                 T, T * per / 1e6, k)
    return k


def unrolled_gradient(D: np.ndarray, X: np.ndarray, *, estimator: str = "g_ae-ls", lam: ArrayOrFloat = 0.2,
                      alpha: float = 0.2, T: int = 100, threshold: str = "soft",
                      hard_threshold: Optional[float] = None, lam_scale: float = 1.0,
                      loss_lam: Optional[ArrayOrFloat] = None, memory_limit_bytes: float = 1.0e9,
                      on_unstable: str = "raise", workspace: Optional[dict] = None) -> GradientResult:
    """Evaluate one PUDLE gradient estimator on a batch (equations in the module docstring).

    Parameters
    ----------
    D : ndarray (m, p)
        Dictionary (columns are atoms; not renormalised here).
    X : ndarray (n, m)
        Inputs, one per row.
    estimator
        ``"g_dec"``, ``"g_ae-ls"``, ``"g_ae-lasso"`` or ``"g_noodl"``.
    lam, alpha, T, threshold, hard_threshold, lam_scale
        Encoder parameters (``theta = alpha lam lam_scale``, or ``hard_threshold lam_scale``).
    loss_lam
        ``lam`` of the LASSO loss (``g_ae-lasso``; reported ``loss_lasso``); defaults to ``lam``.
    memory_limit_bytes
        Budget for stored iterates; above it the backward pass recomputes segments.
    on_unstable
        ``"raise"``, ``"warn"`` or ``"off"`` for the step condition ``alpha ||D||^2 < 2``.
        Non-finite codes or gradients raise :class:`SimulationError` unless ``"off"``.
    workspace
        A dict kept by the caller between calls; large scratch arrays are reused from it (saves
        allocating and faulting in up to ``memory_limit_bytes`` at every training step).
    """
    if estimator not in ESTIMATORS:
        raise InputError(describe("parameter", "estimator", "unknown gradient estimator", got=estimator,
                                  expected=" or ".join(ESTIMATORS)))
    D, X = _check(D, X)
    T = int(T)
    if T < 1:
        raise InputError(describe("parameter", "T", "number of layers must be >= 1", got=T, expected=">= 1"))
    ratio = check_step(D, alpha, on_unstable=on_unstable)
    p, n = D.shape[1], X.shape[0]
    Xc = X.T  # (m, n) view: one sample per column
    theta = _theta(threshold, lam=lam, alpha=alpha, hard_threshold=hard_threshold, scale=lam_scale, p=p)
    ll = np.asarray(lam if loss_lam is None else loss_lam, dtype=float)
    ll_col = ll[:, None] if ll.ndim == 1 else ll
    W, b = _prepare(D, Xc, alpha)
    tmp = np.empty_like(b)
    backprop = estimator in ("g_ae-ls", "g_ae-lasso")

    k = _segment_length(T, p, n, b.itemsize, memory_limit_bytes) if backprop else T
    if backprop and k >= T:
        Zs = _buffer(workspace, "iterates", (T, p, n), b.dtype)  # Zs[t-1] = z_t
        zT = _run(W, b, None, T, theta, threshold, store=Zs, tmp=tmp)
        checkpoints = None
    elif backprop:
        starts = list(range(0, T, k))
        checkpoints = {}
        cur = None
        for s in starts:
            checkpoints[s] = cur
            cur = _run(W, b, cur, min(k, T - s), theta, threshold, tmp=tmp)
        zT = cur
        Zs = _buffer(workspace, "iterates", (k, p, n), b.dtype)
    else:
        zT = _run(W, b, None, T, theta, threshold, tmp=tmp)

    r = D @ zT - Xc
    loss_ls = 0.5 * float(np.sum(r * r)) / n
    loss_lasso = loss_ls + float(np.sum(ll_col * np.abs(zT))) / n
    if estimator == "g_noodl":
        grad = (r @ np.sign(zT).T) / n
    else:
        grad = (r @ zT.T) / n
    if backprop:
        delta = (D.T @ r) / n
        if estimator == "g_ae-lasso":
            delta += ll_col * np.sign(zT) / n
        G_W = np.zeros((p, p), dtype=b.dtype)
        G_b = np.zeros_like(b)
        gamma = np.empty_like(b)
        if checkpoints is None:
            segments = [(0, T, None)]
        else:
            segments = [(s, min(s + k, T), checkpoints[s]) for s in reversed(list(checkpoints))]
        for t0, t1, z_start in segments:
            if checkpoints is not None:  # recompute z_{t0+1} .. z_{t1} into Zs[0 .. t1-t0-1]
                _run(W, b, z_start, t1 - t0, theta, threshold, store=Zs, tmp=tmp)
            for t in range(t1 - 1, t0 - 1, -1):
                z_next = Zs[t - t0]
                np.multiply(delta, z_next != 0, out=gamma)  # gamma_t = delta_{t+1} * T'(c_t)
                G_b += gamma
                z_t = Zs[t - t0 - 1] if t > t0 else z_start
                if z_t is not None:  # z_0 = 0 contributes nothing to G_W
                    G_W += gamma @ z_t.T
                if t > 0:
                    np.matmul(W, gamma, out=delta)  # delta_t = W gamma_t (W symmetric)
        grad += alpha * ((Xc @ G_b.T) - D @ (G_W + G_W.T))

    if on_unstable != "off" and not (np.all(np.isfinite(grad)) and np.all(np.isfinite(zT))):
        raise SimulationError(describe("unrolled ISTA", estimator, "non-finite code or gradient (blow-up)",
                                       got=f"alpha*||D||^2 = {ratio:.4g}, T = {T}", expected="finite values"))
    return GradientResult(grad=grad, z=zT.T, loss_ls=loss_ls, loss_lasso=loss_lasso, step_ratio=ratio)

