"""XY routing on the 2 x 2 tiny mesh, figures computed by hand (network: tests/conftest.py).

Placement (sequential + identity): A core 0 = tile (0,0), B core 1 = (1,0), C core 2 = (0,1),
D core 3 = (1,1). Rates per step: A0 0.3, A1 0.2, A2 0.1, B0 0.4.
A0 -> cores {1, 2, 3}; A1 -> {1}; A2 -> {0} (own core); B0 -> {2}.
"""
import numpy as np
import pytest

from tests.helpers import make_tiny_chip, make_tiny_network
from mapper.api import map_network
from mapper.graph import build_graph, core_rows
from mapper.route import build_nets, link_loads, segments, tile_coords


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


def test_link_loads_difference_arrays_match_brute_force():
    rng = np.random.default_rng(3)
    shape = (5, 7)
    segs = {}
    brute = {d: np.zeros(shape) for d in "EWNS"}
    for d in "EWNS":
        m = 20
        n_lines, n_len = (5, 7) if d in "EW" else (7, 5)
        line = rng.integers(0, n_lines, m)
        a, b = rng.integers(0, n_len, m), rng.integers(0, n_len, m)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        w = rng.random(m)
        segs[d] = (line, lo, hi, w)
        for l_, lo_, hi_, w_ in zip(line, lo, hi, w):
            for i in range(lo_, hi_):
                if d in "EW":
                    brute[d][l_, i] += w_
                else:
                    brute[d][i, l_] += w_
    got = link_loads(segs, shape)
    for d in "EWNS":
        np.testing.assert_allclose(got[d], brute[d], atol=1e-12)


def _xy_path_links(s, d):
    """Directed links of the XY path from tile s to tile d (x first)."""
    (x, y), (xd, yd) = s, d
    out = []
    while x != xd:
        nx = x + (1 if xd > x else -1)
        out.append(((x, y), (nx, y)))
        x = nx
    while y != yd:
        ny = y + (1 if yd > y else -1)
        out.append(((x, y), (x, ny)))
        y = ny
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multicast_tree_equals_union_of_xy_paths(seed):
    """Independent ground truth: explicit sets of links of every XY path, union per net."""
    from mapper.route import Nets, DIRS
    rng = np.random.default_rng(seed)
    k, gx, gy = 9, 4, 3
    px, py = rng.integers(0, gx, k), rng.integers(0, gy, k)
    srcs, ptr, dst, rate = [], [0], [], []
    for _ in range(30):
        s = int(rng.integers(k))
        ds = sorted(set(rng.integers(0, k, rng.integers(1, 5)).tolist()))
        srcs.append(s); dst += ds; ptr.append(len(dst)); rate.append(float(rng.random()))
    nets = Nets(src=np.array(srcs), ptr=np.array(ptr), dst=np.array(dst), rate=np.array(rate),
                count=np.ones(len(srcs), int), neuron_net=np.zeros(0, int), n_parts=k)
    for multicast in (True, False):
        loads = link_loads(segments(nets, px, py, multicast=multicast), (gy, gx))
        brute = {d: np.zeros((gy, gx)) for d in DIRS}
        for j, s in enumerate(srcs):
            per = [_xy_path_links((px[s], py[s]), (px[d], py[d])) for d in dst[ptr[j]:ptr[j + 1]]]
            used = set(l for p in per for l in p) if multicast else [l for p in per for l in p]
            for (a, b) in used:
                (x0, y0), (x1, y1) = a, b
                if x1 > x0:
                    brute["E"][y0, x0] += rate[j]
                elif x1 < x0:
                    brute["W"][y0, x1] += rate[j]
                elif y1 > y0:
                    brute["N"][y0, x0] += rate[j]
                else:
                    brute["S"][y1, x0] += rate[j]
        for d in DIRS:
            np.testing.assert_allclose(loads[d], brute[d], atol=1e-12)
