"""Convolutional LASSO operators, patch-free FISTA, convolutional LCA (direct, network, spiking)
and the spiking network's mapping onto loihi1."""
import numpy as np
import pytest

import neurosim as ns
from neurosim.builders.conv_lca import build_conv_lca, build_spiking_conv_lca, run_conv_lca, spiking_conv_lca
from neurosim.solvers.conv_lca import conv_lca
from neurosim.solvers.lasso import fista, lasso_objective
from neurosim.solvers.lasso_conv import ConvDictionary, conv_fista, conv_kkt_residual, conv_lasso_objective


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def unit_filters(K, C, k, seed=0):
    F = np.random.default_rng(seed).standard_normal((K, C, k, k))
    F -= F.mean(axis=(2, 3), keepdims=True)
    return F / np.linalg.norm(F.reshape(K, -1), axis=1)[:, None, None, None]


def explicit_dictionary(F, H, W):
    """D (C H W, K h w) built by placing every filter at every valid position (independent of FFTs)."""
    K, C, k, _ = F.shape
    h, w = H - k + 1, W - k + 1
    D = np.zeros((C, H, W, K, h, w))
    for o in range(K):
        for y in range(h):
            for x in range(w):
                D[:, y:y + k, x:x + k, o, y, x] = F[o]
    return D.reshape(C * H * W, K * h * w)


@pytest.fixture(scope="module")
def problem():
    F = unit_filters(3, 2, 4)
    cd = ConvDictionary(F, (2, 11, 13))
    X = np.random.default_rng(1).standard_normal((2, 2, 11, 13))
    return cd, X, explicit_dictionary(F, 11, 13)


def test_operators_equal_the_explicit_dictionary(problem):
    cd, X, D = problem
    A = np.random.default_rng(2).standard_normal((2,) + cd.code_shape)
    np.testing.assert_allclose(cd.synthesize(A).reshape(2, -1), A.reshape(2, -1) @ D.T, atol=1e-12)
    np.testing.assert_allclose(cd.analyze(X).reshape(2, -1), X.reshape(2, -1) @ D, atol=1e-12)
    np.testing.assert_allclose(cd.matrix().toarray(), D, atol=1e-15)
    lateral = cd.lateral_weights()
    assert isinstance(lateral, ns.ConvWeights) and lateral.kernel.shape == (3, 3, 7, 7) and lateral.padding == 3
    np.testing.assert_allclose(lateral.to_csr().toarray(), -(D.T @ D - np.eye(D.shape[1])), atol=1e-12)
    assert lateral.nnz == lateral.to_csr().nnz
    L = cd.lipschitz()
    assert np.linalg.norm(D, 2) ** 2 <= L * (1 + 1e-12)


def test_conv_fista_equals_fista_on_the_explicit_dictionary(problem):
    cd, X, D = problem
    for nonneg in (False, True):
        A, info = conv_fista(cd, X, 0.4, nonneg=nonneg, tol=1e-10, max_iter=20000, return_info=True)
        ref = fista(D, X.reshape(2, -1), 0.4, nonneg=nonneg, tol=1e-10)
        np.testing.assert_allclose(conv_lasso_objective(cd, X, A, 0.4, nonneg=nonneg),
                                   lasso_objective(D, X.reshape(2, -1), ref, 0.4, nonneg=nonneg), rtol=1e-9)
        assert np.all(info["kkt"] <= 1e-10)
        np.testing.assert_allclose(conv_kkt_residual(cd, X, A, 0.4, nonneg=nonneg), info["kkt"], atol=1e-12)


@pytest.mark.parametrize("threshold, nonneg", [("soft", False), ("nonneg", True)])
def test_conv_lca_agrees_with_conv_fista(threshold, nonneg):
    cd = ConvDictionary(unit_filters(4, 1, 5, seed=3), (20, 20))
    X = np.random.default_rng(4).standard_normal((2, 20, 20))
    ref = conv_fista(cd, X, 0.3, nonneg=nonneg, tol=1e-10, max_iter=20000)
    A = conv_lca(cd, X, 0.3, threshold=threshold, steps=3000, dt_over_tau=0.1)
    f_ref = conv_lasso_objective(cd, X, ref, 0.3, nonneg=nonneg)
    gap = (conv_lasso_objective(cd, X, A, 0.3, nonneg=nonneg) - f_ref) / f_ref
    assert np.all(np.abs(gap) <= 1e-3)


