r"""Multi-layer (deep) sparse coding: stacked layers, each coding the previous layer's code.

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
* **layered LCA**: the analog LCA of each layer (:func:`neurosim.models.lca.analog_lca`, or
  :func:`neurosim.models.conv_lca.conv_lca`), and as one IR network (:func:`build_deep_sc`) in
  which every layer's neurons integrate the previous layer's graded outputs; its fixed point is
  the layered LCA fixed point.

A layer's dictionary is a dense ``(M_j, N_j)`` matrix or a
:class:`~neurosim.lasso_conv.ConvDictionary` whose image shape is the previous layer's code shape
(``(K_{j-1}, h, w)``); codes are passed between layers flattened, ``(batch, n)``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Sequence, Union

import numpy as np

from ..backends import simulate
from ..errors import NetworkError, describe
from ..ir import Connection, ConstantInput, Network, Population, Probe
from ..lasso import check_dictionary, check_lam, fista
from ..lasso_conv import ConvDictionary, conv_fista, conv_lam
from ..neurons import LCANeuron
from .conv_lca import conv_lca
from .lca import analog_lca, lca_gram, threshold_function

__all__ = ["DSCLayer", "PlantedDSC", "make_planted_dsc", "layered_thresholding", "layered_ista", "layered_lasso",
           "layered_lca", "build_deep_sc", "run_deep_sc"]

log = logging.getLogger(__name__)


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


class PlantedDSC(NamedTuple):
    """A planted two-or-more-layer problem: ``layers`` (dictionaries), inputs ``X`` and planted ``codes``."""

    dictionaries: list
    X: np.ndarray
    codes: list


def make_planted_dsc(dims: Sequence[int] = (64, 128, 64), *, atom_nnz: int = 3, sparsity: int = 3, batch: int = 20,
                     noise: float = 0.0, seed: int = 0) -> PlantedDSC:
    """Planted multi-layer codes ``x = D_1 D_2 ... D_J g_J``.

    ``D_1`` (``dims[0] x dims[1]``) has i.i.d. Gaussian entries, unit-norm columns; deeper
    dictionaries ``D_j`` (``dims[j-1] x dims[j]``) are sparse: ``atom_nnz`` random entries
    ``+-1/sqrt(atom_nnz)`` per column (unit norm), so every intermediate code stays sparse. The
    deepest code has ``sparsity`` non-zeros with magnitudes ``U[1, 2]`` and random signs;
    ``codes[j]`` is the planted ``G_{j+1}``.
    """
    rng = np.random.default_rng(seed)
    dims = [int(d) for d in dims]
    if len(dims) < 2 or min(dims) < 1 or not (1 <= atom_nnz <= min(dims)) or not (1 <= sparsity <= dims[-1]):
        raise NetworkError(describe("parameter", "dims", "invalid planted problem", got=(dims, atom_nnz, sparsity),
                                    expected="at least two sizes, 1 <= atom_nnz, sparsity <= sizes"))
    D1 = rng.standard_normal((dims[0], dims[1]))
    Ds = [D1 / np.linalg.norm(D1, axis=0)]
    for j in range(1, len(dims) - 1):
        D = np.zeros((dims[j], dims[j + 1]))
        for col in range(dims[j + 1]):
            rows = rng.choice(dims[j], atom_nnz, replace=False)
            D[rows, col] = rng.choice([-1.0, 1.0], atom_nnz) / np.sqrt(atom_nnz)
        Ds.append(D)
    G = np.zeros((batch, dims[-1]))
    for b in range(batch):
        idx = rng.choice(dims[-1], sparsity, replace=False)
        G[b, idx] = rng.uniform(1.0, 2.0, sparsity) * rng.choice([-1.0, 1.0], sparsity)
    codes = [G]
    for D in reversed(Ds[1:]):
        codes.insert(0, codes[0] @ D.T)
    X = codes[0] @ Ds[0].T + noise * rng.standard_normal((batch, dims[0]))
    return PlantedDSC(dictionaries=Ds, X=X, codes=codes)


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
    """Reference: each layer's (non-negative) LASSO solved by FISTA (:func:`neurosim.lasso.fista` or
    :func:`neurosim.lasso_conv.conv_fista`) on the previous layer's solution. Soft/nonneg layers only."""
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


def run_deep_sc(layers: Sequence[DSCLayer], X, *, steps: int = 2000, dt_over_tau: float = 0.1, backend: str = "numpy",
                name: str = "dsc", options: Optional[dict[str, Any]] = None):
    """Run :func:`build_deep_sc`; returns the codes of every layer ``[(batch, n_j)]`` and the result."""
    net = build_deep_sc(layers, X, name=name, probes=("count",))
    res = simulate(net, steps=steps, dt_s=dt_over_tau, backend=backend, options=options)
    codes = [np.asarray(res.final_state[f"{name}.l{j}"]["a"]) for j in range(1, len(list(layers)) + 1)]
    return codes, res
