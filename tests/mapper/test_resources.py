"""Per-core resources on the hand-computable tiny network (tests/conftest.py).

Sequential fill puts A on core 0, B on core 1, C on core 2, D on core 3. Tiny chip: 4-bit
weights + 2-bit index = 6 bits per synapse, +2 per plastic synapse, 4-bit row header, 16-bit words.
"""
import numpy as np
import pytest

from tests.helpers import make_tiny_chip, make_tiny_network
from mapper.graph import build_graph, core_rows
from mapper.resources import (RESOURCES, check_board_fits, check_neurons_fit, core_usage, demand_lower_bounds,
                              row_bits)
from neurosim.errors import CapacityError

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


def test_core_rows_groups_by_source_and_part():
    net, act = make_tiny_network()
    g = build_graph(net, act)
    rows = core_rows(g, PART, 4)
    got = sorted(zip(rows.src.tolist(), rows.part.tolist(), rows.nsyn.tolist(), rows.nplastic.tolist()))
    assert got == [(0, 1, 2, 0), (0, 2, 1, 0), (0, 3, 1, 0), (1, 1, 1, 0), (2, 0, 1, 0), (4, 2, 1, 1)]


def test_duplicate_pairs_across_connections_count_twice():
    from neurosim.ir import Connection, Network, Population
    from neurosim.neurons import LIF
    from neurosim.activity import ActivityProfile
    net = Network(name="dup")
    net.add(Population("P", 2, LIF()))
    net.add(Connection("P", "P", np.array([[0, 1.0], [0, 0]]), name="c1"))
    net.add(Connection("P", "P", np.array([[0, 2.0], [0, 0]]), name="c2"))
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    assert g.n_pairs == 1 and g.out_nsyn.tolist() == [2] and g.n_synapses == 2
    u = core_usage(g, make_tiny_chip(), np.array([0, 0]), n_parts=1)
    assert u.used["in_axons"].tolist() == [1]
    assert u.used["synapse_bits"].tolist() == [16]  # 2 x 6 + 4 = 16 bits: one word
    assert set(RESOURCES) == set(u.used)
