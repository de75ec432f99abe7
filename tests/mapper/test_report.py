"""The mapping report (mapper.report): its keys, notes and summary, built in one place."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mapper import Report, map_network
from mapper.chipload import load_chip
from mapper.quantize import quantize_network
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.helpers import make_tiny_chip, make_tiny_network
from tests.mapper.test_estimate import SPIKES, make_net, run_learning


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


def test_placeholder_chip_costs_are_labelled_proxy():
    net, act = make_tiny_network()
    d = map_network(net, "loihi2", act, partitioner="sequential", placer="identity").report.to_dict()
    assert d["chip"]["cost_status"] == "placeholder"
    assert any(n.startswith("PROXY") for n in d["notes"])
    d1 = map_network(net, "loihi1", act, partitioner="sequential", placer="identity").report.to_dict()
    assert not any(n.startswith("PROXY") for n in d1["notes"])
    assert "unicast" in " ".join(d1["notes"])  # loihi1 sends one packet per destination core


def test_report_states_assumed_activity():
    net, _ = make_tiny_network()
    rep = map_network(net, make_tiny_chip(), None, partitioner="sequential", placer="identity",
                      assumed_rate=0.02).report.to_dict()
    assert rep["activity"]["assumed"] is True and rep["activity"]["source"] == "assumed"
    assert any("ASSUMED" in n for n in rep["notes"])


def _mapped():
    net, act = make_tiny_network()
    return map_network(net, make_tiny_chip(), act, partitioner="sequential", placer="identity", time_budget_s=0)


def test_summary_labels_edp_and_time_to_solution_per_input():
    text = _mapped().report.summary_text()
    assert "EDP per input" in text and "energy per input x time to solution per input" in text
    assert "time to solution per input" in text


def test_summary_names_the_inputs_when_they_are_not_the_batch():
    d = _mapped().report.to_dict()
    assert "inputs profiled" not in Report(d).summary_text()
    d["activity"]["inputs"] = 64
    assert "(64 inputs profiled)" in Report(d).summary_text()


def test_report_docstring_defines_edp():
    doc = Report.to_dict.__doc__
    assert "edp_js" in doc and "per input" in doc and "E_{in} T_{in}" in doc


def test_report_names_the_learning_model_per_plastic_connection():
    d = run_learning(make_net(), SPIKES, {"W": 5}).report.to_dict()
    assert d["network"]["plastic_connections"] == [
        {"name": "W", "learning_model": "epoch", "epochs": 5},
        {"name": "V", "learning_model": "event", "epochs": None}]
    assert d["totals"]["learn_updates"] == pytest.approx(23)


def test_mapping_note_when_neurons_exceed_the_chip_weight_levels():
    from mapper import map_network
    rng = np.random.default_rng(2)
    net = Network(name="n")
    net.add(Population("a", 8, LIF()))
    net.add(Connection("a", "a", rng.normal(size=(8, 8)), name="lat"))
    notes = map_network(net, "truenorth", None, seed=0, time_budget_s=0).report.to_dict()["notes"]
    hit = [n for n in notes if n.startswith("WEIGHTS:")]
    assert len(hit) == 1 and "at most 4 distinct weight values per neuron" in hit[0] and "8 of 8" in hit[0]
    qnet, _ = quantize_network(net, load_chip("truenorth"))
    notes = map_network(qnet, "truenorth", None, seed=0, time_budget_s=0).report.to_dict()["notes"]
    assert not any(n.startswith("WEIGHTS:") for n in notes)
    notes = map_network(net, "loihi1", None, seed=0, time_budget_s=0).report.to_dict()["notes"]
    assert not any(n.startswith("WEIGHTS:") for n in notes)
