"""Weight quantisation to a chip's precision (mapper.quantize), also under a per-neuron weight-level limit
(TrueNorth axon types: 1-D k-means against brute force, levels shared by all inputs of a neuron)."""
from __future__ import annotations

import ast
import copy
import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import yaml

import mapper.quantize as mq
from mapper.chipload import chip_from_dict, load_chip
from mapper.quantize import SaturationWarning, kmeans_1d, quantize_network, quantize_weights
from neurosim.conv import ConvWeights
from neurosim.errors import ChipSpecError, NetworkError
from neurosim.ir import Connection, Gain, Network, Population
from neurosim.neurons import LIF
from tests.helpers import ROOT

TINY_DICT = yaml.safe_load((ROOT / "chips" / "tiny.yaml").read_text())


def chip_with_bits(bits: int):
    d = copy.deepcopy(TINY_DICT)
    d["core"]["weight_bits"] = bits
    return chip_from_dict(d)


def net_with(w, *, sparse: bool = False, **conn_kw) -> Network:
    w = np.asarray(w, dtype=float)
    net = Network(name="q")
    net.add(Population("a", w.shape[1], LIF()))
    net.add(Population("b", w.shape[0], LIF()))
    net.add(Connection("a", "b", sp.csr_matrix(w) if sparse else w, **conn_kw))
    return net


W_HAND = [[1.0, -0.5, 0.1], [0.3, 0.0, 0.74]]


@pytest.mark.parametrize("sparse", [False, True])
def test_hand_computed_rounding(sparse):
    """tiny: 4-bit signed -> q_max = 7; max|w| = 1 -> scale 2**ceil(log2(1/7)) = 2**-2 = 0.25.
    w/s = [4, -2, 0.4; 1.2, -, 2.96] -> q = [4, -2, 0; 1, -, 3] -> w_q = [1, -0.5, 0; 0.25, 0, 0.75]."""
    net = net_with(W_HAND, sparse=sparse)
    qnet, rep = quantize_network(net, load_chip("tiny"))
    wq = qnet.connections[0].weights
    wq = wq.toarray() if sparse else wq
    np.testing.assert_array_equal(wq, [[1.0, -0.5, 0.0], [0.25, 0.0, 0.75]])
    c = rep.connection("a->b")
    assert (c.scale, c.exponent, c.q_max, c.n_synapses, c.n_zeroed, c.n_saturated) == (0.25, -2, 7, 5, 1, 0)
    assert c.max_abs_weight == 1.0
    rel = [0.0, 0.0, 1.0, 0.05 / 0.3, 0.01 / 0.74]
    assert c.max_rel_error == pytest.approx(1.0)
    assert c.mean_rel_error == pytest.approx(np.mean(rel))
    err = np.array([0, 0, 0.1, 0.05, 0.01])
    w = np.array([1.0, 0.5, 0.1, 0.3, 0.74])
    assert c.rel_fro_error == pytest.approx(np.linalg.norm(err) / np.linalg.norm(w))
    assert rep.weight_bits == 4 and rep.chip == "tiny" and rep.n_zeroed == 1
    # the zeroed weight is no longer a synapse
    assert qnet.connections[0].n_synapses == 4
    # the input network is untouched
    w0 = net.connections[0].weights
    np.testing.assert_array_equal(w0.toarray() if sparse else w0, W_HAND)


def test_round_half_away_from_zero():
    # scale 1 (max 7 with q_max 7): 2.5 -> 3, -2.5 -> -3, 0.5 -> 1
    wq, s, e, n_sat = quantize_weights(np.array([7.0, 2.5, -2.5, 0.5, -0.49]), 4)
    assert (s, e, n_sat) == (1.0, 0, 0)
    np.testing.assert_array_equal(wq, [7, 3, -3, 1, -0.0])


def test_max_mode_uses_exact_range():
    wq, s, e, _ = quantize_weights(np.array([0.9, -0.3]), 4, mode="max")
    assert e is None and s == pytest.approx(0.9 / 7)
    np.testing.assert_allclose(wq, [0.9, -2 * 0.9 / 7])


def test_pow2_scale_at_exact_power_boundary():
    # max|w| = q_max * 2**-3 exactly: the scale must be 2**-3, using the full range
    wq, s, e, n_sat = quantize_weights(np.array([7 / 8, -1 / 8]), 4)
    assert (s, e, n_sat) == (0.125, -3, 0)
    np.testing.assert_array_equal(wq, [7 / 8, -1 / 8])


