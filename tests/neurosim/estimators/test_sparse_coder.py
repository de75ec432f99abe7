"""SparseCoder (neurosim.estimators.sparse_coder): scikit-learn protocol, methods agree, validation."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from neurosim.data.samples import random_lasso_problem
from neurosim.errors import NetworkError
from neurosim.estimators.sparse_coder import SparseCoder
from neurosim.solvers.lasso import fista, lasso_objective


@pytest.fixture
def problem():
    return random_lasso_problem(32, 64, 3, batch=4, seed=21)


def test_fit_sets_components_and_returns_self(problem):
    coder = SparseCoder(problem.D, lam=0.1)
    assert coder.fit() is coder
    np.testing.assert_array_equal(coder.components_, problem.D.T)
    assert coder.n_features_in_ == 32 and coder.n_components_ == 64
    assert coder.fit(problem.X) is coder


@pytest.mark.parametrize("method, tol", [("fista", 1e-10), ("lca", 1e-6), ("slca", 1e-3)])
@pytest.mark.parametrize("nonneg", [False, True])
def test_methods_reach_the_optimum(problem, method, tol, nonneg):
    codes = SparseCoder(problem.D, lam=0.1, method=method, nonneg=nonneg).fit().transform(problem.X)
    assert codes.shape == (4, 64)
    ref = fista(problem.D, problem.X, 0.1, nonneg=nonneg, tol=1e-11)
    f = lasso_objective(problem.D, problem.X, codes, 0.1, nonneg=nonneg)
    f_ref = lasso_objective(problem.D, problem.X, ref, 0.1, nonneg=nonneg)
    assert np.all((f - f_ref) / f_ref <= tol)


def test_single_vector_and_last_result(problem):
    coder = SparseCoder(problem.D, lam=0.1, method="slca", steps=2000)
    a = coder.transform(problem.X[0])
    assert a.shape == (64,)
    assert coder.last_result_.activity.total_events > 0
    assert SparseCoder(problem.D, method="fista").fit_transform(problem.X).shape == (4, 64)


def test_sklearn_clone_and_params(problem):
    coder = SparseCoder(problem.D, lam=0.2, method="lca", steps=50)
    twin = clone(coder)
    assert twin.get_params()["lam"] == 0.2 and twin.get_params()["method"] == "lca"
    coder.set_params(method="fista")
    assert coder.method == "fista"
    with pytest.raises(NetworkError, match="unknown parameter"):
        coder.set_params(alpha=1.0)
    assert "method='fista'" in repr(coder)


@pytest.mark.parametrize("kwargs, X, match", [
    ({"method": "omp"}, None, "unknown method"),
    ({"lam": -1.0}, None, "non-negative"),
    ({"steps": 0}, None, "steps"),
    ({"dt_s": 0.0, "method": "lca"}, None, "dt_s"),
    ({"dt_s": "fast", "method": "slca"}, None, "dt_s"),
    ({"nonneg": "yes"}, None, "bool"),
    ({}, np.ones((2, 31)), r"\(batch, 32\)"),
    ({}, np.full((2, 32), np.inf), "NaN or inf"),
    ({}, np.array([["a"] * 32]), "numeric"),
])
def test_validation_errors(problem, kwargs, X, match):
    coder = SparseCoder(problem.D, **kwargs)
    with pytest.raises(NetworkError, match=match):
        coder.fit(X) if X is None else coder.transform(X)


def test_bad_dictionary():
    with pytest.raises(NetworkError, match="dictionary 'dictionary'"):
        SparseCoder(np.ones(5)).fit()
