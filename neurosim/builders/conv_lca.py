"""Convolutional LCA over whole images: a direct FFT solver and IR networks (analog and spiking).

One neuron per code coefficient ``a_k[y, x]`` (``K`` maps of the valid size ``h x w``, see
:class:`neurosim.solvers.lasso_conv.ConvDictionary`), driven by the correlation of the image with the
filters and inhibited laterally through the filters' correlations::

    b = D^T x = Phi^T (star) x,     G = D^T D - I  (a correlation with kernel g, size 2k-1, padding k-1)
    analog:   u <- u + (dt/tau) (b - u - G a),   a = T_lam(u)       (soft | nonneg | hard)

The fixed points of the soft (one-sided) threshold are the solutions of the convolutional
(non-negative) LASSO ``1/2 ||x - sum_k phi_k * a_k||^2 + lam ||a||_1``, which
:func:`neurosim.solvers.lasso_conv.conv_fista` solves independently.

Networks keep the convolution compact: the lateral connection holds a
:class:`~neurosim.conv.ConvWeights` of ``K x K`` kernels ``(2k-1) x (2k-1)`` (``nnz`` without
expansion); the engine and the mapper expand it only where they need synapses. The drive ``b``
enters as a per-neuron :class:`~neurosim.ir.ConstantInput` (a bias), computed by FFT.

Spiking version (Tang, Lin & Davies "Form A", as :func:`neurosim.builders.lca.build_spiking_lca`):
non-leaky IF neurons with thresholds ``||phi_k||^2``, drive ``b - lam``, lateral weights
``W = -(D^T D - diag)``. A signed problem is split into ``2K`` channels ``[phi, -phi]``: the
kernel becomes ``[[g, -g], [-g, g]]`` with the self taps removed, the drive ``[b - lam, -b - lam]``
and the decoded code ``a = a^+ - a^-``.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from neurosim.backends import DEFAULT_BACKEND, simulate
from neurosim.conv import ConvWeights
from neurosim.errors import NetworkError, describe
from neurosim.ir import Connection, ConstantInput, Network, Population, Probe
from neurosim.neurons import IF, LCANeuron
from neurosim.result import SimResult
from neurosim.solvers.conv_lca import _positive_int
from neurosim.solvers.lasso_conv import ConvDictionary, conv_lam, conv_threshold

__all__ = ['build_conv_lca', 'run_conv_lca', 'build_spiking_conv_lca', 'decode_spiking_conv_lca', 'spiking_conv_lca', 'spiking_lateral_kernel']



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
                 backend: str = DEFAULT_BACKEND, name: str = "clca", initial_state: Optional[dict] = None,
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
                     transient: Optional[int] = None, backend: str = DEFAULT_BACKEND, name: str = "sclca", seed: int = 0,
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

