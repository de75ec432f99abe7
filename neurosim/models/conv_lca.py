r"""Convolutional LCA over whole images: a direct FFT solver and IR networks (analog and spiking).

One neuron per code coefficient ``a_k[y, x]`` (``K`` maps of the valid size ``h x w``, see
:class:`neurosim.lasso_conv.ConvDictionary`), driven by the correlation of the image with the
filters and inhibited laterally through the filters' correlations::

    b = D^T x = Phi^T (star) x,     G = D^T D - I  (a correlation with kernel g, size 2k-1, padding k-1)
    analog:   u <- u + (dt/tau) (b - u - G a),   a = T_lam(u)       (soft | nonneg | hard)

The fixed points of the soft (one-sided) threshold are the solutions of the convolutional
(non-negative) LASSO ``1/2 ||x - sum_k phi_k * a_k||^2 + lam ||a||_1``, which
:func:`neurosim.lasso_conv.conv_fista` solves independently.

Networks keep the convolution compact: the lateral connection holds a
:class:`~neurosim.conv.ConvWeights` of ``K x K`` kernels ``(2k-1) x (2k-1)`` (``nnz`` without
expansion); the engine and the mapper expand it only where they need synapses. The drive ``b``
enters as a per-neuron :class:`~neurosim.ir.ConstantInput` (a bias), computed by FFT.

Spiking version (Tang, Lin & Davies "Form A", as :func:`neurosim.models.lca.build_spiking_lca`):
non-leaky IF neurons with thresholds ``||phi_k||^2``, drive ``b - lam``, lateral weights
``W = -(D^T D - diag)``. A signed problem is split into ``2K`` channels ``[phi, -phi]``: the
kernel becomes ``[[g, -g], [-g, g]]`` with the self taps removed, the drive ``[b - lam, -b - lam]``
and the decoded code ``a = a^+ - a^-``.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

import numpy as np

from ..backends import simulate
from ..conv import ConvWeights
from ..errors import NetworkError, describe
from ..ir import Connection, ConstantInput, Network, Population, Probe
from ..lasso_conv import ConvDictionary, conv_lam, conv_threshold
from ..neurons import IF, LCANeuron
from ..result import SimResult

__all__ = ["conv_lca", "build_conv_lca", "run_conv_lca", "build_spiking_conv_lca", "decode_spiking_conv_lca",
           "spiking_conv_lca", "spiking_lateral_kernel"]

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


def build_conv_lca(cd: ConvDictionary, X, lam, *, threshold: str = "soft", name: str = "clca", tau_s: float = 1.0,
                   probes: Sequence[str] = (), probe_every: int = 1) -> Network:
    """Analog convolutional LCA network.

    One :class:`~neurosim.neurons.LCANeuron` population ``name`` (``K h w`` neurons, code maps
    flattened channel-major), lateral connection ``"<name>.lateral"`` with
    :meth:`ConvDictionary.lateral_weights` (``-(D^T D - I)``, compact), constant input
    ``"<name>.drive"`` ``= D^T x`` per image. Run with ``dt_s = dt_over_tau * tau_s``; codes are
    ``final_state[name]["a"]`` reshaped with ``cd.codes``.
    """
    Xb, _ = cd.images(X)
    lam_n = np.repeat(conv_lam(cd, lam).ravel(), cd.code_shape[1] * cd.code_shape[2])
    conv_threshold(np.zeros(1), 0.0, threshold)
    net = Network(name=name)
    net.add(Population(name, cd.n_code, LCANeuron(tau_s=tau_s, lam=lam_n, threshold=threshold)))
    net.add(Connection(name, name, cd.lateral_weights(), delay_steps=1, name=f"{name}.lateral"))
    net.add(ConstantInput(name, cd.analyze(Xb).reshape(Xb.shape[0], -1), name=f"{name}.drive"))
    for var in probes:
        net.add(Probe(name, var, every=1 if var == "count" else probe_every, name=f"{name}.{var}"))
    return net.validate()


def run_conv_lca(cd: ConvDictionary, X, lam, *, threshold: str = "soft", steps: int = 1000, dt_over_tau: float = 0.1,
                 backend: str = "numpy", name: str = "clca", initial_state: Optional[dict] = None,
                 options: Optional[dict[str, Any]] = None) -> tuple[np.ndarray, SimResult]:
    """Run :func:`build_conv_lca` on a backend; returns codes ``(B, K, h, w)`` and the result."""
    net = build_conv_lca(cd, X, lam, threshold=threshold, name=name, probes=("count",))
    res = simulate(net, steps=_positive_int("steps", steps), dt_s=float(dt_over_tau), backend=backend,
                   initial_state=initial_state, options=options)
    return cd.codes(res.final_state[name]["a"]), res


def spiking_lateral_kernel(cd: ConvDictionary, *, nonneg: bool) -> np.ndarray:
    """Kernel of ``W = -(D'^T D' - diag)``: ``-g`` (``nonneg``) or ``-[[g, -g], [-g, g]]`` (sign split),
    self taps removed."""
    g = cd.gram_kernel()
    if not nonneg:
        g = np.concatenate([np.concatenate([g, -g], axis=1), np.concatenate([-g, g], axis=1)], axis=0)
    W = -g
    c = cd.size - 1
    idx = np.arange(W.shape[0])
    W[idx, idx, c, c] = 0.0
    W[np.abs(W) < 1e-12] = 0.0
    return W


def build_spiking_conv_lca(cd: ConvDictionary, X, lam, *, nonneg: bool = True, name: str = "sclca", tau_s: float = 1.0,
                           start: int = 0, probes: Sequence[str] = ("count",), probe_every: int = 1) -> Network:
    """Spiking convolutional LCA: IF neurons (reset by subtraction), ``K h w`` (or ``2 K h w``
    signed) neurons, thresholds ``||phi_k||^2``, lateral ``"<name>.lateral"`` as
    :class:`~neurosim.conv.ConvWeights` (:func:`spiking_lateral_kernel`), drive ``"<name>.drive"``
    ``= b - lam`` (and ``-b - lam`` for the negative half). ``count`` probes start at ``start``.
    """
    Xb, _ = cd.images(X)
    _, h, w = cd.code_shape
    lamv = conv_lam(cd, lam)
    B = cd.analyze(Xb)
    norms2 = np.sum(cd.filters ** 2, axis=(1, 2, 3))
    if nonneg:
        drive, theta = B - lamv, norms2
    else:
        drive, theta = np.concatenate([B - lamv, -B - lamv], axis=1), np.concatenate([norms2, norms2])
    channels = drive.shape[1]
    kernel = spiking_lateral_kernel(cd, nonneg=nonneg)
    net = Network(name=name)
    net.add(Population(name, channels * h * w, IF(tau_s=tau_s, v_th=np.repeat(theta, h * w), reset="subtract")))
    net.add(Connection(name, name, ConvWeights(kernel, (channels, h, w), padding=cd.size - 1), delay_steps=1,
                       name=f"{name}.lateral"))
    net.add(ConstantInput(name, drive.reshape(Xb.shape[0], -1), name=f"{name}.drive"))
    for var in probes:
        net.add(Probe(name, var, every=1 if var == "count" else probe_every, start=start if var == "count" else 0,
                      name=f"{name}.{var}"))
    return net.validate()


def decode_spiking_conv_lca(result: SimResult, cd: ConvDictionary, *, nonneg: bool, name: str = "sclca",
                            start: int = 0) -> np.ndarray:
    """Codes ``(B, K, h, w)`` from the ``"<name>.count"`` probe: rates ``count / ((steps - start) dt)``."""
    window = result.steps - start
    if window <= 0:
        raise NetworkError(describe("decode", name, "counting window is empty", got=f"steps={result.steps}, start={start}",
                                    expected="start < steps"))
    rates = np.asarray(result[f"{name}.count"], dtype=np.float64) / (window * result.dt_s)
    K, h, w = cd.code_shape
    rates = rates.reshape(rates.shape[0], -1, h, w)
    return rates if nonneg else rates[:, :K] - rates[:, K:]


def spiking_conv_lca(cd: ConvDictionary, X, lam, *, nonneg: bool = True, steps: int = 5000, dt_s: float = 0.1,
                     transient: Optional[int] = None, backend: str = "numpy", name: str = "sclca", seed: int = 0,
                     initial_state: Optional[dict] = None, options: Optional[dict[str, Any]] = None
                     ) -> tuple[np.ndarray, SimResult]:
    """Build, run and decode a spiking convolutional LCA (rates counted after ``transient`` steps,
    default ``steps // 10``). Returns codes ``(B, K, h, w)`` and the run's result (activity)."""
    steps = _positive_int("steps", steps)
    transient = steps // 10 if transient is None else _positive_int("transient", transient, minimum=0)
    if transient >= steps:
        raise NetworkError(describe("parameter", "transient", "leaves no steps to count", got=transient,
                                    expected=f"< steps = {steps}"))
    net = build_spiking_conv_lca(cd, X, lam, nonneg=nonneg, name=name, start=transient)
    res = simulate(net, steps=steps, dt_s=dt_s, backend=backend, seed=seed, initial_state=initial_state, options=options)
    return decode_spiking_conv_lca(res, cd, nonneg=nonneg, name=name, start=transient), res
