"""Multi-layer (deep) sparse coding as one IR network: every layer's analog LCA neurons integrate
the previous layer's graded outputs.

Layer ``j`` (dictionary ``D_j``, penalty ``lam_j``) runs ``u_j <- u_j + (dt/tau)(D_j^T a_{j-1} - u_j
- G_j a_j)``, ``G_j = D_j^T D_j - I``, ``a_j = T_{lam_j}(u_j)``, with ``a_0 = x`` (a constant input);
its fixed point is the layered LCA fixed point of :func:`neurosim.solvers.deep_sc.layered_lca`. The
model, its reading of the reference and the layered solvers are documented in
:mod:`neurosim.solvers.deep_sc`.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from neurosim.backends import DEFAULT_BACKEND, simulate
from neurosim.ir import Connection, ConstantInput, Network, Population, Probe
from neurosim.neurons import LCANeuron
from neurosim.solvers.deep_sc import DSCLayer, _check
from neurosim.solvers.lca import lca_gram

__all__ = ['build_deep_sc', 'run_deep_sc']



def build_deep_sc(layers: Sequence[DSCLayer], X, *, name: str = "dsc", tau_s: float = 1.0,
                  probes: Sequence[str] = ()) -> Network:
    """All layers as one analog LCA network.

    Populations ``"<name>.l1" .. "<name>.lJ"`` of :class:`~neurosim.neurons.LCANeuron`; lateral
    ``"<name>.lj.lateral"`` ``-(D_j^T D_j - I)`` (dense, or compact :class:`~neurosim.conv.ConvWeights`
    for a convolutional layer); feed-forward ``"<name>.lj.ff"`` from layer ``j-1``'s graded
    outputs with weights ``D_j^T`` (``ConvWeights`` of the filters for a convolutional layer);
    layer 1 is driven by the constant input ``"<name>.drive"`` ``= D_1^T x``. Each layer obeys
    ``u_j <- u_j + (dt/tau)(D_j^T a_{j-1} - u_j - G_j a_j)``.
    """
    layers, X = _check(layers, X)
    net = Network(name=name)
    prev = None
    for j, layer in enumerate(layers, start=1):
        pop = f"{name}.l{j}"
        net.add(Population(pop, layer.n_out, LCANeuron(tau_s=tau_s, lam=layer.lam_vector(), threshold=layer.threshold)))
        lateral = layer.dictionary.lateral_weights() if layer.conv else -lca_gram(layer.dictionary)
        net.add(Connection(pop, pop, lateral, delay_steps=1, name=f"{pop}.lateral"))
        if prev is None:
            net.add(ConstantInput(pop, layer.analyze(X), name=f"{name}.drive"))
        else:
            ff = layer.dictionary.analysis_weights() if layer.conv else layer.dictionary.T.copy()
            net.add(Connection(prev, pop, ff, delay_steps=1, name=f"{pop}.ff"))
        for var in probes:
            net.add(Probe(pop, var, name=f"{pop}.{var}"))
        prev = pop
    return net.validate()


def run_deep_sc(layers: Sequence[DSCLayer], X, *, steps: int = 2000, dt_over_tau: float = 0.1, backend: str = DEFAULT_BACKEND,
                name: str = "dsc", options: Optional[dict[str, Any]] = None):
    """Run :func:`build_deep_sc`; returns the codes of every layer ``[(batch, n_j)]`` and the result."""
    net = build_deep_sc(layers, X, name=name, probes=("count",))
    res = simulate(net, steps=steps, dt_s=dt_over_tau, backend=backend, options=options)
    codes = [np.asarray(res.final_state[f"{name}.l{j}"]["a"]) for j in range(1, len(list(layers)) + 1)]
    return codes, res

