"""map_network: the report's contents and reproducibility."""
import json

import numpy as np
import pytest

from tests.helpers import make_tiny_chip, make_tiny_network
from mapper.api import map_network
from neurosim.errors import CapacityError, MappingError


def test_report_has_the_promised_keys_and_is_json():
    net, act = make_tiny_network()
    rep = map_network(net, "tiny", act, partitioner="sequential", placer="identity").report
    d = rep.to_dict()
    json.dumps(d)  # JSON-ready
    assert d["format"] == "neurosim-mapping-report" and d["version"] == 1
    assert d["chip"]["name"] == "tiny" and d["chip"]["cost_source"]
    for core in d["cores"]:
        assert set(core["resources"]) == {"compartments", "in_axons", "out_axons", "synapse_bits", "plastic_synapses"}
        assert all(len(v) == 2 for v in core["resources"].values())
    assert {"neuron_spikes", "synaptic_events", "packets", "hops_ew", "hops_ns"} <= set(d["totals"])
    assert set(d["energy_j"]["by_event"]) >= {"syn_op", "neuron_update_active", "packet", "hop_ew", "hop_ns",
                                              "learn_update", "barrier"}
    assert d["energy_j"]["total"] == pytest.approx(d["energy_j"]["dynamic"] + d["energy_j"]["static"])
    assert d["energy_j"]["dynamic"] == pytest.approx(sum(d["energy_j"]["by_event"].values()))
    assert d["latency_s"]["per_step"] > 0 and d["latency_s"]["time_to_solution"] == pytest.approx(
        10 * d["latency_s"]["per_step"])
    assert set(d["mapper"]["wall_s"]) == {"graph", "partition", "place", "route", "estimate", "total"}
    assert d["edp_basis"].startswith("per input") and d["edp_js"] == pytest.approx(
        d["energy_j"]["per_input"] * d["latency_s"]["time_to_solution"])
    assert "tiny" in rep.summary_text() and "energy" in rep.summary_text()
    d["totals"]["packets"] = -1
    assert rep.to_dict()["totals"]["packets"] != -1  # to_dict returns a copy


def test_seeded_runs_are_reproducible():
    net, act = make_tiny_network()
    a = map_network(net, make_tiny_chip(), act, seed=4, time_budget_s=0)
    b = map_network(net, make_tiny_chip(), act, seed=4, time_budget_s=0)
    assert np.array_equal(a.partition.part, b.partition.part) and np.array_equal(a.placement.core, b.placement.core)
    assert a.estimate.total_j == b.estimate.total_j


def test_unknown_names_and_mismatched_activity():
    net, act = make_tiny_network()
    with pytest.raises(MappingError):
        map_network(net, make_tiny_chip(), act, placer="quantum")
    from neurosim.errors import NetworkError
    from neurosim.ir import Population
    from neurosim.neurons import LIF
    net.add(Population("E", 2, LIF()))
    with pytest.raises(NetworkError):
        map_network(net, make_tiny_chip(), act)


def test_capacity_error_for_board():
    net, act = make_tiny_network()
    with pytest.raises(CapacityError, match="max_compartments"):
        map_network(net, make_tiny_chip(max_compartments=2), act)


def test_evaluate_placement_reproduces_a_mapping_and_checks_limits(tmp_path):
    from mapper.api import evaluate_placement
    from mapper.export import read_placement, write_placement
    net, act = make_tiny_network()
    res = map_network(net, make_tiny_chip(), act, seed=1, time_budget_s=0)
    rec = read_placement(write_placement(res, tmp_path / "p.json"), res.chip, network=net)
    again = evaluate_placement(net, res.chip, act, part=rec.part, part_core=rec.core)
    assert again.estimate.total_j == pytest.approx(res.estimate.total_j)
    assert again.routing.hops_ew == pytest.approx(res.routing.hops_ew)
    with pytest.raises(CapacityError):
        evaluate_placement(net, make_tiny_chip(), act, part=np.zeros(13, dtype=int), part_core=np.array([0]))
    with pytest.raises(MappingError):
        evaluate_placement(net, make_tiny_chip(), act, part=np.zeros(13, dtype=int), part_core=np.array([0, 0]))


