"""Multicast nets (mapper.nets): exact grouping by source part and destination set, part-to-part traffic."""
import numpy as np
import pytest

from mapper.graph import build_graph, core_rows
from mapper.nets import Nets, build_nets, quotient
from tests.helpers import make_tiny_network


def test_nets_group_same_source_part_and_destination_set():
    net, act = make_tiny_network()
    g = build_graph(net, act)
    part = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1])  # B, C, D together on part 1
    rows = core_rows(g, part, 2)
    nets = build_nets(g, part, rows)
    # A0 -> {1}, A1 -> {1} share a net; A2 -> {0}; B0 -> {1}
    assert nets.n_nets == 3
    j = nets.neuron_net
    assert j[0] == j[1] and j[2] != j[0] and j[4] not in (j[0], j[2])
    assert nets.rate[j[0]] == pytest.approx(0.5) and nets.count[j[0]] == 2
    assert (j[3] == -1) and (j[5:] == -1).all()


def test_quotient_sums_both_directions_of_every_part_pair_by_hand():
    # net 0: part 0 -> {1, 2} at 0.5 per step; net 1: part 1 -> {0, 1} at 0.25; net 2: part 2 -> {2} at 1
    nets = Nets(src=np.array([0, 1, 2]), ptr=np.array([0, 2, 4, 5]), dst=np.array([1, 2, 0, 1, 2]),
                rate=np.array([0.5, 0.25, 1.0]), count=np.ones(3, int), neuron_net=np.zeros(0, int), n_parts=3)
    q = quotient(nets).toarray()
    # 0 <-> 1: 0.5 + 0.25; 0 <-> 2: 0.5; 1 <-> 2: none; packets within a part are no traffic between parts
    assert q.tolist() == [[0.0, 0.75, 0.5], [0.75, 0.0, 0.0], [0.5, 0.0, 0.0]]
