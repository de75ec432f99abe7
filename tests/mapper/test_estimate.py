"""Energy and latency (mapper.estimate) of the tiny mapping, every term by hand (network: tests/helpers.py).

Run: 10 steps, 1 input. Events: spikes A0 3, A1 2, A2 1, B0 4 = 10; synaptic events
A0 3 x 4 + A1 2 x 1 + A2 1 x 1 + B0 4 x 1 = 19; plastic updates B0 -> C3: 4; packets
(3 x 3 + 2 + 1 + 4) = 16, of which A2's 1 stays in its tile; tree hops 9 E-W, 10 N-S.

Learning updates under the epoch and the event model, by hand: P(2) -> Q(3) on the tiny chip
(learn_update 50 pJ, 50 ns). ``W`` plastic, synapses Q0<-P0, Q0<-P1, Q1<-P0, Q2<-P1 (4); ``V``
plastic, synapse Q2<-P0 (1; same populations as ``W``, so the graph merges both connections into
one block of (pre, post) pairs); ``S`` static, synapse Q1<-P1. Placement pinned with
``evaluate_placement``: part 0 = {P0, P1, Q0, Q1} on core 0, part 1 = {Q2} on core 1. Run: 10 steps
x batch 2 = R 20 executed steps; spikes P0 3, P1 2, Q none. Epoch model, ``W`` 5 epochs:
4 x 5 = 20 updates (15 on core 0, 5 on core 1). Event model (``V`` always; ``W`` without epochs):
one update per spike arriving at a plastic synapse: ``W`` 3 x 2 + 2 x 2 = 10 (core 0: P0 3 x 2 +
P1 2 x 1 = 8, core 1: P1 2); ``V`` 3 (core 1). Energy and time to solution are per input.
"""
import dataclasses

import numpy as np
import pytest

from mapper import evaluate_placement, map_network
from mapper.estimate import EDP_BASIS, per_input_figures
from mapper.graph import build_graph
from neurosim.activity import ActivityProfile
from neurosim.errors import NetworkError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.helpers import make_tiny_chip, make_tiny_network

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


def test_throttled_chip_step_is_at_least_min_step():
    chip = make_tiny_chip()
    chip = dataclasses.replace(chip, timing=dataclasses.replace(chip.timing, min_step_s=1e-3))
    e = run(chip).estimate
    assert e.step_s == pytest.approx(1e-3) and e.time_to_solution_s == pytest.approx(10e-3)
    assert e.static_j == pytest.approx(1e-3 * 10e-3)   # static power over the throttled wall time


NS = 1e-9


PART = np.array([0, 0, 0, 0, 1])


CORES = np.array([0, 1])


class _Plastic:
    name = "test-plastic"


def make_net(*, with_v: bool = True) -> Network:
    net = Network(name="learn")
    net.add(Population("P", 2, LIF()))
    net.add(Population("Q", 3, LIF()))
    mask = np.array([[1, 1], [1, 0], [0, 1]], dtype=bool)
    net.add(Connection("P", "Q", np.where(mask, 0.5, 0.0), name="W", learning_rule=_Plastic(), synapses=mask))
    if with_v:
        net.add(Connection("P", "Q", np.array([[0.0, 0.0], [0.0, 0.0], [0.25, 0.0]]), name="V",
                           learning_rule=_Plastic()))
    net.add(Connection("P", "Q", np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), name="S"))
    return net


def run_learning(net, counts, learn_epochs=None):
    act = ActivityProfile.from_counts(net, counts, steps=10, batch=2, dt_s=1e-3, source="simulated:test",
                                      learn_epochs=learn_epochs)
    return evaluate_placement(net, make_tiny_chip(), act, part=PART, part_core=CORES)


SILENT = {"P": np.zeros(2, int), "Q": np.zeros(3, int)}


SPIKES = {"P": np.array([3, 2]), "Q": np.zeros(3, int)}


def test_epoch_model_counts_every_plastic_synapse_per_epoch():
    res = run_learning(make_net(with_v=False), SILENT, {"W": 5})
    est = res.estimate
    assert est.counts["learn_update"] == pytest.approx(20.0, rel=1e-12)
    assert est.energy_j["learn_update"] == pytest.approx(20 * 50 * PJ, rel=1e-12)
    assert list(res.routing.per_part["learn_updates"]) == pytest.approx([15 / 20, 5 / 20], rel=1e-12)
    # no spikes: T_core = compartments x 10 ns (all_mapped) + L_c x 50 ns
    assert list(est.core_time_s) == pytest.approx([4 * 10 * NS + 0.75 * 50 * NS, 1 * 10 * NS + 0.25 * 50 * NS],
                                                  rel=1e-12)
    assert est.core_s == pytest.approx(77.5 * NS, rel=1e-12) and est.slowest_core == 0
    # the epoch model does not depend on the spikes
    assert run_learning(make_net(with_v=False), SPIKES, {"W": 5}).estimate.counts["learn_update"] == pytest.approx(20.0)


