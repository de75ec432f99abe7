"""The sparse-coding view of a ReLU layer (Bowren, arXiv 2108.06622; reference section 6).

Orthonormal dictionaries. If ``D^T D = I`` (``D`` square orthogonal, or with orthonormal
columns and ``x`` in their span) then ``1/2||x - D a||^2 = 1/2||D^T x - a||^2 + const`` and the
LASSO separates into one scalar problem per coefficient, solved in one step::

    signed LASSO:        a_i = soft(d_i^T x, lam_i) = sign(d_i^T x) max(|d_i^T x| - lam_i, 0)
    non-negative LASSO:  a_i = max(d_i^T x - lam_i, 0) = ReLU(d_i^T x - lam_i)

i.e. a linear layer with weights ``D^T`` and bias ``-lam`` followed by a ReLU.

MAP derivation of the per-unit bias. With a Gaussian likelihood of variance ``sigma^2``,
``p(x | a) ~ exp(-||x - D a||^2 / (2 sigma^2))``, and independent exponential priors
``p(a_i) = lambda_i exp(-lambda_i a_i)`` on ``a_i >= 0`` (rate ``lambda_i`` per unit), the negative
log posterior is, up to a constant::

    -log p(a | x) = ||x - D a||^2 / (2 sigma^2) + sum_i lambda_i a_i ,     a >= 0

Multiplying by ``sigma^2`` gives the non-negative LASSO with per-unit weights ``sigma^2 lambda_i``,
so for orthonormal ``D`` the MAP code is ``a_i = ReLU(d_i^T x - sigma^2 lambda_i)``: one bias
``-sigma^2 lambda_i`` per unit (:func:`exponential_prior_bias`, :func:`relu_map_code`,
:func:`map_objective`).

Non-orthogonal dictionaries. The one-step code ignores the competition between correlated atoms
and is no longer the LASSO solution. :func:`compare_one_step_vs_iterated` measures the objective
gap ``F(a_one_step) - F(a*)`` (``a*`` from :func:`neurosim.solvers.lasso.fista`) and how iterating closes
it. Inputs and codes are rows, as in :mod:`neurosim.solvers.lasso`.
"""
from __future__ import annotations

from typing import Union

import numpy as np

from neurosim.errors import NetworkError, describe
from neurosim.solvers.lasso import lasso_objective
from neurosim.validation.checks import check_dictionary, check_inputs, check_lam

__all__ = ['relu_code', 'soft_code', 'exponential_prior_bias', 'relu_map_code', 'map_objective']

Lam = Union[float, np.ndarray]


def relu_code(D, X, lam: Lam, *, signed: bool = False) -> np.ndarray:
    """One-step code ``ReLU(X D - lam)`` (rows), or ``soft(X D, lam)`` when ``signed``.

    Parameters
    ----------
    D : ndarray (M, N)
        Dictionary, atoms in columns.
    X : ndarray (batch, M) or (M,)
        Inputs, one per row.
    lam : float or ndarray (N,)
        Threshold per unit (``>= 0``); the layer's bias is ``-lam``.
    signed : bool
        Two-sided soft threshold (signed LASSO) instead of the ReLU (non-negative LASSO).

    Returns
    -------
    ndarray (batch, N), or (N,) for a single input vector.
    """
    D = check_dictionary(D)
    X, single = check_inputs(X, D.shape[0])
    lam = check_lam(lam, D.shape[1])
    B = X @ D
    A = np.sign(B) * np.maximum(np.abs(B) - lam, 0.0) if signed else np.maximum(B - lam, 0.0)
    return A[0] if single else A


def soft_code(D, X, lam: Lam) -> np.ndarray:
    """Signed one-step code ``soft(X D, lam)`` (the orthonormal signed-LASSO solution)."""
    return relu_code(D, X, lam, signed=True)


def exponential_prior_bias(rates: Lam, *, sigma2: float = 1.0) -> np.ndarray:
    """Per-unit threshold ``sigma^2 lambda_i`` from exponential prior rates (the bias is its negative)."""
    rates = np.asarray(rates, dtype=float)
    if not (np.all(np.isfinite(rates)) and np.all(rates >= 0)):
        raise NetworkError(describe("parameter", "rates", "exponential prior rates must be finite and >= 0",
                                    got=rates, expected=">= 0"))
    if not (np.isfinite(sigma2) and sigma2 > 0):
        raise NetworkError(describe("parameter", "sigma2", "noise variance must be positive", got=sigma2,
                                    expected="> 0"))
    return sigma2 * rates


def relu_map_code(D, X, rates: Lam, *, sigma2: float = 1.0) -> np.ndarray:
    """MAP code for orthonormal ``D`` under the exponential prior: ``ReLU(X D - sigma^2 rates)``."""
    return relu_code(D, X, exponential_prior_bias(rates, sigma2=sigma2))


def map_objective(D, X, A, rates: Lam, *, sigma2: float = 1.0) -> np.ndarray:
    """Negative log posterior (up to a constant) per row: ``||x - D a||^2/(2 sigma^2) + sum_i lambda_i a_i``.

    ``inf`` for rows with a negative entry (outside the prior's support).
    """
    thr = exponential_prior_bias(rates, sigma2=sigma2)
    return lasso_objective(D, X, A, thr, nonneg=True) / sigma2

