"""The "steiner" strategy (mapper.partition.steiner): Mt-KaHyPar's Steiner-tree mapping onto the tiles,
then a split per tile.

Hand-checkable: four groups of four neurons, each group a clique, joined in a chain
G0 - G1 - G2 - G3 by one synapse each way; a 2 x 2 mesh of one-core tiles with four compartments.
The only zero-waste mapping puts every group on one core and consecutive groups on neighbouring
tiles, so each chain synapse costs one link per spike and nothing else leaves a core.
"""
from __future__ import annotations

import numpy as np
import pytest

from mapper import MappingOptions, map_network
from mapper.graph import build_graph
from mapper.partition import STRATEGIES, partition
from mapper.partition.steiner import tile_block
from mapper.nets import build_nets
from mapper.place import exchange_twins, find_twins, place, placement_cost
from neurosim.activity import ActivityProfile
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.helpers import make_tiny_chip

pytest.importorskip("mtkahypar")

STEPS = 100


def chain_of_cliques(groups: int = 4, size: int = 4):
    n = groups * size
    w = np.zeros((n, n))
    for gi in range(groups):
        idx = np.arange(gi * size, (gi + 1) * size)
        w[np.ix_(idx, idx)] = 1.0
        if gi + 1 < groups:  # last neuron of gi <-> first neuron of gi + 1
            a, b = idx[-1], idx[-1] + 1
            w[b, a] = w[a, b] = 1.0
    np.fill_diagonal(w, 0.0)
    order = np.random.default_rng(3).permutation(n)  # hide the groups from index-order strategies
    w = w[np.ix_(order, order)]
    net = Network(name="chain")
    net.add(Population("p", n, LIF()))
    net.add(Connection("p", "p", w))
    counts = np.full(n, 10)
    act = ActivityProfile.from_counts(net, {"p": counts}, steps=STEPS, batch=1, dt_s=1e-3, source="synthetic")
    return net, act, order


def test_tile_block_is_compact_and_weighs_chip_crossings():
    chip = make_tiny_chip(chip_grid=(2, 1))  # two chips of 2 x 2 one-core tiles side by side: a 4 x 2 mesh
    cores, edges, weights = tile_block(chip, 4)
    assert [chip.global_tile(int(c)) for c in cores] == [(0, 0), (1, 0), (1, 1), (0, 1)]  # snake over a 2 x 2 block
    assert sorted(edges) == [(0, 1), (0, 3), (1, 2), (2, 3)] and set(weights) == {1}
    cores, edges, weights = tile_block(chip, 6)  # 3 x 2: crosses into the second chip
    assert {chip.address(int(c)).chip for c in cores} == {0, 1}
    crossing = [wt for (a, b), wt in zip(edges, weights)
                if chip.address(int(cores[a])).chip != chip.address(int(cores[b])).chip]
    assert crossing and set(crossing) == {2}


def test_chain_of_cliques_is_mapped_by_hand():
    chip = make_tiny_chip()
    net, act, order = chain_of_cliques()
    g = build_graph(net, act)
    p = partition(g, chip, MappingOptions(partitioner="steiner"))
    assert p.strategy == "steiner" and not p.fallback and p.n_parts == 4
    group_of = np.empty(16, dtype=int)
    group_of[np.argsort(order)] = np.arange(16) // 4  # neuron j of the net is neuron order[j] of the chain
    for q in range(4):  # every core holds exactly one group
        assert np.unique(group_of[p.part == q]).size == 1
    core_of_group = {int(group_of[p.part == q][0]): int(p.cores[q]) for q in range(4)}
    for a in range(3):  # consecutive groups on neighbouring tiles
        (xa, ya), (xb, yb) = chip.global_tile(core_of_group[a]), chip.global_tile(core_of_group[a + 1])
        assert abs(xa - xb) + abs(ya - yb) == 1
    opts = MappingOptions(partitioner="steiner", placer="anneal", seed=0, time_budget_s=0,
                          place_options={"multicast": True})
    nets = build_nets(g, p.part, p.rows)  # place and exchange twins as map_network does
    label = find_twins(g, nets, opts)
    ex = exchange_twins(g, chip, p, place(nets, chip, opts, cores=p.cores), opts, nets=nets, label=label)
    cost = placement_cost(ex.nets, chip, ex.placement.core, multicast=True)
    # 6 chain synapses, each from a neuron firing 0.1 per step, one link each
    assert cost["links"] == pytest.approx(6 * 0.1)


def test_same_seed_same_mapping():
    chip = make_tiny_chip()
    net, act, _ = chain_of_cliques()
    g = build_graph(net, act)
    opts = MappingOptions(partitioner="steiner", seed=5)
    a, b = partition(g, chip, opts), partition(g, chip, opts)
    np.testing.assert_array_equal(a.part, b.part)
    np.testing.assert_array_equal(a.cores, b.cores)


def test_over_budget_hands_over_to_hypergraph():
    chip = make_tiny_chip()
    net, act, _ = chain_of_cliques()
    g = build_graph(net, act)
    # the child process cannot even start
    p = partition(g, chip, MappingOptions(partitioner="steiner", steiner_budget_s=1e-3))
    assert p.strategy == "hypergraph" and p.cores is None
    assert "'steiner' gave no tile mapping of 4 cores" in p.fallback and "'hypergraph' used" in p.fallback
    assert p.budget_bound == ("partition: steiner",)  # the wall-clock cap decided: reported as not reproducible
    assert not p.usage.violations()


def test_map_network_with_steiner_reports_it_and_fits():
    chip = make_tiny_chip(chip_grid=(2, 1), max_compartments=3)
    net, act, _ = chain_of_cliques()
    res = map_network(net, chip, act, partitioner="steiner", time_budget_s=0)
    rep = res.report.to_dict()
    assert rep["partition"]["strategy"] == "steiner" and rep["partition"]["fallback"] is None
    assert not res.partition.usage.violations() and res.partition.n_parts >= 6
    assert np.unique(res.placement.core).size == res.partition.n_parts
    assert "steiner" in STRATEGIES


def test_a_network_without_synapses_falls_back_and_says_why():
    net = Network(name="silent")
    net.add(Population("p", 8, LIF()))
    act = ActivityProfile.from_counts(net, {"p": np.ones(8, int)}, steps=10, batch=1, dt_s=1e-3, source="synthetic")
    p = partition(build_graph(net, act), make_tiny_chip(), MappingOptions(partitioner="steiner"))
    assert p.strategy == "hypergraph" and "no synapse between two neurons" in p.fallback
    assert not p.usage.violations() and p.cores is None


def test_more_tiles_than_mtkahypar_maps_hands_over_at_once(monkeypatch):
    import mapper.partition.steiner as ms

    def no_child(*_, **__):
        raise AssertionError("no child program may be started")

    monkeypatch.setattr(ms, "MAX_TILES", 3)  # the chain needs 4 one-core tiles
    monkeypatch.setattr(ms, "_run_child", no_child)
    net, act, _ = chain_of_cliques()
    p = partition(build_graph(net, act), make_tiny_chip(), MappingOptions(partitioner="steiner", steiner_budget_s=60.0))
    assert p.strategy == "hypergraph" and "needs 4 tiles" in p.fallback and "at most 3 blocks" in p.fallback
    assert not p.usage.violations()
