"""Deep sparse coding (working hypothesis of algorithms.md section 5): planted recovery,
geometric decay of layered ISTA, the one-network form, convolutional layers and the CNN reading."""
import numpy as np
import pytest
from scipy.signal import correlate

import neurosim as ns
from neurosim.builders.deep_sc import build_deep_sc, run_deep_sc
from neurosim.data.planted import make_planted_dsc
from neurosim.solvers.deep_sc import DSCLayer, layered_ista, layered_lasso, layered_lca, layered_thresholding
from neurosim.solvers.lasso_conv import ConvDictionary


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def planted():
    p = make_planted_dsc((64, 128, 64), atom_nnz=3, sparsity=3, batch=20, seed=0)
    layers = [DSCLayer(p.dictionaries[0], 0.05), DSCLayer(p.dictionaries[1], 0.05)]
    return p, layers


def test_layered_pursuit_recovers_planted_codes(planted):
    p, layers = planted
    for codes in (layered_lasso(layers, p.X), layered_ista(layers, p.X, iters=600)):
        for got, want in zip(codes, p.codes):
            assert np.linalg.norm(got - want) <= 0.15 * np.linalg.norm(want)
            assert np.all(np.abs(got[np.abs(want) > 0.4]) > 0.2)  # every clear planted atom found
            assert np.all(np.abs(got[want == 0]) < 0.2)  # and nothing spurious


def test_layered_ista_error_decays_geometrically(planted):
    p, layers = planted
    ref = layered_lasso(layers, p.X, tol=1e-12)
    _, hist = layered_ista(layers[:1], p.X, iters=600, return_history=True)
    err = np.linalg.norm(hist[0] - ref[0][None], axis=(1, 2))
    # once the support settles, every 50 iterations shrink the error by a constant factor < 1
    ratios = err[150::50] / err[100:-50:50]
    live = err[100:-50:50] > 1e-9
    assert live.sum() >= 5
    assert np.all(ratios[live] < 0.8)
    assert np.ptp(np.log(ratios[live])) < 0.5  # a constant rate (geometric), not just decreasing


def test_network_equals_layered_lca(planted):
    p, layers = planted
    net = build_deep_sc(layers, p.X[:4])
    assert [pop.name for pop in net.populations] == ["dsc.l1", "dsc.l2"]
    assert net.connection("dsc.l2.ff").shape == (64, 128)
    codes, res = run_deep_sc(layers, p.X[:4], steps=2500)
    for got, want in zip(codes, layered_lca(layers, p.X[:4], steps=4000)):
        np.testing.assert_allclose(got, want, atol=1e-8)
    assert res.activity.syn_events["dsc.l2.ff"] > 0


def test_convolutional_layers_as_one_network():
    rng = np.random.default_rng(1)
    F1 = rng.standard_normal((4, 1, 3, 3))
    F1 /= np.linalg.norm(F1.reshape(4, -1), axis=1)[:, None, None, None]
    cd1 = ConvDictionary(F1, (10, 10))
    F2 = rng.standard_normal((5, 4, 3, 3))
    F2 /= np.linalg.norm(F2.reshape(5, -1), axis=1)[:, None, None, None]
    cd2 = ConvDictionary(F2, cd1.code_shape)
    layers = [DSCLayer(cd1, 0.5), DSCLayer(cd2, 0.2, "nonneg")]
    X = rng.standard_normal((2, 100))
    net = build_deep_sc(layers, X)
    assert net.connection("dsc.l2.ff").is_conv and net.connection("dsc.l1.lateral").is_conv
    codes, _ = run_deep_sc(layers, X, steps=6000, dt_over_tau=1.0 / max(cd1.lipschitz(), cd2.lipschitz()))
    for got, want in zip(codes, layered_lasso(layers, X)):
        np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(want).max())


def test_layered_thresholding_is_a_cnn_forward_pass():
    """Non-negative layered thresholding = valid correlation + bias -lam + ReLU per layer."""
    rng = np.random.default_rng(2)
    F1, F2 = rng.standard_normal((3, 1, 3, 3)), rng.standard_normal((2, 3, 2, 2))
    cd1 = ConvDictionary(F1, (8, 8))
    cd2 = ConvDictionary(F2, cd1.code_shape)
    x = rng.standard_normal((8, 8))
    g1, g2 = layered_thresholding([DSCLayer(cd1, 0.3, "nonneg"), DSCLayer(cd2, 0.1, "nonneg")], x.ravel())
    h1 = np.maximum(np.stack([correlate(x, F1[k, 0], mode="valid") for k in range(3)]) - 0.3, 0)
    h2 = np.maximum(np.stack([sum(correlate(h1[c], F2[k, c], mode="valid") for c in range(3)) for k in range(2)])
                    - 0.1, 0)
    np.testing.assert_allclose(g1.reshape(h1.shape), h1, atol=1e-12)
    np.testing.assert_allclose(g2.reshape(h2.shape), h2, atol=1e-12)


def test_errors(planted):
    p, layers = planted
    with pytest.raises(ns.NetworkError, match="input size does not match"):
        layered_ista([layers[0], layers[0]], p.X)
    with pytest.raises(ns.NetworkError, match="first layer's input size"):
        layered_lasso(layers, np.ones((2, 5)))
    with pytest.raises(ns.NetworkError, match="no LASSO reference"):
        layered_lasso([DSCLayer(p.dictionaries[0], 0.1, "hard")], p.X)
    with pytest.raises(ns.NetworkError, match="unknown threshold"):
        DSCLayer(p.dictionaries[0], 0.1, "relu")
