"""Solvers: pure numerics on numpy arrays, no network and no backend.

* :mod:`~neurosim.solvers.lasso` -- the LASSO objective, KKT residual, duality gap and FISTA
  (the independent reference every LCA result is checked against);
* :mod:`~neurosim.solvers.lasso_conv` -- the same for convolutional dictionaries (FFT operators);
* :mod:`~neurosim.solvers.lca` / :mod:`~neurosim.solvers.conv_lca` -- analog LCA integrated
  directly (dense and convolutional), the sign split and the Gram matrix;
* :mod:`~neurosim.solvers.deep_sc` -- layered thresholding, ISTA, LASSO and LCA;
* :mod:`~neurosim.solvers.warp` -- WARP energies, equilibrium states and energy traces;
* :mod:`~neurosim.solvers.relu` -- one-step ReLU / soft-threshold codes and the MAP objective;
* :mod:`~neurosim.solvers.dictnet_rate` -- fixed points of the rate dictionary network (LCP);
* :mod:`~neurosim.solvers.pudle_grad` -- PUDLE's unrolled encoder and its gradients;
* :mod:`~neurosim.solvers.optim` -- Adam, SGD and the lambda schedule.
"""
from __future__ import annotations

from neurosim.solvers.lasso import duality_gap, fista, kkt_residual, lasso_objective, lipschitz
from neurosim.solvers.lasso_conv import ConvDictionary, conv_fista, conv_kkt_residual, conv_lasso_objective
from neurosim.solvers.lca import analog_lca, gram, lca_gram, sign_split
from neurosim.solvers.optim import SGD, Adam

__all__ = ["lasso_objective", "kkt_residual", "duality_gap", "fista", "lipschitz", "ConvDictionary", "conv_fista",
           "conv_kkt_residual", "conv_lasso_objective", "analog_lca", "gram", "lca_gram", "sign_split", "Adam", "SGD"]