def test_error_shrinks_with_more_bits():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(20, 30))
    w[rng.random(w.shape) < 0.3] = 0.0
    net = net_with(w)
    errs, zeros, prev = [], [], None
    for bits in range(2, 13):
        qnet, rep = quantize_network(net, chip_with_bits(bits))
        c = rep.connections[0]
        errs.append(c.rel_fro_error)
        zeros.append(c.n_zeroed)
        wq = qnet.connections[0].weights
        if prev is not None:  # pow2 grids are nested: no single weight gets worse
            assert np.all(np.abs(wq - w) <= np.abs(prev - w) + 1e-15)
        prev = wq
    assert all(b < a for a, b in zip(errs, errs[1:]))
    assert all(b <= a for a, b in zip(zeros, zeros[1:]))
    # rounding error is at most half a step, step = 2**e < 2 max|w| / q_max
    m = np.abs(w).max()
    assert np.abs(prev - w).max() <= m / (2 ** 11 - 1) and errs[-1] < 1e-3


def test_fixed_scale_saturation_warns_and_strict_raises():
    net = net_with(W_HAND)
    with pytest.warns(SaturationWarning, match=r"a->b.*1 of 5 weights saturated"):
        qnet, rep = quantize_network(net, load_chip("tiny"), scales={"a->b": 0.1})
    # q_max 7 x 0.1: 1.0 -> 10 clipped to 7 (saturated); 0.74 -> 7.4 rounds to 7 (not clipped)
    np.testing.assert_allclose(qnet.connections[0].weights, [[0.7, -0.5, 0.1], [0.3, 0.0, 0.7]])
    assert rep.n_saturated == 1 and rep.connections[0].max_rel_error == pytest.approx(0.3)
    with pytest.raises(NetworkError, match="saturated"):
        quantize_network(net, load_chip("tiny"), scales={"a->b": 0.1}, strict=True)


def test_no_warning_without_saturation():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quantize_network(net_with(W_HAND), load_chip("tiny"), strict=True)


def test_bad_arguments():
    net = net_with(W_HAND)
    with pytest.raises(NetworkError, match="unknown connection"):
        quantize_network(net, load_chip("tiny"), scales={"nope": 1.0})
    with pytest.raises(NetworkError, match="> 0"):
        quantize_network(net, load_chip("tiny"), scales={"a->b": 0.0})
    with pytest.raises(NetworkError, match="unknown mode"):
        quantize_network(net, load_chip("tiny"), mode="log")
    with pytest.raises(ChipSpecError, match="core.weight_bits"):
        quantize_network(net, chip_with_bits(1))


def test_keeps_everything_else():
    net = net_with(W_HAND, delay_steps=3, gain=Gain("g"), name="ff")
    net.signals["g"] = 0.5
    qnet, rep = quantize_network(net, load_chip("loihi1"))
    c0, c1 = net.connections[0], qnet.connections[0]
    assert (c1.name, c1.pre, c1.post, c1.delay_steps, c1.gain) == (c0.name, c0.pre, c0.post, 3, c0.gain)
    assert qnet.populations == net.populations and qnet.signals == net.signals and qnet is not net
    assert rep.weight_bits == 9 and rep.connections[0].q_max == 255
    assert rep.to_dict()["connections"][0]["name"] == "ff"


def test_empty_connection():
    net = net_with(np.zeros((2, 2)))
    qnet, rep = quantize_network(net, load_chip("tiny"))
    assert rep.connections[0].n_synapses == 0 and rep.max_rel_error == 0.0


def test_imports_only_ir():
    tree = ast.parse(Path(mq.__file__).read_text())
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.startswith("neurosim.backends") for m in mods)
    assert {m for m in mods if m.startswith("neurosim")} <= {"neurosim.errors", "neurosim.ir", "neurosim.conv"}


def test_conv_weights_quantise_the_kernel():
    from neurosim.conv import ConvWeights
    kernel = np.array([[[[1.0, 0.1], [-0.5, 0.0]]]])  # (C_out=1, C_in=1, 2, 2)
    cw = ConvWeights(kernel=kernel, in_shape=(1, 3, 3))
    net = Network(name="c")
    net.add(Population("a", 9, LIF()))
    net.add(Population("b", 4, LIF()))
    net.add(Connection("a", "b", cw))
    _ = cw.to_csr()  # fill the original's expansion cache: the copy must not reuse it
    qnet, rep = quantize_network(net, load_chip("tiny"))
    qw = qnet.connections[0].weights
    assert isinstance(qw, ConvWeights)
    # scale 0.25 (as in the hand case): 1 -> 1, 0.1 -> 0 (zeroed), -0.5 -> -0.5
    np.testing.assert_array_equal(qw.kernel, [[[[1.0, 0.0], [-0.5, 0.0]]]])
    c = rep.connections[0]
    assert (c.n_synapses, c.n_zeroed, c.scale) == (3, 1, 0.25)
    np.testing.assert_array_equal(qw.to_csr().toarray(), ConvWeights(qw.kernel, (1, 3, 3)).to_csr().toarray())
    assert qw.to_csr().nnz == 8 and cw.to_csr().nnz == 12
    np.testing.assert_array_equal(cw.kernel, kernel)