@pytest.mark.parametrize("threshold", ["soft", "hard"])
def test_network_equals_direct_solver(threshold):
    cd = ConvDictionary(unit_filters(3, 1, 4, seed=5), (12, 12))
    X = np.random.default_rng(6).standard_normal((2, 12, 12))
    net = build_conv_lca(cd, X, 0.3, threshold=threshold)
    lateral = net.connection("clca.lateral")
    assert lateral.is_conv and lateral.n_synapses == lateral.weights.nnz
    A, res = run_conv_lca(cd, X, 0.3, threshold=threshold, steps=200)
    np.testing.assert_allclose(A, conv_lca(cd, X, 0.3, threshold=threshold, steps=200), atol=1e-10)
    assert res.activity.syn_events["clca.lateral"] > 0


def test_zero_initial_state_is_the_cold_start_bit_for_bit():
    cd = ConvDictionary(unit_filters(3, 1, 4, seed=5), (12, 12))
    X = np.random.default_rng(6).standard_normal((12, 12))
    cold = conv_lca(cd, X, 0.3, threshold="hard", steps=100)
    assert np.array_equal(conv_lca(cd, X, 0.3, threshold="hard", steps=100, u0=np.zeros(cd.code_shape)), cold)


@pytest.mark.parametrize("nonneg", [True, False])
def test_spiking_conv_lca_solves_the_conv_lasso(nonneg):
    cd = ConvDictionary(unit_filters(4, 1, 5, seed=7), (16, 16))
    X = np.random.default_rng(8).standard_normal((2, 16, 16))
    net = build_spiking_conv_lca(cd, X, 0.3, nonneg=nonneg)
    lateral = net.connection("sclca.lateral")
    assert lateral.is_conv and net.populations[0].size == (1 if nonneg else 2) * cd.n_code
    A, res = spiking_conv_lca(cd, X, 0.3, nonneg=nonneg, steps=5000, dt_s=0.1)
    ref = conv_fista(cd, X, 0.3, nonneg=nonneg, tol=1e-10, max_iter=20000)
    f_ref = conv_lasso_objective(cd, X, ref, 0.3, nonneg=nonneg)
    gap = (conv_lasso_objective(cd, X, A, 0.3, nonneg=nonneg) - f_ref) / f_ref
    assert np.all(gap <= 1e-3)


def test_errors():
    with pytest.raises(ns.NetworkError, match="does not fit the filters"):
        ConvDictionary(np.ones((2, 1, 5, 5)), (4, 4))
    cd = ConvDictionary(unit_filters(2, 1, 3), (6, 6))
    with pytest.raises(ns.NetworkError, match="do not match the image shape"):
        cd.analyze(np.ones((7, 7)))
    with pytest.raises(ns.NetworkError, match="lam"):
        conv_fista(cd, np.ones((6, 6)), -1.0)
    with pytest.raises(ns.NetworkError, match="unknown threshold"):
        conv_lca(cd, np.ones((6, 6)), 0.1, threshold="relu")


def test_spiking_conv_lca_maps_onto_loihi1():
    """The spiking network (compact ConvWeights) is placed on loihi1 with its measured activity."""
    api = pytest.importorskip("mapper", reason="mapper (map_network) is not available")
    chipload = pytest.importorskip("mapper.chipload", reason="mapper.chipload is not available")
    chip = chipload.load_chip("loihi1")
    cd = ConvDictionary(unit_filters(4, 1, 5, seed=9), (20, 20))
    X = np.random.default_rng(10).standard_normal((20, 20))
    _, res = spiking_conv_lca(cd, X, 0.3, nonneg=False, steps=500, dt_s=0.1)
    net = build_spiking_conv_lca(cd, X, 0.3, nonneg=False)
    mapping = api.map_network(net, chip, res.activity, time_budget_s=2.0)
    report = mapping.report.to_dict()
    assert report["network"]["neurons"] == 2 * cd.n_code
    assert report["partition"]["cores_used"] >= 1
    totals = report["totals"]
    assert totals["synaptic_events"] > 0 and totals["packets"] > 0
    assert report["energy_j"]["total"] > 0
