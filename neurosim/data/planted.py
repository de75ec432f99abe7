"""Planted problems (data with a known ground truth) and their recovery metrics.

Non-negative dictionary learning (Lin & Tang; planted protocol of section 4):

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
  ``||d_i|| <= 1``), solved by FISTA (:func:`neurosim.solvers.lasso.fista`).

PUDLE (Tolooshams & Ba; :func:`make_planted`): ``D*`` with i.i.d. ``N(0, 1)`` entries and unit
columns, ``s``-sparse codes with magnitudes ``U[1, 2]`` and random signs, ``x = D* z*``, and the
initialisation ``D_0 = normalise(D* + init_noise N(0, 1))`` (:func:`init_dictionary`).

Deep sparse coding (:func:`make_planted_dsc`): ``x = D_1 D_2 ... D_J g_J`` with a sparse deepest
code (:mod:`neurosim.solvers.deep_sc`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from neurosim.data.samples import split_sign
from neurosim.errors import InputError, NetworkError, describe
from neurosim.solvers.lasso import fista, lasso_objective

__all__ = ['PlantedDictionary', 'planted_nonneg', 'channel_split', 'channel_merge', 'recovery', 'best_cosines', 'unit_atoms', 'test_objective', 'PlantedDSC', 'make_planted_dsc', 'PlantedProblem', 'make_planted', 'normalize_columns', 'init_dictionary']



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
        if D.shape != (M, N):
            raise NetworkError(describe("parameter", "D", "wrong shape", got=D.shape, expected=(M, N)))
        if np.any(D < 0) or not np.all(np.isfinite(D)):
            bad = int(np.count_nonzero(~(D >= 0)))
            raise NetworkError(describe("parameter", "D", "must be non-negative and finite",
                                        got=f"{bad} negative or non-finite entries (min {np.nanmin(D):g})",
                                        expected="a dictionary with entries >= 0"))
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


def normalize_columns(D: np.ndarray) -> np.ndarray:
    """Return ``D`` with every column scaled to unit l2 norm (zero columns are left at zero)."""
    norms = np.linalg.norm(D, axis=0)
    norms[norms == 0] = 1.0
    return D / norms


@dataclass
class PlantedProblem:
    """A planted dictionary-learning problem ``X = D_true Z_true``.

    Attributes
    ----------
    D_true : ndarray (m, p)
        Unit-norm ground-truth dictionary.
    Z_true : ndarray (n, p)
        s-sparse codes, one per row.
    X : ndarray (n, m)
        Noiseless data ``Z_true D_true^T``, one sample per row.
    D_init : ndarray (m, p)
        ``normalise(D_true + init_noise N(0, 1))``.
    """

    D_true: np.ndarray
    Z_true: np.ndarray
    X: np.ndarray
    D_init: np.ndarray


def make_planted(m: int = 50, p: int = 100, s: int = 5, n: int = 10_000, *, c_min: float = 1.0, c_max: float = 2.0,
                 sign: str = "per_sample", init_noise: float = 0.1, seed: int = 0) -> PlantedProblem:
    """Draw the planted problem of the module docstring (defaults: the paper's synthetic setting)."""
    if not (0 < s <= p and m > 0 and n > 0):
        raise InputError(describe("planted problem", "s", "need 0 < s <= p and m, n > 0", got=(m, p, s, n)))
    if not 0 <= c_min <= c_max:
        raise InputError(describe("planted problem", "c_min", "need 0 <= c_min <= c_max", got=(c_min, c_max)))
    if sign not in ("per_sample", "per_entry"):
        raise InputError(describe("planted problem", "sign", "unknown sign mode", got=sign,
                                  expected="'per_sample' or 'per_entry'"))
    rng = np.random.default_rng(seed)
    D_true = normalize_columns(rng.standard_normal((m, p)))
    support = np.argpartition(rng.random((n, p)), s - 1, axis=1)[:, :s]  # s distinct positions per sample
    mags = rng.uniform(c_min, c_max, size=(n, s))
    if sign == "per_sample":
        signs = rng.choice([-1.0, 1.0], size=(n, 1))
    else:
        signs = rng.choice([-1.0, 1.0], size=(n, s))
    Z = np.zeros((n, p))
    np.put_along_axis(Z, support, mags * signs, axis=1)
    X = Z @ D_true.T
    D_init = init_dictionary(D_true, init_noise, rng)
    return PlantedProblem(D_true=D_true, Z_true=Z, X=X, D_init=D_init)

def init_dictionary(D_true: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``normalise(D_true + noise N(0, 1))`` (the protocol's initialisation)."""
    return normalize_columns(D_true + noise * rng.standard_normal(D_true.shape))
