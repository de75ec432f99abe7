"""WARP-LCA networks: analog and spiking LCA started from a predicted initial state.

:func:`build_warp_lca` writes ``u(0) = P(x)`` into the analog LCA's state (``mode="state"``) or,
on a chip without writable state, drives it with a one-step bias pulse (``mode="pulse"``);
:func:`build_warp_spiking_lca` and :func:`spiking_initial_state` write the steady-state synaptic
currents of predicted LASSO rates into a spiking LCA. The dynamics, energies and training targets
are documented in :mod:`neurosim.solvers.warp`; the estimator is
:class:`neurosim.estimators.warp.WarpLCA`.
"""
from __future__ import annotations

import numpy as np

from neurosim.builders.lca import build_analog_lca, build_spiking_lca, threshold_function
from neurosim.errors import NetworkError, describe
from neurosim.ir import ArrayInput, Network
from neurosim.solvers.lca import gram, lca_gram, sign_split
from neurosim.validation.checks import check_dictionary, check_inputs, check_lam

__all__ = ['build_warp_lca', 'spiking_initial_state', 'build_warp_spiking_lca']



# ---------------------------------------------------------------------------------------------
# networks
def build_warp_lca(D, X, lam, u0, *, mode: str = "state", threshold: str = "hard", name: str = "warp",
                   tau_s: float = 1.0, dt_over_tau: float = 0.1, probes=()) -> tuple[Network, dict]:
    r"""Analog LCA network (:func:`~neurosim.builders.lca.build_analog_lca`) started from ``u0``.

    Returns ``(network, initial_state)`` for ``simulate(network, ..., initial_state=...)`` with
    ``dt_s = dt_over_tau * tau_s``; the run follows :func:`~neurosim.solvers.lca.analog_lca` with
    ``u0``. ``mode="state"`` writes ``u(0) = u0`` (a per-neuron state write on a chip); backends
    treat the initial output ``T(u0)`` as emitted at step -1, so the first step already sees the
    lateral input ``-G T(u0)``. ``mode="pulse"`` starts from ``u = 0`` and injects the one-step
    pulse ``u0/r - u0 - G T(u0)`` (``r = dt/tau``) through an :class:`~neurosim.ir.ArrayInput`
    ``"<name>.warm"``, which gives the same ``u(1)``. A zero ``u0`` adds nothing: the network is
    plain analog LCA.
    """
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    lam = check_lam(lam, D.shape[1])
    if mode not in ("state", "pulse"):
        raise NetworkError(describe("parameter", "mode", "unknown warm-start mode", got=repr(mode),
                                    expected="'state' or 'pulse'"))
    net = build_analog_lca(D, X, lam, threshold=threshold, name=name, tau_s=tau_s, probes=probes)
    U0 = np.array(np.broadcast_to(np.asarray(u0, dtype=np.float64), (X.shape[0], D.shape[1])))
    if not np.any(U0):
        return net, {}
    if mode == "state":
        return net.validate(), {name: {"u": U0}}
    lateral0 = -(threshold_function(U0, lam, threshold) @ lca_gram(D))
    r = float(dt_over_tau)
    net.add(ArrayInput(name, (U0 / r - U0 + lateral0)[None], name=f"{name}.warm"))
    return net.validate(), {}


def spiking_initial_state(D, codes, *, nonneg: bool = True, tau_s: float = 1.0) -> dict[str, np.ndarray]:
    r"""Initial ``v`` and ``i`` of a spiking LCA (:func:`~neurosim.builders.lca.build_spiking_lca`)
    for predicted rates ``codes`` ``(batch, N)`` (signed codes are split into ``[a^+, a^-]``).

    The synaptic kernel has unit area, so at a steady firing pattern with rates ``a`` the current
    averages ``i = W a`` (``W`` the lateral weights); the start writes that ``i`` and puts every
    neuron predicted active half-way to its threshold (``v = theta/2``, the mean phase), the others
    at ``v = 0``. ``tau_s`` is accepted for symmetry; the steady current does not depend on it.
    """
    D = check_dictionary(D)
    A = np.atleast_2d(np.asarray(codes, dtype=np.float64))
    Dn = D if nonneg else sign_split(D)
    R = np.maximum(A, 0.0) if nonneg else np.concatenate([np.maximum(A, 0.0), np.maximum(-A, 0.0)], axis=1)
    if R.shape[1] != Dn.shape[1]:
        raise NetworkError(describe("codes", "codes", "do not match the dictionary", got=A.shape,
                                    expected=f"(batch, {D.shape[1]})"))
    G = gram(Dn)  # the network's own lateral weights (build_spiking_lca)
    theta = np.diag(G).copy()
    W = -G
    np.fill_diagonal(W, 0.0)
    return {"v": np.where(R > 0, 0.5 * theta, 0.0), "i": R @ W.T}


def build_warp_spiking_lca(D, X, lam, codes0, *, nonneg: bool = True, name: str = "slca", tau_s: float = 1.0,
                           start: int = 0, probes=("count",)) -> tuple[Network, dict]:
    """Spiking LCA network and its warm initial state from predicted codes ``codes0``.

    Returns ``(network, initial_state)``; a zero ``codes0`` gives an empty initial state (the
    plain spiking LCA of :func:`~neurosim.builders.lca.build_spiking_lca`).
    """
    net = build_spiking_lca(D, X, lam, nonneg=nonneg, name=name, tau_s=tau_s, start=start, probes=probes)
    if not np.any(codes0):
        return net, {}
    return net, {name: spiking_initial_state(D, codes0, nonneg=nonneg, tau_s=tau_s)}

