"""Partition strategies (mapper.partition.strategies): sequential fill under every limit, METIS on the traffic graph.

Hand-computed ground truth for output-axon-bound networks: an all-to-all layer of ``n`` neurons
split into ``K`` parts gives every neuron ``K`` destination cores (each part holds one of its
targets), so a part of ``s`` neurons uses ``s K`` output axons; with ``max_out_axons = n`` only
equal parts fit (``max_s s K >= n`` with equality iff all parts are equal).
"""
import numpy as np
import pytest
import scipy.sparse as sp

from mapper import MappingOptions
from mapper.graph import build_graph, core_rows
from mapper.partition import partition
from mapper.partition.strategies import sequential
from mapper.resources import core_usage, min_cores
from neurosim.activity import ActivityProfile
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.mapper.partition.helpers import (MLP_CHIP, all_to_all, check_feasible, chip_with, clustered, dense_mlp,
                                            graph_of)


def test_sequential_fills_in_order_under_all_limits():
    net, _ = clustered(shuffle=False)
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    chip = chip_with(max_in_axons=20)
    p = partition(g, chip, MappingOptions(partitioner="sequential"))
    assert np.all(np.diff(p.part) >= 0)  # contiguous runs
    u = check_feasible(g, chip, p)
    assert u.used["in_axons"].max() <= 20


def test_sequential_respects_out_axons_by_refilling():
    # every neuron projects to 3 far-away neurons: output axons bind, not compartments
    n = 48
    w = np.zeros((n, n))
    for i in range(n):
        for d in (16, 24, 40):
            w[(i + d) % n, i] = 1.0
    net = Network(name="ring")
    net.add(Population("P", n, LIF()))
    net.add(Connection("P", "P", w))
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    chip = chip_with(max_compartments=8, max_out_axons=12)
    p = partition(g, chip, MappingOptions(partitioner="sequential"))
    u = check_feasible(g, chip, p)
    assert u.used["out_axons"].max() <= 12


def test_metis_beats_sequential_on_hidden_clusters():
    net, lab = clustered()
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    chip = chip_with(max_in_axons=128, max_out_axons=128)
    cut = {}
    for s in ("sequential", "metis"):
        p = partition(g, chip, MappingOptions(partitioner=s, seed=1), n_parts=8)
        check_feasible(g, chip, p)
        cut[s] = int(np.count_nonzero(p.part[g.out_src] != p.part[g.out_idx]))  # synapses between parts
    assert cut["metis"] < 0.5 * cut["sequential"]
    p = partition(g, chip, MappingOptions(partitioner="metis", seed=1), n_parts=8)
    assert p.n_parts == 8 and all(len(set(lab[p.part == i])) == 1 for i in range(8))  # the hidden clusters


def test_metis_is_seeded():
    net, _ = clustered()
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    a = partition(g, chip_with(), MappingOptions(partitioner="metis", seed=3)).part
    b = partition(g, chip_with(), MappingOptions(partitioner="metis", seed=3)).part
    assert np.array_equal(a, b)


@pytest.mark.parametrize("seed", range(5))
def test_prefix_fit_is_the_longest_feasible_run(seed):
    from mapper.partition.strategies import _prefix_fit
    from mapper.resources import limits_of
    rng = np.random.default_rng(seed)
    n = 40
    w = sp.csr_matrix((rng.random((n, n)) < 0.3) * 1.0)
    net = Network(name="r")
    net.add(Population("P", n, LIF()))
    net.add(Connection("P", "P", w, learning_rule=object() if seed % 2 else None))
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    chip = chip_with(max_compartments=40, max_in_axons=int(rng.integers(12, 40)),
                     synapse_mem_bits=int(rng.integers(200, 900)),
                     max_plastic_synapses=int(rng.integers(10, 60)),
                     plastic_synapse_extra_bits=3)
    lims = limits_of(chip.core)
    for a in (0, 7, 20):
        m = _prefix_fit(g, chip, lims, a, n)

        def fits(k):
            part = np.full(n, 1)
            part[a:a + k] = 0
            u = core_usage(g, chip, part, n_parts=2)
            return all(u.used[r][0] <= (lims[r] if lims[r] is not None else 1 << 60)
                       for r in ("in_axons", "synapse_bits", "plastic_synapses"))
        assert fits(m)
        if a + m < n:
            assert not fits(m + 1)


