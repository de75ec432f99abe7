"""PUDLE: recovery metrics, optimiser, estimator and the paper's claims.

Ground truth: the planted dictionary D*, analytic values of the metrics and of Adam's first
step, the LASSO solution (FISTA) and the envelope theorem (g_ae-lasso -> g_dec as T grows).
"""
import logging

import numpy as np
import pytest
import threadpoolctl

from neurosim.data.planted import init_dictionary, make_planted, normalize_columns
from neurosim.errors import InputError, SimulationError
from neurosim.estimators.pudle import PUDLE, PUDLEState, RecoveryCurve, max_sine_distance, relative_error
from neurosim.solvers.lasso import fista
from neurosim.solvers.optim import Adam, lam_decay_factor
from neurosim.solvers.pudle_grad import encode, unrolled_gradient


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # small matrices in long loops: one BLAS thread is much faster on a shared 2-core machine
    with threadpoolctl.threadpool_limits(1):
        yield


def test_metrics_analytic():
    rng = np.random.default_rng(0)
    D = normalize_columns(rng.standard_normal((8, 5)))
    assert relative_error(D, D) == 0.0 and max_sine_distance(D, D) == 0.0
    # rotate column 2 by phi inside the plane spanned by itself and a unit orthogonal vector
    phi = 0.3
    u = rng.standard_normal(8)
    u -= (u @ D[:, 2]) * D[:, 2]
    u /= np.linalg.norm(u)
    D2 = D.copy()
    D2[:, 2] = np.cos(phi) * D[:, 2] + np.sin(phi) * u
    assert max_sine_distance(D2, D) == pytest.approx(np.sin(phi), rel=1e-12)
    assert relative_error(D2, D) == pytest.approx(np.sqrt(2 - 2 * np.cos(phi)) / np.sqrt(5), rel=1e-12)
    assert relative_error(3.0 * D2, D) == pytest.approx(relative_error(D2, D), rel=1e-12)  # scale-free


def test_adam_first_step_and_convergence():
    g = np.array([[3.0, -0.5], [1e-3, -7.0]])
    x = np.zeros_like(g)
    Adam(0.01, eps=0.0).step(x, g)  # bias-corrected first step is -lr sign(g)
    np.testing.assert_allclose(x, -0.01 * np.sign(g), rtol=1e-12)
    # minimise 1/2||A x - y||^2
    rng = np.random.default_rng(1)
    A, y = rng.standard_normal((6, 3)), rng.standard_normal(6)
    x, opt = np.zeros(3), Adam(0.05)
    for _ in range(3000):
        opt.step(x, A.T @ (A @ x - y))
    np.testing.assert_allclose(x, np.linalg.lstsq(A, y, rcond=None)[0], atol=1e-4)


def test_lambda_decay_schedule():
    assert [lam_decay_factor(k) for k in (0, 99, 100, 199, 200, 599)] == pytest.approx(
        [1.0, 1.0, 0.995, 0.995, 0.99, 0.975])
    assert lam_decay_factor(10**6) == 0.0


def test_forward_with_true_dictionary_recovers_support_and_shows_bias():
    prob = make_planted(n=300, seed=1)
    sup = prob.Z_true != 0
    z = encode(prob.D_true, prob.X, lam=0.2, alpha=0.2, T=500)
    np.testing.assert_allclose(z, fista(prob.D_true, prob.X, 0.2, tol=1e-12), atol=1e-8)
    # every true atom is active with the right sign, and is larger than any spurious entry
    assert np.all(np.sign(z[sup]) == np.sign(prob.Z_true[sup]))
    on = np.where(sup, np.abs(z), np.inf).min(axis=1)
    off = np.where(sup, 0.0, np.abs(z)).max(axis=1)
    assert np.all(on > off)
    # code bias: soft thresholding shrinks the on-support magnitudes by about lam;
    # the hard threshold (0.1) removes most of the shrinkage
    shrink_soft = np.mean(np.abs(prob.Z_true[sup]) - np.abs(z[sup]))
    zh = encode(prob.D_true, prob.X, alpha=0.2, T=500, threshold="hard", hard_threshold=0.1)
    shrink_hard = np.mean(np.abs(prob.Z_true[sup]) - np.abs(zh[sup]))
    assert 0.15 < shrink_soft < 0.3
    assert abs(shrink_hard) < 0.3 * shrink_soft