def tiny_levels(levels, bits: int = 4):
    d = copy.deepcopy(TINY_DICT)
    d["core"]["weight_bits"] = bits
    d["core"]["weight_levels_per_neuron"] = levels
    return chip_from_dict(d)


def _sse(x, c, lab):
    return float(((x - c[lab]) ** 2).sum())


def _brute(x, k, free_zero):
    """Least squared error over all splits of the sorted values into runs (<= k free, <= 1 zero run)."""
    xs = np.sort(x)
    n, best = xs.size, np.inf
    for t in range(1, min(n, k + 1) + 1):
        for cuts in itertools.combinations(range(1, n), t - 1):
            segs = np.split(xs, cuts)
            reg = [float(((s - s.mean()) ** 2).sum()) for s in segs]
            if t <= k:
                best = min(best, sum(reg))
            if free_zero:
                for i, s in enumerate(segs):
                    best = min(best, sum(reg) - reg[i] + float((s ** 2).sum()))
    return best


@pytest.mark.parametrize("free_zero", [False, True])
def test_kmeans_1d_is_optimal_against_brute_force(free_zero):
    rng = np.random.default_rng(3)
    for _ in range(120):
        n = int(rng.integers(5, 10))
        x = rng.normal(size=n) + rng.choice([0.0, 0.7])
        k = int(rng.integers(1, 4))
        c, lab = kmeans_1d(x, k, free_zero=free_zero)
        assert np.count_nonzero(c) <= k if free_zero else c.size <= k
        assert _sse(x, c, lab) == pytest.approx(_brute(x, k, free_zero), abs=1e-9)


def test_kmeans_1d_hand_example_and_few_values():
    # sorted [-0.01, 0.01, 3, 3, 7], two free centers + a free 0: {+-0.01} -> 0, {3, 3} -> 3, {7} -> 7
    c, lab = kmeans_1d(np.array([3.0, -0.01, 7.0, 0.01, 3.0]), 2, free_zero=True)
    np.testing.assert_allclose(c[lab], [3.0, 0.0, 7.0, 0.0, 3.0])
    c, lab = kmeans_1d(np.array([2.0, -1.0, 2.0]), 4)  # fewer distinct values than k: exact
    np.testing.assert_array_equal(c[lab], [2.0, -1.0, 2.0])


