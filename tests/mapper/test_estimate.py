"""Energy and latency of the tiny mapping, every term by hand (network: tests/conftest.py).

Run: 10 steps, 1 input. Events: spikes A0 3, A1 2, A2 1, B0 4 = 10; synaptic events
A0 3 x 4 + A1 2 x 1 + A2 1 x 1 + B0 4 x 1 = 19; plastic updates B0 -> C3: 4; packets
(3 x 3 + 2 + 1 + 4) = 16, of which A2's 1 stays in its tile; tree hops 9 E-W, 10 N-S.
"""
import pytest

from tests.helpers import make_tiny_chip, make_tiny_network
from mapper.api import map_network
import dataclasses

PJ = 1e-12


def run(chip=None):
    net, act = make_tiny_network()
    return map_network(net, chip or make_tiny_chip(), act, partitioner="sequential", placer="identity")


def test_event_counts():
    c = run().estimate.counts
    assert c["spike_out"] == 10
    assert c["syn_op"] == pytest.approx(19)
    assert c["neuron_update_active"] == 130 and c["neuron_update_inactive"] == 0   # all_mapped: 13 x 10
    assert c["packet"] == pytest.approx(16) and c["spike_within_tile"] == pytest.approx(1)
    assert c["hop_ew"] == pytest.approx(9) and c["hop_ns"] == pytest.approx(10) and c["hop_chip"] == 0
    assert c["learn_update"] == pytest.approx(4) and c["barrier"] == 10


def test_each_energy_term():
    e = run().estimate
    want = {"syn_op": 19 * 1, "neuron_update_active": 130 * 10, "neuron_update_inactive": 0, "spike_out": 10 * 5,
            "packet": 16 * 20, "spike_within_tile": 1 * 3, "hop_ew": 9 * 100, "hop_ns": 10 * 200, "hop_chip": 0,
            "learn_update": 4 * 50, "barrier": 10 * 4}
    for k, v in want.items():
        assert e.energy_j[k] == pytest.approx(v * PJ, abs=1e-24), k
    assert e.dynamic_j == pytest.approx(4832 * PJ)


def test_latency_terms_and_barrier():
    e = run().estimate
    # core 2 (C): 4 x 10 ns + 0.7 syn x 1 ns + 0.4 learn x 50 ns + 0.7 packets in x 30 ns = 81.7 ns
    assert e.core_s == pytest.approx(81.7e-9) and e.slowest_core == 2
    assert list(e.core_time_s) == pytest.approx([70.1e-9, 65.8e-9, 81.7e-9, 19.3e-9])
    # network: within-tile 3 ns + the longest path, 1 E-W (100 ns) + 1 N-S (200 ns)
    assert e.noc_s == pytest.approx(303e-9)
    # barrier: 4 tiles in use -> 4 us (table 1 tile: 1 us, 4 tiles: 4 us)
    assert e.barrier_s == pytest.approx(4e-6)
    assert e.step_s == pytest.approx(4384.7e-9)
    assert e.time_to_solution_s == pytest.approx(10 * 4384.7e-9)


def test_static_total_per_input_and_edp():
    e = run().estimate
    wall = 10 * 4384.7e-9
    assert e.wall_s == pytest.approx(wall)
    assert e.static_j == pytest.approx(1e-3 * 1 * wall)
    assert e.total_j == pytest.approx(4832 * PJ + 1e-3 * wall)
    assert e.per_input_j == e.total_j and e.per_step_j == pytest.approx(e.total_j / 10)
    assert e.edp_js == pytest.approx(e.total_j * wall)


def test_spiking_active_policy():
    chip = make_tiny_chip()
    chip = dataclasses.replace(chip, energy=dataclasses.replace(chip.energy, active_policy="spiking"))
    e = run(chip).estimate
    assert e.counts["neuron_update_active"] == 10 and e.counts["neuron_update_inactive"] == 120
    assert e.energy_j["neuron_update_inactive"] == pytest.approx(120 * 2 * PJ)
    # core 0 now: 0.6 active x 10 ns + 3.4 inactive x 2 ns + the same traffic terms as before (30.1 ns)
    assert e.core_time_s[0] == pytest.approx(6e-9 + 6.8e-9 + 30.1e-9)


def test_barrier_interpolates_by_tiles_in_use():
    from neurosim.activity import ActivityProfile
    from neurosim.ir import Network, Population
    from neurosim.neurons import LIF
    net = Network(name="two")
    net.add(Population("P", 4, LIF()))
    net.add(Population("Q", 4, LIF()))
    e = map_network(net, make_tiny_chip(), ActivityProfile.assumed(net, 0.0), partitioner="sequential",
                    placer="identity").estimate
    assert e.barrier_s == pytest.approx(2e-6)   # 2 tiles in use: linear between 1 us (1 tile) and 4 us (4)
    assert e.noc_s == 0.0 and e.counts["packet"] == 0


def test_bandwidth_floor_on_network_time():
    chip = make_tiny_chip()
    chip = dataclasses.replace(chip, timing=dataclasses.replace(chip.timing, tile_bandwidth_msgs_per_s=1e6))
    e = run(chip).estimate
    # busiest tile (0,0): out-links E 0.5 + N 0.7 and 0.1 delivered = 1.3 messages/step -> 1.3 us
    assert e.noc_s == pytest.approx(1.3e-6)


def test_neurobench_counts():
    nb = run().estimate.neurobench
    assert nb["synaptic_operations"]["Effective_ACs"] == pytest.approx(19)
    assert nb["synaptic_operations"]["Effective_MACs"] == 0
    assert nb["synaptic_operations"]["Dense"] == (16 + 16 + 4 + 16 + 16) * 10
    assert nb["activation_sparsity"] == pytest.approx(1 - 10 / 130)
    assert nb["connection_sparsity"] == pytest.approx(1 - 7 / 68)


def test_report_states_assumed_activity():
    net, _ = make_tiny_network()
    rep = map_network(net, make_tiny_chip(), None, partitioner="sequential", placer="identity",
                      assumed_rate=0.02).report.to_dict()
    assert rep["activity"]["assumed"] is True and rep["activity"]["source"] == "assumed"
    assert any("ASSUMED" in n for n in rep["notes"])


def test_throttled_chip_step_is_at_least_min_step():
    chip = make_tiny_chip()
    chip = dataclasses.replace(chip, timing=dataclasses.replace(chip.timing, min_step_s=1e-3))
    e = run(chip).estimate
    assert e.step_s == pytest.approx(1e-3) and e.time_to_solution_s == pytest.approx(10e-3)
    assert e.static_j == pytest.approx(1e-3 * 10e-3)   # static power over the throttled wall time
