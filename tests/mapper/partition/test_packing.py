"""Where splitter relays go (mapper.partition.packing): relays per core, relay items and their cores, by hand.

Chips of tests/mapper/partition/test_splitters.py: 4 compartments, 8 input and 8 output axons per
core, one destination core per neuron (``L = 1``), 6 bits per synapse (4-bit weight, 2-bit index),
4-bit row header, 16-bit words.
"""
import numpy as np
import pytest

from mapper import MappingOptions
from mapper.graph import build_graph
from mapper.partition import partition
from mapper.partition.packing import host_items, pack_items, relay_items, relays_per_core
from neurosim.activity import ActivityProfile
from neurosim.errors import CapacityError
from tests.mapper.partition.test_splitters import chip_with, fan_net


def test_relays_per_core_is_the_tightest_of_compartments_output_axons_and_one_row():
    assert relays_per_core(chip_with()) == 4  # min(4 compartments, 8 // 1 output axons, (4096 - 4) // 6)
    assert relays_per_core(chip_with(max_compartments=16, max_out_axons_per_neuron=2)) == 4  # 8 // 2
    assert relays_per_core(chip_with(max_compartments=16, synapse_mem_bits=32)) == 4  # (2 x 16 - 4) // 6
    with pytest.raises(CapacityError, match="cannot hold a single relay"):
        relays_per_core(chip_with(synapse_mem_bits=8))  # no word for a row


def test_relay_items_make_one_item_or_a_two_level_tree():
    # neuron 0: 2 destination cores -> one item of 2 relays; neuron 1: 5 cores, 3 relays per core ->
    # a first-level item of 2 relays, then leaf items of 3 and 2 relays
    m = np.array([2, 5])
    leaves = m.copy()  # L = 1
    groups = np.where(leaves <= 3, 1, -(-leaves // 3))
    n_items, first, leaf, leaf_cap, item_rel, item_out = relay_items(m, leaves, groups, 3, 1)
    assert (n_items.tolist(), first.tolist(), leaf.tolist(), leaf_cap.tolist()) == ([1, 3], [0, 1], [0, 2], [2, 3])
    assert item_rel.tolist() == [2, 2, 3, 2] and item_out.tolist() == [2, 2, 3, 2]


def test_pack_items_is_first_fit_decreasing_under_every_limit():
    # items of 3, 2, 1 and 2 relays on cores of 4 compartments: 3 -> core 0, 2 -> core 1, 2 -> core 1, 1 -> core 0
    core_of, k = pack_items(np.array([3, 2, 1, 2]), np.array([3, 2, 1, 2]), chip_with())
    assert core_of.tolist() == [0, 1, 0, 1] and k == 2
    # output axons bind: 8 per core, items reaching 5 cores each take a core of their own
    core_of, k = pack_items(np.array([1, 1, 1]), np.array([5, 5, 5]), chip_with())
    assert core_of.tolist() == [0, 1, 2] and k == 3


def test_host_items_put_the_relays_on_a_destination_core_with_room():
    # {A0, B0-B2}, {B3-B6}, {B7, B8}: A0 reaches 3 cores; core 2 has room for the 2 relays of cores 0 and 1
    net, chip = fan_net(n_targets=9), chip_with()
    g = build_graph(net, ActivityProfile.assumed(net, 0.1, steps=100))
    p = partition(g, chip, MappingOptions(partitioner="sequential"), enforce_dest_limit=False)
    host, absorb = host_items(g, chip, p.part, p.rows, np.array([0]), np.array([3]), np.array([False]), 1)
    assert host.tolist() == [2] and absorb.tolist() == [True]
    full = chip_with(max_compartments=4, grid=(4, 2))
    g11 = build_graph(fan_net(11), ActivityProfile.assumed(fan_net(11), 0.1, steps=100))
    p11 = partition(g11, full, MappingOptions(partitioner="sequential"), enforce_dest_limit=False)
    host, absorb = host_items(g11, full, p11.part, p11.rows, np.array([0]), np.array([3]), np.array([False]), 1)
    assert host.tolist() == [-1] and absorb.tolist() == [False]  # every core full: a new splitter core
