r"""Data and metrics for non-negative dictionary learning (Lin & Tang; planted protocol of section 4).

* :func:`planted_nonneg` -- a planted non-negative dictionary with known ground truth and
  ``k``-sparse non-negative codes, ``k`` drawn per sample from a range (default 3-5):

  ``D*_mi = m_mi * U[0.1, 1]`` with ``m_mi ~ Bernoulli(density)`` (at least two non-zeros per
  atom), columns scaled to unit norm; each code has ``k`` non-zeros at distinct random atoms with
  magnitudes ``U[1, 2]`` (the PUDLE protocol's ``[c_min, c_max]``, all signs positive);
  ``x = D* z* (+ noise, clipped at 0)``. Sparse atoms keep the mutual coherence low
  (non-negative dense random atoms have ``|cos| ~ 0.75``, which makes recovery ill-posed).
* :func:`channel_split` -- positive/negative channel split ``[max(x, 0), max(-x, 0)]`` that
  makes signed data (image patches) non-negative; :func:`channel_merge` undoes it for atoms.
* :func:`recovery` -- fraction of true atoms ``d*_i`` with ``max_j |cos(d*_i, d_j)| > threshold``.
* :func:`test_objective` -- the surrogate objective of Mairal et al. (2009) used by Lin & Tang
  (Fig. 4): mean over held-out inputs of ``min_{a >= 0} 1/2 ||x - D a||^2 + lam ||a||_1`` for the
  dictionary with unit-norm atoms (so every method is scored inside the same constraint set
  ``||d_i|| <= 1``), solved by FISTA (:func:`neurosim.lasso.fista`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..data import split_sign
from ..errors import NetworkError, describe
from ..lasso import fista, lasso_objective

__all__ = ["PlantedDictionary", "planted_nonneg", "channel_split", "channel_merge", "recovery", "best_cosines",
           "unit_atoms", "test_objective"]


class PlantedDictionary(NamedTuple):
    """``X = Z D^T``: ground-truth dictionary ``D`` (M, N), codes ``Z`` (n, N), inputs ``X`` (n, M)."""

    D: np.ndarray
    X: np.ndarray
    Z: np.ndarray


def planted_nonneg(M: int = 64, N: int = 128, n: int = 20000, *, k: tuple[int, int] = (3, 5), density: float = 0.2,
                   amplitude: tuple[float, float] = (1.0, 2.0), noise: float = 0.0, seed: int = 0,
                   D: np.ndarray | None = None) -> PlantedDictionary:
    """A planted non-negative problem (see the module docstring).

    Parameters
    ----------
    M, N : int
        Input dimension and number of atoms.
    n : int
        Number of samples.
    k : (int, int)
        Inclusive range of non-zeros per code.
    density : float
        Fraction of non-zero entries per atom.
    amplitude : (float, float)
        Range of the non-zero code magnitudes.
    noise : float
        Standard deviation of Gaussian noise (inputs are clipped at 0 afterwards).
    seed : int
    D : ndarray (M, N), optional
        Use this ground-truth dictionary (e.g. to draw a held-out set for the same ``D``).
    """
    for name, v in (("M", M), ("N", N), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise NetworkError(describe("parameter", name, "must be a positive integer", got=v, expected=">= 1"))
    k_lo, k_hi = int(k[0]), int(k[1])
    if not 1 <= k_lo <= k_hi <= N:
        raise NetworkError(describe("parameter", "k", "must be a range within [1, N]", got=k,
                                    expected=f"1 <= lo <= hi <= {N}"))
    if not 0.0 < density <= 1.0:
        raise NetworkError(describe("parameter", "density", "must lie in (0, 1]", got=density))
    rng = np.random.default_rng(seed)
    if D is None:
        mask = rng.random((M, N)) < density
        for j in range(N):  # at least two non-zeros per atom
            if mask[:, j].sum() < 2:
                mask[rng.choice(M, 2, replace=False), j] = True
        D = mask * rng.uniform(0.1, 1.0, (M, N))
        D /= np.linalg.norm(D, axis=0)
    else:
        D = np.asarray(D, dtype=np.float64)
        if D.shape != (M, N) or np.any(D < 0):
            raise NetworkError(describe("parameter", "D", "must be a non-negative (M, N) array", got=D.shape,
                                        expected=(M, N)))
    Z = np.zeros((n, N))
    ks = rng.integers(k_lo, k_hi + 1, size=n)
    lo, hi = amplitude
    for i in range(n):
        idx = rng.choice(N, size=ks[i], replace=False)
        Z[i, idx] = rng.uniform(lo, hi, size=ks[i])
    X = Z @ D.T
    if noise > 0:
        X = np.maximum(X + noise * rng.standard_normal(X.shape), 0.0)
    return PlantedDictionary(D=D, X=X, Z=Z)


def channel_split(X: np.ndarray) -> np.ndarray:
    """``[max(X, 0), max(-X, 0)]`` along the last axis: signed ``(..., M)`` -> non-negative ``(..., 2M)``."""
    return split_sign(X)


def channel_merge(D: np.ndarray) -> np.ndarray:
    """Undo :func:`channel_split` for atoms: rows ``(2M, N)`` -> signed ``(M, N)`` = positive minus negative half."""
    D = np.asarray(D, dtype=np.float64)
    if D.shape[0] % 2:
        raise NetworkError(describe("parameter", "D", "needs an even number of rows (two channels)", got=D.shape))
    m = D.shape[0] // 2
    return D[:m] - D[m:]


def unit_atoms(D: np.ndarray) -> np.ndarray:
    """``D`` with unit-norm columns (all-zero columns stay zero)."""
    D = np.asarray(D, dtype=np.float64)
    n = np.linalg.norm(D, axis=0)
    return D / np.where(n > 0, n, 1.0)


def best_cosines(D_true: np.ndarray, D: np.ndarray) -> np.ndarray:
    """For each true atom (column of ``D_true``), ``max_j |cos(d*_i, d_j)|`` over learned atoms."""
    C = unit_atoms(D_true).T @ unit_atoms(D)
    return np.abs(C).max(axis=1)


def recovery(D_true: np.ndarray, D: np.ndarray, *, threshold: float = 0.99) -> float:
    """Fraction of true atoms recovered with ``max |cos| > threshold``."""
    return float(np.mean(best_cosines(D_true, D) > threshold))


def test_objective(D: np.ndarray, X: np.ndarray, lam: float, *, tol: float = 1e-6, max_iter: int = 3000) -> float:
    """Mean of ``min_{a >= 0} 1/2 ||x - D_u a||^2 + lam ||a||_1`` over the rows of ``X``, ``D_u``
    the dictionary with unit-norm atoms (zero atoms dropped)."""
    Du = unit_atoms(D)
    keep = np.linalg.norm(Du, axis=0) > 0
    if not keep.any():
        return float(0.5 * np.mean(np.einsum("bm,bm->b", X, X)))
    Du = Du[:, keep]
    A = fista(Du, X, lam, nonneg=True, tol=tol, max_iter=max_iter)
    return float(np.mean(lasso_objective(Du, X, A, lam, nonneg=True)))


test_objective.__test__ = False  # not a pytest test despite the name