def test_event_model_unchanged_without_epochs():
    net = make_net(with_v=False)
    res = run_learning(net, SPIKES)
    assert res.estimate.counts["learn_update"] == pytest.approx(10.0, rel=1e-12)
    assert list(res.routing.per_part["learn_updates"]) == pytest.approx([8 / 20, 2 / 20], rel=1e-12)
    assert run_learning(net, SILENT).estimate.counts["learn_update"] == 0
    # zero epochs is the epoch model with no update, not the event model
    assert run_learning(net, SPIKES, {"W": 0}).estimate.counts["learn_update"] == 0


def test_mixed_models_on_merged_pairs():
    """``W`` (epochs) and ``V`` (events) join the same populations: the graph merges their
    pairs, the learning charge is still per connection."""
    res = run_learning(make_net(), SPIKES, {"W": 5})
    assert res.estimate.counts["learn_update"] == pytest.approx(20 + 3, rel=1e-12)
    assert list(res.routing.per_part["learn_updates"]) == pytest.approx([15 / 20, (5 + 3) / 20], rel=1e-12)
    assert res.estimate.energy_j["learn_update"] == pytest.approx(23 * 50 * PJ, rel=1e-12)
    g = build_graph(make_net(), ActivityProfile.from_counts(make_net(), SPIKES, steps=10, batch=2, dt_s=1e-3,
                                                            source="t", learn_epochs={"W": 5}))
    # per post neuron: Q0 2 x 5, Q1 1 x 5, Q2 1 x 5 epochs + 3 events of V, over R = 20
    assert list(g.learn_rate) == pytest.approx([0, 0, 10 / 20, 5 / 20, 8 / 20], rel=1e-12)
    assert g.learn_epochs == {"W": 5}


def _mapped():
    net, act = make_tiny_network()
    return map_network(net, make_tiny_chip(), act, partitioner="sequential", placer="identity", time_budget_s=0)


def test_edp_is_energy_per_input_times_time_to_solution_per_input():
    d = _mapped().report.to_dict()
    e, lat, a = d["energy_j"], d["latency_s"], d["activity"]
    assert e["per_input"] == pytest.approx(e["total"] / a["batch"])
    assert lat["time_to_solution"] == pytest.approx(a["steps"] * lat["per_step"])
    assert d["edp_js"] == pytest.approx(e["per_input"] * lat["time_to_solution"])


def test_per_input_figures_by_hand():
    # 4 mini-batches of 16 samples, 100 steps each: R = 400 x 16 input-steps for 64 samples
    p = per_input_figures(6.4, 1e-3, steps=400, batch=16, inputs=64)
    assert p["inputs"] == 64 and p["steps_per_input"] == pytest.approx(100.0)
    assert p["energy_j"] == pytest.approx(0.1) and p["time_to_solution_s"] == pytest.approx(0.1)
    assert p["edp_js"] == pytest.approx(0.01)
    default = per_input_figures(6.4, 1e-3, steps=400, batch=16)  # one batch: N = batch
    assert default["energy_j"] == pytest.approx(0.4) and default["time_to_solution_s"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="inputs"):
        per_input_figures(1.0, 1e-3, steps=1, batch=1, inputs=0)


def test_a_profile_that_records_its_inputs_costs_per_input_by_them(tmp_path):
    """4 mini-batches of 16 samples: the profile records ``inputs = 64``; every per-input figure
    (energy, time to solution, EDP, NeuroBench counts) divides by 64, not by the batch of 16, and
    the saved profile keeps it (``neurosim map`` of a learn run's --activity-out)."""
    net, act = make_tiny_network()
    act16 = dataclasses.replace(act, batch=16)
    per_lane = map_network(net, "tiny", act16, partitioner="sequential", placer="identity").report.to_dict()
    act64 = dataclasses.replace(act16, inputs=64)
    act64.save(tmp_path / "a.npz")
    assert ActivityProfile.load(tmp_path / "a.npz").inputs == 64
    rep = map_network(net, "tiny", ActivityProfile.load(tmp_path / "a.npz"), partitioner="sequential",
                      placer="identity").report.to_dict()
    assert rep["activity"]["inputs"] == 64 and "inputs" not in per_lane["activity"]
    assert rep["energy_j"]["total"] == pytest.approx(per_lane["energy_j"]["total"])
    assert rep["energy_j"]["per_input"] == pytest.approx(per_lane["energy_j"]["per_input"] / 4)
    assert rep["latency_s"]["time_to_solution"] == pytest.approx(per_lane["latency_s"]["time_to_solution"] / 4)
    assert rep["edp_js"] == pytest.approx(per_lane["edp_js"] / 16) and rep["edp_basis"] == EDP_BASIS
    ops, ops0 = rep["neurobench"]["synaptic_operations"], per_lane["neurobench"]["synaptic_operations"]
    assert all(ops[k] == pytest.approx(ops0[k] / 4) for k in ("Effective_ACs", "Effective_MACs", "Dense"))
    with pytest.raises(NetworkError, match="inputs"):
        dataclasses.replace(act16, inputs=0)
