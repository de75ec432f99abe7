"""Multi-layer (deep) sparse coding: stacked layers, each coding the previous layer's code.

Reference: Li, Feng & Zhou, arXiv 2408.05540 (``shared/reference/algorithms.md`` section 5). Only
the abstract was reachable: the paper's exact DSC definition, algorithm and constants are [U].
This module implements the reference's stated **working hypothesis** [D], *not* the paper's
definition: a multi-layer model

    x = D_1 G_1,   G_1 = D_2 G_2,   ...,   G_{J-1} = D_J G_J,   every G_j sparse

(in the style of Papyan, Romano & Elad's multi-layer convolutional sparse coding), decoded layer
by layer. Layer ``j`` solves ``min_g 1/2 ||z - D_j g||^2 + lam_j ||g||_1`` for its input ``z``
(``x`` for the first layer, the previous layer's code otherwise) by

* **layered thresholding**: one step, ``G_j = T_{lam_j}(D_j^T G_{j-1})``; with the one-sided
  threshold this is the forward pass of a network of linear/convolutional layers with bias
  ``-lam_j`` and ReLU (the CNN reading);
* **layered ISTA**: ``g <- T_{lam_j / L_j}(g - (D_j^T D_j g - D_j^T z) / L_j)``, ``L_j = ||D_j||_2^2``,
  ``n`` iterations from ``g = 0``; each iteration is one such layer, so depth ~ iterations and
  the error decays geometrically under incoherence (restricted strong convexity);
* **layered LCA**: the analog LCA of each layer (:func:`neurosim.solvers.lca.analog_lca`, or
  :func:`neurosim.solvers.conv_lca.conv_lca`), and as one IR network (:func:`build_deep_sc`) in
  which every layer's neurons integrate the previous layer's graded outputs; its fixed point is
  the layered LCA fixed point.

A layer's dictionary is a dense ``(M_j, N_j)`` matrix or a
:class:`~neurosim.solvers.lasso_conv.ConvDictionary` whose image shape is the previous layer's code shape
(``(K_{j-1}, h, w)``); codes are passed between layers flattened, ``(batch, n)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, Union

import numpy as np

from neurosim.builders.lca import threshold_function
from neurosim.errors import NetworkError, describe
from neurosim.solvers.conv_lca import conv_lca
from neurosim.solvers.lasso import fista
from neurosim.solvers.lasso_conv import ConvDictionary, conv_fista, conv_lam
from neurosim.solvers.lca import analog_lca
from neurosim.validation.checks import check_dictionary, check_lam

__all__ = ['DSCLayer', 'layered_thresholding', 'layered_ista', 'layered_lasso', 'layered_lca']



@dataclass(frozen=True, eq=False)
class DSCLayer:
    """One layer: a dictionary (dense ``(M, N)`` or :class:`ConvDictionary`), a penalty and a threshold.

    Parameters
    ----------
    dictionary : ndarray (M, N) or ConvDictionary
    lam : float or ndarray
        Penalty, one value or one per atom (dense) / filter (conv).
    threshold : {"soft", "nonneg", "hard"}
    """

    dictionary: Union[np.ndarray, ConvDictionary]
    lam: Any = 0.1
    threshold: str = "soft"

    def __post_init__(self) -> None:
        if not isinstance(self.dictionary, ConvDictionary):
            object.__setattr__(self, "dictionary", check_dictionary(self.dictionary))
        threshold_function(np.zeros(1), np.zeros(1), self.threshold)
        self.lam_vector()  # validates

    @property
    def conv(self) -> bool:
        return isinstance(self.dictionary, ConvDictionary)

    @property
    def n_in(self) -> int:
        return self.dictionary.n_pixels if self.conv else self.dictionary.shape[0]

    @property
    def n_out(self) -> int:
        return self.dictionary.n_code if self.conv else self.dictionary.shape[1]

    def lam_vector(self) -> np.ndarray:
        """The penalty per output neuron, ``(n_out,)``."""
        if self.conv:
            cd = self.dictionary
            return np.repeat(conv_lam(cd, self.lam).ravel(), cd.code_shape[1] * cd.code_shape[2])
        return check_lam(self.lam, self.dictionary.shape[1])

    # flat operators
    def analyze(self, Z: np.ndarray) -> np.ndarray:
        """``D^T z`` for rows ``(batch, n_in)`` -> ``(batch, n_out)``."""
        if self.conv:
            return self.dictionary.analyze(Z).reshape(Z.shape[0], -1)
        return Z @ self.dictionary

    def gram(self, A: np.ndarray) -> np.ndarray:
        """``D^T D a`` for rows ``(batch, n_out)``."""
        if self.conv:
            return self.dictionary.gram_apply(A).reshape(A.shape[0], -1)
        return (A @ self.dictionary.T) @ self.dictionary

    def lipschitz(self) -> float:
        return self.dictionary.lipschitz() if self.conv else float(np.linalg.norm(self.dictionary, 2) ** 2)


def _check(layers: Sequence[DSCLayer], X) -> tuple[list[DSCLayer], np.ndarray]:
    layers = list(layers)
    if not layers or not all(isinstance(l, DSCLayer) for l in layers):
        raise NetworkError(describe("deep sparse coding", "layers", "must be a non-empty sequence of DSCLayer",
                                    got=[type(l).__name__ for l in layers]))
    for j in range(1, len(layers)):
        if layers[j].n_in != layers[j - 1].n_out:
            raise NetworkError(describe("deep sparse coding", f"layer {j + 1}", "input size does not match the "
                                        "previous layer's code size", got=layers[j].n_in, expected=layers[j - 1].n_out))
    X = np.asarray(X, dtype=np.float64)
    X = X.reshape(X.shape[0], -1) if X.ndim > 1 else X[None]
    if X.shape[1] != layers[0].n_in or not np.all(np.isfinite(X)):
        raise NetworkError(describe("inputs", "X", "must be finite rows of the first layer's input size",
                                    got=X.shape, expected=f"(batch, {layers[0].n_in})"))
    return layers, X


def layered_thresholding(layers: Sequence[DSCLayer], X) -> list[np.ndarray]:
    """One thresholding step per layer: ``G_j = T_{lam_j}(D_j^T G_{j-1})``, ``G_0 = x``."""
    layers, Z = _check(layers, X)
    out = []
    for layer in layers:
        Z = threshold_function(layer.analyze(Z), layer.lam_vector(), layer.threshold)
        out.append(Z)
    return out


def layered_ista(layers: Sequence[DSCLayer], X, *, iters: int = 100, return_history: bool = False):
    """``iters`` ISTA iterations per layer, each layer coding the previous layer's final code.

    Returns the list of codes ``(batch, n_j)``; with ``return_history`` also, per layer, the
    iterates ``(iters + 1, batch, n_j)`` (iterate 0 is the zero start).
    """
    layers, Z = _check(layers, X)
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 1:
        raise NetworkError(describe("parameter", "iters", "must be a positive integer", got=iters, expected=">= 1"))
    codes, hists = [], []
    for layer in layers:
        L = layer.lipschitz()
        lam = layer.lam_vector() / L
        Bz = layer.analyze(Z)
        A = np.zeros_like(Bz)
        hist = [A]
        for _ in range(iters):
            A = threshold_function(A - (layer.gram(A) - Bz) / L, lam, layer.threshold)
            if return_history:
                hist.append(A)
        codes.append(A)
        hists.append(np.stack(hist) if return_history else None)
        Z = A
    return (codes, hists) if return_history else codes


def layered_lasso(layers: Sequence[DSCLayer], X, *, tol: float = 1e-9, max_iter: int = 20000) -> list[np.ndarray]:
    """Reference: each layer's (non-negative) LASSO solved by FISTA (:func:`neurosim.solvers.lasso.fista` or
    :func:`neurosim.solvers.lasso_conv.conv_fista`) on the previous layer's solution. Soft/nonneg layers only."""
    layers, Z = _check(layers, X)
    out = []
    for j, layer in enumerate(layers):
        if layer.threshold == "hard":
            raise NetworkError(describe("deep sparse coding", f"layer {j + 1}", "has no LASSO reference",
                                        got="hard", expected="'soft' or 'nonneg'"))
        nonneg = layer.threshold == "nonneg"
        if layer.conv:
            A = conv_fista(layer.dictionary, Z, layer.lam, nonneg=nonneg, tol=tol, max_iter=max_iter).reshape(Z.shape[0], -1)
        else:
            A = fista(layer.dictionary, Z, layer.lam, nonneg=nonneg, tol=tol, max_iter=max_iter)
        out.append(A)
        Z = A
    return out


def layered_lca(layers: Sequence[DSCLayer], X, *, steps: int = 1000, dt_over_tau: float = 0.1) -> list[np.ndarray]:
    """Each layer's analog LCA run ``steps`` steps on the previous layer's final code."""
    layers, Z = _check(layers, X)
    out = []
    for layer in layers:
        if layer.conv:
            A = conv_lca(layer.dictionary, Z, layer.lam, threshold=layer.threshold, steps=steps,
                         dt_over_tau=dt_over_tau).reshape(Z.shape[0], -1)
        else:
            A = analog_lca(layer.dictionary, Z, layer.lam, threshold=layer.threshold, steps=steps, dt_over_tau=dt_over_tau)
        out.append(np.atleast_2d(A))
        Z = out[-1]
    return out

