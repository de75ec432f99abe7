"""Per-core resources (mapper.resources): usage by hand, the lower bounds on cores, and the capacity errors.

Hand-computable tiny network (tests/helpers.py): sequential fill puts A on core 0, B on core 1, C on
core 2, D on core 3. Tiny chip: 4-bit weights + 2-bit index = 6 bits per synapse, +2 per plastic
synapse, 4-bit row header, 16-bit words. Per-neuron capacity errors give a hint specific to the
exceeded resource.

The bounds on output-axon-bound networks are checked against hand-computed ground truth and against
feasible partitions: an all-to-all layer of ``n`` neurons split into ``K`` parts gives every neuron
``K`` destination cores, so a part of ``s`` neurons uses ``s K`` output axons.
"""
import numpy as np
import pytest
import scipy.sparse as sp

from mapper import MappingOptions
from mapper.graph import build_graph
from mapper.partition import partition
from mapper.resources import (check_board_fits, check_neurons_fit, core_usage, demand_lower_bounds, fanout_bound,
                              limits_of, min_cores, out_axon_lower_bound, row_bits, synapse_bits_lower_bound,
                              synapse_min_cores)
from neurosim.activity import ActivityProfile
from neurosim.errors import CapacityError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.helpers import make_tiny_chip, make_tiny_network
from tests.mapper.partition.helpers import all_to_all, chip_with, dense_mlp, graph_of

PART = np.repeat([0, 1, 2, 3], [4, 4, 4, 1])


def usage_of(part=PART, k=4, **over):
    net, act = make_tiny_network()
    chip = make_tiny_chip(**over)
    g = build_graph(net, act)
    return core_usage(g, chip, part, n_parts=k)


def test_tiny_usage_by_hand():
    u = usage_of()
    assert u.used["compartments"].tolist() == [4, 4, 4, 1]
    # in-axons: core0 {A2}; core1 {A0, A1}; core2 {A0, B0}; core3 {A0}
    assert u.used["in_axons"].tolist() == [1, 2, 2, 1]
    # out-axons: core0: A0 -> {1, 2, 3}, A1 -> {1}, A2 -> {0}: 5; core1: B0 -> {2}: 1
    assert u.used["out_axons"].tolist() == [5, 1, 0, 0]
    # rows: (A2,0) 6+4=10 -> 16; (A0,1) 12+4=16 -> 16, (A1,1) -> 16; (A0,2) -> 16, (B0,2) 6+2+4=12 -> 16
    assert u.used["synapse_bits"].tolist() == [16, 32, 32, 16]
    assert u.used["plastic_synapses"].tolist() == [0, 0, 1, 0]
    assert u.violations() == []
    table = u.rows()
    assert table[0]["out_axons"] == [5, 8] and table[2]["synapse_bits"] == [32, 256]


def test_row_bits_rounds_to_words():
    chip = make_tiny_chip()
    assert row_bits(chip.core, np.array([0, 1, 12, 13, 28])).tolist() == [0, 16, 16, 32, 32]


def test_violations_name_part_resource_used_limit():
    u = usage_of(max_out_axons=4)
    assert u.violations() == [(0, "out_axons", 5, 4)]


def test_demand_lower_bounds():
    net, act = make_tiny_network()
    g = build_graph(net, act)
    lb = demand_lower_bounds(g, make_tiny_chip())
    # 4 sources with targets (A0, A1, A2, B0); 7 synapses x 6 bits + 1 plastic x 2 + 4 headers x 4
    assert lb == {"compartments": 13, "in_axons": 4, "out_axons": 4, "synapse_bits": 42 + 2 + 16,
                  "plastic_synapses": 1}


def test_neuron_fan_in_too_big_names_population_and_neuron():
    net, act = make_tiny_network()
    g = build_graph(net, act)
    # B1 receives from A0 and A1: 2 input axons
    with pytest.raises(CapacityError) as err:
        check_neurons_fit(g, make_tiny_chip(max_in_axons=1))
    assert "B[1]" in str(err.value) and "max_in_axons" in str(err.value)
    assert err.value.used == 2 and err.value.limit == 1


def test_board_too_small_says_how_many_cores():
    net, act = make_tiny_network()
    g = build_graph(net, act)
    with pytest.raises(CapacityError) as err:
        check_board_fits(g, make_tiny_chip(max_compartments=3))  # 13 neurons need 5 cores of 3
    msg = str(err.value)
    assert "max_compartments" in msg and "5 cores" in msg and err.value.used == 13 and err.value.limit == 12


