"""Quantisation under a per-neuron weight-level limit (TrueNorth axon types): mapper.quantize."""
from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import yaml

import mapper.quantize as mq
from mapper.chipload import chip_from_dict, load_chip
from mapper.quantize import kmeans_1d, quantize_network
from neurosim.conv import ConvWeights
from neurosim.errors import NetworkError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.helpers import ROOT

TINY_DICT = yaml.safe_load((ROOT / "chips" / "tiny.yaml").read_text())


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


def test_mapping_note_when_neurons_exceed_the_chip_weight_levels():
    from mapper.api import map_network
    rng = np.random.default_rng(2)
    net = Network(name="n")
    net.add(Population("a", 8, LIF()))
    net.add(Connection("a", "a", rng.normal(size=(8, 8)), name="lat"))
    notes = map_network(net, "truenorth", None, seed=0, time_budget_s=0).report.to_dict()["notes"]
    hit = [n for n in notes if n.startswith("WEIGHTS:")]
    assert len(hit) == 1 and "at most 4 distinct weight values per neuron" in hit[0] and "8 of 8" in hit[0]
    qnet, _ = quantize_network(net, load_chip("truenorth"))
    notes = map_network(qnet, "truenorth", None, seed=0, time_budget_s=0).report.to_dict()["notes"]
    assert not any(n.startswith("WEIGHTS:") for n in notes)
    notes = map_network(net, "loihi1", None, seed=0, time_budget_s=0).report.to_dict()["notes"]
    assert not any(n.startswith("WEIGHTS:") for n in notes)
