"""The Mt-KaHyPar (km1) partitioner: hand case, hard capacity, determinism, and the missing-module error."""
import sys

import numpy as np
import pytest

from mapper.chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel
from mapper.graph import build_graph
from mapper.partition import hypergraph, partition
from neurosim.activity import ActivityProfile
from neurosim.errors import MappingError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF

pytest.importorskip("mtkahypar")


def chip(comps: int) -> ChipSpec:
    return ChipSpec(name="c", core=CoreLimits(max_compartments=comps, max_in_axons=64, max_out_axons=64,
                                              synapse_mem_bits=1 << 16),
                    noc=NocSpec(tile_grid=(2, 2), cores_per_tile=1),
                    energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12),
                    timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))


def two_clusters():
    """Neurons 0-3 and 4-7 all-to-all within their cluster, one synapse 3 -> 4 between them, and
    the order interleaved (0, 4, 1, 5, ...) so sequential fill would mix the clusters."""
    order = np.array([0, 4, 1, 5, 2, 6, 3, 7])
    w = np.zeros((8, 8))
    for c in (range(4), range(4, 8)):
        for i in c:
            for j in c:
                if i != j:
                    w[np.flatnonzero(order == i)[0], np.flatnonzero(order == j)[0]] = 1.0
    w[np.flatnonzero(order == 4)[0], np.flatnonzero(order == 3)[0]] = 1.0
    net = Network(name="two")
    net.add(Population("x", 8, LIF()))
    net.add(Connection("x", "x", w))
    return net, ActivityProfile.assumed(net, 0.1), order


def test_separates_two_clusters_with_one_packet_crossing():
    net, act, order = two_clusters()
    g = build_graph(net, act)
    p = partition(g, chip(4), strategy="hypergraph", seed=0, slack=0.0)
    assert p.n_parts == 2
    cluster = (order >= 4).astype(int)
    assert len({(int(a), int(b)) for a, b in zip(p.part, cluster)}) == 2  # parts == clusters
    # inter-core packets per "every neuron spikes once": only neuron 3's spike crosses
    remote = sum(1 for s, q in zip(p.rows.src, p.rows.part) if q != p.part[s])
    assert remote == 1


def test_hard_capacity_and_determinism():
    rng = np.random.default_rng(1)
    n = 60
    w = (rng.random((n, n)) < 0.1).astype(float)
    np.fill_diagonal(w, 0.0)
    net = Network(name="r")
    net.add(Population("x", n, LIF()))
    net.add(Connection("x", "x", w))
    g = build_graph(net, ActivityProfile.from_counts(net, {"x": rng.integers(0, 50, n)}, steps=100, batch=1,
                                                     dt_s=1e-3, source="test"))
    a = hypergraph(g, chip(16), k=4, seed=7)
    b = hypergraph(g, chip(16), k=4, seed=7)
    assert np.array_equal(a, b)
    assert np.bincount(a).max() <= 16  # a capacity, not an imbalance factor


def test_missing_module_is_a_clear_error(monkeypatch):
    import mapper.partition as mp

    net, act, _ = two_clusters()
    g = build_graph(net, act)
    monkeypatch.setitem(sys.modules, "mtkahypar", None)
    monkeypatch.setattr(mp, "_MTK", {})
    with pytest.raises(MappingError, match="neurosim\\[hypergraph\\]"):
        hypergraph(g, chip(4), k=2)

