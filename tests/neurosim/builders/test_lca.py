"""The LCA family (neurosim.builders.lca) against FISTA, the KKT conditions and the toy problem."""
from __future__ import annotations

import numpy as np
import pytest

from neurosim import simulate
from neurosim.builders.lca import (
    auto_scale,
    build_analog_lca,
    build_spiking_lca,
    decode_spiking_lca,
    run_analog_lca,
    spiking_lca,
    threshold_function,
)
from neurosim.data.samples import TOY_SOLUTION, random_lasso_problem, toy_problem
from neurosim.errors import NetworkError
from neurosim.solvers.lasso import fista, kkt_residual, lasso_objective
from neurosim.solvers.lca import analog_lca, lca_gram

SIZES = [(64, 128), (256, 512), (256, 1024)]


def _gap(p, codes, nonneg):
    opt = fista(p.D, p.X, p.lam, nonneg=nonneg, tol=1e-11)
    f_opt = lasso_objective(p.D, p.X, opt, p.lam, nonneg=nonneg)
    return (lasso_objective(p.D, p.X, codes, p.lam, nonneg=nonneg) - f_opt) / f_opt


# -- network structure --------------------------------------------------------------------------
@pytest.mark.parametrize("nonneg", [True, False])
def test_spiking_lca_network_is_form_a(nonneg):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 4)) * rng.uniform(0.5, 2.0, 4)  # non-unit atoms
    X = rng.standard_normal((3, 6))
    lam = np.array([0.1, 0.2, 0.3, 0.4])
    net = build_spiking_lca(D, X, lam, nonneg=nonneg, start=5, scale=np.array([1.0, 2.0, 4.0]))
    Dn = D if nonneg else np.concatenate([D, -D], axis=1)
    lam_n = lam if nonneg else np.concatenate([lam, lam])
    n = Dn.shape[1]
    pop = net.population("slca")
    assert pop.size == n and pop.model.reset == "subtract" and not pop.model.leaky
    np.testing.assert_allclose(pop.model.v_th, np.sum(Dn * Dn, axis=0))  # theta_i = ||d_i||^2
    W = net.connection("slca.lateral").weights
    np.testing.assert_allclose(np.diag(W), 0.0)
    off = ~np.eye(n, dtype=bool)
    np.testing.assert_allclose(W[off], -(Dn.T @ Dn)[off])
    drive = net.inputs[0].value
    np.testing.assert_allclose(drive, (X @ Dn - lam_n) / np.array([1.0, 2.0, 4.0])[:, None])
    assert net.batch == 3
    assert net.probes[0].var == "count" and net.probes[0].start == 5


def test_analog_lca_network_structure():
    p = random_lasso_problem(10, 20, 2, batch=2, seed=1)
    net = build_analog_lca(p.D, p.X, p.lam, threshold="nonneg", probes=("count", "u"))
    assert net.population("lca").model.threshold == "nonneg"
    np.testing.assert_allclose(net.connection("lca.lateral").weights, -(p.D.T @ p.D - np.eye(20)), atol=1e-12)
    np.testing.assert_array_equal(np.diag(net.connection("lca.lateral").weights), 0.0)  # unit norm: no self loop
    np.testing.assert_allclose(net.inputs[0].value, p.X @ p.D)
    np.testing.assert_array_equal(lca_gram(p.D), -net.connection("lca.lateral").weights)


# -- the toy problem (algorithms.md 2(c)) ---------------------------------------------------------
def test_toy_problem_rates_within_half_a_percent():
    p = toy_problem()
    codes, res = spiking_lca(p.D, p.X, p.lam, nonneg=True, steps=10000, dt_s=0.1)
    a = codes[0]
    for i in (0, 2):
        assert abs(a[i] - TOY_SOLUTION[i]) <= 0.005 * TOY_SOLUTION[i]
    assert abs(a[1]) <= 1e-3  # the zero coefficient: absolute tolerance
    # the activity profile counts every spike, the probe only those after the transient
    assert res.activity.counts["slca"].sum() > res["slca.count"].sum() > 0
    # rates are counts over the window after the transient
    np.testing.assert_allclose(codes, res["slca.count"] / ((10000 - 1000) * 0.1))


def test_toy_problem_large_inputs_need_the_auto_scale():
    # 20 x the toy problem: codes 20 x larger, beyond one spike per step (1/dt = 10) without scaling
    p = toy_problem()
    X, lam = 20 * p.X, 20 * p.lam
    scaled, _ = spiking_lca(p.D, X, lam, nonneg=True, steps=10000, dt_s=0.1)
    np.testing.assert_allclose(scaled[0][[0, 2]], 20 * TOY_SOLUTION[[0, 2]], rtol=0.005)
    raw, _ = spiking_lca(p.D, X, lam, nonneg=True, steps=10000, dt_s=0.1, scale=None)
    assert raw.max() <= 10.0 + 1e-9  # saturated at one spike per step
    assert auto_scale(p.D, X, dt_s=0.1)[0] > 1 and auto_scale(p.D, p.X, dt_s=0.1)[0] == 1