def test_all_to_all_needs_equal_parts_and_the_bound_finds_them():
    # 24 neurons, 5 per core, 24 output axons: 5 cores (5,5,5,5,4) would need 5 * 5 = 25 output
    # axons on a full core, so the optimum is 6 cores of 4 (4 * 6 = 24); the demand bound says 5
    g = all_to_all(24)
    chip = chip_with(cores=(4, 4), max_compartments=5, max_out_axons=24)
    assert min_cores(g, chip) == (6, "out_axons")
    for strategy in ("sequential", "metis"):
        p = partition(g, chip, MappingOptions(partitioner=strategy))
        u = core_usage(g, chip, p.part, n_parts=p.n_parts)
        assert u.violations() == []
        assert p.n_parts == 6 and p.k_min == 6 and p.binding == "out_axons", strategy
        assert np.bincount(p.part).tolist() == [4] * 6
        assert u.used["out_axons"].tolist() == [24] * 6


def test_sequential_starts_from_the_bound_costs():
    # the all-to-all costs d_v(K) = K are exact: one fill gives 6 equal cores without any refill
    g = all_to_all(24)
    chip = chip_with(cores=(4, 4), max_compartments=5, max_out_axons=24)
    part = sequential(g, chip, k=6, max_iter=0, seed=0)
    assert np.bincount(part).tolist() == [4] * 6


def test_sequential_refills_until_the_costs_hold():
    # started from too few cores (k=1 -> cost 1 per neuron), the costs are raised to the actual
    # destination cores until every core fits
    g = all_to_all(24)
    chip = chip_with(cores=(4, 4), max_compartments=5, max_out_axons=24)
    part = sequential(g, chip, k=1, seed=0)
    k = int(part.max()) + 1
    assert core_usage(g, chip, part, n_parts=k).violations() == []


def test_sequential_takes_the_safe_fill_when_caps_do_not_settle():
    # a dense random layer (p = 0.5): nearly every core holds a target of every neuron, so a core
    # of s neurons on K cores needs about s K <= 200 output axons and every refill moves every
    # neuron's destinations; per-core caps chase each other, and the safe costs min(t_v, K) = K
    # settle on 20 cores of 10 (10 x 20 = 200), feasible by construction, without repair moves
    rng = np.random.default_rng(0)
    n = 200
    w = (rng.random((n, n)) < 0.5).astype(float)
    np.fill_diagonal(w, 0.0)
    g = graph_of(sp.csr_matrix(w))
    chip = chip_with(cores=(8, 8), max_compartments=16, max_out_axons=200, max_in_axons=200)
    p = partition(g, chip, MappingOptions(partitioner="sequential"))
    u = core_usage(g, chip, p.part, n_parts=p.n_parts)
    assert u.violations() == [] and p.repair_moves == 0
    assert p.n_parts == 20 and np.bincount(p.part).tolist() == [10] * 20
    assert p.k_min <= p.n_parts


def test_sequential_grows_the_costs_of_dense_layers_to_their_measured_destinations(caplog):
    """Dense layers: a neuron of layer l reaches every core of layer l + 1, so after one fill its
    measured destination count is its cost; the fill settles in a few refills, exactly."""
    import logging

    net, act = dense_mlp((20, 60, 60, 4))
    g = build_graph(net, act)
    chip = chip_with(cores=(8, 8), **MLP_CHIP)
    with caplog.at_level(logging.INFO, logger="mapper.partition"):
        part = sequential(g, chip, k=0, seed=0)
    k = int(part.max()) + 1
    u = core_usage(g, chip, part, n_parts=k)
    assert u.violations() == []
    refills = [r.message for r in caplog.records if r.message.startswith("sequential refill")]
    assert 1 <= len(refills) <= 3 and "reach more cores than costed" in refills[0]
    # every neuron of L1 reaches every core holding L2 (dense), and its core pays for each
    l1 = np.arange(20, 80)
    l2_cores = np.unique(part[80:140])
    rows = core_rows(g, part, k)
    ndest = np.bincount(rows.src, minlength=g.n)
    assert (ndest[l1] == l2_cores.size).all()