def test_gradient_accuracy_against_oracle():
    # oracle gradient: the decoder gradient with the true codes z*; init noise 0.02 (reference 4(d).3)
    prob = make_planted(n=1000, seed=0)
    D = init_dictionary(prob.D_true, 0.02, np.random.default_rng(5))
    g_star = (prob.Z_true @ D.T - prob.X).T @ prob.Z_true / prob.X.shape[0]

    def dist(est, T):
        return np.linalg.norm(unrolled_gradient(D, prob.X, estimator=est, T=T).grad - g_star)

    ae25, ae100, dec100 = dist("g_ae-ls", 25), dist("g_ae-ls", 100), dist("g_dec", 100)
    assert ae100 < ae25
    assert ae100 < 0.6 * dec100
    # envelope theorem: at the LASSO solution the total and partial derivatives of the LASSO loss agree
    diff = [np.linalg.norm(unrolled_gradient(D, prob.X, estimator="g_ae-lasso", T=T).grad
                           - unrolled_gradient(D, prob.X, estimator="g_dec", T=T).grad) for T in (25, 200)]
    assert diff[1] < 0.05 * diff[0]


@pytest.mark.parametrize("kw", [dict(estimator="g_ae-ls"), dict(estimator="g_dec", lam_decay=True, decay_every=2),
                                dict(estimator="g_ae-lasso", threshold="hard", hard_threshold=0.1),
                                dict(estimator="g_noodl", optimizer="sgd", lr=0.5, batch_size=64)])
