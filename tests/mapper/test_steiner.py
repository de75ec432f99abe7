"""The "steiner" strategy: Mt-KaHyPar's Steiner-tree mapping onto the tiles, then a split per tile.

Hand-checkable: four groups of four neurons, each group a clique, joined in a chain
G0 - G1 - G2 - G3 by one synapse each way; a 2 x 2 mesh of one-core tiles with four compartments.
The only zero-waste mapping puts every group on one core and consecutive groups on neighbouring
tiles, so each chain synapse costs one link per spike and nothing else leaves a core.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mtkahypar")

from tests.helpers import make_tiny_chip  # noqa: E402
from mapper.api import map_network  # noqa: E402
from mapper.graph import build_graph  # noqa: E402
from mapper.partition import STRATEGIES, partition  # noqa: E402
from mapper.place import complete_start, placement_cost  # noqa: E402
from mapper.steiner import tile_block  # noqa: E402
from mapper.twins import place_refined  # noqa: E402
from neurosim.activity import ActivityProfile  # noqa: E402
from neurosim.ir import Connection, Network, Population  # noqa: E402
from neurosim.neurons import LIF  # noqa: E402

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
    p = partition(g, chip, strategy="steiner")
    assert p.strategy == "steiner" and not p.fallback and p.n_parts == 4
    group_of = np.empty(16, dtype=int)
    group_of[np.argsort(order)] = np.arange(16) // 4  # neuron j of the net is neuron order[j] of the chain
    for q in range(4):  # every core holds exactly one group
        assert np.unique(group_of[p.part == q]).size == 1
    core_of_group = {int(group_of[p.part == q][0]): int(p.cores[q]) for q in range(4)}
    for a in range(3):  # consecutive groups on neighbouring tiles
        (xa, ya), (xb, yb) = chip.global_tile(core_of_group[a]), chip.global_tile(core_of_group[a + 1])
        assert abs(xa - xb) + abs(ya - yb) == 1
    _, nets, pl, _ = place_refined(g, chip, p, placer="anneal", seed=0, time_budget_s=0, multicast=True)
    cost = placement_cost(nets, chip, pl.core, multicast=True)
    # 6 chain synapses, each from a neuron firing 0.1 per step, one link each
    assert cost["links"] == pytest.approx(6 * 0.1)


def test_same_seed_same_mapping():
    chip = make_tiny_chip()
    net, act, _ = chain_of_cliques()
    g = build_graph(net, act)
    a, b = partition(g, chip, strategy="steiner", seed=5), partition(g, chip, strategy="steiner", seed=5)
    np.testing.assert_array_equal(a.part, b.part)
    np.testing.assert_array_equal(a.cores, b.cores)


def test_over_budget_hands_over_to_hypergraph():
    chip = make_tiny_chip()
    net, act, _ = chain_of_cliques()
    g = build_graph(net, act)
    p = partition(g, chip, strategy="steiner", steiner_budget_s=1e-3)  # the child process cannot even start
    assert p.strategy == "hypergraph" and p.cores is None
    assert "'steiner' gave no tile mapping of 4 cores" in p.fallback and "'hypergraph' used" in p.fallback
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


def test_complete_start_fills_missing_cores_near_the_others():
    chip = make_tiny_chip(chip_grid=(2, 1))  # cores 0-3 on chip 0, 4-7 on chip 1
    out = complete_start(chip, np.array([0, -1, 1, -1]))
    assert out[0] == 0 and out[2] == 1 and len(set(out.tolist())) == 4
    # the centroid of cores 0 and 1 is tile (0.5, 0): the free tiles nearest to it are (0, 1) and (1, 1)
    assert {chip.global_tile(int(c)) for c in out[[1, 3]]} == {(0, 1), (1, 1)}


def test_a_failing_child_is_reported_at_once_with_its_exit_code():
    import time

    from mapper.steiner import SteinerUnavailable, _run_child

    t = time.perf_counter()
    with pytest.raises(SteinerUnavailable, match=r"process failed \(exit code 1: KeyError: 'pins'\)"):
        _run_child({"n": 3}, budget_s=60.0)  # the child lacks its arrays: it fails, it does not time out
    assert time.perf_counter() - t < 30.0


def test_a_network_without_synapses_falls_back_and_says_why():
    net = Network(name="silent")
    net.add(Population("p", 8, LIF()))
    act = ActivityProfile.from_counts(net, {"p": np.ones(8, int)}, steps=10, batch=1, dt_s=1e-3, source="synthetic")
    p = partition(build_graph(net, act), make_tiny_chip(), strategy="steiner")
    assert p.strategy == "hypergraph" and "no synapse between two neurons" in p.fallback
    assert not p.usage.violations() and p.cores is None


def test_cores_follow_their_parts_through_compaction_and_the_repair(monkeypatch):
    """A strategy's labels are renumbered (first appearance) and the repair adds cores: every part
    keeps the core chosen for its label, added parts get -1, and the placement starts from them."""
    import mapper.partition as mp

    chip = make_tiny_chip(chip_grid=(2, 1))  # 8 one-core tiles of 4 compartments
    net = Network(name="line")
    net.add(Population("p", 16, LIF()))
    net.add(Connection("p", "p", np.eye(16, k=-1)))  # i -> i + 1: few axons, only compartments bind
    act = ActivityProfile.from_counts(net, {"p": np.ones(16, int)}, steps=10, batch=1, dt_s=1e-3, source="synthetic")
    g = build_graph(net, act)
    label_core = np.array([7, 6, 5, 4, 3], dtype=np.int64)  # label j -> core label_core[j]; label 4 unused
    lab = np.full(16, 3, dtype=np.int64)  # labels 3, 1, 0 in order of first appearance
    lab[8:12], lab[12:] = 1, 0  # label 3 holds 8 neurons on a 4-compartment core, the others are full

    def fake(graph, chip_, *, k, seed=0, **_):
        return lab.copy(), label_core

    monkeypatch.setitem(mp.STRATEGIES, "steiner", fake)
    p = partition(g, chip, strategy="steiner", attempts=1)
    assert not p.usage.violations() and p.cores.shape == (p.n_parts,) and p.n_parts == 4
    for q in range(p.n_parts):
        kept = np.unique(lab[p.part == q])
        assert kept.size == 1  # the full parts had no room: the repair moved label 3's excess to a new core
        if p.cores[q] >= 0:
            assert p.cores[q] == label_core[kept[0]]
    assert sorted(p.cores.tolist()) == [-1, 4, 6, 7]  # labels 3, 1, 0 keep theirs; the new core has none
    start = complete_start(chip, p.cores)
    assert np.unique(start).size == 4 and {4, 6, 7} <= set(start.tolist())


def test_complete_start_refuses_a_start_that_is_not_one_core_per_part():
    from neurosim.errors import MappingError

    chip = make_tiny_chip()
    for bad in ([0, 0, -1], [0, 9], [0, 1, 2, 3, -1]):
        with pytest.raises(MappingError, match=r"start placement 'tiny-code'"):
            complete_start(chip, np.array(bad))


def test_more_tiles_than_mtkahypar_maps_hands_over_at_once(monkeypatch):
    import time

    import mapper.steiner as ms

    monkeypatch.setattr(ms, "MAX_TILES", 3)  # the chain needs 4 one-core tiles
    net, act, _ = chain_of_cliques()
    t = time.perf_counter()
    p = partition(build_graph(net, act), make_tiny_chip(), strategy="steiner", steiner_budget_s=60.0)
    assert time.perf_counter() - t < 30.0  # no child was started and waited on
    assert p.strategy == "hypergraph" and "needs 4 tiles" in p.fallback and "at most 3 blocks" in p.fallback
    assert not p.usage.violations()
