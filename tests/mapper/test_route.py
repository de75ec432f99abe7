"""XY routing (mapper.route) on the 2 x 2 tiny mesh, figures computed by hand (network: tests/helpers.py).

Placement (sequential + identity): A core 0 = tile (0,0), B core 1 = (1,0), C core 2 = (0,1),
D core 3 = (1,1). Rates per step: A0 0.3, A1 0.2, A2 0.1, B0 0.4.
A0 -> cores {1, 2, 3}; A1 -> {1}; A2 -> {0} (own core); B0 -> {2}.
"""
import numpy as np
import pytest

from mapper import map_network
from mapper.mesh import tile_coords
from tests.helpers import make_tiny_chip, make_tiny_network


def run(**chip_kw):
    net, act = make_tiny_network()
    return map_network(net, make_tiny_chip(**chip_kw), act, partitioner="sequential", placer="identity")


def test_packets_and_within_tile():
    r = run().routing
    assert r.packets == pytest.approx(0.9 + 0.2 + 0.1 + 0.4)
    assert r.packets_within_tile == pytest.approx(0.1)


def test_multicast_tree_hops_by_direction():
    r = run().routing
    # A0: E 1 to column 1, N 1 in column 1 (to D), N 1 in column 0 (to C): 1 EW + 2 NS, x 0.3
    # A1: 1 EW x 0.2; B0: W 1 then N 1, x 0.4
    assert r.hops_ew == pytest.approx(0.3 + 0.2 + 0.4)
    assert r.hops_ns == pytest.approx(0.6 + 0.4)
    assert r.tree_links_ew == r.hops_ew and r.tree_links_ns == r.hops_ns
    # unicast: A0 2 EW + 2 NS, A1 1 EW, B0 1 EW + 1 NS
    assert r.unicast_hops_ew == pytest.approx(0.6 + 0.2 + 0.4)
    assert r.unicast_hops_ns == pytest.approx(0.6 + 0.4)
    assert r.chip_crossings == 0


def test_multicast_link_loads_and_busiest():
    r = run().routing
    L = r.link_load
    assert L["E"][0, 0] == pytest.approx(0.5)       # (0,0)->(1,0): A0, A1
    assert L["W"][0, 0] == pytest.approx(0.4)       # (1,0)->(0,0): B0
    assert L["N"][0, 0] == pytest.approx(0.7)       # (0,0)->(0,1): A0, B0
    assert L["N"][0, 1] == pytest.approx(0.3)       # (1,0)->(1,1): A0
    assert sum(v.sum() for v in L.values()) == pytest.approx(r.hops_ew + r.hops_ns)
    assert r.busiest == {"dir": "N", "x": 0, "y": 0, "load": pytest.approx(0.7)}
    assert (r.path_hops_ew, r.path_hops_ns) == (1, 1) and r.noc_path_s == pytest.approx(300e-9)


def test_unicast_link_loads():
    r = run(multicast=False).routing
    assert r.hops_ew == pytest.approx(1.2) and r.hops_ns == pytest.approx(1.0)
    assert r.link_load["E"][0, 0] == pytest.approx(0.8)   # A0 to B, A0 to D (x first), A1
    assert r.busiest["dir"] == "E" and r.busiest["load"] == pytest.approx(0.8)


def test_per_part_traffic():
    pp = run().routing.per_part
    assert pp["spikes"] == pytest.approx([0.6, 0.4, 0.0, 0.0])
    assert pp["packets_out"] == pytest.approx([1.2, 0.4, 0.0, 0.0])
    assert pp["packets_in"] == pytest.approx([0.1, 0.5, 0.7, 0.3])
    assert pp["syn_ops"] == pytest.approx([0.1, 0.8, 0.7, 0.3])
    assert pp["learn_updates"] == pytest.approx([0.0, 0.0, 0.4, 0.0])


def test_multichip_crossing_counted():
    from neurosim.activity import ActivityProfile
    from neurosim.ir import Connection, Network, Population
    from neurosim.neurons import LIF
    chip = make_tiny_chip(chip_grid=(2, 1))
    net = Network(name="two-chips")
    for i in range(5):
        net.add(Population(f"P{i}", 4, LIF()))
    w = np.zeros((4, 4)); w[0, 0] = 1.0
    net.add(Connection("P0", "P4", w))
    act = ActivityProfile.from_counts(net, {"P0": np.array([2, 0, 0, 0])}, steps=2, batch=1, dt_s=1e-3, source="t")
    res = map_network(net, chip, act, partitioner="sequential", placer="identity")
    r = res.routing
    X, Y = tile_coords(chip)
    assert (X[4], Y[4]) == (2, 0)                 # core 4 = chip 1, tile (0, 0)
    assert r.hops_ew == pytest.approx(2.0) and r.hops_ns == 0
    assert r.chip_crossings == pytest.approx(1.0)
    assert r.link_load["E"][0, 1] == pytest.approx(1.0)   # the link x=1 -> x=2 crosses chips
    assert r.chips_used == 2
    assert r.noc_path_s == pytest.approx(2 * 100e-9 + 1e-6)
    est = res.estimate
    assert est.counts["hop_chip"] == pytest.approx(2.0) and est.energy_j["hop_chip"] == pytest.approx(2e-9)
    assert est.barrier_s == pytest.approx(10e-6)          # multichip table at 2 chips
