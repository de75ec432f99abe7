"""How good is a one-step ReLU (thresholding) code for a non-orthogonal dictionary?

:func:`compare_one_step_vs_iterated` measures, per input row, the LASSO objective of the one-step
code ``ReLU(X D - lam)`` (or ``soft``) against the iterated optimum (FISTA), the study of
Bowren's reading in ``shared/reference/algorithms.md`` section 6. The one-step codes and the MAP
derivation are in :mod:`neurosim.solvers.relu`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from neurosim.errors import NetworkError, describe
from neurosim.solvers.lasso import fista, lasso_objective, lipschitz
from neurosim.solvers.lca import analog_lca
from neurosim.solvers.relu import relu_code
from neurosim.validation.checks import check_dictionary, check_inputs, check_lam

__all__ = ['OneStepComparison', 'compare_one_step_vs_iterated']

logger = logging.getLogger(__name__)
Lam = Union[float, np.ndarray]


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
    * ``method="lca"``: analog LCA (:func:`neurosim.solvers.lca.analog_lca`) started at
      ``u_0 = D^T x``, whose output ``T_lam(u_0)`` is exactly the one-step code, with
      ``dt/tau = dt_over_tau`` per step (not guaranteed monotone).

    ``F`` is the LASSO objective (:func:`neurosim.solvers.lasso.lasso_objective`); ``F*`` comes from
    :func:`neurosim.solvers.lasso.fista` with KKT tolerance ``tol``.
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

