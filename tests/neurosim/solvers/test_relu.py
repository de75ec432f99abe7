"""The ReLU view of sparse coding (neurosim.solvers.relu).

Ground truth: FISTA (neurosim.solvers.lasso) for the (non-negative, weighted) LASSO, the analog LCA
fixed point (neurosim.builders.lca) and scipy's bound-constrained minimiser for the MAP objective.
"""
import numpy as np
import pytest
import scipy.optimize
from scipy.fft import dct

from neurosim.errors import NetworkError
from neurosim.solvers.lasso import fista, kkt_residual
from neurosim.solvers.lca import analog_lca
from neurosim.solvers.relu import exponential_prior_bias, map_objective, relu_code, relu_map_code, soft_code
from neurosim.studies.relu import compare_one_step_vs_iterated


def _orthonormal(kind, n=32, seed=0):
    if kind == "dct":
        return dct(np.eye(n), norm="ortho", axis=0)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return Q


@pytest.mark.parametrize("kind", ["random", "dct"])
@pytest.mark.parametrize("nonneg", [True, False])
def test_one_step_equals_fista_for_orthonormal_D(kind, nonneg):
    D = _orthonormal(kind)
    X = np.random.default_rng(1).standard_normal((40, 32))
    lam = 0.3
    ref = fista(D, X, lam, nonneg=nonneg, tol=1e-12)
    one = relu_code(D, X, lam, signed=not nonneg)
    assert np.max(np.abs(one - ref)) <= 1e-8
    assert np.max(kkt_residual(D, X, one, lam, nonneg=nonneg)) <= 1e-10
    assert np.count_nonzero(one) > 0 and np.count_nonzero(one == 0) > 0  # both regimes exercised


def test_signed_version_is_soft_threshold_and_lca_fixed_point():
    D = _orthonormal("random", 16, seed=2)
    X = np.random.default_rng(3).standard_normal((10, 16))
    np.testing.assert_array_equal(soft_code(D, X, 0.4), relu_code(D, X, 0.4, signed=True))
    B = X @ D
    np.testing.assert_allclose(soft_code(D, X, 0.4), np.sign(B) * np.maximum(np.abs(B) - 0.4, 0), atol=1e-15)
    # the LCA's fixed point (from u = 0) is the one-step code as well
    lca = analog_lca(D, X, 0.4, threshold="nonneg", steps=400, dt_over_tau=0.2)
    np.testing.assert_allclose(lca, relu_code(D, X, 0.4), atol=1e-8)


def test_per_unit_exponential_prior_gives_per_unit_bias():
    D = _orthonormal("random", 12, seed=4)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((6, 12))
    rates, sigma2 = rng.uniform(0.5, 3.0, 12), 0.2
    np.testing.assert_allclose(exponential_prior_bias(rates, sigma2=sigma2), sigma2 * rates)
    a_map = relu_map_code(D, X, rates, sigma2=sigma2)
    np.testing.assert_allclose(a_map, np.maximum(X @ D - sigma2 * rates, 0.0), atol=1e-15)
    # weighted non-negative LASSO solved independently (FISTA with per-atom weights)
    np.testing.assert_allclose(a_map, fista(D, X, sigma2 * rates, nonneg=True, tol=1e-12), atol=1e-8)
    # and the MAP objective is minimised: compare with scipy's bound-constrained minimiser
    for x, a in zip(X, a_map):
        f = lambda v: float(map_objective(D, x, v, rates, sigma2=sigma2)[0])
        grad = lambda v: (D.T @ (D @ v - x)) / sigma2 + rates
        res = scipy.optimize.minimize(f, np.ones(12), jac=grad, bounds=[(0, None)] * 12, method="L-BFGS-B",
                                      options={"ftol": 1e-14, "gtol": 1e-12})
        assert f(a) <= res.fun + 1e-9
        np.testing.assert_allclose(res.x, a, atol=1e-5)
    assert np.isinf(map_objective(D, X[0], -np.ones(12), rates, sigma2=sigma2))


@pytest.mark.parametrize("method", ["ista", "lca"])
@pytest.mark.parametrize("nonneg", [True, False])
def test_gap_for_non_orthogonal_D_is_positive_and_shrinks(method, nonneg):
    rng = np.random.default_rng(6)
    D = rng.standard_normal((32, 64))
    D /= np.linalg.norm(D, axis=0)
    X = rng.standard_normal((25, 32))
    its = (1, 5, 20, 100, 400)
    res = compare_one_step_vs_iterated(D, X, 0.3, nonneg=nonneg, iterations=its, method=method)
    assert np.all(res.gap > 1e-3) and res.relative_gap.mean() > 0.1
    mean_gaps = res.gap_iterated.mean(axis=1)
    assert np.all(np.diff(np.concatenate([[res.gap.mean()], mean_gaps])) < 0)
    assert mean_gaps[-1] < 1e-3 * res.gap.mean()
    if method == "ista":  # proximal gradient with step 1/L is monotone for every input
        assert np.all(np.diff(res.gap_iterated, axis=0) <= 1e-12)
    s = res.summary()
    assert set(s["iterated"]) == set(its)


def test_gap_vanishes_for_orthonormal_D():
    D = _orthonormal("random", 20, seed=7)
    X = np.random.default_rng(8).standard_normal((15, 20))
    res = compare_one_step_vs_iterated(D, X, 0.2, iterations=(1, 3))
    assert np.max(np.abs(res.gap)) < 1e-10


def test_bad_arguments():
    D = _orthonormal("random", 8)
    with pytest.raises(NetworkError):
        relu_code(D, np.ones((2, 7)), 0.1)
    with pytest.raises(NetworkError):
        exponential_prior_bias(np.array([-1.0]))
    with pytest.raises(NetworkError):
        compare_one_step_vs_iterated(D, np.ones((2, 8)), 0.1, method="magic")
    with pytest.raises(NetworkError):
        compare_one_step_vs_iterated(D, np.ones((2, 8)), 0.1, iterations=(0,))