def _error(**over) -> CapacityError:
    net, act = make_tiny_network()
    g = build_graph(net, act)
    with pytest.raises(CapacityError) as err:
        check_neurons_fit(g, make_tiny_chip(**over))
    return err.value


def test_in_axon_hint_says_fan_in_limit_not_precision():
    e = _error(max_in_axons=1)  # B1 receives from A0 and A1
    msg = str(e)
    assert e.resource == "max_in_axons"
    assert "fan-in to <= 1 source neurons" in msg and "core.max_in_axons" in msg
    assert "precision" not in msg and "weight" not in msg


def test_no_plastic_synapses_says_no_on_chip_learning():
    e = _error(max_plastic_synapses=0)  # C3 has the plastic synapse B0 -> C3
    msg = str(e)
    assert e.resource == "max_plastic_synapses"
    assert "no plastic synapses" in msg and "no on-chip learning" in msg and "core.max_plastic_synapses = 0" in msg
    assert "fan-in" not in msg and "precision" not in msg and "more than one core" not in msg


def test_synapse_memory_hint_says_how_many_inputs_fit():
    # one row of one synapse: 4 + 2 bits + 4-bit header -> one 16-bit word; 16 bits fit one row, B1 needs two
    e = _error(synapse_mem_bits=16)
    msg = str(e)
    assert e.resource == "synapse_mem_bits"
    assert "at most 1 single-synapse source neurons fit" in msg and "core.weight_bits" in msg


def test_out_axon_hint_says_fan_out_limit():
    # A0 targets B0, B1, C0 and D0; with 1 neuron per core that is 4 destination cores, 2 output axons per core
    e = _error(max_compartments=1, max_out_axons=2)
    msg = str(e)
    assert e.resource == "max_out_axons" and "fan-out to <= 2 target neurons" in msg and "precision" not in msg


def test_fixed_point_iterates_from_the_demand_bound():
    # 64 neurons, 16 per core, 128 output axons: K=4 -> a core holds 128 / 4 = 32 (16 by compartments),
    # fine; with 64 output axons: 4 -> 64 / 4 = 16 -> 4 cores of 16 use 64 each: K = 4.
    # With 48: 4 -> 12 per core -> 6 cores -> 8 per core -> 8 cores -> 6 per core -> 11 -> 4 -> 16 -> 3
    # -> 22 -> 2 -> 32 -> 1 -> 64 (singletons): one neuron alone reaches 63 > 48 cores, so no partition fits.
    g = all_to_all(64)
    assert out_axon_lower_bound(g, chip_with(cores=(4, 4), max_out_axons=64), 4)[0] == 4
    assert out_axon_lower_bound(g, chip_with(cores=(4, 4), max_out_axons=48), 4)[0] == 64
    # 128 output axons and 8 compartments: 8 cores of 8 need 64 each
    assert min_cores(g, chip_with(cores=(4, 4), max_compartments=8, max_out_axons=128)) == (8, "compartments")


@pytest.mark.parametrize("mem, exact", [(256, True), (400, True), (600, True), (900, False), (1500, True)])
def test_input_side_core_size_bounds_the_truth(mem, exact):
    # k_in is the most neurons a core can hold on the input side: never below the truth (the bound
    # stays valid). At 900 bits the truth is 8 (rows of 7 and 8 synapses: 8 x 64 + 4 x 80 = 832;
    # 9 neurons need 12 x 80 = 960) but the bound takes the cheapest row per synapse, 9 synapses in
    # 80 bits, for every synapse: 99 x 80 / 9 = 880 <= 900, so it allows 9
    n = 12
    g = all_to_all(n)
    chip = chip_with(cores=(4, 4), synapse_mem_bits=mem, max_compartments=n)
    lims = limits_of(chip.core)
    fits = []
    for s in range(1, n + 1):
        part = np.where(np.arange(n) < s, 0, 1)
        u = core_usage(g, chip, part, n_parts=2)
        fits.append(u.used["synapse_bits"][0] <= lims["synapse_bits"] and u.used["in_axons"][0] <= lims["in_axons"])
    truth = max(s for s, ok in zip(range(1, n + 1), fits) if ok)
    k_in = fanout_bound(g, chip).k_in
    assert k_in == truth if exact else k_in == truth + 1


