"""LASSO references (neurosim.solvers.lasso) against scikit-learn's coordinate descent and closed forms."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Lasso

from neurosim.errors import NetworkError
from neurosim.solvers.lasso import duality_gap, fista, kkt_residual, lasso_objective, lipschitz


def _problem(M=20, N=40, batch=3, seed=0, nonneg=False):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((M, N))
    D /= np.linalg.norm(D, axis=0)
    Z = np.zeros((batch, N))
    for b in range(batch):
        idx = rng.choice(N, 4, replace=False)
        Z[b, idx] = rng.uniform(1, 2, 4) * (1 if nonneg else rng.choice([-1, 1], 4))
    return D, Z @ D.T + 0.05 * rng.standard_normal((batch, M))


def _sklearn(D, x, lam, nonneg):
    # sklearn minimises 1/(2 n_samples) ||y - Xw||^2 + alpha ||w||_1 with n_samples = M
    m = Lasso(alpha=lam / D.shape[0], fit_intercept=False, positive=nonneg, tol=1e-14, max_iter=200000)
    return m.fit(D, x).coef_


@pytest.mark.parametrize("nonneg", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_fista_matches_sklearn_coordinate_descent(nonneg, seed):
    D, X = _problem(seed=seed)
    lam = 0.2
    A = fista(D, X, lam, nonneg=nonneg, tol=1e-11)
    for b in range(X.shape[0]):
        ref = _sklearn(D, X[b], lam, nonneg)
        f_ours = lasso_objective(D, X[b], A[b], lam, nonneg=nonneg)[0]
        f_ref = lasso_objective(D, X[b], ref, lam, nonneg=nonneg)[0]
        assert abs(f_ours - f_ref) <= 1e-10 * f_ref
        np.testing.assert_allclose(A[b], ref, atol=1e-7)
        assert kkt_residual(D, X[b], ref, lam, nonneg=nonneg)[0] < 1e-7
    if nonneg:
        assert np.all(A >= 0)


@pytest.mark.parametrize("nonneg", [False, True])
def test_fista_orthonormal_dictionary_is_one_threshold_step(nonneg):
    # D^T D = I: the problem separates, a_i = soft(d_i^T x, lam) (or ReLU(d_i^T x - lam)).
    rng = np.random.default_rng(3)
    D, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    X = rng.standard_normal((5, 16))
    lam = 0.3
    b = X @ D
    want = np.maximum(b - lam, 0) if nonneg else np.sign(b) * np.maximum(np.abs(b) - lam, 0)
    np.testing.assert_allclose(fista(D, X, lam, nonneg=nonneg), want, atol=1e-10)


def test_weighted_penalty_matches_sklearn_on_rescaled_atoms():
    # sum_i w_i |a_i| with atoms d_i is the plain LASSO over atoms d_i / w_i, codes a_i' = w_i a_i.
    D, X = _problem(M=15, N=30, batch=2, seed=5)
    w = np.random.default_rng(6).uniform(0.5, 2.0, 30)
    A = fista(D, X, 0.1 * w, tol=1e-11)
    for b in range(2):
        ref = _sklearn(D / w, X[b], 0.1, False) / w
        np.testing.assert_allclose(A[b], ref, atol=1e-7)


def test_objective_by_hand():
    D = np.array([[1.0, 0.0], [0.0, 2.0]])
    x = np.array([1.0, 1.0])
    a = np.array([0.5, -0.25])
    # residual (0.5, 1.5): 1/2 (0.25 + 2.25) = 1.25; penalty 0.5 * (0.5 + 0.25) = 0.375
    assert lasso_objective(D, x, a, 0.5)[0] == pytest.approx(1.625)
    assert lasso_objective(D, x, a, 0.5, nonneg=True)[0] == np.inf
    assert lasso_objective(D, x, np.abs(a), 0.5, nonneg=True)[0] == pytest.approx(0.5 * (0.25 + 0.25) + 0.375)


def test_kkt_residual_by_hand():
    D = np.eye(2)
    x = np.array([1.0, -0.2])
    # a = 0: c = x; violations max(|c| - lam, 0) = (0.5, 0) signed; nonneg: max(c - lam, 0) = (0.5, 0)
    assert kkt_residual(D, x, np.zeros(2), 0.5)[0] == pytest.approx(0.5)
    assert kkt_residual(D, x, np.zeros(2), 0.5, nonneg=True)[0] == pytest.approx(0.5)
    # a = (0.5, 0) is optimal for both: c = (0.5, -0.2)
    assert kkt_residual(D, x, np.array([0.5, 0.0]), 0.5)[0] == pytest.approx(0.0, abs=1e-15)
    # a = (0.7, 0): c_1 = 0.3 != lam on the support -> |0.3 - 0.5| = 0.2
    assert kkt_residual(D, x, np.array([0.7, 0.0]), 0.5)[0] == pytest.approx(0.2)
    # a negative entry is infeasible for the non-negative problem
    assert kkt_residual(D, x, np.array([0.5, -0.1]), 0.5, nonneg=True)[0] == np.inf
    # signed: a_2 = -0.1 gives c_2 = -0.1, |c_2 - lam * sign(a_2)| = |-0.1 + 0.5| = 0.4
    assert kkt_residual(D, x, np.array([0.5, -0.1]), 0.5)[0] == pytest.approx(0.4)


def test_kkt_residual_is_zero_only_at_optimum():
    D, X = _problem(seed=2)
    A = fista(D, X, 0.2, tol=1e-12)
    assert np.all(kkt_residual(D, X, A, 0.2) < 1e-11)
    rng = np.random.default_rng(0)
    assert np.all(kkt_residual(D, X, A + 1e-3 * rng.standard_normal(A.shape), 0.2) > 1e-5)


def test_fista_batch_equals_rows_and_shapes():
    D, X = _problem(batch=4, seed=7)
    A = fista(D, X, 0.15)
    assert A.shape == (4, 40)
    for b in range(4):
        a = fista(D, X[b], 0.15)
        assert a.shape == (40,)
        np.testing.assert_allclose(a, A[b], atol=1e-8)


def test_fista_warm_start_at_optimum_stops_immediately():
    D, X = _problem(seed=8)
    A, info = fista(D, X, 0.2, tol=1e-10, return_info=True)
    assert info["converged"].all()
    A2, info2 = fista(D, X, 0.2, tol=1e-8, A0=A, return_info=True)
    assert np.all(info2["iterations"] == 1)
    np.testing.assert_allclose(A2, A, atol=1e-9)


def test_fista_without_restart_also_converges():
    D, X = _problem(seed=9, nonneg=True)
    A1 = fista(D, X, 0.2, nonneg=True, restart=False, tol=1e-10)
    A2 = fista(D, X, 0.2, nonneg=True, restart=True, tol=1e-10)
    np.testing.assert_allclose(A1, A2, atol=1e-8)


@pytest.mark.parametrize("kwargs", [{"adaptive": False}, {"polish_every": 0}, {"check_every": 7},
                                    {"adaptive": False, "polish_every": 0, "restart": False}])
def test_fista_variants_reach_the_same_optimum(kwargs):
    D, X = _problem(seed=12)
    np.testing.assert_allclose(fista(D, X, 0.2, tol=1e-10, **kwargs), fista(D, X, 0.2, tol=1e-10), atol=1e-8)


def test_fista_float32_for_loose_tolerances():
    D, X = _problem(seed=13)
    A, info = fista(D, X, 0.2, tol=1e-3, dtype=np.float32, return_info=True)
    assert A.dtype == np.float64 and info["converged"].all()
    assert np.all(kkt_residual(D, X, A, 0.2) < 1e-3 + 1e-5)
    with pytest.raises(NetworkError, match="dtype"):
        fista(D, X, 0.2, dtype=np.int32)


@pytest.mark.parametrize("nonneg", [False, True])
def test_duality_gap_bounds_the_objective_gap(nonneg):
    D, X = _problem(seed=14, nonneg=nonneg)
    A = fista(D, X, 0.2, nonneg=nonneg, tol=1e-12)
    f_opt = lasso_objective(D, X, A, 0.2, nonneg=nonneg)
    np.testing.assert_allclose(duality_gap(D, X, A, 0.2, nonneg=nonneg), 0.0, atol=1e-9)
    rng = np.random.default_rng(1)
    for scale in (1e-3, 1e-1, 1.0):
        B = A + scale * rng.standard_normal(A.shape)
        B = np.maximum(B, 0) if nonneg else B
        gap = lasso_objective(D, X, B, 0.2, nonneg=nonneg) - f_opt
        assert np.all(duality_gap(D, X, B, 0.2, nonneg=nonneg) >= gap - 1e-12)
    # the zero code: theta = s x; for a code with a negative entry the non-negative gap is inf
    if nonneg:
        assert np.all(duality_gap(D, X, -np.abs(A) - 1e-3, 0.2, nonneg=True) == np.inf)


def test_fista_gap_tolerance_guarantees_the_relative_gap():
    D, X = _problem(seed=15, batch=6)
    f_opt = lasso_objective(D, X, fista(D, X, 0.2, tol=1e-12), 0.2)
    A, info = fista(D, X, 0.2, tol=0.0, gap_tol=1e-3, polish_every=0, return_info=True)
    assert info["converged"].all()
    rel = (lasso_objective(D, X, A, 0.2) - f_opt) / f_opt
    assert np.all(rel <= 1e-3) and np.all(rel >= -1e-12)


def test_fista_budget_exhausted_warns(caplog):
    D, X = _problem(seed=10)
    with caplog.at_level(logging.WARNING, logger="neurosim.solvers.lasso"):
        _, info = fista(D, X, 0.2, max_iter=2, return_info=True)
    assert not info["converged"].all()
    assert "met neither tolerance" in caplog.text


def test_lipschitz_is_spectral_norm_squared():
    D, _ = _problem(seed=11)
    assert lipschitz(D) == pytest.approx(np.linalg.svd(D, compute_uv=False)[0] ** 2)


@pytest.mark.parametrize("D, X, lam, match", [
    (np.ones(5), np.ones((1, 5)), 0.1, "2-D"),
    (np.ones((5, 3)), np.ones((2, 4)), 0.1, r"\(batch, 5\)"),
    (np.ones((5, 3)), np.ones(5), -0.1, "non-negative"),
    (np.ones((5, 3)), np.ones(5), np.ones(2), "one value per atom"),
    (np.ones((5, 3)), np.full(5, np.nan), 0.1, "NaN"),
    (np.array([["a", "b"]]), np.ones(2), 0.1, "numeric"),
    (np.zeros((5, 3)), np.ones(5), 0.1, "all-zero atoms"),
])
def test_bad_arguments_raise_network_error(D, X, lam, match):
    with pytest.raises(NetworkError, match=match):
        fista(D, X, lam)


def test_bad_budget_and_tolerance():
    D, X = _problem()
    with pytest.raises(NetworkError, match="max_iter"):
        fista(D, X, 0.1, max_iter=0)
    with pytest.raises(NetworkError, match="tol"):
        fista(D, X, 0.1, tol=-1.0)
    with pytest.raises(NetworkError, match=r"\(3, 40\)"):
        lasso_objective(D, X, np.zeros((2, 40)), 0.1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(0.01, 2.0), nonneg=st.booleans())
def test_fista_solution_beats_every_nearby_code(seed, lam, nonneg):
    D, X = _problem(M=8, N=12, batch=1, seed=seed, nonneg=nonneg)
    a = fista(D, X, lam, nonneg=nonneg, tol=1e-11)
    f = lasso_objective(D, X, a, lam, nonneg=nonneg)[0]
    rng = np.random.default_rng(seed)
    trial = a + 1e-2 * rng.standard_normal((50, a.shape[1]))
    if nonneg:
        trial = np.maximum(trial, 0)
    assert np.all(lasso_objective(D, np.repeat(X, 50, axis=0), trial, lam, nonneg=nonneg) >= f - 1e-12)


def test_fista_refuses_inputs_that_overflow_up_front():
    D = np.eye(4)
    with pytest.raises(NetworkError, match="too large for float64 arithmetic"):
        fista(D, np.full((2, 4), 1e200), 0.1)
    with pytest.raises(NetworkError, match="too large for float32 arithmetic"):
        fista(D, np.full((2, 4), 1e30), 0.1, dtype=np.float32)
