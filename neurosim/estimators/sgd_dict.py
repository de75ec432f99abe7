"""The non-local baseline of Lin & Tang: SGD dictionary learning (their eq. 7), non-negative.

Per mini-batch ``X_b`` (batch 1 = the paper's online SGD)::

    A   = argmin_{A >= 0} 1/2 ||X_b - A D^T||^2 + lam ||A||_1        (FISTA, neurosim.solvers.lasso)
    D  <- D - eta ( mean_b (D a_b - x_b) a_b^T + lambda2 D )           (eq. 7)
    D  <- max(D, 0);  d_i <- d_i / ||d_i||                             (non-negative, unit-norm atoms)

It needs the whole dictionary at every step (the gradient column ``d_i`` reads every input pixel
and every other atom through ``D a``, and renormalisation reads a whole column), which is what the
local network avoids. An atom that the projection zeroes is re-drawn from a random training
sample (as scikit-learn does for unused atoms).
"""
from __future__ import annotations

import json
from typing import Callable, Optional, Union

import numpy as np

from neurosim.builders.dictnet import init_dictionary
from neurosim.data.planted import test_objective, unit_atoms
from neurosim.errors import NetworkError, describe
from neurosim.estimators.dictlearn import TrainState, code_step_scale, proxy_codes, train_loop
from neurosim.solvers.lasso import fista

__all__ = ['SGDDictionaryLearning']



#: eta="auto": step times (lambda_max(C0) + tr(C0)/batch)
AUTO_ETA = 1.0


class SGDDictionaryLearning:
    """Projected SGD on ``1/2 ||x - D a||^2 + lam ||a||_1`` with ``D >= 0`` and unit-norm atoms.

    Parameters
    ----------
    n_components : int
    lam : float
        Sparsity penalty.
    eta : float or "auto"
        Learning rate; ``"auto"`` is ``AUTO_ETA * code_step_scale(A0, batch_size)`` with ``A0`` =
        :func:`~neurosim.estimators.dictlearn.proxy_codes` (same heuristic as the local learner).
    lambda2 : float
        Weight decay (eq. 7; it has no effect on the direction of unit-norm atoms but is kept
        for fidelity).
    batch_size : int
    n_epochs : float
    n_samples : int, optional
        Total samples (overrides ``n_epochs``).
    init : {"random", "data"}
        Same initial dictionary as :class:`~neurosim.estimators.dictlearn.LocalDictionaryLearning`
        for the same ``seed`` and ``init``.
    tol : float
        FISTA tolerance (KKT residual).
    eval_every : int, optional
    seed : int
    """

    def __init__(self, n_components: int, *, lam: float = 0.1, eta: Union[float, str] = 0.05, lambda2: float = 0.0,
                 batch_size: int = 1, n_epochs: float = 1.0, n_samples: Optional[int] = None, init: str = "random",
                 tol: float = 1e-6, eval_every: Optional[int] = None, seed: int = 0):
        self.n_components, self.lam, self.eta, self.lambda2 = n_components, lam, eta, lambda2
        self.batch_size, self.n_epochs, self.n_samples, self.init = batch_size, n_epochs, n_samples, init
        self.tol, self.eval_every, self.seed = tol, eval_every, seed

    def initial_state(self, X: np.ndarray) -> TrainState:
        """A fresh state: the initial dictionary (same as the local learner's for equal seed/init)."""
        X = _check(X)
        rng = np.random.default_rng(self.seed)
        D = init_dictionary(X.shape[1], self.n_components, rng=rng, init=self.init, X=X)
        return TrainState(D, rng_state=json.dumps(rng.bit_generator.state))

    def resolve_eta(self, X: np.ndarray) -> float:
        """The learning rate used for training data ``X`` (see ``eta``)."""
        if self.eta != "auto":
            return float(self.eta)
        A = proxy_codes(X, self.n_components, lam=self.lam, seed=self.seed)
        return AUTO_ETA * code_step_scale(A, self.batch_size)

    def total_samples(self, n_train: int) -> int:
        return int(self.n_samples) if self.n_samples is not None else int(round(self.n_epochs * n_train))

    def fit(self, X: np.ndarray, y=None, *, X_test: Optional[np.ndarray] = None, state: Optional[TrainState] = None,
            callback: Optional[Callable[[TrainState], bool]] = None) -> "SGDDictionaryLearning":
        """Learn ``D`` from the rows of ``X``; ``state`` resumes, ``callback(state)`` may stop early."""
        X = _check(X)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise NetworkError(describe("parameter", "batch_size", "must be a positive integer", got=self.batch_size))
        self.eta_ = self.resolve_eta(X)
        state = state if state is not None else self.initial_state(X)
        refill = np.random.default_rng([self.seed, 1])  # only for re-drawing dead atoms

        def step(st: TrainState, Xb: np.ndarray) -> None:
            D = st.params
            A = fista(D, Xb, self.lam, nonneg=True, tol=self.tol)
            grad = (A @ D.T - Xb).T @ A / len(Xb)
            D = np.maximum(D - self.eta_ * (grad + self.lambda2 * D), 0.0)
            dead = np.linalg.norm(D, axis=0) == 0
            if dead.any():
                D[:, dead] = X[refill.integers(0, len(X), int(dead.sum()))].T + 1e-3
            st.params = unit_atoms(D)

        def record(st: TrainState) -> None:
            h = st.history
            h["samples"].append(float(st.samples_seen))
            h["test_objective"].append(test_objective(st.params, X_test, self.lam))
            h["consistency"].append(float("nan"))
            h["symmetry"].append(float("nan"))
            h["mean_norm"].append(1.0)

        train_loop(state, X, total=self.total_samples(len(X)), batch_size=self.batch_size, step=step,
                   record=record if X_test is not None else None, eval_every=self.eval_every, callback=callback)
        self.state_ = state
        self.components_ = state.params.T.copy()
        self.history_ = state.history
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Non-negative LASSO codes of ``X`` with the learned dictionary."""
        return fista(self.components_.T, X, self.lam, nonneg=True, tol=self.tol)


def _check(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0 or not np.all(np.isfinite(X)):
        raise NetworkError(describe("inputs", "X", "must be a finite non-empty 2-D array", got=X.shape))
    return X