@pytest.mark.parametrize("seed", range(8))
def test_bound_never_exceeds_a_feasible_partition(seed):
    # dense random networks (some neurons silent, some with self-synapses); the output-axon fixed
    # point raises the bound above the demand bound for seeds 1, 5 and 6
    rng = np.random.default_rng(seed)
    n = 48
    w = (rng.random((n, n)) < rng.uniform(0.6, 0.95)).astype(float)
    w[:, rng.choice(n, 4, replace=False)] = 0.0  # neurons without targets
    g = graph_of(sp.csr_matrix(w))
    chip = chip_with(cores=(8, 8), max_compartments=12, max_out_axons=int(rng.integers(48, 120)),
                     max_in_axons=64, synapse_mem_bits=int(rng.integers(1200, 3000)))
    k_lb, _ = min_cores(g, chip)
    for strategy in ("sequential", "metis"):
        p = partition(g, chip, MappingOptions(partitioner=strategy))
        assert core_usage(g, chip, p.part, n_parts=p.n_parts).violations() == []
        assert k_lb <= p.n_parts, strategy


def test_out_axon_bound_beyond_the_board_raises_with_cores_and_chips():
    # 6 cores needed, the board has 5 (the demand bound, 5, would fit)
    g = all_to_all(24)
    chip = chip_with(cores=(1, 5), max_compartments=5, max_out_axons=24)
    for strategy in ("sequential", "metis"):
        with pytest.raises(CapacityError) as err:
            partition(g, chip, MappingOptions(partitioner=strategy))
        e = err.value
        assert e.resource == "cores" and e.used == 6 and e.limit == 5
        msg = str(e)
        assert "max_out_axons" in msg and "at least 6 cores (2 chip(s) of 5 cores)" in msg
        assert "at most 4 neuron(s)" in msg
    with pytest.raises(CapacityError):
        check_board_fits(g, chip)


def test_out_axon_board_error_gives_the_numbers_that_bind():
    """Dense layers (424 neurons, at most 64 per core by compartments and output axons): the bound,
    17 cores, comes from the total -- 1080 destination cores at 64 output axons per core -- not from
    the neurons per core (424 / 64 -> 7); the message must say so (it said "a neuron reaches at
    least 0 destination core(s)", the output layer's, and only the per-core size)."""
    import re

    net, act = dense_mlp((20, 200, 200, 4))
    g = build_graph(net, act)
    chip = chip_with(cores=(2, 2), max_compartments=64, max_out_axons=64, max_in_axons=4096, synapse_mem_bits=1 << 24)
    with pytest.raises(CapacityError) as err:
        check_board_fits(g, chip)
    msg = str(err.value)
    total = int(re.search(r"at least (\d+) destination cores in all", msg).group(1))
    s_max = int(re.search(r"at most (\d+) neuron\(s\)", msg).group(1))
    k = err.value.used
    assert k == 17 and max(-(-total // 64), -(-g.n // s_max)) == k


@pytest.mark.parametrize("seed", range(6))
def test_row_level_bounds_never_exceed_a_feasible_partition(seed):
    """Random layered networks (dense and sparse layers, multi-synapse pairs from two connections):
    every neuron reaches at least ``dest_lower`` cores (with the targets' payload spread), and the
    total synapse memory is at least :func:`synapse_bits_lower_bound` at the parts used."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(8, 60, size=4)
    net = Network(name="layers")
    for i, s in enumerate(sizes):
        net.add(Population(f"L{i}", int(s), LIF()))
    for i in range(3):
        w = rng.normal(size=(sizes[i + 1], sizes[i])) * (rng.random((sizes[i + 1], sizes[i])) < rng.uniform(0.2, 1))
        net.add(Connection(f"L{i}", f"L{i + 1}", sp.csr_matrix(w)))
    net.add(Connection("L0", "L1", rng.normal(size=(sizes[1], sizes[0])), name="L0->L1 twice"))  # 2 synapses a pair
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    chip = chip_with(cores=(8, 8), max_compartments=int(rng.integers(8, 40)), max_out_axons=4096, max_in_axons=4096,
                     synapse_mem_bits=int(rng.integers(4, 12)) * 1024, synapse_word_bits=int(rng.choice([16, 32, 64])),
                     synapse_row_overhead_bits=int(rng.integers(0, 20)))
    fb = fanout_bound(g, chip)
    for strategy in ("sequential", "metis"):
        p = partition(g, chip, MappingOptions(partitioner=strategy))
        assert p.usage.violations() == []
        ndest = np.bincount(p.rows.src, minlength=g.n)
        assert (fb.dest_lower(p.n_parts, shared=False) <= ndest).all(), strategy
        assert synapse_bits_lower_bound(g, chip, p.n_parts, fb=fb) <= int(p.usage.used["synapse_bits"].sum()), strategy
        assert synapse_min_cores(g, chip, 1, fb=fb) <= p.n_parts, strategy