def test_placeholder_chip_costs_are_labelled_proxy():
    net, act = make_tiny_network()
    d = map_network(net, "loihi2", act, partitioner="sequential", placer="identity").report.to_dict()
    assert d["chip"]["cost_status"] == "placeholder"
    assert any(n.startswith("PROXY") for n in d["notes"])
    d1 = map_network(net, "loihi1", act, partitioner="sequential", placer="identity").report.to_dict()
    assert not any(n.startswith("PROXY") for n in d1["notes"])
    assert "unicast" in " ".join(d1["notes"])  # loihi1 sends one packet per destination core


def test_evaluate_placement_checks_the_destination_core_limit():
    """A0 targets B0, B1, C0 and D0: parts 1, 2 and 3 on cores 2, 0 and 3 -- three destination cores."""
    from mapper.api import evaluate_placement
    net, act = make_tiny_network()
    part, cores = np.repeat([0, 1, 2, 3], [4, 4, 4, 1]), np.array([1, 2, 0, 3])
    assert evaluate_placement(net, make_tiny_chip(max_out_axons_per_neuron=3), act, part=part, part_core=cores)
    with pytest.raises(CapacityError, match=r"capacity 'A\[0\]': max_out_axons_per_neuron exceeded by 2 "
                                            r"\(got 3, expected <= 1\); placement 'given': .*3 cores \[0, 2, 3\].*"
                                            r"splitters='auto'") as err:
        evaluate_placement(net, make_tiny_chip(max_out_axons_per_neuron=1), act, part=part, part_core=cores)
    assert (err.value.obj, err.value.resource, err.value.used, err.value.limit) == \
        ("A[0]", "max_out_axons_per_neuron", 3, 1)


@pytest.mark.parametrize("seed", [-1, 2**31, 1.5, True])
def test_a_seed_the_partitioners_cannot_take_is_refused_up_front(seed):
    net, act = make_tiny_network()
    with pytest.raises(MappingError, match=r"seed.*not a valid seed.*expected an integer in 0 \.\. 2147483647"):
        map_network(net, "tiny", act, seed=seed)


def test_evaluate_placement_ignores_parts_that_hold_no_neuron():
    """``part = core index`` with ``part_core`` = every core of the chip: the empty parts are no
    cores in use (they were counted: all tiles, the barrier and static energy of a full chip)."""
    from mapper.api import evaluate_placement

    net, act = make_tiny_network()
    res = map_network(net, make_tiny_chip(chip_grid=(2, 2)), act, seed=1, time_budget_s=0)
    by_core = res.placement.core[res.partition.part]  # the board core of every neuron
    chip = res.chip
    assert res.partition.n_parts < chip.n_cores  # some cores hold nothing
    again = evaluate_placement(net, chip, act, part=by_core, part_core=np.arange(chip.n_cores))
    assert again.partition.n_parts == res.partition.n_parts
    assert again.estimate.total_j == pytest.approx(res.estimate.total_j)
    assert again.routing.tiles_used == res.routing.tiles_used


@pytest.mark.parametrize("kwargs, match", [
    (dict(place_options={"lamda": 50.0}), r"place option 'lamda': unknown; did you mean 'lam'"),
    (dict(placer="identity", place_options={"lam": 50.0}), "placer 'identity' does not refine"),
    (dict(time_budget_s=-5), r"time_budget_s': must be a finite number of seconds >= 0"),
    (dict(time_budget_s=float("nan")), "time_budget_s"),
    (dict(repair_budget_s=-1.0), "repair_budget_s")])
def test_mapping_options_are_checked_up_front(kwargs, match):
    """A typo in place_options used to give the default placement silently; a negative budget an
    unrefined one."""
    net, act = make_tiny_network()
    with pytest.raises(MappingError, match=match):
        map_network(net, "tiny", act, **kwargs)
