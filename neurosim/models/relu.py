r"""The sparse-coding view of a ReLU layer (Bowren, arXiv 2108.06622; reference section 6).

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
gap ``F(a_one_step) - F(a*)`` (``a*`` from :func:`neurosim.lasso.fista`) and how iterating closes
it. Inputs and codes are rows, as in :mod:`neurosim.lasso`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from ..errors import NetworkError, describe
from ..lasso import check_dictionary, check_inputs, check_lam, fista, lasso_objective, lipschitz
from .lca import analog_lca

__all__ = ["relu_code", "soft_code", "exponential_prior_bias", "relu_map_code", "map_objective",
           "OneStepComparison", "compare_one_step_vs_iterated"]

logger = logging.getLogger(__name__)

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


@dataclass
class OneStepComparison:
    """Objective of one-step vs iterated coding, per input row.

    Attributes
    ----------
    objective_one_step : ndarray (batch,)
        ``F`` of the one-step code.
    objective_opt : ndarray (batch,)
        ``F*`` of the FISTA solution.
    gap : ndarray (batch,)
        ``F(one step) - F*`` (``>= 0`` up to solver tolerance).
    iterations : ndarray (K,)
        Iteration counts at which the refined codes were scored.
    gap_iterated : ndarray (K, batch)
        ``F(a_k) - F*`` after ``k`` refinement steps started from the one-step code.
    method : str
        ``"ista"`` or ``"lca"``.
    """

    objective_one_step: np.ndarray
    objective_opt: np.ndarray
    gap: np.ndarray
    iterations: np.ndarray
    gap_iterated: np.ndarray
    method: str

    @property
    def relative_gap(self) -> np.ndarray:
        """``(F(one step) - F*) / F*`` per row (0 where ``F* = 0``)."""
        den = np.where(self.objective_opt > 0, self.objective_opt, 1.0)
        return self.gap / den

    def summary(self) -> dict:
        """Means over the batch: one-step gap, relative gap, and the gap after each iteration count."""
        return {"gap_mean": float(self.gap.mean()), "relative_gap_mean": float(self.relative_gap.mean()),
                "iterated": {int(k): float(g.mean()) for k, g in zip(self.iterations, self.gap_iterated)}}


def compare_one_step_vs_iterated(D, X, lam: Lam, *, nonneg: bool = True,
                                 iterations: Sequence[int] = (1, 2, 5, 10, 20, 50, 100, 200),
                                 method: str = "ista", dt_over_tau: float = 0.1, tol: float = 1e-10,
                                 max_iter: int = 20000) -> OneStepComparison:
    r"""Objective gap of the one-step code vs iterated coding, for any (non-orthogonal) ``D``.

    The one-step code is ``a_0 = ReLU(X D - lam)`` (``soft`` when ``nonneg=False``); it is the
    first ISTA iterate from zero with unit step. It is refined by

    * ``method="ista"``: proximal-gradient steps with step ``1/L``, ``L = ||D||_2^2``,
      ``a_{k+1} = prox_{lam/L}(a_k + D^T (x - D a_k) / L)``, which decrease ``F`` monotonically
      (Beck & Teboulle 2009), so ``gap_iterated`` is non-increasing in ``k``;
    * ``method="lca"``: analog LCA (:func:`neurosim.models.lca.analog_lca`) started at
      ``u_0 = D^T x``, whose output ``T_lam(u_0)`` is exactly the one-step code, with
      ``dt/tau = dt_over_tau`` per step (not guaranteed monotone).

    ``F`` is the LASSO objective (:func:`neurosim.lasso.lasso_objective`); ``F*`` comes from
    :func:`neurosim.lasso.fista` with KKT tolerance ``tol``.
    """
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    lam = check_lam(lam, D.shape[1])
    its = np.array(sorted({int(k) for k in iterations}), dtype=np.int64)
    if its.size and its[0] < 1:
        raise NetworkError(describe("parameter", "iterations", "iteration counts must be >= 1", got=list(iterations),
                                    expected=">= 1"))
    if method not in ("ista", "lca"):
        raise NetworkError(describe("parameter", "method", "unknown refinement", got=method,
                                    expected="'ista' or 'lca'"))
    A_opt = fista(D, X, lam, nonneg=nonneg, tol=tol, max_iter=max_iter)
    F_opt = lasso_objective(D, X, A_opt, lam, nonneg=nonneg)
    A0 = relu_code(D, X, lam, signed=not nonneg)
    F0 = lasso_objective(D, X, A0, lam, nonneg=nonneg)
    gaps = []
    if its.size and method == "ista":
        L = lipschitz(D)
        A = A0.copy()
        B = X @ D
        G = D.T @ D
        thr = lam / L
        k = 0
        for target in its:
            while k < target:
                V = A + (B - A @ G) / L
                A = np.maximum(V - thr, 0.0) if nonneg else np.sign(V) * np.maximum(np.abs(V) - thr, 0.0)
                k += 1
            gaps.append(lasso_objective(D, X, A, lam, nonneg=nonneg) - F_opt)
    elif its.size:
        _, hist = analog_lca(D, X, lam, threshold="nonneg" if nonneg else "soft", steps=int(its[-1]),
                             dt_over_tau=dt_over_tau, u0=X @ D, return_history=True)
        # hist[k] is the code before step k (hist[0] = one-step code); the last entry is after all steps
        for target in its:
            gaps.append(lasso_objective(D, X, hist[target], lam, nonneg=nonneg) - F_opt)
    gap_it = np.array(gaps) if gaps else np.zeros((0, X.shape[0]))
    res = OneStepComparison(objective_one_step=F0, objective_opt=F_opt, gap=F0 - F_opt, iterations=its,
                            gap_iterated=gap_it, method=method)
    logger.info("one-step vs iterated (%s): mean gap %.4g (relative %.3g)", method, res.gap.mean(),
                res.relative_gap.mean())
    return res
