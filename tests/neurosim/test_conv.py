"""ConvWeights: expansion equals a direct correlation; counts without expansion; engine delivery."""
import numpy as np
import pytest

import neurosim as ns


def direct_correlate(kernel, x, stride, padding):
    c_out, c_in, kh, kw = kernel.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    h_out = (xp.shape[1] - kh) // stride + 1
    w_out = (xp.shape[2] - kw) // stride + 1
    out = np.zeros((c_out, h_out, w_out))
    for o in range(c_out):
        for y in range(h_out):
            for x_ in range(w_out):
                patch = xp[:, y * stride:y * stride + kh, x_ * stride:x_ * stride + kw]
                out[o, y, x_] = np.sum(kernel[o] * patch)
    return out


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 2), (2, 1), (3, 0)])
def test_expansion_equals_direct_correlation(stride, padding):
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((3, 2, 3, 4))
    kernel[0, 1, 1, 2] = 0.0
    x = rng.standard_normal((2, 7, 9))
    cw = ns.ConvWeights(kernel, (2, 7, 9), stride=stride, padding=padding)
    m = cw.to_csr()
    assert m.shape == cw.shape
    np.testing.assert_allclose(m @ x.ravel(), direct_correlate(kernel, x, stride, padding).ravel(), atol=1e-12)
    assert cw.nnz == m.nnz
    rows = np.array([0, 5, cw.shape[0] - 1])
    np.testing.assert_allclose(cw.to_csr(rows).toarray(), m[rows].toarray())


def test_conv_connection_in_engine_matches_dense():
    rng = np.random.default_rng(1)
    kernel = -np.abs(rng.standard_normal((2, 2, 3, 3))) * 0.1
    cw = ns.ConvWeights(kernel, (2, 5, 5), padding=1)
    dense = cw.to_csr().toarray()
    counts = []
    bias = rng.uniform(0.2, 0.8, 50)
    for w in (cw, dense):
        net = ns.Network("conv")
        net.add(ns.Population("p", 50, ns.IF()))
        net.add(ns.Connection("p", "p", w))
        net.add(ns.ConstantInput("p", bias))
        net.add(ns.Probe("p", "count"))
        counts.append(ns.simulate(net, steps=500, dt_s=0.1)["p.count"])
    np.testing.assert_array_equal(counts[0], counts[1])
    c = ns.Connection("p", "p", cw)
    assert c.is_conv and c.n_synapses == cw.nnz
    np.testing.assert_array_equal(c.fan_out(), np.count_nonzero(dense, axis=0))


def test_conv_errors():
    with pytest.raises(ns.NetworkError, match="must be 4-D"):
        ns.ConvWeights(np.ones((2, 3, 3)), (2, 5, 5))
    with pytest.raises(ns.NetworkError, match="input channels do not match"):
        ns.ConvWeights(np.ones((1, 2, 3, 3)), (3, 5, 5))
    with pytest.raises(ns.NetworkError, match="larger than the padded input"):
        ns.ConvWeights(np.ones((1, 1, 7, 7)), (1, 5, 5))
    net = ns.Network("c")
    net.add(ns.Population("p", 10, ns.IF()))
    net.add(ns.Connection("p", "p", ns.ConvWeights(np.ones((1, 1, 3, 3)), (1, 5, 5))))
    with pytest.raises(ns.NetworkError, match="weights shape does not match"):
        net.validate()


def test_zero_taps_are_synapses_only_when_asked(tmp_path):
    """SANA-FE's conv2d edges keep a synapse for every tap inside the input, zero or not:
    ``zero_taps`` counts them (nnz, the expansion's stored entries) without changing any weight,
    and a saved network keeps the flag."""
    from neurosim.io.network import load_network, save_network

    k = np.array([[[[1.0, 0.0], [0.0, 2.0]]]])  # (1, 1, 2, 2), two zero taps
    plain, kept = ns.ConvWeights(k, (1, 3, 3)), ns.ConvWeights(k, (1, 3, 3), zero_taps=True)
    assert plain.nnz == plain.to_csr().nnz == 8 and kept.nnz == kept.to_csr().nnz == 16
    np.testing.assert_array_equal(kept.to_csr().toarray(), plain.to_csr().toarray())
    net = ns.Network(name="z")
    net.add(ns.Population("a", 9, ns.LIF()))
    net.add(ns.Population("b", 4, ns.LIF()))
    net.add(ns.Connection("a", "b", kept))
    save_network(net, tmp_path / "z.npz")
    assert load_network(tmp_path / "z.npz").connections[0].weights.zero_taps is True