def test_unit_norm_columns_after_every_update(kw):
    prob = make_planted(n=200, seed=2)
    seen = []

    def check(step, est, info):
        seen.append(step)
        np.testing.assert_allclose(np.linalg.norm(est.dictionary_, axis=0), 1.0, rtol=0, atol=1e-12)

    model = PUDLE(100, T=10, epochs=4, callback=check, **kw).fit(prob.X, D_init=prob.D_init)
    steps_per_epoch = 1 if kw.get("batch_size") is None else -(-200 // kw["batch_size"])
    assert seen == list(range(4 * steps_per_epoch + 1)) and model.n_steps_ == 4 * steps_per_epoch
    assert not np.allclose(model.dictionary_, prob.D_init)
    if kw.get("lam_decay"):
        assert model.lam_factor_ == pytest.approx(1 - 0.005 * (3 // 2))


def test_estimator_api():
    prob = make_planted(n=100, seed=4)
    model = PUDLE(100, T=15, epochs=2, random_state=0)
    codes = model.fit_transform(prob.X)
    assert model.components_.shape == (100, 50) and codes.shape == (100, 100)
    np.testing.assert_array_equal(codes, encode(model.dictionary_, prob.X, T=15))
    assert len(model.loss_curve_) == 2 and model.fit_time_s_ > 0
    with pytest.raises(InputError):
        PUDLE(100, estimator="g_magic").fit(prob.X)
    with pytest.raises(InputError):
        PUDLE(100).fit(prob.X, D_init=np.ones((3, 3)))
    with pytest.raises(InputError):
        PUDLE(100).transform(prob.X)
    with pytest.raises(InputError):
        PUDLE(100).fit(np.full((4, 50), np.nan))


def test_stability_guards(caplog):
    prob = make_planted(n=300, seed=0)
    L = np.linalg.norm(prob.D_init, 2) ** 2
    with pytest.raises(SimulationError, match="alpha"):
        PUDLE(100, alpha=2.1 / L, T=5, epochs=1).fit(prob.X, D_init=prob.D_init)
    # from D* the g_ae-ls gradient is small; a large Adam step multiplies it ~5x at the next step
    with pytest.raises(SimulationError, match="blow-up"):
        PUDLE(100, T=100, lr=0.05, epochs=3, blowup=2.0).fit(prob.X, D_init=prob.D_true)
    with caplog.at_level(logging.WARNING, logger="neurosim.estimators.pudle"):
        PUDLE(100, T=100, lr=0.05, epochs=2, blowup=2.0, on_unstable="warn").fit(prob.X, D_init=prob.D_true)
    assert "blow-up" in caplog.text


def _recovery(estimator, prob, **kw):
    curve = RecoveryCurve(prob.D_true)
    PUDLE(prob.D_true.shape[1], estimator=estimator, callback=curve, **kw).fit(prob.X, D_init=prob.D_init)
    return np.array(curve.rel_error)


def test_ae_ls_goes_below_the_g_dec_floor_reduced():
    # default planted problem (m=50, p=100, s=5, lam=0.2, alpha=0.2, init noise 0.1) with fewer
    # samples, T=30 and a larger Adam step so that it runs in seconds
    prob = make_planted(n=800, seed=0)
    kw = dict(T=30, epochs=150, lr=4e-3)
    dec = _recovery("g_dec", prob, **kw)
    ae = _recovery("g_ae-ls", prob, **kw)
    assert dec[0] == ae[0] > 0.55
    assert ae[-1] < 0.7 * dec.min()  # measured: 0.113 vs 0.219


@pytest.mark.slow
def test_ae_ls_goes_below_the_g_dec_floor_full_protocol():
    # the paper's setting: n = 10,000, full batch, 600 epochs, Adam lr 1e-3, T = 50
    prob = make_planted(seed=0)
    dec = _recovery("g_dec", prob, T=50, epochs=600)
    ae = _recovery("g_ae-ls", prob, T=50, epochs=600)
    assert ae[-1] < 0.5 * dec.min()


@pytest.mark.slow
def test_ae_ls_beats_the_plain_step_g_dec_floor():
    # with a plain gradient step g_dec reaches the constrained stationary point of its loss (its
    # true floor, lower than under Adam): g_ae-ls still goes well below it
    prob = make_planted(n=2000, seed=0)
    kw = dict(T=50, epochs=150, optimizer="sgd", lr=2.0)
    dec = _recovery("g_dec", prob, **kw)
    ae = _recovery("g_ae-ls", prob, **kw)
    assert ae[-1] < 0.6 * dec.min()  # benchmark, n=1000: 0.020 vs 0.057


def test_fit_resumed_from_its_state_takes_the_same_steps_bit_for_bit():
    prob = make_planted(n=150, seed=6)
    kw = dict(T=4, epochs=3, batch_size=40, random_state=2)  # 4 steps per epoch, the last one short
    whole = PUDLE(100, **kw).fit(prob.X, D_init=prob.D_init)
    part = PUDLE(100, callback=lambda step, est, info: step == 6, **kw).fit(prob.X, D_init=prob.D_init)
    assert part.n_steps_ == 6 and part.state_.epoch == 1 and part.state_.position == 80
    arrays = part.state_.to_arrays()  # through the checkpoint's arrays
    resumed = PUDLE(100, **kw)
    state = PUDLEState.from_arrays(arrays, resumed.make_optimizer())
    resumed.fit(prob.X, state=state)
    np.testing.assert_array_equal(resumed.components_, whole.components_)
    assert resumed.loss_curve_ == whole.loss_curve_ and resumed.n_steps_ == whole.n_steps_ == 12


def test_early_stopping_ends_training_once_the_epoch_loss_stalls():
    prob = make_planted(n=100, seed=7)
    kw = dict(T=4, epochs=10, batch_size=50, lr=0.05, random_state=0)
    stalled = PUDLE(100, tol=0.2, n_iter_no_change=2, **kw).fit(prob.X, D_init=prob.D_init)
    full = PUDLE(100, **kw).fit(prob.X, D_init=prob.D_init)
    assert stalled.converged_ and not full.converged_ and full.n_steps_ == 20
    st = stalled.state_
    assert stalled.n_steps_ == 2 * st.epoch == 12 and st.no_change == 2
    # the same steps as the run without early stopping, up to where it stopped
    assert stalled.loss_curve_ == full.loss_curve_[:stalled.n_steps_]
    # every epoch-mean loss of the last n_iter_no_change epochs missed the best by more than tol
    means = np.asarray(full.loss_curve_[:stalled.n_steps_]).reshape(-1, 2).mean(axis=1)
    assert np.all(means[-2:] >= (1 - 0.2) * means[:-2].min())
    with pytest.raises(InputError, match="tol"):
        PUDLE(100, tol=1.5).fit(prob.X)
