"""Unrolled ISTA encoder and its hand-written backward pass (neurosim.solvers.pudle_grad).

Ground truth: central finite differences of the batch loss (float64, small m, p, T) and the
closed-form LASSO solution reached by FISTA (neurosim.solvers.lasso).
"""
import numpy as np
import pytest
import threadpoolctl

from neurosim.data.planted import make_planted
from neurosim.errors import InputError, SimulationError
from neurosim.solvers.lasso import fista
from neurosim.solvers.pudle_grad import apply_threshold, check_step, encode, pudle_loss, unrolled_gradient

M, P, N, T = 6, 9, 5, 7


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpoolctl.threadpool_limits(1):
        yield


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((M, P))
    D /= np.linalg.norm(D, axis=0)
    X = 2.0 * rng.standard_normal((N, M))
    return D, X


def _kink_margin(D, X, *, lam, alpha, threshold, hard_threshold):
    """Smallest distance of any pre-activation c_t to the threshold's kink (FD needs it >> h)."""
    theta = hard_threshold if threshold == "hard" else alpha * lam
    W = np.eye(P) - alpha * D.T @ D
    b = alpha * D.T @ X.T
    z = np.zeros_like(b)
    margin = np.inf
    for _ in range(T):
        c = W @ z + b
        kinks = [np.abs(np.abs(c) - theta)] if threshold != "nonneg" else [np.abs(c - theta)]
        margin = min(margin, min(k.min() for k in kinks))
        z = apply_threshold(c, theta, threshold)
    return margin


def _fd_grad(D, X, h, **kw):
    g = np.zeros_like(D)
    for i in range(D.shape[0]):
        for j in range(D.shape[1]):
            Dp, Dm = D.copy(), D.copy()
            Dp[i, j] += h
            Dm[i, j] -= h
            g[i, j] = (pudle_loss(Dp, X, **kw) - pudle_loss(Dm, X, **kw)) / (2 * h)
    return g


@pytest.mark.parametrize("threshold,hard", [("soft", None), ("nonneg", None), ("hard", 0.1)])
@pytest.mark.parametrize("estimator,loss", [("g_ae-ls", "ls"), ("g_ae-lasso", "lasso"), ("g_dec", "lasso")])
@pytest.mark.parametrize("memory", [1e9, 1.0])  # everything stored / checkpointed segments
def test_gradients_match_central_differences(threshold, hard, estimator, loss, memory):
    D, X = _problem()
    kw = dict(lam=0.3, alpha=0.2, T=T, threshold=threshold, hard_threshold=hard)
    h = 1e-6
    assert _kink_margin(D, X, lam=0.3, alpha=0.2, threshold=threshold, hard_threshold=hard) > 1e3 * h
    res = unrolled_gradient(D, X, estimator=estimator, memory_limit_bytes=memory, **kw)
    # g_dec is the partial derivative with the codes held fixed
    Z = res.z if estimator == "g_dec" else None
    fd = _fd_grad(D, X, h, loss=loss, Z=Z, **kw)
    assert np.max(np.abs(res.grad - fd)) <= 1e-6 * np.max(np.abs(fd))
    assert res.loss_ls == pytest.approx(pudle_loss(D, X, loss="ls", **kw), rel=1e-12)


def test_per_unit_lambda_gradient():
    D, X = _problem(1)
    lam = np.linspace(0.1, 0.5, P)
    kw = dict(lam=lam, alpha=0.15, T=5, threshold="soft")
    res = unrolled_gradient(D, X, estimator="g_ae-lasso", **kw)
    fd = _fd_grad(D, X, 1e-6, loss="lasso", **kw)
    assert np.max(np.abs(res.grad - fd)) <= 1e-6 * np.max(np.abs(fd))


def test_checkpointing_is_exact():
    D, X = _problem(2)
    a = unrolled_gradient(D, X, estimator="g_ae-ls", T=23, memory_limit_bytes=1e9)
    b = unrolled_gradient(D, X, estimator="g_ae-ls", T=23, memory_limit_bytes=1.0)
    np.testing.assert_allclose(b.grad, a.grad, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(b.z, a.z)
    # a reused workspace gives the same result as fresh buffers, call after call
    ws = {}
    for D2 in (D, D[:, ::-1].copy(), D):
        ref = unrolled_gradient(D2, X, estimator="g_ae-ls", T=23)
        np.testing.assert_array_equal(unrolled_gradient(D2, X, estimator="g_ae-ls", T=23, workspace=ws).grad, ref.grad)
    assert ws["iterates"].shape == (23, P, N)


def test_noodl_direction():
    D, X = _problem(3)
    res = unrolled_gradient(D, X, estimator="g_noodl", T=T)
    dec = unrolled_gradient(D, X, estimator="g_dec", T=T)
    # NOODL replaces z_T^T by sign(z_T)^T in the decoder gradient: independent recomputation
    R = res.z @ D.T - X
    np.testing.assert_allclose(res.grad, R.T @ np.sign(res.z) / N, atol=1e-14)
    assert not np.allclose(res.grad, dec.grad)


def test_encoder_converges_to_lasso_solution():
    # planted problem of the paper (alpha = 0.2 < 2/||D*||^2): z_T -> LASSO solution as T grows
    prob = make_planted(n=200, seed=1)
    D, X = prob.D_true, prob.X
    ref = fista(D, X, 0.2, tol=1e-12)
    errs = [np.abs(encode(D, X, lam=0.2, alpha=0.2, T=t) - ref).max() for t in (25, 100, 600)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-8
    Xp = np.abs(prob.Z_true) @ D.T  # non-negative codes for the one-sided encoder
    ref_nn = fista(D, Xp, 0.2, nonneg=True, tol=1e-12)
    assert np.abs(encode(D, Xp, lam=0.2, alpha=0.2, T=600, threshold="nonneg") - ref_nn).max() < 1e-8


def test_step_guard_raises_and_warns():
    D, X = _problem(5)
    L = np.linalg.norm(D, 2) ** 2
    with pytest.raises(SimulationError, match="alpha"):
        unrolled_gradient(D, X, alpha=2.05 / L, T=5)
    with pytest.warns(RuntimeWarning):
        check_step(D, 2.05 / L, on_unstable="warn")
    assert check_step(D, 1.0 / L) == pytest.approx(1.0)


def test_blow_up_detected_when_guard_is_warned_through():
    D, X = _problem(6)
    L = np.linalg.norm(D, 2) ** 2
    # far beyond the step limit, the iterates overflow: a non-finite gradient always raises
    with pytest.warns(RuntimeWarning), np.errstate(all="ignore"), pytest.raises(SimulationError, match="blow-up"):
        unrolled_gradient(D, X, alpha=50.0 / L, T=2000, on_unstable="warn")


def test_bad_arguments():
    D, X = _problem()
    with pytest.raises(InputError):
        unrolled_gradient(D, X, estimator="g_magic")
    with pytest.raises(InputError):
        encode(D, X, threshold="hard")  # no hard_threshold
    with pytest.raises(InputError):
        encode(D, X.T)
    with pytest.raises(InputError):
        encode(D, X, lam=-1.0)