# -- random LASSO problems: gap <= 1e-3 (spiking), <= 1e-4 (analog) -------------------------------
@pytest.mark.parametrize("nonneg", [True, False])
@pytest.mark.parametrize("M, N", SIZES)
def test_spiking_lca_reaches_1e3_gap_in_10000_steps(M, N, nonneg):
    p = random_lasso_problem(M, N, M // 16, batch=3, nonneg=nonneg, seed=M + N)
    codes, res = spiking_lca(p.D, p.X, p.lam, nonneg=nonneg, steps=10000, dt_s=0.1)
    assert codes.shape == (3, N)
    gap = _gap(p, codes, nonneg)
    assert np.all(gap <= 1e-3), gap
    assert np.all(gap >= -1e-12)  # nothing beats the optimum
    assert res.activity.total_events > 0 and res.activity.total_syn_events > 0
    if nonneg:
        assert np.all(codes >= 0)


@pytest.mark.parametrize("nonneg", [True, False])
@pytest.mark.parametrize("M, N", SIZES)
def test_analog_lca_reaches_1e4_gap(M, N, nonneg):
    p = random_lasso_problem(M, N, M // 16, batch=4, nonneg=nonneg, seed=M * N)
    codes = analog_lca(p.D, p.X, p.lam, threshold="nonneg" if nonneg else "soft", steps=2000, dt_over_tau=0.1)
    gap = _gap(p, codes, nonneg)
    assert np.all(gap <= 1e-4), gap


@pytest.mark.parametrize("nonneg", [True, False])
def test_spiking_lca_kkt_residual_shrinks_with_time(nonneg):
    p = random_lasso_problem(64, 128, 4, batch=2, nonneg=nonneg, seed=11)
    res = []
    for steps in (1000, 3000, 10000):
        codes, _ = spiking_lca(p.D, p.X, p.lam, nonneg=nonneg, steps=steps, dt_s=0.1)
        res.append(kkt_residual(p.D, p.X, codes, p.lam, nonneg=nonneg).max())
    assert res[0] > res[1] > res[2]
    assert res[2] < 0.3 * res[0]  # roughly 1/T


def test_analog_lca_kkt_residual_shrinks_with_time():
    p = random_lasso_problem(64, 128, 4, batch=2, seed=12)
    _, hist = analog_lca(p.D, p.X, p.lam, steps=400, return_history=True, history_every=100)
    kkt = [kkt_residual(p.D, p.X, h, p.lam).max() for h in hist[1:]]
    assert all(a > b for a, b in zip(kkt, kkt[1:]))
    assert kkt[-1] < 1e-6


def test_spiking_and_analog_lca_agree():
    p = random_lasso_problem(32, 64, 3, batch=2, nonneg=True, seed=13)
    s, _ = spiking_lca(p.D, p.X, p.lam, nonneg=True, steps=10000, dt_s=0.1)
    a = analog_lca(p.D, p.X, p.lam, threshold="nonneg", steps=2000)
    np.testing.assert_allclose(s, a, atol=0.01)


# -- analog LCA through the engine equals the direct solver ----------------------------------------
@pytest.mark.parametrize("threshold", ["soft", "nonneg", "hard"])
def test_analog_lca_network_equals_direct_solver(threshold):
    p = random_lasso_problem(32, 64, 3, batch=3, seed=14)
    direct, hist = analog_lca(p.D, p.X, p.lam, threshold=threshold, steps=300, return_history=True)
    codes, res = run_analog_lca(p.D, p.X, p.lam, threshold=threshold, steps=300)
    np.testing.assert_allclose(codes, direct, atol=1e-12)
    # graded output events: one per non-zero output per step
    assert res.activity.counts["lca"].sum() == np.count_nonzero(hist[1:])
    assert res.activity.syn_events["lca.lateral"] == int(np.count_nonzero(hist[1:], axis=(0, 1))
                                                         @ np.count_nonzero(lca_gram(p.D), axis=1))


def test_hard_threshold_fixed_point():
    p = random_lasso_problem(32, 64, 3, batch=2, seed=15)
    lam = 0.3
    a, hist = analog_lca(p.D, p.X, lam, threshold="hard", steps=3000, return_history=True, history_every=3000)
    u = p.X @ p.D - a @ lca_gram(p.D)  # fixed point u = b - G a, with a = H(u)
    np.testing.assert_allclose(threshold_function(u, np.full(64, lam), "hard"), a, atol=1e-8)


# -- decoding and arguments ----------------------------------------------------------------------
def test_signed_decoding_and_single_vector():
    p = random_lasso_problem(16, 32, 4, batch=1, seed=16)
    codes, res = spiking_lca(p.D, p.X[0], p.lam, nonneg=False, steps=4000, dt_s=0.1, transient=500)
    assert codes.shape == (32,)
    rates = res["slca.count"] / (3500 * 0.1)
    np.testing.assert_allclose(codes, rates[0, :32] - rates[0, 32:])
    ref = fista(p.D, p.X[0], p.lam)
    big = np.abs(ref) > 0.1
    assert np.any(ref[big] < 0) and np.any(ref[big] > 0)
    np.testing.assert_array_equal(np.sign(codes[big]), np.sign(ref[big]))


def test_decode_checks_the_window():
    p = toy_problem()
    net = build_spiking_lca(p.D, p.X, p.lam)
    res = simulate(net, steps=10, dt_s=0.1)
    with pytest.raises(NetworkError, match="window is empty"):
        decode_spiking_lca(res, n_atoms=3, nonneg=True, start=10)
    with pytest.raises(NetworkError, match="does not match"):
        decode_spiking_lca(res, n_atoms=3, nonneg=False)


@pytest.mark.parametrize("call, match", [
    (lambda p: spiking_lca(p.D, p.X, p.lam, steps=100, transient=100), "transient"),
    (lambda p: spiking_lca(p.D, p.X, p.lam, steps=0), "steps"),
    (lambda p: spiking_lca(p.D, p.X, p.lam, steps=10, dt_s=0.0), "dt_s"),
    (lambda p: spiking_lca(p.D, p.X, p.lam, steps=10, scale="big"), "scale"),
    (lambda p: spiking_lca(p.D, p.X, p.lam, steps=10, scale=-1.0), "scale"),
    (lambda p: spiking_lca(p.D, p.X, -1.0, steps=10), "non-negative"),
    (lambda p: spiking_lca(p.D, p.X[:, :2], p.lam, steps=10), "batch"),
    (lambda p: analog_lca(p.D, p.X, p.lam, threshold="relu"), "threshold"),
    (lambda p: build_analog_lca(p.D, p.X, p.lam, threshold="relu"), "threshold"),
    (lambda p: analog_lca(p.D, p.X, p.lam, dt_over_tau=-0.1), "dt_over_tau"),
    (lambda p: spiking_lca(p.D, p.X, p.lam, steps=10, backend="nest"), "unknown backend"),
])
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(NetworkError, match=match):
        call(toy_problem())


def test_analog_lca_divergence_is_reported():
    p = random_lasso_problem(16, 64, 2, seed=17)
    with pytest.raises(NetworkError, match="diverged"):
        analog_lca(p.D, p.X, 0.0, steps=2000, dt_over_tau=5.0)


@pytest.mark.parametrize("nonneg", [True, False])
def test_spiking_lca_on_brian2_gives_the_same_codes(nonneg):
    pytest.importorskip("brian2")
    p = random_lasso_problem(8, 12, 2, batch=2, nonneg=nonneg, seed=18)
    ours, res = spiking_lca(p.D, p.X, p.lam, nonneg=nonneg, steps=1500, dt_s=0.1)
    theirs, res_b2 = spiking_lca(p.D, p.X, p.lam, nonneg=nonneg, steps=1500, dt_s=0.1, backend="brian2",
                                 options={"target": "numpy"})
    assert res_b2.backend.startswith("brian2")
    np.testing.assert_array_equal(res_b2["slca.count"], res["slca.count"])
    np.testing.assert_array_equal(theirs, ours)


def test_rounding_noise_of_the_gram_matrix_is_no_synapse():
    """An orthonormal dictionary (the 2-D DCT-II basis) has ``D^T D = I`` exactly, but the computed
    product holds ~1e-16 off the diagonal: kept, those would be 4032 synapses, each stored and
    costed per spike on a chip. Entries within the dot products' rounding bound are exactly zero
    (:func:`neurosim.solvers.lca.gram`); the sign-split network keeps only the +1 weights between an
    atom's two signed copies."""
    import scipy.fft

    from neurosim.solvers.lca import gram

    C = scipy.fft.dct(np.eye(8), norm="ortho", axis=0)
    D = np.kron(C, C)
    raw = D.T @ D
    assert np.count_nonzero(raw - np.diag(np.diag(raw))) > 1000  # the noise this guards against
    G = gram(D)
    assert np.count_nonzero(G - np.diag(np.diag(G))) == 0 and np.allclose(np.diag(G), 1.0, atol=1e-14)
    X = np.random.default_rng(0).normal(size=(2, 64))
    assert build_spiking_lca(D, X, 0.1).n_synapses == 0
    assert build_analog_lca(D, X, 0.1).n_synapses == 0
    signed = build_spiking_lca(D, X, 0.1, nonneg=False)
    assert signed.n_synapses == 128
    rng = np.random.default_rng(1)
    R = rng.normal(size=(16, 24))  # a generic dictionary keeps every entry, bit for bit
    assert np.array_equal(gram(R), R.T @ R)
