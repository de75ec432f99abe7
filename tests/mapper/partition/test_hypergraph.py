"""The Mt-KaHyPar (km1) partitioner (mapper.partition.hypergraph): hand case, hard capacity, determinism,
and the missing-module error."""
import sys

import numpy as np
import pytest

from mapper import MappingOptions
from mapper.chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel
from mapper.graph import build_graph
from mapper.partition import partition
from mapper.partition.strategies import hypergraph
from neurosim.activity import ActivityProfile
from neurosim.errors import MappingError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.mapper.partition.helpers import axon_chip, ring_with_random_targets

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
    p = partition(g, chip(4), MappingOptions(partitioner="hypergraph", seed=0), slack=0.0)
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
    import mapper.partition.hypergraph as mp

    net, act, _ = two_clusters()
    g = build_graph(net, act)
    monkeypatch.setitem(sys.modules, "mtkahypar", None)
    monkeypatch.setattr(mp, "_MTK", {})
    with pytest.raises(MappingError, match="neurosim\\[hypergraph\\]"):
        hypergraph(g, chip(4), k=2, seed=0)


def test_synapse_memory_capacity_counts_shared_rows_not_neurons_alone():
    """A dense 64 -> 64 layer (8-bit payload per synapse, 4-bit row header) on cores of 8192 bits:
    alone on a core a neuron needs 64 rows of one 64-bit word (4096 bits, two per core), but 15
    neurons sharing the rows need 64 rows of ceil((15 x 8 + 4) / 64) = 2 words = 8192 bits. A
    capacity in "neurons alone" units (2 per core) is below the average load at k = 8 and was
    raised to it, i.e. no capacity; the payload capacity (limit x payload / lower-bound demand,
    ~15.5 neurons) is the real one: the same core count as METIS, no new cores."""
    from mapper.partition.hypergraph import _hypergraph_weights
    from mapper.resources import demand_lower_bounds

    n_in, n = 64, 64
    net = Network(name="dense")
    net.add(Population("a", n_in, LIF()))
    net.add(Population("b", n, LIF()))
    net.add(Connection("a", "b", np.ones((n, n_in))))
    c = ChipSpec(name="c", core=CoreLimits(max_compartments=128, max_in_axons=128, max_out_axons=128,
                                           synapse_mem_bits=64 * 2 * 64, weight_bits=4, synapse_index_bits=4,
                                           synapse_row_overhead_bits=4, synapse_word_bits=64),
                 noc=NocSpec(tile_grid=(4, 4), cores_per_tile=1),
                 energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12),
                 timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    vw, cap = _hypergraph_weights(g, c, "synapse_bits", 8)
    # every b neuron carries 64 synapses x 8 payload bits; the a neurons none
    assert set(vw[n_in:].tolist()) == {1000} and cap < vw.sum()
    lb = demand_lower_bounds(g, c)["synapse_bits"]
    assert lb == n * n_in * 8 + n_in * 4
    assert cap == int(c.core.synapse_mem_bits * (n * n_in * 8 / lb) / 512 * 1000)
    ph = partition(g, c, MappingOptions(partitioner="hypergraph", seed=0))
    pm = partition(g, c, MappingOptions(partitioner="metis", seed=0))
    assert not ph.usage.violations() and ph.new_cores == 0
    assert ph.n_parts <= pm.n_parts


def test_neuron_count_capacity_is_the_compartment_limit_or_the_output_axon_bound():
    """With unit vertex weights (binding in_axons or out_axons) the capacity counts neurons: at most
    ``max_compartments`` per core, and with output axons binding at most ``s_max(k)`` (an
    all-to-all layer of 24 on cores of 5 compartments and 24 output axons: 6 cores of 4, since a
    neuron reaches all 6). A capacity of ``max_out_axons`` neurons let parts of 6 through."""
    from mapper.partition.hypergraph import _hypergraph_weights

    w = np.ones((24, 24))
    np.fill_diagonal(w, 0.0)
    net = Network(name="ata")
    net.add(Population("x", 24, LIF()))
    net.add(Connection("x", "x", w))
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    c = ChipSpec(name="c", core=CoreLimits(max_compartments=5, max_in_axons=64, max_out_axons=24,
                                           synapse_mem_bits=1 << 20),
                 noc=NocSpec(tile_grid=(4, 4), cores_per_tile=1),
                 energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12),
                 timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))
    assert _hypergraph_weights(g, c, "out_axons", 6)[1] == 4
    assert _hypergraph_weights(g, c, "in_axons", 6)[1] == 5
    raw = hypergraph(g, c, k=6, binding="out_axons", seed=0)
    assert np.bincount(raw).max() <= 4
    p = partition(g, c, MappingOptions(partitioner="hypergraph"))
    assert p.n_parts == 6 and p.repair_moves == 0 and not p.usage.violations()


def test_axon_bound_parts_hold_about_their_share_of_neurons():
    """When input axons bind and compartments are plentiful, a neuron-count capacity of
    ``max_compartments`` let km1 pile neurons onto a few parts (on loihi2's sheet: parts of 8192
    neurons with 4x their input axons, then 33 extra cores from the repair). The capacity is the
    balanced share ``ceil(n / k (1 + 0.03))``, and the partition needs no more cores than METIS's."""
    from mapper.partition.hypergraph import _hypergraph_weights

    net = ring_with_random_targets()
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    c = axon_chip(48)
    k = 16
    assert _hypergraph_weights(g, c, "in_axons", k)[1] == 33  # ceil(512 / 16 x 1.03), not 512
    assert _hypergraph_weights(g, c, "in_axons", k, balance=0.5)[1] == 48
    assert np.bincount(hypergraph(g, c, k=k, binding="in_axons", epsilon=0.5, seed=0), minlength=k).max() <= 48
    assert np.bincount(hypergraph(g, c, k=k, binding="in_axons", seed=0), minlength=k).max() <= 33
    hg = partition(g, c, MappingOptions(partitioner="hypergraph"))
    mt = partition(g, c, MappingOptions(partitioner="metis"))
    assert hg.binding == "in_axons" and not hg.usage.violations()
    assert hg.n_parts <= mt.n_parts + 1
