"""Event-driven analog LCA: the compiled solver, the engine's settling rows and SparseCoder agree,
stop each input on its own, and read only the active neurons' rows."""
import numpy as np
import pytest

from neurosim import NetworkError, SparseCoder
from neurosim.builders.lca import run_analog_lca
from neurosim.data.samples import random_lasso_problem
from neurosim.neurons import threshold_function
from neurosim.solvers.lasso import fista, lasso_objective
from neurosim.solvers.lca import analog_lca, lca_gram
from neurosim.solvers.lca_events import THRESHOLD_KINDS, lca_events


@pytest.fixture
def problem():
    return random_lasso_problem(24, 64, 3, batch=12, seed=4)


def dense_reference(D, X, lam, threshold, steps, r, tol=None):
    """The Euler iteration with the full Gram product, row by row (independent ground truth)."""
    G = D.T @ D - np.eye(D.shape[1])
    out, took = [], []
    for x in X:
        u = np.zeros(D.shape[1])
        for s in range(steps):
            du = r * (x @ D - u - G @ threshold_function(u, lam, threshold))
            u = u + du
            if tol is not None and np.max(np.abs(du)) <= tol * r:
                break
        out.append(threshold_function(u, lam, threshold))
        took.append(s + 1)
    return np.array(out), np.array(took)


@pytest.mark.parametrize("threshold", ["soft", "nonneg", "hard"])
def test_event_driven_solver_equals_the_dense_iteration(problem, threshold):
    D, X = problem.D, problem.X
    want, _ = dense_reference(D, X, 0.1, threshold, 300, 0.1)
    got = analog_lca(D, X, 0.1, threshold=threshold, steps=300, dt_over_tau=0.1)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_each_input_stops_once_settled(problem):
    D, X = problem.D, problem.X
    want, took_ref = dense_reference(D, X, 0.1, "soft", 5000, 0.1, tol=1e-6)
    got, took = analog_lca(D, X, 0.1, steps=5000, dt_over_tau=0.1, tol=1e-6, return_steps=True)
    np.testing.assert_array_equal(took, took_ref)
    assert took.min() < took.max() < 5000  # inputs stop at different steps, before the cap
    np.testing.assert_allclose(got, want, atol=1e-12)
    f = lasso_objective(D, X, got, 0.1)
    f_opt = lasso_objective(D, X, fista(D, X, 0.1, tol=1e-11), 0.1)
    assert np.all((f - f_opt) / f_opt < 1e-8)


def test_only_active_rows_are_read(problem):
    D, X = problem.D, problem.X
    G, B = lca_gram(D), X @ D
    U = np.zeros_like(B)
    done, events = np.zeros(len(X), np.int64), np.zeros(len(X), np.int64)
    lca_events(G, B, U, np.full(64, 0.1), THRESHOLD_KINDS["soft"], 0.1, 400, -1.0, done, events)
    codes = threshold_function(U, 0.1, "soft")
    assert np.all(done == 400)
    # the lateral rows read per step are the active neurons, a small share of the 64 at the end
    assert events.sum() < 0.5 * 64 * 400 * len(X)
    assert np.count_nonzero(codes, axis=1).max() < 20


def test_history_is_the_same_computation(problem):
    D, X = problem.D, problem.X
    plain = analog_lca(D, X, 0.1, threshold="hard", steps=200)
    codes, hist = analog_lca(D, X, 0.1, threshold="hard", steps=200, return_history=True, history_every=7)
    assert np.array_equal(codes, plain) and hist.shape == (-(-200 // 7) + 1, 12, 64)


def test_float32_and_divergence(problem):
    D, X = problem.D, problem.X
    a64 = analog_lca(D, X, 0.1, steps=400)
    a32 = analog_lca(D, X, 0.1, steps=400, dtype=np.float32)
    np.testing.assert_allclose(a32, a64, atol=1e-4)
    with pytest.raises(NetworkError, match=r"dt_over_tau.*diverged at step \d+ \(input \d+\)"):
        analog_lca(D, X, 0.1, steps=400, dt_over_tau=5.0)


def test_engine_settles_rows_like_the_solver(problem):
    D, X = problem.D, problem.X
    want, took = analog_lca(D, X, 0.1, steps=3000, dt_over_tau=0.1, tol=1e-5, return_steps=True)
    got, res = run_analog_lca(D, X, 0.1, steps=3000, dt_over_tau=0.1, tol=1e-5)
    np.testing.assert_array_equal(res.row_steps, took)
    np.testing.assert_allclose(got, want, atol=1e-12)
    # a settled row emits nothing more: its events stop at its own step count
    _, full = run_analog_lca(D, X, 0.1, steps=3000, dt_over_tau=0.1)
    assert res.activity.counts["lca"].sum() < full.activity.counts["lca"].sum()
    with pytest.raises(NetworkError, match="needs the compiled backend"):
        run_analog_lca(D, X, 0.1, steps=10, backend="numpy", tol=1e-5)


def test_sparse_coder_lca_stops_per_input(problem):
    D, X = problem.D, problem.X
    coder = SparseCoder(D, lam=0.1, method="lca", steps=20000).fit()
    codes = coder.transform(X)
    ref = fista(D, X, 0.1, tol=1e-11)
    f, f_opt = lasso_objective(D, X, codes, 0.1), lasso_objective(D, X, ref, 0.1)
    assert np.all((f - f_opt) / f_opt < 1e-9)
    loose = SparseCoder(D, lam=0.1, method="lca", steps=20000, tol=1e-2).fit().transform(X)
    assert np.all((lasso_objective(D, X, loose, 0.1) - f_opt) / f_opt < 1e-2)