def test_kmeans_1d_lloyd_above_the_exact_size(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    exact = _sse(x, *kmeans_1d(x, 4, free_zero=True))
    monkeypatch.setattr(mq, "EXACT_KMEANS_MAX", 10)
    c, lab = kmeans_1d(x, 4, free_zero=True)
    assert np.count_nonzero(c) <= 4
    assert exact <= _sse(x, c, lab) <= 1.1 * exact


def test_hand_computed_levels():
    """Two levels per neuron, 4-bit (q_max 7). Row 0 [1, 0.5, -0.5, 0.02]: best is {-0.5}, {0.5, 1} -> 0.75
    and 0.02 -> 0 (no synapse); row 1 has one value. Peak 0.75 -> scale 2**ceil(log2(0.75/7)) = 1/8:
    0.75 -> 6/8, -0.5 -> -4/8, 0.3 -> round(2.4) = 2 -> 0.25. (Per synapse it would be [1, 0.5, -0.5, 0].)"""
    net = Network(name="q")
    net.add(Population("a", 4, LIF()))
    net.add(Population("b", 2, LIF()))
    net.add(Connection("a", "b", np.array([[1.0, 0.5, -0.5, 0.02], [0.3, 0.3, 0.3, 0.3]])))
    qnet, rep = quantize_network(net, tiny_levels(2))
    np.testing.assert_array_equal(qnet.connections[0].weights, [[0.75, 0.75, -0.5, 0.0], [0.25] * 4])
    c = rep.connection("a->b")
    assert (c.scale, c.exponent, c.q_max, c.n_synapses, c.n_zeroed, c.n_saturated) == (0.125, -3, 7, 8, 1, 0)
    assert rep.model == "levels-per-neuron" and rep.levels_per_neuron == 2 and rep.max_levels_used == 2
    d = rep.to_dict()
    assert d["model"] == "levels-per-neuron" and "at most 2 distinct values per target neuron" in d["description"]
    assert "optimistic" in d["description"]


def _pooled_levels(qnet, post):
    mats = [sp.csr_matrix(c.csr()) for c in qnet.connections if c.post == post]
    a = sp.hstack(mats, format="csr")
    return max((np.unique(a.data[a.indptr[r]:a.indptr[r + 1]][a.data[a.indptr[r]:a.indptr[r + 1]] != 0]).size
                for r in range(a.shape[0])), default=0)


def test_levels_are_shared_by_all_inputs_of_a_neuron_dense_sparse_conv():
    """Property over seeded random networks: every target neuron receives at most L distinct non-zero
    values over all its incoming connections, no synapse is created, conv comes back sparse."""
    rng = np.random.default_rng(7)
    for trial in range(6):
        levels = int(rng.integers(1, 5))
        net = Network(name="m")
        net.add(Population("a", 8, LIF()))
        net.add(Population("c", 18, LIF()))   # 2 x 3 x 3 image
        net.add(Population("b", 8, LIF()))    # 2 x 2 x 2 conv output
        dense = rng.normal(size=(8, 8)) * (rng.random((8, 8)) < 0.7)
        net.add(Connection("a", "b", dense, name="dense"))
        net.add(Connection("a", "b", sp.csr_matrix(rng.normal(size=(8, 8)) * (rng.random((8, 8)) < 0.5)),
                           name="sparse"))
        net.add(Connection("c", "b", ConvWeights(kernel=rng.normal(size=(2, 2, 2, 2)), in_shape=(2, 3, 3)),
                           name="conv"))
        net.add(Connection("b", "a", rng.normal(size=(8, 8)), name="back"))
        qnet, rep = quantize_network(net, tiny_levels(levels, bits=9))
        assert _pooled_levels(qnet, "b") <= levels and _pooled_levels(qnet, "a") <= levels
        assert rep.max_levels_used <= levels
        for c0, c1 in zip(net.connections, qnet.connections):
            s0, s1 = sp.csr_matrix(c0.csr()), sp.csr_matrix(c1.csr())
            assert s1.shape == s0.shape
            assert not np.any((s1.toarray() != 0) & (s0.toarray() == 0))   # no new synapses
            assert rep.connection(c0.name).n_synapses == s0.nnz
        assert sp.issparse(qnet.connection("conv").weights) and sp.issparse(qnet.connection("sparse").weights)
        assert not sp.issparse(qnet.connection("dense").weights)


def test_fixed_scales_must_agree_for_a_population():
    net = Network(name="f")
    net.add(Population("a", 2, LIF()))
    net.add(Population("b", 2, LIF()))
    net.add(Connection("a", "b", np.eye(2), name="x"))
    net.add(Connection("a", "b", 2 * np.eye(2), name="y"))
    with pytest.raises(NetworkError, match="share one scale"):
        quantize_network(net, tiny_levels(4), scales={"x": 0.5})
    with pytest.raises(NetworkError, match="share one scale"):
        quantize_network(net, tiny_levels(4), scales={"x": 0.5, "y": 0.25})
    with pytest.warns(mq.SaturationWarning):
        qnet, rep = quantize_network(net, tiny_levels(4), scales={"x": 0.25, "y": 0.25})
    np.testing.assert_array_equal(qnet.connection("y").weights, 1.75 * np.eye(2))  # 8 clipped to q_max 7
    assert rep.connection("y").n_saturated == 2
    with pytest.raises(NetworkError):
        quantize_network(net, tiny_levels(4), scales={"x": 0.25, "y": 0.25}, strict=True)


def test_shipped_truenorth_uses_four_levels_and_loihi_per_synapse():
    tn = load_chip("truenorth")
    assert tn.core.weight_levels_per_neuron == 4
    rng = np.random.default_rng(1)
    net = Network(name="t")
    net.add(Population("a", 16, LIF()))
    net.add(Connection("a", "a", rng.normal(size=(16, 16)), name="lat"))
    qnet, rep = quantize_network(net, tn)
    assert rep.model == "levels-per-neuron" and rep.to_dict()["levels_per_neuron"] == 4
    assert _pooled_levels(qnet, "a") <= 4
    assert "TrueNorth axon types" in rep.description
    _, rep1 = quantize_network(net, load_chip("loihi1"))
    assert rep1.model == "per-synapse" and rep1.levels_per_neuron is None and rep1.max_levels_used is None
    assert rep1.to_dict()["description"].startswith("9-bit signed weights, any value per synapse")


def test_levels_per_neuron_counts_distinct_pooled_values():
    net = Network(name="c")
    net.add(Population("a", 3, LIF()))
    net.add(Population("b", 2, LIF()))
    net.add(Connection("a", "b", np.array([[1.0, 1.0, 2.0], [0.0, 0.0, 0.0]]), name="x"))
    net.add(Connection("a", "b", sp.csr_matrix(np.array([[3.0, 1.0, 0.0], [0.0, -1.0, 0.0]])), name="y"))
    counts = mq.levels_per_neuron(net)
    assert list(counts) == ["b"] and counts["b"].tolist() == [3, 1]
